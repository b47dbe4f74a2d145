/**
 * Noise prewhitening kernels (Roemer et al., MRM 1990;16:192; Pruessmann et
 * al., MRM 1999;42:952; Kellman & McVeigh, MRM 2005;54:1439).
 *
 * Readouts are ISMRMRD acquisition data: interleaved complex float32, sample
 * fastest then channel, i.e. a column-major matrix D ∈ ℂ^{Ns×CHA}; x ∈ ℂ^CHA
 * is one sample's channel vector (a row of D).
 *
 * Conventions, as in Gadgetron's NoiseAdjustGadget:
 * - the accumulated covariance is C = DᴴD, so C_ij = Σ conj(x_i)·x_j, which is
 *   conj(Ψ) = Ψᵀ for the noise covariance Ψ = E[x xᴴ];
 * - the whitening matrix is M = s·L⁻¹ with Ψ = L·Lᴴ (L lower triangular,
 *   positive real diagonal), applied per sample as y = M·x. Gadgetron stores
 *   the same matrix transposed (W = inv(upper(chol(C))) = (L⁻¹)ᵀ, D ← D·W).
 *
 * Matrices here are CHA × CHA, column-major, interleaved re/im, float64.
 */
import { cgemm } from './blas.js';
import { cholesky, invertLower, type CMatrix } from './dense.js';
import { nativeKernels, type NativeKernels } from './native.js';

/** The addon's accumulation (absent from an addon built before it was added: then the loop below runs). */
type NoiseCovarianceKernel = (data: Float32Array, samples: number, channels: number, acc: Float64Array) => void;

/**
 * Adds DᴴD of one readout (`samples` × `channels`) to `acc` (CHA × CHA, float64)
 * and returns `acc`: acc(i, j) += Σ_s conj(D(s, i))·D(s, j).
 */
export function accumulateNoiseCovariance(data: Float32Array, samples: number, channels: number, acc: Float64Array): Float64Array {
  if (data.length < 2 * samples * channels) {
    throw new RangeError(`Cannot accumulate noise: data length ${data.length} is shorter than ${samples} samples × ${channels} channels`);
  }
  if (acc.length !== 2 * channels * channels) {
    throw new RangeError(`Cannot accumulate noise: covariance length ${acc.length} does not match ${channels} × ${channels}`);
  }
  // The addon runs the same sums (each pair over the samples in order), four pairs at a time.
  const native = (nativeKernels() as (NativeKernels & { noiseCovariance?: NoiseCovarianceKernel }) | null)?.noiseCovariance;
  if (native) {
    native(data, samples, channels, acc);
    return acc;
  }
  return accumulateNoiseCovariancePortable(data, samples, channels, acc);
}

/** The TypeScript loop of {@link accumulateNoiseCovariance} (used without the native kernels, or with `GANTRY_KERNELS=js`); no checks. */
export function accumulateNoiseCovariancePortable(data: Float32Array, samples: number, channels: number, acc: Float64Array): Float64Array {
  for (let j = 0; j < channels; j++) {
    const bj = 2 * samples * j;
    for (let i = 0; i <= j; i++) {
      const bi = 2 * samples * i;
      let re = 0;
      let im = 0;
      for (let s = 0; s < samples; s++) {
        const ar = data[bi + 2 * s] as number;
        const ai = data[bi + 2 * s + 1] as number;
        const br = data[bj + 2 * s] as number;
        const bim = data[bj + 2 * s + 1] as number;
        re += ar * br + ai * bim;
        im += ar * bim - ai * br;
      }
      const ij = 2 * (i + channels * j);
      acc[ij] = (acc[ij] as number) + re;
      acc[ij + 1] = (acc[ij + 1] as number) + im;
      if (i !== j) {
        const ji = 2 * (j + channels * i);
        acc[ji] = (acc[ji] as number) + re;
        acc[ji + 1] = (acc[ji + 1] as number) - im;
      }
    }
  }
  return acc;
}

/**
 * Zeroes the off-diagonal entries of rows and columns `indices` of a CHA × CHA
 * matrix in place (Gadgetron's "scale only" channels) and returns it.
 */
export function maskOffDiagonal(matrix: Float64Array, channels: number, indices: readonly number[]): Float64Array {
  for (const ch of indices) {
    if (!Number.isInteger(ch) || ch < 0 || ch >= channels) continue;
    for (let k = 0; k < channels; k++) {
      if (k === ch) continue;
      matrix[2 * (ch + channels * k)] = 0;
      matrix[2 * (ch + channels * k) + 1] = 0;
      matrix[2 * (k + channels * ch)] = 0;
      matrix[2 * (k + channels * ch) + 1] = 0;
    }
  }
  return matrix;
}

/**
 * The whitening matrix M = scale·L⁻¹ (lower triangular) for a covariance
 * given in Gadgetron's convention C = conj(Ψ) (see the module comment).
 * A covariance whose entries are all zero gives M = scale·I, as in Gadgetron.
 * Throws NotPositiveDefiniteError (from the Cholesky factorisation) when Ψ is
 * not positive definite, e.g. for a dead channel.
 */
