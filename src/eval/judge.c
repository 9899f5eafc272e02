/* One video against its prompt: the parse, then every metric of
 * judge-metrics.md read off the tracks. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "eval/parse.h"

void vd_eval_opts_default(vd_eval_opts *o) {
    memset(o, 0, sizeof *o);
    o->off_palette = 48.0f;
    o->min_area_share = 0.25f;
    o->every_share = 0.8f;
    o->allocator = NULL;
}

/* The laws a prompted motion allows. */
static int motion_ok(int prompted, int seen) {
    switch (prompted) {
    case VD_STILL: return seen == VD_EVAL_M_STILL;
    case VD_LINEAR:
    case VD_ENTERING:
    case VD_LEAVING:
    case VD_PASSING: return seen == VD_EVAL_M_LINEAR;
    case VD_FALLING:
    case VD_THROWN: return seen == VD_EVAL_M_FALLING || seen == VD_EVAL_M_BOUNCING;
    case VD_COLLIDING: return seen == VD_EVAL_M_COLLIDING;
    default: return 0;
    }
}

static int gravity_motion(int m) { return m == VD_FALLING || m == VD_THROWN; }

/* Objects the prompted motion moves: every object of a one-kind scene, the
 * first of a passing pair, both of a collision. */
static int mover_count(const vd_prompt_spec *sp) {
    int n = sp->n_objects < VD_WORLD_MAX_OBJECTS ? sp->n_objects : VD_WORLD_MAX_OBJECTS;
    if (sp->motion == VD_PASSING) return n < 1 ? n : 1;
    if (sp->motion == VD_COLLIDING) return n < 2 ? n : 2;
    return n;
}

static int direction_ok(const vd_prompt_spec *sp, double dx, double dy, int width) {
    float ux, uy;
    vd_direction_vector(sp->direction, &ux, &uy);
    double thr = fmax(2.0, 0.05 * width);
    if (gravity_motion(sp->motion)) {
        /* Gravity owns the vertical: judge the prompted horizontal (or,
         * straight down, the vertical) alone. */
        if (ux != 0) return dx * ux > 0 && fabs(dx) >= thr;
        return dy * uy > 0 && fabs(dy) >= thr;
    }
    double par = dx * ux + dy * uy, perp = fabs(dx * uy - dy * ux);
    int ok = par >= thr && par > perp;
    if (ux != 0 && uy != 0) /* diagonals: both axes */
        ok = ok && dx * ux >= 0.25 * thr && dy * uy >= 0.25 * thr;
    return ok;
}

typedef struct judge {
    vd_eval_parse *p;
    const vd_prompt_spec *spec;
    const vd_eval_opts *o;
    int match[VD_WORLD_MAX_OBJECTS]; /* track of each prompted object, -1 */
    double g;
    vd_world_physics phys;
} judge;

static int track_size(const judge *j, const vd_eval_track *tr) {
    int best = 0;
    double bd = 1e30;
    for (int s = 0; s < VD_SIZE_COUNT; s++) {
        double d = fabs(tr->radius - vd_size_radius(s, j->p->width, j->p->height));
        if (d < bd) {
            bd = d;
            best = s;
        }
    }
    return best;
}

/* Prompted objects to tracks: the best (colour, shape, size, length) pairs
 * first, each track used once. */
static void match_objects(judge *j) {
    const vd_eval_parse *p = j->p;
    int used[VD_EVAL_MAX_TRACKS] = {0}, done[VD_WORLD_MAX_OBJECTS] = {0};
    for (int o = 0; o < VD_WORLD_MAX_OBJECTS; o++) j->match[o] = -1;
    int n = j->spec->n_objects < VD_WORLD_MAX_OBJECTS ? j->spec->n_objects : VD_WORLD_MAX_OBJECTS;
    for (int round = 0; round < n; round++) {
        double best = -1;
        int bo = -1, bk = -1;
        for (int o = 0; o < n; o++) {
            if (done[o]) continue;
            const vd_prompt_object *po = &j->spec->objects[o];
            for (int k = 0; k < p->n_tracks; k++) {
                const vd_eval_track *tr = &p->tracks[k];
                if (used[k] || !tr->significant) continue;
                double s = 4.0 * (po->colour < 0 || po->colour == tr->colour) +
                           2.0 * (po->shape < 0 || po->shape == tr->shape) +
                           1.0 * (po->size < 0 || po->size == track_size(j, tr)) +
                           (double)tr->seen / p->frames;
                if (s > best) {
                    best = s;
                    bo = o;
                    bk = k;
                }
            }
        }
        if (bo < 0) break;
        done[bo] = 1;
        used[bk] = 1;
        j->match[bo] = bk;
    }
}

