/* GIF palettes. The toy world draws a few flat colours with anti-aliased
 * edges, so its videos usually hold well under 256 colours and get an exact
 * palette (a lossless GIF); anything richer is reduced by median cut, each
 * box split at the population median of its widest channel. */
#include "io/palette.h"

#include <stdlib.h>
#include <string.h>

#include "core/alloc.h"
#include "core/error.h"

/* Open-addressing map from a 24-bit colour to a value; key 0 means empty,
 * so colours are stored as colour + 1. */
typedef struct colour_map {
    uint32_t *keys;
    uint64_t *vals;
    size_t cap, used;
} colour_map;

static void map_free(colour_map *m) {
    vd_free(NULL, m->keys);
    vd_free(NULL, m->vals);
    memset(m, 0, sizeof *m);
}

static int map_init(colour_map *m, size_t cap) {
    memset(m, 0, sizeof *m);
    m->keys = vd_calloc(NULL, cap, sizeof *m->keys);
    m->vals = vd_calloc(NULL, cap, sizeof *m->vals);
    m->cap = cap;
    if (!m->keys || !m->vals) {
        map_free(m);
        return 0;
    }
    return 1;
}

static size_t map_slot(const colour_map *m, uint32_t key) {
    size_t i = (size_t)((key * 2654435761u) & (uint32_t)(m->cap - 1));
    while (m->keys[i] && m->keys[i] != key) i = (i + 1) & (m->cap - 1);
    return i;
}

/* Returns the value slot for colour c, inserting a zero when new; NULL when
 * growing the table failed. */
static uint64_t *map_get(colour_map *m, uint32_t c) {
    uint32_t key = c + 1;
    if ((m->used + 1) * 2 > m->cap) {
        colour_map g;
        if (!map_init(&g, m->cap * 2)) return NULL;
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i]) {
                size_t s = map_slot(&g, m->keys[i]);
                g.keys[s] = m->keys[i];
                g.vals[s] = m->vals[i];
            }
        g.used = m->used;
        map_free(m);
        *m = g;
    }
    size_t s = map_slot(m, key);
    if (!m->keys[s]) {
        m->keys[s] = key;
        m->vals[s] = 0;
        m->used++;
    }
    return &m->vals[s];
}

static const uint64_t *map_find(const colour_map *m, uint32_t c) {
    size_t s = map_slot(m, c + 1);
    return m->keys[s] ? &m->vals[s] : NULL;
}

struct vd_io_palette {
    uint32_t argb[256];
    int size;
    colour_map lookup; /* colour -> index, filled lazily for inexact colours */
};

typedef struct hist_entry {
    uint32_t colour;
    uint64_t count;
} hist_entry;

static inline int channel(uint32_t c, int ch) { return (int)((c >> (16 - 8 * ch)) & 255); }

/* Ties are broken by the whole colour so that qsort's order is total and the
 * palette does not depend on the C library. */
#define CMP_CHANNEL(name, ch)                                                 \
    static int name(const void *a, const void *b) {                           \
        uint32_t x = ((const hist_entry *)a)->colour;                         \
        uint32_t y = ((const hist_entry *)b)->colour;                         \
        int d = channel(x, ch) - channel(y, ch);                              \
        if (d) return d;                                                      \
        return x < y ? -1 : x > y;                                            \
    }
CMP_CHANNEL(cmp_r, 0)
CMP_CHANNEL(cmp_g, 1)
CMP_CHANNEL(cmp_b, 2)

typedef struct box {
    size_t lo, hi; /* entries [lo, hi) */
    int range, axis;
} box;

static void box_measure(box *b, const hist_entry *e) {
    int mn[3] = {255, 255, 255}, mx[3] = {0, 0, 0};
    for (size_t i = b->lo; i < b->hi; i++)
        for (int ch = 0; ch < 3; ch++) {
            int x = channel(e[i].colour, ch);
            if (x < mn[ch]) mn[ch] = x;
            if (x > mx[ch]) mx[ch] = x;
        }
    b->axis = 0;
    for (int ch = 1; ch < 3; ch++)
        if (mx[ch] - mn[ch] > mx[b->axis] - mn[b->axis]) b->axis = ch;
    b->range = b->hi - b->lo > 1 ? mx[b->axis] - mn[b->axis] : -1;
}

