/* Streamed decoding: one latent frame at a time through the decoder, each
 * causal conv keeping its last kt - 1 input frames between chunks (before
 * the first chunk, the causal padding: zeros, or copies of the conv's first
 * input frame with time_pad "replicate"), so the result equals
 * the whole-video pass and the arena holds one chunk's activations, however
 * long the video. Latent frame 0 gives one video frame; every later one gives
 * tc frames (the up-samplings drop their leading copies on chunk 0 only). */
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "models/vae_internal.h"

/* Cache floats of layer l for a chunk whose input is s. */
static size_t cache_need(const vd_vae_layer *l, int B, vd_vae_shape s, size_t *c1, size_t *c2) {
    *c1 = *c2 = 0;
    if (l->kind == VD_VAE_L_CONV) *c1 = vd_conv3d_cache_size(&l->conv, B, s.H, s.W);
    if (l->kind == VD_VAE_L_RES) {
        *c1 = vd_conv3d_cache_size(&l->res.conv1, B, s.H, s.W);
        *c2 = vd_conv3d_cache_size(&l->res.conv2, B, s.H, s.W);
    }
    return *c1 + *c2;
}

static vd_status stream_layer(const vd_vae *v, const vd_vae_layer *l, float *y, const float *x,
                              float *c1, float *c2, int B, vd_vae_shape s, int first,
                              vd_arena *ws) {
    const vd_ops *ops = v->ops;
    switch (l->kind) {
    case VD_VAE_L_CONV:
        return vd_conv3d_forward_stream(ops, &l->conv, v->params, y, x, c1, first, B, s.T, s.H,
                                        s.W, ws);
    case VD_VAE_L_RES:
        return vd_resblock_forward_stream(ops, &l->res, v->params, y, x, c1, c2, first, B, s.T,
                                          s.H, s.W, ws);
    case VD_VAE_L_UP:
        if (first) return vd_vae_layer_forward(v, l, y, x, B, s, ws, NULL);
        ops->upsample_nearest_fwd(y, x, B * s.C, s.T, s.H, s.W, l->ft, l->fs, l->fs);
        return VD_OK;
    default: return vd_vae_layer_forward(v, l, y, x, B, s, ws, NULL);
    }
}

vd_status vd_vae_decode(vd_vae *v, const float *z, int B, int Tl, int Hl, int Wl, float *x,
                        vd_arena *ws, vd_error *err) {
    if (Tl < 1 || Hl < 1 || Wl < 1)
        return vd_fail(err, VD_ERR_ARG, "vae: empty latent (%d, %d, %d)", Tl, Hl, Wl);
    int Z = v->cfg.latent_channels, n = v->n_dec;
    size_t off1[VD_VAE_MAX_LAYERS], off2[VD_VAE_MAX_LAYERS], total = 0;
    vd_vae_shape s = {Z, 1, Hl, Wl};
    for (int i = 0; i < n; i++) {
        size_t a, b;
        cache_need(&v->dec[i], B, s, &a, &b);
        off1[i] = total;
        off2[i] = total + a;
        total += a + b;
        s = vd_vae_layer_out(&v->dec[i], s, 0);
    }
    float *cache = vd_calloc(v->alloc, total ? total : 1, sizeof(float));
    if (!cache) return vd_fail(err, VD_ERR_NOMEM, "vae: decode: out of memory for caches");
    int tc = vd_vae_config_temporal(&v->cfg), sc = vd_vae_config_spatial(&v->cfg);
    int T = 1 + (Tl - 1) * tc, H = Hl * sc, W = Wl * sc;
    size_t lplane = (size_t)Hl * Wl, plane = (size_t)H * W;
    vd_status st = VD_OK;
    for (int k = 0; k < Tl && !st; k++) {
        size_t mark = vd_arena_mark(ws);
        float *cur = vd_arena_floats(ws, (size_t)B * Z * lplane);
        if (!cur) {
            st = VD_ERR_NOMEM;
            break;
        }
        for (int bc = 0; bc < B * Z; bc++)
            memcpy(cur + (size_t)bc * lplane, z + ((size_t)bc * Tl + k) * lplane,
                   lplane * sizeof(float));
        s = (vd_vae_shape){Z, 1, Hl, Wl};
        for (int i = 0; i < n && !st; i++) {
            vd_vae_shape o = vd_vae_layer_out(&v->dec[i], s, k == 0);
            float *y = vd_arena_floats(ws, (size_t)B * o.C * o.T * o.H * o.W);
            if (!y) {
                st = VD_ERR_NOMEM;
                break;
            }
            st = stream_layer(v, &v->dec[i], y, cur, cache + off1[i], cache + off2[i], B, s,
                              k == 0, ws);
            cur = y;
            s = o;
        }
        if (!st) {
            int t0 = k == 0 ? 0 : 1 + (k - 1) * tc;
            for (int bc = 0; bc < B * 3; bc++)
                memcpy(x + ((size_t)bc * T + t0) * plane, cur + (size_t)bc * s.T * plane,
                       (size_t)s.T * plane * sizeof(float));
        }
        vd_arena_reset(ws, mark);
    }
    vd_free(v->alloc, cache);
    if (st) return vd_fail(err, st, "vae: decode failed (%s)", vd_status_string(st));
    return VD_OK;
}
