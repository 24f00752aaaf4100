/* Running meanwhile-exectrace (see exectrace_reader.h). */
#define _GNU_SOURCE
#include "ingest/exectrace_reader.h"
#include "core/error.h"
#include "core/timefmt.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* stderr kept from the child: its first line is the reason, the rest is
 * only for a crash's message. Read size per poll wakeup. Poll at least this
 * often to notice an abort. */
enum { STDERR_KEEP = 4096, CHUNK = 256 * 1024, POLL_MS = 100 };

static int executable(const char *path) { return access(path, X_OK) == 0; }

int mw__xt_reader_find(const char *configured, char *out, size_t outsz) {
  if (configured && *configured) {
    snprintf(out, outsz, "%s", configured);
    return executable(configured) ? MW_OK : MW_ENOTFOUND;
  }
  char self[4096];
  ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
  if (n > 0) {
    self[n] = '\0';
    char *slash = strrchr(self, '/');
    if (slash) {
      *slash = '\0';
      snprintf(out, outsz, "%s/%s", self, MW_XT_READER_NAME);
      if (executable(out)) return MW_OK;
    }
  }
  const char *path = getenv("PATH");
  while (path && *path) {
    size_t k = strcspn(path, ":");
    if (k) {
      snprintf(out, outsz, "%.*s/%s", (int)k, path, MW_XT_READER_NAME);
      if (executable(out)) return MW_OK;
    }
    path += k + (path[k] == ':');
  }
  snprintf(out, outsz, "%s (not next to meanwhiled, not on PATH)", MW_XT_READER_NAME);
  return MW_ENOTFOUND;
}

/* In the child, between fork and exec: only async-signal-safe calls. */
static void child(int in, int outp, int errp, const mw_xt_reader_opts *o, char *const argv[], char *const envp[]) {
  setpgid(0, 0);
  if (o->memory_bytes) {
    struct rlimit rl = {(rlim_t)o->memory_bytes, (rlim_t)o->memory_bytes};
    setrlimit(RLIMIT_AS, &rl);
  }
  if (dup2(in, 0) < 0 || dup2(outp, 1) < 0 || dup2(errp, 2) < 0) _exit(127);
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3u, ~0u, 0u) != 0)
#endif
    for (int fd = 3; fd < 4096; fd++) close(fd);
  execve(argv[0], argv, envp);
  _exit(127);
}

/* environ with GOMEMLIMIT set (replacing any), in *env (free the array and
 * its one added string). */
static char **child_env(uint64_t memory_bytes, char **added) {
  size_t n = 0;
  while (environ[n]) n++;
  char **env = calloc(n + 2, sizeof *env);
  *added = NULL;
  if (!env) return NULL;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (strncmp(environ[i], "GOMEMLIMIT=", 11) != 0) env[k++] = environ[i];
  if (memory_bytes) {
    char tmp[64];
    snprintf(tmp, sizeof tmp, "GOMEMLIMIT=%" PRIu64, memory_bytes / 4 * 3);
    if (!(*added = strdup(tmp))) {
      free(env);
      return NULL;
    }
    env[k++] = *added;
  }
  return env;
}

