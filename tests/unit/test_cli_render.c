/* Tests for the CLI's renderer (client/cli/render.c): the recorded explanation
 * in tests/data/cli/explain.json (written by hand to the contract of
 * GET /api/v1/traces/{id}/explain: a root span whose time is in its children,
 * a slow child blocked on a mutex with stacks, GC and CPU evidence, a
 * grandchild nobody knows anything about, and a sibling judged from similar
 * spans) rendered at several widths, with and without colours; then hostile and
 * malformed answers, the search list, and the number formats.
 *
 * The expected text was worked out from the fixture by hand: for example
 * db.query blocked on the mutex 120300000 of its 141200000 ns = 85%. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render.h"

#define EXPLAIN_JSON MW_TEST_DATA "/cli/explain.json"

/* ---- helpers ------------------------------------------------------------ */

typedef int (*render_fn)(FILE *, const json_t *, const cli_render_opts *);

/* Renders j into a string (free it); *rc gets the renderer's result. */
static char *render_with(render_fn fn, const json_t *j, int width, int color, int *rc) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  assert_non_null(f);
  cli_render_opts o = {.width = width, .color = color};
  *rc = fn(f, j, &o);
  assert_int_equal(fclose(f), 0);
  return buf;
}

static char *render_fixture(int width, int color) {
  json_error_t err;
  json_t *j = json_load_file(EXPLAIN_JSON, 0, &err);
  if (!j) fail_msg("%s: %s (line %d)", EXPLAIN_JSON, err.text, err.line);
  int rc;
  char *out = render_with(cli_render_explain, j, width, color, &rc);
  assert_int_equal(rc, CLI_RENDER_OK);
  json_decref(j);
  return out;
}

/* The line of text starting with prefix (a pointer into text), or NULL. */
static const char *line_starting(const char *text, const char *prefix) {
  size_t n = strlen(prefix);
  for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
    if (strncmp(p, prefix, n) == 0) return p;
  return NULL;
}

/* Copies the line at p (without its newline) into a static buffer. */
static const char *line_at(const char *p) {
  static char line[4096];
  assert_non_null(p);
  size_t n = strcspn(p, "\n");
  assert_true(n < sizeof line);
  memcpy(line, p, n);
  line[n] = '\0';
  return line;
}

static void assert_line_has(const char *text, const char *prefix, const char *needle) {
  const char *l = line_starting(text, prefix);
  if (!l) fail_msg("no line starts with \"%s\" in:\n%s", prefix, text);
  if (!strstr(line_at(l), needle)) fail_msg("line \"%s\" lacks \"%s\"", line_at(l), needle);
}

/* The span table: the text from its header line on. */
static const char *table_of(const char *text) {
  const char *t = line_starting(text, "SPAN ");
  if (!t) fail_msg("no span table in:\n%s", text);
  return t;
}

static void assert_has(const char *text, const char *needle) {
  if (!strstr(text, needle)) fail_msg("output lacks \"%s\":\n%s", needle, text);
}

/* noinline: inlined into a caller whose buffer it reads, gcc 12 at -O3 takes the
 * loop's pointer for one that outlives the buffer (-Wdangling-pointer, a false
 * positive) */
__attribute__((noinline)) static size_t count(const char *text, const char *needle) {
  size_t n = 0;
  for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle)) n++;
  return n;
}

/* Display columns of one line: its UTF-8 code points. */
static size_t line_cols(const char *p) {
  size_t n = 0;
  for (; *p && *p != '\n'; p++) n += ((unsigned char)*p & 0xC0) != 0x80;
  return n;
}

/* ---- the recorded explanation ------------------------------------------- */

static void test_header_and_summary(void **state) {
  char *out = render_fixture(100, 0);
  assert_line_has(out, "trace 5c1fa3e07d2b4c9e8f6a1b3d5e7f9a0c", "152.5 ms  4 spans  started 2026-11-22T08:01:14.936Z");
  /* the summary is wrapped at 100 columns, between words */
  assert_has(out, "GET /checkout (checkout) took 152.5 ms; 93% of it was in db.query (checkout, 141.2 ms), which was\n"
                  "waiting for a lock");
  free(out);
}

