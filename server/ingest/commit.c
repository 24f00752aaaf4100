/* Write jobs (see commit.h). */
#include "ingest/commit.h"
#include "core/timefmt.h"
#include "model/rules.h"

void mw__ingest_job_spans(mw_write_job *job, mw_span_batch *b, size_t bytes) {
  job->kind = MW_JOB_SPANS;
  job->payload = b;
  job->cost_spans = b->n_rows;
  job->cost_bytes = bytes;
}

void mw__ingest_job_runtime(mw_write_job *job, mw_runtime_batch *b, size_t bytes) {
  job->kind = MW_JOB_RUNTIME;
  job->payload = b;
  /* a record costs the writer about what a span does; the snapshot row one more */
  job->cost_spans = 0;
  for (; b; b = b->next) job->cost_spans += b->n_gc + b->n_sched + b->n_groups + b->n_samples + 1;
  job->cost_bytes = bytes;
}

int mw__ingest_submit(mw_store *s, mw_write_job *job, void (*done)(mw_write_job *job, int rc), void *user) {
  job->done = done;
  job->user = user;
  return mw__store_submit(s, job);
}

int mw__ingest_refused(mw_store *s) { return mw__store_full(s, 80); }

unsigned mw__ingest_take_requests(mw_store *s, int64_t source_id) {
  mw_rules *rules = mw__store_rules(s);
  return rules && source_id >= 0 ? mw__rules_take(rules, source_id, mw__now_ns()) : 0;
}
