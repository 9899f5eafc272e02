/* vidit probe: how much a text-to-video model listens to some words.
 *
 * A model that learned a word moves its velocity when the word changes. For
 * a prompt and each other prompt (the same with some words changed), this
 * measures, at a few noise levels and over a few noise draws, the RMS
 * difference of the two velocities, as a share of the RMS difference
 * between the prompt and the empty prompt (what the whole prompt does). A
 * share near 0 means the model does not tell those words apart: a training
 * run can be checked for it long before its samples show it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/arena.h"
#include "core/rng.h"
#include "diffusion/pipeline.h"
#include "vidit.h"

#define DEFAULT_MODEL "models/default.safetensors"
#define MAX_OTHERS 16

static const float probe_t[] = {0.95f, 0.8f, 0.6f, 0.4f};
enum { N_T = sizeof probe_t / sizeof probe_t[0] };

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit probe PROMPT --vs OTHER [--vs OTHER ...] [options]\n\n"
            "How much the model's velocity depends on the words that differ between\n"
            "PROMPT and each OTHER: at t = 0.95, 0.8, 0.6 and 0.4, over N draws of noise,\n"
            "the RMS difference of the velocities for PROMPT and OTHER, as a share of\n"
            "the RMS difference between PROMPT and the empty prompt. Near 0: the model\n"
            "ignores those words. Prints one row per OTHER (fp32 products: the\n"
            "numbers do not depend on the thread count).\n\n"
            "  --model PATH   model file (default " DEFAULT_MODEL ")\n"
            "  --size WxH     latent grid of this video size (default: the first trained)\n"
            "  --frames F     and this many frames (default: the first trained)\n"
            "  --seeds N      noise draws, 1..64 (default 4)\n"
            "  --threads T    threads (default: one per core)\n");
}

typedef struct probe {
    vd_dit *dit;
    const vd_tokenizer *tok;
    int L, Tl, Hl, Wl;
    size_t n;
    vd_arena *arena;
} probe;

static vd_status velocity(probe *p, const float *x, float t, const char *prompt, float *v,
                          vd_error *err) {
    int32_t *ids = calloc((size_t)p->L, sizeof *ids);
    if (!ids) return vd_fail(err, VD_ERR_NOMEM, "probe: out of memory");
    int len = vd_tokenizer_encode(p->tok, prompt, ids, p->L, NULL);
    size_t mark = vd_arena_mark(p->arena);
    vd_status st = vd_dit_forward_cond(p->dit, x, NULL, &t, ids, &len, 1, p->Tl, p->Hl, p->Wl, v,
                                       p->arena, err);
    vd_arena_reset(p->arena, mark);
    free(ids);
    return st;
}

static double rms_diff(const float *a, const float *b, size_t n) {
    double s = 0;
    for (size_t i = 0; i < n; i++) s += ((double)a[i] - b[i]) * ((double)a[i] - b[i]);
    return sqrt(s / (double)n);
}

static int bad(const char *what, const char *value) {
    fprintf(stderr, "vidit probe: %s'%s'\n", what, value);
    return 2;
}

int cmd_probe(int argc, char **argv) {
    const char *model = DEFAULT_MODEL, *prompt = NULL, *others[MAX_OTHERS];
    int n_others = 0, width = 0, height = 0, frames = 0, seeds = 4, threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        char *end;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--vs") && more) {
            if (n_others == MAX_OTHERS) return bad("at most 16 --vs, one more: ", argv[i + 1]);
            others[n_others++] = argv[++i];
        } else if (!strcmp(a, "--model") && more) {
            model = argv[++i];
        } else if (!strcmp(a, "--size") && more) {
            const char *s = argv[++i];
            long w = strtol(s, &end, 10), h = 0;
            if (*end == 'x') h = strtol(end + 1, &end, 10);
            if (*end || w < 1 || h < 1 || w > 4096 || h > 4096) return bad("--size wants WxH, got ", s);
            width = (int)w, height = (int)h;
        } else if ((!strcmp(a, "--frames") || !strcmp(a, "--seeds") || !strcmp(a, "--threads")) &&
                   more) {
            long v = strtol(argv[++i], &end, 10);
            int is_seeds = a[2] == 's', is_frames = a[2] == 'f';
            if (*end || v < 1 || v > (is_seeds ? 64 : 4096)) {
                fprintf(stderr, "vidit probe: %s wants an integer in 1..%d, got '%s'\n", a,
                        is_seeds ? 64 : 4096, argv[i]);
                return 2;
            }
            if (is_seeds) seeds = (int)v;
            else if (is_frames) frames = (int)v;
            else threads = (int)v;
        } else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "vidit probe: unknown option or missing value '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!prompt) {
            prompt = a;
        } else {
            return bad("one PROMPT only; another: ", a);
        }
    }
    if (!prompt || !n_others) {
        usage(stderr);
        return 2;
    }
    if (threads) vd_set_threads(threads);

    vd_error err = {0};
    vd_t2v *m = NULL;
    if (vd_t2v_load(&m, model, NULL, &err)) {
        fprintf(stderr, "vidit probe: %s\n", err.message);
        return 1;
    }
    const vd_t2v_info *info = vd_t2v_get_info(m);
    if (!frames) frames = info->n_frames ? info->frames[0] : 17;
    if (!width) width = info->n_sizes ? info->width[0] : 64;
    if (!height) height = info->n_sizes ? info->height[0] : 64;
    probe p = {.dit = vd_t2v_dit(m), .tok = vd_t2v_tokenizer(m), .arena = vd_t2v_arena(m)};
    const vd_dit_config *dc = vd_dit_get_config(p.dit);
    p.L = dc->max_text_len;
    vd_vae_latent_shape(vd_t2v_vae(m), frames, height, width, &p.Tl, &p.Hl, &p.Wl);
    p.n = (size_t)dc->latent_channels * p.Tl * p.Hl * p.Wl;
    int rc = 0;
    float *x = malloc(p.n * sizeof *x), *v0 = malloc(p.n * sizeof *x),
          *vu = malloc(p.n * sizeof *x), *vo = malloc(p.n * sizeof *x);
    double whole[N_T] = {0}, *diff = calloc((size_t)n_others * N_T, sizeof *diff);
    if (!x || !v0 || !vu || !vo || !diff) {
        fprintf(stderr, "vidit probe: out of memory\n");
        rc = 1;
        goto done;
    }
    for (int k = 0; k < N_T; k++)
        for (int s = 0; s < seeds; s++) {
            vd_rng r;
            vd_rng_init(&r, 1000 + (uint64_t)s);
            vd_rng_normal(&r, x, p.n);
            if (velocity(&p, x, probe_t[k], prompt, v0, &err) ||
                velocity(&p, x, probe_t[k], "", vu, &err)) {
                fprintf(stderr, "vidit probe: %s\n", err.message);
                rc = 1;
                goto done;
            }
            whole[k] += rms_diff(v0, vu, p.n) / seeds;
            for (int o = 0; o < n_others; o++) {
                if (velocity(&p, x, probe_t[k], others[o], vo, &err)) {
                    fprintf(stderr, "vidit probe: %s\n", err.message);
                    rc = 1;
                    goto done;
                }
                diff[o * N_T + k] += rms_diff(v0, vo, p.n) / seeds;
            }
        }
    printf("probe: %s, latent %dx%dx%dx%d, %d noise draws\n", model, dc->latent_channels, p.Tl,
           p.Hl, p.Wl, seeds);
    printf("prompt: \"%s\"\n", prompt);
    printf("each OTHER moves the velocity by this share of the whole prompt's effect\n%-8s", "t");
    for (int k = 0; k < N_T; k++) printf(" %7.2f", probe_t[k]);
    printf("   against\n%-8s", "whole");
    for (int k = 0; k < N_T; k++) printf(" %7.4f", whole[k]);
    printf("   \"\" (absolute RMS)\n");
    for (int o = 0; o < n_others; o++) {
        printf("%-8s", "share");
        for (int k = 0; k < N_T; k++)
            printf(" %7.3f", whole[k] > 0 ? diff[o * N_T + k] / whole[k] : 0.0);
        printf("   \"%s\"\n", others[o]);
    }
done:
    free(x), free(v0), free(vu), free(vo), free(diff);
    vd_t2v_free(m);
    return rc;
}
