/* Shape classification: each blob against the world's own templates
 * (vd_world_shape_coverage) at the blob's centroid, the radius that matches
 * its area and the best orientation; the IoU is the confidence. */
#include <math.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "eval/parse.h"

#define PROBE_R 10.0
#define PROBE_N 32

static vd_status ensure_scratch(vd_eval_parse *p, size_t n, vd_error *err) {
    if (n <= p->scratch_n) return VD_OK;
    vd_free(p->allocator, p->scratch);
    p->scratch = vd_alloc(p->allocator, n * sizeof(float));
    p->scratch_n = p->scratch ? n : 0;
    if (!p->scratch)
        return vd_fail(err, VD_ERR_NOMEM, "eval: out of memory for a %zu-pixel template", n);
    return VD_OK;
}

/* The renderer defines what "radius" means for each shape and where its
 * centre lies; measure both once rather than assume them. */
vd_status vd_eval_shape_setup(vd_eval_parse *p, vd_error *err) {
    vd_status st = ensure_scratch(p, PROBE_N * PROBE_N, err);
    if (st) return st;
    for (int s = 0; s < VD_SHAPE_COUNT; s++) {
        float *c = p->scratch;
        double c0 = PROBE_N / 2.0;
        vd_world_shape_coverage(s, (float)c0, (float)c0, (float)PROBE_R, 0.0f, PROBE_N,
                                PROBE_N, c);
        double a = 0, sx = 0, sy = 0;
        for (int j = 0; j < PROBE_N; j++)
            for (int i = 0; i < PROBE_N; i++) {
                double v = c[j * PROBE_N + i];
                a += v;
                sx += v * (i + 0.5);
                sy += v * (j + 0.5);
            }
        if (!(a > 1))
            return vd_fail(err, VD_ERR_INTERNAL,
                           "eval: the world's %s template covers %g pixels at radius %g",
                           vd_shape_name(s), a, PROBE_R);
        p->area_k[s] = a / (PROBE_R * PROBE_R);
        p->centre_dx[s] = (sx / a - c0) / PROBE_R;
        p->centre_dy[s] = (sy / a - c0) / PROBE_R;
    }
    return VD_OK;
}

double vd_eval_shape_radius(const vd_eval_parse *p, int s, double area) {
    return sqrt(area / p->area_k[s]);
}

static double luma(double r, double g, double b) { return 0.299 * r + 0.587 * g + 0.114 * b; }

/* The blob's own coverage around it. H.264 keeps luma at full resolution but
 * halves chroma, so where the object's luma stands apart from the
 * background's, coverage is read from luma (exact for anti-aliased blends
 * too); pixels of other objects stay out. */
static double blob_coverage(const vd_eval_parse *p, const vd_eval_blob *b, int i, int j,
                            double ybg, double inv_dy) {
    if (i < 0 || j < 0 || i >= p->width || j >= p->height) return 0;
    if (i < b->x0 - 1 || i > b->x1 + 1 || j < b->y0 - 1 || j > b->y1 + 1) return 0;
    size_t n = (size_t)p->width * p->height, q = (size_t)j * p->width + i;
    int lab = p->label[(size_t)b->frame * n + q];
    if (lab != b->colour && lab != VD_EVAL_BG && lab != VD_EVAL_OFF) return 0;
    if (inv_dy == 0) return lab == b->colour ? p->alpha[(size_t)b->frame * n + q] : 0;
    const uint8_t *px = p->rgb + ((size_t)b->frame * n + q) * 3;
    double a = (luma(px[0], px[1], px[2]) - ybg) * inv_dy;
    return a < 0 ? 0 : a > 1 ? 1 : a;
}

static double luma_scale(const vd_eval_parse *p, int colour, double *ybg) {
    *ybg = luma(p->bg_rgb[0], p->bg_rgb[1], p->bg_rgb[2]);
    double dy = luma(vd_palette[colour][0], vd_palette[colour][1], vd_palette[colour][2]) - *ybg;
    return fabs(dy) >= 40 ? 1.0 / dy : 0;
}

