/* vd_video_write: picks the format by the path, enlarges for viewing, and
 * makes the write atomic. Every format is written under a temporary name in
 * the destination folder and renamed into place only once complete, so a
 * failed or interrupted write leaves the old file (or nothing). */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libavutil/rational.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/strbuf.h"
#include "io/video_encode.h"
#include "io/video_internal.h"

enum { KIND_MP4, KIND_WEBM, KIND_GIF, KIND_Y4M, KIND_PNG, KIND_DIR };

/* A name no other writer (thread or process) uses at the same moment. */
static void temp_name(vd_strbuf *s, const char *path) {
    static atomic_uint counter;
    unsigned n = atomic_fetch_add(&counter, 1u);
    vd_strbuf_printf(s, "%s.tmp.%ld.%u", path, (long)getpid(), n);
}

static vd_status check_video(const char *path, const vd_video *v, vd_error *err) {
    if (!v || !v->rgb || v->frames < 1 || v->width < 1 || v->height < 1)
        return vd_fail(err, VD_ERR_ARG, "video: %s: nothing to write (empty video)", path);
    if (!(v->fps > 0) || !isfinite(v->fps) || v->fps > 1000)
        return vd_fail(err, VD_ERR_ARG, "video: %s: frame rate %g is not in (0, 1000]", path,
                       v->fps);
    if (v->width > VD_VIDEO_MAX_SIDE || v->height > VD_VIDEO_MAX_SIDE)
        return vd_fail(err, VD_ERR_ARG, "video: %s: frame size %dx%d exceeds %dx%d", path,
                       v->width, v->height, VD_VIDEO_MAX_SIDE, VD_VIDEO_MAX_SIDE);
    return VD_OK;
}

/* Nearest-neighbour enlargement by an integer factor. */
static vd_status enlarge(const char *path, const vd_video *v, int scale, vd_video *out,
                         vd_error *err) {
    if ((int64_t)v->width * scale > VD_VIDEO_MAX_SIDE ||
        (int64_t)v->height * scale > VD_VIDEO_MAX_SIDE)
        return vd_fail(err, VD_ERR_ARG, "video: %s: scale %d makes frames larger than %dx%d",
                       path, scale, VD_VIDEO_MAX_SIDE, VD_VIDEO_MAX_SIDE);
    vd_status st = vd_video_alloc(out, v->frames, v->width * scale, v->height * scale, v->fps, err);
    if (st != VD_OK) return vd_fail_prefix(err, st, "video: %s: ", path);
    for (int t = 0; t < v->frames; t++) {
        const uint8_t *src = vd_video_frame(v, t);
        uint8_t *dst = vd_video_frame(out, t);
        for (int j = 0; j < out->height; j++) {
            const uint8_t *row = src + (size_t)(j / scale) * (size_t)v->width * 3;
            uint8_t *d = dst + (size_t)j * (size_t)out->width * 3;
            for (int i = 0; i < out->width; i++) memcpy(d + (size_t)i * 3, row + (size_t)(i / scale) * 3, 3);
        }
    }
    return VD_OK;
}

/* YUV4MPEG2, 4:4:4, BT.601 full range (tagged XCOLORRANGE=FULL, which
 * FFmpeg's reader honours), so that a round trip is within +-1 per channel. */
static vd_status write_y4m(const char *path, const char *tmp, const vd_video *v, vd_error *err) {
    size_t plane = (size_t)v->width * (size_t)v->height;
    uint8_t *yuv = vd_alloc(NULL, plane * 3);
    if (!yuv) return vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", path);
    vd_status st = VD_OK;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot create %s: %s", path, tmp, strerror(errno));
        goto done;
    }
    AVRational rate = av_d2q(v->fps, 1 << 20);
    int ok = fprintf(f, "YUV4MPEG2 W%d H%d F%d:%d Ip A1:1 C444 XCOLORRANGE=FULL\n", v->width,
                     v->height, rate.num, rate.den) > 0;
    for (int t = 0; ok && t < v->frames; t++) {
        vd_io_rgb_to_yuv(vd_video_frame(v, t), v->width, v->height, v->width, v->height, 1, 0,
                         yuv, v->width, yuv + plane, yuv + 2 * plane, v->width);
        ok = fputs("FRAME\n", f) >= 0 && fwrite(yuv, 1, plane * 3, f) == plane * 3;
    }
    if (fclose(f) != 0) ok = 0;
    if (!ok) st = vd_fail(err, VD_ERR_IO, "video: %s: cannot write %s: %s", path, tmp, strerror(errno));
done:
    vd_free(NULL, yuv);
    return st;
}

static int is_frame_name(const char *name) {
    if (strlen(name) != 10 || strcmp(name + 6, ".png") != 0) return 0;
    for (int i = 0; i < 6; i++)
        if (name[i] < '0' || name[i] > '9') return 0;
    return 1;
}

/* Removes a folder of frame files; refuses (returns 0) when it holds
 * anything else, so that a user's folder is never emptied by accident. */
static int remove_frames(const char *dir, int dry_run) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int ok = 1;
    vd_strbuf p;
    vd_strbuf_init(&p);
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) continue;
        if (!is_frame_name(e->d_name)) {
            ok = 0;
            continue;
        }
        if (dry_run) continue;
        vd_strbuf_clear(&p);
        vd_strbuf_printf(&p, "%s/%s", dir, e->d_name);
        if (p.failed || unlink(vd_strbuf_cstr(&p)) != 0) ok = 0;
    }
    closedir(d);
    vd_strbuf_free(&p);
    if (ok && !dry_run && rmdir(dir) != 0) ok = 0;
    return ok;
}

