/* Goroutine dumps in text (go-goroutine-dump.md): debug=2 blocks
 *   goroutine 19 [IO wait, 3 minutes]:
 *   internal/poll.runtime_pollWait(0x7efbe8732fc8, 0x72)
 *   	runtime/netpoll.go:305 +0x89
 *   created by main.main in goroutine 1
 *   	example.com/shop/checkout/main.go:158 +0x96
 * and debug=1 records
 *   3 @ 0x43b336 0x468135 0x6b7ac5 0x46b2c1
 *   # labels: {"span_id":"410e019b1857534d"}
 *   #	0x468134	time.Sleep+0x134	runtime/time.go:195
 * Both are read line by line with a small state machine; a line that fits
 * nowhere is counted and skipped, so output cut at 64 MiB or mixed with a
 * panic's other lines still yields every complete record. Records are built in
 * the parser and appended to an arena array that doubles as it fills, so memory
 * follows what was read, never what a header claims. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memrchr, memmem */
#endif
#include "decode/goroutines.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "core/error.h"

/* ---- text helpers ------------------------------------------------------- */

static int starts(const char *s, size_t n, const char *p) {
  size_t m = strlen(p);
  return n >= m && memcmp(s, p, m) == 0;
}

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hexval(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* A decimal of 1..18 digits (fits int64) at *p; advances. */
static int dec(const char **p, const char *end, int64_t *v) {
  const char *q = *p;
  int64_t x = 0;
  while (q < end && is_digit(*q)) {
    if (q - *p == 18) return 0;
    x = x * 10 + (*q - '0');
    q++;
  }
  if (q == *p) return 0;
  *p = q;
  *v = x;
  return 1;
}

/* "0x" then 1..16 hex digits; advances. */
static int hex_u64(const char **p, const char *end, uint64_t *v) {
  const char *q = *p;
  if (end - q < 3 || q[0] != '0' || q[1] != 'x') return 0;
  q += 2;
  const char *d = q;
  uint64_t x = 0;
  while (q < end && hexval(*q) >= 0) {
    if (q - d == 16) return 0;
    x = x << 4 | (uint64_t)hexval(*q);
    q++;
  }
  if (q == d) return 0;
  *p = q;
  *v = x;
  return 1;
}

static int lit(const char **p, const char *end, const char *s) {
  size_t m = strlen(s);
  if ((size_t)(end - *p) < m || memcmp(*p, s, m) != 0) return 0;
  *p += m;
  return 1;
}

static void skip_ws(const char **p, const char *end) {
  while (*p < end && (**p == ' ' || **p == '\t')) (*p)++;
}

/* ---- Go quoted strings ---------------------------------------------------- */

static size_t utf8_put(char *o, uint32_t r) {
  if (r < 0x80) {
    o[0] = (char)r;
    return 1;
  }
  if (r < 0x800) {
    o[0] = (char)(0xC0 | r >> 6);
    o[1] = (char)(0x80 | (r & 0x3F));
    return 2;
  }
  if (r < 0x10000) {
    o[0] = (char)(0xE0 | r >> 12);
    o[1] = (char)(0x80 | (r >> 6 & 0x3F));
    o[2] = (char)(0x80 | (r & 0x3F));
    return 3;
  }
  o[0] = (char)(0xF0 | r >> 18);
  o[1] = (char)(0x80 | (r >> 12 & 0x3F));
  o[2] = (char)(0x80 | (r >> 6 & 0x3F));
  o[3] = (char)(0x80 | (r & 0x3F));
  return 4;
}

/* n hex digits at r (bounds already checked by the caller). */
static int hexn(const char *r, int n, uint32_t *v) {
  uint32_t x = 0;
  for (int i = 0; i < n; i++) {
    int h = hexval(r[i]);
    if (h < 0) return 0;
    x = x << 4 | (uint32_t)h;
  }
  *v = x;
  return 1;
}

int mw__go_unquote(mw_arena *a, const char **sp, const char *end, const char **out) {
  const char *s = *sp;
  if (s >= end || *s != '"') return MW_EINVAL;
  const char *q = s + 1;
  while (q < end && *q != '"') q += *q == '\\' ? 2 : 1;
  if (q >= end) return MW_EINVAL;
  /* Every escape is at least as long as what it decodes to. */
  char *buf = mw__arena_alloc(a, (size_t)(q - s));
  if (!buf) return MW_ENOMEM;
  size_t k = 0;
  for (const char *r = s + 1; r < q;) {
    if (*r != '\\') {
      buf[k++] = *r++;
      continue;
    }
    char e = r[1];
    r += 2;
    uint32_t v;
    switch (e) {
    case 'a': buf[k++] = '\a'; break;
    case 'b': buf[k++] = '\b'; break;
    case 'f': buf[k++] = '\f'; break;
    case 'n': buf[k++] = '\n'; break;
    case 'r': buf[k++] = '\r'; break;
    case 't': buf[k++] = '\t'; break;
    case 'v': buf[k++] = '\v'; break;
    case '\\':
    case '\'':
    case '"': buf[k++] = e; break;
    case 'x':
      if (q - r < 2 || !hexn(r, 2, &v)) return MW_EINVAL;
      buf[k++] = (char)v;
      r += 2;
      break;
    case 'u':
    case 'U': {
      int nd = e == 'u' ? 4 : 8;
      if (q - r < nd || !hexn(r, nd, &v)) return MW_EINVAL;
      if (v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF)) return MW_EINVAL;
      k += utf8_put(buf + k, v);
      r += nd;
      break;
    }
    default:
      if (e >= '0' && e <= '7') { /* exactly three octal digits, <= 0377 */
        if (q - r < 2 || r[0] < '0' || r[0] > '7' || r[1] < '0' || r[1] > '7') return MW_EINVAL;
        v = (uint32_t)(e - '0') << 6 | (uint32_t)(r[0] - '0') << 3 | (uint32_t)(r[1] - '0');
        if (v > 0xFF) return MW_EINVAL;
        buf[k++] = (char)v;
        r += 2;
        break;
      }
      return MW_EINVAL;
    }
  }
  buf[k] = '\0';
  *sp = q + 1;
  *out = buf;
  return 0;
}