static int present_state(int s) {
    return s == VD_TS_SEEN || s == VD_TS_HIDDEN || s == VD_TS_OFFSCREEN;
}

/* Mean over prompted objects of a per-object value (NaN = skip). */
typedef struct mean_acc {
    double s;
    int n;
} mean_acc;
static void macc(mean_acc *a, double v) {
    if (isnan(v)) return;
    a->s += v;
    a->n++;
}
static double mget(const mean_acc *a) { return a->n ? a->s / a->n : NAN; }

/* Net displacement over the track's life from a least-squares line through
 * every sighting: the same as last minus first for steady motion, and near
 * zero when the frames are out of order. */
static void net_displacement(const vd_eval_parse *p, const vd_eval_track *tr, double *dx,
                             double *dy) {
    double n = 0, st = 0, sx = 0, sy = 0;
    for (int t = tr->first; t <= tr->last; t++) {
        int bi = tr->blob[t];
        if (bi < 0) continue;
        n++;
        st += t;
        sx += p->blobs[bi].cx;
        sy += p->blobs[bi].cy;
    }
    double mt = st / n, mx = sx / n, my = sy / n, stt = 0, stx = 0, sty = 0;
    for (int t = tr->first; t <= tr->last; t++) {
        int bi = tr->blob[t];
        if (bi < 0) continue;
        stt += (t - mt) * (t - mt);
        stx += (t - mt) * (p->blobs[bi].cx - mx);
        sty += (t - mt) * (p->blobs[bi].cy - my);
    }
    double span = tr->last - tr->first;
    *dx = stt > 0 ? stx / stt * span : 0;
    *dy = stt > 0 ? sty / stt * span : 0;
}

#define FAIL_IF(cond, metric) \
    do { \
        if (cond) r->failed |= 1u << (metric); \
    } while (0)

