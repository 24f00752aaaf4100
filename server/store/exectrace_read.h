/* Reading execution traces (0005_exectrace.sql), each in the caller's read
 * transaction (store.h, "reading"). What the goroutine blobs hold is
 * decode/exectrace_blob.h's business: these return them as stored. */
#ifndef MW_STORE_EXECTRACE_READ_H
#define MW_STORE_EXECTRACE_READ_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/exectrace.h"
#include "store/store.h"

typedef struct mw_xt_info {
  int64_t id, source_id;
  const char *service, *instance;
  int64_t start_ns, end_ns;
  const char *trigger; /* or NULL */
  int alignment;       /* enum mw_xt_alignment */
  int64_t clock_error_ns;
  int64_t raw_bytes, stored_bytes, goroutines, intervals, wakes, spans;
  const uint8_t *windows; /* zstd of a JSON array */
  size_t windows_len;
} mw_xt_info;

/* The traces of source_id (0: every source) that overlap [from_ns, to_ns),
 * newest first, at most limit; *more when more matched. */
int mw__store_exectraces(mw_read *rd, mw_arena *a, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit,
                         mw_xt_info **out, size_t *n, int *more);
/* One trace's row; MW_ENOTFOUND. */
int mw__store_exectrace(mw_read *rd, mw_arena *a, int64_t id, mw_xt_info *out);
/* The stored (zstd) trace and its size uncompressed; MW_ENOTFOUND. */
int mw__store_exectrace_raw(mw_read *rd, mw_arena *a, int64_t id, const uint8_t **z, size_t *zlen, int64_t *raw_bytes);

/* A goroutine of a trace (blob set when read from the store). */
typedef struct mw_xt_grow {
  int64_t exectrace_id;
  uint64_t goroutine;
  int64_t first_ns, last_ns;
  const uint8_t *blob;
  size_t blob_len;
} mw_xt_grow;

/* The traces that name span_id (the span index), at most max, oldest first. */
int mw__store_xt_span_traces(mw_read *rd, const uint8_t span_id[8], int64_t *ids, size_t max, size_t *n);
/* A trace's spans as stored (decode/exectrace_blob.h) and its start; MW_ENOTFOUND. */
int mw__store_xt_span_table(mw_read *rd, mw_arena *a, int64_t exectrace_id, const uint8_t **ids, size_t *ids_len,
                            const uint8_t **blob, size_t *blob_len, int64_t *start_ns);
/* One goroutine's blob; MW_ENOTFOUND. */
int mw__store_xt_goroutine(mw_read *rd, mw_arena *a, int64_t exectrace_id, uint64_t goroutine, mw_xt_grow *out);
/* The goroutines (with blobs) of source_id's traces active in [from_ns,
 * to_ns), by trace then goroutine, at most limit; *more when more matched. */
int mw__store_xt_window(mw_read *rd, mw_arena *a, int64_t source_id, int64_t from_ns, int64_t to_ns, size_t limit,
                        mw_xt_grow **out, size_t *n, int *more);
/* The stack store's id and frames ("func\tfile:line\n"...) of a trace's stack
 * `local`; MW_ENOTFOUND. */
int mw__store_xt_stack(mw_read *rd, mw_arena *a, int64_t exectrace_id, uint32_t local, int64_t *stack_id,
                       const char **frames);
/* The stored traces that name the spans of trace trace_id (its span ids from
 * old rows and blocks, block_read.h, each sought in the span index): per span, its newest at most per_span traces;
 * by span id, then newest trace first. */
typedef struct mw_xt_span_hit {
  uint8_t span_id[8];
  int64_t exectrace_id;
} mw_xt_span_hit;
int mw__store_xt_trace_hits(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], size_t per_span, mw_xt_span_hit **out,
                            size_t *n);
/* A stored span's name and service; MW_ENOTFOUND. */
int mw__store_span_name(mw_read *rd, mw_arena *a, const uint8_t trace_id[16], const uint8_t span_id[8],
                        const char **name, const char **service);
/* A stored span's start and end; MW_ENOTFOUND. */
int mw__store_span_time(mw_read *rd, const uint8_t trace_id[16], const uint8_t span_id[8], int64_t *start_ns,
                        int64_t *end_ns);

#endif
