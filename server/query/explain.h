/* Explanation: where a trace's time went, span by span, with evidence.
 * The method is in docs/CORRELATION.md; the JSON contract in docs/API.md. */
#ifndef MW_QUERY_EXPLAIN_H
#define MW_QUERY_EXPLAIN_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/jsonw.h"
#include "store/store.h"

enum mw_block_kind { MW_B_MUTEX, MW_B_CHAN, MW_B_SELECT, MW_B_IO, MW_B_SLEEP, MW_B_SYSCALL, MW_B_COND, MW_B_OTHER, MW_B_N };

typedef struct mw_breakdown {
  int64_t cpu_ns, gc_stw_ns, gc_assist_ns, runnable_ns, unknown_ns;
  int64_t blocked_ns[MW_B_N];
} mw_breakdown;

typedef struct mw_cause {
  const char *kind;       /* cpu, gc_stw, gc_assist, mutex, chan, select, io, sleep, syscall, cond, runnable, children, unknown */
  double share;           /* of the span's duration */
  double confidence;      /* 0..1 */
  const char *scope;      /* span | operation */
  const char *summary;
  const char *evidence;   /* a JSON array */
} mw_cause;

typedef struct mw_span_explain {
  const mw_stored_span *span;
  const char *service;
  int64_t self_ns, children_ns;
  mw_breakdown b;
  mw_cause *causes;       /* sorted by share, largest first */
  size_t n_causes;
  int parent;             /* index in the trace's spans, -1 for none */
} mw_span_explain;

typedef struct mw_trace_explain {
  uint8_t trace_id[16];
  int64_t start_ns, end_ns;
  mw_trace_rows rows;
  mw_span_explain *spans; /* in rows.spans order */
  size_t n_spans;
  const char *summary;
} mw_trace_explain;

typedef struct mw_explain_opts {
  int64_t op_window_ns;   /* operation scope: spans starting this close to the span */
  size_t op_neighbours;   /* ... the nearest this many on each side of it */
  size_t op_max_spans;    /* ... of which at most this many slow ones */
  size_t op_min_snapshots;/* fewer goroutine snapshots than this: unknown */
  size_t max_spans;       /* traces with more spans are refused (MW_ETOOBIG) */
} mw_explain_opts;

#define MW_EXPLAIN_OPTS_DEFAULT                                                             \
  ((mw_explain_opts){.op_window_ns = 15LL * 60 * 1000000000, .op_neighbours = 500, .op_max_spans = 40, .op_min_snapshots = 3, \
                     .max_spans = 20000})

/* Explains one trace. Returns 0, MW_ENOTFOUND for an unknown trace, MW_ETOOBIG,
 * MW_EIO or MW_ENOMEM. */
int mw__explain_trace(mw_store *s, mw_arena *a, const uint8_t trace_id[16], const mw_explain_opts *o,
                      mw_trace_explain *out);

/* Writes the explain contract (docs/API.md). */
void mw__explain_json(mw_jsonw *w, const mw_trace_explain *e);

/* The first frames of a stack text worth showing (runtime internals skipped),
 * as a JSON array of {"function","file","line"}. */
void mw__json_top_frames(mw_jsonw *w, const char *frames, size_t max);

#endif
