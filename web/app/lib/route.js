// URL ⇄ view state, for deep links and back/forward:
//   /                                   services and their operations
//   /service/<service>                  one service's operations
//   /operation/<service>/<name>         scatter and slowest traces of an operation
//   /compare/<service>/<name>           slow against fast spans of an operation
//   /trace/<id>?span=&t0=&t1=&snapshot=&shard=&g= a trace; t0/t1 are the zoom, in ms from its
//                                       start; g the goroutine to point at in the span's lanes
//   /snapshot/<id>?trace=&shard=        one runtime snapshot (goroutines or profile)
//   /source/<id>?shard=&t0=&t1=         one source (service instance) over its whole time;
//                                       t0/t1 the zoom, in ms from its first data
// shard: with several shards (docs/FEDERATION.md) a snapshot or source id is its shard's
// own; the `shard` of a federated answer says whose, and every request for it passes it.
// meanwhiled serves the page for these path prefixes (server/http/misc.c), so deep
// links work whatever a name holds; names are percent-encoded path segments.
// The path form is the canonical one. A link in the hash form, which any static host
// serves (/#/trace/<id>/span/<sid>, /#/trace/<id>?span=<sid>, /#/trace/<id>, or
// /#<any path above>), is turned into it on load (hashToPath, then history.replaceState).
// Pure, no DOM: tested in web/test/route.test.mjs.

/** A path segment for a name (service, operation): percent-encoded, '/' included. */
export function encodeSeg(name) {
  return encodeURIComponent(String(name));
}

/** The name back from a path segment (malformed escapes are kept as they are). */
export function decodeSeg(seg) {
  try {
    return decodeURIComponent(String(seg));
  } catch {
    return String(seg);
  }
}

/** ns → ms text with at most 6 decimals: 1500000 → "1.5". */
export function nsToMsParam(ns) {
  const s = (Math.round(ns) / 1e6).toFixed(6);
  return s.replace(/0+$/, '').replace(/\.$/, '');
}

/** ms text → ns (integer), or null if not a number. */
export function msParamToNs(s) {
  if (s == null || s === '') return null;
  const v = Number(s);
  return Number.isFinite(v) ? Math.round(v * 1e6) : null;
}

/** A trace id as the API wants it (32 lower-case hex digits), or null. */
export function normalizeTraceId(s) {
  const t = String(s || '').trim().toLowerCase().replace(/^0x/, '');
  return /^[0-9a-f]{32}$/.test(t) ? t : null;
}

/** The view state of a location. */
export function parseRoute(pathname, search = '') {
  const q = new URLSearchParams(search);
  const parts = String(pathname || '/').split('/').filter((p) => p !== '');
  const [head, ...rest] = parts;
  if (!head) return { view: 'home' };
  switch (head) {
    case 'service':
      if (rest.length === 1) return { view: 'service', service: decodeSeg(rest[0]) };
      break;
    case 'operation':
    case 'compare':
      if (rest.length === 2) return { view: head, service: decodeSeg(rest[0]), operation: decodeSeg(rest[1]) };
      break;
    case 'trace':
      if (rest.length === 1) {
        const st = { view: 'trace', traceId: decodeSeg(rest[0]).toLowerCase() };
        const span = q.get('span');
        if (span) st.span = span.toLowerCase();
        const t0 = msParamToNs(q.get('t0')), t1 = msParamToNs(q.get('t1'));
        if (t0 != null && t1 != null && t1 > t0) { st.t0 = t0; st.t1 = t1; }
        const snap = q.get('snapshot');
        if (snap && /^\d+$/.test(snap)) {
          st.snapshot = Number(snap);
          if (q.get('shard')) st.shard = q.get('shard');
        }
        const g = q.get('g');
        if (span && g && /^\d+$/.test(g)) st.goroutine = Number(g);
        return st;
      }
      break;
    case 'snapshot':
      if (rest.length === 1 && /^\d+$/.test(rest[0])) {
        const st = { view: 'snapshot', snapshotId: Number(rest[0]) };
        const tr = q.get('trace');
        if (tr) st.traceId = tr.toLowerCase();
        if (q.get('shard')) st.shard = q.get('shard');
        return st;
      }
      break;
    case 'source':
      if (rest.length === 1 && /^\d+$/.test(rest[0])) {
        const st = { view: 'source', sourceId: Number(rest[0]) };
        if (q.get('shard')) st.shard = q.get('shard');
        const t0 = msParamToNs(q.get('t0')), t1 = msParamToNs(q.get('t1'));
        if (t0 != null && t1 != null && t1 > t0) { st.t0 = t0; st.t1 = t1; }
        return st;
      }
      break;
    default:
  }
  return { view: 'notfound', path: pathname };
}

