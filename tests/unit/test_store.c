/* Tests for the store (server/store/) on a temporary database: what the
 * writer is given comes back from the read functions as it was given (the
 * expected values are the inputs, written by hand); a read transaction sees
 * one state of the database whatever the writer commits meanwhile, and a
 * newer one after mw__read_yield lets a waiting writer empty the WAL; a read
 * cut short by its query limit fails instead of returning the rows it had. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/error.h"
#include "core/timefmt.h"
#include "store/readers.h"
#include "store_fixture.h"

#define MS 1000000LL
static const int64_t T0 = 1800000000000000000LL;
static const uint8_t TRACE[16] = {0x7e, [15] = 0x01};
static const char STACK_A[] = "runtime.gopark\truntime/proc.go:363\nmain.wait\tmain.go:10\n";
static const char STACK_B[] = "main.work\tmain.go:20\n";

/* The trace: GET /cart at T0 for 100 ms (root), db.query at T0+10ms for 30 ms;
 * source shop/i-1 (host h1, pid 42), resource blob "res-1", scope blob "scope-1". */
static mw_resource_ref res = {.service = "shop",
                              .instance = "i-1",
                              .host = "h1",
                              .pid = 42,
                              .resource = (const uint8_t *)"res-1",
                              .resource_len = 5};
static mw_scope_ref scope = {.body = (const uint8_t *)"scope-1", .body_len = 7};

static mw_span_row span_row(int id, int parent, const char *name, int64_t start_ms, int64_t dur_ms) {
  mw_span_row r = {.start_ns = T0 + start_ms * MS,
                   .dur_ns = dur_ms * MS,
                   .kind = 2,
                   .status = id == 2 ? 2 : 0,
                   .name = name,
                   .body = (const uint8_t *)"body",
                   .body_len = 4};
  memcpy(r.trace_id, TRACE, 16);
  r.span_id[7] = (uint8_t)id;
  if (parent) r.parent_id[7] = (uint8_t)parent, r.has_parent = 1;
  return r;
}

static int write_spans(sfx *f, mw_span_row *rows, size_t n) {
  mw_span_batch b = {.resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = rows, .n_rows = n};
  mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = n};
  return sfx_commit(f, &job, 1);
}

/* Stderr records of shop/i-1: n GC cycles 1 s apart from T0, and n SCHED
 * lines half a second after each. */
static int write_stderr(sfx *f, size_t n) {
  mw_gc_cycle *gc = calloc(n, sizeof *gc);
  mw_sched_sample *sched = calloc(n, sizeof *sched);
  for (size_t i = 0; i < n; i++) {
    gc[i] = (mw_gc_cycle){.n = (int64_t)i + 1,
                          .start_ns = T0 + (int64_t)i * 1000 * MS,
                          .stw_sweep_term_ns = 50000,
                          .concurrent_mark_ns = 4 * MS,
                          .stw_mark_term_ns = 90000,
                          .cpu_percent = 3,
                          .heap_before = 40 << 20,
                          .heap_after = 42 << 20,
                          .heap_live = 21 << 20,
                          .goal = 44 << 20,
                          .stacks = -1,
                          .globals = 1 << 20,
                          .procs = 8,
                          .forced = i == 0};
    sched[i] = (mw_sched_sample){.stamp_ns = T0 + (int64_t)i * 1000 * MS + 500 * MS,
                                 .gomaxprocs = 8,
                                 .idleprocs = 6 + (int64_t)(i % 2),
                                 .threads = 12,
                                 .runqueue = 1,
                                 .local_runq_sum = i == 0 ? 3 : -1};
  }
  mw_runtime_batch b = {.service = "shop", .instance = "i-1", .gc = gc, .n_gc = n, .sched = sched, .n_sched = n};
  mw_write_job job = {.kind = MW_JOB_RUNTIME, .payload = &b, .cost_spans = 2 * n};
  int rc = sfx_commit(f, &job, 1);
  free(gc);
  free(sched);
  return rc;
}

/* A goroutine dump of shop/i-1 at T0 with n groups of one running goroutine
 * each. Returns its id through the batch, or -1. */
