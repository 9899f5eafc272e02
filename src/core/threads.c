#include "core/threads.h"

#include <cblas.h>
#include <stdlib.h>

#include "vidit.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Declared by OpenBLAS; not in every cblas.h. */
void openblas_set_num_threads(int num_threads);

void vd_set_threads(int n) {
#ifdef _OPENMP
    if (n <= 0) n = omp_get_num_procs();
    omp_set_num_threads(n);
#else
    if (n <= 0) n = 1;
#endif
    openblas_set_num_threads(n);
}

int vd_get_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

enum { SUM_BLOCK = 4096 };

double vd_sum_f32(const float *x, size_t n) {
    size_t nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    if (nb <= 1) {
        double s = 0;
        for (size_t i = 0; i < n; i++) s += x[i];
        return s;
    }
    double stack[64];
    double *part = nb <= 64 ? stack : malloc(nb * sizeof *part);
    if (!part) { /* fall back to a serial sum: same blocks, same order */
        double s = 0;
        for (size_t b = 0; b < nb; b++) {
            double p = 0;
            size_t end = (b + 1) * SUM_BLOCK < n ? (b + 1) * SUM_BLOCK : n;
            for (size_t i = b * SUM_BLOCK; i < end; i++) p += x[i];
            s += p;
        }
        return s;
    }
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        double p = 0;
        size_t end = (b + 1) * SUM_BLOCK < n ? (b + 1) * SUM_BLOCK : n;
        for (size_t i = b * SUM_BLOCK; i < end; i++) p += x[i];
        part[b] = p;
    }
    double s = 0;
    for (size_t b = 0; b < nb; b++) s += part[b];
    if (part != stack) free(part);
    return s;
}

double vd_dot_f32(const float *x, const float *y, size_t n) {
    size_t nb = (n + SUM_BLOCK - 1) / SUM_BLOCK;
    double s = 0;
    if (nb <= 1) {
        for (size_t i = 0; i < n; i++) s += (double)x[i] * y[i];
        return s;
    }
    double stack[64];
    double *part = nb <= 64 ? stack : malloc(nb * sizeof *part);
    if (!part) {
        for (size_t b = 0; b < nb; b++) {
            double p = 0;
            size_t end = (b + 1) * SUM_BLOCK < n ? (b + 1) * SUM_BLOCK : n;
            for (size_t i = b * SUM_BLOCK; i < end; i++) p += (double)x[i] * y[i];
            s += p;
        }
        return s;
    }
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        double p = 0;
        size_t end = (b + 1) * SUM_BLOCK < n ? (b + 1) * SUM_BLOCK : n;
        for (size_t i = b * SUM_BLOCK; i < end; i++) p += (double)x[i] * y[i];
        part[b] = p;
    }
    for (size_t b = 0; b < nb; b++) s += part[b];
    if (part != stack) free(part);
    return s;
}
