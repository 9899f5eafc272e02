/* Resumable training checkpoints, for any model built on vd_params.
 *
 * One safetensors file holds the model's parameters ("model.<name>"), the
 * EMA of the weights ("ema.weights"), the AdamW state ("opt.m", "opt.v",
 * "opt.step"), the step count ("train.step", I64) and the data RNG
 * ("train.rng": seed and offset, I64), plus string metadata (the config
 * JSON, ...). It is written to a temporary name, synced and renamed, so a
 * crash leaves the previous checkpoint intact. */
#ifndef VD_TRAIN_CHECKPOINT_H
#define VD_TRAIN_CHECKPOINT_H

#include <stdint.h>

#include "core/rng.h"
#include "nn/params.h"
#include "train/optim.h"

typedef struct vd_checkpoint {
    vd_params *params; /* required */
    vd_ema *ema;       /* may be NULL */
    vd_adamw *opt;     /* may be NULL */
    int64_t step;
    vd_rng rng;
} vd_checkpoint;

/* meta: n pairs of (key, value) strings stored as metadata. */
vd_status vd_checkpoint_save(const char *path, const vd_checkpoint *c,
                             const char *const *meta, int n, vd_error *err);
/* Loads into the caller's params / ema / opt (whose sizes must match:
 * shape errors name the tensor) and sets step and rng. */
vd_status vd_checkpoint_load(const char *path, vd_checkpoint *c, vd_error *err);

#endif
