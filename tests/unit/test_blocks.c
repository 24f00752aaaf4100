/* Tests for the writer's open blocks and the readers' view of them
 * (store/blocks.c), on a temp SQLite file migrated to 0008, sealing through
 * mw__bw_seal as the writer does. The writer's commits are driven by hand
 * (BEGIN IMMEDIATE, stage, COMMIT, mw__blk_apply) with an injected clock,
 * and readers run on their own connections between them. Expected answers
 * come from the list of spans the test sent (with the commit that made each
 * durable); the module's own answers are never used as expectations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zstd.h>

#include "core/error.h"
#include "core/timefmt.h"
#include "store/block_write.h"
#include "store/blocks.h"
#include "store/resent.h"
#include "store/readers.h"
#include "store/schema.h"
#include "store/sref.h"
#include "store_fixture.h"
#include "sql_assert.h"

enum { READERS = 3, TRACES = 40, MAX_SENT = 40000 };

typedef struct sent {
  mw__sb_span s;
  uint8_t body[24];
  int64_t source;
  int64_t seq;  /* the commit that made it durable; 0: not (yet) */
  int in_block; /* sealed (the test's own bookkeeping) */
  int64_t tail; /* the span_tail row holding it while unsealed */
} sent;

typedef struct fx {
  char path[64];
  sqlite3 *w, *r[READERS];
  mw__truns_w *tw;
  mw__truns_rd *rd[READERS];
  mw__bw *bw;
  mw__blk *b;
  ZSTD_DCtx *d;
  ZSTD_CCtx *c;
  sent *v;
  size_t n;
  uint8_t traces[TRACES][16];
  uint64_t rng;
  int64_t now, tail_seq;
  size_t seals, flushes;
} fx;

static uint64_t rnd(fx *f) {
  f->rng ^= f->rng << 13;
  f->rng ^= f->rng >> 7;
  f->rng ^= f->rng << 17;
  return f->rng;
}

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  snprintf(f->path, sizeof f->path, "/tmp/mw-blocks-XXXXXX");
  int fd = mkstemp(f->path);
  assert_true(fd >= 0);
  close(fd);
  assert_int_equal(sqlite3_open(f->path, &f->w), SQLITE_OK);
  sqlt_exec(f->w, "PRAGMA journal_mode=WAL");
  char err[256] = "";
  if (mw__schema_apply(f->w, 0, err, sizeof err)) fail_msg("the migrations: %s", err);
  assert_int_equal(mw__truns_w_open(f->w, &f->tw), MW_OK);
  assert_int_equal(mw__bw_open(f->w, &f->bw), MW_OK);
  for (int i = 0; i < READERS; i++) {
    assert_int_equal(sqlite3_open(f->path, &f->r[i]), SQLITE_OK);
    assert_int_equal(mw__truns_rd_open(f->r[i], &f->rd[i]), MW_OK);
  }
  f->b = mw__blk_new();
  f->d = ZSTD_createDCtx();
  f->c = ZSTD_createCCtx();
  f->v = calloc(MAX_SENT, sizeof *f->v);
  assert_non_null(f->b);
  assert_non_null(f->v);
  f->rng = 0x9e3779b97f4a7c15ULL; /* MW_BLOCKS_SEED=n: another sequence (the cases must hold for any) */
  if (getenv("MW_BLOCKS_SEED")) f->rng ^= (uint64_t)atoll(getenv("MW_BLOCKS_SEED")) * 0x2545f4914f6cdd1dULL;
  for (int t = 0; t < TRACES; t++)
    for (int k = 0; k < 16; k++) f->traces[t][k] = (uint8_t)rnd(f);
  f->traces[1][0] = f->traces[0][0]; /* two traces that share a key: candidates, not answers */
  memcpy(f->traces[1], f->traces[0], 8);
  f->now = 1000000000000LL;
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  mw__blk_free(f->b);
  for (int i = 0; i < READERS; i++) {
    mw__truns_rd_close(f->rd[i]);
    sqlite3_close(f->r[i]);
  }
  mw__bw_close(f->bw);
  mw__truns_w_close(f->tw);
  sqlite3_close(f->w);
  ZSTD_freeDCtx(f->d);
  ZSTD_freeCCtx(f->c);
  sqlt_remove_db(f->path);
  free(f->v);
  free(f);
  return 0;
}

/* A new span of trace t, source src, starting at start: its span id is its
 * place in f->v (+1), big-endian, so that a span found maps back to it. */
static sent *new_span(fx *f, int t, int64_t src, int64_t start) {
  assert_true(f->n < MAX_SENT);
  sent *x = &f->v[f->n];
  memset(x, 0, sizeof *x);
  uint64_t id = f->n + 1;
  for (int k = 0; k < 8; k++) x->s.span_id[k] = (uint8_t)(id >> (56 - 8 * k));
  memcpy(x->s.trace_id, f->traces[t], 16);
  x->s.has_parent = (int)(rnd(f) & 1);
  if (x->s.has_parent) memset(x->s.parent_id, 0x5a, 8);
  x->s.op_id = 1 + (int64_t)(rnd(f) % 5);
  x->s.scope_id = 7;
  x->s.start_ns = start;
  x->s.dur_ns = (int64_t)(rnd(f) % 5000000);
  x->s.kind = 2;
  x->s.status = (int)(rnd(f) % 3);
  size_t bl = rnd(f) % sizeof x->body;
  for (size_t k = 0; k < bl; k++) x->body[k] = (uint8_t)rnd(f);
  x->s.body = bl ? x->body : NULL;
  x->s.body_len = bl;
  x->source = src;
  f->n++;
  return x;
}

/* Seals src's staged block as the writer does, inside the transaction. */
static void seal(fx *f, int64_t src) {
  const mw__sb_span *v;
  size_t n;
  int64_t tail;
  assert_int_equal(mw__blk_seal_input(f->b, src, &v, &n, &tail), MW_OK);
  mw__bw_sealed out;
  assert_int_equal(mw__bw_seal(f->bw, src, v, n, NULL, NULL, NULL, &out), MW_OK);
  assert_int_equal(mw__blk_stage_sealed(f->b, src, out.block_id), MW_OK);
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM span_tail WHERE source_id = %lld AND seq <= %lld", (long long)src,
           (long long)tail);
  sqlt_exec(f->w, sql);
  for (size_t i = 0; i < f->n; i++)
    if (f->v[i].source == src && !f->v[i].in_block && f->v[i].tail > 0 && f->v[i].tail <= tail) f->v[i].in_block = 1;
  f->seals++;
}

/* One span_tail row of spans v[from..to) (one source). */
static void tail_row(fx *f, size_t from, size_t to) {
  mw__sb_span tmp[64];
  assert_true(to - from <= 64);
  for (size_t i = from; i < to; i++) tmp[i - from] = f->v[i].s;
  mw_buf buf;
  mw__buf_init(&buf, SIZE_MAX);
  assert_int_equal(mw__blk_tail_encode(f->c, tmp, to - from, &buf), MW_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(f->w, "INSERT INTO span_tail (source_id, seq, n, data) VALUES (?1, ?2, ?3, ?4)",
                                      -1, &st, NULL),
                   SQLITE_OK);
  int64_t seq = ++f->tail_seq;
  sqlite3_bind_int64(st, 1, f->v[from].source);
  sqlite3_bind_int64(st, 2, seq);
  sqlite3_bind_int64(st, 3, (int64_t)(to - from));
  sqlite3_bind_blob(st, 4, buf.data, (int)buf.len, SQLITE_TRANSIENT);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
  mw__buf_free(&buf);
  mw__blk_stage_tail(f->b, f->v[from].source, seq);
  for (size_t i = from; i < to; i++) f->v[i].tail = seq;
}

/* The writer's commit: k new spans of source src (random traces), sealing
 * first when mw__blk_must_seal says so, one tail row per run of spans that go
 * to one block; then the idle seals of every source due at now. */
static void commit(fx *f, int64_t src, size_t k, int64_t start, int64_t spread) {
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  mw__blk_txn_begin(f->b);
  mw__blk_job_begin(f->b);
  size_t from = f->n;
  for (size_t i = 0; i < k; i++) {
    int t = (int)(rnd(f) % TRACES); /* (one call a statement: the same sequence whatever the compiler) */
    int64_t at = start + (spread ? (int64_t)(rnd(f) % (uint64_t)spread) : 0);
    sent *x = new_span(f, t, src, at);
    if (mw__blk_must_seal(f->b, src, &x->s, f->now)) {
      if (f->n - 1 > from) tail_row(f, from, f->n - 1);
      seal(f, src);
      from = f->n - 1;
    }
    assert_int_equal(mw__blk_stage_span(f->b, src, &x->s, f->now), MW_OK);
  }
  if (f->n > from) tail_row(f, from, f->n);
  int64_t due[8];
  size_t nd = mw__blk_due(f->b, f->now, due, 8);
  for (size_t i = 0; i < nd && i < 8; i++) seal(f, due[i]);
  sqlt_exec(f->w, "COMMIT");
  assert_int_equal(mw__blk_apply(f->b), MW_OK);
  int64_t seq = mw__blk_seq(f->b);
  for (size_t i = 0; i < f->n; i++)
    if (!f->v[i].seq) f->v[i].seq = seq;
}

