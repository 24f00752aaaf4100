/* Tests for the trace index in sorted runs (store/trace_runs.c), on a temp
 * SQLite file with a writer and a reader connection. Expected answers come
 * from a reference kept by the test (every (key, block) added, with its flush
 * number and whether it was dropped), searched by brute force; the module's
 * own answers are never used as expectations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "store/schema.h"
#include "store/trace_runs.h"
#include "sql_assert.h"

typedef struct fx {
  char path[64];
  sqlite3 *w, *r;
  mw__truns_w *tw;
  mw__truns_rd *rd;
  mw__truns_mem *m;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  snprintf(f->path, sizeof f->path, "/tmp/mw-truns-XXXXXX");
  int fd = mkstemp(f->path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(sqlite3_open(f->path, &f->w), SQLITE_OK);
  sqlt_exec(f->w, "PRAGMA journal_mode=WAL");
  char err[256] = "";
  if (mw__schema_apply(f->w, 0, err, sizeof err)) fail_msg("the migrations: %s", err); /* 0008 has the tables */
  assert_int_equal(sqlite3_open(f->path, &f->r), SQLITE_OK);
  assert_int_equal(mw__truns_w_open(f->w, &f->tw), MW_OK);
  assert_int_equal(mw__truns_rd_open(f->r, &f->rd), MW_OK);
  f->m = mw__truns_mem_new();
  assert_non_null(f->m);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  mw__truns_mem_free(f->m);
  mw__truns_rd_close(f->rd);
  mw__truns_w_close(f->tw);
  sqlite3_close(f->r);
  sqlite3_close(f->w);
  sqlt_remove_db(f->path);
  free(f);
  return 0;
}

/* flush the partition in a transaction of its own, then forget it */
static int64_t flush(fx *f) {
  int64_t id;
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  assert_int_equal(mw__truns_flush(f->tw, f->m, &id), MW_OK);
  sqlt_exec(f->w, "COMMIT");
  mw__truns_mem_clear(f->m);
  return id;
}

/* maintenance steps until there is nothing left; returns the calls made */
static size_t maintain_all(fx *f, const mw__truns_merge_opts *o) {
  size_t calls = 0, work;
  do {
    sqlt_exec(f->w, "BEGIN IMMEDIATE");
    assert_int_equal(mw__truns_maintain(f->tw, o, &work), MW_OK);
    sqlt_exec(f->w, "COMMIT");
    calls++;
    assert_true(calls < 100000);
  } while (work > 0);
  return calls;
}

static void lookup(fx *f, const mw__truns_mem *m, int64_t key, int how, int64_t *out, size_t cap, size_t *n) {
  assert_int_equal(mw__truns_lookup(f->rd, m, key, how, out, cap, n), MW_OK);
}

/* ---- the key ------------------------------------------------------------------ */

static void test_trace_key(void **state) {
  (void)state;
  uint8_t id[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 9, 9, 9, 9, 9};
  assert_true(mw__trace_key(id) == (int64_t)0x0102030405060708);
  uint8_t hi[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe};
  assert_true(mw__trace_key(hi) == -2);
  uint8_t top[16] = {0x80};
  assert_true(mw__trace_key(top) == INT64_MIN);
}

/* ---- duplicates, colliding ids, memory + runs, snapshots ----------------------- */

