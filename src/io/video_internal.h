/* Shared by the video reader and writer; not part of the public API. */
#ifndef VD_IO_VIDEO_INTERNAL_H
#define VD_IO_VIDEO_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "io/video.h"

/* FFmpeg logs to stderr by default; the library must stay silent. */
void vd_io_av_quiet(void);

/* FFmpeg's error code as text (its av_err2str macro needs a compound
 * literal that some warnings dislike). */
const char *vd_io_av_err(int code, char *buf, size_t size);

/* BT.601 RGB -> Y'CbCr, full (0..255) or limited (16..235/240) range.
 * Converts a w x h RGB image into planes of pw x ph (pw >= w, ph >= h; the
 * extra columns/rows replicate the last ones, which is how odd sizes are
 * padded). chroma420: chroma planes are ceil(pw/2) x ceil(ph/2), each sample the
 * average of a 2x2 block; otherwise chroma is full size. */
void vd_io_rgb_to_yuv(const uint8_t *rgb, int w, int h, int pw, int ph, int full_range,
                      int chroma420, uint8_t *y, int y_stride, uint8_t *u, uint8_t *v,
                      int c_stride);

/* Separable resampling of an RGB image: the rectangle (cx, cy, cw, ch) of a
 * sw-wide image into ow x oh. Each axis averages areas when shrinking and
 * interpolates bilinearly (pixel centres aligned) when enlarging. */
vd_status vd_io_resize_rgb(const uint8_t *src, int sw, int cx, int cy, int cw, int ch,
                           uint8_t *dst, int ow, int oh, vd_error *err);

/* Lower-case extension of path without the dot ("" when none), in buf. */
const char *vd_io_extension(const char *path, char *buf, size_t size);

/* Limits for what the reader accepts, to fail early on absurd input. */
#define VD_VIDEO_MAX_SIDE 8192
#define VD_VIDEO_MAX_BYTES ((size_t)2 << 30)

#endif