/* The partition to trace_runs, in a transaction of its own. */
static void flush(fx *f) {
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  mw__blk_txn_begin(f->b);
  int64_t run;
  assert_int_equal(mw__truns_flush(f->tw, mw__blk_mem(f->b), &run), MW_OK);
  mw__blk_stage_flush(f->b);
  sqlt_exec(f->w, "COMMIT");
  assert_int_equal(mw__blk_apply(f->b), MW_OK);
  f->flushes++;
}

/* A reader's read transaction: seq loaded before BEGIN, the snapshot taken
 * by a first read, as readers.c does. */
typedef struct rdr {
  int open;
  int64_t seq;
} rdr;

static void reader_begin(fx *f, rdr *r, int i) {
  r->seq = mw__blk_seq(f->b);
  sqlt_exec(f->r[i], "BEGIN");
  sqlt_int(f->r[i], "SELECT count(*) FROM span_blocks");
  r->open = 1;
}

static void reader_end(fx *f, rdr *r, int i) {
  sqlt_exec(f->r[i], "COMMIT");
  r->open = 0;
}

/* Notes span id sid found in trace t: it must be a span the test sent, of
 * that trace, and durable. */
static void found_span(fx *f, const uint8_t sid[8], int t, unsigned char *seen) {
  uint64_t id = 0;
  for (int k = 0; k < 8; k++) id = id << 8 | sid[k];
  assert_true(id >= 1 && id <= f->n);
  sent *x = &f->v[id - 1];
  assert_memory_equal(x->s.trace_id, f->traces[t], 16);
  assert_true(x->seq > 0);
  seen[id - 1] = 1;
}

/* TR(id) as the read path does it, on reader i with its seq: memory first
 * (open and retired blocks, mem, retired partitions), then the runs of the
 * snapshot, then span_blocks for every candidate not read from memory.
 * Checks that every span of trace t durable at r->seq is found. */
static void check_trace(fx *f, rdr *r, int i, int t, unsigned char *seen) {
  memset(seen, 0, f->n);
  mw_arena *a = mw__arena_new(0);
  mw__blk_trace tr;
  int64_t key = mw__trace_key(f->traces[t]);
  assert_int_equal(mw__blk_trace_probe(f->b, r->seq, a, key, 1024, &tr), MW_OK);
  for (size_t k = 0; k < tr.n_refs; k++)
    for (size_t j = 0; j < tr.refs[k].n; j++) {
      const mw__sb_span *s = mw__blk_span(&tr.refs[k], j);
      if (!memcmp(s->trace_id, f->traces[t], 16)) found_span(f, s->span_id, t, seen);
    }
  int64_t ids[2048];
  size_t n = 0;
  assert_int_equal(mw__truns_lookup(f->rd[i], NULL, key, MW_TRUNS_ONE_STATEMENT, ids, 512, &n), MW_OK);
  for (size_t k = 0; k < tr.n_ids; k++) ids[n++] = tr.ids[k];
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(f->r[i], "SELECT data FROM span_blocks WHERE id = ?1", -1, &st, NULL), SQLITE_OK);
  for (size_t k = 0; k < n; k++) {
    int mine = 0;
    for (size_t j = 0; j < tr.n_refs; j++) mine |= tr.refs[j].block_id == ids[k];
    if (mine) continue;
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, ids[k]);
    if (sqlite3_step(st) != SQLITE_ROW) continue; /* not in this snapshot */
    mw__sb_block *blk;
    assert_int_equal(mw__sb_open(a, f->d, sqlite3_column_blob(st, 0), (size_t)sqlite3_column_bytes(st, 0), &blk),
                     MW_OK);
    size_t first, count;
    assert_int_equal(mw__sb_find_trace(blk, f->traces[t], &first, &count), MW_OK);
    for (size_t j = first; j < first + count; j++) {
      uint8_t sid[8];
      assert_int_equal(mw__sb_get_ids(blk, j, NULL, sid, NULL, NULL, NULL), MW_OK);
      found_span(f, sid, t, seen);
    }
  }
  sqlite3_finalize(st);
  mw__arena_free(a);
  for (size_t k = 0; k < f->n; k++) {
    sent *x = &f->v[k];
    if (x->seq > 0 && x->seq <= r->seq && !memcmp(x->s.trace_id, f->traces[t], 16) && !seen[k])
      fail_msg("span %zu of trace %d (commit %lld, %s) missing for a reader at %lld", k, t, (long long)x->seq,
               x->in_block ? "sealed" : "open", (long long)r->seq);
  }
}

static void check_reader(fx *f, rdr *r, int i) {
  unsigned char *seen = malloc(f->n + 1);
  for (int t = 0; t < TRACES; t++) check_trace(f, r, i, t, seen);
  free(seen);
}

static int64_t min_seq(rdr *rs) {
  int64_t m = INT64_MAX;
  for (int i = 0; i < READERS; i++)
    if (rs[i].open && rs[i].seq < m) m = rs[i].seq;
  return m;
}

/* The rule, by hand: a reader that begins before a seal commit and a flush
 * commit, and reads after both, finds every span durable at its seq. */
static void test_v_rule_by_hand(void **state) {
  fx *f = *state;
  rdr rs[READERS] = {0};
  commit(f, 1, 50, f->now, 1000000);
  commit(f, 2, 30, f->now, 1000000);
  reader_begin(f, &rs[0], 0); /* before the seal: source 1's spans are open */
  f->now += MW_BLK_MAX_AGE_NS;
  commit(f, 2, 1, f->now, 0); /* the idle seal of both sources */
  assert_int_equal(f->seals, 2);
  reader_begin(f, &rs[1], 1); /* after the seal, before the flush */
  flush(f);
  mw__blk_free_retired(f->b, min_seq(rs));
  commit(f, 1, 10, f->now, 1000000);
  mw__blk_free_retired(f->b, min_seq(rs));
  check_reader(f, &rs[0], 0);
  check_reader(f, &rs[1], 1);
  reader_begin(f, &rs[2], 2);
  check_reader(f, &rs[2], 2);
  for (int i = 0; i < READERS; i++) reader_end(f, &rs[i], i);
  /* nobody reads: everything retired goes */
  assert_true(mw__blk_free_retired(f->b, min_seq(rs)) > 0);
  assert_int_equal(mw__blk_free_retired(f->b, INT64_MAX), 0);
}

/* The rule on a long random sequence: commits of three sources (full, age
 * and range seals), a flush every 10 commits, readers beginning and
 * checking at random, retired memory freed after every commit. */
static void test_v_rule_random(void **state) {
  fx *f = *state;
  rdr rs[READERS] = {0};
  size_t checks = 0;
  for (int step = 0; step < 400; step++) {
    int64_t src = 1 + (int64_t)(rnd(f) % 3);
    f->now += (int64_t)(rnd(f) % 4000000000ULL);
    int64_t spread = (rnd(f) % 8 == 0) ? 200000000000LL : 2000000000LL; /* sometimes out of range */
    commit(f, src, 1 + rnd(f) % 60, f->now - spread / 2, spread);
    if (step % 10 == 9) flush(f);
    for (int i = 0; i < READERS; i++) {
      if (!rs[i].open && rnd(f) % 3 == 0) reader_begin(f, &rs[i], i);
      else if (rs[i].open && rnd(f) % 4 == 0) {
        check_reader(f, &rs[i], i);
        checks++;
        reader_end(f, &rs[i], i);
      }
    }
    mw__blk_free_retired(f->b, min_seq(rs));
  }
  for (int i = 0; i < READERS; i++)
    if (rs[i].open) {
      check_reader(f, &rs[i], i);
      reader_end(f, &rs[i], i);
    }
  assert_true(checks > 50);
  assert_true(f->seals > 30);
  assert_true(f->flushes == 40);
  printf("# %zu spans, %zu seals, %zu flushes, %zu reader checks\n", f->n, f->seals, f->flushes, checks);
}

