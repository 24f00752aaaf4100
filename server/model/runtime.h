/* Go runtime records as the text decoders produce them: one GC cycle per
 * `gctrace=1` line, one scheduler sample per `schedtrace` summary line, and one
 * goroutine (or, for aggregated formats, one group of identical goroutines) per
 * dump record. Units are normalised here (ns, bytes) so that nothing downstream
 * needs to know how the runtime printed them. Strings and arrays point into the
 * decoder's arena. Also declares the goroutine state normalisation (gstate.c). */
#ifndef MW_MODEL_RUNTIME_H
#define MW_MODEL_RUNTIME_H
#include <stddef.h>
#include <stdint.h>

#include "model/stack.h"

/* One `gc N @S.SSSs P%: ...` line (Go 1.18+ format, or the <= 1.17 one without
 * stacks/globals). */
typedef struct mw_gc_cycle {
  int64_t n;         /* cycle number, 1-based */
  int64_t offset_ns; /* `@S.SSSs`: cycle start since process start */
  int64_t stamp_ns;  /* receive stamp (unix ns) of the line, or 0 */
  int64_t start_ns;  /* absolute start (unix ns); 0 until the caller aligns it */
  int cpu_percent;   /* GC CPU since process start, truncated percent */
  /* wall clock of the three phases */
  int64_t stw_sweep_term_ns;
  int64_t concurrent_mark_ns;
  int64_t stw_mark_term_ns;
  /* CPU time: STW sweep termination, mark assist/background/idle, STW mark termination */
  int64_t stw1_cpu_ns;
  int64_t assist_cpu_ns;
  int64_t background_cpu_ns;
  int64_t idle_cpu_ns;
  int64_t stw2_cpu_ns;
  /* bytes (the runtime prints truncated MiB; these are MiB << 20) */
  int64_t heap_before; /* heap at GC start */
  int64_t heap_after;  /* heap at mark termination */
  int64_t heap_live;   /* heap marked live */
  int64_t goal;
  int64_t stacks;  /* -1: pre-1.18 line without the field */
  int64_t globals; /* -1: pre-1.18 line without the field */
  int procs;       /* GOMAXPROCS for the cycle */
  int forced;      /* ` (forced)`: runtime.GC() or debug.FreeOSMemory() */
} mw_gc_cycle;

/* One `SCHED Tms: ...` summary line. */
typedef struct mw_sched_sample {
  int64_t offset_ns; /* `SCHED Tms`: since the first schedtrace (~process start) */
  int64_t stamp_ns;  /* receive stamp (unix ns), or 0 */
  int64_t gomaxprocs;
  int64_t idleprocs;
  int64_t threads;
  int64_t spinningthreads;
  int64_t needspinning; /* -1 when the runtime does not print it (Go 1.19) */
  int64_t idlethreads;
  int64_t runqueue;     /* global run queue length */
  uint32_t *local_runq; /* per-P local run queue lengths, P order; at most
                                 the decoder's max_procs are kept */
  size_t n_local_runq;
  int64_t local_runq_sum; /* sum over every P printed (also the ones not kept);
                                 -1 when the line had no list (scheddetail=1) */
  int detailed;           /* scheddetail=1 summary (no bracket list) */
} mw_sched_sample;

/* Normalised goroutine state. Keep in sync with mw__gstate_name(). */
enum mw_gstate {
  MW_G_RUNNING,
  MW_G_RUNNABLE,
  MW_G_SYSCALL,
  MW_G_IO,   /* network poller: IO wait */
  MW_G_CHAN, /* channel send/receive */
  MW_G_SELECT,
  MW_G_MUTEX, /* sync.Mutex / RWMutex / semaphore contention */
  MW_G_SLEEP, /* time.Sleep */
  MW_G_COND,  /* waiting for an event: sync.Cond, sync.WaitGroup */
  MW_G_GC,    /* held up by or working for the garbage collector */
  MW_G_IDLE,  /* runtime helper goroutines with nothing to do */
  MW_G_OTHER, /* unknown, dead, or a wait we cannot classify */
};
enum { MW_G_NSTATES = MW_G_OTHER + 1 };

/* One goroutine (debug=2 / traceback) or one group of goroutines sharing a
 * stack and label set (debug=1). */
typedef struct mw_goroutine {
  int64_t id; /* goroutine id; 0 when unknown (aggregated formats) */
  enum mw_gstate state;
  const char *wait_reason; /* status as printed ("chan receive", "running"), or NULL */
  int64_t wait_minutes;    /* `, N minutes`; -1 when not printed */
  int locked_to_thread;    /* `, locked to thread` */
  int scan;                /* ` (scan)`: the GC was scanning the stack */
  int stack_unavailable;   /* `goroutine running on other thread; stack unavailable` */
  mw_stack stack;
  const mw_frame *created_by; /* `created by F` and its location, or NULL */
  int64_t creator_id;         /* `in goroutine N` (Go 1.21+); 0 when absent */
  int64_t count;              /* 1, or the record count for debug=1 */
  mw_label *labels;           /* pprof labels (debug=1 `# labels:`, Go 1.26+ headers) */
  size_t n_labels;
} mw_goroutine;

/* Lowercase static name of a state ("running", ..., "other"); "other" for
 * values out of range. */
const char *mw__gstate_name(enum mw_gstate s);

/* Maps a status as printed inside a goroutine header's brackets (a base state
 * or a wait reason, Go 1.19 through 1.27, with or without the runtime's
 * " (leaked)" / " (durable)" marks) to a normalised state. NULL or an unknown
 * string yields MW_G_OTHER. */
enum mw_gstate mw__gstate_from_wait_reason(const char *reason);

/* Infers the state of a goroutine from its stack alone (leaf first), for
 * formats that print none (debug=1, pprof goroutine profiles). See gstate.c for
 * the rule; an empty or NULL stack yields MW_G_OTHER. */
enum mw_gstate mw__gstate_infer(const mw_stack *stack);

#endif
