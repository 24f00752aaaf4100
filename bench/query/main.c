/* bench-query: latency of the correlation endpoints on a large database.
 *
 * Builds (or reuses) a data dir holding N spans, GC cycles, goroutine
 * snapshots and CPU profiles (gen.c), starts meanwhiled on it on port 0,
 * picks random slow traces (root span at or above its operation's p90, from
 * the generator's list), and over one keep-alive connection times
 *   GET /api/v1/traces/{id}/timeline
 *   GET /api/v1/traces/{id}/explain
 *   GET /api/traces/{id}                 (the baseline: trace by id)
 * for each, after a warm-up. With --exectraces N, N of the slow traces get an
 * execution trace (xtgen.c) and half the timed traces are among them, so
 * that explain with trace evidence is timed against explain without in the
 * same run. Every answer must be a 200 with a JSON object
 * holding the endpoint's top-level keys; the exit status says so. Figures go
 * to stdout as "name value" lines; progress to stderr. See README.md. */
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

#include "qbench.h"

#ifndef MW_SCHEMA_DIR
#define MW_SCHEMA_DIR "schema/sql"
#endif
#ifndef MW_QBENCH_CACHE_DIR
#define MW_QBENCH_CACHE_DIR "."
#endif

enum { TARGET_P99_MS = 50, XT_TARGET_P99_MS = 20 };

typedef struct options {
  const char *server, *url, *db_dir;
  char *server_args[32];
  int n_server_args;
  qb_gen_opts gen;
  uint64_t traces, warmup, exectraces;
  int smoke, regen, gen_only, keep, require_trace_scope;
} options;

static void figure(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void figure(const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("query.%s ", name);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  va_end(ap);
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-query (--server PATH | --url URL --db-dir DIR) [options]\n"
          "\n"
          "  --server PATH       start meanwhiled on the data dir (--listen 127.0.0.1:0 --data DIR)\n"
          "  --server-arg ARG    replaces those arguments (repeat; {data} = the data dir)\n"
          "  --url URL           use a server already running on --db-dir instead\n"
          "data (a cached data dir is reused when it was made with the same values):\n"
          "  --db-dir DIR        the data dir (default %s/q-<spans>-<gc>-<snapshots>-<hours>h-s<seed>)\n"
          "  --spans N           spans (default 1e7)\n"
          "  --gc N              GC cycles (default 1e6)\n"
          "  --snapshots N       goroutine snapshots (default 1e5)\n"
          "  --hours H           time range (default 6)\n"
          "  --cpu-every S       one 10 s CPU profile per source every S seconds (default 60; 0: none)\n"
          "  --seed N            data set and trace choice (default 1)\n"
          "  --analyze           run ANALYZE after generating (the server never does)\n"
          "  --old-spans         spans as `spans` rows (before migration 0008), not sealed blocks\n"
          "  --exectraces N      store execution traces for N slow traces (default 10000; smoke 100)\n"
          "  --regen             generate even if the cache matches\n"
          "  --gen-only          generate (or check the cache) and stop\n"
          "  --schema-dir DIR    migrations (default %s)\n"
          "queries:\n"
          "  --traces N          slow traces timed (default 500)\n"
          "  --warmup N          untimed requests first (default 50)\n"
          "other:\n"
          "  --smoke             ctest: 1e5 spans, 1e4 GC, 1e3 snapshots over 1 h, in a fresh temp dir\n"
          "  --keep              keep the smoke data dir\n"
          "  --require-trace-scope  fail unless explain gives covered traces' spans causes of scope trace\n",
          MW_QBENCH_CACHE_DIR, MW_SCHEMA_DIR);
}

static int parse_u64(const char *s, uint64_t *out) {
  char *end;
  errno = 0;
  double v = strtod(s, &end);
  if (errno || end == s || *end || v < 0) return -1;
  *out = (uint64_t)v;
  return 0;
}

