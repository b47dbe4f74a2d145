/**
 * Bounded, async-iterable channels with backpressure: `push` waits while the
 * channel is full, so a slow consumer slows the producer all the way back to
 * the socket. A channel closes cleanly (iteration ends) or with an error
 * (iteration throws it).
 */

/** Thrown by `push` on a channel that was closed. */
export class ChannelClosedError extends Error {
  override readonly name = 'ChannelClosedError';
  readonly code = 'CHANNEL_CLOSED';
  constructor(cause?: unknown) {
    super('Cannot push to a closed channel', cause === undefined ? undefined : { cause });
  }
}

/** Anything messages can be pushed into. */
export interface Output<T> {
  push(value: T): Promise<void>;
}

/** A bounded FIFO channel. */
export class Channel<T> implements AsyncIterable<T>, Output<T> {
  private readonly items: T[] = [];
  private head = 0;
  private closed = false;
  private discarding = false;
  private error: unknown = undefined;
  private readonly waitingPushers: Array<() => void> = [];
  /** Pushes not finished yet (waiting, or woken and about to add): `offer` never overtakes them. */
  private pushing = 0;
  private waitingReader: (() => void) | undefined;

  constructor(readonly capacity = 16) {
    if (!(capacity >= 1)) throw new RangeError(`Cannot create a channel of capacity ${capacity}`);
  }

  /** Number of buffered items. */
  get size(): number {
    return this.items.length - this.head;
  }

  /** True once `close` was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Adds a value, waiting while the channel is full. Rejects once the channel is closed. */
  async push(value: T): Promise<void> {
    this.pushing += 1;
    try {
      while (!this.closed && !this.discarding && this.size >= this.capacity) {
        await new Promise<void>((resolve) => this.waitingPushers.push(resolve));
      }
      if (this.discarding) return;
      if (this.closed) throw new ChannelClosedError(this.error);
      this.items.push(value);
      this.wakeReader();
    } finally {
      this.pushing -= 1;
    }
  }

  /**
   * Adds a value at once when there is room and no push is under way,
   * without a promise; returns false otherwise (full, closed, or a push not
   * finished): then use `push`, which keeps the order.
   */
  offer(value: T): boolean {
    if (this.discarding) return true;
    if (this.closed || this.size >= this.capacity || this.pushing > 0) return false;
    this.items.push(value);
    this.wakeReader();
    return true;
  }

  /** Closes the channel; with an error, the reader's iteration throws it after buffered items. */
  close(error?: unknown): void {
    if (this.closed) return;
    this.closed = true;
    this.error = error;
    this.wakeReader();
    this.wakePushers();
  }

  /**
   * Makes every further push succeed without storing anything, and drops what
   * is buffered (each dropped value passed to `onDropped`): used when the
   * consumer has finished early, so producers never block forever.
   */
  discard(onDropped?: (value: T) => void): void {
    this.discarding = true;
    if (onDropped) for (let i = this.head; i < this.items.length; i++) onDropped(this.items[i] as T);
    this.items.length = 0;
    this.head = 0;
    this.wakePushers();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    // `value` is cleared after each yield: a suspended generator keeps its registers, so the last message (a slice's
    // buffer of hundreds of MB) would otherwise stay reachable until the next one arrives.
    let value: T | undefined;
    for (;;) {
      if (this.size > 0) {
        value = this.items[this.head] as T;
        this.items[this.head] = undefined as T;
        this.head += 1;
        if (this.head > 1024 && this.head * 2 > this.items.length) {
          this.items.splice(0, this.head);
          this.head = 0;
        }
        const wake = this.waitingPushers.shift();
        if (wake) wake();
        yield value;
        value = undefined;
        continue;
      }
      if (this.closed) {
        if (this.error !== undefined) throw this.error;
        return;
      }
      await new Promise<void>((resolve) => {
        this.waitingReader = resolve;
      });
    }
  }

  private wakeReader(): void {
    const wake = this.waitingReader;
    this.waitingReader = undefined;
    if (wake) wake();
  }

  private wakePushers(): void {
    const all = this.waitingPushers.splice(0);
    for (const wake of all) wake();
  }
}

/**
 * Calls `handle` for each value of `input` in order, awaiting each call; a
 * call that returns (or resolves to) `false` stops the iteration, which is
 * then released (`return()`), as a `break` in `for await` does.
 * Unlike `for await`, it drops its reference to a value as soon as `handle`
 * has it: V8 keeps a suspended loop's registers, so `for await` holds the
 * last message until the next one arrives — for a reconstruction gadget, a
 * slice's buffer of hundreds of MB kept alive while the next slice is
 * acquired. The pipeline and the gadgets that receive such buffers iterate
 * with this.
 */
export async function forEachMessage<T>(
  input: AsyncIterable<T>,
  handle: (value: T) => Promise<void | boolean> | void | boolean,
): Promise<void> {
  const iterator = input[Symbol.asyncIterator]();
  let exhausted = false;
  try {
    for (;;) {
      let next: IteratorResult<T> | undefined = await iterator.next();
      if (next.done) {
        exhausted = true;
        return;
      }
      const handled = handle(next.value);
      next = undefined;
      if ((await handled) === false) return;
    }
  } finally {
    if (!exhausted) await iterator.return?.(); // as `for await` does on a break or throw
  }
}
