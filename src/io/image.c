/* Pixel-level helpers of the video module: the vd_video container, colour
 * conversion and resampling. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libavutil/error.h>
#include <libavutil/log.h>

#include "core/alloc.h"
#include "core/error.h"
#include "io/video_internal.h"

vd_status vd_video_alloc(vd_video *v, int frames, int width, int height, double fps,
                         vd_error *err) {
    memset(v, 0, sizeof *v);
    if (frames < 1 || width < 1 || height < 1 || !(fps > 0) || !isfinite(fps))
        return vd_fail(err, VD_ERR_ARG, "video: bad size %dx%dx%d at %g fps", frames, width,
                       height, fps);
    size_t bytes;
    if (!vd_size_mul((size_t)frames, (size_t)width, &bytes) ||
        !vd_size_mul(bytes, (size_t)height, &bytes) || !vd_size_mul(bytes, 3, &bytes))
        return vd_fail(err, VD_ERR_NOMEM, "video: %dx%dx%d frames overflow memory", frames,
                       width, height);
    v->rgb = vd_calloc(NULL, bytes, 1);
    if (!v->rgb)
        return vd_fail(err, VD_ERR_NOMEM, "video: out of memory for %zu bytes of frames",
                       bytes);
    v->frames = frames;
    v->width = width;
    v->height = height;
    v->fps = fps;
    return VD_OK;
}

void vd_video_free(vd_video *v) {
    if (!v) return;
    vd_free(NULL, v->rgb);
    memset(v, 0, sizeof *v);
}

void vd_video_write_opts_default(vd_video_write_opts *o) {
    o->scale = 1;
    o->quality = 90;
}

void vd_video_read_opts_default(vd_video_read_opts *o) { memset(o, 0, sizeof *o); }

void vd_io_av_quiet(void) { av_log_set_level(AV_LOG_QUIET); }

const char *vd_io_av_err(int code, char *buf, size_t size) {
    if (av_strerror(code, buf, size) < 0) snprintf(buf, size, "FFmpeg error %d", code);
    return buf;
}

const char *vd_io_extension(const char *path, char *buf, size_t size) {
    const char *slash = strrchr(path, '/');
    const char *dot = strrchr(slash ? slash + 1 : path, '.');
    size_t n = 0;
    if (dot)
        for (const char *p = dot + 1; *p && n + 1 < size; p++)
            buf[n++] = (char)tolower((unsigned char)*p);
    buf[n] = '\0';
    return buf;
}

/* Fixed point (16 fractional bits) BT.601 coefficients, so that every
 * machine produces the same bytes. Full range: Y in 0..255, Cb/Cr centred on
 * 128 with excursion +-127.5; limited range scales those by 219/255 and
 * 224/255 and adds 16. */
static const int32_t k601[3][3] = {
    {19595, 38470, 7471},   /* 0.299, 0.587, 0.114 */
    {-11058, -21710, 32768}, /* -0.168736, -0.331264, 0.5 */
    {32768, -27439, -5329},  /* 0.5, -0.418688, -0.081312 */
};

static inline uint8_t clamp_u8(int64_t x) { return (uint8_t)(x < 0 ? 0 : x > 255 ? 255 : x); }

/* s holds sums of `n` RGB samples; returns Y, Cb or Cr of their mean. */
static inline uint8_t to_plane(int plane, const int32_t s[3], int n, int full) {
    int64_t acc = (int64_t)k601[plane][0] * s[0] + (int64_t)k601[plane][1] * s[1] +
                  (int64_t)k601[plane][2] * s[2];
    /* acc / (n << 16) is the component of the mean in 0..255 units. */
    int64_t den = (int64_t)n << 16;
    if (!full) {
        acc *= plane == 0 ? 219 : 224;
        den *= 255;
    }
    int64_t off = plane == 0 ? (full ? 0 : 16) : 128;
    /* Rounds half away from zero, symmetric for the signed chroma. */
    int64_t q = acc >= 0 ? (acc + den / 2) / den : -((-acc + den / 2) / den);
    return clamp_u8(q + off);
}

void vd_io_rgb_to_yuv(const uint8_t *rgb, int w, int h, int pw, int ph, int full_range,
                      int chroma420, uint8_t *y, int y_stride, uint8_t *u, uint8_t *v,
                      int c_stride) {
    for (int j = 0; j < ph; j++) {
        const uint8_t *row = rgb + (size_t)(j < h ? j : h - 1) * (size_t)w * 3;
        for (int i = 0; i < pw; i++) {
            const uint8_t *p = row + (size_t)(i < w ? i : w - 1) * 3;
            int32_t s[3] = {p[0], p[1], p[2]};
            y[(size_t)j * (size_t)y_stride + (size_t)i] = to_plane(0, s, 1, full_range);
            if (!chroma420) {
                u[(size_t)j * (size_t)c_stride + (size_t)i] = to_plane(1, s, 1, full_range);
                v[(size_t)j * (size_t)c_stride + (size_t)i] = to_plane(2, s, 1, full_range);
            }
        }
    }
    if (!chroma420) return;
    for (int j = 0; j < (ph + 1) / 2; j++)
        for (int i = 0; i < (pw + 1) / 2; i++) {
            int32_t s[3] = {0, 0, 0};
            for (int dy = 0; dy < 2; dy++)
                for (int dx = 0; dx < 2; dx++) {
                    int yy = 2 * j + dy, xx = 2 * i + dx;
                    if (yy >= h) yy = h - 1;
                    if (xx >= w) xx = w - 1;
                    const uint8_t *p = rgb + ((size_t)yy * (size_t)w + (size_t)xx) * 3;
                    s[0] += p[0];
                    s[1] += p[1];
                    s[2] += p[2];
                }
            u[(size_t)j * (size_t)c_stride + (size_t)i] = to_plane(1, s, 4, full_range);
            v[(size_t)j * (size_t)c_stride + (size_t)i] = to_plane(2, s, 4, full_range);
        }
}

