/* Spacetime patches: x (B, C, T, H, W) <-> tokens (B, N, C*pt*ph*pw), token
 * n = (t*Hp + h)*Wp + w and feature f = ((c*pt + dt)*ph + dh)*pw + dw, the
 * order of a Conv3d weight. The map is a permutation, so each token (one
 * per loop iteration) touches a set of video elements no other token
 * touches: both directions run in parallel over tokens without races, and
 * each is the other's adjoint. */
#include "ops/cpu/cpu.h"

/* Where token bn's patch starts in the video, and the video of its sample. */
typedef struct patch_at {
    size_t video; /* offset of the sample's video */
    int t0, h0, w0;
} patch_at;

static patch_at locate(long bn, int C, int T, int H, int W, int pt, int ph, int pw) {
    int Tp = T / pt, Hp = H / ph, Wp = W / pw;
    long N = (long)Tp * Hp * Wp;
    long b = bn / N, n = bn % N;
    patch_at p;
    p.video = (size_t)b * C * T * H * W;
    p.w0 = (int)(n % Wp) * pw;
    p.h0 = (int)((n / Wp) % Hp) * ph;
    p.t0 = (int)(n / ((long)Wp * Hp)) * pt;
    return p;
}

void vd_cpu_patchify(float *tokens, const float *x, int B, int C, int T, int H, int W,
                     int pt, int ph, int pw, int accumulate) {
    long total = (long)B * (T / pt) * (H / ph) * (W / pw);
    size_t F = (size_t)C * pt * ph * pw;
#pragma omp parallel for schedule(static)
    for (long bn = 0; bn < total; bn++) {
        patch_at p = locate(bn, C, T, H, W, pt, ph, pw);
        float *tk = tokens + (size_t)bn * F;
        for (int c = 0; c < C; c++)
            for (int dt = 0; dt < pt; dt++)
                for (int dh = 0; dh < ph; dh++, tk += pw) {
                    const float *row =
                        x + p.video + (((size_t)c * T + p.t0 + dt) * H + p.h0 + dh) * W + p.w0;
                    if (accumulate)
                        for (int dw = 0; dw < pw; dw++) tk[dw] += row[dw];
                    else
                        for (int dw = 0; dw < pw; dw++) tk[dw] = row[dw];
                }
    }
}

void vd_cpu_unpatchify(float *x, const float *tokens, int B, int C, int T, int H, int W,
                       int pt, int ph, int pw, int accumulate) {
    long total = (long)B * (T / pt) * (H / ph) * (W / pw);
    size_t F = (size_t)C * pt * ph * pw;
#pragma omp parallel for schedule(static)
    for (long bn = 0; bn < total; bn++) {
        patch_at p = locate(bn, C, T, H, W, pt, ph, pw);
        const float *tk = tokens + (size_t)bn * F;
        for (int c = 0; c < C; c++)
            for (int dt = 0; dt < pt; dt++)
                for (int dh = 0; dh < ph; dh++, tk += pw) {
                    float *row =
                        x + p.video + (((size_t)c * T + p.t0 + dt) * H + p.h0 + dh) * W + p.w0;
                    if (accumulate)
                        for (int dw = 0; dw < pw; dw++) row[dw] += tk[dw];
                    else
                        for (int dw = 0; dw < pw; dw++) row[dw] = tk[dw];
                }
    }
}
