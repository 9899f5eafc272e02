/* adaLN modulation and gated residuals over tokens x (B, N, C), with per-
 * sample vectors (shift, scale, gate) whose batch rows sit mod_stride floats
 * apart, so they can be slices of one (B, k*C) modulation output.
 *
 * Token rows are independent and run in parallel. The per-sample gradients
 * (dshift, dscale, dgate) are sums over tokens: each task owns one sample and
 * a fixed block of columns and walks the tokens in order, so the result does
 * not depend on the thread count. */
#include "ops/cpu/cpu.h"

enum { MOD_COLS = 64 };

#define PAR_IF(work) if ((size_t)(work) > 32768)

void vd_cpu_modulate_fwd(float *y, const float *x, const float *shift,
                         const float *scale, int B, int N, int C, int mod_stride) {
    long rows = (long)B * N;
#pragma omp parallel for schedule(static) PAR_IF((size_t)rows * C)
    for (long r = 0; r < rows; r++) {
        long b = r / N;
        const float *sh = shift + (size_t)b * mod_stride, *sc = scale + (size_t)b * mod_stride;
        const float *xr = x + (size_t)r * C;
        float *yr = y + (size_t)r * C;
        for (int c = 0; c < C; c++) yr[c] = xr[c] * (1.0f + sc[c]) + sh[c];
    }
}

void vd_cpu_modulate_bwd(float *dx, float *dshift, float *dscale, const float *dy,
                         const float *x, const float *scale, int B, int N, int C,
                         int mod_stride) {
    long rows = (long)B * N;
    if (dx) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)rows * C)
        for (long r = 0; r < rows; r++) {
            const float *sc = scale + (size_t)(r / N) * mod_stride;
            const float *dyr = dy + (size_t)r * C;
            float *dxr = dx + (size_t)r * C;
            for (int c = 0; c < C; c++) dxr[c] += dyr[c] * (1.0f + sc[c]);
        }
    }
    if (dshift || dscale) {
        int cb = (C + MOD_COLS - 1) / MOD_COLS;
        int tasks = B * cb;
#pragma omp parallel for schedule(static) PAR_IF((size_t)rows * C)
        for (int t = 0; t < tasks; t++) {
            int b = t / cb, c0 = (t % cb) * MOD_COLS;
            int c1 = c0 + MOD_COLS < C ? c0 + MOD_COLS : C;
            double ash[MOD_COLS] = {0}, asc[MOD_COLS] = {0};
            for (int n = 0; n < N; n++) {
                size_t off = ((size_t)b * N + n) * C;
                const float *dyr = dy + off, *xr = x + off;
                for (int c = c0; c < c1; c++) {
                    ash[c - c0] += dyr[c];
                    asc[c - c0] += (double)dyr[c] * xr[c];
                }
            }
            for (int c = c0; c < c1; c++) {
                if (dshift) dshift[(size_t)b * mod_stride + c] += (float)ash[c - c0];
                if (dscale) dscale[(size_t)b * mod_stride + c] += (float)asc[c - c0];
            }
        }
    }
}

void vd_cpu_gate_residual_fwd(float *out, const float *x, const float *y, const float *gate,
                              int B, int N, int C, int mod_stride) {
    long rows = (long)B * N;
#pragma omp parallel for schedule(static) PAR_IF((size_t)rows * C)
    for (long r = 0; r < rows; r++) {
        const float *g = gate + (size_t)(r / N) * mod_stride;
        const float *xr = x + (size_t)r * C, *yr = y + (size_t)r * C;
        float *o = out + (size_t)r * C;
        for (int c = 0; c < C; c++) o[c] = xr[c] + g[c] * yr[c];
    }
}

void vd_cpu_gate_residual_bwd(float *dy, float *dgate, const float *dout,
                              const float *y, const float *gate, int B, int N,
                              int C, int mod_stride) {
    long rows = (long)B * N;
    if (dy) {
#pragma omp parallel for schedule(static) PAR_IF((size_t)rows * C)
        for (long r = 0; r < rows; r++) {
            const float *g = gate + (size_t)(r / N) * mod_stride;
            const float *d = dout + (size_t)r * C;
            float *dyr = dy + (size_t)r * C;
            for (int c = 0; c < C; c++) dyr[c] += g[c] * d[c];
        }
    }
    if (dgate) {
        int cb = (C + MOD_COLS - 1) / MOD_COLS;
        int tasks = B * cb;
#pragma omp parallel for schedule(static) PAR_IF((size_t)rows * C)
        for (int t = 0; t < tasks; t++) {
            int b = t / cb, c0 = (t % cb) * MOD_COLS;
            int c1 = c0 + MOD_COLS < C ? c0 + MOD_COLS : C;
            double acc[MOD_COLS] = {0};
            for (int n = 0; n < N; n++) {
                size_t off = ((size_t)b * N + n) * C;
                const float *d = dout + off, *yr = y + off;
                for (int c = c0; c < c1; c++) acc[c - c0] += (double)d[c] * yr[c];
            }
            for (int c = c0; c < c1; c++) dgate[(size_t)b * mod_stride + c] += (float)acc[c - c0];
        }
    }
}
