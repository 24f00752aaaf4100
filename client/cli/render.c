/* The CLI's output for a person (see render.h).
 *
 * An explanation is drawn in three parts: a header with the trace's summary; a
 * table of the spans in tree order (children under their parent, by start time)
 * whose last column is the span's breakdown as a bar and as percentages of its
 * duration; and, for every span whose largest cause is not its children, the
 * causes with their evidence. Widths are counted in code points, which is right
 * for everything but wide (East Asian) characters. */
#include "render.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MAX_INDENT_DEPTH 16 /* deeper spans are drawn at this depth's indentation */
#define MAX_FRAMES 8        /* frames shown per evidence item */
#define MAX_PROSE_WIDTH 120 /* sentences wrap here on wider terminals: long lines read badly */

/* --- JSON access: lenient, a missing or mistyped field is zero or empty ------------ */

static int64_t jint(const json_t *o, const char *k) {
  const json_t *v = json_object_get(o, k);
  if (json_is_integer(v)) return (int64_t)json_integer_value(v);
  if (json_is_real(v)) {
    double d = json_real_value(v);
    return isfinite(d) && fabs(d) < 9e18 ? (int64_t)llround(d) : 0;
  }
  if (json_is_string(v)) return strtoll(json_string_value(v), NULL, 10); /* OTLP-style "123" */
  return 0;
}

static double jnum(const json_t *o, const char *k) { return json_number_value(json_object_get(o, k)); }

static const char *jstr(const json_t *o, const char *k) {
  const char *s = json_string_value(json_object_get(o, k));
  return s ? s : "";
}

/* --- text ------------------------------------------------------------------------- */

/* Columns of UTF-8 text: its code points. */
static size_t cols_n(const char *s, size_t nbytes) {
  size_t n = 0;
  for (size_t i = 0; i < nbytes && s[i]; i++) n += ((unsigned char)s[i] & 0xC0) != 0x80;
  return n;
}

static size_t cols(const char *s) { return cols_n(s, strlen(s)); }

/* Writes at most max_cols columns of the first nbytes of s, with C0 and C1
 * control characters and DEL as '?'. Returns the columns written. */
static size_t put_text_n(FILE *out, const char *s, size_t nbytes, size_t max_cols) {
  const unsigned char *p = (const unsigned char *)s, *end = p + nbytes;
  size_t c = 0;
  while (p < end && *p && c < max_cols) {
    size_t len = 1;
    if (*p >= 0xC0)
      while (p + len < end && (p[len] & 0xC0) == 0x80 && len < 4) len++;
    int ctrl = *p < 0x20 || *p == 0x7f || (*p == 0xC2 && len == 2 && p[1] < 0xA0);
    if (ctrl) fputc('?', out);
    else fwrite(p, 1, len, out);
    p += len;
    c++;
  }
  return c;
}

static size_t put_text(FILE *out, const char *s) { return put_text_n(out, s, strlen(s), (size_t)-1); }

static void pad(FILE *out, size_t n) {
  while (n--) fputc(' ', out);
}

/* Writes s in exactly w columns: cut with an ellipsis when longer, else padded. */
static void put_cell(FILE *out, const char *s, size_t w, int right) {
  size_t n = cols(s);
  if (n > w) {
    if (w) {
      put_text_n(out, s, strlen(s), w - 1);
      fputs("\xE2\x80\xA6", out); /* U+2026 HORIZONTAL ELLIPSIS */
    }
    return;
  }
  if (right) pad(out, w - n);
  put_text(out, s);
  if (!right) pad(out, w - n);
}

/* Writes text from column indent, breaking between words before column width;
 * continuation lines are indented alike. The first line's indentation is
 * written unless the caller already has (indented). */
static void put_wrapped(FILE *out, const char *text, size_t indent, size_t width, int indented) {
  size_t col = indent;
  if (!indented) pad(out, indent);
  const char *p = text;
  while (*p) {
    while (*p == ' ') p++;
    if (!*p) break;
    const char *q = p;
    while (*q && *q != ' ') q++;
    size_t w = cols_n(p, (size_t)(q - p));
    if (col > indent && col + 1 + w > width) {
      fputc('\n', out);
      pad(out, indent);
      col = indent;
    } else if (col > indent) {
      fputc(' ', out);
      col++;
    }
    col += put_text_n(out, p, (size_t)(q - p), (size_t)-1);
    p = q;
  }
  fputc('\n', out);
}

static void sgr(FILE *out, const cli_render_opts *o, const char *code) {
  if (o->color) fprintf(out, "\033[%sm", code);
}

static void sgr_off(FILE *out, const cli_render_opts *o) { sgr(out, o, "0"); }

/* --- numbers ---------------------------------------------------------------------- */

