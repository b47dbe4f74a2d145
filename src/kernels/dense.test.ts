import test from 'node:test';
import assert from 'node:assert/strict';
import { adjoint, cholesky, cmatrix, gram, hermitianEigen, identity, matmul, solveHermitianPositive, solveTikhonov, type CMatrix } from './dense.js';

function random(rows: number, cols: number, seed: number): CMatrix {
  let s = seed >>> 0;
  const next = (): number => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  };
  const m = cmatrix(rows, cols);
  for (let i = 0; i < m.data.length; i++) m.data[i] = next();
  return m;
}

function maxDiff(a: CMatrix, b: CMatrix): number {
  let d = 0;
  for (let i = 0; i < a.data.length; i++) d = Math.max(d, Math.abs((a.data[i] as number) - (b.data[i] as number)));
  return d;
}

test('matmul with adjoints matches explicit adjoint', () => {
  const a = random(5, 3, 1);
  const b = random(5, 4, 2);
  assert.ok(maxDiff(matmul(a, b, 'C', 'N'), matmul(adjoint(a), b)) < 1e-14);
  assert.ok(maxDiff(gram(a), matmul(a, a, 'C', 'N')) < 1e-14);
  const c = random(4, 3, 3);
  assert.ok(maxDiff(matmul(a, c, 'N', 'C'), matmul(a, adjoint(c))) < 1e-14);
});

test('cholesky reconstructs A = L·Lᴴ and solves systems', () => {
  const x = random(20, 8, 4);
  const a = gram(x);
  const L = cholesky(a);
  assert.ok(maxDiff(matmul(L, L, 'N', 'C'), a) < 1e-12);
  for (let j = 0; j < 8; j++) for (let i = 0; i < j; i++) assert.equal(L.data[2 * (i + 8 * j)], 0);
  const b = random(8, 2, 5);
  const sol = solveHermitianPositive(a, b);
  assert.ok(maxDiff(matmul(a, sol), b) < 1e-10);
  assert.throws(() => cholesky(cmatrix(2, 2)), /not positive definite/);
});

test('tikhonov least squares satisfies the normal equations', () => {
  const a = random(30, 6, 6);
  const b = random(30, 2, 7);
  const lambda = 0.3;
  const x = solveTikhonov(a, b, lambda);
  const lhs = matmul(gram(a), x);
  for (let i = 0; i < x.data.length; i++) lhs.data[i] = (lhs.data[i] as number) + lambda * (x.data[i] as number);
  assert.ok(maxDiff(lhs, matmul(a, b, 'C', 'N')) < 1e-10);
});

test('hermitian eigendecomposition: A·V = V·Λ, V unitary, values ascending', () => {
  for (const n of [1, 2, 3, 8, 16]) {
    const a = gram(random(2 * n + 1, n, 10 + n));
    const { values, vectors } = hermitianEigen(a);
    const av = matmul(a, vectors);
    const vl = cmatrix(n, n);
    for (let j = 0; j < n; j++) for (let i = 0; i < n; i++) {
      vl.data[2 * (i + n * j)] = (vectors.data[2 * (i + n * j)] as number) * (values[j] as number);
      vl.data[2 * (i + n * j) + 1] = (vectors.data[2 * (i + n * j) + 1] as number) * (values[j] as number);
    }
    assert.ok(maxDiff(av, vl) < 1e-10, `n=${n}`);
    assert.ok(maxDiff(matmul(vectors, vectors, 'C', 'N'), identity(n)) < 1e-12);
    for (let i = 1; i < n; i++) assert.ok((values[i] as number) >= (values[i - 1] as number));
  }
});
