/* The checks both OTLP targets run on a flattened batch. */
#ifndef MW_FUZZ_OTLP_H
#define MW_FUZZ_OTLP_H
#include "fuzz_common.h"
#include "core/jsonw.h"
#include "decode/otlp.h"
#include "meanwhile/store/v1/store.pb-c.h"

#include <jansson.h>

/* Flattens req with the default limits and checks the batch: every row's
 * indices are in range, and every blob the writer would store (span bodies,
 * resources, scopes) unpacks again, the spans without their column fields.
 * Then renders them as GET /api/traces/{id} does (http/api.c: columns put
 * back, mw__otlp_json_*), and checks that whatever was accepted renders: no
 * writer error (the output stays far below its 64 MiB cap for fuzz-sized
 * inputs), and valid JSON. */
static inline void fuzz_otlp_flatten_and_check(mw_arena *a, const mw_otlp_request *req, const mw_otlp_flaws *flaws) {
  FUZZ_CHECK(req != NULL);
  mw_limits lim = MW_LIMITS_DEFAULT;
  mw_span_batch b;
  char err[256] = "";
  int rc = mw__otlp_flatten(a, req, flaws, &lim, &b, err, sizeof err);
  FUZZ_CHECK(rc == MW_OK || rc == MW_ETOOBIG || rc == MW_ENOMEM);
  fuzz_touch(err);
  if (rc != MW_OK) return;
  mw_buf out;
  mw__buf_init(&out, (size_t)64 << 20);
  mw_jsonw w;
  mw__jw_init(&w, &out);
  mw__jw_obj(&w);
  mw__jw_key(&w, "resources");
  mw__jw_arr(&w);
  FUZZ_CHECK(b.n_resources <= req->n_resource_spans);
  for (size_t i = 0; i < b.n_resources; i++) {
    const mw_resource_ref *r = &b.resources[i];
    FUZZ_CHECK(r->service != NULL && r->instance != NULL);
    fuzz_touch(r->service);
    fuzz_touch(r->instance);
    fuzz_touch(r->host);
    Meanwhile__Store__V1__StoredResource *sr =
        meanwhile__store__v1__stored_resource__unpack(NULL, r->resource_len, r->resource);
    FUZZ_CHECK(sr != NULL);
    mw__otlp_json_resource(&w, sr->resource);
    meanwhile__store__v1__stored_resource__free_unpacked(sr, NULL);
  }
  mw__jw_arr_end(&w);
  mw__jw_key(&w, "scopes");
  mw__jw_arr(&w);
  for (size_t i = 0; i < b.n_scopes; i++) {
    Meanwhile__Store__V1__StoredScope *st =
        meanwhile__store__v1__stored_scope__unpack(NULL, b.scopes[i].body_len, b.scopes[i].body);
    FUZZ_CHECK(st != NULL);
    mw__otlp_json_scope(&w, st->scope);
    meanwhile__store__v1__stored_scope__free_unpacked(st, NULL);
  }
  mw__jw_arr_end(&w);
  mw__jw_key(&w, "spans");
  mw__jw_arr(&w);
  if (b.rejected) FUZZ_CHECK(b.reject_reason == NULL || fuzz_touch(b.reject_reason) > 0);
  for (size_t i = 0; i < b.n_rows; i++) {
    const mw_span_row *row = &b.rows[i];
    FUZZ_CHECK(row->resource < b.n_resources);
    FUZZ_CHECK(row->scope < b.n_scopes);
    FUZZ_CHECK(row->start_ns > 0 && row->dur_ns >= 0);
    FUZZ_CHECK(row->name != NULL);
    fuzz_touch(row->name);
    FUZZ_CHECK(row->body != NULL);
    mw_otlp_span *back = opentelemetry__proto__trace__v1__span__unpack(NULL, row->body_len, row->body);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(back->trace_id.len == 0 && back->span_id.len == 0 && back->parent_span_id.len == 0);
    FUZZ_CHECK(back->start_time_unix_nano == 0 && back->end_time_unix_nano == 0 && back->kind == 0);
    FUZZ_CHECK(back->name != NULL && back->name[0] == '\0');
    /* put back the columns, as the reader does, and render */
    ProtobufCBinaryData tid = back->trace_id, sid = back->span_id, pid = back->parent_span_id;
    char *name = back->name;
    back->trace_id = (ProtobufCBinaryData){.len = 16, .data = (uint8_t *)row->trace_id};
    back->span_id = (ProtobufCBinaryData){.len = 8, .data = (uint8_t *)row->span_id};
    back->parent_span_id = (ProtobufCBinaryData){.len = row->has_parent ? 8 : 0, .data = (uint8_t *)row->parent_id};
    back->name = (char *)row->name;
    back->kind = row->kind;
    back->start_time_unix_nano = (uint64_t)row->start_ns;
    back->end_time_unix_nano = (uint64_t)(row->start_ns + row->dur_ns);
    mw__otlp_json_span(&w, back);
    back->trace_id = tid;
    back->span_id = sid;
    back->parent_span_id = pid;
    back->name = name;
    opentelemetry__proto__trace__v1__span__free_unpacked(back, NULL);
  }
  mw__jw_arr_end(&w);
  mw__jw_obj_end(&w);
  FUZZ_CHECK(!mw__jw_error(&w));
  {
    FUZZ_CHECK(out.data != NULL);
    json_error_t jerr;
    json_t *j = json_loadb(out.data, out.len, JSON_ALLOW_NUL, &jerr);
    if (!j) fprintf(stderr, "JSON writer output rejected: %s at %d:%d\n", jerr.text, jerr.line, jerr.column);
    FUZZ_CHECK(j != NULL);
    json_decref(j);
  }
  mw__buf_free(&out);
}

#endif
