/* vd_video_read and vd_video_probe: decode with libavformat/libavcodec,
 * convert to RGB with swscale at the source size, then crop, resize and
 * resample in our own code (io/image.c) so that geometry does not depend on
 * swscale's internal colour handling.
 *
 * Frames stream through: each decoded frame is converted and either stored
 * or dropped at once, and decoding stops as soon as max_frames are stored,
 * so reading the first frames of a long video is cheap. */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>
#include <libavutil/pixdesc.h>
#include <libswscale/swscale.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "io/video_internal.h"

typedef struct reader {
    const char *path; /* what the caller asked for, named in errors */
    vd_video_read_opts o;
    int probe;
    int have_geom, sw, sh;     /* source size */
    int ow, oh, cx, cy, cw, ch; /* output size and the source crop */
    double src_fps;
    int synthetic_t; /* images and folders: frame i is at i / src_fps */
    int resample;
    uint8_t *cur, *prev; /* source-size RGB */
    int have_prev;
    double t0, prev_t;
    int64_t k;       /* next output sample when resampling */
    int64_t emitted; /* samples produced, skipped ones included */
    int64_t decoded;
    uint8_t *rgb;
    int frames, cap;
    int done;
    struct SwsContext *sws;
    int sws_key[6];
} reader;

static vd_status set_geometry(reader *r, int sw, int sh, vd_error *err) {
    if (sw < 1 || sh < 1 || sw > VD_VIDEO_MAX_SIDE || sh > VD_VIDEO_MAX_SIDE)
        return vd_fail(err, VD_ERR_FORMAT, "video: %s: frame size %dx%d is out of range (1..%d)",
                       r->path, sw, sh, VD_VIDEO_MAX_SIDE);
    if (r->have_geom) {
        if (sw != r->sw || sh != r->sh)
            return vd_fail(err, VD_ERR_FORMAT,
                           "video: %s: frame size changes from %dx%d to %dx%d at frame %lld",
                           r->path, r->sw, r->sh, sw, sh, (long long)r->decoded);
        return VD_OK;
    }
    r->have_geom = 1;
    r->sw = sw;
    r->sh = sh;
    int W = r->o.width, H = r->o.height;
    r->cx = r->cy = 0;
    r->cw = sw;
    r->ch = sh;
    if (W && H && r->o.crop) {
        /* Centre crop to W:H, comparing sw/sh with W/H without division. */
        if ((int64_t)sw * H > (int64_t)sh * W) {
            r->cw = (int)llround((double)sh * W / H);
            if (r->cw < 1) r->cw = 1;
        } else {
            r->ch = (int)llround((double)sw * H / W);
            if (r->ch < 1) r->ch = 1;
        }
        r->cx = (sw - r->cw) / 2;
        r->cy = (sh - r->ch) / 2;
    }
    r->ow = W ? W : H ? (int)llround((double)sw * H / sh) : sw;
    r->oh = H ? H : W ? (int)llround((double)sh * W / sw) : sh;
    if (r->ow < 1) r->ow = 1;
    if (r->oh < 1) r->oh = 1;
    if (r->ow > VD_VIDEO_MAX_SIDE || r->oh > VD_VIDEO_MAX_SIDE)
        return vd_fail(err, VD_ERR_ARG, "video: %s: output size %dx%d is out of range (1..%d)",
                       r->path, r->ow, r->oh, VD_VIDEO_MAX_SIDE);
    if (r->probe) return VD_OK;
    /* swscale may write a little past the last pixel with SIMD. */
    size_t bytes = (size_t)sw * (size_t)sh * 3 + 64;
    r->cur = vd_alloc(NULL, bytes);
    r->prev = vd_alloc(NULL, bytes);
    if (!r->cur || !r->prev)
        return vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory for %dx%d frames", r->path,
                       sw, sh);
    return VD_OK;
}

