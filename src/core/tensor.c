#include "core/tensor.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

static const struct {
    const char *name;
    size_t size;
} dtype_info[VD_DTYPE_COUNT] = {
    [VD_F32] = {"F32", 4}, [VD_F16] = {"F16", 2}, [VD_BF16] = {"BF16", 2},
    [VD_F64] = {"F64", 8}, [VD_I8] = {"I8", 1},   [VD_U8] = {"U8", 1},
    [VD_I16] = {"I16", 2}, [VD_I32] = {"I32", 4}, [VD_I64] = {"I64", 8},
    [VD_BOOL] = {"BOOL", 1},
};

size_t vd_dtype_size(vd_dtype d) {
    return (unsigned)d < VD_DTYPE_COUNT ? dtype_info[d].size : 0;
}

const char *vd_dtype_name(vd_dtype d) {
    return (unsigned)d < VD_DTYPE_COUNT ? dtype_info[d].name : NULL;
}

int vd_dtype_from_name(const char *name, vd_dtype *out) {
    for (int i = 0; i < VD_DTYPE_COUNT; i++) {
        if (strcmp(name, dtype_info[i].name) == 0) {
            *out = (vd_dtype)i;
            return 1;
        }
    }
    return 0;
}

int64_t vd_shape_numel(int ndim, const int64_t *shape) {
    int64_t n = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0) return -1;
        if (shape[i] != 0 && n > INT64_MAX / shape[i]) return -1;
        n *= shape[i];
    }
    return n;
}

int64_t vd_tensor_numel(const vd_tensor *t) { return vd_shape_numel(t->ndim, t->shape); }

vd_status vd_tensor_new(vd_tensor *t, const vd_allocator *a, vd_dtype dtype, int ndim,
                        const int64_t *shape, vd_error *err) {
    memset(t, 0, sizeof *t);
    if (ndim < 0 || ndim > VD_MAX_DIMS)
        return vd_fail(err, VD_ERR_ARG, "tensor: %d dimensions (at most %d)", ndim, VD_MAX_DIMS);
    if ((unsigned)dtype >= VD_DTYPE_COUNT)
        return vd_fail(err, VD_ERR_ARG, "tensor: invalid dtype %d", (int)dtype);
    int64_t n = vd_shape_numel(ndim, shape);
    size_t bytes;
    if (n < 0 || !vd_size_mul((size_t)n, vd_dtype_size(dtype), &bytes))
        return vd_fail(err, VD_ERR_ARG, "tensor: shape too large");
    t->data = vd_calloc(a, bytes ? bytes : 1, 1);
    if (!t->data) return vd_fail(err, VD_ERR_NOMEM, "tensor: cannot allocate %zu bytes", bytes);
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    return VD_OK;
}

void vd_tensor_free(vd_tensor *t, const vd_allocator *a) {
    if (!t) return;
    vd_free(a, t->data);
    t->data = NULL;
}

char *vd_shape_str(int ndim, const int64_t *shape, char *buf, size_t size) {
    size_t pos = 0;
    if (size == 0) return buf;
    buf[0] = '\0';
    pos += (size_t)snprintf(buf + pos, pos < size ? size - pos : 0, "(");
    for (int i = 0; i < ndim && pos < size; i++)
        pos += (size_t)snprintf(buf + pos, size - pos, i ? ", %lld" : "%lld", (long long)shape[i]);
    if (pos < size) snprintf(buf + pos, size - pos, ")");
    return buf;
}

int vd_shape_equal(int na, const int64_t *a, int nb, const int64_t *b) {
    if (na != nb) return 0;
    for (int i = 0; i < na; i++)
        if (a[i] != b[i]) return 0;
    return 1;
}

static uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

float vd_bf16_to_f32(uint16_t h) { return bits_f32((uint32_t)h << 16); }

uint16_t vd_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((u >> 16) | 0x40); /* quiet NaN */
    uint32_t rounding = 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)((u + rounding) >> 16);
}

