/* The text-to-video model file and generation (see pipeline.h). */
#include "diffusion/pipeline.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/json.h"
#include "core/rng.h"
#include "core/safetensors.h"
#include "core/strbuf.h"
#include "diffusion/flow.h"
#include "diffusion/given.h"
#include "diffusion/sampler.h"

struct vd_t2v {
    vd_vae *vae;
    vd_dit *dit;
    vd_tokenizer *tok; /* owned when owns */
    const vd_tokenizer *tok_ref;
    int owns, Z;
    float mean[VD_VAE_MAX_LATENT], std[VD_VAE_MAX_LATENT];
    vd_t2v_info info;
    vd_arena *arena;
};

void vd_t2v_info_default(vd_t2v_info *info) {
    memset(info, 0, sizeof *info);
    info->fps = 8.0;
    info->steps = 25;
    info->solver = VD_SOLVER_HEUN;
    info->cfg = 4.0f;
    info->shift = 1.0f;
}

vd_status vd_t2v_info_add_frames(vd_t2v_info *info, int frames, vd_error *err) {
    for (int i = 0; i < info->n_frames; i++)
        if (info->frames[i] == frames) return VD_OK;
    if (info->n_frames >= VD_T2V_MAX_SHAPES)
        return vd_fail(err, VD_ERR_ARG, "t2v: more than %d frame counts", VD_T2V_MAX_SHAPES);
    info->frames[info->n_frames++] = frames;
    return VD_OK;
}

vd_status vd_t2v_info_add_size(vd_t2v_info *info, int width, int height, vd_error *err) {
    for (int i = 0; i < info->n_sizes; i++)
        if (info->width[i] == width && info->height[i] == height) return VD_OK;
    if (info->n_sizes >= VD_T2V_MAX_SHAPES)
        return vd_fail(err, VD_ERR_ARG, "t2v: more than %d frame sizes", VD_T2V_MAX_SHAPES);
    info->width[info->n_sizes] = width;
    info->height[info->n_sizes++] = height;
    return VD_OK;
}

int vd_t2v_info_max_frames(const vd_t2v_info *info) {
    int m = 0;
    for (int i = 0; i < info->n_frames; i++)
        if (info->frames[i] > m) m = info->frames[i];
    return m;
}

void vd_t2v_free(vd_t2v *m) {
    if (!m) return;
    if (m->owns) {
        vd_vae_free(m->vae);
        vd_dit_free(m->dit);
        vd_tokenizer_free(m->tok);
    }
    vd_arena_free(m->arena);
    free(m);
}

vd_status vd_t2v_use_vae(vd_t2v *m, const char *vae_path, vd_error *err) {
    if (!m->owns)
        return vd_fail(err, VD_ERR_ARG, "t2v: --vae: the pipeline does not own its VAE");
    vd_vae *v = NULL;
    vd_status st = vd_vae_load(&v, vae_path, NULL, err);
    if (st) return vd_fail_prefix(err, st, "t2v: --vae: ");
    int same = vd_vae_copy_weights(m->vae, v);
    vd_vae_free(v);
    if (!same)
        return vd_fail(err, VD_ERR_SHAPE,
                       "t2v: --vae %s: its layers differ from the model's VAE", vae_path);
    return VD_OK;
}

const vd_t2v_info *vd_t2v_get_info(const vd_t2v *m) { return &m->info; }
vd_dit *vd_t2v_dit(vd_t2v *m) { return m->dit; }
vd_vae *vd_t2v_vae(vd_t2v *m) { return m->vae; }
const vd_tokenizer *vd_t2v_tokenizer(const vd_t2v *m) { return m->tok_ref; }

static vd_status check_parts(vd_vae *vae, vd_dit *dit, const vd_tokenizer *tok,
                             const float *std, const char *where, vd_error *err) {
    const vd_dit_config *dc = vd_dit_get_config(dit);
    int Z = vd_vae_get_config(vae)->latent_channels;
    if (dc->latent_channels != Z)
        return vd_fail(err, VD_ERR_FORMAT, "t2v: %s: the DiT takes %d latent channels, the VAE makes %d",
                       where, dc->latent_channels, Z);
    if (vd_tokenizer_vocab_size(tok) > dc->vocab_size)
        return vd_fail(err, VD_ERR_FORMAT, "t2v: %s: tokenizer has %d ids, the DiT's vocabulary %d",
                       where, vd_tokenizer_vocab_size(tok), dc->vocab_size);
    for (int c = 0; c < Z; c++)
        if (!(std[c] > 0.0f) || !isfinite(std[c]))
            return vd_fail(err, VD_ERR_FORMAT, "t2v: %s: latent std of channel %d is %g", where, c,
                           (double)std[c]);
    return VD_OK;
}

vd_status vd_t2v_wrap(vd_t2v **out, vd_vae *vae, vd_dit *dit, const vd_tokenizer *tok,
                      const float *mean, const float *std, const vd_t2v_info *info,
                      vd_error *err) {
    *out = NULL;
    vd_status st = check_parts(vae, dit, tok, std, "wrap", err);
    if (st) return st;
    vd_t2v *m = calloc(1, sizeof *m);
    if (!m || !(m->arena = vd_arena_new(NULL, 0))) {
        free(m);
        return vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory");
    }
    m->vae = vae;
    m->dit = dit;
    m->tok_ref = tok;
    m->Z = vd_vae_get_config(vae)->latent_channels;
    memcpy(m->mean, mean, (size_t)m->Z * sizeof *mean);
    memcpy(m->std, std, (size_t)m->Z * sizeof *std);
    m->info = *info;
    *out = m;
    return VD_OK;
}

