/* Tracking: blobs matched frame to frame by colour (and shape when colour is
 * ambiguous), ties settled by a constant-velocity prediction; then each
 * track's per-frame state (seen, hidden behind another object, off screen,
 * missing) and its shape from the world's templates. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "eval/parse.h"

int vd_eval_blob_full(const vd_eval_parse *p, const vd_eval_blob *b) {
    (void)p;
    return b->full;
}

/* Whole in view, judged by area against the track's clearest views: an object
 * resting on the floor or passing near another keeps its area, one cut by the
 * frame's edge or hidden in part by another loses it. */
static void track_full(vd_eval_parse *p, vd_eval_track *tr) {
    double ref = 0, ref_any = 0;
    for (int t = tr->first; t <= tr->last; t++) {
        int bi = tr->blob[t];
        if (bi < 0) continue;
        const vd_eval_blob *b = &p->blobs[bi];
        if (b->area > ref_any) ref_any = b->area;
        if (!b->at_border && b->area > ref) ref = b->area;
    }
    if (ref <= 0) ref = ref_any;
    for (int t = tr->first; t <= tr->last; t++) {
        int bi = tr->blob[t];
        if (bi < 0) continue;
        vd_eval_blob *b = &p->blobs[bi];
        double need = b->at_border ? 0.97 : b->touching ? 0.9 : 0;
        b->full = b->area >= need * ref;
    }
}

/* A cheap shape guess, only needed when two tracks share a colour. */
static int quick_shape(vd_eval_parse *p, const vd_eval_blob *b) {
    static const double sq[] = {0, 0.5236, 1.0472};
    static const double tr[] = {0, 0.5236, 1.0472, 1.5708};
    double best = vd_eval_shape_iou(p, b, VD_CIRCLE, 0);
    int s = VD_CIRCLE;
    for (size_t k = 0; k < sizeof sq / sizeof sq[0]; k++) {
        double v = vd_eval_shape_iou(p, b, VD_SQUARE, sq[k]);
        if (v > best) best = v, s = VD_SQUARE;
    }
    for (size_t k = 0; k < sizeof tr / sizeof tr[0]; k++) {
        double v = vd_eval_shape_iou(p, b, VD_TRIANGLE, tr[k]);
        if (v > best) best = v, s = VD_TRIANGLE;
    }
    return s;
}

typedef struct pair {
    double cost;
    int track, blob;
} pair;

static int pair_cmp(const void *a, const void *b) {
    const pair *x = a, *y = b;
    if (x->cost != y->cost) return x->cost < y->cost ? -1 : 1;
    if (x->track != y->track) return x->track - y->track;
    return x->blob - y->blob;
}

static vd_status new_track(vd_eval_parse *p, int t, int bi, vd_error *err) {
    if (p->n_tracks == VD_EVAL_MAX_TRACKS) return VD_OK; /* noise beyond this is dropped */
    vd_eval_track *tr = &p->tracks[p->n_tracks];
    memset(tr, 0, sizeof *tr);
    tr->blob = vd_alloc(p->allocator, (size_t)p->frames * sizeof(int));
    tr->state = vd_calloc(p->allocator, (size_t)p->frames, 1);
    if (!tr->blob || !tr->state) {
        vd_free(p->allocator, tr->blob);
        vd_free(p->allocator, tr->state);
        tr->blob = NULL;
        tr->state = NULL;
        return vd_fail(err, VD_ERR_NOMEM, "eval: out of memory for a track");
    }
    p->n_tracks++;
    for (int k = 0; k < p->frames; k++) tr->blob[k] = -1;
    tr->colour = p->blobs[bi].colour;
    tr->first = tr->last = t;
    tr->blob[t] = bi;
    tr->seen = 1;
    tr->shape = p->blobs[bi].shape;
    p->blobs[bi].track = p->n_tracks - 1;
    return VD_OK;
}

