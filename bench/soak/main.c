/* bench-soak: meanwhiled under a steady realistic load for half an hour,
 * watched for what only time shows: a WAL that grows, memory that creeps,
 * latency that rises with the data. See README.md.
 *
 * The server is started as a user gets it (fresh data dir, default flags).
 * Spans come from bench/ingest's corpus and paced sender (open loop: request k
 * is due at start + k * 100 / rate, whichever connection is free, and its
 * latency counts from then); runtime data and queries from load.c. Every
 * 100 ms the main thread looks at the size of meanwhile.db and its WAL; every
 * second at the server's VmRSS and CPU time and writes a CSV row; every
 * minute it prints a line; at the end it stops the server with SIGTERM, reads
 * its log and prints the summary as "soak.<name> value" lines, judging the
 * targets: WAL under 64 MiB at all times, RSS flat, no latency trend (p99 of
 * the last minutes over the first: a ratio within the same run), nothing
 * lost or refused, a clean stop and a quiet log.
 *
 * Exit status: 0 when every target is met, 1 when one is missed or the run
 * could not be made, 2 for bad flags. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <curl/curl.h>

#include "soak.h"

#ifndef MW_SOAK_INPUTS
#define MW_SOAK_INPUTS "tests/data/go1.19-checkout"
#endif

/* The targets (README.md says why these). */
static const double WAL_LIMIT_MIB = 64;
static const double RSS_TOLERANCE_MIB = 16; /* growth from minute 2 to the last */
static const double TREND_LIMIT = 2;        /* p99 of the last minutes / of the first */
/* Database bytes a span takes, runtime data included (551-569 measured in
 * 5-minute runs), for the disk check. */
static const double DB_BYTES_PER_SPAN = 570;

typedef struct options {
  const char *server, *data, *out, *inputs;
  char *server_args[32];
  int n_server_args;
  double minutes, rate, qps, interval;
  int conns, query_conns, runtime_conns, no_runtime, keep, smoke;
  uint64_t seed;
} options;

static _Atomic int g_cancel;       /* the run is cut short (a signal, the server died) */
static _Atomic int g_stop_sending; /* no span request starts any more (SK_GRACE_S) */
static int g_failed;               /* targets missed */

static void on_signal(int sig) {
  (void)sig;
  atomic_store(&g_cancel, 1);
}

static void figure(const char *name, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void figure(const char *name, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("soak.%s ", name);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  va_end(ap);
}

/* A target: printed as soak.<name>_met yes|no; a miss fails the run unless
 * only_reported (the smoke's few seconds say nothing about trends). */
static void target(const char *name, int met, int only_reported, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void target(const char *name, int met, int only_reported, const char *fmt, ...) {
  char key[96];
  snprintf(key, sizeof key, "%s_met", name);
  figure(key, "%s", only_reported ? "not_judged" : met ? "yes" : "no");
  if (!met && !only_reported) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "bench-soak: MISSED %s: ", name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    g_failed++;
  }
}

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-soak --server PATH [options]\n"
          "  --minutes N         length of the run (default 30)\n"
          "  --rate R            spans per second, open loop (default 10000)\n"
          "  --qps Q             queries per second (default 4)\n"
          "  --data DIR          the server's data dir: must be new or empty; kept (default: a\n"
          "                      temporary dir under $TMPDIR or /var/tmp, removed at the end)\n"
          "  --out PREFIX        write PREFIX.seconds.csv and PREFIX.minutes.csv\n"
          "  --server-arg ARG    one more server argument (repeat); the server always gets\n"
          "                      --listen 127.0.0.1:0 --data DIR\n"
          "  --conns N           span connections (default 64)\n"
          "  --query-conns N     query connections (default 4)\n"
          "  --runtime-conns N   runtime-data connections (default 2)\n"
          "  --runtime-inputs DIR  pprof files and dumps to send (default %s)\n"
          "  --no-runtime        send no runtime data\n"
          "  --interval S        seconds per report line (default 60: the targets speak of minutes)\n"
          "  --seed N            corpus and id seed (default: from the clock)\n"
          "  --keep              keep the temporary data dir\n"
          "  --smoke             12 s at 2,000 spans/s, 3 s a line; checks that it works (ctest)\n",
          MW_SOAK_INPUTS);
}

