/* Tests for the goroutine dump decoder (decode/goroutines.c): the six real
 * debug=2 dumps and the debug=1 dump of Go 1.19 in tests/data/go1.19-checkout,
 * then the variants of go-goroutine-dump.md (Go 1.21 `in goroutine N` and
 * `...N frames elided...`, Go 1.26 header labels, minutes, locked, scan,
 * ancestors, crash-only header and frame fields), bad input and limits.
 *
 * Expected values were read from the files with shell tools, never from this
 * decoder; each is annotated with the command. In those commands F stands for
 * the file at hand in tests/data/go1.19-checkout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "test_data.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/arena.h"
#include "core/error.h"
#include "decode/goroutines.h"

#define FIXDIR MW_TEST_DATA "/go1.19-checkout/"
#define DEBUG1 "goroutines-debug1-1795334482789324499.txt"
#define MAIN_GO "example.com/shop/checkout/main.go"

/* ---- helpers ------------------------------------------------------------ */

static char *read_file(const char *name, size_t *len) { return mw_test_slurp(len, "%s%s", FIXDIR, name); }

static int parse_str(mw_arena *a, const char *s, mw_goroutine_dump *out) {
  return mw__goroutines_parse_text(a, s, strlen(s), NULL, out);
}

static void count_states(const mw_goroutine_dump *d, int64_t counts[MW_G_NSTATES]) {
  memset(counts, 0, sizeof(int64_t) * MW_G_NSTATES);
  for (size_t i = 0; i < d->n; i++) counts[d->g[i].state] += d->g[i].count;
}

static void assert_frame(const mw_frame *f, const char *func, const char *file, int64_t line) {
  assert_string_equal(f->func, func);
  assert_string_equal(f->file, file);
  assert_int_equal(f->line, line);
}

static const char *label(const mw_goroutine *g, const char *key) {
  for (size_t i = 0; i < g->n_labels; i++)
    if (strcmp(g->labels[i].key, key) == 0) return g->labels[i].str;
  return NULL;
}

/* ---- debug=2 fixtures --------------------------------------------------- */

struct dump2 {
  const char *file;
  size_t lines;  /* grep -c '' F */
  size_t frames; /* awk '/^\t/ && prev !~ /^created by/ {n++} {prev=$0} END{print n}' F */
  /* grep '^goroutine ' F | sed 's/.*\[\(.*\)\]:/\1/' | sort | uniq -c */
  int io, chan, runnable, running, select, sleep;
};

static const struct dump2 dumps[] = {
    {"goroutines-debug2-1795334476463613272.txt", 141, 50, 2, 3, 1, 1, 1, 3},
    {"goroutines-debug2-1795334477640078162.txt", 153, 56, 2, 3, 1, 1, 1, 3},
    {"goroutines-debug2-1795334478665938326.txt", 145, 52, 2, 2, 2, 1, 1, 3},
    {"goroutines-debug2-1795334479697194705.txt", 141, 50, 2, 2, 2, 1, 2, 2},
    {"goroutines-debug2-1795334480725968907.txt", 141, 50, 2, 3, 1, 1, 1, 3},
    {"goroutines-debug2-1795334481750392062.txt", 151, 55, 3, 3, 0, 1, 1, 3},
};

static void test_debug2_fixtures(void **state) {
  for (size_t k = 0; k < sizeof dumps / sizeof dumps[0]; k++) {
    const struct dump2 *d = &dumps[k];
    size_t len;
    char *data = read_file(d->file, &len);
    mw_arena *a = mw__arena_new(0);
    mw_goroutine_dump out;
    assert_int_equal(mw__goroutines_parse_text(a, data, len, NULL, &out), 0);
    assert_int_equal(out.format, 2);
    assert_int_equal(out.n, 11); /* grep -c '^goroutine ' F: 11 in each */
    assert_int_equal(out.total, 11);
    assert_int_equal(out.claimed_total, -1);
    assert_int_equal(out.lines_total, d->lines);
    assert_int_equal(out.lines_skipped, 0);
    assert_int_equal(out.truncated, 0);
    int64_t c[MW_G_NSTATES];
    count_states(&out, c);
    assert_int_equal(c[MW_G_IO], d->io);
    assert_int_equal(c[MW_G_CHAN], d->chan);
    assert_int_equal(c[MW_G_RUNNABLE], d->runnable);
    assert_int_equal(c[MW_G_RUNNING], d->running);
    assert_int_equal(c[MW_G_SELECT], d->select);
    assert_int_equal(c[MW_G_SLEEP], d->sleep);
    size_t frames = 0, created = 0;
    for (size_t i = 0; i < out.n; i++) {
      const mw_goroutine *g = &out.g[i];
      frames += g->stack.n_frames;
      for (size_t j = 0; j < g->stack.n_frames; j++) {
        assert_true(g->stack.frames[j].line > 0);
        assert_string_not_equal(g->stack.frames[j].file, "?");
      }
      created += g->created_by != NULL;
      assert_true(g->id > 0);
      assert_int_equal(g->count, 1);
      assert_int_equal(g->wait_minutes, -1); /* grep -c minutes F -> 0 */
      assert_int_equal(g->locked_to_thread, 0);
      assert_int_equal(g->creator_id, 0); /* Go 1.19: no "in goroutine N" */
      assert_int_equal(g->n_labels, 0);
      assert_int_equal(g->stack.truncated, 0);
    }
    assert_int_equal(frames, d->frames);
    assert_int_equal(created, 10); /* grep -c '^created by' F: all but goroutine 1 */
    /* goroutine 1 (main) has no creator: grep -A3 '^goroutine 1 ' F */
    for (size_t i = 0; i < out.n; i++)
      if (out.g[i].id == 1) assert_null(out.g[i].created_by);
    mw__arena_free(a);
    free(data);
  }
}

