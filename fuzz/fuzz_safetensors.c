/* libFuzzer target: the safetensors reader must reject any malformed input
 * with an error (never crash, read out of bounds or leak), and every tensor
 * it accepts must be readable in full. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/safetensors.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    /* A private copy, so reads past `size` hit the sanitizer's redzone
     * rather than libFuzzer's larger buffer. */
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    if (size) memcpy(copy, data, size);
    vd_st_file *f = NULL;
    vd_error err = {0};
    if (vd_st_open_memory(&f, copy, size, "fuzz", &err) != VD_OK) {
        if (f != NULL || err.code == VD_OK || err.message[0] == '\0') abort();
        free(copy);
        return 0;
    }
    for (size_t i = 0; i < vd_st_count(f); i++) {
        const vd_st_tensor *t = vd_st_at(f, i);
        if (!t || vd_st_find(f, t->name) != t) abort();
        int64_t n = vd_shape_numel(t->ndim, t->shape);
        /* The reader checked nbytes against the data; a huge element count
         * with a zero-size dtype cannot pass. */
        if (n < 0 || (size_t)n * vd_dtype_size(t->dtype) != t->nbytes) abort();
        if ((const uint8_t *)t->data + t->nbytes > copy + size) abort();
        float *dst = malloc(n > 0 ? (size_t)n * sizeof *dst : 1);
        if (!dst) continue;
        vd_status st = vd_st_read_f32(t, dst, (size_t)n, &err);
        if (st != VD_OK && t->dtype != VD_BOOL) abort();
        if (st == VD_OK && t->ndim >= 0)
            vd_st_load_f32(f, t->name, dst, t->ndim, t->shape, &err);
        free(dst);
    }
    for (size_t i = 0; i < vd_st_metadata_count(f); i++) {
        const char *k, *v;
        vd_st_metadata_at(f, i, &k, &v);
        if (!k || !v || vd_st_metadata(f, k) == NULL) abort();
    }
    vd_st_close(f);
    free(copy);
    return 0;
}
