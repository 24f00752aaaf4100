-- Migration 5: Go execution traces (docs/EXECTRACE.md).
--
-- A trace is kept twice: as pushed (zstd, for download and `go tool trace`),
-- and as what meanwhile-exectrace read from it, made compact: one blob per
-- goroutine holding its intervals and wake edges (server/decode/
-- exectrace_blob.h), and an index of which goroutines ran which span and
-- when, so that a span finds its goroutines without opening every blob.
-- Stack and span numbers inside the blobs are the trace's own: the two small
-- tables map them to the stack store and to span ids.

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

CREATE TABLE exectrace_spans (         -- the trace's span numbers (1, 2, ...) -> ids
  exectrace_id  INTEGER NOT NULL,
  ref           INTEGER NOT NULL,
  trace_id      BLOB NOT NULL,         -- 16 bytes, or empty (Datadog's convention names no trace)
  span_id       BLOB NOT NULL,         -- 8 bytes
  name          TEXT NOT NULL,
  PRIMARY KEY (exectrace_id, ref)
) WITHOUT ROWID;

-- Which goroutines ran a span, and between which times.
CREATE TABLE exectrace_span_runs (
  span_id       BLOB NOT NULL,
  trace_id      BLOB NOT NULL,         -- as in exectrace_spans
  exectrace_id  INTEGER NOT NULL,
  goroutine     INTEGER NOT NULL,
  first_ns      INTEGER NOT NULL,
  last_ns       INTEGER NOT NULL,
  PRIMARY KEY (span_id, trace_id, exectrace_id, goroutine)
) WITHOUT ROWID;
CREATE INDEX exectrace_span_runs_by_trace ON exectrace_span_runs (exectrace_id);
