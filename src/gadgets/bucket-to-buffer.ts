/**
 * BucketToBufferGadget: turns a bucket of readouts into recon buffers
 * (`IsmrmrdReconData`), one per distinct key of the loop counters, with data
 * laid out [E0, E1, E2, CHA, N, S, LOC]. Cartesian lines are centred so that
 * the k-space centre of the encoding limits lands at ⌊matrix/2⌋.
 */
import type { AcquisitionBucket, BucketStats, BufferLattice, DataBuffered, ReconBit, ReconData, SamplingDescription, SamplingLimit } from '../ismrmrd/buffers.js';
import type { Acquisition, AcquisitionHeader } from '../ismrmrd/types.js';
import type { Encoding, IsmrmrdHeader, Limit } from '../ismrmrd/xml-header.js';
import { forEachMessage } from '../engine/channel.js';
import { defineGadget } from '../engine/gadget.js';
import { isBucket } from '../ismrmrd/messages.js';
import { cgemm } from '../kernels/blas.js';
import { copyBlocks } from '../kernels/copy.js';
import { latticeOffset } from '../kernels/lattice.js';
import { float32ChannelMix } from '../kernels/readout-oversampling.js';
import { takeSliceBuffer } from '../engine/slice-buffers.js';
import { reclaimBeforeAllocating } from '../util/gc.js';
import type { ComputePool } from '../engine/thread-pool.js';
import { reconPool, runOnPool, type PlaceReadoutsArgs } from './generic-recon-tasks.js';

const dimensionValues = ['average', 'contrast', 'phase', 'repetition', 'set', 'segment', 'slice', 'none', ''] as const;

/** Options of the buffering (the gadget's properties). */
export interface BufferingOptions {
  N_dimension: string;
  S_dimension: string;
  split_slices: boolean;
  ignore_segment: boolean;
  /**
   * Data buffers may hold only the lines each frame sampled on the lattice
   * of the E1 acceleration ({@link DataBuffered.lattice}): set by the gadget
   * when the chain after it reads such buffers (reference preparation,
   * channel compression, GRAPPA).
   */
  compactLattice?: boolean;
}

type KeyCounters = [number, number, number, number, number, number, number];
const keyNames = ['average', 'slice', 'contrast', 'phase', 'repetition', 'set', 'segment'] as const;

function dimensionIndex(head: AcquisitionHeader, dim: string): number {
  switch (dim) {
    case 'average':
    case 'contrast':
    case 'phase':
    case 'repetition':
    case 'set':
    case 'segment':
    case 'slice':
      return head.idx[dim];
    default:
      return 0;
  }
}

function statsRange(stats: BucketStats | undefined, dim: string): number {
  if (!stats) return 1;
  let set: Set<number> | undefined;
  switch (dim) {
    case 'average':
    case 'contrast':
    case 'phase':
    case 'repetition':
    case 'set':
    case 'slice':
      set = stats[dim];
      break;
    case 'segment':
      set = stats.average; // Gadgetron quirk: the segment range is taken from the average statistics.
      break;
    default:
      return 1;
  }
  if (set.size === 0) return 1;
  let min = Infinity;
  let max = -Infinity;
  for (const v of set) {
    if (v < min) min = v;
    if (v > max) max = v;
  }
  return max - min + 1;
}

function keyOf(head: AcquisitionHeader, opts: BufferingOptions): KeyCounters {
  const key = keyNames.map((name) => head.idx[name]) as KeyCounters;
  const zero = (dim: string): void => {
    const i = (keyNames as readonly string[]).indexOf(dim);
    if (i >= 0) key[i] = 0;
  };
  zero(opts.N_dimension);
  zero(opts.S_dimension);
  if (!opts.split_slices) key[1] = 0;
  if (opts.ignore_segment) key[6] = 0;
  return key;
}

function limitRange(limit: Limit | undefined): number | undefined {
  return limit ? limit.maximum - limit.minimum + 1 : undefined;
}

function minOf(values: Set<number>): number {
  let min = Infinity;
  for (const v of values) if (v < min) min = v;
  return Number.isFinite(min) ? min : 0;
}

function maxOf(values: Set<number>): number {
  let max = -Infinity;
  for (const v of values) if (v > max) max = v;
  return Number.isFinite(max) ? max : 0;
}

function calibrationMode(enc: Encoding): string | undefined {
  return enc.parallelImaging?.calibrationMode;
}

