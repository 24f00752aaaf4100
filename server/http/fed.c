/* Federated queries (docs/FEDERATION.md): with --peers, a query route that
 * has a .fed handler is answered by sending it to every shard (itself
 * included) and merging their answers, unless the request is itself a
 * sub-request (it carries Meanwhile-Federated: then it is answered locally,
 * so no shard is ever asked back into a loop).
 *
 * These requests run on a pool of their own (--federation-threads), never on
 * the query threads: a front waits on the network, and query threads that
 * wait for shards whose query threads wait for other fronts would deadlock.
 * Sub-requests need only query threads, which never wait on the network.
 *
 * Each handler checks what it must know (the page, the id), builds the
 * sub-request's path from the request's own parameters, fans out
 * (query/fed.c) and replies with the merge (query/fed_merge.c); a merged
 * answer without some shards names them in Meanwhile-Missing-Shards. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/hex.h"
#include "query/fed.h"
#include "query/tempo.h"
#include "query/timeline.h"
#include "query/traces.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mw_fed_pool {
  mw_reqpool pool;
  mw_http *http;
  _Atomic int abort; /* stop the fan-outs that run (shutdown) */
};

static void forward(mw_req *r);

static void run(void *owner, mw_req *r) {
  struct mw_fed_pool *p = owner;
  if (atomic_load(&p->abort)) mw__reply_error(r, MW_ESHUTDOWN, "meanwhiled is shutting down: retry");
  else if (r->route->by_shard && mw__req_arg(r, "shard")) forward(r); /* one shard's ids */
  else r->route->fed(r);
  r->state = REQ_RESUMED;
  MHD_resume_connection(r->conn);
}

int mw__fed_pool_start(mw_http *h, char *err, size_t errsz) {
  if (!h->opts.fed) return MW_OK;
  unsigned n = h->opts.federation_threads ? h->opts.federation_threads : 4;
  struct mw_fed_pool *p = calloc(1, sizeof *p);
  if (!p || mw__reqpool_init(&p->pool, n, 1, run, p)) {
    free(p);
    snprintf(err, errsz, "out of memory");
    return MW_ENOMEM;
  }
  p->http = h;
  h->fed_pool = p;
  if (mw__reqpool_start(&p->pool)) {
    snprintf(err, errsz, "cannot start federation thread %u of %u", p->pool.n_threads + 1, n);
    mw__fed_pool_free(h);
    return MW_EIO;
  }
  return MW_OK;
}

void mw__fed_pool_stop(mw_http *h) {
  struct mw_fed_pool *p = h->fed_pool;
  if (!p) return;
  atomic_store(&p->abort, 1);
  mw__reqpool_join(&p->pool);
}

void mw__fed_pool_free(mw_http *h) {
  struct mw_fed_pool *p = h->fed_pool;
  if (!p) return;
  mw__fed_pool_stop(h);
  mw__reqpool_destroy(&p->pool);
  free(p);
  h->fed_pool = NULL;
}

int mw__fed_wanted(mw_req *r) {
  if (!r->http->fed_pool || mw__req_header(r, MW_FED_HEADER)) return 0;
  return r->route->fed || (r->route->by_shard && mw__req_arg(r, "shard"));
}

int mw__fed_shard_refused(mw_req *r) {
  if (!r->route->by_shard || !mw__req_arg(r, "shard")) return 0;
  if (!r->http->opts.fed)
    mw__reply_error(r, MW_EINVAL,
                    "shard names a shard of a federation (--peers), and this meanwhiled has none: it answers from "
                    "its own data; leave shard out");
  else
    mw__reply_error(r, MW_EINVAL,
                    "shard is not taken on a sub-request (" MW_FED_HEADER "): it asks this shard about its own data");
  return 1;
}

void mw__fed_submit(mw_req *r) { mw__req_submit_to(r, &r->http->fed_pool->pool); }

/* --- sub-requests --------------------------------------------------------------------------- */

