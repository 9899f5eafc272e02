/* Multi-head attention, flash style (FlashAttention-2's algorithm on a CPU).
 *
 * Scores are never materialised beyond one [BQ x BK] tile per thread: the
 * forward walks key blocks with an online softmax (running max m and sum l
 * per query row), and the backward recomputes each tile's probabilities from
 * the saved log-sum-exp. Matrix products are OpenBLAS sgemm calls on strided
 * views of q, k and v, so a fused qkv buffer is read in place.
 *
 * Determinism: every parallel work item owns the rows it writes. With at
 * least ATT_ONE_PASS (batch x heads) pairs, one item is a whole (b, h): it
 * owns that head's dQ, dK and dV, so a single sweep over the tiles computes
 * each tile once (five products per tile). With fewer pairs, that would
 * leave threads idle, so the backward runs two passes: one over key blocks
 * (dK and dV summed over query blocks in a fixed order) and one over query
 * blocks (dQ), each recomputing the tile it needs (seven products per
 * tile). The choice depends on the shapes alone, and the results are
 * bit-identical for any thread count.
 * sgemm is called inside the parallel region, where the OpenMP build of
 * OpenBLAS stays single-threaded, so it does not oversubscribe the cores. */
#include <cblas.h>
#include <math.h>
#include <string.h>

#include "ops/cpu/cpu.h"
#include "ops/cpu/attention_rows.h"
#include "ops/cpu/fastmath.h"
#include "vidit.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Tile sizes: a [BQ x BK] score tile and its probability tile stay in L1/L2
 * and each sgemm is large enough to amortise OpenBLAS's per-call cost. With
 * D = 64, 64x64 up to 256x512 measured within noise of each other. */
enum { ATT_BQ = 64, ATT_BK = 128 };

/* (batch x heads) pairs from which the backward runs one pass per pair:
 * enough items to keep a few threads busy (a training batch has dozens). */
enum { ATT_ONE_PASS = 6 };

static int att_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

static int att_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int att_min(int a, int b) { return a < b ? a : b; }

/* Scratch floats, rounded up to whole 64-byte lines so that per-thread
 * slices never share a cache line. */
static size_t att_round(size_t n) { return (n + 15) & ~(size_t)15; }

vd_status vd_cpu_attention_fwd(float *out, float *lse, const float *q, const float *k,
                               const float *v, const uint8_t *key_mask, int B, int Nq,
                               int Nk, int H, int D, int q_stride, int kv_stride,
                               float scale, vd_arena *ws) {
    if (B <= 0 || Nq <= 0 || H <= 0 || D <= 0) return VD_OK;
    if (!ws || Nk < 0 || q_stride < H * D || kv_stride < H * D) return VD_ERR_ARG;
    if (vd_get_matmul_precision() == VD_MATMUL_BF16) {
        vd_status st = vd_cpu_attention_fwd_bf16(out, lse, q, k, v, key_mask, B, Nq, Nk, H, D,
                                                  q_stride, kv_stride, scale, ws);
        if (st != VD_ERR_UNSUPPORTED) return st;
    }
    const size_t HD = (size_t)H * D;
    const int nqb = (Nq + ATT_BQ - 1) / ATT_BQ;
    const int nthreads = att_threads();
    const size_t per_thread = att_round((size_t)ATT_BQ * ATT_BK) + 2 * att_round(ATT_BQ);
    size_t mark = vd_arena_mark(ws);
    float *scratch = vd_arena_floats(ws, per_thread * (size_t)nthreads);
    if (!scratch) {
        vd_arena_reset(ws, mark);
        return VD_ERR_NOMEM;
    }
    const long items = (long)B * H * nqb;

#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
    for (long it = 0; it < items; it++) {
        const int b = (int)(it / ((long)H * nqb));
        const int h = (int)(it / nqb % H);
        const int i0 = (int)(it % nqb) * ATT_BQ;
        const int nq = att_min(ATT_BQ, Nq - i0);
        float *S = scratch + per_thread * (size_t)att_thread_id();
        float *m = S + att_round((size_t)ATT_BQ * ATT_BK);
        float *l = m + att_round(ATT_BQ);
        float *o = out + ((size_t)b * Nq + i0) * HD + (size_t)h * D;
        const float *qp = q + ((size_t)b * Nq + i0) * q_stride + (size_t)h * D;

        for (int r = 0; r < nq; r++) {
            m[r] = -INFINITY;
            l[r] = 0.0f;
            memset(o + r * HD, 0, (size_t)D * sizeof(float));
        }
        for (int j0 = 0; j0 < Nk; j0 += ATT_BK) {
            const int nk = att_min(ATT_BK, Nk - j0);
            const uint8_t *mk = key_mask ? key_mask + (size_t)b * Nk + j0 : NULL;
            if (!vd_att_any(mk, nk)) continue;
            const float *kp = k + ((size_t)b * Nk + j0) * kv_stride + (size_t)h * D;
            const float *vp = v + ((size_t)b * Nk + j0) * kv_stride + (size_t)h * D;
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, D, scale, qp, q_stride,
                        kp, kv_stride, 0.0f, S, nk);
            for (int r = 0; r < nq; r++) {
                float *s = S + (size_t)r * nk;
                if (mk)
                    for (int c = 0; c < nk; c++) s[c] = mk[c] ? s[c] : -INFINITY;
                vd_att_online_row(s, nk, &m[r], &l[r], o + r * HD, D);
            }
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, 1.0f, S, nk, vp,
                        kv_stride, 1.0f, o, (int)HD);
        }
        vd_att_finish_rows(o, HD, D, m, l, lse + ((size_t)b * H + h) * Nq + i0, nq);
    }
    vd_arena_reset(ws, mark);
    return VD_OK;
}

