/* Runtime data over HTTP: POST /api/v1/ingest/{kind}, the Pyroscope-compatible
 * POST /ingest, and the read endpoints for sources, GC cycles, scheduler
 * samples and snapshots. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/hex.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "ingest/runtime.h"
#include "query/runtime_json.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

enum { MAX_ROWS = 10000, DEFAULT_ROWS = 1000 };

typedef struct rt_ctx {
  mw_runtime_batch batch;
  mw_ingest_report rep;
} rt_ctx;

/* Parses an optional integer parameter (unix ns or ns); replies 400 when bad. */
static int int_arg(mw_req *r, const char *name, int64_t *out) {
  const char *v = mw__req_arg(r, name);
  *out = 0;
  if (!v || !*v) return 0;
  if (mw__parse_ns(v, out) != MW_OK) {
    mw__reply_json_error(r, 400, "%s must be an integer of nanoseconds (digits only, at most %lld), got \"%.64s\"",
                         name, (long long)INT64_MAX, v);
    return -1;
  }
  return 0;
}

static void reply_report(mw_req *r, const rt_ctx *c) {
  mw_buf b;
  mw__buf_init(&b, 1u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "accepted", (int64_t)c->rep.accepted);
  mw__jw_kint(&w, "skipped", (int64_t)c->rep.skipped);
  mw__jw_key(&w, "errors");
  mw__jw_arr(&w);
  for (size_t i = 0; i < c->rep.n_errors; i++) mw__jw_str(&w, c->rep.errors[i]);
  mw__jw_arr_end(&w);
  mw__jw_kint(&w, "source_id", c->batch.source_id);
  if (c->batch.snapshot_id) mw__jw_kint(&w, "snapshot_id", c->batch.snapshot_id);
  mw__jw_obj_end(&w);
  mw__reply_buf(r, 200, "application/json", &b);
}

/* Checks the body, builds the batch and hands it to the writer. */
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

static void ingest(mw_req *r, mw_ingest_params *p) {
  char err[512] = "";
  if (r->body_rc) {
    unsigned status = mw__req_body_problem(r, err, sizeof err);
    if (status == 503) mw__req_retry_after(r, 1);
    return mw__reply_json_error(r, status, "%s", err);
  }
  rt_ctx *c = mw__arena_calloc(r->arena, 1, sizeof *c);
  if (!c) return mw__reply_json_error(r, 503, "out of memory");
  r->ctx = c;
  const uint8_t *data = r->body ? (const uint8_t *)r->body->data : (const uint8_t *)"";
  size_t len = r->body ? r->body->len : 0;
  /* a profile gzip'd inside the body is inflated against the memory budget */
  mw_mem_account mem = {mw__req_take, mw__req_give, r, 0};
  p->mem = &mem;
  int rc = mw__runtime_build(r->arena, p, data, len, &c->batch, &c->rep, err, sizeof err);
  if (rc == MW_OK) rc = mw__req_account(r, mw__arena_used(r->arena));
  if (rc == MW_ETOOBIG && r->mem_over) mw__req_memory_msg(r, err, sizeof err);
  if (rc == MW_EBUSY) {
    mw__req_retry_after(r, 1);
    return mw__reply_json_error(r, 503, "the server is at its limit (max_request_memory): retry after the delay");
  }
  if (rc == MW_EINVAL) return mw__reply_json_error(r, 400, "%s", err);
  if (rc == MW_ETOOBIG) return mw__reply_json_error(r, 413, "%s", err);
  if (rc == MW_ENOMEM) return mw__reply_json_error(r, 503, "out of memory decoding the body; retry later");
  if (rc) return mw__reply_json_error(r, 500, "%s", err[0] ? err : mw__strerror(rc));
  warn_retention(r, c);
  if (r->body) {
    mw__body_buf_free(r->body);
    r->body = NULL;
  }
  r->job.kind = MW_JOB_RUNTIME;
  r->job.payload = &c->batch;
  r->job.cost_spans = c->batch.n_gc + c->batch.n_sched + c->batch.n_groups + c->batch.n_samples + 1;
  r->job.cost_bytes = mw__arena_used(r->arena);
  rc = mw__req_commit(r);
  if (rc) {
    mw__req_retry_after(r, 1);
    mw__reply_json_error(r, 503, rc == MW_EBUSY ? "the write queue is full (max_queue_spans): retry after the delay"
                                                : "the server is shutting down: retry");
  }
}

