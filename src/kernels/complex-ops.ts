/**
 * Small element-wise and reshaping helpers on interleaved complex float32
 * arrays (re, im, re, im …), column-major with explicit dimensions.
 */
import { nativeKernels, type NativeKernels } from './native.js';

/** The addon's root sum of squares (absent from an addon built before it was added: then the loop below runs). */
type RssKernel = (src: Float32Array, inner: number, n: number, outer: number, dst: Float32Array, stride: number, divisor?: number) => void;

/** The addon's |z| (absent from an addon built before it was added: then the loop below runs). */
type MagnitudeKernel = (src: Float32Array, dst: Float32Array) => void;

/** The addon's dst = src·factor (absent from an addon built before it was added: then the loop in scaleFloats runs). */
type ScaleIntoKernel = (dst: Float32Array, src: Float32Array, factor: number) => void;

type WithExtras = NativeKernels & { rootSumOfSquares?: RssKernel; magnitude?: MagnitudeKernel; scaleInto?: ScaleIntoKernel };

function nativeRss(): RssKernel | undefined {
  return (nativeKernels() as WithExtras | null)?.rootSumOfSquares;
}

/**
 * Magnitudes of interleaved complex values: dst[i] = √(re² + im²), computed
 * in float64 (the squares of float32 values are exact) and rounded once to
 * float32; the native kernels and the TypeScript loop give the same bits.
 * `dst` holds at least half as many values as `src`. Returns `dst`.
 */
export function complexMagnitude(src: Float32Array, dst: Float32Array): Float32Array {
  if (src.length % 2 !== 0 || dst.length < src.length / 2) {
    throw new RangeError(`Cannot compute magnitudes: ${src.length} floats are not complex values that fit ${dst.length} outputs`);
  }
  const native = (nativeKernels() as WithExtras | null)?.magnitude;
  if (native) native(src, dst);
  else complexMagnitudePortable(src, dst);
  return dst;
}

/** The TypeScript implementation of {@link complexMagnitude}, without the length checks. */
export function complexMagnitudePortable(src: Float32Array, dst: Float32Array): Float32Array {
  const n = src.length >> 1;
  for (let i = 0; i < n; i++) {
    const re = src[2 * i] as number;
    const im = src[2 * i + 1] as number;
    dst[i] = Math.sqrt(re * re + im * im);
  }
  return dst;
}

function checkComplex(data: Float32Array, dims: readonly number[], what: string): number {
  let total = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`Cannot ${what}: dimension ${d} in [${dims.join(', ')}] is not a non-negative integer`);
    total *= d;
  }
  if (data.length !== 2 * total) {
    throw new RangeError(`Cannot ${what}: data length ${data.length} does not match 2 × ${total} complex elements of [${dims.join(', ')}]`);
  }
  return total;
}

function checkAxis(dims: readonly number[], axis: number, what: string): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= dims.length) {
    throw new RangeError(`Cannot ${what}: axis ${axis} is outside a ${dims.length}-dimensional array`);
  }
}

/** Product of dims before `axis` and after it. */
function split(dims: readonly number[], axis: number): { inner: number; outer: number } {
  let inner = 1;
  let outer = 1;
  for (let d = 0; d < dims.length; d++) {
    if (d < axis) inner *= dims[d];
    else if (d > axis) outer *= dims[d];
  }
  return { inner, outer };
}

/**
 * Root sum of squares of a complex array along `axis` (e.g. coil combination
 * along CHA): dst[i + inner·o] = √(Σ_c |src[i, c, o]|²), accumulated in
 * float64 in channel order. `dst` is real with the dims of `src` less `axis`.
 * Returns `dst`.
 */
export function rootSumOfSquares(src: Float32Array, dims: readonly number[], axis: number, dst: Float32Array): Float32Array {
  return rootSumOfSquaresInto(src, dims, axis, dst, 1);
}

/**
 * {@link rootSumOfSquares} into every `stride`-th element of `dst`:
 * dst[stride·(i + inner·o)]; e.g. stride 2 writes the real parts of a complex
 * image and leaves the imaginary parts as they are. The native kernels and
 * the TypeScript loop give the same bits. Returns `dst`.
 */
export function rootSumOfSquaresInto(src: Float32Array, dims: readonly number[], axis: number, dst: Float32Array, stride: number): Float32Array {
  const { n, inner, outer } = rssShape(src, dims, axis, dst, stride);
  const native = nativeRss();
  if (native) native(src, inner, n, outer, dst, stride);
  else rssLoop(src, inner, n, outer, dst, stride);
  return dst;
}

/**
 * dst[p] = √(Σ_c |src[p + vol·c]|²) / divisor for p < vol: the root sum of
 * squares of `channels` planes of `vol` complex values, each root divided in
 * float64 and rounded once (GRAPPA's g-factor: the unmixing weights' norm
 * over the acceleration). The sum runs over the channels in order, as in
 * {@link rootSumOfSquares}, natively or not. Returns `dst`.
 */
