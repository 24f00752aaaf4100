/* Tests for the runtime stderr decoder (decode/gctrace.c, decode/schedtrace.c):
 * the real Go 1.19 stderr in tests/data/go1.19-checkout, plain and with
 * receive stamps, then the version variants of go-gctrace.md and
 * go-schedtrace.md (synthetic lines shaped like the specs' examples), lines
 * split by other output, line ends, and limits.
 *
 * Expected values were read from the fixture files with shell tools, never
 * from this decoder; each is annotated with the command. F stands for
 * tests/data/go1.19-checkout/runtime-stderr.log, S for
 * runtime-stderr.stamped.log. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/runtime_text.h"

#define FIXDIR MW_TEST_DATA "/go1.19-checkout/"
#define MiB(x) ((int64_t)(x) << 20)
#define MS(x) ((int64_t)(x)*1000000)

/* ---- helpers ------------------------------------------------------------ */

static char *read_file(const char *name, size_t *len) { return mw_test_slurp(len, "%s%s", FIXDIR, name); }

/* Parses a string with default options. */
static int parse_str(mw_arena *a, const char *s, mw_runtime_text *out) {
  return mw__runtime_text_parse(a, s, strlen(s), NULL, out);
}

static void check_first_gc(const mw_gc_cycle *g) {
  /* head -2 F | tail -1:
   * gc 1 @0.098s 0%: 0.59+0.62+0.042 ms clock, 1.1+0.14/0.15/0+0.085 ms cpu,
   * 3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P */
  assert_int_equal(g->n, 1);
  assert_int_equal(g->offset_ns, MS(98));
  assert_int_equal(g->start_ns, 0);
  assert_int_equal(g->cpu_percent, 0);
  assert_int_equal(g->stw_sweep_term_ns, 590000);
  assert_int_equal(g->concurrent_mark_ns, 620000);
  assert_int_equal(g->stw_mark_term_ns, 42000);
  assert_int_equal(g->stw1_cpu_ns, 1100000);
  assert_int_equal(g->assist_cpu_ns, 140000);
  assert_int_equal(g->background_cpu_ns, 150000);
  assert_int_equal(g->idle_cpu_ns, 0);
  assert_int_equal(g->stw2_cpu_ns, 85000);
  assert_int_equal(g->heap_before, MiB(3));
  assert_int_equal(g->heap_after, MiB(4));
  assert_int_equal(g->heap_live, MiB(3));
  assert_int_equal(g->goal, MiB(4));
  assert_int_equal(g->stacks, 0);
  assert_int_equal(g->globals, 0);
  assert_int_equal(g->procs, 2);
  assert_int_equal(g->forced, 0);
}

static void check_last_gc(const mw_gc_cycle *g) {
  /* grep '^gc ' F | tail -1:
   * gc 59 @15.964s 0%: 0.14+6.6+0.22 ms clock, 0.28+0/0.82/0+0.45 ms cpu,
   * 50->50->25 MB, 51 MB goal, 0 MB stacks, 0 MB globals, 2 P */
  assert_int_equal(g->n, 59);
  assert_int_equal(g->offset_ns, MS(15964));
  assert_int_equal(g->cpu_percent, 0);
  assert_int_equal(g->stw_sweep_term_ns, 140000);
  assert_int_equal(g->concurrent_mark_ns, 6600000);
  assert_int_equal(g->stw_mark_term_ns, 220000);
  assert_int_equal(g->stw1_cpu_ns, 280000);
  assert_int_equal(g->assist_cpu_ns, 0);
  assert_int_equal(g->background_cpu_ns, 820000);
  assert_int_equal(g->idle_cpu_ns, 0);
  assert_int_equal(g->stw2_cpu_ns, 450000);
  assert_int_equal(g->heap_before, MiB(50));
  assert_int_equal(g->heap_after, MiB(50));
  assert_int_equal(g->heap_live, MiB(25));
  assert_int_equal(g->goal, MiB(51));
  assert_int_equal(g->stacks, 0);
  assert_int_equal(g->globals, 0);
  assert_int_equal(g->procs, 2);
  assert_int_equal(g->forced, 0);
}

