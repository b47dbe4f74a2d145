import assert from 'node:assert/strict';
import test from 'node:test';
import fc from 'fast-check';
import { serializeMeta } from '../ismrmrd/meta.js';
import { AcqFlag, DataType, bytesPerPixel, clearFlag } from '../ismrmrd/types.js';
import type { AcquisitionHeader, ImageHeader, ImagePixels, MetaContainer, Vec3, WaveformHeader } from '../ismrmrd/types.js';
import { arbitraryBucketFrame, arbitraryImageArrayFrame, arbitraryReconDataFrame } from './buffer-testing.js';
import { FrameDecoder } from './decoder.js';
import { concatChunks, encodeFrame } from './encoder.js';
import { ProtocolError } from './errors.js';
import type { Frame } from './frames.js';
import type { ProtocolLimits } from './limits.js';
import { MessageId } from './message-id.js';

/** Records with a normal prototype, as decoded frames have. */
function record<T>(model: { [K in keyof T]: fc.Arbitrary<T[K]> }): fc.Arbitrary<T> {
  return fc.record(model, { noNullPrototype: true });
}

const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffff_ffff });
const i32 = fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 });
const u64 = fc.bigInt({ min: 0n, max: (1n << 64n) - 1n });
const f32 = fc.float();
const vec3: fc.Arbitrary<Vec3> = fc.tuple(f32, f32, f32);
const list = <T>(item: fc.Arbitrary<T>, length: number): fc.Arbitrary<T[]> => fc.array(item, { minLength: length, maxLength: length });
const text = fc.string({ unit: 'binary', maxLength: 40 });
const xmlText = text.filter((s) => !s.endsWith('\0'));
const metaString = fc.string({ unit: fc.constantFrom(...'abcXYZ019 _-.&<>"\'\té漢😀'), maxLength: 12 });
const meta: fc.Arbitrary<MetaContainer> = fc
  .uniqueArray(fc.tuple(metaString, fc.array(metaString, { minLength: 1, maxLength: 3 })), { maxLength: 4, selector: ([name]) => name })
  .map((entries) => new Map(entries));

const bytesOfLength = (length: number) => fc.uint8Array({ minLength: length, maxLength: length });

const acquisitionFrame: fc.Arbitrary<Frame> = fc
  .record({
    samples: fc.integer({ min: 0, max: 48 }),
    channels: fc.integer({ min: 0, max: 6 }),
    dims: fc.integer({ min: 0, max: 3 }),
  })
  .chain(({ samples, channels, dims }) =>
    record({
      head: record<AcquisitionHeader>({
        version: u16,
        flags: u64.map((f) => clearFlag(clearFlag(f, AcqFlag.COMPRESSION1), AcqFlag.COMPRESSION2)),
        measurement_uid: u32,
        scan_counter: u32,
        acquisition_time_stamp: u32,
        physiology_time_stamp: list(u32, 3),
        number_of_samples: fc.constant(samples),
        available_channels: u16,
        active_channels: fc.constant(channels),
        channel_mask: list(u64, 16),
        discard_pre: u16,
        discard_post: u16,
        center_sample: u16,
        encoding_space_ref: u16,
        trajectory_dimensions: fc.constant(dims),
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
      }),
      traj: fc.float32Array({ minLength: dims * samples, maxLength: dims * samples }),
      data: fc.float32Array({ minLength: 2 * samples * channels, maxLength: 2 * samples * channels }),
    }),
  )
  .map(({ head, traj, data }) => ({ kind: 'acquisition', acquisition: { kind: 'acquisition', head, traj, data } }));

const waveformFrame: fc.Arbitrary<Frame> = fc
  .record({ samples: fc.integer({ min: 0, max: 16 }), channels: fc.integer({ min: 0, max: 4 }) })
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
  .map(({ head, data }) => ({ kind: 'waveform', waveform: { kind: 'waveform', head, data } }));

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

const imageFrame: fc.Arbitrary<Frame> = fc
  .record({
    dataType: fc.integer({ min: DataType.USHORT, max: DataType.CXDOUBLE }),
    matrix: fc.tuple(fc.integer({ min: 0, max: 6 }), fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 3 })),
    channels: fc.integer({ min: 0, max: 3 }),
  })
  .chain(({ dataType, matrix, channels }) =>
    record({
      head: record<ImageHeader>({
        version: u16,
        data_type: fc.constant(dataType),
        flags: u64,
        measurement_uid: u32,
        matrix_size: fc.constant([...matrix]),
        field_of_view: vec3,
        channels: fc.constant(channels),
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
      }),
      meta,
      bytes: bytesOfLength(matrix[0] * matrix[1] * matrix[2] * channels * bytesPerPixel(dataType)),
    }),
  )
  .map(({ head, meta: m, bytes }) => ({ kind: 'image', image: { kind: 'image', head, meta: m, data: pixels(head.data_type, bytes) } }));

