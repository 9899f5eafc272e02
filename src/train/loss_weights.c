/* Loss weights that make small objects count (see loss_weights.h). */
#include "train/loss_weights.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

void vd_standout_weights(float *w, const float *x, int B, int C, int T, int H, int W,
                         float extra, float threshold, float *scratch) {
    const size_t plane = (size_t)H * W;
    float *border = scratch, *mask = scratch + 2 * (H + W);
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            memset(mask, 0, plane * sizeof *mask);
            for (int c = 0; c < C; c++) {
                const float *p = x + (((size_t)b * C + c) * T + t) * plane;
                int n = 0;
                for (int i = 0; i < W; i++) {
                    border[n++] = p[i];
                    if (H > 1) border[n++] = p[(size_t)(H - 1) * W + i];
                }
                for (int j = 1; j + 1 < H; j++) {
                    border[n++] = p[(size_t)j * W];
                    if (W > 1) border[n++] = p[(size_t)j * W + W - 1];
                }
                qsort(border, (size_t)n, sizeof *border, cmp_float);
                const float bg = border[n / 2];
                for (size_t i = 0; i < plane; i++)
                    if (fabsf(p[i] - bg) > threshold) mask[i] = 1.0f;
            }
            float *w0 = w + ((size_t)b * C * T + t) * plane;
            for (int j = 0; j < H; j++)
                for (int i = 0; i < W; i++) {
                    float m = 0.0f;
                    for (int dj = -1; dj <= 1; dj++)
                        for (int di = -1; di <= 1; di++) {
                            int y = j + dj, xx = i + di;
                            if (y >= 0 && y < H && xx >= 0 && xx < W)
                                m = fmaxf(m, mask[(size_t)y * W + xx]);
                        }
                    w0[(size_t)j * W + i] = 1.0f + extra * m;
                }
            for (int c = 1; c < C; c++)
                memcpy(w0 + (size_t)c * T * plane, w0, plane * sizeof *w0);
        }
}
