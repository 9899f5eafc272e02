/* The causal video VAE: gradients of its blocks, PyTorch goldens,
 * causality, streamed decoding, a decoder wider than its encoder, bad
 * input. Configs and training runs: test_vae_train.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "io/dataset.h"
#include "io/video.h"
#include "train/vae_train.h"
#include "models/vae.h"
#include "models/vae_internal.h"
#include "nn/resblock.h"
#include "test.h"
#include "train/checkpoint.h"
#include "train/loss_weights.h"
#include "train/optim.h"
#include "world/world.h"

static const vd_ops *ops;

/* ------------------------------------------------------ resblock gradient */

typedef struct rb_ctx {
    vd_resblock rb;
    vd_params *p;
    float *x, *y, *w;
    int B, T, H, W;
    vd_arena *ws;
} rb_ctx;

static double rb_loss(void *vctx) {
    rb_ctx *c = vctx;
    size_t mark = vd_arena_mark(c->ws);
    vd_resblock_forward(ops, &c->rb, c->p, c->y, c->x, c->B, c->T, c->H, c->W, c->ws, NULL);
    vd_arena_reset(c->ws, mark);
    return vt_weighted_sum(c->y, c->w, (size_t)c->B * c->rb.cout * c->T * c->H * c->W);
}

static void test_resblock_grad(int cin, int cout, int kt) {
    rb_ctx c = {.B = 2, .T = 3, .H = 5, .W = 4};
    c.p = vd_params_new(NULL);
    c.ws = vd_arena_new(NULL, 0);
    vd_error err;
    CHECK(!vd_resblock_declare(&c.rb, c.p, "rb", cin, cout, kt, 2, &err), "%s", err.message);
    CHECK(!vd_params_alloc(c.p, 1, &err), "%s", err.message);
    vd_rng rng;
    vd_rng_init(&rng, 5);
    vd_resblock_init(&c.rb, c.p, &rng);
    /* Non-trivial norm affine parameters. */
    vt_fill_uniform(vd_params_data(c.p, c.rb.norm1.w), (size_t)cin, 7);
    vt_fill_uniform(vd_params_data(c.p, c.rb.norm2.b), (size_t)cout, 8);
    size_t nin = (size_t)c.B * cin * c.T * c.H * c.W, nout = (size_t)c.B * cout * c.T * c.H * c.W;
    c.x = malloc(nin * 4);
    c.y = malloc(nout * 4);
    c.w = malloc(nout * 4);
    float *dx = calloc(nin, 4);
    vt_fill_normal(c.x, nin, 1);
    vt_fill_uniform(c.w, nout, 2);
    vd_resblock_acts acts;
    vd_params_zero_grad(c.p);
    CHECK(!vd_resblock_forward(ops, &c.rb, c.p, c.y, c.x, c.B, c.T, c.H, c.W, c.ws, &acts), "fwd");
    CHECK(!vd_resblock_backward(ops, &c.rb, c.p, dx, c.w, c.x, &acts, c.B, c.T, c.H, c.W, c.ws),
          "bwd");
    vd_arena_reset(c.ws, 0);
    char what[64];
    snprintf(what, sizeof what, "resblock %d->%d kt%d dx", cin, cout, kt);
    vt_gradcheck(what, rb_loss, &c, c.x, dx, nin, 1e-2, 2e-3, 2e-2, 60);
    snprintf(what, sizeof what, "resblock %d->%d kt%d dparams", cin, cout, kt);
    size_t np = vd_params_numel(c.p);
    float *g = malloc(np * 4);
    memcpy(g, vd_params_all_grad(c.p), np * 4);
    vt_gradcheck(what, rb_loss, &c, vd_params_all(c.p), g, np, 3e-3, 2e-3, 2e-2, 120);
    free(g);
    free(dx);
    free(c.x);
    free(c.y);
    free(c.w);
    vd_arena_free(c.ws);
    vd_params_free(c.p);
}

/* ---------------------------------------------- layers of a tiny VAE */

static void tiny_config(vd_vae_config *c) {
    vd_vae_config_default(c);
    c->levels = 3;
    int ch[3] = {4, 8, 8};
    for (int i = 0; i < 3; i++) {
        c->channels[i] = ch[i];
        c->enc_blocks[i] = 1;
        c->dec_blocks[i] = 1;
        c->kt[i] = 3;
    }
    c->down_space[0] = c->down_space[1] = 1;
    c->down_time[0] = c->down_time[1] = 1;
    c->latent_channels = 2;
    c->groups = 2;
}

/* tiny_config with a decoder of its own: wider, other time kernels (the
 * encoder's level 0 has none, the decoder's every level has one) and two
 * blocks at full resolution, as a decoder retrained on a frozen encoder. */
static void asym_config(vd_vae_config *c) {
    tiny_config(c);
    int kt[3] = {1, 3, 3}, dch[3] = {6, 12, 10};
    for (int i = 0; i < 3; i++) {
        c->kt[i] = kt[i];
        c->dec_channels[i] = dch[i];
        c->dec_kt[i] = 3;
    }
    c->dec_blocks[0] = 2;
}

