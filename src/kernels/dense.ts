/**
 * Small dense complex linear algebra in float64: products, Cholesky,
 * triangular solves, Tikhonov-regularised least squares and the Hermitian
 * eigendecomposition. Matrices are column-major with interleaved re/im
 * (element (i, j) at 2·(i + rows·j)). Sizes here are coil counts and GRAPPA
 * kernel sizes (tens to a few thousand), not images.
 */

/** A column-major complex matrix, interleaved re/im in float64. */
export interface CMatrix {
  rows: number;
  cols: number;
  data: Float64Array;
}

/** A zero matrix. */
export function cmatrix(rows: number, cols: number): CMatrix {
  if (!Number.isInteger(rows) || !Number.isInteger(cols) || rows < 0 || cols < 0) {
    throw new RangeError(`Cannot create a ${rows} × ${cols} matrix`);
  }
  return { rows, cols, data: new Float64Array(2 * rows * cols) };
}

/** The n × n identity. */
export function identity(n: number): CMatrix {
  const m = cmatrix(n, n);
  for (let i = 0; i < n; i++) m.data[2 * (i + n * i)] = 1;
  return m;
}

/** A matrix from float32 interleaved data (copied). */
export function fromFloat32(rows: number, cols: number, data: Float32Array): CMatrix {
  if (data.length !== 2 * rows * cols) throw new RangeError(`Cannot view ${data.length / 2} complex values as ${rows} × ${cols}`);
  return { rows, cols, data: Float64Array.from(data) };
}

/** The conjugate transpose. */
export function adjoint(a: CMatrix): CMatrix {
  const out = cmatrix(a.cols, a.rows);
  for (let j = 0; j < a.cols; j++) {
    for (let i = 0; i < a.rows; i++) {
      const s = 2 * (i + a.rows * j);
      const d = 2 * (j + a.cols * i);
      out.data[d] = a.data[s] as number;
      out.data[d + 1] = -(a.data[s + 1] as number);
    }
  }
  return out;
}

/**
 * C = op(A)·op(B), op ∈ {'N' (as is), 'C' (conjugate transpose)}.
 */
export function matmul(a: CMatrix, b: CMatrix, opA: 'N' | 'C' = 'N', opB: 'N' | 'C' = 'N'): CMatrix {
  const m = opA === 'N' ? a.rows : a.cols;
  const k = opA === 'N' ? a.cols : a.rows;
  const kb = opB === 'N' ? b.rows : b.cols;
  const n = opB === 'N' ? b.cols : b.rows;
  if (k !== kb) throw new RangeError(`Cannot multiply ${m} × ${k} by ${kb} × ${n}`);
  const out = cmatrix(m, n);
  const A = a.data;
  const B = b.data;
  const C = out.data;
  const rowA = new Float64Array(2 * k);
  for (let i = 0; i < m; i++) {
    for (let p = 0; p < k; p++) {
      const s = opA === 'N' ? 2 * (i + a.rows * p) : 2 * (p + a.rows * i);
      rowA[2 * p] = A[s] as number;
      rowA[2 * p + 1] = opA === 'N' ? (A[s + 1] as number) : -(A[s + 1] as number);
    }
    for (let j = 0; j < n; j++) {
      let re = 0;
      let im = 0;
      if (opB === 'N') {
        const base = 2 * b.rows * j;
        for (let p = 0; p < k; p++) {
          const ar = rowA[2 * p] as number;
          const ai = rowA[2 * p + 1] as number;
          const br = B[base + 2 * p] as number;
          const bi = B[base + 2 * p + 1] as number;
          re += ar * br - ai * bi;
          im += ar * bi + ai * br;
        }
      } else {
        for (let p = 0; p < k; p++) {
          const s = 2 * (j + b.rows * p);
          const ar = rowA[2 * p] as number;
          const ai = rowA[2 * p + 1] as number;
          const br = B[s] as number;
          const bi = -(B[s + 1] as number);
          re += ar * br - ai * bi;
          im += ar * bi + ai * br;
        }
      }
      C[2 * (i + m * j)] = re;
      C[2 * (i + m * j) + 1] = im;
    }
  }
  return out;
}

