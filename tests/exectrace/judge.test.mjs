// The accuracy judge (judge.mjs) on made-up explain answers shaped as docs/API.md's
// contract for trace evidence: it counts right what is right, and each bound fails when
// one request misses it. ctest `exectrace/judge` (no server, no Go).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { expectedCause, verdict, tabulate, misses, markdown } from './judge.mjs';

const T = 'a'.repeat(32), P = 'b'.repeat(32), H = 'c'.repeat(32);
const span = (id, name, causes) => ({ span_id: id, name, causes });
const cause = (kind, scope = 'trace', confidence = 0.95, evidence = []) => ({ kind, share: 0.9, confidence, scope, summary: kind, evidence });
const link = (goroutine, trace_id, span_id, relation) => ({ type: 'chain', links: [{ goroutine, exectrace_id: 1, woke_ns: '1', stack: [], trace_id, span_id, span_name: 'x', relation }] });

const chanReq = { kind: 'chan', trace_id: T, child_span_id: '1111111111111111', producer_goroutine: 57, producer_trace_id: P, producer_span_id: '2222222222222222',
  start_ns: 0, block_ns: 0.1e6, sent_ns: 40e6, end_ns: 40.2e6 };
const mutexReq = { kind: 'mutex', trace_id: T, child_span_id: '3333333333333333', holder_goroutine: 12, holder_trace_id: H, holder_span_id: '4444444444444444',
  start_ns: 0, call_ns: 0.1e6, holder_unlock_ns: 30e6, end_ns: 30.3e6 };
const cpuReq = (runnable, kernel = 0, measured = 30e6) => ({ kind: 'cpu', trace_id: T, child_span_id: '5555555555555555',
  start_ns: 0, end_ns: 30e6, go_runnable_ns: runnable, kernel_wait_ns: kernel, measured_ns: measured });
const answer = (id, name, causes) => ({ trace_id: T, spans: [span('0000000000000000', 'GET /work', [cause('children', 'span', 1)]), span(id, name, causes)] });

test('the expected cause comes from the service\'s account', () => {
  assert.equal(expectedCause({ kind: 'holder', start_ns: 0, end_ns: 38e6, hold_ms: 30 }), 'sleep');
  assert.equal(expectedCause(chanReq), 'chan');
  assert.equal(expectedCause(mutexReq), 'mutex');
  // woken at 37 ms of an 83 ms span: the rest may be runnable (or the kernel's: cpu)
  assert.equal(expectedCause({ ...mutexReq, holder_unlock_ns: 37e6, end_ns: 83e6 }), 'mutex|runnable|cpu');
  assert.equal(expectedCause({ kind: 'sleep', ms: 30, start_ns: 0, end_ns: 76e6 }), 'sleep|runnable|cpu');
  assert.equal(expectedCause({ kind: 'io', start_ns: 0, read_start_ns: 0.2e6, upstream_sent_ns: 30.5e6, end_ns: 31e6 }), 'io');
  assert.equal(expectedCause(cpuReq(12e6, 1e6)), 'cpu');
  assert.equal(expectedCause(cpuReq(18e6, 5e6)), 'runnable');
  assert.equal(expectedCause(cpuReq(15e6)), 'cpu|runnable');
  assert.equal(expectedCause(cpuReq(10e6, 6e6)), 'cpu|runnable', 'the kernel\'s wait may be runnable in the trace');
  assert.equal(expectedCause(cpuReq(10e6, 0, 24e6)), 'cpu|runnable', 'the span outside the measured work may be runnable');
  assert.equal(expectedCause({ ...cpuReq(18e6, 5e6), gc_events: 2 }), 'cpu|runnable', 'the collector stopped it: its thread slept');
  assert.equal(expectedCause({ ...cpuReq(1e6, 1e6), gc_events: 2 }), 'cpu');
  assert.equal(expectedCause({ kind: 'runnable', start_ns: 0, end_ns: 40e6, go_runnable_ns: 30e6, kernel_wait_ns: 0, measured_ns: 40e6 }), 'runnable');
  assert.throws(() => expectedCause({ kind: 'gc' }), /no expected cause/);
});