static int64_t write_big_dump(sfx *f, size_t n) {
  mw_stack_text stack = {STACK_B, sizeof STACK_B - 1};
  mw_goroutine_group *g = calloc(n, sizeof *g);
  for (size_t i = 0; i < n; i++)
    g[i] = (mw_goroutine_group){.state = MW_G_RUNNING, .count = 1, .wait_min_ns = -1, .wait_max_ns = -1};
  mw_runtime_batch dump = {.service = "shop",
                           .instance = "i-1",
                           .kind = "goroutine",
                           .format = "debug=2",
                           .at_ns = T0,
                           .total = (int64_t)n,
                           .payload = (const uint8_t *)"d",
                           .payload_len = 1,
                           .raw_bytes = 1,
                           .stacks = &stack,
                           .n_stacks = 1,
                           .groups = g,
                           .n_groups = n};
  mw_write_job job = {.kind = MW_JOB_RUNTIME, .payload = &dump, .cost_spans = n};
  int rc = sfx_commit(f, &job, 1);
  free(g);
  return rc ? -1 : dump.snapshot_id;
}

/* A goroutine dump at T0+50ms: 3 goroutines in chan wait labelled with span 2,
 * 1 running; and a CPU profile of T0 .. T0+10s with one labelled sample. The
 * payloads: "dump" and "prof" (not zstd: the store keeps bytes, whatever they are). */
static int write_snapshots(sfx *f) {
  mw_stack_text stacks[2] = {{STACK_A, sizeof STACK_A - 1}, {STACK_B, sizeof STACK_B - 1}};
  mw_goroutine_group g[2] = {
      {.stack = 0,
       .state = MW_G_CHAN,
       .wait_reason = "chan receive",
       .count = 3,
       .wait_min_ns = 60000 * MS,
       .wait_max_ns = 120000 * MS,
       .has_span = 1,
       .has_trace = 1,
       .labels_json = "{\"span_id\":\"x\"}",
       .goids = "7,9,11"},
      {.stack = 1, .state = MW_G_RUNNING, .count = 1, .wait_min_ns = -1, .wait_max_ns = -1, .locked = 1}};
  g[0].span_id[7] = 2;
  memcpy(g[0].trace_id, TRACE, 16);
  mw_runtime_batch dump = {.service = "shop",
                           .instance = "i-1",
                           .kind = "goroutine",
                           .format = "debug=2",
                           .at_ns = T0 + 50 * MS,
                           .total = 4,
                           .meta_json = "{\"format\":\"debug=2\"}",
                           .payload = (const uint8_t *)"dump",
                           .payload_len = 4,
                           .raw_bytes = 40,
                           .stacks = stacks,
                           .n_stacks = 2,
                           .groups = g,
                           .n_groups = 2};
  mw_profile_row p = {.stack = 1, .has_span = 1, .vals_json = "[2,20000000]"};
  p.span_id[7] = 2;
  mw_runtime_batch prof = {.service = "shop",
                           .instance = "i-1",
                           .kind = "cpu",
                           .format = "pprof",
                           .at_ns = T0,
                           .duration_ns = 10000 * MS,
                           .total = 1,
                           .meta_json = "{\"format\":\"pprof\"}",
                           .payload = (const uint8_t *)"prof",
                           .payload_len = 4,
                           .raw_bytes = 4,
                           .stacks = stacks,
                           .n_stacks = 2,
                           .samples = &p,
                           .n_samples = 1};
  mw_write_job jobs[2] = {{.kind = MW_JOB_RUNTIME, .payload = &dump}, {.kind = MW_JOB_RUNTIME, .payload = &prof}};
  return sfx_commit(f, jobs, 2);
}

