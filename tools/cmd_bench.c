/* vidit bench: speed measurements. `vidit bench ops` times the CPU kernels
 * that dominate a DiT step (linear layers and attention) and compares them
 * with OpenBLAS sgemm measured in the same run, so the ratio stays meaningful
 * on a loaded or throttled machine. The whole-model benchmarks (dit, vae,
 * generate) are in tools/bench_models.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cblas.h>

#include "bench.h"
#include "commands.h"
#include "core/alloc.h"
#include "core/arena.h"
#include "core/rng.h"
#include "ops/cpu/cpu.h"
#include "vidit.h"

/* A measurement never spends much more than this on its repeats, so the
 * largest sizes do not turn a quick look into a long run. */
#define BENCH_BUDGET_S 2.0

static void bench_usage(FILE *to) {
    fprintf(to,
            "usage: vidit bench SUB-COMMAND [options]\n\n"
            "sub-commands:\n"
            "  ops       sgemm, linear and attention kernels: GFLOP/s and ratio to sgemm\n"
            "  dit       one DiT sampling step and one training step (see bench dit --help)\n"
            "  vae       VAE decode and encode seconds per frame of a 64x64x17 video\n"
            "  generate  seconds to generate one video with the default model\n\n"
            "options of `ops`:\n"
            "  --threads N   threads for OpenMP and OpenBLAS (default: OMP_NUM_THREADS or all cores)\n"
            "  --repeats R   timed runs per measurement, median reported (default 5)\n"
            "  --quick       smaller sizes only (a few seconds)\n"
            "  --help        this text\n");
}

double bench_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double bench_median(double *v, int n) {
    qsort(v, (size_t)n, sizeof v[0], cmp_double);
    return n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

int bench_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi,
                    int *out) {
    char *end = NULL;
    long val = strtol(s, &end, 10);
    if (end == s || *end || val < lo || val > hi) {
        fprintf(stderr, "%s: %s: expected a number from %ld to %ld, got '%s'\n", cmd, opt, lo,
                hi, s);
        return 0;
    }
    *out = (int)val;
    return 1;
}

/* One thing to time: run(ctx) does the work once; returns non-zero on error. */
typedef int (*bench_fn)(void *ctx);

/* Median seconds of up to `repeats` runs after one warm-up run; -1 on error. */
static double time_median(bench_fn run, void *ctx, int repeats) {
    double t0 = bench_now();
    if (run(ctx)) return -1;
    double warm = bench_now() - t0;
    int n = repeats;
    if (warm * n > BENCH_BUDGET_S) n = (int)(BENCH_BUDGET_S / (warm > 0 ? warm : 1e-9));
    if (n < 3) n = 3;
    if (n > repeats) n = repeats;
    double times[64];
    if (n > 64) n = 64;
    for (int i = 0; i < n; i++) {
        t0 = bench_now();
        if (run(ctx)) return -1;
        times[i] = bench_now() - t0;
    }
    return bench_median(times, n);
}

float *bench_floats(size_t n, uint64_t seed) {
    float *p = vd_alloc(NULL, n * sizeof(float));
    if (!p) return NULL;
    vd_rng r;
    vd_rng_init(&r, seed);
    vd_rng_normal(&r, p, n);
    return p;
}

/* ---------------------------------------------------- sgemm and linear */

typedef struct gemm_ctx {
    int M, K, N;
    float *x, *w, *y, *dy, *dx, *dw;
} gemm_ctx;

static int run_sgemm(void *p) {
    gemm_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, c->N, c->K, 1.0f, c->x, c->K, c->w,
                c->K, 0.0f, c->y, c->N);
    return 0;
}

static int run_linear_fwd(void *p) {
    gemm_ctx *c = p;
    vd_cpu_linear_fwd(c->y, c->x, c->w, NULL, c->M, c->K, c->N);
    return 0;
}

static int run_linear_bwd(void *p) {
    gemm_ctx *c = p;
    vd_cpu_linear_bwd(c->dx, c->dw, NULL, c->dy, c->x, c->w, c->M, c->K, c->N);
    return 0;
}

/* ----------------------------------------------------------- attention */

typedef struct attn_ctx {
    int B, N, H, D;
    float *q, *k, *v, *out, *lse, *dout, *dq, *dk, *dv;
    vd_arena *ws;
} attn_ctx;

