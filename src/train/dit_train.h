/* Training the text-to-video DiT (`vidit train --config FILE`).
 *
 * The config (JSON) names the data, the VAE and the DiT:
 *   "data": ["DIR", ...]   world dataset folders; every (frames, height,
 *                          width) among them is a bucket
 *   "vae": PATH            a VAE model file (`vidit vae train`)
 *   "dit": PATH or {...}   the DiT config (models/dit.h keys)
 *   "out": DIR             the run folder (--out overrides)
 *   "export": PATH         optional: where the model goes once every step
 *                          is done (e.g. models/default.safetensors)
 *   "eval_data": DIR       optional: held-out captions for the samples; else
 *                          captions of world seed train.eval_seed
 *   "train": {steps, batch, accum, lr, min_lr, warmup, weight_decay, beta1,
 *             beta2, grad_clip, ema_decay, caption_dropout, timesteps
 *             ("logit_normal" | "uniform"), logit_mean, logit_std, shift,
 *             seed, vocab_size, time_budget (s per invocation), log_every,
 *             checkpoint_every (steps), checkpoint_minutes, eval_every,
 *             eval_prompts, eval_seed}
 *   "sample": {steps, cfg, shift, solver}  generation defaults of the model
 *
 * The run folder gets latents.safetensors (the latent cache), log.csv,
 * loss.svg, checkpoint.safetensors (params, EMA, AdamW, step, RNG, the
 * config and the tokenizer, written atomically), samples/step_NNNNNN/
 * (EMA videos of held-out prompts, judged in-process) and model.safetensors
 * (the EMA weights as a model file, written at the end of every
 * invocation).
 *
 * Every random draw of step s (bucket, items, timesteps, noise, caption
 * dropout) comes from a Philox stream keyed by s, so a run is a pure
 * function of config and seed, and a resumed run continues bit-exactly. */
#ifndef VD_TRAIN_DIT_TRAIN_H
#define VD_TRAIN_DIT_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "core/json.h"
#include "diffusion/flow.h"
#include "train/progress.h"
#include "vidit.h"

typedef struct vd_dit_train_config {
    int64_t steps, warmup;
    int batch, accum;
    float lr, min_lr, weight_decay, beta1, beta2, grad_clip, ema_decay, caption_dropout;
    vd_flow_tconfig tsample;
    /* frame_cond models: the share of samples whose first latent frame, a
     * prefix, or a prefix and a suffix are given clean (the rest: none). */
    float given_first, given_prefix, given_ends;
    /* > 0: latent positions that differ from their frame's background by
     * more than object_threshold (normalised units), and their neighbours,
     * weigh 1 + object_weight in the loss (vd_standout_weights): a small
     * object is otherwise a few percent of the loss. */
    float object_weight, object_threshold;
    uint64_t seed;
    int vocab_size; /* 0: the DiT's */
    double time_budget, checkpoint_minutes;
    int64_t log_every, checkpoint_every, eval_every;
    int eval_prompts;
    uint64_t eval_seed;
} vd_dit_train_config;

void vd_dit_train_config_default(vd_dit_train_config *c);
/* Reads a "train" object; absent members keep c's values; checks ranges. */
vd_status vd_dit_train_config_from_json(vd_dit_train_config *c, const vd_json *train,
                                        vd_error *err);

typedef struct vd_dit_train_opts {
    const char *config_path; /* required unless the run folder has a checkpoint */
    const char *out;         /* NULL: the config's "out" */
    int64_t steps;           /* > 0 overrides train.steps */
    double time_budget;      /* > 0 overrides train.time_budget */
    int64_t stop_after;      /* > 0: stop after this many steps of this run */
    /* A model file (vidit train's export) whose DiT weights and tokenizer a
     * new run starts from, for fine-tuning with another recipe; its DiT
     * config must equal the run's. Ignored when the run resumes. */
    const char *init;
    /* When not NULL and it becomes non-zero (a signal handler's flag), the
     * run stops after the current step and checkpoints, as at a time
     * budget. */
    const volatile sig_atomic_t *stop;
    int no_eval;             /* skip sampling/judging (tests) */
    vd_progress *progress;   /* NULL: silent */
} vd_dit_train_opts;

typedef struct vd_dit_train_report {
    int64_t step, steps_this_run, total_steps;
    double seconds, samples_per_s;
    float last_loss;         /* mean over the last log interval */
    float first_loss;        /* mean over this run's first log interval */
    int videos, buckets, resumed, cache_rebuilt, finished;
    int init_taken, init_new; /* --init: tensors loaded, tensors left fresh */
    double eval_every;       /* the last judged every-constraint rate (NaN: none) */
    char run[1100], model[1100];
} vd_dit_train_report;

vd_status vd_dit_train(const vd_dit_train_opts *o, vd_dit_train_report *report,
                       vd_error *err);

#endif
