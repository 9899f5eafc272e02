/* The byte-level BPE tokenizer: trained on toy-world captions, it must
 * round-trip any UTF-8 (and invalid bytes), truncate cleanly, give zero
 * tokens for the empty prompt, train deterministically and fast, survive
 * JSON serialisation, and compress the captions it learned from. */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/strbuf.h"
#include "models/tokenizer.h"
#include "test.h"
#include "world/world.h"

#ifndef VOCAB
#define VOCAB 1024
#endif

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* decode(encode(s)) must be normalize(s). */
static void check_round_trip(const vd_tokenizer *tok, const char *s, const char *what) {
    int32_t ids[1024];
    char norm[4096], back[4096];
    int trunc = 0;
    int n = vd_tokenizer_encode(tok, s, ids, 1024, &trunc);
    vd_tokenizer_normalize(s, norm, sizeof norm);
    vd_tokenizer_decode(tok, ids, n, back, sizeof back);
    CHECK(!trunc && strcmp(norm, back) == 0, "%s: round trip '%s' -> '%s'", what, norm, back);
    int ok = 1;
    for (int i = 0; i < n; i++) ok &= ids[i] >= VD_TOK_BYTE0 && ids[i] < vd_tokenizer_vocab_size(tok);
    CHECK(ok, "%s: ids in range", what);
}

static char *json_of(const vd_tokenizer *tok) {
    vd_strbuf s;
    vd_strbuf_init(&s);
    vd_error err = {0};
    CHECK(vd_tokenizer_to_json(tok, &s, &err) == VD_OK, "to_json: %s", err.message);
    char *out = strdup(vd_strbuf_cstr(&s));
    vd_strbuf_free(&s);
    return out;
}

