/* Dense CPU operators: finite-difference gradient checks of every backward
 * (which also verify that backward kernels accumulate), PyTorch goldens of
 * every forward and backward, and bit-identical results for 1 and 2 threads.
 *
 * Gradcheck tolerances: loss = sum w_i y_i in double over float forwards,
 * central differences with step h. Float rounding of the forward puts about
 * 1e-6 of noise on the loss, i.e. ~1e-4 on a difference quotient with
 * h = 5e-3, so checks pass at |fd - g| <= 2e-3 + 1e-2 max(|fd|, |g|) (stated
 * per call below where different). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/threads.h"
#include "ops/cpu/cpu.h"
#include "test.h"
#include "vidit.h"

/* --------------------------------------------------------------- buffers */

static float *pool[64];
static int npool;

static float *buf(size_t n) {
    float *p = calloc(n ? n : 1, sizeof *p);
    if (!p) abort();
    pool[npool++] = p;
    return p;
}
static float *rnd(size_t n, uint64_t seed, float scale, float shift) {
    float *p = buf(n);
    vt_fill_normal(p, n, seed);
    for (size_t i = 0; i < n; i++) p[i] = p[i] * scale + shift;
    return p;
}
static void pool_free(void) {
    while (npool) free(pool[--npool]);
}

/* Gradient buffers start at ACC, so a kernel that overwrote instead of
 * accumulating fails the check after ACC is subtracted again. */
#define ACC 0.25f
static float *gbuf(size_t n) {
    float *p = buf(n);
    for (size_t i = 0; i < n; i++) p[i] = ACC;
    return p;
}
static float *unacc(float *g, size_t n) {
    for (size_t i = 0; i < n; i++) g[i] -= ACC;
    return g;
}

/* ------------------------------------------------------------ gradchecks */

typedef struct gc {
    void (*fwd)(struct gc *);
    float *y, *wy;
    size_t ny;
    float *a[4];
    float *s0, *s1; /* saved statistics */
    const int32_t *ids;
    int M, K, N, B, C, stride, affine;
    float eps;
} gc;

static double gc_loss(void *p) {
    gc *g = p;
    g->fwd(g);
    return vt_weighted_sum(g->y, g->wy, g->ny);
}

static void check(const char *what, gc *g, float *param, float *grad, size_t n,
                  double h, double atol, double rtol) {
    vt_gradcheck(what, gc_loss, g, param, unacc(grad, n), n, h, atol, rtol, 200);
}

#define H 5e-3
#define ATOL 2e-3
#define RTOL 1e-2

static void f_linear(gc *g) { vd_cpu_linear_fwd(g->y, g->a[0], g->a[1], g->affine ? g->a[2] : NULL, g->M, g->K, g->N); }

static void gc_linear(int bias) {
    gc g = {.fwd = f_linear, .M = 5, .K = 7, .N = 6, .affine = bias};
    g.a[0] = rnd(35, 1, 1, 0), g.a[1] = rnd(42, 2, 0.5f, 0), g.a[2] = rnd(6, 3, 1, 0);
    g.ny = 30, g.y = buf(30), g.wy = rnd(30, 4, 1, 0);
    float *dx = gbuf(35), *dw = gbuf(42), *db = gbuf(6), *dx_only = buf(35);
    vd_cpu_linear_bwd(dx, dw, bias ? db : NULL, g.wy, g.a[0], g.a[1], 5, 7, 6);
    vd_cpu_linear_bwd(dx_only, NULL, NULL, g.wy, g.a[0], g.a[1], 5, 7, 6);
    /* linear in each input: differences are exact up to rounding */
    check(bias ? "linear dx" : "linear(nobias) dx", &g, g.a[0], dx, 35, H, 1e-3, 1e-3);
    check(bias ? "linear dw" : "linear(nobias) dw", &g, g.a[1], dw, 42, H, 1e-3, 1e-3);
    if (bias) check("linear db", &g, g.a[2], db, 6, H, 1e-3, 1e-3);
    vt_close("linear dx with NULL dw, db", dx_only, dx, 35, 1e-6, 1e-6);
    pool_free();
}

/* Several output tiles in both dimensions (with ragged edges) against a
 * double-precision reference: products of K ~ 150 terms, 1e-4 abs + rel. */
