/* bench-runtime: how long meanwhiled takes to parse and store one runtime
 * snapshot (a goroutine dump of 10,000 goroutines in debug=2, debug=1 and
 * pprof form, and a 10 s CPU profile), and how many bytes one snapshot adds to
 * the database against its raw size. See README.md.
 *
 * The inputs come from a real Go program (gen/, built by CMake with `go
 * build`), run once per (goroutines, cpu seconds) and cached. Each kind is
 * posted K times, one request after another over one keep-alive connection,
 * to a fresh server; the server answers only after the commit, so a request's
 * latency is parse + store. The database growth is read with SQLite's dbstat
 * (bytes of the pages in use) on a read-only connection. The baseline, in the
 * same run: zstd -3 of the same body and one INSERT of it as a blob into a
 * fresh WAL database with the server's pragmas, one transaction each.
 *
 * Figures go to stdout, one "name value" line each; progress to stderr. Exit
 * status: 0 when every request got a 200 with no errors and every figure was
 * printed; 77 (ctest's skip) when there is neither a generator nor cached
 * inputs because go was not found; 1 otherwise. Speed is never asserted. */
#define _GNU_SOURCE
#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <sqlite3.h>
#include <zstd.h>

#include "mwb_server.h"

#ifndef MW_RT_GEN_EXE
#define MW_RT_GEN_EXE ""
#endif
#ifndef MW_RT_INPUTS_DIR
#define MW_RT_INPUTS_DIR "bench-runtime-inputs"
#endif

enum { EXIT_SKIP = 77, MAX_SERVER_ARGS = 32 };

/* What is posted: the figure prefix, the ingest kind, the generator's file. */
typedef struct kind_spec {
  const char *name, *kind, *file, *content_type, *rows_table;
} kind_spec;

static const kind_spec g_kinds[] = {
    {"goroutine_debug2", "goroutine", "goroutine-debug2.txt", "text/plain", "goroutine_groups"},
    {"goroutine_debug1", "goroutine", "goroutine-debug1.txt", "text/plain", "goroutine_groups"},
    {"goroutine_pprof", "goroutine", "goroutine-debug0.pb.gz", "application/octet-stream", "goroutine_groups"},
    {"cpu_profile", "cpu", "cpu.pb.gz", "application/octet-stream", "profile_samples"},
};
enum { N_KINDS = sizeof g_kinds / sizeof g_kinds[0] };

/* The targets, for the debug=2 dump. */
static const double TARGET_MS = 100, TARGET_RATIO = 0.1;

typedef struct options {
  const char *server, *url, *db, *gen, *inputs, *sync, *only;
  char *server_args[MAX_SERVER_ARGS];
  int n_server_args;
  pid_t pid;
  long goroutines, posts;
  double cpu_seconds;
  int smoke, keep, regen, verbose;
} options;

static int g_missing; /* figures that could not be produced */
static int g_failed;  /* requests that did not get a clean 200 */

static void figure(const char *kind, const char *what, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void figure(const char *kind, const char *what, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  printf("runtime.%s%s%s ", kind ? kind : "", kind ? "_" : "", what);
  vprintf(fmt, ap);
  putchar('\n');
  fflush(stdout);
  va_end(ap);
}

static double mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int64_t now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int cmp_d(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* Nearest rank on a sorted copy. */
static double pct(const double *v, size_t n, double p) {
  if (!n) return NAN;
  double *s = malloc(n * sizeof *s);
  if (!s) return NAN;
  memcpy(s, v, n * sizeof *s);
  qsort(s, n, sizeof *s, cmp_d);
  size_t r = (size_t)ceil(p * (double)n);
  double x = s[r ? r - 1 : 0];
  free(s);
  return x;
}

/* ---- files and directories ---------------------------------------------------- */

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
  (void)st, (void)flag, (void)ftw;
  remove(path);
  return 0;
}

static void rm_tree(const char *path) { nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS); }

static int read_file(const char *path, uint8_t **data, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return -1;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *data = malloc(n > 0 ? (size_t)n : 1);
  size_t got = *data ? fread(*data, 1, (size_t)n, f) : 0;
  fclose(f);
  if (!*data || got != (size_t)n) {
    free(*data);
    return -1;
  }
  *len = got;
  return 0;
}

