/**
 * Bulk copies and fills of float32 arrays that may lie in shared memory.
 * V8 copies between SharedArrayBuffers (`TypedArray.prototype.set`) and
 * fills them word by word with relaxed atomics, several times slower than
 * memcpy/memset; the native kernels do plain memcpy/memset. The TypeScript
 * fallbacks give the same result.
 */
import { nativeKernels, type NativeKernels } from './native.js';

type CopyBlocksKernel = (dst: Float32Array, dstStart: number, dstStride: number, src: Float32Array, srcStart: number, srcStride: number, length: number, count: number) => void;
type FillZeroKernel = (dst: Float32Array) => void;
type AddIntoKernel = (dst: Float32Array, dstStart: number, src: Float32Array, srcStart: number, length: number) => void;
type WeightedCopyKernel = (dst: Float32Array, dstStart: number, src: Float32Array, srcStart: number, length: number, w: number, weights: Float64Array, weightsStart: number) => void;
type WithCopies = NativeKernels & { copyBlocks?: CopyBlocksKernel; fillZero?: FillZeroKernel; addInto?: AddIntoKernel; weightedCopy?: WeightedCopyKernel };

/**
 * For k < count: dst[dstStart + k·dstStride + i] = src[srcStart + k·srcStride + i], i < length
 * (floats). Blocks must lie inside both arrays.
 */
export function copyBlocks(dst: Float32Array, dstStart: number, dstStride: number, src: Float32Array, srcStart: number, srcStride: number, length: number, count: number): void {
  if (count <= 0 || length <= 0) return;
  if (dstStart + (count - 1) * dstStride + length > dst.length || srcStart + (count - 1) * srcStride + length > src.length) {
    throw new RangeError(`Cannot copy ${count} blocks of ${length} floats: they do not fit the arrays (${src.length} → ${dst.length})`);
  }
  const native = (nativeKernels() as WithCopies | null)?.copyBlocks;
  if (native) {
    native(dst, dstStart, dstStride, src, srcStart, srcStride, length, count);
    return;
  }
  for (let k = 0; k < count; k++) dst.set(src.subarray(srcStart + k * srcStride, srcStart + k * srcStride + length), dstStart + k * dstStride);
}

/** Sets every float of `dst` to 0. */
export function fillZero(dst: Float32Array): void {
  const native = (nativeKernels() as WithCopies | null)?.fillZero;
  if (native) native(dst);
  else dst.fill(0);
}

/**
 * `dst.set(src, at)` with a native memcpy: for arrays in shared memory,
 * where V8 copies word by word (either side shared is enough).
 */
export function copyInto(dst: Float32Array, src: Float32Array, at = 0): void {
  if (at < 0 || at + src.length > dst.length) {
    throw new RangeError(`Cannot copy ${src.length} floats to offset ${at} of an array of ${dst.length}`);
  }
  copyBlocks(dst, at, 0, src, 0, 0, src.length, 1);
}

/**
 * dst[dstStart + i] += src[srcStart + i] for i < length (float32 sums: the
 * same bits natively and in TypeScript).
 */
export function addInto(dst: Float32Array, dstStart: number, src: Float32Array, srcStart: number, length: number): void {
  if (length <= 0) return;
  if (dstStart < 0 || srcStart < 0 || dstStart + length > dst.length || srcStart + length > src.length) {
    throw new RangeError(`Cannot add ${length} floats: they do not fit the arrays (${src.length} → ${dst.length})`);
  }
  const native = (nativeKernels() as WithCopies | null)?.addInto;
  if (native) {
    native(dst, dstStart, src, srcStart, length);
    return;
  }
  for (let i = 0; i < length; i++) dst[dstStart + i] = (dst[dstStart + i] as number) + (src[srcStart + i] as number);
}

/**
 * For i < length complex values: dst[dstStart + 2i + k] = src[srcStart + 2i + k]·(w·weights[weightsStart + i]),
 * k = 0, 1 (`dstStart` and `srcStart` in floats), the weight formed in float64 and each product rounded once to
 * float32: the same bits natively and in TypeScript.
 */
export function weightedCopy(dst: Float32Array, dstStart: number, src: Float32Array, srcStart: number, length: number, w: number, weights: Float64Array, weightsStart: number): void {
  if (length <= 0) return;
  if (dstStart < 0 || srcStart < 0 || weightsStart < 0 || dstStart + 2 * length > dst.length || srcStart + 2 * length > src.length || weightsStart + length > weights.length) {
    throw new RangeError(`Cannot copy ${length} weighted complex values: they do not fit the arrays (${src.length} → ${dst.length}, ${weights.length} weights)`);
  }
  const native = (nativeKernels() as WithCopies | null)?.weightedCopy;
  if (native) {
    native(dst, dstStart, src, srcStart, length, w, weights, weightsStart);
    return;
  }
  for (let i = 0; i < length; i++) {
    const f = w * (weights[weightsStart + i] as number);
    dst[dstStart + 2 * i] = (src[srcStart + 2 * i] as number) * f;
    dst[dstStart + 2 * i + 1] = (src[srcStart + 2 * i + 1] as number) * f;
  }
}
