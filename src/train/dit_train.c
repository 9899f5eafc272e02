/* The text-to-video training loop (see dit_train.h). */
#include "train/dit_train.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/fs.h"
#include "core/strbuf.h"
#include "diffusion/pipeline.h"
#include "diffusion/sampler.h"
#include "io/dataset.h"
#include "models/dit.h"
#include "models/tokenizer.h"
#include "models/vae.h"
#include "train/checkpoint.h"
#include "train/csvlog.h"
#include "train/dit_cache.h"
#include "train/dit_eval.h"
#include "train/loss_weights.h"
#include "train/optim.h"

void vd_dit_train_config_default(vd_dit_train_config *c) {
    memset(c, 0, sizeof *c);
    c->steps = 1000;
    c->warmup = 100;
    c->batch = 8;
    c->accum = 1;
    c->lr = 3e-4f;
    c->min_lr = 3e-5f;
    c->weight_decay = 0.0f;
    c->beta1 = 0.9f;
    c->beta2 = 0.999f;
    c->grad_clip = 1.0f;
    c->ema_decay = 0.999f;
    c->caption_dropout = 0.1f;
    vd_flow_tconfig_default(&c->tsample);
    c->given_first = 0.15f;
    c->given_prefix = 0.1f;
    c->given_ends = 0.1f;
    c->object_threshold = 0.5f;
    c->log_every = 10;
    c->checkpoint_every = 500;
    c->checkpoint_minutes = 10;
    c->eval_every = 1000;
    c->eval_prompts = 4;
    c->eval_seed = 1000003;
}

vd_status vd_dit_train_config_from_json(vd_dit_train_config *c, const vd_json *t,
                                        vd_error *err) {
    if (!t) return VD_OK;
    if (vd_json_type_of(t) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "train config: \"train\" must be an object");
    const vd_json_field fields[] = {
        {"lr", &c->lr, NULL}, {"min_lr", &c->min_lr, NULL},
        {"weight_decay", &c->weight_decay, NULL}, {"beta1", &c->beta1, NULL},
        {"beta2", &c->beta2, NULL}, {"grad_clip", &c->grad_clip, NULL},
        {"ema_decay", &c->ema_decay, NULL}, {"caption_dropout", &c->caption_dropout, NULL},
        {"given_first", &c->given_first, NULL}, {"given_prefix", &c->given_prefix, NULL},
        {"given_ends", &c->given_ends, NULL}, {"object_weight", &c->object_weight, NULL},
        {"object_threshold", &c->object_threshold, NULL},
        {"logit_mean", &c->tsample.logit_mean, NULL}, {"logit_std", &c->tsample.logit_std, NULL},
        {"shift", &c->tsample.shift, NULL}, {"steps", NULL, &c->steps},
        {"warmup", NULL, &c->warmup}, {"log_every", NULL, &c->log_every},
        {"checkpoint_every", NULL, &c->checkpoint_every}, {"eval_every", NULL, &c->eval_every}};
    struct { const char *k; int *i; } ints[] = {
        {"batch", &c->batch}, {"accum", &c->accum}, {"vocab_size", &c->vocab_size},
        {"eval_prompts", &c->eval_prompts}};
    vd_status st = vd_json_get_fields(t, fields, sizeof fields / sizeof fields[0], err);
    if (st) return st;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        int64_t v;
        if ((st = vd_json_get_int(t, ints[i].k, *ints[i].i, &v, err))) return st;
        if (v < 0 || v > 1000000)
            return vd_fail(err, VD_ERR_FORMAT, "train config: \"%s\" = %lld is out of range",
                           ints[i].k, (long long)v);
        *ints[i].i = (int)v;
    }
    int64_t v;
    if ((st = vd_json_get_int(t, "seed", (int64_t)c->seed, &v, err))) return st;
    c->seed = (uint64_t)v;
    if ((st = vd_json_get_int(t, "eval_seed", (int64_t)c->eval_seed, &v, err))) return st;
    c->eval_seed = (uint64_t)v;
    if ((st = vd_json_get_num(t, "time_budget", c->time_budget, &c->time_budget, err)) ||
        (st = vd_json_get_num(t, "checkpoint_minutes", c->checkpoint_minutes,
                              &c->checkpoint_minutes, err)))
        return st;
    const char *ts;
    if ((st = vd_json_get_str(t, "timesteps",
                              c->tsample.kind == VD_FLOW_UNIFORM ? "uniform" : "logit_normal", &ts,
                              err)))
        return st;
    if (!vd_flow_tsample_from_name(ts, &c->tsample.kind))
        return vd_fail(err, VD_ERR_FORMAT,
                       "train config: \"timesteps\" is \"%s\" (want logit_normal or uniform)", ts);
    struct { const char *k; int bad; } checks[] = {
        {"steps", c->steps < 1}, {"batch", c->batch < 1}, {"accum", c->accum < 1},
        {"lr", !(c->lr > 0)}, {"min_lr", !(c->min_lr >= 0)}, {"warmup", c->warmup < 0},
        {"ema_decay", !(c->ema_decay >= 0 && c->ema_decay < 1)}, {"log_every", c->log_every < 1},
        {"caption_dropout", !(c->caption_dropout >= 0 && c->caption_dropout < 1)},
        {"shift", !(c->tsample.shift > 0)}, {"logit_std", !(c->tsample.logit_std > 0)},
        {"grad_clip", !(c->grad_clip >= 0)}, {"checkpoint_every", c->checkpoint_every < 0},
        {"eval_every", c->eval_every < 0}, {"time_budget", !(c->time_budget >= 0)},
        {"checkpoint_minutes", !(c->checkpoint_minutes >= 0)},
        {"object_weight", !(c->object_weight >= 0 && c->object_weight <= 1000)},
        {"object_threshold", !(c->object_threshold > 0)},
        {"given_first", !(c->given_first >= 0)}, {"given_prefix", !(c->given_prefix >= 0)},
        {"given_ends", !(c->given_ends >= 0 && c->given_first + c->given_prefix + c->given_ends <= 1)}};
    for (size_t i = 0; i < sizeof checks / sizeof checks[0]; i++)
        if (checks[i].bad)
            return vd_fail(err, VD_ERR_FORMAT, "train config: \"%s\" is out of range", checks[i].k);
    return VD_OK;
}