/**
 * Readout copies into a buffer left to compute threads (`placeReadouts` in
 * generic-recon-tasks.ts): readouts in shared memory, `items` 6 numbers
 * each: source index, source offset (floats), samples, first and end sample
 * kept, destination of sample 0 of channel 0 (floats).
 */
export interface PendingPlacement {
  out: Float32Array;
  sources: Float32Array[];
  sourceIndex: Map<ArrayBufferLike, number>;
  items: number[];
  channels: number;
  channelStride: number;
}

/**
 * Allocates and fills one buffer from the readouts of one key and encoding
 * space. With `placements`, readouts in shared memory that need no channel
 * mix are not copied here but listed for the compute threads. A pending mix
 * that is `handedOnMix` is not applied (the caller hands it on to the recon
 * chain, `ReconBit.pendingWhitening`).
 */
export function makeDataBuffered(
  acqs: readonly Acquisition[],
  stats: BucketStats | undefined,
  enc: Encoding,
  opts: BufferingOptions,
  isRef: boolean,
  placements?: PendingPlacement[],
  handedOnMix?: Float64Array,
  latticeFactor?: number,
): DataBuffered {
  const first = (acqs[0] as Acquisition).head;
  const cartesian = enc.trajectory === 'cartesian' || enc.trajectory === 'epi';
  const hasPI = enc.parallelImaging !== undefined;
  const mode = calibrationMode(enc);
  const separateRef = isRef && (mode === 'separate' || mode === 'external');
  const embeddedRef = isRef && mode === 'embedded';
  const interleavedRef = isRef && !separateRef && !embeddedRef;
  const limits = enc.encodingLimits;
  const matrix = enc.encodedSpace.matrixSize;

  let NE0: number;
  if (!cartesian || hasPI) NE0 = first.number_of_samples;
  else NE0 = first.number_of_samples - first.discard_pre - first.discard_post;

  let NE1: number;
  let NE2: number;
  if (separateRef && stats) {
    NE1 = maxOf(stats.kspace_encode_step_1) - minOf(stats.kspace_encode_step_1) + 1;
    NE2 = maxOf(stats.kspace_encode_step_2) - minOf(stats.kspace_encode_step_2) + 1;
  } else if (cartesian && hasPI) {
    NE1 = matrix.y;
    NE2 = matrix.z;
  } else {
    NE1 = limitRange(limits.kspace_encoding_step_1) ?? matrix.y;
    NE2 = limitRange(limits.kspace_encoding_step_2) ?? matrix.z;
  }
  NE1 = Math.max(1, NE1);
  NE2 = Math.max(1, NE2);
  const CHA = first.active_channels;
  const NN = statsRange(stats, opts.N_dimension);
  const NS = statsRange(stats, opts.S_dimension);
  let NLOC = 1;
  if (!opts.split_slices) {
    NLOC = limitRange(limits.slice) ?? (stats ? maxOf(stats.slice) + 1 : 1);
    // Capped by the range received, as in Gadgetron: a bucket sorted by slice holds one location.
    if (stats && stats.slice.size > 0) NLOC = Math.min(NLOC, maxOf(stats.slice) - minOf(stats.slice) + 1);
  }

  const e1Centre = limits.kspace_encoding_step_1?.center ?? Math.floor(matrix.y / 2);
  const e2Centre = limits.kspace_encoding_step_2?.center ?? Math.floor(matrix.z / 2);
  const e1Offset = Math.floor(matrix.y / 2) - e1Centre;
  const e2Offset = matrix.z > 1 ? Math.floor(matrix.z / 2) - e2Centre : 0;
  const refE1Min = separateRef && stats ? minOf(stats.kspace_encode_step_1) : 0;
  const refE2Min = separateRef && stats ? minOf(stats.kspace_encode_step_2) : 0;
  // Embedded calibration lines fill a small block of the grid (24 of 192 lines, say): the buffer holds only that
  // block, not a full-size, mostly zero copy of the data's grid (302 MB per slice for a 32-channel cine). Its E1/E2
  // sampling limits then span the block, with the centre where the grid's centre falls in it.
  let e1Start = 0;
  let e2Start = 0;
  if (embeddedRef && cartesian) {
    const span = (index: (h: AcquisitionHeader) => number, size: number): [number, number] => {
      let lo = Infinity;
      let hi = -Infinity;
      for (const acq of acqs) {
        const i = index(acq.head);
        if (i < 0 || i >= size) continue;
        if (i < lo) lo = i;
        if (i > hi) hi = i;
      }
      return Number.isFinite(lo) ? [lo, hi] : [0, size - 1];
    };
    const [lo1, hi1] = span((h) => h.idx.kspace_encode_step_1 + e1Offset, NE1);
    const [lo2, hi2] = span((h) => h.idx.kspace_encode_step_2 + e2Offset, NE2);
    e1Start = lo1;
    e2Start = lo2;
    NE1 = hi1 - lo1 + 1;
    NE2 = hi2 - lo2 + 1;
  }

  const D = first.trajectory_dimensions;
  // Data sampled on a lattice keep only the sampled lines (a third of the memory at R = 3): E1 is stored as E1 / R.
  const lattice = !isRef && cartesian && NE2 === 1 && D === 0 && latticeFactor !== undefined
    ? frameLattice(acqs, latticeFactor, NE1, e1Offset, opts, NN, NS, NLOC)
    : undefined;
  const factor = lattice ? lattice.factor : 1;
  const SE1 = NE1 / factor;
  const dims = [NE0, SE1, NE2, CHA, NN, NS, NLOC];
  // Shared memory, so the recon gadgets' compute threads read the buffer without a copy (src/engine/thread-pool.ts).
  // A buffer is one slice of hundreds of MB: one handed back by an earlier slice's consumer is reused (src/engine/slice-buffers.ts).
  const data = takeSliceBuffer(2 * NE0 * SE1 * NE2 * CHA * NN * NS * NLOC);
  const pending: PendingPlacement | undefined = placements
    ? { out: data, sources: [], sourceIndex: new Map(), items: [], channels: CHA, channelStride: NE0 * SE1 * NE2 }
    : undefined;
  if (pending) placements?.push(pending);
  const headerDims = [NE1, NE2, NN, NS, NLOC];
  const headers: (AcquisitionHeader | undefined)[] = new Array(NE1 * NE2 * NN * NS * NLOC).fill(undefined);
  const traj = D > 0 ? new Float32Array(D * NE0 * NE1 * NE2 * NN * NS * NLOC) : undefined;

  for (const acq of acqs) {
    const h = acq.head;
    const mixHere = acq.pendingChannelMix !== undefined && acq.pendingChannelMix !== handedOnMix ? acq.pendingChannelMix : undefined;
    if (h.active_channels !== CHA) {
      throw new RangeError(`Cannot buffer readout ${h.scan_counter}: ${h.active_channels} channels where the buffer has ${CHA}`);
    }
    let e1: number;
    let e2: number;
    if (separateRef) {
      e1 = h.idx.kspace_encode_step_1 - (refE1Min > 0 ? refE1Min : 0);
      e2 = h.idx.kspace_encode_step_2 - (refE2Min > 0 ? refE2Min : 0);
    } else if (interleavedRef) {
      e1 = h.idx.kspace_encode_step_1;
      e2 = h.idx.kspace_encode_step_2;
    } else {
      e1 = h.idx.kspace_encode_step_1 + e1Offset - e1Start;
      e2 = h.idx.kspace_encode_step_2 + e2Offset - e2Start;
    }
    if (e1 < 0 || e1 >= NE1 || e2 < 0 || e2 >= NE2) continue;
    const n = Math.min(dimensionIndex(h, opts.N_dimension), NN - 1);
    const s = Math.min(dimensionIndex(h, opts.S_dimension), NS - 1);
    const loc = NLOC > 1 ? Math.min(h.idx.slice, NLOC - 1) : 0;
    const ns = h.number_of_samples;
    const standard = ns === NE0 && (h.center_sample === Math.floor(ns / 2) || h.center_sample >= ns);
    const offset = standard ? 0 : Math.floor(NE0 / 2) - h.center_sample;
    const from = h.discard_pre;
    const to = ns - h.discard_post;
    if (offset + from < 0 || offset + to > NE0) {
      throw new RangeError(`Cannot buffer readout ${h.scan_counter}: ${ns} samples centred at ${h.center_sample} do not fit a readout of ${NE0}`);
    }
    const frame = n + NN * (s + NS * loc);
    const stored = lattice ? (e1 - (lattice.offsets[frame] as number)) / factor : e1;
    const lineBase = NE0 * (stored + SE1 * (e2 + NE2 * (CHA * frame)));
    const chaStride = NE0 * SE1 * NE2;
    if (pending && !mixHere && to > from && acq.data.buffer instanceof SharedArrayBuffer) {
      const buffer = acq.data.buffer;
      let index = pending.sourceIndex.get(buffer);
      if (index === undefined) {
        index = pending.sources.length;
        pending.sources.push(new Float32Array(buffer));
        pending.sourceIndex.set(buffer, index);
      }
      pending.items.push(index, acq.data.byteOffset / 4, ns, from, to, 2 * (lineBase + offset));
    } else if (mixHere && to > from) {
      // Whitening left by NoiseAdjust: line = X·Mᵀ, written straight into the buffer (channel stride as leading dimension).
      const mix = float32ChannelMix(mixHere, CHA);
      cgemm(to - from, CHA, CHA, acq.data.subarray(2 * from), mix, data.subarray(2 * (lineBase + offset + from)), { opB: 'T', lda: ns, ldc: chaStride });
    } else {
      copyBlocks(data, 2 * (lineBase + offset + from), 2 * chaStride, acq.data, 2 * from, 2 * ns, 2 * (to - from), CHA);
    }
    if (traj && acq.traj.length === D * ns) {
      const tBase = D * NE0 * (e1 + NE1 * (e2 + NE2 * (n + NN * (s + NS * loc))));
      traj.set(acq.traj.subarray(D * from, D * to), tBase + D * (offset + from));
    }
    headers[e1 + NE1 * (e2 + NE2 * (n + NN * (s + NS * loc)))] = h;
  }

  const roLimit: SamplingLimit = {
    min: first.discard_pre,
    max: first.number_of_samples - first.discard_post - 1,
    center: Math.floor(first.number_of_samples / 2),
  };
  const limitFor = (limit: Limit | undefined, size: number, centred: boolean, off: number): SamplingLimit => {
    if (!limit) return { min: 0, max: size - 1, center: Math.floor(size / 2) };
    if (centred) return { min: limit.minimum + off, max: limit.maximum + off, center: Math.floor(size / 2) };
    return { min: limit.minimum, max: limit.maximum, center: limit.center };
  };
  const centred = !isRef || embeddedRef;
  const sampling: SamplingDescription = {
    encoded_FOV: [enc.reconSpace.fieldOfView_mm.x, enc.encodedSpace.fieldOfView_mm.y, enc.encodedSpace.fieldOfView_mm.z],
    recon_FOV: [enc.reconSpace.fieldOfView_mm.x, enc.reconSpace.fieldOfView_mm.y, enc.reconSpace.fieldOfView_mm.z],
    encoded_matrix: [cartesian ? enc.reconSpace.matrixSize.x : matrix.x, matrix.y, matrix.z],
    recon_matrix: [enc.reconSpace.matrixSize.x, enc.reconSpace.matrixSize.y, enc.reconSpace.matrixSize.z],
    sampling_limits: embeddedRef && cartesian
      ? [
        roLimit,
        { min: 0, max: NE1 - 1, center: Math.floor(matrix.y / 2) - e1Start },
        { min: 0, max: NE2 - 1, center: Math.floor(matrix.z / 2) - e2Start },
      ]
      : [
        roLimit,
        limitFor(limits.kspace_encoding_step_1, matrix.y, centred, e1Offset),
        limitFor(limits.kspace_encoding_step_2, matrix.z, centred, e2Offset),
      ],
  };
  if (!cartesian) sampling.encoded_FOV[0] = enc.encodedSpace.fieldOfView_mm.x;
  const buffer: DataBuffered = { data: { data, dims }, headers, headerDims, sampling };
  if (lattice) buffer.lattice = lattice;
  if (traj) buffer.trajectory = { data: traj, dims: [D, NE0, NE1, NE2, NN, NS, NLOC] };
  return buffer;
}

