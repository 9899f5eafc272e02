/* Attention (flash-style forward and backward) and 3D RoPE of the CPU
 * backend: PyTorch goldens, finite-difference gradient checks, the fused qkv
 * layout, memory that stays O(tokens), and thread-count determinism. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "ops/cpu/attention_rows.h"
#include "ops/cpu/cpu.h"
#include "ops/cpu/fastmath.h"
#include "test.h"

/* Goldens: float64 references rounded to float32. */
#define GOLD_ATOL 2e-5
#define GOLD_RTOL 1e-4

static float *falloc(size_t n) {
    float *p = calloc(n ? n : 1, sizeof(float));
    if (!p) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    return p;
}

/* ------------------------------------------------------------ goldens */

static void golden_attention(const char *name, vd_arena *ws) {
    vt_golden *g = vt_golden_open(name);
    if (!g) return;
    const int B = (int)vt_golden_attr(g, "B", 0), Nq = (int)vt_golden_attr(g, "Nq", 0);
    const int Nk = (int)vt_golden_attr(g, "Nk", 0), H = (int)vt_golden_attr(g, "H", 0);
    const int D = (int)vt_golden_attr(g, "D", 0);
    const float scale = (float)vt_golden_attr(g, "scale", 0);
    size_t nm = 0;
    float *q = vt_golden_get(g, "q", NULL, NULL, NULL), *k = vt_golden_get(g, "k", NULL, NULL, NULL);
    float *v = vt_golden_get(g, "v", NULL, NULL, NULL);
    float *dout = vt_golden_get(g, "dout", NULL, NULL, NULL);
    float *out_w = vt_golden_get(g, "out", NULL, NULL, NULL);
    float *lse_w = vt_golden_get(g, "lse", NULL, NULL, NULL);
    float *dq_w = vt_golden_get(g, "dq", NULL, NULL, NULL);
    float *dk_w = vt_golden_get(g, "dk", NULL, NULL, NULL);
    float *dv_w = vt_golden_get(g, "dv", NULL, NULL, NULL);
    int32_t *mask32 = vt_golden_get_i32(g, "mask", &nm);
    if (q && k && v && dout && out_w && lse_w && dq_w && dk_w && dv_w && mask32 &&
        nm == (size_t)B * Nk) {
        const size_t nq = (size_t)B * Nq * H * D, nk = (size_t)B * Nk * H * D;
        uint8_t *mask = malloc(nm);
        float *out = falloc(nq), *lse = falloc((size_t)B * H * Nq);
        float *dq = falloc(nq), *dk = falloc(nk), *dv = falloc(nk);
        for (size_t i = 0; i < nm; i++) mask[i] = (uint8_t)(mask32[i] != 0);
        /* Gradients start at 0.5 to check that backward accumulates. */
        for (size_t i = 0; i < nq; i++) dq[i] = 0.5f;
        for (size_t i = 0; i < nk; i++) dk[i] = dv[i] = 0.5f;
        char what[128];
        vd_status st = vd_cpu_attention_fwd(out, lse, q, k, v, mask, B, Nq, Nk, H, D, H * D,
                                            H * D, scale, ws);
        CHECK(st == VD_OK, "%s: forward returned %d", name, (int)st);
        snprintf(what, sizeof what, "%s out", name);
        vt_close(what, out, out_w, nq, GOLD_ATOL, GOLD_RTOL);
        snprintf(what, sizeof what, "%s lse", name);
        vt_close(what, lse, lse_w, (size_t)B * H * Nq, GOLD_ATOL, GOLD_RTOL);
        st = vd_cpu_attention_bwd(dq, dk, dv, dout, q, k, v, out, lse, mask, B, Nq, Nk, H, D,
                                  H * D, H * D, scale, ws);
        CHECK(st == VD_OK, "%s: backward returned %d", name, (int)st);
        for (size_t i = 0; i < nq; i++) dq[i] -= 0.5f;
        for (size_t i = 0; i < nk; i++) dk[i] -= 0.5f, dv[i] -= 0.5f;
        snprintf(what, sizeof what, "%s dq", name);
        vt_close(what, dq, dq_w, nq, GOLD_ATOL, GOLD_RTOL);
        snprintf(what, sizeof what, "%s dk", name);
        vt_close(what, dk, dk_w, nk, GOLD_ATOL, GOLD_RTOL);
        snprintf(what, sizeof what, "%s dv", name);
        vt_close(what, dv, dv_w, nk, GOLD_ATOL, GOLD_RTOL);
        CHECK(vd_arena_used(ws) == 0, "%s: arena not reset (%zu bytes used)", name,
              vd_arena_used(ws));
        free(mask), free(out), free(lse), free(dq), free(dk), free(dv);
    }
    free(q), free(k), free(v), free(dout), free(out_w), free(lse_w);
    free(dq_w), free(dk_w), free(dv_w), free(mask32);
    vt_golden_close(g);
}

