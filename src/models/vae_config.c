/* The VAE's config: defaults, JSON in and out, checks. */
#include <stdio.h>
#include <string.h>

#include "core/error.h"
#include "models/vae.h"

void vd_vae_config_default(vd_vae_config *c) {
    memset(c, 0, sizeof *c);
    c->levels = 4;
    int ch[4] = {16, 32, 64, 64};
    int eb[4] = {1, 1, 1, 1};
    int db[4] = {1, 1, 1, 1};
    int kt[4] = {1, 1, 3, 3};
    for (int i = 0; i < 4; i++) {
        c->channels[i] = ch[i];
        c->enc_blocks[i] = eb[i];
        c->dec_blocks[i] = db[i];
        c->kt[i] = kt[i];
    }
    for (int i = 0; i < 3; i++) c->down_space[i] = 1;
    c->down_time[0] = 1;
    c->down_time[1] = 1;
    c->latent_channels = 8;
    c->groups = 2;
    c->head_norm = 1;
    c->logvar_min = -30.0f;
    c->logvar_max = 20.0f;
}

int vd_vae_config_spatial(const vd_vae_config *c) {
    int f = 1;
    for (int i = 0; i + 1 < c->levels; i++) f *= c->down_space[i] ? 2 : 1;
    return f;
}

int vd_vae_config_temporal(const vd_vae_config *c) {
    int f = 1;
    for (int i = 0; i + 1 < c->levels; i++) f *= c->down_time[i] ? 2 : 1;
    return f;
}

/* An int array member: its length must be `want` (or set *levels when 0). */
static vd_status int_array(const vd_json *obj, const char *key, int *dst, int *len, int max,
                           vd_error *err) {
    const vd_json *a = vd_json_get(obj, key);
    if (!a) return VD_OK;
    if (vd_json_type_of(a) != VD_JSON_ARRAY)
        return vd_fail(err, VD_ERR_FORMAT, "vae config: \"%s\" must be an array", key);
    size_t n = vd_json_len(a);
    if (n == 0 || n > (size_t)max)
        return vd_fail(err, VD_ERR_FORMAT, "vae config: \"%s\" must have 1..%d entries", key,
                       max);
    for (size_t i = 0; i < n; i++) {
        int64_t v;
        if (!vd_json_int(vd_json_at(a, i), &v) || v < 0 || v > 4096)
            return vd_fail(err, VD_ERR_FORMAT,
                           "vae config: \"%s\"[%zu] must be an integer in 0..4096", key, i);
        dst[i] = (int)v;
    }
    *len = (int)n;
    return VD_OK;
}

static int log2_exact(int64_t v) {
    int k = 0;
    while (v > 1 && v % 2 == 0) {
        v /= 2;
        k++;
    }
    return v == 1 ? k : -1;
}

