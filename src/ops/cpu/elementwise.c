/* Elementwise helpers, the AdamW update and the weight EMA. Every element is
 * computed on its own, so any split over threads gives the same bits. */
#include <math.h>
#include <string.h>

#include "ops/cpu/cpu.h"

#define PAR_IF(work) if ((size_t)(work) > 32768)

void vd_cpu_add(float *y, const float *a, const float *b, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) y[i] = a[i] + b[i];
}

void vd_cpu_axpy(float *y, float alpha, const float *x, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) y[i] += alpha * x[i];
}

void vd_cpu_scale(float *y, float alpha, size_t n) {
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) y[i] *= alpha;
}

/* One contiguous slice per thread, each cleared or copied by libc. */
enum { SLICE = 1 << 16 };

void vd_cpu_zero(float *y, size_t n) {
    const size_t slices = (n + SLICE - 1) / SLICE;
#pragma omp parallel for schedule(static) if (slices > 1)
    for (size_t s = 0; s < slices; s++) {
        const size_t i = s * SLICE, len = n - i < SLICE ? n - i : SLICE;
        memset(y + i, 0, len * sizeof *y);
    }
}

void vd_cpu_copy(float *y, const float *x, size_t n) {
    const size_t slices = (n + SLICE - 1) / SLICE;
#pragma omp parallel for schedule(static) if (slices > 1)
    for (size_t s = 0; s < slices; s++) {
        const size_t i = s * SLICE, len = n - i < SLICE ? n - i : SLICE;
        memcpy(y + i, x + i, len * sizeof *y);
    }
}

/* Follows torch.optim.AdamW's single-tensor path operation for operation:
 * decay first (p *= 1 - lr*wd), m by lerp, v, then
 * p -= (lr / bc1) * m / (sqrt(v) / sqrt(bc2) + eps), with the bias
 * corrections in double as Python computes them. */
void vd_cpu_adamw_step(float *p, const float *g, float *m, float *v, size_t n,
                       float lr, float beta1, float beta2, float eps, float wd,
                       int step) {
    if (step < 1) step = 1;
    double bc1 = 1.0 - pow((double)beta1, step);
    double bc2 = 1.0 - pow((double)beta2, step);
    float step_size = (float)((double)lr / bc1);
    float bc2_sqrt = (float)sqrt(bc2);
    float decay = (float)(1.0 - (double)lr * (double)wd);
    float w1 = 1.0f - beta1, w2 = 1.0f - beta2;
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float pi = wd != 0.0f ? p[i] * decay : p[i];
        float mi = m[i] + w1 * (gi - m[i]);
        float vi = v[i] * beta2 + w2 * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float denom = sqrtf(vi) / bc2_sqrt + eps;
        p[i] = pi - step_size * (mi / denom);
    }
}

void vd_cpu_ema_update(float *ema, const float *p, size_t n, float decay) {
    float w = 1.0f - decay;
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) ema[i] = decay * ema[i] + w * p[i];
}