void cli_format_duration(char *buf, size_t size, int64_t ns) {
  const char *sign = "";
  if (ns < 0) {
    sign = "-";
    ns = ns == INT64_MIN ? INT64_MAX : -ns;
  }
  if (ns < 1000) snprintf(buf, size, "%s%lld ns", sign, (long long)ns);
  else if (ns < 999950) snprintf(buf, size, "%s%.1f us", sign, (double)ns / 1e3);
  else if (ns < 999950000) snprintf(buf, size, "%s%.1f ms", sign, (double)ns / 1e6);
  else if (ns < 59995000000) snprintf(buf, size, "%s%.2f s", sign, (double)ns / 1e9);
  else if (ns < 3600000000000) {
    long long s = (ns + 500000000) / 1000000000;
    snprintf(buf, size, "%s%lldm%02llds", sign, s / 60, s % 60);
  } else {
    long long m = (ns + 30000000000) / 60000000000;
    snprintf(buf, size, "%s%lldh%02lldm", sign, m / 60, m % 60);
  }
}

void cli_format_time(char *buf, size_t size, int64_t unix_ns) {
  int64_t s = unix_ns / 1000000000, rem = unix_ns % 1000000000;
  if (rem < 0) { /* before 1970: floor, not truncate */
    s--;
    rem += 1000000000;
  }
  int64_t ms = rem / 1000000;
  time_t t = (time_t)s;
  struct tm tm;
  if (!gmtime_r(&t, &tm)) {
    snprintf(buf, size, "@%lld", (long long)unix_ns);
    return;
  }
  char day[32];
  strftime(day, sizeof day, "%Y-%m-%dT%H:%M:%S", &tm);
  snprintf(buf, size, "%s.%03lldZ", day, (long long)ms);
}

static void format_percent(char *buf, size_t size, double share) {
  double pct = share * 100;
  if (pct >= 9.95 || pct <= 0) snprintf(buf, size, "%.0f%%", pct);
  else snprintf(buf, size, "%.1f%%", pct);
}

static void format_bytes(char *buf, size_t size, int64_t n) {
  if (n >= 1 << 20) snprintf(buf, size, "%.1f MiB", (double)n / (1 << 20));
  else if (n >= 1 << 10) snprintf(buf, size, "%.1f KiB", (double)n / (1 << 10));
  else snprintf(buf, size, "%lld B", (long long)n);
}

/* --- breakdown categories ----------------------------------------------------------- */

enum cat {
  CAT_CPU,
  CAT_GC,
  CAT_MUTEX,
  CAT_CHAN,
  CAT_SELECT,
  CAT_IO,
  CAT_SLEEP,
  CAT_SYSCALL,
  CAT_COND,
  CAT_BLOCKED,
  CAT_RUNNABLE,
  CAT_CHILDREN,
  CAT_UNKNOWN,
  CAT_N
};

static const struct {
  const char *label; /* in the percentages */
  const char *key;   /* in breakdown.blocked_ns, for the blocked kinds */
  char letter;       /* in the bar without colours */
  const char *color; /* SGR code */
} cats[CAT_N] = {
    [CAT_CPU] = {"cpu", NULL, 'C', "32"},           [CAT_GC] = {"gc", NULL, 'G', "33"},
    [CAT_MUTEX] = {"mutex", "mutex", 'B', "31"},    [CAT_CHAN] = {"chan", "chan", 'B', "31"},
    [CAT_SELECT] = {"select", "select", 'B', "31"}, [CAT_IO] = {"io", "io", 'B', "31"},
    [CAT_SLEEP] = {"sleep", "sleep", 'B', "31"},    [CAT_SYSCALL] = {"syscall", "syscall", 'B', "31"},
    [CAT_COND] = {"cond", "cond", 'B', "31"},       [CAT_BLOCKED] = {"blocked", "other", 'B', "31"},
    [CAT_RUNNABLE] = {"runnable", NULL, 'R', "35"}, [CAT_CHILDREN] = {"children", NULL, '=', "34"},
    [CAT_UNKNOWN] = {"unknown", NULL, '?', "90"},
};

/* The colour of a cause kind: that of its breakdown category. */
static const char *kind_color(const char *kind) {
  if (strncmp(kind, "gc", 2) == 0) return cats[CAT_GC].color;
  for (int c = 0; c < CAT_N; c++)
    if (strcmp(kind, cats[c].label) == 0) return cats[c].color;
  return cats[CAT_BLOCKED].color;
}

/* --- the span table ----------------------------------------------------------------- */

typedef struct row {
  const json_t *j;
  const char *id, *parent_id, *name, *service;
  int parent; /* index of the parent row, -1 when none is in the trace */
  int depth;
  int64_t start, dur, self;
  int64_t cat[CAT_N];
  char dur_s[24], self_s[24];
} row;

