/* What the OTLP/JSON decoders (traces: otlp_json.c, profiles:
 * otlp_profiles_json.c) share: the path from the root that names a bad member
 * in an error, proto3 JSON's decimal integers and base64 bytes. */
#ifndef MW_DECODE_JSON_WALK_H
#define MW_DECODE_JSON_WALK_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* One step from the root to the value being decoded. The chain lives on the C
 * stack so that an error can name the member (resourceSpans[0].spans[3].traceId)
 * without costing anything on the success path. */
typedef struct mw_jpath {
  const struct mw_jpath *up;
  const char *name; /* member name, or NULL for an array element */
  size_t index;
} mw_jpath;

/* The path written at buf+off ("a.b[2].c"); the offset after it (≥ sz when cut). */
size_t mw__jpath_put(char *buf, size_t sz, size_t off, const mw_jpath *p);

/* "<path>: <message>" into err (a path too long keeps its two ends); MW_EINVAL. */
__attribute__((format(printf, 4, 0))) int mw__jpath_vfail(char *err, size_t errsz, const mw_jpath *at, const char *fmt,
                                                          va_list ap);

/* A plain decimal integer: digits only (an optional '-' when neg is given), no
 * spaces or '+', at most max; 0, or -1 when it is not one. */
int mw__json_dec(const char *s, size_t n, uint64_t max, int *neg, uint64_t *out);

/* Standard or URL-safe base64, padding optional (several senders strip it),
 * into the arena. 0; MW_EINVAL with *bad_at the offset of a bad character (or
 * SIZE_MAX for a bad length or padding); MW_ENOMEM. */
int mw__base64_decode(mw_arena *a, const char *s, size_t n, uint8_t **out, size_t *out_len, size_t *bad_at);

#endif