static void test_dups_and_collisions(void **state) {
  fx *f = *state;
  /* two trace ids with the same first 8 bytes, different last 8 */
  uint8_t a[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 1, 1, 1, 1, 1, 1, 1, 1};
  uint8_t b[16] = {0xaa, 1, 2, 3, 4, 5, 6, 7, 2, 2, 2, 2, 2, 2, 2, 2};
  int64_t ka = mw__trace_key(a), kb = mw__trace_key(b);
  assert_true(ka == kb);
  assert_int_equal(mw__truns_add(f->m, ka, 10, 100, 200), MW_OK);
  assert_int_equal(mw__truns_add(f->m, ka, 10, 100, 200), MW_OK); /* duplicate */
  assert_int_equal(mw__truns_add(f->m, kb, 11, 150, 250), MW_OK);
  assert_int_equal(mw__truns_add(f->m, 7, 10, 100, 200), MW_OK);
  assert_int_equal(mw__truns_add(f->m, 7, -1, 100, 200), MW_EINVAL);
  assert_int_equal(mw__truns_mem_count(f->m), 3);
  int64_t out[8];
  size_t n;
  /* from memory only (no runs yet): both candidates of the shared key */
  for (int how = 0; how < 2; how++) {
    lookup(f, f->m, ka, how, out, 8, &n);
    assert_int_equal(n, 2);
    assert_true(out[0] == 10 && out[1] == 11);
  }
  /* flushed but not committed: the reader's snapshot has no run; memory still answers */
  int64_t id;
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  assert_int_equal(mw__truns_flush(f->tw, f->m, &id), MW_OK);
  assert_true(id == 1);
  lookup(f, NULL, ka, 0, out, 8, &n);
  assert_int_equal(n, 0);
  sqlt_exec(f->w, "COMMIT");
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_runs WHERE run_id = 1"), 3);
  assert_int_equal(sqlt_int(f->r, "SELECT entries FROM trace_run_list WHERE run_id = 1"), 3);
  assert_int_equal(sqlt_int(f->r, "SELECT first_ns FROM trace_run_list WHERE run_id = 1"), 100);
  assert_int_equal(sqlt_int(f->r, "SELECT last_ns FROM trace_run_list WHERE run_id = 1"), 250);
  /* committed, memory still holding the same entries: answers without repeats */
  lookup(f, f->m, ka, 0, out, 8, &n);
  assert_int_equal(n, 2);
  mw__truns_mem_clear(f->m);
  /* the same entry again in memory and in a second run */
  assert_int_equal(mw__truns_add(f->m, ka, 10, 300, 400), MW_OK);
  assert_true(flush(f) == 2);
  assert_int_equal(mw__truns_add(f->m, ka, 12, 500, 600), MW_OK);
  for (int how = 0; how < 2; how++) {
    lookup(f, f->m, ka, how, out, 8, &n);
    assert_int_equal(n, 3);
    assert_true(out[0] == 10 && out[1] == 11 && out[2] == 12);
    lookup(f, f->m, 7, how, out, 8, &n);
    assert_true(n == 1 && out[0] == 10);
    lookup(f, f->m, 8, how, out, 8, &n);
    assert_int_equal(n, 0);
    /* more matches than room: said so */
    assert_int_equal(mw__truns_lookup(f->rd, f->m, ka, how, out, 2, &n), MW_ETOOBIG);
    assert_int_equal(n, 2);
  }
  /* an empty partition writes nothing */
  mw__truns_mem_clear(f->m);
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  assert_int_equal(mw__truns_flush(f->tw, f->m, &id), MW_OK);
  sqlt_exec(f->w, "COMMIT");
  assert_true(id == 0);
  assert_int_equal(mw__truns_run_count(f->rd), 2);
}

/* ---- many runs, merged, checked against the reference ---------------------------- */

typedef struct ref {
  int64_t key, block;
  int flush; /* the flush it went in, -1 while in memory */
  int gone;
} ref;

static uint64_t rng = 88172645463325252ull;
static uint64_t rnd(void) {
  rng ^= rng << 13;
  rng ^= rng >> 7;
  rng ^= rng << 17;
  return rng;
}

#define KEYS 3000 /* a small key space: keys recur across blocks and runs */
static int64_t keyspace[KEYS];

/* the reference's blocks of key, sorted, distinct */
static size_t expect(const ref *r, size_t nr, int64_t key, int with_mem, int64_t *out) {
  size_t n = 0;
  for (size_t i = 0; i < nr; i++) {
    if (r[i].key != key || r[i].gone || (r[i].flush < 0 && !with_mem)) continue;
    size_t j = 0;
    while (j < n && out[j] != r[i].block) j++;
    if (j == n) out[n++] = r[i].block;
  }
  for (size_t i = 1; i < n; i++) /* insertion sort */
    for (size_t j = i; j > 0 && out[j - 1] > out[j]; j--) {
      int64_t t = out[j];
      out[j] = out[j - 1];
      out[j - 1] = t;
    }
  return n;
}

