/* Reads over sealed span blocks merged with old `spans` rows (issue 17,
 * docs/STORAGE-WIRING.md §1 "TR(id)"): a store holds old rows written through
 * the writer's job API, and blocks sealed beside them with the seal function
 * (store/block_write.h) on a connection of the test's own, their trace keys
 * flushed as a run. The expected values are the spans the test built (by
 * hand, below), never what a reader answered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/arena.h"
#include "core/error.h"
#include "store/block_read.h"
#include "store/block_write.h"
#include "store/blocks.h"
#include "store/exectrace_read.h"
#include "store/gor_read.h"
#include "store/readers.h"
#include "store/sref.h"
#include "store/trace_runs.h"
#include "store_fixture.h"
#include "sql_assert.h"

#define MS 1000000LL
static const int64_t T0 = 1800000000000000000LL;

/* Trace A: old rows 1 (root "GET /a", T0, 100 ms) and 2 ("db", +10 ms, 30 ms);
 * in block 1 span 3 ("db", +50 ms, 80 ms) and span 2 again (re-sent).
 * Trace C: block 1 c1 (root "GET /a", +1000 ms, 200 ms) and c2 ("db", +1100,
 * 50); block 2 c3 ("db", +1050, 250). Trace D shares C's first 8 bytes (its
 * trace key): block 1 d1. Trace E: e1 in block 2, e2 in block 3, which is
 * then deleted (as retention would, leaving the run's entry). */
static const uint8_t TA[16] = {0xa0, [15] = 1};
static const uint8_t TC[16] = {0xc0, 1, 2, 3, 4, 5, 6, 7, [15] = 1};
static const uint8_t TD[16] = {0xc0, 1, 2, 3, 4, 5, 6, 7, [15] = 2};
static const uint8_t TE[16] = {0xe0, [15] = 1};

static mw_resource_ref res = {.service = "shop",
                              .instance = "i-1",
                              .host = "h1",
                              .pid = 42,
                              .resource = (const uint8_t *)"res-1",
                              .resource_len = 5};
static mw_scope_ref scope = {.body = (const uint8_t *)"scope-1", .body_len = 7};

typedef struct fixture {
  sfx s;
  mw_arena *arena;
  int64_t source, scope, op_root, op_db, op_q;
} fixture;

/* Operation "q" (trace TQ): old rows q1..q4 start at +5000, 5002, 5004,
 * 5006 ms and last 10, 20, 30, 40 ms; in a block q5..q8 start at +5001,
 * 5003, 5005, 5007 and last 15, 25, 35, 45 ms, and q9 at +9000 lasts 99. */
static const uint8_t TQ[16] = {0x50, [15] = 1};

static mw_span_row old_row(const uint8_t trace[16], int id, int parent, const char *name, int64_t start_ms,
                           int64_t dur_ms) {
  mw_span_row r = {.start_ns = T0 + start_ms * MS,
                   .dur_ns = dur_ms * MS,
                   .kind = 2,
                   .name = name,
                   .body = (const uint8_t *)"old-body",
                   .body_len = 8};
  memcpy(r.trace_id, trace, 16);
  r.span_id[7] = (uint8_t)id;
  if (parent) r.parent_id[7] = (uint8_t)parent, r.has_parent = 1;
  return r;
}

static mw__sb_span blk_span(const fixture *f, const uint8_t trace[16], int id, int parent, int root, int64_t start_ms,
                            int64_t dur_ms, const char *body) {
  mw__sb_span s = {.op_id = root ? f->op_root : f->op_db,
                   .scope_id = f->scope,
                   .start_ns = T0 + start_ms * MS,
                   .dur_ns = dur_ms * MS,
                   .kind = 3,
                   .status = 1,
                   .body = (const uint8_t *)body,
                   .body_len = strlen(body)};
  memcpy(s.trace_id, trace, 16);
  s.span_id[7] = (uint8_t)id;
  if (parent) s.parent_id[7] = (uint8_t)parent, s.has_parent = 1;
  return s;
}

/* Seals each of the blocks (spans of source f->source) and flushes their
 * trace keys as one run, in one transaction on db; block ids into ids. */
static void seal_blocks(fixture *f, sqlite3 *db, const mw__sb_span *const *blocks, const size_t *n, size_t k,
                        int64_t *ids) {
  mw__bw *w;
  mw__truns_w *runs;
  mw__truns_mem *mem = mw__truns_mem_new();
  assert_non_null(mem);
  assert_int_equal(mw__bw_open(db, &w), MW_OK);
  assert_int_equal(mw__truns_w_open(db, &runs), MW_OK);
  assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  for (size_t i = 0; i < k; i++) {
    mw__bw_sealed out;
    assert_int_equal(mw__bw_seal(w, f->source, blocks[i], n[i], NULL, NULL, mem, &out), MW_OK);
    assert_int_equal(out.n, n[i]);
    if (ids) ids[i] = out.block_id;
  }
  int64_t run;
  assert_int_equal(mw__truns_flush(runs, mem, &run), MW_OK);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  mw__truns_w_close(runs);
  mw__bw_close(w);
  mw__truns_mem_free(mem);
}

