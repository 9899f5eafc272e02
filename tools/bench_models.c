/* Whole-model benchmarks: `vidit bench dit` (one sampling step and one
 * training step of a DiT, with OpenBLAS sgemm on the DiT's own linear shape
 * measured in the same run), `vidit bench vae` (decode and encode seconds
 * per frame) and `vidit bench generate` (one video end to end).
 *
 * Output is one `key value` line per number on stdout, for bench/compare.py;
 * what was measured (shapes, threads) goes to stderr. bench/peer_torch.py
 * runs the same DiT workload in PyTorch and prints the same keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <cblas.h>

#include "bench.h"
#include "commands.h"
#include "core/alloc.h"
#include "core/json.h"
#include "core/rng.h"
#include "diffusion/pipeline.h"
#include "models/dit.h"
#include "models/vae.h"
#include "nn/params.h"
#include "train/optim.h"
#include "vidit.h"

#define DEFAULT_VAE "models/vae.safetensors"
#define DEFAULT_VAE_CONFIG "configs/vae.json"
#define DEFAULT_T2V "models/default.safetensors"

static double peak_rss_mb(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru)) return -1;
    return (double)ru.ru_maxrss / 1024.0; /* Linux reports KiB */
}

/* One thing to time: returns non-zero on error (already reported). */
typedef int (*model_fn)(void *ctx);

/* Timed runs stop once they have taken this long together (at least one
 * always runs), so the largest workloads stay affordable on 2 cores. */
#define MODEL_BUDGET_S 15.0

/* Median seconds of up to `repeats` runs after one warm-up run (the warm-up
 * grows the arena and faults pages in, which later steps never repeat); -1
 * on error. bench/peer_torch.py times the same way. */
static double time_runs(model_fn run, void *ctx, int repeats) {
    double times[64], spent = 0;
    if (repeats > 64) repeats = 64;
    if (run(ctx)) return -1;
    int n = 0;
    while (n < repeats && (n == 0 || spent < MODEL_BUDGET_S)) {
        double t0 = bench_now();
        if (run(ctx)) return -1;
        times[n] = bench_now() - t0;
        spent += times[n++];
    }
    return bench_median(times, n);
}

/* --------------------------------------------------------------------- dit */

/* Latent extents (in patches) for N tokens: the factorisation N = T * h * h
 * with the smallest largest extent (ties: the larger h), so 512 -> 8x8x8,
 * 256 -> 4x8x8, 2048 -> 8x16x16; any N works (1 x 1 x N at worst). The
 * latent is then (T, 2h, 2h) with patch 1x2x2. bench/peer_torch.py uses the
 * same rule. */
static void tokens_to_patches(int N, int *T, int *h) {
    int best_t = N, best_h = 1;
    for (int s = 1; (long)s * s <= N; s++) {
        if (N % (s * s)) continue;
        int t = N / (s * s);
        int m = t > s ? t : s, best_m = best_t > best_h ? best_t : best_h;
        if (m <= best_m) best_t = t, best_h = s;
    }
    *T = best_t;
    *h = best_h;
}

/* FLOPs of one DiT forward over B clips of N image tokens each, S text
 * tokens, width D, `depth` blocks, P = C pt ph pw values per patch:
 *   linear:    2 * B N * (P D [x_embed] + depth * 14 D^2 + D P [final.linear])
 *              (14 D^2 per block: attn.qkv 3, attn.out 1, cross.q 1,
 *              cross.out 1, mlp.fc1 4, mlp.fc2 4)
 *   attention: depth * (4 B heads N N hd [self] + 4 B heads N S hd [cross]),
 *              heads * hd = D
 * A training step counts 3x the forward (backward = 2x). Work that does not
 * grow with N (text encoder, cross.kv, adaLN on the conditioning vector) is
 * left out. bench/peer_torch.py repeats this count. */
static double dit_forward_flops(int B, int N, int S, int D, int depth, int P) {
    double tok = (double)B * N;
    double lin = 2.0 * tok * ((double)P * D * 2 + depth * 14.0 * D * D);
    double att = depth * 4.0 * B * (double)N * ((double)N + S) * D;
    return lin + att;
}

typedef struct dit_ctx {
    vd_dit *m;
    vd_adamw *opt;
    vd_arena *arena;
    int B, T, H, W;
    float *latent, *t, *dout, *vel;
    int32_t *tokens;
    int *lengths;
    float lr;
} dit_ctx;