/* The seal conditions, each at its edge. */
static void test_seal_conditions(void **state) {
  fx *f = *state;
  mw__blk *b = f->b;
  int64_t t0 = f->now, s0 = 5000000000000LL;
  mw__sb_span s = {.start_ns = s0, .dur_ns = 1, .op_id = 1};
  assert_int_equal(mw__blk_must_seal(b, 9, &s, t0), 0); /* nothing open */
  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  for (int i = 0; i < MW_BLK_MAX_SPANS - 1; i++) {
    assert_int_equal(mw__blk_must_seal(b, 9, &s, t0), 0);
    assert_int_equal(mw__blk_stage_span(b, 9, &s, t0), MW_OK);
  }
  assert_int_equal(mw__blk_must_seal(b, 9, &s, t0), 0);
  assert_int_equal(mw__blk_stage_span(b, 9, &s, t0), MW_OK); /* the 1,024th */
  assert_int_equal(mw__blk_must_seal(b, 9, &s, t0), MW_BLK_SEAL_FULL);
  assert_int_equal(mw__blk_stage_span(b, 9, &s, t0), MW_ETOOBIG);
  mw__blk_txn_rollback(b);

  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  assert_int_equal(mw__blk_stage_span(b, 9, &s, t0), MW_OK);
  assert_int_equal(mw__blk_must_seal(b, 9, NULL, t0 + MW_BLK_MAX_AGE_NS - 1), 0);
  assert_int_equal(mw__blk_must_seal(b, 9, NULL, t0 + MW_BLK_MAX_AGE_NS), MW_BLK_SEAL_AGE);
  int64_t due[4];
  assert_int_equal(mw__blk_due(b, t0 + MW_BLK_MAX_AGE_NS - 1, due, 4), 0);
  assert_int_equal(mw__blk_due(b, t0 + MW_BLK_MAX_AGE_NS, due, 4), 1);
  assert_int_equal(due[0], 9);
  mw__sb_span late = s, early = s;
  late.start_ns = s0 + MW_BLK_MAX_START_SPAN_NS;
  early.start_ns = s0 - MW_BLK_MAX_START_SPAN_NS;
  assert_int_equal(mw__blk_must_seal(b, 9, &late, t0), 0);
  assert_int_equal(mw__blk_must_seal(b, 9, &early, t0), 0);
  late.start_ns++;
  early.start_ns--;
  assert_int_equal(mw__blk_must_seal(b, 9, &late, t0), MW_BLK_SEAL_RANGE);
  assert_int_equal(mw__blk_must_seal(b, 9, &early, t0), MW_BLK_SEAL_RANGE);
  /* the range counts both ends: after a span 100 s later, 21 s earlier passes */
  late.start_ns = s0 + 100000000000LL;
  assert_int_equal(mw__blk_stage_span(b, 9, &late, t0), MW_OK);
  early.start_ns = s0 - 20000000000LL;
  assert_int_equal(mw__blk_must_seal(b, 9, &early, t0), 0);
  early.start_ns--;
  assert_int_equal(mw__blk_must_seal(b, 9, &early, t0), MW_BLK_SEAL_RANGE);
  /* bodies: 4 MB in all */
  static uint8_t big[MW_BLK_MAX_BYTES];
  mw__sb_span fat = s;
  fat.body = big;
  fat.body_len = MW_BLK_MAX_BYTES - 10;
  assert_int_equal(mw__blk_must_seal(b, 9, &fat, t0), 0);
  assert_int_equal(mw__blk_stage_span(b, 9, &fat, t0), MW_OK);
  fat.body_len = 10;
  assert_int_equal(mw__blk_must_seal(b, 9, &fat, t0), 0);
  fat.body_len = 11;
  assert_int_equal(mw__blk_must_seal(b, 9, &fat, t0), MW_BLK_SEAL_BYTES);
  size_t n, bytes;
  int64_t oldest;
  assert_int_equal(mw__blk_stage_span(b, 8, &s, t0 - 1), MW_OK); /* opened earlier than 9's */
  assert_int_equal(mw__blk_stage_span(b, 7, &s, t0 + 1), MW_OK);
  assert_int_equal(mw__blk_oldest(b, &oldest), MW_OK);
  assert_int_equal(oldest, 8);
  mw__blk_usage(b, &n, &bytes);
  assert_int_equal(n, 5);
  assert_int_equal(bytes, MW_BLK_MAX_BYTES - 10);
  mw__blk_txn_rollback(b);
  mw__blk_usage(b, &n, &bytes);
  assert_int_equal(n, 0);
  assert_int_equal(mw__blk_oldest(b, &oldest), MW_ENOTFOUND);
}

/* Staging is invisible until apply; a job's rollback undoes that job only
 * (spans and a seal); a transaction's rollback undoes all. */
static void test_staging(void **state) {
  fx *f = *state;
  mw__blk *b = f->b;
  mw_arena *a = mw__arena_new(0);
  mw__blk_view vw;
  sqlt_exec(f->w, "BEGIN IMMEDIATE");
  mw__blk_txn_begin(b);
  sqlt_exec(f->w, "SAVEPOINT job");
  mw__blk_job_begin(b);
  for (int i = 0; i < 5; i++) assert_int_equal(mw__blk_stage_span(b, 4, &new_span(f, i, 4, f->now + i)->s, f->now), 0);
  sqlt_exec(f->w, "RELEASE job");
  assert_int_equal(mw__blk_view_take(b, mw__blk_seq(b), a, 0, &vw), MW_OK);
  assert_int_equal(vw.n, 0); /* staged: not seen */
  sqlt_exec(f->w, "SAVEPOINT job");
  mw__blk_job_begin(b);
  for (int i = 0; i < 3; i++) assert_int_equal(mw__blk_stage_span(b, 4, &new_span(f, i, 4, f->now + i)->s, f->now), 0);
  seal(f, 4);
  assert_int_equal(mw__blk_stage_span(b, 4, &new_span(f, 0, 4, f->now)->s, f->now), 0);
  assert_int_equal(mw__blk_stage_span(b, 5, &new_span(f, 0, 5, f->now)->s, f->now), 0);
  sqlt_exec(f->w, "ROLLBACK TO job");
  sqlt_exec(f->w, "RELEASE job");
  mw__blk_job_rollback(b);
  /* after the job's rollback: the first job's 5 spans, unsealed */
  sqlt_exec(f->w, "SAVEPOINT job");
  mw__blk_job_begin(b);
  assert_int_equal(mw__blk_stage_span(b, 5, &new_span(f, 1, 5, f->now)->s, f->now), 0);
  sqlt_exec(f->w, "RELEASE job");
  sqlt_exec(f->w, "COMMIT");
  assert_int_equal(mw__blk_apply(b), MW_OK);
  assert_int_equal(sqlt_int(f->w, "SELECT count(*) FROM span_blocks"), 0);
  assert_int_equal(mw__blk_view_take(b, mw__blk_seq(b), a, 4, &vw), MW_OK);
  assert_int_equal(vw.n, 1);
  assert_int_equal(vw.v[0].n, 5);
  assert_int_equal(vw.v[0].block_id, 0);
  for (size_t i = 0; i < 5; i++) assert_memory_equal(mw__blk_span(&vw.v[0], i)->span_id, f->v[i].s.span_id, 8);
  assert_int_equal(mw__blk_view_take(b, mw__blk_seq(b), a, 5, &vw), MW_OK);
  assert_int_equal(vw.n, 1);
  assert_int_equal(vw.v[0].n, 1);
  assert_memory_equal(mw__blk_span(&vw.v[0], 0)->span_id, f->v[f->n - 1].s.span_id, 8);
  /* the writer's lookup of a span's source: published (by key) and staged */
  int64_t src = 0;
  assert_int_equal(mw__blk_span_source(b, f->v[2].s.trace_id, f->v[2].s.span_id, &src), MW_OK);
  assert_int_equal(src, 4);
  assert_int_equal(mw__blk_span_source(b, f->v[f->n - 1].s.trace_id, f->v[f->n - 1].s.span_id, &src), MW_OK);
  assert_int_equal(src, 5);
  assert_int_equal(mw__blk_span_source(b, f->v[5].s.trace_id, f->v[5].s.span_id, &src), MW_ENOTFOUND); /* undone */
  uint8_t other[16];
  memcpy(other, f->v[2].s.trace_id, 16);
  other[15] ^= 1;
  assert_int_equal(mw__blk_span_source(b, other, f->v[2].s.span_id, &src), MW_ENOTFOUND);
  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  sent *x = new_span(f, 3, 6, f->now);
  assert_int_equal(mw__blk_stage_span(b, 6, &x->s, f->now), 0);
  assert_int_equal(mw__blk_span_source(b, x->s.trace_id, x->s.span_id, &src), MW_OK);
  assert_int_equal(src, 6);
  mw__blk_txn_rollback(b);
  assert_int_equal(mw__blk_span_source(b, x->s.trace_id, x->s.span_id, &src), MW_ENOTFOUND);
  /* a whole transaction rolled back: nothing changes */
  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  assert_int_equal(mw__blk_stage_span(b, 4, &new_span(f, 2, 4, f->now)->s, f->now), 0);
  assert_int_equal(mw__blk_stage_span(b, 6, &new_span(f, 2, 6, f->now)->s, f->now), 0);
  mw__blk_txn_rollback(b);
  assert_int_equal(mw__blk_view_take(b, mw__blk_seq(b), a, 0, &vw), MW_OK);
  assert_int_equal(vw.n, 2);
  assert_int_equal(vw.v[0].n + vw.v[1].n, 6);
  size_t n, bytes;
  mw__blk_usage(b, &n, &bytes);
  assert_int_equal(n, 6);
  mw__arena_free(a);
}

