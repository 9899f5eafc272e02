/* vidit generate: text to video with a trained model file
 * (src/diffusion/pipeline.h). */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "commands.h"
#include "core/json.h"
#include "diffusion/pipeline.h"
#include "diffusion/sampler.h"
#include "io/dataset.h"
#include "io/video.h"
#include "train/progress.h"
#include "vidit.h"

#define DEFAULT_MODEL "models/default.safetensors"

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit generate PROMPT -o OUT [options]\n"
            "       vidit generate --prompts FILE -o DIR [options]\n\n"
            "Makes a video from a text prompt. OUT's extension picks the format: .mp4,\n"
            ".webm, .gif, .y4m, a folder of PNG frames (a path ending in '/'), or .png for\n"
            "one frame (--frames 1). With --prompts, FILE holds one prompt per line and\n"
            "DIR gets 000000.mp4, ... and captions.jsonl (`vidit eval DIR` judges it).\n\n"
            "options (defaults come from the model file):\n"
            "  --model PATH       model file (default " DEFAULT_MODEL ", looked up in the\n"
            "                     current folder, then next to the vidit binary's ../)\n"
            "  --vae PATH         decode with this VAE file (same layers as the model's,\n"
            "                     e.g. a decoder fine-tuned with its encoder frozen)\n"
            "  --negative TEXT    negative prompt (guidance pushes away from it)\n"
            "  --seed N           noise seed (default 0); same seed and settings, same bytes\n"
            "  --steps N          sampling steps, 1..%d\n"
            "  --cfg G            classifier-free guidance scale, 0..100 (1: none)\n"
            "  --solver NAME      euler, heun or dpmpp (DPM-Solver++(2M))\n"
            "  --shift S          timestep shift, > 0 (1: none)\n"
            "  --frames F         1 + 4k frames (latent count 1 + k a multiple of the\n"
            "                     DiT's time patch), up to 4x the longest trained count\n"
            "  --size WxH         multiples of the VAE's compression x the DiT's patch, up\n"
            "                     to %dx%d; untrained shapes run (a note says so), quality\n"
            "                     is measured in the README. Defaults: the first trained shape\n"
            "  --fps R            frame rate of the file, 0 < R <= 120\n"
            "  --scale N          enlarge N times (nearest) for viewing, 1..16\n"
            "  --format EXT       batch mode: mp4 (default), webm, gif or y4m\n"
            "  --threads T        threads (default: one per core; results do not change)\n"
            "  --matmul P         auto (default: bf16 where the CPU has AVX512-BF16, else\n"
            "                     fp32), fp32, or bf16: products with bf16 inputs and fp32\n"
            "                     sums (other bytes than fp32; the same on any thread count)\n"
            "  --quiet            no progress or summary\n\n"
            "prompting with images and videos (at most one of --image, --extend, --edit,\n"
            "--connect; inputs are read at the output size, scaled to cover it and\n"
            "centre-cropped; all but --edit need a model trained with given frames):\n"
            "  --image FILE       image to video: FILE (PNG/JPEG, or a video's first frame)\n"
            "                     is the first frame\n"
            "  --extend FILE      continue the video: its last frames start a new clip of\n"
            "                     --frames; the output is FILE then the new frames\n"
            "  --backward         with --extend: make what came before (new frames, then FILE)\n"
            "  --edit FILE        SDEdit: remake FILE's frames (cut to 1 + 4k) after the\n"
            "                     prompt, starting part of the way along the noise path\n"
            "  --strength S       with --edit: 0 < S <= 1, how far from FILE (default 0.6;\n"
            "                     1 ignores it)\n"
            "  --connect A B      a clip of --frames that starts where A ends and ends where\n"
            "                     B starts\n"
            "  --loop             (text or --image) add a bridge from the end back to the\n"
            "                     start, so that the video plays in a loop\n"
            "With --extend, --edit and --connect the input's frame rate is kept unless --fps.\n",
            VD_T2V_MAX_STEPS, VD_T2V_MAX_SIDE, VD_T2V_MAX_SIDE);
}

static int bad(const char *msg, const char *arg) {
    fprintf(stderr, "vidit generate: %s%s\n(see vidit generate --help)\n", msg, arg ? arg : "");
    return 2;
}

static int parse_ll(const char *s, long long lo, long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end || errno || v < lo || v > hi) return 0;
    *out = v;
    return 1;
}

static int parse_num(const char *s, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v)) return 0;
    *out = v;
    return 1;
}

