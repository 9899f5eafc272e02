/* One DiT block: adaLN-zero modulation, self-attention with 3D RoPE,
 * cross-attention to the text, GELU MLP (the definition is in dit.h). */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "models/dit.h"
#include "ops/ops.h"

#define DIT_LN_EPS 1e-6f

vd_status vd_dit_block_declare(vd_dit_block *blk, vd_params *p, const char *name, int dim,
                               int heads, int text_dim, vd_error *err) {
    char n[256];
    vd_status st;
    blk->dim = dim;
    snprintf(n, sizeof n, "%s.adaLN", name);
    if ((st = vd_linear_declare(&blk->adaln, p, n, dim, 6 * dim, 1, err))) return st;
    snprintf(n, sizeof n, "%s.attn", name);
    if ((st = vd_self_attn_declare(&blk->attn, p, n, dim, heads, err))) return st;
    snprintf(n, sizeof n, "%s.norm_cross", name);
    if ((st = vd_layernorm_declare(&blk->norm_cross, p, n, dim, 1, DIT_LN_EPS, err))) return st;
    snprintf(n, sizeof n, "%s.cross", name);
    if ((st = vd_cross_attn_declare(&blk->cross, p, n, dim, text_dim, heads, err))) return st;
    snprintf(n, sizeof n, "%s.mlp", name);
    return vd_mlp_declare(&blk->mlp, p, n, dim, 4 * dim, dim, VD_ACT_GELU, err);
}

void vd_dit_block_init_weights(const vd_dit_block *blk, vd_params *p, vd_rng *rng) {
    vd_linear_init_zero(&blk->adaln, p);
    vd_self_attn_init_xavier(&blk->attn, p, rng);
    vd_layernorm_init(&blk->norm_cross, p);
    vd_cross_attn_init_xavier(&blk->cross, p, rng);
    vd_mlp_init_xavier(&blk->mlp, p, rng);
}

vd_status vd_dit_block_forward(const vd_dit_block *blk, vd_params *p, vd_dit_block_act *s,
                               float *y, const float *x, const float *sc, const float *ctx,
                               const uint8_t *mask, int L, const float *rope_cos,
                               const float *rope_sin, int B, int N, vd_arena *arena,
                               vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int D = blk->dim, S = 6 * D;
    const size_t M = (size_t)B * N, MD = M * D;
    vd_status st;
    s->x = x;
    s->sc = sc;
    s->B = B;
    s->N = N;
    s->mod = vd_arena_floats(arena, (size_t)B * S);
    s->ln1 = vd_arena_floats(arena, MD);
    s->h1 = vd_arena_floats(arena, MD);
    s->a = vd_arena_floats(arena, MD);
    s->x1 = vd_arena_floats(arena, MD);
    s->h2 = vd_arena_floats(arena, MD);
    s->x2 = vd_arena_floats(arena, MD);
    s->ln3 = vd_arena_floats(arena, MD);
    s->h3 = vd_arena_floats(arena, MD);
    s->f = vd_arena_floats(arena, MD);
    s->mean1 = vd_arena_floats(arena, M);
    s->rstd1 = vd_arena_floats(arena, M);
    s->mean2 = vd_arena_floats(arena, M);
    s->rstd2 = vd_arena_floats(arena, M);
    s->mean3 = vd_arena_floats(arena, M);
    s->rstd3 = vd_arena_floats(arena, M);
    if (!s->mod || !s->ln1 || !s->h1 || !s->a || !s->x1 || !s->h2 || !s->x2 || !s->ln3 ||
        !s->h3 || !s->f || !s->mean1 || !s->rstd1 || !s->mean2 || !s->rstd2 || !s->mean3 ||
        !s->rstd3)
        return vd_fail(err, VD_ERR_NOMEM, "dit block: out of memory for %zu tokens", M);
    const float *mod = s->mod;
    vd_linear_forward(&blk->adaln, p, s->mod, sc, B);

    ops->layernorm_fwd(s->ln1, s->mean1, s->rstd1, x, NULL, NULL, (int)M, D, DIT_LN_EPS);
    ops->modulate_fwd(s->h1, s->ln1, mod, mod + D, B, N, D, S);
    st = vd_self_attn_forward(&blk->attn, p, &s->attn, s->a, s->h1, NULL, rope_cos, rope_sin, B,
                              N, arena, err);
    if (st != VD_OK) return st;
    ops->gate_residual_fwd(s->x1, x, s->a, mod + 2 * D, B, N, D, S);

    vd_layernorm_forward(&blk->norm_cross, p, s->h2, s->mean2, s->rstd2, s->x1, (int)M);
    /* The cross-attention output lands in x2, then the residual is added. */
    st = vd_cross_attn_forward(&blk->cross, p, &s->cross, s->x2, s->h2, ctx, mask, B, N, L,
                               arena, err);
    if (st != VD_OK) return st;
    ops->add(s->x2, s->x2, s->x1, MD);

    ops->layernorm_fwd(s->ln3, s->mean3, s->rstd3, s->x2, NULL, NULL, (int)M, D, DIT_LN_EPS);
    ops->modulate_fwd(s->h3, s->ln3, mod + 3 * D, mod + 4 * D, B, N, D, S);
    st = vd_mlp_forward(&blk->mlp, p, &s->mlp, s->f, s->h3, (int)M, arena, err);
    if (st != VD_OK) return st;
    ops->gate_residual_fwd(y, s->x2, s->f, mod + 5 * D, B, N, D, S);
    return VD_OK;
}

