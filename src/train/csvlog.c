/* CSV training logs and their SVG loss curves (see csvlog.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "train/csvlog.h"

struct vd_csvlog {
    FILE *f;
    int ncol;
    char *path;
};

static void header_line(vd_strbuf *s, const char *const *columns, int ncol) {
    for (int i = 0; i < ncol; i++) vd_strbuf_printf(s, "%s%s", i ? "," : "", columns[i]);
    vd_strbuf_puts(s, "\n");
}

/* Writes text to path through a temporary file and a rename. */
static vd_status write_atomic(const char *path, const char *text, size_t len, vd_error *err) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "wb");
    if (!f) return vd_fail(err, VD_ERR_IO, "csvlog: %s: cannot create", tmp);
    int ok = fwrite(text, 1, len, f) == len;
    ok &= fclose(f) == 0;
    if (!ok || rename(tmp, path) != 0) {
        remove(tmp);
        return vd_fail(err, VD_ERR_IO, "csvlog: %s: cannot write", path);
    }
    return VD_OK;
}

vd_status vd_csvlog_open(vd_csvlog **out, const char *path, const char *const *columns,
                         int ncol, double keep_upto, vd_error *err) {
    *out = NULL;
    vd_strbuf head;
    vd_strbuf_init(&head);
    header_line(&head, columns, ncol);
    vd_status st = VD_OK;
    char *old = NULL;
    size_t len = 0;
    if (access(path, F_OK) == 0) {
        if ((st = vd_read_file(path, &old, &len, err))) goto done;
        if (len > 0) {
            if (len < head.len || memcmp(old, head.data, head.len) != 0) {
                st = vd_fail(err, VD_ERR_FORMAT,
                             "csvlog: %s: its header differs from the columns this run logs",
                             path);
                goto done;
            }
            /* Keep the header and the rows up to keep_upto. */
            vd_strbuf keep;
            vd_strbuf_init(&keep);
            vd_strbuf_append(&keep, old, head.len);
            const char *p = old + head.len, *end = old + len;
            while (p < end) {
                const char *nl = memchr(p, '\n', (size_t)(end - p));
                const char *stop = nl ? nl + 1 : end;
                if (keep_upto < 0 || strtod(p, NULL) <= keep_upto)
                    vd_strbuf_append(&keep, p, (size_t)(stop - p));
                p = stop;
            }
            if (keep.failed)
                st = vd_fail(err, VD_ERR_NOMEM, "csvlog: out of memory");
            else if (keep.len != len)
                st = write_atomic(path, keep.data, keep.len, err);
            vd_strbuf_free(&keep);
            if (st) goto done;
        }
    }
    vd_csvlog *l = calloc(1, sizeof *l);
    size_t plen = strlen(path);
    char *pcopy = malloc(plen + 1);
    if (!l || !pcopy) {
        free(l);
        free(pcopy);
        st = vd_fail(err, VD_ERR_NOMEM, "csvlog: out of memory");
        goto done;
    }
    memcpy(pcopy, path, plen + 1);
    l->path = pcopy;
    l->ncol = ncol;
    l->f = fopen(path, "ab");
    if (!l->f) {
        free(l->path);
        free(l);
        st = vd_fail(err, VD_ERR_IO, "csvlog: %s: cannot open for appending", path);
        goto done;
    }
    if (len == 0 && (fwrite(head.data, 1, head.len, l->f) != head.len || fflush(l->f))) {
        vd_csvlog_close(l);
        st = vd_fail(err, VD_ERR_IO, "csvlog: %s: cannot write the header", path);
        goto done;
    }
    *out = l;
done:
    free(old);
    vd_strbuf_free(&head);
    return st;
}

vd_status vd_csvlog_row(vd_csvlog *l, const double *values, vd_error *err) {
    int bad = 0;
    for (int i = 0; i < l->ncol; i++) {
        if (isfinite(values[i]))
            bad |= fprintf(l->f, "%s%.9g", i ? "," : "", values[i]) < 0;
        else
            bad |= fprintf(l->f, "%snan", i ? "," : "") < 0;
    }
    bad |= fputc('\n', l->f) == EOF;
    bad |= fflush(l->f) != 0;
    if (bad) return vd_fail(err, VD_ERR_IO, "csvlog: %s: write failed", l->path);
    return VD_OK;
}

void vd_csvlog_close(vd_csvlog *l) {
    if (!l) return;
    if (l->f) fclose(l->f);
    free(l->path);
    free(l);
}

/* ------------------------------------------------------------------ SVG */

#define SVG_W 720
#define SVG_H 400
#define PAD_L 70
#define PAD_R 20
#define PAD_T 36
#define PAD_B 44

