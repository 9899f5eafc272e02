/* The row work shared by the fp32 (attention.c) and bf16 (attention_bf16.c)
 * attention kernels: reductions in eight lanes added in a fixed order (so
 * that the loops vectorise and the bits never depend on the machine's
 * vector width), the online softmax's update of one score row, and the
 * final normalisation, and whether a key block has any attended key. */
#ifndef VD_OPS_CPU_ATTENTION_ROWS_H
#define VD_OPS_CPU_ATTENTION_ROWS_H

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "ops/cpu/fastmath.h"

/* 1 when any key of a block is attended (a NULL mask attends every key). */
static inline int vd_att_any(const uint8_t *mask, int n) {
    if (!mask) return 1;
    for (int i = 0; i < n; i++)
        if (mask[i]) return 1;
    return 0;
}

static inline float vd_att_sum(const float *x, int n) {
    float lane[8] = {0};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) lane[l] += x[i + l];
    for (; i < n; i++) lane[0] += x[i];
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

static inline float vd_att_max(const float *x, int n) {
    float lane[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                     -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int i = 0;
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
    for (; i < n; i++) lane[0] = x[i] > lane[0] ? x[i] : lane[0];
    float m = lane[0];
    for (int l = 1; l < 8; l++) m = lane[l] > m ? lane[l] : m;
    return m;
}

/* One key block's scores s[nk] of a query row (scaled, masked keys -inf,
 * at least one attended) become probabilities relative to the new running
 * max; the row's max *m and sum *l, and its output so far o[D], are
 * rescaled to it. */
static inline void vd_att_online_row(float *s, int nk, float *m, float *l, float *o, int D) {
    const float mx = vd_att_max(s, nk);
    const float mnew = mx > *m ? mx : *m;
    /* The block has an attended key, so mnew is finite; a NaN score
     * propagates instead of being hidden. */
    for (int c = 0; c < nk; c++) s[c] = vd_fast_expf(s[c] - mnew);
    const float alpha = *m == -INFINITY ? 0.0f : expf(*m - mnew);
    *l = *l * alpha + vd_att_sum(s, nk);
    *m = mnew;
    if (alpha != 1.0f)
        for (int d = 0; d < D; d++) o[d] *= alpha;
}

/* Divides nq output rows (stride HD) by their sums and writes their
 * log-sum-exp; a row whose every key was masked gets zeros and lse = -inf,
 * which tells the backward pass that it contributes nothing. */
static inline void vd_att_finish_rows(float *o, size_t HD, int D, const float *m, const float *l,
                                      float *lse, int nq) {
    for (int r = 0; r < nq; r++) {
        float *orow = o + r * HD;
        if (l[r] > 0.0f) {
            const float inv = 1.0f / l[r];
            for (int d = 0; d < D; d++) orow[d] *= inv;
            lse[r] = m[r] + logf(l[r]);
        } else {
            memset(orow, 0, (size_t)D * sizeof(float));
            lse[r] = -INFINITY;
        }
    }
}

#endif
