/* Ground truth as JSON: a scene written with vd_strbuf and read back from
 * a parsed vd_json tree, names spelled as vd_*_name gives them. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"
#include "world/world.h"

static void key(vd_strbuf *s, const char *k, int first) {
    if (!first) vd_strbuf_puts(s, ",");
    vd_strbuf_json_string(s, k);
    vd_strbuf_puts(s, ":");
}

/* Integers as integers, other floats in the fewest digits that read back
 * as the same float (JSON numbers are doubles; 0.7f is not 0.7). */
static void fnum(vd_strbuf *s, double v) {
    if (!isfinite(v)) {
        vd_strbuf_puts(s, "null");
        return;
    }
    if (v == floor(v) && fabs(v) < 1e9) {
        vd_strbuf_printf(s, "%.0f", v);
        return;
    }
    char buf[40];
    float f = (float)v;
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, (double)f);
        if (strtof(buf, NULL) == f) break;
    }
    vd_strbuf_puts(s, buf);
}

static void num(vd_strbuf *s, const char *k, double v) {
    key(s, k, 0);
    fnum(s, v);
}

static void str(vd_strbuf *s, const char *k, const char *v) {
    key(s, k, 0);
    vd_strbuf_json_string(s, v);
}

/* Thousandths of a pixel: far below what rendering resolves, and short. */
static double milli(float v) { return round((double)v * 1000.0) / 1000.0; }

static void track(vd_strbuf *s, const char *k, const float *v, int n) {
    key(s, k, 0);
    vd_strbuf_puts(s, "[");
    for (int t = 0; t < n; t++) {
        if (t) vd_strbuf_puts(s, ",");
        fnum(s, milli(v[t]));
    }
    vd_strbuf_puts(s, "]");
}

void vd_world_scene_json(vd_strbuf *s, const vd_scene *sc) {
    vd_strbuf_puts(s, "{");
    key(s, "width", 1);
    vd_strbuf_printf(s, "%d", sc->width);
    num(s, "height", sc->height);
    num(s, "frames", sc->frames);
    num(s, "fps", sc->fps);
    str(s, "background", vd_colour_name(sc->background));
    str(s, "motion", vd_motion_name(sc->motion));
    key(s, "physics", 0);
    vd_strbuf_puts(s, "{");
    key(s, "gravity", 1);
    fnum(s, sc->physics.gravity);
    num(s, "restitution", sc->physics.restitution);
    num(s, "floor_y", sc->physics.floor_y);
    num(s, "substeps", sc->physics.substeps);
    vd_strbuf_puts(s, "}");
    key(s, "objects", 0);
    vd_strbuf_puts(s, "[");
    for (int i = 0; i < sc->n_objects; i++) {
        const vd_world_object *o = &sc->objects[i];
        if (i) vd_strbuf_puts(s, ",");
        vd_strbuf_puts(s, "{");
        key(s, "colour", 1);
        vd_strbuf_json_string(s, vd_colour_name(o->colour));
        str(s, "shape", vd_shape_name(o->shape));
        str(s, "size", vd_size_name(o->size));
        num(s, "radius", o->radius);
        num(s, "angle", o->angle);
        str(s, "motion", vd_motion_name(o->motion));
        str(s, "direction", vd_direction_name(o->direction));
        str(s, "speed", vd_speed_name(o->speed));
        num(s, "depth", o->depth);
        num(s, "mass", o->mass);
        num(s, "vx", o->vx);
        num(s, "vy", o->vy);
        track(s, "x", o->x, sc->frames);
        track(s, "y", o->y, sc->frames);
        vd_strbuf_puts(s, "}");
    }
    vd_strbuf_puts(s, "]}");
}

/* Reading helpers: each names the member it failed on. */
typedef struct reader {
    vd_error *err;
    const char *where; /* "objects[1]" or "" */
} reader;

static vd_status need(reader *r, const vd_json *obj, const char *k, const vd_json **out) {
    *out = vd_json_get(obj, k);
    if (!*out)
        return vd_fail(r->err, VD_ERR_FORMAT, "world: scene json: %s%s\"%s\" is missing", r->where,
                       *r->where ? "." : "", k);
    return VD_OK;
}

static vd_status get_num(reader *r, const vd_json *obj, const char *k, double *v) {
    const vd_json *m;
    vd_status st = need(r, obj, k, &m);
    if (st) return st;
    if (!vd_json_is_number(m))
        return vd_fail(r->err, VD_ERR_FORMAT, "world: scene json: %s%s\"%s\" is not a number",
                       r->where, *r->where ? "." : "", k);
    *v = vd_json_num(m, 0);
    return VD_OK;
}

static vd_status get_int(reader *r, const vd_json *obj, const char *k, int lo, int hi, int *v) {
    const vd_json *m;
    vd_status st = need(r, obj, k, &m);
    if (st) return st;
    int64_t x;
    if (!vd_json_int(m, &x) || x < lo || x > hi)
        return vd_fail(r->err, VD_ERR_FORMAT,
                       "world: scene json: %s%s\"%s\" must be an integer in %d..%d", r->where,
                       *r->where ? "." : "", k, lo, hi);
    *v = (int)x;
    return VD_OK;
}