const frame: fc.Arbitrary<Frame> = fc.oneof(
  { arbitrary: acquisitionFrame, weight: 4 },
  { arbitrary: imageFrame, weight: 3 },
  { arbitrary: arbitraryReconDataFrame, weight: 2 },
  { arbitrary: arbitraryImageArrayFrame, weight: 2 },
  { arbitrary: arbitraryBucketFrame, weight: 2 },
  waveformFrame,
  record({ kind: fc.constant('text' as const), text }),
  record({ kind: fc.constant('query' as const), reserved: u64, correlationId: u64, key: text }),
  record({ kind: fc.constant('response' as const), correlationId: u64, text }),
  record({ kind: fc.constant('error' as const), text }),
  record({ kind: fc.constant('config-file' as const), name: text.filter((s) => !s.includes('\0')) }),
  record({ kind: fc.constant('config-script' as const), xml: xmlText }),
  record({ kind: fc.constant('header' as const), xml: xmlText }),
  record({ kind: fc.constant('dependency-query' as const), xml: xmlText }),
  record({ kind: fc.constant('dicom' as const), dicom: fc.uint8Array({ maxLength: 32 }), filename: text, meta }),
  fc.constant({ kind: 'close' as const }),
);

/** The frame as a decoder returns it: an image's `attribute_string_len` is the attribute length sent. */
function asReceived(f: Frame): Frame {
  if (f.kind !== 'image') return f;
  const sent = f.image.meta.size === 0 ? 0 : Buffer.byteLength(serializeMeta(f.image.meta)) + 1;
  return { kind: 'image', image: { ...f.image, head: { ...f.image.head, attribute_string_len: sent } } };
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const points = [...new Set(cuts.map((c) => (bytes.byteLength === 0 ? 0 : c % (bytes.byteLength + 1))))].sort((a, b) => a - b);
  const chunks: Uint8Array[] = [];
  let start = 0;
  for (const point of [...points, bytes.byteLength]) {
    chunks.push(bytes.subarray(start, point));
    start = point;
  }
  return chunks;
}

test('FrameDecoder decodes any valid frame sequence identically however the bytes are split', () => {
  fc.assert(
    fc.property(fc.array(frame, { maxLength: 10 }), fc.array(fc.nat(), { maxLength: 12 }), fc.boolean(), (frames, cuts, encoderChunks) => {
      const encoded = frames.flatMap(encodeFrame);
      const chunks = encoderChunks ? encoded : splitAt(concatChunks(encoded), cuts);
      const decoder = new FrameDecoder();
      const decoded = chunks.flatMap((chunk) => decoder.push(chunk));
      decoder.end();
      assert.equal(decoder.pending, 0);
      assert.deepStrictEqual(decoded, frames.map(asReceived));
    }),
    { seed: 42, numRuns: 300 },
  );
});

const fuzzLimits: ProtocolLimits = {
  maxConfigBytes: 2048,
  maxHeaderBytes: 2048,
  maxTextBytes: 1024,
  maxQueryBytes: 256,
  maxMetaBytes: 2048,
  maxAcquisitionBytes: 8192,
  maxImageBytes: 8192,
  maxWaveformBytes: 1024,
  maxArrayBytes: 4096,
  maxMessageBytes: 12000,
};

const knownIds = Object.values(MessageId);

/** Valid streams with bytes overwritten and cut short, random bytes, and known ids followed by noise. */
const hostileStream: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc
    .tuple(fc.array(frame, { minLength: 1, maxLength: 6 }), fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 8 }), fc.nat())
    .map(([frames, edits, cut]) => {
      const bytes = concatChunks(frames.flatMap(encodeFrame));
      for (const [at, value] of edits) if (bytes.byteLength > 0) bytes[at % bytes.byteLength] = value;
      return bytes.subarray(0, bytes.byteLength - (cut % (bytes.byteLength + 1)) * (cut % 2));
    }),
  fc
    .array(fc.tuple(fc.constantFrom(...knownIds), fc.uint8Array({ maxLength: 400 })), { minLength: 1, maxLength: 6 })
    .map((parts) => concatChunks(parts.flatMap(([id, noise]) => [Uint8Array.of(id & 0xff, id >>> 8), noise]))),
);

interface Outcome {
  frames: Frame[];
  error: unknown;
}

/** Decodes `chunks`, checking after each push that `pending` stays within `maxMessageBytes`. */
function decodeHostile(chunks: Uint8Array[]): Outcome {
  const decoder = new FrameDecoder(fuzzLimits);
  const frames: Frame[] = [];
  let error: unknown;
  try {
    for (const chunk of chunks) {
      frames.push(...decoder.push(chunk));
      assert.ok(decoder.pending <= fuzzLimits.maxMessageBytes, `pending ${decoder.pending}`);
    }
    decoder.end();
  } catch (caught) {
    error = caught;
  }
  if (decoder.errored !== null) {
    error ??= decoder.errored;
    assert.equal(decoder.errored, error);
    assert.throws(() => decoder.push(Uint8Array.of(4, 0)), (e) => e === error);
    assert.throws(() => decoder.end(), (e) => e === error);
  }
  return { frames, error };
}

test('FrameDecoder throws only ProtocolError on hostile input, bounds pending, and ignores chunk boundaries', () => {
  fc.assert(
    fc.property(hostileStream, fc.array(fc.nat(), { maxLength: 16 }), (bytes, cuts) => {
      const split = decodeHostile(splitAt(bytes, cuts));
      if (split.error !== undefined) assert.ok(split.error instanceof ProtocolError, `unexpected ${String(split.error)}`);
      const whole = decodeHostile([bytes]);
      assert.deepStrictEqual(split.frames, whole.frames);
      assert.equal((split.error as Error | undefined)?.message, (whole.error as Error | undefined)?.message);
    }),
    { seed: 42, numRuns: 300 },
  );
});
