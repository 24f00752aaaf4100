/* Tests for the runtime stderr decoder (decode/gctrace.c, decode/schedtrace.c)
 * on what today's Go prints: real stderr of Go 1.26.8 and Go 1.27.3 in
 * tests/data/go1.26 and tests/data/go1.27 (how they were made: the README.md
 * there), every line of each parsed, and synthetic lines for the edges of the
 * Go 1.25+ SCHED grammar (`[ q0 q1 ]` with spaces inside, then
 * `schedticks=[ t0 t1 ]`).
 *
 * Expected values were read from the capture files with shell tools, never
 * from this decoder; each is annotated with the command (F is the file named
 * in the test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/runtime_text.h"

#define MiB(x) ((int64_t)(x) << 20)
#define MS(x) ((int64_t)(x)*1000000)

static char *read_capture(const char *name, size_t *len) { return mw_test_slurp(len, "%s/%s", MW_TEST_DATA, name); }

/* What the shell counted in a capture file F. */
typedef struct counts {
  size_t lines;  /* wc -l < F (every capture ends with a newline) */
  size_t gc;     /* grep -c '^gc ' F */
  size_t sched;  /* grep -c '^SCHED ' F */
  size_t detail; /* grep -c '^  [PMG][0-9]*: ' F */
  size_t other;  /* grep -vc '^gc \|^SCHED \|^  [PMG][0-9]*: ' F: "capture: done" */
} counts;

/* Parses F whole and line by line: every gc and SCHED line must parse on its
 * own (a failure names the line), and the stream's counts must match. */
static void parse_capture(mw_arena *a, const char *name, const counts *want, mw_runtime_text *rt) {
  size_t len;
  char *data = read_capture(name, &len);
  size_t lineno = 0;
  for (size_t pos = 0; pos < len;) {
    const char *s = data + pos, *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + 1;
    lineno++;
    const char *why = NULL;
    size_t at = 0;
    int rc = 0;
    if (n >= 3 && memcmp(s, "gc ", 3) == 0) {
      mw_gc_cycle g;
      rc = mw__gctrace_parse_line(s, n, &g, &why, &at);
      if (rc == 0) assert_int_equal(g.procs, 4); /* GOMAXPROCS=4 in capture.sh */
    } else if (n >= 6 && memcmp(s, "SCHED ", 6) == 0) {
      mw_sched_sample smp;
      rc = mw__schedtrace_parse_line(a, s, n, 1024, &smp, &why, &at);
      if (rc == 0) assert_int_equal(smp.gomaxprocs, 4);
    }
    if (rc != 0) fail_msg("%s:%zu col %zu: %s: %.*s", name, lineno, at + 1, why, (int)n, s);
  }
  assert_int_equal(mw__runtime_text_parse(a, data, len, NULL, rt), 0);
  assert_int_equal(rt->lines_total, want->lines);
  assert_int_equal(rt->n_gc, want->gc);
  assert_int_equal(rt->n_sched, want->sched);
  assert_int_equal(rt->lines_runtime, want->gc + want->sched + want->detail);
  assert_int_equal(rt->lines_skipped, want->other);
  assert_int_equal(rt->lines_malformed, 0);
  assert_int_equal(rt->n_errors, 0);
  assert_int_equal(rt->truncated, 0);
  free(data);
}

static void check_runq(const mw_sched_sample *s, uint32_t q0, uint32_t q1, uint32_t q2, uint32_t q3) {
  assert_int_equal(s->detailed, 0);
  assert_int_equal(s->n_local_runq, 4);
  assert_non_null(s->local_runq);
  assert_int_equal(s->local_runq[0], q0);
  assert_int_equal(s->local_runq[1], q1);
  assert_int_equal(s->local_runq[2], q2);
  assert_int_equal(s->local_runq[3], q3);
  assert_int_equal(s->local_runq_sum, (int64_t)q0 + q1 + q2 + q3);
}

/* ---- Go 1.26 ----------------------------------------------------------------- */

