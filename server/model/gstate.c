/* Goroutine state normalisation. The runtime prints either a base state or a
 * wait reason in a goroutine header; those strings change between Go versions
 * (sync.Mutex.Lock appeared in 1.20, the (synctest)/(durable) channel variants
 * in 1.24/1.25, the leak detector's " (leaked)" mark in 1.26), so they are
 * mapped here onto a small fixed set that queries can group by. Formats that print no state at all (debug=1, pprof goroutine
 * profiles) get one inferred from the innermost frames of the stack.
 *
 * sync.WaitGroup.Wait is mapped to "cond", not "mutex": a WaitGroup waiter is
 * waiting for an event (the counter reaching zero, i.e. other goroutines
 * finishing), exactly like a sync.Cond waiter, and nobody holds anything it
 * wants. Calling it "mutex" would make a fan-out/fan-in look like lock
 * contention. The runtime before Go 1.25 reports WaitGroup waits as
 * "semacquire", which also covers Mutex waits, so the string alone stays
 * "mutex"; the goroutine decoder refines it with the stack (mw__gstate_infer
 * tells a WaitGroup from a Mutex by the caller of sync.runtime_Semacquire). */
#include "model/runtime.h"

#include <string.h>

static const char *const state_names[MW_G_NSTATES] = {
    [MW_G_RUNNING] = "running", [MW_G_RUNNABLE] = "runnable", [MW_G_SYSCALL] = "syscall",
    [MW_G_IO] = "io",           [MW_G_CHAN] = "chan",         [MW_G_SELECT] = "select",
    [MW_G_MUTEX] = "mutex",     [MW_G_SLEEP] = "sleep",       [MW_G_COND] = "cond",
    [MW_G_GC] = "gc",           [MW_G_IDLE] = "idle",         [MW_G_OTHER] = "other",
};

const char *mw__gstate_name(enum mw_gstate s) {
  if ((int)s < 0 || (int)s >= MW_G_NSTATES) return "other";
  return state_names[s];
}

struct reason_map {
  const char *text;
  enum mw_gstate state;
};

/* Every base state (gStatusStrings) and wait reason (waitReasonStrings) of Go
 * 1.19.8 and of the ~1.26 tree described in go-goroutine-dump.md. Choices that
 * are not obvious carry a comment. */
