/* The VAE training loop (see vae_train.h). */
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
#include "io/dataset.h"
#include "io/video.h"
#include "models/vae.h"
#include "train/checkpoint.h"
#include "train/csvlog.h"
#include "train/loss_weights.h"
#include "train/optim.h"
#include "train/vae_train.h"

void vd_vae_train_config_default(vd_vae_train_config *c) {
    memset(c, 0, sizeof *c);
    c->steps = 3000;
    c->batch = 4;
    c->lr = 1e-3f;
    c->min_lr = 1e-4f;
    c->warmup = 100;
    c->weight_decay = 0.0f;
    c->beta1 = 0.9f;
    c->beta2 = 0.99f;
    c->grad_clip = 1.0f;
    c->ema_decay = 0.998f;
    c->kl_weight = 1e-4f;
    c->use_l1 = 1;
    c->clip_frames = 9;
    c->seed = 0;
    c->log_every = 10;
    c->sample_every = 500;
    c->checkpoint_every = 500;
    c->checkpoint_minutes = 10;
    c->stats_videos = 256;
}

vd_status vd_vae_train_config_from_json(vd_vae_train_config *c, const vd_json *t,
                                        vd_error *err) {
    if (!t) return VD_OK;
    if (vd_json_type_of(t) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "vae config: \"train\" must be an object");
    const vd_json_field fields[] = {
        {"lr", &c->lr, NULL}, {"min_lr", &c->min_lr, NULL},
        {"weight_decay", &c->weight_decay, NULL}, {"beta1", &c->beta1, NULL},
        {"beta2", &c->beta2, NULL}, {"grad_clip", &c->grad_clip, NULL},
        {"ema_decay", &c->ema_decay, NULL}, {"kl_weight", &c->kl_weight, NULL},
        {"foreground_weight", &c->foreground_weight, NULL},
        {"latent_noise", &c->latent_noise, NULL},
        {"steps", NULL, &c->steps}, {"warmup", NULL, &c->warmup},
        {"log_every", NULL, &c->log_every}, {"sample_every", NULL, &c->sample_every},
        {"checkpoint_every", NULL, &c->checkpoint_every}};
    vd_status st = vd_json_get_fields(t, fields, sizeof fields / sizeof fields[0], err);
    if (st) return st;
    int64_t v;
    if ((st = vd_json_get_int(t, "batch", c->batch, &v, err))) return st;
    c->batch = (int)v;
    if ((st = vd_json_get_int(t, "clip_frames", c->clip_frames, &v, err))) return st;
    c->clip_frames = (int)v;
    if ((st = vd_json_get_int(t, "stats_videos", c->stats_videos, &v, err))) return st;
    c->stats_videos = (int)v;
    if ((st = vd_json_get_int(t, "seed", (int64_t)c->seed, &v, err))) return st;
    c->seed = (uint64_t)v;
    double d;
    if ((st = vd_json_get_num(t, "checkpoint_minutes", c->checkpoint_minutes, &d, err))) return st;
    c->checkpoint_minutes = d;
    int fe;
    if ((st = vd_json_get_bool(t, "freeze_encoder", c->freeze_encoder, &fe, err))) return st;
    c->freeze_encoder = fe;
    const char *loss;
    if ((st = vd_json_get_str(t, "loss", c->use_l1 ? "l1" : "mse", &loss, err))) return st;
    if (strcmp(loss, "l1") && strcmp(loss, "mse"))
        return vd_fail(err, VD_ERR_FORMAT, "vae config: \"loss\" is \"%s\" (want l1 or mse)", loss);
    c->use_l1 = strcmp(loss, "l1") == 0;
    if (c->steps < 1 || c->batch < 1 || c->clip_frames < 1 || !(c->lr > 0) || c->warmup < 0 ||
        !(c->ema_decay >= 0 && c->ema_decay < 1) || c->log_every < 1 ||
        !(c->foreground_weight >= 0 && c->foreground_weight <= 1000) ||
        !(c->latent_noise >= 0 && c->latent_noise <= 10))
        return vd_fail(err, VD_ERR_FORMAT, "vae config: a \"train\" value is out of range");
    return VD_OK;
}