static int parse_args(int argc, char **argv, options *o) {
  enum {
    O_SERVER = 256,
    O_MINUTES,
    O_RATE,
    O_QPS,
    O_DATA,
    O_OUT,
    O_SERVER_ARG,
    O_CONNS,
    O_QCONNS,
    O_RCONNS,
    O_INPUTS,
    O_NO_RUNTIME,
    O_INTERVAL,
    O_SEED,
    O_KEEP,
    O_SMOKE,
    O_HELP
  };
  static const struct option longs[] = {{"server", 1, 0, O_SERVER},
                                        {"minutes", 1, 0, O_MINUTES},
                                        {"rate", 1, 0, O_RATE},
                                        {"qps", 1, 0, O_QPS},
                                        {"data", 1, 0, O_DATA},
                                        {"out", 1, 0, O_OUT},
                                        {"server-arg", 1, 0, O_SERVER_ARG},
                                        {"conns", 1, 0, O_CONNS},
                                        {"query-conns", 1, 0, O_QCONNS},
                                        {"runtime-conns", 1, 0, O_RCONNS},
                                        {"runtime-inputs", 1, 0, O_INPUTS},
                                        {"no-runtime", 0, 0, O_NO_RUNTIME},
                                        {"interval", 1, 0, O_INTERVAL},
                                        {"seed", 1, 0, O_SEED},
                                        {"keep", 0, 0, O_KEEP},
                                        {"smoke", 0, 0, O_SMOKE},
                                        {"help", 0, 0, O_HELP},
                                        {0, 0, 0, 0}};
  int opt, li = 0;
  while ((opt = getopt_long(argc, argv, "h", longs, &li)) != -1) {
    char *end = NULL;
    double v = optarg ? strtod(optarg, &end) : 0;
    int bad_num = optarg && (end == optarg || *end);
    int bad = 0;
    switch (opt) {
    case O_SERVER: o->server = optarg; break;
    case O_MINUTES:
      o->minutes = v;
      bad = bad_num || v <= 0;
      break;
    case O_RATE:
      o->rate = v;
      bad = bad_num || v <= 0;
      break;
    case O_QPS:
      o->qps = v;
      bad = bad_num || v < 0;
      break;
    case O_DATA: o->data = optarg; break;
    case O_OUT: o->out = optarg; break;
    case O_SERVER_ARG:
      bad = o->n_server_args >= 30;
      if (!bad) o->server_args[o->n_server_args++] = optarg;
      break;
    case O_CONNS:
      o->conns = (int)v;
      bad = bad_num || v < 1 || v > 128;
      break;
    case O_QCONNS:
      o->query_conns = (int)v;
      bad = bad_num || v < 1 || v > 64;
      break;
    case O_RCONNS:
      o->runtime_conns = (int)v;
      bad = bad_num || v < 1 || v > 64;
      break;
    case O_INPUTS: o->inputs = optarg; break;
    case O_NO_RUNTIME: o->no_runtime = 1; break;
    case O_INTERVAL:
      o->interval = v;
      bad = bad_num || v < 1;
      break;
    case O_SEED:
      o->seed = strtoull(optarg, &end, 0);
      bad = *end != 0;
      break;
    case O_KEEP: o->keep = 1; break;
    case O_SMOKE: o->smoke = 1; break;
    case 'h':
    case O_HELP: usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
    if (bad) {
      fprintf(stderr, "bench-soak: bad value for --%s: %s\n", longs[li].name, optarg);
      return -1;
    }
  }
  if (optind < argc || !o->server) {
    fprintf(stderr, "bench-soak: --server PATH is required\n");
    usage(stderr);
    return -1;
  }
  return 0;
}

/* ---- files and processes --------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : 0;
}

/* VmRSS of pid in KiB, or -1. */
static long rss_kib(pid_t pid) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  long v = -1;
  while (fgets(line, sizeof line, f))
    if (strncmp(line, "VmRSS:", 6) == 0) v = strtol(line + 6, NULL, 10);
  fclose(f);
  return v;
}

static double loadavg(void) {
  double v = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &v) != 1) v = -1;
    fclose(f);
  }
  return v;
}

