/* The DiT model: config, parameters, conditioning, patch embedding, the
 * block stack and the final layer, forward and backward (dit.h). */
#include "models/dit.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "ops/ops.h"

#define DIT_LN_EPS 1e-6f
#define DIT_TIME_SCALE 1000.0f
#define DIT_MAX_PERIOD 10000.0f

struct vd_dit {
    vd_dit_config cfg;
    const vd_allocator *allocator;
    vd_params *params;
    vd_text_encoder text;
    vd_linear x_embed, text_pool, final_adaln, final_linear;
    size_t word_cond; /* parameter id, with cfg.word_cond */
    vd_mlp t_embed;
    vd_dit_block *blocks;
    vd_dit_block_act *acts;
    /* Saved by the forward (arena memory). */
    int have_forward;
    int B, T, H, W, N;
    float *tokens, *tfeat, *c, *sc, *ctx, *pooled, *rope_cos, *rope_sin;
    const uint8_t *mask;
    vd_mlp_act t_act;
    float **xs; /* xs[0]: embedded tokens; xs[i + 1]: output of block i */
    float *modf, *lnf, *meanf, *rstdf, *hf;
};

/* ----------------------------------------------------------------- config */

void vd_dit_config_default(vd_dit_config *cfg) {
    cfg->dim = 256;
    cfg->depth = 6;
    cfg->heads = 4;
    cfg->patch_t = 1;
    cfg->patch_h = 2;
    cfg->patch_w = 2;
    cfg->latent_channels = 8;
    cfg->text_dim = 256;
    cfg->text_depth = 2;
    cfg->text_heads = 4;
    cfg->vocab_size = 1024;
    cfg->max_text_len = 48;
    cfg->rope_theta = 10000.0f;
    cfg->freq_dim = 256;
    cfg->frame_cond = 0;
    cfg->pos_embed = 0;
    cfg->text_embed_std = 0.02f;
    cfg->text_pool_sum = 0;
    cfg->word_cond = 0;
}

vd_status vd_dit_config_check(const vd_dit_config *c, vd_error *err) {
    if (c->dim <= 0 || c->heads <= 0 || c->dim % c->heads || (c->dim / c->heads) % 2)
        return vd_fail(err, VD_ERR_ARG, "dit config: dim %d must split into %d heads of an even size",
                       c->dim, c->heads);
    if (c->text_dim <= 0 || c->text_heads <= 0 || c->text_dim % c->text_heads ||
        (c->text_dim / c->text_heads) % 2)
        return vd_fail(err, VD_ERR_ARG,
                       "dit config: text_dim %d must split into %d heads of an even size",
                       c->text_dim, c->text_heads);
    if (c->depth < 0 || c->depth > 256 || c->text_depth < 0 || c->text_depth > 256)
        return vd_fail(err, VD_ERR_ARG, "dit config: depth %d / text_depth %d out of [0, 256]",
                       c->depth, c->text_depth);
    if (c->patch_t < 1 || c->patch_h < 1 || c->patch_w < 1 || c->latent_channels < 1)
        return vd_fail(err, VD_ERR_ARG, "dit config: patch %dx%dx%d and latent_channels %d must be >= 1",
                       c->patch_t, c->patch_h, c->patch_w, c->latent_channels);
    if (c->vocab_size < 258 || c->vocab_size > 65536)
        return vd_fail(err, VD_ERR_ARG, "dit config: vocab_size %d outside [258, 65536]", c->vocab_size);
    if (c->max_text_len < 1 || c->max_text_len > 1024)
        return vd_fail(err, VD_ERR_ARG, "dit config: max_text_len %d outside [1, 1024]",
                       c->max_text_len);
    if (c->frame_cond != 0 && c->frame_cond != 1)
        return vd_fail(err, VD_ERR_ARG, "dit config: frame_cond %d (want 0 or 1)", c->frame_cond);
    if (c->pos_embed != 0 && c->pos_embed != 1)
        return vd_fail(err, VD_ERR_ARG, "dit config: pos_embed %d (want 0 or 1)", c->pos_embed);
    if (c->word_cond != 0 && c->word_cond != 1)
        return vd_fail(err, VD_ERR_ARG, "dit config: word_cond %d (want 0 or 1)", c->word_cond);
    if (!(c->text_embed_std > 0.0f && c->text_embed_std <= 10.0f))
        return vd_fail(err, VD_ERR_ARG, "dit config: text_embed_std %g outside (0, 10]",
                       (double)c->text_embed_std);
    if (!(c->rope_theta > 1.0f) || c->freq_dim < 2 || c->freq_dim % 2)
        return vd_fail(err, VD_ERR_ARG, "dit config: rope_theta %g must be > 1 and freq_dim %d even",
                       (double)c->rope_theta, c->freq_dim);
    return VD_OK;
}

