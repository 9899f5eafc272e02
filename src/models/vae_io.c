/* VAE model files, pixel conversion and the quality metrics (PSNR, SSIM,
 * the drift of a still video's latent). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "models/vae_internal.h"

#define CONFIG_KEY "vidit.vae.config"

vd_status vd_vae_save(const vd_vae *v, const float *values, const char *path, vd_error *err) {
    vd_st_writer *w = vd_st_writer_new(v->alloc);
    if (!w) return vd_fail(err, VD_ERR_NOMEM, "vae: %s: out of memory", path);
    vd_strbuf cfg;
    vd_strbuf_init(&cfg);
    vd_vae_config_json(&cfg, &v->cfg);
    vd_status st = cfg.failed ? vd_fail(err, VD_ERR_NOMEM, "vae: out of memory") : VD_OK;
    if (!st) st = vd_params_save(v->params, values, w, "", VD_F32, err);
    if (!st && v->has_stats) {
        int64_t shape[1] = {v->cfg.latent_channels};
        st = vd_st_writer_add_f32(w, "latent.mean", VD_F32, 1, shape, v->lmean, err);
        if (!st) st = vd_st_writer_add_f32(w, "latent.std", VD_F32, 1, shape, v->lstd, err);
    }
    if (!st) st = vd_st_writer_meta(w, CONFIG_KEY, vd_strbuf_cstr(&cfg), err);
    if (!st) st = vd_st_writer_meta(w, "format", "vidit-vae", err);
    if (!st) st = vd_st_writer_save(w, path, err);
    vd_strbuf_free(&cfg);
    vd_st_writer_free(w);
    return st;
}

vd_status vd_vae_config_from_file(vd_vae_config *c, const vd_st_file *f, const char *path,
                                  vd_error *err) {
    const char *text = vd_st_metadata(f, CONFIG_KEY);
    if (!text)
        return vd_fail(err, VD_ERR_FORMAT, "vae: %s: no \"%s\" metadata (not a vidit VAE file)",
                       path, CONFIG_KEY);
    vd_json *j = vd_json_parse(text, strlen(text), path, err);
    if (!j) return vd_fail_prefix(err, VD_ERR_FORMAT, "vae: %s: config: ", path);
    vd_vae_config_default(c);
    vd_status st = vd_vae_config_from_json(c, j, err);
    vd_json_free(j);
    if (st) return vd_fail_prefix(err, st, "vae: %s: ", path);
    return VD_OK;
}

vd_status vd_vae_load(vd_vae **out, const char *path, const vd_allocator *allocator,
                      vd_error *err) {
    *out = NULL;
    vd_st_file *f = NULL;
    vd_status st = vd_st_open(&f, path, err);
    if (st) return st;
    vd_vae_config c;
    vd_vae *v = NULL;
    if (!(st = vd_vae_config_from_file(&c, f, path, err)) &&
        !(st = vd_vae_new(&v, &c, 0, 0, allocator, err))) {
        st = vd_params_load(v->params, NULL, f, "", err);
        if (st) {
            vd_fail_prefix(err, st, "vae: %s: ", path);
        } else if (vd_st_find(f, "latent.mean")) {
            int64_t shape[1] = {c.latent_channels};
            st = vd_st_load_f32(f, "latent.mean", v->lmean, 1, shape, err);
            if (!st) st = vd_st_load_f32(f, "latent.std", v->lstd, 1, shape, err);
            if (st)
                vd_fail_prefix(err, st, "vae: %s: ", path);
            else
                v->has_stats = 1;
        }
    }
    vd_st_close(f);
    if (st) {
        vd_vae_free(v);
        return st;
    }
    *out = v;
    return VD_OK;
}

void vd_vae_from_rgb(float *x, const uint8_t *rgb, int T, int H, int W) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < T; t++) {
            const uint8_t *src = rgb + (size_t)t * plane * 3;
            float *dst = x + ((size_t)c * T + t) * plane;
            for (size_t i = 0; i < plane; i++) dst[i] = src[i * 3 + c] * (2.0f / 255.0f) - 1.0f;
        }
}

void vd_vae_to_rgb(uint8_t *rgb, const float *x, int T, int H, int W) {
    size_t plane = (size_t)H * W;
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < T; t++) {
            const float *src = x + ((size_t)c * T + t) * plane;
            uint8_t *dst = rgb + (size_t)t * plane * 3;
            for (size_t i = 0; i < plane; i++) {
                float v = (src[i] + 1.0f) * 127.5f;
                v = v < 0.0f ? 0.0f : v > 255.0f ? 255.0f : v;
                dst[i * 3 + c] = (uint8_t)lrintf(v);
            }
        }
}

double vd_psnr_u8(const uint8_t *a, const uint8_t *b, size_t n) {
    double se = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        se += d * d;
    }
    if (se == 0.0) return INFINITY;
    return 10.0 * log10(255.0 * 255.0 * (double)n / se);
}

int vd_psnr_latent_frames(const uint8_t *a, const uint8_t *b, int frames, int h, int w, int tc,
                          double *psnr, int max) {
    size_t frame_bytes = (size_t)h * w * 3;
    int groups = 0;
    for (int f0 = 0; f0 < frames; groups++) {
        int nf = f0 == 0 ? 1 : (frames - f0 < tc ? frames - f0 : tc);
        if (groups < max)
            psnr[groups] = vd_psnr_u8(a + f0 * frame_bytes, b + f0 * frame_bytes,
                                      (size_t)nf * frame_bytes);
        f0 += nf;
    }
    return groups;
}

double vd_ssim_rgb(const uint8_t *a, const uint8_t *b, int frames, int h, int w) {
    if (h < 8 || w < 8 || frames < 1) return NAN;
    const double C1 = (0.01 * 255) * (0.01 * 255), C2 = (0.03 * 255) * (0.03 * 255);
    double total = 0.0;
    long count = 0;
    for (int t = 0; t < frames; t++) {
        const uint8_t *fa = a + (size_t)t * h * w * 3, *fb = b + (size_t)t * h * w * 3;
        for (int y0 = 0; y0 + 8 <= h; y0 += 4)
            for (int x0 = 0; x0 + 8 <= w; x0 += 4) {
                double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
                for (int y = y0; y < y0 + 8; y++)
                    for (int x = x0; x < x0 + 8; x++) {
                        const uint8_t *pa = fa + ((size_t)y * w + x) * 3;
                        const uint8_t *pb = fb + ((size_t)y * w + x) * 3;
                        double la = 0.299 * pa[0] + 0.587 * pa[1] + 0.114 * pa[2];
                        double lb = 0.299 * pb[0] + 0.587 * pb[1] + 0.114 * pb[2];
                        sa += la;
                        sb += lb;
                        saa += la * la;
                        sbb += lb * lb;
                        sab += la * lb;
                    }
                double ma = sa / 64, mb = sb / 64;
                /* Sample (co)variances, as the reference implementation. */
                double va = (saa - 64 * ma * ma) / 63, vb = (sbb - 64 * mb * mb) / 63;
                double cov = (sab - 64 * ma * mb) / 63;
                total += ((2 * ma * mb + C1) * (2 * cov + C2)) /
                         ((ma * ma + mb * mb + C1) * (va + vb + C2));
                count++;
            }
    }
    return total / (double)count;
}