/* span_tail rows: every field back; a cut row is an error. */
static void test_tail_codec(void **state) {
  fx *f = *state;
  mw__sb_span v[50];
  for (int i = 0; i < 50; i++) v[i] = new_span(f, i % TRACES, 3, -5 + (int64_t)i * 1000000007LL)->s;
  v[3].dur_ns = -1;
  v[4].start_ns = INT64_MIN;
  v[5].op_id = INT64_MAX;
  mw_buf buf;
  mw__buf_init(&buf, SIZE_MAX);
  assert_int_equal(mw__blk_tail_encode(f->c, v, 50, &buf), MW_OK);
  mw_arena *a = mw__arena_new(0);
  mw__sb_span out[51];
  assert_int_equal(mw__blk_tail_decode(f->d, (const uint8_t *)buf.data, buf.len, 50, a, out), MW_OK);
  for (int i = 0; i < 50; i++) {
    const sent *x = &f->v[i];
    assert_memory_equal(out[i].trace_id, x->s.trace_id, 16);
    assert_memory_equal(out[i].span_id, x->s.span_id, 8);
    assert_int_equal(out[i].has_parent, x->s.has_parent);
    if (x->s.has_parent) assert_memory_equal(out[i].parent_id, x->s.parent_id, 8);
    assert_int_equal(out[i].op_id, i == 5 ? INT64_MAX : x->s.op_id);
    assert_int_equal(out[i].scope_id, 7);
    assert_int_equal(out[i].start_ns, i == 4 ? INT64_MIN : -5 + (int64_t)i * 1000000007LL);
    assert_int_equal(out[i].dur_ns, i == 3 ? -1 : x->s.dur_ns);
    assert_int_equal(out[i].kind, 2);
    assert_int_equal(out[i].status, x->s.status);
    assert_int_equal(out[i].body_len, x->s.body_len);
    if (x->s.body_len) assert_memory_equal(out[i].body, x->body, x->s.body_len);
  }
  assert_int_equal(mw__blk_tail_decode(f->d, (const uint8_t *)buf.data, buf.len, 49, a, out), MW_EIO);
  assert_int_equal(mw__blk_tail_decode(f->d, (const uint8_t *)buf.data, buf.len, 51, a, out), MW_EIO);
  assert_int_equal(mw__blk_tail_decode(f->d, (const uint8_t *)buf.data, buf.len - 1, 50, a, out), MW_EIO);
  mw__arena_free(a);
  mw__buf_free(&buf);
}

/* A crash: the writer's memory is lost (no seal, no flush at the end). A new
 * one rebuilt from span_tail and span_blocks finds every durable span: the
 * open ones in its open blocks, the sealed ones after the last flush through
 * its partition, the older ones through the runs. */
static void test_recover(void **state) {
  fx *f = *state;
  for (int step = 0; step < 120; step++) {
    f->now += 3000000000LL;
    commit(f, 1 + (int64_t)(rnd(f) % 3), 1 + rnd(f) % 50, f->now, 1000000000);
    if (step % 25 == 24) flush(f);
  }
  size_t open = 0;
  for (size_t i = 0; i < f->n; i++) open += !f->v[i].in_block;
  assert_true(open > 0);
  assert_true(sqlt_int(f->w, "SELECT count(*) FROM span_blocks WHERE id > (SELECT max(block_id) FROM trace_runs)") > 0);
  assert_int_equal(sqlt_int(f->w, "SELECT coalesce(sum(n), 0) FROM span_tail"), (int64_t)open);
  mw__blk_free(f->b); /* the crash */
  f->b = mw__blk_new();
  int64_t max_seq;
  assert_int_equal(mw__blk_recover(f->b, f->w, f->d, f->now, &max_seq), MW_OK);
  assert_int_equal(max_seq, f->tail_seq);
  for (size_t i = 0; i < f->n; i++) f->v[i].seq = mw__blk_seq(f->b); /* all durable, at the new writer's count */
  /* the open blocks hold exactly the unsealed spans, in the order sent */
  mw_arena *a = mw__arena_new(0);
  mw__blk_view vw;
  assert_int_equal(mw__blk_view_take(f->b, mw__blk_seq(f->b), a, 0, &vw), MW_OK);
  size_t got = 0;
  for (size_t k = 0; k < vw.n; k++) {
    size_t j = 0;
    for (size_t i = 0; i < f->n; i++) {
      if (f->v[i].in_block || f->v[i].source != vw.v[k].source_id) continue;
      assert_true(j < vw.v[k].n);
      const mw__sb_span *s = mw__blk_span(&vw.v[k], j++);
      assert_memory_equal(s->span_id, f->v[i].s.span_id, 8);
      assert_int_equal(s->start_ns, f->v[i].s.start_ns);
      assert_int_equal(s->body_len, f->v[i].s.body_len);
      if (s->body_len) assert_memory_equal(s->body, f->v[i].body, s->body_len);
    }
    assert_int_equal(j, vw.v[k].n);
    got += j;
  }
  assert_int_equal(got, open);
  mw__arena_free(a);
  rdr r = {0};
  reader_begin(f, &r, 0);
  check_reader(f, &r, 0);
  reader_end(f, &r, 0);
  /* and the writer goes on from there: its next seal deletes the old rows */
  f->now += MW_BLK_MAX_AGE_NS;
  commit(f, 1, 5, f->now, 0);
  reader_begin(f, &r, 0);
  check_reader(f, &r, 0);
  reader_end(f, &r, 0);
}

/* ---- the writer with opts.blocks, through the store's job API --------------- */

static _Atomic int64_t fake_now = 1000000000000LL;
static int64_t fake_clock(void) { return atomic_load(&fake_now); }

enum { W_MAX = 6000 };
typedef struct wsent {
  mw_span_row row;
  int src;   /* 0 or 1: which resource */
  int found; /* times found by a check */
} wsent;

static mw_resource_ref wres[2] = {
    {.service = "shop", .instance = "i-1", .resource = (const uint8_t *)"res-a", .resource_len = 5},
    {.service = "cart", .instance = "i-2", .resource = (const uint8_t *)"res-b", .resource_len = 5}};
static mw_scope_ref wscope = {.body = (const uint8_t *)"scope-1", .body_len = 7};
static const char *const wnames[] = {"GET /a", "db.query", "redis.get"};

static int w_commit_delay_ms; /* wopen's fault_commit_delay_ms */

static int wopen(sfx *f, const char *dir) {
  if (dir) {
    if (dir != f->dir) snprintf(f->dir, sizeof f->dir, "%s", dir);
  } else {
    snprintf(f->dir, sizeof f->dir, "/tmp/mw-unit-XXXXXX");
    if (!mkdtemp(f->dir)) return -1;
  }
  mw_store_opts o = {.data_dir = f->dir,
                     .queue_max_spans = 1u << 20,
                     .queue_max_bytes = 1u << 28,
                     .blocks = MW_STORE_BLOCKS_ON,
                     .fault_commit_delay_ms = w_commit_delay_ms,
                     .fault_clock_ns = fake_clock};
  char err[256];
  if (mw__store_open(&o, &f->s, err, sizeof err)) fail_msg("open: %s", err);
  return 0;
}

/* Sends n spans in one request: resource of span i = which(i), times near
 * T (within 100 s), trace ids from a pool of 30, span ids = place in v + 1. */
static void wsend(sfx *f, wsent *v, size_t *nv, size_t n, int (*which)(size_t)) {
  /* f NULL: only the list (what a process that crashed had sent) */
  static const int64_t T = 1800000000000000000LL;
  mw_span_row *rows = calloc(n, sizeof *rows);
  for (size_t i = 0; i < n; i++) {
    assert_true(*nv < W_MAX);
    wsent *x = &v[*nv];
    uint64_t id = *nv + 1;
    memset(x, 0, sizeof *x);
    x->src = which(i);
    mw_span_row *r = &x->row;
    r->trace_id[0] = 0x42;
    r->trace_id[7] = r->trace_id[15] = (uint8_t)(id % 30);
    for (int k = 0; k < 8; k++) r->span_id[k] = (uint8_t)(id >> (56 - 8 * k));
    r->start_ns = T + (int64_t)(id % 1000) * 100000000LL;
    r->dur_ns = (int64_t)(id % 97) * 1000000LL;
    r->kind = 2;
    r->name = wnames[id % 3];
    r->resource = (uint32_t)x->src;
    r->body = (const uint8_t *)"body-bytes";
    r->body_len = 1 + id % 10;
    rows[i] = *r;
    (*nv)++;
  }
  mw_span_batch b = {.resources = wres, .n_resources = 2, .scopes = &wscope, .n_scopes = 1, .rows = rows, .n_rows = n};
  mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = n};
  if (f && sfx_commit(f, &job, 1)) fail_msg("write failed");
  free(rows);
}

static int alternate(size_t i) { return (int)(i % 3 == 0); }
static int first_only(size_t i) { return (void)i, 0; }

