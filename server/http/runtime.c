/* Runtime data over HTTP: POST /api/v1/ingest/{kind}, the Pyroscope-compatible
 * POST /ingest, and the read endpoints for sources, GC cycles, scheduler
 * samples and snapshots (each parses its parameters, calls one query
 * function of query/catalog.h or query/runtime.h, and replies with the
 * answer). */
#include "http/http_int.h"
#include "query/fed.h"
#include "core/error.h"
#include "core/timefmt.h"
#include "ingest/runtime.h"
#include "model/rules.h"
#include "query/catalog.h"
#include "query/runtime.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

typedef struct rt_ctx {
  mw_runtime_batch batch;
  mw_ingest_report rep;
} rt_ctx;

/* The answer to a push. A rule that fired for the push's source puts its
 * name in "requests" (first, so that a client keeping only the answer's
 * first bytes sees it): the agent then takes a goroutine dump and a heap
 * profile at once (docs/API.md, "Early warning"). Taking is one lookup under
 * the rules' lock, so every push can ask. */
static void reply_report(mw_req *r, const rt_ctx *c) {
  mw_buf b;
  mw__buf_init(&b, 1u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  unsigned req = mw__ingest_take_requests(r->http->opts.store, c->batch.source_id);
  if (req) {
    mw__jw_key(&w, "requests");
    mw__jw_arr(&w);
    for (int i = 0; i < MW_RULE__N; i++)
      if (req & (1u << i)) {
        mw__jw_obj(&w);
        mw__jw_kstr(&w, "rule", mw__rule_name((enum mw_rule)i));
        mw__jw_kstr(&w, "capture", "dump,heap");
        mw__jw_obj_end(&w);
      }
    mw__jw_arr_end(&w);
  }
  mw__jw_kint(&w, "accepted", (int64_t)c->rep.accepted);
  mw__jw_kint(&w, "skipped", (int64_t)c->rep.skipped);
  mw__jw_key(&w, "errors");
  mw__jw_arr(&w);
  for (size_t i = 0; i < c->rep.n_errors; i++) mw__jw_str(&w, c->rep.errors[i]);
  mw__jw_arr_end(&w);
  mw__jw_kint(&w, "source_id", c->batch.source_id);
  if (c->batch.snapshot_id) mw__jw_kint(&w, "snapshot_id", c->batch.snapshot_id);
  mw__jw_obj_end(&w);
  mw__reply_buf(r, MW_OK, "application/json", &b);
}

/* Adds the retention warning to the report when some of the batch is older
 * than --retention: it is stored, but the next retention pass deletes it. */
static void warn_retention(mw_req *r, rt_ctx *c) {
  size_t old = mw__runtime_count_before(&c->batch, mw__retention_cutoff(r));
  if (!old || c->rep.n_errors >= MW_INGEST_MAX_ERRORS) return;
  char msg[256];
  mw__retention_warning(r, old, "record", msg, sizeof msg);
  const char *kept = mw__arena_strndup(r->arena, msg, strlen(msg));
  if (kept) c->rep.errors[c->rep.n_errors++] = kept;
}

/* Checks the body, builds the batch and hands it to the writer. */
static void ingest(mw_req *r, mw_ingest_params *p) {
  char err[512] = "";
  if (r->body_rc) {
    int rc = mw__req_body_problem(r, err, sizeof err);
    return mw__reply_error(r, rc, "%s", err);
  }
  rt_ctx *c = mw__arena_calloc(r->arena, 1, sizeof *c);
  if (!c) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  r->ctx = c;
  const uint8_t *data = r->body ? (const uint8_t *)r->body->data : (const uint8_t *)"";
  size_t len = r->body ? r->body->len : 0;
  /* a profile gzip'd inside the body is inflated against the memory budget */
  mw_mem_account mem = {mw__req_take, mw__req_give, r, 0};
  p->mem = &mem;
  int rc = mw__runtime_build(r->arena, p, data, len, &c->batch, &c->rep, err, sizeof err);
  if (rc == MW_OK) rc = mw__req_account(r, mw__arena_used(r->arena));
  if (rc == MW_ETOOBIG && r->mem_over) mw__req_memory_msg(r, err, sizeof err);
  if (rc == MW_EBUSY)
    return mw__reply_error(r, rc, "the server is at its limit (max_request_memory): retry after the delay");
  if (rc == MW_ENOMEM) return mw__reply_error(r, rc, "out of memory decoding the body; retry later");
  if (rc) return mw__reply_error(r, rc, "%s", err[0] ? err : mw__strerror(rc));
  warn_retention(r, c);
  if (r->body) {
    mw__body_buf_free(r->body);
    r->body = NULL;
  }
  mw__ingest_job_runtime(&r->job, &c->batch, mw__arena_used(r->arena));
  rc = mw__req_commit(r);
  if (rc)
    mw__reply_error(r, rc,
                    rc == MW_EBUSY ? "the write queue is full (max_queue_spans): retry after the delay"
                                   : "the server is shutting down: retry");
}

static void resume_ingest(mw_req *r) {
  rt_ctx *c = r->ctx;
  if (r->commit_rc == MW_OK) return reply_report(r, c);
  if (r->commit_rc == MW_EFULL)
    return mw__reply_error(r, MW_EFULL, "the disk holding the database is full: nothing was stored");
  /* the writer failed (its transaction was rolled back): the client may retry */
  mw__reply_error(r, MW_EBUSY, "storing failed (%s): retry", mw__strerror(r->commit_rc));
}

static void handle_ingest(mw_req *r) {
  mw_ingest_params p = {
      .kind = r->url + strlen("/api/v1/ingest/"), .received_ns = mw__now_ns(), .limits = &r->http->opts.limits};
  if (!mw__runtime_kind_valid(p.kind) || strcmp(p.kind, "pprof") == 0)
    return mw__reply_error(r, MW_ENOTFOUND,
                           "unknown ingest kind \"%.32s\": use gctrace, schedtrace, goroutine, "
                           "goroutineleak, cpu, heap, allocs, mutex or block",
                           p.kind);
  static const char *const known[] = {"service", "instance", "time", "duration", "process_start", "trigger"};
  if (mw__param_only(r, known, sizeof known / sizeof known[0]) || mw__param_name(r, "service", &p.service) ||
      mw__param_name(r, "instance", &p.instance))
    return;
  if (!p.service || !*p.service) return mw__reply_error(r, MW_EINVAL, "the service parameter is required");
  if (!p.instance) p.instance = "";
  /* the agent names why it took an extra capture: a short word */
  if (mw__param_ns(r, "time", &p.time_ns) || mw__param_ns(r, "duration", &p.duration_ns) ||
      mw__param_ns(r, "process_start", &p.process_start_ns) || mw__param_word(r, "trigger", 32, &p.trigger))
    return;
  if (p.duration_ns > INT64_MAX - p.time_ns)
    return mw__reply_error(r, MW_EINVAL, "time + duration is past what unix nanoseconds hold (2262-04-11)");
  ingest(r, &p);
}

/* --- Pyroscope ---------------------------------------------------------------- */

/* Pyroscope names a profile "app.type{k=v,...}": the app is the service; an
 * "instance" (or "service_instance_id", "hostname") label names the instance;
 * the type suffix, or else the display names of the sample_type_config part
 * (pyroscope-go names no type in the name: its mutex and block profiles, which
 * have the same sample types, differ only there), or else the profile's sample
 * types give the kind. */
typedef struct pyro_type {
  const char *type, *kind;
} pyro_type;

static const pyro_type pyro_types[] = {
    {"cpu", "cpu"},
    {"itimer", "cpu"},
    {"wall", "cpu"},
    {"alloc_objects", "allocs"},
    {"alloc_space", "allocs"},
    {"inuse_objects", "heap"},
    {"inuse_space", "heap"},
    {"goroutine", "goroutine"},
    {"goroutines", "goroutine"},
    {"mutex_count", "mutex"},
    {"mutex_duration", "mutex"},
    {"block_count", "block"},
    {"block_duration", "block"},
};

/* The kind of the Pyroscope profile type t[0..n), or NULL. */
static const char *pyro_kind(const char *t, size_t n) {
  for (size_t i = 0; i < sizeof pyro_types / sizeof pyro_types[0]; i++)
    if (strlen(pyro_types[i].type) == n && memcmp(pyro_types[i].type, t, n) == 0) return pyro_types[i].kind;
  return NULL;
}

enum { PYRO_MAX_TYPE_CONFIG = 64 * 1024 };

typedef struct pyro_ctx {
  mw_buf profile;     /* the multipart "profile" part */
  mw_buf type_config; /* the "sample_type_config" part (JSON), at most PYRO_MAX_TYPE_CONFIG */
} pyro_ctx;

static enum MHD_Result pyro_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size) {
  pyro_ctx *pc = cls;
  (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
  mw_buf *to = NULL;
  if (key && !strcmp(key, "profile")) to = &pc->profile;
  if (key && !strcmp(key, "sample_type_config")) to = &pc->type_config;
  if (to && size && mw__buf_add(to, data, size)) return MHD_NO;
  return MHD_YES;
}

/* The kind the display names of a sample_type_config part ({"contentions":
 * {"display-name": "block_count", ...}, ...}) agree on; NULL when none names
 * one or they disagree. Replies and returns -1 when the part is not such a
 * JSON object. */
static int pyro_config_kind(mw_req *r, const mw_buf *cfg, const char **kind) {
  *kind = NULL;
  json_error_t je;
  json_t *root = json_loadb(cfg->data, cfg->len, 0, &je);
  if (!json_is_object(root)) {
    json_decref(root);
    mw__reply_error(r, MW_EINVAL, "the sample_type_config part is not a JSON object of sample types (%s)",
                    root ? "another JSON value" : je.text);
    return -1;
  }
  const char *type, *k = NULL;
  json_t *conf;
  int agree = 1;
  json_object_foreach(root, type, conf) {
    json_t *dn = json_object_get(conf, "display-name");
    const char *named = json_is_string(dn) ? pyro_kind(json_string_value(dn), json_string_length(dn)) : NULL;
    if (named && k && strcmp(named, k)) agree = 0;
    if (named) k = named;
  }
  json_decref(root);
  if (agree) *kind = k;
  return 0;
}

/* Replaces the multipart body by its "profile" part and, when *kind is NULL,
 * sets it to the kind its sample_type_config part names (if it names one).
 * Replies and returns -1 when the body has no profile part or a bad
 * sample_type_config. */
static int pyro_multipart(mw_req *r, const char **kind) {
  pyro_ctx pc;
  mw__buf_init(&pc.profile, r->http->opts.limits.max_body_bytes);
  mw__buf_init(&pc.type_config, PYRO_MAX_TYPE_CONFIG);
  int rc = -1;
  struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 64 * 1024, pyro_part, &pc);
  int ok = pp && MHD_post_process(pp, r->body->data, r->body->len) == MHD_YES;
  if (pp) MHD_destroy_post_processor(pp);
  if (pc.type_config.err == MW_ETOOBIG) {
    mw__reply_error(r, MW_EINVAL, "the sample_type_config part is over %d bytes", PYRO_MAX_TYPE_CONFIG);
    goto out;
  }
  if (!ok || !pc.profile.len) {
    mw__reply_error(r, MW_EINVAL, "multipart body has no readable \"profile\" part");
    goto out;
  }
  const char *named = NULL; /* the name's type suffix, when it has one, wins */
  if (pc.type_config.len && pyro_config_kind(r, &pc.type_config, &named)) goto out;
  if (!*kind) *kind = named;
  mw__body_buf_free(r->body);
  r->body = malloc(sizeof *r->body);
  if (!r->body) {
    mw__reply_error(r, MW_ENOMEM, "out of memory");
    goto out;
  }
  *r->body = pc.profile;
  mw__buf_init(&pc.profile, 0);
  rc = 0;
out:
  mw__buf_free(&pc.profile);
  mw__buf_free(&pc.type_config);
  return rc;
}

