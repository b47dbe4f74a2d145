import test from 'node:test';
import assert from 'node:assert/strict';
import { makeAcquisition } from '../gadgets/testing.js';
import type { Message } from '../ismrmrd/messages.js';
import { ByteBudget, DistributionError, JobInput, WorkerChooser } from './jobs.js';
import { FakePool } from './nodes/testing.js';

const acq = (i: number): Message => makeAcquisition({ samples: 16, channels: 1, scanCounter: i });
const SIZE = 340 + 16 * 8;

async function readAll(input: JobInput, signal = new AbortController().signal): Promise<number[]> {
  const out: number[] = [];
  for await (const m of input.read(signal)) out.push(m.kind === 'acquisition' ? m.head.scan_counter : -1);
  return out;
}

test('job input can be read again from the first message until it is released', async () => {
  const budget = new ByteBudget(1 << 20);
  const input = new JobInput({ budget, capacity: 2, signal: new AbortController().signal });
  for (let i = 0; i < 5; i++) await input.append(acq(i));
  input.end();
  assert.deepEqual(await readAll(input), [0, 1, 2, 3, 4]);
  assert.deepEqual(await readAll(input), [0, 1, 2, 3, 4]);
  assert.equal(budget.held, 5 * SIZE);
  input.release();
  assert.equal(budget.held, 0);
  assert.equal(input.replayable, false);
});

test('job input read waits for messages appended later and ends with the input', async () => {
  const input = new JobInput({ budget: new ByteBudget(1 << 20), capacity: 2, signal: new AbortController().signal });
  const reading = readAll(input);
  for (let i = 0; i < 3; i++) {
    await input.append(acq(i));
    await new Promise((r) => setImmediate(r));
  }
  input.end();
  assert.deepEqual(await reading, [0, 1, 2]);
});

test('job input past the budget is no longer kept, applies backpressure, and cannot be replayed once read', async () => {
  const budget = new ByteBudget(3 * SIZE);
  let exceeded = 0;
  const input = new JobInput({ budget, capacity: 2, signal: new AbortController().signal, onBoundExceeded: () => { exceeded += 1; } });
  for (let i = 0; i < 3; i++) await input.append(acq(i));
  assert.equal(input.overBudget, false);
  const appended: number[] = [];
  const writer = (async () => {
    for (let i = 3; i < 10; i++) {
      await input.append(acq(i));
      appended.push(i);
    }
    input.end();
  })();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(input.overBudget, true);
  assert.equal(exceeded, 1);
  assert.ok(appended.length < 7, 'append did not wait for the reader');
  assert.deepEqual(await readAll(input), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  await writer;
  assert.equal(input.replayable, false);
  await assert.rejects(readAll(input), (err: unknown) => err instanceof DistributionError && err.code === 'JOB_NOT_REPLAYABLE');
});

test('job input reads stop when their signal aborts', async () => {
  const input = new JobInput({ budget: new ByteBudget(1 << 20), capacity: 2, signal: new AbortController().signal });
  const stop = new AbortController();
  const reading = readAll(input, stop.signal);
  stop.abort(new Error('stopped'));
  await assert.rejects(reading, /stopped/);
});

test('worker chooser: least jobs first, slot limit, exclusion, local when none is left', async () => {
  const pool = new FakePool(['a:1', 'b:1']);
  const chooser = new WorkerChooser({ pool, slots: 1, useLocal: false, discoveryWaitMs: 10, signal: new AbortController().signal, pollMs: 5 });
  const first = await chooser.choose(new Set());
  const second = await chooser.choose(new Set());
  assert.equal(first.kind === 'remote' && first.endpoint.id, 'a:1');
  assert.equal(second.kind === 'remote' && second.endpoint.id, 'b:1', 'a reserved slot was not counted');
  let third: string | undefined;
  const waiting = chooser.choose(new Set()).then((p) => {
    third = p.kind === 'remote' ? p.endpoint.id : 'local';
  });
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(third, undefined, 'chose a worker at its slot limit');
  if (second.kind === 'remote') second.release();
  await waiting;
  assert.equal(third, 'b:1');
  assert.deepEqual(await chooser.choose(new Set(['a:1', 'b:1'])), { kind: 'local', reason: 'all-failed' });
  const none = new WorkerChooser({ pool: new FakePool([]), slots: 1, useLocal: false, discoveryWaitMs: 10, signal: new AbortController().signal });
  assert.deepEqual(await none.choose(new Set()), { kind: 'local', reason: 'no-workers' });
});

test('worker chooser: waiting jobs get free workers in arrival order', async () => {
  const pool = new FakePool(['a:1']);
  const chooser = new WorkerChooser({ pool, slots: 1, useLocal: false, discoveryWaitMs: 10, signal: new AbortController().signal, pollMs: 5 });
  const held = await chooser.choose(new Set());
  const order: number[] = [];
  const waits = [1, 2, 3].map((n) => chooser.choose(new Set()).then((p) => {
    order.push(n);
    if (p.kind === 'remote') setTimeout(() => p.release(), 2);
  }));
  await new Promise((r) => setTimeout(r, 10));
  if (held.kind === 'remote') held.release();
  await Promise.all(waits);
  assert.deepEqual(order, [1, 2, 3]);
});

test('worker chooser with use_this_node_for_compute competes with the workers by load', async () => {
  const pool = new FakePool(['a:1']);
  const chooser = new WorkerChooser({ pool, slots: 2, useLocal: true, discoveryWaitMs: 10, signal: new AbortController().signal });
  assert.deepEqual(await chooser.choose(new Set()), { kind: 'local', reason: 'preferred' });
  const done = chooser.localStarted();
  const next = await chooser.choose(new Set());
  assert.equal(next.kind, 'remote');
  done();
});