static int parse_args(int argc, char **argv, options *o) {
  enum {
    O_SERVER = 256,
    O_SERVER_ARG,
    O_URL,
    O_DB_DIR,
    O_SPANS,
    O_GC,
    O_SNAPSHOTS,
    O_HOURS,
    O_CPU_EVERY,
    O_SEED,
    O_ANALYZE,
    O_OLD_SPANS,
    O_REGEN,
    O_GEN_ONLY,
    O_SCHEMA_DIR,
    O_TRACES,
    O_WARMUP,
    O_SMOKE,
    O_KEEP,
    O_EXECTRACES,
    O_REQUIRE_TRACE_SCOPE,
    O_HELP
  };
  static const struct option longs[] = {{"server", 1, 0, O_SERVER},
                                        {"server-arg", 1, 0, O_SERVER_ARG},
                                        {"url", 1, 0, O_URL},
                                        {"db-dir", 1, 0, O_DB_DIR},
                                        {"spans", 1, 0, O_SPANS},
                                        {"gc", 1, 0, O_GC},
                                        {"snapshots", 1, 0, O_SNAPSHOTS},
                                        {"hours", 1, 0, O_HOURS},
                                        {"cpu-every", 1, 0, O_CPU_EVERY},
                                        {"seed", 1, 0, O_SEED},
                                        {"analyze", 0, 0, O_ANALYZE},
                                        {"old-spans", 0, 0, O_OLD_SPANS},
                                        {"regen", 0, 0, O_REGEN},
                                        {"gen-only", 0, 0, O_GEN_ONLY},
                                        {"schema-dir", 1, 0, O_SCHEMA_DIR},
                                        {"traces", 1, 0, O_TRACES},
                                        {"warmup", 1, 0, O_WARMUP},
                                        {"smoke", 0, 0, O_SMOKE},
                                        {"keep", 0, 0, O_KEEP},
                                        {"exectraces", 1, 0, O_EXECTRACES},
                                        {"require-trace-scope", 0, 0, O_REQUIRE_TRACE_SCOPE},
                                        {"help", 0, 0, O_HELP},
                                        {0, 0, 0, 0}};
  int opt, seen_sizes = 0, seen_xt = 0;
  while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    int bad = 0;
    char *end;
    switch (opt) {
    case O_SERVER: o->server = optarg; break;
    case O_SERVER_ARG:
      if (o->n_server_args < 30) o->server_args[o->n_server_args++] = optarg;
      break;
    case O_URL: o->url = optarg; break;
    case O_DB_DIR: o->db_dir = optarg; break;
    case O_SPANS:
      bad = parse_u64(optarg, &o->gen.spans) || !o->gen.spans;
      seen_sizes = 1;
      break;
    case O_GC:
      bad = parse_u64(optarg, &o->gen.gc);
      seen_sizes = 1;
      break;
    case O_SNAPSHOTS:
      bad = parse_u64(optarg, &o->gen.snapshots);
      seen_sizes = 1;
      break;
    case O_HOURS:
      o->gen.hours = strtod(optarg, &end);
      bad = *end || o->gen.hours <= 0;
      seen_sizes = 1;
      break;
    case O_CPU_EVERY:
      o->gen.cpu_every_s = strtod(optarg, &end);
      bad = *end || o->gen.cpu_every_s < 0 || (o->gen.cpu_every_s > 0 && o->gen.cpu_every_s < o->gen.cpu_window_s);
      break;
    case O_SEED: bad = parse_u64(optarg, &o->gen.seed); break;
    case O_ANALYZE: o->gen.analyze = 1; break;
    case O_OLD_SPANS: o->gen.old_spans = 1; break;
    case O_REGEN: o->regen = 1; break;
    case O_GEN_ONLY: o->gen_only = 1; break;
    case O_SCHEMA_DIR: o->gen.schema_dir = optarg; break;
    case O_TRACES: bad = parse_u64(optarg, &o->traces) || !o->traces; break;
    case O_WARMUP: bad = parse_u64(optarg, &o->warmup); break;
    case O_SMOKE: o->smoke = 1; break;
    case O_KEEP: o->keep = 1; break;
    case O_REQUIRE_TRACE_SCOPE: o->require_trace_scope = 1; break;
    case O_EXECTRACES:
      bad = parse_u64(optarg, &o->exectraces);
      seen_xt = 1;
      break;
    case 'h':
    case O_HELP: usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
    if (bad) {
      fprintf(stderr, "bench-query: bad value for %s: %s\n", argv[optind - 1], optarg);
      return -1;
    }
  }
  if (o->smoke && !seen_sizes) {
    o->gen.spans = 100000;
    o->gen.gc = 10000;
    o->gen.snapshots = 1000;
    o->gen.hours = 1;
  }
  if (o->smoke && !seen_xt) o->exectraces = 100;
  if (optind < argc || (!o->gen_only && !o->server == !o->url) || (o->url && !o->db_dir)) {
    fprintf(stderr, "bench-query: give --server PATH, or --url URL with --db-dir DIR (or --gen-only)\n");
    usage(stderr);
    return -1;
  }
  return 0;
}

