/**
 * RemoveROOversamplingGadget: removes readout oversampling by a centred
 * inverse FFT along the readout, cropping the central N' = ⌊Ns/r⌋ samples
 * (r = encoded FOV x / recon FOV x) and a forward FFT. Both transforms are
 * unitary, so image intensities and white-noise variance are preserved.
 *
 * A prewhitening that NoiseAdjust left pending (`pendingChannelMix`) is
 * applied here, after the crop (half the samples to mix), unless it is left
 * to the recon chain (`channelMixToRecon`, src/gadgets/pending-mix.ts). With compute
 * threads, readouts go to them in batches (`readout-batches.ts`), in order,
 * so the event-loop thread keeps reading and placing data; the bits are
 * those of the inline path.
 */
import { defineGadget } from '../engine/gadget.js';
import type { GadgetContext } from '../engine/gadget.js';
import { isAcquisition, type Message } from '../ismrmrd/messages.js';
import { float32ChannelMix, oversamplingCropStart, removeOversamplingInto } from '../kernels/readout-oversampling.js';
import { NO_TRAJECTORY, type Acquisition } from '../ismrmrd/types.js';
import { sharedFloat32 } from '../engine/thread-pool.js';
import { reconPool, type OversamplingRemovalArgs } from './generic-recon-tasks.js';
import { ReadoutBatches, type ReadoutWork } from './readout-batches.js';

/** Samples kept of a readout, and the channel mix to apply. */
interface Removal {
  kept: number;
  mix: Float32Array | undefined;
}

/** The readout with its oversampling removed: header, trajectory and `data` (kept × channels, already mixed). */
function removedReadout(acq: Acquisition, r: number, kept: number, data: Float32Array): Acquisition {
  const ns = acq.head.number_of_samples;
  const start = oversamplingCropStart(ns, kept);
  const d = acq.head.trajectory_dimensions;
  const traj = d > 0 ? acq.traj.slice(d * start, d * (start + kept)) : NO_TRAJECTORY;
  const head = {
    ...acq.head,
    number_of_samples: kept,
    center_sample: Math.trunc(acq.head.center_sample / r),
    discard_pre: Math.trunc(acq.head.discard_pre / r),
    discard_post: Math.trunc(acq.head.discard_post / r),
  };
  // A mix left to the recon chain rides on (pending-mix.ts); any other was applied here. Each shape written out
  // whole, not spread: the readout then keeps its fields in the object itself (no separate property store).
  return acq.channelMixToRecon && acq.pendingChannelMix
    ? { kind: 'acquisition', head, traj, data, pendingChannelMix: acq.pendingChannelMix, channelMixToRecon: true }
    : { kind: 'acquisition', head, traj, data };
}

function removalOf(acq: Acquisition, r: number): Removal {
  const mix = acq.pendingChannelMix && !acq.channelMixToRecon ? float32ChannelMix(acq.pendingChannelMix, acq.head.active_channels) : undefined;
  return { kept: Math.floor(acq.head.number_of_samples / r), mix };
}

/**
 * Removes oversampling from one readout by ratio `r` (and applies a pending
 * channel mix); returns a new acquisition (the input is not changed).
 */
export function removeReadoutOversampling(acq: Acquisition, r: number, allocate: (floats: number) => Float32Array = (n) => new Float32Array(n)): Acquisition {
  const { kept, mix } = removalOf(acq, r);
  const channels = acq.head.active_channels;
  const out = removeOversamplingInto(acq.data, acq.head.number_of_samples, channels, kept, allocate(2 * kept * channels), mix);
  return removedReadout(acq, r, kept, out);
}

/** Floats per shared slab that readouts are cut from (4 MiB). */
const SLAB_FLOATS = 1 << 20;

/**
 * Cuts arrays from shared-memory slabs, so that compute threads can read the
 * readouts made on this thread too (BucketToBuffer's placement); a slab is
 * freed by the GC with the last readout in it (`sharedFloat32` makes it
 * known to the GC).
 */
