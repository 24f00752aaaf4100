/* Parsing and printing of times and durations for query parameters and logs.
 * Times inside are unix nanoseconds (int64). */
#ifndef MW_CORE_TIMEFMT_H
#define MW_CORE_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>

/* Go-style duration: "250ms", "1.5s", "2m", "1h30m", "800us", "100ns", or a bare
 * integer meaning nanoseconds. Returns 0 or MW_EINVAL. */
int mw__parse_duration(const char *s, int64_t *out_ns);
/* A point in time: unix seconds (integer or fractional), unix nanoseconds (an
 * integer of 16 digits or more), or RFC 3339
 * ("2026-11-22T08:09:00Z", "2026-11-22T08:09:00.5+01:00"). Returns 0 or MW_EINVAL. */
int mw__parse_time(const char *s, int64_t *out_ns);
/* Writes RFC 3339 UTC with nanoseconds into out (>= 36 bytes). */
void mw__format_time(char *out, size_t size, int64_t ns);
/* CLOCK_REALTIME in unix ns; CLOCK_MONOTONIC in ns. */
int64_t mw__now_ns(void);
int64_t mw__mono_ns(void);

#endif
