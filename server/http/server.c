/* The libmicrohttpd daemon: binding, routing, the request state machine.
 *
 * A request goes NEW -> BODY (chunks are decompressed as they arrive, with the
 * size limit enforced on the inflated bytes) -> handled. A handler either
 * replies at once or hands a job to the store's writer and suspends the
 * connection; the writer's done() callback resumes it, and the handler's
 * resume() replies. So the pool threads never wait on a commit, and one commit
 * can answer many connections. A query route is handled the same way on a
 * query thread (query.c): the connection is suspended while it runs. */
#include "http/http_int.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "http/status.h"
#include "query/fed.h"
#include "query/metrics.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <strings.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

mw_counter mw__m_spans_accepted, mw__m_spans_rejected;
mw_counter mw__m_profiles_accepted, mw__m_profiles_rejected;
mw_counter_vec mw__m_requests;

/* Bodies up to this size are refused without being drained (see on_request). */
enum { EARLY_REPLY_BYTES = 16 * 1024 };

static const mw_route *const route_tables[] = {mw__otlp_routes,  mw__exectrace_routes, mw__api_routes,
                                               mw__tempo_routes, mw__runtime_routes,   mw__correlate_routes,
                                               mw__gor_routes,   mw__misc_routes};

/* Returns the route for (method, url). *path_ok is 1 when some route other
 * than the viewer's catch-all has the path, so that a wrong method is 405
 * rather than a file lookup. */
static const mw_route *find_route(const char *method, const char *url, int *path_ok) {
  const mw_route *catch_all = NULL;
  *path_ok = 0;
  int head = strcmp(method, "HEAD") == 0;
  for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
    for (const mw_route *r = route_tables[t]; r->path; r++) {
      size_t n = strlen(r->path);
      int match = r->prefix ? strncmp(url, r->path, n) == 0 : strcmp(url, r->path) == 0;
      if (!match) continue;
      int method_ok = strcmp(method, r->method) == 0 || (head && strcmp(r->method, "GET") == 0);
      if (r->prefix && n == 1) { /* "/": the viewer */
        if (method_ok) catch_all = r;
        else if (mw__viewer_has(url)) *path_ok = 1; /* its page or file: a wrong method */
        continue;
      }
      *path_ok = 1;
      if (method_ok) return r;
    }
  }
  return *path_ok ? NULL : catch_all;
}

/* Appends method to a ", "-separated list unless it is there already. */
static void add_method(char *list, size_t size, const char *method) {
  size_t n = strlen(method);
  for (const char *p = list; (p = strstr(p, method)); p += n)
    if ((p == list || p[-1] == ' ') && (p[n] == ',' || !p[n])) return;
  if (strlen(list) + n + 3 > size) return;
  if (list[0]) strcat(list, ", ");
  strcat(list, method);
}

/* The methods the routes of url answer (HEAD wherever GET), as an Allow
 * header value; NULL when none (out of memory, or a path the viewer does not serve). */
static const char *allowed_methods(mw_req *r, const char *url) {
  char out[64] = "";
  for (size_t t = 0; t < sizeof route_tables / sizeof route_tables[0]; t++) {
    for (const mw_route *rt = route_tables[t]; rt->path; rt++) {
      size_t n = strlen(rt->path);
      int match = rt->prefix ? strncmp(url, rt->path, n) == 0 : strcmp(url, rt->path) == 0;
      if (!match || (rt->prefix && n == 1 && !mw__viewer_has(url))) continue;
      add_method(out, sizeof out, rt->method);
      if (strcmp(rt->method, "GET") == 0) add_method(out, sizeof out, "HEAD");
    }
  }
  return out[0] ? mw__arena_strndup(r->arena, out, strlen(out)) : NULL;
}

const char *mw__req_arg(mw_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_GET_ARGUMENT_KIND, name);
}

const char *mw__req_header(mw_req *r, const char *name) {
  return MHD_lookup_connection_value(r->conn, MHD_HEADER_KIND, name);
}

/* Adds the headers every reply carries and sends resp with status (or keeps
 * it, on a query thread). */