/* ---- parser state ------------------------------------------------------- */

enum pending { P_NONE, P_FRAME_LOC, P_CREATOR_LOC, P_DROPPED_LOC };

typedef struct parser {
  mw_arena *a;
  mw_goroutine_opts o;
  mw_goroutine_dump *out;
  size_t cap; /* capacity of out->g */
  int active; /* g is a record being read */
  mw_goroutine g;
  size_t labels_cap;
  mw_frame *fr; /* frames of g (scratch, reused; copied out by finish) */
  size_t nfr, capfr;
  mw_frame creator;
  int has_creator;
  enum pending pending; /* what a following tab-indented location line belongs to */
  int in_ancestor;      /* inside `[originating from goroutine N]:` */
  /* debug=1: the raw leaf PC and the PC of the first printed frame */
  uint64_t at0, first_pc;
  int has_at0, has_first_pc;
} parser;

static const char *dupn(parser *p, const char *s, size_t n) { return mw__arena_strndup(p->a, s, n); }

/* Appends a frame (func only; "?" location) or drops it past max_frames. */
static int add_frame(parser *p, const char *func, size_t n) {
  if (p->nfr >= p->o.max_frames) {
    p->g.stack.truncated = 1;
    p->pending = P_DROPPED_LOC;
    return 0;
  }
  if (p->nfr == p->capfr) {
    size_t ncap = p->capfr ? p->capfr * 2 : 32;
    if (ncap > p->o.max_frames) ncap = p->o.max_frames;
    mw_frame *nf = mw__arena_alloc(p->a, ncap * sizeof *nf);
    if (!nf) return MW_ENOMEM;
    if (p->nfr) memcpy(nf, p->fr, p->nfr * sizeof *nf);
    p->fr = nf;
    p->capfr = ncap;
  }
  const char *f = dupn(p, func, n);
  if (!f) return MW_ENOMEM;
  p->fr[p->nfr++] = (mw_frame){.func = f, .file = "?", .line = 0};
  p->pending = P_FRAME_LOC;
  return 0;
}

/* `FILE:LINE[ +0xOFF][ fp=0x.. sp=0x.. pc=0x..]`, split at the last colon
 * (Windows paths have one of their own). */
