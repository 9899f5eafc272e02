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

/* The max ignores NaNs, so its order does not matter. */
static inline float vd_att_max(const float *x, int n) {
    float lane[8] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY,
                     -INFINITY, -INFINITY, -INFINITY, -INFINITY};
    int i = 0;
#ifdef VD_FAST_EXP16
    __m512 acc = _mm512_set1_ps(-INFINITY);
    for (; i + 16 <= n; i += 16) acc = _mm512_max_ps(_mm512_loadu_ps(x + i), acc);
    const float vm = _mm512_reduce_max_ps(acc);
    lane[0] = vm > lane[0] ? vm : lane[0];
#endif
    for (; i + 8 <= n; i += 8)
        for (int l = 0; l < 8; l++) lane[l] = x[i + l] > lane[l] ? x[i + l] : lane[l];
    for (; i < n; i++) lane[0] = x[i] > lane[0] ? x[i] : lane[0];
    float m = lane[0];
    for (int l = 1; l < 8; l++) m = lane[l] > m ? lane[l] : m;
    return m;
}

/* s[c] = exp(s[c] * scale - shift) for c < n, returning the sum of the new
 * values: eight lanes (a vector of 16 is two steps), the tail in lane 0,
 * then the lanes pairwise. */
static inline float vd_att_exp_sum(float *s, int n, float scale, float shift) {
    float lane[8] = {0};
    int c = 0;
#ifdef VD_FAST_EXP16
    __m256 acc = _mm256_setzero_ps();
    const __m512 vscale = _mm512_set1_ps(scale), vshift = _mm512_set1_ps(shift);
    for (; c + 16 <= n; c += 16) {
        const __m512 e = vd_fast_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(s + c), vscale), vshift));
        _mm512_storeu_ps(s + c, e);
        acc = _mm256_add_ps(acc, _mm512_castps512_ps256(e));
        acc = _mm256_add_ps(acc, _mm512_extractf32x8_ps(e, 1));
    }
    _mm256_storeu_ps(lane, acc);
#endif
    for (; c + 8 <= n; c += 8)
        for (int l = 0; l < 8; l++) {
            s[c + l] = vd_fast_expf(s[c + l] * scale - shift);
            lane[l] += s[c + l];
        }
    for (; c < n; c++) {
        s[c] = vd_fast_expf(s[c] * scale - shift);
        lane[0] += s[c];
    }
    return ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
}

/* p[c] = exp(s[c] * scale - shift) for c < n (p may be s). */
static inline void vd_att_exp(float *p, const float *s, int n, float scale, float shift) {
    int c = 0;
#ifdef VD_FAST_EXP16
    const __m512 vscale = _mm512_set1_ps(scale), vshift = _mm512_set1_ps(shift);
    for (; c + 16 <= n; c += 16)
        _mm512_storeu_ps(p + c, vd_fast_exp16(_mm512_sub_ps(_mm512_mul_ps(_mm512_loadu_ps(s + c), vscale), vshift)));
#endif
    for (; c < n; c++) p[c] = vd_fast_expf(s[c] * scale - shift);
}

/* One key block's raw scores s[nk] of a query row, times `scale` (> 0;
 * masked keys -inf, at least one attended), become probabilities relative
 * to the new running max; the row's max *m and sum *l, and its output so
 * far o[D], are rescaled to it. Two passes over the row: the max of the raw
 * scores (scaling is monotonic, so it scales to the same float), then exp
 * with the sum. */
static inline void vd_att_online_row_scaled(float *s, int nk, float scale, float *m, float *l,
                                            float *o, int D) {
    const float mx = vd_att_max(s, nk) * scale;
    const float mnew = mx > *m ? mx : *m;
    /* The block has an attended key, so mnew is finite; a NaN score
     * propagates instead of being hidden. */
    const float sum = vd_att_exp_sum(s, nk, scale, mnew);
    const float alpha = *m == -INFINITY ? 0.0f : expf(*m - mnew);
    *l = *l * alpha + sum;
    *m = mnew;
    if (alpha != 1.0f)
        for (int d = 0; d < D; d++) o[d] *= alpha;
}

/* The same for scores already scaled (x * 1.0f is x, bit for bit). */
static inline void vd_att_online_row(float *s, int nk, float *m, float *l, float *o, int D) {
    vd_att_online_row_scaled(s, nk, 1.0f, m, l, o, D);
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
