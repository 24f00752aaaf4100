/* Handing what a request decoded to the store's writer: the write job and
 * its cost in the writer's queue, and whether new ingest is refused before
 * its body is read because the queue is nearly full. The HTTP layer commits
 * through this, never through the store itself. */
#ifndef MW_INGEST_COMMIT_H
#define MW_INGEST_COMMIT_H
#include <stddef.h>
#include <stdint.h>

#include "model/runtime_batch.h"
#include "model/span.h"
#include "store/store.h"

/* Makes job the write of a span batch / a runtime batch that holds `bytes`
 * of memory (the request's arena). */
void mw__ingest_job_spans(mw_write_job *job, mw_span_batch *b, size_t bytes);
void mw__ingest_job_runtime(mw_write_job *job, mw_runtime_batch *b, size_t bytes);
/* Queues job; done(job, rc) runs on the writer's thread once it is committed
 * (rc 0) or failed, and must not block. Returns 0, MW_EBUSY (the queue is
 * over its bounds: retry later) or MW_ESHUTDOWN; done is called iff 0. */
int mw__ingest_submit(mw_store *s, mw_write_job *job, void (*done)(mw_write_job *job, int rc), void *user);
/* 1 when new ingest is to be refused at its headers: the write queue is at
 * 80% of its bounds, which leaves room for the requests being decoded now. */
int mw__ingest_refused(mw_store *s);
/* Takes the early-warning requests pending for source_id (model/rules.h:
 * bit 1 << rule each), for the answer to its push; 0 without rules. */
unsigned mw__ingest_take_requests(mw_store *s, int64_t source_id);

#endif
