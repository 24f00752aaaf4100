/* Goroutine dump decoding: the text forms of /debug/pprof/goroutine, i.e.
 * debug=2 (one block per goroutine, also what an unrecovered panic prints) and
 * debug=1 (stacks aggregated by count, with pprof labels), detected from the
 * content, and the debug=1 form of the goroutine leak profile. Go 1.19
 * through Go 1.27's header labels (go-goroutine-dump.md). Unrecognised lines
 * are counted and skipped. All
 * memory comes from the caller's arena, and grows with what is actually read:
 * a header's claimed total is never trusted for allocation. */
#ifndef MW_DECODE_GOROUTINES_H
#define MW_DECODE_GOROUTINES_H
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "model/runtime.h"

typedef struct mw_goroutine_opts {
  size_t max_goroutines; /* records kept (debug=1: stack groups); beyond: MW_ETOOBIG */
  size_t max_frames;     /* frames kept per stack; more are dropped, stack.truncated = 1 */
  size_t max_line;       /* longer lines (line end included) are skipped unread */
  size_t max_labels;     /* labels kept per record; more are dropped */
} mw_goroutine_opts;

#define MW_GOROUTINE_OPTS_DEFAULT                                                                                      \
  ((mw_goroutine_opts){.max_goroutines = 1000000, .max_frames = 256, .max_line = 64u << 10, .max_labels = 64})

typedef struct mw_goroutine_dump {
  int format;      /* 2 (debug=2 / traceback) or 1 (debug=1); 0 when unreadable */
  int leak;        /* debug=1 of the goroutine leak profile ("goroutineleak profile:
                            total N"): the records are the leaked goroutines only */
  mw_goroutine *g; /* in input order */
  size_t n;
  int64_t total;         /* sum of the counts of the records in g */
  int64_t claimed_total; /* debug=1 header's `total N`; -1 for debug=2 or when unreadable */
  size_t lines_total;
  size_t lines_skipped; /* unrecognised, too long, or ancestor (`[originating from`) lines */
  int truncated;        /* stopped at max_goroutines */
  char err[160];        /* why the result is MW_EINVAL / MW_ETOOBIG / MW_ENOMEM */
} mw_goroutine_dump;

/* Parses a debug=2 or debug=1 goroutine dump into *out (zeroed first). opts
 * NULL or a zero field means the default. Returns 0; MW_EINVAL when no
 * goroutine header or debug=1 profile header could be read, or no record
 * after one (message in out->err; but a goroutineleak header of `total 0`
 * without records is an empty profile: no leaks);
 * MW_ETOOBIG at max_goroutines (out holds the records before the limit,
 * truncated = 1); MW_ENOMEM when the arena is exhausted. */
int mw__goroutines_parse_text(mw_arena *a, const char *data, size_t len, const mw_goroutine_opts *opts,
                              mw_goroutine_dump *out);

/* Decodes a Go %q-quoted string that starts at *s (the opening quote) and
 * ends before end: escapes \a \b \f \n \r \t \v \\ \' \" \xHH \ooo \uHHHH
 * \UHHHHHHHH. Returns 0 with the NUL-terminated result in *out (arena) and *s
 * moved past the closing quote; MW_EINVAL when malformed or MW_ENOMEM, with *s
 * unchanged. */
int mw__go_unquote(mw_arena *a, const char **s, const char *end, const char **out);

#endif
