/* The text-to-video model as one file, and generation with it.
 *
 * A model file is one safetensors file holding
 *   vae.<name>   the VAE's parameters (F32),
 *   dit.<name>   the DiT's and its text encoder's parameters (BF16, to halve
 *                the file; converted to F32 on load),
 * and string metadata:
 *   format "vidit-t2v", format_version "1",
 *   vae_config, dit_config, tokenizer (JSON objects),
 *   latent_mean, latent_std (JSON arrays, one number per latent channel: the
 *                DiT works on (z - mean) / std),
 *   frames (JSON array of the frame counts trained on), size (JSON array of
 *   "WxH" strings), fps (a number), sampling (JSON object of the default
 *   steps, cfg, shift and solver).
 * Loading checks each piece and says which one is missing or wrong.
 *
 * Generation: noise from the seed (Philox, so the same numbers for any
 * thread count), the flow ODE integrated from t = 1 to 0 on the shifted
 * grid with classifier-free guidance (prompt and negative prompt run as one
 * batch of 2), un-normalised and decoded by the VAE. */
#ifndef VD_DIFFUSION_PIPELINE_H
#define VD_DIFFUSION_PIPELINE_H

#include <stdint.h>

#include "io/video.h"
#include "models/dit.h"
#include "models/tokenizer.h"
#include "models/vae.h"
#include "vidit.h"

#define VD_T2V_FORMAT "vidit-t2v"
#define VD_T2V_VERSION 1
#define VD_T2V_MAX_SHAPES 16
/* Longer prompts are refused rather than tokenised (they would be cut to
 * the model's max_text_len tokens anyway). */
#define VD_T2V_MAX_PROMPT_BYTES 16384
#define VD_T2V_MAX_STEPS 1000

typedef struct vd_t2v_info {
    int n_frames, frames[VD_T2V_MAX_SHAPES];               /* 1 + tc k each */
    int n_sizes, width[VD_T2V_MAX_SHAPES], height[VD_T2V_MAX_SHAPES];
    double fps;
    /* Sampling defaults. */
    int steps, solver; /* solver: vd_solver */
    float cfg, shift;
} vd_t2v_info;

/* No shapes; fps 8; 25 Heun steps, cfg 4, shift 1. */
void vd_t2v_info_default(vd_t2v_info *info);
/* Adds a trained frame count / size (duplicates are ignored). */
vd_status vd_t2v_info_add_frames(vd_t2v_info *info, int frames, vd_error *err);
vd_status vd_t2v_info_add_size(vd_t2v_info *info, int width, int height, vd_error *err);
int vd_t2v_info_max_frames(const vd_t2v_info *info);

typedef struct vd_t2v vd_t2v;

/* Loads a model file. Errors name the file and the piece at fault. */
vd_status vd_t2v_load(vd_t2v **out, const char *path, const vd_allocator *allocator,
                      vd_error *err);
/* A pipeline over parts the caller keeps (training's samples): nothing is
 * copied and vd_t2v_free leaves the parts alone. mean/std: Z values. */
vd_status vd_t2v_wrap(vd_t2v **out, vd_vae *vae, vd_dit *dit, const vd_tokenizer *tok,
                      const float *mean, const float *std, const vd_t2v_info *info,
                      vd_error *err);
void vd_t2v_free(vd_t2v *m);
/* Decodes (and encodes given frames) with the VAE file vae_path instead of
 * the model's own, for example one whose decoder was fine-tuned with the
 * encoder frozen. It must have the same layers; the latent statistics the
 * DiT was trained with stay. Only for a model that vd_t2v_load made. */
vd_status vd_t2v_use_vae(vd_t2v *m, const char *vae_path, vd_error *err);

const vd_t2v_info *vd_t2v_get_info(const vd_t2v *m);
vd_dit *vd_t2v_dit(vd_t2v *m);
vd_vae *vd_t2v_vae(vd_t2v *m);
const vd_tokenizer *vd_t2v_tokenizer(const vd_t2v *m);
/* The latent statistics (Z values each) the DiT's latents are normalised by. */
void vd_t2v_latent_stats(const vd_t2v *m, const float **mean, const float **std);
/* The scratch arena generation uses (reset to mark 0 after each call). */
vd_arena *vd_t2v_arena(vd_t2v *m);

/* Writes a model file (atomically). dit_values: a block laid out like the
 * DiT's parameters (the EMA weights), NULL for the live ones. */
