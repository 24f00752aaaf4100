/* The writer's spans in memory and the readers' view of them (issue 17,
 * docs/STORAGE-WIRING.md §2 "the writer's flow" and §3 "who owns what").
 *
 * What it holds (one mw__blk, owned by the writer, shared with the readers):
 * - per source, the OPEN block: the spans not yet sealed into span_blocks
 *   (they are durable in span_tail), at most MW_BLK_MAX_SPANS, in chunks of
 *   MW_BLK_CHUNK spans that never move, bodies in the block's own arena, and
 *   the set of its trace keys (a mw__truns_mem with block id 0);
 * - the partition `mem`: (trace key -> block id) of the blocks sealed since
 *   the last flush to trace_runs;
 * - RETIRED items: blocks sealed and partitions flushed, kept in memory,
 *   stamped with the commit that made them durable, until no reader can
 *   still need them (mw__blk_free_retired).
 *
 * Commits. commit_seq counts the writer's commits that changed this memory.
 * The writer changes nothing a reader sees inside its transaction: it STAGES
 * (appends past the published count, seals, a flush) and, after COMMIT,
 * mw__blk_apply publishes everything under the write lock with commit_seq + 1
 * as the stamp; after a ROLLBACK mw__blk_txn_rollback drops the staging (and
 * mw__blk_job_rollback one job's, for a ROLLBACK TO its savepoint).
 *
 * The reader rule (V). A read transaction loads seq_at_begin = commit_seq
 * BEFORE its BEGIN (readers.c), so its database snapshot is at least as new
 * as that commit (and, almost always, exactly that commit: readers.c checks
 * mw__blk_started after the snapshot is taken and begins again when a commit
 * came in between). A view of memory taken at any time while the transaction
 * is open returns memory as it was at seq_at_begin: the spans the open blocks
 * held then (not those appended since) AND the retired items whose stamp >
 * seq_at_begin: whatever left memory in a commit the snapshot may not hold is
 * still there, so a span is always found in memory or in the snapshot (or,
 * when the snapshot is newer than seq_at_begin, both: callers drop duplicates
 * by span id or block id). A read thus sees one state, as without blocks. The
 * writer frees a retired item once its stamp <= mw__readers_min_seq(), so
 * every pointer a view hands out stays valid until the reader's transaction
 * ends or yields (mw__read_yield): never keep a view across either.
 *
 * Threads: the mw__blk_view_* / mw__blk_trace_probe / mw__blk_seq calls are
 * for any thread (they take the read lock for the µs of a copy, never across
 * SQLite); every other call is the writer thread's. */
#ifndef MW_STORE_BLOCKS_H
#define MW_STORE_BLOCKS_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <zstd.h>

#include "core/arena.h"
#include "core/buf.h"
#include "store/span_block.h"
#include "store/trace_runs.h"

enum {
  MW_BLK_CHUNK = 128,                              /* spans per chunk */
  MW_BLK_MAX_SPANS = 1024,                         /* a block is sealed before it would pass this */
  MW_BLK_CHUNKS = MW_BLK_MAX_SPANS / MW_BLK_CHUNK, /* chunks per block */
};
#define MW_BLK_MAX_AGE_NS ((int64_t)60 * 1000000000)         /* sealed at this age (monotonic) */
#define MW_BLK_MAX_START_SPAN_NS ((int64_t)120 * 1000000000) /* max start - min start of a block */
#define MW_BLK_MAX_BYTES ((size_t)4 << 20)                   /* raw bodies of a block */
#define MW_BLK_OPEN_MAX_BYTES ((size_t)256 << 20)            /* all open blocks' bodies: past it, seal the oldest */
#define MW_BLK_FLUSH_NS ((int64_t)600 * 1000000000)          /* partition flushed this often */
#define MW_BLK_FLUSH_ENTRIES ((size_t)32768) /* ... or at this many: a flush is one short commit, the hash 1 MiB */

typedef struct mw__blk mw__blk;

mw__blk *mw__blk_new(void); /* NULL: out of memory */
/* Frees everything (no reader may hold a view). */
void mw__blk_free(mw__blk *b);

/* The commit sequence now (atomic; 0 when b is NULL). */
int64_t mw__blk_seq(mw__blk *b);
/* The commit sequence, or the next one while the writer runs the COMMIT that
 * will make it (atomic; 0 when b is NULL). A read transaction that loaded
 * seq = mw__blk_seq before BEGIN and finds mw__blk_started == seq after its
 * snapshot is taken has a snapshot of exactly commit seq (readers.c). */
int64_t mw__blk_started(mw__blk *b);
/* The writer, right before a COMMIT whose staging it will apply (or drop
 * with mw__blk_txn_rollback when it fails). */
void mw__blk_commit_begin(mw__blk *b);

/* ---- the readers' side: the view V ---------------------------------------- */

/* One block as a reader sees it at its seq: spans 0..n-1 in append order
 * (not the sealed block's order: see index). */
