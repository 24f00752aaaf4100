/* Tests for libmeanwhile's pushes (client/lib/client.c, http.c) against a
 * tiny HTTP server in this file, a thread on a loopback port that answers from
 * a script and records every request: what is sent (path, parameters,
 * Content-Type, Content-Encoding, body), what is retried (429/502/503/504 and
 * refused connections, honouring Retry-After) and what is not, and the spool:
 * a collector that is down gets nothing lost, in order, even across handles. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "../../client/lib/client_int.h"
#include "meanwhile/client.h"

/* --- the fake collector ------------------------------------------------------------------ */

enum { MAX_REQS = 64, MAX_SCRIPT = 32 };

typedef struct fake_req {
  char path[1024];
  char encoding[32];
  char ctype[64];
  uint8_t *body;
  size_t len;
} fake_req;

typedef struct fake {
  int fd, port, listening, stop;
  pthread_t thread;
  pthread_mutex_t mu;
  struct {
    int status, retry_after;
  } script[MAX_SCRIPT];
  int n_script, next;
  fake_req reqs[MAX_REQS];
  int n_reqs;
} fake;

static fake srv;

/* The value of header name in the header block h (lower-case name), or "". */
static void header(const char *h, const char *name, char *out, size_t size) {
  out[0] = '\0';
  for (const char *p = h; p && *p; p = strstr(p, "\r\n"), p = p ? p + 2 : NULL) {
    size_t nl = strlen(name);
    if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
      const char *v = p + nl + 1;
      while (*v == ' ') v++;
      size_t l = strcspn(v, "\r\n");
      snprintf(out, size, "%.*s", (int)(l < size ? l : size - 1), v);
      return;
    }
  }
}

static void serve_one(fake *f, int c) {
  size_t cap = 1 << 20, n = 0;
  char *buf = malloc(cap + 1);
  char *end = NULL;
  while (!end && n < cap) {
    ssize_t r = read(c, buf + n, cap - n);
    if (r <= 0) goto out;
    n += (size_t)r;
    buf[n] = '\0';
    end = strstr(buf, "\r\n\r\n");
  }
  if (!end) goto out;
  char cl[32], path[1024] = "";
  header(buf, "content-length", cl, sizeof cl);
  size_t want = (size_t)strtoul(cl, NULL, 10), head = (size_t)(end + 4 - buf);
  while (n - head < want && n < cap) {
    ssize_t r = read(c, buf + n, cap - n);
    if (r <= 0) goto out;
    n += (size_t)r;
  }
  sscanf(buf, "POST %1023s", path);
  pthread_mutex_lock(&f->mu);
  int status = 200, retry_after = -1;
  if (f->next < f->n_script) {
    status = f->script[f->next].status;
    retry_after = f->script[f->next].retry_after;
    f->next++;
  }
  if (f->n_reqs < MAX_REQS) {
    fake_req *q = &f->reqs[f->n_reqs++];
    snprintf(q->path, sizeof q->path, "%s", path);
    header(buf, "content-encoding", q->encoding, sizeof q->encoding);
    header(buf, "content-type", q->ctype, sizeof q->ctype);
    q->len = want;
    q->body = malloc(want ? want : 1);
    memcpy(q->body, buf + head, want);
  }
  pthread_mutex_unlock(&f->mu);
  char resp[512], extra[64] = "";
  const char *body = status == 200 ? "{\"accepted\":1}" : "{\"error\":\"scripted\"}";
  if (retry_after >= 0) snprintf(extra, sizeof extra, "Retry-After: %d\r\n", retry_after);
  int rl = snprintf(resp, sizeof resp,
                    "HTTP/1.1 %d Scripted\r\nContent-Type: application/json\r\nContent-Length: %zu\r\n%sConnection: "
                    "close\r\n\r\n%s",
                    status, strlen(body), extra, body);
  if (write(c, resp, (size_t)rl) < 0) goto out;
out:
  free(buf);
  close(c);
}

static void *serve(void *arg) {
  fake *f = arg;
  while (!f->stop) {
    struct pollfd p = {.fd = f->fd, .events = POLLIN};
    if (poll(&p, 1, 20) <= 0) continue;
    int c = accept(f->fd, NULL, NULL);
    if (c >= 0) serve_one(f, c);
  }
  return NULL;
}

