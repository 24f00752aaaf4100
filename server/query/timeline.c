/* Timeline (see timeline.h). Everything is read first, the spans' labelled
 * rows per trace in batches, and a failed read fails the answer: an empty
 * lane would say "nothing happened". Each lane is capped; "more" says a lane
 * was cut. */
#include "query/timeline.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/sat.h"
#include "model/snapshot_meta.h"
#include "query/explain.h"
#include "query/runtime_json.h"

#include <string.h>

enum { MAX_TRACE_SPANS = 20000, LANE_MAX = 5000, SPAN_SAMPLES_MAX = 64, SPAN_CPU_ROWS_MAX = 100000 };

/* A cycle that started before the window may still reach into it; a CPU
 * profile that began up to 2 minutes earlier may cover it. */
static const int64_t GC_LOOKBACK_NS = 5000000000LL, SNAPSHOT_LOOKBACK_NS = 120000000000LL;

typedef struct lanes {
  mw_gc_cycle *gc;
  size_t n_gc;
  int gc_more;
  mw_sched_sample *sched;
  size_t n_sched;
  mw_snapshot_info *sn;
  mw_snapshot_meta *meta; /* of each snapshot */
  size_t n_sn;
  mw_stored_event *ev; /* early-warning events within the window */
  size_t n_ev;
} lanes;

static int read_lanes(mw_read *rd, mw_arena *a, int64_t source_id, int64_t lo, int64_t hi, lanes *l) {
  int more;
  int rc = mw__store_gc(rd, a, source_id, mw__sat_sub(lo, GC_LOOKBACK_NS), hi, LANE_MAX, &l->gc, &l->n_gc, &l->gc_more);
  if (!rc) rc = mw__store_sched(rd, a, source_id, lo, hi, LANE_MAX, &l->sched, &l->n_sched, &more);
  if (!rc)
    rc = mw__store_snapshots(rd, a, source_id, NULL, mw__sat_sub(lo, SNAPSHOT_LOOKBACK_NS), hi, LANE_MAX, &l->sn,
                             &l->n_sn, &more);
  if (!rc) rc = mw__store_events(rd, a, source_id, lo, hi, LANE_MAX, &l->ev, &l->n_ev, &more);
  if (!rc && !(l->meta = mw__arena_calloc(a, l->n_sn + 1, sizeof *l->meta))) rc = MW_ENOMEM;
  for (size_t i = 0; !rc && i < l->n_sn; i++)
    if (mw__snapshot_meta_read(a, l->sn[i].meta_json, &l->meta[i]) == MW_ENOMEM) rc = MW_ENOMEM;
  return rc;
}

static void write_span(mw_jsonw *w, const mw_stored_span *sp, const char *service, const mw_span_sample *rows, size_t n,
                       int64_t cpu_rows) {
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
  mw__jw_key(w, "goroutine_samples");
  mw__jw_arr(w);
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
  mw__jw_arr_end(w);
  mw__jw_kint(w, "cpu_sample_rows", cpu_rows);
  mw__jw_obj_end(w);
}

/* GC cycles that reach into the window, and the heap before each at its
 * start and after it at its end, with the goal. */
