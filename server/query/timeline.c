/* Timeline (see timeline.h). Each lane is capped; "more" says a lane was cut. */
#include "query/timeline.h"
#include "core/error.h"
#include "core/sat.h"
#include "query/explain.h"
#include "query/runtime_json.h"

#include <jansson.h>
#include <string.h>

enum { MAX_TRACE_SPANS = 20000, LANE_MAX = 5000, SPAN_SAMPLES_MAX = 64 };

static void write_span(mw_jsonw *w, mw_store *s, mw_arena *a, const mw_stored_span *sp, const char *service) {
  mw__jw_obj(w);
  mw__jw_key(w, "span_id");
  mw__jw_hex(w, sp->span_id, 8);
  mw__jw_key(w, "parent_span_id");
  if (sp->has_parent) mw__jw_hex(w, sp->parent_id, 8);
  else mw__jw_null(w);
  mw__jw_kstr(w, "service", service);
  mw__jw_kstr(w, "name", sp->name);
  mw__jw_kint(w, "source_id", sp->source_id);
  mw__jw_kint(w, "start_ns", sp->start_ns);
  mw__jw_kint(w, "end_ns", sp->start_ns + sp->dur_ns);
  mw__jw_kint(w, "duration_ns", sp->dur_ns);
  mw__jw_kint(w, "kind", sp->kind);
  mw__jw_kint(w, "status", sp->status);
  mw_span_sample *rows;
  size_t n = 0;
  mw__jw_key(w, "goroutine_samples");
  mw__jw_arr(w);
  if (mw__store_span_samples(s, a, sp->span_id, sp->trace_id, "goroutine", SPAN_SAMPLES_MAX, &rows, &n) == MW_OK) {
    for (size_t i = 0; i < n; i++) {
      mw__jw_obj(w);
      mw__jw_kint(w, "snapshot_id", rows[i].snapshot_id);
      mw__jw_kint(w, "time_ns", rows[i].snapshot_ns);
      mw__jw_kstr(w, "state", rows[i].state);
      if (rows[i].wait_reason) mw__jw_kstr(w, "wait_reason", rows[i].wait_reason);
      mw__jw_kint(w, "count", rows[i].count);
      mw__jw_kint(w, "stack_id", rows[i].stack_id);
      mw__jw_key(w, "frames");
      mw__json_top_frames(w, rows[i].frames, 4);
      mw__jw_obj_end(w);
    }
  }
  mw__jw_arr_end(w);
  int64_t cpu = 0;
  if (mw__store_span_samples(s, a, sp->span_id, sp->trace_id, "cpu", 100000, &rows, &n) == MW_OK) cpu = (int64_t)n;
  mw__jw_kint(w, "cpu_sample_rows", cpu);
  mw__jw_obj_end(w);
}

