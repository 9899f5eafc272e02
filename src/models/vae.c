/* The causal video VAE: layers, forward and backward, training step,
 * encoding and (streamed) decoding. See vae.h.
 *
 * Each half of the network is a list of layers of four kinds (conv,
 * residual block, norm + SiLU, up-sampling). Forward walks the list and
 * records each layer's input; backward walks it in reverse. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "models/vae_internal.h"

/* ------------------------------------------------------------- building */

static vd_status add_conv(vd_vae *v, vd_vae_layer *list, int *n, const char *name, int cin,
                          int cout, int kt, int st, int ss, vd_error *err) {
    vd_vae_layer *l = &list[(*n)++];
    memset(l, 0, sizeof *l);
    l->kind = VD_VAE_L_CONV;
    vd_status status = vd_conv3d_declare(&l->conv, v->params, name, cin, cout, kt, 3, 3, st, ss,
                                         ss, err);
    /* Every causal conv pads the same way, the strided time down-samplings
     * and the convs after a temporal up-sampling included. */
    l->conv.replicate = v->cfg.time_pad == VD_VAE_TIME_PAD_REPLICATE;
    return status;
}

static vd_status add_res(vd_vae *v, vd_vae_layer *list, int *n, const char *name, int c,
                         int kt, vd_error *err) {
    vd_vae_layer *l = &list[(*n)++];
    memset(l, 0, sizeof *l);
    l->kind = VD_VAE_L_RES;
    vd_status st = vd_resblock_declare(&l->res, v->params, name, c, c, kt, v->cfg.groups, err);
    vd_resblock_set_replicate(&l->res, v->cfg.time_pad == VD_VAE_TIME_PAD_REPLICATE);
    return st;
}

static vd_status add_normact(vd_vae *v, vd_vae_layer *list, int *n, const char *name, int c,
                             vd_error *err) {
    vd_vae_layer *l = &list[(*n)++];
    memset(l, 0, sizeof *l);
    if (!v->cfg.head_norm) {
        l->kind = VD_VAE_L_SILU;
        return VD_OK;
    }
    l->kind = VD_VAE_L_NORMACT;
    return vd_normact_declare(&l->na, v->params, name, c, v->cfg.groups, err);
}

static vd_status build(vd_vae *v, vd_error *err) {
    const vd_vae_config *c = &v->cfg;
    int L = c->levels, Z = c->latent_channels;
    char name[96];
    vd_status st;
    int *n = &v->n_enc;
    if ((st = add_conv(v, v->enc, n, "encoder.conv_in", 3, c->channels[0], c->kt[0], 1, 1, err)))
        return st;
    for (int l = 0; l < L; l++) {
        for (int j = 0; j < c->enc_blocks[l]; j++) {
            snprintf(name, sizeof name, "encoder.level%d.block%d", l, j);
            if ((st = add_res(v, v->enc, n, name, c->channels[l], c->kt[l], err))) return st;
        }
        if (l + 1 < L) {
            snprintf(name, sizeof name, "encoder.level%d.down", l);
            int dt = c->down_time[l], ds = c->down_space[l];
            if ((st = add_conv(v, v->enc, n, name, c->channels[l], c->channels[l + 1],
                               dt ? 3 : c->kt[l], dt ? 2 : 1, ds ? 2 : 1, err)))
                return st;
        }
    }
    if ((st = add_normact(v, v->enc, n, "encoder.norm_out", c->channels[L - 1], err))) return st;
    if ((st = add_conv(v, v->enc, n, "encoder.conv_out", c->channels[L - 1], 2 * Z,
                       c->kt[L - 1], 1, 1, err)))
        return st;

    /* The decoder has widths and time kernels of its own (dec_channels,
     * dec_kt: the encoder's unless set), so that a wider decoder can learn on
     * a frozen encoder. Its input conv takes the Z latent channels whatever
     * the encoder's width, and its head ends at 3 RGB channels: the two
     * halves meet at the latent only. */
    n = &v->n_dec;
    int dch[VD_VAE_MAX_LEVELS], dkt[VD_VAE_MAX_LEVELS];
    for (int l = 0; l < L; l++) {
        dch[l] = vd_vae_dec_channels(c, l);
        dkt[l] = vd_vae_dec_kt(c, l);
    }
    if ((st = add_conv(v, v->dec, n, "decoder.conv_in", Z, dch[L - 1], dkt[L - 1], 1, 1, err)))
        return st;
    for (int l = L - 1; l >= 0; l--) {
        for (int j = 0; j < c->dec_blocks[l]; j++) {
            snprintf(name, sizeof name, "decoder.level%d.block%d", l, j);
            if ((st = add_res(v, v->dec, n, name, dch[l], dkt[l], err))) return st;
        }
        if (l > 0) {
            int dt = c->down_time[l - 1], ds = c->down_space[l - 1];
            vd_vae_layer *u = &v->dec[(*n)++];
            memset(u, 0, sizeof *u);
            u->kind = VD_VAE_L_UP;
            u->ft = dt ? 2 : 1;
            u->fs = ds ? 2 : 1;
            snprintf(name, sizeof name, "decoder.level%d.up", l);
            if ((st = add_conv(v, v->dec, n, name, dch[l], dch[l - 1], dt ? 3 : dkt[l - 1], 1, 1,
                               err)))
                return st;
        }
    }
    if ((st = add_normact(v, v->dec, n, "decoder.norm_out", dch[0], err))) return st;
    return add_conv(v, v->dec, n, "decoder.conv_out", dch[0], 3, dkt[0], 1, 1, err);
}

