/* Residual block and per-frame GroupNorm + SiLU (see resblock.h).
 *
 * The ops' GroupNorm normalises (B, C, S) blocks; a per-frame norm needs the
 * frame-major layout (B, T, C, H*W). patchify with a (1, H, W) patch is
 * exactly that transpose, so the norm runs as patchify -> groupnorm -> SiLU
 * -> unpatchify, all through the ops table. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "nn/resblock.h"

vd_status vd_normact_declare(vd_normact *n, vd_params *p, const char *name, int c,
                             int groups, vd_error *err) {
    if (groups == 0 && c > 0) {
        memset(n, 0, sizeof *n);
        n->c = c;
        return VD_OK;
    }
    if (c <= 0 || groups <= 0 || c % groups)
        return vd_fail(err, VD_ERR_ARG, "normact: %s: %d groups do not divide %d channels",
                       name, groups, c);
    n->c = c;
    n->groups = groups;
    n->eps = 1e-6f;
    char buf[160];
    int64_t shape[1] = {c};
    snprintf(buf, sizeof buf, "%s.weight", name);
    vd_status st = vd_params_declare(p, buf, 1, shape, VD_PARAM_NO_DECAY, &n->w, err);
    if (st) return st;
    snprintf(buf, sizeof buf, "%s.bias", name);
    return vd_params_declare(p, buf, 1, shape, VD_PARAM_NO_DECAY, &n->b, err);
}

void vd_normact_init(const vd_normact *n, vd_params *p) {
    if (!n->groups) return;
    vd_params_init_constant(p, n->w, 1.0f);
    vd_params_init_constant(p, n->b, 0.0f);
}

vd_status vd_normact_forward(const vd_ops *ops, const vd_normact *n, vd_params *p,
                             float *y, const float *x, int B, int T, int H, int W,
                             vd_arena *ws, vd_normact_acts *acts) {
    size_t total = (size_t)B * n->c * T * H * W;
    if (!n->groups) {
        /* SiLU alone: backward needs only the input, which the caller keeps. */
        if (acts) {
            memset(acts, 0, sizeof *acts);
            acts->n = (float *)x;
        }
        ops->silu_fwd(y, x, total);
        return VD_OK;
    }
    size_t stats = (size_t)B * T * n->groups;
    size_t mark0 = vd_arena_mark(ws);
    vd_normact_acts a;
    a.xt = vd_arena_floats(ws, total);
    a.n = vd_arena_floats(ws, total);
    a.mean = vd_arena_floats(ws, stats);
    a.rstd = vd_arena_floats(ws, stats);
    size_t mark = vd_arena_mark(ws);
    float *tmp = vd_arena_floats(ws, total);
    if (!a.xt || !a.n || !a.mean || !a.rstd || !tmp) {
        vd_arena_reset(ws, mark0);
        return VD_ERR_NOMEM;
    }
    ops->patchify(a.xt, x, B, n->c, T, H, W, 1, H, W, 0);
    ops->groupnorm_fwd(a.n, a.mean, a.rstd, a.xt, vd_params_data(p, n->w),
                       vd_params_data(p, n->b), B * T, n->c, H * W, n->groups, n->eps);
    ops->silu_fwd(tmp, a.n, total);
    ops->unpatchify(y, tmp, B, n->c, T, H, W, 1, H, W, 0);
    if (acts) {
        *acts = a;
        vd_arena_reset(ws, mark);
    } else {
        vd_arena_reset(ws, mark0);
    }
    return VD_OK;
}

vd_status vd_normact_backward(const vd_ops *ops, const vd_normact *n, vd_params *p,
                              float *dx, const float *dy, const vd_normact_acts *a,
                              int B, int T, int H, int W, vd_arena *ws) {
    size_t total = (size_t)B * n->c * T * H * W;
    if (!n->groups) {
        if (dx) ops->silu_bwd(dx, dy, a->n, total);
        return VD_OK;
    }
    size_t mark = vd_arena_mark(ws);
    float *dyt = vd_arena_floats(ws, total);
    float *dn = vd_arena_zeros(ws, total);
    float *dxt = vd_arena_zeros(ws, total);
    if (!dyt || !dn || !dxt) {
        vd_arena_reset(ws, mark);
        return VD_ERR_NOMEM;
    }
    ops->patchify(dyt, dy, B, n->c, T, H, W, 1, H, W, 0);
    ops->silu_bwd(dn, dyt, a->n, total);
    ops->groupnorm_bwd(dxt, vd_params_grad(p, n->w), vd_params_grad(p, n->b), dn, a->xt,
                       vd_params_data(p, n->w), a->mean, a->rstd, B * T, n->c, H * W,
                       n->groups);
    if (dx) ops->unpatchify(dx, dxt, B, n->c, T, H, W, 1, H, W, 1);
    vd_arena_reset(ws, mark);
    return VD_OK;
}

