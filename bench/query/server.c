/* meanwhiled as a child process, as bench/ingest does it: stderr to a log
 * file (a pipe would need draining), then poll that file for the logfmt line
 * msg="listening" and take the port from its addr= field, which is how
 * --listen 127.0.0.1:0 becomes a URL. Stopped with SIGTERM; its exit status
 * says whether it shut down cleanly. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "qbench.h"

static void sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

static void log_tail(const char *path) {
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

static int listen_addr(const char *path, char *addr, size_t addrsz) {
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

int qb_server_start(qb_server *s, const char *exe, char **args, const char *data_dir, const char *log_path,
                    double timeout_s) {
  memset(s, 0, sizeof *s);
  snprintf(s->log_path, sizeof s->log_path, "%s", log_path);
  char *argv[64];
  size_t argc = 0;
  argv[argc++] = (char *)exe;
  if (args && args[0]) {
    for (size_t i = 0; args[i] && argc < 62; i++) {
      const char *p = strstr(args[i], "{data}");
      if (!p) {
        argv[argc++] = strdup(args[i]);
        continue;
      }
      char buf[8192];
      snprintf(buf, sizeof buf, "%.*s%s%s", (int)(p - args[i]), args[i], data_dir, p + 6);
      argv[argc++] = strdup(buf);
    }
  } else {
    argv[argc++] = strdup("--listen");
    argv[argc++] = strdup("127.0.0.1:0");
    argv[argc++] = strdup("--data");
    argv[argc++] = strdup(data_dir);
    /* the cached database keeps the dates it was generated with */
    argv[argc++] = strdup("--retention");
    argv[argc++] = strdup("0");
  }
  argv[argc] = NULL;
  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "bench-query: %s: %s\n", log_path, strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 2);
    dup2(fd, 1);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(exe, argv);
    fprintf(stderr, "exec %s: %s\n", exe, strerror(errno));
    _exit(127);
  }
  close(fd);
  for (size_t i = 1; i < argc; i++) free(argv[i]);
  if (pid < 0) {
    fprintf(stderr, "bench-query: fork: %s\n", strerror(errno));
    return -1;
  }
  s->pid = pid;
  double deadline = qb_mono_s() + timeout_s;
  char addr[96];
  while (qb_mono_s() < deadline) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      fprintf(stderr, "bench-query: the server exited during start-up (status %d)\n", status);
      log_tail(log_path);
      s->pid = 0;
      return -1;
    }
    if (listen_addr(log_path, addr, sizeof addr) == 0) {
      snprintf(s->url, sizeof s->url, "http://%s", addr);
      return 0;
    }
    sleep_ms(10);
  }
  fprintf(stderr, "bench-query: no msg=\"listening\" line from the server within %.0f s\n", timeout_s);
  log_tail(log_path);
  qb_server_stop(s);
  return -1;
}

int qb_server_stop(qb_server *s) {
  if (s->pid <= 0) return -1;
  double t0 = qb_mono_s();
  kill(s->pid, SIGTERM);
  int status = 0, rc = -1;
  for (;;) {
    pid_t r = waitpid(s->pid, &status, WNOHANG);
    if (r == s->pid) {
      rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (r < 0) break;
    if (qb_mono_s() - t0 > 20) {
      fprintf(stderr, "bench-query: the server ignored SIGTERM for 20 s; killing it\n");
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
      break;
    }
    sleep_ms(5);
  }
  if (rc != 0) log_tail(s->log_path);
  s->pid = 0;
  return rc;
}

double qb_proc_rss_mib(pid_t pid, double *hwm_mib) {
  char path[64], line[256];
  snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
  FILE *f = fopen(path, "r");
  double rss = -1;
  *hwm_mib = -1;
  if (!f) return -1;
  while (fgets(line, sizeof line, f)) {
    if (strncmp(line, "VmRSS:", 6) == 0) rss = (double)strtol(line + 6, NULL, 10) / 1024.0;
    else if (strncmp(line, "VmHWM:", 6) == 0) *hwm_mib = (double)strtol(line + 6, NULL, 10) / 1024.0;
  }
  fclose(f);
  return rss;
}
