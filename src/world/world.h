/* The toy world: coloured shapes that move, fall, bounce, collide and pass
 * each other in 2D, rendered anti-aliased, each video with a caption and its
 * ground truth. vidit trains its default model on it, and the judge
 * (src/eval) measures generated videos against the same physics and the same
 * renderer.
 *
 * Units: positions are in pixels of the rendered frame, x to the right and y
 * DOWN, the origin at the top-left corner of the top-left pixel (pixel
 * (i, j) covers [i, i+1) x [j, j+1)). Time is in frames; velocities are in
 * pixels per frame, accelerations in pixels per frame squared. The physics
 * is simulated at a fixed sub-step inside each frame. Everything scales with
 * the frame size, so one scene description renders at any resolution.
 *
 * Determinism: a scene is a pure function of (params, seed); rendering is a
 * pure function of the scene. Same seed, same bytes. */
#ifndef VD_WORLD_H
#define VD_WORLD_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "vidit.h"

#define VD_WORLD_MAX_OBJECTS 3
#define VD_WORLD_MAX_FRAMES 512
#define VD_WORLD_MIN_SIZE 32
#define VD_WORLD_MAX_SIZE 256

typedef enum vd_colour {
    VD_RED = 0, VD_ORANGE, VD_YELLOW, VD_GREEN, VD_CYAN, VD_BLUE, VD_PURPLE,
    VD_PINK, VD_WHITE, VD_GRAY, VD_BLACK, VD_COLOUR_COUNT
} vd_colour;

/* sRGB of each colour, as rendered. */
extern const uint8_t vd_palette[VD_COLOUR_COUNT][3];
const char *vd_colour_name(int colour); /* "red" */
/* The enum of a canonical name ("red", "gray"/"grey"), -1 when unknown. */
int vd_colour_from_name(const char *name);

typedef enum vd_shape {
    VD_CIRCLE = 0, VD_SQUARE, VD_TRIANGLE, VD_SHAPE_COUNT
} vd_shape;
const char *vd_shape_name(int shape); /* "circle" */
int vd_shape_from_name(const char *name);
/* What the half-extent r means per shape: a circle of radius r; a square of
 * side 2r; an equilateral triangle inscribed in the circle of radius r (one
 * vertex straight up at angle 0). Area of each, in pixels^2. */
float vd_world_shape_area(int shape, float r);

typedef enum vd_size { VD_SMALL = 0, VD_MEDIUM, VD_LARGE, VD_SIZE_COUNT } vd_size;
const char *vd_size_name(int size);
int vd_size_from_name(const char *name);
/* Radius (half-extent) in pixels of a size class at a frame size: a fixed
 * share of min(width, height). */
float vd_size_radius(int size, int width, int height);

typedef enum vd_motion {
    VD_STILL = 0,
    VD_LINEAR,   /* constant velocity in one of 8 directions */
    VD_FALLING,  /* dropped from rest, falls under gravity, bounces on the floor */
    VD_THROWN,   /* launched sideways and up: a parabola (bounces if it lands) */
    VD_COLLIDING,/* two objects approach and collide elastically */
    VD_PASSING,  /* one object passes in front of or behind another */
    VD_ENTERING, /* moves in from outside the frame */
    VD_LEAVING,  /* moves out of the frame */
    VD_MOTION_COUNT
} vd_motion;
const char *vd_motion_name(int motion);
int vd_motion_from_name(const char *name);

/* Directions of motion, counter-clockwise from right (screen up is "up"). */
typedef enum vd_direction {
    VD_DIR_NONE = 0, VD_RIGHT, VD_UP_RIGHT, VD_UP, VD_UP_LEFT, VD_LEFT,
    VD_DOWN_LEFT, VD_DOWN, VD_DOWN_RIGHT, VD_DIR_COUNT
} vd_direction;
const char *vd_direction_name(int dir); /* "up-left"; "none" */
int vd_direction_from_name(const char *name);
/* Unit vector of a direction in screen coordinates (y down). */
void vd_direction_vector(int dir, float *dx, float *dy);

typedef enum vd_speed { VD_SPEED_NONE = 0, VD_SLOW, VD_FAST, VD_SPEED_COUNT } vd_speed;
const char *vd_speed_name(int speed); /* "none", "slow", "fast" */
int vd_speed_from_name(const char *name);

/* One object of a scene, with its trajectory. */
typedef struct vd_world_object {
    int colour, shape, size; /* enums above */
    float radius;            /* half-extent in pixels */
    float angle;             /* rotation in radians (fixed over the video);
                                positive turns clockwise on screen (y down) */
    int motion, direction, speed;
    int depth;               /* drawing order: higher is in front */
    float mass;              /* for collisions: 1, or the shape's area */
    float vx, vy;            /* velocity at frame 0, px / frame */
    float x[VD_WORLD_MAX_FRAMES], y[VD_WORLD_MAX_FRAMES]; /* centre per frame */
} vd_world_object;

/* Physics constants of a scene, in pixels and frames. */
typedef struct vd_world_physics {
    float gravity;     /* px / frame^2, downward */
    float restitution; /* speed kept at a floor bounce, 0..1 */
    float floor_y;     /* y of the floor (the bottom edge of the frame) */
    int substeps;      /* physics steps per frame */
} vd_world_physics;

typedef struct vd_scene {
    int width, height, frames;
    float fps;
    int background; /* a vd_colour, never an object's colour */
    int n_objects;
    vd_world_object objects[VD_WORLD_MAX_OBJECTS];
    int motion;     /* the scene's motion type (what the caption says) */
    vd_world_physics physics;
} vd_scene;

