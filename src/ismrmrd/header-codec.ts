/**
 * Exact binary layouts of the ISMRMRD headers (little-endian):
 * acquisition 340 bytes and image 198 bytes (2-byte packing), waveform 40
 * bytes (natural alignment, padding written as zero).
 */
import type { AcquisitionHeader, EncodingCounters, ImageHeader, Vec3, WaveformHeader } from './types.js';

export const ACQUISITION_HEADER_SIZE = 340;
export const IMAGE_HEADER_SIZE = 198;
export const WAVEFORM_HEADER_SIZE = 40;

function viewOf(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function need(bytes: Uint8Array, offset: number, size: number, what: string): void {
  if (offset < 0 || bytes.byteLength - offset < size) {
    throw new RangeError(`Cannot decode ${what}: need ${size} bytes at offset ${offset}, have ${bytes.byteLength - offset}`);
  }
}

function f32x3(v: DataView, o: number): Vec3 {
  return [v.getFloat32(o, true), v.getFloat32(o + 4, true), v.getFloat32(o + 8, true)];
}

function putF32x3(v: DataView, o: number, x: readonly number[]): void {
  v.setFloat32(o, x[0] ?? 0, true);
  v.setFloat32(o + 4, x[1] ?? 0, true);
  v.setFloat32(o + 8, x[2] ?? 0, true);
}

function u32s(v: DataView, o: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(v.getUint32(o + 4 * i, true));
  return out;
}

function i32s(v: DataView, o: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(v.getInt32(o + 4 * i, true));
  return out;
}

function f32s(v: DataView, o: number, n: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(v.getFloat32(o + 4 * i, true));
  return out;
}

function putU32s(v: DataView, o: number, n: number, x: readonly number[]): void {
  for (let i = 0; i < n; i++) v.setUint32(o + 4 * i, x[i] ?? 0, true);
}

function putI32s(v: DataView, o: number, n: number, x: readonly number[]): void {
  for (let i = 0; i < n; i++) v.setInt32(o + 4 * i, x[i] ?? 0, true);
}

function putF32s(v: DataView, o: number, n: number, x: readonly number[]): void {
  for (let i = 0; i < n; i++) v.setFloat32(o + 4 * i, x[i] ?? 0, true);
}

function decodeCounters(v: DataView, o: number): EncodingCounters {
  const user: number[] = [];
  for (let i = 0; i < 8; i++) user.push(v.getUint16(o + 18 + 2 * i, true));
  return {
    kspace_encode_step_1: v.getUint16(o, true),
    kspace_encode_step_2: v.getUint16(o + 2, true),
    average: v.getUint16(o + 4, true),
    slice: v.getUint16(o + 6, true),
    contrast: v.getUint16(o + 8, true),
    phase: v.getUint16(o + 10, true),
    repetition: v.getUint16(o + 12, true),
    set: v.getUint16(o + 14, true),
    segment: v.getUint16(o + 16, true),
    user: shared(SLOT_IDX_USER, user),
  };
}

function encodeCounters(v: DataView, o: number, c: EncodingCounters): void {
  v.setUint16(o, c.kspace_encode_step_1, true);
  v.setUint16(o + 2, c.kspace_encode_step_2, true);
  v.setUint16(o + 4, c.average, true);
  v.setUint16(o + 6, c.slice, true);
  v.setUint16(o + 8, c.contrast, true);
  v.setUint16(o + 10, c.phase, true);
  v.setUint16(o + 12, c.repetition, true);
  v.setUint16(o + 14, c.set, true);
  v.setUint16(o + 16, c.segment, true);
  for (let i = 0; i < 8; i++) v.setUint16(o + 18 + 2 * i, c.user[i] ?? 0, true);
}

/**
 * The last value decoded at each of the 64-bit fields of an acquisition header (16 channel-mask words, the flags),
 * with its two 32-bit halves. BigInts are immutable, so consecutive headers with the same word share one: every
 * readout otherwise brought 17 new heap objects (mostly zero mask words), which each collection of a scan's
 * thousands of buffered headers marked again.
 */
const lastWords: { lo: number; hi: number; value: bigint }[] = Array.from({ length: 17 }, () => ({ lo: 0, hi: 0, value: 0n }));

function uint64At(v: DataView, at: number, slot: number): bigint {
  const lo = v.getUint32(at, true);
  const hi = v.getUint32(at + 4, true);
  const last = lastWords[slot] as { lo: number; hi: number; value: bigint };
  if (lo !== last.lo || hi !== last.hi) {
    last.lo = lo;
    last.hi = hi;
    last.value = v.getBigUint64(at, true);
  }
  return last.value;
}

const SLOT_PHYSIOLOGY = 0;
const SLOT_MASK = 1;
const SLOT_POSITION = 2;
const SLOT_READ_DIR = 3;
const SLOT_PHASE_DIR = 4;
const SLOT_SLICE_DIR = 5;
const SLOT_TABLE = 6;
const SLOT_USER_INT = 7;
const SLOT_USER_FLOAT = 8;
const SLOT_IDX_USER = 9;

/**
 * The last array decoded at each array field of an acquisition header.
 * Consecutive headers whose field holds the same values (`Object.is`, so −0
 * and 0 differ) share one frozen array: a scan's readouts mostly repeat their
 * position, directions, user values and mask, and each decoded header
 * otherwise kept ten small arrays (and their element stores) on the
 * JavaScript heap, which every full collection marked again while a slice's
 * thousands of readouts wait in a bucket — about 40 % of the heap's objects.
 * The header types declare these arrays readonly.
 */
const lastArrays: (readonly unknown[] | undefined)[] = [];

/** `values` just decoded for `slot`, or the last array decoded there when it holds the same values. */
function shared<T>(slot: number, values: T[]): T[] {
  const last = lastArrays[slot];
  if (last && last.length === values.length && values.every((x, i) => Object.is(x, last[i]))) return last as T[];
  lastArrays[slot] = Object.freeze(values);
  return values;
}

/** Decodes a 340-byte acquisition header starting at `offset`. */
export function decodeAcquisitionHeader(bytes: Uint8Array, offset = 0): AcquisitionHeader {
  need(bytes, offset, ACQUISITION_HEADER_SIZE, 'acquisition header');
  const v = viewOf(bytes);
  const o = offset;
  const channel_mask: bigint[] = [];
  for (let i = 0; i < 16; i++) channel_mask.push(uint64At(v, o + 40 + 8 * i, i));
  return {
    version: v.getUint16(o, true),
    flags: uint64At(v, o + 2, 16),
    measurement_uid: v.getUint32(o + 10, true),
    scan_counter: v.getUint32(o + 14, true),
    acquisition_time_stamp: v.getUint32(o + 18, true),
    physiology_time_stamp: shared(SLOT_PHYSIOLOGY, u32s(v, o + 22, 3)),
    number_of_samples: v.getUint16(o + 34, true),
    available_channels: v.getUint16(o + 36, true),
    active_channels: v.getUint16(o + 38, true),
    channel_mask: shared(SLOT_MASK, channel_mask),
    discard_pre: v.getUint16(o + 168, true),
    discard_post: v.getUint16(o + 170, true),
    center_sample: v.getUint16(o + 172, true),
    encoding_space_ref: v.getUint16(o + 174, true),
    trajectory_dimensions: v.getUint16(o + 176, true),
    sample_time_us: v.getFloat32(o + 178, true),
    position: shared(SLOT_POSITION, f32x3(v, o + 182)) as Vec3,
    read_dir: shared(SLOT_READ_DIR, f32x3(v, o + 194)) as Vec3,
    phase_dir: shared(SLOT_PHASE_DIR, f32x3(v, o + 206)) as Vec3,
    slice_dir: shared(SLOT_SLICE_DIR, f32x3(v, o + 218)) as Vec3,
    patient_table_position: shared(SLOT_TABLE, f32x3(v, o + 230)) as Vec3,
    idx: decodeCounters(v, o + 242),
    user_int: shared(SLOT_USER_INT, i32s(v, o + 276, 8)),
    user_float: shared(SLOT_USER_FLOAT, f32s(v, o + 308, 8)),
  };
}

/** Encodes an acquisition header into `target` at `offset` (a new 340-byte array by default). */
export function encodeAcquisitionHeader(
  h: AcquisitionHeader,
  target: Uint8Array = new Uint8Array(ACQUISITION_HEADER_SIZE),
  offset = 0,
): Uint8Array {
  need(target, offset, ACQUISITION_HEADER_SIZE, 'acquisition header');
  const v = viewOf(target);
  const o = offset;
  v.setUint16(o, h.version, true);
  v.setBigUint64(o + 2, BigInt.asUintN(64, h.flags), true);
  v.setUint32(o + 10, h.measurement_uid, true);
  v.setUint32(o + 14, h.scan_counter, true);
  v.setUint32(o + 18, h.acquisition_time_stamp, true);
  putU32s(v, o + 22, 3, h.physiology_time_stamp);
  v.setUint16(o + 34, h.number_of_samples, true);
  v.setUint16(o + 36, h.available_channels, true);
  v.setUint16(o + 38, h.active_channels, true);
  for (let i = 0; i < 16; i++) v.setBigUint64(o + 40 + 8 * i, BigInt.asUintN(64, h.channel_mask[i] ?? 0n), true);
  v.setUint16(o + 168, h.discard_pre, true);
  v.setUint16(o + 170, h.discard_post, true);
  v.setUint16(o + 172, h.center_sample, true);
  v.setUint16(o + 174, h.encoding_space_ref, true);
  v.setUint16(o + 176, h.trajectory_dimensions, true);
  v.setFloat32(o + 178, h.sample_time_us, true);
  putF32x3(v, o + 182, h.position);
  putF32x3(v, o + 194, h.read_dir);
  putF32x3(v, o + 206, h.phase_dir);
  putF32x3(v, o + 218, h.slice_dir);
  putF32x3(v, o + 230, h.patient_table_position);
  encodeCounters(v, o + 242, h.idx);
  putI32s(v, o + 276, 8, h.user_int);
  putF32s(v, o + 308, 8, h.user_float);
  return target;
}

/** Decodes a 198-byte image header starting at `offset`. */
export function decodeImageHeader(bytes: Uint8Array, offset = 0): ImageHeader {
  need(bytes, offset, IMAGE_HEADER_SIZE, 'image header');
  const v = viewOf(bytes);
  const o = offset;
  return {
    version: v.getUint16(o, true),
    data_type: v.getUint16(o + 2, true),
    flags: v.getBigUint64(o + 4, true),
    measurement_uid: v.getUint32(o + 12, true),
    matrix_size: [v.getUint16(o + 16, true), v.getUint16(o + 18, true), v.getUint16(o + 20, true)],
    field_of_view: f32x3(v, o + 22),
    channels: v.getUint16(o + 34, true),
    position: f32x3(v, o + 36),
    read_dir: f32x3(v, o + 48),
    phase_dir: f32x3(v, o + 60),
    slice_dir: f32x3(v, o + 72),
    patient_table_position: f32x3(v, o + 84),
    average: v.getUint16(o + 96, true),
    slice: v.getUint16(o + 98, true),
    contrast: v.getUint16(o + 100, true),
    phase: v.getUint16(o + 102, true),
    repetition: v.getUint16(o + 104, true),
    set: v.getUint16(o + 106, true),
    acquisition_time_stamp: v.getUint32(o + 108, true),
    physiology_time_stamp: u32s(v, o + 112, 3),
    image_type: v.getUint16(o + 124, true),
    image_index: v.getUint16(o + 126, true),
    image_series_index: v.getUint16(o + 128, true),
    user_int: i32s(v, o + 130, 8),
    user_float: f32s(v, o + 162, 8),
    attribute_string_len: v.getUint32(o + 194, true),
  };
}

/** Encodes an image header into `target` at `offset` (a new 198-byte array by default). */
export function encodeImageHeader(
  h: ImageHeader,
  target: Uint8Array = new Uint8Array(IMAGE_HEADER_SIZE),
  offset = 0,
): Uint8Array {
  need(target, offset, IMAGE_HEADER_SIZE, 'image header');
  const v = viewOf(target);
  const o = offset;
  v.setUint16(o, h.version, true);
  v.setUint16(o + 2, h.data_type, true);
  v.setBigUint64(o + 4, BigInt.asUintN(64, h.flags), true);
  v.setUint32(o + 12, h.measurement_uid, true);
  for (let i = 0; i < 3; i++) v.setUint16(o + 16 + 2 * i, h.matrix_size[i] ?? 0, true);
  putF32x3(v, o + 22, h.field_of_view);
  v.setUint16(o + 34, h.channels, true);
  putF32x3(v, o + 36, h.position);
  putF32x3(v, o + 48, h.read_dir);
  putF32x3(v, o + 60, h.phase_dir);
  putF32x3(v, o + 72, h.slice_dir);
  putF32x3(v, o + 84, h.patient_table_position);
  v.setUint16(o + 96, h.average, true);
  v.setUint16(o + 98, h.slice, true);
  v.setUint16(o + 100, h.contrast, true);
  v.setUint16(o + 102, h.phase, true);
  v.setUint16(o + 104, h.repetition, true);
  v.setUint16(o + 106, h.set, true);
  v.setUint32(o + 108, h.acquisition_time_stamp, true);
  putU32s(v, o + 112, 3, h.physiology_time_stamp);
  v.setUint16(o + 124, h.image_type, true);
  v.setUint16(o + 126, h.image_index, true);
  v.setUint16(o + 128, h.image_series_index, true);
  putI32s(v, o + 130, 8, h.user_int);
  putF32s(v, o + 162, 8, h.user_float);
  v.setUint32(o + 194, h.attribute_string_len, true);
  return target;
}

/** Decodes a 40-byte waveform header starting at `offset` (padding ignored). */
export function decodeWaveformHeader(bytes: Uint8Array, offset = 0): WaveformHeader {
  need(bytes, offset, WAVEFORM_HEADER_SIZE, 'waveform header');
  const v = viewOf(bytes);
  const o = offset;
  return {
    version: v.getUint16(o, true),
    flags: v.getBigUint64(o + 8, true),
    measurement_uid: v.getUint32(o + 16, true),
    scan_counter: v.getUint32(o + 20, true),
    time_stamp: v.getUint32(o + 24, true),
    number_of_samples: v.getUint16(o + 28, true),
    channels: v.getUint16(o + 30, true),
    sample_time_us: v.getFloat32(o + 32, true),
    waveform_id: v.getUint16(o + 36, true),
  };
}

/** Encodes a waveform header into `target` at `offset`; padding bytes are zero. */
export function encodeWaveformHeader(
  h: WaveformHeader,
  target: Uint8Array = new Uint8Array(WAVEFORM_HEADER_SIZE),
  offset = 0,
): Uint8Array {
  need(target, offset, WAVEFORM_HEADER_SIZE, 'waveform header');
  target.fill(0, offset, offset + WAVEFORM_HEADER_SIZE);
  const v = viewOf(target);
  const o = offset;
  v.setUint16(o, h.version, true);
  v.setBigUint64(o + 8, BigInt.asUintN(64, h.flags), true);
  v.setUint32(o + 16, h.measurement_uid, true);
  v.setUint32(o + 20, h.scan_counter, true);
  v.setUint32(o + 24, h.time_stamp, true);
  v.setUint16(o + 28, h.number_of_samples, true);
  v.setUint16(o + 30, h.channels, true);
  v.setFloat32(o + 32, h.sample_time_us, true);
  v.setUint16(o + 36, h.waveform_id, true);
  return target;
}
