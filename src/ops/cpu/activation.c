/* Pointwise activations and the row softmax. Pointwise loops have no
 * cross-element state, so any split over threads gives the same bits. */
#include <math.h>

#include "ops/cpu/cpu.h"
#include "ops/cpu/fastmath.h"

#define PAR_IF(work) if ((size_t)(work) > 32768)

/* sqrt(2 / pi), as PyTorch's approximate='tanh' GELU writes it. */
#define GELU_K 0.7978845608028654f
#define GELU_A 0.044715f

static inline float gelu(float v) {
    float inner = GELU_K * (v + GELU_A * v * v * v);
    return 0.5f * v * (1.0f + vd_fast_tanhf(inner));
}

static inline float gelu_grad(float v) {
    float v2 = v * v;
    float th = vd_fast_tanhf(GELU_K * (v + GELU_A * v2 * v));
    return 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * GELU_A * v2);
}

/* Blocks of 16 floats per parallel task; the vector versions of gelu and
 * gelu_grad do the same operations in the same order, so every element gets
 * the scalar's bits. */
#ifdef VD_FAST_EXP16
static inline __m512 tanh16(__m512 x) {
    const __m512 one = _mm512_set1_ps(1.0f), two = _mm512_set1_ps(2.0f);
    return _mm512_sub_ps(one, _mm512_div_ps(two, _mm512_add_ps(one, vd_fast_exp16(_mm512_mul_ps(two, x)))));
}

static inline __m512 gelu16(__m512 v) {
    const __m512 cube = _mm512_mul_ps(_mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(GELU_A), v), v), v);
    const __m512 th = tanh16(_mm512_mul_ps(_mm512_set1_ps(GELU_K), _mm512_add_ps(v, cube)));
    return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), v), _mm512_add_ps(_mm512_set1_ps(1.0f), th));
}

static inline __m512 gelu_grad16(__m512 v) {
    const __m512 one = _mm512_set1_ps(1.0f), half = _mm512_set1_ps(0.5f), k = _mm512_set1_ps(GELU_K);
    const __m512 v2 = _mm512_mul_ps(v, v);
    const __m512 th = tanh16(_mm512_mul_ps(k, _mm512_add_ps(v, _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(GELU_A), v2), v))));
    const __m512 left = _mm512_mul_ps(half, _mm512_add_ps(one, th));
    __m512 right = _mm512_mul_ps(_mm512_mul_ps(half, v), _mm512_sub_ps(one, _mm512_mul_ps(th, th)));
    right = _mm512_mul_ps(_mm512_mul_ps(right, k),
                          _mm512_add_ps(one, _mm512_mul_ps(_mm512_set1_ps(3.0f * GELU_A), v2)));
    return _mm512_add_ps(left, right);
}
#endif

void vd_cpu_gelu_fwd(float *y, const float *x, size_t n) {
    const size_t blocks = n / 16;
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t blk = 0; blk < blocks; blk++) {
        const size_t i = blk * 16;
#ifdef VD_FAST_EXP16
        _mm512_storeu_ps(y + i, gelu16(_mm512_loadu_ps(x + i)));
#else
        for (size_t j = i; j < i + 16; j++) y[j] = gelu(x[j]);
#endif
    }
    for (size_t i = blocks * 16; i < n; i++) y[i] = gelu(x[i]);
}

void vd_cpu_gelu_bwd(float *dx, const float *dy, const float *x, size_t n) {
    const size_t blocks = n / 16;
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t blk = 0; blk < blocks; blk++) {
        const size_t i = blk * 16;
#ifdef VD_FAST_EXP16
        const __m512 d = _mm512_mul_ps(_mm512_loadu_ps(dy + i), gelu_grad16(_mm512_loadu_ps(x + i)));
        _mm512_storeu_ps(dx + i, _mm512_add_ps(_mm512_loadu_ps(dx + i), d));
#else
        for (size_t j = i; j < i + 16; j++) dx[j] += dy[j] * gelu_grad(x[j]);
#endif
    }
    for (size_t i = blocks * 16; i < n; i++) dx[i] += dy[i] * gelu_grad(x[i]);
}

void vd_cpu_silu_fwd(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) y[i] = x[i] * vd_fast_sigmoidf(x[i]);
}

void vd_cpu_silu_bwd(float *dx, const float *dy, const float *x, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) {
        float s = vd_fast_sigmoidf(x[i]);
        dx[i] += dy[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

void vd_cpu_softmax_fwd(float *y, const float *x, int M, int C) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
    for (int i = 0; i < M; i++) {
        const float *xr = x + (size_t)i * C;
        float *yr = y + (size_t)i * C;
        float mx = -INFINITY;
        for (int c = 0; c < C; c++) mx = xr[c] > mx ? xr[c] : mx;
        if (mx == -INFINITY) mx = 0; /* an all -inf row gives NaN, as torch's */
        double s = 0;
        for (int c = 0; c < C; c++) {
            float e = expf(xr[c] - mx);
            yr[c] = e;
            s += e;
        }
        float inv = (float)(1.0 / s);
        for (int c = 0; c < C; c++) yr[c] *= inv;
    }
}

void vd_cpu_softmax_bwd(float *dx, const float *dy, const float *y, int M, int C) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
    for (int i = 0; i < M; i++) {
        const float *yr = y + (size_t)i * C, *dyr = dy + (size_t)i * C;
        float *dxr = dx + (size_t)i * C;
        double s = 0;
        for (int c = 0; c < C; c++) s += (double)dyr[c] * yr[c];
        float fs = (float)s;
        for (int c = 0; c < C; c++) dxr[c] += yr[c] * (dyr[c] - fs);
    }
}
