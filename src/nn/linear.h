/* Dense building blocks over token rows x[M, in]: a linear layer and a
 * LayerNorm, each holding the handles of its parameters in a vd_params.
 *
 * Layers only declare parameters; the model allocates the block once
 * (vd_params_alloc) and every forward/backward looks the pointers up, so a
 * layer works the same whether its model has gradients or not. Backward
 * ACCUMULATES into every gradient, like the operators below it. */
#ifndef VD_NN_LINEAR_H
#define VD_NN_LINEAR_H

#include <stddef.h>

#include "core/rng.h"
#include "nn/params.h"

/* y = x W^T + b, W (out, in) as in PyTorch. Parameters `name`.weight and
 * `name`.bias (when bias is set). */
typedef struct vd_linear {
    int in, out, has_bias;
    size_t w, b;
} vd_linear;

vd_status vd_linear_declare(vd_linear *l, vd_params *p, const char *name, int in,
                            int out, int bias, vd_error *err);
/* Xavier-uniform weight, zero bias (DiT's initialisation). */
void vd_linear_init_xavier(const vd_linear *l, vd_params *p, vd_rng *rng);
/* N(0, std^2) weight, zero bias. */
void vd_linear_init_normal(const vd_linear *l, vd_params *p, vd_rng *rng, float std);
/* Weight and bias zero (adaLN-zero, the final layer). */
void vd_linear_init_zero(const vd_linear *l, vd_params *p);
void vd_linear_forward(const vd_linear *l, vd_params *p, float *y, const float *x, int M);
/* dx (may be NULL) += dy W; dW += dy^T x; db += sum dy. */
void vd_linear_backward(const vd_linear *l, vd_params *p, float *dx, const float *dy,
                        const float *x, int M);

/* LayerNorm over the last dim; with affine, `name`.weight (ones) and
 * `name`.bias (zeros), neither decayed. */
typedef struct vd_layernorm {
    int dim, affine;
    float eps;
    size_t w, b;
} vd_layernorm;

vd_status vd_layernorm_declare(vd_layernorm *l, vd_params *p, const char *name, int dim,
                               int affine, float eps, vd_error *err);
void vd_layernorm_init(const vd_layernorm *l, vd_params *p);
/* mean, rstd: [M], saved for backward. */
void vd_layernorm_forward(const vd_layernorm *l, vd_params *p, float *y, float *mean,
                          float *rstd, const float *x, int M);
void vd_layernorm_backward(const vd_layernorm *l, vd_params *p, float *dx, const float *dy,
                           const float *x, const float *mean, const float *rstd, int M);

#endif
