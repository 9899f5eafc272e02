/* The DiT and its text encoder: PyTorch goldens (one block, the text
 * encoder, a whole depth-2 model, every parameter gradient), finite
 * differences, adaLN-zero, thread-count determinism, unseen sizes,
 * classifier-free guidance in one batch, and no system allocation after
 * the first step. Set VIDIT_DIT_BENCH=configs/dit_default.json to time a
 * training step of that config at batch 8. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/strbuf.h"
#include "models/dit.h"
#include "ops/ops.h"
#include "test.h"

/* Goldens are float64 references; float32 sums over a few hundred terms. */
#define GOLD_ATOL 1e-4
#define GOLD_RTOL 1e-3

static void *xcalloc(size_t n, size_t size) {
    void *p = calloc(n ? n : 1, size);
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* Copies every parameter p.<name> of a golden into params (strip: a prefix
 * of the C names that the golden does not have). Returns 0 on a mismatch. */
static int load_params(vt_golden *g, vd_params *p, const char *strip) {
    int ok = 1;
    for (size_t i = 0; i < vd_params_count(p); i++) {
        const vd_param_info *info = vd_params_info(p, i);
        char key[256];
        snprintf(key, sizeof key, "p.%s", info->name + strlen(strip));
        size_t n = 0;
        float *v = vt_golden_get(g, key, &n, NULL, NULL);
        CHECK(v && n == info->numel, "golden %s: %zu elements, want %zu", key, n, info->numel);
        if (v && n == info->numel) memcpy(vd_params_data(p, i), v, n * sizeof *v);
        else ok = 0;
        free(v);
    }
    return ok;
}

static void check_grads(vt_golden *g, vd_params *p, const char *strip, const char *what,
                        double atol, double rtol) {
    for (size_t i = 0; i < vd_params_count(p); i++) {
        const vd_param_info *info = vd_params_info(p, i);
        char key[256], label[300];
        snprintf(key, sizeof key, "g.%s", info->name + strlen(strip));
        snprintf(label, sizeof label, "%s d%s", what, info->name);
        size_t n = 0;
        float *want = vt_golden_get(g, key, &n, NULL, NULL);
        if (want && n == info->numel)
            vt_close(label, vd_params_grad(p, i), want, n, atol, rtol);
        else
            CHECK(0, "golden %s missing or of the wrong size", key);
        free(want);
    }
}

static uint8_t *mask_from_i32(const int32_t *m, size_t n) {
    uint8_t *out = xcalloc(n, 1);
    for (size_t i = 0; i < n; i++) out[i] = (uint8_t)(m[i] != 0);
    return out;
}

/* ------------------------------------------------------------ goldens */

static void golden_block(vd_arena *arena) {
    const vd_ops *ops = vd_ops_cpu();
    vt_golden *g = vt_golden_open("dit_block");
    if (!g) return;
    const int D = (int)vt_golden_attr(g, "D", 0), heads = (int)vt_golden_attr(g, "heads", 0);
    const int Dt = (int)vt_golden_attr(g, "text_dim", 0), B = (int)vt_golden_attr(g, "B", 0);
    const int T = (int)vt_golden_attr(g, "T", 0), H = (int)vt_golden_attr(g, "H", 0);
    const int W = (int)vt_golden_attr(g, "W", 0), L = (int)vt_golden_attr(g, "L", 0);
    const float theta = (float)vt_golden_attr(g, "theta", 0);
    const int N = T * H * W, hd = D / heads;
    vd_error err = {0};
    vd_params *p = vd_params_new(NULL);
    vd_dit_block blk;
    vd_status st = vd_dit_block_declare(&blk, p, "blk", D, heads, Dt, &err);
    if (st == VD_OK) st = vd_params_alloc(p, 1, &err);
    CHECK(st == VD_OK, "block declare: %s", err.message);
    size_t nm = 0;
    float *x = vt_golden_get(g, "x", NULL, NULL, NULL), *c = vt_golden_get(g, "c", NULL, NULL, NULL);
    float *ctx = vt_golden_get(g, "ctx", NULL, NULL, NULL), *dy = vt_golden_get(g, "dy", NULL, NULL, NULL);
    float *y_w = vt_golden_get(g, "y", NULL, NULL, NULL), *dx_w = vt_golden_get(g, "dx", NULL, NULL, NULL);
    float *dc_w = vt_golden_get(g, "dc", NULL, NULL, NULL);
    float *dctx_w = vt_golden_get(g, "dctx", NULL, NULL, NULL);
    int32_t *m32 = vt_golden_get_i32(g, "mask", &nm);
    if (st == VD_OK && x && c && ctx && dy && y_w && dx_w && dc_w && dctx_w && m32 &&
        nm == (size_t)B * L && load_params(g, p, "blk.")) {
        const size_t MD = (size_t)B * N * D;
        uint8_t *mask = mask_from_i32(m32, nm);
        float *sc = xcalloc((size_t)B * D, 4), *y = xcalloc(MD, 4), *dx = xcalloc(MD, 4);
        float *dsc = xcalloc((size_t)B * D, 4), *dc = xcalloc((size_t)B * D, 4);
        float *dctx = xcalloc((size_t)B * L * Dt, 4);
        float *cs = xcalloc((size_t)N * hd / 2, 4), *sn = xcalloc((size_t)N * hd / 2, 4);
        int rt, rh, rw;
        vd_rope3d_split(hd, &rt, &rh, &rw);
        vd_rope3d_table(cs, sn, T, H, W, hd, rt, rh, rw, theta, 0, 0, 0);
        ops->silu_fwd(sc, c, (size_t)B * D);
        vd_dit_block_act act;
        vd_params_zero_grad(p);
        st = vd_dit_block_forward(&blk, p, &act, y, x, sc, ctx, mask, L, cs, sn, B, N, arena, &err);
        CHECK(st == VD_OK, "block forward: %s", err.message);
        vt_close("block y", y, y_w, MD, GOLD_ATOL, GOLD_RTOL);
        st = vd_dit_block_backward(&blk, p, &act, dx, dsc, dctx, dy, arena, &err);
        CHECK(st == VD_OK, "block backward: %s", err.message);
        ops->silu_bwd(dc, dsc, c, (size_t)B * D);
        vt_close("block dx", dx, dx_w, MD, GOLD_ATOL, GOLD_RTOL);
        vt_close("block dc", dc, dc_w, (size_t)B * D, GOLD_ATOL, GOLD_RTOL);
        vt_close("block dctx", dctx, dctx_w, (size_t)B * L * Dt, GOLD_ATOL, GOLD_RTOL);
        check_grads(g, p, "blk.", "block", GOLD_ATOL, GOLD_RTOL);
        free(mask), free(sc), free(y), free(dx), free(dsc), free(dc), free(dctx), free(cs), free(sn);
    } else {
        CHECK(0, "dit_block golden incomplete");
    }
    vd_arena_reset(arena, 0);
    free(x), free(c), free(ctx), free(dy), free(y_w), free(dx_w), free(dc_w), free(dctx_w), free(m32);
    vd_params_free(p);
    vt_golden_close(g);
}

static void golden_text(vd_arena *arena) {
    vt_golden *g = vt_golden_open("dit_text");
    if (!g) return;
    vd_text_config tc = {(int)vt_golden_attr(g, "vocab", 0), (int)vt_golden_attr(g, "dim", 0),
                         (int)vt_golden_attr(g, "depth", 0), (int)vt_golden_attr(g, "heads", 0),
                         (int)vt_golden_attr(g, "max_len", 0), 0};
    const int B = (int)vt_golden_attr(g, "B", 0), L = tc.max_len, Dt = tc.dim;
    vd_error err = {0};
    vd_params *p = vd_params_new(NULL);
    vd_text_encoder te;
    vd_status st = vd_text_encoder_init(&te, &tc, p, "text.", NULL, &err);
    if (st == VD_OK) st = vd_params_alloc(p, 1, &err);
    CHECK(st == VD_OK, "text encoder init: %s", err.message);
    size_t nt = 0, nl = 0;
    int32_t *tok = vt_golden_get_i32(g, "tokens", &nt), *len32 = vt_golden_get_i32(g, "lengths", &nl);
    float *ctx_w = vt_golden_get(g, "ctx", NULL, NULL, NULL);
    float *pooled_w = vt_golden_get(g, "pooled", NULL, NULL, NULL);
    float *dctx = vt_golden_get(g, "dctx", NULL, NULL, NULL);
    float *dpooled = vt_golden_get(g, "dpooled", NULL, NULL, NULL);
    if (st == VD_OK && tok && len32 && ctx_w && pooled_w && dctx && dpooled &&
        nt == (size_t)B * L && nl == (size_t)B && load_params(g, p, "")) {
        int lengths[16];
        for (int b = 0; b < B && b < 16; b++) lengths[b] = len32[b];
        float *ctx = xcalloc((size_t)B * L * Dt, 4), *pooled = xcalloc((size_t)B * Dt, 4);
        vd_params_zero_grad(p);
        const uint8_t *mask = NULL;
        st = vd_text_encoder_forward(&te, p, tok, lengths, B, ctx, pooled, &mask, arena, &err);
        CHECK(st == VD_OK, "text forward: %s", err.message);
        vt_close("text ctx", ctx, ctx_w, (size_t)B * L * Dt, GOLD_ATOL, GOLD_RTOL);
        vt_close("text pooled", pooled, pooled_w, (size_t)B * Dt, GOLD_ATOL, GOLD_RTOL);
        CHECK(mask && mask[0] == 1 && mask[(size_t)2 * L] == 0, "text mask");
        st = vd_text_encoder_backward(&te, p, dctx, dpooled, arena, &err);
        CHECK(st == VD_OK, "text backward: %s", err.message);
        check_grads(g, p, "", "text", GOLD_ATOL, GOLD_RTOL);
        /* text_pool sum: the same context, pooled as length x the mean. */
        te.cfg.pool_sum = 1;
        st = vd_text_encoder_forward(&te, p, tok, lengths, B, ctx, pooled, &mask, arena, &err);
        CHECK(st == VD_OK, "text forward, pool sum: %s", err.message);
        for (int b = 0; b < B; b++)
            for (int d = 0; d < Dt; d++) pooled_w[(size_t)b * Dt + d] *= (float)lengths[b];
        vt_close("text pooled, sum", pooled, pooled_w, (size_t)B * Dt, GOLD_ATOL, GOLD_RTOL);
        free(ctx), free(pooled);
    } else {
        CHECK(0, "dit_text golden incomplete");
    }
    vd_arena_reset(arena, 0);
    free(tok), free(len32), free(ctx_w), free(pooled_w), free(dctx), free(dpooled);
    vd_text_encoder_release(&te);
    vd_params_free(p);
    vt_golden_close(g);
}

/* The tiny model of the golden, its inputs and its numbers. */
typedef struct tiny {
    vd_dit *m;
    int B, T, H, W;
    size_t nlat;
    float *latent, *t, *dy, *y_w, *dlatent_w;
    int32_t *tokens;
    int lengths[8];
    vd_arena *arena;
} tiny;

static int tiny_open(tiny *k, vt_golden *g, vd_arena *arena) {
    memset(k, 0, sizeof *k);
    vd_dit_config cfg;
    vd_dit_config_default(&cfg);
    cfg.dim = (int)vt_golden_attr(g, "dim", 0);
    cfg.depth = (int)vt_golden_attr(g, "depth", 0);
    cfg.heads = (int)vt_golden_attr(g, "heads", 0);
    cfg.patch_t = (int)vt_golden_attr(g, "patch_t", 0);
    cfg.patch_h = (int)vt_golden_attr(g, "patch_h", 0);
    cfg.patch_w = (int)vt_golden_attr(g, "patch_w", 0);
    cfg.latent_channels = (int)vt_golden_attr(g, "latent_channels", 0);
    cfg.text_dim = (int)vt_golden_attr(g, "text_dim", 0);
    cfg.text_depth = (int)vt_golden_attr(g, "text_depth", 0);
    cfg.text_heads = (int)vt_golden_attr(g, "text_heads", 0);
    cfg.vocab_size = (int)vt_golden_attr(g, "vocab_size", 0);
    cfg.max_text_len = (int)vt_golden_attr(g, "max_text_len", 0);
    cfg.rope_theta = (float)vt_golden_attr(g, "rope_theta", 0);
    cfg.freq_dim = (int)vt_golden_attr(g, "freq_dim", 0);
    k->B = (int)vt_golden_attr(g, "B", 0);
    k->T = (int)vt_golden_attr(g, "T", 0);
    k->H = (int)vt_golden_attr(g, "H", 0);
    k->W = (int)vt_golden_attr(g, "W", 0);
    k->arena = arena;
    vd_error err = {0};
    vd_status st = vd_dit_new(&k->m, &cfg, 1, 1, NULL, &err);
    CHECK(st == VD_OK, "tiny dit: %s", err.message);
    if (st != VD_OK || k->B > 8) return 0;
    size_t nt = 0, nl = 0;
    k->latent = vt_golden_get(g, "latent", &k->nlat, NULL, NULL);
    k->t = vt_golden_get(g, "t", NULL, NULL, NULL);
    k->dy = vt_golden_get(g, "dy", NULL, NULL, NULL);
    k->y_w = vt_golden_get(g, "y", NULL, NULL, NULL);
    k->dlatent_w = vt_golden_get(g, "dlatent", NULL, NULL, NULL);
    k->tokens = vt_golden_get_i32(g, "tokens", &nt);
    int32_t *len32 = vt_golden_get_i32(g, "lengths", &nl);
    int ok = k->latent && k->t && k->dy && k->y_w && k->dlatent_w && k->tokens && len32 &&
             nl == (size_t)k->B && nt == (size_t)k->B * cfg.max_text_len &&
             k->nlat == (size_t)k->B * cfg.latent_channels * k->T * k->H * k->W;
    for (int b = 0; ok && b < k->B; b++) k->lengths[b] = len32[b];
    free(len32);
    return ok && load_params(g, vd_dit_params(k->m), "");
}

static void tiny_close(tiny *k) {
    vd_dit_free(k->m);
    free(k->latent), free(k->t), free(k->dy), free(k->y_w), free(k->dlatent_w), free(k->tokens);
}

/* One step: forward, then backward of sum(w * y) when w is given. */
static vd_status tiny_step(tiny *k, const float *latent, float *y, const float *w, float *dlatent) {
    vd_error err = {0};
    vd_arena_reset(k->arena, 0);
    vd_status st = vd_dit_forward(k->m, latent, k->t, k->tokens, k->lengths, k->B, k->T, k->H,
                                  k->W, y, k->arena, &err);
    if (st == VD_OK && w) st = vd_dit_backward(k->m, w, dlatent, k->arena, &err);
    CHECK(st == VD_OK, "tiny step: %s", err.message);
    return st;
}

static double tiny_loss(void *ctx) {
    tiny *k = ctx;
    float *y = xcalloc(k->nlat, 4);
    tiny_step(k, k->latent, y, NULL, NULL);
    double l = vt_weighted_sum(y, k->dy, k->nlat);
    free(y);
    return l;
}

static void golden_tiny(vd_arena *arena) {
    vt_golden *g = vt_golden_open("dit_tiny");
    if (!g) return;
    tiny k;
    if (tiny_open(&k, g, arena)) {
        vd_params *p = vd_dit_params(k.m);
        float *y = xcalloc(k.nlat, 4), *dlat = xcalloc(k.nlat, 4);
        vd_params_zero_grad(p);
        tiny_step(&k, k.latent, y, k.dy, dlat);
        vt_close("tiny y", y, k.y_w, k.nlat, GOLD_ATOL, GOLD_RTOL);
        vt_close("tiny dlatent", dlat, k.dlatent_w, k.nlat, GOLD_ATOL, GOLD_RTOL);
        /* A whole model's parameter gradients pass through every layer
         * (two blocks, the text encoder, the timestep MLP) in float32, and
         * the sums' order is the BLAS kernel's: on one machine's OpenBLAS
         * the worst element was off by 1.3e-4 of 0.027, on another within
         * 1e-4. The layer-by-layer goldens above keep the tight bound. */
        check_grads(g, p, "", "tiny", 3 * GOLD_ATOL, 3 * GOLD_RTOL);

        free(y), free(dlat);
    } else {
        CHECK(0, "dit_tiny golden incomplete");
    }
    tiny_close(&k);
    vd_arena_reset(arena, 0);
    vt_golden_close(g);
}

/* ---------------------------------------------------- model properties */

static vd_dit_config small_config(void) {
    vd_dit_config c;
    vd_dit_config_default(&c);
    c.dim = 32;
    c.depth = 2;
    c.heads = 2;
    c.latent_channels = 4;
    c.text_dim = 16;
    c.text_depth = 1;
    c.text_heads = 2;
    c.vocab_size = 300;
    c.max_text_len = 8;
    c.freq_dim = 32;
    return c;
}

/* Perturbs every parameter so that zero-initialised layers are live. */
static void randomise(vd_dit *m, uint64_t seed) {
    vd_params *p = vd_dit_params(m);
    size_t n = vd_params_numel(p);
    float *noise = xcalloc(n, 4);
    vt_fill_normal(noise, n, seed);
    float *v = vd_params_all(p);
    for (size_t i = 0; i < n; i++) v[i] += 0.05f * noise[i];
    free(noise);
}

/* Finite differences through a whole step of a small model whose every
 * parameter (zero-initialised ones included) is perturbed: an even spread of
 * parameters (every layer kind) and of latent values. The model is mildly
 * non-linear: a central difference with h = 5e-3 in float32 stays within
 * 1e-3 + 2% (worst about a fifth of that). */
enum { PLAIN, POS_EMBED, TEXT_POOL_SUM, WORD_COND };

static void test_gradcheck(vd_arena *arena, int variant) {
    static const char *const names[] = {"", ", pos_embed", ", text_pool sum", ", word_cond"};
    vd_dit_config c = small_config();
    c.pos_embed = variant == POS_EMBED;
    c.text_pool_sum = variant == TEXT_POOL_SUM;
    c.word_cond = variant == WORD_COND;
    c.dim = 16;
    c.text_dim = 12;
    c.latent_channels = 3;
    c.max_text_len = 5;
    c.freq_dim = 16;
    tiny k;
    memset(&k, 0, sizeof k);
    vd_error err = {0};
    if (vd_dit_new(&k.m, &c, 21, 1, NULL, &err) != VD_OK) {
        CHECK(0, "gradcheck model: %s", err.message);
        return;
    }
    randomise(k.m, 22);
    k.B = 2, k.T = 2, k.H = 4, k.W = 4, k.arena = arena;
    k.nlat = (size_t)k.B * c.latent_channels * k.T * k.H * k.W;
    k.latent = xcalloc(k.nlat, 4);
    k.dy = xcalloc(k.nlat, 4);
    k.t = xcalloc(2, 4);
    k.tokens = xcalloc((size_t)k.B * c.max_text_len, 4);
    vt_fill_normal(k.latent, k.nlat, 23);
    vt_fill_normal(k.dy, k.nlat, 24);
    k.t[0] = 0.25f, k.t[1] = 0.75f;
    k.lengths[0] = 3, k.lengths[1] = 5;
    for (int i = 0; i < k.B * c.max_text_len; i++) k.tokens[i] = 2 + (i * 37) % 290;
    vd_params *p = vd_dit_params(k.m);
    size_t np = vd_params_numel(p);
    float *y = xcalloc(k.nlat, 4), *dlat = xcalloc(k.nlat, 4), *grad = xcalloc(np, 4);
    vd_params_zero_grad(p);
    tiny_step(&k, k.latent, y, k.dy, dlat);
    memcpy(grad, vd_params_all_grad(p), np * sizeof *grad);
    char name[96];
    snprintf(name, sizeof name, "dit parameters%s (finite differences)", names[variant]);
    vt_gradcheck(name, tiny_loss, &k, vd_params_all(p), grad, np, 5e-3, 1e-3, 2e-2,
                 vt_quick() || variant != PLAIN ? 24 : 120);
    /* Summing changes only the text encoder's backward: its parameters get
     * a check of their own, not a few of the whole model's draws. */
    if (variant == TEXT_POOL_SUM) {
        size_t first = vd_params_info(p, vd_params_find(p, "text.tok_emb.weight"))->offset;
        size_t end = vd_params_info(p, vd_params_find(p, "text.norm.bias"))->offset +
                     vd_params_info(p, vd_params_find(p, "text.norm.bias"))->numel;
        snprintf(name, sizeof name, "dit text encoder%s (finite differences)", names[variant]);
        vt_gradcheck(name, tiny_loss, &k, vd_params_all(p) + first, grad + first, end - first,
                     5e-3, 1e-3, 2e-2, 24);
    }
    /* The word vectors: rows of the prompts' tokens get gradients, every
     * other row none; a token used twice gets both uses. */
    if (variant == WORD_COND) {
        const vd_param_info *wi = vd_params_info(p, vd_params_find(p, "word_cond.weight"));
        snprintf(name, sizeof name, "dit word vectors (finite differences)");
        size_t row0 = (size_t)k.tokens[0] * (size_t)c.dim;
        vt_gradcheck(name, tiny_loss, &k, vd_params_all(p) + wi->offset + row0,
                     grad + wi->offset + row0, (size_t)c.dim, 5e-3, 1e-3, 2e-2, 16);
        int used[400] = {0}, unused_nonzero = 0;
        for (int b = 0; b < k.B; b++)
            for (int l = 0; l < k.lengths[b]; l++) used[k.tokens[b * c.max_text_len + l]] = 1;
        for (int v = 0; v < c.vocab_size && v < 400; v++)
            for (int d = 0; d < c.dim && !used[v]; d++)
                unused_nonzero += grad[wi->offset + (size_t)v * c.dim + d] != 0.0f;
        CHECK(unused_nonzero == 0, "%d gradients in rows of tokens no prompt holds", unused_nonzero);
    }
    snprintf(name, sizeof name, "dit latent%s (finite differences)", names[variant]);
    vt_gradcheck(name, tiny_loss, &k, k.latent, dlat, k.nlat, 5e-3, 1e-3, 2e-2,
                 vt_quick() || variant != PLAIN ? 8 : 40);
    free(y), free(dlat), free(grad);
    tiny_close(&k);
    vd_arena_reset(arena, 0);
}

/* c as a model file's config JSON (*json, the caller frees it), parsed back
 * into r from the defaults. */
static vd_status round_trip(const vd_dit_config *c, vd_dit_config *r, char **json, vd_error *err) {
    vd_strbuf js;
    vd_strbuf_init(&js);
    vd_dit_config_to_json(c, &js);
    size_t n = strlen(vd_strbuf_cstr(&js));
    *json = xcalloc(n + 1, 1);
    memcpy(*json, vd_strbuf_cstr(&js), n);
    vd_strbuf_free(&js);
    vd_dit_config_default(r);
    return vd_dit_config_parse(r, *json, n, "json", err);
}

/* The position features: the documented layout entry by entry, what the
 * model does with them, and the config key. */
static void test_pos_embed(vd_arena *arena) {
    const int T = 3, Hh = 4, Ww = 5, D = 22; /* groups: time 10, height 6, width 6 */
    const int N = T * Hh * Ww, size[3] = {10, 6, 6};
    float *pe = xcalloc((size_t)N * D, 4);
    vd_pos3d_table(pe, T, Hh, Ww, D);
    double worst = 0;
    for (int t = 0; t < T; t++)
        for (int h = 0; h < Hh; h++)
            for (int w = 0; w < Ww; w++) {
                const float *row = pe + (size_t)((t * Hh + h) * Ww + w) * D;
                const int pos[3] = {t, h, w};
                for (int a = 0, off = 0; a < 3; off += size[a], a++)
                    for (int j = 0; j < size[a] / 2; j++) {
                        double f = 1.0 / pow(10000.0, 2.0 * j / size[a]);
                        worst = fmax(worst, fabs(row[off + j] - sin(pos[a] * f)));
                        worst = fmax(worst, fabs(row[off + size[a] / 2 + j] - cos(pos[a] * f)));
                    }
            }
    CHECK(worst < 1e-6, "pos3d table: off by %g from sin/cos of the place", worst);
    free(pe);

    /* Same weights with and without: the features change the output, and
     * the model without them is the one it always was (the golden tests). */
    vd_dit_config c = small_config();
    vd_dit *m0 = NULL, *m1 = NULL;
    vd_error err = {0};
    c.pos_embed = 1;
    CHECK(vd_dit_new(&m1, &c, 9, 0, NULL, &err) == VD_OK, "new pos_embed: %s", err.message);
    c.pos_embed = 0;
    CHECK(vd_dit_new(&m0, &c, 9, 0, NULL, &err) == VD_OK, "new: %s", err.message);
    if (m0 && m1) {
        randomise(m0, 10);
        randomise(m1, 10);
        const int B = 1, Tl = 2, H = 4, W = 4;
        size_t n = (size_t)B * c.latent_channels * Tl * H * W;
        float *lat = xcalloc(n, 4), *y0 = xcalloc(n, 4), *y1 = xcalloc(n, 4), t = 0.5f;
        vt_fill_normal(lat, n, 11);
        int32_t tok[8] = {5, 6, 7};
        int len = 3;
        CHECK(vd_dit_forward(m0, lat, &t, tok, &len, B, Tl, H, W, y0, arena, &err) == VD_OK,
              "forward: %s", err.message);
        vd_arena_reset(arena, 0);
        CHECK(vd_dit_forward(m1, lat, &t, tok, &len, B, Tl, H, W, y1, arena, &err) == VD_OK,
              "forward pos_embed: %s", err.message);
        vd_arena_reset(arena, 0);
        double diff = 0;
        for (size_t i = 0; i < n; i++) diff = fmax(diff, fabs(y0[i] - y1[i]));
        CHECK(diff > 1e-3, "pos_embed changes the output by only %g", diff);
        free(lat), free(y0), free(y1);
    }
    vd_dit_free(m0);
    vd_dit_free(m1);

    vd_dit_config r;
    c = small_config();
    char *js = NULL;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && !strstr(js, "pos_embed"),
          "pos_embed 0 is not written: %s", js);
    free(js);
    c.pos_embed = 1;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && r.pos_embed == 1, "pos_embed round trip: %s",
          js);
    free(js);
    const char *bad = "{\"pos_embed\": 2}";
    vd_dit_config_default(&r);
    CHECK(vd_dit_config_parse(&r, bad, strlen(bad), "bad", &err) == VD_ERR_ARG &&
              strstr(err.message, "pos_embed"),
          "pos_embed 2 refused: %s", err.message);
}

