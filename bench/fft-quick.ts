/**
 * Quick FFT speed check (a script, not a test): µs per transform of the
 * pure-TypeScript kernels, complex float32, single thread.
 * Run: npx tsc -p . && node dist/bench/fft-quick.js
 */
import { fft2c, fftc, getFftPlan } from '../src/kernels/index.js';

function random(n: number): Float32Array {
  const x = new Float32Array(2 * n);
  for (let i = 0; i < x.length; i++) x[i] = Math.random() * 2 - 1;
  return x;
}

/** Best and median µs per call of `fn` over 15 rounds of at least ~30 ms each, after a warm-up. */
function time(fn: () => void): [number, number] {
  let calls = 1;
  for (;;) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    const ms = Number(process.hrtime.bigint() - start) / 1e6;
    if (ms > 30) break;
    calls *= 2;
  }
  const rounds: number[] = [];
  for (let r = 0; r < 15; r++) {
    const start = process.hrtime.bigint();
    for (let i = 0; i < calls; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - start) / 1e3 / calls);
  }
  rounds.sort((a, b) => a - b);
  return [rounds[0], rounds[7]];
}

function report(label: string, [best, median]: [number, number], per = 1): void {
  const f = (us: number): string => (us / per).toFixed(us / per < 10 ? 2 : 1).padStart(9);
  console.log(`${label.padEnd(48)} best ${f(best)} µs   median ${f(median)} µs`);
}

for (const [nx, ny] of [
  [256, 256],
  [256, 192],
  [512, 512],
]) {
  const x = random(nx * ny);
  report(`fft2c ${nx}×${ny}`, time(() => fft2c(x, [nx, ny])));
}
{
  const x = random(256 * 256 * 8);
  report('fft2c 256×256, batch of 8 (per image)', time(() => fft2c(x, [256, 256, 8])), 8);
}
for (const n of [256, 384, 512, 500, 257]) {
  const plan = getFftPlan(n);
  const x = random(n);
  report(`1D ${n} plan.transform (one line)`, time(() => plan.transform(x, 0, 1, false)));
}
{
  const n = 512;
  const lines = 1024;
  const x = random(n * lines);
  report(`1D ${n} fft1c along axis 0, ${lines} lines (per line)`, time(() => fftc(x, [n, lines], [0], false)), lines);
  report(`1D ${n} fft1c along axis 1, ${lines} lines (per line)`, time(() => fftc(x, [lines, n], [1], false)), lines);
}
