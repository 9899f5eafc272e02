/* Given latent frames from images and videos (image to video, extension,
 * connection, editing): encoding pixels to the normalised latents the DiT
 * works on, decoding back, and which latent frames each mode gives.
 *
 * Latent frames and video frames (causal VAE, time compression tc): latent
 * frame 0 codes video frame 0 alone, latent frame k >= 1 codes frames
 * tc (k - 1) + 1 .. tc k. So the last 1 + tc a frames of a video encode
 * as a clip of 1 + a latent frames whose first one is an image code. */
#ifndef VD_DIFFUSION_GIVEN_H
#define VD_DIFFUSION_GIVEN_H

#include <stddef.h>
#include <stdint.h>

#include "diffusion/pipeline.h"

/* Encodes `frames` (1 + tc k) packed RGB frames of width x height (the
 * VAE's size rules) to the normalised latent (Z, Tl, Hl, Wl):
 * (posterior mean - latent_mean) / latent_std. */
vd_status vd_t2v_encode(vd_t2v *m, const uint8_t *rgb, int frames, int width, int height,
                        float *z, vd_error *err);
/* Un-normalises z (Z, Tl, Hl, Wl) and decodes it to 1 + tc (Tl - 1)
 * packed RGB frames (z is left as it was). */
vd_status vd_t2v_decode(vd_t2v *m, const float *z, int Tl, int Hl, int Wl, uint8_t *rgb,
                        vd_error *err);

/* Extension of a clip of T latent frames from a video of in_frames: a
 * (latent frames 0..a of the clip are the encoding of the input's last
 * 1 + tc a frames) is as large as leaves at least half of the T latent
 * frames to generate, at least 1 when T >= 3, 0 when T == 2, and no more
 * than the input holds. -1 when T < 2 or in_frames < 1 + tc. */
int vd_t2v_extend_plan(int T, int in_frames, int tc);
/* Connection over T latent frames: A's last 1 + tc a frames give latent
 * frames 0..a, B's first 1 + tc b frames give (their latents 1..b) the
 * last b. About half of the clip is given, split evenly (b >= 1, a >= 0),
 * at least one latent frame free between; bounded by the inputs' lengths.
 * 0 when it cannot be done (T < 3, B shorter than 1 + tc frames, A
 * empty). */
int vd_t2v_connect_plan(int T, int a_frames, int b_frames, int tc, int *a, int *b);

/* Copies n latent frames from src (Z, sT, plane) starting at frame s0 to
 * dst (Z, dT, plane) starting at d0. */
void vd_t2v_copy_frames(float *dst, int dT, int d0, const float *src, int sT, int s0, int n,
                        int Z, size_t plane);

/* A video with its frames in reverse order (allocated). */
vd_status vd_t2v_reverse(const vd_video *in, vd_video *out, vd_error *err);

#endif
