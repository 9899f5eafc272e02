/* The video operators of the CPU backend: conv3d, groupnorm, up-sampling and
 * patchify. Goldens from PyTorch (tests/golden/gen_video.py), finite-
 * difference gradient checks of every backward, causality of the causal
 * convolution (zero or replicated padding, the latter also against the plain
 * conv of an explicitly padded input), chunked vol2col against a direct
 * reference, and bit-identical results for 1 and 2 threads. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ops/cpu/cpu.h"
#include "test.h"
#include "vidit.h"

static float *fl(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(2);
    }
    return p;
}

static float *rnd(size_t n, uint64_t seed) {
    float *p = fl(n);
    vt_fill_uniform(p, n, seed);
    return p;
}

static vd_arena *ws;

/* ------------------------------------------------------------ out size */

static void test_out_size(void) {
    vd_conv3d_shape s = {1, 1, 1, 5, 7, 8, 3, 3, 3, 1, 2, 2, 1, 1, 1, 0};
    int t, h, w;
    vd_conv3d_out_size(&s, &t, &h, &w);
    CHECK(t == 5 && h == 4 && w == 4, "3x3x3 s(1,2,2) p1 on 5x7x8: %d %d %d", t, h, w);
    s.causal = 1;
    s.st = 2;
    vd_conv3d_out_size(&s, &t, &h, &w);
    CHECK(t == 3, "causal kt3 st2 on 5 frames: %d", t);
    /* A kernel larger than the padded input yields 0, never a negative or
     * (as truncating division would give) a spurious 1. */
    vd_conv3d_shape big = {1, 1, 1, 2, 2, 2, 5, 5, 4, 2, 2, 2, 0, 1, 1, 0};
    vd_conv3d_out_size(&big, &t, &h, &w);
    CHECK(t == 0 && h == 0 && w == 1, "oversized kernel: %d %d %d", t, h, w);
    /* Causal time always gives ceil(T / st) frames, whatever kt is. */
    big.causal = 1;
    vd_conv3d_out_size(&big, &t, NULL, NULL);
    CHECK(t == 1, "causal oversized kernel: %d", t);
}

/* ------------------------------------------------------------ goldens */

static int attr(vt_golden *g, const char *k) { return (int)vt_golden_attr(g, k, -1); }

static void add_const(float *a, size_t n, float c) {
    for (size_t i = 0; i < n; i++) a[i] += c;
}

static void golden_conv(const char *name) {
    vt_golden *g = vt_golden_open(name);
    if (!g) return;
    vd_conv3d_shape s = {attr(g, "B"),  attr(g, "cin"), attr(g, "cout"), attr(g, "T"),
                         attr(g, "H"),  attr(g, "W"),   attr(g, "kt"),   attr(g, "kh"),
                         attr(g, "kw"), attr(g, "st"),  attr(g, "sh"),   attr(g, "sw"),
                         attr(g, "pt"), attr(g, "ph"),  attr(g, "pw"),   attr(g, "causal")};
    int has_b = attr(g, "bias");
    size_t nx, nw, ny, n;
    float *x = vt_golden_get(g, "x", &nx, NULL, NULL);
    float *w = vt_golden_get(g, "w", &nw, NULL, NULL);
    float *dy = vt_golden_get(g, "dy", &ny, NULL, NULL);
    float *y_ref = vt_golden_get(g, "y", &n, NULL, NULL);
    float *dx_ref = vt_golden_get(g, "dx", NULL, NULL, NULL);
    float *dw_ref = vt_golden_get(g, "dw", NULL, NULL, NULL);
    float *b = has_b ? vt_golden_get(g, "b", NULL, NULL, NULL) : NULL;
    float *db_ref = has_b ? vt_golden_get(g, "db", NULL, NULL, NULL) : NULL;
    if (!x || !w || !dy || !y_ref || !dx_ref || !dw_ref || (has_b && (!b || !db_ref))) goto done;
    int To, Ho, Wo;
    vd_conv3d_out_size(&s, &To, &Ho, &Wo);
    CHECK((size_t)s.batch * s.c_out * To * Ho * Wo == ny, "%s: output size %zu", name, ny);
    if ((size_t)s.batch * s.c_out * To * Ho * Wo != ny) goto done;

    char what[128];
    float *y = fl(ny);
    CHECK(vd_cpu_conv3d_fwd(y, x, w, b, &s, ws) == VD_OK, "%s fwd", name);
    snprintf(what, sizeof what, "%s y", name);
    vt_close(what, y, y_ref, ny, 1e-5, 1e-4);

    /* Backward accumulates: gradients start at 0.25 and must end at 0.25 +
     * the golden. */
    float *dx = fl(nx), *dw = fl(nw), *db = fl((size_t)s.c_out);
    add_const(dx, nx, 0.25f);
    add_const(dw, nw, 0.25f);
    add_const(db, (size_t)s.c_out, 0.25f);
    add_const(dx_ref, nx, 0.25f);
    add_const(dw_ref, nw, 0.25f);
    CHECK(vd_cpu_conv3d_bwd(dx, dw, has_b ? db : NULL, dy, x, w, &s, ws) == VD_OK, "%s bwd", name);
    snprintf(what, sizeof what, "%s dx (+=)", name);
    vt_close(what, dx, dx_ref, nx, 1e-5, 1e-4);
    snprintf(what, sizeof what, "%s dw (+=)", name);
    vt_close(what, dw, dw_ref, nw, 1e-5, 1e-4);
    if (has_b) {
        add_const(db_ref, (size_t)s.c_out, 0.25f);
        snprintf(what, sizeof what, "%s db (+=)", name);
        vt_close(what, db, db_ref, (size_t)s.c_out, 1e-5, 1e-4);
    }
    /* NULL gradients are skipped, and the others do not change. */
    float *dw2 = fl(nw);
    add_const(dw2, nw, 0.25f);
    CHECK(vd_cpu_conv3d_bwd(NULL, dw2, NULL, dy, x, w, &s, ws) == VD_OK, "%s bwd dw only", name);
    CHECK(memcmp(dw2, dw, nw * sizeof(float)) == 0, "%s: dw alone differs from dw with dx", name);
    CHECK(vd_arena_used(ws) == 0, "%s: arena not reset (%zu bytes)", name, vd_arena_used(ws));
    free(y);
    free(dx);
    free(dw);
    free(db);
    free(dw2);
done:
    free(x);
    free(w);
    free(b);
    free(dy);
    free(y_ref);
    free(dx_ref);
    free(dw_ref);
    free(db_ref);
    vt_golden_close(g);
}

