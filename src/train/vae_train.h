/* Training the causal video VAE (`vidit vae train`).
 *
 * The run folder holds log.csv (step, loss, recon, kl, grad_norm, lr,
 * samples_per_s, elapsed_s), loss.svg, samples/step_NNNNNN.mp4 (original |
 * reconstruction, EMA weights), checkpoint.safetensors (resumable: params,
 * EMA, AdamW, step, RNG, config) and, at the end, vae.safetensors (the EMA
 * weights with per-channel latent statistics: the model file). The
 * statistics are measured on the data at the end of the run, except when the
 * encoder is frozen and the --init model has them: then they are the init's,
 * unchanged (and kept in the checkpoint for a resumed run), and the frozen
 * encoder's weights stay the init's bit for bit, EMA included.
 *
 * The dataset is read into memory once as 8-bit frames; batches are random
 * clips of clip_frames frames drawn from a Philox stream forked per step, so
 * a run is a pure function of its config and seed, and a resumed run
 * continues exactly as if it had never stopped. */
#ifndef VD_TRAIN_VAE_TRAIN_H
#define VD_TRAIN_VAE_TRAIN_H

#include <signal.h>
#include <stdint.h>

#include "core/json.h"
#include "train/progress.h"
#include "vidit.h"

typedef struct vd_vae_train_config {
    int64_t steps;
    int batch;
    float lr, min_lr;
    int64_t warmup;
    float weight_decay, beta1, beta2, grad_clip, ema_decay, kl_weight;
    int use_l1;
    int clip_frames;
    uint64_t seed;
    int64_t log_every, sample_every, checkpoint_every;
    double checkpoint_minutes;
    int stats_videos;
    int freeze_encoder; /* train the decoder alone (the latent space stays) */
    /* > 0: pixels that stand out from the frame's border colour, and their
     * neighbours, weigh 1 + foreground_weight in the reconstruction loss
     * (vd_standout_weights: small objects otherwise count for little). */
    float foreground_weight;
    /* > 0: the decoder learns from latents with noise of up to this many
     * latent standard deviations added (vd_vae_set_latent_noise). */
    float latent_noise;
} vd_vae_train_config;

void vd_vae_train_config_default(vd_vae_train_config *c);

/* Reads a "train" object; missing members keep c's values. */
vd_status vd_vae_train_config_from_json(vd_vae_train_config *c, const vd_json *train,
                                        vd_error *err);

typedef struct vd_vae_train_opts {
    const char *config_path; /* JSON with "model" and "train"; NULL = defaults */
    const char *data;        /* dataset folder (captions.jsonl) */
    const char *out;         /* run folder (made when missing) */
    int64_t steps;           /* > 0 overrides train.steps (the LR schedule's length) */
    double time_budget;      /* seconds, 0 = none */
    int batch;               /* > 0 overrides train.batch */
    int resume;              /* 1: a checkpoint must exist; it is used anyway when present */
    /* A VAE model file to start from, or NULL: the same layers as the
     * config, or, with freeze_encoder, the same encoder and another decoder
     * (its encoder and latent statistics are then required and kept, the
     * decoder's tensors of another shape start fresh). */
    const char *init;
    int64_t stop_after;      /* > 0: stop after this many steps of this run (tests) */
    /* When not NULL and it becomes non-zero (a signal handler's flag), the
     * run stops after the current step and checkpoints, as at a time
     * budget. */
    const volatile sig_atomic_t *stop;
    vd_progress *progress;   /* may be NULL: silent */
} vd_vae_train_opts;

typedef struct vd_vae_train_report {
    int64_t step;            /* steps done in all */
    int64_t steps_this_run;
    double seconds, seconds_per_step;
    float last_loss;
    double sample_psnr;      /* PSNR of the last written reconstruction (EMA) */
    int videos;              /* in memory */
    int resumed;
} vd_vae_train_report;

vd_status vd_vae_train(const vd_vae_train_opts *o, vd_vae_train_report *report,
                       vd_error *err);

#endif
