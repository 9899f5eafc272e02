/* Byte-level BPE: training over distinct words, encoding by merge rank,
 * JSON serialisation. See tokenizer.h for the definitions. */
#include "models/tokenizer.h"

#include <string.h>

#include "core/alloc.h"
#include "core/error.h"
#include "core/json.h"
#include "core/strbuf.h"

struct vd_tokenizer {
    const vd_allocator *allocator;
    int n_merges;
    int32_t *merges;   /* (n_merges, 2) */
    /* Pair -> rank, open addressing over keys (left << 32 | right). */
    uint64_t *pair_keys;
    int32_t *pair_rank; /* -1 = empty slot */
    size_t pair_cap;
    /* Bytes of every id: pool[off[id] .. off[id] + len[id]). */
    uint32_t *off, *len;
    uint8_t *pool;
};

static uint64_t pair_key(int32_t a, int32_t b) {
    return ((uint64_t)(uint32_t)a << 32) | (uint32_t)b;
}

static size_t hash64(uint64_t k) {
    k ^= k >> 33;
    k *= 0xff51afd7ed558ccdULL;
    k ^= k >> 33;
    k *= 0xc4ceb9fe1a85ec53ULL;
    k ^= k >> 33;
    return (size_t)k;
}

static int is_space(unsigned char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

size_t vd_tokenizer_normalize(const char *text, char *buf, size_t size) {
    size_t n = 0;
    int pending_space = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        unsigned char c = *p;
        if (is_space(c)) {
            pending_space = n > 0;
            continue;
        }
        if (pending_space) {
            if (n + 1 < size) buf[n] = ' ';
            n++;
            pending_space = 0;
        }
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        if (n + 1 < size) buf[n] = (char)c;
        n++;
    }
    if (size) buf[n < size ? n : size - 1] = '\0';
    return n;
}

/* Rank of the merge joining (a, b), or -1. */
static int32_t find_rank(const vd_tokenizer *tok, int32_t a, int32_t b) {
    if (!tok->pair_cap) return -1;
    uint64_t key = pair_key(a, b);
    size_t mask = tok->pair_cap - 1;
    for (size_t i = hash64(key) & mask;; i = (i + 1) & mask) {
        if (tok->pair_rank[i] < 0) return -1;
        if (tok->pair_keys[i] == key) return tok->pair_rank[i];
    }
}

