/* Matrix products with bfloat16 inputs and float32 accumulation.
 *
 * AVX512-BF16's vdpbf16ps multiplies 32 pairs of bf16 values and adds each
 * pair's sum to one of 16 float lanes: 64 FLOPs per instruction where an
 * fp32 FMA does 32, so on a CPU that issues both at the same rate a product
 * can run up to twice as fast as sgemm. Inputs are rounded to bf16 (8 bits
 * of mantissa, nearest-even) as they are packed; sums stay in fp32, as
 * PyTorch's "medium" float32 matmul precision and mixed-precision training
 * on GPUs do.
 *
 * The layout is the classic one of GotoBLAS: a KC x NC block of B is packed
 * into NR-wide column panels and an MC x KC block of A is converted (into
 * rows when A is contiguous along k, else into MR-high panels), both as
 * (k, k+1) pairs (ops/cpu/bf16.h), and a 12 x 32 micro-kernel keeps its 24
 * accumulators in registers while it walks the pairs. The reduction is
 * always summed in the same order for a given shape, so results do not
 * depend on the number of threads (callers split only the output). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "ops/cpu/cpu.h"
#include "vidit.h"

/* Read by every linear layer; written by the caller before a run. */
static _Atomic int matmul_precision = VD_MATMUL_FP32;

vd_matmul_precision vd_get_matmul_precision(void) {
    return (vd_matmul_precision)matmul_precision;
}

vd_status vd_set_matmul_precision(vd_matmul_precision precision) {
    if (precision != VD_MATMUL_FP32 && precision != VD_MATMUL_BF16) return VD_ERR_ARG;
    if (precision == VD_MATMUL_BF16 && !vd_cpu_gemm_bf16_available()) return VD_ERR_UNSUPPORTED;
    matmul_precision = precision;
    return VD_OK;
}

#ifdef __AVX512BF16__
#include <immintrin.h>

#include "ops/cpu/bf16.h"

enum {
    MR = VD_BF16_MR, /* rows of the micro-kernel (24 accumulators of 16 floats) */
    NR = VD_BF16_NR, /* columns: two zmm registers */
    /* Reduction block (even): a B micro-panel is 32 KB, in L1. With 256 a
     * DiT step ran 6-7% slower at 1 thread (C is loaded and stored once
     * per block, and D = 384 took two); 384 to 768 measured alike. */
    KC = 512,
    MC = 96, /* A block: 96 x 512 bf16 = 96 KB, stays in L2 */
    NC = 512 /* B block: 512 x 512 bf16 = 512 KB, stays in L2 */
};

/* Round to the nearest bf16, ties to even; NaN stays a (quiet) NaN, and
 * denormals become zero of their sign, as the vector conversion
 * (vcvtne2ps2bf16) does, so that both paths give the same bits. Written
 * without branches so that the loops vectorise. */
static inline uint32_t bf16_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    const uint32_t rounded = (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
    const uint32_t quiet = (u >> 16) | 0x40u;
    const uint32_t zero = (u >> 16) & 0x8000u;
    return (u & 0x7f800000u) == 0 ? zero : (u & 0x7fffffffu) > 0x7f800000u ? quiet : rounded;
}

static inline uint32_t bf16_pair(float lo, float hi) { return bf16_bits(lo) | bf16_bits(hi) << 16; }

/* Transposes a 16 x 16 block of 32-bit words held in 16 registers: pairs of
 * rows interleave by words, then by double words, then by 128-bit lanes
 * twice. */
static inline void transpose16(__m512i r[16]) {
    __m512i t[16];
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_epi32(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_epi32(r[2 * i], r[2 * i + 1]);
    }
    for (int i = 0; i < 4; i++) {
        r[4 * i] = _mm512_unpacklo_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 1] = _mm512_unpackhi_epi64(t[4 * i], t[4 * i + 2]);
        r[4 * i + 2] = _mm512_unpacklo_epi64(t[4 * i + 1], t[4 * i + 3]);
        r[4 * i + 3] = _mm512_unpackhi_epi64(t[4 * i + 1], t[4 * i + 3]);
    }
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++) {
            t[8 * i + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0x88);
            t[8 * i + 4 + j] = _mm512_shuffle_i32x4(r[8 * i + j], r[8 * i + 4 + j], 0xdd);
        }
    for (int j = 0; j < 8; j++) {
        r[j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0x88);
        r[8 + j] = _mm512_shuffle_i32x4(t[j], t[8 + j], 0xdd);
    }
}

