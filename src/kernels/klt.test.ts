import test from 'node:test';
import assert from 'node:assert/strict';
import { applyChannelRotation, ChannelRotation, kltCoefficients, kltModesKept } from './klt.js';
import { matmul } from './dense.js';
import { adjointMismatch, complexNorm } from './linear-operator.js';
import { randomObject } from './testing.js';

/** M × C samples of rank r: A = Z·W with random Z (M × r) and W (r × C), channel-major. */
function lowRank(M: number, C: number, r: number, seed: number): Float32Array {
  const Z = randomObject(M * r, seed);
  const W = randomObject(r * C, seed + 1);
  const out = new Float32Array(2 * M * C);
  for (let c = 0; c < C; c++) {
    for (let p = 0; p < M; p++) {
      let re = 0;
      let im = 0;
      for (let k = 0; k < r; k++) {
        const zr = Z[2 * (p + M * k)] as number;
        const zi = Z[2 * (p + M * k) + 1] as number;
        const wr = W[2 * (k + r * c)] as number;
        const wi = W[2 * (k + r * c) + 1] as number;
        re += zr * wr - zi * wi;
        im += zr * wi + zi * wr;
      }
      out[2 * (p + M * c)] = re;
      out[2 * (p + M * c) + 1] = im;
    }
  }
  return out;
}

test('KLT of rank-r data keeps exactly r modes at a small threshold', () => {
  for (const r of [1, 3, 5]) {
    const data = lowRank(500, 8, r, 10 * r);
    const { eigenvalues } = kltCoefficients(data, 500, 8, false);
    for (let k = 1; k < 8; k++) assert.ok((eigenvalues[k] as number) <= (eigenvalues[k - 1] as number), 'descending');
    assert.equal(kltModesKept(eigenvalues, 1e-6, 0), r);
    assert.equal(kltModesKept(eigenvalues, -1, 0), 8);
    assert.equal(kltModesKept(eigenvalues, 1e-6, 2), 2);
    assert.equal(kltModesKept(eigenvalues, 1e-6, 20), 8);
  }
});

test('KLT eigenvectors are unitary, preserve the norm with all modes, and compact rank-r data', () => {
  const M = 400;
  const C = 6;
  const data = lowRank(M, C, 2, 77);
  const { vectors, eigenvalues } = kltCoefficients(data, M, C, false);
  const VhV = matmul(vectors, vectors, 'C', 'N');
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      assert.ok(Math.abs((VhV.data[2 * (i + C * j)] as number) - (i === j ? 1 : 0)) < 1e-12);
      assert.ok(Math.abs(VhV.data[2 * (i + C * j) + 1] as number) < 1e-12);
    }
  }
  const y = applyChannelRotation(data, M, vectors, C, new Float32Array(data.length));
  assert.ok(Math.abs(complexNorm(y) / complexNorm(data) - 1) < 1e-6);
  let total = 0;
  for (let c = 0; c < C; c++) {
    let e = 0;
    for (let p = 0; p < M; p++) e += (y[2 * (p + M * c)] as number) ** 2 + (y[2 * (p + M * c) + 1] as number) ** 2;
    total += e;
    assert.ok(Math.abs(e - (eigenvalues[c] as number)) < 1e-4 * (eigenvalues[0] as number), `channel ${c} energy equals its eigenvalue`);
    if (c >= 2) assert.ok(e < 1e-8 * (eigenvalues[0] as number));
  }
  assert.ok(total > 0);
});

test('KLT removes the channel means before the decomposition', () => {
  const M = 300;
  const C = 4;
  const data = lowRank(M, C, 1, 5);
  for (let c = 0; c < C; c++) for (let p = 0; p < M; p++) data[2 * (p + M * c)] = (data[2 * (p + M * c)] as number) + 10 * (c + 1);
  const withMean = kltCoefficients(data, M, C, false);
  const centred = kltCoefficients(data, M, C, true);
  assert.equal(kltModesKept(centred.eigenvalues, 1e-6, 0), 1, 'a constant offset is not a mode once the mean is removed');
  assert.ok(kltModesKept(withMean.eigenvalues, 1e-6, 0) > 1);
});

test('channel rotation passes the adjoint test', () => {
  const { vectors } = kltCoefficients(randomObject(200 * 5, 3), 200, 5);
  for (const kept of [5, 3]) {
    const op = new ChannelRotation(50, vectors, kept);
    assert.ok(adjointMismatch(op, randomObject(50 * 5, 8), randomObject(50 * kept, 9)) < 1e-6);
  }
});