/* Builds the pair table and the byte strings of every id from the merges. */
static vd_status tok_build(vd_tokenizer *tok, vd_error *err) {
    const vd_allocator *al = tok->allocator;
    const int V = VD_TOK_FIRST_MERGE + tok->n_merges;
    size_t cap = 16;
    while (cap < (size_t)tok->n_merges * 2 + 2) cap *= 2;
    tok->pair_cap = cap;
    tok->pair_keys = vd_alloc(al, cap * sizeof *tok->pair_keys);
    tok->pair_rank = vd_alloc(al, cap * sizeof *tok->pair_rank);
    tok->off = vd_alloc(al, (size_t)V * sizeof *tok->off);
    tok->len = vd_alloc(al, (size_t)V * sizeof *tok->len);
    if (!tok->pair_keys || !tok->pair_rank || !tok->off || !tok->len)
        return vd_fail(err, VD_ERR_NOMEM, "tokenizer: out of memory for %d ids", V);
    for (size_t i = 0; i < cap; i++) tok->pair_rank[i] = -1;
    size_t total = 256;
    tok->off[0] = tok->off[1] = 0;
    tok->len[0] = tok->len[1] = 0;
    for (int i = 0; i < 256; i++) {
        tok->off[VD_TOK_BYTE0 + i] = (uint32_t)i;
        tok->len[VD_TOK_BYTE0 + i] = 1;
    }
    /* Lengths first (a merge only joins ids made before it), then bytes. */
    for (int m = 0; m < tok->n_merges; m++) {
        uint64_t n = (uint64_t)tok->len[tok->merges[2 * m]] + tok->len[tok->merges[2 * m + 1]];
        total += n;
        if (n > UINT32_MAX || total > UINT32_MAX)
            return vd_fail(err, VD_ERR_ARG, "tokenizer: token strings too long");
        tok->len[VD_TOK_FIRST_MERGE + m] = (uint32_t)n;
    }
    tok->pool = vd_alloc(al, total);
    if (!tok->pool) return vd_fail(err, VD_ERR_NOMEM, "tokenizer: out of memory");
    for (int i = 0; i < 256; i++) tok->pool[i] = (uint8_t)i;
    size_t at = 256;
    for (int m = 0; m < tok->n_merges; m++) {
        int32_t a = tok->merges[2 * m], b = tok->merges[2 * m + 1];
        int32_t id = VD_TOK_FIRST_MERGE + m;
        tok->off[id] = (uint32_t)at;
        memcpy(tok->pool + at, tok->pool + tok->off[a], tok->len[a]);
        memcpy(tok->pool + at + tok->len[a], tok->pool + tok->off[b], tok->len[b]);
        at += tok->len[id];
        uint64_t key = pair_key(a, b);
        size_t mask = cap - 1, i = hash64(key) & mask;
        while (tok->pair_rank[i] >= 0 && tok->pair_keys[i] != key) i = (i + 1) & mask;
        /* A duplicate merge can never fire (the first one wins); keep the
         * first rank. */
        if (tok->pair_rank[i] < 0) {
            tok->pair_keys[i] = key;
            tok->pair_rank[i] = m;
        }
    }
    return VD_OK;
}

void vd_tokenizer_free(vd_tokenizer *tok) {
    if (!tok) return;
    const vd_allocator *al = tok->allocator;
    vd_free(al, tok->merges);
    vd_free(al, tok->pair_keys);
    vd_free(al, tok->pair_rank);
    vd_free(al, tok->off);
    vd_free(al, tok->len);
    vd_free(al, tok->pool);
    vd_free(al, tok);
}

int vd_tokenizer_vocab_size(const vd_tokenizer *tok) {
    return VD_TOK_FIRST_MERGE + tok->n_merges;
}

int vd_tokenizer_merge_count(const vd_tokenizer *tok) { return tok->n_merges; }

/* Applies the merges to one word's symbols in place, lowest rank first (the
 * order training learned them); returns the new length. */
static int merge_word(const vd_tokenizer *tok, int32_t *sym, int n) {
    while (n > 1) {
        int32_t best = -1;
        int at = -1;
        for (int i = 0; i + 1 < n; i++) {
            int32_t r = find_rank(tok, sym[i], sym[i + 1]);
            if (r >= 0 && (best < 0 || r < best)) {
                best = r;
                at = i;
            }
        }
        if (best < 0) break;
        int32_t a = tok->merges[2 * best], b = tok->merges[2 * best + 1];
        int w = 0;
        for (int i = 0; i < n; i++) {
            if (i >= at && i + 1 < n && sym[i] == a && sym[i + 1] == b) {
                sym[w++] = VD_TOK_FIRST_MERGE + best;
                i++;
            } else {
                sym[w++] = sym[i];
            }
        }
        n = w;
    }
    return n;
}

