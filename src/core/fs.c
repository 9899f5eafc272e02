#include "core/fs.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"

vd_status vd_mkdirs(const char *path, vd_error *err) {
    char buf[4096];
    size_t n = strlen(path);
    if (n == 0) return vd_fail(err, VD_ERR_ARG, "mkdir: empty path");
    if (n >= sizeof buf) return vd_fail(err, VD_ERR_ARG, "mkdir: path too long: %.64s...", path);
    memcpy(buf, path, n + 1);
    /* Create each prefix ending at a '/', then the whole path. */
    for (size_t i = 1; i <= n; i++) {
        if (i < n && buf[i] != '/') continue;
        char saved = buf[i];
        buf[i] = '\0';
        struct stat sb;
        if (stat(buf, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode)) {
                buf[i] = saved;
                return vd_fail(err, VD_ERR_IO, "mkdir: %s: a part of the path is not a folder", path);
            }
        } else if (mkdir(buf, 0777) != 0 && errno != EEXIST) {
            int e = errno;
            buf[i] = saved;
            return vd_fail(err, VD_ERR_IO, "mkdir: %s: cannot create folder: %s", path, strerror(e));
        }
        buf[i] = saved;
    }
    return VD_OK;
}
