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

const vd_t2v_info *vd_t2v_get_info(const vd_t2v *m);
vd_dit *vd_t2v_dit(vd_t2v *m);
vd_vae *vd_t2v_vae(vd_t2v *m);
const vd_tokenizer *vd_t2v_tokenizer(const vd_t2v *m);

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
} vd_t2v_request;

void vd_t2v_request_default(vd_t2v_request *r);

/* Fills in defaults (into *resolved when not NULL) and checks the request:
 * steps in [1, VD_T2V_MAX_STEPS], cfg >= 0, shift > 0, frames and size among
 * what the model supports (the error lists the allowed values), prompt at
 * most VD_T2V_MAX_PROMPT_BYTES. */
vd_status vd_t2v_check(const vd_t2v *m, const vd_t2v_request *r, vd_t2v_request *resolved,
                       vd_error *err);

/* Generates one video into out (allocated; vd_video_free it). */
vd_status vd_t2v_generate(vd_t2v *m, vd_t2v_request *r, vd_video *out, vd_error *err);

#endif
