/* A subset of TraceQL (Grafana Tempo's query language): one spanset filter
 * `{ ... }` (or several joined by `||`) over span and resource attributes and
 * the intrinsics name, status, kind and duration, parsed by hand into an
 * arena and evaluated on one span at a time. docs/TRACEQL.md says exactly
 * which subset; anything outside it is refused with MW_EINVAL and a message
 * naming the part and its column, never ignored. */
#ifndef MW_QUERY_TRACEQL_H
#define MW_QUERY_TRACEQL_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

/* The bounds of a query: its length in bytes, the nesting of parentheses, the
 * number of comparisons, of regular expressions and a regex's length. */
enum {
  MW_TQL_MAX_LEN = 4096,
  MW_TQL_MAX_DEPTH = 16,
  MW_TQL_MAX_CONDS = 64,
  MW_TQL_MAX_REGEX = 8,
  MW_TQL_MAX_REGEX_LEN = 512,
};

/* The attribute value types of mw_tql_attr.type (a bool is in .i, 0 or 1). */
enum { MW_TQL_STRING = 0, MW_TQL_INT = 1, MW_TQL_DOUBLE = 2, MW_TQL_BOOL = 3 };

/* Span kinds and statuses as OTLP numbers them (SpanKind, Status.StatusCode). */
enum {
  MW_TQL_KIND_UNSPECIFIED = 0,
  MW_TQL_KIND_INTERNAL = 1,
  MW_TQL_KIND_SERVER = 2,
  MW_TQL_KIND_CLIENT = 3,
  MW_TQL_KIND_PRODUCER = 4,
  MW_TQL_KIND_CONSUMER = 5,
};
enum { MW_TQL_STATUS_UNSET = 0, MW_TQL_STATUS_OK = 1, MW_TQL_STATUS_ERROR = 2 };

typedef struct mw_tql mw_tql; /* a parsed query, in an arena */

typedef struct mw_tql_attr {
  const char *key;
  int type; /* MW_TQL_STRING, _INT, _DOUBLE, _BOOL */
  const char *s;
  int64_t i;
  double d;
} mw_tql_attr;

typedef struct mw_tql_span {
  const char *name;
  int kind;   /* MW_TQL_KIND_* */
  int status; /* MW_TQL_STATUS_* */
  int64_t dur_ns;
  const mw_tql_attr *attrs; /* the span's attributes */
  size_t n_attrs;
  const mw_tql_attr *res; /* its resource's attributes */
  size_t n_res;
} mw_tql_span;

/* Parses q[0..len) into *out, allocated in a. MW_OK; MW_EINVAL with err (a
 * NUL-terminated sentence for a 400, truncated to errsz) naming the
 * unsupported or malformed part and its 1-based byte column (a query past
 * one of the bounds above is MW_EINVAL too, naming the bound); MW_ENOMEM when
 * the arena is exhausted. A query
 * with a regular expression holds memory outside the arena: release it with
 * mw__tql_free before freeing the arena. */
int mw__tql_parse(mw_arena *a, const char *q, size_t len, mw_tql **out, char *err, size_t errsz);

/* 1 when the span matches the query's filter, else 0. */
int mw__tql_match(const mw_tql *q, const mw_tql_span *s);

/* Releases what the query's regular expressions hold outside the arena (libc
 * regcomp). NULL is fine; calling it twice is fine; the query is unusable
 * after it. */
void mw__tql_free(mw_tql *q);

#endif
