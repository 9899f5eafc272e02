#include "core/rng.h"

#include <math.h>

void vd_philox4x32(uint64_t key, uint64_t counter, uint32_t out[4]) {
    uint32_t c0 = (uint32_t)counter, c1 = (uint32_t)(counter >> 32), c2 = 0, c3 = 0;
    uint32_t k0 = (uint32_t)key, k1 = (uint32_t)(key >> 32);
    for (int round = 0; round < 10; round++) {
        uint64_t p0 = (uint64_t)0xD2511F53u * c0;
        uint64_t p1 = (uint64_t)0xCD9E8D57u * c2;
        uint32_t n0 = (uint32_t)(p1 >> 32) ^ c1 ^ k0;
        uint32_t n1 = (uint32_t)p1;
        uint32_t n2 = (uint32_t)(p0 >> 32) ^ c3 ^ k1;
        uint32_t n3 = (uint32_t)p0;
        c0 = n0;
        c1 = n1;
        c2 = n2;
        c3 = n3;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    out[0] = c0;
    out[1] = c1;
    out[2] = c2;
    out[3] = c3;
}

void vd_rng_init(vd_rng *rng, uint64_t seed) {
    rng->seed = seed;
    rng->offset = 0;
}

vd_rng vd_rng_fork(const vd_rng *rng, uint64_t stream) {
    uint32_t w[4];
    vd_philox4x32(rng->seed ^ 0x5851F42D4C957F2Dull, stream, w);
    vd_rng r = {((uint64_t)w[0] << 32) | w[1], 0};
    return r;
}

static float u32_to_unit(uint32_t x) { return (float)(x >> 8) * (1.0f / 16777216.0f); }

void vd_rng_uniform(vd_rng *rng, float *out, size_t n) {
    uint64_t base = rng->offset;
    size_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < blocks; b++) {
        uint32_t w[4];
        vd_philox4x32(rng->seed, base + b, w);
        for (int j = 0; j < 4 && b * 4 + (size_t)j < n; j++) out[b * 4 + (size_t)j] = u32_to_unit(w[j]);
    }
    rng->offset += blocks;
}

void vd_rng_normal(vd_rng *rng, float *out, size_t n) {
    /* Box-Muller: each 128-bit block gives four normals. */
    uint64_t base = rng->offset;
    size_t blocks = (n + 3) / 4;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t b = 0; b < blocks; b++) {
        uint32_t w[4];
        vd_philox4x32(rng->seed, base + b, w);
        float z[4];
        for (int j = 0; j < 4; j += 2) {
            /* u1 in (0, 1] so that log never sees zero */
            double u1 = ((double)(w[j] >> 8) + 1.0) / 16777216.0;
            double u2 = (double)(w[j + 1] >> 8) / 16777216.0;
            double r = sqrt(-2.0 * log(u1));
            z[j] = (float)(r * cos(6.283185307179586 * u2));
            z[j + 1] = (float)(r * sin(6.283185307179586 * u2));
        }
        for (int j = 0; j < 4 && b * 4 + (size_t)j < n; j++) out[b * 4 + (size_t)j] = z[j];
    }
    rng->offset += blocks;
}

uint32_t vd_rng_u32(vd_rng *rng) {
    uint32_t w[4];
    vd_philox4x32(rng->seed, rng->offset++, w);
    return w[0];
}

double vd_rng_uniform1(vd_rng *rng) {
    uint32_t w[4];
    vd_philox4x32(rng->seed, rng->offset++, w);
    uint64_t bits = ((uint64_t)w[0] << 21) ^ (uint64_t)w[1]; /* 53 bits */
    bits &= (1ull << 53) - 1;
    return (double)bits / 9007199254740992.0;
}

double vd_rng_normal1(vd_rng *rng) {
    uint32_t w[4];
    vd_philox4x32(rng->seed, rng->offset++, w);
    double u1 = ((double)(w[0] >> 8) + 1.0) / 16777216.0;
    double u2 = (double)(w[1] >> 8) / 16777216.0;
    return sqrt(-2.0 * log(u1)) * cos(6.283185307179586 * u2);
}

uint32_t vd_rng_below(vd_rng *rng, uint32_t n) {
    uint32_t limit = UINT32_MAX - UINT32_MAX % n;
    for (;;) {
        uint32_t x = vd_rng_u32(rng);
        if (x < limit) return x % n;
    }
}
