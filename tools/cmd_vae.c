/* vidit vae: train, use and measure the video compression network.
 *
 *   vidit vae train --config C --data DIR --out RUN [--steps N] [--time-budget S]
 *                   [--batch B] [--resume] [--progress bar|lines|none]
 *   vidit vae encode IN -o LATENT.safetensors [--model M]
 *   vidit vae decode LATENT.safetensors -o OUT [--model M]
 *   vidit vae recon IN -o OUT [--model M]
 *   vidit vae eval --data DIR [--model M] [--limit N]
 *
 * Videos whose frame count is not 1 + 4k are padded by repeating the last
 * frame before encoding (the latent file records the real count and decode
 * trims back); frame sizes that are not multiples of the spatial
 * compression are refused (resize first: `vidit video`). */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/arena.h"
#include "core/safetensors.h"
#include "eval/eval.h"
#include "io/dataset.h"
#include "io/video.h"
#include "models/vae.h"
#include "train/progress.h"
#include "train/vae_train.h"
#include "vidit.h"

#define DEFAULT_MODEL "models/vae.safetensors"

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit vae COMMAND ...\n\n"
            "  train --data DIR --out RUN [--config configs/vae.json] [--steps N]\n"
            "        [--time-budget SECONDS] [--batch B] [--resume] [--init MODEL]\n"
            "        [--progress bar|lines|none]\n"
            "        trains; RUN gets log.csv, loss.svg, samples/, checkpoint.safetensors and\n"
            "        vae.safetensors (the model). A RUN with a checkpoint resumes exactly.\n"
            "        --init starts from a model's weights (same config); with train.\n"
            "        freeze_encoder true in the config only the decoder learns, so the\n"
            "        latent space (and a DiT trained on it) stays valid, and the model's\n"
            "        decoder may differ (dec_channels, dec_time_kernels, dec_blocks): the\n"
            "        encoder and latent statistics come whole from the model (whose\n"
            "        time_pad must match), decoder tensors of another shape start fresh.\n"
            "  encode IN -o LATENT.safetensors [--model M]\n"
            "  decode LATENT.safetensors -o OUT [--model M]   (one latent frame at a time)\n"
            "  recon IN -o OUT [--model M]        a video and its reconstruction; prints PSNR\n"
            "  eval --data DIR [--model M] [--limit N]\n"
            "        compression ratio, PSNR, SSIM, ms per video, and the judge's colour and\n"
            "        shape accuracy on originals and reconstructions\n\n"
            "--model defaults to " DEFAULT_MODEL ". Frame counts that are not 1 + 4k are\n"
            "padded by repeating the last frame (and trimmed after decoding); sizes that\n"
            "are not multiples of the spatial compression are refused.\n");
}

static int fail(const char *what, const vd_error *err) {
    fprintf(stderr, "vidit vae %s: %s\n", what, err->message);
    return 1;
}

static int bad(const char *msg, const char *arg) {
    fprintf(stderr, "vidit vae: %s%s\n(see vidit vae --help)\n", msg, arg ? arg : "");
    return 2;
}

/* Reads a video and makes its model tensor, padded to 1 + tc k frames. */
static vd_status load_video(vd_vae *vae, const char *path, vd_video *v, float **x, int *T,
                            vd_error *err) {
    vd_status st = vd_video_read(path, NULL, v, err);
    if (st) return st;
    int tc = vd_vae_config_temporal(vd_vae_get_config(vae));
    *T = 1 + (v->frames - 1 + tc - 1) / tc * tc;
    if ((st = vd_vae_check_input(vae, *T, v->height, v->width, err))) return st;
    size_t frame = (size_t)v->height * v->width * 3;
    uint8_t *rgb = malloc(frame * (size_t)*T);
    *x = malloc(frame * (size_t)*T * sizeof(float));
    if (!rgb || !*x) {
        free(rgb);
        free(*x);
        *x = NULL;
        err->code = VD_ERR_NOMEM;
        snprintf(err->message, sizeof err->message, "out of memory");
        return VD_ERR_NOMEM;
    }
    memcpy(rgb, v->rgb, frame * v->frames);
    for (int t = v->frames; t < *T; t++)
        memcpy(rgb + frame * t, v->rgb + frame * (v->frames - 1), frame);
    vd_vae_from_rgb(*x, rgb, *T, v->height, v->width);
    free(rgb);
    return VD_OK;
}

