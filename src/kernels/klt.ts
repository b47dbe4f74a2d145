/**
 * Karhunen–Loève (PCA) coil compression: the eigenvectors of the channel
 * covariance of a set of samples, ordered by decreasing eigenvalue, and the
 * channel rotation y[p, k] = Σ_c x[p, c]·V[c, k] that turns acquired channels
 * into eigen-channels (Huang et al., MRI 2008;26:133; Buehrer et al., MRM
 * 2007;57:1131).
 *
 * With the samples as rows of A ∈ ℂ^{M×C} and Ã = A − 1·mean_rows(A), the
 * economy SVD Ã = UΣVᴴ gives the eigen-channels; here V and σ² come from the
 * Hermitian eigendecomposition of ÃᴴÃ = VΣ²Vᴴ, which is the same thing.
 */
import { cgemm } from './blas.js';
import { cmatrix, hermitianEigen, type CMatrix } from './dense.js';
import { nativeKernels } from './native.js';
import { checkOperand, type LinearOperator } from './linear-operator.js';

/** Eigen-channel coefficients of one data set. */
export interface KltCoefficients {
  /** Eigenvalues σ_k² of ÃᴴÃ, descending. */
  eigenvalues: Float64Array;
  /** C × C unitary matrix; column k is the k-th eigen-channel. */
  vectors: CMatrix;
}

/**
 * Eigen-channels of `data`, `points` samples per channel and `channels`
 * channels (channel-major: sample p of channel c at 2·(p + points·c)).
 * `removeMean` subtracts each channel's mean first (Gadgetron's default).
 */
export function kltCoefficients(data: Float32Array, points: number, channels: number, removeMean = true): KltCoefficients {
  if (!Number.isInteger(points) || !Number.isInteger(channels) || points < 1 || channels < 1) {
    throw new RangeError(`Cannot compute KLT coefficients of ${points} samples × ${channels} channels`);
  }
  if (data.length !== 2 * points * channels) {
    throw new RangeError(`Cannot compute KLT coefficients: data length ${data.length} does not match ${points} samples × ${channels} channels`);
  }
  const mean = new Float64Array(2 * channels);
  if (removeMean) {
    for (let c = 0; c < channels; c++) {
      let re = 0;
      let im = 0;
      const base = 2 * points * c;
      for (let p = 0; p < points; p++) {
        re += data[base + 2 * p] as number;
        im += data[base + 2 * p + 1] as number;
      }
      mean[2 * c] = re / points;
      mean[2 * c + 1] = im / points;
    }
  }
  const cov = cmatrix(channels, channels);
  for (let j = 0; j < channels; j++) {
    const bj = 2 * points * j;
    for (let i = 0; i <= j; i++) {
      const bi = 2 * points * i;
      let re = 0;
      let im = 0;
      for (let p = 0; p < points; p++) {
        const xr = data[bi + 2 * p] as number;
        const xi = data[bi + 2 * p + 1] as number;
        const yr = data[bj + 2 * p] as number;
        const yi = data[bj + 2 * p + 1] as number;
        re += xr * yr + xi * yi;
        im += xr * yi - xi * yr;
      }
      if (removeMean) {
        const mir = mean[2 * i] as number;
        const mii = mean[2 * i + 1] as number;
        const mjr = mean[2 * j] as number;
        const mji = mean[2 * j + 1] as number;
        re -= points * (mir * mjr + mii * mji);
        im -= points * (mir * mji - mii * mjr);
      }
      cov.data[2 * (i + channels * j)] = re;
      cov.data[2 * (i + channels * j) + 1] = im;
      cov.data[2 * (j + channels * i)] = re;
      cov.data[2 * (j + channels * i) + 1] = -im;
    }
  }
  const { values, vectors } = hermitianEigen(cov);
  const eigenvalues = new Float64Array(channels);
  const sorted = cmatrix(channels, channels);
  for (let k = 0; k < channels; k++) {
    const src = channels - 1 - k;
    eigenvalues[k] = Math.max(0, values[src] as number);
    sorted.data.set(vectors.data.subarray(2 * channels * src, 2 * channels * (src + 1)), 2 * channels * k);
  }
  return { eigenvalues, vectors: sorted };
}

