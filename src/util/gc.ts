/**
 * Explicit garbage collection for the few places where Gantry knows that a
 * lot of memory has just become garbage or is about to be needed: a
 * reconstruction buffer of hundreds of MB is allocated per slice, and V8
 * frees the previous slice's buffers (external memory) only at its next
 * major GC, which may come after the new buffer was allocated — so two
 * slices' buffers would be resident instead of one. `--expose-gc` is set
 * for this isolate through `v8.setFlagsFromString`, which only adds the
 * `gc` function to new contexts; nothing else changes.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

type GcFunction = (options?: { type: 'minor' | 'major'; execution?: 'sync' | 'async' }) => void;

let collect: GcFunction | null | undefined;

/** V8's gc() for this isolate, or null where it cannot be had. */
export function gcFunction(): GcFunction | null {
  if (collect === undefined) {
    try {
      setFlagsFromString('--expose-gc');
      collect = runInNewContext('gc') as GcFunction;
    } catch {
      collect = null;
    }
  }
  return collect;
}

/** Allocations at least this big run a major GC first (see {@link reclaimBeforeAllocating}). */
export const LARGE_ALLOCATION_BYTES = 64 * 1024 * 1024;

/**
 * Runs a full, synchronous GC before an allocation of `bytes` ≥ 64 MiB, so
 * that buffers of earlier slices that are already garbage are freed and
 * their memory is reused for this one. A few ms with Gantry's small
 * JavaScript heap, against hundreds of MB of resident memory saved.
 * Returns true when a collection ran.
 */
export function reclaimBeforeAllocating(bytes: number): boolean {
  if (bytes < LARGE_ALLOCATION_BYTES) return false;
  const gc = gcFunction();
  if (!gc) return false;
  gc(); // a full collection: with `{ type: 'major' }` Node 20's V8 left unreachable buffers uncollected in tests
  return true;
}
