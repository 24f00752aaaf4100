/* Configuration (see config.h). */
#include "core/config.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <getopt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

enum opt_type {
  T_STR,
  T_SIZE,
  T_UINT,
  T_LEVEL,
  T_SYNC,
  T_SECONDS,
  T_OPTSTR,
  T_DURATION0,
  T_BYTES0,
  T_FLOAT0,
  T_ONOFF,
  T_HTTPURL,    /* optional: an http(s) URL without query or fragment */
  T_GRAFANAUID, /* optional: a Grafana uid (letters, digits, - and _, at most 40) */
  T_ROLE        /* shard or query */
};

typedef struct opt {
  const char *flag; /* without "--" */
  const char *env;
  enum opt_type type;
  size_t offset; /* into mw_config */
  const char *dflt;
  const char *help;
} opt;

#define OFF(f) offsetof(mw_config, f)
static const opt options[] = {
    {"listen", "MEANWHILE_LISTEN", T_STR, OFF(listen), "127.0.0.1:4318",
     "address to serve OTLP ingest, the API and the viewer on (host:port; port 0 picks one)"},
    {"data", "MEANWHILE_DATA", T_STR, OFF(data_dir), "./meanwhile-data", "directory for the SQLite database"},
    {"log-level", "MEANWHILE_LOG_LEVEL", T_LEVEL, OFF(log_level), "info", "debug, info, warn or error"},
    {"threads", "MEANWHILE_THREADS", T_UINT, OFF(threads), "4",
     "HTTP worker threads: they read and decode request bodies (queries run on --query-threads)"},
    {"query-threads", "MEANWHILE_QUERY_THREADS", T_UINT, OFF(query_threads), "2",
     "threads that run queries (the /api/ reads), apart from the HTTP threads so that ingest never waits for them"},
    {"max-query-queue", "MEANWHILE_MAX_QUERY_QUEUE", T_UINT, OFF(max_query_queue), "64",
     "queries waiting for a query thread before more are answered 503"},
    {"query-timeout", "MEANWHILE_QUERY_TIMEOUT", T_DURATION0, OFF(query_timeout_ns), "10s",
     "a query still running this long after it arrived is stopped and answered 503 (0: no limit)"},
    {"sync", "MEANWHILE_SYNC", T_SYNC, OFF(sync_full), "full",
     "full: every commit survives power loss; normal: survives a process crash only"},
    {"span-blocks", "MEANWHILE_SPAN_BLOCKS", T_ONOFF, OFF(span_blocks), "on",
     "on: store spans in compressed blocks (a body re-sent within 10 minutes is stored once); "
     "off: one row per span, as releases before blocks"},
    {"max-body-bytes", "MEANWHILE_MAX_BODY_BYTES", T_SIZE, OFF(limits.max_body_bytes), "67108864",
     "largest request body, counted after decompression"},
    {"max-spans-per-request", "MEANWHILE_MAX_SPANS_PER_REQUEST", T_SIZE, OFF(limits.max_spans_per_request), "100000",
     "most spans in one export request"},
    {"max-attrs-per-span", "MEANWHILE_MAX_ATTRS_PER_SPAN", T_SIZE, OFF(limits.max_attrs_per_span), "1024",
     "most attributes (also events, links, array values) per span"},
    {"max-value-bytes", "MEANWHILE_MAX_VALUE_BYTES", T_SIZE, OFF(limits.max_value_bytes), "65536",
     "longest attribute value, key or span name"},
    {"max-attr-depth", "MEANWHILE_MAX_ATTR_DEPTH", T_SIZE, OFF(limits.max_attr_depth), "16",
     "deepest nesting of array and kvlist attribute values (at most 64)"},
    {"max-goroutines", "MEANWHILE_MAX_GOROUTINES", T_SIZE, OFF(limits.max_goroutines), "1000000",
     "goroutine records in one dump (more: 413)"},
    {"max-frames", "MEANWHILE_MAX_FRAMES", T_SIZE, OFF(limits.max_frames), "256",
     "frames kept per stack (deeper stacks are cut and marked so)"},
    {"max-labels", "MEANWHILE_MAX_LABELS", T_SIZE, OFF(limits.max_labels), "64", "labels kept per sample"},
    {"max-line-bytes", "MEANWHILE_MAX_LINE_BYTES", T_SIZE, OFF(limits.max_line_bytes), "65536",
     "a longer line of runtime text is skipped (and counted)"},
    {"max-samples", "MEANWHILE_MAX_SAMPLES", T_SIZE, OFF(limits.max_samples), "1000000",
     "samples in one profile (more: 413)"},
    {"max-queue-spans", "MEANWHILE_MAX_QUEUE_SPANS", T_SIZE, OFF(max_queue_spans), "200000",
     "spans waiting to be committed before ingest answers 503"},
    {"max-queue-bytes", "MEANWHILE_MAX_QUEUE_BYTES", T_SIZE, OFF(max_queue_bytes), "134217728",
     "memory held by requests waiting to be committed before ingest answers 503"},
    {"max-request-memory", "MEANWHILE_MAX_REQUEST_MEMORY", T_SIZE, OFF(max_request_memory), "268435456",
     "request bodies being received and decoded, all together, before ingest answers 503"},
    {"max-query-range", "MEANWHILE_MAX_QUERY_RANGE", T_DURATION0, OFF(max_query_range), "31d",
     "widest time window a query may ask for; without start, the window it gets (0: no cap)"},
    {"max-connections", "MEANWHILE_MAX_CONNECTIONS", T_UINT, OFF(max_connections), "1024", "concurrent connections"},
    {"max-connections-per-ip", "MEANWHILE_MAX_CONNECTIONS_PER_IP", T_UINT, OFF(max_connections_per_ip), "128",
     "concurrent connections from one address, so that slow clients at one address cannot take them all"},
    {"conn-timeout", "MEANWHILE_CONN_TIMEOUT", T_SECONDS, OFF(conn_timeout_s), "30s",
     "a connection idle (or sending nothing) this long is closed"},
    {"request-timeout", "MEANWHILE_REQUEST_TIMEOUT", T_SECONDS, OFF(request_timeout_s), "60s",
     "a request whose body is still arriving after this long is cut off (slow senders)"},
    {"header-timeout", "MEANWHILE_HEADER_TIMEOUT", T_SECONDS, OFF(header_timeout_s), "10s",
     "a request whose headers are not all in after this long is closed (slow or trickling senders)"},
    {"shutdown-grace", "MEANWHILE_SHUTDOWN_GRACE", T_SECONDS, OFF(shutdown_grace_s), "10s",
     "on SIGTERM, how long requests in flight may take to finish"},
    {"retention", "MEANWHILE_RETENTION", T_DURATION0, OFF(retention_ns), "7d",
     "delete data older than this (like 7d, 48h); 0 keeps everything"},
    {"retention-interval", "MEANWHILE_RETENTION_INTERVAL", T_SECONDS, OFF(retention_every_s), "60s",
     "how often retention looks for old data (it works in small batches between commits)"},
    {"max-db-size", "MEANWHILE_MAX_DB_SIZE", T_BYTES0, OFF(max_db_bytes), "0",
     "delete the oldest data while the database is larger (like 20GiB); 0 for no limit"},
    {"ingest-token-file", "MEANWHILE_INGEST_TOKEN_FILE", T_OPTSTR, OFF(ingest_token_file), "",
     "file of bearer tokens (one a line) that ingest requires; also MEANWHILE_INGEST_TOKENS=a,b"},
    {"query-token-file", "MEANWHILE_QUERY_TOKEN_FILE", T_OPTSTR, OFF(query_token_file), "",
     "file of bearer tokens that queries and the viewer's data require; also MEANWHILE_QUERY_TOKENS"},
    {"tls-cert", "MEANWHILE_TLS_CERT", T_OPTSTR, OFF(tls_cert), "", "PEM certificate: serve HTTPS (with --tls-key)"},
    {"tls-key", "MEANWHILE_TLS_KEY", T_OPTSTR, OFF(tls_key), "", "PEM private key of --tls-cert"},
    {"cors-origin", "MEANWHILE_CORS_ORIGIN", T_OPTSTR, OFF(cors_origin), "",
     "an origin allowed to call the API from a browser (no CORS headers when unset)"},
    {"grafana-url", "MEANWHILE_GRAFANA_URL", T_HTTPURL, OFF(grafana_url), "",
     "Grafana's root URL (http:// or https://, no query, no user:password@): the viewer links each trace to Grafana "
     "Explore there "
     "(with --grafana-datasource-uid)"},
    {"grafana-datasource-uid", "MEANWHILE_GRAFANA_DATASOURCE_UID", T_GRAFANAUID, OFF(grafana_datasource_uid), "",
     "uid of the Tempo data source that reads this meanwhiled in that Grafana (letters, digits, - and _)"},
    {"exectrace-reader", "MEANWHILE_EXECTRACE_READER", T_OPTSTR, OFF(exectrace_reader), "",
     "the meanwhile-exectrace program that reads Go execution traces (default: next to meanwhiled, then on PATH)"},
    {"exectrace-workers", "MEANWHILE_EXECTRACE_WORKERS", T_UINT, OFF(exectrace_workers), "1",
     "execution traces read at once (each by a meanwhile-exectrace process); more wait up to 1 s, then 503"},
    {"exectrace-timeout", "MEANWHILE_EXECTRACE_TIMEOUT", T_DURATION0, OFF(exectrace_timeout_ns), "30s",
     "a meanwhile-exectrace still reading after this long is killed and its ingest answered 503"},
    {"exectrace-memory", "MEANWHILE_EXECTRACE_MEMORY", T_BYTES0, OFF(exectrace_memory), "2GiB",
     "address space one meanwhile-exectrace may use (RLIMIT_AS; GOMEMLIMIT at 3/4 of it); 0 for no limit"},
    {"exectrace-max-output", "MEANWHILE_EXECTRACE_MAX_OUTPUT", T_BYTES0, OFF(exectrace_max_output), "0",
     "the most meanwhile-exectrace may write for one trace (like 512MiB); 0: 8 times --max-body-bytes"},
    {"peers", "MEANWHILE_PEERS", T_OPTSTR, OFF(peers), "",
     "the shards this meanwhiled asks for federated queries, itself included: http://a:4318,http://b:4318, or "
     "dns+http://name:4318 for every address of a name (docs/FEDERATION.md)"},
    {"peers-refresh", "MEANWHILE_PEERS_REFRESH", T_DURATION0, OFF(peers_refresh_ns), "30s",
     "how old the addresses of a dns+ peer may get before a query resolves the name again"},
    {"peer-timeout", "MEANWHILE_PEER_TIMEOUT", T_DURATION0, OFF(peer_timeout_ns), "5s",
     "how long a federated query waits for one shard (connecting included) before it answers without it"},
    {"federation-threads", "MEANWHILE_FEDERATION_THREADS", T_UINT, OFF(federation_threads), "4",
     "threads that run federated queries (they wait on the shards, so they are not --query-threads)"},
    {"role", "MEANWHILE_ROLE", T_ROLE, OFF(query_only), "shard",
     "shard: store what is sent and answer queries; query: query-only, no database and no ingest, every query "
     "federated over --peers"},
    {"rules", "MEANWHILE_RULES", T_ONOFF, OFF(rules.on), "on",
     "off: no early-warning rules and no per-source runtime gauges in /metrics (the writer feeds them nothing)"},
    {"rule-heap-growth", "MEANWHILE_RULE_HEAP_GROWTH", T_FLOAT0, OFF(rules.heap_factor), "2",
     "early warning: heap live grew this many times within --rule-heap-window (0: off)"},
    {"rule-heap-window", "MEANWHILE_RULE_HEAP_WINDOW", T_DURATION0, OFF(rules.heap_window_ns), "10m",
     "the window of --rule-heap-growth"},
    {"rule-heap-min", "MEANWHILE_RULE_HEAP_MIN", T_BYTES0, OFF(rules.heap_min_bytes), "32MiB",
     "a heap live smaller than this never fires --rule-heap-growth"},
    {"rule-goroutine-growth", "MEANWHILE_RULE_GOROUTINE_GROWTH", T_FLOAT0, OFF(rules.goroutine_factor), "2",
     "early warning: goroutines grew this many times within --rule-goroutine-window (0: off)"},
    {"rule-goroutine-window", "MEANWHILE_RULE_GOROUTINE_WINDOW", T_DURATION0, OFF(rules.goroutine_window_ns), "10m",
     "the window of --rule-goroutine-growth"},
    {"rule-goroutine-min", "MEANWHILE_RULE_GOROUTINE_MIN", T_FLOAT0, OFF(rules.goroutine_min_f), "500",
     "fewer goroutines than this never fire --rule-goroutine-growth"},
    {"rule-gc-cpu", "MEANWHILE_RULE_GC_CPU", T_FLOAT0, OFF(rules.gc_cpu_percent), "25",
     "early warning: GC used more than this percent of the CPU over --rule-gc-window (0: off)"},
    {"rule-pause-p99", "MEANWHILE_RULE_PAUSE_P99", T_DURATION0, OFF(rules.pause_p99_ns), "50ms",
     "early warning: the p99 of GC pauses within --rule-gc-window is over this (0: off)"},
    {"rule-gc-window", "MEANWHILE_RULE_GC_WINDOW", T_DURATION0, OFF(rules.gc_window_ns), "1m",
     "the window of --rule-gc-cpu, --rule-pause-p99 and the GC CPU, pause and allocation gauges of /metrics"},
    {"rule-warmup", "MEANWHILE_RULE_WARMUP", T_DURATION0, OFF(rules.warmup_ns), "1m",
     "a process's first moments (its uptime; for goroutines, since first seen) feed no rule: heaps grow at start"},
    {"rule-cooldown", "MEANWHILE_RULE_COOLDOWN", T_DURATION0, OFF(rules.cooldown_ns), "10m",
     "a rule that keeps holding fires again after this long; a request no agent took by then is dropped"},
    {"rules-max-sources", "MEANWHILE_RULES_MAX_SOURCES", T_UINT, OFF(rules.max_sources_u), "1000",
     "sources the rules and the per-source /metrics gauges follow (the least recently heard from goes first)"},
};
#define N_OPTIONS (sizeof options / sizeof options[0])

