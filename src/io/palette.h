/* A global palette for GIF: exact when the frames hold at most 256 colours,
 * else median cut over the colour histogram. Internal to the video module. */
#ifndef VD_IO_PALETTE_H
#define VD_IO_PALETTE_H

#include <stdint.h>

#include "io/video.h"

typedef struct vd_io_palette vd_io_palette;

/* Builds the palette of all frames of v. */
vd_status vd_io_palette_new(vd_io_palette **out, const vd_video *v, vd_error *err);
void vd_io_palette_free(vd_io_palette *p);
/* Colours as 0xAARRGGBB (opaque), 256 entries (unused ones black). */
const uint32_t *vd_io_palette_argb(const vd_io_palette *p);
int vd_io_palette_size(const vd_io_palette *p);
/* Maps one RGB frame to palette indices (the nearest colour; exact colours
 * map to themselves), dst rows `stride` bytes apart. */
vd_status vd_io_palette_map(vd_io_palette *p, const uint8_t *rgb, int w, int h,
                            uint8_t *dst, int stride, vd_error *err);

#endif