static void adherence(judge *j, vd_eval_result *r) {
    const vd_eval_parse *p = j->p;
    const vd_prompt_spec *sp = j->spec;
    int T = p->frames, n = sp->n_objects < VD_WORLD_MAX_OBJECTS ? sp->n_objects : VD_WORLD_MAX_OBJECTS;
    mean_acc pres = {0}, col = {0}, shp = {0}, flip = {0}, siz = {0};
    r->failed = 0;
    double share = j->o->every_share;
    for (int o = 0; o < n; o++) {
        const vd_prompt_object *po = &sp->objects[o];
        int k = j->match[o];
        if (k < 0) {
            macc(&pres, 0);
            FAIL_IF(1, VD_EVAL_PRESENCE);
            continue;
        }
        const vd_eval_track *tr = &p->tracks[k];
        int present = 0, judged = 0, right = 0, flips = 0, first = -1;
        for (int t = 0; t < T; t++) {
            present += present_state(tr->state[t]);
            int bi = tr->blob[t];
            if (bi < 0 || p->blobs[bi].shape < 0) continue;
            int s = p->blobs[bi].shape;
            if (first < 0) first = s;
            judged++;
            right += s == po->shape;
            flips += s != first;
        }
        double pr = (double)present / T;
        macc(&pres, pr);
        FAIL_IF(pr < share, VD_EVAL_PRESENCE);
        if (po->colour >= 0) {
            double c = tr->colour == po->colour ? 1 : 0;
            macc(&col, c);
            FAIL_IF(c < share, VD_EVAL_COLOUR);
        }
        if (judged) {
            macc(&flip, (double)flips / judged);
            if (po->shape >= 0) {
                double s = (double)right / judged;
                macc(&shp, s);
                FAIL_IF(s < share, VD_EVAL_SHAPE);
            }
        } else if (po->shape >= 0) {
            FAIL_IF(1, VD_EVAL_SHAPE);
        }
        if (po->size >= 0) {
            double z = track_size(j, tr) == po->size;
            macc(&siz, z);
            FAIL_IF(z < share, VD_EVAL_SIZE);
        }
    }
    r->metric[VD_EVAL_PRESENCE] = mget(&pres);
    r->metric[VD_EVAL_COLOUR] = mget(&col);
    r->metric[VD_EVAL_SHAPE] = mget(&shp);
    r->metric[VD_EVAL_SHAPE_FLIP] = mget(&flip);
    r->metric[VD_EVAL_SIZE] = mget(&siz);

    if (sp->n_objects > 0) {
        int good = 0;
        for (int t = 0; t < T; t++) {
            int c = 0;
            for (int k = 0; k < p->n_tracks; k++)
                c += p->tracks[k].significant && present_state(p->tracks[k].state[t]);
            good += c == sp->n_objects;
        }
        r->metric[VD_EVAL_COUNT] = (double)good / T;
        FAIL_IF(r->metric[VD_EVAL_COUNT] < share, VD_EVAL_COUNT);
    }
    if (sp->background >= 0) {
        r->metric[VD_EVAL_BACKGROUND] = p->background == sp->background;
        FAIL_IF(p->background != sp->background, VD_EVAL_BACKGROUND);
    }
    /* Direction: each mover's net displacement from its first to its last
     * observation. */
    if (sp->direction > VD_DIR_NONE && sp->direction < VD_DIR_COUNT && sp->motion != VD_STILL) {
        mean_acc dir = {0};
        for (int o = 0; o < mover_count(sp); o++) {
            int k = j->match[o];
            double ok = 0;
            if (k >= 0) {
                double dx, dy;
                net_displacement(p, &p->tracks[k], &dx, &dy);
                ok = direction_ok(sp, dx, dy, p->width);
            }
            macc(&dir, ok);
        }
        r->metric[VD_EVAL_DIRECTION] = mget(&dir);
        FAIL_IF(mget(&dir) < 1, VD_EVAL_DIRECTION);
    }
    if (sp->motion >= 0 && sp->motion < VD_MOTION_COUNT) {
        double ok = motion_ok(sp->motion, r->motion);
        r->metric[VD_EVAL_MOTION_TYPE] = ok;
        FAIL_IF(!(ok > 0), VD_EVAL_MOTION_TYPE);
    }
    r->metric[VD_EVAL_EVERY] = r->failed == 0;
}

/* The scene's motion: the most eventful law among the prompted objects. */
static int scene_motion(judge *j) {
    vd_eval_parse *p = j->p;
    int rank[VD_EVAL_M_COUNT] = {0};
    int n = j->spec ? j->spec->n_objects : 0, any = 0, moving = 0;
    if (n > VD_WORLD_MAX_OBJECTS) n = VD_WORLD_MAX_OBJECTS;
    for (int k = 0; k < p->n_tracks; k++) {
        vd_eval_track *tr = &p->tracks[k];
        if (!tr->significant) continue;
        vd_eval_series s;
        vd_eval_track_series(p, tr, &s);
        tr->motion = vd_eval_classify_motion(&s, j->g, p->width);
    }
    for (int o = 0; o < n; o++) {
        int k = j->match[o];
        if (k < 0 || p->tracks[k].motion < 0) continue;
        rank[p->tracks[k].motion]++;
        any = 1;
        moving += p->tracks[k].motion != VD_EVAL_M_STILL;
    }
    if (!any) return VD_EVAL_M_NONE;
    if (rank[VD_EVAL_M_COLLIDING] && moving >= 2) return VD_EVAL_M_COLLIDING;
    static const int order[] = {VD_EVAL_M_BOUNCING, VD_EVAL_M_FALLING, VD_EVAL_M_LINEAR,
                                VD_EVAL_M_COLLIDING, VD_EVAL_M_OTHER};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++)
        if (rank[order[i]]) return order[i];
    return VD_EVAL_M_STILL;
}

