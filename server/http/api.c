/* The span query endpoints: one trace (Tempo's v1, http/tempo.c), trace
 * search (Tempo's, with tags and q), services, and a service's operations with duration percentiles.
 * Each handler parses its parameters (params.c), calls one query function
 * (query/traces.h, query/catalog.h) and replies with its answer. */
#include "http/http_int.h"
#include "core/error.h"
#include "query/catalog.h"
#include "query/fed.h"
#include "query/tempo.h"
#include "query/traces.h"

#include <stdint.h>
#include <string.h>

/* GET /api/traces/{traceID}?start=&end= (Tempo's v1: http/tempo.c) */
static void handle_trace(mw_req *r) { mw__tempo_trace(r, r->url + strlen("/api/traces/"), 0); }

/* GET /api/search?q=&tags=&spss=&service=&name=&minDuration=&maxDuration=&start=&end=&offset=&limit=
 * Without tags, q (or with q={}) and spss: the indexed search alone; with
 * them, the same spans read whole and filtered (query/tempo.h). */
static void handle_search(mw_req *r) {
  static const char *const known[] = {"q",           "tags",  "spss", "service", "name",  "minDuration",
                                      "maxDuration", "start", "end",  "limit",   "offset"};
  mw_tempo_search t = {0};
  mw_search_query *q = &t.base;
  const char *tags, *spss, *qtext;
  if (mw__param_only(r, known, sizeof known / sizeof known[0]) || mw__param_text(r, "service", 0, &q->service) ||
      mw__param_text(r, "name", 0, &q->name) || mw__param_duration(r, "minDuration", 0, INT64_MAX, &q->min_dur_ns) ||
      mw__param_duration(r, "maxDuration", INT64_MAX, INT64_MAX, &q->max_dur_ns) ||
      mw__param_window(r, &q->start_ns, &q->end_ns) ||
      mw__param_page(r, MW_SEARCH_DEFAULT_LIMIT, MW_SEARCH_MAX_LIMIT, &q->page) ||
      mw__param_text(r, "spss", 0, &spss) ||
      mw__param_count(r, "spss", 1, MW_TEMPO_SPSS_MAX, MW_TEMPO_SPSS_DEFAULT, &t.spss) ||
      mw__param_text(r, "tags", 0, &tags) || mw__param_text(r, "q", 0, &qtext) || mw__tempo_tql(r, &t.tql))
    return;
  if (qtext && (q->min_dur_ns > 0 || q->max_dur_ns != INT64_MAX)) /* q={} too: Tempo ignores them with any q */
    return mw__reply_error(r, MW_EINVAL,
                           "%s is not taken with q (Tempo ignores it there): put duration (a span's) in the query, "
                           "{ ... && duration >= 100ms }",
                           q->min_dur_ns > 0 ? "minDuration" : "maxDuration");
  if (tags) {
    mw_tempo_tag *v;
    char err[160];
    int rc = mw__tempo_logfmt(r->arena, tags, &v, &t.n_tags, err, sizeof err);
    if (rc) return mw__reply_error(r, rc, "%s", err);
    t.tags = v;
  }
  mw_answer a;
  if (t.n_tags || t.tql || spss) mw__q_tempo_search(r->query, &t, &a);
  else mw__q_search(r->query, q, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/v1/services?name=&offset=&limit= */
static void handle_services(mw_req *r) {
  static const char *const known[] = {"name", "offset", "limit"};
  mw_page pg;
  const char *name;
  /* a federated sub-request may ask for a front's offset + limit rows (docs/FEDERATION.md) */
  size_t max = mw__req_header(r, MW_FED_HEADER) ? MW_FED_MAX_ROWS : MW_PAGE_ROWS;
  if (mw__param_only(r, known, 3) || mw__param_page(r, MW_PAGE_ROWS, max, &pg) || mw__param_text(r, "name", 0, &name))
    return;
  mw_answer a;
  mw__q_services(r->query, name, &pg, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/v1/services/{service}/operations?start=&end=&offset=&limit= */
static void handle_operations(mw_req *r) {
  const char *rest = r->url + strlen("/api/v1/services/");
  const char *slash = strrchr(rest, '/');
  if (!slash || strcmp(slash, "/operations") != 0 || slash == rest)
    return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  /* a federated sub-request: each operation's duration histogram too (docs/FEDERATION.md) */
  mw_operations_query q = {.service = mw__arena_strndup(r->arena, rest, (size_t)(slash - rest)),
                           .hist = mw__req_header(r, MW_FED_HEADER) != NULL};
  if (!q.service) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  static const char *const known[] = {"start", "end", "offset", "limit"};
  if (mw__param_only(r, known, 4) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_page(r, MW_PAGE_ROWS, q.hist ? MW_FED_MAX_ROWS : MW_PAGE_ROWS, &q.page))
    return;
  mw_answer a;
  mw__q_operations(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

const mw_route mw__api_routes[] = {
    {.method = "GET", .path = "/api/traces/", .prefix = 1, .query = 1, .handle = handle_trace, .fed = mw__fed_trace_v1},
    {.method = "GET", .path = "/api/search", .query = 1, .handle = handle_search, .fed = mw__fed_search},
    {.method = "GET", .path = "/api/v1/services", .query = 1, .handle = handle_services, .fed = mw__fed_services},
    {.method = "GET",
     .path = "/api/v1/services/",
     .prefix = 1,
     .query = 1,
     .handle = handle_operations,
     .fed = mw__fed_operations},
    {0},
};
