import test from 'node:test';
import assert from 'node:assert/strict';
import type { DataBuffered, ReconData } from '../ismrmrd/buffers.js';
import { cropBuffer, detectSampledRange } from './generic-recon-base.js';
import { frameLatticeOffsets } from './generic-recon-cartesian-grappa.js';
import { genericReconCartesianReferencePrepGadget, giveBackReferences, selectOrAverageReference } from './generic-recon-reference-prep.js';
import { releaseKept, sliceBufferStats, takeSliceBuffer } from '../engine/slice-buffers.js';
import { makeScan, reconDataOf, type ScanSpec } from './grappa-testing.js';
import { ofKind, planGadgetStep, runGadget } from './testing.js';

const spec: ScanSpec = { RO: 32, E1: 40, CHA: 4, R1: 2, acsE1: 12, mode: 'embedded' };

function line(b: DataBuffered, e1: number, cha: number, n = 0): Float32Array {
  const [RO, E1, E2, CHA] = b.data.dims as [number, number, number, number];
  const off = 2 * RO * (e1 + E1 * E2 * (cha + CHA * n));
  return b.data.data.subarray(off, off + 2 * RO);
}

test('ReferencePrep crops an embedded ACS block and centres its sampling limits', async () => {
  const scan = makeScan(spec);
  const before = Float32Array.from(scan.ref?.data.data ?? []);
  const [out] = ofKind(await runGadget(genericReconCartesianReferencePrepGadget, [reconDataOf(scan)], { header: scan.header }), 'recondata');
  assert.ok(out);
  const bit = out.rbit[0];
  assert.ok(bit?.ref);
  assert.equal(bit.data, scan.data, 'the data buffer passes unchanged');
  assert.deepEqual(bit.ref.data.dims, [32, 12, 1, 4, 1, 1, 1]);
  assert.deepEqual(bit.ref.sampling.sampling_limits, [{ min: 0, max: 31, center: 16 }, { min: 0, max: 11, center: 6 }, { min: 0, max: 0, center: 0 }]);
  assert.deepEqual(line(bit.ref, 0, 2), line(scan.ref as DataBuffered, 14, 2), 'ACS line 14 is the first reference line');
  assert.deepEqual(scan.ref?.data.data, before, 'the input reference is not modified');
});

test('ReferencePrep gives the same reference and filled data from the block of calibration lines BucketToBuffer keeps', async () => {
  const scan = makeScan(spec);
  const full = scan.ref as DataBuffered;
  const block: DataBuffered = {
    ...full,
    data: cropBuffer(full.data, [0, 14, 0], [32, 12, 1]),
    sampling: { ...full.sampling, sampling_limits: [full.sampling.sampling_limits[0], { min: 0, max: 11, center: 20 - 14 }, { min: 0, max: 0, center: 0 }] },
  };
  const props = { header: scan.header, properties: { ref_fill_into_data_embedded: 'true' } };
  const [fromFull] = ofKind(await runGadget(genericReconCartesianReferencePrepGadget, [reconDataOf(scan)], props), 'recondata');
  const [fromBlock] = ofKind(await runGadget(genericReconCartesianReferencePrepGadget, [{ kind: 'recondata', rbit: [{ data: scan.data, ref: block }] }], props), 'recondata');
  assert.deepEqual(fromBlock?.rbit[0]?.ref, fromFull?.rbit[0]?.ref, 'the same prepared reference');
  assert.deepEqual(fromBlock?.rbit[0]?.data.data, fromFull?.rbit[0]?.data.data, 'the same lines filled into the data');
});

test('ReferencePrep fills embedded reference lines into a copy of the data when asked', async () => {
  const scan = makeScan(spec);
  const before = Float32Array.from(scan.data.data.data);
  const [out] = ofKind(
    await runGadget(genericReconCartesianReferencePrepGadget, [reconDataOf(scan)], { header: scan.header, properties: { ref_fill_into_data_embedded: 'true' } }),
    'recondata',
  );
  const data = out?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(line(data, 15, 1), line(scan.ref as DataBuffered, 15, 1), 'odd ACS line copied into the data');
  assert.ok(line(data, 13, 1).every((v) => v === 0), 'lines outside the ACS stay empty');
  assert.deepEqual(scan.data.data.data, before, 'the input data are not modified');
  // A line that holds data has a header: the filled calibration lines get theirs, so the data are no longer
  // taken for a lattice (the GRAPPA unwrap's M-point transform would leave them out).
  assert.ok(data.headers[15] !== undefined && scan.data.headers[15] === undefined, 'the filled line has a header, the input\'s headers are unchanged');
  assert.ok(data.headers[13] === undefined);
  assert.deepEqual(frameLatticeOffsets(scan.data, 2, 1), [0], 'before: a lattice');
  assert.equal(frameLatticeOffsets(data, 2, 1), undefined, 'after: none');
});

