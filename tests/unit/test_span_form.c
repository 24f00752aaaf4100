/* Tests for the stored span form (decode/span_form.c): a span with every
 * field OTLP has, its resource and its scope go into the stored form and come
 * back field for field. The expected values are the ones written into the
 * input by hand below, not read back from the code under test. */
#define _GNU_SOURCE /* memmem */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/error.h"
#include "decode/span_form.h"

typedef Opentelemetry__Proto__Common__V1__AnyValue any;
typedef Opentelemetry__Proto__Common__V1__KeyValue kv;

#define CASE(x) OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_##x

static const uint8_t TRACE[16] = {0x5b, 0x8e, 0xfc, 0xe9, 0x1c, 0x0a, 0x4d, 0x11,
                                  0x9b, 0x77, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08};
static const uint8_t SPAN[8] = {0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8};
static const uint8_t PARENT[8] = {0xb1, 0, 0, 0, 0, 0, 0, 0xb8};
static const uint8_t LINKED_TRACE[16] = {0xc1, [15] = 0xcf};
static const uint8_t LINKED_SPAN[8] = {0xd1, [7] = 0xd8};
static const uint8_t BYTES[3] = {0x00, 0x01, 0xff};

static any *value(mw_arena *a, int c) {
  any *v = mw__arena_calloc(a, 1, sizeof *v);
  opentelemetry__proto__common__v1__any_value__init(v);
  v->value_case = c;
  return v;
}

static kv *pair(mw_arena *a, const char *key, any *v) {
  kv *p = mw__arena_calloc(a, 1, sizeof *p);
  opentelemetry__proto__common__v1__key_value__init(p);
  p->key = (char *)key;
  p->value = v;
  return p;
}

static any *str(mw_arena *a, const char *s) {
  any *v = value(a, CASE(STRING_VALUE));
  v->string_value = (char *)s;
  return v;
}

static any *integer(mw_arena *a, int64_t i) {
  any *v = value(a, CASE(INT_VALUE));
  v->int_value = i;
  return v;
}

/* The attributes of the span: one of every AnyValue type, an empty string
 * (as the decoders give it: protobuf-c's own empty string) and nesting. */
static kv **attributes(mw_arena *a, size_t *n) {
  kv **kvs = mw__arena_calloc(a, 8, sizeof *kvs);
  kvs[0] = pair(a, "http.route", str(a, "/cart/{id}"));
  kvs[1] = pair(a, "empty", str(a, protobuf_c_empty_string));
  any *b = value(a, CASE(BOOL_VALUE));
  b->bool_value = 1;
  kvs[2] = pair(a, "cache.hit", b);
  kvs[3] = pair(a, "http.status_code", integer(a, -42));
  any *d = value(a, CASE(DOUBLE_VALUE));
  d->double_value = 0.25;
  kvs[4] = pair(a, "ratio", d);
  any *y = value(a, CASE(BYTES_VALUE));
  y->bytes_value.data = (uint8_t *)BYTES;
  y->bytes_value.len = 3;
  kvs[5] = pair(a, "raw", y);
  any *arr = value(a, CASE(ARRAY_VALUE));
  arr->array_value = mw__arena_calloc(a, 1, sizeof *arr->array_value);
  opentelemetry__proto__common__v1__array_value__init(arr->array_value);
  arr->array_value->values = mw__arena_calloc(a, 2, sizeof *arr->array_value->values);
  arr->array_value->values[0] = integer(a, 7);
  arr->array_value->values[1] = str(a, protobuf_c_empty_string);
  arr->array_value->n_values = 2;
  kvs[6] = pair(a, "list", arr);
  any *m = value(a, CASE(KVLIST_VALUE));
  m->kvlist_value = mw__arena_calloc(a, 1, sizeof *m->kvlist_value);
  opentelemetry__proto__common__v1__key_value_list__init(m->kvlist_value);
  m->kvlist_value->values = mw__arena_calloc(a, 1, sizeof *m->kvlist_value->values);
  m->kvlist_value->values[0] = pair(a, "inner", str(a, "deep"));
  m->kvlist_value->n_values = 1;
  kvs[7] = pair(a, "map", m);
  *n = 8;
  return kvs;
}

