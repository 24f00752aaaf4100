/* Runtime payloads carried in OTLP traces (docs/SHARDING.md, §2): what
 * libmeanwhile writes (client/lib/carrier.c) is read back with protoc-c's own
 * decoder, field by field, and meanwhiled's /v1/traces ingest
 * (mw__ingest_otlp_split) takes it out of a request as a runtime batch while
 * the request's real spans stay spans; carriers it cannot read are rejected
 * spans with a reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../client/lib/client_int.h"
#include "core/arena.h"
#include "core/error.h"
#include "core/limits.h"
#include "ingest/otlp.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef Opentelemetry__Proto__Common__V1__KeyValue kv_t;

static const char GC_LINE[] = "gc 1 @0.004s 4%: 0.041+2.3+0.019 ms clock, 0.33+0.52/4.1/9.6+0.15 ms cpu, "
                              "3->4->3 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 4 P\n";

static const Opentelemetry__Proto__Common__V1__AnyValue *find(kv_t **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kvs[i]->key, key) == 0) return kvs[i]->value;
  return NULL;
}

static void carrier(const char *kind, const char *instance, const void *body, size_t len, uint8_t **out,
                    size_t *out_len) {
  mw_runtime_params p = {.service = "checkout",
                         .instance = instance,
                         .time_ns = 1765000000000000000,
                         .duration_ns = 10000000000,
                         .process_start_ns = 1764999990000000000,
                         .trigger = "heap"};
  uint64_t rng = 42;
  assert_int_equal(mw__carrier_encode(kind, &p, body, len, 1765000001000000000, &rng, out, out_len), 0);
}

/* The carrier as protoc-c reads it: one resource (service.name and
 * service.instance.id: the routing key of the spans), the scope, one span whose
 * times and attributes are the push's parameters and whose payload is the body. */
static void test_encode_fields(void **state) {
  (void)state;
  uint8_t *buf;
  size_t len;
  carrier("gctrace", "pod-7", GC_LINE, strlen(GC_LINE), &buf, &len);
  Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest *req =
      opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len, buf);
  assert_non_null(req);
  assert_int_equal(req->n_resource_spans, 1);
  Opentelemetry__Proto__Trace__V1__ResourceSpans *rs = req->resource_spans[0];
  assert_non_null(rs->resource);
  assert_int_equal(rs->resource->n_attributes, 2);
  const Opentelemetry__Proto__Common__V1__AnyValue *v =
      find(rs->resource->attributes, rs->resource->n_attributes, "service.name");
  assert_non_null(v);
  assert_string_equal(v->string_value, "checkout");
  v = find(rs->resource->attributes, rs->resource->n_attributes, "service.instance.id");
  assert_non_null(v);
  assert_string_equal(v->string_value, "pod-7");
  assert_int_equal(rs->n_scope_spans, 1);
  assert_string_equal(rs->scope_spans[0]->scope->name, "meanwhile.runtime");
  assert_int_equal(rs->scope_spans[0]->n_spans, 1);
  Opentelemetry__Proto__Trace__V1__Span *sp = rs->scope_spans[0]->spans[0];
  assert_int_equal(sp->trace_id.len, 16);
  assert_int_equal(sp->span_id.len, 8);
  assert_string_equal(sp->name, "gctrace");
  assert_int_equal(sp->start_time_unix_nano, 1765000000000000000ull);
  assert_int_equal(sp->end_time_unix_nano, 1765000010000000000ull);
  v = find(sp->attributes, sp->n_attributes, "meanwhile.kind");
  assert_non_null(v);
  assert_string_equal(v->string_value, "gctrace");
  v = find(sp->attributes, sp->n_attributes, "meanwhile.time_ns");
  assert_non_null(v);
  assert_int_equal(v->int_value, 1765000000000000000);
  v = find(sp->attributes, sp->n_attributes, "meanwhile.duration_ns");
  assert_non_null(v);
  assert_int_equal(v->int_value, 10000000000);
  v = find(sp->attributes, sp->n_attributes, "meanwhile.process_start_ns");
  assert_non_null(v);
  assert_int_equal(v->int_value, 1764999990000000000);
  v = find(sp->attributes, sp->n_attributes, "meanwhile.trigger");
  assert_non_null(v);
  assert_string_equal(v->string_value, "heap");
  v = find(sp->attributes, sp->n_attributes, "meanwhile.payload");
  assert_non_null(v);
  assert_int_equal(v->value_case, OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE);
  assert_int_equal(v->bytes_value.len, strlen(GC_LINE));
  assert_memory_equal(v->bytes_value.data, GC_LINE, strlen(GC_LINE));
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req, NULL);

  /* no instance: no service.instance.id (the Collector's key is then the service alone) */
  uint8_t *buf2;
  size_t len2;
  carrier("cpu", NULL, "", 0, &buf2, &len2);
  req = opentelemetry__proto__collector__trace__v1__export_trace_service_request__unpack(NULL, len2, buf2);
  assert_non_null(req);
  assert_int_equal(req->resource_spans[0]->resource->n_attributes, 1);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__free_unpacked(req, NULL);
  free(buf);
  free(buf2);
}

