/* Tests for the span queries of store/reader.c on a real (temporary) store:
 *
 * - every statement of store/reader_sql.h has a plan without a scan of
 *   `spans` (EXPLAIN QUERY PLAN), and each search shape finds its operations
 *   through an index and reads spans_by_op alone;
 * - search, services and operations answer what a small hand-built data set
 *   says they should (the expected values are worked out by hand in the
 *   comments, not taken from the code), with paging and the byte budget;
 * - a query limit stops a long statement inside SQLite, and a query whose
 *   limit has passed gets no read transaction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/error.h"
#include "core/timefmt.h"
#include "store/block_sql.h"
#include "store/reader_sql.h"
#include "store/block_write.h"
#include "store/readers.h"
#include "store/sref.h"

static const int64_t T0 = 1700000000000000000LL;
static const int64_t MS = 1000000;

typedef struct fixture {
  char dir[64];
  mw_store *store;
  mw_arena *arena;
  mw_read *rd; /* the read transaction of the test's last read */
} fixture;

/* A fresh read transaction for the next read (the last one ends). */
static mw_read *rd(fixture *f) {
  mw__read_end(f->rd);
  f->rd = NULL;
  assert_int_equal(mw__read_begin(f->store, &f->rd), MW_OK);
  return f->rd;
}

/* --- the data set -------------------------------------------------------------
 *
 * services shop (ops "GET /cart", "db.query") and pay (ops "charge", "db.query");
 * trace k has id 00..0k; span ids are unique. Durations in ms:
 *
 *   T1 @0      shop GET /cart 100 (root) > shop db.query 30, pay charge 60 > pay db.query 40
 *   T2 @1s     shop GET /cart 250 (root) > shop db.query 200
 *   T3 @2s     pay charge 15 (root) > pay db.query 10
 *   T4 @3s     shop db.query 500, whose parent never arrived
 *   T5 @4s     shop GET /cart 50 (root) > shop db.query 45, shop db.query 20
 */
typedef struct spec {
  int trace, span, parent; /* parent 0: a root */
  int svc;                 /* 0 shop, 1 pay */
  const char *name;
  int64_t start_ms, dur_ms;
} spec;

static const spec k_spans[] = {
    {1, 1, 0, 0, "GET /cart", 0, 100},    {1, 2, 1, 0, "db.query", 10, 30},     {1, 3, 1, 1, "charge", 20, 60},
    {1, 4, 3, 1, "db.query", 30, 40},     {2, 5, 0, 0, "GET /cart", 1000, 250}, {2, 6, 5, 0, "db.query", 1005, 200},
    {3, 7, 0, 1, "charge", 2000, 15},     {3, 8, 7, 1, "db.query", 2001, 10},   {4, 9, 99, 0, "db.query", 3000, 500},
    {5, 10, 0, 0, "GET /cart", 4000, 50}, {5, 11, 10, 0, "db.query", 4001, 45}, {5, 12, 10, 0, "db.query", 4002, 20},
};
enum { N_SPANS = sizeof k_spans / sizeof k_spans[0] };

static pthread_mutex_t done_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t done_cond = PTHREAD_COND_INITIALIZER;
static int done_rc = 1;

static void on_done(mw_write_job *job, int rc) {
  pthread_mutex_lock(&done_lock);
  done_rc = rc;
  pthread_cond_signal(&done_cond);
  pthread_mutex_unlock(&done_lock);
  (void)job;
}

static void load(mw_store *s) {
  static mw_resource_ref res[2] = {
      {.service = "shop", .instance = "", .resource = (const uint8_t *)"r-shop", .resource_len = 6},
      {.service = "pay", .instance = "", .resource = (const uint8_t *)"r-pay", .resource_len = 5},
  };
  static mw_scope_ref scope = {.body = (const uint8_t *)"scope", .body_len = 5};
  static mw_span_row rows[N_SPANS];
  for (size_t i = 0; i < N_SPANS; i++) {
    const spec *sp = &k_spans[i];
    mw_span_row *r = &rows[i];
    memset(r, 0, sizeof *r);
    r->trace_id[15] = (uint8_t)sp->trace;
    r->span_id[7] = (uint8_t)sp->span;
    r->parent_id[7] = (uint8_t)sp->parent;
    r->has_parent = sp->parent != 0;
    r->start_ns = T0 + sp->start_ms * MS;
    r->dur_ns = sp->dur_ms * MS;
    r->kind = 1;
    r->name = sp->name;
    r->resource = (uint32_t)sp->svc;
    r->body = (const uint8_t *)"";
  }
  static mw_span_batch b = {
      .resources = res, .n_resources = 2, .scopes = &scope, .n_scopes = 1, .rows = rows, .n_rows = N_SPANS};
  static mw_write_job job;
  job = (mw_write_job){.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = N_SPANS, .cost_bytes = 1, .done = on_done};
  done_rc = 1;
  assert_int_equal(mw__store_submit(s, &job), MW_OK);
  pthread_mutex_lock(&done_lock);
  while (done_rc == 1) pthread_cond_wait(&done_cond, &done_lock);
  pthread_mutex_unlock(&done_lock);
  assert_int_equal(done_rc, MW_OK);
}