static void handle_pyroscope(mw_req *r) {
  const char *name, *format;
  static const char *const formats[] = {"pprof"};
  /* Pyroscope's /ingest parameters (its HTTP API page); sampleRate, spyName,
   * units and aggregationType are read from the pprof itself */
  static const char *const known[] = {"name",    "from",  "until",           "format",
                                      "spyName", "units", "aggregationType", "sampleRate"};
  if (mw__param_only(r, known, sizeof known / sizeof known[0]) || mw__param_name(r, "name", &name)) return;
  if (!name || !*name) return mw__reply_error(r, MW_EINVAL, "the name parameter is required (app.type{k=v,...})");
  if (mw__param_enum(r, "format", formats, 1, &format)) return;
  mw_ingest_params p = {.received_ns = mw__now_ns(), .instance = "", .limits = &r->http->opts.limits};
  const char *brace = strchr(name, '{');
  size_t app_len = brace ? (size_t)(brace - name) : strlen(name);
  char *app = mw__arena_strndup(r->arena, name, app_len);
  if (!app) return mw__reply_error(r, MW_ENOMEM, "out of memory");
  char *dot = strrchr(app, '.');
  if (dot && (p.kind = pyro_kind(dot + 1, strlen(dot + 1)))) *dot = '\0';
  if (!*app) /* the service would have no name */
    return mw__reply_error(r, MW_EINVAL,
                           "the name parameter needs an application name before the type and labels "
                           "(app.type{k=v,...}), got \"%.64s\"",
                           name);
  p.service = app;
  if (brace) { /* {k=v,k2=v2} */
    const char *q = brace + 1;
    while (*q && *q != '}') {
      const char *eq = strchr(q, '='), *end = q + strcspn(q, ",}");
      if (!eq || eq > end) break;
      size_t kl = (size_t)(eq - q);
      if ((kl == 8 && !strncmp(q, "instance", 8)) || (kl == 19 && !strncmp(q, "service_instance_id", 19)) ||
          (kl == 8 && !strncmp(q, "hostname", 8) && !*p.instance))
        p.instance = mw__arena_strndup(r->arena, eq + 1, (size_t)(end - eq - 1));
      q = *end == ',' ? end + 1 : end;
    }
  }
  int64_t f = 0, u = 0;
  if (mw__param_time(r, "from", &f) < 0 || mw__param_time(r, "until", &u) < 0) return;
  p.time_ns = f;
  if (u > f && f) p.duration_ns = u - f;

  const char *ct = mw__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (r->body_rc == MW_OK && r->body && ct && strncmp(r->media, "multipart/form-data", 19) == 0 &&
      pyro_multipart(r, &p.kind))
    return;
  if (!p.kind) p.kind = "pprof"; /* read the kind from the sample types */
  ingest(r, &p);
}

