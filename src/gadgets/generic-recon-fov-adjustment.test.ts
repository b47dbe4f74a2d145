import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { SamplingDescription } from '../ismrmrd/buffers.js';
import { genericReconFieldOfViewAdjustmentGadget } from './generic-recon-fov-adjustment.js';
import { limit, makeImageArray, toImage } from './generic-recon-testing.js';
import { makeHeader, ofKind, planSingleGadget, randomComplex, runGadget } from './testing.js';

function geometry(
  encodedFov: [number, number, number],
  reconFov: [number, number, number],
  encodedMatrix: [number, number, number],
  reconMatrix: [number, number, number],
): SamplingDescription {
  return {
    encoded_FOV: encodedFov,
    recon_FOV: reconFov,
    encoded_matrix: encodedMatrix,
    recon_matrix: reconMatrix,
    sampling_limits: [limit(0, encodedMatrix[0] - 1, encodedMatrix[0]), limit(0, encodedMatrix[1] - 1, encodedMatrix[1]), limit(0, 0, 1)],
  };
}

/** A band-limited image [n, m] (k-space nonzero only for |u| ≤ 4, |v| ≤ 4). */
function bandLimited(n: number, m: number, seed: number): Float32Array {
  const k = new Float32Array(2 * n * m);
  const r = randomComplex(81, seed);
  let j = 0;
  for (let v = -4; v <= 4; v++) {
    for (let u = -4; u <= 4; u++, j++) {
      k[2 * (u + (n >> 1) + n * (v + (m >> 1)))] = r[2 * j];
      k[2 * (u + (n >> 1) + n * (v + (m >> 1))) + 1] = r[2 * j + 1];
    }
  }
  return toImage(k, [n, m]);
}

test('FieldOfViewAdjustment is a no-op when the image already has the recon matrix and FOV', async () => {
  const data = randomComplex(32 * 32, 1);
  const array = makeImageArray({ dims: [32, 32], data, fov: [300, 300, 6], sampling: geometry([300, 300, 6], [300, 300, 6], [32, 32, 1], [32, 32, 1]) });
  const [out] = ofKind(await runGadget(genericReconFieldOfViewAdjustmentGadget, [array]), 'imagearray');
  assert.equal(out, array);
});

test('FieldOfViewAdjustment shares unchanged pixels and only rewrites the headers when the size is already right', async () => {
  const data = randomComplex(32 * 32, 3);
  // Headers carry another FOV than the recon space: the geometry changes, the pixels do not.
  const array = makeImageArray({ dims: [32, 32], data, fov: [280, 280, 6], sampling: geometry([300, 300, 6], [300, 300, 6], [32, 32, 1], [32, 32, 1]) });
  const [out] = ofKind(await runGadget(genericReconFieldOfViewAdjustmentGadget, [array]), 'imagearray');
  assert.ok(out);
  assert.notEqual(out, array);
  assert.equal(out.data.data, array.data.data);
  assert.deepEqual(out.headers[0]?.field_of_view, [300, 300, 6]);
  assert.deepEqual(array.headers[0]?.field_of_view, [280, 280, 6]);
});

test('FieldOfViewAdjustment crops phase oversampling in the image centrally', async () => {
  const data = randomComplex(16 * 20 * 2, 2);
  const sampling = geometry([200, 250, 5], [200, 200, 5], [16, 20, 1], [16, 16, 1]);
  const array = makeImageArray({ dims: [16, 20, 1, 2], data, sampling });
  const [out] = ofKind(await runGadget(genericReconFieldOfViewAdjustmentGadget, [array]), 'imagearray');
  assert.ok(out);
  // E1 target = 2·round(250/(2·200/16)) = 20 (no k-space change), then crop 20 → 16 at offset 2
  assert.deepEqual(out.data.dims, [16, 16, 1, 2, 1, 1, 1]);
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 16; x++) {
        const a = out.data.data[2 * (x + 16 * (y + 16 * c))];
        const b = data[2 * (x + 16 * (y + 2 + 20 * c))];
        assert.ok(Math.abs(a - b) < 1e-5, `(${x}, ${y}, ${c})`);
      }
    }
  }
  assert.deepEqual(out.headers[0]?.matrix_size, [16, 16, 1]);
  assert.deepEqual(out.headers[0]?.field_of_view, [200, 200, 5]);
});

test('FieldOfViewAdjustment zero-pad resizes to a larger recon matrix, keeping intensities', async () => {
  const n = 16;
  const image = bandLimited(n, n, 3);
  const array = makeImageArray({ dims: [n, n], data: image, sampling: geometry([240, 240, 5], [240, 240, 5], [n, n, 1], [32, 32, 1]) });
  const [out] = ofKind(await runGadget(genericReconFieldOfViewAdjustmentGadget, [array]), 'imagearray');
  assert.ok(out);
  assert.deepEqual(out.data.dims.slice(0, 3), [32, 32, 1]);
  for (let y = 0; y < n; y++) {
    for (let x = 0; x < n; x++) {
      const i = 2 * (x + n * y);
      const j = 2 * (2 * x + 32 * (2 * y));
      assert.ok(Math.abs(out.data.data[j] - image[i]) < 1e-5 && Math.abs(out.data.data[j + 1] - image[i + 1]) < 1e-5, `(${x}, ${y})`);
    }
  }
  assert.deepEqual(out.headers[0]?.matrix_size, [32, 32, 1]);
});

test('FieldOfViewAdjustment crops k-space to a smaller recon matrix without rescaling (values × √(old/new))', async () => {
  const image = bandLimited(32, 32, 4);
  const array = makeImageArray({ dims: [32, 32], data: image, sampling: geometry([240, 240, 5], [240, 240, 5], [32, 32, 1], [16, 16, 1]) });
  const [out] = ofKind(await runGadget(genericReconFieldOfViewAdjustmentGadget, [array]), 'imagearray');
  assert.ok(out);
  assert.deepEqual(out.data.dims.slice(0, 3), [16, 16, 1]);
  for (let y = 0; y < 16; y++) {
    for (let x = 0; x < 16; x++) {
      const a = out.data.data[2 * (x + 16 * y)];
      const b = image[2 * (2 * x + 32 * (2 * y))] * 2;
      assert.ok(Math.abs(a - b) < 1e-4, `(${x}, ${y}): ${a} vs ${b}`);
    }
  }
});

test('FieldOfViewAdjustment falls back to the header (Cartesian: encoded FOV x = recon FOV x)', async () => {
  const header = makeHeader({ encodedMatrix: [64, 20, 1], encodedFov: [400, 250, 5], reconMatrix: [16, 16, 1], reconFov: [200, 200, 5] });
  const data = randomComplex(16 * 20, 5);
  const array = makeImageArray({ dims: [16, 20], data });
  const [out] = ofKind(await runGadget(genericReconFieldOfViewAdjustmentGadget, [array], { header }), 'imagearray');
  assert.ok(out);
  assert.deepEqual(out.data.dims.slice(0, 2), [16, 16]);
});

test('FieldOfViewAdjustment is a strict (legacy) gadget', () => {
  assert.equal(genericReconFieldOfViewAdjustmentGadget.strict, true);
  assert.doesNotThrow(() => planSingleGadget(genericReconFieldOfViewAdjustmentGadget, { verbose: 'true', debug_folder: '', perform_timing: 'false' }));
  assert.throws(() => planSingleGadget(genericReconFieldOfViewAdjustmentGadget, { scalingFactor: '2' }));
});