/* Stores (or skips) one output frame made from a source-size image. */
static vd_status emit(reader *r, const uint8_t *img, vd_error *err) {
    if (r->emitted++ < r->o.start_frame) return VD_OK;
    size_t frame_bytes = (size_t)r->ow * (size_t)r->oh * 3;
    if (r->frames == r->cap) {
        int cap = r->cap ? r->cap * 2 : 16;
        if (r->o.max_frames && cap > r->o.max_frames) cap = r->o.max_frames;
        if ((size_t)cap * frame_bytes > VD_VIDEO_MAX_BYTES) {
            cap = (int)(VD_VIDEO_MAX_BYTES / frame_bytes);
            if (cap <= r->frames)
                return vd_fail(err, VD_ERR_ARG,
                               "video: %s: more than %zu MiB of %dx%d frames (limit the frames or the size)",
                               r->path, VD_VIDEO_MAX_BYTES >> 20, r->ow, r->oh);
        }
        uint8_t *grown = vd_alloc(NULL, (size_t)cap * frame_bytes);
        if (!grown)
            return vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory for %d frames", r->path, cap);
        if (r->frames) memcpy(grown, r->rgb, (size_t)r->frames * frame_bytes);
        vd_free(NULL, r->rgb);
        r->rgb = grown;
        r->cap = cap;
    }
    vd_status st = vd_io_resize_rgb(img, r->sw, r->cx, r->cy, r->cw, r->ch,
                                    r->rgb + (size_t)r->frames * frame_bytes, r->ow, r->oh, err);
    if (st != VD_OK) return vd_fail_prefix(err, st, "%s: ", r->path);
    r->frames++;
    if (r->o.max_frames && r->frames >= r->o.max_frames) r->done = 1;
    return VD_OK;
}

/* Nearest frame in time: output sample k (at t0 + k / fps) takes the source
 * frame whose timestamp is closest, the earlier one on a tie. A frame's
 * samples are known once the next frame's time is. */
static vd_status submit(reader *r, double t, vd_error *err) {
    if (!r->resample) return emit(r, r->cur, err);
    uint8_t *swap;
    if (r->have_prev) {
        if (t < r->prev_t) t = r->prev_t;
        double mid = 0.5 * (r->prev_t + t);
        while (!r->done && r->t0 + (double)r->k / r->o.fps <= mid + 1e-9) {
            vd_status st = emit(r, r->prev, err);
            if (st != VD_OK) return st;
            r->k++;
        }
    } else {
        r->t0 = t;
        r->have_prev = 1;
    }
    r->prev_t = t;
    swap = r->prev;
    r->prev = r->cur;
    r->cur = swap;
    return VD_OK;
}

static vd_status finish(reader *r, vd_error *err) {
    if (!r->resample || !r->have_prev) return VD_OK;
    double end = r->prev_t + 1.0 / r->src_fps;
    while (!r->done && r->t0 + (double)r->k / r->o.fps < end - 1e-9) {
        vd_status st = emit(r, r->prev, err);
        if (st != VD_OK) return st;
        r->k++;
    }
    return VD_OK;
}

static int sws_colorspace(const AVFrame *f) {
    switch (f->colorspace) {
    case AVCOL_SPC_BT709: return SWS_CS_ITU709;
    case AVCOL_SPC_FCC: return SWS_CS_FCC;
    case AVCOL_SPC_SMPTE240M: return SWS_CS_SMPTE240M;
    case AVCOL_SPC_BT2020_NCL:
    case AVCOL_SPC_BT2020_CL: return SWS_CS_BT2020;
    default: return SWS_CS_ITU601;
    }
}

/* Chroma is upsampled from the nearest sample (SWS_POINT; luma is never
 * scaled here): with the writer's centred 2x2 averages this repeats each
 * sample over its own block, the exact inverse, which on the flat colours of
 * the toy world is measurably closer to the original than bilinear chroma
 * (53 vs 31 dB on an mp4 at quality 90 whose edges fall on even pixels). */
