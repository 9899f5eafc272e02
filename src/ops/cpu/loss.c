/* Mean losses. The forward reductions add fixed-size blocks in parallel and
 * the block partials in order (in rounds of a fixed number of blocks, so the
 * partials fit on the stack), giving the same bits for any thread count. */
#include <math.h>

#include "ops/cpu/cpu.h"

#define PAR_IF(work) if ((size_t)(work) > 32768)

enum { LOSS_BLOCK = 4096, LOSS_ROUND = 256 };

enum { KIND_MSE, KIND_L1 };

static double block_sum(int kind, const float *x, const float *t, size_t i0, size_t i1) {
    double s = 0;
    if (kind == KIND_MSE)
        for (size_t i = i0; i < i1; i++) {
            double d = (double)x[i] - t[i];
            s += d * d;
        }
    else
        for (size_t i = i0; i < i1; i++) s += fabs((double)x[i] - t[i]);
    return s;
}

static double reduce(int kind, const float *x, const float *t, size_t n) {
    size_t nb = (n + LOSS_BLOCK - 1) / LOSS_BLOCK;
    double total = 0;
    for (size_t r0 = 0; r0 < nb; r0 += LOSS_ROUND) {
        size_t r1 = r0 + LOSS_ROUND < nb ? r0 + LOSS_ROUND : nb;
        double part[LOSS_ROUND];
        long cnt = (long)(r1 - r0);
#pragma omp parallel for schedule(static) if (cnt > 1)
        for (long k = 0; k < cnt; k++) {
            size_t i0 = (r0 + (size_t)k) * LOSS_BLOCK;
            size_t i1 = i0 + LOSS_BLOCK < n ? i0 + LOSS_BLOCK : n;
            part[k] = block_sum(kind, x, t, i0, i1);
        }
        for (long k = 0; k < cnt; k++) total += part[k];
    }
    return total;
}

float vd_cpu_mse_fwd(const float *x, const float *target, size_t n) {
    if (n == 0) return 0.0f;
    return (float)(reduce(KIND_MSE, x, target, n) / (double)n);
}

void vd_cpu_mse_bwd(float *dx, const float *x, const float *target, size_t n,
                    float scale) {
    if (n == 0) return;
    float k = (float)(2.0 * scale / (double)n);
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) dx[i] += k * (x[i] - target[i]);
}

float vd_cpu_l1_fwd(const float *x, const float *target, size_t n) {
    if (n == 0) return 0.0f;
    return (float)(reduce(KIND_L1, x, target, n) / (double)n);
}

void vd_cpu_l1_bwd(float *dx, const float *x, const float *target, size_t n,
                   float scale) {
    if (n == 0) return;
    float k = (float)(scale / (double)n);
#pragma omp parallel for schedule(static) PAR_IF(n)
    for (size_t i = 0; i < n; i++) {
        float d = x[i] - target[i];
        /* sign(0) = 0, as torch's */
        dx[i] += d > 0 ? k : (d < 0 ? -k : 0.0f);
    }
}
