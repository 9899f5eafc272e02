/* The VAE's quality metrics: PSNR per latent frame, and the drift of a
 * still video's latent. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "models/vae.h"
#include "test.h"

/* Per-latent-frame PSNR: groups of 1, tc, tc, ... frames, each with the
 * MSE it holds (one differing byte per group, by a known amount). */
static void test_psnr_latent_frames(void) {
    enum { T = 11, H = 2, W = 2, FB = H * W * 3 };
    uint8_t a[T * FB], b[T * FB];
    memset(a, 100, sizeof a);
    memcpy(b, a, sizeof b);
    const int first[4] = {0, 1, 5, 9}, size[4] = {1, 4, 4, 2};
    for (int g = 0; g < 4; g++) b[first[g] * FB] = (uint8_t)(100 + 10 * (g + 1));
    double p[8];
    int n = vd_psnr_latent_frames(a, b, T, H, W, 4, p, 8);
    CHECK(n == 4, "%d groups, want 4 (1 + 4 + 4 + 2 frames)", n);
    for (int g = 0; g < 4; g++) {
        double d = 10.0 * (g + 1), want = 10.0 * log10(255.0 * 255.0 * size[g] * FB / (d * d));
        CHECK(fabs(p[g] - want) < 1e-9, "group %d: %.6f dB, want %.6f", g, p[g], want);
    }
    CHECK(vd_psnr_latent_frames(a, a, T, H, W, 4, p, 2) == 4 && isinf(p[0]) && isinf(p[1]),
          "equal videos: inf, and only max values written");
    printf("ok   PSNR per latent frame (1, tc, tc, rest)\n");
}

/* A still video's latent, 4 latent frames. With zero time padding and
 * time kernels of 1 only the two stride-2 down-samplings (time kernel 3,
 * causal) mix frames: latent frame 1 still sees frame 0's own branch (coded
 * next to the zero padding), frames 2 and 3 see identical frames only, so
 * the last step's drift is exactly 0. With causal time kernels of 3 at every
 * level the padding reaches further, and the code of the same picture keeps
 * moving. Replicated padding shows every layer the same frames at every
 * position. Writes both steps' drift and returns the largest |z[0] - z[t]|
 * of the still video's latent over t. */
static double still_drift_of(int kt, int time_pad, int *steps, double drift[2]) {
    vd_vae_config c;
    vd_vae_config_default(&c);
    c.levels = 3;
    int ch[3] = {4, 8, 8};
    for (int i = 0; i < 3; i++) {
        c.channels[i] = ch[i];
        c.enc_blocks[i] = c.dec_blocks[i] = 1;
        c.kt[i] = kt;
    }
    c.down_space[0] = c.down_space[1] = 1;
    c.down_time[0] = c.down_time[1] = 1;
    c.latent_channels = 2;
    c.groups = 2;
    c.time_pad = time_pad;
    enum { T = 13, H = 16, W = 16, Tl = 4, LP = (H / 4) * (W / 4) };
    vd_vae *v = NULL;
    vd_error err;
    CHECK(!vd_vae_new(&v, &c, 0, 5, NULL, &err), "%s", err.message);
    float *x = malloc(sizeof(float) * 3 * T * H * W), *z = malloc(sizeof(float) * 2 * Tl * LP);
    for (int i = 0; i < 3 * T * H * W; i++) x[i] = (float)sin(0.37 * i);
    vd_arena *ws = vd_arena_new(NULL, 0);
    double d[8] = {0};
    *steps = vd_vae_still_drift(v, x, T, H, W, d, 8, ws, &err);
    drift[0] = d[0];
    drift[1] = d[1];
    CHECK(vd_vae_still_drift(v, x, 0, H, W, d, 8, ws, &err) == -1 && strstr(err.message, "0x"),
          "a 0-frame video: %s", err.message);
    CHECK(vd_vae_still_drift(v, x, 5, H, W, d, 8, ws, &err) == 0, "2 latent frames: no step");
    /* The still video itself, for latent frame 0 (which the drift leaves out). */
    for (int ci = 0; ci < 3; ci++)
        for (int t = 1; t < T; t++)
            memcpy(x + ((size_t)ci * T + t) * H * W, x + (size_t)ci * T * H * W,
                   sizeof(float) * H * W);
    CHECK(!vd_vae_encode(v, x, 1, T, H, W, z, ws, &err), "%s", err.message);
    double first = 0;
    for (int ci = 0; ci < 2; ci++)
        for (int t = 1; t < Tl; t++)
            for (int i = 0; i < LP; i++) {
                double e = fabs((double)z[(ci * Tl + t) * LP + i] - z[ci * Tl * LP + i]);
                if (e > first) first = e;
            }
    vd_arena_free(ws);
    free(x);
    free(z);
    vd_vae_free(v);
    return first;
}

static void test_still_drift(void) {
    int steps1, steps3, stepsr;
    double d1[2], d3[2], dr[2];
    still_drift_of(1, VD_VAE_TIME_PAD_ZEROS, &steps1, d1);
    double f3 = still_drift_of(3, VD_VAE_TIME_PAD_ZEROS, &steps3, d3);
    double fr = still_drift_of(3, VD_VAE_TIME_PAD_REPLICATE, &stepsr, dr);
    CHECK(steps1 == 2 && steps3 == 2 && stepsr == 2, "steps %d, %d, %d (want 2)", steps1,
          steps3, stepsr);
    CHECK(d1[1] == 0.0, "time kernels 1: drift %.3g from latent frame 2 to 3, want 0", d1[1]);
    CHECK(d3[1] > 1e-3, "time kernels 3: drift %.3g from latent frame 2 to 3, want > 0", d3[1]);
    CHECK(dr[0] == 0.0 && dr[1] == 0.0, "time_pad replicate: drift %.3g, %.3g, want 0, 0", dr[0],
          dr[1]);
    CHECK(f3 > 1e-3, "zeros: latent frame 0 of a still video within %.3g of the others", f3);
    CHECK(fr == 0.0, "time_pad replicate: latent frame 0 of a still video %.3g off the others",
          fr);
    printf("ok   still drift, latent frame 2 to 3: %.2g with time kernels 1, %.3f with causal "
           "kernels 3\n", d1[1], d3[1]);
    printf("ok   still drift with time_pad replicate (kernels 3): %.2g, %.2g; latent frame 0 vs "
           "the others: max |dz| %.2g (zeros: %.3g)\n", dr[0], dr[1], fr, f3);
}

int main(void) {
    test_psnr_latent_frames();
    test_still_drift();
    return vt_result("test_vae_metrics");
}
