/* Unit tests for core/jsonw.c: numbers as people and JSON readers expect them
 * (no exponent for everyday magnitudes, shortest digits that read back the
 * same), nesting deep enough for every attribute value ingest accepts, and
 * escaping. Expected texts are written out by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <string.h>

#include "core/buf.h"
#include "core/jsonw.h"

static void expect_double(double v, const char *want) {
  mw_buf b;
  mw__buf_init(&b, 4096);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_double(&w, v);
  assert_int_equal(mw__jw_error(&w), 0);
  if (strcmp(b.data, want) != 0) fail_msg("%.17g written as %s, want %s", v, b.data, want);
  mw__buf_free(&b);
}

static void test_doubles(void **state) {
  (void)state;
  expect_double(150, "150"); /* was 1.5e+02 */
  expect_double(152.496233, "152.496233");
  expect_double(1500, "1500");
  expect_double(0.1, "0.1");
  expect_double(0.000123, "0.000123");
  expect_double(0.000001, "0.000001");
  expect_double(-42.5, "-42.5");
  expect_double(0, "0");
  expect_double(123456789012.5, "123456789012.5");
  expect_double(999999999999999, "999999999999999");
  /* 16 digits and more would read back as an integer past what many readers
   * hold (jansson refuses 1e20 written out): an exponent */
  expect_double(1e15, "1e+15");
  expect_double(1e20, "1e+20");
  expect_double(1.5e-7, "1.5e-07");
  expect_double(1.7976931348623157e308, "1.7976931348623157e+308");
  expect_double(0.30000000000000004, "0.30000000000000004"); /* 17 digits when needed */
  expect_double(NAN, "\"NaN\"");
  expect_double(INFINITY, "\"Infinity\"");
}

/* Opens n arrays and closes them: the writer must hold that depth. */
static void test_depth(void **state) {
  (void)state;
  mw_buf b;
  mw__buf_init(&b, 1 << 20);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  for (int i = 0; i < MW_JW_MAX_DEPTH - 1; i++) mw__jw_arr(&w);
  for (int i = 0; i < MW_JW_MAX_DEPTH - 1; i++) mw__jw_arr_end(&w);
  assert_int_equal(mw__jw_error(&w), 0);
  assert_int_equal(b.len, 2 * (size_t)(MW_JW_MAX_DEPTH - 1));
  mw__buf_free(&b);
}

static void test_strings(void **state) {
  (void)state;
  mw_buf b;
  mw__buf_init(&b, 4096);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_arr(&w);
  mw__jw_str(&w, "a\"b\\c\n\x01");
  mw__jw_str(&w, "caf\xc3\xa9");
  mw__jw_strn(&w, "x\xffy", 3); /* invalid UTF-8 becomes U+FFFD */
  mw__jw_arr_end(&w);
  assert_string_equal(b.data, "[\"a\\\"b\\\\c\\n\\u0001\",\"caf\xc3\xa9\",\"x\xef\xbf\xbdy\"]");
  mw__buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_doubles),
      cmocka_unit_test(test_depth),
      cmocka_unit_test(test_strings),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