static void resume_ingest(mw_req *r) {
  rt_ctx *c = r->ctx;
  if (r->commit_rc == MW_OK) return reply_report(r, c);
  if (r->commit_rc == MW_EFULL) {
    mw__req_retry_after(r, 30);
    return mw__reply_json_error(r, 507, "the disk holding the database is full: nothing was stored");
  }
  mw__req_retry_after(r, 1);
  mw__reply_json_error(r, 503, "storing failed (%s): retry", mw__strerror(r->commit_rc));
}

static void handle_ingest(mw_req *r) {
  mw_ingest_params p = {.kind = r->url + strlen("/api/v1/ingest/"), .received_ns = mw__now_ns(),
                        .limits = &r->http->opts.limits};
  if (!mw__runtime_kind_valid(p.kind) || strcmp(p.kind, "pprof") == 0)
    return mw__reply_json_error(r, 404, "unknown ingest kind \"%.32s\": use gctrace, schedtrace, goroutine, cpu, "
                                        "heap, allocs, mutex or block", p.kind);
  if (mw__req_name_arg(r, "service", &p.service) || mw__req_name_arg(r, "instance", &p.instance)) return;
  if (!p.service || !*p.service) return mw__reply_json_error(r, 400, "the service parameter is required");
  if (!p.instance) p.instance = "";
  if (int_arg(r, "time", &p.time_ns) || int_arg(r, "duration", &p.duration_ns) ||
      int_arg(r, "process_start", &p.process_start_ns))
    return;
  if (p.duration_ns > INT64_MAX - p.time_ns)
    return mw__reply_json_error(r, 400, "time + duration is past what unix nanoseconds hold (2262-04-11)");
  /* the agent names why it took an extra capture; a short word, or refused */
  p.trigger = mw__req_arg(r, "trigger");
  if (p.trigger && (!*p.trigger || strlen(p.trigger) > 32 || strspn(p.trigger, "abcdefghijklmnopqrstuvwxyz_") != strlen(p.trigger)))
    return mw__reply_json_error(r, 400, "trigger must be a short lowercase word, like heap or goroutines");
  ingest(r, &p);
}

/* --- Pyroscope ---------------------------------------------------------------- */

/* Pyroscope names a profile "app.type{k=v,...}": the app is the service; an
 * "instance" (or "service_instance_id", "hostname") label names the instance;
 * the type suffix, or else the profile's sample types, give the kind. */
static const struct { const char *suffix, *kind; } pyro_types[] = {
    {".cpu", "cpu"},          {".itimer", "cpu"},        {".wall", "cpu"},
    {".alloc_objects", "allocs"}, {".alloc_space", "allocs"}, {".inuse_objects", "heap"},
    {".inuse_space", "heap"}, {".goroutines", "goroutine"}, {".mutex_count", "mutex"},
    {".mutex_duration", "mutex"}, {".block_count", "block"}, {".block_duration", "block"},
};

typedef struct pyro_ctx {
  mw_buf profile;               /* the multipart "profile" part */
} pyro_ctx;

static enum MHD_Result pyro_part(void *cls, enum MHD_ValueKind kind, const char *key, const char *filename,
                                 const char *content_type, const char *transfer_encoding, const char *data,
                                 uint64_t off, size_t size) {
  pyro_ctx *pc = cls;
  (void)kind, (void)filename, (void)content_type, (void)transfer_encoding, (void)off;
  if (key && strcmp(key, "profile") == 0 && size && mw__buf_add(&pc->profile, data, size)) return MHD_NO;
  return MHD_YES;
}

