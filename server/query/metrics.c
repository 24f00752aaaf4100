/* The /metrics answer (see metrics.h). */
#include "query/metrics.h"
#include "core/error.h"
#include "model/rules.h"

#include <stdlib.h>
#include <string.h>

/* The per-source runtime gauges: of at most this many sources, the most
 * recently heard from (the rules follow --rules-max-sources of them). */
enum { MAX_GAUGE_SOURCES = 1000 };

static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static mw_histogram commit_seconds = MW_HISTOGRAM_INIT(commit_bounds);
static mw_gauge queue_spans, queue_jobs, db_bytes, used_bytes;
static mw_counter retention_deleted;
static mw_counter resent_jobs, resent_spans;

static void observe_commit(double seconds, size_t jobs, size_t spans) {
  mw__histogram_observe(&commit_seconds, seconds);
  (void)jobs, (void)spans;
}

void mw__q_metrics_attach(mw_store *s) { mw__store_on_commit(s, observe_commit); }

/* A label value as the text format wants it: \\, \" and \\n escaped. */
static int add_label(mw_buf *b, const char *v) {
  for (; *v; v++) {
    const char *e = *v == '\\' ? "\\\\" : *v == '"' ? "\\\"" : *v == '\n' ? "\\n" : NULL;
    if (e ? mw__buf_adds(b, e) : mw__buf_add(b, v, 1)) return MW_ENOMEM;
  }
  return MW_OK;
}

typedef struct gauge_def {
  const char *name, *help, *quantile;
  int which;
} gauge_def;

enum { G_LIVE, G_GOAL, G_GOROUTINES, G_GC_CPU, G_P50, G_P99, G_ALLOC };

/* The value of gauge which for g; 0 when not known (the line is left out). */
static int gauge_value(const mw_rules_gauges *g, int which, double *v) {
  switch (which) {
  case G_LIVE: *v = (double)g->heap_live; break;
  case G_GOAL: *v = (double)g->heap_goal; break;
  case G_GOROUTINES: *v = (double)g->goroutines; break;
  case G_GC_CPU: *v = g->gc_cpu_fraction; break;
  case G_P50: *v = (double)g->pause_p50_ns / 1e9; break;
  case G_P99: *v = (double)g->pause_p99_ns / 1e9; break;
  default: *v = g->alloc_bytes_per_s; break;
  }
  return *v >= 0;
}

/* Each source's latest runtime figures, labelled service and instance (the
 * source's names), for Prometheus rules (deploy/prometheus/). */
static int render_sources(mw_buf *b, mw_rules *rules) {
  static const gauge_def defs[] = {
      {"meanwhile_go_heap_live_bytes", "Heap marked live by the source's last GC cycle (gctrace).", NULL, G_LIVE},
      {"meanwhile_go_heap_goal_bytes", "Heap goal of the source's last GC cycle (gctrace).", NULL, G_GOAL},
      {"meanwhile_go_goroutines", "Goroutines in the source's last goroutine dump or profile.", NULL, G_GOROUTINES},
      {"meanwhile_go_gc_cpu_fraction", "Share of the source's CPU (GOMAXPROCS) that GC used over --rule-gc-window.",
       NULL, G_GC_CPU},
      {"meanwhile_go_gc_pause_seconds", "GC stop-the-world pauses within --rule-gc-window, by quantile.", "0.5", G_P50},
      {"meanwhile_go_gc_pause_seconds", NULL, "0.99", G_P99},
      {"meanwhile_go_alloc_bytes_per_second",
       "Bytes the source allocated per second over --rule-gc-window (heap at a cycle's start less at the last one's "
       "end).",
       NULL, G_ALLOC},
  };
  if (!rules) return MW_OK;
  mw_rules_gauges *g = malloc(MAX_GAUGE_SOURCES * sizeof *g);
  if (!g) return MW_ENOMEM;
  size_t n = mw__rules_gauges(rules, g, MAX_GAUGE_SOURCES);
  int rc = MW_OK;
  for (size_t d = 0; d < sizeof defs / sizeof defs[0] && !rc; d++) {
    if (defs[d].help && n)
      rc = mw__buf_printf(b, "# HELP %s %s\n# TYPE %s gauge\n", defs[d].name, defs[d].help, defs[d].name);
    for (size_t i = 0; i < n && !rc; i++) {
      double v;
      if (!gauge_value(&g[i], defs[d].which, &v)) continue;
      rc = mw__buf_printf(b, "%s{service=\"", defs[d].name);
      if (!rc) rc = add_label(b, g[i].service);
      if (!rc) rc = mw__buf_adds(b, "\",instance=\"");
      if (!rc) rc = add_label(b, g[i].instance);
      if (!rc && defs[d].quantile) rc = mw__buf_printf(b, "\",quantile=\"%s", defs[d].quantile);
      if (!rc) rc = mw__buf_printf(b, "\"} %.17g\n", v);
    }
  }
  free(g);
  return rc;
}

