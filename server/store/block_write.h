/* Sealing a block (docs/STORAGE-WIRING.md §2 step 3): the spans of one source
 * become one span_blocks row, one block_ops row per operation, the slow_spans
 * rows of its slow spans, and trace index entries in a partition. Used by the
 * writer, the tests and bench-query-gen, on the write connection and inside
 * the caller's transaction (a failure leaves rows half written: the caller
 * rolls back its savepoint or transaction).
 *
 * And the reader of block_ops.refs, the per-operation span list: for each span
 * of the operation in the block, ordered by (start, index),
 *   varint index in the block, varint start - the previous span's start (the
 *   first span: start - the block's first_ns), varint dur_ns
 * (LEB128, unsigned; the two times as uint64 mod 2^64, so any int64 comes
 * back). The start as a delta from the previous takes 8.9 B/span on the
 * corpus where start - first_ns took 10.0 (bench-block --seal). A reader
 * answers counts, percentiles, windows and longest spans of an operation from
 * it without opening the block; mw__refs_next gives absolute starts. */
#ifndef MW_STORE_BLOCK_WRITE_H
#define MW_STORE_BLOCK_WRITE_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store/span_block.h"
#include "store/trace_runs.h"

/* ---- sealing (the write connection) ----------------------------------------- */

/* The seal's prepared statements and scratch (an encoder, buffers), reused
 * from block to block: one per write connection and thread. */
typedef struct mw__bw mw__bw;

/* The statements it prepares (for the plan checks of test_block_write). */
extern const char *const mw__bw_sql[];
extern const size_t mw__bw_sql_count;

/* Prepares on db (migrated to 0008). Returns 0, MW_ENOMEM or MW_EIO. */
int mw__bw_open(sqlite3 *db, mw__bw **out);
void mw__bw_close(mw__bw *w);

/* An operation's slow threshold: spans of op_id lasting >= *slow_ns get a
 * slow_spans row (the writer's op_slow: operations.slow_ns). Returns 0 or an
 * error, which the seal returns. */
typedef int (*mw__bw_slow_fn)(void *user, int64_t op_id, int64_t *slow_ns);

typedef struct mw__bw_sealed {
  int64_t block_id;          /* span_blocks.id */
  int64_t first_ns, last_ns; /* min start, max end (saturated) */
  size_t n, ops, slow;       /* spans, block_ops rows, slow_spans rows inserted (not ignored) */
  size_t data_bytes;         /* span_blocks.data */
  size_t refs_bytes;         /* all block_ops.refs of the block */
} mw__bw_sealed;

/* Seals spans[0..n) (n 1..MW__SB_MAX_SPANS, any order; each with its op_id)
 * of source source_id:
 *   INSERT span_blocks (source_id, first_ns, last_ns, n, format 1, data);
 *   per operation: INSERT block_ops (op_id, first_ns = the block's, block_id,
 *     last_ns = the max end of the operation's spans in the block, n,
 *     max_dur_ns, slow_ns = slow(op) (INT64_MAX when slow is NULL), refs);
 *   per span with dur_ns >= slow(op): INSERT OR IGNORE slow_spans (op_id,
 *     dur_ns, span_rowid = mw__sref_block(block_id, index), start_ns);
 *     slow NULL: no slow_spans rows;
 *   mem not NULL: mw__truns_add of each distinct trace key (mw__bw_add_keys).
 * The writer passes mem NULL and adds the keys once its transaction has
 * committed. Index = the span's place in the block: its place in
 * mw__sb_order's order of spans. Returns 0, MW_EINVAL (n), MW_ETOOBIG,
 * MW_ENOMEM, MW_EIO or MW_EFULL. */
int mw__bw_seal(mw__bw *w, int64_t source_id, const mw__sb_span *spans, size_t n, mw__bw_slow_fn slow, void *user,
                mw__truns_mem *mem, mw__bw_sealed *out);

/* mw__truns_add(mem, key, block_id, first_ns, last_ns) for each distinct
 * trace key of spans[0..n). Returns 0 or MW_ENOMEM (then some may be added:
 * the partition ignores repeats). */
int mw__bw_add_keys(mw__truns_mem *mem, const mw__sb_span *spans, size_t n, int64_t block_id, int64_t first_ns,
                    int64_t last_ns);

/* Retention's delete of a sealed block: its slow_spans rows (the refs entries
 * of each block_ops row lasting >= its slow_ns, deleted by key: exactly the
 * rows the seal inserted), its block_ops rows, its span_blocks row. each_op
 * (may be NULL) is told each operation and its span count in the block (for
 * operations.span_count). *slow_deleted = slow_spans rows deleted. Inside the
 * caller's transaction. Returns 0, MW_ENOTFOUND (no such block; its other
 * rows, if any, are deleted), MW_EIO (a malformed refs blob, or SQLite),
 * MW_EFULL, or each_op's error. */
typedef int (*mw__bw_op_fn)(void *user, int64_t op_id, int64_t n);
int mw__bw_delete(mw__bw *w, int64_t block_id, mw__bw_op_fn each_op, void *user, size_t *slow_deleted);

/* The durations of an operation's latest sealed spans, newest first, at most
 * cap into out (*n of them): its block_ops rows by block first_ns, newest
 * first, each row's spans from its latest start back (blocks overlap by up to
 * their start range, so "latest" is by block, then by start). For the
 * writer's slow threshold (raise_slow: the p90 of the latest 1,024), which
 * read them from spans before blocks. Returns 0, MW_EIO (a malformed refs
 * blob, SQLite) or MW_ENOMEM. */
int mw__bw_recent_durs(mw__bw *w, int64_t op_id, int64_t *out, size_t cap, size_t *n);

/* ---- block_ops.refs ----------------------------------------------------------- */

typedef struct mw__ref {
  uint32_t index; /* in the block: mw__sref_block(block_id, index), mw__sb_get(b, index) */
  int64_t start_ns, dur_ns;
} mw__ref;

typedef struct mw__refs_it {
  const uint8_t *p, *end;
  int64_t prev_ns; /* the previous span's start (at first: the block's first_ns) */
} mw__refs_it;

/* Reads refs[0..len) of a block whose first_ns (block_ops.first_ns) is given. */
void mw__refs_init(mw__refs_it *it, const uint8_t *refs, size_t len, int64_t block_first_ns);
/* The next span: 1 (*out set), 0 (no more) or MW_EIO (a malformed blob: a
 * varint cut short or past 64 bits, an index past 65,535). */
int mw__refs_next(mw__refs_it *it, mw__ref *out);

#endif