static void handle_pyroscope(mw_req *r) {
  const char *name;
  if (mw__req_name_arg(r, "name", &name)) return;
  if (!name || !*name) return mw__reply_json_error(r, 400, "the name parameter is required (app.type{k=v,...})");
  const char *format = mw__req_arg(r, "format");
  if (format && *format && strcmp(format, "pprof") != 0)
    return mw__reply_json_error(r, 400, "format \"%.32s\" is not supported: send pprof", format);
  mw_ingest_params p = {.received_ns = mw__now_ns(), .instance = "", .limits = &r->http->opts.limits};
  const char *brace = strchr(name, '{');
  size_t app_len = brace ? (size_t)(brace - name) : strlen(name);
  char *app = mw__arena_strndup(r->arena, name, app_len);
  for (size_t i = 0; i < sizeof pyro_types / sizeof pyro_types[0]; i++) {
    size_t sl = strlen(pyro_types[i].suffix);
    if (app_len >= sl && strcmp(app + app_len - sl, pyro_types[i].suffix) == 0) {
      p.kind = pyro_types[i].kind;
      app[app_len - sl] = '\0';
      break;
    }
  }
  if (!*app) /* the service would have no name */
    return mw__reply_json_error(r, 400, "the name parameter needs an application name before the type and labels "
                                        "(app.type{k=v,...}), got \"%.64s\"", name);
  if (!p.kind) p.kind = "pprof"; /* read the kind from the sample types */
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
  const char *from = mw__req_arg(r, "from"), *until = mw__req_arg(r, "until");
  int64_t f = 0, u = 0;
  if ((from && *from && mw__parse_time(from, &f)) || (until && *until && mw__parse_time(until, &u)))
    return mw__reply_json_error(r, 400, "from and until must be unix seconds");
  p.time_ns = f;
  if (u > f && f) p.duration_ns = u - f;

  const char *ct = mw__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (r->body_rc == MW_OK && r->body && ct && strncmp(r->media, "multipart/form-data", 19) == 0) {
    pyro_ctx pc;
    mw__buf_init(&pc.profile, r->http->opts.limits.max_body_bytes);
    struct MHD_PostProcessor *pp = MHD_create_post_processor(r->conn, 64 * 1024, pyro_part, &pc);
    int ok = pp && MHD_post_process(pp, r->body->data, r->body->len) == MHD_YES;
    if (pp) MHD_destroy_post_processor(pp);
    if (!ok || !pc.profile.len) {
      mw__buf_free(&pc.profile);
      return mw__reply_json_error(r, 400, "multipart body has no readable \"profile\" part");
    }
    mw__body_buf_free(r->body);
    r->body = malloc(sizeof *r->body);
    if (!r->body) {
      mw__buf_free(&pc.profile);
      return mw__reply_json_error(r, 503, "out of memory");
    }
    *r->body = pc.profile;
  }
  ingest(r, &p);
}

/* --- reading ------------------------------------------------------------------- */

static int range_args(mw_req *r, int64_t *start, int64_t *end, size_t *limit) {
  const char *v;
  *limit = DEFAULT_ROWS;
  if (mw__query_window(r, start, end)) return -1;
  if ((v = mw__req_arg(r, "limit")) && *v) {
    char *e;
    long n = strtol(v, &e, 10);
    if (*e || n < 1 || n > MAX_ROWS) {
      mw__reply_json_error(r, 400, "limit must be an integer from 1 to %d, got \"%.32s\"", MAX_ROWS, v);
      return -1;
    }
    *limit = (size_t)n;
  }
  return 0;
}

/* Parses the decimal id that follows prefix in the URL; *rest gets what follows it. */
static int url_id(mw_req *r, const char *prefix, int64_t *id, const char **rest) {
  const char *p = r->url + strlen(prefix);
  char *end;
  errno = 0;
  long long v = strtoll(p, &end, 10);
  if (end == p || errno || v <= 0) return -1;
  *id = v;
  *rest = end;
  return 0;
}

