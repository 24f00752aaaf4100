// The public API and the server keep apart: no name declared in the public
// headers (include/meanwhile/*.h: functions, types, struct/enum/union tags,
// enum constants, macros) may appear in the server's code (server/, comments
// and strings aside). The server does not use libmeanwhile, so a public name
// there is a second, different thing under the same name: a reader (or a
// tool, a debugger, a grep) cannot tell which one is meant.
//
//   node tests/lint/public_names.mjs [--list] [ROOT]
//
// Exit 0 when the server is clear, 1 with one line per clash (file:line and
// the name), or when the check would check nothing (no public name of some
// kind found, no server file read). --list prints the public names it found.
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = process.argv.slice(2);
const list = args.includes('--list');
const root = args.find((a) => !a.startsWith('--')) ?? join(fileURLToPath(import.meta.url), '../../..');

const KEYWORDS = new Set(('auto break case char const continue default do double else enum extern float for goto if ' +
  'inline int long register restrict return short signed sizeof static struct switch typedef union unsigned void ' +
  'volatile while _Bool _Alignas _Alignof _Atomic _Noreturn _Static_assert _Thread_local __attribute__').split(' '));

// C text with comments, string and character literals blanked out (line
// breaks kept, so that line numbers stay true).
function stripC(text) {
  let out = '';
  for (let i = 0; i < text.length;) {
    const c = text[i], d = text[i + 1];
    if (c === '/' && d === '*') {
      const end = text.indexOf('*/', i + 2);
      const stop = end < 0 ? text.length : end + 2;
      out += text.slice(i, stop).replace(/[^\n]/g, ' ');
      i = stop;
    } else if (c === '/' && d === '/') {
      while (i < text.length && text[i] !== '\n') { out += ' '; i++; }
    } else if (c === '"' || c === "'") {
      out += ' ';
      i++;
      while (i < text.length && text[i] !== c && text[i] !== '\n') {
        if (text[i] === '\\') { out += ' '; i++; }
        out += ' ';
        i++;
      }
      out += ' ';
      i++;
    } else {
      out += c;
      i++;
    }
  }
  return out;
}

function tokens(text) {
  const toks = [];
  const re = /[A-Za-z_]\w*|\d[\w.]*|\S/g;
  let line = 1, last = 0, m;
  while ((m = re.exec(text))) {
    for (let k = last; k < m.index; k++) if (text[k] === '\n') line++;
    last = m.index;
    toks.push({ t: m[0], line });
  }
  return toks;
}

const isIdent = (t) => /^[A-Za-z_]\w*$/.test(t) && !KEYWORDS.has(t);

// What a public header declares, by kind.
function publicNames(text) {
  const found = { macro: new Set(), tag: new Set(), typedef: new Set(), enumerator: new Set(), function: new Set() };
  let code = stripC(text);
  for (const m of code.matchAll(/^\s*#\s*define\s+([A-Za-z_]\w*)/gm)) found.macro.add(m[1]);
  // the C++ guard's `extern "C" {` ... `}` is not a scope of the C API
  code = code.replace(/^\s*#\s*ifdef\s+__cplusplus[\s\S]*?^\s*#\s*endif.*$/gm, '');
  code = code.replace(/^\s*#.*$/gm, '');
  const toks = tokens(code);
  let brace = 0, paren = 0, stmt = [], enumDepth = -1, expectEnumerator = false;
  for (let i = 0; i < toks.length; i++) {
    const t = toks[i].t, next = toks[i + 1]?.t;
    if ((t === 'struct' || t === 'enum' || t === 'union') && next && isIdent(next)) found.tag.add(next);
    if (t === 'enum' && (next === '{' || toks[i + 2]?.t === '{')) {
      enumDepth = brace + 1;
    }
    if (t === '{') {
      brace++;
      if (brace === enumDepth) expectEnumerator = true;
      continue;
    }
    if (t === '}') {
      if (brace === enumDepth) enumDepth = -1;
      brace--;
      stmt.push(toks[i]);
      continue;
    }
    if (brace === enumDepth) {
      if (expectEnumerator && isIdent(t)) found.enumerator.add(t);
      expectEnumerator = t === ',';
      continue;
    }
    if (brace > 0) continue;
    if (t === '(') paren++;
    if (t === ')') paren--;
    if (paren === 0 && isIdent(t) && next === '(') found.function.add(t);
    if (t === ';') {
      if (stmt[0]?.t === 'typedef') {
        const fp = stmt.findIndex((s, k) => s.t === '(' && stmt[k + 1]?.t === '*' && isIdent(stmt[k + 2]?.t ?? ''));
        if (fp >= 0) found.typedef.add(stmt[fp + 2].t);
        else {
          const names = stmt.filter((s) => isIdent(s.t));
          if (names.length) found.typedef.add(names[names.length - 1].t);
        }
      }
      stmt = [];
      continue;
    }
    stmt.push(toks[i]);
  }
  // a typedef'd function type's name is not a function
  for (const n of found.typedef) found.function.delete(n);
  return found;
}

function* walk(dir, exts) {
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) yield* walk(p, exts);
    else if (exts.some((e) => name.endsWith(e))) yield p;
  }
}

const failures = [];
const pub = new Map(); // name -> "kind in file"
const incDir = join(root, 'include/meanwhile');
const headers = [...walk(incDir, ['.h'])];
const kinds = { macro: 0, tag: 0, typedef: 0, enumerator: 0, function: 0 };
for (const h of headers) {
  const found = publicNames(readFileSync(h, 'utf8'));
  for (const [kind, names] of Object.entries(found)) {
    kinds[kind] += names.size;
    for (const n of names) if (!pub.has(n)) pub.set(n, `${kind} in ${relative(root, h)}`);
  }
}
for (const [kind, n] of Object.entries(kinds))
  if (n === 0) failures.push(`no public ${kind} found in ${relative(root, incDir)}/*.h: the check would check nothing`);

if (list) for (const [n, where] of [...pub].sort()) console.log(`${n}\t${where}`);

let files = 0, idents = 0;
for (const f of walk(join(root, 'server'), ['.c', '.h'])) {
  files++;
  for (const { t, line } of tokens(stripC(readFileSync(f, 'utf8')))) {
    if (!/^[A-Za-z_]/.test(t)) continue;
    idents++;
    if (pub.has(t)) failures.push(`${relative(root, f)}:${line}: ${t} is a public name (${pub.get(t)})`);
  }
}
if (files === 0 || idents === 0) failures.push('no server code read: the check would check nothing');

if (failures.length) {
  for (const f of failures) console.error(f);
  console.error(`${failures.length} problem(s): rename the server's name; the public one is the API`);
  process.exit(1);
}
console.log(`ok: ${pub.size} public names (${Object.entries(kinds).map(([k, n]) => `${n} ${k}s`).join(', ')}) ` +
  `in ${headers.length} header(s); none of them in ${files} server files`);
