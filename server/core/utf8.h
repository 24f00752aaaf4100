/* The name rule (docs/API.md): text that becomes a name, a key or a value is
 * kept byte for byte, so it must be something every later step keeps exactly:
 * UTF-8 (as OTLP and JSON require) without NUL bytes (C strings and query
 * parameters would cut it there). */
#ifndef MW_CORE_UTF8_H
#define MW_CORE_UTF8_H
#include <stddef.h>

enum mw_text_flaw {
  MW_TEXT_OK = 0,
  MW_TEXT_NUL,      /* a NUL byte */
  MW_TEXT_BAD_UTF8, /* not UTF-8: a stray, overlong or truncated sequence, a surrogate, past U+10FFFF */
};

/* Length of the valid UTF-8 sequence starting at s (n >= 1 bytes available),
 * or 0 when it is not one. A NUL byte is a valid sequence of length 1. */
size_t mw__utf8_len(const unsigned char *s, size_t n);

/* Checks n bytes at s against the name rule; *at (may be NULL) gets the
 * offset of the first offending byte. */
enum mw_text_flaw mw__text_check(const char *s, size_t n, size_t *at);

/* "contains a NUL byte" / "is not valid UTF-8", for messages; "" for MW_TEXT_OK. */
const char *mw__text_flaw_name(enum mw_text_flaw f);

#endif