static void test_debug2_fields(void **state) {
  /* goroutines-debug2-1795334477640078162.txt, read by eye (head -60 F) */
  size_t len;
  char *data = read_file(dumps[1].file, &len);
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(mw__goroutines_parse_text(a, data, len, NULL, &out), 0);
  /* grep '^goroutine' F | awk '{print $2}' */
  static const int64_t ids[] = {192, 1, 19, 20, 21, 22, 214, 143, 147, 148, 191};
  for (size_t i = 0; i < 11; i++) assert_int_equal(out.g[i].id, ids[i]);

  const mw_goroutine *g = &out.g[0]; /* goroutine 192 [running]: */
  assert_string_equal(g->wait_reason, "running");
  assert_int_equal(g->state, MW_G_RUNNING);
  assert_int_equal(g->stack.n_frames, 9);
  assert_frame(&g->stack.frames[0], "runtime/pprof.writeGoroutineStacks", "runtime/pprof/pprof.go", 692);
  assert_frame(&g->stack.frames[3], "net/http/pprof.handler.ServeHTTP", "net/http/pprof/pprof.go", 253);
  assert_frame(&g->stack.frames[8], "net/http.(*conn).serve", "net/http/server.go", 1991);
  assert_non_null(g->created_by);
  assert_frame(g->created_by, "net/http.(*Server).Serve", "net/http/server.go", 3102);

  g = &out.g[1]; /* goroutine 1 [chan receive]: main.main() main.go:193 */
  assert_string_equal(g->wait_reason, "chan receive");
  assert_int_equal(g->state, MW_G_CHAN);
  assert_int_equal(g->stack.n_frames, 1);
  assert_frame(&g->stack.frames[0], "main.main", MAIN_GO, 193);
  assert_null(g->created_by);

  g = &out.g[2]; /* goroutine 19 [IO wait]: 11 frames, two inlined (...) ones */
  assert_string_equal(g->wait_reason, "IO wait");
  assert_int_equal(g->state, MW_G_IO);
  assert_int_equal(g->stack.n_frames, 11);
  assert_frame(&g->stack.frames[0], "internal/poll.runtime_pollWait", "runtime/netpoll.go", 305);
  /* internal/poll.(*pollDesc).waitRead(...) / fd_poll_runtime.go:89, no +0x */
  assert_frame(&g->stack.frames[2], "internal/poll.(*pollDesc).waitRead", "internal/poll/fd_poll_runtime.go", 89);
  assert_frame(&g->stack.frames[9], "net/http.ListenAndServe", "net/http/server.go", 3255);
  assert_frame(&g->stack.frames[10], "main.main.func1", MAIN_GO, 158);
  assert_frame(g->created_by, "main.main", MAIN_GO, 158);

  g = &out.g[6]; /* goroutine 214 [runnable]: syscall.Syscall... (status wins) */
  assert_string_equal(g->wait_reason, "runnable");
  assert_int_equal(g->state, MW_G_RUNNABLE);
  assert_frame(&g->stack.frames[0], "syscall.Syscall", "syscall/syscall_linux.go", 68);
  assert_frame(g->created_by, "net/http.(*connReader).startBackgroundRead", "net/http/server.go", 674);

  /* goroutine 191 [chan receive]: the span's handler;
   * sed -n '/^goroutine 191 /,/^created/p' F | grep -c '^<TAB>' -> 7 */
  g = &out.g[10];
  assert_int_equal(g->stack.n_frames, 7);
  assert_frame(&g->stack.frames[0], "main.handle.func1.5", MAIN_GO, 94);
  assert_frame(&g->stack.frames[2], "runtime/pprof.Do", "runtime/pprof/runtime.go", 40);
  assert_frame(&g->stack.frames[6], "main.handle", MAIN_GO, 77);
  assert_frame(g->created_by, "main.main", MAIN_GO, 194);
  mw__arena_free(a);
  free(data);
}

/* ---- debug=1 fixture ---------------------------------------------------- */