static int parse_location(parser *p, const char *s, size_t n, mw_frame *f) {
  const char *fp = memmem(s, n, " fp=0x", 6);
  if (fp) n = (size_t)(fp - s);
  for (size_t i = n; i-- > 0;) { /* a trailing " +0x<hex>" */
    if (s[i] == ' ') {
      const char *q = s + i + 1;
      uint64_t off;
      if (lit(&q, s + n, "+") && hex_u64(&q, s + n, &off) && q == s + n) n = i;
      break;
    }
  }
  while (n && (s[n - 1] == ' ' || s[n - 1] == '\t')) n--;
  const char *colon = memrchr(s, ':', n);
  int64_t line = 0;
  size_t flen = n;
  if (colon) {
    const char *q = colon + 1;
    if (dec(&q, s + n, &line) && q == s + n) flen = (size_t)(colon - s);
    else line = 0;
  }
  const char *file = flen ? dupn(p, s, flen) : "?";
  if (!file) return MW_ENOMEM;
  f->file = file;
  f->line = line;
  return 0;
}

/* A free slot at the end of g.labels, or NULL when the arena is exhausted. */
static mw_label *label_slot(parser *p) {
  if (!p->g.labels || p->g.n_labels == p->labels_cap) {
    size_t ncap = p->labels_cap ? p->labels_cap * 2 : 8;
    mw_label *nl = mw__arena_alloc(p->a, ncap * sizeof *nl);
    if (!nl) return NULL;
    if (p->g.n_labels) memcpy(nl, p->g.labels, p->g.n_labels * sizeof *nl);
    p->g.labels = nl;
    p->labels_cap = ncap;
  }
  return &p->g.labels[p->g.n_labels++];
}

/* One key or value: Go-quoted, or bare up to a delimiter (keys also stop at
 * ':'). Go 1.27 leaves unquoted what needs no escaping, the empty string
 * included (`{k: , : v}`): an empty bare token is read when a delimiter
 * follows. */
static int label_token(parser *p, const char **sp, const char *end, int is_key, const char **out) {
  const char *s = *sp;
  if (s < end && *s == '"') return mw__go_unquote(p->a, sp, end, out);
  while (s < end && *s != ',' && *s != '}' && *s != ' ' && *s != '"' && (!is_key || *s != ':')) s++;
  if (s == *sp && !(s < end && (is_key ? *s == ':' : *s == ',' || *s == '}'))) return MW_EINVAL;
  if (!(*out = dupn(p, *sp, (size_t)(s - *sp)))) return MW_ENOMEM;
  *sp = s;
  return 0;
}

/* A label map `{"k":"v", ...}` (debug=1), `{"k": "v"}` (Go 1.26 header) or
 * Go 1.27's `{k: v, "k 2": "v 2"}` (runtime/traceback.go: a key or value is
 * quoted only when it has characters other than letters, digits, '.', '/'
 * and '_'): quoted or bare keys and values. Replaces g.labels; on failure the
 * record keeps no labels. */
static int parse_labels(parser *p, const char **sp, const char *end) {
  const char *s = *sp;
  int rc = MW_EINVAL;
  p->g.n_labels = 0;
  if (!lit(&s, end, "{")) return MW_EINVAL;
  skip_ws(&s, end);
  if (!lit(&s, end, "}")) {
    for (;;) {
      const char *key, *val;
      if ((rc = label_token(p, &s, end, 1, &key)) != 0) goto fail;
      skip_ws(&s, end);
      rc = MW_EINVAL;
      if (!lit(&s, end, ":")) goto fail;
      skip_ws(&s, end);
      if ((rc = label_token(p, &s, end, 0, &val)) != 0) goto fail;
      if (p->g.n_labels < p->o.max_labels) {
        mw_label *slot = label_slot(p);
        rc = MW_ENOMEM;
        if (!slot) goto fail;
        *slot = (mw_label){.key = key, .str = val};
      }
      skip_ws(&s, end);
      if (lit(&s, end, "}")) break;
      rc = MW_EINVAL;
      if (!lit(&s, end, ",")) goto fail;
      skip_ws(&s, end);
    }
  }
  *sp = s;
  return 0;
fail:
  p->g.n_labels = 0;
  return rc;
}