static int median_cut(vd_io_palette *p, hist_entry *e, size_t n) {
    box *boxes = vd_calloc(NULL, 256, sizeof *boxes);
    if (!boxes) return 0;
    int nb = 1;
    boxes[0].lo = 0;
    boxes[0].hi = n;
    box_measure(&boxes[0], e);
    while (nb < 256) {
        int best = -1;
        for (int i = 0; i < nb; i++)
            if (boxes[i].range > 0 && (best < 0 || boxes[i].range > boxes[best].range)) best = i;
        if (best < 0) break;
        box *b = &boxes[best];
        int (*cmp)(const void *, const void *) = b->axis == 0 ? cmp_r : b->axis == 1 ? cmp_g : cmp_b;
        qsort(e + b->lo, b->hi - b->lo, sizeof *e, cmp);
        uint64_t total = 0, acc = 0;
        for (size_t i = b->lo; i < b->hi; i++) total += e[i].count;
        size_t cut = b->lo + 1;
        for (size_t i = b->lo; i < b->hi - 1; i++) {
            acc += e[i].count;
            cut = i + 1;
            if (acc * 2 >= total) break;
        }
        boxes[nb].lo = cut;
        boxes[nb].hi = b->hi;
        b->hi = cut;
        box_measure(b, e);
        box_measure(&boxes[nb], e);
        nb++;
    }
    for (int i = 0; i < nb; i++) {
        uint64_t sum[3] = {0, 0, 0}, total = 0;
        for (size_t k = boxes[i].lo; k < boxes[i].hi; k++) {
            for (int ch = 0; ch < 3; ch++) sum[ch] += (uint64_t)channel(e[k].colour, ch) * e[k].count;
            total += e[k].count;
        }
        uint32_t c = 0xFF000000u;
        for (int ch = 0; ch < 3; ch++)
            c |= (uint32_t)((sum[ch] + total / 2) / total) << (16 - 8 * ch);
        p->argb[i] = c;
    }
    p->size = nb;
    vd_free(NULL, boxes);
    return 1;
}

vd_status vd_io_palette_new(vd_io_palette **out, const vd_video *v, vd_error *err) {
    *out = NULL;
    vd_io_palette *p = vd_calloc(NULL, 1, sizeof *p);
    colour_map hist = {0};
    hist_entry *e = NULL;
    if (!p || !map_init(&hist, 1024) || !map_init(&p->lookup, 1024)) goto nomem;
    size_t pixels = (size_t)v->frames * (size_t)v->height * (size_t)v->width;
    for (size_t i = 0; i < pixels; i++) {
        const uint8_t *px = v->rgb + i * 3;
        uint64_t *cnt = map_get(&hist, (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2]);
        if (!cnt) goto nomem;
        (*cnt)++;
    }
    e = vd_calloc(NULL, hist.used, sizeof *e);
    if (!e) goto nomem;
    size_t n = 0;
    for (size_t i = 0; i < hist.cap; i++)
        if (hist.keys[i]) {
            e[n].colour = hist.keys[i] - 1;
            e[n].count = hist.vals[i];
            n++;
        }
    if (n <= 256) {
        /* Sorted so that the same colours always give the same file. */
        qsort(e, n, sizeof *e, cmp_r);
        for (size_t i = 0; i < n; i++) p->argb[i] = 0xFF000000u | e[i].colour;
        p->size = (int)n;
    } else if (!median_cut(p, e, n)) {
        goto nomem;
    }
    for (int i = 0; i < p->size; i++) {
        uint64_t *slot = map_get(&p->lookup, p->argb[i] & 0xFFFFFFu);
        if (!slot) goto nomem;
        *slot = (uint64_t)i;
    }
    map_free(&hist);
    vd_free(NULL, e);
    *out = p;
    return VD_OK;
nomem:
    map_free(&hist);
    vd_free(NULL, e);
    vd_io_palette_free(p);
    return vd_fail(err, VD_ERR_NOMEM, "video: out of memory building a GIF palette");
}

void vd_io_palette_free(vd_io_palette *p) {
    if (!p) return;
    map_free(&p->lookup);
    vd_free(NULL, p);
}

const uint32_t *vd_io_palette_argb(const vd_io_palette *p) { return p->argb; }
int vd_io_palette_size(const vd_io_palette *p) { return p->size; }

static int nearest(const vd_io_palette *p, uint32_t c) {
    int best = 0;
    long best_d = -1;
    for (int i = 0; i < p->size; i++) {
        long d = 0;
        for (int ch = 0; ch < 3; ch++) {
            long x = channel(c, ch) - channel(p->argb[i], ch);
            d += x * x;
        }
        if (best_d < 0 || d < best_d) {
            best_d = d;
            best = i;
        }
    }
    return best;
}

vd_status vd_io_palette_map(vd_io_palette *p, const uint8_t *rgb, int w, int h,
                            uint8_t *dst, int stride, vd_error *err) {
    for (int j = 0; j < h; j++)
        for (int i = 0; i < w; i++) {
            const uint8_t *px = rgb + ((size_t)j * (size_t)w + (size_t)i) * 3;
            uint32_t c = (uint32_t)px[0] << 16 | (uint32_t)px[1] << 8 | px[2];
            const uint64_t *hit = map_find(&p->lookup, c);
            uint64_t idx;
            if (hit) {
                idx = *hit;
            } else {
                idx = (uint64_t)nearest(p, c);
                uint64_t *slot = map_get(&p->lookup, c);
                if (!slot) return vd_fail(err, VD_ERR_NOMEM, "video: out of memory mapping GIF colours");
                *slot = idx;
            }
            dst[(size_t)j * (size_t)stride + (size_t)i] = (uint8_t)idx;
        }
    return VD_OK;
}
