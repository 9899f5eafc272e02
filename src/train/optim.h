/* The optimiser side of training: AdamW over one flat parameter array (the
 * models keep every parameter in one allocation), global-norm gradient
 * clipping, the learning-rate schedule and an EMA of the weights.
 *
 * All state lives in host memory and is updated with the CPU kernels. For a
 * resumable checkpoint the state is written into a safetensors writer under a
 * caller-chosen prefix and read back from an opened file. */
#ifndef VD_TRAIN_OPTIM_H
#define VD_TRAIN_OPTIM_H

#include <stddef.h>
#include <stdint.h>

#include "core/safetensors.h"
#include "vidit.h"

/* ------------------------------------------------------------------ AdamW */

typedef struct vd_adamw_config {
    float lr;           /* default learning rate (vd_adamw_step may override) */
    float beta1, beta2; /* e.g. 0.9, 0.999 */
    float eps;          /* added after the square root of v_hat, e.g. 1e-8 */
    float weight_decay; /* decoupled: p *= 1 - lr * weight_decay */
} vd_adamw_config;

typedef struct vd_adamw vd_adamw;

/* An optimiser for n parameters; m and v start at zero, the step count at 0.
 * Every element is decayed until a mask says otherwise. */
vd_status vd_adamw_new(vd_adamw **out, const vd_allocator *allocator, size_t n,
                       const vd_adamw_config *config, vd_error *err);
void vd_adamw_free(vd_adamw *opt);

/* Weight-decay mask: mask[i] != 0 decays parameter i (copied; NULL decays
 * every element). Norm gains and biases are usually left undecayed. */
vd_status vd_adamw_set_decay_mask(vd_adamw *opt, const uint8_t *mask, vd_error *err);
/* Marks [offset, offset + count) as not decayed (for models that know their
 * parameters as ranges of the flat array). */
vd_status vd_adamw_no_decay_range(vd_adamw *opt, size_t offset, size_t count,
                                  vd_error *err);

/* One update of params from grads (both n floats): increments the step count
 * (the first step is 1) and applies AdamW with learning rate lr (pass
 * vd_adamw_config(opt)->lr, or a scheduled value). */
void vd_adamw_step(vd_adamw *opt, float *params, const float *grads, float lr);

const vd_adamw_config *vd_adamw_get_config(const vd_adamw *opt);
size_t vd_adamw_size(const vd_adamw *opt);
int64_t vd_adamw_steps(const vd_adamw *opt);
void vd_adamw_set_steps(vd_adamw *opt, int64_t steps);
/* The moment buffers (n floats each), for inspection or custom checkpoints. */
float *vd_adamw_m(vd_adamw *opt);
float *vd_adamw_v(vd_adamw *opt);

/* Adds "<prefix>m", "<prefix>v" (F32, shape (n)) and "<prefix>step" (I64,
 * shape (1)) to a checkpoint writer. */
vd_status vd_adamw_save(const vd_adamw *opt, vd_st_writer *w, const char *prefix,
                        vd_error *err);
/* Restores them; fails with VD_ERR_SHAPE when the sizes differ and
 * VD_ERR_FORMAT when a tensor is missing or of the wrong dtype. */
vd_status vd_adamw_load(vd_adamw *opt, const vd_st_file *f, const char *prefix,
                        vd_error *err);

/* -------------------------------------------------------- clip, schedule */

/* Global L2 norm of grad (n floats), computed deterministically in double.
 * When max_norm > 0 and the norm exceeds it, grad is scaled by
 * max_norm / (norm + 1e-6), as torch.nn.utils.clip_grad_norm_ does. A
 * non-finite norm leaves grad untouched (the caller should skip the step).
 * Returns the norm before clipping. */
float vd_grad_clip_norm(float *grad, size_t n, float max_norm);

/* Learning rate at 0-based `step`: linear warm-up to base_lr over `warmup`
 * steps (step i gets base_lr * (i + 1) / warmup, so step warmup - 1 reaches
 * the peak), then cosine decay from base_lr at step `warmup` to min_lr at
 * step `total`, and min_lr after. */
float vd_lr_schedule(int64_t step, int64_t warmup, int64_t total, float base_lr,
                     float min_lr);

/* -------------------------------------------------------------------- EMA */

typedef struct vd_ema vd_ema;

/* An EMA of n weights, starting as a copy of params. */
vd_status vd_ema_new(vd_ema **out, const vd_allocator *allocator, const float *params,
                     size_t n, vd_error *err);
void vd_ema_free(vd_ema *ema);
/* ema = decay * ema + (1 - decay) * params */
void vd_ema_update(vd_ema *ema, const float *params, float decay);
/* The same for weights [from, n) only. Weights that training holds still (a
 * frozen encoder) must be left out: decay * w + (1 - decay) * w is not w in
 * floating point (about 0.6% of weights move by an ulp per step). */
void vd_ema_update_tail(vd_ema *ema, const float *params, size_t from, float decay);
/* Exchanges the EMA weights with params in place: swap, sample, swap back. */
void vd_ema_swap(vd_ema *ema, float *params);
void vd_ema_copy_out(const vd_ema *ema, float *dst);
size_t vd_ema_size(const vd_ema *ema);
float *vd_ema_data(vd_ema *ema);
/* The EMA is one F32 tensor of shape (n) called `name` ("ema.weights"). */
vd_status vd_ema_save(const vd_ema *ema, vd_st_writer *w, const char *name,
                      vd_error *err);
vd_status vd_ema_load(vd_ema *ema, const vd_st_file *f, const char *name,
                      vd_error *err);

#endif