static int cmd_train(int argc, char **argv) {
    vd_vae_train_opts o;
    memset(&o, 0, sizeof o);
    o.config_path = "configs/vae.json";
    int mode = VD_PROGRESS_AUTO;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--config") && more) o.config_path = argv[++i];
        else if (!strcmp(a, "--data") && more) o.data = argv[++i];
        else if (!strcmp(a, "--out") && more) o.out = argv[++i];
        else if (!strcmp(a, "--steps") && more) o.steps = atoll(argv[++i]);
        else if (!strcmp(a, "--time-budget") && more) o.time_budget = atof(argv[++i]);
        else if (!strcmp(a, "--batch") && more) o.batch = atoi(argv[++i]);
        else if (!strcmp(a, "--resume")) o.resume = 1;
        else if (!strcmp(a, "--init") && more) o.init = argv[++i];
        else if (!strcmp(a, "--progress") && more) {
            const char *m = argv[++i];
            mode = !strcmp(m, "bar") ? VD_PROGRESS_BAR : !strcmp(m, "lines") ? VD_PROGRESS_LINES
                   : !strcmp(m, "none") ? VD_PROGRESS_NONE : -1;
            if (mode < 0) return bad("unknown --progress ", m);
        } else return bad("unknown train option ", a);
    }
    if (!o.data || !o.out) return bad("train needs --data and --out", NULL);
    vd_progress p;
    vd_progress_init(&p, stderr, mode, 0, 0, 10.0);
    o.progress = &p;
    o.stop = &cli_stop_requested;
    cli_catch_stop_signals();
    vd_vae_train_report r;
    vd_error err;
    if (vd_vae_train(&o, &r, &err)) return fail("train", &err);
    printf("trained %lld steps (%lld this run) in %.0f s: %.3f s/step, last loss %.5f, "
           "sample PSNR %.2f dB\nmodel: %s/vae.safetensors\n",
           (long long)r.step, (long long)r.steps_this_run, r.seconds, r.seconds_per_step,
           r.last_loss, r.sample_psnr, o.out);
    return 0;
}

typedef struct io_args {
    const char *in, *out, *model, *data;
    int limit;
} io_args;

static int parse_io(int argc, char **argv, io_args *a) {
    memset(a, 0, sizeof *a);
    a->model = DEFAULT_MODEL;
    for (int i = 0; i < argc; i++) {
        int more = i + 1 < argc;
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--out")) && more) a->out = argv[++i];
        else if (!strcmp(argv[i], "--model") && more) a->model = argv[++i];
        else if (!strcmp(argv[i], "--data") && more) a->data = argv[++i];
        else if (!strcmp(argv[i], "--limit") && more) a->limit = atoi(argv[++i]);
        else if (argv[i][0] == '-') return bad("unknown option ", argv[i]);
        else if (!a->in) a->in = argv[i];
        else return bad("unexpected argument ", argv[i]);
    }
    return 0;
}

