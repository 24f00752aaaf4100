/* meanwhiled as a child process (bench/common/mwb_server.c does the work;
 * here it gets its arguments), and its memory from /proc. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qbench.h"

int qb_server_start(qb_server *s, const char *exe, char **args, const char *data_dir, const char *log_path,
                    double timeout_s) {
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
  int rc = mwb_server_start(s, "bench-query", argv, log_path, timeout_s);
  for (size_t i = 1; i < argc; i++) free(argv[i]);
  return rc;
}

int qb_server_stop(qb_server *s) { return mwb_server_stop(s, "bench-query", NULL); }

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
