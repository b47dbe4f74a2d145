import assert from 'node:assert/strict';
import test from 'node:test';
import { expandLattice, type AcquisitionBucket, type DataBuffered, type ReconData } from '../ismrmrd/buffers.js';
import type { Message } from '../ismrmrd/messages.js';
import { AcqFlag, type Acquisition } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { acquisitionAccumulateTriggerGadget, addToBucket } from './acquisition-accumulate-trigger.js';
import { bucketToBufferGadget, bucketToBuffers, readsCompactBuffers, type BufferingOptions } from './bucket-to-buffer.js';
import { makeAcquisition, makeHeader, makeWaveform, ofKind, runGadget, type AcquisitionSpec, type HeaderSpec } from './testing.js';

function bucketOf(acqs: readonly Acquisition[]): AcquisitionBucket {
  const bucket: AcquisitionBucket = { kind: 'bucket', data: [], ref: [], datastats: [], refstats: [], waveforms: [] };
  for (const a of acqs) addToBucket(bucket, a);
  return bucket;
}

/** A readout whose sample s of channel c is (code, s + 100·c) with code = 1 + e1 + 1000·(n-ish counters). */
function line(samples: number, channels: number, idx: NonNullable<AcquisitionSpec['idx']>, flags: number[] = []): Acquisition {
  const code = 1 + (idx.kspace_encode_step_1 ?? 0) + 1000 * (idx.phase ?? 0) + 10_000 * (idx.contrast ?? 0) + 100_000 * (idx.slice ?? 0);
  return makeAcquisition({ samples, channels, idx, flags, data: (s, c) => [code, s + 100 * c] });
}

async function buffers(messages: Message[], header: IsmrmrdHeader, properties: Record<string, string> = {}): Promise<ReconData[]> {
  return ofKind(await runGadget(bucketToBufferGadget, messages, { header, properties }), 'recondata');
}

/** Complex value at (e0, e1, e2, cha, n, s, loc) of a buffer. */
function at(buffer: DataBuffered, ...index: number[]): [number, number] {
  const dims = buffer.data.dims;
  let offset = 0;
  let stride = 1;
  dims.forEach((d, k) => {
    const i = index[k] ?? 0;
    assert.ok(i >= 0 && i < d, `index ${i} inside dimension ${k} of size ${d}`);
    offset += i * stride;
    stride *= d;
  });
  return [buffer.data.data[2 * offset] as number, buffer.data.data[2 * offset + 1] as number];
}

/** E1 indices of lines with any non-zero sample, for (e2, cha, n, s, loc) = 0 unless given. */
function filledLines(buffer: DataBuffered, rest: number[] = []): number[] {
  const [E0, E1] = buffer.data.dims as [number, number];
  const out: number[] = [];
  for (let e1 = 0; e1 < E1; e1++) {
    let any = false;
    for (let e0 = 0; e0 < E0 && !any; e0++) {
      const [re, im] = at(buffer, e0, e1, ...(rest.length ? rest : [0]));
      any = re !== 0 || im !== 0;
    }
    if (any) out.push(e1);
  }
  return out;
}

const plain = (spec: Partial<HeaderSpec> = {}): IsmrmrdHeader => makeHeader({
  encodedMatrix: [8, 6, 1], encodedFov: [200, 150, 5], reconMatrix: [8, 6, 1], reconFov: [200, 150, 5],
  limits: { kspace_encoding_step_1: [0, 5, 3] },
  ...spec,
});

test('BucketToBufferGadget lays out [E0, E1, E2, CHA, N, S, LOC] with N = phase and places every sample', async () => {
  const acqs: Acquisition[] = [];
  for (let phase = 0; phase < 3; phase++) for (let e1 = 0; e1 < 6; e1++) acqs.push(line(8, 2, { kspace_encode_step_1: e1, phase }));
  const out = await buffers([bucketOf(acqs)], plain(), { N_dimension: 'phase' });
  assert.equal(out.length, 1, 'phase is the N dimension, so it is not part of the buffer key');
  const bit = out[0]?.rbit[0];
  assert.ok(bit);
  assert.equal(out[0]?.rbit.length, 1);
  assert.equal(bit.ref, undefined);
  const data = bit.data;
  assert.deepEqual(data.data.dims, [8, 6, 1, 2, 3, 1, 1]);
  assert.deepEqual(data.headerDims, [6, 1, 3, 1, 1]);
  for (const a of acqs) {
    const { kspace_encode_step_1: e1, phase } = a.head.idx;
    for (let c = 0; c < 2; c++) {
      for (let s = 0; s < 8; s++) assert.deepEqual(at(data, s, e1, 0, c, phase), [1 + e1 + 1000 * phase, s + 100 * c]);
    }
    assert.equal(data.headers[e1 + 6 * (0 + 1 * phase)], a.head, 'the header sits at (e1, e2, n, s, loc)');
  }
});

