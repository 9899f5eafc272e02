/* The causal video VAE's configs and training: dec_channels,
 * dec_time_kernels and time_pad, a tiny overfitting run, checkpoints and
 * resume, a new decoder on a frozen encoder (--init), foreground loss
 * weights. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "io/dataset.h"
#include "io/video.h"
#include "train/vae_train.h"
#include "models/vae.h"
#include "models/vae_internal.h"
#include "nn/resblock.h"
#include "test.h"
#include "train/checkpoint.h"
#include "train/loss_weights.h"
#include "train/optim.h"
#include "world/world.h"

/* A "model" object of a config file. */
static vd_status parse_model(vd_vae_config *c, const char *text, vd_error *err) {
    vd_vae_config_default(c);
    vd_json *j = vd_json_parse(text, strlen(text), "cfg", err);
    if (!j) return VD_ERR_FORMAT;
    vd_status st = vd_vae_config_from_json(c, j, err);
    vd_json_free(j);
    return st;
}

/* ------------------------------------------------------ tiny training runs */

/* Renders toy-world clip i at 32x32 with `frames` frames into rgb. */
static void world_clip(uint8_t *rgb, int i, int frames) {
    vd_world_params wp;
    vd_world_params_default(&wp);
    wp.width = wp.height = 32;
    wp.frames = frames;
    vd_scene scene;
    vd_error err;
    CHECK(!vd_world_generate(&wp, 77, (uint64_t)i, &scene, NULL, 0, &err), "%s", err.message);
    for (int t = 0; t < frames; t++) vd_world_render(&scene, t, rgb + (size_t)t * 32 * 32 * 3);
}

static void small_config(vd_vae_config *c) {
    vd_vae_config_default(c);
    c->levels = 3;
    int ch[3] = {8, 16, 16}, kt[3] = {1, 3, 3};
    for (int i = 0; i < 3; i++) {
        c->channels[i] = ch[i];
        c->enc_blocks[i] = c->dec_blocks[i] = 1;
        c->kt[i] = kt[i];
    }
    c->down_space[0] = c->down_space[1] = 1;
    c->down_time[0] = c->down_time[1] = 1;
    c->latent_channels = 8;
    c->groups = 4;
}

/* Four 32x32x5 clips, overfitted: the model and optimiser work together. */
static void test_overfit(void) {
    int B = 4, T = 5, H = 32, W = 32, steps = vt_quick() ? 40 : 120;
    double want = vt_quick() ? 17.0 : 21.0;
    size_t frame = (size_t)H * W * 3, per = (size_t)3 * T * H * W;
    uint8_t *rgb = malloc(frame * T * B), *rec = malloc(frame * T * B);
    float *x = malloc(per * B * 4), *y = malloc(per * B * 4), *z = malloc((size_t)B * 8 * 2 * 8 * 8 * 4);
    for (int b = 0; b < B; b++) {
        world_clip(rgb + frame * T * b, b, T);
        vd_vae_from_rgb(x + per * b, rgb + frame * T * b, T, H, W);
    }
    vd_vae_config cfg;
    small_config(&cfg);
    vd_vae *v;
    vd_error err;
    CHECK(!vd_vae_new(&v, &cfg, 1, 9, NULL, &err), "%s", err.message);
    vd_params *P = v->params;
    size_t np = vd_params_numel(P);
    vd_adamw *opt;
    vd_adamw_config ac = {5e-3f, 0.9f, 0.99f, 1e-8f, 0.0f};
    CHECK(!vd_adamw_new(&opt, NULL, np, &ac, &err), "%s", err.message);
    vd_arena *ws = vd_arena_new(NULL, 0);
    vd_rng rng;
    vd_rng_init(&rng, 3);
    vd_vae_losses L = {0, 0, 0};
    float first = 0;
    size_t allocs = 0;
    for (int s = 0; s < steps; s++) {
        vd_params_zero_grad(P);
        CHECK(!vd_vae_train_step(v, x, NULL, B, T, H, W, &rng, 0, 1e-6f, ws, NULL, &L, &err), "%s", err.message);
        if (s == 0) first = L.recon;
        if (s == 1) allocs = vd_arena_system_allocs(ws);
        vd_grad_clip_norm(vd_params_all_grad(P), np, 1.0f);
        vd_adamw_step(opt, vd_params_all(P), vd_params_all_grad(P),
                      vd_lr_schedule(s, 10, steps, 5e-3f, 5e-4f));
    }
    CHECK(vd_arena_system_allocs(ws) == allocs, "the arena allocated after step 2");
    CHECK(!vd_vae_encode(v, x, B, T, H, W, z, ws, &err), "%s", err.message);
    CHECK(!vd_vae_decode(v, z, B, 2, 8, 8, y, ws, &err), "%s", err.message);
    for (int b = 0; b < B; b++) vd_vae_to_rgb(rec + frame * T * b, y + per * b, T, H, W);
    double psnr = vd_psnr_u8(rgb, rec, frame * T * B);
    CHECK(psnr >= want, "overfit PSNR %.2f dB < %.1f after %d steps (MSE %.5f -> %.5f)", psnr,
          want, steps, first, L.recon);
    printf("ok   overfit 4 clips 32x32x5: %d steps, MSE %.4f -> %.5f, PSNR %.2f dB (want >= %.1f)\n",
           steps, first, L.recon, psnr, want);
    vd_arena_free(ws);
    vd_adamw_free(opt);
    vd_vae_free(v);
    free(rgb);
    free(rec);
    free(x);
    free(y);
    free(z);
}