static const struct reason_map reasons[] = {
    /* base states */
    {"running", MW_G_RUNNING},
    {"runnable", MW_G_RUNNABLE},
    {"syscall", MW_G_SYSCALL},
    {"idle", MW_G_IDLE},     /* _Gidle: allocated, not yet initialised */
    {"waiting", MW_G_OTHER}, /* waiting without a reason: nothing to go on */
    {"dead", MW_G_OTHER},
    {"copystack", MW_G_RUNNING},  /* its own stack is being grown: it was running */
    {"preempted", MW_G_RUNNABLE}, /* both the base state and the wait reason */
    {"leaked", MW_G_OTHER},       /* _Gleaked without a wait reason */
    /* Go 1.19 wait reasons */
    {"GC assist marking", MW_G_GC},
    {"IO wait", MW_G_IO},
    {"chan receive (nil chan)", MW_G_CHAN},
    {"chan send (nil chan)", MW_G_CHAN},
    {"dumping heap", MW_G_OTHER}, /* debug.WriteHeapDump: a stop, but not the GC */
    {"garbage collection", MW_G_GC},
    {"garbage collection scan", MW_G_GC},
    {"panicwait", MW_G_OTHER},
    {"select", MW_G_SELECT},
    {"select (no cases)", MW_G_SELECT},
    {"GC assist wait", MW_G_GC},
    {"GC sweep wait", MW_G_GC},
    {"GC scavenge wait", MW_G_IDLE}, /* the background scavenger with nothing to return */
    {"chan receive", MW_G_CHAN},
    {"chan send", MW_G_CHAN},
    {"finalizer wait", MW_G_IDLE},
    {"force gc (idle)", MW_G_IDLE},
    {"semacquire", MW_G_MUTEX}, /* Mutex, RWMutex and (pre-1.25) WaitGroup: see top */
    {"sleep", MW_G_SLEEP},
    {"sync.Cond.Wait", MW_G_COND},
    {"timer goroutine (idle)", MW_G_IDLE},
    {"trace reader (blocked)", MW_G_OTHER}, /* a tracing tool, not the service's work */
    {"wait for GC cycle", MW_G_GC},
    {"GC worker (idle)", MW_G_GC},
    {"debug call", MW_G_OTHER},
    /* newer (1.20 - ~1.26) */
    {"sync.Mutex.Lock", MW_G_MUTEX},
    {"sync.RWMutex.RLock", MW_G_MUTEX},
    {"sync.RWMutex.Lock", MW_G_MUTEX},
    {"sync.WaitGroup.Wait", MW_G_COND},
    {"sync.WaitGroup.Wait (durable)", MW_G_COND},
    {"GC worker (active)", MW_G_GC},
    {"GC mark termination", MW_G_GC},
    {"GC weak to strong wait", MW_G_GC},
    {"flushing proc caches", MW_G_GC},  /* forEachP on behalf of mark termination */
    {"stopping the world", MW_G_OTHER}, /* any STW (ReadMemStats, GOMAXPROCS...), not only GC */
    {"page trace flush", MW_G_OTHER},
    {"trace goroutine status", MW_G_OTHER},
    {"trace proc status", MW_G_OTHER},
    {"coroutine", MW_G_CHAN},    /* iter.Pull: a synchronous hand-off, like an unbuffered chan */
    {"synctest.Run", MW_G_COND}, /* waiting for the bubble to go idle: an event */
    {"synctest.Wait", MW_G_COND},
    {"chan receive (synctest)", MW_G_CHAN},
    {"chan send (synctest)", MW_G_CHAN},
    {"select (synctest)", MW_G_SELECT},
    {"chan receive (durable)", MW_G_CHAN},
    {"chan send (durable)", MW_G_CHAN},
    {"select (durable)", MW_G_SELECT},
    {"cleanup wait", MW_G_IDLE}, /* the runtime.AddCleanup goroutine, like finalizer wait */
    {"GOMAXPROCS updater (idle)", MW_G_IDLE},
    {"unknown wait reason", MW_G_OTHER},
    {"???", MW_G_OTHER},
};

static int has_prefix(const char *s, const char *p) { return strncmp(s, p, strlen(p)) == 0; }

static int has_suffix(const char *s, const char *p) {
  size_t n = strlen(s), m = strlen(p);
  return n >= m && memcmp(s + n - m, p, m) == 0;
}

/* What the runtime appends to a wait reason in a header (Go 1.27's
 * goroutineheader): " (leaked)" for a goroutine the leak detector proved
 * blocked for good, " (durable)" for a wait only its testing/synctest bubble
 * can end (Go 1.24's experiment said " (synctest)"). The wait is the same
 * wait: the class is the reason's without them. */
static const char *const marks[] = {" (leaked)", " (durable)", " (synctest)"};

static int exact(const char *reason, size_t n, enum mw_gstate *out) {
  for (size_t i = 0; i < sizeof reasons / sizeof reasons[0]; i++)
    if (strlen(reasons[i].text) == n && memcmp(reason, reasons[i].text, n) == 0) {
      *out = reasons[i].state;
      return 1;
    }
  return 0;
}

