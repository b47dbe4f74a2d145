import test from 'node:test';
import assert from 'node:assert/strict';
import { createComputePool } from '../engine/thread-pool.js';
import type { ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { GrappaRecon } from './generic-recon-cartesian-grappa.js';
import { EigenChannelCompressor } from './generic-recon-eigen-channel.js';
import { ReferencePreparer } from './generic-recon-reference-prep.js';
import { RECON_TASKS_URL } from './generic-recon-tasks.js';
import { GRAPPA_TEST_OPTIONS, makeScan, reconDataOf } from './grappa-testing.js';
import { multiplyMixes, rotateBlocks, rotatedBit, transposedMix, whitenedBit } from './pending-mix.js';
import { whiteningCanBeDeferredToRecon } from './noise-adjust.js';

const OPTIONS = GRAPPA_TEST_OPTIONS;
const KLT = { average_all_ref_N: true, average_all_ref_S: false, update_eigen_channel_coefficients: false, upstream_coil_compression_thres: -1, upstream_coil_compression_num_modesKept: 0 };
const PREP = { average_all_ref_N: true, average_all_ref_S: false, N_for_ref: -1, S_for_ref: -1, ref_fill_into_data_embedded: false, prepare_ref_always: true };

/** A lower-triangular whitening-like matrix with a fixed pattern (C × C, column-major, interleaved float64). */
function whitening(C: number): Float64Array {
  const m = new Float64Array(2 * C * C);
  for (let j = 0; j < C; j++) {
    for (let i = j; i < C; i++) {
      m[2 * (i + C * j)] = i === j ? 1.3 + 0.1 * i : 0.07 * Math.cos(i + 2 * j);
      m[2 * (i + C * j) + 1] = i === j ? 0 : 0.05 * Math.sin(3 * i - j);
    }
  }
  return m;
}

/**
 * NRMSE of `a` against `b` over the pixels where `support` (one frame, per pixel) is true. Outside the object the coil
 * maps and the g-factor rest on eigen-channels of near-zero energy, which any float32 rounding turns about.
 */
function nrmse(a: Float32Array, b: Float32Array, support: boolean[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    if (!support[(i >> 1) % support.length]) continue;
    const x = a[i] as number;
    const y = b[i] as number;
    if (!Number.isFinite(y)) {
      assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `value ${i}: ${x} where ${y} was expected`);
      continue; // SNR map I/g where g is 0
    }
    num += (x - y) ** 2;
    den += y ** 2;
  }
  return Math.sqrt(num / den);
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

test('whiteningCanBeDeferredToRecon: only BucketToBuffer → ReferencePrep → [EigenChannel] → GRAPPA', () => {
  const head = ['RemoveROOversamplingGadget', 'AcquisitionAccumulateTriggerGadget', 'BucketToBufferGadget'];
  assert.equal(whiteningCanBeDeferredToRecon([...head, 'GenericReconCartesianReferencePrepGadget', 'GenericReconEigenChannelGadget', 'GenericReconCartesianGrappaGadget', 'GenericReconPartialFourierHandlingPOCSGadget']), true);
  assert.equal(whiteningCanBeDeferredToRecon([...head, 'GenericReconCartesianReferencePrepGadget', 'GenericReconCartesianGrappaGadget']), true);
  assert.equal(whiteningCanBeDeferredToRecon([...head, 'GenericReconCartesianReferencePrepGadget', 'GenericReconEigenChannelGadget', 'GenericReconCartesianFFTGadget']), false, 'FFT recon reads the channels');
  assert.equal(whiteningCanBeDeferredToRecon([...head, 'GenericReconCartesianGrappaGadget']), false, 'no ReferencePrep to whiten the reference');
  assert.equal(whiteningCanBeDeferredToRecon([...head, 'SimpleReconGadget']), false);
  assert.equal(whiteningCanBeDeferredToRecon(['PCACoilGadget', 'BucketToBufferGadget', 'GenericReconCartesianReferencePrepGadget', 'GenericReconCartesianGrappaGadget']), false);
  assert.equal(whiteningCanBeDeferredToRecon(undefined), false);
});

test('mix algebra: Mᵀ, products and block rotation agree with a direct y = M·x', () => {
  const C = 3;
  const M = whitening(C);
  const T = transposedMix(M, C);
  assert.deepEqual(transposedMix(T, C), M);
  const I = new Float64Array(2 * C * C);
  for (let i = 0; i < C; i++) I[2 * (i + C * i)] = 1;
  assert.deepEqual(multiplyMixes(M, I, C), M);
  assert.deepEqual(multiplyMixes(I, T, C), T);
  // Two points of three channels: rotating by Mᵀ gives M·x per point.
  const x = Float32Array.from([1, 2, -1, 0.5, 0.25, -3, 2, 1, 0, 1, -2, 0.5]);
  const rotated = rotateBlocks({ data: x, dims: [2, 1, 1, C, 1, 1, 1] }, [T]).data;
  for (let p = 0; p < 2; p++) {
    for (let i = 0; i < C; i++) {
      let re = 0;
      let im = 0;
      for (let d = 0; d < C; d++) {
        const mr = M[2 * (i + C * d)] as number;
        const mi = M[2 * (i + C * d) + 1] as number;
        const xr = x[2 * (p + 2 * d)] as number;
        const xi = x[2 * (p + 2 * d) + 1] as number;
        re += mr * xr - mi * xi;
        im += mr * xi + mi * xr;
      }
      assert.ok(Math.abs((rotated[2 * (p + 2 * i)] as number) - re) < 1e-5 && Math.abs((rotated[2 * (p + 2 * i) + 1] as number) - im) < 1e-5, `point ${p}, channel ${i}`);
    }
  }
  assert.throws(() => transposedMix(M, 4), /Cannot transpose a channel mix of 3 channels as one of 4/);
});

test('a whitening left pending to ReferencePrep, EigenChannel and GRAPPA gives the images of whitened data, the same bits on any thread count', { timeout: 120_000 }, async () => {
  const scan = makeScan({ RO: 64, E1: 48, CHA: 8, R1: 3, acsE1: 24, mode: 'embedded', N: 3 });
  const header = scan.header;
  const M = whitening(8);
  const raw = reconDataOf(scan);
  const pendingInput: ReconData = { kind: 'recondata', rbit: raw.rbit.map((bit) => ({ ...bit, pendingWhitening: M })) };
  const whitenedInput: ReconData = { kind: 'recondata', rbit: pendingInput.rbit.map((bit) => whitenedBit(bit)) };
  assert.equal(whitenedInput.rbit[0]?.pendingWhitening, undefined);

  const chain = (input: ReconData, deferRotation: boolean): ImageArray[] => {
    const prepared = new ReferencePreparer(header, PREP).process(input);
    return new GrappaRecon(header, OPTIONS).process(new EigenChannelCompressor(header, KLT, deferRotation).process(prepared));
  };
  const expected = chain(whitenedInput, false);
  support = supportOf(expected);
  assert.ok(support.filter(Boolean).length > support.length / 4, 'the object fills a good part of the image');

  const prepared = new ReferencePreparer(header, PREP).process(pendingInput);
  const bit = prepared.rbit[0];
  assert.ok(bit?.pendingRotation, 'ReferencePrep turns the whitening into a pending rotation of the data');
  assert.equal(bit.pendingWhitening, undefined);
  assert.equal(bit.data.data, raw.rbit[0]?.data.data, 'the data stay unwhitened');
  assert.equal(bit.pendingRotation.vectors.length, 3);

  for (const deferRotation of [true, false]) {
    const got = chain(pendingInput, deferRotation);
    assert.equal(got.length, expected.length);
    got.forEach((a, k) => {
      const e = nrmseToExpected(a, expected[k] as ImageArray);
      assert.ok(e < 1e-4, `deferRotation ${deferRotation}, array ${k}: NRMSE ${e} against whitening the readouts`);
    });
  }
  // GRAPPA alone (no EigenChannel) folds the whitening's rotation; and a pending whitening reaching it is applied.
  const direct = new GrappaRecon(header, OPTIONS).process(prepared);
  const directExpected = new GrappaRecon(header, OPTIONS).process(new ReferencePreparer(header, PREP).process(whitenedInput));
  direct.forEach((a, k) => assert.ok(nrmseToExpected(a, directExpected[k] as ImageArray) < 1e-4, `GRAPPA folding, array ${k}`));
  const unprepared = new GrappaRecon(header, OPTIONS).process({ kind: 'recondata', rbit: [{ ...(pendingInput.rbit[0] as ReconData['rbit'][number]), ref: new ReferencePreparer(header, PREP).process(whitenedInput).rbit[0]?.ref }] });
  assert.equal(unprepared.length, directExpected.length);

  const deferred = chain(pendingInput, true);
  const pool = createComputePool(RECON_TASKS_URL, 2);
  try {
    const p = await new EigenChannelCompressor(header, KLT, true).processOn(pool, new ReferencePreparer(header, PREP).process(pendingInput));
    const onPool = await new GrappaRecon(header, OPTIONS).processOn(pool, p);
    onPool.forEach((a, k) => assert.ok(bytes(a.data.data).equals(bytes((deferred[k] as ImageArray).data.data)), `2 workers: array ${k} is bit-identical`));
  } finally {
    await pool.close();
  }
});

/** Pixels of frame 0 of the last array (the image) above 5 % of its largest magnitude. */
function supportOf(arrays: readonly ImageArray[]): boolean[] {
  const image = (arrays[arrays.length - 1] as ImageArray).data;
  const vol = (image.dims[0] as number) * (image.dims[1] as number) * (image.dims[2] as number);
  const mags = Array.from({ length: vol }, (_v, p) => Math.hypot(image.data[2 * p] as number, image.data[2 * p + 1] as number));
  const max = Math.max(...mags);
  return mags.map((m) => m > 0.05 * max);
}

let support: boolean[] = [];

function nrmseToExpected(a: ImageArray, b: ImageArray): number {
  assert.deepEqual(a.data.dims, b.data.dims);
  return nrmse(a.data.data, b.data.data, support);
}

test('rotatedBit and whitenedBit apply what is pending and nothing else', () => {
  const scan = makeScan({ RO: 16, E1: 12, CHA: 3, R1: 1, acsE1: 0, N: 2 });
  const bit = reconDataOf(scan).rbit[0];
  assert.ok(bit);
  assert.equal(whitenedBit(bit), bit, 'nothing pending: the same bit');
  assert.equal(rotatedBit(bit), bit);
  const M = whitening(3);
  const w = rotatedBit({ ...bit, pendingWhitening: M });
  assert.equal(w.pendingWhitening, undefined);
  assert.equal(w.pendingRotation, undefined);
  const viaRotation = rotatedBit({ data: bit.data, pendingRotation: { vectors: [transposedMix(M, 3), transposedMix(M, 3)] } });
  assert.ok(bytes(w.data.data.data).equals(bytes(viaRotation.data.data.data)), 'whitening by M is rotating by Mᵀ');
  assert.throws(() => whitenedBit({ ...bit, pendingWhitening: M, pendingRotation: { vectors: [M] } }), /both|pending rotation too/);
});

test('with prepare_ref_always false, later buffers keep the whitening pending without a reference and still give the whitened images', { timeout: 120_000 }, () => {
  const scan = makeScan({ RO: 64, E1: 48, CHA: 8, R1: 3, acsE1: 24, mode: 'embedded', N: 2 });
  const header = scan.header;
  const M = whitening(8);
  const raw = reconDataOf(scan);
  const pendingInput: ReconData = { kind: 'recondata', rbit: raw.rbit.map((bit) => ({ ...bit, pendingWhitening: M })) };
  const whitenedInput: ReconData = { kind: 'recondata', rbit: pendingInput.rbit.map((bit) => whitenedBit(bit)) };
  const session = (): ((input: ReconData) => ImageArray[]) => {
    const prep = new ReferencePreparer(header, { ...PREP, prepare_ref_always: false });
    const klt = new EigenChannelCompressor(header, KLT, true);
    const grappa = new GrappaRecon(header, OPTIONS);
    return (input) => grappa.process(klt.process(prep.process(input)));
  };
  const expected = session();
  const pending = session();
  expected(whitenedInput);
  pending(pendingInput);
  const second = new ReferencePreparer(header, { ...PREP, prepare_ref_always: false });
  second.process(pendingInput);
  const later = second.process(pendingInput).rbit[0];
  assert.equal(later?.ref, undefined, 'no reference after the first buffer');
  assert.ok(later?.pendingRotation, 'the whitening stays pending as a rotation');
  const want = expected(whitenedInput);
  support = supportOf(want);
  const got = pending(pendingInput);
  const image = got[got.length - 1] as ImageArray;
  assert.ok(nrmseToExpected(image, want[want.length - 1] as ImageArray) < 1e-4, 'the image of the second buffer');
});
