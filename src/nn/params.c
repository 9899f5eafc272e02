#include "nn/params.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "ops/ops.h"

struct vd_params {
    const vd_allocator *allocator;
    vd_param_info *info;
    char **names;
    size_t count, cap;
    size_t total;
    float *data, *grad;
};

vd_params *vd_params_new(const vd_allocator *a) {
    vd_params *p = vd_alloc(a, sizeof *p);
    if (!p) return NULL;
    memset(p, 0, sizeof *p);
    p->allocator = a;
    return p;
}

void vd_params_free(vd_params *p) {
    if (!p) return;
    for (size_t i = 0; i < p->count; i++) vd_free(p->allocator, p->names[i]);
    vd_free(p->allocator, p->names);
    vd_free(p->allocator, p->info);
    vd_free(p->allocator, p->data);
    vd_free(p->allocator, p->grad);
    vd_free(p->allocator, p);
}

static int grow(vd_params *p) {
    size_t cap = p->cap ? p->cap * 2 : 64;
    vd_param_info *info = vd_alloc(p->allocator, cap * sizeof *info);
    char **names = vd_alloc(p->allocator, cap * sizeof *names);
    if (!info || !names) {
        vd_free(p->allocator, info);
        vd_free(p->allocator, names);
        return 0;
    }
    if (p->count) {
        memcpy(info, p->info, p->count * sizeof *info);
        memcpy(names, p->names, p->count * sizeof *names);
    }
    vd_free(p->allocator, p->info);
    vd_free(p->allocator, p->names);
    p->info = info;
    p->names = names;
    p->cap = cap;
    return 1;
}

size_t vd_params_find(const vd_params *p, const char *name) {
    for (size_t i = 0; i < p->count; i++)
        if (strcmp(p->names[i], name) == 0) return i;
    return (size_t)-1;
}

vd_status vd_params_declare(vd_params *p, const char *name, int ndim, const int64_t *shape,
                            int flags, size_t *index, vd_error *err) {
    if (p->data) return vd_fail(err, VD_ERR_ARG, "params: '%s' declared after allocation", name);
    if (ndim < 0 || ndim > VD_MAX_DIMS)
        return vd_fail(err, VD_ERR_ARG, "params: '%s' has %d dimensions", name, ndim);
    if (vd_params_find(p, name) != (size_t)-1)
        return vd_fail(err, VD_ERR_ARG, "params: '%s' declared twice", name);
    int64_t n = vd_shape_numel(ndim, shape);
    if (n <= 0) return vd_fail(err, VD_ERR_ARG, "params: '%s' has an empty or invalid shape", name);
    if (p->count == p->cap && !grow(p)) return vd_fail(err, VD_ERR_NOMEM, "params: out of memory");
    size_t len = strlen(name);
    char *copy = vd_alloc(p->allocator, len + 1);
    if (!copy) return vd_fail(err, VD_ERR_NOMEM, "params: out of memory");
    memcpy(copy, name, len + 1);
    vd_param_info *in = &p->info[p->count];
    memset(in, 0, sizeof *in);
    in->ndim = ndim;
    for (int d = 0; d < ndim; d++) in->shape[d] = shape[d];
    /* Each parameter starts on a 64-byte boundary (16 floats) for SIMD. */
    in->offset = (p->total + 15) & ~(size_t)15;
    in->numel = (size_t)n;
    in->flags = flags;
    p->names[p->count] = copy;
    in->name = copy;
    p->total = in->offset + in->numel;
    if (index) *index = p->count;
    p->count++;
    return VD_OK;
}

vd_status vd_params_alloc(vd_params *p, int with_grad, vd_error *err) {
    if (p->data) return vd_fail(err, VD_ERR_ARG, "params: already allocated");
    p->data = vd_calloc(p->allocator, p->total ? p->total : 1, sizeof(float));
    if (!p->data)
        return vd_fail(err, VD_ERR_NOMEM, "params: cannot allocate %zu parameters", p->total);
    if (with_grad) {
        p->grad = vd_calloc(p->allocator, p->total ? p->total : 1, sizeof(float));
        if (!p->grad)
            return vd_fail(err, VD_ERR_NOMEM, "params: cannot allocate %zu gradients", p->total);
    }
    return VD_OK;
}

