/* safetensors: writer/reader round trip, a file laid out byte by byte as
 * Python's safetensors writes it, one malformed file per validation rule
 * (in memory and on disk), and the atomic writer's failure behaviour. */
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/json.h"
#include "core/safetensors.h"
#include "test.h"

static char g_dir[128];

static void path_in_dir(char *out, size_t size, const char *name) {
    snprintf(out, size, "%s/%s", g_dir, name);
}

/* 8-byte little-endian length, the header text, then `dlen` data bytes. */
static unsigned char *make_file(const char *header, const void *data, size_t dlen, size_t *size) {
    size_t hlen = strlen(header);
    *size = 8 + hlen + dlen;
    unsigned char *b = malloc(*size + 1);
    if (!b) return NULL;
    for (int i = 0; i < 8; i++) b[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
    memcpy(b + 8, header, hlen);
    if (dlen) {
        if (data) memcpy(b + 8 + hlen, data, dlen);
        else memset(b + 8 + hlen, 0, dlen);
    }
    return b;
}

static int write_bytes(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    int ok = fwrite(b, 1, n, f) == n;
    return fclose(f) == 0 && ok;
}

static void expect_bad_mem(const char *what, const unsigned char *b, size_t size, vd_status code,
                           const char *needle) {
    vd_st_file *f = (vd_st_file *)1;
    vd_error err = {0};
    vd_status st = vd_st_open_memory(&f, b, size, "bad.st", &err);
    CHECK(st == code && err.code == code, "%s: status %d (want %d): %s", what, (int)st, (int)code,
          err.message);
    CHECK(f == NULL, "%s: handle not cleared", what);
    CHECK(strstr(err.message, "bad.st") != NULL, "%s: message does not name the file: %s", what,
          err.message);
    CHECK(strstr(err.message, needle) != NULL, "%s: message '%s' lacks '%s'", what, err.message,
          needle);
    vd_st_close(f);
}

/* A header with data of the right total size. */
static void bad_header(const char *what, const char *header, size_t dlen, vd_status code,
                       const char *needle) {
    size_t size;
    unsigned char *b = make_file(header, NULL, dlen, &size);
    expect_bad_mem(what, b, size, code, needle);
    free(b);
}

static void test_round_trip(void) {
    char path[256];
    path_in_dir(path, sizeof path, "rt.safetensors");
    vd_error err = {0};
    vd_st_writer *w = vd_st_writer_new(NULL);
    CHECK(w != NULL, "writer_new");
    if (!w) return;
    float a[6] = {1, -2, 3.5f, 1e-3f, -0.0f, 65504};
    float h[4] = {0.5f, -1.25f, 1024, 6.103515625e-05f}; /* exact in f16 */
    float bf[4] = {1, -3.0f, 0.15625f, 3.0e38f};
    bf[3] = vd_bf16_to_f32(vd_f32_to_bf16(bf[3])); /* make it exact in bf16 */
    int32_t ints[3] = {7, -8, 2147483647};
    int64_t sa[2] = {2, 3}, sh[1] = {4}, sb[2] = {2, 2}, si[1] = {3}, sz[2] = {0, 5};
    float scalar = 42;
    CHECK(vd_st_writer_add_f32(w, "a", VD_F32, 2, sa, a, &err) == VD_OK, "add a: %s", err.message);
    CHECK(vd_st_writer_add_f32(w, "layer.h", VD_F16, 1, sh, h, &err) == VD_OK, "add h");
    CHECK(vd_st_writer_add_f32(w, "b\"f\\16", VD_BF16, 2, sb, bf, &err) == VD_OK, "add bf");
    CHECK(vd_st_writer_add(w, "ints", VD_I32, 1, si, ints, &err) == VD_OK, "add ints");
    CHECK(vd_st_writer_add(w, "empty", VD_F32, 2, sz, NULL, &err) == VD_OK, "add empty: %s",
          err.message);
    CHECK(vd_st_writer_add_f32(w, "scalar", VD_F32, 0, NULL, &scalar, &err) == VD_OK, "add scalar");
    CHECK(vd_st_writer_meta(w, "format", "pt", &err) == VD_OK, "meta");
    CHECK(vd_st_writer_meta(w, "note", "caf\xC3\xA9 \"quoted\"\n", &err) == VD_OK, "meta 2");
    /* Misuse is refused. */
    CHECK(vd_st_writer_add_f32(w, "a", VD_F32, 2, sa, a, &err) == VD_ERR_ARG &&
              strstr(err.message, "'a'"),
          "duplicate name: %s", err.message);
    CHECK(vd_st_writer_add_f32(w, "x", VD_I32, 2, sa, a, &err) == VD_ERR_ARG, "add_f32 as I32");
    CHECK(vd_st_writer_add(w, "__metadata__", VD_F32, 2, sa, a, &err) == VD_ERR_ARG, "reserved");
    int64_t neg[1] = {-1};
    CHECK(vd_st_writer_add(w, "neg", VD_F32, 1, neg, a, &err) == VD_ERR_ARG, "negative shape");
    CHECK(vd_st_writer_meta(w, "format", "x", &err) == VD_ERR_ARG, "duplicate metadata key");
    CHECK(vd_st_writer_save(w, path, &err) == VD_OK, "save: %s", err.message);
    vd_st_writer_free(w);
    vd_st_writer_free(NULL);

    vd_st_file *f = NULL;
    CHECK(vd_st_open(&f, path, &err) == VD_OK, "open: %s", err.message);
    if (!f) return;
    CHECK(vd_st_count(f) == 6, "count %zu", vd_st_count(f));
    const char *order[] = {"a", "layer.h", "b\"f\\16", "ints", "empty", "scalar"};
    for (size_t i = 0; i < 6 && i < vd_st_count(f); i++)
        CHECK(strcmp(vd_st_at(f, i)->name, order[i]) == 0, "order %zu: %s", i, vd_st_at(f, i)->name);
    CHECK(vd_st_at(f, 6) == NULL, "at out of range");
    float got[6];
    int64_t want_shape[2] = {2, 3};
    CHECK(vd_st_load_f32(f, "a", got, 2, want_shape, &err) == VD_OK, "load a: %s", err.message);
    CHECK(memcmp(got, a, sizeof a) == 0, "F32 exact");
    const vd_st_tensor *t = vd_st_find(f, "layer.h");
    CHECK(t && t->dtype == VD_F16 && t->nbytes == 8 && t->ndim == 1 && t->shape[0] == 4, "f16 info");
    CHECK(t && vd_st_read_f32(t, got, 4, &err) == VD_OK && memcmp(got, h, sizeof h) == 0, "F16");
    t = vd_st_find(f, "b\"f\\16");
    CHECK(t && t->dtype == VD_BF16 && vd_st_read_f32(t, got, 4, &err) == VD_OK &&
              memcmp(got, bf, sizeof bf) == 0,
          "BF16 and an escaped name");
    t = vd_st_find(f, "ints");
    CHECK(t && t->dtype == VD_I32 && memcmp(t->data, ints, sizeof ints) == 0, "I32 raw");
    CHECK(t && vd_st_read_f32(t, got, 3, &err) == VD_OK && got[0] == 7 && got[1] == -8, "I32 f32");
    t = vd_st_find(f, "empty");
    CHECK(t && t->nbytes == 0 && t->ndim == 2 && t->shape[1] == 5, "empty tensor");
    CHECK(t && vd_st_read_f32(t, got, 0, &err) == VD_OK, "read empty");
    t = vd_st_find(f, "scalar");
    CHECK(t && t->ndim == 0 && vd_st_read_f32(t, got, 1, &err) == VD_OK && got[0] == 42, "scalar");
    CHECK(vd_st_find(f, "nope") == NULL, "find absent");
    CHECK(vd_st_metadata_count(f) == 2, "metadata count");
    CHECK(vd_st_metadata(f, "format") && strcmp(vd_st_metadata(f, "format"), "pt") == 0, "meta");
    CHECK(vd_st_metadata(f, "note") &&
              strcmp(vd_st_metadata(f, "note"), "caf\xC3\xA9 \"quoted\"\n") == 0,
          "escaped metadata");
    const char *k, *v;
    vd_st_metadata_at(f, 1, &k, &v);
    CHECK(k && strcmp(k, "note") == 0, "metadata order");
    vd_st_metadata_at(f, 2, &k, &v);
    CHECK(!k && !v, "metadata_at out of range");

    /* Errors from the typed readers. */
    t = vd_st_find(f, "a");
    CHECK(vd_st_read_f32(t, got, 5, &err) == VD_ERR_SHAPE && strstr(err.message, "'a'"),
          "wrong count: %s", err.message);
    int64_t wrong[2] = {3, 2};
    CHECK(vd_st_load_f32(f, "a", got, 2, wrong, &err) == VD_ERR_SHAPE &&
              strstr(err.message, "(2, 3)") && strstr(err.message, "(3, 2)"),
          "wrong shape: %s", err.message);
    CHECK(vd_st_load_f32(f, "zz", got, 2, wrong, &err) == VD_ERR_FORMAT &&
              strstr(err.message, "'zz'") && strstr(err.message, path),
          "missing tensor: %s", err.message);
    vd_st_close(f);
    vd_st_close(NULL);

    /* The file itself: header length at the front, header padded to 8. */
    char *buf = NULL;
    size_t len = 0;
    CHECK(vd_read_file(path, &buf, &len, &err) == VD_OK, "read back");
    if (buf) {
        uint64_t hlen = 0;
        for (int i = 7; i >= 0; i--) hlen = (hlen << 8) | (unsigned char)buf[i];
        CHECK(hlen % 8 == 0 && 8 + hlen + 24 + 8 + 8 + 12 + 4 == len, "layout: hlen %llu len %zu",
              (unsigned long long)hlen, len);
        CHECK(buf[8] == '{' && strncmp(buf + 8, "{\"__metadata__\":{\"format\":\"pt\"", 30) == 0,
              "metadata first");
        CHECK(buf[8 + hlen - 1] == ' ' || buf[8 + hlen - 1] == '}', "padding with spaces");
    }
    free(buf);
}

/* Bytes exactly as Python's safetensors (json.dumps with ", " separators,
 * space padding) lays out a file with two F32 tensors and metadata, and data
 * that starts at an offset that is not 8-aligned in a second variant. */
static void test_python_layout(void) {
    const char *hdr = "{\"__metadata__\": {\"format\": \"pt\"}, \"bias\": {\"dtype\": \"F32\", "
                      "\"shape\": [2], \"data_offsets\": [0, 8]}, \"weight\": {\"dtype\": \"F16\", "
                      "\"shape\": [1, 2], \"data_offsets\": [8, 12]}}";
    char padded[512];
    size_t n = strlen(hdr);
    memcpy(padded, hdr, n);
    while ((8 + n) % 8) padded[n++] = ' ';
    padded[n] = '\0';
    unsigned char data[12] = {0, 0, 0xC0, 0x3F, 0, 0, 0, 0xC0, /* 1.5f, -2.0f */
                              0x00, 0x3C, 0x00, 0xC4};         /* f16 1.0, -4.0 */
    size_t size;
    unsigned char *b = make_file(padded, data, sizeof data, &size);
    vd_error err = {0};
    vd_st_file *f = NULL;
    CHECK(vd_st_open_memory(&f, b, size, "py.st", &err) == VD_OK, "python layout: %s", err.message);
    float got[2];
    int64_t s1[1] = {2}, s2[2] = {1, 2};
    CHECK(f && vd_st_load_f32(f, "bias", got, 1, s1, &err) == VD_OK && got[0] == 1.5f &&
              got[1] == -2.0f,
          "bias values");
    CHECK(f && vd_st_load_f32(f, "weight", got, 2, s2, &err) == VD_OK && got[0] == 1.0f &&
              got[1] == -4.0f,
          "weight values");
    CHECK(f && strcmp(vd_st_metadata(f, "format"), "pt") == 0, "format metadata");
    vd_st_close(f);
    free(b);

    /* Unpadded header (odd length): data misaligned in memory. */
    b = make_file(hdr, data, sizeof data, &size);
    f = NULL;
    CHECK(vd_st_open_memory(&f, b, size, "odd.st", &err) == VD_OK, "unpadded: %s", err.message);
    CHECK(f && vd_st_load_f32(f, "weight", got, 2, s2, &err) == VD_OK && got[1] == -4.0f,
          "misaligned F16 read");
    CHECK(f && vd_st_load_f32(f, "bias", got, 1, s1, &err) == VD_OK && got[0] == 1.5f,
          "misaligned F32 read");
    vd_st_close(f);
    free(b);

    /* Other dtypes convert to float. */
    const char *h2 = "{\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[0,8]},"
                     "\"i8\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[8,9]},"
                     "\"u8\":{\"dtype\":\"U8\",\"shape\":[1],\"data_offsets\":[9,10]},"
                     "\"i16\":{\"dtype\":\"I16\",\"shape\":[1],\"data_offsets\":[10,12]},"
                     "\"i64\":{\"dtype\":\"I64\",\"shape\":[1],\"data_offsets\":[12,20]},"
                     "\"m\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[20,21]}}";
    unsigned char d2[21];
    double dv = -0.75;
    int16_t i16 = -300;
    int64_t i64 = 1000000;
    memcpy(d2, &dv, 8);
    d2[8] = 0xFE; /* -2 as I8, 254 as U8 */
    d2[9] = 0xFE;
    memcpy(d2 + 10, &i16, 2);
    memcpy(d2 + 12, &i64, 8);
    d2[20] = 1;
    b = make_file(h2, d2, sizeof d2, &size);
    f = NULL;
    CHECK(vd_st_open_memory(&f, b, size, "types.st", &err) == VD_OK, "dtypes: %s", err.message);
    if (f) {
        const char *names[] = {"d", "i8", "u8", "i16", "i64"};
        float want[] = {-0.75f, -2, 254, -300, 1e6f};
        for (int i = 0; i < 5; i++) {
            float v = 0;
            CHECK(vd_st_read_f32(vd_st_find(f, names[i]), &v, 1, &err) == VD_OK && v == want[i],
                  "%s -> %g", names[i], (double)v);
        }
        float v;
        CHECK(vd_st_read_f32(vd_st_find(f, "m"), &v, 1, &err) == VD_ERR_UNSUPPORTED &&
                  strstr(err.message, "BOOL"),
              "BOOL as float: %s", err.message);
    }
    vd_st_close(f);
    free(b);
}

static void test_rules_memory(void) {
    unsigned char small[8] = {0};
    expect_bad_mem("empty", small, 0, VD_ERR_FORMAT, "empty");
    expect_bad_mem("short", small, 5, VD_ERR_FORMAT, "too short");
    unsigned char huge[16] = {0, 0, 0, 0x10, 0, 0, 0, 0, '{', '}'}; /* 256 MB */
    expect_bad_mem("header > 100 MB", huge, 16, VD_ERR_FORMAT, "100 MB");
    unsigned char past[16] = {100, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    expect_bad_mem("header past end", past, 16, VD_ERR_FORMAT, "runs past the end");
    unsigned char top[16] = {0, 0, 0, 0, 0, 0, 0, 0x80, '{', '}'}; /* 2^63 */
    expect_bad_mem("header length 2^63", top, 16, VD_ERR_FORMAT, "exceeds");

    bad_header("zero-length header", "", 0, VD_ERR_FORMAT, "not a JSON object");
    bad_header("header array", "[]      ", 0, VD_ERR_FORMAT, "not a JSON object");
    bad_header("leading space", " {}     ", 0, VD_ERR_FORMAT, "not a JSON object");
    bad_header("invalid JSON", "{\"a\":}", 0, VD_ERR_FORMAT, "header:1:6:");
    bad_header("trailing garbage", "{} x", 0, VD_ERR_FORMAT, "unexpected data");
    bad_header("entry not object", "{\"a\":1}", 0, VD_ERR_FORMAT, "'a': entry is not an object");
    bad_header("missing dtype", "{\"a\":{\"shape\":[1],\"data_offsets\":[0,4]}}", 4, VD_ERR_FORMAT,
               "missing field 'dtype'");
    bad_header("missing shape", "{\"a\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4,
               VD_ERR_FORMAT, "missing field 'shape'");
    bad_header("missing offsets", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, VD_ERR_FORMAT,
               "missing field 'data_offsets'");
    bad_header("extra field",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}", 4,
               VD_ERR_FORMAT, "unexpected field 'x'");
    bad_header("repeated field",
               "{\"a\":{\"dtype\":\"F32\",\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               4, VD_ERR_FORMAT, "'dtype' repeated");
    bad_header("dtype not string", "{\"a\":{\"dtype\":4,\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               VD_ERR_FORMAT, "dtype is not a string");
    bad_header("unknown dtype", "{\"a\":{\"dtype\":\"F7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
               VD_ERR_FORMAT, "unknown dtype 'F7'");
    bad_header("fp8", "{\"a\":{\"dtype\":\"F8_E4M3\",\"shape\":[4],\"data_offsets\":[0,4]}}", 4,
               VD_ERR_UNSUPPORTED, "F8_E4M3 is not supported");
    bad_header("lowercase dtype", "{\"a\":{\"dtype\":\"f32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               4, VD_ERR_FORMAT, "unknown dtype");
    bad_header("shape not array", "{\"a\":{\"dtype\":\"F32\",\"shape\":1,\"data_offsets\":[0,4]}}", 4,
               VD_ERR_FORMAT, "shape is not an array");
    bad_header("negative dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4,
               VD_ERR_FORMAT, "shape[0] is not a non-negative integer");
    bad_header("fractional dim",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,2.5],\"data_offsets\":[0,4]}}", 4,
               VD_ERR_FORMAT, "shape[1]");
    bad_header("string dim", "{\"a\":{\"dtype\":\"F32\",\"shape\":[\"1\"],\"data_offsets\":[0,4]}}",
               4, VD_ERR_FORMAT, "shape[0]");
    bad_header("too many dims",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
               VD_ERR_UNSUPPORTED, "9 dimensions");
    bad_header("numel overflow",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[4611686018427387904,4],\"data_offsets\":[0,4]}}",
               4, VD_ERR_FORMAT, "too large");
    bad_header("bytes overflow",
               "{\"a\":{\"dtype\":\"F64\",\"shape\":[4611686018427387904],\"data_offsets\":[0,8]}}",
               8, VD_ERR_FORMAT, "too large");
    bad_header("offsets one", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 4,
               VD_ERR_FORMAT, "array of two integers");
    bad_header("offsets three", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4,4]}}",
               4, VD_ERR_FORMAT, "array of two integers");
    bad_header("offsets negative",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 4, VD_ERR_FORMAT,
               "non-negative");
    bad_header("offsets float", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4.5]}}",
               4, VD_ERR_FORMAT, "non-negative integers");
    bad_header("begin > end", "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[4,0]}}", 4,
               VD_ERR_FORMAT, "begin 4 is after end 0");
    bad_header("size mismatch", "{\"a\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", 8,
               VD_ERR_FORMAT, "span 8 bytes but F32 (3) needs 12");
    bad_header("not from 0", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8,
               VD_ERR_FORMAT, "'a' starts at 4, leaving a gap");
    bad_header("gap",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
               12, VD_ERR_FORMAT, "'b' starts at 8, leaving a gap after byte 4");
    bad_header("overlap",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}",
               12, VD_ERR_FORMAT, "'b' starts at 4, overlapping");
    bad_header("same range twice",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               4, VD_ERR_FORMAT, "overlapping");
    bad_header("truncated data", "{\"a\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}",
               12, VD_ERR_FORMAT, "'a' ends at 16 but the file holds 12 bytes");
    bad_header("trailing bytes", "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
               5, VD_ERR_FORMAT, "trailing bytes");
    bad_header("data without tensors", "{}      ", 8, VD_ERR_FORMAT, "no tensors but 8 bytes");
    bad_header("duplicate name",
               "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
               "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
               8, VD_ERR_FORMAT, "tensor 'a' appears twice");
    bad_header("metadata not object", "{\"__metadata__\":[\"a\"]}", 0, VD_ERR_FORMAT,
               "__metadata__ is not an object");
    bad_header("metadata null", "{\"__metadata__\":null}", 0, VD_ERR_FORMAT,
               "__metadata__ is not an object");
    bad_header("metadata value number", "{\"__metadata__\":{\"k\":1}}", 0, VD_ERR_FORMAT,
               "value of 'k' is not a string");
    bad_header("metadata twice", "{\"__metadata__\":{},\"__metadata__\":{}}", 0, VD_ERR_FORMAT,
               "__metadata__ appears twice");
    bad_header("metadata duplicate key", "{\"__metadata__\":{\"k\":\"1\",\"k\":\"2\"}}", 0,
               VD_ERR_FORMAT, "duplicate keys");

    /* Valid corner cases: no tensors, zero-size data, spaces after the
     * header, zero-size tensors sharing an offset, a NULL buffer. */
    const char *ok[] = {
        "{}",
        "{}      ",
        "{\"__metadata__\":{}}",
        "{\"a\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}\t\n \r",
        "{\"z\":{\"dtype\":\"U8\",\"shape\":[2,0],\"data_offsets\":[0,0]},"
        "\"y\":{\"dtype\":\"I64\",\"shape\":[0],\"data_offsets\":[0,0]},"
        "\"x\":{\"dtype\":\"BOOL\",\"shape\":[3],\"data_offsets\":[0,3]}}",
    };
    for (size_t i = 0; i < sizeof ok / sizeof *ok; i++) {
        size_t size;
        size_t dlen = i == 4 ? 3 : 0;
        unsigned char *b = make_file(ok[i], NULL, dlen, &size);
        vd_st_file *f = NULL;
        vd_error err = {0};
        CHECK(vd_st_open_memory(&f, b, size, "ok.st", &err) == VD_OK, "valid %zu: %s", i,
              err.message);
        if (f && i == 4) {
            /* Ties in offset are ordered by name. */
            CHECK(strcmp(vd_st_at(f, 0)->name, "y") == 0 && strcmp(vd_st_at(f, 1)->name, "z") == 0 &&
                      strcmp(vd_st_at(f, 2)->name, "x") == 0,
                  "file order");
        }
        vd_st_close(f);
        free(b);
    }
    vd_st_file *f = NULL;
    vd_error err = {0};
    CHECK(vd_st_open_memory(&f, NULL, 0, NULL, &err) == VD_ERR_FORMAT &&
              strstr(err.message, "empty"),
          "NULL buffer: %s", err.message);
}

