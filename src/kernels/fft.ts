/**
 * Pure-TypeScript complex FFT on interleaved float32 data.
 *
 * Smooth lengths (2^a·3^b·5^c) use a mixed-radix 8/4/2/3/5 Stockham autosort
 * transform (decimation in frequency, no bit reversal); other lengths use
 * Bluestein's chirp-z algorithm on a smooth length ≥ 2n − 1
 * (L. Bluestein, IEEE Trans. Audio Electroacoust. 1970;18:451; C. Van Loan,
 * "Computational Frameworks for the FFT", SIAM 1992, §1.7 for Stockham).
 *
 * Lines are transformed in batches: B lines are read from the float32 array
 * into a float64 work buffer laid out element-major (element t of line q at
 * q + B·t), so every pass runs as butterflies between whole rows of the batch
 * with contiguous inner loops and no transposes; twiddles are float64. The
 * first and last passes read and write the float32 data directly when their
 * radix is 8 or 4. The inverse is computed as conj(FFT(conj(x))), with both
 * conjugations, the centring shifts and the scaling folded into those reads
 * and writes, so none costs a pass of its own.
 *
 * With the native kernels built (see `native.ts`), `fftc` runs on FFTW
 * instead; `FftPlan` is always this TypeScript implementation.
 *
 * The centred transforms follow Gadgetron (`hoNDFFT`):
 * fftc(x) = fftshift(FFT(ifftshift(x)))/√n per axis, with
 * ifftshift(x)[i] = x[(i + ⌊n/2⌋) mod n] and fftshift(x)[i] = x[(i − ⌊n/2⌋) mod n],
 * which equals X[u] = n^{−1/2} Σ_v x[v] e^{∓2πi·uv/n} on centred indices
 * u, v ∈ [−⌊n/2⌋, ⌈n/2⌉ − 1] stored at index u + ⌊n/2⌋ (even and odd n).
 */
import {
  gatherLine,
  gatherLines,
  pass2,
  pass3,
  pass4,
  pass5,
  pass8,
  scatterLine,
  scatterLines,
} from './fft-passes.js';
import { copyInto } from './copy.js';
import { nativeKernels } from './native.js';

/** Complex elements of work buffer per plan; bounds the batch size. */
const BATCH_ELEMENTS = 8192;
/** Plans kept by `getFftPlan`. */
const PLAN_CACHE_LIMIT = 64;

/**
 * Radices for n, or null when n has a prime factor other than 2, 3, 5.
 * Powers of two go in radix-8 passes with a 4, 4·4 or 2 remainder; the
 * 3s and 5s go between the first and the other 8/4 passes so that the first
 * and the last pass can be fused with the gather and the scatter.
 */
function smoothRadices(n: number): number[] | null {
  let rest = n;
  let twos = 0;
  while (rest % 2 === 0) {
    twos++;
    rest /= 2;
  }
  const powers: number[] = [];
  let eights = Math.floor(twos / 3);
  const leftover = twos % 3;
  if (leftover === 1 && eights > 0) {
    eights--;
    powers.push(4, 4);
  } else if (leftover === 1) {
    powers.push(2);
  } else if (leftover === 2) {
    powers.push(4);
  }
  for (let i = 0; i < eights; i++) powers.unshift(8);
  const odd: number[] = [];
  while (rest % 3 === 0) {
    odd.push(3);
    rest /= 3;
  }
  while (rest % 5 === 0) {
    odd.push(5);
    rest /= 5;
  }
  if (rest !== 1) return null;
  return powers.length === 0 ? odd : [powers[0], ...odd, ...powers.slice(1)];
}

/** Smallest 2^a·3^b·5^c that is ≥ n. */
function nextSmooth(n: number): number {
  let m = Math.max(1, n);
  while (smoothRadices(m) === null) m++;
  return m;
}

/** Forward Stockham transform of one smooth length on batches of interleaved vectors. */
class StockhamCore {
  private readonly radices: number[];
  private readonly spans: number[];
  private readonly twiddles: Float64Array[];

  constructor(
    readonly n: number,
    radices: number[],
  ) {
    this.radices = radices;
    this.spans = [];
    this.twiddles = [];
    let l = 1;
    for (const r of radices) {
      const m = n / (l * r);
      const tw = new Float64Array(2 * m * (r - 1));
      for (let p = 0; p < m; p++) {
        for (let k = 1; k < r; k++) {
          const angle = (-2 * Math.PI * ((l * p * k) % n)) / n;
          const at = 2 * (p * (r - 1) + k - 1);
          tw[at] = Math.cos(angle);
          tw[at + 1] = Math.sin(angle);
        }
      }
      this.spans.push(m);
      this.twiddles.push(tw);
      l *= r;
    }
  }

