/* The anti-aliased rasteriser. A pixel's coverage is 1 or 0 when its centre
 * lies deeper than half a pixel diagonal inside or outside the shape (the
 * signed distances below are 1-Lipschitz), and 4x4 supersampling otherwise,
 * so only edge pixels pay for the samples. */
#include <math.h>
#include <string.h>

#include "world/world.h"

typedef struct shape_ctx {
    int shape;
    double cx, cy, r, c, s;
} shape_ctx;

/* Negative inside, positive outside; at most the Euclidean distance to the
 * boundary in magnitude. */
static double signed_dist(const shape_ctx *k, double px, double py) {
    double dx = px - k->cx, dy = py - k->cy;
    /* Local coordinates: the shape is turned by +angle on screen. */
    double lx = k->c * dx + k->s * dy, ly = -k->s * dx + k->c * dy;
    switch (k->shape) {
    case VD_SQUARE: return fmax(fabs(lx), fabs(ly)) - k->r;
    case VD_TRIANGLE: {
        /* Equilateral, vertex up: three edges at distance r/2 from the
         * centre with outward normals (0,1) and (+-sqrt(3)/2, -1/2). */
        const double h = 0.86602540378443865;
        double d = ly;
        d = fmax(d, h * lx - 0.5 * ly);
        d = fmax(d, -h * lx - 0.5 * ly);
        return d - 0.5 * k->r;
    }
    default: return sqrt(lx * lx + ly * ly) - k->r;
    }
}

static float pixel_coverage(const shape_ctx *k, int i, int j) {
    double d = signed_dist(k, i + 0.5, j + 0.5);
    if (d <= -0.7072) return 1.0f;
    if (d >= 0.7072) return 0.0f;
    int in = 0;
    for (int sy = 0; sy < 4; sy++)
        for (int sx = 0; sx < 4; sx++)
            in += signed_dist(k, i + (sx + 0.5) * 0.25, j + (sy + 0.5) * 0.25) < 0;
    return (float)in * (1.0f / 16.0f);
}

static void shape_init(shape_ctx *k, int shape, float cx, float cy, float r, float angle) {
    k->shape = shape;
    k->cx = cx;
    k->cy = cy;
    k->r = r;
    k->c = cos((double)angle);
    k->s = sin((double)angle);
}

/* The pixel rectangle [x0, x1) x [y0, y1) that can be covered. */
static int shape_bbox(const shape_ctx *k, int w, int h, int *x0, int *y0, int *x1, int *y1) {
    double ext = k->shape == VD_SQUARE ? k->r * 1.41422 : k->r;
    double fx0 = floor(k->cx - ext - 1), fx1 = ceil(k->cx + ext + 1);
    double fy0 = floor(k->cy - ext - 1), fy1 = ceil(k->cy + ext + 1);
    if (!(fx1 > 0 && fy1 > 0 && fx0 < w && fy0 < h)) return 0; /* also NaN */
    *x0 = fx0 < 0 ? 0 : (int)fx0;
    *y0 = fy0 < 0 ? 0 : (int)fy0;
    *x1 = fx1 > w ? w : (int)fx1;
    *y1 = fy1 > h ? h : (int)fy1;
    return 1;
}

void vd_world_shape_coverage(int shape, float cx, float cy, float r, float angle, int w,
                             int h, float *coverage) {
    if (w <= 0 || h <= 0) return;
    memset(coverage, 0, (size_t)w * (size_t)h * sizeof *coverage);
    shape_ctx k;
    shape_init(&k, shape, cx, cy, r, angle);
    int x0, y0, x1, y1;
    if (!shape_bbox(&k, w, h, &x0, &y0, &x1, &y1)) return;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++) coverage[(size_t)j * w + i] = pixel_coverage(&k, i, j);
}

void vd_world_render(const vd_scene *scene, int t, uint8_t *rgb) {
    const int w = scene->width, h = scene->height;
    const uint8_t *bg = vd_palette[scene->background >= 0 && scene->background < VD_COLOUR_COUNT
                                       ? scene->background : VD_BLACK];
    for (size_t p = 0; p < (size_t)w * h; p++) {
        rgb[3 * p] = bg[0];
        rgb[3 * p + 1] = bg[1];
        rgb[3 * p + 2] = bg[2];
    }
    /* Back to front: by depth, ties by index. */
    int order[VD_WORLD_MAX_OBJECTS], n = scene->n_objects;
    if (n > VD_WORLD_MAX_OBJECTS) n = VD_WORLD_MAX_OBJECTS;
    for (int i = 0; i < n; i++) order[i] = i;
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && scene->objects[order[j]].depth < scene->objects[order[j - 1]].depth; j--) {
            int tmp = order[j];
            order[j] = order[j - 1];
            order[j - 1] = tmp;
        }
    for (int k = 0; k < n; k++) {
        const vd_world_object *o = &scene->objects[order[k]];
        shape_ctx sc;
        shape_init(&sc, o->shape, o->x[t], o->y[t], o->radius, o->angle);
        int x0, y0, x1, y1;
        if (!shape_bbox(&sc, w, h, &x0, &y0, &x1, &y1)) continue;
        const uint8_t *col = vd_palette[o->colour >= 0 && o->colour < VD_COLOUR_COUNT ? o->colour : VD_WHITE];
        for (int j = y0; j < y1; j++)
            for (int i = x0; i < x1; i++) {
                float c = pixel_coverage(&sc, i, j);
                if (c <= 0) continue;
                uint8_t *px = rgb + 3 * ((size_t)j * w + i);
                for (int ch = 0; ch < 3; ch++)
                    px[ch] = (uint8_t)((float)px[ch] + ((float)col[ch] - (float)px[ch]) * c + 0.5f);
            }
    }
}

void vd_world_render_video(const vd_scene *scene, uint8_t *rgb) {
    size_t frame = (size_t)scene->width * (size_t)scene->height * 3;
    for (int t = 0; t < scene->frames; t++) vd_world_render(scene, t, rgb + frame * t);
}
