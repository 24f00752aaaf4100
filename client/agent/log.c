/* The agent's own log: one logfmt line per event (like meanwhiled's), to the
 * --log-file or to stderr. With run, stderr also carries the service's own
 * lines, passed through unchanged; a --log-file keeps the two apart. Lines are
 * written whole with one write(2), so threads do not interleave them. */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"

static int log_fd = 2;
static int log_level = LOG_INFO;

int64_t agent_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t agent_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int agent_log_open(const char *path, int level) {
  log_level = level;
  if (!path || !*path || !strcmp(path, "-")) return 0;
  int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return -1;
  log_fd = fd;
  return 0;
}

void agent_log_close(void) {
  if (log_fd > 2) close(log_fd);
  log_fd = 2;
}

void agent_log(int level, const char *msg, const char *fmt, ...) {
  static const char *const names[] = {"debug", "info", "warn", "error"};
  if (level < log_level) return;
  char line[2048];
  struct timespec ts;
  struct tm tm;
  clock_gettime(CLOCK_REALTIME, &ts);
  gmtime_r(&ts.tv_sec, &tm);
  int n =
      snprintf(line, sizeof line, "ts=%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ level=%s prog=meanwhile-agent msg=\"%s\"",
               tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000,
               names[level & 3], msg);
  if (n < 0) return;
  if ((size_t)n < sizeof line - 2 && fmt && *fmt) {
    line[n++] = ' ';
    va_list ap;
    va_start(ap, fmt);
    int m = vsnprintf(line + n, sizeof line - (size_t)n, fmt, ap);
    va_end(ap);
    if (m > 0) n += m;
  }
  if ((size_t)n > sizeof line - 2) n = (int)sizeof line - 2;
  line[n++] = '\n';
  ssize_t w;
  do {
    w = write(log_fd, line, (size_t)n);
  } while (w < 0 && errno == EINTR);
}

void agent_quote(char *dst, size_t size, const char *src) {
  size_t n = 0;
  if (size < 3) {
    if (size) dst[0] = '\0';
    return;
  }
  dst[n++] = '"';
  for (; *src && n + 3 < size; src++) {
    char c = *src;
    if (c == '"' || c == '\\') dst[n++] = '\\';
    dst[n++] = c == '\n' || c == '\r' || c == '\t' ? ' ' : c;
  }
  dst[n++] = '"';
  dst[n] = '\0';
}
