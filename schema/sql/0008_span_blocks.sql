-- Migration 8: spans in compressed blocks (docs/STORAGE-NOTES.md §7, docs/STORAGE-WIRING.md).
-- `spans` and its indexes stay: old rows are read until retention empties them.
CREATE TABLE span_blocks (
  id        INTEGER PRIMARY KEY AUTOINCREMENT, -- assigned at seal: ids follow seal order, never reused
  source_id INTEGER NOT NULL,
  first_ns  INTEGER NOT NULL,         -- min start
  last_ns   INTEGER NOT NULL,         -- max end
  n         INTEGER NOT NULL,
  format    INTEGER NOT NULL,         -- 1: server/store/span_block.h
  data      BLOB NOT NULL
);
CREATE INDEX span_blocks_by_source ON span_blocks (source_id, first_ns);

-- One row per (block, operation). A rowid table: a refs blob (~1-3 KB) stays in its page, where a
-- WITHOUT ROWID row past ~1 KB spills to an overflow page (21.2 B/span against 12.0 on the 1M corpus).
-- block_ops_by_op covers the counts (n, max_dur_ns) without reading the refs.
CREATE TABLE block_ops (
  op_id      INTEGER NOT NULL,
  first_ns   INTEGER NOT NULL,        -- the block's
  block_id   INTEGER NOT NULL,
  last_ns    INTEGER NOT NULL,        -- max end of this op's spans in the block
  n          INTEGER NOT NULL,        -- spans of this op in the block
  max_dur_ns INTEGER NOT NULL,
  slow_ns    INTEGER NOT NULL,        -- the op's slow threshold at seal: its spans lasting >= it have slow_spans rows
  refs       BLOB NOT NULL            -- per span, by start: varint index, varint start - previous start
                                      -- (the first: - first_ns), varint dur (store/block_write.h)
);
CREATE INDEX block_ops_by_op ON block_ops (op_id, first_ns, block_id, last_ns, n, max_dur_ns);
CREATE INDEX block_ops_by_block ON block_ops (block_id);

-- The open blocks, durable: one row per request and source (zstd -1 of the rows).
CREATE TABLE span_tail (
  source_id INTEGER NOT NULL,
  seq       INTEGER NOT NULL,
  n         INTEGER NOT NULL,
  data      BLOB NOT NULL,
  PRIMARY KEY (source_id, seq)
) WITHOUT ROWID;

-- The trace index in sorted runs (server/store/trace_runs.c).
CREATE TABLE trace_runs (
  run_id    INTEGER NOT NULL,
  trace_key INTEGER NOT NULL,         -- first 8 bytes of the trace id, big-endian, signed
  block_id  INTEGER NOT NULL,
  PRIMARY KEY (run_id, trace_key, block_id)) WITHOUT ROWID;
CREATE TABLE trace_run_list (
  run_id   INTEGER PRIMARY KEY,
  level    INTEGER NOT NULL,          -- 0 flushed, n+1 merged from n, -1 dropped (being deleted)
  first_ns INTEGER NOT NULL,
  last_ns  INTEGER NOT NULL,
  entries  INTEGER NOT NULL,
  into_run INTEGER);                  -- the run a merge under way copies this one into

-- slow_spans is unchanged: span_rowid of a block's span holds -1 - (block_id << 16 | index)
-- (store/sref.h). Retention finds a block's slow spans from its block_ops rows (refs entries
-- lasting >= slow_ns) and deletes them by key, so no index by block is needed (it took 7.8 B/span).