/**
 * Number of eigen-channels to keep: `modes` if 0 < modes (capped at C);
 * otherwise, if thres > 0, the first k ≥ 1 with |E_k| < thres·|E_0| (C if
 * none); otherwise C.
 */
export function kltModesKept(eigenvalues: Float64Array, thres: number, modes: number): number {
  const C = eigenvalues.length;
  if (modes > 0) return Math.min(modes, C);
  if (thres > 0) {
    const e0 = Math.abs(eigenvalues[0] as number);
    for (let k = 1; k < C; k++) if (Math.abs(eigenvalues[k] as number) < thres * e0) return k;
  }
  return C;
}

/**
 * Rotates channels: dst[p, k] = Σ_c src[p, c]·V[c, k] for k < kept, with
 * `points` samples per channel (channel-major, as in [RO, E1, E2, CHA]):
 * one OpenBLAS cgemm with the native kernels (float32), else a float64
 * TypeScript loop.
 * `dst` holds points × kept complex values and must not overlap `src`.
 */
export function applyChannelRotation(src: Float32Array, points: number, V: CMatrix, kept: number, dst: Float32Array): Float32Array {
  const C = V.rows;
  if (kept < 0 || kept > V.cols) throw new RangeError(`Cannot keep ${kept} of ${V.cols} eigen-channels`);
  if (src.length !== 2 * points * C) throw new RangeError(`Cannot rotate channels: ${src.length / 2} samples are not ${points} × ${C} channels`);
  if (dst.length !== 2 * points * kept) throw new RangeError(`Cannot rotate channels: destination holds ${dst.length / 2} samples, not ${points} × ${kept}`);
  const v = V.data;
  if (nativeKernels() !== null) {
    const v32 = new Float32Array(2 * C * kept);
    for (let i = 0; i < v32.length; i++) v32[i] = v[i] as number;
    return cgemm(points, kept, C, src, v32, dst);
  }
  const accRe = new Float64Array(points);
  const accIm = new Float64Array(points);
  for (let k = 0; k < kept; k++) {
    accRe.fill(0);
    accIm.fill(0);
    for (let c = 0; c < C; c++) {
      const vr = v[2 * (c + C * k)] as number;
      const vi = v[2 * (c + C * k) + 1] as number;
      if (vr === 0 && vi === 0) continue;
      const base = 2 * points * c;
      for (let p = 0; p < points; p++) {
        const xr = src[base + 2 * p] as number;
        const xi = src[base + 2 * p + 1] as number;
        accRe[p] = (accRe[p] as number) + xr * vr - xi * vi;
        accIm[p] = (accIm[p] as number) + xr * vi + xi * vr;
      }
    }
    const out = 2 * points * k;
    for (let p = 0; p < points; p++) {
      dst[out + 2 * p] = accRe[p] as number;
      dst[out + 2 * p + 1] = accIm[p] as number;
    }
  }
  return dst;
}

/**
 * The channel rotation as a linear operator [points, C] → [points, kept];
 * its adjoint is x[p, c] = Σ_k y[p, k]·conj(V[c, k]).
 */
export class ChannelRotation implements LinearOperator {
  readonly name = 'KLT channel rotation';
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];
  private readonly conjT: CMatrix;

  constructor(readonly points: number, readonly V: CMatrix, readonly kept: number) {
    this.inShape = [points, V.rows];
    this.outShape = [points, kept];
    const C = V.rows;
    this.conjT = cmatrix(kept, C);
    for (let c = 0; c < C; c++) {
      for (let k = 0; k < kept; k++) {
        this.conjT.data[2 * (k + kept * c)] = V.data[2 * (c + C * k)] as number;
        this.conjT.data[2 * (k + kept * c) + 1] = -(V.data[2 * (c + C * k) + 1] as number);
      }
    }
  }

  forward(x: Float32Array, y: Float32Array): Float32Array {
    checkOperand(this, 'x', x, this.inShape);
    checkOperand(this, 'y', y, this.outShape);
    return applyChannelRotation(x, this.points, this.V, this.kept, y);
  }

  adjoint(y: Float32Array, x: Float32Array): Float32Array {
    checkOperand(this, 'y', y, this.outShape);
    checkOperand(this, 'x', x, this.inShape);
    return applyChannelRotation(y, this.points, this.conjT, this.V.rows, x);
  }
}
