/* Go runtime stderr: the line splitter and classifier, and the gctrace line
 * grammar (go-gctrace.md). Schedtrace summary lines are handed to
 * schedtrace.c. The runtime writes each fragment of a line with its own
 * write(2), so a gc line can be cut in two by the service's own output: we
 * anchor on the leading keyword, demand the whole grammar, and count whatever
 * fails as malformed. Lines are parsed in place, by a cursor bounded by the
 * line's end; nothing is copied and no line needs a terminating NUL. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem */
#endif
#include "decode/runtime_text.h"

#include <stdint.h>
#include <string.h>

#include "core/error.h"
#include "decode/cursor.h"

/* A fraction's digits scaled to `scale` decimals (extra digits are truncated,
 * not an error: the runtime prints at most 3 but we are lenient). */
static int frac(cur *c, int scale, int64_t *v) {
  int64_t x = 0;
  int k = 0;
  size_t start = c->i;
  while (c->i < c->n && cur_is_digit(c->s[c->i])) {
    if (k < scale) {
      x = x * 10 + (c->s[c->i] - '0');
      k++;
    }
    c->i++;
  }
  if (c->i == start) return 0;
  for (; k < scale; k++) x *= 10;
  *v = x;
  return 1;
}

/* `MS`: whole ms (>= 10 ms) or ms with decimals; into ns. Up to 12 integer
 * digits (3e4 years) keeps the product inside int64. */
static int ms(cur *c, int64_t *ns) {
  int64_t ip, fp = 0;
  if (!cur_num(c, 12, &ip)) return 0;
  if (cur_eat(c, ".") && !frac(c, 6, &fp)) return 0;
  *ns = ip * 1000000 + fp;
  return 1;
}

/* `@S.SSS`: seconds, 3 decimals in practice; into ns. */
static int secs(cur *c, int64_t *ns) {
  int64_t ip, fp = 0;
  if (!cur_num(c, 9, &ip)) return 0;
  if (cur_eat(c, ".") && !frac(c, 9, &fp)) return 0;
  *ns = ip * 1000000000 + fp;
  return 1;
}

/* `MB`: truncated MiB into bytes; saturates (a GOGC=off goal can be absurd). */
static int mb(cur *c, int64_t *bytes) {
  int64_t m;
  if (!cur_num(c, 18, &m)) return 0;
  *bytes = m > (INT64_MAX >> 20) ? INT64_MAX : m << 20;
  return 1;
}

static int rest_blank(const cur *c) {
  for (size_t i = c->i; i < c->n; i++)
    if (c->s[i] != ' ' && c->s[i] != '\t') return 0;
  return 1;
}

/* ---- the gctrace line ----------------------------------------------------- */

