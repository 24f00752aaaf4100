/* The server under test as a child process, and what we read about it from
 * /proc.
 *
 * bi_server_start runs meanwhiled with its stderr sent to a log file (a file,
 * not a pipe: a pipe would need a thread to drain it, or the server would
 * block on a full pipe mid-benchmark), then polls that file for the logfmt
 * line with msg="listening" and takes the port from its addr= field, which is
 * how port 0 becomes a URL. The sampler thread reads VmRSS and VmHWM from
 * /proc/<pid>/status every period; it only reads, so it works as well for a
 * server we did not start (--url with --pid). */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void print_log_tail(const char *path) {
  FILE *f = fopen(path, "r");
  if (!f) return;
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, n > 4000 ? n - 4000 : 0, SEEK_SET);
  char buf[4001];
  size_t got = fread(buf, 1, sizeof buf - 1, f);
  buf[got] = 0;
  fclose(f);
  fprintf(stderr, "---- %s (tail) ----\n%s\n----\n", path, buf);
}

/* Looks for `msg="listening"` and then `addr=HOST:PORT` on the same line. */
static int find_listen_addr(const char *path, char *addr, size_t addrsz) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[2048];
  int found = -1;
  while (found && fgets(line, sizeof line, f)) {
    if (!strstr(line, "msg=\"listening\"")) continue;
    const char *a = strstr(line, " addr=");
    if (!a) continue;
    a += 6;
    if (*a == '"') a++;
    size_t n = strcspn(a, " \"\n");
    if (n == 0 || n >= addrsz) continue;
    memcpy(addr, a, n);
    addr[n] = 0;
    found = 0;
  }
  fclose(f);
  return found;
}

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

int bi_server_start(bi_server *s, const char *exe, char **args, const char *data_dir,
                    const char *sync, const char *log_path, double timeout_s) {
  memset(s, 0, sizeof *s);
  snprintf(s->log_path, sizeof s->log_path, "%s", log_path);
  char *argv[64];
  size_t argc = 0;
  argv[argc++] = (char *)exe;
  for (size_t i = 0; args[i] && argc < 62; i++) argv[argc++] = substitute(args[i], data_dir, sync);
  argv[argc] = NULL;

  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "bench-ingest: %s: %s\n", log_path, strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 2);
    int devnull = open("/dev/null", O_RDWR);
    if (devnull >= 0) {
      dup2(devnull, 0);
      dup2(fd, 1);
    }
    execv(exe, argv);
    fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  close(fd);
  for (size_t i = 1; i < argc; i++) free(argv[i]);
  if (pid < 0) {
    fprintf(stderr, "bench-ingest: fork: %s\n", strerror(errno));
    return -1;
  }
  s->pid = pid;
  double deadline = bi_mono_s() + timeout_s;
  char addr[96];
  while (bi_mono_s() < deadline) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      fprintf(stderr, "bench-ingest: the server exited during start-up (status %d)\n", status);
      print_log_tail(log_path);
      s->pid = 0;
      return -1;
    }
    if (find_listen_addr(log_path, addr, sizeof addr) == 0) {
      snprintf(s->url, sizeof s->url, "http://%s", addr);
      return 0;
    }
    sleep_ms(10);
  }
  fprintf(stderr, "bench-ingest: no msg=\"listening\" line from the server within %.0f s\n",
          timeout_s);
  print_log_tail(log_path);
  double ignored;
  bi_server_stop(s, &ignored);
  return -1;
}

int bi_server_stop(bi_server *s, double *took_s) {
  if (s->pid <= 0) return -1;
  double t0 = bi_mono_s();
  kill(s->pid, SIGTERM);
  int status = 0, rc = -1;
  for (;;) {
    pid_t r = waitpid(s->pid, &status, WNOHANG);
    if (r == s->pid) {
      rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (r < 0) break;
    if (bi_mono_s() - t0 > 20) {
      fprintf(stderr, "bench-ingest: the server ignored SIGTERM for 20 s; killing it\n");
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
      break;
    }
    sleep_ms(5);
  }
  *took_s = bi_mono_s() - t0;
  if (rc != 0) print_log_tail(s->log_path);
  s->pid = 0;
  return rc;
}

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
    sleep_ms(s->period_ms);
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
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &stm) != 2)
    return -1;
  return (double)(ut + stm) / (double)sysconf(_SC_CLK_TCK);
}

double bi_self_cpu_s(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
         (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6;
}