/** The URL (path and query) of a view state. */
export function formatRoute(st) {
  switch (st && st.view) {
    case 'service': return `/service/${encodeSeg(st.service)}`;
    case 'operation': return `/operation/${encodeSeg(st.service)}/${encodeSeg(st.operation)}`;
    case 'compare': return `/compare/${encodeSeg(st.service)}/${encodeSeg(st.operation)}`;
    case 'trace': {
      const q = new URLSearchParams();
      if (st.span) q.set('span', st.span);
      if (st.t0 != null && st.t1 != null) { q.set('t0', nsToMsParam(st.t0)); q.set('t1', nsToMsParam(st.t1)); }
      if (st.snapshot != null) q.set('snapshot', String(st.snapshot));
      if (st.snapshot != null && st.shard) q.set('shard', st.shard);
      if (st.span && st.goroutine != null) q.set('g', String(st.goroutine));
      const qs = q.toString();
      return `/trace/${encodeSeg(st.traceId)}${qs ? '?' + qs : ''}`;
    }
    case 'snapshot': {
      const q = new URLSearchParams();
      if (st.traceId) q.set('trace', st.traceId);
      if (st.shard) q.set('shard', st.shard);
      const qs = q.toString();
      return `/snapshot/${st.snapshotId}${qs ? '?' + qs : ''}`;
    }
    case 'source': {
      const q = new URLSearchParams();
      if (st.shard) q.set('shard', st.shard);
      if (st.t0 != null && st.t1 != null) { q.set('t0', nsToMsParam(st.t0)); q.set('t1', nsToMsParam(st.t1)); }
      const qs = q.toString();
      return `/source/${st.sourceId}${qs ? '?' + qs : ''}`;
    }
    case 'notfound': return st.path || '/';
    default: return '/';
  }
}

/** Whether two states show the same page (a trace's span/zoom/snapshot may differ). */
export function samePage(a, b) {
  if (!a || !b || a.view !== b.view) return false;
  switch (a.view) {
    case 'trace': return a.traceId === b.traceId;
    case 'snapshot': return a.snapshotId === b.snapshotId && a.traceId === b.traceId && (a.shard || '') === (b.shard || '');
    case 'service': return a.service === b.service;
    case 'source': return a.sourceId === b.sourceId && (a.shard || '') === (b.shard || '');
    case 'operation': case 'compare': return a.service === b.service && a.operation === b.operation;
    default: return true;
  }
}

/**
 * The canonical URL (path and query) of a hash-form link, or null when the hash is not
 * one (it must start with "#/"): "#/trace/<id>/span/<sid>" and "#/trace/<id>?span=<sid>"
 * → "/trace/<id>?span=<sid>"; "#/<path>?<query>" → that path's canonical form (an
 * unknown path stays as it is: the viewer then says there is no such page).
 */
export function hashToPath(hash) {
  const h = String(hash || '');
  if (!h.startsWith('#/')) return null;
  const body = h.slice(1);
  const qi = body.indexOf('?');
  let pathname = qi < 0 ? body : body.slice(0, qi);
  const q = new URLSearchParams(qi < 0 ? '' : body.slice(qi + 1));
  const parts = pathname.split('/').filter((p) => p !== '');
  if (parts.length === 4 && parts[0] === 'trace' && parts[2] === 'span') {
    pathname = `/trace/${parts[1]}`;
    q.set('span', decodeSeg(parts[3]));
  }
  const search = q.toString();
  const st = parseRoute(pathname, search);
  return st.view === 'notfound' ? pathname + (search ? '?' + search : '') : formatRoute(st);
}

/** The absolute, canonical URL of a span's page (what "copy link" gives): origin + /trace/<id>?span=<sid>. */
export function spanUrl(origin, traceId, spanId) {
  return String(origin).replace(/\/+$/, '') + formatRoute({ view: 'trace', traceId, span: spanId });
}
