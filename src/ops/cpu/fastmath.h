/* Vectorisable elementary functions for the CPU kernels. */
#ifndef VD_OPS_CPU_FASTMATH_H
#define VD_OPS_CPU_FASTMATH_H

#include <math.h>
#include <stdint.h>

/* exp(x), written so that the compiler vectorises the loops calling it:
 * Cody-Waite range reduction and Cephes' degree-6 polynomial (about 1 ulp). Returns 0 below -87.3, so
 * masked attention scores (-inf) give exactly 0; saturates at 2^127 above 88.
 * libm's expf is not vectorised without -ffast-math: it was the largest cost
 * of attention's tile loop, and tanhf (through expm1f) a third of a DiT
 * training step. */
static inline float vd_fast_expf(float x) {
    const float log2e = 1.44269504088896341f;
    float xc = x < -87.3f ? -87.3f : x;
    xc = xc > 88.0f ? 88.0f : xc;
    /* Round to nearest by adding and removing 1.5 * 2^23 (exact for
     * |t| < 2^22): unlike floorf (a libm call without -ffast-math) or an
     * integer conversion (which blocks if-conversion under trapping math)
     * the loops calling this vectorise. -ffast-math would fold the trick
     * away, but it also makes floorf inline. */
    const float t = xc * log2e;
#ifdef __FAST_MATH__
    const float n = floorf(t + 0.5f);
#else
    const float magic = 12582912.0f;
    const float n = (t + magic) - magic;
#endif
    /* A NaN input stays NaN through p whatever the exponent; converting NaN
     * to an integer is undefined in C, so it takes exponent 0 instead. */
    const int32_t ni = (int32_t)(n == n ? n : 0.0f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * r * r + r + 1.0f;
    union {
        int32_t i;
        float f;
    } e;
    e.i = (ni + 127) << 23;
    float y = p * e.f;
    return x < -87.3f ? 0.0f : y;
}

#if defined(__AVX512F__) && !defined(__FAST_MATH__)
#include <immintrin.h>
#define VD_FAST_EXP16 1

/* vd_fast_expf on 16 floats, operation for operation (the same clamps,
 * rounding trick and polynomial, no fused multiply-adds), so that both give
 * the same bits and vector and scalar loops can share a row. The compiler's
 * own vectorisation of vd_fast_expf used 8-wide masked operations. */
static inline __m512 vd_fast_exp16(__m512 x) {
    const __m512 lo = _mm512_set1_ps(-87.3f), hi = _mm512_set1_ps(88.0f);
    const __m512 magic = _mm512_set1_ps(12582912.0f);
    /* MAXPS / MINPS return their second operand when one is NaN: these are
     * x < -87.3 ? -87.3 : x and xc > 88 ? 88 : xc, NaN kept. */
    __m512 xc = _mm512_max_ps(lo, x);
    xc = _mm512_min_ps(hi, xc);
    const __m512 t = _mm512_mul_ps(xc, _mm512_set1_ps(1.44269504088896341f));
    const __m512 n = _mm512_sub_ps(_mm512_add_ps(t, magic), magic);
    const __m512i ni = _mm512_cvttps_epi32(n);
    __m512 r = _mm512_sub_ps(xc, _mm512_mul_ps(n, _mm512_set1_ps(0.693359375f)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, _mm512_set1_ps(-2.12194440e-4f)));
    __m512 p = _mm512_set1_ps(1.9875691500e-4f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.3981999507e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(8.3334519073e-3f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(4.1665795894e-2f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(1.6666665459e-1f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), _mm512_set1_ps(5.0000001201e-1f));
    p = _mm512_add_ps(_mm512_add_ps(_mm512_mul_ps(_mm512_mul_ps(p, r), r), r), _mm512_set1_ps(1.0f));
    const __m512i e = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
    const __m512 y = _mm512_mul_ps(p, _mm512_castsi512_ps(e));
    return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, lo, _CMP_LT_OQ), y, _mm512_setzero_ps());
}
#endif

/* tanh(x) = 1 - 2 / (1 + e^(2x)): absolute error below 2e-7, exactly +-1
 * in the saturated tails. */
static inline float vd_fast_tanhf(float x) { return 1.0f - 2.0f / (1.0f + vd_fast_expf(2.0f * x)); }

/* 1 / (1 + e^-x); tends to 0 (not NaN) for very negative x. */
static inline float vd_fast_sigmoidf(float x) { return 1.0f / (1.0f + vd_fast_expf(-x)); }

#endif
