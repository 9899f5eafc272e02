/* The conv3d layer: geometry and parameter bookkeeping around the op. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "nn/conv.h"

vd_status vd_conv3d_declare(vd_conv3d *c, vd_params *p, const char *name, int cin,
                            int cout, int kt, int kh, int kw, int st, int sh, int sw,
                            vd_error *err) {
    if (cin <= 0 || cout <= 0 || kt <= 0 || kh <= 0 || kw <= 0 || st <= 0 || sh <= 0 ||
        sw <= 0)
        return vd_fail(err, VD_ERR_ARG, "conv3d: %s: invalid geometry", name);
    memset(c, 0, sizeof *c);
    c->cin = cin;
    c->cout = cout;
    c->kt = kt;
    c->kh = kh;
    c->kw = kw;
    c->st = st;
    c->sh = sh;
    c->sw = sw;
    char buf[160];
    int64_t ws[5] = {cout, cin, kt, kh, kw};
    int64_t bs[1] = {cout};
    snprintf(buf, sizeof buf, "%s.weight", name);
    vd_status st_ = vd_params_declare(p, buf, 5, ws, 0, &c->w, err);
    if (st_) return st_;
    snprintf(buf, sizeof buf, "%s.bias", name);
    return vd_params_declare(p, buf, 1, bs, VD_PARAM_NO_DECAY, &c->b, err);
}

void vd_conv3d_init(const vd_conv3d *c, vd_params *p, vd_rng *rng, float gain) {
    float bound = 1.0f / sqrtf((float)c->cin * c->kt * c->kh * c->kw);
    vd_params_init_uniform(p, c->w, rng, bound * gain);
    vd_params_init_uniform(p, c->b, rng, bound * gain);
}

void vd_conv3d_geometry(const vd_conv3d *c, int B, int T, int H, int W,
                        vd_conv3d_shape *s) {
    memset(s, 0, sizeof *s);
    s->batch = B;
    s->c_in = c->cin;
    s->c_out = c->cout;
    s->t_in = T;
    s->h_in = H;
    s->w_in = W;
    s->kt = c->kt;
    s->kh = c->kh;
    s->kw = c->kw;
    s->st = c->st;
    s->sh = c->sh;
    s->sw = c->sw;
    s->ph = c->kh / 2;
    s->pw = c->kw / 2;
    s->causal = c->replicate ? VD_CONV3D_CAUSAL_REPLICATE : VD_CONV3D_CAUSAL_ZEROS;
}

void vd_conv3d_out(const vd_conv3d *c, int T, int H, int W, int *To, int *Ho, int *Wo) {
    vd_conv3d_shape s;
    vd_conv3d_geometry(c, 1, T, H, W, &s);
    vd_conv3d_out_size(&s, To, Ho, Wo);
}

vd_status vd_conv3d_forward(const vd_ops *ops, const vd_conv3d *c, vd_params *p,
                            float *y, const float *x, int B, int T, int H, int W,
                            vd_arena *ws) {
    vd_conv3d_shape s;
    vd_conv3d_geometry(c, B, T, H, W, &s);
    return ops->conv3d_fwd(y, x, vd_params_data(p, c->w), vd_params_data(p, c->b), &s, ws);
}

vd_status vd_conv3d_backward(const vd_ops *ops, const vd_conv3d *c, vd_params *p,
                             float *dx, const float *dy, const float *x, int B, int T,
                             int H, int W, vd_arena *ws) {
    vd_conv3d_shape s;
    vd_conv3d_geometry(c, B, T, H, W, &s);
    return ops->conv3d_bwd(dx, vd_params_grad(p, c->w), vd_params_grad(p, c->b), dy, x,
                           vd_params_data(p, c->w), &s, ws);
}

size_t vd_conv3d_cache_size(const vd_conv3d *c, int B, int H, int W) {
    return (size_t)B * c->cin * (size_t)(c->kt - 1) * H * W;
}

vd_status vd_conv3d_forward_stream(const vd_ops *ops, const vd_conv3d *c, vd_params *p,
                                   float *y, const float *x, float *cache, int first, int B,
                                   int Tn, int H, int W, vd_arena *ws) {
    if (c->st != 1) return VD_ERR_ARG;
    int K = c->kt - 1;
    if (K == 0) return vd_conv3d_forward(ops, c, p, y, x, B, Tn, H, W, ws);
    if (Tn < 1) return VD_ERR_ARG;
    size_t plane = (size_t)H * W;
    if (first) {
        /* The whole-video pass pads with these same frames. */
        for (int bc = 0; bc < B * c->cin; bc++)
            for (int k = 0; k < K; k++) {
                float *ck = cache + ((size_t)bc * K + k) * plane;
                if (c->replicate)
                    memcpy(ck, x + (size_t)bc * Tn * plane, plane * sizeof(float));
                else
                    memset(ck, 0, plane * sizeof(float));
            }
    }
    int Tw = K + Tn;
    size_t mark = vd_arena_mark(ws);
    float *win = vd_arena_floats(ws, (size_t)B * c->cin * Tw * plane);
    if (!win) return VD_ERR_NOMEM;
    /* The window is [cached frames | new frames] per channel; its last K
     * frames become the next cache. */
    for (int bc = 0; bc < B * c->cin; bc++) {
        float *wb = win + (size_t)bc * Tw * plane;
        memcpy(wb, cache + (size_t)bc * K * plane, (size_t)K * plane * sizeof(float));
        memcpy(wb + (size_t)K * plane, x + (size_t)bc * Tn * plane,
               (size_t)Tn * plane * sizeof(float));
        memcpy(cache + (size_t)bc * K * plane, wb + (size_t)Tn * plane,
               (size_t)K * plane * sizeof(float));
    }
    vd_conv3d_shape s;
    vd_conv3d_geometry(c, B, Tw, H, W, &s);
    s.causal = 0;
    s.pt = 0;
    vd_status st = ops->conv3d_fwd(y, win, vd_params_data(p, c->w), vd_params_data(p, c->b),
                                   &s, ws);
    vd_arena_reset(ws, mark);
    return st;
}
