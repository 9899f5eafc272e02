/* Video files: every format written from a synthetic pattern, checked with
 * ffprobe (when installed) and read back; resizing, cropping and frame-rate
 * resampling; bad input; atomic writes. */
#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "io/video.h"
#include "test.h"

static char root[256];
static int have_ffprobe;

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void remove_tree(const char *path) {
    struct stat sb;
    if (lstat(path, &sb) != 0) return;
    if (S_ISDIR(sb.st_mode)) {
        DIR *d = opendir(path);
        struct dirent *e;
        while (d && (e = readdir(d)) != NULL) {
            if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
            char sub[1024];
            snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
            remove_tree(sub);
        }
        if (d) closedir(d);
        rmdir(path);
    } else {
        unlink(path);
    }
}

static int exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* Files in root whose name contains ".tmp." (leftovers of a failed write). */
static int count_temp_files(void) {
    int n = 0;
    DIR *d = opendir(root);
    struct dirent *e;
    while (d && (e = readdir(d)) != NULL)
        if (strstr(e->d_name, ".tmp.")) n++;
    if (d) closedir(d);
    return n;
}

/* Two flat squares moving over a background: a handful of colours. With
 * `aligned`, every edge falls on an even row/column, so that 4:2:0 chroma
 * blocks never straddle two colours and only the codec's loss remains. */
static void make_pattern_soft(vd_video *v, int frames, int w, int h, int aligned) {
    vd_error err = {0};
    if (vd_video_alloc(v, frames, w, h, 8.0, &err) != VD_OK) {
        fprintf(stderr, "alloc: %s\n", err.message);
        exit(1);
    }
    int s = w < h ? w / 4 : h / 4;
    int mask = aligned ? ~1 : ~0;
    s &= mask;
    for (int t = 0; t < frames; t++) {
        uint8_t *f = vd_video_frame(v, t);
        int ax = ((2 * t) % (w - s)) & mask, ay = (h / 4) & mask;
        int bx = (w / 2) & mask, by = ((aligned ? 2 * t : t) % (h - s)) & mask;
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w; i++) {
                uint8_t *p = f + ((size_t)j * w + i) * 3;
                p[0] = 40, p[1] = 60, p[2] = 90;
                if (i >= ax && i < ax + s && j >= ay && j < ay + s) p[0] = 230, p[1] = 40, p[2] = 40;
                if (i >= bx && i < bx + s && j >= by && j < by + s) p[0] = 250, p[1] = 220, p[2] = 30;
            }
    }
}

static void make_pattern(vd_video *v, int frames, int w, int h) {
    make_pattern_soft(v, frames, w, h, 0);
}

/* PSNR over the overlapping w x h region (the mp4 reader may return a padded
 * frame), and the largest absolute difference. */
static double compare_y(const vd_video *a, const vd_video *b, double *psnr_y, int *maxdiff) {
    double se = 0, se_y = 0;
    size_t n_y = 0;
    size_t n = 0;
    int md = 0;
    int w = a->width < b->width ? a->width : b->width;
    int h = a->height < b->height ? a->height : b->height;
    int frames = a->frames < b->frames ? a->frames : b->frames;
    for (int t = 0; t < frames; t++)
        for (int j = 0; j < h; j++)
            for (int i = 0; i < w * 3; i++) {
                int x = vd_video_frame(a, t)[(size_t)j * a->width * 3 + i];
                int y = vd_video_frame(b, t)[(size_t)j * b->width * 3 + i];
                int d = abs(x - y);
                if (d > md) md = d;
                se += (double)d * d;
                n++;
                if (i % 3 == 2) {
                    const uint8_t *p = vd_video_frame(a, t) + (size_t)j * a->width * 3 + i - 2;
                    const uint8_t *q = vd_video_frame(b, t) + (size_t)j * b->width * 3 + i - 2;
                    double dy = 0.299 * (p[0] - q[0]) + 0.587 * (p[1] - q[1]) + 0.114 * (p[2] - q[2]);
                    se_y += dy * dy;
                    n_y++;
                }
            }
    if (maxdiff) *maxdiff = md;
    if (psnr_y) {
        double m = se_y / (double)(n_y ? n_y : 1);
        *psnr_y = m > 0 ? 10 * log10(255.0 * 255.0 / m) : 99.0;
    }
    double mse = se / (double)(n ? n : 1);
    return mse > 0 ? 10 * log10(255.0 * 255.0 / mse) : 99.0;
}