typedef struct mw__blk_ref {
  int64_t source_id;
  int64_t block_id;      /* 0: open when the view was taken; else span_blocks.id (retired) */
  int64_t stamp;         /* retired: the commit that sealed it; 0 open */
  size_t n;              /* spans readable through mw__blk_span(ref, 0..n-1) */
  int64_t first_ns;      /* min start of those n */
  int64_t last_ns;       /* max start + dur of those n */
  const uint32_t *index; /* retired: index[i] = span i's index in the sealed block (its sref's); NULL open */
  const mw__sb_span *chunk[MW_BLK_CHUNKS];
} mw__blk_ref;

/* Span i (< ref->n) of a ref. body points into the block's arena: valid as
 * long as the view (until the reader's transaction ends or yields). */
static inline const mw__sb_span *mw__blk_span(const mw__blk_ref *r, size_t i) {
  return &r->chunk[i / MW_BLK_CHUNK][i % MW_BLK_CHUNK];
}

typedef struct mw__blk_view {
  mw__blk_ref *v; /* in the caller's arena: the open blocks, then the retired ones (newest first) */
  size_t n;
  size_t n_open; /* v[0..n_open) are open, v[n_open..n) retired */
} mw__blk_view;

/* The open blocks (with at least one span) of source, or of every source
 * when source is 0, and the retired blocks of the same source(s) whose stamp
 * > seq (the reader's seq_at_begin: mw_read.seq_at_begin). A retired block
 * may also be visible in span_blocks in the reader's snapshot: a caller that
 * reads both skips a retired block whose id it finds there (or drops
 * duplicates by span id). b NULL: an empty view. Returns 0 or MW_ENOMEM. */
int mw__blk_view_take(mw__blk *b, int64_t seq, mw_arena *a, int64_t source, mw__blk_view *out);

/* What memory says about one trace key (TR(id), STORAGE-WIRING §1). */
typedef struct mw__blk_trace {
  /* blocks to read from memory: the open blocks and the retired blocks
   * (stamp > seq) whose trace-key set holds the key */
  mw__blk_ref *refs;
  size_t n_refs;
  /* candidate block ids from the partition mem and the retired partitions
   * (stamp > seq): sorted, without duplicates. A block id that is also a
   * refs[k].block_id must be read from the ref, not from span_blocks (the
   * reader's snapshot may predate its seal); others: SELECT ... FROM
   * span_blocks WHERE id = ?, skipping a missing one. Merge with
   * mw__truns_lookup(rd, NULL, key, ...) for the runs of the snapshot. */
  int64_t *ids;
  size_t n_ids;
} mw__blk_trace;

/* Probes the open blocks' keys, the retired blocks' keys, mem and the
 * retired partitions for trace_key (mw__trace_key of the id: candidates,
 * check the full trace id of each span). At most cap ids and cap refs.
 * Returns 0, MW_ETOOBIG (more than cap matched: what fit is stored) or
 * MW_ENOMEM. */
int mw__blk_trace_probe(mw__blk *b, int64_t seq, mw_arena *a, int64_t trace_key, size_t cap, mw__blk_trace *out);

/* ---- the writer's side ------------------------------------------------------ */

/* Staging, inside the writer's transaction. */
void mw__blk_txn_begin(mw__blk *b);
/* Marks the start of a job (after SAVEPOINT job); mw__blk_job_rollback
 * undoes the staging done since (with ROLLBACK TO job). */
void mw__blk_job_begin(mw__blk *b);
void mw__blk_job_rollback(mw__blk *b);
/* After a ROLLBACK of the whole transaction: memory is as before txn_begin. */
void mw__blk_txn_rollback(mw__blk *b);
/* After COMMIT: publishes the staged spans (their keys into the blocks'
 * sets), retires the blocks sealed (their keys into mem) and the partition
 * flushed, stamped commit_seq + 1, under the write lock. Returns 0, or
 * MW_ENOMEM when a key could not be added (logged: the spans are durable,
 * but a trace lookup may miss them until a restart rebuilds mem). */
int mw__blk_apply(mw__blk *b);

/* Why a source's staged open block must be sealed before next is appended
 * (next NULL: the idle check): 0 not, else one of these. now_mono_ns: the
 * writer's monotonic clock (injectable in tests). */
enum {
  MW_BLK_SEAL_FULL = 1, /* MW_BLK_MAX_SPANS spans */
  MW_BLK_SEAL_AGE,      /* opened MW_BLK_MAX_AGE_NS ago */
  MW_BLK_SEAL_RANGE,    /* next's start would widen the start range past MW_BLK_MAX_START_SPAN_NS */
  MW_BLK_SEAL_BYTES,    /* next's body would take the bodies past MW_BLK_MAX_BYTES */
};
int mw__blk_must_seal(mw__blk *b, int64_t source, const mw__sb_span *next, int64_t now_mono_ns);

/* Stages one span at the end of source's open block (opened, staged, when
 * the source has none; its age counts from now_mono_ns). The body is copied.
 * The caller checks mw__blk_must_seal first. Returns 0, MW_ENOMEM or
 * MW_ETOOBIG (the block is full: a caller's bug). */
