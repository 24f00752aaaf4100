/* OTLP profiles ingest: one POST /v1development/profiles body (protobuf or
 * JSON) into runtime batches for the writer, one per profile, each the
 * profile converted to pprof (decode/otlp_profiles.h) and built as the
 * runtime ingest builds a pushed pprof profile (ingest/runtime.h): the same
 * stored form, the kind read from the sample type, samples linked to a span
 * stored with its span and trace ids. The source of a profile is its
 * resource's service.name ("unknown_service" without one) and
 * service.instance.id ("" without one), as for the spans of that resource. */
#ifndef MW_INGEST_OTLP_PROFILES_H
#define MW_INGEST_OTLP_PROFILES_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "ingest/otlp.h"
#include "model/runtime_batch.h"

typedef struct mw_otlp_prof_batch {
  mw_runtime_batch *first;   /* the profiles kept, chained through ->next; NULL when none */
  size_t profiles;           /* profiles kept */
  size_t samples;            /* their samples (or goroutine groups) */
  size_t records;            /* what the writer will write: the jobs' cost */
  size_t rejected;           /* profiles refused one by one (partial success) */
  const char *reject_reason; /* the first refusal, naming the profile; NULL when none */
} mw_otlp_prof_batch;

/* Builds *out from the body; received_ns stamps profiles without a time.
 * Returns 0 (profiles that cannot be read are counted in out->rejected);
 * MW_EINVAL when the body or its dictionary cannot be read (message in err,
 * naming the field); MW_ETOOBIG for more than 10000 profiles or more samples
 * in all than limits->max_samples (message in err); MW_ENOMEM. */
int mw__ingest_otlp_profiles(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len,
                             const mw_limits *limits, int64_t received_ns, mw_otlp_prof_batch *out, char *err,
                             size_t errsz);

#endif
