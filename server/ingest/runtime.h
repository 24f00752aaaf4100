/* Runtime ingest: turns one POST /api/v1/ingest/{kind} body into a runtime
 * batch for the writer. Decoding is the decoders' job; this file chooses the
 * decoder, puts times on the spans' clock, groups goroutines, aggregates
 * samples, finds span and trace labels, and compresses the original payload. */
#ifndef MW_INGEST_RUNTIME_H
#define MW_INGEST_RUNTIME_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "ingest/body.h"
#include "model/runtime_batch.h"

/* One ingest request's parameters. (Not mw_ingest_params: that is
 * libmeanwhile's, include/meanwhile/client.h.) */
typedef struct mw_ingest_params {
  const char *kind; /* gctrace, schedtrace, goroutine, goroutineleak, cpu, heap, allocs, mutex, block */
  const char *service;
  const char *instance;     /* "" when not given */
  int64_t time_ns;          /* capture start; 0 = not given */
  int64_t duration_ns;      /* 0 = not given */
  int64_t process_start_ns; /* 0 = not given */
  int64_t received_ns;      /* when the request arrived */
  const mw_limits *limits;  /* goroutines, frames, labels, line length, samples; NULL = defaults */
  const char *trigger;      /* why the agent took it (goroutines, heap, gc_cpu), or NULL */
  mw_mem_account *mem;      /* counts an un-gzipped profile as it grows, given back once freed; NULL: not counted */
} mw_ingest_params;

enum { MW_INGEST_MAX_ERRORS = 8 };

typedef struct mw_ingest_report {
  size_t accepted; /* records kept: gc cycles + sched samples, goroutines, or samples */
  size_t skipped;  /* lines or records that were not runtime data or not readable */
  const char *errors[MW_INGEST_MAX_ERRORS];
  size_t n_errors;
} mw_ingest_report;

/* Returns 1 when kind is one of the nine ingest kinds (or "pprof", the
 * Pyroscope endpoint's: read from the sample types). */
int mw__runtime_kind_valid(const char *kind);

/* Builds *out from the body. Returns 0; MW_EINVAL when nothing in the body
 * could be read (message in err); MW_ETOOBIG past a limit; MW_ENOMEM; or what
 * p->mem refused with (MW_EBUSY, MW_ETOOBIG). */
int mw__runtime_build(mw_arena *a, const mw_ingest_params *p, const uint8_t *body, size_t len, mw_runtime_batch *out,
                      mw_ingest_report *rep, char *err, size_t errsz);

/* Records of b (GC cycles, scheduler samples, the snapshot) that lie before t
 * (unix ns): for the warning about data retention would delete at once. */
size_t mw__runtime_count_before(const mw_runtime_batch *b, int64_t t);

#endif
