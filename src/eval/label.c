/* The first half of the parse: background, per-pixel palette labels with
 * anti-aliasing coverage, connected blobs and their features. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "eval/parse.h"

/* An anti-aliased edge pixel is a blend bg + a (colour - bg); a pixel that is
 * a full colour is far more common than a half-covered one of a lighter
 * colour on the same line (grey on black is also half-covered white), so a
 * small penalty per missing coverage breaks those ties. */
#define VD_EVAL_COVERAGE_PENALTY 8.0
/* Below this distance from the background a pixel is background outright. */
#define VD_EVAL_BG_DIST 6.0

int vd_eval_nearest_colour(const double rgb[3], double *dist) {
    int best = 0;
    double bd = 1e30;
    for (int c = 0; c < VD_COLOUR_COUNT; c++) {
        double d = 0;
        for (int k = 0; k < 3; k++) {
            double e = rgb[k] - vd_palette[c][k];
            d += e * e;
        }
        if (d < bd) {
            bd = d;
            best = c;
        }
    }
    if (dist) *dist = sqrt(bd);
    return best;
}

static void estimate_background(vd_eval_parse *p, int hint) {
    long hist[VD_COLOUR_COUNT] = {0}, total = 0;
    double sum[VD_COLOUR_COUNT][3] = {{0}};
    int w = p->width, h = p->height;
    for (int t = 0; t < p->frames; t++) {
        const uint8_t *f = p->rgb + (size_t)t * w * h * 3;
        for (int j = 0; j < h; j++) {
            int step = (j == 0 || j == h - 1) ? 1 : w - 1;
            for (int i = 0; i < w; i += step) {
                const uint8_t *px = f + ((size_t)j * w + i) * 3;
                double rgb[3] = {px[0], px[1], px[2]}, d;
                int c = vd_eval_nearest_colour(rgb, &d);
                total++;
                if (d > 60) continue; /* neither palette nor a known background */
                hist[c]++;
                for (int k = 0; k < 3; k++) sum[c][k] += rgb[k];
            }
        }
    }
    int best = 0;
    for (int c = 1; c < VD_COLOUR_COUNT; c++)
        if (hist[c] > hist[best]) best = c;
    /* The prompt's background wins when it plausibly is the background (objects
     * may cover much of the border when they enter or leave). */
    if (hint >= 0 && hint < VD_COLOUR_COUNT && hist[hint] * 4 >= total) best = hint;
    p->background = best;
    p->bg_border_share = total ? (double)hist[best] / (double)total : 0;
    for (int k = 0; k < 3; k++)
        p->bg_rgb[k] = hist[best] ? sum[best][k] / (double)hist[best] : vd_palette[best][k];
}

static void label_frame(vd_eval_parse *p, int t, double off) {
    size_t n = (size_t)p->width * p->height;
    const uint8_t *f = p->rgb + (size_t)t * n * 3;
    uint8_t *lab = p->label + (size_t)t * n;
    float *al = p->alpha + (size_t)t * n;
    double D[VD_COLOUR_COUNT][3], inv[VD_COLOUR_COUNT];
    for (int c = 0; c < VD_COLOUR_COUNT; c++) {
        double s = 0;
        for (int k = 0; k < 3; k++) {
            D[c][k] = vd_palette[c][k] - p->bg_rgb[k];
            s += D[c][k] * D[c][k];
        }
        inv[c] = s > 1 ? 1.0 / s : 0;
    }
    long offc = 0;
    for (size_t i = 0; i < n; i++) {
        double d[3] = {f[3 * i] - p->bg_rgb[0], f[3 * i + 1] - p->bg_rgb[1],
                       f[3 * i + 2] - p->bg_rgb[2]};
        double dbg = sqrt(d[0] * d[0] + d[1] * d[1] + d[2] * d[2]);
        if (dbg < VD_EVAL_BG_DIST) {
            lab[i] = VD_EVAL_BG;
            al[i] = 0;
            continue;
        }
        int best = -1;
        double best_score = dbg, best_res = dbg, best_a = 0;
        for (int c = 0; c < VD_COLOUR_COUNT; c++) {
            if (c == p->background || inv[c] == 0) continue;
            double a = (d[0] * D[c][0] + d[1] * D[c][1] + d[2] * D[c][2]) * inv[c];
            a = a < 0 ? 0 : a > 1 ? 1 : a;
            double r0 = d[0] - a * D[c][0], r1 = d[1] - a * D[c][1], r2 = d[2] - a * D[c][2];
            double res = sqrt(r0 * r0 + r1 * r1 + r2 * r2);
            double score = res + VD_EVAL_COVERAGE_PENALTY * (1 - a);
            if (score < best_score) {
                best_score = score;
                best_res = res;
                best_a = a;
                best = c;
            }
        }
        if (best_res > off) {
            lab[i] = VD_EVAL_OFF;
            al[i] = 0;
            offc++;
        } else if (best < 0) {
            lab[i] = VD_EVAL_BG;
            al[i] = 0;
        } else {
            lab[i] = (uint8_t)best;
            al[i] = (float)best_a;
        }
    }
    p->off_pixels += offc;
}

