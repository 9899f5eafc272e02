#include "core/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "safetensors data is little-endian; vidit reads it in place"
#endif

struct vd_st_file {
    void *map; /* our mapping, or NULL for vd_st_open_memory */
    size_t map_size;
    vd_json *header;
    vd_st_tensor *tensors; /* sorted by offset */
    size_t count;
    size_t *by_name; /* indices into tensors, sorted by name, for vd_st_find */
    const char **meta_keys, **meta_values;
    size_t meta_count;
    char label[256];
};

/* Valid safetensors dtypes that vidit has no arithmetic for. */
static const char *const unsupported_dtypes[] = {
    "F8_E4M3", "F8_E5M2", "F8_E8M0", "F6_E2M3", "F6_E3M2", "F4", "U16", "U32", "U64", "C64",
};

static void file_free(vd_st_file *f) {
    if (!f) return;
    if (f->map) munmap(f->map, f->map_size);
    vd_json_free(f->header);
    vd_free(NULL, f->tensors);
    vd_free(NULL, f->by_name);
    vd_free(NULL, f->meta_keys);
    vd_free(NULL, f->meta_values);
    vd_free(NULL, f);
}

void vd_st_close(vd_st_file *f) { file_free(f); }

typedef struct sort_item {
    uint64_t begin, end;
    const char *name;
    size_t index;
} sort_item;

static int cmp_items_offset(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    if (a->begin != b->begin) return a->begin < b->begin ? -1 : 1;
    if (a->end != b->end) return a->end < b->end ? -1 : 1;
    return strcmp(a->name, b->name);
}

static int cmp_items_name(const void *pa, const void *pb) {
    const sort_item *a = pa, *b = pb;
    return strcmp(a->name, b->name);
}

static vd_status parse_dtype(const char *label, const char *name, const vd_json *v,
                             vd_dtype *out, vd_error *err) {
    const char *s = vd_json_str(v, NULL);
    if (!s)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': dtype is not a string",
                       label, name);
    if (vd_dtype_from_name(s, out)) return VD_OK;
    for (size_t i = 0; i < sizeof unsupported_dtypes / sizeof *unsupported_dtypes; i++)
        if (strcmp(s, unsupported_dtypes[i]) == 0)
            return vd_fail(err, VD_ERR_UNSUPPORTED,
                           "safetensors: %s: tensor '%s': dtype %s is not supported by vidit",
                           label, name, s);
    return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': unknown dtype '%.32s'",
                   label, name, s);
}

/* Checks one header entry and fills t (without its data pointer) and the
 * offsets. */