static mw_otlp_span *full_span(mw_arena *a) {
  mw_otlp_span *sp = mw__arena_calloc(a, 1, sizeof *sp);
  opentelemetry__proto__trace__v1__span__init(sp);
  sp->trace_id = (ProtobufCBinaryData){16, (uint8_t *)TRACE};
  sp->span_id = (ProtobufCBinaryData){8, (uint8_t *)SPAN};
  sp->parent_span_id = (ProtobufCBinaryData){8, (uint8_t *)PARENT};
  sp->trace_state = "vendor=abc";
  sp->flags = 0x301;
  sp->name = "GET /cart";
  sp->kind = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__SPAN_KIND__SPAN_KIND_SERVER;
  sp->start_time_unix_nano = 1800000000123456789ULL;
  sp->end_time_unix_nano = 1800000000223456789ULL;
  sp->attributes = attributes(a, &sp->n_attributes);
  sp->dropped_attributes_count = 3;

  Opentelemetry__Proto__Trace__V1__Span__Event *ev = mw__arena_calloc(a, 1, sizeof *ev);
  opentelemetry__proto__trace__v1__span__event__init(ev);
  ev->time_unix_nano = 1800000000200000000ULL;
  ev->name = "exception";
  ev->attributes = mw__arena_calloc(a, 1, sizeof *ev->attributes);
  ev->attributes[0] = pair(a, "exception.message", str(a, "boom"));
  ev->n_attributes = 1;
  ev->dropped_attributes_count = 1;
  sp->events = mw__arena_calloc(a, 1, sizeof *sp->events);
  sp->events[0] = ev;
  sp->n_events = 1;
  sp->dropped_events_count = 4;

  Opentelemetry__Proto__Trace__V1__Span__Link *ln = mw__arena_calloc(a, 1, sizeof *ln);
  opentelemetry__proto__trace__v1__span__link__init(ln);
  ln->trace_id = (ProtobufCBinaryData){16, (uint8_t *)LINKED_TRACE};
  ln->span_id = (ProtobufCBinaryData){8, (uint8_t *)LINKED_SPAN};
  ln->trace_state = "l=1";
  ln->attributes = mw__arena_calloc(a, 1, sizeof *ln->attributes);
  ln->attributes[0] = pair(a, "link.n", integer(a, 1));
  ln->n_attributes = 1;
  ln->dropped_attributes_count = 2;
  ln->flags = 0x100;
  sp->links = mw__arena_calloc(a, 1, sizeof *sp->links);
  sp->links[0] = ln;
  sp->n_links = 1;
  sp->dropped_links_count = 5;

  Opentelemetry__Proto__Trace__V1__Status *st = mw__arena_calloc(a, 1, sizeof *st);
  opentelemetry__proto__trace__v1__status__init(st);
  st->message = "payment declined";
  st->code = OPENTELEMETRY__PROTO__TRACE__V1__STATUS__STATUS_CODE__STATUS_CODE_ERROR;
  sp->status = st;
  return sp;
}

static const kv *find(kv *const *kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (strcmp(kvs[i]->key, key) == 0) return kvs[i];
  fail_msg("attribute %s is missing", key);
  return NULL;
}

