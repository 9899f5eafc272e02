/* The CPU backend's kernels: OpenBLAS for matrix products, OpenMP loops
 * for the rest. Each is documented where the interface is, in ops/ops.h;
 * backend.c gathers them into the vd_ops table. */
#ifndef VD_OPS_CPU_H
#define VD_OPS_CPU_H

#include "ops/ops.h"

/* C[M, N] = op(A) . op(B) + bias + beta C with A and B rounded to bf16 and
 * sums in fp32 (gemm_bf16.c), single-threaded; ta / tb 1 = transposed; bias
 * (N values, added to every row) may be NULL. Returns 0, or -1 when the
 * build has no AVX512-BF16, K is 0 or memory ran out: then nothing was
 * written and the caller uses sgemm. */
int vd_cpu_gemm_bf16(int ta, int tb, int M, int N, int K, const float *A, int lda, const float *B,
                     int ldb, float beta, float *C, int ldc, const float *bias);
int vd_cpu_gemm_bf16_available(void);
void vd_cpu_linear_fwd(float *y, const float *x, const float *w, const float *b, int M, int K, int N);
void vd_cpu_linear_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, int M, int K, int N);
void vd_cpu_layernorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int M, int C, float eps);
void vd_cpu_layernorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, const float *mean, const float *rstd, int M, int C);
void vd_cpu_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w, int M, int C, float eps);
void vd_cpu_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x, const float *w, const float *rstd, int M, int C);
void vd_cpu_modulate_fwd(float *y, const float *x, const float *shift, const float *scale, int B, int N, int C, int mod_stride);
void vd_cpu_modulate_bwd(float *dx, float *dshift, float *dscale, const float *dy, const float *x, const float *scale, int B, int N, int C, int mod_stride);
void vd_cpu_gate_residual_fwd(float *out, const float *x, const float *y, const float *gate, int B, int N, int C, int mod_stride);
void vd_cpu_gate_residual_bwd(float *dy, float *dgate, const float *dout, const float *y, const float *gate, int B, int N, int C, int mod_stride);
void vd_cpu_gelu_fwd(float *y, const float *x, size_t n);
void vd_cpu_gelu_bwd(float *dx, const float *dy, const float *x, size_t n);
void vd_cpu_silu_fwd(float *y, const float *x, size_t n);
void vd_cpu_silu_bwd(float *dx, const float *dy, const float *x, size_t n);
void vd_cpu_softmax_fwd(float *y, const float *x, int M, int C);
void vd_cpu_softmax_bwd(float *dx, const float *dy, const float *y, int M, int C);
vd_status vd_cpu_attention_fwd(float *out, float *lse, const float *q, const float *k, const float *v, const uint8_t *key_mask, int B, int Nq, int Nk, int H, int D, int q_stride, int kv_stride, float scale, vd_arena *ws);
/* attention_fwd with bf16 products (attention_bf16.c); VD_ERR_UNSUPPORTED
 * (nothing written) in builds without AVX512-BF16. */
vd_status vd_cpu_attention_fwd_bf16(float *out, float *lse, const float *q, const float *k, const float *v, const uint8_t *key_mask, int B, int Nq, int Nk, int H, int D, int q_stride, int kv_stride, float scale, vd_arena *ws);
/* The one-pass attention backward with bf16 products, given delta =
 * rowsum(dO * O) per (b, h, query); all of dq, dk, dv. VD_ERR_UNSUPPORTED
 * without AVX512-BF16. */
vd_status vd_cpu_attention_bwd_bf16(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *lse, const float *delta, const uint8_t *key_mask, int B, int Nq, int Nk, int H, int D, int q_stride, int kv_stride, float scale, vd_arena *ws);
vd_status vd_cpu_attention_bwd(float *dq, float *dk, float *dv, const float *dout, const float *q, const float *k, const float *v, const float *out, const float *lse, const uint8_t *key_mask, int B, int Nq, int Nk, int H, int D, int q_stride, int kv_stride, float scale, vd_arena *ws);
void vd_cpu_rope_apply(float *x, const float *cos_t, const float *sin_t, int B, int N, int H, int D, int stride, int inverse);
vd_status vd_cpu_conv3d_fwd(float *y, const float *x, const float *w, const float *b, const vd_conv3d_shape *s, vd_arena *ws);
vd_status vd_cpu_conv3d_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, const vd_conv3d_shape *s, vd_arena *ws);
void vd_cpu_groupnorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w, const float *b, int B, int C, int S, int G, float eps);
void vd_cpu_groupnorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x, const float *w, const float *mean, const float *rstd, int B, int C, int S, int G);
void vd_cpu_upsample_nearest_fwd(float *y, const float *x, int BC, int T, int H, int W, int ft, int fh, int fw);
void vd_cpu_upsample_nearest_bwd(float *dx, const float *dy, int BC, int T, int H, int W, int ft, int fh, int fw);
void vd_cpu_upsample_trilinear_fwd(float *y, const float *x, int BC, int T, int H, int W, int ft, int fh, int fw);
void vd_cpu_upsample_trilinear_bwd(float *dx, const float *dy, int BC, int T, int H, int W, int ft, int fh, int fw);
void vd_cpu_patchify(float *tokens, const float *x, int B, int C, int T, int H, int W, int pt, int ph, int pw, int accumulate);
void vd_cpu_unpatchify(float *x, const float *tokens, int B, int C, int T, int H, int W, int pt, int ph, int pw, int accumulate);
void vd_cpu_embedding_fwd(float *y, const int32_t *ids, const float *table, int N, int C);
void vd_cpu_embedding_bwd(float *dtable, const float *dy, const int32_t *ids, int N, int C);
void vd_cpu_timestep_embedding_fwd(float *y, const float *t, int B, int dim, float max_period);
void vd_cpu_timestep_embedding_bwd(float *dt, const float *dy, const float *t, int B, int dim, float max_period);
float vd_cpu_mse_fwd(const float *x, const float *target, size_t n);
void vd_cpu_mse_bwd(float *dx, const float *x, const float *target, size_t n, float scale);
float vd_cpu_l1_fwd(const float *x, const float *target, size_t n);
void vd_cpu_l1_bwd(float *dx, const float *x, const float *target, size_t n, float scale);
void vd_cpu_adamw_step(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1, float beta2, float eps, float wd, int step);
void vd_cpu_ema_update(float *ema, const float *p, size_t n, float decay);
void vd_cpu_add(float *y, const float *a, const float *b, size_t n);
void vd_cpu_axpy(float *y, float alpha, const float *x, size_t n);
void vd_cpu_scale(float *y, float alpha, size_t n);
void vd_cpu_zero(float *y, size_t n);
void vd_cpu_copy(float *y, const float *x, size_t n);

#endif
