/* The judge: reads object state out of generated toy-world videos with plain
 * image analysis (known palette, known shapes, the world's own renderer and
 * physics) and scores them against their prompts, after Kang et al. 2024 and
 * VBench's dimensions (see /work/shared/reference/judge-metrics.md).
 *
 * One video: vd_eval_video parses the frames once (background, palette
 * labels, blobs, shapes, tracks) and fills a vd_eval_result with every
 * metric. A metric that does not apply to the prompt (direction for a still
 * object, physics for a prompt that was not understood) is NaN, written as
 * null in JSON and left out of that metric's mean. A prompt the world's
 * grammar cannot read is "not understood": no adherence or physics metric is
 * computed for it, only the prompt-free quality ones.
 *
 * Many videos: vd_eval_summary accumulates results in the order they are
 * added (so a caller that judges in parallel adds them in input order and
 * gets the same sums for any thread count). */
#ifndef VD_EVAL_EVAL_H
#define VD_EVAL_EVAL_H

#include <stddef.h>

#include "io/video.h"
#include "vidit.h"
#include "world/world.h"

typedef enum vd_eval_metric {
    /* prompt adherence: shares in [0, 1], higher is better */
    VD_EVAL_PRESENCE = 0, /* frames where each prompted object exists */
    VD_EVAL_COLOUR,       /* found frames with the prompted colour */
    VD_EVAL_SHAPE,        /* judged frames with the prompted shape */
    VD_EVAL_SHAPE_FLIP,   /* judged frames whose shape differs from the first (lower is better) */
    VD_EVAL_SIZE,         /* size class of the object as prompted (0/1) */
    VD_EVAL_COUNT,        /* frames whose object count equals the prompt's */
    VD_EVAL_BACKGROUND,   /* background colour as prompted (0/1) */
    VD_EVAL_DIRECTION,    /* each mover's net displacement (least-squares line
                             through its sightings) along the prompted direction:
                             right sign, >= max(2 px, 0.05 W), above the
                             perpendicular; diagonals: both axes (0..1) */
    VD_EVAL_MOTION_TYPE,  /* motion class as prompted (0/1) */
    VD_EVAL_EVERY,        /* every prompted constraint holds (0/1) */
    /* temporal quality */
    VD_EVAL_FLICKER,      /* (255 - mean |I_t - I_t+1| on background) / 255 */
    VD_EVAL_SIZE_DRIFT,   /* (max - min) / mean area of each track, lower better */
    VD_EVAL_COLOUR_DRIFT, /* mean RGB distance to the track's first frame / 255 */
    VD_EVAL_DYNAMIC,      /* the video moves (0/1): a quarter of the frame pairs move
                             an object more than 6 min(H, W) / 256 px (VBench's
                             threshold scaled), so slow motion may not count */
    VD_EVAL_OFF_PALETTE,  /* share of pixels far from every palette colour */
    VD_EVAL_UNTRACKED,    /* share of blobs in tracks too short to be objects */
    /* physics: errors, lower is better */
    VD_EVAL_LAW_RMSE_PX,  /* RMSE of the prompted law fitted to each track, px */
    VD_EVAL_LAW_RMSE_W,   /* the same as a share of the frame width */
    VD_EVAL_VELOCITY_ERR, /* Kang et al.: state from the first 3 clean frames (after
                             the collision for collisions), vd_world_rollout
                             forward, mean |v - v_sim| over consecutive clean
                             frames, in frame widths per frame */
    VD_EVAL_RESTITUTION_ERR, /* |speed after / before - world's coefficient| */
    VD_EVAL_PERMANENCE,   /* objects appearing or vanishing unexplained (count) */
    VD_EVAL_METRIC_COUNT
} vd_eval_metric;

typedef enum vd_eval_group {
    VD_EVAL_ADHERENCE = 0, VD_EVAL_QUALITY, VD_EVAL_PHYSICS
} vd_eval_group;

const char *vd_eval_metric_name(int metric);  /* "presence" */
int vd_eval_metric_group(int metric);         /* a vd_eval_group */
int vd_eval_metric_higher_better(int metric); /* 1 or 0 */

/* What the motion fit sees in a track (model selection). */
typedef enum vd_eval_motion {
    VD_EVAL_M_NONE = -1, /* no track to judge */
    VD_EVAL_M_STILL = 0, VD_EVAL_M_LINEAR, VD_EVAL_M_FALLING, VD_EVAL_M_BOUNCING,
    VD_EVAL_M_COLLIDING, VD_EVAL_M_OTHER, VD_EVAL_M_COUNT
} vd_eval_motion;
const char *vd_eval_motion_name(int m);

typedef struct vd_eval_opts {
    /* RGB distance (0..441) beyond which a pixel is off-palette, after
     * allowing any anti-aliased blend with the background. Calibrated on
     * ground truth through H.264 (tests/test_eval.c). */
    float off_palette;
    /* Blobs smaller than this share of the smallest object's area are
     * dropped as noise. */
    float min_area_share;
    /* Share of frames a constraint must hold for the every-constraint rate. */
    float every_share;
    const vd_allocator *allocator; /* NULL: default */
} vd_eval_opts;
void vd_eval_opts_default(vd_eval_opts *o);

#define VD_EVAL_NOTE 576

typedef struct vd_eval_result {
    int understood;      /* the prompt was read by the world's grammar */
    double metric[VD_EVAL_METRIC_COUNT]; /* NaN = does not apply */
    /* What the parse saw, for reports and tests. */
    int background;      /* estimated background colour, -1 unknown */
    int motion;          /* vd_eval_motion of the scene */
    int n_tracks;        /* tracks long enough to be objects */
    unsigned failed;     /* bit m: adherence metric m broke the every-constraint rule */
    int frames, width, height;
    char note[VD_EVAL_NOTE]; /* why the prompt was not understood */
} vd_eval_result;

/* Judges one video against a prompt (NULL or "" = no prompt: not understood).
 * Fails only on unusable input (no frames, frames under 8x8) or memory. */
vd_status vd_eval_video(const vd_video *video, const char *prompt,
                        const vd_eval_opts *opts, vd_eval_result *result,
                        vd_error *err);
/* The same with an already parsed spec (NULL = not understood). */
vd_status vd_eval_video_spec(const vd_video *video, const vd_prompt_spec *spec,
                             const vd_eval_opts *opts, vd_eval_result *result,
                             vd_error *err);

/* Aggregation over a folder, in the order results are added. */
typedef struct vd_eval_summary {
    int videos;          /* judged (understood or not) */
    int failed;          /* could not be read or judged */
    int not_understood;  /* prompts the grammar could not read */
    int dynamic_videos;
    double sum[VD_EVAL_METRIC_COUNT];
    int count[VD_EVAL_METRIC_COUNT];
    int motion_hist[VD_EVAL_M_COUNT];
} vd_eval_summary;

void vd_eval_summary_init(vd_eval_summary *s);
void vd_eval_summary_add(vd_eval_summary *s, const vd_eval_result *r);
void vd_eval_summary_add_failure(vd_eval_summary *s);
/* NaN when no video contributed. */
double vd_eval_summary_mean(const vd_eval_summary *s, int metric);

/* JSON objects (strbuf failures are sticky; check s->failed once). */
struct vd_strbuf;
void vd_eval_result_json(struct vd_strbuf *s, const vd_eval_result *r);
void vd_eval_summary_json(struct vd_strbuf *s, const vd_eval_summary *sum);

#endif