static void associate(vd_eval_parse *p, int t, pair *pairs) {
    int b0 = p->frame_first[t], b1 = p->frame_first[t + 1];
    double gate = 0.6 * (p->width > p->height ? p->width : p->height);
    /* Shapes only matter when a colour is shared by several candidates. */
    for (int j = b0; j < b1; j++) {
        int same = 0;
        for (int k = b0; k < b1; k++) same += p->blobs[k].colour == p->blobs[j].colour;
        for (int k = 0; k < p->n_tracks; k++) same += p->tracks[k].colour == p->blobs[j].colour;
        if (same > 2 && !p->blobs[j].at_border) p->blobs[j].shape = quick_shape(p, &p->blobs[j]);
    }
    int np = 0;
    for (int k = 0; k < p->n_tracks; k++) {
        vd_eval_track *tr = &p->tracks[k];
        const vd_eval_blob *last = &p->blobs[tr->blob[tr->last]];
        double dt = t - tr->last;
        double px = last->cx + tr->vx * dt, py = last->cy + tr->vy * dt;
        for (int j = b0; j < b1; j++) {
            const vd_eval_blob *b = &p->blobs[j];
            if (b->colour != tr->colour) continue;
            double d = hypot(b->cx - px, b->cy - py);
            if (d > gate * (dt < 3 ? dt : 3)) continue;
            double cost = d;
            if (tr->shape >= 0 && b->shape >= 0 && tr->shape != b->shape) cost += 0.25 * gate;
            pairs[np++] = (pair){cost, k, j};
        }
    }
    qsort(pairs, (size_t)np, sizeof *pairs, pair_cmp);
    for (int q = 0; q < np; q++) {
        vd_eval_track *tr = &p->tracks[pairs[q].track];
        vd_eval_blob *b = &p->blobs[pairs[q].blob];
        if (tr->last == t || b->track >= 0) continue;
        const vd_eval_blob *last = &p->blobs[tr->blob[tr->last]];
        double dt = t - tr->last;
        /* Velocity only from clean observations: a clipped or occluded
         * centroid is biased. */
        if (vd_eval_blob_full(p, b) && vd_eval_blob_full(p, last)) {
            tr->vx = (b->cx - last->cx) / dt;
            tr->vy = (b->cy - last->cy) / dt;
        }
        tr->blob[t] = pairs[q].blob;
        tr->last = t;
        tr->seen++;
        if (b->shape >= 0) tr->shape = b->shape;
        b->track = pairs[q].track;
    }
}

/* The blob of another colour whose box (grown by r) holds (x, y), or -1. */
static int occluder_at(const vd_eval_parse *p, int t, int colour, double x, double y,
                       double r) {
    for (int j = p->frame_first[t]; j < p->frame_first[t + 1]; j++) {
        const vd_eval_blob *b = &p->blobs[j];
        if (b->colour == colour) continue;
        if (x >= b->x0 - r && x <= b->x1 + 1 + r && y >= b->y0 - r && y <= b->y1 + 1 + r)
            return j;
    }
    return -1;
}

static int inside_other(const vd_eval_parse *p, int t, int colour, double x, double y,
                        double r) {
    return occluder_at(p, t, colour, x, y, r) >= 0;
}

/* Before its first or after its last sighting, an object may be behind
 * another: it stays hidden while the object that covered it is there. */
static void hidden_run(vd_eval_parse *p, vd_eval_track *tr, int from, int step, double r) {
    const vd_eval_blob *ob = &p->blobs[tr->blob[from]];
    double vx = tr->vx, vy = tr->vy;
    int t = from + step;
    if (t < 0 || t >= p->frames) return;
    int occ = occluder_at(p, t, tr->colour, ob->cx + step * vx, ob->cy + step * vy, r);
    if (occ < 0) return;
    int occ_track = p->blobs[occ].track;
    for (; t >= 0 && t < p->frames; t += step) {
        if (tr->blob[t] >= 0) break;
        if (tr->state[t] == VD_TS_OFFSCREEN) continue;
        if (occ_track < 0) {
            if (t != from + step) break;
        } else if (p->tracks[occ_track].blob[t] < 0) {
            break;
        }
        tr->state[t] = VD_TS_HIDDEN;
    }
}
static int off_screen(const vd_eval_parse *p, double x, double y, double r) {
    return x < r || y < r || x > p->width - r || y > p->height - r;
}

