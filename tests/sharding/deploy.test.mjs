// The sharded form's deploy files (deploy/sharded, docs/SCALING.md) checked on a machine
// without Kubernetes:
//   - the Collector configurations are validated by the Collector of tests/collector
//     (`otelcol-meanwhile validate`, which builds every component: a misspelt key, a
//     component the build lacks or a pipeline that does not hang together fails), as
//     Kubernetes runs them (tier + k8s resolver; relay) and as the local recipe does
//     (tier + static resolver); and every component of tests/collector/manifest.yaml is
//     used by them (the manifest holds nothing else);
//   - every YAML file parses (the `yaml` package of tests/integration), the Kubernetes
//     objects hang together (selectors, named ports, mounts, the kustomization's files,
//     RBAC for the k8s resolver), and the names that tie the tiers together agree (the
//     resolver's Service and port, the front's dns+ peers, the app's Collector address);
//   - meanwhiled's and meanwhile-agent's args and MEANWHILE_* variables are options their
//     --help lists; and each meanwhiled container's args start a real meanwhiled (on a
//     loopback port and a scratch directory) that answers /healthz and exits 0 on SIGTERM.
//
// Environment (set by ctest): MEANWHILED, MEANWHILE_AGENT, GO, MW_BUILD_DIR, MW_COLLECTOR_BUILD.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..', '..');
const SHARDED = path.join(REPO, 'deploy', 'sharded');
const GO = process.env.GO || 'go';
const MEANWHILED = process.env.MEANWHILED;
const AGENT = process.env.MEANWHILE_AGENT;
const BUILD_DIR = process.env.MW_BUILD_DIR || path.join(REPO, 'build');
const COLLECTOR_BUILD = process.env.MW_COLLECTOR_BUILD || path.join(REPO, 'tests', 'collector', 'build.sh');
if (!MEANWHILED || !AGENT) throw new Error('MEANWHILED and MEANWHILE_AGENT must be set (run through ctest)');
const YAML = createRequire(import.meta.url)(path.join(REPO, 'tests', 'integration', 'node_modules', 'yaml'));

const log = (...a) => console.log('[deploy]', ...a);
let otelcol, scratch;
const objects = []; // {file, o}

function parseAll(file) {
  const out = [];
  for (const d of YAML.parseAllDocuments(readFileSync(file, 'utf8'))) {
    assert.deepEqual([...d.errors, ...d.warnings].map((e) => e.message), [], `${file}: YAML`);
    const v = d.toJS();
    if (v !== null && v !== undefined) out.push(v);
  }
  assert.ok(out.length, `${file}: no document`);
  return out;
}

/** `--name` options of a --help text. */
function helpOptions(bin) {
  const r = spawnSync(bin, ['--help'], { encoding: 'utf8' });
  const opts = new Set([...(r.stdout + r.stderr).matchAll(/^\s+--([a-z][a-z0-9-]*)/mg)].map((m) => m[1]));
  assert.ok(opts.size > 20, `${bin} --help listed ${opts.size} options`);
  return opts;
}

const containers = (kind) => objects.filter(({ o }) => o.kind === kind)
  .flatMap(({ file, o }) => o.spec.template.spec.containers.map((c) => ({ file, o, c })));
const allContainers = () => [...containers('StatefulSet'), ...containers('Deployment')];
const envOf = (c) => Object.fromEntries((c.env || []).map((e) => [e.name, e.value]));

before(() => {
  const out = execFileSync('bash', [COLLECTOR_BUILD, GO, path.join(BUILD_DIR, 'collector')],
    { stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 24 }).toString().trim().split('\n');
  otelcol = out[out.length - 1];
  log(`Collector: ${otelcol}`);
  scratch = mkdtempSync(path.join(os.tmpdir(), 'mw-deploy-'));
  const kust = parseAll(path.join(SHARDED, 'kustomization.yaml'))[0];
  for (const r of kust.resources) for (const o of parseAll(path.join(SHARDED, r))) {
    assert.ok(o.apiVersion && o.kind && o.metadata?.name, `${r}: an object without apiVersion, kind or metadata.name`);
    objects.push({ file: r, o });
  }
});

