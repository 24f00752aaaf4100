/* bench-sourcepage: how long the source page's data takes for 7 days of one
 * busy source (issue 15: "the source page's data for 7 days of one busy
 * source <= 200 ms").
 *
 * The database is written here with the server's own schema (the migration
 * files, in order, as mw__store_open applies them) up to migration 6, so
 * that meanwhiled, opening it, runs migration 7 and makes the per-minute
 * rollups from the rows (the backfill of an existing database; its time is
 * read from the server's log and printed). One source over D days (default
 * 7) ending a minute ago: a GC cycle every second (gctrace figures that vary
 * smoothly, GOMAXPROCS 8), a goroutine profile every second with G stack
 * groups (default 40; one of them grows by 10 an hour, a leak), a heap
 * profile a minute whose payload is a real gzip'd pprof heap profile (tests/
 * data), a 10 s CPU profile every 10 s (rows only: the page reads none of
 * its samples), an early-warning event an hour. The data dir is cached
 * under the build dir by its parameters (--regen makes it anew).
 *
 * Then meanwhiled runs on it and the page's requests are timed, each round
 * all of them at once in parallel as the page makes them (curl multi):
 *   series   /series for the D days at 600 points
 *   events   /events for the D days
 *   growth   /goroutines/growth for the D days
 *   heap     /heap/growth, the first half's last heap profile against the last
 *   sources  /api/v1/sources
 * "cold" is the first round after the server started (its SQLite cache
 * empty; the OS's page cache is whatever it is), "warm" the rounds after
 * (p50 and p99, nearest rank). The baseline, in the same run: a plain
 * SQLite read (this process, its own connection) of the rows the page's
 * GC and goroutine lanes sum, the D days' gc_cycles and the goroutine
 * snapshots' (at_ns, total) — what any answer from the raw rows must pay;
 * the page's figures are printed as ratios to it.
 *
 * Usage: bench-sourcepage --server PATH [--days D] [--groups G] [--rounds R]
 * [--db-dir DIR] [--regen] [--keep] [--smoke]. Exit 0 when every request
 * got a 200; 1 otherwise. Speed is never asserted. */
#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <zstd.h>

#include "core/bmap.h" /* mw__hash: stacks.hash is the server's hash of the frames */
#include "mwb_server.h"

#ifndef MW_SCHEMA_DIR
#define MW_SCHEMA_DIR "schema/sql"
#endif
#ifndef MW_SP_CACHE_DIR
#define MW_SP_CACHE_DIR "bench-sourcepage-cache"
#endif
#ifndef MW_TEST_DATA
#define MW_TEST_DATA "tests/data"
#endif

#define S ((int64_t)1000000000)
enum { MIGRATIONS = 6, N_REQ = 5 };

typedef struct opts {
  const char *server, *db_dir;
  double days;
  int groups, rounds, regen, keep, smoke;
} opts;

static int fail(const char *what, const char *a) {
  fprintf(stderr, "bench-sourcepage: %s %s\n", what, a);
  return -1;
}

static char *slurp(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  char *b = malloc((size_t)n + 1);
  if (b && fread(b, 1, (size_t)n, f) != (size_t)n) free(b), b = NULL;
  fclose(f);
  if (b) b[n] = 0, *len = (size_t)n;
  return b;
}

static int cmp_name(const void *x, const void *y) { return strcmp(*(char *const *)x, *(char *const *)y); }

/* The first MIGRATIONS migration files, each in its own transaction with the pragmas, as the server does. */
static int migrate(sqlite3 *db) {
  DIR *d = opendir(MW_SCHEMA_DIR);
  if (!d) return fail("cannot open", MW_SCHEMA_DIR);
  char *names[64];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 64)
    if (strlen(e->d_name) > 4 && !strcmp(e->d_name + strlen(e->d_name) - 4, ".sql")) names[n++] = strdup(e->d_name);
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_name);
  int rc = 0;
  for (int i = 0; i < n; i++) {
    if (i < MIGRATIONS && !rc) {
      char path[4096], marks[128];
      snprintf(path, sizeof path, "%s/%s", MW_SCHEMA_DIR, names[i]);
      size_t len;
      char *sql = slurp(path, &len);
      snprintf(marks, sizeof marks, "PRAGMA application_id=%d; PRAGMA user_version=%d;", 0x4D57484C, i + 1);
      if (!sql || sqlite3_exec(db, "BEGIN", 0, 0, 0) || sqlite3_exec(db, sql, 0, 0, 0) ||
          sqlite3_exec(db, marks, 0, 0, 0) || sqlite3_exec(db, "COMMIT", 0, 0, 0))
        rc = fail("a migration failed:", names[i]);
      free(sql);
    }
    free(names[i]);
  }
  return rc;
}

