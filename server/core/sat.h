/* Saturating int64 arithmetic for values that come from input (timestamps,
 * counts, durations): an absurd input gives an absurd but defined result,
 * never signed overflow. */
#ifndef MW_CORE_SAT_H
#define MW_CORE_SAT_H
#include <stdint.h>

static inline int64_t mw__sat_add(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_add_overflow(a, b, &r)) return b > 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static inline int64_t mw__sat_sub(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_sub_overflow(a, b, &r)) return b < 0 ? INT64_MAX : INT64_MIN;
  return r;
}

static inline int64_t mw__sat_mul(int64_t a, int64_t b) {
  int64_t r;
  if (__builtin_mul_overflow(a, b, &r)) return (a < 0) != (b < 0) ? INT64_MIN : INT64_MAX;
  return r;
}

#endif