static sqlite3 *open_db(fixture *f) {
  char p[128];
  snprintf(p, sizeof p, "%s/meanwhile.db", f->s.dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(p, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  return db;
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  if (!f || sfx_open_rows(&f->s)) return -1; /* old rows beside the blocks the tests seal */
  f->arena = mw__arena_new((size_t)64 << 20);
  mw_span_row rows[] = {old_row(TA, 1, 0, "GET /a", 0, 100), old_row(TA, 2, 1, "db", 10, 30)};
  mw_span_batch b = {.resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = rows, .n_rows = 2};
  mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = 2};
  if (sfx_commit(&f->s, &job, 1)) return -1;
  *state = f;
  sqlite3 *db = open_db(f);
  f->source = sqlt_int(db, "SELECT id FROM sources");
  f->scope = sqlt_int(db, "SELECT id FROM scopes");
  f->op_root = sqlt_int(db, "SELECT id FROM operations WHERE name = 'GET /a'");
  f->op_db = sqlt_int(db, "SELECT id FROM operations WHERE name = 'db'");
  sqlite3_close(db);
  mw_span_row q[4];
  for (int i = 0; i < 4; i++) q[i] = old_row(TQ, 0x71 + i, 0, "q", 5000 + 2 * i, 10 * (i + 1));
  mw_span_batch bq = {.resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = q, .n_rows = 4};
  mw_write_job jq = {.kind = MW_JOB_SPANS, .payload = &bq, .cost_spans = 4};
  if (sfx_commit(&f->s, &jq, 1)) return -1;
  db = open_db(f);
  f->op_q = sqlt_int(db, "SELECT id FROM operations WHERE name = 'q'");
  mw__sb_span bqs[5];
  for (int i = 0; i < 4; i++) {
    bqs[i] = blk_span(f, TQ, 0x75 + i, 0, 0, 5001 + 2 * i, 15 + 10 * i, "q");
    bqs[i].op_id = f->op_q;
  }
  bqs[4] = blk_span(f, TQ, 0x79, 0, 0, 9000, 99, "q");
  bqs[4].op_id = f->op_q;
  const mw__sb_span *qblocks[] = {bqs};
  size_t qn[] = {5};
  seal_blocks(f, db, qblocks, qn, 1, NULL);
  /* the writer counts every span it accepts, blocks' too */
  char upd[160];
  snprintf(upd, sizeof upd, "UPDATE operations SET span_count = span_count + 5 WHERE id = %lld", (long long)f->op_q);
  assert_int_equal(sqlite3_exec(db, upd, NULL, NULL, NULL), SQLITE_OK);
  mw__sb_span b1[] = {blk_span(f, TA, 3, 1, 0, 50, 80, "a3"), blk_span(f, TA, 2, 1, 0, 10, 30, "a2-again"),
                      blk_span(f, TC, 0xc1, 0, 1, 1000, 200, "c1"), blk_span(f, TC, 0xc2, 0xc1, 0, 1100, 50, "c2"),
                      blk_span(f, TD, 0xd1, 0, 1, 1010, 10, "d1")};
  mw__sb_span b2[] = {blk_span(f, TC, 0xc3, 0xc1, 0, 1050, 250, "c3"), blk_span(f, TE, 0xe1, 0, 1, 2000, 5, "e1")};
  mw__sb_span b3[] = {blk_span(f, TE, 0xe2, 0xe1, 0, 2001, 1, "e2")};
  const mw__sb_span *blocks[] = {b1, b2, b3};
  size_t n[] = {5, 2, 1};
  int64_t ids[3];
  seal_blocks(f, db, blocks, n, 3, ids);
  char sql[128];
  snprintf(sql, sizeof sql, "DELETE FROM span_blocks WHERE id = %lld", (long long)ids[2]);
  assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  mw__arena_free(f->arena);
  sfx_close(&f->s);
  free(f);
  return 0;
}

static mw_read *rd(fixture *f) {
  mw_read *r;
  assert_int_equal(mw__read_begin(f->s.s, &r), MW_OK);
  return r;
}

/* Reads trace and checks its spans' ids (low byte), starts and durations (ms
 * from T0), names and bodies, in order. */
typedef struct want_span {
  int id;
  int64_t start_ms, dur_ms;
  const char *name, *body;
  int parent;
} want_span;

static void expect_trace(fixture *f, const uint8_t trace[16], const want_span *w, size_t n) {
  mw_read *r = rd(f);
  mw_trace_rows t;
  assert_int_equal(mw__store_read_trace(r, f->arena, trace, 100, &t), MW_OK);
  if (t.n_spans != n) fail_msg("%zu spans, want %zu", t.n_spans, n);
  for (size_t i = 0; i < n; i++) {
    const mw_stored_span *s = &t.spans[i];
    assert_memory_equal(s->trace_id, trace, 16);
    assert_int_equal(s->span_id[7], w[i].id);
    assert_int_equal(s->start_ns, T0 + w[i].start_ms * MS);
    assert_int_equal(s->dur_ns, w[i].dur_ms * MS);
    assert_string_equal(s->name, w[i].name);
    assert_int_equal(s->body_len, strlen(w[i].body));
    assert_memory_equal(s->body, w[i].body, s->body_len);
    assert_int_equal(s->has_parent, w[i].parent != 0);
    if (w[i].parent) assert_int_equal(s->parent_id[7], w[i].parent);
    assert_int_equal(s->source_id, f->source);
    assert_int_equal(s->scope_id, f->scope);
  }
  assert_int_equal(t.n_sources, n ? 1 : 0);
  if (n) {
    assert_int_equal(t.sources[0].len, 5);
    assert_memory_equal(t.sources[0].data, "res-1", 5);
    assert_int_equal(t.n_scopes, 1);
    assert_memory_equal(t.scopes[0].data, "scope-1", 7);
  }
  mw__read_end(r);
}

/* Old rows and a block's spans of one trace come back as one, by start, the
 * span stored in both once (the old row's copy: the first read). */
static void test_trace_old_rows_and_blocks(void **state) {
  fixture *f = *state;
  want_span a[] = {{1, 0, 100, "GET /a", "old-body", 0}, {2, 10, 30, "db", "old-body", 1}, {3, 50, 80, "db", "a3", 1}};
  expect_trace(f, TA, a, 3);
}

/* A trace in two blocks; the spans of the trace sharing its key are not its. */
static void test_trace_over_blocks_and_key_collision(void **state) {
  fixture *f = *state;
  want_span c[] = {
      {0xc1, 1000, 200, "GET /a", "c1", 0}, {0xc3, 1050, 250, "db", "c3", 0xc1}, {0xc2, 1100, 50, "db", "c2", 0xc1}};
  expect_trace(f, TC, c, 3);
  want_span d[] = {{0xd1, 1010, 10, "GET /a", "d1", 0}};
  expect_trace(f, TD, d, 1);
  /* e2's block is gone: its run entry is skipped */
  want_span e[] = {{0xe1, 2000, 5, "GET /a", "e1", 0}};
  expect_trace(f, TE, e, 1);
  static const uint8_t unknown[16] = {0xc0, 1, 2, 3, 4, 5, 6, 7, [15] = 9};
  expect_trace(f, unknown, NULL, 0);
}

/* max_spans counts distinct spans: the re-sent span 2 does not count twice. */
static void test_trace_max_spans(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  mw_trace_rows t;
  assert_int_equal(mw__store_read_trace(r, f->arena, TA, 3, &t), MW_OK);
  assert_int_equal(t.n_spans, 3);
  assert_int_equal(mw__store_read_trace(r, f->arena, TA, 2, &t), MW_ETOOBIG);
  assert_int_equal(mw__store_read_trace(r, f->arena, TC, 3, &t), MW_OK);
  assert_int_equal(mw__store_read_trace(r, f->arena, TC, 2, &t), MW_ETOOBIG);
  assert_int_equal(mw__store_read_trace(r, f->arena, TA, 1, &t), MW_ETOOBIG); /* old rows alone */
  mw__read_end(r);
}

static void test_span_by_id(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  mw_stored_span s;
  uint8_t sid[8] = {[7] = 3};
  assert_int_equal(mw__store_span_by_id(r, f->arena, TA, sid, &s), MW_OK); /* in a block */
  assert_int_equal(s.start_ns, T0 + 50 * MS);
  assert_int_equal(s.dur_ns, 80 * MS);
  assert_int_equal(s.op_id, f->op_db);
  assert_int_equal(s.source_id, f->source);
  assert_int_equal(s.kind, 3);
  assert_int_equal(s.parent_id[7], 1);
  sid[7] = 1;
  assert_int_equal(mw__store_span_by_id(r, f->arena, TA, sid, &s), MW_OK); /* an old row */
  assert_int_equal(s.start_ns, T0);
  assert_int_equal(s.dur_ns, 100 * MS);
  assert_int_equal(s.op_id, f->op_root);
  assert_int_equal(s.has_parent, 0);
  sid[7] = 0xd1; /* in a candidate block, under the other trace of the key */
  assert_int_equal(mw__store_span_by_id(r, f->arena, TC, sid, &s), MW_ENOTFOUND);
  sid[7] = 0xe2; /* its block is gone */
  assert_int_equal(mw__store_span_by_id(r, f->arena, TE, sid, &s), MW_ENOTFOUND);
  sid[7] = 0xc3;
  int64_t from, to;
  assert_int_equal(mw__store_span_time(r, TC, sid, &from, &to), MW_OK);
  assert_int_equal(from, T0 + 1050 * MS);
  assert_int_equal(to, T0 + 1300 * MS);
  const char *name, *service;
  assert_int_equal(mw__store_span_name(r, f->arena, TC, sid, &name, &service), MW_OK);
  assert_string_equal(name, "db");
  assert_string_equal(service, "shop");
  sid[7] = 2;
  assert_int_equal(mw__store_span_name(r, f->arena, TA, sid, &name, &service), MW_OK);
  assert_string_equal(name, "db");
  mw__read_end(r);
}

/* Root and extent over both kinds: trace A's root is an old row, its end a
 * block's span; trace C is in blocks only. */
static void test_trace_meta(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  mw_search_hit h = {0};
  memcpy(h.trace_id, TA, 16);
  assert_int_equal(mw__store_trace_meta(r, f->arena, &h), MW_OK);
  assert_string_equal(h.root_service, "shop");
  assert_string_equal(h.root_name, "GET /a");
  assert_int_equal(h.start_ns, T0);
  assert_int_equal(h.dur_ns, 130 * MS);
  memset(&h, 0, sizeof h);
  memcpy(h.trace_id, TC, 16);
  assert_int_equal(mw__store_trace_hit(r, f->arena, &h), MW_OK);
  assert_string_equal(h.root_name, "GET /a");
  assert_int_equal(h.start_ns, T0 + 1000 * MS);
  assert_int_equal(h.dur_ns, 300 * MS);
  memset(&h, 0, sizeof h);
  memcpy(h.trace_id, TE, 16);
  assert_int_equal(mw__store_trace_meta(r, f->arena, &h), MW_OK);
  assert_int_equal(h.start_ns, T0 + 2000 * MS);
  assert_int_equal(h.dur_ns, 5 * MS);
  mw__read_end(r);
}

/* More candidate blocks than MW_TRACE_MAX_BLOCKS for one trace key: the read
 * refuses (MW_ETOOBIG) rather than open them all. */
static void test_candidate_cap(void **state) {
  fixture *f = *state;
  enum { K = MW_TRACE_MAX_BLOCKS + 1 };
  mw__sb_span *v = calloc(K, sizeof *v);
  const mw__sb_span **blocks = calloc(K, sizeof *blocks);
  size_t *n = calloc(K, sizeof *n);
  for (size_t i = 0; i < K; i++) {
    uint8_t t[16] = {0xf0, [14] = (uint8_t)(i >> 8), [15] = (uint8_t)i};
    v[i] = blk_span(f, t, 1, 0, 1, 3000, 1, "f");
    blocks[i] = &v[i];
    n[i] = 1;
  }
  sqlite3 *db = open_db(f);
  seal_blocks(f, db, blocks, n, K, NULL);
  sqlite3_close(db);
  uint8_t t0[16] = {0xf0};
  mw_read *r = rd(f);
  mw_trace_rows t;
  assert_int_equal(mw__store_read_trace(r, f->arena, t0, 100, &t), MW_ETOOBIG);
  mw__read_end(r);
  free(v);
  free(blocks);
  free(n);
}

static int collect_span(void *user, const mw_stored_span *s) {
  mw_stored_span *v = user;
  size_t k = 0;
  while (v[k].name) k++;
  if (k < 7) v[k] = *s;
  return 0;
}

/* The view V of memory (store/blocks.h): a span in an open block, and a
 * block sealed (in span_blocks, its trace key only in the writer's partition,
 * not yet in a run) and retired in memory, are read from memory, each once,
 * merged with old rows and sealed blocks. Without the view the read misses
 * both (this test fails when view_trace consults nothing). */
static void test_view_of_memory(void **state) {
  fixture *f = *state;
  static const uint8_t TG[16] = {0x90, [15] = 1}, TH[16] = {0x91, [15] = 1};
  mw__blk *b = mw__blk_new();
  assert_non_null(b);
  mw__sb_span open[] = {blk_span(f, TG, 0x91, 0, 1, 4000, 7, "g1"), blk_span(f, TA, 4, 1, 0, 60, 5, "a4")};
  mw__sb_span sealed[] = {blk_span(f, TH, 0xa1, 0, 1, 3900, 9, "h1")};
  /* one commit: h1 staged, sealed (its span_blocks row on our connection) */
  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  assert_int_equal(mw__blk_stage_span(b, f->source, &sealed[0], 0), MW_OK);
  const mw__sb_span *in;
  size_t n;
  int64_t tail;
  assert_int_equal(mw__blk_seal_input(b, f->source, &in, &n, &tail), MW_OK);
  assert_int_equal(n, 1);
  sqlite3 *db = open_db(f);
  mw__bw *w;
  assert_int_equal(mw__bw_open(db, &w), MW_OK);
  mw__bw_sealed out;
  assert_int_equal(mw__bw_seal(w, f->source, in, n, NULL, NULL, NULL, &out), MW_OK);
  mw__bw_close(w);
  sqlite3_close(db);
  assert_int_equal(mw__blk_stage_sealed(b, f->source, out.block_id), MW_OK);
  assert_int_equal(mw__blk_apply(b), MW_OK);
  /* the next: g1 and a4 in the open block of the source */
  mw__blk_txn_begin(b);
  mw__blk_job_begin(b);
  for (size_t i = 0; i < 2; i++) assert_int_equal(mw__blk_stage_span(b, f->source, &open[i], 0), MW_OK);
  assert_int_equal(mw__blk_apply(b), MW_OK);

  mw_read *r = rd(f);
  r->pool->blk = b;
  /* lent after both commits: memory as it was then (store/blocks.h): g1 and
   * a4 in the open block; h1 retired, its key in the partition, its rows in
   * the database */
  r->seq_at_begin = mw__blk_seq(b);
  mw_trace_rows t;
  assert_int_equal(mw__store_read_trace(r, f->arena, TG, 100, &t), MW_OK);
  assert_int_equal(t.n_spans, 1);
  assert_int_equal(t.spans[0].span_id[7], 0x91);
  assert_int_equal(t.spans[0].start_ns, T0 + 4000 * MS);
  assert_int_equal(t.spans[0].body_len, 2);
  assert_memory_equal(t.spans[0].body, "g1", 2);
  assert_string_equal(t.spans[0].name, "GET /a");
  assert_int_equal(t.spans[0].source_id, f->source);
  assert_int_equal(mw__store_read_trace(r, f->arena, TH, 100, &t), MW_OK);
  assert_int_equal(t.n_spans, 1); /* through the partition's key, from span_blocks */
  assert_int_equal(t.spans[0].span_id[7], 0xa1);
  assert_int_equal(t.spans[0].dur_ns, 9 * MS);
  assert_int_equal(mw__store_read_trace(r, f->arena, TA, 100, &t), MW_OK);
  assert_int_equal(t.n_spans, 4); /* old rows 1, 2, block span 3, open a4 */
  assert_int_equal(t.spans[3].span_id[7], 4);
  uint8_t sid[8] = {[7] = 4};
  mw_stored_span sp;
  assert_int_equal(mw__store_span_by_id(r, f->arena, TA, sid, &sp), MW_OK);
  assert_int_equal(sp.start_ns, T0 + 60 * MS);
  /* window queries: h1 from span_blocks (its retired copy is in the snapshot
   * too: read once), g1 from the open block */
  int64_t v, count;
  assert_int_equal(mw__store_op_quantile(r, f->op_root, T0 + 3800 * MS, T0 + 4100 * MS, 1.0, &v, &count), MW_OK);
  assert_int_equal(count, 2);
  assert_int_equal(v, 9 * MS);
  assert_int_equal(mw__store_op_quantile(r, f->op_root, T0 + 3800 * MS, T0 + 4100 * MS, 0.5, &v, &count), MW_OK);
  assert_int_equal(v, 7 * MS);
  mw_src_span *ss;
  size_t ns;
  int more;
  assert_int_equal(mw__store_source_spans(r, f->arena, f->source, T0 + 3800 * MS, T0 + 4100 * MS, 10, &ss, &ns, &more),
                   MW_OK);
  assert_int_equal(ns, 2);
  assert_int_equal(ss[0].span_id[7], 0xa1);
  assert_int_equal(ss[1].span_id[7], 0x91);
  assert_int_equal(ss[1].dur_ns, 7 * MS);
  mw_page pg = {.offset = 0, .limit = 100, .max_bytes = 1 << 20};
  mw_operation_stats *ops;
  size_t nops, next;
  assert_int_equal(mw__store_operations(r, f->arena, "shop", T0 + 3800 * MS, T0 + 4100 * MS, &pg, &ops, &nops, &next),
                   MW_OK);
  assert_int_equal(nops, 1);
  assert_string_equal(ops[0].name, "GET /a");
  assert_int_equal(ops[0].count, 2);
  assert_int_equal(ops[0].p50_ns, 7 * MS);
  assert_int_equal(ops[0].max_ns, 9 * MS);
  mw_stored_span seen[8];
  memset(seen, 0, sizeof seen);
  assert_int_equal(mw__store_recent_spans(r, f->arena, T0 + 4000 * MS, T0 + 4001 * MS, 1000, collect_span, seen),
                   MW_OK);
  assert_int_equal(seen[0].span_id[7], 0x91);
  assert_null(seen[1].name);
  /* the longest, and the neighbours: g1 (memory, 7 ms) with its ids, h1 (block, 9 ms) */
  mw_span_ref *refs;
  size_t nr;
  assert_int_equal(
      mw__store_op_spans(r, f->arena, f->op_root, T0 + 3800 * MS, T0 + 4100 * MS, 0, INT64_MAX, 10, &refs, &nr), MW_OK);
  assert_int_equal(nr, 2);
  assert_int_equal(refs[0].span_id[7], 0xa1);
  assert_memory_equal(refs[0].trace_id, TH, 16);
  assert_int_equal(refs[1].span_id[7], 0x91);
  assert_memory_equal(refs[1].trace_id, TG, 16);
  assert_int_equal(refs[1].start_ns, T0 + 4000 * MS);
  int64_t qv;
  assert_int_equal(
      mw__store_op_neighbours(r, f->arena, f->op_root, T0 + 3950 * MS, 100 * MS, 5, 0.0, 10, &qv, &count, &refs, &nr),
      MW_OK);
  assert_int_equal(count, 2); /* h1 before, g1 after; q = 0: every one at or above the smallest */
  assert_int_equal(qv, 7 * MS);
  assert_int_equal(nr, 2);
  assert_int_equal(refs[0].span_id[7], 0xa1);
  assert_int_equal(refs[1].span_id[7], 0x91);
  assert_memory_equal(refs[1].trace_id, TG, 16);
  assert_int_equal(refs[1].dur_ns, 7 * MS);
  /* search and Tempo's scan: g1 (memory) is found, with its trace's root and extent */
  mw_search_query sq = {.name = "GET /a",
                        .min_dur_ns = 5 * MS,
                        .max_dur_ns = 8 * MS,
                        .start_ns = T0 + 3800 * MS,
                        .end_ns = T0 + 4100 * MS,
                        .page = {.offset = 0, .limit = 10, .max_bytes = 1 << 20}};
  mw_search_hit *hits;
  size_t nh, nexth, visited;
  assert_int_equal(mw__store_search(r, f->arena, &sq, &hits, &nh, &nexth), MW_OK);
  assert_int_equal(nh, 1);
  assert_memory_equal(hits[0].trace_id, TG, 16);
  assert_int_equal(hits[0].match_dur_ns, 7 * MS);
  assert_string_equal(hits[0].root_name, "GET /a");
  assert_int_equal(hits[0].start_ns, T0 + 4000 * MS);
  assert_int_equal(hits[0].dur_ns, 7 * MS);
  memset(seen, 0, sizeof seen);
  assert_int_equal(mw__store_scan_longest(r, f->arena, &sq, 10, collect_span, seen, &visited), MW_OK);
  assert_int_equal(visited, 1);
  assert_int_equal(seen[0].span_id[7], 0x91);
  assert_memory_equal(seen[0].body, "g1", 2);
  /* a reader whose seq predates both commits: h1 both retired in its view
   * and in span_blocks (read once); g1 appended after it: not seen */
  r->seq_at_begin = 0;
  assert_int_equal(mw__store_read_trace(r, f->arena, TH, 100, &t), MW_OK);
  assert_int_equal(t.n_spans, 1);
  assert_int_equal(mw__store_read_trace(r, f->arena, TG, 100, &t), MW_OK);
  assert_int_equal(t.n_spans, 0);
  assert_int_equal(mw__store_op_quantile(r, f->op_root, T0 + 3800 * MS, T0 + 4100 * MS, 1.0, &v, &count), MW_OK);
  assert_int_equal(count, 1); /* h1 once */
  r->pool->blk = NULL;
  mw__read_end(r);
  mw__blk_free(b);
}

/* An operation's quantile, longest spans and neighbours over old rows and
 * a block's spans together (block_ops.refs): expected values from the spans
 * listed above the fixture. */
static void test_op_queries(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  int64_t v, count;
  assert_int_equal(mw__store_op_quantile(r, f->op_q, T0 + 5000 * MS, T0 + 6000 * MS, 0.5, &v, &count), MW_OK);
  assert_int_equal(count, 8);
  assert_int_equal(v, 25 * MS);
  assert_int_equal(mw__store_op_quantile(r, f->op_q, T0 + 5000 * MS, T0 + 6000 * MS, 0.9, &v, &count), MW_OK);
  assert_int_equal(v, 45 * MS);
  assert_int_equal(mw__store_op_quantile(r, f->op_q, T0 + 5000 * MS, T0 + 5004 * MS, 0.5, &v, &count), MW_OK);
  assert_int_equal(count, 4); /* 10, 15, 20, 25 */
  assert_int_equal(v, 15 * MS);
  assert_int_equal(mw__store_op_quantile(r, f->op_q, T0, T0 + 10000 * MS, 1.0, &v, &count), MW_OK);
  assert_int_equal(count, 9);
  assert_int_equal(v, 99 * MS);

  mw_span_ref *sp;
  size_t n;
  assert_int_equal(mw__store_op_spans(r, f->arena, f->op_q, T0 + 5000 * MS, T0 + 6000 * MS, 0, INT64_MAX, 3, &sp, &n),
                   MW_OK);
  assert_int_equal(n, 3);
  static const int want_ids[3] = {0x78, 0x74, 0x77}; /* 45 (block), 40 (old row), 35 (block) */
  static const int64_t want_ms[3] = {45, 40, 35};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(sp[i].span_id[7], want_ids[i]);
    assert_int_equal(sp[i].dur_ns, want_ms[i] * MS);
    assert_memory_equal(sp[i].trace_id, TQ, 16);
  }
  assert_int_equal(sp[1].start_ns, T0 + 5006 * MS);
  assert_int_equal(sp[0].start_ns, T0 + 5007 * MS);
  /* a duration range: 20..30 ms */
  assert_int_equal(
      mw__store_op_spans(r, f->arena, f->op_q, T0 + 5000 * MS, T0 + 6000 * MS, 20 * MS, 30 * MS, 10, &sp, &n), MW_OK);
  assert_int_equal(n, 3);
  assert_int_equal(sp[0].dur_ns, 30 * MS);
  assert_int_equal(sp[1].dur_ns, 25 * MS);
  assert_int_equal(sp[2].dur_ns, 20 * MS);

  /* around +5003.5 ms, 2 a side: before 5003 (block, 25) and 5002 (old, 20);
   * after 5004 (old, 30) and 5005 (block, 35); median (nearest rank) 25 */
  int64_t qv;
  assert_int_equal(mw__store_op_neighbours(r, f->arena, f->op_q, T0 + 5003 * MS + MS / 2, 10000 * MS, 2, 0.5, 10, &qv,
                                           &count, &sp, &n),
                   MW_OK);
  assert_int_equal(count, 4);
  assert_int_equal(qv, 25 * MS);
  assert_int_equal(n, 3);
  static const int near_ids[3] = {0x77, 0x73, 0x76};
  static const int64_t near_ms[3] = {35, 30, 25};
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(sp[i].span_id[7], near_ids[i]);
    assert_int_equal(sp[i].dur_ns, near_ms[i] * MS);
  }
  mw__read_end(r);
}

