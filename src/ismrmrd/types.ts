/**
 * The ISMRMRD 1.x data model: acquisition, image and waveform headers and the
 * messages that carry them. Field names follow ISMRMRD's C structs exactly so
 * that the specification and Gantry's code read the same.
 */

/** Three-component float vector (position, direction cosines, FOV). */
export type Vec3 = [number, number, number];

/** Loop counters of one readout (`ISMRMRD_EncodingCounters`, 34 bytes). */
export interface EncodingCounters {
  kspace_encode_step_1: number;
  kspace_encode_step_2: number;
  average: number;
  slice: number;
  contrast: number;
  phase: number;
  repetition: number;
  set: number;
  segment: number;
  /** 8 user counters. */
  user: readonly number[];
}

/** `ISMRMRD_AcquisitionHeader` (340 bytes, 2-byte packing). */
export interface AcquisitionHeader {
  version: number;
  /** 64-bit flag word; flag N is bit N-1. */
  flags: bigint;
  measurement_uid: number;
  scan_counter: number;
  acquisition_time_stamp: number;
  /** 3 physiology time stamps. */
  physiology_time_stamp: readonly number[];
  number_of_samples: number;
  available_channels: number;
  active_channels: number;
  /** 16 × uint64 channel mask words. */
  channel_mask: readonly bigint[];
  discard_pre: number;
  discard_post: number;
  center_sample: number;
  encoding_space_ref: number;
  trajectory_dimensions: number;
  sample_time_us: number;
  position: Readonly<Vec3>;
  read_dir: Readonly<Vec3>;
  phase_dir: Readonly<Vec3>;
  slice_dir: Readonly<Vec3>;
  patient_table_position: Readonly<Vec3>;
  idx: EncodingCounters;
  /** 8 × int32. */
  user_int: readonly number[];
  /** 8 × float32. */
  user_float: readonly number[];
}

/**
 * The trajectory of a readout without one (`trajectory_dimensions` 0): one
 * empty, frozen array shared by all such readouts, rather than an array and
 * its buffer per readout on the JavaScript heap (a slice's thousands of
 * buffered readouts are marked by every full collection).
 */
export const NO_TRAJECTORY: Float32Array = Object.freeze(new Float32Array(0)) as Float32Array;

/** One readout: header, optional trajectory and complex samples. */
export interface Acquisition {
  readonly kind: 'acquisition';
  head: AcquisitionHeader;
  /** trajectory_dimensions × number_of_samples floats, dimension fastest; empty when D = 0. */
  traj: Float32Array;
  /** number_of_samples × active_channels complex samples, interleaved re/im, sample fastest then channel. */
  data: Float32Array;
  /**
   * A channel mix y = M·x of every sample that NoiseAdjustGadget left to
   * BucketToBufferGadget further down the same chain, which applies it while
   * placing the readout in its buffer (M: C × C, column-major, interleaved
   * complex float64). The gadgets in between only act per channel, which
   * commutes with it. Never serialised; absent on every other path.
   */
  pendingChannelMix?: Float64Array;
  /**
   * With `pendingChannelMix`: BucketToBufferGadget places the readout
   * unmixed and hands the mix on to the recon chain (`ReconBit.pendingWhitening`);
   * set only when NoiseAdjust has checked that the chain ends in GRAPPA
   * (`whiteningCanBeDeferredToRecon`).
   */
  channelMixToRecon?: true;
}

/** `ISMRMRD_ImageHeader` (198 bytes, 2-byte packing). */
export interface ImageHeader {
  version: number;
  data_type: number;
  flags: bigint;
  measurement_uid: number;
  /** 3 × uint16: x, y, z. */
  matrix_size: number[];
  field_of_view: Vec3;
  channels: number;
  position: Vec3;
  read_dir: Vec3;
  phase_dir: Vec3;
  slice_dir: Vec3;
  patient_table_position: Vec3;
  average: number;
  slice: number;
  contrast: number;
  phase: number;
  repetition: number;
  set: number;
  acquisition_time_stamp: number;
  physiology_time_stamp: number[];
  image_type: number;
  image_index: number;
  image_series_index: number;
  user_int: number[];
  user_float: number[];
  attribute_string_len: number;
}

