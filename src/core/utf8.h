/* UTF-8 validation shared by the JSON parser, the JSON writer and the
 * tokenizer. */
#ifndef VD_CORE_UTF8_H
#define VD_CORE_UTF8_H

#include <stddef.h>

/* Length (1..4) of the valid UTF-8 sequence at p, reading at most `avail`
 * bytes, or 0 when the bytes there are not one: truncated sequences,
 * overlong forms, surrogates and code points above U+10FFFF are invalid. */
size_t vd_utf8_len(const unsigned char *p, size_t avail);

#endif