/* Runs argv, waits; returns its exit status or -1. */
static int run_wait(char **argv) {
  pid_t pid = fork();
  if (pid < 0) return -1;
  if (pid == 0) {
    execv(argv[0], argv);
    fprintf(stderr, "bench-runtime: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  int status;
  if (waitpid(pid, &status, 0) != pid) return -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Makes sure dir holds the generator's output for the options: reuses it when
 * complete ("done" exists) and not older than the generator, else runs the
 * generator into a temporary sibling and renames it into place. */
static int ensure_inputs(const options *o, char *dir, size_t dirsz) {
  snprintf(dir, dirsz, "%s/n%ld-s%g", o->inputs, o->goroutines, o->cpu_seconds);
  char done[4300];
  snprintf(done, sizeof done, "%s/done", dir);
  struct stat sd, sg;
  int have = stat(done, &sd) == 0;
  int have_gen = o->gen && *o->gen && stat(o->gen, &sg) == 0;
  if (have && !o->regen && (!have_gen || sg.st_mtime <= sd.st_mtime)) {
    fprintf(stderr, "bench-runtime: using the inputs in %s\n", dir);
    return 0;
  }
  if (!have_gen) {
    if (!o->gen || !*o->gen) {
      fprintf(stderr,
              "bench-runtime: SKIP: no inputs in %s and no generator: go was not found when this "
              "build was configured (apt-get install golang-go, then re-run cmake), or give --gen\n",
              dir);
      return EXIT_SKIP;
    }
    fprintf(stderr, "bench-runtime: the generator %s is missing: %s (build the bench-runtime-gen target)\n", o->gen,
            strerror(errno));
    return -1;
  }
  if (mkdir(o->inputs, 0755) != 0 && errno != EEXIST) {
    fprintf(stderr, "bench-runtime: %s: %s\n", o->inputs, strerror(errno));
    return -1;
  }
  char tmp[4300], n[32], s[32];
  snprintf(tmp, sizeof tmp, "%s.tmp-%d", dir, (int)getpid());
  snprintf(n, sizeof n, "%ld", o->goroutines);
  snprintf(s, sizeof s, "%g", o->cpu_seconds);
  fprintf(stderr, "bench-runtime: generating inputs: %s -n %s -cpu-seconds %s -out %s\n", o->gen, n, s, tmp);
  char *argv[] = {(char *)o->gen, "-n", n, "-cpu-seconds", s, "-out", tmp, NULL};
  double t0 = mono_ms();
  int rc = run_wait(argv);
  if (rc != 0) {
    fprintf(stderr, "bench-runtime: the generator failed (exit status %d)\n", rc);
    rm_tree(tmp);
    return -1;
  }
  rm_tree(dir);
  if (rename(tmp, dir) != 0) {
    fprintf(stderr, "bench-runtime: rename %s: %s\n", tmp, strerror(errno));
    rm_tree(tmp);
    if (stat(done, &sd) != 0) return -1; /* unless someone else just put it there */
  }
  fprintf(stderr, "bench-runtime: inputs generated in %.1f s\n", (mono_ms() - t0) / 1e3);
  return 0;
}

/* ---- the server ------------------------------------------------------------------- */

typedef struct server {
  mwb_server proc;
  char data[4200];
} server;

static int server_stop(server *s) {
  if (s->proc.pid <= 0) return 0;
  return mwb_server_stop(&s->proc, "bench-runtime", NULL) == 0 ? 0 : -1;
}

/* Starts meanwhiled on port 0 with a fresh data dir and a log file. */
static int server_start(const options *o, const char *work, const char *name, server *s) {
  memset(s, 0, sizeof *s);
  char log[4200];
  snprintf(s->data, sizeof s->data, "%s/%s", work, name);
  snprintf(log, sizeof log, "%s/%s.log", work, name);
  rm_tree(s->data);
  if (mkdir(s->data, 0755) != 0) {
    fprintf(stderr, "bench-runtime: %s: %s\n", s->data, strerror(errno));
    return -1;
  }
  char *argv[16 + MAX_SERVER_ARGS];
  int argc = 0;
  argv[argc++] = (char *)o->server;
  argv[argc++] = "--listen";
  argv[argc++] = "127.0.0.1:0";
  argv[argc++] = "--data";
  argv[argc++] = s->data;
  argv[argc++] = "--sync";
  argv[argc++] = (char *)o->sync;
  for (int i = 0; i < o->n_server_args; i++) argv[argc++] = o->server_args[i];
  argv[argc] = NULL;
  return mwb_server_start(&s->proc, "bench-runtime", argv, log, 15);
}

/* utime + stime of a process in ms, or -1. */
static double proc_cpu_ms(pid_t pid) {
  if (pid <= 0) return -1;
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  char *p = strrchr(buf, ')');
  unsigned long ut = 0, st = 0;
  if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) return -1;
  return (double)(ut + st) * 1000.0 / (double)sysconf(_SC_CLK_TCK);
}

/* ---- HTTP ------------------------------------------------------------------------------ */

typedef struct resp {
  char *data;
  size_t len, cap;
} resp;

static size_t on_body(char *p, size_t size, size_t n, void *arg) {
  resp *r = arg;
  size_t add = size * n;
  if (r->len + add + 1 > r->cap) {
    size_t cap = (r->len + add + 1) * 2;
    char *d = realloc(r->data, cap);
    if (!d) return 0;
    r->data = d;
    r->cap = cap;
  }
  memcpy(r->data + r->len, p, add);
  r->len += add;
  r->data[r->len] = 0;
  return add;
}

/* GET url into r; returns the status or -1. */
static long http_get(CURL *c, const char *url, resp *r) {
  r->len = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  if (curl_easy_perform(c) != CURLE_OK) return -1;
  long code = 0;
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
  return code;
}

/* The commit histogram's sum (s) and count from /metrics. */
static int commit_stats(CURL *c, const char *base, double *sum, double *count) {
  char url[256];
  resp r = {0};
  snprintf(url, sizeof url, "%s/metrics", base);
  int rc = -1;
  if (http_get(c, url, &r) == 200 && r.data) {
    const char *s = strstr(r.data, "\nmeanwhile_commit_duration_seconds_sum ");
    const char *n = strstr(r.data, "\nmeanwhile_commit_duration_seconds_count ");
    if (s && n) {
      *sum = strtod(strchr(s + 1, ' ') + 1, NULL);
      *count = strtod(strchr(n + 1, ' ') + 1, NULL);
      rc = 0;
    }
  }
  free(r.data);
  return rc;
}

/* ---- SQLite ------------------------------------------------------------------------------ */

typedef struct table_bytes {
  char name[64];
  int64_t bytes;
} table_bytes;

enum { MAX_TABLES = 48 };

typedef struct db_size {
  int64_t total;
  table_bytes t[MAX_TABLES];
  int n;
  int dbstat; /* 0: page_count * page_size (no dbstat in this SQLite) */
} db_size;

/* Bytes of the pages in use, per table and index, read through a read-only
 * connection (which sees the WAL: no checkpoint needed). */
static int db_measure(const char *path, db_size *out) {
  memset(out, 0, sizeof *out);
  sqlite3 *db;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) {
    fprintf(stderr, "bench-runtime: %s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return -1;
  }
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC", -1, &st, NULL) ==
      SQLITE_OK) {
    out->dbstat = 1;
    while (sqlite3_step(st) == SQLITE_ROW) {
      int64_t b = sqlite3_column_int64(st, 1);
      out->total += b;
      if (out->n < MAX_TABLES) {
        snprintf(out->t[out->n].name, sizeof out->t[out->n].name, "%s", (const char *)sqlite3_column_text(st, 0));
        out->t[out->n++].bytes = b;
      }
    }
    sqlite3_finalize(st);
  } else if (sqlite3_prepare_v2(db, "SELECT page_count * page_size FROM pragma_page_count, pragma_page_size", -1, &st,
                                NULL) == SQLITE_OK) {
    if (sqlite3_step(st) == SQLITE_ROW) out->total = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
  }
  sqlite3_close(db);
  return out->total > 0 ? 0 : -1;
}

static int64_t table_of(const db_size *d, const char *name) {
  for (int i = 0; i < d->n; i++)
    if (strcmp(d->t[i].name, name) == 0) return d->t[i].bytes;
  return 0;
}

/* One number from a query on the database, or -1. */
static double db_number(const char *path, const char *sql) {
  sqlite3 *db;
  double v = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
    sqlite3_busy_timeout(db, 5000);
    sqlite3_stmt *st;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
      if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_double(st, 0);
      sqlite3_finalize(st);
    }
  }
  sqlite3_close(db);
  return v;
}

