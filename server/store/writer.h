/* The writer (writer.c): the one thread that writes. It owns the write
 * connection's work and the loop that, between group commits, runs
 * retention batches and the checkpoint's part that needs the write lock. */
#ifndef MW_STORE_WRITER_H
#define MW_STORE_WRITER_H
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <uv.h>

#include "core/bmap.h"
#include "store/checkpoint.h"
#include "store/readers.h"
#include "store/retention.h"
#include "store/runtime_write.h"
#include "store/store.h"

struct mw__writer_ctx;

typedef struct mw__writer {
  sqlite3 *db;                 /* the write connection (opened and closed by store.c) */
  size_t max_spans, max_bytes; /* the queue's bounds */
  int fault_commit_delay_ms;
  uv_thread_t thread;
  uv_mutex_t lock;
  uv_cond_t wake;
  mw_write_job *head, *tail;       /* queued, not yet taken */
  size_t q_spans, q_bytes, q_jobs; /* queued + being committed */
  int stopping, started;
  /* ids the writer learnt, by content: cleared whenever they may be gone */
  mw_bmap *sources, *ops, *scopes, *stacks;
  mw_bmap *op_slow; /* operation id -> its slow-span threshold (writer.c) */
  void (*on_commit)(double seconds, size_t jobs, size_t spans);
  mw__rt_writer rt;
  mw__retention retention;
  mw__ckpt ckpt;
  mw__readers *readers;                       /* whose smallest seq_at_begin bounds what blk may free */
  struct mw__blk *blk;                        /* open blocks and the partition (mw_store_opts.blocks), or NULL */
  struct mw__resent *recent;                  /* bodies stored in the last 10 min (with blk), or NULL */
  _Atomic uint64_t resent_jobs, resent_spans; /* jobs answered as re-sent (mw_store_stats) */
  struct mw__writer_ctx *ctx;                 /* the thread's statements and counters */
} mw__writer;

/* Starts the checkpointer and the writer thread on db. Returns 0, or an
 * error with a message (nothing is left running). */
int mw__writer_start(mw__writer *w, const mw_store_opts *o, sqlite3 *db, const char *db_path, mw__readers *readers,
                     char *err, size_t errsz);
/* Commits everything queued and stops the thread; later submits answer
 * MW_ESHUTDOWN. Does nothing when it is not running. */
void mw__writer_stop(mw__writer *w);
/* Stops (if running) and stops the checkpointer; frees the caches. */
void mw__writer_close(mw__writer *w);
/* See mw__store_submit, mw__store_full. */
int mw__writer_submit(mw__writer *w, mw_write_job *job);
int mw__writer_full(mw__writer *w, unsigned pct);
/* The queue's size now. */
void mw__writer_queue(mw__writer *w, size_t *spans, size_t *bytes, size_t *jobs);

#endif
