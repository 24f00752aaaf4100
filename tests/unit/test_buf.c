/* Tests for the bounded buffer (core/buf.c) and the JSON writer on top of it:
 * a failed append frees the buffer, and the failure sticks, so that what is
 * written after it can never pass for the whole text (the way an answer
 * became a 200 with an empty body: issue "Hardening, round two", point 5). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"

static void test_append_within_max(void **state) {
  mw_buf b;
  mw__buf_init(&b, 8);
  assert_int_equal(mw__buf_adds(&b, "abcd"), MW_OK);
  assert_int_equal(mw__buf_printf(&b, "%d", 1234), MW_OK);
  assert_int_equal(b.len, 8);
  assert_string_equal(b.data, "abcd1234");
  assert_int_equal(b.err, 0);
  mw__buf_free(&b);
}

static void test_failure_sticks(void **state) {
  mw_buf b;
  mw__buf_init(&b, 8);
  assert_int_equal(mw__buf_adds(&b, "abcdef"), MW_OK);
  assert_int_equal(mw__buf_adds(&b, "ghi"), MW_ETOOBIG); /* 9 > 8 */
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.err, MW_ETOOBIG);
  /* what follows fits on its own, and still fails: "x" alone is not the text */
  assert_int_equal(mw__buf_adds(&b, "x"), MW_ETOOBIG);
  assert_int_equal(mw__buf_addc(&b, 'y'), MW_ETOOBIG);
  assert_int_equal(mw__buf_printf(&b, "%s", "z"), MW_ETOOBIG);
  assert_null(mw__buf_reserve(&b, 1));
  assert_int_equal(b.len, 0);
  assert_int_equal(b.err, MW_ETOOBIG);
  /* starting over forgets it */
  mw__buf_init(&b, 8);
  assert_int_equal(mw__buf_adds(&b, "x"), MW_OK);
  assert_int_equal(b.err, 0);
  mw__buf_free(&b);
}

static void test_json_writer_sees_it(void **state) {
  mw_buf b;
  mw__buf_init(&b, 16);
  mw_jsonw w;
  mw__jw_init(&w, &b);
  mw__jw_obj(&w);
  mw__jw_kstr(&w, "name", "a name longer than the buffer");
  mw__jw_obj_end(&w);
  assert_int_equal(mw__jw_error(&w), MW_ETOOBIG);
  assert_int_equal(b.err, MW_ETOOBIG);
  assert_int_equal(b.len, 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_append_within_max),
      cmocka_unit_test(test_failure_sticks),
      cmocka_unit_test(test_json_writer_sees_it),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
