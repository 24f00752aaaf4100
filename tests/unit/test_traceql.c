/* Unit tests for query/traceql.c: the TraceQL subset. The queries of the
 * first tests are taken as written from Grafana's documentation (each cites
 * its page); the spans are built by hand, and which of them each query
 * matches was worked out by hand from the span values and TraceQL's meaning
 * (Tempo's docs), not by running the code. The rest cover what the subset
 * says of itself (docs/TRACEQL.md): its literals, its regular expressions and
 * the errors that name what it does not support. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "core/error.h"
#include "core/hex.h"
#include "query/traceql.h"

#define MS ((int64_t)1000000)
#define SEC ((int64_t)1000000000)

/* A: the app-2048 checkout request that failed slowly. */
static const mw_tql_attr a_attrs[] = {{.key = "http.status_code", .type = MW_TQL_INT, .i = 503},
                                      {.key = "http.url", .type = MW_TQL_STRING, .s = "/api/checkout"}};
static const mw_tql_attr a_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "app-2048"}};
/* B: a quick, good client call from frontend. */
static const mw_tql_attr b_attrs[] = {{.key = "http.status_code", .type = MW_TQL_INT, .i = 200}};
static const mw_tql_attr b_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "frontend"}};
/* C: a slow failed query in frontend, with a span attribute that shadows the
 * resource's service.name for an unscoped .service.name. */
static const mw_tql_attr c_attrs[] = {{.key = "http.status_code", .type = MW_TQL_INT, .i = 404},
                                      {.key = "db.system", .type = MW_TQL_STRING, .s = "postgresql"},
                                      {.key = "service.name", .type = MW_TQL_STRING, .s = "shadow"},
                                      {.key = "attr with space", .type = MW_TQL_INT, .i = 1}};
static const mw_tql_attr c_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "frontend"}};
/* D: a failed consumer of exactly 1s, with a bool and a double. */
static const mw_tql_attr d_attrs[] = {{.key = "retry", .type = MW_TQL_BOOL, .i = 1},
                                      {.key = "ratio", .type = MW_TQL_DOUBLE, .d = 0.25}};
static const mw_tql_attr d_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "queue"}};

static const mw_tql_span spans[] = {
    {"POST /", MW_TQL_KIND_SERVER, MW_TQL_STATUS_ERROR, 2500 * MS, a_attrs, 2, a_res, 1, NULL, NULL},
    {"GET /api/cart", MW_TQL_KIND_CLIENT, MW_TQL_STATUS_OK, 120 * MS, b_attrs, 1, b_res, 1, NULL, NULL},
    {"SELECT orders", MW_TQL_KIND_INTERNAL, MW_TQL_STATUS_ERROR, 6 * SEC, c_attrs, 4, c_res, 1, NULL, NULL},
    {"consume", MW_TQL_KIND_CONSUMER, MW_TQL_STATUS_ERROR, 1 * SEC, d_attrs, 2, d_res, 1, NULL, NULL},
};
enum { N_SPANS = sizeof spans / sizeof spans[0] };

/* The letters of the spans q matches, e.g. "AC"; fails the test when q does
 * not parse. */
static void expect(const char *q, const char *want) {
  mw_arena *a = mw__arena_new(1 << 20);
  assert_non_null(a);
  mw_tql *t = NULL;
  char err[256];
  int rc = mw__tql_parse(a, q, strlen(q), &t, err, sizeof err);
  if (rc != MW_OK) fail_msg("%s: parse failed (%d): %s", q, rc, err);
  char got[N_SPANS + 1];
  size_t n = 0;
  for (size_t i = 0; i < N_SPANS; i++)
    if (mw__tql_match(t, &spans[i])) got[n++] = (char)('A' + i);
  got[n] = 0;
  if (strcmp(got, want) != 0) fail_msg("%s: matched \"%s\", expected \"%s\"", q, got, want);
  mw__tql_free(t);
  mw__arena_free(a);
}

/* q is refused with MW_EINVAL and a message that holds each of the
 * NULL-terminated fragments (the part named, "at column N"). */
static void refuse(const char *q, ...) {
  mw_arena *a = mw__arena_new(1 << 20);
  assert_non_null(a);
  mw_tql *t = (mw_tql *)1;
  char err[256];
  int rc = mw__tql_parse(a, q, strlen(q), &t, err, sizeof err);
  if (rc != MW_EINVAL) fail_msg("%s: expected MW_EINVAL, got %d", q, rc);
  assert_null(t);
  va_list ap;
  va_start(ap, q);
  for (const char *frag; (frag = va_arg(ap, const char *));)
    if (!strstr(err, frag)) fail_msg("%s: error \"%s\" does not say \"%s\"", q, err, frag);
  va_end(ap);
  mw__arena_free(a);
}

/* https://grafana.com/docs/grafana/latest/datasources/tempo/query-editor/traceql-query-examples/ */
static void test_grafana_query_examples(void **state) {
  (void)state;
  /* "Find error spans" */
  expect("{ status = error }", "ACD");
  expect("{ span.http.status_code >= 500 }", "A");
  expect("{ span.http.status_code > 399 }", "AC");
  /* "Find slow requests": D lasts exactly 1s, which is not > 1s */
  expect("{ duration > 1s }", "AC");
  expect("{ duration > 5s }", "C");
  expect("{ span.http.url = \"/api/checkout\" && duration > 2s }", "A");
  /* "Find exceptions by type": the event scope is outside the subset */
  refuse("{ event.exception.message =~ \"context cancelled\" }", "event.", "column 3", NULL);
  refuse("{ status = error && event.exception.message != \"\" }", "event.", "column 21", NULL);
}