static void linear_tiles(void) {
    int M = 100, K = 130, N = 150;
    float *x = rnd((size_t)M * K, 40, 1, 0), *w = rnd((size_t)N * K, 41, 0.2f, 0);
    float *b = rnd(N, 42, 1, 0), *dy = rnd((size_t)M * N, 43, 1, 0);
    float *y = buf((size_t)M * N), *dx = gbuf((size_t)M * K), *dw = gbuf((size_t)N * K), *db = gbuf(N);
    float *ry = buf((size_t)M * N), *rdx = buf((size_t)M * K), *rdw = buf((size_t)N * K), *rdb = buf(N);
    vd_cpu_linear_fwd(y, x, w, b, M, K, N);
    vd_cpu_linear_bwd(dx, dw, db, dy, x, w, M, K, N);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = b[j];
            for (int k = 0; k < K; k++) s += (double)x[i * K + k] * w[j * K + k];
            ry[i * N + j] = (float)s;
        }
    for (int i = 0; i < M; i++)
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int j = 0; j < N; j++) s += (double)dy[i * N + j] * w[j * K + k];
            rdx[i * K + k] = (float)s;
        }
    for (int j = 0; j < N; j++) {
        double sb = 0;
        for (int i = 0; i < M; i++) sb += dy[i * N + j];
        rdb[j] = (float)sb;
        for (int k = 0; k < K; k++) {
            double s = 0;
            for (int i = 0; i < M; i++) s += (double)dy[i * N + j] * x[i * K + k];
            rdw[j * K + k] = (float)s;
        }
    }
    vt_close("linear y, tiled (100x130x150)", y, ry, (size_t)M * N, 1e-4, 1e-4);
    vt_close("linear dx, tiled", unacc(dx, (size_t)M * K), rdx, (size_t)M * K, 1e-4, 1e-4);
    vt_close("linear dw, tiled", unacc(dw, (size_t)N * K), rdw, (size_t)N * K, 1e-4, 1e-4);
    vt_close("linear db", unacc(db, N), rdb, N, 1e-4, 1e-4);
    pool_free();
}

static void f_layernorm(gc *g) {
    vd_cpu_layernorm_fwd(g->y, g->s0, g->s1, g->a[0], g->affine ? g->a[1] : NULL,
                         g->affine ? g->a[2] : NULL, g->M, g->C, g->eps);
}

static void gc_layernorm(int affine) {
    int M = 4, C = 9;
    size_t n = (size_t)M * C;
    gc g = {.fwd = f_layernorm, .M = M, .C = C, .eps = 1e-5f, .affine = affine};
    g.a[0] = rnd(n, 5, 1, 0.5f), g.a[1] = rnd(C, 6, 0.5f, 1), g.a[2] = rnd(C, 7, 1, 0);
    g.s0 = buf(M), g.s1 = buf(M), g.ny = n, g.y = buf(n), g.wy = rnd(n, 8, 1, 0);
    f_layernorm(&g);
    float *dx = gbuf(n), *dw = gbuf(C), *db = gbuf(C), *dw_only = gbuf(C);
    const float *w = affine ? g.a[1] : NULL;
    vd_cpu_layernorm_bwd(dx, affine ? dw : NULL, affine ? db : NULL, g.wy, g.a[0], w,
                         g.s0, g.s1, M, C);
    check(affine ? "layernorm dx" : "layernorm(noaffine) dx", &g, g.a[0], dx, n, H, ATOL, RTOL);
    if (affine) {
        f_layernorm(&g); /* the gradcheck left the statistics of a perturbed x */
        vd_cpu_layernorm_bwd(NULL, dw_only, NULL, g.wy, g.a[0], w, g.s0, g.s1, M, C);
        check("layernorm dw", &g, g.a[1], dw, C, H, ATOL, RTOL);
        check("layernorm db", &g, g.a[2], db, C, H, ATOL, RTOL);
        vt_close("layernorm dw alone", unacc(dw_only, C), dw, C, 1e-6, 1e-6);
    }
    pool_free();
}

static void f_rmsnorm(gc *g) {
    vd_cpu_rmsnorm_fwd(g->y, g->s1, g->a[0], g->affine ? g->a[1] : NULL, g->M, g->C, g->eps);
}

static void gc_rmsnorm(int affine) {
    int M = 4, C = 9;
    size_t n = (size_t)M * C;
    gc g = {.fwd = f_rmsnorm, .M = M, .C = C, .eps = 1e-5f, .affine = affine};
    g.a[0] = rnd(n, 9, 1, 0.3f), g.a[1] = rnd(C, 10, 0.5f, 1);
    g.s1 = buf(M), g.ny = n, g.y = buf(n), g.wy = rnd(n, 11, 1, 0);
    f_rmsnorm(&g);
    float *dx = gbuf(n), *dw = gbuf(C);
    vd_cpu_rmsnorm_bwd(dx, affine ? dw : NULL, g.wy, g.a[0], affine ? g.a[1] : NULL, g.s1, M, C);
    check(affine ? "rmsnorm dx" : "rmsnorm(noaffine) dx", &g, g.a[0], dx, n, H, ATOL, RTOL);
    if (affine) check("rmsnorm dw", &g, g.a[1], dw, C, H, ATOL, RTOL);
    pool_free();
}

