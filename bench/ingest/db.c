/* The SQLite side of the benchmark: the plain-SQLite baseline that the server's
 * ingest rate is compared with, and the filler of the trace-by-id database.
 *
 * Both create the server's exact schema by executing the migration files
 * themselves (schema/sql/NNNN_name.sql, in name order), so the table and its three
 * indexes are the server's, not a copy that could drift. The baseline uses the
 * server's connection pragmas (see apply_pragmas) and one prepared
 * INSERT OR IGNORE per row, committing every txn_rows rows: the best a single
 * writer can do with this schema, with no HTTP, decoding or queueing. The ratio
 * server/baseline is therefore "what fraction of SQLite's own speed does the
 * whole server deliver". */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sqlite3.h>

#include "bench.h"
#include "mwb_server.h"

static int exec(sqlite3 *db, const char *sql) {
  char *err = NULL;
  if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
    fprintf(stderr, "bench-ingest: sqlite: %s\n  in: %.200s\n", err ? err : "?", sql);
    sqlite3_free(err);
    return -1;
  }
  return 0;
}

/* The pragmas of the server's write connection, copied from mw__store_open in
 * server/store/store.c (plus its busy timeout): keep them in step, or the
 * baseline measures something else. synchronous is a flag so that both sides
 * can be run at NORMAL and at FULL; the server gets the same value through
 * its --sync. */
static int apply_pragmas(sqlite3 *db, const bi_db_opts *o) {
  char sql[256];
  sqlite3_busy_timeout(db, 5000);
  snprintf(sql, sizeof sql,
           "PRAGMA journal_mode=WAL; PRAGMA synchronous=%s; PRAGMA cache_size=-16384; "
           "PRAGMA temp_store=MEMORY; PRAGMA foreign_keys=OFF;",
           strcmp(o->sync, "full") == 0 ? "FULL" : "NORMAL");
  return exec(db, sql);
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* Runs every migration in schema_dir in name order, as the server does.
 * Returns how many ran, or -1. */
static int apply_schema(sqlite3 *db, const char *dir) {
  DIR *d = opendir(dir);
  if (!d) {
    fprintf(stderr, "bench-ingest: %s: %s\n", dir, strerror(errno));
    return -1;
  }
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".sql") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, n, sizeof *names, cmp_str);
  int rc = n ? 0 : -1;
  if (!n) fprintf(stderr, "bench-ingest: no *.sql in %s\n", dir);
  for (size_t i = 0; i < n; i++) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, names[i]);
    char *sql = (char *)mwb_read_file(path, NULL);
    if (rc == 0 && (!sql || exec(db, sql) != 0)) rc = -1;
    free(sql);
    free(names[i]);
  }
  return rc == 0 ? (int)n : -1;
}

static int open_fresh(const char *path, sqlite3 **db) {
  mwb_remove_db(path);
  /* NOMUTEX as the server's connections: one thread uses it at a time. */
  if (sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
    fprintf(stderr, "bench-ingest: open %s: %s\n", path, sqlite3_errmsg(*db));
    sqlite3_close(*db);
    *db = NULL;
    return -1;
  }
  return 0;
}

