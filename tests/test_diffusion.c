/* Flow matching arithmetic and the ODE solvers: the shift formula, the
 * timestep samplers' statistics, the noising identities, the loss gradient,
 * CFG, and each solver's order of accuracy on a linear ODE with a known
 * solution. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "diffusion/flow.h"
#include "diffusion/sampler.h"
#include "test.h"
#include "train/loss_weights.h"

static void test_shift(void) {
    CHECK(vd_flow_shift(0.0f, 3.0f) == 0.0f && vd_flow_shift(1.0f, 3.0f) == 1.0f, "ends fixed");
    CHECK(fabsf(vd_flow_shift(0.5f, 3.0f) - 0.75f) < 1e-6f, "shift(0.5, 3) = %g",
          (double)vd_flow_shift(0.5f, 3.0f));
    CHECK(vd_flow_shift(0.3f, 1.0f) == 0.3f, "shift 1 is the identity");
    float worst = 0, prev = -1;
    int monotone = 1;
    for (int i = 0; i <= 100; i++) {
        float t = i / 100.0f, s = vd_flow_shift(t, 2.5f);
        float back = vd_flow_shift(s, 1.0f / 2.5f); /* the inverse of s is 1/s */
        worst = fmaxf(worst, fabsf(back - t));
        if (s <= prev) monotone = 0;
        prev = s;
        /* the formula written out */
        float want = 2.5f * t / (1.0f + 1.5f * t);
        worst = fmaxf(worst, fabsf(s - want));
    }
    CHECK(worst < 1e-6f, "shift inverse / formula error %g", (double)worst);
    CHECK(monotone, "shift is increasing");

    float g[11];
    CHECK(vd_flow_time_grid(g, 10, 3.0f, NULL) == VD_OK, "grid");
    CHECK(g[0] == 1.0f && g[10] == 0.0f, "grid ends %g %g", (double)g[0], (double)g[10]);
    CHECK(fabsf(g[5] - 0.75f) < 1e-6f, "grid midpoint shifted to %g", (double)g[5]);
    int desc = 1;
    for (int i = 0; i < 10; i++) desc &= g[i] > g[i + 1];
    CHECK(desc, "grid descends");
    vd_error err;
    CHECK(vd_flow_time_grid(g, 0, 1.0f, &err) == VD_ERR_ARG, "0 steps refused");
    CHECK(vd_flow_time_grid(g, 4, -1.0f, &err) == VD_ERR_ARG, "negative shift refused");
}

static void test_tsample(void) {
    enum { N = 40000 };
    float *t = malloc(N * sizeof *t);
    vd_flow_tconfig c;
    vd_flow_tconfig_default(&c);
    vd_rng r;
    vd_rng_init(&r, 5);
    vd_flow_sample_t(&c, &r, t, N);
    double s = 0, s2 = 0;
    int in = 1, below = 0;
    for (int i = 0; i < N; i++) {
        in &= t[i] > 0 && t[i] < 1;
        double z = log(t[i] / (1.0 - t[i]));
        s += z;
        s2 += z * z;
        below += t[i] < 0.5f;
    }
    double m = s / N, sd = sqrt(s2 / N - m * m);
    CHECK(in, "logit-normal t in (0, 1)");
    /* standard errors: 1/sqrt(N) = 0.005 for the mean, ~0.0035 for the std */
    CHECK(fabs(m) < 0.02 && fabs(sd - 1.0) < 0.02, "logit(t): mean %g std %g (want 0, 1)", m, sd);
    CHECK(abs(below - N / 2) < 400, "median: %d of %d below 0.5", below, N);

    c.kind = VD_FLOW_UNIFORM;
    c.shift = 3.0f;
    vd_rng_init(&r, 6);
    vd_flow_sample_t(&c, &r, t, N);
    /* P(shift(u) < 0.75) = P(u < 0.5) = 0.5 for shift 3. */
    below = 0;
    for (int i = 0; i < N; i++) below += t[i] < 0.75f;
    CHECK(abs(below - N / 2) < 400, "shifted uniform: %d of %d below 0.75", below, N);
    int kind;
    CHECK(vd_flow_tsample_from_name("uniform", &kind) && kind == VD_FLOW_UNIFORM, "name");
    CHECK(!vd_flow_tsample_from_name("gamma", &kind), "unknown name");
    free(t);
}

