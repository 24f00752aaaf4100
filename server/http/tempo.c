/* Grafana Tempo's HTTP API, as Tempo documents it
 * (https://grafana.com/docs/tempo/latest/api_docs/), enough for Grafana's
 * Tempo data source: echo, build info, trace by id v2, tag names and tag
 * values (v1 and v2). Trace by id v1 and search are /api/traces/ and
 * /api/search (http/api.c). Unknown parameters are refused as bad requests. */
#include "http/http_int.h"
#include "core/error.h"
#include "query/tempo.h"
#include "query/traces.h"

#include <stdio.h>
#include <string.h>

#ifndef MW_VERSION
#define MW_VERSION "dev"
#endif

/* GET /api/echo: 200 "echo" (what Grafana's "Save & test" asks). */
static void handle_echo(mw_req *r) {
  if (mw__param_only(r, NULL, 0)) return;
  mw__reply_static(r, MW_OK, "text/plain; charset=utf-8", "echo", 4);
}

/* GET /api/status/buildinfo: Tempo's fields; a Meanwhile version is below
 * every Tempo version Grafana gates a feature on (streaming over gRPC among
 * them, which meanwhiled does not serve), so Grafana keeps to plain HTTP. */
static void handle_buildinfo(mw_req *r) {
  if (mw__param_only(r, NULL, 0)) return;
  char body[512];
  int n = snprintf(body, sizeof body,
                   "{\"version\":\"%s\",\"revision\":\"\",\"branch\":\"\",\"buildDate\":\"\",\"buildUser\":\"\","
                   "\"goVersion\":\"\"}",
                   MW_VERSION);
  char *copy = mw__arena_strndup(r->arena, body, (size_t)n);
  if (!copy) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  mw__reply_static(r, MW_OK, "application/json", copy, (size_t)n);
}

/* 1 when the client asks for protobuf (Grafana sends Accept: application/protobuf). */
int mw__tempo_wants_pb(mw_req *r) {
  const char *accept = mw__req_header(r, "Accept");
  return accept && strstr(accept, "application/protobuf") != NULL;
}

int mw__tempo_trace_params(mw_req *r, const char *id, uint8_t tid[16]) {
  static const char *const known[] = {"start", "end"};
  int64_t t;
  if (mw__param_only(r, known, 2) || mw__param_hex(r, "trace id", id, strlen(id), tid, 16) ||
      mw__param_time(r, "start", &t) < 0 || mw__param_time(r, "end", &t) < 0)
    return -1;
  return 0;
}

/* GET /api/traces/{id} (v1) and /api/v2/traces/{id} */
void mw__tempo_trace(mw_req *r, const char *id, int v2) {
  uint8_t tid[16];
  if (mw__tempo_trace_params(r, id, tid)) return;
  int pb = mw__tempo_wants_pb(r);
  enum mw_trace_format fmt = v2 ? (pb ? MW_TRACE_V2_PB : MW_TRACE_V2_JSON) : (pb ? MW_TRACE_V1_PB : MW_TRACE_V1_JSON);
  mw_answer a;
  mw__q_trace_as(r->query, tid, fmt, &a);
  mw__reply_answer(r, &a);
}

static void handle_trace_v2(mw_req *r) { mw__tempo_trace(r, r->url + strlen("/api/v2/traces/"), 1); }

/* q of the tag endpoints and of search: NULL for none or `{}` (every span),
 * else the parsed filter; -1 after replying 400. */
