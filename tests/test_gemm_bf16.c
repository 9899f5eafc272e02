/* bf16 matrix products (src/ops/cpu/gemm_bf16.c) and the matmul precision
 * setting: exact against a double-precision product of the bf16-rounded
 * inputs (so the rounding is the only approximation, and it is the one the
 * header documents), every transpose, edges and blocks of every size, beta,
 * NaN; linear layers and attention's forward in bf16 close to fp32 and
 * bit-identical for 1 and 2 threads. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/threads.h"
#include "ops/cpu/cpu.h"
#include "test.h"
#include "vidit.h"

/* Round to bf16, nearest-even, as an independent scalar reference. */
static double bf16(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    uint32_t lsb = (u >> 16) & 1u;
    u = (u + 0x7fffu + lsb) & 0xffff0000u;
    float r;
    memcpy(&r, &u, sizeof r);
    return r;
}

static float *randn(size_t n, uint64_t seed) {
    float *p = malloc((n ? n : 1) * sizeof *p);
    if (!p) abort();
    vt_fill_normal(p, n, seed);
    return p;
}

/* One product C = op(A) op(B) + beta C against the reference, with leading
 * dimensions 3 larger than needed. */
static void product(int ta, int tb, int M, int N, int K, float beta) {
    const int rows_a = ta ? K : M, cols_a = ta ? M : K, rows_b = tb ? N : K, cols_b = tb ? K : N;
    const int lda = cols_a + 3, ldb = cols_b + 3, ldc = N + 3;
    float *A = randn((size_t)rows_a * lda, 1 + M), *B = randn((size_t)rows_b * ldb, 2 + N);
    float *C = randn((size_t)M * ldc, 3 + K);
    float *C0 = malloc((size_t)M * ldc * sizeof *C0);
    if (!C0) abort();
    if (beta == 0.0f) /* C must not be read: NaN there must not leak out */
        for (size_t i = 0; i < (size_t)M * ldc; i++) C[i] = NAN;
    memcpy(C0, C, (size_t)M * ldc * sizeof *C);
    int rc = vd_cpu_gemm_bf16(ta, tb, M, N, K, A, lda, B, ldb, beta, C, ldc, NULL);
    CHECK(rc == 0, "gemm_bf16 %dx%dx%d refused", M, N, K);
    double worst = 0, rounding = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0, s32 = 0, mag = 0;
            for (int k = 0; k < K; k++) {
                float a = ta ? A[(size_t)k * lda + i] : A[(size_t)i * lda + k];
                float b = tb ? B[(size_t)j * ldb + k] : B[(size_t)k * ldb + j];
                s += bf16(a) * bf16(b);
                s32 += (double)a * b;
                mag += fabs((double)a * b);
            }
            double c0 = beta == 0.0f ? 0.0 : (double)beta * C0[(size_t)i * ldc + j];
            double got = C[(size_t)i * ldc + j];
            /* fp32 sums of K terms: a few K ulps of the magnitude at most. */
            double e = fabs(got - (s + c0)) / (mag + fabs(c0) + 1e-30);
            double r = fabs(s - s32) / (mag + 1e-30);
            if (!(e <= worst)) worst = e; /* NaN too */
            if (r > rounding) rounding = r;
        }
    CHECK(worst <= 4e-7 * sqrt((double)K) + 1e-7,
          "gemm_bf16 ta%d tb%d %dx%dx%d beta %g: error %.3g of the summed magnitude", ta, tb, M,
          N, K, beta, worst);
    /* And it is the bf16 product, not fp32's: the inputs' rounding shows. */
    if (K >= 8)
        CHECK(rounding > 20 * worst, "ta%d tb%d %dx%dx%d: bf16 rounding %.3g not above error %.3g",
              ta, tb, M, N, K, rounding, worst);
    /* Columns past N in each row of C are untouched. */
    for (int i = 0; i < M; i++)
        for (int j = N; j < ldc; j++) {
            float a = C[(size_t)i * ldc + j], b = C0[(size_t)i * ldc + j];
            CHECK(memcmp(&a, &b, sizeof a) == 0, "gemm_bf16 wrote C[%d][%d] past N", i, j);
        }
    free(A), free(B), free(C), free(C0);
}

