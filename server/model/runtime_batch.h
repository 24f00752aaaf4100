/* The runtime batch: one runtime ingest request (a stderr stream, a goroutine
 * dump or a profile) made ready for the writer. Like the span batch, all of it
 * lives in the request's arena and the writer only looks up ids and binds. */
#ifndef MW_MODEL_RUNTIME_BATCH_H
#define MW_MODEL_RUNTIME_BATCH_H
#include <stddef.h>
#include <stdint.h>

#include "model/runtime.h"

/* A distinct stack of the batch: frames as text, one per line, leaf first:
 * "func\tfile:line\n". */
typedef struct mw_stack_text {
  const char *text;
  size_t len;
} mw_stack_text;

typedef struct mw_goroutine_group {
  uint32_t stack; /* index into mw_runtime_batch.stacks */
  enum mw_gstate state;
  const char *wait_reason; /* or NULL */
  int64_t count;
  int64_t wait_min_ns, wait_max_ns; /* -1 when unknown */
  int locked;
  int has_span, has_trace;
  uint8_t span_id[8], trace_id[16];
  const char *labels_json; /* or NULL */
  const char *goids;       /* or NULL */
} mw_goroutine_group;

typedef struct mw_profile_row {
  uint32_t stack;
  int has_span, has_trace;
  uint8_t span_id[8], trace_id[16];
  const char *labels_json;
  const char *vals_json; /* "[1,10000000]" */
} mw_profile_row;

typedef struct mw_runtime_batch {
  /* who sent it */
  const char *service;
  const char *instance; /* as the sender named it, "" for none */

  /* stderr lines, times already absolute */
  mw_gc_cycle *gc;
  size_t n_gc;
  mw_sched_sample *sched;
  size_t n_sched;

  /* a snapshot (kind != NULL) */
  const char *kind;
  const char *format;
  int64_t at_ns, duration_ns, total;
  const char *meta_json;
  const char *trigger;    /* why the agent took it (also in meta_json), or NULL */
  const uint8_t *payload; /* zstd */
  size_t payload_len, raw_bytes;
  mw_stack_text *stacks;
  size_t n_stacks;
  mw_goroutine_group *groups;
  size_t n_groups;
  mw_profile_row *samples;
  size_t n_samples;

  /* an execution trace (model/exectrace.h), or NULL */
  struct mw_exectrace_batch *exectrace;

  /* filled by the writer */
  int64_t source_id;
  int64_t snapshot_id;

  /* the next batch of the same write job (an OTLP profiles request holds
   * one per profile), or NULL */
  struct mw_runtime_batch *next;
} mw_runtime_batch;

#endif
