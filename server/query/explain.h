/* Explanation: where a trace's time went, span by span, with evidence.
 * The method is in docs/CORRELATION.md; the JSON contract in docs/API.md.
 *
 * A pipeline of steps over the plain structs of this header:
 *
 *   gather (explain_gather.c, the only step that reads the store)
 *     -> mw_explain_input: spans with their tree, samples and goroutines,
 *        the goroutines execution traces recorded running them (with chains),
 *        each source's GC cycles and CPU-profile windows, and the operations
 *        whose slow spans stand in for spans no snapshot caught
 *   for each span, children before parents (explain.c runs the steps):
 *     timing    (explain_timing.c)    children union and self intervals
 *     breakdown (explain_breakdown.c) accountants claim the self time: mw_cause
 *                                     claims, each with typed evidence (the
 *                                     execution trace's: explain_trace.c)
 *     causes    (explain_causes.c)    claims merged per kind, filtered, ranked
 *   summary   (explain_summary.c)     the trace's sentence
 *   render    (explain_json.c)        the only code that writes the JSON
 *
 * Every step but gather is a function of its inputs (explain_steps.h). */
#ifndef MW_QUERY_EXPLAIN_H
#define MW_QUERY_EXPLAIN_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/jsonw.h"
#include "query/query.h"

/* --- the answer ----------------------------------------------------------------- */

enum mw_block_kind {
  MW_B_MUTEX,
  MW_B_CHAN,
  MW_B_SELECT,
  MW_B_IO,
  MW_B_SLEEP,
  MW_B_SYSCALL,
  MW_B_COND,
  MW_B_OTHER,
  MW_B_N
};

/* What a cause says the time was. The blocked kinds follow mw_block_kind
 * from MW_K_MUTEX on; names are the contract's (mw__cause_kind_name). */
enum mw_cause_kind {
  MW_K_CPU,
  MW_K_GC_STW,
  MW_K_GC_ASSIST,
  MW_K_MUTEX, /* + mw_block_kind ... */
  MW_K_OTHER = MW_K_MUTEX + MW_B_OTHER,
  MW_K_RUNNABLE,
  MW_K_CHILDREN,
  MW_K_UNKNOWN,
  MW_K_N
};
const char *mw__cause_kind_name(enum mw_cause_kind k);

/* Whose observation a cause rests on: the span's own samples, the slow spans
 * of its operation (docs/CORRELATION.md, "Operation scope"), or an execution
 * trace that recorded the span's goroutine ("Exact explanations"). */
enum mw_scope { MW_SCOPE_SPAN, MW_SCOPE_OPERATION, MW_SCOPE_TRACE };

/* One piece of evidence: data until explain_json.c writes it. Strings and
 * ids point into the request's arena (the stored rows). */
enum mw_evidence_type {
  MW_EV_SPAN,             /* the slowest child span */
  MW_EV_GC_CYCLE,         /* a GC cycle whose stop-the-world overlapped the span */
  MW_EV_CPU_SAMPLES,      /* the samples of one stack, or all those in one function */
  MW_EV_CPU_PROFILE,      /* a CPU profile the samples came from */
  MW_EV_GOROUTINE_SAMPLE, /* goroutines of a stack found by one snapshot */
  MW_EV_OBSERVATIONS,     /* how many snapshots a goroutine-state figure rests on */
  MW_EV_REASON,           /* why something is unknown */
  MW_EV_EXECTRACE,        /* a stored execution trace a claim rests on */
  MW_EV_INTERVAL,         /* one interval of a goroutine in such a trace */
  MW_EV_CHAIN,            /* who woke a wait, and what that one waited for */
};

struct mw_ex_link;

typedef struct mw_evidence {
  enum mw_evidence_type type;
  union {
    struct {
      const uint8_t *span_id; /* 8 bytes */
      const char *name, *service;
      int64_t dur_ns;
      int top_cause; /* its top cause (enum mw_cause_kind), -1 when it has none */
    } span;
    struct {
      int64_t n, start_ns, stw_overlap_ns, heap_before, goal;
    } gc;
    struct {
      const char *frames;   /* a stack, "func\tfile:line\n" leaf first; or NULL and: */
      const char *function; /* every sample with this function on its stack */
      int64_t samples, cpu_ns;
    } cpu;
    struct {
      int64_t snapshot_id, at_ns, dur_ns;
    } profile;
    struct {
      int64_t snapshot_id, at_ns, goroutines, stack_id;
      const char *state, *wait_reason, *frames; /* wait_reason may be NULL */
    } goroutine;
    struct {
      size_t snapshots, spans; /* spans: 0 for the span's own snapshots */
      double fraction;
      const char *note; /* or NULL */
    } obs;
    struct {
      const char *text;
    } reason;
    struct {
      int64_t id, start_ns, end_ns, covered_ns;
      int alignment; /* enum mw_xt_alignment */
    } xtrace;
    struct {
      int64_t exectrace_id, start_ns, end_ns, ns; /* ns: the part in the span's self time */
      uint64_t goroutine;
      int state;                                /* enum mw_xt_state */
      const char *reason, *raw_reason, *frames; /* "" when none; frames NULL when unknown */
    } interval;
    struct {
      const struct mw_ex_link *links;
      size_t n_links;
    } chain;
  } u;
} mw_evidence;

