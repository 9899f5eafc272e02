/* Attention's forward pass with bf16 products (vd_set_matmul_precision
 * (VD_MATMUL_BF16)): the flash-style walk of attention.c, with both
 * products of a tile, S = Q K^T and O += P V, on the bf16 micro-kernel of
 * gemm_bf16.c. Q, K, V and the probabilities P are rounded to bf16; scores,
 * the online softmax and O stay fp32, as in FlashAttention's bf16 kernels.
 *
 * K and V are packed once per call, per (batch, head), into arena scratch:
 * K as panels of 32 keys (pairs along the head dimension), V as panels of 32
 * head channels (pairs along keys), so that every tile reads them in place.
 * Work items own their query rows as in attention.c, so the results are
 * bit-identical for any thread count. The backward pass (below) does the
 * same for its five products per tile, one (batch, head) per work item. */
#include <math.h>
#include <string.h>

#include "ops/cpu/cpu.h"
#include "ops/cpu/attention_rows.h"
#include "ops/cpu/fastmath.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#ifdef __AVX512BF16__
#include "ops/cpu/bf16.h"

/* 48 query rows (4 micro-kernel rows of 12) by 128 keys per tile. */
enum { BQ = 4 * VD_BF16_MR, BK = 128 };

static size_t round16(size_t n) { return (n + 15) & ~(size_t)15; }

vd_status vd_cpu_attention_fwd_bf16(float *out, float *lse, const float *q, const float *k,
                                    const float *v, const uint8_t *key_mask, int B, int Nq,
                                    int Nk, int H, int D, int q_stride, int kv_stride,
                                    float scale, vd_arena *ws) {
    const size_t HD = (size_t)H * D;
    const int dp = (D + 1) / 2;             /* pairs along the head dimension */
    const int np = (Nk + 1) / 2;            /* pairs along the keys */
    const int kpanels = (Nk + VD_BF16_NR - 1) / VD_BF16_NR;
    const int vpanels = (D + VD_BF16_NR - 1) / VD_BF16_NR;
    const size_t k_words = (size_t)kpanels * dp * VD_BF16_NR; /* per (b, h) */
    const size_t v_words = (size_t)vpanels * np * VD_BF16_NR;
    const size_t q_row = round16((size_t)dp), p_row = round16(BK / 2);
#ifdef _OPENMP
    const int nthreads = omp_get_max_threads();
#else
    const int nthreads = 1;
#endif
    const size_t per_thread = (size_t)BQ * q_row + (size_t)BQ * p_row + round16((size_t)BQ * BK) +
                              2 * round16(BQ);
    size_t mark = vd_arena_mark(ws);
    uint32_t *kp = vd_arena_alloc(ws, (size_t)B * H * k_words * sizeof(uint32_t));
    uint32_t *vp = vd_arena_alloc(ws, (size_t)B * H * v_words * sizeof(uint32_t));
    float *scratch = vd_arena_floats(ws, per_thread * (size_t)nthreads);
    if (!kp || !vp || !scratch) {
        vd_arena_reset(ws, mark);
        return VD_ERR_NOMEM;
    }

#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * H; bh++) {
        const int b = bh / H, h = bh % H;
        const float *kb = k + (size_t)b * Nk * kv_stride + (size_t)h * D;
        const float *vb = v + (size_t)b * Nk * kv_stride + (size_t)h * D;
        /* K^T(d, key) = K[key][d]: contiguous along d, the reduction. */
        vd_bf16_pack_panels(kp + bh * k_words, kb, kv_stride, 1, 0, Nk, 0, D, VD_BF16_NR);
        /* V(key, d): pairs of keys come from two rows. */
        vd_bf16_pack_panels(vp + bh * v_words, vb, kv_stride, 0, 0, D, 0, Nk, VD_BF16_NR);
    }

    const int nqb = (Nq + BQ - 1) / BQ;
    const long items = (long)B * H * nqb;
