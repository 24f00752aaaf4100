/* A source's runtime data summed up per step, for the source page: GET
 * /api/v1/sources/{id}/series (docs/API.md, "Growth", "The source's
 * series"). Long windows are read from the per-minute rollups (one row a
 * minute: a week is 10,080 rows), short ones at steps under a minute from
 * the raw rows; both are summed by model/minutes.h, so they agree.
 * /gc/pressure reads the rollups the same way for steps of a minute or more
 * (mw__series_steps). */
#ifndef MW_QUERY_SERIES_H
#define MW_QUERY_SERIES_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/minutes.h"
#include "query/query.h"
#include "store/minutes.h"

enum {
  MW_SERIES_POINTS = 600,        /* points when neither points nor step is given */
  MW_SERIES_MAX_POINTS = 5000,   /* points (steps) per answer */
  MW_SERIES_MAX_RAW = 20000,     /* raw cycles, and snapshots, a raw answer reads at most */
  MW_SERIES_MAX_MINUTES = 100000 /* minutes read (69 days) */
};

/* One step: its sums, and the pause quantiles of its histogram. */
typedef struct mw_series_point {
  mw_minute m; /* m.hist NULL */
  int64_t pause_p50_ns, pause_p99_ns;
} mw_series_point;

/* Sums minutes rows[0..n) (oldest first) into steps of step ns from first
 * (a row before first goes to the first step). Steps without a row are left
 * out. MW_ENOMEM. */
int mw__series_steps(mw_arena *a, const mw_minute_row *rows, size_t n, int64_t first, int64_t step,
                     mw_series_point **out, size_t *n_out);

/* Sums raw rows into steps of step ns from first: cycles gc[0..n_gc) by
 * start (prev: the source's cycle before gc[0], or NULL), snapshots by at_ns,
 * execution traces by start (xt_at, xt_trig). All oldest first. */
int mw__series_raw(mw_arena *a, const mw_gc_cycle *prev, const mw_gc_cycle *gc, size_t n_gc,
                   const mw_snapshot_info *snaps, size_t n_snaps, const int64_t *xt_at, const int *xt_trig, size_t n_xt,
                   int64_t first, int64_t step, mw_series_point **out, size_t *n_out);

typedef struct mw_series_query {
  int64_t source_id;
  int64_t start_ns, end_ns; /* [start, end) */
  size_t points;            /* used when step_ns is 0 */
  int64_t step_ns;          /* 0: (window) / points */
} mw_series_query;

/* {"source", "start_ns", "end_ns", "step_ns", "resolution", "points", "more"}.
 * MW_ENOTFOUND for an unknown source, MW_EINVAL for a step that would make
 * more than MW_SERIES_MAX_POINTS steps. */
int mw__q_series(mw_query *q, const mw_series_query *p, mw_answer *out);

#endif