/* The sources, operations and scope rows the spans refer to. */
static int insert_dimensions(sqlite3 *db, const bi_corpus *c) {
  sqlite3_stmt *st = NULL;
  int rc = -1;
  if (sqlite3_prepare_v2(db,
                         "INSERT INTO sources (id, service, instance, host, pid, resource, "
                         "first_ns, last_ns) VALUES (?,?,?,?,?,?,?,?)",
                         -1, &st, NULL) != SQLITE_OK)
    goto out;
  for (size_t i = 0; i < c->n_sources; i++) {
    const bi_source *s = &c->sources[i];
    sqlite3_bind_int64(st, 1, (int64_t)i + 1);
    sqlite3_bind_text(st, 2, s->service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, s->instance, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 4, s->host, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 5, s->pid);
    sqlite3_bind_blob(st, 6, s->resource, (int)s->resource_len, SQLITE_STATIC);
    sqlite3_bind_int64(st, 7, c->base_ns - 86400000000000LL);
    sqlite3_bind_int64(st, 8, c->base_ns);
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  st = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO operations (id, service, name) VALUES (?,?,?)", -1, &st, NULL) != SQLITE_OK)
    goto out;
  for (size_t i = 0; i < c->n_ops; i++) {
    sqlite3_bind_int64(st, 1, (int64_t)i + 1);
    sqlite3_bind_text(st, 2, c->ops[i].service, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, c->ops[i].name, -1, SQLITE_STATIC);
    if (sqlite3_step(st) != SQLITE_DONE) goto out;
    sqlite3_reset(st);
  }
  sqlite3_finalize(st);
  st = NULL;
  if (sqlite3_prepare_v2(db, "INSERT INTO scopes (id, body) VALUES (1, ?)", -1, &st, NULL) != SQLITE_OK) goto out;
  sqlite3_bind_blob(st, 1, c->scope, (int)c->scope_len, SQLITE_STATIC);
  if (sqlite3_step(st) != SQLITE_DONE) goto out;
  rc = 0;
out:
  if (rc) fprintf(stderr, "bench-ingest: dimensions: %s\n", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  return rc;
}

static const char k_insert_span[] =
    "INSERT OR IGNORE INTO spans (trace_id, span_id, parent_id, source_id, op_id, scope_id, "
    "start_ns, dur_ns, kind, status, body) VALUES (?,?,?,?,?,?,?,?,?,?,?)";

/* Inserts `rows` rows from the corpus, batch after batch with fresh ids (the
 * same id scheme as the sender), committing every txn_rows. shift_of gives
 * each batch's time shift. Returns 0 or -1. */
static int insert_spans(sqlite3 *db, const bi_corpus *c, const bi_ids *ids, uint64_t rows, uint64_t txn_rows,
                        int64_t (*shift_of)(const bi_corpus *, uint64_t m, uint64_t total_batches)) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(db, k_insert_span, -1, &st, NULL) != SQLITE_OK) {
    fprintf(stderr, "bench-ingest: prepare: %s\n", sqlite3_errmsg(db));
    return -1;
  }
  uint64_t done = 0, in_txn = 0, m = 0, trace_k = 0, span_k = 0;
  uint32_t per_batch = c->batches[0].n_spans;
  uint64_t total_batches = (rows + per_batch - 1) / per_batch;
  int rc = exec(db, "BEGIN");
  while (rc == 0 && done < rows && c->as_is) {
    /* A corpus file: each batch once, with its own ids and times. */
    const bi_batch *b = &c->batches[m++];
    for (uint32_t i = 0; i < b->n_spans && done < rows; i++, done++) {
      const bi_span *s = &b->spans[i];
      sqlite3_bind_blob(st, 1, b->data + s->trace_off, 16, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, b->data + s->span_off, 8, SQLITE_STATIC);
      if (s->parent_off) sqlite3_bind_blob(st, 3, b->data + s->parent_off, 8, SQLITE_STATIC);
      else sqlite3_bind_null(st, 3);
      sqlite3_bind_int64(st, 4, b->source_id);
      sqlite3_bind_int64(st, 5, s->op_id);
      sqlite3_bind_int64(st, 6, 1);
      sqlite3_bind_int64(st, 7, s->start_ns);
      sqlite3_bind_int64(st, 8, s->dur_ns);
      sqlite3_bind_int(st, 9, s->kind);
      sqlite3_bind_int(st, 10, s->status);
      sqlite3_bind_blob(st, 11, s->body, (int)s->body_len, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "bench-ingest: insert: %s\n", sqlite3_errmsg(db));
        rc = -1;
        break;
      }
      sqlite3_reset(st);
      if (++in_txn == txn_rows) {
        in_txn = 0;
        if (exec(db, "COMMIT") != 0 || exec(db, "BEGIN") != 0) rc = -1;
      }
    }
  }
  while (rc == 0 && done < rows && !c->as_is) {
    const bi_batch *b = &c->batches[m % c->n_batches];
    int64_t shift = shift_of(c, m, total_batches);
    uint8_t tid[64][16], sid[1024][8];
    for (uint32_t t = 0; t < b->n_traces; t++) bi_trace_id(ids, trace_k + t, tid[t]);
    for (uint32_t i = 0; i < b->n_spans; i++) bi_span_id(ids, span_k + i, sid[i]);
    for (uint32_t i = 0; i < b->n_spans && done < rows; i++, done++) {
      const bi_span *s = &b->spans[i];
      sqlite3_bind_blob(st, 1, tid[s->trace], 16, SQLITE_STATIC);
      sqlite3_bind_blob(st, 2, sid[i], 8, SQLITE_STATIC);
      if (s->parent >= 0) sqlite3_bind_blob(st, 3, sid[s->parent], 8, SQLITE_STATIC);
      else sqlite3_bind_null(st, 3);
      sqlite3_bind_int64(st, 4, b->source_id);
      sqlite3_bind_int64(st, 5, s->op_id);
      sqlite3_bind_int64(st, 6, 1);
      sqlite3_bind_int64(st, 7, s->start_ns + shift);
      sqlite3_bind_int64(st, 8, s->dur_ns);
      sqlite3_bind_int(st, 9, s->kind);
      sqlite3_bind_int(st, 10, s->status);
      sqlite3_bind_blob(st, 11, s->body, (int)s->body_len, SQLITE_STATIC);
      if (sqlite3_step(st) != SQLITE_DONE) {
        fprintf(stderr, "bench-ingest: insert: %s\n", sqlite3_errmsg(db));
        rc = -1;
        break;
      }
      sqlite3_reset(st);
      if (++in_txn == txn_rows) {
        in_txn = 0;
        if (exec(db, "COMMIT") != 0 || exec(db, "BEGIN") != 0) rc = -1;
      }
    }
    trace_k += b->n_traces;
    span_k += b->n_spans;
    m++;
  }
  if (rc == 0) rc = exec(db, "COMMIT");
  sqlite3_finalize(st);
  return rc;
}

