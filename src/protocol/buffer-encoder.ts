/**
 * Encoders for Gadgetron's generic-reconstruction messages: recon buffers
 * (1023), image arrays (1024) and acquisition buckets (1050), in Gadgetron 4's
 * byte layout (`docs/wire-formats.md`).
 *
 * Like the other encoders they return chunks: small buffers holding ids,
 * counts, dimensions and headers, with the large typed-array payloads between
 * them as zero-copy views. Anything that would put the peer out of sync (an
 * array whose length does not match its dimensions, a value that does not fit
 * its field) is refused with a `RangeError`.
 */
import type { AcquisitionBucket, BucketStats, DataBuffered, ImageArray, ReconData } from '../ismrmrd/buffers.js';
import {
  ACQUISITION_HEADER_SIZE,
  IMAGE_HEADER_SIZE,
  WAVEFORM_HEADER_SIZE,
  encodeAcquisitionHeader,
  encodeImageHeader,
  encodeWaveformHeader,
} from '../ismrmrd/header-codec.js';
import { serializeMeta } from '../ismrmrd/meta.js';
import type { Acquisition, AcquisitionHeader, Waveform } from '../ismrmrd/types.js';
import {
  BUCKET_STATS_FIELDS,
  SAMPLING_DESCRIPTION_SIZE,
  checkStatsValue,
  encodeSamplingDescription,
  wireElementCount,
} from './buffer-layout.js';
import { MessageId } from './message-id.js';

const utf8 = new TextEncoder();
/** Payloads up to this size are copied into the surrounding chunk instead of sent as their own view. */
const INLINE_BYTES = 512;

/** Collects small fields into growing chunks and large payloads as views. */
class ChunkWriter {
  readonly #chunks: Uint8Array[] = [];
  #buffer = new Uint8Array(1024);
  #view = new DataView(this.#buffer.buffer);
  #used = 0;

  constructor(id: number) {
    const offset = this.#take(2);
    this.#view.setUint16(offset, id, true);
  }

