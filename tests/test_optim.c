/* The optimiser: gradient clipping against a double reference, the learning-
 * rate schedule against its formula (golden) and its shape, EMA arithmetic,
 * AdamW with a decay mask against torch.optim.AdamW (golden), and a state
 * save/load round trip that must continue bit-identically. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/safetensors.h"
#include "train/optim.h"
#include "test.h"

static void test_clip(void) {
    size_t n = vt_quick() ? 20000 : 200000;
    float *g = malloc(n * sizeof *g), *g0 = malloc(n * sizeof *g0);
    if (!g || !g0) abort();
    vt_fill_normal(g0, n, 7);
    double ref = 0;
    for (size_t i = 0; i < n; i++) ref += (double)g0[i] * g0[i];
    ref = sqrt(ref);

    memcpy(g, g0, n * sizeof *g);
    float norm = vd_grad_clip_norm(g, n, 1.0f);
    CHECK(fabs(norm - ref) <= 1e-6 * ref, "clip norm %.9g, double reference %.9g", norm, ref);
    double after = 0;
    for (size_t i = 0; i < n; i++) after += (double)g[i] * g[i];
    CHECK(fabs(sqrt(after) - 1.0) < 1e-5, "norm after clipping to 1: %.9g", sqrt(after));

    memcpy(g, g0, n * sizeof *g);
    norm = vd_grad_clip_norm(g, n, (float)(2 * ref));
    CHECK(memcmp(g, g0, n * sizeof *g) == 0, "a norm under max_norm changed the gradient");
    norm = vd_grad_clip_norm(g, n, 0.0f);
    CHECK(memcmp(g, g0, n * sizeof *g) == 0 && fabs(norm - ref) <= 1e-6 * ref,
          "max_norm 0 must only measure");
    g[n / 2] = NAN;
    norm = vd_grad_clip_norm(g, n, 1.0f);
    CHECK(isnan(norm) && g[0] == g0[0], "a NaN gradient: norm %g, must be NaN and untouched", norm);
    free(g);
    free(g0);
}

static void test_schedule(void) {
    vt_golden *gd = vt_golden_open("dense_schedule");
    size_t n = 0;
    float *want = vt_golden_get(gd, "lr", &n, NULL, NULL);
    int64_t warmup = (int64_t)vt_golden_attr(gd, "warmup", 0);
    int64_t total = (int64_t)vt_golden_attr(gd, "total", 0);
    float base = (float)vt_golden_attr(gd, "base_lr", 0);
    float min_lr = (float)vt_golden_attr(gd, "min_lr", 0);
    vt_golden_close(gd);
    if (!want) return;
    float *got = malloc(n * sizeof *got);
    if (!got) abort();
    for (size_t s = 0; s < n; s++) got[s] = vd_lr_schedule((int64_t)s, warmup, total, base, min_lr);
    vt_close("schedule vs formula (golden)", got, want, n, 0, 1e-6);
    /* shape: linear warm-up, peak at warmup, monotone decay to min_lr */
    double step0 = got[0];
    for (int64_t s = 0; s < warmup; s++)
        CHECK(fabs(got[s] - step0 * (double)(s + 1)) <= 1e-6 * base, "warm-up step %lld not linear",
              (long long)s);
    CHECK(got[warmup - 1] == base && got[warmup] == base, "peak %g, %g != base %g",
          got[warmup - 1], got[warmup], base);
    for (int64_t s = warmup + 1; s < (int64_t)n; s++)
        CHECK(got[s] <= got[s - 1], "schedule rises at step %lld", (long long)s);
    CHECK(got[total] == min_lr && vd_lr_schedule(total + 1000, warmup, total, base, min_lr) == min_lr,
          "end of schedule %g != min_lr %g", got[total], min_lr);
    float mid = vd_lr_schedule(warmup + (total - warmup) / 2, warmup, total, base, min_lr);
    CHECK(fabs(mid - 0.5 * (base + min_lr)) < 1e-6 * base, "half-way %g", mid);
    CHECK(vd_lr_schedule(3, 0, 10, 1.0f, 0.0f) <= 1.0f, "no warm-up");
    free(want);
    free(got);
}

