/**
 * Per-pixel channel sums, the inner product of GRAPPA unmixing and coil
 * combination: dst(p) = scale·Σ_{c < channels} op(u_c(p))·a_c(p), op = conj
 * or identity, over `channels` planes of `vol` interleaved complex float32
 * values. Each pixel's sum runs over the channels in order in float64 as
 * acc = (acc + ur·ar) − ui·ai, (acc + ur·ai) + ui·ar, then is scaled and
 * rounded once; the native addon (`channelSum` in native/src/gantry_kernels.c)
 * evaluates the same expression, so both give the same bits.
 */
import { nativeKernels } from './native.js';

/** Pixels per block of the TypeScript loop: the accumulators (16 KiB) stay in L1 while the channel planes stream by. */
const BLOCK = 1024;

/** Reused accumulators of the TypeScript loop. */
const accRe = new Float64Array(BLOCK);
const accIm = new Float64Array(BLOCK);

/** Throws unless `u` and `a` hold `channels` planes of `vol` complex values. */
function checkOperands(u: Float32Array, a: Float32Array, vol: number, channels: number): void {
  if (!Number.isInteger(vol) || !Number.isInteger(channels) || vol < 0 || channels < 0) {
    throw new RangeError(`Cannot sum over channels: ${channels} channels of ${vol} values`);
  }
  if (u.length < 2 * vol * channels || a.length < 2 * vol * channels) {
    throw new RangeError(`Cannot sum over ${channels} channels: an operand holds fewer than ${channels} × ${vol} complex values`);
  }
}

/**
 * dst(p) = scale·Σ_{c < channels} op(u_c(p))·a_c(p) with op = conj when
 * `conjU`; `u` and `a` hold at least `channels` planes of `vol` complex
 * values, `dst` at least `vol`. Returns `dst`.
 */
export function channelSum(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, scale: number, dst: Float32Array): Float32Array {
  checkOperands(u, a, vol, channels);
  if (dst.length < 2 * vol) throw new RangeError(`Cannot sum over channels: the destination holds fewer than ${vol} complex values`);
  const native = nativeKernels();
  if (native) {
    native.channelSum(u, a, vol, channels, conjU, scale, dst);
    return dst;
  }
  return channelSumPortable(u, a, vol, channels, conjU, scale, dst);
}

/** {@link channelSum} in TypeScript (the fallback of the native addon; arguments unchecked). */
export function channelSumPortable(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, scale: number, dst: Float32Array): Float32Array {
  const su = conjU ? -1 : 1;
  for (let p0 = 0; p0 < vol; p0 += BLOCK) {
    const n = Math.min(BLOCK, vol - p0);
    accRe.fill(0, 0, n);
    accIm.fill(0, 0, n);
    for (let c = 0; c < channels; c++) {
      const base = 2 * (vol * c + p0);
      for (let i = 0; i < n; i++) {
        const ur = u[base + 2 * i] as number;
        const ui = su * (u[base + 2 * i + 1] as number);
        const ar = a[base + 2 * i] as number;
        const ai = a[base + 2 * i + 1] as number;
        accRe[i] = (accRe[i] as number) + ur * ar - ui * ai;
        accIm[i] = (accIm[i] as number) + ur * ai + ui * ar;
      }
    }
    for (let i = 0; i < n; i++) {
      dst[2 * (p0 + i)] = (accRe[i] as number) * scale;
      dst[2 * (p0 + i) + 1] = (accIm[i] as number) * scale;
    }
  }
  return dst;
}

/**
 * The sums of {@link channelSum} continued in a float64 accumulator `acc`
 * (at least `vol` interleaved complex values): acc(p) += Σ_{c < channels}
 * op(u_c(p))·a_c(p). Channels given in consecutive pieces, then
 * {@link finishChannelSum}, give the bits of one {@link channelSum} call.
 */
export function channelSumInto(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, acc: Float64Array): Float64Array {
  checkOperands(u, a, vol, channels);
  if (acc.length < 2 * vol) throw new RangeError(`Cannot sum over channels: the accumulator holds fewer than ${vol} complex values`);
  const native = nativeKernels();
  if (native) {
    native.channelSumInto(u, a, vol, channels, conjU, acc);
    return acc;
  }
  return sumInto(u, a, vol, channels, conjU, acc, vol, vol);
}

/**
 * {@link channelSumInto} over `vol` values of planes that lie `uStride` and
 * `aStride` complex values apart in `u` and `a` (each ≥ vol): a run of rows
 * of a larger plane, say. The same sums, so the same bits.
 */
export function channelSumStrided(
  u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, acc: Float64Array, uStride: number, aStride: number,
): Float64Array {
  if (!Number.isInteger(vol) || !Number.isInteger(channels) || vol < 0 || channels < 0 || !(uStride >= vol) || !(aStride >= vol)) {
    throw new RangeError(`Cannot sum over channels: ${channels} channels of ${vol} values, channel strides ${uStride} and ${aStride}`);
  }
  if (channels > 0 && (u.length < 2 * (uStride * (channels - 1) + vol) || a.length < 2 * (aStride * (channels - 1) + vol))) {
    throw new RangeError(`Cannot sum over ${channels} channels: an operand is too short for its channel stride`);
  }
  if (acc.length < 2 * vol) throw new RangeError(`Cannot sum over channels: the accumulator holds fewer than ${vol} complex values`);
  const native = nativeKernels()?.channelSumStrided;
  if (native) {
    native(u, a, vol, channels, conjU, acc, uStride, aStride);
    return acc;
  }
  return sumInto(u, a, vol, channels, conjU, acc, uStride, aStride);
}

function sumInto(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, acc: Float64Array, uStride: number, aStride: number): Float64Array {
  const su = conjU ? -1 : 1;
  for (let c = 0; c < channels; c++) {
    const ub = 2 * uStride * c;
    const ab = 2 * aStride * c;
    for (let p = 0; p < vol; p++) {
      const ur = u[ub + 2 * p] as number;
      const ui = su * (u[ub + 2 * p + 1] as number);
      const ar = a[ab + 2 * p] as number;
      const ai = a[ab + 2 * p + 1] as number;
      acc[2 * p] = (acc[2 * p] as number) + ur * ar - ui * ai;
      acc[2 * p + 1] = (acc[2 * p + 1] as number) + ur * ai + ui * ar;
    }
  }
  return acc;
}

/** dst(p) = scale·acc(p), rounded once to float32 (the end of {@link channelSum}). */
export function finishChannelSum(acc: Float64Array, vol: number, scale: number, dst: Float32Array): Float32Array {
  if (acc.length < 2 * vol || dst.length < 2 * vol) throw new RangeError(`Cannot finish a channel sum: an array holds fewer than ${vol} complex values`);
  for (let i = 0; i < 2 * vol; i++) dst[i] = (acc[i] as number) * scale;
  return dst;
}