static const mw_operation_stats *find_op(const mw_operation_stats *v, size_t n, const char *name) {
  for (size_t i = 0; i < n; i++)
    if (!strcmp(v[i].name, name)) return &v[i];
  fail_msg("no operation %s", name);
  return NULL;
}

/* The service's operation listing counts and ranks old rows and block
 * spans together. */
static void test_operations_listing(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  mw_page pg = {.offset = 0, .limit = 100, .max_bytes = 1 << 20};
  mw_operation_stats *ops;
  size_t n, next;
  assert_int_equal(mw__store_operations(r, f->arena, "shop", T0 + 5000 * MS, T0 + 6000 * MS, &pg, &ops, &n, &next),
                   MW_OK);
  const mw_operation_stats *q = find_op(ops, n, "q");
  assert_int_equal(q->count, 8);
  assert_int_equal(q->p50_ns, 25 * MS);
  assert_int_equal(q->p90_ns, 45 * MS);
  assert_int_equal(q->p99_ns, 45 * MS);
  assert_int_equal(q->max_ns, 45 * MS);
  assert_int_equal(mw__store_operations(r, f->arena, "shop", T0, T0 + 10000 * MS, &pg, &ops, &n, &next), MW_OK);
  q = find_op(ops, n, "q");
  assert_int_equal(q->count, 9);
  assert_int_equal(q->max_ns, 99 * MS);
  mw__read_end(r);
}

