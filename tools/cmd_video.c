/* vidit video: convert between video formats (resizing, cropping and
 * resampling on the way) and probe files. */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "core/strbuf.h"
#include "io/video.h"
#include "models/vae.h"

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit video convert IN OUT [options]\n"
            "       vidit video probe FILE\n"
            "       vidit video psnr A B [--a-start N] [--b-start N] [--frames N]\n"
            "\n"
            "convert reads anything FFmpeg decodes (or a PNG/JPEG, or a folder of PNG frames)\n"
            "and writes by OUT's extension: .mp4 (H.264), .webm (VP9), .gif, .y4m, .png\n"
            "(one frame) or a folder/ of PNG frames.\n"
            "  --size WxH     resize (0 for one side keeps the aspect ratio)\n"
            "  --crop         centre-crop to WxH's aspect instead of stretching\n"
            "  --fps R        resample to R frames per second (nearest frame)\n"
            "  --frames N     keep at most N frames\n"
            "  --start N      skip the first N frames (after resampling)\n"
            "  --scale N      enlarge N times (nearest neighbour) for viewing\n"
            "  --quality Q    0..100 for .mp4/.webm (default 90)\n"
            "\n"
            "probe prints {\"file\", \"frames\", \"width\", \"height\", \"fps\"} as JSON.\n"
            "\n"
            "psnr prints the PSNR in dB (\"inf\" when equal) of A's frames from --a-start\n"
            "against B's from --b-start (default 0; negative counts from the end, -1 the\n"
            "last frame), over --frames N frames (default: as many as both have), 8-bit\n"
            "RGB. A and B must have the same size; either may be an image.\n");
}

static int parse_int(const char *s, int lo, int hi, int *out) {
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < lo || v > hi) return 0;
    *out = (int)v;
    return 1;
}

static int parse_size(const char *s, int *w, int *h) {
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s);
    char *x = strchr(buf, 'x');
    if (!x) return 0;
    *x = '\0';
    return parse_int(buf, 0, 8192, w) && parse_int(x + 1, 0, 8192, h) && (*w || *h);
}

static int convert(int argc, char **argv) {
    const char *in = NULL, *out = NULL;
    vd_video_read_opts ro;
    vd_video_write_opts wo;
    vd_video_read_opts_default(&ro);
    vd_video_write_opts_default(&wo);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        const char *v = i + 1 < argc ? argv[i + 1] : NULL;
        int ok = 1;
        if (!strcmp(a, "--crop")) {
            ro.crop = 1;
            continue;
        }
        if (!strncmp(a, "--", 2) && !v) {
            fprintf(stderr, "vidit video convert: %s needs a value\n", a);
            return 2;
        }
        if (!strcmp(a, "--size")) {
            ok = parse_size(v, &ro.width, &ro.height);
        } else if (!strcmp(a, "--fps")) {
            char *end;
            ro.fps = strtod(v, &end);
            ok = end != v && !*end && ro.fps > 0 && ro.fps <= 1000;
        } else if (!strcmp(a, "--frames")) {
            ok = parse_int(v, 1, INT_MAX, &ro.max_frames);
        } else if (!strcmp(a, "--start")) {
            ok = parse_int(v, 0, INT_MAX, &ro.start_frame);
        } else if (!strcmp(a, "--scale")) {
            ok = parse_int(v, 1, 64, &wo.scale);
        } else if (!strcmp(a, "--quality")) {
            ok = parse_int(v, 0, 100, &wo.quality);
        } else if (!strncmp(a, "--", 2)) {
            fprintf(stderr, "vidit video convert: unknown option %s\n", a);
            return 2;
        } else {
            if (!in)
                in = a;
            else if (!out)
                out = a;
            else {
                fprintf(stderr, "vidit video convert: unexpected argument '%s'\n", a);
                return 2;
            }
            continue;
        }
        if (!ok) {
            fprintf(stderr, "vidit video convert: bad value '%s' for %s\n", v, a);
            return 2;
        }
        i++;
    }
    if (!in || !out) {
        fprintf(stderr, "vidit video convert: needs IN and OUT\n\n");
        usage(stderr);
        return 2;
    }
    if (ro.crop && !(ro.width && ro.height)) {
        fprintf(stderr, "vidit video convert: --crop needs --size WxH with both sides\n");
        return 2;
    }
    vd_video v = {0};
    vd_error err = {0};
    if (vd_video_read(in, &ro, &v, &err) != VD_OK) {
        fprintf(stderr, "vidit: %s\n", err.message);
        return 1;
    }
    vd_status st = vd_video_write(out, &v, &wo, &err);
    if (st != VD_OK)
        fprintf(stderr, "vidit: %s\n", err.message);
    else
        fprintf(stderr, "%s: %d frames, %dx%d, %g fps\n", out, v.frames, v.width * wo.scale,
                v.height * wo.scale, v.fps);
    vd_video_free(&v);
    return st == VD_OK ? 0 : 1;
}