enum mw_gstate mw__gstate_from_wait_reason(const char *reason) {
  if (!reason) return MW_G_OTHER;
  /* the whole text first: some reasons carry a mark in their own name
   * ("chan receive (durable)"); then without the marks, innermost last */
  enum mw_gstate st;
  size_t n = strlen(reason);
  for (;;) {
    if (exact(reason, n, &st)) return st;
    size_t i = 0;
    while (i < sizeof marks / sizeof marks[0] &&
           !(n > strlen(marks[i]) && memcmp(reason + n - strlen(marks[i]), marks[i], strlen(marks[i])) == 0))
      i++;
    if (i == sizeof marks / sizeof marks[0]) break;
    n -= strlen(marks[i]);
  }
  /* A reason from a runtime newer than the table: the families have kept their
   * leading words so far (chan receive (x), select (x), GC ...). */
  if (has_prefix(reason, "chan receive") || has_prefix(reason, "chan send")) return MW_G_CHAN;
  if (has_prefix(reason, "select")) return MW_G_SELECT;
  if (has_prefix(reason, "sync.Mutex") || has_prefix(reason, "sync.RWMutex")) return MW_G_MUTEX;
  if (has_prefix(reason, "sync.WaitGroup") || has_prefix(reason, "sync.Cond")) return MW_G_COND;
  if (has_prefix(reason, "IO wait")) return MW_G_IO;
  if (has_suffix(reason, "(idle)")) return MW_G_IDLE;
  if (has_prefix(reason, "GC ") || strstr(reason, "garbage collection")) return MW_G_GC;
  return MW_G_OTHER;
}

/* ---- inference from a stack ----------------------------------------------
 *
 * What the goroutine profile records: it stops the world and takes every
 * goroutine's stack from its saved context. A goroutine that is blocked was
 * parked by runtime.gopark, so its stack starts (leaf first) with gopark, the
 * runtime primitive that parked it (chanrecv, selectgo, semacquire1,
 * netpollblock, timeSleep...) and the library wrapper (sync.runtime_Semacquire*,
 * internal/poll.runtime_pollWait, time.Sleep...). A goroutine that was running
 * or runnable was preempted at an arbitrary PC, usually in user code. A
 * goroutine in a system call shows syscall.Syscall* (or runtime.cgocall) as
 * its leaf, because its context is saved on entering the call.
 *
 * The formats hide different parts of that: pprof (debug=0) keeps every frame;
 * debug=1 drops the leading runtime.* frames (so a chan receive shows only the
 * user frame that called <-ch, with no trace of the channel: that case cannot
 * be recognised from the symbols; the debug=1 decoder notices that frames were
 * hidden from the raw PC list and reports MW_G_OTHER instead of runnable);
 * debug=2 hides runtime frames but prints the state anyway.
 *
 * The rule: walk from the leaf. A frame found in the table below decides the
 * state (the first match wins, so the innermost primitive counts). Other
 * runtime.* frames are runtime internals: skip them, remembering whether a
 * parking function (gopark...) was among them. The first frame outside the
 * runtime that is not in the table ends the walk: the goroutine is MW_G_OTHER
 * if it had parked (blocked for a reason we do not know) and MW_G_RUNNABLE
 * otherwise -- under a stopped world a goroutine that was executing is
 * runnable, and "running" is kept for the goroutine taking the profile, which
 * is recognised by the profiler's own frames. */

enum match { EXACT, PREFIX };

struct func_map {
  const char *func;
  enum match how;
  enum mw_gstate state;
};

/* Sentinel state for sync.runtime_Semacquire: Mutex or WaitGroup, by caller. */
#define SEMA_BY_CALLER ((enum mw_gstate)MW_G_NSTATES)

