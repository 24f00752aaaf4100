/* When to try again: the retry rules and the backoff of libmeanwhile, and the
 * clocks they run on. Kept apart from the transport so that unit tests can
 * check the numbers without a network. */
#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "client_int.h"

int64_t mw__client_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t mw__client_real_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void mw__client_sleep_ms(long ms) {
  if (ms <= 0) return;
  struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
  while (nanosleep(&ts, &ts) && errno == EINTR) {
  }
}

int mw__client_retryable(long status) { return status == 429 || status == 502 || status == 503 || status == 504; }

static uint64_t xorshift64(uint64_t *s) {
  uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;
  x ^= x << 13;
  x ^= x >> 7;
  x ^= x << 17;
  *s = x;
  return x;
}

long mw__client_backoff_ms(int failures, long initial, long max, long retry_after_ms, uint64_t *rng) {
  if (initial < 1) initial = 1;
  if (max < initial) max = initial;
  long d = initial;
  for (int i = 1; i < failures && d < max; i++) d = d > max / 2 ? max : d * 2;
  if (d > max) d = max;
  /* equal jitter: never less than half the step, so a herd of agents that
   * lost the collector together spreads out without hammering it early */
  long half = d / 2;
  long wait = d - half + (half > 0 ? (long)(xorshift64(rng) % (uint64_t)(half + 1)) : 0);
  if (retry_after_ms > wait) wait = retry_after_ms;
  return wait > max ? max : wait;
}

void mw__payload_clear(mw__payload *p) {
  free(p->target);
  free(p->body);
  p->target = NULL;
  p->body = NULL;
  p->len = 0;
  p->kind[0] = p->ctype[0] = p->encoding[0] = '\0';
  p->created_ns = 0;
}