static void set_nonblock(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

/* The first line of s (at most n bytes), in place. */
static const char *first_line(char *s) {
  s[strcspn(s, "\n")] = '\0';
  return s;
}

static void limit_text(int64_t ns, char *out, size_t n) {
  if (ns % 1000000000) snprintf(out, n, "%lld ms", (long long)(ns / 1000000));
  else snprintf(out, n, "%lld s", (long long)(ns / 1000000000));
}

int mw__xt_reader_run(const mw_xt_reader_opts *o, const uint8_t *in, size_t len, int64_t capture_ns, mw_xt_sink sink,
                      void *user, const _Atomic int *abort, char *err, size_t errsz) {
  err[0] = '\0';
  size_t got = 0;
  int pin[2] = {-1, -1}, pout[2] = {-1, -1}, perr[2] = {-1, -1};
  char cap[32], *added = NULL;
  snprintf(cap, sizeof cap, "%lld", (long long)capture_ns);
  char *argv[] = {(char *)o->path, capture_ns > 0 ? (char *)"-capture-time" : NULL, cap, NULL};
  char **envp = child_env(o->memory_bytes, &added);
  uint8_t *chunk = malloc(CHUNK);
  if (!envp || !chunk) {
    free(envp), free(added), free(chunk);
    return MW_ENOMEM;
  }
  int rc = MW_OK;
  pid_t pid = -1;
  if (pipe2(pin, O_CLOEXEC) || pipe2(pout, O_CLOEXEC) || pipe2(perr, O_CLOEXEC)) {
    snprintf(err, errsz, "cannot start %s: %s", MW_XT_READER_NAME, strerror(errno));
    rc = MW_EIO;
    goto out;
  }
  pid = fork();
  if (pid == 0) child(pin[0], pout[1], perr[1], o, argv, envp);
  if (pid < 0) {
    snprintf(err, errsz, "cannot start %s: %s", MW_XT_READER_NAME, strerror(errno));
    rc = MW_EIO;
    goto out;
  }
  setpgid(pid, pid); /* also here: no race with the kill below */
  close(pin[0]), close(pout[1]), close(perr[1]);
  pin[0] = pout[1] = perr[1] = -1;
  set_nonblock(pin[1]), set_nonblock(pout[0]), set_nonblock(perr[0]);

  char ebuf[STDERR_KEEP + 1];
  size_t elen = 0, sent = 0;
  int64_t deadline = mw__mono_ns() + o->timeout_ns;
  if (len == 0) close(pin[1]), pin[1] = -1;
  while (pout[0] >= 0 || perr[0] >= 0) {
    if (abort && atomic_load(abort)) {
      rc = MW_ESHUTDOWN;
      snprintf(err, errsz, "meanwhiled is shutting down: retry");
      break;
    }
    int64_t left = deadline - mw__mono_ns();
    if (left <= 0) {
      char lim[32];
      limit_text(o->timeout_ns, lim, sizeof lim);
      snprintf(err, errsz,
               "reading the trace took longer than exectrace_timeout (%s): it was stopped; raise "
               "--exectrace-timeout or send a shorter trace",
               lim);
      rc = MW_ETIMEDOUT;
      break;
    }
    struct pollfd fds[3];
    int nf = 0, at_in = -1, at_out = -1, at_err = -1;
    if (pin[1] >= 0) at_in = nf, fds[nf++] = (struct pollfd){pin[1], POLLOUT, 0};
    if (pout[0] >= 0) at_out = nf, fds[nf++] = (struct pollfd){pout[0], POLLIN, 0};
    if (perr[0] >= 0) at_err = nf, fds[nf++] = (struct pollfd){perr[0], POLLIN, 0};
    int wait_ms = left / 1000000 < POLL_MS ? (int)(left / 1000000) + 1 : POLL_MS;
    if (poll(fds, (nfds_t)nf, wait_ms) < 0 && errno != EINTR) {
      snprintf(err, errsz, "poll failed: %s", strerror(errno));
      rc = MW_EIO;
      break;
    }
    if (at_in >= 0 && fds[at_in].revents) {
      size_t piece = len - sent < CHUNK ? len - sent : CHUNK;
      ssize_t w = write(pin[1], in + sent, piece);
      if (w > 0) sent += (size_t)w;
      /* the reader stopped reading (it saw enough to refuse): the rest is not needed */
      if ((w < 0 && errno != EAGAIN && errno != EINTR) || sent == len) close(pin[1]), pin[1] = -1;
    }
    if (at_out >= 0 && fds[at_out].revents) {
      ssize_t r = read(pout[0], chunk, CHUNK);
      if (r > 0) {
        got += (size_t)r;
        if (got > o->max_output) {
          snprintf(err, errsz,
                   "the reader's output passed exectrace_max_output (%zu bytes): the trace holds too much; raise "
                   "--exectrace-max-output or send a shorter trace",
                   o->max_output);
          rc = MW_ETOOBIG;
          break;
        }
        if ((rc = sink(user, chunk, (size_t)r))) break;
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(pout[0]), pout[0] = -1;
      }
    }
    if (at_err >= 0 && fds[at_err].revents) {
      char tmp[4096];
      ssize_t r = read(perr[0], tmp, sizeof tmp);
      if (r > 0) {
        size_t keep = STDERR_KEEP - elen < (size_t)r ? STDERR_KEEP - elen : (size_t)r;
        memcpy(ebuf + elen, tmp, keep);
        elen += keep;
      } else if (r == 0 || (errno != EAGAIN && errno != EINTR)) {
        close(perr[0]), perr[0] = -1;
      }
    }
  }
  ebuf[elen] = '\0';
  if (rc) kill(-pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  kill(-pid, SIGKILL); /* anything the reader left behind in its group */
  if (rc) goto out;
  int crashed = strncmp(ebuf, "panic:", 6) == 0 || strncmp(ebuf, "fatal error:", 12) == 0;
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) goto out;
  if (strstr(ebuf, "out of memory") || strstr(ebuf, "cannot allocate memory")) {
    snprintf(err, errsz,
             "reading the trace needs more memory than exectrace_memory (%" PRIu64
             " bytes) allows: raise --exectrace-memory or send a shorter trace",
             o->memory_bytes);
    rc = MW_ETOOBIG;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 2 && !crashed && elen) {
    snprintf(err, errsz, "%s", first_line(ebuf));
    rc = MW_EINVAL;
  } else if (WIFEXITED(status) && WEXITSTATUS(status) == 127 && !elen) {
    snprintf(err, errsz, "%s could not be run (%s)", MW_XT_READER_NAME, o->path);
    rc = MW_EIO;
  } else {
    char how[64];
    if (WIFSIGNALED(status)) snprintf(how, sizeof how, "was killed by signal %d", WTERMSIG(status));
    else snprintf(how, sizeof how, "exited with status %d", WEXITSTATUS(status));
    snprintf(err, errsz, "%s %s: %.300s", MW_XT_READER_NAME, how, elen ? first_line(ebuf) : "(no message)");
    rc = MW_EIO;
  }
out:
  for (int i = 0; i < 2; i++) {
    if (pin[i] >= 0) close(pin[i]);
    if (pout[i] >= 0) close(pout[i]);
    if (perr[i] >= 0) close(perr[i]);
  }
  free(envp);
  free(added);
  free(chunk);
  return rc;
}
