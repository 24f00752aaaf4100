#!/usr/bin/env python3
"""Regenerates tests/fuzz/seeds/ from the fixtures in tests/data/ plus
hand-written edge cases. Needs python3, protoc (to encode the hand-written
protobufs from text format) and the zstd command. Run from anywhere:

    python3 tests/fuzz/make_seeds.py

Existing seed directories are emptied first. Keep the total small (< 300 KB):
seeds only need to reach the code's shapes, the fuzzer does the rest."""
import gzip
import json
import os
import shutil
import subprocess
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "tests", "data")
GO = os.path.join(DATA, "go1.19-checkout")
JS = os.path.join(DATA, "otel-js")
SCHEMA = os.path.join(ROOT, "schema")
SEEDS = os.path.join(HERE, "seeds")


def read(path):
    with open(path, "rb") as f:
        return f.read()


def fixture(name):
    return read(os.path.join(GO, name))


def gz(data):
    return gzip.compress(data, 9, mtime=0)


def zstd(data, *args):
    return subprocess.run(["zstd", "-q", "-c", *args], input=data, check=True,
                          stdout=subprocess.PIPE).stdout


def protoc_encode(message, proto, text):
    return subprocess.run(["protoc", "--proto_path=" + SCHEMA, "--encode=" + message, proto],
                          input=text.encode(), check=True, stdout=subprocess.PIPE).stdout


def first_lines(data, n):
    return b"".join(data.splitlines(keepends=True)[:n])


def find(prefix, suffix):
    return sorted(f for f in os.listdir(GO) if f.startswith(prefix) and f.endswith(suffix))


seeds = {}


def seed(target, name, data):
    seeds.setdefault(target, {})[name] = data


# --- OTLP protobuf -----------------------------------------------------------
REQ = "opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest"
REQ_PROTO = "opentelemetry/proto/collector/trace/v1/trace_service.proto"
TID = r'"\xee\x18\xb8\xf9\x57\x4f\x91\x54\x30\x7c\x9d\xfa\xab\x0c\x88\x33"'
SID = r'"\x58\xd5\xd9\x31\x8f\x6f\x90\x70"'
PID = r'"\x0f\x49\x94\x90\xe3\x12\x78\x14"'
OTLP_EDGE = f"""
resource_spans {{
  resource {{
    attributes {{ key: "service.name" value {{ string_value: "checkout" }} }}
    attributes {{ key: "service.instance.id" value {{ string_value: "" }} }}
    attributes {{ key: "host.name" value {{ string_value: "shop-1" }} }}
    attributes {{ key: "process.pid" value {{ int_value: 12707 }} }}
    attributes {{ key: "tags" value {{ array_value {{ values {{ string_value: "a" }} values {{ bool_value: true }}
      values {{ double_value: 1.5 }} values {{ bytes_value: "\\x00\\x01" }} values {{ }} }} }} }}
    attributes {{ key: "kv" value {{ kvlist_value {{ values {{ key: "k" value {{ string_value: "" }} }}
      values {{ key: "n" value {{ kvlist_value {{ values {{ key: "x" value {{ int_value: -1 }} }} }} }} }} }} }} }}
    dropped_attributes_count: 1
  }}
  scope_spans {{
    scope {{ name: "lab" version: "1.0" attributes {{ key: "s" value {{ string_value: "" }} }} }}
    spans {{
      trace_id: {TID} span_id: {SID} parent_span_id: {PID} trace_state: "a=b" flags: 257
      name: "db.query" kind: SPAN_KIND_CLIENT
      start_time_unix_nano: 1795334474453546268 end_time_unix_nano: 1795334474455928858
      attributes {{ key: "db.statement" value {{ string_value: "SELECT 1" }} }}
      attributes {{ key: "empty" value {{ string_value: "" }} }}
      events {{ time_unix_nano: 1795334474454000000 name: "exception"
        attributes {{ key: "exception.message" value {{ string_value: "boom" }} }} }}
      links {{ trace_id: {TID} span_id: {PID} trace_state: "x=y" flags: 1
        attributes {{ key: "l" value {{ int_value: 1 }} }} }}
      status {{ code: STATUS_CODE_ERROR message: "boom" }}
      dropped_attributes_count: 2 dropped_events_count: 3 dropped_links_count: 4
    }}
    spans {{
      trace_id: {TID} span_id: {PID} name: "GET /cart" kind: SPAN_KIND_SERVER
      start_time_unix_nano: 1795334474453000000 end_time_unix_nano: 1795334474453000000
    }}
    spans {{ trace_id: "\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00" span_id: {SID}
      start_time_unix_nano: 1 end_time_unix_nano: 2 }}
    spans {{ trace_id: {TID} span_id: {SID} start_time_unix_nano: 5 end_time_unix_nano: 4 }}
    spans {{ trace_id: {TID} span_id: "\\x01\\x02" start_time_unix_nano: 5 end_time_unix_nano: 6 }}
    spans {{ trace_id: {TID} span_id: {SID} start_time_unix_nano: 18446744073709551615 end_time_unix_nano: 18446744073709551615 }}
    schema_url: "https://opentelemetry.io/schemas/1.21.0"
  }}
  schema_url: "https://opentelemetry.io/schemas/1.21.0"
}}
resource_spans {{ scope_spans {{ spans {{ trace_id: {TID} span_id: {SID} start_time_unix_nano: 7 end_time_unix_nano: 8 }} }} }}
"""