static void test_span_tree(void **state) {
  char *out = render_fixture(100, 0);
  const char *table = table_of(out);
  /* the fixture lists the grandchild first and the root third: the table
   * is in tree order, two spaces per level, siblings by start time */
  const char *root = line_starting(table, "GET /checkout "), *db = line_starting(table, "  db.query "),
             *pool = line_starting(table, "    pool.acquire "), *price = line_starting(table, "  price.compute ");
  assert_non_null(root);
  assert_non_null(db);
  assert_non_null(pool);
  assert_non_null(price);
  assert_true(root < db && db < pool && pool < price);
  assert_non_null(line_starting(out, "SPAN "));
  assert_line_has(out, "SPAN ", "SERVICE");
  assert_line_has(out, "SPAN ", "DURATION");
  /* duration then self time */
  assert_line_has(table, "GET /checkout ", "152.5 ms   10.3 ms");
  assert_line_has(table, "  db.query ", "141.2 ms  139.2 ms");
  assert_line_has(table, "    pool.acquire ", "checkout");
  free(out);
}

static void test_breakdown_percentages(void **state) {
  char *out = render_fixture(100, 0);
  const char *table = table_of(out);
  /* largest first: 142230000 / 152496233 = 93%, 7746233 -> 5%, cpu 2100000 -> 1% */
  assert_line_has(table, "GET /checkout ", "children 93%  unknown 5%  cpu 1%");
  /* gc = stw 1600000 + assist 800000 = 2400000 / 141200000 = 2% */
  assert_line_has(table, "  db.query ", "mutex 85%  cpu 10%  runnable 2%  gc 2%");
  assert_line_has(table, "    pool.acquire ", "unknown 100%");
  assert_line_has(table, "  price.compute ", "chan 68%  cpu 32%");
  /* the bar: 10 cells at 100 columns, in the fixed order cpu, gc, blocked, ... */
  assert_line_has(table, "  db.query ", "CBBBBBBBBB");
  assert_line_has(table, "    pool.acquire ", "??????????");
  assert_line_has(out, "bar:", "C cpu  G gc  B blocked  R runnable  = children  ? unknown");
  free(out);
}

static void test_causes(void **state) {
  char *out = render_fixture(100, 0);
  const char *causes = strstr(out, "\nCAUSES\n");
  assert_non_null(causes);
  /* the root's top cause is its children: it has no block of its own */
  assert_null(line_starting(causes, "GET /checkout"));
  const char *db = line_starting(causes, "db.query (checkout)  141.2 ms, self 139.2 ms  span 7d3b9e1f4a6c8052");
  const char *pool = line_starting(causes, "pool.acquire (checkout)  2.0 ms, self 2.0 ms");
  const char *price = line_starting(causes, "price.compute (checkout)  1.0 ms, self 1.0 ms");
  assert_non_null(db);
  assert_non_null(pool);
  assert_non_null(price);
  assert_true(db < pool && pool < price);

  /* kind, share, confidence, scope; the summary below */
  assert_line_has(db, "  mutex ", "85%  confidence 0.65  (this span)");
  assert_line_has(db, "    waiting for a lock", "at sync.(*Mutex).Lock in main.(*inventory).reserve");
  assert_line_has(db, "  cpu ", "9.6%  confidence 0.84");
  assert_line_has(db, "  gc_stw ", "1.1%  confidence 0.90");
  assert_line_has(pool, "  unknown ", "100%  confidence 0.00  (this span)");

  /* evidence: snapshots with ids and times, frames as function (file:line) */
  /* wrapped at 100 columns under the bullet */
  assert_has(db, "    - goroutine snapshot 7 at 2026-11-22T08:01:15.012Z: 3 goroutines in state mutex\n"
                 "      (sync.Mutex.Lock)\n");
  assert_non_null(line_starting(db, "        sync.(*Mutex).Lock (/usr/local/go/src/sync/mutex.go:81)"));
  assert_non_null(line_starting(db, "        main.(*inventory).reserve (/src/shop/inventory.go:88)"));
  assert_non_null(line_starting(db, "        main.handleCheckout (/src/shop/main.go:142)"));
  assert_non_null(line_starting(db, "    - 4 goroutine snapshots; in this state in 86% of them"));
  /* sample counts, CPU profile, GC cycle numbers, the slow child */
  assert_non_null(line_starting(db, "    - 12 CPU samples, 12.0 ms on CPU"));
  assert_non_null(line_starting(db, "        main.priceLines (/src/shop/price.go:51)"));
  assert_non_null(line_starting(db, "    - CPU profile snapshot 3 at 2026-11-22T08:01:06.463Z, 10.00 s long"));
  assert_line_has(db, "    - GC cycle 14 at 2026-11-22T08:01:15.020Z", "stopped the world for 1.6 ms inside this span");
  assert_has(db, "(heap\n      12.0 MiB, goal 16.0 MiB)");
  assert_line_has(db, "    - slowest child: pool.acquire (checkout), 2.0 ms", "top cause unknown");
  assert_line_has(pool, "    - why: no goroutine snapshot fell inside this span", "none caught the 212 similar");

  /* operation scope is said plainly, and only there */
  assert_int_equal(count(out, "(from similar spans)"), 2);
  assert_line_has(price, "  chan ", "68%  confidence 0.39  (from similar spans)");
  assert_line_has(price, "  cpu ", "32%  confidence 0.38  (from similar spans)");
  assert_line_has(price, "    - 5 goroutine snapshots of 9 similar spans", "in this state in 68% of them");
  assert_line_has(price, "        note: from 9 spans of checkout price.compute", "at or above its p90");
  assert_non_null(line_starting(price, "        main.(*pricer).compute (/src/shop/price.go:33)"));
  free(out);
}