static void test_span_round_trip(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_otlp_span *in = full_span(a);
  mw_span_row row;
  memset(&row, 0, sizeof row);
  assert_int_equal(mw__span_form_put_span(a, in, &row), MW_OK);

  /* the columns */
  assert_memory_equal(row.trace_id, TRACE, 16);
  assert_memory_equal(row.span_id, SPAN, 8);
  assert_int_equal(row.has_parent, 1);
  assert_memory_equal(row.parent_id, PARENT, 8);
  assert_string_equal(row.name, "GET /cart");
  assert_int_equal(row.start_ns, 1800000000123456789LL);
  assert_int_equal(row.dur_ns, 100000000);
  assert_int_equal(row.kind, 2);
  assert_int_equal(row.status, 2);
  /* the body holds none of them: not the name, not the ids */
  assert_null(memmem(row.body, row.body_len, "GET /cart", 9));
  assert_null(memmem(row.body, row.body_len, TRACE, 16));
  assert_null(memmem(row.body, row.body_len, SPAN, 8));
  /* and the span given is as it was */
  assert_string_equal(in->name, "GET /cart");
  assert_int_equal(in->trace_id.len, 16);
  assert_int_equal(in->kind, 2);

  mw_otlp_span *out = mw__span_form_get_span(a, &row);
  assert_non_null(out);
  assert_int_equal(out->trace_id.len, 16);
  assert_memory_equal(out->trace_id.data, TRACE, 16);
  assert_int_equal(out->span_id.len, 8);
  assert_memory_equal(out->span_id.data, SPAN, 8);
  assert_int_equal(out->parent_span_id.len, 8);
  assert_memory_equal(out->parent_span_id.data, PARENT, 8);
  assert_string_equal(out->trace_state, "vendor=abc");
  assert_int_equal(out->flags, 0x301);
  assert_string_equal(out->name, "GET /cart");
  assert_int_equal(out->kind, 2);
  assert_int_equal(out->start_time_unix_nano, 1800000000123456789ULL);
  assert_int_equal(out->end_time_unix_nano, 1800000000223456789ULL);
  assert_int_equal(out->dropped_attributes_count, 3);
  assert_int_equal(out->n_attributes, 8);

  const kv *p = find(out->attributes, out->n_attributes, "http.route");
  assert_int_equal(p->value->value_case, CASE(STRING_VALUE));
  assert_string_equal(p->value->string_value, "/cart/{id}");
  p = find(out->attributes, out->n_attributes, "empty"); /* still a string, not an unset value */
  assert_int_equal(p->value->value_case, CASE(STRING_VALUE));
  assert_string_equal(p->value->string_value, "");
  p = find(out->attributes, out->n_attributes, "cache.hit");
  assert_int_equal(p->value->value_case, CASE(BOOL_VALUE));
  assert_int_equal(p->value->bool_value, 1);
  p = find(out->attributes, out->n_attributes, "http.status_code");
  assert_int_equal(p->value->value_case, CASE(INT_VALUE));
  assert_int_equal(p->value->int_value, -42);
  p = find(out->attributes, out->n_attributes, "ratio");
  assert_int_equal(p->value->value_case, CASE(DOUBLE_VALUE));
  assert_true(p->value->double_value == 0.25);
  p = find(out->attributes, out->n_attributes, "raw");
  assert_int_equal(p->value->value_case, CASE(BYTES_VALUE));
  assert_int_equal(p->value->bytes_value.len, 3);
  assert_memory_equal(p->value->bytes_value.data, BYTES, 3);
  p = find(out->attributes, out->n_attributes, "list");
  assert_int_equal(p->value->value_case, CASE(ARRAY_VALUE));
  assert_int_equal(p->value->array_value->n_values, 2);
  assert_int_equal(p->value->array_value->values[0]->value_case, CASE(INT_VALUE));
  assert_int_equal(p->value->array_value->values[0]->int_value, 7);
  assert_int_equal(p->value->array_value->values[1]->value_case, CASE(STRING_VALUE));
  assert_string_equal(p->value->array_value->values[1]->string_value, "");
  p = find(out->attributes, out->n_attributes, "map");
  assert_int_equal(p->value->value_case, CASE(KVLIST_VALUE));
  assert_int_equal(p->value->kvlist_value->n_values, 1);
  assert_string_equal(p->value->kvlist_value->values[0]->key, "inner");
  assert_string_equal(p->value->kvlist_value->values[0]->value->string_value, "deep");

  assert_int_equal(out->n_events, 1);
  assert_int_equal(out->events[0]->time_unix_nano, 1800000000200000000ULL);
  assert_string_equal(out->events[0]->name, "exception");
  assert_int_equal(out->events[0]->n_attributes, 1);
  assert_string_equal(out->events[0]->attributes[0]->key, "exception.message");
  assert_string_equal(out->events[0]->attributes[0]->value->string_value, "boom");
  assert_int_equal(out->events[0]->dropped_attributes_count, 1);
  assert_int_equal(out->dropped_events_count, 4);

  assert_int_equal(out->n_links, 1);
  assert_memory_equal(out->links[0]->trace_id.data, LINKED_TRACE, 16);
  assert_memory_equal(out->links[0]->span_id.data, LINKED_SPAN, 8);
  assert_string_equal(out->links[0]->trace_state, "l=1");
  assert_int_equal(out->links[0]->n_attributes, 1);
  assert_string_equal(out->links[0]->attributes[0]->key, "link.n");
  assert_int_equal(out->links[0]->attributes[0]->value->int_value, 1);
  assert_int_equal(out->links[0]->dropped_attributes_count, 2);
  assert_int_equal(out->links[0]->flags, 0x100);
  assert_int_equal(out->dropped_links_count, 5);

  assert_non_null(out->status);
  assert_string_equal(out->status->message, "payment declined");
  assert_int_equal(out->status->code, 2);
  mw__arena_free(a);
}

/* A root span (an all-zero parent id counts as none) with nothing else. */
static void test_root_span(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_otlp_span sp = OPENTELEMETRY__PROTO__TRACE__V1__SPAN__INIT;
  static const uint8_t zero[8] = {0};
  sp.trace_id = (ProtobufCBinaryData){16, (uint8_t *)TRACE};
  sp.span_id = (ProtobufCBinaryData){8, (uint8_t *)SPAN};
  sp.parent_span_id = (ProtobufCBinaryData){8, (uint8_t *)zero};
  sp.name = "main";
  sp.start_time_unix_nano = sp.end_time_unix_nano = 5;
  mw_span_row row;
  assert_int_equal(mw__span_form_put_span(a, &sp, &row), MW_OK);
  assert_int_equal(row.has_parent, 0);
  assert_int_equal(row.dur_ns, 0);
  assert_int_equal(row.status, 0);
  assert_int_equal(row.body_len, 0); /* nothing is left beside the columns */
  mw_otlp_span *out = mw__span_form_get_span(a, &row);
  assert_non_null(out);
  assert_int_equal(out->parent_span_id.len, 0);
  assert_string_equal(out->name, "main");
  assert_int_equal(out->start_time_unix_nano, 5);
  assert_int_equal(out->end_time_unix_nano, 5);
  assert_null(out->status);
  mw__arena_free(a);
}

