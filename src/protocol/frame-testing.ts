/**
 * fast-check generators of Gadgetron wire frames for the protocol tests: every
 * frame kind (acquisitions, images, waveforms, recon data 1023, image arrays
 * 1024, buckets 1050, texts, queries, configs, DICOM, CLOSE) and their parts.
 * Test support only: nothing in the server imports it.
 */
import fc from 'fast-check';
import type { AcquisitionBucket, BucketStats, DataBuffered, ImageArray, ReconBit, SamplingDescription } from '../ismrmrd/buffers.js';
import { AcqFlag, DataType, bytesPerPixel, clearFlag } from '../ismrmrd/types.js';
import type { Acquisition, AcquisitionHeader, ImageHeader, ImagePixels, MetaContainer, Vec3, Waveform, WaveformHeader } from '../ismrmrd/types.js';
import { BUCKET_STATS_FIELDS } from './buffer-layout.js';
import type { BucketFrame, Frame, ImageArrayFrame, ReconDataFrame } from './frames.js';

function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const f32 = fc.float();
const vec3: fc.Arbitrary<Vec3> = fc.tuple(f32, f32, f32);
const u16x3 = fc.tuple(u16, u16, u16);
const list = <T>(item: fc.Arbitrary<T>, length: number): fc.Arbitrary<T[]> => fc.array(item, { minLength: length, maxLength: length });

const metaString = fc.string({ unit: fc.constantFrom(...'abcXYZ019 _-.&<>"\'\té漢😀'), maxLength: 12 });
/** Meta containers, empty ones included. */
export const arbitraryMeta: fc.Arbitrary<MetaContainer> = fc
  .uniqueArray(fc.tuple(metaString, fc.array(metaString, { minLength: 1, maxLength: 3 })), { maxLength: 4, selector: ([name]) => name })
  .map((entries) => new Map(entries));

/** Acquisition flags with both compression bits cleared (the decoder refuses compressed acquisitions). */
export const uncompressedFlags: fc.Arbitrary<bigint> = u64.map((f) => clearFlag(clearFlag(f, AcqFlag.COMPRESSION1), AcqFlag.COMPRESSION2));

/** An acquisition header; `samples` ≥ 1 by default so that it never reads as an unsampled slot. */
export function arbitraryAcquisitionHeader(
  samples: fc.Arbitrary<number> = fc.integer({ min: 1, max: 0xffff }),
  channels: fc.Arbitrary<number> = u16,
  trajectoryDimensions: fc.Arbitrary<number> = u16,
  flags: fc.Arbitrary<bigint> = u64,
): fc.Arbitrary<AcquisitionHeader> {
  return record<AcquisitionHeader>({
    version: u16,
    flags,
    measurement_uid: u32,
    scan_counter: u32,
    acquisition_time_stamp: u32,
    physiology_time_stamp: list(u32, 3),
    number_of_samples: samples,
    available_channels: u16,
    active_channels: channels,
    channel_mask: list(u64, 16),
    discard_pre: u16,
    discard_post: u16,
    center_sample: u16,
    encoding_space_ref: u16,
    trajectory_dimensions: trajectoryDimensions,
    sample_time_us: f32,
    position: vec3,
    read_dir: vec3,
    phase_dir: vec3,
    slice_dir: vec3,
    patient_table_position: vec3,
    idx: record({
      kspace_encode_step_1: u16,
      kspace_encode_step_2: u16,
      average: u16,
      slice: u16,
      contrast: u16,
      phase: u16,
      repetition: u16,
      set: u16,
      segment: u16,
      user: list(u16, 8),
    }),
    user_int: list(i32, 8),
    user_float: list(f32, 8),
  });
}

/** The fixed parts of an image header an arbitrary can pin (the rest is random). */
type ImageHeaderShape = Partial<Pick<{ [K in keyof ImageHeader]: fc.Arbitrary<ImageHeader[K]> }, 'data_type' | 'matrix_size' | 'channels'>>;