static void golden_rope(void) {
    vt_golden *g = vt_golden_open("rope3d");
    if (!g) return;
    const int T = (int)vt_golden_attr(g, "T", 0), Hh = (int)vt_golden_attr(g, "Hh", 0);
    const int Ww = (int)vt_golden_attr(g, "Ww", 0), B = (int)vt_golden_attr(g, "B", 0);
    const int H = (int)vt_golden_attr(g, "H", 0), D = (int)vt_golden_attr(g, "D", 0);
    const float theta = (float)vt_golden_attr(g, "theta", 0);
    const int t0 = (int)vt_golden_attr(g, "t0", 0), h0 = (int)vt_golden_attr(g, "h0", 0);
    const int w0 = (int)vt_golden_attr(g, "w0", 0);
    float *x = vt_golden_get(g, "x", NULL, NULL, NULL), *y = vt_golden_get(g, "y", NULL, NULL, NULL);
    float *cw = vt_golden_get(g, "cos", NULL, NULL, NULL), *sw = vt_golden_get(g, "sin", NULL, NULL, NULL);
    if (x && y && cw && sw) {
        const int N = T * Hh * Ww;
        int dt, dh, dw;
        vd_rope3d_split(D, &dt, &dh, &dw);
        CHECK(dt + dh + dw == D / 2 && dh == dw && dh == D / 2 / 3, "split %d %d %d", dt, dh, dw);
        float *c = falloc((size_t)N * D / 2), *s = falloc((size_t)N * D / 2);
        vd_rope3d_table(c, s, T, Hh, Ww, D, dt, dh, dw, theta, t0, h0, w0);
        vt_close("rope3d cos table", c, cw, (size_t)N * D / 2, 1e-6, 1e-6);
        vt_close("rope3d sin table", s, sw, (size_t)N * D / 2, 1e-6, 1e-6);
        vd_cpu_rope_apply(x, c, s, B, N, H, D, H * D, 0);
        vt_close("rope3d apply", x, y, (size_t)B * N * H * D, 1e-5, 1e-5);
        free(c), free(s);
    }
    free(x), free(y), free(cw), free(sw);
    vt_golden_close(g);
}

/* --------------------------------------------------- gradient checks */

typedef struct attn_case {
    int B, Nq, Nk, H, D, q_stride, kv_stride;
    float scale;
    float *q, *k, *v;   /* views; for a fused layout they share one buffer */
    const uint8_t *mask;
    float *out, *lse, *w; /* w: loss weights, (B, Nq, H*D) */
    vd_arena *ws;
} attn_case;

static double attn_loss(void *ctx) {
    attn_case *c = ctx;
    vd_cpu_attention_fwd(c->out, c->lse, c->q, c->k, c->v, c->mask, c->B, c->Nq, c->Nk, c->H,
                         c->D, c->q_stride, c->kv_stride, c->scale, c->ws);
    return vt_weighted_sum(c->out, c->w, (size_t)c->B * c->Nq * c->H * c->D);
}