/* A range of a layer list run as one composite block. */
typedef struct blk_ctx {
    vd_vae *v;
    const vd_vae_layer *list;
    int n, B;
    vd_vae_shape in;
    float *x, *w;
    size_t nout;
    vd_arena *ws;
} blk_ctx;

static double blk_loss(void *vctx) {
    blk_ctx *c = vctx;
    float *y;
    vd_vae_shape ys;
    size_t mark = vd_arena_mark(c->ws);
    vd_vae_run(c->v, c->list, c->n, c->x, c->in, c->B, c->ws, NULL, &y, &ys);
    double l = vt_weighted_sum(y, c->w, c->nout);
    vd_arena_reset(c->ws, mark);
    return l;
}

static void check_block(const char *what, vd_vae *v, const vd_vae_layer *list, int n,
                        vd_vae_shape in) {
    blk_ctx c = {.v = v, .list = list, .n = n, .B = 2, .in = in};
    c.ws = vd_arena_new(NULL, 0);
    size_t nin = (size_t)c.B * in.C * in.T * in.H * in.W;
    c.x = malloc(nin * 4);
    vt_fill_normal(c.x, nin, 11);
    vd_vae_acts acts[8];
    float *y;
    vd_vae_shape ys;
    vd_params_zero_grad(v->params);
    CHECK(!vd_vae_run(v, list, n, c.x, in, c.B, c.ws, acts, &y, &ys), "%s forward", what);
    c.nout = (size_t)c.B * ys.C * ys.T * ys.H * ys.W;
    c.w = malloc(c.nout * 4);
    vt_fill_uniform(c.w, c.nout, 12);
    float *dx = calloc(nin, 4);
    CHECK(!vd_vae_run_backward(v, list, n, acts, c.w, c.B, dx, c.ws), "%s backward", what);
    vd_arena_reset(c.ws, 0);
    char buf[96];
    snprintf(buf, sizeof buf, "%s dx", what);
    vt_gradcheck(buf, blk_loss, &c, c.x, dx, nin, 1e-2, 2e-3, 2e-2, 60);
    /* The parameters of these layers only (others have zero gradient). */
    size_t np = vd_params_numel(v->params);
    float *g = malloc(np * 4);
    memcpy(g, vd_params_all_grad(v->params), np * 4);
    snprintf(buf, sizeof buf, "%s dparams", what);
    float *all = vd_params_all(v->params);
    size_t lo = np, hi = 0;
    for (size_t i = 0; i < np; i++)
        if (g[i] != 0.0f) {
            if (i < lo) lo = i;
            hi = i + 1;
        }
    CHECK(hi > lo, "%s: no parameter gradient", what);
    if (hi > lo) vt_gradcheck(buf, blk_loss, &c, all + lo, g + lo, hi - lo, 1e-2, 2e-3, 2e-2, 80);
    free(g);
    free(dx);
    free(c.x);
    free(c.w);
    vd_arena_free(c.ws);
}

static void test_blocks_grad(int time_pad) {
    vd_vae_config cfg;
    tiny_config(&cfg);
    cfg.time_pad = time_pad;
    vd_vae *v;
    vd_error err;
    CHECK(!vd_vae_new(&v, &cfg, 1, 3, NULL, &err), "%s", err.message);
    /* encoder: conv_in, block0, down0 (stride 2 in time and space), ... */
    CHECK(v->enc[2].kind == VD_VAE_L_CONV && v->enc[2].conv.st == 2, "down layer");
    const char *pad = vd_vae_time_pad_name(time_pad);
    char what[128];
    vd_vae_shape s_down = {4, 5, 6, 6};
    snprintf(what, sizeof what, "%s: down block (res + strided causal conv)", pad);
    check_block(what, v, v->enc + 1, 2, s_down);
    /* decoder: conv_in, block(l2), up, conv, block(l1), up, conv, ... */
    int up = -1;
    for (int i = 0; i < v->n_dec; i++)
        if (v->dec[i].kind == VD_VAE_L_UP && v->dec[i].ft == 2) {
            up = i;
            break;
        }
    CHECK(up > 0, "no temporal up layer");
    vd_vae_shape s_up = {8, 3, 3, 3};
    snprintf(what, sizeof what, "%s: up block (res + nearest x2 dropping frame 0 + conv)", pad);
    if (up > 0) check_block(what, v, v->dec + up - 1, 3, s_up);
    vd_vae_shape s_out = {4, 5, 4, 4};
    snprintf(what, sizeof what, "%s: output head (norm + SiLU + conv)", pad);
    check_block(what, v, v->dec + v->n_dec - 2, 2, s_out);
    vd_vae_free(v);
}

/* ------------------------------------------------------- Gaussian head */

typedef struct g_ctx {
    float *h, *eps, *z, *w;
    int B, Z;
    size_t S;
    float kl_weight;
} g_ctx;

static double g_loss(void *vctx) {
    g_ctx *c = vctx;
    float kl = vd_vae_gaussian_forward(c->z, c->h, c->eps, c->B, c->Z, c->S, -3.0f, 2.0f);
    return vt_weighted_sum(c->z, c->w, (size_t)c->B * c->Z * c->S) + (double)c->kl_weight * kl;
}