int vd_vae_still_drift(vd_vae *vae, const float *x, int T, int H, int W, double *drift, int max,
                       vd_arena *ws, vd_error *err) {
    if (T < 1 || H < 1 || W < 1) {
        vd_fail(err, VD_ERR_ARG, "vae: still drift: %dx%dx%d video", T, H, W);
        return -1;
    }
    int Tl, Hl, Wl;
    vd_vae_latent_shape(vae, T, H, W, &Tl, &Hl, &Wl);
    const int Z = vae->cfg.latent_channels;
    const size_t plane = (size_t)H * W, lplane = (size_t)Hl * Wl;
    float *still = malloc((size_t)3 * T * plane * sizeof *still);
    float *z = malloc((size_t)Z * Tl * lplane * sizeof *z);
    int steps = -1;
    if (!still || !z) {
        vd_fail(err, VD_ERR_NOMEM, "vae: still drift: out of memory");
        goto done;
    }
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < T; t++)
            memcpy(still + ((size_t)c * T + t) * plane, x + (size_t)c * T * plane,
                   plane * sizeof *still);
    if (vd_vae_encode(vae, still, 1, T, H, W, z, ws, err)) goto done;
    /* In the units a diffusion model sees: each channel over its stored
     * spread (or, without statistics, the latent's own rms). */
    double sq = 0;
    const size_t nz = (size_t)Z * Tl * lplane;
    for (size_t i = 0; i < nz; i++) sq += (double)z[i] * z[i];
    const double rms = sqrt(sq / (double)nz);
    steps = Tl >= 3 ? Tl - 2 : 0;
    for (int j = 0; j < steps && j < max; j++) {
        double d = 0;
        for (int c = 0; c < Z; c++) {
            const double scale = vae->has_stats ? (double)vae->lstd[c] : rms;
            const float *a = z + ((size_t)c * Tl + j + 1) * lplane, *b = a + lplane;
            double dc = 0;
            for (size_t i = 0; i < lplane; i++) dc += fabs((double)b[i] - a[i]);
            d += scale > 0 ? dc / scale : 0.0;
        }
        drift[j] = d / ((double)Z * lplane);
    }
done:
    free(still);
    free(z);
    return steps;
}