static void check_sched_5030(const mw_sched_sample *s) {
  /* grep '^SCHED' F | sed -n 6p:
   * SCHED 5030ms: gomaxprocs=2 idleprocs=0 threads=7 spinningthreads=0
   * idlethreads=2 runqueue=0 [0 0] */
  assert_int_equal(s->offset_ns, MS(5030));
  assert_int_equal(s->gomaxprocs, 2);
  assert_int_equal(s->idleprocs, 0);
  assert_int_equal(s->threads, 7);
  assert_int_equal(s->spinningthreads, 0);
  assert_int_equal(s->needspinning, -1); /* Go 1.19 does not print it */
  assert_int_equal(s->idlethreads, 2);
  assert_int_equal(s->runqueue, 0);
  assert_int_equal(s->n_local_runq, 2);
  assert_int_equal(s->local_runq[0], 0);
  assert_int_equal(s->local_runq[1], 0);
  assert_int_equal(s->local_runq_sum, 0);
  assert_int_equal(s->detailed, 0);
}

/* Checks shared by the plain and the stamped log. */
static void check_fixture_log(const mw_runtime_text *rt) {
  assert_int_equal(rt->lines_total, 76);   /* grep -c '' F */
  assert_int_equal(rt->n_gc, 59);          /* grep -c '^gc ' F */
  assert_int_equal(rt->n_sched, 17);       /* grep -c '^SCHED ' F */
  assert_int_equal(rt->lines_runtime, 76); /* 59 + 17: every line is runtime output */
  assert_int_equal(rt->lines_skipped, 0);
  assert_int_equal(rt->lines_malformed, 0);
  assert_int_equal(rt->n_errors, 0);
  assert_int_equal(rt->truncated, 0);
  check_first_gc(&rt->gc[0]);
  check_last_gc(&rt->gc[58]);
  /* awk '/^gc /{n++; if ($2!=n) bad++} END{print n, bad+0}' F  ->  59 0 */
  int64_t live = 0, mark = 0;
  for (size_t i = 0; i < rt->n_gc; i++) {
    assert_int_equal(rt->gc[i].n, (int64_t)i + 1);
    assert_int_equal(rt->gc[i].stacks, 0);
    assert_int_equal(rt->gc[i].procs, 2);
    live += rt->gc[i].heap_live;
    mark += rt->gc[i].concurrent_mark_ns;
  }
  /* third heap number summed: awk '/^gc /{split($0,a,", "); for(i in a)
   *   if (a[i] ~ /MB$/ && a[i] ~ /->/) {split(a[i],b,"->"); s+=b[3]+0}} END{print s}' F -> 1603 */
  assert_int_equal(live, MiB(1603));
  /* middle clock phase summed: awk '/^gc /{split($5,c,"+"); s+=c[2]} END{printf "%.3f", s}' F
   * -> 367.140 ms */
  assert_int_equal(mark, 367140000);
  check_sched_5030(&rt->sched[5]);
  int64_t idle = 0;
  for (size_t i = 0; i < rt->n_sched; i++) {
    /* grep -c '\[0 0\]$' F -> 17: every sample has two Ps with empty queues */
    assert_int_equal(rt->sched[i].n_local_runq, 2);
    assert_int_equal(rt->sched[i].local_runq_sum, 0);
    idle += rt->sched[i].idleprocs;
  }
  /* grep '^SCHED' F | sed 's/.*idleprocs=\([0-9]*\).*\/\1/' | paste -sd+ | bc -> 28 */
  assert_int_equal(idle, 28);
  assert_int_equal(rt->sched[0].offset_ns, 0);          /* SCHED 0ms */
  assert_int_equal(rt->sched[16].offset_ns, MS(16092)); /* tail -1 F: SCHED 16092ms */
}

/* ---- the fixtures ------------------------------------------------------- */