static int64_t wone(sfx *f, const char *sql) {
  char p[128];
  snprintf(p, sizeof p, "%s/meanwhile.db", f->dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
  int64_t v = sqlt_int(db, sql);
  sqlite3_close(db);
  return v;
}

static void wfound(wsent *v, size_t nv, const uint8_t sid[8], const uint8_t trace[16], int64_t start, int64_t dur) {
  uint64_t id = 0;
  for (int k = 0; k < 8; k++) id = id << 8 | sid[k];
  assert_true(id >= 1 && id <= nv);
  wsent *x = &v[id - 1];
  assert_memory_equal(trace, x->row.trace_id, 16);
  assert_int_equal(start, x->row.start_ns);
  assert_int_equal(dur, x->row.dur_ns);
  x->found++;
}

/* Every span sent is found exactly once: in span_blocks (read on a
 * connection of the test's) or in the writer's memory (a lent reader's view,
 * taken before that connection's snapshot); slow_spans rows name the spans
 * they say. Returns the spans found in blocks. */
static size_t wcheck(sfx *f, wsent *v, size_t nv) {
  for (size_t i = 0; i < nv; i++) v[i].found = 0;
  mw_read *r;
  assert_int_equal(mw__read_begin(f->s, &r), MW_OK);
  assert_non_null(r->pool->blk);
  mw_arena *a = mw__arena_new(0);
  mw__blk_view vw;
  assert_int_equal(mw__blk_view_take(r->pool->blk, r->seq_at_begin, a, 0, &vw), MW_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(r->db, "SELECT id, source_id, n, data FROM span_blocks", -1, &st, NULL),
                   SQLITE_OK);
  size_t in_blocks = 0;
  int64_t seen_blocks[4096];
  size_t n_seen = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    mw__sb_block *blk;
    assert_int_equal(mw__sb_open(a, r->dctx, sqlite3_column_blob(st, 3), (size_t)sqlite3_column_bytes(st, 3), &blk),
                     MW_OK);
    seen_blocks[n_seen++] = sqlite3_column_int64(st, 0);
    for (int64_t i = 0; i < sqlite3_column_int64(st, 2); i++) {
      uint8_t t[16], sid[8];
      int64_t start, dur;
      assert_int_equal(mw__sb_get_ids(blk, (size_t)i, t, sid, &start, &dur, NULL), MW_OK);
      wfound(v, nv, sid, t, start, dur);
      in_blocks++;
    }
  }
  sqlite3_finalize(st);
  for (size_t k = 0; k < vw.n; k++) {
    int dup = 0;
    for (size_t j = 0; j < n_seen; j++) dup |= vw.v[k].block_id && vw.v[k].block_id == seen_blocks[j];
    if (dup) continue; /* retired, and in this snapshot too */
    for (size_t i = 0; i < vw.v[k].n; i++) {
      const mw__sb_span *sp = mw__blk_span(&vw.v[k], i);
      wfound(v, nv, sp->span_id, sp->trace_id, sp->start_ns, sp->dur_ns);
    }
  }
  for (size_t i = 0; i < nv; i++)
    if (v[i].found != 1) fail_msg("span %zu found %d times", i, v[i].found);
  /* slow_spans of blocks: each names a span of its block with its op, dur and start */
  assert_int_equal(
      sqlite3_prepare_v2(r->db,
                         "SELECT s.op_id, s.dur_ns, s.span_rowid, s.start_ns, (-1 - s.span_rowid) >> 16, b.data "
                         "FROM slow_spans s JOIN span_blocks b ON b.id = (-1 - s.span_rowid) >> 16 "
                         "WHERE s.span_rowid < 0",
                         -1, &st, NULL),
      SQLITE_OK);
  while (sqlite3_step(st) == SQLITE_ROW) {
    int64_t blk_id;
    uint32_t index;
    assert_true(sqlite3_column_int64(st, 2) < 0);
    mw__sref_split(sqlite3_column_int64(st, 2), &blk_id, &index);
    assert_int_equal(blk_id, sqlite3_column_int64(st, 4));
    mw__sb_block *blk;
    assert_int_equal(mw__sb_open(a, r->dctx, sqlite3_column_blob(st, 5), (size_t)sqlite3_column_bytes(st, 5), &blk),
                     MW_OK);
    int64_t start, dur, op;
    assert_int_equal(mw__sb_get_ids(blk, index, NULL, NULL, &start, &dur, &op), MW_OK);
    assert_int_equal(op, sqlite3_column_int64(st, 0));
    assert_int_equal(dur, sqlite3_column_int64(st, 1));
    assert_int_equal(start, sqlite3_column_int64(st, 3));
  }
  sqlite3_finalize(st);
  mw__arena_free(a);
  mw__read_end(r);
  return in_blocks;
}

/* Waits (up to 5 s: the writer wakes every second when idle) for sql to
 * answer want. */
static void wwait(sfx *f, const char *sql, int64_t want) {
  for (int i = 0; i < 100; i++) {
    if (wone(f, sql) == want) return;
    usleep(50000);
  }
  fail_msg("%s: %lld, not %lld", sql, (long long)wone(f, sql), (long long)want);
}

static void test_writer(void **state) {
  (void)state;
  wsent *v = calloc(W_MAX, sizeof *v);
  size_t nv = 0;
  sfx f = {0};
  wopen(&f, NULL);
  /* 10 requests of 150 spans, a third of each from source b: nothing sealed */
  for (int i = 0; i < 10; i++) wsend(&f, v, &nv, 150, alternate);
  assert_int_equal(wone(&f, "SELECT count(*) FROM span_blocks"), 0);
  assert_int_equal(wone(&f, "SELECT coalesce(sum(n), 0) FROM span_tail"), 1500);
  assert_int_equal(wone(&f, "SELECT count(*) FROM spans"), 0); /* no old rows */
  assert_int_equal(wcheck(&f, v, nv), 0);
  /* 2,000 more of source a: it passes 1,024 twice (1,000 + 2,000 = 3,000) */
  for (int i = 0; i < 4; i++) wsend(&f, v, &nv, 500, first_only);
  assert_int_equal(wone(&f, "SELECT count(*) FROM span_blocks"), 2);
  assert_int_equal(wone(&f, "SELECT sum(n) FROM span_blocks"), 2048);
  assert_int_equal(wone(&f, "SELECT coalesce(sum(n), 0) FROM span_tail"), 3500 - 2048);
  assert_int_equal(wcheck(&f, v, nv), 2048);
  assert_true(wone(&f, "SELECT count(*) FROM block_ops") >= 2);
  /* 60 s later, without traffic: both open blocks are sealed */
  atomic_fetch_add(&fake_now, MW_BLK_MAX_AGE_NS);
  wwait(&f, "SELECT coalesce(sum(n), 0) FROM span_tail", 0);
  assert_int_equal(wone(&f, "SELECT sum(n) FROM span_blocks"), 3500);
  assert_int_equal(wcheck(&f, v, nv), 3500);
  assert_int_equal(wone(&f, "SELECT count(*) FROM trace_run_list"), 0);
  /* 10 minutes later: the partition is flushed */
  atomic_fetch_add(&fake_now, MW_BLK_FLUSH_NS);
  wwait(&f, "SELECT count(*) FROM trace_run_list", 1);
  /* the run holds (key, block) for every span's trace and block */
  assert_int_equal(wone(&f, "SELECT entries FROM trace_run_list"), wone(&f, "SELECT count(*) FROM trace_runs"));
  assert_true(wone(&f, "SELECT count(*) FROM trace_runs") >= 30);
  /* a clean stop seals what is open and flushes */
  wsend(&f, v, &nv, 100, alternate);
  mw__store_close(f.s);
  f.s = NULL;
  char dir[64];
  snprintf(dir, sizeof dir, "%s", f.dir);
  sfx g = {0};
  wopen(&g, dir);
  assert_int_equal(wone(&g, "SELECT count(*) FROM span_tail"), 0);
  assert_int_equal(wone(&g, "SELECT sum(n) FROM span_blocks"), 3600);
  assert_int_equal(wone(&g, "SELECT count(*) FROM trace_run_list"), 2);
  assert_int_equal(wcheck(&g, v, nv), 3600);
  /* after the restart: more spans go to new open blocks */
  wsend(&g, v, &nv, 30, alternate);
  assert_int_equal(wcheck(&g, v, nv), 3600);
  sfx_close(&g);
  free(v);
}

/* Retention through the writer with blocks (trial h-w8 + h-w4): spans two
 * hours old are sealed and flushed as one run, spans ten minutes old as
 * another; a pass with --retention 1h deletes the old block(s), their run and
 * their operation, and keeps the new ones. */
static void wsend_at(sfx *f, size_t n, int64_t t0, const char *name, uint64_t id0) {
  mw_span_row *rows = calloc(n, sizeof *rows);
  for (size_t i = 0; i < n; i++) {
    mw_span_row *r = &rows[i];
    uint64_t id = id0 + i;
    r->trace_id[0] = 0x77;
    for (int k = 0; k < 8; k++) r->trace_id[8 + k] = r->span_id[k] = (uint8_t)(id >> (56 - 8 * k));
    r->start_ns = t0 + (int64_t)i * 1000000;
    r->dur_ns = (int64_t)(i % 50) * 1000000;
    r->kind = 2;
    r->name = name;
    r->resource = 0;
    r->body = (const uint8_t *)"body-bytes";
    r->body_len = 10;
  }
  mw_span_batch b = {.resources = wres, .n_resources = 2, .scopes = &wscope, .n_scopes = 1, .rows = rows, .n_rows = n};
  mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = n};
  if (sfx_commit(f, &job, 1)) fail_msg("write failed");
  free(rows);
}

