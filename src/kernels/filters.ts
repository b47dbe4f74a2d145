/**
 * One-dimensional k-space filters (apodisation windows) and their separable
 * application along RO/E1/E2 of a column-major complex k-space array.
 *
 * Symmetric filters (Gaussian, Hanning, tapered Hanning, none) are normalised
 * to Σf²/len = 1, so white noise keeps its variance after filtering
 * ("SNR-unit" filters; Kellman & McVeigh, MRM 2005;54:1439). Asymmetric
 * tapered-Hanning filters cover a sampled window [start, end] of a partially
 * sampled dimension and are normalised over that window instead.
 * Conventions follow Gadgetron's generic Cartesian recon (`mri_core_kspace_filter`),
 * re-derived from the formulas in the project's facts (algorithms §7, §8).
 */
import { fftc } from './fft.js';
import { checkOperand, type LinearOperator } from './linear-operator.js';

/** Filter shapes of GenericReconKSpaceFilteringGadget (Gadgetron's names). */
export const KSPACE_FILTER_TYPES = ['Gaussian', 'Hanning', 'TaperedHanning', 'None'] as const;

/** One of {@link KSPACE_FILTER_TYPES}. */
export type KSpaceFilterType = (typeof KSPACE_FILTER_TYPES)[number];

function checkLength(len: number, what: string): void {
  if (!Number.isInteger(len) || len < 1) throw new RangeError(`Cannot ${what}: length ${len} is not a positive integer`);
}

function checkDestination(dst: Float64Array, len: number, what: string): void {
  if (dst.length !== len) throw new RangeError(`Cannot ${what}: destination length ${dst.length} does not match ${len}`);
}

/** Taper value w_i = ½(1 − cos(2πi/(2W+1))), i = 1…W: rises from near 0 (i = 1) to near 1 (i = W). */
export function taperValue(i: number, taperWidth: number): number {
  return 0.5 * (1 - Math.cos((2 * Math.PI * i) / (2 * taperWidth + 1)));
}

/**
 * Scales all of `f` in place so that Σ_{k∈[from, to]} f_k² / (to − from + 1) = 1
 * (an all-zero range is left as is); returns `f`.
 */
export function normaliseFilterEnergy(f: Float64Array, from = 0, to = f.length - 1): Float64Array {
  let energy = 0;
  for (let k = from; k <= to; k++) energy += f[k] * f[k];
  const count = to - from + 1;
  if (!(energy > 0) || count <= 0) return f;
  const s = 1 / Math.sqrt(energy / count);
  for (let k = 0; k < f.length; k++) f[k] *= s;
  return f;
}

/**
 * Gadgetron's `generate_symmetric_filter(len, type, σ, W)`, normalised so that
 * Σf²/len = 1. For even `len` the window is centred on index len/2 and f(0)
 * is the unpaired sample:
 * - Gaussian: f = exp(−σ²x²/2), x from −1 to 1 over the (odd) support
 *   (even len: f(0) = 0, x_k = −1 + 2(k−1)/(len−2)); larger σ smooths more.
 * - Hanning: even len sin²(πk/len); odd len ½(1 − cos(2π(k+1)/(len+1))).
 * - TaperedHanning: 1 in the middle, `taperWidth` samples of
 *   {@link taperValue} at both ends (W = 0 or W ≥ len means W = 1).
 * - None: all ones.
 * Returns `dst`.
 */
export function symmetricFilter(
  len: number,
  type: KSpaceFilterType,
  sigma = 1,
  taperWidth = 0,
  dst: Float64Array = new Float64Array(len),
): Float64Array {
  const what = 'generate symmetric filter';
  checkLength(len, what);
  checkDestination(dst, len, what);
  const even = len % 2 === 0;
  switch (type) {
    case 'None':
      dst.fill(1);
      return dst;
    case 'Gaussian': {
      const a = (sigma * sigma) / 2;
      if (len === 1) {
        dst[0] = 1;
      } else if (even) {
        dst[0] = 0;
        for (let k = 1; k < len; k++) {
          const x = len === 2 ? 0 : -1 + (2 * (k - 1)) / (len - 2);
          dst[k] = Math.exp(-a * x * x);
        }
      } else {
        for (let k = 0; k < len; k++) {
          const x = -1 + (2 * k) / (len - 1);
          dst[k] = Math.exp(-a * x * x);
        }
      }
      break;
    }
    case 'Hanning':
      for (let k = 0; k < len; k++) {
        if (even) {
          const s = Math.sin((Math.PI * k) / len);
          dst[k] = s * s;
        } else {
          dst[k] = 0.5 * (1 - Math.cos((2 * Math.PI * (k + 1)) / (len + 1)));
        }
      }
      break;
    case 'TaperedHanning': {
      const w = taperWidth === 0 || taperWidth >= len ? 1 : Math.max(1, Math.floor(taperWidth));
      dst.fill(1);
      if (even) {
        dst[0] = 0;
        for (let i = 1; i <= w; i++) {
          const v = taperValue(i, w);
          dst[i] = v;
          dst[len - i] = v;
        }
      } else {
        for (let i = 1; i <= w; i++) {
          const v = taperValue(i, w);
          dst[i - 1] = v;
          dst[len - i] = v;
        }
      }
      break;
    }
    default:
      throw new RangeError(`Cannot generate symmetric filter of unknown type '${String(type)}'`);
  }
  return normaliseFilterEnergy(dst);
}

