/* The building blocks of the CPU backend's bf16 products (gemm_bf16.c),
 * shared with attention_bf16.c. They exist only in builds for AVX512-BF16
 * (__AVX512BF16__); callers check vd_cpu_gemm_bf16_available() too.
 *
 * A product's reduction dimension k is walked in pairs: one 32-bit word
 * holds bf16 x[k] (low half) and bf16 x[k + 1] (high half), so that
 * vdpbf16ps multiplies and adds both at once. Two layouts feed the
 * micro-kernel:
 *  - rows: row r's pairs one after another, rows `row` words apart (the
 *    left operand, broadcast one word at a time);
 *  - panels: `width` rows side by side, pair by pair (the right operand,
 *    loaded 32 words at a time), panel after panel. */
#ifndef VD_OPS_CPU_BF16_H
#define VD_OPS_CPU_BF16_H

#include <stddef.h>
#include <stdint.h>

enum { VD_BF16_MR = 12, VD_BF16_NR = 32 };

/* Rows [r0, r0 + rows) x k [p0, p0 + kc) of X (row-major, contiguous along
 * k) as rows of pairs; rows from `rows` up to a multiple of VD_BF16_MR are
 * zeros, and so is an odd k's missing partner. */
void vd_bf16_pack_rows(uint32_t *dst, size_t row, const float *X, int ld, int r0, int rows, int p0,
                       int kc);
/* The same block as panels of `width` rows, ceil(kc / 2) * width words
 * each. X(r, k) is X[r * ld + k] when k_contiguous, else X[k * ld + r]. */
void vd_bf16_pack_panels(uint32_t *dst, const float *X, int ld, int k_contiguous, int r0, int rows,
                         int p0, int kc, int width);
/* C[mr x nr] = beta C (or C + when accumulate) + A . B over kp pairs
 * (+ bias[j] on every row when bias is not NULL), with A as VD_BF16_MR rows
 * `row` words apart and B one VD_BF16_NR-wide panel; mr <= VD_BF16_MR,
 * nr <= VD_BF16_NR. */
void vd_bf16_kernel_rows(int kp, const uint32_t *a, size_t row, const uint32_t *b, float *C,
                         int ldc, int mr, int nr, int accumulate, float beta, const float *bias);

/* The same with A as one VD_BF16_MR-wide panel (what vd_bf16_pack_panels
 * makes with width VD_BF16_MR). */
void vd_bf16_kernel_panel(int kp, const uint32_t *a, const uint32_t *b, float *C, int ldc, int mr,
                          int nr, int accumulate, float beta, const float *bias);

#endif