static void products(void) {
    /* Sizes around the micro-kernel (12 x 32) and the blocks (MC 96, KC
     * 512, NC 512), odd K included. */
    static const int shapes[][3] = {{1, 1, 1},     {13, 45, 17},    {12, 32, 2},    {100, 70, 33},
                                    {97, 1030, 257}, {130, 64, 600}, {25, 40, 1025}};
    static const float betas[] = {0.0f, 1.0f, 0.5f};
    int n = 0;
    for (int s = 0; s < 7; s++)
        for (int t = 0; t < 4; t++) {
            const int *d = shapes[s];
            product(t >> 1, t & 1, d[0], d[1], d[2], betas[(s + t) % 3]);
            n++;
        }
    printf("ok   gemm_bf16 == double product of bf16-rounded inputs: %d cases (4 transposes, "
           "edges, blocks, beta 0/1/0.5)\n", n);
}

static void nan_propagates(void) {
    const int M = 20, N = 40, K = 30;
    float *A = randn((size_t)M * K, 7), *B = randn((size_t)K * N, 8), *C = randn((size_t)M * N, 9);
    A[5 * K + 3] = NAN;
    CHECK(vd_cpu_gemm_bf16(0, 0, M, N, K, A, K, B, N, 0.0f, C, N, NULL) == 0, "refused");
    int nan_rows = 0, nan_other = 0;
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            if (i == 5) nan_rows += isnan(C[i * N + j]) != 0;
            else nan_other += isnan(C[i * N + j]) != 0;
        }
    CHECK(nan_rows == N && nan_other == 0, "NaN in A row 5: %d of %d NaN in that row, %d elsewhere",
          nan_rows, N, nan_other);
    free(A), free(B), free(C);
    printf("ok   a NaN input gives NaN in its row only\n");
}

/* Linear forward and backward under the bf16 precision: within bf16's
 * rounding of fp32's results, the same bits for 1 and 2 threads, and the
 * same bits as one whole product (the layer cuts it into tiles, which must
 * not change how any output is summed). */
static void linear_layer(int M, int K, int N) {
    float *x = randn((size_t)M * K, 20), *w = randn((size_t)N * K, 21), *b = randn(N, 22);
    float *dy = randn((size_t)M * N, 23);
    float *out[2][3], *ref[3];
    const size_t n[3] = {(size_t)M * N, (size_t)M * K, (size_t)N * K};
    for (int r = 0; r < 3; r++) ref[r] = calloc(n[r], sizeof(float));
    for (int t = 0; t < 2; t++)
        for (int r = 0; r < 3; r++) out[t][r] = calloc(n[r], sizeof(float));
    CHECK(vd_set_matmul_precision(VD_MATMUL_FP32) == VD_OK, "fp32");
    vd_cpu_linear_fwd(ref[0], x, w, b, M, K, N);
    vd_cpu_linear_bwd(ref[1], ref[2], NULL, dy, x, w, M, K, N);
    CHECK(vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK, "bf16");
    CHECK(vd_get_matmul_precision() == VD_MATMUL_BF16, "precision not kept");
    int threads = vd_get_threads();
    for (int t = 0; t < 2; t++) {
        vd_set_threads(t + 1);
        vd_cpu_linear_fwd(out[t][0], x, w, b, M, K, N);
        vd_cpu_linear_bwd(out[t][1], out[t][2], NULL, dy, x, w, M, K, N);
    }
    vd_set_threads(threads);
    CHECK(vd_set_matmul_precision(VD_MATMUL_FP32) == VD_OK, "back to fp32");
    float *whole[3];
    for (int r = 0; r < 3; r++) whole[r] = calloc(n[r], sizeof(float));
    for (int i = 0; i < M; i++) memcpy(whole[0] + (size_t)i * N, b, (size_t)N * sizeof(float));
    CHECK(vd_cpu_gemm_bf16(0, 1, M, N, K, x, K, w, K, 1.0f, whole[0], N, NULL) == 0 &&
              vd_cpu_gemm_bf16(0, 0, M, K, N, dy, N, w, K, 1.0f, whole[1], K, NULL) == 0 &&
              vd_cpu_gemm_bf16(1, 0, N, K, M, dy, N, x, K, 1.0f, whole[2], K, NULL) == 0,
          "whole products refused");
    const char *names[3] = {"y", "dx", "dw"};
    for (int r = 0; r < 3; r++) {
        CHECK(memcmp(out[0][r], out[1][r], n[r] * sizeof(float)) == 0,
              "linear %s in bf16 differs between 1 and 2 threads", names[r]);
        CHECK(memcmp(out[1][r], whole[r], n[r] * sizeof(float)) == 0,
              "linear %s in bf16 (%dx%dx%d) differs from the whole product", names[r], M, K, N);
        double worst = 0, differs = 0;
        for (size_t i = 0; i < n[r]; i++) {
            double d = fabs((double)out[0][r][i] - ref[r][i]);
            if (d > worst) worst = d;
            differs += d > 0;
        }
        /* Sums of red products of unit normals: about 2^-9 sqrt(red) off. */
        const int red = r == 0 ? K : r == 1 ? N : M;
        const double bound = 0.25 * sqrt(red / 200.0);
        CHECK(worst < bound && differs > n[r] / 2, "linear %s: bf16 vs fp32 max diff %.3g, %g differ",
              names[r], worst, differs);
    }
    for (int r = 0; r < 3; r++) free(ref[r]), free(out[0][r]), free(out[1][r]), free(whole[r]);
    free(x), free(w), free(b), free(dy);
}

