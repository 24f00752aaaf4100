/* Span queries (see traces.h). A trace comes back in the shape it was sent
 * in: spans grouped by resource, then by scope, each rebuilt from its stored
 * form (decode/span_form.h). */
#include "query/traces.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "decode/span_form.h"

#include <string.h>

static const mw_stored_blob *find_blob(const mw_stored_blob *set, size_t n, int64_t id) {
  for (size_t i = 0; i < n; i++)
    if (set[i].id == id) return &set[i];
  return NULL;
}

/* The stored span in protobuf-c form, or NULL (logged) when it does not decode. */
static mw_otlp_span *decode_span(mw_arena *a, const mw_stored_span *s) {
  mw_span_row *row = mw__arena_alloc(a, sizeof *row);
  mw_otlp_span *sp = NULL;
  if (row) {
    mw__stored_span_row(s, row);
    sp = mw__span_form_get_span(a, row);
  }
  if (!sp) mw__error("stored span does not decode", NULL);
  return sp;
}

/* The trace's spans of one (source, scope) group as an OTLP ScopeSpans in
 * protobuf-c form (NULL: out of memory). */
static mw_otlp_scope_spans *pb_scope_spans(mw_arena *a, const mw_trace_rows *t, int64_t source_id, int64_t scope_id,
                                           char *done) {
  mw_otlp_scope_spans *ss = mw__arena_alloc(a, sizeof *ss);
  mw_otlp_span **spans = mw__arena_calloc(a, t->n_spans, sizeof *spans);
  if (!ss || !spans) return NULL;
  opentelemetry__proto__trace__v1__scope_spans__init(ss);
  const mw_stored_blob *sb = find_blob(t->scopes, t->n_scopes, scope_id);
  const char *schema_url = "";
  ss->scope = sb ? mw__span_form_get_scope(a, sb->data, sb->len, &schema_url) : NULL;
  ss->schema_url = (char *)schema_url;
  ss->spans = spans;
  for (size_t i = 0; i < t->n_spans; i++) {
    const mw_stored_span *s = &t->spans[i];
    if (done[i] || s->source_id != source_id || s->scope_id != scope_id) continue;
    done[i] = 1;
    mw_otlp_span *sp = decode_span(a, s);
    if (!sp) continue;
    spans[ss->n_spans++] = sp;
  }
  return ss;
}

/* Writes the spans of one (source, scope) group as an OTLP ScopeSpans: the
 * group pb_scope_spans builds; MW_ENOMEM. */
static int write_scope_spans(mw_jsonw *w, mw_arena *a, const mw_trace_rows *t, int64_t source_id, int64_t scope_id,
                             char *done) {
  mw_otlp_scope_spans *ss = pb_scope_spans(a, t, source_id, scope_id, done);
  if (!ss) return MW_ENOMEM;
  mw__jw_obj(w);
  mw__jw_key(w, "scope");
  mw__otlp_json_scope(w, ss->scope);
  if (*ss->schema_url) mw__jw_kstr(w, "schemaUrl", ss->schema_url);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < ss->n_spans; i++) mw__otlp_json_span(w, ss->spans[i]);
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
  return MW_OK;
}

/* The trace as protobuf: Tempo's Trace (wire-identical to OTLP TracesData:
 * field 1, repeated ResourceSpans), wrapped for v2 in a TraceByIDResponse
 * (field 1, the Trace; status COMPLETE is the default, so not sent). */
static int trace_pb(mw_query *q, const mw_trace_rows *t, char *done, int v2, mw_answer *out) {
  mw_arena *a = q->arena;
  mw_otlp_request req;
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__init(&req);
  req.resource_spans = mw__arena_calloc(a, t->n_sources + 1, sizeof *req.resource_spans);
  if (!req.resource_spans) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  for (size_t si = 0; si < t->n_sources; si++) {
    const mw_stored_blob *src = &t->sources[si];
    mw_otlp_resource_spans *rs = mw__arena_alloc(a, sizeof *rs);
    mw_otlp_scope_spans **groups = mw__arena_calloc(a, t->n_scopes + 1, sizeof *groups);
    if (!rs || !groups) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
    opentelemetry__proto__trace__v1__resource_spans__init(rs);
    const char *schema_url = "";
    rs->resource = mw__span_form_get_resource(a, src->data, src->len, &schema_url);
    rs->schema_url = (char *)schema_url;
    rs->scope_spans = groups;
    for (size_t i = 0; i < t->n_spans; i++)
      if (!done[i] && t->spans[i].source_id == src->id) {
        mw_otlp_scope_spans *ss = pb_scope_spans(a, t, src->id, t->spans[i].scope_id, done);
        if (!ss) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
        groups[rs->n_scope_spans++] = ss;
      }
    req.resource_spans[req.n_resource_spans++] = rs;
  }
  size_t n = opentelemetry__proto__collector__trace__v1__export_trace_service_request__get_packed_size(&req);
  size_t head = 0;
  uint8_t prefix[11];
  if (v2) { /* TraceByIDResponse.trace: tag 1, length-delimited */
    prefix[head++] = 0x0a;
    for (uint64_t v = n;; v >>= 7) {
      prefix[head++] = (uint8_t)(v & 0x7f) | (v >= 0x80 ? 0x80 : 0);
      if (v < 0x80) break;
    }
  }
  mw__answer_bytes(out, "application/protobuf", (size_t)256 << 20);
  uint8_t *p = n + head <= out->body.max ? (uint8_t *)mw__buf_reserve(&out->body, n + head) : NULL;
  if (!p)
    return mw__answer_fail(out, n + head > out->body.max ? MW_ETOOBIG : MW_ENOMEM,
                           "the trace would be larger than 256 MiB in protobuf");
  memcpy(p, prefix, head);
  opentelemetry__proto__collector__trace__v1__export_trace_service_request__pack(&req, p + head);
  out->body.len = n + head;
  return MW_OK;
}