export function rootSumOfSquaresOfPlanes(src: Float32Array, vol: number, channels: number, divisor: number, dst: Float32Array): Float32Array {
  if (!Number.isInteger(vol) || !Number.isInteger(channels) || vol < 0 || channels < 0 || src.length < 2 * vol * channels || dst.length < vol) {
    throw new RangeError(`Cannot compute root sum of squares: ${channels} planes of ${vol} values do not fit ${src.length / 2} inputs and ${dst.length} outputs`);
  }
  if (!(divisor > 0) || !Number.isFinite(divisor)) throw new RangeError(`Cannot compute root sum of squares: divisor ${divisor} is not a positive finite number`);
  const native = nativeRss();
  if (native && (divisor === 1 || takesDivisor(native))) native(src, vol, channels, 1, dst, 1, divisor);
  else rssLoop(src, vol, channels, 1, dst, 1, divisor);
  return dst;
}

let divisorProbe: boolean | undefined;

/** True when the addon's rootSumOfSquares divides by its seventh argument (an addon built before it ignores it): |3 + 4i| / 2. */
function takesDivisor(native: RssKernel): boolean {
  if (divisorProbe === undefined) {
    const out = new Float32Array(1);
    native(Float32Array.of(3, 4), 1, 1, 1, out, 1, 2);
    divisorProbe = out[0] === 2.5;
  }
  return divisorProbe;
}

/** The TypeScript implementation of {@link rootSumOfSquaresInto} (used without the native kernels, or with `GANTRY_KERNELS=js`). */
export function rootSumOfSquaresPortable(src: Float32Array, dims: readonly number[], axis: number, dst: Float32Array, stride = 1): Float32Array {
  const { n, inner, outer } = rssShape(src, dims, axis, dst, stride);
  rssLoop(src, inner, n, outer, dst, stride);
  return dst;
}

function rssShape(src: Float32Array, dims: readonly number[], axis: number, dst: Float32Array, stride: number): { n: number; inner: number; outer: number } {
  checkComplex(src, dims, 'compute root sum of squares');
  checkAxis(dims, axis, 'compute root sum of squares');
  if (!Number.isInteger(stride) || stride < 1 || stride > 64) throw new RangeError(`Cannot compute root sum of squares: stride ${stride} is not an integer from 1 to 64`);
  const n = dims[axis] as number;
  const { inner, outer } = split(dims, axis);
  const count = inner * outer;
  if (stride === 1 ? dst.length !== count : dst.length < stride * (count - 1) + 1) {
    throw new RangeError(`Cannot compute root sum of squares: destination length ${dst.length} does not match ${count}${stride === 1 ? '' : ` values at stride ${stride}`}`);
  }
  return { n, inner, outer };
}

function rssLoop(src: Float32Array, inner: number, n: number, outer: number, dst: Float32Array, stride: number, divisor = 1): void {
  const block = Math.min(inner, 1024);
  const acc = new Float64Array(block);
  for (let o = 0; o < outer; o++) {
    for (let i0 = 0; i0 < inner; i0 += block) {
      const len = Math.min(block, inner - i0);
      acc.fill(0, 0, len);
      sumSquaresInto(src, 2 * (i0 + inner * n * o), 2 * inner, n, len, acc);
      const di = stride * (i0 + inner * o);
      for (let i = 0; i < len; i++) dst[di + stride * i] = Math.sqrt(acc[i] as number) / divisor;
    }
  }
}

/**
 * acc[i] += |src[base + stride·c + 2i]|² for c = 0 … n−1 in that order,
 * i < len. Eight channels per pass over `acc` (one load and store of acc[i]
 * per eight channels instead of per channel); each channel is added to the
 * running sum in turn, so the float64 sums are those of a plain loop, bit
 * for bit.
 */
function sumSquaresInto(src: Float32Array, base: number, stride: number, n: number, len: number, acc: Float64Array): void {
  let c = 0;
  for (; c + 8 <= n; c += 8) {
    const s0 = base + c * stride;
    const s1 = s0 + stride;
    const s2 = s1 + stride;
    const s3 = s2 + stride;
    const s4 = s3 + stride;
    const s5 = s4 + stride;
    const s6 = s5 + stride;
    const s7 = s6 + stride;
    for (let i = 0, j = 0; i < len; i++, j += 2) {
      let s = acc[i] as number;
      let re = src[s0 + j] as number;
      let im = src[s0 + j + 1] as number;
      s += re * re + im * im;
      re = src[s1 + j] as number; im = src[s1 + j + 1] as number; s += re * re + im * im;
      re = src[s2 + j] as number; im = src[s2 + j + 1] as number; s += re * re + im * im;
      re = src[s3 + j] as number; im = src[s3 + j + 1] as number; s += re * re + im * im;
      re = src[s4 + j] as number; im = src[s4 + j + 1] as number; s += re * re + im * im;
      re = src[s5 + j] as number; im = src[s5 + j + 1] as number; s += re * re + im * im;
      re = src[s6 + j] as number; im = src[s6 + j + 1] as number; s += re * re + im * im;
      re = src[s7 + j] as number; im = src[s7 + j + 1] as number; s += re * re + im * im;
      acc[i] = s;
    }
  }
  for (; c < n; c++) {
    const s0 = base + c * stride;
    for (let i = 0, j = 0; i < len; i++, j += 2) {
      const re = src[s0 + j] as number;
      const im = src[s0 + j + 1] as number;
      acc[i] = (acc[i] as number) + (re * re + im * im);
    }
  }
}

