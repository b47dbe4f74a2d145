import test from 'node:test';
import assert from 'node:assert/strict';
import { counters, echoPureConfig, FakePool, fakeConnector, numberedAcquisitions, planText, runNode, type FakeBehaviour } from './testing.js';

const W = ['10.0.0.1:9002', '10.0.0.2:9002'];

function connect(a: FakeBehaviour, b: FakeBehaviour): ReturnType<typeof fakeConnector> {
  return fakeConnector({ [W[0] as string]: a, [W[1] as string]: b });
}

test('puredistributed node spreads messages over workers and keeps their order, one output each', async () => {
  const input = numberedAcquisitions(1, 40);
  const run = await runNode(planText(echoPureConfig()), input, { pool: new FakePool(W), connect: connect({ kind: 'echo', delayMs: 1 }, { kind: 'echo' }) });
  assert.equal(run.error, undefined);
  assert.deepEqual(counters(run.output), counters(input));
  const used = new Set(run.records.filter((r) => r.outcome === 'ok').map((r) => r.worker));
  assert.deepEqual([...used].sort(), W);
  assert.equal(run.records.filter((r) => r.outcome === 'ok').length, 40);
});

for (const [name, behaviour] of [
  ['breaks the connection', { kind: 'die', afterMessages: 5 }],
  ['reports an error', { kind: 'error', afterMessages: 5 }],
  ['never answers', { kind: 'silent' }],
] as const) {
  test(`puredistributed node resends the unanswered jobs of a worker that ${name}, each output once`, async () => {
    const input = numberedAcquisitions(1, 30);
    const run = await runNode(planText(echoPureConfig()), input, { pool: new FakePool(W), connect: connect(behaviour, { kind: 'echo', delayMs: 1 }), workerTimeoutMs: 150 });
    assert.equal(run.error, undefined, String(run.error));
    assert.deepEqual(counters(run.output), counters(input));
    assert.ok(run.notices.some((n) => /worker 10\.0\.0\.1:9002 failed with \d+ job\(s\) unanswered.*replaying them elsewhere/.test(n)), run.notices.join('\n'));
  });
}

test('puredistributed node runs messages in-process when its only worker fails', async () => {
  const input = numberedAcquisitions(1, 12);
  const run = await runNode(planText(echoPureConfig()), input, {
    pool: new FakePool([W[0] as string]), connect: fakeConnector({ [W[0] as string]: { kind: 'die', afterMessages: 3 } }),
  });
  assert.equal(run.error, undefined, String(run.error));
  assert.deepEqual(counters(run.output), counters(input));
  assert.ok(run.records.some((r) => r.worker === 'local'));
});

test('puredistributed node with a refused worker uses the other', async () => {
  const input = numberedAcquisitions(1, 10);
  const run = await runNode(planText(echoPureConfig()), input, { pool: new FakePool(W), connect: connect({ kind: 'refuse' }, { kind: 'echo' }) });
  assert.equal(run.error, undefined, String(run.error));
  assert.deepEqual(counters(run.output), counters(input));
  assert.ok(run.records.filter((r) => r.outcome === 'ok').every((r) => r.worker === W[1]));
});