vd_status vd_csvlog_svg(const char *csv_path, const char *svg_path, const char *title,
                        const char *const *y_cols, int ny, int log_y, vd_error *err) {
    if (ny < 1 || ny > 4) return vd_fail(err, VD_ERR_ARG, "csvlog: 1..4 curves, not %d", ny);
    char *text = NULL;
    size_t len = 0;
    vd_status st = vd_read_file(csv_path, &text, &len, err);
    if (st) return st;
    /* Header: find the requested columns. */
    int idx[4] = {-1, -1, -1, -1}, ncol = 0;
    char *line = text, *nl = strchr(line, '\n');
    if (nl) *nl = 0;
    for (char *tok = line; tok;) {
        char *comma = strchr(tok, ',');
        if (comma) *comma = 0;
        for (int k = 0; k < ny; k++)
            if (strcmp(tok, y_cols[k]) == 0) idx[k] = ncol;
        ncol++;
        tok = comma ? comma + 1 : NULL;
    }
    for (int k = 0; k < ny; k++)
        if (idx[k] < 0) {
            free(text);
            return vd_fail(err, VD_ERR_FORMAT, "csvlog: %s: no column \"%s\"", csv_path, y_cols[k]);
        }
    size_t cap = 1024, n = 0;
    double *xs = malloc(cap * sizeof *xs), *ys = malloc(cap * 4 * sizeof *ys);
    char *p = nl ? nl + 1 : text + len;
    while (xs && ys && p < text + len) {
        char *e = strchr(p, '\n');
        if (e) *e = 0;
        if (*p) {
            if (n == cap) {
                cap *= 2;
                double *a = realloc(xs, cap * sizeof *xs), *b = realloc(ys, cap * 4 * sizeof *ys);
                if (a) xs = a;
                if (b) ys = b;
                if (!a || !b) break;
            }
            double vals[64];
            int c = 0;
            for (char *q = p; q && c < 64;) {
                vals[c++] = strtod(q, NULL);
                q = strchr(q, ',');
                if (q) q++;
            }
            xs[n] = vals[0];
            for (int k = 0; k < ny; k++) ys[n * 4 + k] = idx[k] < c ? vals[idx[k]] : NAN;
            n++;
        }
        p = e ? e + 1 : text + len;
    }
    free(text);
    if (!xs || !ys) {
        free(xs);
        free(ys);
        return vd_fail(err, VD_ERR_NOMEM, "csvlog: out of memory");
    }
    double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
    int all_pos = 1;
    for (size_t i = 0; i < n; i++) {
        if (xs[i] < x0) x0 = xs[i];
        if (xs[i] > x1) x1 = xs[i];
        for (int k = 0; k < ny; k++) {
            double v = ys[i * 4 + k];
            if (!isfinite(v)) continue;
            if (v <= 0) all_pos = 0;
            if (v < y0) y0 = v;
            if (v > y1) y1 = v;
        }
    }
    int logs = log_y && all_pos && y0 <= y1;
    if (logs) {
        y0 = log10(y0);
        y1 = log10(y1);
    }
    if (!(x1 > x0)) {
        x0 = isfinite(x0) ? x0 - 1 : 0;
        x1 = x0 + 2;
    }
    if (!(y1 > y0)) {
        y0 = isfinite(y0) ? y0 - 1 : 0;
        y1 = y0 + 2;
    }
    static const char *colours[4] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd"};
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_strbuf_printf(&s,
                     "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
                     "font-family=\"sans-serif\" font-size=\"12\">\n"
                     "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n",
                     SVG_W, SVG_H);
    int pw = SVG_W - PAD_L - PAD_R, ph = SVG_H - PAD_T - PAD_B;
    vd_strbuf_printf(&s, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"none\" stroke=\"#888\"/>\n",
                     PAD_L, PAD_T, pw, ph);
    vd_strbuf_puts(&s, "<text x=\"360\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">");
    for (const char *c = title ? title : ""; *c; c++) {
        if (*c == '<') vd_strbuf_puts(&s, "&lt;");
        else if (*c == '&') vd_strbuf_puts(&s, "&amp;");
        else vd_strbuf_append(&s, c, 1);
    }
    vd_strbuf_puts(&s, "</text>\n");
    for (int t = 0; t <= 4; t++) {
        double fy = y0 + (y1 - y0) * t / 4.0, fx = x0 + (x1 - x0) * t / 4.0;
        double py = PAD_T + ph - ph * t / 4.0, px = PAD_L + pw * t / 4.0;
        vd_strbuf_printf(&s, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%.4g</text>\n",
                         PAD_L - 6, py + 4, logs ? pow(10, fy) : fy);
        vd_strbuf_printf(&s, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%.6g</text>\n", px,
                         SVG_H - PAD_B + 18, fx);
    }
    vd_strbuf_printf(&s, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">step</text>\n",
                     PAD_L + pw / 2, SVG_H - 6);
    for (int k = 0; k < ny; k++) {
        vd_strbuf_printf(&s, "<text x=\"%d\" y=\"%d\" fill=\"%s\">%s%s</text>\n", PAD_L + 10 + 140 * k,
                         PAD_T + 16, colours[k], y_cols[k], logs ? " (log)" : "");
        vd_strbuf_printf(&s, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"1.5\" points=\"",
                         colours[k]);
        for (size_t i = 0; i < n; i++) {
            double v = ys[i * 4 + k];
            if (!isfinite(v) || (logs && v <= 0)) continue;
            if (logs) v = log10(v);
            double px = PAD_L + pw * (xs[i] - x0) / (x1 - x0);
            double py = PAD_T + ph - ph * (v - y0) / (y1 - y0);
            vd_strbuf_printf(&s, "%.1f,%.1f ", px, py);
        }
        vd_strbuf_puts(&s, "\"/>\n");
    }
    vd_strbuf_puts(&s, "</svg>\n");
    free(xs);
    free(ys);
    if (s.failed)
        st = vd_fail(err, VD_ERR_NOMEM, "csvlog: out of memory");
    else
        st = write_atomic(svg_path, s.data, s.len, err);
    vd_strbuf_free(&s);
    return st;
}