int mw__blk_stage_span(mw__blk *b, int64_t source, const mw__sb_span *s, int64_t now_mono_ns);
/* Notes that source's staged spans so far are durable in span_tail up to
 * row seq (one row per request and block, written by the caller). */
void mw__blk_stage_tail(mw__blk *b, int64_t source, int64_t seq);

/* The staged open block of source, to seal: its spans in append order
 * (*spans points at scratch owned by b, valid until the next call; bodies in
 * the block's arena), their count and the last span_tail seq they are in.
 * Returns 0, or MW_ENOTFOUND when the source has no staged span. */
int mw__blk_seal_input(mw__blk *b, int64_t source, const mw__sb_span **spans, size_t *n, int64_t *last_tail_seq);
/* The block was written as span_blocks row block_id (and its tail rows
 * deleted) in this transaction: staged as sealed; the source has no open
 * block until its next span. Returns 0 or MW_ENOMEM. */
int mw__blk_stage_sealed(mw__blk *b, int64_t source, int64_t block_id);
/* The sources whose staged block is due for sealing at now (age), up to cap
 * in out; returns how many there are (may be more than cap). */
size_t mw__blk_due(mw__blk *b, int64_t now_mono_ns, int64_t *out, size_t cap);
/* The sources whose staged open block holds only spans that ended before
 * before_ns (retention's cutoff: late or backfilled data), as mw__blk_due. */
size_t mw__blk_ended_before(mw__blk *b, int64_t before_ns, int64_t *out, size_t cap);
/* Every source with a staged open block (the close path), as mw__blk_due. */
size_t mw__blk_sources(mw__blk *b, int64_t *out, size_t cap);
/* The source whose staged open block was opened first (ties: any), for
 * MW_BLK_OPEN_MAX_BYTES. Returns 0 or MW_ENOTFOUND (no open block). */
int mw__blk_oldest(mw__blk *b, int64_t *source);
/* The (start, duration) of the spans of operation op in the open blocks
 * (staged: this transaction's too), up to cap pairs in starts/durs (the
 * newest of each block first); returns how many were stored. For the
 * writer's slow-span threshold. */
size_t mw__blk_op_durs(mw__blk *b, int64_t op, int64_t *starts, int64_t *durs, size_t cap);
/* The source whose open block (staged: this transaction's spans too) holds
 * the span (trace_id, span_id): for the writer's learned_source
 * (runtime_write.c), before it looks in sealed blocks (mw__blk_mem, the runs,
 * span_blocks). One key probe per source with an open block. Returns 0 or
 * MW_ENOTFOUND. */
int mw__blk_span_source(mw__blk *b, const uint8_t trace_id[16], const uint8_t span_id[8], int64_t *source);
/* Spans and raw body bytes in the open blocks (staged). */
void mw__blk_usage(mw__blk *b, size_t *spans, size_t *bytes);

/* The partition (the writer's own reads, and mw__truns_flush). */
const mw__truns_mem *mw__blk_mem(mw__blk *b);
/* The partition was flushed to trace_runs in this transaction (nothing else
 * may be staged in it): on apply, it is retired and a new empty one starts. */
void mw__blk_stage_flush(mw__blk *b);
/* Frees retired items with stamp <= min_seq (mw__readers_min_seq: INT64_MAX
 * when no reader is lent). Returns how many were freed. */
size_t mw__blk_free_retired(mw__blk *b, int64_t min_seq);

/* ---- span_tail rows and the restart ------------------------------------- */

/* A span_tail row's data: the spans in mw__sb_span field order (ids raw,
 * has_parent a byte, the integers zigzag varints, the body length-prefixed),
 * zstd level 1 with c. Returns 0, MW_ENOMEM, MW_ETOOBIG or MW_EIO. */
int mw__blk_tail_encode(ZSTD_CCtx *c, const mw__sb_span *v, size_t n, mw_buf *out);
/* The n spans of a row into out[0..n), bodies in a. Returns 0, MW_EIO (not
 * n spans of ours) or MW_ENOMEM. */
int mw__blk_tail_decode(ZSTD_DCtx *d, const uint8_t *data, size_t len, size_t n, mw_arena *a, mw__sb_span *out);

/* Restart: the open blocks from span_tail (every row of a source belongs to
 * its one open block: a seal deletes its rows), published as committed, ages
 * from now_mono_ns; *max_seq = the largest seq (0 when none). Then mem from
 * the blocks sealed after the newest flush (span_blocks.id > the largest
 * block id of the newest level-0 run, else of the newest run; every block
 * when there is no run). db: the writer's connection, outside a transaction
 * (it reads in one). Returns 0, MW_EIO (logged) or MW_ENOMEM. */
int mw__blk_recover(mw__blk *b, sqlite3 *db, ZSTD_DCtx *d, int64_t now_mono_ns, int64_t *max_seq);

#endif