vd_status vd_dit_config_parse(vd_dit_config *cfg, const char *json, size_t len,
                              const char *label, vd_error *err) {
    vd_json *root = vd_json_parse(json, len, label, err);
    if (!root) return err ? err->code : VD_ERR_FORMAT;
    vd_status st = VD_OK;
    if (vd_json_type_of(root) != VD_JSON_OBJECT) {
        st = vd_fail(err, VD_ERR_FORMAT, "dit config: %s: not a JSON object", label ? label : "");
        goto done;
    }
    struct {
        const char *key;
        int *field;
    } ints[] = {
        {"dim", &cfg->dim}, {"depth", &cfg->depth}, {"heads", &cfg->heads},
        {"patch_t", &cfg->patch_t}, {"patch_h", &cfg->patch_h}, {"patch_w", &cfg->patch_w},
        {"latent_channels", &cfg->latent_channels}, {"text_dim", &cfg->text_dim},
        {"text_depth", &cfg->text_depth}, {"text_heads", &cfg->text_heads},
        {"vocab_size", &cfg->vocab_size}, {"max_text_len", &cfg->max_text_len},
        {"freq_dim", &cfg->freq_dim}, {"frame_cond", &cfg->frame_cond},
        {"pos_embed", &cfg->pos_embed}, {"word_cond", &cfg->word_cond},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        if ((st = vd_json_get_int(root, ints[i].key, *ints[i].field, &v, err))) goto done;
        if (v < -1000000 || v > 1000000) {
            st = vd_fail(err, VD_ERR_FORMAT, "dit config: '%s' = %lld is out of range",
                         ints[i].key, (long long)v);
            goto done;
        }
        *ints[i].field = (int)v;
    }
    double theta;
    if ((st = vd_json_get_num(root, "rope_theta", cfg->rope_theta, &theta, err))) goto done;
    cfg->rope_theta = (float)theta;
    double embed_std;
    if ((st = vd_json_get_num(root, "text_embed_std", cfg->text_embed_std, &embed_std, err)))
        goto done;
    cfg->text_embed_std = (float)embed_std;
    const char *pool;
    if ((st = vd_json_get_str(root, "text_pool", cfg->text_pool_sum ? "sum" : "mean", &pool, err)))
        goto done;
    if (strcmp(pool, "mean") && strcmp(pool, "sum")) {
        st = vd_fail(err, VD_ERR_ARG, "dit config: text_pool \"%s\" (want \"mean\" or \"sum\")",
                     pool);
        goto done;
    }
    cfg->text_pool_sum = !strcmp(pool, "sum");
    st = vd_dit_config_check(cfg, err);
done:
    vd_json_free(root);
    return st;
}

vd_status vd_dit_config_load(vd_dit_config *cfg, const char *path, vd_error *err) {
    char *text = NULL;
    size_t len = 0;
    vd_status st = vd_read_file(path, &text, &len, err);
    if (st != VD_OK) return st;
    st = vd_dit_config_parse(cfg, text, len, path, err);
    free(text);
    return st;
}