/* Packs rows [r0, r0 + rows) x k [p0, p0 + kc) of a matrix into panels of
 * `width` rows: panel q holds, for each pair p, `width` words (bf16 X[r][2p]
 * | bf16 X[r][2p + 1] << 16). X(r, k) is X[r * ld + k] (k_contiguous) or
 * X[k * ld + r]. Rows past `rows` and the odd k past kc are zeros. A's
 * blocks are packed with width MR, B's (as B^T) with width NR. */
void vd_bf16_pack_panels(uint32_t *dst, const float *X, int ld, int k_contiguous, int r0, int rows,
                         int p0, int kc, int width) {
    const int kp = (kc + 1) / 2, full = kc / 2;
    for (int q = 0; q < rows; q += width, dst += (size_t)kp * width) {
        const int n = rows - q < width ? rows - q : width;
        if (k_contiguous) {
            /* Each row's pairs are adjacent floats. Blocks of 16 rows x 16
             * pairs are converted row by row and transposed in registers;
             * what is left is converted 16 pairs at a time and spread. */
            int r = 0;
            for (; r + 16 <= n; r += 16) {
                const float *x = X + (size_t)(r0 + q + r) * ld + p0;
                int p = 0;
                for (; p + 16 <= full; p += 16) {
                    __m512i w[16];
                    for (int i = 0; i < 16; i++) {
                        const float *xi = x + (size_t)i * ld + 2 * p;
                        w[i] = (__m512i)_mm512_cvtne2ps_pbh(_mm512_loadu_ps(xi + 16), _mm512_loadu_ps(xi));
                    }
                    transpose16(w);
                    for (int j = 0; j < 16; j++) _mm512_storeu_si512(dst + (size_t)(p + j) * width + r, w[j]);
                }
                for (int i = 0; i < 16; i++) {
                    const float *xi = x + (size_t)i * ld;
                    for (int pp = p; pp < full; pp++) dst[(size_t)pp * width + r + i] = bf16_pair(xi[2 * pp], xi[2 * pp + 1]);
                    if (full < kp) dst[(size_t)full * width + r + i] = bf16_bits(xi[2 * full]);
                }
            }
            for (; r < n; r++) {
                const float *x = X + (size_t)(r0 + q + r) * ld + p0;
                int p = 0;
                for (; p + 16 <= full; p += 16) {
                    const __m512 lo = _mm512_loadu_ps(x + 2 * p), hi = _mm512_loadu_ps(x + 2 * p + 16);
                    uint32_t w[16];
                    _mm512_storeu_si512(w, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
                    for (int j = 0; j < 16; j++) dst[(size_t)(p + j) * width + r] = w[j];
                }
                for (; p < full; p++) dst[(size_t)p * width + r] = bf16_pair(x[2 * p], x[2 * p + 1]);
                if (full < kp) dst[(size_t)full * width + r] = bf16_bits(x[2 * full]);
            }
        } else {
            /* A pair spans two rows of X: read both along r, 16 at a time,
             * and interleave the halves into words. */
            for (int p = 0; p < full; p++) {
                const float *x0 = X + (size_t)(p0 + 2 * p) * ld + r0 + q, *x1 = x0 + ld;
                uint32_t *d = dst + (size_t)p * width;
                int r = 0;
                for (; r < n; r += 16) {
                    /* A's panels are 12 wide: the last block is masked. */
                    const __mmask16 m = n - r >= 16 ? 0xffff : (__mmask16)((1u << (n - r)) - 1);
                    const __m512 f0 = _mm512_maskz_loadu_ps(m, x0 + r), f1 = _mm512_maskz_loadu_ps(m, x1 + r);
                    const __m512i lo = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(f0));
                    const __m512i hi = _mm512_cvtepu16_epi32((__m256i)_mm512_cvtneps_pbh(f1));
                    _mm512_mask_storeu_epi32(d + r, m, _mm512_or_si512(lo, _mm512_slli_epi32(hi, 16)));
                }
            }
            if (full < kp) {
                const float *x0 = X + (size_t)(p0 + 2 * full) * ld + r0 + q;
                for (int r = 0; r < n; r++) dst[(size_t)full * width + r] = bf16_bits(x0[r]);
            }
        }
        if (n < width)
            for (int p = 0; p < kp; p++)
                memset(dst + (size_t)p * width + n, 0, (size_t)(width - n) * sizeof *dst);
    }
}