static void test_debug1_fixture(void **state) {
  size_t len;
  char *data = read_file(DEBUG1, &len);
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(mw__goroutines_parse_text(a, data, len, NULL, &out), 0);
  assert_int_equal(out.format, 1);
  assert_int_equal(out.claimed_total, 9); /* head -1 F: goroutine profile: total 9 */
  assert_int_equal(out.n, 9);             /* grep -c '^[0-9][0-9]* @' F */
  assert_int_equal(out.total, 9);         /* awk '/^[0-9]+ @/{s+=$1} END{print s}' F */
  assert_int_equal(out.lines_skipped, 0);
  /* awk '/^[0-9]+ @/{r++} /^#\t/{f[r]++} END{for(i=1;i<=r;i++) printf "%d ", f[i]+0}' F */
  static const size_t nframes[] = {10, 2, 1, 11, 8, 2, 2, 0, 9};
  size_t total_frames = 0;
  for (size_t i = 0; i < 9; i++) {
    assert_int_equal(out.g[i].stack.n_frames, nframes[i]);
    assert_int_equal(out.g[i].id, 0);
    assert_int_equal(out.g[i].count, 1);
    assert_null(out.g[i].wait_reason);
    assert_null(out.g[i].created_by);
    total_frames += nframes[i];
  }
  assert_int_equal(total_frames, 45); /* grep -c '^#<TAB>' F */

  /* States. The leaf PC of the `@` list against the first printed frame's PC:
   *   awk -F'\t+' '/^[0-9]+ @/{r++; split($0,w," "); at[r]=w[3]}
   *     /^#\t/ && !(r in fp){fp[r]=$2} END{for(i=1;i<=r;i++) print i, at[i], fp[i]}' F
   * 1 0x430936 0x465784  profiler (runtime_goroutineProfileWithLabels) -> running
   * 2 0x43b336 0x6b7efb  main.main, leaf hidden (parked in the runtime) -> other
   * 3 0x43b336 0x6b7c99  main.main.func4, leaf hidden                   -> other
   * 4 0x43b336 0x465c28  internal/poll.runtime_pollWait                 -> io
   * 5-7 0x43b336 0x468134 time.Sleep                                    -> sleep
   * 8 0x46b2c1 (none)    only runtime.goexit: nothing printed           -> other
   * 9 0x48c792 0x48c791  time.Since, leaf shown (PC-1): preempted       -> runnable */
  static const enum mw_gstate want[] = {MW_G_RUNNING, MW_G_OTHER, MW_G_OTHER, MW_G_IO,      MW_G_SLEEP,
                                        MW_G_SLEEP,   MW_G_SLEEP, MW_G_OTHER, MW_G_RUNNABLE};
  for (size_t i = 0; i < 9; i++)
    if (out.g[i].state != want[i])
      fail_msg("record %zu: got %s, want %s", i + 1, mw__gstate_name(out.g[i].state), mw__gstate_name(want[i]));

  /* sed -n '/^1 @ 0x43b336 0x407e9b 0x407998/,/^$/p' F */
  assert_frame(&out.g[1].stack.frames[0], "main.main", MAIN_GO, 193);
  assert_frame(&out.g[1].stack.frames[1], "runtime.main", "runtime/proc.go", 250);
  /* the tab-padded columns of record 4: #\t0x6b79f8\tmain.main.func1+0x18\t\t\t\t... */
  assert_frame(&out.g[3].stack.frames[10], "main.main.func1", MAIN_GO, 158);
  assert_frame(&out.g[0].stack.frames[0], "runtime/pprof.runtime_goroutineProfileWithLabels", "runtime/mprof.go", 846);

  /* grep '^# labels' F */
  assert_int_equal(out.g[4].n_labels, 3);
  assert_string_equal(out.g[4].labels[0].key, "span_id");
  assert_string_equal(label(&out.g[4], "span_id"), "410e019b1857534d");
  assert_string_equal(label(&out.g[4], "span_name"), "db.query");
  assert_string_equal(label(&out.g[4], "trace_id"), "7811eb08bf7ec5cb0b53350708f6b215");
  assert_int_equal(out.g[8].n_labels, 3);
  assert_string_equal(label(&out.g[8], "span_id"), "2a6a8a09c2ed12f7");
  assert_string_equal(label(&out.g[8], "span_name"), "price.compute");
  assert_string_equal(label(&out.g[8], "trace_id"), "65945b184a4a88dd285dbf15782dc50b");
  assert_frame(&out.g[8].stack.frames[1], "main.spin", MAIN_GO, 58);
  size_t labelled = 0;
  for (size_t i = 0; i < 9; i++) labelled += out.g[i].n_labels > 0;
  assert_int_equal(labelled, 2); /* grep -c '^# labels' F */
  mw__arena_free(a);
  free(data);
}

/* ---- variants ------------------------------------------------------------ */

static void test_go121_dump(void **state) {
  /* go-goroutine-dump.md section 4 (Go >= 1.21 style) */
  const char *in = "goroutine 41 [running]:\n"
                   "runtime/pprof.writeGoroutineStacks({0x7a1c40, 0xc0001a40e0})\n"
                   "\t/usr/local/go/src/runtime/pprof/pprof.go:703 +0x6a\n"
                   "net/http/pprof.handler.ServeHTTP({0xc00001c2a1, 0x9}, {0x7a5d98, 0xc0001a40e0}, 0xc00020e000)\n"
                   "\t/usr/local/go/src/net/http/pprof/pprof.go:259 +0x4b9\n"
                   "created by net/http.(*Server).Serve in goroutine 1\n"
                   "\t/usr/local/go/src/net/http/server.go:3086 +0x5cb\n"
                   "\n"
                   "goroutine 1 [IO wait, 12 minutes]:\n"
                   "internal/poll.runtime_pollWait(0x7f5e2c3d1e80, 0x72)\n"
                   "\t/usr/local/go/src/runtime/netpoll.go:343 +0x85\n"
                   "internal/poll.(*pollDesc).wait(...)\n"
                   "\t/usr/local/go/src/internal/poll/fd_poll_runtime.go:84\n"
                   "main.main()\n"
                   "\t/srv/shop/main.go:58 +0x1f4\n"
                   "\n"
                   "goroutine 17 [chan receive, 3 minutes, locked to thread]:\n"
                   "shop/queue.(*Worker).run(0xc0000a6000)\n"
                   "\t/srv/shop/queue/worker.go:91 +0x7d\n"
                   "created by shop/queue.Start[...] in goroutine 1\n"
                   "\t/srv/shop/queue/start.go:22 +0x13e\n";
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, in, &out), 0);
  assert_int_equal(out.n, 3);
  assert_int_equal(out.lines_skipped, 0);
  const mw_goroutine *g = &out.g[0];
  assert_int_equal(g->creator_id, 1);
  assert_frame(g->created_by, "net/http.(*Server).Serve", "/usr/local/go/src/net/http/server.go", 3086);
  assert_frame(&g->stack.frames[1], "net/http/pprof.handler.ServeHTTP", "/usr/local/go/src/net/http/pprof/pprof.go",
               259);
  g = &out.g[1];
  assert_int_equal(g->id, 1);
  assert_string_equal(g->wait_reason, "IO wait");
  assert_int_equal(g->wait_minutes, 12);
  assert_int_equal(g->state, MW_G_IO);
  assert_int_equal(g->locked_to_thread, 0);
  assert_int_equal(g->stack.n_frames, 3);
  assert_frame(&g->stack.frames[1], "internal/poll.(*pollDesc).wait",
               "/usr/local/go/src/internal/poll/fd_poll_runtime.go", 84);
  assert_null(g->created_by);
  g = &out.g[2];
  assert_string_equal(g->wait_reason, "chan receive");
  assert_int_equal(g->wait_minutes, 3);
  assert_int_equal(g->locked_to_thread, 1);
  assert_int_equal(g->state, MW_G_CHAN);
  assert_int_equal(g->creator_id, 1);
  assert_frame(g->created_by, "shop/queue.Start[...]", "/srv/shop/queue/start.go", 22);
  mw__arena_free(a);
}

