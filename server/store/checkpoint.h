/* WAL checkpoints (checkpoint.c): a thread of its own runs PASSIVE ones off
 * the writer's thread; the writer, between transactions, empties the WAL
 * itself once it grows past a hard bound, closing the readers' gate. */
#ifndef MW_STORE_CHECKPOINT_H
#define MW_STORE_CHECKPOINT_H
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#include "store/readers.h"

typedef struct mw__ckpt {
  sqlite3 *wdb;         /* the writer's connection (its commits are watched) */
  mw__readers *readers; /* whose gate the writer closes */
  sqlite3 *db;          /* the checkpointer's own connection */
  uv_thread_t thread;
  uv_mutex_t lock;
  uv_cond_t wake;
  uv_cond_t idle; /* signalled when a PASSIVE checkpoint ends */
  int wanted, stop, started;
  int running; /* a PASSIVE checkpoint runs now */
  int hold;    /* the writer empties the WAL: no PASSIVE one may start */
  /* writer thread only: */
  int hard;              /* the WAL passed the hard bound: the writer empties it */
  int wal_pages;         /* the WAL's size at the last commit */
  int64_t gate_since_ns; /* when the gate closed (monotonic) */
} mw__ckpt;

/* Starts the checkpointer on db_path and takes over the automatic
 * checkpoints of wdb. Returns 0 or MW_EIO with a message. */
int mw__checkpointer_start(mw__ckpt *c, const char *db_path, sqlite3 *wdb, mw__readers *readers, char *err,
                           size_t errsz);
/* Stops it (wdb checkpoints for itself again); before wdb is closed. */
void mw__checkpointer_stop(mw__ckpt *c);
/* The writer's part in bounding the WAL, run between transactions and when
 * woken (writer thread): once the WAL passed the hard bound it closes the
 * readers' gate, and empties the WAL with a TRUNCATE checkpoint as soon as no
 * reader is out. Returns 1 while it is still waiting for readers (the writer
 * then wakes again shortly), 0 otherwise. */
int mw__checkpoint_step(mw__ckpt *c);
/* 1 while the writer has the WAL to empty (it then looks again every few ms). */
int mw__checkpoint_pending(const mw__ckpt *c);
/* Asks for a checkpoint now (e.g. so that space freed by retention reaches the file). */
void mw__checkpoint_request(mw__ckpt *c);

#endif
