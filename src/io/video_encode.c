/* Encoding through libavcodec/libavformat: H.264 in MP4, VP9 in WebM,
 * animated GIF and single PNG images. Colour conversion to Y'CbCr is ours
 * (io/image.c, BT.601 limited range, tagged in the stream) rather than
 * swscale's, so the bytes fed to the encoder do not depend on its version. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <libavcodec/avcodec.h>
#include <libavformat/avformat.h>
#include <libavutil/opt.h>

#include "core/error.h"
#include "io/palette.h"
#include "io/video_encode.h"
#include "io/video_internal.h"

typedef struct encoder {
    AVFormatContext *oc;
    AVCodecContext *cc;
    AVStream *st;
    AVFrame *frame;
    AVPacket *pkt;
    const char *label;
    int header_written;
} encoder;

static void encoder_close(encoder *e) {
    if (e->oc) {
        if (e->oc->pb) avio_closep(&e->oc->pb);
        avformat_free_context(e->oc);
    }
    avcodec_free_context(&e->cc);
    av_frame_free(&e->frame);
    av_packet_free(&e->pkt);
    memset(e, 0, sizeof *e);
}

static vd_status av_failed(encoder *e, vd_error *err, const char *what, int code) {
    char buf[128];
    return vd_fail(err, code == AVERROR(ENOMEM) ? VD_ERR_NOMEM : VD_ERR_IO,
                   "video: %s: %s: %s", e->label, what, vd_io_av_err(code, buf, sizeof buf));
}

/* Sends one frame (NULL to flush) and writes every packet that comes out. */
static vd_status encode_send(encoder *e, AVFrame *frame, vd_error *err) {
    int ret = avcodec_send_frame(e->cc, frame);
    if (ret < 0) return av_failed(e, err, "encoding failed", ret);
    for (;;) {
        ret = avcodec_receive_packet(e->cc, e->pkt);
        if (ret == AVERROR(EAGAIN) || ret == AVERROR_EOF) return VD_OK;
        if (ret < 0) return av_failed(e, err, "encoding failed", ret);
        e->pkt->stream_index = e->st->index;
        if (e->pkt->duration <= 0) e->pkt->duration = 1;
        av_packet_rescale_ts(e->pkt, e->cc->time_base, e->st->time_base);
        ret = av_interleaved_write_frame(e->oc, e->pkt);
        av_packet_unref(e->pkt);
        if (ret < 0) return av_failed(e, err, "writing failed", ret);
    }
}

/* CRF from quality: 90 -> 18 for H.264 (visually lossless territory) and a
 * similar step for VP9, whose useful scale runs higher (0..63). */
static int crf_for(int codec, int quality) {
    double q = quality < 0 ? 0 : quality > 100 ? 100 : quality;
    double crf = codec == VD_ENC_H264 ? 18 + (90 - q) * 0.33 : 20 + (90 - q) * 0.43;
    return (int)lrint(crf);
}