static void test_elision(void **state) {
  /* Go <= 1.20: innermost 100 then the marker; Go >= 1.21: 50, marker, 50 */
  char *in = malloc(64 << 10);
  assert_non_null(in);
  size_t k = 0;
  k += (size_t)sprintf(in + k, "goroutine 7 [running]:\n");
  for (int i = 0; i < 100; i++) k += (size_t)sprintf(in + k, "main.rec(0x%x)\n\t/srv/r.go:%d +0x1d\n", i, i + 1);
  k += (size_t)sprintf(in + k, "...additional frames elided...\ncreated by main.main\n\t/srv/main.go:9 +0x25\n\n");
  k += (size_t)sprintf(in + k, "goroutine 8 [select, 1 minutes]:\n");
  for (int i = 0; i < 50; i++) k += (size_t)sprintf(in + k, "main.inner(...)\n\t/srv/r.go:%d\n", i + 1);
  k += (size_t)sprintf(in + k, "...1234 frames elided...\n");
  for (int i = 0; i < 50; i++) k += (size_t)sprintf(in + k, "main.outer()\n\t/srv/o.go:%d +0x1\n", i + 1);
  k += (size_t)sprintf(in + k, "created by main.main in goroutine 1\n\t/srv/main.go:10 +0x25\n");
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(mw__goroutines_parse_text(a, in, k, NULL, &out), 0);
  assert_int_equal(out.n, 2);
  assert_int_equal(out.lines_skipped, 0);
  assert_int_equal(out.g[0].stack.n_frames, 100);
  assert_int_equal(out.g[0].stack.truncated, 1);
  assert_frame(&out.g[0].stack.frames[99], "main.rec", "/srv/r.go", 100);
  assert_frame(out.g[0].created_by, "main.main", "/srv/main.go", 9);
  assert_int_equal(out.g[1].stack.n_frames, 100);
  assert_int_equal(out.g[1].stack.truncated, 1);
  assert_int_equal(out.g[1].wait_minutes, 1); /* "1 minutes", as printed */
  assert_frame(&out.g[1].stack.frames[49], "main.inner", "/srv/r.go", 50);
  assert_frame(&out.g[1].stack.frames[50], "main.outer", "/srv/o.go", 1);
  assert_int_equal(out.g[1].creator_id, 1);

  /* max_frames: extra frames dropped, and their location lines with them */
  mw_goroutine_opts o = MW_GOROUTINE_OPTS_DEFAULT;
  o.max_frames = 10;
  assert_int_equal(mw__goroutines_parse_text(a, in, k, &o, &out), 0);
  assert_int_equal(out.g[1].stack.n_frames, 10);
  assert_int_equal(out.g[1].stack.truncated, 1);
  assert_frame(&out.g[1].stack.frames[9], "main.inner", "/srv/r.go", 10);
  assert_frame(out.g[1].created_by, "main.main", "/srv/main.go", 10);
  assert_int_equal(out.lines_skipped, 0);
  mw__arena_free(a);
  free(in);
}

static void test_header_labels(void **state) {
  const char *in =
      /* Go 1.26 GODEBUG=tracebacklabels=1 (issue #76349's example) */
      "goroutine 8 [running labels:{\"foobar\": \"baz\"}]:\n"
      "main.f()\n\t/srv/main.go:5 +0x1\n\n"
      /* several labels, escapes, after the other flags */
      "goroutine 9 [chan receive (scan), 2 minutes, locked to thread labels:{\"span_name\": "
      "\"GET /a]b\", \"k\\\"q\": \"\\u00e9\\t\"}]:\n"
      "main.g()\n\t/srv/main.go:6 +0x1\n\n"
      /* the unverified Go 1.27 form: labels after the bracket */
      "goroutine 10 [running] {pattern: \"GET /panic\"}:\n"
      "main.h()\n\t/srv/main.go:7 +0x1\n\n"
      /* unreadable labels do not lose the goroutine */
      "goroutine 11 [sleep labels:{\"unterminated]:\n"
      "time.Sleep(0x3b9aca00)\n\truntime/time.go:195 +0x135\n";
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, in, &out), 0);
  assert_int_equal(out.n, 4);
  const mw_goroutine *g = &out.g[0];
  assert_string_equal(g->wait_reason, "running");
  assert_int_equal(g->n_labels, 1);
  assert_string_equal(g->labels[0].key, "foobar");
  assert_string_equal(g->labels[0].str, "baz");
  g = &out.g[1];
  assert_string_equal(g->wait_reason, "chan receive");
  assert_int_equal(g->scan, 1);
  assert_int_equal(g->wait_minutes, 2);
  assert_int_equal(g->locked_to_thread, 1);
  assert_int_equal(g->n_labels, 2);
  assert_string_equal(label(g, "span_name"), "GET /a]b");
  assert_string_equal(label(g, "k\"q"), "\xc3\xa9\t");
  g = &out.g[2];
  assert_string_equal(g->wait_reason, "running");
  assert_int_equal(g->n_labels, 1);
  assert_string_equal(label(g, "pattern"), "GET /panic");
  g = &out.g[3];
  assert_int_equal(g->id, 11);
  assert_string_equal(g->wait_reason, "sleep");
  assert_int_equal(g->state, MW_G_SLEEP);
  assert_int_equal(g->n_labels, 0);
  assert_int_equal(g->stack.n_frames, 1);
  mw__arena_free(a);
}