void vd_eval_blob_refine(vd_eval_parse *p, vd_eval_blob *b) {
    double ybg, inv_dy = luma_scale(p, b->colour, &ybg);
    double area = 0, sx = 0, sy = 0;
    for (int j = b->y0 - 1; j <= b->y1 + 1; j++)
        for (int i = b->x0 - 1; i <= b->x1 + 1; i++) {
            double a = blob_coverage(p, b, i, j, ybg, inv_dy);
            area += a;
            sx += a * (i + 0.5);
            sy += a * (j + 0.5);
        }
    if (!(area > 0)) return;
    b->area = area;
    b->cx = sx / area;
    b->cy = sy / area;
}

double vd_eval_shape_iou(vd_eval_parse *p, const vd_eval_blob *b, int s, double angle) {
    double ybg, inv_dy = luma_scale(p, b->colour, &ybg);
    double area = b->area;
    double r = vd_eval_shape_radius(p, s, area);
    /* Put the template's coverage centroid on the blob's: rotate the measured
     * offset of the centre with the shape. */
    double ca = cos(angle), sa = sin(angle);
    double ox = r * (ca * p->centre_dx[s] - sa * p->centre_dy[s]);
    double oy = r * (sa * p->centre_dx[s] + ca * p->centre_dy[s]);
    double cx = b->cx - ox, cy = b->cy - oy;
    int x0 = (int)floor(fmin(b->x0 - 1, cx - 1.5 * r)) - 1;
    int y0 = (int)floor(fmin(b->y0 - 1, cy - 1.5 * r)) - 1;
    int x1 = (int)ceil(fmax(b->x1 + 1, cx + 1.5 * r)) + 1;
    int y1 = (int)ceil(fmax(b->y1 + 1, cy + 1.5 * r)) + 1;
    int ww = x1 - x0 + 1, wh = y1 - y0 + 1;
    if (ww <= 0 || wh <= 0 || ensure_scratch(p, (size_t)ww * wh, NULL)) return 0;
    float *tpl = p->scratch;
    vd_world_shape_coverage(s, (float)(cx - x0), (float)(cy - y0), (float)r, (float)angle, ww,
                            wh, tpl);
    double inter = 0, uni = 0;
    for (int j = 0; j < wh; j++)
        for (int i = 0; i < ww; i++) {
            double a = blob_coverage(p, b, x0 + i, y0 + j, ybg, inv_dy);
            double t = tpl[(size_t)j * ww + i];
            inter += a < t ? a : t;
            uni += a > t ? a : t;
        }
    return uni > 0 ? inter / uni : 0;
}

double vd_eval_shape_best_angle(vd_eval_parse *p, const vd_eval_blob *b, int s,
                                double *angle) {
    if (s == VD_CIRCLE) {
        *angle = 0;
        return vd_eval_shape_iou(p, b, s, 0);
    }
    /* Rotational symmetry: a quarter turn for the square, a third for the
     * triangle. Coarse grid, then two halvings around the best. */
    double period = s == VD_SQUARE ? M_PI / 2 : 2 * M_PI / 3;
    int steps = 12;
    double step = period / steps, best_a = 0, best = -1;
    for (int k = 0; k < steps; k++) {
        double a = k * step, v = vd_eval_shape_iou(p, b, s, a);
        if (v > best) {
            best = v;
            best_a = a;
        }
    }
    for (int round = 0; round < 3; round++) {
        step *= 0.5;
        double c = best_a;
        for (int d = -1; d <= 1; d += 2) {
            double a = c + d * step, v = vd_eval_shape_iou(p, b, s, a);
            if (v > best) {
                best = v;
                best_a = a;
            }
        }
    }
    best_a = fmod(best_a, period);
    if (best_a < 0) best_a += period;
    *angle = best_a;
    return best;
}