static int add_escaped(mw_buf *b, const char *s, int keep_slash) {
  static const char hexd[] = "0123456789ABCDEF";
  for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
    int plain = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || *c == '-' ||
                *c == '.' || *c == '_' || *c == '~' || (keep_slash && *c == '/');
    char e[3] = {'%', hexd[*c >> 4], hexd[*c & 15]};
    if (plain ? mw__buf_addc(b, (char)*c) : mw__buf_add(b, e, 3)) return -1;
  }
  return 0;
}

typedef struct sub_args {
  mw_buf *b;
  const char *const *keys; /* replaced: their values are vals (NULL: dropped) */
  const char *const *vals;
  size_t n;
  int first;
} sub_args;

static enum MHD_Result add_arg(void *cls, enum MHD_ValueKind kind, const char *key, const char *value) {
  sub_args *s = cls;
  (void)kind;
  for (size_t i = 0; i < s->n; i++)
    if (strcmp(key, s->keys[i]) == 0) return MHD_YES; /* written after */
  mw__buf_addc(s->b, s->first ? '?' : '&');
  s->first = 0;
  add_escaped(s->b, key, 0);
  if (value) {
    mw__buf_addc(s->b, '=');
    add_escaped(s->b, value, 0);
  }
  return MHD_YES;
}

/* path (unencoded), then r's query parameters with keys[i] set to vals[i]
 * (NULL: left out), encoded, in r's arena; NULL after replying. */
static const char *sub_path(mw_req *r, const char *path, const char *const *keys, const char *const *vals, size_t n) {
  mw_buf b;
  mw__buf_init(&b, 64 * 1024);
  add_escaped(&b, path, 1);
  sub_args s = {.b = &b, .keys = keys, .vals = vals, .n = n, .first = 1};
  MHD_get_connection_values(r->conn, MHD_GET_ARGUMENT_KIND, add_arg, &s);
  for (size_t i = 0; i < n; i++) {
    if (!vals[i]) continue;
    mw__buf_addc(&b, s.first ? '?' : '&');
    s.first = 0;
    add_escaped(&b, keys[i], 0);
    mw__buf_addc(&b, '=');
    add_escaped(&b, vals[i], 0);
  }
  const char *out = b.err ? NULL : mw__arena_strndup(r->arena, b.data ? b.data : "", b.len);
  mw__buf_free(&b);
  if (!out) mw__reply_error(r, MW_ENOMEM, "out of memory");
  return out;
}

/* Sends method path (with body) to the shards; NULL after replying. */
static mw_fed_part *fan(mw_req *r, const char *method, const char *path, const char *body, size_t len,
                        const char *const *shards, size_t n, int forward_accept) {
  mw_fed_req fr = {.method = method,
                   .path = path,
                   .authorization = mw__req_header(r, MHD_HTTP_HEADER_AUTHORIZATION),
                   .accept = forward_accept ? mw__req_header(r, MHD_HTTP_HEADER_ACCEPT) : NULL,
                   .body = body,
                   .body_len = len};
  mw_fed_part *parts;
  if (mw__fed_fanout(r->http->opts.fed, r->arena, shards, n, &fr, r->query_deadline_ns, &r->http->fed_pool->abort,
                     &parts)) {
    mw__reply_error(r, MW_ENOMEM, "out of memory");
    return NULL;
  }
  return parts;
}

/* A shard's answer that is the request's fault (fed.h, mw_fed_part.rc). */
static int is_pass_rc(int rc) {
  return rc == MW_EINVAL || rc == MW_EUNAUTHORIZED || rc == MW_EFORBIDDEN || rc == MW_ETOOBIG || rc == MW_ETOOLONG;
}

/* The shards now; 0 after replying 503 when there are none. */
static size_t shards_of(mw_req *r, const char ***out) {
  size_t n = mw__fed_shards(r->http->opts.fed, r->arena, out);
  if (!n) mw__reply_error(r, MW_EBUSY, "no shard to ask: --peers resolves to no address");
  return n;
}

static void reply(mw_req *r, mw_answer *a, const mw_fed_part *p, size_t n) {
  r->fed_missing = mw__fed_missing(r->arena, p, n);
  mw__reply_answer(r, a);
}

