/* Motion laws fitted to a track's clean centroids, and model selection
 * between them: constant position, constant velocity, the world's gravity
 * (split at floor bounces) and two constant-velocity pieces (a collision). */
#include <math.h>
#include <string.h>

#include "eval/parse.h"

void vd_eval_track_series(const vd_eval_parse *p, const vd_eval_track *tr,
                          vd_eval_series *s) {
    s->n = 0;
    for (int t = tr->first; t <= tr->last && s->n < VD_WORLD_MAX_FRAMES; t++) {
        int bi = tr->blob[t];
        if (bi < 0 || !vd_eval_blob_full(p, &p->blobs[bi])) continue;
        s->t[s->n] = t;
        s->x[s->n] = p->blobs[bi].cx;
        s->y[s->n] = p->blobs[bi].cy;
        s->n++;
    }
}

/* Least squares v = a + b t over [i0, i1); returns the sum of squares. */
static double line_sse(const double *t, const double *v, int i0, int i1, double *a,
                       double *b) {
    int n = i1 - i0;
    double st = 0, sv = 0;
    for (int i = i0; i < i1; i++) {
        st += t[i];
        sv += v[i];
    }
    double mt = st / n, mv = sv / n, stt = 0, stv = 0;
    for (int i = i0; i < i1; i++) {
        stt += (t[i] - mt) * (t[i] - mt);
        stv += (t[i] - mt) * (v[i] - mv);
    }
    double bb = stt > 0 ? stv / stt : 0, aa = mv - bb * mt, sse = 0;
    for (int i = i0; i < i1; i++) {
        double e = v[i] - aa - bb * t[i];
        sse += e * e;
    }
    if (a) *a = aa;
    if (b) *b = bb;
    return sse;
}

double vd_eval_fit_still(const vd_eval_series *s) {
    if (s->n < 1) return 0;
    double mx = 0, my = 0, sse = 0;
    for (int i = 0; i < s->n; i++) {
        mx += s->x[i];
        my += s->y[i];
    }
    mx /= s->n;
    my /= s->n;
    for (int i = 0; i < s->n; i++)
        sse += (s->x[i] - mx) * (s->x[i] - mx) + (s->y[i] - my) * (s->y[i] - my);
    return sqrt(sse / s->n);
}

double vd_eval_fit_linear(const vd_eval_series *s) {
    if (s->n < 2) return 0;
    double sse = line_sse(s->t, s->x, 0, s->n, NULL, NULL) + line_sse(s->t, s->y, 0, s->n, NULL, NULL);
    return sqrt(sse / s->n);
}

/* y - g t^2 / 2 is linear in t within a flight. */
static double flight_sse(const vd_eval_series *s, double g, int i0, int i1, double *a,
                         double *b) {
    double yy[VD_WORLD_MAX_FRAMES];
    for (int i = i0; i < i1; i++) yy[i] = s->y[i] - 0.5 * g * s->t[i] * s->t[i];
    if (i1 - i0 < 2) {
        if (a) *a = i1 > i0 ? yy[i0] : 0;
        if (b) *b = 0;
        return 0;
    }
    return line_sse(s->t, yy, i0, i1, a, b);
}

#define MAX_SPLITS 16

