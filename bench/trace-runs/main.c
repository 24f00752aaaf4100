/* bench-trace-runs: the trace index in sorted runs (server/store/trace_runs.c)
 * against today's kind of trace index, a B-tree keyed by the full 16-byte
 * trace id taking random inserts at every group commit, in the same run, on
 * the same entries (see README.md).
 *
 * Entries: what --spans spans make (0.35 (trace, block) entries a span, blocks
 * of 1,024 spans in time order, ~15% of traces also in the next block), so
 * 10M spans -> 3.5M entries in ~9,800 blocks. The runs index takes them into
 * its memory partition and flushes one run every entries/--runs; the
 * baseline inserts each entry and commits every --commit entries (the
 * writer's group commit). For both: CPU (user+sys of this process) and bytes
 * written (/proc/self/io write_bytes, WAL and checkpoints included) per entry,
 * file bytes per entry; then --lookups lookups of random existing trace ids,
 * interleaved (runs one statement, runs loop, baseline), p50/p99; then, with
 * --merge N, the runs merged N at a time into level 1 (cost per entry), and
 * the lookups again. Ratios are against the baseline: the machine is shared. */
#define _GNU_SOURCE
#include <inttypes.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "core/error.h"
#include "store/schema.h"
#include "store/trace_runs.h"

#include "mwb_server.h"

static uint64_t rs = 0x9E3779B97F4A7C15ull;
static uint64_t rnd(void) {
  rs ^= rs << 13;
  rs ^= rs >> 7;
  rs ^= rs << 17;
  return rs;
}

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void) {
  struct rusage u;
  getrusage(RUSAGE_SELF, &u);
  return (double)u.ru_utime.tv_sec + (double)u.ru_utime.tv_usec / 1e6 + (double)u.ru_stime.tv_sec +
         (double)u.ru_stime.tv_usec / 1e6;
}

static uint64_t write_bytes(void) {
  FILE *f = fopen("/proc/self/io", "r");
  char line[128];
  uint64_t v = 0;
  while (f && fgets(line, sizeof line, f))
    if (sscanf(line, "write_bytes: %" SCNu64, &v) == 1) break;
  if (f) fclose(f);
  return v;
}

static void die(sqlite3 *db, const char *what) {
  fprintf(stderr, "bench-trace-runs: %s: %s\n", what, db ? sqlite3_errmsg(db) : "failed");
  exit(1);
}

static void exec(sqlite3 *db, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
    fprintf(stderr, "bench-trace-runs: %s: %s\n", sql, msg);
    exit(1);
  }
}

static sqlite3 *open_db(const char *path) {
  sqlite3 *db;
  if (sqlite3_open(path, &db) != SQLITE_OK) die(db, path);
  /* the store's settings (store.c) */
  exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA cache_size=-16384; "
           "PRAGMA temp_store=MEMORY");
  return db;
}

typedef struct entry {
  uint8_t id[16];
  int64_t block, t_ns;
} entry;

typedef struct cost {
  double cpu, bytes_written, file_bytes;
} cost;

static int cmp_kb(const void *a, const void *b) {
  const int64_t *x = a, *y = b;
  if (x[0] != y[0]) return x[0] < y[0] ? -1 : 1;
  return x[1] < y[1] ? -1 : x[1] > y[1];
}

