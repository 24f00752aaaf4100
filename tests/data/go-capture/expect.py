#!/usr/bin/env python3
"""The expected values of the dump and profile captures in DIR (../go1.26,
../go1.27), read by a second reader that shares nothing with meanwhiled's C
decoders, written to DIR/expected.json:

    python3 tests/data/go-capture/expect.py tests/data/go1.27

Text dumps (debug=2, debug=1) are read here with regular expressions over
whole lines; the protobuf profiles are read by Go's own `go tool pprof -raw`
(the go command on PATH), whose output is taken apart here. For every
goroutine of a debug=2 dump: id, status as printed (without the flags the
runtime appends after a comma: minutes, locked to thread, synctest bubble;
and (scan)), the flags, creator function and goroutine, labels, and every frame (function,
file, line). For every record of a debug=1 profile: count, labels, frames. For
every sample of a profile: values, labels, frames (inlined functions
expanded, innermost first).

"class" is the wait class the explanation should use for each goroutine of a
debug=2 dump: the table CLASSES below, written from the wait reasons' meaning
(go-goroutine-dump.md, and the runtime's own waitReasonStrings), not from the
decoder's table.
"""
import json
import os
import re
import subprocess
import sys

# wait reason (as printed, without the runtime's appended flags) -> class
CLASSES = {
    "running": "running",
    "runnable": "runnable",
    "syscall": "syscall",
    "IO wait": "io",
    "chan receive": "chan",
    "chan send": "chan",
    "chan receive (nil chan)": "chan",
    "chan send (nil chan)": "chan",
    "select": "select",
    "select (no cases)": "select",
    "sync.Mutex.Lock": "mutex",
    "sync.RWMutex.RLock": "mutex",
    "sync.RWMutex.Lock": "mutex",
    "semacquire": "mutex",
    "sync.Cond.Wait": "cond",
    "sync.WaitGroup.Wait": "cond",
    "sleep": "sleep",
    # testing/synctest: the bubble's root and synctest.Wait wait for the
    # bubble's other goroutines to block, an event like a WaitGroup's
    "synctest.Run": "cond",
    "synctest.Wait": "cond",
}

# what the runtime appends to a status inside the brackets (traceback.go's
# goroutineheader), in its order; the class is the reason's without them
# ("chan receive (durable)" waits on a channel like "chan receive")
STATUS_SUFFIXES = (" (leaked)", " (scan)", " (durable)")

GO_ESCAPES = {"a": "\a", "b": "\b", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v",
              "\\": "\\", "'": "'", '"': '"'}


def go_unquote(s, i):
    """A Go-quoted string starting at s[i] == '"': (value, index past it)."""
    assert s[i] == '"', s[i:]
    out = bytearray()
    i += 1
    while s[i] != '"':
        c = s[i]
        if c != "\\":
            out += c.encode()
            i += 1
            continue
        e = s[i + 1]
        if e in GO_ESCAPES:
            out += GO_ESCAPES[e].encode()
            i += 2
        elif e == "x":
            out.append(int(s[i + 2:i + 4], 16))
            i += 4
        elif e in "uU":
            n = 4 if e == "u" else 8
            out += chr(int(s[i + 2:i + 2 + n], 16)).encode()
            i += 2 + n
        else:
            out.append(int(s[i + 1:i + 4], 8))
            i += 4
    return out.decode("utf-8", "surrogateescape"), i + 1


BARE = re.compile(r"[A-Za-z0-9./_]*")


def token(s, i):
    """A label key or value: Go-quoted, or bare (Go 1.27 leaves unquoted
    what is only letters, digits, '.', '/' and '_', the empty string too)."""
    if s[i] == '"':
        return go_unquote(s, i)
    m = BARE.match(s, i)
    return m.group(0), m.end()


def label_map(s, i):
    """`{k: v, ...}` or `{"k":"v", ...}` at s[i]: (dict, index past '}')."""
    assert s[i] == "{", s[i:]
    i += 1
    labels = {}
    if s[i] == "}":
        return labels, i + 1
    while True:
        k, i = token(s, i)
        assert s[i] == ":", s[i:]
        i += 1
        if s[i] == " ":
            i += 1
        v, i = token(s, i)
        labels[k] = v
        if s[i] == "}":
            return labels, i + 1
        assert s[i:i + 2] == ", ", s[i:]
        i += 2


HEADER = re.compile(r"^goroutine (\d+) \[")


def header(line):
    m = HEADER.match(line)
    gid = int(m.group(1))
    rest = line[m.end():]
    labels = {}
    k = rest.find(" labels:{")  # Go 1.26 GODEBUG=tracebacklabels=1: inside the brackets
    if k >= 0:
        status = rest[:k]
        labels, j = label_map(rest, k + len(" labels:"))
        assert rest[j:] == "]:", rest
    else:
        j = rest.index("]")
        status, after = rest[:j], rest[j + 1:]
        if after.startswith(" {"):  # Go 1.27: after the brackets
            labels, n = label_map(after, 1)
            after = after[n:]
        assert after == ":", line
    g = {"id": gid, "labels": labels, "minutes": -1, "locked": False, "bubble": 0}
    parts = status.split(", ")
    reason = parts[0]
    for p in parts[1:]:
        if p.endswith(" minutes"):
            g["minutes"] = int(p[:-8])
        elif p == "locked to thread":
            g["locked"] = True
        elif p.startswith("synctest bubble "):
            g["bubble"] = int(p[16:])
        else:
            raise ValueError(line)
    flags = []
    stripped = True
    while stripped:
        stripped = False
        for suf in STATUS_SUFFIXES:
            if reason.endswith(suf):
                flags.insert(0, suf.strip(" ()"))
                reason = reason[: -len(suf)]
                stripped = True
    g["wait_reason"] = parts[0].replace(" (scan)", "")  # as printed; scan is a flag of its own
    g["reason"] = reason
    g["leaked"] = "leaked" in flags
    g["scan"] = "scan" in flags
    g["class"] = CLASSES.get(reason, "other")
    return g


