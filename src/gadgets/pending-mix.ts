/**
 * Channel mixes left pending along a chain, so that they are applied once to
 * a small array instead of to every readout:
 *
 * - NoiseAdjust's prewhitening y = M·x rides on the readouts
 *   (`Acquisition.pendingChannelMix`) through per-channel readout gadgets;
 * - with `channelMixToRecon`, BucketToBuffer places the readouts unmixed and
 *   hands M on (`ReconBit.pendingWhitening`, for data and reference);
 * - ReferencePrep whitens the prepared reference and turns M into a pending
 *   rotation of the data (`ReconBit.pendingRotation`, V = Mᵀ: block·V is
 *   the whitened block, with the readouts as rows);
 * - EigenChannel composes its rotation after it (V_w·V_klt), and GRAPPA
 *   folds the product into its unmixing weights.
 *
 * Anything that needs the mixed values themselves applies the mix here
 * ({@link whitenedBit}, {@link rotatedBit}).
 */
import type { DataBuffered, ReconBit } from '../ismrmrd/buffers.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { Acquisition } from '../ismrmrd/types.js';
import { cgemm } from '../kernels/blas.js';
import { float32ChannelMix } from '../kernels/readout-oversampling.js';
import { dims7 } from './generic-recon-base.js';

/** The pending-mix fields of a readout, for a gadget that makes a new readout from it and leaves the mix pending. */
export function pendingMixOf(acq: Acquisition): Pick<Acquisition, 'pendingChannelMix' | 'channelMixToRecon'> {
  if (!acq.pendingChannelMix) return {};
  return acq.channelMixToRecon ? { pendingChannelMix: acq.pendingChannelMix, channelMixToRecon: true } : { pendingChannelMix: acq.pendingChannelMix };
}

/** Mᵀ of a C × C complex matrix (column-major, interleaved): the rotation V with block·V = (M·xᵀ)ᵀ. */
export function transposedMix(mix: Float64Array, channels: number): Float64Array {
  const C = channels;
  if (mix.length !== 2 * C * C) throw new RangeError(`Cannot transpose a channel mix of ${Math.sqrt(mix.length / 2)} channels as one of ${C}`);
  const t = new Float64Array(2 * C * C);
  for (let j = 0; j < C; j++) {
    for (let i = 0; i < C; i++) {
      t[2 * (j + C * i)] = mix[2 * (i + C * j)] as number;
      t[2 * (j + C * i) + 1] = mix[2 * (i + C * j) + 1] as number;
    }
  }
  return t;
}

/** A·B of two C × C complex matrices (column-major, interleaved float64). */
export function multiplyMixes(a: Float64Array, b: Float64Array, channels: number): Float64Array {
  const C = channels;
  const out = new Float64Array(2 * C * C);
  for (let j = 0; j < C; j++) {
    for (let k = 0; k < C; k++) {
      const br = b[2 * (k + C * j)] as number;
      const bi = b[2 * (k + C * j) + 1] as number;
      for (let i = 0; i < C; i++) {
        const ar = a[2 * (i + C * k)] as number;
        const ai = a[2 * (i + C * k) + 1] as number;
        out[2 * (i + C * j)] = (out[2 * (i + C * j)] as number) + ar * br - ai * bi;
        out[2 * (i + C * j) + 1] = (out[2 * (i + C * j) + 1] as number) + ar * bi + ai * br;
      }
    }
  }
  return out;
}

/**
 * `a` with every (n, s, slc) block [RO·E1·E2 × C] multiplied by V_b (C × C;
 * `vectors[b]`, or the last one for b beyond them): a new array.
 */
export function rotateBlocks(a: ComplexArray, vectors: readonly Float64Array[]): ComplexArray {
  const [RO, E1, E2, C, N, S, SLC] = dims7(a, 'apply a pending channel mix');
  const points = RO * E1 * E2;
  const block = 2 * points * C;
  const out = new Float32Array(a.data.length);
  for (let b = 0; b < N * S * SLC; b++) {
    const V = vectors[Math.min(b, vectors.length - 1)];
    if (!V || V.length !== 2 * C * C) throw new RangeError(`Cannot apply a pending channel mix: block ${b} has no ${C} × ${C} matrix`);
    cgemm(points, C, C, a.data.subarray(block * b, block * (b + 1)), float32ChannelMix(V, C), out.subarray(block * b, block * (b + 1)));
  }
  return { data: out, dims: a.dims.slice() };
}

/** `buffer` whitened by M (y = M·x for every sample). */
export function whitenedBuffer(buffer: DataBuffered, mix: Float64Array): DataBuffered {
  const C = dims7(buffer.data, 'whiten')[3];
  return { ...buffer, data: rotateBlocks(buffer.data, [transposedMix(mix, C)]) };
}

/** The bit with its pending whitening applied to data and reference (nothing left pending). */
export function whitenedBit(bit: ReconBit): ReconBit {
  const mix = bit.pendingWhitening;
  if (!mix) return bit;
  if (bit.pendingRotation) throw new Error('Cannot apply a pending whitening: the buffer has a pending rotation too');
  const out: ReconBit = { data: whitenedBuffer(bit.data, mix) };
  if (bit.ref) out.ref = whitenedBuffer(bit.ref, mix);
  return out;
}

/** The bit with its pending rotation applied to the data (nothing left pending; the reference is as it was). */
export function rotatedBit(bit: ReconBit): ReconBit {
  if (bit.pendingWhitening) return rotatedBit(whitenedBit(bit));
  if (!bit.pendingRotation) return bit;
  const out: ReconBit = { data: { ...bit.data, data: rotateBlocks(bit.data.data, bit.pendingRotation.vectors) } };
  if (bit.ref) out.ref = bit.ref;
  return out;
}
