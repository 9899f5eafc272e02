/* Self- and cross-attention layers (see attention.h). */
#include "nn/attention.h"

#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "ops/ops.h"

static vd_status check_heads(const char *name, int dim, int heads, vd_error *err) {
    if (heads <= 0 || dim <= 0 || dim % heads != 0 || (dim / heads) % 2 != 0)
        return vd_fail(err, VD_ERR_ARG,
                       "attention '%s': dim %d must split into %d heads of an even size",
                       name, dim, heads);
    return VD_OK;
}

static vd_status sub_name(char *buf, size_t size, const char *name, const char *part,
                          vd_error *err) {
    int n = snprintf(buf, size, "%s.%s", name, part);
    if (n < 0 || (size_t)n >= size)
        return vd_fail(err, VD_ERR_ARG, "attention: name '%s' is too long", name);
    return VD_OK;
}

vd_status vd_self_attn_declare(vd_self_attn *l, vd_params *p, const char *name, int dim,
                               int heads, vd_error *err) {
    char n1[256], n2[256];
    vd_status st = check_heads(name, dim, heads, err);
    if (st == VD_OK) st = sub_name(n1, sizeof n1, name, "qkv", err);
    if (st == VD_OK) st = sub_name(n2, sizeof n2, name, "out", err);
    if (st != VD_OK) return st;
    l->dim = dim;
    l->heads = heads;
    l->head_dim = dim / heads;
    st = vd_linear_declare(&l->qkv, p, n1, dim, 3 * dim, 1, err);
    if (st == VD_OK) st = vd_linear_declare(&l->out, p, n2, dim, dim, 1, err);
    return st;
}

void vd_self_attn_init_xavier(const vd_self_attn *l, vd_params *p, vd_rng *rng) {
    vd_linear_init_xavier(&l->qkv, p, rng);
    vd_linear_init_xavier(&l->out, p, rng);
}

vd_status vd_self_attn_forward(const vd_self_attn *l, vd_params *p, vd_self_attn_act *s,
                               float *y, const float *x, const uint8_t *mask,
                               const float *rope_cos, const float *rope_sin, int B, int N,
                               vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int D = l->dim, H = l->heads, hd = l->head_dim;
    const size_t M = (size_t)B * N;
    s->x = x;
    s->mask = mask;
    s->rope_cos = rope_cos;
    s->rope_sin = rope_sin;
    s->B = B;
    s->N = N;
    s->qkv = vd_arena_floats(arena, M * 3 * D);
    s->o = vd_arena_floats(arena, M * D);
    s->lse = vd_arena_floats(arena, M * H);
    if (!s->qkv || !s->o || !s->lse)
        return vd_fail(err, VD_ERR_NOMEM, "self-attention: out of memory for %zu tokens", M);
    vd_linear_forward(&l->qkv, p, s->qkv, x, (int)M);
    if (rope_cos) {
        ops->rope_apply(s->qkv, rope_cos, rope_sin, B, N, H, hd, 3 * D, 0);
        ops->rope_apply(s->qkv + D, rope_cos, rope_sin, B, N, H, hd, 3 * D, 0);
    }
    vd_status st = ops->attention_fwd(s->o, s->lse, s->qkv, s->qkv + D, s->qkv + 2 * D, mask,
                                      B, N, N, H, hd, 3 * D, 3 * D,
                                      1.0f / sqrtf((float)hd), arena);
    if (st != VD_OK) return vd_fail(err, st, "self-attention: kernel failed on %zu tokens", M);
    vd_linear_forward(&l->out, p, y, s->o, (int)M);
    return VD_OK;
}

vd_status vd_self_attn_backward(const vd_self_attn *l, vd_params *p,
                                const vd_self_attn_act *s, float *dx, const float *dy,
                                vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int D = l->dim, H = l->heads, hd = l->head_dim, B = s->B, N = s->N;
    const size_t M = (size_t)B * N, mark = vd_arena_mark(arena);
    float *dO = vd_arena_zeros(arena, M * D), *dqkv = vd_arena_zeros(arena, M * 3 * D);
    vd_status st = VD_OK;
    if (!dO || !dqkv) {
        st = vd_fail(err, VD_ERR_NOMEM, "self-attention: backward: out of memory");
        goto done;
    }
    vd_linear_backward(&l->out, p, dO, dy, s->o, (int)M);
    st = ops->attention_bwd(dqkv, dqkv + D, dqkv + 2 * D, dO, s->qkv, s->qkv + D,
                            s->qkv + 2 * D, s->o, s->lse, s->mask, B, N, N, H, hd, 3 * D,
                            3 * D, 1.0f / sqrtf((float)hd), arena);
    if (st != VD_OK) {
        st = vd_fail(err, st, "self-attention: backward kernel failed on %zu tokens", M);
        goto done;
    }
    /* The rotation is orthogonal: its backward rotates the gradient back. */
    if (s->rope_cos) {
        ops->rope_apply(dqkv, s->rope_cos, s->rope_sin, B, N, H, hd, 3 * D, 1);
        ops->rope_apply(dqkv + D, s->rope_cos, s->rope_sin, B, N, H, hd, 3 * D, 1);
    }
    vd_linear_backward(&l->qkv, p, dx, dqkv, s->x, (int)M);
done:
    vd_arena_reset(arena, mark);
    return st;
}

