/* meanwhiled as a child process, shared by the benchmarks.
 *
 * mwb_server_start runs argv with stdout and stderr sent to a log file (a
 * file, not a pipe: a pipe would need a thread to drain it, or the server
 * would block on a full pipe mid-benchmark), then polls that file for the
 * logfmt line with msg="listening" and takes the port from its addr= field,
 * which is how --listen 127.0.0.1:0 becomes a URL. */
#ifndef MW_BENCH_SERVER_H
#define MW_BENCH_SERVER_H

#include <stddef.h>
#include <sys/types.h>

typedef struct mwb_server {
  pid_t pid;     /* 0 when not running */
  char url[128]; /* http://127.0.0.1:<port> */
  char log_path[4200];
} mwb_server;

double mwb_mono_s(void); /* CLOCK_MONOTONIC */
void mwb_sleep_ms(int ms);
/* A whole file, NUL-terminated (*len without the NUL; len may be NULL), in
 * memory the caller frees; NULL when it cannot be read (errno says why). */
unsigned char *mwb_read_file(const char *path, size_t *len);
/* Removes a SQLite database file and its -wal and -shm files (missing ones too). */
void mwb_remove_db(const char *path);
/* The last 4 kB of a file on stderr. */
void mwb_print_log_tail(const char *path);

/* Starts argv (argv[0] the executable, NULL-terminated), output to log_path,
 * and waits up to timeout_s for its "listening" line. Returns 0, or -1 with
 * the reason and the log tail on stderr, each line prefixed by `who`. */
int mwb_server_start(mwb_server *s, const char *who, char *const argv[], const char *log_path, double timeout_s);
/* SIGTERM, then waits up to 20 s (SIGKILL after); the log tail on stderr
 * unless it exited 0. Returns the exit status, or -1 if it was not running,
 * had to be killed or died by a signal. took_s (may be NULL) gets the time
 * the shutdown took. */
int mwb_server_stop(mwb_server *s, const char *who, double *took_s);

#endif