int vd_tokenizer_encode(const vd_tokenizer *tok, const char *text, int32_t *ids,
                        int max_len, int *truncated) {
    enum { WORD_MAX = 256 };
    int32_t sym[WORD_MAX];
    int n_out = 0, cut = 0, pending_space = 0, n_sym = 0;
    const unsigned char *p = (const unsigned char *)text;
    if (truncated) *truncated = 0;
    if (max_len < 0) max_len = 0;
    /* Normalises on the fly: a word ends before the next space or when it
     * reaches WORD_MAX bytes (a very long word then splits, harmlessly). */
    for (;; p++) {
        unsigned char c = *p;
        int end = c == '\0';
        int space = !end && is_space(c);
        if (space) {
            pending_space = n_out > 0 || n_sym > 0;
            continue;
        }
        if (n_sym > 0 && (end || pending_space || n_sym == WORD_MAX)) {
            int m = merge_word(tok, sym, n_sym);
            for (int i = 0; i < m; i++) {
                if (n_out < max_len) ids[n_out++] = sym[i];
                else cut = 1;
            }
            n_sym = 0;
        }
        if (end) break;
        if (pending_space) {
            sym[n_sym++] = VD_TOK_BYTE0 + ' ';
            pending_space = 0;
        }
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        sym[n_sym++] = VD_TOK_BYTE0 + c;
        if (cut) break;
    }
    if (truncated) *truncated = cut;
    return n_out;
}

size_t vd_tokenizer_decode(const vd_tokenizer *tok, const int32_t *ids, int n, char *buf,
                           size_t size) {
    const int V = vd_tokenizer_vocab_size(tok);
    size_t at = 0;
    for (int i = 0; i < n; i++) {
        int32_t id = ids[i];
        if (id < VD_TOK_BYTE0 || id >= V) continue;
        for (uint32_t j = 0; j < tok->len[id]; j++, at++)
            if (at + 1 < size) buf[at] = (char)tok->pool[tok->off[id] + j];
    }
    if (size) buf[at < size ? at : size - 1] = '\0';
    return at;
}

/* ------------------------------------------------------------- training */

typedef struct tr_word {
    uint32_t off, len; /* symbols in tr.sym */
    uint32_t bytes_off, bytes_len;
    int64_t count;
} tr_word;

typedef struct tr_state {
    const vd_allocator *al;
    tr_word *words;
    size_t n_words, cap_words;
    int32_t *sym;
    size_t n_sym, cap_sym;
    uint8_t *bytes;
    size_t n_bytes, cap_bytes;
    int32_t *word_slot; /* word hash: index into words or -1 */
    size_t slot_cap;
    uint64_t *pk;       /* pair counting hash */
    int64_t *pc;
    size_t pcap;
} tr_state;

static int grow(const vd_allocator *al, void **p, size_t *cap, size_t need, size_t elem) {
    if (need <= *cap) return 1;
    size_t nc = *cap ? *cap : 64;
    while (nc < need) nc *= 2;
    void *np = vd_alloc(al, nc * elem);
    if (!np) return 0;
    if (*p) memcpy(np, *p, *cap * elem);
    vd_free(al, *p);
    *p = np;
    *cap = nc;
    return 1;
}

static size_t hash_bytes(const uint8_t *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++) h = (h ^ s[i]) * 1099511628211ULL;
    return hash64(h);
}

static int word_rehash(tr_state *s, size_t cap) {
    int32_t *slots = vd_alloc(s->al, cap * sizeof *slots);
    if (!slots) return 0;
    for (size_t i = 0; i < cap; i++) slots[i] = -1;
    for (size_t w = 0; w < s->n_words; w++) {
        const tr_word *wd = &s->words[w];
        size_t i = hash_bytes(s->bytes + wd->bytes_off, wd->bytes_len) & (cap - 1);
        while (slots[i] >= 0) i = (i + 1) & (cap - 1);
        slots[i] = (int32_t)w;
    }
    vd_free(s->al, s->word_slot);
    s->word_slot = slots;
    s->slot_cap = cap;
    return 1;
}