/** Gram matrix AᴴA (Hermitian, computed on the lower triangle and mirrored). */
export function gram(a: CMatrix): CMatrix {
  const n = a.cols;
  const m = a.rows;
  const out = cmatrix(n, n);
  const A = a.data;
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) {
      let re = 0;
      let im = 0;
      const ci = 2 * m * i;
      const cj = 2 * m * j;
      for (let p = 0; p < m; p++) {
        const xr = A[ci + 2 * p] as number;
        const xi = A[ci + 2 * p + 1] as number;
        const yr = A[cj + 2 * p] as number;
        const yi = A[cj + 2 * p + 1] as number;
        re += xr * yr + xi * yi;
        im += xr * yi - xi * yr;
      }
      out.data[2 * (i + n * j)] = re;
      out.data[2 * (i + n * j) + 1] = im;
      out.data[2 * (j + n * i)] = re;
      out.data[2 * (j + n * i) + 1] = -im;
    }
  }
  return out;
}

/** Thrown when a matrix that must be positive definite is not. */
export class NotPositiveDefiniteError extends Error {
  override readonly name = 'NotPositiveDefiniteError';
  constructor(readonly index: number) {
    super(`Cannot factor the matrix: it is not positive definite (pivot ${index})`);
  }
}

/**
 * Cholesky factor L (lower triangular, A = L·Lᴴ) of a Hermitian positive
 * definite matrix. Returns a new matrix; the strict upper triangle is zero.
 */
export function cholesky(a: CMatrix): CMatrix {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`Cannot factor a ${a.rows} × ${a.cols} matrix: it is not square`);
  const L = cmatrix(n, n);
  const A = a.data;
  const D = L.data;
  for (let j = 0; j < n; j++) {
    let d = A[2 * (j + n * j)] as number;
    for (let p = 0; p < j; p++) {
      const lr = D[2 * (j + n * p)] as number;
      const li = D[2 * (j + n * p) + 1] as number;
      d -= lr * lr + li * li;
    }
    if (!(d > 0) || !Number.isFinite(d)) throw new NotPositiveDefiniteError(j);
    const ljj = Math.sqrt(d);
    D[2 * (j + n * j)] = ljj;
    for (let i = j + 1; i < n; i++) {
      let re = A[2 * (i + n * j)] as number;
      let im = A[2 * (i + n * j) + 1] as number;
      for (let p = 0; p < j; p++) {
        const ar = D[2 * (i + n * p)] as number;
        const ai = D[2 * (i + n * p) + 1] as number;
        const br = D[2 * (j + n * p)] as number;
        const bi = -(D[2 * (j + n * p) + 1] as number);
        re -= ar * br - ai * bi;
        im -= ar * bi + ai * br;
      }
      D[2 * (i + n * j)] = re / ljj;
      D[2 * (i + n * j) + 1] = im / ljj;
    }
  }
  return L;
}

/** Solves L·X = B (L lower triangular) in place in a copy of B. */
export function solveLower(L: CMatrix, b: CMatrix): CMatrix {
  const n = L.rows;
  if (b.rows !== n) throw new RangeError(`Cannot solve: ${n} × ${n} system with ${b.rows} right-hand-side rows`);
  const X = { rows: b.rows, cols: b.cols, data: Float64Array.from(b.data) };
  const Ld = L.data;
  const Xd = X.data;
  for (let c = 0; c < b.cols; c++) {
    const base = 2 * n * c;
    for (let i = 0; i < n; i++) {
      let re = Xd[base + 2 * i] as number;
      let im = Xd[base + 2 * i + 1] as number;
      for (let p = 0; p < i; p++) {
        const lr = Ld[2 * (i + n * p)] as number;
        const li = Ld[2 * (i + n * p) + 1] as number;
        const xr = Xd[base + 2 * p] as number;
        const xi = Xd[base + 2 * p + 1] as number;
        re -= lr * xr - li * xi;
        im -= lr * xi + li * xr;
      }
      const dr = Ld[2 * (i + n * i)] as number;
      const di = Ld[2 * (i + n * i) + 1] as number;
      const den = dr * dr + di * di;
      Xd[base + 2 * i] = (re * dr + im * di) / den;
      Xd[base + 2 * i + 1] = (im * dr - re * di) / den;
    }
  }
  return X;
}