static void test_go126_summary(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const counts want = {.lines = 109, .gc = 101, .sched = 7, .detail = 0, .other = 1};
  parse_capture(a, "go1.26/runtime-stderr.log", &want, &rt);

  /* grep '^SCHED' F | sed -n 2p:
   * SCHED 1004ms: gomaxprocs=4 idleprocs=0 threads=6 spinningthreads=0 needspinning=1
   * idlethreads=1 runqueue=12 [ 2 0 0 1 ] schedticks=[ 434 571 635 561 ] */
  const mw_sched_sample *s = &rt.sched[1];
  assert_int_equal(s->offset_ns, MS(1004));
  assert_int_equal(s->gomaxprocs, 4);
  assert_int_equal(s->idleprocs, 0);
  assert_int_equal(s->threads, 6);
  assert_int_equal(s->spinningthreads, 0);
  assert_int_equal(s->needspinning, 1);
  assert_int_equal(s->idlethreads, 1);
  assert_int_equal(s->runqueue, 12);
  check_runq(s, 2, 0, 0, 1);
  /* grep '^SCHED' F | tail -1:
   * SCHED 6019ms: gomaxprocs=4 idleprocs=4 threads=6 spinningthreads=0 needspinning=0
   * idlethreads=4 runqueue=0 [ 0 0 0 0 ] schedticks=[ 3227 3360 19268 19175 ] */
  s = &rt.sched[6];
  assert_int_equal(s->offset_ns, MS(6019));
  assert_int_equal(s->idleprocs, 4);
  assert_int_equal(s->needspinning, 0);
  assert_int_equal(s->idlethreads, 4);
  check_runq(s, 0, 0, 0, 0);
  /* grep '^SCHED' F | sed 's|.*\[ \(.*\) \] sched.*|\1|' | tr ' ' '\n' | paste -sd+ | bc */
  int64_t local = 0;
  for (size_t i = 0; i < rt.n_sched; i++) local += rt.sched[i].local_runq_sum;
  assert_int_equal(local, 30);

  /* head -3 F | tail -1:
   * gc 2 @0.043s 0%: 0.082+9.5+0.050 ms clock, 0.16+0.077/0.089/0+0.10 ms cpu,
   * 7->7->7 MB, 7 MB goal, 0 MB stacks, 0 MB globals, 4 P */
  const mw_gc_cycle *g = &rt.gc[1];
  assert_int_equal(g->n, 2);
  assert_int_equal(g->offset_ns, MS(43));
  assert_int_equal(g->cpu_percent, 0);
  assert_int_equal(g->stw_sweep_term_ns, 82000);
  assert_int_equal(g->concurrent_mark_ns, 9500000);
  assert_int_equal(g->stw_mark_term_ns, 50000);
  assert_int_equal(g->stw1_cpu_ns, 160000);
  assert_int_equal(g->assist_cpu_ns, 77000);
  assert_int_equal(g->background_cpu_ns, 89000);
  assert_int_equal(g->idle_cpu_ns, 0);
  assert_int_equal(g->stw2_cpu_ns, 100000);
  assert_int_equal(g->heap_before, MiB(7));
  assert_int_equal(g->heap_after, MiB(7));
  assert_int_equal(g->heap_live, MiB(7));
  assert_int_equal(g->goal, MiB(7));
  assert_int_equal(g->stacks, 0);
  assert_int_equal(g->globals, 0);
  assert_int_equal(g->forced, 0);
  /* grep '^gc ' F | tail -1:
   * gc 101 @6.001s 1%: 0.042+0.097+0.002 ms clock, 0.085+0/0.060/0.047+0.005 ms cpu,
   * 87->87->0 MB, 109 MB goal, 0 MB stacks, 0 MB globals, 4 P (forced) */
  g = &rt.gc[100];
  assert_int_equal(g->n, 101);
  assert_int_equal(g->offset_ns, MS(6001));
  assert_int_equal(g->cpu_percent, 1);
  assert_int_equal(g->stw_sweep_term_ns, 42000);
  assert_int_equal(g->concurrent_mark_ns, 97000);
  assert_int_equal(g->stw_mark_term_ns, 2000);
  assert_int_equal(g->stw1_cpu_ns, 85000);
  assert_int_equal(g->assist_cpu_ns, 0);
  assert_int_equal(g->background_cpu_ns, 60000);
  assert_int_equal(g->idle_cpu_ns, 47000);
  assert_int_equal(g->stw2_cpu_ns, 5000);
  assert_int_equal(g->heap_before, MiB(87));
  assert_int_equal(g->heap_after, MiB(87));
  assert_int_equal(g->heap_live, 0);
  assert_int_equal(g->goal, MiB(109));
  assert_int_equal(g->forced, 1);
  /* grep '^gc ' F | sed 's|.* ms cpu, ||; s| MB,.*||; s|.*->||' | paste -sd+ | bc
   * and grep -c '(forced)$' F */
  int64_t live = 0;
  int forced = 0;
  for (size_t i = 0; i < rt.n_gc; i++) {
    live += rt.gc[i].heap_live;
    forced += rt.gc[i].forced;
    assert_int_equal(rt.gc[i].n, (int64_t)i + 1); /* grep '^gc ' F | cut -d' ' -f2: 1..101 */
  }
  assert_int_equal(live, MiB(1620));
  assert_int_equal(forced, 1);
  mw__arena_free(a);
}

