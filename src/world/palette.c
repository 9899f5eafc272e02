/* The world's vocabulary as enums: colours, shapes, sizes, motions,
 * directions and speeds, their canonical names, and the defaults and checks
 * of the generation parameters. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "world/world.h"

/* Saturated and far apart in RGB, so the judge can label pixels by nearest
 * colour even after H.264's chroma subsampling. */
const uint8_t vd_palette[VD_COLOUR_COUNT][3] = {
    {230, 30, 30},   /* red */
    {245, 135, 20},  /* orange */
    {245, 225, 30},  /* yellow */
    {40, 175, 60},   /* green */
    {40, 215, 225},  /* cyan */
    {35, 70, 230},   /* blue */
    {140, 50, 200},  /* purple */
    {250, 130, 195}, /* pink */
    {245, 245, 245}, /* white */
    {128, 128, 128}, /* gray */
    {15, 15, 15},    /* black */
};

static const char *const colour_names[VD_COLOUR_COUNT] = {
    "red", "orange", "yellow", "green", "cyan", "blue",
    "purple", "pink", "white", "gray", "black"};
static const char *const shape_names[VD_SHAPE_COUNT] = {"circle", "square", "triangle"};
static const char *const size_names[VD_SIZE_COUNT] = {"small", "medium", "large"};
static const char *const motion_names[VD_MOTION_COUNT] = {
    "still", "linear", "falling", "thrown", "colliding", "passing", "entering", "leaving"};
static const char *const direction_names[VD_DIR_COUNT] = {
    "none", "right", "up-right", "up", "up-left", "left", "down-left", "down", "down-right"};
static const char *const speed_names[VD_SPEED_COUNT] = {"none", "slow", "fast"};

static const char *name_of(const char *const *names, int count, int i) {
    return i >= 0 && i < count ? names[i] : "unknown";
}

static int find_name(const char *const *names, int count, const char *name) {
    if (!name) return -1;
    for (int i = 0; i < count; i++)
        if (!strcmp(names[i], name)) return i;
    return -1;
}

const char *vd_colour_name(int c) { return name_of(colour_names, VD_COLOUR_COUNT, c); }
const char *vd_shape_name(int s) { return name_of(shape_names, VD_SHAPE_COUNT, s); }
const char *vd_size_name(int s) { return name_of(size_names, VD_SIZE_COUNT, s); }
const char *vd_motion_name(int m) { return name_of(motion_names, VD_MOTION_COUNT, m); }
const char *vd_direction_name(int d) { return name_of(direction_names, VD_DIR_COUNT, d); }
const char *vd_speed_name(int s) { return name_of(speed_names, VD_SPEED_COUNT, s); }

int vd_colour_from_name(const char *name) {
    if (name && !strcmp(name, "grey")) return VD_GRAY;
    return find_name(colour_names, VD_COLOUR_COUNT, name);
}
int vd_shape_from_name(const char *n) { return find_name(shape_names, VD_SHAPE_COUNT, n); }
int vd_size_from_name(const char *n) { return find_name(size_names, VD_SIZE_COUNT, n); }
int vd_motion_from_name(const char *n) { return find_name(motion_names, VD_MOTION_COUNT, n); }
int vd_direction_from_name(const char *n) { return find_name(direction_names, VD_DIR_COUNT, n); }
int vd_speed_from_name(const char *n) { return find_name(speed_names, VD_SPEED_COUNT, n); }

float vd_size_radius(int size, int width, int height) {
    /* Small stays a few pixels wide at 32x32; three large objects still fit
     * side by side. */
    static const float share[VD_SIZE_COUNT] = {0.08f, 0.11f, 0.15f};
    int m = width < height ? width : height;
    if (size < 0 || size >= VD_SIZE_COUNT) size = VD_MEDIUM;
    return share[size] * (float)m;
}

float vd_world_shape_area(int shape, float r) {
    switch (shape) {
    case VD_SQUARE: return 4.0f * r * r;
    case VD_TRIANGLE: return 1.2990381f * r * r; /* 3 sqrt(3) / 4 */
    default: return 3.14159265f * r * r;
    }
}

void vd_direction_vector(int dir, float *dx, float *dy) {
    float x = 0, y = 0;
    if (dir > VD_DIR_NONE && dir < VD_DIR_COUNT) {
        /* 45 degrees apart, counter-clockwise from right; screen y is down. */
        double a = (double)(dir - 1) * 0.78539816339744831;
        x = (float)cos(a);
        y = (float)-sin(a);
        if (fabsf(x) < 1e-6f) x = 0;
        if (fabsf(y) < 1e-6f) y = 0;
    }
    if (dx) *dx = x;
    if (dy) *dy = y;
}

void vd_world_params_default(vd_world_params *p) {
    p->width = 64;
    p->height = 64;
    p->frames = 16;
    p->fps = 8;
    p->max_objects = 3;
    p->motions = 0;
    p->rare_words = 0;
    p->mirror = 0;
}

vd_status vd_world_params_check(const vd_world_params *p, vd_error *err) {
    if (p->width < VD_WORLD_MIN_SIZE || p->width > VD_WORLD_MAX_SIZE ||
        p->height < VD_WORLD_MIN_SIZE || p->height > VD_WORLD_MAX_SIZE)
        return vd_fail(err, VD_ERR_ARG, "world: size %dx%d is outside %d..%d pixels",
                       p->width, p->height, VD_WORLD_MIN_SIZE, VD_WORLD_MAX_SIZE);
    if (p->frames < 1 || p->frames > VD_WORLD_MAX_FRAMES)
        return vd_fail(err, VD_ERR_ARG, "world: %d frames is outside 1..%d", p->frames,
                       VD_WORLD_MAX_FRAMES);
    if (!(p->fps > 0) || !isfinite(p->fps))
        return vd_fail(err, VD_ERR_ARG, "world: fps must be positive (got %g)", (double)p->fps);
    if (p->max_objects < 1 || p->max_objects > VD_WORLD_MAX_OBJECTS)
        return vd_fail(err, VD_ERR_ARG, "world: max objects %d is outside 1..%d",
                       p->max_objects, VD_WORLD_MAX_OBJECTS);
    if (p->rare_words < 0 || p->rare_words > 100)
        return vd_fail(err, VD_ERR_ARG, "world: rare words %d%% is outside 0..100",
                       p->rare_words);
    if (p->mirror != 0 && p->mirror != 1)
        return vd_fail(err, VD_ERR_ARG, "world: mirror must be 0 or 1 (got %d)", p->mirror);
    unsigned all = (1u << VD_MOTION_COUNT) - 1;
    if (p->motions & ~all)
        return vd_fail(err, VD_ERR_ARG, "world: motion mask 0x%x names unknown motions",
                       p->motions);
    unsigned m = p->motions ? p->motions : all;
    if (p->max_objects < 2) m &= ~((1u << VD_COLLIDING) | (1u << VD_PASSING));
    if (!m)
        return vd_fail(err, VD_ERR_ARG,
                       "world: colliding and passing need two objects but max objects is %d",
                       p->max_objects);
    return VD_OK;
}

void vd_world_physics_default(vd_world_physics *phys, int width, int height, float fps) {
    (void)width;
    /* Two frame heights per second squared: an object dropped from the top
     * lands in about a second and bounces at least once in a 2 s clip. */
    double f = fps > 0 ? fps : 8;
    phys->gravity = (float)(2.0 * height / (f * f));
    phys->restitution = 0.7f;
    phys->floor_y = (float)height;
    phys->substeps = 8;
}
