import test from 'node:test';
import assert from 'node:assert/strict';
import { GadgetError } from '../../engine/errors.js';
import { makeWaveform } from '../../gadgets/testing.js';
import type { Message } from '../../ismrmrd/messages.js';
import {
  counters, echoDistributedConfig, FakePool, fakeConnector, numberedAcquisitions, planText, runNode, type FakeBehaviour, type FakeWorkerLog,
} from './testing.js';

/** The input grouped by lane (slice) in order of first appearance: the output order of a distributed node. */
function byLane(input: readonly Message[]): number[] {
  const lanes = new Map<number, number[]>();
  for (const m of input) {
    if (m.kind !== 'acquisition') continue;
    const list = lanes.get(m.head.idx.slice) ?? [];
    list.push(m.head.scan_counter);
    lanes.set(m.head.idx.slice, list);
  }
  return [...lanes.values()].flat();
}

const W = ['10.0.0.1:9002', '10.0.0.2:9002', '10.0.0.3:9002'];

function setup(behaviours: FakeBehaviour[]): { pool: FakePool; connect: ReturnType<typeof fakeConnector>; logs: Record<string, FakeWorkerLog> } {
  const ids = W.slice(0, behaviours.length);
  const logs: Record<string, FakeWorkerLog> = {};
  const map: Record<string, FakeBehaviour> = {};
  ids.forEach((id, i) => {
    map[id] = behaviours[i] as FakeBehaviour;
  });
  return { pool: new FakePool(ids), connect: fakeConnector(map, logs), logs };
}

test('distributed node sends each lane to a worker and releases outputs in job order, each once', async () => {
  const input = numberedAcquisitions(3, 10, true);
  const { pool, connect, logs } = setup([{ kind: 'echo' }, { kind: 'echo', delayMs: 2 }, { kind: 'echo' }]);
  const run = await runNode(planText(echoDistributedConfig()), input, { pool, connect });
  assert.equal(run.error, undefined);
  assert.deepEqual(counters(run.output), byLane(input));
  assert.equal(run.records.length, 3);
  assert.ok(run.records.every((r) => r.outcome === 'ok' && r.messagesIn === 10 && r.messagesOut === 10));
  assert.ok(run.records.every((r) => (r.bytesSent ?? 0) > 0 && (r.bytesReceived ?? 0) > 0), 'every remote attempt records the bytes it moved');
  assert.deepEqual(run.records.map((r) => r.key).sort(), ['slice=0', 'slice=1', 'slice=2']);
  assert.equal(Object.keys(logs).length, 3, 'every worker got a job');
  assert.deepEqual(run.notices, []);
});

test('distributed node passes messages its distributor does not take straight through', async () => {
  const input: Message[] = [makeWaveform(7), ...numberedAcquisitions(2, 3)];
  const { pool, connect } = setup([{ kind: 'echo' }]);
  const plan = planText(echoDistributedConfig().replace('AcquisitionReader</classname></reader></readers>\n  <writers>', 'AcquisitionReader</classname></reader><reader><dll>x</dll><classname>WaveformReader</classname></reader></readers>\n  <writers>'));
  const run = await runNode(plan, input, { pool, connect });
  assert.equal(run.error, undefined);
  assert.equal(run.output[0]?.kind, 'waveform');
  assert.deepEqual(counters(run.output.slice(1)), [0, 1, 2, 3, 4, 5]);
});

for (const [name, behaviour, outcome] of [
  ['reports an error', { kind: 'error', afterMessages: 4 }, 'failed'],
  ['breaks the connection', { kind: 'die', afterMessages: 3 }, 'failed'],
  ['never answers', { kind: 'silent' }, 'timeout'],
  ['refuses connections', { kind: 'refuse' }, 'connect-failed'],
] as const) {
  test(`distributed node replays the job of a worker that ${name} on another worker, exactly once`, async () => {
    const input = numberedAcquisitions(4, 8);
    const { pool, connect } = setup([behaviour, { kind: 'echo' }]);
    const run = await runNode(planText(echoDistributedConfig()), input, { pool, connect, workerTimeoutMs: 150 });
    assert.equal(run.error, undefined, String(run.error));
    assert.deepEqual(counters(run.output), byLane(input));
    const failed = run.records.filter((r) => r.outcome !== 'ok');
    assert.ok(failed.length >= 1 && failed.every((r) => r.worker === W[0] && r.outcome === outcome), JSON.stringify(failed));
    assert.ok(run.records.filter((r) => r.outcome === 'ok').every((r) => r.worker === W[1]));
    assert.ok(run.notices.some((n) => new RegExp(`failed on worker ${W[0]}.*replaying it on worker ${W[1]} \\(attempt 2\\)`).test(n)), run.notices.join('\n'));
  });
}

