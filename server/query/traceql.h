/* A subset of TraceQL (Grafana Tempo's query language): spanset filters
 * `{ ... }` over span and resource attributes and the intrinsics name,
 * status, kind and duration, joined by the spanset operators && and || and
 * the structural operators (>> > << < ~, their ! and & forms), parsed by
 * hand into an arena. A query of filters joined by ||
 * alone is evaluated on one span at a time (mw__tql_match); one with another
 * spanset operator on one trace at a time (mw__tql_eval_trace). docs/TRACEQL.md says exactly
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
  const uint8_t *span_id;   /* 8 bytes; for mw__tql_eval_trace (NULL: unknown) */
  const uint8_t *parent_id; /* 8 bytes, NULL for a root span */
} mw_tql_span;

/* Parses q[0..len) into *out, allocated in a. MW_OK; MW_EINVAL with err (a
 * NUL-terminated sentence for a 400, truncated to errsz) naming the
 * unsupported or malformed part and its 1-based byte column (a query past
 * one of the bounds above is MW_EINVAL too, naming the bound); MW_ENOMEM when
 * the arena is exhausted. A query
 * with a regular expression holds memory outside the arena: release it with
 * mw__tql_free before freeing the arena. */
int mw__tql_parse(mw_arena *a, const char *q, size_t len, mw_tql **out, char *err, size_t errsz);

/* 1 when the span matches one of the query's spanset filters, else 0. For a
 * query that mw__tql_trace_level calls trace-level this is only a necessary
 * condition: a trace with no such span cannot match, one with such a span is
 * to be evaluated whole by mw__tql_eval_trace. */
int mw__tql_match(const mw_tql *q, const mw_tql_span *s);

/* 1 when the query has a spanset operator other than || (&&, >>, ~, ...):
 * it selects spans by what else their trace holds. */
int mw__tql_trace_level(const mw_tql *q);

/* Evaluates the query on the n spans of one trace (span_id and parent_id set
 * for the structural operators), as Tempo does: sel[i] = 1 when span i is in
 * the spanset the query selects, else 0; *n_sel counts them (0: the trace
 * does not match). Scratch memory comes from a; MW_OK or MW_ENOMEM. */
int mw__tql_eval_trace(mw_arena *a, const mw_tql *q, const mw_tql_span *spans, size_t n, unsigned char *sel,
                       size_t *n_sel);

/* When every span the query selects must have the resource attribute
 * service.name equal to a string, and/or the name equal to one (equalities
 * joined by && at the top of a single spanset filter), sets *service and/or
 * *name to it; else NULL. An empty string is never returned. */
void mw__tql_required(const mw_tql *q, const char **service, const char **name);

/* Releases what the query's regular expressions hold outside the arena (libc
 * regcomp). NULL is fine; calling it twice is fine; the query is unusable
 * after it. */
void mw__tql_free(mw_tql *q);

#endif
