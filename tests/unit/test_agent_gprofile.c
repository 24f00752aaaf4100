/* Tests for the agent's reading of a goroutine profile (client/agent/gprofile.c):
 * the goroutine count (the sum of the samples' values) and the profile's own
 * time, which places the snapshot. On the real Go 1.26 and 1.27 captures in
 * tests/data; the expected figures were read with `go tool pprof -raw`
 * (its "Time:" line, and the sum of the sample counts), not with this code. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "agent.h"

static uint8_t *read_capture(const char *name, size_t *len) {
  return (uint8_t *)mw_test_slurp(len, "%s/%s", MW_TEST_DATA, name);
}

static void check(const char *name, uint64_t want_total, int64_t want_ns) {
  size_t len;
  uint8_t *body = read_capture(name, &len);
  uint64_t total = 0;
  int64_t t = 0;
  assert_int_equal(agent_goroutine_total(body, len, &total, &t), 0);
  assert_int_equal(total, want_total);
  assert_int_equal(t, want_ns);
  free(body);
}

static void test_go126(void **state) {
  (void)state;
  check("go1.26/goroutines.pb.gz", 40, 1796481397750854001LL);     /* 14:36:37.750854001 */
  check("go1.26/sdk-goroutines.pb.gz", 68, 1796484305328543950LL); /* 15:25:05.32854395 */
}

static void test_go127(void **state) {
  (void)state;
  check("go1.27/goroutines.pb.gz", 40, 1796481407898506919LL); /* 14:36:47.898506919 */
}

/* The same bytes, not gzip'd: the runtime writes gzip, a proxy may not. */
static void test_plain(void **state) {
  (void)state;
  size_t len;
  uint8_t *gz = read_capture("go1.26/goroutines.pb.gz", &len);
  z_stream z;
  memset(&z, 0, sizeof z);
  assert_int_equal(inflateInit2(&z, 16 + MAX_WBITS), Z_OK);
  uint8_t out[1 << 16];
  z.next_in = gz;
  z.avail_in = (uInt)len;
  z.next_out = out;
  z.avail_out = sizeof out;
  assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
  size_t n = sizeof out - z.avail_out;
  inflateEnd(&z);
  uint64_t total = 0;
  int64_t t = 0;
  assert_int_equal(agent_goroutine_total(out, n, &total, &t), 0);
  assert_int_equal(total, 40);
  assert_int_equal(t, 1796481397750854001LL);
  /* cut short: not a profile */
  assert_int_equal(agent_goroutine_total(out, n / 2 + 1, &total, &t) == 0 && total == 40, 0);
  free(gz);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_go126),
      cmocka_unit_test(test_go127),
      cmocka_unit_test(test_plain),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
