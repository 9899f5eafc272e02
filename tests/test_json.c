/* JSON parser and writer: valid documents, every class of invalid input
 * (with line and column), nesting limits, unicode, and strbuf output read
 * back by the parser. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/json.h"
#include "core/strbuf.h"
#include "test.h"

static vd_json *parse(const char *text) {
    vd_error err = {0};
    vd_json *j = vd_json_parse(text, strlen(text), "t.json", &err);
    CHECK(j != NULL, "parse failed: %s (input %.60s)", err.message, text);
    return j;
}

/* Expects text to fail with VD_ERR_FORMAT and a message containing `where`
 * ("line:col") and `what`. */
static void reject(const char *text, size_t len, const char *where, const char *what) {
    vd_error err = {0};
    vd_json *j = vd_json_parse(text, len, "t.json", &err);
    CHECK(j == NULL, "accepted invalid input %.60s", text);
    vd_json_free(j);
    CHECK(err.code == VD_ERR_FORMAT, "code %d for %.60s", (int)err.code, text);
    char want[64];
    snprintf(want, sizeof want, "t.json:%s: ", where);
    CHECK(strstr(err.message, want) != NULL, "message '%s' lacks position '%s'", err.message, want);
    CHECK(strstr(err.message, what) != NULL, "message '%s' lacks '%s'", err.message, what);
}

static void rejects(const char *text, const char *where, const char *what) {
    reject(text, strlen(text), where, what);
}

static void test_values(void) {
    vd_json *j = parse(" {\"a\": 1, \"b\": [true, false, null, -2.5e3, \"x\"], \"c\": {}, \"d\": [],"
                       " \"a\": 7, \"big\": 9007199254740993, \"neg\": -9223372036854775808,"
                       " \"f\": 1.0, \"e\": 1E2, \"z\": -0}\r\n\t");
    if (!j) return;
    CHECK(vd_json_type_of(j) == VD_JSON_OBJECT, "root type");
    CHECK(vd_json_len(j) == 10, "members %zu", vd_json_len(j));
    CHECK(strcmp(vd_json_key_at(j, 1), "b") == 0, "key order");
    CHECK(vd_json_num(vd_json_get(j, "a"), 0) == 1.0, "first duplicate wins");
    CHECK(vd_json_has_duplicate_keys(j), "duplicate 'a' detected");
    const vd_json *b = vd_json_get(j, "b");
    CHECK(vd_json_len(b) == 5, "array len");
    CHECK(vd_json_type_of(vd_json_at(b, 0)) == VD_JSON_TRUE, "true");
    CHECK(vd_json_bool(vd_json_at(b, 1), 1) == 0, "false");
    CHECK(vd_json_type_of(vd_json_at(b, 2)) == VD_JSON_NULL, "null");
    CHECK(vd_json_num(vd_json_at(b, 3), 0) == -2500.0, "number");
    CHECK(vd_json_at(b, 5) == NULL, "out of range index");
    size_t len = 0;
    CHECK(strcmp(vd_json_str(vd_json_at(b, 4), &len), "x") == 0 && len == 1, "string");
    CHECK(vd_json_len(vd_json_get(j, "c")) == 0 && vd_json_len(vd_json_get(j, "d")) == 0, "empty");
    int64_t v = 0;
    CHECK(vd_json_int(vd_json_get(j, "big"), &v) && v == 9007199254740993LL,
          "integers beyond 2^53 stay exact: %lld", (long long)v);
    CHECK(vd_json_int(vd_json_get(j, "neg"), &v) && v == INT64_MIN, "int64 min");
    CHECK(vd_json_int(vd_json_get(j, "f"), &v) && v == 1, "1.0 is an integer");
    CHECK(vd_json_int(vd_json_get(j, "e"), &v) && v == 100, "1E2 is an integer");
    CHECK(vd_json_int(vd_json_get(j, "z"), &v) && v == 0, "-0");
    CHECK(!vd_json_int(vd_json_at(b, 0), &v), "true is not an int");
    CHECK(vd_json_get(j, "missing") == NULL, "absent key");
    CHECK(vd_json_key_at(b, 0) == NULL, "arrays have no keys");

    vd_error err = {0};
    double d;
    int64_t i64;
    const char *s;
    int bl;
    CHECK(vd_json_get_num(j, "a", 5, &d, &err) == VD_OK && d == 1, "get_num");
    CHECK(vd_json_get_num(j, "nope", 5, &d, &err) == VD_OK && d == 5, "get_num fallback");
    CHECK(vd_json_get_num(j, "b", 5, &d, &err) == VD_ERR_FORMAT && strstr(err.message, "'b'"),
          "get_num wrong type: %s", err.message);
    CHECK(vd_json_get_int(j, "e", 0, &i64, &err) == VD_OK && i64 == 100, "get_int");
    CHECK(vd_json_get_str(j, "nope", "dflt", &s, &err) == VD_OK && strcmp(s, "dflt") == 0,
          "get_str fallback");
    CHECK(vd_json_get_str(j, "a", NULL, &s, &err) == VD_ERR_FORMAT, "get_str wrong type");
    CHECK(vd_json_get_bool(j, "nope", 1, &bl, &err) == VD_OK && bl == 1, "get_bool fallback");
    CHECK(vd_json_get_bool(j, "a", 1, &bl, &err) == VD_ERR_FORMAT, "get_bool wrong type");
    vd_json_free(j);

    vd_json *k = parse("{\"i\": 2.5, \"t\": true}");
    if (k) {
        CHECK(vd_json_get_int(k, "i", 0, &i64, &err) == VD_ERR_FORMAT &&
                  strstr(err.message, "integer"),
              "2.5 is not an integer: %s", err.message);
        CHECK(vd_json_get_bool(k, "t", 0, &bl, &err) == VD_OK && bl == 1, "get_bool");
        CHECK(!vd_json_has_duplicate_keys(k), "no duplicates");
    }
    vd_json_free(k);

    /* Scalars are valid documents (RFC 8259). */
    const char *scalars[] = {"0", "-1", "\"s\"", "true", "null", " 1e-400 ", "[]"};
    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) vd_json_free(parse(scalars[i]));
    vd_json_free(NULL);
}