typedef struct id_ix {
  const char *id;
  int idx;
} id_ix;

static int cmp_id_ix(const void *a, const void *b) {
  const id_ix *x = a, *y = b;
  int c = strcmp(x->id, y->id);
  return c ? c : (x->idx > y->idx) - (x->idx < y->idx);
}

static int cmp_id_only(const void *a, const void *b) { return strcmp(((const id_ix *)a)->id, ((const id_ix *)b)->id); }

/* Sibling order: by parent (roots, -1, first), then start, then position. */
typedef struct kid {
  int parent, idx;
  int64_t start;
} kid;

static int cmp_kid(const void *a, const void *b) {
  const kid *x = a, *y = b;
  if (x->parent != y->parent) return (x->parent > y->parent) - (x->parent < y->parent);
  if (x->start != y->start) return (x->start > y->start) - (x->start < y->start);
  return (x->idx > y->idx) - (x->idx < y->idx);
}

static void read_row(row *r, const json_t *j) {
  r->j = j;
  r->id = jstr(j, "span_id");
  r->parent_id = jstr(j, "parent_span_id");
  r->name = jstr(j, "name");
  r->service = jstr(j, "service");
  r->start = jint(j, "start_ns");
  r->dur = jint(j, "duration_ns");
  r->self = jint(j, "self_ns");
  const json_t *b = json_object_get(j, "breakdown"), *blocked = json_object_get(b, "blocked_ns");
  r->cat[CAT_CPU] = jint(b, "cpu_ns");
  r->cat[CAT_GC] = jint(b, "gc_stw_ns") + jint(b, "gc_assist_ns");
  for (int c = CAT_MUTEX; c <= CAT_BLOCKED; c++) r->cat[c] = jint(blocked, cats[c].key);
  r->cat[CAT_RUNNABLE] = jint(b, "runnable_ns");
  r->cat[CAT_CHILDREN] = jint(b, "children_ns");
  r->cat[CAT_UNKNOWN] = jint(b, "unknown_ns");
  cli_format_duration(r->dur_s, sizeof r->dur_s, r->dur);
  cli_format_duration(r->self_s, sizeof r->self_s, r->self);
}

/* Links parents and returns the rows in tree order (depth first, siblings by
 * start) in order[]; spans caught in a parent cycle start a tree of their own. */
static int tree_order(row *rows, size_t n, int *order) {
  int rc = CLI_RENDER_ENOMEM;
  id_ix *ids = malloc((n + 1) * sizeof *ids);
  kid *kids = malloc((n + 1) * sizeof *kids);
  size_t *lo = calloc(n + 1, sizeof *lo), *hi = calloc(n + 1, sizeof *hi);
  int *stack = malloc((n + 1) * sizeof *stack);
  char *seen = calloc(n + 1, 1);
  if (!ids || !kids || !lo || !hi || !stack || !seen) goto out;

  for (size_t i = 0; i < n; i++) ids[i] = (id_ix){rows[i].id, (int)i};
  qsort(ids, n, sizeof *ids, cmp_id_ix);
  for (size_t i = 0; i < n; i++) {
    rows[i].parent = -1;
    if (!rows[i].parent_id[0]) continue;
    id_ix key = {rows[i].parent_id, 0};
    const id_ix *p = bsearch(&key, ids, n, sizeof *ids, cmp_id_only);
    if (p && p->idx != (int)i) rows[i].parent = p->idx;
  }
  for (size_t i = 0; i < n; i++) kids[i] = (kid){rows[i].parent, (int)i, rows[i].start};
  qsort(kids, n, sizeof *kids, cmp_kid);
  for (size_t k = 0; k < n; k++) { /* children of p are kids[lo[p], hi[p]) */
    int p = kids[k].parent;
    if (p < 0) continue;
    if (hi[p] == 0) lo[p] = k;
    hi[p] = k + 1;
  }

  size_t no = 0, sp = 0;
  for (size_t pass = 0; pass < 2; pass++)
    for (size_t k = 0; k < n; k++) {
      /* first the roots in start order, then whatever a cycle kept unreached */
      int v0 = pass == 0 ? kids[k].idx : (int)k;
      if ((pass == 0 && kids[k].parent >= 0) || seen[v0]) continue;
      rows[v0].depth = 0;
      stack[sp++] = v0;
      while (sp) {
        int v = stack[--sp];
        if (seen[v]) continue;
        seen[v] = 1;
        order[no++] = v;
        for (size_t c = hi[v]; c > lo[v]; c--) {
          int w = kids[c - 1].idx;
          if (seen[w]) continue;
          rows[w].depth = rows[v].depth + 1;
          stack[sp++] = w;
        }
      }
    }
  rc = CLI_RENDER_OK;
out:
  free(ids);
  free(kids);
  free(lo);
  free(hi);
  free(stack);
  free(seen);
  return rc;
}

