/* Retention (retention.c): old data deleted in small batches on the writer's
 * connection, between its group commits. The writer decides when a batch
 * runs (mw__retention_due) and forgets the ids it cached that a batch may
 * have deleted. */
#ifndef MW_STORE_RETENTION_H
#define MW_STORE_RETENTION_H
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

typedef struct mw__bw mw__bw;           /* store/block_write.h */
typedef struct mw__truns_w mw__truns_w; /* store/trace_runs.h */

typedef struct mw__retention {
  int64_t keep_ns;          /* delete data older than this; 0 = keep */
  int64_t every_ns;         /* how often a pass starts (0: every minute) */
  uint64_t max_db_bytes;    /* delete the oldest data while larger; 0 = no limit */
  int64_t last_ns;          /* monotonic time of the last batch */
  int more;                 /* the last batch left work behind */
  int dirty;                /* deleted something since the last checkpoint request */
  _Atomic uint64_t deleted; /* rows deleted since start (read by any thread) */
  mw__bw *bw;               /* the writer's block writer and trace runs on the same */
  mw__truns_w *runs;        /* connection (mw__retention_use), or NULL: opened per batch */
} mw__retention;

/* Sets the bounds; the first pass comes soon after. */
void mw__retention_init(mw__retention *r, int64_t keep_ns, int64_t every_ns, uint64_t max_db_bytes);
/* Lends retention the writer's seal and trace-run handles, prepared on the
 * connection the batches run on (either may be NULL; they must outlive the
 * batches). Without them, a batch that finds blocks or runs to delete
 * prepares its own for that batch. */
void mw__retention_use(mw__retention *r, mw__bw *bw, mw__truns_w *runs);
/* 1 when a batch should run now: a pass is due, or the last left work. */
int mw__retention_due(const mw__retention *r);
/* One batch in its own transaction on db (the writer's, outside a
 * transaction): per source, whole span blocks that ended before the cutoff
 * (at most 8), then old span rows and runtime data, within a budget of rows;
 * at a pass's first batch the trace runs that ended before the cutoff are
 * dropped, and each batch deletes a bounded step of dropped runs' entries.
 * *more is set when old data (or free pages) remain,
 * *ops_gone when an operation was deleted with its last span. Returns 0 or
 * an error. */
int mw__retention_batch(mw__retention *r, sqlite3 *db, int *more, int *ops_gone);

/* The statements over blocks and operations (for the plan checks of
 * test_retention_blocks). */
extern const char *const mw__retention_sql[];
extern const size_t mw__retention_sql_count;

#endif