static void test_fixture_plain(void **state) {
  size_t len;
  char *data = read_file("runtime-stderr.log", &len);
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  assert_int_equal(mw__runtime_text_parse(a, data, len, NULL, &rt), 0);
  check_fixture_log(&rt);
  assert_int_equal(rt.lines_stamped, 0);
  assert_int_equal(rt.gc[0].stamp_ns, 0);
  assert_int_equal(rt.sched[5].stamp_ns, 0);
  mw__arena_free(a);
  free(data);
}

static void test_fixture_stamped(void **state) {
  size_t len, plen;
  char *data = read_file("runtime-stderr.stamped.log", &len);
  char *plain = read_file("runtime-stderr.log", &plen);
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt, pt;
  assert_int_equal(mw__runtime_text_parse(a, data, len, NULL, &rt), 0);
  check_fixture_log(&rt);
  assert_int_equal(rt.lines_stamped, 76); /* grep -c '^[0-9]\{19\} ' S */
  /* sed -n 2p S | cut -d' ' -f1 */
  assert_int_equal(rt.gc[0].stamp_ns, INT64_C(1795334474527048163));
  /* grep ' gc 59 ' S | cut -d' ' -f1 */
  assert_int_equal(rt.gc[58].stamp_ns, INT64_C(1795334490400534294));
  /* head -1 S, grep 'SCHED 5030' S, tail -1 S */
  assert_int_equal(rt.sched[0].stamp_ns, INT64_C(1795334474425568025));
  assert_int_equal(rt.sched[5].stamp_ns, INT64_C(1795334479456385663));
  assert_int_equal(rt.sched[16].stamp_ns, INT64_C(1795334490518083134));
  /* diff <(cut -d' ' -f2- S) F: the same lines, so the same records but the stamp */
  assert_int_equal(mw__runtime_text_parse(a, plain, plen, NULL, &pt), 0);
  assert_int_equal(pt.n_gc, rt.n_gc);
  for (size_t i = 0; i < rt.n_gc; i++) {
    mw_gc_cycle g = rt.gc[i];
    assert_true(g.stamp_ns > 0);
    g.stamp_ns = 0;
    assert_memory_equal(&g, &pt.gc[i], sizeof g);
  }
  mw__arena_free(a);
  free(data);
  free(plain);
}

/* ---- version variants ----------------------------------------------------- */

static void test_pre_118_line(void **state) {
  /* <= 1.17: no stacks/globals fields */
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  assert_int_equal(parse_str(a,
                             "gc 7 @0.352s 1%: 0.021+1.2+0.030 ms clock, 0.16+0.40/1.0/2.1+0.24 ms "
                             "cpu, 4->4->2 MB, 5 MB goal, 8 P\n",
                             &rt),
                   0);
  assert_int_equal(rt.n_gc, 1);
  const mw_gc_cycle *g = &rt.gc[0];
  assert_int_equal(g->n, 7);
  assert_int_equal(g->offset_ns, MS(352));
  assert_int_equal(g->cpu_percent, 1);
  assert_int_equal(g->concurrent_mark_ns, 1200000);
  assert_int_equal(g->idle_cpu_ns, 2100000);
  assert_int_equal(g->heap_live, MiB(2));
  assert_int_equal(g->goal, MiB(5));
  assert_int_equal(g->stacks, -1);
  assert_int_equal(g->globals, -1);
  assert_int_equal(g->procs, 8);
  assert_int_equal(g->forced, 0);
  mw__arena_free(a);
}