/* The geometry and inputs of one backward call, shared by both passes. */
typedef struct att_bwd {
    const float *dout, *q, *k, *v, *lse, *delta;
    const uint8_t *key_mask;
    int B, Nq, Nk, H, D, q_stride, kv_stride;
    float scale;
} att_bwd;

/* Recomputes one tile for query rows [i0, i0+nq) and keys [j0, j0+nk) of
 * (b, h): P = exp(scale q k^T - lse) into P, and, when dS is given,
 * dS = P * (dO v^T - delta) into dS. Masked keys and fully masked rows give
 * P = 0 and so contribute nothing. */
static void att_tile(const att_bwd *a, int b, int h, int i0, int nq, int j0, int nk, float *P,
                     float *dS) {
    const size_t HD = (size_t)a->H * a->D;
    const float *qp = a->q + ((size_t)b * a->Nq + i0) * a->q_stride + (size_t)h * a->D;
    const float *kp = a->k + ((size_t)b * a->Nk + j0) * a->kv_stride + (size_t)h * a->D;
    const float *vp = a->v + ((size_t)b * a->Nk + j0) * a->kv_stride + (size_t)h * a->D;
    const float *L = a->lse + ((size_t)b * a->H + h) * a->Nq + i0;
    const uint8_t *mk = a->key_mask ? a->key_mask + (size_t)b * a->Nk + j0 : NULL;

    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, a->D, a->scale, qp, a->q_stride,
                kp, a->kv_stride, 0.0f, P, nk);
    for (int r = 0; r < nq; r++) {
        float *p = P + (size_t)r * nk;
        const float lr = L[r];
        if (lr == -INFINITY) {
            memset(p, 0, (size_t)nk * sizeof(float));
            continue;
        }
        vd_att_exp(p, p, nk, 1.0f, lr);
        if (mk)
            for (int c = 0; c < nk; c++) p[c] = mk[c] ? p[c] : 0.0f;
    }
    if (!dS) return;
    const float *dop = a->dout + ((size_t)b * a->Nq + i0) * HD + (size_t)h * a->D;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nq, nk, a->D, 1.0f, dop, (int)HD, vp,
                a->kv_stride, 0.0f, dS, nk);
    const float *delta = a->delta + ((size_t)b * a->H + h) * a->Nq + i0;
    for (int r = 0; r < nq; r++) {
        float *ds = dS + (size_t)r * nk;
        const float *p = P + (size_t)r * nk;
        const float dr = delta[r];
        for (int c = 0; c < nk; c++) ds[c] = p[c] * (ds[c] - dr);
    }
}

/* dst rows (stride ld) += alpha * src rows (stride D). */
static void att_add_rows(float *dst, int ld, const float *src, int rows, int D, float alpha) {
    for (int r = 0; r < rows; r++) {
        float *d = dst + (size_t)r * ld;
        const float *s = src + (size_t)r * D;
        for (int c = 0; c < D; c++) d[c] += alpha * s[c];
    }
}

