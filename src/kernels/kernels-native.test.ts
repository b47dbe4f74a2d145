import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { nrmse } from './complex-ops.js';
import { fftc, fftcPortable } from './fft.js';
import { constants as perfConstants, PerformanceObserver } from 'node:perf_hooks';
import { kernelBackend, nativeKernels, trackSharedMemory, trimFreedMemory } from './native.js';

const native = kernelBackend() === 'native';
const skip = native ? false : 'native kernels not in use';

function randomComplex(n: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const x = new Float32Array(2 * n);
  for (let i = 0; i < x.length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    x[i] = a / 2 ** 32 - 0.5;
  }
  return x;
}

function sameBits(a: Float32Array, b: Float32Array): boolean {
  return Buffer.compare(Buffer.from(a.buffer, a.byteOffset, a.byteLength), Buffer.from(b.buffer, b.byteOffset, b.byteLength)) === 0;
}

const SHAPES: [number[], number[]][] = [
  [[8], [0]], [[7], [0]], [[5, 3], [0, 1]], [[6, 5, 3], [0, 1]], [[6, 5, 3], [1]], [[6, 5, 3], [2]], [[6, 5, 3], [0, 2]],
  [[6, 5, 3], [0, 1, 2]], [[64, 48, 3], [0, 1]], [[255, 9, 2], [0, 1]], [[384, 40], [0]], [[96, 40, 2], [1]], [[3, 1, 5], [1, 2]],
  [[12, 7, 9, 5], [0, 1, 2]], [[16, 16, 16, 3], [0, 1, 2]], [[4, 6, 10, 2], [1, 2]], [[256, 256, 2], [0, 1]], [[512, 33], [0]],
];

test('fftc on the native kernels matches the TypeScript kernels for even, odd and mixed shapes', { skip }, () => {
  for (const [dims, axes] of SHAPES) {
    const total = dims.reduce((a, b) => a * b, 1);
    for (const inverse of [false, true]) {
      const x = randomComplex(total, total + dims.length);
      const err = nrmse(fftc(x.slice(), dims, axes, inverse), fftcPortable(x.slice(), dims, axes, inverse));
      assert.ok(err < 1e-6, `[${dims}] axes [${axes}] inverse=${inverse}: relative error ${err}`);
    }
  }
});

test('fftc on the native kernels gives the same bits for a misaligned view as for an aligned copy', { skip }, () => {
  for (const [dims, axes] of [[[256, 64], [0, 1]], [[384, 33], [0]], [[40, 30, 2], [1]]] as [number[], number[]][]) {
    const total = dims.reduce((a, b) => a * b, 1);
    const x = randomComplex(total, 3);
    for (const offset of [1, 2, 3]) {
      const buffer = new Float32Array(2 * total + 4);
      buffer.set(x, offset);
      const view = buffer.subarray(offset, offset + 2 * total);
      fftc(view, dims, axes, false);
      assert.ok(sameBits(view, fftc(x.slice(), dims, axes, false)), `[${dims}] offset ${offset * 4} bytes`);
    }
  }
});

test('fftc on the native kernels transforms each block the same whatever the batch size', { skip }, () => {
  for (const [n, lines] of [[512, 100], [96, 1000], [37, 50]]) {
    const x = randomComplex(n * lines, n);
    const all = fftc(x.slice(), [n, lines], [0], false);
    for (const [first, count] of [[0, 1], [3, 17], [lines - 5, 5]] as [number, number][]) {
      const part = fftc(x.slice(2 * n * first, 2 * n * (first + count)), [n, count], [0], false);
      assert.ok(sameBits(part, all.subarray(2 * n * first, 2 * n * (first + count))), `n ${n}, lines ${first}..${first + count}`);
    }
  }
  const img = randomComplex(64 * 48 * 6, 9);
  const whole = fftc(img.slice(), [64, 48, 6], [0, 1], true);
  const one = fftc(img.slice(2 * 64 * 48 * 4, 2 * 64 * 48 * 5), [64, 48], [0, 1], true);
  assert.ok(sameBits(one, whole.subarray(2 * 64 * 48 * 4, 2 * 64 * 48 * 5)));
});