/* Search, Tempo's longest-span scan and the newest spans find spans of
 * blocks beside old rows. */
static void test_search_over_blocks(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  mw_search_query sq = {.name = "GET /a",
                        .min_dur_ns = 50 * MS,
                        .max_dur_ns = INT64_MAX,
                        .start_ns = 0,
                        .end_ns = INT64_MAX,
                        .page = {.offset = 0, .limit = 10, .max_bytes = 1 << 20}};
  mw_search_hit *hits;
  size_t n, next;
  assert_int_equal(mw__store_search(r, f->arena, &sq, &hits, &n, &next), MW_OK);
  assert_int_equal(n, 2); /* c1 (a block, 200 ms), then span 1 of A (an old row, 100 ms) */
  assert_memory_equal(hits[0].trace_id, TC, 16);
  assert_int_equal(hits[0].match_dur_ns, 200 * MS);
  assert_string_equal(hits[0].root_name, "GET /a");
  assert_int_equal(hits[0].start_ns, T0 + 1000 * MS);
  assert_int_equal(hits[0].dur_ns, 300 * MS);
  assert_memory_equal(hits[1].trace_id, TA, 16);
  assert_int_equal(hits[1].match_dur_ns, 100 * MS);
  assert_int_equal(hits[1].dur_ns, 130 * MS);

  mw_stored_span seen[8];
  memset(seen, 0, sizeof seen);
  size_t visited;
  assert_int_equal(mw__store_scan_longest(r, f->arena, &sq, 10, collect_span, seen, &visited), MW_OK);
  assert_int_equal(visited, 2);
  assert_int_equal(seen[0].span_id[7], 0xc1);
  assert_int_equal(seen[0].body_len, 2);
  assert_memory_equal(seen[0].body, "c1", 2);
  assert_int_equal(seen[0].source_id, f->source);
  assert_int_equal(seen[1].span_id[7], 1);
  assert_memory_equal(seen[1].body, "old-body", 8);

  memset(seen, 0, sizeof seen);
  assert_int_equal(mw__store_recent_spans(r, f->arena, T0 + 1000 * MS, T0 + 1001 * MS, 1000, collect_span, seen),
                   MW_OK);
  assert_non_null(seen[0].name);
  assert_null(seen[1].name);
  assert_int_equal(seen[0].span_id[7], 0xc1);
  mw__read_end(r);
}