static void test_ema(void) {
    enum { N = 100 };
    float p[N], q[N], out[N];
    vt_fill_uniform(p, N, 1);
    vt_fill_uniform(q, N, 2);
    vd_ema *e = NULL;
    CHECK(vd_ema_new(&e, NULL, p, N, NULL) == VD_OK, "vd_ema_new");
    if (!e) return;
    vd_ema_copy_out(e, out);
    CHECK(memcmp(out, p, sizeof p) == 0, "EMA starts as a copy of the weights");
    vd_ema_update(e, q, 0.9f);
    vd_ema_update(e, q, 0.99f);
    double worst = 0;
    for (int i = 0; i < N; i++) {
        double r = 0.9 * p[i] + 0.1 * q[i];
        r = 0.99 * r + 0.01 * q[i];
        double d = fabs(vd_ema_data(e)[i] - r);
        worst = d > worst ? d : worst;
    }
    CHECK(worst < 1e-6, "EMA after two updates off by %g", worst);
    float w[N], ema_before[N];
    memcpy(w, q, sizeof w);
    vd_ema_copy_out(e, ema_before);
    vd_ema_swap(e, w);
    CHECK(memcmp(w, ema_before, sizeof w) == 0 && memcmp(vd_ema_data(e), q, sizeof q) == 0,
          "swap exchanges weights and EMA");
    vd_ema_swap(e, w);
    CHECK(memcmp(w, q, sizeof w) == 0, "swapping twice restores the weights");
    vd_ema_free(e);
    vd_ema_free(NULL);
    vd_error err;
    CHECK(vd_ema_new(&e, NULL, p, 0, &err) == VD_ERR_ARG && !e, "empty EMA refused");
}

static void test_adamw_golden(void) {
    vt_golden *gd = vt_golden_open("dense_adamw");
    int na = (int)vt_golden_attr(gd, "na", 15), nb = (int)vt_golden_attr(gd, "nb", 8);
    int steps = (int)vt_golden_attr(gd, "steps", 6);
    size_t n = (size_t)(na + nb), k;
    vd_adamw_config cfg = {
        .lr = (float)vt_golden_attr(gd, "lr", 0),
        .beta1 = (float)vt_golden_attr(gd, "beta1", 0),
        .beta2 = (float)vt_golden_attr(gd, "beta2", 0),
        .eps = (float)vt_golden_attr(gd, "eps", 0),
        .weight_decay = (float)vt_golden_attr(gd, "weight_decay", 0),
    };
    int64_t warmup = (int64_t)vt_golden_attr(gd, "warmup", 0);
    float min_lr = (float)vt_golden_attr(gd, "min_lr", 0);
    float *p = vt_golden_get(gd, "p0", &k, NULL, NULL);
    float *g = vt_golden_get(gd, "grads", NULL, NULL, NULL);
    float *want = vt_golden_get(gd, "params", NULL, NULL, NULL);
    float *lrs = vt_golden_get(gd, "lrs", NULL, NULL, NULL);
    float *wm = vt_golden_get(gd, "m", NULL, NULL, NULL), *wv = vt_golden_get(gd, "v", NULL, NULL, NULL);
    vt_golden_close(gd);
    vd_adamw *opt = NULL;
    if (p && g && want && lrs && wm && wv && k == n &&
        vd_adamw_new(&opt, NULL, n, &cfg, NULL) == VD_OK) {
        vd_error err;
        CHECK(vd_adamw_no_decay_range(opt, (size_t)na, (size_t)nb, &err) == VD_OK, "no-decay range");
        CHECK(vd_adamw_no_decay_range(opt, n - 1, 2, &err) == VD_ERR_ARG, "range past the end refused");
        int ok = 1;
        for (int s = 0; s < steps; s++) {
            float lr = vd_lr_schedule(s, warmup, steps, cfg.lr, min_lr);
            CHECK(fabs(lr - lrs[s]) <= 1e-6 * lrs[s], "step %d: lr %g, torch ran %g", s, lr, lrs[s]);
            vd_adamw_step(opt, p, g + (size_t)s * n, lr);
            char what[64];
            snprintf(what, sizeof what, "adamw vs torch, params after step %d", s + 1);
            ok &= vt_close(what, p, want + (size_t)s * n, n, 1e-6, 1e-5);
        }
        CHECK(ok && vd_adamw_steps(opt) == steps, "step count %lld", (long long)vd_adamw_steps(opt));
        vt_close("adamw vs torch, m", vd_adamw_m(opt), wm, n, 1e-7, 1e-5);
        vt_close("adamw vs torch, v", vd_adamw_v(opt), wv, n, 1e-8, 1e-5);
    }
    vd_adamw_free(opt);
    free(p), free(g), free(want), free(lrs), free(wm), free(wv);
}

