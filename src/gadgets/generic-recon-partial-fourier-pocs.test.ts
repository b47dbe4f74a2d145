import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genericReconPartialFourierPocsGadget } from './generic-recon-partial-fourier-pocs.js';
import { limit, makeImageArray, makeSampling, toImage, toKSpace } from './generic-recon-testing.js';
import { ofKind, planSingleGadget, runGadget } from './testing.js';

const RO = 48;
const E1 = 64;
const N = 2;
const dims = [RO, E1, 1, 1, N, 1, 1];

/** A real, positive disc-and-bar object with a smooth phase per repetition. */
function object(): { magnitude: Float64Array; image: Float32Array } {
  const magnitude = new Float64Array(RO * E1);
  const image = new Float32Array(2 * RO * E1 * N);
  for (let y = 0; y < E1; y++) {
    for (let x = 0; x < RO; x++) {
      const u = (x - RO / 2) / RO;
      const v = (y - E1 / 2) / E1;
      let rho = u * u + v * v < 0.12 ? 1 : 0;
      if (Math.abs(u - 0.05) < 0.05 && Math.abs(v) < 0.2) rho += 0.7;
      magnitude[x + RO * y] = rho;
      for (let n = 0; n < N; n++) {
        const phi = 0.5 + 0.8 * u - 1.2 * v * v + n;
        image[2 * (x + RO * (y + E1 * n))] = rho * Math.cos(phi);
        image[2 * (x + RO * (y + E1 * n)) + 1] = rho * Math.sin(phi);
      }
    }
  }
  return { magnitude, image };
}

function nrmse(image: Float32Array, n: number, truth: Float64Array): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < truth.length; i++) {
    const j = 2 * (i + RO * E1 * n);
    d += (Math.hypot(image[j], image[j + 1]) - truth[i]) ** 2;
    r += truth[i] ** 2;
  }
  return Math.sqrt(d / r);
}

test('PartialFourierHandlingPOCS restores |image| of 5/8 partial-Fourier data far better than zero filling', async (t) => {
  const { magnitude, image } = object();
  const k = toKSpace(image, dims);
  for (let n = 0; n < N; n++) for (let y = 40; y < E1; y++) k.fill(0, 2 * RO * (y + E1 * n), 2 * RO * (y + 1 + E1 * n));
  const zeroFilled = toImage(k, dims);
  const array = makeImageArray({
    dims,
    data: zeroFilled,
    sampling: makeSampling([RO, E1, 1], [limit(0, RO - 1, RO), limit(0, 39, E1), limit(0, 0, 1)]),
  });
  const [out] = ofKind(await runGadget(genericReconPartialFourierPocsGadget, [array]), 'imagearray');
  assert.ok(out);
  assert.deepEqual(out.data.dims, dims);
  for (let n = 0; n < N; n++) {
    const before = nrmse(zeroFilled, n, magnitude);
    const after = nrmse(out.data.data, n, magnitude);
    t.diagnostic(`repetition ${n}: |image| NRMSE zero-filled ${before.toFixed(4)}, POCS ${after.toFixed(4)}`);
    assert.ok(after < 0.4 * before, `POCS ${after} vs zero filling ${before}`);
  }
  const kOut = toKSpace(out.data.data, dims);
  for (let y = 0; y <= 32; y++) {
    for (let x = 0; x < RO; x++) {
      const i = 2 * (x + RO * y);
      assert.ok(Math.abs(kOut[i] - k[i]) < 1e-4 && Math.abs(kOut[i + 1] - k[i + 1]) < 1e-4, `acquired sample (${x}, ${y}) kept`);
    }
  }
});

test('PartialFourierHandlingPOCS passes skipped and fully sampled arrays unchanged', async () => {
  const { image } = object();
  const sampling = makeSampling([RO, E1, 1], [limit(0, RO - 1, RO), limit(0, 39, E1), limit(0, 0, 1)]);
  const skipped = makeImageArray({ dims, data: image, sampling, meta: { Skip_processing_after_recon: ['1'] } });
  const full = makeImageArray({ dims, data: image });
  const out = ofKind(await runGadget(genericReconPartialFourierPocsGadget, [skipped, full]), 'imagearray');
  assert.equal(out[0], skipped);
  assert.equal(out[1], full);
});

test('PartialFourierHandlingPOCS is new-style with Gadgetron defaults', () => {
  assert.equal(genericReconPartialFourierPocsGadget.strict, false);
  const step = planSingleGadget(genericReconPartialFourierPocsGadget, { partial_fourier_POCS_iters: '10', other: 'ignored' }).chain.steps[0];
  assert.ok(step && 'properties' in step);
  assert.deepEqual(step.properties, {
    skip_processing_meta_field: 'Skip_processing_after_recon',
    partial_fourier_POCS_iters: 10,
    partial_fourier_POCS_thres: 0.01,
    partial_fourier_POCS_transitBand: 24,
    partial_fourier_POCS_transitBand_E2: 16,
  });
});