static int cmd_encode(int argc, char **argv) {
    io_args a;
    int rc = parse_io(argc, argv, &a);
    if (rc) return rc;
    if (!a.in || !a.out) return bad("encode needs IN and -o LATENT", NULL);
    vd_error err;
    vd_vae *vae = NULL;
    vd_video v;
    memset(&v, 0, sizeof v);
    float *x = NULL, *z = NULL;
    vd_arena *ws = vd_arena_new(NULL, 0);
    vd_st_writer *w = vd_st_writer_new(NULL);
    int T, Tl, Hl, Wl;
    rc = 1;
    if (vd_vae_load(&vae, a.model, NULL, &err) || load_video(vae, a.in, &v, &x, &T, &err)) goto out;
    vd_vae_latent_shape(vae, T, v.height, v.width, &Tl, &Hl, &Wl);
    int Z = vd_vae_get_config(vae)->latent_channels;
    z = malloc((size_t)Z * Tl * Hl * Wl * sizeof(float));
    if (!z || !ws || !w) {
        snprintf(err.message, sizeof err.message, "out of memory");
        goto out;
    }
    if (vd_vae_encode(vae, x, 1, T, v.height, v.width, z, ws, &err)) goto out;
    int64_t shape[5] = {1, Z, Tl, Hl, Wl};
    char frames[32], fps[32];
    snprintf(frames, sizeof frames, "%d", v.frames);
    snprintf(fps, sizeof fps, "%.6g", v.fps);
    if (vd_st_writer_add_f32(w, "latent", VD_F32, 5, shape, z, &err) ||
        vd_st_writer_meta(w, "frames", frames, &err) || vd_st_writer_meta(w, "fps", fps, &err) ||
        vd_st_writer_save(w, a.out, &err))
        goto out;
    printf("%s: %d frames %dx%d -> latent (%d, %d, %d, %d)\n", a.out, v.frames, v.width, v.height,
           Z, Tl, Hl, Wl);
    rc = 0;
out:
    if (rc) fail("encode", &err);
    vd_st_writer_free(w);
    vd_arena_free(ws);
    free(x);
    free(z);
    vd_video_free(&v);
    vd_vae_free(vae);
    return rc;
}

static int write_decoded(vd_vae *vae, const float *z, int Tl, int Hl, int Wl, int frames,
                         double fps, const char *out, vd_video *dst, vd_arena *ws, vd_error *err) {
    int sc = vd_vae_config_spatial(vd_vae_get_config(vae));
    int tc = vd_vae_config_temporal(vd_vae_get_config(vae));
    int T = 1 + (Tl - 1) * tc, H = Hl * sc, W = Wl * sc;
    if (frames <= 0 || frames > T) frames = T;
    float *x = malloc((size_t)3 * T * H * W * sizeof(float));
    uint8_t *rgb = malloc((size_t)3 * T * H * W);
    int rc = 1;
    if (!x || !rgb) {
        snprintf(err->message, sizeof err->message, "out of memory");
    } else if (!vd_vae_decode(vae, z, 1, Tl, Hl, Wl, x, ws, err) &&
               !vd_video_alloc(dst, frames, W, H, fps > 0 ? fps : 8.0, err)) {
        vd_vae_to_rgb(rgb, x, T, H, W);
        memcpy(dst->rgb, rgb, (size_t)frames * H * W * 3);
        rc = out && vd_video_write(out, dst, NULL, err) ? 1 : 0;
    }
    free(x);
    free(rgb);
    return rc;
}

