#include "core/threads.h"

#include <cblas.h>

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

/* Blocks of at least 4096 elements and at most 1024 of them, so the block
 * boundaries (and so the rounding) depend on n alone, never on the thread
 * count, and the partials fit on the stack. y == NULL sums x. */
enum { MIN_BLOCK = 4096, MAX_BLOCKS = 1024 };

static double block_reduce(const float *x, const float *y, size_t n) {
    size_t block = MIN_BLOCK;
    if (n > block * MAX_BLOCKS) block = (n + MAX_BLOCKS - 1) / MAX_BLOCKS;
    size_t nb = (n + block - 1) / block;
    double part[MAX_BLOCKS];
#pragma omp parallel for schedule(static) if (nb > 1)
    for (size_t b = 0; b < nb; b++) {
        double p = 0;
        size_t end = (b + 1) * block < n ? (b + 1) * block : n;
        if (y)
            for (size_t i = b * block; i < end; i++) p += (double)x[i] * y[i];
        else
            for (size_t i = b * block; i < end; i++) p += x[i];
        part[b] = p;
    }
    double s = 0;
    for (size_t b = 0; b < nb; b++) s += part[b];
    return s;
}

double vd_sum_f32(const float *x, size_t n) { return block_reduce(x, NULL, n); }

double vd_dot_f32(const float *x, const float *y, size_t n) { return block_reduce(x, y, n); }