/* Kang et al.'s velocity error on one series from sample i0: the state from
 * three samples, the world's physics rolled forward, mean |v - v_sim| over
 * consecutive clean frames, in widths per frame. */
static double velocity_error(const judge *j, const vd_eval_series *s, int i0, int gravity,
                             double radius, double *n_used) {
    *n_used = 0;
    if (s->n - i0 < 4) return NAN;
    double t0 = s->t[i0], g = gravity ? j->g : 0;
    /* Least squares over the three samples with g fixed. */
    double mt = 0, mx = 0, my = 0;
    for (int i = i0; i < i0 + 3; i++) {
        double tt = s->t[i] - t0;
        mt += tt;
        mx += s->x[i];
        my += s->y[i] - 0.5 * g * tt * tt;
    }
    mt /= 3;
    mx /= 3;
    my /= 3;
    double stt = 0, stx = 0, sty = 0;
    for (int i = i0; i < i0 + 3; i++) {
        double tt = s->t[i] - t0;
        stt += (tt - mt) * (tt - mt);
        stx += (tt - mt) * (s->x[i] - mx);
        sty += (tt - mt) * (s->y[i] - 0.5 * g * tt * tt - my);
    }
    double vx = stt > 0 ? stx / stt : 0, vy = stt > 0 ? sty / stt : 0;
    double x0 = mx - vx * mt, y0 = my - vy * mt;
    int frames = (int)(s->t[s->n - 1] - t0) + 1;
    float xs[VD_WORLD_MAX_FRAMES], ys[VD_WORLD_MAX_FRAMES];
    vd_world_rollout(&j->phys, (float)x0, (float)y0, (float)vx, (float)vy, gravity,
                     (float)radius, frames, xs, ys);
    double err = 0;
    int cnt = 0;
    for (int i = i0; i + 1 < s->n; i++) {
        if (s->t[i + 1] - s->t[i] != 1) continue;
        int a = (int)(s->t[i] - t0);
        double ox = s->x[i + 1] - s->x[i], oy = s->y[i + 1] - s->y[i];
        double sx = xs[a + 1] - xs[a], sy = ys[a + 1] - ys[a];
        err += hypot(ox - sx, oy - sy);
        cnt++;
    }
    *n_used = cnt;
    return cnt ? err / cnt / j->p->width : NAN;
}

static void physics(judge *j, vd_eval_result *r) {
    const vd_eval_parse *p = j->p;
    const vd_prompt_spec *sp = j->spec;
    int movers = mover_count(sp);
    int gravity = gravity_motion(sp->motion);
    mean_acc law = {0}, vel = {0}, rest = {0};
    for (int o = 0; o < movers; o++) {
        int k = j->match[o];
        if (k < 0) continue;
        const vd_eval_track *tr = &p->tracks[k];
        vd_eval_series s;
        vd_eval_track_series(p, tr, &s);
        if (s.n < 3) continue;
        double rmse, e[16];
        int bounces, brk = 0;
        switch (sp->motion) {
        case VD_STILL: rmse = vd_eval_fit_still(&s); break;
        case VD_FALLING:
        case VD_THROWN: rmse = vd_eval_fit_gravity(&s, j->g, &bounces, e, 16); break;
        case VD_COLLIDING: rmse = vd_eval_fit_piecewise(&s, &brk); break;
        default: rmse = vd_eval_fit_linear(&s); break;
        }
        macc(&law, rmse);
        if (gravity)
            for (int b = 0; b < bounces && b < 16 && !isnan(e[b]); b++)
                macc(&rest, fmin(fabs(e[b] - j->phys.restitution), 1.0));
        double used;
        double v = velocity_error(j, &s, sp->motion == VD_COLLIDING && brk > 0 ? brk : 0, gravity,
                                  tr->radius, &used);
        macc(&vel, v);
    }
    r->metric[VD_EVAL_LAW_RMSE_PX] = mget(&law);
    r->metric[VD_EVAL_LAW_RMSE_W] = law.n ? mget(&law) / p->width : NAN;
    r->metric[VD_EVAL_VELOCITY_ERR] = mget(&vel);
    r->metric[VD_EVAL_RESTITUTION_ERR] = mget(&rest);
}

