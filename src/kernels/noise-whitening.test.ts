import test from 'node:test';
import assert from 'node:assert/strict';
import { kernelBackend } from './native.js';
import { randomComplex, seededGaussian as gaussian } from './testing.js';
import { adjoint, cholesky, cmatrix, invertLower, matmul, type CMatrix } from './dense.js';
import {
  accumulateNoiseCovariance, accumulateNoiseCovariancePortable, applyNoiseWhitening, maskOffDiagonal, noiseBandwidthScale, noiseWhiteningMatrix, reorderChannels,
} from './noise-whitening.js';


/** A Hermitian positive definite Ψ = B·Bᴴ + 0.1·I with correlated channels. */
function correlatedPsi(n: number, seed: number): CMatrix {
  const g = gaussian(seed);
  const b = cmatrix(n, n);
  for (let i = 0; i < b.data.length; i++) b.data[i] = g();
  const psi = matmul(b, b, 'N', 'C');
  for (let i = 0; i < n; i++) psi.data[2 * (i + n * i)] = (psi.data[2 * (i + n * i)] as number) + 0.1;
  return psi;
}

/** `samples` × `channels` readout of noise x = L·z, z ~ CN(0, 2I) (each real/imag part unit variance), float32. */
function colouredNoise(L: CMatrix, samples: number, seed: number): Float32Array {
  const n = L.rows;
  const g = gaussian(seed);
  const out = new Float32Array(2 * samples * n);
  const z = new Float64Array(2 * n);
  for (let s = 0; s < samples; s++) {
    for (let k = 0; k < 2 * n; k++) z[k] = g();
    for (let i = 0; i < n; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j <= i; j++) {
        const lr = L.data[2 * (i + n * j)] as number;
        const li = L.data[2 * (i + n * j) + 1] as number;
        re += lr * (z[2 * j] as number) - li * (z[2 * j + 1] as number);
        im += lr * (z[2 * j + 1] as number) + li * (z[2 * j] as number);
      }
      out[2 * (i * samples + s)] = re;
      out[2 * (i * samples + s) + 1] = im;
    }
  }
  return out;
}

/** Sample covariance E[y yᴴ] of a readout (Ψ convention), float64. */
function sampleCovariance(data: Float32Array, samples: number, channels: number): CMatrix {
  const c = accumulateNoiseCovariance(data, samples, channels, new Float64Array(2 * channels * channels));
  const psi = cmatrix(channels, channels);
  for (let k = 0; k < c.length; k += 2) {
    psi.data[k] = (c[k] as number) / samples;
    psi.data[k + 1] = -(c[k + 1] as number) / samples;
  }
  return psi;
}

test('accumulateNoiseCovariance adds DᴴD with C_ij = Σ conj(x_i)·x_j', () => {
  const samples = 5;
  const channels = 3;
  const g = gaussian(1);
  const data = Float32Array.from({ length: 2 * samples * channels }, () => g());
  const acc = accumulateNoiseCovariance(data, samples, channels, new Float64Array(2 * channels * channels));
  for (let i = 0; i < channels; i++) {
    for (let j = 0; j < channels; j++) {
      let re = 0;
      let im = 0;
      for (let s = 0; s < samples; s++) {
        const ar = data[2 * (i * samples + s)] as number;
        const ai = -(data[2 * (i * samples + s) + 1] as number);
        const br = data[2 * (j * samples + s)] as number;
        const bi = data[2 * (j * samples + s) + 1] as number;
        re += ar * br - ai * bi;
        im += ar * bi + ai * br;
      }
      assert.ok(Math.abs((acc[2 * (i + channels * j)] as number) - re) < 1e-9);
      assert.ok(Math.abs((acc[2 * (i + channels * j) + 1] as number) - im) < 1e-9);
    }
  }
  const once = Float64Array.from(acc);
  accumulateNoiseCovariance(data, samples, channels, acc);
  for (let k = 0; k < acc.length; k++) assert.ok(Math.abs((acc[k] as number) - 2 * (once[k] as number)) < 1e-9, 'accumulates');
});

