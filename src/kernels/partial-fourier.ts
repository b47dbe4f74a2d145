/**
 * Partial Fourier handling of column-major complex k-space [RO, E1, E2, …]
 * whose sampled window [start, end] per axis does not cover the whole axis:
 *
 * - Filter method: apodise the asymmetric window with a tapered Hanning on
 *   its open side(s), normalised to SNR units (McGibney et al., MRM
 *   1993;30:51, the "homodyne-free" filtered zero filling).
 * - POCS: projection onto convex sets with a low-resolution phase estimate
 *   from the symmetrically sampled centre (Haacke et al., JMR 1991;92:126):
 *   alternately impose the phase (I ← |I|·P) and the acquired samples, then
 *   blend acquired and estimated k-space over a transition band.
 *
 * Conventions from the project's facts (algorithms §7), which follow
 * Gadgetron's GenericReconPartialFourierHandling{Filter,POCS}Gadget.
 */
import { fftc } from './fft.js';
import { applySeparableFilter, asymmetricFilter, padFilterCentre, symmetricFilterRef } from './filters.js';

/** Inclusive sampled window along one axis. */
export interface SampledRange {
  start: number;
  end: number;
}

function volumeDims(dims: readonly number[]): [number, number, number] {
  return [dims[0] ?? 1, dims[1] ?? 1, dims[2] ?? 1];
}

function checkShape(data: Float32Array, dims: readonly number[], what: string): number {
  let total = 1;
  for (const d of dims) total *= d;
  if (data.length !== 2 * total) throw new RangeError(`Cannot ${what}: data length ${data.length} does not match 2 × [${dims.join(', ')}]`);
  return total;
}

function checkRanges(dims: readonly number[], ranges: readonly SampledRange[], what: string): void {
  const sizes = volumeDims(dims);
  for (let a = 0; a < 3; a++) {
    const r = ranges[a];
    const n = sizes[a];
    if (!r) throw new RangeError(`Cannot ${what}: no sampled range for axis ${a}`);
    if (!Number.isInteger(r.start) || !Number.isInteger(r.end) || r.start < 0 || r.end >= n || r.start > r.end) {
      throw new RangeError(`Cannot ${what}: sampled range [${r.start}, ${r.end}] of axis ${a} is outside [0, ${n - 1}]`);
    }
  }
}

/** True when the range covers all of an axis of length `len`. */
export function isFullRange(range: SampledRange, len: number): boolean {
  return range.start <= 0 && range.end >= len - 1;
}

/**
 * The partial-Fourier filter of one axis of length `len` sampled on
 * [start, end], or undefined when the axis is fully sampled:
 * - start = 0 or end = len − 1: the asymmetric tapered Hanning with taper
 *   width ⌊len·widthFraction⌋, normalised over [start, end];
 * - otherwise the asymmetric filter on a centred window of length
 *   L = min(len, max(2(end − ⌊len/2⌋ + 1), 2(⌊len/2⌋ − start + 1))) (taper
 *   ⌊L·widthFraction⌋), zero outside the window, normalised over [start, end].
 */
export function partialFourierFilter1D(
  len: number,
  range: SampledRange,
  widthFraction: number,
  densityComp = false,
): Float64Array | undefined {
  if (isFullRange(range, len)) return undefined;
  const { start, end } = range;
  if (start === 0 || end === len - 1) {
    return asymmetricFilter(len, start, end, Math.floor(len * widthFraction), { densityComp });
  }
  const centre = len >> 1;
  const windowLength = Math.min(len, Math.max(2 * (end - centre + 1), 2 * (centre - start + 1)));
  const offset = centre - (windowLength >> 1);
  const s = Math.max(0, start - offset);
  const e = Math.min(windowLength - 1, end - offset);
  const inner = asymmetricFilter(windowLength, s, e, Math.floor(windowLength * widthFraction), { densityComp, normalise: false });
  const f = padFilterCentre(inner, len);
  let energy = 0;
  for (let k = 0; k < len; k++) energy += f[k] * f[k];
  if (energy > 0) {
    const scale = 1 / Math.sqrt(energy / (end - start + 1));
    for (let k = 0; k < len; k++) f[k] *= scale;
  }
  return f;
}