static void test_invalid(void) {
    rejects("", "1:1", "unexpected end of input");
    rejects("   ", "1:4", "unexpected end of input");
    rejects("{\"a\":1,}", "1:8", "trailing comma");
    rejects("[1,2,]", "1:6", "trailing comma");
    rejects("{\"a\":1\n \"b\":2}", "2:2", "expected ',' or '}'");
    rejects("[1 2]", "1:4", "expected ',' or ']'");
    rejects("{\"a\" 1}", "1:6", "expected ':'");
    rejects("{a:1}", "1:2", "expected a string key");
    rejects("// c\n{}", "1:1", "unexpected character");
    rejects("{} /* c */", "1:4", "unexpected data after");
    rejects("{}{}", "1:3", "unexpected data after");
    rejects("[01]", "1:2", "leading zero");
    rejects("[1.]", "1:4", "digit after '.'");
    rejects("[.5]", "1:2", "unexpected character");
    rejects("[1e]", "1:4", "exponent");
    rejects("[+1]", "1:2", "unexpected character");
    rejects("[-]", "1:2", "invalid number");
    rejects("[1e999]", "1:2", "out of range");
    rejects("[NaN]", "1:2", "unexpected character");
    rejects("[Infinity]", "1:2", "unexpected character");
    rejects("[tru]", "1:2", "invalid literal");
    rejects("[nul", "1:2", "invalid literal");
    rejects("\"abc", "1:1", "unterminated string");
    rejects("[\"a\tb\"]", "1:4", "control character");
    rejects("[\"a\nb\"]", "1:4", "control character");
    rejects("[\"\\x\"]", "1:3", "invalid escape");
    rejects("[\"\\u12G4\"]", "1:3", "four hex digits");
    rejects("[\"\\u0000\"]", "1:3", "\\u0000");
    rejects("[\"\\uD800\"]", "1:3", "high surrogate");
    rejects("[\"\\uD800\\u0041\"]", "1:3", "high surrogate");
    rejects("[\"\\uDC00\"]", "1:3", "low surrogate");
    rejects("{\"a\":\n  [1,\n   ?]}", "3:4", "unexpected character");
    /* Columns count characters, not bytes: the x after "é" is at column 6. */
    rejects("[\"\xC3\xA9\" x]", "1:6", "expected ',' or ']'");
    /* Invalid UTF-8: a lone continuation byte, an overlong '/', a UTF-16
     * surrogate encoded in UTF-8, a code point past U+10FFFF, a truncated
     * sequence, and a byte outside strings. */
    rejects("[\"\x80\"]", "1:3", "invalid UTF-8");
    rejects("[\"\xC0\xAF\"]", "1:3", "invalid UTF-8");
    rejects("[\"\xED\xA0\x80\"]", "1:3", "invalid UTF-8");
    rejects("[\"\xF4\x90\x80\x80\"]", "1:3", "invalid UTF-8");
    rejects("[\"\xE2\x82\"]", "1:3", "invalid UTF-8");
    rejects("\xEF\xBB\xBF{}", "1:1", "unexpected character");
    /* An embedded NUL byte in the input. */
    reject("[1,\0]", 5, "1:4", "unexpected character");
    /* The label defaults to "json". */
    vd_error err = {0};
    CHECK(vd_json_parse("[", 1, NULL, &err) == NULL && strncmp(err.message, "json:1:2:", 9) == 0,
          "default label: %s", err.message);
    CHECK(vd_json_parse("[", 1, NULL, NULL) == NULL, "NULL err is fine");
    CHECK(vd_json_parse(NULL, 0, "n", &err) == NULL && strstr(err.message, "n:1:1:"),
          "NULL text is an empty document: %s", err.message);
}

