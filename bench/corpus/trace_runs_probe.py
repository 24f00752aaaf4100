#!/usr/bin/env python3
"""Can a trace index kept in sorted runs answer trace by id fast enough?

Builds trace_runs (run_id, trace_key, block_id) WITHOUT ROWID with --entries
random trace keys spread over --runs runs (each run's keys sorted and
appended, as the block store would write them), then times --lookups lookups
of existing keys, each one statement that seeks every run:

  SELECT block_id FROM trace_runs WHERE run_id IN (all runs) AND trace_key = ?

Prints p50/p99 in ms, warm (the file was just written), and with --cold
also after dropping the page cache (root only; it empties the cache of the
whole machine, so not on a machine shared with other benchmarks). The default, 3.5M entries, is what
10M spans make at 0.35 entries a span (a trace's spans in one process share
a block). Rough: a shared machine.

  python3 bench/corpus/trace_runs_probe.py [--entries 3500000] [--runs 200] [--lookups 2000] [--cold]
"""
import argparse
import os
import random
import sqlite3
import sys
import tempfile
import time


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--entries", type=int, default=3500000)
    ap.add_argument("--runs", type=int, default=200)
    ap.add_argument("--lookups", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--cold", action="store_true")
    a = ap.parse_args()
    rnd = random.Random(a.seed)
    d = tempfile.mkdtemp(prefix="mw-runs-", dir="/tmp")
    path = os.path.join(d, "runs.db")
    con = sqlite3.connect(path, isolation_level=None)
    con.execute("PRAGMA journal_mode=WAL")
    con.execute("PRAGMA cache_size=-16384")
    con.execute("CREATE TABLE trace_runs (run_id INTEGER NOT NULL, trace_key INTEGER NOT NULL, "
                "block_id INTEGER NOT NULL, PRIMARY KEY (run_id, trace_key, block_id)) WITHOUT ROWID")
    per = a.entries // a.runs
    keys = []
    block = 0
    t = time.time()
    for r in range(1, a.runs + 1):
        run = sorted((rnd.getrandbits(63), block + rnd.randrange(1000)) for _ in range(per))
        block += 1000
        keys.extend(k for k, _ in run[:: max(1, per // 50)])
        con.execute("BEGIN")
        con.executemany("INSERT INTO trace_runs VALUES (?, ?, ?)", [(r, k, b) for k, b in run])
        con.execute("COMMIT")
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    size = os.path.getsize(path)
    print(f"runs.entries {per * a.runs}  # {a.runs} runs, built in {time.time() - t:.1f} s")
    print(f"runs.bytes_per_entry {size / (per * a.runs):.1f}")
    runs = ",".join(str(r) for r in range(1, a.runs + 1))
    q = f"SELECT block_id FROM trace_runs WHERE run_id IN ({runs}) AND trace_key = ?"
    plan = " / ".join(row[3] for row in con.execute("EXPLAIN QUERY PLAN " + q, (1,)))
    print(f"runs.plan {plan}")

    def timed(label):
        sample = [rnd.choice(keys) for _ in range(a.lookups)]
        lat = []
        for k in sample:
            t0 = time.perf_counter()
            got = con.execute(q, (k,)).fetchall()
            lat.append(time.perf_counter() - t0)
            if not got:
                sys.exit(f"key {k} not found")
        lat.sort()
        print(f"runs.{label}.p50_ms {lat[len(lat) // 2] * 1e3:.3f}")
        print(f"runs.{label}.p99_ms {lat[len(lat) * 99 // 100] * 1e3:.3f}")

    timed("warm")
    if a.cold:
        con.close()
        os.system("sync; echo 1 > /proc/sys/vm/drop_caches")
        con = sqlite3.connect(path, isolation_level=None)
        con.execute("PRAGMA cache_size=-16384")
        timed("cold")
    con.close()
    for f in os.listdir(d):
        os.remove(os.path.join(d, f))
    os.rmdir(d)


if __name__ == "__main__":
    sys.exit(main())