/* The text keys: the embeddings' init scale (kept in the model's config
 * only when it is not the default, and drawn at the asked scale) and the
 * pooling (written only for "sum"; anything but "mean" or "sum" refused). */
static void test_text_config_keys(void) {
    vd_error err;
    vd_dit_config c = small_config(), r;
    char *js = NULL;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && !strstr(js, "text_embed_std") &&
              !strstr(js, "text_pool"),
          "default text keys are not written: %s", js);
    free(js);
    c.text_embed_std = 1.0f;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && r.text_embed_std == 1.0f,
          "text_embed_std round trip: %s", js);
    free(js);
    const char *bad[][2] = {{"{\"text_embed_std\": 0}", "text_embed_std"},
                            {"{\"text_embed_std\": -1}", "text_embed_std"},
                            {"{\"text_embed_std\": 11}", "text_embed_std"},
                            {"{\"text_pool\": \"max\"}", "text_pool"},
                            {"{\"text_pool\": 1}", "text_pool"}};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vd_dit_config_default(&r);
        vd_status st = vd_dit_config_parse(&r, bad[i][0], strlen(bad[i][0]), "bad", &err);
        CHECK(st != VD_OK && strstr(err.message, bad[i][1]), "%s refused: %s", bad[i][0],
              err.message);
    }
    c.text_pool_sum = 1;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && strstr(js, "\"text_pool\":\"sum\"") &&
              r.text_pool_sum == 1,
          "text_pool sum round trip: %s", js);
    free(js);
    c.text_pool_sum = 0;
    const float stds[] = {0.02f, 1.0f};
    for (int k = 0; k < 2; k++) {
        c.text_embed_std = stds[k];
        vd_dit *m = NULL;
        CHECK(vd_dit_new(&m, &c, 5, 0, NULL, &err) == VD_OK, "new: %s", err.message);
        if (!m) continue;
        const char *names[] = {"text.tok_emb.weight", "text.pos_emb.weight"};
        for (int j = 0; j < 2; j++) {
            vd_params *p = vd_dit_params(m);
            size_t id = vd_params_find(p, names[j]);
            CHECK(id != (size_t)-1, "%s declared", names[j]);
            if (id == (size_t)-1) continue;
            const float *w = vd_params_data(p, id);
            size_t n = vd_params_info(p, id)->numel;
            double ss = 0;
            for (size_t i = 0; i < n; i++) ss += (double)w[i] * w[i];
            double sd = sqrt(ss / (double)n);
            CHECK(fabs(sd / stds[k] - 1.0) < 0.1, "%s std %g, asked %g", names[j], sd,
                  (double)stds[k]);
        }
        vd_dit_free(m);
    }
}

