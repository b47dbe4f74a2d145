/**
 * Fourier-domain resizing of column-major complex images: zero padding
 * (interpolation) and cropping of k-space along one axis, with Gadgetron's
 * offsets (pad: ⌊out/2⌋ − ⌊in/2⌋, so the k-space centre stays on the centre;
 * crop: ⌊(in − out)/2⌋), and the linear-operator form used in adjoint tests.
 *
 * With the centred unitary FFT F_c, the resize I' = F_c⁻¹(P F_c I)·√(out/in)
 * keeps pixel intensities of band-limited images (Gadgetron's
 * `zero_pad_resize`); without the factor it keeps the noise variance.
 */
import { fftc } from './fft.js';
import { checkOperand, type LinearOperator } from './linear-operator.js';

function count(dims: readonly number[]): number {
  let n = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 0) throw new RangeError(`Cannot use dimensions [${dims.join(', ')}]: ${d} is not a non-negative integer`);
    n *= d;
  }
  return n;
}

/** Throws unless `data` holds the complex elements of `dims`. */
export function checkComplexShape(data: Float32Array, dims: readonly number[], what: string): void {
  const n = count(dims);
  if (data.length !== 2 * n) throw new RangeError(`Cannot ${what}: data length ${data.length} does not match 2 × [${dims.join(', ')}]`);
}

/** Gadgetron's pad offset: ⌊out/2⌋ − ⌊in/2⌋. */
export function padOffset(inSize: number, outSize: number): number {
  return (outSize >> 1) - (inSize >> 1);
}

/** Gadgetron's crop offset: ⌊(in − out)/2⌋. */
export function cropOffset(inSize: number, outSize: number): number {
  return (inSize - outSize) >> 1;
}

/** `dims` with dims[axis] = size. */
export function withAxisSize(dims: readonly number[], axis: number, size: number): number[] {
  const out = dims.slice();
  out[axis] = size;
  return out;
}

/**
 * Copies `length` entries along `axis` from src[srcStart…] to dst[dstStart…]
 * for every index of the other axes (dst's other axes equal src's).
 */
function copyAxisWindow(
  src: Float32Array,
  dims: readonly number[],
  axis: number,
  srcStart: number,
  dst: Float32Array,
  outSize: number,
  dstStart: number,
  length: number,
): void {
  let inner = 1;
  for (let d = 0; d < axis; d++) inner *= dims[d];
  const n = dims[axis];
  const outer = n === 0 || inner === 0 ? 0 : count(dims) / (inner * n);
  for (let o = 0; o < outer; o++) {
    const s = 2 * inner * (srcStart + n * o);
    const d = 2 * inner * (dstStart + outSize * o);
    dst.set(src.subarray(s, s + 2 * inner * length), d);
  }
}

function checkAxis(dims: readonly number[], axis: number, what: string): void {
  if (!Number.isInteger(axis) || axis < 0 || axis >= dims.length) {
    throw new RangeError(`Cannot ${what}: axis ${axis} is outside a ${dims.length}-dimensional array`);
  }
}

/**
 * Zero pads `src` along `axis` to `outSize` ≥ dims[axis], the input placed at
 * `offset` (default Gadgetron's pad offset). `dst` (dims with dims[axis] =
 * outSize) must not overlap `src`. Returns `dst`.
 */
export function padAxis(
  src: Float32Array,
  dims: readonly number[],
  axis: number,
  outSize: number,
  dst: Float32Array,
  offset = padOffset(dims[axis] ?? 0, outSize),
): Float32Array {
  const what = 'pad along axis';
  checkAxis(dims, axis, what);
  checkComplexShape(src, dims, what);
  checkComplexShape(dst, withAxisSize(dims, axis, outSize), what);
  const n = dims[axis];
  if (outSize < n || offset < 0 || offset + n > outSize) {
    throw new RangeError(`Cannot ${what}: ${n} samples at offset ${offset} do not fit in ${outSize}`);
  }
  dst.fill(0);
  copyAxisWindow(src, dims, axis, 0, dst, outSize, offset, n);
  return dst;
}

/**
 * Crops `src` along `axis` to `outSize` ≤ dims[axis], starting at `offset`
 * (default Gadgetron's crop offset ⌊(in − out)/2⌋). Returns `dst`.
 */