/* Starts a record: past max_goroutines the parse ends with MW_ETOOBIG. */
static int begin(parser *p) {
  if (p->out->n >= p->o.max_goroutines) {
    p->out->truncated = 1;
    snprintf(p->out->err, sizeof p->out->err, "more than %zu goroutine records (max_goroutines)", p->o.max_goroutines);
    return MW_ETOOBIG;
  }
  p->active = 1;
  p->g = (mw_goroutine){.wait_minutes = -1, .count = 1};
  p->labels_cap = 0;
  p->nfr = 0;
  p->has_creator = 0;
  p->pending = P_NONE;
  p->in_ancestor = 0;
  p->has_at0 = p->has_first_pc = 0;
  return 0;
}

/* Ends the record being read (if any) and appends it to out. */
static int finish(parser *p) {
  if (!p->active) return 0;
  p->active = 0;
  mw_goroutine *g = &p->g;
  if (p->nfr) {
    g->stack.frames = mw__arena_memdup(p->a, p->fr, p->nfr * sizeof *p->fr);
    if (!g->stack.frames) return MW_ENOMEM;
  }
  g->stack.n_frames = p->nfr;
  if (p->has_creator) {
    mw_frame *c = mw__arena_memdup(p->a, &p->creator, sizeof p->creator);
    if (!c) return MW_ENOMEM;
    g->created_by = c;
  }
  if (p->out->format == 2) {
    g->state = mw__gstate_from_wait_reason(g->wait_reason);
    /* Before Go 1.25 a WaitGroup waiter shows "semacquire" like a Mutex
     * waiter; the stack tells them apart (see gstate.c). */
    if (g->state == MW_G_MUTEX && g->wait_reason && strcmp(g->wait_reason, "semacquire") == 0 &&
        mw__gstate_infer(&g->stack) == MW_G_COND)
      g->state = MW_G_COND;
  } else {
    g->state = mw__gstate_infer(&g->stack);
    /* debug=1 hides the leading runtime frames. When the raw leaf PC is not
     * the first printed frame's (which is PC-1, or PC at a function entry),
     * the goroutine was inside the runtime: parked for a reason the symbols
     * no longer show (a channel receive shows only the user frame), not
     * runnable. */
    if (g->state == MW_G_RUNNABLE && p->has_at0 && p->has_first_pc && p->first_pc + 1 != p->at0 &&
        p->first_pc != p->at0)
      g->state = MW_G_OTHER;
  }
  if (p->out->n == p->cap) {
    size_t ncap = p->cap ? p->cap * 2 : 64;
    mw_goroutine *ng = mw__arena_alloc(p->a, ncap * sizeof *ng);
    if (!ng) return MW_ENOMEM;
    if (p->out->n) memcpy(ng, p->out->g, p->out->n * sizeof *ng);
    p->out->g = ng;
    p->cap = ncap;
  }
  p->out->g[p->out->n++] = *g;
  p->out->total = p->out->total > INT64_MAX - g->count ? INT64_MAX : p->out->total + g->count;
  return 0;
}

/* ---- debug=2 ------------------------------------------------------------ */

static int is_header(const char *s, size_t n) { return starts(s, n, "goroutine ") && n > 10 && is_digit(s[10]); }

/* `, N minutes` at s? */
static int minutes_at(const char *s, const char *end, int64_t *mins) {
  const char *q = s;
  return lit(&q, end, ", ") && dec(&q, end, mins) && lit(&q, end, " minutes");
}

#define BUBBLE ", synctest bubble "

static int labels_at(const char *s, const char *end) {
  const char *q = s;
  return lit(&q, end, " labels:{") || lit(&q, end, ", labels:{");
}

/* `goroutine N[ gp=.. m=..] [status[ (leaked)][ (scan)][ (durable)][, N minutes][, locked to thread]
 *  [, synctest bubble N][ labels:{..}]][ {..}]:` into p->g (begin() already called): Go 1.27's
 * goroutineheader in runtime/traceback.go. " (leaked)" (the goroutine leak
 * detector's mark) and " (durable)" (a wait only a testing/synctest bubble
 * can end; part of some reasons' own names) stay in the wait reason;
 * " (scan)" is a flag of its own and is taken out of it. Returns 1, 0 when
 * the line is not a header after all, or MW_ENOMEM. */
