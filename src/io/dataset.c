/* Captioned datasets: captions.jsonl (or an Open-Sora CSV) in, and
 * captions.jsonl out. See io/dataset.h for the layout. */
#include "io/dataset.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"

/* Strings of a dataset live in chunks that are freed together. */
typedef struct pool_chunk {
    struct pool_chunk *next;
    size_t used, cap;
    char data[];
} pool_chunk;

struct vd_dataset {
    vd_dataset_item *items;
    size_t count, cap;
    const char **errors;
    size_t n_errors, cap_errors;
    pool_chunk *pool;
    char *source, *dir; /* dir: "" when the list is in the current folder */
};

static char *pool_strndup(vd_dataset *ds, const char *s, size_t n) {
    if (!ds->pool || ds->pool->cap - ds->pool->used < n + 1) {
        size_t cap = n + 1 > 65536 ? n + 1 : 65536;
        pool_chunk *c = vd_alloc(NULL, sizeof *c + cap);
        if (!c) return NULL;
        c->next = ds->pool;
        c->used = 0;
        c->cap = cap;
        ds->pool = c;
    }
    char *p = ds->pool->data + ds->pool->used;
    memcpy(p, s, n);
    p[n] = '\0';
    ds->pool->used += n + 1;
    return p;
}

static char *pool_strdup(vd_dataset *ds, const char *s) { return pool_strndup(ds, s, strlen(s)); }

/* Grows a typed array by one slot; 0 when out of memory. */
static int grow(void **arr, size_t *cap, size_t count, size_t elem) {
    if (count < *cap) return 1;
    size_t nc = *cap ? *cap * 2 : 64, bytes;
    if (!vd_size_mul(nc, elem, &bytes)) return 0;
    void *p = vd_alloc(NULL, bytes);
    if (!p) return 0;
    if (count) memcpy(p, *arr, count * elem);
    vd_free(NULL, *arr);
    *arr = p;
    *cap = nc;
    return 1;
}

static vd_status nomem(const vd_dataset *ds, vd_error *err) {
    return vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", ds->source ? ds->source : "");
}

static vd_status add_error(vd_dataset *ds, int line, const char *what, vd_error *err) {
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_strbuf_printf(&s, "%s:%d: %s", ds->source, line, what);
    const char *msg = s.failed ? NULL : pool_strdup(ds, vd_strbuf_cstr(&s));
    vd_strbuf_free(&s);
    if (!msg || !grow((void **)&ds->errors, &ds->cap_errors, ds->n_errors, sizeof *ds->errors))
        return nomem(ds, err);
    ds->errors[ds->n_errors++] = msg;
    return VD_OK;
}

static vd_status add_item(vd_dataset *ds, int line, const char *file, const char *caption,
                          const char *extra, vd_error *err) {
    vd_strbuf p;
    vd_strbuf_init(&p);
    size_t dl = strlen(ds->dir);
    if (file[0] == '/' || !dl)
        vd_strbuf_puts(&p, file);
    else
        vd_strbuf_printf(&p, "%s%s%s", ds->dir, ds->dir[dl - 1] == '/' ? "" : "/", file);
    vd_dataset_item it;
    it.path = p.failed ? NULL : pool_strdup(ds, vd_strbuf_cstr(&p));
    vd_strbuf_free(&p);
    it.file = pool_strdup(ds, file);
    it.caption = pool_strdup(ds, caption);
    it.extra_json = pool_strdup(ds, extra);
    it.line = line;
    if (!it.path || !it.file || !it.caption || !it.extra_json ||
        !grow((void **)&ds->items, &ds->cap, ds->count, sizeof *ds->items))
        return nomem(ds, err);
    ds->items[ds->count++] = it;
    return VD_OK;
}

