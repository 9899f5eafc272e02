/* Residual block of a causal video VAE, and its norm-activation unit.
 *
 *   y = skip(x) + conv2(act(norm2(conv1(act(norm1(x))))))
 *
 * norm is GroupNorm taken per frame (over a group's channels and the frame's
 * pixels, never across time), act is SiLU, conv is a causal 3D conv with a
 * (kt, 3, 3) kernel, skip is the identity or a 1x1x1 conv when the channel
 * count changes. Per-frame statistics keep the block causal: output frame t
 * depends on input frames <= t only, so a still image is a one-frame video
 * and decoding can stream one chunk of frames at a time.
 *
 * Tensors are (B, C, T, H, W). Forward passes save what backward needs in
 * the arena (the step's activation memory); backward passes accumulate into
 * dx and the parameter gradients, as the ops do. */
#ifndef VD_NN_RESBLOCK_H
#define VD_NN_RESBLOCK_H

#include "nn/conv.h"

/* GroupNorm (per frame) + SiLU over C channels. */
typedef struct vd_normact {
    int c, groups;
    float eps;
    size_t w, b; /* gain (c), bias (c) */
} vd_normact;

/* What a norm-activation forward keeps for backward. */
typedef struct vd_normact_acts {
    float *xt;         /* the input, frame-major (B*T, C, H*W) */
    float *n;          /* the normalised input, frame-major (before SiLU) */
    float *mean, *rstd;/* (B*T, groups) */
} vd_normact_acts;

/* Declares "<name>.weight" and "<name>.bias"; groups must divide c.
 * groups == 0: no norm, SiLU alone (no parameters; acts->n then points at
 * the caller's input, which must live until backward). */
vd_status vd_normact_declare(vd_normact *n, vd_params *p, const char *name, int c,
                             int groups, vd_error *err);
void vd_normact_init(const vd_normact *n, vd_params *p); /* gain 1, bias 0 */
/* acts NULL: nothing is kept (inference); the arena is left as found. */
vd_status vd_normact_forward(const vd_ops *ops, const vd_normact *n, vd_params *p,
                             float *y, const float *x, int B, int T, int H, int W,
                             vd_arena *ws, vd_normact_acts *acts);
vd_status vd_normact_backward(const vd_ops *ops, const vd_normact *n, vd_params *p,
                              float *dx, const float *dy, const vd_normact_acts *acts,
                              int B, int T, int H, int W, vd_arena *ws);

typedef struct vd_resblock {
    int cin, cout, kt;
    vd_normact norm1, norm2;
    vd_conv3d conv1, conv2;
    int has_skip;
    vd_conv3d skip;
} vd_resblock;

typedef struct vd_resblock_acts {
    vd_normact_acts n1, n2;
    float *a1; /* act(norm1(x)), the input of conv1 */
    float *h;  /* conv1's output */
    float *a2; /* act(norm2(h)), the input of conv2 */
} vd_resblock_acts;

/* Declares the block's parameters under "<name>.norm1", ".conv1", ... */
vd_status vd_resblock_declare(vd_resblock *r, vd_params *p, const char *name, int cin,
                              int cout, int kt, int groups, vd_error *err);
void vd_resblock_init(const vd_resblock *r, vd_params *p, vd_rng *rng);
/* y (B, cout, T, H, W) must not alias x. acts NULL: inference. */
vd_status vd_resblock_forward(const vd_ops *ops, const vd_resblock *r, vd_params *p,
                              float *y, const float *x, int B, int T, int H, int W,
                              vd_arena *ws, vd_resblock_acts *acts);
/* dx (may be NULL) and parameter gradients accumulate. x is the forward's. */
vd_status vd_resblock_backward(const vd_ops *ops, const vd_resblock *r, vd_params *p,
                               float *dx, const float *dy, const float *x,
                               const vd_resblock_acts *acts, int B, int T, int H, int W,
                               vd_arena *ws);

/* The causal time padding of both convs: copies of the first frame
 * (replicate set) or zeros (the default). */
void vd_resblock_set_replicate(vd_resblock *r, int replicate);

/* Streaming inference: the two causal caches, each
 * vd_conv3d_cache_size(conv) floats; `first` marks the first chunk, whose
 * caches are filled with the padding (vd_conv3d_forward_stream). */
vd_status vd_resblock_forward_stream(const vd_ops *ops, const vd_resblock *r,
                                     vd_params *p, float *y, const float *x,
                                     float *cache1, float *cache2, int first, int B,
                                     int Tn, int H, int W, vd_arena *ws);

#endif
