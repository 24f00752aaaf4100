/* Tests for the timeline (query/timeline.c) on a real store: every lane a
 * trace's timeline reads, and the spans' labelled goroutines, fail the answer
 * with the read's error and a message when their table cannot be read,
 * instead of coming back empty (which would say that nothing happened). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/error.h"
#include "query/timeline.h"
#include "store_fixture.h"

#define MS 1000000LL

static const uint8_t TRACE[16] = {0x71, [15] = 0x02};
static const char STACK[] =
    "runtime.gopark\truntime/proc.go:363\ntime.Sleep\truntime/time.go:195\nmain.nap\tmain.go:5\n";

/* A trace of one span over [t0, t0 + 50 ms) of source (shop, i-1) with a GC
 * cycle, a scheduler sample and a goroutine snapshot that found the span asleep. */
static void write_trace(sfx *f) {
  int64_t t0 = 1800000000000000000LL;
  mw_resource_ref res = {.service = "shop", .instance = "i-1", .resource = (const uint8_t *)"r", .resource_len = 1};
  mw_scope_ref scope = {.body = (const uint8_t *)"s", .body_len = 1};
  mw_span_row row = {
      .span_id = {0x5a, [7] = 1}, .start_ns = t0, .dur_ns = 50 * MS, .name = "GET /nap", .body = (const uint8_t *)""};
  memcpy(row.trace_id, TRACE, 16);
  mw_span_batch spans = {
      .resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = &row, .n_rows = 1};
  mw_gc_cycle gc = {.n = 1,
                    .start_ns = t0 + 10 * MS,
                    .stw_sweep_term_ns = MS,
                    .concurrent_mark_ns = MS,
                    .stw_mark_term_ns = MS,
                    .stacks = -1,
                    .globals = -1};
  mw_sched_sample sched = {.stamp_ns = t0 + 20 * MS, .gomaxprocs = 2, .local_runq_sum = -1};
  mw_runtime_batch stderr_lines = {
      .service = "shop", .instance = "i-1", .gc = &gc, .n_gc = 1, .sched = &sched, .n_sched = 1};
  mw_stack_text stack = {STACK, sizeof STACK - 1};
  mw_goroutine_group g = {.state = MW_G_SLEEP,
                          .count = 1,
                          .wait_min_ns = -1,
                          .wait_max_ns = -1,
                          .has_span = 1,
                          .has_trace = 1,
                          .span_id = {0x5a, [7] = 1}};
  memcpy(g.trace_id, TRACE, 16);
  mw_runtime_batch dump = {.service = "shop",
                           .instance = "i-1",
                           .kind = "goroutine",
                           .format = "pprof",
                           .at_ns = t0 + 30 * MS,
                           .total = 1,
                           .meta_json = "{}",
                           .payload = (const uint8_t *)"x",
                           .payload_len = 1,
                           .raw_bytes = 1,
                           .stacks = &stack,
                           .n_stacks = 1,
                           .groups = &g,
                           .n_groups = 1};
  mw_write_job jobs[3] = {{.kind = MW_JOB_SPANS, .payload = &spans, .cost_spans = 1},
                          {.kind = MW_JOB_RUNTIME, .payload = &stderr_lines},
                          {.kind = MW_JOB_RUNTIME, .payload = &dump}};
  assert_int_equal(sfx_write(f, jobs, 3), 0);
}

/* Runs the timeline as a request does: one query (one read transaction),
 * one answer, which the caller frees. */
static int timeline(sfx *f, mw_answer *ans) {
  mw_arena *a = mw__arena_new(0);
  mw_query q;
  mw__query_begin(&q, f->s, a, 0, NULL);
  int rc = mw__q_timeline(&q, TRACE, 500 * MS, ans);
  assert_int_equal(mw__query_end(&q), 0);
  mw__arena_free(a);
  return rc;
}

static void test_failed_reads_fail_the_timeline(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  write_trace(&f);
  mw_answer b;
  assert_int_equal(timeline(&f, &b), MW_OK);
  /* every lane has its point */
  assert_string_equal(b.content_type, "application/json");
  assert_non_null(strstr(b.body.data, "\"gc\":[{\"n\":1,"));
  assert_non_null(strstr(b.body.data, "\"runqueue\":[{"));
  assert_non_null(strstr(b.body.data, "\"goroutines\":[{"));
  assert_non_null(strstr(b.body.data, "\"goroutine_samples\":[{\"snapshot_id\":"));
  mw__answer_free(&b);
  static const char *const tables[] = {"gc_cycles", "sched_samples", "snapshots", "goroutine_groups",
                                       "profile_samples"};
  for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++) {
    char sql[160];
    snprintf(sql, sizeof sql, "ALTER TABLE %s RENAME TO gone", tables[i]);
    assert_int_equal(sfx_exec(&f, sql), 0);
    int rc = timeline(&f, &b);
    if (rc != MW_EIO) fail_msg("without %s: got %d (%s), want MW_EIO", tables[i], rc, mw__strerror(rc));
    assert_string_equal(b.error, "building the timeline of trace 71000000000000000000000000000002 failed: I/O error");
    assert_null(b.body.data);
    snprintf(sql, sizeof sql, "ALTER TABLE gone RENAME TO %s", tables[i]);
    assert_int_equal(sfx_exec(&f, sql), 0);
    assert_int_equal(timeline(&f, &b), MW_OK);
    mw__answer_free(&b);
  }
  sfx_close(&f);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_failed_reads_fail_the_timeline),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