static void write_gc(mw_jsonw *w, const lanes *l, int64_t lo) {
  size_t first = 0;
  mw__jw_key(w, "gc");
  mw__jw_arr(w);
  for (size_t i = 0; i < l->n_gc; i++) {
    const mw_gc_cycle *g = &l->gc[i];
    if (mw__sat_add(mw__sat_add(g->start_ns, g->stw_sweep_term_ns),
                    mw__sat_add(g->concurrent_mark_ns, g->stw_mark_term_ns)) < lo) {
      first = i + 1;
      continue;
    }
    mw__json_gc_cycle(w, g);
  }
  mw__jw_arr_end(w);
  mw__jw_kbool(w, "gc_more", l->gc_more);
  mw__jw_key(w, "heap");
  mw__jw_arr(w);
  for (size_t i = first; i < l->n_gc; i++) {
    const mw_gc_cycle *g = &l->gc[i];
    int64_t end = mw__sat_add(mw__sat_add(g->start_ns, g->stw_sweep_term_ns),
                              mw__sat_add(g->concurrent_mark_ns, g->stw_mark_term_ns));
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
}

static void write_runqueue(mw_jsonw *w, const lanes *l) {
  mw__jw_key(w, "runqueue");
  mw__jw_arr(w);
  for (size_t i = 0; i < l->n_sched; i++) {
    const mw_sched_sample *sc = &l->sched[i];
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", sc->stamp_ns);
    mw__jw_kint(w, "global", sc->runqueue);
    if (sc->local_runq_sum >= 0) mw__jw_kint(w, "local", sc->local_runq_sum);
    mw__jw_kint(w, "threads", sc->threads);
    mw__jw_kint(w, "idleprocs", sc->idleprocs);
    mw__jw_kint(w, "gomaxprocs", sc->gomaxprocs);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

/* Snapshots three ways: goroutine counts over time, every snapshot with its
 * goroutines by state, and CPU profiles as windows. */
static void write_snapshots(mw_jsonw *w, const lanes *l, int64_t lo) {
  const mw_snapshot_info *sn = l->sn;
  mw__jw_key(w, "goroutines");
  mw__jw_arr(w);
  for (size_t i = 0; i < l->n_sn; i++) {
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
  for (size_t i = 0; i < l->n_sn; i++) {
    if (sn[i].at_ns < lo && sn[i].at_ns + sn[i].duration_ns < lo) continue;
    mw__jw_obj(w);
    mw__json_snapshot_head(w, &sn[i]);
    const mw_snapshot_meta *m = &l->meta[i];
    if (m->has_by_state) {
      mw__jw_key(w, "by_state");
      mw__jw_obj(w);
      for (int s = 0; s < MW_G_NSTATES; s++)
        if (m->by_state[s]) mw__jw_kint(w, mw__gstate_name((enum mw_gstate)s), m->by_state[s]);
      mw__jw_obj_end(w);
    }
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "cpu_profiles");
  mw__jw_arr(w);
  for (size_t i = 0; i < l->n_sn; i++) {
    if (strcmp(sn[i].kind, "cpu") || sn[i].at_ns + sn[i].duration_ns < lo) continue;
    mw__jw_obj(w);
    mw__jw_kint(w, "snapshot_id", sn[i].id);
    mw__jw_kint(w, "start_ns", sn[i].at_ns);
    mw__jw_kint(w, "end_ns", sn[i].at_ns + sn[i].duration_ns);
    mw__jw_kint(w, "samples", sn[i].total);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

static void write_lanes(mw_jsonw *w, const mw_source_info *src, const lanes *l, int64_t lo) {
  mw__jw_obj(w);
  mw__jw_kint(w, "id", src->id);
  mw__jw_kstr(w, "service", src->service);
  mw__jw_kstr(w, "instance", src->instance);
  if (src->host) mw__jw_kstr(w, "host", src->host);
  write_gc(w, l, lo);
  write_runqueue(w, l);
  write_snapshots(w, l, lo);
  /* what the early-warning rules said (docs/API.md, "Early warning") */
  mw__jw_key(w, "events");
  mw__jw_arr(w);
  for (size_t i = 0; i < l->n_ev; i++) {
    mw__jw_obj(w);
    mw__jw_kint(w, "time_ns", l->ev[i].at_ns);
    mw__jw_kstr(w, "rule", l->ev[i].rule);
    mw__jw_kstr(w, "message", l->ev[i].message);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

static int timeline(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], int64_t margin_ns, int64_t from_ns,
                    int64_t to_ns, mw_jsonw *w) {
  mw_trace_rows t;
  int rc = mw__store_read_trace(rd, a, trace_id, MAX_TRACE_SPANS, &t);
  if (rc) return rc;
  if (!t.n_spans) return MW_ENOTFOUND;
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < t.n_spans; i++) {
    if (t.spans[i].start_ns < lo) lo = t.spans[i].start_ns;
    if (t.spans[i].start_ns + t.spans[i].dur_ns > hi) hi = t.spans[i].start_ns + t.spans[i].dur_ns;
  }
  int64_t wlo = mw__sat_sub(lo, margin_ns), whi = mw__sat_add(hi, margin_ns);
  if (from_ns < to_ns) wlo = from_ns, whi = to_ns; /* a federated front's: the whole trace's, over every shard */
  mw_source_info *src = mw__arena_calloc(a, t.n_sources + 1, sizeof *src);
  lanes *ln = mw__arena_calloc(a, t.n_sources + 1, sizeof *ln);
  int64_t *cpu_rows = mw__arena_calloc(a, t.n_spans, sizeof *cpu_rows);
  size_t *first_g = mw__arena_calloc(a, t.n_spans + 1, sizeof *first_g),
         *n_g = mw__arena_calloc(a, t.n_spans, sizeof *n_g);
  if (!src || !ln || !cpu_rows || !first_g || !n_g) return MW_ENOMEM;
  for (size_t i = 0; i < t.n_sources && !rc; i++)
    if (!(rc = mw__store_source(rd, a, t.sources[i].id, &src[i]))) rc = read_lanes(rd, a, src[i].id, wlo, whi, &ln[i]);
  mw_span_sample *gor, *cpu;
  size_t n_gor = 0, n_cpu = 0;
  if (!rc)
    rc = mw__store_trace_samples(rd, a, trace_id, t.spans, t.n_spans, "goroutine", SPAN_SAMPLES_MAX, &gor, &n_gor);
  if (!rc) rc = mw__store_trace_samples(rd, a, trace_id, t.spans, t.n_spans, "cpu", SPAN_CPU_ROWS_MAX, &cpu, &n_cpu);
  if (rc) return rc;
  /* rows come grouped by span in span order */
  for (size_t i = n_gor; i-- > 0;) first_g[gor[i].ref] = i, n_g[gor[i].ref]++;
  for (size_t i = 0; i < n_cpu; i++) cpu_rows[cpu[i].ref]++;

  mw__jw_obj(w);
  mw__jw_key(w, "trace_id");
  mw__jw_hex(w, trace_id, 16);
  mw__jw_kint(w, "start_ns", lo);
  mw__jw_kint(w, "end_ns", hi);
  mw__jw_key(w, "window");
  mw__jw_obj(w);
  mw__jw_kint(w, "start_ns", wlo);
  mw__jw_kint(w, "end_ns", whi);
  mw__jw_obj_end(w);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < t.n_spans; i++) {
    const char *svc = "?";
    for (size_t k = 0; k < t.n_sources; k++)
      if (src[k].id == t.spans[i].source_id) svc = src[k].service;
    write_span(w, &t.spans[i], svc, n_g[i] ? &gor[first_g[i]] : NULL, n_g[i], cpu_rows[i]);
  }
  mw__jw_arr_end(w);
  mw__jw_key(w, "sources");
  mw__jw_arr(w);
  for (size_t i = 0; i < t.n_sources; i++) write_lanes(w, &src[i], &ln[i], wlo);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
  return MW_OK;
}

int mw__q_timeline(mw_query *q, const uint8_t trace_id[16], int64_t margin_ns, mw_answer *out) {
  return mw__q_timeline_in(q, trace_id, margin_ns, 0, 0, out);
}

int mw__q_timeline_in(mw_query *q, const uint8_t trace_id[16], int64_t margin_ns, int64_t from_ns, int64_t to_ns,
                      mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  char hex[33];
  mw__hex_encode(hex, trace_id, 16);
  mw_jsonw w;
  mw__answer_json(out, 256u << 20, &w);
  int rc = timeline(q->rd, q->arena, trace_id, margin_ns, from_ns, to_ns, &w);
  if (rc == MW_ENOTFOUND) return mw__answer_fail(out, rc, "trace %s not found", hex);
  if (rc == MW_ETOOBIG)
    return mw__answer_fail(out, rc, "trace %s has more than %d spans, too many for a timeline", hex, MAX_TRACE_SPANS);
  if (rc) return mw__answer_fail(out, rc, "building the timeline of trace %s failed: %s", hex, mw__strerror(rc));
  return mw__answer_end(out, &w);
}