test('noise whitening turns synthetic correlated noise into 2β(Δt_a/Δt_n)·I', () => {
  const channels = 8;
  const psi = correlatedPsi(channels, 7);
  const L = cholesky(psi);
  const noiseSamples = 200_000;
  const noise = colouredNoise(L, noiseSamples, 11);
  const acc = accumulateNoiseCovariance(noise, noiseSamples, channels, new Float64Array(2 * channels * channels));
  for (let i = 0; i < acc.length; i++) acc[i] = (acc[i] as number) / (noiseSamples - 1);
  const beta = 0.793;
  const scale = noiseBandwidthScale(2.5, 5, beta);
  const M = noiseWhiteningMatrix(acc, channels, scale);
  const testSamples = 200_000;
  const data = colouredNoise(L, testSamples, 13);
  const y = applyNoiseWhitening(data, testSamples, channels, M, new Float32Array(data.length));
  const cov = sampleCovariance(y, testSamples, channels);
  const expected = 2 * beta * (2.5 / 5);
  let worst = 0;
  for (let i = 0; i < channels; i++) {
    for (let j = 0; j < channels; j++) {
      const re = (cov.data[2 * (i + channels * j)] as number) - (i === j ? expected : 0);
      const im = cov.data[2 * (i + channels * j) + 1] as number;
      worst = Math.max(worst, Math.hypot(re, im) / expected);
    }
  }
  assert.ok(worst < 0.02, `whitened covariance deviates from 2β(Δt_a/Δt_n)·I by ${worst}`);
});

test('noise whitening of Ψ = σ²I is (s/σ)·I (known answer: phantom noise 0.05)', () => {
  const channels = 8;
  const sigma2 = 2 * 0.05 ** 2;
  const c = new Float64Array(2 * channels * channels);
  for (let i = 0; i < channels; i++) c[2 * (i + channels * i)] = sigma2;
  const s = noiseBandwidthScale(5, 5, 0.793);
  const M = noiseWhiteningMatrix(c, channels, s);
  for (let i = 0; i < channels; i++) {
    for (let j = 0; j < channels; j++) {
      const v = M[2 * (i + channels * j)] as number;
      assert.ok(Math.abs(v - (i === j ? 17.810109 : 0)) < 1e-5, `M(${i},${j}) = ${v}`);
      assert.equal(M[2 * (i + channels * j) + 1], 0);
    }
  }
});

test('the whitening matrix is s·L⁻¹ with Ψ = conj(C) = L·Lᴴ, and Gadgetron\'s inv(upper(chol(C))) is its transpose', () => {
  const n = 6;
  const psi = correlatedPsi(n, 3);
  const c = new Float64Array(psi.data.length);
  for (let k = 0; k < c.length; k += 2) {
    c[k] = psi.data[k] as number;
    c[k + 1] = -(psi.data[k + 1] as number);
  }
  const M = noiseWhiteningMatrix(c, n, 1);
  const Mm: CMatrix = { rows: n, cols: n, data: M };
  for (let j = 0; j < n; j++) {
    assert.ok((M[2 * (j + n * j)] as number) > 0 && M[2 * (j + n * j) + 1] === 0, 'positive real diagonal');
    for (let i = 0; i < j; i++) assert.equal(Math.hypot(M[2 * (i + n * j)] as number, M[2 * (i + n * j) + 1] as number), 0, 'lower triangular');
  }
  const white = matmul(matmul(Mm, psi), Mm, 'N', 'C');
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      assert.ok(Math.abs((white.data[2 * (i + n * j)] as number) - (i === j ? 1 : 0)) < 1e-10);
      assert.ok(Math.abs(white.data[2 * (i + n * j) + 1] as number) < 1e-10);
    }
  }
  // Gadgetron: C = Uᴴ·U (U upper), W = U⁻¹, D ← D·W; with C = Lc·Lcᴴ (Lc = cholesky(C)), U = Lcᴴ.
  const U = adjoint(cholesky({ rows: n, cols: n, data: c }));
  const W = adjoint(invertLower(adjoint(U)));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      assert.ok(Math.abs((W.data[2 * (j + n * i)] as number) - (M[2 * (i + n * j)] as number)) < 1e-10);
      assert.ok(Math.abs((W.data[2 * (j + n * i) + 1] as number) - (M[2 * (i + n * j) + 1] as number)) < 1e-10);
    }
  }
});

test('the bandwidth scale is √(2·Δt_a/Δt_n·β), and 1 when a dwell time is 0', () => {
  assert.equal(noiseBandwidthScale(5, 5, 0.793), Math.sqrt(2 * 0.793));
  assert.equal(noiseBandwidthScale(2.5, 5, 1), 1);
  assert.equal(noiseBandwidthScale(0, 5, 0.793), 1);
  assert.equal(noiseBandwidthScale(5, 0, 0.793), 1);
});

