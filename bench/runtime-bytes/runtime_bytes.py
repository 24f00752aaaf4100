#!/usr/bin/env python3
"""Where a busy source's runtime data goes on disk, per day (issue 17 point 5).

Reads a meanwhiled database (read-only; a WAL that has not been checkpointed is
seen through the connection) that holds ONE source's runtime data, collected at
the agent's defaults over some minutes (bench/runtime-bytes/run.sh makes one),
and prints one "name value  # note" line per figure:

  window    the span of time the runtime rows cover (the first --skip seconds
            of it left out of the per-hour figures only when asked)
  split     each table with its indexes (dbstat: bytes of the pages in use):
            rows, rows per hour, bytes per row (table + its indexes), bytes
            per day extrapolated linearly, share of the total
  kinds     snapshots by (kind, format): count per hour, mean stored payload,
            mean raw body, meta; the snapshots table and the rows they bring
            (goroutine_groups, profile_samples) apportioned to each kind by
            the bytes of their records
  stacks    stacks are shared, so they do not grow linearly: new stacks per
            hour in each half and quarter of the window, which kinds bring them,
            and what a frames table (stacks as frame ids) or zstd would make of them
  compress  offline: what zstd does to the largest parts, as a block store
            would keep them (payloads decompressed and gunzipped, then
            compressed alone, in blocks of a minute, with a dictionary;
            goroutine groups and profile samples as rows in blocks; gc cycles
            and sched samples by column, delta-encoded, zstd -3 per 1,024 rows);
            and how many goroutine profiles repeat the previous one exactly
  cuts      the savings per day of the cuts docs/STORAGE-NOTES.md §9 proposes:
            payloads in per-minute zstd blocks (the row keeps its small columns),
            gc cycles by column

Bytes per day are the window's bytes times 86,400 / its seconds: right for
rows that come at a steady rate (gc cycles, sched samples, snapshots and their
rows, minutes), an over-estimate for stacks (most are inserted once, early).

  python3 bench/runtime-bytes/runtime_bytes.py DB [--only split,kinds,stacks,compress,cuts]
  python3 bench/runtime-bytes/runtime_bytes.py --selftest     # a synthetic database of known rows

Needs the Python package zstandard for compress and cuts (the others without).
"""

import argparse
import collections
import gzip
import os
import sqlite3
import struct
import sys
import tempfile

DAY = 86400.0

RUNTIME_TABLES = [
    "snapshots", "goroutine_groups", "profile_samples", "stacks", "gc_cycles", "sched_samples",
    "runtime_minutes", "runtime_events", "exectraces", "exectrace_goroutines", "exectrace_stacks",
    "exectrace_span_index", "source_links",
]


def fig(name, value, note=""):
    print(f"{name} {value}" + (f"  # {note}" if note else ""), flush=True)


def human(b):
    for unit in ("B", "KB", "MB", "GB", "TB"):
        if abs(b) < 1000 or unit == "TB":
            return f"{b:.1f} {unit}" if unit != "B" else f"{b:.0f} B"
        b /= 1000.0
    return f"{b:.1f} TB"


def connect(db):
    if not os.path.exists(db):
        sys.exit(f"runtime_bytes: no such database: {db}")
    return sqlite3.connect(f"file:{db}?mode=ro", uri=True)


def has_table(con, name):
    return con.execute("SELECT 1 FROM sqlite_schema WHERE type='table' AND name=?", (name,)).fetchone() is not None


# ------------------------------------------------------------------ window


def window(con, skip_s):
    """(t0, t1) in ns: from the first to the last runtime row of any kind."""
    lo, hi = None, None
    for sql in ("SELECT min(at_ns), max(at_ns + duration_ns) FROM snapshots",
                "SELECT min(start_ns), max(start_ns) FROM gc_cycles",
                "SELECT min(at_ns), max(at_ns) FROM sched_samples"):
        a, b = con.execute(sql).fetchone()
        if a is None:
            continue
        lo = a if lo is None else min(lo, a)
        hi = b if hi is None else max(hi, b)
    if lo is None or hi <= lo:
        sys.exit("runtime_bytes: the database holds no runtime rows over a span of time")
    n_src = con.execute("SELECT count(DISTINCT source_id) FROM snapshots").fetchone()[0]
    fig("window.seconds", f"{(hi - lo) / 1e9:.1f}", "first to last runtime row")
    fig("window.sources", n_src, "the figures are per day of this many sources together")
    return lo + int(skip_s * 1e9), hi