static void track_states(vd_eval_parse *p, vd_eval_track *tr) {
    const vd_eval_blob *fb = &p->blobs[tr->blob[tr->first]];
    const vd_eval_blob *lb = &p->blobs[tr->blob[tr->last]];
    double r = tr->radius > 0 ? tr->radius : 1;
    for (int t = 0; t < p->frames; t++) {
        if (tr->blob[t] >= 0) {
            tr->state[t] = VD_TS_SEEN;
        } else if (t < tr->first) {
            tr->state[t] = fb->at_border ? VD_TS_OFFSCREEN : VD_TS_NONE;
        } else if (t > tr->last) {
            tr->state[t] = lb->at_border ? VD_TS_OFFSCREEN : VD_TS_NONE;
        } else {
            /* A gap: where the object should be, between the observations
             * on either side. */
            int a = t - 1, b = t + 1;
            while (tr->blob[a] < 0) a--;
            while (tr->blob[b] < 0) b++;
            const vd_eval_blob *ba = &p->blobs[tr->blob[a]], *bb = &p->blobs[tr->blob[b]];
            double u = (double)(t - a) / (b - a);
            double x = ba->cx + u * (bb->cx - ba->cx), y = ba->cy + u * (bb->cy - ba->cy);
            if (inside_other(p, t, tr->colour, x, y, r))
                tr->state[t] = VD_TS_HIDDEN;
            else if (off_screen(p, x, y, 0.5 * r) || ba->at_border || bb->at_border)
                tr->state[t] = VD_TS_OFFSCREEN;
            else
                tr->state[t] = VD_TS_MISSING;
        }
    }
    if (!fb->at_border) hidden_run(p, tr, tr->first, -1, r);
    if (!lb->at_border) hidden_run(p, tr, tr->last, +1, r);
    /* Gaps: behind whatever covered it as it vanished, or uncovered it as it
     * came back (a straight line between the sightings misses a parabola). */
    for (int t = tr->first; t < tr->last; t++) {
        if (tr->blob[t] >= 0 && tr->blob[t + 1] < 0) hidden_run(p, tr, t, +1, r);
        if (tr->blob[t] < 0 && tr->blob[t + 1] >= 0) hidden_run(p, tr, t + 1, -1, r);
    }
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* The orientation comes from the clearest view (the largest full blob); every
 * full-view frame is then judged against the three templates. */
static void track_shape(vd_eval_parse *p, vd_eval_track *tr, double *areas) {
    int ref = -1, n = 0;
    for (int t = tr->first; t <= tr->last; t++) {
        int bi = tr->blob[t];
        if (bi < 0 || !vd_eval_blob_full(p, &p->blobs[bi])) continue;
        areas[n++] = p->blobs[bi].area;
        if (ref < 0 || p->blobs[bi].area > p->blobs[ref].area) ref = bi;
    }
    tr->shape = -1;
    if (ref < 0) {
        for (int t = tr->first; t <= tr->last; t++)
            if (tr->blob[t] >= 0 && p->blobs[tr->blob[t]].area > tr->ref_area)
                tr->ref_area = p->blobs[tr->blob[t]].area;
        tr->radius = vd_eval_shape_radius(p, VD_CIRCLE, tr->ref_area);
        return;
    }
    qsort(areas, (size_t)n, sizeof *areas, cmp_double);
    tr->ref_area = n % 2 ? areas[n / 2] : 0.5 * (areas[n / 2 - 1] + areas[n / 2]);
    for (int s = 0; s < VD_SHAPE_COUNT; s++)
        vd_eval_shape_best_angle(p, &p->blobs[ref], s, &tr->angle[s]);
    int votes[VD_SHAPE_COUNT] = {0};
    double conf[VD_SHAPE_COUNT] = {0};
    for (int t = tr->first; t <= tr->last; t++) {
        int bi = tr->blob[t];
        if (bi < 0) continue;
        vd_eval_blob *b = &p->blobs[bi];
        b->shape = -1;
        if (!vd_eval_blob_full(p, b)) continue;
        double best = -1;
        for (int s = 0; s < VD_SHAPE_COUNT; s++) {
            double v = vd_eval_shape_iou(p, b, s, tr->angle[s]);
            if (v > best) {
                best = v;
                b->shape = s;
            }
        }
        b->shape_iou = best;
        votes[b->shape]++;
        conf[b->shape] += best;
    }
    int s = 0;
    for (int k = 1; k < VD_SHAPE_COUNT; k++)
        if (votes[k] > votes[s] || (votes[k] == votes[s] && conf[k] > conf[s])) s = k;
    tr->shape = s;
    tr->radius = vd_eval_shape_radius(p, s, tr->ref_area);
}

vd_status vd_eval_track_all(vd_eval_parse *p, vd_error *err) {
    int maxb = 0;
    for (int t = 0; t < p->frames; t++) {
        int nb = p->frame_first[t + 1] - p->frame_first[t];
        if (nb > maxb) maxb = nb;
    }
    pair *pairs = vd_alloc(p->allocator, (size_t)(maxb * VD_EVAL_MAX_TRACKS + 1) * sizeof *pairs);
    double *areas = vd_alloc(p->allocator, (size_t)p->frames * sizeof(double));
    vd_status st = VD_OK;
    if (!pairs || !areas) {
        st = vd_fail(err, VD_ERR_NOMEM, "eval: out of memory for tracking");
        goto done;
    }
    for (int t = 0; t < p->frames && !st; t++) {
        associate(p, t, pairs);
        for (int j = p->frame_first[t]; j < p->frame_first[t + 1] && !st; j++)
            if (p->blobs[j].track < 0) st = new_track(p, t, j, err);
    }
    if (st) goto done;
    int min_seen = p->frames >= 4 ? 2 : 1;
    for (int k = 0; k < p->n_tracks; k++) {
        vd_eval_track *tr = &p->tracks[k];
        tr->significant = tr->seen >= min_seen;
        tr->motion = VD_EVAL_M_NONE;
        track_full(p, tr);
        track_shape(p, tr, areas);
        track_states(p, tr);
    }
done:
    vd_free(p->allocator, pairs);
    vd_free(p->allocator, areas);
    return st;
}
