/* bench-corpus-send: posts a bench-corpus-gen file to meanwhiled, each batch
 * once and as it is (the ids in it are already unique), and reports spans/s,
 * the server's CPU per span and the database's bytes per span.
 *
 * N threads (--conns) each hold one keep-alive libcurl handle and take the
 * next batch of the file in order, so the server sees the batches in about
 * the order the processes would have sent them. A batch is acknowledged by a
 * 200 whose partial_success rejects none; 429/502/503/504 are retried after
 * 2 ms. With --server it starts meanwhiled itself (a fresh data dir, retention
 * off: the corpus' times are fixed) and stops it at the end, so that the
 * database file is complete (WAL checkpointed) when its size is taken. */
#include <curl/curl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"
#include "mwb_server.h"
#include "opentelemetry/proto/collector/trace/v1/trace_service.pb-c.h"

typedef struct rec {
  const uint8_t *data;
  uint32_t len, spans;
} rec;

static rec *recs;
static size_t n_recs;
static _Atomic size_t next_rec;
static _Atomic uint64_t spans_ok, rejected, retries, errors;
static char url[256];

typedef struct body {
  char buf[4096];
  size_t n;
} body;

static size_t on_body(char *p, size_t size, size_t n, void *ud) {
  body *b = ud;
  size_t k = size * n;
  size_t room = sizeof b->buf - b->n;
  memcpy(b->buf + b->n, p, k < room ? k : room);
  b->n += k < room ? k : room;
  return k;
}

static void *worker(void *arg) {
  (void)arg;
  CURL *h = curl_easy_init();
  struct curl_slist *hdr = curl_slist_append(NULL, "Content-Type: application/x-protobuf");
  hdr = curl_slist_append(hdr, "Expect:");
  body b;
  curl_easy_setopt(h, CURLOPT_URL, url);
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_TCP_NODELAY, 1L);
  curl_easy_setopt(h, CURLOPT_TIMEOUT, 120L);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
  for (;;) {
    size_t i = atomic_fetch_add(&next_rec, 1);
    if (i >= n_recs) break;
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, recs[i].data);
    curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, (long)recs[i].len);
    for (int attempt = 0;; attempt++) {
      b.n = 0;
      CURLcode cc = curl_easy_perform(h);
      long code = 0;
      if (cc == CURLE_OK) curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
      if ((code == 429 || code == 502 || code == 503 || code == 504) && attempt < 10000) {
        atomic_fetch_add(&retries, 1);
        usleep(2000);
        continue;
      }
      if (code != 200) {
        fprintf(stderr, "bench-corpus-send: batch %zu: %s %ld %.*s\n", i, cc ? curl_easy_strerror(cc) : "HTTP", code,
                (int)b.n, b.buf);
        atomic_fetch_add(&errors, 1);
        break;
      }
      Opentelemetry__Proto__Collector__Trace__V1__ExportTraceServiceResponse *r =
          opentelemetry__proto__collector__trace__v1__export_trace_service_response__unpack(NULL, b.n,
                                                                                            (uint8_t *)b.buf);
      int64_t rej = r && r->partial_success ? r->partial_success->rejected_spans : 0;
      if (r) opentelemetry__proto__collector__trace__v1__export_trace_service_response__free_unpacked(r, NULL);
      atomic_fetch_add(&rejected, (uint64_t)rej);
      atomic_fetch_add(&spans_ok, recs[i].spans - (uint64_t)rej);
      break;
    }
  }
  curl_slist_free_all(hdr);
  curl_easy_cleanup(h);
  return NULL;
}

static off_t file_size(const char *p) {
  struct stat st;
  return stat(p, &st) == 0 ? st.st_size : 0;
}

