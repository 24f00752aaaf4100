/* meanwhiled's configuration: command-line flags, MEANWHILE_* environment
 * variables and defaults, in that order of precedence. One table describes
 * each option once (flag, variable, default, help). */
#ifndef MW_CORE_CONFIG_H
#define MW_CORE_CONFIG_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/limits.h"
#include "core/log.h"

typedef struct mw_config {
  const char *listen;
  const char *data_dir;
  enum mw__log_level log_level;
  unsigned threads;
  unsigned query_threads;
  unsigned max_query_queue;
  int64_t query_timeout_ns; /* 0 = no limit */
  int sync_full;
  int span_blocks; /* --span-blocks: mw_store_opts.blocks */
  mw_limits limits;
  size_t max_queue_spans;
  size_t max_queue_bytes;
  size_t max_request_memory;
  int64_t max_query_range;
  unsigned max_connections;
  unsigned max_connections_per_ip;
  unsigned conn_timeout_s;
  unsigned request_timeout_s;
  unsigned header_timeout_s;
  unsigned shutdown_grace_s;
  int fault_commit_delay_ms; /* MEANWHILE_FAULT_COMMIT_DELAY_MS only: a test hook */
  int fault_query_delay_ms;  /* MEANWHILE_FAULT_QUERY_DELAY_MS only: each query sleeps first (a test hook) */
  int fault_read_slow_us; /* MEANWHILE_FAULT_READ_SLOW_US only: reads sleep this long every 1,000 steps (a test hook) */
  const char *ingest_token_file, *query_token_file;
  const char *ingest_tokens, *query_tokens; /* MEANWHILE_*_TOKENS only: never flags */
  const char *tls_cert, *tls_key;
  const char *cors_origin;
  const char *grafana_url, *grafana_datasource_uid; /* both or neither: the viewer's link to Grafana */
  int64_t retention_ns;                             /* 0 = keep everything */
  unsigned retention_every_s;
  uint64_t max_db_bytes;        /* 0 = no limit */
  const char *exectrace_reader; /* NULL: next to meanwhiled, then PATH */
  unsigned exectrace_workers;
  int64_t exectrace_timeout_ns;
  uint64_t exectrace_memory;     /* 0 = no limit */
  uint64_t exectrace_max_output; /* 0 = 8 x max_body_bytes */
  /* query federation (docs/FEDERATION.md) */
  const char *peers;        /* --peers: the shards, comma-separated; NULL: none */
  int64_t peers_refresh_ns; /* how old a DNS resolution of a dns+ peer may get */
  int64_t peer_timeout_ns;  /* one shard's answer */
  unsigned federation_threads;
  int query_only; /* --role query: no store, no ingest; needs peers */
  struct {        /* the early-warning rules (model/rules.h's mw_rules_opts) */
    double heap_factor, goroutine_factor, gc_cpu_percent, goroutine_min_f;
    int64_t heap_window_ns, goroutine_window_ns, gc_window_ns, pause_p99_ns, warmup_ns, cooldown_ns;
    uint64_t heap_min_bytes;
    unsigned max_sources_u;
    int on;
  } rules;
} mw_config;

enum { MW_CONFIG_RUN = 0, MW_CONFIG_EXIT_OK = 1 };

/* Fills cfg. Returns MW_CONFIG_RUN, MW_CONFIG_EXIT_OK after --help/--version
 * (printed to out), or MW_EINVAL with a message naming the bad option. */
int mw__config_parse(int argc, char **argv, mw_config *cfg, FILE *out, char *err, size_t errsz);

#endif
