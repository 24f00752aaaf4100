/* A real store in a temporary directory for unit tests of the read paths:
 * data goes in through the writer's job API (as ingest hands it over), and
 * reads can be made to fail by dropping a table under the store. */
#ifndef MW_TESTS_STORE_FIXTURE_H
#define MW_TESTS_STORE_FIXTURE_H
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store/store.h"

typedef struct sfx {
  char dir[64];
  mw_store *s;
} sfx;

/* Opens a store whose reads sleep slow_us every 1,000 steps of a statement
 * (0: none; the MEANWHILE_FAULT_READ_SLOW_US hook), spans in blocks or
 * (MW_STORE_BLOCKS_OFF) rows. Returns 0 or -1. */
static inline int sfx_open_how(sfx *f, int slow_us, int blocks) {
  snprintf(f->dir, sizeof f->dir, "/tmp/mw-unit-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  mw_store_opts o = {.data_dir = f->dir,
                     .queue_max_spans = 1u << 20,
                     .queue_max_bytes = 1u << 28,
                     .fault_read_slow_us = slow_us,
                     .blocks = blocks};
  char err[256];
  return mw__store_open(&o, &f->s, err, sizeof err) ? -1 : 0;
}

static inline int sfx_open_slow(sfx *f, int slow_us) { return sfx_open_how(f, slow_us, MW_STORE_BLOCKS_ON); }

/* Opens a store in a fresh temporary directory. Returns 0 or -1. */
static inline int sfx_open(sfx *f) { return sfx_open_slow(f, 0); }

/* Opens a store whose writer writes one `spans` row per span, as releases
 * before migration 0008 did: old rows for the tests of reads over both. */
static inline int sfx_open_rows(sfx *f) { return sfx_open_how(f, 0, MW_STORE_BLOCKS_OFF); }

static inline void sfx_close(sfx *f) {
  if (f->s) mw__store_close(f->s);
  f->s = NULL;
  static const char *const files[] = {"meanwhile.db", "meanwhile.db-wal", "meanwhile.db-shm"};
  char p[128];
  for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
    snprintf(p, sizeof p, "%s/%s", f->dir, files[i]);
    unlink(p);
  }
  rmdir(f->dir);
}

static inline void sfx_done(mw_write_job *job, int rc) { job->rc = rc; }

/* Submits jobs and waits until they are committed (the writer is stopped:
 * write everything first). Returns the first job's error, or 0. */
static inline int sfx_write(sfx *f, mw_write_job *jobs, size_t n) {
  for (size_t i = 0; i < n; i++) {
    jobs[i].done = sfx_done;
    jobs[i].rc = 1;
    if (mw__store_submit(f->s, &jobs[i])) return -1;
  }
  mw__store_drain(f->s);
  for (size_t i = 0; i < n; i++)
    if (jobs[i].rc) return jobs[i].rc;
  return 0;
}

/* Commits jobs with the writer kept running (for reads before and after):
 * returns once every job's done() ran, with the first job's error or 0.
 * (job->rc is the writer's while it works: done() reports through user.) */
static pthread_mutex_t sfx_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t sfx_cond = PTHREAD_COND_INITIALIZER;

typedef struct sfx_done_flag {
  int done, rc;
} sfx_done_flag;

static inline void sfx_signal(mw_write_job *job, int rc) {
  sfx_done_flag *d = job->user;
  pthread_mutex_lock(&sfx_lock);
  d->rc = rc;
  d->done = 1;
  pthread_cond_broadcast(&sfx_cond);
  pthread_mutex_unlock(&sfx_lock);
}

static inline int sfx_commit(sfx *f, mw_write_job *jobs, size_t n) {
  sfx_done_flag *flags = calloc(n, sizeof *flags);
  if (!flags) return -1;
  for (size_t i = 0; i < n; i++) {
    jobs[i].done = sfx_signal;
    jobs[i].user = &flags[i];
    if (mw__store_submit(f->s, &jobs[i])) {
      flags[i].done = 1, flags[i].rc = -1; /* never queued: nothing will call done() */
      for (size_t k = i + 1; k < n; k++) flags[k].done = 1;
      break;
    }
  }
  int rc = 0;
  pthread_mutex_lock(&sfx_lock);
  for (size_t i = 0; i < n; i++) {
    while (!flags[i].done) pthread_cond_wait(&sfx_cond, &sfx_lock);
    if (!rc) rc = flags[i].rc;
  }
  pthread_mutex_unlock(&sfx_lock);
  free(flags);
  return rc;
}

/* Runs sql on the database file with a connection of its own. */
static inline int sfx_exec(sfx *f, const char *sql) {
  char p[128];
  snprintf(p, sizeof p, "%s/meanwhile.db", f->dir);
  sqlite3 *db;
  if (sqlite3_open(p, &db) != SQLITE_OK) return -1;
  int rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
  sqlite3_close(db);
  return rc == SQLITE_OK ? 0 : -1;
}

#endif
