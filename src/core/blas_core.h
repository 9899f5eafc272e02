/* Which OpenBLAS kernels suit this CPU: the pure rule behind
 * vd_blas_better_core (vidit.h), apart so that it can be tested on any
 * machine. */
#ifndef VD_CORE_BLAS_CORE_H
#define VD_CORE_BLAS_CORE_H

enum {
    VD_CPU_AVX2_FMA = 1u << 0,
    VD_CPU_AVX512 = 1u << 1, /* F, BW, VL and DQ: what OpenBLAS's SkylakeX kernels use */
};

/* The features of the CPU this runs on (VD_CPU_* bits); 0 off x86-64. */
unsigned vd_cpu_features(void);

/* The OPENBLAS_CORETYPE that would serve a CPU with these features better
 * than `detected` (OpenBLAS's own choice), or NULL. Only pre-AVX2 choices
 * are overruled: those are the fallbacks of an OpenBLAS that did not
 * recognise the CPU, while a named modern core (Zen, Haswell, SkylakeX, ...)
 * is OpenBLAS's considered choice and is kept. */
const char *vd_blas_core_for(const char *detected, unsigned features);

#endif
