/* The load generator: N threads, each with one libcurl easy handle (so one
 * keep-alive connection), posting pre-encoded batches to /v1/traces.
 *
 * Thread t owns batches t, t+N, t+2N, ... of the corpus and re-stamps one in
 * place before each send (new ids from the run-wide counters, times shifted to
 * now), so sending costs no encoding and no copying; a thread never touches a
 * buffer libcurl of another thread may be reading. Batches are claimed from
 * one shared counter, which is both the stop condition (--spans) and, with
 * --rate, the schedule: claim k is due at start + k * spans_per_batch / rate,
 * whichever thread takes it, so pacing holds however the threads interleave.
 *
 * Only a 200 counts, minus partial_success.rejected_spans from its body; 429,
 * 502, 503 and 504 are the OTLP retryable codes and are re-sent after a short
 * sleep (and counted); anything else is an error and stops the run, unless
 * cfg->keep_going (the soak: an error is counted and sending goes on, since a
 * long run must report how many failed, not stop at the first). cfg->on_send
 * and cfg->on_request, when set, hear of every request as it starts and as it
 * completes. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "bench.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef struct shared {
  const bi_send_cfg *cfg;
  _Atomic uint64_t next_claim;
  _Atomic int stop;
  double t0;
  uint64_t max_claims;
  char first_error[512];
  pthread_mutex_t lock;
} shared;

typedef struct worker {
  shared *sh;
  int index;
  pthread_t thread;
  uint64_t spans_sent, spans_ok, batches_ok, rejected, retries, errors;
  long connects;
  double *lat_ms;
  size_t n_lat, cap_lat;
  char resp[4096];
  size_t resp_len;
} worker;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  worker *w = ud;
  size_t len = size * n, room = sizeof w->resp - w->resp_len;
  memcpy(w->resp + w->resp_len, p, len < room ? len : room);
  w->resp_len += len < room ? len : room;
  return len;
}

static void sleep_until(double mono_s) {
  struct timespec ts;
  ts.tv_sec = (time_t)mono_s;
  ts.tv_nsec = (long)((mono_s - (double)ts.tv_sec) * 1e9);
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) != 0) {
  }
}

static void record_error(shared *sh, const char *what, long code, const char *detail) {
  pthread_mutex_lock(&sh->lock);
  if (!sh->first_error[0]) snprintf(sh->first_error, sizeof sh->first_error, "%s %ld: %s", what, code, detail);
  pthread_mutex_unlock(&sh->lock);
}

static void add_latency(worker *w, double ms) {
  if (w->n_lat == w->cap_lat) {
    size_t cap = w->cap_lat ? 2 * w->cap_lat : 4096;
    double *p = realloc(w->lat_ms, cap * sizeof *p);
    if (!p) return; /* a lost latency sample is not worth failing the run */
    w->lat_ms = p;
    w->cap_lat = cap;
  }
  w->lat_ms[w->n_lat++] = ms;
}

/* rejected_spans of a 200's ExportTraceServiceResponse, 0 when absent. */
static int64_t rejected_in(const worker *w) {
  if (w->resp_len == 0 || w->resp_len >= sizeof w->resp) return 0;
  Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
      opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, w->resp_len,
                                                                                        (const uint8_t *)w->resp);
  if (!r) return 0;
  int64_t n = r->partial_success ? r->partial_success->rejected_spans : 0;
  opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
  return n;
}

