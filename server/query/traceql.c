/* The TraceQL subset (docs/TRACEQL.md): a hand-written recursive-descent
 * parser over the bytes of the query, straight into a tree of comparisons in
 * the caller's arena, and an evaluator of that tree on one span.
 *
 *   query   := sexpr
 *   sexpr   := sterm ( ( '&&' | '||' ) sterm )*       (one precedence, left first)
 *   sterm   := sprim ( structural sprim )*   (>> > << < ~, !>> !> !<< !< !~, &>> &> &<< &< &~)
 *   sprim   := spanset | '(' sexpr ')'
 *   spanset := '{' [ or ] '}'
 *   or      := primary ( ( '&&' | '||' ) primary )*  (one precedence, left first)
 *   primary := '(' or ')' | field op literal
 *
 * The spanset operators follow Tempo's grammar (pkg/traceql/expr.y: `&&` and
 * `||` share one precedence and group from the left; the structural
 * operators bind tighter) and its evaluation (ast_execute.go): the query is
 * evaluated on one trace at a time, over all its spans, into the set of
 * spans it selects (mw__tql_eval_trace). A query of spansets joined by `||`
 * alone selects span by span (mw__tql_match is exact for it).
 *
 * Everything else TraceQL has (pipelines, aggregates, arithmetic, other
 * scopes and intrinsics) is recognised well enough to be named in the
 * error, and refused. Regular expressions are
 * RE2's syntax checked and rewritten here into POSIX extended syntax for
 * libc's regcomp, fully anchored as Tempo anchors them; RE2 syntax that
 * POSIX cannot say is refused. */
#include "query/traceql.h"

#include <regex.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"

enum field { F_NAME, F_STATUS, F_KIND, F_DURATION, F_SPAN_ATTR, F_RES_ATTR, F_ANY_ATTR };
enum op { OP_EQ, OP_NE, OP_GT, OP_GE, OP_LT, OP_LE, OP_RE, OP_NRE };
enum lit { L_STR, L_INT, L_FLOAT, L_BOOL, L_DUR, L_STATUS, L_KIND };
enum node_kind { N_TRUE, N_AND, N_OR, N_CMP };

typedef struct node {
  int kind;
  const struct node *l, *r; /* N_AND, N_OR */
  int field, op, lit;       /* N_CMP */
  const char *key;          /* attribute key */
  const char *s;            /* L_STR */
  int64_t i;                /* L_INT, L_BOOL, L_DUR, L_STATUS, L_KIND */
  double d;                 /* L_FLOAT */
  regex_t *re;              /* OP_RE, OP_NRE */
} node;

/* A spanset expression: a filter, or an operator between two. */
enum ss_op { SS_FILTER, SS_AND, SS_UNION, SS_REL };
/* The relations of the structural operators: rel(j, i) when span i is the
 * ... of span j. */
enum ss_rel { R_DESC, R_CHILD, R_ANC, R_PARENT, R_SIBL };
/* How a structural operator uses it: the right side's spans in relation
 * (>>), not in relation (!>>), or both sides' spans in relation (&>>). */
enum ss_mode { M_PLAIN, M_NOT, M_UNION };
typedef struct ssnode {
  int op, rel, mode;          /* rel, mode: SS_REL */
  const struct ssnode *l, *r; /* the operators */
  const node *filter;         /* SS_FILTER */
} ssnode;

struct mw_tql {
  const node *root;  /* per span: the spanset filters joined by ||  */
  const ssnode *top; /* the spanset expression */
  int trace_level;   /* top has an operator other than || */
  int has_filter;    /* some filter is not { } */
  regex_t *re[MW_TQL_MAX_REGEX];
  size_t n_re;
};

typedef struct parser {
  mw_arena *a;
  const char *q;
  size_t len, pos;
  int depth;
  size_t conds;
  mw_tql *t;
  char *err;
  size_t errsz;
  int rc;
} parser;

static const char *const op_names[] = {"=", "!=", ">", ">=", "<", "<=", "=~", "!~"};
static const char *const lit_names[] = {"a string",   "an integer", "a float", "a boolean",
                                        "a duration", "a status",   "a kind"};

/* Records the first error (the one the user needs) and returns rc. */
__attribute__((format(printf, 4, 5))) static int fail_at(parser *p, size_t pos, int rc, const char *fmt, ...) {
  if (p->rc) return p->rc;
  p->rc = rc;
  if (!p->errsz) return rc;
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(p->err, p->errsz, fmt, ap);
  va_end(ap);
  if (n >= 0 && (size_t)n < p->errsz && rc == MW_EINVAL)
    snprintf(p->err + n, p->errsz - (size_t)n, " at column %zu", pos + 1);
  return rc;
}
#define FAIL(p, pos, ...) fail_at(p, pos, MW_EINVAL, __VA_ARGS__)

static int oom(parser *p) { return fail_at(p, p->pos, MW_ENOMEM, "out of memory parsing the TraceQL query"); }

