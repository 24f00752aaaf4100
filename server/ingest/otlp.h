/* OTLP trace ingest: one POST /v1/traces body (protobuf or JSON) into a span
 * batch for the writer: decoded (decode/otlp.h), validated and put in the
 * stored span form (decode/span_form.h). */
#ifndef MW_INGEST_OTLP_H
#define MW_INGEST_OTLP_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/limits.h"
#include "model/span.h"

enum mw_otlp_encoding { MW_OTLP_PROTOBUF, MW_OTLP_JSON };

/* Builds *out from the body. Returns 0 (invalid spans are counted in
 * out->rejected, with the first reason); MW_EINVAL when the body cannot be
 * decoded, MW_ETOOBIG past a limit (message in err for both); MW_ENOMEM. */
int mw__ingest_otlp(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len, const mw_limits *limits,
                    mw_span_batch *out, char *err, size_t errsz);

#endif