static void *worker_main(void *arg) {
  worker *w = arg;
  shared *sh = w->sh;
  const bi_send_cfg *cfg = sh->cfg;
  bi_corpus *c = cfg->corpus;
  size_t owned = (c->n_batches - (size_t)w->index + (size_t)cfg->conns - 1) / (size_t)cfg->conns;
  char url[256];
  snprintf(url, sizeof url, "%s/v1/traces", cfg->url);

  CURL *h = curl_easy_init();
  struct curl_slist *hdr = NULL;
  hdr = curl_slist_append(hdr, "Content-Type: application/x-protobuf");
  /* curl would otherwise send "Expect: 100-continue" for bodies over 1 KiB
   * and wait a round trip (or a second) before the body. */
  hdr = curl_slist_append(hdr, "Expect:");
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 60L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, w);

  for (uint64_t local = 0; !atomic_load(&sh->stop) && !(cfg->cancel && atomic_load(cfg->cancel)); local++) {
    uint64_t k = atomic_fetch_add(&sh->next_claim, 1);
    if (sh->max_claims && k >= sh->max_claims) break;
    double due = 0;
    if (c->as_is && k >= c->n_batches) break; /* a corpus file: each batch once */
    if (cfg->rate > 0) {
      due = sh->t0 + (double)k * (c->as_is ? (double)c->n_spans_total / (double)c->n_batches : c->batches[0].n_spans) /
                         cfg->rate;
      if (cfg->seconds > 0 && due - sh->t0 >= cfg->seconds) break;
      sleep_until(due);
    } else if (cfg->seconds > 0 && bi_mono_s() - sh->t0 >= cfg->seconds) {
      break;
    }
    /* A corpus file's batches go once each, in the file's order, as they
     * are; the synthetic ones are the thread's own, re-stamped. */
    bi_batch *b = c->as_is ? &c->batches[k] : &c->batches[(size_t)w->index + (size_t)cfg->conns * (local % owned)];
    uint64_t trace_k = 0;
    if (!c->as_is) {
      trace_k = atomic_fetch_add(&cfg->ids->next_trace, b->n_traces);
      uint64_t span_k = atomic_fetch_add(&cfg->ids->next_span, b->n_spans);
      bi_batch_stamp(b, b->data, cfg->ids, trace_k, span_k, bi_now_ns() - c->base_ns);
    }
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, b->data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)b->len);
    w->spans_sent += b->n_spans;
    bi_request_info ri = {
        .due_s = due, .start_s = bi_mono_s(), .spans = b->n_spans, .trace_k = trace_k, .n_traces = b->n_traces};
    if (cfg->on_send) cfg->on_send(cfg->user, &ri);
    for (int attempt = 0;; attempt++) {
      w->resp_len = 0;
      double t0 = bi_mono_s();
      if (attempt == 0) ri.start_s = t0;
      CURLcode cc = curl_easy_perform(h);
      double t1 = bi_mono_s();
      ri.end_s = t1;
      long code = 0, conns = 0;
      if (cc != CURLE_OK) {
        w->errors++;
        ri.status = 0;
        record_error(sh, "transport error", (long)cc, curl_easy_strerror(cc));
        if (!cfg->keep_going) atomic_store(&sh->stop, 1);
        break;
      }
      curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      ri.status = code;
      curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &conns);
      w->connects += conns;
      if (code == 200) {
        int64_t rej = rejected_in(w);
        ri.rejected = rej;
        w->rejected += (uint64_t)rej;
        w->spans_ok += b->n_spans - (uint64_t)rej;
        w->batches_ok++;
        add_latency(w, (t1 - t0) * 1e3);
        break;
      }
      if ((code == 429 || code == 502 || code == 503 || code == 504) && attempt < 1000) {
        w->retries++;
        ri.retries++;
        struct timespec ts = {0, 2000000L}; /* 2 ms: long enough for a group commit */
        nanosleep(&ts, NULL);
        continue;
      }
      w->errors++;
      char detail[256];
      size_t n = w->resp_len < sizeof detail - 1 ? w->resp_len : sizeof detail - 1;
      for (size_t i = 0; i < n; i++) detail[i] = (w->resp[i] >= 32 && w->resp[i] < 127) ? w->resp[i] : '.';
      detail[n] = 0;
      record_error(sh, "HTTP", code, detail);
      if (!cfg->keep_going) atomic_store(&sh->stop, 1);
      break;
    }
    if (cfg->on_request) cfg->on_request(cfg->user, &ri);
  }
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  return NULL;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

double bi_percentile(double *v, size_t n, double p) {
  if (n == 0) return 0;
  qsort(v, n, sizeof *v, cmp_double);
  size_t i = (size_t)(p * (double)(n - 1) + 0.5);
  return v[i < n ? i : n - 1];
}

int bi_send_run(const bi_send_cfg *cfg, bi_send_result *r) {
  memset(r, 0, sizeof *r);
  if (cfg->conns < 1 || (size_t)cfg->conns > cfg->corpus->n_batches) {
    fprintf(stderr, "bench-ingest: 1..%zu connections, please\n", cfg->corpus->n_batches);
    return -1;
  }
  shared sh;
  memset(&sh, 0, sizeof sh);
  sh.cfg = cfg;
  pthread_mutex_init(&sh.lock, NULL);
  uint32_t per = cfg->corpus->batches[0].n_spans;
  sh.max_claims = cfg->max_spans ? (cfg->max_spans + per - 1) / per : 0;
  if (cfg->corpus->as_is) sh.max_claims = cfg->corpus->n_batches; /* its spans were cut at load */
  worker *w = calloc((size_t)cfg->conns, sizeof *w);
  if (!w) return -1;
  double cpu0 = bi_self_cpu_s();
  sh.t0 = bi_mono_s();
  int started = 0;
  for (int i = 0; i < cfg->conns; i++) {
    w[i].sh = &sh;
    w[i].index = i;
    if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0) break;
    started++;
  }
  size_t n_lat = 0;
  for (int i = 0; i < started; i++) {
    pthread_join(w[i].thread, NULL);
    n_lat += w[i].n_lat;
  }
  r->wall_s = bi_mono_s() - sh.t0;
  r->cpu_s = bi_self_cpu_s() - cpu0;
  double *lat = malloc((n_lat ? n_lat : 1) * sizeof *lat);
  size_t j = 0;
  for (int i = 0; i < started; i++) {
    r->spans_sent += w[i].spans_sent;
    r->spans_ok += w[i].spans_ok;
    r->batches_ok += w[i].batches_ok;
    r->rejected += w[i].rejected;
    r->retries += w[i].retries;
    r->errors += w[i].errors;
    r->connects += w[i].connects;
    if (lat) memcpy(lat + j, w[i].lat_ms, w[i].n_lat * sizeof *lat);
    j += w[i].n_lat;
    free(w[i].lat_ms);
  }
  if (lat) {
    r->lat_p50_ms = bi_percentile(lat, n_lat, 0.50);
    r->lat_p99_ms = bi_percentile(lat, n_lat, 0.99);
    r->lat_max_ms = n_lat ? lat[n_lat - 1] : 0;
  }
  free(lat);
  free(w);
  pthread_mutex_destroy(&sh.lock);
  if (sh.first_error[0]) fprintf(stderr, "bench-ingest: first error: %s\n", sh.first_error);
  return started == cfg->conns ? 0 : -1;
}
