/* See json_walk.h. */
#include "decode/json_walk.h"

#include <stdio.h>
#include <string.h>

#include "core/error.h"

size_t mw__jpath_put(char *buf, size_t sz, size_t off, const mw_jpath *p) {
  if (!p) return off;
  off = mw__jpath_put(buf, sz, off, p->up);
  if (off >= sz) return off;
  int n = p->name ? snprintf(buf + off, sz - off, "%s%s", p->up ? "." : "", p->name)
                  : snprintf(buf + off, sz - off, "[%zu]", p->index);
  return n < 0 ? sz : off + (size_t)n;
}

/* A path too long to leave room for the message keeps its two ends. */
enum { PATH_SHOWN = 200, PATH_HEAD = 110, PATH_TAIL = 80 };

int mw__jpath_vfail(char *err, size_t errsz, const mw_jpath *at, const char *fmt, va_list ap) {
  if (!err || !errsz) return MW_EINVAL;
  char full[8192]; /* values nest at most MW_ATTR_DECODE_DEPTH deep: a path fits */
  size_t n = mw__jpath_put(full, sizeof full, 0, at);
  if (n >= sizeof full) n = sizeof full - 1;
  size_t off = n <= PATH_SHOWN ? (size_t)snprintf(err, errsz, "%s", full)
                               : (size_t)snprintf(err, errsz, "%.*s...%s", PATH_HEAD, full, full + n - PATH_TAIL);
  if (off >= errsz) off = errsz;
  if (off && off < errsz) off += (size_t)snprintf(err + off, errsz - off, ": ");
  if (off < errsz) vsnprintf(err + off, errsz - off, fmt, ap);
  return MW_EINVAL;
}

int mw__json_dec(const char *s, size_t n, uint64_t max, int *neg, uint64_t *out) {
  size_t i = 0;
  if (neg) {
    *neg = n > 0 && s[0] == '-';
    i = (size_t)*neg;
  }
  if (i == n) return -1;
  uint64_t x = 0;
  for (; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    unsigned digit = (unsigned)(s[i] - '0');
    if (x > (max - digit) / 10) return -1;
    x = x * 10 + digit;
  }
  *out = x;
  return 0;
}

static int b64_digit(unsigned char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+' || c == '-') return 62; /* '-' and '_': the URL-safe alphabet, */
  if (c == '/' || c == '_') return 63; /* which proto3 JSON parsers also take */
  return -1;
}

int mw__base64_decode(mw_arena *a, const char *str, size_t n, uint8_t **out, size_t *out_len, size_t *bad_at) {
  const unsigned char *s = (const unsigned char *)str;
  size_t pad = 0;
  *out = NULL;
  *out_len = 0;
  *bad_at = SIZE_MAX;
  while (n > 0 && s[n - 1] == '=' && pad < 2) n--, pad++;
  if (n % 4 == 1 || (pad && n % 4 + pad != 4)) return MW_EINVAL;
  size_t len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
  if (!len) return 0;
  uint8_t *b = mw__arena_alloc(a, len);
  if (!b) return MW_ENOMEM;
  uint32_t acc = 0;
  size_t o = 0;
  for (size_t i = 0; i < n; i++) {
    int x = b64_digit(s[i]);
    if (x < 0) {
      *bad_at = i;
      return MW_EINVAL;
    }
    acc = acc << 6 | (uint32_t)x;
    if (i % 4 == 3) {
      b[o++] = (uint8_t)(acc >> 16);
      b[o++] = (uint8_t)(acc >> 8);
      b[o++] = (uint8_t)acc;
      acc = 0;
    }
  }
  if (n % 4 == 2) b[o++] = (uint8_t)(acc >> 4);
  if (n % 4 == 3) {
    b[o++] = (uint8_t)(acc >> 10);
    b[o++] = (uint8_t)(acc >> 2);
  }
  *out = b;
  *out_len = len;
  return 0;
}
