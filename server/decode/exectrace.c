/* Decoding meanwhile-exectrace's output (see exectrace.h). */
#include "decode/exectrace.h"
#include "core/bmap.h"
#include "core/buf.h"
#include "core/error.h"
#include "core/jsonw.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "meanwhile/exectrace/v1/records.pb-c.h"

/* Distinct reason strings kept per trace (the runtime has a few dozen);
 * past it, a reason is kept as "other". Stack frames kept per stack. */
enum {
  MAX_REASONS = 1024,
  MAX_FRAMES = 256,
  MAX_FRAME_TEXT = 2048,
  MAX_STACK_TEXT = 1 << 20,
  MAX_WINDOWS_JSON = 64 << 20
};

enum { F_STACKS = 1, F_SPANS = 2, F_INTERVALS = 3, F_WAKES = 4, F_WINDOWS = 5, F_PROCS = 6, F_SUMMARY = 15 };

typedef struct field {
  uint32_t num;
  const uint8_t *p;
  size_t len;
} field;

typedef struct walker {
  const uint8_t *p, *end;
} walker;

static int varint(walker *w, uint64_t *v) {
  *v = 0;
  for (int shift = 0; shift < 64 && w->p < w->end; shift += 7) {
    uint8_t c = *w->p++;
    *v |= (uint64_t)(c & 0x7f) << shift;
    if (!(c & 0x80)) return 1;
  }
  return 0;
}

/* The next top-level field: 1 when one was read, 0 at the end, -1 when the
 * bytes are not a protobuf message (a field of another wire type than
 * length-delimited is skipped: Records has none, a newer writer might). */
static int next_field(walker *w, field *f) {
  for (;;) {
    if (w->p >= w->end) return 0;
    uint64_t key, n;
    if (!varint(w, &key) || (key >> 3) == 0 || (key >> 3) > UINT32_MAX) return -1;
    switch (key & 7) {
    case 0:
      if (!varint(w, &n)) return -1;
      continue;
    case 1:
      if (w->end - w->p < 8) return -1;
      w->p += 8;
      continue;
    case 5:
      if (w->end - w->p < 4) return -1;
      w->p += 4;
      continue;
    case 2:
      if (!varint(w, &n) || n > (uint64_t)(w->end - w->p)) return -1;
      f->num = (uint32_t)(key >> 3);
      f->p = w->p;
      f->len = (size_t)n;
      w->p += n;
      return 1;
    default: return -1;
    }
  }
}

static int fail(char *err, size_t errsz, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errsz, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(err, errsz, fmt, ap);
  va_end(ap);
  return MW_EINVAL;
}

int mw__xt_records_count(const uint8_t *p, size_t len, size_t *n_intervals, size_t *n_wakes, char *err, size_t errsz) {
  walker w = {p, p + len};
  field f;
  int k;
  *n_intervals = *n_wakes = 0;
  while ((k = next_field(&w, &f)) > 0) {
    if (f.num == F_INTERVALS) (*n_intervals)++;
    else if (f.num == F_WAKES) (*n_wakes)++;
  }
  if (k < 0)
    return fail(err, errsz, "the reader's output is not a Records message (at byte %zu of %zu)", (size_t)(w.p - p),
                len);
  return MW_OK;
}

typedef struct dec {
  mw_arena *a;
  mw_bmap *reasons; /* string -> index into strs */
  const char **strs;
  size_t n_strs;
  char *err;
  size_t errsz;
} dec;

/* The interned copy of s ("" for NULL or ""). */
static const char *intern(dec *d, const char *s) {
  if (!s || !*s) return "";
  size_t n = strlen(s);
  int64_t i;
  if (mw__bmap_get(d->reasons, s, n, &i)) return d->strs[i];
  if (d->n_strs == MAX_REASONS) return "other";
  const char *copy = mw__arena_strndup(d->a, s, n);
  if (!copy || mw__bmap_put(d->reasons, s, n, (int64_t)d->n_strs)) return NULL;
  return d->strs[d->n_strs++] = copy;
}

/* A stack as the stack store keeps it: "func\tfile:line\n" per frame. */
static int stack_text(dec *d, const Meanwhile__Exectrace__V1__Stack *s, mw_stack_text *out) {
  mw_buf b;
  mw__buf_init(&b, MAX_STACK_TEXT);
  for (size_t i = 0; i < s->n_frames && i < MAX_FRAMES; i++) {
    const Meanwhile__Exectrace__V1__Frame *f = s->frames[i];
    const char *fn = f->func && *f->func ? f->func : "?", *file = f->file && *f->file ? f->file : "?";
    mw__buf_printf(&b, "%.*s\t%.*s:%lld\n", MAX_FRAME_TEXT, fn, MAX_FRAME_TEXT, file, (long long)f->line);
  }
  int rc = b.err ? MW_ENOMEM : MW_OK;
  if (!rc) {
    out->text = mw__arena_strndup(d->a, b.data ? b.data : "", b.len);
    out->len = b.len;
    if (!out->text) rc = MW_ENOMEM;
  }
  mw__buf_free(&b);
  return rc;
}

