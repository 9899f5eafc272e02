/* A bump allocator for activations and scratch memory.
 *
 * A training or sampling step takes what it needs from an arena and resets it
 * at the end. The first step may grow the arena (one system allocation per
 * new chunk); a reset to mark 0 merges the chunks into one block large enough
 * for the high-water mark, so every later step with the same shapes performs
 * no system allocation at all (vd_arena_system_allocs tells). */
#ifndef VD_CORE_ARENA_H
#define VD_CORE_ARENA_H

#include <stddef.h>

#include "vidit.h"

typedef struct vd_arena vd_arena;

/* initial may be 0. Returns NULL when out of memory. */
vd_arena *vd_arena_new(const vd_allocator *allocator, size_t initial);
void vd_arena_free(vd_arena *arena);

/* 64-byte aligned, uninitialised; NULL when out of memory. */
void *vd_arena_alloc(vd_arena *arena, size_t bytes);
/* Same, for count floats, zero-filled. */
float *vd_arena_zeros(vd_arena *arena, size_t count);
float *vd_arena_floats(vd_arena *arena, size_t count);

/* A position to return to: everything allocated after it is released. */
size_t vd_arena_mark(const vd_arena *arena);
void vd_arena_reset(vd_arena *arena, size_t mark);

size_t vd_arena_used(const vd_arena *arena);      /* bytes in use now */
size_t vd_arena_high_water(const vd_arena *arena); /* most bytes ever used */
/* How many times the arena asked its allocator for memory since it was made. */
size_t vd_arena_system_allocs(const vd_arena *arena);

#endif
