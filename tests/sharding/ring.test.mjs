// ring.mjs against the loadbalancing exporter's own ring: consistent_hashing.go of the
// exporter version the test Collector is built with (v0.148.0), taken from the Go module
// cache (the go command downloads it from the module proxy), compiled with a small main
// that prints the endpoint of each key. Thousands of keys and three shard lists must agree
// exactly; and the ring of v0.129.0 (one byte per point index, no probing) must not: the
// check is able to tell rings apart (docs/SHARDING.md §1).
//
// Environment (set by ctest): GO, MW_BUILD_DIR.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ring, endpointFor, processKey } from './ring.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));
const GO = process.env.GO || 'go';
const BUILD_DIR = process.env.MW_BUILD_DIR || path.resolve(HERE, '..', '..', 'build');
const MODULE = 'github.com/open-telemetry/opentelemetry-collector-contrib/exporter/loadbalancingexporter';

const MAIN = `package main

import (
	"bufio"
	"fmt"
	"os"
	"sort"
	"strings"
)

// args: the endpoints (sorted first, as the static resolver does); stdin: one key a
// line; stdout: its endpoint
func main() {
	eps := append([]string{}, os.Args[1:]...)
	sort.Strings(eps)
	r := newHashRing(eps)
	in := bufio.NewScanner(os.Stdin)
	out := bufio.NewWriter(os.Stdout)
	defer out.Flush()
	for in.Scan() {
		fmt.Fprintln(out, r.endpointFor([]byte(strings.TrimSuffix(in.Text(), "\\r"))))
	}
}
`;

function goEnv(dir) {
  const env = { ...process.env, GOTOOLCHAIN: 'local', GOFLAGS: '-mod=mod -buildvcs=false' };
  if (!env.HOME) { env.GOCACHE = path.join(dir, 'gocache'); env.GOMODCACHE = path.join(dir, 'gomodcache'); }
  return env;
}

/** Builds the exporter's ring at version into a program; returns its path. */
function goRing(version) {
  const dir = path.join(BUILD_DIR, 'sharding', `ring-${version}`);
  mkdirSync(dir, { recursive: true });
  const env = goEnv(path.join(BUILD_DIR, 'sharding'));
  // outside any module: the go command only fetches (or finds in its cache) the module
  const info = JSON.parse(execFileSync(GO, ['mod', 'download', '-json', `${MODULE}@${version}`],
    { env, cwd: path.dirname(dir) }).toString());
  const src = readFileSync(path.join(info.Dir, 'consistent_hashing.go'), 'utf8')
    .replace(/^package loadbalancingexporter.*$/m, 'package main');
  writeFileSync(path.join(dir, 'go.mod'), 'module ringcheck\n\ngo 1.24\n');
  writeFileSync(path.join(dir, 'consistent_hashing.go'), src);
  writeFileSync(path.join(dir, 'main.go'), MAIN);
  const bin = path.join(dir, 'ring');
  execFileSync(GO, ['build', '-o', bin, '.'], { env, cwd: dir, stdio: ['ignore', 'inherit', 'inherit'] });
  return bin;
}

const LISTS = [
  ['127.0.0.1:14317', '127.0.0.1:14318', '127.0.0.1:14319'],
  ['shard-2.meanwhile:4317', 'shard-0.meanwhile:4317', 'shard-1.meanwhile:4317'], // unsorted: the resolver sorts
  Array.from({ length: 12 }, (_, i) => `10.0.${i}.7:4317`),
];
const KEYS = Array.from({ length: 4000 }, (_, i) =>
  i % 2 ? processKey(`svc-${i % 37}`, `pod-${i}-${(i * 2654435761) % 100000}`) : processKey('checkout', `i-${i}`));

test('ring.mjs places every key where the exporter v0.148.0 does', () => {
  const bin = goRing('v0.148.0');
  for (const list of LISTS) {
    const got = execFileSync(bin, list, { input: KEYS.join('\n') + '\n', maxBuffer: 1 << 24 }).toString().trim().split('\n');
    assert.equal(got.length, KEYS.length);
    const items = ring(list);
    const differ = KEYS.filter((k, i) => endpointFor(items, k) !== got[i]);
    assert.deepEqual(differ.slice(0, 5), [], `${differ.length} of ${KEYS.length} keys placed otherwise over ${list}`);
    // and the keys do spread over the shards
    const per = new Map();
    for (const e of got) per.set(e, (per.get(e) || 0) + 1);
    assert.equal(per.size, new Set(list).size, `some shard got no key: ${JSON.stringify([...per])}`);
  }
});

test('the ring before v0.130.0 places keys otherwise (an upgrade across it moves processes)', () => {
  const bin = goRing('v0.129.0');
  const list = LISTS[0];
  const got = execFileSync(bin, list, { input: KEYS.join('\n') + '\n', maxBuffer: 1 << 24 }).toString().trim().split('\n');
  const items = ring(list);
  const moved = KEYS.filter((k, i) => endpointFor(items, k) !== got[i]).length;
  console.log(`[ring] v0.129.0 -> v0.148.0: ${moved} of ${KEYS.length} keys change shard over ${list.length} shards`);
  assert.ok(moved > KEYS.length / 4, `only ${moved} of ${KEYS.length} keys moved`);
});
