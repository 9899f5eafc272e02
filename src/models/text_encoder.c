/* The text encoder (see text_encoder.h): explicit forward and backward over
 * activations saved in the arena. */
#include "models/text_encoder.h"

#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ops/ops.h"

#define TEXT_LN_EPS 1e-5f

vd_status vd_text_encoder_init(vd_text_encoder *te, const vd_text_config *cfg, vd_params *p,
                               const char *prefix, const vd_allocator *allocator,
                               vd_error *err) {
    memset(te, 0, sizeof *te);
    te->cfg = *cfg;
    te->allocator = allocator;
    if (cfg->vocab_size < 258 || cfg->dim <= 0 || cfg->depth < 0 || cfg->max_len <= 0 ||
        cfg->heads <= 0)
        return vd_fail(err, VD_ERR_ARG,
                       "text encoder: bad config (vocab %d, dim %d, depth %d, heads %d, "
                       "max_len %d)", cfg->vocab_size, cfg->dim, cfg->depth, cfg->heads,
                       cfg->max_len);
    if (strlen(prefix) > 128)
        return vd_fail(err, VD_ERR_ARG, "text encoder: parameter prefix '%.32s...' is too long",
                       prefix);
    te->layers = vd_calloc(allocator, (size_t)(cfg->depth ? cfg->depth : 1), sizeof *te->layers);
    te->acts = vd_calloc(allocator, (size_t)(cfg->depth ? cfg->depth : 1), sizeof *te->acts);
    if (!te->layers || !te->acts)
        return vd_fail(err, VD_ERR_NOMEM, "text encoder: out of memory");
    char name[256];
    int64_t es[2] = {cfg->vocab_size, cfg->dim}, ps[2] = {cfg->max_len, cfg->dim};
    vd_status st;
    snprintf(name, sizeof name, "%stok_emb.weight", prefix);
    if ((st = vd_params_declare(p, name, 2, es, VD_PARAM_NO_DECAY, &te->tok_emb, err))) return st;
    snprintf(name, sizeof name, "%spos_emb.weight", prefix);
    if ((st = vd_params_declare(p, name, 2, ps, VD_PARAM_NO_DECAY, &te->pos_emb, err))) return st;
    for (int i = 0; i < cfg->depth; i++) {
        vd_text_layer *ly = &te->layers[i];
        snprintf(name, sizeof name, "%slayers.%d.ln1", prefix, i);
        if ((st = vd_layernorm_declare(&ly->ln1, p, name, cfg->dim, 1, TEXT_LN_EPS, err))) return st;
        snprintf(name, sizeof name, "%slayers.%d.attn", prefix, i);
        if ((st = vd_self_attn_declare(&ly->attn, p, name, cfg->dim, cfg->heads, err))) return st;
        snprintf(name, sizeof name, "%slayers.%d.ln2", prefix, i);
        if ((st = vd_layernorm_declare(&ly->ln2, p, name, cfg->dim, 1, TEXT_LN_EPS, err))) return st;
        snprintf(name, sizeof name, "%slayers.%d.mlp", prefix, i);
        if ((st = vd_mlp_declare(&ly->mlp, p, name, cfg->dim, 4 * cfg->dim, cfg->dim,
                                 VD_ACT_GELU, err)))
            return st;
    }
    snprintf(name, sizeof name, "%snorm", prefix);
    return vd_layernorm_declare(&te->norm, p, name, cfg->dim, 1, TEXT_LN_EPS, err);
}

void vd_text_encoder_release(vd_text_encoder *te) {
    if (!te) return;
    vd_free(te->allocator, te->layers);
    vd_free(te->allocator, te->acts);
    te->layers = NULL;
    te->acts = NULL;
}

void vd_text_encoder_init_weights(const vd_text_encoder *te, vd_params *p, vd_rng *rng,
                                  float embed_std) {
    vd_params_init_normal(p, te->tok_emb, rng, embed_std);
    vd_params_init_normal(p, te->pos_emb, rng, embed_std);
    for (int i = 0; i < te->cfg.depth; i++) {
        const vd_text_layer *ly = &te->layers[i];
        vd_layernorm_init(&ly->ln1, p);
        vd_self_attn_init_xavier(&ly->attn, p, rng);
        vd_layernorm_init(&ly->ln2, p);
        vd_mlp_init_xavier(&ly->mlp, p, rng);
    }
    vd_layernorm_init(&te->norm, p);
}