/* --- reading ------------------------------------------------------------------- */

/* /api/v1/sources?offset=&limit= */
static void handle_sources(mw_req *r) {
  mw_page pg;
  static const char *const known[] = {"offset", "limit"};
  /* a federated sub-request may ask for a front's offset + limit rows (docs/FEDERATION.md) */
  size_t max = mw__req_header(r, MW_FED_HEADER) ? MW_FED_MAX_ROWS : MW_PAGE_ROWS;
  if (mw__param_only(r, known, 2) || mw__param_page(r, MW_PAGE_ROWS, max, &pg)) return;
  mw_answer a;
  mw__q_sources(r->query, &pg, &a);
  mw__reply_answer(r, &a);
}

/* The positive integer id that follows prefix in the URL, named name; *rest
 * gets what follows it. Replies and returns -1 when bad. */
static int url_id(mw_req *r, const char *prefix, const char *name, int64_t *id, const char **rest) {
  const char *p = r->url + strlen(prefix);
  *rest = p + strcspn(p, "/");
  return mw__param_id(r, name, p, (size_t)(*rest - p), id);
}

/* /api/v1/sources/{id}/gc|sched|snapshots|events?start=&end=&limit=[&kind=]; heap/growth,
 * alloc and the goroutine/GC growth reads go to growth.c and gor.c */