static int cmp_id(const void *a, const void *b) { return memcmp(a, b, 16); }

/* Marks (flags 4) the traces of cand that dir's execution-trace list names,
 * when its header is `header`. Returns 0, or -1 when absent or different. */
static int read_xt(const char *dir, const char *header, qb_trace *cand, size_t n_cand) {
  char path[4200], line[700];
  snprintf(path, sizeof path, "%s/%s", dir, QB_XT_NAME);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  if (!fgets(line, sizeof line, f) || strncmp(line, header, strlen(header)) != 0 || line[strlen(header)] != '\n') {
    fclose(f);
    return -1;
  }
  uint8_t(*ids)[16] = calloc(n_cand + 1, 16);
  size_t n = 0;
  while (ids && n < n_cand && fgets(line, sizeof line, f)) {
    for (int i = 0; i < 16; i++) {
      unsigned v = 0;
      sscanf(line + 2 * i, "%2x", &v);
      ids[n][i] = (uint8_t)v;
    }
    n++;
  }
  fclose(f);
  if (!ids) return -1;
  qsort(ids, n, 16, cmp_id);
  for (size_t i = 0; i < n_cand; i++)
    if (bsearch(cand[i].id, ids, n, 16, cmp_id)) cand[i].flags |= 4;
  free(ids);
  return 0;
}

/* Stores execution traces for o->exectraces slow traces drawn at random
 * (xtgen.c), lists them in dir/bench-query.xt and marks them in cand. */
static int add_xt(const options *o, const char *dir, const char *header, qb_trace *cand, size_t n_cand) {
  size_t n = o->exectraces < n_cand ? (size_t)o->exectraces : n_cand;
  qb_trace *pick = malloc((n_cand + 1) * sizeof *pick);
  if (!pick) return -1;
  memcpy(pick, cand, n_cand * sizeof *pick);
  uint64_t rng = o->gen.seed * 0xD1B54A32D192ED03ULL + 3;
  for (size_t i = 0; i < n; i++) {
    size_t j = i + (size_t)(qb_rand64(&rng) % (uint64_t)(n_cand - i));
    qb_trace t = pick[i];
    pick[i] = pick[j];
    pick[j] = t;
  }
  fprintf(stderr, "bench-query: storing %zu execution traces through ingest\n", n);
  qb_xt_stats st;
  int rc = qb_add_exectraces(dir, pick, n, o->gen.seed, &st);
  char path[4200], tmp[4300];
  snprintf(path, sizeof path, "%s/%s", dir, QB_XT_NAME);
  snprintf(tmp, sizeof tmp, "%s.tmp", path);
  FILE *f = rc ? NULL : fopen(tmp, "w");
  if (f) {
    fprintf(f, "%s\n", header);
    for (size_t i = 0; i < n; i++) {
      char hex[33];
      qb_hex(pick[i].id, 16, hex);
      fprintf(f, "%s\n", hex);
    }
    if (fclose(f) != 0 || rename(tmp, path) != 0) rc = -1;
  } else {
    rc = -1;
  }
  free(pick);
  if (rc) return -1;
  figure("xt_gen_s", "%.1f", st.seconds);
  figure("xt_traces", "%llu", (unsigned long long)st.traces);
  figure("xt_spans", "%llu", (unsigned long long)st.spans);
  figure("xt_intervals", "%llu", (unsigned long long)st.intervals);
  return read_xt(dir, header, cand, n_cand);
}