/* word_cond: the key's round trip and refusals, vectors drawn N(0, 1) after
 * every other weight (so the rest of the model is what the same seed gives
 * without them), and what they do: words change the output, the empty
 * prompt (the unconditional branch of guidance) gets nothing from them. */
static void test_word_cond(vd_arena *arena) {
    vd_error err = {0};
    vd_dit_config c = small_config(), r;
    char *js = NULL;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && !strstr(js, "word_cond") && r.word_cond == 0,
          "word_cond 0 is not written: %s", js);
    free(js);
    c.word_cond = 1;
    CHECK(round_trip(&c, &r, &js, &err) == VD_OK && r.word_cond == 1, "word_cond round trip: %s",
          js);
    free(js);
    const char *bad = "{\"word_cond\": 2}";
    vd_dit_config_default(&r);
    CHECK(vd_dit_config_parse(&r, bad, strlen(bad), "bad", &err) != VD_OK &&
              strstr(err.message, "word_cond"),
          "word_cond 2 refused: %s", err.message);

    vd_dit *m0 = NULL, *m1 = NULL;
    CHECK(vd_dit_new(&m1, &c, 9, 0, NULL, &err) == VD_OK, "new word_cond: %s", err.message);
    c.word_cond = 0;
    CHECK(vd_dit_new(&m0, &c, 9, 0, NULL, &err) == VD_OK, "new: %s", err.message);
    if (!m0 || !m1) goto done;
    vd_params *p0 = vd_dit_params(m0), *p1 = vd_dit_params(m1);
    size_t wid = vd_params_find(p1, "word_cond.weight");
    CHECK(wid != (size_t)-1 && vd_params_find(p0, "word_cond.weight") == (size_t)-1,
          "word_cond.weight declared only with the key");
    if (wid == (size_t)-1) goto done;
    const vd_param_info *wi = vd_params_info(p1, wid);
    CHECK(wi->numel == (size_t)c.vocab_size * c.dim, "word_cond.weight has %zu values",
          wi->numel);
    double ss = 0;
    float *w = vd_params_data(p1, wid);
    for (size_t i = 0; i < wi->numel; i++) ss += (double)w[i] * w[i];
    CHECK(fabs(sqrt(ss / (double)wi->numel) - 1.0) < 0.1, "word vectors' std %g, want 1",
          sqrt(ss / (double)wi->numel));
    int same = 1;
    for (size_t i = 0; i < vd_params_count(p0); i++) {
        const vd_param_info *a = vd_params_info(p0, i);
        size_t j = vd_params_find(p1, a->name);
        same = same && j != (size_t)-1 &&
               !memcmp(vd_params_data(p0, i), vd_params_data(p1, j), a->numel * sizeof(float));
    }
    CHECK(same, "with word_cond the other weights differ from the same seed's without it");

    randomise(m1, 10);
    const int B = 1, Tl = 2, H = 4, W = 4;
    size_t n = (size_t)B * c.latent_channels * Tl * H * W;
    float *lat = xcalloc(n, 4), *y[4], t = 0.5f;
    for (int i = 0; i < 4; i++) y[i] = xcalloc(n, 4);
    vt_fill_normal(lat, n, 11);
    int32_t tok[8] = {5, 6, 7};
    int lens[2] = {3, 0};
    /* y0, y1: words, empty; then the same with the word vectors zeroed. */
    for (int pass = 0; pass < 2; pass++) {
        if (pass) memset(w, 0, wi->numel * sizeof *w);
        for (int e = 0; e < 2; e++) {
            CHECK(vd_dit_forward(m1, lat, &t, tok, &lens[e], B, Tl, H, W, y[2 * pass + e], arena,
                                 &err) == VD_OK,
                  "forward: %s", err.message);
            vd_arena_reset(arena, 0);
        }
    }
    double words = 0;
    for (size_t i = 0; i < n; i++) words = fmax(words, fabs(y[0][i] - y[2][i]));
    CHECK(words > 1e-3, "the word vectors change the output by only %g", words);
    CHECK(!memcmp(y[1], y[3], n * sizeof *y[1]), "the empty prompt's output depends on the word vectors");
    free(lat);
    for (int i = 0; i < 4; i++) free(y[i]);