/* ------------------------------------------------------------------ save */

static void json_floats(vd_strbuf *s, const float *v, int n) {
    vd_strbuf_puts(s, "[");
    for (int i = 0; i < n; i++) {
        if (i) vd_strbuf_puts(s, ",");
        vd_strbuf_printf(s, "%.9g", (double)v[i]);
    }
    vd_strbuf_puts(s, "]");
}

vd_status vd_t2v_save(const char *path, vd_vae *vae, vd_dit *dit, const float *dit_values,
                      const vd_tokenizer *tok, const float *mean, const float *std,
                      const vd_t2v_info *info, vd_error *err) {
    vd_status st = check_parts(vae, dit, tok, std, path, err);
    if (st) return st;
    int Z = vd_vae_get_config(vae)->latent_channels;
    vd_st_writer *w = vd_st_writer_new(NULL);
    if (!w) return vd_fail(err, VD_ERR_NOMEM, "t2v: %s: out of memory", path);
    vd_strbuf s[9];
    for (int i = 0; i < 9; i++) vd_strbuf_init(&s[i]);
    vd_vae_config_json(&s[0], vd_vae_get_config(vae));
    vd_dit_config_to_json(vd_dit_get_config(dit), &s[1]);
    st = vd_tokenizer_to_json(tok, &s[2], err);
    json_floats(&s[3], mean, Z);
    json_floats(&s[4], std, Z);
    vd_strbuf_puts(&s[5], "[");
    for (int i = 0; i < info->n_frames; i++) vd_strbuf_printf(&s[5], "%s%d", i ? "," : "", info->frames[i]);
    vd_strbuf_puts(&s[5], "]");
    vd_strbuf_puts(&s[6], "[");
    for (int i = 0; i < info->n_sizes; i++)
        vd_strbuf_printf(&s[6], "%s\"%dx%d\"", i ? "," : "", info->width[i], info->height[i]);
    vd_strbuf_puts(&s[6], "]");
    vd_strbuf_printf(&s[7], "%.9g", info->fps);
    vd_strbuf_printf(&s[8], "{\"steps\":%d,\"cfg\":%.9g,\"shift\":%.9g,\"solver\":\"%s\"}",
                     info->steps, (double)info->cfg, (double)info->shift,
                     vd_solver_name(info->solver));
    for (int i = 0; i < 9 && !st; i++)
        if (s[i].failed) st = vd_fail(err, VD_ERR_NOMEM, "t2v: %s: out of memory", path);
    static const char *const keys[9] = {"vae_config", "dit_config", "tokenizer", "latent_mean",
                                        "latent_std", "frames", "size", "fps", "sampling"};
    for (int i = 0; i < 9 && !st; i++) st = vd_st_writer_meta(w, keys[i], vd_strbuf_cstr(&s[i]), err);
    if (!st) st = vd_st_writer_meta(w, "format", VD_T2V_FORMAT, err);
    if (!st) st = vd_st_writer_meta(w, "format_version", "1", err);
    if (!st) st = vd_params_save(vd_vae_params(vae), NULL, w, "vae.", VD_F32, err);
    if (!st) st = vd_params_save(vd_dit_params(dit), dit_values, w, "dit.", VD_BF16, err);
    if (!st) st = vd_st_writer_save(w, path, err);
    for (int i = 0; i < 9; i++) vd_strbuf_free(&s[i]);
    vd_st_writer_free(w);
    if (st) return vd_fail_prefix(err, st, "t2v: saving %s: ", path);
    return VD_OK;
}

/* ------------------------------------------------------------------ load */

static vd_status meta_json(const vd_st_file *f, const char *path, const char *key,
                           vd_json **out, vd_error *err) {
    const char *text = vd_st_metadata(f, key);
    if (!text)
        return vd_fail(err, VD_ERR_FORMAT, "t2v: %s: no \"%s\" metadata", path, key);
    *out = vd_json_parse(text, strlen(text), key, err);
    if (!*out) return vd_fail_prefix(err, VD_ERR_FORMAT, "t2v: %s: ", path);
    return VD_OK;
}

static vd_status read_floats(const vd_st_file *f, const char *path, const char *key, float *dst,
                             int n, vd_error *err) {
    vd_json *j = NULL;
    vd_status st = meta_json(f, path, key, &j, err);
    if (st) return st;
    if (vd_json_type_of(j) != VD_JSON_ARRAY || (int)vd_json_len(j) != n)
        st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"%s\" is not an array of %d numbers", path,
                     key, n);
    for (int i = 0; i < n && !st; i++) {
        const vd_json *v = vd_json_at(j, (size_t)i);
        if (!vd_json_is_number(v))
            st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"%s\"[%d] is not a number", path, key, i);
        else
            dst[i] = (float)vd_json_num(v, 0);
    }
    vd_json_free(j);
    return st;
}

