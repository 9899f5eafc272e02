/* build/vidit: the command line of vidit. */
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "vidit.h"

static const struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} commands[] = {
    {"world", cmd_world, "generate captioned toy-world videos with ground truth"},
    {"eval", cmd_eval, "judge a folder of videos against their prompts"},
    {"video", cmd_video, "convert, probe and resample video files"},
    {"vae", cmd_vae, "train and run the video compression network (causal 3D VAE)"},
    {"train", cmd_t2v_train, "train the text-to-video model (flow matching on VAE latents)"},
    {"generate", cmd_generate, "make videos from text prompts"},
    {"probe", cmd_probe, "measure how much a model listens to some words"},
    {"bench", cmd_bench, "measure operator and model speed"},
};

static void usage(FILE *to) {
    fprintf(to, "vidit %s: text-to-video generation\n\nusage: vidit COMMAND [options]\n\ncommands:\n",
            VIDIT_VERSION);
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        fprintf(to, "  %-8s %s\n", commands[i].name, commands[i].help);
    fprintf(to, "\n`vidit COMMAND --help` describes a command's options.\n");
}

int main(int argc, char **argv) {
    cli_blas_restart_if_slow(argv);
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "version")) {
        vd_matmul_precision was = vd_get_matmul_precision();
        int bf16 = vd_set_matmul_precision(VD_MATMUL_BF16) == VD_OK;
        vd_set_matmul_precision(was);
        printf("vidit %s (OpenBLAS's %s kernels; bf16 products %s)\n", VIDIT_VERSION,
               vd_blas_core(), bf16 ? "available" : "not available on this CPU or build");
        return 0;
    }
    for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
        if (!strcmp(argv[1], commands[i].name)) return commands[i].run(argc - 1, argv + 1);
    fprintf(stderr, "vidit: unknown command '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