static void test_gaussian_grad(void) {
    g_ctx c = {.B = 2, .Z = 3, .S = 10, .kl_weight = 0.7f};
    size_t nz = (size_t)c.B * c.Z * c.S;
    c.h = malloc(2 * nz * 4);
    c.eps = malloc(nz * 4);
    c.z = malloc(nz * 4);
    c.w = malloc(nz * 4);
    float *dh = calloc(2 * nz, 4);
    vt_fill_uniform(c.h, 2 * nz, 21);
    for (size_t i = 0; i < 2 * nz; i++) c.h[i] *= 2.5f; /* some log-variances clamp */
    vt_fill_normal(c.eps, nz, 22);
    vt_fill_uniform(c.w, nz, 23);
    vd_vae_gaussian_backward(dh, c.w, c.h, c.eps, c.B, c.Z, c.S, -3.0f, 2.0f, c.kl_weight);
    /* Keep the finite differences away from the clamp's corners. */
    for (size_t i = 0; i < 2 * nz; i++)
        if (fabsf(c.h[i] - 2.0f) < 0.02f || fabsf(c.h[i] + 3.0f) < 0.02f) c.h[i] += 0.1f;
    memset(dh, 0, 2 * nz * 4);
    vd_vae_gaussian_backward(dh, c.w, c.h, c.eps, c.B, c.Z, c.S, -3.0f, 2.0f, c.kl_weight);
    vt_gradcheck("gaussian head (sample + KL)", g_loss, &c, c.h, dh, 2 * nz, 1e-3, 1e-3, 1e-2,
                 200);
    /* KL of N(0, 1) is zero. */
    float h0[4] = {0, 0, 0, 0};
    CHECK(vd_vae_gaussian_forward(NULL, h0, NULL, 1, 1, 2, -30, 20) == 0.0f, "KL(N(0,1))");
    free(c.h);
    free(c.eps);
    free(c.z);
    free(c.w);
    free(dh);
}


/* ------------------------------------------------ causality and streaming */

static void test_causality(int time_pad) {
    vd_vae_config cfg;
    tiny_config(&cfg);
    cfg.time_pad = time_pad;
    vd_vae *v;
    vd_error err;
    CHECK(!vd_vae_new(&v, &cfg, 0, 4, NULL, &err), "%s", err.message);
    vd_arena *ws = vd_arena_new(NULL, 0);
    int T = 9, H = 8, W = 8, Tl, Hl, Wl;
    vd_vae_latent_shape(v, T, H, W, &Tl, &Hl, &Wl);
    CHECK(Tl == 3 && Hl == 2 && Wl == 2, "latent shape %d %d %d", Tl, Hl, Wl);
    size_t nx = (size_t)3 * T * H * W, nz = (size_t)2 * Tl * Hl * Wl, lf = (size_t)Hl * Wl;
    float *x = malloc(nx * 4), *z0 = malloc(nz * 4), *z1 = malloc(nz * 4);
    vt_fill_uniform(x, nx, 31);
    CHECK(!vd_vae_encode(v, x, 1, T, H, W, z0, ws, &err), "%s", err.message);
    /* Change frames 5..8: latent frames 0 and 1 (frames 0..4) must not move. */
    for (int c = 0; c < 3; c++)
        for (int t = 5; t < T; t++)
            for (int i = 0; i < H * W; i++) x[((size_t)c * T + t) * H * W + i] *= -0.5f;
    CHECK(!vd_vae_encode(v, x, 1, T, H, W, z1, ws, &err), "%s", err.message);
    int same01 = 1, diff2 = 0;
    for (int c = 0; c < 2; c++)
        for (size_t i = 0; i < lf; i++) {
            for (int t = 0; t < 2; t++)
                same01 &= z0[(c * Tl + t) * lf + i] == z1[(c * Tl + t) * lf + i];
            diff2 |= z0[(c * Tl + 2) * lf + i] != z1[(c * Tl + 2) * lf + i];
        }
    CHECK(same01, "latent frames 0-1 changed when frames 5.. changed");
    CHECK(diff2, "latent frame 2 did not see frames 5..");
    /* Change frames 1..8: latent frame 0 is bit-identical; a still image
     * (T = 1) encodes to the same first latent frame. */
    for (int c = 0; c < 3; c++)
        for (int t = 1; t < T; t++)
            for (int i = 0; i < H * W; i++) x[((size_t)c * T + t) * H * W + i] = 0.25f;
    CHECK(!vd_vae_encode(v, x, 1, T, H, W, z1, ws, &err), "%s", err.message);
    float *img = malloc((size_t)3 * H * W * 4), *zi = malloc((size_t)2 * lf * 4);
    for (int c = 0; c < 3; c++)
        memcpy(img + (size_t)c * H * W, x + (size_t)c * T * H * W, (size_t)H * W * 4);
    CHECK(!vd_vae_encode(v, img, 1, 1, H, W, zi, ws, &err), "%s", err.message);
    int same0 = 1;
    float first[8];
    for (int c = 0; c < 2; c++)
        for (size_t i = 0; i < lf; i++) {
            same0 &= z0[(c * Tl) * lf + i] == z1[(c * Tl) * lf + i];
            first[c * lf + i] = z0[(c * Tl) * lf + i];
        }
    CHECK(same0, "latent frame 0 depends on frames after 0");
    /* Equal up to the gemm's rounding (other column counts, other blocking). */
    char what[96];
    snprintf(what, sizeof what, "time_pad %s: still image == frame 0 of a video",
             vd_vae_time_pad_name(time_pad));
    vt_close(what, zi, first, 2 * lf, 1e-5, 1e-5);
    free(img);
    free(zi);
    free(x);
    free(z0);
    free(z1);
    vd_arena_free(ws);
    vd_vae_free(v);
}