static vd_status read_shapes(const vd_st_file *f, const char *path, vd_t2v_info *info,
                             int tc, int sc, vd_error *err) {
    vd_json *j = NULL;
    vd_status st = meta_json(f, path, "frames", &j, err);
    if (st) return st;
    size_t n = vd_json_type_of(j) == VD_JSON_ARRAY ? vd_json_len(j) : 0;
    if (n == 0) st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"frames\" is not a list of counts", path);
    for (size_t i = 0; i < n && !st; i++) {
        int64_t v;
        if (!vd_json_int(vd_json_at(j, i), &v) || v < 1 || v > 4096 || (v - 1) % tc)
            st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"frames\"[%zu] is not 1 + %d k", path, i, tc);
        else
            st = vd_t2v_info_add_frames(info, (int)v, err);
    }
    vd_json_free(j);
    if (st || (st = meta_json(f, path, "size", &j, err))) return st;
    n = vd_json_type_of(j) == VD_JSON_ARRAY ? vd_json_len(j) : 0;
    if (n == 0) st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"size\" is not a list of WxH", path);
    for (size_t i = 0; i < n && !st; i++) {
        const char *s = vd_json_str(vd_json_at(j, i), NULL);
        int w = 0, h = 0;
        char tail;
        if (!s || sscanf(s, "%dx%d%c", &w, &h, &tail) != 2 || w < sc || h < sc || w % sc ||
            h % sc || w > 4096 || h > 4096)
            st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"size\"[%zu] is not WxH in multiples of %d",
                         path, i, sc);
        else
            st = vd_t2v_info_add_size(info, w, h, err);
    }
    vd_json_free(j);
    if (st) return st;
    const char *fps = vd_st_metadata(f, "fps");
    char *end = NULL;
    info->fps = fps ? strtod(fps, &end) : 0;
    if (!fps || *end || !(info->fps > 0 && info->fps <= 1000))
        return vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"fps\" missing or not a positive number", path);
    if ((st = meta_json(f, path, "sampling", &j, err))) return st;
    int64_t steps;
    double cfg, shift;
    const char *solver;
    if ((st = vd_json_get_int(j, "steps", info->steps, &steps, err)) ||
        (st = vd_json_get_num(j, "cfg", info->cfg, &cfg, err)) ||
        (st = vd_json_get_num(j, "shift", info->shift, &shift, err)) ||
        (st = vd_json_get_str(j, "solver", vd_solver_name(info->solver), &solver, err))) {
        vd_json_free(j);
        return vd_fail_prefix(err, st, "t2v: %s: sampling: ", path);
    }
    info->steps = (int)steps;
    info->cfg = (float)cfg;
    info->shift = (float)shift;
    if (!vd_solver_from_name(solver, &info->solver) || steps < 1 || steps > VD_T2V_MAX_STEPS ||
        !(cfg >= 0) || !(shift > 0))
        st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: \"sampling\" has a value out of range", path);
    vd_json_free(j);
    return st;
}

vd_status vd_t2v_load(vd_t2v **out, const char *path, const vd_allocator *allocator,
                      vd_error *err) {
    *out = NULL;
    vd_st_file *f = NULL;
    vd_status st = vd_st_open(&f, path, err);
    if (st) return vd_fail_prefix(err, st, "t2v: model: ");
    vd_t2v *m = calloc(1, sizeof *m);
    vd_json *j = NULL;
    if (!m || !(m->arena = vd_arena_new(allocator, 0))) {
        st = vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory");
        goto done;
    }
    m->owns = 1;
    vd_t2v_info_default(&m->info);
    const char *fmt = vd_st_metadata(f, "format"), *ver = vd_st_metadata(f, "format_version");
    if (!fmt || strcmp(fmt, VD_T2V_FORMAT)) {
        st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: not a vidit text-to-video model (format \"%s\", want \"%s\")",
                     path, fmt ? fmt : "none", VD_T2V_FORMAT);
        goto done;
    }
    if (!ver || strcmp(ver, "1")) {
        st = vd_fail(err, VD_ERR_UNSUPPORTED, "t2v: %s: format version %s (this vidit reads 1)",
                     path, ver ? ver : "missing");
        goto done;
    }
    vd_vae_config vc;
    vd_vae_config_default(&vc);
    if ((st = meta_json(f, path, "vae_config", &j, err))) goto done;
    st = vd_vae_config_from_json(&vc, j, err);
    vd_json_free(j);
    j = NULL;
    if (st || (st = vd_vae_config_check(&vc, err))) {
        vd_fail_prefix(err, st, "t2v: %s: vae_config: ", path);
        goto done;
    }
    vd_dit_config dc;
    vd_dit_config_default(&dc);
    const char *dtext = vd_st_metadata(f, "dit_config"), *ttext = vd_st_metadata(f, "tokenizer");
    if (!dtext || !ttext) {
        st = vd_fail(err, VD_ERR_FORMAT, "t2v: %s: no \"%s\" metadata", path,
                     dtext ? "tokenizer" : "dit_config");
        goto done;
    }
    if ((st = vd_dit_config_parse(&dc, dtext, strlen(dtext), "dit_config", err)) ||
        (st = vd_tokenizer_from_json(&m->tok, ttext, strlen(ttext), allocator, err))) {
        vd_fail_prefix(err, st, "t2v: %s: ", path);
        goto done;
    }
    m->tok_ref = m->tok;
    m->Z = vc.latent_channels;
    if ((st = read_floats(f, path, "latent_mean", m->mean, m->Z, err)) ||
        (st = read_floats(f, path, "latent_std", m->std, m->Z, err)) ||
        (st = read_shapes(f, path, &m->info, vd_vae_config_temporal(&vc),
                          vd_vae_config_spatial(&vc) * (dc.patch_h > dc.patch_w ? dc.patch_h : dc.patch_w),
                          err)))
        goto done;
    if ((st = vd_vae_new(&m->vae, &vc, 0, 0, allocator, err)) ||
        (st = vd_dit_new(&m->dit, &dc, 0, 0, allocator, err)))
        goto done;
    if ((st = vd_params_load(vd_vae_params(m->vae), NULL, f, "vae.", err)) ||
        (st = vd_params_load(vd_dit_params(m->dit), NULL, f, "dit.", err))) {
        vd_fail_prefix(err, st, "t2v: %s: ", path);
        goto done;
    }
    vd_vae_set_latent_stats(m->vae, m->mean, m->std);
    st = check_parts(m->vae, m->dit, m->tok, m->std, path, err);
done:
    vd_st_close(f);
    if (st) {
        vd_t2v_free(m);
        return st;
    }
    *out = m;
    return VD_OK;
}