test('a right cause with the right chain is right; a chain naming another span is not', () => {
  const ok = verdict(chanReq, answer(chanReq.child_span_id, 'queue.wait', [cause('chan', 'trace', 0.95, [link(57, P, '2222222222222222', 'woke')])]));
  assert.equal(ok.right, true);
  assert.equal(ok.trace_scope, true);
  assert.equal(ok.chain_right, true, ok.chain_fault);
  const other = verdict(chanReq, answer(chanReq.child_span_id, 'queue.wait', [cause('chan', 'trace', 0.95, [link(57, P, '9999999999999999', 'woke')])]));
  assert.equal(other.right, true);
  assert.equal(other.chain_right, false);
  assert.match(other.chain_fault, /span_id "9999999999999999", not "2222222222222222"/);
  const none = verdict(chanReq, answer(chanReq.child_span_id, 'queue.wait', [cause('chan')]));
  assert.equal(none.chain_fault, 'no chain evidence');
  // the mutex's holder released the lock: "woke" is not the relation
  // a wait that may not come first: the runnable rest is right, the chain is still judged
  const late = { ...mutexReq, holder_unlock_ns: 37e6, end_ns: 83e6 };
  const rest = verdict(late, answer(late.child_span_id, 'ledger.read', [cause('runnable'), cause('mutex', 'trace', 0.95, [link(12, H, '4444444444444444', 'released')])]));
  assert.equal(rest.right, true);
  assert.equal(rest.chain_right, true, rest.chain_fault);
  assert.equal(verdict(late, answer(late.child_span_id, 'ledger.read', [cause('sleep', 'trace', 0.95)])).wrong_high, true);
  const woke = verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('mutex', 'trace', 0.95, [link(12, H, '4444444444444444', 'woke')])]));
  assert.match(woke.chain_fault, /relation "woke", not "released"/);
});

test('a wrong top cause: wrong with high confidence at >= 0.7 only; sampled scope is not trace', () => {
  const high = verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('sleep', 'trace', 0.8), cause('mutex')]));
  assert.equal(high.right, false);
  assert.equal(high.wrong_high, true);
  const low = verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('sleep', 'span', 0.36)]));
  assert.equal(low.wrong_high, false);
  assert.equal(low.trace_scope, false);
  const unknown = verdict(cpuReq(0), answer('5555555555555555', 'price.compute', [cause('unknown', 'span', 0.9)]));
  // between the bounds either is right; outside them only the one measured
  assert.equal(verdict(cpuReq(15e6), answer('5555555555555555', 'price.compute', [cause('runnable')])).right, true);
  assert.equal(verdict(cpuReq(15e6), answer('5555555555555555', 'price.compute', [cause('cpu')])).right, true);
  assert.equal(verdict(cpuReq(18e6), answer('5555555555555555', 'price.compute', [cause('cpu')])).wrong_high, true);
  const t = tabulate([verdict(cpuReq(15e6), answer('5555555555555555', 'price.compute', [cause('cpu')])),
    verdict(cpuReq(1e6), answer('5555555555555555', 'price.compute', [cause('cpu')]))], ['cpu']);
  assert.match(markdown(t), /\| cpu \(cpu; either for 1\) \| 2 \| 2 \(100%\) \|/);
  assert.equal(unknown.right, false);
  assert.equal(unknown.wrong_high, false, 'unknown claims nothing');
  assert.throws(() => verdict(chanReq, answer('6666666666666666', 'queue.wait', [])), /no span 1111111111111111/);
});

test('each bound fails on one request that misses it, and holds when none does', () => {
  const good = () => verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('mutex', 'trace', 0.95, [link(12, H, '4444444444444444', 'released')])]));
  const many = Array.from({ length: 20 }, good);
  assert.deepEqual(misses(tabulate(many, ['mutex'])), []);
  const wrongTop = [...many.slice(1), verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('sleep', 'trace', 0.5)]))];
  assert.match(misses(tabulate(wrongTop, ['mutex'])).join('\n'), /mutex: top cause right in 19 of 20/);
  const wrongChain = [...many.slice(1), verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('mutex', 'trace', 0.95, [link(13, H, '4444444444444444', 'released')])]))];
  assert.deepEqual(misses(tabulate(wrongChain, ['mutex'])), ['mutex: chain right in 19 of 20 (< 98%)']);
  const sampled = [...many.slice(2), ...Array.from({ length: 2 }, () => verdict(mutexReq, answer(mutexReq.child_span_id, 'ledger.read', [cause('mutex', 'span', 0.5, [link(12, H, '4444444444444444', 'released')])])))];
  assert.deepEqual(misses(tabulate(sampled, ['mutex'])), ['top cause in scope trace in 18 of 20 slow requests (< 95%)']);
  assert.deepEqual(misses(tabulate(many, ['mutex', 'io'])), ['io: no slow request judged']);
  const md = markdown(tabulate(wrongChain, ['mutex']));
  assert.match(md, /\| mutex \(mutex\) \| 20 \| 20 \(100%\) \| 20 \(100%\) \| 19 \(95%\) \| 0 \|/);
});