/* Binds a port; connections are refused until fake_listen(). */
static void fake_bind(fake *f) {
  memset(f, 0, sizeof *f);
  pthread_mutex_init(&f->mu, NULL);
  f->fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(f->fd >= 0);
  struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  assert_int_equal(bind(f->fd, (struct sockaddr *)&a, sizeof a), 0);
  socklen_t al = sizeof a;
  getsockname(f->fd, (struct sockaddr *)&a, &al);
  f->port = ntohs(a.sin_port);
}

static void fake_listen(fake *f) {
  assert_int_equal(listen(f->fd, 64), 0);
  f->listening = 1;
  assert_int_equal(pthread_create(&f->thread, NULL, serve, f), 0);
}

static void fake_script(fake *f, int status, int retry_after) {
  pthread_mutex_lock(&f->mu);
  f->script[f->n_script].status = status;
  f->script[f->n_script].retry_after = retry_after;
  f->n_script++;
  pthread_mutex_unlock(&f->mu);
}

static void fake_stop(fake *f) {
  f->stop = 1;
  if (f->listening) pthread_join(f->thread, NULL);
  close(f->fd);
  for (int i = 0; i < f->n_reqs; i++) free(f->reqs[i].body);
  pthread_mutex_destroy(&f->mu);
}

/* --- helpers ------------------------------------------------------------------------------ */

static char url[64], spool[256];
static int outcomes[5];

static void count_outcome(void *user, const mw_outcome *o) {
  (void)user;
  outcomes[o->outcome]++;
}

static int setup(void **state) {
  (void)state;
  fake_bind(&srv);
  snprintf(url, sizeof url, "http://127.0.0.1:%d", srv.port);
  snprintf(spool, sizeof spool, "/tmp/mw-test-push-XXXXXX");
  assert_non_null(mkdtemp(spool));
  memset(outcomes, 0, sizeof outcomes);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  fake_stop(&srv);
  DIR *d = opendir(spool);
  struct dirent *de;
  char p[600];
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", spool, de->d_name);
      unlink(p);
    }
  if (d) closedir(d);
  rmdir(spool);
  return 0;
}

static void options(mw_client_options *o, int with_spool) {
  mw_client_options_init(o);
  o->url = url;
  o->backoff_initial_ms = 5;
  o->backoff_max_ms = 50;
  o->timeout_ms = 5000;
  o->spool_dir = with_spool ? spool : NULL;
  o->on_outcome = count_outcome;
}

static mw_runtime_params params(int64_t t) {
  mw_runtime_params p = {.service = "svc", .instance = "i-1", .time_ns = t};
  return p;
}

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* --- what is sent ------------------------------------------------------------------------- */

static int contains(const uint8_t *b, size_t n, const void *needle, size_t k) {
  for (size_t i = 0; i + k <= n; i++)
    if (memcmp(b + i, needle, k) == 0) return 1;
  return 0;
}

/* runtime_as_otlp: a runtime push goes to /v1/traces as OTLP protobuf, the payload inside
 * (test_client_carrier.c reads the message field by field); a payload that is gzip already
 * goes uncompressed, a text one compressed like any body */
static void carried_as_otlp(void **state) {
  (void)state;
  fake_listen(&srv);
  mw_client_options o;
  options(&o, 0);
  o.runtime_as_otlp = 1;
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = {.service = "checkout", .instance = "i-1"};
  static const char gz[] = "\x1f\x8b\x08\x00 a gzip'd profile, as Go writes them, longer than a kilobyte";
  char big[4096];
  memset(big, 'g', sizeof big);
  assert_int_equal(mw_client_push_runtime(c, "heap", gz, sizeof gz - 1, &p), 0);
  assert_int_equal(mw_client_push_runtime(c, "gctrace", big, sizeof big, &p), 0);
  assert_int_equal(srv.n_reqs, 2);
  for (int i = 0; i < 2; i++) {
    assert_string_equal(srv.reqs[i].path, "/v1/traces");
    assert_string_equal(srv.reqs[i].ctype, "application/x-protobuf");
  }
  assert_string_equal(srv.reqs[0].encoding, "");
  assert_true(contains(srv.reqs[0].body, srv.reqs[0].len, gz, sizeof gz - 1));
  assert_true(contains(srv.reqs[0].body, srv.reqs[0].len, "meanwhile.runtime", 17));
  assert_string_equal(srv.reqs[1].encoding, "zstd");
  assert_true(srv.reqs[1].len < sizeof big / 4);
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.delivered, 2);
  mw_client_free(&c);
}