static int exec_sql(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "bench-runtime: %s: %s\n", sql, err ? err : "?");
    sqlite3_free(err);
    return -1;
  }
  return 0;
}

/* The baseline: k times, zstd -3 of the body (into a fresh buffer, as the
 * server does) and one INSERT of it as a blob, in its own transaction, into a
 * fresh WAL database with the server's write pragmas (server/store/store.c). */
static int blob_baseline(const char *path, const char *sync, const uint8_t *body, size_t len, long k, double *lat,
                         int64_t *stored_per) {
  unlink(path);
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) {
    fprintf(stderr, "bench-runtime: %s: %s\n", path, sqlite3_errmsg(db));
    sqlite3_close(db);
    return -1;
  }
  char pragmas[256];
  snprintf(pragmas, sizeof pragmas,
           "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-16384; PRAGMA temp_store=MEMORY;", sync);
  sqlite3_stmt *ins = NULL;
  int rc = -1;
  if (exec_sql(db, pragmas) ||
      exec_sql(db, "CREATE TABLE snapshots (id INTEGER PRIMARY KEY, at_ns INTEGER NOT NULL, "
                   "raw_bytes INTEGER NOT NULL, payload BLOB NOT NULL)") ||
      sqlite3_prepare_v2(db, "INSERT INTO snapshots (at_ns, raw_bytes, payload) VALUES (?1, ?2, ?3)", -1, &ins, NULL) !=
          SQLITE_OK)
    goto out;
  size_t cap = ZSTD_compressBound(len);
  for (long i = 0; i < k; i++) {
    double t0 = mono_ms();
    uint8_t *z = malloc(cap);
    size_t zl = z ? ZSTD_compress(z, cap, body, len, 3) : 0;
    if (!z || ZSTD_isError(zl)) {
      free(z);
      goto out;
    }
    if (exec_sql(db, "BEGIN IMMEDIATE")) {
      free(z);
      goto out;
    }
    sqlite3_bind_int64(ins, 1, now_ns());
    sqlite3_bind_int64(ins, 2, (int64_t)len);
    sqlite3_bind_blob(ins, 3, z, (int)zl, SQLITE_STATIC);
    int src = sqlite3_step(ins);
    sqlite3_reset(ins);
    free(z);
    if (src != SQLITE_DONE || exec_sql(db, "COMMIT")) goto out;
    lat[i] = mono_ms() - t0;
  }
  rc = 0;