static int parse_header(parser *p, const char *s, size_t n) {
  const char *q = s + 10, *end = s + n;
  mw_goroutine *g = &p->g;
  if (!dec(&q, end, &g->id)) return 0;
  const char *lb = memchr(q, '[', (size_t)(end - q));
  if (!lb || lb[-1] != ' ' || (q != lb - 1 && *q != ' ')) return 0;
  const char *e = end;
  while (e > lb && (e[-1] == ' ' || e[-1] == '\t')) e--;
  if (e == lb || e[-1] != ':') return 0;
  e--; /* the final ':' */

  /* The status is free text (wait reasons have spaces and parentheses) up to
   * the first of the fixed suffixes. */
  const char *st = lb + 1, *r = st;
  int64_t mins = -1;
  while (r < e && *r != ']' && !starts(r, (size_t)(e - r), ", locked to thread") &&
         !starts(r, (size_t)(e - r), BUBBLE) && !labels_at(r, e) && !minutes_at(r, e, &mins))
    r++;
  const char *scan = memmem(st, (size_t)(r - st), " (scan)", 7);
  if (scan) {
    char *w = mw__arena_alloc(p->a, (size_t)(r - st) - 7 + 1);
    if (!w) return MW_ENOMEM;
    memcpy(w, st, (size_t)(scan - st));
    memcpy(w + (scan - st), scan + 7, (size_t)(r - scan - 7));
    w[r - st - 7] = '\0';
    g->wait_reason = w;
    g->scan = 1;
  } else if (!(g->wait_reason = dupn(p, st, (size_t)(r - st)))) {
    return MW_ENOMEM;
  }
  if (minutes_at(r, e, &mins)) {
    lit(&r, e, ", ");
    dec(&r, e, &g->wait_minutes);
    lit(&r, e, " minutes");
  }
  if (lit(&r, e, ", locked to thread")) g->locked_to_thread = 1;
  int64_t bubble;
  if (lit(&r, e, BUBBLE)) dec(&r, e, &bubble); /* which bubble says nothing about the wait */
  int have_labels = 0;
  if (labels_at(r, e)) {
    r = memchr(r, '{', (size_t)(e - r));
    int rc = parse_labels(p, &r, e);
    if (rc == MW_ENOMEM) return rc;
    have_labels = rc == 0;
  }
  if (r >= e || *r != ']') { /* unreadable labels: resynchronise on the last ']' */
    const char *rb = memrchr(r, ']', (size_t)(e - r));
    if (!rb) return 0;
    r = rb;
  }
  r++;
  /* Go 1.27: the labels between ']' and ':'. */
  skip_ws(&r, e);
  if (!have_labels && r < e && *r == '{') {
    int rc = parse_labels(p, &r, e);
    if (rc == MW_ENOMEM) return rc;
  }
  return 1;
}

/* `created by F[ in goroutine N]` */
static int parse_creator(parser *p, const char *s, size_t n) {
  const char *f = s + 11, *end = s + n;
  const char *in = NULL;
  for (const char *q = f; (q = memmem(q, (size_t)(end - q), " in goroutine ", 14)); q++) in = q;
  const char *fend = end;
  if (in) {
    const char *q = in + 14;
    int64_t id;
    if (dec(&q, end, &id) && q == end) {
      p->g.creator_id = id;
      fend = in;
    }
  }
  while (fend > f && fend[-1] == ' ') fend--;
  const char *func = fend > f ? dupn(p, f, (size_t)(fend - f)) : "?";
  if (!func) return MW_ENOMEM;
  p->creator = (mw_frame){.func = func, .file = "?", .line = 0};
  p->has_creator = 1;
  p->pending = P_CREATOR_LOC;
  return 0;
}

/* `FUNC(args)`: the function name ends at the last '(' (args hold no
 * parentheses, names can: `pkg.(*T).M`). Returns the name's length or 0. */
static size_t func_line(const char *s, size_t n) {
  if (n < 3 || s[n - 1] != ')') return 0;
  const char *lp = memrchr(s, '(', n - 1);
  if (!lp || lp == s) return 0;
  for (const char *q = s; q < lp; q++)
    if (*q == ' ' || *q == '\t') return 0;
  return (size_t)(lp - s);
}

static int elided(const char *s, size_t n) {
  if (starts(s, n, "...additional frames elided...")) return 1;
  const char *q = s, *end = s + n;
  int64_t k;
  return lit(&q, end, "...") && dec(&q, end, &k) && lit(&q, end, " frames elided...");
}

