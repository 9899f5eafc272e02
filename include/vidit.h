/*
 * vidit.h — the public C API of vidit, a text-to-video generation engine.
 *
 * This header is the documentation of the API. Conventions, everywhere:
 *
 *  - Every function that can fail returns a vd_status (VD_OK == 0) and, when
 *    the caller passes a vd_error, fills it with a message that says what
 *    failed and where ("safetensors: model.st: tensor 'w' ends at 1024 but
 *    file data is 1000 bytes"). Passing NULL for the vd_error is allowed.
 *  - Objects are opaque handles made by *_new and released by *_free;
 *    freeing NULL is harmless.
 *  - The library never prints, never calls exit(), and keeps no hidden
 *    global state apart from the thread count (an OpenMP setting shared with
 *    OpenBLAS, see vd_set_threads) and the matmul precision
 *    (vd_set_matmul_precision).
 *  - Memory comes from a vd_allocator the caller may supply; NULL means the
 *    C library's aligned allocation.
 */
#ifndef VIDIT_H
#define VIDIT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VIDIT_VERSION_MAJOR 0
#define VIDIT_VERSION_MINOR 1
#define VIDIT_VERSION_PATCH 0
#define VIDIT_VERSION "0.1.0"

/* ---------------------------------------------------------------- errors */

typedef enum vd_status {
    VD_OK = 0,
    VD_ERR_NOMEM = 1,       /* an allocation failed */
    VD_ERR_IO = 2,          /* a file could not be opened, read or written */
    VD_ERR_FORMAT = 3,      /* a file or string is malformed */
    VD_ERR_ARG = 4,         /* an argument is out of range or inconsistent */
    VD_ERR_SHAPE = 5,       /* tensor shapes do not match */
    VD_ERR_UNSUPPORTED = 6, /* valid, but not something vidit can do */
    VD_ERR_INTERNAL = 7     /* a bug in vidit: please report it */
} vd_status;

/* A short English name of a status code ("out of memory"). Never NULL. */
const char *vd_status_string(vd_status status);

/* Where a failing call explains itself. code mirrors the returned status. */
typedef struct vd_error {
    vd_status code;
    char message[512];
} vd_error;

/* ------------------------------------------------------------- allocator */

/* Allocations are aligned to `align` bytes (a power of two, >= 16). alloc
 * returns NULL on failure; free(NULL) must be harmless. */
typedef struct vd_allocator {
    void *(*alloc)(void *user, size_t size, size_t align);
    void (*free)(void *user, void *ptr);
    void *user;
} vd_allocator;

/* The allocator used when a caller passes NULL. */
const vd_allocator *vd_allocator_default(void);

/* --------------------------------------------------------------- threads */

/* Sets the number of threads used by vidit's kernels and by OpenBLAS, which
 * share one OpenMP pool so that they never oversubscribe the machine.
 * n <= 0 means one per core. Results do not depend on the thread count. */
void vd_set_threads(int n);
int vd_get_threads(void);

/* ---------------------------------------------------------- BLAS kernels */

/* OpenBLAS, which computes vidit's fp32 products, picks its kernels for the
 * CPU as it loads. A release older than the CPU (Debian 12's 0.3.21 on a
 * Sapphire Rapids Xeon, for one) does not recognise it and falls back to SSE3
 * kernels ("Prescott"), which run sgemm 6 to 8 times slower than the CPU
 * can. OpenBLAS reads the environment variable OPENBLAS_CORETYPE once, when
 * it loads, so a running program cannot change its choice: set it before
 * starting the program (build/vidit starts itself again with it set).
 * vd_blas_core is OpenBLAS's choice ("SkylakeX", "Prescott", ...).
 * vd_blas_better_core is the value OPENBLAS_CORETYPE should hold, when
 * OpenBLAS fell back to a pre-AVX2 core on a CPU with AVX2 and FMA or
 * AVX-512, or NULL when its choice stands or the variable is already set. */
const char *vd_blas_core(void);
const char *vd_blas_better_core(void);

/* ------------------------------------------------------ matmul precision */

/* How the matrix products of linear layers are computed. FP32 (the
 * default) rounds nothing. BF16 rounds both inputs of each product to
 * bfloat16 (8 bits of mantissa, nearest-even) and sums in fp32, as PyTorch's
 * torch.set_float32_matmul_precision("medium") allows and GPU mixed-precision
 * training does: on a CPU with AVX512-BF16 those products run up to twice as
 * fast, and each product's inputs move by up to 2^-9 of their size.
 * Attention's products (forward and backward) use bf16 too; weights,
 * activations, gradients, softmax, optimizer state and convolutions stay
 * fp32. Results remain independent of the thread count (they are not
 * FP32's results). Process-wide, like the thread count: set it before a
 * run. */
typedef enum vd_matmul_precision {
    VD_MATMUL_FP32 = 0,
    VD_MATMUL_BF16 = 1
} vd_matmul_precision;

/* Returns VD_ERR_UNSUPPORTED, and keeps the current precision, when this
 * build or CPU has no AVX512-BF16; VD_ERR_ARG for an unknown value. */
vd_status vd_set_matmul_precision(vd_matmul_precision precision);
vd_matmul_precision vd_get_matmul_precision(void);

/* -------------------------------------------------------------- progress */

/* Called by long operations with the units done so far and the total.
 * Returning non-zero asks the operation to stop early (it then returns
 * VD_ERR_ARG with the message "cancelled"). */
typedef int (*vd_progress_fn)(void *user, const char *stage, int64_t done,
                              int64_t total);

#ifdef __cplusplus
}
#endif
#endif /* VIDIT_H */