static void queue_status(mw_req *r, unsigned status, unsigned retry_after, int auth, const char *content_type,
                         struct MHD_Response *resp) {
  if (!resp) {
    mw__error("cannot create a response", NULL);
    if (r->state != REQ_QUERY) r->state = REQ_REPLIED; /* a query thread's request is resumed all the same */
    return;
  }
  if (content_type) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
  if (retry_after) {
    char v[16];
    snprintf(v, sizeof v, "%u", retry_after);
    MHD_add_response_header(resp, MHD_HTTP_HEADER_RETRY_AFTER, v);
  }
  MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
  if (r->cors) {
    MHD_add_response_header(resp, "Access-Control-Allow-Origin", r->http->opts.cors_origin);
    MHD_add_response_header(resp, "Vary", "Origin");
  }
  if (auth) MHD_add_response_header(resp, "WWW-Authenticate", "Bearer realm=\"meanwhile\"");
  if (r->allow) MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, r->allow);
  if (r->close) MHD_add_response_header(resp, MHD_HTTP_HEADER_CONNECTION, "close");
  if (r->fed_missing) MHD_add_response_header(resp, MW_FED_MISSING_HEADER, r->fed_missing);
  if (r->state == REQ_QUERY) { /* on a query thread: sent once the connection is resumed */
    if (r->answer) MHD_destroy_response(r->answer);
    r->answer = resp;
    r->answer_status = status;
    return;
  }
  mw__req_send(r, status, resp);
}

/* queue_status with what the table says of rc. */
static void queue(mw_req *r, int rc, const char *content_type, struct MHD_Response *resp) {
  queue_status(r, mw__http_status(rc), mw__http_retry_after(rc), mw__http_needs_auth(rc), content_type, resp);
}

void mw__req_send(mw_req *r, unsigned status, struct MHD_Response *resp) {
  if (MHD_queue_response(r->conn, status, resp) != MHD_YES)
    mw__warn("cannot queue a response", "status=%u url=%s", status, r->url);
  MHD_destroy_response(resp);
  mw__counter_vec_add(&mw__m_requests, (int)status, 1);
  r->state = REQ_REPLIED;
  /* early=1: refused at the headers, before any of the body was used */
  mw__debug("request", "method=%s url=%s status=%u us=%lld early=%d", r->route ? r->route->method : "-", r->url, status,
            (long long)((mw__mono_ns() - r->t0_ns) / 1000), r->early);
}

void mw__reply(mw_req *r, int rc, const char *content_type, char *body, size_t len) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                                              body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!resp) free(body);
  queue(r, rc, content_type, resp);
}

void mw__reply_status(mw_req *r, unsigned status, const char *content_type, char *body, size_t len) {
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, body ? body : (char *)"",
                                                              body ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!resp) free(body);
  /* a shard's 401 asks for a token as ours does */
  queue_status(r, status, 0, status == mw__http_status(MW_EUNAUTHORIZED), content_type, resp);
}

void mw__reply_buf(mw_req *r, int rc, const char *content_type, mw_buf *b) {
  /* an answer that did not fit (or found no memory) is never sent as if it
   * were whole: its 200 would carry an empty or cut body */
  if (b->err == MW_ETOOBIG)
    return mw__reply_error(r, b->err,
                           "the answer would be larger than %zu MiB: ask for less (a narrower time window, a "
                           "smaller limit, or the next page)",
                           b->max >> 20);
  if (b->err) return mw__reply_error(r, MW_ENOMEM, "out of memory rendering the answer: retry");
  size_t len;
  char *data = mw__buf_detach(b, &len);
  mw__reply(r, rc, content_type, data, len);
}

void mw__reply_static(mw_req *r, int rc, const char *content_type, const void *data, size_t len) {
  queue(r, rc, content_type, MHD_create_response_from_buffer(len, (void *)data, MHD_RESPMEM_PERSISTENT));
}

void mw__reply_text(mw_req *r, int rc, const char *text) {
  size_t n = strlen(text);
  char *copy = malloc(n + 1);
  if (copy) memcpy(copy, text, n + 1);
  mw__reply(r, rc, "text/plain; charset=utf-8", copy, copy ? n : 0);
}

/* {"error": "<message>"} into b (at most max bytes), the message formatted
 * from fmt and ap (cut at 511 bytes). */
__attribute__((format(printf, 3, 0))) static void error_body(mw_buf *b, size_t max, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  mw__buf_init(b, max);
  mw_jsonw w;
  mw__jw_init(&w, b);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "error", msg);
  mw__jw_obj_end(&w);
}

void mw__reply_error(mw_req *r, int rc, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  mw_buf b;
  error_body(&b, 4096, fmt, ap);
  va_end(ap);
  mw__reply_buf(r, rc, "application/json", &b);
}

