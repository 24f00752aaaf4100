// Limits: exceeding one gives the right status and a message naming it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, readData } from './lib/server.mjs';

test('runtime limits: goroutines per dump, samples per profile, line length', async () => {
  const s = await startServer({ args: ['--max-goroutines', '5', '--max-samples', '10', '--max-line-bytes', '200'] });
  try {
    const dump = readData('go1.19-checkout', 'goroutines-debug2-1795334476463613272.txt'); // 11 goroutines
    let r = await request(s, 'POST', '/api/v1/ingest/goroutine?service=lim', { body: dump });
    assert.equal(r.status, 413);
    assert.match(r.body.toString(), /max_goroutines/);
    const cpu = readData('go1.19-checkout', 'cpu-1795334476463713030.pb.gz'); // 118 samples
    r = await request(s, 'POST', '/api/v1/ingest/cpu?service=lim', { body: cpu });
    assert.equal(r.status, 413);
    assert.match(r.body.toString(), /max_samples|samples/);
    // a runtime line longer than the limit is skipped and counted, the rest kept
    const gc = 'gc 1 @0.100s 1%: 0.1+1.0+0.1 ms clock, 0.2+0.1/0.5/0+0.2 ms cpu, 4->5->3 MB, 5 MB goal, 0 MB stacks, 0 MB globals, 2 P\n';
    r = await request(s, 'POST', '/api/v1/ingest/gctrace?service=lim', { body: Buffer.from('x'.repeat(500) + '\n' + gc) });
    assert.equal(r.status, 200);
    const rep = JSON.parse(r.body);
    assert.equal(rep.accepted, 1);
    assert.equal(rep.skipped, 1);
    // nothing was lost by the refusals: the server still takes what fits
    const small = 'goroutine 1 [running]:\nmain.main()\n\t/src/main.go:10 +0x1\n';
    r = await request(s, 'POST', '/api/v1/ingest/goroutine?service=lim', { body: Buffer.from(small) });
    assert.equal(r.status, 200, r.body.toString());
  } finally {
    await s.stop();
  }
});

test('span limits name themselves: spans per request, attributes, value bytes', async () => {
  const s = await startServer({ args: ['--max-spans-per-request', '3', '--max-attrs-per-span', '2', '--max-value-bytes', '10'] });
  try {
    const span = (i, attrs) => ({ traceId: 'ab'.repeat(16), spanId: (i + 1).toString(16).padStart(16, '0'), name: 'x',
      startTimeUnixNano: '1795334474000000000', endTimeUnixNano: '1795334474000001000', attributes: attrs });
    const body = (spans) => Buffer.from(JSON.stringify({ resourceSpans: [{ scopeSpans: [{ spans }] }] }));
    const hdr = { 'content-type': 'application/json' };
    let r = await request(s, 'POST', '/v1/traces', { body: body([0, 1, 2, 3].map((i) => span(i, []))), headers: hdr });
    assert.equal(r.status, 413);
    assert.match(r.body.toString(), /max_spans_per_request/);
    const kv = (k, v) => ({ key: k, value: { stringValue: v } });
    r = await request(s, 'POST', '/v1/traces', { body: body([span(0, [kv('a', '1'), kv('b', '2'), kv('c', '3')]), span(1, [kv('a', 'x'.repeat(20))]), span(2, [])]), headers: hdr });
    assert.equal(r.status, 200);
    const ps = JSON.parse(r.body).partialSuccess;
    assert.equal(ps.rejectedSpans, '2');
    assert.match(ps.errorMessage, /max_attrs_per_span|max_value_bytes/);
  } finally {
    await s.stop();
  }
});
