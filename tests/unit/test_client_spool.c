/* Tests for libmeanwhile's spool (client/lib/spool.c) on its own: payloads
 * come back oldest first and byte for byte, survive a reopen, the bounds drop
 * the oldest (and tell), a payload larger than the spool is refused, half-
 * written and unreadable files do not block it, and a second process cannot
 * open a spool in use. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../client/lib/client_int.h"

static char dir[256];

static int setup(void **state) {
  (void)state;
  snprintf(dir, sizeof dir, "/tmp/mw-test-spool-XXXXXX");
  assert_non_null(mkdtemp(dir));
  return 0;
}

static int teardown(void **state) {
  (void)state;
  DIR *d = opendir(dir);
  struct dirent *de;
  char p[600];
  while (d && (de = readdir(d)))
    if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
      snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
      unlink(p);
    }
  if (d) closedir(d);
  rmdir(dir);
  return 0;
}

static void make_n(mw__payload *p, const char *kind, const char *target, const char *body, size_t len,
                   int64_t created) {
  memset(p, 0, sizeof *p);
  snprintf(p->kind, sizeof p->kind, "%s", kind);
  snprintf(p->ctype, sizeof p->ctype, "application/octet-stream");
  snprintf(p->encoding, sizeof p->encoding, "zstd");
  p->target = strdup(target);
  p->len = len;
  p->body = malloc(len + 1);
  memcpy(p->body, body, len);
  p->created_ns = created;
}

static void make(mw__payload *p, const char *kind, const char *target, const char *body, int64_t created) {
  make_n(p, kind, target, body, strlen(body), created);
}

static int drops;
static char dropped_kinds[16][32];

static void on_drop(void *user, const char *kind, size_t bytes, int64_t created) {
  (void)user, (void)bytes, (void)created;
  if (drops < 16) snprintf(dropped_kinds[drops], sizeof dropped_kinds[0], "%s", kind);
  drops++;
}

static int count_files(const char *suffix) {
  DIR *d = opendir(dir);
  struct dirent *de;
  int n = 0;
  while (d && (de = readdir(d))) {
    size_t l = strlen(de->d_name), sl = strlen(suffix);
    if (l > sl && !strcmp(de->d_name + l - sl, suffix)) n++;
  }
  if (d) closedir(d);
  return n;
}

static void fifo_and_reopen(void **state) {
  (void)state;
  mw__spool *s = NULL;
  assert_int_equal(mw__spool_open(dir, 1 << 20, 100, 0, &s), 0);
  mw__payload p;
  const char *bodies[] = {"first", "second\n\0with a NUL", "third"};
  for (int i = 0; i < 3; i++) {
    /* the NUL of the second travels too */
    make_n(&p, i == 1 ? "gctrace" : "goroutine", "/api/v1/ingest/x?service=a%20b&time=1", bodies[i],
           i == 1 ? 18 : strlen(bodies[i]), 1000 + i);
    assert_int_equal(mw__spool_add(s, &p, on_drop, NULL), 0);
    mw__payload_clear(&p);
  }
  assert_int_equal(mw__spool_files(s), 3);
  assert_true(mw__spool_bytes(s) > 3 * 100);
  mw__spool_close(&s);
  assert_null(s);

  assert_int_equal(mw__spool_open(dir, 1 << 20, 100, 0, &s), 0); /* what an earlier run left */
  assert_int_equal(mw__spool_files(s), 3);
  for (int i = 0; i < 3; i++) {
    assert_int_equal(mw__spool_peek(s, &p), 0);
    assert_string_equal(p.kind, i == 1 ? "gctrace" : "goroutine");
    assert_string_equal(p.target, "/api/v1/ingest/x?service=a%20b&time=1");
    assert_string_equal(p.encoding, "zstd");
    assert_string_equal(p.ctype, "application/octet-stream");
    assert_int_equal(p.created_ns, 1000 + i);
    assert_int_equal(p.len, i == 1 ? 18 : strlen(bodies[i]));
    assert_memory_equal(p.body, bodies[i], p.len);
    mw__payload_clear(&p);
    mw__spool_pop(s);
  }
  assert_int_equal(mw__spool_peek(s, &p), MW_ERR_AGAIN);
  assert_int_equal(mw__spool_bytes(s), 0);
  assert_int_equal(count_files(".mwp"), 0);
  /* numbering goes on after a reopen: new files sort after old ones */
  make(&p, "cpu", "/t", "x", 1);
  assert_int_equal(mw__spool_add(s, &p, NULL, NULL), 0);
  mw__payload_clear(&p);
  mw__spool_close(&s);
}

static void bounds_drop_oldest(void **state) {
  (void)state;
  mw__spool *s = NULL;
  drops = 0;
  assert_int_equal(mw__spool_open(dir, 1 << 20, 3, 0, &s), 0);
  mw__payload p;
  char body[16], kind[16];
  for (int i = 0; i < 5; i++) {
    snprintf(body, sizeof body, "body%d", i);
    snprintf(kind, sizeof kind, "k%c", 'a' + i);
    make(&p, kind, "/t", body, i);
    assert_int_equal(mw__spool_add(s, &p, on_drop, NULL), 0);
    mw__payload_clear(&p);
  }
  assert_int_equal(drops, 2);
  assert_string_equal(dropped_kinds[0], "ka");
  assert_string_equal(dropped_kinds[1], "kb");
  assert_int_equal(mw__spool_files(s), 3);
  assert_int_equal(count_files(".mwp"), 3);
  assert_int_equal(mw__spool_peek(s, &p), 0);
  assert_memory_equal(p.body, "body2", 5);
  mw__payload_clear(&p);
  mw__spool_close(&s);
}

