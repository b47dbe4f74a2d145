/**
 * Test-only task module for src/engine/thread-pool.test.ts: small tasks on
 * shared memory, a failing task and a task that ends its worker thread.
 */
import { isMainThread } from 'node:worker_threads';

/** Writes out[i] = in[i]² for i in [from, to) and returns the range's sum. */
function squares(a: { input: Float32Array; out: Float32Array; from: number; to: number }): number {
  let sum = 0;
  for (let i = a.from; i < a.to; i++) {
    const v = (a.input[i] as number) * (a.input[i] as number);
    a.out[i] = v;
    sum += v;
  }
  return sum;
}

/** Throws a RangeError naming `what`. */
function fail(a: { what: string }): never {
  throw new RangeError(`Cannot do ${a.what}`);
}

/** Ends the worker thread it runs on (inline: throws instead). */
function crash(): never {
  if (isMainThread) throw new Error('Cannot crash the main thread');
  process.exit(3);
}

/** Where it ran. */
function where(): 'main' | 'worker' {
  return isMainThread ? 'main' : 'worker';
}

/** Where it ran, after keeping its thread busy for `ms`. */
function busyWhere(a: { ms: number }): 'main' | 'worker' {
  const end = performance.now() + a.ms;
  while (performance.now() < end);
  return where();
}

export const tasks = { squares, fail, crash, where, busyWhere } as const;