/* Sends r as it is to every shard; NULL after replying. */
static mw_fed_part *fan_same(mw_req *r, const char ***shards, size_t *n, int forward_accept) {
  if (!(*n = shards_of(r, shards))) return NULL;
  const char *path = sub_path(r, r->url, NULL, NULL, 0);
  return path ? fan(r, "GET", path, NULL, 0, *shards, *n, forward_accept) : NULL;
}

/* --- the federated handlers ------------------------------------------------------------------ */

/* GET /api/traces/{id} and /api/v2/traces/{id} */
static void fed_trace(mw_req *r, const char *id, int v2) {
  uint8_t tid[16];
  if (mw__tempo_trace_params(r, id, tid)) return;
  char hex[33];
  mw__hex_encode(hex, tid, 16);
  int pb = mw__tempo_wants_pb(r);
  const char **shards;
  size_t n;
  mw_fed_part *p = fan_same(r, &shards, &n, 1);
  if (!p) return;
  mw_answer a;
  mw__fed_merge_trace(r->arena, p, n, hex, pb ? MW_FED_TRACE_PB : v2 ? MW_FED_TRACE_V2 : MW_FED_TRACE_V1, &a);
  reply(r, &a, p, n);
}

void mw__fed_trace_v1(mw_req *r) { fed_trace(r, r->url + strlen("/api/traces/"), 0); }
void mw__fed_trace_v2(mw_req *r) { fed_trace(r, r->url + strlen("/api/v2/traces/"), 1); }

/* The page of a federated listing: each shard is asked for its first
 * offset + limit rows; -1 after replying. */
static int fed_page(mw_req *r, size_t dflt, size_t max, size_t max_rows, mw_page *pg, char rows[24]) {
  if (mw__param_page(r, dflt, max, pg)) return -1;
  if (pg->offset + pg->limit > max_rows) {
    mw__reply_error(r, MW_EINVAL,
                    "offset + limit must be at most %zu on a federated query (each shard is asked for its first "
                    "offset + limit rows), got %zu: narrow the query instead",
                    max_rows, pg->offset + pg->limit);
    return -1;
  }
  snprintf(rows, 24, "%zu", pg->offset + pg->limit);
  return 0;
}

static const char *const page_keys[] = {"offset", "limit"};

/* GET /api/search */
void mw__fed_search(mw_req *r) {
  mw_page pg;
  size_t spss;
  char rows[24];
  if (fed_page(r, MW_SEARCH_DEFAULT_LIMIT, MW_SEARCH_MAX_LIMIT, MW_FED_MAX_SEARCH_ROWS, &pg, rows) ||
      mw__param_count(r, "spss", 1, MW_TEMPO_SPSS_MAX, MW_TEMPO_SPSS_DEFAULT, &spss))
    return;
  const char *vals[] = {"0", rows};
  const char **shards;
  size_t n = shards_of(r, &shards);
  const char *path = n ? sub_path(r, r->url, page_keys, vals, 2) : NULL;
  mw_fed_part *p = path ? fan(r, "GET", path, NULL, 0, shards, n, 0) : NULL;
  if (!p) return;
  mw_answer a;
  mw__fed_merge_search(r->arena, p, n, pg.offset, pg.limit, spss, &a);
  reply(r, &a, p, n);
}

/* A listing paged by rows (services, sources, operations): every shard
 * asked for its first offset + limit rows; NULL after replying. */
static mw_fed_part *fan_page(mw_req *r, mw_page *pg, size_t *n) {
  char rows[24];
  if (fed_page(r, MW_PAGE_ROWS, MW_PAGE_ROWS, MW_FED_MAX_ROWS, pg, rows)) return NULL;
  const char *vals[] = {"0", rows};
  const char **shards;
  *n = shards_of(r, &shards);
  const char *path = *n ? sub_path(r, r->url, page_keys, vals, 2) : NULL;
  return path ? fan(r, "GET", path, NULL, 0, shards, *n, 0) : NULL;
}

/* GET /api/v1/services */
void mw__fed_services(mw_req *r) {
  mw_page pg;
  size_t n;
  mw_fed_part *p = fan_page(r, &pg, &n);
  if (!p) return;
  mw_answer a;
  mw__fed_merge_services(r->arena, p, n, pg.offset, pg.limit, &a);
  reply(r, &a, p, n);
}