static int cmpd(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double pct(double *v, size_t n, double p) {
  qsort(v, n, sizeof *v, cmpd);
  size_t i = (size_t)(p * (double)n);
  return v[i < n ? i : n - 1];
}

int main(int argc, char **argv) {
  long long spans = 10000000, runs = 200, lookups = 2000, commit = 1000, merge = 0, seed = 1;
  const char *dir = ".";
  for (int i = 1; i < argc; i += 2) {
    const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
    if (!v) goto usage;
    if (!strcmp(a, "--spans")) spans = atoll(v);
    else if (!strcmp(a, "--runs")) runs = atoll(v);
    else if (!strcmp(a, "--lookups")) lookups = atoll(v);
    else if (!strcmp(a, "--commit")) commit = atoll(v);
    else if (!strcmp(a, "--merge")) merge = atoll(v);
    else if (!strcmp(a, "--seed")) seed = atoll(v);
    else if (!strcmp(a, "--dir")) dir = v;
    else goto usage;
  }
  if (spans < 1024 || runs < 1 || lookups < 1 || commit < 1 || merge < 0) goto usage;
  setvbuf(stdout, NULL, _IOLBF, 0);
  rs ^= (uint64_t)seed * 0x2545F4914F6CDD1Dull;
  for (int i = 0; i < 8; i++) rnd();

  /* ---- the entries, in time order ---- */
  size_t n_blocks = (size_t)(spans / 1024), per_block = (size_t)(1024 * 0.35), n = 0;
  entry *e = malloc(n_blocks * per_block * sizeof *e);
  if (!e) die(NULL, "malloc");
  const int64_t t0 = 1796500000000000000, block_ns = 60000000; /* a block every 60 ms: 10M spans in ~10 min */
  for (size_t b = 0; b < n_blocks; b++)
    for (size_t j = 0; j < per_block; j++) {
      entry *x = &e[n];
      if (b > 0 && rnd() % 100 < 15) /* a trace of the previous block goes on in this one */
        memcpy(x->id, e[(b - 1) * per_block + (rnd() % per_block)].id, 16);
      else
        for (int k = 0; k < 16; k += 8) {
          uint64_t r = rnd();
          memcpy(x->id + k, &r, 8);
        }
      x->block = (int64_t)b + 1;
      x->t_ns = t0 + (int64_t)b * block_ns;
      n++;
    }
  printf("entries %zu  # %lld spans, %zu blocks, %lld runs, baseline commits every %lld entries\n", n, spans, n_blocks,
         runs, commit);

  char pr[512], pb[512];
  snprintf(pr, sizeof pr, "%s/bench-trace-runs-%d-runs.db", dir, (int)getpid());
  snprintf(pb, sizeof pb, "%s/bench-trace-runs-%d-btree.db", dir, (int)getpid());
  mwb_remove_db(pr);
  mwb_remove_db(pb);

  /* ---- runs: insert ---- */
  sqlite3 *dr = open_db(pr);
  char err[256] = "";
  if (mw__schema_apply(dr, 0, err, sizeof err)) die(NULL, err); /* migration 0008 has the tables */
  mw__truns_w *tw;
  mw__truns_mem *m = mw__truns_mem_new();
  if (mw__truns_w_open(dr, &tw) || !m) die(dr, "trace_runs");
  size_t per_run = (n + (size_t)runs - 1) / (size_t)runs;
  cost cr, cb;
  double c0 = cpu_s();
  uint64_t w0 = write_bytes();
  for (size_t i = 0; i < n; i++) {
    if (mw__truns_add(m, mw__trace_key(e[i].id), e[i].block, e[i].t_ns, e[i].t_ns + block_ns))
      die(NULL, "trace_runs add");
    if (mw__truns_mem_count(m) >= per_run || i == n - 1) {
      int64_t id;
      exec(dr, "BEGIN IMMEDIATE");
      if (mw__truns_flush(tw, m, &id)) die(dr, "flush");
      exec(dr, "COMMIT");
      mw__truns_mem_clear(m);
    }
  }
  exec(dr, "PRAGMA wal_checkpoint(TRUNCATE)");
  cr.cpu = cpu_s() - c0;
  cr.bytes_written = (double)(write_bytes() - w0);
  struct stat sb;
  stat(pr, &sb);
  cr.file_bytes = (double)sb.st_size;

  /* ---- baseline: a random-insert B-tree by full trace id ---- */
  sqlite3 *db = open_db(pb);
  exec(db, "CREATE TABLE trace_idx (trace_id BLOB NOT NULL, block_id INTEGER NOT NULL, "
           "PRIMARY KEY (trace_id, block_id)) WITHOUT ROWID");
  sqlite3_stmt *ins;
  if (sqlite3_prepare_v2(db, "INSERT OR IGNORE INTO trace_idx VALUES (?1, ?2)", -1, &ins, NULL)) die(db, "prepare");
  c0 = cpu_s();
  w0 = write_bytes();
  exec(db, "BEGIN IMMEDIATE");
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_blob(ins, 1, e[i].id, 16, SQLITE_STATIC);
    sqlite3_bind_int64(ins, 2, e[i].block);
    if (sqlite3_step(ins) != SQLITE_DONE) die(db, "insert");
    sqlite3_reset(ins);
    if ((i + 1) % (size_t)commit == 0) exec(db, "COMMIT; BEGIN IMMEDIATE");
  }
  exec(db, "COMMIT");
  exec(db, "PRAGMA wal_checkpoint(TRUNCATE)");
  cb.cpu = cpu_s() - c0;
  cb.bytes_written = (double)(write_bytes() - w0);
  stat(pb, &sb);
  cb.file_bytes = (double)sb.st_size;
  sqlite3_finalize(ins);

  double N = (double)n;
  printf("insert.runs.cpu_us_per_entry %.3f\n", cr.cpu / N * 1e6);
  printf("insert.btree.cpu_us_per_entry %.3f\n", cb.cpu / N * 1e6);
  printf("insert.cpu_ratio %.3f  # runs / btree\n", cr.cpu / cb.cpu);
  printf("insert.runs.written_bytes_per_entry %.1f\n", cr.bytes_written / N);
  printf("insert.btree.written_bytes_per_entry %.1f\n", cb.bytes_written / N);
  printf("insert.written_ratio %.4f  # runs / btree\n", cb.bytes_written > 0 ? cr.bytes_written / cb.bytes_written : 0);
  printf("file.runs.bytes_per_entry %.1f\n", cr.file_bytes / N);
  printf("file.btree.bytes_per_entry %.1f\n", cb.file_bytes / N);

  /* ---- lookups: fresh read connections, warm page cache ---- */
  sqlite3 *rr = open_db(pr), *rb = open_db(pb);
  mw__truns_rd *rd;
  sqlite3_stmt *sel;
  if (mw__truns_rd_open(rr, &rd)) die(rr, "trace_runs reader");
  if (sqlite3_prepare_v2(rb, "SELECT block_id FROM trace_idx WHERE trace_id = ?1", -1, &sel, NULL)) die(rb, "prepare");
  {
    sqlite3_stmt *pl;
    if (sqlite3_prepare_v2(rr,
                           "EXPLAIN QUERY PLAN SELECT block_id FROM trace_runs WHERE run_id IN "
                           "(SELECT run_id FROM trace_run_list WHERE level >= 0) AND trace_key = 1",
                           -1, &pl, NULL) == SQLITE_OK) {
      printf("plan.runs");
      while (sqlite3_step(pl) == SQLITE_ROW) printf(" / %s", (const char *)sqlite3_column_text(pl, 3));
      printf("\n");
      sqlite3_finalize(pl);
    }
  }
  { /* every distinct (key, block) is in the runs once */
    int64_t(*kb)[2] = malloc(n * sizeof *kb);
    if (!kb) die(NULL, "malloc");
    for (size_t i = 0; i < n; i++) {
      kb[i][0] = mw__trace_key(e[i].id);
      kb[i][1] = e[i].block;
    }
    qsort(kb, n, sizeof *kb, cmp_kb);
    size_t distinct = 0;
    for (size_t i = 0; i < n; i++) distinct += i == 0 || cmp_kb(kb[i], kb[i - 1]) != 0;
    free(kb);
    sqlite3_stmt *st;
    int64_t stored = -1;
    if (sqlite3_prepare_v2(rr, "SELECT count(*) FROM (SELECT DISTINCT trace_key, block_id FROM trace_runs)", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
      stored = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    printf("runs.live %" PRId64 "  # %" PRId64 " distinct (key, block) stored, %zu made\n", mw__truns_run_count(rd),
           stored, distinct);
    if (stored != (int64_t)distinct) {
      fprintf(stderr, "bench-trace-runs: the runs hold %" PRId64 " entries, not %zu\n", stored, distinct);
      return 1;
    }
  }
  for (int round = 0; round < (merge ? 2 : 1); round++) {
    if (round == 1) { /* merge the runs, merge at a time, into level 1 */
      mw__truns_merge_opts o = {
          .level = 0, .before_ns = INT64_MAX, .min_runs = 2, .max_runs = (size_t)merge, .budget = 20000};
      c0 = cpu_s();
      w0 = write_bytes();
      double s0 = now_s(), worst = 0;
      size_t work, calls = 0;
      do {
        double t = now_s();
        exec(dr, "BEGIN IMMEDIATE");
        if (mw__truns_maintain(tw, &o, &work)) die(dr, "maintain");
        exec(dr, "COMMIT");
        t = now_s() - t;
        if (t > worst) worst = t;
        calls++;
      } while (work > 0);
      exec(dr, "PRAGMA wal_checkpoint(TRUNCATE)");
      stat(pr, &sb);
      printf("merge.runs_after %" PRId64 "  # %zu calls of budget 20000, %.1f s, slowest call %.1f ms\n",
             mw__truns_run_count(rd), calls, now_s() - s0, worst * 1e3);
      printf("merge.cpu_us_per_entry %.3f\n", (cpu_s() - c0) / N * 1e6);
      printf("merge.written_bytes_per_entry %.1f\n", (double)(write_bytes() - w0) / N);
      printf("merge.file_bytes_per_entry %.1f  # free pages not given back (no vacuum here)\n", (double)sb.st_size / N);
    }
    double *l[3];
    for (int k = 0; k < 3; k++) l[k] = malloc((size_t)lookups * sizeof(double));
    int64_t out[64];
    size_t got;
    for (long long q = 0; q < lookups; q++) {
      const entry *x = &e[rnd() % n];
      for (int k0 = 0; k0 < 3; k0++) {
        int k = (int)((k0 + q) % 3); /* rotate the order */
        double t = now_s();
        int found = 0;
        if (k < 2) {
          if (mw__truns_lookup(rd, NULL, mw__trace_key(x->id), k == 0 ? MW_TRUNS_ONE_STATEMENT : MW_TRUNS_LOOP, out, 64,
                               &got))
            die(rr, "lookup");
          for (size_t i = 0; i < got; i++) found |= out[i] == x->block;
        } else {
          sqlite3_bind_blob(sel, 1, x->id, 16, SQLITE_STATIC);
          while (sqlite3_step(sel) == SQLITE_ROW) found |= sqlite3_column_int64(sel, 0) == x->block;
          sqlite3_reset(sel);
        }
        l[k][q] = now_s() - t;
        if (!found) {
          fprintf(stderr, "bench-trace-runs: lookup %d missed block %" PRId64 "\n", k, x->block);
          return 1;
        }
      }
    }
    const char *name[3] = {"runs_in", "runs_loop", "btree"};
    double p50[3], p99[3];
    const char *tag = round ? "merged." : "";
    for (int k = 0; k < 3; k++) {
      p50[k] = pct(l[k], (size_t)lookups, 0.5) * 1e3;
      p99[k] = pct(l[k], (size_t)lookups, 0.99) * 1e3;
      printf("lookup.%s%s.p50_ms %.3f\nlookup.%s%s.p99_ms %.3f\n", tag, name[k], p50[k], tag, name[k], p99[k]);
    }
    for (int k = 0; k < 2; k++)
      printf("lookup.%s%s.ratio p50 %.1f p99 %.1f  # / btree\n", tag, name[k], p50[k] / p50[2], p99[k] / p99[2]);
    for (int k = 0; k < 3; k++) free(l[k]);
  }
  double la[3] = {0};
  if (getloadavg(la, 3) > 0) printf("loadavg %.2f %.2f %.2f\n", la[0], la[1], la[2]);

  sqlite3_finalize(sel);
  mw__truns_rd_close(rd);
  mw__truns_w_close(tw);
  mw__truns_mem_free(m);
  sqlite3_close(rr);
  sqlite3_close(rb);
  sqlite3_close(dr);
  sqlite3_close(db);
  mwb_remove_db(pr);
  mwb_remove_db(pb);
  free(e);
  return 0;
usage:
  fprintf(stderr, "usage: bench-trace-runs [--spans 10000000] [--runs 200] [--lookups 2000] [--commit 1000] "
                  "[--merge N] [--seed 1] [--dir .]\n");
  return 2;
}
