/* Tests for the per-minute rollups of runtime data (model/minutes.c,
 * store/minutes.c, their writing in store/runtime_write.c, retention and the
 * backfill of migration 7), on hand-built GC cycles and snapshots pushed
 * through the writer as ingest hands them over. Every expected figure is
 * worked out by hand in the comments, never taken from the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "store_fixture.h"

#include "core/arena.h"
#include "core/error.h"
#include "core/timefmt.h"
#include "model/minutes.h"
#include "store/retention.h"

#define S ((int64_t)1000000000)
#define MIB ((int64_t)1 << 20)
/* a whole minute: 1796500020 = 29941667 x 60 */
#define T0 ((int64_t)1796500020 * S)

/* ---- the pause histogram ------------------------------------------------- */

static void test_histogram_buckets(void **state) {
  (void)state;
  /* below 100 ns a value is its own bucket */
  assert_int_equal(mw__ph_value(mw__ph_key(42)), 42);
  /* gctrace's two significant digits: 11 µs, 1.2 ms, 45 ms fall on themselves */
  assert_int_equal(mw__ph_value(mw__ph_key(11000)), 11000);
  assert_int_equal(mw__ph_value(mw__ph_key(1200000)), 1200000);
  assert_int_equal(mw__ph_value(mw__ph_key(45000000)), 45000000);
  /* 123,456 ns is cut to 120,000 (2 significant digits), 999 to 990 */
  assert_int_equal(mw__ph_value(mw__ph_key(123456)), 120000);
  assert_int_equal(mw__ph_value(mw__ph_key(999)), 990);
  /* the bucket under 100 and the first one above it */
  assert_int_equal(mw__ph_value(mw__ph_key(99)), 99);
  assert_int_equal(mw__ph_value(mw__ph_key(100)), 100);
  assert_int_equal(mw__ph_value(mw__ph_key(109)), 100);
  assert_int_equal(mw__ph_value(mw__ph_key(110)), 110);

  /* encode, add twice, quantiles: pauses 20, 30, 40, 50 µs and 7 ms */
  uint32_t h[MW_PH_KEYS] = {0}, sum[MW_PH_KEYS] = {0};
  int64_t v[] = {20000, 30000, 40000, 50000, 7000000};
  for (size_t i = 0; i < 5; i++) h[mw__ph_key(v[i])]++;
  uint8_t blob[MW_PH_KEYS * 6];
  size_t len = mw__ph_encode(h, blob, sizeof blob);
  assert_int_equal(len, 5 * 6); /* five buckets of 6 bytes */
  assert_int_equal(mw__ph_add(sum, blob, len), 5);
  assert_int_equal(mw__ph_add(sum, blob, len), 5);
  /* ten pauses: each value twice; p50 = rank 5 = 40 µs (20,20,30,30,40), p99 = rank 10 = 7 ms */
  assert_int_equal(mw__ph_quantile(sum, 10, 0.5), 40000);
  assert_int_equal(mw__ph_quantile(sum, 10, 0.99), 7000000);
  assert_int_equal(mw__ph_quantile(sum, 10, 0.1), 20000);
  assert_int_equal(mw__ph_quantile(sum, 0, 0.5), 0);
}

/* ---- written at ingest --------------------------------------------------- */

/* Three cycles: 10 and 11 in the first minute, 12 in the next. */
static mw_gc_cycle cycle(int64_t n) {
  mw_gc_cycle g = {.n = n, .stacks = -1, .globals = -1};
  if (n == 10) {
    g.start_ns = T0 + 1 * S, g.stw_sweep_term_ns = 20000, g.concurrent_mark_ns = 2000000, g.stw_mark_term_ns = 30000;
    g.stw1_cpu_ns = 80000, g.assist_cpu_ns = 1000000, g.background_cpu_ns = 3000000, g.idle_cpu_ns = 500000;
    g.stw2_cpu_ns = 120000, g.heap_before = 13 * MIB, g.heap_after = 12 * MIB, g.heap_live = 8 * MIB;
    g.goal = 16 * MIB, g.procs = 4;
  } else if (n == 11) {
    g.start_ns = T0 + 31 * S, g.stw_sweep_term_ns = 50000, g.concurrent_mark_ns = 3000000, g.stw_mark_term_ns = 40000;
    g.stw1_cpu_ns = 200000, g.assist_cpu_ns = 2000000, g.background_cpu_ns = 4000000, g.idle_cpu_ns = 700000;
    g.stw2_cpu_ns = 160000, g.heap_before = 21 * MIB, g.heap_after = 20 * MIB, g.heap_live = 10 * MIB;
    g.goal = 20 * MIB, g.procs = 4;
  } else {
    g.start_ns = T0 + 61 * S, g.stw_sweep_term_ns = 10000, g.concurrent_mark_ns = 1000000, g.stw_mark_term_ns = 60000;
    g.stw1_cpu_ns = 40000, g.assist_cpu_ns = 0, g.background_cpu_ns = 1000000, g.idle_cpu_ns = 0;
    g.stw2_cpu_ns = 240000, g.heap_before = 15 * MIB, g.heap_after = 14 * MIB, g.heap_live = 9 * MIB;
    g.goal = 18 * MIB, g.procs = 8;
  }
  return g;
}

