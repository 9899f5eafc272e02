#include "train/optim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/threads.h"
#include "ops/ops.h"

struct vd_adamw {
    const vd_allocator *allocator;
    vd_adamw_config config;
    size_t n;
    int64_t steps;
    float *m, *v;
    uint8_t *mask; /* NULL: decay everything */
};

vd_status vd_adamw_new(vd_adamw **out, const vd_allocator *allocator, size_t n,
                       const vd_adamw_config *config, vd_error *err) {
    *out = NULL;
    if (!config || n == 0)
        return vd_fail(err, VD_ERR_ARG, "adamw: %s", !config ? "no config" : "zero parameters");
    if (!(config->beta1 >= 0 && config->beta1 < 1 && config->beta2 >= 0 &&
          config->beta2 < 1 && config->eps >= 0 && config->weight_decay >= 0))
        return vd_fail(err, VD_ERR_ARG,
                       "adamw: betas must lie in [0, 1) and eps, weight_decay be >= 0 "
                       "(beta1 %g, beta2 %g, eps %g, weight_decay %g)",
                       config->beta1, config->beta2, config->eps, config->weight_decay);
    vd_adamw *o = vd_calloc(allocator, 1, sizeof *o);
    if (!o) return vd_fail(err, VD_ERR_NOMEM, "adamw: out of memory for the optimiser");
    o->allocator = allocator;
    o->config = *config;
    o->n = n;
    o->m = vd_calloc(allocator, n, sizeof(float));
    o->v = vd_calloc(allocator, n, sizeof(float));
    if (!o->m || !o->v) {
        vd_adamw_free(o);
        return vd_fail(err, VD_ERR_NOMEM, "adamw: out of memory for %zu moment pairs", n);
    }
    *out = o;
    return VD_OK;
}

void vd_adamw_free(vd_adamw *opt) {
    if (!opt) return;
    const vd_allocator *a = opt->allocator;
    vd_free(a, opt->m);
    vd_free(a, opt->v);
    vd_free(a, opt->mask);
    vd_free(a, opt);
}

static vd_status ensure_mask(vd_adamw *opt, vd_error *err) {
    if (opt->mask) return VD_OK;
    opt->mask = vd_alloc(opt->allocator, opt->n);
    if (!opt->mask)
        return vd_fail(err, VD_ERR_NOMEM, "adamw: out of memory for a %zu-byte decay mask",
                       opt->n);
    memset(opt->mask, 1, opt->n);
    return VD_OK;
}

vd_status vd_adamw_set_decay_mask(vd_adamw *opt, const uint8_t *mask, vd_error *err) {
    if (!mask) {
        vd_free(opt->allocator, opt->mask);
        opt->mask = NULL;
        return VD_OK;
    }
    vd_status st = ensure_mask(opt, err);
    if (st) return st;
    for (size_t i = 0; i < opt->n; i++) opt->mask[i] = mask[i] != 0;
    return VD_OK;
}

vd_status vd_adamw_no_decay_range(vd_adamw *opt, size_t offset, size_t count,
                                  vd_error *err) {
    if (offset > opt->n || count > opt->n - offset)
        return vd_fail(err, VD_ERR_ARG,
                       "adamw: no-decay range [%zu, %zu + %zu) is outside the %zu parameters",
                       offset, offset, count, opt->n);
    vd_status st = ensure_mask(opt, err);
    if (st) return st;
    memset(opt->mask + offset, 0, count);
    return VD_OK;
}