void vd_dataset_json_compact(struct vd_strbuf *s, const struct vd_json *v) {
    switch (vd_json_type_of(v)) {
    case VD_JSON_NULL: vd_strbuf_puts(s, "null"); break;
    case VD_JSON_FALSE: vd_strbuf_puts(s, "false"); break;
    case VD_JSON_TRUE: vd_strbuf_puts(s, "true"); break;
    case VD_JSON_NUMBER: {
        /* Whole numbers print as integers ("2000", not "2e+03"). */
        int64_t i;
        if (vd_json_int(v, &i) && i > -(INT64_C(1) << 53) && i < (INT64_C(1) << 53))
            vd_strbuf_printf(s, "%lld", (long long)i);
        else
            vd_strbuf_json_number(s, vd_json_num(v, 0));
        break;
    }
    case VD_JSON_STRING: vd_strbuf_json_string(s, vd_json_str(v, NULL)); break;
    case VD_JSON_ARRAY:
        vd_strbuf_puts(s, "[");
        for (size_t i = 0; i < vd_json_len(v); i++) {
            if (i) vd_strbuf_puts(s, ",");
            vd_dataset_json_compact(s, vd_json_at(v, i));
        }
        vd_strbuf_puts(s, "]");
        break;
    case VD_JSON_OBJECT:
        vd_strbuf_puts(s, "{");
        for (size_t i = 0; i < vd_json_len(v); i++) {
            if (i) vd_strbuf_puts(s, ",");
            vd_strbuf_json_string(s, vd_json_key_at(v, i));
            vd_strbuf_puts(s, ":");
            vd_dataset_json_compact(s, vd_json_at(v, i));
        }
        vd_strbuf_puts(s, "}");
        break;
    }
}

/* The members of obj other than "file" and "caption", as an object. */
static void extra_members(vd_strbuf *s, const vd_json *obj) {
    int n = 0;
    vd_strbuf_puts(s, "{");
    for (size_t i = 0; i < vd_json_len(obj); i++) {
        const char *k = vd_json_key_at(obj, i);
        if (!strcmp(k, "file") || !strcmp(k, "caption")) continue;
        if (n++) vd_strbuf_puts(s, ",");
        vd_strbuf_json_string(s, k);
        vd_strbuf_puts(s, ":");
        vd_dataset_json_compact(s, vd_json_at(obj, i));
    }
    vd_strbuf_puts(s, "}");
}

/* The parser's "json:1:14: what" becomes "column 14: what". */
static const char *parse_message(const char *m, char *buf, size_t size) {
    unsigned long line, col;
    int used = 0;
    if (sscanf(m, "json:%lu:%lu: %n", &line, &col, &used) == 2 && used > 0)
        snprintf(buf, size, "column %lu: %s", col, m + used);
    else
        snprintf(buf, size, "%s", m);
    return buf;
}

static vd_status jsonl_line(vd_dataset *ds, const char *text, size_t len, int line, vd_error *err) {
    vd_error perr = {0};
    char msg[600];
    vd_json *root = vd_json_parse(text, len, NULL, &perr);
    if (!root) return add_error(ds, line, parse_message(perr.message, msg, sizeof msg), err);
    vd_status st = VD_OK;
    const char *file = vd_json_str(vd_json_get(root, "file"), NULL);
    const char *caption = vd_json_str(vd_json_get(root, "caption"), NULL);
    if (vd_json_type_of(root) != VD_JSON_OBJECT) {
        st = add_error(ds, line, "not a JSON object", err);
    } else if (vd_json_has_duplicate_keys(root)) {
        st = add_error(ds, line, "duplicate keys", err);
    } else if (!file || !*file) {
        st = add_error(ds, line, vd_json_get(root, "file") ? "\"file\" must be a non-empty string"
                                                           : "missing \"file\"", err);
    } else if (!caption) {
        st = add_error(ds, line, vd_json_get(root, "caption") ? "\"caption\" must be a string"
                                                              : "missing \"caption\"", err);
    } else {
        vd_strbuf extra;
        vd_strbuf_init(&extra);
        extra_members(&extra, root);
        st = extra.failed ? nomem(ds, err) : add_item(ds, line, file, caption, extra.data, err);
        vd_strbuf_free(&extra);
    }
    vd_json_free(root);
    return st;
}

static vd_status read_jsonl(vd_dataset *ds, const char *text, size_t len, vd_error *err) {
    size_t pos = 0;
    int line = 0;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) pos = 3;
    while (pos < len) {
        line++;
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t end = nl ? (size_t)(nl - text) : len;
        size_t a = pos, b = end;
        while (a < b && (text[a] == ' ' || text[a] == '\t' || text[a] == '\r')) a++;
        while (b > a && (text[b - 1] == ' ' || text[b - 1] == '\t' || text[b - 1] == '\r')) b--;
        if (b > a) {
            vd_status st = jsonl_line(ds, text + a, b - a, line, err);
            if (st != VD_OK) return st;
        }
        pos = end + 1;
    }
    return VD_OK;
}

/* CSV (RFC 4180). One record: fields into `fields` (a strbuf of
 * NUL-separated values), their count in *n. Returns 0 at the end of input,
 * 1 for a record, -1 for a malformed one (message in *why); *pos moves past
 * the record (or the rest of the bad line), *line counts line breaks. */
