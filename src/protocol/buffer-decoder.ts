/**
 * Frame readers for Gadgetron's generic-reconstruction messages: recon
 * buffers (1023), image arrays (1024) and acquisition buckets (1050).
 *
 * They are generators in the style of {@link FrameDecoder}'s own readers: each
 * `yield` hands out one buffer to be filled, fixed parts in the decoder's
 * scratch, payloads in fresh typed arrays. Every count and dimension read from
 * the wire is checked against the limits before anything is allocated. Byte
 * layouts: `docs/wire-formats.md`.
 */
import type {
  AcquisitionBucket,
  BucketStats,
  DataBuffered,
  ImageArray,
  ReconBit,
  ReconData,
} from '../ismrmrd/buffers.js';
import {
  ACQUISITION_HEADER_SIZE,
  IMAGE_HEADER_SIZE,
  WAVEFORM_HEADER_SIZE,
  decodeAcquisitionHeader,
  decodeImageHeader,
  decodeWaveformHeader,
} from '../ismrmrd/header-codec.js';
import type { Acquisition, AcquisitionHeader, ImageHeader, MetaContainer, Waveform, WaveformHeader } from '../ismrmrd/types.js';
import {
  BUCKET_META_SIZE,
  BUCKET_STATS_FIELDS,
  MAX_ARRAY_DIMENSIONS,
  SAMPLING_DESCRIPTION_SIZE,
  decodeSamplingDescription,
  isUnsampledHeader,
} from './buffer-layout.js';
import type { BucketFrame, ImageArrayFrame, ReconDataFrame } from './frames.js';
import type { ProtocolLimits } from './limits.js';

type PartReader<T> = Generator<Uint8Array, T, undefined>;

/** What a {@link FrameDecoder} lends these readers. */
export interface PartContext {
  readonly limits: ProtocolLimits;
  /** The first `size` bytes of the decoder's scratch buffer (at most 1024). */
  fixed(size: number): Uint8Array;
  /** A view over the whole scratch buffer. */
  readonly view: DataView;
  /** Throws a {@link ProtocolError} naming the message being decoded. */
  fail(code: 'MESSAGE_TOO_LARGE' | 'MALFORMED_MESSAGE', detail: string, cause?: unknown): never;
  /** Checks `size` against `limit`; returns it as a number. */
  limit(part: string, size: number | bigint, limit: number, verb?: string): number;
  /** Checks that a frame of at least (or, with `final`, exactly) `bytes` bytes fits `maxMessageBytes`. */
  total(bytes: number | bigint, final: boolean): void;
  /** Parses meta XML (a trailing NUL and '' allowed). */
  meta(bytes: Uint8Array, part: string): MetaContainer;
}

const ID_SIZE = 2;
/** Fewest bytes a `DataBuffered` can take: two empty arrays, two absent options, the sampling. */
const MIN_DATA_BUFFERED = 8 + 1 + 1 + 8 + SAMPLING_DESCRIPTION_SIZE;

/** Bytes of the frame read so far; every growth is checked against `maxMessageBytes`. */
class Progress {
  bytes = ID_SIZE;
  constructor(private readonly ctx: PartContext) {}

  /** Accounts for `n` more bytes about to be read. */
  add(n: number): void {
    this.bytes += n;
    this.ctx.total(this.bytes, false);
  }

  /** Fails unless `count` items of at least `each` bytes can still fit the message. */
  room(count: bigint, each: number): number {
    this.ctx.total(BigInt(this.bytes) + count * BigInt(each), false);
    return Number(count);
  }
}

function* u64(ctx: PartContext, at: Progress): PartReader<bigint> {
  at.add(8);
  yield ctx.fixed(8);
  return ctx.view.getBigUint64(0, true);
}

function* flag(ctx: PartContext, at: Progress, part: string): PartReader<boolean> {
  at.add(1);
  yield ctx.fixed(1);
  const value = ctx.view.getUint8(0);
  if (value > 1) ctx.fail('MALFORMED_MESSAGE', `${part} presence flag is ${value}, not 0 or 1`);
  return value === 1;
}

/**
 * `u64` count + `u64` dimensions; returns the element count (0 when there are
 * no dimensions) and a function giving the dimensions as numbers, to be called
 * once the size has passed its limit.
 */
