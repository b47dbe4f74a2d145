/**
 * Complex single-precision BLAS/LAPACK subset on interleaved float32,
 * column-major matrices (element (i, j) at 2·(i + ld·j)): the products and
 * the Hermitian solve of GRAPPA calibration (AᴴA, AᴴB, (AᴴA + λI)⁻¹AᴴB) and
 * of coil combination.
 *
 * Runs on OpenBLAS (one thread per call, so sums are in a fixed order) when
 * the native kernels are built, else on the TypeScript implementations
 * below, which accumulate in float64. Either way the result for a given
 * input is the same on every run.
 */
import { NotPositiveDefiniteError } from './dense.js';
import { nativeKernels, type NativeOp } from './native.js';

/** How a matrix operand enters a product: as is, transposed, or conjugate-transposed. */
export type MatrixOp = 'N' | 'T' | 'C';

/** A complex scalar: a real number, or [re, im]. */
export type ComplexScalar = number | readonly [number, number];

/** Options of {@link cgemm}. */
export interface GemmOptions {
  /** op(A) (default 'N'). */
  opA?: MatrixOp;
  /** op(B) (default 'N'). */
  opB?: MatrixOp;
  /** Default 1. */
  alpha?: ComplexScalar;
  /** Default 0: C is then only written, never read (NaNs in it are ignored). */
  beta?: ComplexScalar;
  /** Leading dimensions (complex elements between columns); default: the stored row count. */
  lda?: number;
  ldb?: number;
  ldc?: number;
}

/** Options of {@link cherk}. */
export interface HerkOptions {
  /** 'N': C = α·A·Aᴴ + β·C with A n × k; 'C': C = α·Aᴴ·A + β·C with A k × n (default 'C'). */
  trans?: 'N' | 'C';
  /** Which triangle of C is computed (default 'L'); the other is left alone unless `full`. */
  uplo?: 'L' | 'U';
  /** Copy the conjugate of the computed triangle into the other one (default false). */
  full?: boolean;
  /** Real, default 1. */
  alpha?: number;
  /** Real, default 0: C is then only written, never read. */
  beta?: number;
  lda?: number;
  ldc?: number;
}

/** Options of {@link cposv}. */
export interface PosvOptions {
  /** Which triangle of A holds the matrix (default 'L'); it is overwritten by the Cholesky factor. */
  uplo?: 'L' | 'U';
  lda?: number;
  ldb?: number;
}

const OP_CODES: Record<MatrixOp, NativeOp> = { N: 0, T: 1, C: 2 };

function scalar(s: ComplexScalar | undefined, fallback: number, what: string): [number, number] {
  if (s === undefined) return [fallback, 0];
  const v: [number, number] = typeof s === 'number' ? [s, 0] : [s[0], s[1]];
  if (!Number.isFinite(v[0]) || !Number.isFinite(v[1])) throw new RangeError(`Cannot apply ${what}: a scalar is not finite`);
  return v;
}

function checkSize(value: number, name: string, what: string): void {
  if (!Number.isInteger(value) || value < 0 || value > 0x7fffffff) throw new RangeError(`Cannot apply ${what}: ${name} = ${value} is not a size`);
}

function checkMatrix(data: Float32Array, rows: number, cols: number, ld: number, name: string, what: string): void {
  if (!(data instanceof Float32Array)) throw new TypeError(`Cannot apply ${what}: ${name} is not a Float32Array`);
  if (!Number.isInteger(ld) || ld < Math.max(1, rows) || ld > 0x7fffffff) {
    throw new RangeError(`Cannot apply ${what}: leading dimension ${ld} of ${name} is less than its ${rows} rows`);
  }
  if (rows > 0 && cols > 0 && data.length < 2 * (ld * (cols - 1) + rows)) {
    throw new RangeError(`Cannot apply ${what}: ${name} holds ${data.length / 2} complex values, too few for ${rows} × ${cols} with leading dimension ${ld}`);
  }
}

function checkOp(op: string, what: string): MatrixOp {
  if (op !== 'N' && op !== 'T' && op !== 'C') throw new RangeError(`Cannot apply ${what}: op ${op} is not N, T or C`);
  return op;
}

/**
 * C = α·op(A)·op(B) + β·C, with op(A) m × k, op(B) k × n and C m × n
 * (BLAS cgemm). Returns `c`.
 */