static void golden_groupnorm(const char *name) {
    vt_golden *g = vt_golden_open(name);
    if (!g) return;
    int B = attr(g, "B"), C = attr(g, "C"), S = attr(g, "S"), G = attr(g, "G");
    int affine = attr(g, "affine");
    float eps = (float)vt_golden_attr(g, "eps", 1e-5);
    size_t n = (size_t)B * C * S, nbg = (size_t)B * G;
    float *x = vt_golden_get(g, "x", NULL, NULL, NULL);
    float *dy = vt_golden_get(g, "dy", NULL, NULL, NULL);
    float *y_ref = vt_golden_get(g, "y", NULL, NULL, NULL);
    float *m_ref = vt_golden_get(g, "mean", NULL, NULL, NULL);
    float *r_ref = vt_golden_get(g, "rstd", NULL, NULL, NULL);
    float *dx_ref = vt_golden_get(g, "dx", NULL, NULL, NULL);
    float *w = affine ? vt_golden_get(g, "w", NULL, NULL, NULL) : NULL;
    float *b = affine ? vt_golden_get(g, "b", NULL, NULL, NULL) : NULL;
    float *dw_ref = affine ? vt_golden_get(g, "dw", NULL, NULL, NULL) : NULL;
    float *db_ref = affine ? vt_golden_get(g, "db", NULL, NULL, NULL) : NULL;
    if (x && dy && y_ref && m_ref && r_ref && dx_ref && (!affine || (w && b && dw_ref && db_ref))) {
        char what[128];
        float *y = fl(n), *mean = fl(nbg), *rstd = fl(nbg);
        vd_cpu_groupnorm_fwd(y, mean, rstd, x, w, b, B, C, S, G, eps);
        snprintf(what, sizeof what, "%s y", name);
        vt_close(what, y, y_ref, n, 1e-5, 1e-4);
        snprintf(what, sizeof what, "%s mean", name);
        vt_close(what, mean, m_ref, nbg, 1e-6, 1e-5);
        snprintf(what, sizeof what, "%s rstd", name);
        vt_close(what, rstd, r_ref, nbg, 1e-6, 1e-5);
        float *dx = fl(n), *dw = fl((size_t)C), *db = fl((size_t)C);
        add_const(dx, n, 0.25f);
        add_const(dx_ref, n, 0.25f);
        vd_cpu_groupnorm_bwd(dx, affine ? dw : NULL, affine ? db : NULL, dy, x, w, mean, rstd,
                             B, C, S, G);
        snprintf(what, sizeof what, "%s dx (+=)", name);
        vt_close(what, dx, dx_ref, n, 1e-5, 1e-4);
        if (affine) {
            snprintf(what, sizeof what, "%s dw", name);
            vt_close(what, dw, dw_ref, (size_t)C, 1e-5, 1e-4);
            snprintf(what, sizeof what, "%s db", name);
            vt_close(what, db, db_ref, (size_t)C, 1e-5, 1e-4);
        }
        free(y);
        free(mean);
        free(rstd);
        free(dx);
        free(dw);
        free(db);
    }
    free(x);
    free(dy);
    free(y_ref);
    free(m_ref);
    free(r_ref);
    free(dx_ref);
    free(w);
    free(b);
    free(dw_ref);
    free(db_ref);
    vt_golden_close(g);
}

static void golden_upsample(const char *name) {
    vt_golden *g = vt_golden_open(name);
    if (!g) return;
    int BC = attr(g, "BC"), T = attr(g, "T"), H = attr(g, "H"), W = attr(g, "W");
    int ft = attr(g, "ft"), fh = attr(g, "fh"), fw = attr(g, "fw");
    size_t nx = (size_t)BC * T * H * W, ny = nx * ft * fh * fw;
    float *x = vt_golden_get(g, "x", NULL, NULL, NULL);
    const char *modes[2] = {"near", "tri"};
    for (int m = 0; m < 2 && x; m++) {
        char key[32], what[128];
        snprintf(key, sizeof key, "y_%s", modes[m]);
        float *y_ref = vt_golden_get(g, key, NULL, NULL, NULL);
        snprintf(key, sizeof key, "dy_%s", modes[m]);
        float *dy = vt_golden_get(g, key, NULL, NULL, NULL);
        snprintf(key, sizeof key, "dx_%s", modes[m]);
        float *dx_ref = vt_golden_get(g, key, NULL, NULL, NULL);
        if (y_ref && dy && dx_ref) {
            float *y = fl(ny), *dx = fl(nx);
            add_const(dx, nx, 0.25f);
            add_const(dx_ref, nx, 0.25f);
            if (m == 0) {
                vd_cpu_upsample_nearest_fwd(y, x, BC, T, H, W, ft, fh, fw);
                vd_cpu_upsample_nearest_bwd(dx, dy, BC, T, H, W, ft, fh, fw);
            } else {
                vd_cpu_upsample_trilinear_fwd(y, x, BC, T, H, W, ft, fh, fw);
                vd_cpu_upsample_trilinear_bwd(dx, dy, BC, T, H, W, ft, fh, fw);
            }
            snprintf(what, sizeof what, "%s %s y", name, modes[m]);
            vt_close(what, y, y_ref, ny, 1e-5, 1e-5);
            snprintf(what, sizeof what, "%s %s dx (+=)", name, modes[m]);
            vt_close(what, dx, dx_ref, nx, 1e-5, 1e-5);
            free(y);
            free(dx);
        }
        free(y_ref);
        free(dy);
        free(dx_ref);
    }
    free(x);
    vt_golden_close(g);
}