/* The default model: ./models/..., else <binary>/../models/... */
static void find_default(char *buf, size_t size) {
    snprintf(buf, size, "%s", DEFAULT_MODEL);
    if (access(buf, F_OK) == 0) return;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (!slash) return;
    *slash = 0;
    char cand[PATH_MAX + 64];
    snprintf(cand, sizeof cand, "%s/../%s", exe, DEFAULT_MODEL);
    if (access(cand, F_OK) == 0) snprintf(buf, size, "%s", cand);
}

typedef struct bar_state {
    int on, tty;
    const char *label;
    double start;
} bar_state;

static int show(void *user, const char *stage, int64_t done, int64_t total) {
    bar_state *b = user;
    if (!b->on) return 0;
    if (!strcmp(stage, "sampling") && b->tty) {
        int w = 24, fill = total > 0 ? (int)(w * done / total) : 0;
        char bar[32];
        for (int i = 0; i < w; i++) bar[i] = i < fill ? '#' : '.';
        bar[w] = 0;
        fprintf(stderr, "\r%s[%s] %lld/%lld evaluations  %.1f s\033[K", b->label, bar,
                (long long)done, (long long)total, vd_progress_now() - b->start);
    } else if (!strcmp(stage, "decoding") && done == 0 && b->tty) {
        fprintf(stderr, "\r%sdecoding...\033[K", b->label);
    }
    return 0;
}

/* What the output path is: a folder of frames, one image, or a video. */
static int check_output(const char *out, int frames, int batch) {
    size_t n = strlen(out);
    struct stat sb;
    int is_dir = (n && out[n - 1] == '/') || (stat(out, &sb) == 0 && S_ISDIR(sb.st_mode));
    if (batch) return 0;
    const char *dot = strrchr(out, '.'), *slash = strrchr(out, '/');
    if (!is_dir) {
        if (!dot || (slash && dot < slash))
            return bad("the output needs an extension (.mp4 .webm .gif .y4m .png) or a trailing '/': ", out);
        if (strcmp(dot, ".mp4") && strcmp(dot, ".webm") && strcmp(dot, ".gif") &&
            strcmp(dot, ".y4m") && strcmp(dot, ".png"))
            return bad("unknown output format (want .mp4 .webm .gif .y4m .png or a folder/): ", out);
        if (!strcmp(dot, ".png") && frames != 1)
            return bad("a .png holds one frame: use --frames 1, or a folder path ending in '/': ", out);
    }
    /* The folder that receives the file must exist and be writable. */
    char parent[PATH_MAX];
    snprintf(parent, sizeof parent, "%s", out);
    while (n > 1 && parent[n - 1] == '/') parent[--n] = 0;
    char *cut = strrchr(parent, '/');
    if (!cut) snprintf(parent, sizeof parent, ".");
    else if (cut == parent) parent[1] = 0;
    else *cut = 0;
    if (access(parent, W_OK) != 0) {
        fprintf(stderr, "vidit generate: cannot write %s: folder %s is missing or not writable\n",
                out, parent);
        return 1;
    }
    return 0;
}