static vd_status frame_in(reader *r, AVFrame *f, double t, vd_error *err) {
    vd_status st = set_geometry(r, f->width, f->height, err);
    if (st != VD_OK) return st;
    r->decoded++;
    if (r->probe) return VD_OK;
    int full = f->color_range == AVCOL_RANGE_JPEG;
    /* Unspecified siting is MPEG-2's "left", the H.264 default. */
    int loc = f->chroma_location == AVCHROMA_LOC_UNSPECIFIED ? AVCHROMA_LOC_LEFT : f->chroma_location;
    int key[6] = {f->width, f->height, f->format, sws_colorspace(f), full, loc};
    if (!r->sws || memcmp(key, r->sws_key, sizeof key) != 0) {
        sws_freeContext(r->sws);
        /* Horizontally, chroma is taken as centred on its two pixels whatever
         * the file declares: swscale-made files are averaged that way but
         * tagged "left" (x264's default), and measured on both kinds this
         * reads closest to the source; vertical siting follows the file. */
        int xpos = 128, ypos = 128;
        avcodec_enum_to_chroma_pos(&xpos, &ypos, loc);
        xpos = 128;
        const AVPixFmtDescriptor *desc = av_pix_fmt_desc_get(f->format);
        int sub_w = desc && desc->log2_chroma_w, sub_h = desc && desc->log2_chroma_h;
        r->sws = sws_alloc_context();
        int ok = r->sws != NULL;
        if (ok) {
            av_opt_set_int(r->sws, "srcw", f->width, 0);
            av_opt_set_int(r->sws, "srch", f->height, 0);
            av_opt_set_int(r->sws, "src_format", f->format, 0);
            av_opt_set_int(r->sws, "dstw", f->width, 0);
            av_opt_set_int(r->sws, "dsth", f->height, 0);
            av_opt_set_int(r->sws, "dst_format", AV_PIX_FMT_RGB24, 0);
            av_opt_set_int(r->sws, "sws_flags", SWS_POINT | SWS_ACCURATE_RND | SWS_FULL_CHR_H_INT, 0);
            if (sub_w) av_opt_set_int(r->sws, "src_h_chr_pos", xpos, 0);
            if (sub_h) av_opt_set_int(r->sws, "src_v_chr_pos", ypos, 0);
            ok = sws_init_context(r->sws, NULL, NULL) >= 0;
        }
        if (!ok) {
            sws_freeContext(r->sws);
            r->sws = NULL;
            return vd_fail(err, VD_ERR_UNSUPPORTED, "video: %s: cannot convert pixel format %s to RGB",
                           r->path, av_get_pix_fmt_name(f->format));
        }
        int *inv, src_range, *tab, dst_range, bri, con, sat;
        if (sws_getColorspaceDetails(r->sws, &inv, &src_range, &tab, &dst_range, &bri, &con, &sat) >= 0)
            sws_setColorspaceDetails(r->sws, sws_getCoefficients(key[3]), full || src_range, tab, 1,
                                     bri, con, sat);
        memcpy(r->sws_key, key, sizeof key);
    }
    uint8_t *dst[4] = {r->cur, NULL, NULL, NULL};
    int stride[4] = {r->sw * 3, 0, 0, 0};
    if (sws_scale(r->sws, (const uint8_t *const *)f->data, f->linesize, 0, f->height, dst, stride) != f->height)
        return vd_fail(err, VD_ERR_INTERNAL, "video: %s: colour conversion failed", r->path);
    return submit(r, t, err);
}

static vd_status av_error(reader *r, vd_error *err, vd_status code, const char *file,
                          const char *what, int ret) {
    char buf[128];
    if (file == r->path || !strcmp(file, r->path))
        return vd_fail(err, code, "video: %s: %s (%s)", r->path, what, vd_io_av_err(ret, buf, sizeof buf));
    return vd_fail(err, code, "video: %s: %s: %s (%s)", r->path, file, what,
                   vd_io_av_err(ret, buf, sizeof buf));
}

/* Decodes one file; with `image` set, only its first frame (a member of a
 * frame folder). */
