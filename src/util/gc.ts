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
import { canTrackSharedMemory, trackSharedMemory } from '../kernels/native.js';
import { FALLBACK_SHARED_GC_MB, sharedCollection, type SharedCollection } from './v8-tuning.js';

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

/** Reports one SharedArrayBuffer made for data in passing. */
type SharedReporter = (buffer: SharedArrayBuffer) => void;

let sharedReporter: SharedReporter | null | undefined;

/** Starts a full collection after each `mb` MB of shared memory made (null where gc() cannot be had). */
function pacedReporter(mb: number): SharedReporter | null {
  const gc = gcFunction();
  if (!gc) return null;
  const pacer = new CollectionPacer(mb * 1024 * 1024, () => gc({ type: 'major', execution: 'async' }));
  return (buffer) => {
    pacer.note(buffer.byteLength);
  };
}

/** The reporter for GANTRY_SHARED_GC (null: off); a bad value (which the CLI rejects at start) counts as the default. */
function reporter(): SharedReporter | null {
  if (sharedReporter === undefined) {
    let mode: SharedCollection;
    try {
      mode = sharedCollection(process.env['GANTRY_SHARED_GC']);
    } catch {
      mode = sharedCollection(undefined);
    }
    if (mode.kind === 'off') sharedReporter = null;
    else if (mode.kind === 'v8' && canTrackSharedMemory()) sharedReporter = trackSharedMemory;
    else sharedReporter = pacedReporter(mode.kind === 'paced' ? mode.mb : FALLBACK_SHARED_GC_MB);
  }
  return sharedReporter;
}

/**
 * Reports `buffer`, a SharedArrayBuffer just made, to V8's collections as
 * GANTRY_SHARED_GC says. V8 counts neither the bytes nor the number of
 * SharedArrayBuffers, so without this its major collections came only from
 * the growth of its small JavaScript heap, while the readouts (which wait in
 * a slice's bucket long enough to reach the old generation) and file blocks
 * held hundreds of MB after they had died.
 *
 * GANTRY_SHARED_GC `v8` (the default): each buffer counts as V8 external
 * memory while it is alive (native/src/external_memory.cc), and V8 starts an
 * incremental, concurrent marking each time that total has grown by 64 MB
 * since its last full collection — a pause of 1–6 ms to finish it. A number
 * of MB instead starts a full collection after each that many MB made
 * (`gc()`: atomic, 10–16 ms on this thread each); that is also what `v8`
 * falls back to, at 48 MB, without the kernels addon. 16-slice cine scan,
 * two threads, alternated medians of 4: 9.88 s with the 48 MB pacing, 8.88 s
 * with `v8`, peak RSS 945 and 857 MB (docs/performance.md).
 */
export function noteSharedBuffer(buffer: SharedArrayBuffer): void {
  reporter()?.(buffer);
}

/** {@link noteSharedBuffer} for each SharedArrayBuffer under `arrays`, once each (views of other memory are skipped). */
export function noteSharedMemory(arrays: Iterable<ArrayBufferView>): void {
  const report = reporter();
  if (!report) return;
  const seen = new Set<ArrayBufferLike>();
  for (const a of arrays) {
    const buffer = a.buffer;
    if (seen.has(buffer)) continue;
    seen.add(buffer);
    if (typeof SharedArrayBuffer !== 'undefined' && buffer instanceof SharedArrayBuffer) report(buffer);
  }
}