/* ------------------------------------------------------------------- run */

#define MAX_DIRS 16

typedef struct run {
    char *cfg_text;
    vd_json *cfg;
    vd_dit_train_config tc;
    const char *dirs[MAX_DIRS];
    int n_dirs;
    const char *vae_path, *export_path, *eval_data;
    char out[1024];
    vd_dit_config dc;
    char *dit_text; /* resolved DiT config JSON */
    vd_t2v_info info;
    vd_latent_cache cache;
    vd_tokenizer *tok;
    char *tok_text;
    int32_t *ids; /* (n, L) */
    int *lens;
    vd_vae *vae;
    vd_dit *dit;
    vd_adamw *opt;
    vd_ema *ema;
    uint8_t *mask;
    vd_arena *arena;
    vd_csvlog *log;
    float *buf; /* x0, eps, xt, target, pred, dpred, then with object_weight:
                 * weights and the weights' scratch */
    float *t;
    int32_t *btok;
    int *blen;
    uint8_t *given; /* (batch, T) given latent frames of the micro-batch */
} run;

static void run_free(run *r) {
    free(r->cfg_text);
    vd_json_free(r->cfg);
    free(r->dit_text);
    vd_latent_cache_release(&r->cache);
    vd_tokenizer_free(r->tok);
    free(r->tok_text);
    free(r->ids);
    free(r->lens);
    vd_vae_free(r->vae);
    vd_dit_free(r->dit);
    vd_adamw_free(r->opt);
    vd_ema_free(r->ema);
    vd_free(NULL, r->mask);
    vd_arena_free(r->arena);
    vd_csvlog_close(r->log);
    free(r->buf);
    free(r->t);
    free(r->btok);
    free(r->blen);
    free(r->given);
}