int main(int argc, char **argv) {
  const char *corpus = NULL, *server = NULL, *base_url = NULL, *data = NULL, *sync = "normal";
  int conns = 8, keep = 0;
  pid_t pid = 0;
  uint64_t limit = 0;
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!strcmp(a, "--corpus") && v) corpus = v, i++;
    else if (!strcmp(a, "--server") && v) server = v, i++;
    else if (!strcmp(a, "--url") && v) base_url = v, i++;
    else if (!strcmp(a, "--pid") && v) pid = (pid_t)atoi(v), i++;
    else if (!strcmp(a, "--data") && v) data = v, i++;
    else if (!strcmp(a, "--sync") && v) sync = v, i++;
    else if (!strcmp(a, "--conns") && v) conns = atoi(v), i++;
    else if (!strcmp(a, "--spans") && v) limit = strtoull(v, NULL, 10), i++;
    else if (!strcmp(a, "--keep")) keep = 1;
    else {
      fprintf(stderr, "usage: bench-corpus-send --corpus FILE (--server MEANWHILED [--data DIR] [--keep] | --url URL "
                      "[--pid PID])\n"
                      "                         [--conns N (8)] [--sync normal|full (normal)] [--spans N (all)]\n");
      return 2;
    }
  }
  if (!corpus || !!server == !!base_url || conns < 1 || conns > 256) {
    fprintf(stderr, "bench-corpus-send: --corpus, and one of --server and --url, please\n");
    return 2;
  }
  size_t fsz;
  uint8_t *all = mwb_read_file(corpus, &fsz);
  if (!all) return perror(corpus), 1;
  uint64_t total_spans = 0;
  for (size_t off = 0; off + 8 <= (size_t)fsz;) {
    uint32_t len = all[off] | all[off + 1] << 8 | all[off + 2] << 16 | (uint32_t)all[off + 3] << 24;
    uint32_t ns = all[off + 4] | all[off + 5] << 8 | all[off + 6] << 16 | (uint32_t)all[off + 7] << 24;
    if (off + 8 + len > (size_t)fsz) return fprintf(stderr, "bench-corpus-send: truncated corpus\n"), 1;
    if (limit && total_spans >= limit) break;
    recs = realloc(recs, (n_recs + 1) * sizeof *recs);
    recs[n_recs++] = (rec){all + off + 8, len, ns};
    total_spans += ns;
    off += 8 + len;
  }
  fprintf(stderr, "bench-corpus-send: %zu batches, %" PRIu64 " spans, %zu bytes\n", n_recs, total_spans, fsz);

  char dir[4096] = "", dbpath[4200] = "", logpath[4200] = "";
  bi_server srv = {0};
  if (server) {
    if (data) snprintf(dir, sizeof dir, "%s", data);
    else {
      snprintf(dir, sizeof dir, "/tmp/mw-corpus-XXXXXX");
      if (!mkdtemp(dir)) return perror("mkdtemp"), 1;
    }
    mkdir(dir, 0755);
    snprintf(dbpath, sizeof dbpath, "%s/meanwhile.db", dir);
    snprintf(logpath, sizeof logpath, "%s/server.log", dir);
    char *args[] = {"--listen", "127.0.0.1:0", "--data", "{data}", "--sync", "{sync}", "--retention", "0", NULL};
    if (bi_server_start(&srv, server, args, dir, sync, logpath, 30) != 0) return 1;
    pid = srv.pid;
    snprintf(url, sizeof url, "%s/v1/traces", srv.url);
  } else {
    snprintf(url, sizeof url, "%s/v1/traces", base_url);
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  double cpu0 = pid ? bi_proc_cpu_s(pid) : -1, t0 = bi_mono_s();
  pthread_t th[256];
  for (int i = 0; i < conns; i++) pthread_create(&th[i], NULL, worker, NULL);
  for (int i = 0; i < conns; i++) pthread_join(th[i], NULL);
  double wall = bi_mono_s() - t0, cpu1 = pid ? bi_proc_cpu_s(pid) : -1;
  uint64_t ok = atomic_load(&spans_ok);
  printf("spans_ok %" PRIu64 "\n", ok);
  printf("rejected %" PRIu64 "\nerrors %" PRIu64 "\nretries %" PRIu64 "\n", atomic_load(&rejected),
         atomic_load(&errors), atomic_load(&retries));
  printf("wall_s %.2f\nspans_per_s %.0f\n", wall, (double)ok / wall);
  printf("wire_bytes_per_span %.1f\n", (double)(fsz - 8 * n_recs) / (double)total_spans);
  if (pid && cpu0 >= 0) printf("server_cpu_us_per_span %.2f\n", (cpu1 - cpu0) * 1e6 / (double)ok);
  int rc = atomic_load(&errors) || atomic_load(&rejected) ? 1 : 0;
  if (server) {
    double took;
    if (bi_server_stop(&srv, &took) != 0) rc = 1;
    off_t db = file_size(dbpath);
    char wal[4300];
    snprintf(wal, sizeof wal, "%s-wal", dbpath);
    printf("db_bytes %lld\nwal_bytes %lld\ndb_bytes_per_span %.1f\n", (long long)db, (long long)file_size(wal),
           (double)db / (double)ok);
    printf("db %s\n", dbpath);
    if (!keep && !data) {
      char cmd[4400];
      snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
      if (system(cmd) != 0) rc = 1;
    }
  }
  return rc;
}