/* Runs `steps` updates with deterministic gradients derived from the step. */
static void run_steps(vd_adamw *opt, float *p, size_t n, int from, int steps) {
    float *g = malloc(n * sizeof *g);
    if (!g) abort();
    for (int s = from; s < from + steps; s++) {
        vt_fill_normal(g, n, 100 + (uint64_t)s);
        vd_adamw_step(opt, p, g, vd_lr_schedule(s, 2, 10, 1e-2f, 1e-4f));
    }
    free(g);
}

static void test_state_roundtrip(void) {
    size_t n = 1000;
    vd_adamw_config cfg = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                           .weight_decay = 0.05f};
    float *p = malloc(n * sizeof *p), *q = malloc(n * sizeof *q);
    uint8_t *mask = malloc(n);
    if (!p || !q || !mask) abort();
    vt_fill_normal(p, n, 3);
    for (size_t i = 0; i < n; i++) mask[i] = (i / 100) % 2 == 0;
    vd_adamw *a = NULL, *b = NULL, *c = NULL;
    vd_ema *ea = NULL, *eb = NULL;
    vd_error err = {0};
    char path[256];
    snprintf(path, sizeof path, "/tmp/vidit_test_optim_%ld.safetensors", (long)getpid());
    if (vd_adamw_new(&a, NULL, n, &cfg, &err) || vd_adamw_new(&b, NULL, n, &cfg, &err) ||
        vd_adamw_new(&c, NULL, n - 1, &cfg, &err) ||
        vd_adamw_set_decay_mask(a, mask, &err) || vd_adamw_set_decay_mask(b, mask, &err) ||
        vd_ema_new(&ea, NULL, p, n, &err)) {
        CHECK(0, "setup: %s", err.message);
        goto done;
    }
    run_steps(a, p, n, 0, 3);
    vd_ema_update(ea, p, 0.9f);
    vd_st_writer *w = vd_st_writer_new(NULL);
    CHECK(w && vd_adamw_save(a, w, "optim.", &err) == VD_OK && vd_ema_save(ea, w, "ema", &err) == VD_OK &&
              vd_st_writer_save(w, path, &err) == VD_OK,
          "saving state: %s", err.message);
    vd_st_writer_free(w);
    memcpy(q, p, n * sizeof *q);

    vd_st_file *f = NULL;
    CHECK(vd_st_open(&f, path, &err) == VD_OK, "reopening state: %s", err.message);
    if (f) {
        CHECK(vd_adamw_load(b, f, "optim.", &err) == VD_OK, "loading state: %s", err.message);
        CHECK(vd_ema_new(&eb, NULL, NULL, n, &err) == VD_OK && vd_ema_load(eb, f, "ema", &err) == VD_OK,
              "loading EMA: %s", err.message);
        CHECK(vd_adamw_load(c, f, "optim.", &err) == VD_ERR_SHAPE, "a size mismatch must fail");
        CHECK(vd_adamw_load(b, f, "nope.", &err) == VD_ERR_FORMAT && vd_adamw_steps(b) == 3,
              "a missing prefix must fail and leave the state: %s", err.message);
        vd_st_close(f);
    }
    CHECK(vd_adamw_steps(b) == 3, "restored step %lld", (long long)vd_adamw_steps(b));
    run_steps(a, p, n, 3, 2);
    run_steps(b, q, n, 3, 2);
    CHECK(memcmp(p, q, n * sizeof *p) == 0, "resumed optimiser diverges from the original");
    CHECK(memcmp(vd_adamw_m(a), vd_adamw_m(b), n * sizeof(float)) == 0 &&
              memcmp(vd_adamw_v(a), vd_adamw_v(b), n * sizeof(float)) == 0,
          "moments differ after resume");
    if (eb) {
        vd_ema_update(ea, p, 0.9f);
        vd_ema_update(eb, q, 0.9f);
        CHECK(memcmp(vd_ema_data(ea), vd_ema_data(eb), n * sizeof(float)) == 0, "EMA differs after resume");
    }
