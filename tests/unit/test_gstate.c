/* Tests for goroutine state normalisation (model/gstate.c): every base state
 * and wait reason listed in go-goroutine-dump.md section 3 (Go 1.19.8 and the
 * ~1.26 list), the marks Go 1.27 appends ((leaked), (durable)), the
 * fallbacks for reasons newer than the table, and inference
 * from stacks shaped like what each format shows: pprof (all frames, leaf
 * first, runtime.gopark on top), debug=2/debug=1 (leading runtime frames
 * hidden), with the fixture's own frames where it has them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "model/runtime.h"

static void test_names(void **state) {
  static const char *const want[] = {"running", "runnable", "syscall", "io", "chan", "select",
                                     "mutex",   "sleep",    "cond",    "gc", "idle", "other"};
  assert_int_equal(MW_G_NSTATES, 12);
  for (int s = 0; s < MW_G_NSTATES; s++) assert_string_equal(mw__gstate_name((enum mw_gstate)s), want[s]);
  assert_string_equal(mw__gstate_name((enum mw_gstate)99), "other");
  assert_string_equal(mw__gstate_name((enum mw_gstate) - 1), "other");
}

struct rcase {
  const char *reason;
  enum mw_gstate want;
};

static void check_reasons(const struct rcase *c, size_t n) {
  for (size_t i = 0; i < n; i++) {
    enum mw_gstate got = mw__gstate_from_wait_reason(c[i].reason);
    if (got != c[i].want)
      fail_msg("\"%s\": got %s, want %s", c[i].reason, mw__gstate_name(got), mw__gstate_name(c[i].want));
  }
}

static void test_base_states(void **state) {
  static const struct rcase c[] = {
      {"running", MW_G_RUNNING}, {"runnable", MW_G_RUNNABLE}, {"syscall", MW_G_SYSCALL},   {"idle", MW_G_IDLE},
      {"waiting", MW_G_OTHER},   {"dead", MW_G_OTHER},        {"copystack", MW_G_RUNNING}, {"preempted", MW_G_RUNNABLE},
      {"leaked", MW_G_OTHER},    {"???", MW_G_OTHER},
  };
  check_reasons(c, sizeof c / sizeof c[0]);
}

static void test_go119_reasons(void **state) {
  /* go-goroutine-dump.md section 3, the Go 1.19.8 waitReasonStrings block */
  static const struct rcase c[] = {
      {"GC assist marking", MW_G_GC},
      {"IO wait", MW_G_IO},
      {"chan receive (nil chan)", MW_G_CHAN},
      {"chan send (nil chan)", MW_G_CHAN},
      {"dumping heap", MW_G_OTHER},
      {"garbage collection", MW_G_GC},
      {"garbage collection scan", MW_G_GC},
      {"panicwait", MW_G_OTHER},
      {"select", MW_G_SELECT},
      {"select (no cases)", MW_G_SELECT},
      {"GC assist wait", MW_G_GC},
      {"GC sweep wait", MW_G_GC},
      {"GC scavenge wait", MW_G_IDLE},
      {"chan receive", MW_G_CHAN},
      {"chan send", MW_G_CHAN},
      {"finalizer wait", MW_G_IDLE},
      {"force gc (idle)", MW_G_IDLE},
      {"semacquire", MW_G_MUTEX},
      {"sleep", MW_G_SLEEP},
      {"sync.Cond.Wait", MW_G_COND},
      {"timer goroutine (idle)", MW_G_IDLE},
      {"trace reader (blocked)", MW_G_OTHER},
      {"wait for GC cycle", MW_G_GC},
      {"GC worker (idle)", MW_G_GC},
      {"preempted", MW_G_RUNNABLE},
      {"debug call", MW_G_OTHER},
  };
  assert_int_equal(sizeof c / sizeof c[0], 26); /* the spec's block lists 26 */
  check_reasons(c, sizeof c / sizeof c[0]);
}

