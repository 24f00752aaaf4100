/* The checks both OTLP targets run on a flattened batch. */
#ifndef MW_FUZZ_OTLP_H
#define MW_FUZZ_OTLP_H
#include "fuzz_common.h"
#include "core/jsonw.h"
#include "decode/otlp.h"
#include "decode/span_form.h"

#include <jansson.h>

/* Flattens req with the default limits and checks the batch: every row's
 * indices are in range, and every blob the writer would store (span bodies,
 * resources, scopes) comes back from the stored span form (decode/span_form.h),
 * a span with its columns. Then renders them as GET /api/traces/{id} does
 * (query/traces.c: mw__otlp_json_*), and checks that whatever was accepted
 * renders: no writer error (the output stays far below its 64 MiB cap for
 * fuzz-sized inputs), and valid JSON. */
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
    const char *url;
    mw_otlp_resource *res = mw__span_form_get_resource(a, r->resource, r->resource_len, &url);
    FUZZ_CHECK(res != NULL); /* flattening stores a resource, if empty */
    fuzz_touch(url);
    mw__otlp_json_resource(&w, res);
  }
  mw__jw_arr_end(&w);
  mw__jw_key(&w, "scopes");
  mw__jw_arr(&w);
  for (size_t i = 0; i < b.n_scopes; i++) {
    const char *url;
    mw_otlp_scope *sc = mw__span_form_get_scope(a, b.scopes[i].body, b.scopes[i].body_len, &url);
    fuzz_touch(url);
    mw__otlp_json_scope(&w, sc);
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
    mw_otlp_span *back = mw__span_form_get_span(a, row);
    FUZZ_CHECK(back != NULL);
    FUZZ_CHECK(back->trace_id.len == 16 && memcmp(back->trace_id.data, row->trace_id, 16) == 0);
    FUZZ_CHECK(back->span_id.len == 8 && memcmp(back->span_id.data, row->span_id, 8) == 0);
    FUZZ_CHECK(back->parent_span_id.len == (row->has_parent ? 8u : 0u));
    FUZZ_CHECK(strcmp(back->name, row->name) == 0 && (int)back->kind == row->kind);
    FUZZ_CHECK(back->start_time_unix_nano == (uint64_t)row->start_ns);
    FUZZ_CHECK(back->end_time_unix_nano == (uint64_t)(row->start_ns + row->dur_ns));
    mw__otlp_json_span(&w, back);
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