vd_status vd_t2v_save(const char *path, vd_vae *vae, vd_dit *dit, const float *dit_values,
                      const vd_tokenizer *tok, const float *mean, const float *std,
                      const vd_t2v_info *info, vd_error *err);

typedef struct vd_t2v_request {
    const char *prompt;   /* required; "" is the unconditional video */
    const char *negative; /* NULL or "": the empty prompt */
    uint64_t seed;
    int steps;            /* 0: the model's default */
    int solver;           /* -1: the model's default */
    float cfg;            /* < 0: the model's default (so a user's negative
                             value is refused by the caller first) */
    float shift;          /* 0: the model's default */
    int frames, width, height; /* 0: the model's first trained shape */
    double fps;           /* 0: the model's */
    vd_progress_fn progress; /* stages "sampling" then "decoding" */
    void *progress_user;
    /* Out: set when the prompt / negative prompt lost tokens. */
    int prompt_truncated, negative_truncated;

    /* Prompting with images and videos (Sora's modes). At most one of
     * image, extend, edit and connect_a; every video must already have the
     * output size (the CLI reads files at that size: cover + centre crop,
     * io/video.h's crop option). All but edit need a frame_cond model: the
     * given latent frames are held fixed while the others are sampled.
     *   image      image to video: its first frame, VAE-encoded alone, is
     *              latent frame 0.
     *   extend     continue forward in time from its last frames (see
     *              vd_t2v_extend_plan); the output is the input followed by
     *              the new frames. backward: reverse the input, extend,
     *              reverse the result (new frames, then the input).
     *   edit       SDEdit: its frames (cut to the largest 1 + tc k within
     *              the limit and within `frames` when set; frames 0 takes
     *              them all) are encoded to x0, sampling starts from
     *              (1 - strength) x0 + strength eps at t = strength on the
     *              grid t_i = strength * shift(1 - i / steps). 0 <
     *              strength <= 1; 1 ignores the input.
     *   connect_a, connect_b  a clip that starts where A ends and ends
     *              where B starts (vd_t2v_connect_plan).
     *   loop       (text or image mode) generates V, then a bridge from V's
     *              end to V's start the connect way, and outputs V followed
     *              by the bridge's inner frames: neither the frames that
     *              stand for V's end nor those for V's start, so that
     *              playing the result in a loop runs ... V, bridge, V ... */
    const vd_video *image, *extend, *edit, *connect_a, *connect_b;
    int backward, loop;
    float strength;
    /* Out, when not NULL: the final normalised latent of the (first)
     * sampling, vd_t2v_latent_size floats (for tests). */
    float *latent_out;
} vd_t2v_request;

void vd_t2v_request_default(vd_t2v_request *r);

/* Fills in defaults (into *resolved when not NULL) and checks the request:
 * steps in [1, VD_T2V_MAX_STEPS], cfg >= 0, shift > 0, prompt at most
 * VD_T2V_MAX_PROMPT_BYTES, the prompting mode (one of them, inputs of the
 * output size and long enough, a frame_cond model for given frames), and
 * the shape:
 *   frames  1 + tc k whose latent count (1 + k) divides by the DiT's
 *           patch_t, at most 4 times the longest trained count;
 *   size    W a multiple of sc * patch_w, H of sc * patch_h, from that
 *           multiple up to VD_T2V_MAX_SIDE (or any trained size).
 * The trained shapes are the defaults (the first of each list) and the
 * errors list them. What holds up: untrained shapes run through the 3D
 * RoPE (positions are computed per call, nothing is fixed to a shape);
 * quality is measured in the README. For edit with frames 0, the frames
 * come from the input. */
vd_status vd_t2v_check(const vd_t2v *m, const vd_t2v_request *r, vd_t2v_request *resolved,
                       vd_error *err);

/* Generates one video into out (allocated; vd_video_free it). */
vd_status vd_t2v_generate(vd_t2v *m, vd_t2v_request *r, vd_video *out, vd_error *err);

#define VD_T2V_MAX_SIDE 512

/* 1 when frames and size are among the model's trained shapes (the CLI
 * notes when they are not). */
int vd_t2v_shape_trained(const vd_t2v *m, int frames, int width, int height);
/* Latent extent of a resolved request (Z, T, H, W) and its float count. */
size_t vd_t2v_latent_size(const vd_t2v *m, const vd_t2v_request *resolved, int *Z, int *T,
                          int *H, int *W);

#endif
