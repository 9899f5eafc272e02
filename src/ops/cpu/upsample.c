/* Up-sampling of (BC, T, H, W) planes by integer factors: nearest and
 * trilinear (PyTorch's align_corners=False).
 *
 * Backward passes never let two threads add into the same element: nearest
 * gathers each dx element from the block of outputs that copied it, and
 * trilinear scatters one whole plane per thread, in a fixed order. */
#include "ops/cpu/cpu.h"

void vd_cpu_upsample_nearest_fwd(float *y, const float *x, int BC, int T, int H, int W,
                                 int ft, int fh, int fw) {
    int To = T * ft, Ho = H * fh, Wo = W * fw;
    long rows = (long)BC * To;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        long p = r / To;
        int to = (int)(r % To);
        const float *xt = x + ((size_t)p * T + to / ft) * H * W;
        float *yt = y + (size_t)r * Ho * Wo;
        for (int ho = 0; ho < Ho; ho++) {
            const float *xr = xt + (size_t)(ho / fh) * W;
            float *yr = yt + (size_t)ho * Wo;
            for (int w = 0; w < W; w++)
                for (int k = 0; k < fw; k++) yr[w * fw + k] = xr[w];
        }
    }
}

void vd_cpu_upsample_nearest_bwd(float *dx, const float *dy, int BC, int T, int H, int W,
                                 int ft, int fh, int fw) {
    int To = T * ft, Ho = H * fh, Wo = W * fw;
    long rows = (long)BC * T;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        long p = r / T;
        int t = (int)(r % T);
        float *dxt = dx + (size_t)r * H * W;
        for (int h = 0; h < H; h++) {
            for (int w = 0; w < W; w++) {
                float s = 0.0f;
                for (int a = 0; a < ft; a++) {
                    const float *dyt = dy + ((size_t)p * To + (size_t)t * ft + a) * Ho * Wo;
                    for (int b = 0; b < fh; b++) {
                        const float *dyr = dyt + ((size_t)h * fh + b) * Wo + (size_t)w * fw;
                        for (int c = 0; c < fw; c++) s += dyr[c];
                    }
                }
                dxt[(size_t)h * W + w] += s;
            }
        }
    }
}

/* Where output index `o` of an axis up-sampled by f reads: inputs i0 and
 * i1 with weights l0 and l1, computed in float exactly as PyTorch does. */
typedef struct lerp {
    int i0, i1;
    float l0, l1;
} lerp;

static lerp axis_lerp(int o, int in, int f) {
    float scale = (float)in / (float)(in * f);
    float src = scale * ((float)o + 0.5f) - 0.5f;
    if (src < 0.0f) src = 0.0f;
    lerp r;
    r.i0 = (int)src;
    if (r.i0 > in - 1) r.i0 = in - 1;
    r.i1 = r.i0 < in - 1 ? r.i0 + 1 : r.i0;
    float l = src - (float)r.i0;
    if (l < 0.0f) l = 0.0f;
    if (l > 1.0f) l = 1.0f;
    r.l1 = l;
    r.l0 = 1.0f - l;
    return r;
}

void vd_cpu_upsample_trilinear_fwd(float *y, const float *x, int BC, int T, int H, int W,
                                   int ft, int fh, int fw) {
    int To = T * ft, Ho = H * fh, Wo = W * fw;
    long rows = (long)BC * To;
#pragma omp parallel for schedule(static)
    for (long r = 0; r < rows; r++) {
        long p = r / To;
        lerp lt = axis_lerp((int)(r % To), T, ft);
        const float *x0 = x + ((size_t)p * T + lt.i0) * H * W;
        const float *x1 = x + ((size_t)p * T + lt.i1) * H * W;
        float *yt = y + (size_t)r * Ho * Wo;
        for (int ho = 0; ho < Ho; ho++) {
            lerp lh = axis_lerp(ho, H, fh);
            const float *a0 = x0 + (size_t)lh.i0 * W, *a1 = x0 + (size_t)lh.i1 * W;
            const float *b0 = x1 + (size_t)lh.i0 * W, *b1 = x1 + (size_t)lh.i1 * W;
            float *yr = yt + (size_t)ho * Wo;
            for (int wo = 0; wo < Wo; wo++) {
                lerp lw = axis_lerp(wo, W, fw);
                int u = lw.i0, v = lw.i1;
                yr[wo] = lt.l0 * (lh.l0 * (lw.l0 * a0[u] + lw.l1 * a0[v]) +
                                  lh.l1 * (lw.l0 * a1[u] + lw.l1 * a1[v])) +
                         lt.l1 * (lh.l0 * (lw.l0 * b0[u] + lw.l1 * b0[v]) +
                                  lh.l1 * (lw.l0 * b1[u] + lw.l1 * b1[v]));
            }
        }
    }
}

void vd_cpu_upsample_trilinear_bwd(float *dx, const float *dy, int BC, int T, int H, int W,
                                   int ft, int fh, int fw) {
    int To = T * ft, Ho = H * fh, Wo = W * fw;
#pragma omp parallel for schedule(static)
    for (int p = 0; p < BC; p++) {
        float *dxp = dx + (size_t)p * T * H * W;
        const float *dyp = dy + (size_t)p * To * Ho * Wo;
        for (int to = 0; to < To; to++) {
            lerp lt = axis_lerp(to, T, ft);
            float *x0 = dxp + (size_t)lt.i0 * H * W, *x1 = dxp + (size_t)lt.i1 * H * W;
            for (int ho = 0; ho < Ho; ho++) {
                lerp lh = axis_lerp(ho, H, fh);
                float *a0 = x0 + (size_t)lh.i0 * W, *a1 = x0 + (size_t)lh.i1 * W;
                float *b0 = x1 + (size_t)lh.i0 * W, *b1 = x1 + (size_t)lh.i1 * W;
                const float *dr = dyp + ((size_t)to * Ho + ho) * Wo;
                for (int wo = 0; wo < Wo; wo++) {
                    lerp lw = axis_lerp(wo, W, fw);
                    int u = lw.i0, v = lw.i1;
                    float d = dr[wo];
                    a0[u] += lt.l0 * lh.l0 * lw.l0 * d;
                    a0[v] += lt.l0 * lh.l0 * lw.l1 * d;
                    a1[u] += lt.l0 * lh.l1 * lw.l0 * d;
                    a1[v] += lt.l0 * lh.l1 * lw.l1 * d;
                    b0[u] += lt.l1 * lh.l0 * lw.l0 * d;
                    b0[v] += lt.l1 * lh.l0 * lw.l1 * d;
                    b1[u] += lt.l1 * lh.l1 * lw.l0 * d;
                    b1[v] += lt.l1 * lh.l1 * lw.l1 * d;
                }
            }
        }
    }
}
