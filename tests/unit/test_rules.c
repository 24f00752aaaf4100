/* Tests for the early-warning rules (model/rules.c) on hand-built series:
 * heap and goroutine growth fire on xF within W and not on a steady or slow
 * growth, not during the warm-up, once per cooldown while the growth holds,
 * again after the value cleared; GC CPU and pause p99 against their limits;
 * requests taken once and dropped when stale; the gauges /metrics shows; and
 * the bound on sources. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/rules.h"

#define S 1000000000LL
#define MIN (60 * S)
#define MiB (1LL << 20)
#define T0 (1700000000LL * S) /* unix ns of the process start */

static mw_rules_opts opts(void) {
  return (mw_rules_opts){.heap_factor = 2,
                         .heap_window_ns = 10 * MIN,
                         .heap_min_bytes = 32 * MiB,
                         .goroutine_factor = 2,
                         .goroutine_window_ns = 10 * MIN,
                         .goroutine_min = 500,
                         .gc_cpu_percent = 25,
                         .pause_p99_ns = 50000000,
                         .gc_window_ns = MIN,
                         .warmup_ns = MIN,
                         .cooldown_ns = 10 * MIN,
                         .max_sources = 4};
}

/* One GC cycle at uptime `at`: heap live `live`, cpu ns of GC, pause ns each. */
static mw_gc_cycle cycle(int64_t at, int64_t live, int64_t gc_cpu_ns, int64_t pause_ns) {
  return (mw_gc_cycle){.offset_ns = at,
                       .start_ns = T0 + at,
                       .stw_sweep_term_ns = pause_ns,
                       .stw_mark_term_ns = pause_ns,
                       .background_cpu_ns = gc_cpu_ns,
                       .heap_before = live + 4 * MiB,
                       .heap_after = live + 4 * MiB,
                       .heap_live = live,
                       .goal = live * 2,
                       .procs = 1};
}

/* Feeds one cycle a batch; returns how many rules fired, the first in *e. */
static size_t feed_one(mw_rules *r, int64_t src, mw_gc_cycle g, mw_rule_event *e) {
  mw_runtime_batch b = {.gc = &g, .n_gc = 1};
  mw_rule_event ev[MW_RULE__N];
  size_t n = mw__rules_feed(r, src, "svc", "i1", &b, ev);
  if (n && e) *e = ev[0];
  return n;
}

static size_t feed_goroutines(mw_rules *r, int64_t src, int64_t at, int64_t total) {
  mw_runtime_batch b = {.kind = "goroutine", .at_ns = T0 + at, .total = total};
  mw_rule_event ev[MW_RULE__N];
  return mw__rules_feed(r, src, "svc", "i1", &b, ev);
}

static void test_heap_fires_on_fast_growth(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  o.gc_cpu_percent = 0, o.pause_p99_ns = 0;
  mw_rules *r = mw__rules_new(&o);
  mw_rule_event e;
  /* steady at 40 MiB for five minutes after warm-up */
  for (int64_t t = 2 * MIN; t <= 7 * MIN; t += 10 * S)
    assert_int_equal(feed_one(r, 1, cycle(t, 40 * MiB, 0, 0), NULL), 0);
  /* 79 MiB: x1.98, not yet */
  assert_int_equal(feed_one(r, 1, cycle(7 * MIN + 10 * S, 79 * MiB, 0, 0), NULL), 0);
  /* 81 MiB within 10 minutes of the 40 MiB: x2.03 fires */
  assert_int_equal(feed_one(r, 1, cycle(7 * MIN + 20 * S, 81 * MiB, 0, 0), &e), 1);
  assert_int_equal(e.rule, MW_RULE_HEAP);
  assert_int_equal(e.time_ns, T0 + 7 * MIN + 20 * S);
  assert_true(e.value == (double)(81 * MiB));
  assert_true(e.threshold == (double)(80 * MiB));
  assert_non_null(strstr(e.message, "40.0 MiB to 81.0 MiB"));
  assert_string_equal(mw__rule_name(e.rule), "heap_growth");
  /* still growing: no second event within the cooldown */
  assert_int_equal(feed_one(r, 1, cycle(8 * MIN, 100 * MiB, 0, 0), NULL), 0);
  mw__rules_free(r);
}

static void test_heap_slow_growth_does_not_fire(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  mw_rules *r = mw__rules_new(&o);
  /* doubles over an hour: x1.12 per 10 minutes at most */
  for (int64_t t = 2 * MIN; t <= 62 * MIN; t += 10 * S) {
    int64_t live = 40 * MiB + (int64_t)((double)(40 * MiB) * (double)(t - 2 * MIN) / (double)(60 * MIN));
    assert_int_equal(feed_one(r, 1, cycle(t, live, 0, 0), NULL), 0);
  }
  mw__rules_free(r);
}