static void test_newer_reasons(void **state) {
  /* go-goroutine-dump.md section 3, the table of reasons after 1.19 */
  static const struct rcase c[] = {
      {"sync.Mutex.Lock", MW_G_MUTEX},
      {"sync.RWMutex.RLock", MW_G_MUTEX},
      {"sync.RWMutex.Lock", MW_G_MUTEX},
      {"GC worker (active)", MW_G_GC},
      {"page trace flush", MW_G_OTHER},
      {"GC mark termination", MW_G_GC},
      {"stopping the world", MW_G_OTHER},
      {"flushing proc caches", MW_G_GC},
      {"trace goroutine status", MW_G_OTHER},
      {"trace proc status", MW_G_OTHER},
      {"coroutine", MW_G_CHAN},
      {"GC weak to strong wait", MW_G_GC},
      {"synctest.Run", MW_G_COND},
      {"synctest.Wait", MW_G_COND},
      {"chan receive (synctest)", MW_G_CHAN},
      {"chan send (synctest)", MW_G_CHAN},
      {"select (synctest)", MW_G_SELECT},
      {"chan receive (durable)", MW_G_CHAN},
      {"chan send (durable)", MW_G_CHAN},
      {"select (durable)", MW_G_SELECT},
      {"sync.WaitGroup.Wait", MW_G_COND},
      {"sync.WaitGroup.Wait (durable)", MW_G_COND},
      {"cleanup wait", MW_G_IDLE},
      {"GOMAXPROCS updater (idle)", MW_G_IDLE},
      {"unknown wait reason", MW_G_OTHER},
  };
  check_reasons(c, sizeof c / sizeof c[0]);
}

static void test_unknown_reasons(void **state) {
  static const struct rcase c[] = {
      /* families keep their leading words */
      {"chan receive (future)", MW_G_CHAN},
      {"select (future)", MW_G_SELECT},
      {"sync.Mutex.TryLockSlow", MW_G_MUTEX},
      {"sync.WaitGroup.Go", MW_G_COND},
      {"GC something new", MW_G_GC},
      {"profiler (idle)", MW_G_IDLE},
      /* nothing to go on */
      {"", MW_G_OTHER},
      {"Running", MW_G_OTHER}, /* case matters: the runtime prints lowercase */
      {"something else", MW_G_OTHER},
  };
  check_reasons(c, sizeof c / sizeof c[0]);
  assert_int_equal(mw__gstate_from_wait_reason(NULL), MW_G_OTHER);
}

static void test_marked_reasons(void **state) {
  /* Go 1.27's goroutineheader (runtime/traceback.go) appends " (leaked)" to
   * a goroutine the leak detector proved blocked, and " (durable)" to a
   * bubbled goroutine's wait that isIdleInSynctest lists, unless the name
   * already ends so; the wait is the same: the reason's class */
  static const struct rcase c[] = {
      {"sleep (durable)", MW_G_SLEEP},
      {"sync.Cond.Wait (durable)", MW_G_COND},
      {"synctest.Run (durable)", MW_G_COND},
      {"synctest.Wait (durable)", MW_G_COND},
      {"coroutine (durable)", MW_G_CHAN},
      {"chan receive (nil chan) (durable)", MW_G_CHAN},
      {"select (no cases) (durable)", MW_G_SELECT},
      {"chan receive (durable)", MW_G_CHAN},
      {"sleep (synctest)", MW_G_SLEEP},
      {"chan receive (leaked)", MW_G_CHAN},
      {"semacquire (leaked)", MW_G_MUTEX},
      {"sync.WaitGroup.Wait (leaked)", MW_G_COND},
      {"IO wait (leaked)", MW_G_IO},
      {"chan receive (durable) (leaked)", MW_G_CHAN},
      {"sleep (leaked) (durable)", MW_G_SLEEP},
      {"leaked (leaked)", MW_G_OTHER}, /* _Gleaked without a reason */
      {" (leaked)", MW_G_OTHER},
      {"(durable)", MW_G_OTHER},
  };
  check_reasons(c, sizeof c / sizeof c[0]);
}

