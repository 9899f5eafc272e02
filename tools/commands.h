/* The subcommands of build/vidit. Each lives in its own tools/cmd_*.c, takes
 * the arguments after its name and returns the process exit status. */
#ifndef VD_TOOLS_COMMANDS_H
#define VD_TOOLS_COMMANDS_H

int cmd_world(int argc, char **argv); /* tools/cmd_world.c */
int cmd_eval(int argc, char **argv);  /* tools/cmd_eval.c */
int cmd_bench(int argc, char **argv); /* tools/cmd_bench.c */
int cmd_video(int argc, char **argv); /* tools/cmd_video.c */
int cmd_vae(int argc, char **argv);   /* tools/cmd_vae.c */
/* (not cmd_train: tools/cmd_vae.c has a static function of that name) */
int cmd_t2v_train(int argc, char **argv); /* tools/cmd_train.c */
int cmd_generate(int argc, char **argv); /* tools/cmd_generate.c */
int cmd_probe(int argc, char **argv);    /* tools/cmd_probe.c */

/* `--matmul fp32|bf16|auto` of train, generate and bench: sets the
 * process's matmul precision (vd_set_matmul_precision); auto is bf16 where
 * the CPU has AVX512-BF16, else fp32. Returns 0, or prints why not to
 * stderr with cmd's name and returns 2. tools/cli_matmul.c. */
int cli_matmul_option(const char *cmd, const char *value);

/* Called first by main: when OpenBLAS fell back to slow kernels
 * (vd_blas_better_core), sets OPENBLAS_CORETYPE and executes build/vidit
 * again with the same arguments, since OpenBLAS reads the variable only as
 * it loads. Returns only when nothing needs doing or the restart failed
 * (then with a note on stderr: vidit still runs, slower).
 * tools/cli_blas.c. */
void cli_blas_restart_if_slow(char **argv);

#include <signal.h>

/* Training commands stop cleanly on the first SIGINT or SIGTERM: the flag
 * is set, the run checkpoints after its current step and returns. A second
 * signal kills as usual. tools/stop_signal.c. */
extern volatile sig_atomic_t cli_stop_requested;
void cli_catch_stop_signals(void);

#endif
