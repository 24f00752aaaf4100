// docs/openapi.yaml kept true: a meanwhiled loaded with a bit of everything
// (openapi_lib.mjs: startLoaded) is asked every documented operation, with valid
// parameters, and each answer's status, content type and body are checked against what
// the spec documents for it (ajv, JSON Schema 2020-12); a few error answers are checked
// against the documented error shape too. The other way round, every route of
// server/http's route tables, and every sub-path its prefix routes dispatch on, must be
// documented, so that a new endpoint without its description fails here. The checker
// itself is shown to catch a wrong schema (a spec with one required field renamed).
// The server's log is read as in every integration test.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { request } from './lib/server.mjs';
import { fixture } from './lib/runtime.mjs';
import { loadSpec, operations, answerValidator, serverRoutes, pathRegex, startLoaded, XT, deref } from './openapi_lib.mjs';

const spec = loadSpec();
const validate = answerValidator(spec);
const OPS = operations(spec);
const { routes, subs } = serverRoutes();

let srv, ids;
before(async () => { ({ srv, ids } = await startLoaded()); });
after(async () => { if (srv) await srv.cleanup(); });

const enc = encodeURIComponent;
/** The calls: [operation key, concrete path+query, {headers, body, status}]. */
function calls() {
  const t = ids.traceId, s = ids.spanId, src = ids.sourceId, win = `start=${ids.windowStart}&end=${ids.windowEnd}`;
  const heapEnd = String(ids.heapNs + 1000n);
  const xtFrom = String(ids.T0 - 100000000n), xtTo = String(ids.T0 + 100000000n);
  const json = { 'content-type': 'application/json' };
  return [
    ['POST /v1/traces', '/v1/traces', { headers: json, body: JSON.stringify({ resourceSpans: [] }) }],
    ['POST /v1/traces', '/v1/traces', { headers: { 'content-type': 'application/x-protobuf' }, body: Buffer.alloc(0) }],
    ['POST /v1/traces', '/v1/traces', { headers: json, body: '{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"00","spanId":"01","name":"x"}]}]}]}' }],
    ['POST /v1/traces', '/v1/traces', { headers: json, body: 'not json', status: 400 }],
    ['POST /v1/traces', '/v1/traces', { headers: { 'content-type': 'text/plain' }, body: 'x', status: 415 }],
    ['POST /v1development/profiles', '/v1development/profiles', { headers: json, body: '{}' }],
    ['POST /v1development/profiles', '/v1development/profiles', { headers: json, body: '{"dictionary":{"stringTable":["x"]}}', status: 400 }],
    ['POST /api/v1/ingest/{kind}', '/api/v1/ingest/schedtrace?service=openapi&instance=i', { body: 'SCHED 0ms: gomaxprocs=2 idleprocs=2 threads=4 spinningthreads=0 needspinning=0 idlethreads=1 runqueue=0 [0 0]\n' }],
    ['POST /api/v1/ingest/{kind}', '/api/v1/ingest/goroutine?service=openapi&instance=i&trigger=rule:heap_growth', { body: fixture('goroutines-debug1-1795334482789324499.txt') }],
    ['POST /api/v1/ingest/{kind}', '/api/v1/ingest/gctrace', { body: 'x', status: 400 }],
    ['POST /api/v1/ingest/{kind}', '/api/v1/ingest/nope?service=x', { body: 'x', status: 404 }],
    ['POST /api/v1/ingest/exectrace', '/api/v1/ingest/exectrace?service=openapi&instance=i&time=1', { body: Buffer.concat([Buffer.from('go 1.26 trace\x00\x00\x00'), Buffer.alloc(100, 3)]) }],
    ['POST /api/v1/ingest/exectrace', '/api/v1/ingest/exectrace?service=openapi&x=1', { body: 'x', status: 400 }],
    ['POST /ingest', `/ingest?name=${enc('openapi.heap{instance=i}')}&from=1795334476&until=1795334486&format=pprof&spyName=gospy`, { body: fixture('heap-1795334482813101392.pb.gz') }],
    ['POST /ingest', '/ingest', { body: 'x', status: 400 }],
    ['GET /api/echo', '/api/echo', {}],
    ['GET /api/echo', '/api/echo?x=1', { status: 400 }],
    ['GET /api/status/buildinfo', '/api/status/buildinfo', {}],
    ['GET /api/traces/{traceID}', `/api/traces/${t}?start=1795334400&end=1795335000`, {}],
    ['GET /api/traces/{traceID}', `/api/traces/${t}`, { headers: { accept: 'application/protobuf' } }],
    ['GET /api/traces/{traceID}', `/api/traces/${'0'.repeat(31)}1`, { status: 404 }],
    ['GET /api/traces/{traceID}', '/api/traces/xyz', { status: 400 }],
    ['GET /api/v2/traces/{traceID}', `/api/v2/traces/${t}`, {}],
    ['GET /api/v2/traces/{traceID}', `/api/v2/traces/${t}`, { headers: { accept: 'application/protobuf' } }],
    ['GET /api/search', `/api/search?${win}&limit=5`, {}],
    ['GET /api/search', `/api/search?${win}&service=checkout&name=${enc(ids.spanName)}&minDuration=1ms&maxDuration=1h&offset=1&limit=2`, {}],
    ['GET /api/search', `/api/search?${win}&tags=${enc('service.name=checkout')}&spss=2`, {}],
    ['GET /api/search', `/api/search?${win}&q=${enc('{ resource.service.name = "checkout" && duration > 1ms }')}&limit=3`, {}],
    ['GET /api/search', '/api/search?limit=0', { status: 400 }],
    ['GET /api/search/tags', `/api/search/tags?${win}&scope=all&limit=10&maxStaleValues=5`, {}],
    ['GET /api/v2/search/tags', `/api/v2/search/tags?${win}&scope=resource&q=${enc('{}')}`, {}],
    ['GET /api/v2/search/tags', '/api/v2/search/tags', {}],
    ['GET /api/search/tag/{tag}/values', `/api/search/tag/service.name/values?${win}&limit=10`, {}],
    ['GET /api/search/tag/{tag}/values', '/api/search/tag/name/values', {}],
    ['GET /api/v2/search/tag/{identifier}/values', `/api/v2/search/tag/resource.service.name/values?${win}&q=${enc('{ kind = server }')}`, {}],
    ['GET /api/v2/search/tag/{identifier}/values', '/api/v2/search/tag/kind/values', {}],
    ['GET /api/v2/search/tag/{identifier}/values', '/api/v2/search/tag/nonsense/values', { status: 400 }],
    ['GET /api/v1/services', '/api/v1/services', {}],
    ['GET /api/v1/services', '/api/v1/services?limit=1&offset=0', {}],
    ['GET /api/v1/services', '/api/v1/services?name=checkout', {}],
    ['GET /api/v1/services/{service}/operations', `/api/v1/services/checkout/operations?${win}&limit=3`, {}],
    ['GET /api/v1/services/{service}/operations', '/api/v1/services/nobody/operations', { status: 404 }],
    ['GET /api/v1/traces/{traceID}/explain', `/api/v1/traces/${t}/explain`, {}],
    ['GET /api/v1/traces/{traceID}/explain', `/api/v1/traces/${XT.trace}/explain`, {}],
    // a federated sub-request: the spans other shards hold join the explanation
    ['POST /api/v1/traces/{traceID}/explain', `/api/v1/traces/${t}/explain`, { headers: json, body: JSON.stringify({ spans: [
      { span_id: 'ffffffffffffff01', parent_span_id: null, service: 'elsewhere', name: 'remote', start_ns: 1, duration_ns: 1 }] }) }],
    ['POST /api/v1/traces/{traceID}/explain', `/api/v1/traces/${t}/explain`, { headers: json, body: '{}', status: 400 }],
    ['GET /api/v1/traces/{traceID}/timeline', `/api/v1/traces/${t}/timeline?margin=2s`, {}],
    ['GET /api/v1/traces/{traceID}/timeline', `/api/v1/traces/${t}/timeline?margin=2`, { status: 400 }],
    ['GET /api/v1/spans/{spanID}/profile', `/api/v1/spans/${s}/profile?type=cpu&trace=${t}`, {}],
    ['GET /api/v1/spans/{spanID}/profile', `/api/v1/spans/${s}/profile?type=heap`, { status: 400 }],
    ['GET /api/v1/compare', `/api/v1/compare?service=checkout&name=${enc(ids.spanName)}&${win}&limit=5`, {}],
    ['GET /api/v1/compare', '/api/v1/compare?service=checkout', { status: 400 }],
    ['GET /api/v1/wakers', `/api/v1/wakers?service=shop&name=cache.get&limit=5`, {}],
    ['GET /api/v1/wakers', '/api/v1/wakers?service=shop&name=nothing', { status: 404 }],
    ['GET /api/v1/sources', '/api/v1/sources?limit=2', {}],
    ['GET /api/v1/sources/{id}/gc', `/api/v1/sources/${src}/gc?${win}&limit=5`, {}],
    ['GET /api/v1/sources/{id}/sched', `/api/v1/sources/${src}/sched?${win}`, {}],
    ['GET /api/v1/sources/{id}/snapshots', `/api/v1/sources/${src}/snapshots?${win}`, {}],
    ['GET /api/v1/sources/{id}/snapshots', `/api/v1/sources/${src}/snapshots?kind=heap`, {}],
    ['GET /api/v1/sources/{id}/events', `/api/v1/sources/${src}/events`, {}],
    ['GET /api/v1/sources/{id}/gc', '/api/v1/sources/0/gc', { status: 400 }],
    ['GET /api/v1/snapshots/{id}', `/api/v1/snapshots/${ids.snapshotId}?limit=3`, {}],
    ['GET /api/v1/snapshots/{id}', `/api/v1/snapshots/${ids.cpuSnapshotId}?limit=3&offset=1`, {}],
    ['GET /api/v1/snapshots/{id}', '/api/v1/snapshots/99999', { status: 404 }],
    ['GET /api/v1/snapshots/{id}/raw', `/api/v1/snapshots/${ids.snapshotId}/raw`, {}],
    ['GET /api/v1/sources/{id}/heap/growth', `/api/v1/sources/${src}/heap/growth?end=${heapEnd}&start=${String(ids.heapNs - 1000n)}&base_start=1&base_end=${String(ids.heapNs - 2000n)}&limit=5`, {}],
    ['GET /api/v1/sources/{id}/heap/growth', `/api/v1/sources/${src}/heap/growth?end=${heapEnd}&start=${String(ids.heapNs - 1000n)}&base_start=1&base_end=${String(ids.heapNs - 2000n)}&format=pprof&sample=alloc_space`, {}],
    ['GET /api/v1/sources/{id}/alloc', `/api/v1/sources/${src}/alloc?start=1&end=${heapEnd}&limit=5`, {}],
    ['GET /api/v1/sources/{id}/goroutines/growth', `/api/v1/sources/${src}/goroutines/growth?${win}&limit=5`, {}],
    ['GET /api/v1/sources/{id}/gc/pressure', `/api/v1/sources/${src}/gc/pressure?${win}&step=1s`, {}],
    ['GET /api/v1/sources/{id}/gc/pressure', `/api/v1/sources/${src}/gc/pressure?${win}`, {}],
    ['GET /api/v1/sources/{id}/series', `/api/v1/sources/${src}/series?${win}&points=50`, {}],
    ['GET /api/v1/sources/{id}/series', `/api/v1/sources/${src}/series?${win}&step=1m`, {}],
    ['GET /api/v1/sources/{id}/series', `/api/v1/sources/${src}/series?points=5&step=1m`, { status: 400 }],
    ['GET /api/v1/gc/operations', `/api/v1/gc/operations?service=checkout&${win}&limit=5`, {}],
    ['GET /api/v1/exectraces', `/api/v1/exectraces?source=${ids.shopSourceId}&limit=5`, {}],
    ['GET /api/v1/exectraces', '/api/v1/exectraces', {}],
    ['GET /api/v1/exectraces/{id}/raw', `/api/v1/exectraces/${ids.exectraceId}/raw`, {}],
    ['GET /api/v1/exectrace/spans/{traceID}/{spanID}', `/api/v1/exectrace/spans/${XT.trace}/${XT.span}`, {}],
    ['GET /api/v1/exectrace/window', `/api/v1/exectrace/window?source=${ids.shopSourceId}&from=${xtFrom}&to=${xtTo}&limit=10`, {}],
    ['GET /api/v1/exectrace/window', `/api/v1/exectrace/window?source=${ids.shopSourceId}&from=${xtTo}&to=${xtFrom}`, { status: 400 }],
    ['GET /api/v1/viewer-config', '/api/v1/viewer-config', {}],
    ['GET /api/v1/viewer-config', '/api/v1/viewer-config?x=1', { status: 400 }],
    ['GET /healthz', '/healthz', {}],
    ['GET /metrics', '/metrics', {}],
    ['GET /', '/', {}],
    ['GET /{file}', '/index.html', {}],
    ['GET /{file}', '/no-such-file.txt', { status: 404 }],
  ];
}

