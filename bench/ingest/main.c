/* bench-ingest: how fast meanwhiled ingests OTLP spans, compared with plain
 * SQLite doing the same inserts; how much memory it needs at a steady rate;
 * how fast it finds a trace by id. See README.md for the modes and figures.
 *
 * Figures go to stdout, one "name value" line each (docs quote them); progress
 * and diagnostics go to stderr. The exit status is 0 only if every span sent
 * was acknowledged and every figure the mode promises was produced; speed is
 * reported, never asserted. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <curl/curl.h>

#include "bench.h"

#ifndef MW_SCHEMA_DIR
#define MW_SCHEMA_DIR "schema/sql"
#endif

typedef struct options {
  const char *server, *url, *data, *query_db, *db_name, *sync, *corpus;
  char *server_args[32];
  int n_server_args;
  pid_t pid;
  int conns, rounds, smoke, no_baseline, keep, spans_given;
  uint64_t spans, baseline_rows, txn_rows, query_spans, queries;
  double seconds, rate;
  uint32_t batches, batch_spans, trace_spans;
  uint64_t seed;
  bi_db_opts db;
} options;

static int g_figures_missing;

void bi_figure(const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("%s ", name);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  va_end(ap);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-ingest [--server PATH [--data DIR] | --url URL [--pid PID]] [options]\n"
          "\n"
          "modes (default: throughput, baseline and server alternately):\n"
          "  --rate R            pace at R spans/s for --seconds (default 30), sample RSS\n"
          "  --query-db DIR      trace-by-id latency on a server data dir (built if absent)\n"
          "  --smoke             a short run of all three (ctest)\n"
          "server:\n"
          "  --server PATH       start meanwhiled (port 0, fresh data dir per round)\n"
          "  --server-arg ARG    replaces the default server arguments (repeat; {data} = the\n"
          "                      data dir, {sync} = --sync); default: --listen 127.0.0.1:0\n"
          "                      --data {data} --sync {sync}\n"
          "  --data DIR          where data dirs and baseline databases go (default: a temp dir)\n"
          "  --url URL           use a running server instead (no restart between rounds)\n"
          "  --pid PID           its pid, for CPU and RSS figures with --url\n"
          "load:\n"
          "  --conns N           keep-alive connections (default 8)\n"
          "  --spans N           spans per server round (default 1000000)\n"
          "  --seconds S         stop a round after S seconds instead\n"
          "  --rounds N          baseline/server pairs (default 2)\n"
          "  --batches N         distinct pre-encoded batches (default 256)\n"
          "  --batch-spans N     spans per request (default 100)\n"
          "  --trace-spans N     spans per trace (default 10)\n"
          "  --corpus FILE       a bench-corpus-gen file instead of the synthetic batches:\n"
          "                      each batch sent once, as it is (its first --spans spans,\n"
          "                      whole batches; default all); the baseline inserts the same\n"
          "                      spans; throughput mode only\n"
          "baseline:\n"
          "  --baseline-rows N   rows per baseline round (default: --spans)\n"
          "  --txn-rows N        rows per transaction (default 10000)\n"
          "  --sync normal|full  synchronous, for the baseline and the server (default full,\n"
          "                      the server's default)\n"
          "  --no-baseline       server rounds only\n"
          "  --schema-dir DIR    migrations to run (default %s)\n"
          "query:\n"
          "  --query-spans N     spans in a new query database (default 10000000)\n"
          "  --queries N         timed lookups (default 1000)\n"
          "  --db-name NAME      the database file in a data dir (default meanwhile.db)\n"
          "other:\n"
          "  --seed N            corpus and id seed (default: from the clock)\n"
          "  --keep              keep data dirs\n",
          MW_SCHEMA_DIR);
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0) return -1;
  *out = (uint64_t)v; /* strtod: "1e7" is a fine span count */
  return 0;
}

