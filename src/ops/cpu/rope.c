/* 3D rotary position embedding (RoPE) over a (time, height, width) grid.
 *
 * The D/2 rotary pairs of a head, (x[2i], x[2i+1]), are split into three
 * consecutive groups: the first dt pairs rotate with the token's time
 * position, the next dh with its row, the last dw with its column. Within a
 * group of g pairs, pair j turns by angle = position * theta^(-j / g), the
 * 1D RoPE frequencies of a head of size 2g (Wan2.1's layout). The rotation
 * is linear and orthogonal, so the backward of rope_apply is the same call
 * with inverse = 1 (rotation by -angle). */
#include <math.h>

#include "ops/cpu/cpu.h"

/* Height and width get floor(pairs / 3) pairs each and time the rest, so
 * time keeps the most (and for D = 64: 12, 10, 10 pairs). */
void vd_rope3d_split(int D, int *dt, int *dh, int *dw) {
    int pairs = D > 0 ? D / 2 : 0;
    int hw = pairs / 3;
    *dh = hw;
    *dw = hw;
    *dt = pairs - 2 * hw;
}

/* One group's angles for position p, into cos/sin rows starting at pair
 * `first`. Computed in double so the table is exact to float rounding. */
static void rope_group(float *c, float *s, int first, int g, double p, double theta) {
    for (int j = 0; j < g; j++) {
        double angle = p * pow(theta, -(double)j / (double)g);
        c[first + j] = (float)cos(angle);
        s[first + j] = (float)sin(angle);
    }
}

void vd_rope3d_table(float *cos_t, float *sin_t, int T, int Hh, int Ww, int D, int dt,
                     int dh, int dw, float theta, int t0, int h0, int w0) {
    const int half = D / 2;
    const long N = (long)T * Hh * Ww;
    /* A split wider than D/2 is clipped rather than written out of bounds. */
    if (dt > half) dt = half;
    if (dh > half - dt) dh = half - dt;
    if (dw > half - dt - dh) dw = half - dt - dh;
#pragma omp parallel for schedule(static)
    for (long n = 0; n < N; n++) {
        const int t = (int)(n / ((long)Hh * Ww));
        const int h = (int)(n / Ww % Hh);
        const int w = (int)(n % Ww);
        float *c = cos_t + (size_t)n * half;
        float *s = sin_t + (size_t)n * half;
        rope_group(c, s, 0, dt, (double)(t + t0), theta);
        rope_group(c, s, dt, dh, (double)(h + h0), theta);
        rope_group(c, s, dt + dh, dw, (double)(w + w0), theta);
        /* Pairs beyond dt + dh + dw (a split that does not cover D/2) do
         * not rotate. */
        for (int i = dt + dh + dw; i < half; i++) {
            c[i] = 1.0f;
            s[i] = 0.0f;
        }
    }
}

/* Width features get floor(D / 3) rounded down to even, as do height
 * features, and time the rest. */
void vd_pos3d_table(float *pe, int T, int Hh, int Ww, int D) {
    const int dh = D / 3 / 2 * 2, dw = dh, dt = D - dh - dw;
    const long N = (long)T * Hh * Ww;
#pragma omp parallel for schedule(static)
    for (long n = 0; n < N; n++) {
        const double pos[3] = {(double)(n / ((long)Hh * Ww)), (double)(n / Ww % Hh),
                               (double)(n % Ww)};
        const int size[3] = {dt, dh, dw};
        float *row = pe + (size_t)n * D;
        for (int a = 0, off = 0; a < 3; off += size[a], a++) {
            const int half = size[a] / 2;
            for (int j = 0; j < half; j++) {
                double angle = pos[a] * pow(10000.0, -2.0 * j / size[a]);
                row[off + j] = (float)sin(angle);
                row[off + half + j] = (float)cos(angle);
            }
            if (size[a] % 2) row[off + size[a] - 1] = 0.0f;
        }
    }
}

void vd_cpu_rope_apply(float *x, const float *cos_t, const float *sin_t, int B, int N, int H,
                       int D, int stride, int inverse) {
    const int half = D / 2;
    const float sign = inverse ? -1.0f : 1.0f;
    const long rows = (long)B * N;
#pragma omp parallel for schedule(static)
    for (long row = 0; row < rows; row++) {
        const int n = (int)(row % N);
        const float *c = cos_t + (size_t)n * half;
        const float *s = sin_t + (size_t)n * half;
        for (int h = 0; h < H; h++) {
            float *p = x + (size_t)row * stride + (size_t)h * D;
            for (int i = 0; i < half; i++) {
                const float x0 = p[2 * i], x1 = p[2 * i + 1];
                const float si = sign * s[i];
                p[2 * i] = x0 * c[i] - x1 * si;
                p[2 * i + 1] = x0 * si + x1 * c[i];
            }
        }
    }
}