/* A dataset of four 32x32x9 toy-world clips in folder `data`. */
static void write_clips(const char *data) {
    char path[400];
    vd_error err;
    vd_dataset_writer *dw = NULL;
    CHECK(!vd_dataset_writer_new(&dw, data, &err), "%s", err.message);
    for (int i = 0; i < 4; i++) {
        vd_video v;
        CHECK(!vd_video_alloc(&v, 9, 32, 32, 8.0, &err), "%s", err.message);
        world_clip(v.rgb, i, 9);
        snprintf(path, sizeof path, "%s/%d.y4m", data, i);
        CHECK(!vd_video_write(path, &v, NULL, &err), "%s", err.message);
        snprintf(path, sizeof path, "%d.y4m", i);
        CHECK(!vd_dataset_writer_add(dw, path, "a clip", NULL, &err), "%s", err.message);
        vd_video_free(&v);
    }
    CHECK(!vd_dataset_writer_close(dw, &err), "%s", err.message);
    vd_dataset_writer_free(dw);
}

/* A run stopped after 3 steps and resumed equals one that never stopped. */
static void test_train_resume(void) {
    char dir[] = "/tmp/vd_test_vae_run_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char data[300], path[400], cfg[300], runa[300], runb[300];
    snprintf(data, sizeof data, "%s/data", dir);
    vd_error err;
    write_clips(data);
    snprintf(cfg, sizeof cfg, "%s/vae.json", dir);
    FILE *f = fopen(cfg, "w");
    fputs("{\"model\":{\"channels\":[8,16,16],\"time_kernels\":[1,3,3],\"groups\":4,"
          "\"spatial_compression\":4,\"temporal_compression\":4,\"latent_channels\":4},"
          "\"train\":{\"steps\":6,\"batch\":2,\"clip_frames\":5,\"warmup\":2,\"log_every\":1,"
          "\"sample_every\":0,\"checkpoint_every\":3,\"stats_videos\":4,\"seed\":5}}", f);
    fclose(f);
    snprintf(runa, sizeof runa, "%s/a", dir);
    snprintf(runb, sizeof runb, "%s/b", dir);
    vd_vae_train_opts o = {.config_path = cfg, .data = data, .out = runa};
    vd_vae_train_report r;
    CHECK(!vd_vae_train(&o, &r, &err), "run a: %s", err.message);
    CHECK(r.step == 6 && !r.resumed, "run a: %lld steps", (long long)r.step);
    o.out = runb;
    o.stop_after = 3;
    CHECK(!vd_vae_train(&o, &r, &err), "run b: %s", err.message);
    CHECK(r.step == 3, "run b stopped at %lld", (long long)r.step);
    o.stop_after = 0;
    o.resume = 1;
    o.config_path = NULL; /* the checkpoint's config is used */
    CHECK(!vd_vae_train(&o, &r, &err), "run b resumed: %s", err.message);
    CHECK(r.step == 6 && r.resumed && r.steps_this_run == 3, "resumed run: %lld steps",
          (long long)r.step);
    char pa[400], pb[400];
    snprintf(pa, sizeof pa, "%s/checkpoint.safetensors", runa);
    snprintf(pb, sizeof pb, "%s/checkpoint.safetensors", runb);
    CHECK(vt_same_safetensors(pa, pb), "resumed checkpoint differs from the uninterrupted one");
    snprintf(pa, sizeof pa, "%s/vae.safetensors", runa);
    snprintf(pb, sizeof pb, "%s/vae.safetensors", runb);
    CHECK(vt_same_safetensors(pa, pb), "resumed model differs from the uninterrupted one");
    vd_vae *v = NULL;
    CHECK(!vd_vae_load(&v, pb, NULL, &err) && v && vd_vae_latent_stats(v, NULL, NULL),
          "model file without latent stats: %s", err.message);
    vd_vae_free(v);
    /* The log was rewritten past the checkpoint: steps 1..6 once each. */
    snprintf(path, sizeof path, "%s/log.csv", runb);
    char *text = NULL;
    size_t len = 0;
    CHECK(!vd_read_file(path, &text, &len, &err), "%s", err.message);
    int rows = 0;
    for (size_t i = 0; text && i < len; i++) rows += text[i] == '\n';
    CHECK(rows == 7, "log.csv has %d lines, want header + 6", rows);
    free(text);
    snprintf(path, sizeof path, "%s/loss.svg", runb);
    text = NULL;
    CHECK(!vd_read_file(path, &text, &len, &err) && strstr(text, "<polyline"),
          "loss.svg missing or without a curve");
    free(text);
    /* --resume without a checkpoint is an error; a mismatched checkpoint names the tensor. */
    o.out = dir;
    CHECK(vd_vae_train(&o, &r, &err) == VD_ERR_IO, "resume without a checkpoint");
    printf("ok   train 3 + resume 3 == train 6 (checkpoint and model bit-identical)\n");
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* --init with a frozen encoder and a new, wider decoder: the encoder and
 * the latent statistics come whole from the model (and stay so through the
 * run, a resumed one included), the decoder's other tensors start fresh; a
 * model whose encoder differs, or a decoder swap without a frozen encoder,
 * or a model without statistics, is refused. */
#define INIT_REST "\"groups\":4,\"spatial_compression\":4,\"temporal_compression\":4," \
                  "\"latent_channels\":4"
#define INIT_MODEL "\"channels\":[8,16,16],\"time_kernels\":[1,3,3]," INIT_REST
#define INIT_TRAIN "\"steps\":3,\"batch\":2,\"clip_frames\":5,\"warmup\":1,\"sample_every\":0," \
                   "\"checkpoint_every\":0,\"stats_videos\":4,\"latent_noise\":0.3,\"seed\":2"

static void write_text(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    CHECK(f != NULL, "%s: cannot write", path);
    if (!f) return;
    fputs(text, f);
    fclose(f);
}

/* A model file from the "model" object `model` (fresh weights, seed). */
static void write_model(const char *path, const char *model, int with_stats, uint64_t seed) {
    vd_vae_config c;
    vd_error err;
    char text[512];
    snprintf(text, sizeof text, "{%s}", model);
    CHECK(!parse_model(&c, text, &err), "%s", err.message);
    vd_vae *v = NULL;
    CHECK(!vd_vae_new(&v, &c, 0, seed, NULL, &err), "%s", err.message);
    if (!v) return;
    float mean[4] = {0.25f, -0.5f, 1.0f / 3.0f, 0.125f}, std[4] = {1.5f, 0.7f, 2.0f / 3.0f, 3.0f};
    if (with_stats) vd_vae_set_latent_stats(v, mean, std);
    CHECK(!vd_vae_save(v, NULL, path, &err), "%s", err.message);
    vd_vae_free(v);
}

static void test_train_new_decoder(void) {
    char dir[] = "/tmp/vd_test_vae_dec_XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char data[300], init[300], cfg[300], run[300], path[400], text[1024];
    vd_error err;
    snprintf(data, sizeof data, "%s/data", dir);
    write_clips(data);
    snprintf(init, sizeof init, "%s/init.safetensors", dir);
    write_model(init, INIT_MODEL, 1, 11);
    snprintf(cfg, sizeof cfg, "%s/wide.json", dir);
    snprintf(text, sizeof text,
             "{\"model\":{" INIT_MODEL ",\"dec_channels\":[16,24,32],\"dec_time_kernels\":[3,3,3],"
             "\"dec_blocks\":[2,1,1]},\"train\":{\"freeze_encoder\":true," INIT_TRAIN "}}");
    write_text(cfg, text);
    snprintf(run, sizeof run, "%s/run", dir);
    /* The progress note says what was taken. */
    char *notes = NULL;
    size_t notes_len = 0;
    FILE *mem = open_memstream(&notes, &notes_len);
    vd_progress prog;
    vd_progress_init(&prog, mem, VD_PROGRESS_LINES, 0, 0, 1e9);
    vd_vae_train_opts o = {.config_path = cfg, .data = data, .out = run, .init = init,
                           .progress = &prog, .stop_after = 2};
    vd_vae_train_report r;
    CHECK(!vd_vae_train(&o, &r, &err), "wide decoder from a narrow model: %s", err.message);
    fclose(mem);
    CHECK(notes && strstr(notes, "tensors from") && strstr(notes, "(the whole encoder)") &&
              strstr(notes, "start fresh"), "no transfer note: %s", notes ? notes : "");
    const char *line = notes ? strstr(notes, "init: ") : NULL;
    printf("ok   %.*s\n", line ? (int)strcspn(line, "\n") : 0, line ? line : "");
    free(notes);
    o.progress = NULL;
    o.stop_after = 0; /* resumed (the checkpoint holds the statistics) */
    CHECK(!vd_vae_train(&o, &r, &err) && r.resumed && r.step == 3, "resumed: %s", err.message);
    vd_vae *a = NULL, *b = NULL;
    snprintf(path, sizeof path, "%s/vae.safetensors", run);
    CHECK(!vd_vae_load(&a, init, NULL, &err), "%s", err.message);
    CHECK(!vd_vae_load(&b, path, NULL, &err), "%s", err.message);
    if (a && b) {
        /* Bit for bit: the same encoder weights (EMA included), the same
         * latents, the init's statistics. */
        size_t enc = vd_vae_encoder_numel(a);
        CHECK(vd_vae_encoder_numel(b) == enc &&
                  !memcmp(vd_params_all(a->params), vd_params_all(b->params), enc * 4),
              "the frozen encoder's weights changed");
        const float *ma, *sa, *mb, *sb;
        CHECK(vd_vae_latent_stats(a, &ma, &sa) && vd_vae_latent_stats(b, &mb, &sb) &&
                  !memcmp(ma, mb, 4 * 4) && !memcmp(sa, sb, 4 * 4),
              "latent statistics not the init's");
        int T = 5, H = 32, W = 32;
        size_t nx = (size_t)3 * T * H * W, nz = (size_t)4 * 2 * 8 * 8;
        float *x = malloc(nx * 4), *za = malloc(nz * 4), *zb = malloc(nz * 4);
        vt_fill_uniform(x, nx, 71);
        vd_arena *ws = vd_arena_new(NULL, 0);
        CHECK(!vd_vae_encode(a, x, 1, T, H, W, za, ws, &err), "%s", err.message);
        CHECK(!vd_vae_encode(b, x, 1, T, H, W, zb, ws, &err), "%s", err.message);
        CHECK(!memcmp(za, zb, nz * 4), "encoder outputs differ from the init model's");
        const vd_vae_config *bc = vd_vae_get_config(b);
        CHECK(vd_vae_dec_channels(bc, 2) == 32 && vd_vae_dec_kt(bc, 0) == 3 &&
                  bc->dec_blocks[0] == 2,
              "the model file lost its decoder config");
        free(x);
        free(za);
        free(zb);
        vd_arena_free(ws);
    }
    vd_vae_free(a);
    vd_vae_free(b);
    printf("ok   new decoder on a frozen encoder: encoder, latents and statistics bit-identical "
           "to the init's after 3 steps (resumed after 2)\n");

    /* Refusals, each before any step. */
    const struct {
        const char *init_model, *model, *train, *want;
        int stats;
    } bad[] = {
        {"\"channels\":[8,16,24],\"time_kernels\":[1,3,3]," INIT_REST,
         INIT_MODEL ",\"dec_channels\":[16,24,32]", "\"freeze_encoder\":true,",
         "its encoder differs from the config's (channels[2]: 24 vs 16", 1},
        {INIT_MODEL, "\"channels\":[8,16,16],\"time_kernels\":[3,3,3]," INIT_REST,
         "\"freeze_encoder\":true,",
         "its encoder differs from the config's (time_kernels[0]: 1 vs 3", 1},
        {INIT_MODEL, INIT_MODEL ",\"dec_channels\":[16,24,32]", "",
         "a new decoder can start from a model only with \"freeze_encoder\": true", 1},
        {INIT_MODEL, INIT_MODEL ",\"dec_channels\":[16,24,32]", "\"freeze_encoder\":true,",
         "no latent statistics", 0},
        {INIT_MODEL, INIT_MODEL ",\"time_pad\":\"replicate\"", "\"freeze_encoder\":true,",
         "its time_pad is \"zeros\", the config's \"replicate\"", 1}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(path, sizeof path, "%s/init%zu.safetensors", dir, k);
        write_model(path, bad[k].init_model, bad[k].stats, 12);
        snprintf(text, sizeof text, "{\"model\":{%s},\"train\":{%s" INIT_TRAIN "}}", bad[k].model,
                 bad[k].train);
        write_text(cfg, text);
        snprintf(run, sizeof run, "%s/bad%zu", dir, k);
        vd_vae_train_opts ob = {.config_path = cfg, .data = data, .out = run, .init = path};
        err.message[0] = '\0';
        CHECK(vd_vae_train(&ob, &r, &err) != VD_OK && strstr(err.message, bad[k].want),
              "refusal %zu: %s", k, err.message);
        char ck[400];
        snprintf(ck, sizeof ck, "%s/checkpoint.safetensors", run);
        CHECK(access(ck, F_OK) != 0, "refusal %zu left a checkpoint", k);
    }
    printf("ok   --init refused: %s\n", err.message);
    char cmd[400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    CHECK(system(cmd) == 0, "cleanup");
}

/* Foreground weights: a 3x3 square on a plain background weighs 1 + fg on
 * the square and its one-pixel ring (5x5), 1 elsewhere; every channel alike. */
static void test_foreground_weights(void) {
    enum { T = 2, H = 10, W = 12 };
    const size_t plane = (size_t)H * W, n = 3 * T * plane;
    float x[3 * T * H * W], w[3 * T * H * W], scratch[2 * (H + W) + H * W];
    for (size_t i = 0; i < n; i++) x[i] = -0.5f;
    for (int j = 4; j < 7; j++)
        for (int i = 5; i < 8; i++) x[(size_t)(1 * T + 1) * plane + (size_t)j * W + i] = 0.5f;
    vd_standout_weights(w, x, 1, 3, T, H, W, 9.0f, 0.12f, scratch);
    int bad = 0;
    for (int c = 0; c < 3; c++)
        for (int t = 0; t < T; t++)
            for (int j = 0; j < H; j++)
                for (int i = 0; i < W; i++) {
                    int in = t == 1 && j >= 3 && j < 8 && i >= 4 && i < 9;
                    float want = in ? 10.0f : 1.0f;
                    bad += w[((size_t)c * T + t) * plane + (size_t)j * W + i] != want;
                }
    CHECK(bad == 0, "foreground weights: %d of %zu values wrong", bad, n);
    printf("ok   foreground weights: a 3x3 object weighs 10 on its 5x5 neighbourhood, 1 elsewhere\n");
}

/* dec_channels / dec_time_kernels: parsed, written only where the decoder
 * is its own, read back the same, and refused with the member named. */
static void test_config_decoder(void) {
    vd_vae_config c, c2;
    vd_error err;
    const char *base = "{\"channels\":[8,16,16],\"time_kernels\":[1,3,3],\"groups\":4";
    char text[512];
    snprintf(text, sizeof text, "%s,\"dec_channels\":[16,32,48],\"dec_time_kernels\":[3,3,3]}",
             base);
    CHECK(!parse_model(&c, text, &err), "%s", err.message);
    int ok = 1;
    for (int l = 0; l < 3; l++)
        ok &= vd_vae_dec_channels(&c, l) == 16 * (l + 1) && vd_vae_dec_kt(&c, l) == 3 &&
              c.channels[l] == (l ? 16 : 8) && c.kt[l] == (l ? 3 : 1);
    CHECK(ok, "dec_channels / dec_time_kernels not parsed");
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_vae_config_json(&s, &c);
    CHECK(strstr(vd_strbuf_cstr(&s), "\"dec_channels\":[16,32,48]") &&
              strstr(vd_strbuf_cstr(&s), "\"dec_time_kernels\":[3,3,3]"),
          "not written: %s", vd_strbuf_cstr(&s));
    CHECK(!parse_model(&c2, vd_strbuf_cstr(&s), &err), "%s", err.message);
    char what[128];
    CHECK(vd_vae_config_diff(&c, &c2, what, sizeof what) == 0, "round trip changed %s", what);
    vd_strbuf_free(&s);
    /* Missing, or equal to the encoder's: the symmetric model, whose config
     * text has no decoder lists (old files read and write as before). */
    snprintf(text, sizeof text, "%s,\"dec_channels\":[8,16,16]}", base);
    const char *sym[2] = {text, NULL};
    char plain[512];
    snprintf(plain, sizeof plain, "%s}", base);
    sym[1] = plain;
    for (int k = 0; k < 2; k++) {
        CHECK(!parse_model(&c2, sym[k], &err), "%s", err.message);
        for (int l = 0; l < 3; l++)
            CHECK(vd_vae_dec_channels(&c2, l) == c2.channels[l] &&
                      vd_vae_dec_kt(&c2, l) == c2.kt[l], "symmetric decoder, level %d", l);
        vd_strbuf_init(&s);
        vd_vae_config_json(&s, &c2);
        CHECK(!strstr(vd_strbuf_cstr(&s), "dec_channels") &&
                  !strstr(vd_strbuf_cstr(&s), "dec_time_kernels"),
              "symmetric config written with decoder lists: %s", vd_strbuf_cstr(&s));
        vd_strbuf_free(&s);
    }
    CHECK(vd_vae_config_diff(&c, &c2, what, sizeof what) == VD_VAE_DIFF_DECODER &&
              !strcmp(what, "dec_channels[0]: 16 vs 8"),
          "decoder-only difference: %s", what);
    c2.channels[2] = 24;
    c2.dec_channels[2] = 48;
    CHECK(vd_vae_config_diff(&c, &c2, what, sizeof what) ==
                  (VD_VAE_DIFF_ENCODER | VD_VAE_DIFF_DECODER) &&
              !strcmp(what, "channels[2]: 16 vs 24"),
          "encoder difference: %s", what);
    /* Errors name the member and the entry. */
    const struct {
        const char *json, *want;
    } bad[] = {{",\"dec_channels\":[16,32]}", "\"dec_channels\" has 2 entries, want 3"},
               {",\"dec_channels\":[16,30,48]}", "dec_channels[1] = 30 is not a positive multiple"},
               {",\"dec_channels\":[16,0,48]}", "dec_channels[1] = 0"},
               {",\"dec_time_kernels\":[3,2,3]}", "dec_time_kernels[1] = 2 (want 1 or 3)"},
               {",\"dec_time_kernels\":[3,3,0]}", "dec_time_kernels[2] = 0"},
               {",\"dec_time_kernels\":\"3\"}", "\"dec_time_kernels\" must be an array"}};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        snprintf(text, sizeof text, "%s%s", base, bad[k].json);
        err.message[0] = '\0';
        CHECK(parse_model(&c2, text, &err) != VD_OK && strstr(err.message, bad[k].want),
              "%s: accepted or unclear: %s", bad[k].json, err.message);
    }
    /* The same checks on a config built in code. */
    small_config(&c2);
    c2.dec_kt[1] = 2;
    CHECK(vd_vae_config_check(&c2, &err) == VD_ERR_ARG &&
              strstr(err.message, "dec_time_kernels[1]"),
          "dec_kt 2 accepted: %s", err.message);
    c2.dec_kt[1] = 0;
    c2.dec_channels[2] = 5;
    CHECK(vd_vae_config_check(&c2, &err) == VD_ERR_ARG &&
              strstr(err.message, "dec_channels[2] = 5"),
          "dec_channels 5 with 2 groups accepted: %s", err.message);
    printf("ok   dec_channels / dec_time_kernels: parsed, written when the decoder is its own, "
           "errors named (%s)\n", err.message);
}

/* time_pad: "zeros" by default and then not written (old configs read and
 * write as before), "replicate" parsed, written and read back; anything
 * else refused with the key and the value named. */
static void test_config_time_pad(void) {
    vd_vae_config c, c2;
    vd_error err;
    const char *base = "{\"channels\":[8,16,16],\"time_kernels\":[1,3,3],\"groups\":4";
    char text[512];
    const char *ends[3] = {"}", ",\"time_pad\":\"zeros\"}", ",\"time_pad\":\"replicate\"}"};
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text, "%s%s", base, ends[k]);
        CHECK(!parse_model(&c, text, &err), "%s", err.message);
        int want = k == 2 ? VD_VAE_TIME_PAD_REPLICATE : VD_VAE_TIME_PAD_ZEROS;
        CHECK(c.time_pad == want, "%s: time_pad %d, want %d", ends[k], c.time_pad, want);
        vd_strbuf s;
        vd_strbuf_init(&s);
        vd_vae_config_json(&s, &c);
        const char *json = vd_strbuf_cstr(&s);
        CHECK(k == 2 ? strstr(json, "\"time_pad\":\"replicate\"") != NULL
                     : strstr(json, "time_pad") == NULL,
              "%s written as %s", ends[k], json);
        CHECK(!parse_model(&c2, json, &err) && c2.time_pad == want &&
                  !vd_vae_config_diff(&c, &c2, NULL, 0),
              "round trip of %s: %s", json, err.message);
        vd_strbuf_free(&s);
    }
    const char *bad[3][2] = {{",\"time_pad\":\"reflect\"}", "\"time_pad\" is \"reflect\""},
                             {",\"time_pad\":\"\"}", "\"time_pad\" is \"\""},
                             {",\"time_pad\":1}", "'time_pad' must be a string"}};
    for (int k = 0; k < 3; k++) {
        snprintf(text, sizeof text, "%s%s", base, bad[k][0]);
        err.message[0] = '\0';
        CHECK(parse_model(&c2, text, &err) != VD_OK && strstr(err.message, bad[k][1]),
              "%s: accepted or unclear: %s", bad[k][0], err.message);
    }
    small_config(&c2);
    c2.time_pad = 2;
    CHECK(vd_vae_config_check(&c2, &err) == VD_ERR_ARG && strstr(err.message, "time_pad 2"),
          "time_pad 2 accepted: %s", err.message);
    snprintf(text, sizeof text, "%s%s", base, bad[0][0]);
    parse_model(&c2, text, &err);
    printf("ok   time_pad: default not written, replicate round trip, errors named (%s)\n",
           err.message);
}

int main(void) {
    test_config_time_pad();
    test_config_decoder();
    test_foreground_weights();
    test_overfit();
    test_train_resume();
    test_train_new_decoder();
    return vt_result("test_vae_train");
}