int mw__gctrace_parse_line(const char *line, size_t len, mw_gc_cycle *gc, const char **why, size_t *at) {
  cur c = {line, 0, len};
  mw_gc_cycle g = {0};
  int64_t v;
  EXPECT(cur_eat(&c, "gc "), "gc line: expected \"gc \"");
  EXPECT(cur_num(&c, 18, &g.n), "gc line: bad cycle number");
  EXPECT(cur_eat(&c, " @"), "gc line: expected \" @\"");
  EXPECT(secs(&c, &g.offset_ns), "gc line: bad @ offset");
  EXPECT(cur_eat(&c, "s "), "gc line: expected \"s \" after the offset");
  EXPECT(cur_num(&c, 6, &v), "gc line: bad cpu percent");
  g.cpu_percent = (int)v;
  EXPECT(cur_eat(&c, "%: "), "gc line: expected \"%: \"");

  EXPECT(ms(&c, &g.stw_sweep_term_ns), "gc line: bad clock sweep termination");
  EXPECT(cur_eat(&c, "+"), "gc line: expected '+' in clock");
  EXPECT(ms(&c, &g.concurrent_mark_ns), "gc line: bad clock mark");
  EXPECT(cur_eat(&c, "+"), "gc line: expected '+' in clock");
  EXPECT(ms(&c, &g.stw_mark_term_ns), "gc line: bad clock mark termination");
  EXPECT(cur_eat(&c, " ms clock, "), "gc line: expected \" ms clock, \"");

  EXPECT(ms(&c, &g.stw1_cpu_ns), "gc line: bad cpu sweep termination");
  EXPECT(cur_eat(&c, "+"), "gc line: expected '+' in cpu");
  EXPECT(ms(&c, &g.assist_cpu_ns), "gc line: bad cpu assist");
  EXPECT(cur_eat(&c, "/"), "gc line: expected '/' in cpu");
  EXPECT(ms(&c, &g.background_cpu_ns), "gc line: bad cpu background");
  EXPECT(cur_eat(&c, "/"), "gc line: expected '/' in cpu");
  EXPECT(ms(&c, &g.idle_cpu_ns), "gc line: bad cpu idle");
  EXPECT(cur_eat(&c, "+"), "gc line: expected '+' in cpu");
  EXPECT(ms(&c, &g.stw2_cpu_ns), "gc line: bad cpu mark termination");
  EXPECT(cur_eat(&c, " ms cpu, "), "gc line: expected \" ms cpu, \"");

  EXPECT(mb(&c, &g.heap_before), "gc line: bad heap before");
  EXPECT(cur_eat(&c, "->"), "gc line: expected \"->\"");
  EXPECT(mb(&c, &g.heap_after), "gc line: bad heap after");
  EXPECT(cur_eat(&c, "->"), "gc line: expected \"->\"");
  EXPECT(mb(&c, &g.heap_live), "gc line: bad live heap");
  EXPECT(cur_eat(&c, " MB, "), "gc line: expected \" MB, \"");
  EXPECT(mb(&c, &g.goal), "gc line: bad goal");
  EXPECT(cur_eat(&c, " MB goal, "), "gc line: expected \" MB goal, \"");

  /* Go 1.18+ has stacks and globals before the P count; <= 1.17 goes to it. */
  size_t mark = c.i;
  EXPECT(cur_num(&c, 18, &v), "gc line: expected stacks or procs");
  if (cur_eat(&c, " MB stacks, ")) {
    c.i = mark;
    EXPECT(mb(&c, &g.stacks), "gc line: bad stacks");
    EXPECT(cur_eat(&c, " MB stacks, "), "gc line: expected \" MB stacks, \"");
    EXPECT(mb(&c, &g.globals), "gc line: bad globals");
    EXPECT(cur_eat(&c, " MB globals, "), "gc line: expected \" MB globals, \"");
    EXPECT(cur_num(&c, 9, &v), "gc line: bad procs");
  } else {
    EXPECT(v <= 999999999, "gc line: bad procs");
    g.stacks = g.globals = -1;
  }
  g.procs = (int)v;
  EXPECT(cur_eat(&c, " P"), "gc line: expected \" P\"");
  if (cur_eat(&c, " (forced)")) g.forced = 1;
  EXPECT(rest_blank(&c), "gc line: unexpected text after the P count");
  *gc = g;
  return 0;
}

/* ---- the stream --------------------------------------------------------- */

/* Grows an arena array to hold one more element (geometric: the arena cannot
 * realloc, so each growth copies and wastes the old block; doubling bounds the
 * waste to the final size). */
static int grow(mw_arena *a, void **arr, size_t *cap, size_t n, size_t elem) {
  if (n < *cap) return 0;
  size_t ncap = *cap ? *cap * 2 : 64;
  void *p = mw__arena_calloc(a, ncap, elem);
  if (!p) return MW_ENOMEM;
  if (n) memcpy(p, *arr, n * elem);
  *arr = p;
  *cap = ncap;
  return 0;
}

/* `<19-digit unix ns> `: every unix ns from 2001 to 2286 has 19 digits. */
static size_t strip_stamp(const char *s, size_t n, int64_t *stamp) {
  if (n < 20 || s[19] != ' ') return 0;
  uint64_t v = 0;
  for (int i = 0; i < 19; i++) {
    if (!cur_is_digit(s[i])) return 0;
    v = v * 10 + (uint64_t)(s[i] - '0'); /* 19 digits fit in uint64 */
  }
  if (v > INT64_MAX) return 0;
  *stamp = (int64_t)v;
  return 20;
}

static int starts(const char *s, size_t n, const char *p) {
  size_t m = strlen(p);
  return n >= m && memcmp(s, p, m) == 0;
}

enum kind { K_OTHER, K_GC, K_SCHED, K_RUNTIME, K_FRAGMENT };