int mw__q_metrics(mw_store *s, const mw_metric_desc *first, size_t n_first, mw_answer *out) {
  mw__answer_init(out);
  if (n_first > MW_METRICS_MAX_FIRST) return mw__answer_fail(out, MW_EINVAL, "too many metrics to render");
  mw_store_stats st = {0};
  if (s) mw__store_stats(s, &st); /* none in the query role (--role query) */
  mw__gauge_set(&queue_spans, (int64_t)st.queue_spans);
  mw__gauge_set(&queue_jobs, (int64_t)st.queue_jobs);
  mw__gauge_set(&db_bytes, (int64_t)st.db_bytes);
  mw__gauge_set(&used_bytes, (int64_t)st.used_bytes);
  atomic_store(&retention_deleted.v, st.retention_deleted);
  atomic_store(&resent_jobs.v, st.resent_jobs);
  atomic_store(&resent_spans.v, st.resent_spans);
  const mw_metric_desc store[] = {
      {.name = "meanwhile_write_queue_spans",
       .help = "Spans waiting for or in a commit.",
       .kind = MW_METRIC_GAUGE,
       .gauge = &queue_spans},
      {.name = "meanwhile_write_queue_jobs",
       .help = "Write jobs waiting for or in a commit.",
       .kind = MW_METRIC_GAUGE,
       .gauge = &queue_jobs},
      {.name = "meanwhile_commit_duration_seconds",
       .help = "Time to write and commit one group transaction.",
       .kind = MW_METRIC_HISTOGRAM,
       .histogram = &commit_seconds},
      {.name = "meanwhile_db_bytes",
       .help = "Size of the database file and its WAL.",
       .kind = MW_METRIC_GAUGE,
       .gauge = &db_bytes},
      {.name = "meanwhile_db_used_bytes",
       .help = "Bytes of database pages in use (what --max-db-size bounds).",
       .kind = MW_METRIC_GAUGE,
       .gauge = &used_bytes},
      {.name = "meanwhile_retention_deleted_rows_total",
       .help = "Rows deleted by retention since start.",
       .kind = MW_METRIC_COUNTER,
       .counter = &retention_deleted},
      {.name = "meanwhile_ingest_resent_total",
       .help = "Trace export requests whose body was stored in the last 10 minutes (an exporter's retry): "
               "answered as accepted, not stored again (--span-blocks on only).",
       .kind = MW_METRIC_COUNTER,
       .counter = &resent_jobs},
      {.name = "meanwhile_ingest_resent_spans_total",
       .help = "Spans of those requests (not in meanwhile_spans_accepted_total).",
       .kind = MW_METRIC_COUNTER,
       .counter = &resent_spans},
  };
  enum { N_STORE = sizeof store / sizeof store[0] };
  mw_metric_desc all[MW_METRICS_MAX_FIRST + N_STORE];
  memcpy(all, first, n_first * sizeof *first);
  memcpy(all + n_first, store, sizeof store);
  mw__answer_bytes(out, "text/plain; version=0.0.4; charset=utf-8", (size_t)4 << 20);
  if (mw__metrics_render(&out->body, all, n_first + N_STORE) != MW_OK)
    return mw__answer_fail(out, MW_EIO, "rendering metrics failed");
  if (render_sources(&out->body, s ? mw__store_rules(s) : NULL) != MW_OK)
    return mw__answer_fail(out, MW_EIO, "rendering the per-source runtime metrics failed");
  return MW_OK;
}