static void test_go126_scheddetail(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const counts want = {.lines = 184, .gc = 52, .sched = 4, .detail = 127, .other = 1};
  parse_capture(a, "go1.26/runtime-stderr.scheddetail.log", &want, &rt);
  /* grep '^SCHED' F | tail -1:
   * SCHED 3016ms: gomaxprocs=4 idleprocs=4 threads=7 spinningthreads=0 needspinning=0
   * idlethreads=5 runqueue=0 gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false */
  const mw_sched_sample *s = &rt.sched[3];
  assert_int_equal(s->offset_ns, MS(3016));
  assert_int_equal(s->detailed, 1);
  assert_int_equal(s->gomaxprocs, 4);
  assert_int_equal(s->idleprocs, 4);
  assert_int_equal(s->threads, 7);
  assert_int_equal(s->spinningthreads, 0);
  assert_int_equal(s->needspinning, 0);
  assert_int_equal(s->idlethreads, 5);
  assert_int_equal(s->runqueue, 0);
  assert_int_equal(s->n_local_runq, 0);
  assert_null(s->local_runq);
  assert_int_equal(s->local_runq_sum, -1);
  for (size_t i = 0; i < rt.n_sched; i++) assert_int_equal(rt.sched[i].detailed, 1);
  /* grep '(forced)$' F: gc 52 @3.002s 1%: ... 24->24->0 MB, 49 MB goal, ... 4 P (forced) */
  assert_int_equal(rt.gc[51].n, 52);
  assert_int_equal(rt.gc[51].offset_ns, MS(3002));
  assert_int_equal(rt.gc[51].heap_before, MiB(24));
  assert_int_equal(rt.gc[51].goal, MiB(49));
  assert_int_equal(rt.gc[51].forced, 1);
  mw__arena_free(a);
}

/* ---- Go 1.27 ----------------------------------------------------------------- */