static vd_status parse_entry(const char *label, const char *name, const vd_json *v,
                             vd_st_tensor *t, uint64_t *begin, uint64_t *end, vd_error *err) {
    if (vd_json_type_of(v) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': entry is not an object",
                       label, name);
    const vd_json *dtype = NULL, *shape = NULL, *offsets = NULL;
    for (size_t i = 0; i < vd_json_len(v); i++) {
        const char *k = vd_json_key_at(v, i);
        const vd_json **slot = strcmp(k, "dtype") == 0          ? &dtype
                               : strcmp(k, "shape") == 0        ? &shape
                               : strcmp(k, "data_offsets") == 0 ? &offsets
                                                                : NULL;
        if (!slot)
            return vd_fail(err, VD_ERR_FORMAT,
                           "safetensors: %s: tensor '%s': unexpected field '%.64s'", label, name, k);
        if (*slot)
            return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': field '%s' repeated",
                           label, name, k);
        *slot = vd_json_at(v, i);
    }
    const char *missing = !dtype ? "dtype" : !shape ? "shape" : !offsets ? "data_offsets" : NULL;
    if (missing)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': missing field '%s'",
                       label, name, missing);
    vd_status st = parse_dtype(label, name, dtype, &t->dtype, err);
    if (st != VD_OK) return st;

    if (vd_json_type_of(shape) != VD_JSON_ARRAY)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': shape is not an array",
                       label, name);
    size_t nd = vd_json_len(shape);
    if (nd > VD_MAX_DIMS)
        return vd_fail(err, VD_ERR_UNSUPPORTED,
                       "safetensors: %s: tensor '%s': %zu dimensions (vidit handles at most %d)",
                       label, name, nd, VD_MAX_DIMS);
    t->ndim = (int)nd;
    for (size_t i = 0; i < nd; i++) {
        int64_t d;
        if (!vd_json_int(vd_json_at(shape, i), &d) || d < 0)
            return vd_fail(err, VD_ERR_FORMAT,
                           "safetensors: %s: tensor '%s': shape[%zu] is not a non-negative integer",
                           label, name, i);
        t->shape[i] = d;
    }
    /* -1: the running product overflowed. Like the reference reader we
     * reject that even when a later dimension is zero. */
    int64_t numel = vd_shape_numel(t->ndim, t->shape);
    size_t nbytes;
    if (numel < 0 || (uint64_t)numel > SIZE_MAX ||
        !vd_size_mul((size_t)numel, vd_dtype_size(t->dtype), &nbytes))
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s': shape too large",
                       label, name);

    if (vd_json_type_of(offsets) != VD_JSON_ARRAY || vd_json_len(offsets) != 2)
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets is not an array of two integers",
                       label, name);
    int64_t b, e;
    if (!vd_json_int(vd_json_at(offsets, 0), &b) || !vd_json_int(vd_json_at(offsets, 1), &e) ||
        b < 0 || e < 0)
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets are not non-negative integers",
                       label, name);
    if (b > e)
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets begin %lld is after end %lld",
                       label, name, (long long)b, (long long)e);
    if ((uint64_t)(e - b) != (uint64_t)nbytes) {
        char sbuf[200];
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: tensor '%s': data_offsets span %lld bytes but %s %s "
                       "needs %zu",
                       label, name, (long long)(e - b), vd_dtype_name(t->dtype),
                       vd_shape_str(t->ndim, t->shape, sbuf, sizeof sbuf), nbytes);
    }
    t->name = name;
    t->nbytes = nbytes;
    *begin = (uint64_t)b;
    *end = (uint64_t)e;
    return VD_OK;
}

static vd_status parse_metadata(vd_st_file *f, const vd_json *m, vd_error *err) {
    if (vd_json_type_of(m) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: __metadata__ is not an object",
                       f->label);
    if (vd_json_has_duplicate_keys(m))
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: __metadata__ has duplicate keys",
                       f->label);
    size_t n = vd_json_len(m);
    if (n) {
        f->meta_keys = vd_alloc(NULL, n * sizeof *f->meta_keys);
        f->meta_values = vd_alloc(NULL, n * sizeof *f->meta_values);
        if (!f->meta_keys || !f->meta_values)
            return vd_fail(err, VD_ERR_NOMEM, "safetensors: %s: out of memory", f->label);
    }
    for (size_t i = 0; i < n; i++) {
        const char *v = vd_json_str(vd_json_at(m, i), NULL);
        if (!v)
            return vd_fail(err, VD_ERR_FORMAT,
                           "safetensors: %s: __metadata__ value of '%s' is not a string", f->label,
                           vd_json_key_at(m, i));
        f->meta_keys[i] = vd_json_key_at(m, i);
        f->meta_values[i] = v;
    }
    f->meta_count = n;
    return VD_OK;
}

