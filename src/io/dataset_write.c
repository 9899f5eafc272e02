/* Writing captions.jsonl: lines collect in memory and the file is replaced
 * in one rename on close, so readers never see half a list. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "io/dataset.h"

struct vd_dataset_writer {
    vd_strbuf folder, lines;
    size_t count;
};

vd_status vd_dataset_writer_new(vd_dataset_writer **out, const char *folder, vd_error *err) {
    *out = NULL;
    if (!folder || !*folder) return vd_fail(err, VD_ERR_ARG, "dataset: no folder given");
    vd_status made = vd_mkdirs(folder, err);
    if (made) return vd_fail_prefix(err, made, "dataset: ");
    vd_dataset_writer *w = vd_calloc(NULL, 1, sizeof *w);
    if (!w) return vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", folder);
    vd_strbuf_init(&w->folder);
    vd_strbuf_init(&w->lines);
    size_t n = strlen(folder);
    while (n > 1 && folder[n - 1] == '/') n--;
    vd_strbuf_append(&w->folder, folder, n);
    if (w->folder.failed) {
        vd_dataset_writer_free(w);
        return vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", folder);
    }
    *out = w;
    return VD_OK;
}

vd_status vd_dataset_writer_add(vd_dataset_writer *w, const char *file, const char *caption,
                                const char *extra_json, vd_error *err) {
    const char *folder = vd_strbuf_cstr(&w->folder);
    if (!file || !*file || !caption)
        return vd_fail(err, VD_ERR_ARG, "dataset: %s: an entry needs a file and a caption", folder);
    vd_json *extra = NULL;
    if (extra_json) {
        vd_error perr = {0};
        extra = vd_json_parse(extra_json, strlen(extra_json), "extra_json", &perr);
        if (!extra)
            return vd_fail(err, VD_ERR_FORMAT, "dataset: %s: entry %s: %s", folder, file, perr.message);
        if (vd_json_type_of(extra) != VD_JSON_OBJECT || vd_json_get(extra, "file") ||
            vd_json_get(extra, "caption")) {
            vd_json_free(extra);
            return vd_fail(err, VD_ERR_ARG,
                           "dataset: %s: entry %s: extra_json must be an object without \"file\" or \"caption\"",
                           folder, file);
        }
    }
    vd_strbuf_puts(&w->lines, "{\"file\":");
    vd_strbuf_json_string(&w->lines, file);
    vd_strbuf_puts(&w->lines, ",\"caption\":");
    vd_strbuf_json_string(&w->lines, caption);
    for (size_t i = 0; extra && i < vd_json_len(extra); i++) {
        vd_strbuf_puts(&w->lines, ",");
        vd_strbuf_json_string(&w->lines, vd_json_key_at(extra, i));
        vd_strbuf_puts(&w->lines, ":");
        vd_dataset_json_compact(&w->lines, vd_json_at(extra, i));
    }
    vd_strbuf_puts(&w->lines, "}\n");
    vd_json_free(extra);
    if (w->lines.failed) {
        /* A failed strbuf stays failed: the writer is unusable from here. */
        return vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", folder);
    }
    w->count++;
    return VD_OK;
}

vd_status vd_dataset_writer_close(vd_dataset_writer *w, vd_error *err) {
    static atomic_uint counter;
    const char *folder = vd_strbuf_cstr(&w->folder);
    if (w->lines.failed) return vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", folder);
    vd_strbuf path, tmp;
    vd_strbuf_init(&path);
    vd_strbuf_init(&tmp);
    vd_strbuf_printf(&path, "%s/captions.jsonl", folder);
    vd_strbuf_printf(&tmp, "%s.tmp.%ld.%u", vd_strbuf_cstr(&path), (long)getpid(),
                     atomic_fetch_add(&counter, 1u));
    vd_status st = VD_OK;
    if (path.failed || tmp.failed) {
        st = vd_fail(err, VD_ERR_NOMEM, "dataset: %s: out of memory", folder);
        goto done;
    }
    FILE *f = fopen(tmp.data, "wb");
    if (!f) {
        st = vd_fail(err, VD_ERR_IO, "dataset: %s: cannot create: %s", tmp.data, strerror(errno));
        goto done;
    }
    int ok = fwrite(vd_strbuf_cstr(&w->lines), 1, w->lines.len, f) == w->lines.len;
    ok = fflush(f) == 0 && ok;
    ok = fsync(fileno(f)) == 0 && ok;
    ok = fclose(f) == 0 && ok;
    if (!ok) {
        st = vd_fail(err, VD_ERR_IO, "dataset: %s: cannot write: %s", tmp.data, strerror(errno));
        unlink(tmp.data);
        goto done;
    }
    if (rename(tmp.data, path.data) != 0) {
        st = vd_fail(err, VD_ERR_IO, "dataset: %s: cannot rename into place: %s", path.data,
                     strerror(errno));
        unlink(tmp.data);
    }
done:
    vd_strbuf_free(&path);
    vd_strbuf_free(&tmp);
    return st;
}

void vd_dataset_writer_free(vd_dataset_writer *w) {
    if (!w) return;
    vd_strbuf_free(&w->folder);
    vd_strbuf_free(&w->lines);
    vd_free(NULL, w);
}
