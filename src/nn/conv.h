/* A 3D convolution layer: its parameters (by handle into a vd_params block)
 * and its geometry. Time is always padded causally (kt - 1 frames in front,
 * none behind: zeros, or copies of the first frame when `replicate` is set)
 * and space "same" (kh / 2, kw / 2) with zeros, so a layer's output frame t
 * sees input frames <= t only.
 *
 * Streaming: a causal conv can run chunk by chunk in time when it keeps the
 * last kt - 1 input frames of the previous chunk (the "causal cache"); the
 * result equals the whole-video convolution. */
#ifndef VD_NN_CONV_H
#define VD_NN_CONV_H

#include <stddef.h>

#include "core/arena.h"
#include "core/rng.h"
#include "nn/params.h"
#include "ops/ops.h"

typedef struct vd_conv3d {
    int cin, cout;
    int kt, kh, kw;
    int st, sh, sw;
    int replicate; /* the causal time padding repeats frame 0 (0, the default: zeros);
                      set after vd_conv3d_declare */
    size_t w, b; /* parameter handles: weight (cout, cin, kt, kh, kw), bias (cout) */
} vd_conv3d;

/* Declares "<name>.weight" and "<name>.bias". */
vd_status vd_conv3d_declare(vd_conv3d *c, vd_params *p, const char *name, int cin,
                            int cout, int kt, int kh, int kw, int st, int sh, int sw,
                            vd_error *err);
/* PyTorch's default: weights and bias uniform in +-1/sqrt(fan_in), weights
 * times `gain` (a small gain on a residual branch's last conv keeps a fresh
 * block close to the identity). */
void vd_conv3d_init(const vd_conv3d *c, vd_params *p, vd_rng *rng, float gain);

/* The op's geometry for an input (B, cin, T, H, W). */
void vd_conv3d_geometry(const vd_conv3d *c, int B, int T, int H, int W,
                        vd_conv3d_shape *s);
/* Output extent; 0 in any axis when the input is too small. */
void vd_conv3d_out(const vd_conv3d *c, int T, int H, int W, int *To, int *Ho, int *Wo);

vd_status vd_conv3d_forward(const vd_ops *ops, const vd_conv3d *c, vd_params *p,
                            float *y, const float *x, int B, int T, int H, int W,
                            vd_arena *ws);
/* Accumulates into dx (may be NULL) and the parameter gradients. */
vd_status vd_conv3d_backward(const vd_ops *ops, const vd_conv3d *c, vd_params *p,
                             float *dx, const float *dy, const float *x, int B, int T,
                             int H, int W, vd_arena *ws);

/* Floats of the causal cache of a stride-1 (in time) layer: (B, cin, kt-1, H, W). */
size_t vd_conv3d_cache_size(const vd_conv3d *c, int B, int H, int W);
/* One chunk of Tn frames through a layer with time stride 1: cache holds the
 * previous kt - 1 input frames and is updated. On the first chunk (`first`
 * set) its contents are ignored: it is filled with the causal padding, zeros
 * or copies of x's frame 0. Scratch comes from ws. */
vd_status vd_conv3d_forward_stream(const vd_ops *ops, const vd_conv3d *c, vd_params *p,
                                   float *y, const float *x, float *cache, int first, int B,
                                   int Tn, int H, int W, vd_arena *ws);

#endif