/* A cause: time one accountant claims (a claim), or the claims of one kind
 * merged (a cause of the answer). */
typedef struct mw_cause {
  enum mw_cause_kind kind;
  int64_t ns;
  double share;      /* ns of the span's duration (set by the causes step) */
  double confidence; /* 0..1 */
  enum mw_scope scope;
  const char *summary;
  const mw_evidence *evidence;
  size_t n_evidence;
} mw_cause;

typedef struct mw_breakdown {
  int64_t cpu_ns, gc_stw_ns, gc_assist_ns, runnable_ns, unknown_ns;
  int64_t blocked_ns[MW_B_N];
} mw_breakdown;

typedef struct mw_span_explain {
  const mw_stored_span *span;
  const char *service;
  int parent; /* index in the trace's spans, -1 for none */
  int64_t self_ns, children_ns;
  mw_breakdown b;
  mw_cause *causes; /* ranked: share, largest first, then kind name */
  size_t n_causes;
} mw_span_explain;

typedef struct mw_trace_explain {
  uint8_t trace_id[16];
  int64_t start_ns, end_ns;
  mw_span_explain *spans; /* in the input's order (by start time) */
  size_t n_spans;
  const char *summary;
} mw_trace_explain;

/* --- what the explanation is made of (the gather step's output) ------------------ */

/* CPU samples of one stack labelled with a span, in one profile. */
typedef struct mw_ex_cpu_row {
  int64_t snapshot_id, at_ns, dur_ns; /* the profile's window as it states it */
  const char *frames;
  int64_t samples; /* at least 1 */
  int64_t cpu_ns;  /* the samples' CPU time */
} mw_ex_cpu_row;

/* Goroutines with one stack and state that one snapshot found. */
typedef struct mw_ex_goroutines {
  int64_t snapshot_id, at_ns;
  const char *state;       /* as model/gstate.c names it */
  const char *wait_reason; /* or NULL */
  int64_t count, stack_id;
  const char *frames;
  size_t span; /* operation scope: which of the similar spans */
} mw_ex_goroutines;

typedef struct mw_ex_window {
  int64_t at_ns, dur_ns;
} mw_ex_window;

/* A source (service instance) of the trace's spans. */
typedef struct mw_ex_source {
  int64_t id;
  const mw_gc_cycle *gc; /* cycles that may overlap the trace, oldest first */
  size_t n_gc;
  const mw_ex_window *cpu; /* CPU profiles that may cover the trace */
  size_t n_cpu;
} mw_ex_source;

/* An operation whose slow spans stand in for spans that no snapshot caught. */
typedef struct mw_ex_op {
  int64_t op_id;
  int64_t count, p90_ns;        /* the similar spans found, and their p90 */
  const mw_ex_goroutines *rows; /* of the slowest of them: by span, then time */
  size_t n_rows;
} mw_ex_op;

/* --- execution traces (explain_gather.c reads them; explain_trace.c accounts) --- */

/* A stored execution trace used by the explanation (alignment none is not). */
typedef struct mw_ex_xtrace {
  int64_t id, start_ns, end_ns;
  int alignment; /* enum mw_xt_alignment */
} mw_ex_xtrace;

/* What a goroutine was blocked on (or doing), with the stack where it began. */
typedef struct mw_ex_state {
  int state;                       /* enum mw_xt_state */
  const char *reason, *raw_reason; /* "" when none */
  int64_t start_ns, end_ns;
  const char *frames; /* NULL when the trace has no stack for it */
} mw_ex_state;

/* One link of a causal chain: the goroutine that woke the wait before it. */
typedef struct mw_ex_link {
  uint64_t goroutine;
  int64_t exectrace_id, woke_ns;
  const char *frames; /* the waker's stack at the wake, NULL when unknown */
  int has_span, has_trace;
  uint8_t span_id[8], trace_id[16];
  const char *span_name, *service; /* from the stored span, NULL when not stored */
  int released;                    /* the wait was for a lock/cond: the waker released it */
  int has_waited;
  mw_ex_state waited; /* what the waker itself waited for just before; ns = end - start */
  int64_t waited_ns;  /* the part of it inside the chain's time bound */
} mw_ex_link;

typedef struct mw_ex_chain {
  const mw_ex_link *links;
  size_t n_links;
} mw_ex_chain;

/* An interval of a goroutine that ran the span. */
typedef struct mw_ex_xival {
  mw_ex_state s;
  const mw_ex_chain *chain; /* blocked and followed (explain_gather.c): who woke it; else NULL */
} mw_ex_xival;

