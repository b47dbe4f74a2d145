/**
 * The pieces of generic Cartesian reconstruction that run on compute threads
 * (src/engine/thread-pool.ts), and the driver that runs a reconstruction's
 * steps either inline or on a pool.
 *
 * A reconstruction is written once as a generator of {@link JobBatch}es: it
 * yields a batch of independent tasks (one per frame, block or channel
 * range), gets their results back in order, and goes on. {@link runInline}
 * runs each batch on the calling thread, {@link runOnPool} spreads it over
 * the pool's threads; both run the same task functions on the same pieces,
 * so the bits of the result do not depend on the thread count. Large arrays
 * are passed as views of shared memory when a pool has threads.
 */
import { sharedComputePool, type ComputePool } from '../engine/thread-pool.js';
import type { CMatrix } from '../kernels/dense.js';
import { coilCombine, coilMapsOfKspace, type CoilMapSettings } from '../kernels/coil-maps.js';
import { rootSumOfSquares } from '../kernels/complex-ops.js';
import { fftc, fftcFrom } from '../kernels/fft.js';
import { gatherLattice, latticePhase, latticeRuns } from '../kernels/lattice.js';
import { channelSumInto, channelSumStrided, finishChannelSum } from '../kernels/channel-sum.js';
import {
  grappaUnmixingChannels, normalEquationPiece, type GrappaConvolutionKernel, type GrappaSystem, type NormalEquations,
} from '../kernels/grappa.js';
import { applyChannelRotation } from '../kernels/klt.js';
import { applyNoiseWhitening } from '../kernels/noise-whitening.js';
import { cgemm } from '../kernels/blas.js';
import { applySeparableFilter } from '../kernels/filters.js';
import { copyBlocks } from '../kernels/copy.js';
import { removeOversamplingInto } from '../kernels/readout-oversampling.js';

/** Arguments of `grappaNormalPiece`: piece `part` of a calibration's normal equations (kernels/grappa.ts), into its rows and columns of `out`. */
export interface GrappaNormalPieceArgs {
  system: GrappaSystem;
  part: 0 | 1;
  out: NormalEquations;
}

/** Arguments of `grappaUnmixing`: channels [from, to) of one block's weights. */
export interface GrappaUnmixingArgs {
  conv: GrappaConvolutionKernel;
  maps: Float32Array;
  grid: [number, number, number];
  from: number;
  to: number;
  unmixing: Float32Array;
}

/** Arguments of `grappaUnwrap`: frames (data block b, weights block ub) of [RO, E1, E2, CHA] data into `out` (vol per frame). */
export interface GrappaUnwrapArgs {
  data: Float32Array;
  dims: [number, number, number, number];
  frames: [number, number][];
  unmixing: Float32Array;
  /** Channels of the weights per block. */
  weightChannels: number;
  /** Channels combined. */
  channels: number;
  scale: number;
  out: Float32Array;
  /**
   * E1 acceleration R of lattice-sampled frames, and for each of `frames`
   * the offset o of its lattice (lines o, o + R, …; −1 for a frame not on
   * one): those take the M-point transform of src/kernels/lattice.ts. With
   * `compact`, `data` holds only the lattice lines (DataBuffered.lattice:
   * [RO, E1 / R, 1, CHA] per frame) and every frame is on its lattice.
   */
  lattice?: { factor: number; offsets: number[]; compact?: boolean };
}

/** Arguments of `coilMaps`: one block of low-resolution k-space into `out`. */
export interface CoilMapsArgs {
  kspace: Float32Array;
  dims: [number, number, number, number];
  options: CoilMapSettings;
  out: Float32Array;
}

/** Arguments of `channelRotation`: blocks of `points` × C samples rotated by their V into `kept` channels. */
export interface ChannelRotationArgs {
  src: Float32Array;
  dst: Float32Array;
  points: number;
  channels: number;
  kept: number;
  /** [block, V] pairs: V is C × C, column-major complex (float64). */
  blocks: [number, Float64Array][];
}

/**
 * Arguments of `unmixingRotation`: pixels [from, to) of unmixing weights
 * `weights` ([vol, C], column-major complex) times Vᵀ (`v`, C × C
 * column-major complex float32) into the same pixels of `out`.
 */
export interface UnmixingRotationArgs {
  weights: Float32Array;
  v: Float32Array;
  out: Float32Array;
  vol: number;
  channels: number;
  from: number;
  to: number;
}

