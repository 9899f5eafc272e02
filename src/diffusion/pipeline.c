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

vd_status vd_t2v_check(const vd_t2v *m, const vd_t2v_request *r, vd_t2v_request *resolved,
                       vd_error *err) {
    vd_t2v_request q = *r;
    const vd_t2v_info *in = &m->info;
    const vd_dit_config *dc = vd_dit_get_config(m->dit);
    const vd_vae_config *vc = vd_vae_get_config(m->vae);
    const int tc = vd_vae_config_temporal(vc), maxf = vd_t2v_info_max_frames(in);
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
    int Tl = 1 + (q.frames - 1) / tc;
    if (q.frames < 1 || q.frames > maxf || (q.frames - 1) % tc || Tl % dc->patch_t)
        return vd_fail(err, VD_ERR_ARG, "t2v: this model cannot make %d frames: allowed are 1 + %d k "
                       "up to %d (1, %d, ..., %d)", q.frames, tc, maxf, 1 + tc, maxf);
    int ok = 0;
    for (int i = 0; i < in->n_sizes; i++) ok |= in->width[i] == q.width && in->height[i] == q.height;
    if (!ok) {
        char sizes[512];
        list_sizes(in, sizes, sizeof sizes);
        return vd_fail(err, VD_ERR_ARG, "t2v: this model cannot make %dx%d videos (allowed: %s)",
                       q.width, q.height, sizes);
    }
    if (resolved) *resolved = q;
    return VD_OK;
}

/* What the velocity function needs: the DiT, the tokens of prompt and
 * negative prompt as one batch of 2, the guidance and the latent size. */
typedef struct velocity_ctx {
    vd_dit *dit;
    vd_arena *arena;
    int32_t *tokens; /* (2, L) */
    int lengths[2];
    float cfg;
    int T, H, W, negative;
    size_t n;
} velocity_ctx;

static vd_status velocity(void *user, const float *x, float t, float *v, vd_error *err) {
    velocity_ctx *c = user;
    const size_t mark = vd_arena_mark(c->arena);
    vd_status st;
    if (c->cfg == 1.0f) {
        st = vd_dit_forward(c->dit, x, &t, c->tokens, c->lengths, 1, c->T, c->H, c->W, v,
                            c->arena, err);
    } else if (!c->negative) {
        st = vd_dit_forward_cfg(c->dit, x, &t, c->tokens, c->lengths, 1, c->T, c->H, c->W, c->cfg,
                                v, c->arena, err);
    } else {
        float *x2 = vd_arena_floats(c->arena, 2 * c->n), *v2 = vd_arena_floats(c->arena, 2 * c->n);
        float t2[2] = {t, t};
        if (!x2 || !v2) {
            vd_arena_reset(c->arena, mark);
            return vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory");
        }
        memcpy(x2, x, c->n * sizeof *x2);
        memcpy(x2 + c->n, x, c->n * sizeof *x2);
        st = vd_dit_forward(c->dit, x2, t2, c->tokens, c->lengths, 2, c->T, c->H, c->W, v2,
                            c->arena, err);
        if (!st) vd_flow_cfg_combine(v, v2, v2 + c->n, c->cfg, c->n);
    }
    vd_arena_reset(c->arena, mark);
    return st;
}

vd_status vd_t2v_generate(vd_t2v *m, vd_t2v_request *req, vd_video *out, vd_error *err) {
    memset(out, 0, sizeof *out);
    vd_t2v_request q;
    vd_status st = vd_t2v_check(m, req, &q, err);
    if (st) return st;
    const vd_dit_config *dc = vd_dit_get_config(m->dit);
    const vd_vae_config *vc = vd_vae_get_config(m->vae);
    const int tc = vd_vae_config_temporal(vc), sc = vd_vae_config_spatial(vc);
    const int L = dc->max_text_len, Z = m->Z;
    const int T = 1 + (q.frames - 1) / tc, H = q.height / sc, W = q.width / sc;
    const size_t n = (size_t)Z * T * H * W, plane = (size_t)T * H * W;
    const size_t pix = (size_t)3 * q.frames * q.height * q.width;
    velocity_ctx c = {m->dit, m->arena, NULL, {0, 0}, q.cfg, T, H, W, q.negative[0] != 0, n};
    float *x = malloc(n * sizeof *x), *work = malloc(3 * n * sizeof *work);
    float *grid = malloc(((size_t)q.steps + 1) * sizeof *grid), *img = malloc(pix * sizeof *img);
    c.tokens = calloc(2 * (size_t)L, sizeof *c.tokens);
    if (!x || !work || !grid || !img || !c.tokens) {
        st = vd_fail(err, VD_ERR_NOMEM, "t2v: out of memory for a %dx%dx%d video", q.width,
                     q.height, q.frames);
        goto done;
    }
    c.lengths[0] = vd_tokenizer_encode(m->tok_ref, q.prompt, c.tokens, L, &req->prompt_truncated);
    c.lengths[1] = vd_tokenizer_encode(m->tok_ref, q.negative, c.tokens + L, L,
                                       &req->negative_truncated);
    vd_rng rng;
    vd_rng_init(&rng, q.seed);
    vd_rng_normal(&rng, x, n);
    if ((st = vd_flow_time_grid(grid, q.steps, q.shift, err)) ||
        (st = vd_sample_ode(q.solver, x, n, grid, q.steps, velocity, &c, work, q.progress,
                            q.progress_user, err)))
        goto done;
    for (int ch = 0; ch < Z; ch++)
        for (size_t i = 0; i < plane; i++)
            x[ch * plane + i] = x[ch * plane + i] * m->std[ch] + m->mean[ch];
    if (q.progress && q.progress(q.progress_user, "decoding", 0, 1)) {
        st = vd_fail(err, VD_ERR_ARG, "cancelled");
        goto done;
    }
    if ((st = vd_vae_decode(m->vae, x, 1, T, H, W, img, m->arena, err))) goto done;
    if ((st = vd_video_alloc(out, q.frames, q.width, q.height, q.fps, err))) goto done;
    vd_vae_to_rgb(out->rgb, img, q.frames, q.height, q.width);
    if (q.progress) q.progress(q.progress_user, "decoding", 1, 1);
done:
    vd_arena_reset(m->arena, 0);
    if (st) vd_video_free(out);
    free(x);
    free(work);
    free(grid);
    free(img);
    free(c.tokens);
    return st;
}
