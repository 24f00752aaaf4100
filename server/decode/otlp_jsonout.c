/* OTLP JSON output of protobuf-c trace structs (see otlp.h): what
 * GET /api/traces/{id} returns, readable by any OTLP/JSON consumer. */
#include "core/jsonw.h"
#include "decode/otlp.h"

#include <string.h>

/* GET /api/traces puts a span's attribute values 12 levels down (batches,
 * scopeSpans, spans, events, attributes...) and each kvlist adds 4: every
 * value ingest may accept must fit in the writer. */
_Static_assert(MW_JW_MAX_DEPTH >= 16 + 4 * (MW_ATTR_DEPTH_MAX + 1), "the JSON writer cannot nest what ingest accepts");

void mw__otlp_json_value(mw_jsonw *w, const mw_otlp_value *v) {
  mw__jw_obj(w);
  switch (v ? v->value_case : 0) {
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE:
    mw__jw_kstr(w, "stringValue", v->string_value);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BOOL_VALUE:
    mw__jw_kbool(w, "boolValue", v->bool_value);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE:
    mw__jw_key(w, "intValue");
    mw__jw_int_str(w, v->int_value);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_DOUBLE_VALUE:
    mw__jw_kdouble(w, "doubleValue", v->double_value);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_BYTES_VALUE:
    mw__jw_key(w, "bytesValue");
    mw__jw_base64(w, v->bytes_value.data, v->bytes_value.len);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE:
    mw__jw_key(w, "arrayValue");
    mw__jw_obj(w);
    mw__jw_key(w, "values");
    mw__jw_arr(w);
    for (size_t i = 0; v->array_value && i < v->array_value->n_values; i++)
      mw__otlp_json_value(w, v->array_value->values[i]);
    mw__jw_arr_end(w);
    mw__jw_obj_end(w);
    break;
  case OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE:
    mw__jw_key(w, "kvlistValue");
    mw__jw_obj(w);
    mw__jw_key(w, "values");
    if (v->kvlist_value) mw__otlp_json_attributes(w, v->kvlist_value->values, v->kvlist_value->n_values);
    else mw__otlp_json_attributes(w, NULL, 0);
    mw__jw_obj_end(w);
    break;
  default: break; /* the empty value: {} */
  }
  mw__jw_obj_end(w);
}

void mw__otlp_json_attributes(mw_jsonw *w, mw_otlp_kv *const *kvs, size_t n) {
  mw__jw_arr(w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(w);
    mw__jw_kstr(w, "key", kvs[i]->key);
    mw__jw_key(w, "value");
    mw__otlp_json_value(w, kvs[i]->value);
    mw__jw_obj_end(w);
  }
  mw__jw_arr_end(w);
}

static void opt_attrs(mw_jsonw *w, mw_otlp_kv *const *kvs, size_t n, uint32_t dropped) {
  if (n) {
    mw__jw_key(w, "attributes");
    mw__otlp_json_attributes(w, kvs, n);
  }
  if (dropped) mw__jw_kint(w, "droppedAttributesCount", dropped);
}

static void opt_str(mw_jsonw *w, const char *key, const char *s) {
  if (s && *s) mw__jw_kstr(w, key, s);
}

static void opt_id(mw_jsonw *w, const char *key, ProtobufCBinaryData id) {
  if (id.len) {
    mw__jw_key(w, key);
    mw__jw_hex(w, id.data, id.len);
  }
}

void mw__otlp_json_span(mw_jsonw *w, const mw_otlp_span *s) {
  mw__jw_obj(w);
  opt_id(w, "traceId", s->trace_id);
  opt_id(w, "spanId", s->span_id);
  opt_str(w, "traceState", s->trace_state);
  opt_id(w, "parentSpanId", s->parent_span_id);
  if (s->flags) mw__jw_kint(w, "flags", s->flags);
  mw__jw_kstr(w, "name", s->name);
  mw__jw_kint(w, "kind", s->kind);
  mw__jw_key(w, "startTimeUnixNano");
  mw__jw_int_str(w, (int64_t)s->start_time_unix_nano);
  mw__jw_key(w, "endTimeUnixNano");
  mw__jw_int_str(w, (int64_t)s->end_time_unix_nano);
  opt_attrs(w, s->attributes, s->n_attributes, s->dropped_attributes_count);
  if (s->n_events) {
    mw__jw_key(w, "events");
    mw__jw_arr(w);
    for (size_t i = 0; i < s->n_events; i++) {
      const Opentelemetry__Proto__Trace__V1__Span__Event *e = s->events[i];
      mw__jw_obj(w);
      mw__jw_key(w, "timeUnixNano");
      mw__jw_int_str(w, (int64_t)e->time_unix_nano);
      mw__jw_kstr(w, "name", e->name);
      opt_attrs(w, e->attributes, e->n_attributes, e->dropped_attributes_count);
      mw__jw_obj_end(w);
    }
    mw__jw_arr_end(w);
  }
  if (s->dropped_events_count) mw__jw_kint(w, "droppedEventsCount", s->dropped_events_count);
  if (s->n_links) {
    mw__jw_key(w, "links");
    mw__jw_arr(w);
    for (size_t i = 0; i < s->n_links; i++) {
      const Opentelemetry__Proto__Trace__V1__Span__Link *l = s->links[i];
      mw__jw_obj(w);
      opt_id(w, "traceId", l->trace_id);
      opt_id(w, "spanId", l->span_id);
      opt_str(w, "traceState", l->trace_state);
      opt_attrs(w, l->attributes, l->n_attributes, l->dropped_attributes_count);
      if (l->flags) mw__jw_kint(w, "flags", l->flags);
      mw__jw_obj_end(w);
    }
    mw__jw_arr_end(w);
  }
  if (s->dropped_links_count) mw__jw_kint(w, "droppedLinksCount", s->dropped_links_count);
  mw__jw_key(w, "status");
  mw__jw_obj(w);
  if (s->status) {
    opt_str(w, "message", s->status->message);
    if (s->status->code) mw__jw_kint(w, "code", s->status->code);
  }
  mw__jw_obj_end(w);
  mw__jw_obj_end(w);
}

void mw__otlp_json_resource(mw_jsonw *w, const Opentelemetry__Proto__Resource__V1__Resource *r) {
  mw__jw_obj(w);
  mw__jw_key(w, "attributes");
  mw__otlp_json_attributes(w, r ? r->attributes : NULL, r ? r->n_attributes : 0);
  if (r && r->dropped_attributes_count) mw__jw_kint(w, "droppedAttributesCount", r->dropped_attributes_count);
  mw__jw_obj_end(w);
}

void mw__otlp_json_scope(mw_jsonw *w, const Opentelemetry__Proto__Common__V1__InstrumentationScope *s) {
  mw__jw_obj(w);
  if (s) {
    opt_str(w, "name", s->name);
    opt_str(w, "version", s->version);
    opt_attrs(w, s->attributes, s->n_attributes, s->dropped_attributes_count);
  }
  mw__jw_obj_end(w);
}