/* Gradcheck of q, k and v as separate buffers (cross attention). */
static void gradcheck_separate(const char *name, int B, int Nq, int Nk, int H, int D,
                               const uint8_t *mask, vd_arena *ws, uint64_t seed) {
    const int HD = H * D;
    const size_t nq = (size_t)B * Nq * HD, nk = (size_t)B * Nk * HD;
    attn_case c = {B, Nq, Nk, H, D, HD, HD, 1.0f / sqrtf((float)D), falloc(nq), falloc(nk),
                   falloc(nk), mask, falloc(nq), falloc((size_t)B * H * Nq), falloc(nq), ws};
    vt_fill_normal(c.q, nq, seed);
    vt_fill_normal(c.k, nk, seed + 1);
    vt_fill_normal(c.v, nk, seed + 2);
    vt_fill_uniform(c.w, nq, seed + 3);
    float *dq = falloc(nq), *dk = falloc(nk), *dv = falloc(nk);
    attn_loss(&c);
    vd_status st = vd_cpu_attention_bwd(dq, dk, dv, c.w, c.q, c.k, c.v, c.out, c.lse, mask, B, Nq,
                                        Nk, H, D, HD, HD, c.scale, ws);
    CHECK(st == VD_OK, "%s: backward returned %d", name, (int)st);
    char what[128];
    snprintf(what, sizeof what, "%s dq", name);
    vt_gradcheck(what, attn_loss, &c, c.q, dq, nq, 1e-2, 1e-3, 1e-2, 80);
    snprintf(what, sizeof what, "%s dk", name);
    vt_gradcheck(what, attn_loss, &c, c.k, dk, nk, 1e-2, 1e-3, 1e-2, 80);
    snprintf(what, sizeof what, "%s dv", name);
    vt_gradcheck(what, attn_loss, &c, c.v, dv, nk, 1e-2, 1e-3, 1e-2, 80);
    free(c.q), free(c.k), free(c.v), free(c.out), free(c.lse), free(c.w);
    free(dq), free(dk), free(dv);
}

/* Self-attention reading q, k, v from a fused (B, N, 3, H, D) buffer: the
 * result must match contiguous copies, and the gradient (into a fused dqkv)
 * passes a gradcheck over the whole buffer. */
static void fused_qkv(vd_arena *ws) {
    const int B = 2, N = 37, H = 2, D = 8, HD = H * D;
    const size_t n = (size_t)B * N * HD, nqkv = 3 * n;
    float *qkv = falloc(nqkv), *q = falloc(n), *k = falloc(n), *v = falloc(n);
    vt_fill_normal(qkv, nqkv, 77);
    for (size_t t = 0; t < (size_t)B * N; t++) {
        memcpy(q + t * HD, qkv + t * 3 * HD, HD * sizeof(float));
        memcpy(k + t * HD, qkv + t * 3 * HD + HD, HD * sizeof(float));
        memcpy(v + t * HD, qkv + t * 3 * HD + 2 * HD, HD * sizeof(float));
    }
    uint8_t mask[2 * 37];
    for (int i = 0; i < B * N; i++) mask[i] = (uint8_t)(i < N || i % N < 30);
    const float scale = 1.0f / sqrtf((float)D);
    attn_case c = {B, N, N, H, D, 3 * HD, 3 * HD, scale, qkv, qkv + HD, qkv + 2 * HD, mask,
                   falloc(n), falloc((size_t)B * H * N), falloc(n), ws};
    vt_fill_uniform(c.w, n, 78);
    float *out2 = falloc(n), *lse2 = falloc((size_t)B * H * N);
    float *dqkv = falloc(nqkv), *dq = falloc(n), *dk = falloc(n), *dv = falloc(n);
    attn_loss(&c);
    vd_cpu_attention_fwd(out2, lse2, q, k, v, mask, B, N, N, H, D, HD, HD, scale, ws);
    vt_close("fused qkv out == contiguous", c.out, out2, n, 1e-6, 1e-6);
    vt_close("fused qkv lse == contiguous", c.lse, lse2, (size_t)B * H * N, 1e-6, 1e-6);
    vd_status st = vd_cpu_attention_bwd(dqkv, dqkv + HD, dqkv + 2 * HD, c.w, c.q, c.k, c.v, c.out,
                                        c.lse, mask, B, N, N, H, D, 3 * HD, 3 * HD, scale, ws);
    CHECK(st == VD_OK, "fused backward returned %d", (int)st);
    vd_cpu_attention_bwd(dq, dk, dv, c.w, q, k, v, out2, lse2, mask, B, N, N, H, D, HD, HD, scale,
                         ws);
    float *g = falloc(nqkv);
    for (size_t t = 0; t < (size_t)B * N; t++) {
        memcpy(g + t * 3 * HD, dq + t * HD, HD * sizeof(float));
        memcpy(g + t * 3 * HD + HD, dk + t * HD, HD * sizeof(float));
        memcpy(g + t * 3 * HD + 2 * HD, dv + t * HD, HD * sizeof(float));
    }
    vt_close("fused dqkv == contiguous", dqkv, g, nqkv, 1e-6, 1e-6);
    vt_gradcheck("fused qkv dqkv", attn_loss, &c, qkv, dqkv, nqkv, 1e-2, 1e-3, 1e-2, 120);
    free(qkv), free(q), free(k), free(v), free(c.out), free(c.lse), free(c.w);
    free(out2), free(lse2), free(dqkv), free(dq), free(dk), free(dv), free(g);
}

