/* JSON shapes of runtime records (see runtime_json.h). */
#include "query/runtime_json.h"
#include "core/sat.h"

#include <stdlib.h>
#include <string.h>

void mw__json_source(mw_jsonw *w, const mw_source_info *s) {
  mw__jw_obj(w);
  mw__jw_kint(w, "id", s->id);
  mw__jw_kstr(w, "service", s->service);
  mw__jw_kstr(w, "instance", s->instance);
  if (s->host) mw__jw_kstr(w, "host", s->host);
  if (s->pid) mw__jw_kint(w, "pid", s->pid);
  mw__jw_kint(w, "first_ns", s->first_ns);
  mw__jw_kint(w, "last_ns", s->last_ns);
  mw__jw_obj_end(w);
}

void mw__json_gc_cycle(mw_jsonw *w, const mw_gc_cycle *g) {
  int64_t t1 = mw__sat_add(g->start_ns, g->stw_sweep_term_ns), t2 = mw__sat_add(t1, g->concurrent_mark_ns),
          t3 = mw__sat_add(t2, g->stw_mark_term_ns);
  mw__jw_obj(w);
  mw__jw_kint(w, "n", g->n);
  mw__jw_kint(w, "start_ns", g->start_ns);
  mw__jw_kint(w, "end_ns", t3);
  mw__jw_key(w, "phases");
  mw__jw_obj(w);
  mw__jw_key(w, "stw_sweep_termination");
  mw__jw_arr(w), mw__jw_int(w, g->start_ns), mw__jw_int(w, t1), mw__jw_arr_end(w);
  mw__jw_key(w, "concurrent_mark");
  mw__jw_arr(w), mw__jw_int(w, t1), mw__jw_int(w, t2), mw__jw_arr_end(w);
  mw__jw_key(w, "stw_mark_termination");
  mw__jw_arr(w), mw__jw_int(w, t2), mw__jw_int(w, t3), mw__jw_arr_end(w);
  mw__jw_obj_end(w);
  mw__jw_kint(w, "stw_ns", mw__sat_add(g->stw_sweep_term_ns, g->stw_mark_term_ns));
  mw__jw_key(w, "cpu_ns");
  mw__jw_obj(w);
  mw__jw_kint(w, "stw_sweep_termination", g->stw1_cpu_ns);
  mw__jw_kint(w, "assist", g->assist_cpu_ns);
  mw__jw_kint(w, "background", g->background_cpu_ns);
  mw__jw_kint(w, "idle", g->idle_cpu_ns);
  mw__jw_kint(w, "stw_mark_termination", g->stw2_cpu_ns);
  mw__jw_obj_end(w);
  mw__jw_kint(w, "gc_cpu_percent", g->cpu_percent);
  mw__jw_kint(w, "heap_before_bytes", g->heap_before);
  mw__jw_kint(w, "heap_after_bytes", g->heap_after);
  mw__jw_kint(w, "heap_live_bytes", g->heap_live);
  mw__jw_kint(w, "goal_bytes", g->goal);
  if (g->stacks >= 0) mw__jw_kint(w, "stacks_bytes", g->stacks);
  if (g->globals >= 0) mw__jw_kint(w, "globals_bytes", g->globals);
  mw__jw_kint(w, "procs", g->procs);
  mw__jw_kbool(w, "forced", g->forced);
  mw__jw_obj_end(w);
}

void mw__json_frames(mw_jsonw *w, const char *frames) {
  mw__jw_arr(w);
  for (const char *p = frames ? frames : ""; *p;) {
    const char *nl = strchr(p, '\n');
    size_t n = nl ? (size_t)(nl - p) : strlen(p);
    const char *tab = memchr(p, '\t', n);
    mw__jw_obj(w);
    if (tab) {
      mw__jw_key(w, "func");
      mw__jw_strn(w, p, (size_t)(tab - p));
      const char *loc = tab + 1;
      size_t ll = n - (size_t)(loc - p);
      const char *colon = NULL;
      for (size_t i = ll; i > 0; i--)
        if (loc[i - 1] == ':') {
          colon = loc + i - 1;
          break;
        }
      mw__jw_key(w, "file");
      mw__jw_strn(w, loc, colon ? (size_t)(colon - loc) : ll);
      mw__jw_kint(w, "line", colon ? strtoll(colon + 1, NULL, 10) : 0);
    } else {
      mw__jw_key(w, "func");
      mw__jw_strn(w, p, n);
    }
    mw__jw_obj_end(w);
    p += n + (nl ? 1 : 0);
  }
  mw__jw_arr_end(w);
}

void mw__json_snapshot_head(mw_jsonw *w, const mw_snapshot_info *sn) {
  mw__jw_kint(w, "id", sn->id);
  mw__jw_kstr(w, "kind", sn->kind);
  mw__jw_kstr(w, "format", sn->format);
  mw__jw_kint(w, "time_ns", sn->at_ns);
  mw__jw_kint(w, "duration_ns", sn->duration_ns);
  mw__jw_kint(w, "total", sn->total);
}