/* ------------------------------------------------------------- generate */

void vd_t2v_request_default(vd_t2v_request *r) {
    memset(r, 0, sizeof *r);
    r->prompt = "";
    r->solver = -1;
    r->cfg = -1.0f;
}

static void list_sizes(const vd_t2v_info *info, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < info->n_sizes && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%dx%d", i ? ", " : "", info->width[i],
                                 info->height[i]);
}

static void list_frames(const vd_t2v_info *info, char *buf, size_t size) {
    size_t used = 0;
    buf[0] = 0;
    for (int i = 0; i < info->n_frames && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, "%s%d", i ? ", " : "", info->frames[i]);
}

int vd_t2v_shape_trained(const vd_t2v *m, int frames, int width, int height) {
    const vd_t2v_info *in = &m->info;
    int f = 0, s = 0;
    for (int i = 0; i < in->n_frames; i++) f |= in->frames[i] == frames;
    for (int i = 0; i < in->n_sizes; i++) s |= in->width[i] == width && in->height[i] == height;
    return f && s;
}

size_t vd_t2v_latent_size(const vd_t2v *m, const vd_t2v_request *q, int *Z, int *T, int *H,
                          int *W) {
    const vd_vae_config *vc = vd_vae_get_config(m->vae);
    const int tc = vd_vae_config_temporal(vc), sc = vd_vae_config_spatial(vc);
    *Z = m->Z;
    *T = 1 + (q->frames - 1) / tc;
    *H = q->height / sc;
    *W = q->width / sc;
    return (size_t)*Z * *T * *H * *W;
}

void vd_t2v_latent_stats(const vd_t2v *m, const float **mean, const float **std) {
    *mean = m->mean;
    *std = m->std;
}

vd_arena *vd_t2v_arena(vd_t2v *m) { return m->arena; }

/* The longest clip: 1 + tc k at most 4 times the longest trained count. */
static int frame_limit(const vd_t2v *m) {
    const int maxf = vd_t2v_info_max_frames(&m->info);
    return 4 * (maxf > 0 ? maxf : 1);
}

/* The largest count <= n that is 1 + tc k with 1 + k a multiple of pt (0: none). */
static int fit_frames(int n, int tc, int pt) {
    for (int f = n - (n - 1) % tc; f >= 1; f -= tc)
        if ((1 + (f - 1) / tc) % pt == 0) return f;
    return 0;
}

static vd_status check_shape(const vd_t2v *m, const vd_t2v_request *q, vd_error *err) {
    const vd_t2v_info *in = &m->info;
    const vd_dit_config *dc = vd_dit_get_config(m->dit);
    const vd_vae_config *vc = vd_vae_get_config(m->vae);
    const int tc = vd_vae_config_temporal(vc), sc = vd_vae_config_spatial(vc);
    const int limf = frame_limit(m), mw = sc * dc->patch_w, mh = sc * dc->patch_h;
    char trained[512];
    int Tl = 1 + (q->frames - 1) / tc;
    if (q->frames < 1 || q->frames > limf || (q->frames - 1) % tc || Tl % dc->patch_t) {
        list_frames(in, trained, sizeof trained);
        return vd_fail(err, VD_ERR_ARG, "t2v: this model cannot make %d frames: allowed are 1 + %d k "
                       "with 1 + k a multiple of %d, up to %d (trained on %s)", q->frames, tc,
                       dc->patch_t, limf, trained);
    }
    int ok = q->width >= mw && q->height >= mh && q->width % mw == 0 && q->height % mh == 0 &&
             q->width <= VD_T2V_MAX_SIDE && q->height <= VD_T2V_MAX_SIDE;
    for (int i = 0; i < in->n_sizes; i++) ok |= in->width[i] == q->width && in->height[i] == q->height;
    if (!ok) {
        list_sizes(in, trained, sizeof trained);
        return vd_fail(err, VD_ERR_ARG, "t2v: this model cannot make %dx%d videos: allowed are "
                       "widths in multiples of %d and heights in multiples of %d, up to %d "
                       "(trained on %s)", q->width, q->height, mw, mh, VD_T2V_MAX_SIDE, trained);
    }
    return VD_OK;
}

