/* The server under test as a child process (bench/common/mwb_server.c does
 * the work; here its arguments get their {data} and {sync}), and what we read
 * about it from /proc. The sampler thread reads VmRSS and VmHWM from
 * /proc/<pid>/status every period; it only reads, so it works as well for a
 * server we did not start (--url with --pid). */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "bench.h"

/* arg with every "{data}" and "{sync}" replaced. */
static char *substitute(const char *arg, const char *data_dir, const char *sync) {
  char out[8192];
  size_t n = 0;
  for (const char *p = arg; *p && n < sizeof out - 1;) {
    const char *with = NULL;
    size_t skip = 0;
    if (strncmp(p, "{data}", 6) == 0) with = data_dir, skip = 6;
    else if (strncmp(p, "{sync}", 6) == 0) with = sync, skip = 6;
    if (with) {
      n += (size_t)snprintf(out + n, sizeof out - n, "%s", with);
      if (n >= sizeof out) n = sizeof out - 1;
      p += skip;
    } else {
      out[n++] = *p++;
    }
  }
  out[n] = 0;
  return strdup(out);
}

int bi_server_start(bi_server *s, const char *exe, char **args, const char *data_dir, const char *sync,
                    const char *log_path, double timeout_s) {
  char *argv[64];
  size_t argc = 0;
  argv[argc++] = (char *)exe;
  for (size_t i = 0; args[i] && argc < 62; i++) argv[argc++] = substitute(args[i], data_dir, sync);
  argv[argc] = NULL;
  int rc = mwb_server_start(s, "bench-ingest", argv, log_path, timeout_s);
  for (size_t i = 1; i < argc; i++) free(argv[i]);
  return rc;
}

int bi_server_stop(bi_server *s, double *took_s) { return mwb_server_stop(s, "bench-ingest", took_s); }

/* ---- /proc sampling ---------------------------------------------------- */

static int read_status_kb(pid_t pid, long *rss_kb, long *hwm_kb) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  *rss_kb = *hwm_kb = -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) *rss_kb = strtol(line + 6, NULL, 10);
    else if (strncmp(line, "VmHWM:", 6) == 0) *hwm_kb = strtol(line + 6, NULL, 10);
  }
  fclose(f);
  return *rss_kb >= 0 ? 0 : -1;
}

static void *sampler_main(void *arg) {
  bi_sampler *s = arg;
  while (!atomic_load(&s->stop)) {
    long rss, hwm;
    if (read_status_kb(s->pid, &rss, &hwm) == 0) {
      double mib = (double)rss / 1024.0;
      s->rss_last_mib = mib;
      if (mib > s->rss_max_mib) s->rss_max_mib = mib;
      if (hwm >= 0) s->hwm_mib = (double)hwm / 1024.0;
      s->samples++;
    }
    mwb_sleep_ms(s->period_ms);
  }
  return NULL;
}

int bi_sampler_start(bi_sampler *s, pid_t pid, int period_ms) {
  memset(s, 0, sizeof *s);
  s->pid = pid;
  s->period_ms = period_ms;
  atomic_init(&s->stop, 0);
  return pthread_create(&s->thread, NULL, sampler_main, s) == 0 ? 0 : -1;
}

void bi_sampler_stop(bi_sampler *s) {
  atomic_store(&s->stop, 1);
  pthread_join(s->thread, NULL);
  /* One last look: VmHWM catches a peak that fell between samples. */
  long rss, hwm;
  if (read_status_kb(s->pid, &rss, &hwm) == 0 && hwm >= 0) s->hwm_mib = (double)hwm / 1024.0;
}

double bi_proc_cpu_s(pid_t pid) {
  char path[64], buf[1024];
  snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  /* Fields after the ")" that closes comm: state is field 3, utime 14, stime 15. */
  char *p = strrchr(buf, ')');
  if (!p) return -1;
  unsigned long ut = 0, stm = 0;
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stm) != 2) return -1;
  return (double)(ut + stm) / (double)sysconf(_SC_CLK_TCK);
}

double bi_self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         (double)ru.ru_stime.tv_usec / 1e6;
}
