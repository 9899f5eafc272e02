/* Starts build/vidit again with OPENBLAS_CORETYPE set when OpenBLAS fell
 * back to kernels far slower than the CPU allows (vidit.h, BLAS kernels). */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "commands.h"
#include "vidit.h"

void cli_blas_restart_if_slow(char **argv) {
    const char *core = vd_blas_better_core();
    if (!core) return;
    /* The new process finds the variable set, so it never restarts again. */
    if (setenv("OPENBLAS_CORETYPE", core, 1) == 0) {
#ifdef __linux__
        execv("/proc/self/exe", argv);
#endif
    }
    fprintf(stderr,
            "vidit: note: OpenBLAS picked its %s kernels, which run this CPU's fp32 products "
            "several times slower than its %s ones; set OPENBLAS_CORETYPE=%s before starting "
            "vidit\n",
            vd_blas_core(), core, core);
}