/* A source's spans by start: old rows and a block's, merged, bounded. */
static void test_source_spans(void **state) {
  fixture *f = *state;
  mw_read *r = rd(f);
  mw_src_span *v;
  size_t n;
  int more;
  assert_int_equal(mw__store_source_spans(r, f->arena, f->source, T0 + 5000 * MS, T0 + 5006 * MS, 100, &v, &n, &more),
                   MW_OK);
  assert_int_equal(n, 6); /* 5000 q1 (old), 5001 q5 (block), ... 5005 q7 (block) */
  assert_int_equal(more, 0);
  static const int ids[6] = {0x71, 0x75, 0x72, 0x76, 0x73, 0x77};
  for (size_t i = 0; i < 6; i++) {
    assert_int_equal(v[i].span_id[7], ids[i]);
    assert_int_equal(v[i].start_ns, T0 + (5000 + (int64_t)i) * MS);
    assert_int_equal(v[i].op_id, f->op_q);
    assert_memory_equal(v[i].trace_id, TQ, 16);
  }
  assert_int_equal(v[1].dur_ns, 15 * MS);
  assert_int_equal(mw__store_source_spans(r, f->arena, f->source, T0 + 5000 * MS, T0 + 5006 * MS, 4, &v, &n, &more),
                   MW_OK);
  assert_int_equal(n, 4);
  assert_int_equal(more, 1);
  assert_int_equal(v[3].span_id[7], 0x76);
  mw__read_end(r);
}