/* modulate then gated residual, shift/scale/gate inside one (B, stride)
 * vector with stride > 3C, as a DiT block lays them out */
static void f_modgate(gc *g) {
    const float *mod = g->a[1];
    vd_cpu_modulate_fwd(g->s0, g->a[0], mod, mod + g->C, g->B, g->N, g->C, g->stride);
    vd_cpu_gate_residual_fwd(g->y, g->a[2], g->s0, mod + 2 * g->C, g->B, g->N, g->C, g->stride);
}

static void gc_modgate(void) {
    int B = 2, N = 3, C = 5, S = 3 * C + 2;
    size_t n = (size_t)B * N * C;
    gc g = {.fwd = f_modgate, .B = B, .N = N, .C = C, .stride = S};
    g.a[0] = rnd(n, 12, 1, 0), g.a[1] = rnd((size_t)B * S, 13, 0.5f, 0), g.a[2] = rnd(n, 14, 1, 0);
    g.s0 = buf(n), g.ny = n, g.y = buf(n), g.wy = rnd(n, 15, 1, 0);
    f_modgate(&g);
    float *dmid = buf(n), *dx = gbuf(n), *dmod = gbuf((size_t)B * S);
    const float *mod = g.a[1];
    vd_cpu_gate_residual_bwd(dmid, dmod + 2 * C, g.wy, g.s0, mod + 2 * C, B, N, C, S);
    vd_cpu_modulate_bwd(dx, dmod, dmod + C, dmid, g.a[0], mod + C, B, N, C, S);
    check("modulate+gate dx", &g, g.a[0], dx, n, H, ATOL, RTOL);
    check("modulate+gate dmod (stride > 3C)", &g, g.a[1], dmod, (size_t)B * S, H, ATOL, RTOL);
    /* the gate alone, its dy */
    float *dy = gbuf(n);
    vd_cpu_gate_residual_bwd(dy, NULL, g.wy, g.s0, mod + 2 * C, B, N, C, S);
    /* out is linear in y with coefficient gate: dy is exactly gate * dout */
    float *want = buf(n);
    for (int b = 0; b < B; b++)
        for (int i = 0; i < N * C; i++)
            want[b * N * C + i] = mod[b * S + 2 * C + i % C] * g.wy[b * N * C + i];
    vt_close("gate_residual dy", unacc(dy, n), want, n, 1e-6, 1e-6);
    pool_free();
}

static int act_kind;
static void f_act(gc *g) {
    if (act_kind == 0) vd_cpu_gelu_fwd(g->y, g->a[0], g->ny);
    else if (act_kind == 1) vd_cpu_silu_fwd(g->y, g->a[0], g->ny);
    else vd_cpu_softmax_fwd(g->y, g->a[0], g->M, g->C);
}

static void gc_act(int kind) {
    static const char *names[] = {"gelu dx", "silu dx", "softmax dx"};
    int M = 5, C = 8;
    size_t n = (size_t)M * C;
    act_kind = kind;
    gc g = {.fwd = f_act, .M = M, .C = C};
    g.a[0] = rnd(n, 16 + kind, 2, 0), g.ny = n, g.y = buf(n), g.wy = rnd(n, 19, 1, 0);
    float *dx = gbuf(n);
    if (kind == 0) vd_cpu_gelu_bwd(dx, g.wy, g.a[0], n);
    if (kind == 1) vd_cpu_silu_bwd(dx, g.wy, g.a[0], n);
    if (kind == 2) {
        f_act(&g);
        vd_cpu_softmax_bwd(dx, g.wy, g.y, M, C);
    }
    check(names[kind], &g, g.a[0], dx, n, H, ATOL, RTOL);
    pool_free();
}

static void f_embed(gc *g) {
    if (g->M == 0) vd_cpu_embedding_fwd(g->y, g->ids, g->a[0], g->N, g->C);
    else vd_cpu_timestep_embedding_fwd(g->y, g->a[0], g->B, g->C, 10000.0f);
}