static int c_latent(const vd_vae *v) { return v->cfg.latent_channels; }

static void init_layers(vd_vae *v, vd_vae_layer *list, int n, vd_rng *rng) {
    for (int i = 0; i < n; i++) {
        vd_vae_layer *l = &list[i];
        if (l->kind == VD_VAE_L_CONV) vd_conv3d_init(&l->conv, v->params, rng, 1.0f);
        if (l->kind == VD_VAE_L_RES) vd_resblock_init(&l->res, v->params, rng);
        if (l->kind == VD_VAE_L_NORMACT) vd_normact_init(&l->na, v->params);
    }
}

vd_status vd_vae_new(vd_vae **out, const vd_vae_config *c, int with_grad, uint64_t seed,
                     const vd_allocator *allocator, vd_error *err) {
    *out = NULL;
    vd_status st = vd_vae_config_check(c, err);
    if (st) return st;
    vd_vae *v = vd_calloc(allocator, 1, sizeof *v);
    if (!v) return vd_fail(err, VD_ERR_NOMEM, "vae: out of memory");
    v->cfg = *c;
    v->alloc = allocator;
    v->ops = vd_ops_cpu();
    v->params = vd_params_new(allocator);
    if (!v->params) {
        vd_vae_free(v);
        return vd_fail(err, VD_ERR_NOMEM, "vae: out of memory");
    }
    if ((st = build(v, err)) || (st = vd_params_alloc(v->params, with_grad, err))) {
        vd_vae_free(v);
        return st;
    }
    vd_rng rng;
    vd_rng_init(&rng, seed);
    init_layers(v, v->enc, v->n_enc, &rng);
    init_layers(v, v->dec, v->n_dec, &rng);
    /* The log-variance half of the encoder's output starts near -12 (a
     * posterior std of 0.0025). At initialisation the latent mean is small
     * (each plain conv shrinks the signal), so larger noise drowns it and
     * the decoder learns nothing until the encoder grows: on 8 videos at
     * 64x64 (single frames, batch 36), L1 after 70 steps was 0.30 with
     * logvar -6, 0.18 with -12 and 0.16 with no noise at all. The KL term
     * raises the variance later where the latent can afford it. */
    const vd_conv3d *head = &v->enc[v->n_enc - 1].conv;
    float *w = vd_params_data(v->params, head->w), *b = vd_params_data(v->params, head->b);
    size_t per = (size_t)head->cin * head->kt * head->kh * head->kw;
    for (int ch = c_latent(v); ch < 2 * c_latent(v); ch++) {
        for (size_t i = 0; i < per; i++) w[(size_t)ch * per + i] *= 0.1f;
        b[ch] = -12.0f;
    }
    *out = v;
    return VD_OK;
}

void vd_vae_free(vd_vae *v) {
    if (!v) return;
    vd_params_free(v->params);
    vd_free(v->alloc, v);
}

const vd_vae_config *vd_vae_get_config(const vd_vae *v) { return &v->cfg; }

void vd_vae_set_frozen_encoder(vd_vae *v, int frozen) { v->frozen_encoder = frozen != 0; }