/* A search of any span over more than MW_SEARCH_MAX_OPS operations reads
 * the window of every source's blocks (and of old rows): the longest traces
 * come from both. (Last: it adds 2,001 operations of another service.) */
static void test_search_any_many_ops(void **state) {
  fixture *f = *state;
  assert_int_equal(sfx_exec(&f->s,
                            "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 2001) "
                            "INSERT INTO operations (service, name, span_count) SELECT 'zz', 'op' || x, 1 FROM c"),
                   0);
  mw_read *r = rd(f);
  mw_search_query sq = {.min_dur_ns = 90 * MS,
                        .max_dur_ns = INT64_MAX,
                        .start_ns = 0,
                        .end_ns = INT64_MAX,
                        .page = {.offset = 0, .limit = 10, .max_bytes = 1 << 20}};
  mw_search_hit *hits;
  size_t n, next;
  assert_int_equal(mw__store_search(r, f->arena, &sq, &hits, &n, &next), MW_OK);
  assert_int_equal(n, 3); /* C (c3, 250 ms, a block), A (span 1, 100 ms, an old row), Q (q9, 99 ms, a block) */
  assert_memory_equal(hits[0].trace_id, TC, 16);
  assert_int_equal(hits[0].match_dur_ns, 250 * MS);
  assert_memory_equal(hits[1].trace_id, TA, 16);
  assert_int_equal(hits[1].match_dur_ns, 100 * MS);
  assert_memory_equal(hits[2].trace_id, TQ, 16);
  assert_int_equal(hits[2].match_dur_ns, 99 * MS);
  mw__read_end(r);
}

