/* A training progress display: step/total, loss, samples/s and ETA.
 *
 * It writes only to the stream its caller hands it (tools pass stderr; the
 * library never prints on its own). On a terminal it redraws one bar line
 * in place; elsewhere (a log file, CI) it writes a plain line every few
 * seconds, so logs stay readable. */
#ifndef VD_TRAIN_PROGRESS_H
#define VD_TRAIN_PROGRESS_H

#include <stdint.h>
#include <stdio.h>

typedef enum vd_progress_mode {
    VD_PROGRESS_AUTO = 0, /* a bar when `out` is a terminal, else lines */
    VD_PROGRESS_BAR,
    VD_PROGRESS_LINES,
    VD_PROGRESS_NONE
} vd_progress_mode;

typedef struct vd_progress {
    FILE *out;
    int bar;            /* 1: redraw in place */
    int none;
    int64_t total;      /* steps in the whole run */
    int64_t first_step; /* step at which this process started (resume) */
    double start, last_print, every;
    int dirty;          /* a bar is on screen without its newline */
} vd_progress;

/* every: seconds between plain lines (and between bar redraws / 10). */
void vd_progress_init(vd_progress *p, FILE *out, int mode, int64_t first_step, int64_t total,
                      double every);
/* After step `step` (1-based count of steps done): samples seen by this
 * process, the latest loss; `extra` (may be NULL) is appended. Prints when
 * due, or always when force is set. */
void vd_progress_update(vd_progress *p, int64_t step, int64_t samples, double loss,
                        const char *extra, int force);
/* A message on its own line (the bar is redrawn on the next update). */
void vd_progress_note(vd_progress *p, const char *text);
/* Ends the bar's line. */
void vd_progress_finish(vd_progress *p);

/* Monotonic seconds. */
double vd_progress_now(void);
/* "1h02m", "3m05s", "12s" into buf. */
const char *vd_progress_duration(double seconds, char *buf, size_t size);

#endif