static int line2(parser *p, const char *s, size_t n) {
  mw_goroutine_dump *out = p->out;
  if (n == 0) return finish(p);
  if (is_header(s, n)) {
    int rc = finish(p);
    if (rc) return rc;
    if ((rc = begin(p)) != 0) return rc;
    rc = parse_header(p, s, n);
    if (rc < 0) return rc;
    if (rc == 0) {
      p->active = 0;
      out->lines_skipped++;
    }
    return 0;
  }
  if (!p->active || p->in_ancestor) {
    out->lines_skipped++;
    return 0;
  }
  if (s[0] == '\t') {
    enum pending pend = p->pending;
    p->pending = P_NONE;
    if (starts(s + 1, n - 1, "goroutine running on other thread; stack unavailable")) {
      p->g.stack_unavailable = 1;
      return 0;
    }
    if (pend == P_FRAME_LOC) return parse_location(p, s + 1, n - 1, &p->fr[p->nfr - 1]);
    if (pend == P_CREATOR_LOC) return parse_location(p, s + 1, n - 1, &p->creator);
    if (pend == P_DROPPED_LOC) return 0;
    out->lines_skipped++;
    return 0;
  }
  p->pending = P_NONE;
  if (elided(s, n)) {
    p->g.stack.truncated = 1;
    return 0;
  }
  if (starts(s, n, "created by ")) return parse_creator(p, s, n);
  if (starts(s, n, "[originating from goroutine ")) {
    p->in_ancestor = 1;
    out->lines_skipped++;
    return 0;
  }
  size_t fl = func_line(s, n);
  if (fl) return add_frame(p, s, fl);
  if (starts(s, n, "non-Go function")) { /* cgo: no location line follows */
    int rc = add_frame(p, "non-Go function", 15);
    p->pending = P_NONE;
    return rc;
  }
  out->lines_skipped++;
  return 0;
}

/* ---- debug=1 ------------------------------------------------------------ */

/* `#\t0xPC\tFUNC+0xOFF\tFILE:LINE` (tabwriter pads with runs of tabs), or
 * `#\t0xPC` without symbols. */
static int frame1(parser *p, const char *s, size_t n) {
  const char *f[3];
  size_t fn[3], nf = 0;
  const char *q = s + 1, *end = s + n;
  while (q < end && nf < 3) {
    while (q < end && *q == '\t') q++;
    if (q == end) break;
    const char *b = q;
    while (q < end && *q != '\t') q++;
    f[nf] = b;
    fn[nf++] = (size_t)(q - b);
  }
  if (nf == 0) return MW_EINVAL;
  const char *pq = f[0];
  uint64_t pc;
  if (!hex_u64(&pq, f[0] + fn[0], &pc) || pq != f[0] + fn[0]) return MW_EINVAL;
  size_t before = p->nfr;
  int rc;
  if (nf == 1) {
    rc = add_frame(p, "?", 1);
  } else {
    size_t len = fn[1];
    const char *plus = memrchr(f[1], '+', len);
    if (plus) { /* FUNC+0xOFF: the offset is not part of the name */
      const char *o = plus + 1;
      uint64_t off;
      if (hex_u64(&o, f[1] + len, &off) && o == f[1] + len && plus > f[1]) len = (size_t)(plus - f[1]);
    }
    rc = add_frame(p, f[1], len);
    if (!rc && nf == 3 && p->nfr > before) rc = parse_location(p, f[2], fn[2], &p->fr[p->nfr - 1]);
  }
  p->pending = P_NONE;
  if (!rc && !p->has_first_pc) {
    p->first_pc = pc;
    p->has_first_pc = 1;
  }
  return rc;
}

/* `COUNT @ 0xPC 0xPC ...` */
static int count_line(const char *s, size_t n, int64_t *count, uint64_t *at0, int *has_at0) {
  const char *q = s, *end = s + n;
  if (!dec(&q, end, count) || !lit(&q, end, " @")) return 0;
  *has_at0 = 0;
  while (q < end) {
    uint64_t pc;
    if (!lit(&q, end, " ") || !hex_u64(&q, end, &pc)) return 0;
    if (!*has_at0) {
      *at0 = pc;
      *has_at0 = 1;
    }
  }
  return 1;
}

