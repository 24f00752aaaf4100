/* Unit tests for http/uri.c: the request-line URI checks. The cases are
 * written from what a request line may carry (RFC 3986 and the limits in
 * docs/API.md), each with the verdict a reader of those expects. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "http/uri.h"

static enum mw_uri_verdict check(const char *uri, size_t *params) {
  size_t dummy;
  return mw__uri_check(uri, params ? params : &dummy);
}

static void test_plain_uris_pass(void **state) {
  (void)state;
  size_t n;
  assert_int_equal(check(NULL, &n), MW_URI_OK);
  assert_int_equal(n, 0);
  assert_int_equal(check("/", &n), MW_URI_OK);
  assert_int_equal(check("/api/traces/0123456789abcdef0123456789abcdef", &n), MW_URI_OK);
  assert_int_equal(n, 0);
  assert_int_equal(check("/api/search?service=a%20b&name=GET+%2Fx&limit=20", &n), MW_URI_OK);
  assert_int_equal(n, 3);
  assert_int_equal(check("/api/v1/services?", &n), MW_URI_OK); /* an empty query has no parameter */
  assert_int_equal(n, 0);
  /* an escape that is not one is left as it is, as libmicrohttpd does */
  assert_int_equal(check("/x%zz%4", NULL), MW_URI_OK);
  assert_int_equal(check("/x%", NULL), MW_URI_OK);
  /* bytes beyond ASCII (UTF-8) are not control characters */
  assert_int_equal(check("/caf\xc3\xa9?q=\xc3\xa9", NULL), MW_URI_OK);
}

static void test_control_characters_in_the_path(void **state) {
  (void)state;
  const char *bad[] = {"/api/traces/00%00", "/x%0a", "/x%0D", "/x%7f", "/x%1B[31m", "/x\x01y", "/a b", "/x\t"};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    size_t n;
    assert_int_equal(check(bad[i], &n), MW_URI_BAD_PATH);
  }
  /* the same escape in the query is only refused when it is a NUL */
  assert_int_equal(check("/x?name=a%0ab", NULL), MW_URI_OK);
  assert_int_equal(check("/x?name=a%00b", NULL), MW_URI_BAD_QUERY);
  assert_int_equal(check("/x?a%00=1", NULL), MW_URI_BAD_QUERY);
  assert_int_equal(check("/x?name=a b", NULL), MW_URI_BAD_QUERY);
  assert_int_equal(check("/x?name=a\x02", NULL), MW_URI_BAD_QUERY);
}

static void test_parameter_count(void **state) {
  (void)state;
  char uri[MW_MAX_URI_BYTES + 64];
  size_t n;
  /* 64 parameters pass, 65 do not */
  for (int want = 64; want <= 65; want++) {
    int len = snprintf(uri, sizeof uri, "/api/search?");
    for (int i = 0; i < want; i++) len += snprintf(uri + len, sizeof uri - (size_t)len, "%sp%d=1", i ? "&" : "", i);
    assert_int_equal(check(uri, &n), want == 64 ? MW_URI_OK : MW_URI_TOO_MANY_PARAMS);
    assert_int_equal(n, (size_t)want);
  }
  /* empty pieces count: libmicrohttpd makes a parameter of each */
  assert_int_equal(check("/x?&&&", &n), MW_URI_OK);
  assert_int_equal(n, 4);
}

static void test_length(void **state) {
  (void)state;
  char uri[MW_MAX_URI_BYTES + 2];
  memset(uri, 'a', sizeof uri - 1);
  uri[0] = '/';
  uri[MW_MAX_URI_BYTES] = '\0'; /* exactly the limit */
  assert_int_equal(check(uri, NULL), MW_URI_OK);
  uri[MW_MAX_URI_BYTES] = 'a';
  uri[MW_MAX_URI_BYTES + 1] = '\0';
  assert_int_equal(check(uri, NULL), MW_URI_TOO_LONG);
  uri[10] = '?'; /* the query counts too */
  assert_int_equal(check(uri, NULL), MW_URI_TOO_LONG);
}

static void test_bad_param_is_named(void **state) {
  (void)state;
  char name[8];
  mw__uri_bad_param("/api/v1/ingest/cpu?time=5&service=a%00b", name, sizeof name);
  assert_string_equal(name, "service");
  mw__uri_bad_param("/x?a=1&b%00c=2", name, sizeof name); /* in the name itself */
  assert_string_equal(name, "b%00c");
  mw__uri_bad_param("/x?instance=\x01", name, sizeof name); /* cut to fit */
  assert_string_equal(name, "instanc");
  mw__uri_bad_param("/x?a=1", name, sizeof name);
  assert_string_equal(name, "");
  mw__uri_bad_param("/x%00", name, sizeof name); /* the path is not a parameter */
  assert_string_equal(name, "");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_plain_uris_pass),    cmocka_unit_test(test_control_characters_in_the_path),
      cmocka_unit_test(test_parameter_count),    cmocka_unit_test(test_length),
      cmocka_unit_test(test_bad_param_is_named),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