vd_status vd_dit_block_backward(const vd_dit_block *blk, vd_params *p,
                                const vd_dit_block_act *s, float *dx, float *dsc, float *dctx,
                                const float *dy, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int D = blk->dim, S = 6 * D, B = s->B, N = s->N;
    const size_t M = (size_t)B * N, MD = M * D, mark = vd_arena_mark(arena);
    const float *mod = s->mod;
    vd_status st = VD_OK;
    float *dmod = vd_arena_zeros(arena, (size_t)B * S);
    float *dbranch = vd_arena_floats(arena, MD), *dh = vd_arena_floats(arena, MD);
    float *dln = vd_arena_floats(arena, MD), *dx2 = vd_arena_floats(arena, MD);
    float *dx1 = vd_arena_floats(arena, MD);
    if (!dmod || !dbranch || !dh || !dln || !dx2 || !dx1) {
        st = vd_fail(err, VD_ERR_NOMEM, "dit block: backward: out of memory");
        goto done;
    }
    /* y = x2 + gate2 * mlp(modulate(LN(x2), shift2, scale2)) */
    ops->zero(dbranch, MD);
    ops->gate_residual_bwd(dbranch, dmod + 5 * D, dy, s->f, mod + 5 * D, B, N, D, S);
    ops->zero(dh, MD);
    if ((st = vd_mlp_backward(&blk->mlp, p, &s->mlp, dh, dbranch, arena, err))) goto done;
    ops->zero(dln, MD);
    ops->modulate_bwd(dln, dmod + 3 * D, dmod + 4 * D, dh, s->ln3, mod + 4 * D, B, N, D, S);
    ops->copy(dx2, dy, MD);
    ops->layernorm_bwd(dx2, NULL, NULL, dln, s->x2, NULL, s->mean3, s->rstd3, (int)M, D);

    /* x2 = x1 + cross(norm_cross(x1), text) */
    ops->zero(dh, MD);
    if ((st = vd_cross_attn_backward(&blk->cross, p, &s->cross, dh, dctx, dx2, arena, err)))
        goto done;
    ops->copy(dx1, dx2, MD);
    vd_layernorm_backward(&blk->norm_cross, p, dx1, dh, s->x1, s->mean2, s->rstd2, (int)M);

    /* x1 = x + gate1 * attn(modulate(LN(x), shift1, scale1)) */
    if (dx) ops->axpy(dx, 1.0f, dx1, MD);
    ops->zero(dbranch, MD);
    ops->gate_residual_bwd(dbranch, dmod + 2 * D, dx1, s->a, mod + 2 * D, B, N, D, S);
    ops->zero(dh, MD);
    if ((st = vd_self_attn_backward(&blk->attn, p, &s->attn, dh, dbranch, arena, err)))
        goto done;
    ops->zero(dln, MD);
    ops->modulate_bwd(dln, dmod, dmod + D, dh, s->ln1, mod + D, B, N, D, S);
    if (dx) ops->layernorm_bwd(dx, NULL, NULL, dln, s->x, NULL, s->mean1, s->rstd1, (int)M, D);

    vd_linear_backward(&blk->adaln, p, dsc, dmod, s->sc, B);
done:
    vd_arena_reset(arena, mark);
    return st;
}
