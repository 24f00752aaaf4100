// A capture the agent took out of schedule says why: the trigger is kept with
// the snapshot and shown in lists; anything but a short word is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, request, readData, getJson } from './lib/server.mjs';

test('trigger is stored with the snapshot and listed; a bad one is 400', async () => {
  const s = await startServer();
  try {
    const dump = readData('go1.19-checkout', 'goroutines-debug2-1795334476463613272.txt');
    let r = await request(s, 'POST', '/api/v1/ingest/goroutine?service=trig&time=1795334476463613272&trigger=heap', { body: dump });
    assert.equal(r.status, 200, r.body.toString());
    const id = JSON.parse(r.body).snapshot_id;
    r = await request(s, 'POST', '/api/v1/ingest/cpu?service=trig', { body: readData('go1.19-checkout', 'cpu-1795334476463713030.pb.gz') });
    assert.equal(r.status, 200);
    const snap = await getJson(s, `/api/v1/snapshots/${id}`);
    assert.equal(snap.meta.trigger, 'heap');
    const src = (await getJson(s, '/api/v1/sources')).sources.find((x) => x.service === 'trig');
    const list = (await getJson(s, `/api/v1/sources/${src.id}/snapshots?start=0`)).snapshots;
    assert.equal(list.find((x) => x.id === id).trigger, 'heap');
    assert.equal(list.find((x) => x.kind === 'cpu').trigger, undefined, 'a scheduled capture has none');
    r = await request(s, 'POST', '/api/v1/ingest/goroutine?service=trig&trigger=Heap%20Jump', { body: dump });
    assert.equal(r.status, 400);
    assert.match(r.body.toString(), /trigger/);
  } finally {
    await s.stop();
  }
});
