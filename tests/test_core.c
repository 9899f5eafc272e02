/* Core: half-precision conversions (exhaustive for f16, hand-computed bit
 * patterns for rounding), the arena's alignment and steady-state behaviour,
 * the Philox generator (known answer, determinism across thread counts,
 * moments), deterministic sums, and the rule for OpenBLAS's kernels (with
 * build/vidit's restart when this machine's OpenBLAS falls back). */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/blas_core.h"
#include "core/rng.h"
#include "core/tensor.h"
#include "core/threads.h"
#include "test.h"

static uint32_t bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static float from_bits(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/* The f16 value of h computed from the definition, independently of
 * vd_f16_to_f32. */
static double f16_reference(uint16_t h) {
    int sign = h >> 15, exp = (h >> 10) & 31, man = h & 1023;
    double v;
    if (exp == 0) v = ldexp(man, -24);
    else if (exp == 31) v = man ? NAN : INFINITY;
    else v = ldexp(1024 + man, exp - 25);
    return sign ? -v : v;
}

static void test_f16_exhaustive(void) {
    int bad_value = 0, bad_trip = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vd_f16_to_f32((uint16_t)h);
        double ref = f16_reference((uint16_t)h);
        if (isnan(ref)) {
            if (!isnan(f)) bad_value++;
            uint16_t back = vd_f32_to_f16(f);
            if ((back & 0x7c00) != 0x7c00 || (back & 0x3ff) == 0) bad_trip++;
            continue;
        }
        if ((double)f != ref || !signbit(f) != !signbit(ref)) {
            if (bad_value++ < 3) fprintf(stderr, "f16 %04x -> %g, want %g\n", h, (double)f, ref);
        }
        uint16_t back = vd_f32_to_f16(f);
        if (back != h) {
            if (bad_trip++ < 3) fprintf(stderr, "f16 %04x -> f32 -> %04x\n", h, back);
        }
    }
    CHECK(bad_value == 0, "%d f16 patterns decode wrong", bad_value);
    CHECK(bad_trip == 0, "%d f16 patterns do not round-trip through f32", bad_trip);
}

