/* The correlation endpoints: a trace's timeline and explanation, a span's
 * own profile, the slow-versus-fast comparison of an operation and who wakes
 * its slow spans. Each handler parses its parameters (params.c), calls one
 * query function and replies with its answer. */
#include "http/http_int.h"
#include "core/error.h"
#include "query/compare.h"
#include "query/explain.h"
#include "query/fed.h"
#include "query/span_profile.h"
#include "query/timeline.h"
#include "query/wakers.h"

#include <string.h>

/* GET /api/v1/traces/{traceID}/explain, .../timeline?margin= */
static void handle_trace_sub(mw_req *r) {
  const char *id = r->url + strlen("/api/v1/traces/");
  const char *slash = strchr(id, '/');
  uint8_t tid[16];
  if (mw__param_hex(r, "trace id", id, slash ? (size_t)(slash - id) : strlen(id), tid, 16)) return;
  const char *what = slash ? slash + 1 : "";
  mw_answer a;
  if (strcmp(what, "explain") == 0) {
    if (mw__param_only(r, NULL, 0)) return;
    mw__q_explain(r->query, tid, &a);
  } else if (strcmp(what, "timeline") == 0) {
    int64_t margin, from = 0, to = 0;
    /* a federated sub-request may say the window (docs/FEDERATION.md, "Timeline") */
    static const char *const known[] = {"margin", "window_start_ns", "window_end_ns"};
    int sub = mw__req_header(r, MW_FED_HEADER) != NULL;
    if (mw__param_only(r, known, sub ? 3 : 1)) return;
    if (mw__param_duration(r, "margin", MW_TIMELINE_MARGIN_NS, MW_TIMELINE_MAX_MARGIN_NS, &margin)) return;
    if (sub && (mw__param_ns(r, "window_start_ns", &from) || mw__param_ns(r, "window_end_ns", &to))) return;
    mw__q_timeline_in(r->query, tid, margin, from, to, &a);
  } else {
    return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  }
  mw__reply_answer(r, &a);
}

/* POST /api/v1/traces/{traceID}/explain with the trace's spans that other
 * shards hold (a federated sub-request: docs/FEDERATION.md, "Explain"). */
static void handle_trace_post(mw_req *r) {
  const char *id = r->url + strlen("/api/v1/traces/");
  const char *slash = strchr(id, '/');
  uint8_t tid[16];
  if (mw__param_hex(r, "trace id", id, slash ? (size_t)(slash - id) : strlen(id), tid, 16)) return;
  if (slash && strcmp(slash, "/timeline") == 0) { /* a GET route: the method is wrong, not the path */
    r->allow = "GET, HEAD";
    return mw__reply_error(r, MW_EMETHOD, "POST is not allowed on %.200s: use %s", r->url, r->allow);
  }
  if (!slash || strcmp(slash, "/explain") != 0)
    return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: POST %s (only .../explain takes a body)", r->url);
  if (mw__param_only(r, NULL, 0)) return;
  if (r->body_rc) {
    char msg[512];
    int rc = mw__req_body_problem(r, msg, sizeof msg);
    return mw__reply_error(r, rc, "%s", msg);
  }
  mw_answer a;
  mw__q_explain_with(r->query, tid, r->body ? r->body->data : NULL, r->body ? r->body->len : 0, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/v1/spans/{spanID}/profile?type=cpu|goroutine[&trace=ID] */
static void handle_span_profile(mw_req *r) {
  const char *id = r->url + strlen("/api/v1/spans/");
  const char *slash = strchr(id, '/');
  uint8_t sid[8], tid[16];
  if (mw__param_hex(r, "span id", id, slash ? (size_t)(slash - id) : strlen(id), sid, 8)) return;
  if (!slash || strcmp(slash, "/profile") != 0) return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  static const char *const types[] = {"cpu", "goroutine"};
  const char *type;
  int has_trace;
  static const char *const known[] = {"type", "trace"};
  if (mw__param_only(r, known, 2)) return;
  if (mw__param_enum(r, "type", types, 2, &type) || (has_trace = mw__param_hex_arg(r, "trace", tid, 16)) < 0) return;
  mw_answer a;
  mw__q_span_profile(r->query, sid, has_trace ? tid : NULL, type, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/v1/compare?service=&name=&start=&end=&limit= (a federated
 * sub-request also takes slow_ns and fast_ns: docs/FEDERATION.md) */
static void handle_compare(mw_req *r) {
  mw_compare_query q = {0};
  static const char *const known[] = {"service", "name", "start", "end", "limit", "slow_ns", "fast_ns"};
  int sub = mw__req_header(r, MW_FED_HEADER) != NULL;
  if (mw__param_only(r, known, sub ? 7 : 5) || mw__param_text(r, "service", 1, &q.service) ||
      mw__param_text(r, "name", 1, &q.name) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_COMPARE_MAX_SPANS, MW_COMPARE_SPANS, &q.per_group) ||
      (sub && (mw__param_ns(r, "slow_ns", &q.slow_ns) || mw__param_ns(r, "fast_ns", &q.fast_ns))))
    return;
  q.raw = q.slow_ns > 0 && q.fast_ns > 0;
  mw_answer a;
  mw__q_compare(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

/* GET /api/v1/wakers?service=&name=&start=&end=&limit= */
static void handle_wakers(mw_req *r) {
  static const char *const params[] = {"service", "name", "start", "end", "limit"};
  mw_wakers_query q;
  if (mw__param_only(r, params, sizeof params / sizeof params[0]) || mw__param_text(r, "service", 1, &q.service) ||
      mw__param_text(r, "name", 1, &q.name) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_WAKERS_MAX_SPANS, MW_WAKERS_SPANS, &q.limit))
    return;
  mw_answer a;
  mw__q_wakers(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

const mw_route mw__correlate_routes[] = {
    {.method = "GET", .path = "/api/v1/compare", .query = 1, .handle = handle_compare, .fed = mw__fed_compare},
    {.method = "GET", .path = "/api/v1/wakers", .query = 1, .handle = handle_wakers, .by_shard = 1},
    {.method = "GET", .path = "/api/v1/spans/", .prefix = 1, .query = 1, .handle = handle_span_profile, .by_shard = 1},
    {.method = "GET",
     .path = "/api/v1/traces/",
     .prefix = 1,
     .query = 1,
     .handle = handle_trace_sub,
     .fed = mw__fed_trace_sub},
    {.method = "POST", .path = "/api/v1/traces/", .prefix = 1, .query = 1, .body = 1, .handle = handle_trace_post},
    {0},
};