function unmixingRotation(a: UnmixingRotationArgs): null {
  const { vol, channels: C, from, to } = a;
  if (to > from) cgemm(to - from, C, C, a.weights.subarray(2 * from), a.v, a.out.subarray(2 * from), { opB: 'T', lda: vol, ldc: vol });
  return null;
}

/**
 * Arguments of `kspaceFilter`: volumes [from, to) of images `data`
 * ([E0, E1, E2] per volume) taken to k-space, multiplied by the separable
 * filters (undefined: none along that axis) and taken back, into the same
 * volumes of `out`.
 */
export interface KSpaceFilterArgs {
  data: Float32Array;
  size: [number, number, number];
  from: number;
  to: number;
  filters: [Float64Array | undefined, Float64Array | undefined, Float64Array | undefined];
  out: Float32Array;
}

function kspaceFilter(a: KSpaceFilterArgs): null {
  const vol = a.size[0] * a.size[1] * a.size[2];
  const block = a.out.subarray(2 * vol * a.from, 2 * vol * a.to);
  const dims = [...a.size, a.to - a.from];
  fftcFrom(a.data.subarray(2 * vol * a.from, 2 * vol * a.to), block, dims, [0, 1, 2], false);
  applySeparableFilter(block, dims, a.filters[0], a.filters[1], a.filters[2]);
  fftc(block, dims, [0, 1, 2], true);
  return null;
}

function grappaNormalPiece(a: GrappaNormalPieceArgs): null {
  normalEquationPiece(a.system, a.part, a.out);
  return null;
}

function grappaUnmixing(a: GrappaUnmixingArgs): null {
  grappaUnmixingChannels(a.conv, a.maps, a.grid, a.from, a.to, a.unmixing);
  return null;
}

/**
 * Scratch for one frame's aliased channel images, reused from task to task
 * (a thread runs one task at a time; each worker has its own module): a
 * fresh 12.6 MB array per frame task was a third of the cine scan's
 * allocations, and each one brought the next garbage collection closer.
 */
let frameScratch = new Float32Array(0);

function frameArea(length: number): Float32Array {
  if (frameScratch.length < length) frameScratch = new Float32Array(length);
  return frameScratch.subarray(0, length);
}

/** Coil images per FFT in `grappaUnwrap`: a piece of a frame stays in cache between its FFT and its unmixing. */
const UNWRAP_CHANNELS = 4;

/** The float64 sums of the frames of a group in `grappaUnwrap`, reused like the frame scratch. */
const unwrapSums: Float64Array[] = [];

