/* OTLP trace decoding: protobuf and JSON bodies into protobuf-c structs (one
 * in-memory form for both), then validation and flattening into a span batch.
 * All memory comes from the caller's arena. Decoders know nothing of HTTP or SQL. */
#ifndef MW_DECODE_OTLP_H
#define MW_DECODE_OTLP_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/buf.h"
#include "core/limits.h"
#include "model/span.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest mw_otlp_request;
typedef Opentelemetry__Proto__Trace__V1__ResourceSpans mw_otlp_resource_spans;
typedef Opentelemetry__Proto__Trace__V1__ScopeSpans mw_otlp_scope_spans;
typedef Opentelemetry__Proto__Trace__V1__Span mw_otlp_span;
typedef Opentelemetry__Proto__Common__V1__KeyValue mw_otlp_kv;
typedef Opentelemetry__Proto__Common__V1__AnyValue mw_otlp_value;

/* Decodes an ExportTraceServiceRequest in protobuf. Returns 0, or MW_EINVAL with
 * a message in err, or MW_ENOMEM / MW_ETOOBIG when the arena is exhausted. */
int mw__otlp_decode_pb(mw_arena *a, const uint8_t *data, size_t len, mw_otlp_request **out,
                       char *err, size_t errsz);

/* Decodes an OTLP/JSON ExportTraceServiceRequest (lowerCamelCase names, also the
 * snake_case ones; hex ids; 64-bit ints as strings or numbers; enums as integers
 * or names; unknown members ignored). Same returns as mw__otlp_decode_pb; a
 * value nested deeper than limits->max_nesting is MW_EINVAL. */
int mw__otlp_decode_json(mw_arena *a, const char *data, size_t len, const mw_limits *limits,
                         mw_otlp_request **out, char *err, size_t errsz);

/* Validates every span (ids, times, limits) and flattens the valid ones into
 * *batch. The spans of req are modified (their column fields are cleared). Invalid spans are counted in batch->rejected with the first reason.
 * Returns 0, MW_ETOOBIG (more spans than the limit: nothing is kept; message in
 * err) or MW_ENOMEM. */
int mw__otlp_flatten(mw_arena *a, const mw_otlp_request *req, const mw_limits *limits,
                     mw_span_batch *batch, char *err, size_t errsz);

/* OTLP JSON output (otlp_jsonout.c): hex ids, 64-bit integers as strings,
 * enums as integers, default values omitted. */
struct mw_jsonw;
void mw__otlp_json_value(struct mw_jsonw *w, const mw_otlp_value *v);
void mw__otlp_json_attributes(struct mw_jsonw *w, mw_otlp_kv *const *kvs, size_t n);
void mw__otlp_json_span(struct mw_jsonw *w, const mw_otlp_span *s);
void mw__otlp_json_resource(struct mw_jsonw *w, const Opentelemetry__Proto__Resource__V1__Resource *r);
void mw__otlp_json_scope(struct mw_jsonw *w, const Opentelemetry__Proto__Common__V1__InstrumentationScope *s);

#endif