/* What a line (stamp removed) claims to be. */
static enum kind classify(const char *s, size_t n) {
  if (starts(s, n, "gc ") && n > 3 && cur_is_digit(s[3])) return K_GC;
  if (starts(s, n, "SCHED ")) return K_SCHED;
  if (starts(s, n, "GC forced")) {
    cur c = {s, 9, n};
    if (rest_blank(&c)) return K_RUNTIME;
  }
  /* scavenger (scavtrace=1), Go <= 1.13 scvg lines, gcpacertrace */
  if ((starts(s, n, "scav ") && n > 5 && cur_is_digit(s[5])) || starts(s, n, "scvg") || starts(s, n, "pacer: "))
    return K_RUNTIME;
  /* scheddetail=1: "  P0: status=...", "  M3: p=...", "  G1: status=..." */
  if (starts(s, n, "  ")) {
    size_t i = 2;
    while (i < n && s[i] == ' ') i++;
    if (i + 2 < n && (s[i] == 'P' || s[i] == 'M' || s[i] == 'G') && cur_is_digit(s[i + 1])) {
      i++;
      while (i < n && cur_is_digit(s[i])) i++;
      if (i < n && s[i] == ':') return K_RUNTIME;
    }
  }
  /* the tail of a gc line whose head was cut off by other output */
  if (memmem(s, n, " ms clock, ", 11) || memmem(s, n, " ms cpu, ", 9) || memmem(s, n, " MB goal, ", 10) ||
      memmem(s, n, " MB stacks, ", 12))
    return K_FRAGMENT;
  return K_OTHER;
}

static void note_error(mw_runtime_text *out, size_t line, size_t col, const char *msg) {
  out->lines_malformed++;
  out->lines_skipped++;
  if (out->n_errors < MW_RUNTIME_TEXT_MAX_ERRORS)
    out->errors[out->n_errors++] = (mw_runtime_text_error){line, col, msg};
}

int mw__runtime_text_parse(mw_arena *a, const char *data, size_t len, const mw_runtime_text_opts *opts,
                           mw_runtime_text *out) {
  mw_runtime_text_opts o = MW_RUNTIME_TEXT_OPTS_DEFAULT;
  if (opts) {
    if (opts->max_line) o.max_line = opts->max_line;
    if (opts->max_records) o.max_records = opts->max_records;
    if (opts->max_procs) o.max_procs = opts->max_procs;
  }
  memset(out, 0, sizeof *out);
  size_t cap_gc = 0, cap_sched = 0;
  size_t pos = 0;
  while (pos < len) {
    const char *s = data + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    size_t lineno = ++out->lines_total;

    /* Decided on the length alone: a runaway line is never looked at. */
    if (n > o.max_line) {
      out->lines_too_long++;
      out->lines_skipped++;
      continue;
    }
    if (n && s[n - 1] == '\r') n--;
    int64_t stamp = 0;
    size_t skip = strip_stamp(s, n, &stamp);
    if (skip) out->lines_stamped++;
    s += skip;
    n -= skip;

    const char *why = NULL;
    size_t at = 0;
    switch (classify(s, n)) {
    case K_GC: {
      mw_gc_cycle g;
      if (mw__gctrace_parse_line(s, n, &g, &why, &at) != 0) {
        note_error(out, lineno, at + 1, why);
        break;
      }
      if (out->n_gc + out->n_sched >= o.max_records) {
        out->truncated = 1;
        return MW_ETOOBIG;
      }
      if (grow(a, (void **)&out->gc, &cap_gc, out->n_gc, sizeof *out->gc)) return MW_ENOMEM;
      g.stamp_ns = stamp;
      out->gc[out->n_gc++] = g;
      out->lines_runtime++;
      break;
    }
    case K_SCHED: {
      mw_sched_sample smp;
      int rc = mw__schedtrace_parse_line(a, s, n, o.max_procs, &smp, &why, &at);
      if (rc == MW_ENOMEM) return rc;
      if (rc != 0) {
        note_error(out, lineno, at + 1, why);
        break;
      }
      if (out->n_gc + out->n_sched >= o.max_records) {
        out->truncated = 1;
        return MW_ETOOBIG;
      }
      if (grow(a, (void **)&out->sched, &cap_sched, out->n_sched, sizeof *out->sched)) return MW_ENOMEM;
      smp.stamp_ns = stamp;
      out->sched[out->n_sched++] = smp;
      out->lines_runtime++;
      break;
    }
    case K_RUNTIME: out->lines_runtime++; break;
    case K_FRAGMENT: note_error(out, lineno, 1, "fragment of a gc line (split by other output)"); break;
    case K_OTHER: out->lines_skipped++; break;
    }
  }
  return 0;
}