static void test_go127_summary(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const counts want = {.lines = 128, .gc = 120, .sched = 7, .detail = 0, .other = 1};
  parse_capture(a, "go1.27/runtime-stderr.log", &want, &rt);

  /* head -1 F:
   * SCHED 0ms: gomaxprocs=4 idleprocs=1 threads=5 spinningthreads=2 needspinning=0
   * idlethreads=1 runqueue=0 [ 0 0 0 0 ] schedticks=[ 0 0 2 3 ] */
  const mw_sched_sample *s = &rt.sched[0];
  assert_int_equal(s->offset_ns, 0);
  assert_int_equal(s->idleprocs, 1);
  assert_int_equal(s->threads, 5);
  assert_int_equal(s->spinningthreads, 2);
  assert_int_equal(s->needspinning, 0);
  assert_int_equal(s->idlethreads, 1);
  assert_int_equal(s->runqueue, 0);
  check_runq(s, 0, 0, 0, 0);
  /* grep '^SCHED' F | sed -n 2p:
   * SCHED 1009ms: gomaxprocs=4 idleprocs=0 threads=6 spinningthreads=0 needspinning=1
   * idlethreads=1 runqueue=8 [ 3 1 2 3 ] schedticks=[ 540 644 506 588 ] */
  s = &rt.sched[1];
  assert_int_equal(s->offset_ns, MS(1009));
  assert_int_equal(s->idleprocs, 0);
  assert_int_equal(s->threads, 6);
  assert_int_equal(s->needspinning, 1);
  assert_int_equal(s->runqueue, 8);
  check_runq(s, 3, 1, 2, 3);
  /* grep '^SCHED' F | tail -1: SCHED 6041ms: ... threads=7 ... idlethreads=5 runqueue=0 [ 0 0 0 0 ] */
  assert_int_equal(rt.sched[6].offset_ns, MS(6041));
  assert_int_equal(rt.sched[6].threads, 7);
  assert_int_equal(rt.sched[6].idlethreads, 5);
  /* grep '^SCHED' F | sed 's|.*\[ \(.*\) \] sched.*|\1|' | tr ' ' '\n' | paste -sd+ | bc */
  int64_t local = 0;
  for (size_t i = 0; i < rt.n_sched; i++) local += rt.sched[i].local_runq_sum;
  assert_int_equal(local, 36);

  /* head -2 F | tail -1:
   * gc 1 @0.000s 22%: 0.22+9.4+0.23 ms clock, 0.44+0.15/8.5/0+0.46 ms cpu,
   * 3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 4 P */
  const mw_gc_cycle *g = &rt.gc[0];
  assert_int_equal(g->n, 1);
  assert_int_equal(g->offset_ns, 0);
  assert_int_equal(g->cpu_percent, 22);
  assert_int_equal(g->stw_sweep_term_ns, 220000);
  assert_int_equal(g->concurrent_mark_ns, 9400000);
  assert_int_equal(g->stw_mark_term_ns, 230000);
  assert_int_equal(g->stw1_cpu_ns, 440000);
  assert_int_equal(g->assist_cpu_ns, 150000);
  assert_int_equal(g->background_cpu_ns, 8500000);
  assert_int_equal(g->idle_cpu_ns, 0);
  assert_int_equal(g->stw2_cpu_ns, 460000);
  assert_int_equal(g->heap_before, MiB(3));
  assert_int_equal(g->heap_after, MiB(4));
  assert_int_equal(g->heap_live, MiB(3));
  assert_int_equal(g->goal, MiB(4));
  assert_int_equal(g->stacks, 0);
  assert_int_equal(g->globals, 0);
  assert_int_equal(g->forced, 0);
  /* grep '^gc ' F | tail -1:
   * gc 120 @6.001s 1%: 0.067+0.075+0.002 ms clock, 0.13+0/0.030/0.070+0.004 ms cpu,
   * 20->20->0 MB, 40 MB goal, 0 MB stacks, 0 MB globals, 4 P (forced) */
  g = &rt.gc[119];
  assert_int_equal(g->n, 120);
  assert_int_equal(g->offset_ns, MS(6001));
  assert_int_equal(g->stw_sweep_term_ns, 67000);
  assert_int_equal(g->concurrent_mark_ns, 75000);
  assert_int_equal(g->background_cpu_ns, 30000);
  assert_int_equal(g->idle_cpu_ns, 70000);
  assert_int_equal(g->stw2_cpu_ns, 4000);
  assert_int_equal(g->heap_before, MiB(20));
  assert_int_equal(g->heap_live, 0);
  assert_int_equal(g->goal, MiB(40));
  assert_int_equal(g->forced, 1);
  /* grep '^gc ' F | sed 's|.* ms cpu, ||; s| MB,.*||; s|.*->||' | paste -sd+ | bc */
  int64_t live = 0;
  for (size_t i = 0; i < rt.n_gc; i++) live += rt.gc[i].heap_live;
  assert_int_equal(live, MiB(2144));
  mw__arena_free(a);
}

static void test_go127_scheddetail(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const counts want = {.lines = 192, .gc = 62, .sched = 4, .detail = 125, .other = 1};
  parse_capture(a, "go1.27/runtime-stderr.scheddetail.log", &want, &rt);
  /* grep '^SCHED' F | tail -1:
   * SCHED 3009ms: gomaxprocs=4 idleprocs=3 threads=6 spinningthreads=0 needspinning=0
   * idlethreads=3 runqueue=1 gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false */
  const mw_sched_sample *s = &rt.sched[3];
  assert_int_equal(s->offset_ns, MS(3009));
  assert_int_equal(s->detailed, 1);
  assert_int_equal(s->idleprocs, 3);
  assert_int_equal(s->threads, 6);
  assert_int_equal(s->idlethreads, 3);
  assert_int_equal(s->runqueue, 1);
  assert_int_equal(s->local_runq_sum, -1);
  /* grep '(forced)$' F: gc 62 @3.001s 1%: ... 6->6->0 MB, 12 MB goal, ... 4 P (forced) */
  assert_int_equal(rt.gc[61].n, 62);
  assert_int_equal(rt.gc[61].offset_ns, MS(3001));
  assert_int_equal(rt.gc[61].heap_before, MiB(6));
  assert_int_equal(rt.gc[61].goal, MiB(12));
  assert_int_equal(rt.gc[61].forced, 1);
  mw__arena_free(a);
}

/* ---- the Go 1.25+ grammar's edges ------------------------------------------------ */

static int parse_str(mw_arena *a, const char *s, mw_runtime_text *out) {
  return mw__runtime_text_parse(a, s, strlen(s), NULL, out);
}

