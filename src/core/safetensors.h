/* safetensors: the checkpoint format (https://github.com/huggingface/safetensors).
 *
 * Layout: an 8-byte little-endian header length N, N bytes of a JSON object
 * mapping tensor names to {"dtype", "shape", "data_offsets": [begin, end]}
 * (offsets relative to the byte after the header) plus an optional
 * "__metadata__" string-to-string map, then the data.
 *
 * The reader maps the file and enforces every rule before handing out a
 * pointer: header length within the file and at most 100 MB, the header a
 * JSON object, known dtypes, shapes of non-negative integers, sizes equal to
 * shape times dtype size (overflow-checked), offsets sorted, contiguous, with
 * no gap or overlap, starting at 0, and the data ending exactly at the end of
 * the file; __metadata__ values all strings; no duplicate names. A bad file
 * gets a clear error naming the file and what is wrong, never a crash.
 *
 * The writer collects tensors and writes them to PATH.tmp.<pid>, fsyncs it,
 * renames it over PATH and fsyncs the folder, so a crash leaves either the
 * old file or the new one, never half of one. */
#ifndef VD_CORE_SAFETENSORS_H
#define VD_CORE_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "core/tensor.h"
#include "vidit.h"

#define VD_ST_MAX_HEADER (100u * 1024u * 1024u)

typedef struct vd_st_tensor {
    const char *name;
    vd_dtype dtype;
    int ndim;
    int64_t shape[VD_MAX_DIMS];
    const void *data; /* inside the mapping; valid until vd_st_close */
    size_t nbytes;
} vd_st_tensor;

typedef struct vd_st_file vd_st_file;

/* Maps and validates a file. On failure *out is NULL and err says why. */
vd_status vd_st_open(vd_st_file **out, const char *path, vd_error *err);
/* Validates a buffer the caller keeps alive (used by the fuzzer). `label`
 * names it in error messages. */
vd_status vd_st_open_memory(vd_st_file **out, const void *data, size_t size,
                            const char *label, vd_error *err);
void vd_st_close(vd_st_file *f);

size_t vd_st_count(const vd_st_file *f);
/* Tensors in file order (sorted by offset). */
const vd_st_tensor *vd_st_at(const vd_st_file *f, size_t i);
/* NULL when absent. */
const vd_st_tensor *vd_st_find(const vd_st_file *f, const char *name);
/* A __metadata__ value, or NULL. */
const char *vd_st_metadata(const vd_st_file *f, const char *key);
size_t vd_st_metadata_count(const vd_st_file *f);
void vd_st_metadata_at(const vd_st_file *f, size_t i, const char **key,
                       const char **value);

/* Copies a tensor into dst as floats, converting F16/BF16/F64/integers.
 * Fails with VD_ERR_SHAPE unless the tensor has exactly n elements. */
vd_status vd_st_read_f32(const vd_st_tensor *t, float *dst, size_t n, vd_error *err);
/* Finds `name`, checks its shape equals (ndim, shape), converts into dst. */
vd_status vd_st_load_f32(const vd_st_file *f, const char *name, float *dst,
                         int ndim, const int64_t *shape, vd_error *err);

typedef struct vd_st_writer vd_st_writer;

vd_st_writer *vd_st_writer_new(const vd_allocator *allocator);
void vd_st_writer_free(vd_st_writer *w);
/* Adds a tensor; data is copied. Names must be unique. */
vd_status vd_st_writer_add(vd_st_writer *w, const char *name, vd_dtype dtype,
                           int ndim, const int64_t *shape, const void *data,
                           vd_error *err);
/* Adds float data stored as dtype (F32, F16 or BF16), converted on the way. */
vd_status vd_st_writer_add_f32(vd_st_writer *w, const char *name, vd_dtype dtype,
                               int ndim, const int64_t *shape, const float *data,
                               vd_error *err);
vd_status vd_st_writer_meta(vd_st_writer *w, const char *key, const char *value,
                            vd_error *err);
/* Writes atomically (temporary file, fsync, rename, fsync of the folder). */
vd_status vd_st_writer_save(vd_st_writer *w, const char *path, vd_error *err);

#endif
