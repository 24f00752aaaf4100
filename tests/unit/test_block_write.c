/* Tests for sealing a block (store/block_write.c) into an in-memory database
 * migrated to 0008, and for the block_ops.refs reader. Every expectation is
 * computed from the list of spans the test sealed (by brute force over that
 * list), never from the module's own output; the spans a reference names are
 * read back through the block codec (mw__sb_open, mw__sb_get_ids) and
 * matched to the list by span id. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>

#include "core/arena.h"
#include "core/error.h"
#include "store/block_write.h"
#include "store/schema.h"
#include "store/sref.h"

typedef struct fx {
  sqlite3 *db;
  mw__bw *bw;
  mw__truns_mem *mem;
  ZSTD_DCtx *dctx;
} fx;

static int setup(void **state) {
  fx *f = calloc(1, sizeof *f);
  char err[256] = "";
  assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
  if (mw__schema_apply(f->db, 0, err, sizeof err)) fail_msg("%s", err);
  assert_int_equal(mw__bw_open(f->db, &f->bw), MW_OK);
  assert_non_null(f->mem = mw__truns_mem_new());
  assert_non_null(f->dctx = ZSTD_createDCtx());
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx *f = *state;
  ZSTD_freeDCtx(f->dctx);
  mw__truns_mem_free(f->mem);
  mw__bw_close(f->bw);
  sqlite3_close(f->db);
  free(f);
  return 0;
}

static uint64_t rng = 88172645463325252u;
static uint64_t rnd(void) {
  rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
  return rng;
}

/* Thresholds: op 10 at 500 ns, op 20 at 0 (every span), others never. */
static int slow_of(void *user, int64_t op, int64_t *thr) {
  (*(int *)user)++;
  *thr = op == 10 ? 500 : op == 20 ? 0 : INT64_MAX;
  return MW_OK;
}
static int64_t thr_of(int64_t op) { return op == 10 ? 500 : op == 20 ? 0 : INT64_MAX; }

static void mk(mw__sb_span *s, int trace, uint64_t span, int64_t op, int64_t start, int64_t dur) {
  memset(s, 0, sizeof *s);
  memset(s->trace_id, 0, 16);
  s->trace_id[0] = (uint8_t)(0x10 + trace); /* the key is the first 8 bytes */
  s->trace_id[15] = (uint8_t)trace;
  for (int k = 0; k < 8; k++) s->span_id[k] = (uint8_t)(span >> (8 * k));
  s->op_id = op, s->scope_id = 1, s->start_ns = start, s->dur_ns = dur;
  s->kind = 2, s->status = 0;
}

/* The input span with this span id (span ids are unique in the tests). */
static const mw__sb_span *by_span_id(const mw__sb_span *v, size_t n, const uint8_t id[8]) {
  for (size_t i = 0; i < n; i++)
    if (!memcmp(v[i].span_id, id, 8)) return &v[i];
  fail_msg("a span id the test did not seal");
  return NULL;
}

static int64_t end_of(const mw__sb_span *s) { return s->start_ns + s->dur_ns; }

/* The slow_spans rows whose span_rowid names a span of block b:
 * -1 - (b * 65536 + 65535) .. -1 - b * 65536 (docs/STORAGE-WIRING.md "Terms"). */
#define SLOW_OF_BLOCK "FROM slow_spans WHERE span_rowid BETWEEN -1 - (?1 * 65536 + 65535) AND -1 - ?1 * 65536"

/* Checks every row one seal wrote against v[0..n), sealed as block_id of
 * source with the slow_of thresholds (slow 1) or none (slow 0). */