static void gc_embed(void) {
    static const int32_t ids[7] = {2, 0, 2, 4, 1, 2, 0};
    gc g = {.fwd = f_embed, .N = 7, .C = 5, .ids = ids};
    g.a[0] = rnd(25, 20, 1, 0), g.ny = 35, g.y = buf(35), g.wy = rnd(35, 21, 1, 0);
    float *dt = gbuf(25);
    vd_cpu_embedding_bwd(dt, g.wy, ids, 7, 5);
    check("embedding dtable (repeated ids)", &g, g.a[0], dt, 25, H, 1e-3, 1e-3);
    pool_free();
    for (int dim = 11; dim <= 12; dim++) { /* odd: padded column */
        gc t = {.fwd = f_embed, .M = 1, .B = 4, .C = dim};
        t.a[0] = rnd(4, 22, 10, 20), t.ny = (size_t)4 * dim, t.y = buf(t.ny);
        t.wy = rnd(t.ny, 23, 1, 0);
        float *dtt = gbuf(4);
        vd_cpu_timestep_embedding_bwd(dtt, t.wy, t.a[0], 4, dim, 10000.0f);
        /* t ~ 20: float t * f carries ~1e-6 phase noise, so h = 1e-2 */
        check(dim & 1 ? "timestep_embedding dt (odd dim)" : "timestep_embedding dt", &t,
              t.a[0], dtt, 4, 1e-2, 5e-3, 1e-2);
        pool_free();
    }
}

static void f_loss(gc *g) {
    g->y[0] = g->M ? vd_cpu_l1_fwd(g->a[0], g->a[1], (size_t)g->N)
                   : vd_cpu_mse_fwd(g->a[0], g->a[1], (size_t)g->N);
}

static void gc_loss_ops(void) {
    for (int l1 = 0; l1 <= 1; l1++) {
        int n = 23;
        gc g = {.fwd = f_loss, .M = l1, .N = n, .ny = 1};
        g.a[0] = rnd(n, 24, 1, 0), g.a[1] = buf(n);
        for (int i = 0; i < n; i++) /* |x - t| >= 0.1: away from l1's kink */
            g.a[1][i] = g.a[0][i] + (i % 2 ? 0.1f : -0.1f) * (1 + i % 5);
        g.y = buf(1), g.wy = buf(1);
        g.wy[0] = 0.7f; /* the backward's scale */
        float *dx = gbuf(n);
        if (l1) vd_cpu_l1_bwd(dx, g.a[0], g.a[1], n, 0.7f);
        else vd_cpu_mse_bwd(dx, g.a[0], g.a[1], n, 0.7f);
        check(l1 ? "l1 dx (scale 0.7)" : "mse dx (scale 0.7)", &g, g.a[0], dx, n, 1e-2, 1e-4, 1e-2);
        pool_free();
    }
}

/* --------------------------------------------------------------- goldens */

static vt_golden *G;
static float *gt(const char *name, size_t want) {
    size_t n = 0;
    float *p = vt_golden_get(G, name, &n, NULL, NULL);
    if (!p) p = calloc(want ? want : 1, sizeof *p); /* the failure is counted */
    else if (n != want) {
        CHECK(n == want, "golden tensor %s has %zu elements, test expects %zu", name, n, want);
        free(p);
        p = calloc(want ? want : 1, sizeof *p);
    }
    pool[npool++] = p;
    return p;
}

#define GOLD_EW 1e-5, 1e-5   /* elementwise, single products */
#define GOLD_RED 1e-4, 1e-4  /* reductions over rows or columns */

static void golden_linear(void) {
    G = vt_golden_open("dense_linear");
    int M = 7, K = 13, N = 11;
    float *x = gt("x", 91), *w = gt("w", 143), *b = gt("b", 11), *dy = gt("dy", 77);
    float *y = buf(77), *dx = buf(91), *dw = buf(143), *db = buf(11);
    vd_cpu_linear_fwd(y, x, w, b, M, K, N);
    vt_close("golden linear y", y, gt("y", 77), 77, GOLD_EW);
    vd_cpu_linear_bwd(dx, dw, db, dy, x, w, M, K, N);
    vt_close("golden linear dx", dx, gt("dx", 91), 91, GOLD_EW);
    vt_close("golden linear dw", dw, gt("dw", 143), 143, GOLD_EW);
    vt_close("golden linear db", db, gt("db", 11), 11, GOLD_EW);
    vt_golden_close(G);
    pool_free();
}