double vd_eval_fit_gravity(const vd_eval_series *s, double g, int *bounces,
                           double *restitution, int max) {
    *bounces = 0;
    if (s->n < 3) return 0;
    /* A bounce is a lowest point: falling before, rising after. Its impact
     * lies on one side of that sample; take the split that fits better. */
    int splits[MAX_SPLITS], ns = 0, start = 0;
    for (int i = 1; i + 1 < s->n && ns < MAX_SPLITS; i++) {
        double before = (s->y[i] - s->y[i - 1]) / (s->t[i] - s->t[i - 1]);
        double after = (s->y[i + 1] - s->y[i]) / (s->t[i + 1] - s->t[i]);
        if (!(before > 0 && after < 0)) continue;
        double e1 = flight_sse(s, g, start, i + 1, NULL, NULL) + flight_sse(s, g, i + 1, s->n, NULL, NULL);
        double e2 = flight_sse(s, g, start, i, NULL, NULL) + flight_sse(s, g, i, s->n, NULL, NULL);
        int cut = e1 <= e2 ? i + 1 : i;
        if (cut <= start) continue;
        splits[ns++] = cut;
        start = cut;
    }
    double sse = line_sse(s->t, s->x, 0, s->n, NULL, NULL);
    double pa = 0, pb = 0;
    int prev = 0, nr = 0, plen = 0;
    for (int k = 0; k <= ns; k++) {
        int end = k < ns ? splits[k] : s->n;
        double a, b;
        double fl = flight_sse(s, g, prev, end, &a, &b);
        if (k == ns && end - prev >= 3) {
            /* Bounces die out: the object may end resting on the floor. */
            double mean = 0, rest_sse = 0;
            for (int i = prev; i < end; i++) mean += s->y[i];
            mean /= end - prev;
            for (int i = prev; i < end; i++) rest_sse += (s->y[i] - mean) * (s->y[i] - mean);
            if (rest_sse < fl) {
                fl = rest_sse;
                a = mean;
                b = NAN; /* no flight to measure a restitution on */
            }
        }
        sse += fl;
        /* Restitution: the two flights meet at the impact; compare the
         * vertical speeds there (both flights share g, so they meet once). */
        if (k > 0 && end - prev >= 3 && plen >= 3 && !isnan(b) && !isnan(pb) && nr < max) {
            double tstar = pb != b ? (a - pa) / (pb - b) : s->t[prev];
            double v1 = pb + g * tstar, v2 = b + g * tstar;
            if (v1 > 1e-6 && v2 < 0) restitution[nr++] = -v2 / v1;
        }
        pa = a;
        pb = end - prev >= 2 ? b : NAN;
        plen = end - prev;
        prev = end;
    }
    *bounces = ns;
    if (nr < max && restitution) restitution[nr] = NAN;
    return sqrt(sse / s->n);
}

double vd_eval_fit_piecewise(const vd_eval_series *s, int *brk) {
    *brk = -1;
    if (s->n < 4) return vd_eval_fit_linear(s);
    double best = -1;
    for (int k = 2; k + 2 <= s->n; k++) {
        double sse = line_sse(s->t, s->x, 0, k, NULL, NULL) + line_sse(s->t, s->x, k, s->n, NULL, NULL) +
                     line_sse(s->t, s->y, 0, k, NULL, NULL) + line_sse(s->t, s->y, k, s->n, NULL, NULL);
        if (best < 0 || sse < best) {
            best = sse;
            *brk = k;
        }
    }
    return sqrt(best / s->n);
}

/* BIC with a measurement-noise floor: when every law fits within the noise
 * the one with fewest parameters wins. */
int vd_eval_classify_motion(const vd_eval_series *s, double g, double width) {
    if (s->n < 3) return s->n ? VD_EVAL_M_STILL : VD_EVAL_M_NONE;
    const double noise2 = 0.3 * 0.3;
    double n = s->n, ln = log(n);
    double rest[MAX_SPLITS + 1];
    int bounces, brk;
    double r[5];
    r[0] = vd_eval_fit_still(s);
    r[1] = vd_eval_fit_linear(s);
    r[2] = vd_eval_fit_gravity(s, g, &bounces, rest, MAX_SPLITS);
    r[3] = r[2];
    r[4] = vd_eval_fit_piecewise(s, &brk);
    double k[5] = {2, 4, 4 + 3.0 * bounces, 4 + 3.0 * bounces, 9};
    int best = 0;
    double best_score = 0;
    for (int m = 0; m < 5; m++) {
        if (m == 2 && bounces > 0) continue;
        if (m == 3 && bounces == 0) continue;
        if (m == 4 && s->n < 6) continue;
        double score = n * log(r[m] * r[m] + noise2) + k[m] * ln;
        if (m == 0 || score < best_score) {
            best_score = score;
            best = m;
        }
    }
    /* No law explains it: jumps, shuffled frames, jitter. */
    if (r[best] > fmax(1.0, 0.03 * width)) return VD_EVAL_M_OTHER;
    static const int cls[5] = {VD_EVAL_M_STILL, VD_EVAL_M_LINEAR, VD_EVAL_M_FALLING,
                               VD_EVAL_M_BOUNCING, VD_EVAL_M_COLLIDING};
    return cls[best];
}