out:
  sqlite3_finalize(ins);
  sqlite3_close(db);
  db_size d;
  *stored_per = rc == 0 && db_measure(path, &d) == 0 ? d.total / k : -1;
  return rc;
}

/* ---- one kind ---------------------------------------------------------------------------- */

static int post(CURL *c, const char *url, const char *ctype, const uint8_t *body, size_t len, resp *r, long *code,
                double *ms) {
  struct curl_slist *h = NULL;
  char ct[128];
  snprintf(ct, sizeof ct, "Content-Type: %s", ctype);
  h = curl_slist_append(h, ct);
  h = curl_slist_append(h, "Expect:"); /* no 100-continue round trip for big bodies */
  r->len = 0;
  curl_easy_setopt(c, CURLOPT_URL, url);
  curl_easy_setopt(c, CURLOPT_POST, 1L);
  curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)body);
  curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
  double t0 = mono_ms();
  CURLcode cc = curl_easy_perform(c);
  *ms = mono_ms() - t0;
  curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
  curl_slist_free_all(h);
  *code = 0;
  if (cc != CURLE_OK) {
    fprintf(stderr, "bench-runtime: POST %s: %s\n", url, curl_easy_strerror(cc));
    return -1;
  }
  curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, code);
  return 0;
}

/* A clean answer: 200 and "errors":[]; *accepted from "accepted". */
static int check_answer(long code, const resp *r, long *accepted) {
  const char *b = r->data ? r->data : "";
  const char *a = strstr(b, "\"accepted\":");
  *accepted = a ? strtol(a + 11, NULL, 10) : -1;
  return code == 200 && strstr(b, "\"errors\":[]") && a ? 0 : -1;
}

typedef struct kind_result {
  int ok;
  double p50, blob_p50, stored_ratio, stored_ratio_first;
} kind_result;