static void test_forced_and_other_runtime_lines(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const char *in = "GC forced\n"
                   "gc 15 @4.880s 2%: 0.052+12+0.030 ms clock, 0.41+1.1/23/40+0.24 ms cpu, 41->42->20 MB, "
                   "43 MB goal, 0 MB stacks, 1 MB globals, 8 P (forced)\n"
                   "scav 0 KiB work, 4 KiB total, 98% util\n"
                   "scav 12 KiB work (bg), 0 KiB work (eager), 2048 KiB now, 97% util (forced)\n"
                   "pacer: assist ratio=+1.5e+000 (scan 0 MB in 4->4 MB) workers=2++0.000000e+000\n"
                   "listening on :8080\n";
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.lines_total, 6);
  assert_int_equal(rt.n_gc, 1);
  assert_int_equal(rt.lines_runtime, 5); /* GC forced, the gc line, 2 scav, pacer */
  assert_int_equal(rt.lines_skipped, 1);
  assert_int_equal(rt.lines_malformed, 0);
  const mw_gc_cycle *g = &rt.gc[0];
  assert_int_equal(g->forced, 1);
  assert_int_equal(g->stw_sweep_term_ns, 52000);
  assert_int_equal(g->concurrent_mark_ns, MS(12)); /* >= 10 ms: whole ms */
  assert_int_equal(g->background_cpu_ns, MS(23));
  assert_int_equal(g->idle_cpu_ns, MS(40));
  assert_int_equal(g->stacks, 0);
  assert_int_equal(g->globals, MiB(1));
  mw__arena_free(a);
}

static void test_number_formats(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_gc_cycle g;
  const char *why = NULL;
  size_t at = 0;
  /* GOGC=off with a forced cycle: absurd goal; an hour of uptime; 7 us; 0 */
  const char *l = "gc 3 @3600.250s 0%: 0.007+251+0 ms clock, 0.014+0/0/0+0 ms cpu, "
                  "0->0->0 MB, 8532210231531 MB goal, 0 MB stacks, 0 MB globals, 64 P (forced)";
  assert_int_equal(mw__gctrace_parse_line(l, strlen(l), &g, &why, &at), 0);
  assert_int_equal(g.offset_ns, INT64_C(3600250000000));
  assert_int_equal(g.stw_sweep_term_ns, 7000);
  assert_int_equal(g.concurrent_mark_ns, MS(251));
  assert_int_equal(g.stw_mark_term_ns, 0);
  assert_int_equal(g.goal, INT64_C(8532210231531) << 20);
  assert_int_equal(g.procs, 64);
  /* lenient: one decimal in @S, more than 6 decimals in MS (truncated to ns),
   * trailing blanks */
  l = "gc 4 @1.2s 3%: 0.1234567+1+2 ms clock, 1+2/3/4+5 ms cpu, 1->2->3 MB, 4 MB goal, "
      "5 MB stacks, 6 MB globals, 1 P  ";
  assert_int_equal(mw__gctrace_parse_line(l, strlen(l), &g, &why, &at), 0);
  assert_int_equal(g.offset_ns, MS(1200));
  assert_int_equal(g.stw_sweep_term_ns, 123456);
  assert_int_equal(g.stacks, MiB(5));
  /* a goal too large for int64 bytes saturates */
  l = "gc 5 @1.000s 3%: 1+1+1 ms clock, 1+1/1/1+1 ms cpu, 1->1->1 MB, 999999999999999 MB goal, "
      "0 MB stacks, 0 MB globals, 1 P";
  assert_int_equal(mw__gctrace_parse_line(l, strlen(l), &g, &why, &at), 0);
  assert_int_equal(g.goal, INT64_MAX);
  /* grammar errors say where */
  l = "gc 6 @1.000s 3%: 1+1 ms clock";
  assert_int_equal(mw__gctrace_parse_line(l, strlen(l), &g, &why, &at), MW_EINVAL);
  assert_non_null(why);
  assert_int_equal(at, strlen("gc 6 @1.000s 3%: 1+1"));
  l = "gc 6 @1.000s 3%: 1+1+1 ms clock, 1+1/1/1+1 ms cpu, 1->1->1 MB, 1 MB goal, 8 P and more";
  assert_int_equal(mw__gctrace_parse_line(l, strlen(l), &g, &why, &at), MW_EINVAL);
  l = "gc 99999999999999999999 @1.000s";
  assert_int_equal(mw__gctrace_parse_line(l, strlen(l), &g, &why, &at), MW_EINVAL);
  mw__arena_free(a);
}

