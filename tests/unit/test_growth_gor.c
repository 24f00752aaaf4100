/* Tests for goroutine growth and GC pressure (query/gor_growth.c,
 * query/gc_pressure.c), on hand-built snapshot series and on real gctrace
 * lines. Every expected value is worked out by hand in the comments (series
 * chosen so that the arithmetic is short), never taken from the code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <math.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/runtime_text.h"
#include "query/gc_pressure.h"
#include "query/gor_growth.h"

#define MIN10 ((int64_t)600 * 1000000000) /* ten minutes in ns */
#define T0 ((int64_t)1796500000 * 1000000000)

/* ---- the key ------------------------------------------------------------ */

static void test_key_profile_and_dump_agree(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(1 << 20);
  /* goroutine-2.pb.gz and goroutine-2.debug2.txt of tests/data/growth-goroutines */
  const char *pprof = "runtime.gopark\truntime/proc.go:462\n"
                      "runtime.chanrecv\truntime/chan.go:667\n"
                      "runtime.chanrecv1\truntime/chan.go:509\n"
                      "main.leakyWorker\tmeanwhile.test/growth/main.go:32\n";
  const char *debug2 = "main.leakyWorker\tmeanwhile.test/growth/main.go:32\n";
  assert_string_equal(mw__gg_key(a, pprof), debug2);
  assert_string_equal(mw__gg_key(a, debug2), debug2);
  /* a trailing runtime.goexit (GOTRACEBACK=system dumps) goes too */
  assert_string_equal(mw__gg_key(a, "runtime.gopark\tx.go:1\nmain.f\tm.go:2\nruntime.goexit\ty.go:3\n"),
                      "main.f\tm.go:2\n");
  /* the runtime's own goroutines keep their whole stack */
  const char *bg = "runtime.gopark\tproc.go:1\nruntime.bgsweep\tmgcsweep.go:2\n";
  assert_string_equal(mw__gg_key(a, bg), bg);
  /* frames inside the program stay, runtime or not */
  assert_string_equal(mw__gg_key(a, "main.f\tm.go:2\nruntime.x\ty.go:3\nmain.g\tm.go:9\n"),
                      "main.f\tm.go:2\nruntime.x\ty.go:3\nmain.g\tm.go:9\n");
  mw__arena_free(a);
}

/* ---- the series ---------------------------------------------------------- */

enum { N_SNAPS = 7 };

/* Six goroutine snapshots ten minutes apart, and a leak profile between the
 * fourth and the fifth (index 4). */
static void snaps(mw_gg_snap *s) {
  for (int i = 0, k = 0; i < N_SNAPS; i++) {
    s[i].id = i + 1;
    s[i].leak = i == 4;
    s[i].at_ns = i == 4 ? T0 + 3 * MIN10 + 1 : T0 + k++ * MIN10;
  }
}

/* The goroutine snapshot k (0..5) as an index of snaps(). */
static size_t g(int k) { return (size_t)(k < 4 ? k : k + 1); }

