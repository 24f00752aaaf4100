/* Shared helpers for the libFuzzer targets in this directory (see README.md).
 * Each target builds one fresh arena per input, bounded like a request's, and
 * frees it before returning: nothing is carried from one input to the next. */
#ifndef MW_FUZZ_COMMON_H
#define MW_FUZZ_COMMON_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/error.h"

/* The bound of each input's arena: what one request may take. */
#define FUZZ_ARENA_MAX ((size_t)64 << 20)

/* A broken invariant is a finding: print it and abort, so that libFuzzer
 * saves the input as a crash. */
#define FUZZ_CHECK(cond)                                                                                               \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      fprintf(stderr, "%s:%d: fuzz check failed: %s\n", __FILE__, __LINE__, #cond);                                    \
      abort();                                                                                                         \
    }                                                                                                                  \
  } while (0)

/* Reads a whole string, so that ASan sees a dangling or unterminated one. */
static inline size_t fuzz_touch(const char *s) { return s ? strlen(s) : 0; }

/* Reads n bytes, for the same reason (the sum is only there to use them). */
static inline unsigned fuzz_touch_bytes(const void *p, size_t n) {
  const volatile unsigned char *b = p;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) sum += b[i];
  return sum;
}

/* A fresh, NUL-terminated copy of the input (malloc'd: ASan guards its end). */
static inline char *fuzz_strndup(const uint8_t *data, size_t size) {
  char *s = malloc(size + 1);
  if (!s) abort();
  if (size) memcpy(s, data, size);
  s[size] = '\0';
  return s;
}

static inline mw_arena *fuzz_arena(void) {
  mw_arena *a = mw__arena_new(FUZZ_ARENA_MAX);
  if (!a) abort();
  return a;
}

/* libFuzzer's entry point, declared for -Wmissing-prototypes. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