/** Pixel storage for each ISMRMRD data_type (complex types interleaved re/im). */
export type ImagePixels = Uint16Array | Int16Array | Uint32Array | Int32Array | Float32Array | Float64Array;

/** Image meta attributes: name → list of values (all strings on the wire), kept sorted on output. */
export type MetaContainer = Map<string, string[]>;

/** An image with its header, meta attributes and pixels (x fastest, then y, z, channel). */
export interface Image {
  readonly kind: 'image';
  head: ImageHeader;
  meta: MetaContainer;
  data: ImagePixels;
}

/** `ISMRMRD_WaveformHeader` (40 bytes, natural alignment). */
export interface WaveformHeader {
  version: number;
  flags: bigint;
  measurement_uid: number;
  scan_counter: number;
  time_stamp: number;
  number_of_samples: number;
  channels: number;
  sample_time_us: number;
  waveform_id: number;
}

/** A physiological waveform: samples fastest, then channel. */
export interface Waveform {
  readonly kind: 'waveform';
  head: WaveformHeader;
  data: Uint32Array;
}

/** ISMRMRD image data_type codes. */
export const DataType = {
  USHORT: 1,
  SHORT: 2,
  UINT: 3,
  INT: 4,
  FLOAT: 5,
  DOUBLE: 6,
  CXFLOAT: 7,
  CXDOUBLE: 8,
} as const;
export type DataTypeCode = (typeof DataType)[keyof typeof DataType];

/** ISMRMRD image_type codes. */
export const ImageType = {
  MAGNITUDE: 1,
  PHASE: 2,
  REAL: 3,
  IMAG: 4,
  COMPLEX: 5,
} as const;

/** Acquisition flag numbers (flag N ⇔ bit N-1). */
export const AcqFlag = {
  FIRST_IN_ENCODE_STEP1: 1,
  LAST_IN_ENCODE_STEP1: 2,
  FIRST_IN_ENCODE_STEP2: 3,
  LAST_IN_ENCODE_STEP2: 4,
  FIRST_IN_AVERAGE: 5,
  LAST_IN_AVERAGE: 6,
  FIRST_IN_SLICE: 7,
  LAST_IN_SLICE: 8,
  FIRST_IN_CONTRAST: 9,
  LAST_IN_CONTRAST: 10,
  FIRST_IN_PHASE: 11,
  LAST_IN_PHASE: 12,
  FIRST_IN_REPETITION: 13,
  LAST_IN_REPETITION: 14,
  FIRST_IN_SET: 15,
  LAST_IN_SET: 16,
  FIRST_IN_SEGMENT: 17,
  LAST_IN_SEGMENT: 18,
  IS_NOISE_MEASUREMENT: 19,
  IS_PARALLEL_CALIBRATION: 20,
  IS_PARALLEL_CALIBRATION_AND_IMAGING: 21,
  IS_REVERSE: 22,
  IS_NAVIGATION_DATA: 23,
  IS_PHASECORR_DATA: 24,
  LAST_IN_MEASUREMENT: 25,
  IS_HPFEEDBACK_DATA: 26,
  IS_DUMMYSCAN_DATA: 27,
  IS_RTFEEDBACK_DATA: 28,
  IS_SURFACECOILCORRECTIONSCAN_DATA: 29,
  IS_PHASE_STABILIZATION_REFERENCE: 30,
  IS_PHASE_STABILIZATION: 31,
  COMPRESSION1: 53,
  COMPRESSION2: 54,
  COMPRESSION3: 55,
  COMPRESSION4: 56,
} as const;