static vd_status get_name(reader *r, const vd_json *obj, const char *k, int (*lookup)(const char *),
                          int *v) {
    const vd_json *m;
    vd_status st = need(r, obj, k, &m);
    if (st) return st;
    const char *name = vd_json_str(m, NULL);
    *v = name ? lookup(name) : -1;
    if (*v < 0)
        return vd_fail(r->err, VD_ERR_FORMAT, "world: scene json: %s%s\"%s\": unknown %s '%s'",
                       r->where, *r->where ? "." : "", k, k, name ? name : "(not a string)");
    return VD_OK;
}

static vd_status get_float(reader *r, const vd_json *obj, const char *k, float *v) {
    double d;
    vd_status st = get_num(r, obj, k, &d);
    if (!st) *v = (float)d;
    return st;
}

static vd_status get_track(reader *r, const vd_json *obj, const char *k, int frames, float *v) {
    const vd_json *m;
    vd_status st = need(r, obj, k, &m);
    if (st) return st;
    if (vd_json_type_of(m) != VD_JSON_ARRAY || vd_json_len(m) != (size_t)frames)
        return vd_fail(r->err, VD_ERR_FORMAT,
                       "world: scene json: %s.\"%s\" must be an array of %d numbers", r->where, k,
                       frames);
    for (int t = 0; t < frames; t++) {
        const vd_json *e = vd_json_at(m, (size_t)t);
        if (!vd_json_is_number(e))
            return vd_fail(r->err, VD_ERR_FORMAT, "world: scene json: %s.\"%s\"[%d] is not a number",
                           r->where, k, t);
        v[t] = (float)vd_json_num(e, 0);
    }
    return VD_OK;
}

vd_status vd_world_scene_from_json(const vd_json *obj, vd_scene *sc, vd_error *err) {
    reader r = {err, ""};
    vd_status st;
    if (!obj || vd_json_type_of(obj) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "world: scene json: not an object");
    memset(sc, 0, sizeof *sc);
    double fps;
    if ((st = get_int(&r, obj, "width", VD_WORLD_MIN_SIZE, VD_WORLD_MAX_SIZE, &sc->width)) ||
        (st = get_int(&r, obj, "height", VD_WORLD_MIN_SIZE, VD_WORLD_MAX_SIZE, &sc->height)) ||
        (st = get_int(&r, obj, "frames", 1, VD_WORLD_MAX_FRAMES, &sc->frames)) ||
        (st = get_num(&r, obj, "fps", &fps)) ||
        (st = get_name(&r, obj, "background", vd_colour_from_name, &sc->background)) ||
        (st = get_name(&r, obj, "motion", vd_motion_from_name, &sc->motion)))
        return st;
    if (!(fps > 0) || !isfinite(fps))
        return vd_fail(err, VD_ERR_FORMAT, "world: scene json: \"fps\" must be positive");
    sc->fps = (float)fps;
    const vd_json *phys, *objs;
    if ((st = need(&r, obj, "physics", &phys)) || (st = need(&r, obj, "objects", &objs))) return st;
    r.where = "physics";
    if ((st = get_float(&r, phys, "gravity", &sc->physics.gravity)) ||
        (st = get_float(&r, phys, "restitution", &sc->physics.restitution)) ||
        (st = get_float(&r, phys, "floor_y", &sc->physics.floor_y)) ||
        (st = get_int(&r, phys, "substeps", 1, 1000, &sc->physics.substeps)))
        return st;
    if (vd_json_type_of(objs) != VD_JSON_ARRAY || vd_json_len(objs) > VD_WORLD_MAX_OBJECTS)
        return vd_fail(err, VD_ERR_FORMAT, "world: scene json: \"objects\" must be an array of at most %d",
                       VD_WORLD_MAX_OBJECTS);
    sc->n_objects = (int)vd_json_len(objs);
    static const char *const names[VD_WORLD_MAX_OBJECTS] = {"objects[0]", "objects[1]", "objects[2]"};
    for (int i = 0; i < sc->n_objects; i++) {
        const vd_json *o = vd_json_at(objs, (size_t)i);
        vd_world_object *w = &sc->objects[i];
        r.where = names[i];
        if (vd_json_type_of(o) != VD_JSON_OBJECT)
            return vd_fail(err, VD_ERR_FORMAT, "world: scene json: %s is not an object", names[i]);
        if ((st = get_name(&r, o, "colour", vd_colour_from_name, &w->colour)) ||
            (st = get_name(&r, o, "shape", vd_shape_from_name, &w->shape)) ||
            (st = get_name(&r, o, "size", vd_size_from_name, &w->size)) ||
            (st = get_float(&r, o, "radius", &w->radius)) ||
            (st = get_float(&r, o, "angle", &w->angle)) ||
            (st = get_name(&r, o, "motion", vd_motion_from_name, &w->motion)) ||
            (st = get_name(&r, o, "direction", vd_direction_from_name, &w->direction)) ||
            (st = get_name(&r, o, "speed", vd_speed_from_name, &w->speed)) ||
            (st = get_int(&r, o, "depth", -1000, 1000, &w->depth)) ||
            (st = get_float(&r, o, "mass", &w->mass)) || (st = get_float(&r, o, "vx", &w->vx)) ||
            (st = get_float(&r, o, "vy", &w->vy)) ||
            (st = get_track(&r, o, "x", sc->frames, w->x)) ||
            (st = get_track(&r, o, "y", sc->frames, w->y)))
            return st;
    }
    return VD_OK;
}
