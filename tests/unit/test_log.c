/* core/log.c: one record is one line, whatever its fields hold. A field may carry what a
 * client sent (a service name is any UTF-8 but NUL): a newline in it once split the record,
 * and so could forge a line such as "level=error ..." (found by the API fuzz,
 * tests/openapi/fuzz.test.mjs, through a source link's log line). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

static FILE *tmp;
static int saved = -1;

/* Sends stderr to a temporary file until captured(). */
static void capture(void) {
  tmp = tmpfile();
  assert_non_null(tmp);
  fflush(stderr);
  saved = dup(STDERR_FILENO);
  assert_true(saved >= 0);
  assert_int_equal(dup2(fileno(tmp), STDERR_FILENO), STDERR_FILENO);
}

/* What was written to stderr since capture(). */
static void captured(char *out, size_t size) {
  assert_int_equal(dup2(saved, STDERR_FILENO), STDERR_FILENO);
  close(saved);
  rewind(tmp);
  size_t n = fread(out, 1, size - 1, tmp);
  out[n] = '\0';
  fclose(tmp);
}

static void test_control_characters_are_escaped(void **state) {
  (void)state;
  char out[4096];
  capture();
  mw__info("learned a source link", "service=\"%s\" source=2",
           "a\n2026-01-01T00:00:00.000Z level=error msg=\"forged\"\r\tb\x01\x7f");
  captured(out, sizeof out);
  /* exactly one line, ending the record */
  assert_non_null(strchr(out, '\n'));
  assert_int_equal(strchr(out, '\n') - out, (long)strlen(out) - 1);
  assert_null(strchr(out, '\r'));
  assert_non_null(
      strstr(out, "service=\"a\\n2026-01-01T00:00:00.000Z level=error msg=\"forged\"\\r\\tb\\x01\\x7f\" source=2\n"));
  assert_non_null(strstr(out, " level=info msg=\"learned a source link\" "));
}

static void test_plain_fields_are_kept(void **state) {
  (void)state;
  char out[4096];
  capture();
  mw__info("listening", "addr=%s", "127.0.0.1:4318 é");
  captured(out, sizeof out);
  assert_non_null(strstr(out, " level=info msg=\"listening\" addr=127.0.0.1:4318 é\n"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_control_characters_are_escaped),
      cmocka_unit_test(test_plain_fields_are_kept),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