/* An ordinary OTLP request of one span of service "web", packed by protoc-c. */
static uint8_t *plain_request(size_t *len) {
  Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceRequest req =
      OPENTELEMETRY__PROTO__COLLECTOR__TRACE__V1__EXPORT_TRACE_SERVICE_REQUEST__INIT;
  Opentelemetry__Proto__Trace__V1__ResourceSpans rs = OPENTELEMETRY__PROTO__TRACE__V1__RESOURCE_SPANS__INIT;
  Opentelemetry__Proto__Resource__V1__Resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  Opentelemetry__Proto__Common__V1__KeyValue kv = OPENTELEMETRY__PROTO__COMMON__V1__KEY_VALUE__INIT;
  Opentelemetry__Proto__Common__V1__AnyValue val = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__INIT;
  Opentelemetry__Proto__Trace__V1__ScopeSpans ss = OPENTELEMETRY__PROTO__TRACE__V1__SCOPE_SPANS__INIT;
  Opentelemetry__Proto__Common__V1__InstrumentationScope scope =
      OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
  Opentelemetry__Proto__Trace__V1__Span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
  static uint8_t tid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16}, sid[8] = {1, 2, 3, 4, 5, 6, 7, 8};
  val.value_case = OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE;
  val.string_value = "web";
  kv.key = "service.name";
  kv.value = &val;
  kv_t *kvs[] = {&kv};
  res.n_attributes = 1;
  res.attributes = kvs;
  scope.name = "net/http";
  sp.trace_id = (ProtobufCBinaryData){16, tid};
  sp.span_id = (ProtobufCBinaryData){8, sid};
  sp.name = "GET /";
  sp.start_time_unix_nano = 1765000000000000000ull;
  sp.end_time_unix_nano = 1765000000001000000ull;
  Opentelemetry__Proto__Trace__V1__Span *sps[] = {&sp};
  ss.scope = &scope;
  ss.n_spans = 1;
  ss.spans = sps;
  Opentelemetry__Proto__Trace__V1__ScopeSpans *sss[] = {&ss};
  rs.resource = &res;
  rs.n_scope_spans = 1;
  rs.scope_spans = sss;
  Opentelemetry__Proto__Trace__V1__ResourceSpans *rss[] = {&rs};
  req.n_resource_spans = 1;
  req.resource_spans = rss;
  *len = protobuf_c_message_get_packed_size(&req.base);
  uint8_t *out = malloc(*len);
  assert_non_null(out);
  protobuf_c_message_pack(&req.base, out);
  return out;
}

/* Two serialized requests one after the other are one request with both's
 * resource_spans (protobuf merges repeated fields): as a Collector batches. */
static uint8_t *concat(const uint8_t *a, size_t na, const uint8_t *b, size_t nb, size_t *len) {
  uint8_t *out = malloc(na + nb);
  assert_non_null(out);
  memcpy(out, a, na);
  memcpy(out + na, b, nb);
  *len = na + nb;
  return out;
}

static void test_split(void **state) {
  (void)state;
  uint8_t *c1, *c2, *plain, *body;
  size_t n1, n2, np, len;
  carrier("gctrace", "pod-7", GC_LINE, strlen(GC_LINE), &c1, &n1);
  carrier("heap", "pod-7", "not a profile", 13, &c2, &n2); /* cannot be read: rejected */
  plain = plain_request(&np);
  uint8_t *tmp = concat(c1, n1, plain, np, &len);
  body = concat(tmp, len, c2, n2, &len);
  free(tmp);

  mw_arena *a = mw__arena_new(0);
  mw_limits lim = MW_LIMITS_DEFAULT;
  mw_span_batch spans;
  mw_otlp_carried carried;
  char err[512] = "";
  int rc = mw__ingest_otlp_split(a, MW_OTLP_PROTOBUF, body, len, &lim, 1765000002000000000, NULL, &spans, &carried, err,
                                 sizeof err);
  assert_int_equal(rc, MW_OK);
  /* the real span stays a span; the carriers are not spans */
  assert_int_equal(spans.n_rows, 1);
  assert_int_equal(carried.payloads, 1);
  assert_int_equal(carried.rejected, 1);
  assert_int_equal(spans.rejected, 1);
  assert_non_null(spans.reject_reason);
  assert_non_null(strstr(spans.reject_reason, "meanwhile.runtime"));
  mw_runtime_batch *b = carried.first;
  assert_non_null(b);
  assert_null(b->next);
  assert_string_equal(b->service, "checkout");
  assert_string_equal(b->instance, "pod-7");
  assert_int_equal(b->n_gc, 1);
  mw__arena_free(a);

  /* the sender's mistakes, one at a time: each a rejected span naming the attribute */
  static const struct {
    const char *kind;
    const char *needle;
  } bad[] = {{"bogus", "meanwhile.kind"}, {"pprof", "meanwhile.kind"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    uint8_t *cb;
    size_t nb;
    carrier(bad[i].kind, "pod-7", GC_LINE, strlen(GC_LINE), &cb, &nb);
    a = mw__arena_new(0);
    rc = mw__ingest_otlp_split(a, MW_OTLP_PROTOBUF, cb, nb, &lim, 1765000002000000000, NULL, &spans, &carried, err,
                               sizeof err);
    assert_int_equal(rc, MW_OK);
    assert_int_equal(spans.n_rows, 0);
    assert_int_equal(carried.payloads, 0);
    assert_int_equal(spans.rejected, 1);
    assert_non_null(strstr(spans.reject_reason, bad[i].needle));
    mw__arena_free(a);
    free(cb);
  }
  free(c1);
  free(c2);
  free(plain);
  free(body);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_encode_fields),
      cmocka_unit_test(test_split),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