int vd_vae_copy_weights(vd_vae *dst, const vd_vae *src) {
    vd_params *a = dst->params, *b = src->params;
    int same = vd_params_count(a) == vd_params_count(b);
    for (size_t i = 0; same && i < vd_params_count(a); i++)
        same = !strcmp(vd_params_info(a, i)->name, vd_params_info(b, i)->name) &&
               vd_params_info(a, i)->numel == vd_params_info(b, i)->numel;
    if (same) memcpy(vd_params_all(a), vd_params_all(b), vd_params_numel(a) * sizeof(float));
    return same;
}

void vd_vae_set_latent_noise(vd_vae *v, float sigma) {
    v->latent_noise = sigma > 0.0f && isfinite(sigma) ? sigma : 0.0f;
}

/* z += s std_c n per video (vd_vae_set_latent_noise); the added term does
 * not depend on the parameters, so gradients pass through unchanged. */
static void add_latent_noise(vd_vae *v, float *z, vd_rng *rng, int B, int Z, size_t S,
                             float *scratch) {
    for (int b = 0; b < B; b++) {
        float s = v->latent_noise * (float)vd_rng_uniform1(rng);
        vd_rng_normal(rng, scratch, (size_t)Z * S);
        for (int c = 0; c < Z; c++) {
            float k = s * (v->has_stats ? v->lstd[c] : 1.0f);
            float *zc = z + ((size_t)b * Z + c) * S;
            const float *nc = scratch + (size_t)c * S;
            for (size_t i = 0; i < S; i++) zc[i] += k * nc[i];
        }
    }
}

size_t vd_vae_encoder_numel(const vd_vae *v) {
    /* build() declares every encoder layer before the first decoder layer,
     * and params lay tensors out in declaration order: the decoder starts at
     * its first tensor's offset. */
    for (size_t i = 0; i < vd_params_count(v->params); i++) {
        const vd_param_info *pi = vd_params_info(v->params, i);
        if (strncmp(pi->name, "encoder.", 8)) return pi->offset; /* tensors are aligned */
    }
    return vd_params_numel(v->params);
}
vd_params *vd_vae_params(vd_vae *v) { return v->params; }

void vd_vae_set_latent_stats(vd_vae *v, const float *mean, const float *std) {
    for (int i = 0; i < v->cfg.latent_channels; i++) {
        v->lmean[i] = mean[i];
        v->lstd[i] = std[i];
    }
    v->has_stats = 1;
}

int vd_vae_latent_stats(const vd_vae *v, const float **mean, const float **std) {
    if (mean) *mean = v->lmean;
    if (std) *std = v->lstd;
    return v->has_stats;
}

vd_status vd_vae_check_input(const vd_vae *v, int T, int H, int W, vd_error *err) {
    int tc = vd_vae_config_temporal(&v->cfg), sc = vd_vae_config_spatial(&v->cfg);
    if (T < 1 || (T - 1) % tc)
        return vd_fail(err, VD_ERR_ARG,
                       "vae: %d frames: the model codes 1 + %d k frames (1, %d, %d, ...)", T,
                       tc, 1 + tc, 1 + 2 * tc);
    if (H < sc || W < sc || H % sc || W % sc)
        return vd_fail(err, VD_ERR_ARG,
                       "vae: frame size %dx%d: width and height must be multiples of %d", W, H,
                       sc);
    return VD_OK;
}

void vd_vae_latent_shape(const vd_vae *v, int T, int H, int W, int *Tl, int *Hl, int *Wl) {
    int tc = vd_vae_config_temporal(&v->cfg), sc = vd_vae_config_spatial(&v->cfg);
    if (Tl) *Tl = 1 + (T - 1) / tc;
    if (Hl) *Hl = H / sc;
    if (Wl) *Wl = W / sc;
}

/* -------------------------------------------------------------- layers */

vd_vae_shape vd_vae_layer_out(const vd_vae_layer *l, vd_vae_shape s, int drop) {
    vd_vae_shape o = s;
    switch (l->kind) {
    case VD_VAE_L_CONV:
        o.C = l->conv.cout;
        vd_conv3d_out(&l->conv, s.T, s.H, s.W, &o.T, &o.H, &o.W);
        break;
    case VD_VAE_L_RES: o.C = l->res.cout; break;
    case VD_VAE_L_UP:
        o.T = s.T * l->ft - (drop ? l->ft - 1 : 0);
        o.H = s.H * l->fs;
        o.W = s.W * l->fs;
        break;
    default: break;
    }
    return o;
}