/* The baseline stamps times as the sender does: around now. */
static int64_t shift_now(const bi_corpus *c, uint64_t m, uint64_t total) {
  (void)m;
  (void)total;
  return bi_now_ns() - c->base_ns;
}

static double thread_cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int bi_baseline_run(const bi_corpus *c, const bi_db_opts *o, const char *path, uint64_t rows, uint64_t txn_rows,
                    uint64_t seed, double *rows_per_s, double *cpu_s, const char *bytes_prefix) {
  sqlite3 *db = NULL;
  bi_ids ids;
  bi_ids_init(&ids, seed);
  if (open_fresh(path, &db) != 0) return -1;
  int rc = -1;
  if (apply_pragmas(db, o) || apply_schema(db, o->schema_dir) < 0 || insert_dimensions(db, c)) goto out;
  double t0 = bi_mono_s(), c0 = thread_cpu_s();
  if (insert_spans(db, c, &ids, rows, txn_rows, shift_now) != 0) goto out;
  double t1 = bi_mono_s(), c1 = thread_cpu_s();
  *rows_per_s = (double)rows / (t1 - t0);
  *cpu_s = c1 - c0;
  rc = 0;
out:
  sqlite3_close(db);
  if (rc == 0 && bytes_prefix && bi_db_bytes_report(path, rows, bytes_prefix) < 0) rc = -1;
  mwb_remove_db(path);
  return rc;
}

/* The query database holds a day of spans: batch m of total ends
 * (total - m) / total days before the corpus was made. */
static int64_t shift_day(const bi_corpus *c, uint64_t m, uint64_t total) {
  (void)c;
  return -(int64_t)((double)(total - m) / (double)total * 86400e9);
}

