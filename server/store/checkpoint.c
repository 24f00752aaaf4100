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
#include "store/checkpoint.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "store/conn.h"

#include <stdio.h>
#include <stdlib.h>

/* Checkpoint once the WAL holds this many pages (4 KiB each: 16 MiB). A
 * PASSIVE checkpoint copies what no reader still needs, but the WAL only
 * starts over from its beginning when a writer finds it wholly copied and no
 * reader inside it; under steady writes and reads that moment may not come,
 * and the WAL would grow without end. Past HARD_PAGES (32 MiB) the writer
 * itself therefore empties it with a TRUNCATE checkpoint between two
 * transactions (another thread would starve waiting for the write lock,
 * which the writer takes again the moment it commits).
 *
 * That checkpoint needs a moment with no reader inside the WAL, which
 * readers that overlap one another may never give. So the writer closes a
 * gate: readers that come now wait, those lent out finish, and the writer,
 * which goes on committing meanwhile, empties the WAL the moment the last
 * one is back (tens of milliseconds), then opens the gate. Readers still out
 * when the WAL reaches KICK_PAGES (48 MiB) are stopped, and the writer waits
 * for them (they stop within a millisecond) before it commits more: their
 * queries answer 503 and may be retried. With transactions bounded in bytes
 * (writer.c), the WAL stays under 64 MiB whatever the queries. */
enum { CKPT_PAGES = 4096, HARD_PAGES = 8192, KICK_PAGES = 12288 };

static void want(mw__ckpt *c) {
  uv_mutex_lock(&c->lock);
  c->wanted = 1;
  uv_cond_signal(&c->wake);
  uv_mutex_unlock(&c->lock);
}

static int on_wal_commit(void *arg, sqlite3 *db, const char *name, int pages) {
  mw__ckpt *c = arg;
  (void)db, (void)name;
  c->wal_pages = pages;
  if (pages >= HARD_PAGES) c->hard = 1; /* read by the writer after this commit */
  if (pages >= CKPT_PAGES) want(c);
  return SQLITE_OK;
}

void mw__checkpoint_request(mw__ckpt *c) {
  if (c->started) want(c);
}

int mw__checkpoint_pending(const mw__ckpt *c) { return c->hard; }

/* One checkpoint on db, logged. Returns 1 when it did all it was asked. */
static int checkpoint(sqlite3 *db, int mode) {
  int log = 0, done = 0;
  int64_t t0 = mw__mono_ns();
  int rc = sqlite3_wal_checkpoint_v2(db, NULL, mode, &log, &done);
  const char *name = mode == SQLITE_CHECKPOINT_PASSIVE ? "passive" : "truncate";
  if (rc != SQLITE_OK && rc != SQLITE_BUSY) {
    mw__warn("checkpoint failed", "mode=%s err=\"%s\"", name, sqlite3_errmsg(db));
    return 0;
  }
  double ms = (double)(mw__mono_ns() - t0) / 1e6;
  if (log < 0) /* SQLITE_BUSY before it began: another checkpoint runs */
    mw__debug("checkpoint", "mode=%s busy=1 ms=%.1f", name, ms);
  else /* a TRUNCATE that succeeded leaves an empty WAL: it reports 0 and 0 */
    mw__debug("checkpoint", "mode=%s wal_pages=%d checkpointed=%d busy=%d ms=%.1f", name, log, done, rc == SQLITE_BUSY,
              ms);
  return rc == SQLITE_OK;
}

