/* ODE solvers that carry noise (t = 1) to data (t = 0) along a learned
 * velocity field dx/dt = v(x, t) (diffusion/flow.h).
 *
 *   euler   first order, one evaluation per step.
 *   heun    second order (explicit trapezoid), two evaluations per step
 *           (also at t = 0, where a flow model's velocity is defined).
 *   dpmpp   DPM-Solver++(2M) (Lu et al. 2022) written for rectified flow
 *           (alpha = 1 - t, sigma = t, data prediction x0 = x - t v):
 *           second order multistep, one evaluation per step; the first
 *           step and the last (to t = 0) are first order.
 *
 * The solvers only do arithmetic on flat arrays, one after another, so the
 * result depends on nothing but the velocity function's outputs. */
#ifndef VD_DIFFUSION_SAMPLER_H
#define VD_DIFFUSION_SAMPLER_H

#include <stddef.h>

#include "vidit.h"

typedef enum vd_solver {
    VD_SOLVER_EULER = 0,
    VD_SOLVER_HEUN,
    VD_SOLVER_DPMPP,
    VD_SOLVER_COUNT
} vd_solver;

const char *vd_solver_name(int solver); /* "euler", "heun", "dpmpp" */
/* 1 and *solver when the name is known ("dpm++" is accepted too). */
int vd_solver_from_name(const char *name, int *solver);
/* Velocity evaluations a solver makes for `steps` steps. */
int vd_solver_evals(int solver, int steps);

/* Writes v(x, t) (n values). */
typedef vd_status (*vd_velocity_fn)(void *user, const float *x, float t, float *v,
                                    vd_error *err);

/* Integrates x (n values, in place) along the descending time grid
 * t[0..steps] (from diffusion/flow.h's vd_flow_time_grid, or any other).
 * work: 3 n floats. progress (may be NULL) is called after each evaluation
 * with stage "sampling"; a non-zero return cancels (VD_ERR_ARG,
 * "cancelled"). */
vd_status vd_sample_ode(int solver, float *x, size_t n, const float *t, int steps,
                        vd_velocity_fn f, void *user, float *work, vd_progress_fn progress,
                        void *progress_user, vd_error *err);

#endif