/** An image header; `shape` pins its data type, matrix size or channel count. */
export function arbitraryImageHeader(shape: ImageHeaderShape = {}): fc.Arbitrary<ImageHeader> {
  return record<ImageHeader>({
    version: u16,
    data_type: shape.data_type ?? u16,
    flags: u64,
    measurement_uid: u32,
    matrix_size: shape.matrix_size ?? list(u16, 3),
    field_of_view: vec3,
    channels: shape.channels ?? u16,
    position: vec3,
    read_dir: vec3,
    phase_dir: vec3,
    slice_dir: vec3,
    patient_table_position: vec3,
    average: u16,
    slice: u16,
    contrast: u16,
    phase: u16,
    repetition: u16,
    set: u16,
    acquisition_time_stamp: u32,
    physiology_time_stamp: list(u32, 3),
    image_type: u16,
    image_index: u16,
    image_series_index: u16,
    user_int: list(i32, 8),
    user_float: list(f32, 8),
    attribute_string_len: u32,
  });
}

const imageHeader = arbitraryImageHeader();

/** A waveform of up to `maxSamples` samples on up to `maxChannels` channels. */
export function arbitraryWaveform(maxSamples: number, maxChannels: number): fc.Arbitrary<Waveform> {
  return fc
    .record({ samples: fc.integer({ min: 0, max: maxSamples }), channels: fc.integer({ min: 0, max: maxChannels }) })
    .chain(({ samples, channels }) =>
      record({
        head: record<WaveformHeader>({
          version: u16,
          flags: u64,
          measurement_uid: u32,
          scan_counter: u32,
          time_stamp: u32,
          number_of_samples: fc.constant(samples),
          channels: fc.constant(channels),
          sample_time_us: f32,
          waveform_id: u16,
        }),
        data: fc.uint32Array({ minLength: samples * channels, maxLength: samples * channels }),
      }),
    )
    .map(({ head, data }): Waveform => ({ kind: 'waveform', head, data }));
}

const waveform = arbitraryWaveform(6, 3);

/** Dimensions of up to `rank` entries holding at most `max` elements (an empty list holds none). */
function arbitraryDims(rank: number, max: number): fc.Arbitrary<number[]> {
  return fc
    .array(fc.integer({ min: 0, max: 3 }), { maxLength: rank })
    .filter((dims) => dims.reduce((a, b) => a * b, 1) <= max);
}

function elements(dims: readonly number[]): number {
  return dims.length === 0 ? 0 : dims.reduce((a, b) => a * b, 1);
}

function floatArray(rank: number, max: number, components: 1 | 2): fc.Arbitrary<{ data: Float32Array; dims: number[] }> {
  return arbitraryDims(rank, max).chain((dims) => {
    const n = components * elements(dims);
    return record({ data: fc.float32Array({ minLength: n, maxLength: n }), dims: fc.constant(dims) });
  });
}

/** Records of dimensions `dims`. */
function records<T>(item: fc.Arbitrary<T>, rank: number, max: number): fc.Arbitrary<{ items: T[]; dims: number[] }> {
  return arbitraryDims(rank, max).chain((dims) => record({ items: list(item, elements(dims)), dims: fc.constant(dims) }));
}

const sampling: fc.Arbitrary<SamplingDescription> = record<SamplingDescription>({
  encoded_FOV: vec3,
  recon_FOV: vec3,
  encoded_matrix: u16x3,
  recon_matrix: u16x3,
  sampling_limits: fc.tuple(
    ...([0, 1, 2] as const).map(() => record({ min: u16, max: u16, center: u16 })),
  ) as fc.Arbitrary<SamplingDescription['sampling_limits']>,
});

const dataBuffered: fc.Arbitrary<DataBuffered> = fc
  .record({
    data: floatArray(7, 12, 2),
    trajectory: fc.option(floatArray(7, 12, 1), { nil: undefined }),
    density: fc.option(floatArray(6, 12, 1), { nil: undefined }),
    headers: records(fc.option(arbitraryAcquisitionHeader(), { nil: undefined, freq: 3 }), 5, 6),
    sampling,
  })
  .map(({ data, trajectory, density, headers, sampling: s }) => {
    const buffer: DataBuffered = { data, headers: headers.items, headerDims: headers.dims, sampling: s };
    if (trajectory) buffer.trajectory = trajectory;
    if (density) buffer.density = density;
    return buffer;
  });

