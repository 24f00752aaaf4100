/* Streaming JSON writer (see jsonw.h). */
#include "core/jsonw.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/utf8.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void mw__jw_init(mw_jsonw *w, mw_buf *out) {
  memset(w, 0, sizeof *w);
  w->out = out;
  w->first[0] = 1;
}

int mw__jw_error(const mw_jsonw *w) { return w->err; }

static void put(mw_jsonw *w, const char *s, size_t n) {
  if (!w->err) w->err = mw__buf_add(w->out, s, n);
}

/* Called before every value: writes the separating comma when one is due. */
static void sep(mw_jsonw *w) {
  if (w->after_key) {
    w->after_key = 0;
    return;
  }
  if (!w->first[w->depth]) put(w, ",", 1);
  w->first[w->depth] = 0;
}

static void open(mw_jsonw *w, char c) {
  sep(w);
  put(w, &c, 1);
  if (w->depth + 1 >= MW_JW_MAX_DEPTH) {
    w->err = MW_ETOOBIG;
    return;
  }
  w->first[++w->depth] = 1;
}

static void close_(mw_jsonw *w, char c) {
  if (w->depth > 0) w->depth--;
  put(w, &c, 1);
}

void mw__jw_obj(mw_jsonw *w) { open(w, '{'); }
void mw__jw_obj_end(mw_jsonw *w) { close_(w, '}'); }
void mw__jw_arr(mw_jsonw *w) { open(w, '['); }
void mw__jw_arr_end(mw_jsonw *w) { close_(w, ']'); }

static void put_escaped(mw_jsonw *w, const char *str, size_t n) {
  const unsigned char *s = (const unsigned char *)str;
  put(w, "\"", 1);
  size_t run = 0; /* start of the pending run of bytes that need no escaping */
  for (size_t i = 0; i < n;) {
    unsigned char c = s[i];
    const char *esc = NULL;
    char ubuf[8];
    size_t skip = 1;
    if (c == '"') esc = "\\\"";
    else if (c == '\\') esc = "\\\\";
    else if (c == '\n') esc = "\\n";
    else if (c == '\r') esc = "\\r";
    else if (c == '\t') esc = "\\t";
    else if (c < 0x20 || c == 0x7F) {
      snprintf(ubuf, sizeof ubuf, "\\u%04x", c);
      esc = ubuf;
    } else if (c >= 0x80) {
      skip = mw__utf8_len(s + i, n - i);
      if (!skip) {
        esc = "\xEF\xBF\xBD"; /* U+FFFD */
        skip = 1;
      }
    }
    if (esc) {
      put(w, str + run, i - run);
      put(w, esc, strlen(esc));
      run = i + skip;
    }
    i += skip;
  }
  put(w, str + run, n - run);
  put(w, "\"", 1);
}

void mw__jw_key(mw_jsonw *w, const char *key) {
  sep(w);
  put_escaped(w, key, strlen(key));
  put(w, ":", 1);
  w->after_key = 1;
}

void mw__jw_strn(mw_jsonw *w, const char *s, size_t n) {
  sep(w);
  put_escaped(w, s ? s : "", s ? n : 0);
}

void mw__jw_str(mw_jsonw *w, const char *s) { mw__jw_strn(w, s, s ? strlen(s) : 0); }

void mw__jw_int(mw_jsonw *w, int64_t v) {
  char b[24];
  int n = snprintf(b, sizeof b, "%" PRId64, v);
  sep(w);
  put(w, b, (size_t)n);
}

void mw__jw_uint(mw_jsonw *w, uint64_t v) {
  char b[24];
  int n = snprintf(b, sizeof b, "%" PRIu64, v);
  sep(w);
  put(w, b, (size_t)n);
}

void mw__jw_int_str(mw_jsonw *w, int64_t v) {
  char b[26];
  int n = snprintf(b, sizeof b, "\"%" PRId64 "\"", v);
  sep(w);
  put(w, b, (size_t)n);
}

void mw__jw_double(mw_jsonw *w, double v) {
  if (isnan(v)) return mw__jw_str(w, "NaN");
  if (isinf(v)) return mw__jw_str(w, v > 0 ? "Infinity" : "-Infinity");
  /* the fewest significant digits that read back the same (17 always do) */
  char e[40], b[64];
  int digits = 1;
  for (; digits < 17; digits++) {
    snprintf(e, sizeof e, "%.*e", digits - 1, v);
    if (strtod(e, NULL) == v) break;
  }
  int n = snprintf(e, sizeof e, "%.*e", digits - 1, v);
  /* everyday magnitudes without an exponent: "150", not the "1.5e+02" %g
   * gives for a duration of 150 ms. Up to 15 integer digits only (JavaScript
   * goes to 21), as an integer token past int64 breaks many readers (jansson:
   * "too big integer"), and fractions down to 10^-6, as JavaScript does. */
  int exp10 = atoi(strchr(e, 'e') + 1);
  if (exp10 > -7 && exp10 < 15) {
    int decimals = digits - 1 - exp10;
    n = snprintf(b, sizeof b, "%.*f", decimals > 0 ? decimals : 0, v);
  } else {
    memcpy(b, e, (size_t)n + 1);
  }
  sep(w);
  put(w, b, (size_t)n);
}

void mw__jw_bool(mw_jsonw *w, int v) {
  sep(w);
  put(w, v ? "true" : "false", v ? 4 : 5);
}

void mw__jw_null(mw_jsonw *w) {
  sep(w);
  put(w, "null", 4);
}

void mw__jw_hex(mw_jsonw *w, const uint8_t *p, size_t n) {
  char small[2 * 32 + 1];
  sep(w);
  put(w, "\"", 1);
  for (size_t off = 0; off < n; off += 32) {
    size_t k = n - off < 32 ? n - off : 32;
    mw__hex_encode(small, p + off, k);
    put(w, small, 2 * k);
  }
  put(w, "\"", 1);
}

void mw__jw_base64(mw_jsonw *w, const uint8_t *p, size_t n) {
  static const char tbl[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  sep(w);
  put(w, "\"", 1);
  for (size_t i = 0; i < n; i += 3) {
    unsigned v = (unsigned)p[i] << 16 | (i + 1 < n ? (unsigned)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
    char q[4] = {tbl[v >> 18 & 63], tbl[v >> 12 & 63], i + 1 < n ? tbl[v >> 6 & 63] : '=',
                 i + 2 < n ? tbl[v & 63] : '='};
    put(w, q, 4);
  }
  put(w, "\"", 1);
}

void mw__jw_raw(mw_jsonw *w, const char *json) {
  sep(w);
  put(w, json, strlen(json));
}

void mw__jw_kstr(mw_jsonw *w, const char *key, const char *s) {
  mw__jw_key(w, key);
  mw__jw_str(w, s);
}

void mw__jw_kint(mw_jsonw *w, const char *key, int64_t v) {
  mw__jw_key(w, key);
  mw__jw_int(w, v);
}

void mw__jw_kdouble(mw_jsonw *w, const char *key, double v) {
  mw__jw_key(w, key);
  mw__jw_double(w, v);
}

void mw__jw_kbool(mw_jsonw *w, const char *key, int v) {
  mw__jw_key(w, key);
  mw__jw_bool(w, v);
}