static void test_writer_retention(void **state) {
  (void)state;
  sfx f = {0};
  snprintf(f.dir, sizeof f.dir, "/tmp/mw-unit-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  mw_store_opts o = {.data_dir = f.dir,
                     .queue_max_spans = 1u << 20,
                     .queue_max_bytes = 1u << 28,
                     .blocks = 1,
                     .fault_clock_ns = fake_clock,
                     .retention_ns = 3600 * 1000000000LL,
                     .retention_every_ns = 100000000LL};
  char err[256];
  if (mw__store_open(&o, &f.s, err, sizeof err)) fail_msg("open: %s", err);
  int64_t now = mw__now_ns();
  wsend_at(&f, 1500, now - 7200 * 1000000000LL, "old-op", 1);
  atomic_fetch_add(&fake_now, MW_BLK_MAX_AGE_NS); /* sealed: 1,024 + 476 */
  wwait(&f, "SELECT coalesce(sum(n), 0) FROM span_tail", 0);
  atomic_fetch_add(&fake_now, MW_BLK_FLUSH_NS); /* flushed: run 1 */
  wwait(&f, "SELECT count(*) FROM trace_run_list", 1);
  wsend_at(&f, 1500, now - 600 * 1000000000LL, "new-op", 100000);
  atomic_fetch_add(&fake_now, MW_BLK_MAX_AGE_NS);
  wwait(&f, "SELECT coalesce(sum(n), 0) FROM span_tail", 0);
  atomic_fetch_add(&fake_now, MW_BLK_FLUSH_NS); /* run 2 */
  /* retention (every 100 ms) deletes the old blocks, run 1 and old-op */
  wwait(&f, "SELECT count(*) FROM operations WHERE name = 'old-op'", 0);
  wwait(&f, "SELECT count(*) FROM span_blocks", 2);
  char sql[160];
  snprintf(sql, sizeof sql, "SELECT count(*) FROM trace_run_list WHERE last_ns > %lld",
           (long long)(now - 3600 * 1000000000LL));
  wwait(&f, sql, 1);                                   /* run 2 flushed */
  wwait(&f, "SELECT count(*) FROM trace_run_list", 1); /* run 1 gone */
  wwait(&f, "SELECT count(*) FROM trace_runs WHERE run_id NOT IN (SELECT run_id FROM trace_run_list)", 0);
  assert_int_equal(wone(&f, "SELECT sum(n) FROM span_blocks"), 1500);
  assert_int_equal(wone(&f, "SELECT span_count FROM operations WHERE name = 'new-op'"), 1500);
  assert_true(wone(&f, "SELECT min(first_ns) FROM span_blocks") >= now - 601 * 1000000000LL);
  assert_int_equal(wone(&f, "SELECT count(*) FROM block_ops WHERE block_id NOT IN (SELECT id FROM span_blocks)"), 0);
  assert_int_equal(wone(&f, "SELECT count(*) FROM slow_spans WHERE span_rowid < 0 AND (-1 - span_rowid) >> 16 NOT IN "
                            "(SELECT id FROM span_blocks)"),
                   0);
  /* new spans of old-op after its deletion: the writer made it anew */
  wsend_at(&f, 10, now - 60 * 1000000000LL, "old-op", 200000);
  wwait(&f, "SELECT span_count FROM operations WHERE name = 'old-op'", 10);
  sfx_close(&f);
}

/* A crash: a child process writes and dies without closing the store; the
 * restart replays span_tail into the open blocks, and every acknowledged span
 * is found once; a clean stop then seals them. */
static void test_writer_crash(void **state) {
  (void)state;
  wsent *v = calloc(W_MAX, sizeof *v);
  size_t nv = 0;
  sfx f = {0};
  snprintf(f.dir, sizeof f.dir, "/tmp/mw-unit-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  fflush(NULL);
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    wopen(&f, f.dir);
    for (int i = 0; i < 10; i++) wsend(&f, v, &nv, 150, alternate);
    for (int i = 0; i < 4; i++) wsend(&f, v, &nv, 500, first_only);
    _exit(0); /* no close: the open blocks are only in span_tail */
  }
  int status;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
  for (int i = 0; i < 10; i++) wsend(NULL, v, &nv, 150, alternate);
  for (int i = 0; i < 4; i++) wsend(NULL, v, &nv, 500, first_only);
  wopen(&f, f.dir);
  assert_int_equal(wone(&f, "SELECT coalesce(sum(n), 0) FROM span_tail"), 3500 - 2048);
  assert_int_equal(wcheck(&f, v, nv), 2048);
  wsend(&f, v, &nv, 10, first_only); /* the writer goes on from the replayed blocks */
  assert_int_equal(wcheck(&f, v, nv), 2048);
  mw__store_close(f.s);
  f.s = NULL;
  wopen(&f, f.dir);
  assert_int_equal(wone(&f, "SELECT count(*) FROM span_tail"), 0);
  assert_int_equal(wcheck(&f, v, nv), 3510);
  sfx_close(&f);
  free(v);
}

/* 100 flushes, 10 minutes apart on the injected clock (one request after
 * each step: its commit seals the aged block, the step after it flushes and
 * maintains): runs are merged 8 at a time by count at each level, so the live
 * runs stay few (100 = 1 x 64 + 4 x 8 + 4: one level-2 run, four of level 1,
 * four of level 0), and every (trace key, block) of every block is still
 * found by a lookup. */
static void test_writer_runs(void **state) {
  (void)state;
  wsent *v = calloc(W_MAX, sizeof *v);
  size_t nv = 0;
  sfx f = {0};
  wopen(&f, NULL);
  for (int i = 0; i < 101; i++) {
    atomic_fetch_add(&fake_now, MW_BLK_FLUSH_NS);
    size_t from = nv;
    wsend(NULL, v, &nv, 10, first_only); /* (the list only, to set the times) */
    nv = from;
    mw_span_row rows[10];
    for (int k = 0; k < 10; k++) {
      v[from + (size_t)k].row.start_ns = atomic_load(&fake_now) + k;
      rows[k] = v[from + (size_t)k].row;
    }
    nv = from + 10;
    mw_span_batch b = {
        .resources = wres, .n_resources = 2, .scopes = &wscope, .n_scopes = 1, .rows = rows, .n_rows = 10};
    mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = 10};
    assert_int_equal(sfx_commit(&f, &job, 1), 0);
    /* two more commits in the same 10 minutes (a real writer commits
     * thousands of times between flushes): each gives maintenance a step */
    for (int k = 0; k < 2; k++) {
      mw_span_batch none = {.resources = wres, .n_resources = 2, .scopes = &wscope, .n_scopes = 1};
      mw_write_job more = {.kind = MW_JOB_SPANS, .payload = &none};
      assert_int_equal(sfx_commit(&f, &more, 1), 0);
    }
  }
  /* the 100th flush follows the last commit */
  wwait(&f, "SELECT count(*) FROM span_blocks", 100);
  wwait(&f, "SELECT count(*) > 0 FROM trace_runs WHERE block_id = (SELECT max(id) FROM span_blocks)", 1);
  usleep(1500000); /* an idle step: a merge that was due is done */
  int64_t live = wone(&f, "SELECT count(*) FROM trace_run_list WHERE level >= 0");
  printf("# live runs %lld\n", (long long)live);
  assert_int_equal(wone(&f, "SELECT count(*) FROM trace_run_list WHERE into_run IS NOT NULL"), 0);
  assert_int_equal(wone(&f, "SELECT count(*) FROM trace_run_list WHERE level = 0"), 4);
  assert_int_equal(wone(&f, "SELECT count(*) FROM trace_run_list WHERE level = 1"), 4);
  assert_int_equal(wone(&f, "SELECT count(*) FROM trace_run_list WHERE level = 2"), 1);
  assert_int_equal(live, 9);
  /* the merged runs' entries are gone: each (key, block) is held once */
  assert_int_equal(wone(&f, "SELECT count(*) FROM trace_runs"),
                   wone(&f, "SELECT count(*) FROM (SELECT DISTINCT trace_key, block_id FROM trace_runs)"));
  /* completeness: every block's trace keys lead to it */
  mw_read *r;
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  mw__truns_rd *rd;
  assert_int_equal(mw__truns_rd_open(r->db, &rd), MW_OK);
  mw_arena *a = mw__arena_new(0);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(r->db, "SELECT id, data FROM span_blocks", -1, &st, NULL), SQLITE_OK);
  size_t checked = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    int64_t id = sqlite3_column_int64(st, 0);
    mw__sb_block *blk;
    assert_int_equal(mw__sb_open(a, r->dctx, sqlite3_column_blob(st, 1), (size_t)sqlite3_column_bytes(st, 1), &blk),
                     MW_OK);
    const uint8_t *ids;
    size_t n;
    assert_int_equal(mw__sb_trace_ids(blk, &ids, &n), MW_OK);
    for (size_t k = 0; k < n; k++) {
      int64_t key = mw__trace_key(ids + 16 * k), out[512];
      size_t got = 0;
      assert_int_equal(mw__truns_lookup(rd, NULL, key, MW_TRUNS_ONE_STATEMENT, out, 512, &got), MW_OK);
      mw__blk_trace tr;
      assert_int_equal(mw__blk_trace_probe(r->pool->blk, r->seq_at_begin, a, key, 512, &tr), MW_OK);
      int hit = 0;
      for (size_t j = 0; j < got; j++) hit |= out[j] == id;
      for (size_t j = 0; j < tr.n_ids; j++) hit |= tr.ids[j] == id;
      if (!hit) fail_msg("block %lld not found by its trace key %zu", (long long)id, k);
      checked++;
    }
  }
  sqlite3_finalize(st);
  assert_true(checked >= 100);
  mw__arena_free(a);
  mw__truns_rd_close(rd);
  mw__read_end(r);
  sfx_close(&f);
  free(v);
}

