/**
 * Noise prewhitening of readouts on the compute threads: readouts are
 * packed in batches into shared memory, whitened on a worker (the same
 * `applyNoiseWhitening` per readout as inline, so the same bits) and sent on
 * in their input order, with at most `inFlight` batches outstanding.
 */
import type { Output } from '../engine/channel.js';
import { sharedFloat32, type ComputePool } from '../engine/thread-pool.js';
import type { Message } from '../ismrmrd/messages.js';
import type { Acquisition } from '../ismrmrd/types.js';
import type { NoiseWhiteningArgs } from './generic-recon-tasks.js';

interface Batch {
  acqs: Acquisition[];
  done: Promise<Float32Array[]>;
}

/** Whitens readouts on a pool's workers and pushes them, in order, to `output`. */
export class PooledNoiseWhitening {
  private current: { acq: Acquisition; samples: number }[] = [];
  private matrix: Float64Array | undefined;
  private channels = 0;
  private readonly pending: Batch[] = [];

  constructor(private readonly pool: ComputePool, private readonly output: Output<Message>, private readonly batchSize = 16, private readonly inFlight = 2) {}

  /** Queues one readout for whitening with `matrix` (channels × channels); may wait for earlier batches. */
  async add(acq: Acquisition, samples: number, channels: number, matrix: Float64Array): Promise<void> {
    if (this.current.length > 0 && (matrix !== this.matrix || channels !== this.channels)) this.dispatch();
    this.matrix = matrix;
    this.channels = channels;
    this.current.push({ acq, samples });
    if (this.current.length >= this.batchSize) this.dispatch();
    while (this.pending.length > this.inFlight) await this.sendFirst();
  }

  /** Whitens and pushes everything queued. */
  async flush(): Promise<void> {
    this.dispatch();
    while (this.pending.length > 0) await this.sendFirst();
  }

  private dispatch(): void {
    if (this.current.length === 0) return;
    const batch = this.current;
    this.current = [];
    const offsets: number[] = [];
    let total = 0;
    for (const { samples } of batch) {
      offsets.push(total);
      total += 2 * samples * this.channels;
    }
    const input = sharedFloat32(total);
    const out = sharedFloat32(total);
    batch.forEach(({ acq, samples }, k) => input.set(acq.data.subarray(0, 2 * samples * this.channels), offsets[k]));
    const args: NoiseWhiteningArgs = { input, out, offsets, samples: batch.map((b) => b.samples), channels: this.channels, matrix: this.matrix as Float64Array };
    const done = this.pool.run<null>('noiseWhitening', args, { urgent: true }).then(() => batch.map(({ samples }, k) => out.subarray(offsets[k] as number, (offsets[k] as number) + 2 * samples * this.channels)));
    done.catch(() => undefined);
    this.pending.push({ acqs: batch.map((b) => b.acq), done });
  }

  private async sendFirst(): Promise<void> {
    const batch = this.pending.shift() as Batch;
    const data = await batch.done;
    for (let k = 0; k < batch.acqs.length; k++) await this.output.push({ ...(batch.acqs[k] as Acquisition), data: data[k] as Float32Array });
  }
}