static double compare(const vd_video *a, const vd_video *b, int *maxdiff) {
    return compare_y(a, b, NULL, maxdiff);
}

typedef struct probe_out {
    char codec[32], pix_fmt[32];
    int width, height, frames;
    double fps;
} probe_out;

static double parse_rate(const char *s) {
    int num = 0, den = 1;
    if (sscanf(s, "%d/%d", &num, &den) >= 1 && den) return (double)num / den;
    return 0;
}

static int ffprobe(const char *path, probe_out *p) {
    memset(p, 0, sizeof *p);
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "ffprobe -v error -select_streams v:0 -count_frames -show_entries "
             "stream=codec_name,pix_fmt,width,height,avg_frame_rate,nb_read_frames "
             "-of default=noprint_wrappers=1 '%s' 2>/dev/null",
             path);
    FILE *f = popen(cmd, "r");
    if (!f) return 0;
    char line[256];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = 0;
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = 0;
        const char *v = eq + 1;
        if (!strcmp(line, "codec_name")) snprintf(p->codec, sizeof p->codec, "%s", v);
        if (!strcmp(line, "pix_fmt")) snprintf(p->pix_fmt, sizeof p->pix_fmt, "%s", v);
        if (!strcmp(line, "width")) p->width = atoi(v);
        if (!strcmp(line, "height")) p->height = atoi(v);
        if (!strcmp(line, "nb_read_frames")) p->frames = atoi(v);
        if (!strcmp(line, "avg_frame_rate")) p->fps = parse_rate(v);
    }
    return pclose(f) == 0;
}

typedef struct format_case {
    const char *ext, *codec, *pix_fmt;
    int lossy;    /* PSNR checks; else max difference <= max_diff */
    int max_diff;
    int even;     /* the file's size is padded to even */
} format_case;

/* Lossy formats: luma PSNR >= 35 dB on any pattern, RGB PSNR >= 35 dB when
 * edges fall on even rows/columns. (4:2:0 chroma alone caps RGB PSNR near
 * 26..34 dB when a 2x2 chroma block straddles two saturated colours,
 * whatever the codec does.) */
static void roundtrip(const format_case *fc, int w, int h, int frames, int soft) {
    char path[512];
    snprintf(path, sizeof path, "%s/v_%dx%d%s.%s", root, w, h, soft ? "_aligned" : "", fc->ext);
    const char *name = path + strlen(root) + 1;
    vd_video v = {0}, back = {0};
    vd_error err = {0};
    make_pattern_soft(&v, frames, w, h, soft);
    vd_status st = vd_video_write(path, &v, NULL, &err);
    CHECK(st == VD_OK, "write %s: %s", path, err.message);
    int fw = fc->even ? w + (w & 1) : w, fh = fc->even ? h + (h & 1) : h;
    int gif = !strcmp(fc->ext, "gif");
    if (st == VD_OK && have_ffprobe) {
        probe_out p;
        CHECK(ffprobe(path, &p), "ffprobe %s failed", path);
        CHECK(!strcmp(p.codec, fc->codec), "%s: codec %s, want %s", path, p.codec, fc->codec);
        if (fc->pix_fmt)
            CHECK(!strcmp(p.pix_fmt, fc->pix_fmt), "%s: pix_fmt %s, want %s", path, p.pix_fmt, fc->pix_fmt);
        CHECK(p.width == fw && p.height == fh, "%s: ffprobe size %dx%d, want %dx%d", path, p.width,
              p.height, fw, fh);
        CHECK(p.frames == frames, "%s: ffprobe counts %d frames, want %d", path, p.frames, frames);
        /* GIF delays are whole centiseconds: 8 fps is stored as 12/13 cs. */
        CHECK(fabs(p.fps - 8.0) < (gif ? 0.3 : 1e-6), "%s: ffprobe fps %g", path, p.fps);
    }
    st = vd_video_read(path, NULL, &back, &err);
    CHECK(st == VD_OK, "read %s: %s", path, err.message);
    if (st == VD_OK) {
        CHECK(back.frames == frames && back.width == fw && back.height == fh,
              "%s: read %dx%dx%d, want %dx%dx%d", path, back.frames, back.width, back.height,
              frames, fw, fh);
        CHECK(fabs(back.fps - 8.0) < (gif ? 0.3 : 1e-6), "%s: fps %g", path, back.fps);
        int md;
        double psnr_y, psnr = compare_y(&v, &back, &psnr_y, &md);
        printf("     %-26s PSNR %5.1f dB (luma %5.1f), max diff %d\n", name, psnr, psnr_y, md);
        if (fc->lossy && soft)
            CHECK(psnr >= 35, "%s: PSNR %.2f < 35", path, psnr);
        else if (fc->lossy)
            CHECK(psnr_y >= 35, "%s: luma PSNR %.2f < 35", path, psnr_y);
        else
            CHECK(md <= fc->max_diff, "%s: max difference %d > %d", path, md, fc->max_diff);
        vd_video_info info;
        st = vd_video_probe(path, &info, &err);
        CHECK(st == VD_OK && info.frames == frames && info.width == fw && info.height == fh,
              "probe %s: %s %dx%dx%d", path, err.message, info.frames, info.width, info.height);
    }
    vd_video_free(&back);
    vd_video_free(&v);
}

