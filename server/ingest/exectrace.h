/* Execution trace ingest: turns one pushed Go execution trace and what
 * meanwhile-exectrace read from it (a Records message) into a runtime batch
 * for the writer (model/exectrace.h): the trace itself zstd-compressed for
 * download, each goroutine's intervals and wakes as one compact blob, the
 * index of which goroutines ran which span, and the stacks as the stack
 * store keeps them. */
#ifndef MW_INGEST_EXECTRACE_H
#define MW_INGEST_EXECTRACE_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "decode/exectrace.h"
#include "ingest/body.h"
#include "ingest/exectrace_reader.h"
#include "model/exectrace.h"
#include "model/runtime_batch.h"

typedef struct mw_xt_params {
  const char *service;
  const char *instance;     /* "" when not given */
  int64_t process_start_ns; /* 0 = not given */
  int64_t capture_ns;       /* the `time` parameter, 0 = not given */
  int64_t received_ns;
  const char *trigger; /* or NULL */
} mw_xt_params;

/* Builds *out (and the exectrace batch it points to, in a) from the trace
 * trace[0..trace_len) as pushed and what the reader read from it (r, whose
 * arrays are freed here). Working memory is counted through mem before it
 * is allocated and given back once freed (NULL: not counted). Returns 0;
 * MW_ENOMEM; or what mem refused with. */
int mw__xt_build(mw_arena *a, const mw_xt_params *p, const uint8_t *trace, size_t trace_len, mw_xt_records *r,
                 mw_mem_account *mem, mw_runtime_batch *out, char *err, size_t errsz);

/* Runs the reader (o) on the trace, decoding its output as it arrives
 * (about 60 bytes per interval at the peak, counted through mem), and builds *out as
 * mw__xt_build does. Returns 0; the reader's errors (exectrace_reader.h:
 * MW_EINVAL for an unreadable trace, MW_ETIMEDOUT, MW_ETOOBIG, MW_EIO,
 * MW_ESHUTDOWN); MW_EIO when its output is not what records.proto says (err
 * says how: a bug of the reader, not the client's); MW_ENOMEM; or what mem
 * refused with. */
int mw__xt_ingest(mw_arena *a, const mw_xt_params *p, const mw_xt_reader_opts *o, const uint8_t *trace,
                  size_t trace_len, mw_mem_account *mem, const _Atomic int *abort, mw_runtime_batch *out, char *err,
                  size_t errsz);

#endif
