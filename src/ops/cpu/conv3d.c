/* 3D convolution on the CPU: vol2col into arena scratch, then one sgemm per
 * chunk of output rows.
 *
 * The column matrix of a whole sample has Cin*kt*kh*kw rows and To*Ho*Wo
 * columns, which for a video VAE is far too large (256x256 frames with 128
 * channels: ~900 MB per frame). So the output of each sample is walked in
 * chunks of whole output rows (an output row is Wo positions at one (to, ho);
 * rows of consecutive frames follow each other), sized so that the column
 * buffer stays under COL_BUDGET floats. A chunk never depends on the thread
 * count, and the backward pass visits batch elements and chunks in a fixed
 * order, so every result is bit-identical for any number of threads. */
#include <cblas.h>
#include <string.h>

#include "ops/cpu/cpu.h"

/* Most floats a column buffer may hold (16 MB). A chunk is at least one
 * output row, so a single row of an enormous layer may exceed it. */
#define COL_BUDGET ((size_t)1 << 22)

/* Columns of C per sgemm call in gemm_slabs. */
#define GEMM_SLAB 256

/* C (M x N, row-major, ldc) = op(A) op(B) + beta C, as independent sgemm
 * calls on fixed slabs of GEMM_SLAB columns of C, spread over OpenMP
 * threads. OpenBLAS's own threading splits a product by the thread count
 * and is not bit-identical across counts (seen with M = 16); inside an
 * active parallel region OpenBLAS runs single-threaded, and the slabs do
 * not depend on the thread count, so this is. */
static void gemm_slabs(CBLAS_TRANSPOSE ta, CBLAS_TRANSPOSE tb, int M, int N, int K,
                       const float *A, int lda, const float *B, int ldb, float beta, float *C,
                       int ldc) {
    int nslab = (N + GEMM_SLAB - 1) / GEMM_SLAB;
#pragma omp parallel for schedule(static)
    for (int j = 0; j < nslab; j++) {
        int j0 = j * GEMM_SLAB;
        int nj = N - j0 < GEMM_SLAB ? N - j0 : GEMM_SLAB;
        const float *Bj = tb == CblasNoTrans ? B + j0 : B + (size_t)j0 * ldb;
        cblas_sgemm(CblasRowMajor, ta, tb, M, nj, K, 1.0f, A, lda, Bj, ldb, beta, C + j0, ldc);
    }
}

/* floor((in + pad_total - k) / stride) + 1, where pad_total is 2p, or kt - 1
 * for causal time. A kernel larger than the padded input (or a non-positive
 * extent or stride) gives 0, never a negative size, and never the spurious 1
 * that C's truncating division would give; models check for 0 when they
 * validate shapes. */
static int out_extent(int in, int pad_total, int k, int stride) {
    if (stride <= 0 || k <= 0 || in <= 0) return 0;
    long num = (long)in + pad_total - k;
    if (num < 0) return 0;
    return (int)(num / stride + 1);
}

void vd_conv3d_out_size(const vd_conv3d_shape *s, int *t_out, int *h_out, int *w_out) {
    int tpad = s->causal ? s->kt - 1 : 2 * s->pt;
    if (t_out) *t_out = out_extent(s->t_in, tpad, s->kt, s->st);
    if (h_out) *h_out = out_extent(s->h_in, 2 * s->ph, s->kh, s->sh);
    if (w_out) *w_out = out_extent(s->w_in, 2 * s->pw, s->kw, s->sw);
}

/* Everything the kernels derive once from the shape. */
typedef struct geom {
    int cin, cout, T, H, W, kt, kh, kw, st, sh, sw;
    int tfront, ph, pw; /* zero frames/rows/columns before the input */
    int replicate;      /* the tfront frames are copies of frame 0, not zeros */
    int To, Ho, Wo;
    size_t kvol;   /* kt*kh*kw */
    size_t K;      /* cin*kvol: rows of the column matrix */
    size_t in_sz;  /* T*H*W */
    size_t out_sz; /* To*Ho*Wo */
    int rows;      /* To*Ho output rows per sample */
    int chunk;     /* output rows per chunk */
    int direct;    /* 1x1x1, stride 1, no padding: the input is the column */
} geom;

static void geom_init(geom *g, const vd_conv3d_shape *s) {
    g->cin = s->c_in;
    g->cout = s->c_out;
    g->T = s->t_in;
    g->H = s->h_in;
    g->W = s->w_in;
    g->kt = s->kt;
    g->kh = s->kh;
    g->kw = s->kw;
    g->st = s->st;
    g->sh = s->sh;
    g->sw = s->sw;
    g->tfront = s->causal ? s->kt - 1 : s->pt;
    g->replicate = s->causal == VD_CONV3D_CAUSAL_REPLICATE;
    g->ph = s->ph;
    g->pw = s->pw;
    vd_conv3d_out_size(s, &g->To, &g->Ho, &g->Wo);
    g->kvol = (size_t)g->kt * g->kh * g->kw;
    g->K = (size_t)g->cin * g->kvol;
    g->in_sz = (size_t)g->T * g->H * g->W;
    g->out_sz = (size_t)g->To * g->Ho * g->Wo;
    g->rows = g->To * g->Ho;
    size_t per_row = g->K * (size_t)(g->Wo > 0 ? g->Wo : 1);
    size_t chunk = COL_BUDGET / (per_row ? per_row : 1);
    if (chunk < 1) chunk = 1;
    if (chunk > (size_t)g->rows) chunk = (size_t)g->rows;
    g->chunk = (int)chunk;
    g->direct = g->kvol == 1 && g->st == 1 && g->sh == 1 && g->sw == 1 &&
                g->tfront == 0 && g->ph == 0 && g->pw == 0;
}

