// Early warning (docs/API.md, "Early warning"): gctrace lines pushed with a steady heap,
// then one cycle at more than twice the heap of ten minutes before, fire heap_growth: the
// event is stored (GET /api/v1/sources/{id}/events), the answer to that push carries the
// request for a dump and a heap profile once, and /metrics shows the source's gauges with
// the values worked out by hand below from the pushed lines. A steady source fires nothing.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { startServer, request, postJsonOk, MEANWHILED } from './lib/server.mjs';
import { ingestOk, getJ, big, jstr } from './lib/runtime.mjs';

const MiB = 1048576;
const SEC = 1000000000n;
const nowNs = () => BigInt(Date.now()) * 1000000n;
// the process started 100 s ago: its cycles' times are process_start + @offset
const START = nowNs() - 100n * SEC;

/** One Go 1.19+ gctrace line. clock/cpu in ms, heap in MB (MiB, as the runtime means). */
const gc = (n, at, clock, cpu, [before, after, live], goal, procs = 4) =>
  `gc ${n} @${at}s 0%: ${clock.join('+')} ms clock, ${cpu[0]}+${cpu[1]}/${cpu[2]}/${cpu[3]}+${cpu[4]} ms cpu, ` +
  `${before}->${after}->${live} MB, ${goal} MB goal, 0 MB stacks, 0 MB globals, ${procs} P\n`;

const STEADY = [
  gc(1, 10, [0.1, 5, 0.1], [0.4, 1, 2, 0, 0.4], [44, 46, 40], 80),
  gc(2, 20, [0.1, 5, 0.1], [0.4, 1, 2, 0, 0.4], [44, 46, 40], 80),
  gc(3, 30, [0.1, 5, 0.1], [0.4, 1, 2, 0, 0.4], [44, 46, 40], 80),
  gc(4, 40, [0.1, 5, 0.1], [0.4, 1, 2, 0, 0.4], [44, 46, 40], 80),
].join('');
// within the 10 s GC window of the last cycle (@60): these two only
const GROWTH = [
  gc(5, 55, [0.5, 10, 0.25], [1, 20, 30, 5, 2], [60, 62, 40], 80),
  gc(6, 60, [0.75, 12, 1.5], [2, 40, 60, 10, 3], [100, 95, 90], 180),
].join('');

let srv;
before(async () => {
  srv = await startServer({
    args: ['--rule-warmup', '0', '--rule-heap-min', '16MiB', '--rule-gc-window', '10s', '--rule-gc-cpu', '0',
      '--rule-pause-p99', '0'],
  });
});
after(async () => { if (srv) await srv.cleanup(); });

const push = (instance, body) =>
  ingestOk(srv, 'gctrace', { service: 'rules-svc', instance, process_start: String(START) }, body);

test('a steady heap fires nothing; x2 within the window stores an event and asks the pusher once', async () => {
  const steady = await push('i-1', STEADY);
  assert.equal(steady.accepted, 4);
  assert.equal(steady.requests, undefined, `no request on a steady heap: ${jstr(steady)}`);
  const src = steady.source_id;
  const ev0 = await getJ(srv, `/api/v1/sources/${src}/events?start=0&end=${nowNs() + 3600n * SEC}`);
  assert.deepEqual(ev0.events, []);

  const grown = await push('i-1', GROWTH);
  assert.equal(grown.source_id, src);
  assert.deepEqual(grown.requests, [{ rule: 'heap_growth', capture: 'dump,heap' }], jstr(grown));

  const ev = await getJ(srv, `/api/v1/sources/${src}/events?start=0&end=${nowNs() + 3600n * SEC}`);
  assert.equal(ev.events.length, 1, jstr(ev));
  const e = ev.events[0];
  assert.equal(e.rule, 'heap_growth');
  assert.equal(big(e.time_ns), START + 60n * SEC, 'the time of the cycle that fired it');
  assert.equal(e.value, 90 * MiB);
  assert.equal(e.threshold, 2 * 40 * MiB, 'x2 the lowest live heap within 10m (40 MB)');
  assert.match(e.message, /40\.0 MiB to 90\.0 MiB/);
  assert.equal(ev.more, false);

  // taken once: the next push's answer has no request, and the steady cycle fires nothing
  const next = await push('i-1', gc(7, 61, [0.1, 5, 0.1], [0.4, 1, 2, 0, 0.4], [95, 96, 90], 180));
  assert.equal(next.requests, undefined, jstr(next));
  // the window: events before the event's time are not in [start, end)
  const none = await getJ(srv, `/api/v1/sources/${src}/events?start=0&end=${START + 60n * SEC}`);
  assert.deepEqual(none.events, []);
});

