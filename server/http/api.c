/* The span query endpoints: one trace (Tempo-shaped OTLP JSON), trace
 * search, services, and a service's operations with duration percentiles.
 * Each handler parses its parameters (params.c), calls one query function
 * (query/traces.h, query/catalog.h) and replies with its answer. */
#include "http/http_int.h"
#include "core/error.h"
#include "query/catalog.h"
#include "query/traces.h"

#include <stdint.h>
#include <string.h>

/* GET /api/traces/{traceID} */
static void handle_trace(mw_req *r) {
  const char *id = r->url + strlen("/api/traces/");
  uint8_t tid[16];
  if (mw__param_hex(r, "trace id", id, strlen(id), tid, 16)) return;
  mw_answer a;
  mw__q_trace(r->query, tid, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/search?service=&name=&minDuration=&maxDuration=&start=&end=&offset=&limit= */
static void handle_search(mw_req *r) {
  mw_search_query q = {0};
  if (mw__param_text(r, "service", 0, &q.service) || mw__param_text(r, "name", 0, &q.name) ||
      mw__param_duration(r, "minDuration", 0, INT64_MAX, &q.min_dur_ns) ||
      mw__param_duration(r, "maxDuration", INT64_MAX, INT64_MAX, &q.max_dur_ns) ||
      mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_page(r, MW_SEARCH_DEFAULT_LIMIT, MW_SEARCH_MAX_LIMIT, &q.page))
    return;
  mw_answer a;
  mw__q_search(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/v1/services?name=&offset=&limit= */
static void handle_services(mw_req *r) {
  mw_page pg;
  const char *name;
  if (mw__param_page(r, MW_PAGE_ROWS, MW_PAGE_ROWS, &pg) || mw__param_text(r, "name", 0, &name)) return;
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
  mw_operations_query q = {.service = mw__arena_strndup(r->arena, rest, (size_t)(slash - rest))};
  if (!q.service) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  if (mw__param_window(r, &q.start_ns, &q.end_ns) || mw__param_page(r, MW_PAGE_ROWS, MW_PAGE_ROWS, &q.page)) return;
  mw_answer a;
  mw__q_operations(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

const mw_route mw__api_routes[] = {
    {.method = "GET", .path = "/api/traces/", .prefix = 1, .query = 1, .handle = handle_trace},
    {.method = "GET", .path = "/api/search", .query = 1, .handle = handle_search},
    {.method = "GET", .path = "/api/v1/services", .query = 1, .handle = handle_services},
    {.method = "GET", .path = "/api/v1/services/", .prefix = 1, .query = 1, .handle = handle_operations},
    {0},
};