static int parse_args(int argc, char **argv, options *o) {
  enum {
    O_SERVER = 256,
    O_SERVER_ARG,
    O_DATA,
    O_URL,
    O_PID,
    O_CONNS,
    O_SPANS,
    O_SECONDS,
    O_ROUNDS,
    O_BATCHES,
    O_BATCH_SPANS,
    O_TRACE_SPANS,
    O_BASELINE_ROWS,
    O_TXN_ROWS,
    O_SYNC,
    O_NO_BASELINE,
    O_SCHEMA_DIR,
    O_RATE,
    O_QUERY_DB,
    O_QUERY_SPANS,
    O_QUERIES,
    O_DB_NAME,
    O_SMOKE,
    O_SEED,
    O_KEEP,
    O_CORPUS,
    O_HELP
  };
  static const struct option longs[] = {{"server", 1, 0, O_SERVER},
                                        {"server-arg", 1, 0, O_SERVER_ARG},
                                        {"data", 1, 0, O_DATA},
                                        {"url", 1, 0, O_URL},
                                        {"pid", 1, 0, O_PID},
                                        {"conns", 1, 0, O_CONNS},
                                        {"spans", 1, 0, O_SPANS},
                                        {"seconds", 1, 0, O_SECONDS},
                                        {"rounds", 1, 0, O_ROUNDS},
                                        {"batches", 1, 0, O_BATCHES},
                                        {"batch-spans", 1, 0, O_BATCH_SPANS},
                                        {"trace-spans", 1, 0, O_TRACE_SPANS},
                                        {"baseline-rows", 1, 0, O_BASELINE_ROWS},
                                        {"txn-rows", 1, 0, O_TXN_ROWS},
                                        {"sync", 1, 0, O_SYNC},
                                        {"no-baseline", 0, 0, O_NO_BASELINE},
                                        {"schema-dir", 1, 0, O_SCHEMA_DIR},
                                        {"rate", 1, 0, O_RATE},
                                        {"query-db", 1, 0, O_QUERY_DB},
                                        {"query-spans", 1, 0, O_QUERY_SPANS},
                                        {"queries", 1, 0, O_QUERIES},
                                        {"db-name", 1, 0, O_DB_NAME},
                                        {"corpus", 1, 0, O_CORPUS},
                                        {"smoke", 0, 0, O_SMOKE},
                                        {"seed", 1, 0, O_SEED},
                                        {"keep", 0, 0, O_KEEP},
                                        {"help", 0, 0, O_HELP},
                                        {0, 0, 0, 0}};
  int opt;
  uint64_t v;
  while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    int bad = 0;
    switch (opt) {
    case O_SERVER: o->server = optarg; break;
    case O_SERVER_ARG:
      if (o->n_server_args < 30) o->server_args[o->n_server_args++] = optarg;
      break;
    case O_DATA: o->data = optarg; break;
    case O_URL: o->url = optarg; break;
    case O_PID:
      bad = parse_u64(optarg, &v);
      o->pid = (pid_t)v;
      break;
    case O_CONNS:
      bad = parse_u64(optarg, &v);
      o->conns = (int)v;
      break;
    case O_SPANS:
      bad = parse_u64(optarg, &o->spans) || !o->spans;
      o->spans_given = 1;
      break;
    case O_SECONDS:
      o->seconds = strtod(optarg, NULL);
      bad = o->seconds <= 0;
      break;
    case O_ROUNDS:
      bad = parse_u64(optarg, &v);
      o->rounds = (int)v;
      break;
    case O_BATCHES:
      bad = parse_u64(optarg, &v);
      o->batches = (uint32_t)v;
      break;
    case O_BATCH_SPANS:
      bad = parse_u64(optarg, &v);
      o->batch_spans = (uint32_t)v;
      break;
    case O_TRACE_SPANS:
      bad = parse_u64(optarg, &v);
      o->trace_spans = (uint32_t)v;
      break;
    case O_BASELINE_ROWS: bad = parse_u64(optarg, &o->baseline_rows); break;
    case O_TXN_ROWS: bad = parse_u64(optarg, &o->txn_rows) || !o->txn_rows; break;
    case O_SYNC:
      o->sync = optarg;
      bad = strcmp(optarg, "normal") != 0 && strcmp(optarg, "full") != 0;
      break;
    case O_NO_BASELINE: o->no_baseline = 1; break;
    case O_SCHEMA_DIR: o->db.schema_dir = optarg; break;
    case O_RATE:
      o->rate = strtod(optarg, NULL);
      bad = o->rate <= 0;
      break;
    case O_QUERY_DB: o->query_db = optarg; break;
    case O_QUERY_SPANS: bad = parse_u64(optarg, &o->query_spans) || !o->query_spans; break;
    case O_QUERIES: bad = parse_u64(optarg, &o->queries) || !o->queries; break;
    case O_DB_NAME: o->db_name = optarg; break;
    case O_SMOKE: o->smoke = 1; break;
    case O_SEED: bad = parse_u64(optarg, &o->seed); break;
    case O_KEEP: o->keep = 1; break;
    case O_CORPUS: o->corpus = optarg; break;
    case 'h':
    case O_HELP: usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
    if (bad) {
      fprintf(stderr, "bench-ingest: bad value for %s: %s\n", argv[optind - 1], optarg);
      return -1;
    }
  }
  if (o->corpus && (o->rate > 0 || o->query_db || o->smoke)) {
    fprintf(stderr, "bench-ingest: --corpus goes with the throughput mode only\n");
    return -1;
  }
  if (optind < argc || (!o->server && !o->url) || (o->server && o->url)) {
    fprintf(stderr, "bench-ingest: give exactly one of --server PATH and --url URL\n");
    usage(stderr);
    return -1;
  }
  return 0;
}

