/* Multi-head attention layers over token rows (B, N, dim), on the flash
 * attention kernel of the operator table.
 *
 * Self-attention: a fused qkv projection `name`.qkv (dim -> 3 dim, laid out
 * [q | k | v], each (heads, head_dim)), optional rotary embedding of q and
 * k from a (N, head_dim/2) cos/sin table (vd_rope3d_table for spacetime
 * tokens), an optional key padding mask, and an out projection `name`.out.
 *
 * Cross-attention: q = `name`.q(x), [k | v] = `name`.kv(ctx) (ctx_dim ->
 * 2 dim), keys masked by the context's padding mask (a query whose keys
 * are all masked outputs zeros, so an empty prompt contributes nothing),
 * and `name`.out.
 *
 * Scores are scaled by 1/sqrt(head_dim). The forward saves what the
 * backward needs in the arena (vd_*_attn_act); the backward returns its own
 * scratch to the arena before it ends. */
#ifndef VD_NN_ATTENTION_H
#define VD_NN_ATTENTION_H

#include <stdint.h>

#include "core/arena.h"
#include "nn/linear.h"

typedef struct vd_self_attn {
    int dim, heads, head_dim;
    vd_linear qkv, out;
} vd_self_attn;

typedef struct vd_self_attn_act {
    const float *x;                 /* the input (caller's, kept alive) */
    const uint8_t *mask;            /* (B, N) or NULL */
    const float *rope_cos, *rope_sin; /* (N, head_dim/2) or NULL */
    float *qkv;                     /* (B, N, 3 dim), q and k after RoPE */
    float *o;                       /* attention output before the projection */
    float *lse;                     /* (B, heads, N) */
    int B, N;
} vd_self_attn_act;

vd_status vd_self_attn_declare(vd_self_attn *l, vd_params *p, const char *name, int dim,
                               int heads, vd_error *err);
void vd_self_attn_init_xavier(const vd_self_attn *l, vd_params *p, vd_rng *rng);
/* y (B, N, dim) = attention(x). mask, rope_cos/sin may be NULL; all that
 * is passed must stay alive until the backward. */
vd_status vd_self_attn_forward(const vd_self_attn *l, vd_params *p, vd_self_attn_act *s,
                               float *y, const float *x, const uint8_t *mask,
                               const float *rope_cos, const float *rope_sin, int B, int N,
                               vd_arena *arena, vd_error *err);
/* dx (may be NULL) += d/dx. */
vd_status vd_self_attn_backward(const vd_self_attn *l, vd_params *p,
                                const vd_self_attn_act *s, float *dx, const float *dy,
                                vd_arena *arena, vd_error *err);

typedef struct vd_cross_attn {
    int dim, ctx_dim, heads, head_dim;
    vd_linear q, kv, out;
} vd_cross_attn;

typedef struct vd_cross_attn_act {
    const float *x, *ctx;
    const uint8_t *mask; /* (B, L) or NULL */
    float *q;            /* (B, N, dim) */
    float *kv;           /* (B, L, 2 dim) */
    float *o;
    float *lse;
    int B, N, L;
} vd_cross_attn_act;

vd_status vd_cross_attn_declare(vd_cross_attn *l, vd_params *p, const char *name, int dim,
                                int ctx_dim, int heads, vd_error *err);
void vd_cross_attn_init_xavier(const vd_cross_attn *l, vd_params *p, vd_rng *rng);
/* y (B, N, dim) = attention(q(x), kv(ctx)), ctx (B, L, ctx_dim). */
vd_status vd_cross_attn_forward(const vd_cross_attn *l, vd_params *p, vd_cross_attn_act *s,
                                float *y, const float *x, const float *ctx,
                                const uint8_t *mask, int B, int N, int L, vd_arena *arena,
                                vd_error *err);
/* dx, dctx (either may be NULL) += their gradients. */
vd_status vd_cross_attn_backward(const vd_cross_attn *l, vd_params *p,
                                 const vd_cross_attn_act *s, float *dx, float *dctx,
                                 const float *dy, vd_arena *arena, vd_error *err);

#endif
