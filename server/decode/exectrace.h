/* What meanwhile-exectrace wrote: one Records message
 * (schema/meanwhile/exectrace/v1/records.proto) made into plain arrays.
 * The message can be large (every interval of a 64 MiB trace), so it is
 * never unpacked whole, nor even held: its top-level fields are decoded as
 * they arrive, each on its own (intervals and wakes, nearly all of it, read
 * in place; the rest unpacked with protobuf-c), into compact structs.
 * Reason strings are interned: a trace has a few dozen distinct ones; an
 * interval names them by index. */
#ifndef MW_DECODE_EXECTRACE_H
#define MW_DECODE_EXECTRACE_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/exectrace.h"

/* An interval as decoded: 40 bytes (a busy 20 MiB window has three million;
 * mw_xt_interval's two reason pointers would make them 56): the reasons are
 * indices into mw_xt_records.strs. */
typedef struct mw_xt_rec_interval {
  uint64_t goroutine;
  int64_t start_ns, end_ns;
  uint32_t stack, span;
  uint16_t reason, raw_reason; /* strs[reason]: "" at 0 */
  uint8_t state, clipped;
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
  const char **strs; /* in the arena: the distinct reasons, strs[0] = "" */
  size_t n_strs;
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
  struct mw_xt_hook {
    int (*take)(void *user, size_t n);  /* counts n more bytes before they are allocated; nonzero refuses */
    void (*give)(void *user, size_t n); /* un-counts n bytes freed */
    void *user;
  } hook;      /* how the arrays were counted (none: take NULL) */
  size_t held; /* what hook.take counted for them */
} mw_xt_records;

typedef struct mw_xt_hook mw_xt_hook;

/* A decoder fed the reader's output as it arrives: fields are decoded as
 * soon as they are whole, so the output itself is never held (only a field
 * cut between two chunks). The arrays grow through hook (NULL: not
 * counted). */
typedef struct mw_xt_dec mw_xt_dec;
mw_xt_dec *mw__xt_dec_new(mw_arena *a, const mw_xt_hook *hook);
/* Decodes what n more bytes complete. Returns 0, MW_EINVAL (err says why),
 * MW_ENOMEM or what hook refused with; errors are sticky. */
int mw__xt_dec_feed(mw_xt_dec *d, const uint8_t *p, size_t n, char *err, size_t errsz);
/* Ends the message and checks it as mw__xt_records_decode says; on success
 * *out takes the arrays (mw__xt_records_free gives them back). */
int mw__xt_dec_finish(mw_xt_dec *d, mw_xt_records *out, char *err, size_t errsz);
/* Frees the decoder (and whatever it still holds; NULL is fine). */
void mw__xt_dec_free(mw_xt_dec *d);

/* Decodes a Records message into *out; strings, stacks and spans live in a.
 * Checks what the server relies on: ids present and in range (stack ids
 * >= 1, span refs within the spans, 16- or 0-byte trace ids, 8-byte span
 * ids), intervals that do not end before they start, known states, and a
 * summary. Returns 0; MW_EINVAL with a message in err; MW_ENOMEM. On failure
 * *out holds nothing to free. */
int mw__xt_records_decode(mw_arena *a, const uint8_t *p, size_t len, mw_xt_records *out, char *err, size_t errsz);

/* Frees the malloc'd arrays and gives back what they counted (NULL is fine). */
void mw__xt_records_free(mw_xt_records *r);

#endif
