/* Flow matching arithmetic (see flow.h). */
#include "diffusion/flow.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

void vd_flow_tconfig_default(vd_flow_tconfig *c) {
    c->kind = VD_FLOW_LOGIT_NORMAL;
    c->logit_mean = 0.0f;
    c->logit_std = 1.0f;
    c->shift = 1.0f;
}

int vd_flow_tsample_from_name(const char *name, int *kind) {
    if (!strcmp(name, "logit_normal")) *kind = VD_FLOW_LOGIT_NORMAL;
    else if (!strcmp(name, "uniform")) *kind = VD_FLOW_UNIFORM;
    else return 0;
    return 1;
}

float vd_flow_shift(float t, float shift) {
    if (shift == 1.0f) return t;
    return shift * t / (1.0f + (shift - 1.0f) * t);
}

void vd_flow_sample_t(const vd_flow_tconfig *c, vd_rng *rng, float *t, int n) {
    for (int i = 0; i < n; i++) {
        double u;
        if (c->kind == VD_FLOW_LOGIT_NORMAL) {
            double z = c->logit_mean + c->logit_std * vd_rng_normal1(rng);
            u = 1.0 / (1.0 + exp(-z));
        } else {
            u = vd_rng_uniform1(rng);
        }
        float s = vd_flow_shift((float)u, c->shift);
        t[i] = s < 1e-5f ? 1e-5f : s > 1.0f - 1e-5f ? 1.0f - 1e-5f : s;
    }
}

void vd_flow_noise(float *xt, float *target, const float *x0, const float *eps,
                   const float *t, int B, size_t per) {
    for (int b = 0; b < B; b++) {
        const float tb = t[b], keep = 1.0f - tb;
        const size_t o = (size_t)b * per;
        for (size_t i = 0; i < per; i++) {
            xt[o + i] = keep * x0[o + i] + tb * eps[o + i];
            target[o + i] = eps[o + i] - x0[o + i];
        }
    }
}

double vd_flow_mse(const float *pred, const float *target, const float *weight, size_t n,
                   float scale, float *dpred) {
    if (!n) return 0.0;
    if (!weight) {
        double se = 0.0;
        const float g = 2.0f * scale / (float)n;
        for (size_t i = 0; i < n; i++) {
            float d = pred[i] - target[i];
            se += (double)d * d;
            if (dpred) dpred[i] = g * d;
        }
        return se / (double)n;
    }
    double se = 0.0, sw = 0.0;
    for (size_t i = 0; i < n; i++) {
        float d = pred[i] - target[i];
        se += (double)weight[i] * d * d;
        sw += weight[i];
    }
    if (!(sw > 0.0)) {
        if (dpred) memset(dpred, 0, n * sizeof *dpred);
        return 0.0;
    }
    if (dpred) {
        const float g = (float)(2.0 * scale / sw);
        for (size_t i = 0; i < n; i++) dpred[i] = g * weight[i] * (pred[i] - target[i]);
    }
    return se / sw;
}

vd_status vd_flow_time_grid(float *t, int steps, float shift, vd_error *err) {
    if (steps < 1)
        return vd_fail(err, VD_ERR_ARG, "flow: %d sampling steps (need at least 1)", steps);
    if (!(shift > 0.0f) || !isfinite(shift))
        return vd_fail(err, VD_ERR_ARG, "flow: timestep shift %g must be positive", (double)shift);
    for (int i = 0; i <= steps; i++) t[i] = vd_flow_shift(1.0f - (float)i / (float)steps, shift);
    t[0] = 1.0f;
    t[steps] = 0.0f;
    return VD_OK;
}

void vd_flow_cfg_combine(float *out, const float *vc, const float *vu, float g, size_t n) {
    for (size_t i = 0; i < n; i++) out[i] = vu[i] + g * (vc[i] - vu[i]);
}
