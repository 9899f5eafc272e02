/* Threads: vidit's kernels use OpenMP, and vidit links the OpenMP build of
 * OpenBLAS, so both draw from one pool and never oversubscribe the cores.
 * A kernel's parallel loop splits work into chunks whose boundaries do not
 * depend on the thread count, and reductions add chunk partials in a fixed
 * order, so results are bit-identical for any number of threads. */
#ifndef VD_CORE_THREADS_H
#define VD_CORE_THREADS_H

#include <stddef.h>

/* (vd_set_threads and vd_get_threads are public, in vidit.h.) */

/* Deterministic sum of n floats in double precision: fixed-size blocks
 * summed in parallel, block partials added in order. */
double vd_sum_f32(const float *x, size_t n);
/* Deterministic dot product, same scheme. */
double vd_dot_f32(const float *x, const float *y, size_t n);

#endif
