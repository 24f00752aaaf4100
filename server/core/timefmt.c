/* Times and durations (see timefmt.h). */
#include "core/timefmt.h"
#include "core/error.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int64_t mw__now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t mw__mono_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Reads a decimal number with an optional fraction; returns chars consumed, 0 on none. */
static size_t read_decimal(const char *s, double *out) {
  size_t i = 0, digits = 0;
  double v = 0;
  while (isdigit((unsigned char)s[i])) v = v * 10 + (s[i++] - '0'), digits++;
  if (s[i] == '.') {
    double scale = 0.1;
    i++;
    while (isdigit((unsigned char)s[i])) v += (s[i++] - '0') * scale, scale /= 10, digits++;
  }
  if (!digits) return 0;
  *out = v;
  return i;
}

int mw__parse_duration(const char *s, int64_t *out_ns) {
  static const struct { const char *unit; double ns; } units[] = {
      {"ns", 1}, {"us", 1e3}, {"\xc2\xb5s", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}};
  if (!s || !*s) return MW_EINVAL;
  char *end;
  long long whole = strtoll(s, &end, 10);
  if (*end == '\0' && isdigit((unsigned char)s[0])) { /* bare integer: nanoseconds */
    *out_ns = whole;
    return MW_OK;
  }
  double total = 0;
  const char *p = s;
  while (*p) {
    double v;
    size_t n = read_decimal(p, &v);
    if (!n) return MW_EINVAL;
    p += n;
    size_t best = 0;
    double mult = 0;
    for (size_t u = 0; u < sizeof units / sizeof units[0]; u++) {
      size_t ul = strlen(units[u].unit);
      if (strncmp(p, units[u].unit, ul) == 0 && ul > best) best = ul, mult = units[u].ns;
    }
    if (!best) return MW_EINVAL;
    p += best;
    total += v * mult;
  }
  if (total > 9.2e18) return MW_EINVAL;
  *out_ns = (int64_t)(total + 0.5);
  return MW_OK;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, int m, int d) {
  y -= m <= 2;
  int64_t era = (y >= 0 ? y : y - 399) / 400;
  int64_t yoe = y - era * 400;
  int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

int mw__parse_time(const char *s, int64_t *out_ns) {
  if (!s || !*s) return MW_EINVAL;
  int y, mo, d, h, mi, sec, n = 0;
  if (sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &n) == 6 && n == 19) {
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60) return MW_EINVAL;
    const char *p = s + n;
    int64_t frac = 0;
    if (*p == '.') {
      int64_t scale = 100000000;
      p++;
      if (!isdigit((unsigned char)*p)) return MW_EINVAL;
      while (isdigit((unsigned char)*p)) {
        frac += (*p++ - '0') * scale;
        scale /= 10;
      }
    }
    int64_t offset = 0;
    if (*p == 'Z' || *p == 'z') {
      p++;
    } else if (*p == '+' || *p == '-') {
      int oh, om, m2 = 0;
      if (sscanf(p + 1, "%2d:%2d%n", &oh, &om, &m2) != 2 || m2 != 5) return MW_EINVAL;
      offset = (int64_t)(oh * 3600 + om * 60) * (*p == '-' ? -1 : 1);
      p += 6;
    } else {
      return MW_EINVAL;
    }
    if (*p) return MW_EINVAL;
    int64_t secs = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - offset;
    /* unix nanoseconds in an int64 reach from 1677 to 2262 */
    if (secs < -9223372035LL || secs > 9223372035LL) return MW_EINVAL;
    *out_ns = secs * 1000000000 + frac;
    return MW_OK;
  }
  double v;
  size_t len = read_decimal(s, &v);
  if (!len || s[len]) return MW_EINVAL;
  char *end;
  long long whole = strtoll(s, &end, 10);
  if (*end == '\0' && len >= 16) { /* so many digits can only be unix nanoseconds */
    *out_ns = whole;
    return MW_OK;
  }
  if (v > 9.2e9) return MW_EINVAL;
  if (*end == '\0') {
    *out_ns = (int64_t)whole * 1000000000;
  } else {
    *out_ns = (int64_t)(v * 1e9 + 0.5);
  }
  return MW_OK;
}

void mw__format_time(char *out, size_t size, int64_t ns) {
  time_t secs = (time_t)(ns / 1000000000);
  long frac = (long)(ns % 1000000000);
  if (frac < 0) frac += 1000000000, secs--;
  struct tm tm;
  gmtime_r(&secs, &tm);
  char date[32];
  strftime(date, sizeof date, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(out, size, "%s.%09ldZ", date, frac);
}