static void test_rules_disk(void) {
    char path[256];
    vd_error err = {0};
    vd_st_file *f = NULL;
    path_in_dir(path, sizeof path, "missing.safetensors");
    CHECK(vd_st_open(&f, path, &err) == VD_ERR_IO && strstr(err.message, path) &&
              strstr(err.message, "cannot open"),
          "missing: %s", err.message);
    CHECK(vd_st_open(&f, g_dir, &err) == VD_ERR_IO && strstr(err.message, "not a regular file"),
          "folder: %s", err.message);

    path_in_dir(path, sizeof path, "empty.safetensors");
    write_bytes(path, "", 0);
    CHECK(vd_st_open(&f, path, &err) == VD_ERR_FORMAT && strstr(err.message, path) &&
              strstr(err.message, "empty"),
          "empty file: %s", err.message);

    path_in_dir(path, sizeof path, "short.safetensors");
    write_bytes(path, "\x10\0\0", 3);
    CHECK(vd_st_open(&f, path, &err) == VD_ERR_FORMAT && strstr(err.message, "too short"),
          "short file: %s", err.message);

    /* A valid file, then the same file cut short at several places. */
    const char *hdr = "{\"w\":{\"dtype\":\"F32\",\"shape\":[4],\"data_offsets\":[0,16]}}   ";
    size_t size;
    unsigned char *b = make_file(hdr, NULL, 16, &size);
    path_in_dir(path, sizeof path, "cut.safetensors");
    CHECK(write_bytes(path, b, size), "write %s", path);
    CHECK(vd_st_open(&f, path, &err) == VD_OK, "whole file: %s", err.message);
    vd_st_close(f);
    f = NULL;
    size_t cuts[] = {size - 1, size - 16, 8 + 20, 8};
    const char *why[] = {"ends at 16 but the file holds 15", "ends at 16 but the file holds 0",
                         "runs past the end", "runs past the end"};
    for (int i = 0; i < 4; i++) {
        CHECK(truncate(path, (off_t)cuts[i]) == 0, "truncate");
        CHECK(vd_st_open(&f, path, &err) == VD_ERR_FORMAT && strstr(err.message, why[i]) &&
                  strstr(err.message, "cut.safetensors"),
              "cut at %zu: %s", cuts[i], err.message);
        CHECK(f == NULL, "no handle");
    }
    /* Trailing bytes on disk. */
    unsigned char *b2 = realloc(b, size + 3);
    if (b2) {
        b = b2;
        memset(b + size, 7, 3);
        CHECK(write_bytes(path, b, size + 3), "write");
        CHECK(vd_st_open(&f, path, &err) == VD_ERR_FORMAT && strstr(err.message, "trailing"),
              "trailing on disk: %s", err.message);
    }
    free(b);
    /* A zero-size data section on disk maps fine. */
    b = make_file("{}      ", NULL, 0, &size);
    CHECK(write_bytes(path, b, size), "write");
    CHECK(vd_st_open(&f, path, &err) == VD_OK && vd_st_count(f) == 0, "header only: %s",
          err.message);
    vd_st_close(f);
    free(b);
}

