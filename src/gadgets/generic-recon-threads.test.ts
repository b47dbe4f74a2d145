import test from 'node:test';
import assert from 'node:assert/strict';
import { createComputePool } from '../engine/thread-pool.js';
import type { ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { GrappaRecon } from './generic-recon-cartesian-grappa.js';
import { EigenChannelCompressor } from './generic-recon-eigen-channel.js';
import { ReferencePreparer } from './generic-recon-reference-prep.js';
import { fftRecon, fftReconSteps } from './generic-recon-cartesian-fft.js';
import { executionOf, RECON_TASKS_URL, runOnPool } from './generic-recon-tasks.js';
import { simpleRecon, simpleReconSteps } from './simple-recon.js';
import { GRAPPA_TEST_OPTIONS, makeScan, nrmseToTruth, reconDataOf } from './grappa-testing.js';

const OPTIONS = GRAPPA_TEST_OPTIONS;

/** KLT options keeping all modes, the reference averaged over N. */
const klt = { average_all_ref_N: true, average_all_ref_S: false, update_eigen_channel_coefficients: false, upstream_coil_compression_thres: -1, upstream_coil_compression_num_modesKept: 0 };

/** An R = 3 embedded-ACS scan of N frames (64 × 48, 8 channels), its reference prepared. */
function preparedCine(N: number): { scan: ReturnType<typeof makeScan>; header: ReturnType<typeof makeScan>['header']; prepared: ReconData } {
  const scan = makeScan({ RO: 64, E1: 48, CHA: 8, R1: 3, acsE1: 24, mode: 'embedded', N });
  const prep = new ReferencePreparer(scan.header, { average_all_ref_N: true, average_all_ref_S: false, N_for_ref: -1, S_for_ref: -1, ref_fill_into_data_embedded: false, prepare_ref_always: true });
  return { scan, header: scan.header, prepared: prep.process(reconDataOf(scan)) };
}

function bytes(a: Float32Array): Buffer {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength);
}

test('GRAPPA with coil compression gives the same bits inline and on 1, 2 and 3 worker threads', { timeout: 120_000 }, async () => {
  const { scan, header, prepared } = preparedCine(5);

  const inlineCompressed = new EigenChannelCompressor(header, klt).process(prepared);
  const inline = new GrappaRecon(header, OPTIONS).process(inlineCompressed);
  assert.deepEqual(inline.map((a) => a.headers[0]?.image_series_index), [20, 300, 1]);
  const image = inline[2] as ImageArray;
  assert.deepEqual(image.data.dims, [64, 48, 1, 1, 5, 1, 1]);
  const R = 3;
  const scale = Math.sqrt((48 * 1) / scan.sampledLines) / R;
  assert.ok(nrmseToTruth(image.data.data.subarray(0, 2 * 64 * 48), scan.truth, scale) < 5e-2, 'a correct image');

  for (const workers of [0, 1, 2, 3]) {
    const pool = createComputePool(RECON_TASKS_URL, workers);
    try {
      const compressed = await new EigenChannelCompressor(header, klt).processOn(pool, prepared);
      assert.ok(bytes(compressed.rbit[0]?.data.data.data as Float32Array).equals(bytes(inlineCompressed.rbit[0]?.data.data.data as Float32Array)), `${workers} workers: compressed data`);
      const arrays = await new GrappaRecon(header, OPTIONS).processOn(pool, compressed);
      assert.equal(arrays.length, inline.length);
      arrays.forEach((a, k) => {
        const b = inline[k] as ImageArray;
        assert.deepEqual(a.data.dims, b.data.dims);
        assert.ok(bytes(a.data.data).equals(bytes(b.data.data)), `${workers} workers: array ${k} (series ${a.headers[0]?.image_series_index}) is bit-identical`);
      });
    } finally {
      await pool.close();
    }
  }
});