/* ----------------------------------------------------------------- RoPE */

typedef struct rope_case {
    float *x, *y, *w, *c, *s;
    int B, N, H, D, stride;
} rope_case;

static double rope_loss(void *ctx) {
    rope_case *r = ctx;
    size_t n = (size_t)r->B * r->N * r->stride;
    memcpy(r->y, r->x, n * sizeof(float));
    vd_cpu_rope_apply(r->y, r->c, r->s, r->B, r->N, r->H, r->D, r->stride, 0);
    return vt_weighted_sum(r->y, r->w, n);
}

static void rope_checks(void) {
    const int T = 3, Hh = 2, Ww = 5, N = T * Hh * Ww, B = 2, H = 3, D = 12;
    const int stride = 3 * H * D + 4; /* x sits inside a wider row */
    const size_t n = (size_t)B * N * stride;
    int dt, dh, dw;
    vd_rope3d_split(D, &dt, &dh, &dw);
    CHECK(dt == 2 && dh == 2 && dw == 2, "split(12) = %d %d %d", dt, dh, dw);
    vd_rope3d_split(64, &dt, &dh, &dw);
    CHECK(dt == 12 && dh == 10 && dw == 10, "split(64) = %d %d %d", dt, dh, dw);
    rope_case r = {falloc(n), falloc(n), falloc(n), falloc((size_t)N * D / 2),
                   falloc((size_t)N * D / 2), B, N, H, D, stride};
    vd_rope3d_split(D, &dt, &dh, &dw);
    vd_rope3d_table(r.c, r.s, T, Hh, Ww, D, dt, dh, dw, 10000.0f, 0, 0, 0);
    CHECK(r.c[0] == 1.0f && r.s[0] == 0.0f, "position 0 must not rotate");
    vt_fill_normal(r.x, n, 91);
    vt_fill_uniform(r.w, n, 92);
    /* Forward then inverse is the identity, and bytes beyond H*D in each
     * row are untouched. */
    rope_loss(&r);
    vd_cpu_rope_apply(r.y, r.c, r.s, B, N, H, D, stride, 1);
    vt_close("rope forward then inverse == identity", r.y, r.x, n, 1e-6, 1e-6);
    /* Gradient of a rotation is the inverse rotation of the weights. */
    float *grad = falloc(n);
    memcpy(grad, r.w, n * sizeof(float));
    vd_cpu_rope_apply(grad, r.c, r.s, B, N, H, D, stride, 1);
    for (size_t row = 0; row < (size_t)B * N; row++)
        for (int i = H * D; i < stride; i++) grad[row * stride + i] = r.w[row * stride + i];
    vt_gradcheck("rope dx", rope_loss, &r, r.x, grad, n, 1e-2, 1e-4, 1e-3, 300);
    free(r.x), free(r.y), free(r.w), free(r.c), free(r.s), free(grad);
}

/* --------------------------------------------- memory and determinism */

static void memory_bound(void) {
    const int N = vt_quick() ? 2048 : 4096, D = 64, H = 1;
    const size_t n = (size_t)N * D;
    vd_arena *ws = vd_arena_new(NULL, 0);
    float *q = falloc(n), *k = falloc(n), *v = falloc(n), *out = falloc(n), *lse = falloc(N);
    float *dq = falloc(n), *dk = falloc(n), *dv = falloc(n);
    vt_fill_normal(q, n, 5);
    vt_fill_normal(k, n, 6);
    vt_fill_normal(v, n, 7);
    vd_status st = vd_cpu_attention_fwd(out, lse, q, k, v, NULL, 1, N, N, H, D, D, D, 0.125f, ws);
    size_t hw_fwd = vd_arena_high_water(ws);
    vd_status st2 = vd_cpu_attention_bwd(dq, dk, dv, out, q, k, v, out, lse, NULL, 1, N, N, H, D,
                                         D, D, 0.125f, ws);
    size_t hw = vd_arena_high_water(ws);
    const size_t quad = (size_t)N * N * sizeof(float);
    printf("memory: N=%d D=%d: arena high water fwd %zu bytes, fwd+bwd %zu bytes "
           "(scores would be %zu bytes)\n", N, D, hw_fwd, hw, quad);
    CHECK(st == VD_OK && st2 == VD_OK, "status %d %d", (int)st, (int)st2);
    CHECK(hw < (size_t)4 << 20 && hw * 16 < quad, "high water %zu not far below %zu", hw, quad);
    int finite = 1;
    for (size_t i = 0; i < n; i++) finite &= isfinite(dq[i]) && isfinite(dk[i]) && isfinite(dv[i]);
    CHECK(finite, "non-finite gradients at N=%d", N);
    vd_arena_free(ws);
    free(q), free(k), free(v), free(out), free(lse), free(dq), free(dk), free(dv);
}