/* Prompt-free: flicker, drift, dynamics, fidelity, permanence. */
static void quality(judge *j, vd_eval_result *r) {
    const vd_eval_parse *p = j->p;
    int T = p->frames, W = p->width, H = p->height;
    size_t n = (size_t)W * H;
    if (T >= 2) {
        double sum = 0;
        long cnt = 0;
        for (int t = 0; t + 1 < T; t++) {
            const uint8_t *a = p->rgb + (size_t)t * n * 3, *b = a + n * 3;
            const uint8_t *lab = p->label + (size_t)t * n;
            for (size_t i = 0; i < n; i++) {
                if (lab[i] != VD_EVAL_BG) continue;
                sum += (abs(a[3 * i] - b[3 * i]) + abs(a[3 * i + 1] - b[3 * i + 1]) +
                        abs(a[3 * i + 2] - b[3 * i + 2])) / 3.0;
                cnt++;
            }
        }
        r->metric[VD_EVAL_FLICKER] = cnt ? (255.0 - sum / cnt) / 255.0 : NAN;
    }
    mean_acc sd = {0}, cd = {0};
    int blobs_all = 0, blobs_short = 0, violations = 0;
    int moving_pairs = 0;
    double thr = 6.0 * (W < H ? W : H) / 256.0;
    for (int t = 0; t + 1 < T; t++) {
        int moved = 0;
        for (int k = 0; k < p->n_tracks && !moved; k++) {
            const vd_eval_track *tr = &p->tracks[k];
            if (!tr->significant || tr->blob[t] < 0 || tr->blob[t + 1] < 0) continue;
            const vd_eval_blob *a = &p->blobs[tr->blob[t]], *b = &p->blobs[tr->blob[t + 1]];
            moved = hypot(b->cx - a->cx, b->cy - a->cy) > thr;
        }
        moving_pairs += moved;
    }
    if (T >= 2) {
        int need = (T - 1 + 3) / 4;
        r->metric[VD_EVAL_DYNAMIC] = moving_pairs >= need;
    }
    for (int k = 0; k < p->n_tracks; k++) {
        const vd_eval_track *tr = &p->tracks[k];
        blobs_all += tr->seen;
        const vd_eval_blob *fb = &p->blobs[tr->blob[tr->first]];
        const vd_eval_blob *lb = &p->blobs[tr->blob[tr->last]];
        int starts = tr->first > 0 && !fb->at_border && !fb->touching;
        int ends = tr->last < T - 1 && !lb->at_border && !lb->touching;
        if (!tr->significant) {
            blobs_short += tr->seen;
            violations += starts || ends;
            continue;
        }
        violations += starts + ends;
        for (int t = tr->first; t <= tr->last; t++)
            violations += tr->state[t] == VD_TS_MISSING && tr->state[t - 1] != VD_TS_MISSING;
        double amin = 1e30, amax = 0, asum = 0, drift = 0;
        int na = 0;
        const vd_eval_blob *ref = NULL;
        for (int t = tr->first; t <= tr->last; t++) {
            int bi = tr->blob[t];
            if (bi < 0 || !vd_eval_blob_full(p, &p->blobs[bi])) continue;
            const vd_eval_blob *b = &p->blobs[bi];
            if (!ref) ref = b;
            amin = fmin(amin, b->area);
            amax = fmax(amax, b->area);
            asum += b->area;
            drift += sqrt((b->rgb[0] - ref->rgb[0]) * (b->rgb[0] - ref->rgb[0]) +
                          (b->rgb[1] - ref->rgb[1]) * (b->rgb[1] - ref->rgb[1]) +
                          (b->rgb[2] - ref->rgb[2]) * (b->rgb[2] - ref->rgb[2])) / 255.0;
            na++;
        }
        if (na >= 2) {
            macc(&sd, (amax - amin) / (asum / na));
            macc(&cd, drift / na);
        }
    }
    r->metric[VD_EVAL_SIZE_DRIFT] = mget(&sd);
    r->metric[VD_EVAL_COLOUR_DRIFT] = mget(&cd);
    r->metric[VD_EVAL_OFF_PALETTE] = (double)p->off_pixels / ((double)n * T);
    r->metric[VD_EVAL_UNTRACKED] = blobs_all ? (double)blobs_short / blobs_all : 0;
    r->metric[VD_EVAL_PERMANENCE] = violations;
    int nt = 0;
    for (int k = 0; k < p->n_tracks; k++) nt += p->tracks[k].significant;
    r->n_tracks = nt;
}