static int dit_sample_step(void *p) {
    dit_ctx *c = p;
    vd_error err;
    vd_status st = vd_dit_forward_cfg(c->m, c->latent, c->t, c->tokens, c->lengths, 1, c->T,
                                      c->H, c->W, 4.0f, c->vel, c->arena, &err);
    vd_arena_reset(c->arena, 0);
    if (st) fprintf(stderr, "vidit bench dit: sampling step: %s\n", err.message);
    return st != VD_OK;
}

static int dit_train_step(void *p) {
    dit_ctx *c = p;
    vd_error err;
    vd_params *P = vd_dit_params(c->m);
    vd_params_zero_grad(P);
    vd_status st = vd_dit_forward(c->m, c->latent, c->t, c->tokens, c->lengths, c->B, c->T,
                                  c->H, c->W, c->vel, c->arena, &err);
    if (!st) st = vd_dit_backward(c->m, c->dout, NULL, c->arena, &err);
    vd_arena_reset(c->arena, 0);
    if (st) {
        fprintf(stderr, "vidit bench dit: training step: %s\n", err.message);
        return 1;
    }
    vd_adamw_step(c->opt, vd_params_all(P), vd_params_all_grad(P), c->lr);
    return 0;
}

typedef struct sgemm_ctx {
    int M, K, N;
    const float *x, *w;
    float *y;
} sgemm_ctx;

static int run_sgemm_once(void *p) {
    sgemm_ctx *c = p;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c->M, c->N, c->K, 1.0f, c->x, c->K,
                c->w, c->K, 0.0f, c->y, c->N);
    return 0;
}

static void dit_usage(FILE *to) {
    fprintf(to,
            "usage: vidit bench dit [options]\n\n"
            "Times one sampling step (classifier-free guidance: one prompt, batch of 2)\n"
            "and one training step (forward + backward + AdamW over the batch) of a DiT\n"
            "with its text encoder (text width = dim, 2 layers, vocab 1024), latent 8\n"
            "channels, patch 1x2x2. Median after a warm-up. Prints sample_step_s,\n"
            "train_step_s, train_gflops, sgemm_gflops (OpenBLAS on the shape B*tokens x\n"
            "dim x 4 dim), train_vs_sgemm and peak_rss_mb, one `key value` per line.\n\n"
            "options:\n"
            "  --dim D        width (default 384)\n"
            "  --depth L      blocks (default 8)\n"
            "  --heads H      attention heads (default 6)\n"
            "  --tokens N     image tokens per clip (default 512 = 8x8x8 patches)\n"
            "  --text-len S   text tokens per prompt (default 32)\n"
            "  --batch B      training batch (default 4)\n"
            "  --threads T    threads (default: OMP_NUM_THREADS or all cores)\n"
            "  --matmul P     fp32 (default) or bf16 products in linear layers\n"
            "  --repeats R    timed runs after the warm-up, median reported (default 3;\n"
            "                 fewer once they have taken 15 s together)\n"
            "  --quick        tiny sizes (dim 64, depth 2, 64 tokens, batch 2; a smoke test)\n");
}