static int setup(void **state) {
  fixture *f = calloc(1, sizeof *f);
  snprintf(f->dir, sizeof f->dir, "/tmp/mw-unit-search-XXXXXX");
  if (!mkdtemp(f->dir)) return -1;
  mw_store_opts o = {.data_dir = f->dir, .queue_max_spans = 100000, .queue_max_bytes = 1 << 20};
  char err[256];
  if (mw__store_open(&o, &f->store, err, sizeof err)) {
    fprintf(stderr, "store: %s\n", err);
    return -1;
  }
  load(f->store);
  f->arena = mw__arena_new(0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fixture *f = *state;
  mw__read_end(f->rd);
  mw__store_close(f->store);
  mw__arena_free(f->arena);
  char cmd[128];
  snprintf(cmd, sizeof cmd, "rm -rf %s", f->dir);
  if (system(cmd) != 0) return -1;
  free(f);
  return 0;
}

/* --- plans ------------------------------------------------------------------ */

/* The plan of sql on a connection of our own, one detail per line. */
static void plan_of(fixture *f, const char *sql, char *out, size_t outsz) {
  char path[128];
  snprintf(path, sizeof path, "%s/meanwhile.db", f->dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  char q[2048];
  snprintf(q, sizeof q, "EXPLAIN QUERY PLAN %s", sql);
  sqlite3_stmt *st;
  if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK) fail_msg("%s: %s", sql, sqlite3_errmsg(db));
  out[0] = '\0';
  size_t len = 0;
  while (sqlite3_step(st) == SQLITE_ROW)
    len += (size_t)snprintf(out + len, outsz - len, "%s\n", (const char *)sqlite3_column_text(st, 3));
  sqlite3_finalize(st);
  sqlite3_close(db);
}

/* Fails when a line of the plan scans spans (its alias s, or the table). */
static void no_span_scan(const char *sql, const char *plan) {
  if (strstr(plan, "SCAN s\n") || strstr(plan, "SCAN s ") || strstr(plan, "SCAN spans"))
    fail_msg("a full scan of spans in\n%s\nplan:\n%s", sql, plan);
}

static void expect_in_plan(const char *sql, const char *plan, const char *want) {
  if (!strstr(plan, want)) fail_msg("%s\nwants \"%s\" in its plan:\n%s", sql, want, plan);
}

static void test_plans_never_scan_spans(void **state) {
  fixture *f = *state;
  const char *const other[] = {MW__SEARCH_TRACE_SQL,   MW__SEARCH_ROOT_SQL,  MW__SEARCH_EXTENT_SQL, MW__SEARCH_ALL_SQL,
                               MW__OP_FIRST_SQL,       MW__OP_LAST_SQL,      MW__SERVICES_SQL,      MW__SERVICE_SQL,
                               MW__OPERATIONS_SQL,     MW__OP_DURATIONS_SQL, MW__OP_COUNT_SQL,      MW__OP_MAX_SQL,
                               MW__OP_LONGEST_SLOW_SQL};
  char plan[4096];
  /* the operations come from an index whenever a service or name is given */
  for (int shape = 0; shape < MW_SEARCH__COUNT; shape++) {
    plan_of(f, mw__search_ops_sql[shape], plan, sizeof plan);
    if (shape != MW_SEARCH_ANY) expect_in_plan(mw__search_ops_sql[shape], plan, "SEARCH operations USING");
  }
  /* an operation's longest spans: walking down its slow spans by their key,
   * or its window of spans_by_op from the index alone (no row is read to
   * filter or order) */
  plan_of(f, MW__OP_LONGEST_SLOW_SQL, plan, sizeof plan);
  expect_in_plan(MW__OP_LONGEST_SLOW_SQL, plan,
                 "SEARCH slow_spans USING PRIMARY KEY (op_id=? AND dur_ns>? AND dur_ns<?)");
  if (strstr(plan, "TEMP B-TREE")) fail_msg("the walk down the slow spans sorts:\n%s", plan);
  plan_of(f, MW__OP_LONGEST_BY_START_SQL, plan, sizeof plan);
  no_span_scan(MW__OP_LONGEST_BY_START_SQL, plan);
  expect_in_plan(MW__OP_LONGEST_BY_START_SQL, plan,
                 "SEARCH spans USING COVERING INDEX spans_by_op (op_id=? AND start_ns>? AND start_ns<?)");
  plan_of(f, MW__SEARCH_ALL_SQL, plan, sizeof plan);
  expect_in_plan(MW__SEARCH_ALL_SQL, plan,
                 "SEARCH s USING COVERING INDEX spans_by_op (op_id=? AND start_ns>? AND start_ns<?)");
  for (size_t i = 0; i < sizeof other / sizeof other[0]; i++) {
    plan_of(f, other[i], plan, sizeof plan);
    no_span_scan(other[i], plan);
  }
  plan_of(f, MW__SEARCH_ROOT_SQL, plan, sizeof plan);
  assert_non_null(strstr(plan, "SEARCH s USING INDEX spans_by_trace (trace_id=?)"));
  /* the reads over sealed blocks (block_sql.h): seeks only, whatever the table */
  const char *const blocks[] = {MW__BLOCK_SQL_ALL};
  for (size_t i = 0; i < sizeof blocks / sizeof blocks[0]; i++) {
    plan_of(f, blocks[i], plan, sizeof plan);
    if (strstr(plan, "SCAN ")) fail_msg("a scan in\n%s\nplan:\n%s", blocks[i], plan);
  }
  /* the newest blocks: a walk down the rowid b-tree (stopped by the reader), never a sort */
  plan_of(f, MW__BLOCKS_NEWEST_SQL, plan, sizeof plan);
  if (strstr(plan, "TEMP B-TREE") || strstr(plan, "USING INDEX"))
    fail_msg("%s\nmust walk the rowid b-tree:\n%s", MW__BLOCKS_NEWEST_SQL, plan);
}

/* --- search results ---------------------------------------------------------- */

static mw_search_query query(const char *service, const char *name) {
  return (mw_search_query){.service = service,
                           .name = name,
                           .min_dur_ns = 0,
                           .max_dur_ns = INT64_MAX,
                           .start_ns = 0,
                           .end_ns = INT64_MAX,
                           .page = {.offset = 0, .limit = 100, .max_bytes = 1 << 20}};
}

/* Runs q and checks the traces (by number) and their matching durations (ms), in order. */
static void expect(fixture *f, const mw_search_query *q, const int *traces, const int64_t *match_ms, size_t want,
                   size_t want_next) {
  mw_search_hit *hits;
  size_t n, next;
  assert_int_equal(mw__store_search(rd(f), f->arena, q, &hits, &n, &next), MW_OK);
  if (n != want) fail_msg("service=%s name=%s: %zu traces, want %zu", q->service, q->name, n, want);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(hits[i].trace_id[15], traces[i]);
    assert_int_equal(hits[i].match_dur_ns, match_ms[i] * MS);
  }
  assert_int_equal(next, want_next);
}

