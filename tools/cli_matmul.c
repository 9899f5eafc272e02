/* The --matmul option shared by the commands that run a DiT. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "vidit.h"

int cli_matmul_option(const char *cmd, const char *value) {
    vd_matmul_precision p;
    if (!strcmp(value, "auto")) {
        /* bf16 where the CPU has it; fp32 is always there. */
        return vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK ||
                       vd_set_matmul_precision(VD_MATMUL_FP32) == VD_OK
                   ? 0
                   : 2;
    }
    if (!strcmp(value, "fp32")) p = VD_MATMUL_FP32;
    else if (!strcmp(value, "bf16")) p = VD_MATMUL_BF16;
    else {
        fprintf(stderr, "%s: --matmul wants fp32, bf16 or auto, got '%s'\n", cmd, value);
        return 2;
    }
    vd_status st = vd_set_matmul_precision(p);
    if (st == VD_ERR_UNSUPPORTED) {
        fprintf(stderr, "%s: --matmul bf16: this CPU (or build) has no AVX512-BF16\n", cmd);
        return 2;
    }
    return st == VD_OK ? 0 : 2;
}