function* dimensions(ctx: PartContext, at: Progress, part: string): PartReader<{ elements: bigint; dims: () => number[] }> {
  const count = yield* u64(ctx, at);
  if (count > BigInt(MAX_ARRAY_DIMENSIONS)) {
    ctx.fail('MALFORMED_MESSAGE', `${part} has ${count} dimensions, more than ${MAX_ARRAY_DIMENSIONS}`);
  }
  const n = Number(count);
  at.add(8 * n);
  yield ctx.fixed(8 * n);
  const wide: bigint[] = [];
  for (let i = 0; i < n; i++) wide.push(ctx.view.getBigUint64(8 * i, true));
  const elements = wide.reduce((product, d) => product * d, n === 0 ? 0n : 1n);
  const dims = (): number[] =>
    wide.map((d, i) => (d > BigInt(Number.MAX_SAFE_INTEGER) ? ctx.fail('MALFORMED_MESSAGE', `${part} dimension ${i} of ${d} is too large`) : Number(d)));
  return { elements, dims };
}

/** An `hoNDArray` of float32 (`components` = 1) or complex float32 (2). */
function* floatArray(ctx: PartContext, at: Progress, part: string, components: 1 | 2): PartReader<{ data: Float32Array; dims: number[] }> {
  const { elements, dims } = yield* dimensions(ctx, at, part);
  const bytes = ctx.limit(part, elements * BigInt(4 * components), ctx.limits.maxArrayBytes);
  const shape = dims();
  at.add(bytes);
  const data = new Float32Array(bytes / 4);
  yield new Uint8Array(data.buffer);
  return { data, dims: shape };
}

/** An `hoNDArray` of fixed-size records, each read through the scratch buffer and decoded by `decode`. */
function* recordArray<T>(
  ctx: PartContext,
  at: Progress,
  part: string,
  size: number,
  decode: (bytes: Uint8Array) => T,
): PartReader<{ items: T[]; dims: number[] }> {
  const { elements, dims } = yield* dimensions(ctx, at, part);
  const count = ctx.limit(part, elements * BigInt(size), ctx.limits.maxArrayBytes) / size;
  const shape = dims();
  at.add(count * size);
  const items: T[] = [];
  for (let i = 0; i < count; i++) {
    const bytes = ctx.fixed(size);
    yield bytes;
    items.push(decode(bytes));
  }
  return { items, dims: shape };
}

function* optional<T>(ctx: PartContext, at: Progress, part: string, read: () => PartReader<T>): PartReader<T | undefined> {
  return (yield* flag(ctx, at, part)) ? yield* read() : undefined;
}

function* dataBuffered(ctx: PartContext, at: Progress, part: string): PartReader<DataBuffered> {
  const data = yield* floatArray(ctx, at, `${part}.data`, 2);
  const trajectory = yield* optional(ctx, at, `${part}.trajectory`, () => floatArray(ctx, at, `${part}.trajectory`, 1));
  const density = yield* optional(ctx, at, `${part}.density`, () => floatArray(ctx, at, `${part}.density`, 1));
  const headers = yield* recordArray<AcquisitionHeader | undefined>(ctx, at, `${part}.headers`, ACQUISITION_HEADER_SIZE, (bytes) =>
    isUnsampledHeader(bytes, 0) ? undefined : decodeAcquisitionHeader(bytes),
  );
  at.add(SAMPLING_DESCRIPTION_SIZE);
  const samplingBytes = ctx.fixed(SAMPLING_DESCRIPTION_SIZE);
  yield samplingBytes;
  const buffer: DataBuffered = { data, headers: headers.items, headerDims: headers.dims, sampling: decodeSamplingDescription(samplingBytes) };
  if (trajectory) buffer.trajectory = trajectory;
  if (density) buffer.density = density;
  return buffer;
}

/** Id 1023: `u64` count of recon bits, each a `DataBuffered` and an optional reference `DataBuffered`. */
export function* readReconData(ctx: PartContext): PartReader<ReconDataFrame> {
  const at = new Progress(ctx);
  const count = at.room(yield* u64(ctx, at), MIN_DATA_BUFFERED + 1);
  const rbit: ReconBit[] = [];
  for (let i = 0; i < count; i++) {
    const data = yield* dataBuffered(ctx, at, `rbit[${i}].data`);
    const ref = yield* optional(ctx, at, `rbit[${i}].ref`, () => dataBuffered(ctx, at, `rbit[${i}].ref`));
    rbit.push(ref ? { data, ref } : { data });
  }
  ctx.total(at.bytes, true);
  const reconData: ReconData = { kind: 'recondata', rbit };
  return { kind: 'recondata', reconData };
}

function* waveform(ctx: PartContext, at: Progress, part: string): PartReader<Waveform> {
  at.add(WAVEFORM_HEADER_SIZE);
  const headerBytes = ctx.fixed(WAVEFORM_HEADER_SIZE);
  yield headerBytes;
  const head = decodeWaveformHeader(headerBytes);
  const elements = head.channels * head.number_of_samples;
  at.add(ctx.limit(`${part} data`, 4 * elements, ctx.limits.maxWaveformBytes));
  const data = new Uint32Array(elements);
  yield new Uint8Array(data.buffer);
  return { kind: 'waveform', head, data };
}