/* C[mr x nr] (= beta C, or += when accumulate) + A . b panel (+ bias[j]
 * on every row, when bias is given), where A's row i, pair p is
 * a[i * a_rs + p * a_ps]: a panel (a_rs 1, a_ps MR) or rows of pairs (a_rs
 * the row length, a_ps 1). Inlined into one function per layout, so that
 * the strides are constants where they can be. */
static inline __attribute__((always_inline)) void kernel(int kp, const uint32_t *a, size_t a_rs,
                                                         size_t a_ps, const uint32_t *b, float *C,
                                                         int ldc, int mr, int nr, int accumulate,
                                                         float beta, const float *bias) {
    __m512 acc[MR][2];
    for (int i = 0; i < MR; i++) acc[i][0] = acc[i][1] = _mm512_setzero_ps();
    /* C is read at the end when it accumulates: ask for it now, so that
     * its lines arrive while the sums run. */
    if (accumulate || beta != 0.0f)
        for (int i = 0; i < mr; i++) {
            _mm_prefetch((const char *)(C + (size_t)i * ldc), _MM_HINT_T0);
            _mm_prefetch((const char *)(C + (size_t)i * ldc + 16), _MM_HINT_T0);
        }
    for (int p = 0; p < kp; p++) {
        const __m512bh b0 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR);
        const __m512bh b1 = (__m512bh)_mm512_load_si512(b + (size_t)p * NR + 16);
        const uint32_t *ap = a + (size_t)p * a_ps;
#pragma GCC unroll 12
        for (int i = 0; i < MR; i++) {
            const __m512bh ai = (__m512bh)_mm512_set1_epi32((int)ap[i * a_rs]);
            acc[i][0] = _mm512_dpbf16_ps(acc[i][0], ai, b0);
            acc[i][1] = _mm512_dpbf16_ps(acc[i][1], ai, b1);
        }
    }
    const float keep = accumulate ? 1.0f : beta;
    if (mr == MR && nr == NR) {
        for (int i = 0; i < MR; i++) {
            float *c = C + (size_t)i * ldc;
            for (int h = 0; h < 2; h++) {
                __m512 v = acc[i][h];
                if (bias) v = _mm512_add_ps(v, _mm512_loadu_ps(bias + 16 * h));
                if (keep != 0.0f) v = _mm512_fmadd_ps(_mm512_set1_ps(keep), _mm512_loadu_ps(c + 16 * h), v);
                _mm512_storeu_ps(c + 16 * h, v);
            }
        }
        return;
    }
    float tile[MR][NR];
    for (int i = 0; i < MR; i++) {
        _mm512_storeu_ps(tile[i], acc[i][0]);
        _mm512_storeu_ps(tile[i] + 16, acc[i][1]);
    }
    for (int i = 0; i < mr; i++) {
        float *c = C + (size_t)i * ldc;
        for (int j = 0; j < nr; j++) {
            const float t = bias ? tile[i][j] + bias[j] : tile[i][j];
            c[j] = keep != 0.0f ? keep * c[j] + t : t;
        }
    }
}

void vd_bf16_kernel_panel(int kp, const uint32_t *a, const uint32_t *b, float *C, int ldc, int mr,
                          int nr, int accumulate, float beta, const float *bias) {
    kernel(kp, a, 1, MR, b, C, ldc, mr, nr, accumulate, beta, bias);
}

void vd_bf16_kernel_rows(int kp, const uint32_t *a, size_t row, const uint32_t *b, float *C,
                         int ldc, int mr, int nr, int accumulate, float beta, const float *bias) {
    kernel(kp, a, row, 1, b, C, ldc, mr, nr, accumulate, beta, bias);
}

/* Rows [r0, r0 + rows) x k [p0, p0 + kc) of a matrix contiguous along k into
 * rows of `row` words of pairs, in order: a plain conversion, 16 pairs at a
 * time. Rows from `rows` up to a whole MR are zeros. */
