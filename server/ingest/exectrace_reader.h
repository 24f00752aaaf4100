/* Running meanwhile-exectrace, the reader of Go execution traces (exectrace/,
 * Go): a child process that reads the trace on stdin and writes one Records
 * protobuf on stdout (schema/meanwhile/exectrace/v1/records.proto), or exits
 * 2 with one line on stderr saying why the trace is unreadable.
 *
 * A trace is hostile input and its reader is a large program, so the child
 * runs in a process group of its own under a time limit (the whole group is
 * killed when it passes), an address-space limit (RLIMIT_AS, and GOMEMLIMIT
 * at three quarters of it so that the Go runtime collects before it hits
 * it), and a cap on what it may write. Its stdin is fed and its stdout and
 * stderr drained in one poll loop, so that neither side waits on the other.
 * How many run at once is the caller's business (http/exectrace.c). */
#ifndef MW_INGEST_EXECTRACE_READER_H
#define MW_INGEST_EXECTRACE_READER_H
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* The reader's file name, looked for next to meanwhiled and on PATH. */
#define MW_XT_READER_NAME "meanwhile-exectrace"

typedef struct mw_xt_reader_opts {
  const char *path;      /* the executable */
  int64_t timeout_ns;    /* kill after this long (> 0) */
  uint64_t memory_bytes; /* RLIMIT_AS of the child; 0: none */
  size_t max_output;     /* most stdout bytes taken; more is MW_ETOOBIG */
} mw_xt_reader_opts;

/* Finds the reader: `configured` (--exectrace-reader) when given, which must
 * be an executable file; else meanwhile-exectrace in the directory of this
 * process's executable (/proc/self/exe); else on PATH. Writes its path into
 * out. Returns 0, or MW_ENOTFOUND (out then says where it looked). */
int mw__xt_reader_find(const char *configured, char *out, size_t outsz);

/* Where the reader's stdout goes as it arrives: returns 0, or an error that
 * stops the reader (the child is killed and mw__xt_reader_run returns it). */
typedef int (*mw_xt_sink)(void *user, const uint8_t *p, size_t n);

/* Runs the reader on in[0..len) (capture_ns > 0 is passed as -capture-time)
 * and hands its stdout to sink(user, ...) as it arrives. abort (NULL: never)
 * is polled: when it becomes non-zero the child is killed. Returns 0;
 *   MW_EINVAL    the reader exited 2: err holds its one-line reason;
 *   MW_ETIMEDOUT past o->timeout_ns (the group was killed);
 *   MW_ETOOBIG   the output passed o->max_output, or the reader ran out of
 *                the memory it may use (err says which);
 *   MW_EIO       it could not be started, crashed or exited otherwise (err
 *                says how, with its stderr's first line);
 *   MW_ESHUTDOWN *abort was set;
 *   what sink returned, or MW_ENOMEM. */
int mw__xt_reader_run(const mw_xt_reader_opts *o, const uint8_t *in, size_t len, int64_t capture_ns, mw_xt_sink sink,
                      void *user, const _Atomic int *abort, char *err, size_t errsz);

#endif
