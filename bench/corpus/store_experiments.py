#!/usr/bin/env python3
"""Offline storage experiments on a meanwhiled database (issue 17 groundwork).

Reads the spans of DB (as bench-corpus-send left it) and prints, one
"name value" line per figure, what each way of storing them would cost:

  split       where today's bytes go (dbstat: each table and index)
  row         the row without its body: ids, times, small columns, record header
  plain       zstd of each body alone, no dictionary (levels 1, 3, 9)
  dict        zstd of each body with a dictionary trained per service on the
              first --train bodies of that service (16/64/112 KB), measured on
              the later ones in --slices slices of arrival order: how the ratio
              decays as the data drifts (the corpus deploys new versions
              halfway); and a dictionary retrained after the deploy
  block       bodies of one source in time order, compressed together in blocks
              of 1k/4k/16k (levels 3 and 9; with and without a dictionary)
  blockrow    whole rows in blocks, laid out by column (ids, delta times, small
              ints, bodies), which is what a block store would keep
  decode      microseconds to decompress one block of 1k/4k/16k rows
  encode      (only when asked) CPU per span of building 1k blocks: grouping,
              column layout (Python), zstd -3

Needs the python package zstandard. Byte figures are exact for the given
database; the seconds printed are rough (a shared machine).

  python3 bench/corpus/store_experiments.py DB [--only split,row,plain,dict,block,blockrow,decode]
"""
import argparse
import collections
import sqlite3
import struct
import sys
import time

import zstandard as zstd


def fig(name, value, note=""):
    print(f"{name} {value}" + (f"  # {note}" if note else ""), flush=True)


def varint_len(v):
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag(v):
    return (v << 1) ^ (v >> 63)


def load(db):
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    rows = con.execute(
        "SELECT s.rowid, s.trace_id, s.span_id, s.parent_id, s.source_id, s.op_id, s.scope_id, s.start_ns, "
        "s.dur_ns, s.kind, s.status, s.body, src.service FROM spans s JOIN sources src ON src.id = s.source_id "
        "ORDER BY s.rowid"
    ).fetchall()
    return con, rows


def split(con, n):
    total = 0
    for name, size in con.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC"):
        total += size
        if size > 64 * 1024:
            fig(f"split.{name}_bytes_per_span", f"{size / n:.1f}")
    fig("split.all_bytes_per_span", f"{total / n:.1f}")


def row(rows):
    n = len(rows)
    body = sum(len(r[11] or b"") for r in rows)
    cols = 0
    for r in rows:
        # SQLite record: header (one varint per column + its own length) and
        # the values; ints as 0-8 bytes by size
        vals = [r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9], r[10]]
        for v in vals:
            if v is None:
                continue
            if isinstance(v, bytes):
                cols += len(v)
            elif v in (0, 1):
                cols += 0
            else:
                a = abs(v)
                cols += 1 if a < 128 else 2 if a < 32768 else 3 if a < 1 << 23 else 4 if a < 1 << 31 else 6 if a < 1 << 47 else 8
        cols += 12  # record header: 11 serial types + its length
    fig("row.body_mean", f"{body / n:.1f}")
    fig("row.columns_and_header_mean", f"{cols / n:.1f}", "ids 32 (24 for a root), times, small ints, header")


def plain(rows):
    bodies = [r[11] or b"" for r in rows]
    raw = sum(map(len, bodies))
    for level in (1, 3, 9):
        c = zstd.ZstdCompressor(level=level, write_content_size=False, write_checksum=False, write_dict_id=False)
        t = time.time()
        z = sum(len(c.compress(b)) for b in bodies)
        fig(f"plain.zstd{level}_body_mean", f"{z / len(bodies):.1f}", f"raw {raw / len(bodies):.1f}, {time.time() - t:.1f} s")


def by_service(rows):
    svc = collections.defaultdict(list)
    for r in rows:
        svc[r[12]].append(r[11] or b"")
    return svc


