/* Tests for meanwhile-agent's triggers (client/agent/trigger.c) and its
 * reading of gctrace lines, which is the collector's own parser
 * (mw__gctrace_parse_line, library mwruntimetext) reached through
 * trigger_gc_line. On the real stderr of Go 1.19, 1.26 and 1.27 in
 * tests/data: every gc line of each capture is read, and a few are checked
 * against values read by hand (F is the file named in the test). Then what
 * the agent must not read: lines split by the service's own output, whose
 * numbers are not the runtime's, must not feed the heap trigger. The agent
 * classifies runtime lines by their first word only (`gc N`, `SCHED `),
 * which no Go release changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

enum { MIB = 1 << 20 };

static char *read_capture(const char *name, size_t *len) { return mw_test_slurp(len, "%s/%s", MW_TEST_DATA, name); }

/* Triggers as configured by the flags (factor 0 and gc_cpu 0: never fire),
 * with a warm-up of the service's first 5 s. */
static trigger_state *triggers(double factor, double gc_cpu, uint64_t heap_min) {
  agent_config cfg = {.trigger_factor = factor,
                      .trigger_window_ms = 60000,
                      .trigger_warmup_ms = 5000,
                      .trigger_gc_cpu = gc_cpu,
                      .trigger_cooldown_ms = 120000,
                      .trigger_heap_min = heap_min,
                      .trigger_goroutines_min = 100};
  trigger_state *t = trigger_new(&cfg);
  assert_non_null(t);
  return t;
}

/* Reads every `gc ` line of F into out[] (at most cap) as the agent does;
 * fails on any line the agent cannot read. Returns how many there were. */
static size_t read_gc_lines(const char *name, mw_gc_cycle *out, size_t cap) {
  size_t len, n_gc = 0, lineno = 0;
  char *data = read_capture(name, &len);
  trigger_state *t = triggers(0, 0, 0);
  for (size_t pos = 0; pos < len;) {
    const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + 1;
    lineno++;
    if (n < 3 || memcmp(s, "gc ", 3) != 0) continue;
    mw_gc_cycle g;
    const char *why;
    if (trigger_gc_line(t, (int64_t)lineno, s, n, &g, &why) != 0)
      fail_msg("%s:%zu: not read: %.*s", name, lineno, (int)n, s);
    assert_null(why);
    if (n_gc < cap) out[n_gc] = g;
    n_gc++;
  }
  trigger_free(&t);
  free(data);
  return n_gc;
}

static void test_go119(void **state) {
  (void)state;
  mw_gc_cycle g[128];
  /* grep -c '^gc ' F */
  assert_int_equal(read_gc_lines("go1.19-checkout/runtime-stderr.log", g, 128), 59);
  /* grep '^gc ' F | tail -1: gc 59 @15.964s 0%: ... ms cpu, 50->50->25 MB, 51 MB goal, ... */
  assert_int_equal(g[58].n, 59);
  assert_int_equal(g[58].offset_ns, INT64_C(15964000000));
  assert_int_equal(g[58].cpu_percent, 0);
  assert_int_equal(g[58].heap_before, 50 * MIB);
  assert_int_equal(g[58].heap_after, 50 * MIB);
  assert_int_equal(g[58].heap_live, 25 * MIB);
  assert_int_equal(g[58].goal, 51 * MIB);
}

static void test_go126(void **state) {
  (void)state;
  mw_gc_cycle g[128];
  assert_int_equal(read_gc_lines("go1.26/runtime-stderr.log", g, 128), 101);
  /* head -3 F | tail -1: gc 2 @0.043s 0%: ... ms cpu, 7->7->7 MB, 7 MB goal, ... */
  assert_int_equal(g[1].n, 2);
  assert_int_equal(g[1].offset_ns, INT64_C(43000000));
  assert_int_equal(g[1].cpu_percent, 0);
  assert_int_equal(g[1].heap_live, 7 * MIB);
  /* grep '^gc ' F | tail -1: gc 101 @6.001s 1%: ... ms cpu, 87->87->0 MB, 109 MB goal, ... (forced) */
  assert_int_equal(g[100].n, 101);
  assert_int_equal(g[100].cpu_percent, 1);
  assert_int_equal(g[100].heap_before, 87 * MIB);
  assert_int_equal(g[100].heap_after, 87 * MIB);
  assert_int_equal(g[100].heap_live, 0);
  assert_int_equal(g[100].goal, 109 * MIB);
  assert_int_equal(g[100].forced, 1);
  /* grep -c '^gc ' F */
  assert_int_equal(read_gc_lines("go1.26/runtime-stderr.scheddetail.log", g, 128), 52);
}