test('an all-zero covariance gives s·I; a singular one is refused', () => {
  const M = noiseWhiteningMatrix(new Float64Array(2 * 4), 2, 3);
  assert.deepEqual(Array.from(M), [3, 0, 0, 0, 0, 0, 3, 0]);
  const singular = Float64Array.from([1, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => noiseWhiteningMatrix(singular, 2, 1), /positive definite/);
});

test('applyNoiseWhitening is exact to float32 rounding and works in place', () => {
  const channels = 4;
  const samples = 64;
  const psi = correlatedPsi(channels, 5);
  const c = new Float64Array(psi.data.length);
  for (let k = 0; k < c.length; k += 2) {
    c[k] = psi.data[k] as number;
    c[k + 1] = -(psi.data[k + 1] as number);
  }
  const M = noiseWhiteningMatrix(c, channels, 1.3);
  const g = gaussian(9);
  const x = Float32Array.from({ length: 2 * samples * channels }, () => g());
  const y = applyNoiseWhitening(x, samples, channels, M, new Float32Array(x.length));
  let worst = 0;
  for (let s = 0; s < samples; s++) {
    for (let i = 0; i < channels; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < channels; j++) {
        const mr = M[2 * (i + channels * j)] as number;
        const mi = M[2 * (i + channels * j) + 1] as number;
        re += mr * (x[2 * (j * samples + s)] as number) - mi * (x[2 * (j * samples + s) + 1] as number);
        im += mr * (x[2 * (j * samples + s) + 1] as number) + mi * (x[2 * (j * samples + s)] as number);
      }
      worst = Math.max(worst, Math.abs(Math.fround(re) - (y[2 * (i * samples + s)] as number)), Math.abs(Math.fround(im) - (y[2 * (i * samples + s) + 1] as number)));
    }
  }
  if (kernelBackend() === 'js') assert.equal(worst, 0, 'each output is the float64 result rounded once to float32');
  else assert.ok(worst < 1e-5 * Math.max(...Array.from(y, Math.abs)), `OpenBLAS float32 product within float32 rounding (${worst})`);
  const inPlace = Float32Array.from(x);
  applyNoiseWhitening(inPlace, samples, channels, M, inPlace);
  assert.deepEqual(inPlace, y);
});

test('maskOffDiagonal zeroes a channel\'s off-diagonal row and column only', () => {
  const n = 3;
  const m = Float64Array.from({ length: 2 * n * n }, (_v, k) => k + 1);
  maskOffDiagonal(m, n, [1]);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const zero = (i === 1 || j === 1) && i !== j;
      assert.equal(m[2 * (i + n * j)] === 0, zero, `(${i},${j})`);
    }
  }
});

test('reorderChannels permutes rows and columns: out(n, m) = in(order[n], order[m])', () => {
  const n = 3;
  const m = Float32Array.from({ length: 2 * n * n }, (_v, k) => k);
  const order = [2, 0, 1];
  const out = reorderChannels(m, n, order, new Float32Array(m.length));
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      assert.equal(out[2 * (i + n * j)], m[2 * ((order[i] as number) + n * (order[j] as number))]);
    }
  }
});

test('accumulateNoiseCovariance gives the bits of its TypeScript loop (each pair over the samples in order), for 1–33 channels', () => {
  for (const channels of [1, 3, 4, 5, 9, 33]) {
    const samples = 37;
    const data = randomComplex(samples * channels, 40 + channels).map((v) => Math.fround(v * 1e3));
    const start = new Float64Array(2 * channels * channels).map((_v, i) => Math.sin(i) * 1e-3);
    const got = accumulateNoiseCovariance(data, samples, channels, Float64Array.from(start));
    accumulateNoiseCovariance(data, samples, channels, got);
    const want = accumulateNoiseCovariancePortable(data, samples, channels, Float64Array.from(start));
    accumulateNoiseCovariancePortable(data, samples, channels, want);
    assert.deepEqual(Array.from(got), Array.from(want), `${channels} channels`);
  }
  assert.throws(() => accumulateNoiseCovariance(new Float32Array(10), 6, 1, new Float64Array(2)), RangeError);
});
