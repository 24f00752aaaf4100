/* WAL checkpoints off the writer's thread.
 *
 * With SQLite's automatic checkpoint, the commit that crosses the threshold
 * copies the WAL back into the database before the writer may go on, and
 * every request waiting for that commit waits too. Instead, automatic
 * checkpoints are off on the write connection; a commit hook notes the WAL's
 * size and wakes this thread, which checkpoints PASSIVE on its own connection
 * (never blocking the writer or readers) while the writer keeps committing.
 * Fewer, larger checkpoints also write a hot index page back once, not after
 * every small transaction that touched it. */
#include "store/store_int.h"
#include "core/error.h"
#include "core/log.h"

#include <stdio.h>
#include <stdlib.h>

/* Checkpoint once the WAL holds this many pages (4 KiB each: 32 MiB). */
enum { CKPT_PAGES = 8192 };

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages) {
  mw_store *s = arg;
  (void)db, (void)name;
  if (pages >= CKPT_PAGES) {
    uv_mutex_lock(&s->ckpt_lock);
    s->ckpt_wanted = 1;
    uv_cond_signal(&s->ckpt_wake);
    uv_mutex_unlock(&s->ckpt_lock);
  }
  return SQLITE_OK;
}

void mw__checkpoint_request(mw_store *s) {
  if (!s->ckpt_started) return;
  uv_mutex_lock(&s->ckpt_lock);
  s->ckpt_wanted = 1;
  uv_cond_signal(&s->ckpt_wake);
  uv_mutex_unlock(&s->ckpt_lock);
}

static void checkpointer_main(void *arg) {
  mw_store *s = arg;
  for (;;) {
    uv_mutex_lock(&s->ckpt_lock);
    while (!s->ckpt_wanted && !s->ckpt_stop) uv_cond_wait(&s->ckpt_wake, &s->ckpt_lock);
    int stop = s->ckpt_stop;
    s->ckpt_wanted = 0;
    uv_mutex_unlock(&s->ckpt_lock);
    if (stop) break;
    int log = 0, done = 0;
    int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log, &done);
    if (rc != SQLITE_OK && rc != SQLITE_BUSY)
      mw__warn("checkpoint failed", "err=\"%s\"", sqlite3_errmsg(s->ckpt_db));
    else
      mw__debug("checkpoint", "wal_pages=%d checkpointed=%d", log, done);
  }
}

int mw__checkpointer_start(mw_store *s, char *err, size_t errsz) {
  if (mw__store_connect(s->db_path, 0, &s->ckpt_db, err, errsz)) return MW_EIO;
  uv_mutex_init(&s->ckpt_lock);
  uv_cond_init(&s->ckpt_wake);
  sqlite3_wal_autocheckpoint(s->wdb, 0);
  sqlite3_wal_hook(s->wdb, on_wal_commit, s);
  if (uv_thread_create(&s->ckpt_thread, checkpointer_main, s) != 0) {
    snprintf(err, errsz, "cannot start the checkpoint thread");
    sqlite3_wal_hook(s->wdb, NULL, NULL);
    sqlite3_wal_autocheckpoint(s->wdb, 1000);
    return MW_EIO;
  }
  s->ckpt_started = 1;
  return MW_OK;
}

void mw__checkpointer_stop(mw_store *s) {
  if (!s->ckpt_started) return;
  uv_mutex_lock(&s->ckpt_lock);
  s->ckpt_stop = 1;
  uv_cond_signal(&s->ckpt_wake);
  uv_mutex_unlock(&s->ckpt_lock);
  uv_thread_join(&s->ckpt_thread);
  sqlite3_close(s->ckpt_db);
  s->ckpt_db = NULL;
  uv_cond_destroy(&s->ckpt_wake);
  uv_mutex_destroy(&s->ckpt_lock);
  s->ckpt_started = 0;
}