static void test_noise(void) {
    enum { B = 3, P = 50 };
    float x0[B * P], eps[B * P], xt[B * P], v[B * P], t[B] = {0.0f, 0.37f, 1.0f};
    vt_fill_normal(x0, B * P, 1);
    vt_fill_normal(eps, B * P, 2);
    vd_flow_noise(xt, v, x0, eps, t, B, P);
    float worst = 0;
    for (int b = 0; b < B; b++)
        for (int i = 0; i < P; i++) {
            int k = b * P + i;
            worst = fmaxf(worst, fabsf(xt[k] - (x0[k] + t[b] * v[k])));        /* x_t = x0 + t v */
            worst = fmaxf(worst, fabsf(xt[k] + (1 - t[b]) * v[k] - eps[k])); /* eps = x_t + (1-t) v */
            worst = fmaxf(worst, fabsf(v[k] - (eps[k] - x0[k])));
        }
    CHECK(worst < 1e-5f, "noising identities off by %g", (double)worst);
    CHECK(!memcmp(xt, x0, P * sizeof *xt), "t = 0 gives the data exactly");
    CHECK(!memcmp(xt + 2 * P, eps + 2 * P, P * sizeof *xt), "t = 1 gives the noise exactly");

    /* loss gradient against central differences */
    float pred[P], d[P];
    vt_fill_normal(pred, P, 3);
    double loss = vd_flow_mse(pred, v, NULL, P, 0.5f, d);
    double want = 0;
    for (int i = 0; i < P; i++) want += (double)(pred[i] - v[i]) * (pred[i] - v[i]);
    CHECK(fabs(loss - want / P) < 1e-9, "mse %g want %g", loss, want / P);
    float worstg = 0;
    for (int i = 0; i < P; i++) {
        float keep = pred[i];
        pred[i] = keep + 1e-2f;
        double lp = vd_flow_mse(pred, v, NULL, P, 1.0f, NULL);
        pred[i] = keep - 1e-2f;
        double lm = vd_flow_mse(pred, v, NULL, P, 1.0f, NULL);
        pred[i] = keep;
        worstg = fmaxf(worstg, fabsf((float)(0.5 * (lp - lm) / 2e-2) - d[i]));
    }
    CHECK(worstg < 1e-4f, "mse gradient off by %g", (double)worstg);

    /* weighted: all-ones weights give the plain loss; uneven weights pass
     * the gradient check */
    float w[P], dw[P];
    for (int i = 0; i < P; i++) w[i] = 1.0f;
    double lw = vd_flow_mse(pred, v, w, P, 0.5f, dw);
    CHECK(fabs(lw - loss) < 1e-9 && !memcmp(dw, d, sizeof d), "all-ones weights: %g vs %g", lw, loss);
    for (int i = 0; i < P; i++) w[i] = (float)(1 + i % 5);
    vd_flow_mse(pred, v, w, P, 1.0f, dw);
    worstg = 0;
    for (int i = 0; i < P; i++) {
        float keep = pred[i];
        pred[i] = keep + 1e-2f;
        double lp = vd_flow_mse(pred, v, w, P, 1.0f, NULL);
        pred[i] = keep - 1e-2f;
        double lm = vd_flow_mse(pred, v, w, P, 1.0f, NULL);
        pred[i] = keep;
        worstg = fmaxf(worstg, fabsf((float)((lp - lm) / 2e-2) - dw[i]));
    }
    CHECK(worstg < 1e-4f, "weighted mse gradient off by %g", (double)worstg);
}

/* The DiT's object weights (vd_standout_weights): one latent position that
 * differs in one channel weighs 1 + k on its 3x3 neighbourhood in every
 * channel of that frame, 1 elsewhere. */
static void test_object_weights(void) {
    enum { B = 2, C = 3, T = 2, H = 6, W = 7 };
    const size_t plane = (size_t)H * W, n = (size_t)B * C * T * plane;
    float x[B * C * T * H * W], w[B * C * T * H * W], scratch[2 * (H + W) + H * W];
    for (size_t i = 0; i < n; i++) x[i] = 0.25f * (float)(i / plane % 5); /* plain per frame */
    /* batch 1, channel 2, frame 1, position (2, 3) */
    x[(((size_t)1 * C + 2) * T + 1) * plane + 2 * W + 3] += 2.0f;
    vd_standout_weights(w, x, B, C, T, H, W, 4.0f, 0.5f, scratch);
    int bad = 0;
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int t = 0; t < T; t++)
                for (int j = 0; j < H; j++)
                    for (int i = 0; i < W; i++) {
                        int in = b == 1 && t == 1 && j >= 1 && j <= 3 && i >= 2 && i <= 4;
                        float got = w[(((size_t)b * C + c) * T + t) * plane + (size_t)j * W + i];
                        bad += got != (in ? 5.0f : 1.0f);
                    }
    CHECK(bad == 0, "object weights: %d of %zu wrong", bad, n);
}

static void test_cfg(void) {
    float vc[4] = {1, 2, 3, 4}, vu[4] = {0, 1, -1, 4}, o[4];
    vd_flow_cfg_combine(o, vc, vu, 1.0f, 4);
    CHECK(!memcmp(o, vc, sizeof o), "guidance 1 is the conditional velocity");
    vd_flow_cfg_combine(o, vc, vu, 0.0f, 4);
    CHECK(!memcmp(o, vu, sizeof o), "guidance 0 is the unconditional velocity");
    vd_flow_cfg_combine(o, vc, vu, 4.0f, 4);
    float want[4] = {4, 5, 15, 4};
    CHECK(vt_close("cfg 4", o, want, 4, 0, 0), "v_u + 4 (v_c - v_u)");
}