def count_in(con, table, col, t0, t1):
    return con.execute(f"SELECT count(*) FROM {table} WHERE {col} >= ? AND {col} <= ?", (t0, t1)).fetchone()[0]


# ------------------------------------------------------------------ split


def table_bytes(con):
    """{table: (table_bytes, index_bytes, [index names])} from dbstat."""
    owner = {}
    for name, tbl, typ in con.execute("SELECT name, tbl_name, type FROM sqlite_schema WHERE type IN ('table','index')"):
        owner[name] = tbl
    pages = collections.Counter()
    unused = collections.Counter()
    for name, size, free in con.execute("SELECT name, sum(pgsize), sum(unused) FROM dbstat GROUP BY name"):
        pages[name] = size
        unused[owner.get(name, name)] += free
    out = {}
    for name, size in pages.items():
        tbl = owner.get(name, name)
        t, i, names = out.get(tbl, (0, 0, []))
        if name == tbl:
            t += size
        else:
            i += size
            names.append(name)
        out[tbl] = (t, i, names)
    table_bytes.unused = unused
    return out


def split(con, t0, t1):
    secs = (t1 - t0) / 1e9
    tb = table_bytes(con)
    total = sum(t + i for t, i, _ in tb.values())
    psize = con.execute("PRAGMA page_size").fetchone()[0]
    fig("split.page_size", psize)
    fig("split.all_bytes", total, human(total))
    fig("split.all_bytes_per_day", f"{total * DAY / secs:.0f}", human(total * DAY / secs) + " (linear)")
    rows_of = {}
    for name in sorted(tb, key=lambda n: -(tb[n][0] + tb[n][1])):
        t, i, idx = tb[name]
        if not has_table(con, name):
            continue
        n = con.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
        rows_of[name] = n
        if t + i <= psize * (1 + len(idx)) and n == 0:
            continue  # an empty table: its root pages
        b = t + i
        fig(f"split.{name}.rows", n)
        fig(f"split.{name}.rows_per_hour", f"{n * 3600 / secs:.0f}")
        fig(f"split.{name}.bytes", b, f"table {t}, indexes {i}" + (f" ({', '.join(sorted(idx))})" if idx else ""))
        if n:
            fig(f"split.{name}.bytes_per_row", f"{b / n:.1f}", f"table alone {t / n:.1f}")
        fig(f"split.{name}.bytes_per_day", f"{b * DAY / secs:.0f}", human(b * DAY / secs))
        fig(f"split.{name}.unused_pct", f"{100.0 * table_bytes.unused[name] / b:.1f}",
            "of its pages' bytes unused (dbstat: a record too big to share a page wastes the rest)")
        fig(f"split.{name}.share_pct", f"{100.0 * b / total:.1f}")
    return tb, rows_of, secs


# ------------------------------------------------------------------ kinds


def rec_len(*vals):
    """The bytes of a SQLite record holding vals (header + values), near enough."""
    n = 1
    for v in vals:
        n += 1
        if v is None or v in (0, 1) and isinstance(v, int):
            continue
        if isinstance(v, (bytes, str)):
            n += len(v) if isinstance(v, bytes) else len(v.encode())
            continue
        if isinstance(v, float):
            n += 8
            continue
        a = abs(v)
        n += 1 if a < 128 else 2 if a < 32768 else 3 if a < 1 << 23 else 4 if a < 1 << 31 else 6 if a < 1 << 47 else 8
    return n + 4  # cell header: payload length and rowid varints