static size_t distinct_pairs(const ref *r, size_t nr) {
  size_t n = 0;
  for (size_t i = 0; i < nr; i++) {
    if (r[i].gone || r[i].flush < 0) continue;
    size_t j = 0;
    while (j < i && !(r[j].key == r[i].key && r[j].block == r[i].block && !r[j].gone && r[j].flush >= 0)) j++;
    if (j == i) n++;
  }
  return n;
}

static void check_keys(fx *f, const ref *r, size_t nr, int with_mem, size_t stride) {
  int64_t want[256], got[256];
  for (size_t k = 0; k < KEYS; k += stride) {
    size_t nw = expect(r, nr, keyspace[k], with_mem, want), ng;
    for (int how = 0; how < 2; how++) {
      lookup(f, with_mem ? f->m : NULL, keyspace[k], how, got, 256, &ng);
      assert_int_equal(ng, nw);
      for (size_t i = 0; i < nw; i++) assert_true(got[i] == want[i]);
    }
  }
}

static void check_all(fx *f, const ref *r, size_t nr, int with_mem) { check_keys(f, r, nr, with_mem, 1); }

/* flush i holds blocks i*100 .. i*100+99 at times i*1000 .. i*1000+999 */
static size_t fill(fx *f, ref *r, size_t nr, int flushes, int per, int first) {
  for (int i = first; i < first + flushes; i++) {
    for (int e = 0; e < per; e++) {
      int64_t key = keyspace[rnd() % KEYS], block = (int64_t)i * 100 + (int64_t)(rnd() % 100);
      int64_t t = (int64_t)i * 1000 + (block % 100) * 10;
      assert_int_equal(mw__truns_add(f->m, key, block, t, t + 9), MW_OK);
      r[nr++] = (ref){key, block, -1, 0};
    }
    if (i < first + flushes - 1 || flushes == 1) {
      flush(f);
      for (size_t j = 0; j < nr; j++)
        if (r[j].flush < 0) r[j].flush = i;
    }
  }
  return nr;
}

static void init_keys(void) {
  for (size_t k = 0; k < KEYS; k++) keyspace[k] = (int64_t)rnd();
  keyspace[0] = INT64_MIN; /* the extremes of the order */
  keyspace[1] = INT64_MAX;
  keyspace[2] = 0;
}

