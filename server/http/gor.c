/* Goroutine growth and GC pressure over HTTP (docs/API.md, "Growth"):
 * GET /api/v1/sources/{id}/goroutines/growth and .../gc/pressure (reached
 * from runtime.c's /api/v1/sources/{id}/... dispatch), the source's
 * series .../series (the source page's lanes) and GET
 * /api/v1/gc/operations. Each parses its parameters, refusing unknown ones,
 * calls one query function and replies with the answer. */
#include "http/http_int.h"
#include "core/error.h"
#include "query/gc_pressure.h"
#include "query/gor_growth.h"
#include "query/series.h"

#include <string.h>

/* /api/v1/sources/{id}/goroutines/growth?start=&end=&limit= */
static void goroutine_growth(mw_req *r, int64_t source_id) {
  static const char *const known[] = {"start", "end", "limit"};
  mw_gg_query q = {.source_id = source_id};
  if (mw__param_only(r, known, 3) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_GG_MAX_LIMIT, MW_GG_LIMIT, &q.limit))
    return;
  mw_answer a;
  mw__q_gor_growth(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

/* /api/v1/sources/{id}/gc/pressure?start=&end=&step= */
static void gc_pressure(mw_req *r, int64_t source_id) {
  static const char *const known[] = {"start", "end", "step"};
  mw_gcp_query q = {.source_id = source_id};
  if (mw__param_only(r, known, 3) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_duration(r, "step", 0, MW_GCP_MAX_STEP_NS, &q.step_ns))
    return;
  const char *step = mw__req_arg(r, "step");
  if (step && *step && q.step_ns <= 0)
    return mw__reply_error(r, MW_EINVAL, "step must be a duration above 0, got \"%.32s\"", step);
  const char *start = mw__req_arg(r, "start");
  q.start_given = start && *start;
  mw_answer a;
  mw__q_gc_pressure(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

/* /api/v1/sources/{id}/series?start=&end=&points=600 | &step= */
static void series(mw_req *r, int64_t source_id) {
  static const char *const known[] = {"start", "end", "points", "step"};
  mw_series_query q = {.source_id = source_id};
  if (mw__param_only(r, known, 4) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "points", 1, MW_SERIES_MAX_POINTS, MW_SERIES_POINTS, &q.points) ||
      mw__param_duration(r, "step", 0, MW_GCP_MAX_STEP_NS, &q.step_ns))
    return;
  const char *step = mw__req_arg(r, "step"), *points = mw__req_arg(r, "points");
  if (step && *step && q.step_ns <= 0)
    return mw__reply_error(r, MW_EINVAL, "step must be a duration above 0, got \"%.32s\"", step);
  if (step && *step && points && *points)
    return mw__reply_error(r, MW_EINVAL, "give points or step, not both: step sets the points");
  mw_answer a;
  mw__q_series(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

int mw__gor_source_sub(mw_req *r, int64_t source_id, const char *rest) {
  if (strcmp(rest, "/goroutines/growth") == 0) goroutine_growth(r, source_id);
  else if (strcmp(rest, "/series") == 0) series(r, source_id);
  else if (strcmp(rest, "/gc/pressure") == 0) gc_pressure(r, source_id);
  else return 0;
  return 1;
}

/* /api/v1/gc/operations?service=&start=&end=&limit= */
static void handle_gc_operations(mw_req *r) {
  static const char *const known[] = {"service", "start", "end", "limit"};
  mw_gco_query q = {0};
  if (mw__param_only(r, known, 4) || mw__param_text(r, "service", 0, &q.service) ||
      mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_GCO_MAX_LIMIT, MW_GCO_LIMIT, &q.limit))
    return;
  mw_answer a;
  mw__q_gc_operations(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

const mw_route mw__gor_routes[] = {
    {.method = "GET", .path = "/api/v1/gc/operations", .query = 1, .handle = handle_gc_operations, .by_shard = 1},
    {0},
};