static void test_go127(void **state) {
  (void)state;
  mw_gc_cycle g[128];
  assert_int_equal(read_gc_lines("go1.27/runtime-stderr.log", g, 128), 120);
  /* head -2 F | tail -1: gc 1 @0.000s 22%: ... ms cpu, 3->4->3 MB, 4 MB goal, ... */
  assert_int_equal(g[0].n, 1);
  assert_int_equal(g[0].offset_ns, 0);
  assert_int_equal(g[0].cpu_percent, 22);
  assert_int_equal(g[0].heap_before, 3 * MIB);
  assert_int_equal(g[0].heap_after, 4 * MIB);
  assert_int_equal(g[0].heap_live, 3 * MIB);
  /* grep '^gc ' F | tail -1: gc 120 @6.001s 1%: ... ms cpu, 20->20->0 MB, 40 MB goal, ... (forced) */
  assert_int_equal(g[119].n, 120);
  assert_int_equal(g[119].heap_before, 20 * MIB);
  assert_int_equal(g[119].heap_live, 0);
  assert_int_equal(read_gc_lines("go1.27/runtime-stderr.scheddetail.log", g, 128), 62);
}

static void test_not_gc_lines(void **state) {
  (void)state;
  trigger_state *t = triggers(0, 0, 0);
  mw_gc_cycle g;
  const char *why = "unset";
  const char *lines[] = {
      ("SCHED 1008ms: gomaxprocs=2 idleprocs=2 threads=6 spinningthreads=0 needspinning=0 "
       "idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 2 10 ]"),
      "gc 7 @1.400s 3%: 0.041+2.3+0.0app says hi", /* cut by the service's own output */
      "GC forced",
  };
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
    assert_int_equal(trigger_gc_line(t, 1, lines[i], strlen(lines[i]), &g, &why), -1);
    assert_null(why);
  }
  trigger_free(&t);
}

/* Feeds t, at now_ms, a whole Go 1.18+ gc line: cycle n at @uptime_ms of
 * the process, pct% GC CPU, a live heap of live_mb. Returns what
 * trigger_gc_line returns. */
static int feed_at(trigger_state *t, int64_t now_ms, int n, int uptime_ms, int pct, int live_mb, const char **why) {
  char line[256];
  snprintf(line, sizeof line,
           "gc %d @%d.%03ds %d%%: 0.041+2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, "
           "%d->%d->%d MB, %d MB goal, 0 MB stacks, 0 MB globals, 4 P",
           n, uptime_ms / 1000, uptime_ms % 1000, pct, live_mb, live_mb, live_mb, 2 * live_mb);
  mw_gc_cycle g;
  return trigger_gc_line(t, now_ms, line, strlen(line), &g, why);
}

/* feed_at with cycle n at @(10+n)s: past the warm-up. */
static int feed(trigger_state *t, int64_t now_ms, int n, int pct, int live_mb, const char **why) {
  return feed_at(t, now_ms, n, (10 + n) * 1000, pct, live_mb, why);
}

/* The runtime writes a gc line in pieces; the service's own output can land
 * in between and end the line. Here the heap figures were cut after "->" and
 * the service's "4096 bytes sent" followed: a reader that takes whatever
 * number comes there sees a live heap of 4 GiB, some 200 times the last one, and
 * fires the heap trigger for nothing. The collector's grammar demands the
 * whole line, so the agent skips it, as the collector does. */
static void test_split_line_does_not_fire(void **state) {
  (void)state;
  trigger_state *t = triggers(3, 0, 1 * MIB);
  mw_gc_cycle g;
  const char *why;
  for (int i = 1; i <= 3; i++) {
    assert_int_equal(feed(t, i * 1000, i, 1, 20, &why), 0);
    assert_null(why);
  }
  const char *split = "gc 4 @14.000s 1%: 0.041+2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, "
                      "20->21->4096 bytes sent to 10.0.0.7";
  assert_int_equal(trigger_gc_line(t, 4000, split, strlen(split), &g, &why), -1);
  assert_null(why);
  /* and a true growth still fires */
  assert_int_equal(feed(t, 5000, 5, 1, 70, &why), 0);
  assert_string_equal(why, "heap");
  trigger_free(&t);
}