test('BucketToBufferGadget makes one buffer per key when the counter is not N or S, in ascending key order', async () => {
  const acqs: Acquisition[] = [];
  for (const phase of [2, 0, 1]) for (let e1 = 0; e1 < 6; e1++) acqs.push(line(8, 1, { kspace_encode_step_1: e1, phase }));
  const out = await buffers([bucketOf(acqs)], plain());
  assert.equal(out.length, 3);
  out.forEach((recon, phase) => {
    const data = recon.rbit[0]?.data as DataBuffered;
    assert.deepEqual(data.data.dims, [8, 6, 1, 1, 1, 1, 1]);
    assert.equal(at(data, 0, 2)[0], 1 + 2 + 1000 * phase);
  });
});

test('BucketToBufferGadget N = phase and S = contrast: dims from the bucket statistics, raw indices clamped', async () => {
  const acqs: Acquisition[] = [];
  for (const contrast of [0, 1]) for (const phase of [0, 1, 2]) for (let e1 = 0; e1 < 6; e1++) {
    acqs.push(line(8, 1, { kspace_encode_step_1: e1, phase, contrast }));
  }
  const [recon] = await buffers([bucketOf(acqs)], plain(), { N_dimension: 'PHASE', S_dimension: 'contrast' });
  const data = recon?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(data.data.dims, [8, 6, 1, 1, 3, 2, 1]);
  assert.equal(at(data, 0, 4, 0, 0, 2, 1)[0], 1 + 4 + 1000 * 2 + 10_000 * 1);

  // N indices are not offset by their minimum (a Gadgetron quirk): phases {1, 2} give NN = 2 and phase 2 → n = 1 (clamped).
  const shifted = acqs.filter((a) => a.head.idx.phase > 0 && a.head.idx.contrast === 0);
  const [r2] = await buffers([bucketOf(shifted)], plain(), { N_dimension: 'phase' });
  const d2 = r2?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(d2.data.dims, [8, 6, 1, 1, 2, 1, 1]);
  assert.equal(at(d2, 0, 0, 0, 0, 1)[0], 1 + 0 + 1000 * 2, 'phase 2 lands at n = 1 (clamped), overwriting phase 1');
});

test('BucketToBufferGadget centres lines: the limits centre lands at ⌊matrix/2⌋', async () => {
  // Partial Fourier in E1: lines 0..11 of 16 acquired, k-space centre at line 5 → offset 8 − 5 = 3.
  const header = makeHeader({
    encodedMatrix: [8, 16, 1], encodedFov: [200, 200, 5],
    limits: { kspace_encoding_step_1: [0, 11, 5] },
    parallelImaging: { accelerationE1: 1, calibrationMode: 'embedded' },
  });
  const acqs = Array.from({ length: 12 }, (_, e1) => line(8, 1, { kspace_encode_step_1: e1 }));
  const [recon] = await buffers([bucketOf(acqs)], header);
  const data = recon?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(data.data.dims, [8, 16, 1, 1, 1, 1, 1], 'with parallel imaging NE1 is the encoded matrix');
  assert.deepEqual(filledLines(data), Array.from({ length: 12 }, (_, i) => i + 3));
  assert.equal(at(data, 0, 8)[0], 1 + 5, 'the centre line (5) sits at ⌊16/2⌋');
  assert.equal(data.headers[8], acqs[5]?.head);
  assert.deepEqual(data.sampling.sampling_limits[1], { min: 3, max: 14, center: 8 });
});

