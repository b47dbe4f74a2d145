/**
 * Readout oversampling removal of one readout: a centred inverse FFT along
 * the readout, the central N' samples kept, a centred forward FFT (both
 * unitary: intensities and white-noise variance are preserved), then, when
 * given, a channel mix y = M·x of every sample (the prewhitening that
 * NoiseAdjust leaves to later gadgets; it commutes with the per-channel
 * transforms, and costs half as much after the crop).
 *
 * Used by RemoveROOversamplingGadget inline and by its compute-thread
 * batches (the same calls on the same shapes: the same bits on any thread).
 */
import { cgemm } from './blas.js';
import { copyBlocks } from './copy.js';
import { fftc, fftcFrom } from './fft.js';

/** Scratch arrays reused from readout to readout (one set per thread: module state). */
let work = new Float32Array(0);
let cropped = new Float32Array(0);

function area(which: 'work' | 'cropped', length: number): Float32Array {
  if (which === 'work') {
    if (work.length < length) work = new Float32Array(Math.max(length, 2 * work.length));
    return work.subarray(0, length);
  }
  if (cropped.length < length) cropped = new Float32Array(Math.max(length, 2 * cropped.length));
  return cropped.subarray(0, length);
}

/** The first sample kept when `samples` are cut down to `kept` about the centre. */
export function oversamplingCropStart(samples: number, kept: number): number {
  return Math.floor((samples - kept) / 2);
}

/**
 * Writes the central `kept` of `samples` samples of each of `channels`
 * channels of `raw` (samples fastest, interleaved complex) into `out`
 * (kept × channels), mixed by `mix` (channels × channels, column-major
 * interleaved complex float32) when given. `raw` is not changed.
 */
export function removeOversamplingInto(
  raw: Float32Array,
  samples: number,
  channels: number,
  kept: number,
  out: Float32Array,
  mix?: Float32Array,
): Float32Array {
  const n = 2 * samples * channels;
  if (raw.length < n || out.length < 2 * kept * channels || !(kept > 0) || kept > samples) {
    throw new RangeError(`Cannot remove oversampling: ${raw.length / 2} samples in, ${out.length / 2} out, for ${channels} channels of ${samples} → ${kept}`);
  }
  if (mix && mix.length !== 2 * channels * channels) {
    throw new RangeError(`Cannot apply a channel mix of ${Math.sqrt(mix.length / 2)} channels to readouts of ${channels}`);
  }
  const start = oversamplingCropStart(samples, kept);
  const w = area('work', n);
  // Out of place: the transform gathers the raw readout once (no copy into the scratch first).
  fftcFrom(raw.subarray(0, n), w, [samples, channels], [0], true);
  const dst = mix ? area('cropped', 2 * kept * channels) : out.subarray(0, 2 * kept * channels);
  copyBlocks(dst, 0, 2 * kept, w, 2 * start, 2 * samples, 2 * kept, channels);
  fftc(dst, [kept, channels], [0], false);
  if (mix) cgemm(kept, channels, channels, dst, mix, out, { opB: 'T' });
  return out;
}

const float32Mixes = new WeakMap<Float64Array, Float32Array>();

/** A channel mix (float64 interleaved complex, channels²) as the float32 matrix cgemm takes; converted once per matrix. */
export function float32ChannelMix(mix: Float64Array, channels: number): Float32Array {
  if (mix.length !== 2 * channels * channels) {
    throw new RangeError(`Cannot apply a channel mix of ${Math.sqrt(mix.length / 2)} channels to readouts of ${channels}`);
  }
  let m = float32Mixes.get(mix);
  if (!m) {
    m = Float32Array.from(mix);
    float32Mixes.set(mix, m);
  }
  return m;
}
