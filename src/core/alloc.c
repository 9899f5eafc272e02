#include "core/alloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void *default_alloc(void *user, size_t size, size_t align) {
    (void)user;
    if (size == 0) size = 1;
    /* aligned_alloc requires size to be a multiple of align */
    size_t rounded = (size + align - 1) & ~(align - 1);
    if (rounded < size) return NULL;
    return aligned_alloc(align, rounded);
}

static void default_free(void *user, void *ptr) {
    (void)user;
    free(ptr);
}

static const vd_allocator default_allocator = {default_alloc, default_free, NULL};

const vd_allocator *vd_allocator_default(void) { return &default_allocator; }

void *vd_alloc(const vd_allocator *a, size_t size) {
    if (!a) a = &default_allocator;
    return a->alloc(a->user, size, VD_ALIGN);
}

void *vd_calloc(const vd_allocator *a, size_t count, size_t size) {
    size_t total;
    if (!vd_size_mul(count, size, &total)) return NULL;
    void *p = vd_alloc(a, total);
    if (p) memset(p, 0, total);
    return p;
}

void vd_free(const vd_allocator *a, void *ptr) {
    if (!ptr) return;
    if (!a) a = &default_allocator;
    a->free(a->user, ptr);
}

int vd_size_mul(size_t a, size_t b, size_t *out) {
    if (a != 0 && b > SIZE_MAX / a) return 0;
    *out = a * b;
    return 1;
}

int vd_size_add(size_t a, size_t b, size_t *out) {
    if (b > SIZE_MAX - a) return 0;
    *out = a + b;
    return 1;
}
