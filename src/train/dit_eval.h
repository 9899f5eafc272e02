/* Samples during text-to-video training: a few videos from held-out
 * prompts, written as mp4 with a captions.jsonl (so `vidit eval FOLDER`
 * judges them again), and judged in-process (eval/eval.h). */
#ifndef VD_TRAIN_DIT_EVAL_H
#define VD_TRAIN_DIT_EVAL_H

#include <stdint.h>

#include "diffusion/pipeline.h"

typedef struct vd_dit_eval_result {
    int videos;
    /* Means over the videos of colour, shape, direction, background and
     * every-constraint (NaN where no video had the constraint). */
    double mean[5];
    char folder[1100];
} vd_dit_eval_result;

/* Prompts: the first n captions of eval_data (a dataset folder) when given,
 * else captions of toy-world videos `0..n-1` of world seed eval_seed at the
 * model's first trained shape. Video i uses seed i and the model's default
 * sampling settings; it goes to OUT/samples/step_NNNNNN/. */
vd_status vd_dit_eval_run(vd_vae *vae, vd_dit *dit, const vd_tokenizer *tok, const float *mean,
                          const float *std, const vd_t2v_info *info, const char *out,
                          int64_t step, const char *eval_data, int n, uint64_t eval_seed,
                          vd_dit_eval_result *res, vd_error *err);

#endif
