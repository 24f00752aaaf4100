/* GC pressure: a source's GC cycles (gctrace) summed up per time step (GC
 * CPU, pauses, heap live against goal, allocation rate, assist share), and
 * the operations whose spans lose most time to the collector: the
 * stop-the-world and assist time the explanation's own accountants
 * (explain_breakdown.c) find in each span (docs/API.md, "Growth", "GC
 * pressure"). mw__gcp_points is the pure step, for tests. */
#ifndef MW_QUERY_GC_PRESSURE_H
#define MW_QUERY_GC_PRESSURE_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/runtime.h"
#include "query/query.h"

enum {
  MW_GCP_MAX_CYCLES = 100000, /* cycles read per query */
  MW_GCP_MAX_POINTS = 10000,  /* steps per answer */
  MW_GCP_POINTS = 120,        /* steps when no step is given */
  MW_GCO_MAX_SPANS = 100000,  /* spans read per source */
  MW_GCO_MAX_CPU = 100000,    /* labelled CPU samples read per source */
  MW_GCO_MAX_SOURCES = 1000,
  MW_GCO_LIMIT = 20,
  MW_GCO_MAX_LIMIT = 1000
};

/* One step: the cycles that started in [time_ns, time_ns + step). */
typedef struct mw_gcp_point {
  int64_t time_ns;
  int64_t cycles;
  double gc_cpu;                      /* GC CPU (pauses, assists, background marking) / (step x GOMAXPROCS) */
  int64_t pause_p50_ns, pause_p99_ns; /* over both pauses of each cycle, nearest rank */
  int64_t heap_live, heap_goal;       /* of the step's last cycle */
  double alloc_bytes_per_s;           /* -1: no cycle of the step follows its predecessor */
  double assist_share;                /* assist CPU / GC CPU (0 without GC CPU) */
} mw_gcp_point;

/* The points of cycles (oldest first) in steps of step ns from start; steps
 * without a cycle are left out. A cycle's allocation is the heap at its mark
 * termination minus the heap its predecessor (cycle n - 1) marked live, over
 * the time from the predecessor's end to its end. MW_ENOMEM. */
int mw__gcp_points(mw_arena *a, const mw_gc_cycle *cycles, size_t n, int64_t start_ns, int64_t step_ns,
                   mw_gcp_point **out, size_t *n_out);

/* The longest step: a week. */
#define MW_GCP_MAX_STEP_NS ((int64_t)7 * 86400 * 1000000000)

typedef struct mw_gcp_query {
  int64_t source_id;
  int64_t start_ns, end_ns; /* [start, end) */
  int start_given;          /* steps start at start; else at the first cycle */
  int64_t step_ns;          /* 0: (window of the cycles) / MW_GCP_POINTS, at least 1 s */
} mw_gcp_query;

/* GET /api/v1/sources/{id}/gc/pressure: {"source", "step_ns", "points", "more"}.
 * MW_ENOTFOUND for an unknown source, MW_EINVAL when the steps would be more
 * than MW_GCP_MAX_POINTS. */
int mw__q_gc_pressure(mw_query *q, const mw_gcp_query *p, mw_answer *out);

typedef struct mw_gco_query {
  const char *service; /* NULL: every source */
  int64_t start_ns, end_ns;
  size_t limit;
} mw_gco_query;

/* GET /api/v1/gc/operations: {"operations":[{"service","name","spans",
 * "span_ns","stw_ns","assist_ns","stw_share","assist_share","gc_ns"}],
 * "more"}, by gc_ns, most first. */
int mw__q_gc_operations(mw_query *q, const mw_gco_query *p, mw_answer *out);

#endif
