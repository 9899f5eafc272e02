/* Shared inside src/world: the simulator's entry point for a sampled scene,
 * which motions have gravity, and the two-body collision. */
#ifndef VD_WORLD_INTERNAL_H
#define VD_WORLD_INTERNAL_H

#include "world/world.h"

/* Whether objects of this motion fall under gravity (the others fly free). */
int vd_world_motion_has_gravity(int motion);

/* Fills every object's trajectory from its frame-0 state (x[0], y[0], vx,
 * vy) according to the scene's motion. */
void vd_world_simulate(vd_scene *scene);

/* Two free bodies without gravity that collide elastically (1D along the
 * line of centres at contact, treating each as a disc of its radius). */
void vd_world_simulate_pair(const vd_world_physics *phys, vd_world_object *a,
                            vd_world_object *b, int frames);

#endif