int bi_fill_query_db(const bi_corpus *c, const bi_db_opts *o, const char *path, uint64_t n, uint64_t seed) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  char *index_sql[32];
  size_t n_index = 0;
  bi_ids ids;
  bi_ids_init(&ids, seed);
  if (open_fresh(path, &db) != 0) return -1;
  int rc = -1, migrations = apply_schema(db, o->schema_dir);
  if (migrations < 0) goto out;
  /* A bulk load then one sort per index is several times faster than keeping
   * three B-trees up to date row by row; the indexes come back from their own
   * CREATE statements, so they are still exactly the server's. */
  if (sqlite3_prepare_v2(db,
                         "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND "
                         "tbl_name = 'spans' AND sql IS NOT NULL",
                         -1, &st, NULL) != SQLITE_OK)
    goto out;
  char *index_name[32];
  while (sqlite3_step(st) == SQLITE_ROW && n_index < 32) {
    index_name[n_index] = strdup((const char *)sqlite3_column_text(st, 0));
    index_sql[n_index++] = strdup((const char *)sqlite3_column_text(st, 1));
  }
  sqlite3_finalize(st);
  st = NULL;
  for (size_t i = 0; i < n_index; i++) {
    char drop[300];
    snprintf(drop, sizeof drop, "DROP INDEX \"%s\"", index_name[i]);
    free(index_name[i]);
    if (rc == -1 && exec(db, drop) != 0) rc = -2;
  }
  if (rc == -2) {
    rc = -1;
    goto out;
  }
  if (exec(db, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-262144;"
               "PRAGMA temp_store=FILE;") ||
      insert_dimensions(db, c))
    goto out;
  double t0 = bi_mono_s();
  if (insert_spans(db, c, &ids, n, 200000, shift_day) != 0) goto out;
  double t1 = bi_mono_s();
  for (size_t i = 0; i < n_index; i++)
    if (exec(db, index_sql[i]) != 0) goto out;
  double t2 = bi_mono_s();
  fprintf(stderr, "bench-ingest: query db: %llu spans loaded in %.1f s, indexed in %.1f s\n", (unsigned long long)n,
          t1 - t0, t2 - t1);
  /* What the server's writer would have left: per-operation span counts, and
   * the markers with which the server recognises a migrated database of its
   * own (application_id 'MWHL' is MW__APPLICATION_ID of server/store). */
  char marks[160];
  snprintf(marks, sizeof marks, "PRAGMA application_id=%d; PRAGMA user_version=%d;", 0x4D57484C, migrations);
  if (exec(db, "UPDATE operations SET span_count = "
               "(SELECT count(*) FROM spans WHERE op_id = operations.id)") ||
      exec(db, marks) || exec(db, "ANALYZE; PRAGMA journal_mode=WAL;"))
    goto out;
  rc = 0;
out:
  if (rc) fprintf(stderr, "bench-ingest: query db: %s\n", sqlite3_errmsg(db));
  sqlite3_finalize(st);
  for (size_t i = 0; i < n_index; i++) free(index_sql[i]);
  sqlite3_close(db);
  if (rc) mwb_remove_db(path);
  return rc;
}

int bi_pick_trace_ids(const char *path, size_t n, uint8_t *out, uint64_t seed) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  int rc = -1;
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK) goto out;
  if (sqlite3_prepare_v2(db, "SELECT max(rowid) FROM spans", -1, &st, NULL) != SQLITE_OK ||
      sqlite3_step(st) != SQLITE_ROW)
    goto out;
  int64_t max = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  st = NULL;
  if (max <= 0) {
    fprintf(stderr, "bench-ingest: %s has no spans\n", path);
    goto out;
  }
  if (sqlite3_prepare_v2(db, "SELECT trace_id FROM spans WHERE rowid >= ? ORDER BY rowid LIMIT 1", -1, &st, NULL) !=
      SQLITE_OK)
    goto out;
  for (size_t i = 0; i < n; i++) {
    sqlite3_bind_int64(st, 1, 1 + (int64_t)(bi_rand64(&seed) % (uint64_t)max));
    if (sqlite3_step(st) != SQLITE_ROW || sqlite3_column_bytes(st, 0) != 16) goto out;
    memcpy(out + 16 * i, sqlite3_column_blob(st, 0), 16);
    sqlite3_reset(st);
  }
  rc = 0;
out:
  if (rc) fprintf(stderr, "bench-ingest: picking trace ids from %s: %s\n", path, sqlite3_errmsg(db));
  sqlite3_finalize(st);
  sqlite3_close(db);
  return rc;
}

static long long file_bytes(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (long long)st.st_size : 0;
}

