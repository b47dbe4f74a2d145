/**
 * Kernel benchmarks: Gantry's FFT and BLAS kernels against FFTW (MEASURE
 * plans) and OpenBLAS through the C harness in bench/c, and against the
 * `bart fft` command, on the same data files, single-threaded.
 */
import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { cgemm, cherk, cposv, fftc, fftcPortable, kernelBackend, nrmse } from '../src/kernels/index.js';
import { cgemmPortable, cherkPortable } from '../src/kernels/blas.js';
import type { Figure } from './figures.js';
import { bestOf, haveCommand, timeCommand, timeInProcess, type Timing } from './timing.js';

/** Settings shared by the kernel benchmarks. */
export interface KernelBenchOptions {
  root: string;
  tmp: string;
  quick: boolean;
  hyperfine: boolean;
  log: (line: string) => void;
}

/** Environment for the reference processes: one thread everywhere. */
export const SINGLE_THREAD_ENV: NodeJS.ProcessEnv = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' };

/** Builds the C harness; returns its path. */
export function buildHarness(root: string, tmp: string): string {
  const out = join(tmp, 'reference');
  const r = spawnSync('gcc', ['-O2', '-o', out, join(root, 'bench/c/reference.c'), '-lfftw3f', '-lopenblas', '-lm'], { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new Error(`Cannot build the reference harness (needs gcc, libfftw3-dev, libopenblas-dev): ${(r.stderr || r.error?.message || '').trim()}`);
  }
  return out;
}

function runHarness(harness: string, args: string[]): Timing {
  const r = spawnSync(harness, args, { env: SINGLE_THREAD_ENV, encoding: 'utf8', maxBuffer: 1 << 20 });
  if (r.status !== 0) throw new Error(`Cannot run the reference harness ${args.join(' ')}: ${(r.stderr || '').trim()}`);
  const line = JSON.parse(r.stdout.trim().split('\n').pop() as string) as { us: number; rounds: number };
  return { best: line.us, median: line.us, rounds: line.rounds };
}

/** Deterministic uniform values in [−1, 1). */
function randomData(length: number, seed: number): Float32Array {
  let a = seed >>> 0;
  const out = new Float32Array(length);
  for (let i = 0; i < length; i++) {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    out[i] = ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  }
  return out;
}

/** Writes interleaved complex data as BART's .cfl/.hdr pair (base path without extension). */
function writeCfl(base: string, dims: readonly number[], data: Float32Array): void {
  const all = [...dims];
  while (all.length < 16) all.push(1);
  writeFileSync(`${base}.hdr`, `# Dimensions\n${all.join(' ')}\n`);
  writeFileSync(`${base}.cfl`, new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
}

function readCfl(base: string): Float32Array {
  const bytes = readFileSync(`${base}.cfl`);
  return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

interface FftCase {
  id: string;
  label: string;
  /** Column-major dims: [n0, n1, batch] for 2D, [n0, lines] for 1D. */
  dims: number[];
  axes: number[];
  quick: boolean;
}

const FFT_CASES: FftCase[] = [
  { id: 'fft-2d-256x256x32', label: 'FFT 2D 256×256, 32 coils', dims: [256, 256, 32], axes: [0, 1], quick: true },
  { id: 'fft-2d-512x512x32', label: 'FFT 2D 512×512, 32 coils', dims: [512, 512, 32], axes: [0, 1], quick: false },
  { id: 'fft-2d-192x256x32', label: 'FFT 2D 192×256 (E1×RO), 32 coils', dims: [256, 192, 32], axes: [0, 1], quick: true },
  { id: 'fft-1d-384x8192', label: 'FFT 1D 384, 8192 lines', dims: [384, 8192], axes: [0], quick: true },
  { id: 'fft-1d-512x8192', label: 'FFT 1D 512, 8192 lines', dims: [512, 8192], axes: [0], quick: false },
];

/** FFT figures: Gantry's fftc (per batch) against FFTW MEASURE and the bart CLI. */
export function benchFft(harness: string, o: KernelBenchOptions): Figure[] {
  const figures: Figure[] = [];
  const budget = o.quick ? 300 : 1000;
  const alternations = o.quick ? 1 : 2;
  const bart = haveCommand('bart');
  for (const c of FFT_CASES) {
    if (o.quick && !c.quick) continue;
    const total = c.dims.reduce((a, b) => a * b, 1);
    const input = randomData(2 * total, total + c.dims[0]!);
    const base = join(o.tmp, c.id);
    writeCfl(base, c.dims, input);
    const is2d = c.axes.length === 2;
    const n0 = c.dims[0] as number;
    const n1 = is2d ? (c.dims[1] as number) : 1;
    const batch = total / (n0 * n1);
    const work = input.slice();
    let ref: Timing | undefined;
    let gantry: Timing | undefined;
    for (let r = 0; r < alternations; r++) {
      ref = bestOf(ref, runHarness(harness, ['fft', `${base}.cfl`, String(n0), String(n1), String(batch), String(budget)]));
      gantry = bestOf(gantry, timeInProcess(() => fftc(work, c.dims, c.axes, false), budget));
    }
    const extra: Record<string, number> = {};
    if (!o.quick) {
      work.set(input);
      extra['TS fallback ×FFTW'] = timeInProcess(() => fftcPortable(work, c.dims, c.axes, false), budget).best / ref!.best;
    }
    let note = '';
    if (bart) {
      const mask = is2d ? '3' : '1';
      const out = join(o.tmp, `${c.id}-bart`);
      const runs = o.quick ? 3 : 5;
      const fft = timeCommand({ argv: ['bart', 'fft', '-u', mask, base, out], env: SINGLE_THREAD_ENV }, runs, o.tmp, o.hyperfine, 'bart fft');
      const copy = timeCommand({ argv: ['bart', 'copy', base, out], env: SINGLE_THREAD_ENV }, runs, o.tmp, o.hyperfine, 'bart copy');
      spawnSync('bart', ['fft', '-u', mask, base, out], { env: SINGLE_THREAD_ENV });
      const expected = readCfl(out);
      const mine = fftc(input.slice(), c.dims, c.axes, false);
      note = `nrmse vs bart ${nrmse(mine, expected).toExponential(1)}`;
      extra['bart fft CLI ms'] = fft.best / 1e3;
      extra['bart CLI − bart copy ×Gantry'] = (fft.best - copy.best) / gantry!.best;
    }
    figures.push({
      id: c.id,
      group: 'fft',
      label: c.label,
      unit: 'µs',
      gantry: gantry!.best,
      reference: ref!.best,
      referenceName: 'FFTW MEASURE',
      ratio: gantry!.best / ref!.best,
      target: { max: 1.2 },
      extra,
      note,
    });
    o.log(`  ${c.label}: Gantry (${kernelBackend()}) ${gantry!.best.toFixed(0)} µs, FFTW ${ref!.best.toFixed(0)} µs, ${(gantry!.best / ref!.best).toFixed(2)}×${note ? `, ${note}` : ''}`);
  }
  return figures;
}

interface BlasCase {
  id: string;
  label: string;
  kind: 'gemm' | 'herk' | 'posv';
  opA: 'N' | 'T' | 'C';
  opB: 'N' | 'T' | 'C';
  m: number;
  n: number;
  k: number;
  quick: boolean;
  /** Time the TypeScript fallback too (small sizes only). */
  portable: boolean;
}

// GRAPPA calibration: 32 channels, kernel 5 (RO) × 4 (E1) → 640 unknowns per target, 3780 fit equations (facts §5).
const BLAS_CASES: BlasCase[] = [
  { id: 'herk-640x3780', label: 'CHERK AᴴA 640 × 3780 (GRAPPA 32 ch)', kind: 'herk', opA: 'C', opB: 'N', m: 640, n: 640, k: 3780, quick: true, portable: false },
  { id: 'gemm-C-640x64x3780', label: 'CGEMM AᴴB 640×64, k 3780 (GRAPPA 32 ch)', kind: 'gemm', opA: 'C', opB: 'N', m: 640, n: 64, k: 3780, quick: true, portable: false },
  { id: 'posv-640x64', label: 'CPOSV 640, 64 rhs (GRAPPA solve)', kind: 'posv', opA: 'N', opB: 'N', m: 640, n: 64, k: 640, quick: false, portable: false },
  { id: 'herk-160x3780', label: 'CHERK AᴴA 160 × 3780 (GRAPPA 8 ch)', kind: 'herk', opA: 'C', opB: 'N', m: 160, n: 160, k: 3780, quick: false, portable: true },
  { id: 'gemm-N-16384x32x32', label: 'CGEMM 16384×32, k 32 (coil mixing)', kind: 'gemm', opA: 'N', opB: 'N', m: 16384, n: 32, k: 32, quick: false, portable: true },
];

/** BLAS figures: Gantry's cgemm/cherk/cposv against OpenBLAS called from C. */
export function benchBlas(harness: string, o: KernelBenchOptions): Figure[] {
  const figures: Figure[] = [];
  const budget = o.quick ? 300 : 1000;
  const alternations = o.quick ? 1 : 2;
  for (const c of BLAS_CASES) {
    if (o.quick && !c.quick) continue;
    let aRows: number;
    let aCols: number;
    let bRows = 0;
    let bCols = 0;
    if (c.kind === 'herk') {
      aRows = c.k;
      aCols = c.n;
    } else if (c.kind === 'posv') {
      aRows = c.m;
      aCols = c.m;
      bRows = c.m;
      bCols = c.n;
    } else {
      aRows = c.opA === 'N' ? c.m : c.k;
      aCols = c.opA === 'N' ? c.k : c.m;
      bRows = c.opB === 'N' ? c.k : c.n;
      bCols = c.opB === 'N' ? c.n : c.k;
    }
    let a = randomData(2 * aRows * aCols, c.m * 7 + c.k);
    if (c.kind === 'posv') {
      // A well-conditioned Hermitian positive definite matrix: GᴴG/k + I.
      const g = randomData(2 * c.m * c.m, 5);
      const spd = new Float32Array(2 * c.m * c.m);
      cgemm(c.m, c.m, c.m, g, g, spd, { opA: 'C', alpha: 1 / c.m });
      for (let i = 0; i < c.m; i++) spd[2 * (i + c.m * i)] = (spd[2 * (i + c.m * i)] as number) + 1;
      a = spd;
    }
    const b = randomData(2 * Math.max(1, bRows * bCols), c.n * 3 + 1);
    const aFile = join(o.tmp, `${c.id}-a.bin`);
    const bFile = join(o.tmp, `${c.id}-b.bin`);
    writeFileSync(aFile, new Uint8Array(a.buffer));
    writeFileSync(bFile, new Uint8Array(b.buffer));
    const args =
      c.kind === 'herk'
        ? ['herk', 'C', String(c.n), String(c.k), aFile, String(budget)]
        : c.kind === 'posv'
          ? ['posv', String(c.m), String(c.n), aFile, bFile, String(budget)]
          : ['gemm', c.opA, c.opB, String(c.m), String(c.n), String(c.k), aFile, bFile, String(budget)];
    const out = new Float32Array(2 * c.m * c.n);
    const aWork = a.slice();
    const bWork = b.slice();
    const call =
      c.kind === 'herk'
        ? () => cherk(c.n, c.k, a, out, { trans: 'C' })
        : c.kind === 'posv'
          ? () => {
              aWork.set(a);
              bWork.set(b);
              cposv(c.m, c.n, aWork, bWork);
            }
          : () => cgemm(c.m, c.n, c.k, a, b, out, { opA: c.opA, opB: c.opB });
    let ref: Timing | undefined;
    let gantry: Timing | undefined;
    for (let r = 0; r < alternations; r++) {
      ref = bestOf(ref, runHarness(harness, args));
      gantry = bestOf(gantry, timeInProcess(call, budget));
    }
    const flops = c.kind === 'herk' ? 4 * c.n * c.n * c.k : c.kind === 'posv' ? (4 / 3) * c.m ** 3 + 8 * c.m * c.m * c.n : 8 * c.m * c.n * c.k;
    const extra: Record<string, number> = { 'Gantry GFLOP/s': flops / gantry!.best / 1e3 };
    if (!o.quick && c.portable) {
      const portable =
        c.kind === 'herk'
          ? () => cherkPortable(c.n, c.k, a, c.k, 'C', 'L', 1, 0, out, c.n)
          : () => cgemmPortable(c.m, c.n, c.k, a, aRows, c.opA, b, bRows, c.opB, [1, 0], [0, 0], out, c.m);
      extra['TS fallback ×OpenBLAS'] = timeInProcess(portable, budget).best / ref!.best;
    }
    figures.push({
      id: c.id,
      group: 'blas',
      label: c.label,
      unit: 'µs',
      gantry: gantry!.best,
      reference: ref!.best,
      referenceName: 'OpenBLAS',
      ratio: gantry!.best / ref!.best,
      target: { max: 1.3 },
      extra,
    });
    o.log(`  ${c.label}: Gantry (${kernelBackend()}) ${gantry!.best.toFixed(0)} µs, OpenBLAS ${ref!.best.toFixed(0)} µs, ${(gantry!.best / ref!.best).toFixed(2)}×`);
  }
  return figures;
}