static void delivered_with_its_parameters(void **state) {
  (void)state;
  fake_listen(&srv);
  mw_client_options o;
  options(&o, 0);
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = {.service = "check out",
                         .instance = "i/1",
                         .time_ns = 5,
                         .duration_ns = 7,
                         .process_start_ns = 9,
                         .trigger = "heap"};
  assert_int_equal(mw_client_push_runtime(c, "goroutine", "small", 5, &p), 0);
  assert_int_equal(srv.n_reqs, 1);
  assert_string_equal(srv.reqs[0].path,
                      "/api/v1/ingest/goroutine?service=check%20out&instance=i%2F1&time=5&duration=7&process_start=9&"
                      "trigger=heap");
  assert_string_equal(srv.reqs[0].ctype, "application/octet-stream");
  assert_string_equal(srv.reqs[0].encoding, ""); /* too small to compress */
  assert_memory_equal(srv.reqs[0].body, "small", 5);
  const char *body;
  assert_int_equal(mw_client_last_response(c, &body), 200);
  assert_string_equal(body, "{\"accepted\":1}");

  assert_int_equal(mw_client_push_spans(c, "\x0a\x00", 2), 0);
  assert_string_equal(srv.reqs[1].path, "/v1/traces");
  assert_string_equal(srv.reqs[1].ctype, "application/x-protobuf");
  p.time_ns = 0, p.duration_ns = 0, p.process_start_ns = 0, p.trigger = NULL, p.instance = NULL;
  assert_int_equal(mw_client_push_runtime(c, "gctrace", "gc 1 @0.1s 0%: ...\n", 19, &p), 0);
  assert_string_equal(srv.reqs[2].path, "/api/v1/ingest/gctrace?service=check%20out");
  assert_string_equal(srv.reqs[2].ctype, "text/plain");
  assert_int_equal(mw_client_push_spans_json(c, "{\"resourceSpans\":[]}", 20), 0);
  assert_string_equal(srv.reqs[3].path, "/v1/traces");
  assert_string_equal(srv.reqs[3].ctype, "application/json");
  assert_memory_equal(srv.reqs[3].body, "{\"resourceSpans\":[]}", 20);

  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.pushed, 4);
  assert_int_equal(st.delivered, 4);
  assert_int_equal(outcomes[MW_OUTCOME_DELIVERED], 4);
  mw_client_free(&c);
  assert_null(c);
  mw_client_free(&c); /* twice is fine */
}

static void compressed(void **state) {
  (void)state;
  fake_listen(&srv);
  char text[8192];
  for (size_t i = 0; i < sizeof text; i++) text[i] = (char)('a' + (i * 7 + i / 100) % 26);
  for (int enc = MW_ENCODING_ZSTD; enc <= MW_ENCODING_IDENTITY; enc++) {
    mw_client_options o;
    options(&o, 0);
    o.encoding = (mw_encoding)enc;
    mw_client *c = NULL;
    assert_int_equal(mw_client_new(&o, &c), 0);
    mw_runtime_params p = params(1);
    assert_int_equal(mw_client_push_runtime(c, "goroutine", text, sizeof text, &p), 0);
    fake_req *q = &srv.reqs[srv.n_reqs - 1];
    char out[sizeof text];
    if (enc == MW_ENCODING_ZSTD) {
      assert_string_equal(q->encoding, "zstd");
      assert_true(q->len < sizeof text / 2);
      assert_int_equal(ZSTD_decompress(out, sizeof out, q->body, q->len), sizeof text);
    } else if (enc == MW_ENCODING_GZIP) {
      assert_string_equal(q->encoding, "gzip");
      z_stream z = {0};
      assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
      z.next_in = q->body, z.avail_in = (uInt)q->len, z.next_out = (Bytef *)out, z.avail_out = sizeof out;
      assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
      assert_int_equal(z.total_out, sizeof text);
      inflateEnd(&z);
    } else {
      assert_string_equal(q->encoding, "");
      assert_int_equal(q->len, sizeof text);
      memcpy(out, q->body, sizeof out);
    }
    assert_memory_equal(out, text, sizeof text);
    /* Go's gzip'd pprof goes as it is */
    char gz[4096] = {0x1f, (char)0x8b, 8};
    assert_int_equal(mw_client_push_runtime(c, "cpu", gz, sizeof gz, &p), 0);
    q = &srv.reqs[srv.n_reqs - 1];
    assert_string_equal(q->encoding, "");
    assert_int_equal(q->len, sizeof gz);
    mw_client_free(&c);
  }
}