void vd_dit_config_to_json(const vd_dit_config *c, vd_strbuf *s) {
    vd_strbuf_printf(s,
                     "{\"dim\":%d,\"depth\":%d,\"heads\":%d,\"patch_t\":%d,\"patch_h\":%d,"
                     "\"patch_w\":%d,\"latent_channels\":%d,\"text_dim\":%d,\"text_depth\":%d,"
                     "\"text_heads\":%d,\"vocab_size\":%d,\"max_text_len\":%d,\"rope_theta\":",
                     c->dim, c->depth, c->heads, c->patch_t, c->patch_h, c->patch_w,
                     c->latent_channels, c->text_dim, c->text_depth, c->text_heads,
                     c->vocab_size, c->max_text_len);
    vd_strbuf_json_number(s, c->rope_theta);
    vd_strbuf_printf(s, ",\"freq_dim\":%d,\"frame_cond\":%d", c->freq_dim, c->frame_cond);
    /* Written only when set, so that models without it keep their bytes. */
    if (c->pos_embed) vd_strbuf_printf(s, ",\"pos_embed\":%d", c->pos_embed);
    if (c->text_pool_sum) vd_strbuf_printf(s, ",\"text_pool\":\"sum\"");
    if (c->word_cond) vd_strbuf_printf(s, ",\"word_cond\":%d", c->word_cond);
    if (c->text_embed_std != 0.02f) {
        vd_strbuf_printf(s, ",\"text_embed_std\":");
        vd_strbuf_json_number(s, c->text_embed_std);
    }
    vd_strbuf_printf(s, "}");
}

/* ------------------------------------------------------------------ model */

static int patch_dim(const vd_dit_config *c) {
    return c->latent_channels * c->patch_t * c->patch_h * c->patch_w;
}

/* The patch embedding's input: a patch, and with frame_cond one more
 * feature, the share of the patch's frames that are given. */
static int embed_dim(const vd_dit_config *c) { return patch_dim(c) + (c->frame_cond ? 1 : 0); }

static vd_status dit_declare(vd_dit *m, vd_error *err) {
    const vd_dit_config *c = &m->cfg;
    vd_params *p = m->params;
    vd_text_config tc = {c->vocab_size, c->text_dim, c->text_depth, c->text_heads,
                         c->max_text_len, c->text_pool_sum};
    vd_status st;
    if ((st = vd_text_encoder_init(&m->text, &tc, p, "text.", m->allocator, err))) return st;
    if ((st = vd_linear_declare(&m->x_embed, p, "x_embed", embed_dim(c), c->dim, 1, err))) return st;
    if ((st = vd_mlp_declare(&m->t_embed, p, "t_embed", c->freq_dim, c->dim, c->dim,
                             VD_ACT_SILU, err)))
        return st;
    if ((st = vd_linear_declare(&m->text_pool, p, "text_pool", c->text_dim, c->dim, 1, err)))
        return st;
    if (c->word_cond) {
        int64_t shape[2] = {c->vocab_size, c->dim};
        if ((st = vd_params_declare(p, "word_cond.weight", 2, shape, VD_PARAM_NO_DECAY,
                                    &m->word_cond, err)))
            return st;
    }
    for (int i = 0; i < c->depth; i++) {
        char name[64];
        snprintf(name, sizeof name, "blocks.%d", i);
        if ((st = vd_dit_block_declare(&m->blocks[i], p, name, c->dim, c->heads, c->text_dim, err)))
            return st;
    }
    if ((st = vd_linear_declare(&m->final_adaln, p, "final.adaLN", c->dim, 2 * c->dim, 1, err)))
        return st;
    return vd_linear_declare(&m->final_linear, p, "final.linear", c->dim, patch_dim(c), 1, err);
}