static void write_source(mw_jsonw *w, const mw_source_info *s) {
  mw__jw_obj(w);
  mw__jw_kint(w, "id", s->id);
  mw__jw_kstr(w, "service", s->service);
  mw__jw_kstr(w, "instance", s->instance);
  if (s->host) mw__jw_kstr(w, "host", s->host);
  if (s->pid) mw__jw_kint(w, "pid", s->pid);
  mw__jw_kint(w, "first_ns", s->first_ns);
  mw__jw_kint(w, "last_ns", s->last_ns);
  mw__jw_obj_end(w);
}

static void finish(mw_req *r, mw_jsonw *w, mw_buf *b) {
  if (mw__jw_error(w)) {
    mw__buf_free(b);
    return mw__reply_json_error(r, 500, "rendering the answer failed");
  }
  mw__reply_buf(r, 200, "application/json", b);
}

/* /api/v1/sources[?offset=&limit=] */
static void handle_sources(mw_req *r) {
  mw_page pg;
  if (mw__page_args(r, MW_PAGE_ROWS, MW_PAGE_ROWS, &pg)) return;
  mw_source_info *src;
  size_t n, next;
  int rc = mw__store_sources(r->http->opts.store, r->arena, &pg, &src, &n, &next);
  if (rc) return mw__reply_json_error(r, 500, "listing sources failed: %s", mw__strerror(rc));
  size_t room = 4096;
  for (size_t i = 0; i < n; i++)
    room += 256 + mw__json_room(src[i].service) + mw__json_room(src[i].instance) + mw__json_room(src[i].host);
  mw_buf b;
  mw__buf_init(&b, room);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "sources");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) write_source(&w, &src[i]);
  mw__jw_arr_end(&w);
  mw__jw_page(&w, next);
  mw__jw_obj_end(&w);
  finish(r, &w, &b);
}

static void handle_source_sub(mw_req *r) {
  int64_t id, start, end;
  const char *rest;
  size_t limit;
  if (url_id(r, "/api/v1/sources/", &id, &rest) < 0) return mw__reply_json_error(r, 400, "source id must be a positive integer");
  if (strcmp(rest, "/gc") && strcmp(rest, "/sched") && strcmp(rest, "/snapshots"))
    return mw__reply_json_error(r, 404, "no such endpoint: %s", r->url);
  if (range_args(r, &start, &end, &limit)) return;
  mw_source_info src;
  int rc = mw__store_source(r->http->opts.store, r->arena, id, &src);
  if (rc == MW_ENOTFOUND) return mw__reply_json_error(r, 404, "source %lld not found", (long long)id);
  if (rc) return mw__reply_json_error(r, 500, "reading the source failed: %s", mw__strerror(rc));
  mw_buf b;
  mw__buf_init(&b, 64u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_key(&w, "source");
  write_source(&w, &src);
  int more = 0;
  if (strcmp(rest, "/gc") == 0) {
    mw_gc_cycle *gc;
    size_t n;
    if ((rc = mw__store_gc(r->http->opts.store, r->arena, id, start, end, limit, &gc, &n, &more))) goto fail;
    mw__jw_key(&w, "cycles");
    mw__jw_arr(&w);
    for (size_t i = 0; i < n; i++) mw__json_gc_cycle(&w, &gc[i]);
    mw__jw_arr_end(&w);
  } else if (strcmp(rest, "/sched") == 0) {
    mw_sched_sample *sc;
    size_t n;
    if ((rc = mw__store_sched(r->http->opts.store, r->arena, id, start, end, limit, &sc, &n, &more))) goto fail;
    mw__jw_key(&w, "samples");
    mw__jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
      mw__jw_obj(&w);
      mw__jw_kint(&w, "time_ns", sc[i].stamp_ns);
      mw__jw_kint(&w, "gomaxprocs", sc[i].gomaxprocs);
      mw__jw_kint(&w, "idleprocs", sc[i].idleprocs);
      mw__jw_kint(&w, "threads", sc[i].threads);
      mw__jw_kint(&w, "spinningthreads", sc[i].spinningthreads);
      mw__jw_kint(&w, "idlethreads", sc[i].idlethreads);
      mw__jw_kint(&w, "runqueue", sc[i].runqueue);
      if (sc[i].local_runq_sum >= 0) mw__jw_kint(&w, "local_runqueue", sc[i].local_runq_sum);
      mw__jw_obj_end(&w);
    }
    mw__jw_arr_end(&w);
  } else {
    const char *kind = mw__req_arg(r, "kind");
    if (kind && !*kind) kind = NULL;
    mw_snapshot_info *sn;
    size_t n;
    if ((rc = mw__store_snapshots(r->http->opts.store, r->arena, id, kind, start, end, limit, &sn, &n, &more))) goto fail;
    mw__jw_key(&w, "snapshots");
    mw__jw_arr(&w);
    for (size_t i = 0; i < n; i++) {
      mw__jw_obj(&w);
      mw__jw_kint(&w, "id", sn[i].id);
      mw__jw_kstr(&w, "kind", sn[i].kind);
      mw__jw_kstr(&w, "format", sn[i].format);
      mw__jw_kint(&w, "time_ns", sn[i].at_ns);
      mw__jw_kint(&w, "duration_ns", sn[i].duration_ns);
      mw__jw_kint(&w, "total", sn[i].total);
      const char *trig = sn[i].meta_json ? strstr(sn[i].meta_json, "\"trigger\":\"") : NULL;
      if (trig) { /* our own meta: the value is a checked short word */
        trig += 11;
        mw__jw_key(&w, "trigger");
        mw__jw_strn(&w, trig, strcspn(trig, "\""));
      }
      mw__jw_obj_end(&w);
    }
    mw__jw_arr_end(&w);
  }
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  return finish(r, &w, &b);
fail:
  mw__buf_free(&b);
  mw__reply_json_error(r, 500, "query failed: %s", mw__strerror(rc));
}

