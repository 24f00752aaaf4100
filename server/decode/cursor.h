/* A cursor over one line of runtime text, shared by the gctrace and
 * schedtrace parsers: match a literal, read a bounded decimal. */
#ifndef MW_DECODE_CURSOR_H
#define MW_DECODE_CURSOR_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* In a parser with a cursor `c` and out-parameters `why` and `at`: fails the
 * line with MW_EINVAL (core/error.h), saying why and where, unless cond. */
#define EXPECT(cond, msg)                                                                                              \
  do {                                                                                                                 \
    if (!(cond)) {                                                                                                     \
      *why = (msg);                                                                                                    \
      *at = c.i;                                                                                                       \
      return MW_EINVAL;                                                                                                \
    }                                                                                                                  \
  } while (0)

typedef struct cur {
  const char *s;
  size_t i, n;
} cur;

/* Consumes lit if the text continues with it; returns 1 then, else 0. */
static inline int cur_eat(cur *c, const char *lit) {
  size_t m = strlen(lit);
  if (c->n - c->i < m || memcmp(c->s + c->i, lit, m) != 0) return 0;
  c->i += m;
  return 1;
}

static inline int cur_is_digit(char ch) { return ch >= '0' && ch <= '9'; }

/* A decimal of at most maxd digits (so that it cannot overflow int64). */
static inline int cur_num(cur *c, int maxd, int64_t *v) {
  size_t k = 0;
  int64_t x = 0;
  while (c->i + k < c->n && cur_is_digit(c->s[c->i + k])) {
    if ((int)k == maxd) return 0;
    x = x * 10 + (c->s[c->i + k] - '0');
    k++;
  }
  if (k == 0) return 0;
  c->i += k;
  *v = x;
  return 1;
}

#endif