static int line1(parser *p, const char *s, size_t n) {
  mw_goroutine_dump *out = p->out;
  if (n == 0) return finish(p);
  int64_t count;
  uint64_t at0 = 0;
  int has_at0;
  if (is_digit(s[0]) && count_line(s, n, &count, &at0, &has_at0)) {
    int rc = finish(p);
    if (rc || (rc = begin(p)) != 0) return rc;
    p->g.count = count;
    p->at0 = at0;
    p->has_at0 = has_at0;
    return 0;
  }
  if (p->active && starts(s, n, "# labels: ")) {
    const char *q = s + 10;
    int rc = parse_labels(p, &q, s + n);
    if (rc == MW_ENOMEM) return rc;
    if (rc) out->lines_skipped++;
    return 0;
  }
  if (p->active && starts(s, n, "#\t")) {
    int rc = frame1(p, s, n);
    if (rc == MW_ENOMEM) return rc;
    if (rc) out->lines_skipped++;
    return 0;
  }
  out->lines_skipped++;
  return 0;
}

/* ---- entry point -------------------------------------------------------- */

int mw__goroutines_parse_text(mw_arena *a, const char *data, size_t len, const mw_goroutine_opts *opts,
                              mw_goroutine_dump *out) {
  parser p = {.a = a, .o = MW_GOROUTINE_OPTS_DEFAULT, .out = out};
  if (opts) {
    if (opts->max_goroutines) p.o.max_goroutines = opts->max_goroutines;
    if (opts->max_frames) p.o.max_frames = opts->max_frames;
    if (opts->max_line) p.o.max_line = opts->max_line;
    if (opts->max_labels) p.o.max_labels = opts->max_labels;
  }
  memset(out, 0, sizeof *out);
  out->claimed_total = -1;
  int rc = 0;
  size_t pos = 0;
  while (pos < len && rc == 0) {
    const char *s = data + pos;
    const char *nl = memchr(s, '\n', len - pos);
    size_t n = nl ? (size_t)(nl - s) : len - pos;
    pos += n + (nl ? 1 : 0);
    out->lines_total++;
    if (n > p.o.max_line) { /* never looked at; it also breaks any pending frame */
      out->lines_skipped++;
      p.pending = P_NONE;
      continue;
    }
    if (n && s[n - 1] == '\r') n--;
    if (out->format == 0) {
      /* Undecided: whatever precedes the first header (a panic message, a
       * blank line) is skipped. */
      int leak = starts(s, n, "goroutineleak profile: total ");
      if (leak || starts(s, n, "goroutine profile: total ")) {
        const char *q = s + (leak ? 29 : 25);
        int64_t t;
        out->format = 1;
        out->leak = leak;
        if (dec(&q, s + n, &t)) out->claimed_total = t;
        continue;
      }
      if (!is_header(s, n)) {
        if (n) out->lines_skipped++;
        continue;
      }
      out->format = 2;
    }
    rc = out->format == 2 ? line2(&p, s, n) : line1(&p, s, n);
  }
  if (rc == 0) rc = finish(&p);
  if (rc == MW_ENOMEM && !out->err[0]) snprintf(out->err, sizeof out->err, "arena exhausted");
  if (rc) return rc;
  /* A goroutine profile has at least the goroutine that wrote it; a leak
   * profile of a service without leaks is "total 0" and nothing else. */
  if (out->format == 1 && out->n == 0 && !(out->leak && out->claimed_total == 0)) {
    out->format = 0;
    char total[40] = "";
    if (out->claimed_total >= 0) snprintf(total, sizeof total, " (total %lld)", (long long)out->claimed_total);
    snprintf(out->err, sizeof out->err, "a debug=1 %s profile%s without one readable record in %zu lines",
             out->leak ? "goroutineleak" : "goroutine", total, out->lines_total);
    return MW_EINVAL;
  }
  if (out->format == 0 || (out->format == 2 && out->n == 0)) {
    out->format = 0;
    snprintf(out->err, sizeof out->err,
             "not a goroutine dump: no \"goroutine N [...]:\", \"goroutine profile:\" or "
             "\"goroutineleak profile:\" header in %zu lines",
             out->lines_total);
    return MW_EINVAL;
  }
  return 0;
}