/* https://grafana.com/docs/grafana/latest/datasources/tempo/query-editor/traceql-editor/ (the first query) */
static void test_grafana_editor_example(void **state) {
  (void)state;
  expect("{ resource.service.name = \"frontend\" && span:status = error }", "C");
}

/* https://grafana.com/docs/learning-journeys/visualization-traces/add-traces-table (the
 * query the Search builder writes for Service Name, Span Name, Status) */
static void test_grafana_search_builder_example(void **state) {
  (void)state;
  expect("{resource.service.name=\"app-2048\" && name=\"POST /\" && status=error}", "A");
}

/* https://grafana.com/docs/tempo/latest/traceql/construct-traceql-queries/: the
 * pipeline is refused, naming its stage; the spanset filter alone is fine. */
static void test_tempo_construct_example(void **state) {
  (void)state;
  refuse("{ span.http.status_code >= 200 && span.http.status_code < 300 } | count() > 2", "pipeline", "| count",
         "column 65", NULL);
  expect("{ span.http.status_code >= 200 && span.http.status_code < 300 }", "B");
  expect("{ }", "ABCD");
  expect("{}", "ABCD");
}

static void test_intrinsics(void **state) {
  (void)state;
  expect("{ kind = server }", "A");
  expect("{ kind != server }", "BCD");
  expect("{ span:kind = consumer }", "D");
  expect("{ kind = unspecified }", "");
  expect("{ status = ok }", "B");
  expect("{ status != error }", "B");
  expect("{ status = unset }", "");
  expect("{ name = \"consume\" }", "D");
  expect("{ span:name != \"consume\" }", "ABC");
  expect("{ name > \"GET\" }", "ABCD"); /* bytewise: "GET /api/cart" > "GET" */
  expect("{ name < \"P\" }", "B");      /* "POST /" > "P"; 'S' and 'c' (0x63) sort after 'P' */
}

static void test_durations(void **state) {
  (void)state;
  expect("{ duration >= 1s }", "ACD");
  expect("{ duration < 1.5s }", "BD");
  expect("{ duration <= 120ms }", "B");
  expect("{ duration = 2500ms }", "A");
  expect("{ span:duration = 2.5s }", "A");
  expect("{ duration = 0.1m }", "C"); /* 6s */
  expect("{ duration = 120000us && duration = 120000000ns }", "B");
  expect("{ duration = 120000\xc2\xb5s }", "B");
  expect("{ duration < 2m && duration > 2500ms }", "C");
  expect("{ duration > 1h || duration < 1ns }", "");
  expect("{ duration = 1000ms }", "D");
  /* compound units, as Go's time.ParseDuration reads them */
  static const mw_tql_span long_span = {"x", 0, 0, 90 * 60 * SEC, NULL, 0, NULL, 0, NULL, NULL};
  static const char *const same[] = {"{ duration = 1h30m }", "{ duration = 5400s }", "{ duration = 1.5h }",
                                     "{ duration = 90m }"};
  for (size_t i = 0; i < sizeof same / sizeof same[0]; i++) {
    mw_arena *a = mw__arena_new(1 << 16);
    mw_tql *t;
    char err[128];
    assert_int_equal(mw__tql_parse(a, same[i], strlen(same[i]), &t, err, sizeof err), MW_OK);
    if (!mw__tql_match(t, &long_span)) fail_msg("%s does not match a span of 90 minutes", same[i]);
    mw__arena_free(a);
  }
  refuse("{ duration > 100 }", "duration", "an integer", NULL);
  refuse("{ duration > 10x }", "column 14", NULL);
  refuse("{ duration > 1.s }", "duration", NULL);
  refuse("{ duration =~ \"1s\" }", "regular expression", NULL);
}

static void test_attributes(void **state) {
  (void)state;
  /* unscoped: the span's attribute first, then the resource's */
  expect("{ .http.status_code = 503 }", "A");
  expect("{ .service.name = \"shadow\" }", "C");
  expect("{ .service.name = \"frontend\" }", "B");
  expect("{ resource.service.name = \"frontend\" }", "BC");
  expect("{ span.service.name = \"frontend\" }", "");
  /* an absent attribute matches nothing, != included */
  expect("{ span.db.system != \"mysql\" }", "C");
  expect("{ span.db.system = \"postgresql\" }", "C");
  /* numbers: an int and a float compare as numbers; a string is no number */
  expect("{ span.http.status_code = 503.0 }", "A");
  expect("{ span.http.status_code = \"503\" }", "");
  expect("{ span.ratio < 0.5 }", "D");
  expect("{ span.ratio > 0 }", "D");
  expect("{ span.ratio >= 0.25 && span.ratio <= 2.5e-1 }", "D");
  expect("{ span.http.status_code > -1 }", "ABC");
  expect("{ span.retry = true }", "D");
  expect("{ span.retry != false }", "D");
  expect("{ span.retry = 1 }", "");
  expect("{ span.\"attr with space\" = 1 }", "C");
  expect("{ .\"attr \"with\" space\" = 1 }", "C"); /* quoted and plain parts join */
  refuse("{ span.retry > true }", "boolean", NULL);
  refuse("{ span.x = ok }", "a status", NULL);
  refuse("{ span.x = 1s }", "a duration", NULL);
  refuse("{ span. = 1 }", "attribute name", "column 8", NULL);
}

