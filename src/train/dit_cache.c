/* The latent cache (see dit_cache.h). */
#include "train/dit_cache.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "core/error.h"
#include "core/json.h"
#include "core/safetensors.h"
#include "core/strbuf.h"
#include "io/dataset.h"
#include "io/video.h"

#define CACHE_FORMAT "vidit-latent-cache-1"

static uint64_t fnv(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

vd_status vd_latent_cache_key(const char *const *dirs, int n_dirs, const char *vae_path,
                              uint64_t *key, vd_error *err) {
    uint64_t h = fnv(0xcbf29ce484222325ull, CACHE_FORMAT, strlen(CACHE_FORMAT));
    char *text = NULL;
    size_t len = 0;
    vd_status st = vd_read_file(vae_path, &text, &len, err);
    if (st) return vd_fail_prefix(err, st, "latent cache: VAE: ");
    h = fnv(h, text, len);
    free(text);
    for (int d = 0; d < n_dirs; d++) {
        vd_dataset *ds = NULL;
        if ((st = vd_dataset_open(&ds, dirs[d], err))) return vd_fail_prefix(err, st, "latent cache: ");
        h = fnv(h, dirs[d], strlen(dirs[d]) + 1);
        if (!(st = vd_read_file(vd_dataset_source(ds), &text, &len, err))) {
            h = fnv(h, text, len);
            free(text);
        }
        for (size_t i = 0; i < vd_dataset_count(ds) && !st; i++) {
            const vd_dataset_item *it = vd_dataset_entry(ds, i);
            struct stat sb;
            if (stat(it->path, &sb) != 0) {
                st = vd_fail(err, VD_ERR_IO, "latent cache: %s: cannot read %s", dirs[d], it->path);
                break;
            }
            int64_t facts[3] = {(int64_t)sb.st_size, (int64_t)sb.st_mtim.tv_sec,
                                (int64_t)sb.st_mtim.tv_nsec};
            h = fnv(h, it->path, strlen(it->path) + 1);
            h = fnv(h, facts, sizeof facts);
        }
        vd_dataset_free(ds);
        if (st) return st;
    }
    *key = h;
    return VD_OK;
}

void vd_latent_cache_release(vd_latent_cache *c) {
    if (!c) return;
    for (int i = 0; i < c->n; i++) free(c->captions ? c->captions[i] : NULL);
    free(c->captions);
    free(c->T);
    free(c->H);
    free(c->W);
    free(c->bucket);
    free(c->offset);
    free(c->data);
    free(c->bitems);
    memset(c, 0, sizeof *c);
}

/* Room for one more item of `floats` values. */
static vd_status grow(vd_latent_cache *c, int *cap, size_t *fcap, size_t floats, vd_error *err) {
    if (c->n == *cap) {
        int nc = *cap ? 2 * *cap : 64;
        void *p[5] = {realloc(c->T, nc * sizeof(int)), NULL, NULL, NULL, NULL};
        if (p[0]) c->T = p[0];
        p[1] = realloc(c->H, nc * sizeof(int));
        if (p[1]) c->H = p[1];
        p[2] = realloc(c->W, nc * sizeof(int));
        if (p[2]) c->W = p[2];
        p[3] = realloc(c->offset, nc * sizeof(size_t));
        if (p[3]) c->offset = p[3];
        p[4] = realloc(c->captions, nc * sizeof(char *));
        if (p[4]) c->captions = p[4];
        for (int i = 0; i < 5; i++)
            if (!p[i]) return vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
        *cap = nc;
    }
    size_t used = c->n ? c->offset[c->n - 1] + (size_t)c->Z * c->T[c->n - 1] * c->H[c->n - 1] * c->W[c->n - 1] : 0;
    if (used + floats > *fcap) {
        size_t nf = *fcap ? *fcap * 2 : 1 << 16;
        while (nf < used + floats) nf *= 2;
        float *d = realloc(c->data, nf * sizeof *d);
        if (!d) return vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory for %zu floats", nf);
        c->data = d;
        *fcap = nf;
    }
    c->offset[c->n] = used;
    return VD_OK;
}

static char *dup_str(const char *s) {
    size_t n = strlen(s) + 1;
    char *d = malloc(n);
    if (d) memcpy(d, s, n);
    return d;
}

static void note(vd_progress *p, const char *msg) {
    if (p) vd_progress_note(p, msg);
}

static size_t item_floats(const vd_latent_cache *c, int i) {
    return (size_t)c->Z * c->T[i] * c->H[i] * c->W[i];
}

static vd_status build(vd_latent_cache *c, const char *const *dirs, int n_dirs,
                       const char *vae_path, int multiple, vd_progress *p,
                       const volatile sig_atomic_t *stop, vd_error *err) {
    vd_vae *vae = NULL;
    vd_status st = vd_vae_load(&vae, vae_path, NULL, err);
    if (st) return vd_fail_prefix(err, st, "latent cache: ");
    const int tc = vd_vae_config_temporal(vd_vae_get_config(vae));
    c->Z = vd_vae_get_config(vae)->latent_channels;
    vd_arena *ws = vd_arena_new(NULL, 0);
    float *x = NULL;
    size_t xcap = 0, fcap = 0;
    int cap = 0;
    char msg[1024];
    double t0 = vd_progress_now(), last = t0;
    if (!ws) st = vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
    for (int d = 0; d < n_dirs && !st; d++) {
        vd_dataset *ds = NULL;
        if ((st = vd_dataset_open(&ds, dirs[d], err))) break;
        size_t n = vd_dataset_count(ds);
        if (vd_dataset_error_count(ds))
            st = vd_fail(err, VD_ERR_FORMAT, "latent cache: %s", vd_dataset_error(ds, 0));
        for (size_t i = 0; i < n && !st; i++) {
            if (stop && *stop) {
                st = vd_fail(err, VD_ERR_ARG, "cancelled");
                break;
            }
            const vd_dataset_item *it = vd_dataset_entry(ds, i);
            vd_video v;
            memset(&v, 0, sizeof v);
            if ((st = vd_video_read(it->path, NULL, &v, err))) {
                vd_fail_prefix(err, st, "latent cache: ");
                break;
            }
            int T = 1 + (v.frames - 1) / tc * tc, H = v.height, W = v.width;
            if (c->n == 0 && c->skipped == 0) c->fps = v.fps;
            if (H % multiple || W % multiple) {
                c->skipped++;
                vd_video_free(&v);
                continue;
            }
            int Tl, Hl, Wl;
            vd_vae_latent_shape(vae, T, H, W, &Tl, &Hl, &Wl);
            size_t need = (size_t)3 * T * H * W;
            if (need > xcap) {
                free(x);
                x = malloc(need * sizeof *x);
                xcap = x ? need : 0;
            }
            if (!x) st = vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
            if (!st) st = grow(c, &cap, &fcap, (size_t)c->Z * Tl * Hl * Wl, err);
            if (!st) {
                c->T[c->n] = Tl;
                c->H[c->n] = Hl;
                c->W[c->n] = Wl;
                c->captions[c->n] = dup_str(it->caption);
                if (!c->captions[c->n]) st = vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
            }
            if (!st) {
                vd_vae_from_rgb(x, v.rgb, T, H, W);
                c->n++; /* owns its caption from here on */
                st = vd_vae_encode(vae, x, 1, T, H, W, c->data + c->offset[c->n - 1], ws, err);
                if (st) vd_fail_prefix(err, st, "latent cache: %s: ", it->path);
            }
            vd_video_free(&v);
            double now = vd_progress_now();
            if (now - last > 30) {
                last = now;
                snprintf(msg, sizeof msg, "latent cache: %d videos encoded (%.1f per second)", c->n,
                         c->n / (now - t0));
                note(p, msg);
            }
        }
        vd_dataset_free(ds);
    }
    if (!st && c->n == 0)
        st = vd_fail(err, VD_ERR_ARG, "latent cache: no usable video in the data (%d skipped: "
                     "sides must be multiples of %d)", c->skipped, multiple);
    if (!st) {
        const float *m, *s;
        if (vd_vae_latent_stats(vae, &m, &s)) {
            memcpy(c->mean, m, (size_t)c->Z * sizeof *m);
            memcpy(c->std, s, (size_t)c->Z * sizeof *s);
        } else {
            double sum[VD_VAE_MAX_LATENT] = {0}, sq[VD_VAE_MAX_LATENT] = {0}, cnt = 0;
            for (int i = 0; i < c->n; i++) {
                size_t S = item_floats(c, i) / c->Z;
                for (int ch = 0; ch < c->Z; ch++)
                    for (size_t k = 0; k < S; k++) {
                        double v = c->data[c->offset[i] + ch * S + k];
                        sum[ch] += v;
                        sq[ch] += v * v;
                    }
                cnt += (double)S;
            }
            for (int ch = 0; ch < c->Z; ch++) {
                double mu = sum[ch] / cnt, var = sq[ch] / cnt - mu * mu;
                c->mean[ch] = (float)mu;
                c->std[ch] = (float)sqrt(var > 1e-8 ? var : 1e-8);
            }
            note(p, "latent cache: the VAE has no latent statistics; measured them on the data");
        }
        for (int i = 0; i < c->n; i++) {
            size_t S = item_floats(c, i) / c->Z;
            for (int ch = 0; ch < c->Z; ch++)
                for (size_t k = 0; k < S; k++) {
                    float *v = &c->data[c->offset[i] + ch * S + k];
                    *v = (*v - c->mean[ch]) / c->std[ch];
                }
        }
        snprintf(msg, sizeof msg, "latent cache: %d videos encoded in %.0f s (%d skipped)", c->n,
                 vd_progress_now() - t0, c->skipped);
        note(p, msg);
    }
    free(x);
    vd_arena_free(ws);
    vd_vae_free(vae);
    return st;
}

static void json_floats(vd_strbuf *s, const float *v, int n) {
    vd_strbuf_puts(s, "[");
    for (int i = 0; i < n; i++) vd_strbuf_printf(s, "%s%.9g", i ? "," : "", (double)v[i]);
    vd_strbuf_puts(s, "]");
}

static vd_status save(const vd_latent_cache *c, const char *path, vd_error *err) {
    vd_st_writer *w = vd_st_writer_new(NULL);
    vd_strbuf caps, mean, std;
    vd_strbuf_init(&caps);
    vd_strbuf_init(&mean);
    vd_strbuf_init(&std);
    vd_status st = w ? VD_OK : vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
    char name[32], key[32], nums[64];
    for (int i = 0; i < c->n && !st; i++) {
        int64_t shape[4] = {c->Z, c->T[i], c->H[i], c->W[i]};
        snprintf(name, sizeof name, "lat.%06d", i);
        st = vd_st_writer_add_f32(w, name, VD_F32, 4, shape, c->data + c->offset[i], err);
    }
    vd_strbuf_puts(&caps, "[");
    for (int i = 0; i < c->n; i++) {
        if (i) vd_strbuf_puts(&caps, ",");
        vd_strbuf_json_string(&caps, c->captions[i]);
    }
    vd_strbuf_puts(&caps, "]");
    json_floats(&mean, c->mean, c->Z);
    json_floats(&std, c->std, c->Z);
    if (!st && (caps.failed || mean.failed || std.failed))
        st = vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
    snprintf(key, sizeof key, "%016" PRIx64, c->key);
    snprintf(nums, sizeof nums, "%.9g %d", c->fps, c->skipped);
    if (!st) st = vd_st_writer_meta(w, "format", CACHE_FORMAT, err);
    if (!st) st = vd_st_writer_meta(w, "key", key, err);
    if (!st) st = vd_st_writer_meta(w, "captions", vd_strbuf_cstr(&caps), err);
    if (!st) st = vd_st_writer_meta(w, "mean", vd_strbuf_cstr(&mean), err);
    if (!st) st = vd_st_writer_meta(w, "std", vd_strbuf_cstr(&std), err);
    if (!st) st = vd_st_writer_meta(w, "fps_skipped", nums, err);
    if (!st) st = vd_st_writer_save(w, path, err);
    vd_st_writer_free(w);
    vd_strbuf_free(&caps);
    vd_strbuf_free(&mean);
    vd_strbuf_free(&std);
    return st;
}

static int read_floats(const vd_st_file *f, const char *key, float *dst, int n) {
    const char *t = vd_st_metadata(f, key);
    vd_json *j = t ? vd_json_parse(t, strlen(t), key, NULL) : NULL;
    int ok = j && vd_json_type_of(j) == VD_JSON_ARRAY && (int)vd_json_len(j) == n;
    for (int i = 0; ok && i < n; i++) dst[i] = (float)vd_json_num(vd_json_at(j, (size_t)i), 0);
    vd_json_free(j);
    return ok;
}

/* Reads a cache file whose key matches; returns VD_ERR_FORMAT (quietly
 * rebuilt by the caller) for a stale or unreadable one. */
static vd_status load(vd_latent_cache *c, const char *path, uint64_t key, vd_error *err) {
    vd_st_file *f = NULL;
    vd_status st = vd_st_open(&f, path, err);
    if (st) return st;
    char want[32];
    snprintf(want, sizeof want, "%016" PRIx64, key);
    const char *fmt = vd_st_metadata(f, "format"), *k = vd_st_metadata(f, "key");
    const char *caps = vd_st_metadata(f, "captions"), *nums = vd_st_metadata(f, "fps_skipped");
    vd_json *j = NULL;
    if (!fmt || strcmp(fmt, CACHE_FORMAT) || !k || strcmp(k, want) || !caps || !nums ||
        sscanf(nums, "%lf %d", &c->fps, &c->skipped) != 2 ||
        !(j = vd_json_parse(caps, strlen(caps), "captions", NULL)) ||
        vd_json_type_of(j) != VD_JSON_ARRAY || vd_json_len(j) != vd_st_count(f) ||
        vd_st_count(f) == 0) {
        st = vd_fail(err, VD_ERR_FORMAT, "latent cache: %s is stale", path);
        goto done;
    }
    c->Z = (int)vd_st_at(f, 0)->shape[0];
    if (c->Z < 1 || c->Z > VD_VAE_MAX_LATENT || !read_floats(f, "mean", c->mean, c->Z) ||
        !read_floats(f, "std", c->std, c->Z)) {
        st = vd_fail(err, VD_ERR_FORMAT, "latent cache: %s: bad statistics", path);
        goto done;
    }
    int cap = 0;
    size_t fcap = 0;
    char name[32];
    for (size_t i = 0; i < vd_st_count(f) && !st; i++) {
        snprintf(name, sizeof name, "lat.%06zu", i);
        const vd_st_tensor *t = vd_st_find(f, name);
        const char *cap_text = vd_json_str(vd_json_at(j, i), NULL);
        if (!t || t->ndim != 4 || t->shape[0] != c->Z || !cap_text) {
            st = vd_fail(err, VD_ERR_FORMAT, "latent cache: %s: bad entry %zu", path, i);
            break;
        }
        size_t nf = (size_t)c->Z * t->shape[1] * t->shape[2] * t->shape[3];
        if ((st = grow(c, &cap, &fcap, nf, err))) break;
        c->T[c->n] = (int)t->shape[1];
        c->H[c->n] = (int)t->shape[2];
        c->W[c->n] = (int)t->shape[3];
        if (!(c->captions[c->n] = dup_str(cap_text))) {
            st = vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
            break;
        }
        c->n++;
        st = vd_st_read_f32(t, c->data + c->offset[c->n - 1], nf, err);
    }
done:
    vd_json_free(j);
    vd_st_close(f);
    return st;
}

static vd_status index_buckets(vd_latent_cache *c, vd_error *err) {
    c->bucket = malloc((size_t)c->n * sizeof *c->bucket);
    c->bitems = malloc((size_t)c->n * sizeof *c->bitems);
    if (!c->bucket || !c->bitems) return vd_fail(err, VD_ERR_NOMEM, "latent cache: out of memory");
    c->n_buckets = 0;
    for (int i = 0; i < c->n; i++) {
        int b = 0;
        while (b < c->n_buckets && !(c->bT[b] == c->T[i] && c->bH[b] == c->H[i] && c->bW[b] == c->W[i]))
            b++;
        if (b == c->n_buckets) {
            if (b == 16) return vd_fail(err, VD_ERR_ARG, "latent cache: more than 16 video shapes");
            c->bT[b] = c->T[i];
            c->bH[b] = c->H[i];
            c->bW[b] = c->W[i];
            c->bcount[b] = 0;
            c->n_buckets++;
        }
        c->bucket[i] = b;
        c->bcount[b]++;
    }
    int pos = 0;
    for (int b = 0; b < c->n_buckets; b++) {
        c->bstart[b] = pos;
        for (int i = 0; i < c->n; i++)
            if (c->bucket[i] == b) c->bitems[pos++] = i;
    }
    return VD_OK;
}

vd_status vd_latent_cache_open(vd_latent_cache *c, const char *path, const char *const *dirs,
                               int n_dirs, const char *vae_path, int multiple,
                               vd_progress *progress, const volatile sig_atomic_t *stop,
                               int *rebuilt, vd_error *err) {
    memset(c, 0, sizeof *c);
    uint64_t key;
    vd_status st = vd_latent_cache_key(dirs, n_dirs, vae_path, &key, err);
    if (st) return st;
    key = fnv(key, &multiple, sizeof multiple);
    if (rebuilt) *rebuilt = 0;
    vd_error quiet;
    if (load(c, path, key, &quiet) != VD_OK) {
        vd_latent_cache_release(c);
        if (rebuilt) *rebuilt = 1;
        if ((st = build(c, dirs, n_dirs, vae_path, multiple, progress, stop, err))) goto fail;
        c->key = key;
        if ((st = save(c, path, err))) goto fail;
    }
    c->key = key;
    if ((st = index_buckets(c, err))) goto fail;
    return VD_OK;
fail:
    vd_latent_cache_release(c);
    return st;
}
