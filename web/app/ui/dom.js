// Small DOM helpers for the views: h() builds elements (attributes, properties starting
// with "on" as listeners, children as nodes or text), plus clearing, state boxes
// (loading / empty / error) and a stacked bar. The only module besides the views and
// app.js that touches the DOM.

/** h('div', {class: 'x', onclick: f, dataset: {n: 1}}, 'text', child, [more]) */
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v == null || v === false) continue;
      if (k === 'class') el.className = v;
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (k === 'style' && typeof v === 'object') Object.assign(el.style, v);
      else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
      else if (k === 'text') el.textContent = v;
      else if (v === true) el.setAttribute(k, '');
      else el.setAttribute(k, String(v));
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c == null || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

export function clear(el) {
  while (el.firstChild) el.removeChild(el.firstChild);
  return el;
}

/** A "loading" line with a spinner. */
export const loadingBox = (what) => h('div', { class: 'state loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `Loading ${what}…`);

/**
 * An error box: the API's message, and what it means for the reader. When the server
 * wants a query token (401/403), a field to give one; it is announced with a
 * "mw-token" event on document, which the app handles.
 */
export function errorBox(err, what) {
  const status = err && err.status;
  if (status === 401 || status === 403) {
    const input = h('input', { type: 'password', class: 'filter', placeholder: 'query token', 'aria-label': 'Query token', autocomplete: 'off' });
    const form = h('form', { class: 'token-form', onsubmit: (e) => {
      e.preventDefault();
      if (input.value.trim()) document.dispatchEvent(new CustomEvent('mw-token', { detail: input.value.trim() }));
    } }, input, h('button', { class: 'btn', type: 'submit' }, 'Use token'));
    return h('div', { class: 'state error', role: 'alert', dataset: { status: String(status) } },
      h('strong', null, status === 401 ? 'This server needs a query token' : 'The query token was refused'),
      h('div', { class: 'detail' }, err.message),
      h('p', null, 'It is kept in this tab only (sessionStorage) and sent as Authorization: Bearer.'), form);
  }
  const title = status === 404 ? `${what} not found` : status === 400 ? `Bad request for ${what}` : `Could not load ${what}`;
  return h('div', { class: 'state error', role: 'alert', dataset: { status: status == null ? '' : String(status) } },
    h('strong', null, title), h('div', { class: 'detail' }, err && err.message ? err.message : String(err)));
}

/** An empty-state box. */
export const emptyBox = (text, hint) => h('div', { class: 'state empty' }, h('div', null, text), hint ? h('div', { class: 'hint' }, hint) : null);

/** A stacked horizontal bar from segments [{key, label, color, share, value, pattern}] with titles. */
export function stackedBar(segs, { title = (s) => s.label, cls = '' } = {}) {
  const bar = h('div', { class: `stacked ${cls}`, role: 'img', 'aria-label': segs.map((s) => `${s.label} ${(s.share * 100).toFixed(1)}%`).join(', ') });
  for (const s of segs) {
    bar.append(h('div', {
      class: `seg${s.pattern ? ' pattern' : ''}`, title: title(s), dataset: { key: s.key },
      style: { width: `${(s.share * 100).toFixed(3)}%`, background: s.pattern ? null : s.color },
    }));
  }
  return bar;
}

/** A legend chip. */
export const swatch = (color, pattern) => h('span', { class: `swatch${pattern ? ' pattern' : ''}`, style: pattern ? null : { background: color } });