static void window_json(mw_jsonw *w, const Meanwhile__Exectrace__V1__Window *x) {
  mw__jw_obj(w);
  mw__jw_kstr(w, "kind", x->kind == MEANWHILE__EXECTRACE__V1__WINDOW_KIND__STW ? "stw" : "gc");
  mw__jw_kint(w, "start_ns", x->start_ns);
  mw__jw_kint(w, "end_ns", x->end_ns);
  if (x->reason && *x->reason) mw__jw_kstr(w, "reason", x->reason);
  mw__jw_obj_end(w);
}

/* Unpacks one field's message; NULL when it is malformed (err says which). */
#define UNPACK(type, fn, what)                                                                                         \
  type *m = fn(NULL, f.len, f.p);                                                                                      \
  if (!m) {                                                                                                            \
    rc = fail(err, errsz, "the reader's output has a malformed %s message", what);                                     \
    break;                                                                                                             \
  }

int mw__xt_records_decode(mw_arena *a, const uint8_t *p, size_t len, mw_xt_records *out, char *err, size_t errsz) {
  memset(out, 0, sizeof *out);
  size_t n_iv, n_wk;
  int rc = mw__xt_records_count(p, len, &n_iv, &n_wk, err, errsz);
  if (rc) return rc;
  dec d = {.a = a, .reasons = mw__bmap_new(MAX_REASONS * 2), .err = err, .errsz = errsz};
  d.strs = mw__arena_calloc(a, MAX_REASONS, sizeof *d.strs);
  out->intervals = n_iv ? malloc(n_iv * sizeof *out->intervals) : NULL;
  out->wakes = n_wk ? malloc(n_wk * sizeof *out->wakes) : NULL;
  mw_buf wb;
  mw__buf_init(&wb, MAX_WINDOWS_JSON);
  mw_jsonw jw;
  mw__jw_init(&jw, &wb);
  mw__jw_arr(&jw);
  size_t cap_stacks = 0, cap_spans = 0;
  if (!d.reasons || !d.strs || (n_iv && !out->intervals) || (n_wk && !out->wakes)) {
    rc = MW_ENOMEM;
    goto out;
  }
  walker w = {p, p + len};
  field f;
  while (!rc && next_field(&w, &f) > 0) {
    switch (f.num) {
    case F_STACKS: {
      UNPACK(Meanwhile__Exectrace__V1__Stack, meanwhile__exectrace__v1__stack__unpack, "Stack");
      if (m->id == 0) rc = fail(err, errsz, "the reader's output has a stack with id 0");
      if (!rc && out->n_stacks == cap_stacks) {
        size_t nc = cap_stacks ? cap_stacks * 2 : 64;
        mw_stack_text *s = mw__arena_alloc(a, nc * sizeof *s);
        uint32_t *ids = mw__arena_alloc(a, nc * sizeof *ids);
        if (!s || !ids) rc = MW_ENOMEM;
        else {
          if (out->n_stacks) memcpy(s, out->stacks, out->n_stacks * sizeof *s);
          if (out->n_stacks) memcpy(ids, out->stack_ids, out->n_stacks * sizeof *ids);
          out->stacks = s, out->stack_ids = ids, cap_stacks = nc;
        }
      }
      if (!rc && !(rc = stack_text(&d, m, &out->stacks[out->n_stacks]))) out->stack_ids[out->n_stacks++] = m->id;
      meanwhile__exectrace__v1__stack__free_unpacked(m, NULL);
      break;
    }
    case F_SPANS: {
      UNPACK(Meanwhile__Exectrace__V1__Span, meanwhile__exectrace__v1__span__unpack, "Span");
      if ((m->trace_id.len != 0 && m->trace_id.len != 16) || m->span_id.len != 8)
        rc = fail(err, errsz, "the reader's output has a span with a %zu-byte trace id and a %zu-byte span id",
                  m->trace_id.len, m->span_id.len);
      if (!rc && out->n_spans == cap_spans) {
        size_t nc = cap_spans ? cap_spans * 2 : 64;
        mw_xt_span *s = mw__arena_alloc(a, nc * sizeof *s);
        if (!s) rc = MW_ENOMEM;
        else {
          if (out->n_spans) memcpy(s, out->spans, out->n_spans * sizeof *s);
          out->spans = s, cap_spans = nc;
        }
      }
      if (!rc) {
        mw_xt_span *s = &out->spans[out->n_spans++];
        memset(s, 0, sizeof *s);
        s->has_trace = m->trace_id.len == 16;
        if (s->has_trace) memcpy(s->trace_id, m->trace_id.data, 16);
        memcpy(s->span_id, m->span_id.data, 8);
        s->name = mw__arena_strndup(a, m->name ? m->name : "", m->name ? strlen(m->name) : 0);
        if (!s->name) rc = MW_ENOMEM;
      }
      meanwhile__exectrace__v1__span__free_unpacked(m, NULL);
      break;
    }
    case F_INTERVALS: {
      UNPACK(Meanwhile__Exectrace__V1__Interval, meanwhile__exectrace__v1__interval__unpack, "Interval");
      mw_xt_rec_interval *x = &out->intervals[out->n_intervals];
      x->goroutine = m->goroutine;
      x->iv = (mw_xt_interval){
          .state = (uint8_t)m->state, .start_ns = m->start_ns, .end_ns = m->end_ns, .stack = m->stack, .span = m->span};
      if ((int)m->state < 1 || (int)m->state > (int)MW_XT_STATE_MAX)
        rc = fail(err, errsz, "the reader's output has an interval of unknown state %d", (int)m->state);
      else if (m->end_ns < m->start_ns)
        rc = fail(err, errsz, "the reader's output has an interval that ends before it starts (goroutine %llu)",
                  (unsigned long long)m->goroutine);
      else if (!(x->iv.reason = intern(&d, m->reason)) || !(x->iv.raw_reason = intern(&d, m->raw_reason)))
        rc = MW_ENOMEM;
      else out->n_intervals++;
      meanwhile__exectrace__v1__interval__free_unpacked(m, NULL);
      break;
    }
    case F_WAKES: {
      UNPACK(Meanwhile__Exectrace__V1__Wake, meanwhile__exectrace__v1__wake__unpack, "Wake");
      out->wakes[out->n_wakes++] = (mw_xt_rec_wake){m->goroutine,
                                                    {.waker = m->waker,
                                                     .time_ns = m->time_ns,
                                                     .waker_stack = m->waker_stack,
                                                     .waker_span = m->waker_span,
                                                     .span = m->span}};
      meanwhile__exectrace__v1__wake__free_unpacked(m, NULL);
      break;
    }
    case F_WINDOWS: {
      UNPACK(Meanwhile__Exectrace__V1__Window, meanwhile__exectrace__v1__window__unpack, "Window");
      window_json(&jw, m);
      meanwhile__exectrace__v1__window__free_unpacked(m, NULL);
      break;
    }
    case F_SUMMARY: {
      UNPACK(Meanwhile__Exectrace__V1__Summary, meanwhile__exectrace__v1__summary__unpack, "Summary");
      out->has_summary = 1;
      out->start_ns = m->start_ns;
      out->end_ns = m->end_ns;
      out->alignment = (int)m->alignment;
      out->clock_error_ns = m->clock_error_ns;
      out->events = m->events;
      out->generations = m->generations;
      out->goroutines = m->goroutines;
      out->go_version =
          mw__arena_strndup(a, m->go_version ? m->go_version : "", m->go_version ? strlen(m->go_version) : 0);
      if (!out->go_version) rc = MW_ENOMEM;
      meanwhile__exectrace__v1__summary__free_unpacked(m, NULL);
      break;
    }
    default: break; /* procs, and what a newer reader adds */
    }
  }
  if (rc) goto out;
  if (!out->has_summary) {
    rc = fail(err, errsz, "the reader's output has no summary (it was cut short)");
    goto out;
  }
  /* references: span refs within the spans */
  for (size_t i = 0; i < out->n_intervals && !rc; i++)
    if (out->intervals[i].iv.span > out->n_spans)
      rc = fail(err, errsz, "the reader's output names span %u of %zu", out->intervals[i].iv.span, out->n_spans);
  for (size_t i = 0; i < out->n_wakes && !rc; i++)
    if (out->wakes[i].wk.span > out->n_spans || out->wakes[i].wk.waker_span > out->n_spans)
      rc = fail(err, errsz, "the reader's output names a span past the %zu it lists", out->n_spans);
  if (rc) goto out;
  mw__jw_arr_end(&jw);
  if (mw__jw_error(&jw) || !(out->windows_json = mw__arena_strndup(a, wb.data ? wb.data : "[]", wb.len)))
    rc = MW_ENOMEM;
out:
  mw__buf_free(&wb);
  mw__bmap_free(d.reasons);
  if (rc) mw__xt_records_free(out);
  return rc;
}

void mw__xt_records_free(mw_xt_records *r) {
  if (!r) return;
  free(r->intervals);
  free(r->wakes);
  r->intervals = NULL;
  r->wakes = NULL;
  r->n_intervals = r->n_wakes = 0;
}
