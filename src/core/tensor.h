/* N-d tensors: a dtype, a shape and a pointer to row-major data.
 *
 * A vd_tensor does not own its data unless it was made by vd_tensor_new;
 * views into an arena, a parameter block or an mmapped checkpoint are plain
 * structs. Video tensors are (batch, channels, time, height, width); token
 * tensors are (batch, tokens, channels). */
#ifndef VD_CORE_TENSOR_H
#define VD_CORE_TENSOR_H

#include <stddef.h>
#include <stdint.h>

#include "vidit.h"

#define VD_MAX_DIMS 8

typedef enum vd_dtype {
    VD_F32 = 0,
    VD_F16,
    VD_BF16,
    VD_F64,
    VD_I8,
    VD_U8,
    VD_I16,
    VD_I32,
    VD_I64,
    VD_BOOL,
    VD_DTYPE_COUNT
} vd_dtype;

typedef struct vd_tensor {
    vd_dtype dtype;
    int ndim;
    int64_t shape[VD_MAX_DIMS];
    void *data;
} vd_tensor;

size_t vd_dtype_size(vd_dtype dtype);
/* The safetensors spelling: "F32", "BF16", ...; NULL for an invalid dtype. */
const char *vd_dtype_name(vd_dtype dtype);
/* Parses a safetensors dtype name; returns 0 when unknown. */
int vd_dtype_from_name(const char *name, vd_dtype *out);

/* Product of the shape; 1 for a scalar (ndim 0). -1 on overflow. */
int64_t vd_shape_numel(int ndim, const int64_t *shape);
int64_t vd_tensor_numel(const vd_tensor *t);

/* A tensor owning zero-filled data from the allocator. */
vd_status vd_tensor_new(vd_tensor *t, const vd_allocator *a, vd_dtype dtype,
                        int ndim, const int64_t *shape, vd_error *err);
void vd_tensor_free(vd_tensor *t, const vd_allocator *a);

/* "(2, 3, 4)" into buf; returns buf. */
char *vd_shape_str(int ndim, const int64_t *shape, char *buf, size_t size);
int vd_shape_equal(int ndim_a, const int64_t *a, int ndim_b, const int64_t *b);

/* Half-precision storage. f32->bf16/f16 rounds to nearest even; NaN stays
 * NaN; f16 overflow saturates to infinity as IEEE does. */
float vd_bf16_to_f32(uint16_t h);
uint16_t vd_f32_to_bf16(float f);
float vd_f16_to_f32(uint16_t h);
uint16_t vd_f32_to_f16(float f);

/* Converts n elements of src (F32, F16, BF16, F64, or an integer type) into
 * floats. Returns 0 for a dtype that has no float meaning (BOOL). */
int vd_convert_to_f32(float *dst, const void *src, vd_dtype dtype, size_t n);
/* Converts n floats into dst of dtype F32, F16 or BF16. */
int vd_convert_from_f32(void *dst, vd_dtype dtype, const float *src, size_t n);

#endif
