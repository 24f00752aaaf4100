/* Logging (see log.h). Lines are assembled in a stack buffer and written with a
 * single write(2) so that lines from different threads never interleave. */
#include "core/log.h"
#include "core/error.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic int log_level = MW_LOG_INFO;
static const char *const level_names[] = {"debug", "info", "warn", "error"};

void mw__log_set_level(enum mw__log_level level) { atomic_store(&log_level, (int)level); }

int mw__log_parse_level(const char *s, enum mw__log_level *out) {
  for (int i = 0; i < 4; i++) {
    if (strcmp(s, level_names[i]) == 0) {
      *out = (enum mw__log_level)i;
      return MW_OK;
    }
  }
  return MW_EINVAL;
}

void mw__log(enum mw__log_level level, const char *msg, const char *fmt, ...) {
  if ((int)level < atomic_load(&log_level)) return;
  char line[2048];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  size_t n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
  int w = snprintf(line + n, sizeof line - n, ".%03ldZ level=%s msg=\"", ts.tv_nsec / 1000000, level_names[level]);
  n += (size_t)w;
  for (const char *p = msg; *p && n < sizeof line - 8; p++) {
    if (*p == '"' || *p == '\\') line[n++] = '\\';
    line[n++] = *p;
  }
  line[n++] = '"';
  if (fmt && n < sizeof line - 2) {
    line[n++] = ' ';
    /* the fields may hold what a client sent (a service name may be any UTF-8 but
     * NUL): control characters are escaped, so that one record stays one line and
     * a value cannot forge another (a newline then "level=error ...") */
    char kv[sizeof line];
    va_list ap;
    va_start(ap, fmt);
    w = vsnprintf(kv, sizeof kv, fmt, ap);
    va_end(ap);
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; w > 0 && i < w && (size_t)i < sizeof kv - 1 && n < sizeof line - 5; i++) {
      unsigned char c = (unsigned char)kv[i];
      if (c >= 0x20 && c != 0x7f) {
        line[n++] = (char)c;
      } else if (c == '\n' || c == '\r' || c == '\t') {
        line[n++] = '\\';
        line[n++] = c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
      } else {
        line[n++] = '\\';
        line[n++] = 'x';
        line[n++] = hex[c >> 4];
        line[n++] = hex[c & 15];
      }
    }
  }
  line[n++] = '\n';
  ssize_t rc = write(STDERR_FILENO, line, n);
  (void)rc;
}
