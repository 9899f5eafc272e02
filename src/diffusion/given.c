/* Given latent frames from images and videos (see given.h). */
#include "diffusion/given.h"

#include <stdlib.h>
#include <string.h>

#include "core/error.h"

vd_status vd_t2v_encode(vd_t2v *m, const uint8_t *rgb, int frames, int width, int height,
                        float *z, vd_error *err) {
    vd_vae *vae = vd_t2v_vae(m);
    vd_arena *arena = vd_t2v_arena(m);
    vd_status st = vd_vae_check_input(vae, frames, height, width, err);
    if (st) return vd_fail_prefix(err, st, "t2v: encoding the given frames: ");
    int Tl, Hl, Wl;
    vd_vae_latent_shape(vae, frames, height, width, &Tl, &Hl, &Wl);
    const int Z = vd_vae_get_config(vae)->latent_channels;
    const size_t plane = (size_t)Tl * Hl * Wl;
    float *x = malloc((size_t)3 * frames * height * width * sizeof *x);
    if (!x) return vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory for %d given frames", frames);
    vd_vae_from_rgb(x, rgb, frames, height, width);
    const size_t mark = vd_arena_mark(arena);
    st = vd_vae_encode(vae, x, 1, frames, height, width, z, arena, err);
    vd_arena_reset(arena, mark);
    free(x);
    if (st) return st;
    const float *mean, *std;
    vd_t2v_latent_stats(m, &mean, &std);
    for (int c = 0; c < Z; c++) {
        const float mu = mean[c], inv = 1.0f / std[c];
        float *p = z + (size_t)c * plane;
        for (size_t i = 0; i < plane; i++) p[i] = (p[i] - mu) * inv;
    }
    return VD_OK;
}

vd_status vd_t2v_decode(vd_t2v *m, const float *z, int Tl, int Hl, int Wl, uint8_t *rgb,
                        vd_error *err) {
    vd_vae *vae = vd_t2v_vae(m);
    vd_arena *arena = vd_t2v_arena(m);
    const vd_vae_config *vc = vd_vae_get_config(vae);
    const int Z = vc->latent_channels, sc = vd_vae_config_spatial(vc);
    const int frames = 1 + vd_vae_config_temporal(vc) * (Tl - 1), H = Hl * sc, W = Wl * sc;
    const size_t plane = (size_t)Tl * Hl * Wl;
    float *u = malloc((size_t)Z * plane * sizeof *u);
    float *img = malloc((size_t)3 * frames * H * W * sizeof *img);
    if (!u || !img) {
        free(u);
        free(img);
        return vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory for a %dx%dx%d video", W, H, frames);
    }
    const float *mean, *std;
    vd_t2v_latent_stats(m, &mean, &std);
    for (int c = 0; c < Z; c++)
        for (size_t i = 0; i < plane; i++)
            u[c * plane + i] = z[c * plane + i] * std[c] + mean[c];
    const size_t mark = vd_arena_mark(arena);
    vd_status st = vd_vae_decode(vae, u, 1, Tl, Hl, Wl, img, arena, err);
    vd_arena_reset(arena, mark);
    if (!st) vd_vae_to_rgb(rgb, img, frames, H, W);
    free(u);
    free(img);
    return st;
}

int vd_t2v_extend_plan(int T, int in_frames, int tc) {
    if (T < 2 || in_frames < 1 + tc) return -1;
    /* a + 1 given of T leaves at least half when a + 1 <= T / 2; one given
     * latent frame beyond the image code carries the motion, so take it
     * even for T == 3 (one frame left to generate). */
    int a = T / 2 - 1;
    if (a < 1) a = T >= 3 ? 1 : 0;
    int fit = (in_frames - 1) / tc;
    return a < fit ? a : fit;
}

int vd_t2v_connect_plan(int T, int a_frames, int b_frames, int tc, int *a, int *b) {
    if (T < 3 || a_frames < 1 || b_frames < 1 + tc) return 0;
    int given = (T + 1) / 2;
    if (given < 2) given = 2;
    if (given > T - 1) given = T - 1;
    int bb = given / 2, aa = given - bb - 1;
    if (bb < 1) bb = 1;
    if (aa > (a_frames - 1) / tc) aa = (a_frames - 1) / tc;
    if (bb > (b_frames - 1) / tc) bb = (b_frames - 1) / tc;
    *a = aa;
    *b = bb;
    return 1;
}

void vd_t2v_copy_frames(float *dst, int dT, int d0, const float *src, int sT, int s0, int n,
                        int Z, size_t plane) {
    for (int c = 0; c < Z; c++)
        memcpy(dst + ((size_t)c * dT + d0) * plane, src + ((size_t)c * sT + s0) * plane,
               (size_t)n * plane * sizeof *dst);
}

vd_status vd_t2v_reverse(const vd_video *in, vd_video *out, vd_error *err) {
    vd_status st = vd_video_alloc(out, in->frames, in->width, in->height, in->fps, err);
    if (st) return st;
    const size_t fb = (size_t)in->width * in->height * 3;
    for (int t = 0; t < in->frames; t++)
        memcpy(vd_video_frame(out, t), vd_video_frame(in, in->frames - 1 - t), fb);
    return VD_OK;
}