void vd_adamw_step(vd_adamw *opt, float *params, const float *grads, float lr) {
    const vd_adamw_config *c = &opt->config;
    int step = (int)++opt->steps;
    if (!opt->mask) {
        vd_ops_cpu()->adamw_step(params, grads, opt->m, opt->v, opt->n, lr, c->beta1, c->beta2,
                          c->eps, c->weight_decay, step);
        return;
    }
    /* Masks come from parameter tensors, so they are long runs: one kernel
     * call per run keeps the kernel free of per-element branches. */
    size_t i = 0;
    while (i < opt->n) {
        size_t j = i + 1;
        while (j < opt->n && opt->mask[j] == opt->mask[i]) j++;
        vd_ops_cpu()->adamw_step(params + i, grads + i, opt->m + i, opt->v + i, j - i, lr,
                          c->beta1, c->beta2, c->eps, opt->mask[i] ? c->weight_decay : 0.0f,
                          step);
        i = j;
    }
}

const vd_adamw_config *vd_adamw_get_config(const vd_adamw *opt) { return &opt->config; }
size_t vd_adamw_size(const vd_adamw *opt) { return opt->n; }
int64_t vd_adamw_steps(const vd_adamw *opt) { return opt->steps; }
void vd_adamw_set_steps(vd_adamw *opt, int64_t steps) { opt->steps = steps; }
float *vd_adamw_m(vd_adamw *opt) { return opt->m; }
float *vd_adamw_v(vd_adamw *opt) { return opt->v; }

static vd_status join_name(char *buf, size_t size, const char *prefix, const char *leaf,
                           vd_error *err) {
    int len = snprintf(buf, size, "%s%s", prefix ? prefix : "", leaf);
    if (len < 0 || (size_t)len >= size)
        return vd_fail(err, VD_ERR_ARG, "optim: tensor name prefix '%s' is too long",
                       prefix ? prefix : "");
    return VD_OK;
}

vd_status vd_adamw_save(const vd_adamw *opt, vd_st_writer *w, const char *prefix,
                        vd_error *err) {
    char name[256];
    int64_t shape[1] = {(int64_t)opt->n}, one[1] = {1};
    vd_status st;
    if ((st = join_name(name, sizeof name, prefix, "m", err)) ||
        (st = vd_st_writer_add(w, name, VD_F32, 1, shape, opt->m, err)) ||
        (st = join_name(name, sizeof name, prefix, "v", err)) ||
        (st = vd_st_writer_add(w, name, VD_F32, 1, shape, opt->v, err)) ||
        (st = join_name(name, sizeof name, prefix, "step", err)) ||
        (st = vd_st_writer_add(w, name, VD_I64, 1, one, &opt->steps, err)))
        return vd_fail_prefix(err, st, "adamw: saving state: ");
    return VD_OK;
}

vd_status vd_adamw_load(vd_adamw *opt, const vd_st_file *f, const char *prefix,
                        vd_error *err) {
    char name[256];
    int64_t shape[1] = {(int64_t)opt->n};
    vd_status st;
    /* m and v are read in place; a failure part-way resets the optimiser to
     * step 0 rather than leaving it half loaded. */
    if ((st = join_name(name, sizeof name, prefix, "step", err))) return st;
    const vd_st_tensor *t = vd_st_find(f, name);
    if (!t)
        return vd_fail(err, VD_ERR_FORMAT, "adamw: checkpoint has no tensor '%s'", name);
    if (t->dtype != VD_I64 || t->nbytes != sizeof(int64_t))
        return vd_fail(err, VD_ERR_FORMAT,
                       "adamw: tensor '%s' must be one I64 value (%zu bytes found)", name,
                       t->nbytes);
    int64_t steps;
    memcpy(&steps, t->data, sizeof steps);
    if (steps < 0 || steps > INT32_MAX)
        return vd_fail(err, VD_ERR_FORMAT, "adamw: tensor '%s' holds an invalid step %lld",
                       name, (long long)steps);
    if ((st = join_name(name, sizeof name, prefix, "m", err)) ||
        (st = vd_st_load_f32(f, name, opt->m, 1, shape, err)) ||
        (st = join_name(name, sizeof name, prefix, "v", err)) ||
        (st = vd_st_load_f32(f, name, opt->v, 1, shape, err))) {
        memset(opt->m, 0, opt->n * sizeof(float));
        memset(opt->v, 0, opt->n * sizeof(float));
        opt->steps = 0;
        return vd_fail_prefix(err, st, "adamw: loading state: ");
    }
    opt->steps = steps;
    return VD_OK;
}