vd_status vd_vae_config_from_json(vd_vae_config *c, const vd_json *m, vd_error *err) {
    if (!m || vd_json_type_of(m) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "vae config: \"model\" must be an object");
    vd_status st;
    int n = 0, len = 0;
    if ((st = int_array(m, "channels", c->channels, &n, VD_VAE_MAX_LEVELS, err))) return st;
    if (n) {
        if (n < 2) return vd_fail(err, VD_ERR_FORMAT, "vae config: \"channels\" needs >= 2 levels");
        c->levels = n;
        /* Arrays that are left out follow the level count. */
        for (int i = 0; i < n; i++) {
            if (!c->enc_blocks[i]) c->enc_blocks[i] = 1;
            if (!c->dec_blocks[i]) c->dec_blocks[i] = 1;
            if (!c->kt[i]) c->kt[i] = 3;
        }
    }
    struct {
        const char *key;
        int *dst;
        int want;
        const char *nonzero; /* what a 0 should have been, or NULL when 0 is valid */
    } arrays[] = {{"enc_blocks", c->enc_blocks, c->levels, NULL},
                  {"dec_blocks", c->dec_blocks, c->levels, NULL},
                  {"time_kernels", c->kt, c->levels, NULL},
                  {"dec_channels", c->dec_channels, c->levels, "a positive multiple of groups"},
                  {"dec_time_kernels", c->dec_kt, c->levels, "1 or 3"},
                  {"down_space", c->down_space, c->levels - 1, NULL},
                  {"down_time", c->down_time, c->levels - 1, NULL}};
    for (size_t i = 0; i < sizeof arrays / sizeof arrays[0]; i++) {
        len = 0;
        if ((st = int_array(m, arrays[i].key, arrays[i].dst, &len, VD_VAE_MAX_LEVELS, err)))
            return st;
        if (len && len != arrays[i].want)
            return vd_fail(err, VD_ERR_FORMAT, "vae config: \"%s\" has %d entries, want %d",
                           arrays[i].key, len, arrays[i].want);
        /* In the struct a 0 mirrors the encoder; written in a file it is a
         * mistake, and would otherwise pass silently. */
        for (int k = 0; arrays[i].nonzero && k < len; k++)
            if (!arrays[i].dst[k])
                return vd_fail(err, VD_ERR_FORMAT, "vae config: %s[%d] = 0 (want %s)",
                               arrays[i].key, k, arrays[i].nonzero);
    }
    int64_t v;
    if ((st = vd_json_get_int(m, "latent_channels", c->latent_channels, &v, err))) return st;
    c->latent_channels = (int)v;
    if ((st = vd_json_get_int(m, "groups", c->groups, &v, err))) return st;
    c->groups = (int)v;
    int hb;
    if ((st = vd_json_get_bool(m, "head_norm", c->head_norm, &hb, err))) return st;
    c->head_norm = hb;
    const char *tp = NULL;
    if ((st = vd_json_get_str(m, "time_pad", NULL, &tp, err))) return st;
    if (tp && !strcmp(tp, "zeros"))
        c->time_pad = VD_VAE_TIME_PAD_ZEROS;
    else if (tp && !strcmp(tp, "replicate"))
        c->time_pad = VD_VAE_TIME_PAD_REPLICATE;
    else if (tp)
        return vd_fail(err, VD_ERR_FORMAT,
                       "vae config: \"time_pad\" is \"%s\" (want \"zeros\" or "
                       "\"replicate\")", tp);
    double d;
    if ((st = vd_json_get_num(m, "logvar_min", c->logvar_min, &d, err))) return st;
    c->logvar_min = (float)d;
    if ((st = vd_json_get_num(m, "logvar_max", c->logvar_max, &d, err))) return st;
    c->logvar_max = (float)d;
    const char *ck[2] = {"spatial_compression", "temporal_compression"};
    int *dst[2] = {c->down_space, c->down_time};
    for (int k = 0; k < 2; k++) {
        if (!vd_json_get(m, ck[k])) continue;
        if ((st = vd_json_get_int(m, ck[k], 1, &v, err))) return st;
        int downs = log2_exact(v);
        if (downs < 0 || downs > c->levels - 1)
            return vd_fail(err, VD_ERR_FORMAT,
                           "vae config: \"%s\" = %lld must be a power of two <= 2^%d", ck[k],
                           (long long)v, c->levels - 1);
        for (int i = 0; i + 1 < c->levels; i++) dst[k][i] = i < downs;
    }
    return vd_vae_config_check(c, err);
}