test('every documented operation answers as documented', async () => {
  const all = calls();
  const problems = [];
  const ok2xx = new Set();
  for (const [key, url, { headers = {}, body = null, status = 200 }] of all) {
    const [method, p] = key.split(' ');
    assert.ok(spec.paths[p]?.[method.toLowerCase()], `the test calls ${key}, which docs/openapi.yaml does not document`);
    assert.match(url.split('?')[0], pathRegex(p), `${url} is not an instance of ${p}`);
    // the query parameters used must be documented for the operation
    const op = spec.paths[p][method.toLowerCase()];
    const documented = new Set((op.parameters || []).map((x) => deref(spec, x)).filter((x) => x.in === 'query').map((x) => x.name));
    for (const name of new URLSearchParams(url.split('?')[1] || '').keys())
      if (status < 300 && !documented.has(name)) problems.push(`${key}: the call uses ${name}, which the spec does not list`);
    const r = await request(srv, method, url, { headers, body: body === null ? null : Buffer.from(body) });
    if (r.status !== status) { problems.push(`${method} ${url}: status ${r.status}, want ${status}: ${r.body.toString().slice(0, 300)}`); continue; }
    if (status < 300) ok2xx.add(key);
    if (process.env.MW_OPENAPI_DUMP) appendFileSync(process.env.MW_OPENAPI_DUMP, `== ${r.status} ${method} ${url}\n${r.body.toString('utf8').slice(0, 1500)}\n`);
    problems.push(...validate(method, p, r.status, r.headers['content-type'], r.body).map((m) => `${url}: ${m}`));
  }
  for (const { method, path: p } of OPS) {
    const key = `${method} ${p}`;
    if (!ok2xx.has(key)) problems.push(`${key} is documented but no call of this test got a 2xx from it`);
  }
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('every endpoint but the viewer\'s refuses a parameter it does not take (400 naming it)', async () => {
  const problems = [];
  const seen = new Set();
  for (const [key, url, { headers = {}, body = null, status = 200 }] of calls()) {
    if (status >= 300 || seen.has(key) || key === 'GET /' || key === 'GET /{file}') continue;
    seen.add(key);
    const [method, p] = key.split(' ');
    if (!spec.paths[p][method.toLowerCase()].responses['400']) problems.push(`${key}: docs/openapi.yaml lists no 400`);
    const r = await request(srv, method, `${url}${url.includes('?') ? '&' : '?'}zz_unknown=1`,
      { headers, body: body === null ? null : Buffer.from(body) });
    // {"error"}, google.rpc.Status in JSON, or its protobuf bytes: the name shows in each
    if (r.status !== 400 || !/unknown parameter \\?"zz_unknown\\?"/.test(r.body.toString('latin1')))
      problems.push(`${key}: ${r.status} ${r.body.toString('latin1').slice(0, 200)}`);
  }
  assert.ok(seen.size >= 40, `only ${seen.size} operations tried`);
  assert.deepEqual(problems, [], problems.join('\n'));
});

test('every route of server/http is documented', () => {
  assert.ok(routes.length >= 30, `read only ${routes.length} routes from server/http/*.c: has the table's form changed?`);
  const missing = [];
  for (const r of routes) {
    const docs = OPS.filter((o) => o.method === r.method);
    const found = r.prefix
      ? docs.some((o) => o.path.startsWith(r.path) || (r.path === '/' && o.path === '/{file}'))
      : docs.some((o) => o.path === r.path);
    if (!found) missing.push(`${r.method} ${r.path}${r.prefix ? '…' : ''} (server/http/${r.file})`);
  }
  // the sub-paths a prefix route's handler dispatches on: each in some documented path
  for (const { file, literal } of subs) {
    const seg = literal.replace(/^\//, '');
    if (!OPS.some((o) => o.path.includes(`/${seg}`))) missing.push(`sub-path "${literal}" (server/http/${file})`);
  }
  assert.deepEqual(missing, [], `routes without a description in docs/openapi.yaml:\n${missing.join('\n')}`);
  // and nothing documented that no route serves
  const unserved = OPS.filter((o) =>
    !routes.some((r) => r.method === o.method && (r.prefix ? o.path.startsWith(r.path) : o.path === r.path)));
  assert.deepEqual(unserved.map((o) => `${o.method} ${o.path}`), [], 'documented operations no route serves');
});

test('shard= is documented exactly on the routes that take it (.by_shard)', () => {
  assert.ok(routes.filter((r) => r.byShard).length >= 9, 'the .by_shard routes of server/http/*.c');
  const wrong = [];
  for (const o of OPS) {
    // the route that serves o: the longest path that matches it
    const served = routes.filter((r) => r.method === o.method && (r.prefix ? o.path.startsWith(r.path) : o.path === r.path))
      .sort((a, b) => b.path.length - a.path.length)[0];
    const takes = !!served?.byShard;
    const documents = (o.op.parameters || []).map((x) => deref(spec, x)).some((x) => x.in === 'query' && x.name === 'shard');
    if (takes !== documents) wrong.push(`${o.method} ${o.path}: ${takes ? 'takes shard= (.by_shard), not documented' : 'documents shard=, not .by_shard'}`);
  }
  assert.deepEqual(wrong, []);
});

test('the checker fails a wrong schema and an undocumented route', async () => {
  const broken = structuredClone(spec);
  const svc = broken.paths['/api/v1/services'].get.responses['200'].content['application/json'].schema;
  svc.properties.services.items.required = ['name', 'spans'];
  const r = await request(srv, 'GET', '/api/v1/services');
  assert.equal(r.status, 200);
  const errs = answerValidator(broken)('GET', '/api/v1/services', 200, r.headers['content-type'], r.body);
  assert.ok(errs.some((e) => /must have required property 'spans'/.test(e)), errs.join('\n'));
  const errs2 = validate('GET', '/api/v1/services', 418, 'application/json', Buffer.from('{}'));
  assert.match(errs2[0], /status 418 is not documented/);
  delete broken.paths['/api/v1/compare'];
  assert.ok(!operations(broken).some((o) => o.path === '/api/v1/compare'));
  assert.ok(routes.some((x) => x.path === '/api/v1/compare'), 'the route table parse sees /api/v1/compare');
});

// found by the fuzz (tests/openapi/fuzz.test.mjs, schemathesis's unsupported_method check):
// TRACE / answered 404 "not found", as if the viewer's page were not there
test('the viewer\'s page and files answer another method with 405 and Allow, unknown paths 404', async () => {
  for (const [method, p] of [['TRACE', '/'], ['POST', '/'], ['DELETE', '/index.html'], ['PUT', '/trace/abc']]) {
    const r = await request(srv, method, p, method === 'POST' ? { body: Buffer.from('x') } : {});
    assert.equal(r.status, 405, `${method} ${p}: ${r.status} ${r.body}`);
    assert.equal(r.headers.allow, 'GET, HEAD', `${method} ${p}`);
    assert.match(JSON.parse(r.body).error, new RegExp(`${method} is not allowed`));
  }
  const r = await request(srv, 'POST', '/no-such-file.txt', { body: Buffer.from('x') });
  assert.equal(r.status, 404);
  assert.equal((await request(srv, 'GET', '/')).status, 200);
});

test('meanwhiled logged nothing unexpected', () => { srv.checkLog(); });