/* The table fits the width (at least CLI_RENDER_MIN_WIDTH): names, services
 * and the percentages give way, the bar shrinks under 110 columns and goes
 * under 80. */
/* An explanation from an execution trace (tests/data/cli/explain_trace.json,
 * by hand to the contract): the scope says so, the trace and the interval
 * read as sentences, and the chain prints one link per level of indent: who
 * ended the wait and how, when after the span's start (woke_ns - start_ns:
 * 493 - 442 = +51.0 ms, 487 - 442 = +45.0, 486 - 442 = +44.0), the span by
 * name (or id) with its trace's first 8 digits, the waker's stack, and what
 * it had waited for, with its stack. */
static void test_trace_chain(void **state) {
  (void)state;
  json_error_t err;
  json_t *j = json_load_file(MW_TEST_DATA "/cli/explain_trace.json", 0, &err);
  if (!j) fail_msg("explain_trace.json: %s (line %d)", err.text, err.line);
  int rc;
  char *out = render_with(cli_render_explain, j, 100, 0, &rc);
  assert_int_equal(rc, CLI_RENDER_OK);
  json_decref(j);
  assert_has(out, "  mutex       75%  confidence 0.95  (execution trace)\n");
  assert_has(out, "    - execution trace 7 (clock_snapshot): covered 43.0 ms of this span; download\n"
                  "      /api/v1/exectraces/7/raw\n");
  assert_has(out, "    - goroutine 57 blocked (mutex: sync) for 40.0 ms of this span (the interval: 40.0 ms, trace 7)\n"
                  "        sync.(*Mutex).Lock (/go/src/sync/mutex.go:81)\n"
                  "        main.(*Cache).Get (/app/cache.go:40)\n");
  assert_has(out, "    - chain: who ended the wait (3 links)\n"
                  "        released by goroutine 12 at +51.0 ms, span cache.refresh (refresher) of trace bbbb0000…\n"
                  "          sync.(*Mutex).Unlock (/go/src/sync/mutex.go:220)\n"
                  "          which had waited 30.0 ms: blocked (chan), at\n"
                  "            main.(*Cache).Refresh (/app/cache.go:88)\n"
                  "          woken by goroutine 30 at +45.0 ms, span c300000000000003 of trace cccc0000…\n"
                  "            main.produce (/app/queue.go:12)\n"
                  "            which had waited 33.0 ms: blocked (sleep), at\n"
                  "              main.produce (/app/queue.go:10)\n"
                  "            woken by goroutine 31 at +44.0 ms, no span\n"
                  "  unknown ");
  assert_has(out, "    - why: 10.0 ms of the span lay outside the traced window: explained from samples\n");
  free(out);
}