  /** Reserves `size` bytes of the current chunk (possibly replacing `#buffer`); returns their offset. */
  #take(size: number): number {
    if (this.#used + size > this.#buffer.byteLength) {
      const grown = new Uint8Array(Math.max(2 * this.#buffer.byteLength, this.#used + size));
      grown.set(this.#buffer.subarray(0, this.#used));
      this.#buffer = grown;
      this.#view = new DataView(grown.buffer);
    }
    const offset = this.#used;
    this.#used += size;
    return offset;
  }

  u8(value: number): void {
    const offset = this.#take(1);
    this.#view.setUint8(offset, value);
  }

  u64(value: number | bigint): void {
    const offset = this.#take(8);
    this.#view.setBigUint64(offset, BigInt(value), true);
  }

  /** Reserves `size` zeroed bytes of the current chunk and lets `fill` write them (at `offset` of `bytes`). */
  record(size: number, fill?: (bytes: Uint8Array, offset: number) => void): void {
    const offset = this.#take(size);
    fill?.(this.#buffer, offset);
  }

  payload(array: Float32Array | Uint32Array | Uint8Array): void {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    if (bytes.byteLength <= INLINE_BYTES) {
      const offset = this.#take(bytes.byteLength);
      this.#buffer.set(bytes, offset);
      return;
    }
    this.#flush();
    this.#chunks.push(bytes);
  }

  #flush(): void {
    if (this.#used === 0) return;
    this.#chunks.push(this.#buffer.subarray(0, this.#used));
    this.#buffer = new Uint8Array(1024);
    this.#view = new DataView(this.#buffer.buffer);
    this.#used = 0;
  }

  finish(): Uint8Array[] {
    this.#flush();
    return this.#chunks;
  }
}

function checkDims(what: string, dims: readonly number[]): void {
  for (const d of dims) {
    if (!Number.isSafeInteger(d) || d < 0) throw new RangeError(`Cannot encode ${what}: dimension ${d} is not a non-negative integer`);
  }
}

/** `u64` dimension count and dimensions of an array whose element count must be `length / components`. */
function writeDims(w: ChunkWriter, what: string, dims: readonly number[], length: number, components = 1): void {
  checkDims(what, dims);
  const elements = wireElementCount(dims);
  if (length !== components * elements) {
    const shape = dims.length === 0 ? 'no dimensions (0 elements on the wire)' : `dimensions [${dims.join(', ')}]`;
    throw new RangeError(`Cannot encode ${what}: length ${length} does not match ${shape}${components === 2 ? ' × 2 (complex)' : ''}`);
  }
  w.u64(dims.length);
  for (const d of dims) w.u64(d);
}

function writeFloatArray(w: ChunkWriter, what: string, array: { data: Float32Array; dims: readonly number[] }, components: 1 | 2): void {
  writeDims(w, what, array.dims, array.data.length, components);
  w.payload(array.data);
}

function writeAcquisitionHeaders(w: ChunkWriter, what: string, headers: readonly (AcquisitionHeader | undefined)[], dims: readonly number[]): void {
  writeDims(w, what, dims, headers.length);
  for (const head of headers) {
    w.record(ACQUISITION_HEADER_SIZE, head && ((bytes, offset) => encodeAcquisitionHeader(head, bytes, offset)));
  }
}

function writeDataBuffered(w: ChunkWriter, what: string, buffer: DataBuffered): void {
  writeFloatArray(w, `${what}.data`, buffer.data, 2);
  for (const [name, array] of [['trajectory', buffer.trajectory], ['density', buffer.density]] as const) {
    w.u8(array ? 1 : 0);
    if (array) writeFloatArray(w, `${what}.${name}`, array, 1);
  }
  writeAcquisitionHeaders(w, `${what}.headers`, buffer.headers, buffer.headerDims);
  w.record(SAMPLING_DESCRIPTION_SIZE, (bytes, offset) => encodeSamplingDescription(buffer.sampling, bytes, offset, `${what}.sampling`));
}

/**
 * Id 1023 (`IsmrmrdReconData`): `u64` recon-bit count; per bit its data
 * buffer, then a presence byte and the reference buffer. Unsampled header
 * slots (`undefined`) are written as 340 zero bytes.
 */
export function encodeReconData(reconData: ReconData): Uint8Array[] {
  const w = new ChunkWriter(MessageId.RECONDATA);
  w.u64(reconData.rbit.length);
  reconData.rbit.forEach((bit, i) => {
    writeDataBuffered(w, `recon data rbit[${i}].data`, bit.data);
    w.u8(bit.ref ? 1 : 0);
    if (bit.ref) writeDataBuffered(w, `recon data rbit[${i}].ref`, bit.ref);
  });
  return w.finish();
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/**
 * Dimensions for `count` records: `given`, else `guess` when its product is
 * `count`, else `[count]`, or no dimensions (an empty array) when `count` is 0.
 */
function recordDims(given: readonly number[] | undefined, guess: readonly number[] | undefined, count: number): readonly number[] {
  if (given) return given;
  if (guess && guess.length > 0 && product(guess) === count) return guess;
  return count === 0 ? [] : [count];
}

function writeWaveform(w: ChunkWriter, what: string, waveform: Waveform): void {
  const { head, data } = waveform;
  if (data.length !== head.channels * head.number_of_samples) {
    throw new RangeError(`Cannot encode ${what}: data length ${data.length} does not match ${head.number_of_samples} samples × ${head.channels} channels`);
  }
  w.record(WAVEFORM_HEADER_SIZE, (bytes, offset) => encodeWaveformHeader(head, bytes, offset));
  w.payload(data);
}

/**
 * Id 1024 (`IsmrmrdImageArray`): complex data; image headers (as given,
 * `attribute_string_len` included); `u64` meta count and each meta as `u64`
 * length + XML without NUL (an empty container as `<ismrmrdMeta />`, which
 * Gadgetron can parse); optional waveforms, each header then samples; optional
 * acquisition headers. `sampling` is not sent.
 */
export function encodeImageArray(imageArray: ImageArray): Uint8Array[] {
  const { data, headers, meta, waveforms, acqHeaders } = imageArray;
  const w = new ChunkWriter(MessageId.IMAGE_ARRAY);
  writeFloatArray(w, 'image array data', data, 2);
  const dims = data.dims;
  const headerDims = recordDims(imageArray.headerDims, dims.length === 7 ? dims.slice(4) : undefined, headers.length);
  writeDims(w, 'image array headers', headerDims, headers.length);
  for (const head of headers) w.record(IMAGE_HEADER_SIZE, (bytes, offset) => encodeImageHeader(head, bytes, offset));
  w.u64(meta.length);
  for (const m of meta) {
    const xml = utf8.encode(serializeMeta(m));
    w.u64(xml.byteLength);
    w.payload(xml);
  }
  w.u8(waveforms ? 1 : 0);
  if (waveforms) {
    w.u64(waveforms.length);
    waveforms.forEach((waveform, i) => writeWaveform(w, `image array waveforms[${i}]`, waveform));
  }
  w.u8(acqHeaders ? 1 : 0);
  if (acqHeaders) {
    const guess = dims.length === 7 ? [dims[1]!, dims[2]!, ...dims.slice(4)] : undefined;
    writeAcquisitionHeaders(w, 'image array acqHeaders', acqHeaders, recordDims(imageArray.acqHeaderDims, guess, acqHeaders.length));
  }
  return w.finish();
}

function checkAcquisition(what: string, acquisition: Acquisition): void {
  const { head, traj, data } = acquisition;
  const samples = head.number_of_samples;
  if (traj.length !== head.trajectory_dimensions * samples) {
    throw new RangeError(`Cannot encode ${what}: trajectory length ${traj.length} does not match ${head.trajectory_dimensions} dimensions × ${samples} samples`);
  }
  if (data.length !== 2 * samples * head.active_channels) {
    throw new RangeError(`Cannot encode ${what}: data length ${data.length} does not match ${samples} samples × ${head.active_channels} channels × 2`);
  }
}

/** `vector<AcquisitionBucketStats>`: `u64` count; per entry 9 sets, each `u64` count + ascending `u16` values. */
function statsBytes(what: string, list: readonly BucketStats[]): Uint8Array {
  const sets = list.map((stats, e) =>
    BUCKET_STATS_FIELDS.map((field) =>
      [...stats[field]].map((value) => checkStatsValue(`${what}[${e}].${field}`, value)).sort((a, b) => a - b),
    ),
  );
  let size = 8;
  for (const entry of sets) for (const values of entry) size += 8 + 2 * values.length;
  const bytes = new Uint8Array(size);
  const v = new DataView(bytes.buffer);
  v.setBigUint64(0, BigInt(list.length), true);
  let offset = 8;
  for (const entry of sets) {
    for (const values of entry) {
      v.setBigUint64(offset, BigInt(values.length), true);
      offset += 8;
      for (const value of values) {
        v.setUint16(offset, value, true);
        offset += 2;
      }
    }
  }
  return bytes;
}

/**
 * Id 1050 (`AcquisitionBucket`): a 104-byte block of `u64` sizes; data
 * readouts as all headers, all trajectories, all data, then statistics;
 * reference readouts the same way; then all waveform headers and all samples.
 */
export function encodeBucket(bucket: AcquisitionBucket): Uint8Array[] {
  const groups = [
    { name: 'data', acquisitions: bucket.data, stats: statsBytes('bucket datastats', bucket.datastats) },
    { name: 'ref', acquisitions: bucket.ref, stats: statsBytes('bucket refstats', bucket.refstats) },
  ];
  const w = new ChunkWriter(MessageId.BUCKET);
  for (const { name, acquisitions } of groups) {
    acquisitions.forEach((acquisition, i) => checkAcquisition(`bucket ${name}[${i}]`, acquisition));
    w.u64(acquisitions.length);
    w.u64(ACQUISITION_HEADER_SIZE * acquisitions.length);
    w.u64(acquisitions.reduce((sum, a) => sum + a.data.byteLength, 0));
    w.u64(acquisitions.reduce((sum, a) => sum + a.traj.byteLength, 0));
  }
  for (const { stats } of groups) w.u64(stats.byteLength);
  bucket.waveforms.forEach((waveform, i) => {
    if (waveform.data.length !== waveform.head.channels * waveform.head.number_of_samples) {
      throw new RangeError(
        `Cannot encode bucket waveforms[${i}]: data length ${waveform.data.length} does not match ${waveform.head.number_of_samples} samples × ${waveform.head.channels} channels`,
      );
    }
  });
  w.u64(bucket.waveforms.length);
  w.u64(WAVEFORM_HEADER_SIZE * bucket.waveforms.length);
  w.u64(bucket.waveforms.reduce((sum, wf) => sum + wf.data.byteLength, 0));
  for (const { acquisitions, stats } of groups) {
    for (const { head } of acquisitions) w.record(ACQUISITION_HEADER_SIZE, (bytes, offset) => encodeAcquisitionHeader(head, bytes, offset));
    for (const { traj } of acquisitions) if (traj.length > 0) w.payload(traj);
    for (const { data } of acquisitions) if (data.length > 0) w.payload(data);
    w.payload(stats);
  }
  for (const { head } of bucket.waveforms) w.record(WAVEFORM_HEADER_SIZE, (bytes, offset) => encodeWaveformHeader(head, bytes, offset));
  for (const { data } of bucket.waveforms) if (data.length > 0) w.payload(data);
  return w.finish();
}