float vd_grad_clip_norm(float *grad, size_t n, float max_norm) {
    double norm = sqrt(vd_dot_f32(grad, grad, n));
    if (isfinite(norm) && max_norm > 0 && norm > max_norm)
        vd_ops_cpu()->scale(grad, (float)(max_norm / (norm + 1e-6)), n);
    return (float)norm;
}

float vd_lr_schedule(int64_t step, int64_t warmup, int64_t total, float base_lr,
                     float min_lr) {
    if (step < 0) step = 0;
    if (step < warmup) return (float)((double)base_lr * (double)(step + 1) / (double)warmup);
    if (step >= total) return min_lr;
    double ratio = (double)(step - warmup) / (double)(total - warmup);
    double coeff = 0.5 * (1.0 + cos(M_PI * ratio));
    return (float)(min_lr + coeff * ((double)base_lr - min_lr));
}

struct vd_ema {
    const vd_allocator *allocator;
    size_t n;
    float *w;
};

vd_status vd_ema_new(vd_ema **out, const vd_allocator *allocator, const float *params,
                     size_t n, vd_error *err) {
    *out = NULL;
    if (n == 0) return vd_fail(err, VD_ERR_ARG, "ema: zero parameters");
    vd_ema *e = vd_calloc(allocator, 1, sizeof *e);
    float *w = vd_calloc(allocator, n, sizeof(float));
    if (!e || !w) {
        vd_free(allocator, e);
        vd_free(allocator, w);
        return vd_fail(err, VD_ERR_NOMEM, "ema: out of memory for %zu weights", n);
    }
    if (params) memcpy(w, params, n * sizeof(float));
    e->allocator = allocator;
    e->n = n;
    e->w = w;
    *out = e;
    return VD_OK;
}

void vd_ema_free(vd_ema *ema) {
    if (!ema) return;
    vd_free(ema->allocator, ema->w);
    vd_free(ema->allocator, ema);
}

void vd_ema_update(vd_ema *ema, const float *params, float decay) {
    vd_ops_cpu()->ema_update(ema->w, params, ema->n, decay);
}

void vd_ema_update_tail(vd_ema *ema, const float *params, size_t from, float decay) {
    if (from >= ema->n) return;
    vd_ops_cpu()->ema_update(ema->w + from, params + from, ema->n - from, decay);
}

void vd_ema_swap(vd_ema *ema, float *params) {
    float *w = ema->w;
    size_t n = ema->n;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float t = w[i];
        w[i] = params[i];
        params[i] = t;
    }
}

void vd_ema_copy_out(const vd_ema *ema, float *dst) {
    memcpy(dst, ema->w, ema->n * sizeof(float));
}

size_t vd_ema_size(const vd_ema *ema) { return ema->n; }
float *vd_ema_data(vd_ema *ema) { return ema->w; }

vd_status vd_ema_save(const vd_ema *ema, vd_st_writer *w, const char *name,
                      vd_error *err) {
    int64_t shape[1] = {(int64_t)ema->n};
    vd_status st = vd_st_writer_add(w, name, VD_F32, 1, shape, ema->w, err);
    return st ? vd_fail_prefix(err, st, "ema: saving '%s': ", name) : VD_OK;
}

vd_status vd_ema_load(vd_ema *ema, const vd_st_file *f, const char *name,
                      vd_error *err) {
    int64_t shape[1] = {(int64_t)ema->n};
    vd_status st = vd_st_load_f32(f, name, ema->w, 1, shape, err);
    return st ? vd_fail_prefix(err, st, "ema: loading '%s': ", name) : VD_OK;
}