/* Tokens must match PyTorch's reshape/permute exactly; patchify followed by
 * a linear layer must equal the strided Conv3d PyTorch computed, and so must
 * vidit's own conv3d with stride = kernel = patch. */
static void golden_patchify(void) {
    vt_golden *g = vt_golden_open("video_patchify");
    if (!g) return;
    int B = attr(g, "B"), C = attr(g, "C"), T = attr(g, "T"), H = attr(g, "H");
    int W = attr(g, "W"), pt = attr(g, "pt"), ph = attr(g, "ph"), pw = attr(g, "pw");
    int D = attr(g, "D");
    int N = (T / pt) * (H / ph) * (W / pw), F = C * pt * ph * pw;
    size_t nx = (size_t)B * C * T * H * W;
    float *x = vt_golden_get(g, "x", NULL, NULL, NULL);
    float *tok_ref = vt_golden_get(g, "tokens", NULL, NULL, NULL);
    float *wl = vt_golden_get(g, "wl", NULL, NULL, NULL);
    float *bl = vt_golden_get(g, "bl", NULL, NULL, NULL);
    float *lin_ref = vt_golden_get(g, "lin", NULL, NULL, NULL);
    if (x && tok_ref && wl && bl && lin_ref) {
        float *tok = fl(nx), *lin = fl((size_t)B * N * D), *conv = fl((size_t)B * N * D);
        vd_cpu_patchify(tok, x, B, C, T, H, W, pt, ph, pw, 0);
        CHECK(memcmp(tok, tok_ref, nx * sizeof(float)) == 0, "patchify order differs from torch");
        for (int r = 0; r < B * N; r++)
            for (int d = 0; d < D; d++) {
                double s = bl[d];
                for (int f = 0; f < F; f++) s += (double)tok[(size_t)r * F + f] * wl[(size_t)d * F + f];
                lin[(size_t)r * D + d] = (float)s;
            }
        vt_close("patchify + linear == torch conv3d(stride=patch)", lin, lin_ref,
                 (size_t)B * N * D, 1e-5, 1e-5);
        vd_conv3d_shape s = {B, C, D, T, H, W, pt, ph, pw, pt, ph, pw, 0, 0, 0, 0};
        float *y = fl((size_t)B * N * D);
        CHECK(vd_cpu_conv3d_fwd(y, x, wl, bl, &s, ws) == VD_OK, "patch conv3d");
        for (int b = 0; b < B; b++)
            for (int n = 0; n < N; n++)
                for (int d = 0; d < D; d++)
                    conv[((size_t)b * N + n) * D + d] = y[((size_t)b * D + d) * N + n];
        vt_close("vidit conv3d(stride=patch) == patchify + linear", conv, lin_ref,
                 (size_t)B * N * D, 1e-5, 1e-5);
        free(y);
        free(tok);
        free(lin);
        free(conv);
    }
    free(x);
    free(tok_ref);
    free(wl);
    free(bl);
    free(lin_ref);
    vt_golden_close(g);
}

/* ------------------------------------------------------ patchify algebra */

static void test_patchify_adjoint(void) {
    int B = 2, C = 3, T = 4, H = 6, W = 4, pt = 2, ph = 3, pw = 2;
    size_t n = (size_t)B * C * T * H * W;
    float *x = rnd(n, 11), *yt = rnd(n, 12), *px = fl(n), *uy = fl(n), *back = fl(n);
    vd_cpu_patchify(px, x, B, C, T, H, W, pt, ph, pw, 0);
    vd_cpu_unpatchify(uy, yt, B, C, T, H, W, pt, ph, pw, 0);
    double a = vt_weighted_sum(px, yt, n), b = vt_weighted_sum(x, uy, n);
    CHECK(fabs(a - b) <= 1e-9 * (1 + fabs(a)), "<Px, y> = %.12g but <x, Uy> = %.12g", a, b);
    vd_cpu_unpatchify(back, px, B, C, T, H, W, pt, ph, pw, 0);
    CHECK(memcmp(back, x, n * sizeof(float)) == 0, "unpatchify(patchify(x)) != x");
    /* accumulate = 1 adds: twice into back gives x + x + x. */
    vd_cpu_unpatchify(back, px, B, C, T, H, W, pt, ph, pw, 1);
    vd_cpu_patchify(uy, back, B, C, T, H, W, pt, ph, pw, 0);
    vd_cpu_patchify(uy, x, B, C, T, H, W, pt, ph, pw, 1);
    int ok = 1;
    for (size_t i = 0; i < n; i++) ok &= back[i] == x[i] + x[i];
    for (size_t i = 0; i < n; i++) ok &= uy[i] == px[i] + px[i] + px[i];
    CHECK(ok, "accumulate = 1 does not add");
    free(x);
    free(yt);
    free(px);
    free(uy);
    free(back);
}