static void dit_init_weights(vd_dit *m, uint64_t seed) {
    vd_params *p = m->params;
    vd_rng rng;
    vd_rng_init(&rng, seed);
    vd_text_encoder_init_weights(&m->text, p, &rng, m->cfg.text_embed_std);
    vd_linear_init_xavier(&m->x_embed, p, &rng);
    vd_linear_init_normal(&m->t_embed.fc1, p, &rng, 0.02f);
    vd_linear_init_normal(&m->t_embed.fc2, p, &rng, 0.02f);
    vd_linear_init_xavier(&m->text_pool, p, &rng);
    for (int i = 0; i < m->cfg.depth; i++) vd_dit_block_init_weights(&m->blocks[i], p, &rng);
    vd_linear_init_zero(&m->final_adaln, p);
    vd_linear_init_zero(&m->final_linear, p);
    /* Drawn last, so every other weight is what the same seed gives without it. */
    if (m->cfg.word_cond) vd_params_init_normal(p, m->word_cond, &rng, 1.0f);
}

vd_status vd_dit_new(vd_dit **out, const vd_dit_config *cfg, uint64_t seed, int with_grad,
                     const vd_allocator *allocator, vd_error *err) {
    if (!out || !cfg) return vd_fail(err, VD_ERR_ARG, "dit: new: NULL argument");
    *out = NULL;
    vd_status st = vd_dit_config_check(cfg, err);
    if (st != VD_OK) return st;
    vd_dit *m = vd_calloc(allocator, 1, sizeof *m);
    if (!m) return vd_fail(err, VD_ERR_NOMEM, "dit: out of memory");
    m->cfg = *cfg;
    m->allocator = allocator;
    size_t nb = (size_t)(cfg->depth ? cfg->depth : 1);
    m->params = vd_params_new(allocator);
    m->blocks = vd_calloc(allocator, nb, sizeof *m->blocks);
    m->acts = vd_calloc(allocator, nb, sizeof *m->acts);
    m->xs = vd_calloc(allocator, (size_t)cfg->depth + 1, sizeof *m->xs);
    if (!m->params || !m->blocks || !m->acts || !m->xs) {
        vd_dit_free(m);
        return vd_fail(err, VD_ERR_NOMEM, "dit: out of memory");
    }
    st = dit_declare(m, err);
    if (st == VD_OK) st = vd_params_alloc(m->params, with_grad, err);
    if (st != VD_OK) {
        vd_dit_free(m);
        return vd_fail_prefix(err, st, "dit: ");
    }
    dit_init_weights(m, seed);
    *out = m;
    return VD_OK;
}

void vd_dit_free(vd_dit *m) {
    if (!m) return;
    vd_text_encoder_release(&m->text);
    vd_params_free(m->params);
    vd_free(m->allocator, m->blocks);
    vd_free(m->allocator, m->acts);
    vd_free(m->allocator, m->xs);
    vd_free(m->allocator, m);
}

const vd_dit_config *vd_dit_get_config(const vd_dit *m) { return &m->cfg; }
vd_params *vd_dit_params(vd_dit *m) { return m->params; }

/* ---------------------------------------------------------------- forward */

vd_status vd_dit_forward(vd_dit *m, const float *latent, const float *t,
                         const int32_t *text_tokens, const int *text_lengths, int B, int T,
                         int H, int W, float *out_velocity, vd_arena *arena, vd_error *err) {
    return vd_dit_forward_cond(m, latent, NULL, t, text_tokens, text_lengths, B, T, H, W,
                               out_velocity, arena, err);
}

/* Patches of the latent into rows of E = P (+ 1) features: the patch, then
 * (frame_cond) the given share of its pt frames. */