static int csv_record(const char *t, size_t len, size_t *pos, int *line, vd_strbuf *fields,
                      int *n, const char **why) {
    size_t p = *pos;
    vd_strbuf_clear(fields);
    *n = 0;
    if (p >= len) return 0;
    for (;;) {
        (*n)++;
        if (p < len && t[p] == '"') {
            p++;
            for (;;) {
                if (p >= len) {
                    *why = "unterminated quoted field";
                    *pos = len;
                    return -1;
                }
                if (t[p] == '"') {
                    if (p + 1 < len && t[p + 1] == '"') {
                        vd_strbuf_append(fields, "\"", 1);
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (t[p] == '\n') (*line)++;
                vd_strbuf_append(fields, t + p, 1);
                p++;
            }
            if (p < len && t[p] == '\r' && p + 1 < len && t[p + 1] == '\n') p++;
            if (p < len && t[p] != ',' && t[p] != '\n') {
                *why = "text after a closing quote";
                while (p < len && t[p] != '\n') p++;
                if (p < len) (*line)++;
                *pos = p < len ? p + 1 : len;
                return -1;
            }
        } else {
            size_t a = p;
            while (p < len && t[p] != ',' && t[p] != '\n') {
                if (t[p] == '"') {
                    *why = "a quote inside an unquoted field";
                    while (p < len && t[p] != '\n') p++;
                    if (p < len) (*line)++;
                    *pos = p < len ? p + 1 : len;
                    return -1;
                }
                p++;
            }
            size_t b = p;
            if (b > a && t[b - 1] == '\r' && (p >= len || t[p] == '\n')) b--;
            vd_strbuf_append(fields, t + a, b - a);
        }
        vd_strbuf_append(fields, "", 1); /* the NUL separator */
        if (p >= len || t[p] == '\n') {
            if (p < len) (*line)++;
            *pos = p < len ? p + 1 : len;
            return 1;
        }
        p++; /* the comma */
    }
}

static const char *nth_field(const vd_strbuf *fields, int i) {
    const char *f = fields->data;
    for (int k = 0; k < i; k++) f += strlen(f) + 1;
    return f;
}

static int name_is(const char *name, const char *const *options) {
    for (; *options; options++)
        if (!strcasecmp(name, *options)) return 1;
    return 0;
}

static vd_status read_csv(vd_dataset *ds, const char *text, size_t len, vd_error *err) {
    static const char *const path_names[] = {"path", "video", "file", NULL};
    static const char *const caption_names[] = {"text", "caption", NULL};
    vd_strbuf header, fields, extra;
    vd_strbuf_init(&header);
    vd_strbuf_init(&fields);
    vd_strbuf_init(&extra);
    size_t pos = 0;
    int line = 1, n_header = 0, n, path_col = -1, caption_col = -1;
    const char *why = NULL;
    vd_status st = VD_OK;
    if (len >= 3 && !memcmp(text, "\xEF\xBB\xBF", 3)) pos = 3;
    int r = csv_record(text, len, &pos, &line, &header, &n_header, &why);
    if (r <= 0) {
        st = vd_fail(err, VD_ERR_FORMAT, "dataset: %s:1: %s", ds->source,
                     r == 0 ? "empty file (want a header like path,text)" : why);
        goto done;
    }
    for (int i = 0; i < n_header; i++) {
        const char *name = nth_field(&header, i);
        if (path_col < 0 && name_is(name, path_names)) path_col = i;
        if (caption_col < 0 && name_is(name, caption_names)) caption_col = i;
    }
    if (path_col < 0 || caption_col < 0) {
        st = vd_fail(err, VD_ERR_FORMAT,
                     "dataset: %s:1: the header needs a path column (path, video or file) and a caption column (text or caption)",
                     ds->source);
        goto done;
    }
    for (;;) {
        int start = line;
        r = csv_record(text, len, &pos, &line, &fields, &n, &why);
        if (r == 0) break;
        if (fields.failed) {
            st = nomem(ds, err);
            goto done;
        }
        if (r < 0) {
            if ((st = add_error(ds, start, why, err)) != VD_OK) goto done;
            continue;
        }
        if (n == 1 && !nth_field(&fields, 0)[0]) continue; /* a blank line */
        if (n != n_header) {
            char msg[96];
            snprintf(msg, sizeof msg, "%d fields, but the header has %d", n, n_header);
            if ((st = add_error(ds, start, msg, err)) != VD_OK) goto done;
            continue;
        }
        const char *file = nth_field(&fields, path_col);
        if (!file[0]) {
            if ((st = add_error(ds, start, "empty path", err)) != VD_OK) goto done;
            continue;
        }
        vd_strbuf_clear(&extra);
        vd_strbuf_puts(&extra, "{");
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (i == path_col || i == caption_col) continue;
            if (k++) vd_strbuf_puts(&extra, ",");
            vd_strbuf_json_string(&extra, nth_field(&header, i));
            vd_strbuf_puts(&extra, ":");
            vd_strbuf_json_string(&extra, nth_field(&fields, i));
        }
        vd_strbuf_puts(&extra, "}");
        if (extra.failed) {
            st = nomem(ds, err);
            goto done;
        }
        st = add_item(ds, start, file, nth_field(&fields, caption_col), extra.data, err);
        if (st != VD_OK) goto done;
    }
done:
    vd_strbuf_free(&header);
    vd_strbuf_free(&fields);
    vd_strbuf_free(&extra);
    return st;
}

static int ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcasecmp(s + a - b, suffix);
}

