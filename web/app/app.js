// Meanwhile's web viewer: the router and the page shell. Each URL (lib/route.js) maps to
// a view module that mounts into <main>; moving within the same page (a trace's span,
// zoom or snapshot) updates the view in place, and back/forward replay the URL states.
// A link in the hash form (/#/trace/<id>/span/<sid>: lib/route.js) becomes the path form
// on load and when only the hash changes, replacing the history entry.
// Global keys: / focuses the trace-id box, ? shows the keys, Escape closes panels; the
// views handle the rest (j/k, Enter, +/−/0, arrows).

import { parseRoute, formatRoute, samePage, normalizeTraceId, hashToPath } from './lib/route.js';
import { setToken, getToken, getBlob } from './lib/api.js';
import { h, clear } from './ui/dom.js';
import { mountHome, mountService } from './views/home.js';
import { mountOperation } from './views/operation.js';
import { mountCompare } from './views/compare.js';
import { mountTrace } from './views/trace.js';
import { mountSnapshot } from './views/snapshot.js';
import { mountSource } from './views/source.js';

const main = document.getElementById('main');
const crumbs = document.getElementById('crumbs');
const form = document.getElementById('trace-form');
const input = document.getElementById('trace-input');
const formMsg = document.getElementById('trace-msg');
const live = document.getElementById('announce');
const help = document.getElementById('help');

let current = null; // {state, view}

const ctx = {
  href: (st) => formatRoute(st),
  /** Go to another page (or the same one in another state), adding a history entry. */
  navigate(st, { replace = false } = {}) {
    const url = formatRoute(st);
    if (url !== location.pathname + location.search) history[replace ? 'replaceState' : 'pushState'](null, '', url);
    render(st);
  },
  navigateHref(href) { const u = new URL(href, location.href); ctx.navigate(parseRoute(u.pathname, u.search)); },
  /** Record a state the view already shows (a new history entry). */
  push(st) {
    const url = formatRoute(st);
    if (url !== location.pathname + location.search) history.pushState(null, '', url);
    if (current) current.state = st;
  },
  /** Record a state the view already shows, replacing the current entry (zoom and pan). */
  replace(st) {
    const url = formatRoute(st);
    if (url !== location.pathname + location.search) history.replaceState(null, '', url);
    if (current) current.state = st;
  },
  setTitle(t) { document.title = `${t} · Meanwhile`; },
  setCrumbs(list) {
    clear(crumbs);
    list.forEach((c, i) => {
      if (i) crumbs.append(h('span', { class: 'sep', 'aria-hidden': 'true' }, '›'));
      crumbs.append(c.href ? h('a', { href: c.href, class: c.mono ? 'num' : '' }, c.text) : h('span', { class: c.mono ? 'num' : '', 'aria-current': i === list.length - 1 ? 'page' : null }, c.text));
    });
  },
  announce(text) { live.textContent = ''; setTimeout(() => { live.textContent = text; }, 30); },
};

const VIEWS = {
  home: mountHome, service: mountService, operation: mountOperation, compare: mountCompare,
  trace: mountTrace, snapshot: mountSnapshot, source: mountSource,
};

function notFound(root, st) {
  ctx.setTitle('Not found');
  ctx.setCrumbs([{ text: 'Not found' }]);
  const el = h('section', { class: 'state error' }, h('strong', null, 'No such page'),
    h('div', { class: 'detail' }, `${st.path} is not a page of this viewer. `, h('a', { href: '/' }, 'Go to the services.')));
  root.append(el);
  return { update() {}, destroy() { el.remove(); }, onKey: () => false };
}

function render(st) {
  if (current && samePage(current.state, st)) {
    current.state = st;
    current.view.update(st);
    return;
  }
  if (current) current.view.destroy();
  clear(main);
  window.scrollTo(0, 0);
  const mount = VIEWS[st.view] || notFound;
  current = { state: st, view: mount(main, st, ctx) };
  document.body.dataset.view = st.view;
}

