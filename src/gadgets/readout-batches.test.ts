import assert from 'node:assert/strict';
import test from 'node:test';
import { createComputePool } from '../engine/thread-pool.js';
import type { Message } from '../ismrmrd/messages.js';
import { emptyAcquisitionHeader, type Acquisition } from '../ismrmrd/types.js';
import { removeOversamplingInto } from '../kernels/readout-oversampling.js';
import { RECON_TASKS_URL, type OversamplingRemovalArgs } from './generic-recon-tasks.js';
import { ReadoutBatches, type PackedReadouts, type ReadoutWork } from './readout-batches.js';
import { randomComplex } from './testing.js';

interface Cut {
  kept: number;
  mix: Float32Array | undefined;
}

/** Batches whose inputs were the readouts' own shared memory, and those packed into a copy. */
const inputKinds = { inPlace: 0, packed: 0, outputOnWorker: 0 };

const cutWork: ReadoutWork<Cut> = {
  task: 'removeOversampling',
  key: (acq, m) => m.mix ?? acq.head.active_channels,
  inputFloats: (acq) => 2 * acq.head.number_of_samples * acq.head.active_channels,
  outputFloats: (acq, m) => 2 * m.kept * acq.head.active_channels,
  args: (b): OversamplingRemovalArgs => {
    if (b.out === null) inputKinds.outputOnWorker += 1;
    if (b.inputs.every((x, k) => x.buffer === b.acqs[k]?.data.buffer)) inputKinds.inPlace += 1;
    else if (b.inputs.every((x) => x.buffer === b.inputs[0]?.buffer)) inputKinds.packed += 1;
    return cutArgs(b);
  },
  result: (acq, m, data) => ({ ...acq, head: { ...acq.head, number_of_samples: m.kept }, data }),
};

function cutArgs(b: PackedReadouts<Cut>): OversamplingRemovalArgs {
  return {
    inputs: b.inputs, out: b.out, outFloats: b.outFloats, outOffsets: b.outOffsets,
    samples: b.acqs.map((a) => a.head.number_of_samples), kept: b.metas.map((m) => m.kept),
    channels: (b.acqs[0] as Acquisition).head.active_channels, mix: b.metas[0]?.mix ?? null,
  };
}

/** Readout k; with `shared`, its data lie in a SharedArrayBuffer (as readouts read from a file do). */
function readout(k: number, samples: number, channels: number, shared = false): Acquisition {
  const head = emptyAcquisitionHeader();
  head.scan_counter = k;
  head.number_of_samples = samples;
  head.active_channels = channels;
  const values = randomComplex(samples * channels, 100 + k);
  const data = shared ? new Float32Array(new SharedArrayBuffer(4 * values.length + 64), 32, values.length) : values;
  data.set(values);
  return { kind: 'acquisition', head, traj: new Float32Array(0), data };
}

const marker: Message = { kind: 'text', text: 'between' };

test('readout batches on a worker give the inline bits, in input order, with passed messages in place', { timeout: 60_000 }, async () => {
  const channels = 4;
  const mixA = randomComplex(channels * channels, 7);
  const mixB = randomComplex(channels * channels, 8);
  // The first 20 in shared memory (batches of them go as they lie), the others packed into a shared copy.
  const acqs = Array.from({ length: 45 }, (_v, k) => readout(k, k % 5 === 0 ? 48 : 64, channels, k < 20));
  inputKinds.inPlace = 0;
  inputKinds.packed = 0;
  inputKinds.outputOnWorker = 0;
  const cuts: Cut[] = acqs.map((a, k) => ({ kept: a.head.number_of_samples / 2, mix: k < 30 ? mixA : k < 40 ? mixB : undefined }));
  const got: Message[] = [];
  const pool = createComputePool(RECON_TASKS_URL, 1);
  try {
    const batches = new ReadoutBatches(pool, { push: async (m) => void got.push(m) }, cutWork, { batchReadouts: 4, inFlight: 2 });
    for (let k = 0; k < acqs.length; k++) {
      await batches.add(acqs[k] as Acquisition, cuts[k] as Cut);
      if (k === 17) await batches.pass(marker);
    }
    await batches.finish();
  } finally {
    await pool.close();
  }
  assert.equal(got.length, acqs.length + 1);
  assert.equal(got[18], marker, 'the passed message keeps its place');
  assert.ok(inputKinds.inPlace >= 4 && inputKinds.packed >= 6, `shared readouts go in place, others packed: ${JSON.stringify(inputKinds)}`);
  // Batches sent to the worker get their output made there; the readouts then lie in it (shared memory).
  assert.ok(inputKinds.outputOnWorker >= 1, `outputs made on the worker: ${JSON.stringify(inputKinds)}`);
  const readouts = got.filter((m) => m !== marker) as Acquisition[];
  for (const m of readouts) assert.ok(m.data.buffer instanceof SharedArrayBuffer, 'results lie in shared memory');
  readouts.forEach((m, k) => {
    const a = acqs[k] as Acquisition;
    const { kept, mix } = cuts[k] as Cut;
    assert.equal(m.head.scan_counter, k, 'input order');
    const expected = removeOversamplingInto(a.data, a.head.number_of_samples, channels, kept, new Float32Array(2 * kept * channels), mix);
    assert.deepEqual(Array.from(m.data), Array.from(expected), `readout ${k}`);
  });
});

test('a batch that does not fill is sent after maxWaitMs; a failed batch fails the next call', { timeout: 30_000 }, async () => {
  const got: Message[] = [];
  const pool = createComputePool(RECON_TASKS_URL, 1);
  try {
    const batches = new ReadoutBatches(pool, { push: async (m) => void got.push(m) }, cutWork, { batchReadouts: 100, maxWaitMs: 2 });
    await batches.add(readout(0, 32, 2), { kept: 16, mix: undefined });
    for (let i = 0; i < 200 && got.length === 0; i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(got.length, 1, 'sent without finish()');

    // kept > samples: the task throws on the worker (or here, when the worker is busy).
    await batches.add(readout(1, 32, 2), { kept: 64, mix: undefined });
    await assert.rejects(batches.finish(), /Cannot remove oversampling/);
    await assert.rejects(batches.add(readout(2, 32, 2), { kept: 16, mix: undefined }), /Cannot remove oversampling/);
    assert.equal(got.length, 1, 'nothing after the failure');
  } finally {
    await pool.close();
  }
});