def train_count(n, n_train):
    """The first n_train bodies of a service, or its first quarter when it has
    fewer than 2 * n_train (a quiet service must get a dictionary too)."""
    return n_train if n >= 2 * n_train else max(n // 4, 1)


def train(samples, size):
    return zstd.train_dictionary(size, samples, level=3, threads=1)


def dict_exp(rows, n_train, slices):
    svc = by_service(rows)
    n = len(rows)
    deploy = n // 2
    # arrival position of each body, to split "later" data into slices
    pos = collections.defaultdict(list)
    for i, r in enumerate(rows):
        pos[r[12]].append(i)
    for size_kb in (16, 64, 112):
        dict_bytes = 0
        per_slice = [[0, 0] for _ in range(slices)]  # compressed, count
        t = time.time()
        for name, bodies in svc.items():
            k_train = train_count(len(bodies), n_train)
            d = train(bodies[:k_train], size_kb * 1024)
            dict_bytes += len(d.as_bytes())
            c = zstd.ZstdCompressor(level=3, dict_data=d, write_content_size=False, write_checksum=False,
                                    write_dict_id=False)
            for b, p in zip(bodies[k_train:], pos[name][k_train:]):
                k = min(slices - 1, p * slices // n)
                per_slice[k][0] += len(c.compress(b))
                per_slice[k][1] += 1
        total_z = sum(s[0] for s in per_slice)
        total_n = sum(s[1] for s in per_slice)
        fig(f"dict.{size_kb}k.body_mean", f"{total_z / total_n:.1f}",
            f"dicts {dict_bytes} B in all, {time.time() - t:.1f} s")
        for k, (z, c) in enumerate(per_slice):
            if c:
                fig(f"dict.{size_kb}k.slice{k}_body_mean", f"{z / c:.1f}",
                    f"arrival {k * 100 // slices}-{(k + 1) * 100 // slices}%, deploy at 50%")
    # retrained after the deploy on the first n_train bodies of the new versions
    per = [0, 0]
    for name, bodies in svc.items():
        idx = [j for j, p in enumerate(pos[name]) if p >= deploy]
        later = [bodies[j] for j in idx]
        k_train = train_count(len(later), n_train)
        d = train(later[:k_train], 64 * 1024)
        c = zstd.ZstdCompressor(level=3, dict_data=d, write_content_size=False, write_checksum=False,
                                write_dict_id=False)
        for b in later[k_train:]:
            per[0] += len(c.compress(b))
            per[1] += 1
    fig("dict.64k.retrained_after_deploy_body_mean", f"{per[0] / per[1]:.1f}")
    # one dictionary for all services
    all_bodies = [r[11] or b"" for r in rows]
    d = train(all_bodies[: n_train * 4], 112 * 1024)
    c = zstd.ZstdCompressor(level=3, dict_data=d, write_content_size=False, write_checksum=False, write_dict_id=False)
    z = sum(len(c.compress(b)) for b in all_bodies[n_train * 4:])
    fig("dict.global112k.body_mean", f"{z / (len(all_bodies) - n_train * 4):.1f}", f"trained on the first {n_train * 4}")


def blocks_of(rows, size):
    """Rows of each source in time order, cut in blocks of size."""
    src = collections.defaultdict(list)
    for r in rows:
        src[r[4]].append(r)
    for rs in src.values():
        rs.sort(key=lambda r: (r[7], r[0]))
        for i in range(0, len(rs), size):
            yield rs[i:i + size]


def block(rows, n_train):
    n = len(rows)
    svc = by_service(rows)
    dicts = {name: train(b[:train_count(len(b), n_train)], 112 * 1024) for name, b in svc.items()}
    for size in (1000, 4000, 16000):
        for level in (3, 9):
            c = zstd.ZstdCompressor(level=level, write_content_size=False, write_checksum=False)
            t = time.time()
            z = nb = 0
            for blk in blocks_of(rows, size):
                data = b"".join(uvarint(len(r[11] or b"")) + (r[11] or b"") for r in blk)
                z += len(c.compress(data))
                nb += 1
            fig(f"block.{size}.zstd{level}.body_mean", f"{z / n:.1f}", f"{nb} blocks, {time.time() - t:.1f} s")
        z = 0
        for blk in blocks_of(rows, size):
            d = dicts.get(blk[0][12])
            c = zstd.ZstdCompressor(level=3, dict_data=d, write_content_size=False, write_checksum=False) if d else \
                zstd.ZstdCompressor(level=3, write_content_size=False, write_checksum=False)
            data = b"".join(uvarint(len(r[11] or b"")) + (r[11] or b"") for r in blk)
            z += len(c.compress(data))
        fig(f"block.{size}.zstd3dict112k.body_mean", f"{z / n:.1f}")


def blockrow(rows):
    """Whole rows of a block, by column: how small a block store's data is.

    Spans are ordered by (trace, start) inside a block so that a trace id is
    written once per block and a parent is found by its index in the block;
    start times are deltas from the block's first, the rest varints."""
    n = len(rows)
    for size in (1000, 4000, 16000):
        for level in (3, 9):
            c = zstd.ZstdCompressor(level=level, write_content_size=False, write_checksum=False)
            parts = collections.Counter()
            for blk in blocks_of(rows, size):
                base = min(r[7] for r in blk)
                blk = sorted(blk, key=lambda r: (r[1], r[7]))
                index = {r[2]: i for i, r in enumerate(blk)}
                traces, ids, parents, times, small, bodies = [], [], [], [], [], []
                prev_trace = None
                for i, r in enumerate(blk):
                    if r[1] != prev_trace:
                        traces.append(uvarint(i) + r[1])
                        prev_trace = r[1]
                    ids.append(r[2])
                    if r[3] is None:
                        parents.append(b"\x00")
                    elif r[3] in index:
                        parents.append(uvarint(1 + index[r[3]]))  # in the block
                    else:
                        parents.append(b"\x01" + r[3])  # elsewhere (another source)
                    times.append(uvarint(r[7] - base) + uvarint(r[8]))
                    small.append(uvarint(r[5]) + uvarint(r[6]) + bytes([r[9], r[10]]))
                    bodies.append(uvarint(len(r[11] or b"")) + (r[11] or b""))
                for name, col in (("trace_ids", traces), ("span_ids", ids), ("parents", parents),
                                  ("times", times), ("small", small), ("bodies", bodies)):
                    parts[name] += len(c.compress(b"".join(col)))
            total = sum(parts.values())
            detail = ", ".join(f"{k} {v / n:.1f}" for k, v in parts.items())
            fig(f"blockrow.{size}.zstd{level}.row_mean", f"{total / n:.1f}", detail)


def decode(rows):
    """What reading one block costs: zstd-3 blocks of whole rows (bodies
    framed as in `block`), decompressed one by one; microseconds per block and
    per span (rough: one shared core)."""
    n = len(rows)
    for size in (1000, 4000, 16000):
        c = zstd.ZstdCompressor(level=3)
        frames = [c.compress(b"".join(r[1] + r[2] + uvarint(len(r[11] or b"")) + (r[11] or b"") for r in blk))
                  for blk in blocks_of(rows, size)]
        d = zstd.ZstdDecompressor()
        t = time.perf_counter()
        raw = sum(len(d.decompress(f)) for f in frames)
        dt = time.perf_counter() - t
        fig(f"decode.{size}.us_per_block", f"{dt * 1e6 / len(frames):.0f}",
            f"{raw / len(frames) / 1024:.0f} KiB raw a block, {dt * 1e9 / n:.0f} ns a span")


def encode(rows):
    """CPU of building 1k-span blocks in Python: grouping by source and time,
    the column layout (insert_experiments.encode_block), zstd -3. The Python
    parts stand for work that is far cheaper in C; zstd is the real cost."""
    import insert_experiments
    n = len(rows)
    t0 = time.process_time()
    blocks = list(blocks_of(rows, 1000))
    t1 = time.process_time()
    encs = [insert_experiments.encode_block(b) for b in blocks]
    t2 = time.process_time()
    c = zstd.ZstdCompressor(level=3)
    for e in encs:
        c.compress(e)
    t3 = time.process_time()
    fig("encode.group_us_per_span", f"{(t1 - t0) * 1e6 / n:.2f}")
    fig("encode.columns_python_us_per_span", f"{(t2 - t1) * 1e6 / n:.2f}")
    fig("encode.zstd3_us_per_span", f"{(t3 - t2) * 1e6 / n:.2f}", f"{sum(map(len, encs)) / n:.0f} raw bytes a span")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("db")
    ap.add_argument("--only", default="split,row,plain,dict,block,blockrow,decode")
    ap.add_argument("--train", type=int, default=20000, help="bodies a dictionary is trained on (per service)")
    ap.add_argument("--slices", type=int, default=5)
    a = ap.parse_args()
    only = set(a.only.split(","))
    t = time.time()
    con, rows = load(a.db)
    fig("spans", len(rows), f"loaded in {time.time() - t:.1f} s")
    if "split" in only:
        split(con, len(rows))
    if "row" in only:
        row(rows)
    if "plain" in only:
        plain(rows)
    if "dict" in only:
        dict_exp(rows, a.train, a.slices)
    if "block" in only:
        block(rows, a.train)
    if "blockrow" in only:
        blockrow(rows)
    if "decode" in only:
        decode(rows)
    if "encode" in only:
        encode(rows)


if __name__ == "__main__":
    sys.exit(main())