/* Readers on other threads take views and probes while the writer appends,
 * seals and flushes (run it under TSan too): every span a view shows is one
 * the test sent, whole. */
typedef struct conc {
  sfx *f;
  wsent *v;
  _Atomic size_t nv; /* spans sent so far (the list is written before) */
  _Atomic int stop;
  _Atomic size_t views, spans;
} conc;

static void *conc_reader(void *arg) {
  conc *c = arg;
  while (!atomic_load(&c->stop)) {
    mw_read *r;
    if (mw__read_begin(c->f->s, &r)) continue;
    mw_arena *a = mw__arena_new(0);
    mw__blk_view vw;
    size_t nv = atomic_load(&c->nv);
    if (mw__blk_view_take(r->pool->blk, r->seq_at_begin, a, 0, &vw) == MW_OK) {
      for (size_t k = 0; k < vw.n; k++)
        for (size_t i = 0; i < vw.v[k].n; i++) {
          const mw__sb_span *sp = mw__blk_span(&vw.v[k], i);
          uint64_t id = 0;
          for (int b = 0; b < 8; b++) id = id << 8 | sp->span_id[b];
          /* sent before the view was taken, byte for byte */
          if (id < 1 || id > W_MAX || memcmp(sp->trace_id, c->v[id - 1].row.trace_id, 16) ||
              sp->start_ns != c->v[id - 1].row.start_ns || sp->body_len != c->v[id - 1].row.body_len ||
              memcmp(sp->body, "body-bytes", sp->body_len))
            abort();
          atomic_fetch_add(&c->spans, 1);
        }
      mw__blk_trace tr;
      uint8_t t[16] = {0x42};
      t[7] = t[15] = (uint8_t)(atomic_load(&c->views) % 30);
      if (mw__blk_trace_probe(r->pool->blk, r->seq_at_begin, a, mw__trace_key(t), 256, &tr) == MW_OK)
        for (size_t k = 0; k < tr.n_refs; k++)
          for (size_t i = 0; i < tr.refs[k].n; i++)
            atomic_fetch_add(&c->spans, mw__blk_span(&tr.refs[k], i)->dur_ns >= 0);
      atomic_fetch_add(&c->views, 1);
    }
    (void)nv;
    mw__arena_free(a);
    mw__read_end(r);
  }
  return NULL;
}

static void test_writer_concurrent(void **state) {
  (void)state;
  wsent *v = calloc(W_MAX, sizeof *v), *list = calloc(W_MAX, sizeof *v);
  size_t nv = 0;
  /* the list first (readers compare against it), then the same spans sent */
  for (int i = 0; i < 40; i++) wsend(NULL, list, &nv, 120, alternate);
  sfx f = {0};
  wopen(&f, NULL);
  conc c = {.f = &f, .v = list};
  pthread_t th[2];
  for (int i = 0; i < 2; i++) assert_int_equal(pthread_create(&th[i], NULL, conc_reader, &c), 0);
  nv = 0;
  for (int i = 0; i < 40; i++) {
    wsend(&f, v, &nv, 120, alternate);
    atomic_store(&c.nv, nv);
    if (i % 10 == 9) atomic_fetch_add(&fake_now, MW_BLK_FLUSH_NS); /* seals by age, then a flush */
  }
  usleep(200000);
  atomic_store(&c.stop, 1);
  for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
  mw_read *r;
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  printf("# %zu views, %zu spans read; begin: %llu again, %llu gave up\n", atomic_load(&c.views), atomic_load(&c.spans),
         (unsigned long long)atomic_load(&r->pool->blk_retries),
         (unsigned long long)atomic_load(&r->pool->blk_fallbacks));
  mw__read_end(r);
  assert_true(atomic_load(&c.views) > 10);
  wwait(&f, "SELECT coalesce(sum(n), 0) FROM span_tail", 0); /* the last 10 minutes' seal, when idle */
  assert_int_equal(wcheck(&f, v, nv), nv);
  sfx_close(&f);
  free(v);
  free(list);
}

/* Not a check: with MW_BLOCKS_BENCH=N set, writes N synthetic spans (requests
 * of 500 spans over 8 sources, ~250-byte bodies) through the store with
 * blocks off and then on, and prints CPU, wall time and file bytes per span
 * (after a clean stop). The figure to trust is bench-ingest --corpus on
 * meanwhiled; this one needs no flag in the server. */
static double cpu_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}
static double wall_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void bench_one(int blocks, size_t total) {
  sfx f = {0};
  snprintf(f.dir, sizeof f.dir, "/tmp/mw-unit-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  mw_store_opts o = {.data_dir = f.dir,
                     .queue_max_spans = 1u << 20,
                     .queue_max_bytes = 1u << 28,
                     .blocks = blocks ? MW_STORE_BLOCKS_ON : MW_STORE_BLOCKS_OFF};
  char err[256];
  assert_int_equal(mw__store_open(&o, &f.s, err, sizeof err), 0);
  mw_resource_ref res[8];
  char inst[8][16], resb[8][16];
  for (int i = 0; i < 8; i++) {
    snprintf(inst[i], sizeof inst[i], "i-%d", i);
    snprintf(resb[i], sizeof resb[i], "res-%d", i);
    res[i] = (mw_resource_ref){.service = wnames[i % 3],
                               .instance = inst[i],
                               .resource = (const uint8_t *)resb[i],
                               .resource_len = strlen(resb[i])};
  }
  enum { REQ = 500 };
  mw_span_row *rows = calloc(REQ, sizeof *rows);
  char(*bodies)[256] = calloc(REQ, 256);
  uint64_t rng = 12345;
  int64_t t = 1800000000000000000LL;
  double c0 = cpu_s(), w0 = wall_s();
  for (size_t done = 0; done < total; done += REQ) {
    uint64_t trace = 0;
    for (size_t i = 0; i < REQ; i++) {
      mw_span_row *r = &rows[i];
      memset(r, 0, sizeof *r);
      rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
      if (i % 8 == 0) trace = rng;
      memcpy(r->trace_id, &trace, 8);
      memcpy(r->trace_id + 8, &trace, 8);
      uint64_t sid = done + i + 1;
      memcpy(r->span_id, &sid, 8);
      r->has_parent = i % 8 != 0;
      t += 20000;
      r->start_ns = t;
      r->dur_ns = (int64_t)(rng >> 40) % 50000000;
      r->kind = 2;
      r->name = wnames[(rng >> 20) % 3];
      r->resource = (uint32_t)((i / 8) % 8);
      int len = snprintf(bodies[i], 256,
                         "http.method=GET http.route=/api/v1/items/{id} http.status_code=%d user.id=%llu "
                         "net.peer.name=db-%d.internal db.statement=SELECT * FROM items WHERE id = %llu",
                         (rng >> 10) % 7 ? 200 : 500, (unsigned long long)(rng >> 44), (int)((rng >> 30) % 4),
                         (unsigned long long)(rng >> 36));
      r->body = (const uint8_t *)bodies[i];
      r->body_len = (size_t)len;
    }
    mw_span_batch b = {
        .resources = res, .n_resources = 8, .scopes = &wscope, .n_scopes = 1, .rows = rows, .n_rows = REQ};
    mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = REQ};
    assert_int_equal(sfx_commit(&f, &job, 1), 0);
  }
  mw__store_close(f.s);
  f.s = NULL;
  double c1 = cpu_s(), w1 = wall_s();
  char p[128];
  snprintf(p, sizeof p, "%s/meanwhile.db", f.dir);
  struct stat st;
  assert_int_equal(stat(p, &st), 0);
  printf("# blocks=%d spans=%zu cpu_us_per_span=%.2f wall_us_per_span=%.2f file_bytes_per_span=%.1f\n", blocks, total,
         (c1 - c0) * 1e6 / (double)total, (w1 - w0) * 1e6 / (double)total, (double)st.st_size / (double)total);
  free(rows);
  free(bodies);
  sfx_close(&f);
}

static void test_bench(void **state) {
  (void)state;
  const char *n = getenv("MW_BLOCKS_BENCH");
  if (!n) skip();
  for (int round = 0; round < 2; round++) {
    bench_one(0, (size_t)atol(n));
    bench_one(1, (size_t)atol(n));
  }
}

/* Spans of memory + span_blocks a lent reader sees (retired blocks that its
 * snapshot holds counted once). */