static void embed_input(const vd_dit *m, float *rows, float *patches, const float *latent,
                        const uint8_t *frame_mask, int B, int T, int H, int W) {
    const vd_dit_config *c = &m->cfg;
    const int P = patch_dim(c), E = embed_dim(c), N = m->N;
    vd_ops_cpu()->patchify(patches, latent, B, c->latent_channels, T, H, W, c->patch_t,
                           c->patch_h, c->patch_w, 0);
    if (E == P) return;
    const int per_frame = (H / c->patch_h) * (W / c->patch_w);
    for (int b = 0; b < B; b++)
        for (int n = 0; n < N; n++) {
            size_t row = (size_t)b * N + n;
            memcpy(rows + row * E, patches + row * P, (size_t)P * sizeof *rows);
            int given = 0, tp = n / per_frame;
            for (int k = 0; k < c->patch_t && frame_mask; k++)
                given += frame_mask[(size_t)b * T + tp * c->patch_t + k] != 0;
            rows[row * E + P] = (float)given / (float)c->patch_t;
        }
}

vd_status vd_dit_forward_cond(vd_dit *m, const float *latent, const uint8_t *frame_mask,
                              const float *t, const int32_t *text_tokens,
                              const int *text_lengths, int B, int T, int H, int W,
                              float *out_velocity, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const vd_dit_config *c = &m->cfg;
    const int C = c->latent_channels, D = c->dim, L = c->max_text_len, Dt = c->text_dim;
    const int pt = c->patch_t, ph = c->patch_h, pw = c->patch_w, P = patch_dim(c);
    const int E = embed_dim(c);
    m->have_forward = 0;
    if (frame_mask && !c->frame_cond)
        return vd_fail(err, VD_ERR_ARG,
                       "dit: this model was not trained with given frames (frame_cond 0)");
    if (B < 1 || T < 1 || H < 1 || W < 1 || T % pt || H % ph || W % pw)
        return vd_fail(err, VD_ERR_SHAPE,
                       "dit: latent %dx%dx%dx%dx%d does not divide into %dx%dx%d patches", B, C,
                       T, H, W, pt, ph, pw);
    const int Tp = T / pt, Hp = H / ph, Wp = W / pw;
    const long long n_tok = (long long)Tp * Hp * Wp;
    if (n_tok * B > (1LL << 30) / (D > P ? D : P))
        return vd_fail(err, VD_ERR_SHAPE, "dit: %lld tokens per sample is too many", n_tok);
    const int N = (int)n_tok;
    const size_t M = (size_t)B * N;
    const int hd = D / c->heads, half = hd / 2;
    m->B = B;
    m->T = T;
    m->H = H;
    m->W = W;
    m->N = N;

    m->tokens = vd_arena_floats(arena, M * E);
    float *patches = E == P ? m->tokens : vd_arena_floats(arena, M * P);
    m->rope_cos = vd_arena_floats(arena, (size_t)N * half);
    m->rope_sin = vd_arena_floats(arena, (size_t)N * half);
    m->ctx = vd_arena_floats(arena, (size_t)B * L * Dt);
    m->pooled = vd_arena_floats(arena, (size_t)B * Dt);
    float *ts = vd_arena_floats(arena, (size_t)B);
    m->tfeat = vd_arena_floats(arena, (size_t)B * c->freq_dim);
    m->c = vd_arena_floats(arena, (size_t)B * D);
    m->sc = vd_arena_floats(arena, (size_t)B * D);
    float *tp = vd_arena_floats(arena, (size_t)B * D);
    for (int i = 0; i <= c->depth; i++) m->xs[i] = vd_arena_floats(arena, M * D);
    m->modf = vd_arena_floats(arena, (size_t)B * 2 * D);
    m->lnf = vd_arena_floats(arena, M * D);
    m->hf = vd_arena_floats(arena, M * D);
    m->meanf = vd_arena_floats(arena, M);
    m->rstdf = vd_arena_floats(arena, M);
    float *out_tok = vd_arena_floats(arena, M * P);
    int ok = m->tokens && patches && m->rope_cos && m->rope_sin && m->ctx && m->pooled && ts && m->tfeat &&
             m->c && m->sc && tp && m->modf && m->lnf && m->hf && m->meanf && m->rstdf && out_tok;
    for (int i = 0; i <= c->depth; i++) ok = ok && m->xs[i];
    if (!ok) return vd_fail(err, VD_ERR_NOMEM, "dit: out of memory for %zu tokens", M);

    /* Text, then the conditioning vector c = t_embed(t) + text_pool(pooled). */
    vd_status st = vd_text_encoder_forward(&m->text, m->params, text_tokens, text_lengths, B,
                                           m->ctx, m->pooled, &m->mask, arena, err);
    if (st != VD_OK) return vd_fail_prefix(err, st, "dit: ");
    for (int b = 0; b < B; b++) ts[b] = t[b] * DIT_TIME_SCALE;
    ops->timestep_embedding_fwd(m->tfeat, ts, B, c->freq_dim, DIT_MAX_PERIOD);
    st = vd_mlp_forward(&m->t_embed, m->params, &m->t_act, m->c, m->tfeat, B, arena, err);
    if (st != VD_OK) return vd_fail_prefix(err, st, "dit: t_embed: ");
    vd_linear_forward(&m->text_pool, m->params, tp, m->pooled, B);
    ops->add(m->c, m->c, tp, (size_t)B * D);
    if (c->word_cond) {
        const float *table = vd_params_data(m->params, m->word_cond);
        for (int b = 0; b < B; b++)
            for (int l = 0; l < m->text.lengths[b]; l++)
                ops->axpy(m->c + (size_t)b * D, 1.0f,
                          table + (size_t)m->text.ids[(size_t)b * L + l] * D, (size_t)D);
    }
    ops->silu_fwd(m->sc, m->c, (size_t)B * D);

    /* Patches, embedding, rotary tables over the (Tp, Hp, Wp) grid. */
    embed_input(m, m->tokens, patches, latent, frame_mask, B, T, H, W);
    vd_linear_forward(&m->x_embed, m->params, m->xs[0], m->tokens, (int)M);
    if (c->pos_embed) {
        /* A constant: the backward passes through it unchanged. */
        float *pe = vd_arena_floats(arena, (size_t)N * D);
        if (!pe) return vd_fail(err, VD_ERR_NOMEM, "dit: out of memory for %d position features", N);
        vd_pos3d_table(pe, Tp, Hp, Wp, D);
        for (int b = 0; b < B; b++) {
            float *xb = m->xs[0] + (size_t)b * N * D;
            ops->add(xb, xb, pe, (size_t)N * D);
        }
    }
    int rt, rh, rw;
    vd_rope3d_split(hd, &rt, &rh, &rw);
    vd_rope3d_table(m->rope_cos, m->rope_sin, Tp, Hp, Wp, hd, rt, rh, rw, c->rope_theta, 0, 0, 0);

    for (int i = 0; i < c->depth; i++) {
        st = vd_dit_block_forward(&m->blocks[i], m->params, &m->acts[i], m->xs[i + 1], m->xs[i],
                                  m->sc, m->ctx, m->mask, L, m->rope_cos, m->rope_sin, B, N,
                                  arena, err);
        if (st != VD_OK) return vd_fail_prefix(err, st, "dit: block %d: ", i);
    }

    /* Final layer. */
    const float *x = m->xs[c->depth];
    vd_linear_forward(&m->final_adaln, m->params, m->modf, m->sc, B);
    ops->layernorm_fwd(m->lnf, m->meanf, m->rstdf, x, NULL, NULL, (int)M, D, DIT_LN_EPS);
    ops->modulate_fwd(m->hf, m->lnf, m->modf, m->modf + D, B, N, D, 2 * D);
    vd_linear_forward(&m->final_linear, m->params, out_tok, m->hf, (int)M);
    ops->unpatchify(out_velocity, out_tok, B, C, T, H, W, pt, ph, pw, 0);
    m->have_forward = 1;
    return VD_OK;
}