/* Splits width cells among the categories by largest remainder; cells[CAT_N]
 * is the part of the duration no category accounts for. */
static void bar_cells(const row *r, int width, int cells[CAT_N + 1]) {
  int64_t sum = 0;
  for (int c = 0; c < CAT_N; c++) sum += r->cat[c] > 0 ? r->cat[c] : 0;
  int64_t total = r->dur > sum ? r->dur : sum;
  double rem[CAT_N + 1];
  int used = 0;
  for (int c = 0; c <= CAT_N; c++) {
    int64_t v = c < CAT_N ? (r->cat[c] > 0 ? r->cat[c] : 0) : total - sum;
    double exact = total > 0 ? (double)v * width / (double)total : 0;
    cells[c] = (int)exact;
    rem[c] = exact - cells[c];
    used += cells[c];
  }
  while (total > 0 && used < width) {
    int best = 0;
    for (int c = 1; c <= CAT_N; c++)
      if (rem[c] > rem[best]) best = c;
    cells[best]++;
    rem[best] = -1;
    used++;
  }
}

static void put_bar(FILE *out, const row *r, int width, const cli_render_opts *o) {
  int cells[CAT_N + 1];
  bar_cells(r, width, cells);
  int drawn = 0;
  for (int c = 0; c <= CAT_N; c++) {
    if (!cells[c]) continue;
    if (c < CAT_N) sgr(out, o, cats[c].color);
    for (int i = 0; i < cells[c]; i++) {
      if (c == CAT_N) fputc(o->color ? ' ' : '.', out);
      else if (o->color) fputs("\xE2\x96\x88", out); /* U+2588 FULL BLOCK */
      else fputc(cats[c].letter, out);
    }
    if (c < CAT_N) sgr_off(out, o);
    drawn += cells[c];
  }
  pad(out, (size_t)(width - drawn));
}

/* "mutex 85%  cpu 10%  unknown 5%": the categories of at least half a percent,
 * largest first, as many as fit in width columns. */
static void put_percentages(FILE *out, const row *r, size_t width, const cli_render_opts *o) {
  int idx[CAT_N];
  for (int c = 0; c < CAT_N; c++) idx[c] = c;
  for (int i = 1; i < CAT_N; i++) /* insertion sort, largest first, stable */
    for (int k = i; k > 0 && r->cat[idx[k]] > r->cat[idx[k - 1]]; k--) {
      int t = idx[k];
      idx[k] = idx[k - 1];
      idx[k - 1] = t;
    }
  size_t used = 0;
  for (int i = 0; i < CAT_N && r->dur > 0; i++) {
    int c = idx[i];
    double pct = 100.0 * (double)r->cat[c] / (double)r->dur;
    if (pct < 0.5) break;
    char item[48];
    snprintf(item, sizeof item, "%s %.0f%%", cats[c].label, pct);
    size_t w = strlen(item) + (used ? 2 : 0);
    if (used + w > width) break;
    if (used) fputs("  ", out);
    sgr(out, o, cats[c].color);
    fputs(item, out);
    sgr_off(out, o);
    used += w;
  }
  if (!used) fputc('-', out);
}

typedef struct layout {
  size_t name_w, svc_w, dur_w, self_w, bar_w, pct_w;
} layout;

static layout plan(const row *rows, size_t n, int width) {
  layout l = {.name_w = 4, .svc_w = 7, .dur_w = 8, .self_w = 8};
  for (size_t i = 0; i < n; i++) {
    size_t d = (size_t)(rows[i].depth < MAX_INDENT_DEPTH ? rows[i].depth : MAX_INDENT_DEPTH);
    size_t nw = 2 * d + cols(rows[i].name), sw = cols(rows[i].service);
    if (nw > l.name_w) l.name_w = nw;
    if (sw > l.svc_w) l.svc_w = sw;
    if (strlen(rows[i].dur_s) > l.dur_w) l.dur_w = strlen(rows[i].dur_s);
    if (strlen(rows[i].self_s) > l.self_w) l.self_w = strlen(rows[i].self_s);
  }
  size_t w = (size_t)width, min_pct = 12, min_name = 16;
  if (l.svc_w > 20) l.svc_w = 20;
  l.bar_w = w >= 110 ? 20 : w >= 80 ? 10 : 0;
  /* gaps: 2 after the name, service, duration and self; 2 after the bar */
  size_t fixed = l.svc_w + l.dur_w + l.self_w + 8 + (l.bar_w ? l.bar_w + 2 : 0);
  if (l.name_w + fixed + min_pct > w) { /* too wide: the name gives way, then the service */
    size_t room = w > fixed + min_pct ? w - fixed - min_pct : 0;
    l.name_w = room > min_name ? room : min_name;
    size_t over = l.name_w + fixed + min_pct > w ? l.name_w + fixed + min_pct - w : 0;
    size_t cut = l.svc_w > 8 ? (l.svc_w - 8 < over ? l.svc_w - 8 : over) : 0;
    l.svc_w -= cut;
    fixed -= cut;
  }
  l.pct_w = w > fixed + l.name_w + 10 ? w - fixed - l.name_w : 10;
  return l;
}