static vd_status validate(vd_st_file *f, const unsigned char *data, size_t size, vd_error *err) {
    const char *label = f->label;
    if (size == 0) return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: file is empty", label);
    if (size < 8)
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: file is %zu bytes, too short for the 8-byte header length",
                       label, size);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | data[i];
    if (hlen > VD_ST_MAX_HEADER)
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: header length %llu exceeds the 100 MB limit", label,
                       (unsigned long long)hlen);
    if (hlen > size - 8)
        return vd_fail(err, VD_ERR_FORMAT,
                       "safetensors: %s: header length %llu runs past the end of the %zu-byte file "
                       "(truncated?)",
                       label, (unsigned long long)hlen, size);
    const char *text = (const char *)data + 8;
    if (hlen == 0 || text[0] != '{')
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: header is not a JSON object", label);
    char jlabel[300];
    snprintf(jlabel, sizeof jlabel, "safetensors: %s: header", label);
    f->header = vd_json_parse(text, (size_t)hlen, jlabel, err);
    if (!f->header) return err ? err->code : VD_ERR_FORMAT;
    const vd_json *h = f->header;
    if (vd_json_type_of(h) != VD_JSON_OBJECT)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: header is not a JSON object", label);

    size_t members = vd_json_len(h), ntensors = 0;
    const vd_json *meta = NULL;
    for (size_t i = 0; i < members; i++) {
        if (strcmp(vd_json_key_at(h, i), "__metadata__") == 0) {
            if (meta)
                return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: __metadata__ appears twice",
                               label);
            meta = vd_json_at(h, i);
        } else {
            ntensors++;
        }
    }
    if (meta) {
        vd_status st = parse_metadata(f, meta, err);
        if (st != VD_OK) return st;
    }

    size_t data_size = size - 8 - (size_t)hlen;
    sort_item *items = NULL;
    vd_st_tensor *parsed = NULL;
    if (ntensors) {
        items = vd_calloc(NULL, ntensors, sizeof *items);
        parsed = vd_calloc(NULL, ntensors, sizeof *parsed);
        f->tensors = vd_calloc(NULL, ntensors, sizeof *f->tensors);
        f->by_name = vd_calloc(NULL, ntensors, sizeof *f->by_name);
        if (!items || !parsed || !f->tensors || !f->by_name) {
            vd_free(NULL, items);
            vd_free(NULL, parsed);
            return vd_fail(err, VD_ERR_NOMEM, "safetensors: %s: out of memory for %zu tensors",
                           label, ntensors);
        }
    }
    vd_status st = VD_OK;
    size_t k = 0;
    for (size_t i = 0; i < members && st == VD_OK; i++) {
        const char *name = vd_json_key_at(h, i);
        if (strcmp(name, "__metadata__") == 0) continue;
        st = parse_entry(label, name, vd_json_at(h, i), &parsed[k], &items[k].begin, &items[k].end,
                         err);
        items[k].name = name;
        items[k].index = k;
        k++;
    }
    if (st == VD_OK && ntensors) {
        /* Duplicate names: adjacent after sorting by name. */
        qsort(items, ntensors, sizeof *items, cmp_items_name);
        for (size_t i = 1; i < ntensors && st == VD_OK; i++)
            if (strcmp(items[i - 1].name, items[i].name) == 0)
                st = vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: tensor '%s' appears twice",
                             label, items[i].name);
    }
    if (st == VD_OK && ntensors) {
        qsort(items, ntensors, sizeof *items, cmp_items_offset);
        uint64_t pos = 0;
        for (size_t i = 0; i < ntensors && st == VD_OK; i++) {
            const sort_item *it = &items[i];
            if (it->begin > pos)
                st = vd_fail(err, VD_ERR_FORMAT,
                             "safetensors: %s: tensor '%s' starts at %llu, leaving a gap after "
                             "byte %llu",
                             label, it->name, (unsigned long long)it->begin,
                             (unsigned long long)pos);
            else if (it->begin < pos)
                st = vd_fail(err, VD_ERR_FORMAT,
                             "safetensors: %s: tensor '%s' starts at %llu, overlapping data that "
                             "ends at %llu",
                             label, it->name, (unsigned long long)it->begin,
                             (unsigned long long)pos);
            else if (it->end > data_size)
                st = vd_fail(err, VD_ERR_FORMAT,
                             "safetensors: %s: tensor '%s' ends at %llu but the file holds %zu "
                             "bytes of data (truncated?)",
                             label, it->name, (unsigned long long)it->end, data_size);
            pos = it->end;
        }
        if (st == VD_OK && pos != data_size)
            st = vd_fail(err, VD_ERR_FORMAT,
                         "safetensors: %s: tensor data ends at %llu but the file holds %zu bytes "
                         "of data (trailing bytes)",
                         label, (unsigned long long)pos, data_size);
    } else if (st == VD_OK && data_size != 0) {
        st = vd_fail(err, VD_ERR_FORMAT,
                     "safetensors: %s: no tensors but %zu bytes of data after the header", label,
                     data_size);
    }
    if (st == VD_OK) {
        const unsigned char *base = data + 8 + hlen;
        for (size_t i = 0; i < ntensors; i++) {
            f->tensors[i] = parsed[items[i].index];
            f->tensors[i].data = base + items[i].begin;
            items[i].index = i; /* now the position in file order */
        }
        if (ntensors) qsort(items, ntensors, sizeof *items, cmp_items_name);
        for (size_t i = 0; i < ntensors; i++) f->by_name[i] = items[i].index;
        f->count = ntensors;
    }
    vd_free(NULL, items);
    vd_free(NULL, parsed);
    return st;
}

