/* See mwb_server.h. */
#include "mwb_server.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

double mwb_mono_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void mwb_sleep_ms(int ms) {
  struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
  nanosleep(&ts, NULL);
}

unsigned char *mwb_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  unsigned char *s = NULL;
  long n = fseek(f, 0, SEEK_END) == 0 ? ftell(f) : -1;
  if (n >= 0 && fseek(f, 0, SEEK_SET) == 0 && (s = malloc((size_t)n + 1)) && fread(s, 1, (size_t)n, f) != (size_t)n) {
    free(s);
    s = NULL;
  }
  fclose(f);
  if (!s) return NULL;
  s[n] = 0;
  if (len) *len = (size_t)n;
  return s;
}

void mwb_remove_db(const char *path) {
  char p[4200];
  unlink(path);
  snprintf(p, sizeof p, "%s-wal", path);
  unlink(p);
  snprintf(p, sizeof p, "%s-shm", path);
  unlink(p);
}

void mwb_print_log_tail(const char *path) {
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

/* Looks for msg="listening" (or msg=listening) and then addr=HOST:PORT on the
 * same line. */
static int find_listen_addr(const char *path, char *addr, size_t addrsz) {
  FILE *f = fopen(path, "r");
  if (!f) return -1;
  char line[2048];
  int found = -1;
  while (found && fgets(line, sizeof line, f)) {
    if (!strstr(line, "msg=\"listening\"") && !strstr(line, "msg=listening")) continue;
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

int mwb_server_start(mwb_server *s, const char *who, char *const argv[], const char *log_path, double timeout_s) {
  memset(s, 0, sizeof *s);
  snprintf(s->log_path, sizeof s->log_path, "%s", log_path);
  int fd = open(log_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) {
    fprintf(stderr, "%s: %s: %s\n", who, log_path, strerror(errno));
    return -1;
  }
  pid_t pid = fork();
  if (pid == 0) {
    dup2(fd, 2);
    dup2(fd, 1);
    int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, 0);
    execv(argv[0], argv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(fd);
  if (pid < 0) {
    fprintf(stderr, "%s: fork: %s\n", who, strerror(errno));
    return -1;
  }
  s->pid = pid;
  double deadline = mwb_mono_s() + timeout_s;
  char addr[96];
  while (mwb_mono_s() < deadline) {
    int status;
    if (waitpid(pid, &status, WNOHANG) == pid) {
      fprintf(stderr, "%s: the server exited during start-up (status %d)\n", who, status);
      mwb_print_log_tail(log_path);
      s->pid = 0;
      return -1;
    }
    if (find_listen_addr(log_path, addr, sizeof addr) == 0) {
      snprintf(s->url, sizeof s->url, "http://%s", addr);
      return 0;
    }
    mwb_sleep_ms(10);
  }
  fprintf(stderr, "%s: no msg=\"listening\" line from the server within %.0f s\n", who, timeout_s);
  mwb_print_log_tail(log_path);
  mwb_server_stop(s, who, NULL);
  return -1;
}

int mwb_server_stop(mwb_server *s, const char *who, double *took_s) {
  if (s->pid <= 0) return -1;
  double t0 = mwb_mono_s();
  kill(s->pid, SIGTERM);
  int status = 0, rc = -1;
  for (;;) {
    pid_t r = waitpid(s->pid, &status, WNOHANG);
    if (r == s->pid) {
      rc = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
      break;
    }
    if (r < 0) break;
    if (mwb_mono_s() - t0 > 20) {
      fprintf(stderr, "%s: the server ignored SIGTERM for 20 s; killing it\n", who);
      kill(s->pid, SIGKILL);
      waitpid(s->pid, &status, 0);
      break;
    }
    mwb_sleep_ms(5);
  }
  if (took_s) *took_s = mwb_mono_s() - t0;
  if (rc != 0) {
    fprintf(stderr, "%s: the server exited with status %d\n", who, rc);
    mwb_print_log_tail(s->log_path);
  }
  s->pid = 0;
  return rc;
}
