/* vidit train: trains the text-to-video DiT on cached VAE latents
 * (src/train/dit_train.h describes the config and the run folder). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "train/dit_train.h"
#include "train/progress.h"
#include "vidit.h"

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit train --config FILE [options]\n\n"
            "Trains the text-to-video model: encodes the config's data once with the VAE\n"
            "(RUN/latents.safetensors), then trains the DiT with flow matching. A run\n"
            "folder that holds a checkpoint resumes from it exactly (its stored config\n"
            "is used); run the same command again after an interruption.\n\n"
            "options:\n"
            "  --config FILE       training recipe (configs/t2v_default.json)\n"
            "  --out RUN           run folder (default: the config's \"out\")\n"
            "  --init MODEL        a new run starts from MODEL's DiT weights and tokenizer\n"
            "                      (fine-tuning with another recipe); with another \"dit\"\n"
            "                      config (a new patch size) the tensors whose shapes\n"
            "                      agree are taken and the others start fresh\n"
            "  --steps N           total steps (the schedule's length) instead of the config's\n"
            "  --time-budget S     stop this invocation after S seconds (checkpointed)\n"
            "  --stop-after N      stop after N steps of this invocation\n"
            "  --no-eval           no samples or judging during training\n"
            "  --threads T         threads (default: one per core)\n"
            "  --matmul P          fp32 (default) or bf16: linear layers' products with bf16\n"
            "                      inputs and fp32 sums (AVX512-BF16 CPUs)\n"
            "  --progress MODE     bar, lines or none (default: bar on a terminal)\n\n"
            "RUN gets log.csv, loss.svg, checkpoint.safetensors, samples/step_N/ (judged\n"
            "videos of held-out prompts) and model.safetensors (EMA weights; the config's\n"
            "\"export\" path too once every step is done).\n");
}

static int bad(const char *msg, const char *arg) {
    fprintf(stderr, "vidit train: %s%s\n(see vidit train --help)\n", msg, arg ? arg : "");
    return 2;
}

static int parse_i64(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

int cmd_t2v_train(int argc, char **argv) {
    vd_dit_train_opts o;
    memset(&o, 0, sizeof o);
    int mode = VD_PROGRESS_AUTO;
    long long v;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--config") && more) {
            o.config_path = argv[++i];
        } else if (!strcmp(a, "--out") && more) {
            o.out = argv[++i];
        } else if (!strcmp(a, "--init") && more) {
            o.init = argv[++i];
        } else if (!strcmp(a, "--steps") && more) {
            if (!parse_i64(argv[++i], 1, 1000000000LL, &v)) return bad("--steps wants 1.., got ", argv[i]);
            o.steps = v;
        } else if (!strcmp(a, "--stop-after") && more) {
            if (!parse_i64(argv[++i], 1, 1000000000LL, &v)) return bad("--stop-after wants 1.., got ", argv[i]);
            o.stop_after = v;
        } else if (!strcmp(a, "--time-budget") && more) {
            char *end;
            o.time_budget = strtod(argv[++i], &end);
            if (*end || !(o.time_budget > 0) || !isfinite(o.time_budget))
                return bad("--time-budget wants seconds > 0, got ", argv[i]);
        } else if (!strcmp(a, "--threads") && more) {
            if (!parse_i64(argv[++i], 1, 1024, &v)) return bad("--threads wants 1..1024, got ", argv[i]);
            vd_set_threads((int)v);
        } else if (!strcmp(a, "--matmul") && more) {
            if (cli_matmul_option("vidit train", argv[++i])) return 2;
        } else if (!strcmp(a, "--no-eval")) {
            o.no_eval = 1;
        } else if (!strcmp(a, "--progress") && more) {
            const char *m = argv[++i];
            mode = !strcmp(m, "bar") ? VD_PROGRESS_BAR : !strcmp(m, "lines") ? VD_PROGRESS_LINES
                   : !strcmp(m, "none") ? VD_PROGRESS_NONE : -1;
            if (mode < 0) return bad("unknown --progress ", m);
        } else {
            return bad("unknown option or missing value: ", a);
        }
    }
    if (!o.config_path && !o.out) return bad("needs --config FILE (or --out RUN to resume)", NULL);
    vd_progress p;
    vd_progress_init(&p, stderr, mode, 0, 0, 10.0);
    o.progress = &p;
    o.stop = &cli_stop_requested;
    cli_catch_stop_signals();
    vd_dit_train_report r;
    vd_error err;
    if (vd_dit_train(&o, &r, &err)) {
        vd_progress_finish(&p);
        fprintf(stderr, "vidit train: %s\n", err.message);
        return 1;
    }
    printf("%s %lld of %lld steps (%lld this run) in %.0f s: %.1f samples/s, loss %.4f -> %.4f\n"
           "model: %s\n",
           r.finished ? "trained" : "stopped at", (long long)r.step, (long long)r.total_steps,
           (long long)r.steps_this_run, r.seconds, r.samples_per_s, (double)r.first_loss,
           (double)r.last_loss, r.model);
    return 0;
}