test('the Collector configurations pass the Collector\'s own validation', () => {
  // The k8s resolver builds a Kubernetes client when the exporter is created: a kubeconfig
  // that names an unreachable API server lets validation build it without a cluster.
  const kubeconfig = path.join(scratch, 'kubeconfig');
  writeFileSync(kubeconfig, YAML.stringify({ apiVersion: 'v1', kind: 'Config',
    clusters: [{ name: 'none', cluster: { server: 'https://127.0.0.1:1' } }],
    users: [{ name: 'none', user: { token: 'none' } }],
    contexts: [{ name: 'none', context: { cluster: 'none', user: 'none', namespace: 'meanwhile' } }],
    'current-context': 'none' }));
  const staticResolver = path.join(scratch, 'resolver.yaml');
  writeFileSync(staticResolver, 'exporters:\n  loadbalancing:\n    resolver:\n      static:\n        hostnames: [127.0.0.1:4317]\n');
  const validate = (...files) => spawnSync(otelcol, ['validate', ...files.flatMap((f) => ['--config', f])],
    { encoding: 'utf8', env: { ...process.env, KUBECONFIG: kubeconfig }, timeout: 60000 });
  const f = (n) => path.join(SHARDED, n);
  for (const set of [[f('otelcol-tier.yaml'), f('otelcol-resolver-k8s.yaml')], [f('otelcol-relay.yaml')],
    [f('otelcol-tier.yaml'), staticResolver]]) {
    const r = validate(...set);
    assert.equal(r.status, 0, `validate ${set.map((s) => path.basename(s)).join(' + ')}:\n${r.stdout}${r.stderr}`);
    log(`valid: ${set.map((s) => path.basename(s)).join(' + ')}`);
  }
  // and validation can fail: the tier without a resolver, a key the exporter does not have
  assert.notEqual(validate(f('otelcol-tier.yaml')).status, 0, 'the tier validated without a resolver');
  const bad = path.join(scratch, 'bad.yaml');
  const good = readFileSync(f('otelcol-resolver-k8s.yaml'), 'utf8');
  writeFileSync(bad, good.replace(/^(\s+)return_hostnames:/m, '$1return_hostname:'));
  assert.notEqual(readFileSync(bad, 'utf8'), good);
  assert.notEqual(validate(f('otelcol-tier.yaml'), bad).status, 0, 'a misspelt resolver key validated');
});

test('the Collector build holds exactly the components the deploy files and bench/peers use', () => {
  const manifest = parseAll(path.join(REPO, 'tests', 'collector', 'manifest.yaml'))[0];
  const built = { receivers: new Set(), processors: new Set(), exporters: new Set(), extensions: new Set() };
  const typeOf = { otlpreceiver: 'otlp', memorylimiterprocessor: 'memory_limiter', otlphttpexporter: 'otlp_http',
    nopexporter: 'nop', loadbalancingexporter: 'loadbalancing', filestorage: 'file_storage' };
  for (const kind of Object.keys(built)) {
    for (const { gomod } of manifest[kind] || []) {
      const mod = gomod.split(' ')[0].split('/').pop();
      assert.ok(typeOf[mod], `the manifest has ${mod}, which this test does not know: add it to typeOf with its use`);
      built[kind].add(typeOf[mod]);
    }
  }
  const used = { receivers: new Set(), processors: new Set(), exporters: new Set(), extensions: new Set() };
  const users = readdirSync(SHARDED).filter((x) => /^otelcol-.*\.yaml$/.test(x)).map((x) => path.join(SHARDED, x));
  users.push(path.join(REPO, 'bench', 'peers', 'otelcol-nop.yaml')); // the ceiling of OTLP decoding
  for (const n of users) {
    const c = parseAll(n)[0];
    for (const kind of Object.keys(used)) for (const id of Object.keys(c[kind] || {})) used[kind].add(id.split('/')[0]);
  }
  for (const kind of Object.keys(built)) {
    for (const t of used[kind]) assert.ok(built[kind].has(t), `deploy/sharded uses ${kind} ${t}, which tests/collector/manifest.yaml does not build`);
    for (const t of built[kind]) assert.ok(used[kind].has(t), `tests/collector/manifest.yaml builds ${kind} ${t}, which no deploy file nor bench/peers uses`);
  }
});

