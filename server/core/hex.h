/* Lowercase hex for trace and span ids. */
#ifndef MW_CORE_HEX_H
#define MW_CORE_HEX_H
#include <stddef.h>
#include <stdint.h>

/* Writes 2*n lowercase hex digits and a NUL to out (size >= 2n+1). */
void mw__hex_encode(char *out, const uint8_t *in, size_t n);
/* Decodes exactly 2*n hex digits (either case) from s of length slen into out;
 * returns 0, or MW_EINVAL if slen != 2n or a digit is not hex. */
int mw__hex_decode(uint8_t *out, size_t n, const char *s, size_t slen);
/* True when all n bytes are zero. */
int mw__is_zero(const uint8_t *p, size_t n);

#endif