def nested_value(depth):
    v = 'string_value: "deep"'
    for _ in range(depth):
        v = f"array_value {{ values {{ {v} }} }}"
    return v


OTLP_DEEP = f"""
resource_spans {{ scope_spans {{ spans {{ trace_id: {TID} span_id: {SID} name: "deep"
  start_time_unix_nano: 1 end_time_unix_nano: 2
  attributes {{ key: "ok" value {{ {nested_value(15)} }} }}
  attributes {{ key: "too_deep" value {{ {nested_value(20)} }} }} }} }} }}
"""

seed("fuzz_otlp_pb", "otel-js-pb-0.bin", read(os.path.join(JS, "otlp-js-pb-0.bin")))
seed("fuzz_otlp_pb", "otel-js-pb-2.bin", gzip.decompress(read(os.path.join(JS, "otlp-js-pb-2.gzip.bin"))))
seed("fuzz_otlp_pb", "edge-cases.bin", protoc_encode(REQ, REQ_PROTO, OTLP_EDGE))
seed("fuzz_otlp_pb", "nesting.bin", protoc_encode(REQ, REQ_PROTO, OTLP_DEEP))
seed("fuzz_otlp_pb", "empty.bin", b"")
seed("fuzz_otlp_pb", "empty-resource-spans.bin", b"\x0a\x00")
# a length that runs past the end, and a nesting deeper than the pre-pass allows
seed("fuzz_otlp_pb", "truncated.bin", b"\x0a\x10\x12\x0e\x12\x0c")
seed("fuzz_otlp_pb", "too-deep.bin", b"\x0a\x02" * 60)


def nested_kvlist(depth):
    v = 'string_value: "deep"'
    for _ in range(depth):
        v = f'kvlist_value {{ values {{ key: "k" value {{ {v} }} }} }}'
    return v