static int run_kind(const options *o, const char *work, const char *inputs, int ki, kind_result *res) {
  const kind_spec *k = &g_kinds[ki];
  memset(res, 0, sizeof *res);
  char path[4300];
  snprintf(path, sizeof path, "%s/%s", inputs, k->file);
  uint8_t *body;
  size_t len;
  if (read_file(path, &body, &len) != 0) {
    fprintf(stderr, "bench-runtime: %s: %s\n", path, strerror(errno));
    g_missing++;
    return -1;
  }
  long K = o->posts;
  double *lat = calloc((size_t)K, sizeof *lat), *blat = calloc((size_t)K, sizeof *blat);
  resp r = {0};
  int rc = -1;
  server s = {0};
  CURL *c = curl_easy_init(), *mc = curl_easy_init();
  if (!lat || !blat || !c || !mc) goto out;
  curl_easy_setopt(c, CURLOPT_TIMEOUT, 300L);
  curl_easy_setopt(mc, CURLOPT_TIMEOUT, 60L);

  /* the baseline first, on the same body */
  char bpath[4300];
  int64_t blob_stored = -1;
  snprintf(bpath, sizeof bpath, "%s/blob-%s.db", work, k->name);
  if (blob_baseline(bpath, o->sync, body, len, K, blat, &blob_stored) != 0) goto out;

  /* a fresh server, or the given one */
  const char *base, *dbpath = o->db;
  char dbbuf[4300];
  pid_t pid = o->pid;
  if (o->url) {
    base = o->url;
  } else {
    if (server_start(o, work, k->name, &s) != 0) goto out;
    base = s.proc.url;
    pid = s.proc.pid;
    snprintf(dbbuf, sizeof dbbuf, "%s/meanwhile.db", s.data);
    dbpath = dbbuf;
  }
  fprintf(stderr, "bench-runtime: %s: %zu bytes x %ld to %s (pid %d)\n", k->name, len, K, base, (int)pid);
  char url[512], hz[300];
  snprintf(hz, sizeof hz, "%s/healthz", base);
  if (http_get(c, hz, &r) != 200) { /* also opens the keep-alive connection */
    fprintf(stderr, "bench-runtime: GET %s failed\n", hz);
    goto out;
  }
  double csum0 = 0, ccount0 = 0, csum1 = 0, ccount1 = 0;
  int have_commit = commit_stats(mc, base, &csum0, &ccount0) == 0;
  db_size d0, d1, dk;
  int have_db = dbpath && db_measure(dbpath, &d0) == 0;
  double cpu0 = proc_cpu_ms(pid);
  int64_t t_base = now_ns() - 86400LL * 1000000000 + (int64_t)ki * 1000 * 1000000000LL;
  long accepted = -1, bad = 0;
  for (long i = 0; i < K; i++) {
    snprintf(url, sizeof url, "%s/api/v1/ingest/%s?service=bench&time=%" PRId64, base, k->kind,
             t_base + (int64_t)i * 1000000000);
    long code, acc;
    if (post(c, url, k->content_type, body, len, &r, &code, &lat[i]) != 0 || check_answer(code, &r, &acc) != 0) {
      fprintf(stderr, "bench-runtime: %s: request %ld: status %ld: %.300s\n", k->name, i + 1, code,
              r.data ? r.data : "");
      bad++;
      continue;
    }
    if (accepted < 0) accepted = acc;
    if (o->verbose) fprintf(stderr, "bench-runtime: %s: request %ld: %.2f ms\n", k->name, i + 1, lat[i]);
    if (i == 0 && have_db) have_db = db_measure(dbpath, &d1) == 0;
  }
  double cpu1 = proc_cpu_ms(pid);
  if (have_db) have_db = db_measure(dbpath, &dk) == 0;
  if (have_commit) have_commit = commit_stats(mc, base, &csum1, &ccount1) == 0;
  double payload = -1, rows = -1;
  if (have_db && !o->url) { /* a fresh database holds this kind only */
    payload = db_number(dbpath, "SELECT avg(length(payload)) FROM snapshots");
    char q[256];
    snprintf(q, sizeof q, "SELECT (SELECT count(*) FROM %s) * 1.0 / (SELECT count(*) FROM snapshots)", k->rows_table);
    rows = db_number(dbpath, q);
  }
  if (!o->url && server_stop(&s) != 0) bad++;
  g_failed += (int)bad;

  /* figures */
  const char *n = k->name;
  figure(n, "raw_bytes", "%zu", len);
  figure(n, "posts", "%ld", K);
  figure(n, "posts_ok", "%ld", K - bad);
  if (bad) goto out;
  figure(n, "accepted", "%ld", accepted);
  res->p50 = pct(lat, (size_t)K, 0.5);
  figure(n, "p50_ms", "%.2f", res->p50);
  figure(n, "p90_ms", "%.2f", pct(lat, (size_t)K, 0.9));
  figure(n, "max_ms", "%.2f", pct(lat, (size_t)K, 1.0));
  figure(n, "first_ms", "%.2f", lat[0]);
  if (have_commit && ccount1 > ccount0)
    figure(n, "commit_mean_ms", "%.2f", (csum1 - csum0) * 1e3 / (ccount1 - ccount0));
  else g_missing++;
  if (cpu0 >= 0 && cpu1 >= 0) figure(n, "server_cpu_ms_per_snapshot", "%.1f", (cpu1 - cpu0) / (double)K);
  else if (!o->url || o->pid) g_missing++;
  if (have_db) {
    int64_t first = d1.total - d0.total;
    double per = K > 1 ? (double)(dk.total - d1.total) / (double)(K - 1) : (double)first;
    res->stored_ratio = per / (double)len;
    res->stored_ratio_first = (double)first / (double)len;
    figure(n, "stored_bytes_first", "%" PRId64, first);
    figure(n, "stored_bytes_per_snapshot", "%.0f", per);
    figure(n, "stored_ratio", "%.4f", res->stored_ratio);
    figure(n, "stored_ratio_first", "%.4f", res->stored_ratio_first);
    if (payload >= 0) figure(n, "payload_bytes", "%.0f", payload);
    if (rows >= 0) figure(n, "rows_per_snapshot", "%.1f", rows);
    if (dk.dbstat && K > 1) { /* where the bytes of a snapshot go */
      fprintf(stderr, "bench-runtime: %s: bytes per snapshot by table/index (first / each later):", n);
      for (int i = 0; i < dk.n; i++) {
        int64_t a = table_of(&d1, dk.t[i].name) - table_of(&d0, dk.t[i].name);
        double b = (double)(dk.t[i].bytes - table_of(&d1, dk.t[i].name)) / (double)(K - 1);
        if (a || b) fprintf(stderr, " %s %" PRId64 "/%.0f", dk.t[i].name, a, b);
      }
      fputc('\n', stderr);
    }
  } else if (dbpath || !o->url) {
    g_missing++;
  } else {
    fprintf(stderr, "bench-runtime: no storage figures: give --db PATH with --url\n");
  }
  res->blob_p50 = pct(blat, (size_t)K, 0.5);
  figure(n, "store_blob_p50_ms", "%.2f", res->blob_p50);
  if (blob_stored >= 0) figure(n, "store_blob_bytes_per_snapshot", "%" PRId64, blob_stored);
  figure(n, "vs_store_blob_ratio", "%.2f", res->p50 / res->blob_p50);
  res->ok = 1;
  rc = 0;
out:
  if (rc) g_missing++;
  if (s.proc.pid > 0) server_stop(&s);
  if (c) curl_easy_cleanup(c);
  if (mc) curl_easy_cleanup(mc);
  free(r.data);
  free(lat);
  free(blat);
  free(body);
  return rc;
}

