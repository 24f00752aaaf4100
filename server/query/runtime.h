/* Runtime data, read back: a source's GC cycles, scheduler samples and
 * snapshots over a time range, one snapshot with its rows, and a snapshot's
 * payload as received (docs/API.md, "Runtime data", "Reading"). */
#ifndef MW_QUERY_RUNTIME_H
#define MW_QUERY_RUNTIME_H
#include <stddef.h>
#include <stdint.h>

#include "query/query.h"

/* Rows of the time-ordered lists: 1 to MW_LANE_MAX_ROWS, MW_LANE_ROWS by default. */
enum { MW_LANE_ROWS = 1000, MW_LANE_MAX_ROWS = 10000 };

enum mw_lane { MW_LANE_GC, MW_LANE_SCHED, MW_LANE_SNAPSHOTS, MW_LANE_EVENTS };

typedef struct mw_lane_query {
  int64_t source_id;
  enum mw_lane lane;
  int64_t start_ns, end_ns; /* [start, end) */
  size_t limit;
  const char *kind; /* snapshots of this kind only; NULL: any */
} mw_lane_query;

/* GET /api/v1/sources/{id}/gc|sched|snapshots|events: {"source", "cycles" |
 * "samples" | "snapshots" | "events", "more"}. MW_ENOTFOUND for an unknown source. */
int mw__q_lane(mw_query *q, const mw_lane_query *p, mw_answer *out);

/* GET /api/v1/snapshots/{id}: the snapshot, its meta and its rows (goroutine
 * groups or profile samples) from offset on, at most limit. */
enum { MW_SNAPSHOT_MAX_OFFSET = 100000000 };
int mw__q_snapshot(mw_query *q, int64_t id, size_t offset, size_t limit, mw_answer *out);

/* GET /api/v1/snapshots/{id}/raw: the payload exactly as received (text for
 * a goroutine dump in text, else bytes); for a goroutine profile (pprof)
 * stored without one, the profile written again from its groups (gzip'd
 * pprof: stacks, counts, labels; no addresses or mappings), reading at most
 * MW_RAW_MAX_GROUPS groups (ingest's default max_samples). */
enum { MW_RAW_MAX_GROUPS = 1000000 };
int mw__q_snapshot_raw(mw_query *q, int64_t id, mw_answer *out);

#endif