static vd_status decode_file(reader *r, const char *file, int image, vd_error *err) {
    AVFormatContext *ic = NULL;
    AVCodecContext *cc = NULL;
    AVPacket *pkt = av_packet_alloc();
    AVFrame *frame = av_frame_alloc();
    vd_status st = VD_OK;
    int ret, corrupt = 0;
    int64_t first = r->decoded;
    if (!pkt || !frame) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", r->path);
        goto done;
    }
    ret = avformat_open_input(&ic, file, NULL, NULL);
    if (ret < 0) {
        st = av_error(r, err, ret == AVERROR(ENOENT) ? VD_ERR_IO : VD_ERR_FORMAT, file,
                      "not a video or image FFmpeg can read", ret);
        goto done;
    }
    ret = avformat_find_stream_info(ic, NULL);
    if (ret < 0) {
        st = av_error(r, err, VD_ERR_FORMAT, file, "cannot read stream information (corrupt or truncated?)", ret);
        goto done;
    }
    const AVCodec *dec = NULL;
    int idx = av_find_best_stream(ic, AVMEDIA_TYPE_VIDEO, -1, -1, &dec, 0);
    if (idx < 0 || !dec) {
        st = av_error(r, err, VD_ERR_FORMAT, file,
                      idx == AVERROR_DECODER_NOT_FOUND ? "no decoder for its video codec" : "holds no video stream", idx);
        goto done;
    }
    AVStream *stream = ic->streams[idx];
    if ((st = set_geometry(r, stream->codecpar->width, stream->codecpar->height, err)) != VD_OK) goto done;
    const char *fmt = ic->iformat->name;
    size_t flen = strlen(fmt);
    if (image || !strcmp(fmt, "image2") || (flen > 5 && !strcmp(fmt + flen - 5, "_pipe"))) {
        image = 1;
        r->synthetic_t = 1;
        r->src_fps = r->o.fps > 0 ? r->o.fps : VD_VIDEO_DEFAULT_FPS;
    } else if (!r->src_fps) {
        AVRational fr = av_guess_frame_rate(ic, stream, NULL);
        r->src_fps = fr.num > 0 && fr.den > 0 ? av_q2d(fr) : VD_VIDEO_DEFAULT_FPS;
        r->resample = r->o.fps > 0 && !r->probe;
    }
    cc = avcodec_alloc_context3(dec);
    if (!cc) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", r->path);
        goto done;
    }
    ret = avcodec_parameters_to_context(cc, stream->codecpar);
    if (ret >= 0) {
        cc->thread_count = 1;
        ret = avcodec_open2(cc, dec, NULL);
    }
    if (ret < 0) {
        st = av_error(r, err, VD_ERR_FORMAT, file, "cannot open the decoder", ret);
        goto done;
    }
    double tb = av_q2d(stream->time_base);
    int eof = 0;
    while (!r->done && !(image && r->decoded > first)) {
        if (!eof) {
            ret = av_read_frame(ic, pkt);
            if (ret == AVERROR_EOF) {
                eof = 1;
                ret = avcodec_send_packet(cc, NULL);
            } else if (ret < 0) {
                st = av_error(r, err, VD_ERR_FORMAT, file, "truncated or corrupt: read failed", ret);
                goto done;
            } else {
                if (pkt->stream_index != idx) {
                    av_packet_unref(pkt);
                    continue;
                }
                if (pkt->flags & AV_PKT_FLAG_CORRUPT) corrupt = 1;
                ret = avcodec_send_packet(cc, pkt);
                av_packet_unref(pkt);
            }
            if (ret < 0 && ret != AVERROR(EAGAIN) && ret != AVERROR_EOF) {
                st = av_error(r, err, VD_ERR_FORMAT, file, "truncated or corrupt: decoding failed", ret);
                goto done;
            }
        }
        for (;;) {
            ret = avcodec_receive_frame(cc, frame);
            if (ret == AVERROR(EAGAIN)) break;
            if (ret == AVERROR_EOF) goto drained;
            if (ret < 0) {
                st = av_error(r, err, VD_ERR_FORMAT, file, "truncated or corrupt: decoding failed", ret);
                goto done;
            }
            double t;
            if (r->synthetic_t || frame->best_effort_timestamp == AV_NOPTS_VALUE)
                t = (double)r->decoded / r->src_fps;
            else
                t = (double)frame->best_effort_timestamp * tb;
            st = frame_in(r, frame, t, err);
            av_frame_unref(frame);
            if (st != VD_OK) goto done;
            if (r->done || (image && r->decoded > first)) break;
        }
    }
drained:
    if (!r->done && !image) {
        if (corrupt || (stream->nb_frames > 0 && r->decoded - first < stream->nb_frames)) {
            st = vd_fail(err, VD_ERR_FORMAT, "video: %s: truncated or corrupt: decoded %lld of %lld frames",
                         r->path, (long long)(r->decoded - first), (long long)stream->nb_frames);
            goto done;
        }
    }
    if (r->decoded == first)
        st = vd_fail(err, VD_ERR_FORMAT, "video: %s: no frames could be decoded", file);
done:
    av_frame_free(&frame);
    av_packet_free(&pkt);
    avcodec_free_context(&cc);
    avformat_close_input(&ic);
    return st;
}

static int has_image_ext(const char *name) {
    char ext[8];
    vd_io_extension(name, ext, sizeof ext);
    return !strcmp(ext, "png") || !strcmp(ext, "jpg") || !strcmp(ext, "jpeg");
}