static size_t numel(int B, vd_vae_shape s) { return (size_t)B * s.C * s.T * s.H * s.W; }

/* Nearest up-sampling by (ft, fs, fs); with `drop`, the first ft - 1 output
 * frames (copies of input frame 0) are left out so 1 + k frames give
 * 1 + ft k. */
static vd_status up_forward(const vd_ops *ops, const vd_vae_layer *l, float *y, const float *x,
                            int B, vd_vae_shape s, int drop, vd_arena *ws) {
    int BC = B * s.C, Tf = s.T * l->ft, skip = drop ? l->ft - 1 : 0;
    if (!skip) {
        ops->upsample_nearest_fwd(y, x, BC, s.T, s.H, s.W, l->ft, l->fs, l->fs);
        return VD_OK;
    }
    size_t plane = (size_t)s.H * l->fs * s.W * l->fs;
    size_t mark = vd_arena_mark(ws);
    float *full = vd_arena_floats(ws, (size_t)BC * Tf * plane);
    if (!full) return VD_ERR_NOMEM;
    ops->upsample_nearest_fwd(full, x, BC, s.T, s.H, s.W, l->ft, l->fs, l->fs);
    for (int p = 0; p < BC; p++)
        memcpy(y + (size_t)p * (Tf - skip) * plane, full + ((size_t)p * Tf + skip) * plane,
               (size_t)(Tf - skip) * plane * sizeof(float));
    vd_arena_reset(ws, mark);
    return VD_OK;
}

static vd_status up_backward(const vd_ops *ops, const vd_vae_layer *l, float *dx,
                             const float *dy, int B, vd_vae_shape s, vd_arena *ws) {
    int BC = B * s.C, Tf = s.T * l->ft, skip = l->ft - 1;
    if (!dx) return VD_OK;
    if (!skip) {
        ops->upsample_nearest_bwd(dx, dy, BC, s.T, s.H, s.W, l->ft, l->fs, l->fs);
        return VD_OK;
    }
    size_t plane = (size_t)s.H * l->fs * s.W * l->fs;
    size_t mark = vd_arena_mark(ws);
    float *full = vd_arena_zeros(ws, (size_t)BC * Tf * plane);
    if (!full) return VD_ERR_NOMEM;
    for (int p = 0; p < BC; p++)
        memcpy(full + ((size_t)p * Tf + skip) * plane, dy + (size_t)p * (Tf - skip) * plane,
               (size_t)(Tf - skip) * plane * sizeof(float));
    ops->upsample_nearest_bwd(dx, full, BC, s.T, s.H, s.W, l->ft, l->fs, l->fs);
    vd_arena_reset(ws, mark);
    return VD_OK;
}

vd_status vd_vae_layer_forward(const vd_vae *v, const vd_vae_layer *l, float *y,
                               const float *x, int B, vd_vae_shape s, vd_arena *ws,
                               vd_vae_acts *a) {
    const vd_ops *ops = v->ops;
    switch (l->kind) {
    case VD_VAE_L_CONV:
        return vd_conv3d_forward(ops, &l->conv, v->params, y, x, B, s.T, s.H, s.W, ws);
    case VD_VAE_L_RES:
        return vd_resblock_forward(ops, &l->res, v->params, y, x, B, s.T, s.H, s.W, ws,
                                   a ? &a->res : NULL);
    case VD_VAE_L_NORMACT:
        return vd_normact_forward(ops, &l->na, v->params, y, x, B, s.T, s.H, s.W, ws,
                                  a ? &a->na : NULL);
    case VD_VAE_L_UP: return up_forward(ops, l, y, x, B, s, 1, ws);
    case VD_VAE_L_SILU: ops->silu_fwd(y, x, numel(B, s)); return VD_OK;
    }
    return VD_ERR_INTERNAL;
}

