/* OTLP trace ingest (see otlp.h). */
#include "ingest/otlp.h"
#include "core/error.h"
#include "decode/otlp.h"

int mw__ingest_otlp(mw_arena *a, enum mw_otlp_encoding enc, const uint8_t *body, size_t len, const mw_limits *limits,
                    mw_span_batch *out, char *err, size_t errsz) {
  mw_otlp_request *req = NULL;
  mw_otlp_flaws flaws;
  int rc = enc == MW_OTLP_PROTOBUF ? mw__otlp_decode_pb(a, body, len, limits, &req, &flaws, err, errsz)
                                   : mw__otlp_decode_json(a, (const char *)body, len, limits, &req, &flaws, err, errsz);
  return rc ? rc : mw__otlp_flatten(a, req, &flaws, limits, out, err, errsz);
}
