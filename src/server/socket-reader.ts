/**
 * Pull-style reading of a socket with backpressure that, unlike `for await`
 * over the stream, does not destroy the socket when the reader stops early
 * (the session still has to write its final messages).
 *
 * The bytes are handed to a `consume` function as they arrive (the session's
 * frame decoder), and what it makes of them is queued for the reader. On a
 * plain TCP socket that has not read yet, the reads go into one buffer of
 * the reader's own, reused for every read (see {@link ownReadBuffer});
 * otherwise the socket's 'data' chunks are consumed.
 */
import { Socket } from 'node:net';
import type { Duplex } from 'node:stream';

/**
 * Bytes a {@link SocketReader} lets queue (counted as the input they were
 * made from) before it pauses the socket: enough that a fast sender is not
 * stopped and restarted every few frames (each pause and resume is a system
 * call, and the sender stalls meanwhile), small enough for many sessions at
 * once. (1 and 8 MiB measured the same on loopback ingest: see docs/performance.md.)
 */
export const DEFAULT_READ_HIGH_WATER_BYTES = 4 * 1024 * 1024;

/** Size of the read buffer a {@link SocketReader} reads a plain TCP socket into: the most one read returns. */
export const DEFAULT_READ_BUFFER_BYTES = 1024 * 1024;

/**
 * Turns the next bytes of the stream into items, appended to `out`. The
 * bytes are valid only during the call (they may be the reused read buffer):
 * keep copies, not views. Throwing stops reading: the items appended before
 * are still delivered, then the error.
 */
export type Consume<T> = (bytes: Uint8Array, out: T[]) => void;

/** Options of a {@link SocketReader}. */
export interface SocketReaderOptions {
  /** See {@link DEFAULT_READ_HIGH_WATER_BYTES}. */
  highWaterBytes?: number;
  /** Size of the reused read buffer (0: always consume the socket's own 'data' chunks). */
  readBufferBytes?: number;
}

/** Items made from one piece of input, and its size. */
interface Batch<T> {
  items: T[];
  at: number;
  bytes: number;
}

/**
 * Reads items made from a socket's bytes on demand; the socket is paused
 * while the items queued were made from `highWaterBytes` or more.
 */
export class SocketReader<T> {
  private readonly queue: Batch<T>[] = [];
  private queued = 0;
  private paused = false;
  private ended = false;
  private detached = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;
  /** A wake-up of the waiting `next` scheduled for the end of this turn of the event loop. */
  private wakeScheduled: NodeJS.Immediate | undefined;
  private readonly highWaterBytes: number;
  /**
   * True when the socket reads into the reader's own buffer, reused for
   * every read: `consume` must then copy what it keeps (a frame decoder
   * without views).
   */
  readonly reusesReadBuffer: boolean;

  /**
   * `consume` is first called after the constructor returned, so it may
   * look at {@link reusesReadBuffer} to know what kind of bytes it gets.
   */
  constructor(private readonly socket: Duplex, private readonly consume: Consume<T>, options: SocketReaderOptions = {}) {
    this.highWaterBytes = options.highWaterBytes ?? DEFAULT_READ_HIGH_WATER_BYTES;
    const bufferBytes = options.readBufferBytes ?? DEFAULT_READ_BUFFER_BYTES;
    this.reusesReadBuffer = bufferBytes > 0 && ownReadBuffer(socket, bufferBytes, this.onRead);
    if (!this.reusesReadBuffer) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('close', this.onEnd);
    socket.on('error', this.onError);
    // a socket accepted with pauseOnConnect, or paused by whoever had it before, flows now
    socket.resume();
  }

