/**
 * Pull-style reading of a socket with backpressure that, unlike `for await`
 * over the stream, does not destroy the socket when the reader stops early
 * (the session still has to write its final messages).
 */
import type { Duplex } from 'node:stream';

/**
 * Bytes a {@link SocketReader} buffers before it pauses the socket: enough
 * that a fast sender is not stopped and restarted every few frames (each
 * pause and resume is a system call, and the sender stalls meanwhile), small
 * enough for many sessions at once. (1 and 8 MiB measured the same on
 * loopback ingest: see docs/performance.md.)
 */
export const DEFAULT_READ_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Reads chunks on demand; the socket is paused while `highWaterBytes` are buffered. */
export class SocketReader {
  private readonly queue: Buffer[] = [];
  private queued = 0;
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  /** A wake-up of the waiting `next` scheduled for the end of this turn of the event loop. */
  private wakeScheduled: NodeJS.Immediate | undefined;

  constructor(private readonly socket: Duplex, private readonly highWaterBytes = DEFAULT_READ_HIGH_WATER_BYTES) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
  }

  /** The next chunk, or null at end of stream. Rejects if the socket failed. */
  async next(): Promise<Buffer | null> {
    for (;;) {
      const chunk = this.take();
      if (chunk !== undefined) return chunk;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /**
   * What {@link next} would give without waiting: a buffered chunk, null at
   * end of stream, undefined when nothing is buffered yet (then await
   * `next`). Throws if the socket failed. Lets a reader take the chunks that
   * are already there without a promise each.
   */
  take(): Buffer | null | undefined {
    const chunk = this.queue.shift();
    if (chunk) {
      this.queued -= chunk.byteLength;
      if (this.queued < this.highWaterBytes && this.socket.isPaused()) this.socket.resume();
      return chunk;
    }
    if (this.failure) throw this.failure;
    if (this.ended) return null;
    return undefined;
  }

  /** Makes `next` return null (end of stream) from now on, also a `next` already waiting; the socket stays open. */
  interrupt(): void {
    this.ended = true;
    this.queue.length = 0;
    this.queued = 0;
    this.notify();
  }

  /** Stops listening; the socket stays open. */
  detach(): void {
    if (this.wakeScheduled) clearImmediate(this.wakeScheduled);
    this.wakeScheduled = undefined;
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.queue.push(chunk);
    this.queued += chunk.byteLength;
    if (this.queued >= this.highWaterBytes) this.socket.pause();
    // One wake-up per turn of the event loop, not one per chunk: libuv reads
    // up to 32 chunks of a busy socket in one turn, and the reader takes them
    // all (`take`) after the last, with one promise instead of 32.
    if (this.wake && !this.wakeScheduled) {
      this.wakeScheduled = setImmediate(this.wakeNow);
    }
  };

  private readonly wakeNow = (): void => {
    this.wakeScheduled = undefined;
    this.notify();
  };

  private readonly onEnd = (): void => {
    this.ended = true;
    this.notify();
  };

  private readonly onError = (err: Error): void => {
    this.failure = err;
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
  }
}
