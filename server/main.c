/* meanwhiled: wiring and lifecycle. libuv owns the process: it waits for
 * SIGINT/SIGTERM and drives the graceful stop (stop accepting, let requests in
 * flight finish and commit, close the database, exit 0). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "core/config.h"
#include "core/error.h"
#include "core/log.h"
#include "core/timefmt.h"
#include "http/auth.h"
#include "http/http.h"
#include "model/rules.h"
#include "query/fed.h"
#include "store/store.h"

typedef struct app {
  mw_config cfg;
  mw_store *store;
  mw_http *http;
  uv_loop_t *loop;
  uv_signal_t sigint, sigterm;
  uv_timer_t drain;
  int64_t drain_deadline_ns;
  int stopping;
} app;

static void close_all(app *a) {
  /* Commit what is queued first: that resumes every connection waiting for a
   * commit, so none is still suspended when the daemon stops (libmicrohttpd
   * refuses to stop with suspended connections). New requests were already
   * refused by the quiesce, and late commits get MW_ESHUTDOWN. */
  if (a->store) mw__store_drain(a->store);
  mw__http_stop(a->http);
  a->http = NULL;
  if (a->store) mw__store_close(a->store);
  a->store = NULL;
  uv_close((uv_handle_t *)&a->sigint, NULL);
  uv_close((uv_handle_t *)&a->sigterm, NULL);
  uv_close((uv_handle_t *)&a->drain, NULL);
}

/* Polls until every request in flight has been answered, or the grace ends. */
static void on_drain_tick(uv_timer_t *t) {
  app *a = t->data;
  size_t n = mw__http_in_flight(a->http);
  if (n && mw__mono_ns() < a->drain_deadline_ns) return;
  if (n) mw__warn("shutdown grace over; closing requests still in flight", "requests=%zu", n);
  uv_timer_stop(t);
  close_all(a);
}

static void on_signal(uv_signal_t *h, int signum) {
  app *a = h->data;
  if (a->stopping) {
    mw__warn("second signal: stopping now", "signal=%d", signum);
    uv_timer_stop(&a->drain);
    close_all(a);
    return;
  }
  a->stopping = 1;
  mw__info("stopping", "signal=%s in_flight=%zu", signum == SIGINT ? "SIGINT" : "SIGTERM", mw__http_in_flight(a->http));
  mw__http_quiesce(a->http);
  a->drain_deadline_ns = mw__mono_ns() + (int64_t)a->cfg.shutdown_grace_s * 1000000000;
  uv_timer_start(&a->drain, on_drain_tick, 0, 10);
}

/* A whole (small) file as a NUL-terminated string; NULL with a message. */
static char *read_file(const char *path, char *err, size_t errsz) {
  FILE *f = fopen(path, "rb");
  char *buf = NULL;
  long n = -1;
  if (f && fseek(f, 0, SEEK_END) == 0 && (n = ftell(f)) >= 0 && n < (1 << 20) && fseek(f, 0, SEEK_SET) == 0 &&
      (buf = malloc((size_t)n + 1)) && fread(buf, 1, (size_t)n, f) == (size_t)n) {
    buf[n] = '\0';
    fclose(f);
    return buf;
  }
  snprintf(err, errsz, "cannot read %s: %s", path, f ? "unreadable or over 1 MiB" : strerror(errno));
  free(buf);
  if (f) fclose(f);
  return NULL;
}

