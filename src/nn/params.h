/* Model parameters in one allocation.
 *
 * A model declares each parameter by name and shape, then allocates them all
 * at once (values, and gradients when training), as llm.c does: one block is
 * fast to zero, to clip, to step with AdamW, to average into an EMA, and to
 * save. Checkpoints store each parameter under its name through safetensors;
 * loading checks that every declared name is present with the exact shape,
 * so a checkpoint that does not match its config is a clear error. */
#ifndef VD_NN_PARAMS_H
#define VD_NN_PARAMS_H

#include <stddef.h>
#include <stdint.h>

#include "core/rng.h"
#include "core/safetensors.h"
#include "core/tensor.h"

/* Flags of a parameter. */
enum {
    VD_PARAM_NO_DECAY = 1 /* exempt from weight decay (norms, biases, embeddings) */
};

typedef struct vd_param_info {
    const char *name;
    int ndim;
    int64_t shape[VD_MAX_DIMS];
    size_t offset; /* in floats from the start of the block */
    size_t numel;
    int flags;
} vd_param_info;

typedef struct vd_params vd_params;

vd_params *vd_params_new(const vd_allocator *allocator);
void vd_params_free(vd_params *p);

/* Declares a parameter (before vd_params_alloc); *index receives its handle
 * (may be NULL). Names must be unique. */
vd_status vd_params_declare(vd_params *p, const char *name, int ndim,
                            const int64_t *shape, int flags, size_t *index,
                            vd_error *err);
/* Allocates every declared parameter in one zero-filled block, and a
 * gradient block of the same size when with_grad is set. */
vd_status vd_params_alloc(vd_params *p, int with_grad, vd_error *err);

size_t vd_params_count(const vd_params *p);
size_t vd_params_numel(const vd_params *p); /* total floats */
const vd_param_info *vd_params_info(const vd_params *p, size_t index);
/* Index of a name, or (size_t)-1. */
size_t vd_params_find(const vd_params *p, const char *name);

float *vd_params_data(vd_params *p, size_t index);
float *vd_params_grad(vd_params *p, size_t index); /* NULL without gradients */
float *vd_params_all(vd_params *p);
float *vd_params_all_grad(vd_params *p);
void vd_params_zero_grad(vd_params *p);

/* Initialisation helpers: N(0, std^2), a constant, or uniform in
 * [-bound, bound] (bound = 1/sqrt(fan_in) for PyTorch's Linear default). */
void vd_params_init_normal(vd_params *p, size_t index, vd_rng *rng, float std);
void vd_params_init_constant(vd_params *p, size_t index, float value);
void vd_params_init_uniform(vd_params *p, size_t index, vd_rng *rng, float bound);

/* One byte per float of the block: 1 where weight decay applies. The
 * caller frees it with vd_free(allocator, mask). */
uint8_t *vd_params_decay_mask(const vd_params *p);

/* Adds every parameter to a checkpoint as `prefix` + name, stored as dtype
 * (F32, F16 or BF16). `values` may be NULL for the live values, or another
 * block of the same layout (an EMA copy, an optimiser moment). */
vd_status vd_params_save(const vd_params *p, const float *values, vd_st_writer *w,
                         const char *prefix, vd_dtype dtype, vd_error *err);
/* Loads every parameter from `prefix` + name into `values` (NULL = the live
 * values), converting from F16/BF16; a missing name or a shape that differs
 * from the declaration is VD_ERR_SHAPE naming both. */
vd_status vd_params_load(vd_params *p, float *values, const vd_st_file *f,
                         const char *prefix, vd_error *err);
/* 1 when a stored tensor has the parameter's number of dimensions and
 * sizes. */
int vd_params_same_shape(const vd_st_tensor *t, const vd_param_info *info);
/* Transfer for a model whose config differs (another patch size, say):
 * loads each parameter that `f` holds under the same name with the same
 * shape, and leaves the others as they are. *loaded and *kept (either may be
 * NULL) count the two. */
vd_status vd_params_load_matching(vd_params *p, float *values, const vd_st_file *f,
                                  const char *prefix, int *loaded, int *kept, vd_error *err);

#endif
