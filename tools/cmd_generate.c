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
            "  --negative TEXT    negative prompt (guidance pushes away from it)\n"
            "  --seed N           noise seed (default 0); same seed and settings, same bytes\n"
            "  --steps N          sampling steps, 1..%d\n"
            "  --cfg G            classifier-free guidance scale, 0..100 (1: none)\n"
            "  --solver NAME      euler, heun or dpmpp (DPM-Solver++(2M))\n"
            "  --shift S          timestep shift, > 0 (1: none)\n"
            "  --frames F         1 + 4k frames, up to what the model was trained on\n"
            "  --size WxH         one of the model's trained sizes\n"
            "  --fps R            frame rate of the file, 0 < R <= 120\n"
            "  --scale N          enlarge N times (nearest) for viewing, 1..16\n"
            "  --format EXT       batch mode: mp4 (default), webm, gif or y4m\n"
            "  --threads T        threads (default: one per core; results do not change)\n"
            "  --quiet            no progress or summary\n",
            VD_T2V_MAX_STEPS);
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

int cmd_generate(int argc, char **argv) {
    const char *prompt = NULL, *out = NULL, *model = NULL, *prompts = NULL, *format = "mp4";
    vd_t2v_request q;
    vd_t2v_request_default(&q);
    vd_video_write_opts wo;
    vd_video_write_opts_default(&wo);
    int quiet = 0;
    long long v;
    double d;
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
        } else if (!strcmp(a, "--quiet")) {
            quiet = 1;
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
    if (vd_t2v_load(&m, mpath, NULL, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        return 1;
    }
    /* Settings are checked before anything is written. */
    q.prompt = prompt ? prompt : "";
    vd_t2v_request resolved;
    if (vd_t2v_check(m, &q, &resolved, &err)) {
        fprintf(stderr, "vidit generate: %s\n", err.message);
        vd_t2v_free(m);
        return 2;
    }
    if (prompt && resolved.frames != 1) {
        const char *dot = strrchr(out, '.');
        if (dot && !strcmp(dot, ".png")) {
            fprintf(stderr, "vidit generate: a .png holds one frame, but %d frames were asked for "
                    "(use --frames 1)\n", resolved.frames);
            vd_t2v_free(m);
            return 2;
        }
    }
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
