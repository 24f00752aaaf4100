/* Parsing and printing of times and durations for query parameters and logs.
 * Times inside are unix nanoseconds (int64). */
#ifndef MW_CORE_TIMEFMT_H
#define MW_CORE_TIMEFMT_H
#include <stddef.h>
#include <stdint.h>

/* The grammar every endpoint's parameters share (docs/API.md): no signs, no
 * spaces, nothing the result cannot hold exactly; each returns 0, or
 * MW_EINVAL leaving *out_ns untouched. */

/* A Go duration: one or more decimal numbers (a fraction allowed), each with
 * a unit of ns, us (or µs), ms, s, m, h: "250ms", "1.5s", "1h30m". "0" alone
 * needs no unit; any other number without one is refused. At most INT64_MAX ns. */
int mw__parse_duration(const char *s, int64_t *out_ns);
/* A point in time: unix seconds ("1795334940", "1795334940.25"), unix
 * nanoseconds (an integer of 16 digits or more), or RFC 3339
 * ("2026-11-22T08:09:00Z", "2026-11-22T08:09:00.5+01:00"). Only times an int64
 * of ns holds (up to 2262-04-11) are taken; digits past the ns are cut. */
int mw__parse_time(const char *s, int64_t *out_ns);
/* A count of nanoseconds (unix ns for a point in time): decimal digits only,
 * at most INT64_MAX. */
int mw__parse_ns(const char *s, int64_t *out_ns);
/* Writes a duration in its largest whole unit ("7d", "48h", "90s", "250ms",
 * "5ns"), as the flags take it. */
void mw__format_duration(char *out, size_t size, int64_t ns);
/* Writes RFC 3339 UTC with nanoseconds into out (>= 36 bytes). */
void mw__format_time(char *out, size_t size, int64_t ns);
/* CLOCK_REALTIME in unix ns; CLOCK_MONOTONIC in ns. */
int64_t mw__now_ns(void);
int64_t mw__mono_ns(void);

#endif