void mw__reply_answer(mw_req *r, mw_answer *a) {
  if (a->rc) {
    mw__answer_free(a);
    return mw__reply_error(r, a->rc, "%s", a->error);
  }
  if (!a->filename[0] || a->body.err) return mw__reply_buf(r, MW_OK, a->content_type, &a->body);
  /* a download: its name goes with it */
  size_t len;
  char *data = mw__buf_detach(&a->body, &len);
  struct MHD_Response *resp = MHD_create_response_from_buffer(len, data ? data : (char *)"",
                                                              data ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_PERSISTENT);
  if (!resp) free(data);
  else {
    char v[128];
    snprintf(v, sizeof v, "attachment; filename=%s", a->filename);
    MHD_add_response_header(resp, "Content-Disposition", v);
  }
  queue(r, MW_OK, a->content_type, resp);
}

/* --- commit suspension ---------------------------------------------------- */

static void job_done(mw_write_job *job, int rc) {
  mw_req *r = job->user;
  r->commit_rc = rc;
  r->state = REQ_RESUMED;
  MHD_resume_connection(r->conn);
}

int mw__req_commit(mw_req *r) {
  if (atomic_load(&r->http->stopping)) return MW_ESHUTDOWN;
  r->state = REQ_WAITING;
  /* suspend first: the writer may finish before submit even returns */
  MHD_suspend_connection(r->conn);
  int rc = mw__ingest_submit(r->http->opts.store, &r->job, job_done, r);
  if (rc) {
    r->state = REQ_BODY;
    MHD_resume_connection(r->conn);
  }
  return rc;
}

int mw__req_commit_suspended(mw_req *r) {
  /* no refusal while stopping: a trace read during the shutdown grace still commits */
  r->state = REQ_WAITING;
  return mw__ingest_submit(r->http->opts.store, &r->job, job_done, r);
}

/* --- the access handler --------------------------------------------------- */

static mw_req *req_new(mw_http *h, struct MHD_Connection *conn, const char *url) {
  mw_req *r = calloc(1, sizeof *r);
  if (!r) return NULL;
  r->arena = mw__arena_new(0);
  if (!r->arena) {
    free(r);
    return NULL;
  }
  r->http = h;
  r->conn = conn;
  char *u = mw__arena_strndup(r->arena, url, strlen(url));
  if (!u) {
    mw__arena_free(r->arena);
    free(r);
    return NULL;
  }
  /* a path with a control character is refused, but it is logged first: a
   * decoded newline must not start a log line of its own */
  for (char *p = u; *p; p++)
    if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
  r->url = u;
  r->t0_ns = mw__mono_ns();
  atomic_fetch_add(&h->in_flight, 1);
  return r;
}

static void req_free(mw_req *r) {
  if (!r) return;
  atomic_fetch_sub(&r->http->in_flight, 1);
  atomic_fetch_sub(&r->http->body_bytes, r->accounted);
  if (r->answer) MHD_destroy_response(r->answer);
  mw__body_decoder_free(r->dec);
  if (r->body) mw__body_buf_free(r->body);
  mw__tql_free(r->tql);
  mw__arena_free(r->arena);
  free(r);
}

int mw__req_account(mw_req *r, size_t n) {
  size_t limit = r->http->opts.max_request_memory;
  size_t total = atomic_fetch_add(&r->http->body_bytes, n) + n;
  r->accounted += n;
  if (limit && r->accounted > limit) { /* never fits, however long it waits */
    r->mem_over = r->accounted;
    return MW_ETOOBIG;
  }
  return limit && total > limit ? MW_EBUSY : MW_OK;
}