vd_status vd_io_encode_stream(const char *label, const char *tmp, const vd_video *v,
                              int codec, int quality, vd_error *err) {
    static const char *const formats[] = {"mp4", "webm", "gif"};
    static const char *const encoders[] = {"libx264", "libvpx-vp9", "gif"};
    encoder e = {0};
    e.label = label;
    vd_io_palette *pal = NULL;
    AVDictionary *opts = NULL;
    vd_status st = VD_OK;
    int ret;
    vd_io_av_quiet();

    const AVCodec *codec_info = avcodec_find_encoder_by_name(encoders[codec]);
    if (!codec_info)
        return vd_fail(err, VD_ERR_UNSUPPORTED, "video: %s: FFmpeg lacks the %s encoder", label,
                       encoders[codec]);
    ret = avformat_alloc_output_context2(&e.oc, NULL, formats[codec], tmp);
    if (ret < 0 || !e.oc) {
        st = av_failed(&e, err, "cannot set up the muxer", ret < 0 ? ret : AVERROR(ENOMEM));
        goto done;
    }
    e.st = avformat_new_stream(e.oc, NULL);
    e.cc = avcodec_alloc_context3(codec_info);
    e.frame = av_frame_alloc();
    e.pkt = av_packet_alloc();
    if (!e.st || !e.cc || !e.frame || !e.pkt) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory setting up the encoder", label);
        goto done;
    }

    /* H.264 in 4:2:0 needs even sizes: odd ones are padded by repeating the
     * last column/row (the file is then one pixel wider/taller). */
    int pw = v->width, ph = v->height;
    if (codec == VD_ENC_H264) {
        pw += pw & 1;
        ph += ph & 1;
    }
    AVRational rate = av_d2q(v->fps, 1 << 20);
    e.cc->width = pw;
    e.cc->height = ph;
    e.cc->time_base = av_inv_q(rate);
    e.cc->framerate = rate;
    e.cc->thread_count = 1; /* identical bytes on every machine */
    if (codec == VD_ENC_GIF) {
        e.cc->pix_fmt = AV_PIX_FMT_PAL8;
    } else {
        e.cc->pix_fmt = AV_PIX_FMT_YUV420P;
        e.cc->color_range = AVCOL_RANGE_MPEG;
        e.cc->colorspace = AVCOL_SPC_SMPTE170M;
        e.cc->color_primaries = AVCOL_PRI_SMPTE170M;
        e.cc->color_trc = AVCOL_TRC_SMPTE170M;
        /* Our chroma samples are 2x2 averages, centred in their block. */
        e.cc->chroma_sample_location = AVCHROMA_LOC_CENTER;
        e.cc->gop_size = 250;
        char crf[16];
        snprintf(crf, sizeof crf, "%d", crf_for(codec, quality));
        av_opt_set(e.cc->priv_data, "crf", crf, 0);
        if (codec == VD_ENC_H264) {
            av_opt_set(e.cc->priv_data, "preset", "medium", 0);
            /* Same input, same bytes: one encoder thread and no lookahead
             * thread, so no decision depends on timing, and no macroblock
             * tree, whose float code was measured to give different bits
             * for the same frames depending on where its buffers landed in
             * memory (which thread encoded the video). */
            av_opt_set(e.cc->priv_data, "x264-params", "threads=1:lookahead-threads=1:mbtree=0", 0);
        } else {
            e.cc->bit_rate = 0; /* constant quality mode */
            av_opt_set(e.cc->priv_data, "deadline", "good", 0);
            av_opt_set(e.cc->priv_data, "cpu-used", "4", 0);
        }
    }
    if (e.oc->oformat->flags & AVFMT_GLOBALHEADER) e.cc->flags |= AV_CODEC_FLAG_GLOBAL_HEADER;
    /* No random container ids or version strings: same input, same bytes. */
    e.cc->flags |= AV_CODEC_FLAG_BITEXACT;
    e.oc->flags |= AVFMT_FLAG_BITEXACT;
    ret = avcodec_open2(e.cc, codec_info, NULL);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot open the encoder", ret);
        goto done;
    }
    ret = avcodec_parameters_from_context(e.st->codecpar, e.cc);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot set up the stream", ret);
        goto done;
    }
    e.st->time_base = e.cc->time_base;
    e.st->avg_frame_rate = rate;
    e.st->r_frame_rate = rate;
    ret = avio_open(&e.oc->pb, tmp, AVIO_FLAG_WRITE);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot create the file", ret);
        goto done;
    }
    if (codec == VD_ENC_H264) av_dict_set(&opts, "movflags", "+faststart", 0);
    if (codec == VD_ENC_GIF) av_dict_set(&opts, "loop", "0", 0); /* forever */
    ret = avformat_write_header(e.oc, &opts);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot write the header", ret);
        goto done;
    }
    e.header_written = 1;

    e.frame->format = e.cc->pix_fmt;
    e.frame->width = pw;
    e.frame->height = ph;
    ret = av_frame_get_buffer(e.frame, 0);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot allocate a frame", ret);
        goto done;
    }
    /* The planes' alignment padding is never written by the converter:
     * clear it so that no encoder can see stale heap bytes. */
    for (int p = 0; p < 4 && e.frame->buf[p]; p++)
        memset(e.frame->buf[p]->data, 0, e.frame->buf[p]->size);
    if (codec == VD_ENC_GIF && (st = vd_io_palette_new(&pal, v, err)) != VD_OK) goto done;
    for (int t = 0; t < v->frames; t++) {
        ret = av_frame_make_writable(e.frame);
        if (ret < 0) {
            st = av_failed(&e, err, "cannot allocate a frame", ret);
            goto done;
        }
        const uint8_t *rgb = vd_video_frame(v, t);
        if (codec == VD_ENC_GIF) {
            st = vd_io_palette_map(pal, rgb, v->width, v->height, e.frame->data[0],
                                   e.frame->linesize[0], err);
            if (st != VD_OK) goto done;
            memcpy(e.frame->data[1], vd_io_palette_argb(pal), 256 * sizeof(uint32_t));
        } else {
            vd_io_rgb_to_yuv(rgb, v->width, v->height, pw, ph, 0, 1, e.frame->data[0],
                             e.frame->linesize[0], e.frame->data[1], e.frame->data[2],
                             e.frame->linesize[1]);
        }
        e.frame->pts = t;
        if ((st = encode_send(&e, e.frame, err)) != VD_OK) goto done;
    }
    if ((st = encode_send(&e, NULL, err)) != VD_OK) goto done;
    ret = av_write_trailer(e.oc);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot finish the file", ret);
        goto done;
    }
    ret = avio_closep(&e.oc->pb);
    if (ret < 0) st = av_failed(&e, err, "cannot close the file", ret);