static void test_widths(void **state) {
  static const int widths[] = {20, 60, 79, 80, 100, 109, 110, 160, 300};
  for (size_t i = 0; i < sizeof widths / sizeof widths[0]; i++) {
    int w = widths[i] < CLI_RENDER_MIN_WIDTH ? CLI_RENDER_MIN_WIDTH : widths[i];
    char *out = render_fixture(widths[i], 0);
    const char *p = line_starting(out, "SPAN ");
    assert_non_null(p);
    for (int row = 0; row < 5; row++) { /* the header and the four spans */
      if (line_cols(p) > (size_t)w) fail_msg("width %d: %zu columns in \"%s\"", w, line_cols(p), line_at(p));
      p = strchr(p, '\n') + 1;
    }
    if (w >= 80) {
      assert_non_null(line_starting(out, "bar:"));
    } else {
      assert_null(line_starting(out, "bar:"));
    }
    /* the percentages of the widest row survive down to 60 columns, largest first */
    assert_line_has(table_of(out), "  db.query ", "mutex 85%");
    free(out);
  }
  char *wide = render_fixture(160, 0);
  assert_line_has(table_of(wide), "  db.query ", "CCBBBBBBBBBBBBBBBBBR"); /* 20 cells: 2 cpu, 17 mutex, 1 runnable */
  free(wide);
}

static void test_colours(void **state) {
  char *plain = render_fixture(100, 0), *color = render_fixture(100, 1);
  assert_null(strchr(plain, '\033'));
  assert_null(strstr(plain, "\xE2\x96\x88"));
  assert_non_null(strstr(color, "\033[31m"));     /* blocked in red */
  assert_non_null(strstr(color, "\xE2\x96\x88")); /* the bar in blocks */
  assert_non_null(strstr(color, "(from similar spans)"));
  free(plain);
  free(color);
}

/* ---- hostile and malformed answers -------------------------------------- */

static void test_control_characters_and_cycles(void **state) {
  /* names that would drive the terminal; a parent cycle (a <-> b); an orphan
   * whose parent is not in the trace; a span with no fields at all */
  const char *text =
      "{\"trace_id\":\"00000000000000000000000000000001\",\"duration_ns\":5000000,\"summary\":\"x\\u001b[2Jy\","
      "\"spans\":["
      "{\"span_id\":\"aaaaaaaaaaaaaaaa\",\"parent_span_id\":\"bbbbbbbbbbbbbbbb\",\"name\":\"evil\\u001b[31mname\","
      " \"service\":\"s\\u0007\\u009b1\",\"duration_ns\":1000000,\"causes\":[{\"kind\":\"io\",\"share\":1,"
      " \"scope\":\"span\",\"summary\":\"a\\u001bb\",\"evidence\":[{\"type\":\"novel\",\"k\":\"v\\u001b\",\"n\":3}]}]},"
      "{\"span_id\":\"bbbbbbbbbbbbbbbb\",\"parent_span_id\":\"aaaaaaaaaaaaaaaa\",\"name\":\"loop\",\"duration_ns\":"
      "1000000},"
      "{\"span_id\":\"cccccccccccccccc\",\"parent_span_id\":\"dddddddddddddddd\",\"name\":\"orphan\",\"duration_ns\":"
      "1000000},"
      "{}, 7]}";
  json_error_t err;
  json_t *j = json_loads(text, 0, &err);
  if (!j) fail_msg("%s", err.text);
  int rc;
  char *out = render_with(cli_render_explain, j, 100, 0, &rc);
  assert_int_equal(rc, CLI_RENDER_OK);
  assert_null(strchr(out, '\033'));
  assert_null(strchr(out, '\007'));
  assert_null(strstr(out, "\xC2\x9B"));
  assert_has(out, "evil?[31mname");
  assert_has(out, "x?[2Jy");
  assert_has(out, "novel k=v? n=3"); /* an evidence type this CLI does not know */
  assert_non_null(line_starting(table_of(out), "orphan "));
  assert_has(out, "loop");
  assert_has(out, "5 spans");
  free(out);
  json_decref(j);
}

