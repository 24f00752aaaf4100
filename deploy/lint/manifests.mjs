// Lints the deploy files a container-less machine can check: every YAML file
// under deploy/kubernetes and deploy/otel parses (a real YAML parser: the `yaml`
// package, Debian's node-yaml or from npm), the Kubernetes objects hang together
// (selectors match labels, mounts name volumes, the StatefulSet keeps its data on
// a claim, nothing runs as root, $(VAR) references are defined), the
// OpenTelemetry Collector pipeline only uses defined components and exports
// traces with otlphttp, and the Containerfiles end in a non-root stage with a
// volume. Exit 0 when all hold, 1 with the reasons, 77 (ctest's skip) without a
// YAML parser.
//   node deploy/lint/manifests.mjs
import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const DEPLOY = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

function loadYaml() {
  for (const p of ['yaml', '/usr/share/nodejs/yaml', '/usr/lib/nodejs/yaml',
    path.join(DEPLOY, '..', 'tests', 'integration', 'node_modules', 'yaml')]) {
    try { return require(p); } catch { /* the next */ }
  }
  return null;
}
const YAML = loadYaml();
if (!YAML) {
  console.error('no YAML parser: apt-get install node-yaml (or npm install yaml): skipped');
  process.exit(77);
}

const problems = [];
const fail = (file, msg) => problems.push(`${path.relative(DEPLOY, file)}: ${msg}`);
const files = (dir, re) => readdirSync(path.join(DEPLOY, dir)).filter((f) => re.test(f)).map((f) => path.join(DEPLOY, dir, f));

