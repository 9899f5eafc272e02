#include "core/json.h"
#include "core/utf8.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/alloc.h"
#include "core/error.h"

#define JSON_MAX_DEPTH 128

struct vd_json {
    vd_json_type type;
    int is_int;     /* an integer literal that fits int64: ival is exact */
    size_t n;       /* members of a container, bytes of a string */
    const char *key; /* the member name when this value sits in an object */
    union {
        double num;
        const char *str;
        vd_json *items; /* n values, contiguous */
    } u;
    int64_t ival;
};

/* The tree lives in a chain of blocks; the first starts with the document,
 * whose root is the vd_json handed out, so vd_json_free finds the chain from
 * the root alone. */
typedef struct pool_block {
    struct pool_block *next;
    size_t used, cap;
    _Alignas(16) unsigned char data[];
} pool_block;

typedef struct json_doc {
    pool_block *blocks; /* newest first */
    vd_json root;
} json_doc;

typedef struct parser {
    const unsigned char *p, *end, *start;
    const char *label;
    vd_error *err;
    vd_status status;
    pool_block *blocks;
    /* Values of the containers being parsed, stacked until their container
     * closes and copies them into the pool as one array. */
    vd_json *stack;
    size_t stack_len, stack_cap;
} parser;

static void blocks_free(pool_block *b) {
    while (b) {
        pool_block *next = b->next;
        vd_free(NULL, b);
        b = next;
    }
}

static void *pool_alloc(parser *ps, size_t size) {
    size = (size + 15) & ~(size_t)15;
    pool_block *b = ps->blocks;
    if (b && b->cap - b->used >= size) {
        void *r = b->data + b->used;
        b->used += size;
        return r;
    }
    size_t cap = b ? b->cap * 2 : 4096;
    if (cap > ((size_t)1 << 24)) cap = (size_t)1 << 24;
    if (cap < size) cap = size;
    pool_block *nb = vd_alloc(NULL, sizeof *nb + cap);
    if (!nb) return NULL;
    nb->cap = cap;
    nb->used = size;
    /* Keep the partly used block in front when the new one is a one-off
     * large allocation, so later small ones still fill the old block. */
    if (b && cap == size) {
        nb->next = b->next;
        b->next = nb;
    } else {
        nb->next = b;
        ps->blocks = nb;
    }
    return nb->data;
}

/* Gives back the tail of the most recent allocation (strings reserve their
 * raw length and usually decode shorter). */
static void pool_shrink_last(parser *ps, void *ptr, size_t old_size, size_t new_size) {
    pool_block *b = ps->blocks;
    old_size = (old_size + 15) & ~(size_t)15;
    new_size = (new_size + 15) & ~(size_t)15;
    if (b && (unsigned char *)ptr + old_size == b->data + b->used) b->used -= old_size - new_size;
}

static void position(const parser *ps, const unsigned char *at, size_t *line, size_t *col) {
    size_t l = 1, c = 1;
    for (const unsigned char *q = ps->start; q < at && q < ps->end; q++) {
        if (*q == '\n') {
            l++;
            c = 1;
        } else if ((*q & 0xC0) != 0x80) {
            c++; /* columns count characters, not UTF-8 continuation bytes */
        }
    }
    *line = l;
    *col = c;
}

static int fail_at(parser *ps, const unsigned char *at, vd_status code, const char *what) {
    if (ps->status != VD_OK) return 0;
    size_t line, col;
    position(ps, at, &line, &col);
    ps->status = code;
    vd_fail(ps->err, code, "%s:%zu:%zu: %s", ps->label ? ps->label : "json", line, col, what);
    return 0;
}

static int nomem(parser *ps) { return fail_at(ps, ps->p, VD_ERR_NOMEM, "out of memory"); }

