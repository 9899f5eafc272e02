/* Two-layer MLP with GELU-tanh or SiLU (see mlp.h). */
#include "nn/mlp.h"

#include <stdio.h>

#include "core/error.h"
#include "ops/ops.h"

vd_status vd_mlp_declare(vd_mlp *m, vd_params *p, const char *name, int in, int hidden,
                         int out, vd_act act, vd_error *err) {
    char n1[256], n2[256];
    if (snprintf(n1, sizeof n1, "%s.fc1", name) >= (int)sizeof n1 ||
        snprintf(n2, sizeof n2, "%s.fc2", name) >= (int)sizeof n2)
        return vd_fail(err, VD_ERR_ARG, "nn: mlp name '%s' is too long", name);
    m->act = act;
    vd_status st = vd_linear_declare(&m->fc1, p, n1, in, hidden, 1, err);
    if (st == VD_OK) st = vd_linear_declare(&m->fc2, p, n2, hidden, out, 1, err);
    return st;
}

void vd_mlp_init_xavier(const vd_mlp *m, vd_params *p, vd_rng *rng) {
    vd_linear_init_xavier(&m->fc1, p, rng);
    vd_linear_init_xavier(&m->fc2, p, rng);
}

vd_status vd_mlp_forward(const vd_mlp *m, vd_params *p, vd_mlp_act *s, float *y,
                         const float *x, int M, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    size_t n = (size_t)M * m->fc1.out;
    s->x = x;
    s->M = M;
    s->h = vd_arena_floats(arena, n);
    s->a = vd_arena_floats(arena, n);
    if (!s->h || !s->a) return vd_fail(err, VD_ERR_NOMEM, "mlp: out of memory for %d rows", M);
    vd_linear_forward(&m->fc1, p, s->h, x, M);
    if (m->act == VD_ACT_GELU) ops->gelu_fwd(s->a, s->h, n);
    else ops->silu_fwd(s->a, s->h, n);
    vd_linear_forward(&m->fc2, p, y, s->a, M);
    return VD_OK;
}

vd_status vd_mlp_backward(const vd_mlp *m, vd_params *p, const vd_mlp_act *s, float *dx,
                          const float *dy, vd_arena *arena, vd_error *err) {
    const vd_ops *ops = vd_ops_cpu();
    size_t mark = vd_arena_mark(arena), n = (size_t)s->M * m->fc1.out;
    float *da = vd_arena_zeros(arena, n), *dh = vd_arena_zeros(arena, n);
    if (!da || !dh) {
        vd_arena_reset(arena, mark);
        return vd_fail(err, VD_ERR_NOMEM, "mlp: backward: out of memory for %d rows", s->M);
    }
    vd_linear_backward(&m->fc2, p, da, dy, s->a, s->M);
    if (m->act == VD_ACT_GELU) ops->gelu_bwd(dh, da, s->h, n);
    else ops->silu_bwd(dh, da, s->h, n);
    vd_linear_backward(&m->fc1, p, dx, dh, s->x, s->M);
    vd_arena_reset(arena, mark);
    return VD_OK;
}
