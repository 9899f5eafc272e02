/* Training logs as CSV (one header line, then one row of numbers per logged
 * step), and a loss-curve SVG drawn from such a file. Generic: any trainer
 * names its own columns; the first column is the x axis (the step). */
#ifndef VD_TRAIN_CSVLOG_H
#define VD_TRAIN_CSVLOG_H

#include <stdint.h>
#include <stdio.h>

#include "vidit.h"

typedef struct vd_csvlog vd_csvlog;

/* Opens path for appending rows. A new or empty file gets the header. An
 * existing file must have the same header (else VD_ERR_FORMAT); rows whose
 * first value is greater than keep_upto are dropped (a resumed run rewrites
 * the steps after its checkpoint); keep_upto < 0 keeps every row. */
vd_status vd_csvlog_open(vd_csvlog **out, const char *path, const char *const *columns,
                         int ncol, double keep_upto, vd_error *err);
/* Appends one row of ncol values and flushes it. NaN is written as "nan". */
vd_status vd_csvlog_row(vd_csvlog *log, const double *values, vd_error *err);
void vd_csvlog_close(vd_csvlog *log);

/* Draws the columns named in y_cols (1..4) against the first column as an
 * SVG line chart (log-scaled y when log_y and every value is positive),
 * written atomically. A CSV with no rows gives an empty chart. */
vd_status vd_csvlog_svg(const char *csv_path, const char *svg_path, const char *title,
                        const char *const *y_cols, int ny, int log_y, vd_error *err);

#endif
