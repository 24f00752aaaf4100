/* TraceQL: the subset Meanwhile understands (owned by the traceql branch).
 *
 * STUB on branch h-tempo: this header states the interface agreed between
 * the tempo and traceql helpers (issue 16); traceql.c here refuses every
 * query, so that /api/search?q= answers 400 "TraceQL is not supported in
 * this build" until the parser is merged. Merging h-traceql replaces both
 * files. */
#ifndef MW_QUERY_TRACEQL_H
#define MW_QUERY_TRACEQL_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"

typedef struct mw_tql mw_tql; /* a parsed query, in an arena */

/* Parses q (len bytes). MW_OK; MW_EINVAL with err naming the unsupported or
 * malformed part (for a 400). */
int mw__tql_parse(mw_arena *a, const char *q, size_t len, mw_tql **out, char *err, size_t errsz);

/* The types of mw_tql_attr (bool in i). */
enum { MW_TQL_STRING, MW_TQL_INT, MW_TQL_DOUBLE, MW_TQL_BOOL };

typedef struct mw_tql_attr {
  const char *key;
  int type; /* string, int, double, bool */
  const char *s;
  int64_t i;
  double d;
} mw_tql_attr;

typedef struct mw_tql_span {
  const char *name;
  int kind;   /* OTLP SpanKind */
  int status; /* 0 unset, 1 ok, 2 error */
  int64_t dur_ns;
  const mw_tql_attr *attrs;
  size_t n_attrs;
  const mw_tql_attr *res;
  size_t n_res;
} mw_tql_span;

/* 1 when the span matches the spanset filter. */
int mw__tql_match(const mw_tql *q, const mw_tql_span *s);

#endif
