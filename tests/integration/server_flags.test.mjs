// Every flag meanwhiled lists in --help is accepted on the command line with the
// default --help shows for it, all of them at once; and each one given without a
// value is refused naming that flag. The list comes from --help itself, so a flag
// added later is covered without touching this test. (getopt_long returns a flag's
// number: once there were 58 flags, the 58th came back as ':' and was refused as
// "missing value" — this test is how that would have been seen.)

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { MEANWHILED, startServer, get } from './lib/server.mjs';

const run = (args) => spawnSync(MEANWHILED, args, { timeout: 30000 });
const help = run(['--help']).stdout.toString();
// "  --flag   what it does\n      (MEANWHILE_FLAG, default X)" (some have no default)
const flags = [...help.matchAll(/^ {2}--([a-z0-9-]+)\s[\s\S]*?\((MEANWHILE_[A-Z0-9_]+)(?:, default ([^)\n]*))?\)/gm)]
  .map(([, flag, env, dflt]) => ({ flag, env, dflt }));

test('--help lists the flags, each with its environment variable', () => {
  assert.ok(flags.length >= 60, `${flags.length} flags read from --help`);
  for (const f of flags) assert.equal(f.env, `MEANWHILE_${f.flag.toUpperCase().replaceAll('-', '_')}`, f.flag);
});

test('every flag with a default starts the server when given that default', async () => {
  const args = [];
  for (const { flag, dflt } of flags) {
    if (dflt === undefined || flag === 'listen' || flag === 'data') continue;
    args.push(`--${flag}`, dflt);
  }
  assert.ok(args.length / 2 >= 58, `${args.length / 2} flags given`);
  const srv = await startServer({ args });
  try {
    const h = await get(srv, '/healthz');
    assert.equal(h.status, 200, 'healthz answers');
  } finally {
    await srv.stop();
  }
});

test('each flag without its value is refused, naming the flag', () => {
  for (const { flag } of flags) {
    const r = run(['--listen', '127.0.0.1:0', `--${flag}`]);
    assert.equal(r.status, 2, `--${flag}: ${r.stderr}`);
    assert.match(r.stderr.toString(), new RegExp(`missing value for option --${flag}\\b`), flag);
  }
});