/* --------------------------------------------------------- gradchecks */

typedef struct conv_ctx {
    vd_conv3d_shape s;
    float *x, *w, *b, *y, *r;
    size_t ny;
} conv_ctx;

static double conv_loss(void *p) {
    conv_ctx *c = p;
    if (vd_cpu_conv3d_fwd(c->y, c->x, c->w, c->b, &c->s, ws) != VD_OK) return NAN;
    return vt_weighted_sum(c->y, c->r, c->ny);
}

static void gradcheck_conv(const char *name, vd_conv3d_shape s, uint64_t seed) {
    int To, Ho, Wo;
    vd_conv3d_out_size(&s, &To, &Ho, &Wo);
    size_t nx = (size_t)s.batch * s.c_in * s.t_in * s.h_in * s.w_in;
    size_t nw = (size_t)s.c_out * s.c_in * s.kt * s.kh * s.kw;
    size_t ny = (size_t)s.batch * s.c_out * To * Ho * Wo;
    conv_ctx c = {s, rnd(nx, seed), rnd(nw, seed + 1), rnd((size_t)s.c_out, seed + 2), fl(ny),
                  rnd(ny, seed + 3), ny};
    float *dx = fl(nx), *dw = fl(nw), *db = fl((size_t)s.c_out);
    CHECK(vd_cpu_conv3d_bwd(dx, dw, db, c.r, c.x, c.w, &s, ws) == VD_OK, "%s bwd", name);
    char what[128];
    /* The loss is linear in each parameter, so central differences are
     * exact up to float rounding of y: h = 1e-2, atol 1e-3, rtol 1e-3. */
    snprintf(what, sizeof what, "%s dx", name);
    vt_gradcheck(what, conv_loss, &c, c.x, dx, nx, 1e-2, 1e-3, 1e-3, 64);
    snprintf(what, sizeof what, "%s dw", name);
    vt_gradcheck(what, conv_loss, &c, c.w, dw, nw, 1e-2, 1e-3, 1e-3, 64);
    snprintf(what, sizeof what, "%s db", name);
    vt_gradcheck(what, conv_loss, &c, c.b, db, (size_t)s.c_out, 1e-2, 1e-3, 1e-3, 64);
    free(c.x);
    free(c.w);
    free(c.b);
    free(c.y);
    free(c.r);
    free(dx);
    free(dw);
    free(db);
}