static int count_temp_files(void) {
    DIR *d = opendir(g_dir);
    int n = 0;
    if (!d) return -1;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        struct stat sb;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (strstr(e->d_name, ".tmp.") && stat(p, &sb) == 0 && S_ISREG(sb.st_mode)) n++;
    }
    closedir(d);
    return n;
}

static float first_value(const char *path) {
    vd_st_file *f = NULL;
    vd_error err = {0};
    float v = -1;
    if (vd_st_open(&f, path, &err) != VD_OK) return -999;
    const vd_st_tensor *t = vd_st_at(f, 0);
    if (t && t->nbytes >= 4) memcpy(&v, t->data, 4);
    vd_st_close(f);
    return v;
}

static vd_status save_one(const char *path, float value, size_t n, vd_error *err) {
    float *x = calloc(n, sizeof *x);
    if (!x) return VD_ERR_NOMEM;
    x[0] = value;
    int64_t shape[1] = {(int64_t)n};
    vd_st_writer *w = vd_st_writer_new(NULL);
    vd_status st = vd_st_writer_add_f32(w, "x", VD_F32, 1, shape, x, err);
    if (st == VD_OK) st = vd_st_writer_save(w, path, err);
    vd_st_writer_free(w);
    free(x);
    return st;
}

static void test_atomic(void) {
    char path[256], tmp[300];
    vd_error err = {0};
    path_in_dir(path, sizeof path, "ckpt.safetensors");
    CHECK(save_one(path, 1.0f, 4, &err) == VD_OK, "first save: %s", err.message);
    CHECK(save_one(path, 2.0f, 4, &err) == VD_OK, "save over: %s", err.message);
    CHECK(first_value(path) == 2.0f, "replaced");

    /* The temporary name is taken by a folder: creation fails. */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    CHECK(mkdir(tmp, 0755) == 0, "mkdir %s", tmp);
    CHECK(save_one(path, 3.0f, 4, &err) == VD_ERR_IO && strstr(err.message, path),
          "blocked temp: %s", err.message);
    rmdir(tmp);
    CHECK(first_value(path) == 2.0f, "old file intact after a failed create");

    /* Writing fails part way (file size limit): temp removed. */
    struct rlimit old;
    if (getrlimit(RLIMIT_FSIZE, &old) == 0) {
        struct rlimit lim = old;
        lim.rlim_cur = 4096;
        void (*prev)(int) = signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &lim) == 0) {
            vd_status st = save_one(path, 4.0f, 100000, &err);
            setrlimit(RLIMIT_FSIZE, &old);
            CHECK(st == VD_ERR_IO && strstr(err.message, "cannot write"), "write failure: %s",
                  err.message);
        }
        signal(SIGXFSZ, prev);
        CHECK(first_value(path) == 2.0f, "old file intact after a failed write");
    }

    /* Missing folder; the target is a folder (rename fails). */
    char missing[300];
    snprintf(missing, sizeof missing, "%s/nope/x.safetensors", g_dir);
    CHECK(save_one(missing, 1.0f, 4, &err) == VD_ERR_IO && strstr(err.message, "nope"),
          "missing folder: %s", err.message);
    char sub[300];
    snprintf(sub, sizeof sub, "%s/adir", g_dir);
    mkdir(sub, 0755);
    CHECK(save_one(sub, 1.0f, 4, &err) == VD_ERR_IO && strstr(err.message, "rename"),
          "target is a folder: %s", err.message);
    rmdir(sub);
    CHECK(count_temp_files() == 0, "no temporary file left behind (%d)", count_temp_files());
    CHECK(first_value(path) == 2.0f, "old file still intact");
}

static void cleanup_dir(void) {
    DIR *d = opendir(g_dir);
    if (!d) return;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        char p[512];
        snprintf(p, sizeof p, "%s/%s", g_dir, e->d_name);
        if (remove(p) != 0) fprintf(stderr, "cleanup: %s: %s\n", p, strerror(errno));
    }
    closedir(d);
    rmdir(g_dir);
}

int main(void) {
    snprintf(g_dir, sizeof g_dir, "/tmp/vidit_test_st_XXXXXX");
    if (!mkdtemp(g_dir)) {
        fprintf(stderr, "mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    test_round_trip();
    test_python_layout();
    test_rules_memory();
    test_rules_disk();
    test_atomic();
    cleanup_dir();
    return vt_result("test_safetensors");
}
