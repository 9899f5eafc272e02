/* Small file-system helpers shared by the writers of datasets, runs and
 * checkpoints. */
#ifndef VD_CORE_FS_H
#define VD_CORE_FS_H

#include "vidit.h"

/* Creates a folder and any missing parents (mkdir -p); an existing folder
 * is fine, an existing file of that name is VD_ERR_IO. */
vd_status vd_mkdirs(const char *path, vd_error *err);

#endif
