/* The /metrics answer (see metrics.h). */
#include "query/metrics.h"
#include "core/error.h"

#include <string.h>

static const double commit_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};
static mw_histogram commit_seconds = MW_HISTOGRAM_INIT(commit_bounds);
static mw_gauge queue_spans, queue_jobs, db_bytes, used_bytes;
static mw_counter retention_deleted;

static void observe_commit(double seconds, size_t jobs, size_t spans) {
  mw__histogram_observe(&commit_seconds, seconds);
  (void)jobs, (void)spans;
}

void mw__q_metrics_attach(mw_store *s) { mw__store_on_commit(s, observe_commit); }

int mw__q_metrics(mw_store *s, const mw_metric_desc *first, size_t n_first, mw_answer *out) {
  mw__answer_init(out);
  if (n_first > MW_METRICS_MAX_FIRST) return mw__answer_fail(out, MW_EINVAL, "too many metrics to render");
  mw_store_stats st;
  mw__store_stats(s, &st);
  mw__gauge_set(&queue_spans, (int64_t)st.queue_spans);
  mw__gauge_set(&queue_jobs, (int64_t)st.queue_jobs);
  mw__gauge_set(&db_bytes, (int64_t)st.db_bytes);
  mw__gauge_set(&used_bytes, (int64_t)st.used_bytes);
  atomic_store(&retention_deleted.v, st.retention_deleted);
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
  };
  enum { N_STORE = sizeof store / sizeof store[0] };
  mw_metric_desc all[MW_METRICS_MAX_FIRST + N_STORE];
  memcpy(all, first, n_first * sizeof *first);
  memcpy(all + n_first, store, sizeof store);
  mw__answer_bytes(out, "text/plain; version=0.0.4; charset=utf-8", (size_t)1 << 20);
  if (mw__metrics_render(&out->body, all, n_first + N_STORE) != MW_OK)
    return mw__answer_fail(out, MW_EIO, "rendering metrics failed");
  return MW_OK;
}