vd_status vd_resblock_declare(vd_resblock *r, vd_params *p, const char *name, int cin,
                              int cout, int kt, int groups, vd_error *err) {
    memset(r, 0, sizeof *r);
    r->cin = cin;
    r->cout = cout;
    r->kt = kt;
    char buf[160];
    vd_status st;
    snprintf(buf, sizeof buf, "%s.norm1", name);
    if ((st = vd_normact_declare(&r->norm1, p, buf, cin, groups, err))) return st;
    snprintf(buf, sizeof buf, "%s.conv1", name);
    if ((st = vd_conv3d_declare(&r->conv1, p, buf, cin, cout, kt, 3, 3, 1, 1, 1, err)))
        return st;
    snprintf(buf, sizeof buf, "%s.norm2", name);
    if ((st = vd_normact_declare(&r->norm2, p, buf, cout, groups, err))) return st;
    snprintf(buf, sizeof buf, "%s.conv2", name);
    if ((st = vd_conv3d_declare(&r->conv2, p, buf, cout, cout, kt, 3, 3, 1, 1, 1, err)))
        return st;
    if (cin != cout) {
        r->has_skip = 1;
        snprintf(buf, sizeof buf, "%s.skip", name);
        if ((st = vd_conv3d_declare(&r->skip, p, buf, cin, cout, 1, 1, 1, 1, 1, 1, err)))
            return st;
    }
    return VD_OK;
}

void vd_resblock_set_replicate(vd_resblock *r, int replicate) {
    /* The skip conv is 1x1x1: it pads nothing. */
    r->conv1.replicate = r->conv2.replicate = replicate != 0;
}

void vd_resblock_init(const vd_resblock *r, vd_params *p, vd_rng *rng) {
    vd_normact_init(&r->norm1, p);
    vd_normact_init(&r->norm2, p);
    vd_conv3d_init(&r->conv1, p, rng, 1.0f);
    /* A fresh block starts near the identity: deep stacks train from step 1. */
    vd_conv3d_init(&r->conv2, p, rng, 0.3f);
    if (r->has_skip) vd_conv3d_init(&r->skip, p, rng, 1.0f);
}

/* y += skip(x). */
static vd_status add_skip(const vd_ops *ops, const vd_resblock *r, vd_params *p, float *y,
                          const float *x, int B, int T, int H, int W, vd_arena *ws) {
    size_t out = (size_t)B * r->cout * T * H * W;
    if (!r->has_skip) {
        ops->axpy(y, 1.0f, x, out);
        return VD_OK;
    }
    size_t mark = vd_arena_mark(ws);
    float *s = vd_arena_floats(ws, out);
    if (!s) return VD_ERR_NOMEM;
    vd_status st = vd_conv3d_forward(ops, &r->skip, p, s, x, B, T, H, W, ws);
    if (!st) ops->axpy(y, 1.0f, s, out);
    vd_arena_reset(ws, mark);
    return st;
}

