/* Linear and LayerNorm layers over vd_params (see linear.h). */
#include "nn/linear.h"

#include <math.h>
#include <stdio.h>

#include "core/error.h"
#include "ops/ops.h"

static vd_status declare_named(vd_params *p, const char *name, const char *suffix, int ndim,
                               const int64_t *shape, int flags, size_t *index,
                               vd_error *err) {
    char full[256];
    int n = snprintf(full, sizeof full, "%s.%s", name, suffix);
    if (n < 0 || (size_t)n >= sizeof full)
        return vd_fail(err, VD_ERR_ARG, "nn: parameter name '%s.%s' is too long", name, suffix);
    return vd_params_declare(p, full, ndim, shape, flags, index, err);
}

vd_status vd_linear_declare(vd_linear *l, vd_params *p, const char *name, int in, int out,
                            int bias, vd_error *err) {
    if (in <= 0 || out <= 0)
        return vd_fail(err, VD_ERR_ARG, "nn: linear '%s': sizes %d -> %d must be positive",
                       name, in, out);
    l->in = in;
    l->out = out;
    l->has_bias = bias != 0;
    int64_t ws[2] = {out, in}, bs[1] = {out};
    vd_status st = declare_named(p, name, "weight", 2, ws, 0, &l->w, err);
    if (st == VD_OK && bias) st = declare_named(p, name, "bias", 1, bs, VD_PARAM_NO_DECAY, &l->b, err);
    return st;
}

void vd_linear_init_xavier(const vd_linear *l, vd_params *p, vd_rng *rng) {
    vd_params_init_uniform(p, l->w, rng, sqrtf(6.0f / (float)(l->in + l->out)));
    if (l->has_bias) vd_params_init_constant(p, l->b, 0.0f);
}

void vd_linear_init_normal(const vd_linear *l, vd_params *p, vd_rng *rng, float std) {
    vd_params_init_normal(p, l->w, rng, std);
    if (l->has_bias) vd_params_init_constant(p, l->b, 0.0f);
}

void vd_linear_init_zero(const vd_linear *l, vd_params *p) {
    vd_params_init_constant(p, l->w, 0.0f);
    if (l->has_bias) vd_params_init_constant(p, l->b, 0.0f);
}

void vd_linear_forward(const vd_linear *l, vd_params *p, float *y, const float *x, int M) {
    vd_ops_cpu()->linear_fwd(y, x, vd_params_data(p, l->w),
                             l->has_bias ? vd_params_data(p, l->b) : NULL, M, l->in, l->out);
}

void vd_linear_backward(const vd_linear *l, vd_params *p, float *dx, const float *dy,
                        const float *x, int M) {
    vd_ops_cpu()->linear_bwd(dx, vd_params_grad(p, l->w),
                             l->has_bias ? vd_params_grad(p, l->b) : NULL, dy, x,
                             vd_params_data(p, l->w), M, l->in, l->out);
}

vd_status vd_layernorm_declare(vd_layernorm *l, vd_params *p, const char *name, int dim,
                               int affine, float eps, vd_error *err) {
    if (dim <= 0) return vd_fail(err, VD_ERR_ARG, "nn: layernorm '%s': dim %d", name, dim);
    l->dim = dim;
    l->affine = affine != 0;
    l->eps = eps;
    l->w = l->b = 0;
    if (!affine) return VD_OK;
    int64_t s[1] = {dim};
    vd_status st = declare_named(p, name, "weight", 1, s, VD_PARAM_NO_DECAY, &l->w, err);
    if (st == VD_OK) st = declare_named(p, name, "bias", 1, s, VD_PARAM_NO_DECAY, &l->b, err);
    return st;
}

void vd_layernorm_init(const vd_layernorm *l, vd_params *p) {
    if (!l->affine) return;
    vd_params_init_constant(p, l->w, 1.0f);
    vd_params_init_constant(p, l->b, 0.0f);
}

void vd_layernorm_forward(const vd_layernorm *l, vd_params *p, float *y, float *mean,
                          float *rstd, const float *x, int M) {
    vd_ops_cpu()->layernorm_fwd(y, mean, rstd, x, l->affine ? vd_params_data(p, l->w) : NULL,
                                l->affine ? vd_params_data(p, l->b) : NULL, M, l->dim, l->eps);
}

void vd_layernorm_backward(const vd_layernorm *l, vd_params *p, float *dx, const float *dy,
                           const float *x, const float *mean, const float *rstd, int M) {
    vd_ops_cpu()->layernorm_bwd(dx, l->affine ? vd_params_grad(p, l->w) : NULL,
                                l->affine ? vd_params_grad(p, l->b) : NULL, dy, x,
                                l->affine ? vd_params_data(p, l->w) : NULL, mean, rstd, M,
                                l->dim);
}
