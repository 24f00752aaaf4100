/* Tests for span references (store/sref.h) and the embedded schema on a
 * connection of our own (store/schema.h, migration 0008). Expected values are
 * written out here from the definitions in docs/STORAGE-WIRING.md ("Terms",
 * §5), not computed with the code under test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <sqlite3.h>
#include <string.h>

#include "core/embed.h"
#include "core/error.h"
#include "store/schema.h"
#include "store/sref.h"
#include "sql_assert.h"

static void test_sref_values(void **state) {
  (void)state;
  /* -1 - (b << 16 | i), by hand */
  assert_true(mw__sref_block(0, 0) == -1);
  assert_true(mw__sref_block(1, 0) == -65537);
  assert_true(mw__sref_block(1, 5) == -65542);
  assert_true(mw__sref_block(3, 65535) == -1 - (3 * 65536 + 65535));
  assert_true(mw__sref_block(MW__SREF_MAX_BLOCK, 65535) == INT64_MIN);
  assert_false(mw__sref_is_row(mw__sref_block(1, 0)));
  assert_false(mw__sref_is_row(mw__sref_block(MW__SREF_MAX_BLOCK, 65535)));
  assert_true(mw__sref_is_row(1));
  assert_true(mw__sref_is_row(INT64_MAX));
  assert_false(mw__sref_is_row(0));
}

static void test_sref_round_trip_and_order(void **state) {
  (void)state;
  static const int64_t blocks[] = {1, 2, 255, 65536, 123456789, MW__SREF_MAX_BLOCK};
  static const uint32_t idx[] = {0, 1, 127, 1023, 65534, 65535};
  int64_t prev = 0;
  for (size_t b = 0; b < sizeof blocks / sizeof *blocks; b++)
    for (size_t i = 0; i < sizeof idx / sizeof *idx; i++) {
      int64_t r = mw__sref_block(blocks[b], idx[i]), gb = -1;
      uint32_t gi = 99999;
      assert_true(r < 0);
      mw__sref_split(r, &gb, &gi);
      assert_true(gb == blocks[b]);
      assert_int_equal(gi, idx[i]);
      /* later blocks and later indexes give smaller (more negative) refs */
      if (prev) assert_true(r < prev);
      prev = r;
    }
}

static void test_schema_0008(void **state) {
  (void)state;
  sqlite3 *db;
  char err[256] = "";
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_true(mw__sql_files_count >= 8);
  assert_string_equal(mw__sql_files[7].path, "0008_span_blocks.sql");
  if (mw__schema_apply(db, 0, err, sizeof err)) fail_msg("%s", err);
  assert_int_equal(sqlt_int(db, "PRAGMA user_version"), (int64_t)mw__sql_files_count);
  assert_int_equal(sqlt_int(db, "PRAGMA application_id"), 0x4D57484C);
  /* a second apply is refused: the database has a version */
  assert_int_equal(mw__schema_apply(db, 0, err, sizeof err), MW_EINVAL);

  assert_int_equal(sqlt_int(db,
                            "SELECT count(*) FROM sqlite_schema WHERE name IN ('span_blocks', 'span_blocks_by_source', "
                            "'block_ops', 'block_ops_by_op', 'block_ops_by_block', 'span_tail', 'trace_runs', "
                            "'trace_run_list')"),
                   8);
  assert_int_equal(
      sqlt_int(db, "SELECT count(*) FROM pragma_table_info('block_ops') WHERE name IN ('refs', 'slow_ns')"), 2);
  /* block_ops keeps a rowid (its refs rows stay in their pages: 0008's comment) */
  assert_int_equal(
      sqlt_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'block_ops' AND sql LIKE '%WITHOUT ROWID%'"), 0);

  /* block ids are never reused, even once the newest block is deleted
   * (the restart rebuild of the trace partition reads blocks by id) */
  sqlt_exec(db,
            "INSERT INTO span_blocks (source_id, first_ns, last_ns, n, format, data) VALUES (1, 10, 20, 1, 1, x'00')");
  sqlt_exec(db,
            "INSERT INTO span_blocks (source_id, first_ns, last_ns, n, format, data) VALUES (1, 10, 20, 1, 1, x'00')");
  sqlt_exec(db, "DELETE FROM span_blocks");
  sqlt_exec(db,
            "INSERT INTO span_blocks (source_id, first_ns, last_ns, n, format, data) VALUES (1, 10, 20, 1, 1, x'00')");
  assert_int_equal(sqlt_int(db, "SELECT id FROM span_blocks"), 3);

  /* an old slow span (block_id NULL) and a block's, ordered by duration then sref */
  sqlt_exec(db, "INSERT INTO slow_spans (op_id, dur_ns, span_rowid, start_ns) VALUES (7, 100, 42, 5)");
  sqlt_exec(db, "INSERT INTO slow_spans (op_id, dur_ns, span_rowid, start_ns) VALUES (7, 100, -196612, 6)");
  assert_int_equal(sqlt_int(db, "SELECT span_rowid FROM slow_spans WHERE op_id = 7 ORDER BY dur_ns DESC, span_rowid"),
                   -196612);
  sqlite3_close(db);

  /* a prefix of the migrations: version 7, no block tables */
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  if (mw__schema_apply(db, 7, err, sizeof err)) fail_msg("%s", err);
  assert_int_equal(sqlt_int(db, "PRAGMA user_version"), 7);
  assert_int_equal(sqlt_int(db, "SELECT count(*) FROM sqlite_schema WHERE name = 'span_blocks'"), 0);
  sqlite3_close(db);
  assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
  assert_int_equal(mw__schema_apply(db, mw__sql_files_count + 1, err, sizeof err), MW_EINVAL);
  sqlite3_close(db);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sref_values),
      cmocka_unit_test(test_sref_round_trip_and_order),
      cmocka_unit_test(test_schema_0008),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
