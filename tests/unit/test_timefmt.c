/* Unit tests for core/timefmt.c: the grammar of time and duration parameters,
 * which every query and ingest endpoint shares. Expected nanoseconds are
 * worked out by hand (2026-11-22T08:09:00Z = 20414 days * 86400 + 29340 s,
 * checked with `date -u -d @1795334940`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "core/error.h"
#include "core/timefmt.h"

static int64_t t_ok(const char *s) {
  int64_t v = -1;
  int rc = mw__parse_time(s, &v);
  if (rc != MW_OK) fail_msg("parse_time(\"%s\") refused", s);
  return v;
}

static void t_bad(const char *s) {
  int64_t v = 12345;
  if (mw__parse_time(s, &v) == MW_OK) fail_msg("parse_time(\"%s\") accepted as %lld", s, (long long)v);
}

static int64_t d_ok(const char *s) {
  int64_t v = -1;
  if (mw__parse_duration(s, &v) != MW_OK) fail_msg("parse_duration(\"%s\") refused", s);
  return v;
}

static void d_bad(const char *s) {
  int64_t v = 12345;
  if (mw__parse_duration(s, &v) == MW_OK) fail_msg("parse_duration(\"%s\") accepted as %lld", s, (long long)v);
}

static int64_t n_ok(const char *s) {
  int64_t v = -1;
  if (mw__parse_ns(s, &v) != MW_OK) fail_msg("parse_ns(\"%s\") refused", s);
  return v;
}

static void n_bad(const char *s) {
  int64_t v = 12345;
  if (mw__parse_ns(s, &v) == MW_OK) fail_msg("parse_ns(\"%s\") accepted as %lld", s, (long long)v);
}

static void test_time_forms(void **state) {
  (void)state;
  assert_int_equal(t_ok("1795334940"), 1795334940000000000LL);    /* unix seconds */
  assert_int_equal(t_ok("1795334940.25"), 1795334940250000000LL); /* with a fraction */
  assert_int_equal(t_ok("0"), 0);
  assert_int_equal(t_ok("1795334940123456789"), 1795334940123456789LL); /* 16+ digits: ns */
  assert_int_equal(t_ok("1000000000000000"), 1000000000000000LL);       /* exactly 16 digits */
  assert_int_equal(t_ok("2026-11-22T08:09:00Z"), 1795334940000000000LL);
  assert_int_equal(t_ok("2026-11-22t08:09:00z"), 1795334940000000000LL);
  assert_int_equal(t_ok("2026-11-22T08:09:00.5Z"), 1795334940500000000LL);
  assert_int_equal(t_ok("2026-11-22T09:09:00+01:00"), 1795334940000000000LL);
  assert_int_equal(t_ok("2026-11-22T07:39:00-00:30"), 1795334940000000000LL);
  /* digits past nanoseconds are cut, not rounded */
  assert_int_equal(t_ok("2026-11-22T08:09:00.1234567899Z"), 1795334940123456789LL);
  /* the largest second an int64 of ns holds, and the largest ns */
  assert_int_equal(t_ok("9223372036"), 9223372036000000000LL);
  assert_int_equal(t_ok("9223372036854775807"), INT64_MAX);
}

