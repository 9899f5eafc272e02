/* Progress display (see progress.h). */
#include <time.h>
#include <unistd.h>

#include "train/progress.h"

double vd_progress_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

const char *vd_progress_duration(double s, char *buf, size_t size) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, size, "?");
        return buf;
    }
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(buf, size, "%ldh%02ldm", t / 3600, (t / 60) % 60);
    else if (t >= 60)
        snprintf(buf, size, "%ldm%02lds", t / 60, t % 60);
    else
        snprintf(buf, size, "%lds", t);
    return buf;
}

void vd_progress_init(vd_progress *p, FILE *out, int mode, int64_t first_step, int64_t total,
                      double every) {
    p->out = out;
    p->none = mode == VD_PROGRESS_NONE || !out;
    p->bar = mode == VD_PROGRESS_BAR || (mode == VD_PROGRESS_AUTO && out && isatty(fileno(out)));
    p->total = total;
    p->first_step = first_step;
    p->start = vd_progress_now();
    p->last_print = 0;
    p->every = every > 0 ? every : 10.0;
    p->dirty = 0;
}

void vd_progress_update(vd_progress *p, int64_t step, int64_t samples, double loss,
                        const char *extra, int force) {
    if (p->none) return;
    double now = vd_progress_now(), el = now - p->start;
    double gap = p->bar ? p->every / 10.0 : p->every;
    if (!force && now - p->last_print < gap) return;
    p->last_print = now;
    int64_t done = step - p->first_step;
    double per_step = done > 0 ? el / (double)done : 0;
    double rate = el > 0 ? (double)samples / el : 0;
    char eta[32], spent[32];
    vd_progress_duration(per_step * (double)(p->total - step), eta, sizeof eta);
    vd_progress_duration(el, spent, sizeof spent);
    if (p->bar) {
        int width = 24, fill = p->total > 0 ? (int)(width * step / p->total) : 0;
        char bar[32];
        for (int i = 0; i < width; i++) bar[i] = i < fill ? '#' : '.';
        bar[width] = 0;
        fprintf(p->out, "\r[%s] %lld/%lld loss %.5f  %.1f samples/s  %.2f s/step  ETA %s %s\033[K",
                bar, (long long)step, (long long)p->total, loss, rate, per_step, eta,
                extra ? extra : "");
        p->dirty = 1;
    } else {
        fprintf(p->out, "step %lld/%lld loss %.5f  %.1f samples/s  %.2f s/step  elapsed %s  ETA %s %s\n",
                (long long)step, (long long)p->total, loss, rate, per_step, spent, eta,
                extra ? extra : "");
    }
    fflush(p->out);
}

void vd_progress_note(vd_progress *p, const char *text) {
    if (p->none) return;
    if (p->dirty) fprintf(p->out, "\r\033[K");
    p->dirty = 0;
    fprintf(p->out, "%s\n", text);
    fflush(p->out);
}

void vd_progress_finish(vd_progress *p) {
    if (p->none) return;
    if (p->dirty) fprintf(p->out, "\n");
    p->dirty = 0;
    fflush(p->out);
}