/* Heap growth is measured against the smallest live heap in the window;
 * GC CPU counts only after the first seconds of the process; one cooldown
 * covers both. */
static void test_gc_triggers(void **state) {
  (void)state;
  mw_gc_cycle g;
  const char *why;
  trigger_state *t = triggers(3, 25, 32 * MIB);
  /* 5 -> 20 MiB is 4x, but under --trigger-heap-min */
  assert_int_equal(feed(t, 500, 1, 1, 5, &why), 0);
  assert_int_equal(feed(t, 600, 2, 1, 20, &why), 0);
  assert_null(why);
  trigger_free(&t);
  t = triggers(3, 25, 32 * MIB);
  /* 20 -> 59 MiB is under 3x the window's smallest; 61 MiB is over it */
  assert_int_equal(feed(t, 1000, 1, 1, 20, &why), 0);
  assert_null(why);
  assert_int_equal(feed(t, 2000, 2, 1, 59, &why), 0);
  assert_null(why);
  assert_int_equal(feed(t, 3000, 3, 1, 61, &why), 0);
  assert_string_equal(why, "heap");
  /* within the cooldown nothing fires, whatever the reason */
  assert_int_equal(feed(t, 4000, 4, 90, 200, &why), 0);
  assert_null(why);
  trigger_free(&t);

  t = triggers(0, 25, 32 * MIB);
  /* gc 1 at @11s: past the warm-up; 25% is not over 25% */
  assert_int_equal(feed(t, 1000, 1, 25, 20, &why), 0);
  assert_null(why);
  assert_int_equal(feed(t, 2000, 2, 26, 20, &why), 0);
  assert_string_equal(why, "gc_cpu");
  trigger_free(&t);

  /* the first seconds of a process say little about its GC CPU */
  t = triggers(0, 25, 32 * MIB);
  const char *early = "gc 1 @0.004s 40%: 0.041+2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, "
                      "3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 4 P";
  assert_int_equal(trigger_gc_line(t, 1000, early, strlen(early), &g, &why), 0);
  assert_null(why);
  trigger_free(&t);
}

/* A service that loads 100 MiB at start (its heap grows 4 -> 100 MiB in its
 * first 2 s, 25 times over) is warming up, not exploding: no trigger, and the
 * heap after the warm-up is the baseline: 100 -> 290 MiB is under 3 times
 * that, 310 MiB over it. */
static void test_heap_warmup(void **state) {
  (void)state;
  const char *why;
  trigger_state *t = triggers(3, 25, 32 * MIB);
  const int start_mb[] = {4, 8, 16, 40, 70, 100};
  for (int i = 0; i < 6; i++) {
    assert_int_equal(feed_at(t, 100 + i * 300, i + 1, 100 + i * 300, 1, start_mb[i], &why), 0);
    if (why)
      fail_msg("gc %d at @%d ms with %d MiB live fired %s while the service warms up", i + 1, 100 + i * 300,
               start_mb[i], why);
  }
  assert_int_equal(feed_at(t, 6000, 7, 6000, 1, 100, &why), 0);
  assert_null(why);
  assert_int_equal(feed_at(t, 7000, 8, 7000, 1, 290, &why), 0);
  assert_null(why);
  assert_int_equal(feed_at(t, 8000, 9, 8000, 1, 310, &why), 0);
  assert_string_equal(why, "heap");
  trigger_free(&t);

  /* the GC CPU share of the first seconds is the start's, whatever it is */
  t = triggers(0, 25, 32 * MIB);
  assert_int_equal(feed_at(t, 100, 1, 4900, 90, 10, &why), 0);
  assert_null(why);
  assert_int_equal(feed_at(t, 200, 2, 5000, 26, 10, &why), 0);
  assert_string_equal(why, "gc_cpu");
  trigger_free(&t);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go119),
      cmocka_unit_test(test_go126),
      cmocka_unit_test(test_go127),
      cmocka_unit_test(test_not_gc_lines),
      cmocka_unit_test(test_split_line_does_not_fire),
      cmocka_unit_test(test_gc_triggers),
      cmocka_unit_test(test_heap_warmup),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
