#include "core/error.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *vd_status_string(vd_status status) {
    switch (status) {
    case VD_OK: return "ok";
    case VD_ERR_NOMEM: return "out of memory";
    case VD_ERR_IO: return "input/output error";
    case VD_ERR_FORMAT: return "malformed input";
    case VD_ERR_ARG: return "invalid argument";
    case VD_ERR_SHAPE: return "shape mismatch";
    case VD_ERR_UNSUPPORTED: return "unsupported";
    case VD_ERR_INTERNAL: return "internal error";
    }
    return "unknown status";
}

vd_status vd_fail(vd_error *err, vd_status code, const char *fmt, ...) {
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->message, sizeof err->message, fmt, ap);
        va_end(ap);
        err->code = code;
    }
    return code;
}

vd_status vd_fail_prefix(vd_error *err, vd_status code, const char *fmt, ...) {
    if (!err) return code;
    char prefix[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    size_t cap = sizeof err->message - 1;
    size_t plen = strlen(prefix), olen = strnlen(err->message, cap);
    if (plen > cap) plen = cap;
    if (olen > cap - plen) olen = cap - plen;
    memmove(err->message + plen, err->message, olen);
    memcpy(err->message, prefix, plen);
    err->message[plen + olen] = '\0';
    if (err->code == VD_OK) err->code = code;
    return err->code;
}

void vd_error_clear(vd_error *err) {
    if (!err) return;
    err->code = VD_OK;
    err->message[0] = '\0';
}