static void handle_snapshot(mw_req *r) {
  int64_t id;
  const char *rest;
  if (url_id(r, "/api/v1/snapshots/", &id, &rest) < 0) return mw__reply_json_error(r, 400, "snapshot id must be a positive integer");
  if (strcmp(rest, "/raw") == 0) {
    const uint8_t *z;
    size_t zl;
    int64_t raw;
    int rc = mw__store_snapshot_payload(r->http->opts.store, r->arena, id, &z, &zl, &raw);
    if (rc == MW_ENOTFOUND) return mw__reply_json_error(r, 404, "snapshot %lld not found", (long long)id);
    if (rc) return mw__reply_json_error(r, 500, "reading the snapshot failed: %s", mw__strerror(rc));
    char *out = malloc(raw > 0 ? (size_t)raw : 1);
    size_t got = out ? ZSTD_decompress(out, (size_t)raw, z, zl) : 0;
    if (!out || ZSTD_isError(got) || (int64_t)got != raw) {
      free(out);
      return mw__reply_json_error(r, 500, "the stored payload of snapshot %lld does not decompress", (long long)id);
    }
    int gz = got >= 2 && (unsigned char)out[0] == 0x1f && (unsigned char)out[1] == 0x8b;
    int text = !gz && got && out[0] == 'g'; /* "goroutine ..." dumps */
    return mw__reply(r, 200, text ? "text/plain; charset=utf-8" : "application/octet-stream", out, got);
  }
  if (*rest) return mw__reply_json_error(r, 404, "no such endpoint: %s", r->url);
  size_t limit = DEFAULT_ROWS;
  const char *v = mw__req_arg(r, "limit");
  if (v && *v) {
    char *e;
    long n = strtol(v, &e, 10);
    if (*e || n < 1 || n > MAX_ROWS) return mw__reply_json_error(r, 400, "limit must be from 1 to %d", MAX_ROWS);
    limit = (size_t)n;
  }
  mw_snapshot_info info;
  mw_snapshot_row *rows;
  size_t n;
  int more;
  size_t offset = 0;
  if ((v = mw__req_arg(r, "offset")) && *v) {
    char *e;
    long long o = strtoll(v, &e, 10);
    if (*e || o < 0 || o > 100000000) return mw__reply_json_error(r, 400, "offset must be a non-negative integer");
    offset = (size_t)o;
  }
  int rc = mw__store_snapshot(r->http->opts.store, r->arena, id, offset, limit, &info, &rows, &n, &more);
  if (rc == MW_ENOTFOUND) return mw__reply_json_error(r, 404, "snapshot %lld not found", (long long)id);
  if (rc) return mw__reply_json_error(r, 500, "reading the snapshot failed: %s", mw__strerror(rc));
  int goroutines = strcmp(info.kind, "goroutine") == 0;
  mw_buf b;
  mw__buf_init(&b, 128u << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_kint(&w, "id", info.id);
  mw__jw_kint(&w, "source_id", info.source_id);
  mw__jw_kstr(&w, "kind", info.kind);
  mw__jw_kstr(&w, "format", info.format);
  mw__jw_kint(&w, "time_ns", info.at_ns);
  mw__jw_kint(&w, "duration_ns", info.duration_ns);
  mw__jw_kint(&w, "total", info.total);
  mw__jw_kint(&w, "raw_bytes", info.raw_bytes);
  mw__jw_kint(&w, "stored_payload_bytes", info.stored_bytes);
  mw__jw_key(&w, "meta");
  mw__jw_raw(&w, info.meta_json ? info.meta_json : "{}");
  mw__jw_key(&w, goroutines ? "groups" : "samples");
  mw__jw_arr(&w);
  for (size_t i = 0; i < n; i++) {
    const mw_snapshot_row *row = &rows[i];
    mw__jw_obj(&w);
    if (goroutines) {
      mw__jw_kstr(&w, "state", row->state);
      if (row->wait_reason) mw__jw_kstr(&w, "wait_reason", row->wait_reason);
      mw__jw_kint(&w, "count", row->count);
      if (row->wait_min_ns >= 0) {
        mw__jw_kint(&w, "wait_min_ns", row->wait_min_ns);
        mw__jw_kint(&w, "wait_max_ns", row->wait_max_ns);
      }
      if (row->locked) mw__jw_kbool(&w, "locked_to_thread", 1);
      if (row->goids) mw__jw_kstr(&w, "goroutine_ids", row->goids);
    } else {
      mw__jw_key(&w, "values");
      mw__jw_raw(&w, row->vals_json ? row->vals_json : "[]");
    }
    if (row->has_span) {
      mw__jw_key(&w, "span_id");
      mw__jw_hex(&w, row->span_id, 8);
    }
    if (row->has_trace) {
      mw__jw_key(&w, "trace_id");
      mw__jw_hex(&w, row->trace_id, 16);
    }
    if (row->labels_json) {
      mw__jw_key(&w, "labels");
      mw__jw_raw(&w, row->labels_json);
    }
    mw__jw_kint(&w, "stack_id", row->stack_id);
    mw__jw_key(&w, "frames");
    mw__json_frames(&w, row->frames);
    mw__jw_obj_end(&w);
  }
  mw__jw_arr_end(&w);
  mw__jw_kbool(&w, "more", more);
  mw__jw_obj_end(&w);
  finish(r, &w, &b);
}

const mw_route mw__runtime_routes[] = {
    {.method = "POST", .access = MW_ACCESS_INGEST, .path = "/api/v1/ingest/", .prefix = 1, .body = 1, .handle = handle_ingest, .resume = resume_ingest},
    {.method = "POST", .access = MW_ACCESS_INGEST, .path = "/ingest", .body = 1, .handle = handle_pyroscope, .resume = resume_ingest},
    {.method = "GET", .path = "/api/v1/sources", .query = 1, .handle = handle_sources},
    {.method = "GET", .path = "/api/v1/sources/", .prefix = 1, .query = 1, .handle = handle_source_sub},
    {.method = "GET", .path = "/api/v1/snapshots/", .prefix = 1, .query = 1, .handle = handle_snapshot},
    {0},
};