# max_attr_depth: 16 kvlists kept, 17 refused alone (partial success)
seed("fuzz_otlp_pb", "kvlist-depth.bin", protoc_encode(REQ, REQ_PROTO, f"""
resource_spans {{ resource {{ attributes {{ key: "r" value {{ {nested_kvlist(17)} }} }} }}
  scope_spans {{ spans {{ trace_id: {TID} span_id: {SID} start_time_unix_nano: 1 end_time_unix_nano: 2 }} }} }}
resource_spans {{ scope_spans {{
  spans {{ trace_id: {TID} span_id: {SID} start_time_unix_nano: 1 end_time_unix_nano: 2
    attributes {{ key: "ok" value {{ {nested_kvlist(16)} }} }} }}
  spans {{ trace_id: {TID} span_id: {PID} start_time_unix_nano: 1 end_time_unix_nano: 2
    attributes {{ key: "no" value {{ {nested_kvlist(17)} }} }} }} }} }}
"""))
# the name rule: a NUL, invalid UTF-8, in a span, a resource, a scope; an empty
# span first, which counts in the indices
seed("fuzz_otlp_pb", "name-rule.bin", protoc_encode(REQ, REQ_PROTO, f"""
resource_spans {{ resource {{ attributes {{ key: "service.name" value {{ string_value: "a\\000b" }} }} }}
  scope_spans {{ spans {{ trace_id: {TID} span_id: {SID} start_time_unix_nano: 1 end_time_unix_nano: 2 }} }} }}
resource_spans {{ scope_spans {{ scope {{ name: "\\303" }} spans {{ trace_id: {TID} span_id: {SID}
  start_time_unix_nano: 1 end_time_unix_nano: 2 }} }} }}
resource_spans {{ scope_spans {{ spans {{ }}
  spans {{ trace_id: {TID} span_id: {SID} name: "a\\000b" start_time_unix_nano: 1 end_time_unix_nano: 2 }}
  spans {{ trace_id: {TID} span_id: {PID} start_time_unix_nano: 1 end_time_unix_nano: 2
    attributes {{ key: "k\\377" value {{ string_value: "\\355\\240\\200" }} }} }} }} }}
"""))

# --- OTLP JSON ---------------------------------------------------------------
seed("fuzz_otlp_json", "otel-js-json-1.json", read(os.path.join(JS, "otlp-js-json-1.bin")))
lines = fixture("spans.otlp.jsonl").splitlines()
smallest = sorted(lines, key=len)
seed("fuzz_otlp_json", "go-spans-line.json", smallest[0])
# two more lines, cut down to their first spans to stay small
for i, line in enumerate(smallest[1:3]):
    req = json.loads(line)
    for rs in req["resourceSpans"]:
        for ss in rs["scopeSpans"]:
            ss["spans"] = ss["spans"][:4]
    seed("fuzz_otlp_json", f"go-spans-cut-{i}.json", json.dumps(req, separators=(",", ":")).encode())