static void test_needspinning(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  assert_int_equal(parse_str(a,
                             "SCHED 2004ms: gomaxprocs=4 idleprocs=2 threads=9 spinningthreads=1 "
                             "needspinning=0 idlethreads=4 runqueue=0 [1 0 3 0]\n"
                             "SCHED 3005ms: gomaxprocs=4 idleprocs=0 threads=9 spinningthreads=0 "
                             "needspinning=1 idlethreads=4 runqueue=17 [0 2 0 5]\n",
                             &rt),
                   0);
  assert_int_equal(rt.n_sched, 2);
  const mw_sched_sample *s = &rt.sched[0];
  assert_int_equal(s->offset_ns, MS(2004));
  assert_int_equal(s->gomaxprocs, 4);
  assert_int_equal(s->idleprocs, 2);
  assert_int_equal(s->threads, 9);
  assert_int_equal(s->spinningthreads, 1);
  assert_int_equal(s->needspinning, 0);
  assert_int_equal(s->idlethreads, 4);
  assert_int_equal(s->runqueue, 0);
  assert_int_equal(s->n_local_runq, 4);
  assert_int_equal(s->local_runq[0], 1);
  assert_int_equal(s->local_runq[2], 3);
  assert_int_equal(s->local_runq_sum, 4);
  assert_int_equal(rt.sched[1].needspinning, 1);
  assert_int_equal(rt.sched[1].runqueue, 17);
  assert_int_equal(rt.sched[1].local_runq_sum, 7);
  mw__arena_free(a);
}

static void test_scheddetail(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const char *in =
      /* Go 1.19: integers, -1 for absent ids */
      "SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 "
      "runqueue=3 gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0\n"
      "  P0: status=1 schedtick=12 syscalltick=3 m=0 runqsize=1 gfreecnt=0 timerslen=2\n"
      "  P1: status=1 schedtick=7 syscalltick=0 m=3 runqsize=0 gfreecnt=0 timerslen=0\n"
      "  M3: p=1 curg=19 mallocing=0 throwing=0 preemptoff= locks=0 dying=0 spinning=false "
      "blocked=false lockedg=-1\n"
      "  M0: p=0 curg=-1 mallocing=0 throwing=0 preemptoff= locks=1 dying=0 spinning=false "
      "blocked=false lockedg=1\n"
      "  G1: status=4(chan receive) m=-1 lockedm=0\n"
      "  G2: status=4(force gc (idle)) m=-1 lockedm=-1\n"
      /* newer: needspinning, true/false, nil */
      "SCHED 2008ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 needspinning=0 "
      "idlethreads=2 runqueue=0 gcwaiting=false nmidlelocked=0 stopwait=0 sysmonwait=false\n"
      "  P0: status=0 schedtick=20 syscalltick=4 m=nil runqsize=0 gfreecnt=3 timerslen=0\n"
      "  G17: status=6() m=nil lockedm=nil\n";
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.lines_total, 10);
  assert_int_equal(rt.n_sched, 2);
  assert_int_equal(rt.lines_runtime, 10);
  assert_int_equal(rt.lines_skipped, 0);
  const mw_sched_sample *s = &rt.sched[0];
  assert_int_equal(s->detailed, 1);
  assert_int_equal(s->runqueue, 3);
  assert_int_equal(s->n_local_runq, 0);
  assert_null(s->local_runq);
  assert_int_equal(s->local_runq_sum, -1);
  assert_int_equal(s->needspinning, -1);
  assert_int_equal(rt.sched[1].detailed, 1);
  assert_int_equal(rt.sched[1].needspinning, 0);
  assert_int_equal(rt.sched[1].offset_ns, MS(2008));
  mw__arena_free(a);
}

static void test_bad_sched_lines(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const char *in = "SCHED 10ms: gomaxprocs=2 idleprocs=1 threads=5\n" /* fields missing */
                   "SCHED 20ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=1 "
                   "runqueue=0 [0 0\n" /* unclosed list */
                   "SCHED 30ms: gomaxprocs=x idleprocs=1 threads=5 spinningthreads=0 idlethreads=1 "
                   "runqueue=0 [0 0]\n" /* not a number */
                   "SCHED 40ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=1 "
                   "runqueue=0 [0 0] x\n" /* trailing text */
                   "SCHED 50ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=1 "
                   "runqueue=0 futurefield=abc [0 0]\n"; /* fine */
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.n_sched, 1);
  assert_int_equal(rt.sched[0].offset_ns, MS(50));
  assert_int_equal(rt.lines_malformed, 4);
  assert_int_equal(rt.n_errors, 4);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(rt.errors[i].line, i + 1);
    assert_non_null(rt.errors[i].msg);
  }
  mw__arena_free(a);
}

