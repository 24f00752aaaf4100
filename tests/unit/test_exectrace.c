/* Tests for execution traces on the server side: the goroutine blob
 * (decode/exectrace_blob.c) gives back what it was given, and refuses
 * truncated or lying blobs; the Records decoder (decode/exectrace.c) reads
 * a message packed here with protobuf-c, interns reasons, renders stacks as
 * the stack store keeps them, and refuses what records.proto does not allow
 * (a span ref past the spans, no summary, bytes that are no message); and
 * the whole way from Records to the read API (ingest/exectrace.c, the
 * writer, query/exectrace.c) on a temporary store, where a span's goroutine,
 * its 40 ms channel wait and its waker come back with the values written
 * here by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "core/error.h"
#include "decode/exectrace.h"
#include "decode/exectrace_blob.h"
#include "ingest/commit.h"
#include "ingest/exectrace.h"
#include "meanwhile/exectrace/v1/records.pb-c.h"
#include "query/exectrace.h"
#include "store_fixture.h"

#define MS 1000000LL
static const int64_t T0 = 1796491170452000000LL;

/* --- the blob ------------------------------------------------------------------- */

static void test_blob_roundtrip(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_xt_interval iv[] = {
      {MW_XT_RUNNING, MW_XT_CLIPPED_START, "", "", T0, T0 + 1 * MS, 0, 1},
      {MW_XT_BLOCKED, 0, "chan", "chan receive", T0 + 1 * MS, T0 + 41 * MS, 3, 1},
      {MW_XT_RUNNABLE, 0, "", "preempted", T0 + 41 * MS, T0 + 41 * MS + 500, 0, 0},
      /* overlapping and out of step with the previous end: the deltas go negative */
      {MW_XT_GC_ASSIST, MW_XT_CLIPPED_END, "", "", T0 + 40 * MS, T0 + 40 * MS + 10, 7, 0},
  };
  mw_xt_wake wk[] = {{12, T0 + 41 * MS, 4, 0, 1}, {0, T0 + 2 * MS, 0, 0, 0}};
  const uint8_t *blob;
  size_t len;
  assert_int_equal(mw__xt_blob_encode(a, NULL, iv, 4, wk, 2, &blob, &len), MW_OK);
  mw_xt_blob b;
  assert_int_equal(mw__xt_blob_decode(a, blob, len, 1 << 20, &b), MW_OK);
  assert_int_equal(b.n_intervals, 4);
  assert_int_equal(b.n_wakes, 2);
  for (size_t i = 0; i < 4; i++) {
    assert_int_equal(b.intervals[i].state, iv[i].state);
    assert_int_equal(b.intervals[i].clipped, iv[i].clipped);
    assert_string_equal(b.intervals[i].reason, iv[i].reason);
    assert_string_equal(b.intervals[i].raw_reason, iv[i].raw_reason);
    assert_int_equal(b.intervals[i].start_ns, iv[i].start_ns);
    assert_int_equal(b.intervals[i].end_ns, iv[i].end_ns);
    assert_int_equal(b.intervals[i].stack, iv[i].stack);
    assert_int_equal(b.intervals[i].span, iv[i].span);
  }
  for (size_t i = 0; i < 2; i++) {
    assert_int_equal(b.wakes[i].waker, wk[i].waker);
    assert_int_equal(b.wakes[i].time_ns, wk[i].time_ns);
    assert_int_equal(b.wakes[i].waker_stack, wk[i].waker_stack);
    assert_int_equal(b.wakes[i].span, wk[i].span);
  }
  /* an empty goroutine blob */
  assert_int_equal(mw__xt_blob_encode(a, NULL, NULL, 0, NULL, 0, &blob, &len), MW_OK);
  assert_int_equal(mw__xt_blob_decode(a, blob, len, 1 << 20, &b), MW_OK);
  assert_int_equal(b.n_intervals + b.n_wakes, 0);
  mw__arena_free(a);
}

