/* The explain contract's one renderer (docs/API.md): the answer and its
 * evidence are data until they are written here. */
#include "query/explain.h"
#include "model/exectrace.h"
#include "query/explain_stack.h"

#include <math.h>

/* Writes up to max frames; with skip_runtime, from the first frame that is not
 * runtime machinery (for parked goroutines, where runtime.gopark says little);
 * without, from the leaf (for CPU samples, where runtime.mallocgc says a lot). */
static void json_frames(mw_jsonw *w, const char *frames, size_t max, int skip_runtime) {
  mw_frame_it it = {.p = frames};
  const char *first_user = NULL;
  while (!first_user && mw__frame_next(&it))
    if (!mw__frame_is_runtime(it.func, it.func_len)) first_user = it.func;
  mw__jw_arr(w);
  it = (mw_frame_it){.p = frames};
  int started = first_user == NULL || !skip_runtime;
  for (size_t shown = 0; shown < max && mw__frame_next(&it);) {
    if (!started && it.func != first_user) continue;
    started = 1;
    mw__jw_obj(w);
    mw__jw_key(w, "function");
    mw__jw_strn(w, it.func, it.func_len);
    mw__jw_key(w, "file");
    mw__jw_strn(w, it.file, it.file_len);
    mw__jw_kint(w, "line", it.line);
    mw__jw_obj_end(w);
    shown++;
  }
  mw__jw_arr_end(w);
}

void mw__json_top_frames(mw_jsonw *w, const char *frames, size_t max) { json_frames(w, frames, max, 1); }

/* A goroutine state of an execution trace: state, reason, raw reason, times,
 * its length ns, and the stack where it began. */
static void json_state(mw_jsonw *w, int state, const char *reason, const char *raw, int64_t start, int64_t end,
                       int64_t ns, const char *frames) {
  mw__jw_kstr(w, "state", mw__xt_state_name(state));
  if (reason && *reason) mw__jw_kstr(w, "reason", reason);
  if (raw && *raw) mw__jw_kstr(w, "raw_reason", raw);
  mw__jw_kint(w, "start_ns", start);
  mw__jw_kint(w, "end_ns", end);
  mw__jw_kint(w, "ns", ns);
  mw__jw_key(w, "stack");
  json_frames(w, frames, 6, 1);
}

static void json_link(mw_jsonw *w, const mw_ex_link *k) {
  mw__jw_obj(w);
  mw__jw_key(w, "goroutine");
  mw__jw_uint(w, k->goroutine);
  mw__jw_kint(w, "exectrace_id", k->exectrace_id);
  mw__jw_kint(w, "woke_ns", k->woke_ns);
  mw__jw_key(w, "stack");
  json_frames(w, k->frames, 6, 0);
  if (k->has_span && k->has_trace) {
    mw__jw_key(w, "trace_id");
    mw__jw_hex(w, k->trace_id, 16);
  }
  if (k->has_span) {
    mw__jw_key(w, "span_id");
    mw__jw_hex(w, k->span_id, 8);
  }
  if (k->span_name) mw__jw_kstr(w, "span_name", k->span_name);
  if (k->service) mw__jw_kstr(w, "service", k->service);
  mw__jw_kstr(w, "relation", k->released ? "released" : "woke");
  if (k->has_waited) {
    mw__jw_key(w, "waited");
    mw__jw_obj(w);
    json_state(w, k->waited.state, k->waited.reason, k->waited.raw_reason, k->waited.start_ns, k->waited.end_ns,
               k->waited_ns, k->waited.frames);
    mw__jw_obj_end(w);
  }
  mw__jw_obj_end(w);
}