static void handle_source_sub(mw_req *r) {
  mw_lane_query q = {0};
  const char *rest;
  if (url_id(r, "/api/v1/sources/", "source id", &q.source_id, &rest)) return;
  if (strcmp(rest, "/gc") == 0) q.lane = MW_LANE_GC;
  else if (strcmp(rest, "/sched") == 0) q.lane = MW_LANE_SCHED;
  else if (strcmp(rest, "/snapshots") == 0) q.lane = MW_LANE_SNAPSHOTS;
  else if (strcmp(rest, "/events") == 0) q.lane = MW_LANE_EVENTS;
  else if (strcmp(rest, "/heap/growth") == 0) return mw__handle_heap_growth(r, q.source_id);
  else if (strcmp(rest, "/alloc") == 0) return mw__handle_alloc_rate(r, q.source_id);
  else if (mw__gor_source_sub(r, q.source_id, rest)) return;
  else return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  static const char *const known[] = {"start", "end", "limit", "kind"}; /* kind: snapshots only */
  if (mw__param_only(r, known, q.lane == MW_LANE_SNAPSHOTS ? 4 : 3) || mw__param_window(r, &q.start_ns, &q.end_ns) ||
      mw__param_count(r, "limit", 1, MW_LANE_MAX_ROWS, MW_LANE_ROWS, &q.limit) ||
      (q.lane == MW_LANE_SNAPSHOTS && mw__param_text(r, "kind", 0, &q.kind)))
    return;
  mw_answer a;
  mw__q_lane(r->query, &q, &a);
  mw__reply_answer(r, &a);
}

