/**
 * AsymmetricEchoAdjustROGadget: zero-pads readouts with an asymmetric
 * (partial-Fourier) echo to the full encoded readout length M so that the
 * echo sits at ⌊M/2⌋. With c = center_sample and Ns = number_of_samples
 * (nothing to do when 2c = Ns, c ≥ Ns or Ns ≥ M):
 * - 2c < Ns (samples missing before the echo): data at [M − Ns, M),
 *   discard_pre = M − Ns, discard_post = 0;
 * - 2c > Ns (samples missing after the echo): data at [0, Ns),
 *   discard_pre = 0, discard_post = M − Ns;
 * then number_of_samples = M and center_sample = ⌊M/2⌋. The zero-filled
 * part is recorded by BucketToBuffer as the RO sampling limits, which the
 * partial-Fourier gadgets use. Noise readouts pass unchanged.
 */
import { defineMapGadget } from '../engine/gadget.js';
import { isAcquisition } from '../ismrmrd/messages.js';
import { AcqFlag, isFlagSet, type Acquisition } from '../ismrmrd/types.js';
import { pendingMixOf } from './pending-mix.js';

/**
 * Pads `acq` to `encodedSamples` (M) as described above; returns `acq`
 * itself when no adjustment applies.
 */
export function adjustAsymmetricEcho(acq: Acquisition, encodedSamples: number): Acquisition {
  const ns = acq.head.number_of_samples;
  const c = acq.head.center_sample;
  const m = encodedSamples;
  if (2 * c === ns || c >= ns || ns >= m || ns === 0) return acq;
  const channels = acq.head.active_channels;
  const pre = 2 * c < ns;
  const offset = pre ? m - ns : 0;
  const data = new Float32Array(2 * m * channels);
  for (let ch = 0; ch < channels; ch++) {
    data.set(acq.data.subarray(2 * ch * ns, 2 * (ch + 1) * ns), 2 * (ch * m + offset));
  }
  const d = acq.head.trajectory_dimensions;
  let traj = acq.traj;
  if (d > 0 && acq.traj.length === d * ns) {
    traj = new Float32Array(d * m);
    traj.set(acq.traj, d * offset);
  }
  return {
    kind: 'acquisition',
    head: {
      ...acq.head,
      number_of_samples: m,
      center_sample: m >> 1,
      discard_pre: pre ? m - ns : 0,
      discard_post: pre ? 0 : m - ns,
    },
    traj,
    data,
    ...pendingMixOf(acq),
  };
}

/** AsymmetricEchoAdjustROGadget (new-style in Gadgetron: no properties). */
export const asymmetricEchoAdjustROGadget = defineMapGadget({
  name: 'AsymmetricEchoAdjustROGadget',
  classNames: ['AsymmetricEchoAdjustROGadget'],
  properties: {},
  strict: false,
  description: 'Zero-pads asymmetric-echo readouts to the encoded readout length with the echo at the centre',
  accepts: isAcquisition,
  process(acq, _props, context) {
    if (isFlagSet(acq.head.flags, AcqFlag.IS_NOISE_MEASUREMENT)) return acq;
    const encodings = context.header?.encoding ?? [];
    const enc = encodings[acq.head.encoding_space_ref] ?? encodings[0];
    if (!enc) return acq;
    return adjustAsymmetricEcho(acq, enc.encodedSpace.matrixSize.x);
  },
});