vd_status vd_vae_config_check(const vd_vae_config *c, vd_error *err) {
    if (c->levels < 2 || c->levels > VD_VAE_MAX_LEVELS)
        return vd_fail(err, VD_ERR_ARG, "vae config: %d levels (want 2..%d)", c->levels,
                       VD_VAE_MAX_LEVELS);
    if (c->latent_channels < 1 || c->latent_channels > VD_VAE_MAX_LATENT)
        return vd_fail(err, VD_ERR_ARG, "vae config: latent_channels %d (want 1..%d)",
                       c->latent_channels, VD_VAE_MAX_LATENT);
    if (c->groups < 0) return vd_fail(err, VD_ERR_ARG, "vae config: groups %d", c->groups);
    for (int i = 0; i < c->levels; i++) {
        if (c->channels[i] < 1 || (c->groups && c->channels[i] % c->groups))
            return vd_fail(err, VD_ERR_ARG,
                           "vae config: channels[%d] = %d is not a positive multiple of "
                           "groups (%d)", i, c->channels[i], c->groups);
        if (c->enc_blocks[i] < 0 || c->enc_blocks[i] > 8 || c->dec_blocks[i] < 0 ||
            c->dec_blocks[i] > 8)
            return vd_fail(err, VD_ERR_ARG, "vae config: blocks of level %d outside 0..8", i);
        if (c->kt[i] != 1 && c->kt[i] != 3)
            return vd_fail(err, VD_ERR_ARG, "vae config: time_kernels[%d] = %d (want 1 or 3)",
                           i, c->kt[i]);
        int dc = vd_vae_dec_channels(c, i), dk = vd_vae_dec_kt(c, i);
        if (dc < 1 || (c->groups && dc % c->groups))
            return vd_fail(err, VD_ERR_ARG,
                           "vae config: dec_channels[%d] = %d is not a positive multiple of "
                           "groups (%d)", i, dc, c->groups);
        if (dk != 1 && dk != 3)
            return vd_fail(err, VD_ERR_ARG,
                           "vae config: dec_time_kernels[%d] = %d (want 1 or 3)", i, dk);
    }
    if (c->time_pad != VD_VAE_TIME_PAD_ZEROS && c->time_pad != VD_VAE_TIME_PAD_REPLICATE)
        return vd_fail(err, VD_ERR_ARG,
                       "vae config: time_pad %d (want %d, zeros, or %d, replicate)", c->time_pad,
                       VD_VAE_TIME_PAD_ZEROS, VD_VAE_TIME_PAD_REPLICATE);
    if (!(c->logvar_min < c->logvar_max))
        return vd_fail(err, VD_ERR_ARG, "vae config: logvar_min >= logvar_max");
    return VD_OK;
}

const char *vd_vae_time_pad_name(int time_pad) {
    switch (time_pad) {
    case VD_VAE_TIME_PAD_ZEROS: return "zeros";
    case VD_VAE_TIME_PAD_REPLICATE: return "replicate";
    default: return "?";
    }
}

static void json_ints(vd_strbuf *s, const char *key, const int *v, int n) {
    vd_strbuf_printf(s, "\"%s\":[", key);
    for (int i = 0; i < n; i++) vd_strbuf_printf(s, "%s%d", i ? "," : "", v[i]);
    vd_strbuf_puts(s, "]");
}

int vd_vae_dec_channels(const vd_vae_config *c, int l) {
    return c->dec_channels[l] ? c->dec_channels[l] : c->channels[l];
}

int vd_vae_dec_kt(const vd_vae_config *c, int l) { return c->dec_kt[l] ? c->dec_kt[l] : c->kt[l]; }

void vd_vae_config_json(vd_strbuf *s, const vd_vae_config *c) {
    int dch[VD_VAE_MAX_LEVELS], dkt[VD_VAE_MAX_LEVELS], own_ch = 0, own_kt = 0;
    for (int l = 0; l < c->levels; l++) {
        dch[l] = vd_vae_dec_channels(c, l);
        dkt[l] = vd_vae_dec_kt(c, l);
        own_ch |= dch[l] != c->channels[l];
        own_kt |= dkt[l] != c->kt[l];
    }
    vd_strbuf_puts(s, "{");
    json_ints(s, "channels", c->channels, c->levels);
    vd_strbuf_puts(s, ",");
    json_ints(s, "enc_blocks", c->enc_blocks, c->levels);
    vd_strbuf_puts(s, ",");
    json_ints(s, "dec_blocks", c->dec_blocks, c->levels);
    vd_strbuf_puts(s, ",");
    json_ints(s, "time_kernels", c->kt, c->levels);
    /* Only a decoder of its own is written: a symmetric model's config (in
     * model files, checkpoints and text-to-video files) stays as it was, and
     * older readers that ignore these keys still build the same model. */
    if (own_ch) {
        vd_strbuf_puts(s, ",");
        json_ints(s, "dec_channels", dch, c->levels);
    }
    if (own_kt) {
        vd_strbuf_puts(s, ",");
        json_ints(s, "dec_time_kernels", dkt, c->levels);
    }
    vd_strbuf_puts(s, ",");
    json_ints(s, "down_space", c->down_space, c->levels - 1);
    vd_strbuf_puts(s, ",");
    json_ints(s, "down_time", c->down_time, c->levels - 1);
    vd_strbuf_printf(s, ",\"latent_channels\":%d,\"groups\":%d,\"head_norm\":%s,"
                     "\"logvar_min\":", c->latent_channels, c->groups,
                     c->head_norm ? "true" : "false");
    vd_strbuf_json_number(s, c->logvar_min);
    vd_strbuf_puts(s, ",\"logvar_max\":");
    vd_strbuf_json_number(s, c->logvar_max);
    /* Written only when not the default, as the decoder lists above: a
     * zero-padded model's config text does not change. */
    if (c->time_pad != VD_VAE_TIME_PAD_ZEROS)
        vd_strbuf_printf(s, ",\"time_pad\":\"%s\"", vd_vae_time_pad_name(c->time_pad));
    vd_strbuf_puts(s, "}");
}