/* /api/v1/snapshots/{id}[?offset=&limit=], /api/v1/snapshots/{id}/raw */
static void handle_snapshot(mw_req *r) {
  int64_t id;
  const char *rest;
  if (url_id(r, "/api/v1/snapshots/", "snapshot id", &id, &rest)) return;
  mw_answer a;
  static const char *const known[] = {"limit", "offset"};
  if (mw__param_only(r, known, strcmp(rest, "/raw") == 0 ? 0 : 2)) return;
  if (strcmp(rest, "/raw") == 0) {
    mw__q_snapshot_raw(r->query, id, &a);
    return mw__reply_answer(r, &a);
  }
  if (*rest) return mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", r->url);
  size_t limit, offset;
  if (mw__param_count(r, "limit", 1, MW_LANE_MAX_ROWS, MW_LANE_ROWS, &limit) ||
      mw__param_count(r, "offset", 0, MW_SNAPSHOT_MAX_OFFSET, 0, &offset))
    return;
  mw__q_snapshot(r->query, id, offset, limit, &a);
  mw__reply_answer(r, &a);
}

const mw_route mw__runtime_routes[] = {
    {.method = "POST",
     .access = MW_ACCESS_INGEST,
     .path = "/api/v1/ingest/",
     .prefix = 1,
     .body = 1,
     .handle = handle_ingest,
     .resume = resume_ingest},
    {.method = "POST",
     .access = MW_ACCESS_INGEST,
     .path = "/ingest",
     .body = 1,
     .handle = handle_pyroscope,
     .resume = resume_ingest},
    {.method = "GET",
     .path = "/api/v1/sources",
     .query = 1,
     .handle = handle_sources,
     .fed = mw__fed_sources,
     .by_shard = 1},
    {.method = "GET", .path = "/api/v1/sources/", .prefix = 1, .query = 1, .handle = handle_source_sub, .by_shard = 1},
    {.method = "GET", .path = "/api/v1/snapshots/", .prefix = 1, .query = 1, .handle = handle_snapshot, .by_shard = 1},
    {0},
};