static void test_heap_warmup_and_floor(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  mw_rules *r = mw__rules_new(&o);
  /* a process's start: 4 MiB to 60 MiB within its first minute */
  for (int64_t t = S; t < MIN; t += 5 * S)
    assert_int_equal(feed_one(r, 1, cycle(t, 4 * MiB + t / S * MiB, 0, 0), NULL), 0);
  /* x4 but under --rule-heap-min */
  mw__rules_free(r);
  r = mw__rules_new(&o);
  assert_int_equal(feed_one(r, 2, cycle(2 * MIN, 5 * MiB, 0, 0), NULL), 0);
  assert_int_equal(feed_one(r, 2, cycle(3 * MIN, 20 * MiB, 0, 0), NULL), 0);
  mw__rules_free(r);
  /* a small heap reads 0 MB in gctrace: growing from it to past the floor fires (x2 of 1 MiB) */
  r = mw__rules_new(&o);
  assert_int_equal(feed_one(r, 3, cycle(2 * MIN, 0, 0, 0), NULL), 0);
  assert_int_equal(feed_one(r, 3, cycle(2 * MIN + S, 200 * MiB, 0, 0), NULL), 1);
  mw__rules_free(r);
}

static void test_cooldown_and_rearm(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  o.gc_cpu_percent = 0, o.pause_p99_ns = 0;
  mw_rules *r = mw__rules_new(&o);
  assert_int_equal(feed_one(r, 1, cycle(2 * MIN, 40 * MiB, 0, 0), NULL), 0);
  assert_int_equal(feed_one(r, 1, cycle(3 * MIN, 90 * MiB, 0, 0), NULL), 1);
  /* the growth holds (the 40 MiB low is in the window): silent for the cooldown */
  assert_int_equal(feed_one(r, 1, cycle(4 * MIN, 95 * MiB, 0, 0), NULL), 0);
  assert_int_equal(feed_one(r, 1, cycle(12 * MIN, 95 * MiB, 0, 0), NULL), 0);
  /* 2:00's 40 MiB has left the window: the low is 90 MiB, 95 cleared and re-armed the rule; a new doubling fires */
  assert_int_equal(feed_one(r, 1, cycle(13 * MIN + 10 * S, 200 * MiB, 0, 0), NULL), 1);
  mw__rules_free(r);

  /* cleared, then grew again: fires again within the cooldown (hysteresis re-armed it) */
  r = mw__rules_new(&o);
  assert_int_equal(feed_one(r, 1, cycle(2 * MIN, 40 * MiB, 0, 0), NULL), 0);
  assert_int_equal(feed_one(r, 1, cycle(3 * MIN, 90 * MiB, 0, 0), NULL), 1);
  assert_int_equal(feed_one(r, 1, cycle(3 * MIN + 10 * S, 40 * MiB, 0, 0), NULL), 0); /* freed: x1 */
  assert_int_equal(feed_one(r, 1, cycle(3 * MIN + 20 * S, 85 * MiB, 0, 0), NULL), 1);
  mw__rules_free(r);
}

static void test_goroutines(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  mw_rules *r = mw__rules_new(&o);
  /* first seen at 0: the first minute is warm-up, however fast it grows */
  assert_int_equal(feed_goroutines(r, 1, 0, 100), 0);
  assert_int_equal(feed_goroutines(r, 1, 30 * S, 900), 0);
  /* steady at 600 */
  for (int64_t t = MIN; t <= 5 * MIN; t += 15 * S) assert_int_equal(feed_goroutines(r, 1, t, 600), 0);
  assert_int_equal(feed_goroutines(r, 1, 5 * MIN + 15 * S, 1100), 0); /* x1.83 */
  assert_int_equal(feed_goroutines(r, 1, 5 * MIN + 30 * S, 1200), 1); /* x2 */
  mw__rules_free(r);
  /* under --rule-goroutine-min: never */
  r = mw__rules_new(&o);
  assert_int_equal(feed_goroutines(r, 2, 0, 10), 0);
  assert_int_equal(feed_goroutines(r, 2, 2 * MIN, 40), 0);
  assert_int_equal(feed_goroutines(r, 2, 3 * MIN, 400), 0);
  mw__rules_free(r);
}

static void test_gc_cpu_and_pause(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  o.heap_factor = 0;
  mw_rules *r = mw__rules_new(&o);
  mw_rule_event e;
  /* a cycle a second using 100 ms of GC CPU on one P: 10% */
  for (int64_t t = 2 * MIN; t <= 4 * MIN; t += S)
    assert_int_equal(feed_one(r, 1, cycle(t, 40 * MiB, 100000000, 1000000), NULL), 0);
  mw_rules_gauges g;
  assert_int_equal(mw__rules_gauges(r, &g, 1), 1);
  /* 60 cycles in the window (the bucket edge may hold one more) of 100 ms over 60 s */
  assert_true(g.gc_cpu_fraction > 0.095 && g.gc_cpu_fraction < 0.105);
  assert_int_equal(g.pause_p50_ns, 1000000);
  assert_int_equal(g.pause_p99_ns, 1000000);
  assert_int_equal(g.heap_live, 40 * MiB);
  assert_int_equal(g.heap_goal, 80 * MiB);
  assert_int_equal(g.goroutines, -1);
  assert_string_equal(g.service, "svc");
  assert_string_equal(g.instance, "i1");
  /* 400 ms a second: 40% over a minute once enough of it is in the window */
  size_t fired = 0;
  int64_t t = 4 * MIN + S;
  for (; t <= 5 * MIN && !fired; t += S) fired = feed_one(r, 1, cycle(t, 40 * MiB, 400000000, 1000000), &e);
  assert_int_equal(fired, 1);
  assert_int_equal(e.rule, MW_RULE_GC_CPU);
  assert_true(e.value >= 25 && e.threshold == 25);
  /* pauses: three of 80 ms among 60 of 1 ms are past the p99 */
  fired = 0;
  for (int i = 0; i < 3 && !fired; i++) fired = feed_one(r, 1, cycle(t + i * S, 40 * MiB, 0, 80000000), &e);
  assert_int_equal(fired, 1);
  assert_int_equal(e.rule, MW_RULE_PAUSE);
  assert_true(e.value == 80000000.0);
  mw__rules_free(r);
}