static int push_cycles(sfx *f, mw_gc_cycle *gc, size_t n) {
  mw_runtime_batch b = {.service = "shop", .instance = "i-1", .gc = gc, .n_gc = n};
  mw_write_job job = {.kind = MW_JOB_RUNTIME, .payload = &b, .cost_spans = n};
  return sfx_commit(f, &job, 1);
}

static int push_snapshot(sfx *f, const char *kind, const char *format, int64_t at, int64_t total, const char *trigger) {
  /* the trigger is also in the meta, as ingest writes it (the backfill reads it there) */
  char meta[128];
  snprintf(meta, sizeof meta, trigger ? "{\"format\":\"%s\",\"trigger\":\"%s\"}" : "{\"format\":\"%s\"}", format,
           trigger);
  mw_runtime_batch b = {.meta_json = meta,
                        .service = "shop",
                        .instance = "i-1",
                        .kind = kind,
                        .format = format,
                        .at_ns = at,
                        .total = total,
                        .trigger = trigger,
                        .payload = (const uint8_t *)"x",
                        .payload_len = 1,
                        .raw_bytes = 1};
  mw_write_job job = {.kind = MW_JOB_RUNTIME, .payload = &b, .cost_spans = 1};
  return sfx_commit(f, &job, 1);
}

typedef struct minute_row {
  int64_t v[30];
  int found;
} minute_row;

#define COLS                                                                                                           \
  "gc_cycles, gc_cpu_ns, assist_cpu_ns, procs, pauses, pause_max_ns, heap_live, heap_live_max, heap_goal, "            \
  "alloc_bytes, alloc_ns, snapshots, goroutines, goroutines_max, cap_goroutine, cap_dump, cap_heap, triggered"
enum {
  C_CYCLES,
  C_CPU,
  C_ASSIST,
  C_PROCS,
  C_PAUSES,
  C_PMAX,
  C_LIVE,
  C_LIVE_MAX,
  C_GOAL,
  C_ALLOC,
  C_ALLOC_NS,
  C_SNAPS,
  C_GOR,
  C_GOR_MAX,
  C_CAP_GOR,
  C_CAP_DUMP,
  C_CAP_HEAP,
  C_TRIG,
  C_N
};

/* The row of (source 1, minute) read with a connection of the test's own;
 * the pauses' p50/p99 decoded from its histogram. */
static minute_row read_minute(sfx *f, int64_t minute, int64_t *p50, int64_t *p99) {
  minute_row r = {0};
  char p[128];
  snprintf(p, sizeof p, "%s/meanwhile.db", f->dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT " COLS ", pause_hist FROM runtime_minutes WHERE source_id = "
                                      "(SELECT id FROM sources WHERE service = 'shop') AND minute_ns = ?1",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, minute);
  if (sqlite3_step(st) == SQLITE_ROW) {
    r.found = 1;
    for (int i = 0; i < C_N; i++) r.v[i] = sqlite3_column_int64(st, i);
    uint32_t h[MW_PH_KEYS] = {0};
    int64_t n = mw__ph_add(h, sqlite3_column_blob(st, C_N), (size_t)sqlite3_column_bytes(st, C_N));
    *p50 = mw__ph_quantile(h, n, 0.5);
    *p99 = mw__ph_quantile(h, n, 0.99);
  }
  sqlite3_finalize(st);
  sqlite3_close(db);
  return r;
}

/* The figures of the two minutes, worked out by hand from cycle() and the
 * snapshots of test_written_at_ingest. */