static void test_boolean_structure(void **state) {
  (void)state;
  /* && and || share one precedence and group from the left, as in Tempo's grammar
   * (pkg/traceql/expr.y `%left AND OR`; its ast_rewriter_test.go reads
   * { a || b && c || d } as { ((a || b) && c) || d }) */
  expect("{ kind = client || kind = consumer && status = ok }", "B");
  expect("{ status = ok || kind = server && duration > 5s }", ""); /* not B: (ok || server) && > 5s */
  expect("{ status = ok || (kind = server && duration > 5s) }", "B");
  expect("{ kind = server && duration > 5s || status = ok }", "B");
  expect("{ kind = consumer || kind = server && status = error || name = \"GET /api/cart\" }", "ABD");
  expect("{ kind = consumer || kind = internal && duration > 5s || name = \"GET /api/cart\" }", "BC");
  expect("{ (kind = client || kind = consumer) && status = error }", "D");
  expect("{ ((((kind = server)))) }", "A");
  expect("{ kind = server || (duration > 5s && (name = \"x\" || .db.system = \"postgresql\")) }", "AC");
  /* || between spansets: their union, span by span */
  expect("{ kind = server } || { duration > 5s }", "AC");
  expect("{ kind = server } || { kind = client } || { kind = consumer }", "ABD");
}

static void test_regexes(void **state) {
  (void)state;
  /* fully anchored, as Tempo's are */
  expect("{ name =~ \"GET .*\" }", "B");
  expect("{ name =~ \"GET\" }", "");
  expect("{ name =~ \".*GET.*\" }", "B");
  expect("{ resource.service.name =~ \"front.*|queue\" }", "BCD");
  expect("{ name !~ \"(POST|GET) /.*\" }", "CD");
  expect("{ name =~ \"SELECT \\\\w+\" }", "C"); /* the regex SELECT \w+ */
  expect("{ name =~ \"[A-Z]+ [a-z]+\" }", "C");
  expect("{ name =~ \"[^ ]+\" }", "D");
  expect("{ name =~ \"[[:lower:]]{7}\" }", "D");
  expect("{ name =~ \"[[:lower:]]{8}\" }", "");
  expect("{ name =~ \"c(o|x)n?s{1,2}ume\" }", "D");
  expect("{ name =~ \"POST \\\\/\" }", "A"); /* an escaped '/' is a '/' */
  expect("{ name =~ \"GET /api/cart|\" }", "B");
  expect("{ .http.url =~ \"/api/.*\" }", "A"); /* only string attributes */
  expect("{ .http.status_code =~ \"5.*\" }", "");
  expect("{ name =~ \"[]x-]|POST /\" }", "A");
  expect("{ name =~ \"[-^x]+|consume\" }", "D");
  expect("{ name =~ \"\\\\d+|\\\\D+\" }", "ABCD");
  expect("{ name =~ \"a{,2}|consume\" }", "D"); /* a{,2} is literal in RE2 */
  /* RE2 that POSIX does not have: refused, named */
  refuse("{ name =~ \"(?i)get.*\" }", "(?", "column 11", NULL);
  refuse("{ name =~ \"a.*?\" }", "non-greedy", NULL);
  refuse("{ name =~ \"\\\\bfoo\" }", "\\b", NULL);
  refuse("{ name =~ \"(a)\\\\1\" }", "\\1", NULL);
  refuse("{ name =~ \"\\\\pL\" }", "\\p", NULL);
  refuse("{ name =~ \"a)(b\" }", "unmatched )", NULL);
  refuse("{ name =~ \"(a\" }", "missing )", NULL);
  refuse("{ name =~ \"*a\" }", "nothing to repeat", NULL);
  refuse("{ name =~ \"a**\" }", "repetition of a repetition", NULL);
  refuse("{ name =~ \"a{1001}\" }", "over 1000", NULL);
  refuse("{ name =~ \"(a{40}){40}\" }", "past 1000", NULL);
  refuse("{ name =~ \"[a\" }", "missing closing ]", NULL);
  refuse("{ name =~ \"[[:foo:]]\" }", "unknown [:class:]", NULL);
  refuse("{ name =~ \"[z-a]\" }", "range", NULL);
  refuse("{ name =~ \"[\xc3\xa9]\" }", "non-ASCII", NULL);
  refuse("{ name =~ \"a\xff\" }", "invalid UTF-8", NULL);
  refuse("{ name =~ \"\xc3\" }", "invalid UTF-8", NULL);
  refuse("{ name =~ 1 }", "needs a string", NULL);
}

/* Regexes against Go's regexp: tests/data/traceql/re2_cases.txt holds random
 * patterns in the supported RE2 syntax with subjects and RE2's verdicts
 * (gen_re2_cases.go writes it with Go's regexp, anchored, . matching \n),
 * multibyte characters among them (. and negated classes match them whole).
 * Every pattern must be accepted and agree with RE2 on every subject. */