static void stream_decode_case(const char *label, const vd_vae_config *cfg) {
    vd_vae *v;
    vd_error err;
    CHECK(!vd_vae_new(&v, cfg, 0, 6, NULL, &err), "%s", err.message);
    int Tl = 4, Hl = 2, Wl = 3, T = 1 + 4 * (Tl - 1), H = 8, W = 12;
    size_t nz = (size_t)2 * 2 * Tl * Hl * Wl, nx = (size_t)2 * 3 * T * H * W;
    float *z = malloc(nz * 4), *a = malloc(nx * 4), *b = malloc(nx * 4);
    vt_fill_normal(z, nz, 41);
    vd_arena *ws = vd_arena_new(NULL, 0);
    CHECK(!vd_vae_decode_full(v, z, 2, Tl, Hl, Wl, a, ws, &err), "%s", err.message);
    CHECK(!vd_vae_decode(v, z, 2, Tl, Hl, Wl, b, ws, &err), "%s", err.message);
    char what[128];
    snprintf(what, sizeof what, "%s: chunked decode == whole decode", label);
    vt_close(what, b, a, nx, 1e-5, 1e-5);
    /* Memory: a 4x longer latent video uses the same arena high-water mark. */
    size_t hw[2];
    for (int k = 0; k < 2; k++) {
        int tl = k ? 8 : 2;
        size_t n = (size_t)2 * tl * Hl * Wl;
        float *zz = malloc(n * 4), *xx = malloc((size_t)3 * (1 + 4 * (tl - 1)) * H * W * 4);
        vt_fill_normal(zz, n, 42);
        vd_arena *a2 = vd_arena_new(NULL, 0);
        CHECK(!vd_vae_decode(v, zz, 1, tl, Hl, Wl, xx, a2, &err), "%s", err.message);
        hw[k] = vd_arena_high_water(a2);
        vd_arena_free(a2);
        free(zz);
        free(xx);
    }
    CHECK(hw[0] == hw[1] && hw[0] > 0, "%s: decode high-water %zu (2 latent frames) vs %zu (8)",
          label, hw[0], hw[1]);
    printf("ok   %s streamed decode: arena high-water %zu bytes for 2 and 8 latent frames\n",
           label, hw[0]);
    free(z);
    free(a);
    free(b);
    vd_arena_free(ws);
    vd_vae_free(v);
}

static void test_stream_decode(void) {
    vd_vae_config cfg;
    tiny_config(&cfg);
    cfg.dec_blocks[0] = 2;
    stream_decode_case("symmetric", &cfg);
    cfg.time_pad = VD_VAE_TIME_PAD_REPLICATE;
    stream_decode_case("time_pad replicate", &cfg);
    asym_config(&cfg);
    stream_decode_case("wide decoder", &cfg);
    cfg.time_pad = VD_VAE_TIME_PAD_REPLICATE;
    stream_decode_case("wide decoder, time_pad replicate", &cfg);
}

/* A decoder wider than its encoder: the layers take the decoder's widths
 * and time kernels, the encoder's stay those of the symmetric model (same
 * names and shapes, so a symmetric model's encoder loads into it), and a
 * video goes through at the right shapes. */
