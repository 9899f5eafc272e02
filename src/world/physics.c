/* The world's physics at a fixed sub-step: free flight, gravity with floor
 * bounces (contact times solved exactly inside a sub-step, so the bounce
 * keeps restitution * impact speed to rounding), and elastic two-body
 * collisions. Everything runs in double and is stored as float per frame. */
#include <math.h>

#include "world/world_internal.h"

static int substeps_of(const vd_world_physics *phys) {
    return phys->substeps > 0 ? phys->substeps : 1;
}

void vd_world_rollout(const vd_world_physics *phys, float x0, float y0, float vx0,
                      float vy0, int gravity_on, float radius, int frames,
                      float *x, float *y) {
    if (frames <= 0) return;
    if (!gravity_on) {
        /* Closed form: stepping would only add rounding. */
        for (int t = 0; t < frames; t++) {
            x[t] = (float)((double)x0 + (double)vx0 * t);
            y[t] = (float)((double)y0 + (double)vy0 * t);
        }
        return;
    }
    const int steps = substeps_of(phys);
    const double dt = 1.0 / steps, g = phys->gravity, e = phys->restitution;
    const double floor_c = (double)phys->floor_y - radius; /* centre at contact */
    double px = x0, py = y0, vx = vx0, vy = vy0;
    int resting = 0;
    if (py > floor_c) py = floor_c;
    for (int t = 0; t < frames; t++) {
        x[t] = (float)px;
        y[t] = (float)py;
        if (t == frames - 1) break;
        for (int s = 0; s < steps; s++) {
            double rem = dt;
            /* A sub-step holds at most a few bounces; the guard stops a
             * ball that has come to rest from bouncing forever. */
            for (int guard = 0; rem > 0 && guard < 8; guard++) {
                if (resting) {
                    px += vx * rem;
                    py = floor_c;
                    vy = 0;
                    break;
                }
                double ny = py + vy * rem + 0.5 * g * rem * rem;
                if (ny <= floor_c) {
                    px += vx * rem;
                    py = ny;
                    vy += g * rem;
                    break;
                }
                /* Solve py + vy tau + g tau^2 / 2 = floor_c for the first
                 * root in [0, rem]. */
                double c = py - floor_c, tau;
                if (g > 0) {
                    double disc = vy * vy - 2.0 * g * c;
                    tau = (-vy + sqrt(disc > 0 ? disc : 0)) / g;
                } else {
                    tau = vy > 0 ? -c / vy : rem;
                }
                if (tau < 0) tau = 0;
                if (tau > rem) tau = rem;
                px += vx * tau;
                double impact = vy + g * tau;
                py = floor_c;
                vy = -e * impact;
                rem -= tau;
                /* Below a sub-step's worth of gravity the bounce is lost in
                 * the step size: the object rests. */
                if (fabs(vy) < g * dt) resting = 1;
            }
        }
    }
}

/* First time in [0, rem] at which two discs moving apart by d + w tau reach
 * distance R while approaching; -1 when they do not. */
static double contact_time(double dx, double dy, double wx, double wy, double R,
                           double rem) {
    double a = wx * wx + wy * wy, b = 2.0 * (dx * wx + dy * wy), c = dx * dx + dy * dy - R * R;
    if (b >= 0) return -1; /* not approaching */
    if (c <= 0) return 0;  /* already touching */
    if (a <= 0) return -1;
    double disc = b * b - 4.0 * a * c;
    if (disc < 0) return -1;
    double tau = (-b - sqrt(disc)) / (2.0 * a);
    return tau >= 0 && tau <= rem ? tau : -1;
}

void vd_world_simulate_pair(const vd_world_physics *phys, vd_world_object *a,
                            vd_world_object *b, int frames) {
    const int steps = substeps_of(phys);
    const double dt = 1.0 / steps, R = (double)a->radius + b->radius;
    const double ma = a->mass > 0 ? a->mass : 1, mb = b->mass > 0 ? b->mass : 1;
    double ax = a->x[0], ay = a->y[0], avx = a->vx, avy = a->vy;
    double bx = b->x[0], by = b->y[0], bvx = b->vx, bvy = b->vy;
    for (int t = 0; t < frames; t++) {
        a->x[t] = (float)ax;
        a->y[t] = (float)ay;
        b->x[t] = (float)bx;
        b->y[t] = (float)by;
        if (t == frames - 1) break;
        for (int s = 0; s < steps; s++) {
            double rem = dt;
            for (int guard = 0; rem > 0 && guard < 4; guard++) {
                double tau = contact_time(bx - ax, by - ay, bvx - avx, bvy - avy, R, rem);
                double go = tau < 0 ? rem : tau;
                ax += avx * go;
                ay += avy * go;
                bx += bvx * go;
                by += bvy * go;
                rem -= go;
                if (tau < 0) break;
                double nx = bx - ax, ny = by - ay, n = sqrt(nx * nx + ny * ny);
                if (n <= 0) break;
                nx /= n;
                ny /= n;
                double ua = avx * nx + avy * ny, ub = bvx * nx + bvy * ny;
                double ua2 = ((ma - mb) * ua + 2.0 * mb * ub) / (ma + mb);
                double ub2 = ((mb - ma) * ub + 2.0 * ma * ua) / (ma + mb);
                avx += (ua2 - ua) * nx;
                avy += (ua2 - ua) * ny;
                bvx += (ub2 - ub) * nx;
                bvy += (ub2 - ub) * ny;
            }
        }
    }
}

int vd_world_motion_has_gravity(int motion) { return motion == VD_FALLING || motion == VD_THROWN; }

void vd_world_simulate(vd_scene *scene) {
    const int frames = scene->frames;
    if (scene->motion == VD_COLLIDING && scene->n_objects >= 2) {
        vd_world_simulate_pair(&scene->physics, &scene->objects[0], &scene->objects[1],
                               frames);
        return;
    }
    for (int i = 0; i < scene->n_objects; i++) {
        vd_world_object *o = &scene->objects[i];
        int gravity = vd_world_motion_has_gravity(o->motion);
        vd_world_rollout(&scene->physics, o->x[0], o->y[0], o->vx, o->vy, gravity,
                         o->radius, frames, o->x, o->y);
    }
}
