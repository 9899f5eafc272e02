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

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit video convert IN OUT [options]\n"
            "       vidit video probe FILE\n"
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
            "probe prints {\"file\", \"frames\", \"width\", \"height\", \"fps\"} as JSON.\n");
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
    fprintf(stderr, "vidit video: unknown subcommand '%s'\n\n", argv[1]);
    usage(stderr);
    return 2;
}