function grappaUnwrap(a: GrappaUnwrapArgs): null {
  const [RO, E1, E2, CHA] = a.dims;
  const vol = RO * E1 * E2;
  const Cu = a.weightChannels;
  const channels = Math.min(a.channels, CHA);
  const axes = E2 > 1 ? [0, 1, 2] : [0, 1];
  const R = a.lattice?.factor ?? 1;
  const M = E1 / R;
  const lattice = E2 === 1 && a.lattice !== undefined && E1 % R === 0;
  const compact = lattice && a.lattice?.compact === true;
  // Floats of a frame's channel in `data`: the full grid, or the M lattice lines of a compact buffer.
  const stored = compact ? RO * M : vol;
  const block = stored * CHA;
  const piece = 2 * RO * M * Math.min(UNWRAP_CHANNELS, Math.max(channels, 1));
  const runs = lattice ? latticeRuns(E1, R) : [];
  const offsetOf = (i: number): number => (lattice ? (a.lattice?.offsets[i] ?? -1) : -1);
  // Per frame: the combined channels in pieces (inverse FFT, then Σ_c u_c·a_c continued in float64), so
  // each pixel's sum runs over the channels in order as in applyUnmixing: the same bits, whatever the pieces.
  // A frame on a lattice of E1 lines takes the M-point transform of its sampled lines, read R times over
  // by the channel sum (the same sums, pixel by pixel); the phase ramp that completes it is common to the
  // channels and goes on the sum (src/kernels/lattice.ts). Lattice frames with the same weights go in
  // groups of UNWRAP_GROUP, a piece of channels at a time for all of them: each piece of the weights
  // (1.5 MB for 4 channels of 256 × 192) is read from memory once per group, not once per frame.
  for (let i0 = 0; i0 < a.frames.length;) {
    const [b0, ub] = a.frames[i0] as [number, number];
    const weights = a.unmixing.subarray(2 * vol * Cu * ub, 2 * vol * Cu * (ub + 1));
    if (offsetOf(i0) < 0) {
      if (compact) throw new RangeError('Cannot unwrap a compact buffer: a frame is not on its lattice');
      const acc = unwrapAccumulator(0, vol);
      const work = frameArea(2 * vol * Math.min(UNWRAP_CHANNELS, Math.max(channels, 1)));
      for (let c0 = 0; c0 < channels; c0 += UNWRAP_CHANNELS) {
        const n = Math.min(UNWRAP_CHANNELS, channels - c0);
        const im = work.subarray(0, 2 * vol * n);
        fftcFrom(a.data.subarray(2 * (block * b0 + vol * c0), 2 * (block * b0 + vol * (c0 + n))), im, [RO, E1, E2, n], axes, true);
        channelSumInto(weights.subarray(2 * vol * c0, 2 * vol * (c0 + n)), im, vol, n, false, acc);
      }
      finishChannelSum(acc, vol, a.scale, a.out.subarray(2 * vol * b0, 2 * vol * (b0 + 1)));
      i0 += 1;
      continue;
    }
    let i1 = i0 + 1;
    while (i1 < a.frames.length && i1 - i0 < UNWRAP_GROUP && (a.frames[i1] as [number, number])[1] === ub && offsetOf(i1) >= 0) i1++;
    const group = i1 - i0;
    const lines = frameArea(piece * group);
    const accs = Array.from({ length: group }, (_v, g) => unwrapAccumulator(g, vol));
    for (let c0 = 0; c0 < channels; c0 += UNWRAP_CHANNELS) {
      const n = Math.min(UNWRAP_CHANNELS, channels - c0);
      for (let g = 0; g < group; g++) {
        const b = (a.frames[i0 + g] as [number, number])[0];
        const mine = lines.subarray(piece * g, piece * g + 2 * RO * M * n);
        gatherLattice(mine, a.data, 2 * (block * b + stored * c0), 2 * stored, RO, E1, R, offsetOf(i0 + g), n, compact);
        fftc(mine, [RO, M, 1, n], axes, true);
        const acc = accs[g] as Float64Array;
        for (const [u, from, len] of runs) {
          channelSumStrided(weights.subarray(2 * (vol * c0 + RO * u)), mine.subarray(2 * RO * from), RO * len, n, false, acc.subarray(2 * RO * u), vol, RO * M);
        }
      }
    }
    for (let g = 0; g < group; g++) {
      const b = (a.frames[i0 + g] as [number, number])[0];
      const acc = accs[g] as Float64Array;
      latticePhase(acc, RO, E1, R, offsetOf(i0 + g));
      finishChannelSum(acc, vol, a.scale, a.out.subarray(2 * vol * b, 2 * vol * (b + 1)));
    }
    i0 = i1;
  }
  return null;
}

/** Lattice frames with the same weights unwrapped together in `grappaUnwrap`. */
export const UNWRAP_GROUP = 3;

/** Accumulator g of `grappaUnwrap` (2·vol float64, zeroed), reused like the frame scratch. */
function unwrapAccumulator(g: number, vol: number): Float64Array {
  let acc = unwrapSums[g];
  if (!acc || acc.length < 2 * vol) {
    acc = new Float64Array(2 * vol);
    unwrapSums[g] = acc;
  }
  const view = acc.subarray(0, 2 * vol);
  view.fill(0);
  return view;
}

/** Arguments of `fftCombine`: frames (data block b, maps block mb) of [RO, E1, E2, CHA] data: inverse FFT, then Σ_c conj(m_c)·x_c into `out`. */
export interface FftCombineArgs {
  data: Float32Array;
  dims: [number, number, number, number];
  frames: [number, number][];
  maps: Float32Array;
  out: Float32Array;
}

/** Arguments of `rssFrames`: blocks of [E0, E1, E2, CHA] data: inverse FFT over E0/E1/E2, root sum of squares into the real parts of `out`. */
export interface RssFramesArgs {
  data: Float32Array;
  dims: [number, number, number, number];
  blocks: number[];
  out: Float32Array;
  /** Transform the blocks of `data` in place (the caller owns the buffer, as Gadgetron's SimpleRecon does) instead of a copy. */
  inPlace?: boolean;
}

function fftCombine(a: FftCombineArgs): null {
  const [RO, E1, E2, CHA] = a.dims;
  const vol = RO * E1 * E2;
  const block = vol * CHA;
  const im = new Float32Array(2 * block);
  for (const [b, mb] of a.frames) {
    fftcFrom(a.data.subarray(2 * block * b, 2 * block * (b + 1)), im, [RO, E1, E2, CHA], E2 > 1 ? [0, 1, 2] : [0, 1], true);
    coilCombine(im, a.maps.subarray(2 * block * mb, 2 * block * (mb + 1)), vol, CHA, a.out.subarray(2 * vol * b, 2 * vol * (b + 1)));
  }
  return null;
}