static int probe(int argc, char **argv) {
    if (argc != 1 || !strncmp(argv[0], "--", 2)) {
        fprintf(stderr, "vidit video probe: needs exactly one FILE\n");
        return 2;
    }
    vd_video_info info;
    vd_error err = {0};
    if (vd_video_probe(argv[0], &info, &err) != VD_OK) {
        fprintf(stderr, "vidit: %s\n", err.message);
        return 1;
    }
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_strbuf_puts(&s, "{\"file\": ");
    vd_strbuf_json_string(&s, argv[0]);
    vd_strbuf_printf(&s, ", \"frames\": %d, \"width\": %d, \"height\": %d, \"fps\": ", info.frames,
                     info.width, info.height);
    vd_strbuf_json_number(&s, info.fps);
    vd_strbuf_puts(&s, "}");
    int ok = !s.failed;
    if (ok) printf("%s\n", vd_strbuf_cstr(&s));
    vd_strbuf_free(&s);
    if (!ok) fprintf(stderr, "vidit: out of memory\n");
    return ok ? 0 : 1;
}

/* A start frame: n >= 0 from the first, n < 0 from the end. */
static int resolve_start(int start, int frames) { return start < 0 ? frames + start : start; }

static int psnr(int argc, char **argv) {
    const char *path[2] = {NULL, NULL};
    int start[2] = {0, 0}, n = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--a-start") || !strcmp(a, "--b-start") || !strcmp(a, "--frames")) {
            int *dst = a[2] == 'a' ? &start[0] : a[2] == 'b' ? &start[1] : &n;
            if (i + 1 >= argc || !parse_int(argv[i + 1], a[2] == 'f' ? 1 : -100000, 100000, dst)) {
                fprintf(stderr, "vidit video psnr: %s wants an integer\n", a);
                return 2;
            }
            i++;
        } else if (!strncmp(a, "--", 2) || (path[0] && path[1])) {
            fprintf(stderr, "vidit video psnr: unexpected argument '%s'\n", a);
            return 2;
        } else {
            path[path[0] ? 1 : 0] = a;
        }
    }
    if (!path[1]) {
        fprintf(stderr, "vidit video psnr: needs two files A and B\n");
        return 2;
    }
    vd_video v[2];
    memset(v, 0, sizeof v);
    vd_error err = {0};
    int rc = 0;
    for (int k = 0; k < 2 && !rc; k++)
        if (vd_video_read(path[k], NULL, &v[k], &err) != VD_OK) {
            fprintf(stderr, "vidit: %s\n", err.message);
            rc = 1;
        }
    int s0 = rc ? 0 : resolve_start(start[0], v[0].frames);
    int s1 = rc ? 0 : resolve_start(start[1], v[1].frames);
    if (!rc && (v[0].width != v[1].width || v[0].height != v[1].height)) {
        fprintf(stderr, "vidit video psnr: %s is %dx%d, %s %dx%d\n", path[0], v[0].width,
                v[0].height, path[1], v[1].width, v[1].height);
        rc = 1;
    }
    if (!rc) {
        int avail0 = v[0].frames - s0, avail1 = v[1].frames - s1;
        int avail = avail0 < avail1 ? avail0 : avail1;
        if (!n) n = avail;
        if (s0 < 0 || s1 < 0 || n < 1 || n > avail) {
            fprintf(stderr, "vidit video psnr: frames %d.. of %s (%d frames) and %d.. of %s (%d "
                    "frames) do not hold %d frames\n", s0, path[0], v[0].frames, s1, path[1],
                    v[1].frames, n > 0 ? n : 1);
            rc = 1;
        }
    }
    if (!rc) {
        double p = vd_psnr_u8(vd_video_frame(&v[0], s0), vd_video_frame(&v[1], s1),
                              (size_t)n * v[0].width * v[0].height * 3);
        if (isinf(p)) printf("inf\n");
        else printf("%.3f\n", p);
    }
    vd_video_free(&v[0]);
    vd_video_free(&v[1]);
    return rc;
}

int cmd_video(int argc, char **argv) {
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") || !strcmp(argv[1], "help")) {
        usage(stdout);
        return 0;
    }
    if (!strcmp(argv[1], "convert")) return convert(argc - 2, argv + 2);
    if (!strcmp(argv[1], "probe")) return probe(argc - 2, argv + 2);
    if (!strcmp(argv[1], "psnr")) return psnr(argc - 2, argv + 2);
    fprintf(stderr, "vidit video: unknown subcommand '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