static int add_word(tr_state *s, const uint8_t *w, size_t n) {
    if (n == 0) return 1;
    if ((s->n_words + 1) * 2 > s->slot_cap && !word_rehash(s, s->slot_cap ? s->slot_cap * 2 : 1024))
        return 0;
    size_t mask = s->slot_cap - 1, i = hash_bytes(w, n) & mask;
    for (; s->word_slot[i] >= 0; i = (i + 1) & mask) {
        tr_word *wd = &s->words[s->word_slot[i]];
        if (wd->bytes_len == n && memcmp(s->bytes + wd->bytes_off, w, n) == 0) {
            wd->count++;
            return 1;
        }
    }
    if (s->n_words >= INT32_MAX || s->n_bytes + n > UINT32_MAX || s->n_sym + n > UINT32_MAX)
        return 0;
    if (!grow(s->al, (void **)&s->words, &s->cap_words, s->n_words + 1, sizeof *s->words) ||
        !grow(s->al, (void **)&s->bytes, &s->cap_bytes, s->n_bytes + n, 1) ||
        !grow(s->al, (void **)&s->sym, &s->cap_sym, s->n_sym + n, sizeof *s->sym))
        return 0;
    tr_word *wd = &s->words[s->n_words];
    wd->bytes_off = (uint32_t)s->n_bytes;
    wd->bytes_len = (uint32_t)n;
    wd->off = (uint32_t)s->n_sym;
    wd->len = (uint32_t)n;
    wd->count = 1;
    memcpy(s->bytes + s->n_bytes, w, n);
    for (size_t j = 0; j < n; j++) s->sym[s->n_sym + j] = VD_TOK_BYTE0 + w[j];
    s->n_bytes += n;
    s->n_sym += n;
    s->word_slot[i] = (int32_t)s->n_words++;
    return 1;
}

/* Splits one caption into words (normalising as encoding does). */
static int add_caption(tr_state *s, const char *text, uint8_t *word, size_t word_cap) {
    size_t n = 0;
    int pending_space = 0, started = 0;
    for (const unsigned char *p = (const unsigned char *)text;; p++) {
        unsigned char c = *p;
        int end = c == '\0';
        if (!end && is_space(c)) {
            pending_space = started;
            continue;
        }
        started = 1;
        if (n > 0 && (end || pending_space || n == word_cap)) {
            if (!add_word(s, word, n)) return 0;
            n = 0;
        }
        if (end) return 1;
        if (pending_space) {
            word[n++] = ' ';
            pending_space = 0;
        }
        if (c >= 'A' && c <= 'Z') c = (unsigned char)(c - 'A' + 'a');
        word[n++] = c;
    }
}

/* Counts pairs over every word; returns the most frequent (ties: smallest
 * key) in *best with its count, 0 when there is none. */
static int64_t count_pairs(tr_state *s, uint64_t *best) {
    size_t need = 64;
    while (need < s->n_sym * 2) need *= 2;
    if (need > s->pcap) {
        vd_free(s->al, s->pk);
        vd_free(s->al, s->pc);
        s->pk = vd_alloc(s->al, need * sizeof *s->pk);
        s->pc = vd_alloc(s->al, need * sizeof *s->pc);
        s->pcap = need;
        if (!s->pk || !s->pc) return -1;
    }
    size_t cap = s->pcap, mask = cap - 1;
    memset(s->pc, 0, cap * sizeof *s->pc);
    int64_t best_count = 0;
    uint64_t best_key = 0;
    for (size_t w = 0; w < s->n_words; w++) {
        const tr_word *wd = &s->words[w];
        const int32_t *sy = s->sym + wd->off;
        for (uint32_t j = 0; j + 1 < wd->len; j++) {
            uint64_t key = pair_key(sy[j], sy[j + 1]);
            size_t i = hash64(key) & mask;
            while (s->pc[i] != 0 && s->pk[i] != key) i = (i + 1) & mask;
            s->pk[i] = key;
            s->pc[i] += wd->count;
            int64_t c = s->pc[i];
            if (c > best_count || (c == best_count && key < best_key)) {
                best_count = c;
                best_key = key;
            }
        }
    }
    *best = best_key;
    return best_count;
}