static void set_label(vd_st_file *f, const char *label) {
    snprintf(f->label, sizeof f->label, "%s", label && *label ? label : "(memory)");
}

vd_status vd_st_open_memory(vd_st_file **out, const void *data, size_t size, const char *label,
                            vd_error *err) {
    *out = NULL;
    vd_st_file *f = vd_calloc(NULL, 1, sizeof *f);
    if (!f) return vd_fail(err, VD_ERR_NOMEM, "safetensors: out of memory");
    set_label(f, label);
    if (!data && size)
        size = 0; /* treated as empty */
    vd_status st = validate(f, data, size, err);
    if (st != VD_OK) {
        file_free(f);
        return st;
    }
    *out = f;
    return VD_OK;
}

vd_status vd_st_open(vd_st_file **out, const char *path, vd_error *err) {
    *out = NULL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return vd_fail(err, VD_ERR_IO, "safetensors: %s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fd, &sb) != 0) {
        int e = errno;
        close(fd);
        return vd_fail(err, VD_ERR_IO, "safetensors: %s: cannot stat: %s", path, strerror(e));
    }
    if (!S_ISREG(sb.st_mode)) {
        close(fd);
        return vd_fail(err, VD_ERR_IO, "safetensors: %s: not a regular file", path);
    }
    if ((uint64_t)sb.st_size > (uint64_t)SIZE_MAX) {
        close(fd);
        return vd_fail(err, VD_ERR_IO, "safetensors: %s: file too large to map", path);
    }
    size_t size = (size_t)sb.st_size;
    vd_st_file *f = vd_calloc(NULL, 1, sizeof *f);
    if (!f) {
        close(fd);
        return vd_fail(err, VD_ERR_NOMEM, "safetensors: out of memory");
    }
    set_label(f, path);
    if (size == 0) {
        close(fd);
        file_free(f);
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: file is empty", path);
    }
    void *map = mmap(NULL, size, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd); /* the mapping keeps the file alive */
    if (map == MAP_FAILED) {
        file_free(f);
        return vd_fail(err, VD_ERR_IO, "safetensors: %s: cannot map %zu bytes: %s", path, size,
                       strerror(e));
    }
    f->map = map;
    f->map_size = size;
    vd_status st = validate(f, map, size, err);
    if (st != VD_OK) {
        file_free(f);
        return st;
    }
    *out = f;
    return VD_OK;
}

size_t vd_st_count(const vd_st_file *f) { return f ? f->count : 0; }

const vd_st_tensor *vd_st_at(const vd_st_file *f, size_t i) {
    return f && i < f->count ? &f->tensors[i] : NULL;
}