#pragma omp parallel for schedule(dynamic, 1)
    for (long it = 0; it < items; it++) {
        const int b = (int)(it / ((long)H * nqb)), h = (int)(it / nqb % H);
        const int bh = b * H + h, i0 = (int)(it % nqb) * BQ;
        const int nq = Nq - i0 < BQ ? Nq - i0 : BQ;
#ifdef _OPENMP
        float *base = scratch + per_thread * (size_t)omp_get_thread_num();
#else
        float *base = scratch;
#endif
        uint32_t *q16 = (uint32_t *)base;
        uint32_t *p16 = q16 + (size_t)BQ * q_row;
        float *S = (float *)(p16 + (size_t)BQ * p_row);
        float *m = S + round16((size_t)BQ * BK), *l = m + round16(BQ);
        float *o = out + ((size_t)b * Nq + i0) * HD + (size_t)h * D;
        const float *qp = q + ((size_t)b * Nq + i0) * q_stride + (size_t)h * D;

        vd_bf16_pack_rows(q16, q_row, qp, q_stride, 0, nq, 0, D);
        for (int r = 0; r < nq; r++) {
            m[r] = -INFINITY;
            l[r] = 0.0f;
            memset(o + r * HD, 0, (size_t)D * sizeof(float));
        }
        for (int j0 = 0; j0 < Nk; j0 += BK) {
            const int nk = Nk - j0 < BK ? Nk - j0 : BK;
            const uint8_t *mk = key_mask ? key_mask + (size_t)b * Nk + j0 : NULL;
            if (!vd_att_any(mk, nk)) continue;
            /* S = Q K^T for this block, 32 keys per panel. */
            for (int jr = 0; jr < nk; jr += VD_BF16_NR) {
                const uint32_t *kpanel = kp + bh * k_words + (size_t)((j0 + jr) / VD_BF16_NR) * dp * VD_BF16_NR;
                const int nr = nk - jr < VD_BF16_NR ? nk - jr : VD_BF16_NR;
                for (int ir = 0; ir < nq; ir += VD_BF16_MR)
                    vd_bf16_kernel_rows(dp, q16 + (size_t)ir * q_row, q_row, kpanel, S + (size_t)ir * nk + jr,
                                        nk, nq - ir < VD_BF16_MR ? nq - ir : VD_BF16_MR, nr, 0, 0.0f, NULL);
            }
            /* The online softmax, as in attention.c (scale applied here). */
            for (int r = 0; r < nq; r++) {
                float *s = S + (size_t)r * nk;
                if (!mk) {
                    vd_att_online_row_scaled(s, nk, scale, &m[r], &l[r], o + r * HD, D);
                    continue;
                }
                for (int c = 0; c < nk; c++) s[c] = mk[c] ? s[c] * scale : -INFINITY;
                vd_att_online_row(s, nk, &m[r], &l[r], o + r * HD, D);
            }
            /* O += P V: P as rows of key pairs, V's panels from pair j0 / 2
             * (BK is even, so a block starts on a pair). */
            vd_bf16_pack_rows(p16, p_row, S, nk, 0, nq, 0, nk);
            for (int jd = 0; jd < D; jd += VD_BF16_NR) {
                const uint32_t *vpanel = vp + bh * v_words + (size_t)(jd / VD_BF16_NR) * np * VD_BF16_NR +
                                         (size_t)(j0 / 2) * VD_BF16_NR;
                const int nr = D - jd < VD_BF16_NR ? D - jd : VD_BF16_NR;
                for (int ir = 0; ir < nq; ir += VD_BF16_MR)
                    vd_bf16_kernel_rows((nk + 1) / 2, p16 + (size_t)ir * p_row, p_row, vpanel,
                                        o + (size_t)ir * HD + jd, (int)HD,
                                        nq - ir < VD_BF16_MR ? nq - ir : VD_BF16_MR, nr, 1, 1.0f, NULL);
            }
        }
        vd_att_finish_rows(o, HD, D, m, l, lse + ((size_t)b * H + h) * Nq + i0, nq);
    }
    vd_arena_reset(ws, mark);
    return VD_OK;
}

