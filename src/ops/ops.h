/* Operators: forward and backward kernels behind one backend interface.
 *
 * Models call operators through a vd_ops table and never know which backend
 * runs them: the CPU backend (src/ops/cpu) today, a CUDA backend beside it
 * later, whose pointers are device pointers. Kernels take raw pointers and
 * sizes, as llm.c's layers do; shapes are checked once, where a model is
 * built, not on every call.
 *
 * Conventions, for every operator:
 *  - Layouts are row-major. Tokens are (B, N, C) with C fastest. Video is
 *    (B, C, T, H, W). A linear weight is (out, in), as in PyTorch.
 *  - Backward kernels ACCUMULATE (+=) into every gradient they produce, input
 *    gradients included, so that a tensor used twice (a residual) simply
 *    receives both contributions. Callers zero gradient buffers before a step.
 *  - A NULL gradient pointer means "not needed": the kernel skips it.
 *  - NULL weight/bias pointers mean "no affine" / "no bias" where documented.
 *  - Scratch memory comes from the caller's vd_arena (`ws`): a kernel takes
 *    what it needs and gives it back (resets to its entry mark) before it
 *    returns; kernels never call malloc. Kernels that use scratch return a
 *    vd_status: VD_ERR_NOMEM when the arena cannot grow (nothing written).
 *  - Results are bit-identical for any thread count.
 */
#ifndef VD_OPS_H
#define VD_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef struct vd_ops vd_ops;

/* Geometry of a 3D convolution over (B, C, T, H, W). */
typedef struct vd_conv3d_shape {
    int batch, c_in, c_out;
    int t_in, h_in, w_in;    /* input extent */
    int kt, kh, kw;          /* kernel */
    int st, sh, sw;          /* stride */
    int pt, ph, pw;          /* zero padding on each side */
    int causal;              /* 0, or a VD_CONV3D_CAUSAL_* mode: time is padded
                                with kt - 1 frames at the front and none at the
                                back, and pt is ignored */
} vd_conv3d_shape;

/* Causal time padding (vd_conv3d_shape.causal). ZEROS pads with zero frames;
 * REPLICATE with copies of frame 0, so that a still video gives the same
 * output at every frame (frame 0 included) and frame 0 still sees itself
 * alone. Backward adds the gradient that reaches the copies to frame 0's. */
enum { VD_CONV3D_CAUSAL_ZEROS = 1, VD_CONV3D_CAUSAL_REPLICATE = 2 };

/* Output extent of a convolution: t_out, h_out, w_out. */
void vd_conv3d_out_size(const vd_conv3d_shape *s, int *t_out, int *h_out, int *w_out);

struct vd_ops {
    const char *name; /* "cpu" */

    /* ---- linear: y[M, N] = x[M, K] . w[N, K]^T + b[N] (b may be NULL) */
    void (*linear_fwd)(float *y, const float *x, const float *w, const float *b,
                       int M, int K, int N);
    void (*linear_bwd)(float *dx, float *dw, float *db, const float *dy,
                       const float *x, const float *w, int M, int K, int N);

    /* ---- LayerNorm over the last dim C of x[M, C]. w, b may be NULL (no
     * affine). mean and rstd [M] are saved for backward. */
    void (*layernorm_fwd)(float *y, float *mean, float *rstd, const float *x,
                          const float *w, const float *b, int M, int C, float eps);
    void (*layernorm_bwd)(float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, const float *mean,
                          const float *rstd, int M, int C);

    /* ---- RMSNorm: y = x * rsqrt(mean(x^2) + eps) * w (w may be NULL) */
    void (*rmsnorm_fwd)(float *y, float *rstd, const float *x, const float *w,
                        int M, int C, float eps);
    void (*rmsnorm_bwd)(float *dx, float *dw, const float *dy, const float *x,
                        const float *w, const float *rstd, int M, int C);

    /* ---- adaLN modulation: y[b, n, c] = x[b, n, c] * (1 + scale[b, c]) +
     * shift[b, c], for x of (B, N, C). shift/scale rows may live inside a
     * wider modulation vector: mod_stride is the distance between batch rows
     * of shift and of scale (C when they are separate arrays). */
    void (*modulate_fwd)(float *y, const float *x, const float *shift,
                         const float *scale, int B, int N, int C, int mod_stride);
    void (*modulate_bwd)(float *dx, float *dshift, float *dscale, const float *dy,
                         const float *x, const float *scale, int B, int N, int C,
                         int mod_stride);