static void test_max_procs(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  mw_runtime_text_opts o = MW_RUNTIME_TEXT_OPTS_DEFAULT;
  o.max_procs = 2;
  const char *in = "SCHED 1ms: gomaxprocs=4 idleprocs=0 threads=4 spinningthreads=0 "
                   "idlethreads=0 runqueue=0 [1 2 3 4]\n";
  assert_int_equal(mw__runtime_text_parse(a, in, strlen(in), &o, &rt), 0);
  assert_int_equal(rt.sched[0].n_local_runq, 2);
  assert_int_equal(rt.sched[0].local_runq[1], 2);
  assert_int_equal(rt.sched[0].local_runq_sum, 10); /* every P counts in the sum */
  mw__arena_free(a);
}

/* ---- damaged streams ------------------------------------------------------ */

static void test_split_gc_lines(void **state) {
  /* The runtime writes fragments with separate write(2)s; the app's output
   * lands in between. Both fragments are discarded as malformed. */
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const char *in = "gc 5 @1.200s 3%: 0.1+"
                   "\nhello from the app\n"
                   "2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, 38->39->21 MB, 40 MB goal, 0 MB stacks, "
                   "1 MB globals, 8 P\n"
                   "gc 6 @1.300s 3%: 0.041+2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, 38->39->21 MB, "
                   "40 MB goal, 0 MB stacks, 1 MB globals, 8 P\n"
                   "gc 7 @1.400s 3%: 0.041+2.3+0.0app says hi\n"
                   "gc 8 @1.5";
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.lines_total, 6);
  assert_int_equal(rt.n_gc, 1);
  assert_int_equal(rt.gc[0].n, 6);
  assert_int_equal(rt.lines_malformed, 4); /* lines 1, 3, 5, 6 */
  assert_int_equal(rt.lines_skipped, 5);   /* those and the app's line */
  assert_int_equal(rt.lines_runtime, 1);
  assert_int_equal(rt.n_errors, 4);
  assert_int_equal(rt.errors[0].line, 1);
  assert_int_equal(rt.errors[0].col, strlen("gc 5 @1.200s 3%: 0.1+") + 1);
  assert_int_equal(rt.errors[1].line, 3);
  assert_int_equal(rt.errors[2].line, 5);
  assert_int_equal(rt.errors[3].line, 6);
  mw__arena_free(a);
}

static void test_line_ends_and_stamps(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  const char *in = "1795334474425568025 SCHED 0ms: gomaxprocs=2 idleprocs=1 threads=6 spinningthreads=0 "
                   "idlethreads=2 runqueue=0 [0 0]\r\n"
                   "\r\n"
                   "123 gc 1 @0.098s 0%: 0.59+0.62+0.042 ms clock, 1.1+0.14/0.15/0+0.085 ms cpu, 3->4->3 MB, "
                   "4 MB goal, 0 MB stacks, 0 MB globals, 2 P\r\n" /* not a 19-digit stamp: not runtime */
                   "1795334474527048163 gc 1 @0.098s 0%: 0.59+0.62+0.042 ms clock, 1.1+0.14/0.15/0+0.085 ms "
                   "cpu, 3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P"; /* no final newline */
  assert_int_equal(parse_str(a, in, &rt), 0);
  assert_int_equal(rt.lines_total, 4);
  assert_int_equal(rt.n_sched, 1);
  assert_int_equal(rt.n_gc, 1);
  assert_int_equal(rt.lines_stamped, 2);
  assert_int_equal(rt.lines_skipped, 2);
  assert_int_equal(rt.sched[0].n_local_runq, 2);
  assert_int_equal(rt.sched[0].stamp_ns, INT64_C(1795334474425568025));
  check_first_gc(&rt.gc[0]);
  assert_int_equal(rt.gc[0].stamp_ns, INT64_C(1795334474527048163));
  /* empty input */
  assert_int_equal(mw__runtime_text_parse(a, "", 0, NULL, &rt), 0);
  assert_int_equal(rt.lines_total, 0);
  assert_int_equal(rt.n_gc + rt.n_sched, 0);
  mw__arena_free(a);
}

