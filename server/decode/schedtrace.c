/* The `GODEBUG=schedtrace=X` summary line (go-schedtrace.md). Fields have been
 * added over time (needspinning= in ~1.21, schedticks=[...] in 1.25.0) and
 * scheddetail=1 appends others (gcwaiting=true...), so after `SCHED Tms:`
 * every field is read generically: a `key=value` or `key=[list]` whose key we
 * know fills the sample, the rest are skipped. The bare `[q0 q1 ...]` list of
 * per-P run queues (absent in detail mode) may stand among them; Go <= 1.24
 * prints it `[0 0]` and last, Go 1.25+ `[ 0 0 ]` followed by schedticks=. */
#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "decode/cursor.h"
#include "decode/runtime_text.h"

static int is_key_char(char ch) {
  return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || cur_is_digit(ch) || ch == '_';
}

static int rest_blank(const cur *c) {
  for (size_t i = c->i; i < c->n; i++)
    if (c->s[i] != ' ' && c->s[i] != '\t') return 0;
  return 1;
}

static void skip_spaces(cur *c) {
  while (c->i < c->n && c->s[c->i] == ' ') c->i++;
}

/* The run-queue list from its '[' through its ']', numbers separated by one
 * or more spaces, spaces allowed inside the brackets. Counts the numbers
 * into *count and their (saturated) sum into *sum; the first `keep` go to
 * dst unless it is NULL. Returns 1, or 0 with the cursor where it broke. */
static int runq_list(cur *c, uint32_t *dst, size_t keep, size_t *count, int64_t *sum) {
  int64_t v;
  *count = 0;
  *sum = 0;
  if (!cur_eat(c, "[")) return 0;
  for (;;) {
    skip_spaces(c);
    if (cur_eat(c, "]")) return 1;
    if (!cur_num(c, 9, &v)) return 0;
    if (c->i < c->n && c->s[c->i] != ' ' && c->s[c->i] != ']') return 0;
    if (dst && *count < keep) dst[*count] = (uint32_t)v;
    *sum = *sum > INT64_MAX - v ? INT64_MAX : *sum + v;
    (*count)++;
  }
}

enum { F_GOMAXPROCS, F_IDLEPROCS, F_THREADS, F_SPINNING, F_NEEDSPINNING, F_IDLETHREADS, F_RUNQUEUE, F_N };

static const char *const keys[F_N] = {"gomaxprocs",   "idleprocs",   "threads", "spinningthreads",
                                      "needspinning", "idlethreads", "runqueue"};

int mw__schedtrace_parse_line(mw_arena *a, const char *line, size_t len, size_t max_procs, mw_sched_sample *s,
                              const char **why, size_t *at) {
  cur c = {line, 0, len};
  int64_t t, vals[F_N] = {0};
  int seen[F_N] = {0};
  EXPECT(cur_eat(&c, "SCHED "), "sched line: expected \"SCHED \"");
  EXPECT(cur_num(&c, 12, &t), "sched line: bad time");
  EXPECT(cur_eat(&c, "ms:"), "sched line: expected \"ms:\"");

  int has_list = 0;
  size_t list_at = 0, count = 0;
  int64_t sum = 0;
  while (!rest_blank(&c)) {
    EXPECT(cur_eat(&c, " "), "sched line: expected a space between fields");
    if (c.i < c.n && c.s[c.i] == '[') {
      EXPECT(!has_list, "sched line: a second run queue list");
      has_list = 1;
      list_at = c.i;
      EXPECT(runq_list(&c, NULL, 0, &count, &sum), "sched line: expected a number, ' ' or ']' in the run queue list");
      continue;
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
    } else if (c.i < c.n && c.s[c.i] == '[') {
      /* 1.25's schedticks=[ 3227 3360 ], and lists to come: up to the ']' */
      const char *end = memchr(c.s + c.i, ']', c.n - c.i);
      EXPECT(end, "sched line: a list value without its ']'");
      c.i = (size_t)(end - c.s) + 1;
      EXPECT(c.i == c.n || c.s[c.i] == ' ', "sched line: unexpected text after a list value");
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
  /* The list was validated and counted above: the arena gets one exact allocation. */
  size_t keep = count < max_procs ? count : max_procs;
  if (keep) {
    out.local_runq = mw__arena_calloc(a, keep, sizeof *out.local_runq);
    if (!out.local_runq) return MW_ENOMEM;
    c.i = list_at;
    runq_list(&c, out.local_runq, keep, &count, &sum);
  }
  out.n_local_runq = keep;
  out.local_runq_sum = sum;
  *s = out;
  return 0;
}