vd_status vd_vae_layer_backward(const vd_vae *v, const vd_vae_layer *l, float *dx,
                                const float *dy, const vd_vae_acts *a, int B,
                                vd_arena *ws) {
    const vd_ops *ops = v->ops;
    vd_vae_shape s = a->in;
    switch (l->kind) {
    case VD_VAE_L_CONV:
        return vd_conv3d_backward(ops, &l->conv, v->params, dx, dy, a->x, B, s.T, s.H, s.W, ws);
    case VD_VAE_L_RES:
        return vd_resblock_backward(ops, &l->res, v->params, dx, dy, a->x, &a->res, B, s.T,
                                    s.H, s.W, ws);
    case VD_VAE_L_NORMACT:
        if (!dx) return VD_OK;
        return vd_normact_backward(ops, &l->na, v->params, dx, dy, &a->na, B, s.T, s.H, s.W,
                                   ws);
    case VD_VAE_L_UP: return up_backward(ops, l, dx, dy, B, s, ws);
    case VD_VAE_L_SILU:
        if (dx) ops->silu_bwd(dx, dy, a->x, numel(B, s));
        return VD_OK;
    }
    return VD_ERR_INTERNAL;
}

vd_status vd_vae_run(const vd_vae *v, const vd_vae_layer *list, int n, const float *x,
                     vd_vae_shape in, int B, vd_arena *ws, vd_vae_acts *acts, float **out,
                     vd_vae_shape *out_shape) {
    const float *cur = x;
    vd_vae_shape s = in;
    for (int i = 0; i < n; i++) {
        vd_vae_shape o = vd_vae_layer_out(&list[i], s, 1);
        if (o.T <= 0 || o.H <= 0 || o.W <= 0) return VD_ERR_ARG;
        float *y = vd_arena_floats(ws, numel(B, o));
        if (!y) return VD_ERR_NOMEM;
        if (acts) {
            acts[i].x = cur;
            acts[i].in = s;
        }
        vd_status st = vd_vae_layer_forward(v, &list[i], y, cur, B, s, ws, acts ? &acts[i] : NULL);
        if (st) return st;
        cur = y;
        s = o;
    }
    *out = (float *)cur;
    *out_shape = s;
    return VD_OK;
}

vd_status vd_vae_run_backward(const vd_vae *v, const vd_vae_layer *list, int n,
                              const vd_vae_acts *acts, const float *dy, int B, float *dx_in,
                              vd_arena *ws) {
    /* Two ping-pong buffers sized for the largest layer input carry the
     * gradient down the list. */
    size_t big = 0;
    for (int i = 1; i < n; i++)
        if (numel(B, acts[i].in) > big) big = numel(B, acts[i].in);
    size_t mark = vd_arena_mark(ws);
    float *buf[2] = {vd_arena_floats(ws, big ? big : 1), vd_arena_floats(ws, big ? big : 1)};
    if (!buf[0] || !buf[1]) {
        vd_arena_reset(ws, mark);
        return VD_ERR_NOMEM;
    }
    const float *g = dy;
    vd_status st = VD_OK;
    for (int i = n - 1; i >= 0 && !st; i--) {
        float *dx = dx_in;
        if (i > 0) {
            dx = buf[i & 1];
            memset(dx, 0, numel(B, acts[i].in) * sizeof(float));
        }
        st = vd_vae_layer_backward(v, &list[i], dx, g, &acts[i], B, ws);
        g = dx;
    }
    vd_arena_reset(ws, mark);
    return st;
}

/* --------------------------------------------------------- Gaussian head */

static float clampf(float x, float lo, float hi) { return x < lo ? lo : x > hi ? hi : x; }

float vd_vae_gaussian_forward(float *z, const float *h, const float *eps, int B, int Z,
                              size_t S, float lv_min, float lv_max) {
    double kl = 0.0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < Z; c++) {
            const float *m = h + ((size_t)b * 2 * Z + c) * S;
            const float *lv = h + ((size_t)b * 2 * Z + Z + c) * S;
            float *zc = z ? z + ((size_t)b * Z + c) * S : NULL;
            const float *e = eps ? eps + ((size_t)b * Z + c) * S : NULL;
            for (size_t s = 0; s < S; s++) {
                float l = clampf(lv[s], lv_min, lv_max);
                float var = expf(l);
                if (zc) zc[s] = m[s] + (e ? sqrtf(var) * e[s] : 0.0f);
                kl += 0.5 * ((double)m[s] * m[s] + var - 1.0 - l);
            }
        }
    return (float)(kl / ((double)B * Z * S));
}

