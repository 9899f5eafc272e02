/* Linear layers on OpenBLAS. The weight is (N, K), PyTorch's layout, so both
 * passes are row-major GEMMs with a transpose flag.
 *
 * OpenBLAS's own threading is not bit-reproducible across thread counts
 * (0.3.21 changes how it blocks the reduction dimension with the thread count
 * once that dimension passes a few hundred), so every product here is cut
 * into output tiles whose size depends on the shape only, one GEMM call per
 * tile inside an OpenMP loop. OpenBLAS runs single-threaded inside an active
 * parallel region (and has one thread when OpenMP has one), so each tile is
 * computed the same way whatever the thread count, and no tile splits the
 * reduction. With vd_set_matmul_precision(VD_MATMUL_BF16) the tiles go to
 * gemm_bf16.c instead, whose sums do not depend on where C is cut: there
 * each thread takes one tile. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "ops/cpu/cpu.h"
#include "vidit.h"

/* Columns of db summed per task: each task walks every row of dy over its own
 * columns, so every column is reduced in row order whatever the threads. */
enum { DB_COLS = 64 };

/* Tile extent along a dimension of `len`: half of it, so a product has up to
 * 4 tiles (2 per thread on 2 cores), but no thinner than `least`. Every tile
 * packs its panels of A and B again: with eighths (64 tiles) the packing
 * cost linear layers 10-15% against one sgemm call at 1 thread; with halves
 * they run at 0.94-1.0 of it (`vidit bench ops --threads 1`). */
static int tile_len(int len, int least) {
    int t = (len + 1) / 2;
    t = (t + 15) / 16 * 16;
    return t < least ? least : t;
}

/* C[M, N] = op(A)[M, K] . op(B)[K, N] + beta C, tile by tile. When bias is
 * given, each tile of C is first filled with it (one value per column) and
 * beta must be 1. */
static void gemm_tiled(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                       const float *A, int lda, const float *B, int ldb, float beta,
                       float *C, int ldc, const float *bias) {
    int tm = tile_len(M, 32), tn = tile_len(N, 64);
    const int bf16 = vd_get_matmul_precision() == VD_MATMUL_BF16;
    if (bf16) {
        /* gemm_bf16.c sums every output the same way however C is cut, so
         * its tiles can follow the threads: one per thread, cut along the
         * longer side, so that only the smaller operand is converted by
         * every thread (with 2 x 2 tiles both were converted twice). */
        const int threads = omp_get_max_threads();
        tm = M, tn = N;
        if (M >= N) tm = ((M + threads - 1) / threads + 11) / 12 * 12;
        else tn = ((N + threads - 1) / threads + 31) / 32 * 32;
    }
    int rows_t = (M + tm - 1) / tm, cols_t = (N + tn - 1) / tn;
    int tiles = rows_t * cols_t;
#pragma omp parallel for schedule(static)
    for (int t = 0; t < tiles; t++) {
        int r0 = (t / cols_t) * tm, c0 = (t % cols_t) * tn;
        int m = r0 + tm < M ? tm : M - r0, n = c0 + tn < N ? tn : N - c0;
        float *ct = C + (size_t)r0 * ldc + c0;
        const float *at = ta == CblasNoTrans ? A + (size_t)r0 * lda : A + r0;
        const float *bt = tb == CblasNoTrans ? B + c0 : B + (size_t)c0 * ldb;
        /* The bf16 kernel adds the bias as it stores its first sums, instead
         * of a pass that fills C first (4% of a sampling step). */
        if (bf16 && K > 0 &&
            !vd_cpu_gemm_bf16(ta == CblasTrans, tb == CblasTrans, m, n, K, at, lda, bt, ldb,
                              bias ? 0.0f : beta, ct, ldc, bias ? bias + c0 : NULL))
            continue;
        if (bias)
            for (int i = 0; i < m; i++) memcpy(ct + (size_t)i * ldc, bias + c0, (size_t)n * sizeof *C);
        if (K <= 0) {
            if (!bias && beta == 0.0f)
                for (int i = 0; i < m; i++) memset(ct + (size_t)i * ldc, 0, (size_t)n * sizeof *C);
            continue;
        }
        cblas_sgemm(CblasRowMajor, ta, tb, m, n, K, 1.0f, at, lda, bt, ldb, beta, ct, ldc);
    }
}

void vd_cpu_linear_fwd(float *y, const float *x, const float *w, const float *b,
                       int M, int K, int N) {
    if (M <= 0 || N <= 0) return;
    gemm_tiled(CblasNoTrans, CblasTrans, M, N, K, x, K, w, K, b ? 1.0f : 0.0f, y, N, b);
}

void vd_cpu_linear_bwd(float *dx, float *dw, float *db, const float *dy,
                       const float *x, const float *w, int M, int K, int N) {
    if (M <= 0 || N <= 0) return;
    if (dx && K > 0) /* dx[M, K] += dy[M, N] . w[N, K] */
        gemm_tiled(CblasNoTrans, CblasNoTrans, M, K, N, dy, N, w, K, 1.0f, dx, K, NULL);
    if (dw && K > 0) /* dw[N, K] += dy^T[N, M] . x[M, K] */
        gemm_tiled(CblasTrans, CblasNoTrans, N, K, M, dy, N, x, K, 1.0f, dw, K, NULL);
    if (db) {
        int tasks = (N + DB_COLS - 1) / DB_COLS;
#pragma omp parallel for schedule(static) if ((size_t)M * N > 65536)
        for (int t = 0; t < tasks; t++) {
            int c0 = t * DB_COLS, c1 = c0 + DB_COLS < N ? c0 + DB_COLS : N;
            double acc[DB_COLS] = {0};
            for (int i = 0; i < M; i++) {
                const float *row = dy + (size_t)i * N;
                for (int c = c0; c < c1; c++) acc[c - c0] += row[c];
            }
            for (int c = c0; c < c1; c++) db[c] += (float)acc[c - c0];
        }
    }
}