/**
 * dst[i] = src[i] · factor for i < src.length (dst may be src, and no
 * shorter), each product rounded once to float32: the same bits natively
 * and in TypeScript. Returns `dst`.
 */
export function scaleFloats(src: Float32Array, factor: number, dst: Float32Array): Float32Array {
  if (dst.length < src.length) throw new RangeError(`Cannot scale ${src.length} floats into ${dst.length}`);
  const native = (nativeKernels() as WithExtras | null)?.scaleInto;
  if (native) native(dst, src, factor);
  else for (let i = 0; i < src.length; i++) dst[i] = (src[i] as number) * factor;
  return dst;
}

/**
 * dst = src · (scale + i·scaleIm), element-wise on complex arrays of equal
 * length (dst may be src). Returns `dst`.
 */
export function scaleComplex(src: Float32Array, scale: number, dst: Float32Array, scaleIm = 0): Float32Array {
  if (src.length !== dst.length || src.length % 2 !== 0) {
    throw new RangeError(`Cannot scale complex array: lengths ${src.length} and ${dst.length} differ or are odd`);
  }
  if (scaleIm === 0) {
    scaleFloats(src, scale, dst);
  } else {
    for (let i = 0; i < src.length; i += 2) {
      const re = src[i];
      const im = src[i + 1];
      dst[i] = re * scale - im * scaleIm;
      dst[i + 1] = re * scaleIm + im * scale;
    }
  }
  return dst;
}

function copyAlongAxis(
  src: Float32Array,
  dims: readonly number[],
  axis: number,
  outSize: number,
  dst: Float32Array,
  srcStart: number,
  dstStart: number,
  count: number,
): void {
  const n = dims[axis];
  const { inner, outer } = split(dims, axis);
  for (let o = 0; o < outer; o++) {
    const s = 2 * inner * (srcStart + n * o);
    const d = 2 * inner * (dstStart + outSize * o);
    dst.set(src.subarray(s, s + 2 * inner * count), d);
  }
}

function checkResize(src: Float32Array, dims: readonly number[], axis: number, outSize: number, dst: Float32Array, what: string): void {
  checkComplex(src, dims, what);
  checkAxis(dims, axis, what);
  if (!Number.isInteger(outSize) || outSize < 0) throw new RangeError(`Cannot ${what}: size ${outSize} is not a non-negative integer`);
  const outDims = dims.slice();
  outDims[axis] = outSize;
  checkComplex(dst, outDims, what);
}

/**
 * Centre crop of a complex array along `axis` to `outSize` ≤ dims[axis]
 * (Gadgetron `crop`: offset ⌊(in − out)/2⌋). `dst` has the dims of `src`
 * with dims[axis] = outSize. Returns `dst`.
 */
export function copyComplexCrop(src: Float32Array, dims: readonly number[], axis: number, outSize: number, dst: Float32Array): Float32Array {
  const what = 'crop complex array';
  checkResize(src, dims, axis, outSize, dst, what);
  const n = dims[axis];
  if (outSize > n) throw new RangeError(`Cannot ${what}: size ${outSize} exceeds ${n} along axis ${axis}`);
  copyAlongAxis(src, dims, axis, outSize, dst, (n - outSize) >> 1, 0, outSize);
  return dst;
}

/**
 * Centred zero padding of a complex array along `axis` to `outSize` ≥
 * dims[axis] (Gadgetron `pad`: offset ⌊out/2⌋ − ⌊in/2⌋, so the centre index
 * ⌊in/2⌋ lands on ⌊out/2⌋). `dst` has the dims of `src` with
 * dims[axis] = outSize and must not overlap `src`. Returns `dst`.
 */
export function padCentre(src: Float32Array, dims: readonly number[], axis: number, outSize: number, dst: Float32Array): Float32Array {
  const what = 'pad complex array';
  checkResize(src, dims, axis, outSize, dst, what);
  const n = dims[axis];
  if (outSize < n) throw new RangeError(`Cannot ${what}: size ${outSize} is below ${n} along axis ${axis}`);
  dst.fill(0);
  copyAlongAxis(src, dims, axis, outSize, dst, 0, (outSize >> 1) - (n >> 1), n);
  return dst;
}

/**
 * Normalised root-mean-square error ‖a − b‖₂ / ‖b‖₂ with `b` the reference,
 * in float64. Works for real arrays and for interleaved complex ones (the
 * complex 2-norm equals the norm over the interleaved values). Returns 0 when
 * both are zero and Infinity when only `b` is.
 */
export function nrmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`Cannot compute nrmse: lengths ${a.length} and ${b.length} differ`);
  let diff = 0;
  let ref = 0;
  for (let i = 0; i < a.length; i++) {
    const d = a[i] - b[i];
    diff += d * d;
    ref += b[i] * b[i];
  }
  if (ref === 0) return diff === 0 ? 0 : Infinity;
  return Math.sqrt(diff / ref);
}