/** Options of {@link asymmetricFilter}. */
export interface AsymmetricFilterOptions {
  /**
   * Density compensation for partial Fourier: the sampled samples whose
   * conjugate-symmetric partner around ⌊len/2⌋ is not sampled get weight 2,
   * reached through a 1 + w_i transition of `taperWidth` samples. Default false.
   */
  densityComp?: boolean;
  /** Normalise to Σf²/(end − start + 1) = 1 (the SNR-unit filter). Default true. */
  normalise?: boolean;
}

/**
 * Gadgetron's `generate_asymmetric_filter(len, start, end, TaperedHanning, W)`:
 * f = 1 on the sampled window [start, end] and 0 outside; a side of the
 * window that does not reach the array edge (start > 0, end < len − 1) is
 * "open" and tapered inside the window with w_i = ½(1 − cos(2πi/(2W+1))):
 * f(end − i + 1) = w_i and f(start + i − 1) = w_i, i = 1…W (W = 0: no taper).
 * Then normalised so that Σf²/(end − start + 1) = 1 unless `normalise` is false.
 * Returns `dst`.
 */
export function asymmetricFilter(
  len: number,
  start: number,
  end: number,
  taperWidth: number,
  options: AsymmetricFilterOptions = {},
  dst: Float64Array = new Float64Array(len),
): Float64Array {
  const what = 'generate asymmetric filter';
  checkLength(len, what);
  checkDestination(dst, len, what);
  if (!Number.isInteger(start) || !Number.isInteger(end) || start < 0 || end >= len || start > end) {
    throw new RangeError(`Cannot ${what}: sampled window [${start}, ${end}] is not inside [0, ${len - 1}]`);
  }
  const count = end - start + 1;
  const w = Math.min(Math.max(0, Math.floor(taperWidth)), count);
  dst.fill(0);
  dst.fill(1, start, end + 1);
  if (options.densityComp) {
    const centre = len >> 1;
    const half = Math.min(centre - start, end - centre);
    if (half >= 0) {
      const pairedStart = centre - half;
      const pairedEnd = centre + half;
      for (let k = start; k < pairedStart; k++) dst[k] = 2;
      for (let k = pairedEnd + 1; k <= end; k++) dst[k] = 2;
      for (let i = 1; i <= w; i++) {
        const v = 1 + taperValue(i, w);
        if (pairedStart - i >= start) dst[pairedStart - i] = v;
        if (pairedEnd + i <= end) dst[pairedEnd + i] = v;
      }
    }
  }
  const endOpen = end < len - 1;
  const startOpen = start > 0;
  for (let i = 1; i <= w; i++) {
    const v = taperValue(i, w);
    if (endOpen) dst[end - i + 1] = Math.min(dst[end - i + 1], v);
    if (startOpen) dst[start + i - 1] = Math.min(dst[start + i - 1], v);
  }
  if (options.normalise ?? true) normaliseFilterEnergy(dst, start, end);
  return dst;
}

/**
 * Places `filter` (length r ≤ len) in a zero array of length `len` with the
 * centre index ⌊r/2⌋ on ⌊len/2⌋ (Gadgetron's pad offset ⌊len/2⌋ − ⌊r/2⌋).
 * Returns `dst`.
 */
export function padFilterCentre(filter: ArrayLike<number>, len: number, dst: Float64Array = new Float64Array(len)): Float64Array {
  const r = filter.length;
  if (r > len) throw new RangeError(`Cannot pad filter of length ${r} to ${len}`);
  checkDestination(dst, len, 'pad filter');
  dst.fill(0);
  const offset = (len >> 1) - (r >> 1);
  for (let k = 0; k < r; k++) dst[offset + k] = filter[k] as number;
  return dst;
}

/**
 * Gadgetron's `generate_symmetric_filter_ref(len, start, end)`, the low-pass
 * window used for phase and coil-map references: the Hanning of length `len`
 * when [start, end] covers the dimension, otherwise a Hanning of odd length
 * 2m + 1, m = min(⌊len/2⌋ − start, end − ⌊len/2⌋), centred on ⌊len/2⌋ (the
 * symmetrically sampled centre) with zeros elsewhere. Returns `dst`.
 */
export function symmetricFilterRef(len: number, start: number, end: number, dst: Float64Array = new Float64Array(len)): Float64Array {
  const what = 'generate reference filter';
  checkLength(len, what);
  checkDestination(dst, len, what);
  if (start <= 0 && end >= len - 1) return symmetricFilter(len, 'Hanning', 1, 0, dst);
  const centre = len >> 1;
  const m = Math.max(0, Math.min(centre - start, end - centre));
  const r = Math.min(2 * m + 1, len);
  return padFilterCentre(symmetricFilter(r, 'Hanning'), len, dst);
}

