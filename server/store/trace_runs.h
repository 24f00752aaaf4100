/* The trace index in sorted runs (docs/STORAGE-NOTES.md §7): trace key -> the
 * blocks holding spans of that trace. The writer (writer.c) flushes its
 * partition and merges runs; readers (reader.c, runtime_write.c) look up.
 *
 * The trace key is the first 8 bytes of the 16-byte trace id, big-endian, as
 * a signed 64-bit integer (SQLite's INTEGER order is then the byte order).
 * Two trace ids that share their first 8 bytes share a key: a lookup returns
 * CANDIDATE blocks, and the caller must check the full trace id of each span
 * it reads from them (it decodes the block's trace-id column anyway). A
 * lookup can also return blocks that retention has deleted since (a run is
 * dropped whole when its newest block is past retention): the caller skips
 * block ids it cannot find.
 *
 * Three parts:
 * - the open partition (mw__truns_mem): in memory, owned by the writer, a
 *   hash of (trace key, block id) without duplicates. It can be rebuilt from
 *   the blocks sealed since the last run (and the tail), so it is not durable.
 * - writing (mw__truns_w, on the writer's connection, inside the caller's
 *   transaction): flush the partition as one sorted run, merge aged runs into
 *   one run of the next level a bounded batch at a time, drop runs by time or
 *   entries by block.
 * - reading (mw__truns_rd, on any connection): the runs of the connection's
 *   snapshot plus, optionally, a partition.
 *
 * Tables (schema/sql/0008_span_blocks.sql):
 *   trace_runs (run_id, trace_key, block_id) WITHOUT ROWID, primary key in
 *     that order: a flushed or merged run is inserted in key order, so it is
 *     appended at the right edge of the B-tree and written once.
 *   trace_run_list (run_id, level, first_ns, last_ns, entries, into_run): one
 *     row a run. level 0 = flushed, n+1 = merged from level n, -1 = dropped
 *     (its entries are being deleted a batch at a time; lookups skip it).
 *     first_ns/last_ns bound the times of the blocks of the run (as add()
 *     was told). into_run: while a merge is under way, the run it is being
 *     merged into (lookups read both: the copy holds only entries that are
 *     still in its sources). */
#ifndef MW_STORE_TRACE_RUNS_H
#define MW_STORE_TRACE_RUNS_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The trace key of a 16-byte trace id: its first 8 bytes, big-endian. */
int64_t mw__trace_key(const uint8_t trace_id[16]);

/* ---- the open partition ---------------------------------------------------- */

typedef struct mw__truns_mem mw__truns_mem;

mw__truns_mem *mw__truns_mem_new(void);
void mw__truns_mem_free(mw__truns_mem *m);
/* Adds (key, block) once; block_id >= 0; [first_ns, last_ns] is the block's
 * time range (it widens the partition's). Returns 0 or MW_ENOMEM/MW_EINVAL. */
int mw__truns_add(mw__truns_mem *m, int64_t trace_key, int64_t block_id, int64_t first_ns, int64_t last_ns);
/* Distinct entries held. */
size_t mw__truns_mem_count(const mw__truns_mem *m);
/* Forgets every entry (after the caller COMMITted the flush of it). */
void mw__truns_mem_clear(mw__truns_mem *m);
/* Forgets the entries of blocks lo..hi (inclusive); *dropped = how many.
 * Returns 0 or MW_ENOMEM (then nothing is forgotten). */
int mw__truns_mem_drop_blocks(mw__truns_mem *m, int64_t lo, int64_t hi, size_t *dropped);

/* The block ids of trace_key in m alone (no SQLite): sorted, without
 * duplicates, at most cap in out, *n = how many stored. For the partitions
 * mw__truns_lookup does not take (the retired ones, each open block's keys);
 * the caller merges them with its answer. Returns 0, or MW_ETOOBIG when more
 * than cap blocks matched (out holds cap of them, sorted). */
int mw__truns_mem_find(const mw__truns_mem *m, int64_t trace_key, int64_t *out, size_t cap, size_t *n);

/* ---- writing (the writer's connection) ------------------------------------- */

typedef struct mw__truns_w mw__truns_w;

