#include "core/arena.h"

#include <string.h>

#include "core/alloc.h"

typedef struct arena_chunk {
    struct arena_chunk *prev;
    unsigned char *base;
    size_t size;
    size_t start; /* global offset of base within the arena's address space */
} arena_chunk;

struct vd_arena {
    const vd_allocator *allocator;
    arena_chunk *chunk; /* newest chunk; older ones hang off ->prev */
    size_t used;        /* global offset of the next free byte */
    size_t high_water;
    size_t system_allocs;
};

static size_t align_up(size_t x) { return (x + (VD_ALIGN - 1)) & ~(size_t)(VD_ALIGN - 1); }

static arena_chunk *chunk_new(vd_arena *a, size_t size, size_t start) {
    arena_chunk *c = vd_alloc(a->allocator, sizeof *c);
    if (!c) return NULL;
    c->base = vd_alloc(a->allocator, size);
    if (!c->base) {
        vd_free(a->allocator, c);
        return NULL;
    }
    c->size = size;
    c->start = start;
    c->prev = NULL;
    a->system_allocs++;
    return c;
}

static void chunk_free_all(vd_arena *a, arena_chunk *c) {
    while (c) {
        arena_chunk *prev = c->prev;
        vd_free(a->allocator, c->base);
        vd_free(a->allocator, c);
        c = prev;
    }
}

vd_arena *vd_arena_new(const vd_allocator *allocator, size_t initial) {
    vd_arena *a = vd_alloc(allocator, sizeof *a);
    if (!a) return NULL;
    memset(a, 0, sizeof *a);
    a->allocator = allocator;
    if (initial > 0) {
        a->chunk = chunk_new(a, align_up(initial), 0);
        if (!a->chunk) {
            vd_free(allocator, a);
            return NULL;
        }
    }
    return a;
}

void vd_arena_free(vd_arena *a) {
    if (!a) return;
    chunk_free_all(a, a->chunk);
    vd_free(a->allocator, a);
}

void *vd_arena_alloc(vd_arena *a, size_t bytes) {
    size_t need = align_up(bytes ? bytes : 1);
    if (need < bytes) return NULL;
    arena_chunk *c = a->chunk;
    if (c) {
        size_t off = a->used - c->start;
        if (need <= c->size - off) { /* off + need could wrap for huge requests */
            a->used += need;
            if (a->used > a->high_water) a->high_water = a->used;
            return c->base + off;
        }
    }
    /* New chunk: the arena's address space continues at the end of the
     * current chunk, so marks stay monotonic. */
    size_t start = c ? c->start + c->size : 0;
    size_t size = need > (1u << 20) ? need : (1u << 20);
    if (c && c->size > size) size = c->size; /* grow geometrically */
    arena_chunk *n = chunk_new(a, size, start);
    if (!n) return NULL;
    n->prev = c;
    a->chunk = n;
    a->used = start + need;
    if (a->used > a->high_water) a->high_water = a->used;
    return n->base;
}

float *vd_arena_floats(vd_arena *a, size_t count) {
    if (count > ((size_t)-1) / sizeof(float)) return NULL;
    return vd_arena_alloc(a, count * sizeof(float));
}

float *vd_arena_zeros(vd_arena *a, size_t count) {
    float *p = vd_arena_floats(a, count);
    if (p) memset(p, 0, count * sizeof(float));
    return p;
}

size_t vd_arena_mark(const vd_arena *a) { return a->used; }

void vd_arena_reset(vd_arena *a, size_t mark) {
    if (mark > a->used) return;
    /* Drop chunks that start at or beyond the mark (keeping the first). */
    while (a->chunk && a->chunk->prev && a->chunk->start >= mark) {
        arena_chunk *c = a->chunk;
        a->chunk = c->prev;
        c->prev = NULL;
        /* Remember the space so a merge below can size for it. */
        chunk_free_all(a, c);
    }
    a->used = mark;
    if (mark == 0 && a->chunk && (a->chunk->prev || a->chunk->size < a->high_water)) {
        /* Merge: one block as large as the high-water mark. */
        chunk_free_all(a, a->chunk);
        a->chunk = NULL;
        a->chunk = chunk_new(a, align_up(a->high_water), 0);
        /* On failure the arena simply starts empty and grows again. */
    }
}

size_t vd_arena_used(const vd_arena *a) { return a->used; }
size_t vd_arena_high_water(const vd_arena *a) { return a->high_water; }
size_t vd_arena_system_allocs(const vd_arena *a) { return a->system_allocs; }