/**
 * Each frame's lattice offset when every data readout's E1 line (as placed:
 * `e1Offset` added) lies on lines o_f + m·factor of its frame f = n + N·(s +
 * S·loc) (`latticeOffset`, src/kernels/lattice.ts) and factor divides NE1;
 * else undefined (the buffer keeps the full grid). A frame without readouts gets offset 0 (its
 * lines stay zero).
 */
function frameLattice(
  acqs: readonly Acquisition[], factor: number, NE1: number, e1Offset: number, opts: BufferingOptions, NN: number, NS: number, NLOC: number,
): BufferLattice | undefined {
  if (!(Number.isInteger(factor) && factor > 1) || NE1 % factor !== 0) return undefined;
  const lines: number[][] = Array.from({ length: NN * NS * NLOC }, () => []);
  for (const acq of acqs) {
    const h = acq.head;
    const e1 = h.idx.kspace_encode_step_1 + e1Offset;
    if (e1 < 0 || e1 >= NE1) continue;
    const n = Math.min(dimensionIndex(h, opts.N_dimension), NN - 1);
    const s = Math.min(dimensionIndex(h, opts.S_dimension), NS - 1);
    const loc = NLOC > 1 ? Math.min(h.idx.slice, NLOC - 1) : 0;
    (lines[n + NN * (s + NS * loc)] as number[]).push(e1);
  }
  const offsets: number[] = [];
  for (const frame of lines) {
    const o = frame.length > 0 ? latticeOffset(frame, factor, NE1) : 0;
    if (o < 0) return undefined;
    offsets.push(o);
  }
  return { factor, offsets };
}