static size_t unhex(const char *s, size_t n, char *out) {
  if (n % 2 || mw__hex_decode((uint8_t *)out, n / 2, s, n)) fail_msg("bad hex in re2_cases.txt");
  out[n / 2] = 0;
  return n / 2;
}

static void test_regexes_agree_with_re2(void **state) {
  (void)state;
  FILE *f = fopen(MW_TEST_DATA "/traceql/re2_cases.txt", "r");
  assert_non_null(f);
  char line[1024], re[512], subj[64], q[1200], err[256];
  mw_arena *a = NULL;
  mw_tql *t = NULL;
  size_t patterns = 0, cases = 0, matches = 0, wrong = 0;
  while (fgets(line, sizeof line, f)) {
    size_t n = strcspn(line, " \n");
    if (line[0] == 'R') {
      if (t) mw__tql_free(t);
      if (a) mw__arena_free(a);
      a = mw__arena_new(1 << 20);
      const char *h = line + 2;
      unhex(h, strcspn(h, "\n"), re);
      size_t k = (size_t)sprintf(q, "{ name =~ \"");
      for (const char *c = re; *c; c++) { /* as a TraceQL string */
        if (*c == '\\' || *c == '"') q[k++] = '\\';
        if (*c == '\n') q[k++] = '\\', q[k++] = 'n';
        else q[k++] = *c;
      }
      k += (size_t)sprintf(q + k, "\" }");
      if (mw__tql_parse(a, q, k, &t, err, sizeof err) != MW_OK) fail_msg("%s refused: %s", q, err);
      patterns++;
    } else if (line[0] == 'S' && t) {
      const char *h = line + 2;
      size_t hn = strcspn(h, " ");
      unhex(h, hn, subj);
      int want = h[hn + 1] == '1';
      mw_tql_span sp = {.name = subj};
      int got = mw__tql_match(t, &sp);
      cases++, matches += (size_t)want;
      if (got != want && wrong++ < 10) print_error("%s on \"%s\": %d, RE2 says %d\n", q, subj, got, want);
    }
    (void)n;
  }
  fclose(f);
  if (t) mw__tql_free(t);
  if (a) mw__arena_free(a);
  print_message("%zu patterns, %zu subjects (%zu matching), %zu disagreements\n", patterns, cases, matches, wrong);
  assert_true(patterns >= 200 && matches >= 100);
  assert_int_equal(wrong, 0);
}

static void test_literals(void **state) {
  (void)state;
  static const mw_tql_attr attrs[] = {{.key = "s", .type = MW_TQL_STRING, .s = "a\"b\\c\td\xc3\xa9"},
                                      {.key = "r", .type = MW_TQL_STRING, .s = "x\\y"},
                                      {.key = "big", .type = MW_TQL_INT, .i = INT64_MIN}};
  static const mw_tql_span sp = {"n", 0, 0, 0, attrs, 3, NULL, 0, NULL, NULL};
  static const char *const match[] = {"{ span.s = \"a\\\"b\\\\c\\td\\u00e9\" }",
                                      "{ span.s = \"a\\\"b\\\\c\\td\\xc3\\xa9\" }", "{ span.r = `x\\y` }",
                                      "{ span.big = -9223372036854775808 }", "{ span.big < -9.2e18 }"};
  for (size_t i = 0; i < sizeof match / sizeof match[0]; i++) {
    mw_arena *a = mw__arena_new(1 << 16);
    mw_tql *t;
    char err[128];
    int rc = mw__tql_parse(a, match[i], strlen(match[i]), &t, err, sizeof err);
    if (rc) fail_msg("%s: %s", match[i], err);
    if (!mw__tql_match(t, &sp)) fail_msg("%s does not match", match[i]);
    mw__arena_free(a);
  }
  refuse("{ span.big = 9223372036854775808 }", "out of range", NULL);
  refuse("{ span.big = 92233720368547758080 }", "out of range", NULL); /* 2^63 * 10 wraps to 0 in 64 bits */
  refuse("{ duration > 9223372036.9s }", "out of range", NULL);        /* 9223372036s fits, the .9s does not */
  expect("{ duration < 9223372036.8s }", "ABCD");
  refuse("{ name = \"abc }", "unterminated string", "column 10", NULL);
  refuse("{ name = \"a\\qb\" }", "escape", NULL);
  refuse("{ name = \"a\\x00\" }", "NUL", NULL);
  refuse("{ .x = nil }", "nil", NULL);
  refuse("{ .x = 1.2.3 }", "malformed", NULL);
}