export function cropAxis(
  src: Float32Array,
  dims: readonly number[],
  axis: number,
  outSize: number,
  dst: Float32Array,
  offset = cropOffset(dims[axis] ?? 0, outSize),
): Float32Array {
  const what = 'crop along axis';
  checkAxis(dims, axis, what);
  checkComplexShape(src, dims, what);
  checkComplexShape(dst, withAxisSize(dims, axis, outSize), what);
  const n = dims[axis];
  if (outSize > n || offset < 0 || offset + outSize > n) {
    throw new RangeError(`Cannot ${what}: window of ${outSize} at offset ${offset} is outside ${n}`);
  }
  copyAxisWindow(src, dims, axis, offset, dst, outSize, 0, outSize);
  return dst;
}

/**
 * Resizes an image along `axis` in k-space: k = F_c(I) along `axis`, zero
 * pad (outSize > in, pad offset) or crop (outSize < in, crop offset) k, and
 * I' = F_c⁻¹(k'), multiplied by `scale`. Gadgetron's `zero_pad_resize` uses
 * scale = √(out/in), which keeps the intensity; its k-space crop in the FOV
 * adjustment uses scale 1. Returns a new array (or a copy when sizes agree).
 */
export function fourierResizeAxis(src: Float32Array, dims: readonly number[], axis: number, outSize: number, scale = 1): Float32Array {
  const what = 'resize along axis in k-space';
  checkAxis(dims, axis, what);
  checkComplexShape(src, dims, what);
  if (!Number.isInteger(outSize) || outSize < 1) throw new RangeError(`Cannot ${what}: size ${outSize} is not a positive integer`);
  const n = dims[axis];
  const outDims = withAxisSize(dims, axis, outSize);
  let out: Float32Array;
  if (outSize === n) {
    out = Float32Array.from(src);
  } else {
    const k = fftc(Float32Array.from(src), dims, [axis], false);
    out = new Float32Array(2 * count(outDims));
    if (outSize > n) padAxis(k, dims, axis, outSize, out);
    else cropAxis(k, dims, axis, outSize, out);
    fftc(out, outDims, [axis], true);
  }
  if (scale !== 1) for (let i = 0; i < out.length; i++) out[i] *= scale;
  return out;
}

/**
 * Crops the first three axes of an image to `outSizes` centrally (offsets
 * ⌊(in − out)/2⌋); axes already no larger are kept. Returns the new array and
 * dims — `src` itself when no axis is cropped (nothing is copied).
 */
export function cropImageCentre(
  src: Float32Array,
  dims: readonly number[],
  outSizes: readonly number[],
): { data: Float32Array; dims: number[] } {
  let data = src;
  let current = dims.slice();
  for (let axis = 0; axis < Math.min(3, outSizes.length, dims.length); axis++) {
    const target = outSizes[axis] as number;
    if (!(target >= 1) || target >= current[axis]) continue;
    const next = withAxisSize(current, axis, target);
    const dst = new Float32Array(2 * count(next));
    cropAxis(data, current, axis, target, dst);
    data = dst;
    current = next;
  }
  return { data, dims: current };
}

/**
 * The k-space zero-padding resize along `axis` as a linear operator:
 * A = √(out/in)·F_c⁻¹ P F_c, with P the zero padding at Gadgetron's pad
 * offset; Aᴴ = √(out/in)·F_c⁻¹ Pᵀ F_c (Pᵀ the crop at the same offset).
 */
export function fourierPadOperator(inDims: readonly number[], axis: number, outSize: number): LinearOperator {
  checkAxis(inDims, axis, 'build k-space padding operator');
  const n = inDims[axis];
  if (!(outSize >= n)) throw new RangeError(`Cannot build k-space padding operator: ${outSize} is below ${n}`);
  const inShape = inDims.slice();
  const outShape = withAxisSize(inDims, axis, outSize);
  const offset = padOffset(n, outSize);
  const scale = Math.sqrt(outSize / n);
  const op: LinearOperator = {
    name: 'k-space zero-padding resize',
    inShape,
    outShape,
    forward(x, y) {
      checkOperand(op, 'x', x, inShape);
      checkOperand(op, 'y', y, outShape);
      const k = fftc(Float32Array.from(x), inShape, [axis], false);
      padAxis(k, inShape, axis, outSize, y, offset);
      fftc(y, outShape, [axis], true);
      for (let i = 0; i < y.length; i++) y[i] *= scale;
      return y;
    },
    adjoint(y, x) {
      checkOperand(op, 'y', y, outShape);
      checkOperand(op, 'x', x, inShape);
      const k = fftc(Float32Array.from(y), outShape, [axis], false);
      cropAxis(k, outShape, axis, n, x, offset);
      fftc(x, inShape, [axis], true);
      for (let i = 0; i < x.length; i++) x[i] *= scale;
      return x;
    },
  };
  return op;
}
