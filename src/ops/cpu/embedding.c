/* Table lookups and the sinusoidal timestep embedding. */
#include <math.h>
#include <string.h>

#include "ops/cpu/cpu.h"

#define PAR_IF(work) if ((size_t)(work) > 32768)

enum { EMB_COLS = 64 };

void vd_cpu_embedding_fwd(float *y, const int32_t *ids, const float *table, int N,
                          int C) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)N * C)
    for (int n = 0; n < N; n++)
        memcpy(y + (size_t)n * C, table + (size_t)ids[n] * C, (size_t)C * sizeof *y);
}

/* Several tokens may share an id, so tasks split columns, not tokens: each
 * task adds every token's row into its own columns in token order, which is
 * race-free and independent of the thread count. */
void vd_cpu_embedding_bwd(float *dtable, const float *dy, const int32_t *ids, int N,
                          int C) {
    int tasks = (C + EMB_COLS - 1) / EMB_COLS;
#pragma omp parallel for schedule(static) PAR_IF((size_t)N * C)
    for (int t = 0; t < tasks; t++) {
        int c0 = t * EMB_COLS, c1 = c0 + EMB_COLS < C ? c0 + EMB_COLS : C;
        for (int n = 0; n < N; n++) {
            float *row = dtable + (size_t)ids[n] * C;
            const float *d = dy + (size_t)n * C;
            for (int c = c0; c < c1; c++) row[c] += d[c];
        }
    }
}

/* Frequencies are computed in float in the order PyTorch's DiT code does
 * (exp(-ln(P) * i / half)), so that t * f rounds the same way for large t. */
static inline float ts_freq(int i, int half, float max_period) {
    return expf(-logf(max_period) * (float)i / (float)half);
}

void vd_cpu_timestep_embedding_fwd(float *y, const float *t, int B, int dim,
                                   float max_period) {
    int half = dim / 2;
#pragma omp parallel for schedule(static) PAR_IF((size_t)B * dim)
    for (int b = 0; b < B; b++) {
        float *yr = y + (size_t)b * dim;
        for (int i = 0; i < half; i++) {
            float a = t[b] * ts_freq(i, half, max_period);
            yr[i] = cosf(a);
            yr[half + i] = sinf(a);
        }
        if (dim & 1) yr[dim - 1] = 0.0f;
    }
}

void vd_cpu_timestep_embedding_bwd(float *dt, const float *dy, const float *t,
                                   int B, int dim, float max_period) {
    int half = dim / 2;
#pragma omp parallel for schedule(static) PAR_IF((size_t)B * dim)
    for (int b = 0; b < B; b++) {
        const float *d = dy + (size_t)b * dim;
        double s = 0;
        for (int i = 0; i < half; i++) {
            float f = ts_freq(i, half, max_period);
            float a = t[b] * f;
            s += (double)f * ((double)d[half + i] * cosf(a) - (double)d[i] * sinf(a));
        }
        dt[b] += (float)s;
    }
}