int main(void) {
    const size_t n = vt_quick() ? 2000 : 20000;
    char **caps = calloc(n, sizeof *caps);
    char **rev = calloc(n, sizeof *rev);
    if (!caps || !rev) return 1;
    vd_world_params wp;
    vd_world_params_default(&wp);
    vd_error err = {0};
    double t0 = now_s();
    size_t bytes = 0;
    for (size_t i = 0; i < n; i++) {
        char buf[512];
        vd_scene scene;
        if (vd_world_generate(&wp, 1234, i, &scene, buf, sizeof buf, &err) != VD_OK) {
            CHECK(0, "world caption %zu: %s", i, err.message);
            buf[0] = '\0';
        }
        caps[i] = strdup(buf);
        bytes += strlen(buf);
    }
    for (size_t i = 0; i < n; i++) rev[i] = caps[n - 1 - i];
    double t_gen = now_s() - t0;

    vd_tokenizer *tok = NULL, *tok2 = NULL, *tok3 = NULL;
    t0 = now_s();
    vd_status st = vd_tokenizer_train(&tok, (const char *const *)caps, n, VOCAB, NULL, &err);
    double t_train = now_s() - t0;
    CHECK(st == VD_OK, "train: %s", err.message);
    if (!tok) return vt_result("test_tokenizer");
    printf("trained on %zu captions (%.2f s to generate) in %.3f s: %d merges, vocab %d\n", n,
           t_gen, t_train, vd_tokenizer_merge_count(tok), vd_tokenizer_vocab_size(tok));
    if (!vt_quick()) CHECK(t_train < 5.0, "training on %zu captions took %.2f s", n, t_train);
    CHECK(vd_tokenizer_vocab_size(tok) <= VOCAB, "vocab within the request");

    /* Compression and round trips over the corpus. */
    size_t total = 0;
    int longest = 0, round_ok = 1;
    for (size_t i = 0; i < n; i++) {
        int32_t ids[VD_TOKENIZER_MAX_LEN];
        char back[1024];
        int trunc = 0;
        int k = vd_tokenizer_encode(tok, caps[i], ids, VD_TOKENIZER_MAX_LEN, &trunc);
        vd_tokenizer_decode(tok, ids, k, back, sizeof back);
        total += (size_t)k;
        if (k > longest) longest = k;
        round_ok &= !trunc && strcmp(back, caps[i]) == 0;
    }
    double tpc = (double)total / (double)n, bpc = (double)bytes / (double)n;
    printf("world captions: %.1f bytes and %.2f tokens per caption (%.1f bytes/token), longest %d tokens\n",
           bpc, tpc, bpc / tpc, longest);
    printf("example: '%s'\n", caps[0]);
    CHECK(round_ok, "every world caption (already normalised) decodes to itself");
    CHECK(bpc / tpc > 4.0, "captions compress to more than 4 bytes per token (%.2f)", bpc / tpc);
    CHECK(longest <= 32, "world captions fit 32 tokens (longest %d)", longest);

    /* Arbitrary UTF-8, invalid bytes, case and whitespace. */
    check_round_trip(tok, "A RED circle moves LEFT", "case");
    check_round_trip(tok, "  a\tblue \n\n square   falls  ", "whitespace");
    check_round_trip(tok, "caf\xc3\xa9 na\xc3\xafve \xc3\x9c" "ber", "accents");
    check_round_trip(tok, "a \xf0\x9f\x9f\xa5 and \xf0\x9f\x94\xb5 \xe2\x80\x94 \xe6\x97\xa5\xe6\x9c\xac", "emoji and CJK");
    check_round_trip(tok, "bad \xff\xfe bytes \xc3 cut \xe2\x82", "invalid UTF-8");
    check_round_trip(tok, "zyxwvutsrq qqqqqqqqqqqqqq", "unseen word");
    char norm[256];
    vd_tokenizer_normalize("  A   RED\tCircle\n", norm, sizeof norm);
    CHECK(strcmp(norm, "a red circle") == 0, "normalize: '%s'", norm);

    /* The empty prompt is zero tokens. */
    int32_t ids[256], ids2[256];
    int trunc = 1;
    CHECK(vd_tokenizer_encode(tok, "", ids, 64, &trunc) == 0 && !trunc, "empty prompt");
    CHECK(vd_tokenizer_encode(tok, " \t\n ", ids, 64, NULL) == 0, "whitespace-only prompt");

    /* Truncation keeps a prefix of the full encoding. */
    vd_strbuf longp;
    vd_strbuf_init(&longp);
    for (int i = 0; i < 40; i++) vd_strbuf_puts(&longp, "a large red circle moves left ");
    int full = vd_tokenizer_encode(tok, vd_strbuf_cstr(&longp), ids, 256, &trunc);
    CHECK(full > VD_TOKENIZER_MAX_LEN && !trunc, "long prompt: %d tokens", full);
    int cut = vd_tokenizer_encode(tok, vd_strbuf_cstr(&longp), ids2, VD_TOKENIZER_MAX_LEN, &trunc);
    CHECK(cut == VD_TOKENIZER_MAX_LEN && trunc, "truncated to %d (flag %d)", cut, trunc);
    CHECK(memcmp(ids, ids2, sizeof(int32_t) * VD_TOKENIZER_MAX_LEN) == 0, "truncation keeps the prefix");
    CHECK(vd_tokenizer_encode(tok, "a red circle", ids, 0, &trunc) == 0 && trunc, "max_len 0");
    vd_strbuf_free(&longp);

    /* Determinism: the same corpus in another order gives the same merges. */
    char *j1 = json_of(tok);
    st = vd_tokenizer_train(&tok2, (const char *const *)rev, n, VOCAB, NULL, &err);
    CHECK(st == VD_OK, "train reversed: %s", err.message);
    char *j2 = tok2 ? json_of(tok2) : NULL;
    CHECK(j1 && j2 && strcmp(j1, j2) == 0, "training is deterministic and order-free");

    /* Serialisation round trip. */
    st = vd_tokenizer_from_json(&tok3, j1, strlen(j1), NULL, &err);
    CHECK(st == VD_OK, "from_json: %s", err.message);
    if (tok3) {
        char *j3 = json_of(tok3);
        CHECK(strcmp(j1, j3) == 0, "JSON round trip");
        free(j3);
        int same = 1;
        for (size_t i = 0; i < n && i < 500; i++) {
            int a = vd_tokenizer_encode(tok, caps[i], ids, 64, NULL);
            int b = vd_tokenizer_encode(tok3, caps[i], ids2, 64, NULL);
            same &= a == b && memcmp(ids, ids2, sizeof(int32_t) * (size_t)a) == 0;
        }
        CHECK(same, "a reloaded tokenizer encodes the same");
    }
    const char *bad[] = {
        "{\"format\":\"vidit-bpe\",\"version\":1,\"vocab_size\":259,\"merges\":[[2,258]]}",
        "{\"format\":\"other\",\"version\":1,\"vocab_size\":258,\"merges\":[]}",
        "{\"format\":\"vidit-bpe\",\"version\":1,\"vocab_size\":300,\"merges\":[]}",
        "{\"format\":\"vidit-bpe\",\"version\":1,\"vocab_size\":259,\"merges\":[[1,5]]}",
        "[1,2]",
        "{\"format\":\"vidit-bpe\",",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        vd_tokenizer *t = NULL;
        vd_error e = {0};
        st = vd_tokenizer_from_json(&t, bad[i], strlen(bad[i]), NULL, &e);
        CHECK(st != VD_OK && !t && e.message[0], "bad JSON %zu rejected (%s)", i, e.message);
        vd_tokenizer_free(t);
    }
    vd_tokenizer *t = NULL;
    CHECK(vd_tokenizer_train(&t, NULL, 0, 100, NULL, &err) == VD_ERR_ARG && !t, "vocab < 258");
    CHECK(vd_tokenizer_train(&t, NULL, 0, 300, NULL, &err) == VD_OK && t &&
              vd_tokenizer_merge_count(t) == 0, "empty corpus: bytes only");
    if (t) check_round_trip(t, "bytes only \xf0\x9f\x99\x82", "no merges");
    vd_tokenizer_free(t);

    free(j1), free(j2);
    vd_tokenizer_free(tok), vd_tokenizer_free(tok2), vd_tokenizer_free(tok3);
    for (size_t i = 0; i < n; i++) free(caps[i]);
    free(caps), free(rev);
    return vt_result("test_tokenizer");
}