test('the Kubernetes objects hang together', () => {
  const kust = parseAll(path.join(SHARDED, 'kustomization.yaml'))[0];
  const ns = kust.namespace;
  assert.equal(ns, 'meanwhile');
  const generated = new Map(kust.configMapGenerator.map((g) => [g.name, g.files]));
  for (const files of generated.values()) for (const f of files) assert.ok(existsSync(path.join(SHARDED, f)), `kustomization: no file ${f}`);
  const find = (kind, name) => objects.find(({ o }) => o.kind === kind && o.metadata.name === name)?.o;

  for (const { file, o } of objects.filter(({ o }) => ['StatefulSet', 'Deployment'].includes(o.kind))) {
    const spec = o.spec.template.spec;
    const labels = o.spec.template.metadata.labels;
    for (const [k, v] of Object.entries(o.spec.selector.matchLabels)) assert.equal(labels[k], v, `${file} ${o.metadata.name}: selector`);
    assert.equal(spec.securityContext?.runAsNonRoot, true, `${o.metadata.name}: runAsNonRoot`);
    const volumes = new Map((spec.volumes || []).map((v) => [v.name, v]));
    for (const t of o.spec.volumeClaimTemplates || []) volumes.set(t.metadata.name, { claim: t });
    for (const c of spec.containers) {
      const ports = new Set((c.ports || []).map((p) => p.name));
      for (const m of c.volumeMounts || []) assert.ok(volumes.has(m.name), `${o.metadata.name}/${c.name}: mounts undeclared ${m.name}`);
      for (const p of ['readinessProbe', 'livenessProbe']) {
        const port = c[p]?.httpGet?.port ?? c[p]?.tcpSocket?.port;
        if (typeof port === 'string') assert.ok(ports.has(port), `${o.metadata.name}/${c.name}: ${p} port ${port} undeclared`);
      }
      // a Collector config named in args is in the ConfigMap mounted at its directory
      const args = c.args || [];
      for (let i = 0; i < args.length; i++) {
        if (args[i] !== '--config') continue;
        const f = args[i + 1];
        const m = (c.volumeMounts || []).find((vm) => vm.mountPath === path.dirname(f));
        assert.ok(m, `${o.metadata.name}/${c.name}: nothing mounted at ${path.dirname(f)} for ${f}`);
        const cm = volumes.get(m.name).configMap?.name;
        assert.ok(generated.has(cm), `${o.metadata.name}/${c.name}: ${m.name} is no generated ConfigMap`);
        assert.ok(generated.get(cm).includes(path.basename(f)), `${o.metadata.name}/${c.name}: ${f} is not in ConfigMap ${cm}`);
      }
      assert.equal(c.securityContext?.allowPrivilegeEscalation, false, `${o.metadata.name}/${c.name}`);
    }
  }
  for (const { o } of objects.filter(({ o }) => o.kind === 'Service')) {
    const target = objects.find(({ o: w }) => ['StatefulSet', 'Deployment'].includes(w.kind) &&
      Object.entries(o.spec.selector).every(([k, v]) => w.spec.template.metadata.labels[k] === v));
    assert.ok(target, `Service ${o.metadata.name} selects no workload`);
    const ports = target.o.spec.template.spec.containers.flatMap((c) => c.ports || []);
    for (const p of o.spec.ports) assert.ok(ports.some((x) => x.name === p.targetPort), `Service ${o.metadata.name}: targetPort ${p.targetPort}`);
  }

  // the shards: a StatefulSet with a claim, its headless Service, a relay in each pod
  const sts = find('StatefulSet', 'meanwhile-shard');
  assert.ok(sts, 'no StatefulSet meanwhile-shard');
  const headless = find('Service', sts.spec.serviceName);
  assert.ok(headless, `no Service ${sts.spec.serviceName} (the StatefulSet's serviceName)`);
  assert.equal(headless.spec.clusterIP, 'None', 'the shards\' Service must be headless (per-pod DNS names, every address for --peers)');
  assert.ok(sts.spec.volumeClaimTemplates?.length, 'no volume per shard');
  const mwd = sts.spec.template.spec.containers.find((c) => c.image.startsWith('meanwhiled'));
  const relay = sts.spec.template.spec.containers.find((c) => (c.args || []).some((a) => a.endsWith('otelcol-relay.yaml')));
  assert.ok(mwd && relay, 'each shard pod runs meanwhiled and its relay');
  assert.ok(mwd.volumeMounts.some((m) => m.name === sts.spec.volumeClaimTemplates[0].metadata.name && mwd.args.includes(m.mountPath)),
    'meanwhiled\'s --data is the claim');
  const relayPort = relay.ports[0].containerPort;
  assert.equal(envOf(relay).MW_RELAY_LISTEN, `0.0.0.0:${relayPort}`);
  assert.equal(envOf(relay).MW_SHARD_URL, `http://127.0.0.1:${mwd.ports[0].containerPort}`);

  // the tier: the k8s resolver names the headless Service and the relay's port, by hostname
  const resolver = parseAll(path.join(SHARDED, 'otelcol-resolver-k8s.yaml'))[0].exporters.loadbalancing.resolver.k8s;
  assert.equal(resolver.service, `${headless.metadata.name}.${ns}`);
  assert.deepEqual(resolver.ports, [relayPort]);
  assert.ok(headless.spec.ports.some((p) => p.port === relayPort));
  assert.equal(resolver.return_hostnames, true, 'by IP, every rescheduled shard pod would re-place its processes');
  const col = find('Deployment', 'meanwhile-collector');
  const sa = col.spec.template.spec.serviceAccountName;
  assert.ok(find('ServiceAccount', sa), `no ServiceAccount ${sa}`);
  const binding = objects.find(({ o }) => o.kind === 'RoleBinding' && o.subjects.some((s) => s.kind === 'ServiceAccount' && s.name === sa))?.o;
  assert.ok(binding, `nothing binds ${sa} to a Role`);
  assert.equal(binding.subjects.find((s) => s.name === sa).namespace, ns, 'a ServiceAccount subject needs its namespace');
  const role = find('Role', binding.roleRef.name);
  assert.ok(role?.rules.some((r) => r.apiGroups.includes('discovery.k8s.io') && r.resources.includes('endpointslices') &&
    ['get', 'list', 'watch'].every((v) => r.verbs.includes(v))), 'the k8s resolver needs get/list/watch on endpointslices');
  const colC = col.spec.template.spec.containers[0];
  const queueDir = envOf(colC).MW_QUEUE_DIR;
  assert.ok(colC.volumeMounts.some((m) => queueDir.startsWith(m.mountPath + '/') && !m.readOnly), 'the disk queue is on a writable volume');

  // the front: dns+ peers over the headless Service, on meanwhiled's port
  const front = find('Deployment', 'meanwhile-query').spec.template.spec.containers[0];
  const peers = front.args[front.args.indexOf('--peers') + 1];
  assert.equal(front.args[front.args.indexOf('--role') + 1], 'query');
  assert.equal(peers, `dns+http://${headless.metadata.name}.${ns}.svc.cluster.local:${mwd.ports[0].containerPort}`);

  // the app: SDK and agent both to the tier's OTLP/HTTP port, with one process identity
  const app = find('Deployment', 'checkout').spec.template.spec.containers;
  const svc = app.find((c) => c.name !== 'meanwhile-agent'), agent = app.find((c) => c.name === 'meanwhile-agent');
  const colSvc = find('Service', 'meanwhile-collector');
  const httpPort = colSvc.spec.ports.find((p) => p.name === 'otlp-http').port;
  const tierUrl = `http://${colSvc.metadata.name}.${ns}.svc:${httpPort}`;
  assert.equal(envOf(svc).OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, `${tierUrl}/v1/traces`);
  assert.equal(envOf(agent).MEANWHILE_COLLECTOR, tierUrl);
  assert.ok(agent.args.includes('--otlp-runtime'), 'the agent must send runtime data the spans\' way (--otlp-runtime)');
  assert.equal(envOf(agent).OTEL_SERVICE_NAME, envOf(svc).OTEL_SERVICE_NAME);
  assert.equal(`service.instance.id=${envOf(agent).MEANWHILE_INSTANCE}`, envOf(svc).OTEL_RESOURCE_ATTRIBUTES);
});