static void golden_norms(void) {
    int M = 7, C = 13;
    size_t n = (size_t)M * C;
    G = vt_golden_open("dense_layernorm");
    float eps = (float)vt_golden_attr(G, "eps", 1e-6);
    float *x = gt("x", n), *w = gt("w", C), *b = gt("b", C), *dy = gt("dy", n);
    float *y = buf(n), *mean = buf(M), *rstd = buf(M), *dx = buf(n), *dw = buf(C), *db = buf(C);
    vd_cpu_layernorm_fwd(y, mean, rstd, x, w, b, M, C, eps);
    vt_close("golden layernorm y (mean 30)", y, gt("y", n), n, GOLD_RED);
    vd_cpu_layernorm_bwd(dx, dw, db, dy, x, w, mean, rstd, M, C);
    vt_close("golden layernorm dx", dx, gt("dx", n), n, GOLD_RED);
    vt_close("golden layernorm dw", dw, gt("dw", C), C, GOLD_RED);
    vt_close("golden layernorm db", db, gt("db", C), C, GOLD_RED);
    memset(dx, 0, n * sizeof *dx);
    vd_cpu_layernorm_fwd(y, mean, rstd, x, NULL, NULL, M, C, eps);
    vt_close("golden layernorm(noaffine) y", y, gt("y_noaffine", n), n, GOLD_RED);
    vd_cpu_layernorm_bwd(dx, NULL, NULL, dy, x, NULL, mean, rstd, M, C);
    vt_close("golden layernorm(noaffine) dx", dx, gt("dx_noaffine", n), n, GOLD_RED);
    vt_golden_close(G);
    pool_free();

    G = vt_golden_open("dense_rmsnorm");
    eps = (float)vt_golden_attr(G, "eps", 1e-6);
    x = gt("x", n), w = gt("w", C), dy = gt("dy", n);
    y = buf(n), rstd = buf(M), dx = buf(n), dw = buf(C);
    vd_cpu_rmsnorm_fwd(y, rstd, x, w, M, C, eps);
    vt_close("golden rmsnorm y", y, gt("y", n), n, GOLD_RED);
    vd_cpu_rmsnorm_bwd(dx, dw, dy, x, w, rstd, M, C);
    vt_close("golden rmsnorm dx", dx, gt("dx", n), n, GOLD_RED);
    vt_close("golden rmsnorm dw", dw, gt("dw", C), C, GOLD_RED);
    vt_golden_close(G);
    pool_free();
}

static void golden_modulate(void) {
    int B = 2, N = 5, C = 7, S = 4 * C;
    size_t n = (size_t)B * N * C, nm = (size_t)B * S;
    G = vt_golden_open("dense_modulate");
    float *x = gt("x", n), *mod = gt("mod", nm), *res = gt("res", n), *dout = gt("dout", n);
    float *y = buf(n), *out = buf(n), *dy = buf(n), *dx = buf(n), *dmod = buf(nm);
    vd_cpu_modulate_fwd(y, x, mod, mod + C, B, N, C, S);
    vt_close("golden modulate y", y, gt("y", n), n, GOLD_EW);
    vd_cpu_gate_residual_fwd(out, res, y, mod + 2 * C, B, N, C, S);
    vt_close("golden gate_residual out", out, gt("out", n), n, GOLD_EW);
    vd_cpu_gate_residual_bwd(dy, dmod + 2 * C, dout, y, mod + 2 * C, B, N, C, S);
    vd_cpu_modulate_bwd(dx, dmod, dmod + C, dy, x, mod + C, B, N, C, S);
    vt_close("golden modulate+gate dx", dx, gt("dx", n), n, GOLD_EW);
    vt_close("golden modulate+gate dmod", dmod, gt("dmod", nm), nm, GOLD_RED);
    memset(dx, 0, n * sizeof *dx);
    memset(dmod, 0, nm * sizeof *dmod);
    vd_cpu_modulate_bwd(dx, dmod, dmod + C, gt("dy_mod", n), x, mod + C, B, N, C, S);
    vt_close("golden modulate dx", dx, gt("dx_mod", n), n, GOLD_EW);
    vt_close("golden modulate dshift, dscale", dmod, gt("dmod_mod", nm), nm, GOLD_RED);
    vt_golden_close(G);
    pool_free();
}

