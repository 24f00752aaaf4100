// The meanwhiled HTTP API as the viewer uses it (docs/API.md): one function per endpoint,
// each resolving to the parsed JSON or throwing an ApiError with the server's
// {"error": "..."} message and the status (404: an unknown trace, snapshot, service...).
// When meanwhiled guards queries with tokens (--query-token-file), requests carry the
// token set with setToken() as "Authorization: Bearer"; a 401/403 answer is an ApiError
// with needsToken. Uses fetch only (no DOM), so it runs in node too.

let token = null;
/** The query token to send (null: none). */
export function setToken(t) { token = t ? String(t).trim() : null; }
export const getToken = () => token;
const authHeaders = () => (token ? { authorization: `Bearer ${token}` } : {});

export class ApiError extends Error {
  constructor(status, message, path) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.path = path;
  }
  get notFound() { return this.status === 404; }
  get needsToken() { return this.status === 401 || this.status === 403; }
}

/** GET a JSON endpoint; `base` is '' in the page (same origin). */
export async function getJson(path, { signal, base = '' } = {}) {
  let r;
  try {
    r = await fetch(base + path, { signal, headers: { accept: 'application/json', ...authHeaders() } });
  } catch (e) {
    if (e && e.name === 'AbortError') throw e;
    throw new ApiError(0, `cannot reach meanwhiled (${e && e.message ? e.message : e})`, path);
  }
  const text = await r.text();
  let body = null;
  try { body = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  if (!r.ok) {
    const msg = body && body.error ? body.error : `${r.status} ${r.statusText || ''}`.trim() + (text && !body ? `: ${text.slice(0, 200)}` : '');
    throw new ApiError(r.status, msg, path);
  }
  if (body == null) throw new ApiError(r.status, 'the answer is not JSON', path);
  return body;
}

const enc = encodeURIComponent;
const qs = (o) => {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(o)) if (v != null && v !== '') p.set(k, String(v));
  const s = p.toString();
  return s ? '?' + s : '';
};

/**
 * The rows of a paged listing ("more", "next_offset": docs/API.md), page after page,
 * until there are none left or `max` are in; resolves {rows, more}.
 */
export async function allPages(fetchPage, key, max = 20000) {
  const rows = [];
  for (let offset = 0; ;) {
    const j = await fetchPage(offset);
    rows.push(...(j[key] || []));
    if (!j.more || !j.next_offset || rows.length >= max) return { rows, more: !!j.more };
    offset = j.next_offset;
  }
}

export const api = {
  /** One page of services (params: offset, limit, name). */
  services: (o, params = {}) => getJson(`/api/v1/services${qs(params)}`, o),
  /** Every service, up to 20,000. */
  allServices: (o) => allPages((offset) => api.services(o, { offset }), 'services'),
  /** One page of a service's operations (params: offset, limit, start, end). */
  operations: (service, o, params = {}) => getJson(`/api/v1/services/${enc(service)}/operations${qs(params)}`, o),
  /** Every operation of a service, up to 20,000. */
  allOperations: (service, o) => allPages((offset) => api.operations(service, o, { offset }), 'operations'),
  search: (params, o) => getJson(`/api/search${qs(params)}`, o),
  trace: (id, o) => getJson(`/api/traces/${enc(id)}`, o),
  timeline: (id, o, margin) => getJson(`/api/v1/traces/${enc(id)}/timeline${qs({ margin })}`, o),
  explain: (id, o) => getJson(`/api/v1/traces/${enc(id)}/explain`, o),
  /** A snapshot; shard: the shard whose id it is (the `shard` of a federated answer; none on one server). */
  snapshot: (id, o, limit = 10000, shard) => getJson(`/api/v1/snapshots/${enc(id)}${qs({ limit, shard })}`, o),
  compare: (service, name, o) => getJson(`/api/v1/compare${qs({ service, name })}`, o),
  /** Which operations' spans ended the waits of an operation's slow spans (wake edges); 404: no spans in the window. */
  wakers: (service, name, o) => getJson(`/api/v1/wakers${qs({ service, name })}`, o),
  /** The stored execution traces that overlap [from, to) (unix ns; params: source, from, to, limit), newest first. */
  exectraces: (params, o) => getJson(`/api/v1/exectraces${qs(params)}`, o),
  /** A span's goroutines in the stored execution traces (docs/EXECTRACE.md "Reads"); 404: no trace covers it. */
  exectraceSpan: (traceId, spanId, o, shard) => getJson(`/api/v1/exectrace/spans/${enc(traceId)}/${enc(spanId)}${qs({ shard })}`, o),
  /** One page of sources (params: offset, limit, shard). */
  sources: (o, params = {}) => getJson(`/api/v1/sources${qs(params)}`, o),
  /** Every source (of one shard, with shard), up to 20,000. */
  allSources: (o, shard) => allPages((offset) => api.sources(o, { offset, shard }), 'sources'),
  /** A source's reads over [start, end] (params as docs/API.md "Reading" and "Growth"; shard: whose source id it is). */
  sourceGc: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/gc${qs(params)}`, o),
  sourceSnapshots: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/snapshots${qs(params)}`, o),
  sourceEvents: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/events${qs(params)}`, o),
  /** A source's runtime per step over [start, end] (params: start, end, points | step), from rollups or raw rows. */
  series: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/series${qs(params)}`, o),
  gcPressure: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/gc/pressure${qs(params)}`, o),
  goroutineGrowth: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/goroutines/growth${qs(params)}`, o),
  heapGrowth: (id, params, o) => getJson(`/api/v1/sources/${enc(id)}/heap/growth${qs(params)}`, o),
  /** What the viewer needs of the server's options: {grafana: {url, datasource_uid} | null}. */
  viewerConfig: (o) => getJson('/api/v1/viewer-config', o),
};

let viewerConfigP = null;
/**
 * The server's viewer settings, asked once per page load; {grafana: null} when they
 * cannot be had (no token yet, an older meanwhiled): a failure is not kept, so the
 * next call asks again.
 */
export function viewerConfig() {
  if (!viewerConfigP) {
    viewerConfigP = api.viewerConfig().catch(() => { viewerConfigP = null; return { grafana: null }; });
  }
  return viewerConfigP;
}
/** The heap growth between two profiles as a gzip'd pprof (`go tool pprof` opens it). */
export const heapGrowthPprofUrl = (id, params) => `/api/v1/sources/${enc(id)}/heap/growth${qs({ ...params, format: 'pprof' })}`;

/** The download URL of a span's pprof (cpu or goroutine), only its labelled samples. */
export const spanProfileUrl = (spanId, type, traceId, shard) => `/api/v1/spans/${enc(spanId)}/profile${qs({ type, trace: traceId, shard })}`;
export const snapshotRawUrl = (id, shard) => `/api/v1/snapshots/${enc(id)}/raw${qs({ shard })}`;
/** A stored execution trace as it was pushed (`go tool trace` opens it). */
export const exectraceRawUrl = (id, shard) => `/api/v1/exectraces/${enc(id)}/raw${qs({ shard })}`;

/** GET a file of the API as a Blob (downloads that need the token); throws ApiError. */
export async function getBlob(path, { signal } = {}) {
  const r = await fetch(path, { signal, headers: authHeaders() });
  if (!r.ok) {
    let msg = `${r.status} ${r.statusText || ''}`.trim();
    try { const j = JSON.parse(await r.text()); if (j && j.error) msg = j.error; } catch { /* not JSON */ }
    throw new ApiError(r.status, msg, path);
  }
  return r.blob();
}
