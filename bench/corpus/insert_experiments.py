#!/usr/bin/env python3
"""Where the writer's time and bytes go: the spans of DB (as bench-corpus-send
left it) inserted again, in arrival order, into fresh databases with the
server's pragmas, one variant at a time:

  table          the spans table alone (rowid B-tree, bodies as stored)
  +trace         and spans_by_trace (the unique index; random keys)
  +source        and spans_by_source
  +op            and spans_by_op
  today          all three indexes: what the server writes per span
  today-zdict    all three, bodies zstd-compressed with a 64 KB dictionary per service
  blocks-notail, blocks-notrace: the same without span_tail, or without block_traces
  blocks-runs    the same with the trace index written in sorted runs of
                 --run-entries (trace_runs) instead of block_traces
  blocks         a block store: per source, blocks of --block spans in time
                 order, by column and zstd-compressed (one row each), plus a
                 block-level index (trace id prefix -> block) and one row per
                 (block, operation) with its time range and longest duration;
                 the spans of an open block are kept durable in span_tail (one
                 zstd row per request and source, deleted when the block is
                 sealed), as a server that answers only after commit must

Each variant: transactions of --txn rows (the server's group commits are of
that order at 30-50k spans/s), journal_mode=WAL, synchronous as --sync,
cache_size=-16384. Printed: rows/s, CPU seconds (this process), bytes written
to disk (/proc/self/io write_bytes, WAL and checkpoints included), and the
final file's bytes per span. Times are rough on a shared machine; run each
variant more than once before believing a difference under 20%.

  python3 bench/corpus/insert_experiments.py DB [--variants table,today,...] [--spans N]
"""
import argparse
import collections
import os
import sqlite3
import sys
import tempfile
import time

import zstandard as zstd

SCHEMA = """
CREATE TABLE spans (trace_id BLOB NOT NULL, span_id BLOB NOT NULL, parent_id BLOB, source_id INTEGER NOT NULL,
  op_id INTEGER NOT NULL, scope_id INTEGER NOT NULL, start_ns INTEGER NOT NULL, dur_ns INTEGER NOT NULL,
  kind INTEGER NOT NULL, status INTEGER NOT NULL, body BLOB);
"""
INDEXES = {
    "trace": "CREATE UNIQUE INDEX spans_by_trace ON spans (trace_id, span_id)",
    "source": "CREATE INDEX spans_by_source ON spans (source_id, start_ns)",
    "op": "CREATE INDEX spans_by_op ON spans (op_id, start_ns, dur_ns)",
}
BLOCK_SCHEMA = """
CREATE TABLE span_blocks (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, first_ns INTEGER NOT NULL,
  last_ns INTEGER NOT NULL, n INTEGER NOT NULL, dict_id INTEGER, data BLOB NOT NULL);
CREATE INDEX span_blocks_by_source ON span_blocks (source_id, first_ns);
CREATE TABLE block_traces (trace_key INTEGER NOT NULL, block_id INTEGER NOT NULL,
  PRIMARY KEY (trace_key, block_id)) WITHOUT ROWID;
CREATE TABLE span_tail (id INTEGER PRIMARY KEY, source_id INTEGER NOT NULL, data BLOB NOT NULL);
CREATE TABLE trace_runs (run_id INTEGER NOT NULL, trace_key INTEGER NOT NULL, block_id INTEGER NOT NULL,
  PRIMARY KEY (run_id, trace_key, block_id)) WITHOUT ROWID;
CREATE TABLE block_ops (op_id INTEGER NOT NULL, first_ns INTEGER NOT NULL, block_id INTEGER NOT NULL,
  last_ns INTEGER NOT NULL, max_dur_ns INTEGER NOT NULL, n INTEGER NOT NULL,
  PRIMARY KEY (op_id, first_ns, block_id)) WITHOUT ROWID;
"""


def write_bytes():
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("write_bytes:"):
                return int(line.split()[1])
    return 0


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def open_db(path, sync):
    con = sqlite3.connect(path, isolation_level=None)
    for p in ("journal_mode=WAL", f"synchronous={sync}", "cache_size=-16384", "temp_store=MEMORY"):
        con.execute(f"PRAGMA {p}")
    return con


