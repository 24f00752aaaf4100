-- Migration 4: the slow spans of each operation, by duration.
--
-- "The slowest traces of a service" is the question most searches ask, most
-- often over all the data kept (the viewer sends no time window). Read from
-- spans_by_op it costs a pass over every span of the window and a sort:
-- seconds on a few million spans, and long reads hold the WAL open. An index
-- of every span by duration answers it at once but costs a third of ingest
-- (each insert lands on a random page of it). So only slow spans are listed
-- here: the writer lists a span when it lasted at least its operation's
-- threshold `slow_ns`, which starts at 0 and is raised, never lowered, to
-- about the p90 of the operation's recent spans. Because it only rises, every
-- span that lasted at least the current threshold is listed, whenever it
-- came: the longest spans of an operation at or above it are exactly the
-- first rows here (store/reader.c), and a search falls back to the window
-- only when fewer than it needs are that slow.
ALTER TABLE operations ADD COLUMN slow_ns INTEGER NOT NULL DEFAULT 0;
CREATE TABLE slow_spans (
  op_id       INTEGER NOT NULL,
  dur_ns      INTEGER NOT NULL,
  span_rowid  INTEGER NOT NULL,      -- spans.rowid
  start_ns    INTEGER NOT NULL,
  PRIMARY KEY (op_id, dur_ns DESC, span_rowid)  -- longest first; ties: stored first
) WITHOUT ROWID;