int mw__checkpoint_step(mw__ckpt *c) {
  if (!c->hard) return 0;
  if (!c->gate_since_ns) c->gate_since_ns = mw__mono_ns();
  if (mw__readers_gate_close(c->readers, c->wal_pages >= KICK_PAGES)) return 1;

  /* no reader is inside the WAL, and none can come in: wait out a PASSIVE
   * checkpoint that runs (it holds SQLite's checkpoint lock), then empty it */
  uv_mutex_lock(&c->lock);
  c->hold = 1;
  while (c->running) uv_cond_wait(&c->idle, &c->lock);
  uv_mutex_unlock(&c->lock);
  int64_t waited = mw__mono_ns() - c->gate_since_ns;
  sqlite3_busy_timeout(c->wdb, 200);
  int ok = checkpoint(c->wdb, SQLITE_CHECKPOINT_TRUNCATE);
  sqlite3_busy_timeout(c->wdb, 5000);
  if (ok) c->hard = 0, c->wal_pages = 0; /* else: again at the next commit */
  mw__debug("checkpoint gate", "open_after_ms=%.1f emptied=%d", (double)waited / 1e6, ok);
  uv_mutex_lock(&c->lock);
  c->hold = 0;
  uv_mutex_unlock(&c->lock);
  c->gate_since_ns = 0;
  mw__readers_gate_open(c->readers);
  return 0;
}

static void checkpointer_main(void *arg) {
  mw__ckpt *c = arg;
  for (;;) {
    uv_mutex_lock(&c->lock);
    while (!c->wanted && !c->stop) uv_cond_wait(&c->wake, &c->lock);
    int stop = c->stop, hold = c->hold;
    c->wanted = 0;
    c->running = !stop && !hold;
    uv_mutex_unlock(&c->lock);
    if (stop) break;
    if (hold) continue; /* the writer empties the WAL itself */
    checkpoint(c->db, SQLITE_CHECKPOINT_PASSIVE);
    uv_mutex_lock(&c->lock);
    c->running = 0;
    uv_cond_broadcast(&c->idle);
    uv_mutex_unlock(&c->lock);
  }
}

int mw__checkpointer_start(mw__ckpt *c, const char *db_path, sqlite3 *wdb, mw__readers *readers, char *err,
                           size_t errsz) {
  c->wdb = wdb;
  c->readers = readers;
  if (mw__store_connect(db_path, 0, &c->db, err, errsz)) return MW_EIO;
  /* A connection learns that the file is in WAL mode (and opens the WAL) only
   * when it first reads it; until then every checkpoint it runs is a no-op
   * that reports -1 frames. Read once now. */
  char e2[256];
  if (mw__store_exec(c->db, "SELECT count(*) FROM sqlite_master", e2, sizeof e2)) {
    snprintf(err, errsz, "the checkpoint connection cannot read the database: %s", e2);
    sqlite3_close(c->db);
    c->db = NULL;
    return MW_EIO;
  }
  uv_mutex_init(&c->lock);
  uv_cond_init(&c->wake);
  uv_cond_init(&c->idle);
  sqlite3_wal_autocheckpoint(wdb, 0);
  sqlite3_wal_hook(wdb, on_wal_commit, c);
  if (uv_thread_create(&c->thread, checkpointer_main, c) != 0) {
    snprintf(err, errsz, "cannot start the checkpoint thread");
    sqlite3_wal_hook(wdb, NULL, NULL);
    sqlite3_wal_autocheckpoint(wdb, 1000);
    uv_cond_destroy(&c->wake);
    uv_cond_destroy(&c->idle);
    uv_mutex_destroy(&c->lock);
    sqlite3_close(c->db);
    c->db = NULL;
    return MW_EIO;
  }
  c->started = 1;
  return MW_OK;
}

void mw__checkpointer_stop(mw__ckpt *c) {
  if (!c->started) return;
  /* commits after this point (PRAGMA optimize at close) must not call into a
   * thread that is gone: the write connection checkpoints for itself again */
  sqlite3_wal_hook(c->wdb, NULL, NULL);
  sqlite3_wal_autocheckpoint(c->wdb, 1000);
  uv_mutex_lock(&c->lock);
  c->stop = 1;
  uv_cond_signal(&c->wake);
  uv_mutex_unlock(&c->lock);
  uv_thread_join(&c->thread);
  sqlite3_close(c->db);
  c->db = NULL;
  uv_cond_destroy(&c->wake);
  uv_cond_destroy(&c->idle);
  uv_mutex_destroy(&c->lock);
  c->started = 0;
}
