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

/* Varints as LEB128 spells them (the bytes worked by hand), both through
 * mw__buf_add (an empty buffer) and in place (room reserved), and the
 * limit: a varint that would pass max fails and the failure sticks. */
static void test_uvarint(void **state) {
  static const struct {
    uint64_t v;
    size_t n;
    unsigned char bytes[10];
  } cases[] = {
      {0, 1, {0x00}},
      {1, 1, {0x01}},
      {127, 1, {0x7f}},
      {128, 2, {0x80, 0x01}},
      {300, 2, {0xac, 0x02}},
      {16384, 3, {0x80, 0x80, 0x01}},
      {UINT64_MAX, 10, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}},
  };
  for (int in_place = 0; in_place < 2; in_place++)
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
      mw_buf b;
      mw__buf_init(&b, 64);
      if (in_place) assert_non_null(mw__buf_reserve(&b, 32));
      assert_int_equal(mw__buf_adds(&b, "x"), MW_OK);
      assert_int_equal(mw__buf_uvarint(&b, cases[i].v), MW_OK);
      assert_int_equal(b.len, 1 + cases[i].n);
      assert_memory_equal(b.data + 1, cases[i].bytes, cases[i].n);
      assert_int_equal(b.data[b.len], 0);
      mw__buf_free(&b);
    }
  mw_buf b;
  mw__buf_init(&b, 4);
  assert_int_equal(mw__buf_uvarint(&b, 300), MW_OK);
  assert_int_equal(mw__buf_uvarint(&b, 16384), MW_ETOOBIG);
  assert_int_equal(mw__buf_uvarint(&b, 1), MW_ETOOBIG);
  assert_int_equal(b.len, 0);
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
      cmocka_unit_test(test_uvarint),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
