/**
 * A bound on how many slices' data one pipeline holds at once.
 *
 * A slice arrives as a bucket of readouts (126 MB for a 32-channel real-time
 * cine slice), becomes a recon buffer (300 MB) and leaves as images of a few
 * MB. Channels bound the number of messages between steps, not their size, so
 * when the readouts come faster than the reconstruction (a file read offline,
 * a fast client) several slices' buffers would queue between the gadgets.
 *
 * Tokens: a gadget that makes a bucket or recon buffer (`isSliceMessage`)
 * out of other input (readouts gathered into a bucket) takes a token for it,
 * waiting while `limit` are out. A gadget that received a slice message
 * passes its token on with the first slice message it emits (reference
 * preparation, coil compression: one slice in, one out) and needs none for
 * more (BucketToBuffer splitting a bucket by slice), so a token is never
 * waited for by a gadget that the holders of the tokens are waiting for. A
 * gadget gives back the tokens of the messages it received when it asks for
 * its next input (it is done with them: GRAPPA, having sent the images), or
 * when it ends. A token also comes back when its message leaves the chain or
 * enters a step that is not a gadget. Waiting is bounded by `maxWaitMs`: the
 * limit shapes memory and never stops a session.
 */
import type { Message } from '../ismrmrd/messages.js';

/** Messages that carry a whole slice's data. */
export function isSliceMessage(message: Message): boolean {
  return message.kind === 'bucket' || message.kind === 'recondata';
}

/** Default number of slices a chain holds at once: one being reconstructed, the next being buffered. */
export const DEFAULT_SLICES_IN_FLIGHT = 2;

export class SliceBudget {
  private used = 0;
  private closed = false;
  private readonly waiting = new Set<() => void>();
  private readonly carrying = new WeakSet<Message>();

  /**
   * @param limit slices held at once (≥ 1)
   * @param maxWaitMs longest wait for a token; then the slice goes on without one
   */
  constructor(readonly limit = DEFAULT_SLICES_IN_FLIGHT, readonly maxWaitMs = 10_000) {
    if (!(Number.isInteger(limit) && limit >= 1)) throw new RangeError(`Cannot bound slices in flight to ${limit}: use an integer ≥ 1`);
  }

  /** Tokens out now. */
  get inUse(): number {
    return this.used;
  }

  /** Takes a token for `message`, waiting while the limit is reached (at most `maxWaitMs`, or until `close`). */
  async acquire(message: Message): Promise<void> {
    const deadline = performance.now() + this.maxWaitMs;
    while (!this.closed && this.used >= this.limit) {
      const left = deadline - performance.now();
      if (left <= 0) break;
      await new Promise<void>((resolve) => {
        const timer = setTimeout(done, left);
        function done(): void {
          clearTimeout(timer);
          waiting.delete(done);
          resolve();
        }
        const waiting = this.waiting;
        waiting.add(done);
      });
    }
    this.used += 1;
    this.carrying.add(message);
  }

  /** Passes a token the caller holds on to `message`. */
  handOver(message: Message): void {
    this.carrying.add(message);
  }

  /** True when `message` carries a token, which the caller now holds (the message no longer does). */
  take(message: Message): boolean {
    return this.carrying.delete(message);
  }

  /** Gives back `n` tokens. */
  release(n = 1): void {
    if (n <= 0) return;
    this.used = Math.max(0, this.used - n);
    for (const wake of [...this.waiting].slice(0, n)) wake();
  }

  /** Gives the token of `message` back if it carries one. */
  releaseCarried(message: Message): void {
    if (this.take(message)) this.release();
  }

  /** Stops all waiting, now and later (the chain failed or ended). */
  close(): void {
    this.closed = true;
    for (const wake of [...this.waiting]) wake();
  }
}
