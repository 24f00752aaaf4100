/* Retention over span blocks (store/retention.c, docs/STORAGE-WIRING.md §4):
 * a database file migrated to 0008 holds old span rows and sealed blocks of
 * two sources (through mw__bw_seal, with slow_spans rows), and trace runs
 * (mw__truns_flush). Retention passes run with a cutoff in the middle. Every
 * expectation is computed from the spans the test made (their times, ops and
 * durations), never read from the code under test:
 *   - blocks whose newest span ended before the cutoff are gone with their
 *     block_ops and slow_spans rows; the others are kept whole;
 *   - old rows that began before the cutoff are gone, with their slow rows;
 *   - each operation's span_count is what is left of it; an operation with no
 *     span left goes, one still counting spans of an open block stays;
 *   - no trace run that ended before the cutoff is left, nor entries of one;
 *   - no batch deletes more than 8 blocks; the file shrinks, freelist 0.
 * MW_RETENTION_BENCH=N runs the same on N blocks a source and prints the
 * slowest batch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "core/timefmt.h"
#include "store/block_write.h"
#include "store/retention.h"
#include "store/schema.h"
#include "store/trace_runs.h"
#include "sql_assert.h"

#define S ((int64_t)1000000000)
#define MIN (60 * S)
#define T0 ((int64_t)1700000000 * S)
#define N_SRC 2
#define N_OPS 9 /* op ids 1..8 */