/* GET /api/v1/sources (without shard=): every shard's, each with its shard */
void mw__fed_sources(mw_req *r) {
  mw_page pg;
  size_t n;
  mw_fed_part *p = fan_page(r, &pg, &n);
  if (!p) return;
  mw_answer a;
  mw__fed_merge_sources(r->arena, p, n, pg.offset, pg.limit, &a);
  reply(r, &a, p, n);
}

/* GET /api/v1/services/{service}/operations */
void mw__fed_operations(mw_req *r) {
  const char *rest = r->url + strlen("/api/v1/services/");
  const char *slash = strrchr(rest, '/');
  if (!slash || strcmp(slash, "/operations") != 0 || slash == rest)
    return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  const char *service = mw__arena_strndup(r->arena, rest, (size_t)(slash - rest));
  if (!service) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  mw_page pg;
  size_t n;
  mw_fed_part *p = fan_page(r, &pg, &n);
  if (!p) return;
  mw_answer a;
  mw__fed_merge_operations(r->arena, p, n, service, pg.offset, pg.limit, &a);
  reply(r, &a, p, n);
}

/* GET /api/search/tags, /api/v2/search/tags, /api/search/tag/{tag}/values and
 * /api/v2/search/tag/{identifier}/values: the union of the shards' lists */
void mw__fed_tags(mw_req *r) {
  size_t limit;
  if (mw__param_count(r, "limit", 1, MW_TEMPO_MAX_VALUES, MW_TEMPO_DEFAULT_VALUES, &limit)) return;
  int v2 = strncmp(r->url, "/api/v2/", 8) == 0, values = strstr(r->url, "/search/tag/") != NULL;
  const char **shards;
  size_t n;
  mw_fed_part *p = fan_same(r, &shards, &n, 0);
  if (!p) return;
  mw_answer a;
  mw__fed_merge_tags(r->arena, p, n, v2, values, limit, &a);
  reply(r, &a, p, n);
}

/* GET /api/v1/traces/{id}/explain, the two rounds (docs/FEDERATION.md, "Explain") */
static void fed_explain(mw_req *r, const char *hex) {
  const char **shards;
  size_t n = shards_of(r, &shards);
  if (!n) return;
  char path[128];
  snprintf(path, sizeof path, "/api/traces/%s", hex);
  mw_fed_part *p1 = fan(r, "GET", path, NULL, 0, shards, n, 0);
  if (!p1) return;
  int *owns = mw__arena_calloc(r->arena, n + 1, sizeof *owns);
  if (!owns) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  mw_fed_trace *t;
  char *body;
  size_t len;
  mw_answer a;
  if (mw__fed_explain_spans(r->arena, p1, n, hex, &t, &body, &len, owns, &a)) return reply(r, &a, p1, n);
  /* round 2: each shard that owns spans explains them, given the whole trace */
  const char **sub = mw__arena_calloc(r->arena, n + 1, sizeof *sub);
  size_t *at = mw__arena_calloc(r->arena, n + 1, sizeof *at);
  mw_fed_part *p2 = mw__arena_calloc(r->arena, n + 1, sizeof *p2);
  if (!sub || !at || !p2) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    p2[i] = (mw_fed_part){.shard = shards[i], .rc = MW_ENOTFOUND};
    if (owns[i]) at[m] = i, sub[m++] = shards[i];
  }
  snprintf(path, sizeof path, "/api/v1/traces/%s/explain", hex);
  mw_fed_part *q = fan(r, "POST", path, body, len, sub, m, 0);
  if (!q) return;
  for (size_t k = 0; k < m; k++) p2[at[k]] = q[k];
  mw__fed_merge_explain(r->arena, t, p1, p2, n, hex, &a);
  for (size_t i = 0; i < n; i++) /* missing in either round */
    if (p1[i].rc == MW_EIO) p2[i] = p1[i];
  reply(r, &a, p2, n);
}

