/* Internals shared by the store's files (store.c, writer.c, reader.c). */
#ifndef MW_STORE_INT_H
#define MW_STORE_INT_H
#include <sqlite3.h>
#include <stdatomic.h>
#include <uv.h>

#include "core/bmap.h"
#include "store/store.h"

/* 'MWHL': marks a database file as ours (PRAGMA application_id). */
#define MW__APPLICATION_ID 0x4D57484C

/* Statements of runtime ingest, prepared on first use (writer thread only). */
enum { MW__RT_STMTS = 16 };

/* Statements a read connection keeps prepared, for queries run many times
 * per request (mw__reader_stmt). */
enum mw__rstmt { MW_RS_SPAN_CPU, MW_RS_SPAN_GOROUTINES, MW_RS_OP_BEFORE, MW_RS_OP_AFTER, MW_RS_SPAN_BY_ROWID, MW_RS_MULTI_GOROUTINES, MW_RS__COUNT };

typedef struct mw__reader {
  sqlite3 *db;
  sqlite3_stmt *stmts[MW_RS__COUNT];
  struct mw__reader *next;      /* in the free list, or in the list of those lent out */
  _Atomic int kicked;           /* stop now: the WAL must be emptied (checkpoint.c) */
  int slow_us;                  /* test hook: sleep in the progress handler */
} mw__reader;

struct mw_store {
  mw_store_opts opts;
  char *db_path;

  /* writer */
  sqlite3 *wdb;
  uv_thread_t thread;
  uv_mutex_t lock;
  uv_cond_t wake;
  mw_write_job *head, *tail;    /* queued, not yet taken */
  size_t q_spans, q_bytes, q_jobs; /* queued + being committed */
  int stopping;
  int started;
  mw_bmap *sources, *ops, *scopes, *stacks;
  mw_bmap *op_slow;             /* operation id -> its slow-span threshold (writer.c) */
  sqlite3_stmt *rt_stmts[MW__RT_STMTS];
  void (*on_commit)(double seconds, size_t jobs, size_t spans);

  /* retention (retention.c), run by the writer */
  int64_t retention_last_ns;    /* monotonic time of the last pass */
  int retention_more;           /* the last batch left work behind */
  int retention_dirty;          /* deleted something since the last checkpoint request */
  _Atomic uint64_t retention_deleted;

  /* the checkpointer (checkpoint.c) */
  sqlite3 *ckpt_db;
  uv_thread_t ckpt_thread;
  uv_mutex_t ckpt_lock;
  uv_cond_t ckpt_wake;
  uv_cond_t ckpt_idle;          /* signalled when a PASSIVE checkpoint ends */
  int ckpt_wanted, ckpt_stop, ckpt_started;
  int ckpt_running;             /* a PASSIVE checkpoint runs now */
  int ckpt_hold;                /* the writer empties the WAL: no PASSIVE one may start */
  /* writer thread only: */
  int ckpt_hard;                /* the WAL passed HARD_PAGES: the writer empties it */
  int wal_pages;                /* the WAL's size at the last commit */
  int64_t gate_since_ns;        /* when the gate closed (monotonic) */

  /* readers */
  uv_mutex_t rlock;
  uv_cond_t rgate;              /* signalled when the gate opens or a reader comes back */
  mw__reader *free_readers;
  mw__reader *lent;             /* lent out now */
  size_t n_readers;
  size_t readers_out;           /* lent out now */
  int gate_closed;              /* new readers wait: the writer waits to empty the WAL */
};

/* Opens a connection with the common settings; returns 0 or MW_EIO (+message). */
int mw__store_connect(const char *path, int readonly, sqlite3 **out, char *err, size_t errsz);
int mw__store_exec(sqlite3 *db, const char *sql, char *err, size_t errsz);

int mw__writer_start(mw_store *s, char *err, size_t errsz);
/* One retention batch in its own transaction (writer thread). *more is set
 * when old data (or free pages) remain. Returns 0 or an error. */
int mw__retention_batch(mw_store *s, int *more);
/* Bytes of the database's pages in use (not counting free pages). */
uint64_t mw__store_used_bytes(sqlite3 *db);
/* Takes WAL checkpoints off the writer's thread; stop it before closing wdb. */
int mw__checkpointer_start(mw_store *s, char *err, size_t errsz);
void mw__checkpointer_stop(mw_store *s);
/* The writer's part in bounding the WAL, run between transactions and when
 * woken (writer thread): once ckpt_hard is set it closes the readers' gate,
 * and empties the WAL with a TRUNCATE checkpoint as soon as no reader is out.
 * Returns 1 while it is still waiting for readers (the writer then wakes
 * again shortly), 0 otherwise. */
int mw__checkpoint_step(mw_store *s);
/* Asks for a checkpoint now (e.g. so that space freed by retention reaches the file). */
void mw__checkpoint_request(mw_store *s);
/* Steps a statement that yields at most one integer (*out, -1 if none), then
 * resets it. Returns 0, MW_EIO or MW_EFULL. */
int mw__step_id(sqlite3 *db, sqlite3_stmt *st, int64_t *out);
/* Writes one runtime batch inside the writer's transaction. */
int mw__apply_runtime(mw_store *s, mw_runtime_batch *b);
void mw__writer_stop(mw_store *s);

/* A read connection, or NULL (I/O error, or the thread's query limit has
 * passed: see mw__store_limit). */
mw__reader *mw__reader_get(mw_store *s);
/* 1 when r's last statement was stopped by the query's limit (so that a
 * failure it causes is not logged as an error). */
int mw__reader_interrupted(mw__reader *r);
void mw__reader_put(mw_store *s, mw__reader *r);

/* The connection's prepared statement id (preparing sql the first time),
 * reset and with its bindings cleared; NULL on failure. Not to be finalized. */
sqlite3_stmt *mw__reader_stmt(mw__reader *r, enum mw__rstmt id, const char *sql);

/* Helpers of the read queries (read_util.c). */
/* A text column copied into the arena, or NULL. */
const char *mw__col_text(mw_arena *a, sqlite3_stmt *st, int col);
/* Prepares sql on r's connection; logs and returns NULL on failure. */
sqlite3_stmt *mw__prepare(mw__reader *r, const char *sql);
/* Grows an arena array of n elements of size sz so that one more fits. */
void *mw__grow(mw_arena *a, void *items, size_t n, size_t *cap, size_t sz);

#endif