static void run_threads(int threads, float *out, float *lse, float *dq, float *dk, float *dv,
                        const float *q, const float *k, const float *v, const float *dout,
                        const uint8_t *mask, int B, int Nq, int Nk, int H, int D) {
    vd_set_threads(threads);
    vd_arena *ws = vd_arena_new(NULL, 0);
    vd_cpu_attention_fwd(out, lse, q, k, v, mask, B, Nq, Nk, H, D, H * D, H * D, 0.25f, ws);
    vd_cpu_attention_bwd(dq, dk, dv, dout, q, k, v, out, lse, mask, B, Nq, Nk, H, D, H * D,
                         H * D, 0.25f, ws);
    vd_arena_free(ws);
}

static void determinism(void) {
    const int B = 2, Nq = 150, Nk = 300, H = 3, D = 16;
    const size_t nq = (size_t)B * Nq * H * D, nk = (size_t)B * Nk * H * D;
    const size_t nl = (size_t)B * H * Nq;
    float *q = falloc(nq), *k = falloc(nk), *v = falloc(nk), *dout = falloc(nq);
    float *r[2][6];
    for (int t = 0; t < 2; t++) {
        r[t][0] = falloc(nq), r[t][1] = falloc(nl), r[t][2] = falloc(nq);
        r[t][3] = falloc(nk), r[t][4] = falloc(nk);
    }
    uint8_t mask[2 * 300];
    for (int i = 0; i < B * Nk; i++) mask[i] = (uint8_t)(i < Nk || i % Nk < 200);
    vt_fill_normal(q, nq, 11);
    vt_fill_normal(k, nk, 12);
    vt_fill_normal(v, nk, 13);
    vt_fill_normal(dout, nq, 14);
    const int saved = vd_get_threads();
    for (int t = 0; t < 2; t++)
        run_threads(t + 1, r[t][0], r[t][1], r[t][2], r[t][3], r[t][4], q, k, v, dout, mask, B,
                    Nq, Nk, H, D);
    vd_set_threads(saved);
    const char *names[5] = {"out", "lse", "dq", "dk", "dv"};
    const size_t sizes[5] = {nq, nl, nq, nk, nk};
    for (int i = 0; i < 5; i++)
        CHECK(memcmp(r[0][i], r[1][i], sizes[i] * sizeof(float)) == 0,
              "%s differs between 1 and 2 threads", names[i]);
    printf("ok   determinism: 1 vs 2 threads bit-identical (out, lse, dq, dk, dv)\n");
    free(q), free(k), free(v), free(dout);
    for (int t = 0; t < 2; t++)
        for (int i = 0; i < 5; i++) free(r[t][i]);
}

/* The one-pass backward (batch x heads >= 6) equals the two-pass one that
 * each batch element alone gets (3 heads), and is bit-identical for 1 and 2
 * threads. */
