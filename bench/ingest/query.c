/* Trace-by-id latency: GET /api/traces/{id} for known trace ids, one after the
 * other over a single keep-alive connection, each timed from request to the
 * last byte of the answer (what a viewer waits for). A few warm-up requests
 * before the timed ones take the server's lazy set-up (read connection,
 * statement preparation) out of the figures; the page cache is whatever the
 * database build left, which for a database smaller than RAM means warm. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "bench.h"

typedef struct sink {
  size_t bytes;
} sink;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  (void)p;
  ((sink *)ud)->bytes += size * n;
  return size * n;
}

int bi_query_run(const char *url, const uint8_t *ids, size_t n, size_t warmup, bi_query_result *r) {
  memset(r, 0, sizeof *r);
  CURL *h = curl_easy_init();
  double *lat = malloc((n ? n : 1) * sizeof *lat);
  if (!h || !lat) {
    curl_easy_cleanup(h);
    free(lat);
    return -1;
  }
  sink s;
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 30L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &s);
  size_t total_bytes = 0, n_lat = 0;
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    char hex[33], full[300];
    bi_hex(ids + 16 * i, 16, hex);
    snprintf(full, sizeof full, "%s/api/traces/%s", url, hex);
    curl_easy_setopt(h, CURLOPT_URL, full);
    s.bytes = 0;
    double t0 = bi_mono_s();
    CURLcode cc = curl_easy_perform(h);
    double ms = (bi_mono_s() - t0) * 1e3;
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    if (cc != CURLE_OK || code != 200 || s.bytes == 0) {
      if (r->errors++ < 3)
        fprintf(stderr, "bench-ingest: GET %s: %s, HTTP %ld, %zu bytes\n", full, curl_easy_strerror(cc), code, s.bytes);
      if (cc != CURLE_OK) break; /* the server is gone; no point in 999 more */
      continue;
    }
    if (i < warmup) continue;
    r->ok++;
    lat[n_lat++] = ms;
    sum += ms;
    total_bytes += s.bytes;
  }
  if (n_lat) {
    r->mean_ms = sum / (double)n_lat;
    r->bytes_mean = total_bytes / n_lat;
    r->p50_ms = bi_percentile(lat, n_lat, 0.50);
    r->p99_ms = bi_percentile(lat, n_lat, 0.99);
    r->max_ms = lat[n_lat - 1];
  }
  free(lat);
  curl_easy_cleanup(h);
  return 0;
}
