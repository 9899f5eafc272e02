/* vidit eval: judges a folder of videos against their captions and prints
 * the summary as JSON (or a table). Videos are judged in parallel; results
 * are gathered in input order, so the output is the same for any number of
 * threads. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "commands.h"
#include "core/strbuf.h"
#include "eval/eval.h"
#include "io/dataset.h"
#include "io/video.h"

static void usage(FILE *to) {
    fprintf(to,
            "usage: vidit eval DIR [--table] [--per-video] [--limit N] [--threads N]\n\n"
            "Judges every video listed in DIR/captions.jsonl (or captions.csv, or a\n"
            ".jsonl/.csv path) against its caption with the toy world's parser,\n"
            "renderer and physics, and prints the summary as JSON on stdout.\n\n"
            "  --table      a readable table instead of JSON\n"
            "  --per-video  add every video's metrics to the JSON\n"
            "  --limit N    judge only the first N entries\n"
            "  --threads N  worker threads (default: one per core)\n");
}

typedef struct item_out {
    vd_eval_result result;
    vd_status status;
    char error[1400];
} item_out;

static void print_table(const vd_eval_summary *s) {
    static const char *const groups[] = {"adherence", "quality", "physics"};
    printf("videos %d   failed %d   not understood %d   dynamic %d\n\n", s->videos, s->failed,
           s->not_understood, s->dynamic_videos);
    printf("%-10s %-22s %10s %7s  %s\n", "group", "metric", "mean", "count", "better");
    for (int g = 0; g < 3; g++)
        for (int m = 0; m < VD_EVAL_METRIC_COUNT; m++) {
            if (vd_eval_metric_group(m) != g) continue;
            double v = vd_eval_summary_mean(s, m);
            char num[32];
            if (s->count[m]) snprintf(num, sizeof num, "%.4f", v);
            else snprintf(num, sizeof num, "n/a");
            printf("%-10s %-22s %10s %7d  %s\n", groups[g], vd_eval_metric_name(m), num,
                   s->count[m], vd_eval_metric_higher_better(m) ? "higher" : "lower");
        }
    printf("\nmotion seen:");
    for (int m = 0; m < VD_EVAL_M_COUNT; m++) printf(" %s %d", vd_eval_motion_name(m), s->motion_hist[m]);
    printf("\n");
}

int cmd_eval(int argc, char **argv) {
    const char *dir = NULL;
    int table = 0, per_video = 0;
    long limit = -1;
    int threads = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            usage(stdout);
            return 0;
        } else if (!strcmp(a, "--table")) {
            table = 1;
        } else if (!strcmp(a, "--per-video")) {
            per_video = 1;
        } else if ((!strcmp(a, "--limit") || !strcmp(a, "--threads")) && i + 1 < argc) {
            char *end;
            long v = strtol(argv[++i], &end, 10);
            if (*end || v < 0 || v > 100000000) {
                fprintf(stderr, "vidit eval: %s wants a non-negative integer, got '%s'\n", a, argv[i]);
                return 2;
            }
            if (a[2] == 'l') limit = v;
            else threads = (int)v;
        } else if (a[0] == '-') {
            fprintf(stderr, "vidit eval: unknown option '%s'\n", a);
            usage(stderr);
            return 2;
        } else if (!dir) {
            dir = a;
        } else {
            fprintf(stderr, "vidit eval: one folder only ('%s' and '%s')\n", dir, a);
            return 2;
        }
    }
    if (!dir) {
        usage(stderr);
        return 2;
    }
    if (threads > 0) vd_set_threads(threads);
    vd_error err = {0};
    vd_dataset *ds = NULL;
    if (vd_dataset_open(&ds, dir, &err) != VD_OK) {
        fprintf(stderr, "vidit eval: %s\n", err.message);
        return 1;
    }
    size_t nerr = vd_dataset_error_count(ds);
    for (size_t i = 0; i < nerr; i++) fprintf(stderr, "vidit eval: %s\n", vd_dataset_error(ds, i));
    size_t n = vd_dataset_count(ds);
    if (limit >= 0 && (size_t)limit < n) n = (size_t)limit;
    item_out *out = calloc(n ? n : 1, sizeof *out);
    if (!out) {
        fprintf(stderr, "vidit eval: out of memory for %zu results\n", n);
        vd_dataset_free(ds);
        return 1;
    }
    double t0 = omp_get_wtime();
    vd_eval_opts opts;
    vd_eval_opts_default(&opts);
#pragma omp parallel for schedule(dynamic, 1)
    for (long i = 0; i < (long)n; i++) {
        const vd_dataset_item *it = vd_dataset_entry(ds, (size_t)i);
        item_out *o = &out[i];
        vd_error e = {0};
        vd_video v = {0};
        o->status = vd_video_read(it->path, NULL, &v, &e);
        if (o->status == VD_OK) o->status = vd_eval_video(&v, it->caption, &opts, &o->result, &e);
        if (o->status != VD_OK)
            snprintf(o->error, sizeof o->error, "%s:%d: %s: %s", vd_dataset_source(ds), it->line,
                     it->file, e.message);
        vd_video_free(&v);
    }
    double secs = omp_get_wtime() - t0;
    vd_eval_summary sum;
    vd_eval_summary_init(&sum);
    for (size_t i = 0; i < nerr; i++) vd_eval_summary_add_failure(&sum);
    for (size_t i = 0; i < n; i++) {
        if (out[i].status != VD_OK) {
            fprintf(stderr, "vidit eval: %s\n", out[i].error);
            vd_eval_summary_add_failure(&sum);
        } else {
            vd_eval_summary_add(&sum, &out[i].result);
        }
    }
    fprintf(stderr, "vidit eval: judged %zu videos in %.2f s\n", n, secs);
    int rc = 0;
    if (table) {
        print_table(&sum);
    } else {
        vd_strbuf s;
        vd_strbuf_init(&s);
        vd_strbuf_puts(&s, "{\"dataset\":");
        vd_strbuf_json_string(&s, vd_dataset_source(ds));
        vd_strbuf_puts(&s, ",\"summary\":");
        vd_eval_summary_json(&s, &sum);
        if (per_video) {
            vd_strbuf_puts(&s, ",\"videos\":[");
            for (size_t i = 0; i < n; i++) {
                const vd_dataset_item *it = vd_dataset_entry(ds, i);
                vd_strbuf_puts(&s, i ? ",{\"file\":" : "{\"file\":");
                vd_strbuf_json_string(&s, it->file);
                vd_strbuf_puts(&s, ",\"caption\":");
                vd_strbuf_json_string(&s, it->caption);
                if (out[i].status != VD_OK) {
                    vd_strbuf_puts(&s, ",\"error\":");
                    vd_strbuf_json_string(&s, out[i].error);
                } else {
                    vd_strbuf_puts(&s, ",\"result\":");
                    vd_eval_result_json(&s, &out[i].result);
                }
                vd_strbuf_puts(&s, "}");
            }
            vd_strbuf_puts(&s, "]");
        }
        vd_strbuf_puts(&s, "}\n");
        if (s.failed) {
            fprintf(stderr, "vidit eval: out of memory writing the JSON\n");
            rc = 1;
        } else {
            fputs(vd_strbuf_cstr(&s), stdout);
        }
        vd_strbuf_free(&s);
    }
    free(out);
    vd_dataset_free(ds);
    return rc;
}
