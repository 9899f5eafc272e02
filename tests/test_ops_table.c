/* The CPU backend's table: every operator present, and calls through the
 * table are the kernels themselves (models only ever see the table). */
#include <string.h>

#include "ops/cpu/cpu.h"
#include "test.h"

int main(void) {
    const vd_ops *ops = vd_ops_cpu();
    CHECK(ops && strcmp(ops->name, "cpu") == 0, "backend name");
    /* Every slot after the name is a function pointer. */
    const unsigned char *base = (const unsigned char *)ops;
    size_t first = offsetof(vd_ops, linear_fwd);
    size_t slots = (sizeof *ops - first) / sizeof(void (*)(void));
    for (size_t i = 0; i < slots; i++) {
        void (*fn)(void);
        memcpy(&fn, base + first + i * sizeof fn, sizeof fn);
        CHECK(fn != NULL, "slot %zu of the cpu table is empty", i);
    }
    CHECK(slots >= 40, "only %zu operators", slots);

    float x[6] = {1, 2, 3, 4, 5, 6}, w[6] = {1, 0, -1, 2, 1, 0}, b[2] = {0.5f, -0.5f}, y[4];
    ops->linear_fwd(y, x, w, b, 2, 3, 2);
    const float want[4] = {1 - 3 + 0.5f, 2 + 2 - 0.5f, 4 - 6 + 0.5f, 8 + 5 - 0.5f};
    vt_close("linear through the table", y, want, 4, 0, 0);
    return vt_result("test_ops_table");
}