static size_t seen_by(mw_read *r) {
  mw_arena *a = mw__arena_new(0);
  mw__blk_view vw;
  assert_int_equal(mw__blk_view_take(r->pool->blk, r->seq_at_begin, a, 0, &vw), MW_OK);
  size_t n = 0;
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(r->db, "SELECT count(*) FROM span_blocks WHERE id = ?1", -1, &st, NULL),
                   SQLITE_OK);
  for (size_t k = 0; k < vw.n; k++) {
    sqlite3_reset(st);
    sqlite3_bind_int64(st, 1, vw.v[k].block_id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    if (!sqlite3_column_int64(st, 0)) n += vw.v[k].n;
  }
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_prepare_v2(r->db, "SELECT coalesce(sum(n), 0) FROM span_blocks", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  n += (size_t)sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  mw__arena_free(a);
  return n;
}

/* One state per read transaction, as without blocks (test_store's
 * test_one_state_per_transaction): spans the writer appends to an open block
 * after a reader began, and the seal of that block, are not seen by it. */
static void test_writer_one_state(void **state) {
  (void)state;
  wsent *v = calloc(W_MAX, sizeof *v);
  size_t nv = 0;
  sfx f = {0};
  wopen(&f, NULL);
  wsend(&f, v, &nv, 3, first_only);
  mw_read *r;
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  assert_int_equal(seen_by(r), 3);
  wsend(&f, v, &nv, 4, first_only); /* appended to the same open block */
  assert_int_equal(seen_by(r), 3);
  atomic_fetch_add(&fake_now, MW_BLK_MAX_AGE_NS); /* then sealed */
  wwait(&f, "SELECT count(*) FROM span_blocks", 1);
  assert_int_equal(seen_by(r), 3);
  wsend(&f, v, &nv, 5, first_only); /* a new open block */
  assert_int_equal(seen_by(r), 3);
  /* a yield with no writer waiting keeps the transaction */
  assert_int_equal(mw__read_yield(r), MW_OK);
  assert_int_equal(seen_by(r), 3);
  mw__read_end(r);
  assert_int_equal(mw__read_begin(f.s, &r), MW_OK);
  assert_int_equal(seen_by(r), 12);
  mw__read_end(r);
  sfx_close(&f);
  free(v);
}

/* ---- re-sent requests (docs/STORAGE-WIRING.md §4): the writer's recent bodies ---- */

/* The set against a plain list: random adds and lookups over a small ring
 * (evictions when full, expiry by time, deletions inside probe runs). */
static void test_resent_set(void **state) {
  (void)state;
  enum { CAP = 16, STEPS = 20000 };
  const int64_t window = 1000;
  mw__resent *r = mw__resent_new(CAP, window);
  assert_non_null(r);
  assert_null(mw__resent_new(12, window)); /* not a power of two */
  struct {
    uint64_t h;
    int64_t ns;
  } ref[CAP];
  size_t n = 0;
  fx f = {.rng = 7};
  int64_t now = 0;
  size_t hits = 0, evicted = 0, expired = 0;
  for (int i = 0; i < STEPS; i++) {
    now += (int64_t)(rnd(&f) % 120);
    /* few distinct hashes, most in the same set slots: long probe runs */
    uint64_t h = 1 + (rnd(&f) % 40) * (rnd(&f) % 2 ? 32 : 1);
    while (n && ref[0].ns <= now - window) memmove(ref, ref + 1, --n * sizeof ref[0]), expired++;
    int want = 0;
    for (size_t k = 0; k < n; k++) want |= ref[k].h == h;
    assert_int_equal(mw__resent_seen(r, h, now), want);
    hits += (size_t)want;
    if (!want) {
      mw__resent_add(r, h, now);
      if (n == CAP) memmove(ref, ref + 1, --n * sizeof ref[0]), evicted++;
      ref[n].h = h, ref[n].ns = now, n++;
    }
    assert_int_equal(mw__resent_count(r), n);
  }
  assert_true(hits > 1000 && evicted > 100 && expired > 100); /* every path was taken */
  assert_int_equal(mw__resent_seen(r, 0, now), 0);
  mw__resent_free(r);
}

/* Spans in the store, in span_tail and in blocks (old rows: none). */
static int64_t stored(sfx *f) {
  return wone(f, "SELECT (SELECT coalesce(sum(n), 0) FROM span_tail) + (SELECT coalesce(sum(n), 0) FROM span_blocks)");
}

static uint64_t resent_jobs(sfx *f) {
  mw_store_stats st;
  mw__store_stats(f->s, &st);
  return st.resent_jobs;
}

/* Commits one job of b with body hash h; returns the job's resent flag. */
static int send_hashed(sfx *f, mw_span_batch *b, uint64_t h) {
  mw_write_job job = {.kind = MW_JOB_SPANS, .payload = b, .cost_spans = b->n_rows, .body_hash = h};
  if (sfx_commit(f, &job, 1)) fail_msg("write failed");
  return job.resent;
}

static void test_writer_resent(void **state) {
  (void)state;
  wsent *v = calloc(W_MAX, sizeof *v);
  size_t nv = 0;
  sfx f = {0};
  wopen(&f, NULL);
  /* the request: 40 spans of two sources (the list v, not committed) */
  wsend(NULL, v, &nv, 40, alternate);
  mw_span_row rows[40];
  for (size_t i = 0; i < 40; i++) rows[i] = v[i].row;
  mw_span_batch b = {.resources = wres, .n_resources = 2, .scopes = &wscope, .n_scopes = 1, .rows = rows, .n_rows = 40};
  const uint64_t H = 0x9e3779b97f4a7c15ULL;
  int64_t t0 = atomic_load(&fake_now);
  assert_int_equal(send_hashed(&f, &b, H), 0);
  assert_int_equal(stored(&f), 40);
  /* the same body again: answered, not stored; counted once */
  assert_int_equal(send_hashed(&f, &b, H), 1);
  assert_int_equal(stored(&f), 40);
  assert_int_equal(resent_jobs(&f), 1);
  assert_int_equal(wcheck(&f, v, nv), 0); /* each span once */
  /* a different body (another hash) with the same spans is stored: the
   * check is by body, not by span (the trace read dedups by span id) */
  assert_int_equal(send_hashed(&f, &b, H + 2), 0);
  assert_int_equal(stored(&f), 80);
  /* twice in one transaction: queued while the writer commits another job
   * (slowed by 300 ms), so that the second meets the first's staged hash */
  const uint64_t H2 = H + 1;
  sfx_done_flag first = {0};
  mw_write_job slow = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = 40, .body_hash = H + 3};
  slow.done = sfx_signal, slow.user = &first;
  w_commit_delay_ms = 300;
  mw__store_close(f.s);
  wopen(&f, f.dir);
  assert_int_equal(mw__store_submit(f.s, &slow), MW_OK);
  usleep(100000); /* the writer is inside slow's commit */
  mw_write_job two[2] = {{.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = 40, .body_hash = H2},
                         {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = 40, .body_hash = H2}};
  assert_int_equal(sfx_commit(&f, two, 2), 0);
  assert_int_equal(two[0].resent, 0);
  assert_int_equal(two[1].resent, 1);
  assert_true(first.done);
  assert_int_equal(stored(&f), 160);
  assert_int_equal(resent_jobs(&f), 1); /* the store was reopened: counted from there */
  w_commit_delay_ms = 0;
  mw__store_close(f.s);
  wopen(&f, f.dir);
  /* hash 0: not checked (runtime jobs, callers without a body) */
  assert_int_equal(send_hashed(&f, &b, 0), 0);
  assert_int_equal(send_hashed(&f, &b, 0), 0);
  assert_int_equal(stored(&f), 240);
  /* the reopening forgot H: held again from now */
  t0 = atomic_load(&fake_now);
  assert_int_equal(send_hashed(&f, &b, H), 0);
  assert_int_equal(send_hashed(&f, &b, H), 1);
  assert_int_equal(stored(&f), 280);
  assert_int_equal(resent_jobs(&f), 1);
  /* just before 10 minutes after H was stored: still a retry */
  atomic_store(&fake_now, t0 + MW_RESENT_WINDOW_NS - 1);
  assert_int_equal(send_hashed(&f, &b, H), 1);
  assert_int_equal(resent_jobs(&f), 2);
  /* at 10 minutes: forgotten, stored again (and held again from now) */
  atomic_store(&fake_now, t0 + MW_RESENT_WINDOW_NS);
  assert_int_equal(send_hashed(&f, &b, H), 0);
  assert_int_equal(stored(&f), 320);
  assert_int_equal(send_hashed(&f, &b, H), 1);
  assert_int_equal(stored(&f), 320);
  assert_int_equal(resent_jobs(&f), 3);
  sfx_close(&f);
  free(v);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_seal_conditions, setup, teardown),
      cmocka_unit_test_setup_teardown(test_staging, setup, teardown),
      cmocka_unit_test_setup_teardown(test_tail_codec, setup, teardown),
      cmocka_unit_test_setup_teardown(test_v_rule_by_hand, setup, teardown),
      cmocka_unit_test_setup_teardown(test_v_rule_random, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recover, setup, teardown),
      cmocka_unit_test(test_writer),
      cmocka_unit_test(test_writer_retention),
      cmocka_unit_test(test_writer_crash),
      cmocka_unit_test(test_writer_runs),
      cmocka_unit_test(test_writer_concurrent),
      cmocka_unit_test(test_writer_one_state),
      cmocka_unit_test(test_resent_set),
      cmocka_unit_test(test_writer_resent),
      cmocka_unit_test(test_bench),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