/* Prepares body decoding from the request headers; replies on a header error. */
static void start_body(mw_req *r) {
  const char *ce = mw__req_header(r, MHD_HTTP_HEADER_CONTENT_ENCODING);
  enum mw_body_encoding enc;
  const char *ct = mw__req_header(r, MHD_HTTP_HEADER_CONTENT_TYPE);
  if (!ct || mw__media_type(ct, r->media, sizeof r->media) != MW_OK) r->media[0] = '\0';
  /* when the write queue is nearly full, an ingest request is refused before
   * its body is read: it costs no decoding and no memory */
  if (r->route->access == MW_ACCESS_INGEST && mw__ingest_refused(r->http->opts.store)) {
    r->body_rc = MW_EBUSY;
    r->early = 1;
    return;
  }
  if (mw__parse_content_encoding(ce, &enc) != MW_OK) {
    r->body_rc = MW_EUNSUPPORTED; /* the handler answers in the request's own encoding */
    return;
  }
  size_t max = r->http->opts.limits.max_body_bytes;
  const char *cl = mw__req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (cl && enc == MW_ENC_IDENTITY && strtoull(cl, NULL, 10) > max) {
    r->body_rc = MW_ETOOBIG; /* answered once the handler sees it, without reading */
    return;
  }
  /* a body of known size is counted against max_request_memory before it is
   * read, so that a refusal, too, is answered at once */
  if (cl && enc == MW_ENC_IDENTITY) {
    /* a JSON body's parsed tree takes many times the body (bench/json):
     * its room is reserved now too, so that the refusal comes at once */
    size_t n = strtoull(cl, NULL, 10);
    r->dom_reserved = strcmp(r->media, "application/json") == 0 ? MW_JSON_TREE_FACTOR * n : 0;
    int rc = mw__req_account(r, n + r->dom_reserved);
    if (rc) {
      r->body_rc = rc; /* MW_EBUSY: retry later; MW_ETOOBIG: never fits */
      r->early = 1;
      return;
    }
  }
  r->dec = mw__body_decoder_new(enc, max);
  if (!r->dec) r->body_rc = MW_ENOMEM;
  else if (cl && enc == MW_ENC_IDENTITY) mw__body_decoder_expect(r->dec, strtoull(cl, NULL, 10));
}

/* Checks the request's bearer token against the route's token set; replies
 * 401 (none given) or 403 (wrong) and returns -1 when refused. */
static int authorize(mw_req *r) {
  const mw_token_set *set = r->route->access == MW_ACCESS_INGEST  ? &r->http->opts.auth.ingest
                            : r->route->access == MW_ACCESS_QUERY ? &r->http->opts.auth.query
                                                                  : NULL;
  if (!set || !set->n) return 0;
  const char *h = mw__req_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
  if (!h || strncasecmp(h, "Bearer ", 7) != 0) {
    mw__reply_error(r, MW_EUNAUTHORIZED, "this endpoint needs an %s token: send Authorization: Bearer <token>",
                    r->route->access == MW_ACCESS_INGEST ? "ingest" : "query");
    return -1;
  }
  const char *tok = h + 7;
  while (*tok == ' ') tok++;
  if (!mw__tokens_match(set, tok, strlen(tok))) {
    mw__reply_error(r, MW_EFORBIDDEN, "the token is not valid for %s",
                    r->route->access == MW_ACCESS_INGEST ? "ingest" : "queries");
    return -1;
  }
  return 0;
}

/* CORS, only for the configured origin: marks r and answers preflights. */
static int cors(mw_req *r, const char *method) {
  const char *allowed = r->http->opts.cors_origin, *origin = mw__req_header(r, "Origin");
  if (!allowed || !origin) return 0;
  r->cors = strcmp(allowed, "*") == 0 || strcmp(allowed, origin) == 0;
  if (strcmp(method, "OPTIONS") != 0) return 0;
  if (!r->cors) {
    mw__reply_text(r, MW_EFORBIDDEN, "origin not allowed");
    return 1;
  }
  struct MHD_Response *resp = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
  if (resp) {
    MHD_add_response_header(resp, "Access-Control-Allow-Methods", "GET, POST");
    MHD_add_response_header(resp, "Access-Control-Allow-Headers", "Authorization, Content-Type, Content-Encoding");
    MHD_add_response_header(resp, "Access-Control-Max-Age", "600");
  }
  queue_status(r, mw__http_status_empty(), 0, 0, NULL, resp);
  return 1;
}

/* A refused body is read and dropped up to this many bytes on the wire, so
 * that its sender, still sending, gets the answer; past it the connection is
 * closed. The same bound stops a body being decoded (twice the limit allows
 * for a compressed body whose inflated size is what counts). */
static size_t drain_bound(const mw_http *h) { return 2 * h->opts.limits.max_body_bytes + 65536; }

/* Whether a body refused at the headers (r->body_rc) is answered at once
 * rather than when it has been drained. libmicrohttpd 0.9.75 closes the
 * connection after an answer given before the body, without reading the
 * rest; a client still sending then gets a reset and may never see the
 * answer. So it is given at once only when nothing more is coming: the client
 * waits for 100 Continue (and gets none), or the body is small enough to have
 * come with the headers; and when the body is larger than the drain bound. */