test('ReferencePrep averages interleaved reference data by sampling count and keeps the k-space centre', async () => {
  const scan = makeScan({ RO: 16, E1: 20, CHA: 2, R1: 2, N: 2, mode: 'interleaved' });
  const full = makeScan({ RO: 16, E1: 20, CHA: 2, N: 2 }).data;
  const ref: DataBuffered = { ...full, data: { data: Float32Array.from(full.data.data), dims: full.data.dims.slice() } };
  const vol = 16 * 20;
  for (let n = 0; n < 2; n++) {
    for (let e1 = 0; e1 < 20; e1++) {
      const keep = e1 >= 8 && e1 < 12 ? true : (e1 % 2 === n);
      if (keep) continue;
      for (let c = 0; c < 2; c++) ref.data.data.fill(0, 2 * (vol * (c + 2 * n) + 16 * e1), 2 * (vol * (c + 2 * n) + 16 * (e1 + 1)));
    }
  }
  ref.sampling = { ...ref.sampling, sampling_limits: [{ min: 0, max: 15, center: 8 }, { min: 0, max: 19, center: 10 }, { min: 0, max: 0, center: 0 }] };
  const recon: ReconData = { kind: 'recondata', rbit: [{ data: scan.data, ref }] };
  const [out] = ofKind(await runGadget(genericReconCartesianReferencePrepGadget, [recon], { header: scan.header }), 'recondata');
  const prepared = out?.rbit[0]?.ref as DataBuffered;
  assert.deepEqual(prepared.data.dims, [16, 20, 1, 2, 1, 1, 1]);
  assert.deepEqual(prepared.sampling.sampling_limits[1], { min: 0, max: 19, center: 10 });
  for (const e1 of [3, 9, 16]) {
    const a = line(prepared, e1, 1);
    const b = line(full, e1, 1);
    for (let i = 0; i < a.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-6, `line ${e1} equals the fully sampled line`);
  }
});

test('ReferencePrep selects N_for_ref and uses the data when there is no reference', async () => {
  const scan = makeScan({ RO: 16, E1: 20, CHA: 2, N: 3 });
  const picked = selectOrAverageReference(scan.data.data, { average_all_ref_N: true, average_all_ref_S: false, N_for_ref: 2, S_for_ref: -1, ref_fill_into_data_embedded: false }, false);
  assert.deepEqual(picked.dims, [16, 20, 1, 2, 1, 1, 1]);
  const second: ReconData = { kind: 'recondata', rbit: [{ data: scan.data }] };
  const outs = ofKind(await runGadget(genericReconCartesianReferencePrepGadget, [second, second], { header: scan.header }), 'recondata');
  assert.equal(outs.length, 2);
  assert.deepEqual(outs[0]?.rbit[0]?.ref?.data.dims, [16, 20, 1, 2, 1, 1, 1], 'data averaged over N become the reference');
  assert.ok(outs[1]?.rbit[0]?.ref, 'prepare_ref_always: every buffer');
  const once = ofKind(
    await runGadget(genericReconCartesianReferencePrepGadget, [second, second], { header: scan.header, properties: { prepare_ref_always: 'false' } }),
    'recondata',
  );
  assert.ok(once[0]?.rbit[0]?.ref);
  assert.equal(once[1]?.rbit[0]?.ref, undefined, 'only the first buffer gets a reference');
});

test('ReferencePrep properties and errors', async () => {
  const step = planGadgetStep(genericReconCartesianReferencePrepGadget);
  assert.equal(step.properties['average_all_ref_N'], true);
  assert.equal(step.properties['average_all_ref_S'], false);
  assert.equal(step.properties['prepare_ref_always'], true);
  assert.equal(step.properties['N_for_ref'], -1);
  assert.equal(step.properties['ref_fill_into_data_embedded'], false);
  assert.throws(() => planGadgetStep(genericReconCartesianReferencePrepGadget, { average_ref: 'true' }), /not a property/);
  const scan = makeScan(spec);
  const empty: ReconData = { kind: 'recondata', rbit: [{ data: { ...scan.data, data: { data: new Float32Array(0), dims: [32, 40, 1, 4, 0, 1, 1] } } }] };
  await assert.rejects(runGadget(genericReconCartesianReferencePrepGadget, [empty], { header: scan.header }), /the data buffer is empty/);
});

