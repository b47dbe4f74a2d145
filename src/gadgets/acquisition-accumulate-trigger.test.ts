import assert from 'node:assert/strict';
import test from 'node:test';
import type { AcquisitionBucket } from '../ismrmrd/buffers.js';
import type { Message } from '../ismrmrd/messages.js';
import { AcqFlag, type Acquisition } from '../ismrmrd/types.js';
import { acquisitionAccumulateTriggerGadget } from './acquisition-accumulate-trigger.js';
import { makeAcquisition, makeWaveform, ofKind, planGadgetStep, runGadget, testContext, type AcquisitionSpec } from './testing.js';

let scan = 0;
function acq(idx: AcquisitionSpec['idx'], flags: number[] = []): Acquisition {
  return makeAcquisition({ samples: 4, channels: 2, idx, flags, scanCounter: scan++ });
}

const lines = (acqs: readonly Acquisition[]): number[] => acqs.map((a) => a.head.idx.kspace_encode_step_1);

async function buckets(messages: Message[], properties: Record<string, string> = {}): Promise<AcquisitionBucket[]> {
  return ofKind(await runGadget(acquisitionAccumulateTriggerGadget, messages, { properties }), 'bucket');
}

test('AcquisitionAccumulateTriggerGadget with no trigger emits one bucket at the end and drops noise', async () => {
  const noise = acq({}, [AcqFlag.IS_NOISE_MEASUREMENT]);
  const input = [noise, acq({ kspace_encode_step_1: 0 }), acq({ kspace_encode_step_1: 1, repetition: 1 }), acq({ kspace_encode_step_1: 2 })];
  const out = await buckets(input);
  assert.equal(out.length, 1);
  const [bucket] = out as [AcquisitionBucket];
  assert.deepEqual(lines(bucket.data), [0, 1, 2]);
  assert.ok(!bucket.data.includes(noise) && !bucket.ref.includes(noise));
  assert.deepEqual(bucket.ref, []);
  assert.deepEqual([...(bucket.datastats[0]?.repetition ?? [])].sort(), [0, 1]);
  assert.deepEqual([...(bucket.datastats[0]?.kspace_encode_step_1 ?? [])].sort(), [0, 1, 2]);
});

test('AcquisitionAccumulateTriggerGadget triggers on repetition before the first readout of the next repetition', async () => {
  const input = [0, 1, 2, 3].map((e1) => acq({ kspace_encode_step_1: e1, repetition: 0 }))
    .concat([0, 1, 2].map((e1) => acq({ kspace_encode_step_1: e1, repetition: 1 })));
  // Drive the gadget directly to see how much input it had consumed at each emission.
  let consumed = 0;
  async function* source(): AsyncGenerator<Acquisition> {
    for (const a of input) {
      consumed += 1;
      yield a;
    }
  }
  const emitted: { bucket: AcquisitionBucket; consumed: number; size: number }[] = [];
  const step = planGadgetStep(acquisitionAccumulateTriggerGadget, { trigger_dimension: 'repetition' });
  await acquisitionAccumulateTriggerGadget.run(source(), {
    async push(m: Message) {
      assert.equal(m.kind, 'bucket');
      emitted.push({ bucket: m as AcquisitionBucket, consumed, size: (m as AcquisitionBucket).data.length });
    },
  }, step.properties, testContext());
  assert.equal(emitted.length, 2);
  assert.equal(emitted[0]?.consumed, 5, 'the repetition-0 bucket leaves when the first repetition-1 readout arrives');
  assert.equal(emitted[0]?.size, 4, 'it does not contain that readout');
  assert.ok(emitted[0]?.bucket.data.every((a) => a.head.idx.repetition === 0));
  assert.equal(emitted[1]?.consumed, 7, 'the last bucket leaves at the end of the stream');
  assert.deepEqual(lines(emitted[1]?.bucket.data ?? []), [0, 1, 2]);
  assert.ok(emitted[1]?.bucket.data.every((a) => a.head.idx.repetition === 1));
});

test('AcquisitionAccumulateTriggerGadget trigger and sorting names are case-insensitive and user counters work', async () => {
  const input = [acq({ user: [0, 0, 5] }), acq({ user: [0, 0, 5] }), acq({ user: [0, 0, 6] })];
  const out = await buckets(input, { trigger_dimension: 'USER_2' });
  assert.deepEqual(out.map((b) => b.data.length), [2, 1]);
});

test('AcquisitionAccumulateTriggerGadget sorting by slice emits buckets in ascending slice order', async () => {
  const slices = [2, 0, 1, 2, 0, 1, 3];
  const input = slices.map((slice, i) => acq({ slice, kspace_encode_step_1: i }));
  const out = await buckets(input, { sorting_dimension: 'slice' });
  assert.equal(out.length, 4);
  out.forEach((bucket, i) => {
    assert.ok(bucket.data.every((a) => a.head.idx.slice === i), `bucket ${i} holds slice ${i} only`);
  });
  assert.deepEqual(out.map((b) => lines(b.data)), [[1, 4], [2, 5], [0, 3], [6]], 'arrival order within a bucket');
});

test('AcquisitionAccumulateTriggerGadget sorting with a trigger emits every bucket, sorted, at each trigger', async () => {
  const input = [
    acq({ repetition: 0, slice: 1 }), acq({ repetition: 0, slice: 0 }),
    acq({ repetition: 1, slice: 1 }), acq({ repetition: 1, slice: 0 }), acq({ repetition: 1, slice: 1 }),
  ];
  const out = await buckets(input, { trigger_dimension: 'repetition', sorting_dimension: 'slice' });
  assert.deepEqual(out.map((b) => [b.data[0]?.head.idx.repetition, b.data[0]?.head.idx.slice, b.data.length]), [
    [0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 2],
  ]);
});