static void linear_layers(void) {
    /* Tile edges off the micro-panels, and reductions of several KC blocks
     * with an odd end. */
    static const int shapes[][3] = {{150, 200, 300}, {61, 601, 75}, {300, 40, 1100}};
    for (int s = 0; s < 3; s++) linear_layer(shapes[s][0], shapes[s][1], shapes[s][2]);
    printf("ok   linear fwd/bwd in bf16: close to fp32, identical for 1 and 2 threads and to one "
           "whole product, 3 shapes\n");
}

/* Attention's forward in bf16 against the fp32 kernel: odd token counts, a
 * head size that is not a multiple of 32, strided q/k/v (a fused qkv
 * buffer), masked keys (one batch element masks all but 3), and the same
 * bits for 1 and 2 threads. */
static void attention(void) {
    const int B = 2, Nq = 101, Nk = 301, H = 3, D = 40, stride = 3 * H * D; /* 3 key blocks */
    float *qkv = randn((size_t)B * Nq * stride, 30), *kv = randn((size_t)B * Nk * stride, 31);
    uint8_t mask[2 * 301];
    for (int j = 0; j < Nk; j++) mask[j] = 1, mask[Nk + j] = j == 5 || j == 140 || j == 300;
    const size_t no = (size_t)B * Nq * H * D, nl = (size_t)B * H * Nq;
    float *ref = calloc(no, sizeof(float)), *rl = calloc(nl, sizeof(float));
    float *o[2] = {calloc(no, sizeof(float)), calloc(no, sizeof(float))};
    float *l[2] = {calloc(nl, sizeof(float)), calloc(nl, sizeof(float))};
    vd_arena *ws = vd_arena_new(NULL, 0);
    const float scale = 1.0f / sqrtf((float)D);
    const float *q = qkv, *k = kv + H * D, *v = kv + 2 * H * D;
    CHECK(!vd_cpu_attention_fwd(ref, rl, q, k, v, mask, B, Nq, Nk, H, D, stride, stride, scale, ws),
          "fp32 attention");
    CHECK(vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK, "bf16");
    int threads = vd_get_threads();
    for (int t = 0; t < 2; t++) {
        vd_set_threads(t + 1);
        CHECK(!vd_cpu_attention_fwd(o[t], l[t], q, k, v, mask, B, Nq, Nk, H, D, stride, stride,
                                    scale, ws),
              "bf16 attention");
    }
    vd_set_threads(threads);
    vd_set_matmul_precision(VD_MATMUL_FP32);
    CHECK(memcmp(o[0], o[1], no * sizeof(float)) == 0 && memcmp(l[0], l[1], nl * sizeof(float)) == 0,
          "bf16 attention differs between 1 and 2 threads");
    /* Outputs are averages of unit normals: bf16's 2^-9 on scores and
     * values moves them by about 1e-2 at most. */
    double worst = 0, worst_l = 0, differs = 0;
    for (size_t i = 0; i < no; i++) {
        double d = fabs((double)o[0][i] - ref[i]);
        worst = d > worst || isnan(d) ? d : worst;
        differs += d > 0;
    }
    for (size_t i = 0; i < nl; i++) {
        double d = fabs((double)l[0][i] - rl[i]);
        worst_l = d > worst_l || isnan(d) ? d : worst_l;
    }
    CHECK(worst < 3e-2 && worst_l < 3e-2 && differs > no / 2,
          "bf16 attention vs fp32: out %.3g, lse %.3g, %g of %zu differ", worst, worst_l, differs, no);
    printf("ok   attention forward in bf16: within %.2g (out) and %.2g (lse) of fp32, "
           "identical for 1 and 2 threads\n", worst, worst_l);

    /* The backward (B x H = 6 pairs: the one-pass layout that bf16 takes
     * over), each from its own forward, as a training step runs them. */
    const size_t nq_all = (size_t)B * Nq * stride, nk_all = (size_t)B * Nk * stride;
    float *dout = randn(no, 32);
    float *g32[2] = {calloc(nq_all, sizeof(float)), calloc(nk_all, sizeof(float))};
    float *g16[2][2];
    for (int t = 0; t < 2; t++)
        g16[t][0] = calloc(nq_all, sizeof(float)), g16[t][1] = calloc(nk_all, sizeof(float));
    CHECK(!vd_cpu_attention_bwd(g32[0], g32[1] + H * D, g32[1] + 2 * H * D, dout, q, k, v, ref, rl,
                                mask, B, Nq, Nk, H, D, stride, stride, scale, ws),
          "fp32 attention backward");
    CHECK(vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK, "bf16");
    for (int t = 0; t < 2; t++) {
        vd_set_threads(t + 1);
        CHECK(!vd_cpu_attention_bwd(g16[t][0], g16[t][1] + H * D, g16[t][1] + 2 * H * D, dout, q,
                                    k, v, o[0], l[0], mask, B, Nq, Nk, H, D, stride, stride, scale,
                                    ws),
              "bf16 attention backward");
    }
    vd_set_threads(threads);
    vd_set_matmul_precision(VD_MATMUL_FP32);
    CHECK(memcmp(g16[0][0], g16[1][0], nq_all * sizeof(float)) == 0 &&
              memcmp(g16[0][1], g16[1][1], nk_all * sizeof(float)) == 0,
          "bf16 attention backward differs between 1 and 2 threads");
    double gw[3] = {0, 0, 0}, gmax[3] = {0, 0, 0};
    for (int which = 0; which < 3; which++) {
        const float *a = which == 0 ? g16[0][0] : g16[0][1] + which * H * D;
        const float *r = which == 0 ? g32[0] : g32[1] + which * H * D;
        const int rows = B * (which == 0 ? Nq : Nk);
        for (int i = 0; i < rows; i++)
            for (int c = 0; c < H * D; c++) {
                double d = fabs((double)a[(size_t)i * stride + c] - r[(size_t)i * stride + c]);
                gw[which] = d > gw[which] || isnan(d) ? d : gw[which];
                double m = fabs(r[(size_t)i * stride + c]);
                gmax[which] = m > gmax[which] ? m : gmax[which];
            }
    }
    /* Relative to each gradient's largest entry: bf16 inputs move sums of
     * ~300 terms by a few 1e-3 of it. */
    CHECK(gw[0] < 2e-2 * gmax[0] && gw[1] < 2e-2 * gmax[1] && gw[2] < 2e-2 * gmax[2],
          "bf16 attention backward vs fp32: dq %.3g (max %.3g), dk %.3g (%.3g), dv %.3g (%.3g)",
          gw[0], gmax[0], gw[1], gmax[1], gw[2], gmax[2]);
    printf("ok   attention backward in bf16: dq, dk, dv within %.2g, %.2g, %.2g of fp32's largest "
           "entry, identical for 1 and 2 threads\n", gw[0] / gmax[0], gw[1] / gmax[1],
           gw[2] / gmax[2]);
    free(dout), free(g32[0]), free(g32[1]);
    for (int t = 0; t < 2; t++) free(g16[t][0]), free(g16[t][1]);
    vd_arena_free(ws);
    free(qkv), free(kv), free(ref), free(rl), free(o[0]), free(o[1]), free(l[0]), free(l[1]);
}

int main(void) {
    CHECK(vd_set_matmul_precision((vd_matmul_precision)7) == VD_ERR_ARG, "unknown precision");
    CHECK(vd_get_matmul_precision() == VD_MATMUL_FP32, "fp32 is the default");
    if (!vd_cpu_gemm_bf16_available()) {
        CHECK(vd_set_matmul_precision(VD_MATMUL_BF16) == VD_ERR_UNSUPPORTED,
              "bf16 accepted without AVX512-BF16");
        CHECK(vd_get_matmul_precision() == VD_MATMUL_FP32, "refused precision was kept");
        printf("skip this CPU has no AVX512-BF16: only the refusal is tested\n");
        return vt_result("test_gemm_bf16");
    }
    products();
    nan_propagates();
    linear_layers();
    attention();
    return vt_result("test_gemm_bf16");
}