/* Each unsupported part of TraceQL named, with its column. */
static void test_unsupported_named(void **state) {
  (void)state;
  refuse("{ kind = server } >>> { kind = client }", "expected a spanset", "column 21", NULL);
  refuse("({ kind = server } ~~ { kind = client })", "expected a spanset", "column 21", NULL);
  refuse("({ kind = server } { kind = client })", "missing )", "column 1", NULL);
  refuse("{ kind = server } && { kind = client } | count() > 1", "| count", "column 40", NULL);
  refuse("{ .x = 1 } | select(span.foo)", "| select", "column 12", NULL);
  refuse("{ .x = 1 } | avg(duration) > 1s", "| avg", NULL);
  refuse("{ .x = 1 } with (most_recent=true)", "'with'", "column 12", NULL);
  refuse("{ trace:duration > 1s }", "trace:duration", "column 3", NULL);
  refuse("{ span:statusMessage = \"x\" }", "span:statusMessage", NULL);
  refuse("{ rootServiceName = \"x\" }", "rootServiceName", NULL);
  refuse("{ parent.http.method = \"GET\" }", "parent.", NULL);
  refuse("{ span.x + 1 = 2 }", "arithmetic '+'", "column 10", NULL);
  refuse("{ 1 = .x }", "value on the left", NULL);
  refuse("{ !(.x = 1) }", "negation", NULL);
  refuse("{ .x }", "without a comparison", NULL);
  refuse("{ foo = 1 }", "unknown field 'foo'", NULL);
  refuse("{ status = server }", "ok, error or unset", NULL);
  refuse("{ kind > server }", "= or != only", NULL);
  refuse("{ name = 1 }", "string", NULL);
  refuse("{ .x = .y }", "right of a comparison", NULL);
  refuse("{ { .x = 1 } }", "inside a spanset", NULL);
  refuse("{ .x = 1 | .y = 2 }", "pipeline", NULL);
}

/* One trace, built by hand (letters in span order):
 *   R GET /api/orders  server ok    frontend/production  http.method=GET     (root)
 *   P GET /api/products server ok   frontend/production  http.method=GET     child of R
 *   Q SELECT products  client error catalog/staging      db.system=postgresql child of P
 *   S charge           client error payment/production   http.method=DELETE  child of R
 *   O late             internal error frontend/production                    parent not in the trace */
static const mw_tql_attr fe_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "frontend"},
                                     {.key = "deployment.environment", .type = MW_TQL_STRING, .s = "production"}};
static const mw_tql_attr cat_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "catalog"},
                                      {.key = "deployment.environment", .type = MW_TQL_STRING, .s = "staging"}};
static const mw_tql_attr pay_res[] = {{.key = "service.name", .type = MW_TQL_STRING, .s = "payment"},
                                      {.key = "deployment.environment", .type = MW_TQL_STRING, .s = "production"}};
static const mw_tql_attr get_attrs[] = {{.key = "http.method", .type = MW_TQL_STRING, .s = "GET"}};
static const mw_tql_attr del_attrs[] = {{.key = "http.method", .type = MW_TQL_STRING, .s = "DELETE"}};
static const mw_tql_attr pg_attrs[] = {{.key = "db.system", .type = MW_TQL_STRING, .s = "postgresql"}};
static const uint8_t tid[6][8] = {{1}, {2}, {3}, {4}, {5}, {9}};
static const mw_tql_span trace[] = {
    {"GET /api/orders", MW_TQL_KIND_SERVER, MW_TQL_STATUS_OK, 900 * MS, get_attrs, 1, fe_res, 2, tid[0], NULL},
    {"GET /api/products", MW_TQL_KIND_SERVER, MW_TQL_STATUS_OK, 300 * MS, get_attrs, 1, fe_res, 2, tid[1], tid[0]},
    {"SELECT products", MW_TQL_KIND_CLIENT, MW_TQL_STATUS_ERROR, 200 * MS, pg_attrs, 1, cat_res, 2, tid[2], tid[1]},
    {"charge", MW_TQL_KIND_CLIENT, MW_TQL_STATUS_ERROR, 100 * MS, del_attrs, 1, pay_res, 2, tid[3], tid[0]},
    {"late", MW_TQL_KIND_INTERNAL, MW_TQL_STATUS_ERROR, 10 * MS, NULL, 0, fe_res, 2, tid[4], tid[5]},
};
enum { N_TRACE = sizeof trace / sizeof trace[0] };
static const char trace_letters[] = "RPQSO";

/* The letters of the spans q selects in the trace, evaluated on the whole trace. */
static void expect_trace(const char *q, const char *want) {
  mw_arena *a = mw__arena_new(1 << 20);
  assert_non_null(a);
  mw_tql *t = NULL;
  char err[256];
  if (mw__tql_parse(a, q, strlen(q), &t, err, sizeof err) != MW_OK) fail_msg("%s: parse failed: %s", q, err);
  unsigned char sel[N_TRACE];
  size_t n_sel;
  assert_int_equal(mw__tql_eval_trace(a, t, trace, N_TRACE, sel, &n_sel), MW_OK);
  char got[N_TRACE + 1];
  size_t n = 0;
  for (size_t i = 0; i < N_TRACE; i++)
    if (sel[i]) got[n++] = trace_letters[i];
  got[n] = 0;
  if (strcmp(got, want) != 0) fail_msg("%s: selected \"%s\", expected \"%s\"", q, got, want);
  assert_int_equal(n_sel, n);
  mw__tql_free(t);
  mw__arena_free(a);
}

/* https://grafana.com/docs/tempo/latest/traceql/construct-traceql-queries/, "Combine
 * spansets using operators" and the examples that use them; && and || keep the
 * spans of both sides (Tempo's SpansetOperation), the structural operators the
 * spans of the right side. */