static int refuse_at_headers(mw_req *r) {
  if (r->expect_continue) return 1;
  const char *cl = mw__req_header(r, MHD_HTTP_HEADER_CONTENT_LENGTH);
  if (!cl) return 0; /* chunked: drained to its end or to the bound */
  unsigned long long n = strtoull(cl, NULL, 10);
  return n <= EARLY_REPLY_BYTES || n > drain_bound(r->http);
}

/* Refuses a request line that mw__uri_check judged bad; returns 1 if so. */
static int refuse_uri(mw_req *r, enum mw_uri_verdict v, size_t params, const char *bad_param) {
  switch (v) {
  case MW_URI_OK: return 0;
  case MW_URI_TOO_LONG:
    mw__reply_error(r, MW_ETOOLONG, "the URI is longer than %d bytes (max_uri_bytes)", MW_MAX_URI_BYTES);
    return 1;
  case MW_URI_TOO_MANY_PARAMS:
    mw__reply_error(r, MW_ETOOLONG, "the query has %zu parameters, more than %d (max_query_params)", params,
                    MW_MAX_QUERY_PARAMS);
    return 1;
  case MW_URI_BAD_PATH:
    mw__reply_error(r, MW_EINVAL,
                    "the path holds a space or a control character (such as %%00), raw or percent-encoded");
    return 1;
  case MW_URI_BAD_QUERY:
    mw__reply_error(r, MW_EINVAL,
                    "the query parameter \"%.40s\" holds a NUL (%%00), a raw space or a control character", bad_param);
    return 1;
  }
  return 0;
}

/* Answers {"error": message} with status by writing it to the socket
 * ourselves, and returns MHD_NO so that libmicrohttpd closes the connection.
 * For the cases where libmicrohttpd 0.9.75 cannot answer: it queues a
 * response only before the body or after all of it, not while a body is
 * still arriving. Nothing else is written to the socket then (a 100 Continue
 * is complete before any of the body is passed to us). Over TLS the socket
 * carries TLS records, so the connection is only closed. */
__attribute__((format(printf, 3, 4))) static enum MHD_Result reply_raw_and_close(mw_req *r, int rc, const char *fmt,
                                                                                 ...) {
  unsigned status = mw__http_status(rc);
  const union MHD_ConnectionInfo *ci = MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CONNECTION_FD);
  mw__counter_vec_add(&mw__m_requests, (int)status, 1);
  mw__debug("request", "method=%s url=%s status=%u us=%lld early=0 raw=1", r->route ? r->route->method : "-", r->url,
            status, (long long)((mw__mono_ns() - r->t0_ns) / 1000));
  if (r->http->tls || !ci) return MHD_NO;
  va_list ap;
  va_start(ap, fmt);
  mw_buf body;
  error_body(&body, 1024, fmt, ap);
  va_end(ap);
  size_t len;
  char *data = mw__buf_detach(&body, &len);
  char head[512];
  int n = snprintf(head, sizeof head,
                   "HTTP/1.1 %u %s\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n"
                   "X-Content-Type-Options: nosniff\r\n%s%s%sConnection: close\r\n\r\n",
                   status, MHD_get_reason_phrase_for(status), data ? len : 0,
                   r->cors ? "Access-Control-Allow-Origin: " : "", r->cors ? r->http->opts.cors_origin : "",
                   r->cors ? "\r\nVary: Origin\r\n" : "");
  /* a fresh connection's send buffer takes this at once; what it does not
   * take is dropped, as the connection closes anyway */
  if (n > 0 && (size_t)n < sizeof head && send(ci->connect_fd, head, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT) == n &&
      data)
    (void)!send(ci->connect_fd, data, len, MSG_NOSIGNAL | MSG_DONTWAIT);
  free(data);
  r->state = REQ_REPLIED;
  return MHD_NO;
}

/* The first call for a request: its headers are in. Judges the request line
 * and headers, finds the route, checks the token and prepares the body; any
 * refusal is answered here. Returns NULL when out of memory. */