static void refuses_bad_arguments(void **state) {
  (void)state;
  mw_client_options o;
  options(&o, 0);
  mw_client *c = NULL;
  o.url = "ftp://example";
  assert_int_equal(mw_client_new(&o, &c), MW_ERR_INVAL);
  o.url = url;
  o.max_attempts = 0;
  assert_int_equal(mw_client_new(&o, &c), MW_ERR_INVAL);
  options(&o, 0);
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  assert_int_equal(mw_client_push_runtime(c, "GOROUTINE", "x", 1, &p), MW_ERR_INVAL);
  assert_int_equal(mw_client_push_runtime(c, "../x", "x", 1, &p), MW_ERR_INVAL);
  assert_int_equal(mw_client_push_runtime(c, "", "x", 1, &p), MW_ERR_INVAL);
  p.service = NULL;
  assert_int_equal(mw_client_push_runtime(c, "cpu", "x", 1, &p), MW_ERR_INVAL);
  assert_int_equal(mw_client_push_runtime(c, "cpu", NULL, 1, &(mw_runtime_params){.service = "s"}), MW_ERR_INVAL);
  assert_int_equal(srv.n_reqs, 0);
  assert_string_equal(mw_strerror(MW_ERR_LOCKED), "the spool directory is in use by another process");
  assert_string_equal(mw_strerror(12345), "unknown error");
  mw_client_free(&c);
}

/* --- retries ------------------------------------------------------------------------------ */

static void retried_until_delivered(void **state) {
  (void)state;
  fake_script(&srv, 503, -1);
  fake_script(&srv, 502, -1);
  fake_listen(&srv);
  mw_client_options o;
  options(&o, 0);
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  assert_int_equal(mw_client_push_runtime(c, "heap", "h", 1, &p), 0);
  assert_int_equal(srv.n_reqs, 3);
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.retries, 2);
  assert_int_equal(st.delivered, 1);
  assert_int_equal(st.backoff_ms, 0);
  mw_client_free(&c);
}

static void not_retried(void **state) {
  (void)state;
  const int statuses[] = {400, 404, 413, 500, 507};
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) fake_script(&srv, statuses[i], 1);
  fake_listen(&srv);
  mw_client_options o;
  options(&o, 1); /* even with a spool: a refused payload is not kept */
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++) {
    assert_int_equal(mw_client_push_runtime(c, "heap", "h", 1, &p), MW_ERR_REJECTED);
    assert_int_equal(srv.n_reqs, (int)i + 1);
    const char *body;
    assert_int_equal(mw_client_last_response(c, &body), statuses[i]);
    assert_string_equal(body, "{\"error\":\"scripted\"}");
  }
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.rejected, 5);
  assert_int_equal(st.spooled, 0);
  assert_int_equal(st.spool_files, 0);
  mw_client_free(&c);
}

static void retry_after_honoured(void **state) {
  (void)state;
  fake_script(&srv, 429, 1);
  fake_listen(&srv);
  mw_client_options o;
  options(&o, 0);
  o.backoff_max_ms = 5000;
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  int64_t t0 = mono_ms();
  assert_int_equal(mw_client_push_runtime(c, "heap", "h", 1, &p), 0);
  int64_t took = mono_ms() - t0;
  assert_true(took >= 950);
  assert_true(took < 4000);
  assert_int_equal(srv.n_reqs, 2);
  mw_client_free(&c);
}