void vd_bf16_pack_rows(uint32_t *dst, size_t row, const float *X, int ld, int r0, int rows, int p0,
                       int kc) {
    const int kp = (kc + 1) / 2, full = kc / 2, padded = (rows + MR - 1) / MR * MR;
    for (int r = 0; r < padded; r++) {
        uint32_t *d = dst + (size_t)r * row;
        if (r >= rows) {
            memset(d, 0, (size_t)kp * sizeof *d);
            continue;
        }
        const float *x = X + (size_t)(r0 + r) * ld + p0;
        int p = 0;
        for (; p + 16 <= full; p += 16) {
            const __m512 lo = _mm512_loadu_ps(x + 2 * p), hi = _mm512_loadu_ps(x + 2 * p + 16);
            _mm512_storeu_si512(d + p, (__m512i)_mm512_cvtne2ps_pbh(hi, lo));
        }
        for (; p < full; p++) d[p] = bf16_pair(x[2 * p], x[2 * p + 1]);
        if (full < kp) d[full] = bf16_bits(x[2 * full]);
    }
}

/* The build targets AVX512-BF16 (-march=native on such a CPU); check the CPU
 * too, so that a binary copied to an older one keeps fp32. */
int vd_cpu_gemm_bf16_available(void) {
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512bf16");
}

int vd_cpu_gemm_bf16(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc, const float *bias) {
    if (M <= 0 || N <= 0) return 0;
    if (K <= 0) return -1; /* nothing to multiply: the caller's sgemm scales C */
    const int nc_max = N < NC ? (N + NR - 1) / NR * NR : NC;
    const int mc_max = M < MC ? (M + MR - 1) / MR * MR : MC;
    const int kc_max = K < KC ? (K + 1) / 2 * 2 : KC;
    /* Rows of A's pairs start on 64-byte lines. */
    const size_t row = ((size_t)kc_max / 2 + 15) / 16 * 16;
    size_t a_bytes = (size_t)mc_max * row * 4, b_bytes = (size_t)nc_max * kc_max * 2;
    a_bytes = (a_bytes + 63) & ~(size_t)63;
    b_bytes = (b_bytes + 63) & ~(size_t)63;
    uint32_t *ap = aligned_alloc(64, a_bytes), *bp = aligned_alloc(64, b_bytes);
    if (!ap || !bp) {
        free(ap);
        free(bp);
        return -1;
    }
    for (int j0 = 0; j0 < N; j0 += NC) {
        const int nc = N - j0 < NC ? N - j0 : NC;
        for (int p0 = 0; p0 < K; p0 += KC) {
            const int kc = K - p0 < KC ? K - p0 : KC, kp = (kc + 1) / 2;
            /* B(k, n) is B^T(n, k): contiguous along k when B is transposed. */
            vd_bf16_pack_panels(bp, B, ldb, tb, j0, nc, p0, kc, NR);
            for (int i0 = 0; i0 < M; i0 += MC) {
                const int mc = M - i0 < MC ? M - i0 : MC;
                /* A contiguous along k is only converted (the kernel
                 * broadcasts from its rows); A transposed is packed. */
                if (!ta) vd_bf16_pack_rows(ap, row, A, lda, i0, mc, p0, kc);
                else vd_bf16_pack_panels(ap, A, lda, 0, i0, mc, p0, kc, MR);
                for (int jr = 0; jr < nc; jr += NR)
                    for (int ir = 0; ir < mc; ir += MR) {
                        const uint32_t *bj = bp + (size_t)jr * kp;
                        float *c = C + (size_t)(i0 + ir) * ldc + j0 + jr;
                        const int mr = mc - ir < MR ? mc - ir : MR, nr = nc - jr < NR ? nc - jr : NR;
                        /* The bias goes in with the first block's sums. */
                        const float *bj_bias = bias && p0 == 0 ? bias + j0 + jr : NULL;
                        if (!ta) vd_bf16_kernel_rows(kp, ap + (size_t)ir * row, row, bj, c, ldc, mr, nr, p0 > 0, beta, bj_bias);
                        else vd_bf16_kernel_panel(kp, ap + (size_t)ir * kp, bj, c, ldc, mr, nr, p0 > 0, beta, bj_bias);
                    }
            }
        }
    }
    free(ap);
    free(bp);
    return 0;
}

#else /* no AVX512-BF16 at compile time: callers keep sgemm */

int vd_cpu_gemm_bf16_available(void) { return 0; }

int vd_cpu_gemm_bf16(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc, const float *bias) {
    (void)ta, (void)tb, (void)M, (void)N, (void)K, (void)A, (void)lda, (void)B, (void)ldb;
    (void)beta, (void)C, (void)ldc, (void)bias;
    return -1;
}

#endif
