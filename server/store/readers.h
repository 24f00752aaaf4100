/* Read transactions (see store.h, "reading"): the pool of read-only
 * connections, the gate the writer closes while it empties the WAL, the
 * query limit that interrupts a thread's statements, and what the read
 * queries (reader.c, runtime_read.c, correlate_read.c) share.
 *
 * A read transaction is a pooled connection lent out with BEGIN run on it:
 * SQLite takes its snapshot of the database at its first read and keeps it
 * until the transaction ends, so everything one request reads is one state
 * of the database, whatever the writer commits meanwhile. */
#ifndef MW_STORE_READERS_H
#define MW_STORE_READERS_H
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdint.h>
#include <uv.h>
#include <zstd.h>

#include "core/arena.h"
#include "store/store.h"

/* Statements a read connection keeps prepared, for queries run many times
 * per request (mw__reader_stmt). */
enum mw__rstmt {
  MW_RS_SPAN_CPU,
  MW_RS_SPAN_GOROUTINES,
  MW_RS_OP_BEFORE,
  MW_RS_OP_AFTER,
  MW_RS_SPAN_BY_ROWID,
  MW_RS_MULTI_GOROUTINES,
  MW_RS_GOR_COUNTS,
  MW_RS_BO_ASC,      /* block_read.c: BO(op, t0, t1) oldest first */
  MW_RS_BO_DESC,     /* ... newest first */
  MW_RS_BO_KEYS_ASC, /* ... from block_ops_by_op alone */
  MW_RS_BO_KEYS_DESC,
  MW_RS_BO_REFS,      /* a block_ops row's refs by rowid */
  MW_RS_BLOCK_BY_ID,  /* reader.c's blk_rd: a block by id (TR) */
  MW_RS_OP_NAME,      /* ... an operation's name */
  MW_RS_BLOCK_EXISTS, /* block_read.c: a cached block still in the snapshot */
  MW_RS__COUNT
};

typedef struct mw__readers mw__readers;
struct mw__blk; /* store/blocks.h */

struct mw_read {
  mw__readers *pool;
  sqlite3 *db;
  sqlite3_stmt *stmts[MW_RS__COUNT];
  struct mw_read *next; /* in the free list, or in the list of those lent out */
  _Atomic int kicked;   /* stop now: the WAL must be emptied (checkpoint.c) */
  int slow_us;          /* test hook: sleep in the progress handler */
  /* the writer's commit_seq loaded BEFORE this transaction's BEGIN (and again
   * before mw__read_yield's): the view of memory a query takes with it
   * (mw__blk_view_take, mw__blk_trace_probe) holds every retired item stamped
   * later, and the writer frees none of those while r is lent out */
  int64_t seq_at_begin;
  ZSTD_DCtx *dctx; /* for the blocks this connection's queries open (mw__sb_open) */
  /* the id columns of sealed blocks this connection decoded lately (block_read.c:
   * a sealed block never changes), or NULL; freed by mw__ids_cache_free */
  struct mw__ids_cache *ids;
  /* the trace index's statements on this connection (reader.c blk_begin),
   * prepared on first use: every trace read looks up the runs */
  struct mw__truns_rd *truns;
};

struct mw__readers {
  const char *db_path;
  int slow_us; /* mw_store_opts.fault_read_slow_us */
  uv_mutex_t lock;
  uv_cond_t gate; /* signalled when the gate opens or a reader comes back */
  mw_read *free_list;
  mw_read *lent;   /* lent out now */
  size_t out;      /* how many are lent out */
  int gate_closed; /* new readers wait: the writer waits to empty the WAL */
  /* the writer's memory (store/blocks.h), set by mw__writer_start before any
   * reader is lent; NULL when the writer keeps no open blocks */
  struct mw__blk *blk;
  /* begin() with blk: BEGINs again because a commit came in between the seq
   * load and the snapshot, and those that gave up after 3 tries (the
   * snapshot then newer than the memory the read sees) */
  _Atomic uint64_t blk_retries, blk_fallbacks;
};

void mw__readers_init(mw__readers *p, const char *db_path, int slow_us);
/* Closes every connection; none may be lent out. */
void mw__readers_close(mw__readers *p);
/* Lends a connection with a read transaction begun on it. Returns 0, MW_EIO
 * (no connection could be opened, or BEGIN failed), or, when the calling
 * thread's query limit has passed, the reason it stopped (MW_ETIMEDOUT,
 * MW_ESHUTDOWN, MW_EBUSY). Waits while the gate is closed, unless the thread
 * holds a reader already. */
int mw__readers_lend(mw__readers *p, mw_read **out);

/* The checkpoint's side of the gate (checkpoint.c): closes it (new readers
 * wait), kicks the readers lent out when kick is set (their statements stop
 * at once) and then waits up to a second for them to come back, and returns
 * how many are still out. */
size_t mw__readers_gate_close(mw__readers *p, int kick);
void mw__readers_gate_open(mw__readers *p);

/* The smallest seq_at_begin of the readers lent out now, INT64_MAX when none
 * is: the writer frees retired memory stamped <= it (mw__blk_free_retired). */
int64_t mw__readers_min_seq(mw__readers *p);

/* 1 when r's last statement was stopped by the query's limit (so that a
 * failure it causes is not logged as an error). */
int mw__reader_interrupted(mw_read *r);
/* The connection's prepared statement id (preparing sql the first time),
 * reset and with its bindings cleared; NULL on failure. Not to be finalized. */
sqlite3_stmt *mw__reader_stmt(mw_read *r, enum mw__rstmt id, const char *sql);
/* Prepares sql on r's connection; logs (unless interrupted) and returns NULL
 * on failure. The caller finalizes it. */
sqlite3_stmt *mw__prepare(mw_read *r, const char *sql);
/* The error for a statement that ended with step (not SQLITE_DONE): MW_EIO,
 * logged unless the query's limit stopped it. */
int mw__read_failed(mw_read *r, int step);

/* Helpers of the read queries (read_util.c). */
/* A text column copied into the arena, or NULL. */
const char *mw__col_text(mw_arena *a, sqlite3_stmt *st, int col);
/* A blob column copied into the arena (never NULL unless out of memory). */
const uint8_t *mw__col_blob(mw_arena *a, sqlite3_stmt *st, int col, size_t *len);
/* Grows an arena array of n elements of size sz so that one more fits. */
void *mw__grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t sz);

#endif