static vd_status check_input(const vd_t2v_request *q, const vd_video *v, const char *what,
                             vd_error *err) {
    if (!v->rgb || v->frames < 1)
        return vd_fail(err, VD_ERR_ARG, "t2v: the %s has no frames", what);
    if (v->width != q->width || v->height != q->height)
        return vd_fail(err, VD_ERR_ARG, "t2v: the %s is %dx%d, the output %dx%d (read it at the "
                       "output size)", what, v->width, v->height, q->width, q->height);
    return VD_OK;
}

/* The prompting mode's own rules, on a request with its shape resolved. */
static vd_status check_mode(const vd_t2v *m, const vd_t2v_request *q, vd_error *err) {
    const int tc = vd_vae_config_temporal(vd_vae_get_config(m->vae));
    const int T = 1 + (q->frames - 1) / tc;
    const int modes = !!q->image + !!q->extend + !!q->edit + !!(q->connect_a || q->connect_b);
    vd_status st;
    if (modes > 1)
        return vd_fail(err, VD_ERR_ARG, "t2v: give at most one of image, extend, edit and connect");
    if (!q->connect_a != !q->connect_b)
        return vd_fail(err, VD_ERR_ARG, "t2v: connecting needs two videos");
    if (q->backward && !q->extend)
        return vd_fail(err, VD_ERR_ARG, "t2v: backward applies to extension only");
    if (q->loop && (q->extend || q->edit || q->connect_a))
        return vd_fail(err, VD_ERR_ARG, "t2v: loop works with text or image to video only");
    if (q->edit ? !(q->strength > 0.0f && q->strength <= 1.0f) : q->strength != 0.0f)
        return vd_fail(err, VD_ERR_ARG, q->edit ? "t2v: edit strength %g (allowed: 0 < S <= 1)"
                                                : "t2v: strength %g applies to editing only",
                       (double)q->strength);
    if ((q->image || q->extend || q->connect_a || q->loop) && !vd_dit_get_config(m->dit)->frame_cond)
        return vd_fail(err, VD_ERR_UNSUPPORTED, "t2v: this model was not trained with given frames "
                       "(frame_cond 0), so it cannot do %s", q->image ? "image to video"
                       : q->extend ? "extension" : q->connect_a ? "connection" : "loops");
    if (q->image) {
        if ((st = check_input(q, q->image, "image", err))) return st;
        if (T < 2)
            return vd_fail(err, VD_ERR_ARG, "t2v: image to video needs at least %d frames (got %d)",
                           1 + tc, q->frames);
    }
    if (q->extend) {
        if ((st = check_input(q, q->extend, "video to extend", err))) return st;
        if (q->extend->frames < 1 + tc)
            return vd_fail(err, VD_ERR_ARG, "t2v: the video to extend has %d frames; at least %d "
                           "are needed", q->extend->frames, 1 + tc);
        if (T < 2)
            return vd_fail(err, VD_ERR_ARG, "t2v: extension needs at least %d frames per clip "
                           "(got %d)", 1 + tc, q->frames);
    }
    if (q->edit && (st = check_input(q, q->edit, "video to edit", err))) return st;
    int a, b;
    if (q->connect_a) {
        if ((st = check_input(q, q->connect_a, "first video to connect", err)) ||
            (st = check_input(q, q->connect_b, "second video to connect", err)))
            return st;
        if (q->connect_b->frames < 1 + tc)
            return vd_fail(err, VD_ERR_ARG, "t2v: the second video to connect has %d frames; at "
                           "least %d are needed", q->connect_b->frames, 1 + tc);
        if (!vd_t2v_connect_plan(T, q->connect_a->frames, q->connect_b->frames, tc, &a, &b))
            return vd_fail(err, VD_ERR_ARG, "t2v: connecting needs at least %d frames per clip "
                           "(got %d)", 1 + 2 * tc, q->frames);
    }
    if (q->loop && (!vd_t2v_connect_plan(T, q->frames, q->frames, tc, &a, &b) ||
                    q->frames - tc * (a + b) - 2 < 1))
        return vd_fail(err, VD_ERR_ARG, "t2v: a loop needs at least %d frames (got %d)",
                       1 + 2 * tc, q->frames);
    return VD_OK;
}

