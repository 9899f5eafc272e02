/* The text-conditioned diffusion transformer (DiT) over spacetime latent
 * patches, with its text encoder.
 *
 *   latent (B, C, T, H, W) -> patchify (pt, ph, pw) -> x_embed (linear)
 *   -> depth blocks -> final layer -> unpatchify -> velocity (B, C, T, H, W)
 *
 * Conditioning: c = t_embed(timestep_embedding(1000 t, 256)) +
 * text_pool(pooled text), t_embed a Linear-SiLU-Linear MLP. Every adaLN
 * projection reads SiLU(c).
 *
 * Block (x: (B, N, D) tokens, N = (T/pt)(H/ph)(W/pw)):
 *   mod = adaLN(SiLU(c)) -> 6 D: shift1, scale1, gate1, shift2, scale2, gate2
 *   h = LN(x) * (1 + scale1) + shift1                  (no affine, eps 1e-6)
 *   x = x + gate1 * attn.out(selfattn(RoPE3D(attn.qkv(h))))
 *   h = norm_cross(x)                                  (affine, eps 1e-6)
 *   x = x + cross.out(attn(cross.q(h), cross.kv(text), text mask))
 *   h = LN(x) * (1 + scale2) + shift2                  (no affine, eps 1e-6)
 *   x = x + gate2 * mlp.fc2(GELU_tanh(mlp.fc1(h)))     (hidden 4 D)
 * Final layer: shift, scale = final.adaLN(SiLU(c)); final.linear(LN(x) *
 * (1 + scale) + shift) (no affine, eps 1e-6). adaLN and final projections
 * start at zero (adaLN-zero), so a fresh model outputs exactly zero.
 *
 * Self-attention RoPE: 3D (vd_rope3d_table, the usual split) over each
 * token's (t, h, w) patch position; tables are made per call, so any
 * latent size whose extents divide by the patch runs, seen in training or
 * not.
 *
 * Parameter names (PyTorch peers use the same, weight (out, in)):
 *   x_embed, t_embed.fc1, t_embed.fc2, text_pool, word_cond (with word_cond),
 *   blocks.<i>.{adaLN, attn.qkv, attn.out, norm_cross, cross.q, cross.kv,
 *   cross.out, mlp.fc1, mlp.fc2}.{weight, bias}, final.adaLN, final.linear,
 *   and text.* (models/text_encoder.h).
 *
 * A step: vd_dit_forward, then (training) vd_dit_backward, both taking
 * activations and scratch from one arena that the caller resets to mark 0
 * after the step; from the second step with the same shapes on, nothing is
 * allocated from the system. */
#ifndef VD_MODELS_DIT_H
#define VD_MODELS_DIT_H

#include <stdint.h>

#include "core/arena.h"
#include "models/text_encoder.h"
#include "nn/attention.h"
#include "nn/mlp.h"
#include "nn/params.h"

typedef struct vd_dit_config {
    int dim, depth, heads;
    int patch_t, patch_h, patch_w;
    int latent_channels;
    int text_dim, text_depth, text_heads;
    int vocab_size, max_text_len;
    float rope_theta;
    int freq_dim; /* sinusoidal timestep features, 256 */
    int frame_cond; /* 1: the patch embedding also reads which latent frames are given */
    int pos_embed;  /* 1: fixed sin-cos features of each token's (t, h, w) place
                       (vd_pos3d_table) are added to its embedding. Rotary
                       positions only shape the attention weights, so with them
                       alone no token's value says where it is; with these, a
                       token can read where another one is (and so how far an
                       object has moved). 0 (the default) adds nothing. */
    float text_embed_std; /* init only: standard deviation of the text encoder's
                             token and position embeddings (0.02 by default).
                             Its sublayers start with outputs of unit scale, so
                             0.02 embeddings are swamped in the residual stream
                             and every word's context looks alike; 1 keeps each
                             word's identity (PyTorch's nn.Embedding default). */
    int text_pool_sum; /* JSON "text_pool": "mean" (0, the default) or "sum" (1):
                          how the text encoder pools its outputs for the
                          conditioning vector. A mean over ~10 words leaves
                          each word a tenth of the pooled vector; the sum
                          keeps a word's share as large as a class label's. */
    int word_cond; /* 1: every token of the prompt also adds a learned vector of
                      the DiT's width ("word_cond.weight", vocab x dim, drawn
                      N(0, 1)) to the conditioning vector c, beside the text
                      encoder's pooled vector: a bag of words that reaches
                      every adaLN as a class label would. Made to test whether
                      the toy world's direction words fail to reach the blocks;
                      they do reach them, and it did not help (README, The
                      default model). 0 (the default) adds nothing. */
} vd_dit_config;

/* A small default (dim 256, depth 6, heads 4, patch 1x2x2, 8 channels,
 * text 256 x 2 layers, 4 heads, vocab 1024, 48 tokens, theta 10000, 256
 * timestep features): configs/dit_default.json. */
void vd_dit_config_default(vd_dit_config *cfg);
/* Reads a JSON object; absent keys keep the values already in cfg, so
 * start from vd_dit_config_default. Keys: dim, depth, heads, patch_t,
 * patch_h, patch_w, latent_channels, text_dim, text_depth, text_heads,
 * vocab_size, max_text_len, rope_theta, freq_dim, frame_cond, pos_embed,
 * text_embed_std, text_pool.
 * Checks the result. */
vd_status vd_dit_config_parse(vd_dit_config *cfg, const char *json, size_t len,
                              const char *label, vd_error *err);
