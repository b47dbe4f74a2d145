/**
 * Preload for a server under a memory test (`NODE_OPTIONS="--expose-gc
 * --import=<this file>"`): SIGUSR2 runs a full garbage collection, so that
 * resident memory is measured without garbage in it. Does nothing without
 * --expose-gc, and nothing until the signal comes.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc) {
  process.on('SIGUSR2', () => {
    gc();
    const m = process.memoryUsage();
    process.stderr.write(`${JSON.stringify({ msg: 'gc done', rss: m.rss, heapTotal: m.heapTotal, heapUsed: m.heapUsed, external: m.external, arrayBuffers: m.arrayBuffers })}\n`);
  });
}
