#include "core/blas_core.h"

#include <cblas.h>
#include <stdlib.h>
#include <strings.h>

#include "vidit.h"

unsigned vd_cpu_features(void) {
    unsigned f = 0;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) f |= VD_CPU_AVX2_FMA;
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
        f |= VD_CPU_AVX512;
#endif
    return f;
}

/* OpenBLAS's x86 cores without AVX2 and FMA: what a DYNAMIC_ARCH build falls
 * back to (Prescott, most often) for a CPU it does not know. */
static const char *const legacy_cores[] = {
    "Katmai",   "Coppermine", "Northwood", "Prescott",    "Banias", "Atom",
    "Core2",    "Penryn",     "Dunnington", "Nehalem",    "Sandybridge", "Opteron",
    "Opteron_SSE3", "Barcelona", "Bobcat",
};

const char *vd_blas_core_for(const char *detected, unsigned features) {
    if (!detected || !(features & VD_CPU_AVX2_FMA)) return NULL;
    int legacy = 0;
    for (size_t i = 0; i < sizeof legacy_cores / sizeof legacy_cores[0]; i++)
        if (!strcasecmp(detected, legacy_cores[i])) legacy = 1;
    if (!legacy) return NULL;
    /* Names OPENBLAS_CORETYPE accepts in every DYNAMIC_ARCH release since
     * 0.3.x (Debian 12's 0.3.21 has no "Cooperlake" to force; its
     * Cooperlake kernels differ only in bf16 GEMM, which vidit does not use). */
    return features & VD_CPU_AVX512 ? "SkylakeX" : "Haswell";
}

const char *vd_blas_core(void) {
    const char *name = openblas_get_corename();
    return name ? name : "unknown";
}

const char *vd_blas_better_core(void) {
    const char *set = getenv("OPENBLAS_CORETYPE");
    if (set && *set) return NULL;
    return vd_blas_core_for(openblas_get_corename(), vd_cpu_features());
}
