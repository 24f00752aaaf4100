/* The stored span form (see span_form.h). */
#include "decode/span_form.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/limits.h"
#include "meanwhile/store/v1/store.pb-c.h"

#include <stdlib.h>
#include <string.h>

/* --- encoding ------------------------------------------------------------------- */

/* protobuf-c does not pack a oneof string whose pointer is its default
 * (protobuf_c_empty_string), so {"stringValue": ""} would come back as the
 * empty value. Pointing such strings at another "" keeps their type. */
static const char empty_string[] = "";

static void keep_empty_strings(mw_otlp_kv **kvs, size_t n, size_t depth);

static void keep_empty_value(mw_otlp_value *v, size_t depth) {
  if (!v || depth > MW_ATTR_DECODE_DEPTH) return;
  if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE &&
      v->string_value == protobuf_c_empty_string)
    v->string_value = (char *)empty_string;
  else if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_ARRAY_VALUE && v->array_value)
    for (size_t i = 0; i < v->array_value->n_values; i++) keep_empty_value(v->array_value->values[i], depth + 1);
  else if (v->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_KVLIST_VALUE && v->kvlist_value)
    keep_empty_strings(v->kvlist_value->values, v->kvlist_value->n_values, depth + 1);
}

static void keep_empty_strings(mw_otlp_kv **kvs, size_t n, size_t depth) {
  for (size_t i = 0; i < n; i++) keep_empty_value(kvs[i]->value, depth);
}