static void test_asymmetric_decoder(void) {
    vd_vae_config sym, cfg;
    tiny_config(&sym);
    asym_config(&cfg);
    for (int i = 0; i < 3; i++) sym.kt[i] = cfg.kt[i];
    vd_vae *v, *s;
    vd_error err;
    CHECK(!vd_vae_new(&v, &cfg, 0, 7, NULL, &err), "%s", err.message);
    CHECK(!vd_vae_new(&s, &sym, 0, 7, NULL, &err), "%s", err.message);
    vd_params *P = v->params, *S = s->params;
    size_t enc = 0;
    for (size_t i = 0; i < vd_params_count(S); i++) {
        const vd_param_info *a = vd_params_info(S, i);
        if (strncmp(a->name, "encoder.", 8)) continue;
        size_t j = vd_params_find(P, a->name);
        const vd_param_info *b = j == (size_t)-1 ? NULL : vd_params_info(P, j);
        CHECK(b && b->numel == a->numel && b->offset == a->offset, "encoder tensor %s moved",
              a->name);
        enc++;
    }
    CHECK(vd_vae_encoder_numel(v) == vd_vae_encoder_numel(s), "encoder sizes differ");
    /* decoder.conv_in: Z -> dec_channels[2], kt 3; decoder.conv_out:
     * dec_channels[0] -> 3 with dec_kt[0] = 3 (the encoder's level 0 has 1). */
    const struct {
        const char *name;
        int64_t shape[5];
    } want[] = {{"decoder.conv_in.weight", {10, 2, 3, 3, 3}},
                {"decoder.level2.block0.conv1.weight", {10, 10, 3, 3, 3}},
                {"decoder.level2.up.weight", {12, 10, 3, 3, 3}},
                {"decoder.level0.block1.conv2.weight", {6, 6, 3, 3, 3}},
                {"decoder.norm_out.weight", {6}},
                {"decoder.conv_out.weight", {3, 6, 3, 3, 3}},
                {"encoder.conv_in.weight", {4, 3, 1, 3, 3}}};
    for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
        size_t j = vd_params_find(P, want[k].name);
        const vd_param_info *in = j == (size_t)-1 ? NULL : vd_params_info(P, j);
        int ok = in != NULL;
        for (int d = 0; ok && d < in->ndim; d++) ok = in->shape[d] == want[k].shape[d];
        CHECK(ok, "%s: missing or of the wrong shape", want[k].name);
    }
    int T = 9, H = 8, W = 8, Tl, Hl, Wl;
    vd_vae_latent_shape(v, T, H, W, &Tl, &Hl, &Wl);
    size_t nx = (size_t)2 * 3 * T * H * W, nz = (size_t)2 * 2 * Tl * Hl * Wl;
    float *x = malloc(nx * 4), *z = malloc(nz * 4), *zs = malloc(nz * 4), *y = malloc(nx * 4);
    vt_fill_uniform(x, nx, 61);
    memcpy(vd_params_all(P), vd_params_all(S), vd_vae_encoder_numel(s) * 4);
    vd_arena *ws = vd_arena_new(NULL, 0);
    CHECK(!vd_vae_encode(v, x, 2, T, H, W, z, ws, &err), "%s", err.message);
    CHECK(!vd_vae_encode(s, x, 2, T, H, W, zs, ws, &err), "%s", err.message);
    CHECK(!memcmp(z, zs, nz * 4), "the same encoder weights encode differently");
    CHECK(!vd_vae_decode(v, z, 2, Tl, Hl, Wl, y, ws, &err), "%s", err.message);
    float *out;
    vd_vae_shape os, in = {2, Tl, Hl, Wl};
    CHECK(!vd_vae_run(v, v->dec, v->n_dec, z, in, 2, ws, NULL, &out, &os), "decoder run");
    CHECK(os.C == 3 && os.T == T && os.H == H && os.W == W, "decoded to (%d, %d, %d, %d)", os.C,
          os.T, os.H, os.W);
    size_t finite = 0;
    for (size_t i = 0; i < nx; i++) finite += isfinite(y[i]);
    CHECK(finite == nx, "%zu of %zu decoded values not finite", nx - finite, nx);
    printf("ok   wide decoder: %zu encoder tensors as the symmetric model's, (2, 3, %d, %d, %d) "
           "decoded\n", enc, T, H, W);
    free(x);
    free(z);
    free(zs);
    free(y);
    vd_arena_free(ws);
    vd_vae_free(v);
    vd_vae_free(s);
}

/* -------------------------------------------------------------- bad input */