/* Reads the prompts file: one prompt per non-empty line. */
static int read_prompts(const char *path, char ***lines, int *count) {
    char *text = NULL;
    size_t len = 0;
    vd_error err;
    if (vd_read_file(path, &text, &len, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        return 1;
    }
    int cap = 16, n = 0;
    char **v = malloc(cap * sizeof *v);
    for (char *save = NULL, *l = strtok_r(text, "\n", &save); l && v; l = strtok_r(NULL, "\n", &save)) {
        size_t k = strlen(l);
        if (k && l[k - 1] == '\r') l[--k] = 0;
        if (!k) continue;
        if (n == cap) {
            char **g = realloc(v, 2 * cap * sizeof *v);
            if (!g) break;
            v = g;
            cap *= 2;
        }
        v[n++] = l;
    }
    if (!v || n == 0) {
        fprintf(stderr, "vidit generate: %s: no prompts (one per line)\n", path);
        free(v);
        free(text);
        return 1;
    }
    /* The lines point into text, which v[-1] would lose: keep it first. */
    char **all = malloc((size_t)(n + 1) * sizeof *all);
    if (!all) {
        free(v);
        free(text);
        return 1;
    }
    all[0] = text;
    memcpy(all + 1, v, (size_t)n * sizeof *v);
    free(v);
    *lines = all;
    *count = n;
    return 0;
}

static int one(vd_t2v *m, vd_t2v_request *q, const char *out, const vd_video_write_opts *wo,
               bar_state *bs, int quiet) {
    vd_video v;
    vd_error err;
    bs->start = vd_progress_now();
    if (vd_t2v_generate(m, q, &v, &err)) {
        if (bs->on && bs->tty) fprintf(stderr, "\n");
        fprintf(stderr, "vidit generate: %s\n", err.message);
        return err.code == VD_ERR_ARG ? 2 : 1;
    }
    double secs = vd_progress_now() - bs->start;
    if (bs->on && bs->tty) fprintf(stderr, "\r\033[K");
    if (q->prompt_truncated || q->negative_truncated)
        fprintf(stderr, "vidit generate: warning: the %s was cut to the model's %d tokens\n",
                q->prompt_truncated ? "prompt" : "negative prompt",
                vd_dit_get_config(vd_t2v_dit(m))->max_text_len);
    int rc = 0;
    if (vd_video_write(out, &v, wo, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        rc = 1;
    } else if (!quiet) {
        printf("%s: %d frames %dx%d in %.1f s\n", out, v.frames, v.width, v.height, secs);
    }
    vd_video_free(&v);
    return rc;
}

/* Reads the prompting inputs at the output size (scaled to cover it and
 * centre-cropped) into in[0] (and in[1] for --connect's B) and points the
 * request at them. Videos keep their frame rate unless --fps was given. */
static int read_inputs(vd_t2v *m, vd_t2v_request *q, const vd_t2v_request *resolved,
                       const char *image, const char *extend, const char *edit,
                       const char *conn_a, const char *conn_b, vd_video *in) {
    const char *paths[2] = {image ? image : extend ? extend : edit ? edit : conn_a, conn_b};
    const int limit = 4 * vd_t2v_info_max_frames(vd_t2v_get_info(m));
    vd_error err;
    for (int k = 0; k < (conn_a ? 2 : 1); k++) {
        vd_video_read_opts ro;
        vd_video_read_opts_default(&ro);
        ro.width = resolved->width;
        ro.height = resolved->height;
        ro.crop = 1;
        /* Only the first frames of these matter. */
        if (image) ro.max_frames = 1;
        if (edit || k == 1) ro.max_frames = limit > 0 ? limit : 1;
        if (vd_video_read(paths[k], &ro, &in[k], &err)) {
            fprintf(stderr, "vidit generate: %s\n", err.message);
            return 1;
        }
    }
    if (image) q->image = &in[0];
    if (extend) q->extend = &in[0];
    if (edit) q->edit = &in[0];
    if (conn_a) {
        q->connect_a = &in[0];
        q->connect_b = &in[1];
    }
    if (q->fps == 0 && !image && in[0].fps > 0 && in[0].fps <= 120) q->fps = in[0].fps;
    return 0;
}

int cmd_generate(int argc, char **argv) {
    const char *prompt = NULL, *out = NULL, *model = NULL, *prompts = NULL, *format = "mp4";
    const char *vae = NULL;
    vd_t2v_request q;
    vd_t2v_request_default(&q);
    vd_video_write_opts wo;
    vd_video_write_opts_default(&wo);
    int quiet = 0, strength_set = 0;
    const char *image = NULL, *extend = NULL, *edit = NULL, *conn_a = NULL, *conn_b = NULL;
    long long v;
    double d;
    /* bf16 products where the CPU has them: 1.26 against 1.86 s per video
     * with the default model, and the same judged quality (README). */
    if (cli_matmul_option("vidit generate", "auto")) return 2;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int more = i + 1 < argc;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if ((!strcmp(a, "-o") || !strcmp(a, "--out")) && more) {
            out = argv[++i];
        } else if (!strcmp(a, "--model") && more) {
            model = argv[++i];
        } else if (!strcmp(a, "--vae") && more) {
            vae = argv[++i];
        } else if (!strcmp(a, "--prompts") && more) {
            prompts = argv[++i];
        } else if (!strcmp(a, "--negative") && more) {
            q.negative = argv[++i];
        } else if (!strcmp(a, "--seed") && more) {
            if (!parse_ll(argv[++i], 0, LLONG_MAX, &v)) return bad("--seed wants an integer >= 0, got ", argv[i]);
            q.seed = (uint64_t)v;
        } else if (!strcmp(a, "--steps") && more) {
            if (!parse_ll(argv[++i], 1, VD_T2V_MAX_STEPS, &v)) return bad("--steps wants 1..1000, got ", argv[i]);
            q.steps = (int)v;
        } else if (!strcmp(a, "--cfg") && more) {
            if (!parse_num(argv[++i], &d) || d < 0 || d > 100) return bad("--cfg wants 0..100, got ", argv[i]);
            q.cfg = (float)d;
        } else if (!strcmp(a, "--shift") && more) {
            if (!parse_num(argv[++i], &d) || !(d > 0) || d > 100) return bad("--shift wants 0 < S <= 100, got ", argv[i]);
            q.shift = (float)d;
        } else if (!strcmp(a, "--solver") && more) {
            if (!vd_solver_from_name(argv[++i], &q.solver)) return bad("--solver wants euler, heun or dpmpp, got ", argv[i]);
        } else if (!strcmp(a, "--frames") && more) {
            if (!parse_ll(argv[++i], 1, 4096, &v)) return bad("--frames wants 1 + 4k, got ", argv[i]);
            q.frames = (int)v;
        } else if (!strcmp(a, "--size") && more) {
            int w, h;
            char tail;
            if (sscanf(argv[++i], "%dx%d%c", &w, &h, &tail) != 2 || w < 1 || h < 1 || w > 4096 || h > 4096)
                return bad("--size wants WxH, got ", argv[i]);
            q.width = w;
            q.height = h;
        } else if (!strcmp(a, "--fps") && more) {
            if (!parse_num(argv[++i], &d) || !(d > 0) || d > 120) return bad("--fps wants 0 < R <= 120, got ", argv[i]);
            q.fps = d;
        } else if (!strcmp(a, "--scale") && more) {
            if (!parse_ll(argv[++i], 1, 16, &v)) return bad("--scale wants 1..16, got ", argv[i]);
            wo.scale = (int)v;
        } else if (!strcmp(a, "--format") && more) {
            format = argv[++i];
            if (strcmp(format, "mp4") && strcmp(format, "webm") && strcmp(format, "gif") && strcmp(format, "y4m"))
                return bad("--format wants mp4, webm, gif or y4m, got ", format);
        } else if (!strcmp(a, "--threads") && more) {
            if (!parse_ll(argv[++i], 1, 1024, &v)) return bad("--threads wants 1..1024, got ", argv[i]);
            vd_set_threads((int)v);
        } else if (!strcmp(a, "--matmul") && more) {
            if (cli_matmul_option("vidit generate", argv[++i])) return 2;
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
        } else if (!strcmp(a, "--image") && more) {
            image = argv[++i];
        } else if (!strcmp(a, "--extend") && more) {
            extend = argv[++i];
        } else if (!strcmp(a, "--edit") && more) {
            edit = argv[++i];
        } else if (!strcmp(a, "--connect") && i + 2 < argc) {
            conn_a = argv[++i];
            conn_b = argv[++i];
        } else if (!strcmp(a, "--backward")) {
            q.backward = 1;
        } else if (!strcmp(a, "--loop")) {
            q.loop = 1;
        } else if (!strcmp(a, "--strength") && more) {
            if (!parse_num(argv[++i], &d) || !(d > 0) || d > 1)
                return bad("--strength wants 0 < S <= 1, got ", argv[i]);
            q.strength = (float)d;
            strength_set = 1;
        } else if (a[0] == '-' && a[1]) {
            return bad("unknown option or missing value: ", a);
        } else if (!prompt) {
            prompt = a;
        } else {
            return bad("more than one prompt (quote it): ", a);
        }
    }
    if (!out) return bad("needs -o OUT", NULL);
    if (!prompt == !prompts) return bad("give one PROMPT or --prompts FILE", NULL);
    int modes = !!image + !!extend + !!edit + !!conn_a;
    if (modes > 1) return bad("give at most one of --image, --extend, --edit and --connect", NULL);
    if (modes && prompts) return bad("--image, --extend, --edit and --connect take one PROMPT, not --prompts", NULL);
    if (q.backward && !extend) return bad("--backward goes with --extend only", NULL);
    if (strength_set && !edit) return bad("--strength goes with --edit only", NULL);
    if (q.loop && (extend || edit || conn_a)) return bad("--loop goes with a prompt alone or --image", NULL);
    if (q.loop && prompts) return bad("--loop takes one PROMPT, not --prompts", NULL);
    if (edit && !strength_set) q.strength = 0.6f;
    if (prompt && strlen(prompt) > VD_T2V_MAX_PROMPT_BYTES) {
        fprintf(stderr, "vidit generate: the prompt is %zu bytes; at most %d are accepted\n",
                strlen(prompt), VD_T2V_MAX_PROMPT_BYTES);
        return 2;
    }
    int rc = check_output(out, q.frames ? q.frames : -1, prompts != NULL);
    if (rc) return rc;
    char mpath[PATH_MAX + 64];
    if (model) snprintf(mpath, sizeof mpath, "%s", model);
    else find_default(mpath, sizeof mpath);
    if (!model && access(mpath, F_OK) != 0) {
        fprintf(stderr, "vidit generate: no default model %s (train one with scripts/train-default.sh, "
                "or pass --model PATH)\n", DEFAULT_MODEL);
        return 1;
    }
    vd_t2v *m = NULL;
    vd_error err;
    if (vd_t2v_load(&m, mpath, NULL, &err) || (vae && vd_t2v_use_vae(m, vae, &err))) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        vd_t2v_free(m);
        return 1;
    }
    /* Settings are checked before anything is written. */
    q.prompt = prompt ? prompt : "";
    vd_t2v_request resolved;
    vd_video in[2];
    memset(in, 0, sizeof in);
    /* First without the inputs (to know the size to read them at). */
    vd_t2v_request plain = q;
    plain.backward = 0;
    plain.strength = 0.0f;
    if (vd_t2v_check(m, &plain, &resolved, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        vd_t2v_free(m);
        return err.code == VD_ERR_ARG ? 2 : 1;
    }
    if (modes) {
        rc = read_inputs(m, &q, &resolved, image, extend, edit, conn_a, conn_b, in);
        if (!rc && vd_t2v_check(m, &q, &resolved, &err)) {
            fprintf(stderr, "vidit generate: %s\n", err.message);
            rc = err.code == VD_ERR_ARG ? 2 : 1;
        }
        if (rc) {
            vd_video_free(&in[0]);
            vd_video_free(&in[1]);
            vd_t2v_free(m);
            return rc;
        }
    }
    if (prompt && (resolved.frames != 1 || extend || q.loop)) {
        const char *dot = strrchr(out, '.');
        if (dot && !strcmp(dot, ".png")) {
            fprintf(stderr, "vidit generate: a .png holds one frame, but the result has more "
                    "(use --frames 1 with a prompt alone, or a video format)\n");
            vd_video_free(&in[0]);
            vd_video_free(&in[1]);
            vd_t2v_free(m);
            return 2;
        }
    }
    if (!quiet && !vd_t2v_shape_trained(m, resolved.frames, resolved.width, resolved.height))
        fprintf(stderr, "vidit generate: note: %d frames at %dx%d is not a shape this model was "
                "trained on; it runs, quality may be lower\n", resolved.frames, resolved.width,
                resolved.height);
    bar_state bs = {!quiet, isatty(fileno(stderr)), "", 0};
    q.progress = show;
    q.progress_user = &bs;
    if (!quiet)
        fprintf(stderr, "%s: %d frames %dx%d, %d %s steps, cfg %g, shift %g, seed %llu\n", mpath,
                resolved.frames, resolved.width, resolved.height, resolved.steps,
                vd_solver_name(resolved.solver), (double)resolved.cfg, (double)resolved.shift,
                (unsigned long long)resolved.seed);
    if (prompt) {
        rc = one(m, &q, out, &wo, &bs, quiet);
        vd_video_free(&in[0]);
        vd_video_free(&in[1]);
        vd_t2v_free(m);
        return rc;
    }
    /* Batch mode. */
    char **lines = NULL;
    int n = 0;
    if (read_prompts(prompts, &lines, &n)) {
        vd_t2v_free(m);
        return 1;
    }
    vd_dataset_writer *w = NULL;
    rc = 0;
    if (vd_dataset_writer_new(&w, out, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        rc = 1;
    }
    uint64_t seed0 = q.seed;
    for (int i = 0; i < n && !rc; i++) {
        char file[64], path[PATH_MAX + 64], label[64];
        snprintf(file, sizeof file, "%06d.%s", i, format);
        snprintf(path, sizeof path, "%s/%s", out, file);
        snprintf(label, sizeof label, "%d/%d ", i + 1, n);
        bs.label = label;
        q.prompt = lines[i + 1];
        q.seed = seed0 + (uint64_t)i;
        rc = one(m, &q, path, &wo, &bs, quiet);
        if (!rc && vd_dataset_writer_add(w, file, q.prompt, NULL, &err)) {
            fprintf(stderr, "vidit generate: %s\n", err.message);
            rc = 1;
        }
    }
    if (!rc && vd_dataset_writer_close(w, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        rc = 1;
    }
    if (!rc && !quiet) printf("%s: %d videos and captions.jsonl\n", out, n);
    vd_dataset_writer_free(w);
    free(lines[0]);
    free(lines);
    vd_t2v_free(m);
    return rc;
}