function rssFrames(a: RssFramesArgs): null {
  const [E0, E1, E2, CHA] = a.dims;
  const image = E0 * E1 * E2;
  const block = image * CHA;
  const copy = a.inPlace === true ? undefined : new Float32Array(2 * block);
  const rss = new Float32Array(image);
  for (const b of a.blocks) {
    const src = a.data.subarray(2 * b * block, 2 * (b + 1) * block);
    const work = copy ?? src;
    fftcFrom(src, work, [E0, E1, E2, CHA], [0, 1, 2], true);
    rootSumOfSquares(work, [E0, E1, E2, CHA], 3, rss);
    const base = 2 * b * image;
    for (let i = 0; i < image; i++) a.out[base + 2 * i] = rss[i] as number;
  }
  return null;
}

/**
 * The output array of a readout batch: `out` where the caller made it, else a
 * new shared array of `floats` made on this thread, which the task returns (the
 * caller reports it to V8's collections: gadgets/readout-batches.ts).
 */
function batchOutput(out: Float32Array | null, floats: number): Float32Array {
  return out ?? new Float32Array(new SharedArrayBuffer(4 * floats));
}

/** Arguments of `noiseWhitening`: readouts `inputs[k]` whitened into `out` at `offsets[k]` (floats); `out` null: made here, `outFloats` floats, and returned. */
export interface NoiseWhiteningArgs {
  inputs: Float32Array[];
  out: Float32Array | null;
  outFloats: number;
  offsets: number[];
  samples: number[];
  channels: number;
  matrix: Float64Array;
}

function noiseWhitening(a: NoiseWhiteningArgs): Float32Array {
  const out = batchOutput(a.out, a.outFloats);
  a.offsets.forEach((offset, k) => {
    const n = 2 * (a.samples[k] as number) * a.channels;
    applyNoiseWhitening((a.inputs[k] as Float32Array).subarray(0, n), a.samples[k] as number, a.channels, a.matrix, out.subarray(offset, offset + n));
  });
  return out;
}

/**
 * Arguments of `removeOversampling`: readouts `inputs[k]` cut to `kept[k]` of `samples[k]` samples into `out` at
 * `outOffsets[k]`, mixed by `mix` when given; `out` null: made here, `outFloats` floats, and returned.
 */
export interface OversamplingRemovalArgs {
  inputs: readonly Float32Array[];
  out: Float32Array | null;
  outFloats: number;
  outOffsets: readonly number[];
  samples: readonly number[];
  kept: readonly number[];
  channels: number;
  /** Channel mix (channels², column-major interleaved complex float32), or null. */
  mix: Float32Array | null;
}

function removeOversampling(a: OversamplingRemovalArgs): Float32Array {
  const out = batchOutput(a.out, a.outFloats);
  a.inputs.forEach((input, k) => {
    const samples = a.samples[k] as number;
    const kept = a.kept[k] as number;
    const to = (a.outOffsets[k] as number);
    removeOversamplingInto(
      input.subarray(0, 2 * samples * a.channels), samples, a.channels, kept,
      out.subarray(to, to + 2 * kept * a.channels), a.mix ?? undefined,
    );
  });
  return out;
}

/**
 * Arguments of `placeReadouts`: readouts copied into a recon buffer `out`;
 * `items` has 6 numbers per readout: index into `sources`, offset there
 * (floats), samples ns, first and end sample kept [from, to), and the
 * destination of sample 0 of channel 0 (floats); channel c goes
 * `channelStride` complex samples further.
 */
export interface PlaceReadoutsArgs {
  out: Float32Array;
  sources: Float32Array[];
  items: Float64Array;
  channels: number;
  channelStride: number;
}

function placeReadouts(a: PlaceReadoutsArgs): null {
  const { out, items, channels, channelStride } = a;
  for (let k = 0; k < items.length; k += 6) {
    const src = a.sources[items[k] as number] as Float32Array;
    const at = items[k + 1] as number;
    const ns = items[k + 2] as number;
    const from = items[k + 3] as number;
    const to = items[k + 4] as number;
    const dst = items[k + 5] as number;
    copyBlocks(out, dst + 2 * from, 2 * channelStride, src, at + 2 * from, 2 * ns, 2 * (to - from), channels);
  }
  return null;
}

function coilMaps(a: CoilMapsArgs): null {
  coilMapsOfKspace(a.kspace, a.dims, a.options, a.out);
  return null;
}