/** A child process that prints the SHA-256 of kernel outputs on seeded inputs. */
const CHILD = `
const { createHash } = await import('node:crypto');
const k = await import(process.argv[1]);
function rnd(n, seed) { let a = seed >>> 0; const x = new Float32Array(2 * n); for (let i = 0; i < x.length; i++) { a = (Math.imul(a, 1664525) + 1013904223) >>> 0; x[i] = a / 2 ** 32 - 0.5; } return x; }
const h = createHash('sha256');
const add = (x) => h.update(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
add(k.fftc(rnd(256 * 256 * 3, 1), [256, 256, 3], [0, 1], false));
add(k.fftc(rnd(192 * 256 * 2, 2), [192, 256, 2], [0, 1], true));
add(k.fftc(rnd(384 * 64, 3), [384, 64], [0], false));
add(k.fftc(rnd(128 * 96 * 4, 4), [128, 96, 4], [1], true));
const a = rnd(400 * 60, 5);
add(k.cgemm(60, 60, 400, a, a, new Float32Array(2 * 60 * 60), { opA: 'C' }));
add(k.cherk(60, 400, a, new Float32Array(2 * 60 * 60)));
process.stdout.write(k.kernelBackend() + ' ' + h.digest('hex'));
`;

/** Runs `script` (an ES module that imports the kernels from process.argv[1]) in a child with `env`; returns its stdout. */
function runKernelsChild(script: string, env: NodeJS.ProcessEnv, timeout?: number): string {
  const index = new URL('./index.js', import.meta.url).href;
  return execFileSync(process.execPath, ['--input-type=module', '-e', script, index], { env: { ...process.env, ...env }, encoding: 'utf8', timeout });
}

function childDigest(env: NodeJS.ProcessEnv): string {
  return runKernelsChild(CHILD, env);
}

