/* LayerNorm and RMSNorm over the last dimension of x[M, C].
 *
 * Rows are independent, so forward and dx run in parallel over rows. The
 * parameter gradients (dw, db) are sums over rows: each task owns a fixed
 * block of columns and walks every row in order, so the sums do not depend
 * on the thread count and no task writes another's columns. Row statistics
 * accumulate in double: activations with a large mean relative to their
 * spread would lose the variance to cancellation in float. They accumulate
 * in LANES running sums, added up in a fixed order at the end: one running
 * sum is a chain of dependent additions that does not vectorise (it was 5%
 * of a DiT sampling step), and the order still depends on C alone. */
#include <math.h>

#include "ops/cpu/cpu.h"

enum { PARAM_COLS = 64, LANES = 8 };

static double lanes_total(const double s[LANES]) {
    double t = 0;
    for (int l = 0; l < LANES; l++) t += s[l];
    return t;
}

/* sum of x[c] */
static double row_sum(const float *x, int C) {
    double s[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
        for (int l = 0; l < LANES; l++) s[l] += x[c + l];
    for (; c < C; c++) s[c % LANES] += x[c];
    return lanes_total(s);
}

/* sum of (x[c] - mu)^2 */
static double row_sq_dev(const float *x, double mu, int C) {
    double s[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
        for (int l = 0; l < LANES; l++) {
            double d = x[c + l] - mu;
            s[l] += d * d;
        }
    for (; c < C; c++) s[c % LANES] += (x[c] - mu) * (x[c] - mu);
    return lanes_total(s);
}

/* sum of a[c] * w[c] * b[c], w NULL for ones */
static double row_dot3(const float *a, const float *w, const float *b, int C) {
    double s[LANES] = {0};
    int c = 0;
    if (w) {
        for (; c + LANES <= C; c += LANES)
            for (int l = 0; l < LANES; l++) s[l] += (double)(a[c + l] * w[c + l]) * b[c + l];
        for (; c < C; c++) s[c % LANES] += (double)(a[c] * w[c]) * b[c];
    } else {
        for (; c + LANES <= C; c += LANES)
            for (int l = 0; l < LANES; l++) s[l] += (double)a[c + l] * b[c + l];
        for (; c < C; c++) s[c % LANES] += (double)a[c] * b[c];
    }
    return lanes_total(s);
}

#define PAR_IF(work) if ((size_t)(work) > 32768)

void vd_cpu_layernorm_fwd(float *y, float *mean, float *rstd, const float *x,
                          const float *w, const float *b, int M, int C, float eps) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
    for (int i = 0; i < M; i++) {
        const float *xr = x + (size_t)i * C;
        float *yr = y + (size_t)i * C;
        double mu = row_sum(xr, C) / C;
        double v = row_sq_dev(xr, mu, C); /* second pass: no cancellation */
        float m = (float)mu;
        float r = (float)(1.0 / sqrt(v / C + (double)eps));
        for (int c = 0; c < C; c++) {
            float n = (xr[c] - m) * r;
            if (w) n *= w[c];
            if (b) n += b[c];
            yr[c] = n;
        }
        if (mean) mean[i] = m;
        if (rstd) rstd[i] = r;
    }
}

/* sum of g and of g * xhat, g = dy * w, xhat = (x - m) * r */
static void ln_grad_sums(double *sum_g, double *sum_gx, const float *dy, const float *w,
                         const float *x, float m, float r, int C) {
    double sg[LANES] = {0}, sgx[LANES] = {0};
    int c = 0;
    for (; c + LANES <= C; c += LANES)
        for (int l = 0; l < LANES; l++) {
            float g = w ? dy[c + l] * w[c + l] : dy[c + l];
            sg[l] += g;
            sgx[l] += (double)g * ((x[c + l] - m) * r);
        }
    for (; c < C; c++) {
        float g = w ? dy[c] * w[c] : dy[c];
        sg[c % LANES] += g;
        sgx[c % LANES] += (double)g * ((x[c] - m) * r);
    }
    *sum_g = lanes_total(sg);
    *sum_gx = lanes_total(sgx);
}

void vd_cpu_layernorm_bwd(float *dx, float *dw, float *db, const float *dy,
                          const float *x, const float *w, const float *mean,
                          const float *rstd, int M, int C) {
    if (dx) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
        for (int i = 0; i < M; i++) {
            const float *xr = x + (size_t)i * C, *dyr = dy + (size_t)i * C;
            float *dxr = dx + (size_t)i * C;
            float m = mean[i], r = rstd[i];
            /* dx = r * (g - mean(g) - xhat * mean(g * xhat)), g = dy * w */
            double sg, sgx;
            ln_grad_sums(&sg, &sgx, dyr, w, xr, m, r, C);
            float mg = (float)(sg / C), mgx = (float)(sgx / C);
            for (int c = 0; c < C; c++) {
                float g = w ? dyr[c] * w[c] : dyr[c];
                float xh = (xr[c] - m) * r;
                dxr[c] += r * (g - mg - xh * mgx);
            }
        }
    }
    if (dw || db) {
        int tasks = (C + PARAM_COLS - 1) / PARAM_COLS;
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
        for (int t = 0; t < tasks; t++) {
            int c0 = t * PARAM_COLS, c1 = c0 + PARAM_COLS < C ? c0 + PARAM_COLS : C;
            double aw[PARAM_COLS] = {0}, ab[PARAM_COLS] = {0};
            for (int i = 0; i < M; i++) {
                const float *xr = x + (size_t)i * C, *dyr = dy + (size_t)i * C;
                float m = mean[i], r = rstd[i];
                for (int c = c0; c < c1; c++) {
                    aw[c - c0] += (double)dyr[c] * ((xr[c] - m) * r);
                    ab[c - c0] += dyr[c];
                }
            }
            for (int c = c0; c < c1; c++) {
                if (dw) dw[c] += (float)aw[c - c0];
                if (db) db[c] += (float)ab[c - c0];
            }
        }
    }
}