function channelRotation(a: ChannelRotationArgs): null {
  const { points, channels, kept } = a;
  for (const [b, data] of a.blocks) {
    const V: CMatrix = { rows: channels, cols: channels, data };
    applyChannelRotation(
      a.src.subarray(2 * points * channels * b, 2 * points * channels * (b + 1)), points, V, kept,
      a.dst.subarray(2 * points * kept * b, 2 * points * kept * (b + 1)),
    );
  }
  return null;
}

/** The task table the compute threads load. */
export const tasks = { kspaceFilter, grappaNormalPiece, grappaUnmixing, unmixingRotation, grappaUnwrap, coilMaps, channelRotation, fftCombine, rssFrames, noiseWhitening, removeOversampling, placeReadouts } as const;

/** Task names. */
export type ReconTaskName = keyof typeof tasks;

/** A batch of independent tasks: [name, arguments]. */
export type JobBatch = readonly (readonly [ReconTaskName, unknown])[];

/**
 * Steps of a reconstruction: yields batches, receives each batch's results
 * in order, returns the result. The second argument of the generator
 * functions that make them says whether arrays must be shared (pool with
 * threads) and into how many pieces to split work.
 */
export type ReconSteps<T> = Generator<JobBatch, T, unknown[]>;

/** How steps are run: on which pool (none: inline). */
export interface ReconExecution {
  /** Allocate large arrays in shared memory. */
  readonly shared: boolean;
  /** Pieces to split divisible work into (the thread count). */
  readonly parts: number;
}

/** Inline execution: plain memory, one piece. */
export const INLINE: ReconExecution = { shared: false, parts: 1 };

/**
 * URL of this module, for the pool's workers: named by file so that it is
 * this module's entry file also where a bundle put its code in a shared
 * chunk (scripts/build-cli.mjs makes `generic-recon-tasks.js` an entry).
 */
export const RECON_TASKS_URL = new URL('./generic-recon-tasks.js', import.meta.url).href;

/** The process-wide pool that runs these tasks. */
export function reconPool(): ComputePool {
  return sharedComputePool(RECON_TASKS_URL);
}

/** Execution settings for `pool`. */
export function executionOf(pool: ComputePool): ReconExecution {
  return pool.workers > 0 ? { shared: true, parts: pool.workers + 1 } : INLINE;
}

/** Runs steps on the calling thread. */
export function runInline<T>(steps: ReconSteps<T>): T {
  let r = steps.next([]);
  while (!r.done) {
    const results = r.value.map(([name, args]) => (tasks[name] as (a: unknown) => unknown)(args));
    r = steps.next(results);
  }
  return r.value;
}

/** Runs one task of this module by name (on the calling thread). */
export function runTask(name: string, args: unknown): unknown {
  const task = tasks[name as ReconTaskName] as ((a: unknown) => unknown) | undefined;
  if (!task) throw new Error(`Cannot run compute task '${name}': no such task`);
  return task(args);
}

const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/**
 * Runs steps with each batch spread over `pool`'s workers and the calling
 * thread: the batch goes to the pool, and the event-loop thread (one of the
 * `--threads`) takes waiting pieces itself, one per turn of the event loop,
 * whenever it has nothing else to do: reading, decoding and the streaming
 * gadgets go first, so the next slice keeps arriving while this one
 * computes. Everything runs inline when the pool has no workers. Which
 * thread runs a piece never changes its bits.
 */
export async function runOnPool<T>(pool: ComputePool, steps: ReconSteps<T>): Promise<T> {
  if (pool.workers === 0) return runInline(steps);
  let r = steps.next([]);
  while (!r.done) {
    // The calling thread's share of the batch waits for it (the last pieces): workers take it only when idle.
    const all = pool.all<unknown>(r.value, { callerShare: Math.ceil(r.value.length / (pool.workers + 1)) });
    let settled = false;
    all.then(() => { settled = true; }, () => { settled = true; });
    while (!settled) {
      await nextTurn();
      if (settled || !pool.helpOnce(runTask)) break;
    }
    r = steps.next(await all);
  }
  return r.value;
}

/** Splits [0, n) into at most `parts` contiguous, nearly equal ranges. */
export function splitRange(n: number, parts: number): [number, number][] {
  const k = Math.max(1, Math.min(n, parts));
  const out: [number, number][] = [];
  for (let i = 0; i < k; i++) {
    const from = Math.floor((n * i) / k);
    const to = Math.floor((n * (i + 1)) / k);
    if (to > from) out.push([from, to]);
  }
  return out;
}