static void put_row(FILE *out, const row *r, const layout *l, const cli_render_opts *o) {
  size_t d = (size_t)(r->depth < MAX_INDENT_DEPTH ? r->depth : MAX_INDENT_DEPTH), ind = 2 * d;
  if (ind > l->name_w / 2) ind = l->name_w / 2;
  pad(out, ind);
  put_cell(out, r->name, l->name_w - ind, 0);
  fputs("  ", out);
  put_cell(out, r->service, l->svc_w, 0);
  fputs("  ", out);
  put_cell(out, r->dur_s, l->dur_w, 1);
  fputs("  ", out);
  put_cell(out, r->self_s, l->self_w, 1);
  fputs("  ", out);
  if (l->bar_w) {
    put_bar(out, r, (int)l->bar_w, o);
    fputs("  ", out);
  }
  put_percentages(out, r, l->pct_w, o);
  fputc('\n', out);
}

static void put_table(FILE *out, const row *rows, const int *order, size_t n, int width, const cli_render_opts *o) {
  layout l = plan(rows, n, width);
  sgr(out, o, "1");
  put_cell(out, "SPAN", l.name_w, 0);
  fputs("  ", out);
  put_cell(out, "SERVICE", l.svc_w, 0);
  fputs("  ", out);
  put_cell(out, "DURATION", l.dur_w, 1);
  fputs("  ", out);
  put_cell(out, "SELF", l.self_w, 1);
  fputs("  ", out);
  fputs((l.bar_w ? l.bar_w + 2 : 0) + l.pct_w >= 25 ? "BREAKDOWN (% of the span)" : "BREAKDOWN", out);
  sgr_off(out, o);
  fputc('\n', out);
  for (size_t i = 0; i < n; i++) put_row(out, &rows[order[i]], &l, o);
  if (!l.bar_w) return;
  /* the bar's legend, in its own colours */
  static const int legend[] = {CAT_CPU, CAT_GC, CAT_MUTEX, CAT_RUNNABLE, CAT_CHILDREN, CAT_UNKNOWN};
  static const char *const legend_text[] = {"cpu", "gc", "blocked", "runnable", "children", "unknown"};
  sgr(out, o, "2");
  fputs("bar:", out);
  sgr_off(out, o);
  for (size_t i = 0; i < sizeof legend / sizeof legend[0]; i++) {
    fputs("  ", out);
    sgr(out, o, cats[legend[i]].color);
    if (o->color) fputs("\xE2\x96\x88", out);
    else fputc(cats[legend[i]].letter, out);
    sgr_off(out, o);
    fprintf(out, " %s", legend_text[i]);
  }
  fputs(o->color ? "\n" : "  . not accounted for\n", out);
}

/* --- causes and evidence ----------------------------------------------------------- */

static void put_frames(FILE *out, const json_t *frames, size_t indent) {
  size_t n = json_array_size(frames);
  for (size_t i = 0; i < n && i < MAX_FRAMES; i++) {
    const json_t *f = json_array_get(frames, i);
    const char *file = jstr(f, "file");
    int64_t line = jint(f, "line");
    pad(out, indent);
    put_text(out, jstr(f, "function")[0] ? jstr(f, "function") : "?");
    if (file[0]) {
      fputs(" (", out);
      put_text(out, file);
      if (line > 0) fprintf(out, ":%lld", (long long)line);
      fputc(')', out);
    }
    fputc('\n', out);
  }
  if (n > MAX_FRAMES) {
    pad(out, indent);
    fprintf(out, "... %zu more frames\n", n - MAX_FRAMES);
  }
}

