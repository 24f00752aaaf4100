/* The `GODEBUG=schedtrace=X` summary line (go-schedtrace.md). Fields have been
 * added over time (needspinning= in ~1.21) and scheddetail=1 appends others
 * (gcwaiting=true...), so after `SCHED Tms:` every `key=value` token is read
 * generically: the known keys fill the sample, the rest are skipped. The
 * trailing `[q0 q1 ...]` list of per-P run queues is absent in detail mode. */
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "decode/cursor.h"
#include "decode/runtime_text.h"


static int is_key_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || cur_is_digit(ch) || ch == '_';
}

enum { F_GOMAXPROCS, F_IDLEPROCS, F_THREADS, F_SPINNING, F_NEEDSPINNING, F_IDLETHREADS,
       F_RUNQUEUE, F_N };

static const char *const keys[F_N] = {"gomaxprocs",      "idleprocs",    "threads",
                                      "spinningthreads", "needspinning", "idlethreads",
                                      "runqueue"};

#define EXPECT(cond, msg) \
  do {                    \
    if (!(cond)) {        \
      *why = (msg);       \
      *at = c.i;          \
      return MW_EINVAL;   \
    }                     \
  } while (0)

int mw__schedtrace_parse_line(mw_arena *a, const char *line, size_t len, size_t max_procs,
                              mw_sched_sample *s, const char **why, size_t *at) {
  cur c = {line, 0, len};
  int64_t t, vals[F_N] = {0};
  int seen[F_N] = {0};
  EXPECT(cur_eat(&c, "SCHED "), "sched line: expected \"SCHED \"");
  EXPECT(cur_num(&c, 12, &t), "sched line: bad time");
  EXPECT(cur_eat(&c, "ms:"), "sched line: expected \"ms:\"");

  int has_list = 0;
  size_t list_at = 0;
  while (c.i < c.n) {
    EXPECT(cur_eat(&c, " "), "sched line: expected a space between fields");
    if (c.i < c.n && c.s[c.i] == '[') {
      has_list = 1;
      list_at = c.i;
      break;
    }
    size_t k0 = c.i;
    while (c.i < c.n && is_key_char(c.s[c.i])) c.i++;
    size_t klen = c.i - k0;
    EXPECT(klen > 0, "sched line: expected key=value");
    EXPECT(cur_eat(&c, "="), "sched line: expected '=' after a key");
    int f = F_N;
    for (int k = 0; k < F_N; k++)
      if (strlen(keys[k]) == klen && memcmp(keys[k], c.s + k0, klen) == 0) f = k;
    if (f < F_N) {
      EXPECT(cur_num(&c, 18, &vals[f]), "sched line: bad number");
      EXPECT(c.i == c.n || c.s[c.i] == ' ', "sched line: bad number");
      seen[f] = 1;
    } else {
      /* detail mode's gcwaiting=true, preemptoff= (may be empty), future fields */
      while (c.i < c.n && c.s[c.i] != ' ') c.i++;
    }
  }
  for (int k = 0; k < F_N; k++)
    if (k != F_NEEDSPINNING) EXPECT(seen[k], "sched line: a required field is missing");

  mw_sched_sample out = {0};
  out.offset_ns = t * 1000000;
  out.gomaxprocs = vals[F_GOMAXPROCS];
  out.idleprocs = vals[F_IDLEPROCS];
  out.threads = vals[F_THREADS];
  out.spinningthreads = vals[F_SPINNING];
  out.needspinning = seen[F_NEEDSPINNING] ? vals[F_NEEDSPINNING] : -1;
  out.idlethreads = vals[F_IDLETHREADS];
  out.runqueue = vals[F_RUNQUEUE];

  if (!has_list) {
    out.detailed = 1;
    out.local_runq_sum = -1;
    *s = out;
    return 0;
  }
  /* First pass validates and counts, so the arena gets one exact allocation. */
  c.i = list_at + 1;
  size_t count = 0;
  int64_t sum = 0, v = 0;
  while (!cur_eat(&c, "]")) {
    if (count) EXPECT(cur_eat(&c, " "), "sched line: expected ' ' or ']' in the run queue list");
    EXPECT(cur_num(&c, 9, &v), "sched line: bad run queue length");
    sum = sum > INT64_MAX - v ? INT64_MAX : sum + v;
    count++;
  }
  while (c.i < c.n && (c.s[c.i] == ' ' || c.s[c.i] == '\t')) c.i++;
  EXPECT(c.i == c.n, "sched line: unexpected text after the run queue list");
  size_t keep = count < max_procs ? count : max_procs;
  if (keep) {
    out.local_runq = mw__arena_calloc(a, keep, sizeof *out.local_runq);
    if (!out.local_runq) return MW_ENOMEM;
    c.i = list_at + 1;
    for (size_t k = 0; k < keep; k++) {
      if (k) cur_eat(&c, " ");
      cur_num(&c, 9, &v);
      out.local_runq[k] = (uint32_t)v;
    }
  }
  out.n_local_runq = keep;
  out.local_runq_sum = sum;
  *s = out;
  return 0;
}