static void check_minutes(sfx *f) {
  int64_t p50 = -1, p99 = -1;
  minute_row m0 = read_minute(f, T0, &p50, &p99);
  assert_true(m0.found);
  assert_int_equal(m0.v[C_CYCLES], 2);
  /* GC CPU: (80,000 + 1,000,000 + 3,000,000 + 120,000) + (200,000 + 2,000,000 + 4,000,000 + 160,000) */
  assert_int_equal(m0.v[C_CPU], 4200000 + 6360000);
  assert_int_equal(m0.v[C_ASSIST], 3000000);
  assert_int_equal(m0.v[C_PROCS], 4);
  /* pauses 20, 30 (cycle 10), 50, 40 µs (cycle 11): p50 = rank 2 of 4 = 30 µs, p99 = rank 4 = 50 µs */
  assert_int_equal(m0.v[C_PAUSES], 4);
  assert_int_equal(m0.v[C_PMAX], 50000);
  assert_int_equal(p50, 30000);
  assert_int_equal(p99, 50000);
  /* the last cycle (11) by start: live 10 MiB, goal 20 MiB; the max live is also 10 MiB */
  assert_int_equal(m0.v[C_LIVE], 10 * MIB);
  assert_int_equal(m0.v[C_LIVE_MAX], 10 * MIB);
  assert_int_equal(m0.v[C_GOAL], 20 * MIB);
  /* cycle 10 has no predecessor; cycle 11 allocated 20 MiB - 8 MiB = 12 MiB over
   * end(11) - end(10) = (31 s + 50,000 + 3,000,000 + 40,000) - (1 s + 20,000 + 2,000,000 + 30,000) */
  assert_int_equal(m0.v[C_ALLOC], 12 * MIB);
  assert_int_equal(m0.v[C_ALLOC_NS], 30 * S + 3090000 - 2050000);
  /* a goroutine profile of 100 at 10 s, a dump of 90 at 50 s (triggered): the last is 90, the max 100 */
  assert_int_equal(m0.v[C_SNAPS], 2);
  assert_int_equal(m0.v[C_GOR], 90);
  assert_int_equal(m0.v[C_GOR_MAX], 100);
  assert_int_equal(m0.v[C_CAP_GOR], 1);
  assert_int_equal(m0.v[C_CAP_DUMP], 1);
  assert_int_equal(m0.v[C_CAP_HEAP], 0);
  assert_int_equal(m0.v[C_TRIG], 1);

  minute_row m1 = read_minute(f, T0 + 60 * S, &p50, &p99);
  assert_true(m1.found);
  assert_int_equal(m1.v[C_CYCLES], 1);
  assert_int_equal(m1.v[C_CPU], 40000 + 0 + 1000000 + 240000);
  assert_int_equal(m1.v[C_PROCS], 8);
  /* pauses 10 and 60 µs: p50 = rank 1 = 10 µs, p99 = rank 2 = 60 µs */
  assert_int_equal(p50, 10000);
  assert_int_equal(p99, 60000);
  assert_int_equal(m1.v[C_LIVE], 9 * MIB);
  /* cycle 12 (pushed alone) follows cycle 11 of the store: 14 MiB - 10 MiB over
   * end(12) - end(11) = (61 s + 10,000 + 1,000,000 + 60,000) - (31 s + 3,090,000) */
  assert_int_equal(m1.v[C_ALLOC], 4 * MIB);
  assert_int_equal(m1.v[C_ALLOC_NS], 30 * S + 1070000 - 3090000);
  /* a heap profile at 70 s: a capture, not a goroutine snapshot */
  assert_int_equal(m1.v[C_SNAPS], 0);
  assert_int_equal(m1.v[C_CAP_HEAP], 1);
  assert_int_equal(m1.v[C_TRIG], 0);
}

static void push_all(sfx *f) {
  mw_gc_cycle first[2] = {cycle(10), cycle(11)}, next = cycle(12), again = cycle(11);
  assert_int_equal(push_cycles(f, first, 2), 0);
  assert_int_equal(push_cycles(f, &next, 1), 0);
  assert_int_equal(push_cycles(f, &again, 1), 0); /* re-sent: stored once, counted once */
  assert_int_equal(push_snapshot(f, "goroutine", "pprof", T0 + 10 * S, 100, NULL), 0);
  assert_int_equal(push_snapshot(f, "goroutine", "debug=2", T0 + 50 * S, 90, "goroutines"), 0);
  assert_int_equal(push_snapshot(f, "heap", "pprof", T0 + 70 * S, 5, NULL), 0);
}

static void test_written_at_ingest(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  push_all(&f);
  check_minutes(&f);
  sfx_close(&f);
}

/* A database of migration 6 (no rollups) gets its minutes when opened:
 * the same figures. */
static void test_backfill(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  push_all(&f);
  mw__store_close(f.s);
  f.s = NULL;
  /* back to a release-6 file: 0007's table and index, and 0008's tables
   * (migration 0008 runs again on reopen) */
  assert_int_equal(sfx_exec(&f, "DROP TABLE runtime_minutes; DROP INDEX snapshots_by_kind; DROP TABLE span_blocks; "
                                "DROP TABLE block_ops; DROP TABLE span_tail; DROP TABLE trace_runs; "
                                "DROP TABLE trace_run_list; PRAGMA user_version=6;"),
                   0);
  mw_store_opts o = {.data_dir = f.dir, .queue_max_spans = 1u << 20, .queue_max_bytes = 1u << 28};
  char err[256];
  assert_int_equal(mw__store_open(&o, &f.s, err, sizeof err), 0);
  check_minutes(&f);
  sfx_close(&f);
}