void vd_vae_gaussian_backward(float *dh, const float *dz, const float *h,
                              const float *eps, int B, int Z, size_t S, float lv_min,
                              float lv_max, float kl_weight) {
    float kw = kl_weight / (float)((double)B * Z * S);
    for (int b = 0; b < B; b++)
        for (int c = 0; c < Z; c++) {
            size_t mo = ((size_t)b * 2 * Z + c) * S, lo = ((size_t)b * 2 * Z + Z + c) * S;
            const float *dzc = dz + ((size_t)b * Z + c) * S;
            const float *e = eps ? eps + ((size_t)b * Z + c) * S : NULL;
            for (size_t s = 0; s < S; s++) {
                float m = h[mo + s], lv = h[lo + s];
                dh[mo + s] += dzc[s] + kw * m;
                /* The clamp passes no gradient outside its range. */
                if (lv > lv_min && lv < lv_max) {
                    float var = expf(lv);
                    float g = kw * 0.5f * (var - 1.0f);
                    if (e) g += dzc[s] * e[s] * 0.5f * sqrtf(var);
                    dh[lo + s] += g;
                }
            }
        }
}

/* ------------------------------------------------------------- training */

/* Weighted reconstruction loss: sum(w e(d)) / sum(w), e = |d| or d^2; adds
 * its gradient to dy. */
static float weighted_recon(float *dy, const float *y, const float *x, const float *w, size_t n,
                            int use_l1) {
    double sw = 0.0, se = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d = y[i] - x[i];
        sw += w[i];
        se += (double)w[i] * (use_l1 ? fabsf(d) : d * d);
    }
    if (!(sw > 0.0)) return 0.0f;
    const float k = (float)(1.0 / sw);
    for (size_t i = 0; i < n; i++) {
        float d = y[i] - x[i];
        dy[i] += w[i] * k * (use_l1 ? (d > 0 ? 1.0f : d < 0 ? -1.0f : 0.0f) : 2.0f * d);
    }
    return (float)(se / sw);
}

vd_status vd_vae_train_step(vd_vae *v, const float *x, const float *weight, int B, int T, int H,
                            int W, vd_rng *rng, int use_l1, float kl_weight, vd_arena *ws,
                            float *recon, vd_vae_losses *losses, vd_error *err) {
    vd_status st = vd_vae_check_input(v, T, H, W, err);
    if (st) return st;
    if (!vd_params_all_grad(v->params))
        return vd_fail(err, VD_ERR_ARG, "vae: training step on a model without gradients");
    const vd_ops *ops = v->ops;
    int Z = v->cfg.latent_channels;
    size_t mark = vd_arena_mark(ws);
    vd_vae_acts *ea = vd_arena_alloc(ws, (size_t)v->n_enc * sizeof *ea);
    vd_vae_acts *da = vd_arena_alloc(ws, (size_t)v->n_dec * sizeof *da);
    float *h = NULL, *y = NULL;
    vd_vae_shape hs, ys, in = {3, T, H, W};
    st = VD_ERR_NOMEM;
    if (!ea || !da) goto fail;
    if ((st = vd_vae_run(v, v->enc, v->n_enc, x, in, B, ws, ea, &h, &hs))) goto fail;
    size_t S = (size_t)hs.T * hs.H * hs.W, nz = (size_t)B * Z * S;
    vd_vae_shape zs = {Z, hs.T, hs.H, hs.W};
    float *eps = vd_arena_floats(ws, nz);
    float *z = vd_arena_floats(ws, nz);
    st = VD_ERR_NOMEM;
    if (!eps || !z) goto fail;
    vd_rng_normal(rng, eps, nz);
    float kl = vd_vae_gaussian_forward(z, h, eps, B, Z, S, v->cfg.logvar_min, v->cfg.logvar_max);
    if (v->latent_noise > 0.0f) {
        float *scratch = vd_arena_floats(ws, (size_t)Z * S);
        st = VD_ERR_NOMEM;
        if (!scratch) goto fail;
        add_latent_noise(v, z, rng, B, Z, S, scratch);
    }
    if ((st = vd_vae_run(v, v->dec, v->n_dec, z, zs, B, ws, da, &y, &ys))) goto fail;
    size_t nx = (size_t)B * 3 * T * H * W;
    float *dy = vd_arena_zeros(ws, nx);
    float *dz = vd_arena_zeros(ws, nz);
    float *dh = vd_arena_zeros(ws, 2 * nz);
    st = VD_ERR_NOMEM;
    if (!dy || !dz || !dh) goto fail;
    float rec;
    if (weight) {
        rec = weighted_recon(dy, y, x, weight, nx, use_l1);
    } else if (use_l1) {
        rec = ops->l1_fwd(y, x, nx);
        ops->l1_bwd(dy, y, x, nx, 1.0f);
    } else {
        rec = ops->mse_fwd(y, x, nx);
        ops->mse_bwd(dy, y, x, nx, 1.0f);
    }
    if ((st = vd_vae_run_backward(v, v->dec, v->n_dec, da, dy, B,
                                  v->frozen_encoder ? NULL : dz, ws)))
        goto fail;
    if (!v->frozen_encoder) {
        vd_vae_gaussian_backward(dh, dz, h, eps, B, Z, S, v->cfg.logvar_min, v->cfg.logvar_max,
                                 kl_weight);
        if ((st = vd_vae_run_backward(v, v->enc, v->n_enc, ea, dh, B, NULL, ws))) goto fail;
    }
    if (recon) memcpy(recon, y, nx * sizeof(float));
    if (losses) {
        losses->recon = rec;
        losses->kl = kl;
        losses->loss = rec + kl_weight * kl;
    }
    vd_arena_reset(ws, mark);
    return VD_OK;
fail:
    vd_arena_reset(ws, mark);
    if (st == VD_ERR_NOMEM) return vd_fail(err, st, "vae: training step: out of memory");
    return vd_fail(err, st, "vae: training step failed (%s)", vd_status_string(st));
}