static void one_pass(void) {
    const int B = 4, Nq = 150, Nk = 300, H = 3, D = 16, HD = H * D;
    const size_t nq = (size_t)B * Nq * HD, nk = (size_t)B * Nk * HD, nl = (size_t)B * H * Nq;
    float *q = falloc(nq), *k = falloc(nk), *v = falloc(nk), *dout = falloc(nq);
    float *r[3][5];
    for (int t = 0; t < 3; t++) {
        r[t][0] = falloc(nq), r[t][1] = falloc(nl), r[t][2] = falloc(nq);
        r[t][3] = falloc(nk), r[t][4] = falloc(nk);
    }
    uint8_t mask[4 * 300];
    for (int i = 0; i < B * Nk; i++) mask[i] = (uint8_t)(i / Nk % 2 == 0 || i % Nk < 170);
    vt_fill_normal(q, nq, 61);
    vt_fill_normal(k, nk, 62);
    vt_fill_normal(v, nk, 63);
    vt_fill_normal(dout, nq, 64);
    const int saved = vd_get_threads();
    for (int t = 0; t < 2; t++)
        run_threads(t + 1, r[t][0], r[t][1], r[t][2], r[t][3], r[t][4], q, k, v, dout, mask, B,
                    Nq, Nk, H, D);
    /* each batch element alone: B * H = 3, the two-pass path */
    for (int b = 0; b < B; b++) {
        size_t oq = (size_t)b * Nq * HD, ok = (size_t)b * Nk * HD;
        run_threads(2, r[2][0] + oq, r[2][1] + (size_t)b * H * Nq, r[2][2] + oq, r[2][3] + ok,
                    r[2][4] + ok, q + oq, k + ok, v + ok, dout + oq, mask + (size_t)b * Nk, 1, Nq,
                    Nk, H, D);
    }
    vd_set_threads(saved);
    const char *names[5] = {"out", "lse", "dq", "dk", "dv"};
    const size_t sizes[5] = {nq, nl, nq, nk, nk};
    for (int i = 0; i < 5; i++) {
        CHECK(memcmp(r[0][i], r[1][i], sizes[i] * sizeof(float)) == 0,
              "one pass: %s differs between 1 and 2 threads", names[i]);
        float worst = 0.0f;
        for (size_t j = 0; j < sizes[i]; j++) {
            float d = fabsf(r[1][i][j] - r[2][i][j]) / (1.0f + fabsf(r[2][i][j]));
            worst = d > worst ? d : worst;
        }
        CHECK(worst < 2e-5f, "one pass: %s differs from the two-pass result by %g", names[i],
              (double)worst);
    }
    printf("ok   one-pass backward (4 x 3 heads) == two-pass per batch element; 1 == 2 threads\n");
    free(q), free(k), free(v), free(dout);
    for (int t = 0; t < 3; t++)
        for (int i = 0; i < 5; i++) free(r[t][i]);
}

