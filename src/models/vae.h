/* vidit's video compression network: a causal 3D VAE.
 *
 * A video (B, 3, T, H, W) with values in [-1, 1] is encoded to a diagonal
 * Gaussian over latents (B, Z, 1 + (T-1)/tc, H/sc, W/sc) and decoded back.
 * Every convolution is causal in time (padded towards the past only) and
 * GroupNorm is taken per frame, so latent frame 0 depends on video frame 0
 * alone: a still image is a one-frame video sharing the latent space, and
 * decoding can run one latent frame at a time with cached past frames.
 *
 * Encoder: conv_in, then per level `enc_blocks` residual blocks and (except
 * at the last level) a strided causal conv that halves space and/or time
 * (time: causal stride 2, T -> (T-1)/2 + 1) and moves to the next level's
 * channels; norm + SiLU; conv_out to 2Z channels (mean, log-variance,
 * clamped). Decoder: the mirror, up-sampling by nearest neighbour then a
 * conv; a temporal up-sampling doubles frames and drops the first copy, so
 * 1 + k -> 1 + 2k.
 *
 * Input rules (refused with VD_ERR_ARG, never padded here): T >= 1 and
 * T == 1 (mod tc), H and W multiples of sc. The CLI pads time by repeating
 * the last frame (and trims after decoding) and refuses other sizes.
 *
 * Parameters live in one vd_params block; the forward pass used for
 * training saves activations in the caller's arena, and the backward pass
 * walks the same layers in reverse (llm.c style, no graph). */
#ifndef VD_MODELS_VAE_H
#define VD_MODELS_VAE_H

#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/strbuf.h"
#include "nn/params.h"
#include "ops/ops.h"

#define VD_VAE_MAX_LEVELS 6
#define VD_VAE_MAX_LATENT 64

typedef struct vd_vae_config {
    int levels;                             /* 2..VD_VAE_MAX_LEVELS */
    int channels[VD_VAE_MAX_LEVELS];        /* per level */
    int enc_blocks[VD_VAE_MAX_LEVELS];      /* residual blocks per level */
    int dec_blocks[VD_VAE_MAX_LEVELS];
    int kt[VD_VAE_MAX_LEVELS];              /* time kernel of a level's blocks (1 or 3) */
    /* The decoder's own widths and time kernels per level, so that a wider
     * decoder can be trained on a frozen encoder (the latent space stays).
     * 0 (the default) mirrors the encoder's channels[l] / kt[l]: configs
     * built in code that set channels alone keep a symmetric model. Read
     * them through vd_vae_dec_channels / vd_vae_dec_kt. */
    int dec_channels[VD_VAE_MAX_LEVELS];
    int dec_kt[VD_VAE_MAX_LEVELS];
    int down_space[VD_VAE_MAX_LEVELS - 1];  /* per level transition: 1 = halve H, W */
    int down_time[VD_VAE_MAX_LEVELS - 1];   /* 1 = halve time (causally) */
    int latent_channels;                    /* Z */
    int groups;                             /* GroupNorm groups (divide every level) */
    int head_norm;                          /* 1 (default): GroupNorm + SiLU before the
                                               encoder's and decoder's output convs; 0: SiLU
                                               only. groups == 0 drops every norm. */
    int time_pad;                           /* the causal convs' padding in front of frame
                                               0: VD_VAE_TIME_PAD_ZEROS (the default) or
                                               _REPLICATE (copies of frame 0, so a still
                                               video codes to the same latent frame at
                                               every position, frame 0 included) */
    float logvar_min, logvar_max;           /* clamp of the log-variance */
} vd_vae_config;

/* vd_vae_config.time_pad; "time_pad": "zeros" or "replicate" in a config. */
enum { VD_VAE_TIME_PAD_ZEROS = 0, VD_VAE_TIME_PAD_REPLICATE = 1 };

/* 4 levels (16, 32, 64, 64), 8x space, 4x time, Z = 8, 2 groups: the measured
 * default (per-frame GroupNorm with 2 channels per group squashes a flat
 * frame to signs, and toy-world frames are mostly flat: keep >= 8 per group). */
void vd_vae_config_default(vd_vae_config *c);
/* Reads a "model" object: channels, enc_blocks, dec_blocks, time_kernels
 * (arrays), latent_channels, groups, spatial_compression, temporal_compression
 * (which place the downs: space at the first log2(sc) transitions, time at the
 * first log2(tc)), or explicit down_space / down_time arrays; dec_channels and
 * dec_time_kernels (arrays, one entry per level) give the decoder its own
 * widths and time kernels, and equal channels / time_kernels when missing;
 * time_pad ("zeros" or "replicate") the causal padding.
 * Missing members keep c's values. Errors name the member. */