static void test_bad_input(void) {
    vd_vae_config cfg;
    tiny_config(&cfg);
    vd_vae *v;
    vd_error err;
    CHECK(!vd_vae_new(&v, &cfg, 0, 4, NULL, &err), "%s", err.message);
    CHECK(vd_vae_check_input(v, 8, 8, 8, &err) == VD_ERR_ARG && strstr(err.message, "1 + 4 k"),
          "T = 8 accepted or unclear: %s", err.message);
    CHECK(vd_vae_check_input(v, 0, 8, 8, &err) == VD_ERR_ARG, "T = 0 accepted");
    CHECK(vd_vae_check_input(v, 5, 10, 8, &err) == VD_ERR_ARG && strstr(err.message, "multiples of 4"),
          "H = 10 accepted or unclear: %s", err.message);
    CHECK(vd_vae_check_input(v, 1, 4, 4, &err) == VD_OK, "a 4x4 still refused: %s", err.message);
    vd_arena *ws = vd_arena_new(NULL, 0);
    float x[3 * 8 * 8 * 8] = {0}, z[64];
    CHECK(vd_vae_encode(v, x, 1, 8, 8, 8, z, ws, &err) == VD_ERR_ARG, "encode of 8 frames ran");
    /* Config errors name the member. */
    const char *bad = "{\"channels\":[4,6],\"groups\":4}";
    vd_json *j = vd_json_parse(bad, strlen(bad), "cfg", &err);
    vd_vae_config c2;
    vd_vae_config_default(&c2);
    CHECK(j && vd_vae_config_from_json(&c2, j, &err) && strstr(err.message, "channels[1]"),
          "bad groups: %s", err.message);
    vd_json_free(j);

    /* Files: missing, corrupt, shapes that do not match the config. */
    char dir[] = "/tmp/vd_test_vae_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[256], path2[256];
    snprintf(path, sizeof path, "%s/missing.safetensors", dir);
    vd_vae *w = NULL;
    CHECK(vd_vae_load(&w, path, NULL, &err) == VD_ERR_IO && !w, "missing file: %s", err.message);
    snprintf(path, sizeof path, "%s/corrupt.safetensors", dir);
    FILE *f = fopen(path, "wb");
    fwrite("\x10\0\0\0\0\0\0\0{\"a\":", 1, 13, f);
    fclose(f);
    CHECK(vd_vae_load(&w, path, NULL, &err) != VD_OK && !w, "corrupt file loaded");
    printf("ok   corrupt model: %s\n", err.message);
    /* A file whose tensors were made with another config. */
    vd_vae_config c3 = cfg;
    c3.latent_channels = 3;
    vd_vae *v3;
    CHECK(!vd_vae_new(&v3, &c3, 0, 1, NULL, &err), "%s", err.message);
    vd_st_writer *wr = vd_st_writer_new(NULL);
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_vae_config_json(&s, &cfg);
    CHECK(!vd_params_save(v3->params, NULL, wr, "", VD_F32, &err), "%s", err.message);
    CHECK(!vd_st_writer_meta(wr, "vidit.vae.config", vd_strbuf_cstr(&s), &err), "%s", err.message);
    snprintf(path, sizeof path, "%s/mismatch.safetensors", dir);
    CHECK(!vd_st_writer_save(wr, path, &err), "%s", err.message);
    vd_st_writer_free(wr);
    vd_strbuf_free(&s);
    CHECK(vd_vae_load(&w, path, NULL, &err) == VD_ERR_SHAPE && strstr(err.message, "encoder.conv_out.weight"),
          "mismatched shapes: %s", err.message);
    printf("ok   mismatched model: %s\n", err.message);
    /* Round trip, and a save into a missing folder leaves nothing. */
    snprintf(path, sizeof path, "%s/good.safetensors", dir);
    float mean[2] = {0.5f, -1}, std[2] = {2, 3};
    vd_vae_set_latent_stats(v, mean, std);
    CHECK(!vd_vae_save(v, NULL, path, &err), "%s", err.message);
    CHECK(!vd_vae_load(&w, path, NULL, &err) && w, "%s", err.message);
    if (w) {
        const float *m2, *s2;
        CHECK(vd_vae_latent_stats(w, &m2, &s2) && m2[0] == 0.5f && s2[1] == 3, "stats");
        CHECK(!memcmp(vd_params_all(w->params), vd_params_all(v->params),
                      vd_params_numel(v->params) * 4), "weights differ after load");
        vd_vae_free(w);
    }
    snprintf(path2, sizeof path2, "%s/nodir/x.safetensors", dir);
    CHECK(vd_vae_save(v, NULL, path2, &err) == VD_ERR_IO, "save into a missing folder");
    CHECK(access(path2, F_OK) != 0, "half-written file left");
    remove(path);
    snprintf(path, sizeof path, "%s/mismatch.safetensors", dir);
    remove(path);
    snprintf(path, sizeof path, "%s/corrupt.safetensors", dir);
    remove(path);
    rmdir(dir);
    vd_vae_free(v3);
    vd_arena_free(ws);
    vd_vae_free(v);
}

/* ------------------------------------------------------- PyTorch goldens */

/* Copies golden "p.<name>" into every parameter whose name starts with one
 * of the prefixes; after a backward compares "g.<name>". */
static void golden_params(vt_golden *g, vd_params *P, const char *const *prefixes, int np,
                          int grads) {
    for (size_t i = 0; i < vd_params_count(P); i++) {
        const vd_param_info *in = vd_params_info(P, i);
        int hit = 0;
        for (int k = 0; k < np; k++) hit |= strncmp(in->name, prefixes[k], strlen(prefixes[k])) == 0;
        if (!hit) continue;
        char key[200];
        snprintf(key, sizeof key, "%s.%s", grads ? "g" : "p", in->name);
        size_t n = 0;
        float *t = vt_golden_get(g, key, &n, NULL, NULL);
        if (!t) continue;
        CHECK(n == in->numel, "%s: %zu values, want %zu", key, n, in->numel);
        if (n == in->numel) {
            if (grads)
                vt_close(key, vd_params_grad(P, i), t, n, 1e-4, 1e-3);
            else
                memcpy(vd_params_data(P, i), t, n * 4);
        }
        free(t);
    }
}

static void test_golden_resblock(void) {
    vt_golden *g = vt_golden_open("vae_resblock");
    if (!g) return;
    vd_params *P = vd_params_new(NULL);
    vd_resblock rb;
    vd_error err;
    CHECK(!vd_resblock_declare(&rb, P, "rb", 4, 6, 3, 2, &err), "%s", err.message);
    CHECK(!vd_params_alloc(P, 1, &err), "%s", err.message);
    const char *pre[1] = {"rb."};
    golden_params(g, P, pre, 1, 0);
    size_t nx, ny, nd;
    float *x = vt_golden_get(g, "x", &nx, NULL, NULL), *y = vt_golden_get(g, "y", &ny, NULL, NULL);
    float *dy = vt_golden_get(g, "dy", &nd, NULL, NULL), *dxw = vt_golden_get(g, "dx", &nx, NULL, NULL);
    vd_arena *ws = vd_arena_new(NULL, 0);
    if (x && y && dy && dxw) {
        float *got = malloc(ny * 4), *dx = calloc(nx, 4);
        vd_resblock_acts a;
        vd_params_zero_grad(P);
        CHECK(!vd_resblock_forward(ops, &rb, P, got, x, 2, 3, 5, 5, ws, &a), "fwd");
        vt_close("golden resblock y", got, y, ny, 1e-4, 1e-3);
        CHECK(!vd_resblock_backward(ops, &rb, P, dx, dy, x, &a, 2, 3, 5, 5, ws), "bwd");
        vt_close("golden resblock dx", dx, dxw, nx, 1e-4, 1e-3);
        golden_params(g, P, pre, 1, 1);
        free(got);
        free(dx);
    }
    free(x);
    free(y);
    free(dy);
    free(dxw);
    vd_arena_free(ws);
    vd_params_free(P);
    vt_golden_close(g);
}