static int cmd_decode(int argc, char **argv) {
    io_args a;
    int rc = parse_io(argc, argv, &a);
    if (rc) return rc;
    if (!a.in || !a.out) return bad("decode needs LATENT and -o OUT", NULL);
    vd_error err;
    vd_vae *vae = NULL;
    vd_st_file *f = NULL;
    vd_arena *ws = vd_arena_new(NULL, 0);
    vd_video v;
    memset(&v, 0, sizeof v);
    float *z = NULL;
    rc = 1;
    if (vd_vae_load(&vae, a.model, NULL, &err) || vd_st_open(&f, a.in, &err)) goto out;
    const vd_st_tensor *t = vd_st_find(f, "latent");
    int Z = vd_vae_get_config(vae)->latent_channels;
    if (!t || t->ndim != 5 || t->shape[0] != 1 || t->shape[1] != Z) {
        snprintf(err.message, sizeof err.message,
                 "%s: no tensor 'latent' of shape (1, %d, T, H, W) for this model", a.in, Z);
        goto out;
    }
    size_t n = (size_t)(t->nbytes / vd_dtype_size(t->dtype));
    z = malloc(n * sizeof(float));
    if (!z || vd_st_read_f32(t, z, n, &err)) goto out;
    const char *fr = vd_st_metadata(f, "frames"), *fp = vd_st_metadata(f, "fps");
    rc = write_decoded(vae, z, (int)t->shape[2], (int)t->shape[3], (int)t->shape[4],
                       fr ? atoi(fr) : 0, fp ? atof(fp) : 8.0, a.out, &v, ws, &err);
    if (!rc) printf("%s: %d frames %dx%d\n", a.out, v.frames, v.width, v.height);
out:
    if (rc) fail("decode", &err);
    free(z);
    vd_video_free(&v);
    vd_st_close(f);
    vd_arena_free(ws);
    vd_vae_free(vae);
    return rc;
}

/* Encodes and decodes one video; recon gets the reconstruction. */
static int roundtrip(vd_vae *vae, const char *in, const char *out, vd_video *orig,
                     vd_video *recon, double *ms_enc, double *ms_dec, vd_arena *ws,
                     vd_error *err) {
    float *x = NULL, *z = NULL;
    int T, Tl, Hl, Wl, rc = 1;
    if (load_video(vae, in, orig, &x, &T, err)) return 1;
    vd_vae_latent_shape(vae, T, orig->height, orig->width, &Tl, &Hl, &Wl);
    z = malloc((size_t)vd_vae_get_config(vae)->latent_channels * Tl * Hl * Wl * sizeof(float));
    double t0 = vd_progress_now();
    if (z && !vd_vae_encode(vae, x, 1, T, orig->height, orig->width, z, ws, err)) {
        double t1 = vd_progress_now();
        rc = write_decoded(vae, z, Tl, Hl, Wl, orig->frames, orig->fps, out, recon, ws, err);
        *ms_enc = (t1 - t0) * 1e3;
        *ms_dec = (vd_progress_now() - t1) * 1e3;
    }
    free(x);
    free(z);
    return rc;
}

static int cmd_recon(int argc, char **argv) {
    io_args a;
    int rc = parse_io(argc, argv, &a);
    if (rc) return rc;
    if (!a.in || !a.out) return bad("recon needs IN and -o OUT", NULL);
    vd_error err;
    vd_vae *vae = NULL;
    vd_video v, r;
    memset(&v, 0, sizeof v);
    memset(&r, 0, sizeof r);
    vd_arena *ws = vd_arena_new(NULL, 0);
    double me, md;
    rc = vd_vae_load(&vae, a.model, NULL, &err) ? 1
         : roundtrip(vae, a.in, a.out, &v, &r, &me, &md, ws, &err);
    if (!rc) {
        size_t n = (size_t)v.frames * v.height * v.width * 3;
        printf("%s: PSNR %.2f dB, SSIM %.4f (encode %.0f ms, decode %.0f ms)\n", a.out,
               vd_psnr_u8(v.rgb, r.rgb, n), vd_ssim_rgb(v.rgb, r.rgb, v.frames, v.height, v.width),
               me, md);
    } else {
        fail("recon", &err);
    }
    vd_video_free(&v);
    vd_video_free(&r);
    vd_arena_free(ws);
    vd_vae_free(vae);
    return rc;
}

#define VD_VAE_EVAL_MAX_TL 64

