/* The libav side of vd_video_write; internal to the video module. */
#ifndef VD_IO_VIDEO_ENCODE_H
#define VD_IO_VIDEO_ENCODE_H

#include <stdint.h>

#include "io/video.h"

enum { VD_ENC_H264 = 0, VD_ENC_VP9 = 1, VD_ENC_GIF = 2 };

/* Encodes all frames of v into the file `tmp` (the container is chosen by
 * codec, not by tmp's name); label is the path named in errors. */
vd_status vd_io_encode_stream(const char *label, const char *tmp, const vd_video *v,
                              int codec, int quality, vd_error *err);
/* One RGB image as a PNG file. */
vd_status vd_io_encode_png(const char *label, const uint8_t *rgb, int w, int h,
                           const char *tmp, vd_error *err);

#endif