vd_status vd_t2v_check(const vd_t2v *m, const vd_t2v_request *r, vd_t2v_request *resolved,
                       vd_error *err) {
    vd_t2v_request q = *r;
    const vd_t2v_info *in = &m->info;
    const vd_dit_config *dc = vd_dit_get_config(m->dit);
    const vd_vae_config *vc = vd_vae_get_config(m->vae);
    const int tc = vd_vae_config_temporal(vc);
    if (!q.prompt) return vd_fail(err, VD_ERR_ARG, "t2v: no prompt");
    if (!q.negative) q.negative = "";
    size_t pl = strlen(q.prompt), nl = strlen(q.negative);
    if (pl > VD_T2V_MAX_PROMPT_BYTES || nl > VD_T2V_MAX_PROMPT_BYTES)
        return vd_fail(err, VD_ERR_ARG, "t2v: the %s is %zu bytes long; at most %d are accepted "
                       "(the model reads only its first %d tokens)",
                       pl > VD_T2V_MAX_PROMPT_BYTES ? "prompt" : "negative prompt",
                       pl > VD_T2V_MAX_PROMPT_BYTES ? pl : nl, VD_T2V_MAX_PROMPT_BYTES,
                       dc->max_text_len);
    if (q.steps == 0) q.steps = in->steps;
    if (q.solver < 0) q.solver = in->solver;
    if (q.cfg < 0) q.cfg = in->cfg;
    if (q.shift == 0) q.shift = in->shift;
    if (q.fps == 0) q.fps = in->fps;
    if (q.edit && q.edit->frames >= 1) {
        /* The input's frames, cut to what the model can make. */
        int n = q.edit->frames, lim = frame_limit(m);
        if (q.frames > 0 && q.frames < n) n = q.frames;
        if (n > lim) n = lim;
        q.frames = fit_frames(n, tc, dc->patch_t);
        if (!q.frames)
            return vd_fail(err, VD_ERR_ARG, "t2v: the video to edit has %d frames; this model "
                           "needs 1 + %d k with 1 + k a multiple of %d", q.edit->frames, tc,
                           dc->patch_t);
    }
    if (q.frames == 0) q.frames = in->n_frames ? in->frames[0] : 1;
    if (q.width == 0 && q.height == 0 && in->n_sizes) {
        q.width = in->width[0];
        q.height = in->height[0];
    }
    if (q.steps < 1 || q.steps > VD_T2V_MAX_STEPS)
        return vd_fail(err, VD_ERR_ARG, "t2v: %d sampling steps (allowed: 1..%d)", q.steps,
                       VD_T2V_MAX_STEPS);
    if (q.solver >= VD_SOLVER_COUNT)
        return vd_fail(err, VD_ERR_ARG, "t2v: unknown solver %d", q.solver);
    if (!(q.cfg >= 0.0f) || !isfinite(q.cfg) || q.cfg > 100.0f)
        return vd_fail(err, VD_ERR_ARG, "t2v: guidance scale %g (allowed: 0..100)", (double)q.cfg);
    if (!(q.shift > 0.0f) || !isfinite(q.shift) || q.shift > 100.0f)
        return vd_fail(err, VD_ERR_ARG, "t2v: timestep shift %g (allowed: > 0, at most 100)",
                       (double)q.shift);
    if (!(q.fps > 0.0) || q.fps > 120.0)
        return vd_fail(err, VD_ERR_ARG, "t2v: %g frames per second (allowed: > 0, at most 120)",
                       q.fps);
    vd_status st = check_shape(m, &q, err);
    if (!st) st = check_mode(m, &q, err);
    if (st) return st;
    if (resolved) *resolved = q;
    return VD_OK;
}

/* What the velocity function needs: the DiT, the tokens of prompt and
 * negative prompt as one batch of 2, the guidance, the latent size and the
 * given frames. */
typedef struct velocity_ctx {
    vd_dit *dit;
    vd_arena *arena;
    int32_t *tokens; /* (2, L) */
    int lengths[2];
    float cfg;
    int T, H, W, negative, Z;
    size_t n;
    const uint8_t *mask; /* (T) given latent frames, NULL for none */
    uint8_t *mask2;      /* (2, T) the same twice, for the negative prompt's batch */
} velocity_ctx;

static vd_status velocity(void *user, const float *x, float t, float *v, vd_error *err) {
    velocity_ctx *c = user;
    const size_t mark = vd_arena_mark(c->arena);
    vd_status st;
    if (c->cfg == 1.0f) {
        st = vd_dit_forward_cond(c->dit, x, c->mask, &t, c->tokens, c->lengths, 1, c->T, c->H,
                                 c->W, v, c->arena, err);
    } else if (!c->negative) {
        st = vd_dit_forward_cfg_cond(c->dit, x, c->mask, &t, c->tokens, c->lengths, 1, c->T,
                                     c->H, c->W, c->cfg, v, c->arena, err);
    } else {
        float *x2 = vd_arena_floats(c->arena, 2 * c->n), *v2 = vd_arena_floats(c->arena, 2 * c->n);
        float t2[2] = {t, t};
        if (!x2 || !v2) {
            vd_arena_reset(c->arena, mark);
            return vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory");
        }
        memcpy(x2, x, c->n * sizeof *x2);
        memcpy(x2 + c->n, x, c->n * sizeof *x2);
        if (c->mask) {
            memcpy(c->mask2, c->mask, (size_t)c->T);
            memcpy(c->mask2 + c->T, c->mask, (size_t)c->T);
        }
        st = vd_dit_forward_cond(c->dit, x2, c->mask ? c->mask2 : NULL, t2, c->tokens, c->lengths,
                                 2, c->T, c->H, c->W, v2, c->arena, err);
        if (!st) vd_flow_cfg_combine(v, v2, v2 + c->n, c->cfg, c->n);
    }
    vd_arena_reset(c->arena, mark);
    /* The model's velocity on given frames is meaningless: zero holds them
     * fixed under every solver (up to rounding, undone after sampling). */
    const size_t plane = (size_t)c->H * c->W;
    for (int f = 0; f < c->T && c->mask && !st; f++)
        if (c->mask[f])
            for (int ch = 0; ch < c->Z; ch++)
                memset(v + ((size_t)ch * c->T + f) * plane, 0, plane * sizeof *v);
    return st;
}