/* The stack of group g: 6 frames of an application, leaf first. */
static void frames_of(int g, char *out, size_t cap) {
  size_t n = 0;
  n += (size_t)snprintf(out + n, cap - n, "%s\truntime/proc.go:435\n",
                        g % 3 ? "runtime.gopark" : "runtime.netpollblock");
  for (int k = 0; k < 5 && n < cap; k++)
    n += (size_t)snprintf(out + n, cap - n, "example.com/shop/pkg%d.(*S).Step%d\texample.com/shop/pkg%d/s.go:%d\n", g,
                          k, g, 10 + k);
}

static double now_s(void) { return mwb_mono_s(); }

/* Writes the data set into dir/meanwhile.db. */
static int generate(const opts *o, const char *dir, int64_t end_ns) {
  char path[4200];
  snprintf(path, sizeof path, "%s/meanwhile.db", dir);
  unlink(path);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) return fail("cannot create", path);
  sqlite3_exec(db, "PRAGMA page_size=4096; PRAGMA auto_vacuum=INCREMENTAL", 0, 0, 0);
  if (migrate(db)) return -1;
  sqlite3_exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144", 0, 0, 0);
  double t0 = now_s();
  int64_t span = (int64_t)(o->days * 86400) * S, start = end_ns - span;
  /* indexes go during the load and come back after, as the server made them */
  static const char *const idx[][2] = {
      {"goroutine_groups_by_snapshot", "CREATE INDEX goroutine_groups_by_snapshot ON goroutine_groups (snapshot_id)"},
      {"snapshots_by_source", "CREATE INDEX snapshots_by_source ON snapshots (source_id, at_ns)"},
  };
  sqlite3_exec(db, "DROP INDEX goroutine_groups_by_snapshot; DROP INDEX snapshots_by_source; BEGIN", 0, 0, 0);
  char sql[512];
  snprintf(sql, sizeof sql,
           "INSERT INTO sources (id, service, instance, host, pid, first_ns, last_ns) VALUES (1, 'shop', 'busy-1', "
           "'h1', 4242, %lld, %lld)",
           (long long)start, (long long)end_ns);
  sqlite3_exec(db, sql, 0, 0, 0);
  sqlite3_stmt *stk, *gc, *snap, *grp, *ev;
  sqlite3_prepare_v2(db, "INSERT INTO stacks (id, hash, frames) VALUES (?1, ?2, ?3)", -1, &stk, 0);
  sqlite3_prepare_v2(db,
                     "INSERT INTO gc_cycles VALUES (1, ?1, ?2, ?3, ?4, ?5, 2, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
                     "?14, 0, 0, 8, 0)",
                     -1, &gc, 0);
  sqlite3_prepare_v2(db,
                     "INSERT INTO snapshots (id, source_id, kind, format, at_ns, duration_ns, total, meta, raw_bytes, "
                     "payload) VALUES (?1, 1, ?2, 'pprof', ?3, ?4, ?5, ?6, ?7, ?8)",
                     -1, &snap, 0);
  sqlite3_prepare_v2(db, "INSERT INTO goroutine_groups (snapshot_id, stack_id, state, count) VALUES (?1, ?2, ?3, ?4)",
                     -1, &grp, 0);
  sqlite3_prepare_v2(db,
                     "INSERT INTO runtime_events (source_id, at_ns, rule, message, value, threshold) VALUES (1, ?1, "
                     "'gc_cpu', 'GC CPU over 25%', 27.5, 25)",
                     -1, &ev, 0);
  for (int g = 0; g < o->groups; g++) {
    char fr[1024];
    frames_of(g, fr, sizeof fr);
    sqlite3_bind_int64(stk, 1, g + 1);
    sqlite3_bind_int64(stk, 2, (int64_t)mw__hash(fr, strlen(fr)));
    sqlite3_bind_text(stk, 3, fr, -1, SQLITE_TRANSIENT);
    sqlite3_step(stk);
    sqlite3_reset(stk);
  }
  /* payloads: a real heap profile; a small stand-in for the others (the page reads none) */
  char hp[4096];
  snprintf(hp, sizeof hp, "%s/go1.19-checkout/heap-1795334482813101392.pb.gz", MW_TEST_DATA);
  size_t heap_len;
  char *heap = slurp(hp, &heap_len);
  if (!heap) return fail("cannot read", hp);
  size_t zcap = ZSTD_compressBound(heap_len);
  void *heap_z = malloc(zcap);
  size_t heap_zlen = ZSTD_compress(heap_z, zcap, heap, heap_len, 3);
  static const char small[] = "stand-in payload";
  static const char *const states[] = {"chan", "select", "io", "running", "sleep"};
  int64_t n_gc = 0, n_snap = 0, n_grp = 0, id = 0, rows = 0;
  for (int64_t t = start; t < end_ns; t += S) {
    int64_t sec = (t - start) / S;
    double ph = (double)sec / 3600.0;
    /* one GC cycle: a heap that swings over the hour and rises slowly over the days */
    int64_t live = ((int64_t)(200 + 40 * sin(ph * 6.283) + ph / 24 * 10)) << 20;
    int64_t p1 = 20000 + (sec % 7) * 10000, p2 = 30000 + (sec % 11) * 10000;
    int64_t v[] = {sec + 1,
                   t,
                   p1,
                   4000000,
                   p2,
                   p1 * 4,
                   1000000 + (sec % 5) * 200000,
                   6000000,
                   2000000,
                   p2 * 4,
                   live * 2 - (8 << 20),
                   live * 2 - (4 << 20),
                   live,
                   live * 2};
    for (int k = 0; k < 14; k++) sqlite3_bind_int64(gc, k + 1, v[k]);
    sqlite3_step(gc);
    sqlite3_reset(gc);
    n_gc++;
    /* one goroutine profile */
    int64_t leak = 10 + (int64_t)(ph * 10), total = 0;
    for (int g = 0; g < o->groups; g++) total += g == 0 ? leak : 5 + (g + sec) % 3;
    sqlite3_bind_int64(snap, 1, ++id);
    sqlite3_bind_text(snap, 2, "goroutine", -1, SQLITE_STATIC);
    sqlite3_bind_int64(snap, 3, t + 500000000);
    sqlite3_bind_int64(snap, 4, 0);
    sqlite3_bind_int64(snap, 5, total);
    sqlite3_bind_text(snap, 6, "{\"format\":\"pprof\"}", -1, SQLITE_STATIC);
    sqlite3_bind_int64(snap, 7, 2000);
    sqlite3_bind_blob(snap, 8, small, sizeof small, SQLITE_STATIC);
    sqlite3_step(snap);
    sqlite3_reset(snap);
    n_snap++;
    for (int g = 0; g < o->groups; g++) {
      sqlite3_bind_int64(grp, 1, id);
      sqlite3_bind_int64(grp, 2, g + 1);
      sqlite3_bind_text(grp, 3, states[g % 5], -1, SQLITE_STATIC);
      sqlite3_bind_int64(grp, 4, g == 0 ? leak : 5 + (g + sec) % 3);
      sqlite3_step(grp);
      sqlite3_reset(grp);
      n_grp++;
    }
    if (sec % 10 == 0) { /* a 10 s CPU profile */
      sqlite3_bind_int64(snap, 1, ++id);
      sqlite3_bind_text(snap, 2, "cpu", -1, SQLITE_STATIC);
      sqlite3_bind_int64(snap, 3, t);
      sqlite3_bind_int64(snap, 4, 10 * S);
      sqlite3_bind_int64(snap, 5, 1000);
      sqlite3_bind_text(snap, 6, "{\"format\":\"pprof\"}", -1, SQLITE_STATIC);
      sqlite3_bind_int64(snap, 7, 40000);
      sqlite3_bind_blob(snap, 8, small, sizeof small, SQLITE_STATIC);
      sqlite3_step(snap);
      sqlite3_reset(snap);
      n_snap++;
    }
    if (sec % 60 == 30) { /* a heap profile */
      sqlite3_bind_int64(snap, 1, ++id);
      sqlite3_bind_text(snap, 2, "heap", -1, SQLITE_STATIC);
      sqlite3_bind_int64(snap, 3, t);
      sqlite3_bind_int64(snap, 4, 0);
      sqlite3_bind_int64(snap, 5, 100);
      sqlite3_bind_text(snap, 6,
                        sec % 3600 == 30 ? "{\"format\":\"pprof\",\"trigger\":\"heap\"}" : "{\"format\":\"pprof\"}", -1,
                        SQLITE_STATIC);
      sqlite3_bind_int64(snap, 7, (int64_t)heap_len);
      sqlite3_bind_blob(snap, 8, heap_z, (int)heap_zlen, SQLITE_STATIC);
      sqlite3_step(snap);
      sqlite3_reset(snap);
      n_snap++;
    }
    if (sec % 3600 == 1800) {
      sqlite3_bind_int64(ev, 1, t);
      sqlite3_step(ev);
      sqlite3_reset(ev);
    }
    if (++rows % 20000 == 0) sqlite3_exec(db, "COMMIT; BEGIN", 0, 0, 0);
  }
  sqlite3_exec(db, "COMMIT", 0, 0, 0);
  for (size_t i = 0; i < 2; i++) sqlite3_exec(db, idx[i][1], 0, 0, 0);
  sqlite3_finalize(stk), sqlite3_finalize(gc), sqlite3_finalize(snap), sqlite3_finalize(grp), sqlite3_finalize(ev);
  int ok = sqlite3_exec(db, "PRAGMA journal_mode=WAL", 0, 0, 0) == SQLITE_OK;
  sqlite3_close(db);
  free(heap), free(heap_z);
  fprintf(stderr, "bench-sourcepage: generated %lld cycles, %lld snapshots, %lld goroutine groups in %.1f s\n",
          (long long)n_gc, (long long)n_snap, (long long)n_grp, now_s() - t0);
  return ok ? 0 : -1;
}

