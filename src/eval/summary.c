/* Metric names, aggregation over a folder and the JSON of both. */
#include <math.h>
#include <string.h>

#include "core/strbuf.h"
#include "eval/eval.h"

static const struct {
    const char *name;
    int group, higher_better;
} metric_info[VD_EVAL_METRIC_COUNT] = {
    [VD_EVAL_PRESENCE] = {"presence", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_COLOUR] = {"colour", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_SHAPE] = {"shape", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_SHAPE_FLIP] = {"shape_flip", VD_EVAL_ADHERENCE, 0},
    [VD_EVAL_SIZE] = {"size", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_COUNT] = {"count", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_BACKGROUND] = {"background", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_DIRECTION] = {"direction", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_MOTION_TYPE] = {"motion_type", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_EVERY] = {"every_constraint", VD_EVAL_ADHERENCE, 1},
    [VD_EVAL_FLICKER] = {"flicker", VD_EVAL_QUALITY, 1},
    [VD_EVAL_SIZE_DRIFT] = {"size_drift", VD_EVAL_QUALITY, 0},
    [VD_EVAL_COLOUR_DRIFT] = {"colour_drift", VD_EVAL_QUALITY, 0},
    [VD_EVAL_DYNAMIC] = {"dynamic_degree", VD_EVAL_QUALITY, 1},
    [VD_EVAL_OFF_PALETTE] = {"off_palette", VD_EVAL_QUALITY, 0},
    [VD_EVAL_UNTRACKED] = {"untracked_blobs", VD_EVAL_QUALITY, 0},
    [VD_EVAL_LAW_RMSE_PX] = {"law_rmse_px", VD_EVAL_PHYSICS, 0},
    [VD_EVAL_LAW_RMSE_W] = {"law_rmse_width", VD_EVAL_PHYSICS, 0},
    [VD_EVAL_VELOCITY_ERR] = {"velocity_error", VD_EVAL_PHYSICS, 0},
    [VD_EVAL_RESTITUTION_ERR] = {"restitution_error", VD_EVAL_PHYSICS, 0},
    [VD_EVAL_PERMANENCE] = {"permanence_violations", VD_EVAL_PHYSICS, 0},
};

static const char *const group_names[] = {"adherence", "quality", "physics"};
static const char *const motion_names[VD_EVAL_M_COUNT] = {"still", "linear", "falling",
                                                          "bouncing", "colliding", "other"};

const char *vd_eval_metric_name(int m) {
    return m >= 0 && m < VD_EVAL_METRIC_COUNT ? metric_info[m].name : "unknown";
}
int vd_eval_metric_group(int m) {
    return m >= 0 && m < VD_EVAL_METRIC_COUNT ? metric_info[m].group : -1;
}
int vd_eval_metric_higher_better(int m) {
    return m >= 0 && m < VD_EVAL_METRIC_COUNT ? metric_info[m].higher_better : 0;
}
const char *vd_eval_motion_name(int m) {
    return m >= 0 && m < VD_EVAL_M_COUNT ? motion_names[m] : "none";
}

void vd_eval_summary_init(vd_eval_summary *s) { memset(s, 0, sizeof *s); }

void vd_eval_summary_add(vd_eval_summary *s, const vd_eval_result *r) {
    s->videos++;
    if (!r->understood) s->not_understood++;
    if (r->metric[VD_EVAL_DYNAMIC] > 0.5) s->dynamic_videos++;
    if (r->motion >= 0 && r->motion < VD_EVAL_M_COUNT) s->motion_hist[r->motion]++;
    for (int m = 0; m < VD_EVAL_METRIC_COUNT; m++) {
        double v = r->metric[m];
        if (isnan(v)) continue;
        s->sum[m] += v;
        s->count[m]++;
    }
}

void vd_eval_summary_add_failure(vd_eval_summary *s) { s->failed++; }

double vd_eval_summary_mean(const vd_eval_summary *s, int m) {
    if (m < 0 || m >= VD_EVAL_METRIC_COUNT || !s->count[m]) return NAN;
    return s->sum[m] / s->count[m];
}

void vd_eval_result_json(vd_strbuf *s, const vd_eval_result *r) {
    vd_strbuf_printf(s, "{\"understood\":%s,\"frames\":%d,\"width\":%d,\"height\":%d,",
                     r->understood ? "true" : "false", r->frames, r->width, r->height);
    vd_strbuf_puts(s, "\"background\":");
    if (r->background >= 0) vd_strbuf_json_string(s, vd_colour_name(r->background));
    else vd_strbuf_puts(s, "null");
    vd_strbuf_puts(s, ",\"motion\":");
    if (r->motion >= 0) vd_strbuf_json_string(s, vd_eval_motion_name(r->motion));
    else vd_strbuf_puts(s, "null");
    vd_strbuf_printf(s, ",\"tracks\":%d", r->n_tracks);
    if (r->note[0]) {
        vd_strbuf_puts(s, ",\"note\":");
        vd_strbuf_json_string(s, r->note);
    }
    if (r->understood) {
        vd_strbuf_puts(s, ",\"failed\":[");
        int first = 1;
        for (int m = 0; m < VD_EVAL_METRIC_COUNT; m++)
            if (r->failed & (1u << m)) {
                vd_strbuf_printf(s, "%s\"%s\"", first ? "" : ",", metric_info[m].name);
                first = 0;
            }
        vd_strbuf_puts(s, "]");
    }
    vd_strbuf_puts(s, ",\"metrics\":{");
    for (int m = 0; m < VD_EVAL_METRIC_COUNT; m++) {
        vd_strbuf_printf(s, "%s\"%s\":", m ? "," : "", metric_info[m].name);
        vd_strbuf_json_number(s, r->metric[m]);
    }
    vd_strbuf_puts(s, "}}");
}

void vd_eval_summary_json(vd_strbuf *s, const vd_eval_summary *sum) {
    vd_strbuf_printf(s, "{\"videos\":%d,\"failed\":%d,\"not_understood\":%d,\"dynamic_videos\":%d,",
                     sum->videos, sum->failed, sum->not_understood, sum->dynamic_videos);
    vd_strbuf_puts(s, "\"motion_seen\":{");
    for (int m = 0; m < VD_EVAL_M_COUNT; m++)
        vd_strbuf_printf(s, "%s\"%s\":%d", m ? "," : "", motion_names[m], sum->motion_hist[m]);
    vd_strbuf_puts(s, "}");
    for (int g = 0; g < 3; g++) {
        vd_strbuf_printf(s, ",\"%s\":{", group_names[g]);
        int first = 1;
        for (int m = 0; m < VD_EVAL_METRIC_COUNT; m++) {
            if (metric_info[m].group != g) continue;
            vd_strbuf_printf(s, "%s\"%s\":{\"mean\":", first ? "" : ",", metric_info[m].name);
            vd_strbuf_json_number(s, vd_eval_summary_mean(sum, m));
            vd_strbuf_printf(s, ",\"count\":%d,\"higher_is_better\":%s}", sum->count[m],
                             metric_info[m].higher_better ? "true" : "false");
            first = 0;
        }
        vd_strbuf_puts(s, "}");
    }
    vd_strbuf_puts(s, "}");
}
