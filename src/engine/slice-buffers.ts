/**
 * Reuse of the large shared buffers that hold one slice's k-space (hundreds
 * of MB each, one per slice). A fresh buffer costs a page fault on the first
 * write of each 4 KiB page (about 3 µs on this kind of VM: 0.25–0.5 s of
 * system time per 300 MB buffer) and is freed only at V8's next major GC;
 * a buffer handed back by its last user is zeroed (about 60 ms per 300 MB)
 * and used again for the next slice of the same size.
 *
 * The contract: {@link giveBackSliceBuffer} is called only by the last
 * holder of the array, the gadget that consumed the slice and sends none of
 * it on (GRAPPA's unwrap for the data, which sends new images; reference
 * preparation for the reference buffer, which sends a new, averaged and
 * cropped reference). Anything not handed back
 * is freed by the GC as before. At most {@link MAX_KEPT} buffers are kept.
 *
 * When no buffer was taken or handed back for {@link KEEP_MS}, the
 * reconstructions are idle: the kept buffers are dropped, a GC frees them,
 * and the C heaps' free pages go back to the system (`malloc_trim`), so an
 * idle server holds none of a scan's memory. Not sooner: pages given back
 * while slices still come cost a fault each when used again.
 */
import { fillZero } from '../kernels/copy.js';
import { trimFreedMemory } from '../kernels/native.js';
import { gcFunction, reclaimBeforeAllocating } from '../util/gc.js';
import { sharedFloat32 } from './thread-pool.js';

/** Buffers kept for reuse at most. */
export const MAX_KEPT = 2;
/** After this many ms without a take or a hand-back, kept buffers are let go and freed memory given back. */
export const KEEP_MS = 20_000;

/** Only buffers at least this big are kept (smaller ones cost little to make). */
const MIN_BYTES = 16 * 1024 * 1024;

const kept: SharedArrayBuffer[] = [];
let timer: NodeJS.Timeout | undefined;
let reused = 0;

/** A zeroed Float32Array of `length` floats over a SharedArrayBuffer, reused when one of that size was handed back. */
export function takeSliceBuffer(length: number): Float32Array {
  const bytes = 4 * length;
  const i = kept.findIndex((b) => b.byteLength === bytes);
  armIdleRelease();
  if (i >= 0) {
    const a = new Float32Array(kept.splice(i, 1)[0] as SharedArrayBuffer);
    fillZero(a);
    reused += 1;
    return a;
  }
  // A fresh buffer: collect the earlier slices' garbage first so that its memory is reused (src/util/gc.ts).
  reclaimBeforeAllocating(bytes);
  return sharedFloat32(length);
}

/**
 * Hands `a` back for reuse: call only when nothing else holds it (or any
 * view of its buffer). Arrays that are not a whole shared buffer of at
 * least 16 MiB are left to the GC.
 */
export function giveBackSliceBuffer(a: Float32Array): void {
  const buffer = a.buffer;
  if (!(buffer instanceof SharedArrayBuffer) || a.byteOffset !== 0 || a.byteLength !== buffer.byteLength || buffer.byteLength < MIN_BYTES) return;
  if (kept.includes(buffer)) return;
  kept.push(buffer);
  while (kept.length > MAX_KEPT) kept.shift();
  armIdleRelease();
}

function armIdleRelease(): void {
  if (timer) timer.refresh();
  else {
    timer = setTimeout(releaseIdleMemory, KEEP_MS);
    timer.unref();
  }
}

/** What the idle timer does: lets the kept buffers go, collects them, and gives the C heaps' free pages back. */
export function releaseIdleMemory(): void {
  timer = undefined;
  const hadKept = kept.length > 0;
  releaseKept();
  if (hadKept) gcFunction()?.();
  trimFreedMemory();
}

/** Lets every kept buffer go (the GC frees them). */
export function releaseKept(): void {
  kept.length = 0;
  if (timer) clearTimeout(timer);
  timer = undefined;
}

/** Buffers kept now, and how many takes reused one (for tests and diagnostics). */
export function sliceBufferStats(): { kept: number; reused: number } {
  return { kept: kept.length, reused };
}