function compareKeys(a: KeyCounters, b: KeyCounters): number {
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The whitening to hand on to the recon chain for one bit: when every readout
 * (data and reference) carries the same mix marked for the recon
 * (`channelMixToRecon`, set by NoiseAdjust after checking the chain); else
 * undefined, and mixes are applied while placing.
 */
function mixForRecon(data: readonly Acquisition[], ref: readonly Acquisition[]): Float64Array | undefined {
  const mix = data[0]?.pendingChannelMix;
  if (!mix) return undefined;
  const same = (a: Acquisition): boolean => a.pendingChannelMix === mix && a.channelMixToRecon === true;
  return data.every(same) && ref.every(same) ? mix : undefined;
}

/**
 * Converts one bucket into recon buffers, in ascending key order. With
 * `placements`, copies of readouts in shared memory are listed there for
 * {@link placeOnPool} instead of done here.
 */
export function bucketToBuffers(bucket: AcquisitionBucket, header: IsmrmrdHeader, opts: BufferingOptions, placements?: PendingPlacement[]): ReconData[] {
  const groups = new Map<string, { key: KeyCounters; data: Acquisition[][]; ref: Acquisition[][] }>();
  const add = (acq: Acquisition, which: 'data' | 'ref'): void => {
    const key = keyOf(acq.head, opts);
    const id = key.join(',');
    let g = groups.get(id);
    if (!g) {
      g = { key, data: [], ref: [] };
      groups.set(id, g);
    }
    const e = acq.head.encoding_space_ref;
    const list = g[which];
    while (list.length <= e) list.push([]);
    (list[e] as Acquisition[]).push(acq);
  };
  for (const acq of bucket.data) add(acq, 'data');
  for (const acq of bucket.ref) add(acq, 'ref');
  const ordered = [...groups.values()].sort((a, b) => compareKeys(a.key, b.key));
  const out: ReconData[] = [];
  for (const g of ordered) {
    const rbit: ReconBit[] = [];
    const spaces = Math.max(g.data.length, g.ref.length);
    for (let e = 0; e < spaces; e++) {
      const enc = header.encoding[e];
      if (!enc) throw new RangeError(`Cannot buffer readouts of encoding space ${e}: the header has ${header.encoding.length} encodings`);
      const dataAcqs = g.data[e] ?? [];
      const refAcqs = g.ref[e] ?? [];
      if (dataAcqs.length === 0) continue;
      const handedOn = mixForRecon(dataAcqs, refAcqs);
      const factor = opts.compactLattice ? enc.parallelImaging?.accelerationFactor?.kspace_encoding_step_1 : undefined;
      const bit: ReconBit = { data: makeDataBuffered(dataAcqs, bucket.datastats[e], enc, opts, false, placements, handedOn, factor) };
      if (refAcqs.length > 0) bit.ref = makeDataBuffered(refAcqs, bucket.refstats[e], enc, opts, true, placements, handedOn);
      if (handedOn) bit.pendingWhitening = handedOn;
      rbit.push(bit);
    }
    if (rbit.length > 0) out.push({ kind: 'recondata', rbit });
  }
  return out;
}

/** Buckets smaller than this (floats of readout data) are placed on the calling thread: no worker thread is started for a small scan. */
const POOL_PLACEMENT_FLOATS = 8 << 20;

function bucketFloats(bucket: AcquisitionBucket): number {
  let n = 0;
  for (const a of bucket.data) n += a.data.length;
  for (const a of bucket.ref) n += a.data.length;
  return n;
}

/** Readouts per placement piece (64 KiB each for 32 channels of 256 samples: a piece is about 16 MB). */
const PLACEMENT_PIECE = 256;

/** Does the copies listed in `placements` on the pool's threads (the calling thread takes pieces too). */
export async function placeOnPool(pool: ComputePool, placements: readonly PendingPlacement[]): Promise<void> {
  const jobs: (readonly ['placeReadouts', PlaceReadoutsArgs])[] = [];
  for (const p of placements) {
    const count = p.items.length / 6;
    for (let from = 0; from < count; from += PLACEMENT_PIECE) {
      const to = Math.min(count, from + PLACEMENT_PIECE);
      jobs.push(['placeReadouts', {
        out: p.out, sources: p.sources, items: Float64Array.from(p.items.slice(6 * from, 6 * to)), channels: p.channels, channelStride: p.channelStride,
      }]);
    }
  }
  if (jobs.length === 0) return;
  await runOnPool(pool, (function* () {
    yield jobs;
  })());
}

/** Gadgets that take compact (lattice) data buffers on to the next gadget unchanged in layout. */
const COMPACT_PASSERS = new Set(['GenericReconCartesianReferencePrepGadget', 'GenericReconEigenChannelGadget']);

/**
 * True when the chain after BucketToBuffer reads compact data buffers
 * ({@link DataBuffered.lattice}): reference preparation and channel
 * compression, in any number, then GRAPPA, which consumes the data. Any other
 * gadget gets buffers on the full grid, as Gadgetron's.
 */
export function readsCompactBuffers(downstream: readonly string[]): boolean {
  let i = 0;
  while (i < downstream.length && COMPACT_PASSERS.has(downstream[i] as string)) i++;
  return downstream[i] === 'GenericReconCartesianGrappaGadget';
}

export const bucketToBufferGadget = defineGadget({
  name: 'BucketToBufferGadget',
  classNames: ['BucketToBufferGadget'],
  properties: {
    N_dimension: { type: 'enum', values: dimensionValues, default: '', caseInsensitive: true },
    S_dimension: { type: 'enum', values: dimensionValues, default: '', caseInsensitive: true },
    split_slices: { type: 'boolean', default: false },
    ignore_segment: { type: 'boolean', default: false },
    verbose: { type: 'boolean', default: false },
  },
  strict: false,
  description: 'Sorts bucketed readouts into recon buffers [E0, E1, E2, CHA, N, S, LOC]',
  accepts: isBucket,
  async run(input, output, props, context) {
    const header = context.header;
    const opts: BufferingOptions = {
      N_dimension: props.N_dimension === 'none' ? '' : props.N_dimension,
      S_dimension: props.S_dimension === 'none' ? '' : props.S_dimension,
      split_slices: props.split_slices,
      ignore_segment: props.ignore_segment,
      compactLattice: readsCompactBuffers(context.downstream ?? []),
    };
    const pool = reconPool();
    await forEachMessage(input, async (message) => {
      if (!header) throw new Error('Cannot buffer readouts without an ISMRMRD header');
      const placements: PendingPlacement[] | undefined = pool.workers > 0 && bucketFloats(message) >= POOL_PLACEMENT_FLOATS ? [] : undefined;
      const buffers = bucketToBuffers(message, header, opts, placements);
      const bytes = buffers.reduce((sum, b) => sum + b.rbit.reduce((t, bit) => t + 4 * bit.data.data.data.length, 0), 0);
      if (placements) await placeOnPool(pool, placements);
      // The bucket's readouts are in the buffers now: let them go, and collect them before the next slice's readouts
      // pile up (for a slice of hundreds of MB; src/util/gc.ts), so that one slice's readouts are resident, not two.
      message = undefined as unknown as AcquisitionBucket;
      // Not trimmed here (glibc malloc_trim): the freed pages are the next slice's memory, and giving them back
      // costs a page fault per 4 KiB when they are used again (2.5 s of 18.5 on the 16-slice cine); an idle
      // pipeline gives them back (src/engine/slice-buffers.ts).
      reclaimBeforeAllocating(bytes);
      for (const buffer of buffers) await output.push(buffer);
    });
  },
});