vd_status vd_vae_config_from_json(vd_vae_config *c, const vd_json *model, vd_error *err);
/* Checks ranges and divisibility. */
vd_status vd_vae_config_check(const vd_vae_config *c, vd_error *err);
/* Appends the config as one JSON object (what from_json reads back).
 * dec_channels and dec_time_kernels are written only where they differ
 * from the encoder's, and time_pad only when it is not "zeros", so a
 * symmetric zero-padded model's config reads as it always did. */
void vd_vae_config_json(vd_strbuf *s, const vd_vae_config *c);
/* The decoder's channels and time kernel at level l. */
int vd_vae_dec_channels(const vd_vae_config *c, int l);
int vd_vae_dec_kt(const vd_vae_config *c, int l);
/* "zeros" or "replicate" (the config's spelling), "?" for another value. */
const char *vd_vae_time_pad_name(int time_pad);
/* Which halves of the network two configs build differently (names or
 * shapes of parameters): VD_VAE_DIFF_ENCODER and/or VD_VAE_DIFF_DECODER, 0
 * when every layer is the same (the log-variance clamp and time_pad are not
 * layers: compare time_pad apart where what the encoder computes matters).
 * Members both halves use (levels, downs, latent_channels, groups,
 * head_norm) set both bits. `what` (may be NULL) receives the first
 * difference, the encoder's first ("channels[1]: 32 vs 48"). */
enum { VD_VAE_DIFF_ENCODER = 1, VD_VAE_DIFF_DECODER = 2 };
int vd_vae_config_diff(const vd_vae_config *a, const vd_vae_config *b, char *what,
                       size_t size);
int vd_vae_config_spatial(const vd_vae_config *c);  /* sc */
int vd_vae_config_temporal(const vd_vae_config *c); /* tc */

typedef struct vd_vae vd_vae;

/* Builds the layers and allocates parameters (with gradients when
 * with_grad), initialised from seed. */
vd_status vd_vae_new(vd_vae **out, const vd_vae_config *c, int with_grad, uint64_t seed,
                     const vd_allocator *allocator, vd_error *err);
void vd_vae_free(vd_vae *vae);
const vd_vae_config *vd_vae_get_config(const vd_vae *vae);
vd_params *vd_vae_params(vd_vae *vae);

/* Refuses (VD_ERR_ARG, saying which rule) a video the model cannot code. */
vd_status vd_vae_check_input(const vd_vae *vae, int T, int H, int W, vd_error *err);
/* Latent extent of a video. */
void vd_vae_latent_shape(const vd_vae *vae, int T, int H, int W, int *Tl, int *Hl, int *Wl);

/* Per-channel latent statistics over training data, for the DiT's
 * normalisation: z_norm = (z - mean) / std. has_stats is 0 until set. */
void vd_vae_set_latent_stats(vd_vae *vae, const float *mean, const float *std);
/* Fine-tuning the decoder alone keeps the latent space (so a DiT trained on
 * it stays valid) while reconstructions sharpen: with a frozen encoder,
 * vd_vae_train_step leaves the encoder's gradients alone and skips its
 * backward. The encoder's parameters lie in the first vd_vae_encoder_numel
 * floats of the parameter block, the decoder's after them. */
void vd_vae_set_frozen_encoder(vd_vae *vae, int frozen);
/* Copies src's weights into dst when both have the same layers (names and
 * sizes); returns 0 and leaves dst alone otherwise. */
int vd_vae_copy_weights(vd_vae *dst, const vd_vae *src);
/* Training only: the decoder sees z + s std n, with s drawn uniformly from
 * [0, sigma] per video, std the stored per-channel latent scale (1 without
 * stats) and n standard normal, so that it learns to decode latents a little
 * off the encoder's (a diffusion model's samples) into clean frames rather
 * than into coloured noise. 0 (the default) turns it off. */
void vd_vae_set_latent_noise(vd_vae *vae, float sigma);
size_t vd_vae_encoder_numel(const vd_vae *vae);
int vd_vae_latent_stats(const vd_vae *vae, const float **mean, const float **std);

/* ---------------------------------------------------------------- training */

typedef struct vd_vae_losses {
    float loss;  /* recon + kl_weight * kl */
    float recon; /* mean |x - x'| (L1) or mean (x - x')^2 (MSE) per value */
    float kl;    /* mean KL per latent value */
} vd_vae_losses;

/* One forward + backward on x (B, 3, T, H, W): samples z = mean +
 * exp(logvar / 2) eps with eps drawn from rng, decodes, and accumulates the
 * gradient of the loss into the parameter gradients (the caller zeroes them).
 * weight (B, 3, T, H, W) may be NULL (every value counts the same); when
 * given, the reconstruction loss is sum(w |x - x'|) / sum(w) (or squared),
 * so that a caller can make small objects count as much as the background
 * around them. recon (B, 3, T, H, W) may be NULL; when given it receives the
 * decoder's output. The arena is reset to its entry mark before returning. */
