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
    va_list ap;
    va_start(ap, fmt);
    w = vsnprintf(line + n, sizeof line - n - 1, fmt, ap);
    va_end(ap);
    if (w > 0) n += (size_t)w < sizeof line - n - 1 ? (size_t)w : sizeof line - n - 2;
  }
  line[n++] = '\n';
  ssize_t rc = write(STDERR_FILENO, line, n);
  (void)rc;
}
