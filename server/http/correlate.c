/* The correlation API: a trace's timeline and explanation, a span's own
 * profile, and the slow-versus-fast comparison of an operation. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/timefmt.h"
#include "query/compare.h"
#include "query/explain.h"
#include "query/span_profile.h"
#include "query/timeline.h"

#include <stdlib.h>
#include <string.h>

/* /api/v1/traces/{id}/{what}: parses the id; replies and returns -1 when bad. */
static int trace_url(mw_req *r, uint8_t tid[16], const char **what) {
  const char *p = r->url + strlen("/api/v1/traces/");
  const char *slash = strchr(p, '/');
  if (!slash || mw__hex_decode(tid, 16, p, (size_t)(slash - p)) != MW_OK) {
    mw__reply_json_error(r, 400, "trace id must be 32 hex digits");
    return -1;
  }
  *what = slash + 1;
  return 0;
}

static void reply_rc(mw_req *r, int rc, const uint8_t tid[16]) {
  char hex[33];
  mw__hex_encode(hex, tid, 16);
  if (rc == MW_ENOTFOUND) return mw__reply_json_error(r, 404, "trace %s not found", hex);
  if (rc == MW_ETOOBIG) return mw__reply_json_error(r, 413, "trace %s has too many spans to explain", hex);
  mw__reply_json_error(r, 500, "explaining trace %s failed: %s", hex, mw__strerror(rc));
}

static void handle_trace_sub(mw_req *r) {
  uint8_t tid[16];
  const char *what;
  if (trace_url(r, tid, &what)) return;
  mw_buf b;
  mw__buf_init(&b, 256u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  int rc;
  if (strcmp(what, "explain") == 0) {
    mw_explain_opts o = MW_EXPLAIN_OPTS_DEFAULT;
    mw_trace_explain e;
    rc = mw__explain_trace(r->http->opts.store, r->arena, tid, &o, &e);
    if (!rc) mw__explain_json(&w, &e);
  } else if (strcmp(what, "timeline") == 0) {
    int64_t margin = 500000000;
    const char *m = mw__req_arg(r, "margin");
    if (m && *m && (mw__parse_duration(m, &margin) || margin < 0 || margin > 3600000000000LL)) {
      mw__buf_free(&b);
      return mw__reply_json_error(r, 400, "margin must be a duration up to 1h, like 500ms or 2s");
    }
    rc = mw__timeline_json(r->http->opts.store, r->arena, tid, margin, &w);
  } else {
    mw__buf_free(&b);
    return mw__reply_json_error(r, 404, "no such endpoint: %s", r->url);
  }
  if (rc) {
    mw__buf_free(&b);
    return reply_rc(r, rc, tid);
  }
  if (mw__jw_error(&w)) {
    mw__buf_free(&b);
    return mw__reply_json_error(r, 500, "rendering the answer failed");
  }
  mw__reply_buf(r, 200, "application/json", &b);
}

/* /api/v1/spans/{spanID}/profile?type=cpu|goroutine[&trace=ID] */
static void handle_span_profile(mw_req *r) {
  const char *p = r->url + strlen("/api/v1/spans/");
  const char *slash = strchr(p, '/');
  uint8_t sid[8], tid[16];
  if (!slash || mw__hex_decode(sid, 8, p, (size_t)(slash - p)) != MW_OK)
    return mw__reply_json_error(r, 400, "span id must be 16 hex digits");
  if (strcmp(slash, "/profile") != 0) return mw__reply_json_error(r, 404, "no such endpoint: %s", r->url);
  const char *type = mw__req_arg(r, "type");
  if (!type || !*type) type = "cpu";
  if (strcmp(type, "cpu") && strcmp(type, "goroutine"))
    return mw__reply_json_error(r, 400, "type must be cpu or goroutine, got \"%.32s\"", type);
  const char *trace = mw__req_arg(r, "trace");
  if (trace && *trace && mw__hex_decode(tid, 16, trace, strlen(trace)) != MW_OK)
    return mw__reply_json_error(r, 400, "trace must be 32 hex digits");
  mw_buf b;
  mw__buf_init(&b, 256u << 20);
  int rc = mw__span_profile(r->http->opts.store, r->arena, sid, trace && *trace ? tid : NULL, type, &b);
  if (rc) {
    mw__buf_free(&b);
    if (rc == MW_ENOTFOUND)
      return mw__reply_json_error(r, 404, "no %s sample carries span %.16s", type, p);
    return mw__reply_json_error(r, 500, "building the profile failed: %s", mw__strerror(rc));
  }
  mw__reply_buf(r, 200, "application/octet-stream", &b);
}

/* /api/v1/compare?service=&name=&start=&end=&limit= */
static void handle_compare(mw_req *r) {
  const char *service = mw__req_arg(r, "service"), *name = mw__req_arg(r, "name");
  if (!service || !*service || !name || !*name) return mw__reply_json_error(r, 400, "service and name are required");
  int64_t start, end;
  const char *v;
  if (mw__query_window(r, &start, &end)) return;
  size_t limit = 30;
  if ((v = mw__req_arg(r, "limit")) && *v) {
    long n = strtol(v, NULL, 10);
    if (n < 1 || n > 200) return mw__reply_json_error(r, 400, "limit must be from 1 to 200 spans per group");
    limit = (size_t)n;
  }
  mw_buf b;
  mw__buf_init(&b, 64u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  int rc = mw__compare_json(r->http->opts.store, r->arena, service, name, start, end, limit, &w);
  if (rc || mw__jw_error(&w)) {
    mw__buf_free(&b);
    if (rc == MW_ENOTFOUND)
      return mw__reply_json_error(r, 404, "no spans of %.100s %.100s in that range", service, name);
    return mw__reply_json_error(r, 500, "comparing failed: %s", mw__strerror(rc ? rc : MW_ENOMEM));
  }
  mw__reply_buf(r, 200, "application/json", &b);
}

const mw_route mw__correlate_routes[] = {
    {.method = "GET", .path = "/api/v1/compare", .query = 1, .handle = handle_compare},
    {.method = "GET", .path = "/api/v1/spans/", .prefix = 1, .query = 1, .handle = handle_span_profile},
    {.method = "GET", .path = "/api/v1/traces/", .prefix = 1, .query = 1, .handle = handle_trace_sub},
    {0},
};