static int cmp_names(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A folder of frames, in the byte order of their names. */
static vd_status decode_folder(reader *r, vd_error *err) {
    DIR *d = opendir(r->path);
    if (!d) return vd_fail(err, VD_ERR_IO, "video: %s: cannot open folder: %s", r->path, strerror(errno));
    char **names = NULL;
    size_t n = 0, cap = 0;
    vd_status st = VD_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.' || !has_image_ext(e->d_name)) continue;
        if (n == cap) {
            size_t nc = cap ? cap * 2 : 64;
            char **grown = vd_alloc(NULL, nc * sizeof *grown);
            if (!grown) {
                st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory listing frames", r->path);
                break;
            }
            if (n) memcpy(grown, names, n * sizeof *names);
            vd_free(NULL, names);
            names = grown;
            cap = nc;
        }
        size_t len = strlen(e->d_name) + 1;
        names[n] = vd_alloc(NULL, len);
        if (!names[n]) {
            st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory listing frames", r->path);
            break;
        }
        memcpy(names[n++], e->d_name, len);
    }
    closedir(d);
    if (st == VD_OK && n == 0)
        st = vd_fail(err, VD_ERR_FORMAT, "video: %s: folder holds no .png/.jpg frames", r->path);
    if (st == VD_OK) qsort(names, n, sizeof *names, cmp_names);
    vd_strbuf file;
    vd_strbuf_init(&file);
    for (size_t i = 0; st == VD_OK && i < n && !r->done; i++) {
        vd_strbuf_clear(&file);
        vd_strbuf_printf(&file, "%s/%s", r->path, names[i]);
        if (file.failed)
            st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", r->path);
        else
            st = decode_file(r, file.data, 1, err);
    }
    vd_strbuf_free(&file);
    for (size_t i = 0; i < n; i++) vd_free(NULL, names[i]);
    vd_free(NULL, names);
    return st;
}

static vd_status run(reader *r, vd_error *err) {
    vd_io_av_quiet();
    const vd_video_read_opts *o = &r->o;
    if (o->width < 0 || o->height < 0 || o->width > VD_VIDEO_MAX_SIDE || o->height > VD_VIDEO_MAX_SIDE ||
        !(o->fps >= 0) || !isfinite(o->fps) || o->max_frames < 0 || o->start_frame < 0)
        return vd_fail(err, VD_ERR_ARG,
                       "video: %s: bad read options (size %dx%d, fps %g, max_frames %d, start_frame %d)",
                       r->path, o->width, o->height, o->fps, o->max_frames, o->start_frame);
    struct stat sb;
    if (stat(r->path, &sb) != 0)
        return vd_fail(err, VD_ERR_IO, "video: %s: %s", r->path, strerror(errno));
    vd_status st = S_ISDIR(sb.st_mode) ? decode_folder(r, err) : decode_file(r, r->path, 0, err);
    if (st == VD_OK) st = finish(r, err);
    return st;
}

static void reader_free(reader *r) {
    vd_free(NULL, r->cur);
    vd_free(NULL, r->prev);
    vd_free(NULL, r->rgb);
    sws_freeContext(r->sws);
}

vd_status vd_video_read(const char *path, const vd_video_read_opts *o, vd_video *out,
                        vd_error *err) {
    memset(out, 0, sizeof *out);
    if (!path || !*path) return vd_fail(err, VD_ERR_ARG, "video: no input path");
    reader r = {0};
    r.path = path;
    if (o)
        r.o = *o;
    else
        vd_video_read_opts_default(&r.o);
    vd_status st = run(&r, err);
    if (st == VD_OK && r.frames == 0)
        st = vd_fail(err, VD_ERR_FORMAT, "video: %s: no frames left after skipping %d of %lld",
                     path, r.o.start_frame, (long long)r.emitted);
    if (st == VD_OK) {
        out->frames = r.frames;
        out->width = r.ow;
        out->height = r.oh;
        out->fps = r.resample ? r.o.fps : r.src_fps;
        out->rgb = r.rgb;
        r.rgb = NULL;
    }
    reader_free(&r);
    return st;
}

vd_status vd_video_probe(const char *path, vd_video_info *info, vd_error *err) {
    memset(info, 0, sizeof *info);
    if (!path || !*path) return vd_fail(err, VD_ERR_ARG, "video: no input path");
    reader r = {0};
    r.path = path;
    r.probe = 1;
    vd_video_read_opts_default(&r.o);
    vd_status st = run(&r, err);
    if (st == VD_OK) {
        info->frames = (int)r.decoded;
        info->width = r.sw;
        info->height = r.sh;
        info->fps = r.src_fps;
    }
    reader_free(&r);
    return st;
}