static uint64_t rng = 0x9e3779b97f4a7c15u;
static uint64_t rnd(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

/* Slow thresholds: op 1 at 800 ms, op 2 at 0 (every span), others never. */
static int64_t thr_of(int64_t op) { return op == 1 ? 800000000 : op == 2 ? 0 : INT64_MAX; }
static int slow_of(void *user, int64_t op, int64_t *thr) {
  (void)user;
  *thr = thr_of(op);
  return MW_OK;
}

typedef struct made_block {
  int64_t id, source, last_ns;
  size_t n, n_op[N_OPS], slow_op[N_OPS];
} made_block;

typedef struct made_run {
  int64_t id, last_ns;
} made_run;

typedef struct world {
  char path[64];
  sqlite3 *db;
  mw__bw *bw;
  mw__truns_w *runs;
  mw__truns_mem *mem; /* the partition: flushed as a run every 3 blocks */
  int64_t cutoff;
  made_block *blocks;
  size_t n_blocks;
  made_run runs_made[4096];
  size_t n_runs;
  /* old rows: per op, how many began before / after the cutoff; slow rows of each */
  size_t old_before[N_OPS], old_after[N_OPS], old_slow_after[N_OPS];
  int64_t extra[N_OPS]; /* span_count of spans in open blocks (in span_tail only) */
  int64_t drift[N_OPS]; /* span_count set this much below the spans stored */
} world;

static void mk(mw__sb_span *s, uint8_t *body, uint64_t trace, uint64_t span, int64_t op, int64_t start, int64_t dur) {
  memset(s, 0, sizeof *s);
  for (int k = 0; k < 8; k++) s->trace_id[k] = (uint8_t)(trace >> (56 - 8 * k));
  s->trace_id[15] = 1;
  for (int k = 0; k < 8; k++) s->span_id[k] = (uint8_t)(span >> (8 * k));
  s->op_id = op, s->scope_id = 1, s->start_ns = start, s->dur_ns = dur, s->kind = 2;
  for (size_t k = 0; k < 96; k++) body[k] = (uint8_t)rnd(); /* incompressible: blocks take pages */
  s->body = body, s->body_len = 96;
}

/* The block of source src made at start t: spans of ops 1..5 (op 5 only
 * before the cutoff), and op 8 only before it (it still counts spans of an
 * open block); one block may hold a span ending past the cutoff. */
static void make_block(world *w, int64_t src, int64_t t, size_t n, int long_span) {
  mw__sb_span *v = calloc(n, sizeof *v);
  uint8_t *bodies = malloc(n * 96);
  made_block b = {.source = src, .n = n, .last_ns = INT64_MIN};
  static uint64_t span_seq = 1;
  for (size_t i = 0; i < n; i++) {
    int64_t op = 1 + (int64_t)(rnd() % 4);
    if (t < w->cutoff && !long_span && rnd() % 8 == 0) op = rnd() % 2 ? 5 : 8;
    int64_t start = t + (int64_t)(rnd() % (uint64_t)(50 * S)), dur = (int64_t)(rnd() % (uint64_t)(1500000000));
    if (long_span && i == 0) dur = w->cutoff - start + 30 * S; /* ends 30 s past the cutoff */
    mk(&v[i], bodies + 96 * i, rnd() % 64 + 1, span_seq++, op, start, dur);
    b.n_op[op]++;
    if (dur >= thr_of(op)) b.slow_op[op]++;
    if (start + dur > b.last_ns) b.last_ns = start + dur;
  }
  mw__bw_sealed out;
  mw__truns_mem *mem = w->mem;
  assert_int_equal(mw__bw_seal(w->bw, src, v, n, slow_of, NULL, mem, &out), MW_OK);
  assert_int_equal(out.last_ns, b.last_ns);
  b.id = out.block_id;
  w->blocks = realloc(w->blocks, (w->n_blocks + 1) * sizeof *w->blocks);
  w->blocks[w->n_blocks++] = b;
  /* a run every 3 blocks (the last: whatever is left, see flush_runs) */
  if (w->n_blocks % 3 == 0) {
    int64_t run;
    assert_int_equal(mw__truns_flush(w->runs, mem, &run), MW_OK);
    /* the run's last_ns: the newest block end it was told (its blocks: the last 3) */
    int64_t last = INT64_MIN;
    for (size_t k = w->n_blocks - 3; k < w->n_blocks; k++)
      if (w->blocks[k].last_ns > last) last = w->blocks[k].last_ns;
    w->runs_made[w->n_runs++] = (made_run){run, last};
    mw__truns_mem_clear(mem);
  }
  free(v);
  free(bodies);
}

static void old_rows(world *w, int64_t src, size_t n) {
  sqlite3_stmt *ins, *slow;
  assert_int_equal(sqlite3_prepare_v2(w->db,
                                      "INSERT INTO spans (trace_id, span_id, parent_id, source_id, op_id, scope_id, "
                                      "start_ns, dur_ns, kind, status, body) VALUES (?1, ?2, NULL, ?3, ?4, 1, ?5, ?6, "
                                      "2, 0, zeroblob(200))",
                                      -1, &ins, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(w->db,
                                      "INSERT INTO slow_spans (op_id, dur_ns, span_rowid, start_ns) VALUES (?1, ?2, "
                                      "?3, ?4)",
                                      -1, &slow, NULL),
                   SQLITE_OK);
  static uint64_t seq = (uint64_t)1 << 40;
  for (size_t i = 0; i < n; i++) {
    /* op 6 only before the cutoff, op 7 only after; ops 1..3 both (op 4 is in blocks only) */
    int before = i % 2 == 0;
    int64_t op = rnd() % 5 == 0 ? (before ? 6 : 7) : 1 + (int64_t)(rnd() % 3);
    int64_t start = before ? w->cutoff - 5 * S - (int64_t)(rnd() % (uint64_t)(3600 * S))
                           : w->cutoff + 20 * S + (int64_t)(rnd() % (uint64_t)(3600 * S));
    int64_t dur = (int64_t)(rnd() % 1500000000);
    uint8_t tid[16] = {0}, sid[8];
    uint64_t s = seq++;
    memcpy(tid, &s, 8);
    memcpy(sid, &s, 8);
    sqlite3_bind_blob(ins, 1, tid, 16, SQLITE_TRANSIENT);
    sqlite3_bind_blob(ins, 2, sid, 8, SQLITE_TRANSIENT);
    sqlite3_bind_int64(ins, 3, src);
    sqlite3_bind_int64(ins, 4, op);
    sqlite3_bind_int64(ins, 5, start);
    sqlite3_bind_int64(ins, 6, dur);
    assert_int_equal(sqlite3_step(ins), SQLITE_DONE);
    sqlite3_reset(ins);
    if (before) w->old_before[op]++;
    else w->old_after[op]++;
    if (dur >= thr_of(op)) {
      sqlite3_bind_int64(slow, 1, op);
      sqlite3_bind_int64(slow, 2, dur);
      sqlite3_bind_int64(slow, 3, sqlite3_last_insert_rowid(w->db));
      sqlite3_bind_int64(slow, 4, start);
      assert_int_equal(sqlite3_step(slow), SQLITE_DONE);
      sqlite3_reset(slow);
      if (!before) w->old_slow_after[op]++;
    }
  }
  sqlite3_finalize(ins);
  sqlite3_finalize(slow);
}

/* Expected per op: spans left (kept blocks + old rows after the cutoff). */
static int64_t left_of(const world *w, int op) {
  int64_t n = (int64_t)w->old_after[op];
  for (size_t i = 0; i < w->n_blocks; i++)
    if (w->blocks[i].last_ns >= w->cutoff) n += (int64_t)w->blocks[i].n_op[op];
  return n;
}

static size_t block_spans; /* spans a block (0: 100..299) */

static void build_rows(world *w, size_t blocks_per_source, size_t rows_per_source) {
  memset(w, 0, sizeof *w);
  snprintf(w->path, sizeof w->path, "/tmp/mw-retblk-%d.db", (int)getpid());
  unlink(w->path);
  char err[256] = "";
  assert_int_equal(sqlite3_open(w->path, &w->db), SQLITE_OK);
  sqlt_exec(w->db, "PRAGMA auto_vacuum = INCREMENTAL"); /* as store.c makes a new file */
  /* the server's writer connection (store.c, checkpoint.c: the checkpointer
   * thread checkpoints; here run_passes does, between batches and untimed) */
  sqlt_exec(w->db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL; PRAGMA cache_size = -16384");
  sqlite3_wal_autocheckpoint(w->db, 0);
  if (mw__schema_apply(w->db, 0, err, sizeof err)) fail_msg("%s", err);
  assert_int_equal(mw__bw_open(w->db, &w->bw), MW_OK);
  assert_int_equal(mw__truns_w_open(w->db, &w->runs), MW_OK);
  assert_non_null(w->mem = mw__truns_mem_new());
  /* blocks every 2 minutes from T0 per source; the cutoff in the middle */
  w->cutoff = T0 + (int64_t)blocks_per_source * MIN + 17 * S;
  sqlt_exec(w->db, "BEGIN");
  for (int64_t src = 1; src <= N_SRC; src++) {
    char sql[256];
    snprintf(sql, sizeof sql,
             "INSERT INTO sources (id, service, instance, first_ns, last_ns) VALUES (%lld, 'svc', 'i%lld', %lld, "
             "%lld)",
             (long long)src, (long long)src, (long long)(T0 - 7200 * S), (long long)(T0 + 7200 * S));
    sqlt_exec(w->db, sql);
  }
  for (size_t j = 0; j < blocks_per_source; j++)
    for (int64_t src = 1; src <= N_SRC; src++) {
      int64_t t = T0 + (int64_t)j * 2 * MIN + src * S;
      /* the block that starts just before the cutoff holds a span ending past it */
      int straddle = t < w->cutoff && t + 2 * MIN > w->cutoff;
      make_block(w, src, t, block_spans ? block_spans : 100 + rnd() % 200, straddle);
    }
  for (int64_t src = 1; src <= N_SRC; src++) old_rows(w, src, rows_per_source);
  w->extra[8] = 3; /* op 8 has 3 spans in an open block */
  /* op 4's count drifted: it reaches 0 while spans of it are left in blocks */
  w->drift[4] = left_of(w, 4);
  for (int op = 1; op < N_OPS; op++) {
    int64_t count = left_of(w, op) + (int64_t)w->old_before[op] + w->extra[op] - w->drift[op];
    for (size_t i = 0; i < w->n_blocks; i++)
      if (w->blocks[i].last_ns < w->cutoff) count += (int64_t)w->blocks[i].n_op[op];
    char sql[160];
    snprintf(sql, sizeof sql, "INSERT INTO operations (id, service, name, span_count) VALUES (%d, 'svc', 'op%d', %lld)",
             op, op, (long long)count);
    sqlt_exec(w->db, sql);
  }
  sqlt_exec(w->db, "COMMIT");
  sqlt_exec(w->db, "PRAGMA wal_checkpoint(TRUNCATE)");
}

static void build(world *w, size_t blocks_per_source) { build_rows(w, blocks_per_source, 400); }

static void teardown_world(world *w) {
  mw__bw_close(w->bw);
  mw__truns_w_close(w->runs);
  mw__truns_mem_free(w->mem);
  sqlite3_close(w->db);
  free(w->blocks);
  sqlt_remove_db(w->path);
}

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

/* Passes until nothing is left to do; returns the slowest batch in µs
 * (*p50 the median). */
static int64_t run_passes_p(world *w, int lend, size_t *batches, int64_t *p50) {
  mw__retention r;
  memset(&r, 0, sizeof r);
  mw__retention_init(&r, mw__now_ns() - w->cutoff, 0, 0);
  if (lend) mw__retention_use(&r, w->bw, w->runs);
  int more = 1, gone, any_gone = 0;
  int64_t worst = 0, *times = NULL;
  *batches = 0;
  for (size_t i = 0; i < 100000 && more; i++) {
    int64_t blocks = sqlt_int(w->db, "SELECT count(*) FROM span_blocks"), t = mono_us();
    assert_int_equal(mw__retention_batch(&r, w->db, &more, &gone), MW_OK);
    t = mono_us() - t;
    sqlt_exec(w->db, "PRAGMA wal_checkpoint(TRUNCATE)");
    if (t > worst) worst = t;
    times = realloc(times, (i + 1) * sizeof *times);
    times[i] = t;
    if (getenv("MW_RETENTION_TRACE") && t > 3000)
      print_message("batch %zu: %lld us, blocks %lld -> %lld, free pages %lld\n", i, (long long)t, (long long)blocks,
                    (long long)sqlt_int(w->db, "SELECT count(*) FROM span_blocks"),
                    (long long)sqlt_int(w->db, "PRAGMA freelist_count"));
    assert_in_range(blocks - sqlt_int(w->db, "SELECT count(*) FROM span_blocks"), 0, 8); /* ≤ 8 blocks a batch */
    any_gone |= gone;
    ++*batches;
  }
  assert_false(more);
  assert_true(any_gone); /* ops 5 and 6 went */
  qsort(times, *batches, sizeof *times, cmp_i64);
  if (p50) *p50 = *batches ? times[*batches / 2] : 0;
  free(times);
  return worst;
}

static int64_t run_passes(world *w, int lend, size_t *batches) { return run_passes_p(w, lend, batches, NULL); }

static void check(world *w) {
  sqlite3 *db = w->db;
  /* blocks: exactly those that ended at or after the cutoff */
  size_t kept = 0, ops_rows = 0;
  int64_t slow_blocks[N_OPS] = {0};
  sqlite3_stmt *has, *ops;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM span_blocks WHERE id = ?1", -1, &has, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM block_ops WHERE block_id = ?1", -1, &ops, NULL),
                   SQLITE_OK);
  for (size_t i = 0; i < w->n_blocks; i++) {
    const made_block *b = &w->blocks[i];
    int keep = b->last_ns >= w->cutoff;
    size_t n_ops = 0;
    for (int op = 1; op < N_OPS; op++) n_ops += b->n_op[op] > 0;
    sqlite3_bind_int64(has, 1, b->id);
    assert_int_equal(sqlite3_step(has), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(has, 0), keep);
    sqlite3_reset(has);
    sqlite3_bind_int64(ops, 1, b->id);
    assert_int_equal(sqlite3_step(ops), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(ops, 0), keep ? (int64_t)n_ops : 0);
    sqlite3_reset(ops);
    if (!keep) continue;
    kept++, ops_rows += n_ops;
    for (int op = 1; op < N_OPS; op++) slow_blocks[op] += (int64_t)b->slow_op[op];
  }
  sqlite3_finalize(has);
  sqlite3_finalize(ops);
  assert_true(kept > 0 && kept < w->n_blocks);
  assert_int_equal(sqlt_int(db, "SELECT count(*) FROM span_blocks"), kept);
  assert_int_equal(sqlt_int(db, "SELECT count(*) FROM block_ops"), ops_rows);
  /* slow rows: those of kept blocks (negative srefs) and of old rows left */
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT count(*) FILTER (WHERE span_rowid < 0), count(*) FILTER (WHERE "
                                      "span_rowid > 0) FROM slow_spans WHERE op_id = ?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  for (int op = 1; op < N_OPS; op++) {
    sqlite3_bind_int64(st, 1, op);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), slow_blocks[op]);
    assert_int_equal(sqlite3_column_int64(st, 1), (int64_t)w->old_slow_after[op]);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  /* old rows: those that began at or after the cutoff */
  size_t after = 0;
  for (int op = 1; op < N_OPS; op++) after += w->old_after[op];
  assert_int_equal(sqlt_int(db, "SELECT count(*) FROM spans"), after);
  /* operations: span_count is what is left; one with nothing left is gone,
   * one with spans left stays (op 4, whose count says 0) */
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT span_count FROM operations WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
  for (int op = 1; op < N_OPS; op++) {
    int64_t want = left_of(w, op) + w->extra[op] - w->drift[op];
    sqlite3_bind_int64(st, 1, op);
    int step = sqlite3_step(st);
    if (left_of(w, op) + w->extra[op] > 0) {
      if (step != SQLITE_ROW) fail_msg("operation %d (%lld spans left) was deleted", op, (long long)want);
      assert_int_equal(sqlite3_column_int64(st, 0), want);
    } else if (step != SQLITE_DONE) fail_msg("operation %d has no span left but is kept", op);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  assert_int_equal(left_of(w, 5), 0); /* the test's own premises: ops 5, 6 gone, 8 kept by its open block */
  assert_int_equal(left_of(w, 6), 0);
  assert_int_equal(left_of(w, 8), 0);
  assert_true(left_of(w, 4) > 0 && w->old_after[4] == 0);
  /* trace runs: none that ended before the cutoff, no entries of a run not listed */
  size_t runs_kept = 0;
  for (size_t i = 0; i < w->n_runs; i++) runs_kept += w->runs_made[i].last_ns >= w->cutoff;
  assert_true(runs_kept > 0 && runs_kept < w->n_runs);
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM trace_run_list WHERE last_ns < %lld", (long long)w->cutoff);
  assert_int_equal(sqlt_int(db, sql), 0);
  assert_int_equal(sqlt_int(db, "SELECT count(*) FROM trace_run_list WHERE level >= 0"), runs_kept);
  assert_int_equal(
      sqlt_int(db, "SELECT count(*) FROM trace_runs WHERE run_id NOT IN (SELECT run_id FROM trace_run_list)"), 0);
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM trace_run_list WHERE run_id = ?1", -1, &st, NULL),
                   SQLITE_OK);
  for (size_t i = 0; i < w->n_runs; i++) {
    sqlite3_bind_int64(st, 1, w->runs_made[i].id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_int_equal(sqlite3_column_int64(st, 0), w->runs_made[i].last_ns >= w->cutoff);
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
}

static void run_case(int lend) {
  world w;
  build(&w, 60);
  int64_t pages = sqlt_int(w.db, "PRAGMA page_count");
  size_t batches;
  int64_t worst = run_passes(&w, lend, &batches);
  check(&w);
  /* space came back: no free page left, the file has fewer pages */
  assert_int_equal(sqlt_int(w.db, "PRAGMA freelist_count"), 0);
  int64_t after = sqlt_int(w.db, "PRAGMA page_count");
  assert_true(after < pages * 3 / 4);
  print_message("retention: %zu blocks, %zu batches, slowest %lld us, pages %lld -> %lld\n", w.n_blocks, batches,
                (long long)worst, (long long)pages, (long long)after);
  teardown_world(&w);
}

static void test_retention_blocks(void **state) {
  (void)state;
  run_case(0);
}

/* The same with the writer's handles lent (mw__retention_use). */
static void test_retention_blocks_lent(void **state) {
  (void)state;
  run_case(1);
}

/* A second pass with the same cutoff finds nothing; a later cutoff deletes
 * the blocks that straddled the first one. */
static void test_retention_again(void **state) {
  (void)state;
  world w;
  build(&w, 20);
  size_t batches;
  run_passes(&w, 0, &batches);
  check(&w);
  int64_t blocks = sqlt_int(w.db, "SELECT count(*) FROM span_blocks");
  mw__retention r;
  memset(&r, 0, sizeof r);
  mw__retention_init(&r, mw__now_ns() - w.cutoff, 0, 0);
  int more = 1, gone;
  for (int i = 0; i < 100 && more; i++) assert_int_equal(mw__retention_batch(&r, w.db, &more, &gone), MW_OK);
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM span_blocks"), blocks);
  check(&w);
  /* everything is past a cutoff an hour after the newest span */
  mw__retention_init(&r, mw__now_ns() - (w.cutoff + 200 * MIN), 0, 0);
  more = 1;
  for (int i = 0; i < 1000 && more; i++) assert_int_equal(mw__retention_batch(&r, w.db, &more, &gone), MW_OK);
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM span_blocks"), 0);
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM block_ops"), 0);
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM slow_spans"), 0);
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM trace_runs"), 0);
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM spans"), 0);
  /* only op 8 is left: its open block's spans (op 4: its drifted count went below 0) */
  assert_int_equal(sqlt_int(w.db, "SELECT count(*) FROM operations"), 1);
  assert_int_equal(sqlt_int(w.db, "SELECT span_count FROM operations WHERE id = 8"), 3);
  teardown_world(&w);
}

/* Every statement over blocks and operations seeks an index: no SCAN, and
 * the blocks' select bounds first_ns (not every newer block of the source). */
static void test_plans(void **state) {
  (void)state;
  world w;
  build(&w, 4);
  for (size_t i = 0; i < mw__retention_sql_count; i++) {
    char sql[1024];
    snprintf(sql, sizeof sql, "EXPLAIN QUERY PLAN %s", mw__retention_sql[i]);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(w.db, sql, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(w.db));
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *d = (const char *)sqlite3_column_text(st, 3);
      if (strstr(d, "SCAN")) fail_msg("%s: %s", mw__retention_sql[i], d);
      if (strstr(d, "span_blocks") && !strstr(d, "span_blocks_by_source (source_id=? AND first_ns<?)"))
        fail_msg("%s: %s", mw__retention_sql[i], d);
    }
    sqlite3_finalize(st);
  }
  teardown_world(&w);
}

/* MW_RETENTION_BENCH=N: N blocks a source (MW_RETENTION_BENCH_ROWS=M: and
 * M old rows a source, 400 if unset; MW_RETENTION_BENCH_SPANS=K: K spans a
 * block, 100..299 if unset); prints the batches' times. */
static void bench(void **state) {
  (void)state;
  const char *e = getenv("MW_RETENTION_BENCH"), *rows = getenv("MW_RETENTION_BENCH_ROWS"),
             *spans_env = getenv("MW_RETENTION_BENCH_SPANS");
  if (!e) skip();
  block_spans = spans_env ? (size_t)atol(spans_env) : 0;
  world w;
  build_rows(&w, (size_t)atol(e), rows ? (size_t)atol(rows) : 400);
  int64_t pages = sqlt_int(w.db, "PRAGMA page_count");
  size_t batches;
  int64_t p50, t = mono_us(), worst = run_passes_p(&w, 1, &batches, &p50);
  t = mono_us() - t;
  size_t spans = 0;
  for (size_t i = 0; i < w.n_blocks; i++) spans += w.blocks[i].n;
  print_message("bench: %zu blocks (%zu spans), %zu batches in %lld ms, batch p50 %lld us, slowest %lld us, pages "
                "%lld -> %lld\n",
                w.n_blocks, spans, batches, (long long)t / 1000, (long long)p50, (long long)worst, (long long)pages,
                (long long)sqlt_int(w.db, "PRAGMA page_count"));
  teardown_world(&w);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_retention_blocks),
      cmocka_unit_test(test_retention_blocks_lent),
      cmocka_unit_test(test_retention_again),
      cmocka_unit_test(test_plans),
      cmocka_unit_test(bench),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
