/* Tests for libmeanwhile's retry rules and backoff (client/lib/backoff.c):
 * which answers are retried, and how long the client waits before the next
 * try — exponential from the initial step, jittered within [step/2, step],
 * capped, and never shorter than a Retry-After (itself capped). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "../../client/lib/client_int.h"

static void retryable_statuses(void **state) {
  (void)state;
  const long yes[] = {429, 502, 503, 504};
  const long no[] = {0, 200, 204, 400, 401, 403, 404, 408, 413, 415, 500, 501, 505, 507};
  for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++) assert_true(mw__client_retryable(yes[i]));
  for (size_t i = 0; i < sizeof no / sizeof no[0]; i++) assert_false(mw__client_retryable(no[i]));
}

static void exponential_with_jitter(void **state) {
  (void)state;
  uint64_t rng = 12345;
  for (int round = 0; round < 200; round++) {
    long step = 100;
    for (int f = 1; f <= 12; f++) {
      long w = mw__client_backoff_ms(f, 100, 5000, 0, &rng);
      long expect = step > 5000 ? 5000 : step;
      assert_true(w >= expect / 2);
      assert_true(w <= expect);
      step *= 2;
    }
  }
}

static void jitter_spreads(void **state) {
  (void)state;
  uint64_t rng = 99;
  long lo = 1L << 30, hi = 0;
  for (int i = 0; i < 1000; i++) {
    long w = mw__client_backoff_ms(4, 100, 10000, 0, &rng); /* step 800: [400, 800] */
    if (w < lo) lo = w;
    if (w > hi) hi = w;
  }
  assert_true(lo < 450); /* both ends of the range are reached */
  assert_true(hi > 750);
}

static void capped_without_overflow(void **state) {
  (void)state;
  uint64_t rng = 7;
  for (int f = 30; f < 100000; f *= 3) {
    long w = mw__client_backoff_ms(f, 250, 30000, 0, &rng);
    assert_true(w >= 15000 && w <= 30000);
  }
}

static void retry_after_wins_but_is_capped(void **state) {
  (void)state;
  uint64_t rng = 1;
  long w = mw__client_backoff_ms(1, 100, 30000, 5000, &rng); /* step 100, Retry-After 5 s */
  assert_int_equal(w, 5000);
  w = mw__client_backoff_ms(1, 100, 30000, 120000, &rng); /* Retry-After 2 min: capped */
  assert_int_equal(w, 30000);
  w = mw__client_backoff_ms(10, 100, 30000, 1000, &rng); /* the backoff is already longer */
  assert_true(w >= 15000);
}

static void odd_arguments(void **state) {
  (void)state;
  uint64_t rng = 0; /* a zero state still yields numbers */
  long w = mw__client_backoff_ms(0, 0, 0, 0, &rng);
  assert_true(w >= 0 && w <= 1);
  w = mw__client_backoff_ms(3, 1000, 10, 0, &rng); /* max below initial: initial wins */
  assert_true(w >= 500 && w <= 1000);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(retryable_statuses),
      cmocka_unit_test(exponential_with_jitter),
      cmocka_unit_test(jitter_spreads),
      cmocka_unit_test(capped_without_overflow),
      cmocka_unit_test(retry_after_wins_but_is_capped),
      cmocka_unit_test(odd_arguments),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
