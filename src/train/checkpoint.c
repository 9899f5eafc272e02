/* Training checkpoints (see checkpoint.h). */
#include <stdio.h>

#include "core/error.h"
#include "train/checkpoint.h"

vd_status vd_checkpoint_save(const char *path, const vd_checkpoint *c,
                             const char *const *meta, int n, vd_error *err) {
    vd_st_writer *w = vd_st_writer_new(NULL);
    if (!w) return vd_fail(err, VD_ERR_NOMEM, "checkpoint: %s: out of memory", path);
    int64_t one[1] = {1}, two[1] = {2};
    int64_t rng[2] = {(int64_t)c->rng.seed, (int64_t)c->rng.offset};
    vd_status st = vd_params_save(c->params, NULL, w, "model.", VD_F32, err);
    if (!st && c->ema) st = vd_ema_save(c->ema, w, "ema.weights", err);
    if (!st && c->opt) st = vd_adamw_save(c->opt, w, "opt.", err);
    if (!st) st = vd_st_writer_add(w, "train.step", VD_I64, 1, one, &c->step, err);
    if (!st) st = vd_st_writer_add(w, "train.rng", VD_I64, 1, two, rng, err);
    for (int i = 0; i < n && !st; i++) st = vd_st_writer_meta(w, meta[2 * i], meta[2 * i + 1], err);
    if (!st) st = vd_st_writer_meta(w, "format", "vidit-checkpoint", err);
    if (!st) st = vd_st_writer_save(w, path, err);
    vd_st_writer_free(w);
    if (st) return vd_fail_prefix(err, st, "checkpoint: %s: ", path);
    return VD_OK;
}

static vd_status read_i64(const vd_st_file *f, const char *path, const char *name, int64_t *dst,
                          int n, vd_error *err) {
    const vd_st_tensor *t = vd_st_find(f, name);
    if (!t || t->dtype != VD_I64 || t->nbytes != (size_t)n * 8)
        return vd_fail(err, VD_ERR_FORMAT, "checkpoint: %s: missing or malformed '%s'", path, name);
    const unsigned char *b = t->data;
    for (int i = 0; i < n; i++) {
        uint64_t v = 0;
        for (int k = 7; k >= 0; k--) v = (v << 8) | b[i * 8 + k];
        dst[i] = (int64_t)v;
    }
    return VD_OK;
}

vd_status vd_checkpoint_load(const char *path, vd_checkpoint *c, vd_error *err) {
    vd_st_file *f = NULL;
    vd_status st = vd_st_open(&f, path, err);
    if (st) return st;
    int64_t step = 0, rng[2] = {0, 0};
    st = vd_params_load(c->params, NULL, f, "model.", err);
    if (!st && c->ema) st = vd_ema_load(c->ema, f, "ema.weights", err);
    if (!st && c->opt) st = vd_adamw_load(c->opt, f, "opt.", err);
    if (st) vd_fail_prefix(err, st, "checkpoint: %s: ", path);
    if (!st) st = read_i64(f, path, "train.step", &step, 1, err);
    if (!st) st = read_i64(f, path, "train.rng", rng, 2, err);
    if (!st) {
        c->step = step;
        c->rng.seed = (uint64_t)rng[0];
        c->rng.offset = (uint64_t)rng[1];
    }
    vd_st_close(f);
    return st;
}