static void test_search_shapes(void **state) {
  fixture *f = *state;
  /* any span: each trace by its longest span: T4 500, T2 250, T1 100, T5 50, T3 15 */
  mw_search_query q = query(NULL, NULL);
  expect(f, &q, (int[]){4, 2, 1, 5, 3}, (int64_t[]){500, 250, 100, 50, 15}, 5, 0);
  /* shop's spans: T3 has none */
  q = query("shop", NULL);
  expect(f, &q, (int[]){4, 2, 1, 5}, (int64_t[]){500, 250, 100, 50}, 4, 0);
  /* pay's: T1's charge (60) beats its db.query (40) */
  q = query("pay", NULL);
  expect(f, &q, (int[]){1, 3}, (int64_t[]){60, 15}, 2, 0);
  /* db.query in either service: T1's longest is pay's 40, T5's 45 (of 45 and 20) */
  q = query(NULL, "db.query");
  expect(f, &q, (int[]){4, 2, 5, 1, 3}, (int64_t[]){500, 200, 45, 40, 10}, 5, 0);
  q = query("pay", "db.query");
  expect(f, &q, (int[]){1, 3}, (int64_t[]){40, 10}, 2, 0);
  q = query("nosuch", NULL);
  expect(f, &q, NULL, NULL, 0, 0);
  q = query(NULL, "nosuch");
  expect(f, &q, NULL, NULL, 0, 0);
  q = query("shop", "charge");
  expect(f, &q, NULL, NULL, 0, 0);
}