static void golden_layers(const char *name, vd_vae *v, const vd_vae_layer *list, int n,
                          vd_vae_shape in, const char *const *prefixes, int np) {
    vt_golden *g = vt_golden_open(name);
    if (!g) return;
    golden_params(g, v->params, prefixes, np, 0);
    size_t nx, ny, nd;
    float *x = vt_golden_get(g, "x", &nx, NULL, NULL), *y = vt_golden_get(g, "y", &ny, NULL, NULL);
    float *dy = vt_golden_get(g, "dy", &nd, NULL, NULL), *dxw = vt_golden_get(g, "dx", &nx, NULL, NULL);
    vd_arena *ws = vd_arena_new(NULL, 0);
    if (x && y && dy && dxw) {
        vd_vae_acts acts[8];
        float *out, *dx = calloc(nx, 4);
        vd_vae_shape os;
        char what[96];
        vd_params_zero_grad(v->params);
        CHECK(!vd_vae_run(v, list, n, x, in, 2, ws, acts, &out, &os), "%s fwd", name);
        CHECK((size_t)2 * os.C * os.T * os.H * os.W == ny, "%s: output size", name);
        snprintf(what, sizeof what, "golden %s y", name);
        vt_close(what, out, y, ny, 1e-4, 1e-3);
        CHECK(!vd_vae_run_backward(v, list, n, acts, dy, 2, dx, ws), "%s bwd", name);
        snprintf(what, sizeof what, "golden %s dx", name);
        vt_close(what, dx, dxw, nx, 1e-4, 1e-3);
        golden_params(g, v->params, prefixes, np, 1);
        free(dx);
    }
    free(x);
    free(y);
    free(dy);
    free(dxw);
    vd_arena_free(ws);
    vt_golden_close(g);
}

static void test_golden_blocks(void) {
    vd_vae_config cfg;
    tiny_config(&cfg);
    vd_vae *v;
    vd_error err;
    CHECK(!vd_vae_new(&v, &cfg, 1, 3, NULL, &err), "%s", err.message);
    const char *down[2] = {"encoder.level0.block0.", "encoder.level0.down."};
    golden_layers("vae_down", v, v->enc + 1, 2, (vd_vae_shape){4, 5, 6, 6}, down, 2);
    int up = 0;
    while (up < v->n_dec && !(v->dec[up].kind == VD_VAE_L_UP && v->dec[up].ft == 2)) up++;
    const char *ups[1] = {"decoder.level2.up."};
    if (up < v->n_dec) golden_layers("vae_up", v, v->dec + up, 2, (vd_vae_shape){8, 3, 2, 2}, ups, 1);
    vd_vae_free(v);
}

/* The whole model end to end: encoder, sampled latent, KL, decoder, MSE. */
typedef struct full_ctx {
    vd_vae *v;
    float *x;
    const float *w; /* per-value loss weights, or NULL */
    vd_arena *ws;
} full_ctx;

static double full_loss(void *vctx) {
    full_ctx *c = vctx;
    vd_rng rng;
    vd_rng_init(&rng, 99);
    vd_vae_losses L;
    vd_error err;
    vd_vae_train_step(c->v, c->x, c->w, 2, 5, 8, 8, &rng, 0, 0.5f, c->ws, NULL, &L, &err);
    return L.loss;
}

enum { FULL_NX = 2 * 3 * 5 * 8 * 8 }; /* the batch: two clips of 8x8x5 */

/* A model of config cfg (init seed), a random batch (fill seed), and a copy
 * of the gradients of one training step. */
static float *full_setup(full_ctx *c, const vd_vae_config *cfg, uint64_t seed, uint64_t fill) {
    vd_error err;
    CHECK(!vd_vae_new(&c->v, cfg, 1, seed, NULL, &err), "%s", err.message);
    c->x = malloc(FULL_NX * 4);
    vt_fill_uniform(c->x, FULL_NX, fill);
    c->w = NULL;
    c->ws = vd_arena_new(NULL, 0);
    vd_params *P = c->v->params;
    vd_params_zero_grad(P);
    full_loss(c);
    size_t np = vd_params_numel(P);
    float *g = malloc(np * 4);
    memcpy(g, vd_params_all_grad(P), np * 4);
    return g;
}

/* With the encoder frozen, one more step sets no encoder gradient and the
 * same decoder gradients as g (the unfrozen step's); unfreezes again. */
static void check_frozen_encoder(full_ctx *c, const float *g, size_t enc, const char *label) {
    vd_params *P = c->v->params;
    size_t np = vd_params_numel(P);
    vd_vae_set_frozen_encoder(c->v, 1);
    vd_params_zero_grad(P);
    full_loss(c);
    const float *gf = vd_params_all_grad(P);
    size_t enc_nonzero = 0, dec_diff = 0;
    for (size_t i = 0; i < enc; i++) enc_nonzero += gf[i] != 0.0f;
    for (size_t i = enc; i < np; i++) dec_diff += gf[i] != g[i];
    CHECK(enc_nonzero == 0 && dec_diff == 0,
          "%s: %zu encoder gradients set, %zu decoder gradients changed", label, enc_nonzero,
          dec_diff);
    vd_vae_set_frozen_encoder(c->v, 0);
}