/* --------------------------------------------------------------- backward */

vd_status vd_dit_backward(vd_dit *m, const float *dout, float *dlatent, vd_arena *arena,
                          vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    const vd_dit_config *c = &m->cfg;
    if (!m->have_forward)
        return vd_fail(err, VD_ERR_ARG, "dit: backward without a successful forward");
    const int B = m->B, N = m->N, C = c->latent_channels, D = c->dim, P = patch_dim(c);
    const int E = embed_dim(c), L = c->max_text_len, Dt = c->text_dim;
    const size_t M = (size_t)B * N, mark = vd_arena_mark(arena);
    vd_status st = VD_OK;
    float *dtok = vd_arena_zeros(arena, M * E), *dhf = vd_arena_zeros(arena, M * D);
    float *dlnf = vd_arena_zeros(arena, M * D), *dmodf = vd_arena_zeros(arena, (size_t)B * 2 * D);
    float *dx = vd_arena_zeros(arena, M * D), *dprev = vd_arena_floats(arena, M * D);
    float *dsc = vd_arena_zeros(arena, (size_t)B * D), *dc = vd_arena_zeros(arena, (size_t)B * D);
    float *dctx = vd_arena_zeros(arena, (size_t)B * L * Dt);
    float *dpooled = vd_arena_zeros(arena, (size_t)B * Dt);
    if (!dtok || !dhf || !dlnf || !dmodf || !dx || !dprev || !dsc || !dc || !dctx || !dpooled) {
        st = vd_fail(err, VD_ERR_NOMEM, "dit: backward: out of memory for %zu tokens", M);
        goto done;
    }
    ops->patchify(dtok, dout, B, C, m->T, m->H, m->W, c->patch_t, c->patch_h, c->patch_w, 1);
    vd_linear_backward(&m->final_linear, m->params, dhf, dtok, m->hf, (int)M);
    ops->modulate_bwd(dlnf, dmodf, dmodf + D, dhf, m->lnf, m->modf + D, B, N, D, 2 * D);
    ops->layernorm_bwd(dx, NULL, NULL, dlnf, m->xs[c->depth], NULL, m->meanf, m->rstdf, (int)M, D);
    vd_linear_backward(&m->final_adaln, m->params, dsc, dmodf, m->sc, B);

    for (int i = c->depth - 1; i >= 0; i--) {
        ops->zero(dprev, M * D);
        st = vd_dit_block_backward(&m->blocks[i], m->params, &m->acts[i], dprev, dsc, dctx, dx,
                                   arena, err);
        if (st != VD_OK) {
            st = vd_fail_prefix(err, st, "dit: block %d: ", i);
            goto done;
        }
        float *tmp = dx;
        dx = dprev;
        dprev = tmp;
    }
    /* Patch embedding; dtok is free again and receives the token gradient. */
    if (dlatent) memset(dtok, 0, M * E * sizeof *dtok);
    vd_linear_backward(&m->x_embed, m->params, dlatent ? dtok : NULL, dx, m->tokens, (int)M);
    if (dlatent && E != P) /* drop the mask feature: rows of E to rows of P, in place */
        for (size_t r = 0; r < M; r++) memmove(dtok + r * P, dtok + r * E, (size_t)P * sizeof *dtok);
    if (dlatent)
        ops->unpatchify(dlatent, dtok, B, C, m->T, m->H, m->W, c->patch_t, c->patch_h,
                        c->patch_w, 1);

    /* Conditioning: c = t_embed(tfeat) + text_pool(pooled). */
    ops->silu_bwd(dc, dsc, m->c, (size_t)B * D);
    float *dword = c->word_cond ? vd_params_grad(m->params, m->word_cond) : NULL;
    if (dword) /* in prompt order: the same sums for any thread count */
        for (int b = 0; b < B; b++)
            for (int l = 0; l < m->text.lengths[b]; l++)
                ops->axpy(dword + (size_t)m->text.ids[(size_t)b * L + l] * D, 1.0f,
                          dc + (size_t)b * D, (size_t)D);
    vd_linear_backward(&m->text_pool, m->params, dpooled, dc, m->pooled, B);
    st = vd_mlp_backward(&m->t_embed, m->params, &m->t_act, NULL, dc, arena, err);
    if (st != VD_OK) goto done;
    st = vd_text_encoder_backward(&m->text, m->params, dctx, dpooled, arena, err);
    if (st != VD_OK) st = vd_fail_prefix(err, st, "dit: ");
done:
    vd_arena_reset(arena, mark);
    return st;
}

