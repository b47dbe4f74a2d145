import { test } from 'node:test';
import assert from 'node:assert/strict';
import { taperValue } from '../kernels/filters.js';
import { genericReconPartialFourierFilterGadget } from './generic-recon-partial-fourier-filter.js';
import { limit, makeImageArray, makeSampling, toImage, toKSpace } from './generic-recon-testing.js';
import { makeHeader, ofKind, planSingleGadget, runGadget } from './testing.js';

const RO = 32;
const E1 = 64;
const dims = [RO, E1, 1, 2, 1, 1, 1];

/** k-space equal to 1 + 0.5i on the sampled lines [0, last] of both channels. */
function sampledOnes(last: number): Float32Array {
  const k = new Float32Array(2 * RO * E1 * 2);
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y <= last; y++) {
      for (let x = 0; x < RO; x++) {
        k[2 * (x + RO * (y + E1 * c))] = 1;
        k[2 * (x + RO * (y + E1 * c)) + 1] = 0.5;
      }
    }
  }
  return k;
}

/** The expected E1 filter for lines [0, 39] with width 0.15: W = 9, normalised over 40 lines. */
function expectedFilter(): number[] {
  const f = new Array<number>(E1).fill(0);
  for (let y = 0; y <= 39; y++) f[y] = 1;
  for (let i = 1; i <= 9; i++) f[39 - i + 1] = taperValue(i, 9);
  const s = 1 / Math.sqrt(f.reduce((a, v) => a + v * v, 0) / 40);
  return f.map((v) => v * s);
}

function checkFiltered(out: Float32Array): void {
  const k = toKSpace(out, dims);
  const f = expectedFilter();
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < E1; y++) {
      for (let x = 0; x < RO; x++) {
        const i = 2 * (x + RO * (y + E1 * c));
        assert.ok(Math.abs(k[i] - (f[y] as number)) < 1e-5, `re at (${x}, ${y}, ${c}): ${k[i]} vs ${f[y]}`);
        assert.ok(Math.abs(k[i + 1] - 0.5 * (f[y] as number)) < 1e-5, `im at (${x}, ${y}, ${c})`);
      }
    }
  }
}

test('PartialFourierHandlingFilter applies the tapered SNR-unit filter from ImageArray.sampling', async () => {
  const array = makeImageArray({
    dims,
    data: toImage(sampledOnes(39), dims),
    sampling: makeSampling([RO, E1, 1], [limit(0, RO - 1, RO), limit(0, 39, E1), limit(0, 0, 1)]),
  });
  const [out] = ofKind(await runGadget(genericReconPartialFourierFilterGadget, [array]), 'imagearray');
  assert.ok(out);
  assert.notEqual(out, array);
  assert.deepEqual(out.data.dims, dims);
  checkFiltered(out.data.data);
  assert.equal(out.headers.length, 1);
});

test('PartialFourierHandlingFilter reads Gadgetron meta sampling_limits_* ([min, center, max])', async () => {
  const array = makeImageArray({
    dims,
    data: toImage(sampledOnes(39), dims),
    meta: { sampling_limits_RO: ['0', '16', '31'], sampling_limits_E1: ['0', '32', '39'], sampling_limits_E2: ['0', '0', '0'], encoding: ['0'] },
  });
  const [out] = ofKind(await runGadget(genericReconPartialFourierFilterGadget, [array]), 'imagearray');
  assert.ok(out);
  checkFiltered(out.data.data);
});

test('PartialFourierHandlingFilter treats E1 windows off-centre by at most R as full, and honours the skip flag', async () => {
  const header = makeHeader({ encodedMatrix: [RO, E1, 1], encodedFov: [RO, E1, 1], parallelImaging: { accelerationE1: 2 } });
  const nearlySymmetric = makeImageArray({
    dims,
    data: toImage(sampledOnes(62), dims),
    sampling: makeSampling([RO, E1, 1], [limit(0, RO - 1, RO), limit(0, 62, E1), limit(0, 0, 1)]),
  });
  const skipped = makeImageArray({
    dims,
    data: toImage(sampledOnes(39), dims),
    sampling: makeSampling([RO, E1, 1], [limit(0, RO - 1, RO), limit(0, 39, E1), limit(0, 0, 1)]),
    meta: { Skip_processing_after_recon: ['1'], GADGETRON_DataRole: ['Gfactor'] },
  });
  const full = makeImageArray({ dims, data: toImage(sampledOnes(E1 - 1), dims) });
  const out = ofKind(await runGadget(genericReconPartialFourierFilterGadget, [nearlySymmetric, skipped, full], { header }), 'imagearray');
  assert.equal(out[0], nearlySymmetric, '|(62 − 32) − (32 − 0)| = 2 ≤ R = 2: not partial Fourier');
  assert.equal(out[1], skipped);
  assert.equal(out[2], full);
});

test('PartialFourierHandlingFilter is new-style with Gadgetron defaults', () => {
  assert.equal(genericReconPartialFourierFilterGadget.strict, false);
  const step = planSingleGadget(genericReconPartialFourierFilterGadget, { unknown_property: 'x' }).chain.steps[0];
  assert.ok(step && 'properties' in step);
  assert.deepEqual(step.properties, {
    skip_processing_meta_field: 'Skip_processing_after_recon',
    partial_fourier_filter_RO_width: 0.15,
    partial_fourier_filter_E1_width: 0.15,
    partial_fourier_filter_E2_width: 0.15,
    partial_fourier_filter_densityComp: false,
  });
});
