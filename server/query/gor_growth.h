/* Goroutine growth: the stack groups whose goroutine count keeps growing
 * across a source's goroutine dumps and profiles (leak suspects), with their
 * growth per hour, the operations and spans whose labels they carry, and
 * whether a goroutine leak profile proved them leaked (docs/API.md,
 * "Growth", "Goroutines that keep growing").
 *
 * The detection is a pure step over a series of counts (mw__gg_find), so that
 * it can be tested on hand-built series; mw__q_gor_growth reads the series. */
#ifndef MW_QUERY_GOR_GROWTH_H
#define MW_QUERY_GOR_GROWTH_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "query/query.h"

/* What "keeps growing" means: over the window's goroutine snapshots (at least
 * MW_GG_MIN_SNAPSHOTS of them, the stack present in at least that many), the
 * Spearman rank correlation of count with time is at least MW_GG_MIN_RHO, and
 * the least-squares line rises by at least MW_GG_MIN_RISE goroutines over the
 * window. The rate reported is that line's slope. */
#define MW_GG_MIN_RHO 0.8
enum { MW_GG_MIN_SNAPSHOTS = 3, MW_GG_MIN_RISE = 3 };

/* Bounds of one query: snapshots read (of each kind), stacks per snapshot,
 * rows of a snapshot read for labels, spans listed per suspect. */
enum {
  MW_GG_MAX_SNAPSHOTS = 1000, /* a window of more: this many spread evenly over it */
  MW_GG_MAX_STACKS = 20000,
  MW_GG_MAX_ROWS = 10000,
  MW_GG_MAX_SPANS = 20,
  MW_GG_MAX_OPS = 20,
  MW_GG_LIMIT = 20,
  MW_GG_MAX_LIMIT = 200
};

/* The key that a stack group is followed by across snapshots: its frames
 * without the runtime's own frames at the leaf (runtime.gopark,
 * runtime.chanrecv, ...: goroutine profiles and leak profiles have them, a
 * debug=2 dump does not) and without a trailing runtime.goexit. frames and
 * the key are "func\tfile:line\n" per frame, leaf first; a stack of runtime
 * frames only is its own key. NULL when out of memory. */
const char *mw__gg_key(mw_arena *a, const char *frames);

typedef struct mw_gg_snap {
  int64_t id, at_ns;
  int leak; /* a goroutineleak profile: proves, is not counted */
} mw_gg_snap;

/* Goroutines of one key in one snapshot (snap indexes the snapshots). */
typedef struct mw_gg_obs {
  size_t snap;
  const char *key;
  int64_t count;
} mw_gg_obs;

typedef struct mw_gg_suspect {
  const char *key;
  int64_t *counts;      /* per snapshot (0 where absent; leak profiles: 0) */
  double per_hour, rho; /* the slope of the fit, per hour; the rank correlation */
  size_t first, last;   /* the first and last counted snapshot holding it */
  int proven;           /* a leak profile of the window lists it */
} mw_gg_suspect;

/* The suspects among obs (sorted in place) over snaps (by time), fastest
 * growing first. MW_ENOMEM. */
int mw__gg_find(mw_arena *a, const mw_gg_snap *snaps, size_t n_snaps, mw_gg_obs *obs, size_t n_obs, mw_gg_suspect **out,
                size_t *n);

/* Operations that goroutines were created by, from their labels. */
typedef struct mw_gg_op {
  const char *name;
  int64_t count;
} mw_gg_op;

/* Adds count goroutines of the labels JSON object labels_json (its span_name
 * label) to ops (at most MW_GG_MAX_OPS names; more are dropped). Returns 1 when
 * it named an operation, 0 when it has no span_name, MW_ENOMEM < 0. */
int mw__gg_add_op(mw_arena *a, const char *labels_json, int64_t count, mw_gg_op *ops, size_t *n_ops);

typedef struct mw_gg_query {
  int64_t source_id;
  int64_t start_ns, end_ns; /* [start, end) */
  size_t limit;
} mw_gg_query;

/* GET /api/v1/sources/{id}/goroutines/growth: {"source", "snapshots",
 * "suspects":[...], "more"}. MW_ENOTFOUND for an unknown source. */
int mw__q_gor_growth(mw_query *q, const mw_gg_query *p, mw_answer *out);

#endif