size_t vd_params_count(const vd_params *p) { return p->count; }
size_t vd_params_numel(const vd_params *p) { return p->total; }
const vd_param_info *vd_params_info(const vd_params *p, size_t i) {
    return i < p->count ? &p->info[i] : NULL;
}
float *vd_params_data(vd_params *p, size_t i) { return p->data + p->info[i].offset; }
float *vd_params_grad(vd_params *p, size_t i) { return p->grad ? p->grad + p->info[i].offset : NULL; }
float *vd_params_all(vd_params *p) { return p->data; }
float *vd_params_all_grad(vd_params *p) { return p->grad; }

void vd_params_zero_grad(vd_params *p) {
    if (p->grad) vd_ops_cpu()->zero(p->grad, p->total);
}

void vd_params_init_normal(vd_params *p, size_t i, vd_rng *rng, float std) {
    float *x = vd_params_data(p, i);
    vd_rng_normal(rng, x, p->info[i].numel);
    for (size_t k = 0; k < p->info[i].numel; k++) x[k] *= std;
}

void vd_params_init_constant(vd_params *p, size_t i, float value) {
    float *x = vd_params_data(p, i);
    for (size_t k = 0; k < p->info[i].numel; k++) x[k] = value;
}

void vd_params_init_uniform(vd_params *p, size_t i, vd_rng *rng, float bound) {
    float *x = vd_params_data(p, i);
    vd_rng_uniform(rng, x, p->info[i].numel);
    for (size_t k = 0; k < p->info[i].numel; k++) x[k] = (2.0f * x[k] - 1.0f) * bound;
}

uint8_t *vd_params_decay_mask(const vd_params *p) {
    uint8_t *mask = vd_calloc(p->allocator, p->total ? p->total : 1, 1);
    if (!mask) return NULL;
    for (size_t i = 0; i < p->count; i++)
        if (!(p->info[i].flags & VD_PARAM_NO_DECAY))
            memset(mask + p->info[i].offset, 1, p->info[i].numel);
    return mask;
}

static void full_name(char *buf, size_t size, const char *prefix, const char *name) {
    snprintf(buf, size, "%s%s", prefix ? prefix : "", name);
}

vd_status vd_params_save(const vd_params *p, const float *values, vd_st_writer *w,
                         const char *prefix, vd_dtype dtype, vd_error *err) {
    if (!values) values = p->data;
    if (!values) return vd_fail(err, VD_ERR_ARG, "params: saving before allocation");
    for (size_t i = 0; i < p->count; i++) {
        char name[512];
        full_name(name, sizeof name, prefix, p->names[i]);
        vd_status s = vd_st_writer_add_f32(w, name, dtype, p->info[i].ndim, p->info[i].shape,
                                           values + p->info[i].offset, err);
        if (s != VD_OK) return s;
    }
    return VD_OK;
}

int vd_params_same_shape(const vd_st_tensor *t, const vd_param_info *info) {
    if (t->ndim != info->ndim) return 0;
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] != info->shape[d]) return 0;
    return 1;
}

vd_status vd_params_load_matching(vd_params *p, float *values, const vd_st_file *f,
                                  const char *prefix, int *loaded, int *kept, vd_error *err) {
    int n_loaded = 0, n_kept = 0;
    if (!values) values = p->data;
    if (!values) return vd_fail(err, VD_ERR_ARG, "params: loading before allocation");
    for (size_t i = 0; i < p->count; i++) {
        char name[512];
        full_name(name, sizeof name, prefix, p->names[i]);
        const vd_st_tensor *t = vd_st_find(f, name);
        if (!t || !vd_params_same_shape(t, &p->info[i])) {
            n_kept++;
            continue;
        }
        vd_status s = vd_st_load_f32(f, name, values + p->info[i].offset, p->info[i].ndim,
                                     p->info[i].shape, err);
        if (s != VD_OK) return s;
        n_loaded++;
    }
    if (loaded) *loaded = n_loaded;
    if (kept) *kept = n_kept;
    return VD_OK;
}

vd_status vd_params_load(vd_params *p, float *values, const vd_st_file *f, const char *prefix,
                         vd_error *err) {
    if (!values) values = p->data;
    if (!values) return vd_fail(err, VD_ERR_ARG, "params: loading before allocation");
    for (size_t i = 0; i < p->count; i++) {
        char name[512];
        full_name(name, sizeof name, prefix, p->names[i]);
        vd_status s = vd_st_load_f32(f, name, values + p->info[i].offset, p->info[i].ndim,
                                     p->info[i].shape, err);
        if (s != VD_OK) return s;
    }
    return VD_OK;
}