/* Raw sums of a blob, so that pieces of one occluded object can merge. */
typedef struct blob_acc {
    int colour, pixels, x0, y0, x1, y1, perimeter, full;
    double s, sx, sy, sxx, syy, sxy, rgb[3];
    uint64_t touch; /* frame-local blobs of another colour within 2 px */
    int alive;
} blob_acc;

static void acc_pixel(blob_acc *b, const vd_eval_parse *p, const uint8_t *f, int i, int j,
                      double a) {
    double x = i + 0.5, y = j + 0.5;
    b->s += a;
    b->sx += a * x;
    b->sy += a * y;
    b->sxx += a * x * x;
    b->syy += a * y * y;
    b->sxy += a * x * y;
    b->pixels++;
    if (i < b->x0) b->x0 = i;
    if (i > b->x1) b->x1 = i;
    if (j < b->y0) b->y0 = j;
    if (j > b->y1) b->y1 = j;
    if (a > 0.9) {
        const uint8_t *px = f + ((size_t)j * p->width + i) * 3;
        for (int k = 0; k < 3; k++) b->rgb[k] += px[k];
        b->full++;
    }
}

static void acc_merge(blob_acc *a, const blob_acc *b) {
    a->s += b->s;
    a->sx += b->sx;
    a->sy += b->sy;
    a->sxx += b->sxx;
    a->syy += b->syy;
    a->sxy += b->sxy;
    a->pixels += b->pixels;
    a->perimeter += b->perimeter;
    a->full += b->full;
    for (int k = 0; k < 3; k++) a->rgb[k] += b->rgb[k];
    if (b->x0 < a->x0) a->x0 = b->x0;
    if (b->y0 < a->y0) a->y0 = b->y0;
    if (b->x1 > a->x1) a->x1 = b->x1;
    if (b->y1 > a->y1) a->y1 = b->y1;
    a->touch |= b->touch;
}

static vd_status push_blob(vd_eval_parse *p, int t, const blob_acc *b, vd_error *err) {
    if (p->n_blobs == p->cap_blobs) {
        int cap = p->cap_blobs ? 2 * p->cap_blobs : 64;
        vd_eval_blob *nb = vd_alloc(p->allocator, (size_t)cap * sizeof *nb);
        if (!nb) return vd_fail(err, VD_ERR_NOMEM, "eval: out of memory for %d blobs", cap);
        if (p->n_blobs) memcpy(nb, p->blobs, (size_t)p->n_blobs * sizeof *nb);
        vd_free(p->allocator, p->blobs);
        p->blobs = nb;
        p->cap_blobs = cap;
    }
    vd_eval_blob *o = &p->blobs[p->n_blobs++];
    memset(o, 0, sizeof *o);
    o->frame = t;
    o->colour = b->colour;
    o->area = b->s;
    o->pixels = b->pixels;
    o->cx = b->sx / b->s;
    o->cy = b->sy / b->s;
    o->x0 = b->x0;
    o->y0 = b->y0;
    o->x1 = b->x1;
    o->y1 = b->y1;
    o->mxx = b->sxx / b->s - o->cx * o->cx;
    o->myy = b->syy / b->s - o->cy * o->cy;
    o->mxy = b->sxy / b->s - o->cx * o->cy;
    o->orientation = 0.5 * atan2(2 * o->mxy, o->mxx - o->myy);
    o->circularity = b->perimeter > 0 ? 4 * M_PI * b->s / ((double)b->perimeter * b->perimeter) : 0;
    for (int k = 0; k < 3; k++)
        o->rgb[k] = b->full ? b->rgb[k] / b->full : vd_palette[b->colour][k];
    o->at_border = b->x0 <= 0 || b->y0 <= 0 || b->x1 >= p->width - 1 || b->y1 >= p->height - 1;
    o->touching = b->touch != 0;
    o->full = !o->at_border && !o->touching;
    o->shape = -1;
    o->track = -1;
    vd_eval_blob_refine(p, o);
    return VD_OK;
}

