/* A byte-level BPE tokenizer learned from a caption corpus.
 *
 * Ids: 0 is PAD (what fills a batch row past a prompt's end), 1 is SEP (a
 * reserved separator, never produced by encoding), ids 2..257 are the 256
 * byte values, and id 258 + i is the token made by merge i. Every byte has a
 * token, so any input encodes and no word is ever unknown; invalid UTF-8
 * simply stays bytes.
 *
 * Normalisation, applied before encoding (and by training): ASCII letters
 * are lowercased (other bytes are kept, so accents and emoji pass through
 * unchanged); every run of ASCII whitespace (space, tab, newline, CR, FF, VT)
 * becomes one space; leading and trailing whitespace is dropped. decode(
 * encode(s)) returns the normalised s when nothing was truncated.
 *
 * Words: the normalised text is cut before each space, so a word is an
 * optional leading space and the non-space bytes after it ("a red circle"
 * is "a", " red", " circle"); merges never cross words. Training counts
 * adjacent pairs over the distinct words weighted by frequency and merges
 * the most frequent pair, ties going to the smaller (left id, right id), so
 * a corpus always gives the same tokenizer. Training stops early when no
 * pair occurs twice.
 *
 * The empty prompt (or whitespace only) encodes to zero tokens: the
 * unconditional case of classifier-free guidance. Encoding truncates to the
 * caller's max_len (VD_TOKENIZER_MAX_LEN is the usual bound). */
#ifndef VD_MODELS_TOKENIZER_H
#define VD_MODELS_TOKENIZER_H

#include <stddef.h>
#include <stdint.h>

#include "vidit.h"

#define VD_TOKENIZER_MAX_LEN 64
#define VD_TOK_PAD 0
#define VD_TOK_SEP 1
#define VD_TOK_BYTE0 2     /* id of byte value 0 */
#define VD_TOK_FIRST_MERGE 258

typedef struct vd_tokenizer vd_tokenizer;
struct vd_strbuf;

/* Learns up to vocab_size - 258 merges from n captions. vocab_size must be
 * in [258, 65536]. */
vd_status vd_tokenizer_train(vd_tokenizer **out, const char *const *captions, size_t n,
                             int vocab_size, const vd_allocator *allocator,
                             vd_error *err);
void vd_tokenizer_free(vd_tokenizer *tok);

/* Ids in use: 258 + the number of merges (<= the vocab_size trained for). */
int vd_tokenizer_vocab_size(const vd_tokenizer *tok);
int vd_tokenizer_merge_count(const vd_tokenizer *tok);

/* Encodes text (NUL-terminated) into at most max_len ids; returns how many
 * were written. *truncated (may be NULL) is set when tokens were dropped. */
int vd_tokenizer_encode(const vd_tokenizer *tok, const char *text, int32_t *ids,
                        int max_len, int *truncated);

/* Writes the bytes of ids (PAD and SEP and ids out of range are skipped) to
 * buf, NUL-terminated, truncated to size - 1; returns the full length that
 * the bytes need (as snprintf does). */
size_t vd_tokenizer_decode(const vd_tokenizer *tok, const int32_t *ids, int n,
                           char *buf, size_t size);

/* The normalisation encoding applies, into buf (truncated to size - 1);
 * returns the full length. */
size_t vd_tokenizer_normalize(const char *text, char *buf, size_t size);

/* Appends the tokenizer to s as one JSON object (for a model file's
 * safetensors metadata):
 * {"format":"vidit-bpe","version":1,"vocab_size":V,"merges":[[a,b],...]}
 * where merge i joins ids a and b into id 258 + i. */
vd_status vd_tokenizer_to_json(const vd_tokenizer *tok, struct vd_strbuf *s,
                               vd_error *err);
/* Reads that object back; every merge must join ids that exist before it. */
vd_status vd_tokenizer_from_json(vd_tokenizer **out, const char *json, size_t len,
                                 const vd_allocator *allocator, vd_error *err);

#endif
