/* Reading a test's fixture file whole: the one helper the unit tests share.
 * Include after <cmocka.h>. */
#ifndef MW_TEST_DATA_H
#define MW_TEST_DATA_H
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

/* The file at the printf-formatted path, whole and NUL-terminated (one byte
 * past *len), malloc'd; fails the test when it is missing or empty. */
__attribute__((format(printf, 2, 3))) static inline char *mw_test_slurp(size_t *len, const char *fmt, ...) {
  char path[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(path, sizeof path, fmt, ap);
  va_end(ap);
  FILE *f = fopen(path, "rb");
  if (!f) fail_msg("cannot open %s", path);
  assert_int_equal(fseek(f, 0, SEEK_END), 0);
  long n = ftell(f);
  if (n <= 0) fail_msg("%s is empty", path);
  rewind(f);
  char *buf = malloc((size_t)n + 1);
  assert_non_null(buf);
  assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
  buf[n] = '\0';
  fclose(f);
  *len = (size_t)n;
  return buf;
}

#endif
