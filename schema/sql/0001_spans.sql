-- Migration 1: sources, operations, scopes and spans.
--
-- A span row holds the columns queries filter and sort on; everything else a
-- reader needs to re-export the span (attributes, events, links, trace state,
-- flags, dropped counts, status message) is in `body`: the span's own OTLP
-- protobuf encoding with the column fields cleared. Times are unix ns.

CREATE TABLE sources (
  id        INTEGER PRIMARY KEY,
  service   TEXT NOT NULL,
  instance  TEXT NOT NULL,           -- service.instance.id, '' when the sender gave none
  host      TEXT,
  pid       INTEGER,
  resource  BLOB,                    -- latest opentelemetry.proto.resource.v1.Resource
  first_ns  INTEGER NOT NULL,
  last_ns   INTEGER NOT NULL,
  UNIQUE (service, instance)
);

CREATE TABLE operations (
  id          INTEGER PRIMARY KEY,
  service     TEXT NOT NULL,
  name        TEXT NOT NULL,
  span_count  INTEGER NOT NULL DEFAULT 0,   -- kept by the writer, so listings need no scan
  UNIQUE (service, name)
);

CREATE TABLE scopes (
  id    INTEGER PRIMARY KEY,
  body  BLOB NOT NULL UNIQUE         -- InstrumentationScope protobuf (+ schema_url)
);

CREATE TABLE spans (
  trace_id   BLOB NOT NULL,          -- 16 bytes
  span_id    BLOB NOT NULL,          -- 8 bytes
  parent_id  BLOB,                   -- 8 bytes, NULL for a root span
  source_id  INTEGER NOT NULL,
  op_id      INTEGER NOT NULL,
  scope_id   INTEGER NOT NULL,
  start_ns   INTEGER NOT NULL,
  dur_ns     INTEGER NOT NULL,
  kind       INTEGER NOT NULL,
  status     INTEGER NOT NULL,       -- 0 unset, 1 ok, 2 error
  body       BLOB
);

-- One trace by id; also makes a re-sent span (a client retry) a no-op.
CREATE UNIQUE INDEX spans_by_trace ON spans (trace_id, span_id);
-- The spans of one source in a time range.
CREATE INDEX spans_by_source ON spans (source_id, start_ns);
-- The slowest spans of an operation in a time range (covering: no row lookup
-- until the top rows are chosen).
CREATE INDEX spans_by_op ON spans (op_id, start_ns, dur_ns);