static void test_runs_and_merges(void **state) {
  fx *f = *state;
  init_keys();
  ref *r = calloc(40 * 400, sizeof *r);
  /* 40 flushes of 400 adds (the last one left in memory) */
  size_t nr = fill(f, r, 0, 40, 400, 0);
  assert_int_equal(mw__truns_run_count(f->rd), 39);
  check_all(f, r, nr, 1);
  check_all(f, r, nr, 0);
  size_t pairs = distinct_pairs(r, nr);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_runs"), pairs);

  /* merge level 0 runs older than flush 30 (last_ns < 30,000), 8 at a time,
   * in small steps; lookups in the middle of a merge see every entry */
  mw__truns_merge_opts o = {.level = 0, .before_ns = 30000, .min_runs = 2, .max_runs = 8, .budget = 100};
  size_t work, steps = 0;
  do {
    sqlt_exec(f->w, "BEGIN IMMEDIATE");
    assert_int_equal(mw__truns_maintain(f->tw, &o, &work), MW_OK);
    sqlt_exec(f->w, "COMMIT");
    if (++steps % 7 == 0) check_keys(f, r, nr, 1, 29);
  } while (work > 0);
  assert_true(steps > 30 * 400 / 100); /* bounded: many small steps, not one big one */
  check_all(f, r, nr, 1);
  /* 30 runs by 8: 8+8+8+6 -> 4 level-1 runs, plus the 9 younger level-0 runs */
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_run_list WHERE level = 1"), 4);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_run_list WHERE level = 0"), 9);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_run_list WHERE level < 0 OR into_run IS NOT NULL"), 0);
  /* merging kept every entry once (dropped sources deleted) */
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_runs"), pairs);
  assert_int_equal(sqlt_int(f->r, "SELECT sum(entries) FROM trace_run_list"), pairs);
  /* level 1 into level 2, all in one step per budget */
  o = (mw__truns_merge_opts){.level = 1, .before_ns = INT64_MAX, .min_runs = 2, .max_runs = 64, .budget = 100000};
  maintain_all(f, &o);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_run_list WHERE level = 2"), 1);
  /* its time range: that of the blocks of flushes 0..29 (the test's times: see fill) */
  int64_t lo = INT64_MAX, hi = INT64_MIN;
  for (size_t i = 0; i < nr; i++)
    if (r[i].flush >= 0 && r[i].flush <= 29) {
      int64_t t = (int64_t)r[i].flush * 1000 + (r[i].block % 100) * 10;
      if (t < lo) lo = t;
      if (t + 9 > hi) hi = t + 9;
    }
  assert_int_equal(sqlt_int(f->r, "SELECT first_ns FROM trace_run_list WHERE level = 2"), lo);
  assert_int_equal(sqlt_int(f->r, "SELECT last_ns FROM trace_run_list WHERE level = 2"), hi);
  assert_int_equal(mw__truns_run_count(f->rd), 10);
  check_all(f, r, nr, 1);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_runs"), pairs);
  /* each run's keys in order, no repeats: count equals distinct pairs per run */
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM (SELECT DISTINCT run_id, trace_key, block_id FROM trace_runs)"),
                   pairs);
  /* nothing left to do with these options */
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  assert_int_equal(mw__truns_maintain(f->tw, &o, &work), MW_OK);
  sqlt_exec(f->w, "COMMIT");
  assert_int_equal(work, 0);
  free(r);
}

/* a merge interrupted (the connection closed mid-way) goes on from the tables */
static void test_merge_resumes(void **state) {
  fx *f = *state;
  init_keys();
  ref *r = calloc(10 * 500, sizeof *r);
  size_t nr = fill(f, r, 0, 10, 500, 0);
  mw__truns_mem_clear(f->m); /* the last batch was never flushed: not in the index */
  for (size_t i = 0; i < nr; i++)
    if (r[i].flush < 0) r[i].gone = 1;
  mw__truns_merge_opts o = {.level = 0, .before_ns = INT64_MAX, .min_runs = 2, .max_runs = 100, .budget = 200};
  size_t work;
  for (int i = 0; i < 5; i++) {
    sqlt_exec(f->w, "BEGIN IMMEDIATE");
    assert_int_equal(mw__truns_maintain(f->tw, &o, &work), MW_OK);
    sqlt_exec(f->w, "COMMIT");
  }
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_run_list WHERE into_run IS NOT NULL"), 9);
  /* a new writer (a restart) */
  mw__truns_w_close(f->tw);
  assert_int_equal(mw__truns_w_open(f->w, &f->tw), MW_OK);
  check_all(f, r, nr, 0);
  maintain_all(f, &o);
  assert_int_equal(mw__truns_run_count(f->rd), 1);
  check_all(f, r, nr, 0);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_runs"), distinct_pairs(r, nr));
  free(r);
}

/* ---- retention ----------------------------------------------------------------- */