/* Prepares the writer's statements on db (the tables must exist). */
int mw__truns_w_open(sqlite3 *db, mw__truns_w **out);
void mw__truns_w_close(mw__truns_w *w);
/* Writes the partition as one level-0 run, its entries inserted in key
 * order, inside the caller's transaction; *run_id = the new run (or 0 when
 * the partition is empty: nothing written). It does NOT clear m: the caller
 * clears it once its transaction committed, and keeps it after a ROLLBACK
 * (readers of the older snapshot still need the entries from memory).
 * Returns 0, MW_EIO, MW_EFULL or MW_ENOMEM. */
int mw__truns_flush(mw__truns_w *w, const mw__truns_mem *m, int64_t *run_id);

typedef struct mw__truns_merge_opts {
  int level;         /* merge runs of this level ... */
  int64_t before_ns; /* ... whose last_ns < before_ns ... */
  size_t min_runs;   /* ... when there are at least this many (>= 2) ... */
  size_t max_runs;   /* ... at most this many at once, oldest first */
  size_t budget;     /* entries read in one call (about; >= 64) */
} mw__truns_merge_opts;

/* The writer's schedule (writer.c maintain_runs; bench-query-gen follows
 * it): the 8 oldest runs of a level 0..3 are merged into one run of the next,
 * whatever their age; level-4 runs stay. Sets *o for level. */
enum { MW_TRUNS_FANIN = 8, MW_TRUNS_MERGED_LEVELS = 4 };
void mw__truns_schedule(int level, size_t budget, mw__truns_merge_opts *o);

/* One bounded step of maintenance, inside the caller's transaction, in this
 * order: delete up to budget entries of dropped runs; else continue the merge
 * under way (whatever its level); else start merging the runs o names into
 * one run of level + 1. *work = entries read or deleted (0: nothing to do).
 * The writer calls it between commits until *work is 0. A merge writes its
 * run in key order (appends) and needs no state outside the tables: it can
 * stop at any commit and go on after a restart. Returns 0 or an error. */
int mw__truns_maintain(mw__truns_w *w, const mw__truns_merge_opts *o, size_t *work);

/* Retention: every run whose last_ns < before_ns (and that is not being
 * merged) is marked dropped: lookups stop reading it at once; its entries are
 * deleted by later mw__truns_maintain() calls, and their pages go to the free
 * list (retention's incremental vacuum gives them back). *runs = how many. */
int mw__truns_drop_before(mw__truns_w *w, int64_t before_ns, size_t *runs);
/* Deletes the entries of blocks lo..hi (inclusive) from the runs that overlap
 * [first_ns, last_ns]: reads each such run whole (a run is ~100k entries), so
 * meant for rare cases (a source deleted); time-based retention uses
 * mw__truns_drop_before. *entries = how many deleted. */
int mw__truns_drop_blocks(mw__truns_w *w, int64_t lo, int64_t hi, int64_t first_ns, int64_t last_ns, size_t *entries);

/* ---- reading (any connection) ---------------------------------------------- */

typedef struct mw__truns_rd mw__truns_rd;

enum mw__truns_how {
  MW_TRUNS_ONE_STATEMENT = 0, /* run_id IN (SELECT live runs) AND trace_key = ?: one statement */
  MW_TRUNS_LOOP = 1,          /* the live runs, then one seek statement per run */
};

int mw__truns_rd_open(sqlite3 *db, mw__truns_rd **out);
void mw__truns_rd_close(mw__truns_rd *r);
/* The candidate blocks of trace_key (see the top of this file): from m (may
 * be NULL) and every live run of the connection's snapshot; sorted, without
 * duplicates, at most cap in out, *n = how many stored. Reads one B-tree seek
 * per run plus its matches. Returns 0, MW_ETOOBIG when more than cap blocks
 * matched (out holds the first cap found, unsorted), or MW_EIO. */
int mw__truns_lookup(mw__truns_rd *r, const mw__truns_mem *m, int64_t trace_key, int how, int64_t *out, size_t cap,
                     size_t *n);
/* Live runs (level >= 0) in the connection's snapshot, or -1. */
int64_t mw__truns_run_count(mw__truns_rd *r);

#endif