static int run_attn_fwd(void *p) {
    attn_ctx *c = p;
    int HD = c->H * c->D;
    return vd_cpu_attention_fwd(c->out, c->lse, c->q, c->k, c->v, NULL, c->B, c->N, c->N, c->H,
                                c->D, HD, HD, 1.0f / sqrtf((float)c->D), c->ws) != VD_OK;
}

static int run_attn_bwd(void *p) {
    attn_ctx *c = p;
    int HD = c->H * c->D;
    return vd_cpu_attention_bwd(c->dq, c->dk, c->dv, c->dout, c->q, c->k, c->v, c->out, c->lse,
                                NULL, c->B, c->N, c->N, c->H, c->D, HD, HD,
                                1.0f / sqrtf((float)c->D), c->ws) != VD_OK;
}

static void print_row(const char *op, const char *shape, double sec, double flops, double ref) {
    double gf = flops / sec * 1e-9;
    if (ref > 0)
        printf("%-15s %-22s %10.3f %9.1f %8.2f\n", op, shape, sec * 1e3, gf, gf / ref);
    else
        printf("%-15s %-22s %10.3f %9.1f %8s\n", op, shape, sec * 1e3, gf, "-");
}

static int bench_ops(int argc, char **argv) {
    int threads = 0, repeats = 5, quick = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            bench_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--quick")) {
            quick = 1;
        } else if ((!strcmp(argv[i], "--threads") || !strcmp(argv[i], "--repeats")) &&
                   i + 1 < argc) {
            char *end = NULL;
            long val = strtol(argv[i + 1], &end, 10);
            if (!end || *end || val < 1 || val > 1024) {
                fprintf(stderr, "vidit bench ops: %s: expected a number from 1 to 1024, got '%s'\n",
                        argv[i], argv[i + 1]);
                return 2;
            }
            if (argv[i][2] == 't') threads = (int)val;
            else repeats = (int)(val > 64 ? 64 : val);
            i++;
        } else {
            fprintf(stderr, "vidit bench ops: unknown or incomplete option '%s'\n\n", argv[i]);
            bench_usage(stderr);
            return 2;
        }
    }
    if (threads > 0) vd_set_threads(threads);

    static const int gemm_sizes[][3] = {{512, 384, 384}, {1024, 768, 768}, {2048, 1536, 1536}};
    static const int attn_tokens[] = {256, 1024, 4096};
    const int n_gemm = quick ? 2 : 3, n_attn = quick ? 2 : 3;
    const int H = 6, D = 64;

    printf("vidit bench ops: %d threads, OpenBLAS's %s kernels, median of up to %d runs after "
           "a warm-up%s\n",
           vd_get_threads(), vd_blas_core(), repeats, quick ? " (quick)" : "");
    printf("FLOPs: sgemm and linear forward 2*M*K*N, linear backward 4*M*K*N (dx and dw);\n"
           "attention forward 4*B*H*Nq*Nk*D, backward 2.5x forward (FlashAttention's count;\n"
           "vidit's backward does that work in one pass from 6 (batch x heads) pairs, and\n"
           "below that recomputes scores twice, 3.5x of forward work).\n"
           "'bf16' rows: the same layers with vd_set_matmul_precision(VD_MATMUL_BF16)\n"
           "(shown where the CPU has AVX512-BF16).\n"
           "'vs sgemm': linear against sgemm of the same shape, attention against the best\n"
           "sgemm rate of this run.\n\n");
    printf("%-15s %-22s %10s %9s %8s\n", "op", "shape", "ms", "GFLOP/s", "vs sgemm");

    int rc = 0;
    double best_sgemm = 0;
    for (int s = 0; s < n_gemm && !rc; s++) {
        gemm_ctx c = {gemm_sizes[s][0], gemm_sizes[s][1], gemm_sizes[s][2], NULL, NULL, NULL,
                      NULL, NULL, NULL};
        size_t M = (size_t)c.M, K = (size_t)c.K, N = (size_t)c.N;
        c.x = bench_floats(M * K, 1), c.w = bench_floats(N * K, 2), c.y = bench_floats(M * N, 3);
        c.dy = bench_floats(M * N, 4), c.dx = bench_floats(M * K, 5), c.dw = bench_floats(N * K, 6);
        if (!c.x || !c.w || !c.y || !c.dy || !c.dx || !c.dw) {
            fprintf(stderr, "vidit bench ops: out of memory for a %zux%zux%zu product\n", M, K, N);
            rc = 1;
        } else {
            char shape[64];
            snprintf(shape, sizeof shape, "M%zu K%zu N%zu", M, K, N);
            double flops = 2.0 * (double)M * (double)K * (double)N;
            double t = time_median(run_sgemm, &c, repeats);
            double ref = flops / t * 1e-9;
            if (ref > best_sgemm) best_sgemm = ref;
            print_row("sgemm", shape, t, flops, 0);
            print_row("linear fwd", shape, time_median(run_linear_fwd, &c, repeats), flops, ref);
            print_row("linear bwd", shape, time_median(run_linear_bwd, &c, repeats), 2 * flops,
                      ref);
            /* The same layers with bf16 products, where the CPU has them. */
            vd_matmul_precision was = vd_get_matmul_precision();
            if (vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK) {
                print_row("linear fwd bf16", shape, time_median(run_linear_fwd, &c, repeats),
                          flops, ref);
                print_row("linear bwd bf16", shape, time_median(run_linear_bwd, &c, repeats),
                          2 * flops, ref);
                vd_set_matmul_precision(was);
            }
        }
        vd_free(NULL, c.x), vd_free(NULL, c.w), vd_free(NULL, c.y);
        vd_free(NULL, c.dy), vd_free(NULL, c.dx), vd_free(NULL, c.dw);
    }

    for (int s = 0; s < n_attn && !rc; s++) {
        attn_ctx c = {1, attn_tokens[s], H, D, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
                      NULL, NULL};
        size_t n = (size_t)c.B * c.N * H * D;
        c.q = bench_floats(n, 11), c.k = bench_floats(n, 12), c.v = bench_floats(n, 13);
        c.out = bench_floats(n, 14), c.dout = bench_floats(n, 15), c.dq = bench_floats(n, 16);
        c.dk = bench_floats(n, 17), c.dv = bench_floats(n, 18);
        c.lse = bench_floats((size_t)c.B * H * c.N, 19);
        c.ws = vd_arena_new(NULL, 0);
        if (!c.q || !c.k || !c.v || !c.out || !c.dout || !c.dq || !c.dk || !c.dv || !c.lse ||
            !c.ws) {
            fprintf(stderr, "vidit bench ops: out of memory for attention over %d tokens\n", c.N);
            rc = 1;
        } else {
            char shape[64];
            snprintf(shape, sizeof shape, "N%d H%d D%d", c.N, H, D);
            double flops = 4.0 * c.B * H * (double)c.N * (double)c.N * D;
            double tf = time_median(run_attn_fwd, &c, repeats);
            double tb = tf < 0 ? -1 : time_median(run_attn_bwd, &c, repeats);
            if (tf < 0 || tb < 0) {
                fprintf(stderr, "vidit bench ops: attention over %d tokens failed (arena)\n", c.N);
                rc = 1;
            } else {
                print_row("attention fwd", shape, tf, flops, best_sgemm);
                print_row("attention bwd", shape, tb, 2.5 * flops, best_sgemm);
                vd_matmul_precision was = vd_get_matmul_precision();
                if (vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK) {
                    double t16 = time_median(run_attn_fwd, &c, repeats);
                    double b16 = t16 < 0 ? -1 : time_median(run_attn_bwd, &c, repeats);
                    if (t16 >= 0) print_row("attn fwd bf16", shape, t16, flops, best_sgemm);
                    if (b16 >= 0) print_row("attn bwd bf16", shape, b16, 2.5 * flops, best_sgemm);
                    vd_set_matmul_precision(was);
                }
            }
        }
        vd_arena_free(c.ws);
        vd_free(NULL, c.q), vd_free(NULL, c.k), vd_free(NULL, c.v), vd_free(NULL, c.out);
        vd_free(NULL, c.dout), vd_free(NULL, c.dq), vd_free(NULL, c.dk), vd_free(NULL, c.dv);
        vd_free(NULL, c.lse);
    }
    return rc;
}

int cmd_bench(int argc, char **argv) {
    if (argc < 2) {
        bench_usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        bench_usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "ops")) return bench_ops(argc - 1, argv + 1);
    if (!strcmp(argv[1], "dit")) return bench_dit(argc - 1, argv + 1);
    if (!strcmp(argv[1], "vae")) return bench_vae(argc - 1, argv + 1);
    if (!strcmp(argv[1], "generate")) return bench_generate(argc - 1, argv + 1);
    fprintf(stderr, "vidit bench: unknown sub-command '%s' (available: ops, dit, vae, generate)\n\n",
            argv[1]);
    bench_usage(stderr);
    return 2;
}