static void json_evidence(mw_jsonw *w, const mw_evidence *e) {
  mw__jw_obj(w);
  switch (e->type) {
  case MW_EV_SPAN:
    mw__jw_kstr(w, "type", "span");
    mw__jw_key(w, "span_id");
    mw__jw_hex(w, e->u.span.span_id, 8);
    mw__jw_kstr(w, "name", e->u.span.name);
    mw__jw_kstr(w, "service", e->u.span.service);
    mw__jw_kint(w, "duration_ns", e->u.span.dur_ns);
    if (e->u.span.top_cause >= 0)
      mw__jw_kstr(w, "top_cause", mw__cause_kind_name((enum mw_cause_kind)e->u.span.top_cause));
    break;
  case MW_EV_GC_CYCLE:
    mw__jw_kstr(w, "type", "gc_cycle");
    mw__jw_kint(w, "n", e->u.gc.n);
    mw__jw_kint(w, "start_ns", e->u.gc.start_ns);
    mw__jw_kint(w, "stw_overlap_ns", e->u.gc.stw_overlap_ns);
    mw__jw_kint(w, "heap_before_bytes", e->u.gc.heap_before);
    mw__jw_kint(w, "goal_bytes", e->u.gc.goal);
    break;
  case MW_EV_CPU_SAMPLES:
    mw__jw_kstr(w, "type", "cpu_samples");
    if (e->u.cpu.frames) {
      mw__jw_kint(w, "samples", e->u.cpu.samples);
      mw__jw_kint(w, "cpu_ns", e->u.cpu.cpu_ns);
      mw__jw_key(w, "frames");
      json_frames(w, e->u.cpu.frames, 8, 0);
    } else {
      mw__jw_kstr(w, "function", e->u.cpu.function);
      mw__jw_kint(w, "cpu_ns", e->u.cpu.cpu_ns);
    }
    break;
  case MW_EV_CPU_PROFILE:
    mw__jw_kstr(w, "type", "cpu_profile");
    mw__jw_kint(w, "snapshot_id", e->u.profile.snapshot_id);
    mw__jw_kint(w, "time_ns", e->u.profile.at_ns);
    mw__jw_kint(w, "duration_ns", e->u.profile.dur_ns);
    break;
  case MW_EV_GOROUTINE_SAMPLE:
    mw__jw_kstr(w, "type", "goroutine_sample");
    mw__jw_kint(w, "snapshot_id", e->u.goroutine.snapshot_id);
    mw__jw_kint(w, "time_ns", e->u.goroutine.at_ns);
    mw__jw_kstr(w, "state", e->u.goroutine.state);
    if (e->u.goroutine.wait_reason) mw__jw_kstr(w, "wait_reason", e->u.goroutine.wait_reason);
    mw__jw_kint(w, "goroutines", e->u.goroutine.goroutines);
    mw__jw_kint(w, "stack_id", e->u.goroutine.stack_id);
    mw__jw_key(w, "frames");
    json_frames(w, e->u.goroutine.frames, 6, 1);
    break;
  case MW_EV_OBSERVATIONS:
    mw__jw_kstr(w, "type", "observations");
    mw__jw_kint(w, "snapshots", (int64_t)e->u.obs.snapshots);
    if (e->u.obs.spans) mw__jw_kint(w, "spans", (int64_t)e->u.obs.spans);
    mw__jw_kdouble(w, "fraction", e->u.obs.fraction);
    if (e->u.obs.note) mw__jw_kstr(w, "note", e->u.obs.note);
    break;
  case MW_EV_REASON:
    mw__jw_kstr(w, "type", "reason");
    mw__jw_kstr(w, "text", e->u.reason.text);
    break;
  case MW_EV_EXECTRACE:
    mw__jw_kstr(w, "type", "exectrace");
    mw__jw_kint(w, "exectrace_id", e->u.xtrace.id);
    mw__jw_kint(w, "start_ns", e->u.xtrace.start_ns);
    mw__jw_kint(w, "end_ns", e->u.xtrace.end_ns);
    mw__jw_kint(w, "covered_ns", e->u.xtrace.covered_ns);
    mw__jw_kstr(w, "alignment", mw__xt_alignment_name(e->u.xtrace.alignment));
    break;
  case MW_EV_INTERVAL:
    mw__jw_kstr(w, "type", "interval");
    mw__jw_kint(w, "exectrace_id", e->u.interval.exectrace_id);
    mw__jw_key(w, "goroutine");
    mw__jw_uint(w, e->u.interval.goroutine);
    json_state(w, e->u.interval.state, e->u.interval.reason, e->u.interval.raw_reason, e->u.interval.start_ns,
               e->u.interval.end_ns, e->u.interval.ns, e->u.interval.frames);
    break;
  case MW_EV_CHAIN:
    mw__jw_kstr(w, "type", "chain");
    mw__jw_key(w, "links");
    mw__jw_arr(w);
    for (size_t i = 0; i < e->u.chain.n_links; i++) json_link(w, &e->u.chain.links[i]);
    mw__jw_arr_end(w);
    break;
  }
  mw__jw_obj_end(w);
}