int main(int argc, char **argv) {
  app a = {0};
  char err[1024];
  int rc = mw__config_parse(argc, argv, &a.cfg, stdout, err, sizeof err);
  if (rc == MW_CONFIG_EXIT_OK) return 0;
  if (rc) {
    fprintf(stderr, "meanwhiled: %s\n", err);
    return 2;
  }
  mw__log_set_level(a.cfg.log_level);
  signal(SIGPIPE, SIG_IGN);
  /* Block SIGINT/SIGTERM before any thread exists, so every thread inherits
   * the mask; the main thread unblocks them once libuv watches for them. A
   * signal that arrives while starting up is thus handled, not fatal. */
  sigset_t stop_signals, old_mask;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, &old_mask);

  mw_rules_opts ro = {.heap_factor = a.cfg.rules.heap_factor,
                      .heap_window_ns = a.cfg.rules.heap_window_ns,
                      .heap_min_bytes = a.cfg.rules.heap_min_bytes,
                      .goroutine_factor = a.cfg.rules.goroutine_factor,
                      .goroutine_window_ns = a.cfg.rules.goroutine_window_ns,
                      .goroutine_min = (uint64_t)a.cfg.rules.goroutine_min_f,
                      .gc_cpu_percent = a.cfg.rules.gc_cpu_percent,
                      .pause_p99_ns = a.cfg.rules.pause_p99_ns,
                      .gc_window_ns = a.cfg.rules.gc_window_ns,
                      .warmup_ns = a.cfg.rules.warmup_ns,
                      .cooldown_ns = a.cfg.rules.cooldown_ns,
                      .max_sources = a.cfg.rules.max_sources_u};
  int rules_on = a.cfg.rules.on && !a.cfg.query_only; /* the query role stores nothing */
  mw_rules *rules = rules_on ? mw__rules_new(&ro) : NULL;
  if (rules_on && !rules) {
    mw__error("cannot start", "err=\"out of memory for the rules' sources (--rules-max-sources)\"");
    return 1;
  }
  mw_store_opts so = {.rules = rules,
                      .data_dir = a.cfg.data_dir,
                      .sync_full = a.cfg.sync_full,
                      .queue_max_spans = a.cfg.max_queue_spans,
                      .queue_max_bytes = a.cfg.max_queue_bytes,
                      .read_connections = a.cfg.query_threads,
                      .fault_commit_delay_ms = a.cfg.fault_commit_delay_ms,
                      .fault_read_slow_us = a.cfg.fault_read_slow_us,
                      .retention_ns = a.cfg.retention_ns,
                      .retention_every_ns = (int64_t)a.cfg.retention_every_s * 1000000000,
                      .max_db_bytes = a.cfg.max_db_bytes,
                      .blocks = a.cfg.span_blocks ? MW_STORE_BLOCKS_ON : MW_STORE_BLOCKS_OFF};
  mw_fed *fed = NULL;
  if (a.cfg.peers &&
      (rc = mw__fed_new(a.cfg.peers, a.cfg.peers_refresh_ns, a.cfg.peer_timeout_ns, &fed, err, sizeof err))) {
    mw__error("cannot start", "err=\"%s\"", err);
    mw__rules_free(rules);
    return rc == MW_EINVAL ? 2 : 1;
  }
  if (!a.cfg.query_only && (rc = mw__store_open(&so, &a.store, err, sizeof err))) {
    mw__error("cannot open the database", "err=\"%s\"", err);
    mw__rules_free(rules);
    mw__fed_free(fed);
    return 1;
  }
  mw_auth auth = {0};
  char *cert = NULL, *key = NULL;
  if (mw__tokens_load(&auth.ingest, a.cfg.ingest_token_file, a.cfg.ingest_tokens, err, sizeof err) ||
      mw__tokens_load(&auth.query, a.cfg.query_token_file, a.cfg.query_tokens, err, sizeof err) ||
      (a.cfg.tls_cert &&
       (!(cert = read_file(a.cfg.tls_cert, err, sizeof err)) || !(key = read_file(a.cfg.tls_key, err, sizeof err))))) {
    mw__error("cannot start", "err=\"%s\"", err);
    if (a.store) mw__store_close(a.store);
    mw__rules_free(rules);
    mw__fed_free(fed);
    return 1;
  }
  mw_http_opts ho = {.listen = a.cfg.listen,
                     .auth = auth,
                     .tls_cert_pem = cert,
                     .tls_key_pem = key,
                     .cors_origin = a.cfg.cors_origin,
                     .grafana_url = a.cfg.grafana_url,
                     .grafana_datasource_uid = a.cfg.grafana_datasource_uid,
                     .threads = a.cfg.threads,
                     .query_threads = a.cfg.query_threads,
                     .max_query_queue = a.cfg.max_query_queue,
                     .query_timeout_ns = a.cfg.query_timeout_ns,
                     .fault_query_delay_ms = a.cfg.fault_query_delay_ms,
                     .max_connections = a.cfg.max_connections,
                     .max_connections_per_ip = a.cfg.max_connections_per_ip,
                     .conn_timeout_s = a.cfg.conn_timeout_s,
                     .request_timeout_s = a.cfg.request_timeout_s,
                     .header_timeout_s = a.cfg.header_timeout_s,
                     .limits = a.cfg.limits,
                     .max_request_memory = a.cfg.max_request_memory,
                     .max_query_range = a.cfg.max_query_range,
                     .retention_ns = a.cfg.retention_ns,
                     .exectrace_reader = a.cfg.exectrace_reader,
                     .exectrace_workers = a.cfg.exectrace_workers,
                     .exectrace_timeout_ns = a.cfg.exectrace_timeout_ns,
                     .exectrace_memory = a.cfg.exectrace_memory,
                     .exectrace_max_output = a.cfg.exectrace_max_output,
                     .fed = fed,
                     .federation_threads = a.cfg.federation_threads,
                     .store = a.store};
  if ((rc = mw__http_start(&ho, &a.http, err, sizeof err))) {
    mw__error("cannot start the HTTP server", "err=\"%s\"", err);
    if (a.store) mw__store_close(a.store);
    mw__rules_free(rules);
    mw__fed_free(fed);
    return 1;
  }
  if (a.cfg.query_only) mw__info("started", "version=%s role=query peers=\"%s\"", MW_VERSION, a.cfg.peers);
  else
    mw__info("started", "version=%s data=%s sync=%s span_blocks=%s peers=\"%s\"", MW_VERSION, a.cfg.data_dir,
             a.cfg.sync_full ? "full" : "normal", a.cfg.span_blocks ? "on" : "off", a.cfg.peers ? a.cfg.peers : "");

  a.loop = uv_default_loop();
  uv_signal_init(a.loop, &a.sigint);
  uv_signal_init(a.loop, &a.sigterm);
  uv_timer_init(a.loop, &a.drain);
  a.sigint.data = a.sigterm.data = a.drain.data = &a;
  uv_signal_start(&a.sigint, on_signal, SIGINT);
  uv_signal_start(&a.sigterm, on_signal, SIGTERM);
  pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
  uv_run(a.loop, UV_RUN_DEFAULT);
  uv_loop_close(a.loop);
  mw__rules_free(rules); /* the store that fed them is closed */
  mw__fed_free(fed);     /* the federation threads are joined */
  mw__tokens_free(&auth.ingest);
  mw__tokens_free(&auth.query);
  free(cert);
  free(key);
  mw__info("stopped", NULL);
  return 0;
}