/* ---- working directories ----------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st;
  (void)flag;
  (void)ftw;
  remove(path);
  return 0;
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static char g_work[4096]; /* our scratch dir: created by us, removed by us */
static int g_work_is_temp;

static int setup_workdir(const options *o) {
  if (o->data) {
    snprintf(g_work, sizeof g_work, "%s", o->data);
    if (mkdir(g_work, 0755) != 0 && errno != EEXIST) {
      fprintf(stderr, "bench-ingest: %s: %s\n", g_work, strerror(errno));
      return -1;
    }
    return 0;
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(g_work, sizeof g_work, "%s/mw-bench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(g_work)) {
    fprintf(stderr, "bench-ingest: mkdtemp: %s\n", strerror(errno));
    return -1;
  }
  g_work_is_temp = 1;
  return 0;
}

static char *const *server_args(const options *o) {
  static char *defaults[] = {"--listen", "127.0.0.1:0", "--data", "{data}", "--sync", "{sync}", NULL};
  static char *given[33];
  if (!o->n_server_args) return defaults;
  for (int i = 0; i < o->n_server_args; i++) given[i] = o->server_args[i];
  given[o->n_server_args] = NULL;
  return given;
}

/* Starts a server on a fresh data dir named name inside the work dir (or on
 * dir itself when given), or describes the --url one. */
static int server_up(const options *o, const char *name, const char *dir, bi_server *s, char *data_dir,
                     size_t data_dir_sz) {
  if (o->url) {
    memset(s, 0, sizeof *s);
    snprintf(s->url, sizeof s->url, "%s", o->url);
    s->pid = 0;
    return 0;
  }
  if (dir) snprintf(data_dir, data_dir_sz, "%s", dir);
  else {
    snprintf(data_dir, data_dir_sz, "%s/%s", g_work, name);
    rm_tree(data_dir);
    if (mkdir(data_dir, 0755) != 0) {
      fprintf(stderr, "bench-ingest: %s: %s\n", data_dir, strerror(errno));
      return -1;
    }
  }
  char log[4200];
  snprintf(log, sizeof log, "%s/%s.log", g_work, name);
  return bi_server_start(s, o->server, (char **)server_args(o), data_dir, o->sync, log, 15);
}

static int server_down(const options *o, bi_server *s, const char *data_dir, int remove_data) {
  if (o->url) return 0;
  double took;
  int rc = bi_server_stop(s, &took);
  fprintf(stderr, "bench-ingest: server stopped in %.2f s, exit status %d\n", took, rc);
  if (remove_data && !o->keep) rm_tree(data_dir);
  return rc == 0 ? 0 : -1;
}

static pid_t watched_pid(const options *o, const bi_server *s) { return o->url ? o->pid : s->pid; }

/* ---- the throughput comparison ------------------------------------------ */

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* One server round: send o->spans (or for o->seconds) and report. Returns 0
 * if every span was acknowledged. */
static int server_round(const options *o, bi_corpus *c, bi_ids *ids, int round, double rate, double *spans_per_s,
                        double *rss_max, double *bytes_per_span, double *cpu_us_per_span) {
  char name[64], data_dir[4200];
  snprintf(name, sizeof name, rate > 0 ? "server-rate-%d" : "server-%d", round);
  bi_server s;
  if (server_up(o, name, NULL, &s, data_dir, sizeof data_dir) != 0) return -1;
  pid_t pid = watched_pid(o, &s);
  bi_sampler smp;
  int sampling = pid > 0 && bi_sampler_start(&smp, pid, 100) == 0;
  double scpu0 = pid > 0 ? bi_proc_cpu_s(pid) : -1;

  bi_send_cfg cfg = {.url = s.url, .conns = o->conns, .corpus = c, .ids = ids};
  /* --seconds alone bounds a round by time; with --spans as well, by both. */
  cfg.max_spans = rate > 0 || (o->seconds > 0 && !o->spans_given) ? 0 : o->spans;
  cfg.seconds = rate > 0 ? (o->seconds > 0 ? o->seconds : 30) : o->seconds;
  cfg.rate = rate;
  fprintf(stderr, "bench-ingest: round %d: sending to %s (pid %d) over %d connections...\n", round, s.url, (int)pid,
          o->conns);
  bi_send_result r;
  int rc = bi_send_run(&cfg, &r);
  double scpu1 = pid > 0 ? bi_proc_cpu_s(pid) : -1;
  if (sampling) bi_sampler_stop(&smp);
  if (server_down(o, &s, data_dir, 0) != 0) rc = -1;

  const char *p = rate > 0 ? "ingest.rate" : "ingest";
  char key[128];
#define FIG(suffix, fmt, ...)                                                                                          \
  do {                                                                                                                 \
    snprintf(key, sizeof key, "%s.round%d.%s", p, round, suffix);                                                      \
    bi_figure(key, fmt, __VA_ARGS__);                                                                                  \
  } while (0)
  /* Paced: the last batch is due just before the end, so divide by the
   * scheduled duration, not by the time the last answer came. */
  *spans_per_s = (double)r.spans_ok / (rate > 0 && cfg.seconds > r.wall_s ? cfg.seconds : r.wall_s);
  FIG("server_spans_per_s", "%.0f", *spans_per_s);
  FIG("spans_acked", "%llu", (unsigned long long)r.spans_ok);
  FIG("spans_sent", "%llu", (unsigned long long)r.spans_sent);
  FIG("seconds", "%.2f", r.wall_s);
  FIG("retries_503", "%llu", (unsigned long long)r.retries);
  FIG("errors", "%llu", (unsigned long long)r.errors);
  FIG("request_p50_ms", "%.2f", r.lat_p50_ms);
  FIG("request_p99_ms", "%.2f", r.lat_p99_ms);
  FIG("request_max_ms", "%.2f", r.lat_max_ms);
  FIG("connections_opened", "%ld", r.connects);
  /* The generator's own CPU: if this approaches a core per connection
   * thread's share, the client, not the server, is the limit. */
  FIG("client_cpu_pct", "%.0f", 100 * r.cpu_s / r.wall_s);
  if (scpu0 >= 0 && scpu1 >= 0) {
    FIG("server_cpu_pct", "%.0f", 100 * (scpu1 - scpu0) / r.wall_s);
    /* The server's utime + stime over the round (/proc/<pid>/stat), all its
     * threads: HTTP, decoding, the writer and SQLite. */
    *cpu_us_per_span = r.spans_ok ? (scpu1 - scpu0) * 1e6 / (double)r.spans_ok : -1;
    FIG("server_cpu_us_per_span", "%.2f", *cpu_us_per_span);
  }
  /* What the round's spans take on disk, the server stopped: file + WAL
   * after a checkpoint, and dbstat's split. */
  if (!o->url && rate <= 0) {
    char db[4400];
    snprintf(db, sizeof db, "%s/%s", data_dir, o->db_name);
    snprintf(key, sizeof key, "%s.round%d", p, round);
    *bytes_per_span = bi_db_bytes_report(db, r.spans_ok, key);
    if (*bytes_per_span < 0) g_figures_missing++;
  }
  if (!o->url && !o->keep) rm_tree(data_dir);
  if (sampling) {
    FIG("rss_max_mib", "%.1f", smp.rss_max_mib);
    FIG("hwm_mib", "%.1f", smp.hwm_mib);
    *rss_max = smp.rss_max_mib > smp.hwm_mib ? smp.rss_max_mib : smp.hwm_mib;
  }
#undef FIG
  if (r.errors || r.rejected || r.spans_ok != r.spans_sent || r.spans_ok == 0) {
    fprintf(stderr, "bench-ingest: round %d: %llu of %llu spans acknowledged (%llu rejected, %llu errors)\n", round,
            (unsigned long long)r.spans_ok, (unsigned long long)r.spans_sent, (unsigned long long)r.rejected,
            (unsigned long long)r.errors);
    rc = -1;
  }
  return rc;
}

static int baseline_round(const options *o, const bi_corpus *c, int round, double *rows_per_s) {
  char path[4200], prefix[64];
  snprintf(path, sizeof path, "%s/baseline-%d.db", g_work, round);
  double cpu;
  uint64_t rows = c->as_is ? c->n_spans_total : o->baseline_rows ? o->baseline_rows : o->spans;
  snprintf(prefix, sizeof prefix, "ingest.round%d.baseline", round);
  fprintf(stderr, "bench-ingest: round %d: baseline, %llu rows...\n", round, (unsigned long long)rows);
  if (bi_baseline_run(c, &o->db, path, rows, o->txn_rows, o->seed ^ 0xba5e11e0ULL * (uint64_t)round, rows_per_s, &cpu,
                      prefix) != 0)
    return -1;
  char key[128];
  snprintf(key, sizeof key, "ingest.round%d.baseline_rows_per_s", round);
  bi_figure(key, "%.0f", *rows_per_s);
  snprintf(key, sizeof key, "ingest.round%d.baseline_cpu_pct", round);
  bi_figure(key, "%.0f", 100 * cpu / ((double)rows / *rows_per_s));
  snprintf(key, sizeof key, "ingest.round%d.baseline_cpu_us_per_span", round);
  bi_figure(key, "%.2f", cpu * 1e6 / (double)rows);
  return 0;
}

static int run_throughput(const options *o, bi_corpus *c, bi_ids *ids) {
  double server[16], base[16], ratio[16], bytes[16], cpu[16], rss = 0, rss_max = 0;
  int rounds = o->rounds < 1 ? 1 : (o->rounds > 16 ? 16 : o->rounds), rc = 0;
  bi_figure("ingest.sync", "%s", o->db.sync);
  bi_figure("ingest.corpus", "%s", o->corpus ? o->corpus : "synthetic");
  for (int i = 0; i < rounds; i++) {
    bytes[i] = cpu[i] = -1;
    if (!o->no_baseline && baseline_round(o, c, i + 1, &base[i]) != 0) return -1;
    if (server_round(o, c, ids, i + 1, 0, &server[i], &rss, &bytes[i], &cpu[i]) != 0) rc = -1;
    if (rss > rss_max) rss_max = rss;
    if (!o->no_baseline) ratio[i] = server[i] / base[i];
  }
  bi_figure("ingest.server_spans_per_s", "%.0f", median(server, rounds));
  if (cpu[0] >= 0) bi_figure("ingest.server_cpu_us_per_span", "%.2f", median(cpu, rounds));
  if (bytes[0] >= 0) bi_figure("ingest.server_bytes_per_span", "%.1f", median(bytes, rounds));
  if (rss_max > 0) bi_figure("ingest.rss_max_mib_unpaced", "%.1f", rss_max);
  if (!o->no_baseline) {
    bi_figure("ingest.baseline_rows_per_s", "%.0f", median(base, rounds));
    bi_figure("ingest.ratio", "%.2f", median(ratio, rounds));
  }
  return rc;
}

static int run_rate(const options *o, bi_corpus *c, bi_ids *ids, double rate) {
  double spans_per_s, rss = -1, bytes = -1, cpu = -1;
  int rc = server_round(o, c, ids, 1, rate, &spans_per_s, &rss, &bytes, &cpu);
  bi_figure("ingest.rate_target_spans_per_s", "%.0f", rate);
  bi_figure("ingest.rate_achieved_spans_per_s", "%.0f", spans_per_s);
  if (rss >= 0) bi_figure("ingest.rss_max_mib", "%.1f", rss);
  else {
    fprintf(stderr, "bench-ingest: no RSS figure: give --pid with --url\n");
    g_figures_missing++;
  }
  return rc;
}

/* ---- trace by id ------------------------------------------------------- */

static int run_query(const options *o, const bi_corpus *c, const char *dir, uint64_t spans) {
  char path[4300];
  struct stat st;
  if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench-ingest: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  snprintf(path, sizeof path, "%s/%s", dir, o->db_name);
  if (stat(path, &st) == 0) {
    fprintf(stderr, "bench-ingest: reusing %s\n", path);
  } else {
    fprintf(stderr, "bench-ingest: building %s with %llu spans...\n", path, (unsigned long long)spans);
    if (bi_fill_query_db(c, &o->db, path, spans, o->seed ^ 0x9e77ULL) != 0) return -1;
  }
  if (stat(path, &st) == 0) bi_figure("query.db_mib", "%.0f", (double)st.st_size / 1048576.0);
  size_t n = (size_t)o->queries, warm = 10;
  uint8_t *ids = malloc(16 * (n + warm));
  if (!ids || bi_pick_trace_ids(path, n + warm, ids, o->seed ^ 0x51ULL) != 0) {
    free(ids);
    return -1;
  }
  bi_server s;
  char data_dir[4200];
  if (server_up(o, "server-query", dir, &s, data_dir, sizeof data_dir) != 0) {
    free(ids);
    return -1;
  }
  bi_query_result r;
  int rc = bi_query_run(s.url, ids, n + warm, warm, &r);
  if (server_down(o, &s, data_dir, 0) != 0) rc = -1;
  free(ids);
  bi_figure("query.trace_by_id_ok", "%zu", r.ok);
  bi_figure("query.trace_by_id_errors", "%zu", r.errors);
  if (r.ok == 0 || r.errors) {
    g_figures_missing++;
    return -1;
  }
  bi_figure("query.trace_by_id_p50_ms", "%.2f", r.p50_ms);
  bi_figure("query.trace_by_id_p99_ms", "%.2f", r.p99_ms);
  bi_figure("query.trace_by_id_max_ms", "%.2f", r.max_ms);
  bi_figure("query.trace_by_id_mean_ms", "%.2f", r.mean_ms);
  bi_figure("query.trace_bytes_mean", "%zu", r.bytes_mean);
  return rc;
}

int main(int argc, char **argv) {
  options o = {.conns = 8,
               .rounds = 2,
               .spans = 1000000,
               .txn_rows = 10000,
               .query_spans = 10000000,
               .queries = 1000,
               .batches = 256,
               .batch_spans = 100,
               .trace_spans = 10,
               .db_name = "meanwhile.db",
               .sync = "full"};
  o.db.schema_dir = MW_SCHEMA_DIR;
  o.seed = (uint64_t)bi_now_ns() ^ ((uint64_t)getpid() << 32);
  if (parse_args(argc, argv, &o) != 0) return 2;
  o.db.sync = o.sync;
  if (o.smoke) {
    o.spans = 20000;
    o.baseline_rows = 20000;
    o.rounds = 1;
    o.query_spans = 50000;
    o.batches = 64;
  }
  if (setup_workdir(&o) != 0) return 1;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int rc = 0;
  bi_corpus c;
  double t0 = bi_mono_s();
  if (o.corpus) {
    if (bi_corpus_load(&c, o.corpus, o.spans_given ? o.spans : 0) != 0) {
      rc = 1;
      goto out;
    }
    fprintf(stderr, "bench-ingest: corpus %s: %zu batches, %llu spans, %zu sources, %zu operations, read in %.2f s\n",
            o.corpus, c.n_batches, (unsigned long long)c.n_spans_total, c.n_sources, c.n_ops, bi_mono_s() - t0);
    bi_figure("ingest.corpus_spans", "%llu", (unsigned long long)c.n_spans_total);
    bi_figure("ingest.wire_bytes_per_span", "%.1f", (double)c.bytes / (double)c.n_spans_total);
    o.batches = (uint32_t)c.n_batches;
  } else if (bi_corpus_build(&c, o.batches, o.batch_spans, o.trace_spans, o.seed) != 0) {
    rc = 1;
    goto out;
  } else {
    fprintf(stderr, "bench-ingest: corpus of %u batches x %u spans, %.1f KiB a batch, built in %.2f s\n", o.batches,
            o.batch_spans, (double)c.bytes / (double)o.batches / 1024.0, bi_mono_s() - t0);
  }
  bi_figure("ingest.batch_bytes_mean", "%.0f", (double)c.bytes / (double)o.batches);
  bi_ids ids;
  bi_ids_init(&ids, o.seed ^ 0x1d5ULL);

  if (o.smoke) {
    char qdir[4200];
    snprintf(qdir, sizeof qdir, "%s/query", g_work);
    if (run_throughput(&o, &c, &ids) != 0) rc = 1;
    options r = o;
    r.seconds = 2;
    if (run_rate(&r, &c, &ids, 5000) != 0) rc = 1;
    if (run_query(&o, &c, qdir, o.query_spans) != 0) rc = 1;
  } else if (o.query_db) {
    if (run_query(&o, &c, o.query_db, o.query_spans) != 0) rc = 1;
  } else if (o.rate > 0) {
    if (run_rate(&o, &c, &ids, o.rate) != 0) rc = 1;
  } else {
    if (run_throughput(&o, &c, &ids) != 0) rc = 1;
  }
  bi_corpus_free(&c);
out:
  if (g_figures_missing) rc = 1;
  if (g_work_is_temp && !o.keep) rm_tree(g_work);
  else fprintf(stderr, "bench-ingest: work dir kept: %s\n", g_work);
  curl_global_cleanup();
  fprintf(stderr, "bench-ingest: %s\n", rc == 0 ? "ok" : "FAILED");
  return rc;
}