/* One member of the config for vd_vae_config_diff: n ints (decoder lists
 * resolved), used by the halves in `halves`. */
typedef struct diff_member {
    const char *name;
    int a[VD_VAE_MAX_LEVELS], b[VD_VAE_MAX_LEVELS];
    int n, halves;
} diff_member;

static void member(diff_member *m, const char *name, const int *a, const int *b, int n,
                   int halves) {
    m->name = name;
    m->n = n;
    m->halves = halves;
    for (int i = 0; i < n; i++) {
        m->a[i] = a[i];
        m->b[i] = b[i];
    }
}

int vd_vae_config_diff(const vd_vae_config *a, const vd_vae_config *b, char *what,
                       size_t size) {
    const int E = VD_VAE_DIFF_ENCODER, D = VD_VAE_DIFF_DECODER;
    if (what && size) what[0] = '\0';
    if (a->levels != b->levels) {
        if (what) snprintf(what, size, "levels: %d vs %d", a->levels, b->levels);
        return E | D;
    }
    int L = a->levels, da[3][VD_VAE_MAX_LEVELS], db[3][VD_VAE_MAX_LEVELS];
    for (int l = 0; l < L; l++) {
        da[0][l] = vd_vae_dec_channels(a, l);
        db[0][l] = vd_vae_dec_channels(b, l);
        da[1][l] = vd_vae_dec_kt(a, l);
        db[1][l] = vd_vae_dec_kt(b, l);
    }
    da[2][0] = a->latent_channels, db[2][0] = b->latent_channels;
    da[2][1] = a->groups, db[2][1] = b->groups;
    da[2][2] = a->head_norm, db[2][2] = b->head_norm;
    diff_member m[11];
    int n = 0;
    member(&m[n++], "latent_channels", &da[2][0], &db[2][0], 1, E | D);
    member(&m[n++], "groups", &da[2][1], &db[2][1], 1, E | D);
    member(&m[n++], "head_norm", &da[2][2], &db[2][2], 1, E | D);
    member(&m[n++], "down_space", a->down_space, b->down_space, L - 1, E | D);
    member(&m[n++], "down_time", a->down_time, b->down_time, L - 1, E | D);
    member(&m[n++], "channels", a->channels, b->channels, L, E);
    member(&m[n++], "enc_blocks", a->enc_blocks, b->enc_blocks, L, E);
    member(&m[n++], "time_kernels", a->kt, b->kt, L, E);
    member(&m[n++], "dec_channels", da[0], db[0], L, D);
    member(&m[n++], "dec_blocks", a->dec_blocks, b->dec_blocks, L, D);
    member(&m[n++], "dec_time_kernels", da[1], db[1], L, D);
    int diff = 0;
    for (int k = 0; k < n; k++)
        for (int i = 0; i < m[k].n; i++) {
            if (m[k].a[i] == m[k].b[i]) continue;
            /* The members are listed shared first, then the encoder's: the
             * first difference found is the one that matters most. */
            if (what && !diff) {
                if (m[k].n == 1)
                    snprintf(what, size, "%s: %d vs %d", m[k].name, m[k].a[i], m[k].b[i]);
                else
                    snprintf(what, size, "%s[%d]: %d vs %d", m[k].name, i, m[k].a[i],
                             m[k].b[i]);
            }
            diff |= m[k].halves;
            break;
        }
    return diff;
}