static void test_search_filters(void **state) {
  fixture *f = *state;
  /* db.query spans of 40 to 200 ms (both ends count): T2 200, T5 45, T1 40 */
  mw_search_query q = query(NULL, "db.query");
  q.min_dur_ns = 40 * MS;
  q.max_dur_ns = 200 * MS;
  expect(f, &q, (int[]){2, 5, 1}, (int64_t[]){200, 45, 40}, 3, 0);
  /* spans starting in [0.5 s, 3 s): T2's and T3's; T4 starts at 3 s, excluded */
  q = query(NULL, NULL);
  q.start_ns = T0 + 500 * MS;
  q.end_ns = T0 + 3000 * MS;
  expect(f, &q, (int[]){2, 3}, (int64_t[]){250, 15}, 2, 0);
}

static void test_search_pages(void **state) {
  fixture *f = *state;
  mw_search_query q = query(NULL, NULL);
  q.page.limit = 2;
  expect(f, &q, (int[]){4, 2}, (int64_t[]){500, 250}, 2, 2);
  q.page.offset = 2;
  expect(f, &q, (int[]){1, 5}, (int64_t[]){100, 50}, 2, 4);
  q.page.offset = 4;
  expect(f, &q, (int[]){3}, (int64_t[]){15}, 1, 0);
  /* a byte budget of 1: T4 has no root (0 bytes), T2's root "shop" + "GET /cart"
   * (13 bytes) passes it, so the page ends after T2 */
  q = query(NULL, NULL);
  q.page.max_bytes = 1;
  expect(f, &q, (int[]){4, 2}, (int64_t[]){500, 250}, 2, 2);
}

static void test_search_hit_fields(void **state) {
  fixture *f = *state;
  mw_search_query q = query(NULL, NULL);
  mw_search_hit *h;
  size_t n, next;
  assert_int_equal(mw__store_search(rd(f), f->arena, &q, &h, &n, &next), MW_OK);
  assert_int_equal(n, 5);
  /* T4: no root span stored; its only span is its extent */
  assert_null(h[0].root_service);
  assert_int_equal(h[0].start_ns, T0 + 3000 * MS);
  assert_int_equal(h[0].dur_ns, 500 * MS);
  /* T2: the root covers its child (1005 + 200 < 1000 + 250) */
  assert_string_equal(h[1].root_service, "shop");
  assert_string_equal(h[1].root_name, "GET /cart");
  assert_int_equal(h[1].start_ns, T0 + 1000 * MS);
  assert_int_equal(h[1].dur_ns, 250 * MS);
  /* T3: rooted in pay */
  assert_string_equal(h[4].root_service, "pay");
  assert_string_equal(h[4].root_name, "charge");
  assert_int_equal(h[4].dur_ns, 15 * MS);
}

/* --- listings ---------------------------------------------------------------- */