done:
    vd_dit_free(m0);
    vd_dit_free(m1);
}

static void test_zero_init_and_text_paths(vd_arena *arena) {
    vd_dit_config c = small_config();
    vd_dit *m = NULL;
    vd_error err = {0};
    CHECK(vd_dit_new(&m, &c, 7, 0, NULL, &err) == VD_OK, "new: %s", err.message);
    if (!m) return;
    const int B = 2, T = 2, H = 4, W = 4;
    size_t n = (size_t)B * c.latent_channels * T * H * W;
    float *lat = xcalloc(n, 4), *y = xcalloc(n, 4), *y2 = xcalloc(n, 4), t[2] = {0.3f, 0.8f};
    int32_t tok[16] = {5, 6, 7, 0, 0, 0, 0, 0, 9, 0, 0, 0, 0, 0, 0, 0};
    int len[2] = {3, 1}, zero[2] = {0, 0};
    vt_fill_normal(lat, n, 3);
    for (size_t i = 0; i < n; i++) y[i] = 1.0f;
    CHECK(vd_dit_forward(m, lat, t, tok, len, B, T, H, W, y, arena, &err) == VD_OK, "%s", err.message);
    size_t nonzero = 0;
    for (size_t i = 0; i < n; i++) nonzero += y[i] != 0.0f;
    CHECK(nonzero == 0, "a fresh DiT outputs exactly zero (%zu non-zero)", nonzero);
    vd_arena_reset(arena, 0);

    /* No text (NULL tokens) is the same as empty prompts. */
    randomise(m, 99);
    CHECK(vd_dit_forward(m, lat, t, NULL, NULL, B, T, H, W, y, arena, &err) == VD_OK, "%s", err.message);
    vd_arena_reset(arena, 0);
    CHECK(vd_dit_forward(m, lat, t, tok, zero, B, T, H, W, y2, arena, &err) == VD_OK, "%s", err.message);
    vd_arena_reset(arena, 0);
    CHECK(memcmp(y, y2, n * sizeof *y) == 0, "no text == empty prompts");

    /* Guidance in one batch of 2B equals separate conditional and
     * unconditional passes. */
    float *vc = xcalloc(n, 4), *g = xcalloc(n, 4), *want = xcalloc(n, 4);
    CHECK(vd_dit_forward(m, lat, t, tok, len, B, T, H, W, vc, arena, &err) == VD_OK, "%s", err.message);
    vd_arena_reset(arena, 0);
    CHECK(vd_dit_forward_cfg(m, lat, t, tok, len, B, T, H, W, 4.0f, g, arena, &err) == VD_OK,
          "%s", err.message);
    vd_arena_reset(arena, 0);
    for (size_t i = 0; i < n; i++) want[i] = y2[i] + 4.0f * (vc[i] - y2[i]);
    vt_close("cfg batch of 2 == separate passes", g, want, n, 1e-5, 1e-4);
    double diff = 0;
    for (size_t i = 0; i < n; i++) diff += fabs((double)vc[i] - y2[i]);
    CHECK(diff > 1e-3, "the prompt changes the output (sum |v_c - v_u| = %g)", diff);

    /* Bad inputs are errors, not crashes. */
    int32_t badtok[16] = {5000};
    int one[2] = {1, 0};
    CHECK(vd_dit_forward(m, lat, t, badtok, one, B, T, H, W, y, arena, &err) == VD_ERR_ARG,
          "token out of range");
    vd_arena_reset(arena, 0);
    CHECK(vd_dit_forward(m, lat, t, tok, len, B, T, 3, W, y, arena, &err) == VD_ERR_SHAPE,
          "H not divisible by the patch");
    vd_arena_reset(arena, 0);
    free(lat), free(y), free(y2), free(vc), free(g), free(want);
    vd_dit_free(m);
}