int mw__tempo_tql(mw_req *r, const mw_tql **out) {
  *out = NULL;
  const char *q;
  if (mw__param_text(r, "q", 0, &q)) return -1;
  if (!q) return 0;
  const char *p = q;
  while (*p == ' ' || *p == '\t' || *p == '\n') p++;
  if (*p == '{') {
    const char *e = p + 1;
    while (*e == ' ' || *e == '\t' || *e == '\n') e++;
    if (*e == '}') {
      for (e++; *e == ' ' || *e == '\t' || *e == '\n';) e++;
      if (!*e) return 0; /* {}: every span, no filter */
    }
  }
  char err[256] = "";
  mw_tql *tql = NULL;
  int rc = mw__tql_parse(r->arena, q, strlen(q), &tql, err, sizeof err);
  if (rc != MW_OK) {
    mw__tql_free(tql);
    mw__reply_error(r, rc, "q: %s", err[0] ? err : "not a TraceQL query this build supports");
    return -1;
  }
  mw__tql_free(r->tql); /* a handler that asks twice */
  r->tql = tql;         /* freed with the request */
  *out = tql;
  return 0;
}

static const char *const scopes[] = {"all", "resource", "span", "intrinsic"};

static void handle_tags(mw_req *r, int v2) {
  static const char *const known[] = {"scope", "start", "end", "limit", "maxStaleValues", "q"};
  mw_tempo_tags_query q = {.v2 = v2};
  const char *scope;
  size_t stale;
  if (mw__param_only(r, known, v2 ? 6 : 5) || mw__param_enum(r, "scope", scopes, 4, &scope) ||
      mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_TEMPO_MAX_VALUES, MW_TEMPO_DEFAULT_VALUES, &q.limit) ||
      mw__param_count(r, "maxStaleValues", 1, 1000000000, 1, &stale) || (v2 && mw__tempo_tql(r, &q.tql)))
    return;
  for (int i = 0; i < 4; i++)
    if (scope == scopes[i]) q.scope = (enum mw_tempo_scope)i;
  mw_answer a;
  mw__q_tempo_tags(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

static void handle_tags_v1(mw_req *r) { handle_tags(r, 0); }
static void handle_tags_v2(mw_req *r) { handle_tags(r, 1); }

/* GET {prefix}{tag}/values */
static void handle_values(mw_req *r, const char *prefix, int v2) {
  static const char *const known[] = {"start", "end", "limit", "maxStaleValues", "q"};
  const char *tag = r->url + strlen(prefix);
  size_t n = strlen(tag);
  if (n <= 7 || strcmp(tag + n - 7, "/values") != 0)
    return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s (tag values are at %s<tag>/values)", r->url, prefix);
  mw_tempo_values_query q = {.v2 = v2, .tag = mw__arena_strndup(r->arena, tag, n - 7)};
  if (!q.tag) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  size_t stale;
  if (mw__param_only(r, known, v2 ? 5 : 4) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_TEMPO_MAX_VALUES, MW_TEMPO_DEFAULT_VALUES, &q.limit) ||
      mw__param_count(r, "maxStaleValues", 1, 1000000000, 1, &stale) || (v2 && mw__tempo_tql(r, &q.tql)))
    return;
  mw_answer a;
  mw__q_tempo_tag_values(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

static void handle_values_v1(mw_req *r) { handle_values(r, "/api/search/tag/", 0); }
static void handle_values_v2(mw_req *r) { handle_values(r, "/api/v2/search/tag/", 1); }

const mw_route mw__tempo_routes[] = {
    {.method = "GET", .path = "/api/echo", .handle = handle_echo},
    {.method = "GET", .path = "/api/status/buildinfo", .handle = handle_buildinfo},
    {.method = "GET",
     .path = "/api/v2/traces/",
     .prefix = 1,
     .query = 1,
     .handle = handle_trace_v2,
     .fed = mw__fed_trace_v2},
    {.method = "GET", .path = "/api/search/tags", .query = 1, .handle = handle_tags_v1, .fed = mw__fed_tags},
    {.method = "GET", .path = "/api/v2/search/tags", .query = 1, .handle = handle_tags_v2, .fed = mw__fed_tags},
    {.method = "GET",
     .path = "/api/search/tag/",
     .prefix = 1,
     .query = 1,
     .handle = handle_values_v1,
     .fed = mw__fed_tags},
    {.method = "GET",
     .path = "/api/v2/search/tag/",
     .prefix = 1,
     .query = 1,
     .handle = handle_values_v2,
     .fed = mw__fed_tags},
    {0},
};
