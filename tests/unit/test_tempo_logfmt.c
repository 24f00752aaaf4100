/* Unit tests for the logfmt reader of Tempo's `tags` search parameter
 * (query/tempo.c). Tempo documents `tags` as "logfmt encoding of any
 * span-level or process-level attributes ... Key-value pairs are separated
 * by spaces. If a value contains a space, it should be enclosed within double
 * quotes" (https://grafana.com/docs/tempo/latest/api_docs/, "Search"); the
 * cases below are written from that and from logfmt's quoting. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "core/arena.h"
#include "core/error.h"
#include "query/tempo.h"

static mw_arena *arena;
static char err[200];

static int parse(const char *s, mw_tempo_tag **out, size_t *n) {
  err[0] = '\0';
  return mw__tempo_logfmt(arena, s, out, n, err, sizeof err);
}

static void test_pairs(void **state) {
  (void)state;
  mw_tempo_tag *t;
  size_t n;
  /* the example of Tempo's documentation, URL-decoded */
  assert_int_equal(parse("service.name=myservice http.url=api/myapi", &t, &n), MW_OK);
  assert_int_equal(n, 2);
  assert_string_equal(t[0].key, "service.name");
  assert_string_equal(t[0].value, "myservice");
  assert_string_equal(t[1].key, "http.url");
  assert_string_equal(t[1].value, "api/myapi");
  assert_int_equal(parse("  a=1\t b=2  ", &t, &n), MW_OK);
  assert_int_equal(n, 2);
  assert_string_equal(t[1].value, "2");
  assert_int_equal(parse("", &t, &n), MW_OK);
  assert_int_equal(n, 0);
  assert_int_equal(parse("a=", &t, &n), MW_OK); /* an empty value: any value holds it */
  assert_int_equal(n, 1);
  assert_string_equal(t[0].value, "");
}

static void test_quotes(void **state) {
  (void)state;
  mw_tempo_tag *t;
  size_t n;
  assert_int_equal(parse("name=\"GET /checkout\" x=y", &t, &n), MW_OK);
  assert_int_equal(n, 2);
  assert_string_equal(t[0].value, "GET /checkout");
  assert_string_equal(t[1].key, "x");
  assert_int_equal(parse("msg=\"say \\\"hi\\\" a\\\\b\"", &t, &n), MW_OK);
  assert_string_equal(t[0].value, "say \"hi\" a\\b");
  assert_int_equal(parse("k=\"a=b\"", &t, &n), MW_OK);
  assert_string_equal(t[0].value, "a=b");
}

static void test_refusals(void **state) {
  (void)state;
  mw_tempo_tag *t;
  size_t n;
  assert_int_equal(parse("flag", &t, &n), MW_EINVAL);
  assert_non_null(strstr(err, "key=value"));
  assert_int_equal(parse("=v", &t, &n), MW_EINVAL);
  assert_int_equal(parse("a=\"open", &t, &n), MW_EINVAL);
  assert_non_null(strstr(err, "no closing double quote"));
  assert_int_equal(parse("a=\"x\"y", &t, &n), MW_EINVAL);
  assert_int_equal(parse("a=b=c", &t, &n), MW_EINVAL);
  assert_int_equal(parse("a=b\"c", &t, &n), MW_EINVAL);
  char many[400] = "";
  for (int i = 0; i <= MW_TEMPO_MAX_TAGS; i++) snprintf(many + strlen(many), sizeof many - strlen(many), "k%d=v ", i);
  assert_int_equal(parse(many, &t, &n), MW_EINVAL);
  assert_non_null(strstr(err, "more than"));
}

static int setup(void **state) {
  (void)state;
  arena = mw__arena_new(1 << 20);
  return arena ? 0 : -1;
}

static int teardown(void **state) {
  (void)state;
  mw__arena_free(arena);
  return 0;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_pairs),
      cmocka_unit_test(test_quotes),
      cmocka_unit_test(test_refusals),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