/* A goroutine that ran the span, over the part of the span it accounts for:
 * [from_ns, to_ns) (the primary: the span's time inside the trace and the
 * goroutine's record; the others: their runs of the span, minus what a goroutine
 * before them covers). */
typedef struct mw_ex_xgor {
  const mw_ex_xtrace *trace;
  uint64_t goroutine;
  int64_t from_ns, to_ns;
  const mw_ex_xival *iv; /* those overlapping [from_ns, to_ns), by time */
  size_t n_iv;
} mw_ex_xgor;

typedef struct mw_ex_span {
  const mw_stored_span *span;
  const char *service;
  int source, op;           /* indexes into sources and ops, -1 for none */
  const mw_ex_cpu_row *cpu; /* labelled CPU samples, by profile time */
  size_t n_cpu;
  const mw_ex_goroutines *gor; /* labelled goroutines, by snapshot time */
  size_t n_gor;
  const mw_ex_xgor *xg; /* goroutines an execution trace shows running it: the primary first */
  size_t n_xg;
  /* the tree (mw__explain_link) */
  int parent; /* index, -1 for none */
  const size_t *kids;
  size_t n_kids;
  size_t depth;
} mw_ex_span;

typedef struct mw_explain_input {
  uint8_t trace_id[16];
  mw_ex_span *spans; /* by start time */
  size_t n_spans;
  mw_ex_source *sources;
  size_t n_sources;
  mw_ex_op *ops;
  size_t n_ops;
  size_t *order; /* spans deepest first (mw__explain_link) */
} mw_explain_input;

typedef struct mw_explain_opts {
  int64_t op_window_ns;    /* operation scope: spans starting this close to the span */
  size_t op_neighbours;    /* ... the nearest this many on each side of it */
  size_t op_max_spans;     /* ... of which at most this many slow ones */
  size_t op_min_snapshots; /* fewer goroutine snapshots than this: unknown */
  size_t max_spans;        /* traces with more spans are refused (MW_ETOOBIG) */
} mw_explain_opts;

#define MW_EXPLAIN_OPTS_DEFAULT                                                                                        \
  ((mw_explain_opts){.op_window_ns = 15LL * 60 * 1000000000,                                                           \
                     .op_neighbours = 500,                                                                             \
                     .op_max_spans = 40,                                                                               \
                     .op_min_snapshots = 3,                                                                            \
                     .max_spans = 20000})

/* --- the steps callers use ----------------------------------------------------------- */

/* Explains one trace: gather, then run. Returns 0, MW_ENOTFOUND for an
 * unknown trace, MW_ETOOBIG, MW_EIO (a failed read) or MW_ENOMEM. */
int mw__explain_trace(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                      mw_trace_explain *out);

/* Reads what explaining a trace needs (explain_gather.c). Returns 0,
 * MW_ENOTFOUND, MW_ETOOBIG, MW_EIO or MW_ENOMEM. */
int mw__explain_gather(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                       mw_explain_input *in);

/* Of a CPU profile (its meta JSON): the index of the value holding CPU
 * nanoseconds in its samples (-1: none) and its period, ns per sample (the
 * fallback). MW_ENOMEM. Also for other readers of labelled CPU samples
 * (query/gc_pressure.c), so that a sample's CPU time is read one way. */
int mw__ex_cpu_value_index(mw_arena *a, const char *meta_json, int *idx, int64_t *period);
/* The idx-th number of a JSON array of integers ("[1,10000000]"); 0 if none. */
int64_t mw__ex_nth_value(const char *vals, int idx);

/* Explains a gathered (and linked: mw__explain_link) input; out points into
 * in. Returns 0, MW_ENOTFOUND for an input without spans, or MW_ENOMEM. */
int mw__explain_run(mw_arena *a, const mw_explain_input *in, const mw_explain_opts *o, mw_trace_explain *out);

/* Writes the explain contract (docs/API.md). */
void mw__explain_json(mw_jsonw *w, const mw_trace_explain *e);

/* GET /api/v1/traces/{id}/explain, with MW_EXPLAIN_OPTS_DEFAULT. Errors:
 * MW_ENOTFOUND, MW_ETOOBIG, MW_EIO (never a partial answer), MW_ENOMEM. */
int mw__q_explain(mw_query *q, const uint8_t trace_id[16], mw_answer *out);

/* POST /api/v1/traces/{id}/explain (a federated sub-request,
 * docs/FEDERATION.md): the same, with the trace's spans that other shards
 * hold posted in body ({"spans": [...]}): they join the tree without runtime
 * data. MW_EINVAL for a body that is not that (nothing is read then). */
int mw__q_explain_with(mw_query *q, const uint8_t trace_id[16], const char *body, size_t len, mw_answer *out);

/* The first frames of a stack text worth showing (runtime internals skipped),
 * as a JSON array of {"function","file","line"}. */
void mw__json_top_frames(mw_jsonw *w, const char *frames, size_t max);

#endif