static mw_req *begin_request(mw_http *h, struct MHD_Connection *conn, const char *url, const char *method,
                             const char *version) {
  size_t params;
  const char *bad_param;
  enum mw_uri_verdict uri_verdict = mw__guard_headers_done(h->guard, conn, &params, &bad_param);
  mw_req *r = req_new(h, conn, url);
  if (!r) return NULL;
  /* every request passes here first, whatever its route: what the request
   * line and the headers say is judged before anything else */
  mw_framing fr;
  mw__framing_check(conn, version, &fr);
  r->expect_continue = fr.expect_continue;
  r->close = fr.rc || uri_verdict; /* nothing after these headers is read as a request */
  if (fr.rc) {
    mw__reply_error(r, fr.rc, "%s", fr.why);
    return r;
  }
  if (refuse_uri(r, uri_verdict, params, bad_param)) return r;
  if (cors(r, method)) return r;
  int path_ok;
  r->route = find_route(method, url, &path_ok);
  if (!r->route) {
    if (path_ok) {
      r->allow = allowed_methods(r, url);
      mw__reply_error(r, MW_EMETHOD, "%.16s is not allowed on %.200s: use %s", method, url,
                      r->allow ? r->allow : "another method");
    } else if (strncmp(url, "/api/", 5) == 0) {
      mw__reply_error(r, MW_ENOTFOUND, "no such endpoint: %s", url);
    } else {
      mw__reply_text(r, MW_ENOTFOUND, "not found");
    }
    return r;
  }
  if (authorize(r)) return r;
  if (!h->opts.store && r->route->access == MW_ACCESS_INGEST) {
    mw__reply_error(r, MW_ENOTFOUND,
                    "this meanwhiled is query-only (--role query): send data to a shard (docs/FEDERATION.md)");
    return r;
  }
  r->state = REQ_BODY;
  /* in_flight was counted in req_new before this check: mw__http_quiesce
   * sets stopping before it reads in_flight, so none slips between */
  if (atomic_load(&h->stopping)) {
    mw__reply_text(r, MW_ESHUTDOWN, "meanwhiled is shutting down");
    return r;
  }
  if (r->route->body) {
    start_body(r);
    /* refused before the upload: answered now when nothing more is
     * coming, else drained as it arrives and answered at its end */
    if (r->body_rc && refuse_at_headers(r)) r->route->handle(r);
  }
  return r;
}

/* One piece of a request's body: decoded and counted, or dropped when the
 * body was refused; a body too slow or too large on the wire ends the
 * connection. */
static enum MHD_Result take_upload(mw_http *h, mw_req *r, const char *data, size_t *size) {
  r->body_read = 1;
  /* libmicrohttpd's idle timeout restarts with every byte; a body that
   * trickles in is cut off once the whole request has taken too long */
  if (h->opts.request_timeout_s && mw__mono_ns() - r->t0_ns > (int64_t)h->opts.request_timeout_s * 1000000000) {
    mw__warn("request body too slow: closing", "url=%s after_s=%u", r->url, h->opts.request_timeout_s);
    return reply_raw_and_close(r, MW_ETOOSLOW, "the request body was still arriving after %u s (request_timeout)",
                               h->opts.request_timeout_s);
  }
  if (r->body_rc && !r->dec) {
    /* a refused body is dropped as it comes, up to a bound */
    r->drained += *size;
    *size = 0;
    if (r->drained <= drain_bound(h)) return MHD_YES;
    return reply_raw_and_close(r, r->body_rc,
                               "request refused (%s); its body was read and dropped up to %zu bytes, then the "
                               "connection closed",
                               mw__strerror(r->body_rc), drain_bound(h));
  }
  if (!r->body_rc && r->dec) {
    int rc = mw__body_decoder_feed(r->dec, data, *size);
    size_t out = mw__body_decoder_out_len(r->dec);
    if (!rc && out > r->accounted) rc = mw__req_account(r, out - r->accounted);
    if (rc) {
      r->body_rc = rc;
      r->drained = mw__body_decoder_in_len(r->dec); /* the drain bound counts the whole body */
      r->body_window = mw__body_decoder_window_refused(r->dec);
      mw__body_decoder_free(r->dec); /* a refused body is not kept */
      r->dec = NULL;
    }
  } else if (!r->dec && !r->body_rc) {
    r->body_rc = MW_EINVAL;
  }
  /* past twice the limit on the wire, stop listening to it at all */
  if (r->dec && mw__body_decoder_in_len(r->dec) > drain_bound(h))
    return reply_raw_and_close(r, MW_ETOOBIG,
                               "request body is over %zu bytes on the wire (twice max_body_bytes): connection closed",
                               drain_bound(h));
  *size = 0;
  return MHD_YES;
}

/* libmicrohttpd's access handler, called once when the headers are in, once
 * per piece of body, once when the body is complete, and again after a
 * suspended request is resumed. */