def kinds(con, tb, secs):
    snap_kind = {}
    agg = collections.defaultdict(lambda: [0, 0, 0, 0, 0, 0])  # n, payload, raw, meta, rec, total
    for sid, kind, fmt, at, dur, total, meta, raw, plen in con.execute(
            "SELECT id, kind, format, at_ns, duration_ns, total, meta, raw_bytes, length(payload) FROM snapshots"):
        k = f"{kind}_{fmt.replace('=', '')}"
        snap_kind[sid] = k
        a = agg[k]
        a[0] += 1
        a[1] += plen
        a[2] += raw
        a[3] += len(meta)
        a[4] += rec_len(sid, 1, kind, fmt, at, dur, total, meta, raw) + plen
        a[5] += total
    rec_all = sum(a[4] for a in agg.values()) or 1
    snap_b = tb.get("snapshots", (0, 0, []))
    snap_bytes = snap_b[0] + snap_b[1]
    groups = collections.defaultdict(lambda: [0, 0])
    if has_table(con, "goroutine_groups"):
        for row in con.execute("SELECT snapshot_id, stack_id, state, wait_reason, count, wait_min_ns, wait_max_ns, "
                               "locked, span_id, trace_id, labels, goids FROM goroutine_groups"):
            g = groups[snap_kind.get(row[0], "?")]
            g[0] += 1
            g[1] += rec_len(*row)
    samples = collections.defaultdict(lambda: [0, 0])
    if has_table(con, "profile_samples"):
        for row in con.execute("SELECT snapshot_id, stack_id, span_id, trace_id, labels, vals FROM profile_samples"):
            s = samples[snap_kind.get(row[0], "?")]
            s[0] += 1
            s[1] += rec_len(*row)

    def share(name, part, whole):
        t, i, _ = tb.get(name, (0, 0, []))
        return (t + i) * part / whole if whole else 0

    g_all = sum(g[1] for g in groups.values())
    s_all = sum(s[1] for s in samples.values())
    per_kind_day = {}
    for k in sorted(agg, key=lambda k: -agg[k][4]):
        n, pl, raw, meta, rec, tot = agg[k]
        fig(f"kinds.{k}.per_hour", f"{n * 3600 / secs:.1f}", f"{n} snapshots, {tot / n:.0f} goroutines or samples each")
        fig(f"kinds.{k}.payload_mean", f"{pl / n:.0f}", f"raw body {raw / n:.0f}, meta {meta / n:.0f}")
        b_snap = snap_bytes * rec / rec_all
        b_grp = share("goroutine_groups", groups[k][1], g_all)
        b_smp = share("profile_samples", samples[k][1], s_all)
        if groups[k][0]:
            fig(f"kinds.{k}.groups_per_snapshot", f"{groups[k][0] / n:.1f}", f"record {groups[k][1] / groups[k][0]:.0f} B")
        if samples[k][0]:
            fig(f"kinds.{k}.samples_per_snapshot", f"{samples[k][0] / n:.1f}",
                f"record {samples[k][1] / samples[k][0]:.0f} B")
        b = b_snap + b_grp + b_smp
        per_kind_day[k] = b * DAY / secs
        fig(f"kinds.{k}.bytes_per_snapshot", f"{b / n:.0f}",
            f"snapshots row {b_snap / n:.0f}, groups {b_grp / n:.0f}, samples {b_smp / n:.0f} (indexes included)")
        fig(f"kinds.{k}.bytes_per_day", f"{b * DAY / secs:.0f}", human(b * DAY / secs))
    return snap_kind, per_kind_day


# ------------------------------------------------------------------ stacks


