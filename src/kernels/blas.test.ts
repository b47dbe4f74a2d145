import test from 'node:test';
import assert from 'node:assert/strict';
import { cgemm, cgemmPortable, cherk, cherkPortable, cposv, cposvPortable, type MatrixOp } from './blas.js';
import { cmatrix, gram, matmul, NotPositiveDefiniteError, solveHermitianPositive, type CMatrix } from './dense.js';
import { kernelBackend } from './native.js';

function random(length: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 32 - 0.5;
  }
  return out;
}

/** A float64 matrix holding op(X) for X stored rows × cols with leading dimension ld. */
function opMatrix(x: Float32Array, rows: number, cols: number, ld: number, op: MatrixOp): CMatrix {
  const r = op === 'N' ? rows : cols;
  const c = op === 'N' ? cols : rows;
  const m = cmatrix(r, c);
  for (let j = 0; j < cols; j++) {
    for (let i = 0; i < rows; i++) {
      const re = x[2 * (i + ld * j)] as number;
      const im = x[2 * (i + ld * j) + 1] as number;
      const at = op === 'N' ? 2 * (i + r * j) : 2 * (j + r * i);
      m.data[at] = re;
      m.data[at + 1] = op === 'C' ? -im : im;
    }
  }
  return m;
}

/** Largest |a − b| over an m × n window of a (leading dimension ld) against a dense float64 matrix. */
function maxError(a: Float32Array, ld: number, b: CMatrix, lowerOnly = false): number {
  let err = 0;
  for (let j = 0; j < b.cols; j++) {
    for (let i = lowerOnly ? j : 0; i < b.rows; i++) {
      err = Math.max(
        err,
        Math.abs((a[2 * (i + ld * j)] as number) - (b.data[2 * (i + b.rows * j)] as number)),
        Math.abs((a[2 * (i + ld * j) + 1] as number) - (b.data[2 * (i + b.rows * j) + 1] as number)),
      );
    }
  }
  return err;
}

const OPS: MatrixOp[] = ['N', 'T', 'C'];

test('cgemm matches a float64 product for every op pair, with leading dimensions, alpha and beta', () => {
  const [m, n, k] = [13, 7, 19];
  for (const opA of OPS) {
    for (const opB of OPS) {
      const aRows = opA === 'N' ? m : k;
      const aCols = opA === 'N' ? k : m;
      const bRows = opB === 'N' ? k : n;
      const bCols = opB === 'N' ? n : k;
      const lda = aRows + 2;
      const ldb = bRows + 1;
      const ldc = m + 3;
      const a = random(2 * lda * aCols, 1);
      const b = random(2 * ldb * bCols, 2);
      const c0 = random(2 * ldc * n, 3);
      const alpha: [number, number] = [0.7, -0.4];
      const beta: [number, number] = [0.25, 0.5];
      const opAm = opMatrix(a, aRows, aCols, lda, opA);
      const opBm = opMatrix(b, bRows, bCols, ldb, opB);
      const ab = matmul(opAm, opBm);
      const cOld = opMatrix(c0, m, n, ldc, 'N');
      const expected = cmatrix(m, n);
      for (let i = 0; i < m * n; i++) {
        const [pr, pi] = [ab.data[2 * i] as number, ab.data[2 * i + 1] as number];
        const [cr, ci] = [cOld.data[2 * i] as number, cOld.data[2 * i + 1] as number];
        expected.data[2 * i] = alpha[0] * pr - alpha[1] * pi + beta[0] * cr - beta[1] * ci;
        expected.data[2 * i + 1] = alpha[0] * pi + alpha[1] * pr + beta[0] * ci + beta[1] * cr;
      }
      const got = cgemm(m, n, k, a, b, c0.slice(), { opA, opB, alpha, beta, lda, ldb, ldc });
      assert.ok(maxError(got, ldc, expected) < 2e-5, `${kernelBackend()} ${opA}${opB}: error ${maxError(got, ldc, expected)}`);
      const portable = cgemmPortable(m, n, k, a, lda, opA, b, ldb, opB, alpha, beta, c0.slice(), ldc);
      assert.ok(maxError(portable, ldc, expected) < 2e-6, `portable ${opA}${opB}`);
      // Padding between columns of C is left alone.
      for (let j = 0; j < n; j++) for (let i = m; i < ldc; i++) assert.equal(got[2 * (i + ldc * j)], c0[2 * (i + ldc * j)]);
    }
  }
});

test('cgemm with beta 0 ignores NaN in C, and empty sizes are no-ops', () => {
  const a = random(2 * 4 * 3, 4);
  const b = random(2 * 3 * 2, 5);
  const c = new Float32Array(2 * 4 * 2).fill(Number.NaN);
  cgemm(4, 2, 3, a, b, c);
  assert.ok(c.every((v) => Number.isFinite(v)));
  const d = new Float32Array(2 * 4 * 2).fill(1);
  cgemm(4, 2, 0, new Float32Array(0), new Float32Array(0), d, { beta: 2, lda: 4, ldb: 1 });
  assert.ok(d.every((v) => v === 2));
});