/* Range of output columns wo whose input column wo*sw - pw + dw lies inside
 * [0, W): [*lo, *hi). */
static void valid_cols(const geom *g, int dw, int *lo, int *hi) {
    int off = dw - g->pw; /* input column = wo*sw + off */
    int a = 0;
    if (off < 0) a = (-off + g->sw - 1) / g->sw;
    int b = 0;
    if (g->W - 1 - off >= 0) b = (g->W - 1 - off) / g->sw + 1;
    if (b > g->Wo) b = g->Wo;
    if (a > b) a = b;
    *lo = a;
    *hi = b;
}

/* col[r][j] for output rows [r0, r0 + nr) of one sample, r = ((c*kt + dt)*kh
 * + dh)*kw + dw, j = (row - r0)*Wo + wo. Rows of col are independent, so
 * they are filled in parallel. */
static void vol2col(float *col, const float *x, const geom *g, int r0, int nr) {
    size_t ncols = (size_t)nr * g->Wo;
    long K = (long)g->K;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < K; r++) {
        int dw = (int)(r % g->kw);
        int dh = (int)((r / g->kw) % g->kh);
        int dt = (int)((r / ((long)g->kw * g->kh)) % g->kt);
        int c = (int)(r / (long)g->kvol);
        const float *xc = x + (size_t)c * g->in_sz;
        float *out = col + (size_t)r * ncols;
        int lo, hi;
        valid_cols(g, dw, &lo, &hi);
        for (int q = 0; q < nr; q++) {
            int row = r0 + q;
            int to = row / g->Ho, ho = row % g->Ho;
            int t = to * g->st - g->tfront + dt;
            if (t < 0 && g->replicate) t = 0;
            int h = ho * g->sh - g->ph + dh;
            float *o = out + (size_t)q * g->Wo;
            if (t < 0 || t >= g->T || h < 0 || h >= g->H) {
                memset(o, 0, (size_t)g->Wo * sizeof(float));
                continue;
            }
            const float *xr = xc + ((size_t)t * g->H + h) * g->W;
            long off = dw - g->pw;
            for (int wo = 0; wo < lo; wo++) o[wo] = 0.0f;
            if (g->sw == 1) {
                if (hi > lo) memcpy(o + lo, xr + (lo + off), (size_t)(hi - lo) * sizeof(float));
            } else {
                for (int wo = lo; wo < hi; wo++) o[wo] = xr[(long)wo * g->sw + off];
            }
            for (int wo = hi; wo < g->Wo; wo++) o[wo] = 0.0f;
        }
    }
}

/* The adjoint of vol2col: dx += scatter(dcol). Each input channel owns the
 * kvol rows that read it and is handled by one thread, in a fixed order, so
 * no two threads touch the same element and sums do not depend on threads. */
static void col2vol(float *dx, const float *dcol, const geom *g, int r0, int nr) {
    size_t ncols = (size_t)nr * g->Wo;
#pragma omp parallel for schedule(static)
    for (int c = 0; c < g->cin; c++) {
        float *dxc = dx + (size_t)c * g->in_sz;
        for (size_t k = 0; k < g->kvol; k++) {
            int dw = (int)(k % (size_t)g->kw);
            int dh = (int)((k / (size_t)g->kw) % (size_t)g->kh);
            int dt = (int)(k / ((size_t)g->kw * g->kh));
            const float *in = dcol + ((size_t)c * g->kvol + k) * ncols;
            int lo, hi;
            valid_cols(g, dw, &lo, &hi);
            for (int q = 0; q < nr; q++) {
                int row = r0 + q;
                int to = row / g->Ho, ho = row % g->Ho;
                int t = to * g->st - g->tfront + dt;
                /* A replicated frame's gradient is frame 0's: this thread owns
                 * channel c, so the sum stays in a fixed order. */
                if (t < 0 && g->replicate) t = 0;
                int h = ho * g->sh - g->ph + dh;
                if (t < 0 || t >= g->T || h < 0 || h >= g->H) continue;
                const float *i = in + (size_t)q * g->Wo;
                float *xr = dxc + ((size_t)t * g->H + h) * g->W;
                long off = dw - g->pw;
                for (int wo = lo; wo < hi; wo++) xr[(long)wo * g->sw + off] += i[wo];
            }
        }
    }
}