def stacks(con, t0, t1, tb, secs):
    first = con.execute(
        "SELECT g.stack_id, min(s.at_ns) FROM (SELECT stack_id, snapshot_id FROM goroutine_groups "
        "UNION ALL SELECT stack_id, snapshot_id FROM profile_samples) g JOIN snapshots s ON s.id = g.snapshot_id "
        "GROUP BY g.stack_id").fetchall()
    mid = (t0 + t1) // 2
    h = (t1 - t0) / 2 / 3.6e12
    a = sum(1 for _, t in first if t < mid)
    b = len(first) - a
    fig("stacks.new_per_hour_first_half", f"{a / h:.0f}")
    fig("stacks.new_per_hour_second_half", f"{b / h:.0f}", "what stays once the service has shown its stacks")
    q = (t1 - t0) / 4
    for i in range(4):
        lo, hi = t0 + i * q, t0 + (i + 1) * q
        n = sum(1 for _, t in first if lo <= t < hi or (i == 3 and t == t1))
        fig(f"stacks.new_per_hour_quarter{i + 1}", f"{n / (q / 3.6e12):.0f}")
    by_kind = con.execute(
        "SELECT s.kind, count(DISTINCT g.stack_id) FROM (SELECT stack_id, snapshot_id FROM goroutine_groups "
        "UNION ALL SELECT stack_id, snapshot_id FROM profile_samples) g JOIN snapshots s ON s.id = g.snapshot_id "
        "GROUP BY 1").fetchall()
    for k, n in by_kind:
        fig(f"stacks.used_by_{k}", n, "distinct stacks its snapshots name")
    frames = [f for (f,) in con.execute("SELECT frames FROM stacks ORDER BY id")]
    n = len(frames) or 1
    fig("stacks.frames_text_mean", f"{sum(len(f) for f in frames) / n:.0f}", f"{len(frames)} stacks")
    lines = [f.split("\n") for f in frames]
    uniq = {}
    for ls in lines:
        for l in ls:
            uniq.setdefault(l, len(uniq))
    depth = sum(len(ls) for ls in lines) / n
    ids = sum(sum(len(uvarint(uniq[l])) for l in ls) for ls in lines) / n
    fig("stacks.frames_per_stack", f"{depth:.1f}", f"{len(uniq)} distinct frame lines in all")
    fig("stacks.as_frame_ids_mean", f"{ids:.1f}",
        f"a stack as varint ids of a frames table, + {sum(len(l) for l in uniq) / n:.0f} B of frame text per stack")
    try:
        import zstandard as zstd
        z3 = zstd.ZstdCompressor(level=3)
        zb = sum(len(z3.compress("\n".join(frames[i:i + 256]).encode())) for i in range(0, len(frames), 256))
        fig("stacks.block256_zstd3_mean", f"{zb / n:.0f}", "frame text of 256 stacks (by id) per zstd -3 frame")
    except ImportError:
        pass
    return b / h


# ------------------------------------------------------------------ compress


def body_of(zd, payload):
    """The body as received, and as protobuf when it was gzip'd pprof."""
    raw = zd.decompress(payload, max_output_size=1 << 30) if payload[:4] == b"\x28\xb5\x2f\xfd" else payload
    pb = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
    return raw, pb


def uvarint(v):
    out = bytearray()
    while v >= 0x80:
        out.append((v & 0x7F) | 0x80)
        v >>= 7
    out.append(v)
    return bytes(out)


def zigzag(v):
    return (v << 1) ^ (v >> 63)


def columnar(rows, zc, block=1024):
    """zstd -3 of rows laid out by column, each column delta + zigzag varints, per block."""
    total = 0
    for i in range(0, len(rows), block):
        part = rows[i:i + block]
        buf = bytearray()
        for c in range(len(part[0])):
            prev = 0
            for r in part:
                v = r[c] if r[c] is not None else 0
                buf += uvarint(zigzag(v - prev) & 0xFFFFFFFFFFFFFFFF)
                prev = v
        total += len(zc.compress(bytes(buf)))
    return total