vd_status vd_cpu_attention_bwd(float *dq, float *dk, float *dv, const float *dout,
                               const float *q, const float *k, const float *v,
                               const float *out, const float *lse,
                               const uint8_t *key_mask, int B, int Nq, int Nk, int H,
                               int D, int q_stride, int kv_stride, float scale,
                               vd_arena *ws) {
    if (B <= 0 || Nq <= 0 || Nk <= 0 || H <= 0 || D <= 0) return VD_OK;
    if (!dq && !dk && !dv) return VD_OK;
    if (!ws || q_stride < H * D || kv_stride < H * D) return VD_ERR_ARG;
    const size_t HD = (size_t)H * D;
    const int nthreads = att_threads();
    const size_t tile = att_round((size_t)ATT_BQ * ATT_BK);
    const int acc_rows = ATT_BQ > ATT_BK ? ATT_BQ : ATT_BK;
    const size_t per_thread = 2 * tile + 2 * att_round((size_t)acc_rows * D);
    const size_t rows = (size_t)B * H * Nq;
    size_t mark = vd_arena_mark(ws);
    float *delta = vd_arena_floats(ws, rows);
    float *scratch = vd_arena_floats(ws, per_thread * (size_t)nthreads);
    if (!delta || !scratch) {
        vd_arena_reset(ws, mark);
        return VD_ERR_NOMEM;
    }

    /* delta_i = rowsum(dO_i * O_i), the softmax backward's correction. */
#pragma omp parallel for schedule(static) num_threads(nthreads)
    for (long row = 0; row < (long)rows; row++) {
        const long b = row / ((long)H * Nq), h = row / Nq % H, i = row % Nq;
        const float *o = out + ((size_t)b * Nq + i) * HD + (size_t)h * D;
        const float *g = dout + ((size_t)b * Nq + i) * HD + (size_t)h * D;
        float s = 0.0f;
        for (int d = 0; d < D; d++) s += o[d] * g[d];
        delta[row] = s;
    }

    if (vd_get_matmul_precision() == VD_MATMUL_BF16 && dq && dk && dv &&
        (long)B * H >= ATT_ONE_PASS) {
        vd_status st = vd_cpu_attention_bwd_bf16(dq, dk, dv, dout, q, k, v, lse, delta, key_mask,
                                                 B, Nq, Nk, H, D, q_stride, kv_stride, scale, ws);
        if (st != VD_ERR_UNSUPPORTED) {
            vd_arena_reset(ws, mark);
            return st;
        }
    }
    const att_bwd a = {dout, q, k, v, lse, delta, key_mask, B, Nq, Nk, H, D, q_stride,
                       kv_stride, scale};
    const int nqb = (Nq + ATT_BQ - 1) / ATT_BQ;
    const int nkb = (Nk + ATT_BK - 1) / ATT_BK;

    /* One pass: each item owns one (b, h) and every tile is computed once.
     * dQ's rows of the head accumulate in dq in place, key block by key
     * block, in a fixed order. */
    if (dq && dk && dv && (long)B * H >= ATT_ONE_PASS) {
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
        for (long it = 0; it < (long)B * H; it++) {
            const int b = (int)(it / H), h = (int)(it % H);
            float *P = scratch + per_thread * (size_t)att_thread_id();
            float *dS = P + tile;
            float *dK = dS + tile;
            float *dV = dK + att_round((size_t)acc_rows * D);
            for (int j0 = 0; j0 < Nk; j0 += ATT_BK) {
                const int nk = att_min(ATT_BK, Nk - j0);
                if (!vd_att_any(key_mask ? key_mask + (size_t)b * Nk + j0 : NULL, nk)) continue;
                const float *kp = k + ((size_t)b * Nk + j0) * kv_stride + (size_t)h * D;
                memset(dK, 0, (size_t)nk * D * sizeof(float));
                memset(dV, 0, (size_t)nk * D * sizeof(float));
                for (int i0 = 0; i0 < Nq; i0 += ATT_BQ) {
                    const int nq = att_min(ATT_BQ, Nq - i0);
                    att_tile(&a, b, h, i0, nq, j0, nk, P, dS);
                    const float *dop = dout + ((size_t)b * Nq + i0) * HD + (size_t)h * D;
                    const float *qp = q + ((size_t)b * Nq + i0) * q_stride + (size_t)h * D;
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, nq, 1.0f, P, nk,
                                dop, (int)HD, 1.0f, dV, D);
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, nq, 1.0f, dS, nk,
                                qp, q_stride, 1.0f, dK, D);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, scale, dS,
                                nk, kp, kv_stride, 1.0f,
                                dq + ((size_t)b * Nq + i0) * q_stride + (size_t)h * D, q_stride);
                }
                const size_t off = ((size_t)b * Nk + j0) * kv_stride + (size_t)h * D;
                att_add_rows(dk + off, kv_stride, dK, nk, D, scale);
                att_add_rows(dv + off, kv_stride, dV, nk, D, 1.0f);
            }
        }
        vd_arena_reset(ws, mark);
        return VD_OK;
    }

    /* Pass 1: dK, dV. Each item owns one key block of one (b, h). */
    if (dk || dv) {
        const long items = (long)B * H * nkb;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
        for (long it = 0; it < items; it++) {
            const int b = (int)(it / ((long)H * nkb));
            const int h = (int)(it / nkb % H);
            const int j0 = (int)(it % nkb) * ATT_BK;
            const int nk = att_min(ATT_BK, Nk - j0);
            if (!vd_att_any(key_mask ? key_mask + (size_t)b * Nk + j0 : NULL, nk)) continue;
            float *P = scratch + per_thread * (size_t)att_thread_id();
            float *dS = P + tile;
            float *dK = dS + tile;
            float *dV = dK + att_round((size_t)acc_rows * D);
            memset(dK, 0, (size_t)nk * D * sizeof(float));
            memset(dV, 0, (size_t)nk * D * sizeof(float));
            for (int i0 = 0; i0 < Nq; i0 += ATT_BQ) {
                const int nq = att_min(ATT_BQ, Nq - i0);
                att_tile(&a, b, h, i0, nq, j0, nk, P, dk ? dS : NULL);
                const float *dop = dout + ((size_t)b * Nq + i0) * HD + (size_t)h * D;
                const float *qp = q + ((size_t)b * Nq + i0) * q_stride + (size_t)h * D;
                if (dv)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, nq, 1.0f, P, nk,
                                dop, (int)HD, 1.0f, dV, D);
                if (dk)
                    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, nk, D, nq, 1.0f, dS, nk,
                                qp, q_stride, 1.0f, dK, D);
            }
            const size_t off = ((size_t)b * Nk + j0) * kv_stride + (size_t)h * D;
            if (dk) att_add_rows(dk + off, kv_stride, dK, nk, D, scale);
            if (dv) att_add_rows(dv + off, kv_stride, dV, nk, D, 1.0f);
        }
    }

    /* Pass 2: dQ. Each item owns one query block of one (b, h). */
    if (dq) {
        const long items = (long)B * H * nqb;
#pragma omp parallel for schedule(dynamic, 1) num_threads(nthreads)
        for (long it = 0; it < items; it++) {
            const int b = (int)(it / ((long)H * nqb));
            const int h = (int)(it / nqb % H);
            const int i0 = (int)(it % nqb) * ATT_BQ;
            const int nq = att_min(ATT_BQ, Nq - i0);
            float *P = scratch + per_thread * (size_t)att_thread_id();
            float *dS = P + tile;
            float *dQ = dS + tile;
            memset(dQ, 0, (size_t)nq * D * sizeof(float));
            for (int j0 = 0; j0 < Nk; j0 += ATT_BK) {
                const int nk = att_min(ATT_BK, Nk - j0);
                if (!vd_att_any(key_mask ? key_mask + (size_t)b * Nk + j0 : NULL, nk)) continue;
                att_tile(&a, b, h, i0, nq, j0, nk, P, dS);
                const float *kp = k + ((size_t)b * Nk + j0) * kv_stride + (size_t)h * D;
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nq, D, nk, 1.0f, dS, nk, kp,
                            kv_stride, 1.0f, dQ, D);
            }
            att_add_rows(dq + ((size_t)b * Nq + i0) * q_stride + (size_t)h * D, q_stride, dQ, nq,
                         D, scale);
        }
    }
    vd_arena_reset(ws, mark);
    return VD_OK;
}