static void golden_activation(void) {
    size_t n = 41, ns = 7 * 13;
    G = vt_golden_open("dense_activation");
    float *x = gt("x", n), *dy = gt("dy", n), *y = buf(n), *dx = buf(n);
    vd_cpu_gelu_fwd(y, x, n);
    vt_close("golden gelu(tanh) y", y, gt("gelu", n), n, GOLD_EW);
    vd_cpu_gelu_bwd(dx, dy, x, n);
    vt_close("golden gelu(tanh) dx", dx, gt("gelu_dx", n), n, GOLD_EW);
    memset(dx, 0, n * sizeof *dx);
    vd_cpu_silu_fwd(y, x, n);
    vt_close("golden silu y", y, gt("silu", n), n, GOLD_EW);
    vd_cpu_silu_bwd(dx, dy, x, n);
    vt_close("golden silu dx", dx, gt("silu_dx", n), n, GOLD_EW);
    float *ys = buf(ns), *dxs = buf(ns);
    vd_cpu_softmax_fwd(ys, gt("sm_x", ns), 7, 13);
    vt_close("golden softmax y", ys, gt("sm_y", ns), ns, GOLD_EW);
    vd_cpu_softmax_bwd(dxs, gt("sm_dy", ns), ys, 7, 13);
    vt_close("golden softmax dx", dxs, gt("sm_dx", ns), ns, GOLD_RED);
    vt_golden_close(G);
    pool_free();
}

static void golden_embedding(void) {
    int V = 9, C = 6, N = 11;
    G = vt_golden_open("dense_embedding");
    int32_t *ids = vt_golden_get_i32(G, "ids", NULL);
    float *table = gt("table", (size_t)V * C), *dy = gt("dy", (size_t)N * C);
    float *y = buf((size_t)N * C), *dt = buf((size_t)V * C);
    if (ids) {
        vd_cpu_embedding_fwd(y, ids, table, N, C);
        vt_close("golden embedding y", y, gt("y", (size_t)N * C), (size_t)N * C, 0, 0);
        vd_cpu_embedding_bwd(dt, dy, ids, N, C);
        vt_close("golden embedding dtable", dt, gt("dtable", (size_t)V * C), (size_t)V * C, 1e-6, 1e-6);
    }
    free(ids);
    vt_golden_close(G);
    pool_free();

    G = vt_golden_open("dense_timestep");
    float P = (float)vt_golden_attr(G, "max_period", 10000);
    float *t = gt("t", 5);
    static const char *names[2][3] = {{"y13", "dy13", "dt13"}, {"y16", "dy16", "dt16"}};
    for (int k = 0; k < 2; k++) {
        int dim = k ? 16 : 13;
        float *ye = buf((size_t)5 * dim), *dte = buf(5);
        vd_cpu_timestep_embedding_fwd(ye, t, 5, dim, P);
        vt_close(k ? "golden timestep_embedding y (dim 16)" : "golden timestep_embedding y (dim 13)",
                 ye, gt(names[k][0], (size_t)5 * dim), (size_t)5 * dim, 1e-4, 1e-4);
        vd_cpu_timestep_embedding_bwd(dte, gt(names[k][1], (size_t)5 * dim), t, 5, dim, P);
        /* d/dt carries t's phase error times the frequency sum: 1e-3 rel */
        vt_close(k ? "golden timestep_embedding dt (dim 16)" : "golden timestep_embedding dt (dim 13)",
                 dte, gt(names[k][2], 5), 5, 1e-3, 1e-3);
    }
    vt_golden_close(G);
    pool_free();
}

static void golden_loss(void) {
    size_t n = 37;
    G = vt_golden_open("dense_loss");
    float *x = gt("x", n), *t = gt("target", n), *dx = buf(n);
    float v = vd_cpu_mse_fwd(x, t, n);
    vt_close("golden mse", &v, gt("mse", 1), 1, 1e-6, 1e-5);
    v = vd_cpu_l1_fwd(x, t, n);
    vt_close("golden l1", &v, gt("l1", 1), 1, 1e-6, 1e-5);
    vd_cpu_mse_bwd(dx, x, t, n, 1.0f);
    vt_close("golden mse dx", dx, gt("mse_dx", n), n, 1e-6, 1e-5);
    memset(dx, 0, n * sizeof *dx);
    vd_cpu_l1_bwd(dx, x, t, n, 1.0f);
    vt_close("golden l1 dx (with a zero difference)", dx, gt("l1_dx", n), n, 1e-6, 1e-5);
    float *a = gt("a", n), *b = gt("b", n), *y = buf(n);
    vd_cpu_add(y, a, b, n);
    vt_close("golden add", y, gt("add", n), n, 1e-6, 1e-6);
    memcpy(y, a, n * sizeof *y);
    vd_cpu_axpy(y, 0.37f, b, n);
    vt_close("golden axpy", y, gt("axpy", n), n, 1e-6, 1e-6);
    memcpy(y, a, n * sizeof *y);
    vd_cpu_scale(y, -1.3f, n);
    vt_close("golden scale", y, gt("scale", n), n, 1e-6, 1e-6);
    memcpy(y, a, n * sizeof *y);
    vd_cpu_ema_update(y, b, n, 0.9f);
    vt_close("golden ema_update", y, gt("ema", n), n, 1e-6, 1e-6);
    vt_golden_close(G);
    pool_free();
}