/* Go 1.27's goroutineheader (runtime/traceback.go, read in the go1.27.3
 * toolchain): after the status " (leaked)", " (scan)", " (durable)", then
 * ", N minutes", ", locked to thread", ", synctest bubble N", then "]" and the
 * labels, each key and value quoted only when it has characters other than
 * letters, digits, '.', '/' and '_' (so the empty string is printed bare). */
static void test_go127_headers(void **state) {
  const char *in = "goroutine 7 [chan receive (leaked) (scan), 2 minutes]:\n"
                   "main.f()\n\t/srv/main.go:5 +0x1\n\n"
                   "goroutine 8 [sleep (scan) (durable), 3 minutes, locked to thread, synctest bubble 12] {span_id: "
                   "00f067aa0ba902b7}:\n"
                   "main.g()\n\t/srv/main.go:6 +0x1\n\n"
                   "goroutine 9 [running] {empty: , : v, \"span name\": \"GET /caf\\u00e9\", last: }:\n"
                   "main.h()\n\t/srv/main.go:7 +0x1\n\n"
                   "goroutine 10 [sync.Mutex.Lock, synctest bubble 3]:\n"
                   "main.i()\n\t/srv/main.go:8 +0x1\n";
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, in, &out), 0);
  assert_int_equal(out.n, 4);
  assert_int_equal(out.lines_skipped, 0);
  const mw_goroutine *g = &out.g[0];
  assert_string_equal(g->wait_reason, "chan receive (leaked)");
  assert_int_equal(g->state, MW_G_CHAN);
  assert_int_equal(g->scan, 1);
  assert_int_equal(g->wait_minutes, 2);
  g = &out.g[1];
  assert_string_equal(g->wait_reason, "sleep (durable)");
  assert_int_equal(g->state, MW_G_SLEEP);
  assert_int_equal(g->scan, 1);
  assert_int_equal(g->wait_minutes, 3);
  assert_int_equal(g->locked_to_thread, 1);
  assert_int_equal(g->n_labels, 1);
  assert_string_equal(label(g, "span_id"), "00f067aa0ba902b7");
  g = &out.g[2];
  assert_string_equal(g->wait_reason, "running");
  assert_int_equal(g->n_labels, 4);
  assert_string_equal(label(g, "empty"), "");
  assert_string_equal(label(g, ""), "v");
  assert_string_equal(label(g, "span name"), "GET /caf\xc3\xa9");
  assert_string_equal(label(g, "last"), "");
  g = &out.g[3];
  assert_string_equal(g->wait_reason, "sync.Mutex.Lock");
  assert_int_equal(g->state, MW_G_MUTEX);
  assert_int_equal(g->wait_minutes, -1);
  mw__arena_free(a);
}

/* /debug/pprof/goroutineleak?debug=1 names its profile "goroutineleak"; a
 * service without leaks answers with the header alone. */
static void test_leak_profile_header(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, "goroutineleak profile: total 0\n", &out), 0);
  assert_int_equal(out.format, 1);
  assert_int_equal(out.leak, 1);
  assert_int_equal(out.n, 0);
  assert_int_equal(out.claimed_total, 0);
  assert_int_equal(parse_str(a,
                             "goroutineleak profile: total 2\n"
                             "2 @ 0x489fce 0x41a5ae 0x41a0d2 0x6ada65 0x491741\n"
                             "#\t0x6ada64\tmain.leak+0x24\t/srv/main.go:291\n\n",
                             &out),
                   0);
  assert_int_equal(out.leak, 1);
  assert_int_equal(out.n, 1);
  assert_int_equal(out.total, 2);
  /* a leak profile that claims leaks but shows none is as unreadable as
   * any other debug=1 profile without records */
  assert_int_equal(parse_str(a, "goroutineleak profile: total 3\n", &out), MW_EINVAL);
  assert_string_equal(out.err, "a debug=1 goroutineleak profile (total 3) without one readable record in 1 lines");
  assert_int_equal(parse_str(a, "goroutine profile: total 1\n", &out), MW_EINVAL);
  assert_int_equal(parse_str(a, "threadcreate profile: total 1\n", &out), MW_EINVAL);
  mw__arena_free(a);
}