/* Forward + backward; returns output and gradients (caller frees). */
static void full_step(vd_dit *m, int B, int T, int H, int W, float **y_out, float **g_out,
                      vd_arena *arena) {
    const vd_dit_config *c = vd_dit_get_config(m);
    size_t n = (size_t)B * c->latent_channels * T * H * W, np = vd_params_numel(vd_dit_params(m));
    float *lat = xcalloc(n, 4), *w = xcalloc(n, 4), *y = xcalloc(n, 4), *t = xcalloc((size_t)B, 4);
    int32_t *tok = xcalloc((size_t)B * c->max_text_len, 4);
    int *len = xcalloc((size_t)B, sizeof(int));
    vt_fill_normal(lat, n, 5);
    vt_fill_normal(w, n, 6);
    for (int b = 0; b < B; b++) {
        t[b] = (float)(b + 1) / (float)(B + 1);
        len[b] = b % (c->max_text_len + 1);
        for (int l = 0; l < len[b]; l++) tok[b * c->max_text_len + l] = 2 + (b * 31 + l * 7) % 250;
    }
    vd_error err = {0};
    vd_params_zero_grad(vd_dit_params(m));
    vd_arena_reset(arena, 0);
    vd_status st = vd_dit_forward(m, lat, t, tok, len, B, T, H, W, y, arena, &err);
    if (st == VD_OK) st = vd_dit_backward(m, w, NULL, arena, &err);
    CHECK(st == VD_OK, "step %dx%dx%d: %s", T, H, W, err.message);
    vd_arena_reset(arena, 0);
    float *g = xcalloc(np, 4);
    memcpy(g, vd_params_all_grad(vd_dit_params(m)), np * sizeof *g);
    *y_out = y;
    *g_out = g;
    free(lat), free(w), free(t), free(tok), free(len);
}