static const struct func_map funcs[] = {
    /* the profiler itself */
    {"runtime/pprof.runtime_goroutineProfileWithLabels", EXACT, MW_G_RUNNING},
    {"runtime.goroutineProfileWithLabels", PREFIX, MW_G_RUNNING}, /* ...Concurrent, ...Sync */
    {"runtime/pprof.writeGoroutineStacks", EXACT, MW_G_RUNNING},
    {"runtime.GoroutineProfile", EXACT, MW_G_RUNNING},
    {"runtime.Stack", EXACT, MW_G_RUNNING},
    /* channels */
    {"runtime.chanrecv", EXACT, MW_G_CHAN},
    {"runtime.chanrecv1", EXACT, MW_G_CHAN},
    {"runtime.chanrecv2", EXACT, MW_G_CHAN},
    {"runtime.chansend", EXACT, MW_G_CHAN},
    {"runtime.chansend1", EXACT, MW_G_CHAN},
    {"runtime.coroswitch", EXACT, MW_G_CHAN},
    /* select */
    {"runtime.selectgo", EXACT, MW_G_SELECT},
    {"runtime.block", EXACT, MW_G_SELECT}, /* select {} */
    {"reflect.rselect", EXACT, MW_G_SELECT},
    {"runtime.reflect_rselect", EXACT, MW_G_SELECT},
    /* locks */
    {"sync.runtime_SemacquireMutex", EXACT, MW_G_MUTEX},
    {"sync.runtime_SemacquireRWMutexR", EXACT, MW_G_MUTEX},
    {"sync.runtime_SemacquireRWMutex", EXACT, MW_G_MUTEX},
    {"internal/sync.runtime_SemacquireMutex", EXACT, MW_G_MUTEX}, /* Go 1.24+ */
    {"sync.(*Mutex).Lock", EXACT, MW_G_MUTEX},
    {"sync.(*Mutex).lockSlow", EXACT, MW_G_MUTEX},
    {"internal/sync.(*Mutex).Lock", EXACT, MW_G_MUTEX},
    {"internal/sync.(*Mutex).lockSlow", EXACT, MW_G_MUTEX},
    {"sync.(*RWMutex).Lock", EXACT, MW_G_MUTEX},
    {"sync.(*RWMutex).RLock", EXACT, MW_G_MUTEX},
    {"sync.runtime_Semacquire", EXACT, SEMA_BY_CALLER},
    /* events */
    {"sync.runtime_SemacquireWaitGroup", EXACT, MW_G_COND}, /* Go 1.25+ */
    {"sync.(*WaitGroup).Wait", EXACT, MW_G_COND},
    {"sync.runtime_notifyListWait", EXACT, MW_G_COND},
    {"sync.(*Cond).Wait", EXACT, MW_G_COND},
    /* network poller */
    {"internal/poll.runtime_pollWait", EXACT, MW_G_IO},
    {"runtime.netpollblock", EXACT, MW_G_IO},
    {"internal/poll.(*pollDesc).wait", EXACT, MW_G_IO},
    /* timers */
    {"time.Sleep", EXACT, MW_G_SLEEP},
    {"runtime.timeSleep", EXACT, MW_G_SLEEP},
    /* system calls and cgo */
    {"syscall.Syscall", PREFIX, MW_G_SYSCALL}, /* Syscall, Syscall6, Syscall9 */
    {"syscall.RawSyscall", PREFIX, MW_G_SYSCALL},
    {"syscall.syscall", PREFIX, MW_G_SYSCALL}, /* darwin's libc trampolines */
    {"syscall.rawVforkSyscall", EXACT, MW_G_SYSCALL},
    {"runtime/internal/syscall.Syscall6", EXACT, MW_G_SYSCALL},
    {"internal/runtime/syscall.Syscall6", EXACT, MW_G_SYSCALL},
    {"internal/runtime/syscall/linux.Syscall6", EXACT, MW_G_SYSCALL},
    {"golang.org/x/sys/unix.Syscall", PREFIX, MW_G_SYSCALL},
    {"golang.org/x/sys/unix.RawSyscall", PREFIX, MW_G_SYSCALL},
    {"runtime.cgocall", EXACT, MW_G_SYSCALL},
    {"runtime.asmcgocall", EXACT, MW_G_SYSCALL},
    /* yields: back on a run queue */
    {"runtime.Gosched", EXACT, MW_G_RUNNABLE},
    {"runtime.goschedguarded", EXACT, MW_G_RUNNABLE},
    {"runtime.goschedImpl", EXACT, MW_G_RUNNABLE},
    {"runtime.gopreempt_m", EXACT, MW_G_RUNNABLE},
    {"runtime.goyield", EXACT, MW_G_RUNNABLE},
    /* the collector (only visible where runtime frames are kept) */
    {"runtime.gcParkAssist", EXACT, MW_G_GC},
    {"runtime.gcAssistAlloc", EXACT, MW_G_GC},
    {"runtime.gcBgMarkWorker", EXACT, MW_G_GC},
    {"runtime.bgsweep", EXACT, MW_G_GC},
    {"runtime.GC", EXACT, MW_G_GC},
    /* runtime helpers with nothing to do */
    {"runtime.bgscavenge", EXACT, MW_G_IDLE},
    {"runtime.runfinq", EXACT, MW_G_IDLE},
    {"runtime.runCleanups", EXACT, MW_G_IDLE},
    {"runtime.forcegchelper", EXACT, MW_G_IDLE},
    {"runtime.timerproc", EXACT, MW_G_IDLE},
};