/* GET /api/v1/traces/{id}/timeline and .../explain */
void mw__fed_trace_sub(mw_req *r) {
  const char *id = r->url + strlen("/api/v1/traces/");
  const char *slash = strchr(id, '/');
  uint8_t tid[16];
  if (mw__param_hex(r, "trace id", id, slash ? (size_t)(slash - id) : strlen(id), tid, 16)) return;
  char hex[33];
  mw__hex_encode(hex, tid, 16);
  const char *what = slash ? slash + 1 : "";
  if (strcmp(what, "explain") == 0) {
    if (mw__param_only(r, NULL, 0)) return;
    return fed_explain(r, hex);
  }
  if (strcmp(what, "timeline") != 0) return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  int64_t margin;
  if (mw__param_duration(r, "margin", MW_TIMELINE_MARGIN_NS, MW_TIMELINE_MAX_MARGIN_NS, &margin)) return;
  const char **shards;
  size_t n;
  mw_fed_part *p = fan_same(r, &shards, &n, 0);
  if (!p) return;
  /* round 2, for the shards whose lanes cover only their part of the trace:
   * the whole trace's window */
  int64_t from, to;
  int *redo = mw__arena_calloc(r->arena, n + 1, sizeof *redo);
  const char **sub = mw__arena_calloc(r->arena, n + 1, sizeof *sub);
  size_t *at = mw__arena_calloc(r->arena, n + 1, sizeof *at);
  if (!redo || !sub || !at) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  if (mw__fed_timeline_window(p, n, margin, &from, &to, redo) && from >= 0 && from < to) {
    size_t m = 0;
    for (size_t i = 0; i < n; i++)
      if (redo[i]) at[m] = i, sub[m++] = shards[i];
    char f[24], t[24];
    snprintf(f, sizeof f, "%lld", (long long)from);
    snprintf(t, sizeof t, "%lld", (long long)to);
    static const char *const keys[] = {"window_start_ns", "window_end_ns"};
    const char *vals[] = {f, t};
    const char *path = m ? sub_path(r, r->url, keys, vals, 2) : NULL;
    if (m && !path) return;
    mw_fed_part *q = m ? fan(r, "GET", path, NULL, 0, sub, m, 0) : NULL;
    if (m && !q) return;
    for (size_t k = 0; k < m; k++) /* a shard that fails now keeps its first answer */
      if (q[k].rc == MW_OK || is_pass_rc(q[k].rc)) p[at[k]] = q[k];
  }
  mw_answer a;
  mw__fed_merge_timeline(r->arena, p, n, hex, &a);
  reply(r, &a, p, n);
}

/* GET /api/v1/compare: two rounds (docs/FEDERATION.md, "Compare"): the
 * operation's thresholds over every shard from their duration histograms,
 * then each shard that holds it compares with those, in the raw form. */