/* --- the requests ------------------------------------------------------------ */

typedef struct req {
  const char *name;
  char url[1024];
  CURL *h;
  long status;
  size_t bytes;
  double ms;
} req;

static size_t sink(char *p, size_t sz, size_t n, void *user) {
  ((req *)user)->bytes += sz * n;
  (void)p;
  return sz * n;
}

/* One round: every request at once; returns the wall ms of the whole, or -1. */
static double round_all(req *r, int n) {
  CURLM *m = curl_multi_init();
  for (int i = 0; i < n; i++) {
    r[i].bytes = 0;
    curl_easy_setopt(r[i].h, CURLOPT_URL, r[i].url);
    curl_easy_setopt(r[i].h, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(r[i].h, CURLOPT_WRITEDATA, &r[i]);
    curl_multi_add_handle(m, r[i].h);
  }
  double t0 = now_s();
  int running = 1;
  while (running) {
    curl_multi_perform(m, &running);
    if (running) curl_multi_poll(m, NULL, 0, 100, NULL);
  }
  double wall = (now_s() - t0) * 1e3;
  int bad = 0;
  for (int i = 0; i < n; i++) {
    curl_easy_getinfo(r[i].h, CURLINFO_RESPONSE_CODE, &r[i].status);
    double tt = 0;
    curl_easy_getinfo(r[i].h, CURLINFO_TOTAL_TIME, &tt);
    r[i].ms = tt * 1e3;
    if (r[i].status != 200) bad = 1, fprintf(stderr, "bench-sourcepage: %s answered %ld\n", r[i].url, r[i].status);
    curl_multi_remove_handle(m, r[i].h);
  }
  curl_multi_cleanup(m);
  return bad ? -1 : wall;
}

static int cmp_d(const void *x, const void *y) {
  double a = *(const double *)x, b = *(const double *)y;
  return a < b ? -1 : a > b;
}

static double rank(double *v, int n, double q) {
  qsort(v, (size_t)n, sizeof *v, cmp_d);
  int k = (int)ceil(q * n);
  return v[k > 0 ? k - 1 : 0];
}

/* The baseline: the rows of the GC and goroutine lanes read plainly. */
static double baseline_ms(const char *dir, int64_t start, int64_t end, int64_t *rows) {
  char path[4200];
  snprintf(path, sizeof path, "file:%s/meanwhile.db?mode=ro", dir);
  sqlite3 *db;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL) != SQLITE_OK) return -1;
  sqlite3_exec(db, "PRAGMA cache_size=-16384", 0, 0, 0);
  double t0 = now_s();
  sqlite3_stmt *st;
  int64_t n = 0, sum = 0;
  sqlite3_prepare_v2(
      db,
      "SELECT start_ns, stw1_ns, stw2_ns, stw1_cpu_ns + assist_cpu_ns + background_cpu_ns + stw2_cpu_ns, "
      "heap_live, goal FROM gc_cycles WHERE source_id = 1 AND start_ns >= ?1 AND start_ns < ?2",
      -1, &st, 0);
  sqlite3_bind_int64(st, 1, start);
  sqlite3_bind_int64(st, 2, end);
  while (sqlite3_step(st) == SQLITE_ROW) sum += sqlite3_column_int64(st, 3), n++;
  sqlite3_finalize(st);
  sqlite3_prepare_v2(db,
                     "SELECT at_ns, total FROM snapshots WHERE source_id = 1 AND at_ns >= ?1 AND at_ns < ?2 AND kind = "
                     "'goroutine'",
                     -1, &st, 0);
  sqlite3_bind_int64(st, 1, start);
  sqlite3_bind_int64(st, 2, end);
  while (sqlite3_step(st) == SQLITE_ROW) sum += sqlite3_column_int64(st, 1), n++;
  sqlite3_finalize(st);
  double ms = (now_s() - t0) * 1e3;
  sqlite3_close(db);
  *rows = n + (sum & 0); /* sum keeps the reads from being optimised away */
  return ms;
}