static void test_spanset_operators(void **state) {
  (void)state;
  /* "Find traces going through production and staging instances" */
  expect_trace("{ resource.deployment.environment = \"production\" } && { resource.deployment.environment = "
               "\"staging\" }",
               "RPQSO");
  expect_trace("{ resource.deployment.environment = \"production\" && resource.deployment.environment = \"staging\" }",
               "");
  expect_trace("{ resource.deployment.environment = \"production\" } && { resource.deployment.environment = \"dev\" }",
               "");
  /* "Other examples": GET and ok on one span, DELETE and not ok on another */
  expect_trace("{ span.http.method = \"GET\" && status = ok } && { span.http.method = \"DELETE\" && status != ok }",
               "RPS");
  expect_trace("{ span.http.method = \"GET\" && status = ok } && { span.http.method = \"PUT\" }", "");
  /* || : the union */
  expect_trace("{ resource.cloud.region = \"x\" } || { status = error }", "QSO");
  /* "Use structural operators": frontend, then an error in it or downstream */
  expect_trace("{ resource.service.name=\"frontend\" } >> { status = error }", "QS");
  expect_trace("{ name = \"GET /api/orders\" } >> { status = error }", "QS");
  expect_trace("{ name = \"GET /api/orders\" } > { status = error }", "S");
  expect_trace("{ resource.service.name=\"frontend\" } > { status = error }", "QS");
  expect_trace("{ span.db.system = \"postgresql\" } < { }", "P");
  expect_trace("{ span.db.system = \"postgresql\" } << { }", "RP");
  expect_trace("{ status = error } << { kind = server }", "RP");
  expect_trace("{ status = error } < { kind = server }", "RP");
  expect_trace("{ } >> { }", "PQS"); /* O's parent is not in the trace */
  expect_trace("{ name = \"late\" } >> { }", "");
  expect_trace("{ } > { name = \"late\" }", "");
  /* && and || share a precedence and group from the left (Tempo's expr.y) */
  expect_trace("{ name = \"charge\" } || { name = \"late\" } && { name = \"nothing\" }", "");
  expect_trace("{ name = \"nothing\" } && { name = \"charge\" } || { name = \"late\" }", "O");
  expect_trace("{ name = \"charge\" } || ({ name = \"late\" } && { name = \"nothing\" })", "S");
  /* structural operators bind tighter, and group from the left */
  expect_trace("{ name = \"late\" } || { name = \"GET /api/orders\" } > { name = \"charge\" }", "SO");
  expect_trace("({ name = \"late\" } || { name = \"GET /api/orders\" }) > { name = \"charge\" }", "S");
  expect_trace("{ name = \"GET /api/orders\" } > { kind = server } > { span.db.system = \"postgresql\" }", "Q");
  /* siblings: the spans with the same parent (R's children P and S); O, whose parent is not
   * in the trace, is in no relation (Tempo's nested sets are built from the roots) */
  expect_trace("{ name = \"GET /api/products\" } ~ { }", "S");
  expect_trace("{ } ~ { }", "PS");
  expect_trace("{ } !~ { }", "RQO");
  /* the negated forms: the right side's spans NOT in that relation */
  expect_trace("{ kind = server } !>> { status = error }", "O");
  expect_trace("{ kind = server } !> { status = error }", "O");
  expect_trace("{ span.db.system = \"postgresql\" } !< { kind = server }", "R");
  expect_trace("{ span.db.system = \"postgresql\" } !<< { }", "QSO");
  /* "find a leaf span", "the last error in a series of cascading errors" */
  expect_trace("{ } !< { resource.service.name = \"frontend\" }", "O");
  expect_trace("{ status = error } !< { status = error }", "QSO");
  /* the union forms: the spans of both sides in that relation */
  expect_trace("{ name = \"GET /api/orders\" } &>> { status = error }", "RQS");
  expect_trace("{ name = \"GET /api/products\" } &> { }", "PQ");
  expect_trace("{ span.db.system = \"postgresql\" } &< { }", "PQ");
  expect_trace("{ span.db.system = \"postgresql\" } &<< { kind = server }", "RPQ");
  expect_trace("{ name = \"charge\" } &~ { kind = server }", "PS");
  /* a query without trace-level operators selects span by span */
  expect_trace("{ status = error }", "QSO");
  expect_trace("{ name = \"late\" } || { kind = server }", "RPO");
}