/* One evidence item as a sentence (server strings are sanitised when printed). */
static void describe_evidence(char *buf, size_t size, const json_t *e) {
  const char *type = jstr(e, "type");
  char t[40], d[24], d2[24];
  if (strcmp(type, "goroutine_sample") == 0) {
    const char *reason = jstr(e, "wait_reason");
    int64_t g = jint(e, "goroutines");
    cli_format_time(t, sizeof t, jint(e, "time_ns"));
    snprintf(buf, size, "goroutine snapshot %lld at %s: %lld goroutine%s in state %s%s%s%s",
             (long long)jint(e, "snapshot_id"), t, (long long)g, g == 1 ? "" : "s", jstr(e, "state"),
             reason[0] ? " (" : "", reason, reason[0] ? ")" : "");
  } else if (strcmp(type, "observations") == 0) {
    int64_t snaps = jint(e, "snapshots"), spans = jint(e, "spans");
    char of[48] = "";
    if (spans) snprintf(of, sizeof of, " of %lld similar span%s", (long long)spans, spans == 1 ? "" : "s");
    format_percent(d, sizeof d, jnum(e, "fraction"));
    snprintf(buf, size, "%lld goroutine snapshot%s%s; in this state in %s of them", (long long)snaps,
             snaps == 1 ? "" : "s", of, d);
  } else if (strcmp(type, "cpu_samples") == 0) {
    cli_format_duration(d, sizeof d, jint(e, "cpu_ns"));
    if (json_object_get(e, "samples")) {
      int64_t n = jint(e, "samples");
      snprintf(buf, size, "%lld CPU sample%s, %s on CPU", (long long)n, n == 1 ? "" : "s", d);
    } else {
      snprintf(buf, size, "%s on CPU in %s", d, jstr(e, "function")[0] ? jstr(e, "function") : "this stack");
    }
  } else if (strcmp(type, "cpu_profile") == 0) {
    cli_format_time(t, sizeof t, jint(e, "time_ns"));
    cli_format_duration(d, sizeof d, jint(e, "duration_ns"));
    snprintf(buf, size, "CPU profile snapshot %lld at %s, %s long", (long long)jint(e, "snapshot_id"), t, d);
  } else if (strcmp(type, "gc_cycle") == 0) {
    cli_format_time(t, sizeof t, jint(e, "start_ns"));
    cli_format_duration(d, sizeof d, jint(e, "stw_overlap_ns"));
    char heap[24], goal[24];
    format_bytes(heap, sizeof heap, jint(e, "heap_before_bytes"));
    format_bytes(goal, sizeof goal, jint(e, "goal_bytes"));
    snprintf(buf, size, "GC cycle %lld at %s: stopped the world for %s inside this span (heap %s, goal %s)",
             (long long)jint(e, "n"), t, d, heap, goal);
  } else if (strcmp(type, "span") == 0) {
    const char *top = jstr(e, "top_cause");
    cli_format_duration(d2, sizeof d2, jint(e, "duration_ns"));
    snprintf(buf, size, "slowest child: %s (%s), %s%s%s, span %s", jstr(e, "name"), jstr(e, "service"), d2,
             top[0] ? ", top cause " : "", top, jstr(e, "span_id"));
  } else if (strcmp(type, "reason") == 0) {
    snprintf(buf, size, "why: %s", jstr(e, "text"));
  } else if (strcmp(type, "exectrace") == 0) {
    cli_format_duration(d, sizeof d, jint(e, "covered_ns"));
    int64_t id = jint(e, "exectrace_id");
    snprintf(buf, size, "execution trace %lld (%s): covered %s of this span; download /api/v1/exectraces/%lld/raw",
             (long long)id, jstr(e, "alignment"), d, (long long)id);
  } else if (strcmp(type, "interval") == 0) {
    const char *reason = jstr(e, "reason"), *raw = jstr(e, "raw_reason");
    cli_format_duration(d, sizeof d, jint(e, "ns"));
    cli_format_duration(d2, sizeof d2, jint(e, "end_ns") - jint(e, "start_ns"));
    snprintf(buf, size, "goroutine %lld %s%s%s%s%s%s for %s of this span (the interval: %s, trace %lld)",
             (long long)jint(e, "goroutine"), jstr(e, "state"), reason[0] ? " (" : "", reason,
             raw[0] && strcmp(raw, reason) ? ": " : "", raw[0] && strcmp(raw, reason) ? raw : "", reason[0] ? ")" : "",
             d, d2, (long long)jint(e, "exectrace_id"));
  } else if (strcmp(type, "chain") == 0) {
    size_t n = json_array_size(json_object_get(e, "links"));
    snprintf(buf, size, "chain: who ended the wait (%zu link%s)", n, n == 1 ? "" : "s");
  } else { /* a kind this CLI does not know yet: its scalar fields */
    size_t n = (size_t)snprintf(buf, size, "%s", type[0] ? type : "evidence");
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)e, k, v) {
      if (n >= size || strcmp(k, "type") == 0) continue;
      if (json_is_string(v)) n += (size_t)snprintf(buf + n, size - n, " %s=%s", k, json_string_value(v));
      else if (json_is_integer(v))
        n += (size_t)snprintf(buf + n, size - n, " %s=%lld", k, (long long)json_integer_value(v));
      else if (json_is_real(v)) n += (size_t)snprintf(buf + n, size - n, " %s=%g", k, json_real_value(v));
    }
  }
}

/* A causal chain, one link per level of indent: who ended the wait (and
 * how), the span it ran, where it was, and what it had itself waited for. */
