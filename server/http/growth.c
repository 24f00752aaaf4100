/* What is growing, over HTTP: GET /api/v1/sources/{id}/heap/growth and
 * /api/v1/sources/{id}/alloc (docs/API.md, "Growth"). Each parses its
 * parameters, calls one query function of query/growth.h and replies with
 * the answer; the route is runtime.c's /api/v1/sources/{id}/... handler,
 * which passes these paths here. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/timefmt.h"
#include "query/growth.h"

#include <string.h>

/* The default target window and base window: an hour each. */
static const int64_t HOUR_NS = 3600ll * 1000000000;

void mw__handle_heap_growth(mw_req *r, int64_t source_id) {
  static const char *const params[] = {"start", "end", "base_start", "base_end", "sample", "limit", "format"};
  static const char *const samples[] = {"inuse_space", "inuse_objects", "alloc_space", "alloc_objects"};
  static const char *const formats[] = {"json", "pprof"};
  mw_heap_growth_query q = {.source_id = source_id};
  const char *sample, *format;
  int64_t now = mw__now_ns();
  if (mw__param_only(r, params, sizeof params / sizeof params[0])) return;
  int given_end = mw__param_time(r, "end", &q.end_ns), given_start = 0, given_base_end = 0, given_base_start = 0;
  if (given_end >= 0) given_start = mw__param_time(r, "start", &q.start_ns);
  if (given_start >= 0) given_base_end = mw__param_time(r, "base_end", &q.base_end_ns);
  if (given_base_end >= 0) given_base_start = mw__param_time(r, "base_start", &q.base_start_ns);
  if (given_end < 0 || given_start < 0 || given_base_end < 0 || given_base_start < 0 ||
      mw__param_enum(r, "sample", samples, 4, &sample) || mw__param_enum(r, "format", formats, 2, &format) ||
      mw__param_count(r, "limit", 1, MW_GROWTH_MAX_STACKS, MW_GROWTH_STACKS, &q.limit))
    return;
  /* data stamped slightly ahead of our clock still counts as the latest */
  int64_t hi = given_end ? q.end_ns : now;
  if (!given_end) q.end_ns = INT64_MAX;
  if (!given_start) q.start_ns = hi > INT64_MIN + HOUR_NS ? hi - HOUR_NS : INT64_MIN;
  if (!given_base_end) q.base_end_ns = q.start_ns;
  if (!given_base_start) q.base_start_ns = q.base_end_ns > INT64_MIN + HOUR_NS ? q.base_end_ns - HOUR_NS : INT64_MIN;
  if (q.end_ns < q.start_ns) return mw__reply_error(r, MW_EINVAL, "end must not be before start");
  if (q.base_end_ns < q.base_start_ns) return mw__reply_error(r, MW_EINVAL, "base_end must not be before base_start");
  if (q.base_end_ns > hi)
    return mw__reply_error(r, MW_EINVAL, "base_end must not be after end: the base is the earlier profile");
  q.sample = (enum mw_heap_value)mw__heap_value_parse(sample);
  q.pprof = strcmp(format, "pprof") == 0;
  mw_answer a;
  mw__q_heap_growth(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

void mw__handle_alloc_rate(mw_req *r, int64_t source_id) {
  static const char *const params[] = {"start", "end", "limit"};
  mw_alloc_query q = {.source_id = source_id};
  if (mw__param_only(r, params, sizeof params / sizeof params[0]) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_GROWTH_MAX_STACKS, MW_GROWTH_STACKS, &q.limit))
    return;
  mw_answer a;
  mw__q_alloc_rate(r->query, &q, &a);
  mw__reply_answer(r, &a);
}
