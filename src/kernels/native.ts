/**
 * The optional native kernels (`native/src/gantry_kernels.c`: FFTW 3 single
 * precision and OpenBLAS behind N-API). `fftc` and the BLAS functions use
 * them when the addon is built and fall back to the TypeScript kernels
 * otherwise; results agree within float32 rounding.
 *
 * `GANTRY_KERNELS=js` forces the TypeScript kernels, `GANTRY_KERNELS=native`
 * makes a missing addon an error; unset (or `auto`) picks native when it
 * loads. `GANTRY_KERNELS_ADDON` names the addon file explicitly.
 *
 * FFT plans are deterministic: they are rebuilt from an FFTW wisdom file
 * (`GANTRY_FFTW_WISDOM`, default `gantry-fftw.wisdom` beside the addon;
 * `off` for none) that the first process to need a transform size measures
 * and writes under a file lock; without a usable file, plans come from
 * FFTW_ESTIMATE. Every process sharing the file runs the same plans, so the
 * same input gives the same bits. The variables are read once, on first use.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Path of the addon relative to the repository root. */
export const KERNELS_ADDON_RELATIVE_PATH = 'native/kernels/build/Release/gantry_kernels.node';

/** BLAS operation codes as the addon takes them: 0 as is, 1 transpose, 2 conjugate transpose. */
export type NativeOp = 0 | 1 | 2;

/** Library versions the addon reports. */
export interface NativeKernelsInfo {
  /** FFTW version string, e.g. `fftw-3.3.10-sse2-avx`. */
  fftw: string;
  /** OpenBLAS build configuration, e.g. `OpenBLAS 0.3.21 … DYNAMIC_ARCH … Zen`. */
  blasConfig: string;
  /** The OpenBLAS kernel set picked for this CPU. */
  blasCore: string;
  /** OpenBLAS threads per call (always 1: results must not depend on the thread count). */
  blasThreads: number;
}

/** The functions exported by `gantry_kernels.node` (arguments are checked by the callers in this folder). */
export interface NativeKernels {
  /** With `src` (same length, not overlapping): data = F(src), src unchanged. */
  fftc(data: Float32Array, dims: number[], axesMask: number, inverse: boolean, src?: Float32Array): void;
  cgemm(
    opA: NativeOp, opB: NativeOp, m: number, n: number, k: number, alphaRe: number, alphaIm: number,
    a: Float32Array, lda: number, b: Float32Array, ldb: number, betaRe: number, betaIm: number, c: Float32Array, ldc: number,
  ): void;
  cherk(upper: boolean, trans: 0 | 2, n: number, k: number, alpha: number, a: Float32Array, lda: number, beta: number, c: Float32Array, ldc: number): void;
  /** Returns LAPACK's info: 0, or the order of the first non-positive leading minor. */
  cposv(upper: boolean, n: number, nrhs: number, a: Float32Array, lda: number, b: Float32Array, ldb: number): number;
  /** dst[p] = scale·Σ_{c < channels} op(u_c[p])·a_c[p] (op = conj when `conjU`), summed in double in channel order (src/kernels/channel-sum.ts). */
  channelSum(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, scale: number, dst: Float32Array): void;
  /** acc[p] += Σ_{c < channels} op(u_c[p])·a_c[p] into a float64 interleaved accumulator, the sums of `channelSum` continued. */
  channelSumInto(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, acc: Float64Array): void;
  /** `channelSumInto` with channel c of u and a at c·uStride and c·aStride complex values; absent from older builds. */
  channelSumStrided?(u: Float32Array, a: Float32Array, vol: number, channels: number, conjU: boolean, acc: Float64Array, uStride: number, aStride: number): void;
  /** Inati coil maps of [RO, E1, E2, CHA ≥ 2] images, window half-widths h (RO, E1) and hz (E2) (src/kernels/coil-maps.ts). */
  coilMapInati(im: Float32Array, RO: number, E1: number, E2: number, CHA: number, h: number, hz: number, power: number, dst: Float32Array): void;
  info(): NativeKernelsInfo;
  /** Sets the FFTW wisdom file (null: none); false when it can be neither read nor created. */
  setWisdomFile(path: string | null): boolean;
  /** Keeps big freed blocks in the heap for reuse, trimming only above `bytes` free (glibc); false where unsupported. */
  retainFreedMemory(bytes: number): boolean;
  /** Gives free pages inside the heaps back to the system (glibc `malloc_trim`); absent from older builds. */
  trimFreedMemory?(): boolean;
  /** Counts a SharedArrayBuffer's bytes as V8 external memory until it is collected; false for anything else. Absent from older builds. */
  trackSharedMemory?(buffer: SharedArrayBuffer): boolean;
}

type Loaded = { kernels: NativeKernels } | { kernels: null; reason: string };
let loaded: Loaded | undefined;