    /* ---- gated residual: out[b, n, c] = x[b, n, c] + gate[b, c] * y[b, n, c]
     * (x may be out; gate rows are mod_stride apart). Backward:
     * dy += gate * dout, dgate += sum_n y * dout (dx is dout). */
    void (*gate_residual_fwd)(float *out, const float *x, const float *y, const float *gate,
                              int B, int N, int C, int mod_stride);
    void (*gate_residual_bwd)(float *dy, float *dgate, const float *dout,
                              const float *y, const float *gate, int B, int N,
                              int C, int mod_stride);

    /* ---- pointwise activations over n elements */
    void (*gelu_fwd)(float *y, const float *x, size_t n); /* tanh form */
    void (*gelu_bwd)(float *dx, const float *dy, const float *x, size_t n);
    void (*silu_fwd)(float *y, const float *x, size_t n);
    void (*silu_bwd)(float *dx, const float *dy, const float *x, size_t n);

    /* ---- softmax over the last dim of x[M, C]; backward uses y */
    void (*softmax_fwd)(float *y, const float *x, int M, int C);
    void (*softmax_bwd)(float *dx, const float *dy, const float *y, int M, int C);

    /* ---- multi-head attention, flash style: tiles of keys with an online
     * softmax, so memory is O(tokens), never O(tokens^2).
     * q: (B, Nq, H, D) rows q_stride floats apart (q_stride >= H * D, so q
     * may sit inside a fused qkv buffer); k, v: (B, Nk, H, D), kv_stride
     * apart; out: (B, Nq, H * D) contiguous. key_mask: (B, Nk) bytes, 1 =
     * attend, 0 = padding; NULL = all keys. A query whose keys are all
     * masked outputs zeros. lse: (B, H, Nq), the log-sum-exp of the scaled
     * scores, saved for backward. scale is usually 1/sqrt(D). */
    vd_status (*attention_fwd)(float *out, float *lse, const float *q, const float *k,
                          const float *v, const uint8_t *key_mask, int B, int Nq,
                          int Nk, int H, int D, int q_stride, int kv_stride,
                          float scale, vd_arena *ws);
    /* dq has q's layout (q_stride), dk and dv have kv_stride. */
    vd_status (*attention_bwd)(float *dq, float *dk, float *dv, const float *dout,
                          const float *q, const float *k, const float *v,
                          const float *out, const float *lse,
                          const uint8_t *key_mask, int B, int Nq, int Nk, int H,
                          int D, int q_stride, int kv_stride, float scale,
                          vd_arena *ws);

    /* ---- 3D rotary position embedding, in place on x (B, N, H, D) with rows
     * `stride` floats apart. cos/sin: (N, D/2) tables from vd_rope3d_table.
     * Pairs are (x[2i], x[2i+1]). Backward rotates the gradient back
     * (in place on dx, same call with inverse = 1). */
    void (*rope_apply)(float *x, const float *cos_t, const float *sin_t, int B,
                       int N, int H, int D, int stride, int inverse);

    /* ---- 3D convolution. x (B, Cin, T, H, W), w (Cout, Cin, kt, kh, kw),
     * b (Cout) or NULL; y (B, Cout, To, Ho, Wo). */
    vd_status (*conv3d_fwd)(float *y, const float *x, const float *w, const float *b,
                       const vd_conv3d_shape *s, vd_arena *ws);
    vd_status (*conv3d_bwd)(float *dx, float *dw, float *db, const float *dy,
                       const float *x, const float *w, const vd_conv3d_shape *s,
                       vd_arena *ws);

    /* ---- GroupNorm over x (B, C, S) with S = T*H*W, G groups; w, b (C) may
     * be NULL. mean, rstd: (B, G). */
    void (*groupnorm_fwd)(float *y, float *mean, float *rstd, const float *x,
                          const float *w, const float *b, int B, int C, int S,
                          int G, float eps);
    void (*groupnorm_bwd)(float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, const float *mean,
                          const float *rstd, int B, int C, int S, int G);

    /* ---- up-sampling of x (B*C, T, H, W) by integer factors. Trilinear is
     * PyTorch's align_corners=False. */
    void (*upsample_nearest_fwd)(float *y, const float *x, int BC, int T, int H,
                                 int W, int ft, int fh, int fw);
    void (*upsample_nearest_bwd)(float *dx, const float *dy, int BC, int T, int H,
                                 int W, int ft, int fh, int fw);
    void (*upsample_trilinear_fwd)(float *y, const float *x, int BC, int T,
                                   int H, int W, int ft, int fh, int fw);
    void (*upsample_trilinear_bwd)(float *dx, const float *dy, int BC, int T,
                                   int H, int W, int ft, int fh, int fw);

