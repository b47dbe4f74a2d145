/**
 * Fixed layouts shared by the codecs of Gadgetron's generic-reconstruction
 * messages: recon buffers (1023), image arrays (1024) and acquisition buckets
 * (1050). The full byte layouts are in `docs/wire-formats.md`.
 */
import { ACQUISITION_HEADER_SIZE } from '../ismrmrd/header-codec.js';
import type { BucketStats, SamplingDescription, SamplingLimit } from '../ismrmrd/buffers.js';

/** `SamplingDescription` as a raw C++ struct: 54 bytes of fields, 2 bytes of tail padding (4-byte alignment). */
export const SAMPLING_DESCRIPTION_SIZE = 56;

/** The bucket's leading block of 13 `u64` sizes. */
export const BUCKET_META_SIZE = 104;

/**
 * Most dimensions an array on the wire may claim. Gadgetron's arrays have at
 * most 7; the cap only keeps a corrupt count from reading a long list.
 */
export const MAX_ARRAY_DIMENSIONS = 32;

/** Field order of `AcquisitionBucketStats` on the wire (each a `set<u16>`). */
export const BUCKET_STATS_FIELDS = [
  'kspace_encode_step_1',
  'kspace_encode_step_2',
  'slice',
  'phase',
  'contrast',
  'repetition',
  'set',
  'segment',
  'average',
] as const satisfies readonly (keyof BucketStats)[];

/**
 * Elements held by an array of dimensions `dims` as Gadgetron counts them:
 * the product of the dimensions, but 0 (not 1) for an array with no dimensions.
 */
export function wireElementCount(dims: readonly number[]): number {
  if (dims.length === 0) return 0;
  let n = 1;
  for (const d of dims) n *= d;
  return n;
}

/** Offsets of the three non-zero bytes of ISMRMRD's initial acquisition header. */
const INITIAL_HEADER_ONES = [0, 36, 38];

/**
 * True when the 340 header bytes at `offset` mark an unsampled slot of a
 * recon buffer: all zero (what Gantry writes) or exactly ISMRMRD's initial
 * header, version 1 and one available and active channel with everything
 * else zero (what Gadgetron's default-constructed header arrays hold).
 */
export function isUnsampledHeader(bytes: Uint8Array, offset: number): boolean {
  const version = bytes[offset] ?? 0;
  if (version > 1) return false;
  for (let i = 1; i < ACQUISITION_HEADER_SIZE; i++) {
    const b = bytes[offset + i] ?? 0;
    if (b === 0) continue;
    if (version === 1 && b === 1 && (i === 36 || i === 38)) continue;
    return false;
  }
  return version === 0 || INITIAL_HEADER_ONES.every((i) => bytes[offset + i] === 1);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes the 56-byte `SamplingDescription` at `offset`. */
export function decodeSamplingDescription(bytes: Uint8Array, offset = 0): SamplingDescription {
  const v = view(bytes);
  const f32 = (o: number): [number, number, number] => [
    v.getFloat32(offset + o, true),
    v.getFloat32(offset + o + 4, true),
    v.getFloat32(offset + o + 8, true),
  ];
  const u16 = (o: number): [number, number, number] => [
    v.getUint16(offset + o, true),
    v.getUint16(offset + o + 2, true),
    v.getUint16(offset + o + 4, true),
  ];
  const limit = (o: number): SamplingLimit => {
    const [min, center, max] = u16(o);
    return { min, max, center };
  };
  return {
    encoded_FOV: f32(0),
    recon_FOV: f32(12),
    encoded_matrix: u16(24),
    recon_matrix: u16(30),
    sampling_limits: [limit(36), limit(42), limit(48)],
  };
}

function checkU16(what: string, value: number): number {
  if (!Number.isInteger(value) || value < 0 || value > 0xffff) {
    throw new RangeError(`Cannot encode ${what}: ${value} is not a 16-bit unsigned integer`);
  }
  return value;
}

/**
 * Writes `sampling` as 56 bytes at `offset` (padding zero). Matrix sizes and
 * sampling limits must be 16-bit unsigned integers (`RangeError` otherwise);
 * `what` names the owner in the error.
 */
export function encodeSamplingDescription(sampling: SamplingDescription, bytes: Uint8Array, offset: number, what: string): void {
  const v = view(bytes);
  const f32 = (o: number, xs: readonly number[]): void => {
    for (let i = 0; i < 3; i++) v.setFloat32(offset + o + 4 * i, xs[i] ?? 0, true);
  };
  const u16 = (o: number, name: string, xs: readonly number[]): void => {
    for (let i = 0; i < 3; i++) v.setUint16(offset + o + 2 * i, checkU16(`${what}.${name}[${i}]`, xs[i] ?? 0), true);
  };
  f32(0, sampling.encoded_FOV);
  f32(12, sampling.recon_FOV);
  u16(24, 'encoded_matrix', sampling.encoded_matrix);
  u16(30, 'recon_matrix', sampling.recon_matrix);
  sampling.sampling_limits.forEach((limit, i) => {
    const o = offset + 36 + 6 * i;
    v.setUint16(o, checkU16(`${what}.sampling_limits[${i}].min`, limit.min), true);
    v.setUint16(o + 2, checkU16(`${what}.sampling_limits[${i}].center`, limit.center), true);
    v.setUint16(o + 4, checkU16(`${what}.sampling_limits[${i}].max`, limit.max), true);
  });
  v.setUint16(offset + 54, 0, true);
}

/** Checks one value of a bucket statistics set. */
export function checkStatsValue(what: string, value: number): number {
  return checkU16(what, value);
}
