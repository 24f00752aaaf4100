// The link back to Grafana Explore (app/lib/grafana.js), against the URL form Grafana
// documents for links from external tools: /explore?schemaVersion=1&panes=<URL-encoded
// JSON>, each pane {datasource: uid, queries: [{refId, datasource: {uid, type}, …}],
// range: {from, to}} with from/to in ms since the epoch (or relative, like now-1h).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { grafanaExploreUrl, grafanaRoot } from '../app/lib/grafana.js';

const T = 'd3779ae135f5eb93dab67b4afafed1ac';

test('no Grafana configured, no link', () => {
  assert.equal(grafanaExploreUrl(null, T), null);
  assert.equal(grafanaExploreUrl({ url: 'http://g', datasource_uid: '' }, T), null);
  assert.equal(grafanaExploreUrl({ url: '', datasource_uid: 'x' }, T), null);
  assert.equal(grafanaExploreUrl({ url: 'http://g', datasource_uid: 'x' }, ''), null);
});

test('Explore on the Tempo data source, the trace id as its TraceQL query', () => {
  const href = grafanaExploreUrl({ url: 'https://grafana.example.com/sub/', datasource_uid: 'mw-tempo_1' }, T,
    { startNs: 1700000000123456789, endNs: 1700000001500000000 });
  const u = new URL(href);
  assert.equal(u.origin + u.pathname, 'https://grafana.example.com/sub/explore');
  assert.equal(u.searchParams.get('schemaVersion'), '1');
  assert.ok(href.includes('/explore?schemaVersion=1&panes='), href);
  const panes = JSON.parse(u.searchParams.get('panes'));
  const ids = Object.keys(panes);
  assert.equal(ids.length, 1);
  const p = panes[ids[0]];
  assert.equal(p.datasource, 'mw-tempo_1');
  assert.deepEqual(p.queries, [{ refId: 'A', datasource: { type: 'tempo', uid: 'mw-tempo_1' }, queryType: 'traceql', query: T }]);
  // the trace's window, a minute either side, in ms since the epoch
  assert.deepEqual(p.range, { from: String(1700000000123 - 60000), to: String(1700000001500 + 60000) });
  // the JSON is fully encoded: no raw braces, quotes or spaces in the URL
  assert.doesNotMatch(href, /[{}" ]/);
});

test('without the trace\'s times, the last hour', () => {
  const u = new URL(grafanaExploreUrl({ url: 'http://localhost:3000', datasource_uid: 'abc' }, T));
  assert.deepEqual(JSON.parse(u.searchParams.get('panes')).mw.range, { from: 'now-1h', to: 'now' });
  assert.equal(grafanaRoot('http://localhost:3000///'), 'http://localhost:3000');
});