/* The dataset in memory: every usable video's frames, one size. */
typedef struct clips {
    int n, H, W, skipped;
    int *frames;
    uint8_t **rgb;
} clips;

static void clips_free(clips *c) {
    for (int i = 0; i < c->n; i++) vd_free(NULL, c->rgb[i]); /* from vd_video_read */
    free(c->rgb);
    free(c->frames);
    memset(c, 0, sizeof *c);
}

static vd_status clips_load(clips *c, const char *dir, int need_frames, vd_error *err) {
    memset(c, 0, sizeof *c);
    vd_dataset *ds = NULL;
    vd_status st = vd_dataset_open(&ds, dir, err);
    if (st) return st;
    size_t n = vd_dataset_count(ds);
    c->frames = calloc(n ? n : 1, sizeof *c->frames);
    c->rgb = calloc(n ? n : 1, sizeof *c->rgb);
    if (!c->frames || !c->rgb) {
        vd_dataset_free(ds);
        clips_free(c);
        return vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory");
    }
    for (size_t i = 0; i < n; i++) {
        const vd_dataset_item *it = vd_dataset_entry(ds, i);
        vd_video v;
        memset(&v, 0, sizeof v);
        if (vd_video_read(it->path, NULL, &v, err)) {
            vd_dataset_free(ds);
            clips_free(c);
            return vd_fail_prefix(err, VD_ERR_IO, "vae train: ");
        }
        if (c->n == 0) {
            c->H = v.height;
            c->W = v.width;
        }
        if (v.frames < need_frames || v.height != c->H || v.width != c->W) {
            c->skipped++;
            vd_video_free(&v);
            continue;
        }
        c->frames[c->n] = v.frames;
        c->rgb[c->n] = v.rgb; /* taken over (vd_free) */
        c->n++;
    }
    vd_dataset_free(ds);
    if (c->n == 0) {
        clips_free(c);
        return vd_fail(err, VD_ERR_ARG, "vae train: %s: no video with >= %d frames", dir,
                       need_frames);
    }
    return VD_OK;
}

/* Batch of clips for step `step`: videos and start frames from the step's
 * own stream. */
static void make_batch(float *x, const clips *c, int B, int T, const vd_rng *base, int64_t step) {
    vd_rng r = vd_rng_fork(base, (uint64_t)step * 2);
    size_t per = (size_t)3 * T * c->H * c->W, frame = (size_t)c->H * c->W * 3;
    for (int b = 0; b < B; b++) {
        int i = (int)vd_rng_below(&r, (uint32_t)c->n);
        int t0 = (int)vd_rng_below(&r, (uint32_t)(c->frames[i] - T + 1));
        vd_vae_from_rgb(x + b * per, c->rgb[i] + (size_t)t0 * frame, T, c->H, c->W);
    }
}

/* A pixel stands out from its frame's background when some channel differs
 * by more than about 15 of 255 levels ([-1, 1] units). */
#define VD_FG_THRESHOLD 0.12f

static int longest_clip(int frames, int tc) { return 1 + (frames - 1) / tc * tc; }

/* Writes original | reconstruction of video 0 (EMA weights in place). */
static vd_status write_sample(vd_vae *vae, const clips *c, const char *path, vd_arena *ws,
                              double *psnr, vd_error *err) {
    int tc = vd_vae_config_temporal(vd_vae_get_config(vae));
    int T = longest_clip(c->frames[0], tc), H = c->H, W = c->W, Tl, Hl, Wl;
    vd_vae_latent_shape(vae, T, H, W, &Tl, &Hl, &Wl);
    int Z = vd_vae_get_config(vae)->latent_channels;
    float *x = malloc((size_t)3 * T * H * W * 4), *z = malloc((size_t)Z * Tl * Hl * Wl * 4);
    uint8_t *rec = malloc((size_t)T * H * W * 3);
    vd_video out;
    memset(&out, 0, sizeof out);
    vd_status st = VD_OK;
    if (!x || !z || !rec) st = vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory");
    if (!st) {
        vd_vae_from_rgb(x, c->rgb[0], T, H, W);
        st = vd_vae_encode(vae, x, 1, T, H, W, z, ws, err);
    }
    if (!st) st = vd_vae_decode(vae, z, 1, Tl, Hl, Wl, x, ws, err);
    if (!st) {
        vd_vae_to_rgb(rec, x, T, H, W);
        *psnr = vd_psnr_u8(c->rgb[0], rec, (size_t)T * H * W * 3);
        st = vd_video_alloc(&out, T, 2 * W, H, 8.0, err);
    }
    if (!st) {
        for (int t = 0; t < T; t++)
            for (int y = 0; y < H; y++) {
                uint8_t *row = vd_video_frame(&out, t) + (size_t)y * 2 * W * 3;
                memcpy(row, c->rgb[0] + (((size_t)t * H + y) * W) * 3, (size_t)W * 3);
                memcpy(row + (size_t)W * 3, rec + (((size_t)t * H + y) * W) * 3, (size_t)W * 3);
            }
        vd_video_write_opts wo;
        vd_video_write_opts_default(&wo);
        wo.scale = 2;
        st = vd_video_write(path, &out, &wo, err);
    }
    vd_video_free(&out);
    free(x);
    free(z);
    free(rec);
    return st;
}