static void check_block(fx *f, int64_t source, int64_t block_id, const mw__sb_span *v, size_t n, int slow) {
  int64_t first = INT64_MAX, last = INT64_MIN;
  for (size_t i = 0; i < n; i++) {
    if (v[i].start_ns < first) first = v[i].start_ns;
    if (end_of(&v[i]) > last) last = end_of(&v[i]);
  }
  sqlite3_stmt *st;
  assert_int_equal(
      sqlite3_prepare_v2(f->db, "SELECT source_id, first_ns, last_ns, n, format, data FROM span_blocks WHERE id = ?1",
                         -1, &st, NULL),
      SQLITE_OK);
  sqlite3_bind_int64(st, 1, block_id);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_true(sqlite3_column_int64(st, 0) == source);
  assert_true(sqlite3_column_int64(st, 1) == first);
  assert_true(sqlite3_column_int64(st, 2) == last);
  assert_int_equal(sqlite3_column_int64(st, 3), (int64_t)n);
  assert_int_equal(sqlite3_column_int64(st, 4), 1);
  size_t len = (size_t)sqlite3_column_bytes(st, 5);
  uint8_t *data = malloc(len);
  memcpy(data, sqlite3_column_blob(st, 5), len);
  sqlite3_finalize(st);
  mw_arena *a = mw__arena_new(0);
  mw__sb_block *b;
  assert_int_equal(mw__sb_open(a, f->dctx, data, len, &b), MW_OK);

  /* block_ops: one row per op of the list; refs name every span of that op once, by start */
  int64_t ops[64];
  size_t n_ops = 0;
  for (size_t i = 0; i < n; i++) {
    size_t k = 0;
    while (k < n_ops && ops[k] != v[i].op_id) k++;
    if (k == n_ops) ops[n_ops++] = v[i].op_id;
  }
  assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT count(*) FROM block_ops WHERE block_id = ?1", -1, &st, NULL),
                   SQLITE_OK);
  sqlite3_bind_int64(st, 1, block_id);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), (int64_t)n_ops);
  sqlite3_finalize(st);
  uint8_t *seen = calloc(n, 1);
  for (size_t k = 0; k < n_ops; k++) {
    size_t cnt = 0;
    int64_t max_dur = INT64_MIN, op_last = INT64_MIN;
    for (size_t i = 0; i < n; i++)
      if (v[i].op_id == ops[k]) {
        cnt++;
        if (v[i].dur_ns > max_dur) max_dur = v[i].dur_ns;
        if (end_of(&v[i]) > op_last) op_last = end_of(&v[i]);
      }
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "SELECT first_ns, last_ns, n, max_dur_ns, refs, slow_ns FROM block_ops "
                                        "WHERE op_id = ?1 AND block_id = ?2",
                                        -1, &st, NULL),
                     SQLITE_OK);
    sqlite3_bind_int64(st, 1, ops[k]);
    sqlite3_bind_int64(st, 2, block_id);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    assert_true(sqlite3_column_int64(st, 0) == first);
    assert_true(sqlite3_column_int64(st, 1) == op_last);
    assert_int_equal(sqlite3_column_int64(st, 2), (int64_t)cnt);
    assert_true(sqlite3_column_int64(st, 3) == max_dur);
    assert_true(sqlite3_column_int64(st, 5) == (slow ? thr_of(ops[k]) : INT64_MAX));
    mw__refs_it it;
    mw__ref r;
    mw__refs_init(&it, sqlite3_column_blob(st, 4), (size_t)sqlite3_column_bytes(st, 4), first);
    size_t got = 0;
    int64_t prev_start = INT64_MIN;
    int rc;
    while ((rc = mw__refs_next(&it, &r)) == 1) {
      assert_true(r.index < n);
      uint8_t tid[16], sid[8];
      int64_t start, dur, op;
      assert_int_equal(mw__sb_get_ids(b, r.index, tid, sid, &start, &dur, &op), MW_OK);
      const mw__sb_span *s = by_span_id(v, n, sid);
      assert_true(s->op_id == ops[k]);
      assert_true(r.start_ns == s->start_ns);
      assert_true(r.dur_ns == s->dur_ns);
      assert_memory_equal(tid, s->trace_id, 16);
      assert_true(r.start_ns >= prev_start); /* by start */
      prev_start = r.start_ns;
      size_t pos = (size_t)(s - v);
      assert_false(seen[pos]); /* once */
      seen[pos] = 1;
      got++;
    }
    assert_int_equal(rc, 0);
    assert_int_equal(got, cnt);
    assert_int_equal(sqlite3_step(st), SQLITE_DONE);
    sqlite3_finalize(st);
  }
  for (size_t i = 0; i < n; i++) assert_true(seen[i]);

  /* slow_spans of this block: exactly the spans at or over their op's threshold */
  size_t want = 0;
  for (size_t i = 0; i < n; i++) want += slow && v[i].dur_ns >= thr_of(v[i].op_id);
  memset(seen, 0, n);
  assert_int_equal(
      sqlite3_prepare_v2(f->db, "SELECT op_id, dur_ns, span_rowid, start_ns " SLOW_OF_BLOCK, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, block_id);
  size_t got = 0;
  while (sqlite3_step(st) == SQLITE_ROW) {
    int64_t ref = sqlite3_column_int64(st, 2), bid;
    uint32_t idx;
    assert_false(mw__sref_is_row(ref));
    mw__sref_split(ref, &bid, &idx);
    assert_true(bid == block_id);
    uint8_t sid[8];
    assert_int_equal(mw__sb_get_ids(b, idx, NULL, sid, NULL, NULL, NULL), MW_OK);
    const mw__sb_span *s = by_span_id(v, n, sid);
    assert_true(sqlite3_column_int64(st, 0) == s->op_id);
    assert_true(sqlite3_column_int64(st, 1) == s->dur_ns);
    assert_true(sqlite3_column_int64(st, 3) == s->start_ns);
    assert_true(s->dur_ns >= thr_of(s->op_id));
    assert_false(seen[s - v]);
    seen[s - v] = 1;
    got++;
  }
  sqlite3_finalize(st);
  assert_int_equal(got, want);

  /* the partition: every trace of the list names this block */
  for (size_t i = 0; i < n; i++) {
    int64_t out[8];
    size_t m = 0, j = 0;
    assert_int_equal(mw__truns_mem_find(f->mem, mw__trace_key(v[i].trace_id), out, 8, &m), MW_OK);
    while (j < m && out[j] != block_id) j++;
    assert_true(j < m);
  }
  free(seen);
  mw__arena_free(a);
  free(data);
}