vd_status vd_cpu_conv3d_fwd(float *y, const float *x, const float *w, const float *b,
                            const vd_conv3d_shape *s, vd_arena *ws) {
    geom g;
    geom_init(&g, s);
    if (g.out_sz == 0 || s->batch <= 0 || g.cout <= 0) return VD_OK;
    size_t mark = 0;
    float *col = NULL;
    if (!g.direct) {
        if (!ws) return VD_ERR_ARG;
        mark = vd_arena_mark(ws);
        col = vd_arena_floats(ws, g.K * (size_t)g.chunk * g.Wo);
        if (!col) {
            vd_arena_reset(ws, mark);
            return VD_ERR_NOMEM;
        }
    }
    for (int n = 0; n < s->batch; n++) {
        const float *xn = x + (size_t)n * g.cin * g.in_sz;
        float *yn = y + (size_t)n * g.cout * g.out_sz;
        /* The bias goes in first so that the gemm accumulates onto it. */
        float beta = 0.0f;
        if (b) {
#pragma omp parallel for schedule(static)
            for (int co = 0; co < g.cout; co++) {
                float *yc = yn + (size_t)co * g.out_sz;
                for (size_t i = 0; i < g.out_sz; i++) yc[i] = b[co];
            }
            beta = 1.0f;
        }
        if (g.direct) {
            gemm_slabs(CblasNoTrans, CblasNoTrans, g.cout, (int)g.out_sz, g.cin, w, g.cin, xn,
                       (int)g.out_sz, beta, yn, (int)g.out_sz);
            continue;
        }
        for (int r0 = 0; r0 < g.rows; r0 += g.chunk) {
            int nr = g.rows - r0 < g.chunk ? g.rows - r0 : g.chunk;
            int ncols = nr * g.Wo;
            vol2col(col, xn, &g, r0, nr);
            gemm_slabs(CblasNoTrans, CblasNoTrans, g.cout, ncols, (int)g.K, w, (int)g.K, col,
                       ncols, beta, yn + (size_t)r0 * g.Wo, (int)g.out_sz);
        }
    }
    if (col) vd_arena_reset(ws, mark);
    return VD_OK;
}

vd_status vd_cpu_conv3d_bwd(float *dx, float *dw, float *db, const float *dy,
                            const float *x, const float *w, const vd_conv3d_shape *s,
                            vd_arena *ws) {
    geom g;
    geom_init(&g, s);
    if (g.out_sz == 0 || s->batch <= 0 || g.cout <= 0) return VD_OK;
    if (db) {
        /* One channel per iteration, batch and positions in a fixed order. */
#pragma omp parallel for schedule(static)
        for (int co = 0; co < g.cout; co++) {
            double sum = 0.0;
            for (int n = 0; n < s->batch; n++) {
                const float *d = dy + ((size_t)n * g.cout + co) * g.out_sz;
                for (size_t i = 0; i < g.out_sz; i++) sum += d[i];
            }
            db[co] += (float)sum;
        }
    }
    if (!dx && !dw) return VD_OK;
    size_t mark = 0;
    float *col = NULL;
    if (!g.direct) {
        if (!ws) return VD_ERR_ARG;
        mark = vd_arena_mark(ws);
        col = vd_arena_floats(ws, g.K * (size_t)g.chunk * g.Wo);
        if (!col) {
            vd_arena_reset(ws, mark);
            return VD_ERR_NOMEM;
        }
    }
    for (int n = 0; n < s->batch; n++) {
        const float *xn = x + (size_t)n * g.cin * g.in_sz;
        const float *dyn = dy + (size_t)n * g.cout * g.out_sz;
        float *dxn = dx ? dx + (size_t)n * g.cin * g.in_sz : NULL;
        if (g.direct) {
            if (dw)
                gemm_slabs(CblasNoTrans, CblasTrans, g.cout, g.cin, (int)g.out_sz, dyn,
                           (int)g.out_sz, xn, (int)g.out_sz, 1.0f, dw, g.cin);
            if (dxn)
                gemm_slabs(CblasTrans, CblasNoTrans, g.cin, (int)g.out_sz, g.cout, w, g.cin, dyn,
                           (int)g.out_sz, 1.0f, dxn, (int)g.out_sz);
            continue;
        }
        for (int r0 = 0; r0 < g.rows; r0 += g.chunk) {
            int nr = g.rows - r0 < g.chunk ? g.rows - r0 : g.chunk;
            int ncols = nr * g.Wo;
            const float *dyc = dyn + (size_t)r0 * g.Wo;
            if (dw) {
                vol2col(col, xn, &g, r0, nr);
                gemm_slabs(CblasNoTrans, CblasTrans, g.cout, (int)g.K, ncols, dyc, (int)g.out_sz,
                           col, ncols, 1.0f, dw, (int)g.K);
            }
            if (dxn) {
                /* The column buffer is free again once dW has used it. */
                gemm_slabs(CblasTrans, CblasNoTrans, (int)g.K, ncols, g.cout, w, (int)g.K, dyc,
                           (int)g.out_sz, 0.0f, col, ncols);
                col2vol(dxn, col, &g, r0, nr);
            }
        }
    }
    if (col) vd_arena_reset(ws, mark);
    return VD_OK;
}