/* Per-channel mean and std of the posterior means over up to n videos. */
static vd_status latent_stats(vd_vae *vae, const clips *c, int n, vd_arena *ws, vd_error *err) {
    int Z = vd_vae_get_config(vae)->latent_channels;
    int tc = vd_vae_config_temporal(vd_vae_get_config(vae));
    double sum[VD_VAE_MAX_LATENT] = {0}, sq[VD_VAE_MAX_LATENT] = {0};
    size_t count = 0;
    if (n > c->n || n <= 0) n = c->n;
    int Tmax = longest_clip(c->frames[0], tc);
    for (int i = 1; i < n; i++)
        if (longest_clip(c->frames[i], tc) > Tmax) Tmax = longest_clip(c->frames[i], tc);
    float *x = malloc((size_t)3 * Tmax * c->H * c->W * 4);
    float *z = malloc((size_t)Z * Tmax * c->H * c->W * 4);
    vd_status st = x && z ? VD_OK : vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory");
    for (int i = 0; i < n && !st; i++) {
        int T = longest_clip(c->frames[i], tc), Tl, Hl, Wl;
        vd_vae_latent_shape(vae, T, c->H, c->W, &Tl, &Hl, &Wl);
        vd_vae_from_rgb(x, c->rgb[i], T, c->H, c->W);
        st = vd_vae_encode(vae, x, 1, T, c->H, c->W, z, ws, err);
        size_t S = (size_t)Tl * Hl * Wl;
        for (int ch = 0; ch < Z && !st; ch++)
            for (size_t s = 0; s < S; s++) {
                double v = z[ch * S + s];
                sum[ch] += v;
                sq[ch] += v * v;
            }
        count += S;
    }
    if (!st) {
        float mean[VD_VAE_MAX_LATENT], std[VD_VAE_MAX_LATENT];
        for (int ch = 0; ch < Z; ch++) {
            double m = sum[ch] / (double)count, var = sq[ch] / (double)count - m * m;
            mean[ch] = (float)m;
            std[ch] = (float)sqrt(var > 1e-12 ? var : 1e-12);
        }
        vd_vae_set_latent_stats(vae, mean, std);
    }
    free(x);
    free(z);
    return st;
}

static void join(char *buf, size_t size, const char *dir, const char *name) {
    snprintf(buf, size, "%s/%s", dir, name);
}

/* Starts v from the model file at path (--init). With the same layers every
 * tensor is copied. With a frozen encoder, a model whose decoder alone
 * differs (dec_channels, dec_time_kernels, dec_blocks: a new decoder for the
 * same latent space) gives each tensor of the same name and shape; it must
 * give the whole encoder and the latent statistics, and the decoder's other
 * tensors keep their fresh initialisation. With a frozen encoder the
 * latent statistics are the init's (*stats set): its latents are the
 * init's, and a diffusion model trained on them normalises with them. */