vd_status vd_text_encoder_forward(vd_text_encoder *te, vd_params *p, const int32_t *tokens,
                                  const int *lengths, int B, float *ctx, float *pooled,
                                  const uint8_t **mask, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int L = te->cfg.max_len, D = te->cfg.dim, V = te->cfg.vocab_size;
    const size_t M = (size_t)B * L;
    te->B = B;
    te->ids = vd_arena_alloc(arena, M * sizeof *te->ids);
    te->mask = vd_arena_alloc(arena, M);
    te->lengths = vd_arena_alloc(arena, (size_t)B * sizeof *te->lengths);
    float *x = vd_arena_floats(arena, M * D);
    if (!te->ids || !te->mask || !te->lengths || !x)
        return vd_fail(err, VD_ERR_NOMEM, "text encoder: out of memory for batch %d", B);
    for (int b = 0; b < B; b++) {
        int n = tokens && lengths ? lengths[b] : 0;
        if (n < 0 || n > L)
            return vd_fail(err, VD_ERR_ARG, "text encoder: prompt %d has %d tokens (max %d)",
                           b, n, L);
        te->lengths[b] = n;
        for (int l = 0; l < L; l++) {
            size_t i = (size_t)b * L + l;
            int32_t id = l < n ? tokens[i] : 0;
            if (id < 0 || id >= V)
                return vd_fail(err, VD_ERR_ARG,
                               "text encoder: token %d of prompt %d is %d, outside [0, %d)", l,
                               b, (int)id, V);
            te->ids[i] = id;
            te->mask[i] = (uint8_t)(l < n);
        }
    }
    if (mask) *mask = te->mask;
    ops->embedding_fwd(x, te->ids, vd_params_data(p, te->tok_emb), (int)M, D);
    const float *pos = vd_params_data(p, te->pos_emb);
    for (int b = 0; b < B; b++) ops->axpy(x + (size_t)b * L * D, 1.0f, pos, (size_t)L * D);

    for (int i = 0; i < te->cfg.depth; i++) {
        const vd_text_layer *ly = &te->layers[i];
        vd_text_layer_act *a = &te->acts[i];
        a->x = x;
        a->h1 = vd_arena_floats(arena, M * D);
        a->mean1 = vd_arena_floats(arena, M);
        a->rstd1 = vd_arena_floats(arena, M);
        a->x_mid = vd_arena_floats(arena, M * D);
        a->h2 = vd_arena_floats(arena, M * D);
        a->mean2 = vd_arena_floats(arena, M);
        a->rstd2 = vd_arena_floats(arena, M);
        float *x_out = vd_arena_floats(arena, M * D);
        if (!a->h1 || !a->mean1 || !a->rstd1 || !a->x_mid || !a->h2 || !a->mean2 ||
            !a->rstd2 || !x_out)
            return vd_fail(err, VD_ERR_NOMEM, "text encoder: layer %d: out of memory", i);
        vd_status st;
        vd_layernorm_forward(&ly->ln1, p, a->h1, a->mean1, a->rstd1, x, (int)M);
        /* The attention output goes to x_out first (free until the MLP). */
        st = vd_self_attn_forward(&ly->attn, p, &a->attn, x_out, a->h1, te->mask, NULL, NULL,
                                  B, L, arena, err);
        if (st != VD_OK) return vd_fail_prefix(err, st, "text encoder: layer %d: ", i);
        ops->add(a->x_mid, x, x_out, M * D);
        vd_layernorm_forward(&ly->ln2, p, a->h2, a->mean2, a->rstd2, a->x_mid, (int)M);
        st = vd_mlp_forward(&ly->mlp, p, &a->mlp, x_out, a->h2, (int)M, arena, err);
        if (st != VD_OK) return vd_fail_prefix(err, st, "text encoder: layer %d: ", i);
        ops->add(x_out, x_out, a->x_mid, M * D);
        x = x_out;
    }
    te->x_last = x;
    te->norm_mean = vd_arena_floats(arena, M);
    te->norm_rstd = vd_arena_floats(arena, M);
    if (!te->norm_mean || !te->norm_rstd)
        return vd_fail(err, VD_ERR_NOMEM, "text encoder: out of memory");
    vd_layernorm_forward(&te->norm, p, ctx, te->norm_mean, te->norm_rstd, x, (int)M);

    /* Pooled: the mean (or sum) over the prompt's own tokens, summed in order. */
    for (int b = 0; b < B; b++) {
        float *pb = pooled + (size_t)b * D;
        memset(pb, 0, (size_t)D * sizeof *pb);
        int n = te->lengths[b];
        for (int l = 0; l < n; l++) ops->axpy(pb, 1.0f, ctx + ((size_t)b * L + l) * D, (size_t)D);
        if (n > 0 && !te->cfg.pool_sum) ops->scale(pb, 1.0f / (float)n, (size_t)D);
    }
    return VD_OK;
}