/* Retention at a cutoff 30 s into the first minute: cycle 10 goes, and the
 * first minute with it (it began before the cutoff); the second stays. */
static void test_retention(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  push_all(&f);
  mw__store_close(f.s);
  f.s = NULL;
  char p[128];
  snprintf(p, sizeof p, "%s/meanwhile.db", f.dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
  mw__retention r;
  mw__retention_init(&r, mw__now_ns() - (T0 + 30 * S), 0, 0);
  int more = 1, gone;
  for (int i = 0; i < 100 && more; i++) assert_int_equal(mw__retention_batch(&r, db, &more, &gone), 0);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT (SELECT count(*) FROM gc_cycles), (SELECT group_concat(minute_ns - ?1) "
                                      "FROM runtime_minutes)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, T0);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), 2);                             /* cycles 11 and 12 */
  assert_string_equal((const char *)sqlite3_column_text(st, 1), "60000000000"); /* the second minute */
  sqlite3_finalize(st);
  sqlite3_close(db);
  sfx_close(&f);
}

/* ---- goroutine snapshots spread over a long window (gor_growth.c) -------- */

/* 2,500 goroutine profiles a second apart from T0, and a CPU profile 0.3 s
 * after every tenth (to be skipped); 5 spread ones are those at or after
 * 0, 2499 x 1/4, 2/4, 3/4 s (624.75, 1249.5, 1874.25: the next whole
 * seconds), then the last at 2499 s. */
static void test_snapshots_spread(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  enum { N = 2500 };
  mw_runtime_batch *b = calloc(N + N / 10, sizeof *b);
  mw_write_job *jobs = calloc(N + N / 10, sizeof *jobs);
  size_t n = 0;
  for (int i = 0; i < N; i++) {
    for (int cpu = 0; cpu < (i % 10 == 0 ? 2 : 1); cpu++) {
      b[n] = (mw_runtime_batch){.service = "shop",
                                .instance = "i-1",
                                .kind = cpu ? "cpu" : "goroutine",
                                .format = "pprof",
                                .at_ns = T0 + i * S + (cpu ? 300000000 : 0),
                                .total = i,
                                .payload = (const uint8_t *)"x",
                                .payload_len = 1,
                                .raw_bytes = 1};
      jobs[n] = (mw_write_job){.kind = MW_JOB_RUNTIME, .payload = &b[n], .cost_spans = 1};
      n++;
    }
  }
  assert_int_equal(sfx_commit(&f, jobs, n), 0);
  mw_read *rd;
  assert_int_equal(mw__read_begin(f.s, &rd), 0);
  mw_arena *a = mw__arena_new(1 << 20);
  mw_snapshot_info *out;
  size_t got;
  assert_int_equal(
      mw__store_snapshots_spread(rd, a, b[0].source_id, "goroutine", T0 - S, T0 + 10000 * S, 5, &out, &got), 0);
  assert_int_equal(got, 5);
  int64_t want[5] = {0, 625, 1250, 1875, 2499};
  for (size_t i = 0; i < 5; i++) {
    assert_int_equal(out[i].at_ns, T0 + want[i] * S);
    assert_string_equal(out[i].kind, "goroutine");
  }
  /* 1,000 of them: as many, the first and the last among them, each once, in order */
  assert_int_equal(
      mw__store_snapshots_spread(rd, a, b[0].source_id, "goroutine", T0 - S, T0 + 10000 * S, 1000, &out, &got), 0);
  assert_int_equal(got, 1000);
  assert_int_equal(out[0].at_ns, T0);
  assert_int_equal(out[999].at_ns, T0 + 2499 * S);
  for (size_t i = 1; i < got; i++) assert_true(out[i].at_ns > out[i - 1].at_ns);
  /* fewer snapshots than asked: each of them once */
  assert_int_equal(mw__store_snapshots_spread(rd, a, b[0].source_id, "goroutine", T0, T0 + 3 * S, 1000, &out, &got), 0);
  assert_int_equal(got, 3);
  mw__arena_free(a);
  mw__read_end(rd);
  free(b);
  free(jobs);
  sfx_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_histogram_buckets), cmocka_unit_test(test_written_at_ingest),
      cmocka_unit_test(test_backfill),          cmocka_unit_test(test_retention),
      cmocka_unit_test(test_snapshots_spread),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
