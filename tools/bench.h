/* Shared pieces of `vidit bench`: the kernel benchmarks live in
 * tools/cmd_bench.c, the whole-model ones (dit, vae, generate) in
 * tools/bench_models.c. */
#ifndef VD_TOOLS_BENCH_H
#define VD_TOOLS_BENCH_H

#include <stdint.h>

/* Monotonic seconds. */
double bench_now(void);
/* Median of n values (sorts them in place). */
double bench_median(double *v, int n);
/* n floats drawn from N(0, 1) with the given seed (vd_free them); NULL when
 * out of memory. */
float *bench_floats(size_t n, uint64_t seed);
/* Parses an integer option value in [lo, hi]; prints what is wrong and
 * returns 0 when it is not one. */
int bench_parse_int(const char *cmd, const char *opt, const char *s, long lo, long hi,
                    int *out);

int bench_dit(int argc, char **argv);      /* vidit bench dit */
int bench_vae(int argc, char **argv);      /* vidit bench vae */
int bench_generate(int argc, char **argv); /* vidit bench generate */

#endif