const vd_st_tensor *vd_st_find(const vd_st_file *f, const char *name) {
    if (!f) return NULL;
    size_t lo = 0, hi = f->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        const vd_st_tensor *t = &f->tensors[f->by_name[mid]];
        int c = strcmp(name, t->name);
        if (c == 0) return t;
        if (c < 0) hi = mid;
        else lo = mid + 1;
    }
    return NULL;
}

const char *vd_st_metadata(const vd_st_file *f, const char *key) {
    if (!f) return NULL;
    for (size_t i = 0; i < f->meta_count; i++)
        if (strcmp(f->meta_keys[i], key) == 0) return f->meta_values[i];
    return NULL;
}

size_t vd_st_metadata_count(const vd_st_file *f) { return f ? f->meta_count : 0; }

void vd_st_metadata_at(const vd_st_file *f, size_t i, const char **key, const char **value) {
    int ok = f && i < f->meta_count;
    if (key) *key = ok ? f->meta_keys[i] : NULL;
    if (value) *value = ok ? f->meta_values[i] : NULL;
}

vd_status vd_st_read_f32(const vd_st_tensor *t, float *dst, size_t n, vd_error *err) {
    int64_t numel = vd_shape_numel(t->ndim, t->shape);
    if (numel < 0 || (uint64_t)numel != (uint64_t)n) {
        char buf[128];
        return vd_fail(err, VD_ERR_SHAPE,
                       "safetensors: tensor '%s' has shape %s (%lld elements), caller expects %zu",
                       t->name, vd_shape_str(t->ndim, t->shape, buf, sizeof buf),
                       (long long)numel, n);
    }
    if (n == 0) return VD_OK;
    if (!vd_convert_to_f32(dst, t->data, t->dtype, n))
        return vd_fail(err, VD_ERR_UNSUPPORTED,
                       "safetensors: tensor '%s': dtype %s cannot be read as floats", t->name,
                       vd_dtype_name(t->dtype));
    return VD_OK;
}

vd_status vd_st_load_f32(const vd_st_file *f, const char *name, float *dst, int ndim,
                         const int64_t *shape, vd_error *err) {
    const vd_st_tensor *t = vd_st_find(f, name);
    if (!t)
        return vd_fail(err, VD_ERR_FORMAT, "safetensors: %s: no tensor '%s'",
                       f ? f->label : "(null)", name);
    if (!vd_shape_equal(t->ndim, t->shape, ndim, shape)) {
        char have[128], want[128];
        return vd_fail(err, VD_ERR_SHAPE, "safetensors: %s: tensor '%s' has shape %s, expected %s",
                       f->label, name, vd_shape_str(t->ndim, t->shape, have, sizeof have),
                       vd_shape_str(ndim, shape, want, sizeof want));
    }
    size_t n = (size_t)vd_shape_numel(ndim, shape);
    if (n && !vd_convert_to_f32(dst, t->data, t->dtype, n))
        return vd_fail(err, VD_ERR_UNSUPPORTED,
                       "safetensors: %s: tensor '%s': dtype %s cannot be read as floats", f->label,
                       name, vd_dtype_name(t->dtype));
    return VD_OK;
}

/* ------------------------------------------------------------------ writer */

typedef struct writer_tensor {
    char *name;
    vd_dtype dtype;
    int ndim;
    int64_t shape[VD_MAX_DIMS];
    void *data;
    size_t nbytes;
} writer_tensor;

struct vd_st_writer {
    const vd_allocator *allocator;
    writer_tensor *tensors;
    size_t count, cap;
    char **meta; /* key, value, key, value, ... */
    size_t meta_count, meta_cap; /* in pairs */
};

static char *writer_strdup(const vd_allocator *a, const char *s) {
    size_t n = strlen(s) + 1;
    char *d = vd_alloc(a, n);
    if (d) memcpy(d, s, n);
    return d;
}

/* Returns arr grown to hold at least one more `elem`-byte item (arr itself
 * when it has room), or NULL with arr untouched. */