vd_status vd_vae_train_step(vd_vae *vae, const float *x, const float *weight, int B, int T,
                            int H, int W, vd_rng *rng, int use_l1, float kl_weight, vd_arena *ws,
                            float *recon, vd_vae_losses *losses, vd_error *err);

/* The pieces of the Gaussian head, exposed for tests. h (B, 2Z, S) holds
 * mean then raw log-variance per batch element; z = mean + exp(lv/2) eps
 * (eps NULL: z = mean). Returns the mean KL per latent value. */
float vd_vae_gaussian_forward(float *z, const float *h, const float *eps, int B, int Z,
                              size_t S, float lv_min, float lv_max);
/* dh += d(z . dz + kl_weight * KL_mean)/dh. */
void vd_vae_gaussian_backward(float *dh, const float *dz, const float *h,
                              const float *eps, int B, int Z, size_t S, float lv_min,
                              float lv_max, float kl_weight);

/* --------------------------------------------------------------- inference */

/* Encodes to the posterior mean z (B, Z, Tl, Hl, Wl). */
vd_status vd_vae_encode(vd_vae *vae, const float *x, int B, int T, int H, int W,
                        float *z, vd_arena *ws, vd_error *err);
/* Encodes and also returns the raw (clamped) log-variance; logvar may be NULL. */
vd_status vd_vae_encode_dist(vd_vae *vae, const float *x, int B, int T, int H, int W,
                             float *mean, float *logvar, vd_arena *ws, vd_error *err);
/* Decodes z (B, Z, Tl, Hl, Wl) to x (B, 3, T, H, W), one latent frame at a
 * time with causal caches: arena use does not grow with Tl. */
vd_status vd_vae_decode(vd_vae *vae, const float *z, int B, int Tl, int Hl, int Wl,
                        float *x, vd_arena *ws, vd_error *err);
/* The same in one pass over all frames (for tests and short clips). */
vd_status vd_vae_decode_full(vd_vae *vae, const float *z, int B, int Tl, int Hl, int Wl,
                             float *x, vd_arena *ws, vd_error *err);

/* ----------------------------------------------------------------- files */

/* Writes a model file: every parameter (from `values`, NULL = live), the
 * latent statistics when set, and the config as metadata
 * ("vidit.vae.config"). Atomic. */
vd_status vd_vae_save(const vd_vae *vae, const float *values, const char *path,
                      vd_error *err);
/* Loads a model file (inference: no gradients). Errors name the file and,
 * for a shape mismatch, the tensor. */
vd_status vd_vae_load(vd_vae **out, const char *path, const vd_allocator *allocator,
                      vd_error *err);
/* Reads the config stored in an open model file or checkpoint. */
vd_status vd_vae_config_from_file(vd_vae_config *c, const vd_st_file *f, const char *path,
                                  vd_error *err);

/* ----------------------------------------------------------- quality metrics */

/* PSNR in dB between two 8-bit buffers of n bytes (inf when equal). */
double vd_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n);
/* PSNR of each latent frame's share of a video (frames, h, w, 3): frame 0
 * alone, then each following group of tc frames (the last may be shorter).
 * Writes at most max values (inf for an exact group) and returns how many
 * groups the video has. A causal decoder that degrades along time shows
 * here and hides in the whole-video PSNR. */
int vd_psnr_latent_frames(const uint8_t *a, const uint8_t *b, int frames, int h, int w, int tc,
                          double *psnr, int max);
/* SSIM of two RGB frames sequences (frames, h, w, 3) on BT.601 luma, 8x8
 * windows every 4 pixels, C1 = (0.01 L)^2, C2 = (0.03 L)^2, L = 255; the
 * mean over windows and frames. Frames under 8x8 give NaN. */
double vd_ssim_rgb(const uint8_t *a, const uint8_t *b, int frames, int h, int w);

/* How much the latent of a still video moves: frame 0 of x (1, 3, T, H, W)
 * repeated T times is encoded, and drift[j] = mean |z[j+2] - z[j+1]| in
 * units of each channel's stored spread (the latent statistics; without
 * them, the latent's rms) for latent frames 1, 2, ... (frame 0 codes one
 * video frame, the others tc frames each, so it is left out). A latent
 * space whose code for an unchanged picture depends on the position in
 * time makes a diffusion model learn every latent frame's own code for the
 * same object; ideal is 0. Writes at most max values and returns how many steps there are (Tl -
 * 2, 0 when Tl < 3), or -1 with err set. */
int vd_vae_still_drift(vd_vae *vae, const float *x, int T, int H, int W, double *drift, int max,
                       vd_arena *ws, vd_error *err);

/* Video bytes (T, H, W, 3) <-> model tensors (1, 3, T, H, W) in [-1, 1]. */
void vd_vae_from_rgb(float *x, const uint8_t *rgb, int T, int H, int W);
void vd_vae_to_rgb(uint8_t *rgb, const float *x, int T, int H, int W);

#endif