static void test_traceback_oddities(void **state) {
  /* what a crash prints (GOTRACEBACK=system) and other rare shapes */
  const char *in = "panic: runtime error: index out of range [5] with length 3\n"
                   "\n"
                   "goroutine 1 gp=0xc000002380 m=0 mp=0x5a8b60 [running]:\n"
                   "panic({0x4a1f20?, 0xc000012168?})\n"
                   "\t/usr/local/go/src/runtime/panic.go:785 +0x132 fp=0xc000067f20 sp=0xc000067e70 pc=0x46a3d2\n"
                   "main.main()\n"
                   "\tC:/Users/dev/shop/main.go:12 +0x1d fp=0xc000067f50 sp=0xc000067f20 pc=0x48f2bd\n"
                   "runtime: g 1: unknown pc 0x1234\n"
                   "\n"
                   "goroutine 5 gp=0xc000003c00 m=nil [GC worker (idle)]:\n"
                   "runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)\n"
                   "\t/usr/local/go/src/runtime/proc.go:424 +0xce fp=0xc000050f38 sp=0xc000050f18 pc=0x46bd8e\n"
                   "created by runtime.gcBgMarkStartWorkers in goroutine 1\n"
                   "\t/usr/local/go/src/runtime/mgc.go:1339 +0x105\n"
                   "\n"
                   "goroutine 6 [running]:\n"
                   "\tgoroutine running on other thread; stack unavailable\n"
                   "created by main.main in goroutine 1\n"
                   "\t/srv/main.go:20 +0x3c\n"
                   "\n"
                   "goroutine 7 [semacquire]:\n"
                   "sync.runtime_Semacquire(0xc000010108?)\n"
                   "\t/usr/local/go/src/runtime/sema.go:62 +0x25\n"
                   "sync.(*WaitGroup).Wait(0x0?)\n"
                   "\t/usr/local/go/src/sync/waitgroup.go:116 +0x48\n"
                   "main.fanout()\n"
                   "\t/srv/main.go:30 +0x9\n"
                   "[originating from goroutine 3]:\n"
                   "main.parent(...)\n"
                   "\t/srv/main.go:40 +0x2\n"
                   "created by main.main\n"
                   "\t/srv/main.go:41 +0x3\n"
                   "\n"
                   "goroutine 9 [semacquire]:\n"
                   "sync.runtime_SemacquireMutex(0xc000010110?, 0x0?, 0x1?)\n"
                   "\t/usr/local/go/src/runtime/sema.go:77 +0x25\n"
                   "sync.(*Mutex).lockSlow(0xc000010110)\n"
                   "\t/usr/local/go/src/sync/mutex.go:171 +0x165\n"
                   "sync.(*Mutex).Lock(...)\n"
                   "\t/usr/local/go/src/sync/mutex.go:90\n"
                   "main.locker()\n"
                   "\t/srv/main.go:50 +0x9\n"
                   "\n"
                   "goroutine 12 [syscall, 5 minutes, locked to thread]:\n"
                   "non-Go function at pc=0x7f1e2a3b4c5d\n"
                   "runtime.cgocall(0x48f300, 0xc000051f98)\n"
                   "\t/usr/local/go/src/runtime/cgocall.go:167 +0x4b\n"
                   "\n"
                   "exit status 2\n";
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, in, &out), 0);
  assert_int_equal(out.n, 6);
  /* skipped: the panic: line (the blank one after it is no content), the
   * runtime: g 1 line, the 5 lines of the ancestor, exit status */
  assert_int_equal(out.lines_skipped, 1 + 1 + 5 + 1);
  const mw_goroutine *g = &out.g[0];
  assert_int_equal(g->id, 1);
  assert_string_equal(g->wait_reason, "running");
  assert_int_equal(g->stack.n_frames, 2);
  assert_frame(&g->stack.frames[0], "panic", "/usr/local/go/src/runtime/panic.go", 785);
  assert_frame(&g->stack.frames[1], "main.main", "C:/Users/dev/shop/main.go", 12);
  g = &out.g[1];
  assert_string_equal(g->wait_reason, "GC worker (idle)");
  assert_int_equal(g->state, MW_G_GC);
  assert_frame(g->created_by, "runtime.gcBgMarkStartWorkers", "/usr/local/go/src/runtime/mgc.go", 1339);
  g = &out.g[2];
  assert_int_equal(g->stack_unavailable, 1);
  assert_int_equal(g->stack.n_frames, 0);
  assert_int_equal(g->state, MW_G_RUNNING);
  assert_frame(g->created_by, "main.main", "/srv/main.go", 20);
  g = &out.g[3]; /* a WaitGroup waiter reported as semacquire: an event, see gstate.c */
  assert_string_equal(g->wait_reason, "semacquire");
  assert_int_equal(g->state, MW_G_COND);
  assert_int_equal(g->stack.n_frames, 3);
  assert_null(g->created_by); /* the ancestor's creator is not this goroutine's */
  g = &out.g[4];              /* a Mutex waiter reported as semacquire */
  assert_int_equal(g->state, MW_G_MUTEX);
  assert_int_equal(g->stack.n_frames, 4);
  assert_frame(&g->stack.frames[2], "sync.(*Mutex).Lock", "/usr/local/go/src/sync/mutex.go", 90);
  g = &out.g[5];
  assert_int_equal(g->state, MW_G_SYSCALL);
  assert_int_equal(g->wait_minutes, 5);
  assert_int_equal(g->locked_to_thread, 1);
  assert_int_equal(g->stack.n_frames, 2);
  assert_frame(&g->stack.frames[0], "non-Go function", "?", 0);
  assert_frame(&g->stack.frames[1], "runtime.cgocall", "/usr/local/go/src/runtime/cgocall.go", 167);
  mw__arena_free(a);
}

static void test_crlf_and_cut_off(void **state) {
  /* CRLF line ends, and output cut in the middle of a line (the 64 MiB cap) */
  const char *in = "goroutine 1 [chan receive]:\r\n"
                   "main.main()\r\n"
                   "\texample.com/shop/checkout/main.go:193 +0x23c\r\n"
                   "\r\n"
                   "goroutine 20 [sleep]:\r\n"
                   "time.Sleep(0x14dc9380)\r\n"
                   "\truntime/time.go:195 +0x135\r\n"
                   "main.main.fu";
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, in, &out), 0);
  assert_int_equal(out.n, 2);
  assert_frame(&out.g[0].stack.frames[0], "main.main", MAIN_GO, 193);
  assert_int_equal(out.g[1].stack.n_frames, 1);
  assert_int_equal(out.lines_skipped, 1);
  mw__arena_free(a);
}