int bench_dit(int argc, char **argv) {
    const char *cmd = "vidit bench dit";
    int dim = 384, depth = 8, heads = 6, tokens = 512, text_len = 32, batch = 4;
    int threads = 0, repeats = 3;
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--quick"))
            dim = 64, depth = 2, heads = 2, tokens = 64, text_len = 8, batch = 2, repeats = 1;
    static const char *const names[] = {"--dim",   "--depth",   "--heads",  "--tokens",
                                        "--text-len", "--batch", "--threads", "--repeats"};
    int *const slots[] = {&dim, &depth, &heads, &tokens, &text_len, &batch, &threads, &repeats};
    static const long hi[] = {8192, 256, 256, 1 << 20, 4096, 4096, 1024, 64};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            dit_usage(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--quick")) continue;
        if (!strcmp(argv[i], "--matmul") && i + 1 < argc) {
            if (cli_matmul_option(cmd, argv[++i])) return 2;
            continue;
        }
        int k = 0;
        while (k < 8 && strcmp(argv[i], names[k])) k++;
        if (k == 8 || i + 1 >= argc) {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n\n", cmd, argv[i]);
            dit_usage(stderr);
            return 2;
        }
        if (!bench_parse_int(cmd, names[k], argv[++i], 1, hi[k], slots[k])) return 2;
    }
    if (threads > 0) vd_set_threads(threads);

    vd_dit_config cfg;
    vd_dit_config_default(&cfg);
    cfg.dim = dim, cfg.depth = depth, cfg.heads = heads;
    cfg.patch_t = 1, cfg.patch_h = 2, cfg.patch_w = 2, cfg.latent_channels = 8;
    cfg.text_dim = dim, cfg.text_depth = 2, cfg.text_heads = heads;
    cfg.vocab_size = 1024, cfg.max_text_len = text_len;
    cfg.rope_theta = 10000.0f, cfg.freq_dim = 256;
    vd_error err;
    if (vd_dit_config_check(&cfg, &err)) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        return 2;
    }
    int Tp, hp;
    tokens_to_patches(tokens, &Tp, &hp);
    const int T = Tp, H = 2 * hp, W = 2 * hp, C = cfg.latent_channels, B = batch;
    fprintf(stderr,
            "%s: dim %d depth %d heads %d, %d tokens (latent %dx%dx%dx%d), text %d, "
            "batch %d, %d threads, median of up to %d after a warm-up\n",
            cmd, dim, depth, heads, tokens, C, T, H, W, text_len, batch, vd_get_threads(),
            repeats);

    dit_ctx c;
    memset(&c, 0, sizeof c);
    c.B = B, c.T = T, c.H = H, c.W = W, c.lr = 1e-4f;
    const size_t per = (size_t)C * T * H * W;
    int rc = 1;
    uint8_t *mask = NULL;
    vd_adamw_config ac = {1e-4f, 0.9f, 0.999f, 1e-8f, 0.01f};
    if (vd_dit_new(&c.m, &cfg, 1, 1, NULL, &err) ||
        vd_adamw_new(&c.opt, NULL, vd_params_numel(vd_dit_params(c.m)), &ac, &err)) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        goto done;
    }
    mask = vd_params_decay_mask(vd_dit_params(c.m));
    c.arena = vd_arena_new(NULL, 0);
    c.latent = bench_floats(per * B, 1);
    c.dout = bench_floats(per * B, 2);
    c.vel = bench_floats(per * B, 3);
    c.t = vd_alloc(NULL, (size_t)B * sizeof *c.t);
    c.tokens = vd_alloc(NULL, (size_t)B * text_len * sizeof *c.tokens);
    c.lengths = vd_alloc(NULL, (size_t)B * sizeof *c.lengths);
    if (!mask || !c.arena || !c.latent || !c.dout || !c.vel || !c.t || !c.tokens || !c.lengths) {
        fprintf(stderr, "%s: out of memory for the inputs\n", cmd);
        goto done;
    }
    if (vd_adamw_set_decay_mask(c.opt, mask, &err)) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        goto done;
    }
    vd_rng rng;
    vd_rng_init(&rng, 7);
    for (int b = 0; b < B; b++) {
        c.t[b] = vd_rng_uniform1(&rng);
        c.lengths[b] = text_len;
    }
    for (size_t i = 0; i < (size_t)B * text_len; i++)
        c.tokens[i] = (int32_t)vd_rng_below(&rng, (uint32_t)cfg.vocab_size);

    double ts = time_runs(dit_sample_step, &c, repeats);
    double tt = ts < 0 ? -1 : time_runs(dit_train_step, &c, repeats);
    if (ts < 0 || tt < 0) goto done;

    sgemm_ctx g = {B * tokens, dim, 4 * dim, NULL, NULL, NULL};
    float *gx = bench_floats((size_t)g.M * g.K, 4), *gw = bench_floats((size_t)g.N * g.K, 5);
    float *gy = bench_floats((size_t)g.M * g.N, 6);
    double tg = -1;
    g.x = gx, g.w = gw, g.y = gy;
    if (gx && gw && gy) tg = time_runs(run_sgemm_once, &g, repeats < 5 ? 5 : repeats);
    vd_free(NULL, gx), vd_free(NULL, gw), vd_free(NULL, gy);
    if (tg < 0) {
        fprintf(stderr, "%s: out of memory for the sgemm reference\n", cmd);
        goto done;
    }
    const double flops = 3.0 * dit_forward_flops(B, tokens, text_len, dim, depth, C * 4);
    const double train_gf = flops / tt * 1e-9;
    const double sgemm_gf = 2.0 * g.M * (double)g.K * g.N / tg * 1e-9;
    printf("sample_step_s %.6f\n", ts);
    printf("train_step_s %.6f\n", tt);
    printf("train_gflops %.3f\n", train_gf);
    printf("sgemm_gflops %.3f\n", sgemm_gf);
    printf("train_vs_sgemm %.4f\n", train_gf / sgemm_gf);
    printf("peak_rss_mb %.1f\n", peak_rss_mb());
    rc = 0;