static void test_depth(void) {
    char buf[600];
    for (int depth = 127; depth <= 129; depth++) {
        size_t n = 0;
        for (int i = 0; i < depth; i++) buf[n++] = '[';
        for (int i = 0; i < depth; i++) buf[n++] = ']';
        vd_error err = {0};
        vd_json *j = vd_json_parse(buf, n, "deep", &err);
        if (depth <= 128) {
            CHECK(j != NULL, "depth %d rejected: %s", depth, err.message);
        } else {
            CHECK(j == NULL && strstr(err.message, "deep:1:129: nesting deeper than 128"),
                  "depth %d: %s", depth, err.message);
        }
        vd_json_free(j);
    }
    /* Deep nesting of objects, then a value: 128 levels allowed. */
    vd_strbuf s;
    vd_strbuf_init(&s);
    for (int i = 0; i < 128; i++) vd_strbuf_puts(&s, "{\"k\":");
    vd_strbuf_puts(&s, "1");
    for (int i = 0; i < 128; i++) vd_strbuf_puts(&s, "}");
    vd_json *j = parse(vd_strbuf_cstr(&s));
    const vd_json *v = j;
    for (int i = 0; v && i < 128; i++) v = vd_json_get(v, "k");
    CHECK(vd_json_num(v, 0) == 1, "value at depth 128");
    vd_json_free(j);
    vd_strbuf_free(&s);
    /* A long flat array exercises the value stack and pool growth. */
    vd_strbuf_init(&s);
    vd_strbuf_puts(&s, "[");
    for (int i = 0; i < 20000; i++) vd_strbuf_printf(&s, i ? ",{\"i\":%d}" : "{\"i\":%d}", i);
    vd_strbuf_puts(&s, "]");
    j = parse(vd_strbuf_cstr(&s));
    CHECK(vd_json_len(j) == 20000, "flat array len %zu", vd_json_len(j));
    CHECK(vd_json_num(vd_json_get(vd_json_at(j, 19999), "i"), 0) == 19999, "last element");
    vd_json_free(j);
    vd_strbuf_free(&s);
}

static void test_unicode(void) {
    vd_json *j = parse("[\"\\u00e9\\u20AC\\uD83D\\uDE00\\n\\t\\\"\\\\\\/\\b\\f\\r\", \"\xE6\x97\xA5\xF0\x9F\x98\x80\"]");
    if (!j) return;
    size_t len;
    const char *s = vd_json_str(vd_json_at(j, 0), &len);
    const char want[] = "\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80\n\t\"\\/\b\f\r";
    CHECK(len == sizeof want - 1 && memcmp(s, want, len) == 0, "escapes decode (len %zu)", len);
    s = vd_json_str(vd_json_at(j, 1), &len);
    CHECK(len == 7 && strcmp(s, "\xE6\x97\xA5\xF0\x9F\x98\x80") == 0, "raw UTF-8 kept");
    vd_json_free(j);
}