vd_status vd_dataset_open(vd_dataset **out, const char *path, vd_error *err) {
    *out = NULL;
    if (!path || !*path) return vd_fail(err, VD_ERR_ARG, "dataset: no path given");
    vd_dataset *ds = vd_calloc(NULL, 1, sizeof *ds);
    if (!ds) return vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", path);
    vd_status st = VD_OK;
    char *text = NULL;
    size_t len = 0;
    vd_strbuf s;
    vd_strbuf_init(&s);
    struct stat sb;
    if (stat(path, &sb) != 0) {
        st = vd_fail(err, VD_ERR_IO, "dataset: %s: %s", path, strerror(errno));
        goto fail;
    }
    if (S_ISDIR(sb.st_mode)) {
        size_t n = strlen(path);
        while (n > 1 && path[n - 1] == '/') n--;
        vd_strbuf_append(&s, path, n);
        vd_strbuf_puts(&s, "/captions.jsonl");
        if (!s.failed && stat(s.data, &sb) != 0) {
            vd_strbuf_clear(&s);
            vd_strbuf_append(&s, path, n);
            vd_strbuf_puts(&s, "/captions.csv");
            if (!s.failed && stat(s.data, &sb) != 0) {
                st = vd_fail(err, VD_ERR_IO, "dataset: %s: holds neither captions.jsonl nor captions.csv", path);
                goto fail;
            }
        }
    } else {
        vd_strbuf_puts(&s, path);
    }
    ds->source = s.failed ? NULL : pool_strdup(ds, s.data);
    if (!ds->source) {
        st = vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", path);
        goto fail;
    }
    const char *slash = strrchr(ds->source, '/');
    ds->dir = pool_strndup(ds, ds->source, slash ? (size_t)(slash - ds->source) + (slash == ds->source) : 0);
    if (!ds->dir) {
        st = nomem(ds, err);
        goto fail;
    }
    if ((st = vd_read_file(ds->source, &text, &len, err)) != VD_OK) {
        st = vd_fail_prefix(err, st, "dataset: ");
        goto fail;
    }
    st = ends_with(ds->source, ".csv") ? read_csv(ds, text, len, err) : read_jsonl(ds, text, len, err);
    if (st != VD_OK) goto fail;
    free(text); /* vd_read_file's buffer comes from malloc */
    vd_strbuf_free(&s);
    *out = ds;
    return VD_OK;
fail:
    free(text);
    vd_strbuf_free(&s);
    vd_dataset_free(ds);
    return st;
}

void vd_dataset_free(vd_dataset *ds) {
    if (!ds) return;
    while (ds->pool) {
        pool_chunk *next = ds->pool->next;
        vd_free(NULL, ds->pool);
        ds->pool = next;
    }
    vd_free(NULL, ds->items);
    vd_free(NULL, ds->errors);
    vd_free(NULL, ds);
}

size_t vd_dataset_count(const vd_dataset *ds) { return ds ? ds->count : 0; }

const vd_dataset_item *vd_dataset_entry(const vd_dataset *ds, size_t i) {
    return ds && i < ds->count ? &ds->items[i] : NULL;
}

size_t vd_dataset_error_count(const vd_dataset *ds) { return ds ? ds->n_errors : 0; }

const char *vd_dataset_error(const vd_dataset *ds, size_t i) {
    return ds && i < ds->n_errors ? ds->errors[i] : NULL;
}

const char *vd_dataset_source(const vd_dataset *ds) { return ds ? ds->source : NULL; }