static void test_resource_and_scope(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_otlp_resource res = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  kv *attrs[5] = {pair(a, "service.name", str(a, "checkout")), pair(a, "service.instance.id", str(a, "i-7")),
                  pair(a, "host.name", str(a, "node-3")), pair(a, "process.pid", integer(a, 4242)),
                  pair(a, "deployment", str(a, protobuf_c_empty_string))};
  res.attributes = attrs;
  res.n_attributes = 5;
  res.dropped_attributes_count = 9;
  mw_resource_ref ref;
  assert_int_equal(mw__span_form_put_resource(a, &res, "https://opentelemetry.io/schemas/1.26.0", &ref), MW_OK);
  assert_string_equal(ref.service, "checkout");
  assert_string_equal(ref.instance, "i-7");
  assert_string_equal(ref.host, "node-3");
  assert_int_equal(ref.pid, 4242);
  const char *url;
  mw_otlp_resource *back = mw__span_form_get_resource(a, ref.resource, ref.resource_len, &url);
  assert_non_null(back);
  assert_string_equal(url, "https://opentelemetry.io/schemas/1.26.0");
  assert_int_equal(back->n_attributes, 5);
  assert_int_equal(back->dropped_attributes_count, 9);
  assert_string_equal(back->attributes[0]->key, "service.name");
  assert_string_equal(back->attributes[0]->value->string_value, "checkout");
  assert_int_equal(back->attributes[3]->value->int_value, 4242);
  assert_int_equal(back->attributes[4]->value->value_case, CASE(STRING_VALUE));

  /* none: the unknown service of no instance; and a pid given as a string */
  assert_int_equal(mw__span_form_put_resource(a, NULL, NULL, &ref), MW_OK);
  assert_string_equal(ref.service, "unknown_service");
  assert_string_equal(ref.instance, "");
  assert_null(ref.host);
  assert_int_equal(ref.pid, 0);
  back = mw__span_form_get_resource(a, ref.resource, ref.resource_len, &url);
  assert_non_null(back);
  assert_int_equal(back->n_attributes, 0);
  assert_string_equal(url, "");
  kv *pid[1] = {pair(a, "process.pid", str(a, "77"))};
  res.attributes = pid;
  res.n_attributes = 1;
  assert_int_equal(mw__span_form_put_resource(a, &res, "", &ref), MW_OK);
  assert_int_equal(ref.pid, 77);

  mw_otlp_scope sc = OPENTELEMETRY__PROTO__COMMON__V1__INSTRUMENTATION_SCOPE__INIT;
  sc.name = "go.opentelemetry.io/contrib/otelhttp";
  sc.version = "0.53.0";
  kv *sattrs[1] = {pair(a, "lib.flag", str(a, protobuf_c_empty_string))};
  sc.attributes = sattrs;
  sc.n_attributes = 1;
  sc.dropped_attributes_count = 2;
  mw_scope_ref sref;
  assert_int_equal(mw__span_form_put_scope(a, &sc, "https://s/1", &sref), MW_OK);
  mw_otlp_scope *sback = mw__span_form_get_scope(a, sref.body, sref.body_len, &url);
  assert_non_null(sback);
  assert_string_equal(url, "https://s/1");
  assert_string_equal(sback->name, "go.opentelemetry.io/contrib/otelhttp");
  assert_string_equal(sback->version, "0.53.0");
  assert_int_equal(sback->n_attributes, 1);
  assert_int_equal(sback->attributes[0]->value->value_case, CASE(STRING_VALUE));
  assert_int_equal(sback->dropped_attributes_count, 2);
  /* a ScopeSpans without a scope keeps its schema URL */
  assert_int_equal(mw__span_form_put_scope(a, NULL, "https://s/2", &sref), MW_OK);
  assert_null(mw__span_form_get_scope(a, sref.body, sref.body_len, &url));
  assert_string_equal(url, "https://s/2");
  /* what does not decode is NULL, not a crash */
  assert_null(mw__span_form_get_resource(a, (const uint8_t *)"\xff\xff", 2, &url));
  mw_span_row bad = {.body = (const uint8_t *)"\xff\xff", .body_len = 2};
  assert_null(mw__span_form_get_span(a, &bad));
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_span_round_trip),
      cmocka_unit_test(test_root_span),
      cmocka_unit_test(test_resource_and_scope),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