function parseAll(file) {
  const docs = YAML.parseAllDocuments(readFileSync(file, 'utf8'));
  const out = [];
  for (const d of docs) {
    for (const e of d.errors) fail(file, `YAML error: ${e.message}`);
    for (const w of d.warnings) fail(file, `YAML warning: ${w.message}`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  if (!out.length) fail(file, 'no document');
  return out;
}

// ---------------------------------------------------------------- Kubernetes

function checkPodSpec(file, owner, spec) {
  const volumes = new Set((spec.volumes || []).map((v) => v.name));
  for (const t of owner.spec.volumeClaimTemplates || []) volumes.add(t.metadata.name);
  const sc = spec.securityContext || {};
  if (sc.runAsNonRoot !== true) fail(file, `${owner.kind} ${owner.metadata.name}: pod securityContext.runAsNonRoot is not true`);
  if (sc.runAsUser === 0) fail(file, `${owner.kind} ${owner.metadata.name}: runs as root`);
  if (!Array.isArray(spec.containers) || !spec.containers.length) fail(file, `${owner.metadata.name}: no containers`);
  for (const c of spec.containers || []) {
    if (!c.name || !c.image) fail(file, `${owner.metadata.name}: a container without name or image`);
    for (const m of c.volumeMounts || []) {
      if (!volumes.has(m.name)) fail(file, `${owner.metadata.name}/${c.name}: mounts undeclared volume ${m.name}`);
    }
    const defined = new Set();
    for (const e of c.env || []) {
      for (const [, ref] of String(e.value ?? '').matchAll(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g))
        if (!defined.has(ref)) fail(file, `${owner.metadata.name}/${c.name}: ${e.name} uses $(${ref}) before it is defined`);
      defined.add(e.name);
    }
    for (const p of ['readinessProbe', 'livenessProbe']) {
      const port = c[p]?.httpGet?.port;
      if (typeof port === 'string' && !(c.ports || []).some((x) => x.name === port))
        fail(file, `${owner.metadata.name}/${c.name}: ${p} names port ${port}, which the container does not declare`);
    }
  }
  return spec;
}

const objects = [];
for (const file of files('kubernetes', /\.ya?ml$/)) {
  for (const o of parseAll(file)) {
    if (!o.apiVersion || !o.kind || !o.metadata?.name) { fail(file, 'an object without apiVersion, kind or metadata.name'); continue; }
    objects.push({ file, o });
  }
}
const byKind = (k) => objects.filter((x) => x.o.kind === k);
for (const { file, o } of [...byKind('StatefulSet'), ...byKind('Deployment')]) {
  const labels = o.spec?.template?.metadata?.labels || {};
  const sel = o.spec?.selector?.matchLabels || {};
  for (const [k, v] of Object.entries(sel)) if (labels[k] !== v) fail(file, `${o.metadata.name}: selector ${k}=${v} does not match the pod labels`);
  checkPodSpec(file, o, o.spec.template.spec);
}
const sts = byKind('StatefulSet').find((x) => x.o.metadata.name === 'meanwhiled');
if (!sts) fail(path.join(DEPLOY, 'kubernetes'), 'no StatefulSet meanwhiled');
else {
  const claims = sts.o.spec.volumeClaimTemplates || [];
  if (!claims.length) fail(sts.file, 'the StatefulSet has no volumeClaimTemplates');
  const mounts = sts.o.spec.template.spec.containers.flatMap((c) => c.volumeMounts || []);
  if (!claims.some((c) => mounts.some((m) => m.name === c.metadata.name))) fail(sts.file, 'no container mounts the claim');
  if (sts.o.spec.replicas !== 1) fail(sts.file, 'meanwhiled keeps one SQLite database: replicas must be 1');
}
for (const { file, o } of byKind('Service')) {
  const sel = o.spec?.selector || {};
  const target = objects.find(({ o: w }) => ['StatefulSet', 'Deployment'].includes(w.kind) &&
    Object.entries(sel).every(([k, v]) => w.spec.template.metadata.labels?.[k] === v));
  if (!target) fail(file, `Service ${o.metadata.name} selects no workload`);
  else {
    const ports = target.o.spec.template.spec.containers.flatMap((c) => c.ports || []);
    for (const p of o.spec.ports || [])
      if (typeof p.targetPort === 'string' && !ports.some((x) => x.name === p.targetPort))
        fail(file, `Service ${o.metadata.name}: targetPort ${p.targetPort} is no container port`);
  }
}
const app = byKind('Deployment').find(({ o }) => o.spec.template.spec.containers.some((c) => c.name === 'meanwhile-agent'));
if (!app) fail(path.join(DEPLOY, 'kubernetes'), 'no Deployment with a meanwhile-agent sidecar');
else if (app.o.spec.template.spec.containers.length < 2) fail(app.file, 'the agent is alone in its pod: not a sidecar');

// ---------------------------------------------------------------- OpenTelemetry Collector

for (const file of files('otel', /\.ya?ml$/)) {
  for (const c of parseAll(file)) {
    for (const [name, p] of Object.entries(c.service?.pipelines || {})) {
      for (const part of ['receivers', 'processors', 'exporters'])
        for (const id of p[part] || []) if (!(id in (c[part] || {}))) fail(file, `pipeline ${name} uses undefined ${part.slice(0, -1)} ${id}`);
    }
    const traces = c.service?.pipelines?.traces;
    if (!traces) fail(file, 'no traces pipeline');
    const exp = (traces?.exporters || []).filter((id) => id.split('/')[0] === 'otlphttp');
    if (!exp.length) fail(file, 'traces are not exported with otlphttp');
    for (const id of exp) if (!/^https?:\/\/[^/]+:4318\/?$/.test(c.exporters[id]?.endpoint || '')) fail(file, `${id}: endpoint should be meanwhiled's base URL (port 4318)`);
  }
}

// ---------------------------------------------------------------- Containerfiles

for (const file of files('container', /\.Containerfile$/)) {
  const lines = readFileSync(file, 'utf8').replace(/\\\n/g, ' ').split('\n').map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
  const stages = [];
  for (const l of lines) {
    const [ins] = l.split(/\s+/);
    if (ins.toUpperCase() === 'FROM') stages.push([]);
    if (!stages.length) { fail(file, `instruction before FROM: ${l}`); continue; }
    stages[stages.length - 1].push(l);
  }
  for (const s of stages) if (!/^FROM\s+debian:/i.test(s[0])) fail(file, `not Debian based: ${s[0]}`);
  const last = stages[stages.length - 1] || [];
  const user = last.filter((l) => /^USER\s/i.test(l)).pop();
  if (!user) fail(file, 'the final stage sets no USER');
  else if (/^USER\s+(root|0)(\b|:)/i.test(user)) fail(file, `runs as root: ${user}`);
  if (!last.some((l) => /^VOLUME\s/i.test(l))) fail(file, 'the final stage declares no VOLUME');
  if (!last.some((l) => /^ENTRYPOINT\s+\[/i.test(l))) fail(file, 'no exec-form ENTRYPOINT');
  const known = new Set(['FROM', 'RUN', 'CMD', 'LABEL', 'EXPOSE', 'ENV', 'ADD', 'COPY', 'ENTRYPOINT', 'VOLUME', 'USER', 'WORKDIR', 'ARG', 'ONBUILD', 'STOPSIGNAL', 'HEALTHCHECK', 'SHELL']);
  for (const l of lines) if (!known.has(l.split(/\s+/)[0].toUpperCase())) fail(file, `unknown instruction: ${l.slice(0, 60)}`);
}

if (problems.length) {
  for (const p of problems) console.log(`FAIL ${p}`);
  process.exit(1);
}
console.log(`ok: ${objects.length} Kubernetes objects, ${files('otel', /\.ya?ml$/).length} collector config(s), ${files('container', /\.Containerfile$/).length} Containerfiles`);
