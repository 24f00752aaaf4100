/* Reads for the "what keeps growing" answers of goroutines and GC
 * (query/gor_growth.c, query/gc_pressure.c), each in the caller's read
 * transaction and through an index: goroutine counts of one snapshot by
 * stack (goroutine_groups_by_snapshot), a stack's frames (its key), the spans
 * of a source in a window (spans_by_source), the labelled CPU samples of a
 * source's CPU profiles in a window (snapshots_by_source, then
 * profile_samples_by_snapshot) and an operation's names. */
#ifndef MW_STORE_GOR_READ_H
#define MW_STORE_GOR_READ_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "store/store.h"

/* Goroutines of one stack in one snapshot, summed over states and labels. */
typedef struct mw_gor_count {
  int64_t stack_id, count;
} mw_gor_count;

/* The goroutine counts of snapshot_id by stack, at most limit stacks (*more
 * when there were more). */
int mw__store_gor_counts(mw_read *rd, mw_arena *a, int64_t snapshot_id, size_t limit, mw_gor_count **out, size_t *n,
                         int *more);

/* A stack's frames ("func\tfile:line\n" per frame, leaf first); MW_ENOTFOUND. */
int mw__store_stack_frames(mw_read *rd, mw_arena *a, int64_t stack_id, const char **frames);

/* A span of a source, as the GC accounting needs it. */
typedef struct mw_src_span {
  uint8_t trace_id[16], span_id[8];
  int64_t op_id, start_ns, dur_ns;
} mw_src_span;

/* Spans of source_id starting in [start, end), by start, at most limit (*more). */
int mw__store_source_spans(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                           mw_src_span **out, size_t *n, int *more);

/* A labelled CPU sample of a source's CPU profile. */
typedef struct mw_src_cpu {
  uint8_t span_id[8];
  int64_t snapshot_id, at_ns, dur_ns;
  const char *meta_json, *frames, *vals_json;
} mw_src_cpu;

/* Samples labelled with a span id of the CPU profiles of source_id taken in
 * [start, end), sorted by span id, at most limit (*more). */
int mw__store_source_cpu(mw_read *rd, mw_arena *a, int64_t source_id, int64_t start_ns, int64_t end_ns, size_t limit,
                         mw_src_cpu **out, size_t *n, int *more);

/* An operation's service and name; MW_ENOTFOUND. */
int mw__store_operation(mw_read *rd, mw_arena *a, int64_t op_id, const char **service, const char **name);

#endif