static const char *attr_string(mw_otlp_kv **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (kvs[i]->value && strcmp(kvs[i]->key, key) == 0 &&
        kvs[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
      return kvs[i]->value->string_value;
  return NULL;
}

static int64_t attr_int(mw_otlp_kv **kvs, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++) {
    if (!kvs[i]->value || strcmp(kvs[i]->key, key) != 0) continue;
    if (kvs[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_INT_VALUE)
      return kvs[i]->value->int_value;
    if (kvs[i]->value->value_case == OPENTELEMETRY__PROTO__COMMON__V1__ANY_VALUE__VALUE_STRING_VALUE)
      return strtoll(kvs[i]->value->string_value, NULL, 10);
  }
  return 0;
}

/* Packs msg into the arena. */
static const uint8_t *pack(mw_arena *a, const ProtobufCMessage *msg, size_t *len) {
  *len = protobuf_c_message_get_packed_size(msg);
  uint8_t *p = mw__arena_alloc(a, *len ? *len : 1);
  if (p) protobuf_c_message_pack(msg, p);
  return p;
}

int mw__span_form_put_resource(mw_arena *a, mw_otlp_resource *res, const char *schema_url, mw_resource_ref *out) {
  mw_otlp_resource empty = OPENTELEMETRY__PROTO__RESOURCE__V1__RESOURCE__INIT;
  if (!res) res = &empty;
  keep_empty_strings(res->attributes, res->n_attributes, 0);
  Meanwhile__Store__V1__StoredResource sr = MEANWHILE__STORE__V1__STORED_RESOURCE__INIT;
  sr.resource = res;
  if (schema_url) sr.schema_url = (char *)schema_url;
  memset(out, 0, sizeof *out);
  out->resource = pack(a, &sr.base, &out->resource_len);
  if (!out->resource) return MW_ENOMEM;
  const char *svc = attr_string(res->attributes, res->n_attributes, "service.name");
  const char *inst = attr_string(res->attributes, res->n_attributes, "service.instance.id");
  out->service = svc && *svc ? svc : "unknown_service";
  out->instance = inst ? inst : "";
  out->host = attr_string(res->attributes, res->n_attributes, "host.name");
  out->pid = attr_int(res->attributes, res->n_attributes, "process.pid");
  return MW_OK;
}

int mw__span_form_put_scope(mw_arena *a, mw_otlp_scope *scope, const char *schema_url, mw_scope_ref *out) {
  if (scope) keep_empty_strings(scope->attributes, scope->n_attributes, 0);
  Meanwhile__Store__V1__StoredScope st = MEANWHILE__STORE__V1__STORED_SCOPE__INIT;
  st.scope = scope;
  if (schema_url) st.schema_url = (char *)schema_url;
  out->body = pack(a, &st.base, &out->body_len);
  return out->body ? MW_OK : MW_ENOMEM;
}

int mw__span_form_put_span(mw_arena *a, mw_otlp_span *sp, mw_span_row *row) {
  memcpy(row->trace_id, sp->trace_id.data, 16);
  memcpy(row->span_id, sp->span_id.data, 8);
  row->has_parent = sp->parent_span_id.len == 8 && !mw__is_zero(sp->parent_span_id.data, 8);
  if (row->has_parent) memcpy(row->parent_id, sp->parent_span_id.data, 8);
  row->start_ns = (int64_t)sp->start_time_unix_nano;
  row->dur_ns = (int64_t)(sp->end_time_unix_nano - sp->start_time_unix_nano);
  row->kind = (int)sp->kind;
  row->status = sp->status ? (int)sp->status->code : 0;
  row->name = sp->name;
  keep_empty_strings(sp->attributes, sp->n_attributes, 0);
  for (size_t i = 0; i < sp->n_events; i++)
    keep_empty_strings(sp->events[i]->attributes, sp->events[i]->n_attributes, 0);
  for (size_t i = 0; i < sp->n_links; i++) keep_empty_strings(sp->links[i]->attributes, sp->links[i]->n_attributes, 0);
  /* the columns are cleared from the stored body (mw__span_form_get_span puts
   * them back); the status stays in it, as its message is there too */
  mw_otlp_span body = *sp;
  body.trace_id.len = body.span_id.len = body.parent_span_id.len = 0;
  body.start_time_unix_nano = body.end_time_unix_nano = 0;
  body.kind = 0;
  body.name = (char *)protobuf_c_empty_string;
  row->body = pack(a, &body.base, &row->body_len);
  return row->body ? MW_OK : MW_ENOMEM;
}

/* --- decoding -------------------------------------------------------------------- */

mw_otlp_span *mw__span_form_get_span(mw_arena *a, const mw_span_row *row) {
  ProtobufCAllocator al = mw__arena_pb_allocator(a);
  mw_otlp_span *sp = opentelemetry__proto__trace__v1__span__unpack(&al, row->body_len, row->body);
  if (!sp) return NULL;
  sp->trace_id.data = (uint8_t *)row->trace_id;
  sp->trace_id.len = 16;
  sp->span_id.data = (uint8_t *)row->span_id;
  sp->span_id.len = 8;
  sp->parent_span_id.data = (uint8_t *)row->parent_id;
  sp->parent_span_id.len = row->has_parent ? 8 : 0;
  sp->name = (char *)row->name;
  sp->kind = row->kind;
  sp->start_time_unix_nano = (uint64_t)row->start_ns;
  sp->end_time_unix_nano = (uint64_t)(row->start_ns + row->dur_ns);
  return sp;
}

mw_otlp_resource *mw__span_form_get_resource(mw_arena *a, const uint8_t *blob, size_t len, const char **schema_url) {
  ProtobufCAllocator al = mw__arena_pb_allocator(a);
  Meanwhile__Store__V1__StoredResource *sr = meanwhile__store__v1__stored_resource__unpack(&al, len, blob);
  *schema_url = sr && sr->schema_url ? sr->schema_url : "";
  return sr ? sr->resource : NULL;
}

mw_otlp_scope *mw__span_form_get_scope(mw_arena *a, const uint8_t *blob, size_t len, const char **schema_url) {
  ProtobufCAllocator al = mw__arena_pb_allocator(a);
  Meanwhile__Store__V1__StoredScope *sc = meanwhile__store__v1__stored_scope__unpack(&al, len, blob);
  *schema_url = sc && sc->schema_url ? sc->schema_url : "";
  return sc ? sc->scope : NULL;
}
