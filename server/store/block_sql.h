/* The SQL of the reads over sealed blocks (issue 17, docs/STORAGE-WIRING.md
 * §1), beside reader_sql.h so that tests/unit/test_store_search.c can run
 * EXPLAIN QUERY PLAN on each and fail on a scan. Tables: migration 0008. */
#ifndef MW_STORE_BLOCK_SQL_H
#define MW_STORE_BLOCK_SQL_H

/* A sealed block by id (?1), from TR(id): a candidate of the trace index.
 * No row: retention deleted it since the run was written (skip it). */
#define MW__BLOCK_BY_ID_SQL "SELECT source_id, data FROM span_blocks WHERE id = ?1"

/* An operation's name and service (?1 op id): a block stores op ids only. */
#define MW__OP_NAME_SQL "SELECT name, service FROM operations WHERE id = ?1"

/* An old row by trace (?1) and span id (?2), without its body. */
#define MW__SPAN_BY_ID_SQL                                                                                             \
  "SELECT start_ns, dur_ns, op_id, source_id, scope_id, parent_id, kind, status FROM spans INDEXED BY "                \
  "spans_by_trace WHERE trace_id = ?1 AND span_id = ?2"

/* The span ids of a trace's old rows (?1), from the index alone. */
#define MW__TRACE_SPAN_IDS_SQL "SELECT span_id FROM spans INDEXED BY spans_by_trace WHERE trace_id = ?1"

/* The newest ?2 execution traces naming span ?1 (the span index's key). */
#define MW__XT_BY_SPAN_SQL                                                                                             \
  "SELECT exectrace_id FROM exectrace_span_index WHERE span_id = ?1 ORDER BY exectrace_id DESC LIMIT ?2"

/* BO(op, t0, t1): the block_ops rows of an operation (?1) whose block may
 * hold spans starting in [?2, ?3): its first_ns from ?2 - 120 s on (a block
 * holds starts at most MW_BLK_MAX_START_SPAN_NS = 120 s apart), by first_ns
 * either way (the primary key). */
#define MW__BO_COLS "SELECT block_id, first_ns, last_ns, n, max_dur_ns, refs FROM block_ops "
#define MW__BO_WHERE "WHERE op_id = ?1 AND first_ns >= ?2 - 120000000000 AND first_ns < ?3 "
#define MW__BO_ASC_SQL MW__BO_COLS MW__BO_WHERE "ORDER BY first_ns, block_id"
#define MW__BO_DESC_SQL MW__BO_COLS MW__BO_WHERE "ORDER BY first_ns DESC, block_id DESC"
/* BO from block_ops_by_op alone (it covers these and the rowid): the refs
 * are read apart (MW__BO_REFS_SQL) for the rows the caller keeps. */
#define MW__BO_KEY_COLS "SELECT block_id, first_ns, last_ns, n, max_dur_ns, rowid FROM block_ops "
#define MW__BO_KEYS_ASC_SQL MW__BO_KEY_COLS MW__BO_WHERE "ORDER BY first_ns, block_id"
#define MW__BO_KEYS_DESC_SQL MW__BO_KEY_COLS MW__BO_WHERE "ORDER BY first_ns DESC, block_id DESC"
/* A block_ops row's refs by rowid (?1). */
#define MW__BO_REFS_SQL "SELECT refs FROM block_ops WHERE rowid = ?1"

/* An operation's (?1) first and last block first_ns: bounds of its block
 * spans' starts (the last start is at most 120 s past the last first_ns). */
#define MW__BO_FIRST_SQL "SELECT min(first_ns) FROM block_ops WHERE op_id = ?1"
#define MW__BO_LAST_SQL "SELECT max(first_ns) FROM block_ops WHERE op_id = ?1"

/* The newest sealed blocks, by id, for Tempo's tag discovery: a walk down
 * the rowid b-tree that the caller stops after its span budget (its plan is
 * a SCAN in rowid order, no sort: the plan test checks that one apart). */
#define MW__BLOCKS_NEWEST_SQL "SELECT id, source_id, data FROM span_blocks ORDER BY id DESC"

/* BW(source, t0, t1): the sealed blocks of a source (?1) that may hold spans
 * starting in [?2, ?3), by first_ns (span_blocks_by_source). */
#define MW__BW_SQL                                                                                                     \
  "SELECT id, first_ns, data FROM span_blocks WHERE source_id = ?1 AND first_ns >= ?2 - 120000000000 AND "             \
  "first_ns < ?3 AND last_ns >= ?2 ORDER BY first_ns"

/* The sources seen in [?1, ?2), for a window read over every source's blocks. */
#define MW__SOURCES_IN_SQL "SELECT id FROM sources WHERE last_ns >= ?1 AND first_ns < ?2"

/* A sealed block's data by id (?1), for the ids of the spans srefs name. */
#define MW__BLOCK_DATA_SQL "SELECT data FROM span_blocks WHERE id = ?1"

/* Whether sealed block ?1 is in the snapshot (a rowid seek, no blob read). */
#define MW__BLOCK_EXISTS_SQL "SELECT 1 FROM span_blocks WHERE id = ?1"

/* An old row's ids and times by rowid (?1). */
#define MW__ROW_IDS_SQL "SELECT trace_id, span_id, start_ns, dur_ns FROM spans WHERE rowid = ?1"

/* Every statement above, for the plan test (a SCAN of any table fails it),
 * but MW__BLOCKS_NEWEST_SQL (checked apart) and MW__SOURCES_IN_SQL (a pass
 * over `sources`, one row a source, as mw__store_source_resources does). */
#define MW__BLOCK_SQL_ALL                                                                                              \
  MW__BLOCK_BY_ID_SQL, MW__OP_NAME_SQL, MW__SPAN_BY_ID_SQL, MW__TRACE_SPAN_IDS_SQL, MW__XT_BY_SPAN_SQL,                \
      MW__BO_ASC_SQL, MW__BO_DESC_SQL, MW__BLOCK_DATA_SQL, MW__BLOCK_EXISTS_SQL, MW__ROW_IDS_SQL, MW__BO_FIRST_SQL,    \
      MW__BO_LAST_SQL, MW__BW_SQL, MW__BO_KEYS_ASC_SQL, MW__BO_KEYS_DESC_SQL, MW__BO_REFS_SQL

#endif
