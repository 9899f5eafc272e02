/* Inside the VAE: the layer list shared by vae.c, vae_stream.c, vae_io.c. */
#ifndef VD_MODELS_VAE_INTERNAL_H
#define VD_MODELS_VAE_INTERNAL_H

#include "models/vae.h"
#include "nn/conv.h"
#include "nn/resblock.h"

#define VD_VAE_MAX_LAYERS 72

enum { VD_VAE_L_CONV = 0, VD_VAE_L_RES, VD_VAE_L_NORMACT, VD_VAE_L_UP, VD_VAE_L_SILU };

typedef struct vd_vae_layer {
    int kind;
    int ft, fs; /* VD_VAE_L_UP: factors in time and space */
    vd_conv3d conv;
    vd_resblock res;
    vd_normact na;
} vd_vae_layer;

typedef struct vd_vae_shape {
    int C, T, H, W;
} vd_vae_shape;

/* What one layer's forward keeps for backward. */
typedef struct vd_vae_acts {
    const float *x;
    vd_vae_shape in;
    vd_resblock_acts res;
    vd_normact_acts na;
} vd_vae_acts;

struct vd_vae {
    vd_vae_config cfg;
    const vd_allocator *alloc;
    const vd_ops *ops;
    vd_params *params;
    vd_vae_layer enc[VD_VAE_MAX_LAYERS], dec[VD_VAE_MAX_LAYERS];
    int n_enc, n_dec;
    float lmean[VD_VAE_MAX_LATENT], lstd[VD_VAE_MAX_LATENT];
    int has_stats;
    int frozen_encoder; /* training steps skip the encoder's backward */
    float latent_noise; /* training steps: decoder input noise, see vae.h */
};

/* Output shape; `drop`: an up-sampling drops its leading copies (always,
 * except on the non-first chunks of a streamed decode). */
vd_vae_shape vd_vae_layer_out(const vd_vae_layer *l, vd_vae_shape s, int drop);
vd_status vd_vae_layer_forward(const vd_vae *v, const vd_vae_layer *l, float *y,
                               const float *x, int B, vd_vae_shape s, vd_arena *ws,
                               vd_vae_acts *a);
vd_status vd_vae_layer_backward(const vd_vae *v, const vd_vae_layer *l, float *dx,
                                const float *dy, const vd_vae_acts *a, int B, vd_arena *ws);
/* Runs a layer list; acts (n entries) NULL for inference. *out lives in ws. */
vd_status vd_vae_run(const vd_vae *v, const vd_vae_layer *list, int n, const float *x,
                     vd_vae_shape in, int B, vd_arena *ws, vd_vae_acts *acts, float **out,
                     vd_vae_shape *out_shape);
/* Backward through a list; dx_in (the list's input gradient) may be NULL. */
vd_status vd_vae_run_backward(const vd_vae *v, const vd_vae_layer *list, int n,
                              const vd_vae_acts *acts, const float *dy, int B, float *dx_in,
                              vd_arena *ws);

#endif