/** Solves Lᴴ·X = B (L lower triangular). */
export function solveLowerAdjoint(L: CMatrix, b: CMatrix): CMatrix {
  const n = L.rows;
  if (b.rows !== n) throw new RangeError(`Cannot solve: ${n} × ${n} system with ${b.rows} right-hand-side rows`);
  const X = { rows: b.rows, cols: b.cols, data: Float64Array.from(b.data) };
  const Ld = L.data;
  const Xd = X.data;
  for (let c = 0; c < b.cols; c++) {
    const base = 2 * n * c;
    for (let i = n - 1; i >= 0; i--) {
      let re = Xd[base + 2 * i] as number;
      let im = Xd[base + 2 * i + 1] as number;
      for (let p = i + 1; p < n; p++) {
        // (Lᴴ)(i, p) = conj(L(p, i))
        const lr = Ld[2 * (p + n * i)] as number;
        const li = -(Ld[2 * (p + n * i) + 1] as number);
        const xr = Xd[base + 2 * p] as number;
        const xi = Xd[base + 2 * p + 1] as number;
        re -= lr * xr - li * xi;
        im -= lr * xi + li * xr;
      }
      const dr = Ld[2 * (i + n * i)] as number;
      const di = -(Ld[2 * (i + n * i) + 1] as number);
      const den = dr * dr + di * di;
      Xd[base + 2 * i] = (re * dr + im * di) / den;
      Xd[base + 2 * i + 1] = (im * dr - re * di) / den;
    }
  }
  return X;
}

/** Inverse of a lower-triangular matrix (lower triangular). */
export function invertLower(L: CMatrix): CMatrix {
  return solveLower(L, identity(L.rows));
}

/** Solves the Hermitian positive definite system A·X = B through Cholesky. */
export function solveHermitianPositive(a: CMatrix, b: CMatrix): CMatrix {
  const L = cholesky(a);
  return solveLowerAdjoint(L, solveLower(L, b));
}

/**
 * Tikhonov-regularised least squares: X = (AᴴA + λI)⁻¹ AᴴB, the minimiser of
 * ‖AX − B‖² + λ‖X‖². `lambda` is absolute; callers scale it (e.g. by
 * trace(AᴴA)/n) as their algorithm prescribes.
 */
export function solveTikhonov(a: CMatrix, b: CMatrix, lambda: number): CMatrix {
  const g = gram(a);
  const n = g.rows;
  for (let i = 0; i < n; i++) g.data[2 * (i + n * i)] = (g.data[2 * (i + n * i)] as number) + lambda;
  return solveHermitianPositive(g, matmul(a, b, 'C', 'N'));
}

/** Real part of the trace. */
export function traceReal(a: CMatrix): number {
  let t = 0;
  for (let i = 0; i < Math.min(a.rows, a.cols); i++) t += a.data[2 * (i + a.rows * i)] as number;
  return t;
}

/**
 * Eigendecomposition of a Hermitian matrix by cyclic complex Jacobi
 * rotations: A = V·diag(values)·Vᴴ, values ascending, V unitary (columns are
 * eigenvectors). Accurate to float64 rounding for the sizes used here.
 */