static double loadavg(void) {
  double l = -1;
  FILE *f = fopen("/proc/loadavg", "r");
  if (f) {
    if (fscanf(f, "%lf", &l) != 1) l = -1;
    fclose(f);
  }
  return l;
}

/* ---- main --------------------------------------------------------------------------------- */

static void usage(FILE *f) {
  fprintf(f,
          "usage: bench-runtime (--server PATH | --url URL [--db PATH] [--pid PID]) [options]\n"
          "\n"
          "  --server PATH       start meanwhiled: port 0, a fresh data dir per kind\n"
          "  --server-arg ARG    one more server argument (repeat)\n"
          "  --url URL           use a running server (storage figures need --db, CPU needs --pid)\n"
          "  --db PATH           its database file (read only, through dbstat)\n"
          "  --pid PID           its pid\n"
          "  --goroutines N      goroutines in the generated dumps (default 10000)\n"
          "  --cpu-seconds S     length of the generated CPU profile (default 10)\n"
          "  --posts K           requests per kind (default 20)\n"
          "  --only NAME         one kind: goroutine_debug2, goroutine_debug1, goroutine_pprof, cpu_profile\n"
          "  --sync full|normal  the server's --sync, and the baseline's synchronous (default full)\n"
          "  --gen PATH          the input generator (default %s)\n"
          "  --inputs DIR        where generated inputs are cached (default %s)\n"
          "  --regen             generate the inputs again\n"
          "  --smoke             --goroutines 2000 --cpu-seconds 2 --posts 3 (ctest)\n"
          "  --keep              keep the work dir (data dirs, logs, baseline databases)\n"
          "  --verbose           every request's latency on stderr\n",
          *MW_RT_GEN_EXE ? MW_RT_GEN_EXE : "none: go was not found", MW_RT_INPUTS_DIR);
}

