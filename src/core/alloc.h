/* Allocation through a caller-supplied vd_allocator (NULL = default). */
#ifndef VD_CORE_ALLOC_H
#define VD_CORE_ALLOC_H

#include "vidit.h"

#define VD_ALIGN 64

/* 64-byte aligned allocation; NULL on failure or when size == 0 overflows. */
void *vd_alloc(const vd_allocator *a, size_t size);
/* Same, zero-filled. count * size is checked for overflow. */
void *vd_calloc(const vd_allocator *a, size_t count, size_t size);
void vd_free(const vd_allocator *a, void *ptr);

/* Overflow-checked size arithmetic: return 0 and leave *out unchanged on
 * overflow. */
int vd_size_mul(size_t a, size_t b, size_t *out);
int vd_size_add(size_t a, size_t b, size_t *out);

#endif