export function hermitianEigen(a: CMatrix, maxSweeps = 100): { values: Float64Array; vectors: CMatrix } {
  const n = a.rows;
  if (a.cols !== n) throw new RangeError(`Cannot decompose a ${a.rows} × ${a.cols} matrix: it is not square`);
  const A = Float64Array.from(a.data);
  const V = identity(n).data;
  const idx = (i: number, j: number): number => 2 * (i + n * j);
  let scale = 0;
  for (let i = 0; i < A.length; i++) scale = Math.max(scale, Math.abs(A[i] as number));
  const tol = 1e-15 * (scale || 1);
  for (let sweep = 0; sweep < maxSweeps; sweep++) {
    let off = 0;
    for (let j = 0; j < n; j++) for (let i = j + 1; i < n; i++) off = Math.max(off, Math.hypot(A[idx(i, j)] as number, A[idx(i, j) + 1] as number));
    if (off <= tol) break;
    for (let p = 0; p < n - 1; p++) {
      for (let q = p + 1; q < n; q++) {
        const apqr = A[idx(p, q)] as number;
        const apqi = A[idx(p, q) + 1] as number;
        const absApq = Math.hypot(apqr, apqi);
        if (absApq <= tol * 1e-3) continue;
        const app = A[idx(p, p)] as number;
        const aqq = A[idx(q, q)] as number;
        // Phase e^{iφ} = apq/|apq|; reduce to the real symmetric 2×2 problem.
        const er = apqr / absApq;
        const ei = apqi / absApq;
        const theta = (aqq - app) / (2 * absApq);
        const t = (theta >= 0 ? 1 : -1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        // Rotation J: columns p, q; J(p,p)=c, J(q,q)=c, J(p,q)=s·e, J(q,p)=−s·conj(e).
        for (let k = 0; k < n; k++) {
          // A ← A·J (columns p and q)
          const kpR = A[idx(k, p)] as number;
          const kpI = A[idx(k, p) + 1] as number;
          const kqR = A[idx(k, q)] as number;
          const kqI = A[idx(k, q) + 1] as number;
          // new kp = c·kp − s·conj(e)·kq ; new kq = s·e·kp + c·kq
          A[idx(k, p)] = c * kpR - s * (er * kqR + ei * kqI);
          A[idx(k, p) + 1] = c * kpI - s * (er * kqI - ei * kqR);
          A[idx(k, q)] = s * (er * kpR - ei * kpI) + c * kqR;
          A[idx(k, q) + 1] = s * (er * kpI + ei * kpR) + c * kqI;
          const vpR = V[idx(k, p)] as number;
          const vpI = V[idx(k, p) + 1] as number;
          const vqR = V[idx(k, q)] as number;
          const vqI = V[idx(k, q) + 1] as number;
          V[idx(k, p)] = c * vpR - s * (er * vqR + ei * vqI);
          V[idx(k, p) + 1] = c * vpI - s * (er * vqI - ei * vqR);
          V[idx(k, q)] = s * (er * vpR - ei * vpI) + c * vqR;
          V[idx(k, q) + 1] = s * (er * vpI + ei * vpR) + c * vqI;
        }
        for (let k = 0; k < n; k++) {
          // A ← Jᴴ·A (rows p and q)
          const pkR = A[idx(p, k)] as number;
          const pkI = A[idx(p, k) + 1] as number;
          const qkR = A[idx(q, k)] as number;
          const qkI = A[idx(q, k) + 1] as number;
          // new pk = c·pk − s·e·qk ; new qk = s·conj(e)·pk + c·qk
          A[idx(p, k)] = c * pkR - s * (er * qkR - ei * qkI);
          A[idx(p, k) + 1] = c * pkI - s * (er * qkI + ei * qkR);
          A[idx(q, k)] = s * (er * pkR + ei * pkI) + c * qkR;
          A[idx(q, k) + 1] = s * (er * pkI - ei * pkR) + c * qkI;
        }
        A[idx(p, q)] = 0;
        A[idx(p, q) + 1] = 0;
        A[idx(q, p)] = 0;
        A[idx(q, p) + 1] = 0;
        A[idx(p, p) + 1] = 0;
        A[idx(q, q) + 1] = 0;
      }
    }
  }
  const order = [...Array(n).keys()].sort((i, j) => (A[idx(i, i)] as number) - (A[idx(j, j)] as number));
  const values = new Float64Array(n);
  const vectors = cmatrix(n, n);
  order.forEach((src, dst) => {
    values[dst] = A[idx(src, src)] as number;
    vectors.data.set(V.subarray(2 * n * src, 2 * n * (src + 1)), 2 * n * dst);
  });
  return { values, vectors };
}