test('detectSampledRange: the first and last lines with a non-zero sample and no NaN, over every block', () => {
  const [RO, E1, E2, CHA, N] = [4, 10, 3, 2, 3];
  const a = { data: new Float32Array(2 * RO * E1 * E2 * CHA * N), dims: [RO, E1, E2, CHA, N, 1, 1] };
  const set = (e1: number, e2: number, cha: number, n: number, v: number): void => {
    a.data[2 * (RO * (e1 + E1 * (e2 + E2 * (cha + CHA * n)))) + 3] = v;
  };
  assert.equal(detectSampledRange(a, 1), undefined, 'nothing sampled');
  set(4, 0, 0, 0, 1);
  set(5, 1, 0, 0, 2);
  set(2, 2, 0, 2, -1); // a later block widens the range
  set(8, 0, 0, 1, Number.NaN); // a line with a NaN does not count
  set(3, 1, 0, 1, 3); // inside the range
  set(9, 0, 1, 1, 4); // channel 0 decides, as before
  assert.deepEqual(detectSampledRange(a, 1), [2, 5]);
  assert.deepEqual(detectSampledRange(a, 2), [0, 2]);
});

test('ReferencePrep hands a slice\'s reference buffer back for the next slice only where its output holds none of it', () => {
  const scan = makeScan(spec);
  const ref = scan.ref as DataBuffered;
  // A reference buffer as BucketToBuffer makes it: a whole shared slice buffer (16 MiB: the smallest kept).
  const withBuffer = (b: DataBuffered, data: Float32Array): DataBuffered => ({ ...b, data: { ...b.data, data } });
  const floats = 4 << 20;
  releaseKept();
  try {
    const input = (buffer: Float32Array): ReconData => ({ kind: 'recondata', rbit: [{ data: scan.data, ref: withBuffer(ref, buffer) }] });
    // The prepared reference is a new array: the input's buffer is handed back, and the next take of its size reuses it.
    const first = takeSliceBuffer(floats);
    giveBackReferences(input(first), { kind: 'recondata', rbit: [{ data: scan.data, ref }] });
    assert.equal(sliceBufferStats().kept, 1, 'handed back');
    const reused = sliceBufferStats().reused;
    const next = takeSliceBuffer(floats);
    assert.equal(next.buffer, first.buffer, 'the next slice\'s reference is made in the same memory');
    assert.equal(sliceBufferStats().reused, reused + 1);
    // A prepared reference that is a view of the input's buffer (nothing averaged or cropped) keeps it.
    giveBackReferences(input(next), { kind: 'recondata', rbit: [{ data: scan.data, ref: withBuffer(ref, next.subarray(0, 64)) }] });
    assert.equal(sliceBufferStats().kept, 0, 'still held by the output reference');
    // So does output data that lie in it.
    giveBackReferences(input(next), { kind: 'recondata', rbit: [{ data: withBuffer(scan.data, next.subarray(64, 128)), ref }] });
    assert.equal(sliceBufferStats().kept, 0, 'still held by the output data');
  } finally {
    releaseKept();
  }
});

test('ReferencePrep gives the slice buffer of each reference it prepares back once it has sent the prepared one', async () => {
  // 64 × 64 × 32 channels × 16 repetitions: a 16 MiB reference, the smallest size slice-buffers.ts keeps.
  const scan = makeScan({ RO: 64, E1: 64, CHA: 32, R1: 2, acsE1: 16, mode: 'embedded', N: 16 });
  const ref = scan.ref as DataBuffered;
  releaseKept();
  try {
    const buffer = takeSliceBuffer(ref.data.data.length);
    assert.equal(buffer.byteLength, 16 * 1024 * 1024);
    buffer.set(ref.data.data);
    const [out] = ofKind(await runGadget(genericReconCartesianReferencePrepGadget, [{ kind: 'recondata', rbit: [{ data: scan.data, ref: { ...ref, data: { ...ref.data, data: buffer } } }] }], { header: scan.header }), 'recondata');
    assert.ok(out?.rbit[0]?.ref, 'a prepared reference was sent');
    assert.notEqual(out.rbit[0].ref.data.data.buffer, buffer.buffer, 'in memory of its own');
    assert.equal(sliceBufferStats().kept, 1, 'the reference buffer is kept for the next slice');
    assert.equal(takeSliceBuffer(ref.data.data.length).buffer, buffer.buffer);
  } finally {
    releaseKept();
  }
});
