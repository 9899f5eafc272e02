/* Judged samples during training (see dit_eval.h). */
#include "train/dit_eval.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "eval/eval.h"
#include "io/dataset.h"
#include "world/world.h"

#define CAPTION_MAX 512

static vd_status prompts_from(char (*caps)[CAPTION_MAX], int n, const char *eval_data,
                              uint64_t seed, const vd_t2v_info *info, vd_error *err) {
    vd_status st = VD_OK;
    if (eval_data) {
        vd_dataset *ds = NULL;
        if ((st = vd_dataset_open(&ds, eval_data, err))) return st;
        if ((int)vd_dataset_count(ds) < n)
            st = vd_fail(err, VD_ERR_ARG, "train: eval data %s has %zu captions, %d wanted",
                         eval_data, vd_dataset_count(ds), n);
        for (int i = 0; i < n && !st; i++)
            snprintf(caps[i], CAPTION_MAX, "%s", vd_dataset_entry(ds, (size_t)i)->caption);
        vd_dataset_free(ds);
        return st;
    }
    vd_world_params wp;
    vd_world_params_default(&wp);
    wp.width = info->width[0];
    wp.height = info->height[0];
    wp.frames = info->frames[0];
    wp.fps = (float)info->fps;
    vd_scene *scene = malloc(sizeof *scene);
    if (!scene) return vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
    for (int i = 0; i < n && !st; i++)
        st = vd_world_generate(&wp, seed, (uint64_t)i, scene, caps[i], CAPTION_MAX, err);
    free(scene);
    if (st) return vd_fail_prefix(err, st, "train: held-out prompts: ");
    return VD_OK;
}

vd_status vd_dit_eval_run(vd_vae *vae, vd_dit *dit, const vd_tokenizer *tok, const float *mean,
                          const float *std, const vd_t2v_info *info, const char *out,
                          int64_t step, const char *eval_data, int n, uint64_t eval_seed,
                          vd_dit_eval_result *res, vd_error *err) {
    memset(res, 0, sizeof *res);
    for (int i = 0; i < 5; i++) res->mean[i] = NAN;
    if (n <= 0) return VD_OK;
    char dir[1100], path[1200];
    snprintf(dir, sizeof dir, "%s/samples", out);
    if (mkdir(dir, 0777) != 0 && errno != EEXIST)
        return vd_fail(err, VD_ERR_IO, "train: %s: cannot make the folder", dir);
    snprintf(res->folder, sizeof res->folder, "%s/samples/step_%06lld", out, (long long)step);
    char (*caps)[CAPTION_MAX] = calloc((size_t)n, CAPTION_MAX);
    if (!caps) return vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
    vd_t2v *m = NULL;
    vd_dataset_writer *w = NULL;
    vd_eval_summary sum;
    vd_eval_summary_init(&sum);
    vd_status st = prompts_from(caps, n, eval_data, eval_seed, info, err);
    if (!st) st = vd_t2v_wrap(&m, vae, dit, tok, mean, std, info, err);
    if (!st) st = vd_dataset_writer_new(&w, res->folder, err);
    for (int i = 0; i < n && !st; i++) {
        vd_t2v_request q;
        vd_t2v_request_default(&q);
        q.prompt = caps[i];
        q.seed = (uint64_t)i;
        vd_video v;
        memset(&v, 0, sizeof v);
        char file[32];
        snprintf(file, sizeof file, "%06d.mp4", i);
        snprintf(path, sizeof path, "%s/%s", res->folder, file);
        if (!(st = vd_t2v_generate(m, &q, &v, err)) && !(st = vd_video_write(path, &v, NULL, err)) &&
            !(st = vd_dataset_writer_add(w, file, caps[i], NULL, err))) {
            vd_eval_result r;
            if (vd_eval_video(&v, caps[i], NULL, &r, NULL) == VD_OK)
                vd_eval_summary_add(&sum, &r);
            else
                vd_eval_summary_add_failure(&sum);
            res->videos++;
        }
        vd_video_free(&v);
    }
    if (!st) st = vd_dataset_writer_close(w, err);
    vd_dataset_writer_free(w);
    vd_t2v_free(m);
    free(caps);
    if (st) return vd_fail_prefix(err, st, "train: samples at step %lld: ", (long long)step);
    static const int metrics[5] = {VD_EVAL_COLOUR, VD_EVAL_SHAPE, VD_EVAL_DIRECTION,
                                   VD_EVAL_BACKGROUND, VD_EVAL_EVERY};
    for (int i = 0; i < 5; i++) res->mean[i] = vd_eval_summary_mean(&sum, metrics[i]);
    return VD_OK;
}