/* An arena whose allocator refuses to grow: the kernels report NOMEM. */
static int allocs_left;
static void *stingy_alloc(void *user, size_t size, size_t align) {
    (void)user;
    if (allocs_left-- <= 0) return NULL;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void stingy_free(void *user, void *p) {
    (void)user;
    free(p);
}

static void out_of_memory(void) {
    const vd_allocator a = {stingy_alloc, stingy_free, NULL};
    allocs_left = 1; /* the arena struct itself, then nothing */
    vd_arena *ws = vd_arena_new(&a, 0);
    CHECK(ws != NULL, "arena");
    if (!ws) return;
    float q[16] = {0}, out[16], lse[2], dq[16] = {0};
    vd_status st = vd_cpu_attention_fwd(out, lse, q, q, q, NULL, 1, 2, 2, 1, 8, 8, 8, 1.0f, ws);
    CHECK(st == VD_ERR_NOMEM, "forward with a full arena returned %d", (int)st);
    st = vd_cpu_attention_bwd(dq, NULL, NULL, q, q, q, q, q, lse, NULL, 1, 2, 2, 1, 8, 8, 8, 1.0f,
                              ws);
    CHECK(st == VD_ERR_NOMEM, "backward with a full arena returned %d", (int)st);
    vd_arena_free(ws);
}

/* The softmax's exp: within 2 ulp of libm's over its range, 0 below it;
 * the 16-wide vector version gives the scalar's bits for every input; and
 * a row's fused exp and sum equals the plain loop and the lane sum. */
static void fast_exp(void) {
    static float x[4096];
    int n = 0;
    for (int i = 0; i < 4000; i++) x[n++] = -100.0f + 0.05f * (float)i * 1.00137f;
    const float special[] = {NAN, INFINITY, -INFINITY, -0.0f, 0.0f, -87.3f, -87.29f, 88.0f, 88.5f,
                             1e-30f, -1e-30f, 0.5f, -0.5f, 87.99f, -87.31f, 1e-45f};
    for (size_t i = 0; i < sizeof special / sizeof *special; i++) x[n++] = special[i];
    double worst = 0;
    for (int i = 0; i < n; i++) {
        const float y = vd_fast_expf(x[i]);
        if (isnan(x[i])) {
            CHECK(isnan(y), "fast exp(NaN) = %g", y);
            continue;
        }
        if (x[i] < -87.3f) {
            CHECK(y == 0.0f, "fast exp(%g) = %g, want 0", x[i], y);
            continue;
        }
        if (x[i] > 88.0f) continue; /* saturates */
        const double ref = exp((double)x[i]), ulp = ref * 0x1p-23;
        const double err = fabs(y - ref) / ulp;
        if (err > worst) worst = err;
    }
    CHECK(worst <= 2.0, "fast exp: %.2f ulp from exp", worst);
#ifdef VD_FAST_EXP16
    float v[4096];
    const int whole = n / 16 * 16;
    for (int i = 0; i < whole; i += 16) _mm512_storeu_ps(v + i, vd_fast_exp16(_mm512_loadu_ps(x + i)));
    int same = 1;
    for (int i = 0; i < whole; i++) {
        const float a = vd_fast_expf(x[i]);
        same &= memcmp(&a, &v[i], sizeof a) == 0;
    }
    CHECK(same, "16-wide fast exp differs from the scalar one");
#endif
    /* Row lengths around the vector widths. */
    const int lens[] = {1, 7, 8, 15, 16, 17, 24, 33, 128};
    for (size_t k = 0; k < sizeof lens / sizeof *lens; k++) {
        const int len = lens[k];
        float a[128], b[128];
        for (int i = 0; i < len; i++) a[i] = b[i] = x[(i * 37 + 1800) % 4000] * 0.25f;
        const float sum = vd_att_exp_sum(a, len, 0.75f, 1.5f);
        float lane[8] = {0};
        int i = 0;
        for (; i + 8 <= len; i += 8)
            for (int l = 0; l < 8; l++) lane[l] += b[i + l] = vd_fast_expf(b[i + l] * 0.75f - 1.5f);
        for (; i < len; i++) lane[0] += b[i] = vd_fast_expf(b[i] * 0.75f - 1.5f);
        const float want = ((lane[0] + lane[1]) + (lane[2] + lane[3])) + ((lane[4] + lane[5]) + (lane[6] + lane[7]));
        CHECK(memcmp(a, b, (size_t)len * sizeof *a) == 0 && memcmp(&sum, &want, sizeof sum) == 0,
              "exp-and-sum of a row of %d differs from the plain loops", len);
    }
    printf("ok   fast exp: %.2f ulp from exp, vector == scalar bits, row exp-and-sum == plain "
           "loops\n", worst);
}

int main(void) {
    fast_exp();
    vd_arena *ws = vd_arena_new(NULL, 0);
    if (!ws) return 1;
    golden_attention("attention_cross", ws);
    golden_attention("attention_tiles", ws);
    golden_attention("attention_allmasked", ws);
    golden_rope();

    uint8_t mask[2 * 19];
    for (int i = 0; i < 2 * 19; i++) mask[i] = (uint8_t)(i < 19 || i % 19 < 13);
    gradcheck_separate("cross 37x19 masked", 2, 37, 19, 2, 8, mask, ws, 21);
    gradcheck_separate("cross 37x19", 2, 37, 19, 2, 8, NULL, ws, 31);
    gradcheck_separate("cross 70x150 (several tiles)", 1, 70, 150, 1, 8, NULL, ws, 41);
    uint8_t none[2 * 7];
    for (int i = 0; i < 2 * 7; i++) none[i] = (uint8_t)(i < 7 && i % 2);
    gradcheck_separate("one batch fully masked", 2, 5, 7, 1, 4, none, ws, 51);
    uint8_t mask4[4 * 150];
    for (int i = 0; i < 4 * 150; i++) mask4[i] = (uint8_t)(i < 300 || i % 150 < 90);
    gradcheck_separate("one pass: 4 x 2 heads, 70x150 masked", 4, 70, 150, 2, 8, mask4, ws, 71);
    one_pass();
    fused_qkv(ws);
    vd_arena_free(ws);

    rope_checks();
    memory_bound();
    determinism();
    out_of_memory();
    return vt_result("test_attention");
}
