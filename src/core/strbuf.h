/* A growable string, for building JSON, CSV and messages without fixed
 * buffers or unsafe string functions. A failed allocation sets `failed`
 * and later appends do nothing, so callers check once at the end. */
#ifndef VD_CORE_STRBUF_H
#define VD_CORE_STRBUF_H

#include <stddef.h>

#include "core/error.h"

typedef struct vd_strbuf {
    char *data; /* always NUL-terminated once anything was appended */
    size_t len, cap;
    int failed;
} vd_strbuf;

void vd_strbuf_init(vd_strbuf *s);
void vd_strbuf_free(vd_strbuf *s);
void vd_strbuf_clear(vd_strbuf *s); /* len = 0, keeps memory */
void vd_strbuf_append(vd_strbuf *s, const char *text, size_t len);
void vd_strbuf_puts(vd_strbuf *s, const char *text);
void vd_strbuf_printf(vd_strbuf *s, const char *fmt, ...) VD_PRINTF(2, 3);
/* Appends text as a JSON string literal, quotes and escapes included
 * (invalid UTF-8 bytes become U+FFFD). */
void vd_strbuf_json_string(vd_strbuf *s, const char *text);
/* Appends a float the way JSON wants it (no NaN/inf: they become null). */
void vd_strbuf_json_number(vd_strbuf *s, double v);
/* "" when nothing was appended; never NULL. */
const char *vd_strbuf_cstr(const vd_strbuf *s);

#endif