/** Recon data with 0–2 recon bits, each with or without a reference buffer. */
export const arbitraryReconDataFrame: fc.Arbitrary<ReconDataFrame> = fc
  .array(fc.record({ data: dataBuffered, ref: fc.option(dataBuffered, { nil: undefined }) }), { maxLength: 2 })
  .map((bits) => ({
    kind: 'recondata',
    reconData: { kind: 'recondata', rbit: bits.map(({ data, ref }): ReconBit => (ref ? { data, ref } : { data })) },
  }));

/** Image arrays with explicit header dimensions, and optional waveforms and acquisition headers. */
export const arbitraryImageArrayFrame: fc.Arbitrary<ImageArrayFrame> = fc
  .record({
    data: floatArray(7, 12, 2),
    headers: records(imageHeader, 3, 4),
    meta: fc.array(arbitraryMeta, { maxLength: 3 }),
    waveforms: fc.option(fc.array(waveform, { maxLength: 2 }), { nil: undefined }),
    acqHeaders: fc.option(records(arbitraryAcquisitionHeader(fc.integer({ min: 0, max: 0xffff })), 5, 3), { nil: undefined }),
  })
  .map(({ data, headers, meta, waveforms, acqHeaders }) => {
    const imageArray: ImageArray = { kind: 'imagearray', data, headers: headers.items, meta, headerDims: headers.dims };
    if (waveforms) imageArray.waveforms = waveforms;
    if (acqHeaders) {
      imageArray.acqHeaders = acqHeaders.items;
      imageArray.acqHeaderDims = acqHeaders.dims;
    }
    return { kind: 'image-array', imageArray };
  });

/** Sizes of the acquisitions {@link arbitraryAcquisition} makes. */
export interface AcquisitionShape {
  maxSamples: number;
  maxChannels: number;
  maxTrajectoryDimensions: number;
  flags?: fc.Arbitrary<bigint>;
}

/** An acquisition with consistent sizes: header, trajectory and data agree. */
export function arbitraryAcquisition(shape: AcquisitionShape): fc.Arbitrary<Acquisition> {
  return fc
    .record({
      samples: fc.integer({ min: 0, max: shape.maxSamples }),
      channels: fc.integer({ min: 0, max: shape.maxChannels }),
      dims: fc.integer({ min: 0, max: shape.maxTrajectoryDimensions }),
    })
    .chain(({ samples, channels, dims }) =>
      record({
        head: arbitraryAcquisitionHeader(fc.constant(samples), fc.constant(channels), fc.constant(dims), shape.flags),
        traj: fc.float32Array({ minLength: dims * samples, maxLength: dims * samples }),
        data: fc.float32Array({ minLength: 2 * samples * channels, maxLength: 2 * samples * channels }),
      }),
    )
    .map(({ head, traj, data }): Acquisition => ({ kind: 'acquisition', head, traj, data }));
}

const acquisition = arbitraryAcquisition({ maxSamples: 8, maxChannels: 3, maxTrajectoryDimensions: 2 });

const valueSet = fc.uniqueArray(u16, { maxLength: 4 }).map((values) => new Set(values));
const bucketStats: fc.Arbitrary<BucketStats> = fc
  .tuple(...BUCKET_STATS_FIELDS.map(() => valueSet))
  .map((sets) => Object.fromEntries(BUCKET_STATS_FIELDS.map((field, i) => [field, sets[i]!])) as unknown as BucketStats);

/** Buckets of 0–3 data and reference readouts, 0–2 statistics entries each, and 0–2 waveforms. */
export const arbitraryBucketFrame: fc.Arbitrary<BucketFrame> = record<AcquisitionBucket>({
  kind: fc.constant('bucket' as const),
  data: fc.array(acquisition, { maxLength: 3 }),
  ref: fc.array(acquisition, { maxLength: 3 }),
  datastats: fc.array(bucketStats, { maxLength: 2 }),
  refstats: fc.array(bucketStats, { maxLength: 2 }),
  waveforms: fc.array(waveform, { maxLength: 2 }),
}).map((bucket) => ({ kind: 'bucket', bucket }));