static void test_spanset_operators_per_span(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(1 << 16);
  mw_tql *t;
  char err[128];
  const char *q = "{ name = \"charge\" } && { kind = server }";
  assert_int_equal(mw__tql_parse(a, q, strlen(q), &t, err, sizeof err), MW_OK);
  assert_int_equal(mw__tql_trace_level(t), 1);
  /* per span: the candidates, the spans one of the filters matches */
  const int want[N_TRACE] = {1, 1, 0, 1, 0};
  for (size_t i = 0; i < N_TRACE; i++) assert_int_equal(mw__tql_match(t, &trace[i]), want[i]);
  q = "{ name = \"charge\" } || { kind = server }";
  assert_int_equal(mw__tql_parse(a, q, strlen(q), &t, err, sizeof err), MW_OK);
  assert_int_equal(mw__tql_trace_level(t), 0);
  assert_int_equal(mw__tql_trace_level(NULL), 0);
  /* parents that form a cycle: the walk stops */
  static const uint8_t cid[2][8] = {{7}, {8}};
  const mw_tql_span loop[] = {{"a", 0, 0, 0, NULL, 0, NULL, 0, cid[0], cid[1]},
                              {"b", 0, 0, 0, NULL, 0, NULL, 0, cid[1], cid[0]}};
  q = "{ name = \"x\" } >> { }";
  assert_int_equal(mw__tql_parse(a, q, strlen(q), &t, err, sizeof err), MW_OK);
  unsigned char sel[3];
  size_t n_sel;
  assert_int_equal(mw__tql_eval_trace(a, t, loop, 2, sel, &n_sel), MW_OK);
  assert_int_equal(n_sel, 0);
  q = "{ name = \"a\" } << { }";
  assert_int_equal(mw__tql_parse(a, q, strlen(q), &t, err, sizeof err), MW_OK);
  assert_int_equal(mw__tql_eval_trace(a, t, loop, 2, sel, &n_sel), MW_OK);
  assert_int_equal(n_sel, 0); /* no root: in no relation */
  /* a subtree whose parent is not in the trace: in no relation either, as in Tempo */
  static const uint8_t oid[3][8] = {{1}, {2}, {3}};
  const mw_tql_span orphans[] = {{"x", 0, 0, 0, NULL, 0, NULL, 0, oid[0], oid[2]},
                                 {"y", 0, 0, 0, NULL, 0, NULL, 0, oid[1], oid[0]}};
  q = "{ } > { }";
  assert_int_equal(mw__tql_parse(a, q, strlen(q), &t, err, sizeof err), MW_OK);
  assert_int_equal(mw__tql_eval_trace(a, t, orphans, 2, sel, &n_sel), MW_OK);
  assert_int_equal(n_sel, 0);
  /* ... and with its root it is */
  const mw_tql_span rooted[] = {orphans[0], orphans[1], {"z", 0, 0, 0, NULL, 0, NULL, 0, oid[2], NULL}};
  assert_int_equal(mw__tql_eval_trace(a, t, rooted, 3, sel, &n_sel), MW_OK);
  assert_int_equal(n_sel, 2);
  assert_true(sel[0] && sel[1] && !sel[2]);
  assert_int_equal(mw__tql_eval_trace(a, t, loop, 0, sel, &n_sel), MW_OK);
  assert_int_equal(n_sel, 0);
  mw__arena_free(a);
}

/* mw__tql_required: what the search may narrow through the operations index. */
static void expect_required(const char *q, const char *service, const char *name) {
  mw_arena *a = mw__arena_new(1 << 16);
  mw_tql *t;
  char err[128];
  if (mw__tql_parse(a, q, strlen(q), &t, err, sizeof err) != MW_OK) fail_msg("%s: %s", q, err);
  const char *s, *n;
  mw__tql_required(t, &s, &n);
  if ((s == NULL) != (service == NULL) || (s && strcmp(s, service)))
    fail_msg("%s: service %s, expected %s", q, s ? s : "none", service ? service : "none");
  if ((n == NULL) != (name == NULL) || (n && strcmp(n, name)))
    fail_msg("%s: name %s, expected %s", q, n ? n : "none", name ? name : "none");
  mw__tql_free(t);
  mw__arena_free(a);
}

static void test_required(void **state) {
  (void)state;
  /* "Find traces of a specific operation" */
  expect_required("{resource.service.name = \"frontend\" && name = \"POST /api/orders\"}", "frontend",
                  "POST /api/orders");
  expect_required("{ resource.service.name=\"frontend\" && name = \"POST /api/orders\" && status = error }", "frontend",
                  "POST /api/orders");
  expect_required("{ (resource.service.name = \"a\" && kind = server) && name =~ \"x\" }", "a", NULL);
  expect_required("{ span:name = \"n\" }", NULL, "n");
  expect_required("{ resource.service.name = \"a\" || name = \"b\" }", NULL, NULL);
  expect_required("{ .service.name = \"a\" }", NULL, NULL); /* a span attribute may hold it */
  expect_required("{ span.service.name = \"a\" }", NULL, NULL);
  expect_required("{ resource.service.name != \"a\" }", NULL, NULL);
  expect_required("{ resource.service.name = \"\" }", NULL, NULL); /* stored as unknown_service */
  expect_required("{ resource.service.name = \"a\" } && { name = \"b\" }", NULL, NULL);
  expect_required("{ resource.service.name = \"a\" } || { resource.service.name = \"a\" }", NULL, NULL);
  expect_required("{ }", NULL, NULL);
}

static void test_malformed(void **state) {
  (void)state;
  refuse("", "empty query", NULL);
  refuse("   ", "empty query", NULL);
  refuse("status = error", "spanset", "column 1", NULL);
  refuse("{ .x = 1", "missing }", NULL);
  refuse("{ .x = 1 ) }", "unmatched )", NULL);
  refuse("{ (.x = 1 }", "missing )", NULL);
  refuse("{ .x = }", "expected a value", NULL);
  refuse("{ .x == 1 }", "expected a value", NULL);
  refuse("{ .x = 1 && }", "expected a condition", NULL);
  refuse("{ .x = 1 .y = 2 }", "expected &&, || or }", NULL);
  refuse("{ .x = 1 } garbage", "'garbage'", NULL);
  /* a NUL byte inside the given length */
  mw_arena *a = mw__arena_new(1 << 16);
  mw_tql *t;
  char err[128];
  assert_int_equal(mw__tql_parse(a, "{ .x = 1 }\0", 11, &t, err, sizeof err), MW_EINVAL);
  assert_non_null(strstr(err, "NUL"));
  /* no room for a message, or little: still the code, and a terminated err */
  assert_int_equal(mw__tql_parse(a, "{", 1, &t, NULL, 0), MW_EINVAL);
  char tiny[8];
  assert_int_equal(mw__tql_parse(a, "{ foo = 1 }", 11, &t, tiny, sizeof tiny), MW_EINVAL);
  assert_int_equal(strlen(tiny), sizeof tiny - 1);
  mw__arena_free(a);
}