static void test_binary_garbage(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  unsigned char buf[4096];
  uint32_t x = 2463534242u; /* xorshift: reproducible noise, NULs included */
  for (size_t i = 0; i < sizeof buf; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (unsigned char)x;
  }
  assert_int_equal(mw__runtime_text_parse(a, (const char *)buf, sizeof buf, NULL, &rt), 0);
  assert_int_equal(rt.n_gc + rt.n_sched, 0);
  assert_true(rt.lines_total > 0);
  assert_int_equal(rt.lines_skipped, rt.lines_total);
  mw__arena_free(a);
}

static void test_huge_line(void **state) {
  /* 100 MB on one line between two gc lines: skipped on its length, never
   * copied (the arena may hand out 1 MiB in all), in well under a second. */
  const char *g1 = "gc 1 @0.098s 0%: 0.59+0.62+0.042 ms clock, 1.1+0.14/0.15/0+0.085 ms cpu, "
                   "3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n";
  size_t big = (size_t)100 << 20, n1 = strlen(g1);
  size_t len = n1 + big + 1 + n1;
  char *data = malloc(len);
  assert_non_null(data);
  memcpy(data, g1, n1);
  memcpy(data + n1, "gc 2 @", 6); /* looks like runtime output, too */
  memset(data + n1 + 6, 'x', big - 6);
  data[n1 + big] = '\n';
  memcpy(data + n1 + big + 1, g1, n1);
  mw_arena *a = mw__arena_new(1 << 20);
  mw_runtime_text rt;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(mw__runtime_text_parse(a, data, len, NULL, &rt), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(secs < 1.0);
  assert_int_equal(rt.lines_total, 3);
  assert_int_equal(rt.n_gc, 2);
  assert_int_equal(rt.lines_too_long, 1);
  assert_int_equal(rt.lines_skipped, 1);
  assert_true(mw__arena_used(a) < (1 << 20));
  mw__arena_free(a);
  free(data);
}

static void test_max_records(void **state) {
  size_t len;
  char *data = read_file("runtime-stderr.log", &len);
  mw_arena *a = mw__arena_new(0);
  mw_runtime_text rt;
  mw_runtime_text_opts o = MW_RUNTIME_TEXT_OPTS_DEFAULT;
  o.max_records = 10;
  assert_int_equal(mw__runtime_text_parse(a, data, len, &o, &rt), MW_ETOOBIG);
  assert_int_equal(rt.truncated, 1);
  /* head -10 F: SCHED 0ms, gc 1..6, SCHED 1001ms, gc 7, gc 8 */
  assert_int_equal(rt.n_gc + rt.n_sched, 10);
  assert_int_equal(rt.n_gc, 8);
  assert_int_equal(rt.n_sched, 2);
  check_first_gc(&rt.gc[0]);
  mw__arena_free(a);
  free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_fixture_plain),
      cmocka_unit_test(test_fixture_stamped),
      cmocka_unit_test(test_pre_118_line),
      cmocka_unit_test(test_forced_and_other_runtime_lines),
      cmocka_unit_test(test_number_formats),
      cmocka_unit_test(test_needspinning),
      cmocka_unit_test(test_scheddetail),
      cmocka_unit_test(test_bad_sched_lines),
      cmocka_unit_test(test_max_procs),
      cmocka_unit_test(test_split_gc_lines),
      cmocka_unit_test(test_line_ends_and_stamps),
      cmocka_unit_test(test_binary_garbage),
      cmocka_unit_test(test_huge_line),
      cmocka_unit_test(test_max_records),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
