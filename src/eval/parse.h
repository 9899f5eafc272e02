/* The judge's parse of one video, shared by every metric (internal to
 * src/eval; tests include it to check the parse itself). */
#ifndef VD_EVAL_PARSE_H
#define VD_EVAL_PARSE_H

#include <stdint.h>

#include "eval/eval.h"

#define VD_EVAL_BG 254  /* label: background */
#define VD_EVAL_OFF 255 /* label: off-palette */
#define VD_EVAL_MAX_BLOBS 24 /* per frame, the largest kept */
#define VD_EVAL_MAX_TRACKS 32

typedef struct vd_eval_blob {
    int frame, colour;
    double area;       /* coverage-weighted pixels */
    int pixels;
    double cx, cy;     /* coverage-weighted centroid (pixel centres at +0.5) */
    int x0, y0, x1, y1; /* bounding box, inclusive */
    double mxx, myy, mxy; /* central second moments per unit area */
    double orientation;   /* major axis angle, radians */
    double circularity;   /* 4 pi area / perimeter^2 (perimeter by edge count) */
    double rgb[3];        /* mean colour of its fully covered pixels */
    int at_border;        /* touches the frame's edge */
    int touching;         /* within 2 px of a blob of another colour */
    int full;             /* whole in view: usable for shape and physics */
    int shape;            /* per-frame shape (after tracking), -1 unjudged */
    double shape_iou;
    int track;
} vd_eval_blob;

/* Per-frame state of a track. */
enum { VD_TS_NONE = 0, VD_TS_SEEN, VD_TS_HIDDEN, VD_TS_OFFSCREEN, VD_TS_MISSING };

typedef struct vd_eval_track {
    int colour;
    int first, last;   /* frames of the first and last observation */
    int seen;          /* frames observed */
    int *blob;         /* per frame: index into parse->blobs or -1 */
    uint8_t *state;    /* per frame: VD_TS_* */
    double vx, vy;     /* last constant-velocity estimate */
    double ref_area;   /* median area over full-view frames */
    int shape;         /* majority of judged frames, -1 none */
    double angle[VD_SHAPE_COUNT]; /* best template orientation per shape */
    double radius;     /* half-extent of `shape` from ref_area */
    int significant;   /* long enough to be an object */
    int motion;        /* vd_eval_motion from model selection */
} vd_eval_track;

typedef struct vd_eval_parse {
    int frames, width, height;
    const uint8_t *rgb;
    int background;        /* palette index */
    double bg_rgb[3];      /* measured */
    double bg_border_share; /* share of border pixels nearest the background */
    uint8_t *label;        /* frames * h * w */
    float *alpha;          /* coverage of the label's colour */
    int *blob_map;         /* per pixel of the current frame, during parse */
    vd_eval_blob *blobs;
    int n_blobs, cap_blobs;
    int *frame_first;      /* frames + 1 offsets into blobs */
    vd_eval_track tracks[VD_EVAL_MAX_TRACKS];
    int n_tracks;
    long off_pixels;
    double area_k[VD_SHAPE_COUNT];      /* template area / r^2 */
    double centre_dx[VD_SHAPE_COUNT], centre_dy[VD_SHAPE_COUNT]; /* coverage
                            centroid minus centre at r = 1, angle 0 */
    double min_area;
    float *scratch;        /* template windows */
    size_t scratch_n;
    const vd_allocator *allocator;
} vd_eval_parse;

/* label.c: background, labels, blobs and their features. bg_hint is the
 * prompt's background or -1. */
vd_status vd_eval_parse_init(vd_eval_parse *p, const vd_video *v, int bg_hint,
                             const vd_eval_opts *o, vd_error *err);
void vd_eval_parse_free(vd_eval_parse *p);
/* Nearest palette colour to an RGB triple (plain distance). */
int vd_eval_nearest_colour(const double rgb[3], double *dist);

/* shape.c: templates drawn by the world's renderer. */
vd_status vd_eval_shape_setup(vd_eval_parse *p, vd_error *err);
/* IoU of blob b with shape s at orientation angle (area-matched radius). */
double vd_eval_shape_iou(vd_eval_parse *p, const vd_eval_blob *b, int s, double angle);
/* Best orientation of shape s for blob b; returns the IoU, angle in *angle. */
double vd_eval_shape_best_angle(vd_eval_parse *p, const vd_eval_blob *b, int s,
                                double *angle);
/* Area and centroid again from luma coverage where the colour allows. */
void vd_eval_blob_refine(vd_eval_parse *p, vd_eval_blob *b);
/* Half-extent of shape s with the given area. */
double vd_eval_shape_radius(const vd_eval_parse *p, int s, double area);

/* track.c: tracks, occlusion and per-frame shapes. */
vd_status vd_eval_track_all(vd_eval_parse *p, vd_error *err);
/* A blob usable for shape and physics: not clipped, not touching another. */
int vd_eval_blob_full(const vd_eval_parse *p, const vd_eval_blob *b);

/* fit.c: motion laws on a track's full-view centroids. */
typedef struct vd_eval_series {
    int n;
    double t[VD_WORLD_MAX_FRAMES], x[VD_WORLD_MAX_FRAMES], y[VD_WORLD_MAX_FRAMES];
} vd_eval_series;

void vd_eval_track_series(const vd_eval_parse *p, const vd_eval_track *tr,
                          vd_eval_series *s);
double vd_eval_fit_still(const vd_eval_series *s);
double vd_eval_fit_linear(const vd_eval_series *s);
/* Gravity fixed at g, split at bounces; *bounces counts the splits, and
 * restitution[] (up to max) the speed ratio at each. */
double vd_eval_fit_gravity(const vd_eval_series *s, double g, int *bounces,
                           double *restitution, int max);
/* Two linear pieces; *brk is the first frame index of the second piece. */
double vd_eval_fit_piecewise(const vd_eval_series *s, int *brk);
/* Model selection: the simplest law whose fit is within noise. */
int vd_eval_classify_motion(const vd_eval_series *s, double g, double width);

#endif