test('BucketToBufferGadget without parallel imaging sizes E1 from the limits and keeps a centred acquisition in place', async () => {
  const header = plain({ encodedMatrix: [8, 10, 1], reconMatrix: [8, 10, 1], limits: { kspace_encoding_step_1: [0, 9, 5] } });
  const acqs = Array.from({ length: 10 }, (_, e1) => line(8, 1, { kspace_encode_step_1: e1 }));
  const [recon] = await buffers([bucketOf(acqs)], header);
  const data = recon?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(data.data.dims, [8, 10, 1, 1, 1, 1, 1]);
  assert.deepEqual(filledLines(data), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  assert.equal(at(data, 3, 5)[0], 6);
});

test('BucketToBufferGadget places readouts by discard_pre and by centre sample', async () => {
  const header = makeHeader({
    encodedMatrix: [8, 4, 1], encodedFov: [200, 200, 5],
    limits: { kspace_encoding_step_1: [0, 3, 2] },
    parallelImaging: { accelerationE1: 1, calibrationMode: 'embedded' },
  });
  // Standard readout (Ns = NE0, centre at Ns/2): samples [discard_pre, Ns − discard_post) keep their indices.
  const standard = makeAcquisition({ samples: 8, discardPre: 2, discardPost: 1, idx: { kspace_encode_step_1: 0 }, data: (s) => [s + 1, 0] });
  // A 4-sample readout centred at sample 1 goes to offset ⌊8/2⌋ − 1 = 3.
  const short = makeAcquisition({ samples: 4, centerSample: 1, idx: { kspace_encode_step_1: 1 }, data: (s) => [s + 1, 0] });
  const [recon] = await buffers([bucketOf([standard, short])], header);
  const data = recon?.rbit[0]?.data as DataBuffered;
  assert.equal(data.data.dims[0], 8, 'with parallel imaging NE0 is the first readout\'s number_of_samples');
  assert.deepEqual(Array.from({ length: 8 }, (_, s) => at(data, s, 0)[0]), [0, 0, 3, 4, 5, 6, 7, 0]);
  assert.deepEqual(Array.from({ length: 8 }, (_, s) => at(data, s, 1)[0]), [0, 0, 0, 1, 2, 3, 4, 0]);
  assert.deepEqual(data.sampling.sampling_limits[0], { min: 2, max: 6, center: 4 }, 'from the first readout');
  const offCentre = makeAcquisition({ samples: 8, centerSample: 1, idx: { kspace_encode_step_1: 1 }, data: () => [1, 0] });
  await assert.rejects(buffers([bucketOf([standard, offCentre])], header), /do not fit/);
});

test('BucketToBufferGadget without parallel imaging drops symmetric discards: NE0 = Ns − discard_pre − discard_post', async () => {
  const header = plain({ encodedMatrix: [12, 6, 1], reconMatrix: [12, 6, 1] });
  const acqs = Array.from({ length: 6 }, (_, e1) => makeAcquisition({
    samples: 12, discardPre: 2, discardPost: 2, centerSample: 6, idx: { kspace_encode_step_1: e1 }, data: (s) => [s + 1, 0],
  }));
  const [recon] = await buffers([bucketOf(acqs)], header);
  const data = recon?.rbit[0]?.data as DataBuffered;
  assert.equal(data.data.dims[0], 8);
  assert.deepEqual(Array.from({ length: 8 }, (_, s) => at(data, s, 2)[0]), [3, 4, 5, 6, 7, 8, 9, 10], 'samples 2..9, echo centre at ⌊8/2⌋');
});

test('BucketToBufferGadget keeps only the block of embedded calibration lines in the reference buffer', async () => {
  // R = 2 over 64 lines, 12 embedded calibration lines 26..37 (those on the R-grid are calibration and imaging).
  const m = 64;
  const readouts: Acquisition[] = [];
  for (let i = 0; i < m; i++) {
    const inBand = i >= 26 && i <= 37;
    if (i % 2 !== 0 && !inBand) continue;
    const flags = inBand ? [i % 2 === 0 ? AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING : AcqFlag.IS_PARALLEL_CALIBRATION] : [];
    readouts.push(line(8, 2, { kspace_encode_step_1: i, phase: i % 4 === 0 ? 0 : 1 }, flags));
  }
  const header = makeHeader({
    encodedMatrix: [8, m, 1], encodedFov: [300, 300, 6], reconMatrix: [8, m, 1], reconFov: [300, 300, 6],
    limits: { kspace_encoding_step_1: [0, m - 1, m / 2] },
    parallelImaging: { accelerationE1: 2, calibrationMode: 'embedded' },
    receiverChannels: 2,
  });
  const bucketsOut = ofKind(await runGadget(acquisitionAccumulateTriggerGadget, readouts, { properties: { trigger_dimension: 'slice' } }), 'bucket');
  const [recon] = await buffers(bucketsOut, header, { N_dimension: 'phase' });
  const bit = recon?.rbit[0];
  assert.ok(bit?.ref);
  assert.deepEqual(bit.data.data.dims, [8, m, 1, 2, 2, 1, 1], 'the data keep the full grid');
  assert.deepEqual(bit.ref.data.dims, [8, 12, 1, 2, 2, 1, 1], 'the reference holds lines 26..37 only');
  assert.deepEqual(bit.ref.sampling.sampling_limits[1], { min: 0, max: 11, center: m / 2 - 26 }, 'the grid centre (32) sits at 6');
  assert.deepEqual(bit.data.sampling.sampling_limits[1], { min: 0, max: m - 1, center: m / 2 });
  for (let k = 0; k < 12; k++) {
    const e1 = 26 + k;
    const n = e1 % 4 === 0 ? 0 : 1;
    assert.deepEqual(at(bit.ref, 3, k, 0, 1, n), [1 + e1 + 1000 * n, 3 + 100], `reference line ${k} is k-space line ${e1}`);
  }
  assert.ok(bit.ref.headers.filter((h) => h !== undefined).every((h) => h.idx.kspace_encode_step_1 >= 26 && h.idx.kspace_encode_step_1 <= 37));
});

test('BucketToBufferGadget on the phantom layout (R = 2, w = 32, repetition 0): data holds the even lines, ref lines 112..143', async () => {
  // Flags as ismrmrd_generate_cartesian_shepp_logan sets them (algorithms.md §11), m = 256, acc = 2, w = 32.
  const m = 256;
  const acc = 2;
  const from = m / 2 - 16;
  const till = m / 2 + 16 - 1;
  const readouts: Acquisition[] = [];
  for (let a = 0; a < acc; a++) {
    for (let i = 0; i < m; i++) {
      const inBand = i >= from && i <= till;
      if ((i - a) % acc !== 0 && !inBand) continue;
      const flags: number[] = [];
      if (i === a) flags.push(AcqFlag.FIRST_IN_SLICE);
      else if (i >= m - acc) flags.push(AcqFlag.LAST_IN_SLICE);
      else if (inBand) flags.push((i - a) % acc !== 0 ? AcqFlag.IS_PARALLEL_CALIBRATION : AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING);
      readouts.push(line(8, 2, { kspace_encode_step_1: i, repetition: a }, flags));
    }
  }
  const header = makeHeader({
    encodedMatrix: [16, m, 1], encodedFov: [600, 300, 6], reconMatrix: [8, m, 1], reconFov: [300, 300, 6],
    limits: { kspace_encoding_step_1: [0, m - 1, m / 2], repetition: [0, acc - 1, 0] },
    parallelImaging: { accelerationE1: acc, calibrationMode: 'interleaved' },
    receiverChannels: 2,
  });
  const bucketsOut = ofKind(await runGadget(acquisitionAccumulateTriggerGadget, readouts, { properties: { trigger_dimension: 'repetition' } }), 'bucket');
  assert.equal(bucketsOut.length, 2);
  const out = await buffers(bucketsOut, header, { N_dimension: 'contrast', S_dimension: 'average', ignore_segment: 'true' });
  assert.equal(out.length, 2, 'one buffer per repetition');
  const bit = out[0]?.rbit[0];
  assert.ok(bit?.ref);
  assert.deepEqual(bit.data.data.dims, [8, m, 1, 2, 1, 1, 1]);
  assert.deepEqual(filledLines(bit.data), Array.from({ length: m / 2 }, (_, k) => 2 * k));
  assert.deepEqual(filledLines(bit.data, [0, 1]), Array.from({ length: m / 2 }, (_, k) => 2 * k), 'channel 1 too');
  assert.deepEqual(bit.ref.data.dims, [8, m, 1, 2, 1, 1, 1]);
  assert.deepEqual(filledLines(bit.ref), Array.from({ length: 32 }, (_, k) => 112 + k));
  assert.ok(bit.data.headers.every((h, e1) => (h === undefined) === (e1 % 2 === 1)), 'headers exactly where lines were placed');
  assert.ok(bit.data.headers.every((h) => h === undefined || h.idx.repetition === 0));
  assert.deepEqual(bit.data.sampling.sampling_limits[1], { min: 0, max: m - 1, center: m / 2 });
  assert.deepEqual(bit.ref.sampling.sampling_limits[1], { min: 0, max: m - 1, center: m / 2 }, 'interleaved ref: the raw limits');
  assert.deepEqual(bit.data.sampling.encoded_FOV, [300, 300, 6], 'Cartesian: encoded x replaced by the recon FOV');
  assert.deepEqual(bit.data.sampling.encoded_matrix, [8, m, 1]);
  assert.deepEqual(bit.data.sampling.recon_FOV, [300, 300, 6]);
  assert.deepEqual(bit.data.sampling.recon_matrix, [8, m, 1]);
  const odd = out[1]?.rbit[0];
  assert.deepEqual(filledLines(odd?.data as DataBuffered), Array.from({ length: m / 2 }, (_, k) => 2 * k + 1), 'repetition 1 holds the odd lines');
});

test('BucketToBufferGadget separate-mode ref is sized by its own lines and starts at line 0', async () => {
  const header = makeHeader({
    encodedMatrix: [8, 16, 1], encodedFov: [200, 200, 5],
    limits: { kspace_encoding_step_1: [0, 15, 8] },
    parallelImaging: { accelerationE1: 2, calibrationMode: 'separate' },
  });
  const data = Array.from({ length: 8 }, (_, k) => line(8, 1, { kspace_encode_step_1: 2 * k }));
  const ref = [6, 7, 8, 9].map((e1) => line(8, 1, { kspace_encode_step_1: e1 }, [AcqFlag.IS_PARALLEL_CALIBRATION]));
  const [recon] = await buffers([bucketOf([...data, ...ref])], header);
  const refBuffer = recon?.rbit[0]?.ref as DataBuffered;
  assert.deepEqual(refBuffer.data.dims, [8, 4, 1, 1, 1, 1, 1]);
  assert.deepEqual(filledLines(refBuffer), [0, 1, 2, 3]);
  assert.equal(at(refBuffer, 0, 0)[0], 1 + 6);
  assert.deepEqual(refBuffer.sampling.sampling_limits[1], { min: 0, max: 15, center: 8 });
});

test('BucketToBufferGadget split_slices makes a buffer per slice; otherwise slices share one buffer', async () => {
  const header = plain({ limits: { kspace_encoding_step_1: [0, 5, 3], slice: [0, 1, 0] } });
  const acqs: Acquisition[] = [];
  for (const slice of [0, 1]) for (let e1 = 0; e1 < 6; e1++) acqs.push(line(8, 1, { kspace_encode_step_1: e1, slice }));
  const split = await buffers([bucketOf(acqs)], header, { split_slices: 'true' });
  assert.equal(split.length, 2);
  split.forEach((recon, slice) => {
    const d = recon.rbit[0]?.data as DataBuffered;
    assert.deepEqual(d.data.dims, [8, 6, 1, 1, 1, 1, 1]);
    assert.equal(at(d, 0, 1)[0], 1 + 1 + 100_000 * slice);
    assert.equal(d.headers[1]?.idx.slice, slice);
  });
  const [joined] = await buffers([bucketOf(acqs)], header);
  const d = joined?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(d.data.dims, [8, 6, 1, 1, 1, 1, 2]);
  assert.equal(at(d, 0, 1, 0, 0, 0, 0, 1)[0], 1 + 1 + 100_000);
  assert.equal(d.headers[1 + 6 * 1]?.idx.slice, 1, 'headers are indexed by loc as well');
});

test('BucketToBufferGadget caps LOC by the slices received (a bucket sorted by slice holds one slice)', async () => {
  const header = plain({ limits: { kspace_encoding_step_1: [0, 5, 3], slice: [0, 3, 0] } });
  const acqs = Array.from({ length: 6 }, (_, e1) => line(8, 1, { kspace_encode_step_1: e1, slice: 2 }));
  const [recon] = await buffers([bucketOf(acqs)], header);
  const d = recon?.rbit[0]?.data as DataBuffered;
  assert.deepEqual(d.data.dims, [8, 6, 1, 1, 1, 1, 1]);
  assert.equal(at(d, 0, 3)[0], 1 + 3 + 100_000 * 2);
});

test('BucketToBufferGadget handles several encoding spaces and skips spaces without data', async () => {
  const header = makeHeader({ encodedMatrix: [8, 4, 1], encodedFov: [100, 100, 5], limits: { kspace_encoding_step_1: [0, 3, 2] } });
  const space1 = makeAcquisition({ samples: 8, encodingSpaceRef: 1, idx: { kspace_encode_step_1: 0 } });
  await assert.rejects(buffers([bucketOf([space1])], header), /encoding space 1/);
  const space0 = makeAcquisition({ samples: 8, idx: { kspace_encode_step_1: 0 }, data: () => [1, 1] });
  const [recon] = await buffers([bucketOf([space0])], header);
  assert.equal(recon?.rbit.length, 1);
});

test('BucketToBufferGadget needs a header, passes other messages through and ignores empty buckets', async () => {
  const header = plain();
  const w = makeWaveform(1);
  const out = await runGadget(bucketToBufferGadget, [w, bucketOf([])], { header });
  assert.deepEqual(out, [w]);
  await assert.rejects(runGadget(bucketToBufferGadget, [bucketOf([line(8, 1, { kspace_encode_step_1: 0 })])]), /without an ISMRMRD header/);
});

test('BucketToBuffer compact buffers: each phase\'s lattice lines only, the full grid again by expandLattice; off-lattice data stay full', () => {
  const m = 12;
  const R = 3;
  const phases = 4;
  const header = makeHeader({
    encodedMatrix: [16, m, 1], encodedFov: [600, 300, 6], reconMatrix: [8, m, 1], reconFov: [300, 300, 6],
    limits: { kspace_encoding_step_1: [0, m - 1, m / 2], phase: [0, phases - 1, 0] },
    parallelImaging: { accelerationE1: R, calibrationMode: 'embedded' },
    receiverChannels: 2,
  });
  const readouts: Acquisition[] = [];
  for (let p = 0; p < phases; p++) {
    // Real-time cine: phase p samples lines p mod R, p mod R + R, …; line 9 of phase 3 is missing (stays zero).
    for (let e1 = p % R; e1 < m; e1 += R) if (!(p === 3 && e1 === 9)) readouts.push(line(8, 2, { kspace_encode_step_1: e1, phase: p }));
  }
  const opts: BufferingOptions = { N_dimension: 'phase', S_dimension: '', split_slices: false, ignore_segment: false };
  const full = bucketToBuffers(bucketOf(readouts), header, opts)[0]?.rbit[0]?.data as DataBuffered;
  const compact = bucketToBuffers(bucketOf(readouts), header, { ...opts, compactLattice: true })[0]?.rbit[0]?.data as DataBuffered;
  assert.equal(full.lattice, undefined);
  assert.deepEqual(compact.lattice, { factor: R, offsets: [0, 1, 2, 0] });
  assert.deepEqual(compact.data.dims, [8, m / R, 1, 2, phases, 1, 1]);
  assert.deepEqual(full.data.dims, [8, m, 1, 2, phases, 1, 1]);
  assert.deepEqual(compact.headers, full.headers, 'headers on the logical grid');
  assert.deepEqual(at(compact, 3, 2, 0, 1, 1), at(full, 3, 1 + 2 * R, 0, 1, 1), 'phase 1, line 7 stored as line 2');
  assert.deepEqual(expandLattice(compact).data, full.data);

  readouts.push(line(8, 2, { kspace_encode_step_1: 1, phase: 0 }));
  const mixed = bucketToBuffers(bucketOf(readouts), header, { ...opts, compactLattice: true })[0]?.rbit[0]?.data as DataBuffered;
  assert.equal(mixed.lattice, undefined, 'a line off its phase\'s lattice: the full grid');
  assert.deepEqual(mixed.data.dims, full.data.dims);
});

test('BucketToBuffer makes compact buffers only for a chain that ends in GRAPPA after reference preparation and channel compression', () => {
  const prep = 'GenericReconCartesianReferencePrepGadget';
  const klt = 'GenericReconEigenChannelGadget';
  const grappa = 'GenericReconCartesianGrappaGadget';
  assert.equal(readsCompactBuffers([prep, klt, grappa, 'GenericReconPartialFourierHandlingPOCSGadget']), true);
  assert.equal(readsCompactBuffers([grappa]), true);
  assert.equal(readsCompactBuffers([prep, 'GenericReconCartesianFFTGadget']), false);
  assert.equal(readsCompactBuffers([prep, klt]), false);
  assert.equal(readsCompactBuffers([]), false);
});