/* The backward pass in bf16, one work item per (batch, head) as in
 * attention.c's one-pass backward: every operand of the head is converted
 * once, in the layouts its products read, and each tile computes
 *   S = Q K^T, P = exp(scale S - lse), dP = dO V^T, dS = P (dP - delta),
 *   dV += P^T dO, dK += dS^T Q, dQ += dS K
 * with fp32 sums. Only that layout of the work (all three gradients, at
 * least ATT_ONE_PASS (batch x heads) pairs: the caller checks) is done
 * here. */
vd_status vd_cpu_attention_bwd_bf16(float *dq, float *dk, float *dv, const float *dout,
                                    const float *q, const float *k, const float *v,
                                    const float *lse, const float *delta,
                                    const uint8_t *key_mask, int B, int Nq, int Nk, int H, int D,
                                    int q_stride, int kv_stride, float scale, vd_arena *ws) {
    const size_t HD = (size_t)H * D;
    const int MR = VD_BF16_MR, NR = VD_BF16_NR;
    const int dp = (D + 1) / 2, qpairs = (Nq + 1) / 2, kpairs = (Nk + 1) / 2;
    const int dpanels = (D + NR - 1) / NR;
    const size_t d_row = round16((size_t)dp);
    const size_t nq_pad = (size_t)(Nq + MR - 1) / MR * MR;
    /* Per-head layouts (words): Q and dO as rows of D-pairs; K and V as
     * panels of 32 keys over D-pairs; Q and dO as panels of 32 channels
     * over query pairs; K as panels of 32 channels over key pairs. */
    const size_t w_qrows = nq_pad * d_row;
    const size_t w_kpan = (size_t)((Nk + NR - 1) / NR) * dp * NR;
    const size_t w_qpan = (size_t)dpanels * qpairs * NR;
    const size_t w_kpairs = (size_t)dpanels * kpairs * NR;
    const size_t tile_f = round16((size_t)BQ * BK);
    const size_t a_panels = (size_t)((BK + MR - 1) / MR) * (BQ / 2) * MR; /* P^T / dS^T panels */
    const size_t per_thread = 2 * w_qrows + 2 * w_kpan + 2 * w_qpan + w_kpairs /* words */
                              + 2 * a_panels + (size_t)BQ * round16(BK / 2)
                              + 3 * tile_f + 2 * round16((size_t)BK * D) + round16((size_t)Nq * D);
#ifdef _OPENMP
    const int nthreads = omp_get_max_threads();
#else
    const int nthreads = 1;
#endif
    size_t mark = vd_arena_mark(ws);
    uint32_t *scratch = vd_arena_alloc(ws, per_thread * (size_t)nthreads * 4);
    if (!scratch) {
        vd_arena_reset(ws, mark);
        return VD_ERR_NOMEM;
    }

#pragma omp parallel for schedule(dynamic, 1)
    for (long it = 0; it < (long)B * H; it++) {
        const int b = (int)(it / H), h = (int)(it % H);
#ifdef _OPENMP
        uint32_t *w = scratch + per_thread * (size_t)omp_get_thread_num();
#else
        uint32_t *w = scratch;
#endif
        uint32_t *q_rows = w, *do_rows = q_rows + w_qrows;
        uint32_t *k_pan = do_rows + w_qrows, *v_pan = k_pan + w_kpan;
        uint32_t *q_pan = v_pan + w_kpan, *do_pan = q_pan + w_qpan;
        uint32_t *k_pairs = do_pan + w_qpan;
        uint32_t *pt_pan = k_pairs + w_kpairs, *dst_pan = pt_pan + a_panels;
        uint32_t *ds_rows = dst_pan + a_panels;
        float *S = (float *)(ds_rows + (size_t)BQ * round16(BK / 2));
        float *dP = S + tile_f, *P = dP + tile_f;
        float *dK = P + tile_f, *dV = dK + round16((size_t)BK * D);
        float *dQ = dV + round16((size_t)BK * D);

        const float *qh = q + (size_t)b * Nq * q_stride + (size_t)h * D;
        const float *kh = k + (size_t)b * Nk * kv_stride + (size_t)h * D;
        const float *vh = v + (size_t)b * Nk * kv_stride + (size_t)h * D;
        const float *doh = dout + (size_t)b * Nq * HD + (size_t)h * D;
        const float *L = lse + ((size_t)b * H + h) * Nq;
        const float *dl = delta + ((size_t)b * H + h) * Nq;
        const uint8_t *mask = key_mask ? key_mask + (size_t)b * Nk : NULL;
        vd_bf16_pack_rows(q_rows, d_row, qh, q_stride, 0, Nq, 0, D);
        vd_bf16_pack_rows(do_rows, d_row, doh, (int)HD, 0, Nq, 0, D);
        vd_bf16_pack_panels(k_pan, kh, kv_stride, 1, 0, Nk, 0, D, NR);
        vd_bf16_pack_panels(v_pan, vh, kv_stride, 1, 0, Nk, 0, D, NR);
        vd_bf16_pack_panels(q_pan, qh, q_stride, 0, 0, D, 0, Nq, NR);
        vd_bf16_pack_panels(do_pan, doh, (int)HD, 0, 0, D, 0, Nq, NR);
        vd_bf16_pack_panels(k_pairs, kh, kv_stride, 0, 0, D, 0, Nk, NR);
        memset(dQ, 0, (size_t)Nq * D * sizeof(float));

        for (int j0 = 0; j0 < Nk; j0 += BK) {
            const int nk = Nk - j0 < BK ? Nk - j0 : BK;
            const uint8_t *mk = mask ? mask + j0 : NULL;
            if (!vd_att_any(mk, nk)) continue;
            memset(dK, 0, (size_t)nk * D * sizeof(float));
            memset(dV, 0, (size_t)nk * D * sizeof(float));
            for (int i0 = 0; i0 < Nq; i0 += BQ) {
                const int nq = Nq - i0 < BQ ? Nq - i0 : BQ;
                /* S and dP, 32 keys per panel. */
                for (int jr = 0; jr < nk; jr += NR) {
                    const size_t panel = (size_t)((j0 + jr) / NR) * dp * NR;
                    const int nr = nk - jr < NR ? nk - jr : NR;
                    for (int ir = 0; ir < nq; ir += MR) {
                        const int mr = nq - ir < MR ? nq - ir : MR;
                        const size_t arow = (size_t)(i0 + ir) * d_row;
                        vd_bf16_kernel_rows(dp, q_rows + arow, d_row, k_pan + panel,
                                            S + (size_t)ir * nk + jr, nk, mr, nr, 0, 0.0f, NULL);
                        vd_bf16_kernel_rows(dp, do_rows + arow, d_row, v_pan + panel,
                                            dP + (size_t)ir * nk + jr, nk, mr, nr, 0, 0.0f, NULL);
                    }
                }
                for (int r = 0; r < nq; r++) {
                    float *p = P + (size_t)r * nk, *ds = dP + (size_t)r * nk;
                    const float *sr = S + (size_t)r * nk;
                    const float lr = L[i0 + r], dr = dl[i0 + r];
                    if (lr == -INFINITY) {
                        memset(p, 0, (size_t)nk * sizeof(float));
                        memset(ds, 0, (size_t)nk * sizeof(float));
                        continue;
                    }
                    vd_att_exp(p, sr, nk, scale, lr);
                    if (mk)
                        for (int c = 0; c < nk; c++) p[c] = mk[c] ? p[c] : 0.0f;
                    for (int c = 0; c < nk; c++) ds[c] = p[c] * (ds[c] - dr);
                }
                /* dV += P^T dO and dK += dS^T Q: P^T and dS^T as panels of
                 * 12 keys over query pairs; dO and Q from query pair i0 / 2
                 * (BQ is even, so a block starts on a pair). */
                vd_bf16_pack_panels(pt_pan, P, nk, 0, 0, nk, 0, nq, MR);
                vd_bf16_pack_panels(dst_pan, dP, nk, 0, 0, nk, 0, nq, MR);
                const int qp = (nq + 1) / 2;
                for (int jd = 0; jd < D; jd += NR) {
                    const size_t off = (size_t)(jd / NR) * qpairs * NR + (size_t)(i0 / 2) * NR;
                    const int nr = D - jd < NR ? D - jd : NR;
                    for (int kr = 0; kr < nk; kr += MR) {
                        const int mr = nk - kr < MR ? nk - kr : MR;
                        const size_t apanel = (size_t)(kr / MR) * qp * MR;
                        vd_bf16_kernel_panel(qp, pt_pan + apanel, do_pan + off,
                                             dV + (size_t)kr * D + jd, D, mr, nr, 1, 1.0f, NULL);
                        vd_bf16_kernel_panel(qp, dst_pan + apanel, q_pan + off,
                                             dK + (size_t)kr * D + jd, D, mr, nr, 1, 1.0f, NULL);
                    }
                }
                /* dQ += dS K: dS as rows of key pairs, K from key pair j0 / 2. */
                const size_t ds_row = round16(BK / 2);
                vd_bf16_pack_rows(ds_rows, ds_row, dP, nk, 0, nq, 0, nk);
                for (int jd = 0; jd < D; jd += NR) {
                    const size_t off = (size_t)(jd / NR) * kpairs * NR + (size_t)(j0 / 2) * NR;
                    const int nr = D - jd < NR ? D - jd : NR;
                    for (int ir = 0; ir < nq; ir += MR)
                        vd_bf16_kernel_rows((nk + 1) / 2, ds_rows + (size_t)ir * ds_row, ds_row,
                                            k_pairs + off, dQ + (size_t)(i0 + ir) * D + jd, D,
                                            nq - ir < MR ? nq - ir : MR, nr, 1, 1.0f, NULL);
                }
            }
            for (int r = 0; r < nk; r++) {
                float *gk = dk + ((size_t)b * Nk + j0 + r) * kv_stride + (size_t)h * D;
                float *gv = dv + ((size_t)b * Nk + j0 + r) * kv_stride + (size_t)h * D;
                for (int d = 0; d < D; d++) {
                    gk[d] += scale * dK[(size_t)r * D + d];
                    gv[d] += dV[(size_t)r * D + d];
                }
            }
        }
        for (int r = 0; r < Nq; r++) {
            float *g = dq + ((size_t)b * Nq + r) * q_stride + (size_t)h * D;
            for (int d = 0; d < D; d++) g[d] += scale * dQ[(size_t)r * D + d];
        }
    }
    vd_arena_reset(ws, mark);
    return VD_OK;
}