done:
    unlink(path);
    vd_adamw_free(a), vd_adamw_free(b), vd_adamw_free(c), vd_adamw_free(NULL);
    vd_ema_free(ea), vd_ema_free(eb);
    free(p), free(q), free(mask);
}

/* A mask given as bytes and the same mask given as ranges update alike; a
 * NULL mask decays everything. */
static void test_masks(void) {
    size_t n = 300;
    vd_adamw_config cfg = {.lr = 1e-2f, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f,
                           .weight_decay = 0.3f};
    float *p1 = malloc(n * sizeof *p1), *p2 = malloc(n * sizeof *p2), *g = malloc(n * sizeof *g);
    uint8_t *mask = malloc(n);
    vd_adamw *a = NULL, *b = NULL;
    vd_error err = {0};
    if (!p1 || !p2 || !g || !mask) abort();
    vt_fill_normal(p1, n, 5);
    memcpy(p2, p1, n * sizeof *p1);
    memset(g, 0, n * sizeof *g); /* zero gradients: only the decay moves p */
    for (size_t i = 0; i < n; i++) mask[i] = !(i >= 50 && i < 120) && i != 299;
    if (vd_adamw_new(&a, NULL, n, &cfg, &err) || vd_adamw_new(&b, NULL, n, &cfg, &err) ||
        vd_adamw_set_decay_mask(a, mask, &err) || vd_adamw_no_decay_range(b, 50, 70, &err) ||
        vd_adamw_no_decay_range(b, 299, 1, &err)) {
        CHECK(0, "setup: %s", err.message);
    } else {
        vd_adamw_step(a, p1, g, 1e-2f);
        vd_adamw_step(b, p2, g, 1e-2f);
        CHECK(memcmp(p1, p2, n * sizeof *p1) == 0, "byte mask and ranges disagree");
        float decay = (float)(1.0 - (double)1e-2f * (double)0.3f); /* as the kernel rounds it */
        vt_fill_normal(p2, n, 5);
        int ok = 1;
        for (size_t i = 0; i < n; i++) ok &= p1[i] == (mask[i] ? p2[i] * decay : p2[i]);
        CHECK(ok, "with zero gradients only decayed elements shrink, by 1 - lr*wd");
    }
    vd_adamw_config bad = cfg;
    bad.beta2 = 1.0f;
    vd_adamw *c = NULL;
    CHECK(vd_adamw_new(&c, NULL, n, &bad, &err) == VD_ERR_ARG && !c, "beta2 = 1 refused");
    vd_adamw_free(a), vd_adamw_free(b);
    free(p1), free(p2), free(g), free(mask);
}

int main(void) {
    test_clip();
    test_schedule();
    test_ema();
    test_adamw_golden();
    test_state_roundtrip();
    test_masks();
    return vt_result("test_optim");
}