float vd_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t exp = (h >> 10) & 0x1fu;
    uint32_t man = h & 0x3ffu;
    uint32_t u;
    if (exp == 0) {
        if (man == 0) {
            u = sign;
        } else { /* subnormal: normalise */
            int e = -1;
            do {
                e++;
                man <<= 1;
            } while ((man & 0x400u) == 0);
            u = sign | ((uint32_t)(127 - 15 - e) << 23) | ((man & 0x3ffu) << 13);
        }
    } else if (exp == 31) {
        u = sign | 0x7f800000u | (man << 13);
    } else {
        u = sign | ((exp + 127 - 15) << 23) | (man << 13);
    }
    return bits_f32(u);
}

uint16_t vd_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000u);
    uint32_t absu = u & 0x7fffffffu;
    if (absu > 0x7f800000u) return sign | 0x7e00u;  /* NaN */
    if (absu >= 0x477ff000u) return sign | 0x7c00u; /* rounds to >= 65520: inf */
    if (absu < 0x38800000u) {                        /* subnormal or zero in f16 */
        if (absu < 0x33000000u) return sign;         /* below half the smallest subnormal */
        /* value = man * 2^(e-150); in units of the f16 subnormal 2^-24
         * that is man >> (126 - e), rounded to nearest even. */
        uint32_t man = (absu & 0x7fffffu) | 0x800000u;
        int e = (int)(absu >> 23);
        int s = 126 - e;
        uint32_t q = man >> s;
        uint32_t rem = man & ((1u << s) - 1);
        uint32_t half = 1u << (s - 1);
        if (rem > half || (rem == half && (q & 1u))) q++;
        return sign | (uint16_t)q;
    }
    uint32_t rounding = 0xfffu + ((absu >> 13) & 1u);
    absu += rounding;
    return sign | (uint16_t)(((absu >> 23) - 112) << 10 | ((absu >> 13) & 0x3ffu));
}

/* Loads go through memcpy: the source may sit at any byte offset inside a
 * mapped checkpoint, and a misaligned pointer dereference is undefined. */
#define CONVERT_LOOP(type, expr)                                                 \
    do {                                                                         \
        const unsigned char *s = src;                                            \
        for (size_t i = 0; i < n; i++) {                                         \
            type v;                                                              \
            memcpy(&v, s + i * sizeof v, sizeof v);                              \
            dst[i] = (expr);                                                     \
        }                                                                        \
    } while (0)

int vd_convert_to_f32(float *dst, const void *src, vd_dtype dtype, size_t n) {
    switch (dtype) {
    case VD_F32: memcpy(dst, src, n * 4); return 1;
    case VD_F16: CONVERT_LOOP(uint16_t, vd_f16_to_f32(v)); return 1;
    case VD_BF16: CONVERT_LOOP(uint16_t, vd_bf16_to_f32(v)); return 1;
    case VD_F64: CONVERT_LOOP(double, (float)v); return 1;
    case VD_I8: CONVERT_LOOP(int8_t, (float)v); return 1;
    case VD_U8: CONVERT_LOOP(uint8_t, (float)v); return 1;
    case VD_I16: CONVERT_LOOP(int16_t, (float)v); return 1;
    case VD_I32: CONVERT_LOOP(int32_t, (float)v); return 1;
    case VD_I64: CONVERT_LOOP(int64_t, (float)v); return 1;
    default: return 0;
    }
}

int vd_convert_from_f32(void *dst, vd_dtype dtype, const float *src, size_t n) {
    switch (dtype) {
    case VD_F32: memcpy(dst, src, n * 4); return 1;
    case VD_F16: {
        uint16_t *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = vd_f32_to_f16(src[i]);
        return 1;
    }
    case VD_BF16: {
        uint16_t *d = dst;
        for (size_t i = 0; i < n; i++) d[i] = vd_f32_to_bf16(src[i]);
        return 1;
    }
    default: return 0;
    }
}