static void test_debug1_synthetic(void **state) {
  /* a header claiming a million goroutines, three records; %q escapes; a
   * frame without symbols; no final blank line */
  const char *in =
      "goroutine profile: total 1000000\n"
      "3 @ 0x43b5d6 0x40766c 0x407218 0x6a1f3d 0x46f941\n"
      "# labels: {\"span_id\":\"00f067aa0ba902b7\", \"span_name\":\"GET /cart\", "
      "\"q\":\"a\\\"b\\\\c\\n\\x41\\101\\u00e9\\U0001F600\"}\n"
      "#\t0x6a1f3c\tshop/queue.(*Worker).run+0x7c\t/srv/shop/queue/worker.go:91\n"
      "\n"
      "2 @ 0x43b5d6 0x4342b7 0x469a25 0x4d8f32 0x5f0c24 0x43b1d2 0x46f941\n"
      "#\t0x469a24\tinternal/poll.runtime_pollWait+0x84\t/usr/local/go/src/runtime/netpoll.go:343\n"
      "#\t0x4d8f31\tinternal/poll.(*pollDesc).wait+0x31\t/usr/local/go/src/internal/poll/fd_poll_runtime.go:84\n"
      "#\t0x5f0c23\tmain.main+0x1e3\t\t\t\t/srv/shop/main.go:58\n"
      "#\t0x43b1d1\truntime.main+0x2b1\t\t\t/usr/local/go/src/runtime/proc.go:267\n"
      "\n"
      "1 @ 0x5f0c24 0x46f941\n"
      "#\t0x5f0c23\n"
      "# labels: {\"bad\n"
      "garbage\n";
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  assert_int_equal(parse_str(a, in, &out), 0);
  assert_int_equal(out.format, 1);
  assert_int_equal(out.claimed_total, 1000000);
  assert_int_equal(out.n, 3);
  assert_int_equal(out.total, 6);         /* 3 + 2 + 1: what was read, not what was claimed */
  assert_int_equal(out.lines_skipped, 2); /* the bad labels line and "garbage" */
  const mw_goroutine *g = &out.g[0];
  assert_int_equal(g->count, 3);
  assert_int_equal(g->n_labels, 3);
  assert_string_equal(label(g, "span_id"), "00f067aa0ba902b7");
  assert_string_equal(label(g, "span_name"), "GET /cart");
  assert_string_equal(label(g, "q"), "a\"b\\c\nAA\xc3\xa9\xf0\x9f\x98\x80");
  assert_frame(&g->stack.frames[0], "shop/queue.(*Worker).run", "/srv/shop/queue/worker.go", 91);
  assert_int_equal(g->state, MW_G_OTHER); /* parked in hidden runtime frames */
  g = &out.g[1];
  assert_int_equal(g->count, 2);
  assert_int_equal(g->state, MW_G_IO);
  assert_int_equal(g->stack.n_frames, 4);
  assert_frame(&g->stack.frames[2], "main.main", "/srv/shop/main.go", 58);
  g = &out.g[2];
  assert_int_equal(g->stack.n_frames, 1);
  assert_frame(&g->stack.frames[0], "?", "?", 0);
  assert_int_equal(g->state, MW_G_RUNNABLE); /* leaf printed (PC-1): no hidden frames */
  assert_int_equal(g->n_labels, 0);
  mw__arena_free(a);
}

static void test_go_unquote(void **state) {
  mw_arena *a = mw__arena_new(0);
  const char *out;
  struct {
    const char *in;
    const char *want; /* NULL: malformed */
  } c[] = {
      {"\"plain\"", "plain"},
      {"\"\"", ""},
      {"\"\\a\\b\\f\\n\\r\\t\\v\\\\\\'\\\"\"", "\a\b\f\n\r\t\v\\'\""},
      {"\"\\x00z\"", ""}, /* NUL decodes; the C string ends there */
      {"\"\\377\"", "\xff"},
      {"\"\\u65e5\\U0010FFFF\"", "\xe6\x97\xa5\xf4\x8f\xbf\xbf"},
      {"\"unterminated", NULL},
      {"\"bad \\q escape\"", NULL},
      {"\"\\x4\"", NULL},
      {"\"\\u12\"", NULL},
      {"\"\\uD800\"", NULL},
      {"\"\\U00110000\"", NULL},
      {"\"\\400\"", NULL},
      {"\"\\\"", NULL},
      {"noquote", NULL},
  };
  for (size_t i = 0; i < sizeof c / sizeof c[0]; i++) {
    const char *s = c[i].in, *end = s + strlen(s);
    int rc = mw__go_unquote(a, &s, end, &out);
    if (c[i].want) {
      assert_int_equal(rc, 0);
      assert_string_equal(out, c[i].want);
      assert_ptr_equal(s, end);
    } else {
      assert_int_equal(rc, MW_EINVAL);
      assert_ptr_equal(s, c[i].in);
    }
  }
  mw__arena_free(a);
}

/* ---- bad input and limits ------------------------------------------------ */