/** Bytes `bytes` reinterpreted as the pixel array of `dataType`. */
function pixels(dataType: number, bytes: Uint8Array): ImagePixels {
  const buffer = bytes.slice().buffer;
  switch (dataType) {
    case DataType.USHORT:
      return new Uint16Array(buffer);
    case DataType.SHORT:
      return new Int16Array(buffer);
    case DataType.UINT:
      return new Uint32Array(buffer);
    case DataType.INT:
      return new Int32Array(buffer);
    case DataType.FLOAT:
    case DataType.CXFLOAT:
      return new Float32Array(buffer);
    default:
      return new Float64Array(buffer);
  }
}

/** Uncompressed acquisitions of up to 48 samples, 6 channels and 3 trajectory dimensions. */
export const arbitraryAcquisitionFrame: fc.Arbitrary<Frame> = arbitraryAcquisition({
  maxSamples: 48,
  maxChannels: 6,
  maxTrajectoryDimensions: 3,
  flags: uncompressedFlags,
}).map((acq) => ({ kind: 'acquisition', acquisition: acq }));

/** Waveforms of up to 16 samples on up to 4 channels. */
export const arbitraryWaveformFrame: fc.Arbitrary<Frame> = arbitraryWaveform(16, 4).map((w) => ({ kind: 'waveform', waveform: w }));

/** Small images of every data type, with meta. */
export const arbitraryImageFrame: fc.Arbitrary<Frame> = fc
  .record({
    dataType: fc.integer({ min: DataType.USHORT, max: DataType.CXDOUBLE }),
    matrix: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 })),
    channels: fc.integer({ min: 0, max: 3 }),
  })
  .chain(({ dataType, matrix, channels }) => {
    const size = matrix[0] * matrix[1] * matrix[2] * channels * bytesPerPixel(dataType);
    return record({
      head: arbitraryImageHeader({ data_type: fc.constant(dataType), matrix_size: fc.constant([...matrix]), channels: fc.constant(channels) }),
      meta: arbitraryMeta,
      bytes: fc.uint8Array({ minLength: size, maxLength: size }),
    });
  })
  .map(({ head, meta, bytes }): Frame => ({ kind: 'image', image: { kind: 'image', head, meta, data: pixels(head.data_type, bytes) } }));

/** Any text, NULs and lone surrogates' bytes included. */
export const arbitraryText = fc.string({ unit: 'binary', maxLength: 40 });
/** Text that does not end in NUL (the decoder strips trailing NULs of XML). */
const xmlText = arbitraryText.filter((s) => !s.endsWith('\0'));

/** Any frame the decoder accepts, every kind included, weighted toward the data-carrying ones. */
export const arbitraryFrame: fc.Arbitrary<Frame> = fc.oneof(
  { arbitrary: arbitraryAcquisitionFrame, weight: 4 },
  { arbitrary: arbitraryImageFrame, weight: 3 },
  { arbitrary: arbitraryReconDataFrame, weight: 2 },
  { arbitrary: arbitraryImageArrayFrame, weight: 2 },
  { arbitrary: arbitraryBucketFrame, weight: 2 },
  arbitraryWaveformFrame,
  record({ kind: fc.constant('text' as const), text: arbitraryText }),
  record({ kind: fc.constant('query' as const), reserved: u64, correlationId: u64, key: arbitraryText }),
  record({ kind: fc.constant('response' as const), correlationId: u64, text: arbitraryText }),
  record({ kind: fc.constant('error' as const), text: arbitraryText }),
  record({ kind: fc.constant('config-file' as const), name: arbitraryText.filter((s) => !s.includes('\0')) }),
  record({ kind: fc.constant('config-script' as const), xml: xmlText }),
  record({ kind: fc.constant('header' as const), xml: xmlText }),
  record({ kind: fc.constant('dependency-query' as const), xml: xmlText }),
  record({ kind: fc.constant('dicom' as const), dicom: fc.uint8Array({ maxLength: 32 }), filename: arbitraryText, meta: arbitraryMeta }),
  fc.constant({ kind: 'close' as const }),
);