/**
 * Filter method: multiplies k-space [RO, E1, E2, …] in place by the
 * separable partial-Fourier filters of the three axes (fully sampled axes
 * are left alone). `widths` are taper fractions per axis (Gadgetron 0.15).
 * Returns `kspace`.
 */
export function partialFourierFilterKSpace(
  kspace: Float32Array,
  dims: readonly number[],
  ranges: readonly [SampledRange, SampledRange, SampledRange],
  widths: readonly [number, number, number],
  densityComp = false,
): Float32Array {
  const what = 'apply partial Fourier filter';
  checkShape(kspace, dims, what);
  checkRanges(dims, ranges, what);
  const sizes = volumeDims(dims);
  const filters = sizes.map((n, a) => partialFourierFilter1D(n, ranges[a] as SampledRange, widths[a] as number, densityComp));
  return applySeparableFilter(kspace, dims, filters[0], filters[1], filters[2]);
}

/** Options of {@link partialFourierPocs} (Gadgetron defaults: 6, 0.01, [24, 24, 16]). */
export interface PocsOptions {
  /** Maximum number of POCS iterations. */
  iterations: number;
  /** Stop when ‖I_new − I‖/‖I‖ falls below this. */
  threshold: number;
  /** Transition band (samples) per axis for blending acquired and estimated k-space; 0: hard replacement. */
  transitionBands: readonly [number, number, number];
}

/** What {@link partialFourierPocs} did. */
export interface PocsReport {
  /** Iterations run. */
  iterations: number;
  /** ‖I_new − I‖/‖I‖ of the last iteration. */
  change: number;
}

/**
 * The blending weight of acquired k-space along one axis for the POCS
 * output: the asymmetric tapered Hanning of [start, end] with transition
 * band T (reduced until start + T ≤ ⌊len/2⌋ and end − T ≥ ⌊len/2⌋), divided
 * by its value at ⌊len/2⌋ (1 on the flat part, tapering on open sides, 0
 * outside the window).
 */
export function pocsTransitionFilter1D(len: number, range: SampledRange, transitionBand: number): Float64Array {
  const centre = len >> 1;
  let t = Math.max(0, Math.floor(transitionBand));
  while (t > 0 && (range.start + t > centre || range.end - t < centre)) t--;
  const f = asymmetricFilter(len, range.start, range.end, t, { normalise: false });
  const c = f[centre];
  if (c > 0 && c !== 1) for (let k = 0; k < len; k++) f[k] /= c;
  return f;
}

function norm2(a: Float32Array): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Copies the sampled box of every volume of `src` into `dst` (same dims). */
function restoreBox(src: Float32Array, dst: Float32Array, dims: readonly number[], ranges: readonly SampledRange[]): void {
  const [ro, e1, e2] = volumeDims(dims);
  const volume = ro * e1 * e2;
  const volumes = volume === 0 ? 0 : src.length / (2 * volume);
  const r0 = ranges[0] as SampledRange;
  const r1 = ranges[1] as SampledRange;
  const r2 = ranges[2] as SampledRange;
  for (let v = 0; v < volumes; v++) {
    for (let k2 = r2.start; k2 <= r2.end; k2++) {
      for (let k1 = r1.start; k1 <= r1.end; k1++) {
        const from = 2 * (v * volume + ro * (k1 + e1 * k2) + r0.start);
        const to = 2 * (v * volume + ro * (k1 + e1 * k2) + r0.end + 1);
        dst.set(src.subarray(from, to), from);
      }
    }
  }
}

/**
 * POCS partial-Fourier reconstruction of k-space [RO, E1, E2, …] (every
 * trailing index, e.g. channel, N, S, slice, is its own image; the stopping
 * rule uses the norm over the whole array):
 * 1. P = I_lr/|I_lr|, I_lr = F_c⁻¹(k·f_ref) with f_ref the Hanning over the
 *    symmetrically sampled centre of each axis ({@link symmetricFilterRef});
 * 2. I = F_c⁻¹(k);
 * 3. repeat: K = F_c(|I|·P); K_pre = K; K[acquired] = k[acquired];
 *    I_new = F_c⁻¹(K); stop when ‖I_new − I‖/‖I‖ < threshold;
 * 4. k_out = f·k + (1 − f)·K_pre, f the separable {@link pocsTransitionFilter1D}
 *    (with all bands 0 this is K after the last restore).
 * `dst` (may be `kspace`) receives k_out. Returns `dst`.
 */