static void test_round_trip(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  mw_span_row rows[2] = {span_row(2, 1, "db.query", 10, 30), span_row(1, 0, "GET /cart", 0, 100)};
  assert_int_equal(write_spans(&f, rows, 2), 0);
  assert_int_equal(write_stderr(&f, 2), 0);
  assert_int_equal(write_snapshots(&f), 0);
  mw_arena *a = mw__arena_new(0);
  mw_read *r;
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);

  mw_trace_rows t;
  assert_int_equal(mw__store_read_trace(r, a, TRACE, 10, &t), MW_OK);
  assert_int_equal(t.n_spans, 2);
  /* by start time: the root first */
  assert_string_equal(t.spans[0].name, "GET /cart");
  assert_int_equal(t.spans[0].span_id[7], 1);
  assert_int_equal(t.spans[0].has_parent, 0);
  assert_int_equal(t.spans[0].start_ns, T0);
  assert_int_equal(t.spans[0].dur_ns, 100 * MS);
  assert_int_equal(t.spans[0].kind, 2);
  assert_int_equal(t.spans[0].status, 0);
  assert_string_equal(t.spans[1].name, "db.query");
  assert_int_equal(t.spans[1].has_parent, 1);
  assert_int_equal(t.spans[1].parent_id[7], 1);
  assert_int_equal(t.spans[1].start_ns, T0 + 10 * MS);
  assert_int_equal(t.spans[1].status, 2);
  assert_int_equal(t.spans[1].body_len, 4);
  assert_memory_equal(t.spans[1].body, "body", 4);
  assert_int_equal(t.n_sources, 1);
  assert_memory_equal(t.sources[0].data, "res-1", 5);
  assert_int_equal(t.n_scopes, 1);
  assert_memory_equal(t.scopes[0].data, "scope-1", 7);
  /* more spans than allowed: refused, not cut */
  assert_int_equal(mw__store_read_trace(r, a, TRACE, 1, &t), MW_ETOOBIG);
  uint8_t unknown[16] = {1};
  assert_int_equal(mw__store_read_trace(r, a, unknown, 10, &t), MW_OK);
  assert_int_equal(t.n_spans, 0);

  mw_source_info src;
  assert_int_equal(mw__store_source(r, a, 1, &src), MW_OK);
  assert_string_equal(src.service, "shop");
  assert_string_equal(src.instance, "i-1");
  assert_string_equal(src.host, "h1");
  assert_int_equal(src.pid, 42);
  /* from the spans' first start to the profile's end (T0 + 10 s) */
  assert_int_equal(src.first_ns, T0);
  assert_int_equal(src.last_ns, T0 + 10000 * MS);
  assert_int_equal(mw__store_source(r, a, 99, &src), MW_ENOTFOUND);

  mw_gc_cycle *gc;
  size_t n;
  int more;
  assert_int_equal(mw__store_gc(r, a, 1, T0, T0 + 2000 * MS, 10, &gc, &n, &more), MW_OK);
  assert_int_equal(n, 2);
  assert_int_equal(more, 0);
  assert_int_equal(gc[1].n, 2);
  assert_int_equal(gc[1].start_ns, T0 + 1000 * MS);
  assert_int_equal(gc[0].concurrent_mark_ns, 4 * MS);
  assert_int_equal(gc[0].heap_live, 21 << 20);
  assert_int_equal(gc[0].stacks, -1);
  assert_int_equal(gc[0].globals, 1 << 20);
  assert_int_equal(gc[0].forced, 1);
  assert_int_equal(gc[1].forced, 0);
  assert_int_equal(mw__store_gc(r, a, 1, T0, T0 + 2000 * MS, 1, &gc, &n, &more), MW_OK);
  assert_int_equal(n, 1);
  assert_int_equal(more, 1);

  mw_sched_sample *sc;
  assert_int_equal(mw__store_sched(r, a, 1, T0, T0 + 2000 * MS, 10, &sc, &n, &more), MW_OK);
  assert_int_equal(n, 2);
  assert_int_equal(sc[0].stamp_ns, T0 + 500 * MS);
  assert_int_equal(sc[0].idleprocs, 6);
  assert_int_equal(sc[1].idleprocs, 7);
  assert_int_equal(sc[0].local_runq_sum, 3);
  assert_int_equal(sc[1].local_runq_sum, -1);

  mw_snapshot_info *sn;
  assert_int_equal(mw__store_snapshots(r, a, 1, NULL, T0, T0 + 1000 * MS, 10, &sn, &n, &more), MW_OK);
  assert_int_equal(n, 2);
  assert_string_equal(sn[0].kind, "cpu"); /* by time */
  assert_string_equal(sn[1].kind, "goroutine");
  assert_string_equal(sn[1].format, "debug=2");
  assert_int_equal(sn[1].total, 4);
  assert_string_equal(sn[1].meta_json, "{\"format\":\"debug=2\"}");
  assert_int_equal(sn[1].raw_bytes, 40);
  assert_int_equal(sn[1].stored_bytes, 4);
  assert_int_equal(mw__store_snapshots(r, a, 1, "goroutine", T0, T0 + 1000 * MS, 10, &sn, &n, &more), MW_OK);
  assert_int_equal(n, 1);
  int64_t dump_id = sn[0].id;

  mw_snapshot_info info;
  mw_snapshot_row *srows;
  assert_int_equal(mw__store_snapshot(r, a, dump_id, 0, 10, &info, &srows, &n, &more), MW_OK);
  assert_int_equal(n, 2);
  assert_string_equal(srows[0].state, "chan"); /* the larger group first */
  assert_string_equal(srows[0].wait_reason, "chan receive");
  assert_int_equal(srows[0].count, 3);
  assert_int_equal(srows[0].wait_min_ns, 60000 * MS);
  assert_int_equal(srows[0].wait_max_ns, 120000 * MS);
  assert_int_equal(srows[0].has_span, 1);
  assert_int_equal(srows[0].span_id[7], 2);
  assert_int_equal(srows[0].has_trace, 1);
  assert_memory_equal(srows[0].trace_id, TRACE, 16);
  assert_string_equal(srows[0].labels_json, "{\"span_id\":\"x\"}");
  assert_string_equal(srows[0].goids, "7,9,11");
  assert_string_equal(srows[0].frames, STACK_A);
  assert_string_equal(srows[1].state, "running");
  assert_int_equal(srows[1].locked, 1);
  assert_int_equal(srows[1].wait_min_ns, -1);
  assert_int_equal(srows[1].has_span, 0);
  assert_int_equal(mw__store_snapshot(r, a, dump_id, 1, 10, &info, &srows, &n, &more), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(srows[0].state, "running");

  const uint8_t *payload;
  size_t len;
  int64_t raw;
  assert_int_equal(mw__store_snapshot_payload(r, a, dump_id, &payload, &len, &raw), MW_OK);
  assert_int_equal(len, 4);
  assert_memory_equal(payload, "dump", 4);
  assert_int_equal(raw, 40);
  assert_int_equal(mw__store_snapshot_payload(r, a, 999, &payload, &len, &raw), MW_ENOTFOUND);

  /* the span's labelled rows: the goroutines and the CPU sample */
  mw_span_sample *ss;
  uint8_t sid[8] = {[7] = 2};
  assert_int_equal(mw__store_span_samples(r, a, sid, TRACE, "goroutine", 10, &ss, &n), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(ss[0].state, "chan");
  assert_int_equal(ss[0].count, 3);
  assert_int_equal(mw__store_span_samples(r, a, sid, NULL, "cpu", 10, &ss, &n), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(ss[0].vals_json, "[2,20000000]");
  assert_string_equal(ss[0].frames, STACK_B);
  mw__read_end(r);
  mw__arena_free(a);
  sfx_close(&f);
}

static size_t spans_of_trace(mw_read *r, mw_arena *a) {
  mw_trace_rows t;
  assert_int_equal(mw__store_read_trace(r, a, TRACE, 10, &t), MW_OK);
  return t.n_spans;
}

static void test_one_state_per_transaction(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  mw_span_row rows[2] = {span_row(1, 0, "GET /cart", 0, 100), span_row(2, 1, "db.query", 10, 30)};
  assert_int_equal(write_spans(&f, &rows[0], 1), 0);
  mw_arena *a = mw__arena_new(0);
  mw_read *r;
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  assert_int_equal(spans_of_trace(r, a), 1);
  mw_page pg = {.limit = 10, .max_bytes = 1 << 20};
  mw_service_info *sv;
  size_t n, next;
  /* the writer commits the second span while the transaction is open ... */
  assert_int_equal(write_spans(&f, &rows[1], 1), 0);
  /* ... which sees the database as it was at its first read, in every read */
  assert_int_equal(spans_of_trace(r, a), 1);
  assert_int_equal(mw__store_services(r, a, NULL, &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(n, 1);
  assert_int_equal(sv[0].span_count, 1);
  /* a yield with no writer waiting to empty the WAL keeps it */
  assert_int_equal(mw__read_yield(r), MW_OK);
  assert_int_equal(spans_of_trace(r, a), 1);
  mw__read_end(r);
  /* the next transaction sees the commit */
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  assert_int_equal(spans_of_trace(r, a), 2);
  assert_int_equal(mw__store_services(r, a, NULL, &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(sv[0].span_count, 2);
  mw__read_end(r);
  mw__arena_free(a);
  sfx_close(&f);
}

/* Plays the writer that waits to empty the WAL: once no reader is out, it
 * opens the gate it closed. */
static void *open_when_empty(void *arg) {
  mw__readers *p = arg;
  for (;;) {
    uv_mutex_lock(&p->lock);
    size_t out = p->out;
    uv_mutex_unlock(&p->lock);
    if (!out) break;
    usleep(1000);
  }
  mw__readers_gate_open(p);
  return NULL;
}

static void test_yield_lets_the_writer_in(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  mw_span_row rows[2] = {span_row(1, 0, "GET /cart", 0, 100), span_row(2, 1, "db.query", 10, 30)};
  assert_int_equal(write_spans(&f, &rows[0], 1), 0);
  mw_arena *a = mw__arena_new(0);
  mw_read *r;
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  assert_int_equal(spans_of_trace(r, a), 1);
  assert_int_equal(write_spans(&f, &rows[1], 1), 0);
  /* the gate closes with this reader out: it must leave the WAL to go on */
  assert_int_equal(mw__readers_gate_close(r->pool, 0), 1);
  pthread_t opener;
  assert_int_equal(pthread_create(&opener, NULL, open_when_empty, r->pool), 0);
  assert_int_equal(mw__read_yield(r), MW_OK);
  pthread_join(opener, NULL);
  /* back in, with a newer snapshot */
  assert_int_equal(spans_of_trace(r, a), 2);
  mw__read_end(r);
  mw__arena_free(a);
  sfx_close(&f);
}

/* A read cut short by its query limit part way through its rows fails: the
 * rows it had are never an answer (a GC lane, a scheduler lane, a
 * snapshot's rows). */
static void test_cut_short_reads_fail(void **state) {
  (void)state;
  sfx f;
  /* every 1,000 steps of a statement sleep 1 ms: reading 5,000 rows takes
   * hundreds of ms, and a 20 ms limit passes in the middle */
  assert_int_equal(sfx_open_slow(&f, 1000), 0);
  enum { N = 5000 };
  assert_int_equal(write_stderr(&f, N), 0);
  int64_t dump = write_big_dump(&f, N);
  assert_true(dump > 0);
  mw_arena *a = mw__arena_new(0);
  static const char *const what[] = {"GC cycles", "scheduler samples", "snapshot rows"};
  for (int lane = 0; lane < 3; lane++) {
    mw_query_limit lim = {0};
    mw__store_limit(&lim);
    mw_read *r;
    assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
    lim.deadline_ns = mw__mono_ns() + 20 * MS;
    size_t n = 0;
    int more = 0, rc;
    if (lane == 0) {
      mw_gc_cycle *gc;
      rc = mw__store_gc(r, a, 1, 0, INT64_MAX, N, &gc, &n, &more);
    } else if (lane == 1) {
      mw_sched_sample *sc;
      rc = mw__store_sched(r, a, 1, 0, INT64_MAX, N, &sc, &n, &more);
    } else {
      mw_snapshot_info info;
      mw_snapshot_row *rows;
      rc = mw__store_snapshot(r, a, dump, 0, N, &info, &rows, &n, &more);
    }
    mw__read_end(r);
    mw__store_limit(NULL);
    if (rc != MW_EIO) fail_msg("%s: got %d with %zu of %d rows, want MW_EIO", what[lane], rc, n, N);
    assert_int_equal(lim.stopped, MW_ETIMEDOUT);
  }
  mw__arena_free(a);
  sfx_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_round_trip),
      cmocka_unit_test(test_one_state_per_transaction),
      cmocka_unit_test(test_yield_lets_the_writer_in),
      cmocka_unit_test(test_cut_short_reads_fail),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