static void test_f32_to_f16_cases(void) {
    static const struct {
        uint32_t f32;
        uint16_t f16;
        const char *what;
    } cases[] = {
        {0x3f800000u, 0x3c00, "1.0"},
        {0x3f801000u, 0x3c00, "1 + 2^-11: tie, stays even"},
        {0x3f803000u, 0x3c02, "1 + 3*2^-11: tie, rounds up to even"},
        {0x3f801001u, 0x3c01, "just above the tie"},
        {0x3f800fffu, 0x3c00, "just below the tie"},
        {0x477fe000u, 0x7bff, "65504, the largest finite"},
        {0x477fefffu, 0x7bff, "just below 65520"},
        {0x477ff000u, 0x7c00, "65520 rounds to infinity"},
        {0x501502f9u, 0x7c00, "1e10 overflows to infinity"},
        {0xff800000u, 0xfc00, "-infinity"},
        {0x80000000u, 0x8000, "-0"},
        {0x38800000u, 0x0400, "2^-14, the smallest normal"},
        {0x387fe000u, 0x0400, "1023.5 * 2^-24: tie, rounds up into the normals"},
        {0x387fc000u, 0x03ff, "1023 * 2^-24, the largest subnormal"},
        {0x33800000u, 0x0001, "2^-24, the smallest subnormal"},
        {0xb3800000u, 0x8001, "-2^-24"},
        {0x33000000u, 0x0000, "2^-25: tie, rounds to even zero"},
        {0x33000001u, 0x0001, "just above 2^-25"},
        {0x33c00000u, 0x0002, "1.5 * 2^-24: tie, rounds to 2"},
        {0x34200000u, 0x0002, "2.5 * 2^-24: tie, rounds to 2"},
        {0x32800000u, 0x0000, "2^-26 underflows"},
        {0x00000001u, 0x0000, "f32 subnormal underflows"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint16_t got = vd_f32_to_f16(from_bits(cases[i].f32));
        CHECK(got == cases[i].f16, "f32 %08x -> f16 %04x, want %04x (%s)", cases[i].f32, got,
              cases[i].f16, cases[i].what);
    }
    uint16_t nan = vd_f32_to_f16(from_bits(0x7f800001u));
    CHECK((nan & 0x7c00) == 0x7c00 && (nan & 0x3ff) != 0, "signalling NaN stays NaN: %04x", nan);
}

static void test_bf16(void) {
    static const struct {
        uint32_t f32;
        uint16_t bf16;
        const char *what;
    } cases[] = {
        {0x3f800000u, 0x3f80, "1.0"},
        {0x3f808000u, 0x3f80, "tie, stays even"},
        {0x3f818000u, 0x3f82, "tie, rounds up to even"},
        {0x3f808001u, 0x3f81, "just above the tie"},
        {0x3f807fffu, 0x3f80, "just below the tie"},
        {0xbf818000u, 0xbf82, "negative tie"},
        {0x7f7fffffu, 0x7f80, "largest float rounds to infinity"},
        {0x7f800000u, 0x7f80, "infinity"},
        {0x80000000u, 0x8000, "-0"},
        {0x00008000u, 0x0000, "subnormal tie to even zero"},
        {0x00018000u, 0x0002, "subnormal tie up to even"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        uint16_t got = vd_f32_to_bf16(from_bits(cases[i].f32));
        CHECK(got == cases[i].bf16, "f32 %08x -> bf16 %04x, want %04x (%s)", cases[i].f32, got,
              cases[i].bf16, cases[i].what);
    }
    uint16_t nan = vd_f32_to_bf16(from_bits(0x7f800001u)); /* would round to inf if truncated */
    CHECK((nan & 0x7f80) == 0x7f80 && (nan & 0x7f) != 0, "NaN stays NaN: %04x", nan);
    int bad = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        float f = vd_bf16_to_f32((uint16_t)h);
        if (bits(f) != h << 16) bad++;
        else if (!isnan(f) && vd_f32_to_bf16(f) != h) bad++;
    }
    CHECK(bad == 0, "%d bf16 patterns do not round-trip", bad);
}

static void test_convert(void) {
    /* Unaligned sources are allowed (tensors inside a mapped file). */
    unsigned char buf[1 + 3 * 8];
    int64_t vals[3] = {-5, 0, 1 << 20};
    memcpy(buf + 1, vals, sizeof vals);
    float out[3];
    CHECK(vd_convert_to_f32(out, buf + 1, VD_I64, 3) && out[0] == -5 && out[2] == 1048576,
          "unaligned I64");
    CHECK(!vd_convert_to_f32(out, buf, VD_BOOL, 1), "BOOL has no float meaning");
    float src[2] = {1.5f, -0.25f};
    uint16_t half[2];
    CHECK(vd_convert_from_f32(half, VD_F16, src, 2) && half[0] == 0x3e00 && half[1] == 0xb400,
          "to f16");
    CHECK(!vd_convert_from_f32(half, VD_I32, src, 2), "to I32 refused");
}

/* Counts requests and refuses absurd ones (instead of asking the system,
 * which sanitizers treat as a fatal error). */
static size_t g_allocs;
static void *limited_alloc(void *user, size_t size, size_t align) {
    (void)user;
    if (size > ((size_t)1 << 30)) return NULL;
    g_allocs++;
    return aligned_alloc(align, (size + align - 1) / align * align);
}
static void limited_free(void *user, void *p) {
    (void)user;
    free(p);
}

static void test_arena(void) {
    static const vd_allocator limited = {limited_alloc, limited_free, NULL};
    vd_arena *a = vd_arena_new(&limited, 0);
    CHECK(a != NULL, "arena_new");
    if (!a) return;
    size_t sizes[] = {1, 3, 100, 5000, 64, 3u << 20, 7, 1u << 19, 2u << 20, 33};
    size_t nsizes = sizeof sizes / sizeof *sizes;
    size_t after_first = 0;
    for (int step = 0; step < 3; step++) {
        size_t mark = vd_arena_mark(a);
        CHECK(mark == 0, "step starts at 0");
        int misaligned = 0, failed = 0;
        for (size_t i = 0; i < nsizes; i++) {
            unsigned char *p = vd_arena_alloc(a, sizes[i]);
            if (!p) {
                failed++;
                continue;
            }
            if ((uintptr_t)p % 64) misaligned++;
            memset(p, (int)i, sizes[i]); /* the whole block is usable */
        }
        float *z = vd_arena_zeros(a, 1000);
        CHECK(z && z[0] == 0 && z[999] == 0 && (uintptr_t)z % 64 == 0, "zeros");
        CHECK(failed == 0 && misaligned == 0, "step %d: %d failed, %d misaligned", step, failed,
              misaligned);
        /* A nested mark releases only what came after it. */
        size_t inner = vd_arena_mark(a);
        CHECK(vd_arena_alloc(a, 4096) != NULL, "inner alloc");
        vd_arena_reset(a, inner);
        CHECK(vd_arena_used(a) == inner, "inner reset");
        vd_arena_reset(a, 0);
        CHECK(vd_arena_used(a) == 0, "reset to 0");
        if (step == 0) {
            after_first = vd_arena_system_allocs(a);
            CHECK(after_first > 0, "the first step allocated");
            g_allocs = 0;
        } else {
            CHECK(vd_arena_system_allocs(a) == after_first,
                  "step %d made %zu new system allocations", step,
                  vd_arena_system_allocs(a) - after_first);
            CHECK(g_allocs == 0, "step %d called the allocator %zu times", step, g_allocs);
        }
    }
    CHECK(vd_arena_high_water(a) >= (6u << 20), "high water %zu", vd_arena_high_water(a));
    CHECK(vd_arena_alloc(a, SIZE_MAX - 10) == NULL, "absurd request fails");
    CHECK(vd_arena_alloc(a, SIZE_MAX - 200) == NULL, "absurd aligned request fails");
    CHECK(vd_arena_floats(a, SIZE_MAX / 2) == NULL, "float count overflow fails");
    vd_arena_free(a);
    vd_arena_free(NULL);
}

static void test_philox(void) {
    /* Salmon et al. (Random123) known answer for philox4x32-10 with zero
     * counter and key. */
    uint32_t w[4];
    vd_philox4x32(0, 0, w);
    CHECK(w[0] == 0x6627e8d5u && w[1] == 0xe169c58du && w[2] == 0xbc57ac4cu && w[3] == 0x9b00dbd8u,
          "philox(0,0) = %08x %08x %08x %08x", w[0], w[1], w[2], w[3]);

    vd_rng r1, r2, r3;
    vd_rng_init(&r1, 1234);
    vd_rng_init(&r2, 1234);
    vd_rng_init(&r3, 1235);
    float a[1000], b[1000], c[1000];
    vd_rng_uniform(&r1, a, 1000);
    vd_rng_uniform(&r2, b, 1000);
    vd_rng_uniform(&r3, c, 1000);
    CHECK(memcmp(a, b, sizeof a) == 0, "same seed, same numbers");
    CHECK(memcmp(a, c, sizeof a) != 0, "different seed, different numbers");
    int out_of_range = 0;
    for (int i = 0; i < 1000; i++) out_of_range += !(a[i] >= 0.0f && a[i] < 1.0f);
    CHECK(out_of_range == 0, "uniform in [0, 1)");
    CHECK(r1.offset == 250, "offset advanced by blocks: %llu", (unsigned long long)r1.offset);
    /* Consecutive fills continue the stream: two halves equal one whole. */
    vd_rng_init(&r1, 99);
    vd_rng_uniform(&r1, a, 500);
    vd_rng_uniform(&r1, a + 500, 500);
    vd_rng_init(&r2, 99);
    vd_rng_uniform(&r2, b, 1000);
    CHECK(memcmp(a, b, sizeof a) == 0, "split fills continue the stream");
    vd_rng f1 = vd_rng_fork(&r1, 1), f2 = vd_rng_fork(&r1, 2);
    CHECK(f1.seed != f2.seed && f1.offset == 0, "forks differ");
    int below_bad = 0;
    for (int i = 0; i < 1000; i++) below_bad += vd_rng_below(&r1, 7) >= 7;
    CHECK(below_bad == 0, "rng_below in range");
    double u = vd_rng_uniform1(&r1);
    CHECK(u >= 0 && u < 1, "uniform1");
}

static void test_normal_threads(void) {
    size_t n = 1000000;
    float *x1 = malloc(n * sizeof *x1), *x2 = malloc(n * sizeof *x2);
    CHECK(x1 && x2, "alloc");
    if (!x1 || !x2) {
        free(x1);
        free(x2);
        return;
    }
    int saved = vd_get_threads();
    vd_rng r;
    vd_set_threads(1);
    vd_rng_init(&r, 7);
    vd_rng_normal(&r, x1, n);
    double s1 = vd_sum_f32(x1, n), d1 = vd_dot_f32(x1, x1, n);
    vd_set_threads(2);
    vd_rng_init(&r, 7);
    vd_rng_normal(&r, x2, n);
    double s2 = vd_sum_f32(x1, n), d2 = vd_dot_f32(x1, x1, n);
    vd_set_threads(3);
    double s3 = vd_sum_f32(x1, n), d3 = vd_dot_f32(x1, x1, n);
    CHECK(memcmp(x1, x2, n * sizeof *x1) == 0, "normal fill identical with 1 and 2 threads");
    CHECK(memcmp(&s1, &s2, sizeof s1) == 0 && memcmp(&s1, &s3, sizeof s1) == 0,
          "vd_sum_f32 identical across 1/2/3 threads: %.17g %.17g %.17g", s1, s2, s3);
    CHECK(memcmp(&d1, &d2, sizeof d1) == 0 && memcmp(&d1, &d3, sizeof d1) == 0,
          "vd_dot_f32 identical across thread counts");
    vd_set_threads(saved);

    double naive = 0;
    for (size_t i = 0; i < n; i++) naive += x1[i];
    CHECK(fabs(naive - s1) < 1e-6 * (1 + fabs(naive)), "sum %.9g vs naive %.9g", s1, naive);
    double mean = s1 / (double)n, var = d1 / (double)n - mean * mean;
    CHECK(fabs(mean) < 0.01, "normal mean %.5f (tolerance 0.01)", mean);
    CHECK(fabs(var - 1.0) < 0.01, "normal variance %.5f (tolerance 0.01)", var);
    int nonfinite = 0;
    for (size_t i = 0; i < n; i++) nonfinite += !isfinite(x1[i]);
    CHECK(nonfinite == 0, "%d non-finite normals", nonfinite);
    printf("ok   normals: mean %.5f variance %.5f over %zu\n", mean, var, n);
    CHECK(vd_sum_f32(x1, 0) == 0, "empty sum");
    CHECK(vd_sum_f32(x1, 3) == (double)x1[0] + x1[1] + x1[2], "small sum");
    free(x1);
    free(x2);
}

/* OpenBLAS's fallbacks are overruled by the best kernels the CPU runs; its
 * named modern choices and CPUs without AVX2 are left alone. */
static void test_blas_core_rule(void) {
    const unsigned avx2 = VD_CPU_AVX2_FMA, avx512 = avx2 | VD_CPU_AVX512;
    const char *got;
    CHECK((got = vd_blas_core_for("Prescott", avx512)) && !strcmp(got, "SkylakeX"), "%s",
          got ? got : "NULL");
    CHECK((got = vd_blas_core_for("prescott", avx512)) && !strcmp(got, "SkylakeX"), "%s",
          got ? got : "NULL");
    CHECK((got = vd_blas_core_for("Sandybridge", avx2)) && !strcmp(got, "Haswell"), "%s",
          got ? got : "NULL");
    CHECK((got = vd_blas_core_for("Nehalem", avx512 & ~VD_CPU_AVX512)) && !strcmp(got, "Haswell"),
          "AVX-512 needs all four of F, BW, VL, DQ: %s", got ? got : "NULL");
    CHECK(!vd_blas_core_for("Prescott", 0), "a CPU without AVX2 keeps Prescott");
    CHECK(!vd_blas_core_for("Zen", avx512), "Zen is OpenBLAS's own choice");
    CHECK(!vd_blas_core_for("Haswell", avx512), "Haswell is OpenBLAS's own choice");
    CHECK(!vd_blas_core_for("SkylakeX", avx512), "SkylakeX stays");
    CHECK(!vd_blas_core_for(NULL, avx512), "no name, no advice");
    printf("ok   blas core rule (this machine: OpenBLAS %s, features %#x)\n", vd_blas_core(),
           vd_cpu_features());
}

/* build/vidit with OPENBLAS_CORETYPE unset ends up on kernels the rule
 * accepts for this CPU: on a machine whose OpenBLAS falls back, only the
 * restart gets it there. */
static void test_cli_blas_restart(void) {
    const char *bin = getenv("VIDIT_BIN");
    if (!bin) {
        printf("skip cli blas restart: VIDIT_BIN not set\n");
        return;
    }
    char cmd[4096], line[512] = "";
    snprintf(cmd, sizeof cmd, "env -u OPENBLAS_CORETYPE '%s' --version", bin);
    FILE *p = popen(cmd, "r");
    CHECK(p != NULL, "popen %s", cmd);
    if (!p) return;
    if (!fgets(line, sizeof line, p)) line[0] = 0;
    CHECK(pclose(p) == 0, "%s failed", cmd);
    const char *at = strstr(line, "OpenBLAS's "), *end = at ? strstr(at, " kernels") : NULL;
    CHECK(at && end, "no kernels named in '%s'", line);
    if (!at || !end) return;
    char core[64];
    at += strlen("OpenBLAS's ");
    snprintf(core, sizeof core, "%.*s", (int)(end - at) < 63 ? (int)(end - at) : 63, at);
    CHECK(!vd_blas_core_for(core, vd_cpu_features()), "build/vidit ran on %s kernels", core);
    printf("ok   cli blas restart: build/vidit runs OpenBLAS's %s kernels (this process: %s)\n",
           core, vd_blas_core());
}

int main(void) {
    test_f16_exhaustive();
    test_f32_to_f16_cases();
    test_bf16();
    test_convert();
    test_arena();
    test_philox();
    test_normal_threads();
    test_blas_core_rule();
    test_cli_blas_restart();
    return vt_result("test_core");
}