/* One axis of a resampling: output i reads taps[first[i] .. first[i]+count[i]) */
typedef struct axis_filter {
    int *first, *count;
    float *weight; /* out * width entries */
    int width;
} axis_filter;

static void axis_free(axis_filter *f) {
    vd_free(NULL, f->first);
    vd_free(NULL, f->count);
    vd_free(NULL, f->weight);
}

static int axis_build(axis_filter *f, int in, int out) {
    double s = (double)in / (double)out;
    f->width = s > 1 ? (int)ceil(s) + 1 : 2;
    f->first = vd_calloc(NULL, (size_t)out, sizeof *f->first);
    f->count = vd_calloc(NULL, (size_t)out, sizeof *f->count);
    f->weight = vd_calloc(NULL, (size_t)out * (size_t)f->width, sizeof *f->weight);
    if (!f->first || !f->count || !f->weight) return 0;
    for (int o = 0; o < out; o++) {
        float *w = f->weight + (size_t)o * (size_t)f->width;
        if (s > 1) {
            /* Shrinking: output pixel o covers [o*s, (o+1)*s) of the input. */
            double a = o * s, b = (o + 1) * s;
            int i0 = (int)floor(a), n = 0;
            f->first[o] = i0;
            for (int i = i0; i < in && i < b && n < f->width; i++) {
                double lo = i > a ? i : a, hi = i + 1 < b ? i + 1 : b;
                w[n++] = (float)((hi - lo) / s);
            }
            f->count[o] = n;
        } else {
            double x = (o + 0.5) * s - 0.5;
            if (x < 0) x = 0;
            if (x > in - 1) x = in - 1;
            int i0 = (int)floor(x);
            double t = x - i0;
            f->first[o] = i0;
            f->count[o] = i0 + 1 < in ? 2 : 1;
            w[0] = (float)(f->count[o] == 2 ? 1 - t : 1);
            w[1] = (float)t;
        }
    }
    return 1;
}

vd_status vd_io_resize_rgb(const uint8_t *src, int sw, int cx, int cy, int cw, int ch,
                           uint8_t *dst, int ow, int oh, vd_error *err) {
    if (cw == ow && ch == oh) {
        for (int j = 0; j < oh; j++)
            memcpy(dst + (size_t)j * (size_t)ow * 3,
                   src + ((size_t)(cy + j) * (size_t)sw + (size_t)cx) * 3, (size_t)ow * 3);
        return VD_OK;
    }
    axis_filter fx = {0}, fy = {0};
    float *tmp = vd_calloc(NULL, (size_t)ch * (size_t)ow * 3, sizeof(float));
    vd_status st = VD_OK;
    if (!tmp || !axis_build(&fx, cw, ow) || !axis_build(&fy, ch, oh)) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: out of memory resizing %dx%d to %dx%d", cw, ch,
                     ow, oh);
        goto done;
    }
    for (int j = 0; j < ch; j++) {
        const uint8_t *row = src + ((size_t)(cy + j) * (size_t)sw + (size_t)cx) * 3;
        float *t = tmp + (size_t)j * (size_t)ow * 3;
        for (int o = 0; o < ow; o++) {
            const float *w = fx.weight + (size_t)o * (size_t)fx.width;
            float acc[3] = {0, 0, 0};
            for (int k = 0; k < fx.count[o]; k++) {
                const uint8_t *p = row + (size_t)(fx.first[o] + k) * 3;
                acc[0] += w[k] * p[0];
                acc[1] += w[k] * p[1];
                acc[2] += w[k] * p[2];
            }
            t[o * 3 + 0] = acc[0];
            t[o * 3 + 1] = acc[1];
            t[o * 3 + 2] = acc[2];
        }
    }
    for (int o = 0; o < oh; o++) {
        const float *w = fy.weight + (size_t)o * (size_t)fy.width;
        uint8_t *d = dst + (size_t)o * (size_t)ow * 3;
        for (int i = 0; i < ow * 3; i++) {
            float acc = 0;
            for (int k = 0; k < fy.count[o]; k++)
                acc += w[k] * tmp[(size_t)(fy.first[o] + k) * (size_t)ow * 3 + (size_t)i];
            d[i] = clamp_u8(lrintf(acc));
        }
    }
done:
    vd_free(NULL, tmp);
    axis_free(&fx);
    axis_free(&fy);
    return st;
}