static void write_lanes(mw_jsonw *w, mw_store *s, mw_arena *a, const mw_source_info *src, int64_t lo, int64_t hi) {
  int more;
  mw__jw_obj(w);
  mw__jw_kint(w, "id", src->id);
  mw__jw_kstr(w, "service", src->service);
  mw__jw_kstr(w, "instance", src->instance);
  if (src->host) mw__jw_kstr(w, "host", src->host);

  mw_gc_cycle *gc;
  size_t n_gc = 0;
  /* a cycle that started before the window may still reach into it */
  if (mw__store_gc(s, a, src->id, lo - 5000000000LL, hi, LANE_MAX, &gc, &n_gc, &more)) n_gc = 0, more = 0;
  mw__jw_key(w, "gc");
  mw__jw_arr(w);
  size_t first = 0;
  for (size_t i = 0; i < n_gc; i++) {
    const mw_gc_cycle *g = &gc[i];
    if (mw__sat_add(mw__sat_add(g->start_ns, g->stw_sweep_term_ns), mw__sat_add(g->concurrent_mark_ns, g->stw_mark_term_ns)) < lo) {
      first = i + 1;
      continue;
    }
    mw__json_gc_cycle(w, g);
  }
  mw__jw_arr_end(w);
  mw__jw_kbool(w, "gc_more", more);
  /* heap: before at each cycle's start, after at its end, with the goal */
  mw__jw_key(w, "heap");
  mw__jw_arr(w);
  for (size_t i = first; i < n_gc; i++) {
    const mw_gc_cycle *g = &gc[i];
    int64_t end = mw__sat_add(mw__sat_add(g->start_ns, g->stw_sweep_term_ns), mw__sat_add(g->concurrent_mark_ns, g->stw_mark_term_ns));
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", g->start_ns);
    mw__jw_kint(w, "heap_bytes", g->heap_before);
    mw__jw_kint(w, "goal_bytes", g->goal);
    mw__jw_obj_end(w);
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", end);
    mw__jw_kint(w, "heap_bytes", g->heap_after);
    mw__jw_kint(w, "goal_bytes", g->goal);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);

  mw_sched_sample *sc;
  size_t n_sc = 0;
  if (mw__store_sched(s, a, src->id, lo, hi, LANE_MAX, &sc, &n_sc, &more)) n_sc = 0;
  mw__jw_key(w, "runqueue");
  mw__jw_arr(w);
  for (size_t i = 0; i < n_sc; i++) {
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", sc[i].stamp_ns);
    mw__jw_kint(w, "global", sc[i].runqueue);
    if (sc[i].local_runq_sum >= 0) mw__jw_kint(w, "local", sc[i].local_runq_sum);
    mw__jw_kint(w, "threads", sc[i].threads);
    mw__jw_kint(w, "idleprocs", sc[i].idleprocs);
    mw__jw_kint(w, "gomaxprocs", sc[i].gomaxprocs);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);

  mw_snapshot_info *sn;
  size_t n_sn = 0;
  /* CPU profiles are windows: one that began up to 2 minutes earlier may cover the trace */
  if (mw__store_snapshots(s, a, src->id, NULL, lo - 120000000000LL, hi, LANE_MAX, &sn, &n_sn, &more)) n_sn = 0;
  mw__jw_key(w, "goroutines");
  mw__jw_arr(w);
  for (size_t i = 0; i < n_sn; i++) {
    if (strcmp(sn[i].kind, "goroutine") || sn[i].at_ns < lo) continue;
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", sn[i].at_ns);
    mw__jw_kint(w, "count", sn[i].total);
    mw__jw_kint(w, "snapshot_id", sn[i].id);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "snapshots");
  mw__jw_arr(w);
  for (size_t i = 0; i < n_sn; i++) {
    if (sn[i].at_ns < lo && sn[i].at_ns + sn[i].duration_ns < lo) continue;
    mw__jw_obj(w);
    mw__jw_kint(w, "id", sn[i].id);
    mw__jw_kstr(w, "kind", sn[i].kind);
    mw__jw_kstr(w, "format", sn[i].format);
    mw__jw_kint(w, "time_ns", sn[i].at_ns);
    mw__jw_kint(w, "duration_ns", sn[i].duration_ns);
    mw__jw_kint(w, "total", sn[i].total);
    json_t *meta = sn[i].meta_json ? json_loads(sn[i].meta_json, 0, NULL) : NULL;
    json_t *bs = json_object_get(meta, "by_state");
    if (json_is_object(bs)) {
      mw__jw_key(w, "by_state");
      mw__jw_obj(w);
      const char *k;
      json_t *v;
      json_object_foreach(bs, k, v) mw__jw_kint(w, k, json_integer_value(v));
      mw__jw_obj_end(w);
    }
    json_decref(meta);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "cpu_profiles");
  mw__jw_arr(w);
  for (size_t i = 0; i < n_sn; i++) {
    if (strcmp(sn[i].kind, "cpu") || sn[i].at_ns + sn[i].duration_ns < lo) continue;
    mw__jw_obj(w);
    mw__jw_kint(w, "snapshot_id", sn[i].id);
    mw__jw_kint(w, "start_ns", sn[i].at_ns);
    mw__jw_kint(w, "end_ns", sn[i].at_ns + sn[i].duration_ns);
    mw__jw_kint(w, "samples", sn[i].total);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

int mw__timeline_json(mw_store *s, mw_arena *a, const uint8_t trace_id[16], int64_t margin_ns, mw_jsonw *w) {
  mw_trace_rows t;
  int rc = mw__store_read_trace(s, a, trace_id, MAX_TRACE_SPANS, &t);
  if (rc) return rc;
  if (!t.n_spans) return MW_ENOTFOUND;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < t.n_spans; i++) {
    if (t.spans[i].start_ns < lo) lo = t.spans[i].start_ns;
    if (t.spans[i].start_ns + t.spans[i].dur_ns > hi) hi = t.spans[i].start_ns + t.spans[i].dur_ns;
  }
  mw_source_info *src = mw__arena_calloc(a, t.n_sources + 1, sizeof *src);
  if (!src) return MW_ENOMEM;
  for (size_t i = 0; i < t.n_sources; i++)
    if ((rc = mw__store_source(s, a, t.sources[i].id, &src[i]))) return rc;
  mw__jw_obj(w);
  mw__jw_key(w, "trace_id");
  mw__jw_hex(w, trace_id, 16);
  mw__jw_kint(w, "start_ns", lo);
  mw__jw_kint(w, "end_ns", hi);
  mw__jw_key(w, "window");
  mw__jw_obj(w);
  mw__jw_kint(w, "start_ns", lo - margin_ns);
  mw__jw_kint(w, "end_ns", hi + margin_ns);
  mw__jw_obj_end(w);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < t.n_spans; i++) {
    const char *svc = "?";
    for (size_t k = 0; k < t.n_sources; k++)
      if (src[k].id == t.spans[i].source_id) svc = src[k].service;
    write_span(w, s, a, &t.spans[i], svc);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "sources");
  mw__jw_arr(w);
  for (size_t i = 0; i < t.n_sources; i++) write_lanes(w, s, a, &src[i], lo - margin_ns, hi + margin_ns);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
  return MW_OK;
}