/* 2,000 like intervals: the body is compressed (first byte 1) and much smaller than 2,000 x 7 varints. */
static void test_blob_compressed(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  enum { N = 2000 };
  mw_xt_interval *iv = calloc(N, sizeof *iv);
  for (int i = 0; i < N; i++)
    iv[i] = (mw_xt_interval){(uint8_t)(i % 2 ? MW_XT_BLOCKED : MW_XT_RUNNING),
                             0,
                             i % 2 ? "chan" : "",
                             i % 2 ? "chan send" : "",
                             T0 + i * 1000,
                             T0 + i * 1000 + 1000,
                             5,
                             0};
  const uint8_t *blob;
  size_t len;
  assert_int_equal(mw__xt_blob_encode(a, NULL, iv, N, NULL, 0, &blob, &len), MW_OK);
  assert_int_equal(blob[0], 1);
  assert_true(len < N);
  mw_xt_blob b;
  assert_int_equal(mw__xt_blob_decode(a, blob, len, 1 << 20, &b), MW_OK);
  assert_int_equal(b.n_intervals, N);
  assert_int_equal(b.intervals[N - 1].end_ns, T0 + N * 1000);
  assert_string_equal(b.intervals[N - 1].raw_reason, "chan send");
  /* a limit below the body refuses it */
  assert_int_equal(mw__xt_blob_decode(a, blob, len, 100, &b), MW_EINVAL);
  free(iv);
  mw__arena_free(a);
}

static void test_blob_malformed(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_xt_interval iv[] = {{MW_XT_BLOCKED, 0, "chan", "chan receive", T0, T0 + 40 * MS, 3, 1}};
  const uint8_t *blob;
  size_t len;
  assert_int_equal(mw__xt_blob_encode(a, NULL, iv, 1, NULL, 0, &blob, &len), MW_OK);
  mw_xt_blob b;
  for (size_t cut = 0; cut < len; cut++) assert_int_equal(mw__xt_blob_decode(a, blob, cut, 1 << 20, &b), MW_EINVAL);
  /* counts that claim more than the bytes hold; an unknown format byte; a state past the last */
  static const uint8_t lying[] = {0, 0, 0xff, 0xff, 0xff, 0xff, 0x0f};
  assert_int_equal(mw__xt_blob_decode(a, lying, sizeof lying, 1 << 20, &b), MW_EINVAL);
  static const uint8_t format[] = {7, 0, 0, 0};
  assert_int_equal(mw__xt_blob_decode(a, format, sizeof format, 1 << 20, &b), MW_EINVAL);
  static const uint8_t state9[] = {0, 0, 1, 9, 0, 0, 0, 0, 0, 0, 0, 0};
  assert_int_equal(mw__xt_blob_decode(a, state9, sizeof state9, 1 << 20, &b), MW_EINVAL);
  static const uint8_t zstd_junk[] = {1, 0x28, 0xb5, 0x2f, 0xfd, 0, 0};
  assert_int_equal(mw__xt_blob_decode(a, zstd_junk, sizeof zstd_junk, 1 << 20, &b), MW_EINVAL);
  mw__arena_free(a);
}

/* The span table: ids as they are, trace ids once each, runs relative to the base. */
static void test_spans_roundtrip(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  mw_xt_span spans[3] = {{.has_trace = 1, .trace_id = {1, [15] = 1}, .span_id = {0xaa, [7] = 1}},
                         {.has_trace = 1, .trace_id = {1, [15] = 1}, .span_id = {0xaa, [7] = 2}},
                         {.has_trace = 0, .span_id = {0xbb, [7] = 3}}};
  mw_xt_span_run runs[] = {{1, 57, T0 + 5, T0 + 40 * MS}, {1, 60, T0 - 3, T0}, {3, 12, T0 + 41 * MS, T0 + 41 * MS}};
  const uint8_t *ids, *blob;
  size_t ids_len, blob_len;
  assert_int_equal(mw__xt_spans_encode(a, spans, 3, runs, 3, T0, &ids, &ids_len, &blob, &blob_len), MW_OK);
  assert_int_equal(ids_len, 24);
  assert_memory_equal(ids + 8, spans[1].span_id, 8);
  /* format byte, 1 trace id (1 + 16), 3 spans' trace indexes (1 + 3), then the runs */
  assert_int_equal(blob[0], 0);
  assert_int_equal(blob[1], 1);
  assert_int_equal(blob[18], 3);
  mw_xt_span_table t;
  assert_int_equal(mw__xt_spans_decode(a, ids, ids_len, blob, blob_len, T0, 1 << 20, &t), MW_OK);
  assert_int_equal(t.n_spans, 3);
  assert_int_equal(t.n_runs, 3);
  assert_true(t.spans[1].has_trace);
  assert_memory_equal(t.spans[1].trace_id, spans[1].trace_id, 16);
  assert_false(t.spans[2].has_trace);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(t.runs[i].span, runs[i].span);
    assert_int_equal(t.runs[i].goroutine, runs[i].goroutine);
    assert_int_equal(t.runs[i].first_ns, runs[i].first_ns);
    assert_int_equal(t.runs[i].last_ns, runs[i].last_ns);
  }
  /* ids that do not match the table's count, or a table cut short */
  assert_int_equal(mw__xt_spans_decode(a, ids, 16, blob, blob_len, T0, 1 << 20, &t), MW_EINVAL);
  assert_int_equal(mw__xt_spans_decode(a, ids, ids_len, blob, blob_len - 1, T0, 1 << 20, &t), MW_EINVAL);
  mw__arena_free(a);
}