vd_status vd_eval_video_spec(const vd_video *video, const vd_prompt_spec *spec,
                             const vd_eval_opts *opts, vd_eval_result *result,
                             vd_error *err) {
    vd_eval_opts defaults;
    if (!opts) {
        vd_eval_opts_default(&defaults);
        opts = &defaults;
    }
    memset(result, 0, sizeof *result);
    for (int m = 0; m < VD_EVAL_METRIC_COUNT; m++) result->metric[m] = NAN;
    result->background = -1;
    result->motion = VD_EVAL_M_NONE;
    if (!video || !video->rgb || video->frames < 1)
        return vd_fail(err, VD_ERR_FORMAT, "eval: the video has no frames");
    if (video->width < 8 || video->height < 8)
        return vd_fail(err, VD_ERR_FORMAT, "eval: frames of %dx%d are too small to judge (minimum 8x8)",
                       video->width, video->height);
    if (video->frames > VD_WORLD_MAX_FRAMES)
        return vd_fail(err, VD_ERR_UNSUPPORTED, "eval: %d frames is more than the judge's %d",
                       video->frames, VD_WORLD_MAX_FRAMES);
    result->frames = video->frames;
    result->width = video->width;
    result->height = video->height;
    result->understood = spec != NULL;
    vd_eval_parse p;
    vd_status st = vd_eval_parse_init(&p, video, spec ? spec->background : -1, opts, err);
    if (!st) st = vd_eval_track_all(&p, err);
    if (st) {
        vd_eval_parse_free(&p);
        return st;
    }
    judge j = {.p = &p, .spec = spec, .o = opts};
    vd_world_physics_default(&j.phys, video->width, video->height,
                             video->fps > 0 ? (float)video->fps : 8.0f);
    j.g = j.phys.gravity;
    result->background = p.background;
    vd_prompt_spec none;
    memset(&none, 0, sizeof none);
    none.background = none.motion = none.direction = none.speed = -1;
    j.spec = spec ? spec : &none;
    match_objects(&j);
    result->motion = scene_motion(&j);
    quality(&j, result);
    if (spec) {
        adherence(&j, result);
        physics(&j, result);
    }
    vd_eval_parse_free(&p);
    return VD_OK;
}

vd_status vd_eval_video(const vd_video *video, const char *prompt, const vd_eval_opts *opts,
                        vd_eval_result *result, vd_error *err) {
    vd_prompt_spec spec;
    vd_error perr = {0};
    int ok = prompt && *prompt && vd_world_parse_prompt(prompt, &spec, &perr) == VD_OK;
    vd_status st = vd_eval_video_spec(video, ok ? &spec : NULL, opts, result, err);
    if (!ok && st == VD_OK)
        snprintf(result->note, sizeof result->note, "not understood: %s",
                 prompt && *prompt ? perr.message : "no prompt");
    return st;
}