/* -------------------------------------------------------------------- CFG */

vd_status vd_dit_forward_cfg(vd_dit *m, const float *latent, const float *t,
                             const int32_t *text_tokens, const int *text_lengths, int B,
                             int T, int H, int W, float guidance, float *out_velocity,
                             vd_arena *arena, vd_error *err) {
    return vd_dit_forward_cfg_cond(m, latent, NULL, t, text_tokens, text_lengths, B, T, H, W,
                                   guidance, out_velocity, arena, err);
}

vd_status vd_dit_forward_cfg_cond(vd_dit *m, const float *latent, const uint8_t *frame_mask,
                                  const float *t, const int32_t *text_tokens,
                                  const int *text_lengths, int B, int T, int H, int W,
                                  float guidance, float *out_velocity, vd_arena *arena,
                                  vd_error *err) {
    const int L = m->cfg.max_text_len;
    if (B < 1 || T < 1 || H < 1 || W < 1)
        return vd_fail(err, VD_ERR_SHAPE, "dit: cfg: empty batch or latent");
    const size_t per = (size_t)m->cfg.latent_channels * T * H * W, n = (size_t)B * per;
    float *lat2 = vd_arena_floats(arena, 2 * n), *v2 = vd_arena_floats(arena, 2 * n);
    float *t2 = vd_arena_floats(arena, 2 * (size_t)B);
    int32_t *tok2 = vd_arena_alloc(arena, 2 * (size_t)B * L * sizeof *tok2);
    int *len2 = vd_arena_alloc(arena, 2 * (size_t)B * sizeof *len2);
    uint8_t *mask2 = frame_mask ? vd_arena_alloc(arena, 2 * (size_t)B * T) : NULL;
    if (!lat2 || !v2 || !t2 || !tok2 || !len2 || (frame_mask && !mask2))
        return vd_fail(err, VD_ERR_NOMEM, "dit: cfg: out of memory");
    memcpy(lat2, latent, n * sizeof *lat2);
    memcpy(lat2 + n, latent, n * sizeof *lat2);
    memcpy(t2, t, (size_t)B * sizeof *t2);
    memcpy(t2 + B, t, (size_t)B * sizeof *t2);
    memset(tok2, 0, 2 * (size_t)B * L * sizeof *tok2);
    for (int b = 0; b < B; b++) {
        len2[b] = text_tokens && text_lengths ? text_lengths[b] : 0;
        len2[B + b] = 0;
    }
    if (text_tokens) memcpy(tok2, text_tokens, (size_t)B * L * sizeof *tok2);
    if (mask2) {
        memcpy(mask2, frame_mask, (size_t)B * T);
        memcpy(mask2 + (size_t)B * T, frame_mask, (size_t)B * T);
    }
    vd_status st = vd_dit_forward_cond(m, lat2, mask2, t2, tok2, len2, 2 * B, T, H, W, v2,
                                       arena, err);
    if (st != VD_OK) return st;
    /* v = v_u + g (v_c - v_u) */
    for (size_t i = 0; i < n; i++) out_velocity[i] = v2[n + i] + guidance * (v2[i] - v2[n + i]);
    return VD_OK;
}