function sharedSlabs(): (floats: number) => Float32Array {
  let slab: Float32Array = new Float32Array(0);
  let at = 0;
  return (floats) => {
    if (floats > SLAB_FLOATS) return sharedFloat32(floats);
    if (at + floats > slab.length) {
      slab = sharedFloat32(SLAB_FLOATS);
      at = 0;
    }
    const view = slab.subarray(at, at + floats);
    at += floats;
    return view;
  };
}

/** Oversampling ratio r for `acq`, or undefined when nothing is to be removed. */
function oversamplingRatio(acq: Acquisition, context: GadgetContext): number | undefined {
  const encodings = context.header?.encoding ?? [];
  const enc = encodings[acq.head.encoding_space_ref] ?? encodings[0];
  if (!enc) return undefined;
  const encX = enc.encodedSpace.matrixSize.x;
  const recX = enc.reconSpace.matrixSize.x;
  const encFov = enc.encodedSpace.fieldOfView_mm.x;
  const recFov = enc.reconSpace.fieldOfView_mm.x;
  if (encX === recX && encFov === recFov) return undefined;
  if (!(recFov > 0) || !(encFov > 0)) return undefined;
  const r = encFov / recFov;
  if (!(r > 1) || acq.head.number_of_samples === 0) return undefined;
  return r;
}

/** A readout's removal on the compute threads. */
interface PooledRemoval extends Removal {
  r: number;
}

const pooledRemoval: ReadoutWork<PooledRemoval> = {
  task: 'removeOversampling',
  key: (acq, m) => (m.mix ? m.mix : acq.head.active_channels),
  inputFloats: (acq) => 2 * acq.head.number_of_samples * acq.head.active_channels,
  outputFloats: (acq, m) => 2 * m.kept * acq.head.active_channels,
  args: (b): OversamplingRemovalArgs => ({
    inputs: b.inputs,
    out: b.out,
    outFloats: b.outFloats,
    outOffsets: b.outOffsets,
    samples: b.acqs.map((a) => a.head.number_of_samples),
    kept: b.metas.map((m) => m.kept),
    channels: (b.acqs[0] as Acquisition).head.active_channels,
    mix: b.metas[0]?.mix ?? null,
  }),
  result: (acq, m, data) => removedReadout(acq, m.r, m.kept, data),
};

/**
 * Input floats done inline before readouts go to the compute threads: a small
 * scan (one 256² image of 8 coils is 8 MiB) is finished before a worker
 * thread would have started.
 */
const INLINE_FLOATS = 8 << 20;

export const removeROOversamplingGadget = defineGadget({
  name: 'RemoveROOversamplingGadget',
  classNames: ['RemoveROOversamplingGadget'],
  properties: {},
  strict: false,
  description: 'Removes readout oversampling (encoded vs recon FOV in x) with a centred FFT crop',
  // Every message comes in, so that those passed on keep their place among the readouts batched on the compute threads.
  accepts: (m: Message): m is Message => true,
  async run(input, output, _props, context) {
    const pool = reconPool();
    const batches = pool.workers > 0 ? new ReadoutBatches(pool, output, pooledRemoval) : undefined;
    // With compute threads, readouts made here go to shared slabs too, so that the threads can place them. (Not with
    // one thread: fresh shared slabs cost page faults that malloc's reused small blocks do not.)
    const allocate = pool.workers > 0 ? sharedSlabs() : undefined;
    let inlineFloats = 0;
    for await (const m of input) {
      const r = isAcquisition(m) ? oversamplingRatio(m, context) : undefined;
      if (r === undefined || !isAcquisition(m)) {
        if (batches) await batches.pass(m);
        else await output.push(m);
      } else if (batches && inlineFloats >= INLINE_FLOATS) {
        await batches.add(m, { ...removalOf(m, r), r });
      } else {
        inlineFloats += m.data.length;
        await output.push(removeReadoutOversampling(m, r, allocate));
      }
    }
    await batches?.finish();
  },
});