static void test_services(void **state) {
  fixture *f = *state;
  mw_page pg = {.offset = 0, .limit = 1000, .max_bytes = 1 << 20};
  mw_service_info *sv;
  size_t n, next;
  assert_int_equal(mw__store_services(rd(f), f->arena, NULL, &pg, &sv, &n, &next), MW_OK);
  /* pay: T1 charge, db.query and T3 charge, db.query; shop: the 8 others */
  assert_int_equal(n, 2);
  assert_int_equal(next, 0);
  assert_string_equal(sv[0].name, "pay");
  assert_int_equal(sv[0].span_count, 4);
  assert_int_equal(sv[0].operation_count, 2);
  assert_int_equal(sv[0].instance_count, 1);
  assert_string_equal(sv[1].name, "shop");
  assert_int_equal(sv[1].span_count, 8);
  pg.limit = 1;
  assert_int_equal(mw__store_services(rd(f), f->arena, NULL, &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(sv[0].name, "pay");
  assert_int_equal(next, 1);
  pg.offset = 1;
  assert_int_equal(mw__store_services(rd(f), f->arena, NULL, &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(sv[0].name, "shop");
  assert_int_equal(next, 0);
  pg = (mw_page){.offset = 0, .limit = 1000, .max_bytes = 1};
  assert_int_equal(mw__store_services(rd(f), f->arena, NULL, &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(n, 1); /* "pay" passes a budget of 1 byte */
  assert_int_equal(next, 1);
  pg.max_bytes = 1 << 20;
  assert_int_equal(mw__store_services(rd(f), f->arena, "shop", &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(sv[0].name, "shop");
  assert_int_equal(mw__store_services(rd(f), f->arena, "nosuch", &pg, &sv, &n, &next), MW_OK);
  assert_int_equal(n, 0);
}

static void test_operations(void **state) {
  fixture *f = *state;
  mw_page pg = {.offset = 0, .limit = 1000, .max_bytes = 1 << 20};
  mw_operation_stats *op;
  size_t n, next;
  assert_int_equal(mw__store_operations(rd(f), f->arena, "shop", 0, INT64_MAX, &pg, &op, &n, &next), MW_OK);
  assert_int_equal(n, 2);
  assert_int_equal(next, 0);
  /* GET /cart: 50, 100, 250 -> nearest rank p50 = 2nd, p90 = p99 = 3rd */
  assert_string_equal(op[0].name, "GET /cart");
  assert_int_equal(op[0].count, 3);
  assert_int_equal(op[0].p50_ns, 100 * MS);
  assert_int_equal(op[0].p90_ns, 250 * MS);
  assert_int_equal(op[0].max_ns, 250 * MS);
  /* db.query: 20, 30, 45, 200, 500 -> p50 = 3rd, p90 = 5th */
  assert_string_equal(op[1].name, "db.query");
  assert_int_equal(op[1].count, 5);
  assert_int_equal(op[1].p50_ns, 45 * MS);
  assert_int_equal(op[1].p90_ns, 500 * MS);
  pg.limit = 1;
  assert_int_equal(mw__store_operations(rd(f), f->arena, "shop", 0, INT64_MAX, &pg, &op, &n, &next), MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(op[0].name, "GET /cart");
  assert_int_equal(next, 1);
  /* in [3 s, 3.5 s) only T4's db.query: GET /cart is passed over, and counts for the page */
  assert_int_equal(mw__store_operations(rd(f), f->arena, "shop", T0 + 3000 * MS, T0 + 3500 * MS, &pg, &op, &n, &next),
                   MW_OK);
  assert_int_equal(n, 1);
  assert_string_equal(op[0].name, "db.query");
  assert_int_equal(op[0].count, 1);
  assert_int_equal(next, 0);
  assert_int_equal(mw__store_operations(rd(f), f->arena, "nosuch", 0, INT64_MAX, &pg, &op, &n, &next), MW_ENOTFOUND);
}

/* --- query limits -------------------------------------------------------------- */

static void test_limit_stops_a_long_statement(void **state) {
  fixture *f = *state;
  mw_query_limit lim = {.deadline_ns = mw__mono_ns() + 50 * MS};
  mw__store_limit(&lim);
  mw_read *r = rd(f);
  sqlite3_stmt *st;
  /* counts to a billion: minutes of work without the limit */
  assert_int_equal(
      sqlite3_prepare_v2(r->db,
                         "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000000000) "
                         "SELECT count(*) FROM c",
                         -1, &st, NULL),
      SQLITE_OK);
  int64_t t0 = mw__mono_ns();
  int rc = sqlite3_step(st);
  int64_t took = mw__mono_ns() - t0;
  sqlite3_finalize(st);
  assert_int_equal(rc, SQLITE_INTERRUPT);
  assert_int_equal(lim.stopped, MW_ETIMEDOUT);
  assert_true(took < 10000 * MS);
  mw__read_end(f->rd);
  f->rd = NULL;
  /* once stopped, the query gets no read transaction: every read fails */
  mw_read *none;
  assert_int_equal(mw__read_begin(f->store, &none), MW_ETIMEDOUT);
  assert_null(none);
  mw__store_limit(NULL);
  mw_search_query q = query(NULL, NULL);
  mw_search_hit *h;
  size_t n, next;
  assert_int_equal(mw__store_search(rd(f), f->arena, &q, &h, &n, &next), MW_OK);
  assert_int_equal(n, 5);
}

static void test_limit_abort(void **state) {
  fixture *f = *state;
  _Atomic int abort_now = 1;
  mw_query_limit lim = {.abort = &abort_now};
  mw__store_limit(&lim);
  mw_read *none;
  assert_int_equal(mw__read_begin(f->store, &none), MW_ESHUTDOWN);
  assert_int_equal(lim.stopped, MW_ESHUTDOWN);
  mw__store_limit(NULL);
}

/* --- the slow spans ------------------------------------------------------------
 *
 * One operation "busy" of service "load": first 1,100 spans lasting 1,001 to
 * 2,100 ms (span k: k + 1,000 ms, starting at k ms), then, in a second
 * transaction, 1,000 spans lasting 1 to 1,000 ms (starting at 2,000,000 +
 * k ms). Each span is its own trace. The first transaction passes 1,024
 * spans, so at its end the threshold is raised to the p90 of the latest
 * 1,024 spans (k = 77..1,100: durations 1,077..2,100 ms; sorted, the 922nd,
 * index 921, is 1,998 ms). None of the second transaction's spans reaches it.
 * The slowest spans are then found among the listed ones, or, when too few
 * of those match, in the window. */
static void load_busy(mw_store *s, int first, int n, int64_t start0_ms, int64_t dur0_ms) {
  static mw_resource_ref res = {
      .service = "load", .instance = "", .resource = (const uint8_t *)"r-load", .resource_len = 6};
  static mw_scope_ref scope = {.body = (const uint8_t *)"scope", .body_len = 5};
  mw_span_row *rows = calloc((size_t)n, sizeof *rows);
  for (int k = 1; k <= n; k++) {
    mw_span_row *r = &rows[k - 1];
    int id = first + k;
    r->trace_id[14] = (uint8_t)(id >> 8), r->trace_id[15] = (uint8_t)id;
    r->span_id[6] = (uint8_t)(id >> 8), r->span_id[7] = (uint8_t)id;
    r->start_ns = T0 + (start0_ms + k) * MS;
    r->dur_ns = (dur0_ms + k) * MS;
    r->kind = 1;
    r->name = "busy";
    r->body = (const uint8_t *)"";
  }
  mw_span_batch b = {
      .resources = &res, .n_resources = 1, .scopes = &scope, .n_scopes = 1, .rows = rows, .n_rows = (size_t)n};
  mw_write_job job = {.kind = MW_JOB_SPANS, .payload = &b, .cost_spans = (size_t)n, .cost_bytes = 1, .done = on_done};
  done_rc = 1;
  assert_int_equal(mw__store_submit(s, &job), MW_OK);
  pthread_mutex_lock(&done_lock);
  while (done_rc == 1) pthread_cond_wait(&done_cond, &done_lock);
  pthread_mutex_unlock(&done_lock);
  assert_int_equal(done_rc, MW_OK);
  free(rows);
}

/* The n longest matching spans' durations (ms), each its own trace. */
static void expect_durations(fixture *f, mw_search_query q, const int64_t *ms, size_t n) {
  q.page.limit = n;
  mw_search_hit *hits;
  size_t got, next;
  assert_int_equal(mw__store_search(rd(f), f->arena, &q, &hits, &got, &next), MW_OK);
  assert_int_equal(got, n);
  for (size_t i = 0; i < n; i++)
    if (hits[i].match_dur_ns != ms[i] * MS)
      fail_msg("hit %zu: %lld ms, want %lld", i, (long long)(hits[i].match_dur_ns / MS), (long long)ms[i]);
}

static void test_slow_spans(void **state) {
  (void)state;
  fixture f = {0};
  snprintf(f.dir, sizeof f.dir, "/tmp/mw-unit-slow-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  mw_store_opts o = {.data_dir = f.dir, .queue_max_spans = 100000, .queue_max_bytes = 1 << 20};
  char err[256];
  assert_int_equal(mw__store_open(&o, &f.store, err, sizeof err), MW_OK);
  f.arena = mw__arena_new(0);
  load_busy(f.store, 0, 1100, 0, 1000);
  load_busy(f.store, 1100, 1000, 2000000, 0);

  /* what the writer wrote: the threshold, and the listed spans (all of the
   * first transaction, none of the second) */
  char path[128];
  snprintf(path, sizeof path, "%s/meanwhile.db", f.dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db,
                                      "SELECT slow_ns, (SELECT count(*) FROM slow_spans), "
                                      "(SELECT min(dur_ns) FROM slow_spans) FROM operations",
                                      -1, &st, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_int_equal(sqlite3_column_int64(st, 0), 1998 * MS);
  assert_int_equal(sqlite3_column_int64(st, 1), 1100);
  assert_int_equal(sqlite3_column_int64(st, 2), 1001 * MS);
  sqlite3_finalize(st);
  sqlite3_close(db);

  mw_search_query q = query("load", NULL);
  /* all of it: the listed spans at or above 1,998 ms answer */
  expect_durations(&f, q, (int64_t[]){2100, 2099, 2098, 2097, 2096}, 5);
  /* at most 1,500 ms: no listed span at or above the threshold matches, so
   * the window is read: 1,500 ms and down, from the first transaction */
  q.max_dur_ns = 1500 * MS;
  expect_durations(&f, q, (int64_t[]){1500, 1499, 1498}, 3);
  /* only the second transaction's time: too narrow for the walk */
  q = query("load", NULL);
  q.start_ns = T0 + 2000000 * MS;
  expect_durations(&f, q, (int64_t[]){1000, 999, 998, 997}, 4);
  /* more than the spans over the threshold (103): the window, in order */
  q = query("load", NULL);
  q.page.offset = 100;
  expect_durations(&f, q, (int64_t[]){2000, 1999, 1998, 1997, 1996, 1995}, 6);

  mw__read_end(f.rd);
  mw__store_close(f.store);
  mw__arena_free(f.arena);
  snprintf(path, sizeof path, "rm -rf %s", f.dir);
  assert_int_equal(system(path), 0);
}

/* --- slow spans of blocks (srefs) next to old rows --------------------------------
 *
 * load_busy's first transaction again (1,100 old rows, threshold 1,998 ms
 * after it), then a block of the same operation sealed beside them
 * (mw__bw_seal, as the writer will): 10 spans of 5,000..5,009 ms, one of
 * 2,100 ms (as long as the longest old row), one of 1,000 ms (under the
 * threshold: no slow_spans row), each its own trace 0xb0..00kk. */
enum { N_BLK = 12 };

static void blk_span(mw__sb_span *s, int k, int64_t op, int64_t dur_ms) {
  memset(s, 0, sizeof *s);
  s->trace_id[0] = 0xb0, s->trace_id[15] = (uint8_t)k;
  s->span_id[0] = 0xb0, s->span_id[7] = (uint8_t)k;
  s->op_id = op, s->scope_id = 1, s->kind = 1;
  s->start_ns = T0 + (100 + k) * MS; /* inside the old rows' range: T0 + 1..1,100 ms */
  s->dur_ns = dur_ms * MS;
}

static int thr_1998(void *user, int64_t op, int64_t *thr) {
  (void)user, (void)op;
  *thr = 1998 * MS; /* the operation's threshold, worked out above */
  return MW_OK;
}

typedef struct seen_spans {
  mw_stored_span v[16];
  size_t n;
} seen_spans;

static int keep_span(void *user, const mw_stored_span *sp) {
  seen_spans *s = user;
  s->v[s->n++] = *sp;
  return s->n == 16;
}

static void test_slow_spans_in_blocks(void **state) {
  (void)state;
  fixture f = {0};
  snprintf(f.dir, sizeof f.dir, "/tmp/mw-unit-sref-XXXXXX");
  assert_non_null(mkdtemp(f.dir));
  /* the old rows as a release before 0008 wrote them */
  mw_store_opts o = {
      .data_dir = f.dir, .queue_max_spans = 100000, .queue_max_bytes = 1 << 20, .blocks = MW_STORE_BLOCKS_OFF};
  char err[256];
  assert_int_equal(mw__store_open(&o, &f.store, err, sizeof err), MW_OK);
  f.arena = mw__arena_new(0);
  load_busy(f.store, 0, 1100, 0, 1000);

  /* the block, on a write connection of the test's own (the writer is idle) */
  char path[128];
  snprintf(path, sizeof path, "%s/meanwhile.db", f.dir);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt *st;
  assert_int_equal(sqlite3_prepare_v2(db, "SELECT id FROM operations WHERE name = 'busy'", -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t op = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  mw__sb_span blk[N_BLK];
  for (int k = 0; k < 10; k++) blk_span(&blk[k], k, op, 5000 + k);
  blk_span(&blk[10], 10, op, 2100);
  blk_span(&blk[11], 11, op, 1000);
  mw__bw *bw;
  mw__bw_sealed sealed;
  assert_int_equal(sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(mw__bw_open(db, &bw), MW_OK);
  assert_int_equal(mw__bw_seal(bw, 1, blk, N_BLK, thr_1998, NULL, NULL, &sealed), MW_OK);
  mw__bw_close(bw);
  assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
  assert_int_equal(sealed.slow, 11);

  /* search: the block's 10 longest, then the two 2,100 ms spans (the block's
   * first: ties go to the lower sref, and block srefs are negative), then the
   * old rows' 2,099 and 2,098 */
  mw_search_query q = query("load", NULL);
  q.page.limit = 14;
  mw_search_hit *hits;
  size_t got, next;
  assert_int_equal(mw__store_search(rd(&f), f.arena, &q, &hits, &got, &next), MW_OK);
  assert_int_equal(got, 14);
  static const uint8_t zero[16];
  for (size_t i = 0; i < 14; i++) {
    int64_t want_ms = i < 10 ? 5009 - (int64_t)i : i < 12 ? 2100 : 2099 - (int64_t)(i - 12);
    if (hits[i].match_dur_ns != want_ms * MS)
      fail_msg("hit %zu: %lld ms, want %lld", i, (long long)(hits[i].match_dur_ns / MS), (long long)want_ms);
    if (i <= 10) { /* the block's trace 0xb0..00kk, k = 9 - i, then 10 */
      assert_int_equal(hits[i].trace_id[0], 0xb0);
      assert_int_equal(hits[i].trace_id[15], i < 10 ? 9 - (int)i : 10);
      assert_memory_equal(hits[i].trace_id + 1, zero, 14);
    } else { /* the old rows' traces: id = dur - 1000 (load_busy) */
      int id = (int)want_ms - 1000;
      assert_int_equal(hits[i].trace_id[0], 0);
      assert_int_equal(hits[i].trace_id[14], id >> 8);
      assert_int_equal(hits[i].trace_id[15], id & 0xff);
    }
  }

  /* Tempo's scan: whole spans, the block's as stored (name, ids, times, source) */
  seen_spans seen = {.n = 0};
  size_t visited;
  q = query("load", NULL);
  assert_int_equal(mw__store_scan_longest(rd(&f), f.arena, &q, 13, keep_span, &seen, &visited), MW_OK);
  assert_int_equal(visited, 13);
  for (size_t i = 0; i < 12; i++) {
    const mw_stored_span *sp = &seen.v[i];
    const mw__sb_span *want = &blk[i < 10 ? 9 - i : 10];
    if (i == 11) { /* the old 2,100 ms row after the block's */
      assert_int_equal(sp->span_id[0], 0);
      assert_int_equal(sp->dur_ns, 2100 * MS);
      continue;
    }
    assert_memory_equal(sp->trace_id, want->trace_id, 16);
    assert_memory_equal(sp->span_id, want->span_id, 8);
    assert_int_equal(sp->start_ns, want->start_ns);
    assert_int_equal(sp->dur_ns, want->dur_ns);
    assert_int_equal(sp->op_id, op);
    assert_int_equal(sp->source_id, 1);
    assert_int_equal(sp->kind, 1);
    assert_non_null(sp->name);
    assert_string_equal(sp->name, "busy");
  }
  assert_int_equal(seen.v[12].dur_ns, 2099 * MS);

  /* the block deleted (retention) with its slow_spans rows left behind: its
   * hits are skipped, the old rows answer */
  mw__read_end(f.rd);
  f.rd = NULL;
  assert_int_equal(sqlite3_exec(db, "DELETE FROM span_blocks", NULL, NULL, NULL), SQLITE_OK);
  q = query("load", NULL);
  q.page.limit = 3;
  assert_int_equal(mw__store_search(rd(&f), f.arena, &q, &hits, &got, &next), MW_OK);
  assert_int_equal(got, 3);
  for (size_t i = 0; i < 3; i++) {
    assert_int_equal(hits[i].match_dur_ns, (2100 - (int64_t)i) * MS);
    assert_int_equal(hits[i].trace_id[0], 0);
  }
  seen.n = 0;
  assert_int_equal(mw__store_scan_longest(rd(&f), f.arena, &q, 13, keep_span, &seen, &visited), MW_OK);
  assert_int_equal(visited, 2); /* 13 longest: 11 in the block that is gone */
  assert_int_equal(seen.v[0].dur_ns, 2100 * MS);

  sqlite3_close(db);
  mw__read_end(f.rd);
  mw__store_close(f.store);
  mw__arena_free(f.arena);
  snprintf(path, sizeof path, "rm -rf %s", f.dir);
  assert_int_equal(system(path), 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_slow_spans),
      cmocka_unit_test(test_slow_spans_in_blocks),
      cmocka_unit_test(test_plans_never_scan_spans),
      cmocka_unit_test(test_search_shapes),
      cmocka_unit_test(test_search_filters),
      cmocka_unit_test(test_search_pages),
      cmocka_unit_test(test_search_hit_fields),
      cmocka_unit_test(test_services),
      cmocka_unit_test(test_operations),
      cmocka_unit_test(test_limit_stops_a_long_statement),
      cmocka_unit_test(test_limit_abort),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