  /**
   * Transforms `batch` vectors stored as a[q + batch·t] (complex elements),
   * using `b` as the other buffer; returns the buffer holding the result.
   */
  run(a: Float64Array, b: Float64Array, batch: number): Float64Array {
    const radices = this.radices;
    let x = a;
    let y = b;
    let s = batch;
    for (let i = 0; i < radices.length; i++) {
      const r = radices[i];
      const m = this.spans[i];
      const tw = this.twiddles[i];
      if (r === 8) pass8(x, y, s, m, tw);
      else if (r === 4) pass4(x, y, s, m, tw);
      else if (r === 2) pass2(x, y, s, m, tw);
      else if (r === 3) pass3(x, y, s, m, tw);
      else pass5(x, y, s, m, tw);
      const t = x;
      x = y;
      y = t;
      s *= r;
    }
    return x;
  }

  /**
   * Forward transform of `batch` lines of the float32 data in place (see
   * `gatherLines` for the geometry), through the work buffers a and b.
   */
  runLines(
    data: Float32Array,
    offset: number,
    stride: number,
    distance: number,
    batch: number,
    shift: number,
    conjugate: boolean,
    scale: number,
    a: Float64Array,
    b: Float64Array,
  ): void {
    const n = this.n;
    if (batch === 1) gatherLine(data, offset, stride, n, shift, conjugate, a);
    else gatherLines(data, offset, stride, distance, batch, n, shift, conjugate, a);
    const result = this.run(a, b, batch);
    if (batch === 1) scatterLine(result, data, offset, stride, n, shift, conjugate, scale);
    else scatterLines(result, data, offset, stride, distance, batch, n, shift, conjugate, scale);
  }
}

/** Bluestein tables: chirp c[t] = e^{−iπt²/n} and the transformed filter ĥ/m. */
interface Chirp {
  readonly m: number;
  readonly chirp: Float64Array;
  readonly filter: Float64Array;
}

function makeChirp(n: number, core: StockhamCore): Chirp {
  const m = core.n;
  const chirp = new Float64Array(2 * n);
  for (let t = 0; t < n; t++) {
    const angle = (-Math.PI * ((t * t) % (2 * n))) / n;
    chirp[2 * t] = Math.cos(angle);
    chirp[2 * t + 1] = Math.sin(angle);
  }
  const h = new Float64Array(2 * m);
  for (let t = 0; t < n; t++) {
    h[2 * t] = chirp[2 * t];
    h[2 * t + 1] = -chirp[2 * t + 1];
    if (t > 0) {
      h[2 * (m - t)] = chirp[2 * t];
      h[2 * (m - t) + 1] = -chirp[2 * t + 1];
    }
  }
  const spectrum = core.run(h, new Float64Array(2 * m), 1);
  const filter = new Float64Array(2 * m);
  for (let i = 0; i < 2 * m; i++) filter[i] = spectrum[i] / m;
  return { m, chirp, filter };
}

/**
 * Bluestein transform of `batch` vectors stored as a[q + batch·t], t < n.
 * X = c · IDFT(DFT(c·x) · ĥ)/m, with the inverse DFT taken as conj(DFT(conj)).
 */
function runBluestein(
  n: number,
  tables: Chirp,
  core: StockhamCore,
  a: Float64Array,
  b: Float64Array,
  batch: number,
): Float64Array {
  const { m, chirp, filter } = tables;
  for (let t = 0; t < n; t++) {
    const cr = chirp[2 * t];
    const ci = chirp[2 * t + 1];
    const end = 2 * batch * (t + 1);
    for (let i = 2 * batch * t; i < end; i += 2) {
      const xr = a[i];
      const xi = a[i + 1];
      a[i] = xr * cr - xi * ci;
      a[i + 1] = xr * ci + xi * cr;
    }
  }
  a.fill(0, 2 * batch * n, 2 * batch * m);
  const spectrum = core.run(a, b, batch);
  for (let t = 0; t < m; t++) {
    const fr = filter[2 * t];
    const fi = filter[2 * t + 1];
    const end = 2 * batch * (t + 1);
    for (let i = 2 * batch * t; i < end; i += 2) {
      const xr = spectrum[i];
      const xi = spectrum[i + 1];
      spectrum[i] = xr * fr - xi * fi;
      spectrum[i + 1] = -(xr * fi + xi * fr);
    }
  }
  const other = spectrum === a ? b : a;
  const conv = core.run(spectrum, other, batch);
  for (let t = 0; t < n; t++) {
    const cr = chirp[2 * t];
    const ci = chirp[2 * t + 1];
    const end = 2 * batch * (t + 1);
    for (let i = 2 * batch * t; i < end; i += 2) {
      const xr = conv[i];
      const xi = -conv[i + 1];
      conv[i] = xr * cr - xi * ci;
      conv[i + 1] = xr * ci + xi * cr;
    }
  }
  return conv;
}