/* ------------------------------------------------------------- inference */

vd_status vd_vae_encode_dist(vd_vae *v, const float *x, int B, int T, int H, int W,
                             float *mean, float *logvar, vd_arena *ws, vd_error *err) {
    vd_status st = vd_vae_check_input(v, T, H, W, err);
    if (st) return st;
    int Z = v->cfg.latent_channels;
    size_t mark = vd_arena_mark(ws);
    float *h;
    vd_vae_shape hs, in = {3, T, H, W};
    st = vd_vae_run(v, v->enc, v->n_enc, x, in, B, ws, NULL, &h, &hs);
    if (!st) {
        size_t S = (size_t)hs.T * hs.H * hs.W;
        for (int b = 0; b < B; b++) {
            const float *hb = h + (size_t)b * 2 * Z * S;
            if (mean) memcpy(mean + (size_t)b * Z * S, hb, (size_t)Z * S * sizeof(float));
            if (logvar)
                for (size_t i = 0; i < (size_t)Z * S; i++)
                    logvar[(size_t)b * Z * S + i] =
                        clampf(hb[(size_t)Z * S + i], v->cfg.logvar_min, v->cfg.logvar_max);
        }
    }
    vd_arena_reset(ws, mark);
    if (st) return vd_fail(err, st, "vae: encode failed (%s)", vd_status_string(st));
    return VD_OK;
}

vd_status vd_vae_encode(vd_vae *v, const float *x, int B, int T, int H, int W, float *z,
                        vd_arena *ws, vd_error *err) {
    return vd_vae_encode_dist(v, x, B, T, H, W, z, NULL, ws, err);
}

static vd_status check_latent(const vd_vae *v, int Tl, int Hl, int Wl, vd_error *err) {
    if (Tl < 1 || Hl < 1 || Wl < 1)
        return vd_fail(err, VD_ERR_ARG, "vae: empty latent (%d, %d, %d)", Tl, Hl, Wl);
    return VD_OK;
}

vd_status vd_vae_decode_full(vd_vae *v, const float *z, int B, int Tl, int Hl, int Wl,
                             float *x, vd_arena *ws, vd_error *err) {
    vd_status st = check_latent(v, Tl, Hl, Wl, err);
    if (st) return st;
    size_t mark = vd_arena_mark(ws);
    float *y;
    vd_vae_shape ys, in = {v->cfg.latent_channels, Tl, Hl, Wl};
    st = vd_vae_run(v, v->dec, v->n_dec, z, in, B, ws, NULL, &y, &ys);
    if (!st) memcpy(x, y, numel(B, ys) * sizeof(float));
    vd_arena_reset(ws, mark);
    if (st) return vd_fail(err, st, "vae: decode failed (%s)", vd_status_string(st));
    return VD_OK;
}