int mw__q_trace_as(mw_query *q, const uint8_t trace_id[16], enum mw_trace_format fmt, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  char hex[33];
  mw__hex_encode(hex, trace_id, 16);
  mw_trace_rows t;
  int rc = mw__store_read_trace(q->rd, q->arena, trace_id, MW_TRACE_MAX_SPANS, &t);
  if (rc == MW_ETOOBIG) return mw__answer_fail(out, rc, "trace has more than %d spans", MW_TRACE_MAX_SPANS);
  if (rc) return mw__answer_fail(out, rc, "reading the trace failed: %s", mw__strerror(rc));
  if (!t.n_spans) return mw__answer_fail(out, MW_ENOTFOUND, "trace %s not found", hex);
  char *done = mw__arena_calloc(q->arena, t.n_spans, 1);
  if (!done) return mw__answer_fail(out, MW_ENOMEM, "out of memory");
  if (fmt == MW_TRACE_V1_PB || fmt == MW_TRACE_V2_PB) return trace_pb(q, &t, done, fmt == MW_TRACE_V2_PB, out);
  int v2 = fmt == MW_TRACE_V2_JSON;
  mw_jsonw w;
  mw__answer_json(out, (size_t)256 << 20, &w);
  mw__jw_obj(&w);
  if (v2) { /* Tempo's TraceByIDResponse */
    mw__jw_key(&w, "trace");
    mw__jw_obj(&w);
  }
  mw__jw_key(&w, v2 ? "resourceSpans" : "batches");
  mw__jw_arr(&w);
  for (size_t si = 0; si < t.n_sources; si++) {
    const mw_stored_blob *src = &t.sources[si];
    const char *schema_url;
    mw_otlp_resource *res = mw__span_form_get_resource(q->arena, src->data, src->len, &schema_url);
    mw__jw_obj(&w);
    mw__jw_key(&w, "resource");
    mw__otlp_json_resource(&w, res);
    if (*schema_url) mw__jw_kstr(&w, "schemaUrl", schema_url);
    mw__jw_key(&w, "scopeSpans");
    mw__jw_arr(&w);
    for (size_t i = 0; i < t.n_spans; i++)
      if (!done[i] && t.spans[i].source_id == src->id &&
          write_scope_spans(&w, q->arena, &t, src->id, t.spans[i].scope_id, done)) {
        return mw__answer_fail(out, MW_ENOMEM, "out of memory");
      }
    mw__jw_arr_end(&w);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  if (v2) {
    mw__jw_obj_end(&w);
    mw__jw_kstr(&w, "status", "COMPLETE");
  }
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}

int mw__q_trace(mw_query *q, const uint8_t trace_id[16], mw_answer *out) {
  return mw__q_trace_as(q, trace_id, MW_TRACE_V1_JSON, out);
}

int mw__q_search(mw_query *q, const mw_search_query *p, mw_answer *out) {
  if (mw__query_open(q, out)) return out->rc;
  mw_search_hit *hits;
  size_t n, next;
  int rc = mw__store_search(q->rd, q->arena, p, &hits, &n, &next);
  if (rc) return mw__answer_fail(out, rc, "search failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < n; i++) room += 256 + mw__json_room(hits[i].root_service) + mw__json_room(hits[i].root_name);
  mw_jsonw w;
  mw__answer_json(out, room, &w);
  mw__jw_obj(&w);
  mw__jw_key(&w, "traces");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(&w);
    mw__jw_key(&w, "traceID");
    mw__jw_hex(&w, hits[i].trace_id, 16);
    mw__jw_kstr(&w, "rootServiceName", hits[i].root_service ? hits[i].root_service : "<root span not yet received>");
    if (hits[i].root_name) mw__jw_kstr(&w, "rootTraceName", hits[i].root_name);
    mw__jw_key(&w, "startTimeUnixNano");
    mw__jw_int_str(&w, hits[i].start_ns);
    mw__jw_kdouble(&w, "durationMs", (double)hits[i].dur_ns / 1e6);
    /* beyond Tempo's shape: the duration of the span that matched, the sort key */
    mw__jw_kdouble(&w, "matchedSpanDurationMs", (double)hits[i].match_dur_ns / 1e6);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  return mw__answer_end(out, &w);
}