vd_status vd_dit_config_load(vd_dit_config *cfg, const char *path, vd_error *err);
vd_status vd_dit_config_check(const vd_dit_config *cfg, vd_error *err);
/* Appends the config as a JSON object (for a model file's metadata). */
struct vd_strbuf;
void vd_dit_config_to_json(const vd_dit_config *cfg, struct vd_strbuf *s);

typedef struct vd_dit vd_dit;

/* Builds a model with parameters initialised from seed (gradients allocated
 * when with_grad is set). */
vd_status vd_dit_new(vd_dit **out, const vd_dit_config *cfg, uint64_t seed, int with_grad,
                     const vd_allocator *allocator, vd_error *err);
void vd_dit_free(vd_dit *m);

const vd_dit_config *vd_dit_get_config(const vd_dit *m);
vd_params *vd_dit_params(vd_dit *m);

/* Velocity for latent (B, C, T, H, W) at times t (B, in [0, 1]), prompts
 * text_tokens (B, max_text_len) with text_lengths (B) tokens each (tokens
 * past a length are ignored). text_tokens == NULL or text_lengths == NULL:
 * no text (the unconditional case), as is a length of 0. T, H, W must
 * divide by the patch. out_velocity: (B, C, T, H, W). Activations stay in
 * the arena for vd_dit_backward. */
vd_status vd_dit_forward(vd_dit *m, const float *latent, const float *t,
                         const int32_t *text_tokens, const int *text_lengths, int B, int T,
                         int H, int W, float *out_velocity, vd_arena *arena, vd_error *err);

/* Given frames (image to video, extension, connection): frame_mask (B, T)
 * marks latent frames whose values in `latent` are clean data rather than
 * noise; the model (frame_cond 1) sees the mark as one more patch feature
 * (the share of a patch's pt frames that are given). Its velocity there is
 * meaningless: callers hold those frames fixed. NULL: none given (the
 * only choice for frame_cond 0). */
vd_status vd_dit_forward_cond(vd_dit *m, const float *latent, const uint8_t *frame_mask,
                              const float *t, const int32_t *text_tokens,
                              const int *text_lengths, int B, int T, int H, int W,
                              float *out_velocity, vd_arena *arena, vd_error *err);

/* Backward of the last forward (same arena, not reset in between): dout
 * (B, C, T, H, W) is dLoss/dvelocity. Accumulates every parameter gradient
 * (text encoder included), and dLoss/dlatent into dlatent when not NULL. */
vd_status vd_dit_backward(vd_dit *m, const float *dout, float *dlatent, vd_arena *arena,
                          vd_error *err);

/* Classifier-free guidance in one batch of 2B: runs the B prompts and B
 * empty prompts together and writes v = v_uncond + guidance (v_cond -
 * v_uncond) into out_velocity (B, C, T, H, W). */
vd_status vd_dit_forward_cfg(vd_dit *m, const float *latent, const float *t,
                             const int32_t *text_tokens, const int *text_lengths, int B,
                             int T, int H, int W, float guidance, float *out_velocity,
                             vd_arena *arena, vd_error *err);
/* The same with given frames (frame_mask (B, T), as vd_dit_forward_cond),
 * shared by the conditional and unconditional halves. */
vd_status vd_dit_forward_cfg_cond(vd_dit *m, const float *latent, const uint8_t *frame_mask,
                                  const float *t, const int32_t *text_tokens,
                                  const int *text_lengths, int B, int T, int H, int W,
                                  float guidance, float *out_velocity, vd_arena *arena,
                                  vd_error *err);

/* ---- one block, exposed for tests and for peers that mirror it */

typedef struct vd_dit_block {
    int dim;
    vd_linear adaln;
    vd_self_attn attn;
    vd_layernorm norm_cross;
    vd_cross_attn cross;
    vd_mlp mlp;
} vd_dit_block;

typedef struct vd_dit_block_act {
    const float *x, *sc; /* input tokens, SiLU(c) (B, D) */
    float *mod;          /* (B, 6 D) */
    float *ln1, *mean1, *rstd1, *h1;
    vd_self_attn_act attn;
    float *a;            /* attention output (before the gate) */
    float *x1;           /* x + gate1 * a */
    float *h2, *mean2, *rstd2;
    vd_cross_attn_act cross;
    float *x2;           /* x1 + cross */
    float *ln3, *mean3, *rstd3, *h3;
    vd_mlp_act mlp;
    float *f;            /* MLP output (before the gate) */
    int B, N;
} vd_dit_block_act;

/* Declares blocks.<i>.* style parameters under `name` ("blocks.0"). */
vd_status vd_dit_block_declare(vd_dit_block *blk, vd_params *p, const char *name, int dim,
                               int heads, int text_dim, vd_error *err);
void vd_dit_block_init_weights(const vd_dit_block *blk, vd_params *p, vd_rng *rng);
/* y (B, N, D) = block(x); sc = SiLU(c) (B, D); ctx (B, L, text_dim) with
 * mask (B, L); rope tables (N, head_dim / 2). Inputs must stay alive until
 * the backward. */
vd_status vd_dit_block_forward(const vd_dit_block *blk, vd_params *p, vd_dit_block_act *s,
                               float *y, const float *x, const float *sc, const float *ctx,
                               const uint8_t *mask, int L, const float *rope_cos,
                               const float *rope_sin, int B, int N, vd_arena *arena,
                               vd_error *err);
/* dx, dsc, dctx (each may be NULL) += gradients, given dy. */
vd_status vd_dit_block_backward(const vd_dit_block *blk, vd_params *p,
                                const vd_dit_block_act *s, float *dx, float *dsc, float *dctx,
                                const float *dy, vd_arena *arena, vd_error *err);

#endif