static void test_bounds(void **state) {
  (void)state;
  char q[MW_TQL_MAX_LEN + 64];
  /* nesting: MW_TQL_MAX_DEPTH parentheses pass, one more does not */
  for (int depth = MW_TQL_MAX_DEPTH; depth <= MW_TQL_MAX_DEPTH + 1; depth++) {
    size_t n = 0;
    n += (size_t)sprintf(q + n, "{ ");
    for (int i = 0; i < depth; i++) q[n++] = '(';
    n += (size_t)sprintf(q + n, "kind = server");
    for (int i = 0; i < depth; i++) q[n++] = ')';
    sprintf(q + n, " }");
    if (depth == MW_TQL_MAX_DEPTH) expect(q, "A");
    else refuse(q, "nested deeper than 16", "column 19", NULL);
  }
  /* comparisons */
  for (int conds = MW_TQL_MAX_CONDS; conds <= MW_TQL_MAX_CONDS + 1; conds++) {
    size_t n = (size_t)sprintf(q, "{ kind = server");
    for (int i = 1; i < conds; i++) n += (size_t)sprintf(q + n, " && .x != %d", i);
    sprintf(q + n, " }");
    if (conds == MW_TQL_MAX_CONDS) expect(q, "");
    else refuse(q, "more than 64 comparisons", NULL);
  }
  /* regular expressions */
  for (int res = MW_TQL_MAX_REGEX; res <= MW_TQL_MAX_REGEX + 1; res++) {
    size_t n = (size_t)sprintf(q, "{ name =~ \"P.*\"");
    for (int i = 1; i < res; i++) n += (size_t)sprintf(q + n, " && name =~ \".*/\"");
    sprintf(q + n, " }");
    if (res == MW_TQL_MAX_REGEX) expect(q, "A");
    else refuse(q, "more than 8 regular expressions", NULL);
  }
  /* length: MW_TQL_MAX_LEN bytes pass (padded with spaces), one more does not */
  memset(q, ' ', sizeof q);
  memcpy(q, "{ kind = server", 15);
  q[MW_TQL_MAX_LEN - 1] = '}';
  q[MW_TQL_MAX_LEN] = 0;
  expect(q, "A");
  q[MW_TQL_MAX_LEN - 1] = ' ';
  q[MW_TQL_MAX_LEN] = '}';
  q[MW_TQL_MAX_LEN + 1] = 0;
  refuse(q, "longer than 4096 bytes", NULL);
  /* a regex past its length */
  size_t n = (size_t)sprintf(q, "{ name =~ \"");
  memset(q + n, 'a', MW_TQL_MAX_REGEX_LEN + 1);
  sprintf(q + n + MW_TQL_MAX_REGEX_LEN + 1, "\" }");
  refuse(q, "longer than 512 bytes", NULL);
}

static void test_free_and_null(void **state) {
  (void)state;
  mw__tql_free(NULL);
  mw_arena *a = mw__arena_new(1 << 16);
  mw_tql *t;
  char err[64];
  assert_int_equal(mw__tql_parse(a, "{ name =~ \"a|b\" }", 17, &t, err, sizeof err), MW_OK);
  mw__tql_free(t);
  mw__tql_free(t); /* twice is fine */
  assert_int_equal(mw__tql_match(NULL, &spans[0]), 0);
  mw__arena_free(a);
  /* an exhausted arena is MW_ENOMEM, not a crash */
  a = mw__arena_new(64);
  int rc = mw__tql_parse(a, "{ name = \"x\" && kind = server }", 31, &t, err, sizeof err);
  assert_true(rc == MW_ENOMEM || rc == MW_OK);
  if (rc == MW_OK) mw__tql_free(t);
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_grafana_query_examples),
      cmocka_unit_test(test_grafana_editor_example),
      cmocka_unit_test(test_grafana_search_builder_example),
      cmocka_unit_test(test_tempo_construct_example),
      cmocka_unit_test(test_intrinsics),
      cmocka_unit_test(test_durations),
      cmocka_unit_test(test_attributes),
      cmocka_unit_test(test_boolean_structure),
      cmocka_unit_test(test_regexes),
      cmocka_unit_test(test_regexes_agree_with_re2),
      cmocka_unit_test(test_literals),
      cmocka_unit_test(test_unsupported_named),
      cmocka_unit_test(test_spanset_operators),
      cmocka_unit_test(test_spanset_operators_per_span),
      cmocka_unit_test(test_required),
      cmocka_unit_test(test_malformed),
      cmocka_unit_test(test_bounds),
      cmocka_unit_test(test_free_and_null),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