  /** The next item, or null at end of stream. Rejects if the socket or `consume` failed. */
  async next(): Promise<T | null> {
    for (;;) {
      const item = this.take();
      if (item !== undefined) return item;
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }

  /**
   * What {@link next} would give without waiting: a queued item, null at end
   * of stream, undefined when nothing is queued yet (then await `next`).
   * Throws if the socket or `consume` failed, once the items made before
   * that are taken. Lets a reader take the items that are already there
   * without a promise each.
   */
  take(): T | null | undefined {
    const batch = this.queue[0];
    if (batch) {
      const item = batch.items[batch.at] as T;
      batch.at += 1;
      if (batch.at === batch.items.length) {
        this.queue.shift();
        this.queued -= batch.bytes;
        if (this.paused && this.queued < this.highWaterBytes && !this.failure && !this.ended) {
          this.paused = false;
          this.socket.resume();
        }
      }
      return item;
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

  /**
   * Stops listening; the socket stays open. With the reader's own buffer the
   * socket keeps reading into it, and what arrives from now on is dropped
   * (once resumed), as 'data' chunks nobody listens to are.
   */
  detach(): void {
    this.detached = true;
    if (this.wakeScheduled) clearImmediate(this.wakeScheduled);
    this.wakeScheduled = undefined;
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('close', this.onEnd);
    this.socket.off('error', this.onError);
  }

  private readonly onData = (chunk: Buffer): void => {
    this.onRead(chunk);
  };

  /** Consumes the bytes of one read; false pauses the socket (the own-buffer read callback's contract). */
  private readonly onRead = (bytes: Uint8Array): boolean => {
    if (this.detached || this.ended || this.failure) return true;
    const items: T[] = [];
    try {
      this.consume(bytes, items);
    } catch (err) {
      this.failure = err instanceof Error ? err : new Error(String(err));
    }
    if (items.length > 0) {
      this.queue.push({ items, at: 0, bytes: bytes.byteLength });
      this.queued += bytes.byteLength;
    }
    if ((this.queued >= this.highWaterBytes || this.failure) && !this.paused) {
      this.paused = true;
      this.socket.pause();
    }
    // One wake-up per turn of the event loop, not one per read: libuv reads
    // up to 32 times from a busy socket in one turn, and the reader takes
    // what they made (`take`) after the last, with one promise instead of 32.
    if (this.wake && !this.wakeScheduled && (items.length > 0 || this.failure)) {
      this.wakeScheduled = setImmediate(this.wakeNow);
    }
    return true;
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
    this.failure ??= err;
    this.notify();
  };

  private notify(): void {
    const wake = this.wake;
    this.wake = undefined;
    if (wake) wake();
  }
}

/** What Node's `onread` option of `net.Socket` sets up, found on an accepted socket. */
interface UserBufferHooks {
  handle: { useUserBuffer(buffer: Uint8Array): void };
  buffer: symbol;
  callback: symbol;
}

/**
 * The hooks behind `net.Socket`'s `onread` option (reads into a buffer of
 * the caller's, handed to a callback instead of 'data' events) on a plain
 * TCP socket that has not read anything yet, or undefined. Node offers
 * `onread` only to sockets it creates for `connect`, not to those a
 * `net.Server` accepts; its parts are the handle's `useUserBuffer` and two
 * symbol-keyed fields of the socket, looked up by their descriptions.
 * Anything unexpected (another Node, a TLS socket, a socket that already
 * read or that others read from) gives undefined, and the reader uses
 * 'data' events.
 */
function userBufferHooks(socket: Duplex): UserBufferHooks | undefined {
  if (!(socket instanceof Socket) || Object.getPrototypeOf(socket) !== Socket.prototype) return undefined;
  if (socket.bytesRead !== 0 || socket.readableLength !== 0 || socket.destroyed || socket.connecting) return undefined;
  // someone else listening for 'data' would get nothing once reads go to the callback
  if (socket.listenerCount('data') > 0 || socket.listenerCount('readable') > 0) return undefined;
  const handle = (socket as unknown as { _handle?: { useUserBuffer?: unknown } })._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function') return undefined;
  const fields = new Map<string, symbol>();
  for (const key of Object.getOwnPropertySymbols(socket)) {
    if (key.description !== undefined) fields.set(key.description, key);
  }
  const buffer = fields.get('kBuffer');
  const callback = fields.get('kBufferCb');
  const generator = fields.get('kBufferGen');
  if (!buffer || !callback || !generator) return undefined;
  const record = socket as unknown as Record<symbol, unknown>;
  // unset as Node leaves a socket without `onread`
  if (record[buffer] !== null || record[callback] !== null || record[generator] !== null) return undefined;
  return { handle: handle as UserBufferHooks['handle'], buffer, callback };
}

/**
 * Makes `socket` read into one buffer of `bytes` bytes, reused for every
 * read, and call `onRead` with the bytes of each read (as `onread` does);
 * false where that is not possible (see {@link userBufferHooks}).
 */
function ownReadBuffer(socket: Duplex, bytes: number, onRead: (bytes: Uint8Array) => boolean): boolean {
  const hooks = userBufferHooks(socket);
  if (!hooks) return false;
  const buffer = new Uint8Array(bytes);
  const record = socket as unknown as Record<symbol, unknown>;
  record[hooks.buffer] = buffer;
  record[hooks.callback] = (nread: number, into: Uint8Array): boolean => onRead(into.subarray(0, nread));
  hooks.handle.useUserBuffer(buffer);
  return true;
}