done:
    vd_free(NULL, mask);
    vd_free(NULL, c.latent), vd_free(NULL, c.dout), vd_free(NULL, c.vel);
    vd_free(NULL, c.t), vd_free(NULL, c.tokens), vd_free(NULL, c.lengths);
    vd_arena_free(c.arena);
    vd_adamw_free(c.opt);
    vd_dit_free(c.m);
    return rc;
}

/* --------------------------------------------------------------------- vae */

/* A model from the "model" object of a config file, freshly initialised. */
static int vae_from_config(vd_vae **out, const char *path, const char *cmd) {
    vd_error err;
    char *text = NULL;
    size_t len = 0;
    vd_json *root = NULL;
    vd_vae_config vc;
    vd_vae_config_default(&vc);
    int rc = 1;
    if (vd_read_file(path, &text, &len, &err) || !(root = vd_json_parse(text, len, path, &err))) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        goto done;
    }
    const vd_json *model = vd_json_get(root, "model");
    if ((model && vd_vae_config_from_json(&vc, model, &err)) || vd_vae_config_check(&vc, &err) ||
        vd_vae_new(out, &vc, 0, 1, NULL, &err)) {
        fprintf(stderr, "%s: %s: %s\n", cmd, path, err.message);
        goto done;
    }
    rc = 0;
done:
    vd_json_free(root);
    free(text);
    return rc;
}

typedef struct vae_ctx {
    vd_vae *vae;
    vd_arena *arena;
    int T, H, W, Tl, Hl, Wl;
    float *x, *z;
} vae_ctx;

static int vae_decode_once(void *p) {
    vae_ctx *c = p;
    vd_error err;
    vd_status st = vd_vae_decode(c->vae, c->z, 1, c->Tl, c->Hl, c->Wl, c->x, c->arena, &err);
    vd_arena_reset(c->arena, 0);
    if (st) fprintf(stderr, "vidit bench vae: decode: %s\n", err.message);
    return st != VD_OK;
}

static int vae_encode_once(void *p) {
    vae_ctx *c = p;
    vd_error err;
    vd_status st = vd_vae_encode(c->vae, c->x, 1, c->T, c->H, c->W, c->z, c->arena, &err);
    vd_arena_reset(c->arena, 0);
    if (st) fprintf(stderr, "vidit bench vae: encode: %s\n", err.message);
    return st != VD_OK;
}

/* Options shared by `vae` and `generate`: --model, --threads, --repeats. */
static int model_opts(const char *cmd, int argc, char **argv, const char **model,
                      int *threads, int *repeats, const char *help) {
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            fputs(help, stdout);
            return 0;
        } else if (!strcmp(argv[i], "--model") && i + 1 < argc) {
            *model = argv[++i];
        } else if (!strcmp(argv[i], "--threads") && i + 1 < argc) {
            if (!bench_parse_int(cmd, "--threads", argv[++i], 1, 1024, threads)) return 2;
        } else if (!strcmp(argv[i], "--repeats") && i + 1 < argc) {
            if (!bench_parse_int(cmd, "--repeats", argv[++i], 1, 64, repeats)) return 2;
        } else {
            fprintf(stderr, "%s: unknown or incomplete option '%s'\n\n%s", cmd, argv[i], help);
            return 2;
        }
    }
    if (*threads > 0) vd_set_threads(*threads);
    return -1;
}