done:
    av_dict_free(&opts);
    vd_io_palette_free(pal);
    encoder_close(&e);
    return st;
}

vd_status vd_io_encode_png(const char *label, const uint8_t *rgb, int w, int h,
                           const char *tmp, vd_error *err) {
    encoder e = {0};
    e.label = label;
    vd_status st = VD_OK;
    FILE *f = NULL;
    int ret;
    vd_io_av_quiet();
    const AVCodec *codec_info = avcodec_find_encoder(AV_CODEC_ID_PNG);
    if (!codec_info)
        return vd_fail(err, VD_ERR_UNSUPPORTED, "video: %s: FFmpeg lacks the png encoder", label);
    e.cc = avcodec_alloc_context3(codec_info);
    e.frame = av_frame_alloc();
    e.pkt = av_packet_alloc();
    if (!e.cc || !e.frame || !e.pkt) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory setting up the encoder", label);
        goto done;
    }
    e.cc->width = w;
    e.cc->height = h;
    e.cc->pix_fmt = AV_PIX_FMT_RGB24;
    e.cc->time_base = (AVRational){1, 1};
    e.cc->thread_count = 1;
    ret = avcodec_open2(e.cc, codec_info, NULL);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot open the png encoder", ret);
        goto done;
    }
    e.frame->format = AV_PIX_FMT_RGB24;
    e.frame->width = w;
    e.frame->height = h;
    ret = av_frame_get_buffer(e.frame, 0);
    if (ret < 0) {
        st = av_failed(&e, err, "cannot allocate a frame", ret);
        goto done;
    }
    for (int j = 0; j < h; j++)
        memcpy(e.frame->data[0] + (size_t)j * (size_t)e.frame->linesize[0],
               rgb + (size_t)j * (size_t)w * 3, (size_t)w * 3);
    e.frame->pts = 0;
    ret = avcodec_send_frame(e.cc, e.frame);
    if (ret >= 0) ret = avcodec_send_frame(e.cc, NULL);
    if (ret >= 0) ret = avcodec_receive_packet(e.cc, e.pkt);
    if (ret < 0) {
        st = av_failed(&e, err, "png encoding failed", ret);
        goto done;
    }
    f = fopen(tmp, "wb");
    if (!f) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot create %s: %s", label, tmp, strerror(errno));
        goto done;
    }
    if (fwrite(e.pkt->data, 1, (size_t)e.pkt->size, f) != (size_t)e.pkt->size) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot write %s: %s", label, tmp, strerror(errno));
        goto done;
    }
    ret = fclose(f);
    f = NULL;
    if (ret != 0)
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot write %s: %s", label, tmp, strerror(errno));
done:
    if (f) fclose(f);
    encoder_close(&e);
    return st;
}