static void test_formats(void) {
    /* y4m is 4:4:4 BT.601 full range: +-1 from rounding Y'CbCr to bytes.
     * GIF is exact: the pattern has fewer than 256 colours. */
    static const format_case cases[] = {
        {"mp4", "h264", "yuv420p", 1, 0, 1},
        {"webm", "vp9", "yuv420p", 1, 0, 0},
        {"gif", "gif", NULL, 0, 0, 0},
        {"y4m", "rawvideo", "yuv444p", 0, 1, 0},
    };
    static const int sizes[][2] = {{64, 64}, {48, 32}, {33, 31}};
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        for (int s = 0; s < 3; s++) roundtrip(&cases[c], sizes[s][0], sizes[s][1], s == 0 ? 16 : 8, 0);
        if (cases[c].lossy) roundtrip(&cases[c], 64, 64, 8, 1);
    }
}

/* One frame as .png, and frames in a folder: both exact. */
static void test_png(void) {
    vd_video v = {0}, back = {0};
    vd_error err = {0};
    char path[512];
    make_pattern(&v, 4, 33, 31);
    snprintf(path, sizeof path, "%s/many.png", root);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_ERR_ARG && strstr(err.message, path),
          "4 frames into a .png: %s", err.message);
    CHECK(!exists(path), "a failed .png write left %s", path);
    vd_video one = v;
    one.frames = 1;
    snprintf(path, sizeof path, "%s/one.png", root);
    CHECK(vd_video_write(path, &one, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    if (vd_video_read(path, NULL, &back, &err) == VD_OK) {
        int md;
        compare(&one, &back, &md);
        CHECK(back.frames == 1 && back.width == 33 && back.height == 31 && md == 0,
              "%s: %dx%dx%d max diff %d", path, back.frames, back.width, back.height, md);
        CHECK(back.fps == VD_VIDEO_DEFAULT_FPS, "image fps %g", back.fps);
    } else {
        CHECK(0, "read %s: %s", path, err.message);
    }
    vd_video_free(&back);

    /* A folder: written, then replaced by a shorter video atomically. */
    snprintf(path, sizeof path, "%s/frames/", root);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    char f3[600];
    snprintf(f3, sizeof f3, "%s000003.png", path);
    CHECK(exists(f3), "%s missing", f3);
    if (vd_video_read(path, NULL, &back, &err) == VD_OK) {
        int md;
        compare(&v, &back, &md);
        CHECK(back.frames == 4 && back.width == 33 && md == 0, "%s: %d frames, max diff %d", path,
              back.frames, md);
    } else {
        CHECK(0, "read %s: %s", path, err.message);
    }
    vd_video_free(&back);
    v.frames = 2;
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_OK, "rewrite %s: %s", path, err.message);
    CHECK(!exists(f3), "the old frames survived the rewrite of %s", path);
    vd_video_info info;
    CHECK(vd_video_probe(path, &info, &err) == VD_OK && info.frames == 2, "probe %s: %s (%d frames)",
          path, err.message, info.frames);
    /* A folder with other files is not replaced. */
    char other[600];
    snprintf(other, sizeof other, "%snotes.txt", path);
    FILE *f = fopen(other, "w");
    if (f) fclose(f);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_ERR_IO && strstr(err.message, "other"),
          "a folder with notes.txt was replaced: %s", err.message);
    CHECK(exists(other), "notes.txt was removed");
    CHECK(count_temp_files() == 0, "temporary files left in %s", root);
    vd_video_free(&v);
}