/* Name and bytes of each table and index, from dbstat through the library
 * (1), else through the sqlite3 CLI (2); 0 when neither has dbstat. */
#define DBSTAT_SQL "SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"
typedef struct dbstat_row {
  char name[128];
  long long bytes;
} dbstat_row;

static int dbstat_rows(const char *path, dbstat_row *rows, size_t cap, size_t *n) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  *n = 0;
  /* BI_DBSTAT_CLI=1 takes the CLI path even when the library has dbstat
   * (to check that path). */
  const char *force_cli = getenv("BI_DBSTAT_CLI");
  if (!(force_cli && *force_cli == '1') && sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK &&
      sqlite3_prepare_v2(db, DBSTAT_SQL, -1, &st, NULL) == SQLITE_OK) {
    while (sqlite3_step(st) == SQLITE_ROW && *n < cap) {
      snprintf(rows[*n].name, sizeof rows[*n].name, "%s", (const char *)sqlite3_column_text(st, 0));
      rows[(*n)++].bytes = sqlite3_column_int64(st, 1);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return 1;
  }
  sqlite3_close(db);
  char cmd[4600];
  snprintf(cmd, sizeof cmd, "sqlite3 -readonly -separator ' ' '%s' \"" DBSTAT_SQL "\" 2>/dev/null", path);
  FILE *p = popen(cmd, "r");
  if (!p) return 0;
  char line[512];
  while (fgets(line, sizeof line, p) && *n < cap)
    if (sscanf(line, "%127s %lld", rows[*n].name, &rows[*n].bytes) == 2) (*n)++;
  return pclose(p) == 0 && *n ? 2 : 0;
}

double bi_db_bytes_report(const char *path, uint64_t spans, const char *prefix) {
  char wal[4200], key[512];
  sqlite3 *db = NULL;
  snprintf(wal, sizeof wal, "%s-wal", path);
  /* Whatever the WAL still holds goes into the file first, so that the two
   * sizes together are what the data takes, not a WAL's leftover length. */
  if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK ||
      exec(db, "PRAGMA wal_checkpoint(TRUNCATE)") != 0) {
    fprintf(stderr, "bench-ingest: checkpoint of %s: %s\n", path, db ? sqlite3_errmsg(db) : "?");
    sqlite3_close(db);
    return -1;
  }
  sqlite3_close(db);
  long long db_bytes = file_bytes(path), wal_bytes = file_bytes(wal);
  double per = spans ? (double)(db_bytes + wal_bytes) / (double)spans : 0;
  snprintf(key, sizeof key, "%.200s.db_bytes", prefix);
  bi_figure(key, "%lld", db_bytes);
  snprintf(key, sizeof key, "%.200s.wal_bytes", prefix);
  bi_figure(key, "%lld", wal_bytes);
  snprintf(key, sizeof key, "%.200s.bytes_per_span", prefix);
  bi_figure(key, "%.1f", per);
  dbstat_row rows[64];
  size_t n;
  int via = dbstat_rows(path, rows, 64, &n);
  snprintf(key, sizeof key, "%.200s.dbstat_via", prefix);
  bi_figure(key, "%s", via == 1 ? "sqlite3-library" : via == 2 ? "sqlite3-cli" : "none");
  /* The tables and indexes of more than one page, largest first; the many
   * that hold nothing here (runtime data, execution traces) go together. */
  long long rest = 0;
  for (size_t i = 0; i < n; i++) {
    if (rows[i].bytes <= 4096) {
      rest += rows[i].bytes;
      continue;
    }
    snprintf(key, sizeof key, "%.200s.dbstat.%.127s_bytes", prefix, rows[i].name);
    bi_figure(key, "%lld", rows[i].bytes);
    snprintf(key, sizeof key, "%.200s.dbstat.%.127s_bytes_per_span", prefix, rows[i].name);
    bi_figure(key, "%.1f", spans ? (double)rows[i].bytes / (double)spans : 0);
  }
  if (n) {
    snprintf(key, sizeof key, "%.200s.dbstat.one_page_each_bytes", prefix);
    bi_figure(key, "%lld", rest);
  }
  return per;
}