test('distributed node runs jobs in-process when every worker failed them', async () => {
  const input = numberedAcquisitions(2, 5);
  const { pool, connect } = setup([{ kind: 'error', afterMessages: 1 }, { kind: 'die', afterMessages: 0 }]);
  const run = await runNode(planText(echoDistributedConfig()), input, { pool, connect });
  assert.equal(run.error, undefined, String(run.error));
  assert.deepEqual(counters(run.output), byLane(input));
  assert.ok(run.records.some((r) => r.worker === 'local' && r.outcome === 'ok'));
  assert.ok(run.notices.some((n) => /replaying it in-process/.test(n)));
  assert.ok(run.notices.every((n) => !/\bERROR\b/.test(n)), 'a quoted worker ERROR reaches the client as one of its own');
});

test('distributed node computes in-process with a warning when the pool has no workers', async () => {
  const input = numberedAcquisitions(3, 2);
  const run = await runNode(planText(echoDistributedConfig()), input, { pool: new FakePool([]) });
  assert.equal(run.error, undefined);
  assert.deepEqual(counters(run.output), byLane(input));
  assert.deepEqual(run.notices, ['no remote worker is available; running the distributed jobs in-process']);
});

test('distributed node without a pool computes in-process silently', async () => {
  const input = numberedAcquisitions(2, 2);
  const run = await runNode(planText(echoDistributedConfig()), input, {});
  assert.deepEqual(counters(run.output), byLane(input));
  assert.deepEqual(run.notices, []);
  assert.ok(run.records.every((r) => r.worker === 'local'));
});

test('distributed node: a job whose input outgrew the job buffer fails clearly when its worker fails', async () => {
  const input = numberedAcquisitions(1, 40);
  const { pool, connect } = setup([{ kind: 'die', afterMessages: 30 }, { kind: 'echo' }]);
  const run = await runNode(planText(echoDistributedConfig()), input, { pool, connect, jobBufferBytes: 2_000 });
  assert.ok(run.error instanceof GadgetError, String(run.error));
  assert.match(String((run.error as Error).message), /Cannot replay job 1 \(slice=0\) after worker 10\.0\.0\.1:9002 failed .*job buffer of 2000 bytes/);
  assert.ok(run.notices.some((n) => /no longer fits the job buffer/.test(n)));
  assert.ok(!counters(run.output).includes(0), 'partial output of the failed attempt was released');
});

test('distributed node: a job past the job buffer still completes when its worker does', async () => {
  const input = numberedAcquisitions(2, 30);
  const { pool, connect } = setup([{ kind: 'echo' }]);
  const run = await runNode(planText(echoDistributedConfig()), input, { pool, connect, jobBufferBytes: 2_000 });
  assert.equal(run.error, undefined);
  assert.deepEqual(counters(run.output), byLane(input));
});

test('distributed node keeps jobs waiting while every worker is at its slot limit', async () => {
  const input = numberedAcquisitions(6, 3);
  const { pool, connect } = setup([{ kind: 'echo', delayMs: 3 }]);
  let most = 0;
  const started = pool.jobStarted.bind(pool);
  pool.jobStarted = (id: string): void => {
    started(id);
    most = Math.max(most, pool.active.get(id) ?? 0);
  };
  const run = await runNode(planText(echoDistributedConfig()), input, { pool, connect, workerSlots: 2 });
  assert.equal(run.error, undefined);
  assert.deepEqual(counters(run.output), byLane(input));
  assert.ok(most <= 2, `${most} jobs at once on one worker`);
  assert.equal(run.records.length, 6);
});

test('legacy Distribute … Collect plans as a distributed node whose jobs end when the next one starts', async () => {
  const xml = `<?xml version="1.0"?>
<gadgetronStreamConfiguration>
  <reader><slot>1008</slot><dll>x</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname></reader>
  <writer><slot>1008</slot><dll>x</dll><classname>GadgetIsmrmrdAcquisitionMessageWriter</classname></writer>
  <gadget><name>Distribute</name><dll>gadgetron_distributed</dll><classname>IsmrmrdAcquisitionDistributeGadget</classname>
    <property><name>parallel_dimension</name><value>slice</value></property>
    <property><name>use_this_node_for_compute</name><value>false</value></property></gadget>
  <gadget><name>Collect</name><dll>gadgetron_distributed</dll><classname>CollectGadget</classname></gadget>
</gadgetronStreamConfiguration>`;
  const plan = planText(xml);
  const step = plan.chain.steps[0];
  assert.equal(step?.type, 'distributed');
  assert.equal(plan.chain.steps.length, 1);
  if (step?.type !== 'distributed') return;
  assert.equal(step.lanes, 'sequential');
  assert.equal(step.useLocal, false);
  assert.equal(step.path, 'main/Distribute');
  const input = numberedAcquisitions(3, 4);
  const { pool, connect } = setup([{ kind: 'echo' }, { kind: 'echo' }]);
  const run = await runNode(plan, input, { pool, connect });
  assert.equal(run.error, undefined);
  assert.deepEqual(counters(run.output), byLane(input));
  assert.equal(run.records.length, 3);
});