/* Span ids by span reference, twice in a row; once the block is deleted
 * (retention), not found; an index past the block is not found either.
 * (Last: it deletes the block of q5..q9.) */
static void test_sref_ids(void **state) {
  fixture *f = *state;
  char sql[128];
  snprintf(sql, sizeof sql, "SELECT block_id FROM block_ops WHERE op_id = %lld", (long long)f->op_q);
  sqlite3 *db = open_db(f);
  int64_t blk = sqlt_int(db, sql);
  sqlite3_close(db);
  int64_t srefs[6];
  for (uint32_t i = 0; i < 5; i++) srefs[i] = mw__sref_block(blk, i);
  srefs[5] = mw__sref_block(blk, 9); /* past the block */
  for (int pass = 0; pass < 3; pass++) {
    if (pass == 2) {
      snprintf(sql, sizeof sql, "DELETE FROM span_blocks WHERE id = %lld", (long long)blk);
      assert_int_equal(sfx_exec(&f->s, sql), 0);
    }
    mw_read *r = rd(f);
    mw_span_ref out[6];
    int found[6];
    assert_int_equal(mw__store_sref_spans(r, f->arena, srefs, 6, 0, out, found), MW_OK);
    for (int i = 0; i < 5; i++) {
      assert_int_equal(found[i], pass < 2);
      if (pass == 2) continue;
      assert_memory_equal(out[i].trace_id, TQ, 16);
      assert_int_equal(out[i].span_id[7], 0x75 + i); /* one trace: the block's order is by start */
    }
    assert_int_equal(found[5], 0);
    mw__read_end(r);
  }
}

/* An operation's nearest neighbour before at is in an older block that
 * reaches past a newer one: blocks X (a span at +90 s), Y (+80 s) and Z
 * (+60 s and +95 s), newest first by first_ns. Y's spans all start before
 * X's, but Z's later one (+95 s) is the nearest to at (+100 s): reading
 * stops at no row whose followers may start nearer. */
