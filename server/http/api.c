/* The span query API: one trace (Tempo-shaped OTLP JSON), trace search,
 * services and operations with duration percentiles. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "decode/otlp.h"
#include "meanwhile/store/v1/store.pb-c.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* A trace larger than this is refused rather than rendered (issue: limits). */
enum { MAX_TRACE_SPANS = 100000, MAX_SEARCH_LIMIT = 1000 };

static const mw_stored_blob *find_blob(const mw_stored_blob *set, size_t n, int64_t id) {
  for (size_t i = 0; i < n; i++)
    if (set[i].id == id) return &set[i];
  return NULL;
}

/* Writes the spans of one (source, scope) group as an OTLP ScopeSpans. */
static void write_scope_spans(mw_jsonw *w, mw_arena *a, const mw_trace_rows *t, int64_t source_id,
                              int64_t scope_id, char *done) {
  ProtobufCAllocator al = mw__arena_pb_allocator(a);
  const mw_stored_blob *sb = find_blob(t->scopes, t->n_scopes, scope_id);
  Meanwhile__Store__V1__StoredScope *sc =
      sb ? meanwhile__store__v1__stored_scope__unpack(&al, sb->len, sb->data) : NULL;
  mw__jw_obj(w);
  mw__jw_key(w, "scope");
  mw__otlp_json_scope(w, sc ? sc->scope : NULL);
  if (sc && sc->schema_url && *sc->schema_url) mw__jw_kstr(w, "schemaUrl", sc->schema_url);
  mw__jw_key(w, "spans");
  mw__jw_arr(w);
  for (size_t i = 0; i < t->n_spans; i++) {
    const mw_stored_span *s = &t->spans[i];
    if (done[i] || s->source_id != source_id || s->scope_id != scope_id) continue;
    done[i] = 1;
    mw_otlp_span *sp = opentelemetry__proto__trace__v1__span__unpack(&al, s->body_len, s->body);
    if (!sp) {
      mw__error("stored span does not decode", NULL);
      continue;
    }
    /* put back the fields that were stored as columns */
    sp->trace_id.data = (uint8_t *)s->trace_id;
    sp->trace_id.len = 16;
    sp->span_id.data = (uint8_t *)s->span_id;
    sp->span_id.len = 8;
    sp->parent_span_id.data = (uint8_t *)s->parent_id;
    sp->parent_span_id.len = s->has_parent ? 8 : 0;
    sp->name = (char *)s->name;
    sp->kind = s->kind;
    sp->start_time_unix_nano = (uint64_t)s->start_ns;
    sp->end_time_unix_nano = (uint64_t)(s->start_ns + s->dur_ns);
    mw__otlp_json_span(w, sp);
  }
  mw__jw_arr_end(w);
  mw__jw_obj_end(w);
}