function candidatePaths(): string[] {
  const fromEnv = process.env['GANTRY_KERNELS_ADDON'];
  if (fromEnv) return [resolve(fromEnv)];
  const out: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(join(dir, KERNELS_ADDON_RELATIVE_PATH));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

/** The FFTW wisdom file: `GANTRY_FFTW_WISDOM` (`off`: none), else `gantry-fftw.wisdom` beside the addon. */
function wisdomPath(addon: string): string | null {
  const fromEnv = process.env['GANTRY_FFTW_WISDOM'];
  if (fromEnv === 'off' || fromEnv === '') return null;
  return fromEnv ? resolve(fromEnv) : join(dirname(addon), 'gantry-fftw.wisdom');
}

/**
 * How much freed memory the heap may keep for reuse (`GANTRY_MALLOC_RETAIN`,
 * bytes, or with a k/M/G suffix; unset, `0` or `off` leaves malloc as it is).
 * Reconstruction allocates a buffer of hundreds of MB per slice; from fresh
 * mmap'd memory every page is faulted in and zeroed by the kernel (about
 * 0.25 s of system time per 300 MB here), while a block kept in the heap is
 * reused for the cost of a memset. Measured on the 4-slice real-time cine
 * scan: 5–10 % faster, but 150–300 MB more peak RSS, since freed blocks stay
 * resident (docs/performance.md) — so it is an opt-in.
 */
function retainedBytes(): number {
  const raw = (process.env['GANTRY_MALLOC_RETAIN'] ?? '').trim().toLowerCase();
  if (raw === '' || raw === 'off') return 0;
  const m = /^(\d+(?:\.\d+)?)\s*([kmg]?)i?b?$/.exec(raw);
  if (!m) throw new RangeError(`Cannot read GANTRY_MALLOC_RETAIN="${raw}": use bytes, e.g. 1G, 512M, or off`);
  const unit = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 }[m[2] as '' | 'k' | 'm' | 'g'];
  return Math.min(Math.round(Number(m[1]) * unit), 2 ** 31 - 1);
}

function load(): Loaded {
  if (loaded) return loaded;
  const mode = (process.env['GANTRY_KERNELS'] ?? 'auto').toLowerCase();
  if (mode !== 'auto' && mode !== 'js' && mode !== 'native') {
    throw new RangeError(`Cannot choose the kernels: GANTRY_KERNELS is "${mode}"; use js, native or auto`);
  }
  if (mode === 'js') {
    loaded = { kernels: null, reason: 'GANTRY_KERNELS=js selects the TypeScript kernels' };
    return loaded;
  }
  const candidates = candidatePaths();
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    loaded = {
      kernels: null,
      reason: process.env['GANTRY_KERNELS_ADDON']
        ? `GANTRY_KERNELS_ADDON names ${candidates[0]}, which does not exist`
        : `the kernels addon is not built (looked for ${KERNELS_ADDON_RELATIVE_PATH}); install libfftw3-dev and libopenblas-dev, then run \`npm run build:native\``,
    };
  } else {
    // OpenBLAS reads this when it is loaded: no idle thread pool (each call runs on one thread anyway).
    if (process.env['OPENBLAS_NUM_THREADS'] === undefined) process.env['OPENBLAS_NUM_THREADS'] = '1';
    try {
      const kernels = createRequire(import.meta.url)(found) as NativeKernels;
      kernels.setWisdomFile(wisdomPath(found));
      const retain = retainedBytes();
      if (retain > 0) kernels.retainFreedMemory(retain);
      loaded = { kernels };
    } catch (err) {
      loaded = { kernels: null, reason: `the kernels addon at ${found} does not load: ${(err as Error).message}` };
    }
  }
  if (mode === 'native' && loaded.kernels === null) {
    throw new Error(`Cannot use the native kernels (GANTRY_KERNELS=native): ${loaded.reason}`);
  }
  return loaded;
}

/**
 * Gives the free pages inside the C heaps back to the system (glibc
 * `malloc_trim`, through the kernels addon; nothing without it). Freed
 * buffers of a few MB (V8's array buffers) lie between live ones and would
 * otherwise stay resident. Called when reconstruction goes idle (the slice
 * buffers' idle release, src/engine/slice-buffers.ts), not per slice: pages
 * given back cost a page fault each when used again. Returns true when pages
 * were released.
 */
export function trimFreedMemory(): boolean {
  return nativeKernels()?.trimFreedMemory?.() ?? false;
}

/**
 * Counts `buffer`'s bytes as external memory of this thread's isolate until
 * the buffer is collected (native/src/external_memory.cc), so that V8 weighs
 * shared memory like any external memory when it decides to start a
 * collection. Call once per buffer. False without the addon.
 */
export function trackSharedMemory(buffer: SharedArrayBuffer): boolean {
  return nativeKernels()?.trackSharedMemory?.(buffer) ?? false;
}

/** True when {@link trackSharedMemory} reaches V8. */
export function canTrackSharedMemory(): boolean {
  return nativeKernels()?.trackSharedMemory !== undefined;
}

/** The native kernels, or null when they are not built, do not load, or `GANTRY_KERNELS=js`. */
export function nativeKernels(): NativeKernels | null {
  return load().kernels;
}

/** Which implementation `fftc` and the BLAS functions use. */
export function kernelBackend(): 'native' | 'js' {
  return load().kernels ? 'native' : 'js';
}

/** Why the native kernels are not in use, or undefined when they are. */
export function nativeKernelsUnavailableReason(): string | undefined {
  const l = load();
  return l.kernels ? undefined : l.reason;
}
