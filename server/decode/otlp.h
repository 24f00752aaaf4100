/* OTLP trace decoding: protobuf and JSON bodies into protobuf-c structs (one
 * in-memory form for both), then validation and flattening into a span batch.
 * All memory comes from the caller's arena. Decoders know nothing of HTTP or SQL. */
#ifndef MW_DECODE_OTLP_H
#define MW_DECODE_OTLP_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/arena_pb.h"
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

/* What a decoder found wrong with one span, scope or resource that does not
 * stop the rest of the request: a string that breaks the name rule (a NUL byte
 * or invalid UTF-8, core/utf8.h), which no later step could keep exactly.
 * Flattening rejects what it names (partial success), all the spans under a
 * scope or resource included. */
enum { MW_OTLP_WHOLE = UINT32_MAX };
typedef struct mw_otlp_flaw {
  uint32_t rs;     /* index into resource_spans */
  uint32_t ss;     /* index into its scope_spans; MW_OTLP_WHOLE: the resource */
  uint32_t span;   /* index into its spans; MW_OTLP_WHOLE: the scope (or resource) */
  uint32_t seq;    /* order of finding: the first flaw of a place is the one reported */
  const char *why; /* names the field, e.g. "resource_spans[0]...spans[2].name contains a NUL byte" */
} mw_otlp_flaw;

typedef struct mw_otlp_flaws {
  mw_otlp_flaw *v; /* arena; sorted by (rs, ss, span) once decoding returns */
  size_t n, cap;
} mw_otlp_flaws;

/* Decodes an ExportTraceServiceRequest in protobuf; *flaws (zeroed first) gets
 * the strings that break the name rule. Values nested deeper than
 * MW_ATTR_DECODE_DEPTH are not decoded: MW_EINVAL naming max_attr_depth.
 * Returns 0, or MW_EINVAL with a message in err, or MW_ENOMEM / MW_ETOOBIG
 * when the arena is exhausted. */
int mw__otlp_decode_pb(mw_arena *a, const uint8_t *data, size_t len, const mw_limits *limits, mw_otlp_request **out,
                       mw_otlp_flaws *flaws, char *err, size_t errsz);

/* Decodes an OTLP/JSON ExportTraceServiceRequest (lowerCamelCase names, also the
 * snake_case ones; hex ids; 64-bit ints as strings or numbers; enums as integers
 * or names; unknown members ignored). Same returns and flaws as
 * mw__otlp_decode_pb; a body that is not UTF-8 is not JSON (MW_EINVAL). */
int mw__otlp_decode_json(mw_arena *a, const char *data, size_t len, const mw_limits *limits, mw_otlp_request **out,
                         mw_otlp_flaws *flaws, char *err, size_t errsz);

/* Validates every resource, scope and span (ids, times, the limits, the
 * decoders' flaws, which may be NULL) and flattens the valid spans into
 * *batch, in the stored span form (decode/span_form.h). The empty string
 * values of req are re-pointed (see span_form.c); nothing else of it changes.
 * Invalid spans, and the spans of an invalid scope or resource, are counted in
 * batch->rejected with the first reason.
 * Returns 0, MW_ETOOBIG (more spans than the limit: nothing is kept; message in
 * err) or MW_ENOMEM. */
int mw__otlp_flatten(mw_arena *a, const mw_otlp_request *req, const mw_otlp_flaws *flaws, const mw_limits *limits,
                     mw_span_batch *batch, char *err, size_t errsz);

/* Records a flaw at (rs, ss, span) (decoders call it; otlp.c). Returns 0 or
 * MW_ENOMEM. */
int mw__otlp_flaw_add(mw_arena *a, mw_otlp_flaws *flaws, uint32_t rs, uint32_t ss, uint32_t span, const char *why);
/* Sorts the flaws for lookup by mw__otlp_flatten. */
void mw__otlp_flaws_sort(mw_otlp_flaws *flaws);

/* OTLP JSON output (otlp_jsonout.c): hex ids, 64-bit integers as strings,
 * enums as integers, default values omitted. */
struct mw_jsonw;
void mw__otlp_json_value(struct mw_jsonw *w, const mw_otlp_value *v);
void mw__otlp_json_attributes(struct mw_jsonw *w, mw_otlp_kv *const *kvs, size_t n);
void mw__otlp_json_span(struct mw_jsonw *w, const mw_otlp_span *s);
void mw__otlp_json_resource(struct mw_jsonw *w, const Opentelemetry__Proto__Resource__V1__Resource *r);
void mw__otlp_json_scope(struct mw_jsonw *w, const Opentelemetry__Proto__Common__V1__InstrumentationScope *s);

#endif
