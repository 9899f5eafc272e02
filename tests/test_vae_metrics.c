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

/* A still video's latent, 4 latent frames. With time kernels of 1 only
 * the two stride-2 down-samplings (time kernel 3, causal) mix frames: latent
 * frame 1 still sees frame 0's own branch (coded next to the zero padding),
 * frames 2 and 3 see identical frames only, so the last step's drift is
 * exactly 0. With causal time kernels of 3 at every level the padding
 * reaches further, and the code of the same picture keeps moving. Returns
 * the drift of the last step (latent frame 2 to 3). */
static double still_drift_of(int kt, int *steps) {
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
    enum { T = 13, H = 16, W = 16 }; /* 4 latent frames: 2 steps after frame 1 */
    vd_vae *v = NULL;
    vd_error err;
    CHECK(!vd_vae_new(&v, &c, 0, 5, NULL, &err), "%s", err.message);
    float *x = malloc(sizeof(float) * 3 * T * H * W);
    for (int i = 0; i < 3 * T * H * W; i++) x[i] = (float)sin(0.37 * i);
    vd_arena *ws = vd_arena_new(NULL, 0);
    double d[8] = {0};
    *steps = vd_vae_still_drift(v, x, T, H, W, d, 8, ws, &err);
    CHECK(vd_vae_still_drift(v, x, 0, H, W, d, 8, ws, &err) == -1 && strstr(err.message, "0x"),
          "a 0-frame video: %s", err.message);
    CHECK(vd_vae_still_drift(v, x, 5, H, W, d, 8, ws, &err) == 0, "2 latent frames: no step");
    vd_arena_free(ws);
    free(x);
    vd_vae_free(v);
    return d[1];
}

static void test_still_drift(void) {
    int steps1, steps3;
    double d1 = still_drift_of(1, &steps1), d3 = still_drift_of(3, &steps3);
    CHECK(steps1 == 2 && steps3 == 2, "steps %d, %d (want 2)", steps1, steps3);
    CHECK(d1 == 0.0, "time kernels 1: drift %.3g from latent frame 2 to 3, want 0", d1);
    CHECK(d3 > 1e-3, "time kernels 3: drift %.3g from latent frame 2 to 3, want > 0", d3);
    printf("ok   still drift, latent frame 2 to 3: %.2g with time kernels 1, %.3f with causal "
           "kernels 3\n", d1, d3);
}

int main(void) {
    test_psnr_latent_frames();
    test_still_drift();
    return vt_result("test_vae_metrics");
}