void vd_cpu_rmsnorm_fwd(float *y, float *rstd, const float *x, const float *w,
                        int M, int C, float eps) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
    for (int i = 0; i < M; i++) {
        const float *xr = x + (size_t)i * C;
        float *yr = y + (size_t)i * C;
        double ss = row_dot3(xr, NULL, xr, C);
        float r = (float)(1.0 / sqrt(ss / C + (double)eps));
        for (int c = 0; c < C; c++) yr[c] = w ? xr[c] * r * w[c] : xr[c] * r;
        if (rstd) rstd[i] = r;
    }
}

void vd_cpu_rmsnorm_bwd(float *dx, float *dw, const float *dy, const float *x,
                        const float *w, const float *rstd, int M, int C) {
    if (dx) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
        for (int i = 0; i < M; i++) {
            const float *xr = x + (size_t)i * C, *dyr = dy + (size_t)i * C;
            float *dxr = dx + (size_t)i * C;
            float r = rstd[i];
            /* dx = r * (g - x * r^2 * mean(g * x)), g = dy * w */
            double sgx = row_dot3(dyr, w, xr, C);
            float k = (float)(sgx / C) * r * r;
            for (int c = 0; c < C; c++) {
                float g = w ? dyr[c] * w[c] : dyr[c];
                dxr[c] += r * (g - xr[c] * k);
            }
        }
    }
    if (dw) {
        int tasks = (C + PARAM_COLS - 1) / PARAM_COLS;
#pragma omp parallel for schedule(static) PAR_IF((size_t)M * C)
        for (int t = 0; t < tasks; t++) {
            int c0 = t * PARAM_COLS, c1 = c0 + PARAM_COLS < C ? c0 + PARAM_COLS : C;
            double aw[PARAM_COLS] = {0};
            for (int i = 0; i < M; i++) {
                const float *xr = x + (size_t)i * C, *dyr = dy + (size_t)i * C;
                float r = rstd[i];
                for (int c = c0; c < c1; c++) aw[c - c0] += (double)dyr[c] * (xr[c] * r);
            }
            for (int c = c0; c < c1; c++) dw[c] += (float)aw[c - c0];
        }
    }
}