static void put_chain(FILE *out, const json_t *links, int64_t span_start, size_t width) {
  for (size_t i = 0; i < json_array_size(links) && i < 8; i++) {
    const json_t *k = json_array_get(links, i), *w = json_object_get(k, "waited");
    size_t ind = 8 + 2 * i;
    char line[1024], d[24], when[24];
    size_t n = 0;
    int64_t rel = jint(k, "woke_ns") - span_start;
    cli_format_duration(when, sizeof when, rel < 0 ? -rel : rel);
    n += (size_t)snprintf(line + n, sizeof line - n, "%s goroutine %lld at %s%s",
                          strcmp(jstr(k, "relation"), "released") == 0 ? "released by" : "woken by",
                          (long long)jint(k, "goroutine"), rel < 0 ? "-" : "+", when);
    const char *sid = jstr(k, "span_id"), *tid = jstr(k, "trace_id"), *name = jstr(k, "span_name");
    if (!sid[0] && n < sizeof line) n += (size_t)snprintf(line + n, sizeof line - n, ", no span");
    else if (n < sizeof line)
      n += (size_t)snprintf(line + n, sizeof line - n, ", span %s%s%s%s%s%.8s%s", name[0] ? name : sid,
                            jstr(k, "service")[0] ? " (" : "", jstr(k, "service"), jstr(k, "service")[0] ? ")" : "",
                            tid[0] ? " of trace " : "", tid, tid[0] ? "…" : "");
    pad(out, ind);
    put_wrapped(out, line, ind, width, 1);
    put_frames(out, json_object_get(k, "stack"), ind + 2);
    if (w) {
      const char *reason = jstr(w, "reason");
      cli_format_duration(d, sizeof d, jint(w, "ns"));
      snprintf(line, sizeof line, "which had waited %s: %s%s%s%s, at", d, jstr(w, "state"), reason[0] ? " (" : "",
               reason, reason[0] ? ")" : "");
      pad(out, ind + 2);
      put_wrapped(out, line, ind + 2, width, 1);
      put_frames(out, json_object_get(w, "stack"), ind + 4);
    }
  }
}

static void put_cause(FILE *out, const json_t *c, int64_t span_start, size_t width, const cli_render_opts *o) {
  const char *kind = jstr(c, "kind"), *scope = jstr(c, "scope");
  char share[16];
  format_percent(share, sizeof share, jnum(c, "share"));
  fputs("  ", out);
  sgr(out, o, kind_color(kind));
  sgr(out, o, "1");
  put_cell(out, kind[0] ? kind : "?", 9, 0);
  sgr_off(out, o);
  fprintf(out, " %5s  confidence %.2f  ", share, jnum(c, "confidence"));
  if (strcmp(scope, "operation") == 0) {
    sgr(out, o, "1;33");
    fputs("(from similar spans)", out);
    sgr_off(out, o);
  } else if (strcmp(scope, "span") == 0 || !scope[0]) {
    fputs("(this span)", out);
  } else if (strcmp(scope, "trace") == 0) {
    fputs("(execution trace)", out);
  } else {
    fputs("(scope ", out);
    put_text(out, scope);
    fputc(')', out);
  }
  fputc('\n', out);
  if (jstr(c, "summary")[0]) put_wrapped(out, jstr(c, "summary"), 4, width, 0);

  const json_t *ev = json_object_get(c, "evidence");
  for (size_t i = 0; i < json_array_size(ev); i++) {
    const json_t *e = json_array_get(ev, i);
    char text[2048];
    describe_evidence(text, sizeof text, e);
    sgr(out, o, "2");
    fputs("    - ", out);
    sgr_off(out, o);
    put_wrapped(out, text, 6, width, 1);
    const char *note = jstr(e, "note");
    if (note[0]) {
      char nb[1024];
      snprintf(nb, sizeof nb, "note: %s", note);
      put_wrapped(out, nb, 8, width, 0);
    }
    put_frames(out, json_object_get(e, "frames"), 8);
    put_frames(out, json_object_get(e, "stack"), 8);
    if (strcmp(jstr(e, "type"), "chain") == 0) put_chain(out, json_object_get(e, "links"), span_start, width);
  }
}