/* Reorders cand so that covered (flags 4) and other traces alternate while
 * both last, keeping each kind's order. */
static int interleave(qb_trace *cand, size_t n) {
  qb_trace *out = malloc((n + 1) * sizeof *out);
  if (!out) return -1;
  size_t ic = 0, iu = 0, k = 0;
  for (int want_cov = 1; k < n; want_cov = !want_cov) {
    size_t *at = want_cov ? &ic : &iu;
    while (*at < n && ((cand[*at].flags & 4) != 0) != want_cov) (*at)++;
    if (*at < n) out[k++] = cand[(*at)++];
    else if ((want_cov ? iu : ic) >= n) break;
  }
  memcpy(cand, out, n * sizeof *out);
  free(out);
  return 0;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

int main(int argc, char **argv) {
  options o = {.gen = {.schema_dir = MW_SCHEMA_DIR,
                       .spans = 10000000,
                       .gc = 1000000,
                       .snapshots = 100000,
                       .hours = 6,
                       .cpu_every_s = 60,
                       .cpu_window_s = 10,
                       .seed = 1},
               .traces = 500,
               .warmup = 50,
               .exectraces = 10000};
  if (parse_args(argc, argv, &o)) return 2;
  double t_begin = qb_mono_s();
  int failed = 0, scope_failed = 0;

  /* the data dir */
  char dir[4096];
  int temp_dir = 0;
  if (o.db_dir) {
    snprintf(dir, sizeof dir, "%s", o.db_dir);
  } else if (o.smoke) {
    snprintf(dir, sizeof dir, "%s/smoke-XXXXXX", MW_QBENCH_CACHE_DIR);
    mkdir(MW_QBENCH_CACHE_DIR, 0755);
    if (!mkdtemp(dir)) {
      fprintf(stderr, "bench-query: mkdtemp %s: %s\n", dir, strerror(errno));
      return 1;
    }
    temp_dir = 1;
  } else {
    mkdir(MW_QBENCH_CACHE_DIR, 0755);
    snprintf(dir, sizeof dir, "%s/q-%llu-%llu-%llu-%gh-s%llu%s%s-xt%llu", MW_QBENCH_CACHE_DIR,
             (unsigned long long)o.gen.spans, (unsigned long long)o.gen.gc, (unsigned long long)o.gen.snapshots,
             o.gen.hours, (unsigned long long)o.gen.seed, o.gen.analyze ? "-analyzed" : "",
             o.gen.old_spans ? "-rows" : "", (unsigned long long)o.exectraces);
  }
  o.gen.dir = dir;
  char header[512];
  qb_meta_header(&o.gen, header, sizeof header);
  char xt_header[600];
  snprintf(xt_header, sizeof xt_header, "# bench-query-xt v1 n=%llu %s", (unsigned long long)o.exectraces, header);
  qb_trace *cand = NULL;
  long n_cand = o.regen || temp_dir ? -1 : qb_read_meta(dir, header, &cand);
  int xt_ready = !o.exectraces;
  if (n_cand >= 0 && o.exectraces && !(xt_ready = read_xt(dir, xt_header, cand, (size_t)n_cand) == 0)) {
    free(cand); /* a data dir whose execution traces are not the ones asked for: made again */
    cand = NULL;
    n_cand = -1;
  }
  if (n_cand >= 0) {
    fprintf(stderr, "bench-query: reusing %s (%ld slow traces)\n", dir, n_cand);
    figure("gen_cached", "1");
  } else {
    if (o.url) {
      fprintf(stderr,
              "bench-query: %s is not a data dir made with these sizes; cannot regenerate under a running "
              "server\n",
              dir);
      return 1;
    }
    fprintf(stderr, "bench-query: generating %s\n", dir);
    qb_gen_stats gs;
    if (qb_generate(&o.gen, &gs)) return 1;
    figure("gen_cached", "0");
    figure("gen_s", "%.1f", gs.total_s);
    figure("gen_load_s", "%.1f", gs.load_s);
    figure("gen_index_s", "%.1f", gs.index_s);
    figure("gen_finish_s", "%.1f", gs.finish_s);
    figure("db_mib", "%.0f", (double)gs.db_bytes / 1048576.0);
    figure("db_spans", "%llu", (unsigned long long)gs.spans);
    figure("db_traces", "%llu", (unsigned long long)gs.traces);
    figure("db_span_form", "%s", o.gen.old_spans ? "rows" : "blocks");
    figure("db_blocks", "%llu", (unsigned long long)gs.blocks);
    figure("db_trace_runs_live", "%llu", (unsigned long long)gs.live_runs);
    figure("db_gc_cycles", "%llu", (unsigned long long)gs.gc);
    figure("db_goroutine_snapshots", "%llu", (unsigned long long)gs.goroutine_snapshots);
    figure("db_cpu_snapshots", "%llu", (unsigned long long)gs.cpu_snapshots);
    figure("db_goroutine_groups", "%llu", (unsigned long long)gs.goroutine_groups);
    figure("db_goroutine_groups_labelled", "%llu", (unsigned long long)gs.labelled_groups);
    figure("db_profile_samples", "%llu", (unsigned long long)gs.profile_samples);
    figure("db_profile_samples_labelled", "%llu", (unsigned long long)gs.labelled_samples);
    figure("db_stacks", "%llu", (unsigned long long)gs.stacks);
    n_cand = qb_read_meta(dir, header, &cand);
    if (n_cand < 0) {
      fprintf(stderr, "bench-query: cannot read back %s/%s\n", dir, QB_META_NAME);
      return 1;
    }
  }
  figure("slow_traces_in_db", "%ld", n_cand);
  if (!xt_ready) {
    if (o.url) {
      fprintf(stderr, "bench-query: cannot add execution traces under a running server\n");
      return 1;
    }
    if (add_xt(&o, dir, xt_header, cand, (size_t)n_cand)) return 1;
  }
  size_t n_covered = 0;
  for (long i = 0; i < n_cand; i++) n_covered += (cand[i].flags & 4) != 0;
  figure("slow_traces_with_exectrace", "%zu", n_covered);
  if (o.gen_only) {
    free(cand);
    return 0;
  }
  if (n_cand == 0) {
    fprintf(stderr, "bench-query: no slow traces to ask about\n");
    return 1;
  }

  /* the traces: a random sample without replacement, warm-up ones after the timed ones */
  uint64_t rng = o.gen.seed * 0x9E3779B97F4A7C15ULL + 7;
  size_t want = (size_t)(o.traces + o.warmup), n_pick = want < (size_t)n_cand ? want : (size_t)n_cand;
  for (size_t i = 0; i < (n_covered ? (size_t)n_cand : n_pick); i++) {
    size_t j = i + (size_t)(qb_rand64(&rng) % (uint64_t)((size_t)n_cand - i));
    qb_trace t = cand[i];
    cand[i] = cand[j];
    cand[j] = t;
  }
  if (n_covered && interleave(cand, (size_t)n_cand)) return 1;
  size_t n_timed = o.traces < n_pick ? (size_t)o.traces : n_pick;
  if (n_timed < o.traces) fprintf(stderr, "bench-query: only %zu slow traces; timing those\n", n_timed);
  size_t n_warm_traces = n_pick - n_timed;
  long with_goroutines = 0, with_cpu = 0;
  for (size_t i = 0; i < n_timed; i++)
    with_goroutines += (cand[i].flags & 1) != 0, with_cpu += (cand[i].flags & 2) != 0;

  /* the server */
  qb_server srv = {0};
  const char *url = o.url;
  if (o.server) {
    char log_path[4200];
    snprintf(log_path, sizeof log_path, "%s/meanwhiled.log", dir);
    o.server_args[o.n_server_args] = NULL;
    double t0 = qb_mono_s();
    if (qb_server_start(&srv, o.server, o.server_args, dir, log_path, 120)) return 1;
    figure("server_start_s", "%.2f", qb_mono_s() - t0);
    url = srv.url;
  }
  fprintf(stderr, "bench-query: server at %s; %zu warm-up requests, then %zu traces x 3 endpoints\n", url,
          (size_t)o.warmup, n_timed);

  curl_global_init(CURL_GLOBAL_DEFAULT);
  qb_http *h = qb_http_new(url);
  double *lat[QB_NKINDS];
  size_t n_lat[QB_NKINDS] = {0}, errors[QB_NKINDS] = {0}, bytes[QB_NKINDS] = {0};
  for (int k = 0; k < QB_NKINDS; k++) lat[k] = calloc(n_timed + 1, sizeof(double));
  long ev[5] = {0}, ev_g[2][5] = {{0}};
  double *lat_g[2] = {calloc(n_timed + 1, sizeof(double)), calloc(n_timed + 1, sizeof(double))};
  size_t n_lat_g[2] = {0};
  if (!h) {
    fprintf(stderr, "bench-query: curl init failed\n");
    failed = 1;
    goto stop;
  }
  /* warm-up: read connections and caches, untimed, but checked */
  for (size_t i = 0; i < o.warmup; i++) {
    const qb_trace *t = &cand[n_warm_traces ? n_timed + (i / QB_NKINDS) % n_warm_traces : (i / QB_NKINDS) % n_timed];
    size_t b;
    if (qb_http_get(h, (enum qb_kind)(i % QB_NKINDS), t->id, &b, NULL) < 0) failed = 1;
  }
  /* timed: per trace all three endpoints, in an order that rotates through
   * the six permutations so that none always comes first (cold) or last */
  static const int perms[6][3] = {{0, 1, 2}, {1, 2, 0}, {2, 0, 1}, {0, 2, 1}, {2, 1, 0}, {1, 0, 2}};
  double t_q = qb_mono_s();
  for (size_t i = 0; i < n_timed; i++) {
    for (int p = 0; p < 3; p++) {
      enum qb_kind k = (enum qb_kind)perms[i % 6][p];
      size_t b = 0;
      int xt = (cand[i].flags & 4) != 0;
      double ms = qb_http_get(h, k, cand[i].id, &b, k == QB_EXPLAIN ? ev_g[xt] : NULL);
      if (ms < 0) {
        errors[k]++;
        continue;
      }
      if (k == QB_EXPLAIN) lat_g[xt][n_lat_g[xt]++] = ms;
      lat[k][n_lat[k]++] = ms;
      bytes[k] += b;
    }
    if ((i + 1) % 100 == 0)
      fprintf(stderr, "bench-query: %zu/%zu traces (%.1f s)\n", i + 1, n_timed, qb_mono_s() - t_q);
  }
  figure("traces", "%zu", n_timed);
  figure("traces_with_labelled_goroutines_pct", "%.1f", 100.0 * (double)with_goroutines / (double)n_timed);
  figure("traces_with_labelled_cpu_samples_pct", "%.1f", 100.0 * (double)with_cpu / (double)n_timed);
  double p99[QB_NKINDS] = {0};
  for (int k = 0; k < QB_NKINDS; k++) {
    char name[64];
    const char *kn = qb_kind_name((enum qb_kind)k);
    if (n_lat[k]) {
      double sum = 0;
      for (size_t i = 0; i < n_lat[k]; i++) sum += lat[k][i];
      double p50 = qb_percentile(lat[k], n_lat[k], 0.50);
      p99[k] = qb_percentile(lat[k], n_lat[k], 0.99);
      snprintf(name, sizeof name, "%s_p50_ms", kn);
      figure(name, "%.2f", p50);
      snprintf(name, sizeof name, "%s_p99_ms", kn);
      figure(name, "%.2f", p99[k]);
      snprintf(name, sizeof name, "%s_max_ms", kn);
      figure(name, "%.2f", lat[k][n_lat[k] - 1]);
      snprintf(name, sizeof name, "%s_mean_ms", kn);
      figure(name, "%.2f", sum / (double)n_lat[k]);
      snprintf(name, sizeof name, "%s_bytes_mean", kn);
      figure(name, "%zu", bytes[k] / n_lat[k]);
    }
    snprintf(name, sizeof name, "%s_errors", kn);
    figure(name, "%zu", errors[k]);
    if (errors[k] || n_lat[k] != n_timed) failed = 1;
  }
  if (p99[QB_TRACE] > 0) {
    figure("explain_over_trace_p99", "%.1f", p99[QB_EXPLAIN] / p99[QB_TRACE]);
    figure("timeline_over_trace_p99", "%.1f", p99[QB_TIMELINE] / p99[QB_TRACE]);
  }
  for (int k = 0; k < 5; k++) ev[k] = ev_g[0][k] + ev_g[1][k];
  if (n_covered) {
    double gp99[2] = {0};
    for (int xt = 0; xt < 2; xt++) {
      const char *g = xt ? "explain_xt" : "explain_noxt";
      char name[64];
      snprintf(name, sizeof name, "%s_traces", g);
      figure(name, "%zu", n_lat_g[xt]);
      if (!n_lat_g[xt]) continue;
      double p50 = qb_percentile(lat_g[xt], n_lat_g[xt], 0.50);
      gp99[xt] = qb_percentile(lat_g[xt], n_lat_g[xt], 0.99);
      snprintf(name, sizeof name, "%s_p50_ms", g);
      figure(name, "%.2f", p50);
      snprintf(name, sizeof name, "%s_p99_ms", g);
      figure(name, "%.2f", gp99[xt]);
      snprintf(name, sizeof name, "%s_max_ms", g);
      figure(name, "%.2f", lat_g[xt][n_lat_g[xt] - 1]);
    }
    if (gp99[0] > 0) figure("explain_xt_over_noxt_p99", "%.2f", gp99[1] / gp99[0]);
    if (ev_g[1][2]) figure("explain_xt_spans_trace_scope_pct", "%.1f", 100.0 * (double)ev_g[1][4] / (double)ev_g[1][2]);
    if (o.require_trace_scope && !ev_g[1][4]) {
      fprintf(stderr, "bench-query: FAILED: no span of a covered trace was explained from its execution trace\n");
      scope_failed = 1;
    }
    figure("xt_target_p99_ms", "%d", XT_TARGET_P99_MS);
    figure("xt_target_met", "%d", n_lat_g[1] && gp99[1] <= XT_TARGET_P99_MS);
  }
  if (ev[2]) {
    figure("explain_spans", "%ld", ev[2]);
    figure("explain_spans_goroutine_evidence_span_scope_pct", "%.1f", 100.0 * (double)ev[0] / (double)ev[2]);
    figure("explain_spans_goroutine_evidence_op_scope_pct", "%.1f", 100.0 * (double)ev[1] / (double)ev[2]);
    figure("explain_spans_cpu_evidence_pct", "%.1f", 100.0 * (double)ev[3] / (double)ev[2]);
  }
  figure("connections", "%ld", qb_http_connects(h));
  figure("target_p99_ms", "%d", TARGET_P99_MS);
  figure("target_met", "%d",
         n_lat[QB_TIMELINE] && n_lat[QB_EXPLAIN] && p99[QB_TIMELINE] <= TARGET_P99_MS &&
             p99[QB_EXPLAIN] <= TARGET_P99_MS);
  if (srv.pid > 0) {
    double hwm, rss = qb_proc_rss_mib(srv.pid, &hwm);
    if (rss >= 0) figure("server_rss_mib", "%.1f", rss), figure("server_hwm_mib", "%.1f", hwm);
  }
stop:
  qb_http_free(h);
  curl_global_cleanup();
  for (int k = 0; k < QB_NKINDS; k++) free(lat[k]);
  free(lat_g[0]);
  free(lat_g[1]);
  if (srv.pid > 0) {
    int rc = qb_server_stop(&srv);
    if (rc != 0) {
      fprintf(stderr, "bench-query: the server exited with status %d\n", rc);
      failed = 1;
    }
  }
  free(cand);
  if (temp_dir && !o.keep) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  else if (temp_dir) fprintf(stderr, "bench-query: kept %s\n", dir);
  figure("wall_s", "%.1f", qb_mono_s() - t_begin);
  if (failed) fprintf(stderr, "bench-query: FAILED: some request did not return a 200 with the expected JSON\n");
  return failed || scope_failed;
}