void mw__fed_compare(mw_req *r) {
  const char *service, *name;
  if (mw__param_text(r, "service", 1, &service) || mw__param_text(r, "name", 1, &name)) return;
  const char **shards;
  size_t n = shards_of(r, &shards);
  if (!n) return;
  mw_buf b;
  mw__buf_init(&b, 64 * 1024);
  mw__buf_adds(&b, "/api/v1/services/");
  add_escaped(&b, service, 0);
  mw__buf_adds(&b, "/operations?limit=10000");
  static const char *const window[] = {"start", "end"};
  for (int i = 0; i < 2; i++) {
    const char *v = mw__req_arg(r, window[i]);
    if (!v || !*v) continue;
    mw__buf_addc(&b, '&');
    mw__buf_adds(&b, window[i]);
    mw__buf_addc(&b, '=');
    add_escaped(&b, v, 0);
  }
  const char *path = b.err ? NULL : mw__arena_strndup(r->arena, b.data ? b.data : "", b.len);
  mw__buf_free(&b);
  if (!path) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  mw_fed_part *p1 = fan(r, "GET", path, NULL, 0, shards, n, 0);
  if (!p1) return;
  int *holds = mw__arena_calloc(r->arena, n + 1, sizeof *holds);
  if (!holds) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  int64_t p50, p90;
  mw_answer a;
  if (mw__fed_compare_thresholds(r->arena, p1, n, service, name, &p50, &p90, holds, &a)) return reply(r, &a, p1, n);
  char s90[24], s50[24];
  snprintf(s90, sizeof s90, "%lld", (long long)p90);
  snprintf(s50, sizeof s50, "%lld", (long long)p50);
  static const char *const keys[] = {"slow_ns", "fast_ns"};
  const char *vals[] = {s90, s50};
  const char *path2 = sub_path(r, r->url, keys, vals, 2);
  if (!path2) return;
  const char **sub = mw__arena_calloc(r->arena, n + 1, sizeof *sub);
  size_t *at = mw__arena_calloc(r->arena, n + 1, sizeof *at);
  mw_fed_part *p2 = mw__arena_calloc(r->arena, n + 1, sizeof *p2);
  if (!sub || !at || !p2) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  size_t m = 0;
  for (size_t i = 0; i < n; i++) {
    p2[i] = (mw_fed_part){.shard = shards[i], .rc = MW_ENOTFOUND};
    if (holds[i]) at[m] = i, sub[m++] = shards[i];
  }
  mw_fed_part *q = fan(r, "GET", path2, NULL, 0, sub, m, 0);
  if (!q) return;
  for (size_t k = 0; k < m; k++) p2[at[k]] = q[k];
  mw__fed_merge_compare(r->arena, p1, p2, n, service, name, p50, p90, &a);
  for (size_t i = 0; i < n; i++) /* missing in either round */
    if (p1[i].rc == MW_EIO) p2[i] = p1[i];
  reply(r, &a, p2, n);
}

/* --- one shard's own ids (docs/FEDERATION.md, "One shard's data") ---------------------------- */

/* GET of a .by_shard route with shard=: the request as it is, shard= left
 * out, sent to that shard (which must be one of the shards now: a front never
 * fetches a URL it is given); its answer, status, content type and body, is
 * the answer. */
static void forward(mw_req *r) {
  const char *want = mw__req_arg(r, "shard");
  const char **shards;
  size_t n = shards_of(r, &shards);
  if (!n) return;
  const char *one = NULL;
  for (size_t i = 0; i < n && !one; i++)
    if (strcmp(shards[i], want) == 0) one = shards[i];
  if (!one) {
    char list[512];
    size_t k = 0;
    list[0] = '\0';
    for (size_t i = 0; i < n && k < sizeof list - 1; i++) {
      int w = snprintf(list + k, sizeof list - k, "%s%s", i ? ", " : "", shards[i]);
      if (w < 0) break;
      k += (size_t)w;
    }
    return mw__reply_error(r, MW_EINVAL,
                           "shard: \"%.200s\" is not one of this server's shards (%s): pass the shard field of a "
                           "federated timeline or explain answer as it is",
                           want, list);
  }
  /* a . or .. segment would be resolved by the transfer into another path
   * than the one routed here (/api/v1/sources/../../../metrics): never sent */
  for (const char *c = r->url; (c = strchr(c, '/')) != NULL; c++) {
    size_t seg = strcspn(c + 1, "/");
    if ((seg == 1 && c[1] == '.') || (seg == 2 && c[1] == '.' && c[2] == '.'))
      return mw__reply_error(r, MW_EINVAL, "the path has a \".\" or \"..\" segment: it is not sent to a shard");
  }
  static const char *const keys[] = {"shard"};
  const char *const vals[] = {NULL};
  const char *path = sub_path(r, r->url, keys, vals, 1);
  mw_fed_part *p = path ? fan(r, "GET", path, NULL, 0, &one, 1, 1) : NULL;
  if (!p) return;
  if (!p->status) { /* no answer: refused, reset, timed out, too large */
    r->fed_missing = one;
    return mw__reply_error(r, MW_EUNAVAILABLE, "shard %s did not answer: %s", one, p->error);
  }
  char *body = malloc(p->len + 1);
  if (!body) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  if (p->len) memcpy(body, p->body, p->len);
  mw__reply_status(r, (unsigned)p->status, p->content_type, body, p->len);
}
