-- Migration 6: early-warning events (server/model/rules.h).
--
-- One row per rule that fired for a source: its name, what it said, the value
-- and the threshold it passed, at the data's time. Retention deletes them like
-- the other runtime rows of their source; a learned source link moves them.

CREATE TABLE runtime_events (
  source_id  INTEGER NOT NULL,
  at_ns      INTEGER NOT NULL,
  rule       TEXT NOT NULL,       -- heap_growth, goroutine_growth, gc_cpu, pause_p99
  message    TEXT NOT NULL,
  value      REAL NOT NULL,       -- bytes, goroutines, percent or ns, by rule
  threshold  REAL NOT NULL
);
CREATE INDEX runtime_events_by_source ON runtime_events (source_id, at_ns);