static void *grow(const vd_allocator *a, void *arr, size_t *cap, size_t count, size_t elem) {
    if (count < *cap) return arr;
    size_t ncap = *cap ? *cap * 2 : 16, bytes;
    if (!vd_size_mul(ncap, elem, &bytes)) return NULL;
    void *n = vd_alloc(a, bytes);
    if (!n) return NULL;
    if (count) memcpy(n, arr, count * elem);
    vd_free(a, arr);
    *cap = ncap;
    return n;
}

vd_st_writer *vd_st_writer_new(const vd_allocator *allocator) {
    vd_st_writer *w = vd_calloc(allocator, 1, sizeof *w);
    if (w) w->allocator = allocator;
    return w;
}

void vd_st_writer_free(vd_st_writer *w) {
    if (!w) return;
    for (size_t i = 0; i < w->count; i++) {
        vd_free(w->allocator, w->tensors[i].name);
        vd_free(w->allocator, w->tensors[i].data);
    }
    for (size_t i = 0; i < 2 * w->meta_count; i++) vd_free(w->allocator, w->meta[i]);
    vd_free(w->allocator, w->tensors);
    vd_free(w->allocator, w->meta);
    vd_free(w->allocator, w);
}

/* Validates a new tensor's name and shape; returns its byte size in *nbytes. */
static vd_status writer_check(const vd_st_writer *w, const char *name, vd_dtype dtype, int ndim,
                              const int64_t *shape, size_t *nbytes, vd_error *err) {
    if (!name) return vd_fail(err, VD_ERR_ARG, "safetensors writer: tensor name is NULL");
    if (strcmp(name, "__metadata__") == 0)
        return vd_fail(err, VD_ERR_ARG, "safetensors writer: '__metadata__' is reserved");
    if ((unsigned)dtype >= VD_DTYPE_COUNT)
        return vd_fail(err, VD_ERR_ARG, "safetensors writer: tensor '%s': invalid dtype %d", name,
                       (int)dtype);
    if (ndim < 0 || ndim > VD_MAX_DIMS || (ndim > 0 && !shape))
        return vd_fail(err, VD_ERR_ARG, "safetensors writer: tensor '%s': %d dimensions", name,
                       ndim);
    for (size_t i = 0; i < w->count; i++)
        if (strcmp(w->tensors[i].name, name) == 0)
            return vd_fail(err, VD_ERR_ARG, "safetensors writer: tensor '%s' added twice", name);
    int64_t numel = vd_shape_numel(ndim, shape);
    if (numel < 0 || !vd_size_mul((size_t)numel, vd_dtype_size(dtype), nbytes))
        return vd_fail(err, VD_ERR_ARG,
                       "safetensors writer: tensor '%s': shape negative or too large", name);
    return VD_OK;
}

/* Adds a tensor whose bytes the caller fills through *data_out. */
static vd_status writer_push(vd_st_writer *w, const char *name, vd_dtype dtype, int ndim,
                             const int64_t *shape, size_t nbytes, void **data_out,
                             vd_error *err) {
    writer_tensor *grown = grow(w->allocator, w->tensors, &w->cap, w->count, sizeof *grown);
    if (!grown) return vd_fail(err, VD_ERR_NOMEM, "safetensors writer: out of memory");
    w->tensors = grown;
    writer_tensor *t = &w->tensors[w->count];
    memset(t, 0, sizeof *t);
    t->name = writer_strdup(w->allocator, name);
    t->data = vd_alloc(w->allocator, nbytes ? nbytes : 1);
    if (!t->name || !t->data) {
        vd_free(w->allocator, t->name);
        vd_free(w->allocator, t->data);
        return vd_fail(err, VD_ERR_NOMEM,
                       "safetensors writer: tensor '%s': cannot allocate %zu bytes", name, nbytes);
    }
    t->dtype = dtype;
    t->ndim = ndim;
    for (int i = 0; i < ndim; i++) t->shape[i] = shape[i];
    t->nbytes = nbytes;
    w->count++;
    *data_out = t->data;
    return VD_OK;
}