export function partialFourierPocs(
  kspace: Float32Array,
  dims: readonly number[],
  ranges: readonly [SampledRange, SampledRange, SampledRange],
  options: PocsOptions,
  dst: Float32Array,
  report?: PocsReport,
): Float32Array {
  const what = 'apply POCS partial Fourier';
  checkShape(kspace, dims, what);
  checkRanges(dims, ranges, what);
  if (dst.length !== kspace.length) throw new RangeError(`Cannot ${what}: destination length ${dst.length} does not match ${kspace.length}`);
  const sizes = volumeDims(dims);
  const axes = [0, 1, 2].filter((a) => sizes[a] > 1);
  const iterations = Math.max(0, Math.floor(options.iterations));
  if (report) {
    report.iterations = 0;
    report.change = 0;
  }
  if (iterations === 0 || ranges.every((r, a) => isFullRange(r, sizes[a]))) {
    if (dst !== kspace) dst.set(kspace);
    return dst;
  }

  const refFilters = sizes.map((n, a) => (n > 1 ? symmetricFilterRef(n, (ranges[a] as SampledRange).start, (ranges[a] as SampledRange).end) : undefined));
  const phase = Float32Array.from(kspace);
  applySeparableFilter(phase, dims, refFilters[0], refFilters[1], refFilters[2]);
  fftc(phase, dims, axes, true);
  for (let i = 0; i < phase.length; i += 2) {
    const re = phase[i];
    const im = phase[i + 1];
    const m = Math.sqrt(re * re + im * im);
    if (m > 0) {
      phase[i] /= m;
      phase[i + 1] /= m;
    } else {
      phase[i] = 0;
      phase[i + 1] = 0;
    }
  }

  let image: Float32Array = fftc(Float32Array.from(kspace), dims, axes, true);
  let next: Float32Array = new Float32Array(kspace.length);
  const before = new Float32Array(kspace.length);
  let run = 0;
  let change = 0;
  for (let it = 0; it < iterations; it++) {
    for (let i = 0; i < image.length; i += 2) {
      const re = image[i];
      const im = image[i + 1];
      const m = Math.sqrt(re * re + im * im);
      next[i] = m * phase[i];
      next[i + 1] = m * phase[i + 1];
    }
    fftc(next, dims, axes, false);
    before.set(next);
    restoreBox(kspace, next, dims, ranges);
    fftc(next, dims, axes, true);
    let diff = 0;
    for (let i = 0; i < next.length; i++) {
      const d = next[i] - image[i];
      diff += d * d;
    }
    const ref = norm2(image);
    change = ref > 0 ? Math.sqrt(diff) / ref : 0;
    const previous = image;
    image = next;
    next = previous;
    run = it + 1;
    if (change < options.threshold) break;
  }
  if (report) {
    report.iterations = run;
    report.change = change;
  }

  const blend = sizes.map((n, a) => pocsTransitionFilter1D(n, ranges[a] as SampledRange, options.transitionBands[a] as number));
  const [ro, e1, e2] = sizes;
  const volume = ro * e1 * e2;
  const volumes = volume === 0 ? 0 : kspace.length / (2 * volume);
  const b0 = blend[0] as Float64Array;
  const b1 = blend[1] as Float64Array;
  const b2 = blend[2] as Float64Array;
  for (let v = 0; v < volumes; v++) {
    for (let k2 = 0; k2 < e2; k2++) {
      for (let k1 = 0; k1 < e1; k1++) {
        const g = b1[k1] * b2[k2];
        let i = 2 * (v * volume + ro * (k1 + e1 * k2));
        for (let k0 = 0; k0 < ro; k0++, i += 2) {
          const f = g * b0[k0];
          dst[i] = f * kspace[i] + (1 - f) * before[i];
          dst[i + 1] = f * kspace[i + 1] + (1 - f) * before[i + 1];
        }
      }
    }
  }
  return dst;
}