test('AcquisitionAccumulateTriggerGadget n_acquisitions triggers after the first and then the ongoing counts', async () => {
  const input = Array.from({ length: 10 }, (_, i) => acq({ kspace_encode_step_1: i }));
  const out = await buckets(input, {
    trigger_dimension: 'n_acquisitions', n_acquisitions_before_trigger: '4', n_acquisitions_before_ongoing_trigger: '3',
  });
  assert.deepEqual(out.map((b) => lines(b.data)), [[0, 1, 2, 3], [4, 5, 6], [7, 8, 9]]);
  const rest = await buckets(input.slice(0, 5), { trigger_dimension: 'n_acquisitions', n_acquisitions_before_trigger: '2' });
  assert.deepEqual(rest.map((b) => b.data.length), [2, 3], 'the ongoing count defaults to 40; the remainder leaves at the end');
});

test('AcquisitionAccumulateTriggerGadget noise readouts do not count towards n_acquisitions', async () => {
  const input = [acq({}), acq({}, [AcqFlag.IS_NOISE_MEASUREMENT]), acq({}), acq({})];
  const out = await buckets(input, { trigger_dimension: 'n_acquisitions', n_acquisitions_before_trigger: '2', n_acquisitions_before_ongoing_trigger: '2' });
  assert.deepEqual(out.map((b) => b.data.length), [2, 1]);
});

test('AcquisitionAccumulateTriggerGadget routes calibration lines: CAL → ref, CAL_AND_IMAGING → both, PHASECORR → neither', async () => {
  const imaging = acq({ kspace_encode_step_1: 0 });
  const cal = acq({ kspace_encode_step_1: 1 }, [AcqFlag.IS_PARALLEL_CALIBRATION]);
  const both = acq({ kspace_encode_step_1: 2 }, [AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING]);
  const phasecorr = acq({ kspace_encode_step_1: 3 }, [AcqFlag.IS_PHASECORR_DATA]);
  const navigator = acq({ kspace_encode_step_1: 4 }, [AcqFlag.IS_NAVIGATION_DATA]);
  const [bucket] = await buckets([imaging, cal, both, phasecorr, navigator]);
  assert.ok(bucket);
  assert.deepEqual(bucket.data, [imaging, both, navigator], 'navigator readouts are not filtered out');
  assert.deepEqual(bucket.ref, [cal, both]);
  assert.deepEqual([...(bucket.refstats[0]?.kspace_encode_step_1 ?? [])], [1, 2]);
  assert.deepEqual([...(bucket.datastats[0]?.kspace_encode_step_1 ?? [])], [0, 2, 4]);
});

test('AcquisitionAccumulateTriggerGadget keeps statistics per encoding space', async () => {
  const a = makeAcquisition({ samples: 4, idx: { kspace_encode_step_1: 7 }, encodingSpaceRef: 1 });
  const b = makeAcquisition({ samples: 4, idx: { kspace_encode_step_1: 2 } });
  const [bucket] = await buckets([a, b]);
  assert.equal(bucket?.datastats.length, 2);
  assert.deepEqual([...(bucket?.datastats[0]?.kspace_encode_step_1 ?? [])], [2]);
  assert.deepEqual([...(bucket?.datastats[1]?.kspace_encode_step_1 ?? [])], [7]);
});

test('AcquisitionAccumulateTriggerGadget attaches waveforms to the next bucket emitted', async () => {
  const w1 = makeWaveform(1);
  const w2 = makeWaveform(2);
  const w3 = makeWaveform(3);
  const input: Message[] = [
    w1, acq({ repetition: 0 }), acq({ repetition: 0 }),
    acq({ repetition: 1 }), w2, acq({ repetition: 1 }), w3,
  ];
  const out = await buckets(input, { trigger_dimension: 'repetition' });
  assert.equal(out.length, 2);
  assert.deepEqual(out[0]?.waveforms, [w1]);
  assert.deepEqual(out[1]?.waveforms, [w2, w3], 'waveforms that arrive after the last readout go out with the final bucket');
});

test('AcquisitionAccumulateTriggerGadget attaches waveforms to the first of several sorted buckets', async () => {
  const w = makeWaveform(9);
  const out = await buckets([acq({ slice: 1 }), w, acq({ slice: 0 })], { sorting_dimension: 'slice' });
  assert.deepEqual(out.map((b) => b.waveforms.length), [1, 0]);
  assert.equal(out[0]?.waveforms[0], w);
});

test('AcquisitionAccumulateTriggerGadget emits waveforms without readouts in a bucket of their own', async () => {
  const w = makeWaveform(4);
  const out = await buckets([w]);
  assert.equal(out.length, 1);
  assert.deepEqual(out[0]?.data, []);
  assert.deepEqual(out[0]?.waveforms, [w]);
});

test('AcquisitionAccumulateTriggerGadget emits nothing for an empty stream and passes other messages through', async () => {
  assert.deepEqual(await runGadget(acquisitionAccumulateTriggerGadget, []), []);
  const textMessage: Message = { kind: 'text', text: 'hello' };
  assert.deepEqual(await runGadget(acquisitionAccumulateTriggerGadget, [textMessage]), [textMessage]);
});