/* --- Records -------------------------------------------------------------------- */

typedef Meanwhile__Exectrace__V1__Interval Interval;
typedef Meanwhile__Exectrace__V1__Wake Wake;

static uint8_t trace_id[16] = {0x5b, 0x8e, 0xff, [15] = 0x0c}, span_id[8] = {0xee, 0xe1, [7] = 0x74};

/* The records of the integration test: goroutine 57 runs span 1 and waits
 * 40 ms on a channel until goroutine 12 wakes it; 99 runs. With bad_ref,
 * an interval names span 2 of 1; without summary, none is written. */
static uint8_t *pack_records(size_t *len, int bad_ref, int summary) {
  Meanwhile__Exectrace__V1__Frame f1 = MEANWHILE__EXECTRACE__V1__FRAME__INIT,
                                  f2 = MEANWHILE__EXECTRACE__V1__FRAME__INIT,
                                  f3 = MEANWHILE__EXECTRACE__V1__FRAME__INIT;
  f1.func = "main.recv", f1.file = "/app/main.go", f1.line = 40;
  f2.func = "main.main", f2.file = "/app/main.go", f2.line = 12;
  f3.func = "main.send", f3.file = "/app/main.go", f3.line = 60;
  Meanwhile__Exectrace__V1__Frame *fr_recv[] = {&f1, &f2}, *fr_send[] = {&f3};
  Meanwhile__Exectrace__V1__Stack s1 = MEANWHILE__EXECTRACE__V1__STACK__INIT,
                                  s2 = MEANWHILE__EXECTRACE__V1__STACK__INIT;
  s1.id = 3, s1.n_frames = 2, s1.frames = fr_recv;
  s2.id = 4, s2.n_frames = 1, s2.frames = fr_send;
  Meanwhile__Exectrace__V1__Stack *stacks[] = {&s1, &s2};
  Meanwhile__Exectrace__V1__Span sp = MEANWHILE__EXECTRACE__V1__SPAN__INIT;
  sp.trace_id = (ProtobufCBinaryData){16, trace_id};
  sp.span_id = (ProtobufCBinaryData){8, span_id};
  sp.name = "GET /x";
  Meanwhile__Exectrace__V1__Span *spans[] = {&sp};
  Interval iv[6];
  struct {
    uint64_t g;
    int state;
    char *reason, *raw;
    int64_t s, e;
    uint32_t stack, span;
  } def[6] = {
      {57, 1, "", "", T0, T0 + 1 * MS, 0, 1},
      {57, 3, "chan", "chan receive", T0 + 1 * MS, T0 + 41 * MS, 3, 1},
      {57, 1, "", "", T0 + 41 * MS, T0 + 42 * MS, 0, bad_ref ? 2 : 1},
      {12, 3, "sleep", "sleep", T0, T0 + 30 * MS, 0, 0},
      {12, 1, "", "", T0 + 30 * MS, T0 + 41 * MS, 4, 0},
      {99, 1, "", "", T0, T0 + 42 * MS, 0, 0},
  };
  Interval *ivp[6];
  for (int i = 0; i < 6; i++) {
    meanwhile__exectrace__v1__interval__init(&iv[i]);
    iv[i].goroutine = def[i].g, iv[i].state = (Meanwhile__Exectrace__V1__State)def[i].state;
    iv[i].reason = def[i].reason, iv[i].raw_reason = def[i].raw;
    iv[i].start_ns = def[i].s, iv[i].end_ns = def[i].e, iv[i].stack = def[i].stack, iv[i].span = def[i].span;
    ivp[i] = &iv[i];
  }
  Wake wk = MEANWHILE__EXECTRACE__V1__WAKE__INIT;
  wk.goroutine = 57, wk.waker = 12, wk.time_ns = T0 + 41 * MS, wk.waker_stack = 4, wk.span = 1;
  Wake *wkp[] = {&wk};
  Meanwhile__Exectrace__V1__Window win = MEANWHILE__EXECTRACE__V1__WINDOW__INIT;
  win.kind = MEANWHILE__EXECTRACE__V1__WINDOW_KIND__GC, win.start_ns = T0 + 10 * MS, win.end_ns = T0 + 12 * MS;
  Meanwhile__Exectrace__V1__Window *winp[] = {&win};
  Meanwhile__Exectrace__V1__Summary sum = MEANWHILE__EXECTRACE__V1__SUMMARY__INIT;
  sum.start_ns = T0, sum.end_ns = T0 + 42 * MS, sum.alignment = MEANWHILE__EXECTRACE__V1__ALIGNMENT__CLOCK_SNAPSHOT;
  sum.events = 20, sum.generations = 1, sum.goroutines = 3, sum.go_version = "go1.26.8";
  Meanwhile__Exectrace__V1__Records r = MEANWHILE__EXECTRACE__V1__RECORDS__INIT;
  r.n_stacks = 2, r.stacks = stacks, r.n_spans = 1, r.spans = spans, r.n_intervals = 6, r.intervals = ivp;
  r.n_wakes = 1, r.wakes = wkp, r.n_windows = 1, r.windows = winp;
  if (summary) r.summary = &sum;
  *len = meanwhile__exectrace__v1__records__get_packed_size(&r);
  uint8_t *out = malloc(*len);
  meanwhile__exectrace__v1__records__pack(&r, out);
  return out;
}