#define FRAME_BLOBS 64

/* Components of the covered (alpha >= 0.5) pixels of one colour, 8-connected;
 * then the thin anti-aliased rim (alpha < 0.5) joins the component it
 * borders. */
static vd_status blobs_frame(vd_eval_parse *p, int t, int *stack, blob_acc *acc,
                             vd_error *err) {
    int w = p->width, h = p->height;
    size_t n = (size_t)w * h;
    const uint8_t *lab = p->label + (size_t)t * n;
    const float *al = p->alpha + (size_t)t * n;
    const uint8_t *f = p->rgb + (size_t)t * n * 3;
    int *map = p->blob_map;
    for (size_t i = 0; i < n; i++) map[i] = -1;
    int nb = 0;
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            size_t idx = (size_t)j * w + i;
            if (lab[idx] >= VD_COLOUR_COUNT || al[idx] < 0.5f || map[idx] != -1) continue;
            int id = nb < FRAME_BLOBS ? nb : FRAME_BLOBS; /* overflow pieces: id FRAME_BLOBS */
            blob_acc tmp, *b = id < FRAME_BLOBS ? &acc[id] : &tmp;
            memset(b, 0, sizeof *b);
            b->colour = lab[idx];
            b->x0 = w;
            b->y0 = h;
            b->x1 = b->y1 = -1;
            b->alive = 1;
            int sp = 0;
            stack[sp++] = (int)idx;
            map[idx] = id;
            while (sp) {
                int q = stack[--sp], qi = q % w, qj = q / w;
                acc_pixel(b, p, f, qi, qj, al[q]);
                for (int dj = -1; dj <= 1; dj++)
                    for (int di = -1; di <= 1; di++) {
                        int ni = qi + di, nj = qj + dj;
                        if ((di | dj) == 0) continue;
                        if (ni < 0 || nj < 0 || ni >= w || nj >= h) {
                            if (!di || !dj) b->perimeter++;
                            continue;
                        }
                        size_t r = (size_t)nj * w + ni;
                        int same = lab[r] == b->colour && al[r] >= 0.5f;
                        if (!same) {
                            if (!di || !dj) b->perimeter++;
                            continue;
                        }
                        if (map[r] != -1) continue;
                        map[r] = id;
                        stack[sp++] = (int)r;
                    }
            }
            if (id < FRAME_BLOBS) nb++;
        }
    /* The rim: low-coverage pixels of the same colour next to a component. */
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            size_t idx = (size_t)j * w + i;
            if (lab[idx] >= VD_COLOUR_COUNT || al[idx] >= 0.5f || al[idx] <= 0) continue;
            int owner = -1;
            for (int dj = -1; dj <= 1 && owner < 0; dj++)
                for (int di = -1; di <= 1; di++) {
                    int ni = i + di, nj = j + dj;
                    if (ni < 0 || nj < 0 || ni >= w || nj >= h) continue;
                    size_t r = (size_t)nj * w + ni;
                    if (map[r] >= 0 && map[r] < FRAME_BLOBS && al[r] >= 0.5f &&
                        acc[map[r]].colour == lab[idx]) {
                        owner = map[r];
                        break;
                    }
                }
            if (owner >= 0) {
                acc_pixel(&acc[owner], p, f, i, j, al[idx]);
                map[idx] = owner + FRAME_BLOBS + 1; /* rim: owner, not a core pixel */
            }
        }
    /* Drop noise before looking at neighbours. */
    for (int b = 0; b < nb; b++)
        if (acc[b].s < p->min_area) acc[b].alive = 0;
    /* Neighbours of another colour within 2 px (occluder and occluded, or a
     * collision in progress). */
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            int m = map[(size_t)j * w + i];
            if (m < 0 || m == FRAME_BLOBS) continue;
            int b = m > FRAME_BLOBS ? m - FRAME_BLOBS - 1 : m;
            if (!acc[b].alive) continue;
            for (int dj = -2; dj <= 2; dj++)
                for (int di = -2; di <= 2; di++) {
                    int ni = i + di, nj = j + dj;
                    if (ni < 0 || nj < 0 || ni >= w || nj >= h) continue;
                    int o = map[(size_t)nj * w + ni];
                    if (o < 0 || o == FRAME_BLOBS) continue;
                    o = o > FRAME_BLOBS ? o - FRAME_BLOBS - 1 : o;
                    if (o != b && acc[o].alive && acc[o].colour != acc[b].colour)
                        acc[b].touch |= (uint64_t)1 << o;
                }
        }
    /* Pieces of one colour cut apart by the same occluder are one object. */
    for (int a = 0; a < nb; a++) {
        if (!acc[a].alive || !acc[a].touch) continue;
        for (int b = a + 1; b < nb; b++) {
            if (!acc[b].alive || acc[b].colour != acc[a].colour) continue;
            if (!(acc[a].touch & acc[b].touch)) continue;
            double ax = acc[a].sx / acc[a].s, ay = acc[a].sy / acc[a].s;
            double bx = acc[b].sx / acc[b].s, by = acc[b].sy / acc[b].s;
            double span = 3.0 * sqrt((acc[a].s + acc[b].s) / M_PI) + 2;
            if (hypot(ax - bx, ay - by) > span) continue;
            acc_merge(&acc[a], &acc[b]);
            acc[b].alive = 0;
        }
    }
    /* Keep the largest, in a deterministic order (area, then scan order). */
    int order[FRAME_BLOBS], k = 0;
    for (int b = 0; b < nb; b++)
        if (acc[b].alive) order[k++] = b;
    for (int a = 1; a < k; a++)
        for (int b = a; b > 0 && acc[order[b]].s > acc[order[b - 1]].s; b--) {
            int tmp = order[b];
            order[b] = order[b - 1];
            order[b - 1] = tmp;
        }
    if (k > VD_EVAL_MAX_BLOBS) k = VD_EVAL_MAX_BLOBS;
    p->frame_first[t] = p->n_blobs;
    for (int a = 0; a < k; a++) {
        vd_status st = push_blob(p, t, &acc[order[a]], err);
        if (st) return st;
    }
    p->frame_first[t + 1] = p->n_blobs;
    return VD_OK;
}