static void test_retention(void **state) {
  fx *f = *state;
  init_keys();
  ref *r = calloc(21 * 1000, sizeof *r);
  size_t nr = fill(f, r, 0, 21, 1000, 0); /* 20 runs + one partition in memory */
  sqlt_exec(f->w, "PRAGMA wal_checkpoint(TRUNCATE)");
  int64_t free0 = sqlt_int(f->w, "PRAGMA freelist_count");

  /* runs whose newest block is before 8,000: flushes 0..6 (last_ns 6,999) */
  size_t runs;
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  assert_int_equal(mw__truns_drop_before(f->tw, 8000, &runs), MW_OK);
  sqlt_exec(f->w, "COMMIT");
  /* flush i's last_ns is at most i*1000+999: < 8000 for i <= 7 */
  assert_int_equal(runs, 8);
  for (size_t i = 0; i < nr; i++)
    if (r[i].flush >= 0 && r[i].flush <= 7) r[i].gone = 1;
  assert_int_equal(mw__truns_run_count(f->rd), 12);
  check_all(f, r, nr, 1); /* gone at once, before their entries are deleted */
  mw__truns_merge_opts o = {.level = 0, .before_ns = 0, .min_runs = 2, .max_runs = 8, .budget = 300};
  size_t calls = maintain_all(f, &o);
  assert_true(calls >= 8 * 1000 / 300); /* a bounded batch a call */
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_run_list"), 12);
  assert_int_equal(sqlt_int(f->r, "SELECT count(*) FROM trace_runs"), distinct_pairs(r, nr));
  check_all(f, r, nr, 1);
  sqlt_exec(f->w, "PRAGMA wal_checkpoint(TRUNCATE)");
  assert_true(sqlt_int(f->w, "PRAGMA freelist_count") > free0); /* pages given back to the free list */

  /* blocks 1,000..1,249 (flushes 10, 11 and 12's first half) deleted from the runs and memory */
  size_t gone;
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  assert_int_equal(mw__truns_drop_blocks(f->tw, 1000, 1249, 10000, 12499, &gone), MW_OK);
  sqlt_exec(f->w, "COMMIT");
  size_t want = 0;
  for (size_t i = 0; i < nr; i++)
    if (!r[i].gone && r[i].block >= 1000 && r[i].block <= 1249) {
      size_t j = 0; /* count distinct pairs */
      while (j < i && !(r[j].key == r[i].key && r[j].block == r[i].block)) j++;
      if (j == i) want++;
    }
  for (size_t i = 0; i < nr; i++)
    if (r[i].block >= 1000 && r[i].block <= 1249) r[i].gone = 1;
  assert_int_equal(gone, want);
  assert_true(want > 0);
  check_all(f, r, nr, 1);
  assert_int_equal(sqlt_int(f->r, "SELECT sum(entries) FROM trace_run_list"), distinct_pairs(r, nr));
  /* the partition: flush 20's blocks 2,000..2,099; drop 2,050..2,099 */
  size_t in_mem = 0;
  for (size_t i = 0; i < nr; i++)
    if (r[i].flush < 0 && r[i].block >= 2050) {
      size_t j = 0;
      while (j < i && !(r[j].key == r[i].key && r[j].block == r[i].block)) j++;
      if (j == i) in_mem++;
      r[i].gone = 1;
    }
  size_t dropped;
  assert_int_equal(mw__truns_mem_drop_blocks(f->m, 2050, 2099, &dropped), MW_OK);
  assert_int_equal(dropped, in_mem);
  check_all(f, r, nr, 1);
  free(r);
}

/* ---- mw__truns_mem_find: one partition, no SQLite ------------------------------ */

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return x < y ? -1 : x > y;
}

