/* Times and durations (see timefmt.h). */
#include "core/timefmt.h"
#include "core/error.h"

#include <stdio.h>
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

/* Reads a run of decimal digits at s as an unsigned number; returns the count
 * of digits, with *overflow set when the value passes max (*out is then max). */
static size_t read_digits(const char *s, uint64_t max, uint64_t *out, int *overflow) {
  size_t i = 0;
  uint64_t v = 0;
  *overflow = 0;
  for (; s[i] >= '0' && s[i] <= '9'; i++) {
    unsigned d = (unsigned)(s[i] - '0');
    if (v > (max - d) / 10) *overflow = 1, v = max;
    else if (!*overflow) v = v * 10 + d;
  }
  *out = v;
  return i;
}

int mw__parse_ns(const char *s, int64_t *out_ns) {
  uint64_t v;
  int over;
  if (!s) return MW_EINVAL;
  size_t n = read_digits(s, INT64_MAX, &v, &over);
  if (n == 0 || s[n] || over) return MW_EINVAL;
  *out_ns = (int64_t)v;
  return MW_OK;
}

/* The units of a Go duration, longest spelling first where one is a prefix
 * of another ("ms" before "m"). */
static const struct {
  const char *name;
  uint64_t ns;
} units[] = {{"ns", 1},       {"us", 1000},      {"\xc2\xb5s", 1000},   {"\xce\xbcs", 1000},
             {"ms", 1000000}, {"s", 1000000000}, {"m", 60000000000ULL}, {"h", 3600000000000ULL}};

int mw__parse_duration(const char *s, int64_t *out_ns) {
  if (!s || !*s) return MW_EINVAL;
  if (strcmp(s, "0") == 0) {
    *out_ns = 0;
    return MW_OK;
  }
  uint64_t total = 0;
  const char *p = s;
  while (*p) {
    uint64_t whole, frac = 0, scale = 1;
    int over;
    size_t nw = read_digits(p, INT64_MAX, &whole, &over), nf = 0;
    if (over) return MW_EINVAL;
    p += nw;
    if (*p == '.') {
      p++;
      /* 18 digits are finer than 1 ns in every unit: the rest are cut */
      for (; *p >= '0' && *p <= '9'; p++, nf++)
        if (nf < 18) frac = frac * 10 + (uint64_t)(*p - '0'), scale *= 10;
    }
    if (nw + nf == 0) return MW_EINVAL;
    size_t u = 0;
    while (u < sizeof units / sizeof units[0] && strncmp(p, units[u].name, strlen(units[u].name)) != 0) u++;
    if (u == sizeof units / sizeof units[0]) return MW_EINVAL;
    p += strlen(units[u].name);
    uint64_t ns;
    if (__builtin_mul_overflow(whole, units[u].ns, &ns)) return MW_EINVAL;
    /* the fraction of the unit, in ns, cut to whole ns (frac < 10^18 and a
     * unit < 2^42 make a product past 64 bits) */
    uint64_t f = (uint64_t)((unsigned __int128)frac * units[u].ns / scale);
    if (__builtin_add_overflow(ns, f, &ns) || __builtin_add_overflow(total, ns, &total) || total > INT64_MAX)
      return MW_EINVAL;
  }
  *out_ns = (int64_t)total;
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

static int days_in_month(int y, int m) {
  static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return days[m - 1] + (m == 2 && leap);
}

/* Exactly n digits at s (no sign, no space, as RFC 3339 writes them). */
static int fixed(const char *s, int n, int *out) {
  int v = 0;
  for (int i = 0; i < n; i++) {
    if (s[i] < '0' || s[i] > '9') return -1;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return 0;
}

/* RFC 3339: YYYY-MM-DDTHH:MM:SS[.frac](Z|+hh:mm|-hh:mm), T and Z in either case. */
static int parse_rfc3339(const char *s, int64_t *out_ns) {
  int y, mo, d, h, mi, sec;
  if (fixed(s, 4, &y) || s[4] != '-' || fixed(s + 5, 2, &mo) || s[7] != '-' || fixed(s + 8, 2, &d) ||
      (s[10] != 'T' && s[10] != 't') || fixed(s + 11, 2, &h) || s[13] != ':' || fixed(s + 14, 2, &mi) || s[16] != ':' ||
      fixed(s + 17, 2, &sec))
    return MW_EINVAL;
  if (mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60) return MW_EINVAL;
  const char *p = s + 19;
  int64_t frac = 0;
  if (*p == '.') {
    int64_t scale = 100000000;
    p++;
    if (*p < '0' || *p > '9') return MW_EINVAL;
    for (; *p >= '0' && *p <= '9'; p++, scale /= 10) frac += (*p - '0') * scale;
  }
  int64_t offset = 0;
  if (*p == 'Z' || *p == 'z') {
    p++;
  } else if (*p == '+' || *p == '-') {
    int oh, om;
    if (fixed(p + 1, 2, &oh) || p[3] != ':' || fixed(p + 4, 2, &om) || oh > 23 || om > 59) return MW_EINVAL;
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

int mw__parse_time(const char *s, int64_t *out_ns) {
  if (!s || !*s) return MW_EINVAL;
  if (strlen(s) >= 20 && s[4] == '-') return parse_rfc3339(s, out_ns);
  uint64_t whole;
  int over;
  size_t n = read_digits(s, INT64_MAX, &whole, &over);
  if (n == 0 || over) return MW_EINVAL;
  if (!s[n] && n >= 16) { /* so many digits can only be unix nanoseconds */
    *out_ns = (int64_t)whole;
    return MW_OK;
  }
  if (whole > INT64_MAX / 1000000000) return MW_EINVAL;
  int64_t ns = (int64_t)whole * 1000000000;
  if (s[n] == '.') { /* fractional seconds: digits past the nanosecond are cut */
    const char *p = s + n + 1;
    if (*p < '0' || *p > '9') return MW_EINVAL;
    int64_t frac = 0, scale = 100000000;
    for (; *p >= '0' && *p <= '9'; p++, scale /= 10) frac += (*p - '0') * scale;
    if (*p || ns > INT64_MAX - frac) return MW_EINVAL;
    ns += frac;
  } else if (s[n]) {
    return MW_EINVAL;
  }
  *out_ns = ns;
  return MW_OK;
}

void mw__format_duration(char *out, size_t size, int64_t ns) {
  static const struct {
    const char *unit;
    int64_t ns;
  } whole[] = {{"d", 86400000000000LL}, {"h", 3600000000000LL}, {"m", 60000000000LL},
               {"s", 1000000000},       {"ms", 1000000},        {"us", 1000}};
  for (size_t i = 0; i < sizeof whole / sizeof whole[0]; i++)
    if (ns != 0 && ns % whole[i].ns == 0) {
      snprintf(out, size, "%lld%s", (long long)(ns / whole[i].ns), whole[i].unit);
      return;
    }
  snprintf(out, size, "%lldns", (long long)ns);
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
