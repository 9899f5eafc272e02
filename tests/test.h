/* The test harness: checks that count failures, comparisons that report the
 * worst element, finite-difference gradient checks and PyTorch goldens.
 * A test program returns vt_result(): non-zero when any check failed. */
#ifndef VD_TESTS_TEST_H
#define VD_TESTS_TEST_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/tensor.h"

extern int vt_failures;
extern int vt_checks;

#define CHECK(cond, ...)                                                         \
    do {                                                                         \
        vt_checks++;                                                             \
        if (!(cond)) {                                                           \
            vt_failures++;                                                       \
            fprintf(stderr, "%s:%d: CHECK(%s) failed: ", __FILE__, __LINE__, #cond); \
            fprintf(stderr, __VA_ARGS__);                                        \
            fprintf(stderr, "\n");                                               \
        }                                                                        \
    } while (0)

/* Compares n floats: passes when |got - want| <= atol + rtol * |want| for
 * every element; prints the worst element either way (with `what`). */
int vt_close(const char *what, const float *got, const float *want, size_t n,
             double atol, double rtol);

/* Finite-difference gradient check. loss(ctx) computes a scalar (in double)
 * from the current values of the float array `param`; grad holds the
 * analytic gradient of that loss. Central differences with step h, the
 * perturbed loss accumulated in double; checks up to max_checks elements
 * (all when n is smaller; otherwise an even spread). Passes when
 * |fd - grad| <= atol + rtol * max(|fd|, |grad|). */
int vt_gradcheck(const char *what, double (*loss)(void *ctx), void *ctx,
                 float *param, const float *grad, size_t n, double h,
                 double atol, double rtol, size_t max_checks);

/* Loss helper for gradchecks: sum_i w[i] * y[i] in double. */
double vt_weighted_sum(const float *y, const float *w, size_t n);

/* Deterministic test data in [-1, 1) or N(0,1) (Philox, seeded). */
void vt_fill_uniform(float *x, size_t n, uint64_t seed);
void vt_fill_normal(float *x, size_t n, uint64_t seed);

/* Golden files: tests/golden/<name>.safetensors written by
 * tests/golden/make_goldens.py. vt_golden returns a malloc'd float copy of
 * tensor `tensor` (NULL and a failure when missing), its element count in
 * *n and shape in shape[] (may be NULL). */
typedef struct vt_golden vt_golden;
vt_golden *vt_golden_open(const char *name);
float *vt_golden_get(vt_golden *g, const char *tensor, size_t *n, int *ndim,
                     int64_t *shape);
int32_t *vt_golden_get_i32(vt_golden *g, const char *tensor, size_t *n);
/* A scalar attribute stored in the golden's metadata (e.g. "eps"). */
double vt_golden_attr(vt_golden *g, const char *key, double fallback);
void vt_golden_close(vt_golden *g);

/* 1 when VIDIT_TEST_QUICK is set (the sanitizer build): shrink slow tests. */
int vt_quick(void);
/* 1 when two safetensors files hold the same tensors, byte for byte (names
 * those that differ on stderr). */
int vt_same_safetensors(const char *a, const char *b);

/* Prints a summary; returns the process exit code. */
int vt_result(const char *name);

#endif