static void test_records_decode(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  size_t len;
  uint8_t *p = pack_records(&len, 0, 1);
  mw_xt_records r;
  char err[256] = "";
  assert_int_equal(mw__xt_records_decode(a, p, len, &r, err, sizeof err), MW_OK);
  assert_int_equal(r.n_intervals, 6);
  assert_int_equal(r.n_wakes, 1);
  assert_int_equal(r.n_stacks, 2);
  assert_int_equal(r.stack_ids[0], 3);
  assert_string_equal(r.stacks[0].text, "main.recv\t/app/main.go:40\nmain.main\t/app/main.go:12\n");
  assert_int_equal(r.n_spans, 1);
  assert_true(r.spans[0].has_trace);
  assert_memory_equal(r.spans[0].span_id, span_id, 8);
  assert_string_equal(r.spans[0].name, "GET /x");
  assert_int_equal(r.intervals[1].goroutine, 57);
  assert_string_equal(r.strs[r.intervals[1].raw_reason], "chan receive");
  /* interned: the two "" reasons and the same text share an index */
  assert_int_equal(r.intervals[0].reason, r.intervals[2].reason);
  assert_int_equal(r.wakes[0].wk.waker, 12);
  assert_int_equal(r.start_ns, T0);
  assert_int_equal(r.alignment, MW_XT_ALIGN_CLOCK_SNAPSHOT);
  assert_string_equal(r.go_version, "go1.26.8");
  assert_string_equal(r.windows_json,
                      "[{\"kind\":\"gc\",\"start_ns\":1796491170462000000,\"end_ns\":1796491170464000000}]");
  mw__xt_records_free(&r);
  free(p);
  mw__arena_free(a);
}

/* Fed a byte at a time (every field cut between chunks), the decoder reads
 * what it reads whole; its arrays are counted through the hook and given back. */
static size_t counted;
static int count_take(void *user, size_t n) {
  (void)user;
  counted += n;
  return 0;
}
static void count_give(void *user, size_t n) {
  (void)user;
  counted -= n;
}