/* One generation's state: the resolved request, the noise stream and the
 * buffers of one clip's latent (n floats each). */
typedef struct gen {
    vd_t2v *m;
    vd_t2v_request q;
    velocity_ctx c;
    vd_rng rng;
    int tc, Z, T, H, W;
    size_t n, plane;
    float *x, *given, *tmp, *work, *grid;
    uint8_t *mask;
} gen;

/* Starts from noise (blended with x0 for editing), puts the given frames
 * in, integrates from t_start down to 0, puts the given frames back exactly
 * and decodes the clip into rgb (q.frames frames). g->x holds the final
 * latent. */
static vd_status sample_decode(gen *g, const float *x0, float t_start, uint8_t *rgb,
                               vd_error *err) {
    const vd_t2v_request *q = &g->q;
    float *x = g->x;
    int any = 0;
    for (int f = 0; f < g->T; f++) any |= g->mask[f];
    vd_rng_normal(&g->rng, x, g->n);
    if (x0)
        for (size_t i = 0; i < g->n; i++) x[i] = (1.0f - t_start) * x0[i] + t_start * x[i];
    for (int f = 0; f < g->T && any; f++)
        if (g->mask[f]) vd_t2v_copy_frames(x, g->T, f, g->given, g->T, f, 1, g->Z, g->plane);
    g->c.mask = any ? g->mask : NULL;
    vd_status st = vd_flow_time_grid(g->grid, q->steps, q->shift, err);
    if (st) return st;
    if (t_start < 1.0f)
        for (int i = 0; i <= q->steps; i++) g->grid[i] *= t_start;
    st = vd_sample_ode(q->solver, x, g->n, g->grid, q->steps, velocity, &g->c, g->work,
                       q->progress, q->progress_user, err);
    if (st) return st;
    for (int f = 0; f < g->T && any; f++)
        if (g->mask[f]) vd_t2v_copy_frames(x, g->T, f, g->given, g->T, f, 1, g->Z, g->plane);
    if (q->progress && q->progress(q->progress_user, "decoding", 0, 1))
        return vd_fail(err, VD_ERR_ARG, "cancelled");
    st = vd_t2v_decode(g->m, x, g->T, g->H, g->W, rgb, err);
    if (!st && q->progress) q->progress(q->progress_user, "decoding", 1, 1);
    return st;
}

/* Gives the encoding of `frames` frames of v from frame `first` as latent
 * frames dst.. of the clip, skipping the first `skip` latents of it. */
static vd_status give(gen *g, const vd_video *v, int first, int frames, int skip, int dst,
                      vd_error *err) {
    const size_t fb = (size_t)v->width * v->height * 3;
    const int Tl = 1 + (frames - 1) / g->tc;
    vd_status st = vd_t2v_encode(g->m, v->rgb + (size_t)first * fb, frames, v->width, v->height,
                                 g->tmp, err);
    if (st) return st;
    vd_t2v_copy_frames(g->given, g->T, dst, g->tmp, Tl, skip, Tl - skip, g->Z, g->plane);
    memset(g->mask + dst, 1, (size_t)(Tl - skip));
    return VD_OK;
}

/* A clip from A's end to B's start into rgb (see vd_t2v_connect_plan). */
static vd_status connect(gen *g, const vd_video *A, const vd_video *B, uint8_t *rgb, int *pa,
                         int *pb, vd_error *err) {
    int a = 0, b = 0;
    vd_t2v_connect_plan(g->T, A->frames, B->frames, g->tc, &a, &b);
    memset(g->mask, 0, (size_t)g->T);
    vd_status st = give(g, A, A->frames - 1 - g->tc * a, 1 + g->tc * a, 0, 0, err);
    /* B's first latent codes its frame 0 alone, as an image; in the middle
     * of a clip a latent codes tc frames after the one before. So B's
     * latents 1..b (frames 1..tc b) are what the clip's last b latents
     * hold, and B's frame 0 is left for the model to make. */
    if (!st) st = give(g, B, 0, 1 + g->tc * b, 1, g->T - b, err);
    if (!st) st = sample_decode(g, NULL, 1.0f, rgb, err);
    /* The causal decoder draws those last latents after the clip's own
     * past, not after B's frame 0, and the two can differ (another
     * background): the tail would not match B. So the clip's last tc b
     * frame 0. give() left B's latents 0..b in g->tmp, which sampling does
     * not touch. */
    if (!st && b > 0) {
        const size_t fb = (size_t)B->width * B->height * 3;
        const int n = 1 + g->tc * b;
        uint8_t *head = malloc((size_t)n * fb);
        if (!head) return vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory");
        st = vd_t2v_decode(g->m, g->tmp, 1 + b, g->H, g->W, head, err);
        if (!st)
            memcpy(rgb + (size_t)(g->q.frames - (n - 1)) * fb, head + fb, (size_t)(n - 1) * fb);
        free(head);
    }
    *pa = a;
    *pb = b;
    return st;
}

static vd_status append(vd_video *out, const vd_video *a, const uint8_t *b, int b_frames,
                        double fps, vd_error *err) {
    vd_status st = vd_video_alloc(out, a->frames + b_frames, a->width, a->height, fps, err);
    if (st) return st;
    const size_t fb = (size_t)a->width * a->height * 3;
    memcpy(out->rgb, a->rgb, (size_t)a->frames * fb);
    memcpy(out->rgb + (size_t)a->frames * fb, b, (size_t)b_frames * fb);
    return VD_OK;
}