vd_status vd_st_writer_add(vd_st_writer *w, const char *name, vd_dtype dtype, int ndim,
                           const int64_t *shape, const void *data, vd_error *err) {
    size_t nbytes;
    vd_status st = writer_check(w, name, dtype, ndim, shape, &nbytes, err);
    if (st != VD_OK) return st;
    if (nbytes && !data)
        return vd_fail(err, VD_ERR_ARG, "safetensors writer: tensor '%s': data is NULL", name);
    void *dst;
    st = writer_push(w, name, dtype, ndim, shape, nbytes, &dst, err);
    if (st == VD_OK && nbytes) memcpy(dst, data, nbytes);
    return st;
}

vd_status vd_st_writer_add_f32(vd_st_writer *w, const char *name, vd_dtype dtype, int ndim,
                               const int64_t *shape, const float *data, vd_error *err) {
    if (dtype != VD_F32 && dtype != VD_F16 && dtype != VD_BF16)
        return vd_fail(err, VD_ERR_ARG,
                       "safetensors writer: tensor '%s': floats can be stored as F32, F16 or "
                       "BF16, not %s",
                       name ? name : "(null)", vd_dtype_name(dtype) ? vd_dtype_name(dtype) : "?");
    size_t nbytes;
    vd_status st = writer_check(w, name, dtype, ndim, shape, &nbytes, err);
    if (st != VD_OK) return st;
    if (nbytes && !data)
        return vd_fail(err, VD_ERR_ARG, "safetensors writer: tensor '%s': data is NULL", name);
    void *dst;
    st = writer_push(w, name, dtype, ndim, shape, nbytes, &dst, err);
    if (st == VD_OK && nbytes) vd_convert_from_f32(dst, dtype, data, nbytes / vd_dtype_size(dtype));
    return st;
}

