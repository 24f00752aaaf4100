/* pprof profile decoding: a raw (already un-gzipped) perftools.profiles.Profile
 * is unpacked with protobuf-c into the caller's arena, validated, and resolved
 * into mw_profile: strings instead of string-table indices, and each sample's
 * location ids turned into a stack of frames (inlined calls expanded). Strings
 * point into the unpacked string table and are shared, never copied; all memory
 * comes from the arena. Also the lookups for the span and trace ids that
 * tracing integrations attach as pprof labels. Knows nothing of HTTP or SQL. */
#ifndef MW_DECODE_PPROF_H
#define MW_DECODE_PPROF_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/stack.h"
#include "perftools/profiles.pb-c.h"

typedef Perftools__Profiles__Profile mw_pprof_pb;

/* Limits for one profile. A zero field means "no limit". */
typedef struct mw_pprof_opts {
  size_t max_samples; /* more samples than this: MW_ETOOBIG */
  size_t max_frames;  /* per sample, after inline expansion: deeper stacks are
                          cut to the leaf-most max_frames, stack.truncated = 1 */
  size_t max_labels;  /* per sample: labels past this are dropped (in wire
                          order), sample.labels_truncated = 1. Truncated, not
                          refused: labels only annotate, and the memory they
                          can take is already bounded by the body size */
} mw_pprof_opts;

#define MW_PPROF_OPTS_DEFAULT ((mw_pprof_opts){.max_samples = 1000000, .max_frames = 1024, .max_labels = 64})

typedef struct mw_pprof_value_type {
  const char *type; /* "cpu", "alloc_space", ...; "" when unset */
  const char *unit; /* "nanoseconds", "bytes", "count", ...; "" when unset */
} mw_pprof_value_type;

typedef struct mw_pprof_sample {
  const int64_t *values; /* mw_profile.n_sample_types entries, may be negative */
  mw_stack stack;        /* leaf first; inlined calls are frames of their own.
                             Samples with identical location lists share one
                             frames array: read-only */
  mw_label *labels;      /* string labels: str != NULL, num 0, num_unit NULL;
                             numeric: str NULL, num_unit NULL when unset */
  size_t n_labels;
  int labels_truncated; /* opts->max_labels dropped some */
} mw_pprof_sample;

typedef struct mw_profile {
  mw_pprof_value_type *sample_types;
  size_t n_sample_types;
  mw_pprof_value_type period_type; /* "" / "" when absent */
  int64_t period;
  int64_t time_nanos;     /* collection time, ns since the epoch; 0 when unset */
  int64_t duration_nanos; /* 0 when unset */
  /* The preferred sample type: as named by the profile, or the last sample type
   * when the profile names none (the format's rule); "" with no sample types. */
  const char *default_sample_type;
  int default_sample_index; /* its index in sample_types, or -1 if absent */
  const char **comments;
  size_t n_comments;
  const char *drop_frames; /* regexp, "" when unset */
  const char *keep_frames; /* regexp, "" when unset */
  const char *doc_url;     /* "" when unset */
  mw_pprof_sample *samples;
  size_t n_samples;
  const mw_pprof_pb *pb; /* the unpacked message, for mappings and the like */
} mw_profile;

/* Decodes a raw protobuf pprof profile (not gzip'd) into *out. opts may be NULL
 * (MW_PPROF_OPTS_DEFAULT). Returns 0; MW_EINVAL with a message in err for
 * malformed input (bad protobuf, string index out of range, string_table[0] not
 * "", unknown or duplicate location/function/mapping id, a sample's value count
 * differing from the sample types); MW_ETOOBIG for more samples than
 * opts->max_samples; MW_ENOMEM when the arena cannot supply memory (the
 * unpacked message takes roughly 10x the protobuf's size). On failure *out is
 * all zeros. */
int mw__pprof_decode(mw_arena *a, const uint8_t *data, size_t len, const mw_pprof_opts *opts, mw_profile *out,
                     char *err, size_t errsz);

/* The span id among a sample's labels: the value of the first non-empty string
 * label found under, in priority order, "span_id", "profile_id", "span id",
 * "local root span id", "otel.span_id". NULL when none; *which (if not NULL)
 * is set to the matching label's index in labels, or -1. */
const char *mw__pprof_span_label(const mw_label *labels, size_t n, int *which);

/* The trace id among a sample's labels, like mw__pprof_span_label, under
 * "trace_id", "otel.traceid", "otel.trace_id". */
const char *mw__pprof_trace_label(const mw_label *labels, size_t n, int *which);

/* Index of the sample type named type (e.g. "cpu") in p->sample_types, or -1.
 * type NULL or "" asks for the default sample type. */
int mw__pprof_sample_type_index(const mw_profile *p, const char *type);

#endif
