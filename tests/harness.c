#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/rng.h"
#include "core/safetensors.h"
#include "test.h"

int vt_failures = 0;
int vt_checks = 0;

int vt_close(const char *what, const float *got, const float *want, size_t n, double atol,
             double rtol) {
    size_t worst = 0, bad = 0;
    double worst_excess = -1e300, worst_err = 0;
    for (size_t i = 0; i < n; i++) {
        double err = fabs((double)got[i] - (double)want[i]);
        double allowed = atol + rtol * fabs((double)want[i]);
        if (isnan(got[i]) != isnan(want[i])) err = INFINITY;
        if (err > allowed) bad++;
        if (err - allowed > worst_excess) {
            worst_excess = err - allowed;
            worst = i;
            worst_err = err;
        }
    }
    vt_checks++;
    if (bad) {
        vt_failures++;
        fprintf(stderr, "FAIL %s: %zu/%zu elements out of tolerance (atol %g rtol %g); worst [%zu] got %.8g want %.8g (err %.3g)\n",
                what, bad, n, atol, rtol, worst, (double)got[worst], (double)want[worst], worst_err);
        return 0;
    }
    fprintf(stdout, "ok   %s: %zu elements, max err at [%zu] %.3g\n", what, n, worst, worst_err);
    return 1;
}

int vt_gradcheck(const char *what, double (*loss)(void *ctx), void *ctx, float *param,
                 const float *grad, size_t n, double h, double atol, double rtol,
                 size_t max_checks) {
    size_t count = n < max_checks ? n : max_checks;
    size_t bad = 0;
    double worst = 0;
    size_t worst_i = 0;
    double worst_fd = 0;
    for (size_t k = 0; k < count; k++) {
        size_t i = count == n ? k : (size_t)((double)k * (double)n / (double)count);
        float saved = param[i];
        param[i] = (float)(saved + h);
        double hp = (double)param[i] - saved;
        double lp = loss(ctx);
        param[i] = (float)(saved - h);
        double hm = saved - (double)param[i];
        double lm = loss(ctx);
        param[i] = saved;
        double fd = (lp - lm) / (hp + hm);
        double g = grad[i];
        double err = fabs(fd - g);
        double allowed = atol + rtol * fmax(fabs(fd), fabs(g));
        if (err > allowed) bad++;
        if (err / (allowed > 0 ? allowed : 1) > worst) {
            worst = err / (allowed > 0 ? allowed : 1);
            worst_i = i;
            worst_fd = fd;
        }
    }
    vt_checks++;
    if (bad) {
        vt_failures++;
        fprintf(stderr, "FAIL gradcheck %s: %zu/%zu out of tolerance; worst [%zu] analytic %.8g numeric %.8g\n",
                what, bad, count, worst_i, (double)grad[worst_i], worst_fd);
        return 0;
    }
    fprintf(stdout, "ok   gradcheck %s: %zu elements, worst error %.3g of allowed\n", what, count, worst);
    return 1;
}

double vt_weighted_sum(const float *y, const float *w, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += (double)y[i] * (double)w[i];
    return s;
}

void vt_fill_uniform(float *x, size_t n, uint64_t seed) {
    vd_rng r;
    vd_rng_init(&r, seed);
    vd_rng_uniform(&r, x, n);
    for (size_t i = 0; i < n; i++) x[i] = 2.0f * x[i] - 1.0f;
}

void vt_fill_normal(float *x, size_t n, uint64_t seed) {
    vd_rng r;
    vd_rng_init(&r, seed);
    vd_rng_normal(&r, x, n);
}

struct vt_golden {
    vd_st_file *file;
    char name[256];
};

vt_golden *vt_golden_open(const char *name) {
    char path[512];
    snprintf(path, sizeof path, "tests/golden/%s.safetensors", name);
    vd_error err = {0};
    vd_st_file *f = NULL;
    vt_checks++;
    if (vd_st_open(&f, path, &err) != VD_OK) {
        vt_failures++;
        fprintf(stderr, "FAIL golden %s: %s\n", name, err.message);
        return NULL;
    }
    vt_golden *g = calloc(1, sizeof *g);
    if (!g) {
        vd_st_close(f);
        vt_failures++;
        return NULL;
    }
    g->file = f;
    snprintf(g->name, sizeof g->name, "%s", name);
    return g;
}

float *vt_golden_get(vt_golden *g, const char *tensor, size_t *n, int *ndim, int64_t *shape) {
    if (!g) return NULL;
    const vd_st_tensor *t = vd_st_find(g->file, tensor);
    if (!t) {
        vt_failures++;
        fprintf(stderr, "FAIL golden %s: no tensor '%s'\n", g->name, tensor);
        return NULL;
    }
    int64_t count = vd_shape_numel(t->ndim, t->shape);
    float *out = malloc((size_t)(count > 0 ? count : 1) * sizeof(float));
    vd_error err = {0};
    if (!out || vd_st_read_f32(t, out, (size_t)count, &err) != VD_OK) {
        vt_failures++;
        fprintf(stderr, "FAIL golden %s/%s: %s\n", g->name, tensor, err.message);
        free(out);
        return NULL;
    }
    if (n) *n = (size_t)count;
    if (ndim) *ndim = t->ndim;
    if (shape)
        for (int i = 0; i < t->ndim; i++) shape[i] = t->shape[i];
    return out;
}

int32_t *vt_golden_get_i32(vt_golden *g, const char *tensor, size_t *n) {
    size_t count = 0;
    float *f = vt_golden_get(g, tensor, &count, NULL, NULL);
    if (!f) return NULL;
    int32_t *out = malloc((count ? count : 1) * sizeof(int32_t));
    if (out)
        for (size_t i = 0; i < count; i++) out[i] = (int32_t)lrintf(f[i]);
    free(f);
    if (n) *n = count;
    return out;
}

double vt_golden_attr(vt_golden *g, const char *key, double fallback) {
    if (!g) return fallback;
    const char *v = vd_st_metadata(g->file, key);
    return v ? strtod(v, NULL) : fallback;
}

void vt_golden_close(vt_golden *g) {
    if (!g) return;
    vd_st_close(g->file);
    free(g);
}

int vt_same_safetensors(const char *a, const char *b) {
    vd_st_file *fa = NULL, *fb = NULL;
    int same = vd_st_open(&fa, a, NULL) == VD_OK && vd_st_open(&fb, b, NULL) == VD_OK &&
               vd_st_count(fa) == vd_st_count(fb);
    for (size_t i = 0; same && i < vd_st_count(fa); i++) {
        const vd_st_tensor *ta = vd_st_at(fa, i), *tb = vd_st_find(fb, ta->name);
        same = tb && ta->nbytes == tb->nbytes && !memcmp(ta->data, tb->data, ta->nbytes);
        if (!same) fprintf(stderr, "tensor %s differs\n", ta->name);
    }
    vd_st_close(fa);
    vd_st_close(fb);
    return same;
}

int vt_quick(void) {
    const char *q = getenv("VIDIT_TEST_QUICK");
    return q && *q && strcmp(q, "0") != 0;
}

int vt_result(const char *name) {
    if (vt_failures) {
        fprintf(stderr, "%s: %d of %d checks FAILED\n", name, vt_failures, vt_checks);
        return 1;
    }
    printf("%s: all %d checks passed\n", name, vt_checks);
    return 0;
}