int bench_vae(int argc, char **argv) {
    const char *cmd = "vidit bench vae";
    static const char help[] =
        "usage: vidit bench vae [--model PATH] [--threads T] [--repeats R]\n\n"
        "Seconds per frame to decode and to encode a 64x64x17 video (median of R runs,\n"
        "default 3, after a warm-up). Model: default " DEFAULT_VAE "; when that is\n"
        "missing, a freshly initialised model from " DEFAULT_VAE_CONFIG " (same speed).\n"
        "Prints vae_decode_s_per_frame and vae_encode_s_per_frame.\n";
    const char *model = NULL;
    int threads = 0, repeats = 3;
    int rc = model_opts(cmd, argc, argv, &model, &threads, &repeats, help);
    if (rc >= 0) return rc;

    vae_ctx c;
    memset(&c, 0, sizeof c);
    vd_error err;
    const char *path = model ? model : DEFAULT_VAE;
    if (!model && access(path, F_OK) != 0) {
        fprintf(stderr, "%s: %s is missing: timing a freshly initialised model from %s\n", cmd,
                path, DEFAULT_VAE_CONFIG);
        if (vae_from_config(&c.vae, DEFAULT_VAE_CONFIG, cmd)) return 1;
    } else if (vd_vae_load(&c.vae, path, NULL, &err)) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        return 1;
    }
    rc = 1;
    c.T = 17, c.H = 64, c.W = 64;
    if (vd_vae_check_input(c.vae, c.T, c.H, c.W, &err)) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        goto done;
    }
    vd_vae_latent_shape(c.vae, c.T, c.H, c.W, &c.Tl, &c.Hl, &c.Wl);
    const int Z = vd_vae_get_config(c.vae)->latent_channels;
    fprintf(stderr, "%s: %dx%dx%d video <-> latent %dx%dx%dx%d, %d threads\n", cmd, c.W, c.H,
            c.T, Z, c.Tl, c.Hl, c.Wl, vd_get_threads());
    c.arena = vd_arena_new(NULL, 0);
    c.x = bench_floats((size_t)3 * c.T * c.H * c.W, 1);
    c.z = bench_floats((size_t)Z * c.Tl * c.Hl * c.Wl, 2);
    if (!c.arena || !c.x || !c.z) {
        fprintf(stderr, "%s: out of memory\n", cmd);
        goto done;
    }
    for (size_t i = 0; i < (size_t)3 * c.T * c.H * c.W; i++) c.x[i] *= 0.5f;
    double td = time_runs(vae_decode_once, &c, repeats);
    double te = td < 0 ? -1 : time_runs(vae_encode_once, &c, repeats);
    if (td < 0 || te < 0) goto done;
    printf("vae_decode_s_per_frame %.6f\n", td / c.T);
    printf("vae_encode_s_per_frame %.6f\n", te / c.T);
    rc = 0;
done:
    vd_free(NULL, c.x), vd_free(NULL, c.z);
    vd_arena_free(c.arena);
    vd_vae_free(c.vae);
    return rc;
}

/* ---------------------------------------------------------------- generate */

int bench_generate(int argc, char **argv) {
    const char *cmd = "vidit bench generate";
    static const char help[] =
        "usage: vidit bench generate [--model PATH] [--threads T] [--repeats R]\n"
        "                            [--matmul auto|fp32|bf16]\n\n"
        "Seconds to generate one video with the model's default settings (steps,\n"
        "guidance, solver, first trained shape), through the same call as `vidit\n"
        "generate`, with its default products (auto: bf16 where the CPU has them);\n"
        "the median of R runs (default 1) after loading. Model: default\n"
        DEFAULT_T2V ". Prints generate_s.\n";
    const char *model = NULL, *matmul = "auto";
    int threads = 0, repeats = 1;
    /* --matmul is taken out here; the other options are model_opts's. */
    char *rest[64];
    int nrest = 0;
    if (argc > 64) {
        fprintf(stderr, "%s: too many options\n", cmd);
        return 2;
    }
    for (int i = 0; i < argc; i++) {
        if (i > 0 && !strcmp(argv[i], "--matmul") && i + 1 < argc) matmul = argv[++i];
        else rest[nrest++] = argv[i];
    }
    int rc = model_opts(cmd, nrest, rest, &model, &threads, &repeats, help);
    if (rc >= 0) return rc;
    if (cli_matmul_option(cmd, matmul)) return 2;
    const char *path = model ? model : DEFAULT_T2V;
    if (access(path, F_OK) != 0) {
        fprintf(stderr, "%s: no model at %s (train one: sh scripts/train-default.sh, or pass "
                        "--model PATH)\n", cmd, path);
        return 1;
    }
    vd_t2v *m = NULL;
    vd_error err;
    if (vd_t2v_load(&m, path, NULL, &err)) {
        fprintf(stderr, "%s: %s\n", cmd, err.message);
        return 1;
    }
    double times[64];
    vd_t2v_request q;
    vd_t2v_request_default(&q);
    q.prompt = "a red ball bounces to the left";
    rc = 0;
    for (int i = 0; i < repeats && !rc; i++) {
        vd_video v;
        double t0 = bench_now();
        if (vd_t2v_generate(m, &q, &v, &err)) {
            fprintf(stderr, "%s: %s\n", cmd, err.message);
            rc = 1;
            break;
        }
        times[i] = bench_now() - t0;
        if (i == 0)
            fprintf(stderr, "%s: %s, %d frames %dx%d, %d threads\n", cmd, path, v.frames,
                    v.width, v.height, vd_get_threads());
        vd_video_free(&v);
    }
    if (!rc) printf("generate_s %.3f\n", bench_median(times, repeats));
    vd_t2v_free(m);
    return rc;
}