static void put_causes(FILE *out, const row *rows, const int *order, size_t n, size_t width, const cli_render_opts *o) {
  int titled = 0;
  for (size_t i = 0; i < n; i++) {
    const row *r = &rows[order[i]];
    const json_t *causes = json_object_get(r->j, "causes");
    if (!json_array_size(causes) || strcmp(jstr(json_array_get(causes, 0), "kind"), "children") == 0) continue;
    if (!titled) {
      fputc('\n', out);
      sgr(out, o, "1");
      fputs("CAUSES", out);
      sgr_off(out, o);
      fputc('\n', out);
      titled = 1;
    }
    fputc('\n', out);
    sgr(out, o, "1");
    put_text(out, r->name[0] ? r->name : "?");
    sgr_off(out, o);
    fputs(" (", out);
    put_text(out, r->service);
    fprintf(out, ")  %s, self %s  span ", r->dur_s, r->self_s);
    put_text(out, r->id);
    fputc('\n', out);
    for (size_t k = 0; k < json_array_size(causes); k++)
      put_cause(out, json_array_get(causes, k), jint(r->j, "start_ns"), width, o);
  }
}

/* --- entry points ------------------------------------------------------------------- */

static int clamp_width(const cli_render_opts *o) {
  return o->width < CLI_RENDER_MIN_WIDTH ? CLI_RENDER_MIN_WIDTH : o->width;
}

int cli_render_explain(FILE *out, const json_t *ex, const cli_render_opts *o) {
  const json_t *spans = json_object_get(ex, "spans");
  if (!json_is_object(ex) || !json_is_array(spans)) return CLI_RENDER_ESHAPE;
  int width = clamp_width(o);
  size_t n = json_array_size(spans), prose = width < MAX_PROSE_WIDTH ? (size_t)width : MAX_PROSE_WIDTH;
  row *rows = calloc(n + 1, sizeof *rows);
  int *order = calloc(n + 1, sizeof *order);
  int rc = CLI_RENDER_ENOMEM;
  if (!rows || !order) goto out;
  for (size_t i = 0; i < n; i++) read_row(&rows[i], json_array_get(spans, i));
  if ((rc = tree_order(rows, n, order))) goto out;

  char d[24], t[40];
  cli_format_duration(d, sizeof d, jint(ex, "duration_ns"));
  sgr(out, o, "1");
  fputs("trace ", out);
  put_text(out, jstr(ex, "trace_id"));
  sgr_off(out, o);
  /* the rest after the id, or under it when the line would not fit */
  fputs(width < 6 + (int)cols(jstr(ex, "trace_id")) + 60 ? "\n" : "  ", out);
  fprintf(out, "%s  %zu span%s", d, n, n == 1 ? "" : "s");
  if (json_object_get(ex, "start_ns")) {
    cli_format_time(t, sizeof t, jint(ex, "start_ns"));
    fprintf(out, "  started %s", t);
  }
  fputs("\n\n", out);
  if (jstr(ex, "summary")[0]) {
    put_wrapped(out, jstr(ex, "summary"), 0, prose, 0);
    fputc('\n', out);
  }
  put_table(out, rows, order, n, width, o);
  put_causes(out, rows, order, n, prose, o);
  rc = CLI_RENDER_OK;
out:
  free(rows);
  free(order);
  return rc;
}

int cli_render_search(FILE *out, const json_t *search, const cli_render_opts *o) {
  const json_t *traces = json_object_get(search, "traces");
  if (!json_is_array(traces)) return CLI_RENDER_ESHAPE;
  size_t n = json_array_size(traces), id_w = 32, who_w = 0, dur_w = 0;
  for (size_t i = 0; i < n; i++) {
    const json_t *t = json_array_get(traces, i);
    char d[24];
    cli_format_duration(d, sizeof d, (int64_t)llround(jnum(t, "durationMs") * 1e6));
    size_t iw = cols(jstr(t, "traceID")), ww = cols(jstr(t, "rootServiceName")) + 1 + cols(jstr(t, "rootTraceName"));
    if (iw > id_w) id_w = iw;
    if (ww > who_w) who_w = ww;
    if (strlen(d) > dur_w) dur_w = strlen(d);
  }
  size_t width = (size_t)clamp_width(o), time_w = 24, fixed = id_w + time_w + dur_w + 6;
  if (who_w + fixed > width) who_w = width > fixed + 16 ? width - fixed : 16;
  for (size_t i = 0; i < n; i++) {
    const json_t *t = json_array_get(traces, i);
    char who[1024], when[40], d[24];
    snprintf(who, sizeof who, "%s %s", jstr(t, "rootServiceName"), jstr(t, "rootTraceName"));
    cli_format_time(when, sizeof when, jint(t, "startTimeUnixNano"));
    cli_format_duration(d, sizeof d, (int64_t)llround(jnum(t, "durationMs") * 1e6));
    put_cell(out, jstr(t, "traceID"), id_w, 0);
    fputs("  ", out);
    put_cell(out, who, who_w, 0);
    fputs("  ", out);
    put_cell(out, when, time_w, 0);
    fputs("  ", out);
    sgr(out, o, "1");
    put_cell(out, d, dur_w, 1);
    sgr_off(out, o);
    fputc('\n', out);
  }
  return CLI_RENDER_OK;
}