static void test_threads_sizes_allocs(vd_arena *arena) {
    vd_dit_config c = small_config();
    vd_dit *m = NULL;
    vd_error err = {0};
    CHECK(vd_dit_new(&m, &c, 8, 1, NULL, &err) == VD_OK, "new: %s", err.message);
    if (!m) return;
    randomise(m, 100);
    const int B = 3, T = 2, H = 8, W = 8;
    size_t n = (size_t)B * c.latent_channels * T * H * W, np = vd_params_numel(vd_dit_params(m));
    float *y1, *g1, *y2, *g2;
    vd_set_threads(1);
    full_step(m, B, T, H, W, &y1, &g1, arena);
    vd_set_threads(2);
    full_step(m, B, T, H, W, &y2, &g2, arena);
    CHECK(memcmp(y1, y2, n * 4) == 0 && memcmp(g1, g2, np * 4) == 0,
          "1 and 2 threads give bit-identical outputs and gradients");
    free(y1), free(g1), free(y2), free(g2);

    /* The same shapes again: no system allocation in the arena. */
    size_t before = vd_arena_system_allocs(arena);
    full_step(m, B, T, H, W, &y2, &g2, arena);
    CHECK(vd_arena_system_allocs(arena) == before,
          "a repeated step allocates nothing (%zu -> %zu system allocations)", before,
          vd_arena_system_allocs(arena));
    free(y2), free(g2);

    /* A size never seen (other T, H, W) runs, gives finite numbers. */
    full_step(m, 2, 3, 6, 10, &y2, &g2, arena);
    size_t n2 = (size_t)2 * c.latent_channels * 3 * 6 * 10, bad = 0;
    for (size_t i = 0; i < n2; i++) bad += !isfinite(y2[i]);
    for (size_t i = 0; i < np; i++) bad += !isfinite(g2[i]);
    CHECK(bad == 0, "unseen size 3x6x10: %zu non-finite values", bad);
    free(y2), free(g2);
    vd_dit_free(m);
}