static int set_value(mw_config *cfg, const opt *o, const char *v, char *err, size_t errsz) {
  char *p = (char *)cfg + o->offset;
  char *end;
  switch (o->type) {
  case T_STR:
    if (!*v) goto bad;
    *(const char **)p = v;
    return MW_OK;
  case T_DURATION0: { /* a duration, or 0 for none; days allowed ("7d") */
    int64_t ns;
    size_t n = strlen(v);
    if (n > 1 && v[n - 1] == 'd') {
      char *e;
      double d = strtod(v, &e);
      if (e != v + n - 1 || d < 0 || d > 36500) goto bad;
      ns = (int64_t)(d * 86400e9);
    } else if (strcmp(v, "0") == 0) {
      ns = 0;
    } else if (mw__parse_duration(v, &ns) != MW_OK || ns < 0) {
      goto bad;
    }
    *(int64_t *)p = ns;
    return MW_OK;
  }
  case T_BYTES0: { /* bytes with an optional binary suffix (k, m, g, t) */
    char *e;
    unsigned long long n = strtoull(v, &e, 10);
    if (e == v || v[0] == '-') goto bad;
    int shift = 0;
    switch (*e) {
    case 'k':
    case 'K': shift = 10; break;
    case 'm':
    case 'M': shift = 20; break;
    case 'g':
    case 'G': shift = 30; break;
    case 't':
    case 'T': shift = 40; break;
    case '\0': break;
    default: goto bad;
    }
    if (shift && e[1] && strcmp(e + 1, "iB") && strcmp(e + 1, "B") && strcmp(e + 1, "b")) goto bad;
    if (shift && n > (UINT64_MAX >> shift)) goto bad;
    *(uint64_t *)p = (uint64_t)n << shift;
    return MW_OK;
  }
  case T_FLOAT0: { /* a number >= 0; 0 turns a rule off */
    double d = strtod(v, &end);
    if (*end || end == v || !(d >= 0) || d > 1e12) goto bad;
    *(double *)p = d;
    return MW_OK;
  }
  case T_OPTSTR: /* no default: "" leaves it unset */ *(const char **)p = *v ? v : NULL; return MW_OK;
  case T_HTTPURL: { /* scheme and host required; the viewer appends paths to it */
    if (!*v) {
      *(const char **)p = NULL;
      return MW_OK;
    }
    size_t skip = strncasecmp(v, "http://", 7) == 0 ? 7 : strncasecmp(v, "https://", 8) == 0 ? 8 : 0;
    if (!skip || !v[skip] || v[skip] == '/' || strlen(v) > 2048) goto bad;
    for (const unsigned char *c = (const unsigned char *)v; *c; c++)
      if (*c <= ' ' || *c >= 0x7f || *c == '?' || *c == '#' || *c == '@' || *c == '"' || *c == '<' || *c == '>' ||
          *c == '\\')
        goto bad;
    *(const char **)p = v;
    return MW_OK;
  }
  case T_GRAFANAUID: {
    size_t n = strlen(v);
    if (n > 40 || strspn(v, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_") != n) goto bad;
    *(const char **)p = n ? v : NULL;
    return MW_OK;
  }
  case T_SIZE: {
    unsigned long long n = strtoull(v, &end, 10);
    if (*end || end == v || v[0] == '-' || n == 0) goto bad;
    *(size_t *)p = (size_t)n;
    return MW_OK;
  }
  case T_UINT: {
    unsigned long n = strtoul(v, &end, 10);
    if (*end || end == v || v[0] == '-' || n == 0 || n > 1000000) goto bad;
    *(unsigned *)p = (unsigned)n;
    return MW_OK;
  }
  case T_SECONDS: {
    int64_t ns;
    if (mw__parse_duration(v, &ns) != MW_OK || ns < 1000000000) goto bad;
    *(unsigned *)p = (unsigned)(ns / 1000000000);
    return MW_OK;
  }
  case T_LEVEL:
    if (mw__log_parse_level(v, (enum mw__log_level *)p) != MW_OK) goto bad;
    return MW_OK;
  case T_ONOFF:
    if (strcmp(v, "on") == 0) *(int *)p = 1;
    else if (strcmp(v, "off") == 0) *(int *)p = 0;
    else goto bad;
    return MW_OK;
  case T_ROLE:
    if (strcmp(v, "shard") == 0) *(int *)p = 0;
    else if (strcmp(v, "query") == 0) *(int *)p = 1;
    else goto bad;
    return MW_OK;
  case T_SYNC:
    if (strcmp(v, "full") == 0) *(int *)p = 1;
    else if (strcmp(v, "normal") == 0) *(int *)p = 0;
    else goto bad;
    return MW_OK;
  }
bad:
  snprintf(err, errsz, "invalid value \"%.100s\" for --%s (%s)", v, o->flag, o->help);
  return MW_EINVAL;
}

static void usage(FILE *out) {
  fprintf(out, "Usage: meanwhiled [options]\n\n"
               "Collects OTLP spans and Go runtime data into SQLite and answers what the runtime\n"
               "was doing while a request was slow. One port serves OTLP/HTTP ingest (/v1/traces),\n"
               "the query API (/api/...), /metrics, /healthz and the web viewer (/).\n\n"
               "Options (each may also be set by the environment variable shown):\n");
  for (size_t i = 0; i < N_OPTIONS; i++)
    fprintf(out, "  --%-24s %s\n  %26s (%s, default %s)\n", options[i].flag, options[i].help, "", options[i].env,
            options[i].dflt);
  fprintf(out, "  --%-24s %s\n  --%-24s %s\n", "help", "print this help and exit", "version",
          "print the version and exit");
}

int mw__config_parse(int argc, char **argv, mw_config *cfg, FILE *out, char *err, size_t errsz) {
  memset(cfg, 0, sizeof *cfg);
  for (size_t i = 0; i < N_OPTIONS; i++) {
    const char *env = getenv(options[i].env);
    if (set_value(cfg, &options[i], options[i].dflt, err, errsz)) return MW_EINVAL;
    if (env && *env && set_value(cfg, &options[i], env, err, errsz)) {
      size_t n = strlen(err);
      snprintf(err + n, errsz - n, " from %s", options[i].env);
      return MW_EINVAL;
    }
  }
  const char *fault = getenv("MEANWHILE_FAULT_COMMIT_DELAY_MS");
  if (fault) cfg->fault_commit_delay_ms = atoi(fault);
  if ((fault = getenv("MEANWHILE_FAULT_QUERY_DELAY_MS"))) cfg->fault_query_delay_ms = atoi(fault);
  if ((fault = getenv("MEANWHILE_FAULT_READ_SLOW_US"))) cfg->fault_read_slow_us = atoi(fault);
  /* token lists come from the environment only: a command line is visible to
   * every user of the machine (ps, /proc) */
  cfg->ingest_tokens = getenv("MEANWHILE_INGEST_TOKENS");
  cfg->query_tokens = getenv("MEANWHILE_QUERY_TOKENS");

  /* getopt_long returns an option's val: start above every char value so that
   * the 58th option is not read as ':' (nor the 63rd as '?', the 86th as 'V') */
  enum { OPT_BASE = 256 };
  struct option longopts[N_OPTIONS + 3];
  for (size_t i = 0; i < N_OPTIONS; i++)
    longopts[i] = (struct option){options[i].flag, required_argument, NULL, (int)(OPT_BASE + i)};
  longopts[N_OPTIONS] = (struct option){"help", no_argument, NULL, 'h'};
  longopts[N_OPTIONS + 1] = (struct option){"version", no_argument, NULL, 'V'};
  longopts[N_OPTIONS + 2] = (struct option){0};
  optind = 1;
  opterr = 0;
  int c;
  while ((c = getopt_long(argc, argv, ":hV", longopts, NULL)) != -1) {
    if (c == 'h') {
      usage(out);
      return MW_CONFIG_EXIT_OK;
    }
    if (c == 'V') {
      fprintf(out, "meanwhiled %s\n", MW_VERSION);
      return MW_CONFIG_EXIT_OK;
    }
    if (c == '?' || c == ':') {
      snprintf(err, errsz, "%s option %s (see --help)", c == ':' ? "missing value for" : "unknown", argv[optind - 1]);
      return MW_EINVAL;
    }
    if (c < OPT_BASE || (size_t)(c - OPT_BASE) >= N_OPTIONS) {
      snprintf(err, errsz, "unknown option %s (see --help)", argv[optind - 1]);
      return MW_EINVAL;
    }
    if (set_value(cfg, &options[c - OPT_BASE], optarg, err, errsz)) return MW_EINVAL;
  }
  if (cfg->limits.max_attr_depth > MW_ATTR_DEPTH_MAX) {
    snprintf(err, errsz, "--max-attr-depth is at most %d (values that deep still render)", MW_ATTR_DEPTH_MAX);
    return MW_EINVAL;
  }
  if (cfg->exectrace_timeout_ns <= 0) {
    snprintf(err, errsz, "--exectrace-timeout must be above 0 (a reader must not run for ever)");
    return MW_EINVAL;
  }
  if (cfg->rules.heap_window_ns <= 0 || cfg->rules.goroutine_window_ns <= 0 || cfg->rules.gc_window_ns <= 0) {
    snprintf(err, errsz, "--rule-heap-window, --rule-goroutine-window and --rule-gc-window must be above 0");
    return MW_EINVAL;
  }
  if (!cfg->tls_cert != !cfg->tls_key) {
    snprintf(err, errsz, "--tls-cert and --tls-key go together");
    return MW_EINVAL;
  }
  if (!cfg->grafana_url != !cfg->grafana_datasource_uid) {
    snprintf(err, errsz, "--grafana-url and --grafana-datasource-uid go together (the link opens that data source)");
    return MW_EINVAL;
  }
  if (cfg->query_only && !cfg->peers) {
    snprintf(err, errsz, "--role query needs --peers: a query-only meanwhiled holds no data of its own");
    return MW_EINVAL;
  }
  if (cfg->peers && cfg->peer_timeout_ns <= 0) {
    snprintf(err, errsz, "--peer-timeout must be above 0");
    return MW_EINVAL;
  }
  if (optind < argc) {
    snprintf(err, errsz, "unexpected argument \"%s\" (see --help)", argv[optind]);
    return MW_EINVAL;
  }
  return MW_CONFIG_RUN;
}
