/* UTF-8 checks for the name rule (see utf8.h). */
#include "core/utf8.h"

size_t mw__utf8_len(const unsigned char *s, size_t n) {
  unsigned c = s[0];
  size_t len;
  unsigned min;
  if (c < 0x80) return 1;
  if ((c & 0xE0) == 0xC0) len = 2, min = 0x80;
  else if ((c & 0xF0) == 0xE0) len = 3, min = 0x800;
  else if ((c & 0xF8) == 0xF0) len = 4, min = 0x10000;
  else return 0;
  if (len > n) return 0;
  unsigned cp = c & (0x7F >> len);
  for (size_t i = 1; i < len; i++) {
    if ((s[i] & 0xC0) != 0x80) return 0;
    cp = cp << 6 | (s[i] & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
  return len;
}

enum mw_text_flaw mw__text_check(const char *str, size_t n, size_t *at) {
  const unsigned char *s = (const unsigned char *)str;
  for (size_t i = 0; i < n;) {
    if (s[i] == 0 || s[i] >= 0x80) {
      size_t k = s[i] ? mw__utf8_len(s + i, n - i) : 0;
      if (!k) {
        if (at) *at = i;
        return s[i] ? MW_TEXT_BAD_UTF8 : MW_TEXT_NUL;
      }
      i += k;
    } else {
      i++;
    }
  }
  if (at) *at = n;
  return MW_TEXT_OK;
}

const char *mw__text_flaw_name(enum mw_text_flaw f) {
  switch (f) {
  case MW_TEXT_OK: return "";
  case MW_TEXT_NUL: return "contains a NUL byte";
  case MW_TEXT_BAD_UTF8: return "is not valid UTF-8";
  }
  return "";
}