def location(line):
    """`\tFILE:LINE[ +0xOFF]` -> (file, line)."""
    loc = line[1:].split(" +0x")[0]
    f, _, n = loc.rpartition(":")
    return f, int(n)


def read_debug2(text):
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    gs = []
    g = None
    pending = None
    for line in lines:
        if line.startswith("goroutine "):
            g = header(line)
            g.update(frames=[], created_by=None, creator=0)
            gs.append(g)
        elif line == "":
            g = None
        elif line.startswith("\t"):
            f, n = location(line)
            pending[1], pending[2] = f, n
        elif line.startswith("created by "):
            m = re.match(r"^created by (\S+)(?: in goroutine (\d+))?$", line)
            pending = [m.group(1), "?", 0]
            g["created_by"] = pending
            g["creator"] = int(m.group(2) or 0)
        else:
            m = re.match(r"^(\S+)\(.*\)$", line)
            pending = [m.group(1), "?", 0]
            g["frames"].append(pending)
    return {"format": 2, "lines": len(lines), "goroutines": gs}


def read_debug1(text):
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()
    m = re.match(r"^(\w+) profile: total (\d+)$", lines[0])
    out = {"format": 1, "profile": m.group(1), "claimed_total": int(m.group(2)), "lines": len(lines),
           "records": []}
    rec = None
    for line in lines[1:]:
        if line == "":
            rec = None
            continue
        m = re.match(r"^(\d+) @((?: 0x[0-9a-f]+)*)$", line)
        if m:
            rec = {"count": int(m.group(1)), "pcs": len(m.group(2).split()), "labels": {}, "frames": []}
            out["records"].append(rec)
        elif line.startswith("# labels: "):
            rec["labels"], _ = label_map(line, len("# labels: "))
        else:
            fields = [x for x in line[2:].split("\t") if x]
            func = re.sub(r"\+0x[0-9a-f]+$", "", fields[1])
            f, _, n = fields[2].rpartition(":")
            rec["frames"].append([func, f, int(n)])
    return out


def read_pprof(path):
    raw = subprocess.run(["go", "tool", "pprof", "-raw", path], check=True, capture_output=True,
                         text=True).stdout
    lines = raw.split("\n")
    out = {"format": "pprof"}
    i = 0
    while not lines[i].startswith("Samples:"):
        k, _, v = lines[i].partition(": ")
        if k == "PeriodType":
            out["period_type"] = v.split(" ")
        elif k == "Period":
            out["period"] = int(v)
        elif k == "Duration":
            out["duration_s"] = v
        i += 1
    out["sample_types"] = [t.split("/") for t in lines[i + 1].split()]
    i += 2
    samples = []
    while lines[i] != "Locations":
        if re.match(r"^ {16}\S", lines[i]):
            samples[-1]["labels"] = dict(re.findall(r"(\S+?):\[(.*?)\]", lines[i].strip()))
        else:
            vals, _, locs = lines[i].partition(": ")
            samples.append({"values": [int(v) for v in vals.split()], "locs": [int(x) for x in locs.split()],
                            "labels": {}})
        i += 1
    i += 1
    locs = {}
    cur = None
    while lines[i] != "Mappings":
        m = re.match(r"^ *(\d+): 0x[0-9a-f]+ M=\d+ (.*)$", lines[i])
        body = m.group(2) if m else lines[i].strip()
        if m:
            cur = locs.setdefault(int(m.group(1)), [])
        fm = re.match(r"^(\S+) (\S+):(\d+):\d+ s=\d+$", body)
        cur.append([fm.group(1), fm.group(2), int(fm.group(3))])
        i += 1
    for s in samples:
        s["frames"] = [fr for loc in s.pop("locs") for fr in locs[loc]]
    out["samples"] = samples
    return out


def main():
    d = sys.argv[1]
    out = {"command": "python3 tests/data/go-capture/expect.py " + os.path.relpath(d, os.getcwd())}
    for name in sorted(os.listdir(d)):
        path = os.path.join(d, name)
        if name.endswith(".pb.gz"):
            out[name] = read_pprof(path)
        elif name.startswith(("goroutines-", "goroutineleak-")) and name.endswith(".txt"):
            text = open(path, encoding="utf-8").read()
            out[name] = read_debug1(text) if " profile: total " in text.split("\n")[0] else read_debug2(text)
    with open(os.path.join(d, "expected.json"), "w", encoding="utf-8") as f:
        json.dump(out, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
