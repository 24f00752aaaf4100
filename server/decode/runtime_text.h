/* Go runtime stderr decoding: a service's whole stderr (or any chunk of whole
 * lines of it) into GC cycles (`GODEBUG=gctrace=1`) and scheduler samples
 * (`GODEBUG=schedtrace=X`). Every other line is counted and skipped; a line that
 * looks like runtime output but breaks the grammar (typically a gc line split
 * by the service's own writes) is counted as malformed, never fatal. Lines may
 * carry a receive stamp prefix `<19-digit unix ns> `. All memory comes from
 * the caller's arena; the input is never copied. */
#ifndef MW_DECODE_RUNTIME_TEXT_H
#define MW_DECODE_RUNTIME_TEXT_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/runtime.h"

typedef struct mw_runtime_text_opts {
  size_t max_line;    /* longer lines (stamp and line end included) are skipped unread */
  size_t max_records; /* gc cycles + sched samples kept; beyond: MW_ETOOBIG */
  size_t max_procs;   /* per-P run queue lengths kept per sched sample */
} mw_runtime_text_opts;

#define MW_RUNTIME_TEXT_OPTS_DEFAULT                                                                                   \
  ((mw_runtime_text_opts){.max_line = 64u << 10, .max_records = 1000000, .max_procs = 1024})

enum { MW_RUNTIME_TEXT_MAX_ERRORS = 8 };

typedef struct mw_runtime_text_error {
  size_t line;     /* 1-based line number in the input */
  size_t col;      /* 1-based byte column where the grammar broke (after any stamp) */
  const char *msg; /* static text */
} mw_runtime_text_error;

typedef struct mw_runtime_text {
  mw_gc_cycle *gc; /* in input order */
  size_t n_gc;
  mw_sched_sample *sched; /* in input order */
  size_t n_sched;
  /* lines_total == lines_runtime + lines_skipped */
  size_t lines_total;
  size_t lines_runtime;   /* runtime output: records, plus `GC forced`, scav, scheddetail
                               P/M/G lines and other trace lines we recognise but keep nothing of */
  size_t lines_skipped;   /* not runtime output, malformed, or too long */
  size_t lines_malformed; /* runtime-looking lines failing the grammar (part of skipped) */
  size_t lines_too_long;  /* longer than max_line (part of skipped) */
  size_t lines_stamped;   /* lines that carried a receive stamp */
  mw_runtime_text_error errors[MW_RUNTIME_TEXT_MAX_ERRORS]; /* the first malformed lines */
  size_t n_errors;
  int truncated; /* stopped at max_records */
} mw_runtime_text;

/* Parses len bytes of runtime stderr into *out (zeroed first). opts NULL or a
 * zero field means the default. Returns 0 (even when nothing was recognised:
 * a stderr without runtime lines is valid), MW_ETOOBIG when max_records was
 * reached (out holds the records before the limit, truncated = 1), or
 * MW_ENOMEM when the arena is exhausted. */
int mw__runtime_text_parse(mw_arena *a, const char *data, size_t len, const mw_runtime_text_opts *opts,
                           mw_runtime_text *out);

/* Parses one line (no line end, stamp already removed) as a gctrace line.
 * Returns 0 and fills *gc (stamp_ns and start_ns left 0), or MW_EINVAL with a
 * static reason in *why and the byte offset where the grammar broke in *at. */
int mw__gctrace_parse_line(const char *line, size_t len, mw_gc_cycle *gc, const char **why, size_t *at);

/* Parses one `SCHED Tms: key=value ... [q0 q1 ...]` line (no line end, stamp
 * removed), with or without needspinning=, with Go 1.25's `[ q0 q1 ]` and
 * `schedticks=[ ... ]`, or a scheddetail=1 summary (no list). Unknown
 * key=value and key=[...] fields are ignored. The first max_procs queue
 * lengths are copied into the arena. Returns 0, MW_EINVAL (reason and offset as
 * for mw__gctrace_parse_line) or MW_ENOMEM. */
int mw__schedtrace_parse_line(mw_arena *a, const char *line, size_t len, size_t max_procs, mw_sched_sample *s,
                              const char **why, size_t *at);

#endif
