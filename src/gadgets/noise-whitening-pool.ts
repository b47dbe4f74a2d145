/**
 * Noise prewhitening of readouts on the compute threads: readouts go in
 * batches in shared memory (`readout-batches.ts`) and are whitened on a worker (the same
 * `applyNoiseWhitening` per readout as inline, so the same bits) and sent on
 * in their input order (`readout-batches.ts`), with at most `inFlight`
 * batches outstanding.
 */
import type { Output } from '../engine/channel.js';
import type { ComputePool } from '../engine/thread-pool.js';
import type { Message } from '../ismrmrd/messages.js';
import type { Acquisition } from '../ismrmrd/types.js';
import type { NoiseWhiteningArgs } from './generic-recon-tasks.js';
import { ReadoutBatches, type ReadoutWork } from './readout-batches.js';

interface Whitening {
  samples: number;
  channels: number;
  matrix: Float64Array;
}

const whiteningWork: ReadoutWork<Whitening> = {
  task: 'noiseWhitening',
  key: (_acq, w) => w.matrix,
  inputFloats: (_acq, w) => 2 * w.samples * w.channels,
  outputFloats: (_acq, w) => 2 * w.samples * w.channels,
  args: (b): NoiseWhiteningArgs => ({
    inputs: [...b.inputs],
    out: b.out,
    outFloats: b.outFloats,
    offsets: [...b.outOffsets],
    samples: b.metas.map((w) => w.samples),
    channels: (b.metas[0] as Whitening).channels,
    matrix: (b.metas[0] as Whitening).matrix,
  }),
  result: (acq, _w, data) => ({ ...acq, data }),
};

/** Whitens readouts on a pool's workers and pushes them, in order, to `output`. */
export class PooledNoiseWhitening {
  private readonly batches: ReadoutBatches<Whitening>;

  constructor(pool: ComputePool, output: Output<Message>, batchSize = 16, inFlight = 2) {
    this.batches = new ReadoutBatches(pool, output, whiteningWork, { batchReadouts: batchSize, inFlight });
  }

  /** Queues one readout for whitening with `matrix` (channels × channels); may wait for earlier batches. */
  add(acq: Acquisition, samples: number, channels: number, matrix: Float64Array): Promise<void> {
    return this.batches.add(acq, { samples, channels, matrix });
  }

  /** Whitens and pushes everything queued. */
  flush(): Promise<void> {
    return this.batches.finish();
  }
}