static void test_go125_line_shapes(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const char *in =
      /* the line of the task that found the change (GOMAXPROCS=2) */
      "SCHED 1008ms: gomaxprocs=2 idleprocs=2 threads=6 spinningthreads=0 needspinning=0 "
      "idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 2 10 ]\n"
      /* a list field before the run queues, a future scalar after schedticks,
       * trailing blanks */
      "SCHED 2010ms: gomaxprocs=3 idleprocs=0 threads=7 spinningthreads=1 needspinning=1 "
      "idlethreads=0 runqueue=4 future=[ 1 2 ] [ 5 0 7 ] schedticks=[ 9 9 9 ] later=x \t\n"
      /* a single P, no spaces inside either list */
      "SCHED 3011ms: gomaxprocs=1 idleprocs=0 threads=3 spinningthreads=0 needspinning=0 "
      "idlethreads=1 runqueue=2 [4] schedticks=[17]\n";
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.n_errors, 0);
  assert_int_equal(rt.n_sched, 3);
  const mw_sched_sample *s = &rt.sched[0];
  assert_int_equal(s->offset_ns, MS(1008));
  assert_int_equal(s->gomaxprocs, 2);
  assert_int_equal(s->idleprocs, 2);
  assert_int_equal(s->threads, 6);
  assert_int_equal(s->idlethreads, 1);
  assert_int_equal(s->needspinning, 0);
  assert_int_equal(s->n_local_runq, 2);
  assert_int_equal(s->local_runq_sum, 0);
  s = &rt.sched[1];
  assert_int_equal(s->gomaxprocs, 3);
  assert_int_equal(s->runqueue, 4);
  assert_int_equal(s->n_local_runq, 3);
  assert_int_equal(s->local_runq[0], 5);
  assert_int_equal(s->local_runq[1], 0);
  assert_int_equal(s->local_runq[2], 7);
  assert_int_equal(s->local_runq_sum, 12); /* not future=[1 2], not schedticks */
  s = &rt.sched[2];
  assert_int_equal(s->n_local_runq, 1);
  assert_int_equal(s->local_runq[0], 4);
  assert_int_equal(s->local_runq_sum, 4);

  /* max_procs caps the copy, not the sum */
  mw_runtime_text_opts o = MW_RUNTIME_TEXT_OPTS_DEFAULT;
  o.max_procs = 2;
  const char *wide = "SCHED 1ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=0 "
                     "needspinning=0 idlethreads=0 runqueue=0 [ 1 2 3 4 ] schedticks=[ 1 1 1 1 ]\n";
  assert_int_equal(mw__runtime_text_parse(a, wide, strlen(wide), &o, &rt), 0);
  assert_int_equal(rt.sched[0].n_local_runq, 2);
  assert_int_equal(rt.sched[0].local_runq[0], 1);
  assert_int_equal(rt.sched[0].local_runq[1], 2);
  assert_int_equal(rt.sched[0].local_runq_sum, 10);
  mw__arena_free(a);
}

static void test_go125_bad_lines(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
#define HEAD                                                                                                           \
  "SCHED 10ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 needspinning=0 "                                   \
  "idlethreads=1 runqueue=0 "
  const char *in = HEAD "[ 0 0 ] schedticks=[ 1 2\n" /* unclosed list value */
      HEAD "[ 0 0 ] schedticks=[ 1 2 ]x\n"           /* text glued to a list value */
      HEAD "[ 0 x ] schedticks=[ 1 2 ]\n"            /* not a number in the run queues */
      HEAD "[ 0 0\n"                                 /* unclosed run queue list */
      HEAD "[ 0 0 ] [ 0 0 ]\n"                       /* two run queue lists */
      HEAD "[ 0 0 ] schedticks\n"                    /* a key without a value */
      HEAD "[ 0 0 ] schedticks=[ 1 2 ]\n";           /* fine */
#undef HEAD
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.n_sched, 1);
  assert_int_equal(rt.lines_malformed, 6);
  assert_int_equal(rt.n_errors, 6);
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(rt.errors[i].line, i + 1);
    assert_non_null(rt.errors[i].msg);
  }
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go126_summary),     cmocka_unit_test(test_go126_scheddetail),
      cmocka_unit_test(test_go127_summary),     cmocka_unit_test(test_go127_scheddetail),
      cmocka_unit_test(test_go125_line_shapes), cmocka_unit_test(test_go125_bad_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