static void test_seal_by_hand(void **state) {
  fx *f = *state;
  /* unsorted; op 10 has a tie of starts, op 20 is all slow, op 30 never */
  mw__sb_span v[9];
  mk(&v[0], 2, 101, 10, 5000, 700); /* slow (>= 500) */
  mk(&v[1], 1, 102, 10, 1000, 100);
  mk(&v[2], 1, 103, 20, 1200, 5);
  mk(&v[3], 3, 104, 10, 1000, 500); /* same start as 102, slow (exactly the threshold) */
  mk(&v[4], 2, 105, 30, 900, 1000000);
  mk(&v[5], 3, 106, 20, 4000, 0);
  mk(&v[6], 1, 107, 10, 2500, 499);
  mk(&v[7], 2, 108, 30, 3000, 1);
  mk(&v[8], 4, 109, 20, 7000, 30);
  int calls = 0;
  mw__bw_sealed out;
  assert_int_equal(mw__bw_seal(f->bw, 7, v, 9, slow_of, &calls, f->mem, &out), MW_OK);
  assert_true(out.block_id == 1);
  assert_int_equal(out.n, 9);
  assert_int_equal(out.ops, 3);
  assert_int_equal(out.slow, 5); /* 101, 104 of op 10; 103, 106, 109 of op 20 */
  assert_true(out.first_ns == 900);
  assert_true(out.last_ns == 900 + 1000000);
  assert_int_equal(calls, 3); /* one threshold read per op */
  assert_int_equal(mw__truns_mem_count(f->mem), 4);
  check_block(f, 7, 1, v, 9, 1);

  /* a second block of another source: ids follow, old rows untouched */
  mw__sb_span w[3];
  mk(&w[0], 1, 201, 10, 10000, 900);
  mk(&w[1], 5, 202, 20, 9000, 1);
  mk(&w[2], 5, 203, 40, 9500, 2);
  assert_int_equal(mw__bw_seal(f->bw, 8, w, 3, slow_of, &calls, f->mem, &out), MW_OK);
  assert_true(out.block_id == 2);
  check_block(f, 8, 2, w, 3, 1);
  check_block(f, 7, 1, v, 9, 1);
  int64_t ids[8];
  size_t m;
  uint8_t t1[16] = {0x11};
  t1[15] = 1;
  assert_int_equal(mw__truns_mem_find(f->mem, mw__trace_key(t1), ids, 8, &m), MW_OK);
  assert_int_equal(m, 2); /* trace 1 is in both blocks */

  /* mem NULL and slow NULL: no partition entries, no slow rows */
  mk(&w[0], 9, 301, 20, 20000, 5);
  size_t before = mw__truns_mem_count(f->mem);
  assert_int_equal(mw__bw_seal(f->bw, 8, w, 1, NULL, NULL, NULL, &out), MW_OK);
  assert_int_equal(out.slow, 0);
  assert_int_equal(mw__truns_mem_count(f->mem), before);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT count(*) " SLOW_OF_BLOCK, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, 3);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), 0);
  sqlite3_finalize(st);
  assert_int_equal(sqlite3_prepare_v2(f->db, "SELECT slow_ns FROM block_ops WHERE block_id = 3", -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_true(sqlite3_column_int64(st, 0) == INT64_MAX);
  sqlite3_finalize(st);

  assert_int_equal(mw__bw_seal(f->bw, 8, w, 0, NULL, NULL, NULL, &out), MW_EINVAL);
}

static void test_seal_random(void **state) {
  fx *f = *state;
  for (int round = 0; round < 6; round++) {
    size_t n = round == 5 ? 5000 : 1 + (size_t)(rnd() % 1100);
    mw__sb_span *v = calloc(n, sizeof *v);
    size_t traces = 1 + rnd() % 50;
    for (size_t i = 0; i < n; i++) {
      int64_t op = round == 4 ? 20 : 10 + (int64_t)(rnd() % 6) * 10; /* round 4: one op */
      int64_t start = (int64_t)1700000000000000000 + (int64_t)(rnd() % 120000000000u);
      int64_t dur = rnd() % 4 ? (int64_t)(rnd() % 1000) : (int64_t)(rnd() % 100000000000u);
      mk(&v[i], (int)(rnd() % traces), ((uint64_t)round << 32) | i, op, start, dur);
    }
    if (n > 3) v[1].start_ns = v[0].start_ns, v[1].op_id = v[0].op_id; /* a tie */
    int calls = 0;
    mw__bw_sealed out;
    assert_int_equal(mw__bw_seal(f->bw, 1 + round, v, n, slow_of, &calls, f->mem, &out), MW_OK);
    check_block(f, 1 + round, out.block_id, v, n, 1);
    free(v);
  }
}

static int64_t count_of(fx *f, const char *sql, int64_t arg) {
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, arg);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t c = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return c;
}

typedef struct op_counts {
  int64_t op[16], n[16];
  size_t k;
} op_counts;

static int count_op(void *user, int64_t op, int64_t n) {
  op_counts *c = user;
  assert_true(c->k < 16);
  c->op[c->k] = op, c->n[c->k] = n, c->k++;
  return MW_OK;
}

/* Retention's delete: every row of the block goes, the other block's stay. */
static void test_delete(void **state) {
  fx *f = *state;
  mw__sb_span v[8], w[4];
  /* block 1: op 10 (threshold 500) 3 spans, all slow (one exactly at it); op 20 (threshold 0) 3 spans, all slow;
   * op 30 (never) 2 spans; two slow spans of op 20 with the same duration */
  mk(&v[0], 1, 1, 10, 100, 600);
  mk(&v[1], 1, 2, 10, 200, 500);
  mk(&v[2], 2, 3, 10, 300, 900);
  mk(&v[3], 2, 4, 20, 150, 7);
  mk(&v[4], 3, 5, 20, 250, 7);
  mk(&v[5], 3, 6, 20, 350, 1);
  mk(&v[6], 4, 7, 30, 400, 5000);
  mk(&v[7], 4, 8, 30, 50, 1);
  /* block 2: the same ops, with a span of op 10 as long as block 1's (same dur, other sref) */
  mk(&w[0], 5, 11, 10, 1000, 600);
  mk(&w[1], 5, 12, 20, 1100, 7);
  mk(&w[2], 6, 13, 30, 1200, 9);
  mk(&w[3], 6, 14, 10, 1300, 10);
  int calls = 0;
  mw__bw_sealed a, b;
  assert_int_equal(mw__bw_seal(f->bw, 1, v, 8, slow_of, &calls, f->mem, &a), MW_OK);
  assert_int_equal(mw__bw_seal(f->bw, 1, w, 4, slow_of, &calls, f->mem, &b), MW_OK);
  assert_int_equal(a.slow, 6);
  assert_int_equal(b.slow, 2);
  assert_int_equal(count_of(f, "SELECT count(*) FROM slow_spans WHERE ?1 = ?1", 0), 8);

  op_counts c = {.k = 0};
  size_t slow_deleted = 0;
  assert_int_equal(mw__bw_delete(f->bw, a.block_id, count_op, &c, &slow_deleted), MW_OK);
  assert_int_equal(slow_deleted, 6);
  assert_int_equal(c.k, 3);
  for (size_t i = 0; i < c.k; i++) /* op 10: 3, op 20: 3, op 30: 2 */
    assert_int_equal(c.n[i], c.op[i] == 30 ? 2 : 3);
  assert_int_equal(count_of(f, "SELECT count(*) FROM span_blocks WHERE id = ?1", a.block_id), 0);
  assert_int_equal(count_of(f, "SELECT count(*) FROM block_ops WHERE block_id = ?1", a.block_id), 0);
  assert_int_equal(count_of(f, "SELECT count(*) " SLOW_OF_BLOCK, a.block_id), 0);
  assert_int_equal(count_of(f, "SELECT count(*) FROM slow_spans WHERE ?1 = ?1", 0), 2);
  check_block(f, 1, b.block_id, w, 4, 1); /* untouched */

  /* again: nothing left to delete */
  c.k = 0;
  assert_int_equal(mw__bw_delete(f->bw, a.block_id, count_op, &c, &slow_deleted), MW_ENOTFOUND);
  assert_int_equal(slow_deleted, 0);
  assert_int_equal(c.k, 0);
  assert_int_equal(mw__bw_delete(f->bw, b.block_id, NULL, NULL, &slow_deleted), MW_OK);
  assert_int_equal(slow_deleted, 2);
  assert_int_equal(count_of(f, "SELECT count(*) FROM slow_spans WHERE ?1 = ?1", 0), 0);
  assert_int_equal(count_of(f, "SELECT count(*) FROM block_ops WHERE ?1 = ?1", 0), 0);
}

/* The latest durations of an op: blocks by first_ns, newest first, each from
 * its latest start back. */
static void test_recent_durs(void **state) {
  fx *f = *state;
  mw__sb_span v[3];
  mw__bw_sealed out;
  /* three blocks of op 10, sealed out of time order (the newest second); durations 1..9 by start */
  static const int64_t first[3] = {100, 300, 200};
  for (int b = 0; b < 3; b++) {
    int64_t base = (first[b] - 100) / 100 * 3; /* 0, 6, 3 */
    /* spans given out of start order; each block also holds a span of op 20 */
    mk(&v[0], 1, (uint64_t)(10 * b + 1), 10, first[b] + 20, base + 3);
    mk(&v[1], 2, (uint64_t)(10 * b + 2), 10, first[b], base + 1);
    mk(&v[2], 3, (uint64_t)(10 * b + 3), 10, first[b] + 10, base + 2);
    assert_int_equal(mw__bw_seal(f->bw, 1, v, 3, NULL, NULL, NULL, &out), MW_OK);
    mk(&v[0], 4, (uint64_t)(10 * b + 4), 20, first[b], 1000);
    assert_int_equal(mw__bw_seal(f->bw, 1, v, 1, NULL, NULL, NULL, &out), MW_OK);
  }
  int64_t d[16];
  size_t n;
  assert_int_equal(mw__bw_recent_durs(f->bw, 10, d, 16, &n), MW_OK);
  assert_int_equal(n, 9);
  for (size_t i = 0; i < n; i++) assert_int_equal(d[i], 9 - (int64_t)i);
  assert_int_equal(mw__bw_recent_durs(f->bw, 10, d, 5, &n), MW_OK);
  assert_int_equal(n, 5);
  for (size_t i = 0; i < n; i++) assert_int_equal(d[i], 9 - (int64_t)i);
  assert_int_equal(mw__bw_recent_durs(f->bw, 10, d, 0, &n), MW_OK);
  assert_int_equal(n, 0);
  assert_int_equal(mw__bw_recent_durs(f->bw, 20, d, 16, &n), MW_OK);
  assert_int_equal(n, 3);
  assert_int_equal(mw__bw_recent_durs(f->bw, 99, d, 16, &n), MW_OK);
  assert_int_equal(n, 0);
}

/* Every statement of the seal and the delete seeks an index:
 * no SCAN in its plan (on the migrated schema, as test_store_search does for
 * the span queries). */
static void test_plans(void **state) {
  fx *f = *state;
  for (size_t i = 0; i < mw__bw_sql_count; i++) {
    const char *sql = mw__bw_sql[i];
    char q[1024];
    snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->db, q, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
      const char *d = (const char *)sqlite3_column_text(st, 3);
      if (d && strstr(d, "SCAN")) fail_msg("%s: %s", sql, d);
    }
    sqlite3_finalize(st);
    /* the reads and deletes by key each name the index they use */
    if (strstr(sql, "block_id = ?1") && !strstr(sql, "INSERT")) {
      snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
      assert_int_equal(sqlite3_prepare_v2(f->db, q, -1, &st, NULL), SQLITE_OK);
      int indexed = 0;
      while (sqlite3_step(st) == SQLITE_ROW)
        indexed |= strstr((const char *)sqlite3_column_text(st, 3), "block_ops_by_block") != NULL;
      sqlite3_finalize(st);
      if (!indexed) fail_msg("%s: not through block_ops_by_block", sql);
    }
  }
}