static void test_find(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(1 << 20);
  mw_gg_snap s[N_SNAPS];
  snaps(s);
  mw_gg_obs obs[64];
  size_t n = 0;
  /* growing: absent, then 5, 10, 15, 20, 25: +5 per 10 minutes = 30 per hour
   * (y = 5k exactly on k = 0..5 once the 0 is counted); the leak profile
   * lists it (1000 there, which must not count) */
  static const int64_t grow[6] = {0, 5, 10, 15, 20, 25};
  /* steady: 7 in every snapshot */
  /* noisy: 10, 14, 9, 13, 10, 15: ranks of y 2.5, 5, 1, 4, 2.5, 6 against
   * 1..6: sum dx*dy = 6.5, sxx = 17.5, syy = 17, rho = 6.5 / sqrt(297.5) = 0.377 */
  static const int64_t noisy[6] = {10, 14, 9, 13, 10, 15};
  /* slow: 2, 4, 3, 6, 8, 9: ranks 1, 3, 2, 4, 5, 6, rho = 16.5 / 17.5 = 0.943;
   * slope: sum (k - 2.5) y = 25, over sum (k - 2.5)^2 = 17.5, per 1/6 h:
   * 25 / 17.5 * 6 = 8.5714 per hour; rise over 5/6 h = 7.1 >= 3 */
  static const int64_t slow[6] = {2, 4, 3, 6, 8, 9};
  /* tiny: 0, 0, 0, 1, 1, 2: monotone but rises by less than 3 */
  static const int64_t tiny[6] = {0, 0, 0, 1, 1, 2};
  for (int k = 0; k < 6; k++) {
    if (grow[k]) obs[n++] = (mw_gg_obs){g(k), "grow\n", grow[k]};
    obs[n++] = (mw_gg_obs){g(k), "steady\n", 7};
    obs[n++] = (mw_gg_obs){g(k), "noisy\n", noisy[k]};
    obs[n++] = (mw_gg_obs){g(k), "slow\n", slow[k]};
    if (tiny[k]) obs[n++] = (mw_gg_obs){g(k), "tiny\n", tiny[k]};
  }
  obs[n++] = (mw_gg_obs){4, "grow\n", 1000};
  obs[n++] = (mw_gg_obs){4, "other\n", 2}; /* only in the leak profile: never counted */
  mw_gg_suspect *sus;
  size_t n_sus;
  assert_int_equal(mw__gg_find(a, s, N_SNAPS, obs, n, &sus, &n_sus), MW_OK);
  assert_int_equal(n_sus, 2);
  assert_string_equal(sus[0].key, "grow\n");
  assert_true(fabs(sus[0].per_hour - 30.0) < 1e-9);
  assert_true(sus[0].rho > 0.999);
  assert_int_equal(sus[0].first, g(1)); /* first seen at the second snapshot */
  assert_int_equal(sus[0].last, g(5));
  assert_true(sus[0].proven);
  assert_int_equal(sus[0].counts[g(5)], 25);
  assert_int_equal(sus[0].counts[4], 0); /* the leak profile's place */
  assert_string_equal(sus[1].key, "slow\n");
  assert_true(fabs(sus[1].per_hour - 25.0 / 17.5 * 6) < 1e-9);
  assert_true(fabs(sus[1].rho - 16.5 / 17.5) < 1e-9);
  assert_false(sus[1].proven);
  mw__arena_free(a);
}

static void test_find_needs_three_snapshots(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(1 << 20);
  mw_gg_snap s[3] = {{1, T0, 0}, {2, T0 + MIN10, 0}, {3, T0 + MIN10 + 1, 1}};
  mw_gg_obs obs[] = {{0, "k\n", 10}, {1, "k\n", 100}, {2, "k\n", 100}};
  mw_gg_suspect *sus;
  size_t n;
  assert_int_equal(mw__gg_find(a, s, 3, obs, 3, &sus, &n), MW_OK);
  assert_int_equal(n, 0); /* two goroutine snapshots (the leak profile does not count) */
  mw__arena_free(a);
}

static void test_labels_to_operations(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(1 << 20);
  mw_gg_op ops[MW_GG_MAX_OPS];
  size_t n = 0;
  assert_int_equal(mw__gg_add_op(a, "{\"span_name\":\"GET /a\",\"span_id\":\"00f067aa0ba902b7\"}", 3, ops, &n), 1);
  assert_int_equal(mw__gg_add_op(a, "{\"span_name\":\"GET /b\"}", 1, ops, &n), 1);
  assert_int_equal(mw__gg_add_op(a, "{\"span_id\":\"00f067aa0ba902b7\",\"span_name\":\"GET /a\"}", 2, ops, &n), 1);
  assert_int_equal(mw__gg_add_op(a, "{\"span_id\":\"00f067aa0ba902b7\"}", 5, ops, &n), 0);
  assert_int_equal(mw__gg_add_op(a, NULL, 5, ops, &n), 0);
  assert_int_equal(mw__gg_add_op(a, "not json", 5, ops, &n), 0);
  assert_int_equal(n, 2);
  assert_string_equal(ops[0].name, "GET /a");
  assert_int_equal(ops[0].count, 5);
  assert_string_equal(ops[1].name, "GET /b");
  assert_int_equal(ops[1].count, 1);
  mw__arena_free(a);
}