static void test_neighbours_older_block_nearer(void **state) {
  fixture *f = *state;
  static const uint8_t TN[16] = {0x60, [15] = 1};
  mw__sb_span x[1] = {blk_span(f, TN, 0xb1, 0, 0, 90000, 4, "x")};
  mw__sb_span y[1] = {blk_span(f, TN, 0xb2, 0, 0, 80000, 6, "y")};
  mw__sb_span z[2] = {blk_span(f, TN, 0xb3, 0, 0, 60000, 5, "z1"), blk_span(f, TN, 0xb4, 0, 0, 95000, 3, "z2")};
  mw__sb_span w[1] = {blk_span(f, TN, 0xb5, 0, 0, 101000, 2, "w")};
  const mw__sb_span *blocks[4] = {z, y, x, w};
  size_t n[4] = {2, 1, 1, 1};
  sqlite3 *db = open_db(f);
  seal_blocks(f, db, blocks, n, 4, NULL);
  sqlite3_close(db);
  mw_read *r = rd(f);
  int64_t qv, count;
  mw_span_ref *sp;
  size_t ns;
  /* one a side, within 50 s: z2 (+95 s, 3 ms) before, w (+101 s, 2 ms) after */
  assert_int_equal(
      mw__store_op_neighbours(r, f->arena, f->op_db, T0 + 100000 * MS, 50000 * MS, 1, 0.0, 10, &qv, &count, &sp, &ns),
      MW_OK);
  assert_int_equal(count, 2);
  assert_int_equal(qv, 2 * MS);
  assert_int_equal(ns, 2);
  assert_int_equal(sp[0].span_id[7], 0xb4);
  assert_int_equal(sp[0].dur_ns, 3 * MS);
  assert_int_equal(sp[0].start_ns, T0 + 95000 * MS);
  assert_memory_equal(sp[0].trace_id, TN, 16);
  assert_int_equal(sp[1].span_id[7], 0xb5);
  /* two a side: z2 and x (+90 s) before; w alone after */
  assert_int_equal(
      mw__store_op_neighbours(r, f->arena, f->op_db, T0 + 100000 * MS, 50000 * MS, 2, 0.0, 10, &qv, &count, &sp, &ns),
      MW_OK);
  assert_int_equal(count, 3);
  assert_int_equal(ns, 3);
  assert_int_equal(sp[0].span_id[7], 0xb1);
  assert_int_equal(sp[1].span_id[7], 0xb4);
  assert_int_equal(sp[2].span_id[7], 0xb5);
  mw__read_end(r);
}

/* The listing's percentiles are over the latest 10,000 spans by start,
 * though a block newer than another may hold an earlier start: block A
 * (first start +200 s: F, of another operation) also holds L at +310 s
 * lasting 500 ms (its block_ops row has n = 1: read from the index); the
 * newer block B holds E at +300 s (1 ms), then 4,999 spans of 2 ms and 5,000
 * of 3 ms from +310.001 s. The latest 10,000 are L and B's but E: sorted,
 * 4,999 x 2 ms, 5,000 x 3 ms, 500 ms, so p50 = p90 = p99 = 3 ms (a walk that
 * stops before A, whose first_ns is below every start held, gets E in place
 * of L and p50 = 2 ms). */
static void test_operations_latest_in_older_block(void **state) {
  fixture *f = *state;
  enum { NB = 10000 };
  sqlite3 *db = open_db(f);
  assert_int_equal(sqlite3_exec(db,
                                "INSERT INTO operations (service, name, span_count) VALUES ('shop', 'latest', 10001)",
                                NULL, NULL, NULL),
                   SQLITE_OK);
  int64_t op = sqlt_int(db, "SELECT id FROM operations WHERE name = 'latest'");
  static const uint8_t TL[16] = {0x70, [15] = 1};
  mw__sb_span a[2] = {blk_span(f, TL, 1, 0, 0, 200000, 1, "f"), blk_span(f, TL, 2, 0, 0, 310000, 500, "l")};
  mw__sb_span *b = calloc(NB, sizeof *b);
  assert_non_null(b);
  b[0] = blk_span(f, TL, 3, 0, 0, 300000, 1, "e");
  for (int i = 1; i < NB; i++) {
    b[i] = blk_span(f, TL, 0, 0, 0, 310000 + i, i < 5000 ? 2 : 3, "b");
    b[i].span_id[5] = 1, b[i].span_id[6] = (uint8_t)(i >> 8), b[i].span_id[7] = (uint8_t)i;
  }
  a[1].op_id = op; /* a[0]: op_db */
  for (int i = 0; i < NB; i++) b[i].op_id = op;
  const mw__sb_span *blocks[2] = {a, b};
  size_t n[2] = {2, NB};
  seal_blocks(f, db, blocks, n, 2, NULL);
  free(b);
  sqlite3_close(db);
  mw_read *r = rd(f);
  mw_page pg = {.offset = 0, .limit = 100, .max_bytes = 1 << 20};
  mw_operation_stats *ops;
  size_t nops, next;
  assert_int_equal(
      mw__store_operations(r, f->arena, "shop", T0 + 200000 * MS, T0 + 400000 * MS, &pg, &ops, &nops, &next), MW_OK);
  const mw_operation_stats *q = find_op(ops, nops, "latest");
  assert_int_equal(q->count, 10001);
  assert_int_equal(q->p50_ns, 3 * MS);
  assert_int_equal(q->p90_ns, 3 * MS);
  assert_int_equal(q->p99_ns, 3 * MS);
  assert_int_equal(q->max_ns, 500 * MS);
  assert_true(q->sampled);
  /* up to L's start alone: E and L (L's start from its one-span row: its end
   * less its duration) */
  assert_int_equal(
      mw__store_operations(r, f->arena, "shop", T0 + 200000 * MS, T0 + 310000 * MS + 1, &pg, &ops, &nops, &next),
      MW_OK);
  q = find_op(ops, nops, "latest");
  assert_int_equal(q->count, 2);
  assert_int_equal(q->p50_ns, 1 * MS);
  assert_int_equal(q->p99_ns, 500 * MS);
  assert_false(q->sampled);
  mw__read_end(r);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_trace_old_rows_and_blocks),
      cmocka_unit_test(test_trace_over_blocks_and_key_collision),
      cmocka_unit_test(test_trace_max_spans),
      cmocka_unit_test(test_span_by_id),
      cmocka_unit_test(test_trace_meta),
      cmocka_unit_test(test_candidate_cap),
      cmocka_unit_test(test_view_of_memory),
      cmocka_unit_test(test_op_queries),
      cmocka_unit_test(test_operations_listing),
      cmocka_unit_test(test_search_over_blocks),
      cmocka_unit_test(test_source_spans),
      cmocka_unit_test(test_search_any_many_ops),
      cmocka_unit_test(test_sref_ids),
      cmocka_unit_test(test_neighbours_older_block_nearer),
      cmocka_unit_test(test_operations_latest_in_older_block),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
