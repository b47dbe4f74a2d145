/**
 * Preload for a server under a memory test (`NODE_OPTIONS="--expose-gc
 * --import=<this file>"`): SIGUSR2 runs a full garbage collection and gives
 * the C heaps' free pages back (glibc malloc_trim, as an idle pipeline does:
 * src/engine/slice-buffers.ts), so that resident memory is measured without
 * garbage or free lists in it. Does nothing without --expose-gc, and nothing
 * until the signal comes.
 */
import { trimFreedMemory } from '../../src/kernels/native.js';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  process.on('SIGUSR2', () => {
    gc();
    trimFreedMemory();
    const m = process.memoryUsage();
    process.stderr.write(`${JSON.stringify({ msg: 'gc done', rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  });
}