static void tr_free(tr_state *s) {
    vd_free(s->al, s->words);
    vd_free(s->al, s->sym);
    vd_free(s->al, s->bytes);
    vd_free(s->al, s->word_slot);
    vd_free(s->al, s->pk);
    vd_free(s->al, s->pc);
}

vd_status vd_tokenizer_train(vd_tokenizer **out, const char *const *captions, size_t n,
                             int vocab_size, const vd_allocator *allocator,
                             vd_error *err) {
    if (!out) return vd_fail(err, VD_ERR_ARG, "tokenizer: train: out is NULL");
    *out = NULL;
    if (vocab_size < VD_TOK_FIRST_MERGE || vocab_size > 65536)
        return vd_fail(err, VD_ERR_ARG,
                       "tokenizer: train: vocab_size %d is outside [%d, 65536]",
                       vocab_size, VD_TOK_FIRST_MERGE);
    if (n && !captions) return vd_fail(err, VD_ERR_ARG, "tokenizer: train: captions is NULL");
    vd_tokenizer *tok = vd_calloc(allocator, 1, sizeof *tok);
    if (!tok) return vd_fail(err, VD_ERR_NOMEM, "tokenizer: out of memory");
    tok->allocator = allocator;
    int max_merges = vocab_size - VD_TOK_FIRST_MERGE;
    tok->merges = vd_alloc(allocator, (size_t)(max_merges ? max_merges : 1) * 2 * sizeof(int32_t));
    tr_state s = {.al = allocator};
    uint8_t word[256];
    vd_status st = VD_OK;
    if (!tok->merges) st = vd_fail(err, VD_ERR_NOMEM, "tokenizer: out of memory");
    for (size_t i = 0; st == VD_OK && i < n; i++) {
        if (!captions[i])
            st = vd_fail(err, VD_ERR_ARG, "tokenizer: train: caption %zu is NULL", i);
        else if (!add_caption(&s, captions[i], word, sizeof word))
            st = vd_fail(err, VD_ERR_NOMEM, "tokenizer: train: out of memory at caption %zu", i);
    }
    while (st == VD_OK && tok->n_merges < max_merges) {
        uint64_t key;
        int64_t c = count_pairs(&s, &key);
        if (c < 0) {
            st = vd_fail(err, VD_ERR_NOMEM, "tokenizer: train: out of memory counting pairs");
            break;
        }
        if (c < 2) break;
        int32_t a = (int32_t)(key >> 32), b = (int32_t)(key & 0xffffffffu);
        int32_t id = VD_TOK_FIRST_MERGE + tok->n_merges;
        tok->merges[2 * tok->n_merges] = a;
        tok->merges[2 * tok->n_merges + 1] = b;
        tok->n_merges++;
        for (size_t w = 0; w < s.n_words; w++) {
            tr_word *wd = &s.words[w];
            int32_t *sy = s.sym + wd->off;
            uint32_t k = 0;
            for (uint32_t j = 0; j < wd->len; j++) {
                if (j + 1 < wd->len && sy[j] == a && sy[j + 1] == b) {
                    sy[k++] = id;
                    j++;
                } else {
                    sy[k++] = sy[j];
                }
            }
            wd->len = k;
        }
    }
    tr_free(&s);
    if (st == VD_OK) st = tok_build(tok, err);
    if (st != VD_OK) {
        vd_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return VD_OK;
}

/* -------------------------------------------------------- serialisation */

vd_status vd_tokenizer_to_json(const vd_tokenizer *tok, vd_strbuf *s, vd_error *err) {
    vd_strbuf_printf(s, "{\"format\":\"vidit-bpe\",\"version\":1,\"vocab_size\":%d,\"merges\":[",
                     vd_tokenizer_vocab_size(tok));
    for (int m = 0; m < tok->n_merges; m++)
        vd_strbuf_printf(s, "%s[%d,%d]", m ? "," : "", (int)tok->merges[2 * m],
                         (int)tok->merges[2 * m + 1]);
    vd_strbuf_puts(s, "]}");
    if (s->failed) return vd_fail(err, VD_ERR_NOMEM, "tokenizer: out of memory writing JSON");
    return VD_OK;
}

vd_status vd_tokenizer_from_json(vd_tokenizer **out, const char *json, size_t len,
                                 const vd_allocator *allocator, vd_error *err) {
    if (!out) return vd_fail(err, VD_ERR_ARG, "tokenizer: from_json: out is NULL");
    *out = NULL;
    vd_json *root = vd_json_parse(json, len, "tokenizer", err);
    if (!root) return err ? err->code : VD_ERR_FORMAT;
    vd_status st = VD_OK;
    vd_tokenizer *tok = NULL;
    const char *fmt = NULL;
    int64_t version = 0, vocab = 0;
    const vd_json *merges = vd_json_get(root, "merges");
    if (vd_json_type_of(root) != VD_JSON_OBJECT) {
        st = vd_fail(err, VD_ERR_FORMAT, "tokenizer: JSON is not an object");
        goto done;
    }
    if ((st = vd_json_get_str(root, "format", "", &fmt, err)) != VD_OK ||
        (st = vd_json_get_int(root, "version", 0, &version, err)) != VD_OK ||
        (st = vd_json_get_int(root, "vocab_size", -1, &vocab, err)) != VD_OK)
        goto done;
    if (strcmp(fmt, "vidit-bpe") != 0 || version != 1) {
        st = vd_fail(err, VD_ERR_FORMAT, "tokenizer: format '%s' version %lld is not vidit-bpe 1",
                     fmt, (long long)version);
        goto done;
    }
    if (!merges || vd_json_type_of(merges) != VD_JSON_ARRAY || vd_json_len(merges) > 65536 - 258) {
        st = vd_fail(err, VD_ERR_FORMAT, "tokenizer: 'merges' is missing, not an array or too long");
        goto done;
    }
    size_t nm = vd_json_len(merges);
    if (vocab != (int64_t)(VD_TOK_FIRST_MERGE + nm)) {
        st = vd_fail(err, VD_ERR_FORMAT, "tokenizer: vocab_size %lld but %zu merges (want %zu)",
                     (long long)vocab, nm, VD_TOK_FIRST_MERGE + nm);
        goto done;
    }
    tok = vd_calloc(allocator, 1, sizeof *tok);
    if (tok) {
        tok->allocator = allocator;
        tok->merges = vd_alloc(allocator, (nm ? nm : 1) * 2 * sizeof(int32_t));
    }
    if (!tok || !tok->merges) {
        st = vd_fail(err, VD_ERR_NOMEM, "tokenizer: out of memory");
        goto done;
    }
    for (size_t m = 0; m < nm; m++) {
        const vd_json *pr = vd_json_at(merges, m);
        int64_t a, b;
        if (vd_json_type_of(pr) != VD_JSON_ARRAY || vd_json_len(pr) != 2 ||
            !vd_json_int(vd_json_at(pr, 0), &a) || !vd_json_int(vd_json_at(pr, 1), &b) ||
            a < VD_TOK_BYTE0 || b < VD_TOK_BYTE0 || a >= (int64_t)(VD_TOK_FIRST_MERGE + m) ||
            b >= (int64_t)(VD_TOK_FIRST_MERGE + m)) {
            st = vd_fail(err, VD_ERR_FORMAT,
                         "tokenizer: merge %zu is not a pair of ids defined before it", m);
            goto done;
        }
        tok->merges[2 * m] = (int32_t)a;
        tok->merges[2 * m + 1] = (int32_t)b;
        tok->n_merges = (int)m + 1;
    }
    st = tok_build(tok, err);
done:
    vd_json_free(root);
    if (st != VD_OK) {
        vd_tokenizer_free(tok);
        return st;
    }
    *out = tok;
    return VD_OK;
}
