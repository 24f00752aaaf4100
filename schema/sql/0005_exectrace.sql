-- Migration 5: Go execution traces (docs/EXECTRACE.md).
--
-- A trace is kept twice: as pushed (zstd, for download and `go tool trace`),
-- and as what meanwhile-exectrace read from it, made compact: one blob per
-- goroutine holding its intervals and wake edges (server/decode/
-- exectrace_blob.h), and an index of which goroutines ran which span and
-- when, so that a span finds its goroutines without opening every blob.
-- Stack and span numbers inside the blobs are the trace's own: stacks map to
-- the stack store through exectrace_stacks, spans through exectraces.span_ids.

CREATE TABLE exectraces (
  id              INTEGER PRIMARY KEY,
  source_id       INTEGER NOT NULL,
  start_ns        INTEGER NOT NULL,    -- first event (aligned; see alignment)
  end_ns          INTEGER NOT NULL,    -- last event
  trigger         TEXT,                -- why it was taken (slow_span, interval, ...)
  alignment       INTEGER NOT NULL,    -- records.proto Alignment: 1 clock_snapshot, 2 capture_time, 3 none
  clock_error_ns  INTEGER NOT NULL,
  go_version      TEXT NOT NULL,
  capture_ns      INTEGER NOT NULL,    -- the `time` parameter, 0 when not given
  received_ns     INTEGER NOT NULL,
  events          INTEGER NOT NULL,
  goroutines      INTEGER NOT NULL,
  intervals       INTEGER NOT NULL,
  wakes           INTEGER NOT NULL,
  spans           INTEGER NOT NULL,
  windows         BLOB NOT NULL,       -- zstd of JSON: the GC and stop-the-world windows
  span_ids        BLOB NOT NULL,       -- the trace's span ids, 8 bytes each, in the order the trace numbers them
  span_table      BLOB NOT NULL,       -- their trace ids and runs (server/decode/exectrace_blob.h)
  raw_bytes       INTEGER NOT NULL,
  stored_bytes    INTEGER NOT NULL,
  raw             BLOB NOT NULL        -- zstd of the trace as pushed
);
CREATE INDEX exectraces_by_source ON exectraces (source_id, start_ns);

CREATE TABLE exectrace_goroutines (
  exectrace_id  INTEGER NOT NULL,
  goroutine     INTEGER NOT NULL,
  first_ns      INTEGER NOT NULL,
  last_ns       INTEGER NOT NULL,
  intervals     INTEGER NOT NULL,
  wakes         INTEGER NOT NULL,
  blob          BLOB NOT NULL,
  PRIMARY KEY (exectrace_id, goroutine)
) WITHOUT ROWID;

CREATE TABLE exectrace_stacks (        -- the trace's stack ids -> stacks.id
  exectrace_id  INTEGER NOT NULL,
  local         INTEGER NOT NULL,
  stack_id      INTEGER NOT NULL,
  PRIMARY KEY (exectrace_id, local)
) WITHOUT ROWID;

-- The span index: which traces name a span (the trace's spans and which
-- goroutine ran which, when, are in exectraces.span_ids/span_table).
CREATE TABLE exectrace_span_index (
  span_id       BLOB NOT NULL,         -- 8 bytes
  exectrace_id  INTEGER NOT NULL,
  PRIMARY KEY (span_id, exectrace_id)
) WITHOUT ROWID;
