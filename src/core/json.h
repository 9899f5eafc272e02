/* JSON: a strict parser (RFC 8259) into a read-only tree, for configs,
 * safetensors headers, captions.jsonl and ground-truth specs. Writing JSON
 * uses vd_strbuf (core/strbuf.h).
 *
 * The parser rejects trailing commas, comments, control characters inside
 * strings, invalid UTF-8, lone surrogates and nesting deeper than 128; it
 * reports the line and column of the first error. Duplicate object keys are
 * kept (vd_json_get returns the first); callers that must reject them use
 * vd_json_has_duplicate_keys. Numbers are doubles; vd_json_int checks that a
 * number is an exact integer. */
#ifndef VD_CORE_JSON_H
#define VD_CORE_JSON_H

#include <stddef.h>
#include <stdint.h>

#include "vidit.h"

typedef enum vd_json_type {
    VD_JSON_NULL = 0,
    VD_JSON_FALSE,
    VD_JSON_TRUE,
    VD_JSON_NUMBER,
    VD_JSON_STRING,
    VD_JSON_ARRAY,
    VD_JSON_OBJECT
} vd_json_type;

typedef struct vd_json vd_json;

/* Parses len bytes (no NUL needed). The whole tree is one allocation pool
 * freed by vd_json_free. `label` (a file name, may be NULL) prefixes errors:
 * "config.json:3:14: expected ',' or '}'". */
vd_json *vd_json_parse(const char *text, size_t len, const char *label, vd_error *err);
void vd_json_free(vd_json *root);

vd_json_type vd_json_type_of(const vd_json *v);
int vd_json_is_number(const vd_json *v);
/* Objects and arrays: number of members. 0 for other types. */
size_t vd_json_len(const vd_json *v);
/* Array element or object member value by index; NULL when out of range. */
const vd_json *vd_json_at(const vd_json *v, size_t i);
/* Object member key by index; NULL when v is not an object. */
const char *vd_json_key_at(const vd_json *v, size_t i);
/* First member named key; NULL when absent or v is not an object. */
const vd_json *vd_json_get(const vd_json *obj, const char *key);
int vd_json_has_duplicate_keys(const vd_json *obj);

/* Values. str returns NULL unless v is a string; the string is NUL
 * terminated (an embedded \u0000 is rejected by the parser), and its byte
 * length is in *len when len is not NULL. */
const char *vd_json_str(const vd_json *v, size_t *len);
double vd_json_num(const vd_json *v, double fallback);
/* 1 and *out when v is a number with an exact int64 value. */
int vd_json_int(const vd_json *v, int64_t *out);
int vd_json_bool(const vd_json *v, int fallback);

/* Convenience for configs: member `key` of obj as a number/int/string/bool,
 * or the fallback when absent; a present member of the wrong type is an
 * error (returns VD_ERR_FORMAT naming key). */
vd_status vd_json_get_num(const vd_json *obj, const char *key, double fallback,
                          double *out, vd_error *err);
vd_status vd_json_get_int(const vd_json *obj, const char *key, int64_t fallback,
                          int64_t *out, vd_error *err);
vd_status vd_json_get_str(const vd_json *obj, const char *key, const char *fallback,
                          const char **out, vd_error *err);
vd_status vd_json_get_bool(const vd_json *obj, const char *key, int fallback,
                           int *out, vd_error *err);

/* A table of optional config members read in one call: each entry names a
 * key and exactly one destination (a float or an int64); a missing key
 * leaves its destination as it is (the default). */
typedef struct vd_json_field {
    const char *key;
    float *f32;
    int64_t *i64;
} vd_json_field;
vd_status vd_json_get_fields(const vd_json *obj, const vd_json_field *fields, size_t n,
                             vd_error *err);

/* Reads a whole file (for JSON or anything else): malloc'd, NUL-terminated,
 * size in *len. Errors name the path. */
vd_status vd_read_file(const char *path, char **out, size_t *len, vd_error *err);

#endif