// a query token (servers started with --query-token-file) lives in this tab only
const TOKEN_KEY = 'meanwhile.query-token';
try { setToken(sessionStorage.getItem(TOKEN_KEY)); } catch { /* storage disabled */ }
document.addEventListener('mw-token', (ev) => {
  setToken(ev.detail);
  try { sessionStorage.setItem(TOKEN_KEY, ev.detail); } catch { /* storage disabled */ }
  const st = parseRoute(location.pathname, location.search);
  if (current) { current.view.destroy(); current = null; }
  render(st);
});

/** A download of an API file with the token in the header (a plain link cannot carry it). */
async function downloadWithToken(a) {
  try {
    const blob = await getBlob(a.getAttribute('href'));
    const url = URL.createObjectURL(blob);
    const tmp = h('a', { href: url, download: a.getAttribute('download') || '' });
    document.body.append(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(url), 10000);
  } catch (e) {
    ctx.announce(`Download failed: ${e.message}`);
    window.alert(`Download failed: ${e.message}`);
  }
}

// same-origin links go through the router
document.addEventListener('click', (ev) => {
  if (ev.defaultPrevented || ev.button !== 0 || ev.metaKey || ev.ctrlKey || ev.shiftKey || ev.altKey) return;
  const a = ev.target.closest && ev.target.closest('a[href]');
  if (a && a.hasAttribute('download') && getToken() && a.getAttribute('href').startsWith('/api/')) {
    ev.preventDefault();
    downloadWithToken(a);
    return;
  }
  if (!a || a.hasAttribute('download') || a.target) return;
  const href = a.getAttribute('href');
  if (!href || !href.startsWith('/') || href.startsWith('//') || href.startsWith('/api/')) return;
  ev.preventDefault();
  ctx.navigateHref(href);
});

window.addEventListener('popstate', () => render(parseRoute(location.pathname, location.search)));

/** Turns a hash-form link into the canonical path form (same entry); true if it did. */
function hashToCanonical() {
  const to = hashToPath(location.hash);
  if (to == null) return false;
  history.replaceState(null, '', to);
  return true;
}
// a hash link pasted into a tab already on the viewer changes only the hash: no load
window.addEventListener('hashchange', () => { if (hashToCanonical()) render(parseRoute(location.pathname, location.search)); });

form.addEventListener('submit', (ev) => {
  ev.preventDefault();
  const v = input.value.trim();
  const fromUrl = /\/trace\/([0-9a-fA-F]{32})/.exec(v);
  const id = normalizeTraceId(fromUrl ? fromUrl[1] : v);
  if (!id) {
    formMsg.textContent = v ? 'A trace id is 32 hexadecimal digits.' : 'Paste a trace id.';
    formMsg.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    return;
  }
  formMsg.hidden = true;
  input.removeAttribute('aria-invalid');
  input.value = '';
  input.blur();
  ctx.navigate({ view: 'trace', traceId: id });
});
input.addEventListener('input', () => { formMsg.hidden = true; input.removeAttribute('aria-invalid'); });

document.addEventListener('keydown', (ev) => {
  if (ev.defaultPrevented || ev.ctrlKey || ev.metaKey || ev.altKey) return;
  const t = ev.target;
  const typing = t && (t.tagName === 'INPUT' || t.tagName === 'TEXTAREA' || t.tagName === 'SELECT' || t.isContentEditable);
  if (typing) {
    if (ev.key === 'Escape') { t.blur(); ev.preventDefault(); }
    return;
  }
  if (ev.key === '/') { ev.preventDefault(); input.focus(); input.select(); return; }
  if (ev.key === '?') { help.hidden = !help.hidden; ev.preventDefault(); return; }
  if (ev.key === 'Escape' && !help.hidden) { help.hidden = true; ev.preventDefault(); return; }
  if (t && t.tagName === 'BUTTON' && ev.key === 'Enter') return; // let buttons work
  if (t && t.tagName === 'A' && ev.key === 'Enter') return; // and links
  if (current && current.view.onKey(ev)) ev.preventDefault();
});
document.getElementById('help-close').addEventListener('click', () => { help.hidden = true; });
document.getElementById('help-btn').addEventListener('click', () => { help.hidden = !help.hidden; });

hashToCanonical();
render(parseRoute(location.pathname, location.search));