/* ---- GC pressure ----------------------------------------------------------- */

/* The first 8 gc lines of tests/data/go1.26/runtime-stderr.log
 * (grep '^gc ' F | head -8), process start at 0. */
static const char GC_LINES[] =
    "gc 1 @0.005s 1%: 0.11+7.7+0.22 ms clock, 0.23+0.071/0.10/0+0.45 ms cpu, 3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB "
    "globals, 4 P\n"
    "gc 2 @0.043s 0%: 0.082+9.5+0.050 ms clock, 0.16+0.077/0.089/0+0.10 ms cpu, 7->7->7 MB, 7 MB goal, 0 MB stacks, 0 "
    "MB globals, 4 P\n"
    "gc 3 @0.101s 0%: 0.094+7.2+0.064 ms clock, 0.18+0.051/0.15/0+0.12 ms cpu, 15->15->15 MB, 15 MB goal, 0 MB "
    "stacks, 0 MB globals, 4 P\n"
    "gc 4 @0.157s 0%: 0.098+10+0.054 ms clock, 0.19+0.076/0.11/0+0.10 ms cpu, 30->31->15 MB, 31 MB goal, 0 MB "
    "stacks, 0 MB globals, 4 P\n"
    "gc 5 @0.233s 0%: 0.10+11+0.049 ms clock, 0.21+0.086/0.11/0+0.098 ms cpu, 29->34->34 MB, 30 MB goal, 0 MB "
    "stacks, 0 MB globals, 4 P\n"
    "gc 6 @0.306s 0%: 0.18+10+0.061 ms clock, 0.36+0.028/2.4/0+0.12 ms cpu, 64->68->7 MB, 69 MB goal, 0 MB stacks, "
    "0 MB globals, 4 P\n"
    "gc 7 @0.385s 0%: 0.18+9.7+0.073 ms clock, 0.37+0.016/3.1/0+0.14 ms cpu, 13->15->12 MB, 15 MB goal, 0 MB "
    "stacks, 0 MB globals, 4 P\n"
    "gc 8 @0.434s 0%: 0.19+14+0.071 ms clock, 0.39+4.7/1.6/0+0.14 ms cpu, 21->24->24 MB, 25 MB goal, 0 MB stacks, "
    "0 MB globals, 4 P\n";

#define MB ((double)(1 << 20))
#define near(x, want) assert_true(fabs((x) - (want)) <= 1e-9 * fabs(want) + 1e-12)