export function cgemm(m: number, n: number, k: number, a: Float32Array, b: Float32Array, c: Float32Array, options: GemmOptions = {}): Float32Array {
  const what = 'cgemm';
  checkSize(m, 'm', what);
  checkSize(n, 'n', what);
  checkSize(k, 'k', what);
  const opA = checkOp(options.opA ?? 'N', what);
  const opB = checkOp(options.opB ?? 'N', what);
  const aRows = opA === 'N' ? m : k;
  const bRows = opB === 'N' ? k : n;
  const lda = options.lda ?? Math.max(1, aRows);
  const ldb = options.ldb ?? Math.max(1, bRows);
  const ldc = options.ldc ?? Math.max(1, m);
  checkMatrix(a, aRows, opA === 'N' ? k : m, lda, 'A', what);
  checkMatrix(b, bRows, opB === 'N' ? n : k, ldb, 'B', what);
  checkMatrix(c, m, n, ldc, 'C', what);
  const alpha = scalar(options.alpha, 1, what);
  const beta = scalar(options.beta, 0, what);
  const native = nativeKernels();
  if (native !== null) {
    native.cgemm(OP_CODES[opA], OP_CODES[opB], m, n, k, alpha[0], alpha[1], a, lda, b, ldb, beta[0], beta[1], c, ldc);
    return c;
  }
  return cgemmPortable(m, n, k, a, lda, opA, b, ldb, opB, alpha, beta, c, ldc);
}

/**
 * Hermitian rank-k update of one triangle of the n × n matrix C (BLAS
 * cherk): C = α·Aᴴ·A + β·C ('C') or α·A·Aᴴ + β·C ('N'); the diagonal's
 * imaginary parts are set to zero. Returns `c`.
 */
export function cherk(n: number, k: number, a: Float32Array, c: Float32Array, options: HerkOptions = {}): Float32Array {
  const what = 'cherk';
  checkSize(n, 'n', what);
  checkSize(k, 'k', what);
  const trans = options.trans ?? 'C';
  const uplo = options.uplo ?? 'L';
  if (trans !== 'N' && trans !== 'C') throw new RangeError(`Cannot apply cherk: trans ${trans} is not N or C`);
  if (uplo !== 'L' && uplo !== 'U') throw new RangeError(`Cannot apply cherk: uplo ${uplo} is not L or U`);
  const aRows = trans === 'N' ? n : k;
  const lda = options.lda ?? Math.max(1, aRows);
  const ldc = options.ldc ?? Math.max(1, n);
  checkMatrix(a, aRows, trans === 'N' ? k : n, lda, 'A', what);
  checkMatrix(c, n, n, ldc, 'C', what);
  const alpha = options.alpha ?? 1;
  const beta = options.beta ?? 0;
  if (!Number.isFinite(alpha) || !Number.isFinite(beta)) throw new RangeError('Cannot apply cherk: alpha or beta is not finite');
  const native = nativeKernels();
  if (native !== null) native.cherk(uplo === 'U', trans === 'N' ? 0 : 2, n, k, alpha, a, lda, beta, c, ldc);
  else cherkPortable(n, k, a, lda, trans, uplo, alpha, beta, c, ldc);
  if (options.full) {
    for (let j = 0; j < n; j++) {
      for (let i = j + 1; i < n; i++) {
        const lo = 2 * (i + ldc * j);
        const up = 2 * (j + ldc * i);
        const [from, to] = uplo === 'L' ? [lo, up] : [up, lo];
        c[to] = c[from] as number;
        c[to + 1] = -(c[from + 1] as number);
      }
    }
  }
  return c;
}

/**
 * Solves A·X = B for Hermitian positive definite A (LAPACK cposv: Cholesky
 * factorisation, then two triangular solves). A (n × n, the `uplo`
 * triangle read) is overwritten by its Cholesky factor, B (n × nrhs) by X.
 * Throws {@link NotPositiveDefiniteError} when A is not positive definite.
 * Returns `b`.
 */
export function cposv(n: number, nrhs: number, a: Float32Array, b: Float32Array, options: PosvOptions = {}): Float32Array {
  const what = 'cposv';
  checkSize(n, 'n', what);
  checkSize(nrhs, 'nrhs', what);
  const uplo = options.uplo ?? 'L';
  if (uplo !== 'L' && uplo !== 'U') throw new RangeError(`Cannot apply cposv: uplo ${uplo} is not L or U`);
  const lda = options.lda ?? Math.max(1, n);
  const ldb = options.ldb ?? Math.max(1, n);
  checkMatrix(a, n, n, lda, 'A', what);
  checkMatrix(b, n, nrhs, ldb, 'B', what);
  const native = nativeKernels();
  const info = native !== null ? native.cposv(uplo === 'U', n, nrhs, a, lda, b, ldb) : cposvPortable(n, nrhs, a, lda, uplo, b, ldb);
  if (info > 0) throw new NotPositiveDefiniteError(info - 1);
  return b;
}