static void test_pause_p99_is_a_quantile(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  o.heap_factor = 0, o.gc_cpu_percent = 0;
  mw_rules *r = mw__rules_new(&o);
  /* 4 cycles a second: the window keeps the last 256 pauses, all 1 ms */
  int64_t t = 2 * MIN;
  for (; t <= 3 * MIN; t += S / 4) assert_int_equal(feed_one(r, 1, cycle(t, 40 * MiB, 0, 1000000), NULL), 0);
  /* one slow cycle: 2 of 256 pauses at 80 ms; the p99 (254th of 256) is still 1 ms */
  assert_int_equal(feed_one(r, 1, cycle(t, 40 * MiB, 0, 80000000), NULL), 0);
  /* a second one: 4 of 256, the 254th is 80 ms */
  mw_rule_event e;
  assert_int_equal(feed_one(r, 1, cycle(t + S / 4, 40 * MiB, 0, 80000000), &e), 1);
  assert_int_equal(e.rule, MW_RULE_PAUSE);
  mw_rules_gauges g;
  assert_int_equal(mw__rules_gauges(r, &g, 1), 1);
  assert_int_equal(g.pause_p99_ns, 80000000);
  assert_int_equal(g.pause_p50_ns, 1000000);
  mw__rules_free(r);
}

static void test_requests(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  mw_rules *r = mw__rules_new(&o);
  assert_int_equal(mw__rules_take(r, 1, T0), 0);
  assert_int_equal(feed_one(r, 1, cycle(2 * MIN, 40 * MiB, 0, 0), NULL), 0);
  assert_int_equal(feed_one(r, 1, cycle(3 * MIN, 90 * MiB, 0, 0), NULL), 1);
  assert_int_equal(mw__rules_take(r, 2, T0 + 3 * MIN), 0);                      /* another source */
  assert_int_equal(mw__rules_take(r, 1, T0 + 3 * MIN + S), 1u << MW_RULE_HEAP); /* once */
  assert_int_equal(mw__rules_take(r, 1, T0 + 3 * MIN + S), 0);
  mw__rules_free(r);
  /* nobody asked within the cooldown: dropped */
  r = mw__rules_new(&o);
  feed_one(r, 1, cycle(2 * MIN, 40 * MiB, 0, 0), NULL);
  assert_int_equal(feed_one(r, 1, cycle(3 * MIN, 90 * MiB, 0, 0), NULL), 1);
  assert_int_equal(mw__rules_take(r, 1, T0 + 14 * MIN), 0);
  mw__rules_free(r);
}

static void test_max_sources(void **state) {
  (void)state;
  mw_rules_opts o = opts();
  o.max_sources = 2;
  mw_rules *r = mw__rules_new(&o);
  feed_one(r, 1, cycle(2 * MIN, 40 * MiB, 0, 0), NULL);
  feed_one(r, 2, cycle(2 * MIN, 40 * MiB, 0, 0), NULL);
  feed_one(r, 1, cycle(2 * MIN + S, 40 * MiB, 0, 0), NULL);
  feed_one(r, 3, cycle(2 * MIN, 40 * MiB, 0, 0), NULL); /* source 2 was fed least recently: it goes */
  assert_true(mw__rules_known(r, 1));
  assert_false(mw__rules_known(r, 2));
  assert_true(mw__rules_known(r, 3));
  mw_rules_gauges g[4];
  assert_int_equal(mw__rules_gauges(r, g, 4), 2);
  assert_int_equal(g[0].source_id, 3); /* most recent first */
  assert_int_equal(g[1].source_id, 1);
  mw__rules_free(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_heap_fires_on_fast_growth),
      cmocka_unit_test(test_heap_slow_growth_does_not_fire),
      cmocka_unit_test(test_heap_warmup_and_floor),
      cmocka_unit_test(test_cooldown_and_rearm),
      cmocka_unit_test(test_goroutines),
      cmocka_unit_test(test_gc_cpu_and_pause),
      cmocka_unit_test(test_pause_p99_is_a_quantile),
      cmocka_unit_test(test_requests),
      cmocka_unit_test(test_max_sources),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