/** True when flag number `flag` (1-based) is set in `flags`. */
export function isFlagSet(flags: bigint, flag: number): boolean {
  return (flags & (1n << BigInt(flag - 1))) !== 0n;
}

/** Returns `flags` with flag number `flag` (1-based) set. */
export function setFlag(flags: bigint, flag: number): bigint {
  return flags | (1n << BigInt(flag - 1));
}

/** Returns `flags` with flag number `flag` (1-based) cleared. */
export function clearFlag(flags: bigint, flag: number): bigint {
  return flags & ~(1n << BigInt(flag - 1));
}

/** Bytes per element of an image data_type (complex counts both parts). */
export function bytesPerPixel(dataType: number): number {
  switch (dataType) {
    case DataType.USHORT:
    case DataType.SHORT:
      return 2;
    case DataType.UINT:
    case DataType.INT:
    case DataType.FLOAT:
      return 4;
    case DataType.DOUBLE:
    case DataType.CXFLOAT:
      return 8;
    case DataType.CXDOUBLE:
      return 16;
    default:
      throw new RangeError(`Cannot size pixels of unknown ISMRMRD data_type ${dataType}`);
  }
}

/** A new encoding-counter block with all zeros. */
export function emptyEncodingCounters(): EncodingCounters {
  return {
    kspace_encode_step_1: 0, kspace_encode_step_2: 0, average: 0, slice: 0, contrast: 0,
    phase: 0, repetition: 0, set: 0, segment: 0, user: [0, 0, 0, 0, 0, 0, 0, 0],
  };
}

/** A new acquisition header with ISMRMRD's initial values (version 1, one channel). */
export function emptyAcquisitionHeader(): AcquisitionHeader {
  return {
    version: 1, flags: 0n, measurement_uid: 0, scan_counter: 0, acquisition_time_stamp: 0,
    physiology_time_stamp: [0, 0, 0], number_of_samples: 0, available_channels: 1, active_channels: 1,
    channel_mask: new Array<bigint>(16).fill(0n), discard_pre: 0, discard_post: 0, center_sample: 0,
    encoding_space_ref: 0, trajectory_dimensions: 0, sample_time_us: 0,
    position: [0, 0, 0], read_dir: [0, 0, 0], phase_dir: [0, 0, 0], slice_dir: [0, 0, 0],
    patient_table_position: [0, 0, 0], idx: emptyEncodingCounters(),
    user_int: [0, 0, 0, 0, 0, 0, 0, 0], user_float: [0, 0, 0, 0, 0, 0, 0, 0],
  };
}

/** A new image header with ISMRMRD's initial values (version 1, matrix {0,1,1}, one channel). */
export function emptyImageHeader(): ImageHeader {
  return {
    version: 1, data_type: 0, flags: 0n, measurement_uid: 0, matrix_size: [0, 1, 1],
    field_of_view: [0, 0, 0], channels: 1, position: [0, 0, 0], read_dir: [0, 0, 0],
    phase_dir: [0, 0, 0], slice_dir: [0, 0, 0], patient_table_position: [0, 0, 0],
    average: 0, slice: 0, contrast: 0, phase: 0, repetition: 0, set: 0,
    acquisition_time_stamp: 0, physiology_time_stamp: [0, 0, 0], image_type: 0, image_index: 0,
    image_series_index: 0, user_int: [0, 0, 0, 0, 0, 0, 0, 0], user_float: [0, 0, 0, 0, 0, 0, 0, 0],
    attribute_string_len: 0,
  };
}

/** A new waveform header with ISMRMRD's initial values (version 1, one channel). */
export function emptyWaveformHeader(): WaveformHeader {
  return {
    version: 1, flags: 0n, measurement_uid: 0, scan_counter: 0, time_stamp: 0,
    number_of_samples: 0, channels: 1, sample_time_us: 0, waveform_id: 0,
  };
}
