/* Grafana Tempo's query API over the store (docs/API.md, "Tempo"): search
 * by tags (logfmt) or TraceQL, tag names and tag values (v1 and v2). Trace
 * by id is query/traces.h (mw__q_trace_as). */
#ifndef MW_QUERY_TEMPO_H
#define MW_QUERY_TEMPO_H
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"
#include "query/traceql.h"

enum {
  MW_TEMPO_SCAN_SPANS = 5000,   /* spans a filtered search reads at most, longest first */
  MW_TEMPO_TRACE_SPANS = 1000,  /* spans of one trace a trace-level TraceQL query reads (more: left out) */
  MW_TEMPO_EVAL_SPANS = 10000,  /* ... and of all the traces it evaluates, in one search */
  MW_TEMPO_TAG_SPANS = 5000,    /* latest spans read for tag names and values */
  MW_TEMPO_TAG_SOURCES = 10000, /* resources read for tag names and values */
  MW_TEMPO_MAX_VALUES = 10000,  /* limit of tag names per scope / tag values */
  MW_TEMPO_DEFAULT_VALUES = 1000,
  MW_TEMPO_SPSS_DEFAULT = 3,
  MW_TEMPO_SPSS_MAX = 100,
  MW_TEMPO_MAX_TAGS = 32, /* key=value pairs in `tags` */
};

/* One key=value pair of a logfmt `tags` parameter. */
typedef struct mw_tempo_tag {
  const char *key, *value;
} mw_tempo_tag;

/* Parses a logfmt string (key=value pairs separated by spaces, values in
 * double quotes when they hold spaces, \" and \\ inside them) into the
 * arena. MW_EINVAL with err saying what is wrong. */
int mw__tempo_logfmt(mw_arena *a, const char *s, mw_tempo_tag **out, size_t *n, char *err, size_t errsz);

typedef struct mw_tempo_search {
  mw_search_query base; /* service, name, durations (of the matching span), window, page */
  const mw_tempo_tag *tags;
  size_t n_tags;
  const mw_tql *tql; /* NULL: none */
  size_t spss;       /* spans listed per trace's spanset */
} mw_tempo_search;

/* GET /api/search with tags or q: the traces having a span that matches
 * every tag (a case-insensitive substring of the value of a span or
 * resource attribute of that key, or of the span name for `name`) and the
 * TraceQL filter, among the MW_TEMPO_SCAN_SPANS longest spans the plain
 * search would read, in Tempo's shape with spanSets. */
int mw__q_tempo_search(mw_query *q, const mw_tempo_search *p, mw_answer *out);

enum mw_tempo_scope { MW_TSCOPE_ALL, MW_TSCOPE_RESOURCE, MW_TSCOPE_SPAN, MW_TSCOPE_INTRINSIC };

typedef struct mw_tempo_tags_query {
  int v2;
  enum mw_tempo_scope scope;
  int64_t start_ns, end_ns;
  size_t limit;      /* names per scope */
  const mw_tql *tql; /* NULL: none */
} mw_tempo_tags_query;

/* GET /api/search/tags ({"tagNames"}) and /api/v2/search/tags ({"scopes"}). */
int mw__q_tempo_tags(mw_query *q, const mw_tempo_tags_query *p, mw_answer *out);

typedef struct mw_tempo_values_query {
  int v2;
  const char *tag; /* v1: an attribute key; v2: a TraceQL identifier */
  int64_t start_ns, end_ns;
  size_t limit;
  const mw_tql *tql;
} mw_tempo_values_query;

/* GET /api/search/tag/{tag}/values ({"tagValues": [strings]}) and
 * /api/v2/search/tag/{tag}/values ({"tagValues": [{"type","value"}]}).
 * MW_EINVAL for a v2 tag that is not an identifier. */
int mw__q_tempo_tag_values(mw_query *q, const mw_tempo_values_query *p, mw_answer *out);

#endif
