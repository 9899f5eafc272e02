/* Video files in and out, through FFmpeg's libraries.
 *
 * A vd_video is frames of packed RGB bytes (t, h, w, 3) with a frame rate.
 * Writing picks the container by the path:
 *   .mp4   H.264 (libx264), yuv420p, +faststart, plays in browsers
 *   .webm  VP9 (or VP8), yuv420p
 *   .gif   animated GIF with a palette built from the frames
 *   .y4m   YUV4MPEG2, 4:4:4 or 4:2:0, uncompressed
 *   .png   one frame (the video must have exactly one frame)
 *   a path ending in '/' or an existing folder: PNG frames 000000.png, ...
 * Files are written to a temporary name and renamed, so a failed write
 * leaves nothing behind.
 *
 * Reading decodes anything FFmpeg can, plus PNG/JPEG images and folders of
 * PNG frames, with optional resizing, centre cropping to an aspect ratio and
 * frame-rate resampling. */
#ifndef VD_IO_VIDEO_H
#define VD_IO_VIDEO_H

#include <stddef.h>
#include <stdint.h>

#include "vidit.h"

typedef struct vd_video {
    int frames, width, height;
    double fps;
    uint8_t *rgb; /* frames * height * width * 3 bytes */
} vd_video;

/* Allocates a zeroed video. */
vd_status vd_video_alloc(vd_video *v, int frames, int width, int height, double fps,
                         vd_error *err);
void vd_video_free(vd_video *v); /* harmless on a zeroed or freed video */
static inline uint8_t *vd_video_frame(const vd_video *v, int t) {
    return v->rgb + (size_t)t * (size_t)v->height * (size_t)v->width * 3;
}

typedef struct vd_video_write_opts {
    int scale;   /* integer enlargement for viewing (nearest), default 1 */
    int quality; /* 0..100 for lossy codecs, default 90 (CRF ~ 18 for H.264) */
} vd_video_write_opts;
void vd_video_write_opts_default(vd_video_write_opts *o);

/* o may be NULL for defaults. Details (added by the io engineer):
 *  - .mp4: libx264, preset medium, CRF 18 at quality 90 (about 0.33 per
 *    quality point), one thread (same bytes everywhere). Odd sizes are
 *    padded to even by repeating the last column/row, so the file is one
 *    pixel wider/taller. .webm: libvpx-vp9 constant quality (CRF 20 at 90),
 *    odd sizes kept. Both: BT.601 limited range, chroma = centred 2x2
 *    averages, tagged in the stream.
 *  - .gif: one global palette, exact when the video has <= 256 colours
 *    (lossless), else median cut; delays in whole centiseconds; loops.
 *  - .y4m: C444, BT.601 full range (XCOLORRANGE=FULL); reads back within
 *    +-1 per channel.
 *  - folder/: an existing folder is replaced only when it holds nothing but
 *    NNNNNN.png frames; anything else there makes the write fail.
 *  - The library sets FFmpeg's global log level to quiet. */
vd_status vd_video_write(const char *path, const vd_video *v,
                         const vd_video_write_opts *o, vd_error *err);

typedef struct vd_video_read_opts {
    int width, height;  /* 0 = keep; if only one is set, keep aspect */
    int crop;           /* 1: centre-crop to width:height's aspect before
                           resizing instead of stretching */
    double fps;         /* 0 = keep; else resample by nearest frame in time */
    int max_frames;     /* 0 = all */
    int start_frame;    /* frames skipped at the start (after resampling) */
} vd_video_read_opts;
void vd_video_read_opts_default(vd_video_read_opts *o);

vd_status vd_video_read(const char *path, const vd_video_read_opts *o, vd_video *out,
                        vd_error *err);

/* Details of reading (added by the io engineer):
 *  - Frame folders and single images carry no frame rate: they read at
 *    o->fps when set (no resampling), else at VD_VIDEO_DEFAULT_FPS.
 *  - Frames whose timestamps are missing are taken as evenly spaced.
 *  - A truncated or corrupt file is an error ("truncated or corrupt:
 *    decoded 7 of 16 frames"), not a shorter video, so that a dataset never
 *    trains on half a clip silently.
 *  - Frames larger than VD_VIDEO_MAX_SIDE on a side, or more than
 *    VD_VIDEO_MAX_BYTES of output in all, are refused.
 *  - MP4 files written by vd_video_write with odd sizes read back one pixel
 *    wider/taller (the padding repeats the last column/row).
 *  - Alpha channels are dropped. */
#define VD_VIDEO_DEFAULT_FPS 8.0

/* What a file holds, without keeping the frames: the frame count comes from
 * decoding every frame (exact even when the container does not say). */
typedef struct vd_video_info {
    int frames, width, height;
    double fps;
} vd_video_info;
vd_status vd_video_probe(const char *path, vd_video_info *info, vd_error *err);

#endif