vd_status vd_cross_attn_declare(vd_cross_attn *l, vd_params *p, const char *name, int dim,
                                int ctx_dim, int heads, vd_error *err) {
    char n1[256], n2[256], n3[256];
    vd_status st = check_heads(name, dim, heads, err);
    if (st == VD_OK) st = sub_name(n1, sizeof n1, name, "q", err);
    if (st == VD_OK) st = sub_name(n2, sizeof n2, name, "kv", err);
    if (st == VD_OK) st = sub_name(n3, sizeof n3, name, "out", err);
    if (st != VD_OK) return st;
    l->dim = dim;
    l->ctx_dim = ctx_dim;
    l->heads = heads;
    l->head_dim = dim / heads;
    st = vd_linear_declare(&l->q, p, n1, dim, dim, 1, err);
    if (st == VD_OK) st = vd_linear_declare(&l->kv, p, n2, ctx_dim, 2 * dim, 1, err);
    if (st == VD_OK) st = vd_linear_declare(&l->out, p, n3, dim, dim, 1, err);
    return st;
}

void vd_cross_attn_init_xavier(const vd_cross_attn *l, vd_params *p, vd_rng *rng) {
    vd_linear_init_xavier(&l->q, p, rng);
    vd_linear_init_xavier(&l->kv, p, rng);
    vd_linear_init_xavier(&l->out, p, rng);
}

vd_status vd_cross_attn_forward(const vd_cross_attn *l, vd_params *p, vd_cross_attn_act *s,
                                float *y, const float *x, const float *ctx,
                                const uint8_t *mask, int B, int N, int L, vd_arena *arena,
                                vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int D = l->dim, H = l->heads, hd = l->head_dim;
    const size_t M = (size_t)B * N, Mk = (size_t)B * L;
    s->x = x;
    s->ctx = ctx;
    s->mask = mask;
    s->B = B;
    s->N = N;
    s->L = L;
    s->q = vd_arena_floats(arena, M * D);
    s->kv = vd_arena_floats(arena, Mk * 2 * D);
    s->o = vd_arena_floats(arena, M * D);
    s->lse = vd_arena_floats(arena, M * H);
    if (!s->q || !s->kv || !s->o || !s->lse)
        return vd_fail(err, VD_ERR_NOMEM, "cross-attention: out of memory for %zu tokens", M);
    vd_linear_forward(&l->q, p, s->q, x, (int)M);
    vd_linear_forward(&l->kv, p, s->kv, ctx, (int)Mk);
    vd_status st = ops->attention_fwd(s->o, s->lse, s->q, s->kv, s->kv + D, mask, B, N, L, H,
                                      hd, D, 2 * D, 1.0f / sqrtf((float)hd), arena);
    if (st != VD_OK) return vd_fail(err, st, "cross-attention: kernel failed on %zu tokens", M);
    vd_linear_forward(&l->out, p, y, s->o, (int)M);
    return VD_OK;
}

vd_status vd_cross_attn_backward(const vd_cross_attn *l, vd_params *p,
                                 const vd_cross_attn_act *s, float *dx, float *dctx,
                                 const float *dy, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int D = l->dim, H = l->heads, hd = l->head_dim, B = s->B, N = s->N, L = s->L;
    const size_t M = (size_t)B * N, Mk = (size_t)B * L, mark = vd_arena_mark(arena);
    float *dO = vd_arena_zeros(arena, M * D), *dq = vd_arena_zeros(arena, M * D);
    float *dkv = vd_arena_zeros(arena, Mk * 2 * D);
    vd_status st = VD_OK;
    if (!dO || !dq || !dkv) {
        st = vd_fail(err, VD_ERR_NOMEM, "cross-attention: backward: out of memory");
        goto done;
    }
    vd_linear_backward(&l->out, p, dO, dy, s->o, (int)M);
    st = ops->attention_bwd(dq, dkv, dkv + D, dO, s->q, s->kv, s->kv + D, s->o, s->lse,
                            s->mask, B, N, L, H, hd, D, 2 * D, 1.0f / sqrtf((float)hd), arena);
    if (st != VD_OK) {
        st = vd_fail(err, st, "cross-attention: backward kernel failed on %zu tokens", M);
        goto done;
    }
    vd_linear_backward(&l->q, p, dx, dq, s->x, (int)M);
    vd_linear_backward(&l->kv, p, dctx, dkv, s->ctx, (int)Mk);
done:
    vd_arena_reset(arena, mark);
    return st;
}