/* Makes dir the server's fresh data dir: created, or existing and empty. */
static int fresh_dir(const char *dir) {
  if (mkdir(dir, 0755) == 0) return 0;
  if (errno != EEXIST) {
    fprintf(stderr, "bench-soak: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char db[4200];
  snprintf(db, sizeof db, "%s/meanwhile.db", dir);
  struct stat st;
  if (stat(db, &st) == 0) {
    fprintf(stderr, "bench-soak: %s already holds a database; the soak starts from a fresh data dir\n", dir);
    return -1;
  }
  return 0;
}

/* Is there room for the run? The estimate is for the spans; runtime data
 * adds a few percent. */
static int check_disk(const char *dir, double spans) {
  struct statvfs vfs;
  double need = spans * DB_BYTES_PER_SPAN * 1.2;
  if (statvfs(dir, &vfs) != 0) return 0;
  double avail = (double)vfs.f_bavail * (double)vfs.f_frsize;
  fprintf(stderr, "bench-soak: the database will take about %.1f GiB; %.1f GiB free in %s\n",
          spans * DB_BYTES_PER_SPAN / 1073741824.0, avail / 1073741824.0, dir);
  if (avail < need) {
    fprintf(stderr,
            "bench-soak: not enough disk for the run (want %.1f GiB with a margin): use --data on a bigger disk\n",
            need / 1073741824.0);
    return -1;
  }
  return 0;
}

/* Reads the server's log as tests/integration/lib/server.mjs does: a warn or
 * error line, a negative figure (x=-1) or a line that is not a log line is an
 * alarm. Prints the first few; returns how many, and whether the
 * msg="stopped" line is there. */
static int scan_log(const char *path, int *stopped) {
  FILE *f = fopen(path, "r");
  *stopped = 0;
  if (!f) return -1;
  char line[4096];
  int alarms = 0;
  while (fgets(line, sizeof line, f)) {
    if (strstr(line, "msg=\"stopped\"")) *stopped = 1;
    int bad = strstr(line, " level=warn ") || strstr(line, " level=error ") || !strstr(line, " level=");
    for (const char *p = line; !bad && (p = strchr(p, '=')); p++)
      bad = p[1] == '-' && p[2] >= '0' && p[2] <= '9' && p > line && p[-1] != ' ';
    if (!bad) continue;
    if (alarms++ < 10) fprintf(stderr, "bench-soak: server log: %s", line);
  }
  fclose(f);
  return alarms;
}

/* ---- the span sender --------------------------------------------------------- */

typedef struct ingest_run {
  bi_send_cfg cfg;
  bi_send_result result;
  double t0;
  int rc;
  _Atomic int done;
  pthread_t thread;
} ingest_run;

static void on_ingest(void *user, const bi_request_info *ri) {
  const ingest_run *r = user;
  int ok = ri->status == 200 && ri->rejected == 0;
  sk_outcome o = {.cls = SK_INGEST,
                  .kind = 0,
                  .due_s = ri->due_s - r->t0,
                  .start_s = ri->start_s - r->t0,
                  .end_s = ri->end_s - r->t0,
                  .ok = ok,
                  .spans_ok = ri->status == 200 ? ri->spans - (uint32_t)ri->rejected : 0,
                  .refusals = ri->retries};
  sk_record(&o);
  if (ok) sk_recent_add(ri->trace_k, ri->n_traces);
  else
    sk_rec_note_error(SK_INGEST, "at %.1f s: HTTP %ld, %lld spans rejected", o.start_s, ri->status,
                      (long long)ri->rejected);
}

static void on_ingest_send(void *user, const bi_request_info *ri) {
  const ingest_run *r = user;
  sk_record_sent(ri->start_s - r->t0, ri->spans);
}

static void *ingest_main(void *arg) {
  ingest_run *r = arg;
  r->rc = bi_send_run(&r->cfg, &r->result);
  atomic_store(&r->done, 1);
  return NULL;
}

/* ---- the report ---------------------------------------------------------------- */

typedef struct minute {
  sk_second c;
  sk_lat ingest, query, runtime;
  double wal_max_mib, db_mib, rss_mib, server_cpu_pct, driver_cpu_pct, loadavg;
} minute;

static FILE *g_sec_csv, *g_min_csv;

static double mib(int64_t b) { return (double)b / 1048576.0; }

static void print_minute(int m, const minute *x, int partial) {
  if (m == 0)
    printf("# min  spans sent/acked      ingest p50/p99/max ms   query p50/p99/max ms      wal_max   db MiB  "
           "rss MiB  cpu%%  late  err  refused  load\n");
  char sa[40], il[40], ql[40];
  snprintf(sa, sizeof sa, "%llu/%llu", (unsigned long long)x->c.spans_sent, (unsigned long long)x->c.spans_acked);
  snprintf(il, sizeof il, "%.1f/%.1f/%.0f", x->ingest.p50, x->ingest.p99, x->ingest.max);
  snprintf(ql, sizeof ql, "%.1f/%.1f/%.0f", x->query.p50, x->query.p99, x->query.max);
  uint32_t late = 0, err = 0;
  for (int c = 0; c < SK_NCLASSES; c++) late += x->c.late[c], err += x->c.errors[c];
  printf("%5d%s %-21s %-23s %-25s %7.1f %8.0f %8.1f %5.0f %5u %4u %8u %5.2f\n", m + 1, partial ? "*" : " ", sa, il, ql,
         x->wal_max_mib, x->db_mib, x->rss_mib, x->server_cpu_pct, late, err, x->c.refusals, x->loadavg);
  fflush(stdout);
  if (g_min_csv) {
    fprintf(g_min_csv,
            "%d,%llu,%llu,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.3f,%.2f,%.2f,%.2f,%.1f,%.1f,%u,%u,%u,%u,%u,%.2f,%d\n",
            m + 1, (unsigned long long)x->c.spans_sent, (unsigned long long)x->c.spans_acked, x->ingest.p50,
            x->ingest.p99, x->ingest.max, x->query.p50, x->query.p99, x->query.max, x->runtime.p99, x->runtime.max,
            x->wal_max_mib, x->db_mib, x->rss_mib, x->server_cpu_pct, x->driver_cpu_pct, x->c.late[SK_INGEST],
            x->c.late[SK_QUERY] + x->c.late[SK_RUNTIME], err, x->c.refusals, x->c.req[SK_QUERY], x->loadavg, partial);
    fflush(g_min_csv);
  }
}

static FILE *open_csv(const char *prefix, const char *suffix, const char *header) {
  char path[4200];
  snprintf(path, sizeof path, "%s.%s.csv", prefix, suffix);
  FILE *f = fopen(path, "w");
  if (!f) {
    fprintf(stderr, "bench-soak: %s: %s\n", path, strerror(errno));
    return NULL;
  }
  fprintf(f, "%s\n", header);
  return f;
}

/* Least-squares slope of y over x. */
static double slope(const double *x, const double *y, int n) {
  if (n < 2) return 0;
  double mx = 0, my = 0, sxx = 0, sxy = 0;
  for (int i = 0; i < n; i++) mx += x[i], my += y[i];
  mx /= n, my /= n;
  for (int i = 0; i < n; i++) sxx += (x[i] - mx) * (x[i] - mx), sxy += (x[i] - mx) * (y[i] - my);
  return sxx > 0 ? sxy / sxx : 0;
}

/* ---- the watch: files and the process every tick, a row a second, a line an
 * interval ---------------------------------------------------------------------- */

typedef struct watch {
  const mwb_server *srv;
  const char *db_path, *wal_path;
  double interval;
  int n_sec, n_minutes;
  int next_sec, next_min;
  int64_t wal, db, wal_max_sec, wal_max_min, wal_max_all;
  long rss;
  double cpu_prev, self_prev, cpu_min0, self_min0, cpu_first, self_first;
  double t_row, t_min0; /* when the last row was taken, and the row that ended the last line */
  double *rss_min;      /* RSS at the end of each interval */
  minute *mins;
} watch;

static void watch_begin(watch *w) {
  w->cpu_prev = w->cpu_min0 = w->cpu_first = bi_proc_cpu_s(w->srv->pid);
  w->self_prev = w->self_min0 = w->self_first = bi_self_cpu_s();
  w->rss = rss_kib(w->srv->pid);
}

/* The report line of interval next_min, up to the seconds rowed so far. */
static void watch_minute(watch *w, int partial) {
  int m = w->next_min;
  double a = m * w->interval;
  int last = m == w->n_minutes - 1 || partial;
  double b = last ? INFINITY : (m + 1) * w->interval; /* the last takes the stragglers */
  minute *x = &w->mins[m];
  x->c = sk_rec_seconds((int)lround(a), last ? w->n_sec : w->next_sec);
  x->ingest = sk_rec_latency(SK_INGEST, -1, a, b);
  x->query = sk_rec_latency(SK_QUERY, -1, a, b);
  x->runtime = sk_rec_latency(SK_RUNTIME, -1, a, b);
  x->wal_max_mib = mib(w->wal_max_min > w->wal_max_sec ? w->wal_max_min : w->wal_max_sec);
  x->db_mib = mib(w->db);
  x->rss_mib = (double)w->rss / 1024.0;
  x->loadavg = loadavg();               /* the machine's other work: latencies depend on it */
  double span_s = w->t_row - w->t_min0; /* the last line's may be longer than an interval */
  if (span_s <= 0) span_s = 1;
  x->server_cpu_pct = 100 * (w->cpu_prev - w->cpu_min0) / span_s;
  x->driver_cpu_pct = 100 * (w->self_prev - w->self_min0) / span_s;
  w->cpu_min0 = w->cpu_prev;
  w->self_min0 = w->self_prev;
  w->t_min0 = w->t_row;
  w->rss_min[m] = x->rss_mib;
  print_minute(m, x, partial);
  w->wal_max_min = 0;
  w->next_min++;
}

/* One tick at t seconds into the run. all_done: every request has ended, so
 * the last second's row may be written. */
static void watch_tick(watch *w, double t, int all_done) {
  w->wal = file_size(w->wal_path);
  w->db = file_size(w->db_path);
  if (w->wal > w->wal_max_sec) w->wal_max_sec = w->wal;
  while (w->next_sec < w->n_sec && (w->next_sec < w->n_sec - 1 ? t >= w->next_sec + 1 : all_done)) {
    long r = rss_kib(w->srv->pid);
    if (r >= 0) w->rss = r;
    double cpu = bi_proc_cpu_s(w->srv->pid), self = bi_self_cpu_s();
    if (cpu < 0) cpu = w->cpu_prev; /* the server is gone */
    if (w->wal_max_sec > w->wal_max_min) w->wal_max_min = w->wal_max_sec;
    if (w->wal_max_sec > w->wal_max_all) w->wal_max_all = w->wal_max_sec;
    sk_second s = sk_rec_seconds(w->next_sec, w->next_sec + 1);
    if (g_sec_csv)
      fprintf(g_sec_csv, "%d,%llu,%llu,%u,%.3f,%u,%.3f,%u,%.3f,%u,%u,%u,%lld,%lld,%lld,%ld,%.1f,%.1f\n",
              w->next_sec + 1, (unsigned long long)s.spans_sent, (unsigned long long)s.spans_acked, s.req[SK_INGEST],
              s.max_ms[SK_INGEST], s.req[SK_QUERY], s.max_ms[SK_QUERY], s.req[SK_RUNTIME], s.max_ms[SK_RUNTIME],
              s.errors[0] + s.errors[1] + s.errors[2], s.refusals, s.late[0] + s.late[1] + s.late[2],
              (long long)w->wal_max_sec, (long long)w->wal, (long long)w->db, w->rss, 100 * (cpu - w->cpu_prev),
              100 * (self - w->self_prev));
    w->cpu_prev = cpu;
    w->self_prev = self;
    w->t_row = t;
    w->wal_max_sec = w->wal;
    w->next_sec++;
    int m_end = (int)lround((w->next_min + 1) * w->interval);
    if (w->next_min < w->n_minutes && (w->next_sec >= m_end || w->next_sec == w->n_sec)) watch_minute(w, 0);
  }
  if (g_sec_csv) fflush(g_sec_csv);
}

/* soak.<class>_<kind>_{n,p50_ms,p99_ms,max_ms,errors} over the whole run. */
static void kind_figures(int cls, int kind, const char *name) {
  sk_lat q = sk_rec_latency(cls, kind, 0, INFINITY);
  char key[96];
  const char *c = sk_class_name(cls);
  snprintf(key, sizeof key, "%s_%s_n", c, name);
  figure(key, "%zu", q.n);
  snprintf(key, sizeof key, "%s_%s_p50_ms", c, name);
  figure(key, "%.2f", q.p50);
  snprintf(key, sizeof key, "%s_%s_p99_ms", c, name);
  figure(key, "%.2f", q.p99);
  snprintf(key, sizeof key, "%s_%s_max_ms", c, name);
  figure(key, "%.1f", q.max);
  snprintf(key, sizeof key, "%s_%s_errors", c, name);
  figure(key, "%llu", (unsigned long long)sk_rec_kind_errors(cls, kind));
}

/* What the run came to, besides the records and the watch. */
typedef struct run_end {
  double t_end; /* seconds the run took, stragglers included */
  int cancelled;
  int exit_status, stopped, alarms; /* the server's stop and its log */
  double stop_s, server_cpu_s, driver_cpu_s;
  int64_t db_end, wal_end, wal_max;
  const char *log_path;
} run_end;

/* The summary lines and the targets; g_failed counts the misses. */
static void report(const options *o, double seconds, const watch *w, const run_end *e) {
  sk_second all = sk_rec_seconds(0, (int)ceil(seconds));
  int smoke = o->smoke;
  figure("seconds_run", "%.1f", e->t_end);
  /* request k is due at k * 100 / rate: those due before the end */
  uint64_t offered = (uint64_t)ceil(seconds * o->rate / 100) * 100;
  figure("spans_offered", "%llu", (unsigned long long)offered);
  figure("spans_sent", "%llu", (unsigned long long)all.spans_sent);
  figure("spans_acked", "%llu", (unsigned long long)all.spans_acked);
  figure("spans_per_s", "%.0f", (double)all.spans_acked / (e->t_end < seconds ? e->t_end : seconds));
  figure("ingest_requests", "%u", all.req[SK_INGEST]);
  figure("ingest_errors", "%u", all.errors[SK_INGEST]);
  figure("ingest_refusals", "%u", all.refusals);
  figure("ingest_late", "%u", all.late[SK_INGEST]);
  figure("ingest_late_max_ms", "%.1f", sk_rec_late_max_ms(SK_INGEST));
  sk_lat li = sk_rec_latency(SK_INGEST, -1, 0, INFINITY);
  figure("ingest_p50_ms", "%.2f", li.p50);
  figure("ingest_p99_ms", "%.2f", li.p99);
  figure("ingest_max_ms", "%.1f", li.max);
  figure("query_requests", "%u", all.req[SK_QUERY]);
  figure("query_errors", "%u", all.errors[SK_QUERY]);
  figure("query_late", "%u", all.late[SK_QUERY]);
  for (int k = 0; k < SQ_NKINDS; k++) kind_figures(SK_QUERY, k, sk_query_name(k));
  figure("runtime_requests", "%u", all.req[SK_RUNTIME]);
  figure("runtime_errors", "%u", all.errors[SK_RUNTIME]);
  figure("runtime_late", "%u", all.late[SK_RUNTIME]);
  for (int k = 0; k < SR_NKINDS; k++) kind_figures(SK_RUNTIME, k, sk_runtime_name(k));
  for (int c = 0; c < SK_NCLASSES; c++)
    if (sk_rec_first_error(c)[0])
      fprintf(stderr, "bench-soak: first %s error: %s\n", sk_class_name(c), sk_rec_first_error(c));

  figure("wal_max_mib", "%.1f", mib(e->wal_max));
  figure("wal_end_mib", "%.1f", mib(e->wal_end));
  figure("db_end_mib", "%.0f", mib(e->db_end));
  if (all.spans_acked) figure("db_bytes_per_span", "%.0f", (double)(e->db_end + e->wal_end) / (double)all.spans_acked);
  if (w->next_min >= 2) {
    double per_min = (w->mins[w->next_min - 1].db_mib - w->mins[0].db_mib) / (w->next_min - 1);
    figure("db_growth_mib_per_interval", "%.0f", per_min);
  }
  /* RSS: minute 2 (the caches have filled) against the last; the slope over
   * those minutes, per 10 of them */
  int r0 = w->next_min >= 3 ? 1 : 0;
  double rss_first = w->next_min ? w->rss_min[r0] : 0, rss_last = w->next_min ? w->rss_min[w->next_min - 1] : 0;
  double xs[4096], slope10 = 0;
  int np = 0;
  for (int m = r0; m < w->next_min && np < 4096; m++, np++) xs[np] = m;
  slope10 = 10 * slope(xs, w->rss_min + r0, np);
  figure("rss_mib_minute2", "%.1f", rss_first);
  figure("rss_mib_last", "%.1f", rss_last);
  figure("rss_growth_mib", "%.1f", rss_last - rss_first);
  figure("rss_slope_mib_per_10min", "%.2f", slope10);
  /* latency trend: the first W minutes against the last W */
  int win = w->next_min / 2 < 5 ? w->next_min / 2 : 5;
  if (win < 1) win = 1;
  double f0 = 0, f1 = win * o->interval, l0 = (w->next_min - win) * o->interval;
  sk_lat i_first = sk_rec_latency(SK_INGEST, -1, f0, f1), i_last = sk_rec_latency(SK_INGEST, -1, l0, INFINITY);
  sk_lat q_first = sk_rec_latency(SK_QUERY, -1, f0, f1), q_last = sk_rec_latency(SK_QUERY, -1, l0, INFINITY);
  double i_ratio = i_first.p99 > 0 ? i_last.p99 / i_first.p99 : 0;
  double q_ratio = q_first.p99 > 0 ? q_last.p99 / q_first.p99 : 0;
  figure("trend_window_minutes", "%d", win);
  figure("ingest_p99_first_ms", "%.2f", i_first.p99);
  figure("ingest_p99_last_ms", "%.2f", i_last.p99);
  figure("ingest_p99_trend_ratio", "%.2f", i_ratio);
  figure("query_p99_first_ms", "%.2f", q_first.p99);
  figure("query_p99_last_ms", "%.2f", q_last.p99);
  figure("query_p99_trend_ratio", "%.2f", q_ratio);
  figure("server_cpu_pct", "%.1f", 100 * e->server_cpu_s / e->t_end);
  figure("driver_cpu_s", "%.1f", e->driver_cpu_s);
  figure("driver_cpu_pct", "%.1f", 100 * e->driver_cpu_s / e->t_end);
  figure("server_exit_status", "%d", e->exit_status);
  figure("server_stop_s", "%.2f", e->stop_s);
  figure("server_log_alarms", "%d", e->alarms);
  figure("server_log_stopped", "%s", e->stopped ? "yes" : "no");
  figure("loadavg_1m_end", "%.2f", loadavg());

  /* ---- the targets ---- */
  target("wal", e->wal_max < WAL_LIMIT_MIB * 1048576, 0, "the WAL reached %.1f MiB (limit %.0f)", mib(e->wal_max),
         WAL_LIMIT_MIB);
  target("rss_flat", rss_last - rss_first <= RSS_TOLERANCE_MIB, smoke,
         "RSS grew %.1f MiB from minute %d to the last (tolerance %.0f; slope %.2f MiB/10 min)", rss_last - rss_first,
         r0 + 1, RSS_TOLERANCE_MIB, slope10);
  target("ingest_trend", i_ratio <= TREND_LIMIT && i_first.n && i_last.n, smoke,
         "ingest p99 went from %.2f to %.2f ms (ratio %.2f, limit %.1f)", i_first.p99, i_last.p99, i_ratio,
         TREND_LIMIT);
  target("query_trend", (o->qps == 0 || (q_ratio <= TREND_LIMIT && q_first.n && q_last.n)), smoke,
         "query p99 went from %.2f to %.2f ms (ratio %.2f, limit %.1f)", q_first.p99, q_last.p99, q_ratio, TREND_LIMIT);
  target("nothing_lost", all.spans_acked == all.spans_sent && all.spans_sent > 0 && !all.errors[SK_INGEST], 0,
         "%llu of %llu spans acknowledged, %u ingest errors", (unsigned long long)all.spans_acked,
         (unsigned long long)all.spans_sent, all.errors[SK_INGEST]);
  target("kept_up", all.spans_sent >= offered, e->cancelled,
         "%llu of the %llu spans due were sent by %.0f s after the end: the server fell behind (or the "
         "connections were too few: see ingest_late)",
         (unsigned long long)all.spans_sent, (unsigned long long)offered, SK_GRACE_S);
  target("no_refusals", all.refusals == 0, 0, "%u ingest requests were refused (429/503) and retried", all.refusals);
  target("queries_answered",
         all.errors[SK_QUERY] == 0 && all.errors[SK_RUNTIME] == 0 && (o->qps == 0 || all.req[SK_QUERY] > 0), 0,
         "%u query and %u runtime-data requests failed", all.errors[SK_QUERY], all.errors[SK_RUNTIME]);
  target("clean_stop", e->exit_status == 0 && e->stopped && e->alarms == 0, 0,
         "exit status %d after SIGTERM, stopped line %s, %d alarming log lines (%s)", e->exit_status,
         e->stopped ? "present" : "missing", e->alarms, e->log_path);
  if (e->cancelled) {
    fprintf(stderr, "bench-soak: the run was cut short at %.0f s\n", e->t_end);
    g_failed++;
  }
}

/* ---- the run ------------------------------------------------------------------- */

/* Creates the server's data dir (fresh) in data, or a temporary one. */
static int make_data_dir(const options *o, char *data, size_t datasz, int *is_temp) {
  *is_temp = 0;
  if (o->data) {
    snprintf(data, datasz, "%s", o->data);
    return fresh_dir(data);
  }
  const char *tmp = getenv("TMPDIR");
  snprintf(data, datasz, "%s/mw-soak-XXXXXX", tmp && *tmp ? tmp : "/var/tmp");
  if (!mkdtemp(data)) {
    fprintf(stderr, "bench-soak: mkdtemp %s: %s\n", data, strerror(errno));
    return -1;
  }
  *is_temp = 1;
  return 0;
}

/* The whole run on the data dir: server, load, watch, report. Returns 0 when
 * the run was made (whatever the targets say), -1 when it could not be. */
static int run(const options *o, const char *data) {
  const double seconds = o->minutes * o->interval;
  const int n_minutes = (int)ceil(o->minutes);
  char log_path[4300], db_path[4300], wal_path[4300];
  snprintf(log_path, sizeof log_path, "%s/meanwhiled.log", data);
  snprintf(db_path, sizeof db_path, "%s/meanwhile.db", data);
  snprintf(wal_path, sizeof wal_path, "%s/meanwhile.db-wal", data);
  int rc = -1;
  bi_corpus corpus = {0};
  mwb_server srv = {0};
  watch wt = {0};
  sk_load *load = NULL;
  if (check_disk(data, o->rate * seconds) != 0) goto out;
  if (o->out) {
    g_sec_csv = open_csv(o->out, "seconds",
                         "t_s,spans_sent,spans_acked,ingest_requests,ingest_max_ms,query_requests,query_max_ms,"
                         "runtime_requests,runtime_max_ms,errors,refusals,late,wal_max_bytes,wal_bytes,db_bytes,"
                         "rss_kib,server_cpu_pct,driver_cpu_pct");
    g_min_csv =
        open_csv(o->out, "minutes",
                 "minute,spans_sent,spans_acked,ingest_p50_ms,ingest_p99_ms,ingest_max_ms,query_p50_ms,"
                 "query_p99_ms,query_max_ms,runtime_p99_ms,runtime_max_ms,wal_max_mib,db_mib,rss_mib,"
                 "server_cpu_pct,driver_cpu_pct,ingest_late,other_late,errors,refusals,queries,loadavg_1m,partial");
    if (!g_sec_csv || !g_min_csv) goto out;
  }
  double tc = bi_mono_s();
  if (bi_corpus_build(&corpus, 256, 100, 10, o->seed) != 0) goto out;
  fprintf(stderr, "bench-soak: corpus of 256 batches x 100 spans (%zu sources), %.1f KiB a batch, built in %.2f s\n",
          corpus.n_sources, (double)corpus.bytes / 256 / 1024, bi_mono_s() - tc);
  bi_ids ids;
  bi_ids_init(&ids, o->seed ^ 0x50a4ULL);

  sk_load_cfg lc = {.corpus = &corpus,
                    .ids = &ids,
                    .inputs_dir = o->inputs,
                    .seconds = seconds,
                    .qps = o->qps,
                    .query_conns = o->query_conns,
                    .runtime_conns = o->runtime_conns,
                    .no_runtime = o->no_runtime,
                    .cancel = &g_cancel,
                    .seed = o->seed};
  load = sk_load_new(&lc);
  if (!load) goto out;

  char *argv_s[40];
  int na = 0;
  argv_s[na++] = (char *)o->server;
  argv_s[na++] = "--listen";
  argv_s[na++] = "127.0.0.1:0";
  argv_s[na++] = "--data";
  argv_s[na++] = (char *)data;
  for (int i = 0; i < o->n_server_args; i++) argv_s[na++] = o->server_args[i];
  argv_s[na] = NULL;
  if (mwb_server_start(&srv, "bench-soak", argv_s, log_path, 20) != 0) goto out;
  fprintf(stderr, "bench-soak: meanwhiled pid %d at %s, data in %s\n", (int)srv.pid, srv.url, data);
  if (sk_rec_init(seconds) != 0) goto out;
  wt = (watch){.srv = &srv,
               .db_path = db_path,
               .wal_path = wal_path,
               .interval = o->interval,
               .n_sec = (int)ceil(seconds),
               .n_minutes = n_minutes};
  wt.rss_min = calloc((size_t)n_minutes + 1, sizeof *wt.rss_min);
  wt.mins = calloc((size_t)n_minutes + 1, sizeof *wt.mins);
  if (!wt.rss_min || !wt.mins) goto out;
  figure("minutes", "%g", o->minutes);
  figure("interval_s", "%g", o->interval);
  figure("rate_spans_per_s", "%g", o->rate);
  figure("qps", "%g", o->qps);
  figure("loadavg_1m_start", "%.2f", loadavg());

  ingest_run ing = {.cfg = {.url = srv.url,
                            .conns = o->conns,
                            .seconds = seconds,
                            .rate = o->rate,
                            .corpus = &corpus,
                            .ids = &ids,
                            .keep_going = 1,
                            .on_send = on_ingest_send,
                            .on_request = on_ingest,
                            .cancel = &g_stop_sending}};
  ing.cfg.user = &ing;
  const double t0 = bi_mono_s();
  ing.t0 = t0;
  if (pthread_create(&ing.thread, NULL, ingest_main, &ing) != 0) goto out;
  if (sk_load_start(load, srv.url, t0) != 0) {
    atomic_store(&g_cancel, 1);
    atomic_store(&g_stop_sending, 1);
    pthread_join(ing.thread, NULL);
    goto out;
  }
  char desc[600];
  sk_load_describe(load, desc, sizeof desc);
  fprintf(stderr, "bench-soak: %g spans/s over %d connections; %s; %g x %g s\n", o->rate, o->conns, desc, o->minutes,
          o->interval);

  /* The watch: 100 ms ticks until the schedules are over and every answer is
   * in (the last second and line wait for those), or the run is cut short. */
  watch_begin(&wt);
  run_end e = {.exit_status = -1, .log_path = log_path};
  for (;;) {
    double t = bi_mono_s() - t0;
    if (t >= seconds + SK_GRACE_S || atomic_load(&g_cancel)) atomic_store(&g_stop_sending, 1);
    int all_done = atomic_load(&ing.done) && sk_load_done(load);
    watch_tick(&wt, t, all_done);
    int status;
    if (srv.pid > 0 && waitpid(srv.pid, &status, WNOHANG) == srv.pid) {
      fprintf(stderr, "bench-soak: the server died at %.1f s (status 0x%x)\n", t, status);
      srv.pid = 0;
      atomic_store(&g_cancel, 1);
    }
    if (all_done && (wt.next_sec >= wt.n_sec || atomic_load(&g_cancel))) break;
    mwb_sleep_ms(100);
  }
  pthread_join(ing.thread, NULL);
  sk_load_join(load);
  load = NULL;
  e.t_end = bi_mono_s() - t0;
  e.cancelled = atomic_load(&g_cancel);
  if (wt.next_min < n_minutes && wt.next_sec > (int)lround(wt.next_min * o->interval))
    watch_minute(&wt, 1); /* what there is of the interval the run was cut short in */
  e.server_cpu_s = wt.cpu_prev - wt.cpu_first;
  e.driver_cpu_s = bi_self_cpu_s() - wt.self_first;
  e.wal_max = wt.wal_max_all > wt.wal_max_sec ? wt.wal_max_all : wt.wal_max_sec;
  if (srv.pid > 0) e.exit_status = mwb_server_stop(&srv, "bench-soak", &e.stop_s);
  e.alarms = scan_log(log_path, &e.stopped);
  e.db_end = file_size(db_path);
  e.wal_end = file_size(wal_path);
  report(o, seconds, &wt, &e);
  if (g_sec_csv) fprintf(stderr, "bench-soak: wrote %s.seconds.csv and %s.minutes.csv\n", o->out, o->out);
  rc = 0;
out:
  sk_load_join(load); /* after a failed start: joins what started */
  if (srv.pid > 0) mwb_server_stop(&srv, "bench-soak", NULL);
  free(wt.rss_min);
  free(wt.mins);
  sk_rec_free();
  bi_corpus_free(&corpus);
  if (g_sec_csv) fclose(g_sec_csv);
  if (g_min_csv) fclose(g_min_csv);
  return rc;
}

int main(int argc, char **argv) {
  options o = {.minutes = 30,
               .rate = 10000,
               .qps = 4,
               .interval = 60,
               .conns = 64,
               .query_conns = 4,
               .runtime_conns = 2,
               .inputs = MW_SOAK_INPUTS};
  o.seed = (uint64_t)bi_now_ns() ^ ((uint64_t)getpid() << 32);
  if (parse_args(argc, argv, &o) != 0) return 2;
  if (o.smoke) {
    o.minutes = 4;
    o.interval = 3;
    o.rate = 2000;
  }
  char data[4096];
  int data_is_temp;
  if (make_data_dir(&o, data, sizeof data, &data_is_temp) != 0) return 1;
  struct sigaction sa = {.sa_handler = on_signal};
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);
  curl_global_init(CURL_GLOBAL_DEFAULT);
  int made = run(&o, data);
  curl_global_cleanup();
  if (data_is_temp && !o.keep) rm_tree(data);
  else fprintf(stderr, "bench-soak: data dir kept: %s\n", data);
  int rc = made == 0 && g_failed == 0 ? 0 : 1;
  if (made == 0) figure("result", "%s", rc == 0 ? "ok" : "FAILED");
  return rc;
}