static void full_teardown(full_ctx *c, float *g) {
    free(g);
    free(c->x);
    vd_arena_free(c->ws);
    vd_vae_free(c->v);
}

static void test_full_grad(void) {
    vd_vae_config cfg;
    tiny_config(&cfg);
    full_ctx c;
    float *g = full_setup(&c, &cfg, 3, 51);
    vd_params *P = c.v->params;
    size_t np = vd_params_numel(P);
    /* Encoder parameters come first: check both halves. */
    vt_gradcheck("whole VAE (MSE + KL) dparams", full_loss, &c, vd_params_all(P), g, np, 3e-3,
                 2e-4, 3e-2, 150);
    size_t enc = vd_params_info(P, vd_params_find(P, "decoder.conv_in.weight"))->offset;
    vt_gradcheck("whole VAE encoder dparams", full_loss, &c, vd_params_all(P), g, enc, 3e-3,
                 2e-4, 3e-2, 100);
    /* A frozen encoder: the same decoder gradients, none for the encoder. */
    CHECK(vd_vae_encoder_numel(c.v) == enc, "encoder block %zu floats, want %zu",
          vd_vae_encoder_numel(c.v), enc);
    check_frozen_encoder(&c, g, enc, "frozen encoder");
    /* Weighted loss: all-ones weights give the unweighted loss; uneven
     * weights pass the gradient check. */
    float *w = malloc(FULL_NX * 4);
    for (size_t i = 0; i < FULL_NX; i++) w[i] = 1.0f;
    double plain = full_loss(&c);
    c.w = w;
    double ones = full_loss(&c);
    CHECK(fabs(ones - plain) <= 1e-6 * fabs(plain), "all-ones weights: loss %.8g, unweighted %.8g",
          ones, plain);
    for (size_t i = 0; i < FULL_NX; i++) w[i] = (i / 64) % 3 == 0 ? 9.0f : 1.0f;
    vd_params_zero_grad(P);
    double weighted = full_loss(&c);
    CHECK(fabs(weighted - plain) > 1e-4 * fabs(plain), "uneven weights left the loss unchanged");
    memcpy(g, vd_params_all_grad(P), np * 4);
    vt_gradcheck("whole VAE, weighted MSE + KL, dparams", full_loss, &c, vd_params_all(P), g, np,
                 3e-3, 2e-4, 3e-2, 100);
    c.w = NULL;
    /* Latent noise: the loss changes, gradients stay exact (the noise is a
     * constant of the parameters for a fixed draw). */
    vd_vae_set_latent_noise(c.v, 0.5f);
    vd_params_zero_grad(P);
    double noisy = full_loss(&c);
    CHECK(fabs(noisy - plain) > 1e-4 * fabs(plain), "latent noise left the loss unchanged");
    memcpy(g, vd_params_all_grad(P), np * 4);
    vt_gradcheck("whole VAE, latent noise 0.5, dparams", full_loss, &c, vd_params_all(P), g, np,
                 3e-3, 2e-4, 3e-2, 100);
    vd_vae_set_latent_noise(c.v, 0.0f);
    free(w);
    full_teardown(&c, g);
}

/* The same end-to-end check on a decoder wider than its encoder, with its
 * own time kernels: both halves' gradients, and a frozen encoder's. */
static void test_full_grad_asym(void) {
    vd_vae_config cfg;
    asym_config(&cfg);
    full_ctx c;
    float *g = full_setup(&c, &cfg, 5, 52);
    vd_params *P = c.v->params;
    size_t np = vd_params_numel(P), enc = vd_vae_encoder_numel(c.v);
    vt_gradcheck("wide decoder VAE, decoder dparams", full_loss, &c, vd_params_all(P) + enc,
                 g + enc, np - enc, 3e-3, 2e-4, 3e-2, 120);
    vt_gradcheck("wide decoder VAE, encoder dparams (through the decoder)", full_loss, &c,
                 vd_params_all(P), g, enc, 3e-3, 2e-4, 3e-2, 80);
    check_frozen_encoder(&c, g, enc, "wide decoder, frozen encoder");
    full_teardown(&c, g);
}

int main(void) {
    ops = vd_ops_cpu();
    test_resblock_grad(4, 4, 3);
    test_resblock_grad(4, 6, 1);
    test_blocks_grad(VD_VAE_TIME_PAD_ZEROS);
    test_blocks_grad(VD_VAE_TIME_PAD_REPLICATE);
    test_gaussian_grad();
    test_full_grad();
    test_full_grad_asym();
    test_golden_resblock();
    test_golden_blocks();
    test_causality(VD_VAE_TIME_PAD_ZEROS);
    test_causality(VD_VAE_TIME_PAD_REPLICATE);
    test_stream_decode();
    test_asymmetric_decoder();
    test_bad_input();
    return vt_result("test_vae");
}