static void gives_up_without_spool(void **state) {
  (void)state;
  for (int i = 0; i < 5; i++) fake_script(&srv, 503, -1);
  fake_listen(&srv);
  mw_client_options o;
  options(&o, 0);
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  assert_int_equal(mw_client_push_runtime(c, "heap", "h", 1, &p), MW_ERR_RETRY);
  assert_int_equal(srv.n_reqs, 3); /* max_attempts */
  assert_int_equal(outcomes[MW_OUTCOME_FAILED], 1);
  mw_client_free(&c);

  fake down;
  fake_bind(&down); /* bound, not listening: connections are refused */
  char u[64];
  snprintf(u, sizeof u, "http://127.0.0.1:%d", down.port);
  options(&o, 0);
  o.url = u;
  assert_int_equal(mw_client_new(&o, &c), 0);
  assert_int_equal(mw_client_push_runtime(c, "heap", "h", 1, &p), MW_ERR_CONNECT);
  const char *body;
  assert_int_equal(mw_client_last_response(c, &body), 0);
  assert_true(strlen(body) > 0); /* curl's message */
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.retries, 2);
  assert_int_equal(st.failed, 1);
  assert_int_equal(mw_client_flush(c, 0), 0); /* no spool: nothing to flush */
  mw_client_free(&c);

  /* a collector down for long: pushes do not sleep through ever longer waits */
  options(&o, 0);
  o.url = u;
  o.backoff_initial_ms = 100;
  o.backoff_max_ms = 5000;
  assert_int_equal(mw_client_new(&o, &c), 0);
  int64_t t0 = mono_ms();
  for (int i = 0; i < 10; i++) assert_int_equal(mw_client_push_runtime(c, "heap", "h", 1, &p), MW_ERR_CONNECT);
  assert_true(mono_ms() - t0 < 2000);
  mw_client_stats_get(c, &st);
  assert_int_equal(st.failed, 10);
  assert_true(st.backoff_ms > 0);
  mw_client_free(&c);
  fake_stop(&down);
}

/* --- the spool ------------------------------------------------------------------------------ */

static void nothing_lost_while_down(void **state) {
  (void)state;
  mw_client_options o;
  options(&o, 1);
  o.backoff_initial_ms = 20;
  o.backoff_max_ms = 100;
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  char body[32];
  for (int i = 1; i <= 5; i++) {
    mw_runtime_params p = params(i);
    snprintf(body, sizeof body, "payload %d", i);
    assert_int_equal(mw_client_push_runtime(c, "goroutine", body, strlen(body), &p), MW_PUSH_SPOOLED);
  }
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.spool_files, 5);
  assert_int_equal(st.spooled, 5);
  assert_true(st.retries >= 2);
  assert_int_equal(mw_client_flush(c, 0), MW_ERR_AGAIN); /* still down */

  fake_listen(&srv); /* the collector is back */
  assert_int_equal(mw_client_flush(c, 5000), 0);
  assert_int_equal(srv.n_reqs, 5);
  for (int i = 0; i < 5; i++) {
    char want[128];
    snprintf(want, sizeof want, "/api/v1/ingest/goroutine?service=svc&instance=i-1&time=%d", i + 1);
    assert_string_equal(srv.reqs[i].path, want);
    snprintf(body, sizeof body, "payload %d", i + 1);
    assert_memory_equal(srv.reqs[i].body, body, strlen(body));
  }
  mw_client_stats_get(c, &st);
  assert_int_equal(st.delivered, 5);
  assert_int_equal(st.spool_files, 0);
  assert_int_equal(st.spool_bytes, 0);
  assert_int_equal(outcomes[MW_OUTCOME_SPOOLED], 5);
  assert_int_equal(outcomes[MW_OUTCOME_DELIVERED], 5);
  mw_client_free(&c);
}

static void order_kept_behind_the_spool(void **state) {
  (void)state;
  mw_client_options o;
  options(&o, 1);
  o.backoff_initial_ms = 400; /* the handle still backs off when the collector is back */
  o.backoff_max_ms = 400;
  o.max_attempts = 1;
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  assert_int_equal(mw_client_push_runtime(c, "cpu", "A", 1, &p), MW_PUSH_SPOOLED);
  fake_listen(&srv);
  p.time_ns = 2;
  assert_int_equal(mw_client_push_runtime(c, "cpu", "B", 1, &p), MW_PUSH_SPOOLED); /* behind A */
  assert_int_equal(srv.n_reqs, 0);
  assert_int_equal(mw_client_flush(c, 5000), 0);
  assert_int_equal(srv.n_reqs, 2);
  assert_memory_equal(srv.reqs[0].body, "A", 1);
  assert_memory_equal(srv.reqs[1].body, "B", 1);
  p.time_ns = 3;
  assert_int_equal(mw_client_push_runtime(c, "cpu", "C", 1, &p), 0); /* the spool is empty: straight out */
  mw_client_free(&c);
}