/** TypeScript cgemm (float64 accumulation), used when the native kernels are not available. Returns `c`. */
export function cgemmPortable(
  m: number, n: number, k: number, a: Float32Array, lda: number, opA: MatrixOp, b: Float32Array, ldb: number, opB: MatrixOp,
  alpha: readonly [number, number], beta: readonly [number, number], c: Float32Array, ldc: number,
): Float32Array {
  const [ar, ai] = alpha;
  const [br, bi] = beta;
  const bcol = new Float64Array(2 * k);
  const acc = new Float64Array(2 * m);
  const conjA = opA === 'C';
  for (let j = 0; j < n; j++) {
    for (let p = 0; p < k; p++) {
      const s = opB === 'N' ? 2 * (p + ldb * j) : 2 * (j + ldb * p);
      bcol[2 * p] = b[s] as number;
      bcol[2 * p + 1] = opB === 'C' ? -(b[s + 1] as number) : (b[s + 1] as number);
    }
    if (opA === 'N') {
      acc.fill(0);
      for (let p = 0; p < k; p++) {
        const xr = bcol[2 * p] as number;
        const xi = bcol[2 * p + 1] as number;
        if (xr === 0 && xi === 0) continue;
        const base = 2 * lda * p;
        for (let i = 0; i < m; i++) {
          const yr = a[base + 2 * i] as number;
          const yi = a[base + 2 * i + 1] as number;
          acc[2 * i] = (acc[2 * i] as number) + yr * xr - yi * xi;
          acc[2 * i + 1] = (acc[2 * i + 1] as number) + yr * xi + yi * xr;
        }
      }
    } else {
      for (let i = 0; i < m; i++) {
        const base = 2 * lda * i;
        let re = 0;
        let im = 0;
        for (let p = 0; p < k; p++) {
          const yr = a[base + 2 * p] as number;
          const yi = conjA ? -(a[base + 2 * p + 1] as number) : (a[base + 2 * p + 1] as number);
          const xr = bcol[2 * p] as number;
          const xi = bcol[2 * p + 1] as number;
          re += yr * xr - yi * xi;
          im += yr * xi + yi * xr;
        }
        acc[2 * i] = re;
        acc[2 * i + 1] = im;
      }
    }
    const cb = 2 * ldc * j;
    const keep = br !== 0 || bi !== 0;
    for (let i = 0; i < m; i++) {
      const sr = acc[2 * i] as number;
      const si = acc[2 * i + 1] as number;
      let re = ar * sr - ai * si;
      let im = ar * si + ai * sr;
      if (keep) {
        const cr = c[cb + 2 * i] as number;
        const ci = c[cb + 2 * i + 1] as number;
        re += br * cr - bi * ci;
        im += br * ci + bi * cr;
      }
      c[cb + 2 * i] = re;
      c[cb + 2 * i + 1] = im;
    }
  }
  return c;
}

/** TypeScript cherk (float64 accumulation), used when the native kernels are not available. Returns `c`. */
export function cherkPortable(
  n: number, k: number, a: Float32Array, lda: number, trans: 'N' | 'C', uplo: 'L' | 'U', alpha: number, beta: number, c: Float32Array, ldc: number,
): Float32Array {
  const acc = new Float64Array(2 * n);
  const row = new Float64Array(2 * k);
  for (let j = 0; j < n; j++) {
    const lo = uplo === 'L' ? j : 0;
    const hi = uplo === 'L' ? n : j + 1;
    if (trans === 'C') {
      // C[i, j] = Σ_p conj(A[p, i])·A[p, j]: dot products of columns.
      const cj = 2 * lda * j;
      for (let i = lo; i < hi; i++) {
        const ci = 2 * lda * i;
        let re = 0;
        let im = 0;
        for (let p = 0; p < k; p++) {
          const xr = a[ci + 2 * p] as number;
          const xi = a[ci + 2 * p + 1] as number;
          const yr = a[cj + 2 * p] as number;
          const yi = a[cj + 2 * p + 1] as number;
          re += xr * yr + xi * yi;
          im += xr * yi - xi * yr;
        }
        acc[2 * i] = re;
        acc[2 * i + 1] = im;
      }
    } else {
      // C[i, j] = Σ_p A[i, p]·conj(A[j, p]): columns of A scaled by conj(A[j, p]).
      for (let p = 0; p < k; p++) {
        row[2 * p] = a[2 * (j + lda * p)] as number;
        row[2 * p + 1] = -(a[2 * (j + lda * p) + 1] as number);
      }
      acc.fill(0, 2 * lo, 2 * hi);
      for (let p = 0; p < k; p++) {
        const xr = row[2 * p] as number;
        const xi = row[2 * p + 1] as number;
        if (xr === 0 && xi === 0) continue;
        const base = 2 * lda * p;
        for (let i = lo; i < hi; i++) {
          const yr = a[base + 2 * i] as number;
          const yi = a[base + 2 * i + 1] as number;
          acc[2 * i] = (acc[2 * i] as number) + yr * xr - yi * xi;
          acc[2 * i + 1] = (acc[2 * i + 1] as number) + yr * xi + yi * xr;
        }
      }
    }
    const cb = 2 * ldc * j;
    for (let i = lo; i < hi; i++) {
      let re = alpha * (acc[2 * i] as number);
      let im = alpha * (acc[2 * i + 1] as number);
      if (beta !== 0) {
        re += beta * (c[cb + 2 * i] as number);
        im += beta * (c[cb + 2 * i + 1] as number);
      }
      c[cb + 2 * i] = re;
      c[cb + 2 * i + 1] = i === j ? 0 : im;
    }
  }
  return c;
}

