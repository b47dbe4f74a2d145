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
import { sharedCollectionMB } from './v8-tuning.js';

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

/** Counts bytes and calls `collect` each time `every` bytes have been counted since the last call. */
export class CollectionPacer {
  private since = 0;

  constructor(private readonly every: number, private readonly collect: () => void) {}

  /** Counts `bytes`; true when this call started a collection. */
  note(bytes: number): boolean {
    this.since += bytes;
    if (this.since < this.every) return false;
    this.since = 0;
    this.collect();
    return true;
  }
}

let sharedPacer: CollectionPacer | null | undefined;

/** The pacer for GANTRY_SHARED_GC (null: off); a bad value (which the CLI rejects at start) counts as the default. */
function pacer(): CollectionPacer | null {
  if (sharedPacer === undefined) {
    let mb: number | null;
    try {
      mb = sharedCollectionMB(process.env['GANTRY_SHARED_GC']);
    } catch {
      mb = sharedCollectionMB(undefined);
    }
    const gc = gcFunction();
    sharedPacer = mb === null || !gc ? null : new CollectionPacer(mb * 1024 * 1024, () => gc({ type: 'major', execution: 'async' }));
  }
  return sharedPacer;
}

/**
 * Reports `bytes` of SharedArrayBuffer memory made for data passing through
 * (blocks read from a file, readouts after oversampling removal); every
 * GANTRY_SHARED_GC MB (48 by default) of it starts a major collection,
 * incremental and concurrent (`execution: 'async'`: marking on V8's helper
 * threads, a short final pause on this one). V8 counts neither the bytes nor
 * the number of SharedArrayBuffers, so its own major collections came only
 * from the growth of its small JavaScript heap, while the readouts (which
 * wait in a slice's bucket long enough to reach the old generation) and
 * file blocks held hundreds of MB after they had died. On the 16-slice cine
 * scan with two threads: peak RSS 1255–1342 → 940 MB (medians of 3,
 * alternated) for up to 1 s more wall time (docs/performance.md).
 */
export function noteSharedAllocation(bytes: number): void {
  pacer()?.note(bytes);
}
