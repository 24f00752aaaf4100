// Links from the viewer back to Grafana, when meanwhiled was started with --grafana-url
// and --grafana-datasource-uid (GET /api/v1/viewer-config). The Explore URL is the form
// Grafana documents for links from external tools ("Generate Explore URLs from external
// tools", Explore docs of Grafana 11 and 12): /explore?schemaVersion=1&panes=<JSON>,
// one pane on the Tempo data source whose TraceQL query is the trace id (a trace id in
// the TraceQL editor opens that trace). Pure, no DOM: tested in web/test/grafana.test.mjs.

/** Grafana's root URL without trailing slashes. */
export function grafanaRoot(url) {
  return String(url || '').replace(/\/+$/, '');
}

/**
 * Grafana Explore showing one trace on the configured Tempo data source.
 * grafana: {url, datasource_uid} (viewer-config's "grafana"); range: {startNs, endNs}
 * of the trace (optional; Explore's range is then the trace's ± 1 minute, else the
 * last hour). Null without a configured Grafana or a trace id.
 */
export function grafanaExploreUrl(grafana, traceId, range = null) {
  if (!grafana || !grafana.url || !grafana.datasource_uid || !traceId) return null;
  const uid = String(grafana.datasource_uid);
  const r = range && Number.isFinite(range.startNs) && Number.isFinite(range.endNs)
    ? { from: String(Math.floor(range.startNs / 1e6) - 60000), to: String(Math.ceil(range.endNs / 1e6) + 60000) }
    : { from: 'now-1h', to: 'now' };
  const panes = {
    mw: {
      datasource: uid,
      queries: [{ refId: 'A', datasource: { type: 'tempo', uid }, queryType: 'traceql', query: String(traceId) }],
      range: r,
    },
  };
  return `${grafanaRoot(grafana.url)}/explore?schemaVersion=1&panes=${encodeURIComponent(JSON.stringify(panes))}`;
}