function* metaList(ctx: PartContext, at: Progress): PartReader<MetaContainer[]> {
  const count = at.room(yield* u64(ctx, at), 8);
  const list: MetaContainer[] = [];
  for (let i = 0; i < count; i++) {
    const length = ctx.limit(`meta[${i}]`, yield* u64(ctx, at), ctx.limits.maxMetaBytes);
    at.add(length);
    const bytes = new Uint8Array(length);
    yield bytes;
    list.push(ctx.meta(bytes, `meta[${i}]`));
  }
  return list;
}

function* waveformList(ctx: PartContext, at: Progress): PartReader<Waveform[]> {
  const count = at.room(yield* u64(ctx, at), WAVEFORM_HEADER_SIZE);
  const list: Waveform[] = [];
  for (let i = 0; i < count; i++) list.push(yield* waveform(ctx, at, `waveforms[${i}]`));
  return list;
}

/**
 * Id 1024: complex data, image headers, meta list, optional waveforms (each
 * header then samples), optional acquisition headers.
 */
export function* readImageArray(ctx: PartContext): PartReader<ImageArrayFrame> {
  const at = new Progress(ctx);
  const data = yield* floatArray(ctx, at, 'data', 2);
  const headers = yield* recordArray<ImageHeader>(ctx, at, 'headers', IMAGE_HEADER_SIZE, (bytes) => decodeImageHeader(bytes));
  const meta = yield* metaList(ctx, at);
  const waveforms = yield* optional(ctx, at, 'waveforms', () => waveformList(ctx, at));
  const acqHeaders = yield* optional(ctx, at, 'acq_headers', () =>
    recordArray(ctx, at, 'acq_headers', ACQUISITION_HEADER_SIZE, (bytes) => decodeAcquisitionHeader(bytes)),
  );
  ctx.total(at.bytes, true);
  const imageArray: ImageArray = { kind: 'imagearray', data, headers: headers.items, meta, headerDims: headers.dims };
  if (waveforms) imageArray.waveforms = waveforms;
  if (acqHeaders) {
    imageArray.acqHeaders = acqHeaders.items;
    imageArray.acqHeaderDims = acqHeaders.dims;
  }
  return { kind: 'image-array', imageArray };
}

/** The sizes of one group of readouts in the bucket's meta block. */
interface GroupSizes {
  count: number;
  dataBytes: number;
  trajectoryBytes: number;
  statsBytes: number;
}

/** Headers, then all trajectories, then all data of one group of readouts, then its statistics. */
function* bucketGroup(ctx: PartContext, part: string, sizes: GroupSizes): PartReader<{ acquisitions: Acquisition[]; stats: BucketStats[] }> {
  const heads: AcquisitionHeader[] = [];
  let trajectoryBytes = 0;
  let dataBytes = 0;
  for (let i = 0; i < sizes.count; i++) {
    const bytes = ctx.fixed(ACQUISITION_HEADER_SIZE);
    yield bytes;
    const head = decodeAcquisitionHeader(bytes);
    const traj = 4 * head.trajectory_dimensions * head.number_of_samples;
    const data = 8 * head.number_of_samples * head.active_channels;
    ctx.limit(`${part}[${i}] data and trajectory`, traj + data, ctx.limits.maxAcquisitionBytes, 'exceed');
    trajectoryBytes += traj;
    dataBytes += data;
    heads.push(head);
  }
  if (trajectoryBytes !== sizes.trajectoryBytes || dataBytes !== sizes.dataBytes) {
    ctx.fail(
      'MALFORMED_MESSAGE',
      `${part} headers call for ${trajectoryBytes} trajectory and ${dataBytes} data bytes, but the bucket declares ${sizes.trajectoryBytes} and ${sizes.dataBytes}`,
    );
  }
  const trajs: Float32Array[] = [];
  for (const head of heads) {
    const traj = new Float32Array(head.trajectory_dimensions * head.number_of_samples);
    yield new Uint8Array(traj.buffer);
    trajs.push(traj);
  }
  const acquisitions: Acquisition[] = [];
  for (const [i, head] of heads.entries()) {
    const data = new Float32Array(2 * head.number_of_samples * head.active_channels);
    yield new Uint8Array(data.buffer);
    acquisitions.push({ kind: 'acquisition', head, traj: trajs[i]!, data });
  }
  const statsBytes = new Uint8Array(ctx.limit(`${part} statistics`, sizes.statsBytes, ctx.limits.maxArrayBytes));
  yield statsBytes;
  return { acquisitions, stats: parseStats(ctx, `${part} statistics`, statsBytes) };
}