T = "ee18b8f9574f9154307c9dfaab0c8833"
S = "58d5d9318f6f9070"
P = "0f499490e3127814"
seed("fuzz_otlp_json", "edge-cases.json", json.dumps({
    "resourceSpans": [{
        "resource": {"attributes": [
            {"key": "service.name", "value": {"stringValue": "checkout"}},
            {"key": "process.pid", "value": {"intValue": "12707"}},
            {"key": "n", "value": {"intValue": 12}},
            {"key": "d", "value": {"doubleValue": 1.5}},
            {"key": "dn", "value": {"doubleValue": "NaN"}},
            {"key": "b", "value": {"boolValue": True}},
            {"key": "bytes", "value": {"bytesValue": "AAE="}},
            {"key": "arr", "value": {"arrayValue": {"values": [{"stringValue": ""}, {}]}}},
            {"key": "kv", "value": {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": "-1"}}]}}},
            {"key": "nul", "value": {"stringValue": "a\u0000b"}}],
            "droppedAttributesCount": 0},
        "scopeSpans": [{
            "scope": {"name": "lab", "version": "1", "attributes": []},
            "spans": [
                {"traceId": T, "spanId": S, "parentSpanId": P, "traceState": "a=b", "flags": 257,
                 "name": "db.query", "kind": "SPAN_KIND_CLIENT",
                 "startTimeUnixNano": "1795334474453546268", "endTimeUnixNano": 1795334474455928858,
                 "attributes": [{"key": "x", "value": {"stringValue": "y"}}],
                 "events": [{"timeUnixNano": "1795334474454000000", "name": "e",
                             "attributes": [{"key": "k", "value": {"boolValue": False}}]}],
                 "links": [{"traceId": T, "spanId": P, "attributes": []}],
                 "status": {"code": "STATUS_CODE_ERROR", "message": "boom"},
                 "droppedAttributesCount": 1, "droppedEventsCount": 2, "droppedLinksCount": 3},
                {"trace_id": T.upper(), "span_id": P, "name": "snake", "kind": 2,
                 "start_time_unix_nano": "1", "end_time_unix_nano": "2", "status": {"code": 1}},
                {"traceId": "00000000000000000000000000000000", "spanId": S,
                 "startTimeUnixNano": "1", "endTimeUnixNano": "2"},
                {"traceId": T, "spanId": S, "startTimeUnixNano": "18446744073709551615",
                 "endTimeUnixNano": "18446744073709551615", "unknownMember": [1, {"a": None}]}],
            "schemaUrl": "https://opentelemetry.io/schemas/1.21.0"}],
        "schemaUrl": ""}]}).encode())
deep = '{"stringValue":"deep"}'
for _ in range(20):
    deep = '{"arrayValue":{"values":[' + deep + ']}}'
seed("fuzz_otlp_json", "nesting.json", (
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s",'
    '"startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":%s}]}]}]}]}'
    % (T, S, deep)).encode())
seed("fuzz_otlp_json", "empty-object.json", b"{}")
kv = '{"stringValue":"deep"}'
for _ in range(17):
    kv = '{"kvlistValue":{"values":[{"key":"k","value":' + kv + '}]}}'
seed("fuzz_otlp_json", "kvlist-depth-and-nul.json", (
    '{"resourceSpans":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"a\\u0000b"}}]},'
    '"scopeSpans":[{"spans":[{"traceId":"%s","spanId":"%s","startTimeUnixNano":"1","endTimeUnixNano":"2"}]}]},'
    '{"scopeSpans":[{"scope":{"name":"\\u0000"},"spans":[{}]},{"spans":[{},{"traceId":"%s","spanId":"%s",'
    '"startTimeUnixNano":"1","endTimeUnixNano":"2","name":"n\\u0000","attributes":[{"key":"deep","value":%s}]}]}]}]}'
    % (T, S, T, S, kv)).encode())
seed("fuzz_otlp_json", "bad-ids.json", (
    '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"xyz","spanId":"%s1",'
    '"startTimeUnixNano":-1,"endTimeUnixNano":1e400,"kind":"NOPE"}]}]}]}' % S).encode())

# --- pprof -------------------------------------------------------------------
for prefix in ("cpu-", "heap-", "allocs-", "mutex-", "block-"):
    for f in find(prefix, ".pb.gz")[:1]:
        seed("fuzz_pprof", f[:-3], gzip.decompress(fixture(f)))
seed("fuzz_pprof", find("goroutines-", ".pb.gz")[0][:-3], gzip.decompress(fixture(find("goroutines-", ".pb.gz")[0])))
PROFILE = "perftools.profiles.Profile"
PROFILE_PROTO = "perftools/profiles.proto"
PPROF_EDGE = """
sample_type { type: 1 unit: 2 }
sample_type { type: 3 unit: 4 }
sample { location_id: 1 location_id: 2 value: 5 value: 50000000
  label { key: 5 str: 6 } label { key: 7 str: 8 } label { key: 9 num: 10 num_unit: 10 } label { key: 11 num: -3 } }
sample { location_id: 2 value: -1 value: 9223372036854775807 label { key: 12 str: 6 } }
sample { value: 0 value: 0 }
mapping { id: 1 memory_start: 4194304 memory_limit: 8388608 filename: 13 build_id: 14 has_functions: true }
location { id: 1 mapping_id: 1 address: 4198400 line { function_id: 1 line: 10 } line { function_id: 2 line: 20 } is_folded: true }
location { id: 2 mapping_id: 1 address: 4202496 line { function_id: 2 line: 30 } }
function { id: 1 name: 15 system_name: 15 filename: 16 start_line: 1 }
function { id: 2 name: 17 filename: 16 }
string_table: ["", "samples", "count", "cpu", "nanoseconds", "span_id", "58d5d9318f6f9070",
  "trace_id", "ee18b8f9574f9154307c9dfaab0c8833", "bytes", "b", "n", "local root span id",
  "/srv/checkout", "abc", "main.work", "/srv/main.go", "main.main", "runtime.*", "comment"]
drop_frames: 18 keep_frames: 0 time_nanos: 1795334476463713030 duration_nanos: 1000000000
period_type { type: 3 unit: 4 } period: 10000000 comment: 19 default_sample_type: 3
"""
pprof_edge = protoc_encode(PROFILE, PROFILE_PROTO, PPROF_EDGE)
seed("fuzz_pprof", "edge-cases.pb", pprof_edge)
seed("fuzz_pprof", "bad-string-index.pb", protoc_encode(PROFILE, PROFILE_PROTO,
     'sample_type { type: 7 unit: 1 } string_table: ["", "x"]'))
seed("fuzz_pprof", "duplicate-location.pb", protoc_encode(PROFILE, PROFILE_PROTO,
     'sample { location_id: 1 } location { id: 1 } location { id: 1 } string_table: [""]'))
seed("fuzz_pprof", "empty.pb", b"")

# --- goroutine dumps ---------------------------------------------------------
seed("fuzz_goroutines", "debug1.txt", fixture(find("goroutines-debug1-", ".txt")[0]))
for f in find("goroutines-debug2-", ".txt")[:2]:
    seed("fuzz_goroutines", f, fixture(f))
GO121 = b"""goroutine 41 [running]:
runtime/pprof.writeGoroutineStacks({0x7a1c40, 0xc0001a40e0})
\t/usr/local/go/src/runtime/pprof/pprof.go:703 +0x6a
created by net/http.(*Server).Serve in goroutine 1
\t/usr/local/go/src/net/http/server.go:3086 +0x5cb

goroutine 1 [IO wait, 12 minutes]:
internal/poll.(*pollDesc).wait(...)
\t/usr/local/go/src/internal/poll/fd_poll_runtime.go:84
main.main()
\t/srv/shop/main.go:58 +0x1f4

goroutine 17 [chan receive (scan), 3 minutes, locked to thread]:
shop/queue.(*Worker).run(0xc0000a6000)
\t/srv/shop/queue/worker.go:91 +0x7d
...1234 frames elided...
created by shop/queue.Start[...] in goroutine 1
\t/srv/shop/queue/start.go:22 +0x13e
"""
seed("fuzz_goroutines", "go121.txt", GO121)
seed("fuzz_goroutines", "labels.txt", b"""goroutine 8 [running labels:{"foobar": "baz"}]:
main.f()
\t/srv/main.go:5 +0x1

goroutine 9 [chan receive (scan), 2 minutes, locked to thread labels:{"span_id": "58d5d9318f6f9070", "k\\"q": "\\u00e9\\t\\x41\\101\\U0001F600"}]:
main.g()
\t/srv/main.go:6 +0x1

goroutine 10 [running] {pattern: "GET /panic"}:
main.h()
\t/srv/main.go:7 +0x1

goroutine 11 [sleep labels:{"unterminated]:
time.Sleep(0x3b9aca00)
\truntime/time.go:195 +0x135
""")
# today's Go (tests/data/go1.26, go1.27): Go 1.27 header labels, (leaked) and
# (durable) marks, synctest bubbles, the leak profile's debug=1 header
seed("fuzz_goroutines", "go127-debug2-labels.txt", read(os.path.join(DATA, "go1.27", "goroutines-debug2.txt")))
seed("fuzz_goroutines", "go127-synctest.txt", read(os.path.join(DATA, "go1.27", "goroutines-synctest.txt")))
seed("fuzz_goroutines", "go126-leak-debug1.txt", read(os.path.join(DATA, "go1.26", "goroutineleak-debug1.txt")))
seed("fuzz_goroutines", "traceback.txt", b"""panic: runtime error: index out of range [5] with length 3

goroutine 1 gp=0xc000002380 m=0 mp=0x5a8b60 [running]:
panic({0x4a1f20?, 0xc000012168?})
\t/usr/local/go/src/runtime/panic.go:785 +0x132 fp=0xc000067f20 sp=0xc000067e70 pc=0x46a3d2
main.main()
\tC:/Users/dev/shop/main.go:12 +0x1d fp=0xc000067f50 sp=0xc000067f20 pc=0x48f2bd
runtime: g 1: unknown pc 0x1234

goroutine 5 gp=0xc000003c00 m=nil [GC worker (idle)]:
runtime.gopark(0x0?, 0x0?, 0x0?, 0x0?, 0x0?)
\t/usr/local/go/src/runtime/proc.go:424 +0xce fp=0xc000050f38 sp=0xc000050f18 pc=0x46bd8e
created by runtime.gcBgMarkStartWorkers in goroutine 1
\t/usr/local/go/src/runtime/mgc.go:1339 +0x105

goroutine 6 [running]:
\tgoroutine running on other thread; stack unavailable
created by main.main in goroutine 1
\t/srv/main.go:20 +0x3c

goroutine 7 [semacquire]:
sync.(*WaitGroup).Wait(0x0?)
\t/usr/local/go/src/sync/waitgroup.go:116 +0x48
[originating from goroutine 3]:
main.parent(...)
\t/srv/main.go:40
""")
seed("fuzz_goroutines", "debug1-labels.txt", b"""goroutine profile: total 5
3 @ 0x43b336 0x407e9b 0x46b2c1
# labels: {"span_id":"58d5d9318f6f9070", "trace_id":"ee18b8f9574f9154307c9dfaab0c8833"}
#\t0x407e9a\tmain.work+0x23b\t\t/srv/main.go:193
#\t0x46b2c0\truntime.goexit+0x1\truntime/asm_amd64.s:1594

2 @ 0x43b336
#\t0x43b335\truntime.gopark+0xd6\truntime/proc.go:363
""")
# a debug=1 header with nothing readable after it (refused)
seed("fuzz_goroutines", "debug1-no-record.txt", b"goroutine profile: total 3\n\nnot a record\n# nor this\n#\tzz\n")

# --- runtime stderr ----------------------------------------------------------
seed("fuzz_runtime_text", "stderr-head.log", first_lines(fixture("runtime-stderr.log"), 40))
seed("fuzz_runtime_text", "stderr-stamped-head.log", first_lines(fixture("runtime-stderr.stamped.log"), 40))
RT_EDGE = b"""GC forced
gc 15 @4.880s 2%: 0.052+12+0.030 ms clock, 0.41+1.1/23/40+0.24 ms cpu, 41->42->20 MB, 43 MB goal, 0 MB stacks, 1 MB globals, 8 P (forced)
gc 7 @0.352s 1%: 0.021+1.2+0.030 ms clock, 0.16+0.40/1.0/2.1+0.24 ms cpu, 4->4->2 MB, 5 MB goal, 8 P
scav 0 KiB work, 4 KiB total, 98% util
scav 12 KiB work (bg), 0 KiB work (eager), 2048 KiB now, 97% util (forced)
pacer: assist ratio=+1.5e+000 (scan 0 MB in 4->4 MB) workers=2++0.000000e+000
listening on :8080
SCHED 2004ms: gomaxprocs=4 idleprocs=2 threads=9 spinningthreads=1 needspinning=0 idlethreads=4 runqueue=0 [1 0 3 0]
SCHED 1004ms: gomaxprocs=2 idleprocs=0 threads=5 spinningthreads=0 idlethreads=1 runqueue=3 gcwaiting=0 nmidlelocked=0 stopwait=0 sysmonwait=0
  P0: status=1 schedtick=12 syscalltick=3 m=0 runqsize=1 gfreecnt=0 timerslen=2
  M0: p=0 curg=-1 mallocing=0 throwing=0 preemptoff= locks=1 dying=0 spinning=false blocked=false lockedg=1
  G1: status=4(chan receive) m=-1 lockedm=0
  G17: status=6() m=nil lockedm=nil
1795334474527048163 gc 3 @3600.250s 0%: 0.007+251+0 ms clock, 0.014+0/0/0+0 ms cpu, 1->1->1 MB, 999999999999999 MB goal, 0 MB stacks, 0 MB globals, 1 P
gc 6 @1.000s 3%: 1+1 ms clock
gc 99999999999999999999 @1.000s
SCHED 20ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 [0 0
SCHED 50ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 idlethreads=1 runqueue=0 futurefield=abc [0 0]
SCHED 1008ms: gomaxprocs=2 idleprocs=2 threads=6 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 2 10 ]
SCHED 60ms: gomaxprocs=2 idleprocs=1 threads=5 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=0 [ 0 0 ] schedticks=[ 1 2
"""
seed("fuzz_runtime_text", "edge-cases.log", RT_EDGE)
seed("fuzz_runtime_text", "crlf.log", first_lines(fixture("runtime-stderr.log"), 3).replace(b"\n", b"\r\n"))
# Go 1.25+: "[ 0 0 ]" and schedticks=[ ... ] (tests/data/go1.26, go1.27)
GO126_STDERR = read(os.path.join(DATA, "go1.26", "runtime-stderr.log"))
seed("fuzz_runtime_text", "go126-head.log", first_lines(GO126_STDERR, 30))
seed("fuzz_runtime_text", "go127-scheddetail-head.log",
     first_lines(read(os.path.join(DATA, "go1.27", "runtime-stderr.scheddetail.log")), 40))

# --- request bodies: byte 0 is the encoding (0 identity, 1 gzip, 2 deflate, 3 zstd)
otlp_pb = read(os.path.join(JS, "otlp-js-pb-0.bin"))
small = first_lines(fixture("runtime-stderr.log"), 10)
seed("fuzz_body", "identity.bin", b"\x00" + small)
seed("fuzz_body", "gzip-otel-js.bin", b"\x01" + read(os.path.join(JS, "otlp-js-pb-2.gzip.bin")))
seed("fuzz_body", "gzip-two-members.bin", b"\x41" + gz(small) + gz(b"second member\n"))
seed("fuzz_body", "gzip-zlib.bin", b"\x81" + zlib.compress(small, 6))
seed("fuzz_body", "gzip-trailing-garbage.bin", b"\x01" + gz(small) + b"junk")
seed("fuzz_body", "deflate-zlib.bin", b"\x02" + zlib.compress(otlp_pb, 9))
raw = zlib.compressobj(6, zlib.DEFLATED, -15)
seed("fuzz_body", "deflate-raw.bin", b"\x42" + raw.compress(small) + raw.flush())
seed("fuzz_body", "zstd-otel-js.bin", b"\x03" + zstd(otlp_pb, "-19"))
seed("fuzz_body", "zstd-two-frames.bin", b"\x43" + zstd(small) + zstd(b"second frame\n", "--no-check"))
seed("fuzz_body", "zstd-bomb.bin", b"\x83" + zstd(b"\0" * (2 << 20), "-19"))
seed("fuzz_body", "gzip-bomb.bin", b"\xc1" + gz(b"\0" * (2 << 20)))
seed("fuzz_body", "gzip-truncated.bin", b"\x01" + gz(small)[:-6])
seed("fuzz_body", "empty-zstd.bin", b"\x03")
# a 9-byte zstd frame header asking for a 2^41 window (refused, but not as "too big a body")
seed("fuzz_body", "zstd-huge-window.bin", b"\x03\x28\xb5\x2f\xfd\x00\xf8\x01\x00\x00")

# --- runtime ingest: byte 0 is the kind (bits 0-2) and time parameters (bits 3-4)
GCTRACE, SCHEDTRACE, GOROUTINE, CPU, HEAP, ALLOCS, MUTEX, BLOCK = range(8)
TIME, TIME_PS = 0x08, 0x10
seed("fuzz_runtime_ingest", "gctrace-stderr.bin", bytes([GCTRACE]) + first_lines(fixture("runtime-stderr.log"), 40))
seed("fuzz_runtime_ingest", "schedtrace-stamped.bin",
     bytes([SCHEDTRACE | TIME_PS]) + first_lines(fixture("runtime-stderr.stamped.log"), 40))
seed("fuzz_runtime_ingest", "schedtrace-go126.bin", bytes([SCHEDTRACE | TIME_PS]) + first_lines(GO126_STDERR, 30))
seed("fuzz_runtime_ingest", "gctrace-time.bin", bytes([GCTRACE | TIME]) + RT_EDGE)
seed("fuzz_runtime_ingest", "goroutine-debug2.bin",
     bytes([GOROUTINE]) + fixture(find("goroutines-debug2-", ".txt")[0]))
seed("fuzz_runtime_ingest", "goroutine-debug1.bin", bytes([GOROUTINE | TIME_PS]) + fixture(find("goroutines-debug1-", ".txt")[0]))
seed("fuzz_runtime_ingest", "goroutine-labels.bin", bytes([GOROUTINE | TIME]) + GO121)
seed("fuzz_runtime_ingest", "goroutine-pprof-gz.bin", bytes([GOROUTINE]) + fixture(find("goroutines-", ".pb.gz")[0]))
seed("fuzz_runtime_ingest", "goroutine-pprof-labels.bin", bytes([GOROUTINE]) + pprof_edge)
seed("fuzz_runtime_ingest", "cpu-raw.bin", bytes([CPU | TIME]) + gzip.decompress(fixture(find("cpu-", ".pb.gz")[0])))
seed("fuzz_runtime_ingest", "heap-gz.bin", bytes([HEAP]) + fixture(find("heap-", ".pb.gz")[0]))
seed("fuzz_runtime_ingest", "allocs-edge.bin", bytes([ALLOCS]) + pprof_edge)
seed("fuzz_runtime_ingest", "mutex-gz.bin", bytes([MUTEX | TIME_PS]) + fixture(find("mutex-", ".pb.gz")[0]))
seed("fuzz_runtime_ingest", "block-gz.bin", bytes([BLOCK]) + fixture(find("block-", ".pb.gz")[0]))

# --- query parameters --------------------------------------------------------
for i, v in enumerate([
        "250ms", "1.5s", "2m", "1h30m", "800us", "100ns", "3\u00b5s", "0", "1795334474", "1795334474.5",
        "1795334474248483366", "2026-11-22T08:09:00Z", "2026-11-22T08:09:00.5+01:00",
        "2026-11-22T08:09:00.123456789-05:30", "1970-01-01T00:00:00z", T, S, T.upper(), "0g", ""]):
    seed("fuzz_query_params", f"param-{i:02d}.txt", v.encode())
# what the grammar refuses: signs, spaces, overflow, a number without a unit
for i, v in enumerate([
        "+5", " 5", "5 ", "99999999999999999999", "9223372036854775808", "9300000000", "1", "-1s",
        "2562048h", "800\u03bcs", ".5s", "1.", "2026-02-30T00:00:00Z", "2026-+1-22T08:09:00Z"], start=40):
    seed("fuzz_query_params", f"param-{i:02d}.txt", v.encode())

# --- write -------------------------------------------------------------------
total = 0
for target, files in sorted(seeds.items()):
    d = os.path.join(SEEDS, target)
    shutil.rmtree(d, ignore_errors=True)
    os.makedirs(d)
    size = 0
    for name, data in sorted(files.items()):
        with open(os.path.join(d, name), "wb") as f:
            f.write(data)
        size += len(data)
    total += size
    print(f"{target:22} {len(files):3} files {size:8} bytes")
print(f"{'total':22} {sum(len(f) for f in seeds.values()):3} files {total:8} bytes")
