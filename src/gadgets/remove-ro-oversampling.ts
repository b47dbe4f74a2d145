/**
 * RemoveROOversamplingGadget: removes readout oversampling by a centred
 * inverse FFT along the readout, cropping the central N' = ⌊Ns/r⌋ samples
 * (r = encoded FOV x / recon FOV x) and a forward FFT. Both transforms are
 * unitary, so image intensities and white-noise variance are preserved.
 */
import { defineMapGadget } from '../engine/gadget.js';
import { isAcquisition } from '../ismrmrd/messages.js';
import { fftc } from '../kernels/index.js';
import type { Acquisition } from '../ismrmrd/types.js';

/** Scratch for the inverse transform, reused from readout to readout (one per thread: module state). */
let scratch = new Float32Array(0);

function workArea(length: number): Float32Array {
  if (scratch.length < length) scratch = new Float32Array(Math.max(length, 2 * scratch.length));
  return scratch.subarray(0, length);
}

/** Removes oversampling from one readout by ratio `r`; returns a new acquisition (the input is not changed). */
export function removeReadoutOversampling(acq: Acquisition, r: number): Acquisition {
  const ns = acq.head.number_of_samples;
  const channels = acq.head.active_channels;
  const nsOut = Math.floor(ns / r);
  const start = Math.floor((ns - nsOut) / 2);
  // The inverse FFT runs on a reused scratch copy: only the cropped output is a new allocation.
  const work = workArea(acq.data.length);
  work.set(acq.data);
  fftc(work, [ns, channels], [0], true);
  const out = new Float32Array(2 * nsOut * channels);
  for (let c = 0; c < channels; c++) {
    out.set(work.subarray(2 * (c * ns + start), 2 * (c * ns + start + nsOut)), 2 * c * nsOut);
  }
  fftc(out, [nsOut, channels], [0], false);
  const d = acq.head.trajectory_dimensions;
  const traj = d > 0 ? acq.traj.slice(d * start, d * (start + nsOut)) : new Float32Array(0);
  return {
    kind: 'acquisition',
    head: {
      ...acq.head,
      number_of_samples: nsOut,
      center_sample: Math.trunc(acq.head.center_sample / r),
      discard_pre: Math.trunc(acq.head.discard_pre / r),
      discard_post: Math.trunc(acq.head.discard_post / r),
    },
    traj,
    data: out,
    ...(acq.pendingChannelMix ? { pendingChannelMix: acq.pendingChannelMix } : {}),
  };
}

export const removeROOversamplingGadget = defineMapGadget({
  name: 'RemoveROOversamplingGadget',
  classNames: ['RemoveROOversamplingGadget'],
  properties: {},
  strict: false,
  description: 'Removes readout oversampling (encoded vs recon FOV in x) with a centred FFT crop',
  accepts: isAcquisition,
  process(acq, _props, context) {
    const encodings = context.header?.encoding ?? [];
    const enc = encodings[acq.head.encoding_space_ref] ?? encodings[0];
    if (!enc) return acq;
    const encX = enc.encodedSpace.matrixSize.x;
    const recX = enc.reconSpace.matrixSize.x;
    const encFov = enc.encodedSpace.fieldOfView_mm.x;
    const recFov = enc.reconSpace.fieldOfView_mm.x;
    if (encX === recX && encFov === recFov) return acq;
    if (!(recFov > 0) || !(encFov > 0)) return acq;
    const r = encFov / recFov;
    if (!(r > 1) || acq.head.number_of_samples === 0) return acq;
    return removeReadoutOversampling(acq, r);
  },
});