/* The server's log line of the backfill, if this run made the rollups. */
static void print_backfill(const char *log) {
  size_t len;
  char *t = slurp(log, &len);
  const char *p = t ? strstr(t, "made the runtime minutes") : NULL;
  if (p) {
    const char *e = strchr(p, '\n');
    printf("  backfill (migration 7, at the first start): %.*s\n", (int)(e ? e - p : (long)strlen(p)), p);
  }
  free(t);
}

int main(int argc, char **argv) {
  opts o = {.days = 7, .groups = 40, .rounds = 20};
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--server") && i + 1 < argc) o.server = argv[++i];
    else if (!strcmp(argv[i], "--days") && i + 1 < argc) o.days = strtod(argv[++i], NULL);
    else if (!strcmp(argv[i], "--groups") && i + 1 < argc) o.groups = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) o.rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--db-dir") && i + 1 < argc) o.db_dir = argv[++i];
    else if (!strcmp(argv[i], "--regen")) o.regen = 1;
    else if (!strcmp(argv[i], "--keep")) o.keep = 1;
    else if (!strcmp(argv[i], "--smoke")) o.smoke = 1, o.days = 0.02, o.rounds = 3;
    else {
      fprintf(stderr, "usage: bench-sourcepage --server PATH [--days D] [--groups G] [--rounds R] [--db-dir DIR] "
                      "[--regen] [--keep] [--smoke]\n");
      return 1;
    }
  }
  if (!o.server || o.days <= 0 || o.days > 31 || o.groups < 1 || o.groups > 1000 || o.rounds < 1) {
    fprintf(stderr, "bench-sourcepage: --server is required; --days is up to 31, --groups 1 to 1000\n");
    return 1;
  }
  /* the data ends a minute ago, on a whole minute (the cache keeps its end: the window is read from it) */
  char dir[4096], meta[4200];
  if (o.db_dir) snprintf(dir, sizeof dir, "%s", o.db_dir);
  else snprintf(dir, sizeof dir, "%s/sp-%gd-g%d%s", MW_SP_CACHE_DIR, o.days, o.groups, o.smoke ? "-smoke" : "");
  mkdir(MW_SP_CACHE_DIR, 0755);
  mkdir(dir, 0755);
  snprintf(meta, sizeof meta, "%s/bench-sourcepage.meta", dir);
  int64_t end_ns = 0;
  FILE *mf = o.regen || o.smoke ? NULL : fopen(meta, "r");
  if (mf) {
    long long e;
    if (fscanf(mf, "end_ns=%lld", &e) == 1) end_ns = e;
    fclose(mf);
  }
  int64_t span = (int64_t)(o.days * 86400) * S;
  if (!end_ns) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    end_ns = ((int64_t)ts.tv_sec - 60) / 60 * 60 * S;
    if (generate(&o, dir, end_ns)) return 1;
    if ((mf = fopen(meta, "w"))) fprintf(mf, "end_ns=%lld\n", (long long)end_ns), fclose(mf);
  }
  int64_t start_ns = end_ns - span;
  char log[4300];
  snprintf(log, sizeof log, "%s/meanwhiled.log", dir);
  /* retention wide enough for the data set's age */
  char keep[64];
  snprintf(keep, sizeof keep, "%dd", (int)ceil(o.days) + 30);
  char *const args[] = {(char *)o.server, "--listen", "127.0.0.1:0", "--data", dir, "--retention", keep, NULL};
  mwb_server srv;
  double t_start = now_s();
  if (mwb_server_start(&srv, "bench-sourcepage", args, log, 600)) return 1;
  double started = now_s() - t_start;
  curl_global_init(CURL_GLOBAL_DEFAULT);
  req r[N_REQ] = {{.name = "series"}, {.name = "events"}, {.name = "growth"}, {.name = "heap"}, {.name = "sources"}};
  long long s0 = (long long)start_ns, e0 = (long long)end_ns, mid = (long long)(start_ns + span / 2);
  snprintf(r[0].url, sizeof r[0].url, "%s/api/v1/sources/1/series?start=%lld&end=%lld&points=600", srv.url, s0, e0);
  snprintf(r[1].url, sizeof r[1].url, "%s/api/v1/sources/1/events?start=%lld&end=%lld", srv.url, s0, e0);
  snprintf(r[2].url, sizeof r[2].url, "%s/api/v1/sources/1/goroutines/growth?start=%lld&end=%lld", srv.url, s0, e0);
  snprintf(r[3].url, sizeof r[3].url,
           "%s/api/v1/sources/1/heap/growth?base_start=%lld&base_end=%lld&start=%lld&end=%lld", srv.url, s0, mid, mid,
           e0);
  snprintf(r[4].url, sizeof r[4].url, "%s/api/v1/sources", srv.url);
  for (int i = 0; i < N_REQ; i++) r[i].h = curl_easy_init();
  double cold = round_all(r, N_REQ), cold_each[N_REQ];
  for (int i = 0; i < N_REQ; i++) cold_each[i] = r[i].ms;
  int bad = cold < 0;
  double *wall = calloc((size_t)o.rounds, sizeof *wall), *each[N_REQ];
  size_t bytes[N_REQ];
  for (int i = 0; i < N_REQ; i++) each[i] = calloc((size_t)o.rounds, sizeof *each[i]);
  for (int k = 0; k < o.rounds && !bad; k++) {
    if ((wall[k] = round_all(r, N_REQ)) < 0) bad = 1;
    for (int i = 0; i < N_REQ; i++) each[i][k] = r[i].ms, bytes[i] = r[i].bytes;
  }
  /* the raw rows' baseline, median of 5 */
  int64_t rows = 0;
  double base[5];
  for (int k = 0; k < 5; k++) base[k] = baseline_ms(dir, start_ns, end_ns, &rows);
  double base50 = rank(base, 5, 0.5);
  int rc = mwb_server_stop(&srv, "bench-sourcepage", NULL);
  if (bad) return 1;
  printf("bench-sourcepage: one source, %g days (%lld raw GC and goroutine rows), %d groups a goroutine profile, "
         "%d warm rounds; server start %.1f s\n",
         o.days, (long long)rows, o.groups, o.rounds, started);
  print_backfill(log);
  double w50 = rank(wall, o.rounds, 0.5), w99 = rank(wall, o.rounds, 0.99);
  printf("  the page's data, all %d requests in parallel: cold %.1f ms, warm p50 %.1f ms p99 %.1f ms "
         "(target <= 200 ms warm: %s)\n",
         N_REQ, cold, w50, w99, w99 <= 200 ? "met" : "NOT met");
  for (int i = 0; i < N_REQ; i++)
    printf("    %-8s cold %7.1f ms  warm p50 %7.1f ms  p99 %7.1f ms  %7zu bytes\n", r[i].name, cold_each[i],
           rank(each[i], o.rounds, 0.5), rank(each[i], o.rounds, 0.99), bytes[i]);
  printf("  baseline: a plain SQLite read of the %lld raw rows of the GC and goroutine lanes: %.1f ms; "
         "page warm p50 / baseline = %.3f\n",
         (long long)rows, base50, base50 > 0 ? w50 / base50 : 0);
  if (o.smoke) printf("  (smoke: %g days; the figures to quote are the default 7 days)\n", o.days);
  for (int i = 0; i < N_REQ; i++) curl_easy_cleanup(r[i].h), free(each[i]);
  free(wall);
  curl_global_cleanup();
  if (o.smoke && !o.keep) {
    char cmd[4400];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd)) fprintf(stderr, "bench-sourcepage: could not remove %s\n", dir);
  }
  return rc == 0 ? 0 : 1;
}
