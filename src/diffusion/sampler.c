/* Flow ODE solvers (see sampler.h). */
#include "diffusion/sampler.h"

#include <math.h>
#include <string.h>

#include "core/error.h"

static const char *const NAMES[VD_SOLVER_COUNT] = {"euler", "heun", "dpmpp"};

const char *vd_solver_name(int solver) {
    return solver >= 0 && solver < VD_SOLVER_COUNT ? NAMES[solver] : "unknown";
}

int vd_solver_from_name(const char *name, int *solver) {
    for (int i = 0; i < VD_SOLVER_COUNT; i++)
        if (!strcmp(name, NAMES[i])) {
            *solver = i;
            return 1;
        }
    if (!strcmp(name, "dpm++") || !strcmp(name, "dpm-solver++")) {
        *solver = VD_SOLVER_DPMPP;
        return 1;
    }
    return 0;
}

int vd_solver_evals(int solver, int steps) {
    return solver == VD_SOLVER_HEUN ? 2 * steps : steps;
}

typedef struct counter {
    vd_progress_fn fn;
    void *user;
    int64_t done, total;
} counter;

static vd_status eval(vd_velocity_fn f, void *user, const float *x, float t, float *v,
                      counter *c, vd_error *err) {
    vd_status st = f(user, x, t, v, err);
    if (st) return st;
    c->done++;
    if (c->fn && c->fn(c->user, "sampling", c->done, c->total))
        return vd_fail(err, VD_ERR_ARG, "cancelled");
    return VD_OK;
}

/* lambda = log(alpha / sigma) = log((1 - t) / t): -inf at t = 1, +inf at 0. */
static double lambda_of(double t) { return log((1.0 - t) / t); }

vd_status vd_sample_ode(int solver, float *x, size_t n, const float *t, int steps,
                        vd_velocity_fn f, void *user, float *work, vd_progress_fn progress,
                        void *progress_user, vd_error *err) {
    if (solver < 0 || solver >= VD_SOLVER_COUNT)
        return vd_fail(err, VD_ERR_ARG, "sampler: unknown solver %d", solver);
    if (steps < 1) return vd_fail(err, VD_ERR_ARG, "sampler: %d steps (need >= 1)", steps);
    for (int i = 0; i < steps; i++)
        if (!(t[i] > t[i + 1]) || t[i] > 1.0f || t[i + 1] < 0.0f)
            return vd_fail(err, VD_ERR_ARG,
                           "sampler: time grid must descend within [0, 1] (t[%d] = %g, t[%d] = %g)",
                           i, (double)t[i], i + 1, (double)t[i + 1]);
    counter c = {progress, progress_user, 0, vd_solver_evals(solver, steps)};
    float *v1 = work, *v2 = work + n, *aux = work + 2 * n;
    vd_status st = VD_OK;
    int have_prev = 0;
    double h_prev = 0.0;
    for (int i = 0; i < steps && !st; i++) {
        const float t0 = t[i], t1 = t[i + 1], dt = t1 - t0;
        if ((st = eval(f, user, x, t0, v1, &c, err))) break;
        if (solver == VD_SOLVER_EULER) {
            for (size_t k = 0; k < n; k++) x[k] += dt * v1[k];
        } else if (solver == VD_SOLVER_HEUN) {
            for (size_t k = 0; k < n; k++) aux[k] = x[k] + dt * v1[k];
            if ((st = eval(f, user, aux, t1, v2, &c, err))) break;
            for (size_t k = 0; k < n; k++) x[k] += dt * 0.5f * (v1[k] + v2[k]);
        } else {
            /* v1 becomes the data prediction x0 = x - t v; aux keeps the
             * previous one. */
            for (size_t k = 0; k < n; k++) v1[k] = x[k] - t0 * v1[k];
            if (t1 <= 0.0f) {
                memcpy(x, v1, n * sizeof *x);
                break;
            }
            const int first = t0 >= 1.0f;
            const double h = first ? INFINITY : lambda_of(t1) - lambda_of(t0);
            const float ratio = t1 / t0;
            const float em1 = first ? -1.0f : (float)expm1(-h); /* e^{-h} - 1 */
            const float a1 = 1.0f - t1;
            if (have_prev && isfinite(h_prev) && isfinite(h)) {
                const float q = (float)(0.5 * h / h_prev); /* 1 / (2 r) */
                for (size_t k = 0; k < n; k++) {
                    float d = (1.0f + q) * v1[k] - q * aux[k];
                    x[k] = ratio * x[k] - a1 * em1 * d;
                }
            } else {
                for (size_t k = 0; k < n; k++) x[k] = ratio * x[k] - a1 * em1 * v1[k];
            }
            memcpy(aux, v1, n * sizeof *aux);
            have_prev = 1;
            h_prev = h;
        }
    }
    return st;
}
