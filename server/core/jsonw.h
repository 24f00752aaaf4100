/* A small streaming JSON writer into an mw_buf. Commas and nesting are tracked
 * for you; errors are sticky (check mw__jw_error() once at the end). Strings are
 * escaped per RFC 8259; invalid UTF-8 bytes become U+FFFD. */
#ifndef MW_CORE_JSONW_H
#define MW_CORE_JSONW_H
#include <stddef.h>
#include <stdint.h>
#include "core/buf.h"

/* Nesting the writer holds. An OTLP attribute value takes 4 levels per
 * kvlist it is nested in, so a trace with values MW_ATTR_DEPTH_MAX (64) deep
 * needs about 280 (decode/otlp_jsonout.c checks this). */
enum { MW_JW_MAX_DEPTH = 320 };

typedef struct mw_jsonw {
  mw_buf *out;
  int depth;
  int err;
  unsigned char first[MW_JW_MAX_DEPTH]; /* 1 while nothing was written at this level */
  unsigned char after_key;
} mw_jsonw;

void mw__jw_init(mw_jsonw *w, mw_buf *out);
int mw__jw_error(const mw_jsonw *w);

void mw__jw_obj(mw_jsonw *w);     /* { */
void mw__jw_obj_end(mw_jsonw *w); /* } */
void mw__jw_arr(mw_jsonw *w);     /* [ */
void mw__jw_arr_end(mw_jsonw *w); /* ] */
void mw__jw_key(mw_jsonw *w, const char *key);

void mw__jw_str(mw_jsonw *w, const char *s);
void mw__jw_strn(mw_jsonw *w, const char *s, size_t n);
void mw__jw_int(mw_jsonw *w, int64_t v);
void mw__jw_uint(mw_jsonw *w, uint64_t v);
void mw__jw_int_str(mw_jsonw *w, int64_t v); /* an int64 as a decimal string (OTLP JSON) */
void mw__jw_double(mw_jsonw *w, double v);   /* NaN/Inf become the OTLP strings */
void mw__jw_bool(mw_jsonw *w, int v);
void mw__jw_null(mw_jsonw *w);
void mw__jw_hex(mw_jsonw *w, const uint8_t *p, size_t n); /* lowercase hex string */
void mw__jw_base64(mw_jsonw *w, const uint8_t *p, size_t n);
/* A value that is already JSON (trusted: written by us and stored). */
void mw__jw_raw(mw_jsonw *w, const char *json);

/* key + value in one call */
void mw__jw_kstr(mw_jsonw *w, const char *key, const char *s);
void mw__jw_kint(mw_jsonw *w, const char *key, int64_t v);
void mw__jw_kdouble(mw_jsonw *w, const char *key, double v);
void mw__jw_kbool(mw_jsonw *w, const char *key, int v);

#endif