static int parse_args(int argc, char **argv, options *o) {
  enum {
    OPT_SERVER = 256,
    OPT_SERVER_ARG,
    OPT_URL,
    OPT_DB,
    OPT_PID,
    OPT_GOROUTINES,
    OPT_CPU,
    OPT_POSTS,
    OPT_ONLY,
    OPT_SYNC,
    OPT_GEN,
    OPT_INPUTS,
    OPT_REGEN,
    OPT_SMOKE,
    OPT_KEEP,
    OPT_VERBOSE,
    OPT_HELP
  };
  static const struct option longs[] = {{"server", 1, 0, OPT_SERVER},   {"server-arg", 1, 0, OPT_SERVER_ARG},
                                        {"url", 1, 0, OPT_URL},         {"db", 1, 0, OPT_DB},
                                        {"pid", 1, 0, OPT_PID},         {"goroutines", 1, 0, OPT_GOROUTINES},
                                        {"cpu-seconds", 1, 0, OPT_CPU}, {"posts", 1, 0, OPT_POSTS},
                                        {"only", 1, 0, OPT_ONLY},       {"sync", 1, 0, OPT_SYNC},
                                        {"gen", 1, 0, OPT_GEN},         {"inputs", 1, 0, OPT_INPUTS},
                                        {"regen", 0, 0, OPT_REGEN},     {"smoke", 0, 0, OPT_SMOKE},
                                        {"keep", 0, 0, OPT_KEEP},       {"verbose", 0, 0, OPT_VERBOSE},
                                        {"help", 0, 0, OPT_HELP},       {0, 0, 0, 0}};
  int opt, smoke_n = 0;
  while ((opt = getopt_long(argc, argv, "h", longs, NULL)) != -1) {
    char *end = NULL;
    int bad = 0;
    switch (opt) {
    case OPT_SERVER: o->server = optarg; break;
    case OPT_SERVER_ARG:
      if (o->n_server_args < MAX_SERVER_ARGS) o->server_args[o->n_server_args++] = optarg;
      break;
    case OPT_URL: o->url = optarg; break;
    case OPT_DB: o->db = optarg; break;
    case OPT_PID:
      o->pid = (pid_t)strtol(optarg, &end, 10);
      bad = *end || o->pid <= 0;
      break;
    case OPT_GOROUTINES:
      o->goroutines = strtol(optarg, &end, 10);
      bad = *end || o->goroutines < 100;
      smoke_n |= 1;
      break;
    case OPT_CPU:
      o->cpu_seconds = strtod(optarg, &end);
      bad = *end || !(o->cpu_seconds > 0);
      smoke_n |= 2;
      break;
    case OPT_POSTS:
      o->posts = strtol(optarg, &end, 10);
      bad = *end || o->posts < 1 || o->posts > 100000;
      smoke_n |= 4;
      break;
    case OPT_ONLY: {
      o->only = optarg;
      bad = 1;
      for (int i = 0; i < N_KINDS; i++)
        if (strcmp(optarg, g_kinds[i].name) == 0) bad = 0;
      break;
    }
    case OPT_SYNC:
      o->sync = optarg;
      bad = strcmp(optarg, "full") && strcmp(optarg, "normal");
      break;
    case OPT_GEN: o->gen = optarg; break;
    case OPT_INPUTS: o->inputs = optarg; break;
    case OPT_REGEN: o->regen = 1; break;
    case OPT_SMOKE: o->smoke = 1; break;
    case OPT_KEEP: o->keep = 1; break;
    case OPT_VERBOSE: o->verbose = 1; break;
    case 'h':
    case OPT_HELP: usage(stdout); exit(0);
    default: usage(stderr); return -1;
    }
    if (bad) {
      fprintf(stderr, "bench-runtime: bad value for %s: %s\n", argv[optind - 1], optarg);
      return -1;
    }
  }
  if (optind < argc || !o->server == !o->url) {
    fprintf(stderr, "bench-runtime: give exactly one of --server PATH and --url URL\n");
    usage(stderr);
    return -1;
  }
  if (o->smoke) { /* explicit values win */
    if (!(smoke_n & 1)) o->goroutines = 2000;
    if (!(smoke_n & 2)) o->cpu_seconds = 2;
    if (!(smoke_n & 4)) o->posts = 3;
  }
  return 0;
}