/* ---- inference -------------------------------------------------------------- */

#define MAXF 8
static enum mw_gstate infer(const char *const *funcs) {
  mw_frame fr[MAXF];
  size_t n = 0;
  for (; funcs[n]; n++) fr[n] = (mw_frame){.func = funcs[n], .file = "?", .line = 0};
  mw_stack st = {.frames = fr, .n_frames = n};
  return mw__gstate_infer(&st);
}
#define INFER(...) infer((const char *const[]){__VA_ARGS__, NULL})

static void test_infer_pprof_stacks(void **state) {
  /* every frame kept, as in a debug=0 goroutine profile */
  assert_int_equal(
      INFER("runtime.gopark", "runtime.chanrecv", "runtime.chanrecv1", "main.main", "runtime.main", "runtime.goexit"),
      MW_G_CHAN);
  assert_int_equal(INFER("runtime.gopark", "runtime.chansend", "runtime.chansend1", "main.f"), MW_G_CHAN);
  assert_int_equal(INFER("runtime.gopark", "runtime.selectgo", "net/http/pprof.sleep"), MW_G_SELECT);
  assert_int_equal(INFER("runtime.gopark", "runtime.block", "main.main"), MW_G_SELECT);
  assert_int_equal(INFER("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1",
                         "sync.runtime_SemacquireMutex", "sync.(*Mutex).lockSlow", "sync.(*Mutex).Lock", "main.f"),
                   MW_G_MUTEX);
  assert_int_equal(INFER("runtime.gopark", "runtime.semacquire1", "sync.runtime_SemacquireRWMutexR",
                         "sync.(*RWMutex).RLock", "main.f"),
                   MW_G_MUTEX);
  /* the plain semaphore: WaitGroup (event) or anything else (lock) */
  assert_int_equal(
      INFER("runtime.gopark", "runtime.semacquire1", "sync.runtime_Semacquire", "sync.(*WaitGroup).Wait", "main.f"),
      MW_G_COND);
  assert_int_equal(
      INFER("runtime.gopark", "runtime.semacquire1", "sync.runtime_Semacquire", "example.com/x.(*Pool).Get"),
      MW_G_MUTEX);
  assert_int_equal(
      INFER("runtime.gopark", "runtime.semacquire1", "sync.runtime_SemacquireWaitGroup", "sync.(*WaitGroup).Wait"),
      MW_G_COND);
  assert_int_equal(
      INFER("runtime.gopark", "runtime.goparkunlock", "sync.runtime_notifyListWait", "sync.(*Cond).Wait", "main.f"),
      MW_G_COND);
  assert_int_equal(INFER("runtime.gopark", "runtime.netpollblock", "internal/poll.runtime_pollWait",
                         "internal/poll.(*pollDesc).wait"),
                   MW_G_IO);
  assert_int_equal(INFER("runtime.gopark", "time.Sleep", "main.main.func2"), MW_G_SLEEP);
  assert_int_equal(INFER("runtime.gopark", "runtime.timeSleep", "main.f"), MW_G_SLEEP);
  assert_int_equal(INFER("syscall.Syscall", "syscall.read", "syscall.Read"), MW_G_SYSCALL);
  assert_int_equal(INFER("internal/runtime/syscall.Syscall6", "syscall.Syscall"), MW_G_SYSCALL);
  assert_int_equal(INFER("runtime.cgocall", "main._Cfunc_sleep"), MW_G_SYSCALL);
  assert_int_equal(
      INFER("runtime.gopark", "runtime.gcParkAssist", "runtime.gcAssistAlloc", "runtime.mallocgc", "main.f"), MW_G_GC);
  /* an assist interrupted by the profile's stop-the-world yields (Gosched on
   * top), one waiting for a cycle to start waits on a semaphore: GC time both */
  assert_int_equal(INFER("runtime.Gosched", "runtime.gcAssistAlloc", "runtime.mallocgc", "main.f"), MW_G_GC);
  assert_int_equal(INFER("runtime.gopark", "runtime.goparkunlock", "runtime.semacquire1", "runtime.semacquire",
                         "runtime.gcStart", "runtime.mallocgc", "main.f"),
                   MW_G_GC);
  assert_int_equal(INFER("runtime.gopark", "runtime.runfinq", "runtime.goexit"), MW_G_IDLE);
  assert_int_equal(INFER("runtime.goschedImpl", "runtime.gosched_m", "runtime.mcall", "runtime.Gosched", "main.f"),
                   MW_G_RUNNABLE);
  /* parked, but by something we do not know */
  assert_int_equal(INFER("runtime.gopark", "runtime.somethingNew", "main.f"), MW_G_OTHER);
  /* the profiler itself */
  assert_int_equal(INFER("runtime.goroutineProfileWithLabels", "runtime/pprof.runtime_goroutineProfileWithLabels",
                         "runtime/pprof.writeRuntimeProfile"),
                   MW_G_RUNNING);
  /* preempted in user code or in a runtime helper it called */
  assert_int_equal(INFER("main.spin", "main.handle"), MW_G_RUNNABLE);
  assert_int_equal(INFER("runtime.memmove", "runtime.growslice", "main.f"), MW_G_RUNNABLE);
}