static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url, const char *method,
                                  const char *version, const char *upload_data, size_t *upload_size, void **con_cls) {
  mw_http *h = cls;
  mw_req *r = *con_cls;
  if (!r) {
    *con_cls = r = begin_request(h, conn, url, method, version);
    return r ? MHD_YES : MHD_NO;
  }
  if (r->state == REQ_REPLIED) {
    *upload_size = 0; /* discard the rest of a body we already answered */
    return MHD_YES;
  }
  if (*upload_size) return take_upload(h, r, upload_data, upload_size);
  switch (r->state) {
  case REQ_BODY:
    if (r->route->body && r->dec && !r->body_rc) {
      int rc = mw__body_decoder_finish(r->dec, &r->body);
      if (rc) r->body_rc = rc;
    }
    if (r->route->query) mw__query_submit(r);
    else r->route->handle(r);
    break;
  case REQ_RESUMED:
    if (r->route->query) mw__query_reply(r);
    else r->route->resume(r);
    break;
  default: break;
  }
  return MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *conn, void **con_cls, enum MHD_RequestTerminationCode toe) {
  mw_req *r = *con_cls;
  if (r && (r->state == REQ_WAITING || r->state == REQ_QUERY)) {
    /* the writer or a query thread still holds r: impossible while suspended, logged if it happens */
    mw__error("request ended while suspended", "url=%s state=%d", r->url, (int)r->state);
    return;
  }
  req_free(r);
  *con_cls = NULL;
  mw__guard_request_done(((mw_http *)cls)->guard, conn);
  (void)toe;
}

__attribute__((format(printf, 2, 0))) static void on_mhd_log(void *cls, const char *fmt, va_list ap) {
  char msg[512];
  vsnprintf(msg, sizeof msg, fmt, ap);
  size_t n = strlen(msg);
  while (n && (msg[n - 1] == '\n' || msg[n - 1] == '\r')) msg[--n] = '\0';
  mw__debug("libmicrohttpd", "detail=\"%s\"", msg);
  (void)cls;
}

/* Binds host:port ourselves, so that port 0 works and the bound port is known. */
static int bind_listen(const char *spec, int *fd_out, char *bound, size_t boundsz, char *err, size_t errsz) {
  char host[128];
  const char *colon = strrchr(spec, ':');
  if (!colon || colon == spec) {
    snprintf(err, errsz, "--listen must be host:port, got \"%s\"", spec);
    return MW_EINVAL;
  }
  size_t hl = (size_t)(colon - spec);
  if (spec[0] == '[' && hl >= 2 && spec[hl - 1] == ']') spec++, hl -= 2;
  if (hl >= sizeof host) {
    snprintf(err, errsz, "--listen host too long");
    return MW_EINVAL;
  }
  memcpy(host, spec, hl);
  host[hl] = '\0';
  char *end;
  long port = strtol(colon + 1, &end, 10);
  if (*end || port < 0 || port > 65535 || end == colon + 1) {
    snprintf(err, errsz, "--listen port must be 0-65535, got \"%s\"", colon + 1);
    return MW_EINVAL;
  }
  if (strcmp(host, "localhost") == 0) strcpy(host, "127.0.0.1");
  struct sockaddr_storage ss;
  memset(&ss, 0, sizeof ss);
  socklen_t sl;
  struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
  struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
  if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons((uint16_t)port);
    sl = sizeof *v4;
  } else if (inet_pton(AF_INET6, host, &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons((uint16_t)port);
    sl = sizeof *v6;
  } else {
    snprintf(err, errsz, "--listen host must be an IP address or localhost, got \"%s\"", host);
    return MW_EINVAL;
  }
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    snprintf(err, errsz, "socket: %s", strerror(errno));
    return MW_EIO;
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, 1024) != 0) {
    snprintf(err, errsz, "cannot listen on %s: %s", spec, strerror(errno));
    close(fd);
    return MW_EIO;
  }
  sl = sizeof ss;
  getsockname(fd, (struct sockaddr *)&ss, &sl);
  char ip[INET6_ADDRSTRLEN];
  if (ss.ss_family == AF_INET) {
    inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof ip);
    snprintf(bound, boundsz, "%s:%u", ip, ntohs(v4->sin_port));
  } else {
    inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof ip);
    snprintf(bound, boundsz, "[%s]:%u", ip, ntohs(v6->sin6_port));
  }
  *fd_out = fd;
  return MW_OK;
}