static vd_status init_from(vd_vae *v, const char *path, int frozen, int *stats,
                           vd_progress *progress, vd_error *err) {
    *stats = 0;
    vd_st_file *f = NULL;
    vd_status st = vd_st_open(&f, path, err);
    if (st) return vd_fail_prefix(err, st, "vae train: --init: ");
    const vd_vae_config *mc = vd_vae_get_config(v);
    vd_params *P = vd_vae_params(v);
    vd_vae_config ic;
    char what[128], msg[4400];
    int loaded = 0, fresh = 0;
    int has_stats = vd_st_find(f, "latent.mean") && vd_st_find(f, "latent.std");
    if ((st = vd_vae_config_from_file(&ic, f, path, err))) {
        vd_fail_prefix(err, st, "vae train: --init: ");
        goto done;
    }
    /* Not a layer, so config_diff passes it; but a frozen encoder that pads
     * otherwise codes other latents than the ones a diffusion model learned.
     * A whole model may be fine-tuned into the other padding. */
    if (frozen && ic.time_pad != mc->time_pad) {
        st = vd_fail(err, VD_ERR_ARG,
                     "vae train: --init %s: its time_pad is \"%s\", the config's \"%s\": a "
                     "frozen encoder must pad as it was trained", path,
                     vd_vae_time_pad_name(ic.time_pad), vd_vae_time_pad_name(mc->time_pad));
        goto done;
    }
    int diff = vd_vae_config_diff(&ic, mc, what, sizeof what);
    if (diff & VD_VAE_DIFF_ENCODER) {
        st = vd_fail(err, VD_ERR_SHAPE,
                     "vae train: --init %s: its encoder differs from the config's (%s, the "
                     "model's vs the config's): only a decoder can be replaced, with "
                     "\"freeze_encoder\": true", path, what);
        goto done;
    }
    if (diff && !frozen) {
        st = vd_fail(err, VD_ERR_SHAPE,
                     "vae train: --init %s: its decoder differs from the config's (%s, the "
                     "model's vs the config's): a new decoder can start from a model only with "
                     "\"freeze_encoder\": true", path, what);
        goto done;
    }
    if (!diff) {
        if ((st = vd_params_load(P, NULL, f, "", err))) {
            vd_fail_prefix(err, st, "vae train: --init %s: ", path);
            goto done;
        }
        snprintf(msg, sizeof msg, "init: all %zu tensors from %s", vd_params_count(P), path);
        if (progress) vd_progress_note(progress, msg);
    } else {
        /* The encoder is frozen: it must come whole from the model, or the
         * latents would not be the ones the diffusion model learned. */
        for (size_t i = 0; i < vd_params_count(P); i++) {
            const vd_param_info *pi = vd_params_info(P, i);
            if (strncmp(pi->name, "encoder.", 8)) continue;
            const vd_st_tensor *t = vd_st_find(f, pi->name);
            if (!t || !vd_params_same_shape(t, pi)) {
                st = vd_fail(err, VD_ERR_SHAPE,
                             "vae train: --init %s: encoder tensor '%s' is %s: a frozen "
                             "encoder must come whole from the model",
                             path, pi->name, t ? "of another shape" : "missing");
                goto done;
            }
        }
        if (!has_stats) {
            st = vd_fail(err, VD_ERR_FORMAT,
                         "vae train: --init %s: no latent statistics (latent.mean, latent.std): "
                         "a new decoder on a frozen encoder keeps the model's, which a "
                         "diffusion model normalises its latents with", path);
            goto done;
        }
        if ((st = vd_params_load_matching(P, NULL, f, "", &loaded, &fresh, err))) {
            vd_fail_prefix(err, st, "vae train: --init %s: ", path);
            goto done;
        }
        snprintf(msg, sizeof msg,
                 "init: %d tensors from %s (the whole encoder), %d decoder tensors start fresh "
                 "(first difference %s, the model's vs the config's)", loaded, path, fresh,
                 what);
        if (progress) vd_progress_note(progress, msg);
    }
    if (frozen && has_stats) {
        float mean[VD_VAE_MAX_LATENT], std[VD_VAE_MAX_LATENT];
        int64_t shape[1] = {mc->latent_channels};
        if ((st = vd_st_load_f32(f, "latent.mean", mean, 1, shape, err)) ||
            (st = vd_st_load_f32(f, "latent.std", std, 1, shape, err))) {
            vd_fail_prefix(err, st, "vae train: --init %s: ", path);
            goto done;
        }
        vd_vae_set_latent_stats(v, mean, std);
        *stats = 1;
    }
done:
    vd_st_close(f);
    return st;
}