static void gradchecks_conv(void) {
    /* batch, cin, cout, T, H, W, kt, kh, kw, st, sh, sw, pt, ph, pw, causal */
    vd_conv3d_shape a = {2, 2, 3, 5, 5, 6, 3, 3, 3, 2, 2, 2, 1, 1, 1, 0};
    gradcheck_conv("conv 3x3x3 s2 p1", a, 100);
    vd_conv3d_shape b = {1, 2, 2, 5, 4, 5, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    gradcheck_conv("conv causal 3x3x3 p1", b, 200);
    vd_conv3d_shape c = {2, 3, 2, 3, 7, 5, 1, 3, 3, 1, 2, 2, 0, 1, 1, 0};
    gradcheck_conv("conv 1x3x3 s(1,2,2)", c, 300);
    vd_conv3d_shape d = {1, 3, 2, 7, 3, 3, 3, 1, 1, 2, 1, 1, 0, 0, 0, 1};
    gradcheck_conv("conv causal 3x1x1 st2", d, 400);
    vd_conv3d_shape e = {1, 2, 3, 5, 5, 7, 2, 3, 2, 2, 1, 3, 1, 0, 2, 0};
    gradcheck_conv("conv 2x3x2 mixed stride/pad", e, 500);
    vd_conv3d_shape f = {2, 4, 3, 2, 3, 3, 1, 1, 1, 1, 1, 1, 0, 0, 0, 0};
    gradcheck_conv("conv 1x1x1 direct", f, 600);
    vd_conv3d_shape g = {1, 2, 2, 3, 5, 5, 1, 1, 1, 1, 2, 2, 0, 1, 0, 0};
    gradcheck_conv("conv 1x1x1 strided+padded", g, 700);
    const int R = VD_CONV3D_CAUSAL_REPLICATE;
    vd_conv3d_shape h = {2, 2, 3, 5, 4, 5, 3, 3, 3, 1, 1, 1, 0, 1, 1, R};
    gradcheck_conv("conv causal replicate 3x3x3", h, 800);
    vd_conv3d_shape i = {1, 3, 2, 7, 4, 4, 3, 3, 3, 2, 2, 2, 0, 1, 1, R};
    gradcheck_conv("conv causal replicate 3x3x3 st2", i, 900);
}

typedef struct gn_ctx {
    float *x, *w, *b, *y, *mean, *rstd, *r;
    int B, C, S, G;
} gn_ctx;

static double gn_loss(void *p) {
    gn_ctx *c = p;
    vd_cpu_groupnorm_fwd(c->y, c->mean, c->rstd, c->x, c->w, c->b, c->B, c->C, c->S, c->G, 1e-5f);
    return vt_weighted_sum(c->y, c->r, (size_t)c->B * c->C * c->S);
}

static void gradcheck_groupnorm(int affine) {
    int B = 2, C = 4, S = 6, G = 2;
    size_t n = (size_t)B * C * S;
    gn_ctx c = {rnd(n, 21), affine ? rnd((size_t)C, 22) : NULL, affine ? rnd((size_t)C, 23) : NULL,
                fl(n), fl((size_t)B * G), fl((size_t)B * G), rnd(n, 24), B, C, S, G};
    float *dx = fl(n), *dw = fl((size_t)C), *db = fl((size_t)C);
    gn_loss(&c);
    vd_cpu_groupnorm_bwd(dx, affine ? dw : NULL, affine ? db : NULL, c.r, c.x, c.w, c.mean, c.rstd,
                         B, C, S, G);
    /* Non-linear in x: h = 1e-3 keeps the O(h^2) error small; tolerance
     * covers float rounding of y over a group (atol 2e-3, rtol 1e-2). */
    vt_gradcheck(affine ? "groupnorm affine dx" : "groupnorm dx", gn_loss, &c, c.x, dx, n, 1e-3,
                 2e-3, 1e-2, 48);
    if (affine) {
        vt_gradcheck("groupnorm dw", gn_loss, &c, c.w, dw, (size_t)C, 1e-2, 1e-3, 1e-3, 8);
        vt_gradcheck("groupnorm db", gn_loss, &c, c.b, db, (size_t)C, 1e-2, 1e-3, 1e-3, 8);
    }
    free(c.x);
    free(c.w);
    free(c.b);
    free(c.y);
    free(c.mean);
    free(c.rstd);
    free(c.r);
    free(dx);
    free(dw);
    free(db);
}

typedef struct up_ctx {
    float *x, *y, *r;
    int BC, T, H, W, ft, fh, fw, tri;
} up_ctx;

static double up_loss(void *p) {
    up_ctx *c = p;
    if (c->tri)
        vd_cpu_upsample_trilinear_fwd(c->y, c->x, c->BC, c->T, c->H, c->W, c->ft, c->fh, c->fw);
    else
        vd_cpu_upsample_nearest_fwd(c->y, c->x, c->BC, c->T, c->H, c->W, c->ft, c->fh, c->fw);
    return vt_weighted_sum(c->y, c->r, (size_t)c->BC * c->T * c->H * c->W * c->ft * c->fh * c->fw);
}

static void gradcheck_upsample(int tri, int ft, int fh, int fw) {
    up_ctx c = {NULL, NULL, NULL, 2, 3, 3, 4, ft, fh, fw, tri};
    size_t nx = (size_t)c.BC * c.T * c.H * c.W, ny = nx * ft * fh * fw;
    c.x = rnd(nx, 31);
    c.y = fl(ny);
    c.r = rnd(ny, 32);
    float *dx = fl(nx);
    if (tri)
        vd_cpu_upsample_trilinear_bwd(dx, c.r, c.BC, c.T, c.H, c.W, ft, fh, fw);
    else
        vd_cpu_upsample_nearest_bwd(dx, c.r, c.BC, c.T, c.H, c.W, ft, fh, fw);
    char what[96];
    snprintf(what, sizeof what, "upsample %s (%d,%d,%d) dx", tri ? "trilinear" : "nearest", ft, fh, fw);
    /* Linear: h = 1e-2, atol 1e-3, rtol 1e-3. */
    vt_gradcheck(what, up_loss, &c, c.x, dx, nx, 1e-2, 1e-3, 1e-3, 72);
    free(c.x);
    free(c.y);
    free(c.r);
    free(dx);
}

/* ---------------------------------------------- direct reference conv */

/* Straightforward loops in double: the reference for the chunked path. */
static void conv_ref(double *y, double *dx, double *dw, const float *x, const float *w,
                     const float *dy, const vd_conv3d_shape *s) {
    int To, Ho, Wo;
    vd_conv3d_out_size(s, &To, &Ho, &Wo);
    int tf = s->causal ? s->kt - 1 : s->pt;
    for (int n = 0; n < s->batch; n++)
        for (int co = 0; co < s->c_out; co++)
            for (int to = 0; to < To; to++)
                for (int ho = 0; ho < Ho; ho++)
                    for (int wo = 0; wo < Wo; wo++) {
                        size_t yi = ((((size_t)n * s->c_out + co) * To + to) * Ho + ho) * Wo + wo;
                        double acc = 0;
                        for (int ci = 0; ci < s->c_in; ci++)
                            for (int a = 0; a < s->kt; a++)
                                for (int b = 0; b < s->kh; b++)
                                    for (int c = 0; c < s->kw; c++) {
                                        int t = to * s->st - tf + a, h = ho * s->sh - s->ph + b;
                                        int ww = wo * s->sw - s->pw + c;
                                        if (t < 0 || t >= s->t_in || h < 0 || h >= s->h_in ||
                                            ww < 0 || ww >= s->w_in)
                                            continue;
                                        size_t xi = ((((size_t)n * s->c_in + ci) * s->t_in + t) *
                                                         s->h_in + h) * s->w_in + ww;
                                        size_t wi = ((((size_t)co * s->c_in + ci) * s->kt + a) *
                                                         s->kh + b) * s->kw + c;
                                        acc += (double)x[xi] * w[wi];
                                        dx[xi] += (double)dy[yi] * w[wi];
                                        dw[wi] += (double)dy[yi] * x[xi];
                                    }
                        y[yi] = acc;
                    }
}

static void close_d(const char *what, const float *got, const double *want, size_t n, double atol,
                    double rtol) {
    float *wf = fl(n);
    for (size_t i = 0; i < n; i++) wf[i] = (float)want[i];
    vt_close(what, got, wf, n, atol, rtol);
    free(wf);
}

/* Large enough that the column matrix (27 * 5*160*200 floats) exceeds the
 * 4M-float budget: two chunks of output rows, the split inside a frame. */
static void test_chunked(void) {
    vd_conv3d_shape s = {1, 1, 2, 5, 160, 200, 3, 3, 3, 1, 1, 1, 1, 1, 1, 1};
    if (vt_quick()) s.h_in = 16; /* sanitizers: one chunk, same code path otherwise */
    int To, Ho, Wo;
    vd_conv3d_out_size(&s, &To, &Ho, &Wo);
    size_t nx = (size_t)s.c_in * s.t_in * s.h_in * s.w_in, nw = (size_t)s.c_out * 27;
    size_t ny = (size_t)s.c_out * To * Ho * Wo;
    float *x = rnd(nx, 41), *w = rnd(nw, 42), *dy = rnd(ny, 43), *y = fl(ny), *dx = fl(nx),
          *dw = fl(nw);
    double *yr = calloc(ny, sizeof(double)), *dxr = calloc(nx, sizeof(double)),
           *dwr = calloc(nw, sizeof(double));
    if (!yr || !dxr || !dwr) exit(2);
    CHECK(vd_cpu_conv3d_fwd(y, x, w, NULL, &s, ws) == VD_OK, "chunked fwd");
    CHECK(vd_cpu_conv3d_bwd(dx, dw, NULL, dy, x, w, &s, ws) == VD_OK, "chunked bwd");
    conv_ref(yr, dxr, dwr, x, w, dy, &s);
    close_d("chunked causal conv y vs direct", y, yr, ny, 1e-5, 1e-4);
    close_d("chunked causal conv dx vs direct", dx, dxr, nx, 1e-5, 1e-4);
    /* dw sums 160k products: float accumulation inside sgemm. */
    close_d("chunked causal conv dw vs direct", dw, dwr, nw, 1e-2, 1e-4);
    free(x);
    free(w);
    free(dy);
    free(y);
    free(dx);
    free(dw);
    free(yr);
    free(dxr);
    free(dwr);
}

/* ------------------------------------------------------------ causality */

static void test_causality(int mode) {
    /* kt = 3, stride 2 in time: output frame to reads input frames
     * 2*to - 2 .. 2*to. */
    vd_conv3d_shape s = {2, 3, 4, 7, 5, 4, 3, 3, 3, 2, 1, 1, 1, 1, 1, mode};
    int To, Ho, Wo;
    vd_conv3d_out_size(&s, &To, &Ho, &Wo);
    size_t frame_in = (size_t)s.h_in * s.w_in, frame_out = (size_t)Ho * Wo;
    size_t nx = (size_t)s.batch * s.c_in * s.t_in * frame_in;
    size_t ny = (size_t)s.batch * s.c_out * To * frame_out;
    float *x = rnd(nx, 51), *w = rnd((size_t)s.c_out * s.c_in * 27, 52), *b = rnd(4, 53);
    float *y0 = fl(ny), *y1 = fl(ny);
    CHECK(vd_cpu_conv3d_fwd(y0, x, w, b, &s, ws) == VD_OK, "causal fwd");
    for (int t = 0; t < s.t_in; t++) {
        float *xp = fl(nx);
        memcpy(xp, x, nx * sizeof(float));
        for (int n = 0; n < s.batch; n++)
            for (int c = 0; c < s.c_in; c++)
                for (size_t i = 0; i < frame_in; i++)
                    xp[(((size_t)n * s.c_in + c) * s.t_in + t) * frame_in + i] += 1.5f;
        CHECK(vd_cpu_conv3d_fwd(y1, xp, w, b, &s, ws) == VD_OK, "causal fwd");
        int leak = 0, changed = 0;
        for (int n = 0; n < s.batch; n++)
            for (int c = 0; c < s.c_out; c++)
                for (int to = 0; to < To; to++) {
                    size_t off = (((size_t)n * s.c_out + c) * To + to) * frame_out;
                    int same = memcmp(y0 + off, y1 + off, frame_out * sizeof(float)) == 0;
                    if (to * s.st < t && !same) leak = 1; /* reads only frames < t */
                    if (to * s.st >= t && to * s.st - 2 <= t && !same) changed = 1;
                }
        CHECK(!leak, "causal conv: changing input frame %d changed an earlier output", t);
        CHECK(changed, "causal conv: input frame %d changed no output that reads it", t);
        free(xp);
    }
    free(x);
    free(w);
    free(b);
    free(y0);
    free(y1);
}

/* ------------------------------------------------- replicate padding */

/* The reference: the plain conv (no time padding) of the input with frame 0
 * written kt - 1 more times in front. The column matrices hold the same
 * values in the same places and the products have the same shapes, so y and
 * dw match bit for bit; dx sums the copies' gradients into frame 0 in
 * another order. Also: the zero-padded conv agrees wherever no padding is
 * read, and the replicated one is bit-identical for 1 and 2 threads. */
static void test_replicate_reference(int st) {
    vd_conv3d_shape s = {2, 3, 4, 7, 5, 6, 3, 3, 3, st, 1, 2, 0, 1, 1,
                         VD_CONV3D_CAUSAL_REPLICATE};
    int K = s.kt - 1, To, Ho, Wo, To2;
    vd_conv3d_out_size(&s, &To, &Ho, &Wo);
    vd_conv3d_shape p = s;
    p.t_in += K;
    p.causal = 0;
    vd_conv3d_out_size(&p, &To2, NULL, NULL);
    CHECK(To2 == To, "padded input gives %d frames, replicate %d", To2, To);
    size_t fr = (size_t)s.h_in * s.w_in, nx = (size_t)s.batch * s.c_in * s.t_in * fr;
    size_t np = (size_t)s.batch * s.c_in * p.t_in * fr, nw = (size_t)s.c_out * s.c_in * 27;
    size_t ny = (size_t)s.batch * s.c_out * To * Ho * Wo;
    float *x = rnd(nx, 91), *w = rnd(nw, 92), *b = rnd(4, 93), *dy = rnd(ny, 94), *xp = fl(np);
    for (int bc = 0; bc < s.batch * s.c_in; bc++)
        for (int t = 0; t < p.t_in; t++)
            memcpy(xp + ((size_t)bc * p.t_in + t) * fr,
                   x + ((size_t)bc * s.t_in + (t < K ? 0 : t - K)) * fr, fr * sizeof(float));
    float *y = fl(ny), *yp = fl(ny), *yz = fl(ny), *dx = fl(nx), *dxp = fl(np), *dxf = fl(nx);
    float *dw = fl(nw), *dwp = fl(nw), *y2 = fl(ny), *dx2 = fl(nx), *dw2 = fl(nw);
    CHECK(vd_cpu_conv3d_fwd(y, x, w, b, &s, ws) == VD_OK, "replicate fwd");
    CHECK(vd_cpu_conv3d_bwd(dx, dw, NULL, dy, x, w, &s, ws) == VD_OK, "replicate bwd");
    CHECK(vd_cpu_conv3d_fwd(yp, xp, w, b, &p, ws) == VD_OK, "padded fwd");
    CHECK(vd_cpu_conv3d_bwd(dxp, dwp, NULL, dy, xp, w, &p, ws) == VD_OK, "padded bwd");
    CHECK(!memcmp(y, yp, ny * sizeof(float)), "st %d: replicate y != conv of the padded input",
          st);
    CHECK(!memcmp(dw, dwp, nw * sizeof(float)), "st %d: replicate dw != padded input's", st);
    for (int bc = 0; bc < s.batch * s.c_in; bc++)
        for (int t = 0; t < p.t_in; t++)
            for (size_t i = 0; i < fr; i++)
                dxf[((size_t)bc * s.t_in + (t < K ? 0 : t - K)) * fr + i] +=
                    dxp[((size_t)bc * p.t_in + t) * fr + i];
    char what[96];
    snprintf(what, sizeof what, "replicate st %d: dx == padded input's, copies summed", st);
    vt_close(what, dx, dxf, nx, 1e-5, 1e-5);
    /* Output frame to reads input frames to*st - K .. to*st: with to*st >= K
     * no padding, and the zero-padded conv gives the same bits. */
    vd_conv3d_shape z = s;
    z.causal = VD_CONV3D_CAUSAL_ZEROS;
    CHECK(vd_cpu_conv3d_fwd(yz, x, w, b, &z, ws) == VD_OK, "zeros fwd");
    size_t fo = (size_t)Ho * Wo;
    int same = 1, differ = 0;
    for (int bc = 0; bc < s.batch * s.c_out; bc++)
        for (int to = 0; to < To; to++) {
            int eq = !memcmp(y + ((size_t)bc * To + to) * fo, yz + ((size_t)bc * To + to) * fo,
                             fo * sizeof(float));
            if (to * st >= K) same &= eq;
            else differ |= !eq;
        }
    CHECK(same && differ, "st %d: replicate vs zeros: unpadded frames same %d, padded differ %d",
          st, same, differ);
    vd_set_threads(1);
    CHECK(vd_cpu_conv3d_fwd(y2, x, w, b, &s, ws) == VD_OK &&
              vd_cpu_conv3d_bwd(dx2, dw2, NULL, dy, x, w, &s, ws) == VD_OK,
          "replicate, 1 thread");
    vd_set_threads(0);
    CHECK(!memcmp(y, y2, ny * sizeof(float)) && !memcmp(dx, dx2, nx * sizeof(float)) &&
              !memcmp(dw, dw2, nw * sizeof(float)),
          "st %d: replicate differs with 1 and 2 threads", st);
    printf("ok   causal replicate st %d == plain conv of frame 0 repeated %d times in front "
           "(y, dw bit for bit, dx summed)\n", st, K);
    float *f[] = {x, w, b, dy, xp, y, yp, yz, dx, dxp, dxf, dw, dwp, y2, dx2, dw2};
    for (size_t k = 0; k < sizeof f / sizeof *f; k++) free(f[k]);
}

/* ----------------------------------------------------------- determinism */

/* Bit-identical results for 1 and 2 threads. OpenBLAS left to thread a
 * product by itself is not (16 -> 16 channels showed it), so this runs a
 * small case as well as a VAE-like one. */
static void test_threads(int C, int T, int S, int k) {
    vd_conv3d_shape s = {1, C, C, T, S, S, k, k, k, 1, 1, 1, k / 2, k / 2, k / 2, 0};
    size_t nx = (size_t)C * T * S * S, nw = (size_t)C * C * k * k * k;
    float *x = rnd(nx, 61), *w = rnd(nw, 62), *dy = rnd(nx, 63);
    float *y[2], *dx[2], *dw[2], *db[2];
    for (int i = 0; i < 2; i++) {
        y[i] = fl(nx);
        dx[i] = fl(nx);
        dw[i] = fl(nw);
        db[i] = fl((size_t)C);
        vd_set_threads(i + 1);
        CHECK(vd_cpu_conv3d_fwd(y[i], x, w, NULL, &s, ws) == VD_OK, "threads fwd");
        CHECK(vd_cpu_conv3d_bwd(dx[i], dw[i], db[i], dy, x, w, &s, ws) == VD_OK, "threads bwd");
    }
    vd_set_threads(0);
    int same = memcmp(y[0], y[1], nx * sizeof(float)) == 0 &&
               memcmp(dx[0], dx[1], nx * sizeof(float)) == 0 &&
               memcmp(dw[0], dw[1], nw * sizeof(float)) == 0 &&
               memcmp(db[0], db[1], (size_t)C * sizeof(float)) == 0;
    CHECK(same, "conv3d %d->%d k%d %dx%dx%d: y/dx/dw/db differ with 1 and 2 threads", C, C, k, T,
          S, S);
    if (same) printf("ok   conv3d %d->%d k%d %dx%dx%d bit-identical for 1 and 2 threads\n", C, C, k, T, S, S);
    for (int i = 0; i < 2; i++) {
        free(y[i]);
        free(dx[i]);
        free(dw[i]);
        free(db[i]);
    }
    free(x);
    free(w);
    free(dy);
}

/* GroupNorm and trilinear backward reduce too: same check, small sizes. */
static void test_threads_other(void) {
    int B = 2, C = 8, G = 4, T = 3, H = 5, W = 6, S = T * H * W;
    size_t n = (size_t)B * C * S, ny = n * 8;
    float *x = rnd(n, 81), *w = rnd((size_t)C, 82), *b = rnd((size_t)C, 83), *dy = rnd(ny, 84);
    float *y[2], *dx[2], *dw[2], *db[2], *ux[2], mean[8], rstd[8];
    for (int i = 0; i < 2; i++) {
        vd_set_threads(i + 1);
        y[i] = fl(n);
        dx[i] = fl(n);
        dw[i] = fl((size_t)C);
        db[i] = fl((size_t)C);
        ux[i] = fl(n);
        vd_cpu_groupnorm_fwd(y[i], mean, rstd, x, w, b, B, C, S, G, 1e-5f);
        vd_cpu_groupnorm_bwd(dx[i], dw[i], db[i], dy, x, w, mean, rstd, B, C, S, G);
        vd_cpu_upsample_trilinear_bwd(ux[i], dy, B * C, T, H, W, 2, 2, 2);
    }
    vd_set_threads(0);
    CHECK(memcmp(y[0], y[1], n * sizeof(float)) == 0 && memcmp(dx[0], dx[1], n * sizeof(float)) == 0 &&
              memcmp(dw[0], dw[1], (size_t)C * sizeof(float)) == 0 &&
              memcmp(db[0], db[1], (size_t)C * sizeof(float)) == 0,
          "groupnorm differs with 1 and 2 threads");
    CHECK(memcmp(ux[0], ux[1], n * sizeof(float)) == 0, "trilinear bwd differs with 1 and 2 threads");
    for (int i = 0; i < 2; i++) {
        free(y[i]);
        free(dx[i]);
        free(dw[i]);
        free(db[i]);
        free(ux[i]);
    }
    free(x);
    free(w);
    free(b);
    free(dy);
}

/* ---------------------------------------------------------- out of memory */

static void *small_only(void *user, size_t size, size_t align) {
    (void)user;
    if (size > 4096) return NULL;
    void *p = NULL;
    return posix_memalign(&p, align, size) == 0 ? p : NULL;
}

static void plain_free(void *user, void *ptr) {
    (void)user;
    free(ptr);
}

static void test_nomem(void) {
    vd_allocator tiny = {small_only, plain_free, NULL};
    vd_arena *a = vd_arena_new(&tiny, 0);
    CHECK(a != NULL, "arena with a tiny allocator");
    if (!a) return;
    vd_conv3d_shape s = {1, 2, 2, 3, 4, 4, 3, 3, 3, 1, 1, 1, 1, 1, 1, 0};
    size_t n = 2 * 3 * 16;
    float *x = rnd(n, 71), *w = rnd(2 * 2 * 27, 72), *y = fl(n), *dx = fl(n);
    CHECK(vd_cpu_conv3d_fwd(y, x, w, NULL, &s, a) == VD_ERR_NOMEM, "fwd must report NOMEM");
    CHECK(vd_cpu_conv3d_bwd(dx, NULL, NULL, y, x, w, &s, a) == VD_ERR_NOMEM,
          "bwd must report NOMEM");
    int untouched = 1;
    for (size_t i = 0; i < n; i++) untouched &= y[i] == 0.0f && dx[i] == 0.0f;
    CHECK(untouched, "NOMEM must leave outputs untouched");
    vd_arena_free(a);
    free(x);
    free(w);
    free(y);
    free(dx);
}

int main(void) {
    ws = vd_arena_new(NULL, 0);
    if (!ws) return 2;
    test_out_size();
    const char *convs[] = {"video_conv3d_a", "video_conv3d_b", "video_conv3d_c", "video_conv3d_d",
                           "video_conv3d_e"};
    for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) golden_conv(convs[i]);
    golden_groupnorm("video_groupnorm");
    golden_groupnorm("video_groupnorm_noaffine");
    golden_upsample("video_upsample_a");
    golden_upsample("video_upsample_b");
    golden_patchify();
    test_patchify_adjoint();
    gradchecks_conv();
    gradcheck_groupnorm(1);
    gradcheck_groupnorm(0);
    gradcheck_upsample(0, 2, 2, 2);
    gradcheck_upsample(1, 2, 2, 2);
    gradcheck_upsample(0, 1, 2, 3);
    gradcheck_upsample(1, 1, 2, 3);
    test_causality(VD_CONV3D_CAUSAL_ZEROS);
    test_causality(VD_CONV3D_CAUSAL_REPLICATE);
    test_replicate_reference(1);
    test_replicate_reference(2);
    test_chunked();
    test_threads(16, 4, 12, 3);
    test_threads(16, 3, 10, 1);
    /* 64 -> 64, 3x3x3 over 4x32x32: a 1728 x 4096 column matrix, over the
     * budget, so the backward pass crosses chunks too. */
    if (!vt_quick()) test_threads(64, 4, 32, 3);
    test_threads_other();
    test_nomem();
    vd_arena_free(ws);
    return vt_result("test_ops_video");
}
