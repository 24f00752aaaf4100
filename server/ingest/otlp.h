/* OTLP trace ingest: one POST /v1/traces body (protobuf or JSON) into a span
 * batch for the writer: decoded (decode/otlp.h), validated and put in the
 * stored span form (decode/span_form.h). */
#ifndef MW_INGEST_OTLP_H
#define MW_INGEST_OTLP_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "ingest/body.h"
#include "model/runtime_batch.h"
#include "model/span.h"

enum mw_otlp_encoding { MW_OTLP_PROTOBUF, MW_OTLP_JSON };

/* Runtime payloads carried in OTLP traces (docs/SHARDING.md, §2): the spans of
 * the instrumentation scope MW_OTLP_CARRIER_SCOPE are not spans but runtime
 * pushes, routed by an OpenTelemetry Collector with the process's spans. Each
 * stands for one POST /api/v1/ingest/{kind}: the kind, times and trigger are
 * span attributes, the payload a bytes attribute, the service and instance the
 * resource's service.name and service.instance.id. (libmeanwhile writes them:
 * client/lib/carrier.c.) */
#define MW_OTLP_CARRIER_SCOPE "meanwhile.runtime"
#define MW_OTLP_CARRIER_KIND "meanwhile.kind"
#define MW_OTLP_CARRIER_TIME "meanwhile.time_ns"
#define MW_OTLP_CARRIER_DURATION "meanwhile.duration_ns"
#define MW_OTLP_CARRIER_PROCESS_START "meanwhile.process_start_ns"
#define MW_OTLP_CARRIER_TRIGGER "meanwhile.trigger"
#define MW_OTLP_CARRIER_PAYLOAD "meanwhile.payload"

typedef struct mw_otlp_carried {
  mw_runtime_batch *first; /* one per carrier read, chained by next; NULL when none */
  size_t payloads;         /* carriers read */
  size_t rejected;         /* carriers that could not be read (also in the span batch's rejected) */
  const char *reason;      /* the first one's reason */
} mw_otlp_carried;

/* Builds *out from the body, the carriers taken out first: each readable one
 * becomes a runtime batch in *carried (received_ns and mem as for
 * mw__runtime_build); an unreadable one is counted as a rejected span of *out,
 * with its reason. Returns 0 (invalid spans are counted in out->rejected, with
 * the first reason); MW_EINVAL when the body cannot be decoded, MW_ETOOBIG past
 * a limit (message in err for both); MW_ENOMEM; MW_EBUSY when mem refused
 * (the budget is held by other requests: retry). */
int mw__ingest_otlp_split(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len,
                          const mw_limits *limits, int64_t received_ns, mw_mem_account *mem, mw_span_batch *out,
                          mw_otlp_carried *carried, char *err, size_t errsz);

#endif