static void test_gc_pressure_real_lines(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(1 << 20);
  mw_runtime_text rt;
  assert_int_equal(mw__runtime_text_parse(a, GC_LINES, strlen(GC_LINES), NULL, &rt), MW_OK);
  assert_int_equal(rt.n_gc, 8);
  for (size_t i = 0; i < rt.n_gc; i++) rt.gc[i].start_ns = rt.gc[i].offset_ns;
  mw_gcp_point *p;
  size_t n;
  assert_int_equal(mw__gcp_points(a, rt.gc, rt.n_gc, 0, 200000000, &p, &n), MW_OK);
  /* [0, 200 ms): cycles 1-4 (@5, @43, @101, @157 ms); [200, 400): 5-7; [400, 600): 8 */
  assert_int_equal(n, 3);
  assert_int_equal(p[0].time_ns, 0);
  assert_int_equal(p[0].cycles, 4);
  /* GC CPU: sweep term + assist + background + mark term cpu:
   * 0.23+0.071+0.10+0.45 + 0.16+0.077+0.089+0.10 + 0.18+0.051+0.15+0.12 + 0.19+0.076+0.11+0.10
   * = 0.851 + 0.426 + 0.501 + 0.476 = 2.254 ms, over 200 ms x 4 P */
  near(p[0].gc_cpu, 2.254 / 800);
  /* assists 0.071+0.077+0.051+0.076 = 0.275 ms of 2.254 */
  near(p[0].assist_share, 0.275 / 2.254);
  /* pauses 0.11 0.22 0.082 0.050 0.094 0.064 0.098 0.054 ms, sorted
   * 0.050 0.054 0.064 0.082 | 0.094 0.098 0.11 0.22: the 4th and the 8th */
  assert_int_equal(p[0].pause_p50_ns, 82000);
  assert_int_equal(p[0].pause_p99_ns, 220000);
  assert_int_equal(p[0].heap_live, 15 << 20); /* gc 4: 30->31->15 MB, 31 MB goal */
  assert_int_equal(p[0].heap_goal, 31 << 20);
  /* allocation: gc 2: 7 - 3 (gc 1 live) = 4 MB, gc 3: 15 - 7 = 8, gc 4: 31 - 15 = 16;
   * 28 MB from the end of gc 1 (5 + 0.11+7.7+0.22 = 13.03 ms) to the end of gc 4
   * (157 + 0.098+10+0.054 = 167.152 ms): 154.122 ms */
  near(p[0].alloc_bytes_per_s, 28 * MB / 0.154122);

  assert_int_equal(p[1].time_ns, 200000000);
  assert_int_equal(p[1].cycles, 3);
  /* 0.21+0.086+0.11+0.098 + 0.36+0.028+2.4+0.12 + 0.37+0.016+3.1+0.14 = 0.504 + 2.908 + 3.626 = 7.038 ms */
  near(p[1].gc_cpu, 7.038 / 800);
  near(p[1].assist_share, (0.086 + 0.028 + 0.016) / 7.038);
  /* pauses 0.10 0.049 0.18 0.061 0.18 0.073: sorted 0.049 0.061 0.073 | 0.10 0.18 0.18 */
  assert_int_equal(p[1].pause_p50_ns, 73000);
  assert_int_equal(p[1].pause_p99_ns, 180000);
  assert_int_equal(p[1].heap_live, 12 << 20); /* gc 7: 13->15->12 MB, 15 MB goal */
  assert_int_equal(p[1].heap_goal, 15 << 20);
  /* gc 5: 34 - 15 = 19 MB, gc 6: 68 - 34 = 34, gc 7: 15 - 7 = 8: 61 MB from the end of gc 4
   * (167.152 ms) to the end of gc 7 (385 + 0.18+9.7+0.073 = 394.953 ms): 227.801 ms */
  near(p[1].alloc_bytes_per_s, 61 * MB / 0.227801);

  assert_int_equal(p[2].time_ns, 400000000);
  assert_int_equal(p[2].cycles, 1);
  near(p[2].gc_cpu, (0.39 + 4.7 + 1.6 + 0.14) / 800);
  near(p[2].assist_share, 4.7 / 6.83);
  assert_int_equal(p[2].pause_p50_ns, 71000); /* 0.071 and 0.19 ms: the 1st and the 2nd */
  assert_int_equal(p[2].pause_p99_ns, 190000);
  /* gc 8: 24 - 12 = 12 MB from 394.953 to 434 + 0.19+14+0.071 = 448.261 ms: 53.308 ms */
  near(p[2].alloc_bytes_per_s, 12 * MB / 0.053308);

  /* without its predecessor, a lone cycle gives no allocation rate */
  assert_int_equal(mw__gcp_points(a, &rt.gc[7], 1, 0, 200000000, &p, &n), MW_OK);
  assert_int_equal(n, 1);
  assert_true(p[0].alloc_bytes_per_s < 0);
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_key_profile_and_dump_agree), cmocka_unit_test(test_find),
      cmocka_unit_test(test_find_needs_three_snapshots), cmocka_unit_test(test_labels_to_operations),
      cmocka_unit_test(test_gc_pressure_real_lines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