/* The latent statistics a frozen-encoder run carries over from its init,
 * kept in the checkpoint's metadata so that a resumed run has them too. */
#define STATS_KEY "vidit.vae.latent_stats"

static void stats_json(vd_strbuf *s, const vd_vae *v) {
    const float *m[2];
    vd_vae_latent_stats(v, &m[0], &m[1]);
    int Z = vd_vae_get_config(v)->latent_channels;
    for (int k = 0; k < 2; k++) {
        vd_strbuf_puts(s, k ? "],\"std\":[" : "{\"mean\":[");
        for (int i = 0; i < Z; i++) vd_strbuf_printf(s, "%s%.9g", i ? "," : "", (double)m[k][i]);
    }
    vd_strbuf_puts(s, "]}");
}

static vd_status stats_from_json(vd_vae *v, const char *text, const char *path, vd_error *err) {
    int Z = vd_vae_get_config(v)->latent_channels;
    float val[2][VD_VAE_MAX_LATENT];
    vd_json *j = vd_json_parse(text, strlen(text), STATS_KEY, err);
    if (!j) return vd_fail_prefix(err, VD_ERR_FORMAT, "vae train: %s: ", path);
    const char *keys[2] = {"mean", "std"};
    vd_status st = VD_OK;
    for (int k = 0; k < 2 && !st; k++) {
        const vd_json *a = vd_json_get(j, keys[k]);
        if (!a || vd_json_type_of(a) != VD_JSON_ARRAY || vd_json_len(a) != (size_t)Z) {
            st = vd_fail(err, VD_ERR_FORMAT, "vae train: %s: \"%s\" needs \"%s\" with %d numbers",
                         path, STATS_KEY, keys[k], Z);
            break;
        }
        for (int i = 0; i < Z && !st; i++) {
            const vd_json *e = vd_json_at(a, (size_t)i);
            if (!vd_json_is_number(e))
                st = vd_fail(err, VD_ERR_FORMAT, "vae train: %s: \"%s\": %s[%d] is not a number",
                             path, STATS_KEY, keys[k], i);
            else
                val[k][i] = (float)vd_json_num(e, 0.0);
        }
    }
    vd_json_free(j);
    if (!st) vd_vae_set_latent_stats(v, val[0], val[1]);
    return st;
}

static const char *const LOG_COLS[] = {"step", "loss", "recon", "kl", "grad_norm",
                                       "lr", "samples_per_s", "elapsed_s"};

/* Everything a run holds, freed in one place. */
typedef struct run {
    vd_json *cfg_json;
    char *cfg_text;
    vd_vae *vae;
    vd_adamw *opt;
    vd_ema *ema;
    uint8_t *mask;
    vd_arena *ws;
    vd_csvlog *log;
    clips data;
    float *x, *weight, *scratch; /* weight, scratch: with foreground_weight */
    char *stats_text; /* a resumed run's STATS_KEY metadata, or NULL */
    int keep_stats;   /* the latent statistics are the init's: never recomputed */
} run;

static void run_free(run *r) {
    vd_json_free(r->cfg_json);
    free(r->cfg_text);
    vd_vae_free(r->vae);
    vd_adamw_free(r->opt);
    vd_ema_free(r->ema);
    vd_free(NULL, r->mask);
    vd_arena_free(r->ws);
    vd_csvlog_close(r->log);
    clips_free(&r->data);
    free(r->x);
    free(r->weight);
    free(r->scratch);
    free(r->stats_text);
}

static vd_status save_checkpoint(run *r, const char *path, int64_t step, const vd_rng *rng,
                                 vd_error *err) {
    vd_strbuf mc, ms;
    vd_strbuf_init(&mc);
    vd_strbuf_init(&ms);
    vd_vae_config_json(&mc, vd_vae_get_config(r->vae));
    if (r->keep_stats) stats_json(&ms, r->vae);
    const char *meta[6] = {"config", r->cfg_text, "vidit.vae.config", vd_strbuf_cstr(&mc),
                           STATS_KEY, vd_strbuf_cstr(&ms)};
    vd_checkpoint ck = {vd_vae_params(r->vae), r->ema, r->opt, step, *rng};
    vd_status st = mc.failed || ms.failed
                       ? vd_fail(err, VD_ERR_NOMEM, "vae train: %s: out of memory", path)
                       : vd_checkpoint_save(path, &ck, meta, r->keep_stats ? 3 : 2, err);
    vd_strbuf_free(&mc);
    vd_strbuf_free(&ms);
    return st;
}