test('/metrics shows the per-source runtime gauges computed from the pushed lines', async () => {
  // a second source that only ever had a steady heap and a goroutine dump
  await push('i-2', STEADY);
  const dump = 'goroutine 1 [running]:\nmain.main()\n\t/app/main.go:10 +0x1d\n\n' +
    'goroutine 7 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2a\n\n' +
    'goroutine 8 [chan receive]:\nmain.worker()\n\t/app/main.go:20 +0x2a\n';
  await ingestOk(srv, 'goroutine', { service: 'rules-svc', instance: 'i-2' }, dump);

  const r = await request(srv, 'GET', '/metrics');
  assert.equal(r.status, 200);
  const text = r.body.toString('utf8');
  const value = (name, instance, extra = '') => {
    const re = new RegExp(`^${name}\\{service="rules-svc",instance="${instance}"${extra}\\} (\\S+)$`, 'm');
    const m = re.exec(text);
    assert.ok(m, `${name} of ${instance}${extra} in /metrics:\n${text.slice(-3000)}`);
    return Number(m[1]);
  };
  // i-1's last cycle is gc 7 (@61): 90 MB live, 180 MB goal
  assert.equal(value('meanwhile_go_heap_live_bytes', 'i-1'), 90 * MiB);
  assert.equal(value('meanwhile_go_heap_goal_bytes', 'i-1'), 180 * MiB);
  // GC window 10 s before @61: cycles @55, @60, @61. GC CPU = stw1 + assist + background + stw2
  // (idle left out): (1+20+30+2) + (2+40+60+3) + (0.4+1+2+0.4) = 161.8 ms over 10 s x 4 P
  assert.ok(Math.abs(value('meanwhile_go_gc_cpu_fraction', 'i-1') - 0.1618 / 40) < 1e-9);
  // pauses (sweep termination and mark termination of each): 0.5 0.25 0.75 1.5 0.1 0.1 ms;
  // sorted 0.1 0.1 0.25 0.5 0.75 1.5: p50 = 3rd = 0.25 ms, p99 = 6th = 1.5 ms (nearest rank)
  assert.equal(value('meanwhile_go_gc_pause_seconds', 'i-1', ',quantile="0.5"'), 0.00025);
  assert.equal(value('meanwhile_go_gc_pause_seconds', 'i-1', ',quantile="0.99"'), 0.0015);
  // allocated between cycles: (60-46) + (100-62) + (95-95) MB over 10 s
  assert.ok(Math.abs(value('meanwhile_go_alloc_bytes_per_second', 'i-1') - 52 * MiB / 10) < 1e-3);
  assert.equal(value('meanwhile_go_goroutines', 'i-2'), 3);
  assert.equal(value('meanwhile_go_heap_live_bytes', 'i-2'), 40 * MiB);
  assert.doesNotMatch(text, /meanwhile_go_goroutines\{service="rules-svc",instance="i-1"/, 'no dump from i-1: no line');
  assert.match(text, /# TYPE meanwhile_go_gc_pause_seconds gauge/);

  // i-2 never grew: no event
  const src2 = (await push('i-2', gc(5, 45, [0.1, 5, 0.1], [0.4, 1, 2, 0, 0.4], [44, 46, 40], 80))).source_id;
  const ev = await getJ(srv, `/api/v1/sources/${src2}/events?start=0&end=${nowNs() + 3600n * SEC}`);
  assert.deepEqual(ev.events, []);
});

test('bad events parameters are 400 with the parameter named', async () => {
  const r = await request(srv, 'GET', '/api/v1/sources/1/events?start=yesterday');
  assert.equal(r.status, 400);
  assert.match(JSON.parse(r.body.toString()).error, /start/);
  const u = await request(srv, 'GET', '/api/v1/sources/999/events');
  assert.equal(u.status, 404);
});

test("a trace's timeline shows the event in its source's lane", async () => {
  const attr = (key, v) => ({ key, value: { stringValue: v } });
  const traceId = 'a1'.repeat(16);
  await postJsonOk(srv, { resourceSpans: [{
    resource: { attributes: [attr('service.name', 'rules-svc'), attr('service.instance.id', 'i-1')] },
    scopeSpans: [{ spans: [{ traceId, spanId: 'b2'.repeat(8), name: 'GET /grow', kind: 2,
      startTimeUnixNano: String(START + 59n * SEC), endTimeUnixNano: String(START + 61n * SEC) }] }],
  }] });
  const tl = await getJ(srv, `/api/v1/traces/${traceId}/timeline`);
  assert.equal(tl.sources.length, 1, jstr(tl.sources));
  const lane = tl.sources[0];
  assert.equal(lane.instance, 'i-1');
  assert.equal(lane.events.length, 1, jstr(lane.events));
  assert.equal(lane.events[0].rule, 'heap_growth');
  assert.equal(big(lane.events[0].time_ns), START + 60n * SEC);
});

// deploy/prometheus/meanwhile-alerts.yml: a Prometheus rule file (groups of named rules with
// an expr), and every meanwhile_* series and label its expressions select is one this
// server exposes now, with the source labels the annotations use. (deploy/ installs
// node-yaml, Debian's YAML parser, as deploy/lint/manifests.mjs uses it.)
test('the example alert rules select series that /metrics exposes', async () => {
  const require = createRequire(import.meta.url);
  const file = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../deploy/prometheus/meanwhile-alerts.yml');
  let YAML;
  for (const p of ['yaml', '/usr/share/nodejs/yaml']) {
    try { YAML = require(p); break; } catch { /* the next */ }
  }
  assert.ok(YAML, 'a YAML parser: apt-get install node-yaml (deploy/install-deps.sh --test)');
  const doc = YAML.parse(readFileSync(file, 'utf8'));
  const rules = doc.groups.flatMap((g) => g.rules);
  assert.ok(rules.length >= 4, `rules: ${rules.length}`);
  const text = (await request(srv, 'GET', '/metrics')).body.toString('utf8');
  const exposed = new Set([...text.matchAll(/^(meanwhile_go_[a-z_]+)\{service="[^"]*",instance="[^"]*"/gm)].map((m) => m[1]));
  const want = ['heap_live_bytes', 'heap_goal_bytes', 'goroutines', 'gc_cpu_fraction', 'gc_pause_seconds',
    'alloc_bytes_per_second'].map((n) => `meanwhile_go_${n}`);
  assert.deepEqual([...exposed].sort(), want.sort(), 'the gauges /metrics has');
  const used = new Set();
  for (const r of rules) {
    assert.equal(typeof r.alert, 'string', jstr(r));
    assert.equal(typeof r.expr, 'string', `${r.alert}: expr`);
    assert.match(r.for ?? '0s', /^\d+[smh]$/, `${r.alert}: for`);
    assert.ok(r.labels?.severity, `${r.alert}: severity`);
    for (const [, name, sel] of r.expr.matchAll(/\b(meanwhile_[a-z_]+)(\{[^}]*\})?/g)) {
      assert.ok(exposed.has(name), `${r.alert}: ${name} is not exposed`);
      used.add(name);
      for (const [, k, v] of (sel ?? '').matchAll(/([a-z_]+)="([^"]*)"/g))
        assert.match(text, new RegExp(`^${name}\\{[^}]*${k}="${v.replace('.', '\\.')}"`, 'm'), `${r.alert}: ${k}="${v}"`);
    }
    for (const ann of Object.values(r.annotations ?? {}))
      for (const [, l] of ann.matchAll(/\$labels\.([a-z_]+)/g)) assert.ok(['service', 'instance'].includes(l), `${r.alert}: $labels.${l}`);
  }
  assert.deepEqual([...used].sort(), want.sort(), 'the rules use every gauge');
});

test('the rule flags: in --help with their variables; bad values refused, naming the flag', () => {
  const run = (args, env = {}) => spawnSync(MEANWHILED, args, { env: { ...process.env, ...env }, timeout: 30000 });
  const help = run(['--help']).stdout.toString();
  for (const [flag, env, dflt] of [['rule-heap-growth', 'RULE_HEAP_GROWTH', '2'], ['rule-heap-window', 'RULE_HEAP_WINDOW', '10m'],
    ['rule-heap-min', 'RULE_HEAP_MIN', '32MiB'], ['rule-goroutine-growth', 'RULE_GOROUTINE_GROWTH', '2'],
    ['rule-goroutine-window', 'RULE_GOROUTINE_WINDOW', '10m'], ['rule-goroutine-min', 'RULE_GOROUTINE_MIN', '500'],
    ['rule-gc-cpu', 'RULE_GC_CPU', '25'], ['rule-pause-p99', 'RULE_PAUSE_P99', '50ms'],
    ['rule-gc-window', 'RULE_GC_WINDOW', '1m'], ['rule-warmup', 'RULE_WARMUP', '1m'],
    ['rule-cooldown', 'RULE_COOLDOWN', '10m'], ['rules-max-sources', 'RULES_MAX_SOURCES', '1000'], ['rules', 'RULES', 'on']])
    assert.match(help, new RegExp(`--${flag} [\\s\\S]*?\\(MEANWHILE_${env}, default ${dflt}\\)`), flag);
  for (const [args, env, re] of [
    [['--rule-heap-growth', '-1'], {}, /invalid value "-1" for --rule-heap-growth/],
    [['--rule-gc-cpu', 'lots'], {}, /--rule-gc-cpu/],
    [['--rules', 'maybe'], {}, /--rules /],
    [[], { MEANWHILE_RULE_GC_WINDOW: '0' }, /--rule-gc-window must be above 0/],
  ]) {
    const r = run(['--listen', '127.0.0.1:0', ...args], env);
    assert.equal(r.status, 2, `${args} ${jstr(env)}: ${r.stderr}`);
    assert.match(r.stderr.toString(), re);
  }
});

test('stop', async () => { await srv.stop(); });