/* The AdamW kernel alone, no mask: the golden's first group is decayed, so
 * its 15 elements follow the kernel with wd; the rest with wd = 0. */
static void golden_adamw_kernel(void) {
    G = vt_golden_open("dense_adamw");
    int na = 15, nb = 8, steps = 6;
    size_t n = (size_t)(na + nb);
    float *p = gt("p0", n), *g = gt("grads", n * steps), *want = gt("params", n * steps);
    float *lrs = gt("lrs", steps), *m = buf(n), *v = buf(n);
    float b1 = (float)vt_golden_attr(G, "beta1", 0), b2 = (float)vt_golden_attr(G, "beta2", 0);
    float eps = (float)vt_golden_attr(G, "eps", 0), wd = (float)vt_golden_attr(G, "weight_decay", 0);
    for (int s = 0; s < steps; s++) {
        vd_cpu_adamw_step(p, g + s * n, m, v, na, lrs[s], b1, b2, eps, wd, s + 1);
        vd_cpu_adamw_step(p + na, g + s * n + na, m + na, v + na, nb, lrs[s], b1, b2, eps, 0, s + 1);
    }
    vt_close("golden adamw kernel, params after 6 steps", p, want + (steps - 1) * n, n, 1e-6, 1e-5);
    vt_close("golden adamw kernel m", m, gt("m", n), n, 1e-7, 1e-5);
    vt_close("golden adamw kernel v", v, gt("v", n), n, 1e-8, 1e-5);
    vt_golden_close(G);
    pool_free();
}

/* ----------------------------------------------------------- determinism */

static void same_bits(const char *what, const float *a, const float *b, size_t n) {
    CHECK(memcmp(a, b, n * sizeof *a) == 0, "%s differs between 1 and 2 threads", what);
}

static void determinism(void) {
    int q = vt_quick();
    int M = q ? 200 : 1000, C = 384, B = 4, N = M / 4, K = 384;
    size_t n = (size_t)M * C;
    float *x = rnd(n, 30, 1, 0.2f), *dy = rnd(n, 31, 1, 0), *w = rnd(C, 32, 0.5f, 1);
    float *mod = rnd((size_t)B * 3 * C, 33, 0.5f, 0), *lw = rnd((size_t)K * C, 34, 0.1f, 0);
    float *mean = buf(M), *rstd = buf(M), *y = buf(n);
    vd_cpu_layernorm_fwd(y, mean, rstd, x, w, NULL, M, C, 1e-6f);
    float *out[2][10];
    float loss[2][2];
    int32_t *ids = malloc((size_t)M * sizeof *ids);
    if (!ids) abort();
    for (int i = 0; i < M; i++) ids[i] = (i * 7) % 50;
    size_t nl = q ? 300000 : 1200000; /* > 256 blocks: several rounds */
    float *big = rnd(nl, 35, 1, 0), *bigt = rnd(nl, 36, 1, 0);
    for (int r = 0; r < 2; r++) {
        vd_set_threads(r + 1);
        float **o = out[r];
        o[0] = buf(n), o[1] = buf(C), o[2] = buf(C), o[3] = buf(n), o[4] = buf(C);
        o[5] = buf((size_t)B * 3 * C), o[6] = buf((size_t)50 * C), o[7] = buf((size_t)K * C);
        o[8] = buf((size_t)M * K), o[9] = buf(n);
        vd_cpu_layernorm_bwd(o[0], o[1], o[2], dy, x, w, mean, rstd, M, C);
        vd_cpu_rmsnorm_bwd(o[3], o[4], dy, x, w, rstd, M, C);
        vd_cpu_modulate_bwd(NULL, o[5], o[5] + C, dy, x, mod + C, B, N, C, 3 * C);
        vd_cpu_gate_residual_bwd(NULL, o[5] + 2 * C, dy, x, mod + 2 * C, B, N, C, 3 * C);
        vd_cpu_embedding_bwd(o[6], dy, ids, M, C);
        vd_cpu_linear_bwd(NULL, o[7], o[4], dy, x, lw, M, C, K);
        vd_cpu_linear_fwd(o[8], x, lw, w, M, C, K);
        vd_cpu_linear_bwd(o[9], NULL, NULL, o[8], x, lw, M, C, K);
        loss[r][0] = vd_cpu_mse_fwd(big, bigt, nl);
        loss[r][1] = vd_cpu_l1_fwd(big, bigt, nl);
    }
    vd_set_threads(0);
    same_bits("layernorm dx", out[0][0], out[1][0], n);
    same_bits("layernorm dw", out[0][1], out[1][1], C);
    same_bits("layernorm db", out[0][2], out[1][2], C);
    same_bits("rmsnorm dx", out[0][3], out[1][3], n);
    same_bits("rmsnorm dw + linear db", out[0][4], out[1][4], C);
    same_bits("modulate/gate dmod", out[0][5], out[1][5], (size_t)B * 3 * C);
    same_bits("embedding dtable", out[0][6], out[1][6], (size_t)50 * C);
    same_bits("linear dw", out[0][7], out[1][7], (size_t)K * C);
    same_bits("linear y", out[0][8], out[1][8], (size_t)M * K);
    same_bits("linear dx", out[0][9], out[1][9], n);
    same_bits("mse, l1", loss[0], loss[1], 2);
    /* the long reduction against a plain double sum */
    double ref = 0;
    for (size_t i = 0; i < nl; i++) ref += ((double)big[i] - bigt[i]) * ((double)big[i] - bigt[i]);
    CHECK(fabs(loss[0][0] - ref / nl) <= 1e-6 * (ref / nl), "mse %g vs double %g", loss[0][0], ref / nl);
    free(ids);
    pool_free();
}

