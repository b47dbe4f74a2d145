import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fftc } from './fft.js';
import { randomComplex, seededRandom as rng } from './testing.js';
import { adjointMismatch } from './linear-operator.js';
import { cropAxis, cropImageCentre, cropOffset, fourierPadOperator, fourierResizeAxis, padAxis, padOffset } from './resize.js';


test('padOffset and cropOffset follow Gadgetron (centre to centre; ⌊(in − out)/2⌋)', () => {
  assert.equal(padOffset(4, 8), 2);
  assert.equal(padOffset(3, 8), 3);
  assert.equal(padOffset(4, 7), 1);
  assert.equal(cropOffset(8, 4), 2);
  assert.equal(cropOffset(8, 3), 2);
  assert.equal(cropOffset(7, 4), 1);
});

test('padAxis and cropAxis place and extract the window along any axis', () => {
  const dims = [3, 2, 2];
  const x = randomComplex(12, 1);
  const padded = padAxis(x, dims, 1, 5, new Float32Array(2 * 3 * 5 * 2));
  const back = cropAxis(padded, [3, 5, 2], 1, 2, new Float32Array(24), padOffset(2, 5));
  assert.deepEqual(Array.from(back), Array.from(x));
  assert.equal(padded[2 * (0 + 3 * 0)], 0);
  assert.equal(padded[2 * (1 + 3 * 2)], x[2 * (1 + 3 * 1)]);
});

test('zero-pad resize of a band-limited image reproduces its samples and keeps the mean', () => {
  const n = 16;
  const big = 32;
  const dims = [n, 3];
  const r = rng(7);
  const k = new Float32Array(2 * n * 3);
  for (let c = 0; c < 3; c++) {
    for (let u = -5; u <= 5; u++) {
      k[2 * (c * n + u + n / 2)] = r();
      k[2 * (c * n + u + n / 2) + 1] = r();
    }
  }
  const image = fftc(Float32Array.from(k), dims, [0], true);
  const resized = fourierResizeAxis(image, dims, 0, big, Math.sqrt(big / n));
  for (let c = 0; c < 3; c++) {
    let meanA = 0;
    let meanB = 0;
    for (let x = 0; x < n; x++) {
      const xp = 2 * (x - n / 2) + big / 2;
      for (const part of [0, 1]) {
        const a = image[2 * (c * n + x) + part];
        const b = resized[2 * (c * big + xp) + part];
        assert.ok(Math.abs(a - b) < 1e-5, `sample ${x} of line ${c}: ${a} vs ${b}`);
      }
      meanA += image[2 * (c * n + x)];
    }
    for (let x = 0; x < big; x++) meanB += resized[2 * (c * big + x)];
    assert.ok(Math.abs(meanA / n - meanB / big) < 1e-5, 'mean kept');
  }
});

test('k-space crop without rescaling multiplies a band-limited image by √(old/new)', () => {
  const n = 32;
  const small = 16;
  const k = new Float32Array(2 * n);
  k[2 * (n / 2)] = 4;
  k[2 * (n / 2 + 1)] = 1;
  k[2 * (n / 2 - 2) + 1] = 0.5;
  const image = fftc(Float32Array.from(k), [n], [0], true);
  const cropped = fourierResizeAxis(image, [n], 0, small);
  for (let x = 0; x < small; x++) {
    const xp = 2 * (x - small / 2) + n / 2;
    const expected = image[2 * xp] * Math.sqrt(n / small);
    assert.ok(Math.abs(cropped[2 * x] - expected) < 1e-5, `sample ${x}`);
  }
});

test('fourierPadOperator satisfies the adjoint identity ⟨Ax, y⟩ = ⟨x, Aᴴy⟩ (even and odd sizes)', () => {
  for (const [inDims, axis, out] of [
    [[6, 4], 0, 10],
    [[5, 3, 2], 1, 8],
    [[4, 7], 1, 12],
    [[7, 2], 0, 7],
  ] as const) {
    const op = fourierPadOperator(inDims, axis, out);
    const nIn = inDims.reduce((p, q) => p * q, 1);
    const nOut = op.outShape.reduce((p, q) => p * q, 1);
    const mismatch = adjointMismatch(op, randomComplex(nIn, 3), randomComplex(nOut, 4));
    assert.ok(mismatch < 1e-6, `[${inDims.join(', ')}] axis ${axis} → ${out}: mismatch ${mismatch}`);
  }
});

test('cropImageCentre crops only larger axes with offset ⌊(in − out)/2⌋', () => {
  const dims = [6, 5, 1, 2];
  const x = randomComplex(60, 9);
  const { data, dims: outDims } = cropImageCentre(x, dims, [3, 8, 1]);
  assert.deepEqual(outDims, [3, 5, 1, 2]);
  const kept = cropImageCentre(x, dims, [6, 8, 1]);
  assert.equal(kept.data, x, 'nothing to crop: the same array, not a copy');
  assert.deepEqual(kept.dims, dims);
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < 5; y++) {
      for (let i = 0; i < 3; i++) {
        assert.equal(data[2 * (i + 3 * (y + 5 * c))], x[2 * (i + 1 + 6 * (y + 5 * c))]);
      }
    }
  }
});
