/* Pointwise activations and the row softmax. Pointwise loops have no
 * cross-element state, so any split over threads gives the same bits. */
#include <math.h>

#include "ops/cpu/cpu.h"
#include "ops/cpu/fastmath.h"

#define PAR_IF(work) if ((size_t)(work) > 32768)

/* sqrt(2 / pi), as PyTorch's approximate='tanh' GELU writes it. */
#define GELU_K 0.7978845608028654f
#define GELU_A 0.044715f

void vd_cpu_gelu_fwd(float *y, const float *x, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float inner = GELU_K * (v + GELU_A * v * v * v);
        y[i] = 0.5f * v * (1.0f + vd_fast_tanhf(inner));
    }
}

void vd_cpu_gelu_bwd(float *dx, const float *dy, const float *x, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) {
        float v = x[i];
        float v2 = v * v;
        float th = vd_fast_tanhf(GELU_K * (v + GELU_A * v2 * v));
        float d = 0.5f * (1.0f + th) +
                  0.5f * v * (1.0f - th * th) * GELU_K * (1.0f + 3.0f * GELU_A * v2);
        dx[i] += dy[i] * d;
    }
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