/* refs built by hand: index, start - previous start (first: - block first_ns), dur, as LEB128 */
static void test_refs_decoder(void **state) {
  (void)state;
  static const uint8_t ok[] = {0x03, 0x00, 0x05, 0xff, 0xff, 0x03, 0x80, 0x01, 0x80, 0x80, 0x01};
  mw__refs_it it;
  mw__ref r;
  mw__refs_init(&it, ok, sizeof ok, 1000);
  assert_int_equal(mw__refs_next(&it, &r), 1);
  assert_int_equal(r.index, 3);
  assert_true(r.start_ns == 1000 && r.dur_ns == 5);
  assert_int_equal(mw__refs_next(&it, &r), 1);
  assert_int_equal(r.index, 65535);
  assert_true(r.start_ns == 1128 && r.dur_ns == 16384);
  assert_int_equal(mw__refs_next(&it, &r), 0);
  assert_int_equal(mw__refs_next(&it, &r), 0);
  /* starts add up: 100 + 10, then + 5 */
  static const uint8_t deltas[] = {0x00, 0x0a, 0x01, 0x01, 0x05, 0x02};
  mw__refs_init(&it, deltas, sizeof deltas, 100);
  assert_int_equal(mw__refs_next(&it, &r), 1);
  assert_true(r.index == 0 && r.start_ns == 110 && r.dur_ns == 1);
  assert_int_equal(mw__refs_next(&it, &r), 1);
  assert_true(r.index == 1 && r.start_ns == 115 && r.dur_ns == 2);
  assert_int_equal(mw__refs_next(&it, &r), 0);
  /* empty */
  mw__refs_init(&it, NULL, 0, 0);
  assert_int_equal(mw__refs_next(&it, &r), 0);
  /* every truncation of the two entries inside an entry fails */
  for (size_t len = 1; len < sizeof ok; len++) {
    if (len == 3) continue; /* a whole first entry */
    mw__refs_init(&it, ok, len, 0);
    int rc, k = 0;
    while ((rc = mw__refs_next(&it, &r)) == 1) k++;
    assert_int_equal(rc, MW_EIO);
    assert_int_equal(k, len > 3);
  }
  /* an index past 65,535 */
  static const uint8_t big[] = {0x80, 0x80, 0x04, 0x00, 0x00};
  mw__refs_init(&it, big, sizeof big, 0);
  assert_int_equal(mw__refs_next(&it, &r), MW_EIO);
  /* a varint past 64 bits */
  static const uint8_t wide[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, 0x00};
  mw__refs_init(&it, wide, sizeof wide, 0);
  assert_int_equal(mw__refs_next(&it, &r), MW_EIO);
  /* a negative duration and a start before first come back (mod 2^64) */
  static const uint8_t neg[] = {0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                0xfe, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
  mw__refs_init(&it, neg, sizeof neg, 10);
  assert_int_equal(mw__refs_next(&it, &r), 1);
  assert_true(r.start_ns == 9 && r.dur_ns == -2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_seal_by_hand, setup, teardown),
      cmocka_unit_test_setup_teardown(test_seal_random, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
      cmocka_unit_test_setup_teardown(test_plans, setup, teardown),
      cmocka_unit_test_setup_teardown(test_recent_durs, setup, teardown),
      cmocka_unit_test(test_refs_decoder),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