vd_status vd_text_encoder_backward(vd_text_encoder *te, vd_params *p, const float *dctx,
                                   const float *dpooled, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const int L = te->cfg.max_len, D = te->cfg.dim, B = te->B;
    const size_t M = (size_t)B * L, mark = vd_arena_mark(arena);
    vd_status st = VD_OK;
    float *dy = vd_arena_zeros(arena, M * D), *dx = vd_arena_zeros(arena, M * D);
    float *dmid = vd_arena_floats(arena, M * D), *dh = vd_arena_floats(arena, M * D);
    if (!dy || !dx || !dmid || !dh) {
        st = vd_fail(err, VD_ERR_NOMEM, "text encoder: backward: out of memory");
        goto done;
    }
    if (dctx) memcpy(dy, dctx, M * D * sizeof *dy);
    if (dpooled) {
        for (int b = 0; b < B; b++) {
            int n = te->lengths[b];
            float w = te->cfg.pool_sum ? 1.0f : 1.0f / (float)n;
            for (int l = 0; l < n; l++)
                ops->axpy(dy + ((size_t)b * L + l) * D, w,
                          dpooled + (size_t)b * D, (size_t)D);
        }
    }
    vd_layernorm_backward(&te->norm, p, dx, dy, te->x_last, te->norm_mean, te->norm_rstd,
                          (int)M);
    for (int i = te->cfg.depth - 1; i >= 0; i--) {
        const vd_text_layer *ly = &te->layers[i];
        const vd_text_layer_act *a = &te->acts[i];
        /* x_out = x_mid + mlp(ln2(x_mid)) */
        memcpy(dmid, dx, M * D * sizeof *dx);
        memset(dh, 0, M * D * sizeof *dh);
        if ((st = vd_mlp_backward(&ly->mlp, p, &a->mlp, dh, dx, arena, err))) goto layer_fail;
        vd_layernorm_backward(&ly->ln2, p, dmid, dh, a->x_mid, a->mean2, a->rstd2, (int)M);
        /* x_mid = x + attn(ln1(x)) */
        memcpy(dx, dmid, M * D * sizeof *dx);
        memset(dh, 0, M * D * sizeof *dh);
        if ((st = vd_self_attn_backward(&ly->attn, p, &a->attn, dh, dmid, arena, err)))
            goto layer_fail;
        vd_layernorm_backward(&ly->ln1, p, dx, dh, a->x, a->mean1, a->rstd1, (int)M);
        continue;
    layer_fail:
        st = vd_fail_prefix(err, st, "text encoder: layer %d: ", i);
        goto done;
    }
    float *dtok = vd_params_grad(p, te->tok_emb), *dpos = vd_params_grad(p, te->pos_emb);
    if (dtok) ops->embedding_bwd(dtok, dx, te->ids, (int)M, D);
    if (dpos)
        for (int b = 0; b < B; b++) ops->axpy(dpos, 1.0f, dx + (size_t)b * L * D, (size_t)L * D);
done:
    vd_arena_reset(arena, mark);
    return st;
}
