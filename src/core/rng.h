/* Counter-based random numbers (Philox-4x32-10, Salmon et al. 2011).
 *
 * Element i of a draw is a pure function of (seed, offset + i), so a fill is
 * split across threads freely and gives the same numbers for any thread
 * count. A vd_rng is just the seed and the next unused counter. */
#ifndef VD_CORE_RNG_H
#define VD_CORE_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct vd_rng {
    uint64_t seed;
    uint64_t offset; /* counter of the next 128-bit block */
} vd_rng;

void vd_rng_init(vd_rng *rng, uint64_t seed);
/* An independent stream: same seed, a different key derived from `stream`. */
vd_rng vd_rng_fork(const vd_rng *rng, uint64_t stream);

/* The raw generator: four 32-bit words for (key, counter). */
void vd_philox4x32(uint64_t key, uint64_t counter, uint32_t out[4]);

/* Fills and advances the counter past what was used. */
void vd_rng_uniform(vd_rng *rng, float *out, size_t n);        /* [0, 1) */
void vd_rng_normal(vd_rng *rng, float *out, size_t n);         /* N(0, 1) */
uint32_t vd_rng_u32(vd_rng *rng);
double vd_rng_uniform1(vd_rng *rng); /* one double in [0, 1) */
double vd_rng_normal1(vd_rng *rng);
/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint32_t vd_rng_below(vd_rng *rng, uint32_t n);

#endif