def encode_block(blk):
    """The block's rows by column (as store_experiments.py's blockrow)."""
    base = min(r[7] for r in blk)
    blk = sorted(blk, key=lambda r: (r[1], r[7]))
    index = {r[2]: i for i, r in enumerate(blk)}
    cols = [bytearray() for _ in range(6)]
    prev = None
    for i, r in enumerate(blk):
        if r[1] != prev:
            cols[0] += uvarint(i) + r[1]
            prev = r[1]
        cols[1] += r[2]
        if r[3] is None:
            cols[2] += b"\x00"
        elif r[3] in index:
            cols[2] += uvarint(1 + index[r[3]])
        else:
            cols[2] += b"\x01" + r[3]
        cols[3] += uvarint(r[7] - base) + uvarint(r[8])
        cols[4] += uvarint(r[5]) + uvarint(r[6]) + bytes([r[9], r[10]])
        b = r[11] or b""
        cols[5] += uvarint(len(b)) + b
    return b"".join(uvarint(len(c)) + bytes(c) for c in cols)


def run(variant, rows, dicts, sync, txn, block_size, run_entries):
    d = tempfile.mkdtemp(prefix="mw-insert-", dir="/tmp")
    path = os.path.join(d, "v.db")
    con = open_db(path, sync)
    w0, c0, t0 = write_bytes(), time.process_time(), time.time()
    if variant.startswith("blocks"):
        no_tail, no_trace, runs = "notail" in variant, "notrace" in variant, "runs" in variant
        run_buf, run_id = set(), 0

        def put_run():
            # the entries gathered since the last run, sorted: appended at
            # the right edge of trace_runs
            nonlocal run_id
            run_id += 1
            con.executemany("INSERT INTO trace_runs VALUES (?, ?, ?)", [(run_id, k, b) for k, b in sorted(run_buf)])
            run_buf.clear()
        con.executescript(BLOCK_SCHEMA)
        comp = {}
        pending = collections.defaultdict(list)
        n_in_txn = 0
        tail = collections.defaultdict(list)  # source -> span_tail ids of its open block
        tailc = zstd.ZstdCompressor(level=1)
        con.execute("BEGIN")
        run_src, run = None, []

        def put_tail():
            # the spans of one request (one batch = one source) as one row,
            # so that they are durable when the request is answered
            data = tailc.compress(b"".join(uvarint(len(x[11] or b"")) + (x[11] or b"") +
                                           x[1] + x[2] + (x[3] or b"") for x in run))
            tail[run_src].append(con.execute("INSERT INTO span_tail (source_id, data) VALUES (?, ?)",
                                             (run_src, data)).lastrowid)

        for r in rows:
            if r[4] != run_src and run and not no_tail:
                put_tail()
                run = []
            run_src = r[4]
            run.append(r)
            p = pending[r[4]]
            p.append(r)
            n_in_txn += 1
            if len(p) == block_size:
                c = comp.get(r[12])
                if c is None:
                    c = comp[r[12]] = zstd.ZstdCompressor(level=3, dict_data=dicts.get(r[12]))
                data = c.compress(encode_block(p))
                first, last = min(x[7] for x in p), max(x[7] + x[8] for x in p)
                cur = con.execute("INSERT INTO span_blocks (source_id, first_ns, last_ns, n, dict_id, data) "
                                  "VALUES (?, ?, ?, ?, ?, ?)", (r[4], first, last, len(p), 1, data))
                bid = cur.lastrowid
                if runs:
                    run_buf.update((int.from_bytes(x[1][:8], "big") >> 1, bid) for x in p)
                    if len(run_buf) >= run_entries:
                        put_run()
                elif not no_trace:
                    con.executemany("INSERT OR IGNORE INTO block_traces VALUES (?, ?)",
                                    {(int.from_bytes(x[1][:8], "big") >> 1, bid) for x in p})
                ops = {}
                for x in p:
                    o = ops.get(x[5])
                    if o is None:
                        ops[x[5]] = [x[7], x[7], x[8], 1]
                    else:
                        o[0] = min(o[0], x[7]); o[1] = max(o[1], x[7]); o[2] = max(o[2], x[8]); o[3] += 1
                con.executemany("INSERT INTO block_ops VALUES (?, ?, ?, ?, ?, ?)",
                                [(op, v[0], bid, v[1], v[2], v[3]) for op, v in ops.items()])
                p.clear()
                ids = tail.pop(r[4], [])
                con.executemany("DELETE FROM span_tail WHERE id = ?", [(i,) for i in ids])
            if n_in_txn >= txn:
                con.execute("COMMIT")
                con.execute("BEGIN")
                n_in_txn = 0
        con.execute("COMMIT")
        # what is left in the open blocks stays in memory here; the server
        # would keep it in a small row-form table until its block fills
        left = sum(len(p) for p in pending.values())
    else:
        con.executescript(SCHEMA)
        parts = ["trace", "source", "op"] if variant.startswith("today") else \
            {"table": [], "+trace": ["trace"], "+source": ["trace", "source"], "+op": ["trace", "source", "op"]}[variant]
        for k in parts:
            con.execute(INDEXES[k])
        comp = {}
        ins = ("INSERT OR IGNORE INTO spans (trace_id, span_id, parent_id, source_id, op_id, scope_id, start_ns, "
               "dur_ns, kind, status, body) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")
        for i in range(0, len(rows), txn):
            chunk = rows[i:i + txn]
            if variant == "today-zdict":
                out = []
                for r in chunk:
                    c = comp.get(r[12])
                    if c is None:
                        c = comp[r[12]] = zstd.ZstdCompressor(level=3, dict_data=dicts.get(r[12]),
                                                              write_content_size=False, write_checksum=False,
                                                              write_dict_id=False)
                    out.append(r[1:11] + (c.compress(r[11] or b""),))
                chunk = out
            else:
                chunk = [r[1:12] for r in chunk]
            con.execute("BEGIN")
            con.executemany(ins, chunk)
            con.execute("COMMIT")
        left = 0
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    split = ", ".join(f"{name} {size / len(rows):.1f}" for name, size in con.execute(
        "SELECT name, sum(pgsize) FROM dbstat GROUP BY name HAVING sum(pgsize) > 65536 ORDER BY 2 DESC"))
    con.close()
    wall, cpu, wb = time.time() - t0, time.process_time() - c0, write_bytes() - w0
    size = os.path.getsize(path)
    n = len(rows)
    print(f"insert.{variant}.rows_per_s {n / wall:.0f}  # cpu {cpu:.1f} s ({cpu * 1e6 / n:.1f} us/row), "
          f"written {wb / n:.0f} B/row, file {size / n:.1f} B/row" + (f", {left} rows left in open blocks" if left else ""),
          flush=True)
    print(f"insert.{variant}.split {split}", flush=True)
    os.remove(path)
    for ext in ("-wal", "-shm"):
        if os.path.exists(path + ext):
            os.remove(path + ext)
    os.rmdir(d)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--variants", default="table,+trace,+source,+op,today,today-zdict,blocks")
    ap.add_argument("--spans", type=int, default=0)
    ap.add_argument("--sync", default="FULL")
    ap.add_argument("--txn", type=int, default=3000)
    ap.add_argument("--block", type=int, default=4000)
    ap.add_argument("--run-entries", type=int, default=100000, help="trace entries a sorted run holds (blocks-runs)")
    a = ap.parse_args()
    con = sqlite3.connect(f"file:{a.db}?mode=ro", uri=True)
    q = ("SELECT s.rowid, s.trace_id, s.span_id, s.parent_id, s.source_id, s.op_id, s.scope_id, s.start_ns, s.dur_ns, "
         "s.kind, s.status, s.body, src.service FROM spans s JOIN sources src ON src.id = s.source_id ORDER BY s.rowid")
    if a.spans:
        q += f" LIMIT {a.spans}"
    rows = con.execute(q).fetchall()
    dicts = {}
    by = collections.defaultdict(list)
    for r in rows:
        if len(by[r[12]]) < 20000:
            by[r[12]].append(r[11] or b"")
    for name, b in by.items():
        if len(b) >= 2000:
            dicts[name] = zstd.train_dictionary(64 * 1024, b, level=3, threads=1)
    print(f"spans {len(rows)}", flush=True)
    for v in a.variants.split(","):
        run(v, rows, dicts, a.sync, a.txn, a.block, a.run_entries)


if __name__ == "__main__":
    sys.exit(main())
