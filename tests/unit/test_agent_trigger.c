/* Tests for meanwhile-agent's reading of gctrace lines (client/agent/
 * trigger.c, agent_parse_gc_line: the heap and GC CPU triggers live on it)
 * on the real stderr of Go 1.19, 1.26 and 1.27 in tests/data: every gc line
 * of each capture is read, and a few are checked against values read by
 * hand (F is the file named in the test). The agent classifies runtime lines
 * by their first word only (`gc N`, `SCHED `), which no Go release changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent.h"

static char *read_capture(const char *name, size_t *len) {
  char path[512];
  snprintf(path, sizeof path, "%s/%s", MW_TEST_DATA, name);
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  assert_true(n > 0);
  rewind(f);
  char *buf = malloc((size_t)n);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  *len = (size_t)n;
  return buf;
}

/* Reads every `gc ` line of F into out[] (at most cap); fails on any line the
 * agent cannot read. Returns how many there were. */
static size_t read_gc_lines(const char *name, gc_line *out, size_t cap) {
  size_t len, n_gc = 0, lineno = 0;
  char *data = read_capture(name, &len);
  for (size_t pos = 0; pos < len;) {
    const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + 1;
    lineno++;
    if (n < 3 || memcmp(s, "gc ", 3) != 0) continue;
    gc_line g;
    if (agent_parse_gc_line(s, n, &g) != 0) fail_msg("%s:%zu: not read: %.*s", name, lineno, (int)n, s);
    if (n_gc < cap) out[n_gc] = g;
    n_gc++;
  }
  free(data);
  return n_gc;
}

static void test_go119(void **state) {
  (void)state;
  gc_line g[128];
  /* grep -c '^gc ' F */
  assert_int_equal(read_gc_lines("go1.19-checkout/runtime-stderr.log", g, 128), 59);
  /* grep '^gc ' F | tail -1: gc 59 @15.964s 0%: ... ms cpu, 50->50->25 MB, 51 MB goal, ... */
  assert_int_equal(g[58].n, 59);
  assert_true(g[58].at_s > 15.9635 && g[58].at_s < 15.9645);
  assert_int_equal(g[58].pct, 0);
  assert_int_equal(g[58].heap_before_mb, 50);
  assert_int_equal(g[58].heap_after_mb, 50);
  assert_int_equal(g[58].heap_live_mb, 25);
}

static void test_go126(void **state) {
  (void)state;
  gc_line g[128];
  assert_int_equal(read_gc_lines("go1.26/runtime-stderr.log", g, 128), 101);
  /* head -3 F | tail -1: gc 2 @0.043s 0%: ... ms cpu, 7->7->7 MB, 7 MB goal, ... */
  assert_int_equal(g[1].n, 2);
  assert_true(g[1].at_s > 0.0425 && g[1].at_s < 0.0435);
  assert_int_equal(g[1].pct, 0);
  assert_int_equal(g[1].heap_live_mb, 7);
  /* grep '^gc ' F | tail -1: gc 101 @6.001s 1%: ... ms cpu, 87->87->0 MB, 109 MB goal, ... (forced) */
  assert_int_equal(g[100].n, 101);
  assert_int_equal(g[100].pct, 1);
  assert_int_equal(g[100].heap_before_mb, 87);
  assert_int_equal(g[100].heap_after_mb, 87);
  assert_int_equal(g[100].heap_live_mb, 0);
  /* grep -c '^gc ' F */
  assert_int_equal(read_gc_lines("go1.26/runtime-stderr.scheddetail.log", g, 128), 52);
}

static void test_go127(void **state) {
  (void)state;
  gc_line g[128];
  assert_int_equal(read_gc_lines("go1.27/runtime-stderr.log", g, 128), 120);
  /* head -2 F | tail -1: gc 1 @0.000s 22%: ... ms cpu, 3->4->3 MB, 4 MB goal, ... */
  assert_int_equal(g[0].n, 1);
  assert_true(g[0].at_s < 0.0005);
  assert_int_equal(g[0].pct, 22);
  assert_int_equal(g[0].heap_before_mb, 3);
  assert_int_equal(g[0].heap_after_mb, 4);
  assert_int_equal(g[0].heap_live_mb, 3);
  /* grep '^gc ' F | tail -1: gc 120 @6.001s 1%: ... ms cpu, 20->20->0 MB, 40 MB goal, ... (forced) */
  assert_int_equal(g[119].n, 120);
  assert_int_equal(g[119].heap_before_mb, 20);
  assert_int_equal(g[119].heap_live_mb, 0);
  assert_int_equal(read_gc_lines("go1.27/runtime-stderr.scheddetail.log", g, 128), 62);
}

static void test_not_gc_lines(void **state) {
  (void)state;
  gc_line g;
  const char *lines[] = {
      ("SCHED 1008ms: gomaxprocs=2 idleprocs=2 threads=6 spinningthreads=0 needspinning=0 "
       "idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 2 10 ]"),
      "gc 7 @1.400s 3%: 0.041+2.3+0.0app says hi", /* cut by the service's own output */
      "GC forced",
  };
  for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
    assert_int_equal(agent_parse_gc_line(lines[i], strlen(lines[i]), &g), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go119),
      cmocka_unit_test(test_go126),
      cmocka_unit_test(test_go127),
      cmocka_unit_test(test_not_gc_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