static void handle_trace(mw_req *r) {
  const char *id = r->url + strlen("/api/traces/");
  uint8_t tid[16];
  if (mw__hex_decode(tid, 16, id, strlen(id)) != MW_OK)
    return mw__reply_json_error(r, 400, "trace id must be 32 hex digits, got \"%.64s\"", id);
  mw_trace_rows t;
  int rc = mw__store_read_trace(r->http->opts.store, r->arena, tid, MAX_TRACE_SPANS, &t);
  if (rc == MW_ETOOBIG) return mw__reply_json_error(r, 413, "trace has more than %d spans", MAX_TRACE_SPANS);
  if (rc) return mw__reply_json_error(r, 500, "reading the trace failed: %s", mw__strerror(rc));
  if (!t.n_spans) return mw__reply_json_error(r, 404, "trace %s not found", id);

  char *done = mw__arena_calloc(r->arena, t.n_spans, 1);
  if (!done) return mw__reply_json_error(r, 500, "out of memory");
  ProtobufCAllocator al = mw__arena_pb_allocator(r->arena);
  mw_buf b;
  mw__buf_init(&b, (size_t)256 << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "batches");
  mw__jw_arr(&w);
  for (size_t si = 0; si < t.n_sources; si++) {
    const mw_stored_blob *src = &t.sources[si];
    Meanwhile__Store__V1__StoredResource *res = meanwhile__store__v1__stored_resource__unpack(&al, src->len, src->data);
    mw__jw_obj(&w);
    mw__jw_key(&w, "resource");
    mw__otlp_json_resource(&w, res ? res->resource : NULL);
    if (res && res->schema_url && *res->schema_url) mw__jw_kstr(&w, "schemaUrl", res->schema_url);
    mw__jw_key(&w, "scopeSpans");
    mw__jw_arr(&w);
    for (size_t i = 0; i < t.n_spans; i++)
      if (!done[i] && t.spans[i].source_id == src->id)
        write_scope_spans(&w, r->arena, &t, src->id, t.spans[i].scope_id, done);
    mw__jw_arr_end(&w);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_obj_end(&w);
  if (mw__jw_error(&w)) {
    mw__buf_free(&b);
    return mw__reply_json_error(r, 500, "rendering the trace failed");
  }
  mw__reply_buf(r, 200, "application/json", &b);
}

static int duration_arg(mw_req *r, const char *name, int64_t dflt, int64_t *out) {
  const char *v = mw__req_arg(r, name);
  if (!v || !*v) {
    *out = dflt;
    return 0;
  }
  if (mw__parse_duration(v, out) != MW_OK || *out < 0) {
    mw__reply_json_error(r, 400, "%s must be a duration like 250ms or 1.5s, got \"%.64s\"", name, v);
    return -1;
  }
  return 0;
}

static void handle_search(mw_req *r) {
  mw_search_query q = {0};
  q.service = mw__req_arg(r, "service");
  q.name = mw__req_arg(r, "name");
  if (q.service && !*q.service) q.service = NULL;
  if (q.name && !*q.name) q.name = NULL;
  if (duration_arg(r, "minDuration", 0, &q.min_dur_ns) || duration_arg(r, "maxDuration", INT64_MAX, &q.max_dur_ns) ||
      mw__query_window(r, &q.start_ns, &q.end_ns) || mw__page_args(r, 20, MAX_SEARCH_LIMIT, &q.page))
    return;
  mw_search_hit *hits;
  size_t n, next;
  int rc = mw__store_search(r->http->opts.store, r->arena, &q, &hits, &n, &next);
  if (rc) return mw__reply_json_error(r, 500, "search failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < n; i++) room += 256 + mw__json_room(hits[i].root_service) + mw__json_room(hits[i].root_name);
  mw_buf b;
  mw__buf_init(&b, room);
  mw_jsonw w;
  mw__jw_init(&w, &b);
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
  mw__reply_buf(r, 200, "application/json", &b);
}

/* /api/v1/services[?name=&offset=&limit=] */
static void handle_services(mw_req *r) {
  mw_page pg;
  if (mw__page_args(r, MW_PAGE_ROWS, MW_PAGE_ROWS, &pg)) return;
  const char *name = mw__req_arg(r, "name");
  mw_service_info *sv;
  size_t n, next;
  int rc = mw__store_services(r->http->opts.store, r->arena, name && *name ? name : NULL, &pg, &sv, &n, &next);
  if (rc) return mw__reply_json_error(r, 500, "listing services failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < n; i++) room += 128 + mw__json_room(sv[i].name);
  mw_buf b;
  mw__buf_init(&b, room);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "services");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "name", sv[i].name);
    mw__jw_kint(&w, "span_count", sv[i].span_count);
    mw__jw_kint(&w, "operation_count", sv[i].operation_count);
    mw__jw_kint(&w, "instance_count", sv[i].instance_count);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  mw__reply_buf(r, 200, "application/json", &b);
}

/* /api/v1/services/{service}/operations[?start=&end=&offset=&limit=] */
static void handle_operations(mw_req *r) {
  const char *rest = r->url + strlen("/api/v1/services/");
  const char *slash = strrchr(rest, '/');
  if (!slash || strcmp(slash, "/operations") != 0 || slash == rest)
    return mw__reply_json_error(r, 404, "no such endpoint: %s", r->url);
  char *service = mw__arena_strndup(r->arena, rest, (size_t)(slash - rest));
  int64_t start, end;
  mw_page pg;
  if (mw__query_window(r, &start, &end) || mw__page_args(r, MW_PAGE_ROWS, MW_PAGE_ROWS, &pg)) return;
  mw_operation_stats *ops;
  size_t n, next;
  int rc = mw__store_operations(r->http->opts.store, r->arena, service, start, end, &pg, &ops, &n, &next);
  if (rc == MW_ENOTFOUND) return mw__reply_json_error(r, 404, "service \"%.128s\" not found", service);
  if (rc) return mw__reply_json_error(r, 500, "listing operations failed: %s", mw__strerror(rc));
  size_t room = 4096 + mw__json_room(service);
  for (size_t i = 0; i < n; i++) room += 256 + mw__json_room(ops[i].name);
  mw_buf b;
  mw__buf_init(&b, room);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "service", service);
  mw__jw_key(&w, "operations");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    mw__jw_obj(&w);
    mw__jw_kstr(&w, "name", ops[i].name);
    mw__jw_kint(&w, "count", ops[i].count);
    mw__jw_kint(&w, "p50_ns", ops[i].p50_ns);
    mw__jw_kint(&w, "p90_ns", ops[i].p90_ns);
    mw__jw_kint(&w, "p99_ns", ops[i].p99_ns);
    mw__jw_kint(&w, "max_ns", ops[i].max_ns);
    if (ops[i].sampled) mw__jw_kbool(&w, "sampled", 1);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  mw__reply_buf(r, 200, "application/json", &b);
}

const mw_route mw__api_routes[] = {
    {.method = "GET", .path = "/api/traces/", .prefix = 1, .query = 1, .handle = handle_trace},
    {.method = "GET", .path = "/api/search", .query = 1, .handle = handle_search},
    {.method = "GET", .path = "/api/v1/services", .query = 1, .handle = handle_services},
    {.method = "GET", .path = "/api/v1/services/", .prefix = 1, .query = 1, .handle = handle_operations},
    {0},
};