/* GELU runs 16 floats at a time where the CPU has AVX-512, one at a time
 * in the tail: both must give the same bits for every input. */
static void gelu_vector_bits(void) {
    enum { n = 16 * 40 + 5 };
    float x[n], y[n], one[n], dy[n], dx[n], dx1[n];
    for (int i = 0; i < n; i++) {
        x[i] = -12.0f + 24.0f * (float)i / n + 1e-3f * (float)(i % 7);
        dy[i] = 0.5f - (float)(i % 11) / 10.0f;
        dx[i] = dx1[i] = (float)(i % 5) * 0.25f;
    }
    x[3] = NAN, x[20] = INFINITY, x[21] = -INFINITY, x[22] = -0.0f;
    vd_cpu_gelu_fwd(y, x, n);
    vd_cpu_gelu_bwd(dx, dy, x, n);
    for (int i = 0; i < n; i++) {
        vd_cpu_gelu_fwd(one + i, x + i, 1);
        vd_cpu_gelu_bwd(dx1 + i, dy + i, x + i, 1);
    }
    CHECK(memcmp(y, one, sizeof y) == 0, "gelu forward: vector and scalar bits differ");
    CHECK(memcmp(dx, dx1, sizeof dx) == 0, "gelu backward: vector and scalar bits differ");
    printf("ok   gelu: vector and scalar paths give the same bits (%d values)\n", n);
}

/* zero and copy split the buffer over the threads: every element, none
 * past the end. */
static void zero_copy(void) {
    const size_t n = 3 * 65536 + 7;
    float *x = malloc((n + 1) * sizeof *x), *y = malloc((n + 1) * sizeof *y);
    CHECK(x && y, "out of memory");
    if (!x || !y) {
        free(x), free(y);
        return;
    }
    for (size_t i = 0; i <= n; i++) x[i] = (float)i, y[i] = -1.0f;
    vd_cpu_copy(y, x, n);
    int ok = y[n] == -1.0f;
    for (size_t i = 0; i < n; i++) ok &= y[i] == (float)i;
    vd_cpu_zero(y, n);
    ok &= y[n] == -1.0f;
    for (size_t i = 0; i < n; i++) ok &= y[i] == 0.0f;
    CHECK(ok, "zero / copy of %zu floats", n);
    free(x), free(y);
    printf("ok   zero and copy: %zu floats, nothing past the end\n", n);
}

int main(void) {
    gelu_vector_bits();
    zero_copy();
    gc_linear(1);
    gc_linear(0);
    linear_tiles();
    gc_layernorm(1);
    gc_layernorm(0);
    gc_rmsnorm(1);
    gc_rmsnorm(0);
    gc_modgate();
    for (int k = 0; k < 3; k++) gc_act(k);
    gc_embed();
    gc_loss_ops();
    golden_linear();
    golden_norms();
    golden_modulate();
    golden_activation();
    golden_embedding();
    golden_loss();
    golden_adamw_kernel();
    determinism();
    return vt_result("test_ops_dense");
}