static void bounds_by_bytes(void **state) {
  (void)state;
  mw__spool *s = NULL;
  drops = 0;
  assert_int_equal(mw__spool_open(dir, 1000, 100, 0, &s), 0);
  char big[400];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  mw__payload p;
  for (int i = 0; i < 4; i++) { /* ~530 bytes each with the header: one fits at a time */
    make(&p, "heap", "/t", big, i);
    assert_int_equal(mw__spool_add(s, &p, on_drop, NULL), 0);
    mw__payload_clear(&p);
    assert_true(mw__spool_bytes(s) <= 1000);
  }
  assert_int_equal(drops, 3);
  assert_int_equal(mw__spool_files(s), 1);

  char huge[1200];
  memset(huge, 'y', sizeof huge - 1);
  huge[sizeof huge - 1] = '\0';
  make(&p, "heap", "/t", huge, 9);
  assert_int_equal(mw__spool_add(s, &p, on_drop, NULL), MW_ERR_TOOBIG);
  mw__payload_clear(&p);
  assert_int_equal(drops, 4);              /* refused and told */
  assert_int_equal(mw__spool_files(s), 1); /* nothing else lost for it */
  mw__spool_close(&s);
}

static void damaged_files(void **state) {
  (void)state;
  char path[600];
  /* a write cut short by a crash, and a file that is not a spool file */
  snprintf(path, sizeof path, "%s/00000000000000000007.tmp", dir);
  FILE *f = fopen(path, "w");
  fputs("MWSPOOL 1\nkind x\n", f);
  fclose(f);
  snprintf(path, sizeof path, "%s/00000000000000000001-0000000000000000005-cpu.mwp", dir);
  f = fopen(path, "w");
  fputs("MWSPOOL 1\nkind cpu\ntarget /t\ncontent-type a/b\ncontent-encoding identity\ncreated 5\nlength 99\n\nshort",
        f);
  fclose(f);
  mw__spool *s = NULL;
  assert_int_equal(mw__spool_open(dir, 1 << 20, 100, 1, &s), 0);
  assert_int_equal(count_files(".tmp"), 0);
  assert_int_equal(mw__spool_files(s), 1);
  mw__payload p;
  make(&p, "goroutine", "/good", "fine", 6);
  assert_int_equal(mw__spool_add(s, &p, NULL, NULL), 0); /* with fsync */
  mw__payload_clear(&p);
  assert_int_equal(mw__spool_peek(s, &p), MW_ERR_SPOOL); /* the length does not match: set aside */
  assert_int_equal(count_files(".bad"), 1);
  assert_int_equal(mw__spool_peek(s, &p), 0);
  assert_string_equal(p.target, "/good");
  assert_string_equal(p.encoding, "zstd");
  mw__payload_clear(&p);
  mw__spool_pop(s);
  assert_int_equal(mw__spool_files(s), 0);
  mw__spool_close(&s);
}

static void locked_by_another(void **state) {
  (void)state;
  mw__spool *a = NULL, *b = NULL;
  assert_int_equal(mw__spool_open(dir, 1 << 20, 10, 0, &a), 0);
  assert_int_equal(mw__spool_open(dir, 1 << 20, 10, 0, &b), MW_ERR_LOCKED);
  assert_null(b);
  mw__spool_close(&a);
  assert_int_equal(mw__spool_open(dir, 1 << 20, 10, 0, &b), 0); /* free again */
  mw__spool_close(&b);
  assert_int_equal(mw__spool_open("/proc/no/such/place", 1 << 20, 10, 0, &b), MW_ERR_SPOOL);
  assert_int_equal(mw__spool_open(dir, 0, 10, 0, &b), MW_ERR_INVAL);
}

static void refuses_bad_payloads(void **state) {
  (void)state;
  mw__spool *s = NULL;
  assert_int_equal(mw__spool_open(dir, 1 << 20, 10, 0, &s), 0);
  mw__payload p;
  make(&p, "cpu", "/t\nkind evil", "x", 1); /* a newline would forge a header line */
  assert_int_equal(mw__spool_add(s, &p, NULL, NULL), MW_ERR_INVAL);
  mw__payload_clear(&p);
  make(&p, "../x", "/t", "x", 1); /* the kind is part of a file name */
  assert_int_equal(mw__spool_add(s, &p, NULL, NULL), MW_ERR_INVAL);
  mw__payload_clear(&p);
  assert_int_equal(mw__spool_files(s), 0);
  mw__spool_close(&s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(fifo_and_reopen, setup, teardown),
      cmocka_unit_test_setup_teardown(bounds_drop_oldest, setup, teardown),
      cmocka_unit_test_setup_teardown(bounds_by_bytes, setup, teardown),
      cmocka_unit_test_setup_teardown(damaged_files, setup, teardown),
      cmocka_unit_test_setup_teardown(locked_by_another, setup, teardown),
      cmocka_unit_test_setup_teardown(refuses_bad_payloads, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