/**
 * The k-space filter of GenericReconKSpaceFilteringGadget for one dimension
 * of length `len` sampled on [min, max] (clamped to the array):
 * - min = 0 or max = len − 1: the full-length symmetric filter with taper
 *   width ⌈widthFraction·len⌉;
 * - otherwise a symmetric filter of length r = min(len, 2·max(⌊len/2⌋ − min,
 *   max − ⌊len/2⌋) + 1) (taper ⌈widthFraction·r⌉), centre-padded;
 * - when [min, max] is not the whole dimension, rescaled so that
 *   Σ_{min..max} f²/(max − min + 1) = 1.
 * Returns undefined for 'None' (no filtering along that dimension).
 */
export function kspaceFilter1D(
  len: number,
  type: KSpaceFilterType,
  sigma: number,
  widthFraction: number,
  min = 0,
  max = len - 1,
): Float64Array | undefined {
  checkLength(len, 'generate k-space filter');
  if (type === 'None') return undefined;
  let lo = min;
  let hi = max;
  if (!(lo >= 0 && hi < len && lo <= hi)) {
    lo = 0;
    hi = len - 1;
  }
  let f: Float64Array;
  if (lo === 0 || hi === len - 1) {
    f = symmetricFilter(len, type, sigma, Math.ceil(widthFraction * len));
  } else {
    const centre = len >> 1;
    const r = Math.min(len, 2 * Math.max(centre - lo, hi - centre) + 1);
    f = padFilterCentre(symmetricFilter(r, type, sigma, Math.ceil(widthFraction * r)), len);
  }
  if (lo > 0 || hi < len - 1) normaliseFilterEnergy(f, lo, hi);
  return f;
}

/**
 * Multiplies a column-major complex array [RO, E1, E2, …] in place by the
 * separable filter fRO(ro)·fE1(e1)·fE2(e2); an undefined filter means 1
 * along that axis. Returns `data`.
 */
export function applySeparableFilter(
  data: Float32Array,
  dims: readonly number[],
  fRO?: ArrayLike<number>,
  fE1?: ArrayLike<number>,
  fE2?: ArrayLike<number>,
): Float32Array {
  const ro = dims[0] ?? 1;
  const e1 = dims[1] ?? 1;
  const e2 = dims[2] ?? 1;
  let total = 1;
  for (const d of dims) total *= d;
  if (data.length !== 2 * total) {
    throw new RangeError(`Cannot apply k-space filter: data length ${data.length} does not match 2 × [${dims.join(', ')}]`);
  }
  const check = (f: ArrayLike<number> | undefined, n: number, axis: string): void => {
    if (f && f.length !== n) throw new RangeError(`Cannot apply k-space filter: ${axis} filter length ${f.length} does not match ${n}`);
  };
  check(fRO, ro, 'RO');
  check(fE1, e1, 'E1');
  check(fE2, e2, 'E2');
  if (!fRO && !fE1 && !fE2) return data;
  const volume = ro * e1 * e2;
  const volumes = volume === 0 ? 0 : total / volume;
  for (let v = 0; v < volumes; v++) {
    for (let k2 = 0; k2 < e2; k2++) {
      const g2 = fE2 ? (fE2[k2] as number) : 1;
      for (let k1 = 0; k1 < e1; k1++) {
        const g = g2 * (fE1 ? (fE1[k1] as number) : 1);
        let i = 2 * (v * volume + ro * (k1 + e1 * k2));
        if (fRO) {
          for (let k0 = 0; k0 < ro; k0++, i += 2) {
            const s = g * (fRO[k0] as number);
            data[i] *= s;
            data[i + 1] *= s;
          }
        } else if (g !== 1) {
          for (let k0 = 0; k0 < ro; k0++, i += 2) {
            data[i] *= g;
            data[i + 1] *= g;
          }
        }
      }
    }
  }
  return data;
}

/**
 * Image-domain k-space filtering as a linear operator on [RO, E1, E2, …]:
 * A = F_c⁻¹·diag(fRO ⊗ fE1 ⊗ fE2)·F_c over the first three axes. With real
 * filters A is self-adjoint (F_c is unitary), so Aᴴ = A.
 */
export function kspaceFilterOperator(
  dims: readonly number[],
  fRO?: ArrayLike<number>,
  fE1?: ArrayLike<number>,
  fE2?: ArrayLike<number>,
): LinearOperator {
  const shape = dims.slice();
  const axes = [0, 1, 2].filter((a) => a < shape.length);
  const apply = (src: Float32Array, dst: Float32Array, role: [string, string]): Float32Array => {
    checkOperand(op, role[0], src, shape);
    checkOperand(op, role[1], dst, shape);
    if (dst !== src) dst.set(src);
    fftc(dst, shape, axes, false);
    applySeparableFilter(dst, shape, fRO, fE1, fE2);
    return fftc(dst, shape, axes, true);
  };
  const op: LinearOperator = {
    name: 'k-space filter',
    inShape: shape,
    outShape: shape,
    forward: (x, y) => apply(x, y, ['x', 'y']),
    adjoint: (y, x) => apply(y, x, ['y', 'x']),
  };
  return op;
}