static void json_cause(mw_jsonw *w, const mw_cause *c) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "kind", mw__cause_kind_name(c->kind));
  mw__jw_kdouble(w, "share", round(c->share * 10000) / 10000);
  mw__jw_kdouble(w, "confidence", round(c->confidence * 100) / 100);
  mw__jw_kstr(w, "scope", c->scope == MW_SCOPE_OPERATION ? "operation" : c->scope == MW_SCOPE_TRACE ? "trace" : "span");
  mw__jw_kstr(w, "summary", c->summary);
  mw__jw_key(w, "evidence");
  mw__jw_arr(w);
  for (size_t i = 0; i < c->n_evidence; i++) json_evidence(w, &c->evidence[i]);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

static void json_span(mw_jsonw *w, const mw_span_explain *e) {
  mw__jw_obj(w);
  mw__jw_key(w, "span_id");
  mw__jw_hex(w, e->span->span_id, 8);
  mw__jw_key(w, "parent_span_id");
  if (e->span->has_parent) mw__jw_hex(w, e->span->parent_id, 8);
  else mw__jw_null(w);
  mw__jw_kstr(w, "service", e->service);
  mw__jw_kstr(w, "name", e->span->name);
  mw__jw_kint(w, "start_ns", e->span->start_ns);
  mw__jw_kint(w, "duration_ns", e->span->dur_ns);
  mw__jw_kint(w, "self_ns", e->self_ns);
  mw__jw_key(w, "breakdown");
  mw__jw_obj(w);
  mw__jw_kint(w, "cpu_ns", e->b.cpu_ns);
  mw__jw_kint(w, "gc_stw_ns", e->b.gc_stw_ns);
  mw__jw_kint(w, "gc_assist_ns", e->b.gc_assist_ns);
  mw__jw_kint(w, "runnable_ns", e->b.runnable_ns);
  mw__jw_key(w, "blocked_ns");
  mw__jw_obj(w);
  for (int k = 0; k < MW_B_N; k++)
    mw__jw_kint(w, mw__cause_kind_name((enum mw_cause_kind)(MW_K_MUTEX + k)), e->b.blocked_ns[k]);
  mw__jw_obj_end(w);
  mw__jw_kint(w, "unknown_ns", e->b.unknown_ns);
  mw__jw_kint(w, "children_ns", e->children_ns);
  mw__jw_obj_end(w);
  mw__jw_key(w, "causes");
  mw__jw_arr(w);
  for (size_t c = 0; c < e->n_causes; c++) json_cause(w, &e->causes[c]);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

void mw__explain_json(mw_jsonw *w, const mw_trace_explain *t) {
  mw__jw_obj(w);
  mw__jw_key(w, "trace_id");
  mw__jw_hex(w, t->trace_id, 16);
  mw__jw_kint(w, "duration_ns", t->end_ns - t->start_ns);
  mw__jw_kint(w, "start_ns", t->start_ns);
  mw__jw_kstr(w, "summary", t->summary);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < t->n_spans; i++) json_span(w, &t->spans[i]);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}