test('GRAPPA folds a pending eigen-channel rotation into its weights: the images of rotated data, the same bits on any thread count', { timeout: 120_000 }, async () => {
  const { header, prepared } = preparedCine(3);
  const rotated = new GrappaRecon(header, OPTIONS).process(new EigenChannelCompressor(header, klt).process(prepared));

  const deferredInput = new EigenChannelCompressor(header, klt, true).process(prepared);
  const bit = deferredInput.rbit[0];
  assert.ok(bit?.pendingRotation, 'all modes kept: the rotation is left to GRAPPA');
  assert.equal(bit.data, prepared.rbit[0]?.data, 'the data buffer is passed on, not rotated');
  assert.equal(bit.pendingRotation.vectors.length, 3, 'one V per (n, s, slc) block');
  const deferred = new GrappaRecon(header, OPTIONS).process(deferredInput);
  assert.equal(deferred.length, rotated.length);
  deferred.forEach((a, k) => {
    const b = (rotated[k] as ImageArray).data.data;
    let num = 0;
    let den = 0;
    for (let i = 0; i < b.length; i++) {
      const x = a.data.data[i] as number;
      const y = b[i] as number;
      if (!Number.isFinite(y)) {
        assert.ok(Object.is(x, y) || (Number.isNaN(x) && Number.isNaN(y)), `array ${k}, value ${i}: ${x} where rotating gives ${y}`);
        continue; // the SNR map is I/g: where g is 0, both are infinite or NaN alike
      }
      num += (x - y) ** 2;
      den += y ** 2;
    }
    assert.ok(Math.sqrt(num / den) < 1e-5, `array ${k}: NRMSE ${Math.sqrt(num / den)} against rotating the data`);
  });

  const pool = createComputePool(RECON_TASKS_URL, 2);
  try {
    const onPool = await new GrappaRecon(header, OPTIONS).processOn(pool, await new EigenChannelCompressor(header, klt, true).processOn(pool, prepared));
    onPool.forEach((a, k) => assert.ok(bytes(a.data.data).equals(bytes((deferred[k] as ImageArray).data.data)), `2 workers: array ${k} is bit-identical`));
  } finally {
    await pool.close();
  }

  const compressing = new EigenChannelCompressor(header, { ...klt, upstream_coil_compression_num_modesKept: 4 }, true).process(prepared);
  assert.equal(compressing.rbit[0]?.pendingRotation, undefined, 'fewer modes kept: the data are compressed at once');
  assert.equal(compressing.rbit[0]?.data.data.dims[3], 4);
});

test('a GRAPPA error on a worker thread reaches the caller as a clear error', { timeout: 60_000 }, async () => {
  const scan = makeScan({ RO: 32, E1: 32, CHA: 4, R1: 2, acsE1: 4, mode: 'embedded' });
  const prepared = new ReferencePreparer(scan.header, { average_all_ref_N: true, average_all_ref_S: false, N_for_ref: -1, S_for_ref: -1, ref_fill_into_data_embedded: false, prepare_ref_always: true })
    .process(reconDataOf(scan));
  const pool = createComputePool(RECON_TASKS_URL, 2);
  try {
    await assert.rejects(new GrappaRecon(scan.header, OPTIONS).processOn(pool, prepared), /ACS lines are fewer than the kernel needs/);
    assert.throws(() => new GrappaRecon(scan.header, OPTIONS).process(prepared), /ACS lines are fewer than the kernel needs/);
  } finally {
    await pool.close();
  }
});

test('FFT recon and SimpleRecon give the same bits inline and on 2 worker threads', { timeout: 120_000 }, async () => {
  const scan = makeScan({ RO: 48, E1: 40, CHA: 6, N: 3 });
  const coil = { coil_map_algorithm: 'Inati', coil_map_kernel_size_readout: 7, coil_map_kernel_size_phase: 5, coil_map_num_iter: 10, coil_map_thres_iter: 1e-4, image_series: 0 };
  const recon = reconDataOf(scan);
  const fftInline = fftRecon(recon, scan.header, coil);
  let k = 0;
  const simpleInline = simpleRecon(scan.data, () => ++k, 3);
  const pool = createComputePool(RECON_TASKS_URL, 2);
  try {
    const fftPool = await runOnPool(pool, fftReconSteps(recon, scan.header, coil, executionOf(pool)));
    assert.equal(fftPool.length, 1);
    assert.ok(bytes((fftPool[0] as ImageArray).data.data).equals(bytes((fftInline[0] as ImageArray).data.data)), 'FFT recon');
    let j = 0;
    const simplePool = await runOnPool(pool, simpleReconSteps(scan.data, () => ++j, 3, executionOf(pool)));
    assert.ok(bytes(simplePool.data.data).equals(bytes(simpleInline.data.data)), 'SimpleRecon');
    assert.deepEqual(simplePool.headers.map((h) => h.image_index), [1, 2, 3]);
    assert.ok(nrmseToTruth(simplePool.data.data.subarray(0, 2 * 48 * 40), scan.truth, 1) < 1e-3, 'root sum of squares of the coil images');
  } finally {
    await pool.close();
  }
});