vd_status vd_t2v_generate(vd_t2v *m, vd_t2v_request *req, vd_video *out, vd_error *err) {
    memset(out, 0, sizeof *out);
    gen g;
    memset(&g, 0, sizeof g);
    vd_status st = vd_t2v_check(m, req, &g.q, err);
    if (st) return st;
    const vd_t2v_request *q = &g.q;
    const int L = vd_dit_get_config(m->dit)->max_text_len;
    g.m = m;
    g.tc = vd_vae_config_temporal(vd_vae_get_config(m->vae));
    g.n = vd_t2v_latent_size(m, q, &g.Z, &g.T, &g.H, &g.W);
    g.plane = (size_t)g.H * g.W;
    const size_t fb = (size_t)q->width * q->height * 3;
    g.c = (velocity_ctx){m->dit, m->arena, NULL, {0, 0}, q->cfg, g.T, g.H, g.W,
                         q->negative[0] != 0, g.Z, g.n, NULL, NULL};
    vd_video clip = {0}, tmpv = {0}, src = {0};
    g.x = malloc(g.n * sizeof *g.x);
    g.given = calloc(g.n, sizeof *g.given);
    g.tmp = malloc(g.n * sizeof *g.tmp);
    g.work = malloc(3 * g.n * sizeof *g.work);
    g.grid = malloc(((size_t)q->steps + 1) * sizeof *g.grid);
    g.mask = calloc((size_t)g.T, 1);
    g.c.mask2 = calloc(2 * (size_t)g.T, 1);
    g.c.tokens = calloc(2 * (size_t)L, sizeof *g.c.tokens);
    if (!g.x || !g.given || !g.tmp || !g.work || !g.grid || !g.mask || !g.c.mask2 || !g.c.tokens) {
        st = vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory for a %dx%dx%d video", q->width,
                     q->height, q->frames);
        goto done;
    }
    g.c.lengths[0] = vd_tokenizer_encode(m->tok_ref, q->prompt, g.c.tokens, L, &req->prompt_truncated);
    g.c.lengths[1] = vd_tokenizer_encode(m->tok_ref, q->negative, g.c.tokens + L, L,
                                         &req->negative_truncated);
    vd_rng_init(&g.rng, q->seed);
    if ((st = vd_video_alloc(&clip, q->frames, q->width, q->height, q->fps, err))) goto done;
    int a = 0, b = 0;
    if (q->extend) {
        /* The input's last 1 + tc a frames are the clip's first. */
        if (q->backward) st = vd_t2v_reverse(q->extend, &src, err);
        const vd_video *in = q->backward ? &src : q->extend;
        a = vd_t2v_extend_plan(g.T, in->frames, g.tc);
        const int k = 1 + g.tc * a;
        if (!st) st = give(&g, in, in->frames - k, k, 0, 0, err);
        if (!st) st = sample_decode(&g, NULL, 1.0f, clip.rgb, err);
        if (!st) st = append(q->backward ? &tmpv : out, in, clip.rgb + (size_t)k * fb,
                             q->frames - k, q->fps, err);
        if (!st && q->backward) st = vd_t2v_reverse(&tmpv, out, err);
    } else if (q->edit) {
        if (!(st = vd_t2v_encode(m, q->edit->rgb, q->frames, q->width, q->height, g.tmp, err)) &&
            !(st = sample_decode(&g, g.tmp, q->strength, clip.rgb, err))) {
            *out = clip;
            memset(&clip, 0, sizeof clip);
        }
    } else if (q->connect_a) {
        if (!(st = connect(&g, q->connect_a, q->connect_b, clip.rgb, &a, &b, err))) {
            *out = clip;
            memset(&clip, 0, sizeof clip);
        }
    } else {
        if (q->image) st = give(&g, q->image, 0, 1, 0, 0, err);
        if (!st) st = sample_decode(&g, NULL, 1.0f, clip.rgb, err);
        if (!st && q->latent_out) memcpy(q->latent_out, g.x, g.n * sizeof *g.x);
        if (!st && q->loop) {
            /* V, then the bridge without the frames standing for V's end
             * (0 .. tc a) and for V's start (from F - tc b - 1 on). */
            if (!(st = vd_video_alloc(&tmpv, q->frames, q->width, q->height, q->fps, err)) &&
                !(st = connect(&g, &clip, &clip, tmpv.rgb, &a, &b, err)))
                st = append(out, &clip, tmpv.rgb + (size_t)(1 + g.tc * a) * fb,
                            q->frames - g.tc * (a + b) - 2, q->fps, err);
        } else if (!st) {
            *out = clip;
            memset(&clip, 0, sizeof clip);
        }
    }
    if (!st && q->latent_out && (q->extend || q->edit || q->connect_a))
        memcpy(q->latent_out, g.x, g.n * sizeof *g.x);
done:
    vd_arena_reset(m->arena, 0);
    if (st) vd_video_free(out);
    vd_video_free(&clip);
    vd_video_free(&tmpv);
    vd_video_free(&src);
    free(g.x);
    free(g.given);
    free(g.tmp);
    free(g.work);
    free(g.grid);
    free(g.mask);
    free(g.c.mask2);
    free(g.c.tokens);
    return st;
}