static void test_mem_find(void **state) {
  (void)state;
  mw__truns_mem *m = mw__truns_mem_new();
  assert_non_null(m);
  const int64_t k = 0x0102030405060708, other = k + 1;
  int64_t out[8];
  size_t n = 99;
  assert_int_equal(mw__truns_mem_find(m, k, out, 8, &n), MW_OK); /* empty */
  assert_int_equal(n, 0);
  /* k's blocks 30, 5, 17, 5 (again), 42 among 3,000 entries of other keys (the table grows) */
  const int64_t mine[5] = {30, 5, 17, 5, 42};
  for (int64_t i = 0; i < 3000; i++) {
    if (i % 600 == 0) assert_int_equal(mw__truns_add(m, k, mine[i / 600], 10, 20), MW_OK);
    assert_int_equal(mw__truns_add(m, i == 1500 ? other : i * 7919 + 11, i, 10, 20), MW_OK);
  }
  assert_int_equal(mw__truns_add(m, INT64_MIN, 9, 10, 20), MW_OK);
  assert_int_equal(mw__truns_add(m, 0, 8, 10, 20), MW_OK);
  assert_int_equal(mw__truns_mem_find(m, k, out, 8, &n), MW_OK);
  assert_int_equal(n, 4);
  assert_true(out[0] == 5 && out[1] == 17 && out[2] == 30 && out[3] == 42);
  assert_int_equal(mw__truns_mem_find(m, other, out, 8, &n), MW_OK);
  assert_true(n == 1 && out[0] == 1500);
  assert_int_equal(mw__truns_mem_find(m, INT64_MIN, out, 8, &n), MW_OK);
  assert_true(n == 1 && out[0] == 9);
  assert_int_equal(mw__truns_mem_find(m, 0, out, 8, &n), MW_OK);
  assert_true(n == 1 && out[0] == 8);
  assert_int_equal(mw__truns_mem_find(m, 5, out, 8, &n), MW_OK); /* a key never added */
  assert_int_equal(n, 0);
  /* more than cap: said so, cap of them stored, sorted */
  assert_int_equal(mw__truns_mem_find(m, k, out, 2, &n), MW_ETOOBIG);
  assert_int_equal(n, 2);
  assert_true(out[0] < out[1]);
  for (size_t i = 0; i < 2; i++) assert_true(out[i] == 5 || out[i] == 17 || out[i] == 30 || out[i] == 42);
  /* blocks 17..30 dropped */
  size_t dropped;
  assert_int_equal(mw__truns_mem_drop_blocks(m, 17, 30, &dropped), MW_OK);
  assert_int_equal(mw__truns_mem_find(m, k, out, 8, &n), MW_OK);
  assert_true(n == 2 && out[0] == 5 && out[1] == 42);
  mw__truns_mem_clear(m);
  assert_int_equal(mw__truns_mem_find(m, k, out, 8, &n), MW_OK);
  assert_int_equal(n, 0);

  /* random pairs over a small key space against a brute-force reference */
  enum { PAIRS = 4000, NKEYS = 40 };
  int64_t(*pairs)[2] = malloc(PAIRS * sizeof *pairs);
  int64_t want[PAIRS], got[PAIRS];
  for (size_t i = 0; i < PAIRS; i++) {
    pairs[i][0] = (int64_t)(rnd() % NKEYS) * 0x100000001 - 7;
    pairs[i][1] = (int64_t)(rnd() % 500);
    assert_int_equal(mw__truns_add(m, pairs[i][0], pairs[i][1], 10, 20), MW_OK);
  }
  for (int64_t kk = 0; kk < NKEYS; kk++) {
    int64_t key = kk * 0x100000001 - 7;
    size_t nw = 0;
    for (size_t i = 0; i < PAIRS; i++) {
      if (pairs[i][0] != key) continue;
      size_t j = 0;
      while (j < nw && want[j] != pairs[i][1]) j++;
      if (j == nw) want[nw++] = pairs[i][1];
    }
    qsort(want, nw, sizeof *want, cmp_i64);
    assert_int_equal(mw__truns_mem_find(m, key, got, PAIRS, &n), MW_OK);
    assert_int_equal(n, nw);
    for (size_t j = 0; j < nw; j++) assert_true(got[j] == want[j]);
  }
  free(pairs);
  mw__truns_mem_free(m);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace_key),
      cmocka_unit_test_setup_teardown(test_dups_and_collisions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_runs_and_merges, setup, teardown),
      cmocka_unit_test_setup_teardown(test_merge_resumes, setup, teardown),
      cmocka_unit_test_setup_teardown(test_retention, setup, teardown),
      cmocka_unit_test(test_mem_find),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