#else

vd_status vd_cpu_attention_fwd_bf16(float *out, float *lse, const float *q, const float *k,
                                    const float *v, const uint8_t *key_mask, int B, int Nq,
                                    int Nk, int H, int D, int q_stride, int kv_stride,
                                    float scale, vd_arena *ws) {
    (void)out, (void)lse, (void)q, (void)k, (void)v, (void)key_mask, (void)B, (void)Nq;
    (void)Nk, (void)H, (void)D, (void)q_stride, (void)kv_stride, (void)scale, (void)ws;
    return VD_ERR_UNSUPPORTED;
}

vd_status vd_cpu_attention_bwd_bf16(float *dq, float *dk, float *dv, const float *dout,
                                    const float *q, const float *k, const float *v,
                                    const float *lse, const float *delta,
                                    const uint8_t *key_mask, int B, int Nq, int Nk, int H, int D,
                                    int q_stride, int kv_stride, float scale, vd_arena *ws) {
    (void)dq, (void)dk, (void)dv, (void)dout, (void)q, (void)k, (void)v, (void)lse, (void)delta;
    (void)key_mask, (void)B, (void)Nq, (void)Nk, (void)H, (void)D, (void)q_stride;
    (void)kv_stride, (void)scale, (void)ws;
    return VD_ERR_UNSUPPORTED;
}

#endif
