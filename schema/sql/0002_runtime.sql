-- Migration 2: what the Go runtime says about itself, on the spans' clock.
--
-- Runtime data belongs to a source (service, instance) like spans do. A
-- snapshot is one capture (a goroutine dump or profile) kept as received,
-- zstd-compressed, plus normalized rows. Stacks are shared by all snapshots.

-- An ingest that names (service, instance as given) may turn out, through the
-- span ids in its labelled samples, to be another source: the link is kept.
CREATE TABLE source_links (
  service    TEXT NOT NULL,
  alias      TEXT NOT NULL,          -- the instance the sender named ('' for none)
  source_id  INTEGER NOT NULL,
  PRIMARY KEY (service, alias)
) WITHOUT ROWID;

CREATE TABLE stacks (
  id      INTEGER PRIMARY KEY,
  hash    INTEGER NOT NULL,          -- of frames; equal hashes are told apart by frames
  frames  TEXT NOT NULL              -- one frame per line, leaf first: "func\tfile:line"
);
-- an index on the hash, not on the text: a unique index would store every stack twice
CREATE INDEX stacks_by_hash ON stacks (hash);

CREATE TABLE snapshots (
  id           INTEGER PRIMARY KEY,
  source_id    INTEGER NOT NULL,
  kind         TEXT NOT NULL,        -- goroutine, cpu, heap, allocs, mutex, block
  format       TEXT NOT NULL,        -- pprof, debug=1, debug=2
  at_ns        INTEGER NOT NULL,     -- capture start
  duration_ns  INTEGER NOT NULL DEFAULT 0,
  total        INTEGER NOT NULL,     -- goroutines, or samples
  meta         TEXT NOT NULL,        -- JSON: sample types, period, goroutines by state
  raw_bytes    INTEGER NOT NULL,
  payload      BLOB NOT NULL         -- zstd of the body as received
);
CREATE INDEX snapshots_by_source ON snapshots (source_id, at_ns);

CREATE TABLE goroutine_groups (      -- goroutines of a snapshot with the same stack, state and labels
  snapshot_id  INTEGER NOT NULL,
  stack_id     INTEGER NOT NULL,
  state        TEXT NOT NULL,        -- running, runnable, syscall, io, chan, select, mutex, sleep, cond, gc, idle, other
  wait_reason  TEXT,                 -- as the runtime printed it
  count        INTEGER NOT NULL,
  wait_min_ns  INTEGER,              -- from ", N minutes"
  wait_max_ns  INTEGER,
  locked       INTEGER NOT NULL DEFAULT 0,
  span_id      BLOB,
  trace_id     BLOB,
  labels       TEXT,                 -- JSON object of every label
  goids        TEXT                  -- some goroutine ids, comma-separated
);
CREATE INDEX goroutine_groups_by_snapshot ON goroutine_groups (snapshot_id);
CREATE INDEX goroutine_groups_by_span ON goroutine_groups (span_id) WHERE span_id IS NOT NULL;

CREATE TABLE profile_samples (       -- samples of a profile aggregated by stack and labels
  snapshot_id  INTEGER NOT NULL,
  stack_id     INTEGER NOT NULL,
  span_id      BLOB,
  trace_id     BLOB,
  labels       TEXT,
  vals         TEXT NOT NULL         -- JSON array, one value per sample type
);
CREATE INDEX profile_samples_by_snapshot ON profile_samples (snapshot_id);
CREATE INDEX profile_samples_by_span ON profile_samples (span_id) WHERE span_id IS NOT NULL;

CREATE TABLE gc_cycles (
  source_id          INTEGER NOT NULL,
  n                  INTEGER NOT NULL,
  start_ns           INTEGER NOT NULL, -- sweep termination begins (absolute)
  stw1_ns            INTEGER NOT NULL, -- stop-the-world sweep termination (wall)
  mark_ns            INTEGER NOT NULL, -- concurrent mark (wall)
  stw2_ns            INTEGER NOT NULL, -- stop-the-world mark termination (wall)
  cpu_pct            INTEGER NOT NULL,
  stw1_cpu_ns        INTEGER NOT NULL,
  assist_cpu_ns      INTEGER NOT NULL,
  background_cpu_ns  INTEGER NOT NULL,
  idle_cpu_ns        INTEGER NOT NULL,
  stw2_cpu_ns        INTEGER NOT NULL,
  heap_before        INTEGER NOT NULL,
  heap_after         INTEGER NOT NULL,
  heap_live          INTEGER NOT NULL,
  goal               INTEGER NOT NULL,
  stacks             INTEGER,          -- NULL before Go 1.18
  globals            INTEGER,
  procs              INTEGER NOT NULL,
  forced             INTEGER NOT NULL,
  PRIMARY KEY (source_id, start_ns, n)
) WITHOUT ROWID;

CREATE TABLE sched_samples (
  source_id        INTEGER NOT NULL,
  at_ns            INTEGER NOT NULL,
  gomaxprocs       INTEGER NOT NULL,
  idleprocs        INTEGER NOT NULL,
  threads          INTEGER NOT NULL,
  spinningthreads  INTEGER NOT NULL,
  idlethreads      INTEGER NOT NULL,
  runqueue         INTEGER NOT NULL,   -- global run queue
  local_runq       INTEGER,            -- sum of the Ps' local queues (NULL in scheddetail mode)
  PRIMARY KEY (source_id, at_ns)
) WITHOUT ROWID;
