/* A two-layer MLP over token rows: fc2(act(fc1(x))), act GELU (tanh form)
 * or SiLU. Parameters `name`.fc1.{weight,bias} and `name`.fc2.{weight,bias}.
 *
 * The forward saves the pre-activation and the activation in the arena for
 * the backward (which reads them through vd_mlp_act and returns its own
 * scratch to the arena before it ends). */
#ifndef VD_NN_MLP_H
#define VD_NN_MLP_H

#include "core/arena.h"
#include "nn/linear.h"

typedef enum vd_act { VD_ACT_GELU = 0, VD_ACT_SILU = 1 } vd_act;

typedef struct vd_mlp {
    vd_linear fc1, fc2;
    vd_act act;
} vd_mlp;

/* What the forward saved (pointers into the arena, and into the caller's x). */
typedef struct vd_mlp_act {
    const float *x;
    float *h; /* fc1 output, [M, hidden] */
    float *a; /* act(h) */
    int M;
} vd_mlp_act;

vd_status vd_mlp_declare(vd_mlp *m, vd_params *p, const char *name, int in, int hidden,
                         int out, vd_act act, vd_error *err);
void vd_mlp_init_xavier(const vd_mlp *m, vd_params *p, vd_rng *rng);
/* y[M, out] = mlp(x[M, in]); x must stay alive until the backward. */
vd_status vd_mlp_forward(const vd_mlp *m, vd_params *p, vd_mlp_act *s, float *y,
                         const float *x, int M, vd_arena *arena, vd_error *err);
/* dx (may be NULL) += d/dx; parameter gradients accumulate. */
vd_status vd_mlp_backward(const vd_mlp *m, vd_params *p, const vd_mlp_act *s, float *dx,
                          const float *dy, vd_arena *arena, vd_error *err);

#endif