static void test_wrong_shapes(void **state) {
  static const char *const bad[] = {"[]", "{}", "{\"spans\": 3}", "\"spans\"", "null"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    json_t *j = json_loads(bad[i], JSON_DECODE_ANY, NULL);
    int rc;
    char *out = render_with(cli_render_explain, j, 100, 0, &rc);
    assert_int_equal(rc, CLI_RENDER_ESHAPE);
    assert_string_equal(out, ""); /* nothing half-written */
    free(out);
    out = render_with(cli_render_search, j, 100, 0, &rc);
    assert_int_equal(rc, CLI_RENDER_ESHAPE);
    free(out);
    json_decref(j);
  }
  json_t *empty = json_loads("{\"trace_id\":\"x\",\"spans\":[]}", 0, NULL);
  int rc;
  char *out = render_with(cli_render_explain, empty, 100, 0, &rc);
  assert_int_equal(rc, CLI_RENDER_OK);
  assert_has(out, "0 spans");
  free(out);
  json_decref(empty);
}

/* ---- search ------------------------------------------------------------- */

static void test_search(void **state) {
  const char *text =
      "{\"traces\":[{\"traceID\":\"d3779ae135f5eb93dab67b4afafed1ac\",\"rootServiceName\":\"checkout\","
      "\"rootTraceName\":\"GET /checkout\",\"startTimeUnixNano\":\"1795334474936274623\",\"durationMs\":152.496233},"
      "{\"traceID\":\"ee18b8f9574f9154307c9dfaab0c8833\",\"rootServiceName\":\"<root span not yet received>\","
      "\"rootTraceName\":\"\",\"startTimeUnixNano\":\"1795334474453534320\",\"durationMs\":3.434919}]}";
  json_t *j = json_loads(text, 0, NULL);
  assert_non_null(j);
  int rc;
  char *out = render_with(cli_render_search, j, 100, 0, &rc);
  assert_int_equal(rc, CLI_RENDER_OK);
  const char *first = line_starting(out, "d3779ae135f5eb93dab67b4afafed1ac  checkout GET /checkout ");
  const char *second = line_starting(out, "ee18b8f9574f9154307c9dfaab0c8833  <root span not yet received> ");
  assert_non_null(first);
  assert_non_null(second);
  assert_true(first < second); /* the server's order: slowest first */
  assert_line_has(out, "d3779ae1", "  2026-11-22T08:01:14.936Z  152.5 ms");
  assert_line_has(out, "ee18b8f9", "  2026-11-22T08:01:14.453Z    3.4 ms");
  assert_int_equal(count(out, "\n"), 2);
  free(out);
  json_decref(j);

  json_t *none = json_loads("{\"traces\":[]}", 0, NULL);
  out = render_with(cli_render_search, none, 100, 0, &rc);
  assert_int_equal(rc, CLI_RENDER_OK);
  assert_string_equal(out, "");
  free(out);
  json_decref(none);
}

/* ---- numbers ------------------------------------------------------------ */

static void test_formats(void **state) {
  static const struct {
    int64_t ns;
    const char *want;
  } d[] = {{0, "0 ns"},
           {850, "850 ns"},
           {12345, "12.3 us"},
           {999949, "999.9 us"},
           {999999, "1.0 ms"},
           {152496233, "152.5 ms"},
           {2345000000, "2.35 s"},
           {185000000000, "3m05s"},
           {7620000000000, "2h07m"},
           {-5000, "-5.0 us"}};
  char buf[32];
  for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
    cli_format_duration(buf, sizeof buf, d[i].ns);
    assert_string_equal(buf, d[i].want);
  }
  cli_format_time(buf, sizeof buf, 1795334474936274623);
  assert_string_equal(buf, "2026-11-22T08:01:14.936Z");
  cli_format_time(buf, sizeof buf, 0);
  assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
  cli_format_time(buf, sizeof buf, -1);
  assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_header_and_summary),
      cmocka_unit_test(test_span_tree),
      cmocka_unit_test(test_breakdown_percentages),
      cmocka_unit_test(test_causes),
      cmocka_unit_test(test_trace_chain),
      cmocka_unit_test(test_widths),
      cmocka_unit_test(test_colours),
      cmocka_unit_test(test_control_characters_and_cycles),
      cmocka_unit_test(test_wrong_shapes),
      cmocka_unit_test(test_search),
      cmocka_unit_test(test_formats),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