test('cherk matches the float64 Gram matrix on the chosen triangle and fills the other on request', () => {
  const [n, k] = [11, 23];
  const a = random(2 * k * n, 6);
  const expected = gram(opMatrix(a, k, n, k, 'N'));
  for (const uplo of ['L', 'U'] as const) {
    const c = cherk(n, k, a, new Float32Array(2 * n * n), { trans: 'C', uplo, full: true });
    assert.ok(maxError(c, n, expected) < 2e-5, `${uplo}: ${maxError(c, n, expected)}`);
    for (let i = 0; i < n; i++) assert.equal(c[2 * (i + n * i) + 1], 0);
  }
  const p = cherkPortable(n, k, a, k, 'C', 'L', 1, 0, new Float32Array(2 * n * n), n);
  assert.ok(maxError(p, n, expected, true) < 2e-6);
  // 'N': C = α·A·Aᴴ + β·C with A n × k.
  const b = random(2 * n * k, 7);
  const bbh = matmul(opMatrix(b, n, k, n, 'N'), opMatrix(b, n, k, n, 'C'));
  const got = cherk(n, k, b, new Float32Array(2 * n * n).fill(1), { trans: 'N', alpha: 0.5, beta: 2 });
  const want = cmatrix(n, n);
  for (let i = 0; i < n * n; i++) {
    want.data[2 * i] = 0.5 * (bbh.data[2 * i] as number) + 2;
    want.data[2 * i + 1] = 0.5 * (bbh.data[2 * i + 1] as number) + 2;
  }
  for (let i = 0; i < n; i++) want.data[2 * (i + n * i) + 1] = 0;
  assert.ok(maxError(got, n, want, true) < 2e-5);
  const gotP = cherkPortable(n, k, b, n, 'N', 'L', 0.5, 2, new Float32Array(2 * n * n).fill(1), n);
  assert.ok(maxError(gotP, n, want, true) < 2e-6);
});

test('cposv solves a Hermitian positive definite system like the float64 solver, from either triangle', () => {
  const n = 17;
  const nrhs = 3;
  const g = random(2 * 2 * n * n, 8);
  const G = gram(opMatrix(g, 2 * n, n, 2 * n, 'N'));
  for (let i = 0; i < n; i++) G.data[2 * (i + n * i)] = (G.data[2 * (i + n * i)] as number) + 1;
  const b = random(2 * n * nrhs, 9);
  const expected = solveHermitianPositive(G, opMatrix(b, n, nrhs, n, 'N'));
  const a32 = Float32Array.from(G.data);
  for (const uplo of ['L', 'U'] as const) {
    const x = cposv(n, nrhs, a32.slice(), b.slice(), { uplo });
    assert.ok(maxError(x, n, expected) < 1e-4, `${kernelBackend()} ${uplo}: ${maxError(x, n, expected)}`);
    const y = b.slice();
    assert.equal(cposvPortable(n, nrhs, a32.slice(), n, uplo, y, n), 0);
    assert.ok(maxError(y, n, expected) < 1e-5);
  }
});

test('cposv reports a matrix that is not positive definite', () => {
  const a = new Float32Array([1, 0, 2, 0, 2, 0, 1, 0]);
  assert.throws(() => cposv(2, 1, a, new Float32Array(4)), NotPositiveDefiniteError);
  assert.equal(cposvPortable(2, 1, new Float32Array([1, 0, 2, 0, 2, 0, 1, 0]), 2, 'L', new Float32Array(4), 2), 2);
});

test('BLAS functions reject bad sizes, ops and short arrays', () => {
  const a = new Float32Array(8);
  assert.throws(() => cgemm(2, 2, 2, a, a, new Float32Array(7)), RangeError);
  assert.throws(() => cgemm(2, 2, 3, a, a, a), RangeError);
  assert.throws(() => cgemm(-1, 2, 2, a, a, a), RangeError);
  assert.throws(() => cgemm(2, 2, 2, a, a, a, { opA: 'X' as MatrixOp }), RangeError);
  assert.throws(() => cgemm(2, 2, 2, a, a, a, { lda: 1 }), RangeError);
  assert.throws(() => cherk(3, 1, a, a), RangeError);
  assert.throws(() => cposv(2, 1, a, new Float32Array(2)), RangeError);
  assert.throws(() => cgemm(2, 2, 2, a, a, a, { alpha: Number.NaN }), RangeError);
});

test('native and portable cgemm agree on a GRAPPA-like Gram product', { skip: kernelBackend() !== 'native' && 'native kernels not in use' }, () => {
  const [rows, cols] = [300, 40];
  const a = random(2 * rows * cols, 10);
  const native = cgemm(cols, cols, rows, a, a, new Float32Array(2 * cols * cols), { opA: 'C' });
  const portable = cgemmPortable(cols, cols, rows, a, rows, 'C', a, rows, 'N', [1, 0], [0, 0], new Float32Array(2 * cols * cols), cols);
  let err = 0;
  let ref = 0;
  for (let i = 0; i < native.length; i++) {
    err = Math.max(err, Math.abs((native[i] as number) - (portable[i] as number)));
    ref = Math.max(ref, Math.abs(portable[i] as number));
  }
  assert.ok(err / ref < 1e-6, `relative error ${err / ref}`);
});