static void test_time_refusals(void **state) {
  (void)state;
  t_bad("");
  t_bad(" 5"); /* no spaces */
  t_bad("5 ");
  t_bad("+5"); /* no signs */
  t_bad("-5");
  t_bad("9300000000"); /* seconds past 2262 */
  t_bad("9223372037");
  t_bad("99999999999999999999"); /* 20 digits: past INT64_MAX, not clamped */
  t_bad("9223372036854775808");
  t_bad("1."); /* a point needs digits on both sides */
  t_bad(".5");
  t_bad("1e9");
  t_bad("0x10");
  t_bad("2026-11-22");           /* a date alone */
  t_bad("2026-11-22T08:09:00");  /* no offset */
  t_bad("2026-13-01T00:00:00Z"); /* month 13 */
  t_bad("2026-02-30T00:00:00Z"); /* February has no 30th */
  t_bad("2026-11-22T24:00:00Z");
  t_bad("2026-+1-22T08:09:00Z");     /* a sign inside a field */
  t_bad("2026-11-22T 8:09:00Z");     /* a space inside a field */
  t_bad("2026-11-22T08:09:00.Z");    /* a point without digits */
  t_bad("2026-11-22T08:09:00+1:00"); /* offset must be hh:mm */
  t_bad("2026-11-22T08:09:00+24:00");
  t_bad("2026-11-22T08:09:00Zjunk");
  t_bad("2262-04-12T00:00:00Z"); /* past the int64 range */
}

static void test_duration_forms(void **state) {
  (void)state;
  assert_int_equal(d_ok("250ms"), 250000000);
  assert_int_equal(d_ok("1.5s"), 1500000000);
  assert_int_equal(d_ok("2m"), 120000000000LL);
  assert_int_equal(d_ok("1h30m"), 5400000000000LL);
  assert_int_equal(d_ok("800us"), 800000);
  assert_int_equal(d_ok("800\xc2\xb5s"), 800000); /* micro sign */
  assert_int_equal(d_ok("800\xce\xbcs"), 800000); /* Greek mu, as Go accepts too */
  assert_int_equal(d_ok("100ns"), 100);
  assert_int_equal(d_ok("0"), 0); /* as in Go, 0 needs no unit */
  assert_int_equal(d_ok("0.000000001s"), 1);
  assert_int_equal(d_ok(".5s"), 500000000); /* Go's grammar allows either side empty */
  assert_int_equal(d_ok("1.s"), 1000000000);
  assert_int_equal(d_ok("2562047h"), 9223369200000000000LL);
  assert_int_equal(d_ok("9223372036854775807ns"), INT64_MAX);
}

static void test_duration_refusals(void **state) {
  (void)state;
  d_bad("");
  d_bad("1"); /* a number without a unit */
  d_bad("150");
  d_bad("-1s"); /* no signs */
  d_bad("+1s");
  d_bad(" 1s");
  d_bad("1s ");
  d_bad("1 s");
  d_bad("s");
  d_bad(".s");
  d_bad("1d"); /* Go has no days */
  d_bad("5parsecs");
  d_bad("2562048h"); /* past INT64_MAX ns */
  d_bad("9223372036854775808ns");
  d_bad("99999999999999999999999h");
}

static void test_ns_counts(void **state) {
  (void)state;
  assert_int_equal(n_ok("0"), 0);
  assert_int_equal(n_ok("5"), 5);
  assert_int_equal(n_ok("1795334476463613272"), 1795334476463613272LL);
  assert_int_equal(n_ok("9223372036854775807"), INT64_MAX);
  n_bad("");
  n_bad("+5");
  n_bad(" 5");
  n_bad("5 ");
  n_bad("-5");
  n_bad("5s");
  n_bad("1.5");
  n_bad("9223372036854775808");
  n_bad("99999999999999999999");
}

static void test_format_duration(void **state) {
  (void)state;
  static const struct {
    int64_t ns;
    const char *want;
  } cases[] = {{7 * 86400000000000LL, "7d"},
               {3600000000000LL, "1h"},
               {48 * 3600000000000LL, "2d"},
               {90000000000LL, "90s"},
               {250000000, "250ms"},
               {1500, "1500ns"},
               {0, "0ns"}};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
    char b[32];
    mw__format_duration(b, sizeof b, cases[i].ns);
    assert_string_equal(b, cases[i].want);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_time_forms),     cmocka_unit_test(test_time_refusals),
      cmocka_unit_test(test_duration_forms), cmocka_unit_test(test_duration_refusals),
      cmocka_unit_test(test_ns_counts),      cmocka_unit_test(test_format_duration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