/* Resizing, cropping, frame-rate resampling, start/max frames. */
static void test_resample(void) {
    vd_video v = {0}, src = {0}, out = {0};
    vd_error err = {0};
    char path[512];
    snprintf(path, sizeof path, "%s/r.y4m", root);
    make_pattern(&v, 16, 64, 48);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    CHECK(vd_video_read(path, NULL, &src, &err) == VD_OK, "read %s: %s", path, err.message);
    vd_video_read_opts o;
    struct {
        int w, h, crop;
        double fps;
        int max, start;
        int want_w, want_h, want_frames;
    } cases[] = {
        {32, 0, 0, 0, 0, 0, 32, 24, 16},    /* width only: keep aspect */
        {0, 96, 0, 0, 0, 0, 128, 96, 16},   /* enlarge */
        {32, 32, 0, 0, 0, 0, 32, 32, 16},   /* stretch */
        {32, 32, 1, 0, 0, 0, 32, 32, 16},   /* centre crop 48x48, then shrink */
        {0, 0, 0, 4, 0, 0, 64, 48, 8},      /* half the rate */
        {0, 0, 0, 16, 0, 0, 64, 48, 32},    /* double the rate */
        {0, 0, 0, 3, 0, 0, 64, 48, 6},      /* 2 s at 3 fps */
        {0, 0, 0, 0, 5, 3, 64, 48, 5},      /* frames 3..7 */
        {0, 0, 0, 4, 3, 2, 64, 48, 3},      /* after resampling: source 4, 6, 8 */
        {0, 0, 0, 0, 0, 14, 64, 48, 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        vd_video_read_opts_default(&o);
        o.width = cases[i].w;
        o.height = cases[i].h;
        o.crop = cases[i].crop;
        o.fps = cases[i].fps;
        o.max_frames = cases[i].max;
        o.start_frame = cases[i].start;
        vd_status st = vd_video_read(path, &o, &out, &err);
        CHECK(st == VD_OK && out.width == cases[i].want_w && out.height == cases[i].want_h &&
                  out.frames == cases[i].want_frames,
              "case %zu: %s got %dx%dx%d want %dx%dx%d", i, err.message, out.width, out.height,
              out.frames, cases[i].want_w, cases[i].want_h, cases[i].want_frames);
        if (st == VD_OK && out.frames == cases[i].want_frames) {
            /* Which source frame each output frame is. */
            size_t fb = (size_t)src.width * src.height * 3;
            if (o.fps == 0 && o.width == 0 && o.height == 0)
                CHECK(!memcmp(out.rgb, vd_video_frame(&src, cases[i].start), fb), "case %zu: first frame", i);
            if (o.fps == 4) {
                for (int t = 0; t < out.frames; t++)
                    CHECK(!memcmp(vd_video_frame(&out, t), vd_video_frame(&src, 2 * (t + o.start_frame)), fb),
                          "case %zu: frame %d is not source frame %d", i, t, 2 * (t + o.start_frame));
            }
            if (o.fps == 16)
                for (int t = 0; t < out.frames; t++)
                    CHECK(!memcmp(vd_video_frame(&out, t), vd_video_frame(&src, t / 2), fb),
                          "case %zu: frame %d is not source frame %d", i, t, t / 2);
            if (o.fps > 0) CHECK(out.fps == o.fps, "case %zu: fps %g", i, out.fps);
            if (o.crop) {
                /* The crop keeps x in [8, 56): at t=0 the red square (x 0..11)
                 * is cut to x 8..11, 4 of 48 columns -> under 3 of 32. */
                const uint8_t *p = vd_video_frame(&out, 0) + (size_t)(12 * 32 + 0) * 3;
                CHECK(p[0] > 200 && p[1] < 60, "crop: left edge of the red square %d %d %d", p[0], p[1], p[2]);
                p = vd_video_frame(&out, 0) + (size_t)(12 * 32 + 3) * 3;
                CHECK(p[0] < 60, "crop: the red square is too wide (%d %d %d at x=3)", p[0], p[1], p[2]);
            }
        }
        vd_video_free(&out);
    }
    /* Shrinking by 2 averages 2x2 blocks. */
    vd_video_read_opts_default(&o);
    o.width = 32;
    if (vd_video_read(path, &o, &out, &err) == VD_OK) {
        int bad = 0;
        for (int j = 0; j < 24; j++)
            for (int i = 0; i < 32 * 3; i++) {
                const uint8_t *s0 = src.rgb + (size_t)(2 * j) * 64 * 3 + (i / 3) * 6 + i % 3;
                int avg = (s0[0] + s0[3] + s0[64 * 3] + s0[64 * 3 + 3] + 2) / 4;
                if (abs(avg - out.rgb[(size_t)j * 32 * 3 + i]) > 1) bad++;
            }
        CHECK(bad == 0, "2x shrink differs from 2x2 averages at %d samples", bad);
    }
    vd_video_free(&out);
    vd_video_free(&src);
    vd_video_free(&v);
}

static void write_bytes(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return;
    fwrite(data, 1, n, f);
    fclose(f);
}

static void expect_error(const char *path, const char *what) {
    vd_video out = {0};
    vd_error err = {0};
    vd_status st = vd_video_read(path, NULL, &out, &err);
    CHECK(st != VD_OK && strstr(err.message, path) && out.rgb == NULL,
          "%s: want an error naming %s, got status %d '%s'", what, path, st, err.message);
    if (st != VD_OK) printf("     %-22s -> %s\n", what, err.message + strlen("video: ") + strlen(root) + 1);
    vd_video_info info;
    st = vd_video_probe(path, &info, &err);
    CHECK(st != VD_OK && strstr(err.message, path), "probe %s: status %d '%s'", what, st, err.message);
    vd_video_free(&out);
}

static void test_bad_input(void) {
    vd_video v = {0}, out = {0};
    vd_error err = {0};
    char path[512], cut[512];
    make_pattern(&v, 16, 64, 64);
    snprintf(path, sizeof path, "%s/whole.mp4", root);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    char *buf = NULL;
    long n = 0;
    FILE *f = fopen(path, "rb");
    if (f) {
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        buf = malloc((size_t)n);
        if (buf && fread(buf, 1, (size_t)n, f) != (size_t)n) n = 0;
        fclose(f);
    }
    CHECK(buf && n > 1000, "reading back %s", path);
    if (buf && n > 1000) {
        snprintf(cut, sizeof cut, "%s/cut_end.mp4", root);
        write_bytes(cut, buf, (size_t)n * 6 / 10);
        expect_error(cut, "mp4 cut at 60%");
        snprintf(cut, sizeof cut, "%s/cut_head.mp4", root);
        write_bytes(cut, buf, 300);
        expect_error(cut, "mp4 cut at 300 bytes");
        snprintf(cut, sizeof cut, "%s/garbled.mp4", root);
        for (long i = n / 2; i < n; i += 7) buf[i] = (char)(buf[i] ^ 0x5a);
        write_bytes(cut, buf, (size_t)n);
        vd_status st = vd_video_read(cut, NULL, &out, &err);
        CHECK(st == VD_OK || strstr(err.message, cut), "garbled mp4: '%s'", err.message);
        vd_video_free(&out);
    }
    free(buf);
    snprintf(path, sizeof path, "%s/text.mp4", root);
    write_bytes(path, "this is not a video\n", 20);
    expect_error(path, "text named .mp4");
    snprintf(path, sizeof path, "%s/empty.mp4", root);
    write_bytes(path, "", 0);
    expect_error(path, "empty .mp4");
    snprintf(path, sizeof path, "%s/missing.mp4", root);
    expect_error(path, "missing file");
    snprintf(path, sizeof path, "%s/empty_dir", root);
    mkdir(path, 0777);
    expect_error(path, "empty folder");
    snprintf(path, sizeof path, "%s/header.y4m", root);
    write_bytes(path, "YUV4MPEG2 W8 H8 F8:1 C444\n", 26);
    expect_error(path, "y4m without frames");
    snprintf(path, sizeof path, "%s/short.y4m", root);
    write_bytes(path, "YUV4MPEG2 W8 H8 F8:1 C444\nFRAME\nabc", 35);
    expect_error(path, "y4m cut in a frame");
    snprintf(path, sizeof path, "%s/huge.y4m", root);
    write_bytes(path, "YUV4MPEG2 W9000 H16 F8:1 C444\nFRAME\n", 36);
    expect_error(path, "9000 pixels wide");

    /* A one-pixel image is valid: it reads as one 1x1 frame. */
    vd_video px = {0};
    CHECK(vd_video_alloc(&px, 1, 1, 1, 8, &err) == VD_OK, "%s", err.message);
    px.rgb[0] = 12, px.rgb[1] = 200, px.rgb[2] = 99;
    snprintf(path, sizeof path, "%s/pixel.png", root);
    CHECK(vd_video_write(path, &px, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    vd_video_read_opts o;
    vd_video_read_opts_default(&o);
    o.width = 4;
    o.height = 2;
    o.crop = 1;
    if (vd_video_read(path, &o, &out, &err) == VD_OK)
        CHECK(out.width == 4 && out.height == 2 && out.rgb[0] == 12 && out.rgb[1] == 200,
              "pixel: %dx%d %d %d", out.width, out.height, out.rgb[0], out.rgb[1]);
    else
        CHECK(0, "read %s: %s", path, err.message);
    vd_video_free(&out);
    snprintf(path, sizeof path, "%s/pixel.mp4", root);
    CHECK(vd_video_write(path, &px, NULL, &err) == VD_OK, "1x1 mp4: %s", err.message);
    vd_video_free(&px);

    /* Bad arguments. */
    vd_video_read_opts_default(&o);
    o.width = -3;
    snprintf(path, sizeof path, "%s/whole.mp4", root);
    CHECK(vd_video_read(path, &o, &out, &err) == VD_ERR_ARG, "negative width accepted");
    snprintf(path, sizeof path, "%s/v.avi", root);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_ERR_UNSUPPORTED && strstr(err.message, path),
          ".avi: %s", err.message);

    /* Atomic writes: a missing folder fails and leaves nothing. */
    snprintf(path, sizeof path, "%s/no/such/dir/x.mp4", root);
    CHECK(vd_video_write(path, &v, NULL, &err) != VD_OK && strstr(err.message, path),
          "write into a missing folder: '%s'", err.message);
    snprintf(path, sizeof path, "%s/no", root);
    CHECK(!exists(path), "a failed write created %s", path);
    snprintf(path, sizeof path, "%s/no/frames/", root);
    CHECK(vd_video_write(path, &v, NULL, &err) != VD_OK && strstr(err.message, path),
          "frames into a missing folder: '%s'", err.message);
    CHECK(count_temp_files() == 0, "temporary files left in %s", root);
    vd_video_free(&v);
}

/* A video with thousands of colours: the GIF palette is a median cut. */
static void test_gif_many_colours(void) {
    vd_video v = {0}, back = {0};
    vd_error err = {0};
    char path[512];
    vd_video_alloc(&v, 4, 48, 48, 10, &err);
    for (int t = 0; t < 4; t++)
        for (int j = 0; j < 48; j++)
            for (int i = 0; i < 48; i++) {
                uint8_t *p = vd_video_frame(&v, t) + ((size_t)j * 48 + i) * 3;
                p[0] = (uint8_t)(i * 5 + t * 3);
                p[1] = (uint8_t)(j * 5);
                p[2] = (uint8_t)((i + j) * 2 + t * 7);
            }
    snprintf(path, sizeof path, "%s/many.gif", root);
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    if (vd_video_read(path, NULL, &back, &err) == VD_OK) {
        int md;
        double psnr = compare(&v, &back, &md);
        printf("     many.gif (9216 colours)    PSNR %5.1f dB, max diff %d\n", psnr, md);
        CHECK(back.frames == 4 && psnr >= 28, "%s: %d frames, PSNR %.1f", path, back.frames, psnr);
        CHECK(fabs(back.fps - 10) < 0.01, "%s: fps %g", path, back.fps);
    } else {
        CHECK(0, "read %s: %s", path, err.message);
    }
    vd_video_free(&back);
    vd_video_free(&v);
}

/* Enlarging for viewing, and how long a 64x64x16 mp4 takes. */
static void test_scale_and_speed(void) {
    vd_video v = {0}, back = {0};
    vd_error err = {0};
    char path[512];
    make_pattern(&v, 16, 64, 64);
    vd_video_write_opts wo;
    vd_video_write_opts_default(&wo);
    wo.scale = 3;
    snprintf(path, sizeof path, "%s/big.gif", root);
    CHECK(vd_video_write(path, &v, &wo, &err) == VD_OK, "write %s: %s", path, err.message);
    if (vd_video_read(path, NULL, &back, &err) == VD_OK) {
        CHECK(back.width == 192 && back.height == 192, "scale 3: %dx%d", back.width, back.height);
        const uint8_t *a = vd_video_frame(&v, 5) + (size_t)(20 * 64 + 21) * 3;
        const uint8_t *b = vd_video_frame(&back, 5) + (size_t)(62 * 192 + 64) * 3;
        CHECK(!memcmp(a, b, 3), "scale 3: pixel (21,20) not at (64,62)");
    }
    vd_video_free(&back);
    snprintf(path, sizeof path, "%s/speed.mp4", root);
    double t0 = now_ms();
    CHECK(vd_video_write(path, &v, NULL, &err) == VD_OK, "write %s: %s", path, err.message);
    double t1 = now_ms();
    CHECK(vd_video_read(path, NULL, &back, &err) == VD_OK, "read %s: %s", path, err.message);
    double t2 = now_ms();
    printf("     speed: 64x64x16 mp4 write %.1f ms, read %.1f ms\n", t1 - t0, t2 - t1);
    vd_video_free(&back);
    vd_video_free(&v);
}

/* Files made by the ffmpeg command line (when installed): other containers,
 * codecs, chroma sitings and a JPEG. */
static void test_foreign(void) {
    if (system("ffmpeg -version >/dev/null 2>&1") != 0) {
        printf("notice: ffmpeg not found; skipping files made by ffmpeg\n");
        return;
    }
    vd_video v = {0}, back = {0};
    vd_error err = {0};
    char src[512], cmd[1400];
    make_pattern_soft(&v, 8, 64, 48, 1);
    snprintf(src, sizeof src, "%s/foreign.y4m", root);
    CHECK(vd_video_write(src, &v, NULL, &err) == VD_OK, "write %s: %s", src, err.message);
    static const struct {
        const char *name, *args;
        int frames;
        double min_psnr;
    } cases[] = {
        {"mjpeg.avi", "-c:v mjpeg -q:v 2", 8, 40},
        {"ffv1.mkv", "-c:v ffv1 -pix_fmt yuv444p", 8, 40},
        {"x264.mkv", "-c:v libx264 -crf 12 -pix_fmt yuv420p", 8, 35},
        {"still.jpg", "-frames:v 1 -q:v 2", 1, 40},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s", root, cases[i].name);
        snprintf(cmd, sizeof cmd, "ffmpeg -v error -y -i '%s' %s '%s' </dev/null >/dev/null 2>&1", src,
                 cases[i].args, path);
        if (system(cmd) != 0) {
            printf("notice: ffmpeg could not make %s; skipped\n", cases[i].name);
            continue;
        }
        if (vd_video_read(path, NULL, &back, &err) == VD_OK) {
            double psnr = compare(&v, &back, NULL);
            printf("     %-26s PSNR %5.1f dB\n", cases[i].name, psnr);
            CHECK(back.frames == cases[i].frames && back.width == 64 && back.height == 48 &&
                      psnr >= cases[i].min_psnr,
                  "%s: %dx%dx%d PSNR %.1f", path, back.width, back.height, back.frames, psnr);
        } else {
            CHECK(0, "read %s: %s", path, err.message);
        }
        vd_video_free(&back);
    }
    vd_video_free(&v);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/vidit_test_video_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    have_ffprobe = system("ffprobe -version >/dev/null 2>&1") == 0;
    if (!have_ffprobe) printf("notice: ffprobe not found; skipping the ffprobe checks\n");
    test_formats();
    test_png();
    test_resample();
    test_bad_input();
    test_gif_many_colours();
    test_scale_and_speed();
    test_foreign();
    if (!getenv("KEEP")) remove_tree(root); else printf("kept %s\n", root);
    return vt_result("test_video");
}