static int cmd_veval(int argc, char **argv) {
    io_args a;
    int rc = parse_io(argc, argv, &a);
    if (rc) return rc;
    if (!a.data) return bad("eval needs --data DIR", NULL);
    vd_error err;
    vd_vae *vae = NULL;
    vd_dataset *ds = NULL;
    if (vd_vae_load(&vae, a.model, NULL, &err) || vd_dataset_open(&ds, a.data, &err)) {
        vd_vae_free(vae);
        return fail("eval", &err);
    }
    vd_arena *ws = vd_arena_new(NULL, 0);
    size_t n = vd_dataset_count(ds);
    if (a.limit > 0 && (size_t)a.limit < n) n = (size_t)a.limit;
    double psnr = 0, ssim = 0, ms_e = 0, ms_d = 0, ratio = 0;
    /* The judge's metrics that a reconstruction can lose; count and direction
     * catch split objects and trails that colour and shape do not. */
    enum { NM = 6 };
    const int metrics[NM] = {VD_EVAL_PRESENCE, VD_EVAL_COLOUR, VD_EVAL_SHAPE,
                             VD_EVAL_COUNT,    VD_EVAL_DIRECTION, VD_EVAL_EVERY};
    const char *names[NM] = {"presence", "colour", "shape", "count", "direction", "every"};
    double acc[2][NM] = {{0}};
    int cnt[2][NM] = {{0}}, done = 0, failed = 0;
    /* PSNR per latent frame (video frame 0, then each group of tc frames),
     * averaged over videos: a causal decoder that degrades with the position
     * in time shows here and hides in the whole-video mean. */
    double frame_psnr[VD_VAE_EVAL_MAX_TL] = {0};
    int frame_cnt[VD_VAE_EVAL_MAX_TL] = {0}, max_tl = 0;
    /* The latent of each video's first frame held still (vd_vae_still_drift). */
    double drift[VD_VAE_EVAL_MAX_TL] = {0};
    int drift_cnt[VD_VAE_EVAL_MAX_TL] = {0}, max_drift = 0;
    for (size_t i = 0; i < n; i++) {
        const vd_dataset_item *it = vd_dataset_entry(ds, i);
        vd_video v, r;
        memset(&v, 0, sizeof v);
        memset(&r, 0, sizeof r);
        double me = 0, md = 0;
        if (roundtrip(vae, it->path, NULL, &v, &r, &me, &md, ws, &err)) {
            fprintf(stderr, "vidit vae eval: %s: %s\n", it->path, err.message);
            failed++;
            vd_video_free(&v);
            vd_video_free(&r);
            continue;
        }
        size_t bytes = (size_t)v.frames * v.height * v.width * 3;
        psnr += vd_psnr_u8(v.rgb, r.rgb, bytes);
        ssim += vd_ssim_rgb(v.rgb, r.rgb, v.frames, v.height, v.width);
        ms_e += me;
        ms_d += md;
        int Tl, Hl, Wl, tc = vd_vae_config_temporal(vd_vae_get_config(vae));
        vd_vae_latent_shape(vae, 1 + (v.frames - 1 + tc - 1) / tc * tc, v.height, v.width, &Tl,
                            &Hl, &Wl);
        ratio += (double)bytes / ((double)vd_vae_get_config(vae)->latent_channels * Tl * Hl * Wl);
        double fp[VD_VAE_EVAL_MAX_TL];
        int groups = vd_psnr_latent_frames(v.rgb, r.rgb, v.frames, v.height, v.width, tc, fp,
                                           VD_VAE_EVAL_MAX_TL);
        if (groups > VD_VAE_EVAL_MAX_TL) groups = VD_VAE_EVAL_MAX_TL;
        for (int j = 0; j < groups; j++) {
            frame_psnr[j] += isinf(fp[j]) ? 99.0 : fp[j]; /* cap an exact group */
            frame_cnt[j]++;
        }
        if (groups > max_tl) max_tl = groups;
        float *x = (v.frames - 1) % tc == 0
                       ? malloc((size_t)3 * v.frames * v.height * v.width * sizeof *x)
                       : NULL;
        if (x) {
            double dj[VD_VAE_EVAL_MAX_TL];
            vd_vae_from_rgb(x, v.rgb, v.frames, v.height, v.width);
            int steps = vd_vae_still_drift(vae, x, v.frames, v.height, v.width, dj,
                                           VD_VAE_EVAL_MAX_TL, ws, &err);
            if (steps < 0) fprintf(stderr, "vidit vae eval: %s: %s\n", it->path, err.message);
            if (steps > VD_VAE_EVAL_MAX_TL) steps = VD_VAE_EVAL_MAX_TL;
            for (int j = 0; j < steps; j++) {
                drift[j] += dj[j];
                drift_cnt[j]++;
            }
            if (steps > max_drift) max_drift = steps;
            free(x);
        }
        const vd_video *pair[2] = {&v, &r};
        for (int k = 0; k < 2; k++) {
            vd_eval_result res;
            if (vd_eval_video(pair[k], it->caption, NULL, &res, &err)) continue;
            for (int m = 0; m < NM; m++)
                if (!isnan(res.metric[metrics[m]])) {
                    acc[k][m] += res.metric[metrics[m]];
                    cnt[k][m]++;
                }
        }
        done++;
        vd_video_free(&v);
        vd_video_free(&r);
    }
    if (done) {
        printf("videos            %d (%d failed)\n", done, failed);
        printf("compression       %.1fx (RGB values per latent value)\n", ratio / done);
        printf("PSNR              %.2f dB\n", psnr / done);
        printf("SSIM              %.4f (luma, 8x8 windows)\n", ssim / done);
        printf("PSNR by latent frame");
        for (int j = 0; j < max_tl; j++) printf(" %.2f", frame_psnr[j] / frame_cnt[j]);
        printf(" dB\n");
        if (max_drift) {
            printf("still drift       ");
            for (int j = 0; j < max_drift; j++) printf(" %.3f", drift[j] / drift_cnt[j]);
            printf(" (first frame held still: mean |z[t+1] - z[t]| / latent std, t = 1..; "
                   "ideal 0)\n");
        }
        printf("encode            %.1f ms/video\n", ms_e / done);
        printf("decode            %.1f ms/video (streamed)\n", ms_d / done);
        for (int m = 0; m < NM; m++) {
            double o = cnt[0][m] ? 100 * acc[0][m] / cnt[0][m] : NAN;
            double rr = cnt[1][m] ? 100 * acc[1][m] / cnt[1][m] : NAN;
            printf("judge %-9s   original %6.2f%%  reconstruction %6.2f%%  (diff %+.2f)\n",
                   names[m], o, rr, rr - o);
        }
    }
    vd_arena_free(ws);
    vd_dataset_free(ds);
    vd_vae_free(vae);
    if (!done) {
        fprintf(stderr, "vidit vae eval: no video could be evaluated\n");
        return 1;
    }
    return failed ? 1 : 0;
}

int cmd_vae(int argc, char **argv) {
    argc--; /* argv[0] is "vae" */
    argv++;
    if (argc < 1 || !strcmp(argv[0], "--help") || !strcmp(argv[0], "-h")) {
        usage(argc < 1 ? stderr : stdout);
        return argc < 1 ? 2 : 0;
    }
    const char *c = argv[0];
    /* `vidit vae train --help` and friends: every sub-command's options are
     * in the one usage text. */
    for (int i = 1; i < argc; i++)
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            usage(stdout);
            return 0;
        }
    if (!strcmp(c, "train")) return cmd_train(argc - 1, argv + 1);
    if (!strcmp(c, "encode")) return cmd_encode(argc - 1, argv + 1);
    if (!strcmp(c, "decode")) return cmd_decode(argc - 1, argv + 1);
    if (!strcmp(c, "recon")) return cmd_recon(argc - 1, argv + 1);
    if (!strcmp(c, "eval")) return cmd_veval(argc - 1, argv + 1);
    return bad("unknown command ", c);
}