static void skip_ws(parser *ps) {
    while (ps->p < ps->end &&
           (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
        ps->p++;
}

static int push(parser *ps, const vd_json *v) {
    if (ps->stack_len == ps->stack_cap) {
        size_t cap = ps->stack_cap ? ps->stack_cap * 2 : 64;
        vd_json *ns = vd_alloc(NULL, cap * sizeof *ns);
        if (!ns) return nomem(ps);
        if (ps->stack_len) memcpy(ns, ps->stack, ps->stack_len * sizeof *ns);
        vd_free(NULL, ps->stack);
        ps->stack = ns;
        ps->stack_cap = cap;
    }
    ps->stack[ps->stack_len++] = *v;
    return 1;
}

static int hex4(const unsigned char *p, unsigned *out) {
    unsigned v = 0;
    for (int i = 0; i < 4; i++) {
        unsigned c = p[i], d;
        if (c >= '0' && c <= '9') d = c - '0';
        else if (c >= 'a' && c <= 'f') d = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F') d = c - 'A' + 10;
        else return 0;
        v = v * 16 + d;
    }
    *out = v;
    return 1;
}

static size_t put_utf8(unsigned char *o, unsigned cp) {
    if (cp < 0x80) {
        o[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (unsigned char)(0xC0 | (cp >> 6));
        o[1] = (unsigned char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (unsigned char)(0xE0 | (cp >> 12));
        o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (unsigned char)(0x80 | (cp & 0x3F));
        return 3;
    }
    o[0] = (unsigned char)(0xF0 | (cp >> 18));
    o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3F));
    o[3] = (unsigned char)(0x80 | (cp & 0x3F));
    return 4;
}

/* Parses a string at ps->p (on the opening quote) into the pool. */
static int parse_string(parser *ps, const char **out, size_t *out_len) {
    const unsigned char *open = ps->p;
    const unsigned char *q = ps->p + 1;
    /* Find the closing quote first to bound the decoded size. */
    const unsigned char *scan = q;
    while (scan < ps->end && *scan != '"') scan += (*scan == '\\' && scan + 1 < ps->end) ? 2 : 1;
    if (scan >= ps->end) return fail_at(ps, open, VD_ERR_FORMAT, "unterminated string");
    size_t raw = (size_t)(scan - q);
    unsigned char *dst = pool_alloc(ps, raw + 1);
    if (!dst) return nomem(ps);
    size_t o = 0;
    while (q < scan) {
        unsigned c = *q;
        if (c == '\\') {
            unsigned e = q[1];
            const unsigned char *esc = q;
            q += 2;
            switch (e) {
            case '"': dst[o++] = '"'; break;
            case '\\': dst[o++] = '\\'; break;
            case '/': dst[o++] = '/'; break;
            case 'b': dst[o++] = '\b'; break;
            case 'f': dst[o++] = '\f'; break;
            case 'n': dst[o++] = '\n'; break;
            case 'r': dst[o++] = '\r'; break;
            case 't': dst[o++] = '\t'; break;
            case 'u': {
                unsigned cp;
                if (scan - q < 4 || !hex4(q, &cp))
                    return fail_at(ps, esc, VD_ERR_FORMAT, "\\u needs four hex digits");
                q += 4;
                if (cp == 0)
                    return fail_at(ps, esc, VD_ERR_FORMAT, "\\u0000 is not allowed in strings");
                if (cp >= 0xDC00 && cp <= 0xDFFF)
                    return fail_at(ps, esc, VD_ERR_FORMAT, "lone low surrogate in \\u escape");
                if (cp >= 0xD800 && cp <= 0xDBFF) {
                    unsigned lo;
                    if (scan - q < 6 || q[0] != '\\' || q[1] != 'u' || !hex4(q + 2, &lo) ||
                        lo < 0xDC00 || lo > 0xDFFF)
                        return fail_at(ps, esc, VD_ERR_FORMAT,
                                       "high surrogate not followed by a low surrogate");
                    q += 6;
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                }
                /* A \u escape is 6 bytes (12 for a pair) and decodes to at
                 * most 3 (4), so the output never overtakes the input. */
                o += put_utf8(dst + o, cp);
                break;
            }
            default: return fail_at(ps, esc, VD_ERR_FORMAT, "invalid escape in string");
            }
        } else if (c < 0x20) {
            return fail_at(ps, q, VD_ERR_FORMAT, "control character in string (must be escaped)");
        } else if (c < 0x80) {
            dst[o++] = (unsigned char)c;
            q++;
        } else {
            size_t n = vd_utf8_len(q, (size_t)(scan - q));
            if (!n) return fail_at(ps, q, VD_ERR_FORMAT, "invalid UTF-8 in string");
            memcpy(dst + o, q, n);
            o += n;
            q += n;
        }
    }
    dst[o] = '\0';
    pool_shrink_last(ps, dst, raw + 1, o + 1);
    ps->p = scan + 1;
    *out = (const char *)dst;
    *out_len = o;
    return 1;
}

static int parse_number(parser *ps, vd_json *v) {
    const unsigned char *s = ps->p, *q = ps->p;
    int integral = 1;
    if (q < ps->end && *q == '-') q++;
    if (q >= ps->end || *q < '0' || *q > '9') return fail_at(ps, s, VD_ERR_FORMAT, "invalid number");
    if (*q == '0') {
        q++;
        if (q < ps->end && *q >= '0' && *q <= '9')
            return fail_at(ps, s, VD_ERR_FORMAT, "leading zero in number");
    } else {
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && *q == '.') {
        integral = 0;
        q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail_at(ps, q, VD_ERR_FORMAT, "expected a digit after '.'");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < ps->end && (*q == 'e' || *q == 'E')) {
        integral = 0;
        q++;
        if (q < ps->end && (*q == '+' || *q == '-')) q++;
        if (q >= ps->end || *q < '0' || *q > '9')
            return fail_at(ps, q, VD_ERR_FORMAT, "expected a digit in the exponent");
        while (q < ps->end && *q >= '0' && *q <= '9') q++;
    }
    /* strtod needs a NUL-terminated copy; the input is not terminated. */
    size_t n = (size_t)(q - s);
    char small[64];
    char *buf = small;
    if (n >= sizeof small) {
        buf = vd_alloc(NULL, n + 1);
        if (!buf) return nomem(ps);
    }
    memcpy(buf, s, n);
    buf[n] = '\0';
    double d = strtod(buf, NULL);
    v->is_int = 0;
    if (integral) {
        errno = 0;
        long long ll = strtoll(buf, NULL, 10);
        if (errno == 0) {
            v->is_int = 1;
            v->ival = (int64_t)ll;
        }
    }
    if (buf != small) vd_free(NULL, buf);
    if (!isfinite(d)) return fail_at(ps, s, VD_ERR_FORMAT, "number out of range");
    v->type = VD_JSON_NUMBER;
    v->u.num = d;
    ps->p = q;
    return 1;
}

static int literal(parser *ps, const char *word, vd_json_type type, vd_json *v) {
    size_t n = strlen(word);
    if ((size_t)(ps->end - ps->p) < n || memcmp(ps->p, word, n) != 0)
        return fail_at(ps, ps->p, VD_ERR_FORMAT, "invalid literal");
    ps->p += n;
    v->type = type;
    return 1;
}

static int parse_value(parser *ps, vd_json *v, int depth);

/* Moves the last `count` stacked values into one pool array. */
static int collect(parser *ps, vd_json *v, size_t base) {
    size_t count = ps->stack_len - base;
    v->n = count;
    v->u.items = NULL;
    if (count) {
        vd_json *items = pool_alloc(ps, count * sizeof *items);
        if (!items) return nomem(ps);
        memcpy(items, ps->stack + base, count * sizeof *items);
        v->u.items = items;
    }
    ps->stack_len = base;
    return 1;
}

static int parse_array(parser *ps, vd_json *v, int depth) {
    size_t base = ps->stack_len;
    v->type = VD_JSON_ARRAY;
    ps->p++; /* '[' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == ']') {
        ps->p++;
        return collect(ps, v, base);
    }
    for (;;) {
        vd_json item;
        if (!parse_value(ps, &item, depth + 1)) return 0;
        item.key = NULL;
        if (!push(ps, &item)) return 0;
        skip_ws(ps);
        if (ps->p >= ps->end) return fail_at(ps, ps->p, VD_ERR_FORMAT, "unexpected end of input in array");
        if (*ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == ']')
                return fail_at(ps, ps->p, VD_ERR_FORMAT, "trailing comma in array");
            continue;
        }
        if (*ps->p == ']') {
            ps->p++;
            return collect(ps, v, base);
        }
        return fail_at(ps, ps->p, VD_ERR_FORMAT, "expected ',' or ']'");
    }
}

static int parse_object(parser *ps, vd_json *v, int depth) {
    size_t base = ps->stack_len;
    v->type = VD_JSON_OBJECT;
    ps->p++; /* '{' */
    skip_ws(ps);
    if (ps->p < ps->end && *ps->p == '}') {
        ps->p++;
        return collect(ps, v, base);
    }
    for (;;) {
        if (ps->p >= ps->end) return fail_at(ps, ps->p, VD_ERR_FORMAT, "unexpected end of input in object");
        if (*ps->p != '"') return fail_at(ps, ps->p, VD_ERR_FORMAT, "expected a string key");
        const char *key;
        size_t klen;
        if (!parse_string(ps, &key, &klen)) return 0;
        skip_ws(ps);
        if (ps->p >= ps->end || *ps->p != ':') return fail_at(ps, ps->p, VD_ERR_FORMAT, "expected ':'");
        ps->p++;
        vd_json item;
        if (!parse_value(ps, &item, depth + 1)) return 0;
        item.key = key;
        if (!push(ps, &item)) return 0;
        skip_ws(ps);
        if (ps->p >= ps->end) return fail_at(ps, ps->p, VD_ERR_FORMAT, "unexpected end of input in object");
        if (*ps->p == ',') {
            ps->p++;
            skip_ws(ps);
            if (ps->p < ps->end && *ps->p == '}')
                return fail_at(ps, ps->p, VD_ERR_FORMAT, "trailing comma in object");
            continue;
        }
        if (*ps->p == '}') {
            ps->p++;
            return collect(ps, v, base);
        }
        return fail_at(ps, ps->p, VD_ERR_FORMAT, "expected ',' or '}'");
    }
}

static int parse_value(parser *ps, vd_json *v, int depth) {
    memset(v, 0, sizeof *v);
    skip_ws(ps);
    if (ps->p >= ps->end) return fail_at(ps, ps->p, VD_ERR_FORMAT, "unexpected end of input");
    /* depth counts the containers around v; recursion stays bounded. */
    if ((*ps->p == '{' || *ps->p == '[') && depth >= JSON_MAX_DEPTH)
        return fail_at(ps, ps->p, VD_ERR_FORMAT, "nesting deeper than 128 levels");
    switch (*ps->p) {
    case '{': return parse_object(ps, v, depth);
    case '[': return parse_array(ps, v, depth);
    case '"':
        v->type = VD_JSON_STRING;
        return parse_string(ps, &v->u.str, &v->n);
    case 't': return literal(ps, "true", VD_JSON_TRUE, v);
    case 'f': return literal(ps, "false", VD_JSON_FALSE, v);
    case 'n': return literal(ps, "null", VD_JSON_NULL, v);
    default:
        if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9')) return parse_number(ps, v);
        return fail_at(ps, ps->p, VD_ERR_FORMAT, "unexpected character");
    }
}

vd_json *vd_json_parse(const char *text, size_t len, const char *label, vd_error *err) {
    parser ps;
    memset(&ps, 0, sizeof ps);
    if (!text) { /* NULL + 0 is undefined; parse an empty document instead */
        text = "";
        len = 0;
    }
    ps.start = ps.p = (const unsigned char *)text;
    ps.end = ps.start + len;
    ps.label = label;
    ps.err = err;
    ps.status = VD_OK;
    json_doc *doc = pool_alloc(&ps, sizeof *doc);
    if (!doc) {
        nomem(&ps);
        return NULL;
    }
    int ok = parse_value(&ps, &doc->root, 0);
    if (ok) {
        skip_ws(&ps);
        if (ps.p < ps.end) ok = fail_at(&ps, ps.p, VD_ERR_FORMAT, "unexpected data after the JSON value");
    }
    vd_free(NULL, ps.stack);
    if (!ok) {
        blocks_free(ps.blocks);
        return NULL;
    }
    doc->root.key = NULL;
    doc->blocks = ps.blocks;
    return &doc->root;
}

void vd_json_free(vd_json *root) {
    if (!root) return;
    json_doc *doc = (json_doc *)((char *)root - offsetof(json_doc, root));
    blocks_free(doc->blocks);
}

vd_json_type vd_json_type_of(const vd_json *v) { return v ? v->type : VD_JSON_NULL; }

int vd_json_is_number(const vd_json *v) { return v && v->type == VD_JSON_NUMBER; }

size_t vd_json_len(const vd_json *v) {
    return v && (v->type == VD_JSON_ARRAY || v->type == VD_JSON_OBJECT) ? v->n : 0;
}

const vd_json *vd_json_at(const vd_json *v, size_t i) {
    if (!v || (v->type != VD_JSON_ARRAY && v->type != VD_JSON_OBJECT) || i >= v->n) return NULL;
    return &v->u.items[i];
}

const char *vd_json_key_at(const vd_json *v, size_t i) {
    if (!v || v->type != VD_JSON_OBJECT || i >= v->n) return NULL;
    return v->u.items[i].key;
}

const vd_json *vd_json_get(const vd_json *obj, const char *key) {
    if (!obj || obj->type != VD_JSON_OBJECT) return NULL;
    for (size_t i = 0; i < obj->n; i++)
        if (strcmp(obj->u.items[i].key, key) == 0) return &obj->u.items[i];
    return NULL;
}

static int cmp_str_ptr(const void *a, const void *b) {
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int vd_json_has_duplicate_keys(const vd_json *obj) {
    if (!obj || obj->type != VD_JSON_OBJECT || obj->n < 2) return 0;
    size_t n = obj->n;
    const char **keys = vd_alloc(NULL, n * sizeof *keys);
    if (!keys) { /* quadratic, but needs no memory */
        for (size_t i = 0; i < n; i++)
            for (size_t j = i + 1; j < n; j++)
                if (strcmp(obj->u.items[i].key, obj->u.items[j].key) == 0) return 1;
        return 0;
    }
    for (size_t i = 0; i < n; i++) keys[i] = obj->u.items[i].key;
    qsort(keys, n, sizeof *keys, cmp_str_ptr);
    int dup = 0;
    for (size_t i = 1; i < n && !dup; i++) dup = strcmp(keys[i - 1], keys[i]) == 0;
    vd_free(NULL, keys);
    return dup;
}

const char *vd_json_str(const vd_json *v, size_t *len) {
    if (!v || v->type != VD_JSON_STRING) return NULL;
    if (len) *len = v->n;
    return v->u.str;
}

double vd_json_num(const vd_json *v, double fallback) {
    return v && v->type == VD_JSON_NUMBER ? v->u.num : fallback;
}

int vd_json_int(const vd_json *v, int64_t *out) {
    if (!v || v->type != VD_JSON_NUMBER) return 0;
    if (v->is_int) {
        *out = v->ival;
        return 1;
    }
    double d = v->u.num;
    /* -2^63 is exact in a double; 2^63 is the first value out of range. */
    if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0) || d != trunc(d)) return 0;
    *out = (int64_t)d;
    return 1;
}

int vd_json_bool(const vd_json *v, int fallback) {
    if (v && v->type == VD_JSON_TRUE) return 1;
    if (v && v->type == VD_JSON_FALSE) return 0;
    return fallback;
}

vd_status vd_json_get_num(const vd_json *obj, const char *key, double fallback, double *out,
                          vd_error *err) {
    const vd_json *v = vd_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return VD_OK;
    }
    if (v->type != VD_JSON_NUMBER)
        return vd_fail(err, VD_ERR_FORMAT, "json: '%s' must be a number", key);
    *out = v->u.num;
    return VD_OK;
}

