/* The text encoder of the DiT: token embedding plus a learned position
 * embedding, `depth` pre-LN transformer layers (self-attention with the key
 * padding mask, GELU-tanh MLP of 4x width), and a final LayerNorm. It
 * outputs the per-token context (B, L, dim) with its mask, and a pooled
 * vector per prompt (the mean of the context over the prompt's tokens, or
 * with pool_sum their sum; zero for the empty prompt) that the DiT adds to
 * its timestep conditioning.
 *
 * Parameters, under the caller's prefix (the DiT uses "text."):
 *   tok_emb.weight (vocab, dim), pos_emb.weight (max_len, dim),
 *   layers.<i>.{ln1, attn.qkv, attn.out, ln2, mlp.fc1, mlp.fc2}.{weight, bias},
 *   norm.{weight, bias}.
 * LayerNorms use eps 1e-5 (PyTorch's default).
 *
 * Rows of a batch are always max_len tokens long: positions at or past a
 * prompt's length are PAD and masked, so shapes, and hence the arena's
 * layout, do not change from step to step. It trains jointly with the
 * DiT: the backward accumulates into its parameter gradients. */
#ifndef VD_MODELS_TEXT_ENCODER_H
#define VD_MODELS_TEXT_ENCODER_H

#include <stdint.h>

#include "nn/attention.h"
#include "nn/mlp.h"

typedef struct vd_text_config {
    int vocab_size, dim, depth, heads, max_len;
    int pool_sum; /* 1: the pooled vector is the sum over the prompt's tokens */
} vd_text_config;

typedef struct vd_text_layer {
    vd_layernorm ln1, ln2;
    vd_self_attn attn;
    vd_mlp mlp;
} vd_text_layer;

typedef struct vd_text_layer_act {
    const float *x;      /* layer input (residual stream) */
    float *h1, *mean1, *rstd1;
    vd_self_attn_act attn;
    float *x_mid;        /* x + attn */
    float *h2, *mean2, *rstd2;
    vd_mlp_act mlp;
} vd_text_layer_act;

typedef struct vd_text_encoder {
    vd_text_config cfg;
    size_t tok_emb, pos_emb;
    vd_text_layer *layers;
    vd_layernorm norm;
    const vd_allocator *allocator;
    /* Saved by the forward (arena memory) for the backward. */
    vd_text_layer_act *acts;
    int32_t *ids;   /* (B, L) with PAD past each length */
    uint8_t *mask;  /* (B, L) */
    float *x_last, *norm_mean, *norm_rstd;
    int *lengths;   /* (B), clamped to [0, L] */
    int B;
} vd_text_encoder;

/* Declares the parameters into p under prefix (e.g. "text."). */
vd_status vd_text_encoder_init(vd_text_encoder *te, const vd_text_config *cfg, vd_params *p,
                               const char *prefix, const vd_allocator *allocator,
                               vd_error *err);
void vd_text_encoder_release(vd_text_encoder *te);
/* Initial values (after vd_params_alloc): token and position embeddings
 * N(0, embed_std^2), Xavier projections, unit LayerNorms. */
void vd_text_encoder_init_weights(const vd_text_encoder *te, vd_params *p, vd_rng *rng,
                                  float embed_std);

/* tokens (B, max_len) int32, lengths (B); tokens past a length are ignored
 * and ids outside the vocabulary are VD_ERR_ARG. tokens/lengths may be NULL
 * (no text: every length 0). Writes ctx (B, max_len, dim) and pooled
 * (B, dim), and points *mask (may be NULL) at the (B, max_len) key mask,
 * which lives in the arena. Everything passed must stay alive until the
 * backward. */
vd_status vd_text_encoder_forward(vd_text_encoder *te, vd_params *p, const int32_t *tokens,
                                  const int *lengths, int B, float *ctx, float *pooled,
                                  const uint8_t **mask, vd_arena *arena, vd_error *err);
/* dctx (B, max_len, dim) and dpooled (B, dim) (either may be NULL) are the
 * gradients of the outputs; parameter gradients accumulate. */
vd_status vd_text_encoder_backward(vd_text_encoder *te, vd_params *p, const float *dctx,
                                   const float *dpooled, vd_arena *arena, vd_error *err);

#endif
