/* Logging: one line per event, logfmt, to stderr:
 *   2026-11-22T08:09:00.123Z level=info msg="listening" addr=127.0.0.1:4318
 * Thread-safe (one write(2) per line). */
#ifndef MW_CORE_LOG_H
#define MW_CORE_LOG_H

enum mw__log_level { MW_LOG_DEBUG, MW_LOG_INFO, MW_LOG_WARN, MW_LOG_ERROR };

void mw__log_set_level(enum mw__log_level level);
/* Parses "debug", "info", "warn" or "error"; returns 0 or MW_EINVAL. */
int mw__log_parse_level(const char *s, enum mw__log_level *out);
/* msg is quoted for you; fmt (may be NULL) adds " key=value..." fields. */
void mw__log(enum mw__log_level level, const char *msg, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#define mw__debug(...) mw__log(MW_LOG_DEBUG, __VA_ARGS__)
#define mw__info(...) mw__log(MW_LOG_INFO, __VA_ARGS__)
#define mw__warn(...) mw__log(MW_LOG_WARN, __VA_ARGS__)
#define mw__error(...) mw__log(MW_LOG_ERROR, __VA_ARGS__)

#endif
