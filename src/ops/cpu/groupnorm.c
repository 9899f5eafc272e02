/* GroupNorm over x (B, C, S): each of the G groups of C/G channels is
 * normalised over its (C/G)*S values. Statistics are accumulated in double
 * (a group of a video VAE holds millions of values) with a two-pass mean and
 * variance, which does not lose the variance to cancellation as E[x^2] -
 * E[x]^2 would. Every reduction has one owner and a fixed order, so results
 * do not depend on the thread count. */
#include <math.h>

#include "ops/cpu/cpu.h"

void vd_cpu_groupnorm_fwd(float *y, float *mean, float *rstd, const float *x, const float *w,
                          const float *b, int B, int C, int S, int G, float eps) {
    int cg = C / G;
    size_t gsz = (size_t)cg * S;
#pragma omp parallel for schedule(static)
    for (int bg = 0; bg < B * G; bg++) {
        const float *xg = x + (size_t)bg * gsz;
        float *yg = y + (size_t)bg * gsz;
        double sum = 0.0;
        for (size_t i = 0; i < gsz; i++) sum += xg[i];
        double m = sum / (double)gsz;
        double var = 0.0;
        for (size_t i = 0; i < gsz; i++) {
            double d = xg[i] - m;
            var += d * d;
        }
        var /= (double)gsz;
        float mf = (float)m;
        float rs = (float)(1.0 / sqrt(var + (double)eps));
        if (mean) mean[bg] = mf;
        if (rstd) rstd[bg] = rs;
        int g = bg % G;
        for (int j = 0; j < cg; j++) {
            int c = g * cg + j;
            float sc = w ? w[c] * rs : rs;
            float sh = b ? b[c] : 0.0f;
            const float *xc = xg + (size_t)j * S;
            float *yc = yg + (size_t)j * S;
            for (int s = 0; s < S; s++) yc[s] = (xc[s] - mf) * sc + sh;
        }
    }
}

/* With xhat = (x - mean) * rstd and g = dy * w, dx = rstd * (g - mean(g) -
 * xhat * mean(g * xhat)), the means taken over the group. */
void vd_cpu_groupnorm_bwd(float *dx, float *dw, float *db, const float *dy, const float *x,
                          const float *w, const float *mean, const float *rstd, int B, int C,
                          int S, int G) {
    int cg = C / G;
    size_t gsz = (size_t)cg * S;
    if (dx) {
#pragma omp parallel for schedule(static)
        for (int bg = 0; bg < B * G; bg++) {
            const float *xg = x + (size_t)bg * gsz;
            const float *dyg = dy + (size_t)bg * gsz;
            float *dxg = dx + (size_t)bg * gsz;
            float m = mean[bg], rs = rstd[bg];
            int g = bg % G;
            double sg = 0.0, sgx = 0.0;
            for (int j = 0; j < cg; j++) {
                float wc = w ? w[g * cg + j] : 1.0f;
                const float *xc = xg + (size_t)j * S;
                const float *dc = dyg + (size_t)j * S;
                for (int s = 0; s < S; s++) {
                    double gv = (double)dc[s] * wc;
                    sg += gv;
                    sgx += gv * ((double)(xc[s] - m) * rs);
                }
            }
            float mg = (float)(sg / (double)gsz);
            float mgx = (float)(sgx / (double)gsz);
            for (int j = 0; j < cg; j++) {
                float wc = w ? w[g * cg + j] : 1.0f;
                const float *xc = xg + (size_t)j * S;
                const float *dc = dyg + (size_t)j * S;
                float *dxc = dxg + (size_t)j * S;
                for (int s = 0; s < S; s++) {
                    float xhat = (xc[s] - m) * rs;
                    dxc[s] += rs * (dc[s] * wc - mg - xhat * mgx);
                }
            }
        }
    }
    if (dw || db) {
        /* One channel per iteration, batch in order: no shared partials. */
#pragma omp parallel for schedule(static)
        for (int c = 0; c < C; c++) {
            int g = c / cg;
            double sw = 0.0, sb = 0.0;
            for (int n = 0; n < B; n++) {
                size_t off = ((size_t)n * C + c) * S;
                float m = mean[n * G + g], rs = rstd[n * G + g];
                for (int s = 0; s < S; s++) {
                    float d = dy[off + s];
                    sb += d;
                    sw += (double)d * ((x[off + s] - m) * rs);
                }
            }
            if (dw) dw[c] += (float)sw;
            if (db) db[c] += (float)sb;
        }
    }
}
