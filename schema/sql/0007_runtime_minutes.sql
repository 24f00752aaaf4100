-- Migration 7: per-minute rollups of a source's runtime data (issue 15).
--
-- One row per (source, minute) that holds any runtime row: the GC cycles that
-- started in the minute, the snapshots taken in it (by at_ns) and the
-- execution traces that started in it, summed up so that a week of a busy
-- source (600,000 cycles, as many goroutine profiles) is read as 10,080 rows.
-- The runtime writer upserts them in the transaction that inserts the rows
-- they summarise (store/minutes.c), counting only rows it really inserted (a
-- re-sent cycle is ignored by both); retention deletes them with the rows; a
-- learned source link rebuilds them from the moved rows. Databases made
-- before this migration get theirs in the same transaction: the server
-- rebuilds every source's minutes from its rows right after this file runs
-- (store.c, migrate), logging how long it took.
--
-- GC columns follow /gc/pressure (query/gc_pressure.c): gc_cpu_ns is the
-- cycles' stop-the-world + assist + background CPU (not idle marking); procs,
-- heap_live and heap_goal are the minute's last cycle's (by start: gc_last_ns);
-- a cycle's allocation is its heap at mark termination minus what its
-- predecessor (cycle n - 1, the source's previous cycle by start) marked
-- live, over the time from the predecessor's end to its end. pause_hist holds
-- both pauses of each cycle (wall clock) kept to two significant digits
-- (model/minutes.h): (uint16 key, uint32 count) pairs, little-endian, by key.
-- Goroutine columns come from goroutine snapshots (profiles and dumps; not
-- leak profiles): goroutines is the minute's last one's total (by at_ns,
-- goroutines_ns). cap_* count the captures of each kind; cap_dump counts
-- goroutine dumps (text: debug=1, debug=2), cap_goroutine goroutine profiles;
-- triggered counts the captures an agent took for a reason (a trigger).

CREATE TABLE runtime_minutes (
  source_id          INTEGER NOT NULL,
  minute_ns          INTEGER NOT NULL,  -- unix ns, a multiple of 60e9
  gc_cycles          INTEGER NOT NULL DEFAULT 0,
  gc_cpu_ns          INTEGER NOT NULL DEFAULT 0,
  assist_cpu_ns      INTEGER NOT NULL DEFAULT 0,
  gc_last_ns         INTEGER NOT NULL DEFAULT 0,
  procs              INTEGER NOT NULL DEFAULT 0,
  pauses             INTEGER NOT NULL DEFAULT 0,
  pause_max_ns       INTEGER NOT NULL DEFAULT 0,
  pause_hist         BLOB,
  heap_live          INTEGER NOT NULL DEFAULT 0,
  heap_live_max      INTEGER NOT NULL DEFAULT 0,
  heap_goal          INTEGER NOT NULL DEFAULT 0,
  alloc_bytes        INTEGER NOT NULL DEFAULT 0,
  alloc_ns           INTEGER NOT NULL DEFAULT 0,
  snapshots          INTEGER NOT NULL DEFAULT 0,
  goroutines         INTEGER NOT NULL DEFAULT 0,
  goroutines_max     INTEGER NOT NULL DEFAULT 0,
  goroutines_ns      INTEGER NOT NULL DEFAULT 0,
  cap_goroutine      INTEGER NOT NULL DEFAULT 0,
  cap_dump           INTEGER NOT NULL DEFAULT 0,
  cap_goroutineleak  INTEGER NOT NULL DEFAULT 0,
  cap_cpu            INTEGER NOT NULL DEFAULT 0,
  cap_heap           INTEGER NOT NULL DEFAULT 0,
  cap_allocs         INTEGER NOT NULL DEFAULT 0,
  cap_mutex          INTEGER NOT NULL DEFAULT 0,
  cap_block          INTEGER NOT NULL DEFAULT 0,
  cap_exectrace      INTEGER NOT NULL DEFAULT 0,
  triggered          INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (source_id, minute_ns)
) WITHOUT ROWID;

-- A source's snapshots of one kind in a time range: goroutine growth reads a
-- source's leak profiles and spreads its goroutine profiles over a week that
-- holds 60,000 CPU and 10,000 heap profiles among 600,000 goroutine ones;
-- through snapshots_by_source every snapshot of the window is looked at.
CREATE INDEX snapshots_by_kind ON snapshots (source_id, kind, at_ns);