vd_status vd_resblock_forward(const vd_ops *ops, const vd_resblock *r, vd_params *p,
                              float *y, const float *x, int B, int T, int H, int W,
                              vd_arena *ws, vd_resblock_acts *acts) {
    size_t in = (size_t)B * r->cin * T * H * W, out = (size_t)B * r->cout * T * H * W;
    size_t mark0 = vd_arena_mark(ws);
    vd_resblock_acts a;
    memset(&a, 0, sizeof a);
    vd_normact_acts *n1 = acts ? &a.n1 : NULL, *n2 = acts ? &a.n2 : NULL;
    vd_status st = VD_ERR_NOMEM;
    a.a1 = vd_arena_floats(ws, in);
    if (!a.a1) goto fail;
    if ((st = vd_normact_forward(ops, &r->norm1, p, a.a1, x, B, T, H, W, ws, n1))) goto fail;
    st = VD_ERR_NOMEM;
    a.h = vd_arena_floats(ws, out);
    if (!a.h) goto fail;
    if ((st = vd_conv3d_forward(ops, &r->conv1, p, a.h, a.a1, B, T, H, W, ws))) goto fail;
    st = VD_ERR_NOMEM;
    a.a2 = vd_arena_floats(ws, out);
    if (!a.a2) goto fail;
    if ((st = vd_normact_forward(ops, &r->norm2, p, a.a2, a.h, B, T, H, W, ws, n2))) goto fail;
    if ((st = vd_conv3d_forward(ops, &r->conv2, p, y, a.a2, B, T, H, W, ws))) goto fail;
    if ((st = add_skip(ops, r, p, y, x, B, T, H, W, ws))) goto fail;
    if (acts)
        *acts = a;
    else
        vd_arena_reset(ws, mark0);
    return VD_OK;
fail:
    vd_arena_reset(ws, mark0);
    return st;
}

vd_status vd_resblock_backward(const vd_ops *ops, const vd_resblock *r, vd_params *p,
                               float *dx, const float *dy, const float *x,
                               const vd_resblock_acts *a, int B, int T, int H, int W,
                               vd_arena *ws) {
    size_t in = (size_t)B * r->cin * T * H * W, out = (size_t)B * r->cout * T * H * W;
    size_t mark = vd_arena_mark(ws);
    vd_status st = VD_ERR_NOMEM;
    if (r->has_skip) {
        if ((st = vd_conv3d_backward(ops, &r->skip, p, dx, dy, x, B, T, H, W, ws))) goto done;
    } else if (dx) {
        ops->axpy(dx, 1.0f, dy, out);
    }
    st = VD_ERR_NOMEM;
    float *da2 = vd_arena_zeros(ws, out);
    float *dh = vd_arena_zeros(ws, out);
    float *da1 = vd_arena_zeros(ws, in);
    if (!da2 || !dh || !da1) goto done;
    if ((st = vd_conv3d_backward(ops, &r->conv2, p, da2, dy, a->a2, B, T, H, W, ws))) goto done;
    if ((st = vd_normact_backward(ops, &r->norm2, p, dh, da2, &a->n2, B, T, H, W, ws)))
        goto done;
    if ((st = vd_conv3d_backward(ops, &r->conv1, p, da1, dh, a->a1, B, T, H, W, ws))) goto done;
    st = vd_normact_backward(ops, &r->norm1, p, dx, da1, &a->n1, B, T, H, W, ws);
done:
    vd_arena_reset(ws, mark);
    return st;
}

vd_status vd_resblock_forward_stream(const vd_ops *ops, const vd_resblock *r,
                                     vd_params *p, float *y, const float *x,
                                     float *cache1, float *cache2, int first, int B,
                                     int Tn, int H, int W, vd_arena *ws) {
    size_t in = (size_t)B * r->cin * Tn * H * W, out = (size_t)B * r->cout * Tn * H * W;
    size_t mark = vd_arena_mark(ws);
    vd_status st = VD_ERR_NOMEM;
    float *a1 = vd_arena_floats(ws, in);
    float *h = vd_arena_floats(ws, out);
    float *a2 = vd_arena_floats(ws, out);
    if (!a1 || !h || !a2) goto done;
    if ((st = vd_normact_forward(ops, &r->norm1, p, a1, x, B, Tn, H, W, ws, NULL))) goto done;
    if ((st = vd_conv3d_forward_stream(ops, &r->conv1, p, h, a1, cache1, first, B, Tn, H, W,
                                       ws)))
        goto done;
    if ((st = vd_normact_forward(ops, &r->norm2, p, a2, h, B, Tn, H, W, ws, NULL))) goto done;
    if ((st = vd_conv3d_forward_stream(ops, &r->conv2, p, y, a2, cache2, first, B, Tn, H, W,
                                       ws)))
        goto done;
    st = add_skip(ops, r, p, y, x, B, Tn, H, W, ws);
done:
    vd_arena_reset(ws, mark);
    return st;
}