export function noiseWhiteningMatrix(covariance: Float64Array, channels: number, scale: number): Float64Array {
  if (covariance.length !== 2 * channels * channels) {
    throw new RangeError(`Cannot whiten: covariance length ${covariance.length} does not match ${channels} × ${channels}`);
  }
  let sum = 0;
  for (let i = 0; i < covariance.length; i++) sum += Math.abs(covariance[i] as number);
  const out = new Float64Array(2 * channels * channels);
  if (!(sum > 0)) {
    for (let i = 0; i < channels; i++) out[2 * (i + channels * i)] = scale;
    return out;
  }
  const psi: CMatrix = { rows: channels, cols: channels, data: new Float64Array(covariance.length) };
  for (let k = 0; k < covariance.length; k += 2) {
    psi.data[k] = covariance[k] as number;
    psi.data[k + 1] = -(covariance[k + 1] as number);
  }
  const inverse = invertLower(cholesky(psi)).data;
  for (let j = 0; j < channels; j++) {
    for (let i = j; i < channels; i++) {
      const k = 2 * (i + channels * j);
      out[k] = scale * (inverse[k] as number);
      out[k + 1] = scale * (inverse[k + 1] as number);
    }
  }
  return out;
}

let whiteningMatrix32 = new Float32Array(0);
let whiteningScratch = new Float32Array(0);

/**
 * Applies a lower-triangular whitening matrix to every sample of a readout,
 * y = M·x. With the native kernels this is one OpenBLAS product
 * Y = X·Mᵀ (X the samples × channels readout; float32, one thread, so the
 * same bits on every run); without them the TypeScript loop accumulates in
 * float64 and rounds once to float32. `dest` may be `src`. Returns `dest`.
 */
export function applyNoiseWhitening(
  src: Float32Array,
  samples: number,
  channels: number,
  whitening: Float64Array,
  dest: Float32Array,
): Float32Array {
  const n = 2 * samples * channels;
  if (src.length < n || dest.length < n) {
    throw new RangeError(`Cannot whiten: data length ${Math.min(src.length, dest.length)} is shorter than ${samples} samples × ${channels} channels`);
  }
  if (whitening.length !== 2 * channels * channels) {
    throw new RangeError(`Cannot whiten: matrix length ${whitening.length} does not match ${channels} × ${channels}`);
  }
  if (nativeKernels() !== null) {
    if (whiteningMatrix32.length !== whitening.length) whiteningMatrix32 = new Float32Array(whitening.length);
    whiteningMatrix32.set(whitening);
    const overlaps = src.buffer === dest.buffer && src.byteOffset < dest.byteOffset + 4 * n && dest.byteOffset < src.byteOffset + 4 * n;
    if (!overlaps) {
      cgemm(samples, channels, channels, src, whiteningMatrix32, dest, { opB: 'T' });
      return dest;
    }
    if (whiteningScratch.length < n) whiteningScratch = new Float32Array(n);
    const scratch = whiteningScratch.subarray(0, n);
    cgemm(samples, channels, channels, src, whiteningMatrix32, scratch, { opB: 'T' });
    dest.set(scratch);
    return dest;
  }
  const x = new Float64Array(2 * channels);
  for (let s = 0; s < samples; s++) {
    for (let c = 0; c < channels; c++) {
      x[2 * c] = src[2 * (c * samples + s)] as number;
      x[2 * c + 1] = src[2 * (c * samples + s) + 1] as number;
    }
    for (let i = 0; i < channels; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j <= i; j++) {
        const mr = whitening[2 * (i + channels * j)] as number;
        const mi = whitening[2 * (i + channels * j) + 1] as number;
        const xr = x[2 * j] as number;
        const xi = x[2 * j + 1] as number;
        re += mr * xr - mi * xi;
        im += mr * xi + mi * xr;
      }
      dest[2 * (i * samples + s)] = re;
      dest[2 * (i * samples + s) + 1] = im;
    }
  }
  return dest;
}

/**
 * Gadgetron's bandwidth scale s = √(2·Δt_a/Δt_n·β), or 1 when either dwell
 * time is 0 (the factor 2 is then dropped too).
 */
export function noiseBandwidthScale(acquisitionDwellUs: number, noiseDwellUs: number, relativeBandwidth: number): number {
  if (acquisitionDwellUs === 0 || noiseDwellUs === 0) return 1;
  return Math.sqrt((2 * acquisitionDwellUs / noiseDwellUs) * relativeBandwidth);
}

/**
 * Permutes rows and columns of a CHA × CHA matrix: out(n, m) = in(order[n], order[m]).
 * `order[d]` is the index, in the stored matrix, of the data's channel d.
 */
export function reorderChannels(matrix: Float32Array, channels: number, order: readonly number[], dest: Float32Array): Float32Array {
  if (order.length !== channels) throw new RangeError(`Cannot reorder ${channels} channels with an order of length ${order.length}`);
  for (let m = 0; m < channels; m++) {
    for (let n = 0; n < channels; n++) {
      const src = 2 * ((order[n] as number) + channels * (order[m] as number));
      dest[2 * (n + channels * m)] = matrix[src] as number;
      dest[2 * (n + channels * m) + 1] = matrix[src + 1] as number;
    }
  }
  return dest;
}