static int at_end(const parser *p) { return p->pos >= p->len; }
static int peek(const parser *p, size_t k) { return p->pos + k < p->len ? (unsigned char)p->q[p->pos + k] : -1; }
static int is_space(int c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
static int is_digit(int c) { return c >= '0' && c <= '9'; }
static int is_alpha(int c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
static int is_word(int c) { return is_alpha(c) || is_digit(c) || c == '_'; }
static void skip_ws(parser *p) {
  while (!at_end(p) && is_space(peek(p, 0))) p->pos++;
}
static int starts(const parser *p, const char *s) {
  size_t n = strlen(s);
  return p->len - p->pos >= n && memcmp(p->q + p->pos, s, n) == 0;
}

/* A short quote of the query from pos for errors, in printable ASCII. */
static const char *excerpt(const parser *p, size_t pos, char *buf, size_t bufsz) {
  size_t n = 0;
  for (size_t i = pos; i < p->len && n + 1 < bufsz && n < 16; i++) {
    unsigned char c = (unsigned char)p->q[i];
    if (is_space(c) && n) break;
    buf[n++] = (c < 0x20 || c >= 0x7f) ? '?' : (char)c; /* ASCII only: the message goes into JSON */
  }
  buf[n] = 0;
  return n ? buf : "end of query";
}

/* ---- literals ---------------------------------------------------------- */

static int hexval(int c) {
  if (is_digit(c)) return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

static size_t put_utf8(char *o, uint32_t cp) {
  if (cp < 0x80) return o[0] = (char)cp, 1;
  if (cp < 0x800) return o[0] = (char)(0xc0 | cp >> 6), o[1] = (char)(0x80 | (cp & 0x3f)), 2;
  if (cp < 0x10000) {
    o[0] = (char)(0xe0 | cp >> 12), o[1] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[2] = (char)(0x80 | (cp & 0x3f));
    return 3;
  }
  o[0] = (char)(0xf0 | cp >> 18), o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
  o[2] = (char)(0x80 | ((cp >> 6) & 0x3f)), o[3] = (char)(0x80 | (cp & 0x3f));
  return 4;
}

/* A Go string literal: "..." with Go's escapes, or `...` raw. */
static int parse_string(parser *p, const char **out) {
  size_t start = p->pos;
  int quote = peek(p, 0);
  p->pos++;
  char *o = mw__arena_alloc(p->a, p->len - p->pos + 1);
  if (!o) return oom(p);
  size_t n = 0;
  for (;;) {
    if (at_end(p)) return FAIL(p, start, "unterminated string");
    int c = peek(p, 0);
    if (c == quote) {
      p->pos++;
      break;
    }
    if (c == 0) return FAIL(p, p->pos, "NUL byte in string");
    if (quote == '"' && c == '\n') return FAIL(p, p->pos, "newline in string");
    if (quote == '`' || c != '\\') {
      o[n++] = (char)c;
      p->pos++;
      continue;
    }
    size_t esc = p->pos;
    int e = peek(p, 1);
    p->pos += 2;
    switch (e) {
    case '\\': o[n++] = '\\'; break;
    case '"': o[n++] = '"'; break;
    case 'n': o[n++] = '\n'; break;
    case 't': o[n++] = '\t'; break;
    case 'r': o[n++] = '\r'; break;
    case 'a': o[n++] = '\a'; break;
    case 'b': o[n++] = '\b'; break;
    case 'f': o[n++] = '\f'; break;
    case 'v': o[n++] = '\v'; break;
    case 'x':
    case 'u':
    case 'U': {
      int digits = e == 'x' ? 2 : e == 'u' ? 4 : 8;
      uint32_t v = 0;
      for (int k = 0; k < digits; k++) {
        int h = hexval(peek(p, 0));
        if (h < 0) return FAIL(p, esc, "malformed \\%c escape in string", e);
        v = v << 4 | (uint32_t)h;
        p->pos++;
      }
      if (v == 0) return FAIL(p, esc, "NUL byte in string");
      if (e == 'x') o[n++] = (char)v;
      else if (v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return FAIL(p, esc, "escape \\%c names no Unicode character", e);
      else n += put_utf8(o + n, v);
      break;
    }
    default:
      if (e < 0) return FAIL(p, start, "unterminated string");
      return FAIL(p, esc, "unsupported escape '\\%c' in string (Go's escapes are, but for octal)",
                  e >= 0x20 && e < 0x7f ? e : '?');
    }
  }
  o[n] = 0;
  *out = o;
  return MW_OK;
}

/* Go's time.ParseDuration units, and Prometheus's d, w, y as Tempo takes them. */
static int64_t unit_ns(const char *u, size_t n) {
  static const struct {
    const char *name;
    int64_t ns;
  } units[] = {{"ns", 1},
               {"us", 1000},
               {"\xc2\xb5s", 1000},
               {"\xce\xbcs", 1000},
               {"ms", 1000000},
               {"s", 1000000000},
               {"m", 60 * (int64_t)1000000000},
               {"h", 3600 * (int64_t)1000000000},
               {"d", 86400 * (int64_t)1000000000},
               {"w", 7 * 86400 * (int64_t)1000000000},
               {"y", 365 * 86400 * (int64_t)1000000000}};
  for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
    if (strlen(units[i].name) == n && memcmp(units[i].name, u, n) == 0) return units[i].ns;
  return 0;
}

static int is_unit_byte(int c) {
  return c == 'n' || c == 'u' || c == 'm' || c == 's' || c == 'h' || c == 'd' || c == 'w' || c == 'y' || c == 0xc2 ||
         c == 0xb5 || c == 0xce || c == 0xbc;
}

/* A duration such as 100ms, 1.5s, 1h30m: components of digits, an optional
 * fraction and a unit, each added in ns without overflow. */
static int parse_duration(parser *p, size_t end, int64_t *out) {
  size_t start = p->pos;
  int64_t total = 0;
  while (p->pos < end) {
    int64_t whole = 0, frac = 0, scale = 1;
    if (!is_digit(peek(p, 0))) return FAIL(p, start, "malformed duration");
    while (p->pos < end && is_digit(peek(p, 0))) {
      if (whole > (INT64_MAX - 9) / 10) return FAIL(p, start, "duration out of range");
      whole = whole * 10 + (peek(p, 0) - '0');
      p->pos++;
    }
    if (p->pos < end && peek(p, 0) == '.') {
      p->pos++;
      if (!is_digit(peek(p, 0))) return FAIL(p, start, "malformed duration");
      while (p->pos < end && is_digit(peek(p, 0))) {
        if (scale < 1000000000000000000) frac = frac * 10 + (peek(p, 0) - '0'), scale *= 10;
        p->pos++;
      }
    }
    size_t u = p->pos;
    while (p->pos < end && !is_digit(peek(p, 0)) && peek(p, 0) != '.') p->pos++;
    int64_t ns = unit_ns(p->q + u, p->pos - u);
    if (!ns) return FAIL(p, start, "malformed duration (units are ns, us, ms, s, m, h, d, w, y)");
    if (whole > INT64_MAX / ns) return FAIL(p, start, "duration out of range");
    int64_t v = whole * ns;
    /* frac/scale of a unit: scale <= 1e18, ns <= 3.2e16; in long double to keep it exact enough */
    int64_t part = (int64_t)((long double)frac * (long double)ns / (long double)scale);
    if (v > INT64_MAX - part || total > INT64_MAX - (v + part)) return FAIL(p, start, "duration out of range");
    v += part;
    total += v;
  }
  *out = total;
  return MW_OK;
}

/* A number: an integer, a float or (with a unit) a duration; neg for a
 * leading '-' already consumed. */
static int parse_number(parser *p, node *n, int neg, size_t start) {
  size_t b = p->pos, e = b;
  while (e < p->len && (is_digit((unsigned char)p->q[e]) || p->q[e] == '.' || is_unit_byte((unsigned char)p->q[e])))
    e++;
  int has_unit = 0, has_dot = 0;
  for (size_t k = b; k < e; k++) {
    unsigned char c = (unsigned char)p->q[k];
    if (c == '.') has_dot = 1;
    else if (!is_digit(c)) has_unit = 1;
  }
  if (has_unit) {
    if (parse_duration(p, e, &n->i)) return p->rc;
    if (neg) n->i = -n->i;
    n->lit = L_DUR;
  } else if (has_dot) {
    /* digits '.' digits, then an optional exponent */
    size_t k = b;
    while (k < e && is_digit((unsigned char)p->q[k])) k++;
    if (k + 1 >= e || p->q[k] != '.' || !is_digit((unsigned char)p->q[k + 1]) || memchr(p->q + k + 1, '.', e - k - 1))
      return FAIL(p, start, "malformed number");
    if (e < p->len && (p->q[e] == 'e' || p->q[e] == 'E')) {
      e++;
      if (e < p->len && (p->q[e] == '+' || p->q[e] == '-')) e++;
      if (e >= p->len || !is_digit((unsigned char)p->q[e])) return FAIL(p, start, "malformed number");
      while (e < p->len && is_digit((unsigned char)p->q[e])) e++;
    }
    char buf[64];
    if (e - b >= sizeof buf) return FAIL(p, start, "number too long");
    memcpy(buf, p->q + b, e - b);
    buf[e - b] = 0;
    n->d = strtod(buf, NULL);
    if (neg) n->d = -n->d;
    n->lit = L_FLOAT;
    p->pos = e;
  } else {
    uint64_t v = 0;
    for (size_t k = b; k < e; k++) {
      uint64_t digit = (uint64_t)(p->q[k] - '0');
      if (v > ((uint64_t)INT64_MAX + 1 - digit) / 10) return FAIL(p, start, "integer out of range");
      v = v * 10 + digit;
    }
    if (v == (uint64_t)INT64_MAX + 1 && !neg) return FAIL(p, start, "integer out of range");
    n->i = neg ? (int64_t)(0 - v) : (int64_t)v;
    n->lit = L_INT;
    p->pos = e;
  }
  if (!at_end(p) && (is_word(peek(p, 0)) || peek(p, 0) == '.')) return FAIL(p, start, "malformed number or duration");
  return MW_OK;
}

static int parse_literal(parser *p, node *n) {
  size_t start = p->pos;
  int c = peek(p, 0);
  char ex[24];
  if (c == '"' || c == '`') {
    n->lit = L_STR;
    return parse_string(p, &n->s);
  }
  if (c == '-' || is_digit(c)) {
    int neg = c == '-';
    if (neg) {
      p->pos++;
      if (!is_digit(peek(p, 0))) return FAIL(p, start, "expected a number after '-'");
    }
    return parse_number(p, n, neg, start);
  }
  if (is_alpha(c)) {
    size_t e = p->pos;
    while (e < p->len && is_word((unsigned char)p->q[e])) e++;
    static const struct {
      const char *w;
      int lit;
      int64_t v;
    } words[] = {{"true", L_BOOL, 1},
                 {"false", L_BOOL, 0},
                 {"ok", L_STATUS, MW_TQL_STATUS_OK},
                 {"error", L_STATUS, MW_TQL_STATUS_ERROR},
                 {"unset", L_STATUS, MW_TQL_STATUS_UNSET},
                 {"unspecified", L_KIND, MW_TQL_KIND_UNSPECIFIED},
                 {"internal", L_KIND, MW_TQL_KIND_INTERNAL},
                 {"server", L_KIND, MW_TQL_KIND_SERVER},
                 {"client", L_KIND, MW_TQL_KIND_CLIENT},
                 {"producer", L_KIND, MW_TQL_KIND_PRODUCER},
                 {"consumer", L_KIND, MW_TQL_KIND_CONSUMER}};
    for (size_t k = 0; k < sizeof words / sizeof words[0]; k++)
      if (strlen(words[k].w) == e - p->pos && memcmp(words[k].w, p->q + p->pos, e - p->pos) == 0) {
        n->lit = words[k].lit;
        n->i = words[k].v;
        p->pos = e;
        return MW_OK;
      }
    if (e - p->pos == 3 && memcmp(p->q + p->pos, "nil", 3) == 0)
      return FAIL(p, start, "unsupported: nil (a test for an attribute's presence)");
    return FAIL(p, start, "expected a value (string, number, duration, true, false, a status or a kind), found '%s'",
                excerpt(p, start, ex, sizeof ex));
  }
  if (c == '.' || c == '(' || c == '{')
    return FAIL(p, start, "unsupported: a field or expression on the right of a comparison (only a literal value)");
  return FAIL(p, start, "expected a value, found '%s'", excerpt(p, start, ex, sizeof ex));
}

/* ---- regular expressions ------------------------------------------------- */

/* RE2 to POSIX ERE. Byte sets from RE2 classes are emitted in a canonical
 * bracket that POSIX reads the same way: ']' first, '-' last, '^' never
 * first, '[' never before '.', '=' or ':'. */
typedef struct rx {
  parser *p;
  size_t at; /* the column of the regex string, for errors */
  const char *s;
  size_t i, n;
  char *o;
  size_t on;
  unsigned long product;
} rx;

static int rx_fail(rx *r, const char *msg) { return FAIL(r->p, r->at, "regular expression: %s", msg); }

/* The same for an escape \e, named in the message. */
static int rx_fail_escape(rx *r, int e, const char *why) {
  return FAIL(r->p, r->at, "regular expression: unsupported escape \\%c (%s)", e >= 0x21 && e < 0x7f ? e : '?', why);
}

static void set_add(unsigned char *set, int lo, int hi) {
  for (int c = lo; c <= hi; c++) set[c] = 1;
}

/* A Perl class \d \w \s into set (RE2's ASCII definitions); 0 if e is none. */
static int perl_class(unsigned char *set, int e) {
  switch (e) {
  case 'd': set_add(set, '0', '9'); return 1;
  case 'w': set_add(set, '0', '9'), set_add(set, 'a', 'z'), set_add(set, 'A', 'Z'), set['_'] = 1; return 1;
  case 's': set['\t'] = set['\n'] = set['\f'] = set['\r'] = set[' '] = 1; return 1;
  }
  return 0;
}

static int posix_class(unsigned char *set, const char *name, size_t n) {
  for (int c = 1; c < 128; c++) {
    int in;
    if (n == 5 && !memcmp(name, "alnum", 5)) in = is_alpha(c) || is_digit(c);
    else if (n == 5 && !memcmp(name, "alpha", 5)) in = is_alpha(c);
    else if (n == 5 && !memcmp(name, "ascii", 5)) in = 1;
    else if (n == 5 && !memcmp(name, "blank", 5)) in = c == ' ' || c == '\t';
    else if (n == 5 && !memcmp(name, "cntrl", 5)) in = c < 0x20 || c == 0x7f;
    else if (n == 5 && !memcmp(name, "digit", 5)) in = is_digit(c);
    else if (n == 5 && !memcmp(name, "graph", 5)) in = c > 0x20 && c < 0x7f;
    else if (n == 5 && !memcmp(name, "lower", 5)) in = c >= 'a' && c <= 'z';
    else if (n == 5 && !memcmp(name, "print", 5)) in = c >= 0x20 && c < 0x7f;
    else if (n == 5 && !memcmp(name, "punct", 5)) in = c > 0x20 && c < 0x7f && !is_alpha(c) && !is_digit(c);
    else if (n == 5 && !memcmp(name, "space", 5)) in = is_space(c);
    else if (n == 5 && !memcmp(name, "upper", 5)) in = c >= 'A' && c <= 'Z';
    else if (n == 4 && !memcmp(name, "word", 4)) in = is_word(c);
    else if (n == 6 && !memcmp(name, "xdigit", 6)) in = hexval(c) >= 0;
    else return 0;
    if (in) set[c] = 1;
  }
  return 1;
}

/* One UTF-8 character of two to four bytes, and one of any length but NUL:
 * what RE2's . and negated classes match, for POSIX in the C locale, which
 * matches bytes. (Overlong forms and surrogates are let through: valid UTF-8,
 * which the stored strings are, has none.) */
#define UTF8_MULTI                                                                                                     \
  "[\xc2-\xdf][\x80-\xbf]|[\xe0-\xef][\x80-\xbf][\x80-\xbf]|[\xf0-\xf4][\x80-\xbf][\x80-\xbf][\x80-\xbf]"
#define UTF8_ANY "([\x01-\x7f]|" UTF8_MULTI ")"

static void emit(rx *r, const char *s) {
  size_t n = strlen(s);
  memcpy(r->o + r->on, s, n);
  r->on += n;
}

/* A byte set (ASCII members) as a POSIX bracket; a negated one is grouped
 * with the multibyte characters, which it also matches in RE2. */
static void emit_set(rx *r, const unsigned char *set, int neg) {
  int count = 0, only = -1;
  for (int c = 1; c < 128; c++)
    if (set[c]) count++, only = c;
  if (!neg && count == 1) { /* one byte: as an escaped or plain literal */
    if (strchr(".[]()*+?{}|^$\\", only)) r->o[r->on++] = '\\';
    r->o[r->on++] = (char)only;
    return;
  }
  if (neg) r->o[r->on++] = '(';
  r->o[r->on++] = '[';
  if (neg) r->o[r->on++] = '^'; /* after it, a '^' is a plain member */
  size_t first = r->on;
  if (set[']']) r->o[r->on++] = ']';
  for (int c = 1; c < 128; c++) {
    if (!set[c] || c == ']' || c == '^' || c == '-' || c == '[') continue;
    int e = c;
    while (e + 1 < 128 && set[e + 1] && e + 1 != ']' && e + 1 != '^' && e + 1 != '-' && e + 1 != '[') e++;
    r->o[r->on++] = (char)c;
    if (e - c >= 2) r->o[r->on++] = '-';
    if (e > c) r->o[r->on++] = (char)e;
    c = e;
  }
  if (neg) { /* no byte of a multibyte character: those come as whole sequences below */
    r->o[r->on++] = (char)0x80, r->o[r->on++] = '-', r->o[r->on++] = (char)0xff;
  }
  if (set['[']) r->o[r->on++] = '[';
  if (set['^']) {
    if (!neg && r->on == first) { /* '^' would be first: the set is {'^', '-'} (one byte went above) */
      r->o[r->on++] = '-';
      r->o[r->on++] = '^';
    } else {
      r->o[r->on++] = '^';
      if (set['-']) r->o[r->on++] = '-';
    }
  } else if (set['-']) r->o[r->on++] = '-';
  r->o[r->on++] = ']';
  if (neg) {
    r->o[r->on++] = '|';
    emit(r, UTF8_MULTI);
    r->o[r->on++] = ')';
  }
}

/* One bracket member's character: a plain byte or an escaped punctuation. */
static int bracket_char(rx *r, int *out) {
  int c = (unsigned char)r->s[r->i];
  if (c >= 0x80) return rx_fail(r, "a non-ASCII character inside [...] (POSIX brackets here match bytes)");
  if (c != '\\') {
    r->i++;
    *out = c;
    return MW_OK;
  }
  if (r->i + 1 >= r->n) return rx_fail(r, "trailing backslash");
  int e = (unsigned char)r->s[r->i + 1];
  if (e == 'n' || e == 't' || e == 'r' || e == 'f' || e == 'v') {
    r->i += 2;
    *out = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'f' ? '\f' : '\v';
    return MW_OK;
  }
  if (e >= 0x80 || is_alpha(e) || is_digit(e)) {
    return rx_fail_escape(r, e, "not inside [...]");
  }
  r->i += 2;
  *out = e;
  return MW_OK;
}

static int rx_bracket(rx *r) {
  unsigned char set[128] = {0};
  int neg = 0;
  r->i++; /* '[' */
  if (r->i < r->n && r->s[r->i] == '^') neg = 1, r->i++;
  int first = 1;
  for (;;) {
    if (r->i >= r->n) return rx_fail(r, "missing closing ]");
    char c = r->s[r->i];
    if (c == ']' && !first) {
      r->i++;
      break;
    }
    first = 0;
    if (c == '[' && r->i + 1 < r->n && r->s[r->i + 1] == ':') {
      const char *name = r->s + r->i + 2;
      const char *end = memchr(name, ':', r->n - (size_t)(name - r->s));
      if (!end || end + 1 >= r->s + r->n || end[1] != ']') return rx_fail(r, "malformed [:class:]");
      if (name < end && *name == '^') return rx_fail(r, "negated class [:^name:] is not supported");
      if (!posix_class(set, name, (size_t)(end - name))) return rx_fail(r, "unknown [:class:]");
      r->i = (size_t)(end + 2 - r->s);
      continue;
    }
    if (c == '\\' && r->i + 1 < r->n && perl_class(set, r->s[r->i + 1])) {
      r->i += 2;
      continue;
    }
    if (c == '\\' && r->i + 1 < r->n && strchr("DWS", r->s[r->i + 1]))
      return rx_fail(r, "a negated Perl class (\\D, \\W, \\S) inside [...] is not supported");
    int lo, hi;
    if (bracket_char(r, &lo)) return r->p->rc;
    if (r->i + 1 < r->n && r->s[r->i] == '-' && r->s[r->i + 1] != ']') {
      r->i++;
      if (bracket_char(r, &hi)) return r->p->rc;
      if (hi < lo) return rx_fail(r, "a range [x-y] with y before x");
      set_add(set, lo, hi);
    } else set[lo] = 1;
  }
  set[0] = 0;
  emit_set(r, set, neg);
  return MW_OK;
}

static int read_count(const rx *r, size_t *k, unsigned long *v) {
  if (*k >= r->n || !is_digit((unsigned char)r->s[*k])) return 0;
  *v = 0;
  for (; *k < r->n && is_digit((unsigned char)r->s[*k]); (*k)++)
    if (*v < 100000) *v = *v * 10 + (unsigned long)(r->s[*k] - '0');
  return 1;
}

/* {n}, {n,}, {n,m} at r->i: 1 with the largest count in *big and the index
 * past it in *after; 0 when the brace is a literal (as RE2 takes one that is
 * no repetition); -1 for m < n; -2 for a count over 1000 (RE2's limit). */
static int rx_count(const rx *r, size_t *after, unsigned long *big) {
  size_t k = r->i + 1;
  unsigned long lo = 0, hi = 0;
  int has_hi = 0, comma = 0;
  if (!read_count(r, &k, &lo)) return 0;
  if (k < r->n && r->s[k] == ',') {
    comma = 1, k++;
    has_hi = read_count(r, &k, &hi);
  }
  if (k >= r->n || r->s[k] != '}') return 0;
  *after = k + 1;
  *big = comma && has_hi ? hi : lo;
  if (comma && has_hi && hi < lo) return -1;
  if (lo > 1000 || hi > 1000) return -2;
  return 1;
}

/* Checks the RE2 pattern s and writes its POSIX ERE form, anchored. */
static int translate_regex(parser *p, size_t at, const char *s, char **out) {
  size_t n = strlen(s);
  if (n > MW_TQL_MAX_REGEX_LEN) return FAIL(p, at, "regular expression longer than %d bytes", MW_TQL_MAX_REGEX_LEN);
  rx r = {.p = p, .at = at, .s = s, .n = n, .product = 1};
  /* the longest form of one input byte: . as UTF8_ANY (55 bytes); \D, [^a] about 33 per byte */
  r.o = mw__arena_alloc(p->a, 64 * n + 8);
  if (!r.o) return oom(p);
  r.o[r.on++] = '^';
  r.o[r.on++] = '(';
  int depth = 0, can_repeat = 0, after_repeat = 0;
  while (r.i < r.n) {
    int c = (unsigned char)s[r.i];
    int atom = 1;
    if (c == '\\') {
      if (r.i + 1 >= r.n) return rx_fail(&r, "trailing backslash");
      int e = (unsigned char)s[r.i + 1];
      unsigned char set[128] = {0};
      if (perl_class(set, e)) emit_set(&r, set, 0);
      else if (e == 'D' || e == 'W' || e == 'S') perl_class(set, e | 0x20), emit_set(&r, set, 1);
      else if (e == 'n' || e == 't' || e == 'r' || e == 'f' || e == 'v')
        r.o[r.on++] = e == 'n' ? '\n' : e == 't' ? '\t' : e == 'r' ? '\r' : e == 'f' ? '\f' : '\v';
      else if (e >= 0x80 || is_alpha(e) || is_digit(e)) {
        return rx_fail_escape(&r, e, "RE2 syntax POSIX does not have");
      } else {
        if (strchr(".[]()*+?{}|^$\\", e)) r.o[r.on++] = '\\';
        r.o[r.on++] = (char)e;
      }
      r.i += 2;
    } else if (c == '[') {
      if (rx_bracket(&r)) return p->rc;
    } else if (c == '(') {
      if (r.i + 1 < r.n && s[r.i + 1] == '?')
        return rx_fail(&r, "'(?' (flags such as (?i), non-capturing or named groups) is not supported");
      if (++depth > MW_TQL_MAX_DEPTH) return rx_fail(&r, "groups nested too deep");
      r.o[r.on++] = '(';
      atom = 0;
    } else if (c == ')') {
      if (depth == 0) return rx_fail(&r, "unmatched )");
      depth--;
      if (r.on && r.o[r.on - 1] == '(') r.o[r.on++] = '|'; /* () as (|): POSIX leaves () undefined */
      r.o[r.on++] = ')';
      r.i++;
      can_repeat = 1, after_repeat = 0;
      continue;
    } else if (c == '|') {
      r.o[r.on++] = '|';
      atom = 0;
    } else if (c == '*' || c == '+' || c == '?' || c == '{') {
      size_t after = r.i + 1;
      unsigned long big = 1;
      int counted = c == '{' ? rx_count(&r, &after, &big) : 1;
      if (counted == -1) return rx_fail(&r, "a repetition {n,m} with m < n");
      if (counted == -2) return rx_fail(&r, "a repetition count over 1000");
      if (counted == 0) { /* a literal '{' */
        r.o[r.on++] = '\\', r.o[r.on++] = '{';
        r.i++;
        can_repeat = 1, after_repeat = 0;
        continue;
      }
      if (after_repeat && c == '?') return rx_fail(&r, "non-greedy repetition (*?, +?, ?\?) is not supported");
      if (after_repeat) return rx_fail(&r, "a repetition of a repetition");
      if (!can_repeat) return rx_fail(&r, "a repetition operator with nothing to repeat");
      if (c == '{') {
        if (big > 1) r.product *= big;
        if (r.product > 1000) return rx_fail(&r, "repetition counts that multiply past 1000");
      }
      memcpy(r.o + r.on, s + r.i, after - r.i);
      r.on += after - r.i;
      r.i = after;
      can_repeat = 0, after_repeat = 1;
      continue;
    } else if (c == '^' || c == '$') {
      r.o[r.on++] = (char)c;
      atom = 0;
    } else if (c == '.') {
      emit(&r, UTF8_ANY);
    } else if (c >= 0x80) { /* a multibyte character, grouped so that a repetition takes all of it */
      size_t len = c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
      if (!len || r.i + len > r.n) return rx_fail(&r, "invalid UTF-8");
      for (size_t k = 1; k < len; k++)
        if (((unsigned char)s[r.i + k] & 0xc0) != 0x80) return rx_fail(&r, "invalid UTF-8");
      r.o[r.on++] = '(';
      memcpy(r.o + r.on, s + r.i, len);
      r.on += len;
      r.o[r.on++] = ')';
      r.i += len - 1; /* and the one below */
    } else {
      if (c == ']' || c == '}') r.o[r.on++] = '\\';
      r.o[r.on++] = (char)c;
    }
    if (c != '\\' && c != '[') r.i++;
    can_repeat = atom, after_repeat = 0;
  }
  if (depth) return rx_fail(&r, "missing )");
  if (r.o[r.on - 1] == '(') r.o[r.on++] = '|';
  r.o[r.on++] = ')';
  r.o[r.on++] = '$';
  r.o[r.on] = 0;
  *out = r.o;
  return MW_OK;
}

static int compile_regex(parser *p, node *n, size_t at) {
  if (p->t->n_re >= MW_TQL_MAX_REGEX) return FAIL(p, at, "more than %d regular expressions", MW_TQL_MAX_REGEX);
  char *ere = NULL;
  if (translate_regex(p, at, n->s, &ere)) return p->rc;
  regex_t *re = mw__arena_alloc(p->a, sizeof *re);
  if (!re) return oom(p);
  int rc = regcomp(re, ere, REG_EXTENDED | REG_NOSUB);
  if (rc) {
    char msg[128];
    regerror(rc, re, msg, sizeof msg);
    return FAIL(p, at, "regular expression: %s", msg);
  }
  p->t->re[p->t->n_re++] = re;
  n->re = re;
  return MW_OK;
}

/* ---- fields and comparisons ----------------------------------------------- */

static int is_attr_byte(int c) { return c > 0 && !is_space(c) && !strchr("{}()=~!<>&|^,\"", c); }

/* An attribute name as Tempo reads one: bytes up to a space or an operator,
 * with "quoted" parts (escapes \" and \\) for any other byte. */
static int parse_attr_name(parser *p, const char **out) {
  size_t start = p->pos;
  char *o = mw__arena_alloc(p->a, p->len - p->pos + 1);
  if (!o) return oom(p);
  size_t n = 0;
  for (;;) {
    int c = peek(p, 0);
    if (c == '"') {
      size_t qs = p->pos++;
      for (;;) {
        if (at_end(p)) return FAIL(p, qs, "unterminated quoted attribute name");
        c = peek(p, 0);
        if (c == '"') break;
        if (c == 0) return FAIL(p, p->pos, "NUL byte in attribute name");
        if (c == '\\') {
          int e = peek(p, 1);
          if (e != '"' && e != '\\')
            return FAIL(p, p->pos, "invalid escape in quoted attribute name (only \\\" and \\\\)");
          c = e;
          p->pos++;
        }
        o[n++] = (char)c;
        p->pos++;
      }
      p->pos++;
    } else if (is_attr_byte(c)) {
      o[n++] = (char)c;
      p->pos++;
    } else break;
  }
  if (!n) return FAIL(p, start, "expected an attribute name");
  o[n] = 0;
  *out = o;
  return MW_OK;
}

static int word_is(const char *w, size_t n, const char *s) { return strlen(s) == n && memcmp(w, s, n) == 0; }

static int parse_field(parser *p, node *n) {
  size_t start = p->pos;
  int c = peek(p, 0);
  char ex[24];
  if (c == '.') {
    p->pos++;
    n->field = F_ANY_ATTR;
    return parse_attr_name(p, &n->key);
  }
  if (!is_alpha(c) && c != '_') {
    if (c == '"' || c == '`' || c == '-' || is_digit(c))
      return FAIL(p, start, "unsupported: a value on the left of a comparison (write the field first)");
    if (c == '!') return FAIL(p, start, "unsupported: negation '!'");
    if (c == '{') return FAIL(p, start, "unsupported: a spanset { } inside a spanset");
    if (c < 0) return FAIL(p, start, "expected a condition, found the end of the query");
    return FAIL(p, start, "expected a condition, found '%s'", excerpt(p, start, ex, sizeof ex));
  }
  size_t e = p->pos;
  while (e < p->len && is_word((unsigned char)p->q[e])) e++;
  const char *w = p->q + p->pos;
  size_t wn = e - p->pos;
  if (e < p->len && p->q[e] == '.') { /* a scope */
    if (word_is(w, wn, "span") || word_is(w, wn, "resource")) {
      n->field = w[0] == 's' ? F_SPAN_ATTR : F_RES_ATTR;
      p->pos = e + 1;
      return parse_attr_name(p, &n->key);
    }
    if (word_is(w, wn, "event") || word_is(w, wn, "link") || word_is(w, wn, "instrumentation") ||
        word_is(w, wn, "parent") || word_is(w, wn, "trace"))
      return FAIL(p, start, "unsupported: the attribute scope '%.*s.' (only span., resource. and .)", (int)wn, w);
    return FAIL(p, start, "unknown attribute scope '%.*s.' (span., resource. or .)", (int)wn, w);
  }
  if (e < p->len && p->q[e] == ':') { /* a scoped intrinsic: span:name */
    size_t b = e + 1, f = b;
    while (f < p->len && is_word((unsigned char)p->q[f])) f++;
    const char *iw = p->q + b;
    size_t in = f - b;
    if (word_is(w, wn, "span")) {
      int field = word_is(iw, in, "name")       ? F_NAME
                  : word_is(iw, in, "status")   ? F_STATUS
                  : word_is(iw, in, "kind")     ? F_KIND
                  : word_is(iw, in, "duration") ? F_DURATION
                                                : -1;
      if (field >= 0) {
        n->field = field;
        p->pos = f;
        return MW_OK;
      }
    }
    return FAIL(p, start, "unsupported: the intrinsic '%.*s' (only name, status, kind, duration and their span: forms)",
                (int)(f - p->pos), w);
  }
  int field = word_is(w, wn, "name")       ? F_NAME
              : word_is(w, wn, "status")   ? F_STATUS
              : word_is(w, wn, "kind")     ? F_KIND
              : word_is(w, wn, "duration") ? F_DURATION
                                           : -1;
  if (field >= 0) {
    n->field = field;
    p->pos = e;
    return MW_OK;
  }
  static const char *const intrinsics[] = {
      "statusMessage",  "rootName",        "rootServiceName", "traceDuration", "childCount", "nestedSetLeft",
      "nestedSetRight", "nestedSetParent", "parent",          "event",         "link",       "instrumentation"};
  for (size_t k = 0; k < sizeof intrinsics / sizeof intrinsics[0]; k++)
    if (word_is(w, wn, intrinsics[k]))
      return FAIL(p, start, "unsupported: the intrinsic '%.*s' (only name, status, kind and duration)", (int)wn, w);
  static const char *const aggregates[] = {
      "count",           "avg",    "min", "max",      "sum", "quantile_over_time", "rate",
      "count_over_time", "select", "by",  "coalesce", "with"};
  for (size_t k = 0; k < sizeof aggregates / sizeof aggregates[0]; k++)
    if (word_is(w, wn, aggregates[k]))
      return FAIL(p, start, "unsupported: '%.*s' (aggregates, pipeline stages)", (int)wn, w);
  if (word_is(w, wn, "true") || word_is(w, wn, "false") || word_is(w, wn, "nil"))
    return FAIL(p, start, "unsupported: a value on the left of a comparison (write the field first)");
  return FAIL(p, start, "unknown field '%.*s' (attributes need a scope: span., resource. or .)", (int)wn, w);
}

static int parse_op(parser *p, node *n) {
  static const struct {
    const char *s;
    int op;
  } ops[] = {{"=~", OP_RE}, {"!~", OP_NRE}, {"!=", OP_NE}, {">=", OP_GE},
             {"<=", OP_LE}, {"=", OP_EQ},   {">", OP_GT},  {"<", OP_LT}};
  char ex[24];
  for (size_t k = 0; k < sizeof ops / sizeof ops[0]; k++)
    if (starts(p, ops[k].s)) {
      n->op = ops[k].op;
      p->pos += strlen(ops[k].s);
      return MW_OK;
    }
  int c = peek(p, 0);
  if (c >= 0 && strchr("+-*/%^", c)) return FAIL(p, p->pos, "unsupported: arithmetic '%c'", c);
  if (c == '}' || c == ')' || starts(p, "&&") || starts(p, "||"))
    return FAIL(p, p->pos, "unsupported: a field without a comparison (write field = value)");
  return FAIL(p, p->pos, "expected a comparison (= != > >= < <= =~ !~), found '%s'", excerpt(p, p->pos, ex, sizeof ex));
}

/* Which literal types a field compares with, and how. */
static int check_types(parser *p, node *n, size_t at, size_t lit_at) {
  int op = n->op, lit = n->lit;
  int eq_only = op == OP_EQ || op == OP_NE;
  int regex = op == OP_RE || op == OP_NRE;
  const char *field = n->field == F_NAME       ? "name"
                      : n->field == F_STATUS   ? "status"
                      : n->field == F_KIND     ? "kind"
                      : n->field == F_DURATION ? "duration"
                                               : "an attribute";
  if (regex && lit != L_STR) return FAIL(p, lit_at, "%s needs a string (a regular expression)", op_names[op]);
  switch (n->field) {
  case F_NAME:
    if (lit != L_STR) return FAIL(p, lit_at, "name compares with a string, not %s", lit_names[lit]);
    break;
  case F_STATUS:
  case F_KIND: {
    int want = n->field == F_STATUS ? L_STATUS : L_KIND;
    if (lit != want)
      return FAIL(p, lit_at, "%s compares with %s, not %s", field,
                  want == L_STATUS ? "ok, error or unset"
                                   : "server, client, producer, consumer, internal or unspecified",
                  lit_names[lit]);
    if (!eq_only) return FAIL(p, at, "%s compares with = or != only, not %s", field, op_names[op]);
    break;
  }
  case F_DURATION:
    if (regex) return FAIL(p, at, "duration takes no regular expression");
    if (lit != L_DUR) return FAIL(p, lit_at, "duration compares with a duration such as 100ms, not %s", lit_names[lit]);
    break;
  default:
    if (lit == L_DUR || lit == L_STATUS || lit == L_KIND)
      return FAIL(p, lit_at, "unsupported: an attribute compared with %s", lit_names[lit]);
    if (lit == L_BOOL && !eq_only) return FAIL(p, at, "a boolean compares with = or != only, not %s", op_names[op]);
  }
  if (regex) return compile_regex(p, n, lit_at);
  return MW_OK;
}

static int parse_or(parser *p, const node **out);

static int parse_primary(parser *p, const node **out) {
  skip_ws(p);
  if (peek(p, 0) == '(') {
    size_t open = p->pos++;
    if (++p->depth > MW_TQL_MAX_DEPTH) return FAIL(p, open, "parentheses nested deeper than %d", MW_TQL_MAX_DEPTH);
    if (parse_or(p, out)) return p->rc;
    skip_ws(p);
    if (peek(p, 0) != ')') return FAIL(p, open, "missing ) for this (");
    p->pos++;
    p->depth--;
    return MW_OK;
  }
  size_t at = p->pos;
  if (++p->conds > MW_TQL_MAX_CONDS) return FAIL(p, at, "more than %d comparisons", MW_TQL_MAX_CONDS);
  node *n = mw__arena_calloc(p->a, 1, sizeof *n);
  if (!n) return oom(p);
  n->kind = N_CMP;
  if (parse_field(p, n)) return p->rc;
  skip_ws(p);
  size_t op_at = p->pos;
  if (parse_op(p, n)) return p->rc;
  skip_ws(p);
  size_t lit_at = p->pos;
  if (parse_literal(p, n)) return p->rc;
  if (check_types(p, n, op_at, lit_at)) return p->rc;
  *out = n;
  return MW_OK;
}

static int join(parser *p, int kind, const node *l, const node *r, const node **out) {
  node *n = mw__arena_calloc(p->a, 1, sizeof *n);
  if (!n) return oom(p);
  n->kind = kind, n->l = l, n->r = r;
  *out = n;
  return MW_OK;
}

/* After a condition: what may follow it, and names for what may not. */
static int bad_follower(parser *p) {
  char ex[24];
  int c = peek(p, 0);
  if (c == '|') return FAIL(p, p->pos, "unsupported: a pipeline '|' inside a spanset");
  if (c >= 0 && strchr("+-*/%^", c)) return FAIL(p, p->pos, "unsupported: arithmetic '%c'", c);
  if (c < 0) return FAIL(p, p->pos, "missing } at the end of the query");
  return FAIL(p, p->pos, "expected &&, || or }, found '%s'", excerpt(p, p->pos, ex, sizeof ex));
}

/* && and || inside a spanset: one precedence, grouped from the left, as in
 * Tempo's grammar (expr.y: %left AND OR), so { a || b && c } is
 * { (a || b) && c }. */
static int parse_or(parser *p, const node **out) {
  if (parse_primary(p, out)) return p->rc;
  for (;;) {
    skip_ws(p);
    int kind = starts(p, "&&") ? N_AND : starts(p, "||") ? N_OR : -1;
    if (kind < 0) {
      int c = peek(p, 0);
      if (c == ')' || c == '}') return MW_OK;
      return bad_follower(p);
    }
    p->pos += 2;
    const node *r;
    if (parse_primary(p, &r) || join(p, kind, *out, r, out)) return p->rc;
  }
}

static int parse_spanset(parser *p, const node **out) {
  skip_ws(p);
  char ex[24];
  if (peek(p, 0) != '{') {
    if (at_end(p)) return FAIL(p, p->pos, "empty query (the query that matches every span is { })");
    return FAIL(p, p->pos, "expected a spanset { ... }, found '%s'", excerpt(p, p->pos, ex, sizeof ex));
  }
  size_t open = p->pos++;
  skip_ws(p);
  if (peek(p, 0) == '}') {
    p->pos++;
    return join(p, N_TRUE, NULL, NULL, out);
  }
  if (parse_or(p, out)) return p->rc;
  skip_ws(p);
  if (peek(p, 0) != '}') {
    if (peek(p, 0) == ')') return FAIL(p, p->pos, "unmatched )");
    return FAIL(p, open, "missing } for this {");
  }
  p->pos++;
  return MW_OK;
}

/* ---- spanset expressions ------------------------------------------------------ */

static int ss_new(parser *p, int op, const ssnode *l, const ssnode *r, const node *filter, const ssnode **out) {
  ssnode *n = mw__arena_calloc(p->a, 1, sizeof *n);
  if (!n) return oom(p);
  n->op = op, n->l = l, n->r = r, n->filter = filter;
  *out = n;
  return MW_OK;
}

/* The structural operators, longest first ('!>>' before '!>', '>>' before '>'). */
static const struct {
  const char *s;
  int rel, mode;
} structural[] = {{"!>>", R_DESC, M_NOT},    {"!<<", R_ANC, M_NOT},    {"&>>", R_DESC, M_UNION},
                  {"&<<", R_ANC, M_UNION},   {">>", R_DESC, M_PLAIN},  {"<<", R_ANC, M_PLAIN},
                  {"!>", R_CHILD, M_NOT},    {"!<", R_PARENT, M_NOT},  {"&>", R_CHILD, M_UNION},
                  {"&<", R_PARENT, M_UNION}, {"&~", R_SIBL, M_UNION},  {"!~", R_SIBL, M_NOT},
                  {">", R_CHILD, M_PLAIN},   {"<", R_PARENT, M_PLAIN}, {"~", R_SIBL, M_PLAIN}};

/* What stands after a spanset expression where none of its operators does:
 * named when it is a part of TraceQL outside the subset. open is the ( being
 * closed, or SIZE_MAX at the top level. */
static int bad_after_spanset(parser *p, size_t open) {
  size_t at = p->pos;
  char ex[24];
  if (peek(p, 0) == '|') {
    p->pos++;
    skip_ws(p);
    size_t b = p->pos;
    while (p->pos < p->len && is_word(peek(p, 0))) p->pos++;
    if (p->pos > b) return FAIL(p, at, "unsupported: the pipeline stage '| %.*s'", (int)(p->pos - b), p->q + b);
    return FAIL(p, at, "unsupported: a pipeline '|'");
  }
  if (is_alpha(peek(p, 0))) {
    size_t b = p->pos;
    while (p->pos < p->len && is_word(peek(p, 0))) p->pos++;
    return FAIL(p, at, "unsupported: '%.*s' after a spanset", (int)(p->pos - b), p->q + b);
  }
  if (open != SIZE_MAX) return FAIL(p, open, "missing ) for this (");
  if (peek(p, 0) == ')') return FAIL(p, at, "unmatched )");
  return FAIL(p, at, "unexpected '%s' after a spanset", excerpt(p, at, ex, sizeof ex));
}

static int parse_sexpr(parser *p, const ssnode **out);

/* A spanset, or a spanset expression in parentheses. */
static int parse_sprim(parser *p, const ssnode **out) {
  skip_ws(p);
  if (peek(p, 0) == '(') {
    size_t open = p->pos++;
    if (++p->depth > MW_TQL_MAX_DEPTH) return FAIL(p, open, "parentheses nested deeper than %d", MW_TQL_MAX_DEPTH);
    if (parse_sexpr(p, out)) return p->rc;
    skip_ws(p);
    if (peek(p, 0) != ')') return bad_after_spanset(p, open);
    p->pos++;
    p->depth--;
    return MW_OK;
  }
  const node *f;
  if (parse_spanset(p, &f) || ss_new(p, SS_FILTER, NULL, NULL, f, out)) return p->rc;
  if (f->kind != N_TRUE) p->t->has_filter = 1;
  /* per span: a span some filter matches */
  if (!p->t->root) p->t->root = f;
  else if (join(p, N_OR, p->t->root, f, &p->t->root)) return p->rc;
  return MW_OK;
}

/* Structural operators: they bind tighter than && and ||. */
static int parse_sterm(parser *p, const ssnode **out) {
  if (parse_sprim(p, out)) return p->rc;
  for (;;) {
    skip_ws(p);
    size_t k = 0, nk = sizeof structural / sizeof structural[0];
    while (k < nk && !starts(p, structural[k].s)) k++;
    if (k == nk) return MW_OK;
    p->pos += strlen(structural[k].s);
    ssnode *n = mw__arena_calloc(p->a, 1, sizeof *n);
    if (!n) return oom(p);
    n->op = SS_REL, n->rel = structural[k].rel, n->mode = structural[k].mode, n->l = *out;
    if (parse_sprim(p, &n->r)) return p->rc;
    *out = n;
    p->t->trace_level = 1;
  }
}

/* && and ||: one precedence, grouped from the left, as in Tempo's grammar. */
static int parse_sexpr(parser *p, const ssnode **out) {
  if (parse_sterm(p, out)) return p->rc;
  for (;;) {
    skip_ws(p);
    int op = starts(p, "&&") ? SS_AND : starts(p, "||") ? SS_UNION : -1;
    if (op < 0) return MW_OK;
    p->pos += 2;
    const ssnode *r;
    if (parse_sterm(p, &r) || ss_new(p, op, *out, r, NULL, out)) return p->rc;
    if (op == SS_AND) p->t->trace_level = 1;
  }
}

static int parse_query(parser *p, const ssnode **out) {
  if (parse_sexpr(p, out)) return p->rc;
  skip_ws(p);
  if (at_end(p)) return MW_OK;
  return bad_after_spanset(p, SIZE_MAX);
}

int mw__tql_parse(mw_arena *a, const char *q, size_t len, mw_tql **out, char *err, size_t errsz) {
  parser p = {.a = a, .q = q ? q : "", .len = q ? len : 0, .err = err, .errsz = errsz};
  if (errsz) err[0] = 0;
  *out = NULL;
  if (len > MW_TQL_MAX_LEN) return FAIL(&p, 0, "query longer than %d bytes", MW_TQL_MAX_LEN);
  const char *nul = memchr(p.q, 0, p.len);
  if (nul) return FAIL(&p, (size_t)(nul - p.q), "NUL byte in query");
  p.t = mw__arena_calloc(a, 1, sizeof *p.t);
  if (!p.t) return oom(&p);
  const ssnode *top = NULL;
  if (parse_query(&p, &top)) {
    mw__tql_free(p.t);
    return p.rc;
  }
  p.t->top = top;
  *out = p.t;
  return MW_OK;
}

void mw__tql_free(mw_tql *q) {
  if (!q) return;
  for (size_t i = 0; i < q->n_re; i++) regfree(q->re[i]);
  q->n_re = 0;
}

/* ---- evaluation --------------------------------------------------------------- */

static const mw_tql_attr *find(const mw_tql_attr *a, size_t n, const char *key) {
  for (size_t i = 0; i < n; i++)
    if (a[i].key && strcmp(a[i].key, key) == 0) return &a[i];
  return NULL;
}

static int cmp_result(int op, int c) {
  switch (op) {
  case OP_EQ: return c == 0;
  case OP_NE: return c != 0;
  case OP_GT: return c > 0;
  case OP_GE: return c >= 0;
  case OP_LT: return c < 0;
  case OP_LE: return c <= 0;
  }
  return 0;
}

static int three_way_d(double a, double b) { return (a > b) - (a < b); }
static int three_way_i(int64_t a, int64_t b) { return (a > b) - (a < b); }

static int match_string(const node *n, const char *v) {
  if (!v) v = "";
  if (n->op == OP_RE) return regexec(n->re, v, 0, NULL, 0) == 0;
  if (n->op == OP_NRE) return regexec(n->re, v, 0, NULL, 0) != 0;
  int c = strcmp(v, n->s);
  return cmp_result(n->op, (c > 0) - (c < 0));
}

static int match_attr(const node *n, const mw_tql_attr *a) {
  if (!a) return 0; /* an absent attribute matches nothing, != included (as in Tempo) */
  switch (a->type) {
  case MW_TQL_STRING: return n->lit == L_STR && match_string(n, a->s);
  case MW_TQL_BOOL: return n->lit == L_BOOL && cmp_result(n->op, three_way_i(a->i != 0, n->i));
  case MW_TQL_INT:
    if (n->lit == L_INT) return cmp_result(n->op, three_way_i(a->i, n->i));
    if (n->lit == L_FLOAT) return n->d == n->d && cmp_result(n->op, three_way_d((double)a->i, n->d));
    return 0;
  case MW_TQL_DOUBLE:
    if (a->d != a->d) return 0; /* NaN compares with nothing */
    if (n->lit == L_FLOAT) return cmp_result(n->op, three_way_d(a->d, n->d));
    if (n->lit == L_INT) return cmp_result(n->op, three_way_d(a->d, (double)n->i));
    return 0;
  }
  return 0;
}

static int eval(const node *n, const mw_tql_span *s) {
  switch (n->kind) {
  case N_TRUE: return 1;
  case N_AND: return eval(n->l, s) && eval(n->r, s);
  case N_OR: return eval(n->l, s) || eval(n->r, s);
  }
  switch (n->field) {
  case F_NAME: return s->name != NULL && match_string(n, s->name);
  case F_STATUS: return cmp_result(n->op, s->status != n->i);
  case F_KIND: return cmp_result(n->op, s->kind != n->i);
  case F_DURATION: return cmp_result(n->op, three_way_i(s->dur_ns, n->i));
  case F_SPAN_ATTR: return match_attr(n, find(s->attrs, s->n_attrs, n->key));
  case F_RES_ATTR: return match_attr(n, find(s->res, s->n_res, n->key));
  default: { /* unscoped: the span's attribute when it has one, else the resource's */
    const mw_tql_attr *a = find(s->attrs, s->n_attrs, n->key);
    return match_attr(n, a ? a : find(s->res, s->n_res, n->key));
  }
  }
}

int mw__tql_match(const mw_tql *q, const mw_tql_span *s) { return q && q->root && s ? eval(q->root, s) : 0; }

int mw__tql_trace_level(const mw_tql *q) { return q && q->trace_level; }

/* ---- trace-level evaluation ---------------------------------------------------- */

typedef struct id_ix {
  const uint8_t *id;
  size_t i;
} id_ix;

static int cmp_id(const void *x, const void *y) {
  const id_ix *a = x, *b = y;
  int c = memcmp(a->id, b->id, 8);
  return c ? c : (a->i > b->i) - (a->i < b->i);
}

enum { NO_PARENT = -1 };

/* par[i]: the index of span i's parent among the spans, or NO_PARENT. As in
 * Tempo, whose structural operators work on a nested set model built from
 * the trace's roots (vparquet nested_set_model.go), only the spans connected
 * to a root (a span without a parent id) take part: the others (whose parent
 * has not been stored, and their descendants) get NO_PARENT and
 * rooted[i] = 0, and are in no relation. */
static int parents(mw_arena *a, const mw_tql_span *s, size_t n, ptrdiff_t *par, unsigned char *rooted) {
  id_ix *v = mw__arena_alloc(a, n * sizeof *v);
  if (!v) return MW_ENOMEM;
  size_t k = 0;
  for (size_t i = 0; i < n; i++)
    if (s[i].span_id) v[k++] = (id_ix){s[i].span_id, i};
  qsort(v, k, sizeof *v, cmp_id);
  for (size_t i = 0; i < n; i++) {
    par[i] = NO_PARENT;
    if (!s[i].parent_id) continue;
    size_t lo = 0, hi = k; /* the first id >= parent_id */
    while (lo < hi) {
      size_t mid = lo + (hi - lo) / 2;
      if (memcmp(v[mid].id, s[i].parent_id, 8) < 0) lo = mid + 1;
      else hi = mid;
    }
    if (lo < k && memcmp(v[lo].id, s[i].parent_id, 8) == 0 && v[lo].i != i) par[i] = (ptrdiff_t)v[lo].i;
  }
  /* rooted: 0 unknown, 1 yes, 2 no; a walk up stops at a known span or after n steps (a cycle) */
  memset(rooted, 0, n);
  for (size_t i = 0; i < n; i++) {
    ptrdiff_t j = (ptrdiff_t)i;
    size_t steps = 0;
    while (!rooted[j] && par[j] != NO_PARENT && steps++ < n) j = par[j];
    unsigned char verdict = rooted[j] ? rooted[j] : (par[j] == NO_PARENT && !s[j].parent_id) ? 1 : 2;
    for (ptrdiff_t m = (ptrdiff_t)i; !rooted[m]; m = par[m] == NO_PARENT ? m : par[m]) {
      rooted[m] = verdict;
      if (par[m] == NO_PARENT) break;
    }
  }
  for (size_t i = 0; i < n; i++) {
    rooted[i] = rooted[i] == 1;
    if (!rooted[i]) par[i] = NO_PARENT;
  }
  return MW_OK;
}

static int any(const unsigned char *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (v[i]) return 1;
  return 0;
}

typedef struct tree {
  const ptrdiff_t *par;
  const unsigned char *rooted;
  size_t n;
} tree;

/* out[i] = 1 when some span j with side[j] stands in rel to i (rel(j, i):
 * i is a descendant, child, ancestor, parent or sibling of j). Walks up the
 * parents stop after n steps. Roots are siblings of each other, as in Tempo
 * (their nested-set parent is the same -1). */
static int partner(mw_arena *a, int rel, const unsigned char *side, const tree *t, unsigned char *out) {
  size_t n = t->n;
  memset(out, 0, n);
  switch (rel) {
  case R_DESC: /* an ancestor of i is on the side */
    for (size_t i = 0; i < n; i++)
      for (ptrdiff_t k = t->par[i], steps = 0; k != NO_PARENT && (size_t)steps < n; k = t->par[k], steps++)
        if (side[k]) {
          out[i] = 1;
          break;
        }
    return MW_OK;
  case R_ANC: /* a descendant of i is on the side */
    for (size_t j = 0; j < n; j++)
      if (side[j])
        for (ptrdiff_t k = t->par[j], steps = 0; k != NO_PARENT && (size_t)steps < n; k = t->par[k], steps++)
          out[k] = 1;
    return MW_OK;
  case R_CHILD: /* i's parent is on the side */
    for (size_t i = 0; i < n; i++) out[i] = t->par[i] != NO_PARENT && side[t->par[i]];
    return MW_OK;
  case R_PARENT: /* a child of i is on the side */
    for (size_t j = 0; j < n; j++)
      if (side[j] && t->par[j] != NO_PARENT) out[t->par[j]] = 1;
    return MW_OK;
  default: { /* another span with i's parent is on the side; key n: the roots */
    size_t *count = mw__arena_calloc(a, n + 1, sizeof *count);
    if (!count) return MW_ENOMEM;
    for (size_t j = 0; j < n; j++)
      if (side[j] && t->rooted[j]) count[t->par[j] == NO_PARENT ? n : (size_t)t->par[j]]++;
    for (size_t i = 0; i < n; i++)
      if (t->rooted[i]) out[i] = count[t->par[i] == NO_PARENT ? n : (size_t)t->par[i]] > (side[i] ? 1u : 0u);
    return MW_OK;
  }
  }
}

/* The spans e selects among s (out[i] = 1), as Tempo's SpansetOperation
 * evaluates on one trace: && and || keep the spans of both sides (&& only
 * when both sides selected some); a structural operator the spans of its
 * right side in (>>) or not in (!>>) that relation to a span of its left
 * side, or (&>>) the spans of both sides in it. */
static int ss_eval(mw_arena *a, const ssnode *e, const mw_tql_span *s, const tree *t, unsigned char *out) {
  size_t n = t->n;
  if (e->op == SS_FILTER) {
    for (size_t i = 0; i < n; i++) out[i] = (unsigned char)eval(e->filter, &s[i]);
    return MW_OK;
  }
  unsigned char *l = mw__arena_alloc(a, n), *r = mw__arena_alloc(a, n), *m = mw__arena_alloc(a, n);
  if (!l || !r || !m) return MW_ENOMEM;
  int rc = ss_eval(a, e->l, s, t, l);
  if (!rc) rc = ss_eval(a, e->r, s, t, r);
  if (rc) return rc;
  memset(out, 0, n);
  if (e->op == SS_AND || e->op == SS_UNION) {
    if (e->op == SS_AND && (!any(l, n) || !any(r, n))) return MW_OK;
    for (size_t i = 0; i < n; i++) out[i] = l[i] | r[i];
    return MW_OK;
  }
  if ((rc = partner(a, e->rel, l, t, m))) return rc;
  for (size_t i = 0; i < n; i++) out[i] = r[i] && (e->mode == M_NOT ? !m[i] : m[i]);
  if (e->mode != M_UNION) return MW_OK;
  static const int inverse[] = {
      [R_DESC] = R_ANC, [R_CHILD] = R_PARENT, [R_ANC] = R_DESC, [R_PARENT] = R_CHILD, [R_SIBL] = R_SIBL};
  if ((rc = partner(a, inverse[e->rel], r, t, m))) return rc;
  for (size_t i = 0; i < n; i++) out[i] |= l[i] && m[i];
  return MW_OK;
}

int mw__tql_eval_trace(mw_arena *a, const mw_tql *q, const mw_tql_span *spans, size_t n, unsigned char *sel,
                       size_t *n_sel) {
  *n_sel = 0;
  if (n) memset(sel, 0, n);
  if (!q || !q->top || !n) return MW_OK;
  ptrdiff_t *par = mw__arena_alloc(a, n * sizeof *par);
  unsigned char *rooted = mw__arena_alloc(a, n);
  if (!par || !rooted) return MW_ENOMEM;
  int rc = parents(a, spans, n, par, rooted);
  tree t = {par, rooted, n};
  if (!rc) rc = ss_eval(a, q->top, spans, &t, sel);
  if (rc) return rc;
  for (size_t i = 0; i < n; i++) *n_sel += sel[i] != 0;
  return MW_OK;
}

/* The equalities on resource.service.name and name among the conditions
 * joined by && at the top of f. */
static void required(const node *f, const char **service, const char **name) {
  if (f->kind == N_AND) {
    required(f->l, service, name);
    required(f->r, service, name);
    return;
  }
  if (f->kind != N_CMP || f->op != OP_EQ || f->lit != L_STR || !f->s || !*f->s) return;
  if (f->field == F_RES_ATTR && strcmp(f->key, "service.name") == 0) *service = f->s;
  else if (f->field == F_NAME) *name = f->s;
}

void mw__tql_required(const mw_tql *q, const char **service, const char **name) {
  *service = *name = NULL;
  if (q && q->top && q->top->op == SS_FILTER) required(q->top->filter, service, name);
}