static char *dup_text(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void note(vd_progress *p, const char *text) {
    if (p) vd_progress_note(p, text);
}

/* The "sample" object (the exported model's sampling defaults) into
 * r->info; absent members keep their values. */
static vd_status read_sample(run *r, const vd_json *sm, const char *label, vd_error *err) {
    vd_status st;
    if (sm) {
        int64_t steps;
        double cfg, shift;
        const char *solver;
        if ((st = vd_json_get_int(sm, "steps", r->info.steps, &steps, err)) ||
            (st = vd_json_get_num(sm, "cfg", r->info.cfg, &cfg, err)) ||
            (st = vd_json_get_num(sm, "shift", r->info.shift, &shift, err)) ||
            (st = vd_json_get_str(sm, "solver", vd_solver_name(r->info.solver), &solver, err)))
            return vd_fail_prefix(err, st, "train: %s: sample: ", label);
        if (!vd_solver_from_name(solver, &r->info.solver) || steps < 1 ||
            steps > VD_T2V_MAX_STEPS || !(cfg >= 0) || !(shift > 0))
            return vd_fail(err, VD_ERR_FORMAT, "train: %s: \"sample\" has a value out of range", label);
        r->info.steps = (int)steps;
        r->info.cfg = (float)cfg;
        r->info.shift = (float)shift;
    }
    return VD_OK;
}

/* Reads the run description (data, vae, dit, out, export, sample) from the
 * parsed config; dit_meta is the checkpoint's DiT config on a resume. */
static vd_status read_run(run *r, const vd_dit_train_opts *o, const char *label,
                          const char *dit_meta, vd_error *err) {
    const vd_json *c = r->cfg, *d = vd_json_get(c, "data"), *dit = vd_json_get(c, "dit");
    vd_status st;
    if (vd_json_type_of(c) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "train: %s: not a JSON object", label);
    if (vd_json_type_of(d) == VD_JSON_STRING) {
        r->dirs[r->n_dirs++] = vd_json_str(d, NULL);
    } else if (vd_json_type_of(d) == VD_JSON_ARRAY && vd_json_len(d) >= 1 &&
               vd_json_len(d) <= MAX_DIRS) {
        for (size_t i = 0; i < vd_json_len(d); i++)
            if (!(r->dirs[r->n_dirs++] = vd_json_str(vd_json_at(d, i), NULL)))
                return vd_fail(err, VD_ERR_FORMAT, "train: %s: \"data\"[%zu] is not a string", label, i);
    } else {
        return vd_fail(err, VD_ERR_FORMAT, "train: %s: \"data\" must be a folder or a list of "
                       "1..%d folders", label, MAX_DIRS);
    }
    const char *out;
    if ((st = vd_json_get_str(c, "vae", "models/vae.safetensors", &r->vae_path, err)) ||
        (st = vd_json_get_str(c, "out", NULL, &out, err)) ||
        (st = vd_json_get_str(c, "export", NULL, &r->export_path, err)) ||
        (st = vd_json_get_str(c, "eval_data", NULL, &r->eval_data, err)))
        return vd_fail_prefix(err, st, "train: %s: ", label);
    if (o->out) out = o->out;
    if (!out) return vd_fail(err, VD_ERR_ARG, "train: %s: no run folder (\"out\" or --out)", label);
    if (strlen(out) >= sizeof r->out - 64)
        return vd_fail(err, VD_ERR_ARG, "train: run folder path too long");
    snprintf(r->out, sizeof r->out, "%s", out);
    vd_dit_train_config_default(&r->tc);
    if ((st = vd_dit_train_config_from_json(&r->tc, vd_json_get(c, "train"), err)))
        return vd_fail_prefix(err, st, "train: %s: ", label);
    vd_dit_config_default(&r->dc);
    if (dit_meta) {
        st = vd_dit_config_parse(&r->dc, dit_meta, strlen(dit_meta), "checkpoint dit_config", err);
    } else if (vd_json_type_of(dit) == VD_JSON_STRING) {
        st = vd_dit_config_load(&r->dc, vd_json_str(dit, NULL), err);
    } else if (vd_json_type_of(dit) == VD_JSON_OBJECT) {
        vd_strbuf s;
        vd_strbuf_init(&s);
        vd_dataset_json_compact(&s, dit);
        st = s.failed ? vd_fail(err, VD_ERR_NOMEM, "train: out of memory")
                      : vd_dit_config_parse(&r->dc, s.data, s.len, "dit", err);
        vd_strbuf_free(&s);
    } else {
        st = vd_fail(err, VD_ERR_FORMAT, "\"dit\" must be a config path or object");
    }
    if (st) return vd_fail_prefix(err, st, "train: %s: ", label);
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_dit_config_to_json(&r->dc, &s);
    r->dit_text = s.failed ? NULL : dup_text(vd_strbuf_cstr(&s));
    vd_strbuf_free(&s);
    if (!r->dit_text) return vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
    if (r->tc.vocab_size == 0) r->tc.vocab_size = r->dc.vocab_size;
    if (r->tc.vocab_size < 258 || r->tc.vocab_size > r->dc.vocab_size)
        return vd_fail(err, VD_ERR_ARG, "train: %s: vocab_size %d must be in [258, %d] (the DiT's)",
                       label, r->tc.vocab_size, r->dc.vocab_size);
    /* Sampling defaults of the exported model. */
    vd_t2v_info_default(&r->info);
    return read_sample(r, vd_json_get(c, "sample"), label, err);
}

/* The tokenizer (trained on the cache's captions unless resumed) and every
 * caption's token ids. */
static vd_status tokenize(run *r, const char *tok_meta, vd_error *err) {
    vd_status st;
    if (tok_meta) {
        st = vd_tokenizer_from_json(&r->tok, tok_meta, strlen(tok_meta), NULL, err);
    } else {
        st = vd_tokenizer_train(&r->tok, (const char *const *)r->cache.captions,
                                (size_t)r->cache.n, r->tc.vocab_size, NULL, err);
    }
    if (st) return vd_fail_prefix(err, st, "train: tokenizer: ");
    if (vd_tokenizer_vocab_size(r->tok) > r->dc.vocab_size)
        return vd_fail(err, VD_ERR_FORMAT, "train: tokenizer has %d ids, the DiT %d",
                       vd_tokenizer_vocab_size(r->tok), r->dc.vocab_size);
    vd_strbuf s;
    vd_strbuf_init(&s);
    st = vd_tokenizer_to_json(r->tok, &s, err);
    if (!st) r->tok_text = s.failed ? NULL : dup_text(vd_strbuf_cstr(&s));
    vd_strbuf_free(&s);
    if (st) return st;
    const int L = r->dc.max_text_len;
    r->ids = calloc((size_t)r->cache.n * L, sizeof *r->ids);
    r->lens = calloc((size_t)r->cache.n, sizeof *r->lens);
    if (!r->tok_text || !r->ids || !r->lens) return vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
    for (int i = 0; i < r->cache.n; i++)
        r->lens[i] = vd_tokenizer_encode(r->tok, r->cache.captions[i], r->ids + (size_t)i * L, L, NULL);
    return VD_OK;
}

/* Which latent frames of a T-frame sample are given clean (frame_cond
 * models): the first frame (image to video), a prefix (extension), or a
 * prefix and a suffix (connecting two videos), each with its configured
 * probability; otherwise none. Draws nothing for other models, so their
 * runs do not change. */
static void draw_given(const run *r, vd_rng *g, uint8_t *mask, int T) {
    memset(mask, 0, (size_t)T);
    if (!r->dc.frame_cond || T < 2) return;
    float u = vd_rng_uniform1(g);
    const vd_dit_train_config *tc = &r->tc;
    int k = 1 + (int)vd_rng_below(g, (uint32_t)(T - 1)); /* 1 .. T - 1 */
    if (u < tc->given_first) {
        mask[0] = 1;
    } else if (u < tc->given_first + tc->given_prefix) {
        memset(mask, 1, (size_t)k);
    } else if (u < tc->given_first + tc->given_prefix + tc->given_ends && T >= 3) {
        /* a frames at the start, b at the end, at least one free between */
        int a = 1 + (int)vd_rng_below(g, (uint32_t)(T - 2));
        int b = 1 + (int)vd_rng_below(g, (uint32_t)(T - 1 - a));
        memset(mask, 1, (size_t)a);
        memset(mask + T - b, 1, (size_t)b);
    }
}

/* Puts the given frames' clean values into xt and makes pred equal the
 * target there (no loss, no gradient), or with pred == NULL only the
 * former. Layout (B, C, T, H, W). */
static void apply_given(const uint8_t *mask, float *xt, const float *x0, float *pred,
                        const float *tgt, int B, int C, int T, size_t plane) {
    for (int b = 0; b < B; b++)
        for (int c = 0; c < C; c++)
            for (int f = 0; f < T; f++) {
                if (!mask[(size_t)b * T + f]) continue;
                size_t o = (((size_t)b * C + c) * T + f) * plane;
                if (pred) memcpy(pred + o, tgt + o, plane * sizeof *pred);
                else memcpy(xt + o, x0 + o, plane * sizeof *xt);
            }
}

/* One micro-batch: forward, loss, backward (gradients accumulate). */
static vd_status micro_step(run *r, const vd_rng *base, int64_t key, double *loss,
                            vd_error *err) {
    const vd_latent_cache *c = &r->cache;
    const int B = r->tc.batch, L = r->dc.max_text_len;
    vd_rng g = vd_rng_fork(base, (uint64_t)key);
    int first = (int)vd_rng_below(&g, (uint32_t)c->n), b = c->bucket[first];
    const int T = c->bT[b], H = c->bH[b], W = c->bW[b];
    const size_t per = (size_t)c->Z * T * H * W, n = per * B;
    float *x0 = r->buf, *eps = x0 + n, *xt = eps + n, *tgt = xt + n, *pred = tgt + n, *dp = pred + n;
    float *weight = NULL;
    for (int k = 0; k < B; k++) {
        int item = k == 0 ? first : c->bitems[c->bstart[b] + (int)vd_rng_below(&g, (uint32_t)c->bcount[b])];
        memcpy(x0 + k * per, c->data + c->offset[item], per * sizeof *x0);
        memcpy(r->btok + (size_t)k * L, r->ids + (size_t)item * L, (size_t)L * sizeof *r->btok);
        r->blen[k] = r->lens[item];
    }
    vd_flow_sample_t(&r->tc.tsample, &g, r->t, B);
    for (int k = 0; k < B; k++)
        if (vd_rng_uniform1(&g) < r->tc.caption_dropout) r->blen[k] = 0;
    vd_rng_normal(&g, eps, n);
    vd_flow_noise(xt, tgt, x0, eps, r->t, B, per);
    if (r->tc.object_weight > 0) {
        weight = dp + n;
        vd_standout_weights(weight, x0, B, c->Z, T, H, W, r->tc.object_weight,
                            r->tc.object_threshold, weight + n);
    }
    const uint8_t *given = NULL;
    if (r->dc.frame_cond) {
        for (int k = 0; k < B; k++) draw_given(r, &g, r->given + (size_t)k * T, T);
        apply_given(r->given, xt, x0, NULL, NULL, B, c->Z, T, (size_t)H * W);
        given = r->given;
    }
    vd_status st = vd_dit_forward_cond(r->dit, xt, given, r->t, r->btok, r->blen, B, T, H, W,
                                       pred, r->arena, err);
    if (!st) {
        if (given) apply_given(given, xt, x0, pred, tgt, B, c->Z, T, (size_t)H * W);
        *loss = vd_flow_mse(pred, tgt, weight, n, 1.0f / (float)r->tc.accum, dp);
        st = vd_dit_backward(r->dit, dp, NULL, r->arena, err);
    }
    vd_arena_reset(r->arena, 0);
    return st;
}

static vd_status save_checkpoint(run *r, const char *path, int64_t step, const vd_rng *base,
                                 vd_error *err) {
    const char *meta[6] = {"config", r->cfg_text, "dit_config", r->dit_text, "tokenizer",
                           r->tok_text};
    vd_checkpoint ck = {vd_dit_params(r->dit), r->ema, r->opt, step, *base};
    return vd_checkpoint_save(path, &ck, meta, 3, err);
}

static vd_status export_model(run *r, const char *path, vd_error *err) {
    return vd_t2v_save(path, r->vae, r->dit, vd_ema_data(r->ema), r->tok, r->cache.mean,
                       r->cache.std, &r->info, err);
}

static const char *const LOG_COLS[] = {"step", "loss", "grad_norm", "lr", "samples_per_s",
                                       "elapsed_s", "colour", "shape", "direction",
                                       "background", "every"};
enum { NCOL = 11 };

static vd_status draw_curve(const run *r, vd_error *err) {
    char csv[1100], svg[1100];
    snprintf(csv, sizeof csv, "%s/log.csv", r->out);
    snprintf(svg, sizeof svg, "%s/loss.svg", r->out);
    const char *cols[1] = {"loss"};
    return vd_csvlog_svg(csv, svg, "DiT training loss (flow matching MSE)", cols, 1, 1, err);
}

/* Reads the config (from the checkpoint when resuming) and builds
 * everything up to the optimiser. */
static vd_status setup(run *r, const vd_dit_train_opts *o, vd_dit_train_report *rep,
                       char *ck_path, size_t ck_size, int *have_ck, vd_error *err) {
    vd_status st;
    char *meta_dit = NULL, *meta_tok = NULL, msg[1400];
    vd_st_file *init = NULL;
    int transfer = 0; /* --init's DiT config differs from the run's */
    /* The run folder comes from --out or the config; the checkpoint there
     * (if any) supplies the config. */
    const char *label = o->config_path;
    size_t len = 0;
    if (o->out) {
        snprintf(ck_path, ck_size, "%s/checkpoint.safetensors", o->out);
        *have_ck = access(ck_path, F_OK) == 0;
    }
    if (!*have_ck) {
        if (!o->config_path) return vd_fail(err, VD_ERR_ARG, "train: no --config given");
        if ((st = vd_read_file(o->config_path, &r->cfg_text, &len, err))) return st;
        r->cfg = vd_json_parse(r->cfg_text, len, o->config_path, err);
        if (!r->cfg) return VD_ERR_FORMAT;
        const char *out = NULL;
        if (vd_json_get_str(r->cfg, "out", NULL, &out, NULL) == VD_OK && out && !o->out) {
            snprintf(ck_path, ck_size, "%s/checkpoint.safetensors", out);
            *have_ck = access(ck_path, F_OK) == 0;
        }
    }
    if (*have_ck) {
        vd_st_file *f = NULL;
        if ((st = vd_st_open(&f, ck_path, err))) return vd_fail_prefix(err, st, "train: resume: ");
        const char *t = vd_st_metadata(f, "config"), *d = vd_st_metadata(f, "dit_config");
        const char *k = vd_st_metadata(f, "tokenizer");
        if (!t || !d || !k) {
            vd_st_close(f);
            return vd_fail(err, VD_ERR_FORMAT, "train: %s: not a text-to-video checkpoint "
                           "(no config, dit_config or tokenizer)", ck_path);
        }
        free(r->cfg_text);
        vd_json_free(r->cfg);
        r->cfg_text = dup_text(t);
        meta_dit = dup_text(d);
        meta_tok = dup_text(k);
        vd_st_close(f);
        if (!r->cfg_text || !meta_dit || !meta_tok) {
            st = vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
            goto done;
        }
        label = ck_path;
        r->cfg = vd_json_parse(r->cfg_text, strlen(r->cfg_text), ck_path, err);
        if (!r->cfg) {
            st = VD_ERR_FORMAT;
            goto done;
        }
    }
    if ((st = read_run(r, o, label, meta_dit, err))) goto done;
    /* A resumed (or finished) run keeps its checkpoint's config, but the
     * sampling defaults of the model it exports come from --config when one
     * is given: they do not change training, so a run can be re-exported
     * with new ones. */
    if (*have_ck && o->config_path) {
        char *text = NULL;
        size_t n = 0;
        if ((st = vd_read_file(o->config_path, &text, &n, err))) goto done;
        vd_json *fc = vd_json_parse(text, n, o->config_path, err);
        st = fc ? read_sample(r, vd_json_get(fc, "sample"), o->config_path, err) : VD_ERR_FORMAT;
        vd_json_free(fc);
        free(text);
        if (st) goto done;
    }
    if (!*have_ck && o->init) {
        /* Fine-tuning: the model's tokenizer, and (below) its DiT weights. */
        if ((st = vd_st_open(&init, o->init, err))) {
            vd_fail_prefix(err, st, "train: --init: ");
            goto done;
        }
        const char *k = vd_st_metadata(init, "tokenizer"), *d = vd_st_metadata(init, "dit_config");
        vd_dit_config ic;
        vd_dit_config_default(&ic);
        if (!k || !d) {
            st = vd_fail(err, VD_ERR_FORMAT, "train: --init %s: not a text-to-video model", o->init);
            goto done;
        }
        if ((st = vd_dit_config_parse(&ic, d, strlen(d), "dit_config", err))) goto done;
        vd_strbuf a, b;
        vd_strbuf_init(&a);
        vd_strbuf_init(&b);
        vd_dit_config_to_json(&ic, &a);
        vd_dit_config_to_json(&r->dc, &b);
        int same = !a.failed && !b.failed && !strcmp(vd_strbuf_cstr(&a), vd_strbuf_cstr(&b));
        vd_strbuf_free(&a);
        vd_strbuf_free(&b);
        transfer = !same;
        if (!(meta_tok = dup_text(k))) {
            st = vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
            goto done;
        }
    }
    snprintf(ck_path, ck_size, "%s/checkpoint.safetensors", r->out);
    if ((st = vd_mkdirs(r->out, err))) {
        vd_fail_prefix(err, st, "train: run folder: ");
        goto done;
    }
    if ((st = vd_vae_load(&r->vae, r->vae_path, NULL, err))) goto done;
    const vd_vae_config *vc = vd_vae_get_config(r->vae);
    const int sc = vd_vae_config_spatial(vc), tcomp = vd_vae_config_temporal(vc);
    if (vc->latent_channels != r->dc.latent_channels) {
        st = vd_fail(err, VD_ERR_ARG, "train: the VAE %s makes %d latent channels, the DiT takes %d",
                     r->vae_path, vc->latent_channels, r->dc.latent_channels);
        goto done;
    }
    int multiple = sc * (r->dc.patch_h > r->dc.patch_w ? r->dc.patch_h : r->dc.patch_w);
    char cache_path[1100];
    snprintf(cache_path, sizeof cache_path, "%s/latents.safetensors", r->out);
    if ((st = vd_latent_cache_open(&r->cache, cache_path, r->dirs, r->n_dirs, r->vae_path,
                                   multiple, o->progress, o->stop, &rep->cache_rebuilt, err))) {
        if (o->stop && *o->stop)
            vd_fail(err, st, "train: interrupted while encoding the latent cache; nothing was "
                    "written (run the same command to start it again)");
        goto done;
    }
    for (int b = 0; b < r->cache.n_buckets && !st; b++) {
        if (r->cache.bT[b] % r->dc.patch_t) {
            st = vd_fail(err, VD_ERR_ARG, "train: %d latent frames do not divide by patch_t %d",
                         r->cache.bT[b], r->dc.patch_t);
            break;
        }
        st = vd_t2v_info_add_frames(&r->info, 1 + (r->cache.bT[b] - 1) * tcomp, err);
        if (!st) st = vd_t2v_info_add_size(&r->info, r->cache.bW[b] * sc, r->cache.bH[b] * sc, err);
    }
    if (st) goto done;
    r->info.fps = r->cache.fps > 0 ? r->cache.fps : 8.0;
    rep->videos = r->cache.n;
    rep->buckets = r->cache.n_buckets;
    if ((st = tokenize(r, meta_tok, err))) goto done;
    if ((st = vd_dit_new(&r->dit, &r->dc, r->tc.seed, 1, NULL, err))) goto done;
    vd_params *P = vd_dit_params(r->dit);
    size_t np = vd_params_numel(P);
    if (init && !transfer && (st = vd_params_load(P, NULL, init, "dit.", err))) {
        vd_fail_prefix(err, st, "train: --init %s: ", o->init);
        goto done;
    }
    if (init && transfer) {
        /* Another config (a new patch size, say): the tensors that keep
         * their shape (blocks, text encoder, timestep MLP) start trained,
         * the rest (patch embedding, final layer) start fresh. */
        int loaded = 0, kept = 0;
        if ((st = vd_params_load_matching(P, NULL, init, "dit.", &loaded, &kept, err))) {
            vd_fail_prefix(err, st, "train: --init %s: ", o->init);
            goto done;
        }
        if (!loaded) {
            st = vd_fail(err, VD_ERR_SHAPE,
                         "train: --init %s: no tensor of its DiT has the run's shapes", o->init);
            goto done;
        }
        snprintf(msg, sizeof msg, "--init %s: another DiT config; %d tensors taken, %d new",
                 o->init, loaded, kept);
        note(o->progress, msg);
        rep->init_taken = loaded;
        rep->init_new = kept;
    } else if (init) {
        rep->init_taken = (int)vd_params_count(P);
    }
    vd_adamw_config ac = {r->tc.lr, r->tc.beta1, r->tc.beta2, 1e-8f, r->tc.weight_decay};
    if ((st = vd_adamw_new(&r->opt, NULL, np, &ac, err))) goto done;
    if (!(r->mask = vd_params_decay_mask(P))) {
        st = vd_fail(err, VD_ERR_NOMEM, "train: out of memory");
        goto done;
    }
    if ((st = vd_adamw_set_decay_mask(r->opt, r->mask, err)) ||
        (st = vd_ema_new(&r->ema, NULL, vd_params_all(P), np, err)))
        goto done;
    size_t maxper = 0, maxplane = 0;
    int maxT = 1, maxHW = 0;
    for (int b = 0; b < r->cache.n_buckets; b++) {
        if (r->cache.bT[b] > maxT) maxT = r->cache.bT[b];
        if (r->cache.bH[b] + r->cache.bW[b] > maxHW) maxHW = r->cache.bH[b] + r->cache.bW[b];
        if ((size_t)r->cache.bH[b] * r->cache.bW[b] > maxplane)
            maxplane = (size_t)r->cache.bH[b] * r->cache.bW[b];
        size_t per = (size_t)r->cache.Z * r->cache.bT[b] * r->cache.bH[b] * r->cache.bW[b];
        if (per > maxper) maxper = per;
    }
    const int B = r->tc.batch;
    r->arena = vd_arena_new(NULL, 0);
    r->buf = malloc((7 * maxper * B + 2 * (size_t)maxHW + maxplane) * sizeof *r->buf);
    r->t = malloc((size_t)B * sizeof *r->t);
    r->btok = calloc((size_t)B * r->dc.max_text_len, sizeof *r->btok);
    r->blen = calloc((size_t)B, sizeof *r->blen);
    r->given = calloc((size_t)B * maxT, 1);
    if (!r->arena || !r->buf || !r->t || !r->btok || !r->blen || !r->given) {
        st = vd_fail(err, VD_ERR_NOMEM, "train: out of memory for batch %d", B);
        goto done;
    }
    int off = snprintf(msg, sizeof msg, "t2v: %zu DiT parameters, %d videos (%d skipped), "
                       "tokenizer %d ids, buckets:", np, r->cache.n, r->cache.skipped,
                       vd_tokenizer_vocab_size(r->tok));
    for (int b = 0; b < r->cache.n_buckets && off < (int)sizeof msg - 40; b++)
        off += snprintf(msg + off, sizeof msg - off, " %dx%dx%d (%d)", r->cache.bW[b] * sc,
                        r->cache.bH[b] * sc, 1 + (r->cache.bT[b] - 1) * tcomp, r->cache.bcount[b]);
    note(o->progress, msg);
done:
    vd_st_close(init);
    free(meta_dit);
    free(meta_tok);
    return st;
}

vd_status vd_dit_train(const vd_dit_train_opts *o, vd_dit_train_report *rep, vd_error *err) {
    memset(rep, 0, sizeof *rep);
    rep->eval_every = NAN;
    run r;
    memset(&r, 0, sizeof r);
    char ck_path[1100], path[1100], msg[1400], extra[160] = "";
    int have_ck = 0;
    vd_status st = setup(&r, o, rep, ck_path, sizeof ck_path, &have_ck, err);
    if (st) goto done;
    vd_dit_train_config *tc = &r.tc;
    if (o->steps > 0) tc->steps = o->steps;
    double budget = o->time_budget > 0 ? o->time_budget : tc->time_budget;
    vd_params *P = vd_dit_params(r.dit);
    const size_t np = vd_params_numel(P);
    vd_rng base;
    vd_rng_init(&base, tc->seed);
    int64_t step = 0, first = 0;
    if (have_ck) {
        vd_checkpoint ck = {P, r.ema, r.opt, 0, base};
        if ((st = vd_checkpoint_load(ck_path, &ck, err))) goto done;
        step = first = ck.step;
        base = ck.rng;
        rep->resumed = 1;
        snprintf(msg, sizeof msg, "resuming %s at step %lld", ck_path, (long long)step);
        note(o->progress, msg);
    }
    snprintf(path, sizeof path, "%s/log.csv", r.out);
    if ((st = vd_csvlog_open(&r.log, path, LOG_COLS, NCOL, (double)step, err))) goto done;
    if (o->progress) {
        o->progress->first_step = step;
        o->progress->total = tc->steps;
    }
    double t_start = vd_progress_now(), last_ck = t_start, eval_time = 0;
    int64_t samples = 0, in_log = 0;
    double loss_sum = 0, judged[5] = {NAN, NAN, NAN, NAN, NAN};
    float gn = 0, lr = 0;
    rep->first_loss = NAN;
    rep->last_loss = NAN;
    while (step < tc->steps) {
        if (budget > 0 && vd_progress_now() - t_start >= budget) {
            note(o->progress, "time budget reached: stopping (resume by running the same command)");
            break;
        }
        if (o->stop_after > 0 && step - first >= o->stop_after) break;
        if (o->stop && *o->stop) {
            note(o->progress, "interrupted: stopping (resume by running the same command)");
            break;
        }
        vd_params_zero_grad(P);
        double loss = 0;
        for (int k = 0; k < tc->accum && !st; k++) {
            double l = 0;
            st = micro_step(&r, &base, step * tc->accum + k, &l, err);
            loss += l / tc->accum;
        }
        if (st) goto done;
        gn = vd_grad_clip_norm(vd_params_all_grad(P), np, tc->grad_clip);
        lr = vd_lr_schedule(step, tc->warmup, tc->steps, tc->lr, tc->min_lr);
        if (isfinite(gn) && isfinite(loss)) {
            vd_adamw_step(r.opt, vd_params_all(P), vd_params_all_grad(P), lr);
            vd_ema_update(r.ema, vd_params_all(P), tc->ema_decay);
        } else {
            note(o->progress, "non-finite loss or gradient: step skipped");
        }
        step++;
        samples += (int64_t)tc->batch * tc->accum;
        loss_sum += loss;
        in_log++;
        const int last = step == tc->steps;
        double train_s = vd_progress_now() - t_start - eval_time;
        if (tc->eval_every > 0 && !o->no_eval && (step % tc->eval_every == 0 || last)) {
            double e0 = vd_progress_now();
            vd_dit_eval_result ev;
            vd_ema_swap(r.ema, vd_params_all(P));
            st = vd_dit_eval_run(r.vae, r.dit, r.tok, r.cache.mean, r.cache.std, &r.info,
                                 r.out, step, r.eval_data, tc->eval_prompts, tc->eval_seed, &ev,
                                 err);
            vd_ema_swap(r.ema, vd_params_all(P));
            if (st) goto done;
            memcpy(judged, ev.mean, sizeof judged);
            rep->eval_every = ev.mean[4];
            snprintf(extra, sizeof extra, " | judge colour %.2f shape %.2f dir %.2f bg %.2f all %.2f",
                     judged[0], judged[1], judged[2], judged[3], judged[4]);
            snprintf(msg, sizeof msg, "step %lld: %d samples in %s (%.0f s)%s", (long long)step,
                     ev.videos, ev.folder, vd_progress_now() - e0, extra);
            note(o->progress, msg);
            eval_time += vd_progress_now() - e0;
        }
        if (step % tc->log_every == 0 || last || !isnan(judged[0])) {
            double mean = in_log ? loss_sum / (double)in_log : NAN;
            if (isnan(rep->first_loss)) rep->first_loss = (float)mean;
            rep->last_loss = (float)mean;
            double row[NCOL] = {(double)step, mean, gn, lr, train_s > 0 ? samples / train_s : 0,
                                train_s, judged[0], judged[1], judged[2], judged[3], judged[4]};
            if ((st = vd_csvlog_row(r.log, row, err))) goto done;
            loss_sum = 0;
            in_log = 0;
            for (int i = 0; i < 5; i++) judged[i] = NAN;
        }
        if (o->progress) vd_progress_update(o->progress, step, samples, loss, extra, 0);
        double now = vd_progress_now();
        if ((tc->checkpoint_every > 0 && step % tc->checkpoint_every == 0) ||
            (tc->checkpoint_minutes > 0 && now - last_ck >= tc->checkpoint_minutes * 60)) {
            if ((st = save_checkpoint(&r, ck_path, step, &base, err)) || (st = draw_curve(&r, err)))
                goto done;
            last_ck = now;
        }
    }
    if (o->progress) {
        vd_progress_update(o->progress, step, samples, rep->last_loss, extra, 1);
        vd_progress_finish(o->progress);
    }
    rep->step = step;
    rep->total_steps = tc->steps;
    rep->steps_this_run = step - first;
    rep->seconds = vd_progress_now() - t_start;
    rep->samples_per_s = rep->seconds - eval_time > 0 ? samples / (rep->seconds - eval_time) : 0;
    rep->finished = step >= tc->steps;
    if ((st = save_checkpoint(&r, ck_path, step, &base, err)) || (st = draw_curve(&r, err)))
        goto done;
    snprintf(rep->run, sizeof rep->run, "%s", r.out);
    snprintf(rep->model, sizeof rep->model, "%s/model.safetensors", r.out);
    if ((st = export_model(&r, rep->model, err))) goto done;
    if (rep->finished && r.export_path) {
        if ((st = export_model(&r, r.export_path, err))) goto done;
        snprintf(rep->model, sizeof rep->model, "%s", r.export_path);
    }
done:
    run_free(&r);
    return st;
}
