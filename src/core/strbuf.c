#include "core/strbuf.h"
#include "core/utf8.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The buffer uses the C library's malloc/realloc rather than a vd_allocator:
 * callers may take s.data and free() it, like vd_read_file's result. */

void vd_strbuf_init(vd_strbuf *s) {
    s->data = NULL;
    s->len = 0;
    s->cap = 0;
    s->failed = 0;
}

void vd_strbuf_free(vd_strbuf *s) {
    if (!s) return;
    free(s->data);
    vd_strbuf_init(s);
}

void vd_strbuf_clear(vd_strbuf *s) {
    s->len = 0;
    if (s->data) s->data[0] = '\0';
}

/* Makes room for `extra` more bytes plus the terminating NUL. */
static int reserve(vd_strbuf *s, size_t extra) {
    if (s->failed) return 0;
    if (extra > SIZE_MAX - 1 - s->len) {
        s->failed = 1;
        return 0;
    }
    size_t need = s->len + extra + 1;
    if (need <= s->cap) return 1;
    size_t cap = s->cap ? s->cap : 64;
    while (cap < need) {
        if (cap > SIZE_MAX / 2) {
            cap = need;
            break;
        }
        cap *= 2;
    }
    char *p = realloc(s->data, cap);
    if (!p) {
        s->failed = 1;
        return 0;
    }
    s->data = p;
    s->cap = cap;
    return 1;
}

void vd_strbuf_append(vd_strbuf *s, const char *text, size_t len) {
    if (!reserve(s, len)) return;
    if (len) memcpy(s->data + s->len, text, len);
    s->len += len;
    s->data[s->len] = '\0';
}

void vd_strbuf_puts(vd_strbuf *s, const char *text) { vd_strbuf_append(s, text, strlen(text)); }

void vd_strbuf_printf(vd_strbuf *s, const char *fmt, ...) {
    if (s->failed) return;
    va_list ap, ap2;
    va_start(ap, fmt);
    va_copy(ap2, ap);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0) {
        s->failed = 1;
        va_end(ap2);
        return;
    }
    if ((size_t)n < sizeof small) {
        vd_strbuf_append(s, small, (size_t)n);
    } else if (reserve(s, (size_t)n)) {
        vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap2);
        s->len += (size_t)n;
    }
    va_end(ap2);
}

void vd_strbuf_json_string(vd_strbuf *s, const char *text) {
    static const char hex[] = "0123456789abcdef";
    const unsigned char *p = (const unsigned char *)text;
    size_t len = strlen(text);
    vd_strbuf_append(s, "\"", 1);
    size_t i = 0;
    while (i < len && !s->failed) {
        /* Copy the longest run that needs no escaping in one go. */
        size_t run = i;
        while (run < len && p[run] >= 0x20 && p[run] < 0x80 && p[run] != '"' && p[run] != '\\')
            run++;
        if (run > i) {
            vd_strbuf_append(s, text + i, run - i);
            i = run;
            continue;
        }
        unsigned c = p[i];
        if (c >= 0x80) {
            size_t n = vd_utf8_len(p + i, len - i);
            if (n) {
                vd_strbuf_append(s, text + i, n);
                i += n;
            } else {
                vd_strbuf_append(s, "\xEF\xBF\xBD", 3); /* U+FFFD */
                i++;
            }
            continue;
        }
        switch (c) {
        case '"': vd_strbuf_append(s, "\\\"", 2); break;
        case '\\': vd_strbuf_append(s, "\\\\", 2); break;
        case '\n': vd_strbuf_append(s, "\\n", 2); break;
        case '\r': vd_strbuf_append(s, "\\r", 2); break;
        case '\t': vd_strbuf_append(s, "\\t", 2); break;
        case '\b': vd_strbuf_append(s, "\\b", 2); break;
        case '\f': vd_strbuf_append(s, "\\f", 2); break;
        default: {
            char esc[6] = {'\\', 'u', '0', '0', hex[c >> 4], hex[c & 15]};
            vd_strbuf_append(s, esc, 6);
        }
        }
        i++;
    }
    vd_strbuf_append(s, "\"", 1);
}

void vd_strbuf_json_number(vd_strbuf *s, double v) {
    if (!isfinite(v)) {
        vd_strbuf_append(s, "null", 4);
        return;
    }
    /* The shortest %g form that reads back as the same double; 17 digits
     * always do. */
    char buf[40];
    int n = 0;
    for (int prec = 1; prec <= 17; prec++) {
        n = snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (n > 0 && (size_t)n < sizeof buf && strtod(buf, NULL) == v) break;
    }
    if (n <= 0 || (size_t)n >= sizeof buf) {
        s->failed = 1;
        return;
    }
    vd_strbuf_append(s, buf, (size_t)n);
}

const char *vd_strbuf_cstr(const vd_strbuf *s) { return s->data ? s->data : ""; }
