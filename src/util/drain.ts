/**
 * Waiting for a writable stream to drain without leaking listeners: the
 * `Promise.race([once(s, 'drain'), once(s, 'close')])` idiom leaves the
 * losing `once` listeners attached, so a long upload under backpressure piles
 * up 'close' and 'error' listeners until Node warns (MaxListenersExceededWarning).
 */

/** The part of a writable stream {@link waitForDrain} uses. */
export interface DrainableStream {
  readonly destroyed: boolean;
  on(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
  off(event: 'drain' | 'close' | 'error', listener: () => void): unknown;
}

/**
 * Resolves at the stream's next 'drain', 'close' or 'error' (at once when it
 * is already destroyed), and removes every listener it added. Never rejects:
 * the caller checks `destroyed` afterwards.
 */
export function waitForDrain(stream: DrainableStream): Promise<void> {
  if (stream.destroyed) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('drain', done);
      stream.off('close', done);
      stream.off('error', done);
      resolve();
    };
    stream.on('drain', done);
    stream.on('close', done);
    stream.on('error', done);
  });
}
