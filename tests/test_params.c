/* Parameters: one block, named save/load through safetensors, shape checks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "nn/params.h"
#include "test.h"

static vd_params *make(int wide) {
    vd_error err = {0};
    vd_params *p = vd_params_new(NULL);
    int64_t w[2] = {4, wide ? 6 : 5}, b[1] = {4}, n[1] = {5};
    CHECK(vd_params_declare(p, "lin.weight", 2, w, 0, NULL, &err) == VD_OK, "%s", err.message);
    CHECK(vd_params_declare(p, "lin.bias", 1, b, VD_PARAM_NO_DECAY, NULL, &err) == VD_OK, "%s", err.message);
    CHECK(vd_params_declare(p, "norm.weight", 1, n, VD_PARAM_NO_DECAY, NULL, &err) == VD_OK, "%s", err.message);
    return p;
}

int main(void) {
    vd_error err = {0};
    vd_params *p = make(0);
    int64_t s1[1] = {3};
    CHECK(vd_params_declare(p, "lin.bias", 1, s1, 0, NULL, &err) == VD_ERR_ARG, "duplicate accepted");
    CHECK(strstr(err.message, "lin.bias") != NULL, "message: %s", err.message);
    CHECK(vd_params_alloc(p, 1, &err) == VD_OK, "%s", err.message);
    CHECK(vd_params_count(p) == 3, "count");
    /* every parameter 64-byte aligned inside one block */
    for (size_t i = 0; i < vd_params_count(p); i++)
        CHECK(((uintptr_t)vd_params_data(p, i) & 63) == 0, "param %zu misaligned", i);
    CHECK(vd_params_data(p, 1) > vd_params_data(p, 0), "order");
    vd_rng rng;
    vd_rng_init(&rng, 7);
    vd_params_init_normal(p, 0, &rng, 0.02f);
    vd_params_init_constant(p, 1, 0.5f);
    vd_params_init_uniform(p, 2, &rng, 1.0f);

    uint8_t *mask = vd_params_decay_mask(p);
    CHECK(mask && mask[vd_params_info(p, 0)->offset] == 1 && mask[vd_params_info(p, 1)->offset] == 0, "decay mask");
    vd_free(NULL, mask);

    char path[] = "/tmp/vidit_test_params_XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    close(fd);
    vd_st_writer *w = vd_st_writer_new(NULL);
    CHECK(vd_params_save(p, NULL, w, "model.", VD_F32, &err) == VD_OK, "%s", err.message);
    CHECK(vd_st_writer_save(w, path, &err) == VD_OK, "%s", err.message);
    vd_st_writer_free(w);

    vd_st_file *f = NULL;
    CHECK(vd_st_open(&f, path, &err) == VD_OK, "%s", err.message);
    vd_params *q = make(0);
    CHECK(vd_params_alloc(q, 0, &err) == VD_OK, "%s", err.message);
    CHECK(vd_params_load(q, NULL, f, "model.", &err) == VD_OK, "%s", err.message);
    CHECK(memcmp(vd_params_all(p), vd_params_all(q), vd_params_numel(p) * sizeof(float)) == 0,
          "round trip differs");
    CHECK(vd_params_all_grad(q) == NULL, "no grads requested");

    /* a config whose shape differs from the checkpoint */
    vd_params *r = make(1);
    CHECK(vd_params_alloc(r, 0, &err) == VD_OK, "%s", err.message);
    vd_error_clear(&err);
    CHECK(vd_params_load(r, NULL, f, "model.", &err) == VD_ERR_SHAPE, "mismatch accepted");
    CHECK(strstr(err.message, "lin.weight") != NULL, "message names the tensor: %s", err.message);
    /* ... which the matching load takes in part: the two tensors that keep
     * their shape, and lin.weight (4x6 against the file's 4x5) untouched */
    float *rw = vd_params_data(r, 0);
    for (int i = 0; i < 24; i++) rw[i] = 7.0f;
    int loaded = -1, kept = -1;
    CHECK(vd_params_load_matching(r, NULL, f, "model.", &loaded, &kept, &err) == VD_OK, "%s",
          err.message);
    CHECK(loaded == 2 && kept == 1, "matching load: %d taken, %d kept", loaded, kept);
    CHECK(rw[0] == 7.0f && rw[23] == 7.0f, "the mismatched tensor was written");
    CHECK(!memcmp(vd_params_data(r, 1), vd_params_data(p, 1), 4 * sizeof(float)) &&
              !memcmp(vd_params_data(r, 2), vd_params_data(p, 2), 5 * sizeof(float)),
          "matching tensors not loaded");
    CHECK(vd_params_load_matching(q, NULL, f, "ema.", &loaded, &kept, &err) == VD_OK &&
              loaded == 0 && kept == 3, "another prefix: %d taken", loaded);
    /* a missing prefix */
    vd_error_clear(&err);
    CHECK(vd_params_load(q, NULL, f, "ema.", &err) != VD_OK, "missing tensors accepted");
    vd_st_close(f);
    unlink(path);
    vd_params_free(p);
    vd_params_free(q);
    vd_params_free(r);
    vd_params_free(NULL);
    return vt_result("test_params");
}