static void test_writer(void) {
    vd_strbuf s;
    vd_strbuf_init(&s);
    CHECK(strcmp(vd_strbuf_cstr(&s), "") == 0, "empty strbuf");
    vd_strbuf_json_string(&s, "a\"b\\c\n\x01\xC3\xA9\xFF\xED\xA0\x80z");
    const char *want = "\"a\\\"b\\\\c\\n\\u0001\xC3\xA9\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBDz\"";
    CHECK(strcmp(vd_strbuf_cstr(&s), want) == 0, "json string: %s", vd_strbuf_cstr(&s));
    vd_json *j = parse(vd_strbuf_cstr(&s));
    vd_json_free(j);

    vd_strbuf_clear(&s);
    double nums[] = {0.0, -0.0, 1.0, 0.1, 1.0 / 3.0, (double)0.1f, 1e300, -2.5e-310, 123456789.0,
                     5e-324};
    vd_strbuf_puts(&s, "[");
    for (size_t i = 0; i < sizeof nums / sizeof *nums; i++) {
        if (i) vd_strbuf_puts(&s, ",");
        vd_strbuf_json_number(&s, nums[i]);
    }
    vd_strbuf_puts(&s, ",");
    vd_strbuf_json_number(&s, NAN);
    vd_strbuf_puts(&s, ",");
    vd_strbuf_json_number(&s, -INFINITY);
    vd_strbuf_puts(&s, "]");
    CHECK(strncmp(vd_strbuf_cstr(&s), "[0,-0,1,0.1,0.3333333333333333,0.10000000149011612,1e+300,", 58) == 0,
          "shortest numbers: %s", vd_strbuf_cstr(&s));
    CHECK(strstr(vd_strbuf_cstr(&s), ",null,null]") != NULL, "NaN/inf become null: %s",
          vd_strbuf_cstr(&s));
    j = parse(vd_strbuf_cstr(&s));
    for (size_t i = 0; j && i < sizeof nums / sizeof *nums; i++)
        CHECK(vd_json_num(vd_json_at(j, i), 99) == nums[i], "number %zu round-trips", i);
    vd_json_free(j);

    /* printf beyond the small stack buffer, and a round trip of a document
     * built with the writer. */
    vd_strbuf_clear(&s);
    char big[1000];
    memset(big, 'q', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    vd_strbuf_printf(&s, "{\"k\":\"%s\",\"n\":%d}", big, 42);
    j = parse(vd_strbuf_cstr(&s));
    size_t len = 0;
    CHECK(j && vd_json_str(vd_json_get(j, "k"), &len) && len == 999, "long printf");
    CHECK(vd_json_num(vd_json_get(j, "n"), 0) == 42, "printf number");
    CHECK(!s.failed && s.len == strlen(s.data), "length consistent");
    vd_json_free(j);
    vd_strbuf_free(&s);
    vd_strbuf_free(&s); /* twice is harmless */
}

static void test_read_file(void) {
    char path[64];
    snprintf(path, sizeof path, "/tmp/vidit_test_json_%ld.json", (long)getpid());
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL, "create %s", path);
    if (!f) return;
    fputs("{\"x\": [1, 2]}", f);
    fclose(f);
    char *buf = NULL;
    size_t len = 0;
    vd_error err = {0};
    CHECK(vd_read_file(path, &buf, &len, &err) == VD_OK && len == 13 && buf[13] == '\0',
          "read_file: %s", err.message);
    free(buf);
    remove(path);
    CHECK(vd_read_file("no/such/file.json", &buf, &len, &err) == VD_ERR_IO &&
              strstr(err.message, "no/such/file.json"),
          "missing file: %s", err.message);
    CHECK(vd_read_file("tests", &buf, &len, &err) == VD_ERR_IO, "a folder: %s", err.message);
}

int main(void) {
    test_values();
    test_invalid();
    test_depth();
    test_unicode();
    test_writer();
    test_read_file();
    return vt_result("test_json");
}