static void test_infer_debug1_stacks(void **state) {
  /* first printed frames of the records in
   * goroutines-debug1-1795334482789324499.txt (awk -F'\t+' '/^#\t/{print $3}') */
  assert_int_equal(INFER("runtime/pprof.runtime_goroutineProfileWithLabels", "runtime/pprof.writeRuntimeProfile"),
                   MW_G_RUNNING);
  assert_int_equal(
      INFER("internal/poll.runtime_pollWait", "internal/poll.(*pollDesc).wait", "internal/poll.(*pollDesc).waitRead"),
      MW_G_IO);
  assert_int_equal(INFER("time.Sleep", "main.handle.func1.1", "main.child.func1"), MW_G_SLEEP);
  assert_int_equal(INFER("time.Since", "main.spin", "main.handle.func1.2"), MW_G_RUNNABLE);
  /* chan receive with its runtime frames hidden: nothing in the symbols says
   * so (the debug=1 decoder uses the raw PCs to call it "other") */
  assert_int_equal(INFER("main.main", "runtime.main"), MW_G_RUNNABLE);
  /* debug=2 also hides runtime frames: syscall.Syscall as the leaf of the
   * [runnable] goroutine 214 of goroutines-debug2-1795334477640078162.txt */
  assert_int_equal(INFER("syscall.Syscall", "syscall.read", "syscall.Read", "internal/poll.ignoringEINTRIO"),
                   MW_G_SYSCALL);
}

static void test_infer_empty(void **state) {
  assert_int_equal(mw__gstate_infer(NULL), MW_G_OTHER);
  mw_stack st = {0};
  assert_int_equal(mw__gstate_infer(&st), MW_G_OTHER);
  assert_int_equal(INFER("runtime.goexit"), MW_G_OTHER);
  mw_frame f = {.func = NULL, .file = NULL, .line = 0}; /* defensive: NULL names */
  st = (mw_stack){.frames = &f, .n_frames = 1};
  assert_int_equal(mw__gstate_infer(&st), MW_G_RUNNABLE);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_names),
      cmocka_unit_test(test_base_states),
      cmocka_unit_test(test_go119_reasons),
      cmocka_unit_test(test_newer_reasons),
      cmocka_unit_test(test_unknown_reasons),
      cmocka_unit_test(test_marked_reasons),
      cmocka_unit_test(test_infer_pprof_stacks),
      cmocka_unit_test(test_infer_debug1_stacks),
      cmocka_unit_test(test_infer_empty),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
