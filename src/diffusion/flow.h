/* Rectified flow (flow matching) for training and sampling.
 *
 * Time runs from t = 0 (data) to t = 1 (noise):
 *   x_t = (1 - t) x0 + t eps,        velocity target v = dx_t/dt = eps - x0.
 * A model trained on v moves noise back to data by integrating
 * dx/dt = v(x, t) from t = 1 down to t = 0 (diffusion/sampler.h).
 *
 * Timesteps for training are drawn either logit-normal (SD3: t =
 * sigmoid(m + s n), n ~ N(0, 1), which spends more steps in the middle) or
 * uniform; either can then be shifted by t' = s t / (1 + (s - 1) t), which
 * for s > 1 moves steps towards the noisy end (more important as the number
 * of latent values grows). Sampling uses the same shift on its time grid. */
#ifndef VD_DIFFUSION_FLOW_H
#define VD_DIFFUSION_FLOW_H

#include <stddef.h>

#include "core/rng.h"
#include "vidit.h"

typedef enum vd_flow_tsample {
    VD_FLOW_LOGIT_NORMAL = 0,
    VD_FLOW_UNIFORM
} vd_flow_tsample;

typedef struct vd_flow_tconfig {
    int kind;          /* vd_flow_tsample */
    float logit_mean;  /* m, default 0 */
    float logit_std;   /* s, default 1 */
    float shift;       /* timestep shift, 1 = none */
} vd_flow_tconfig;

void vd_flow_tconfig_default(vd_flow_tconfig *c);
/* "logit_normal" / "uniform" -> kind; 0 when unknown. */
int vd_flow_tsample_from_name(const char *name, int *kind);

/* t' = s t / (1 + (s - 1) t): monotone, fixes 0 and 1; s = 1 is identity. */
float vd_flow_shift(float t, float shift);

/* n training timesteps in (0, 1) drawn from rng (clamped to [1e-5, 1 - 1e-5]
 * so that neither end is exactly hit). */
void vd_flow_sample_t(const vd_flow_tconfig *c, vd_rng *rng, float *t, int n);

/* For a batch of B items of `per` values each: xt = (1 - t_b) x0 + t_b eps
 * and target = eps - x0. */
void vd_flow_noise(float *xt, float *target, const float *x0, const float *eps,
                   const float *t, int B, size_t per);

/* Mean squared error of pred against target over n values (in double), and
 * its gradient scaled by `scale` (dpred = scale * 2 (pred - target) / n).
 * With weight (n values, >= 0) it is the weighted mean
 * sum(w (pred - target)^2) / sum(w), and dpred follows it. */
double vd_flow_mse(const float *pred, const float *target, const float *weight, size_t n,
                   float scale, float *dpred);

/* The sampling time grid: steps + 1 descending times from 1 to 0, each
 * uniform point shifted: t_i = shift(1 - i / steps). */
vd_status vd_flow_time_grid(float *t, int steps, float shift, vd_error *err);

/* Classifier-free guidance: out = vu + g (vc - vu) over n values. */
void vd_flow_cfg_combine(float *out, const float *vc, const float *vu, float g, size_t n);

#endif
