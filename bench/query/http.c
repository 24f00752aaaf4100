/* The client: one libcurl easy handle, so one keep-alive connection, for
 * every request of a run. A request is timed from curl_easy_perform's start to
 * the last byte of the answer (what a viewer waits for); the answer is then
 * checked outside the timed part: status 200, a JSON object, and the
 * endpoint's top-level keys. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "qbench.h"

struct qb_http {
  CURL *h;
  char base[256];
  char *body;
  size_t len, cap;
  int oom;
  long failures, connects;
};

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  qb_http *c = ud;
  size_t k = size * n;
  if (c->len + k + 1 > c->cap) {
    size_t ncap = c->cap ? c->cap : 1 << 16;
    while (ncap < c->len + k + 1) ncap *= 2;
    char *q = realloc(c->body, ncap);
    if (!q) {
      c->oom = 1;
      return 0;
    }
    c->body = q;
    c->cap = ncap;
  }
  memcpy(c->body + c->len, p, k);
  c->len += k;
  return k;
}

qb_http *qb_http_new(const char *base_url) {
  qb_http *c = calloc(1, sizeof *c);
  if (!c) return NULL;
  c->h = curl_easy_init();
  if (!c->h) {
    free(c);
    return NULL;
  }
  snprintf(c->base, sizeof c->base, "%s", base_url);
  curl_easy_setopt(c->h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(c->h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(c->h, CURLOPT_TCP_KEEPALIVE, 1L);
  curl_easy_setopt(c->h, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(c->h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c->h, CURLOPT_WRITEDATA, c);
  return c;
}

void qb_http_free(qb_http *c) {
  if (!c) return;
  curl_easy_cleanup(c->h);
  free(c->body);
  free(c);
}

long qb_http_connects(qb_http *c) { return c->connects; }

const char *qb_kind_name(enum qb_kind k) {
  static const char *const names[QB_NKINDS] = {"timeline", "explain", "trace_by_id"};
  return (int)k >= 0 && k < QB_NKINDS ? names[k] : "?";
}

static int has(json_t *o, const char *key, json_type type) {
  json_t *v = json_object_get(o, key);
  return v && json_typeof(v) == type;
}

static int nonempty_array(json_t *o, const char *key) {
  json_t *v = json_object_get(o, key);
  return json_is_array(v) && json_array_size(v) > 0;
}

/* Per explained span: whether a cause rests on goroutine rows of the span
 * itself or of its operation's slow spans, whether on CPU samples, and
 * whether on an execution trace (scope "trace"). */
static void count_evidence(json_t *root, long ev[5]) {
  json_t *spans = json_object_get(root, "spans"), *sp;
  size_t i;
  json_array_foreach(spans, i, sp) {
    int own = 0, op = 0, cpu = 0, trace = 0;
    json_t *causes = json_object_get(sp, "causes"), *c;
    size_t j;
    json_array_foreach(causes, j, c) {
      const char *scope = json_string_value(json_object_get(c, "scope"));
      if (scope && strcmp(scope, "trace") == 0) trace = 1;
      json_t *evid = json_object_get(c, "evidence"), *e;
      size_t k;
      json_array_foreach(evid, k, e) {
        const char *type = json_string_value(json_object_get(e, "type"));
        if (!type) continue;
        if (strcmp(type, "goroutine_sample") == 0) {
          if (scope && strcmp(scope, "span") == 0) own = 1;
          else op = 1;
        } else if (strcmp(type, "cpu_samples") == 0 || strcmp(type, "cpu_profile") == 0) {
          cpu = 1;
        }
      }
    }
    ev[0] += own;
    ev[1] += op;
    ev[2] += 1;
    ev[3] += cpu;
    ev[4] += trace;
  }
}

double qb_http_get(qb_http *c, enum qb_kind k, const uint8_t id[16], size_t *bytes, long ev[5]) {
  char hex[33], url[512];
  qb_hex(id, 16, hex);
  switch (k) {
  case QB_TIMELINE: snprintf(url, sizeof url, "%s/api/v1/traces/%s/timeline", c->base, hex); break;
  case QB_EXPLAIN: snprintf(url, sizeof url, "%s/api/v1/traces/%s/explain", c->base, hex); break;
  default: snprintf(url, sizeof url, "%s/api/traces/%s", c->base, hex); break;
  }
  curl_easy_setopt(c->h, CURLOPT_URL, url);
  c->len = 0;
  c->oom = 0;
  double t0 = qb_mono_s();
  CURLcode cc = curl_easy_perform(c->h);
  double ms = (qb_mono_s() - t0) * 1e3;
  long code = 0, conns = 0;
  curl_easy_getinfo(c->h, CURLINFO_RESPONSE_CODE, &code);
  curl_easy_getinfo(c->h, CURLINFO_NUM_CONNECTS, &conns); /* new connections for this transfer */
  c->connects += conns;
  *bytes = c->len;
  if (c->body) c->body[c->len] = 0; /* on_body keeps room for it */
  const char *why = NULL;
  json_t *root = NULL;
  json_error_t jerr;
  if (cc != CURLE_OK) why = curl_easy_strerror(cc);
  else if (c->oom) why = "out of memory for the body";
  else if (code != 200) why = "status is not 200";
  else if (!(root = json_loadb(c->body, c->len, 0, &jerr)) || !json_is_object(root)) why = "body is not a JSON object";
  else if (k == QB_TIMELINE) {
    if (!has(root, "trace_id", JSON_STRING) || !nonempty_array(root, "spans") || !nonempty_array(root, "sources"))
      why = "timeline lacks trace_id, spans or sources";
  } else if (k == QB_EXPLAIN) {
    if (!has(root, "trace_id", JSON_STRING) || !has(root, "duration_ns", JSON_INTEGER) ||
        !has(root, "summary", JSON_STRING) || !nonempty_array(root, "spans"))
      why = "explain lacks trace_id, duration_ns, summary or spans";
    else if (ev) count_evidence(root, ev);
  } else if (!nonempty_array(root, "batches")) {
    why = "trace lacks batches";
  }
  if (!why && k != QB_TRACE && strcmp(json_string_value(json_object_get(root, "trace_id")), hex) != 0)
    why = "trace_id is not the one asked for";
  json_decref(root);
  if (why) {
    if (c->failures++ < 5)
      fprintf(stderr, "bench-query: GET %s: %s (HTTP %ld, %zu bytes): %.200s\n", url, why, code, c->len,
              c->len && c->body ? c->body : "");
    return -1;
  }
  return ms;
}

static int cmp_dbl(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double qb_percentile(double *v, size_t n, double p) {
  if (!n) return 0;
  qsort(v, n, sizeof *v, cmp_dbl);
  size_t k = (size_t)(p * (double)n + 0.999999999);
  if (k < 1) k = 1;
  if (k > n) k = n;
  return v[k - 1];
}