/**
 * TypeScript cposv (float64 Cholesky and solves), used when the native
 * kernels are not available. Returns LAPACK's info (0, or the order of the
 * first non-positive leading minor).
 */
export function cposvPortable(n: number, nrhs: number, a: Float32Array, lda: number, uplo: 'L' | 'U', b: Float32Array, ldb: number): number {
  // L (lower, float64, dense n × n) with A = L·Lᴴ; the upper triangle of A is read as conj of the lower.
  const L = new Float64Array(2 * n * n);
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) {
      const s = uplo === 'L' ? 2 * (i + lda * j) : 2 * (j + lda * i);
      L[2 * (i + n * j)] = a[s] as number;
      L[2 * (i + n * j) + 1] = uplo === 'L' ? (a[s + 1] as number) : -(a[s + 1] as number);
    }
  }
  for (let j = 0; j < n; j++) {
    let d = L[2 * (j + n * j)] as number;
    for (let p = 0; p < j; p++) {
      const re = L[2 * (j + n * p)] as number;
      const im = L[2 * (j + n * p) + 1] as number;
      d -= re * re + im * im;
    }
    if (!(d > 0)) return j + 1;
    const djj = Math.sqrt(d);
    L[2 * (j + n * j)] = djj;
    L[2 * (j + n * j) + 1] = 0;
    for (let i = j + 1; i < n; i++) {
      let re = L[2 * (i + n * j)] as number;
      let im = L[2 * (i + n * j) + 1] as number;
      for (let p = 0; p < j; p++) {
        // L[i,p]·conj(L[j,p])
        const xr = L[2 * (i + n * p)] as number;
        const xi = L[2 * (i + n * p) + 1] as number;
        const yr = L[2 * (j + n * p)] as number;
        const yi = L[2 * (j + n * p) + 1] as number;
        re -= xr * yr + xi * yi;
        im -= xi * yr - xr * yi;
      }
      L[2 * (i + n * j)] = re / djj;
      L[2 * (i + n * j) + 1] = im / djj;
    }
  }
  const x = new Float64Array(2 * n);
  for (let r = 0; r < nrhs; r++) {
    const bb = 2 * ldb * r;
    for (let i = 0; i < n; i++) {
      let re = b[bb + 2 * i] as number;
      let im = b[bb + 2 * i + 1] as number;
      for (let p = 0; p < i; p++) {
        const lr = L[2 * (i + n * p)] as number;
        const li = L[2 * (i + n * p) + 1] as number;
        re -= lr * (x[2 * p] as number) - li * (x[2 * p + 1] as number);
        im -= lr * (x[2 * p + 1] as number) + li * (x[2 * p] as number);
      }
      const d = L[2 * (i + n * i)] as number;
      x[2 * i] = re / d;
      x[2 * i + 1] = im / d;
    }
    for (let i = n - 1; i >= 0; i--) {
      let re = x[2 * i] as number;
      let im = x[2 * i + 1] as number;
      for (let p = i + 1; p < n; p++) {
        // conj(L[p,i])·x[p]
        const lr = L[2 * (p + n * i)] as number;
        const li = -(L[2 * (p + n * i) + 1] as number);
        re -= lr * (x[2 * p] as number) - li * (x[2 * p + 1] as number);
        im -= lr * (x[2 * p + 1] as number) + li * (x[2 * p] as number);
      }
      const d = L[2 * (i + n * i)] as number;
      x[2 * i] = re / d;
      x[2 * i + 1] = im / d;
    }
    for (let i = 0; i < n; i++) {
      b[bb + 2 * i] = x[2 * i] as number;
      b[bb + 2 * i + 1] = x[2 * i + 1] as number;
    }
  }
  for (let j = 0; j < n; j++) {
    for (let i = j; i < n; i++) {
      const re = L[2 * (i + n * j)] as number;
      const im = L[2 * (i + n * j) + 1] as number;
      if (uplo === 'L') {
        a[2 * (i + lda * j)] = re;
        a[2 * (i + lda * j) + 1] = im;
      } else {
        a[2 * (j + lda * i)] = re;
        a[2 * (j + lda * i) + 1] = -im;
      }
    }
  }
  return 0;
}