int main(int argc, char **argv) {
  options o = {.goroutines = 10000,
               .cpu_seconds = 10,
               .posts = 20,
               .sync = "full",
               .gen = MW_RT_GEN_EXE,
               .inputs = MW_RT_INPUTS_DIR};
  if (parse_args(argc, argv, &o) != 0) return 2;
  setvbuf(stderr, NULL, _IOLBF, 0);
  char inputs[4200];
  int rc = ensure_inputs(&o, inputs, sizeof inputs);
  if (rc == EXIT_SKIP) return EXIT_SKIP;
  if (rc) return 1;

  char work[4096];
  const char *tmp = getenv("TMPDIR");
  snprintf(work, sizeof work, "%s/mw-rtbench-XXXXXX", tmp && *tmp ? tmp : "/tmp");
  if (!mkdtemp(work)) {
    fprintf(stderr, "bench-runtime: mkdtemp: %s\n", strerror(errno));
    return 1;
  }
  curl_global_init(CURL_GLOBAL_DEFAULT);
  char genfile[4300];
  snprintf(genfile, sizeof genfile, "%s/gen.txt", inputs);
  FILE *gf = fopen(genfile, "r");
  if (gf) { /* what the generator says it made */
    char line[256];
    while (fgets(line, sizeof line, gf)) {
      long v;
      if (sscanf(line, "goroutines %ld", &v) == 1) figure(NULL, "input_goroutines", "%ld", v);
      if (sscanf(line, "stack_variants %ld", &v) == 1) figure(NULL, "input_stack_variants", "%ld", v);
    }
    fclose(gf);
  }
  figure(NULL, "input_cpu_seconds", "%g", o.cpu_seconds);
  figure(NULL, "loadavg_1m_start", "%.2f", loadavg());
  figure(NULL, "sync", "%s", o.sync);
  kind_result res[N_KINDS];
  rc = 0;
  for (int i = 0; i < N_KINDS; i++) {
    if (o.only && strcmp(o.only, g_kinds[i].name) != 0) continue;
    if (run_kind(&o, work, inputs, i, &res[i]) != 0) rc = 1;
  }
  /* the targets, for the debug=2 dump */
  if ((!o.only || strcmp(o.only, "goroutine_debug2") == 0) && res[0].ok) {
    figure("goroutine_debug2", "target_ms", "%.0f", TARGET_MS);
    figure("goroutine_debug2", "time_target_met", "%d", res[0].p50 <= TARGET_MS);
    if (res[0].stored_ratio_first > 0) {
      figure("goroutine_debug2", "target_stored_ratio", "%.2f", TARGET_RATIO);
      figure("goroutine_debug2", "size_target_met", "%d",
             res[0].stored_ratio <= TARGET_RATIO && res[0].stored_ratio_first <= TARGET_RATIO);
    }
  }
  figure(NULL, "loadavg_1m_end", "%.2f", loadavg()); /* the machine's other work: latencies depend on it */
  if (g_failed || g_missing) rc = 1;
  if (o.keep || rc) fprintf(stderr, "bench-runtime: work dir kept: %s\n", work);
  else rm_tree(work);
  curl_global_cleanup();
  fprintf(stderr, "bench-runtime: %s\n", rc == 0 ? "ok" : "FAILED");
  return rc;
}
