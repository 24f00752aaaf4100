/* What is growing in a source's heap: the heap profile at one time against
 * the one at an earlier time, stack by stack (`go tool pprof -base`), and
 * the allocation rate by stack over consecutive heap profiles (docs/API.md,
 * "Growth", "Heap"). */
#ifndef MW_QUERY_GROWTH_H
#define MW_QUERY_GROWTH_H
#include <stddef.h>
#include <stdint.h>

#include "query/heap_diff.h"
#include "query/query.h"

/* Stacks listed: MW_GROWTH_STACKS unless asked, at most MW_GROWTH_MAX_STACKS. */
enum { MW_GROWTH_STACKS = 20, MW_GROWTH_MAX_STACKS = 1000 };
/* Heap profiles one allocation-rate answer reads, at most. */
enum { MW_ALLOC_MAX_PROFILES = 64 };

typedef struct mw_heap_growth_query {
  int64_t source_id;
  int64_t start_ns, end_ns;           /* target: the heap profile latest in [start, end] */
  int64_t base_start_ns, base_end_ns; /* base: the one latest in [base_start, base_end] */
  enum mw_heap_value sample;          /* orders the stacks and weighs the flame graph */
  size_t limit;
  int pprof; /* answer a gzip'd profile.proto (target - base) instead of JSON */
} mw_heap_growth_query;

/* GET /api/v1/sources/{id}/heap/growth. MW_ENOTFOUND, with a message saying
 * which, for an unknown source or a range without a heap profile (or with
 * the same one as base and target); MW_EIO when a stored profile does not
 * decode. */
int mw__q_heap_growth(mw_query *q, const mw_heap_growth_query *p, mw_answer *out);

typedef struct mw_alloc_query {
  int64_t source_id;
  int64_t start_ns, end_ns; /* heap profiles in [start, end) */
  size_t limit;
} mw_alloc_query;

/* GET /api/v1/sources/{id}/alloc: bytes and objects allocated per second by
 * stack, from the first MW_ALLOC_MAX_PROFILES heap profiles of the range.
 * Go's alloc_* values count from the process start: a stack's allocations
 * over the window are its last value less its first; where a profile's
 * total alloc_space falls below the one before (a restarted process), a new
 * run starts there and the runs are added. MW_ENOTFOUND for an unknown
 * source or fewer than two heap profiles in the range. */
int mw__q_alloc_rate(mw_query *q, const mw_alloc_query *p, mw_answer *out);

#endif