/* Functions that park the calling goroutine (leaf of a blocked stack). */
static int is_park(const char *f) {
  return strcmp(f, "runtime.gopark") == 0 || strcmp(f, "runtime.goparkunlock") == 0 ||
         strcmp(f, "runtime.park_m") == 0 || strcmp(f, "runtime.mcall") == 0;
}

static int lookup(const char *f, enum mw_gstate *out) {
  for (size_t i = 0; i < sizeof funcs / sizeof funcs[0]; i++) {
    int hit = funcs[i].how == EXACT ? strcmp(f, funcs[i].func) == 0 : has_prefix(f, funcs[i].func);
    if (hit) {
      *out = funcs[i].state;
      return 1;
    }
  }
  return 0;
}

/* Runtime functions that mean the goroutine is doing or waiting for GC work,
 * wherever they stand among the leading runtime frames: a goroutine stopped
 * for a profile in the middle of an assist shows runtime.Gosched (a yield) on
 * top of gcAssistAlloc, and one waiting for a cycle to start shows a
 * semaphore on top of gcStart; both are the GC's time, not a yield or a lock. */
static int is_gc_machinery(const char *f) {
  static const char *const gc[] = {"runtime.gcAssistAlloc", "runtime.gcAssistAlloc1", "runtime.gcParkAssist",
                                   "runtime.gcStart",       "runtime.gcWaitOnMark",   "runtime.GC",
                                   "runtime.gcMarkDone",    "runtime.gcDrainN"};
  for (size_t i = 0; i < sizeof gc / sizeof gc[0]; i++)
    if (strcmp(f, gc[i]) == 0) return 1;
  return 0;
}

enum mw_gstate mw__gstate_infer(const mw_stack *stack) {
  if (!stack || stack->n_frames == 0 || !stack->frames) return MW_G_OTHER;
  for (size_t i = 0; i < stack->n_frames; i++) {
    const char *f = stack->frames[i].func ? stack->frames[i].func : "?";
    if (is_gc_machinery(f)) return MW_G_GC;
    if (!has_prefix(f, "runtime.")) break;
  }
  int parked = 0, any = 0;
  for (size_t i = 0; i < stack->n_frames; i++) {
    const char *f = stack->frames[i].func ? stack->frames[i].func : "?";
    enum mw_gstate s;
    if (strcmp(f, "runtime.goexit") == 0) continue; /* every stack's root: says nothing */
    any = 1;
    if (lookup(f, &s)) {
      if (s != SEMA_BY_CALLER) return s;
      /* WaitGroup.Wait is the only sync caller of the plain semaphore that is
       * an event wait; everything else acquiring it is a lock. */
      for (size_t j = i + 1; j < stack->n_frames && j <= i + 2; j++) {
        const char *caller = stack->frames[j].func ? stack->frames[j].func : "?";
        if (strcmp(caller, "sync.(*WaitGroup).Wait") == 0) return MW_G_COND;
      }
      return MW_G_MUTEX;
    }
    if (is_park(f)) {
      parked = 1;
      continue;
    }
    if (has_prefix(f, "runtime.")) continue;
    break;
  }
  if (!any) return MW_G_OTHER;
  return parked ? MW_G_OTHER : MW_G_RUNNABLE;
}
