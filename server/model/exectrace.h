/* An execution trace as meanwhiled keeps it: what meanwhile-exectrace read
 * from one Go execution trace (schema/meanwhile/exectrace/v1/records.proto),
 * made compact for the store. Each goroutine's intervals and wake edges are
 * one blob (decode/exectrace_blob.h); the spans it ran are indexed apart so
 * that a span finds its goroutines without opening every blob. Everything
 * lives in the request's arena (ingest) or the query's (reads). */
#ifndef MW_MODEL_EXECTRACE_H
#define MW_MODEL_EXECTRACE_H
#include <stddef.h>
#include <stdint.h>

#include "model/runtime_batch.h"

/* Records.State, by number. */
enum mw_xt_state {
  MW_XT_RUNNING = 1,
  MW_XT_RUNNABLE = 2,
  MW_XT_BLOCKED = 3,
  MW_XT_SYSCALL = 4,
  MW_XT_GC_ASSIST = 5,
  MW_XT_STOPPED = 6,
  MW_XT_STATE_MAX = 6
};

/* One state of one goroutine over [start_ns, end_ns). stack and span are
 * local to the trace: stack is the reader's id (mw_exectrace_batch.stack_ids),
 * span i (>= 1) is .spans[i - 1]; 0 is none. */
/* mw_xt_interval.clipped: the trace does not show where the state began (it
 * was so at the trace's first event) or ended (still so at its last). */
enum { MW_XT_CLIPPED_START = 1, MW_XT_CLIPPED_END = 2 };

typedef struct mw_xt_interval {
  uint8_t state;          /* enum mw_xt_state */
  uint8_t clipped;        /* MW_XT_CLIPPED_* */
  const char *reason;     /* "" unless blocked */
  const char *raw_reason; /* the runtime's words, "" when none */
  int64_t start_ns, end_ns;
  uint32_t stack, span;
} mw_xt_interval;

/* The goroutine (the blob's) was made runnable at time_ns by waker (0: not a
 * goroutine). */
typedef struct mw_xt_wake {
  uint64_t waker;
  int64_t time_ns;
  uint32_t waker_stack, waker_span, span;
} mw_xt_wake;

/* One goroutine of a trace: its blob and what the index keeps of it. */
typedef struct mw_xt_goroutine {
  uint64_t goroutine;
  int64_t first_ns, last_ns; /* of its intervals and wakes */
  uint32_t n_intervals, n_wakes;
  const uint8_t *blob;
  size_t blob_len;
} mw_xt_goroutine;

/* A span goroutines of the trace ran. */
typedef struct mw_xt_span {
  int has_trace;
  uint8_t trace_id[16], span_id[8];
  const char *name;
} mw_xt_span;

/* The span index: goroutine ran span (local ref, >= 1) between first_ns and
 * last_ns (the earliest start and latest end of its intervals with that span,
 * and of wakes that name it). */
typedef struct mw_xt_span_run {
  uint32_t span;
  uint64_t goroutine;
  int64_t first_ns, last_ns;
} mw_xt_span_run;

/* Records.Alignment, by number. */
enum mw_xt_alignment { MW_XT_ALIGN_CLOCK_SNAPSHOT = 1, MW_XT_ALIGN_CAPTURE_TIME = 2, MW_XT_ALIGN_NONE = 3 };

typedef struct mw_exectrace_batch {
  const char *trigger; /* or NULL */
  int64_t capture_ns, received_ns;
  int64_t start_ns, end_ns;
  int alignment; /* enum mw_xt_alignment; 0 unknown */
  int64_t clock_error_ns;
  const char *go_version; /* "" when unknown */
  uint64_t events;
  uint32_t generations;
  size_t n_intervals, n_wakes;
  const uint8_t *raw; /* zstd of the trace exactly as pushed (after Content-Encoding) */
  size_t raw_len, raw_bytes;
  const uint8_t *windows; /* zstd of the JSON [{"kind":"gc","start_ns":..,"end_ns":..},...] */
  size_t windows_len;
  mw_stack_text *stacks; /* stack_ids[i] (the reader's id, >= 1) is stacks[i] */
  uint32_t *stack_ids;
  size_t n_stacks;
  mw_xt_span *spans;
  size_t n_spans;
  mw_xt_goroutine *goroutines; /* ascending goroutine id */
  size_t n_goroutines;
  mw_xt_span_run *runs; /* by span, then goroutine */
  size_t n_runs;
  const uint8_t *span_ids; /* the spans and runs as stored (decode/exectrace_blob.h) */
  size_t span_ids_len;
  const uint8_t *span_blob;
  size_t span_blob_len;
  size_t stored_bytes; /* raw + blobs + the index rows, as the store will hold them (about) */

  int64_t id; /* filled by the writer */
} mw_exectrace_batch;

/* Names of states and alignments, for JSON ("running", "clock_snapshot"); "" when out of range. */
const char *mw__xt_state_name(int state);
const char *mw__xt_alignment_name(int alignment);

#endif