vd_status vd_eval_parse_init(vd_eval_parse *p, const vd_video *v, int bg_hint,
                             const vd_eval_opts *o, vd_error *err) {
    memset(p, 0, sizeof *p);
    p->allocator = o->allocator;
    p->frames = v->frames;
    p->width = v->width;
    p->height = v->height;
    p->rgb = v->rgb;
    size_t n = (size_t)v->width * v->height, total;
    if (!vd_size_mul(n, (size_t)v->frames, &total))
        return vd_fail(err, VD_ERR_ARG, "eval: video of %d frames %dx%d is too large",
                       v->frames, v->width, v->height);
    p->label = vd_alloc(p->allocator, total);
    p->alpha = vd_alloc(p->allocator, total * sizeof(float));
    p->blob_map = vd_alloc(p->allocator, n * sizeof(int));
    int *stack = vd_alloc(p->allocator, n * sizeof(int));
    blob_acc *acc = vd_alloc(p->allocator, (FRAME_BLOBS + 1) * sizeof *acc);
    p->frame_first = vd_calloc(p->allocator, (size_t)v->frames + 1, sizeof(int));
    vd_status st = VD_OK;
    if (!p->label || !p->alpha || !p->blob_map || !stack || !acc || !p->frame_first) {
        st = vd_fail(err, VD_ERR_NOMEM, "eval: out of memory for the parse of %d frames %dx%d",
                     v->frames, v->width, v->height);
        goto done;
    }
    for (int s = 0; s < VD_EVAL_MAX_TRACKS; s++) {
        p->tracks[s].blob = NULL;
        p->tracks[s].state = NULL;
    }
    st = vd_eval_shape_setup(p, err);
    if (st) goto done;
    double r_small = vd_size_radius(VD_SMALL, v->width, v->height);
    p->min_area = o->min_area_share * p->area_k[VD_CIRCLE] * r_small * r_small;
    if (p->min_area < 2) p->min_area = 2;
    estimate_background(p, bg_hint);
    for (int t = 0; t < v->frames && !st; t++) {
        label_frame(p, t, o->off_palette);
        st = blobs_frame(p, t, stack, acc, err);
    }
done:
    vd_free(p->allocator, stack);
    vd_free(p->allocator, acc);
    return st;
}

void vd_eval_parse_free(vd_eval_parse *p) {
    if (!p) return;
    vd_free(p->allocator, p->label);
    vd_free(p->allocator, p->alpha);
    vd_free(p->allocator, p->blob_map);
    vd_free(p->allocator, p->blobs);
    vd_free(p->allocator, p->frame_first);
    vd_free(p->allocator, p->scratch);
    for (int s = 0; s < p->n_tracks; s++) {
        vd_free(p->allocator, p->tracks[s].blob);
        vd_free(p->allocator, p->tracks[s].state);
    }
    memset(p, 0, sizeof *p);
}