static void note(vd_progress *p, const char *text) {
    if (p) vd_progress_note(p, text);
}

vd_status vd_vae_train(const vd_vae_train_opts *o, vd_vae_train_report *rep, vd_error *err) {
    memset(rep, 0, sizeof *rep);
    run r;
    memset(&r, 0, sizeof r);
    char ck_path[4096], path[4096], msg[8448];
    vd_status st = VD_OK;
    if ((st = vd_mkdirs(o->out, err))) return vd_fail_prefix(err, st, "vae train: run folder: ");
    join(ck_path, sizeof ck_path, o->out, "checkpoint.safetensors");
    int have_ck = access(ck_path, F_OK) == 0;
    if (o->resume && !have_ck)
        return vd_fail(err, VD_ERR_IO, "vae train: --resume: %s does not exist", ck_path);

    /* The config: a resumed run uses the one in its checkpoint. */
    size_t len = 0;
    if (have_ck) {
        vd_st_file *f = NULL;
        if ((st = vd_st_open(&f, ck_path, err))) return st;
        const char *t = vd_st_metadata(f, "config"), *ts = vd_st_metadata(f, STATS_KEY);
        if (t) {
            len = strlen(t);
            r.cfg_text = malloc(len + 1);
            if (r.cfg_text) memcpy(r.cfg_text, t, len + 1);
        }
        if (ts && (r.stats_text = malloc(strlen(ts) + 1))) memcpy(r.stats_text, ts, strlen(ts) + 1);
        int nomem = ts && !r.stats_text;
        vd_st_close(f);
        if (!r.cfg_text || nomem) {
            run_free(&r);
            return nomem ? vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory")
                         : vd_fail(err, VD_ERR_FORMAT, "vae train: %s: no \"config\" metadata",
                                   ck_path);
        }
    } else if (o->config_path) {
        if ((st = vd_read_file(o->config_path, &r.cfg_text, &len, err))) return st;
    } else {
        r.cfg_text = malloc(3);
        if (!r.cfg_text) return vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory");
        memcpy(r.cfg_text, "{}", 3);
        len = 2;
    }
    const char *label = have_ck ? ck_path : o->config_path ? o->config_path : "defaults";
    r.cfg_json = vd_json_parse(r.cfg_text, len, label, err);
    if (!r.cfg_json) {
        run_free(&r);
        return VD_ERR_FORMAT;
    }
    vd_vae_config mc;
    vd_vae_train_config tc;
    vd_vae_config_default(&mc);
    vd_vae_train_config_default(&tc);
    const vd_json *jm = vd_json_get(r.cfg_json, "model");
    if ((jm && (st = vd_vae_config_from_json(&mc, jm, err))) ||
        (st = vd_vae_train_config_from_json(&tc, vd_json_get(r.cfg_json, "train"), err))) {
        vd_fail_prefix(err, st, "%s: ", label);
        run_free(&r);
        return st;
    }
    if (o->steps > 0) tc.steps = o->steps;
    if (o->batch > 0) tc.batch = o->batch;

    int tcomp = vd_vae_config_temporal(&mc);
    int T = tc.clip_frames;
    if (T < 1 || (T - 1) % tcomp) {
        run_free(&r);
        return vd_fail(err, VD_ERR_ARG, "vae train: clip_frames %d is not 1 + %d k", T, tcomp);
    }
    if ((st = clips_load(&r.data, o->data, T, err))) {
        run_free(&r);
        return st;
    }
    rep->videos = r.data.n;
    int H = r.data.H, W = r.data.W, B = tc.batch;
    vd_adamw_config ac = {tc.lr, tc.beta1, tc.beta2, 1e-8f, tc.weight_decay};
    if ((st = vd_vae_new(&r.vae, &mc, 1, tc.seed, NULL, err)) ||
        (st = vd_vae_check_input(r.vae, T, H, W, err)))
        goto done;
    vd_params *P = vd_vae_params(r.vae);
    size_t np = vd_params_numel(P);
    if (o->init && !have_ck &&
        (st = init_from(r.vae, o->init, tc.freeze_encoder, &r.keep_stats, o->progress, err)))
        goto done;
    if (r.stats_text) {
        if ((st = stats_from_json(r.vae, r.stats_text, ck_path, err))) goto done;
        r.keep_stats = 1;
    }
    /* With a frozen encoder the optimiser, clipping and decay mask cover
     * the decoder's part of the parameter block only. */
    size_t off = 0;
    if (tc.freeze_encoder) {
        off = vd_vae_encoder_numel(r.vae);
        vd_vae_set_frozen_encoder(r.vae, 1);
    }
    if ((st = vd_adamw_new(&r.opt, NULL, np - off, &ac, err))) goto done;
    r.mask = vd_params_decay_mask(P);
    if (!r.mask) {
        st = vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory");
        goto done;
    }
    if ((st = vd_adamw_set_decay_mask(r.opt, r.mask + off, err))) goto done;
    if ((st = vd_ema_new(&r.ema, NULL, vd_params_all(P), np, err))) goto done;
    r.ws = vd_arena_new(NULL, 0);
    r.x = malloc((size_t)B * 3 * T * H * W * sizeof(float));
    if (tc.foreground_weight > 0) {
        r.weight = malloc((size_t)B * 3 * T * H * W * sizeof(float));
        r.scratch = malloc(((size_t)2 * (H + W) + (size_t)H * W) * sizeof(float));
    }
    if (!r.ws || !r.x || (tc.foreground_weight > 0 && (!r.weight || !r.scratch))) {
        st = vd_fail(err, VD_ERR_NOMEM, "vae train: out of memory");
        goto done;
    }
    vd_rng base;
    vd_rng_init(&base, tc.seed);
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
    if (tc.latent_noise > 0) {
        /* The noise is scaled by the latent's spread: the init's statistics
         * when the run keeps them, else measured with the encoder as it is
         * now (exact when the encoder is frozen). */
        if (!r.keep_stats && (st = latent_stats(r.vae, &r.data, tc.stats_videos, r.ws, err)))
            goto done;
        vd_vae_set_latent_noise(r.vae, tc.latent_noise);
    }
    snprintf(msg, sizeof msg,
             "vae: %zu parameters, %d videos in memory (%d skipped), %dx%d, clips of %d frames, "
             "batch %d, %lld steps",
             np, r.data.n, r.data.skipped, W, H, T, B, (long long)tc.steps);
    note(o->progress, msg);
    join(path, sizeof path, o->out, "log.csv");
    if ((st = vd_csvlog_open(&r.log, path, LOG_COLS, 8, (double)step, err))) goto done;
    join(path, sizeof path, o->out, "samples");
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        st = vd_fail(err, VD_ERR_IO, "vae train: %s: cannot make the folder", path);
        goto done;
    }
    if (o->progress) {
        o->progress->first_step = step;
        o->progress->total = tc.steps;
    }

    double t_start = vd_progress_now(), last_ck = t_start;
    int64_t samples = 0;
    vd_vae_losses L = {0, 0, 0};
    while (step < tc.steps) {
        double now = vd_progress_now();
        if (o->time_budget > 0 && now - t_start >= o->time_budget) {
            note(o->progress, "time budget reached");
            break;
        }
        if (o->stop_after > 0 && step - first >= o->stop_after) break;
        if (o->stop && *o->stop) {
            note(o->progress, "interrupted: stopping (resume by running the same command)");
            break;
        }
        make_batch(r.x, &r.data, B, T, &base, step);
        if (r.weight)
            vd_standout_weights(r.weight, r.x, B, 3, T, H, W, tc.foreground_weight,
                                VD_FG_THRESHOLD, r.scratch);
        vd_rng noise = vd_rng_fork(&base, (uint64_t)step * 2 + 1);
        vd_params_zero_grad(P);
        if ((st = vd_vae_train_step(r.vae, r.x, r.weight, B, T, H, W, &noise, tc.use_l1, tc.kl_weight, r.ws,
                                    NULL, &L, err)))
            goto done;
        float gn = vd_grad_clip_norm(vd_params_all_grad(P) + off, np - off, tc.grad_clip);
        float lr = vd_lr_schedule(step, tc.warmup, tc.steps, tc.lr, tc.min_lr);
        if (isfinite(gn) && isfinite(L.loss)) {
            vd_adamw_step(r.opt, vd_params_all(P) + off, vd_params_all_grad(P) + off, lr);
            /* EMA warm-up: early averages would otherwise keep the random init. */
            float decay = (float)(1 + step) / (float)(10 + step);
            /* Past `off` only: a frozen encoder's average stays its weights. */
            vd_ema_update_tail(r.ema, vd_params_all(P), off,
                               decay < tc.ema_decay ? decay : tc.ema_decay);
        } else {
            note(o->progress, "non-finite loss or gradient: step skipped");
        }
        step++;
        samples += B;
        double el = vd_progress_now() - t_start;
        if (step % tc.log_every == 0 || step == tc.steps) {
            double row[8] = {(double)step, L.loss, L.recon, L.kl, gn, lr, samples / el, el};
            if ((st = vd_csvlog_row(r.log, row, err))) goto done;
        }
        if (o->progress) vd_progress_update(o->progress, step, samples, L.loss, NULL, 0);
        /* A sample at every sample_every steps and at the end of the run. */
        int last = step == tc.steps || (o->stop_after > 0 && step - first >= o->stop_after) ||
                   (o->time_budget > 0 && vd_progress_now() - t_start >= o->time_budget);
        if (tc.sample_every > 0 && (step % tc.sample_every == 0 || last)) {
            char name[64];
            snprintf(name, sizeof name, "samples/step_%06lld.mp4", (long long)step);
            join(path, sizeof path, o->out, name);
            vd_ema_swap(r.ema, vd_params_all(P));
            st = write_sample(r.vae, &r.data, path, r.ws, &rep->sample_psnr, err);
            vd_ema_swap(r.ema, vd_params_all(P));
            if (st) goto done;
            snprintf(msg, sizeof msg, "step %lld: wrote %s (EMA reconstruction PSNR %.2f dB)",
                     (long long)step, path, rep->sample_psnr);
            note(o->progress, msg);
        }
        now = vd_progress_now();
        if ((tc.checkpoint_every > 0 && step % tc.checkpoint_every == 0) ||
            (tc.checkpoint_minutes > 0 && now - last_ck >= tc.checkpoint_minutes * 60)) {
            if ((st = save_checkpoint(&r, ck_path, step, &base, err))) goto done;
            last_ck = now;
            const char *cols[2] = {"loss", "recon"};
            char csv[4096];
            join(csv, sizeof csv, o->out, "log.csv");
            join(path, sizeof path, o->out, "loss.svg");
            if ((st = vd_csvlog_svg(csv, path, "VAE training loss", cols, 2, 1, err))) goto done;
        }
    }
    if (o->progress) {
        vd_progress_update(o->progress, step, samples, L.loss, NULL, 1);
        vd_progress_finish(o->progress);
    }
    rep->step = step;
    rep->steps_this_run = step - first;
    rep->seconds = vd_progress_now() - t_start;
    rep->seconds_per_step = rep->steps_this_run ? rep->seconds / (double)rep->steps_this_run : 0;
    rep->last_loss = L.loss;
    if ((st = save_checkpoint(&r, ck_path, step, &base, err))) goto done;
    {
        const char *cols[2] = {"loss", "recon"};
        char csv[4096];
        join(csv, sizeof csv, o->out, "log.csv");
        join(path, sizeof path, o->out, "loss.svg");
        if ((st = vd_csvlog_svg(csv, path, "VAE training loss", cols, 2, 1, err))) goto done;
    }
    /* The model file: EMA weights and latent statistics under them (the
     * init's, unchanged, when the encoder was frozen and the init had them:
     * the latent space and its normalisation stay the diffusion model's). */
    vd_ema_swap(r.ema, vd_params_all(P));
    if (!r.keep_stats) st = latent_stats(r.vae, &r.data, tc.stats_videos, r.ws, err);
    join(path, sizeof path, o->out, "vae.safetensors");
    if (!st) st = vd_vae_save(r.vae, NULL, path, err);
    vd_ema_swap(r.ema, vd_params_all(P));
done:
    run_free(&r);
    return st;
}