static void flush_drops_what_is_refused(void **state) {
  (void)state;
  mw_client_options o;
  options(&o, 1);
  o.max_attempts = 1;
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  mw_runtime_params p = params(1);
  assert_int_equal(mw_client_push_runtime(c, "cpu", "bad", 3, &p), MW_PUSH_SPOOLED);
  assert_int_equal(mw_client_push_runtime(c, "cpu", "good", 4, &p), MW_PUSH_SPOOLED);
  fake_script(&srv, 400, -1);
  fake_script(&srv, 503, 0); /* then busy once: retried by the flush */
  fake_listen(&srv);
  assert_int_equal(mw_client_flush(c, 5000), 0);
  assert_int_equal(srv.n_reqs, 3);
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.rejected, 1);
  assert_int_equal(st.delivered, 1);
  assert_int_equal(st.spool_files, 0);
  assert_memory_equal(srv.reqs[2].body, "good", 4);
  mw_client_free(&c);
}

static void full_spool_drops_oldest(void **state) {
  (void)state;
  mw_client_options o;
  options(&o, 1);
  o.spool_max_files = 2;
  o.max_attempts = 1;
  mw_client *c = NULL;
  assert_int_equal(mw_client_new(&o, &c), 0);
  for (int i = 1; i <= 4; i++) {
    mw_runtime_params p = params(i);
    assert_int_equal(mw_client_push_runtime(c, "heap", "x", 1, &p), MW_PUSH_SPOOLED);
  }
  mw_client_stats st;
  mw_client_stats_get(c, &st);
  assert_int_equal(st.dropped, 2);
  assert_int_equal(outcomes[MW_OUTCOME_DROPPED], 2);
  assert_int_equal(st.spool_files, 2);
  fake_listen(&srv);
  assert_int_equal(mw_client_flush(c, 5000), 0);
  assert_int_equal(srv.n_reqs, 2);
  assert_non_null(strstr(srv.reqs[0].path, "time=3"));
  assert_non_null(strstr(srv.reqs[1].path, "time=4"));
  mw_client_free(&c);
}

static void spool_outlives_the_handle(void **state) {
  (void)state;
  mw_client_options o;
  options(&o, 1);
  o.max_attempts = 1;
  mw_client *a = NULL, *b = NULL;
  assert_int_equal(mw_client_new(&o, &a), 0);
  assert_int_equal(mw_client_new(&o, &b), MW_ERR_LOCKED); /* one process per spool */
  mw_runtime_params p = params(1);
  assert_int_equal(mw_client_push_runtime(a, "goroutine", "one", 3, &p), MW_PUSH_SPOOLED);
  assert_int_equal(mw_client_push_runtime(a, "goroutine", "two", 3, &p), MW_PUSH_SPOOLED);
  mw_client_free(&a);

  assert_int_equal(mw_client_new(&o, &b), 0); /* the next run */
  mw_client_stats st;
  mw_client_stats_get(b, &st);
  assert_int_equal(st.spool_files, 2);
  fake_listen(&srv);
  assert_int_equal(mw_client_flush(b, 5000), 0);
  assert_int_equal(srv.n_reqs, 2);
  assert_memory_equal(srv.reqs[0].body, "one", 3);
  assert_memory_equal(srv.reqs[1].body, "two", 3);
  mw_client_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(delivered_with_its_parameters, setup, teardown),
      cmocka_unit_test_setup_teardown(carried_as_otlp, setup, teardown),
      cmocka_unit_test_setup_teardown(compressed, setup, teardown),
      cmocka_unit_test_setup_teardown(refuses_bad_arguments, setup, teardown),
      cmocka_unit_test_setup_teardown(retried_until_delivered, setup, teardown),
      cmocka_unit_test_setup_teardown(not_retried, setup, teardown),
      cmocka_unit_test_setup_teardown(retry_after_honoured, setup, teardown),
      cmocka_unit_test_setup_teardown(gives_up_without_spool, setup, teardown),
      cmocka_unit_test_setup_teardown(nothing_lost_while_down, setup, teardown),
      cmocka_unit_test_setup_teardown(order_kept_behind_the_spool, setup, teardown),
      cmocka_unit_test_setup_teardown(flush_drops_what_is_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(full_spool_drops_oldest, setup, teardown),
      cmocka_unit_test_setup_teardown(spool_outlives_the_handle, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