vd_status vd_json_get_int(const vd_json *obj, const char *key, int64_t fallback, int64_t *out,
                          vd_error *err) {
    const vd_json *v = vd_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return VD_OK;
    }
    if (!vd_json_int(v, out))
        return vd_fail(err, VD_ERR_FORMAT, "json: '%s' must be an integer", key);
    return VD_OK;
}

vd_status vd_json_get_str(const vd_json *obj, const char *key, const char *fallback,
                          const char **out, vd_error *err) {
    const vd_json *v = vd_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return VD_OK;
    }
    if (v->type != VD_JSON_STRING)
        return vd_fail(err, VD_ERR_FORMAT, "json: '%s' must be a string", key);
    *out = v->u.str;
    return VD_OK;
}

vd_status vd_json_get_bool(const vd_json *obj, const char *key, int fallback, int *out,
                           vd_error *err) {
    const vd_json *v = vd_json_get(obj, key);
    if (!v) {
        *out = fallback;
        return VD_OK;
    }
    if (v->type != VD_JSON_TRUE && v->type != VD_JSON_FALSE)
        return vd_fail(err, VD_ERR_FORMAT, "json: '%s' must be true or false", key);
    *out = v->type == VD_JSON_TRUE;
    return VD_OK;
}

vd_status vd_read_file(const char *path, char **out, size_t *len, vd_error *err) {
    *out = NULL;
    if (len) *len = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return vd_fail(err, VD_ERR_IO, "read: %s: cannot open: %s", path, strerror(errno));
    struct stat st;
    size_t cap = 4096;
    if (fstat(fileno(f), &st) == 0) {
        if (S_ISDIR(st.st_mode)) {
            fclose(f);
            return vd_fail(err, VD_ERR_IO, "read: %s: is a directory", path);
        }
        if (S_ISREG(st.st_mode) && st.st_size > 0) {
            if ((uint64_t)st.st_size >= (uint64_t)SIZE_MAX) {
                fclose(f);
                return vd_fail(err, VD_ERR_NOMEM, "read: %s: file too large", path);
            }
            cap = (size_t)st.st_size + 1;
        }
    }
    /* Read to EOF rather than trusting st_size: the file may be a pipe or
     * change while we read it. */
    char *buf = malloc(cap);
    size_t n = 0;
    while (buf) {
        if (n + 1 >= cap) {
            char *nb = cap <= SIZE_MAX / 2 ? realloc(buf, cap * 2) : NULL;
            if (!nb) free(buf);
            buf = nb;
            cap *= 2;
            continue;
        }
        size_t got = fread(buf + n, 1, cap - 1 - n, f);
        n += got;
        if (got == 0) break;
    }
    if (!buf) {
        fclose(f);
        return vd_fail(err, VD_ERR_NOMEM, "read: %s: out of memory", path);
    }
    if (ferror(f)) {
        int e = errno;
        free(buf);
        fclose(f);
        return vd_fail(err, VD_ERR_IO, "read: %s: read failed: %s", path, strerror(e));
    }
    fclose(f);
    buf[n] = '\0';
    *out = buf;
    if (len) *len = n;
    return VD_OK;
}

vd_status vd_json_get_fields(const vd_json *obj, const vd_json_field *fields, size_t n,
                             vd_error *err) {
    for (size_t i = 0; i < n; i++) {
        vd_status st;
        if (fields[i].f32) {
            double d = *fields[i].f32;
            if ((st = vd_json_get_num(obj, fields[i].key, *fields[i].f32, &d, err))) return st;
            *fields[i].f32 = (float)d;
        } else if ((st = vd_json_get_int(obj, fields[i].key, *fields[i].i64, fields[i].i64, err))) {
            return st;
        }
    }
    return VD_OK;
}