vd_status vd_st_writer_meta(vd_st_writer *w, const char *key, const char *value, vd_error *err) {
    if (!key || !value)
        return vd_fail(err, VD_ERR_ARG, "safetensors writer: metadata key or value is NULL");
    for (size_t i = 0; i < w->meta_count; i++)
        if (strcmp(w->meta[2 * i], key) == 0)
            return vd_fail(err, VD_ERR_ARG, "safetensors writer: metadata '%s' set twice", key);
    char **grown = grow(w->allocator, w->meta, &w->meta_cap, w->meta_count, 2 * sizeof *grown);
    if (!grown) return vd_fail(err, VD_ERR_NOMEM, "safetensors writer: out of memory");
    w->meta = grown;
    char *k = writer_strdup(w->allocator, key), *v = writer_strdup(w->allocator, value);
    if (!k || !v) {
        vd_free(w->allocator, k);
        vd_free(w->allocator, v);
        return vd_fail(err, VD_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->meta[2 * w->meta_count] = k;
    w->meta[2 * w->meta_count + 1] = v;
    w->meta_count++;
    return VD_OK;
}

/* The JSON header, padded with spaces to a multiple of 8 bytes so that the
 * data starts 8-aligned, as the reference writer does. */
static void build_header(const vd_st_writer *w, vd_strbuf *s) {
    vd_strbuf_puts(s, "{");
    int first = 1;
    if (w->meta_count) {
        vd_strbuf_puts(s, "\"__metadata__\":{");
        for (size_t i = 0; i < w->meta_count; i++) {
            if (i) vd_strbuf_puts(s, ",");
            vd_strbuf_json_string(s, w->meta[2 * i]);
            vd_strbuf_puts(s, ":");
            vd_strbuf_json_string(s, w->meta[2 * i + 1]);
        }
        vd_strbuf_puts(s, "}");
        first = 0;
    }
    size_t offset = 0;
    for (size_t i = 0; i < w->count; i++) {
        const writer_tensor *t = &w->tensors[i];
        if (!first) vd_strbuf_puts(s, ",");
        first = 0;
        vd_strbuf_json_string(s, t->name);
        vd_strbuf_printf(s, ":{\"dtype\":\"%s\",\"shape\":[", vd_dtype_name(t->dtype));
        for (int d = 0; d < t->ndim; d++)
            vd_strbuf_printf(s, d ? ",%lld" : "%lld", (long long)t->shape[d]);
        vd_strbuf_printf(s, "],\"data_offsets\":[%zu,%zu]}", offset, offset + t->nbytes);
        offset += t->nbytes;
    }
    vd_strbuf_puts(s, "}");
    while (s->len % 8) vd_strbuf_append(s, " ", 1);
}

static int write_all(int fd, const void *buf, size_t len) {
    const unsigned char *p = buf;
    while (len > 0) {
        size_t chunk = len > ((size_t)1 << 30) ? (size_t)1 << 30 : len;
        ssize_t n = write(fd, p, chunk);
        if (n < 0) {
            if (errno == EINTR) continue;
            return 0;
        }
        if (n == 0) {
            errno = EIO;
            return 0;
        }
        p += n;
        len -= (size_t)n;
    }
    return 1;
}

static vd_status fsync_dir(const char *path, vd_error *err) {
    const char *slash = strrchr(path, '/');
    char dir[4096];
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else if (slash == path) {
        snprintf(dir, sizeof dir, "/");
    } else {
        size_t n = (size_t)(slash - path);
        if (n >= sizeof dir)
            return vd_fail(err, VD_ERR_IO, "safetensors writer: %s: path too long", path);
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot open folder %s: %s", path,
                       dir, strerror(errno));
    /* Some file systems cannot sync a folder (EINVAL); the rename stands. */
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    if (rc != 0 && e != EINVAL && e != EROFS)
        return vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot sync folder %s: %s", path,
                       dir, strerror(e));
    return VD_OK;
}

vd_status vd_st_writer_save(vd_st_writer *w, const char *path, vd_error *err) {
    vd_strbuf header, tmp;
    vd_strbuf_init(&header);
    vd_strbuf_init(&tmp);
    build_header(w, &header);
    vd_strbuf_printf(&tmp, "%s.tmp.%ld", path, (long)getpid());
    if (header.failed || tmp.failed) {
        vd_strbuf_free(&header);
        vd_strbuf_free(&tmp);
        return vd_fail(err, VD_ERR_NOMEM, "safetensors writer: %s: out of memory", path);
    }
    const char *tmp_path = vd_strbuf_cstr(&tmp);
    vd_status st = VD_OK;
    int fd = open(tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0666);
    if (fd < 0) {
        st = vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot create %s: %s", path,
                     tmp_path, strerror(errno));
        goto done;
    }
    unsigned char len8[8];
    uint64_t hlen = header.len;
    for (int i = 0; i < 8; i++) len8[i] = (unsigned char)(hlen >> (8 * i));
    int ok = write_all(fd, len8, 8) && write_all(fd, header.data, header.len);
    for (size_t i = 0; ok && i < w->count; i++)
        if (w->tensors[i].nbytes) ok = write_all(fd, w->tensors[i].data, w->tensors[i].nbytes);
    if (!ok) {
        st = vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot write %s: %s", path, tmp_path,
                     strerror(errno));
        close(fd);
        unlink(tmp_path);
        goto done;
    }
    if (fsync(fd) != 0) {
        st = vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot sync %s: %s", path, tmp_path,
                     strerror(errno));
        close(fd);
        unlink(tmp_path);
        goto done;
    }
    if (close(fd) != 0) {
        st = vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot close %s: %s", path,
                     tmp_path, strerror(errno));
        unlink(tmp_path);
        goto done;
    }
    if (rename(tmp_path, path) != 0) {
        st = vd_fail(err, VD_ERR_IO, "safetensors writer: %s: cannot rename %s over it: %s", path,
                     tmp_path, strerror(errno));
        unlink(tmp_path);
        goto done;
    }
    st = fsync_dir(path, err);
done:
    vd_strbuf_free(&header);
    vd_strbuf_free(&tmp);
    return st;
}