static vd_status write_dir(const char *path, const vd_video *v, vd_error *err) {
    vd_strbuf dir, tmp, old, file;
    vd_strbuf_init(&dir);
    vd_strbuf_init(&tmp);
    vd_strbuf_init(&old);
    vd_strbuf_init(&file);
    vd_status st = VD_OK;
    int made_tmp = 0;
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    vd_strbuf_append(&dir, path, n);
    temp_name(&tmp, vd_strbuf_cstr(&dir));
    temp_name(&old, vd_strbuf_cstr(&dir));
    if (dir.failed || tmp.failed || old.failed) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", path);
        goto done;
    }
    struct stat sb;
    int exists = stat(dir.data, &sb) == 0;
    if (exists && !S_ISDIR(sb.st_mode)) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: exists and is not a folder", path);
        goto done;
    }
    if (exists && !remove_frames(dir.data, 1)) {
        st = vd_fail(err, VD_ERR_IO,
                     "video: %s: folder holds files other than NNNNNN.png frames; not replacing it",
                     path);
        goto done;
    }
    if (mkdir(tmp.data, 0777) != 0) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot create folder %s: %s", path, tmp.data,
                     strerror(errno));
        goto done;
    }
    made_tmp = 1;
    for (int t = 0; t < v->frames; t++) {
        vd_strbuf_clear(&file);
        vd_strbuf_printf(&file, "%s/%06d.png", tmp.data, t);
        if (file.failed) {
            st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", path);
            goto done;
        }
        st = vd_io_encode_png(path, vd_video_frame(v, t), v->width, v->height, file.data, err);
        if (st != VD_OK) goto done;
    }
    if (exists && rename(dir.data, old.data) != 0) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot move the old folder aside: %s", path,
                     strerror(errno));
        goto done;
    }
    if (rename(tmp.data, dir.data) != 0) {
        st = vd_fail(err, VD_ERR_IO, "video: %s: cannot rename %s: %s", path, tmp.data,
                     strerror(errno));
        if (exists) rename(old.data, dir.data);
        goto done;
    }
    made_tmp = 0;
    if (exists) remove_frames(old.data, 0);
done:
    if (made_tmp) remove_frames(tmp.data, 0);
    vd_strbuf_free(&dir);
    vd_strbuf_free(&tmp);
    vd_strbuf_free(&old);
    vd_strbuf_free(&file);
    return st;
}

vd_status vd_video_write(const char *path, const vd_video *v, const vd_video_write_opts *o,
                         vd_error *err) {
    vd_video_write_opts defaults;
    if (!o) {
        vd_video_write_opts_default(&defaults);
        o = &defaults;
    }
    if (!path || !*path) return vd_fail(err, VD_ERR_ARG, "video: no output path");
    vd_status st = check_video(path, v, err);
    if (st != VD_OK) return st;
    if (o->scale < 1 || o->scale > 64)
        return vd_fail(err, VD_ERR_ARG, "video: %s: scale %d is not in 1..64", path, o->scale);
    if (o->quality < 0 || o->quality > 100)
        return vd_fail(err, VD_ERR_ARG, "video: %s: quality %d is not in 0..100", path, o->quality);

    struct stat sb;
    char ext[16];
    int kind;
    vd_io_extension(path, ext, sizeof ext);
    if (path[strlen(path) - 1] == '/' || (stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)))
        kind = KIND_DIR;
    else if (!strcmp(ext, "mp4"))
        kind = KIND_MP4;
    else if (!strcmp(ext, "webm"))
        kind = KIND_WEBM;
    else if (!strcmp(ext, "gif"))
        kind = KIND_GIF;
    else if (!strcmp(ext, "y4m"))
        kind = KIND_Y4M;
    else if (!strcmp(ext, "png"))
        kind = KIND_PNG;
    else
        return vd_fail(err, VD_ERR_UNSUPPORTED,
                       "video: %s: unknown extension '%s' (use .mp4, .webm, .gif, .y4m, .png or a folder/)",
                       path, ext);
    if (kind == KIND_PNG && v->frames != 1)
        return vd_fail(err, VD_ERR_ARG,
                       "video: %s: a .png holds one frame but the video has %d (write a folder/ instead)",
                       path, v->frames);

    vd_video big = {0};
    if (o->scale > 1) {
        if ((st = enlarge(path, v, o->scale, &big, err)) != VD_OK) return st;
        v = &big;
    }
    if (kind == KIND_DIR) {
        st = write_dir(path, v, err);
        vd_video_free(&big);
        return st;
    }
    vd_strbuf tmp;
    vd_strbuf_init(&tmp);
    temp_name(&tmp, path);
    if (tmp.failed) {
        st = vd_fail(err, VD_ERR_NOMEM, "video: %s: out of memory", path);
    } else {
        switch (kind) {
        case KIND_MP4: st = vd_io_encode_stream(path, tmp.data, v, VD_ENC_H264, o->quality, err); break;
        case KIND_WEBM: st = vd_io_encode_stream(path, tmp.data, v, VD_ENC_VP9, o->quality, err); break;
        case KIND_GIF: st = vd_io_encode_stream(path, tmp.data, v, VD_ENC_GIF, o->quality, err); break;
        case KIND_Y4M: st = write_y4m(path, tmp.data, v, err); break;
        default: st = vd_io_encode_png(path, v->rgb, v->width, v->height, tmp.data, err); break;
        }
        if (st == VD_OK && rename(tmp.data, path) != 0)
            st = vd_fail(err, VD_ERR_IO, "video: %s: cannot rename %s into place: %s", path,
                         tmp.data, strerror(errno));
        if (st != VD_OK) unlink(tmp.data);
    }
    vd_strbuf_free(&tmp);
    vd_video_free(&big);
    return st;
}