test('kernels give the same bytes in separate processes: a fresh FFTW wisdom file, then reading it back', { skip }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-wisdom-'));
  try {
    const env = { GANTRY_FFTW_WISDOM: join(dir, 'fftw.wisdom'), GANTRY_KERNELS: 'native' };
    const first = childDigest(env);
    const second = childDigest(env);
    assert.match(first, /^native /);
    assert.equal(second, first);
    const estimate = childDigest({ GANTRY_FFTW_WISDOM: 'off', GANTRY_KERNELS: 'native' });
    assert.equal(childDigest({ GANTRY_FFTW_WISDOM: 'off', GANTRY_KERNELS: 'native' }), estimate);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/**
 * A child that measures new FFT geometries on its main thread while a worker
 * thread runs kernels (fftc on a planned geometry, cgemm) in a loop: the
 * measurements wait for the worker's kernels and hold them back ("Quiet
 * measurements" in native/src/gantry_kernels.c). Prints the worker's loop
 * count and whether every loop gave the first loop's bits, then a digest of
 * the main thread's transforms.
 */
const QUIET_CHILD = `
const index = process.argv[1];
const { Worker } = await import('node:worker_threads');
const { createHash } = await import('node:crypto');
const k = await import(index);
const flag = new Int32Array(new SharedArrayBuffer(4));
const worker = new Worker(\`
  const { parentPort, workerData } = require('node:worker_threads');
  import(workerData.index).then((k) => {
    const x = new Float32Array(2 * 64 * 48 * 4).map((_, i) => Math.sin(i));
    const a = new Float32Array(2 * 96 * 96).map((_, i) => Math.cos(i));
    k.fftc(x.slice(), [64, 48, 4], [0, 1], false);
    let first, loops = 0, same = true;
    parentPort.postMessage('ready');
    while (Atomics.load(workerData.flag, 0) === 0) {
      const y = k.fftc(x.slice(), [64, 48, 4], [0, 1], false);
      const c = new Float32Array(2 * 96 * 96);
      k.cgemm(96, 96, 96, a, a, c);
      const bits = Buffer.from(y.buffer).toString('base64') + Buffer.from(c.buffer).toString('base64');
      if (first === undefined) first = bits; else if (bits !== first) same = false;
      loops++;
    }
    parentPort.postMessage({ loops, same });
  });
\`, { eval: true, execArgv: [], workerData: { index, flag } });
await new Promise((resolve) => worker.once('message', resolve));
const h = createHash('sha256');
for (const [n, m] of [[96, 80], [120, 72], [160, 90], [200, 48]]) {
  const x = new Float32Array(2 * n * m * 8).map((_, i) => Math.sin(0.37 * i));
  h.update(Buffer.from(k.fftc(x, [n, m, 8], [0, 1], false).buffer));
}
Atomics.store(flag, 0, 1);
const result = await new Promise((resolve) => worker.once('message', resolve));
await worker.terminate();
console.log(JSON.stringify({ ...result, digest: h.digest('hex') }));
`;

test('FFT plans measured while a worker thread computes: the measurement waits for its kernels, no deadlock, the same transforms when the file is read back', { skip, timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-quiet-'));
  try {
    const run = (wisdom: string): { loops: number; same: boolean; digest: string } =>
      JSON.parse(runKernelsChild(QUIET_CHILD, { GANTRY_FFTW_WISDOM: join(dir, wisdom), GANTRY_KERNELS: 'native' }, 100_000)) as { loops: number; same: boolean; digest: string };
    const busy = run('busy.wisdom');
    assert.ok(busy.loops > 0, 'the worker computed while the main thread measured');
    assert.ok(busy.same, 'every loop of the worker gave the same bits');
    // The same file read back gives the same transforms.
    assert.equal(run('busy.wisdom').digest, busy.digest);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('the TypeScript kernels give the same bytes in separate processes', () => {
  const first = childDigest({ GANTRY_KERNELS: 'js' });
  assert.match(first, /^js /);
  assert.equal(childDigest({ GANTRY_KERNELS: 'js' }), first);
});

test('fftc gives the same bits on a worker thread as on the main thread', async () => {
  const x = randomComplex(128 * 96 * 3, 11);
  const here = fftc(x.slice(), [128, 96, 3], [0, 1], false);
  const index = new URL('./index.js', import.meta.url).href;
  const worker = new Worker(
    `const { parentPort, workerData } = require('node:worker_threads');
     import(workerData.index).then((k) => parentPort.postMessage(k.fftc(workerData.x, [128, 96, 3], [0, 1], false)));`,
    { eval: true, workerData: { index, x: x.slice() } },
  );
  const [there] = (await new Promise((resolve, reject) => {
    worker.once('message', (m: Float32Array) => resolve([m]));
    worker.once('error', reject);
  })) as [Float32Array];
  await worker.terminate();
  assert.ok(sameBits(there, here));
});

test('trimFreedMemory gives free C-heap pages back, or does nothing without the addon', (t) => {
  if (!nativeKernels()) {
    assert.equal(trimFreedMemory(), false);
    t.skip('native kernels not built: nothing to trim with');
    return;
  }
  assert.equal(typeof nativeKernels()?.trimFreedMemory, 'function');
  assert.equal(typeof trimFreedMemory(), 'boolean');
});

/** Major collections, and the most array-buffer memory seen, while 64 buffers of 8 MB are made and dropped one by one. */
async function collectionsWhileDropping(track: boolean): Promise<{ majors: number; peakMB: number }> {
  let majors = 0;
  const observer = new PerformanceObserver((list) => {
    for (const e of list.getEntries()) if (((e as { detail?: unknown }).detail as { kind?: number } | undefined)?.kind === perfConstants.NODE_PERFORMANCE_GC_MAJOR) majors++;
  });
  observer.observe({ entryTypes: ['gc'] });
  let peak = 0;
  for (let i = 0; i < 64; i++) {
    const buffer = new SharedArrayBuffer(8 << 20);
    new Float32Array(buffer).fill(i);
    if (track) assert.equal(trackSharedMemory(buffer), true);
    peak = Math.max(peak, process.memoryUsage().arrayBuffers);
    await new Promise((resolve) => setImmediate(resolve));
  }
  await new Promise((resolve) => setTimeout(resolve, 50));
  observer.disconnect();
  return { majors, peakMB: peak / 2 ** 20 };
}

test('trackSharedMemory counts a shared buffer as V8 external memory until it dies: dropped buffers start collections', { skip }, async () => {
  assert.equal(nativeKernels()?.trackSharedMemory?.(new ArrayBuffer(16) as unknown as SharedArrayBuffer), false, 'only shared buffers are tracked');
  const tracked = await collectionsWhileDropping(true);
  const untracked = await collectionsWhileDropping(false);
  // V8 starts a marking per 64 MB of external memory grown since its last full collection: 512 MB made: 6 or 7 collections, ≥ 3 asked.
  assert.ok(tracked.majors >= 3 && tracked.majors > untracked.majors, `major collections: ${tracked.majors} tracked, ${untracked.majors} untracked`);
  // Dead buffers are freed as the collections come, and their bytes given back to the count (else collections would stop).
  assert.ok(tracked.peakMB < 200, `peak array-buffer memory while tracked: ${tracked.peakMB.toFixed(0)} MB`);
});