static void test_unreadable(void **state) {
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  unsigned char buf[8192];
  uint32_t x = 88172645u; /* xorshift: reproducible noise */
  for (size_t i = 0; i < sizeof buf; i++) {
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    buf[i] = (unsigned char)x;
  }
  assert_int_equal(mw__goroutines_parse_text(a, (const char *)buf, sizeof buf, NULL, &out), MW_EINVAL);
  assert_true(out.err[0] != '\0');
  assert_int_equal(out.n, 0);
  assert_int_equal(out.format, 0);
  assert_int_equal(mw__goroutines_parse_text(a, "", 0, NULL, &out), MW_EINVAL);
  /* looks like a header but is not one */
  assert_int_equal(parse_str(a, "goroutine 5 is not a header\n", &out), MW_EINVAL);
  assert_int_equal(parse_str(a, "goroutine 99999999999999999999 [running]:\n", &out), MW_EINVAL);
  /* a debug=1 header without one readable record carries no data: refused,
   * as a debug=2 dump without a goroutine is (was 0 with nothing stored) */
  assert_int_equal(parse_str(a, "goroutine profile: total 0\n", &out), MW_EINVAL);
  assert_int_equal(out.format, 0);
  assert_int_equal(out.claimed_total, 0);
  assert_string_equal(out.err, "a debug=1 goroutine profile (total 0) without one readable record in 1 lines");
  assert_int_equal(parse_str(a, "goroutine profile: total 3\n\nnot a record\n# nor this\n#\tzz\n", &out), MW_EINVAL);
  assert_string_equal(out.err, "a debug=1 goroutine profile (total 3) without one readable record in 5 lines");
  mw__arena_free(a);
}

static void test_max_goroutines(void **state) {
  size_t len;
  char *data = read_file(dumps[1].file, &len);
  mw_arena *a = mw__arena_new(0);
  mw_goroutine_dump out;
  mw_goroutine_opts o = MW_GOROUTINE_OPTS_DEFAULT;
  o.max_goroutines = 5;
  assert_int_equal(mw__goroutines_parse_text(a, data, len, &o, &out), MW_ETOOBIG);
  assert_int_equal(out.truncated, 1);
  assert_int_equal(out.n, 5);
  assert_int_equal(out.total, 5);
  assert_true(out.err[0] != '\0');
  assert_int_equal(out.g[4].id, 21); /* the fifth header: 192 1 19 20 21 */
  assert_int_equal(out.g[4].stack.n_frames, 2);
  free(data);

  /* debug=1: records, whatever their counts */
  data = read_file(DEBUG1, &len);
  o.max_goroutines = 3;
  assert_int_equal(mw__goroutines_parse_text(a, data, len, &o, &out), MW_ETOOBIG);
  assert_int_equal(out.n, 3);
  assert_int_equal(out.claimed_total, 9);
  mw__arena_free(a);
  free(data);
}

static void test_many_goroutines_bounded_memory(void **state) {
  /* 200k one-frame goroutines: memory follows what is read */
  size_t n = 200000, cap = n * 64, k = 0;
  char *in = malloc(cap);
  assert_non_null(in);
  for (size_t i = 0; i < n; i++)
    k += (size_t)snprintf(in + k, cap - k, "goroutine %zu [sleep]:\nmain.f()\n\t/m.go:1\n\n", i + 1);
  mw_arena *a = mw__arena_new((size_t)256 << 20);
  mw_goroutine_dump out;
  assert_int_equal(mw__goroutines_parse_text(a, in, k, NULL, &out), 0);
  assert_int_equal(out.n, n);
  assert_int_equal(out.g[n - 1].id, (int64_t)n);
  assert_int_equal(out.g[n - 1].state, MW_G_SLEEP);
  mw__arena_free(a);
  free(in);
}

static void test_huge_line(void **state) {
  /* a 100 MB line inside a dump: skipped on its length, never copied */
  const char *head = "goroutine 1 [chan receive]:\nmain.main()\n\t/m.go:1 +0x1\n";
  const char *tail = "\n\ngoroutine 2 [sleep]:\ntime.Sleep(0x1)\n\truntime/time.go:195 +0x135\n";
  size_t big = (size_t)100 << 20, nh = strlen(head), nt = strlen(tail);
  size_t len = nh + big + nt;
  char *data = malloc(len);
  assert_non_null(data);
  memcpy(data, head, nh);
  memcpy(data + nh, "main.f(", 7);
  memset(data + nh + 7, 'x', big - 8);
  data[nh + big - 1] = ')';
  memcpy(data + nh + big, tail, nt);
  mw_arena *a = mw__arena_new(1 << 20);
  mw_goroutine_dump out;
  struct timespec t0, t1;
  clock_gettime(CLOCK_MONOTONIC, &t0);
  assert_int_equal(mw__goroutines_parse_text(a, data, len, NULL, &out), 0);
  clock_gettime(CLOCK_MONOTONIC, &t1);
  double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
  assert_true(secs < 1.0);
  assert_int_equal(out.n, 2);
  assert_int_equal(out.g[0].stack.n_frames, 1);
  assert_int_equal(out.lines_skipped, 1);
  assert_true(mw__arena_used(a) < (1 << 20));
  mw__arena_free(a);
  free(data);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_debug2_fixtures),
      cmocka_unit_test(test_debug2_fields),
      cmocka_unit_test(test_debug1_fixture),
      cmocka_unit_test(test_go121_dump),
      cmocka_unit_test(test_elision),
      cmocka_unit_test(test_header_labels),
      cmocka_unit_test(test_go127_headers),
      cmocka_unit_test(test_leak_profile_header),
      cmocka_unit_test(test_traceback_oddities),
      cmocka_unit_test(test_crlf_and_cut_off),
      cmocka_unit_test(test_debug1_synthetic),
      cmocka_unit_test(test_go_unquote),
      cmocka_unit_test(test_unreadable),
      cmocka_unit_test(test_max_goroutines),
      cmocka_unit_test(test_many_goroutines_bounded_memory),
      cmocka_unit_test(test_huge_line),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
