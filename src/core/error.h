/* Error reporting helpers shared by every module. */
#ifndef VD_CORE_ERROR_H
#define VD_CORE_ERROR_H

#include "vidit.h"

#if defined(__GNUC__)
#define VD_PRINTF(a, b) __attribute__((format(printf, a, b)))
#else
#define VD_PRINTF(a, b)
#endif

/* Records `code` and a formatted message in err (which may be NULL) and
 * returns code, so that failures read: return vd_fail(err, VD_ERR_IO, ...). */
vd_status vd_fail(vd_error *err, vd_status code, const char *fmt, ...)
    VD_PRINTF(3, 4);

/* Prefixes an existing message with context ("loading model: ") and returns
 * err->code (or `code` when err is NULL). */
vd_status vd_fail_prefix(vd_error *err, vd_status code, const char *fmt, ...)
    VD_PRINTF(3, 4);

/* Clears err to VD_OK with an empty message; err may be NULL. */
void vd_error_clear(vd_error *err);

#endif