/* ------------------------------------------------------------ bench */

/* Given frames (frame_cond): the mask is one more patch-embedding input, so
 * a mask of zeros equals no mask, a given frame changes the output, the
 * latent gradient keeps its shape, and a model without frame_cond refuses
 * a mask. */
static void test_frame_cond(vd_arena *arena) {
    vd_dit_config c = small_config();
    c.frame_cond = 1;
    vd_error err = {0};
    vd_dit *m = NULL;
    if (vd_dit_new(&m, &c, 31, 1, NULL, &err) != VD_OK) {
        CHECK(0, "frame_cond model: %s", err.message);
        return;
    }
    randomise(m, 32);
    const vd_param_info *xe = NULL;
    vd_params *p = vd_dit_params(m);
    for (size_t i = 0; i < vd_params_count(p); i++)
        if (!strcmp(vd_params_info(p, i)->name, "x_embed.weight")) xe = vd_params_info(p, i);
    int P = c.latent_channels * c.patch_t * c.patch_h * c.patch_w;
    CHECK(xe && xe->numel == (size_t)c.dim * (P + 1), "x_embed reads the patch and the mask");
    const int B = 2, T = 3, H = 4, W = 4;
    size_t n = (size_t)B * c.latent_channels * T * H * W;
    float *x = xcalloc(n, 4), *y0 = xcalloc(n, 4), *y1 = xcalloc(n, 4), *y2 = xcalloc(n, 4);
    float *dy = xcalloc(n, 4), *dx = xcalloc(n, 4);
    vt_fill_normal(x, n, 33);
    vt_fill_normal(dy, n, 34);
    float t[2] = {0.3f, 0.6f};
    int32_t tok[16] = {0};
    int len[2] = {0, 0};
    uint8_t none[6] = {0}, first[6] = {1, 0, 0, 0, 0, 0};
    vd_status s0 = vd_dit_forward(m, x, t, tok, len, B, T, H, W, y0, arena, &err);
    vd_arena_reset(arena, 0);
    vd_status s1 = vd_dit_forward_cond(m, x, none, t, tok, len, B, T, H, W, y1, arena, &err);
    vd_arena_reset(arena, 0);
    vd_status s2 = vd_dit_forward_cond(m, x, first, t, tok, len, B, T, H, W, y2, arena, &err);
    CHECK(!s0 && !s1 && !s2, "frame_cond forwards: %s", err.message);
    CHECK(!memcmp(y0, y1, n * 4), "a mask of zeros is no mask");
    size_t per = n / B;
    double d_first = 0, d_second = 0;
    for (size_t i = 0; i < per; i++) {
        d_first += fabs(y2[i] - y0[i]);
        d_second += fabs(y2[per + i] - y0[per + i]);
    }
    CHECK(d_first > 1e-3 && d_second == 0.0,
          "a given frame changes its sample only (%g, %g)", d_first, d_second);
    vd_params_zero_grad(p);
    CHECK(vd_dit_backward(m, dy, dx, arena, &err) == VD_OK, "frame_cond backward: %s",
          err.message);
    double gsum = 0;
    for (size_t i = 0; i < n; i++) gsum += fabs(dx[i]);
    CHECK(isfinite(gsum) && gsum > 0, "latent gradient through the masked embedding");
    vd_arena_reset(arena, 0);
    vd_dit_free(m);
    c.frame_cond = 0;
    m = NULL;
    CHECK(vd_dit_new(&m, &c, 31, 0, NULL, &err) == VD_OK, "plain model");
    err.code = VD_OK;
    CHECK(m && vd_dit_forward_cond(m, x, first, t, tok, len, B, T, H, W, y2, arena, &err) ==
                   VD_ERR_ARG && strstr(err.message, "frame_cond"),
          "a mask without frame_cond is refused: %s", err.message);
    vd_arena_reset(arena, 0);
    vd_dit_free(m);
    c.frame_cond = 2;
    CHECK(vd_dit_config_check(&c, &err) == VD_ERR_ARG, "frame_cond 2 is refused");
    free(x), free(y0), free(y1), free(y2), free(dy), free(dx);
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void bench(const char *path, vd_arena *arena) {
    vd_dit_config c;
    vd_dit_config_default(&c);
    vd_error err = {0};
    if (vd_dit_config_load(&c, path, &err) != VD_OK) {
        CHECK(0, "bench config: %s", err.message);
        return;
    }
    vd_dit *m = NULL;
    if (vd_dit_new(&m, &c, 1, 1, NULL, &err) != VD_OK) {
        CHECK(0, "bench model: %s", err.message);
        return;
    }
    randomise(m, 5);
    vd_params *p = vd_dit_params(m);
    size_t text = 0;
    for (size_t i = 0; i < vd_params_count(p); i++)
        if (strncmp(vd_params_info(p, i)->name, "text.", 5) == 0) text += vd_params_info(p, i)->numel;
    printf("bench %s: %zu parameters (%zu DiT, %zu text encoder)\n", path, vd_params_numel(p),
           vd_params_numel(p) - text, text);
    /* The default latent: 5 frames of 8x8 (80 tokens with 1x2x2 patches). */
    const int B = 8, Ts = 5, Hs = 8, Ws = 8;
    float *y, *g;
    vd_set_threads(2);
    full_step(m, B, Ts, Hs, Ws, &y, &g, arena); /* warm-up */
    free(y), free(g);
    int steps = 3;
    double t0 = now_s();
    for (int i = 0; i < steps; i++) {
        full_step(m, B, Ts, Hs, Ws, &y, &g, arena);
        free(y), free(g);
    }
    double dt = (now_s() - t0) / steps;
    printf("bench: latent %dx%dx%dx%d, batch %d, %d tokens: forward+backward %.1f ms/step "
           "(%.1f samples/s), arena high water %.1f MB\n",
           c.latent_channels, Ts, Hs, Ws, B, Ts * Hs / c.patch_h * Ws / c.patch_w, dt * 1e3,
           B / dt, vd_arena_high_water(arena) / 1e6);
    vd_dit_free(m);
}

int main(void) {
    vd_arena *arena = vd_arena_new(NULL, 0);
    if (!arena) return 1;
    vd_set_threads(2);
    const char *b = getenv("VIDIT_DIT_BENCH");
    if (b && *b) {
        bench(b, arena);
    } else {
        golden_block(arena);
        golden_text(arena);
        golden_tiny(arena);
        test_gradcheck(arena, PLAIN);
        test_gradcheck(arena, POS_EMBED);
        test_gradcheck(arena, TEXT_POOL_SUM);
        test_gradcheck(arena, WORD_COND);
        test_word_cond(arena);
        test_pos_embed(arena);
        test_text_config_keys();
        test_zero_init_and_text_paths(arena);
        test_threads_sizes_allocs(arena);
        test_frame_cond(arena);
    }
    vd_arena_free(arena);
    return vt_result("test_dit");
}
