/* Random scenes: motion, objects, colours and initial states chosen so the
 * motion is plainly visible (linear motion covers at least a fifth of the
 * frame, falling objects land within the clip) and objects stay mostly in
 * view. The trajectories come from the simulator. */
#include <math.h>
#include <string.h>

#include "core/error.h"
#include "world/world_internal.h"

static double uni(vd_rng *rng, double a, double b) {
    return a + (b - a) * vd_rng_uniform1(rng);
}

static double clampd(double v, double lo, double hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* Uniform in [lo, hi], or their midpoint when the range is empty. */
static double uni_range(vd_rng *rng, double lo, double hi) {
    return hi > lo ? uni(rng, lo, hi) : 0.5 * (lo + hi);
}

static int overlaps(const vd_scene *s, int i, double x, double y) {
    for (int j = 0; j < i; j++) {
        const vd_world_object *o = &s->objects[j];
        double dx = x - o->x[0], dy = y - o->y[0], need = (double)o->radius + s->objects[i].radius + 1;
        if (dx * dx + dy * dy < need * need) return 1;
    }
    return 0;
}

/* Falling objects drift into each other unless their columns are apart. */
static int columns_overlap(const vd_scene *s, int i, double x) {
    for (int j = 0; j < i; j++)
        if (fabs(x - s->objects[j].x[0]) < (double)s->objects[j].radius + s->objects[i].radius + 1)
            return 1;
    return 0;
}

static void set_state(vd_world_object *o, double x, double y, double vx, double vy) {
    o->x[0] = (float)x;
    o->y[0] = (float)y;
    o->vx = (float)vx;
    o->vy = (float)vy;
}

typedef struct shared_draw {
    int dir, speed;
    double dist; /* linear: distance covered over the clip */
    double v;    /* entering/leaving: speed along the axis */
    double frac; /* entering/leaving: where object 0 ends or starts */
} shared_draw;

/* Places object i for a one-kind motion; 0 when no spot was found. */
static int place(vd_scene *s, int i, const shared_draw *d, vd_rng *rng) {
    vd_world_object *o = &s->objects[i];
    const double W = s->width, H = s->height, r = o->radius, F1 = s->frames > 1 ? s->frames - 1 : 1;
    const double g = s->physics.gravity, floor_y = s->physics.floor_y;
    const double mg = 0.6 * r; /* centre this far inside: mostly in view */
    for (int attempt = 0; attempt < 40; attempt++) {
        double x = 0, y = 0, vx = 0, vy = 0;
        switch (s->motion) {
        case VD_LINEAR: {
            float ux, uy;
            vd_direction_vector(d->dir, &ux, &uy);
            double ex = d->dist * ux, ey = d->dist * uy;
            x = uni_range(rng, mg - fmin(0, ex), W - mg - fmax(0, ex));
            y = uni_range(rng, mg - fmin(0, ey), H - mg - fmax(0, ey));
            vx = ex / F1;
            vy = ey / F1;
            break;
        }
        case VD_FALLING: {
            x = uni_range(rng, r, W - r);
            double t_hit = uni(rng, 0.3, 0.55) * F1, drop = 0.5 * g * t_hit * t_hit;
            y = clampd(floor_y - r - drop, r, floor_y - r - 0.1 * H);
            if (columns_overlap(s, i, x)) continue;
            break;
        }
        case VD_THROWN: {
            double travel = uni(rng, 0.4, 0.6) * W, sx = d->dir == VD_LEFT ? -1 : 1;
            double x0 = uni_range(rng, mg, W - mg - travel);
            x = sx > 0 ? x0 : W - x0;
            y = uni_range(rng, 0.5 * H, floor_y - r - 1);
            double rise = uni_range(rng, 0.3 * H, y - r);
            vx = sx * travel / F1;
            vy = -sqrt(2.0 * g * rise);
            break;
        }
        case VD_ENTERING:
        case VD_LEAVING: {
            float ux, uy;
            vd_direction_vector(d->dir, &ux, &uy);
            int horiz = ux != 0;
            double L = horiz ? W : H, P = horiz ? H : W, sgn = horiz ? ux : uy;
            double along; /* measured in the direction of motion, from the entry edge */
            if (s->motion == VD_ENTERING) {
                along = -1.2 * r - uni(rng, 0, 0.3 * r);
            } else {
                along = i == 0 ? d->frac * L : uni(rng, 0.4, 0.65) * L;
                /* It must be outside by the last frame. */
                along = fmax(along, L + 1.2 * r - d->v * F1);
            }
            double across = uni_range(rng, r, P - r);
            double pos = sgn > 0 ? along : L - along;
            x = horiz ? pos : across;
            y = horiz ? across : pos;
            vx = d->v * ux;
            vy = d->v * uy;
            break;
        }
        default: /* VD_STILL */
            x = uni_range(rng, r, W - r);
            y = uni_range(rng, r, H - r);
            break;
        }
        if (s->motion != VD_FALLING && overlaps(s, i, x, y)) continue;
        set_state(o, x, y, vx, vy);
        return 1;
    }
    return 0;
}

static void sample_pair(vd_scene *s, vd_rng *rng) {
    vd_world_object *a = &s->objects[0], *b = &s->objects[1];
    const double W = s->width, H = s->height, F1 = s->frames > 1 ? s->frames - 1 : 1;
    const double ra = a->radius, rb = b->radius;
    int mirror = vd_rng_below(rng, 2);
    double xa, xb, va, vb, ya, yb;
    if (s->motion == VD_COLLIDING) {
        /* Head-on along a horizontal line; contact near the middle of the
         * clip and of the frame. */
        double yc = uni(rng, 0.3, 0.7) * H, xc = uni(rng, 0.4, 0.6) * W;
        double tc = uni(rng, 0.35, 0.5) * F1;
        double da = fmin(uni(rng, 0.2, 0.32) * W, xc - 1.6 * ra);
        double db = vd_rng_below(rng, 10) < 3 ? 0 : fmin(uni(rng, 0.15, 0.3) * W, W - xc - 1.6 * rb);
        if (da < 0.1 * W) da = 0.1 * W;
        if (db < 0) db = 0;
        va = da / tc;
        vb = -db / tc;
        xa = xc - ra - da;
        xb = xc + rb + db;
        ya = yb = yc;
        if (vd_rng_below(rng, 2)) {
            a->mass = b->mass = 1;
        } else {
            a->mass = vd_world_shape_area(a->shape, a->radius);
            b->mass = vd_world_shape_area(b->shape, b->radius);
        }
        a->angle = b->angle = 0; /* flat faces meet flat on */
        a->direction = VD_RIGHT;
        b->direction = db > 0 ? VD_LEFT : VD_DIR_NONE;
        a->motion = b->motion = VD_COLLIDING;
        a->depth = 0;
        b->depth = 1;
    } else {
        /* Passing: a moves across b, which stays put, at nearly the same
         * height so that they overlap on screen. */
        xb = uni(rng, 0.4, 0.6) * W;
        yb = uni(rng, 0.3, 0.7) * H;
        ya = yb + uni(rng, -0.3, 0.3) * fmin(ra, rb);
        double half = fmin(uni(rng, 0.28, 0.36) * W, fmin(xb, W - xb) - 0.6 * ra);
        xa = xb - half;
        va = 2.0 * half / F1;
        vb = 0;
        a->direction = VD_RIGHT;
        b->direction = VD_DIR_NONE;
        a->motion = VD_PASSING;
        b->motion = VD_STILL;
        int front = (int)vd_rng_below(rng, 2);
        a->depth = front ? 1 : 0;
        b->depth = front ? 0 : 1;
    }
    if (mirror) {
        xa = W - xa;
        xb = W - xb;
        va = -va;
        vb = -vb;
        if (a->direction == VD_RIGHT) a->direction = VD_LEFT;
        if (b->direction == VD_LEFT) b->direction = VD_RIGHT;
    }
    set_state(a, xa, ya, va, 0);
    set_state(b, xb, yb, vb, 0);
}

vd_status vd_world_sample(vd_scene *s, const vd_world_params *p, vd_rng *rng,
                          vd_error *err) {
    vd_status st = vd_world_params_check(p, err);
    if (st) return st;
    memset(s, 0, sizeof *s);
    s->width = p->width;
    s->height = p->height;
    s->frames = p->frames;
    s->fps = p->fps;
    vd_world_physics_default(&s->physics, p->width, p->height, p->fps);

    unsigned mask = p->motions ? p->motions : (1u << VD_MOTION_COUNT) - 1;
    if (p->max_objects < 2) mask &= ~((1u << VD_COLLIDING) | (1u << VD_PASSING));
    int allowed[VD_MOTION_COUNT], n_allowed = 0;
    for (int m = 0; m < VD_MOTION_COUNT; m++)
        if (mask & (1u << m)) allowed[n_allowed++] = m;
    s->motion = allowed[vd_rng_below(rng, (uint32_t)n_allowed)];
    int pair = s->motion == VD_COLLIDING || s->motion == VD_PASSING;
    s->n_objects = pair ? 2 : 1 + (int)vd_rng_below(rng, (uint32_t)p->max_objects);

    /* Background and object colours all distinct: a partial shuffle. */
    int colours[VD_COLOUR_COUNT];
    for (int c = 0; c < VD_COLOUR_COUNT; c++) colours[c] = c;
    for (int k = 0; k <= s->n_objects; k++) {
        int j = k + (int)vd_rng_below(rng, (uint32_t)(VD_COLOUR_COUNT - k));
        int t = colours[k];
        colours[k] = colours[j];
        colours[j] = t;
    }
    s->background = colours[0];

    shared_draw d = {0};
    switch (s->motion) {
    case VD_LINEAR: {
        d.dir = 1 + (int)vd_rng_below(rng, 8);
        d.speed = vd_rng_below(rng, 2) ? VD_FAST : VD_SLOW;
        int m = s->width < s->height ? s->width : s->height;
        d.dist = (d.speed == VD_FAST ? uni(rng, 0.45, 0.55) : uni(rng, 0.22, 0.3)) * m;
        break;
    }
    case VD_THROWN: d.dir = vd_rng_below(rng, 2) ? VD_LEFT : VD_RIGHT; break;
    case VD_ENTERING:
    case VD_LEAVING: {
        static const int axes[4] = {VD_RIGHT, VD_UP, VD_LEFT, VD_DOWN};
        d.dir = axes[vd_rng_below(rng, 4)];
        break;
    }
    case VD_FALLING: d.dir = VD_DOWN; break;
    default: break;
    }

    for (int i = 0; i < s->n_objects; i++) {
        vd_world_object *o = &s->objects[i];
        o->colour = colours[i + 1];
        o->shape = (int)vd_rng_below(rng, VD_SHAPE_COUNT);
        o->size = (int)vd_rng_below(rng, VD_SIZE_COUNT);
        o->radius = vd_size_radius(o->size, s->width, s->height);
        o->angle = o->shape == VD_SQUARE ? (float)uni(rng, 0, 1.5707963)
                 : o->shape == VD_TRIANGLE ? (float)uni(rng, 0, 2.0943951) : 0.0f;
        o->motion = s->motion;
        o->direction = d.dir;
        o->speed = d.speed;
        o->depth = i;
        o->mass = vd_world_shape_area(o->shape, o->radius);
    }
    if (pair) {
        sample_pair(s, rng);
    } else {
        const double F1 = s->frames > 1 ? s->frames - 1 : 1;
        if (s->motion == VD_ENTERING || s->motion == VD_LEAVING) {
            /* One speed for every object, set by object 0's path. */
            int horiz = d.dir == VD_LEFT || d.dir == VD_RIGHT;
            double L = horiz ? s->width : s->height, r0 = s->objects[0].radius;
            if (s->motion == VD_ENTERING) {
                double end = uni(rng, 0.35, 0.6) * L;
                d.v = (end + 1.35 * r0) / F1;
            } else {
                d.frac = uni(rng, 0.4, 0.65);
                d.v = (L + 1.3 * r0 - d.frac * L) / F1;
            }
        }
        for (int i = 0; i < s->n_objects; i++) {
            if (!place(s, i, &d, rng)) {
                s->n_objects = i; /* no room: fewer objects */
                break;
            }
        }
        /* Depth: a random order. */
        for (int i = s->n_objects - 1; i > 0; i--) {
            int j = (int)vd_rng_below(rng, (uint32_t)(i + 1));
            int t = s->objects[i].depth;
            s->objects[i].depth = s->objects[j].depth;
            s->objects[j].depth = t;
        }
    }
    vd_world_simulate(s);
    return VD_OK;
}

void vd_world_scene_spec(const vd_scene *s, vd_prompt_spec *spec) {
    memset(spec, 0, sizeof *spec);
    spec->n_objects = s->n_objects;
    for (int i = 0; i < s->n_objects && i < VD_WORLD_MAX_OBJECTS; i++) {
        spec->objects[i].colour = s->objects[i].colour;
        spec->objects[i].shape = s->objects[i].shape;
        spec->objects[i].size = s->objects[i].size;
    }
    for (int i = s->n_objects; i < VD_WORLD_MAX_OBJECTS; i++)
        spec->objects[i].colour = spec->objects[i].shape = spec->objects[i].size = -1;
    spec->background = s->background;
    spec->motion = s->motion;
    spec->direction = VD_DIR_NONE;
    spec->speed = VD_SPEED_NONE;
    spec->front = -1;
    if (s->n_objects < 1) return;
    const vd_world_object *a = &s->objects[0];
    switch (s->motion) {
    case VD_LINEAR:
        spec->direction = a->direction;
        spec->speed = a->speed;
        break;
    case VD_FALLING: spec->direction = VD_DOWN; break;
    case VD_THROWN:
    case VD_ENTERING:
    case VD_LEAVING:
    case VD_PASSING: spec->direction = a->direction; break;
    default: break;
    }
    if (s->motion == VD_PASSING && s->n_objects >= 2)
        spec->front = a->depth > s->objects[1].depth;
}

/* Direction d (1..8) points at 45 * (d - 1) degrees, y up. */
static int mirror_direction(int dir, int horizontal, int vertical) {
    if (dir == VD_DIR_NONE) return dir;
    int k = dir - 1;
    if (horizontal) k = (12 - k) % 8; /* angle -> 180 - angle */
    if (vertical) k = (8 - k) % 8;    /* angle -> -angle */
    return k + 1;
}

void vd_world_mirror(vd_scene *s, int horizontal, int vertical) {
    for (int i = 0; i < s->n_objects; i++) {
        vd_world_object *o = &s->objects[i];
        for (int f = 0; f < s->frames; f++) {
            if (horizontal) o->x[f] = (float)s->width - o->x[f];
            if (vertical) o->y[f] = (float)s->height - o->y[f];
        }
        if (horizontal) o->vx = -o->vx;
        if (vertical) o->vy = -o->vy;
        o->direction = mirror_direction(o->direction, horizontal, vertical);
        /* A mirror turns a rotation the other way. The triangle's vertex
         * points up at angle 0, so an up-down mirror also turns it half a
         * turn; the square's half turn is a symmetry. Angles are kept in
         * the ranges the sampler draws (a shape's symmetry period). */
        if (horizontal != vertical || (vertical && o->shape == VD_TRIANGLE)) {
            const double period = o->shape == VD_SQUARE ? 1.5707963267948966
                                : o->shape == VD_TRIANGLE ? 2.0943951023931957 : 0;
            if (period > 0) {
                double a = horizontal != vertical ? -o->angle : o->angle;
                if (vertical && o->shape == VD_TRIANGLE) a += 3.14159265358979324;
                a = fmod(a, period);
                if (a < 0) a += period;
                o->angle = (float)a;
            }
        }
    }
}

vd_status vd_world_generate(const vd_world_params *p, uint64_t seed, uint64_t index,
                            vd_scene *scene, char *caption, size_t caption_size,
                            vd_error *err) {
    vd_rng root;
    vd_rng_init(&root, seed);
    const unsigned variant = p->mirror ? (unsigned)(index % 4) : 0;
    vd_rng rng = vd_rng_fork(&root, p->mirror ? index / 4 : index);
    vd_status st = vd_world_sample(scene, p, &rng, err);
    if (st) return st;
    if (p->mirror) {
        int vertical = (variant & 2) && !vd_world_motion_has_gravity(scene->motion);
        vd_world_mirror(scene, (int)(variant & 1), vertical);
        rng = vd_rng_fork(&rng, variant);
    }
    if (caption) vd_world_caption(scene, &rng, p->rare_words, caption, caption_size);
    return VD_OK;
}