    /* ---- spacetime patches. x (B, C, T, H, W) -> tokens (B, N, C*pt*ph*pw)
     * with N = (T/pt)(H/ph)(W/pw), token n = (t*Hp + h)*Wp + w, feature
     * f = ((c*pt + dt)*ph + dh)*pw + dw (the order of a Conv3d weight, so a
     * patch embedding equals a strided Conv3d). T, H, W must divide.
     * unpatchify is the inverse; each one's backward is the other (with +=). */
    void (*patchify)(float *tokens, const float *x, int B, int C, int T, int H,
                     int W, int pt, int ph, int pw, int accumulate);
    void (*unpatchify)(float *x, const float *tokens, int B, int C, int T, int H,
                       int W, int pt, int ph, int pw, int accumulate);

    /* ---- embedding lookup: y[n, :] = table[ids[n], :]. ids must be < V. */
    void (*embedding_fwd)(float *y, const int32_t *ids, const float *table, int N,
                          int C);
    void (*embedding_bwd)(float *dtable, const float *dy, const int32_t *ids, int N,
                          int C);

    /* ---- sinusoidal timestep embedding, DiT's: y[b] = [cos(t f_i), sin(t f_i)]
     * with f_i = exp(-ln(max_period) i / half), i < half = dim/2 (a zero
     * column is appended when dim is odd). Backward gives dt. */
    void (*timestep_embedding_fwd)(float *y, const float *t, int B, int dim,
                                   float max_period);
    void (*timestep_embedding_bwd)(float *dt, const float *dy, const float *t,
                                   int B, int dim, float max_period);

    /* ---- losses, mean over n elements. Forward returns the loss; backward
     * accumulates `scale` * dloss/dx into dx. */
    float (*mse_fwd)(const float *x, const float *target, size_t n);
    void (*mse_bwd)(float *dx, const float *x, const float *target, size_t n,
                    float scale);
    float (*l1_fwd)(const float *x, const float *target, size_t n);
    void (*l1_bwd)(float *dx, const float *x, const float *target, size_t n,
                   float scale);

    /* ---- AdamW with decoupled weight decay, PyTorch's definition:
     * p -= lr * (m_hat / (sqrt(v_hat) + eps) + wd * p), step counts from 1. */
    void (*adamw_step)(float *p, const float *g, float *m, float *v, size_t n,
                       float lr, float beta1, float beta2, float eps, float wd,
                       int step);
    /* ---- EMA of weights: ema = decay * ema + (1 - decay) * p */
    void (*ema_update)(float *ema, const float *p, size_t n, float decay);

    /* ---- small helpers used everywhere */
    void (*add)(float *y, const float *a, const float *b, size_t n); /* y = a + b */
    void (*axpy)(float *y, float alpha, const float *x, size_t n);   /* y += alpha x */
    void (*scale)(float *y, float alpha, size_t n);                  /* y *= alpha */
    /* y = 0 and y = x over the threads: a large activation or gradient
     * buffer cleared by one thread left the others waiting (3-4% of a
     * DiT training step at 2 threads). */
    void (*zero)(float *y, size_t n);
    void (*copy)(float *y, const float *x, size_t n);
};

/* The CPU backend (OpenBLAS + OpenMP). */
const vd_ops *vd_ops_cpu(void);

/* Fills cos/sin (N, D/2) for 3D RoPE over a (T, Hh, Ww) token grid, tokens
 * ordered (t, h, w) as patchify orders them. The D/2 frequency pairs are
 * split into time, height and width groups of dt, dh, dw pairs (dt + dh + dw
 * == D/2; vd_rope3d_split gives the usual split), each with frequencies
 * theta^(-i/group). Positions may start at offsets (t0, h0, w0). */
void vd_rope3d_split(int D, int *dt, int *dh, int *dw);
void vd_rope3d_table(float *cos_t, float *sin_t, int T, int Hh, int Ww, int D,
                     int dt, int dh, int dw, float theta, int t0, int h0, int w0);

/* Fills pe (N, D) with fixed sin-cos features of each token's place on a
 * (T, Hh, Ww) grid, tokens ordered (t, h, w): D is split into time, height
 * and width groups (height and width get floor(D / 3) rounded down to even,
 * time the rest); a group of d features at position p holds sin(p w_j) in
 * its first half and cos(p w_j) in its second, w_j = 10000^(-2j / d) (the
 * DiT / MAE embedding, one axis per group). Defined for any grid. */
void vd_pos3d_table(float *pe, int T, int Hh, int Ww, int D);

#endif