test('meanwhiled and meanwhile-agent options in the manifests exist', () => {
  const opts = { meanwhiled: helpOptions(MEANWHILED), 'meanwhile-agent': helpOptions(AGENT) };
  let n = 0;
  for (const { o, c } of allContainers()) {
    const prog = ['meanwhile-agent', 'meanwhiled'].find((p) => c.image.startsWith(p));
    if (!prog) continue;
    for (const a of c.args || []) {
      if (!a.startsWith('--')) continue;
      assert.ok(opts[prog].has(a.slice(2).split('=')[0]), `${o.metadata.name}/${c.name}: ${prog} has no option ${a}`);
      n++;
    }
    for (const e of c.env || []) {
      if (!e.name.startsWith('MEANWHILE_')) continue;
      const flag = e.name.slice('MEANWHILE_'.length).toLowerCase().replaceAll('_', '-');
      assert.ok(opts[prog].has(flag), `${o.metadata.name}/${c.name}: ${e.name} is no ${prog} option (--${flag})`);
      n++;
    }
  }
  log(`${n} options and variables checked against --help`);
  assert.ok(n >= 15);
});

test('each meanwhiled container\'s args start a meanwhiled', async () => {
  for (const { o, c } of allContainers().filter(({ c }) => c.image.startsWith('meanwhiled'))) {
    const args = [...c.args];
    const at = (f) => args.indexOf(f);
    args[at('--listen') + 1] = '127.0.0.1:0';
    if (at('--data') >= 0) args[at('--data') + 1] = mkdtempSync(path.join(scratch, 'data-'));
    const proc = spawn(MEANWHILED, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let err = '';
    proc.stderr.on('data', (d) => { err += d; });
    const exited = new Promise((resolve) => proc.on('exit', (code, signal) => resolve({ code, signal })));
    let port = null;
    for (let i = 0; i < 100 && !port; i++) {
      port = /msg="listening" addr=127\.0\.0\.1:(\d+)/.exec(err)?.[1];
      if (!port) await new Promise((r) => setTimeout(r, 100));
    }
    assert.ok(port, `${o.metadata.name}: meanwhiled ${args.join(' ')} did not start:\n${err}`);
    const r = await fetch(`http://127.0.0.1:${port}/healthz`);
    assert.equal(r.status, 200);
    proc.kill('SIGTERM');
    assert.deepEqual(await exited, { code: 0, signal: null }, `${o.metadata.name}:\n${err}`);
    // the front cannot resolve the cluster's name here: that warning and nothing else
    const bad = err.split('\n').filter((l) => l && !/\blevel=(debug|info)\b/.test(l) &&
      !(at('--role') >= 0 && /level=warn msg="cannot resolve a peer/.test(l)));
    assert.deepEqual(bad, [], `${o.metadata.name}: meanwhiled ${args.join(' ')}`);
    log(`${o.metadata.name}: meanwhiled ${args.join(' ')}: started, /healthz 200, exit 0`);
  }
  rmSync(scratch, { recursive: true, force: true });
});