/** `vector<AcquisitionBucketStats>`: `u64` count, then per entry 9 × (`u64` count + `u16` values); must fill `bytes` exactly. */
function parseStats(ctx: PartContext, part: string, bytes: Uint8Array): BucketStats[] {
  const v = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let offset = 0;
  const count = (): number => {
    if (bytes.byteLength - offset < 8) ctx.fail('MALFORMED_MESSAGE', `${part} end after ${offset} of ${bytes.byteLength} bytes`);
    const n = v.getBigUint64(offset, true);
    offset += 8;
    return Number(n < BigInt(bytes.byteLength) ? n : BigInt(bytes.byteLength));
  };
  const entries = count();
  if (entries * 9 * 8 > bytes.byteLength - offset) ctx.fail('MALFORMED_MESSAGE', `${part} claim ${entries} entries in ${bytes.byteLength} bytes`);
  const list: BucketStats[] = [];
  for (let e = 0; e < entries; e++) {
    const stats = {} as BucketStats;
    for (const field of BUCKET_STATS_FIELDS) {
      const n = count();
      if (2 * n > bytes.byteLength - offset) ctx.fail('MALFORMED_MESSAGE', `${part} claim more values than the ${bytes.byteLength} bytes hold`);
      const values = new Set<number>();
      for (let i = 0; i < n; i++) values.add(v.getUint16(offset + 2 * i, true));
      offset += 2 * n;
      stats[field] = values;
    }
    list.push(stats);
  }
  if (offset !== bytes.byteLength) ctx.fail('MALFORMED_MESSAGE', `${part} use ${offset} of the ${bytes.byteLength} bytes declared`);
  return list;
}

/**
 * Id 1050: a 104-byte block of `u64` sizes, then data readouts (headers,
 * trajectories, data, statistics), reference readouts (the same), waveform
 * headers and waveform samples. The sizes must agree with the headers.
 */
export function* readBucket(ctx: PartContext): PartReader<BucketFrame> {
  ctx.total(ID_SIZE + BUCKET_META_SIZE, false);
  yield ctx.fixed(BUCKET_META_SIZE);
  const words = Array.from({ length: BUCKET_META_SIZE / 8 }, (_, i) => ctx.view.getBigUint64(8 * i, true));
  const checkHeaders = (part: string, count: bigint, bytes: bigint, size: number): void => {
    if (count * BigInt(size) !== bytes) ctx.fail('MALFORMED_MESSAGE', `${part} header bytes ${bytes} do not match ${count} headers of ${size} bytes`);
  };
  checkHeaders('data', words[0]!, words[1]!, ACQUISITION_HEADER_SIZE);
  checkHeaders('ref', words[4]!, words[5]!, ACQUISITION_HEADER_SIZE);
  checkHeaders('waveform', words[10]!, words[11]!, WAVEFORM_HEADER_SIZE);
  const sizes = words.filter((_, i) => i !== 0 && i !== 4 && i !== 10);
  ctx.total(sizes.reduce((sum, w) => sum + w, BigInt(ID_SIZE + BUCKET_META_SIZE)), true);
  const [dataCount, , dataData, dataTraj, refCount, , refData, refTraj, dataStats, refStats, wavCount, , wavData] = words.map(Number) as number[] as [
    number, number, number, number, number, number, number, number, number, number, number, number, number,
  ];
  const data = yield* bucketGroup(ctx, 'data', { count: dataCount, dataBytes: dataData, trajectoryBytes: dataTraj, statsBytes: dataStats });
  const ref = yield* bucketGroup(ctx, 'ref', { count: refCount, dataBytes: refData, trajectoryBytes: refTraj, statsBytes: refStats });
  const heads: WaveformHeader[] = [];
  let samples = 0;
  for (let i = 0; i < wavCount; i++) {
    const bytes = ctx.fixed(WAVEFORM_HEADER_SIZE);
    yield bytes;
    const head = decodeWaveformHeader(bytes);
    const n = head.channels * head.number_of_samples;
    ctx.limit(`waveforms[${i}] data`, 4 * n, ctx.limits.maxWaveformBytes);
    samples += n;
    heads.push(head);
  }
  if (4 * samples !== wavData) {
    ctx.fail('MALFORMED_MESSAGE', `waveform headers call for ${4 * samples} data bytes, but the bucket declares ${wavData}`);
  }
  const waveforms: Waveform[] = [];
  for (const head of heads) {
    const samplesOf = new Uint32Array(head.channels * head.number_of_samples);
    yield new Uint8Array(samplesOf.buffer);
    waveforms.push({ kind: 'waveform', head, data: samplesOf });
  }
  const bucket: AcquisitionBucket = {
    kind: 'bucket',
    data: data.acquisitions,
    ref: ref.acquisitions,
    datastats: data.stats,
    refstats: ref.stats,
    waveforms,
  };
  return { kind: 'bucket', bucket };
}