int mw__http_start(const mw_http_opts *opts, mw_http **out, char *err, size_t errsz) {
  if (opts->store) mw__q_metrics_attach(opts->store);
  mw_http *h = calloc(1, sizeof *h);
  if (!h) return MW_ENOMEM;
  h->opts = *opts;
  char bound[160];
  int rc = bind_listen(opts->listen, &h->listen_fd, bound, sizeof bound, err, errsz);
  if (rc) {
    free(h);
    return rc;
  }
  unsigned flags =
      MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ITC | MHD_USE_ERROR_LOG;
  int tls = opts->tls_cert_pem && opts->tls_key_pem;
  if (tls && MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES) {
    snprintf(err, errsz, "this libmicrohttpd has no TLS support");
    close(h->listen_fd);
    free(h);
    return MW_EUNSUPPORTED;
  }
  if (tls) flags |= MHD_USE_TLS;
  h->tls = tls;
  if (mw__guard_new(opts->header_timeout_s, opts->conn_timeout_s ? opts->conn_timeout_s : 30u, &h->guard)) {
    snprintf(err, errsz, "cannot start the connection watchdog");
    close(h->listen_fd);
    free(h);
    return MW_ENOMEM;
  }
  if ((rc = mw__query_pool_start(h, err, errsz)) || (rc = mw__xt_pool_start(h, err, errsz)) ||
      (rc = mw__fed_pool_start(h, err, errsz))) {
    mw__query_pool_free(h);
    mw__xt_pool_free(h);
    mw__guard_free(h->guard);
    close(h->listen_fd);
    free(h);
    return rc;
  }
  h->daemon = MHD_start_daemon(
      flags, 0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, h, MHD_OPTION_LISTEN_SOCKET,
      h->listen_fd, MHD_OPTION_THREAD_POOL_SIZE, opts->threads ? opts->threads : 4u, MHD_OPTION_CONNECTION_LIMIT,
      opts->max_connections ? opts->max_connections : 1024u, MHD_OPTION_CONNECTION_TIMEOUT,
      opts->conn_timeout_s ? opts->conn_timeout_s : 30u, MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
      MHD_OPTION_NOTIFY_CONNECTION, mw__guard_on_connection, h->guard, MHD_OPTION_URI_LOG_CALLBACK, mw__guard_on_uri,
      h->guard, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)64 * 1024, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
      opts->max_connections_per_ip ? opts->max_connections_per_ip : 128u,
      tls ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, opts->tls_cert_pem, MHD_OPTION_HTTPS_MEM_KEY, opts->tls_key_pem,
      MHD_OPTION_END);
  if (!h->daemon) {
    snprintf(err, errsz, "cannot start the HTTP server on %s", bound);
    mw__query_pool_free(h);
    mw__fed_pool_free(h);
    mw__xt_pool_free(h);
    close(h->listen_fd);
    mw__guard_free(h->guard);
    free(h);
    return MW_EIO;
  }
  mw__info("listening", "addr=%s threads=%u query_threads=%u tls=%s", bound, opts->threads ? opts->threads : 4u,
           h->opts.query_threads, tls ? "on" : "off");
  int loopback = strncmp(bound, "127.", 4) == 0 || strncmp(bound, "[::1]", 5) == 0;
  if (!loopback && (!opts->auth.ingest.n || !opts->auth.query.n))
    mw__warn("listening beyond loopback without tokens: anyone who reaches this port can send or read data",
             "addr=%s ingest_tokens=%zu query_tokens=%zu", bound, opts->auth.ingest.n, opts->auth.query.n);
  *out = h;
  return MW_OK;
}

void mw__http_quiesce(mw_http *h) {
  atomic_store(&h->stopping, 1);
  mw__xt_pool_quiesce(h);
  MHD_socket fd = MHD_quiesce_daemon(h->daemon);
  if (fd != MHD_INVALID_SOCKET) {
    close(fd);
    h->listen_fd = -1;
  }
}

size_t mw__http_in_flight(mw_http *h) { return atomic_load(&h->in_flight); }

void mw__http_stop(mw_http *h) {
  if (!h) return;
  /* queries still running are stopped and their connections resumed first:
   * libmicrohttpd refuses to stop with suspended connections */
  mw__query_pool_stop(h);
  mw__fed_pool_stop(h);
  mw__xt_pool_stop(h);
  MHD_stop_daemon(h->daemon);
  mw__guard_free(h->guard);
  mw__query_pool_free(h);
  mw__fed_pool_free(h);
  mw__xt_pool_free(h);
  if (h->listen_fd >= 0) close(h->listen_fd);
  free(h);
}