static void test_records_streamed(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  size_t len;
  uint8_t *p = pack_records(&len, 0, 1);
  mw_xt_hook hook = {count_take, count_give, NULL};
  mw_xt_dec *d = mw__xt_dec_new(a, &hook);
  char err[256] = "";
  for (size_t i = 0; i < len; i++) assert_int_equal(mw__xt_dec_feed(d, p + i, 1, err, sizeof err), MW_OK);
  mw_xt_records r;
  assert_int_equal(mw__xt_dec_finish(d, &r, err, sizeof err), MW_OK);
  mw__xt_dec_free(d);
  assert_true(counted >= 6 * sizeof(mw_xt_rec_interval));
  assert_int_equal(r.n_intervals, 6);
  assert_int_equal(r.n_wakes, 1);
  assert_int_equal(r.n_stacks, 2);
  assert_string_equal(r.strs[r.intervals[1].raw_reason], "chan receive");
  assert_int_equal(r.intervals[5].goroutine, 99);
  mw__xt_records_free(&r);
  assert_int_equal(counted, 0);
  /* cut short: the end inside a field. The summary comes last: tag + length (2 bytes),
   * start and end (1 + 9 bytes each), alignment, events, generations, goroutines
   * (2 bytes each), go_version (2 + 8): 40 bytes, of which 37 arrived */
  d = mw__xt_dec_new(a, &hook);
  assert_int_equal(mw__xt_dec_feed(d, p, len - 3, err, sizeof err), MW_OK);
  assert_int_equal(mw__xt_dec_finish(d, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output ends inside a field (37 bytes of it)");
  mw__xt_dec_free(d);
  assert_int_equal(counted, 0);
  free(p);
  mw__arena_free(a);
}

static void test_records_refused(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  size_t len;
  char err[256];
  mw_xt_records r;
  uint8_t *p = pack_records(&len, 1, 1);
  assert_int_equal(mw__xt_records_decode(a, p, len, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output names span 2 of 1");
  free(p);
  p = pack_records(&len, 0, 0);
  assert_int_equal(mw__xt_records_decode(a, p, len, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output has no summary (it was cut short)");
  /* cut in the middle of a field */
  free(p);
  p = pack_records(&len, 0, 1);
  assert_int_equal(mw__xt_records_decode(a, p, len / 2, &r, err, sizeof err), MW_EINVAL);
  free(p);
  static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff};
  assert_int_equal(mw__xt_records_decode(a, junk, sizeof junk, &r, err, sizeof err), MW_EINVAL);
  /* an interval of state 9 inside a well-formed message */
  static const uint8_t state9[] = {0x1a, 0x02, 0x10, 0x09, 0x7a, 0x00};
  assert_int_equal(mw__xt_records_decode(a, state9, sizeof state9, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output has an interval of unknown state 9");
  mw__arena_free(a);
}

/* Intervals and wakes are read in place, not with protobuf-c: the same
 * message as protobuf-c reads it (unknown fields of every wire type skipped,
 * a string read up to a NUL, the last of a repeated scalar kept), and the
 * same refusals (a known field of another wire type, a field cut short). */
static void test_records_in_place(void **state) {
  (void)state;
  mw_arena *a = mw__arena_new(0);
  char err[256] = "";
  mw_xt_records r;
  static const uint8_t ok[] = {
      /* Interval: goroutine 300, state 3 then 3 again, reason "chan", raw "ab\0c", start 5, end 7, stack 2,
       * clipped_end, unknown fields 20 (fixed64), 21 (fixed32), 22 (varint), 23 (bytes) */
      0x1a, 0x32, 0x08, 0xac, 0x02, 0x10, 0x03, 0x1a, 0x04, 'c', 'h', 'a', 'n', 0x22, 0x04, 'a', 'b', 0x00, 'c', 0x28,
      0x05, 0x30, 0x07, 0x38, 0x02, 0x50, 0x01, 0xa1, 0x01, 1, 2, 3, 4, 5, 6, 7, 8, 0xad, 0x01, 1, 2, 3, 4, 0xb0, 0x01,
      0x7f, 0xba, 0x01, 0x01, 0x00, 0x10, 0x03,
      /* Wake: goroutine 300, waker 12, time 9, waker_stack 2, waker_span 0, span 0 */
      0x22, 0x09, 0x08, 0xac, 0x02, 0x10, 0x0c, 0x18, 0x09, 0x20, 0x02,
      /* Summary: start 1 */
      0x7a, 0x02, 0x08, 0x01};
  assert_int_equal(mw__xt_records_decode(a, ok, sizeof ok, &r, err, sizeof err), MW_OK);
  assert_int_equal(r.n_intervals, 1);
  assert_int_equal(r.intervals[0].goroutine, 300);
  assert_int_equal(r.intervals[0].state, 3);
  assert_string_equal(r.strs[r.intervals[0].reason], "chan");
  assert_string_equal(r.strs[r.intervals[0].raw_reason], "ab");
  assert_int_equal(r.intervals[0].start_ns, 5);
  assert_int_equal(r.intervals[0].end_ns, 7);
  assert_int_equal(r.intervals[0].stack, 2);
  assert_int_equal(r.intervals[0].clipped, MW_XT_CLIPPED_END);
  assert_int_equal(r.n_wakes, 1);
  assert_int_equal(r.wakes[0].goroutine, 300);
  assert_int_equal(r.wakes[0].wk.waker, 12);
  assert_int_equal(r.wakes[0].wk.time_ns, 9);
  assert_int_equal(r.wakes[0].wk.waker_stack, 2);
  mw__xt_records_free(&r);
  /* the reason as a varint */
  static const uint8_t wrong_type[] = {0x1a, 0x04, 0x10, 0x03, 0x18, 0x01, 0x7a, 0x00};
  assert_int_equal(mw__xt_records_decode(a, wrong_type, sizeof wrong_type, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output has a malformed Interval message");
  /* a wake whose time is cut inside its varint */
  static const uint8_t cut[] = {0x22, 0x02, 0x18, 0x80, 0x7a, 0x00};
  assert_int_equal(mw__xt_records_decode(a, cut, sizeof cut, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output has a malformed Wake message");
  /* a group (wire type 3) inside an interval */
  static const uint8_t group[] = {0x1a, 0x03, 0x10, 0x03, 0x5b, 0x7a, 0x00};
  assert_int_equal(mw__xt_records_decode(a, group, sizeof group, &r, err, sizeof err), MW_EINVAL);
  assert_string_equal(err, "the reader's output has a malformed Interval message");
  mw__arena_free(a);
}

/* The memory that decoding and grouping a window takes, per interval, at its
 * peak: one goroutine with many intervals, all in one span (a busy
 * goroutine of a real window had 3.55 million). Each was 56 bytes decoded
 * (arrays grown twice over), then copied whole (48 bytes each) and given a
 * 32-byte span candidate: over 150 bytes an interval; now about 60. */
static size_t peak_now, peak_max;
static int peak_take(void *user, size_t n) {
  (void)user;
  peak_now += n;
  if (peak_now > peak_max) peak_max = peak_now;
  return 0;
}
static void peak_give(void *user, size_t n) {
  (void)user;
  peak_now -= n;
}

static void test_build_memory_per_interval(void **state) {
  (void)state;
  enum { N = 200000 };
  mw_arena *a = mw__arena_new(0);
  Interval iv = MEANWHILE__EXECTRACE__V1__INTERVAL__INIT;
  iv.goroutine = 5, iv.state = MEANWHILE__EXECTRACE__V1__STATE__BLOCKED, iv.reason = "chan";
  iv.raw_reason = "chan receive", iv.start_ns = T0, iv.end_ns = T0 + MS, iv.span = 1;
  Interval **ivp = malloc(N * sizeof *ivp);
  assert_non_null(ivp);
  for (size_t i = 0; i < N; i++) ivp[i] = &iv;
  Meanwhile__Exectrace__V1__Span sp = MEANWHILE__EXECTRACE__V1__SPAN__INIT;
  sp.span_id = (ProtobufCBinaryData){8, span_id};
  Meanwhile__Exectrace__V1__Span *spans[] = {&sp};
  Meanwhile__Exectrace__V1__Summary sum = MEANWHILE__EXECTRACE__V1__SUMMARY__INIT;
  sum.start_ns = T0, sum.end_ns = T0 + MS, sum.alignment = MEANWHILE__EXECTRACE__V1__ALIGNMENT__CLOCK_SNAPSHOT;
  Meanwhile__Exectrace__V1__Records rec = MEANWHILE__EXECTRACE__V1__RECORDS__INIT;
  rec.n_spans = 1, rec.spans = spans, rec.n_intervals = N, rec.intervals = ivp, rec.summary = &sum;
  size_t len = meanwhile__exectrace__v1__records__get_packed_size(&rec);
  uint8_t *p = malloc(len);
  assert_non_null(p);
  meanwhile__exectrace__v1__records__pack(&rec, p);
  free(ivp);
  peak_now = peak_max = 0;
  mw_xt_hook hook = {peak_take, peak_give, NULL};
  mw_mem_account mem = {peak_take, peak_give, NULL, 0};
  mw_xt_dec *d = mw__xt_dec_new(a, &hook);
  char err[256] = "";
  for (size_t off = 0; off < len; off += 65536) /* as the reader's pipe gives it */
    assert_int_equal(mw__xt_dec_feed(d, p + off, len - off < 65536 ? len - off : 65536, err, sizeof err), MW_OK);
  mw_xt_records r;
  assert_int_equal(mw__xt_dec_finish(d, &r, err, sizeof err), MW_OK);
  mw__xt_dec_free(d);
  assert_int_equal(r.n_intervals, N);
  mw_xt_params prm = {.service = "svc", .capture_ns = T0, .received_ns = T0};
  mw_runtime_batch b;
  static const uint8_t trace[] = "go 1.26 trace\0\0\0 any bytes";
  assert_int_equal(mw__xt_build(a, &prm, trace, sizeof trace, &r, &mem, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.exectrace->n_goroutines, 1);
  assert_int_equal(b.exectrace->n_runs, 1);
  assert_int_equal(peak_now, 0); /* all given back */
  assert_true(peak_max < (size_t)N * 96);
  free(p);
  mw__arena_free(a);
}

/* --- from Records to the read API ------------------------------------------------ */

static json_t *answer_json(mw_answer *ans) {
  assert_int_equal(ans->rc, MW_OK);
  json_error_t je;
  json_t *j = json_loadb(ans->body.data, ans->body.len, 0, &je);
  assert_non_null(j);
  mw__answer_free(ans);
  return j;
}

static json_t *goroutine_of(json_t *list, int64_t g) {
  size_t i;
  json_t *x;
  json_array_foreach(list, i, x) if (json_integer_value(json_object_get(x, "goroutine")) == g) return x;
  return NULL;
}

static void test_ingest_store_read(void **state) {
  (void)state;
  sfx f;
  assert_int_equal(sfx_open(&f), 0);
  mw_arena *a = mw__arena_new(0);
  size_t len;
  uint8_t *rec = pack_records(&len, 0, 1);
  static const uint8_t trace[] = "go 1.26 trace\0\0\0 any bytes";
  mw_xt_params p = {.service = "svc", .instance = "i-1", .capture_ns = T0, .received_ns = T0, .trigger = "manual"};
  mw_runtime_batch b;
  char err[256] = "";
  mw_xt_records r;
  assert_int_equal(mw__xt_records_decode(a, rec, len, &r, err, sizeof err), MW_OK);
  assert_int_equal(mw__xt_build(a, &p, trace, sizeof trace, &r, NULL, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.exectrace->n_goroutines, 3);
  /* runs: (span 1, goroutine 57) from its intervals and the wake naming span 1 */
  assert_int_equal(b.exectrace->n_runs, 1);
  assert_int_equal(b.exectrace->runs[0].goroutine, 57);
  assert_int_equal(b.exectrace->runs[0].first_ns, T0);
  assert_int_equal(b.exectrace->runs[0].last_ns, T0 + 42 * MS);
  mw_write_job job;
  mw__ingest_job_runtime(&job, &b, mw__arena_used(a));
  assert_int_equal(sfx_commit(&f, &job, 1), 0);
  assert_true(b.exectrace->id > 0);

  mw_arena *qa = mw__arena_new(0);
  mw_query q;
  mw_answer ans;
  mw__query_begin(&q, f.s, qa, 0, NULL);
  mw__q_exectrace_span(&q, trace_id, span_id, &ans);
  json_t *j = answer_json(&ans);
  assert_int_equal(json_integer_value(json_object_get(j, "start_ns")), T0);
  assert_int_equal(json_integer_value(json_object_get(j, "end_ns")), T0 + 42 * MS);
  json_t *gs = json_object_get(j, "goroutines");
  assert_int_equal(json_array_size(gs), 2);
  json_t *g57 = goroutine_of(gs, 57), *g12 = goroutine_of(gs, 12);
  assert_non_null(g57);
  assert_non_null(g12);
  assert_null(goroutine_of(gs, 99));
  assert_string_equal(json_string_value(json_object_get(g57, "role")), "span");
  assert_string_equal(json_string_value(json_object_get(g12, "role")), "waker");
  json_t *blocked = json_array_get(json_object_get(g57, "intervals"), 1);
  assert_string_equal(json_string_value(json_object_get(blocked, "state")), "blocked");
  assert_string_equal(json_string_value(json_object_get(blocked, "reason")), "chan");
  assert_int_equal(json_integer_value(json_object_get(blocked, "end_ns")) -
                       json_integer_value(json_object_get(blocked, "start_ns")),
                   40 * MS);
  assert_string_equal(json_string_value(json_object_get(blocked, "span_id")), "eee1000000000074");
  char key[24];
  snprintf(key, sizeof key, "%lld", (long long)json_integer_value(json_object_get(blocked, "stack_id")));
  json_t *frames = json_object_get(json_object_get(j, "stacks"), key);
  assert_int_equal(json_array_size(frames), 2);
  assert_string_equal(json_string_value(json_object_get(json_array_get(frames, 0), "func")), "main.recv");
  assert_string_equal(json_string_value(json_object_get(json_array_get(frames, 0), "file")), "/app/main.go");
  assert_int_equal(json_integer_value(json_object_get(json_array_get(frames, 0), "line")), 40);
  json_t *wake = json_array_get(json_object_get(g57, "wakes"), 0);
  assert_int_equal(json_integer_value(json_object_get(wake, "waker")), 12);
  assert_int_equal(json_integer_value(json_object_get(wake, "time_ns")), T0 + 41 * MS);
  json_t *win = json_array_get(json_object_get(j, "windows"), 0);
  assert_string_equal(json_string_value(json_object_get(win, "kind")), "gc");
  json_decref(j);

  /* the raw trace comes back as it was */
  mw__q_exectrace_raw(&q, b.exectrace->id, &ans);
  assert_int_equal(ans.rc, MW_OK);
  assert_int_equal(ans.body.len, sizeof trace);
  assert_memory_equal(ans.body.data, trace, sizeof trace);
  assert_string_equal(ans.filename, "trace-1.out");
  mw__answer_free(&ans);

  /* a span no trace names */
  static const uint8_t other[8] = {1};
  mw__q_exectrace_span(&q, trace_id, other, &ans);
  assert_int_equal(ans.rc, MW_ENOTFOUND);
  mw__answer_free(&ans);
  assert_int_equal(mw__query_end(&q), 0);

  free(rec);
  mw__arena_free(qa);
  mw__arena_free(a);
  sfx_close(&f);
}

/* Goroutines in the order of their ids whatever the order records arrive in,
 * each one's intervals and wakes in time order: ids that take one, two and
 * three 16-bit passes to sort, records interleaved as a reader closes them,
 * and one goroutine (70000) whose records arrive out of time order. */
static void test_build_orders_goroutines(void **state) {
  (void)state;
  static const uint64_t ids[] = {5000000000ULL, 3, 70000, 65539, 1ULL << 40};
  enum { N_IDS = sizeof ids / sizeof ids[0], PER = 50 };
  mw_arena *a = mw__arena_new(0);
  mw_xt_records r;
  memset(&r, 0, sizeof r);
  r.windows_json = "[]";
  static const char *strs[] = {""}; /* every interval's reasons: "" */
  r.strs = strs;
  r.n_strs = 1;
  r.start_ns = T0;
  r.end_ns = T0 + 1000 * MS;
  r.intervals = calloc(N_IDS * PER, sizeof *r.intervals);
  r.wakes = calloc(N_IDS * PER, sizeof *r.wakes);
  assert_non_null(r.intervals);
  assert_non_null(r.wakes);
  for (int k = 0; k < PER; k++)
    for (int g = 0; g < N_IDS; g++) {
      int t = ids[g] == 70000 ? PER - 1 - k : k; /* 70000's come last first */
      mw_xt_rec_interval *iv = &r.intervals[r.n_intervals++];
      *iv = (mw_xt_rec_interval){.goroutine = ids[g], .state = 1, .start_ns = T0 + t * MS, .end_ns = T0 + (t + 1) * MS};
      mw_xt_rec_wake *w = &r.wakes[r.n_wakes++];
      w->goroutine = ids[g];
      w->wk = (mw_xt_wake){.waker = 7, .time_ns = T0 + t * MS};
    }
  mw_xt_params p = {.service = "svc", .capture_ns = T0, .received_ns = T0};
  mw_runtime_batch b;
  char err[256] = "";
  static const uint8_t trace[] = "go 1.26 trace\0\0\0 any bytes";
  assert_int_equal(mw__xt_build(a, &p, trace, sizeof trace, &r, NULL, &b, err, sizeof err), MW_OK);
  assert_int_equal(b.exectrace->n_goroutines, N_IDS);
  static const uint64_t want[] = {3, 65539, 70000, 5000000000ULL, 1ULL << 40};
  for (int g = 0; g < N_IDS; g++) {
    const mw_xt_goroutine *o = &b.exectrace->goroutines[g];
    assert_int_equal(o->goroutine, want[g]);
    assert_int_equal(o->n_intervals, PER);
    assert_int_equal(o->n_wakes, PER);
    assert_int_equal(o->first_ns, T0);
    assert_int_equal(o->last_ns, T0 + PER * MS);
    mw_xt_blob blob;
    assert_int_equal(mw__xt_blob_decode(a, o->blob, o->blob_len, 1 << 20, &blob), MW_OK);
    for (int k = 0; k < PER; k++) {
      assert_int_equal(blob.intervals[k].start_ns, T0 + k * MS);
      assert_int_equal(blob.wakes[k].time_ns, T0 + k * MS);
    }
  }
  mw__arena_free(a);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_blob_roundtrip),
      cmocka_unit_test(test_blob_compressed),
      cmocka_unit_test(test_blob_malformed),
      cmocka_unit_test(test_spans_roundtrip),
      cmocka_unit_test(test_records_decode),
      cmocka_unit_test(test_records_streamed),
      cmocka_unit_test(test_records_refused),
      cmocka_unit_test(test_records_in_place),
      cmocka_unit_test(test_build_memory_per_interval),
      cmocka_unit_test(test_ingest_store_read),
      cmocka_unit_test(test_build_orders_goroutines),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