def compress(con, snap_kind, secs):
    import zstandard as zstd
    zd = zstd.ZstdDecompressor()
    z3 = zstd.ZstdCompressor(level=3)
    z19 = zstd.ZstdCompressor(level=19)
    by_kind = collections.defaultdict(list)
    not_kept = collections.Counter()
    for sid, at, payload in con.execute("SELECT id, at_ns, payload FROM snapshots ORDER BY at_ns"):
        if not payload:  # a goroutine profile stored without its payload (issue 17): nothing to compress
            not_kept[snap_kind[sid]] += 1
            continue
        by_kind[snap_kind[sid]].append((at, payload))
    for k, n in sorted(not_kept.items()):
        fig(f"compress.{k}.payload_not_kept", f"{n}", "snapshots stored without a payload (/raw rebuilds them)")
    saved = {}
    for k, items in sorted(by_kind.items(), key=lambda kv: -sum(len(p) for _, p in kv[1])):
        n = len(items)
        stored = sum(len(p) for _, p in items)
        bodies = [body_of(zd, p) for _, p in items]
        raw = sum(len(r) for r, _ in bodies)
        pbs = [pb for _, pb in bodies]
        pb = sum(len(x) for x in pbs)
        alone3 = sum(len(z3.compress(x)) for x in pbs)
        fig(f"compress.{k}.stored_mean", f"{stored / n:.0f}", f"as kept now: zstd of the body as received ({raw / n:.0f} B"
            + (", gzip'd pprof" if bodies[0][0][:2] == b"\x1f\x8b" else "") + ")")
        fig(f"compress.{k}.unzipped_mean", f"{pb / n:.0f}", "the body without gzip")
        fig(f"compress.{k}.alone_zstd3_mean", f"{alone3 / n:.0f}", "each unzipped body alone, zstd -3")
        # blocks of one minute of the source's snapshots of this kind
        blocks = collections.defaultdict(list)
        for (at, _), x in zip(items, pbs):
            blocks[at // 60_000_000_000].append(x)
        b3 = sum(len(z3.compress(b"".join(v))) for v in blocks.values())
        b19 = sum(len(z19.compress(b"".join(v))) for v in blocks.values())
        fig(f"compress.{k}.minute_block_zstd3_mean", f"{b3 / n:.0f}", f"{len(blocks)} blocks of a minute, {n / len(blocks):.1f} each")
        fig(f"compress.{k}.minute_block_zstd19_mean", f"{b19 / n:.0f}")
        best = b3
        if n >= 40:
            train = pbs[: max(20, n // 10)]
            try:
                d = zstd.train_dictionary(16384, train * (1 if len(train) >= 40 else 3), level=3)
                zc = zstd.ZstdCompressor(level=3, dict_data=d, write_dict_id=False)
                rest = pbs[len(train):]
                dz = sum(len(zc.compress(x)) for x in rest)
                fig(f"compress.{k}.dict16k_zstd3_mean", f"{dz / len(rest):.0f}",
                    f"each alone with a dictionary trained on the first {len(train)}")
            except zstd.ZstdError as e:
                fig(f"compress.{k}.dict16k_zstd3_mean", "-1", f"no dictionary: {e}")
        saved[k] = ((stored - best) * DAY / secs, best)
        fig(f"compress.{k}.minute_block_saves_per_day", f"{(stored - best) * DAY / secs:.0f}",
            human((stored - best) * DAY / secs) + " of payload")
        # how often a goroutine profile's body equals the previous one's
        if k.startswith("goroutine"):
            same = sum(1 for a, b in zip(pbs, pbs[1:]) if a == b)
            fig(f"compress.{k}.same_as_previous_pct", f"{100.0 * same / max(1, n - 1):.1f}", "byte-identical bodies")
            sets = collections.defaultdict(list)
            for row in con.execute("SELECT snapshot_id, stack_id, state, coalesce(wait_reason,''), count, "
                                   "coalesce(labels,''), coalesce(hex(span_id),'') FROM goroutine_groups"):
                if snap_kind.get(row[0]) == k:
                    sets[row[0]].append(row[1:])
            ids = [sid for sid, _k in sorted(snap_kind.items()) if _k == k]
            prev, same_g, same_s = None, 0, 0
            for sid in ids:
                cur = sorted(sets.get(sid, []))
                if prev is not None:
                    same_g += cur == prev
                    same_s += [r[:2] + r[4:] for r in cur] == [r[:2] + r[4:] for r in prev]
                prev = cur
            fig(f"compress.{k}.groups_same_as_previous_pct", f"{100.0 * same_g / max(1, len(ids) - 1):.1f}",
                "snapshots whose groups (stack, state, wait, count, labels, span) equal the previous one's")
            fig(f"compress.{k}.groups_same_but_counts_pct", f"{100.0 * same_s / max(1, len(ids) - 1):.1f}",
                "... the same (stack, state, labels, span) whatever the counts")

    # goroutine groups and profile samples: rows of a minute in one block (row text)
    for table, cols, key in (
            ("goroutine_groups", "g.snapshot_id, g.stack_id, g.state, g.wait_reason, g.count, g.wait_min_ns, "
             "g.wait_max_ns, g.locked, hex(g.span_id), hex(g.trace_id), g.labels, g.goids", "goroutine_groups"),
            ("profile_samples", "g.snapshot_id, g.stack_id, hex(g.span_id), hex(g.trace_id), g.labels, g.vals",
             "profile_samples")):
        rows = con.execute(f"SELECT s.at_ns, {cols} FROM {table} g JOIN snapshots s ON s.id = g.snapshot_id "
                           "ORDER BY s.at_ns, g.rowid").fetchall()
        if not rows:
            continue
        blocks = collections.defaultdict(list)
        text = 0
        for r in rows:
            line = "\t".join("" if v is None else str(v) for v in r[1:]).encode() + b"\n"
            text += len(line)
            blocks[r[0] // 60_000_000_000].append(line)
        z = sum(len(z3.compress(b"".join(v))) for v in blocks.values())
        fig(f"compress.{key}.row_text_mean", f"{text / len(rows):.1f}", f"{len(rows)} rows")
        fig(f"compress.{key}.minute_block_zstd3_row_mean", f"{z / len(rows):.1f}")

    for table, cols, order in (
            ("gc_cycles", "start_ns, n, stw1_ns, mark_ns, stw2_ns, cpu_pct, stw1_cpu_ns, assist_cpu_ns, "
             "background_cpu_ns, idle_cpu_ns, stw2_cpu_ns, heap_before, heap_after, heap_live, goal, stacks, "
             "globals, procs, forced, source_id", "source_id, start_ns, n"),
            ("sched_samples", "at_ns, gomaxprocs, idleprocs, threads, spinningthreads, idlethreads, runqueue, "
             "local_runq, source_id", "source_id, at_ns"),
            ("runtime_minutes", "*", "source_id, minute_ns")):
        rows = con.execute(f"SELECT {cols} FROM {table} ORDER BY {order}").fetchall()
        if not rows:
            continue
        rows = [tuple(len(v) if isinstance(v, bytes) else v for v in r) for r in rows]
        z = columnar(rows, z3)
        saved[table] = z
        fig(f"compress.{table}.columnar_zstd3_row_mean", f"{z / len(rows):.1f}",
            f"{len(rows)} rows, blocks of 1,024, delta varints by column (blobs counted by length only)")
    return saved


# ------------------------------------------------------------------ cuts


def cuts(con, tb, secs, snap_kind, per_kind_day, saved):
    """Savings per day of moving each kind's payloads into per-minute zstd blocks of the
    unzipped bodies (the snapshots row keeps its small columns and meta), and of the
    gc cycles by column. Rows without their payload are taken to fill pages as the small
    rows of this database do (bytes per row = record × (1 + the unused share of gc_cycles))."""
    t, i, _ = tb.get("snapshots", (0, 0, []))
    snap_bytes = t + i
    recs = collections.defaultdict(lambda: [0, 0, 0])  # n, record with payload, record without
    for sid, kind, fmt, at, dur, total, meta, raw, plen in con.execute(
            "SELECT id, kind, format, at_ns, duration_ns, total, meta, raw_bytes, length(payload) FROM snapshots"):
        r = recs[snap_kind[sid]]
        small = rec_len(sid, 1, kind, fmt, at, dur, total, meta, raw, 0)
        r[0] += 1
        r[1] += small + plen
        r[2] += small
    rec_all = sum(r[1] for r in recs.values()) or 1
    gt, gi, _ = tb.get("gc_cycles", (0, 0, []))
    fill = 1 + (table_bytes.unused.get("gc_cycles", 0) / gt if gt else 0.15)
    total = sum(a + b for a, b, _ in tb.values()) * DAY / secs
    fig("cuts.total_per_day_now", f"{total:.0f}", human(total))
    all_saved = 0
    for k, (n, with_p, without_p) in sorted(recs.items(), key=lambda kv: -kv[1][1]):
        # this kind's share of the snapshots table and its indexes (by record bytes: rough,
        # since the waste of half-empty pages falls on the mid-sized records)
        now = snap_bytes * with_p / rec_all
        block = saved[k][1] if k in saved else 0  # bytes of its payloads in minute blocks
        idx = i * n / max(1, sum(r[0] for r in recs.values()))  # index entries stay as they are
        after = without_p * fill + idx + block
        s = (now - after) * DAY / secs
        all_saved += s
        fig(f"cuts.payload_blocks.{k}_row_bytes_now", f"{now / n:.0f}", f"payload {(with_p - without_p) / n:.0f}")
        fig(f"cuts.payload_blocks.{k}_row_bytes_after", f"{after / n:.0f}", "small row + its share of the minute's block")
        fig(f"cuts.payload_blocks.{k}_saves_per_day", f"{s:.0f}", human(s))
    fig("cuts.payload_blocks.all_saves_per_day", f"{all_saved:.0f}", human(all_saved))
    gz = saved.get("gc_cycles")
    if gz:
        s = (gt + gi - gz) * DAY / secs
        fig("cuts.gc_cycles_columnar.saves_per_day", f"{s:.0f}", human(s))
        all_saved += s
    fig("cuts.both_total_per_day_after", f"{total - all_saved:.0f}", human(total - all_saved))


# ------------------------------------------------------------------ selftest


def selftest():
    """A database of known rows at known times: the split must find them."""
    here = os.path.dirname(os.path.abspath(__file__))
    sql_dir = os.path.join(here, "..", "..", "schema", "sql")
    files = sorted(f for f in os.listdir(sql_dir) if f.endswith(".sql"))
    fails = 0
    with tempfile.TemporaryDirectory() as d:
        db = os.path.join(d, "t.db")
        con = sqlite3.connect(db)
        for f in files:
            con.executescript(open(os.path.join(sql_dir, f)).read())
        t0 = 1_800_000_000_000_000_000
        # one hour: a GC cycle every 100 ms (36,000), a sched sample a second (3,600),
        # a goroutine profile every 10 s (360) of 4 groups
        con.executemany("INSERT INTO gc_cycles VALUES (1,?,?,1,1,1,1,1,1,1,1,1,4000000,4100000,2000000,4000000,0,0,2,0)",
                        [(i, t0 + i * 100_000_000) for i in range(36000)])
        con.executemany("INSERT INTO sched_samples VALUES (1,?,2,0,8,0,3,0,0)",
                        [(t0 + i * 1_000_000_000,) for i in range(3600)])
        con.execute("INSERT INTO stacks (id, hash, frames) VALUES (1, 1, 'main.f\tmain.go:1')")
        payload = b"\x00" * 1000
        for i in range(360):
            cur = con.execute("INSERT INTO snapshots (source_id, kind, format, at_ns, total, meta, raw_bytes, payload) "
                              "VALUES (1, 'goroutine', 'pprof', ?, 4, '{}', 1000, ?)", (t0 + i * 10_000_000_000, payload))
            con.executemany("INSERT INTO goroutine_groups (snapshot_id, stack_id, state, count) VALUES (?, 1, 'chan', 1)",
                            [(cur.lastrowid,)] * 4)
        con.execute("INSERT INTO sched_samples VALUES (1,?,2,0,8,0,3,0,0)", (t0 + 3600 * 1_000_000_000,))
        con.commit()
        con.close()
        import io
        import contextlib
        out = io.StringIO()
        try:
            import zstandard  # noqa: F401
            parts = "split,kinds,stacks,compress"
        except ImportError:
            parts = "split,kinds,stacks"
            print("selftest: no zstandard, compress not tried")
        with contextlib.redirect_stdout(out):
            main([db, "--only", parts])
        figs = {}
        for line in out.getvalue().splitlines():
            k, v = line.split("  #")[0].split(" ", 1)
            figs[k] = v

        def want(name, lo, hi):
            nonlocal fails
            v = float(figs.get(name, "nan"))
            ok = lo <= v <= hi
            print(f"{'ok ' if ok else 'FAIL'} {name} = {v} (want {lo}..{hi})")
            fails += not ok

        want("window.seconds", 3600, 3600)
        want("split.gc_cycles.rows_per_hour", 36000, 36000)
        want("split.sched_samples.rows_per_hour", 3601, 3601)
        want("split.goroutine_groups.rows_per_hour", 1440, 1440)
        # a gc row holds 20 integers, most of them 1 byte: 30-90 bytes with its B-tree share
        want("split.gc_cycles.bytes_per_row", 25, 90)
        # 1,000 bytes of payload each: three such rows fill a 4 KiB page (1,365 B each), plus 4 group
        # rows of ~30 B and the index entries of both tables
        want("kinds.goroutine_pprof.payload_mean", 1000, 1000)
        want("kinds.goroutine_pprof.bytes_per_snapshot", 1365, 1800)
        want("kinds.goroutine_pprof.per_hour", 360, 360)
        want("kinds.goroutine_pprof.groups_per_snapshot", 4, 4)
        # bytes per day = bytes in the hour × 24
        want("split.gc_cycles.bytes_per_day", 24 * 25 * 36000, 24 * 90 * 36000)
        # the one stack is first seen in the first half
        want("stacks.new_per_hour_first_half", 2, 2)
        want("stacks.new_per_hour_second_half", 0, 0)
        if "compress" in parts:
            # 6 profiles a minute of 1,000 zero bytes: a block of 6,000 zeros is a few tens of bytes
            want("compress.goroutine_pprof.unzipped_mean", 1000, 1000)
            want("compress.goroutine_pprof.minute_block_zstd3_mean", 1, 10)
            want("compress.goroutine_pprof.groups_same_as_previous_pct", 100, 100)
            # gc rows differ only in n and start (constant deltas): a byte or two a row
            want("compress.gc_cycles.columnar_zstd3_row_mean", 0, 2)
    print("selftest:", "FAILED" if fails else "passed")
    return 1 if fails else 0


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("db", nargs="?")
    ap.add_argument("--only", default="split,kinds,stacks,compress,cuts")
    ap.add_argument("--skip", type=float, default=0, help="seconds at the start left out of the window")
    ap.add_argument("--selftest", action="store_true")
    a = ap.parse_args(argv)
    if a.selftest:
        return selftest()
    if not a.db:
        ap.error("DB is required (or --selftest)")
    only = set(a.only.split(","))
    con = connect(a.db)
    t0, t1 = window(con, a.skip)
    tb, rows_of, secs = split(con, t0, t1) if "split" in only or "cuts" in only else (table_bytes(con), {}, (t1 - t0) / 1e9)
    snap_kind, per_kind_day = kinds(con, tb, secs) if only & {"kinds", "compress", "cuts"} else ({}, {})
    if "stacks" in only:
        stacks(con, t0, t1, tb, secs)
    if only & {"compress", "cuts"}:
        saved = compress(con, snap_kind, secs)
        if "cuts" in only:
            cuts(con, tb, secs, snap_kind, per_kind_day, saved)
    return 0


if __name__ == "__main__":
    sys.exit(main())
