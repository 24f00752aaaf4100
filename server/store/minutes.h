/* The per-minute rollups of runtime data (runtime_minutes,
 * schema/sql/0007_runtime_minutes.sql; the sums are model/minutes.h's).
 *
 * Writing runs on the writer's connection inside its transaction: the
 * runtime writer adds the rows it inserts to a minute and merges the minute
 * into its row (read, add, write back: one indexed lookup and one write per
 * minute a batch touches). Rebuilding recomputes a source's minutes over a
 * time range from its rows: the backfill of a database made before the
 * rollups, and a learned source link (which moves rows between sources).
 * Reading is one indexed range read, in the caller's read transaction. */
#ifndef MW_STORE_MINUTES_H
#define MW_STORE_MINUTES_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/minutes.h"
#include "store/store.h"

/* The statements a merge needs, prepared once by the caller. */
typedef struct mw__minutes_stmts {
  sqlite3_stmt *get, *put, *prev_gc;
} mw__minutes_stmts;

int mw__minutes_prepare(sqlite3 *db, mw__minutes_stmts *s, unsigned flags);
void mw__minutes_finalize(mw__minutes_stmts *s);

/* Merges m (its histogram too, when m->hist) into the row of (source_id,
 * m->time_ns), creating it. Returns 0 or MW_EIO. */
int mw__minutes_put(sqlite3 *db, mw__minutes_stmts *s, int64_t source_id, const mw_minute *m);

/* The source's last cycle that started before before_ns into *out: 1 when
 * there is one, 0 when not, MW_EIO. */
int mw__minutes_prev_cycle(sqlite3 *db, mw__minutes_stmts *s, int64_t source_id, int64_t before_ns, mw_gc_cycle *out);

/* Rows added one minute at a time: mw__minutes_at makes the minute of t the
 * current one (writing the one before when it differs); add to cur; flush
 * at the end. hist: MW_PH_KEYS counts of the caller's, or NULL (pauses not
 * kept). Rows need not come in order: a minute written twice is merged. */
typedef struct mw__minutes_acc {
  sqlite3 *db;
  mw__minutes_stmts *s;
  int64_t source_id;
  mw_minute cur;
  uint32_t *hist;
  int open;
  int64_t made; /* minutes written */
} mw__minutes_acc;
int mw__minutes_at(mw__minutes_acc *p, int64_t t);
int mw__minutes_flush(mw__minutes_acc *p);

/* Deletes the source's minutes in [lo, hi) (times are rounded out to whole
 * minutes) and makes them anew from its GC cycles, snapshots and execution
 * traces. Returns 0 or MW_EIO / MW_ENOMEM. */
int mw__minutes_rebuild(sqlite3 *db, int64_t source_id, int64_t lo, int64_t hi);

/* Rebuilds every source's minutes (the backfill); *minutes gets the rows made. */
int mw__minutes_backfill(sqlite3 *db, int64_t *minutes);

/* A minute as read: its sums and its encoded pause histogram (arena). */
typedef struct mw_minute_row {
  mw_minute m;
  const uint8_t *hist;
  size_t hist_len;
} mw_minute_row;

/* The source's minutes in [start, end) (by minute_ns), oldest first, at most
 * limit (*more when there were more). */
int mw__store_minutes(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                      mw_minute_row **out, size_t *n, int *more);

/* How many GC cycles and goroutine snapshots (kind goroutine) the source has
 * in [start, end), each counted up to cap (cap + 1 meaning "more"). */
int mw__store_raw_counts(mw_read *rd, int64_t source_id, int64_t start_ns, int64_t end_ns, int64_t cap, int64_t *cycles,
                         int64_t *snapshots);

/* The source's last GC cycle that started before before_ns: 1 and *out,
 * 0 when there is none, or an error. */
int mw__store_gc_before(mw_read *rd, int64_t source_id, int64_t before_ns, mw_gc_cycle *out);

/* The start of the source's first and last GC cycle in [start, end);
 * MW_ENOTFOUND when there is none. */
int mw__store_gc_span(mw_read *rd, int64_t source_id, int64_t start_ns, int64_t end_ns, int64_t *first, int64_t *last);

#endif