/* What `vidit world` varies. */
typedef struct vd_world_params {
    int width, height, frames; /* defaults 64, 64, 16 */
    float fps;                 /* default 8 */
    int max_objects;           /* 1..3, default 3 */
    /* Bit i set = motion i allowed; 0 = all. */
    unsigned motions;
    /* Percent (0..100, default 0) of the caption's word draws (colour,
     * shape, size; speed too, though every parser-only speed word lacks
     * the adverb/adjective form a caption needs) made from every synonym
     * the parser reads rather than the generator's own ("violet", "orb",
     * "cube", "huge"): the phrasings a model trained on the default
     * captions never sees. 0 draws exactly what it always did. */
    int rare_words;
    /* 0 (default) or 1: videos come in fours, one scene and its mirror
     * images (left-right, up-down, both; vd_world_mirror), each with a
     * caption of its own. A model then sees the same scene with its
     * direction words swapped and nothing else changed, the plainest lesson
     * in what those words mean. Scenes under gravity are mirrored left-right
     * only, so their fours are two pairs. */
    int mirror;
} vd_world_params;

void vd_world_params_default(vd_world_params *p);
vd_status vd_world_params_check(const vd_world_params *p, vd_error *err);

/* The physics a scene of this size uses (gravity etc. scale with size). */
void vd_world_physics_default(vd_world_physics *phys, int width, int height,
                              float fps);

/* Draws a random scene (objects, motion, initial state) and simulates it. */
vd_status vd_world_sample(vd_scene *scene, const vd_world_params *p, vd_rng *rng,
                          vd_error *err);

/* Mirrors a simulated scene in place: x -> width - x when `horizontal`,
 * y -> height - y when `vertical` (only meaningful without gravity), with
 * velocities, directions and shape rotations to match, so that rendering
 * it gives the mirror image of the original video. */
void vd_world_mirror(vd_scene *scene, int horizontal, int vertical);

/* Video `index` of a dataset made with `seed`: its own rng stream
 * vd_rng_fork(seed, index), so it does not depend on how many videos are
 * made or in what order. Draws the scene, then its caption (caption may be
 * NULL). With p->mirror, video index is mirror variant index % 4 (bit 0
 * left-right, bit 1 up-down) of the scene drawn for index / 4, captioned
 * from a stream of its own. */
vd_status vd_world_generate(const vd_world_params *p, uint64_t seed, uint64_t index,
                            vd_scene *scene, char *caption, size_t caption_size,
                            vd_error *err);

/* Rolls one free object forward with the world's physics: from position
 * (x0, y0) and velocity (vx0, vy0) at frame 0, with gravity on or off,
 * bouncing on the floor (given its radius), for `frames` frames. Used by the
 * simulator and by the judge's velocity-error measure. */
void vd_world_rollout(const vd_world_physics *phys, float x0, float y0, float vx0,
                      float vy0, int gravity_on, float radius, int frames,
                      float *x, float *y);

/* Renders frame t of the scene as RGB bytes (height * width * 3),
 * anti-aliased (coverage by supersampling), objects drawn back to front. */
void vd_world_render(const vd_scene *scene, int t, uint8_t *rgb);

/* The shape template: the coverage (0..1) of a shape at centre (cx, cy),
 * half-extent r and rotation angle, over a w x h grid. The judge compares
 * blobs with these. */
void vd_world_shape_coverage(int shape, float cx, float cy, float r, float angle,
                             int w, int h, float *coverage);

/* A caption in natural English, drawn from the grammar with rng.
 * Returns the number of bytes written (truncated to size - 1). */
size_t vd_world_caption(const vd_scene *scene, vd_rng *rng, int rare_words, char *buf,
                        size_t size);

/* What a prompt asks for: the caption grammar read in reverse. Fields the
 * prompt leaves open are -1. */
typedef struct vd_prompt_object {
    int colour, shape, size;
} vd_prompt_object;

typedef struct vd_prompt_spec {
    int n_objects;
    vd_prompt_object objects[VD_WORLD_MAX_OBJECTS];
    int background;
    int motion;
    int direction;
    int speed;
    /* VD_PASSING: 1 when the first object passes in front of the second,
     * 0 behind; -1 open. */
    int front;
} vd_prompt_spec;

/* Parses a prompt. A prompt the grammar cannot read is VD_ERR_FORMAT with a
 * message naming the first word it could not place; it is never guessed. */
vd_status vd_world_parse_prompt(const char *prompt, vd_prompt_spec *spec,
                                vd_error *err);

/* The spec a scene's caption describes. */
void vd_world_scene_spec(const vd_scene *scene, vd_prompt_spec *spec);

/* Ground truth as JSON: appends one object (width, height, frames, fps,
 * background, motion, physics, objects with their trajectories) to s;
 * s->failed tells of a failed allocation. Positions are rounded to 1/1000
 * pixel. */
struct vd_strbuf;
void vd_world_scene_json(struct vd_strbuf *s, const vd_scene *scene);
/* Reads that object back (unknown names, missing members and sizes out of
 * range are VD_ERR_FORMAT naming the member). */
struct vd_json;
vd_status vd_world_scene_from_json(const struct vd_json *obj, vd_scene *scene,
                                   vd_error *err);

/* Renders every frame: frames * height * width * 3 bytes. */
void vd_world_render_video(const vd_scene *scene, uint8_t *rgb);

#endif