/**
 * A complex FFT of one length n ≥ 1, with its twiddle tables and scratch.
 * Transforms are unnormalised: forward e^{−2πi·kt/n}, inverse e^{+2πi·kt/n}.
 * A plan owns its scratch, so one plan must not be used re-entrantly.
 */
export class FftPlan {
  /** Transform length. */
  readonly n: number;
  /** Lines transformed together (bounded so the work buffers stay in cache). */
  readonly maxBatch: number;
  private readonly core: StockhamCore;
  private readonly bluestein: Chirp | null;
  private workA: Float64Array | null = null;
  private workB: Float64Array | null = null;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Cannot plan an FFT of length ${n}: need an integer ≥ 1`);
    this.n = n;
    const radices = smoothRadices(n);
    if (radices !== null) {
      this.core = new StockhamCore(n, radices);
      this.bluestein = null;
    } else {
      const m = nextSmooth(2 * n - 1);
      this.core = new StockhamCore(m, smoothRadices(m) as number[]);
      this.bluestein = makeChirp(n, this.core);
    }
    this.maxBatch = Math.max(1, Math.floor(BATCH_ELEMENTS / this.core.n));
  }

  /**
   * Transforms one vector in place: elements data[offset + t·stride], t < n,
   * with offset and stride in complex elements. Unnormalised. Returns `data`.
   */
  transform(data: Float32Array, offset: number, stride: number, inverse: boolean): Float32Array {
    return this.transformLines(data, offset, stride, 1, 0, inverse, false, 1);
  }

  /**
   * Transforms `count` vectors in place; vector j has elements
   * data[offset + j·distance + t·stride], t < n (all in complex elements).
   * With `centred`, applies ifftshift before and fftshift after each vector;
   * the result is multiplied by `scale`. The vectors must not overlap.
   * Fastest when `distance` is 1 (a non-contiguous axis: whole rows per
   * pass). Returns `data`.
   */
  transformLines(
    data: Float32Array,
    offset: number,
    stride: number,
    count: number,
    distance: number,
    inverse: boolean,
    centred: boolean,
    scale: number,
  ): Float32Array {
    const n = this.n;
    if (count <= 0) return data;
    const last = offset + (n - 1) * stride + (count - 1) * distance;
    if (offset < 0 || stride < 0 || distance < 0 || (count > 1 && distance === 0) || 2 * last + 1 >= data.length) {
      throw new RangeError(`Cannot transform ${count} line(s) of length ${n}: elements reach past the array of ${data.length / 2}`);
    }
    const shift = centred ? n >> 1 : 0;
    const batch = Math.min(count, this.maxBatch);
    const { a, b } = this.buffers(batch);
    const bluestein = this.bluestein;
    for (let first = 0; first < count; first += batch) {
      const lines = Math.min(batch, count - first);
      const start = offset + first * distance;
      if (bluestein === null) {
        this.core.runLines(data, start, stride, distance, lines, shift, inverse, scale, a, b);
      } else {
        gatherLines(data, start, stride, distance, lines, n, shift, inverse, a);
        const result = runBluestein(n, bluestein, this.core, a, b, lines);
        scatterLines(result, data, start, stride, distance, lines, n, shift, inverse, scale);
      }
    }
    return data;
  }

  private buffers(batch: number): { a: Float64Array; b: Float64Array } {
    const size = 2 * this.core.n * batch;
    if (this.workA === null || this.workB === null || this.workA.length < size) {
      const full = 2 * this.core.n * this.maxBatch;
      this.workA = new Float64Array(Math.max(size, batch === 1 ? 2 * this.core.n : full));
      this.workB = new Float64Array(this.workA.length);
    }
    return { a: this.workA, b: this.workB };
  }
}

const planCache = new Map<number, FftPlan>();

/** The cached plan for length n (created on first use). */
export function getFftPlan(n: number): FftPlan {
  let plan = planCache.get(n);
  if (plan === undefined) {
    plan = new FftPlan(n);
    if (planCache.size >= PLAN_CACHE_LIMIT) {
      const oldest = planCache.keys().next().value as number;
      planCache.delete(oldest);
    }
    planCache.set(n, plan);
  }
  return plan;
}

function checkLayout(data: Float32Array, dims: readonly number[], what: string): number {
  let total = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`Cannot ${what}: dimension ${d} in [${dims.join(', ')}] is not a positive integer`);
    total *= d;
  }
  if (data.length !== 2 * total) {
    throw new RangeError(`Cannot ${what}: data length ${data.length} does not match 2 × ${total} complex elements of [${dims.join(', ')}]`);
  }
  return total;
}

function checkAxes(dims: readonly number[], axes: readonly number[]): void {
  for (const axis of axes) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= dims.length) {
      throw new RangeError(`Cannot apply fftc along axis ${axis} of a ${dims.length}-dimensional array`);
    }
  }
}

/**
 * Centred unitary FFT along each of `axes` of a column-major complex array,
 * in place: per axis ifftshift, FFT (inverse when `inverse`), fftshift and
 * 1/√n scaling — Gadgetron's fft*c / ifft*c and BART's `fft -u [-i]`.
 * Runs on the native kernels (FFTW) when they are built, else on
 * {@link fftcPortable}; the two agree within float32 rounding, and each is
 * deterministic (same input, same bits). Returns `data`.
 */
export function fftc(data: Float32Array, dims: readonly number[], axes: readonly number[], inverse: boolean): Float32Array {
  return transform(data, data, dims, axes, inverse);
}

/**
 * {@link fftc} of `src` written to `dst` (same length; `src` unchanged):
 * the bits of copying `src` into `dst` and transforming in place, without
 * the copy (the native transform gathers its input once anyway).
 */
export function fftcFrom(src: Float32Array, dst: Float32Array, dims: readonly number[], axes: readonly number[], inverse: boolean): Float32Array {
  if (src.length !== dst.length) throw new RangeError(`Cannot apply ${inverse ? 'ifftc' : 'fftc'}: the source has ${src.length} floats, the destination ${dst.length}`);
  const overlap = src !== dst && src.buffer === dst.buffer && src.byteOffset < dst.byteOffset + dst.byteLength && dst.byteOffset < src.byteOffset + src.byteLength;
  if (overlap) {
    copyInto(dst, src);
    return transform(dst, dst, dims, axes, inverse);
  }
  return transform(src, dst, dims, axes, inverse);
}

/** {@link fftc} of `src` into `dst` (the same array for in place; otherwise not overlapping). */
function transform(src: Float32Array, dst: Float32Array, dims: readonly number[], axes: readonly number[], inverse: boolean): Float32Array {
  const native = nativeKernels();
  const copied = (): Float32Array => {
    if (src !== dst) copyInto(dst, src);
    return dst;
  };
  if (native === null) return fftcPortable(copied(), dims, axes, inverse);
  checkLayout(dst, dims, inverse ? 'apply ifftc' : 'apply fftc');
  checkAxes(dims, axes);
  if (dims.length > 16) return fftcPortable(copied(), dims, axes, inverse);
  const shape = Array.isArray(dims) ? (dims as number[]) : Array.from(dims);
  let mask = 0;
  for (const axis of axes) {
    if ((mask >>> axis) & 1) {
      // A repeated axis means transforming it twice: one axis per call keeps that meaning.
      for (const a of axes) native.fftc(copied(), shape, 1 << a, inverse);
      return dst;
    }
    mask |= 1 << axis;
  }
  if (src === dst) native.fftc(dst, shape, mask, inverse);
  else native.fftc(dst, shape, mask, inverse, src);
  return dst;
}

/**
 * The TypeScript implementation of {@link fftc} (used when the native
 * kernels are not built, or with `GANTRY_KERNELS=js`). Returns `data`.
 */
export function fftcPortable(data: Float32Array, dims: readonly number[], axes: readonly number[], inverse: boolean): Float32Array {
  const total = checkLayout(data, dims, inverse ? 'apply ifftc' : 'apply fftc');
  checkAxes(dims, axes);
  for (const axis of axes) {
    const n = dims[axis];
    if (n === 1) continue;
    let inner = 1;
    for (let d = 0; d < axis; d++) inner *= dims[d];
    const outer = total / (inner * n);
    const plan = getFftPlan(n);
    const scale = 1 / Math.sqrt(n);
    if (inner === 1) {
      plan.transformLines(data, 0, 1, outer, n, inverse, true, scale);
    } else {
      for (let o = 0; o < outer; o++) plan.transformLines(data, o * inner * n, inner, inner, 1, inverse, true, scale);
    }
  }
  return data;
}

/** Centred unitary forward FFT along one axis, in place. */
export function fft1c(data: Float32Array, dims: readonly number[], axis = 0): Float32Array {
  return fftc(data, dims, [axis], false);
}

/** Centred unitary inverse FFT along one axis, in place (k-space → image). */
export function ifft1c(data: Float32Array, dims: readonly number[], axis = 0): Float32Array {
  return fftc(data, dims, [axis], true);
}

/** Centred unitary forward FFT along axes 0 and 1, in place. */
export function fft2c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1], false);
}

/** Centred unitary inverse FFT along axes 0 and 1, in place (k-space → image). */
export function ifft2c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1], true);
}

/** Centred unitary forward FFT along axes 0, 1 and 2, in place. */
export function fft3c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1, 2], false);
}

/** Centred unitary inverse FFT along axes 0, 1 and 2, in place (k-space → image). */
export function ifft3c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1, 2], true);
}