/* dx/dt = a_k x + c t per component: exact x(0) from x(1). */
enum { NODE = 4 };
static const float A[NODE] = {1.5f, -0.7f, 0.3f, 2.0f}, CC = 0.8f;

static vd_status linear_field(void *user, const float *x, float t, float *v, vd_error *err) {
    int *calls = user;
    (*calls)++;
    for (int k = 0; k < NODE; k++) v[k] = A[k] * x[k] + CC * t;
    return VD_OK;
}

static double solve_error(int solver, int steps, float shift, int *calls) {
    float x[NODE] = {1.0f, -0.5f, 0.25f, 0.8f}, x1[NODE], work[3 * NODE], grid[1024];
    memcpy(x1, x, sizeof x);
    vd_flow_time_grid(grid, steps, shift, NULL);
    *calls = 0;
    vd_status st = vd_sample_ode(solver, x, NODE, grid, steps, linear_field, calls, work, NULL,
                                 NULL, NULL);
    if (st) return INFINITY;
    double e = 0;
    for (int k = 0; k < NODE; k++) {
        double a = A[k], c = CC;
        double K = (x1[k] + c / a + c / (a * a)) * exp(-a);
        double want = K - c / (a * a);
        e = fmax(e, fabs(x[k] - want));
    }
    return e;
}

static void test_order(void) {
    /* Halving the step divides the error by 2^order. Measured ratios
     * (t = 1 -> 0, shift 1): Euler 2.0, Heun 4.0, DPM-Solver++(2M) 3.2 (its first-order
     * first and last steps keep it below 4 at these step counts). */
    static const float lo[VD_SOLVER_COUNT] = {1.7f, 3.4f, 2.6f};
    static const float hi[VD_SOLVER_COUNT] = {2.3f, 4.6f, 5.0f};
    for (int s = 0; s < VD_SOLVER_COUNT; s++) {
        int calls;
        double e1 = solve_error(s, 40, 1.0f, &calls);
        CHECK(calls == vd_solver_evals(s, 40), "%s: %d evaluations, want %d", vd_solver_name(s),
              calls, vd_solver_evals(s, 40));
        double e2 = solve_error(s, 80, 1.0f, &calls);
        double e3 = solve_error(s, 160, 1.0f, &calls);
        double r1 = e1 / e2, r2 = e2 / e3;
        printf("%-6s errors %.3g %.3g %.3g, ratios %.2f %.2f\n", vd_solver_name(s), e1, e2, e3,
               r1, r2);
        CHECK(r2 > lo[s] && r2 < hi[s], "%s: error ratio %.3f not in [%g, %g]", vd_solver_name(s),
              r2, (double)lo[s], (double)hi[s]);
        double es = solve_error(s, 80, 3.0f, &calls);
        CHECK(es < 10 * e1, "%s: shifted grid error %g", vd_solver_name(s), es);
    }
    int sv;
    CHECK(vd_solver_from_name("heun", &sv) && sv == VD_SOLVER_HEUN, "heun by name");
    CHECK(vd_solver_from_name("dpm++", &sv) && sv == VD_SOLVER_DPMPP, "dpm++ by name");
    CHECK(!vd_solver_from_name("ddim", &sv), "unknown solver");
}

static int cancel_after_two(void *user, const char *stage, int64_t done, int64_t total) {
    return done >= 2;
}

static void test_errors(void) {
    float x[NODE] = {0}, work[3 * NODE], bad[3] = {0.0f, 0.5f, 1.0f}, grid[11];
    int calls = 0;
    vd_error err;
    CHECK(vd_sample_ode(VD_SOLVER_EULER, x, NODE, bad, 2, linear_field, &calls, work, NULL, NULL,
                        &err) == VD_ERR_ARG, "ascending grid refused");
    vd_flow_time_grid(grid, 10, 1.0f, NULL);
    CHECK(vd_sample_ode(VD_SOLVER_HEUN, x, NODE, grid, 10, linear_field, &calls, work,
                        cancel_after_two, NULL, &err) == VD_ERR_ARG &&
              strstr(err.message, "cancelled"), "progress cancels");
    CHECK(vd_sample_ode(7, x, NODE, grid, 10, linear_field, &calls, work, NULL, NULL, &err) ==
              VD_ERR_ARG, "unknown solver refused");
}

int main(void) {
    test_shift();
    test_tsample();
    test_noise();
    test_object_weights();
    test_cfg();
    test_order();
    test_errors();
    return vt_result("diffusion");
}
