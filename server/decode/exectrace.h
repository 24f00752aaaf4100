/* What meanwhile-exectrace wrote: one Records message
 * (schema/meanwhile/exectrace/v1/records.proto) made into plain arrays.
 * The message can be large (every interval of a 64 MiB trace), so it is
 * never unpacked whole: its top-level fields are walked one by one and each
 * is unpacked with protobuf-c on its own, then copied into compact structs.
 * Reason strings are interned: a trace has a few dozen distinct ones. */
#ifndef MW_DECODE_EXECTRACE_H
#define MW_DECODE_EXECTRACE_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/exectrace.h"

typedef struct mw_xt_rec_interval {
  uint64_t goroutine;
  mw_xt_interval iv;
} mw_xt_rec_interval;

typedef struct mw_xt_rec_wake {
  uint64_t goroutine;
  mw_xt_wake wk;
} mw_xt_rec_wake;

typedef struct mw_xt_records {
  mw_xt_rec_interval *intervals; /* malloc'd (mw__xt_records_free) */
  size_t n_intervals;
  mw_xt_rec_wake *wakes; /* malloc'd */
  size_t n_wakes;
  mw_stack_text *stacks; /* in the arena; stack_ids[i] is the reader's id of stacks[i] */
  uint32_t *stack_ids;
  size_t n_stacks;
  mw_xt_span *spans; /* in the arena; span ref i is spans[i - 1] */
  size_t n_spans;
  const char *windows_json; /* in the arena: [{"kind","start_ns","end_ns"[,"reason"]}] */
  int64_t start_ns, end_ns;
  int alignment;
  int64_t clock_error_ns;
  uint64_t events;
  uint32_t generations, goroutines;
  const char *go_version;
  int has_summary;
} mw_xt_records;

/* Counts the intervals and wakes of a Records message (walking its top-level
 * fields only), so that the caller can count their memory before
 * mw__xt_records_decode allocates it: about n * sizeof(mw_xt_rec_*).
 * Returns 0, or MW_EINVAL (message in err) when the message is malformed. */
int mw__xt_records_count(const uint8_t *p, size_t len, size_t *n_intervals, size_t *n_wakes, char *err, size_t errsz);

/* Decodes a Records message into *out; strings, stacks and spans live in a.
 * Checks what the server relies on: ids present and in range (stack ids
 * >= 1, span refs within the spans, 16- or 0-byte trace ids, 8-byte span
 * ids), intervals that do not end before they start, known states, and a
 * summary. Returns 0; MW_EINVAL with a message in err; MW_ENOMEM. On failure
 * *out holds nothing to free. */
int mw__xt_records_decode(mw_arena *a, const uint8_t *p, size_t len, mw_xt_records *out, char *err, size_t errsz);

/* Frees the malloc'd arrays (NULL is fine). */
void mw__xt_records_free(mw_xt_records *r);

#endif
