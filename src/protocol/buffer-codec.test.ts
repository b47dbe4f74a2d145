import assert from 'node:assert/strict';
import test from 'node:test';
import type { AcquisitionBucket, BucketStats, DataBuffered, ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { encodeAcquisitionHeader } from '../ismrmrd/header-codec.js';
import { emptyAcquisitionHeader, emptyEncodingCounters, emptyImageHeader, emptyWaveformHeader } from '../ismrmrd/types.js';
import type { AcquisitionHeader, Waveform } from '../ismrmrd/types.js';
import { FrameDecoder } from './decoder.js';
import { concatChunks, encodeBucket, encodeFrame, encodeImageArray, encodeReconData } from './encoder.js';
import { ProtocolError } from './errors.js';
import type { Frame } from './frames.js';

/**
 * Pinned bodies were produced by a probe program built on ISMRMRD 1.8's own
 * structs (default-constructed `AcquisitionHeader`/`ImageHeader`,
 * `ISMRMRD::serialize(MetaContainer)`), written field by field the way
 * Gadgetron 4's `Core::IO::write` does (see docs/wire-formats.md).
 */
function hex(...lines: string[]): Uint8Array {
  return Uint8Array.from(Buffer.from(lines.join(''), 'hex'));
}

const IMAGE_ARRAY_PIN = hex(
  '00040700000000000000020000000000000001000000000000000100000000000000010000000000000001000000000000000100000000000000010000000000',
  '00000000803f0000004000004040000080c003000000000000000100000000000000010000000000000001000000000000000100070000000000000000000000',
  '00000200010001000000c842000048430000a0400100000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000007000300000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000100000000000000',
  'c6000000000000003c3f786d6c2076657273696f6e3d22312e30223f3e0a3c69736d726d72644d6574613e0a093c6d6574613e0a09093c6e616d653e47414447',
  '4554524f4e5f44617461526f6c653c2f6e616d653e0a09093c76616c75653e496d6167653c2f76616c75653e0a093c2f6d6574613e0a093c6d6574613e0a0909',
  '3c6e616d653e474144474554524f4e5f496d6167654e756d6265723c2f6e616d653e0a09093c76616c75653e373c2f76616c75653e0a093c2f6d6574613e0a3c',
  '2f69736d726d72644d6574613e0a010100000000000000010000000000000000000000000000000000000000000000d20400000300010000000000020000000a',
  '000000140000001e00000000',
);

const RECON_DATA_PIN = hex(
  'ff030100000000000000070000000000000002000000000000000100000000000000010000000000000001000000000000000100000000000000010000000000',
  '000001000000000000000000003f000000bf00000040000080400001060000000000000002000000000000000100000000000000010000000000000001000000',
  '00000000010000000000000001000000000000000000003f0000803e050000000000000002000000000000000100000000000000010000000000000001000000',
  '00000000010000000000000001000000000000000000000000000000000000000000000000000000000000000000000001000100000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000100800000000000000000000000050000000000000000000000000000000000',
  '00000200010001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000001000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000008043000080430000a040',
  '00000043000000430000a040020002000100010002000100000001000200010002000300000000000000000000',
);

const BUCKET_PIN = hex(
  '1a040100000000000000540100000000000010000000000000000800000000000000000000000000000000000000000000000000000000000000000000000000',
  '00006400000000000000080000000000000001000000000000002800000000000000080000000000000001000000000000000000000000000900000000000000',
  '00000000000000000000000002000100010000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000100000000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000030000000000000000000000000000000000000000000000000000000000000000000000',
  '00000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000000',
  '803e0000003f0000803f000000400000404000008040010000000000000002000000000000000100030001000000000000000000010000000000000000000100',
  '00000000000000000100000000000000000001000000000000000000010000000000000000000100000000000000000001000000000000000000000000000000',
  '0000010000000000000000000000000000000000000000000000000000000200010000000000000000000700000008000000',
);
function decodeAll(bytes: Uint8Array, step = bytes.byteLength): Frame[] {
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += step) frames.push(...decoder.push(bytes.subarray(offset, offset + step)));
  decoder.end();
  assert.equal(decoder.pending, 0);
  return frames;
}

function protocolError(code: string, message?: RegExp | string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  };
}

function words(...values: (number | bigint)[]): Uint8Array {
  const bytes = new Uint8Array(8 * values.length);
  const view = new DataView(bytes.buffer);
  values.forEach((value, i) => view.setBigUint64(8 * i, BigInt(value), true));
  return bytes;
}

function frameBytes(id: number, ...parts: Uint8Array[]): Uint8Array {
  return concatChunks([Uint8Array.of(id & 0xff, id >> 8), ...parts]);
}

function stats(values: Partial<Record<keyof BucketStats, number[]>>): BucketStats {
  const set = (key: keyof BucketStats): Set<number> => new Set(values[key] ?? [0]);
  return {
    kspace_encode_step_1: set('kspace_encode_step_1'),
    kspace_encode_step_2: set('kspace_encode_step_2'),
    slice: set('slice'),
    phase: set('phase'),
    contrast: set('contrast'),
    repetition: set('repetition'),
    set: set('set'),
    segment: set('segment'),
    average: set('average'),
  };
}

const pinnedWaveform: Waveform = {
  kind: 'waveform',
  head: { ...emptyWaveformHeader(), number_of_samples: 3, waveform_id: 2, time_stamp: 1234 },
  data: Uint32Array.of(10, 20, 30),
};

const pinnedImageArray: ImageArray = {
  kind: 'imagearray',
  data: { data: Float32Array.of(1, 2, 3, -4), dims: [2, 1, 1, 1, 1, 1, 1] },
  headers: [{ ...emptyImageHeader(), data_type: 7, matrix_size: [2, 1, 1], field_of_view: [100, 200, 5], image_index: 7, image_series_index: 3 }],
  meta: [new Map([['GADGETRON_DataRole', ['Image']], ['GADGETRON_ImageNumber', ['7']]])],
  waveforms: [pinnedWaveform],
};

const sampledHeader: AcquisitionHeader = {
  ...emptyAcquisitionHeader(),
  number_of_samples: 2,
  scan_counter: 5,
  center_sample: 1,
  flags: 1n << 7n,
  idx: { ...emptyEncodingCounters(), kspace_encode_step_1: 1 },
};

const pinnedBuffer: DataBuffered = {
  data: { data: Float32Array.of(0.5, -0.5, 2, 4), dims: [2, 1, 1, 1, 1, 1, 1] },
  density: { data: Float32Array.of(0.5, 0.25), dims: [2, 1, 1, 1, 1, 1] },
  headers: [undefined, sampledHeader],
  headerDims: [2, 1, 1, 1, 1],
  sampling: {
    encoded_FOV: [256, 256, 5],
    recon_FOV: [128, 128, 5],
    encoded_matrix: [2, 2, 1],
    recon_matrix: [1, 2, 1],
    sampling_limits: [
      { min: 0, max: 2, center: 1 },
      { min: 1, max: 3, center: 2 },
      { min: 0, max: 0, center: 0 },
    ],
  },
};
const pinnedReconData: ReconData = { kind: 'recondata', rbit: [{ data: pinnedBuffer }] };

const pinnedBucket: AcquisitionBucket = {
  kind: 'bucket',
  data: [
    {
      kind: 'acquisition',
      head: {
        ...emptyAcquisitionHeader(),
        number_of_samples: 2,
        trajectory_dimensions: 1,
        scan_counter: 9,
        idx: { ...emptyEncodingCounters(), kspace_encode_step_1: 3 },
      },
      traj: Float32Array.of(0.25, 0.5),
      data: Float32Array.of(1, 2, 3, 4),
    },
  ],
  ref: [],
  datastats: [stats({ kspace_encode_step_1: [3, 1] })],
  refstats: [],
  waveforms: [{ kind: 'waveform', head: { ...emptyWaveformHeader(), number_of_samples: 2 }, data: Uint32Array.of(7, 8) }],
};

/** Offset of the recon data's first (unsampled) header in RECON_DATA_PIN. */
const FIRST_HEADER = 2 + 8 + (8 + 7 * 8) + 16 + 1 + 1 + (8 + 6 * 8) + 8 + (8 + 5 * 8);

test('encodeImageArray writes the bytes of a Gadgetron 4 image array, which decode back to it', () => {
  assert.deepStrictEqual(concatChunks(encodeImageArray(pinnedImageArray)), IMAGE_ARRAY_PIN);
  assert.deepStrictEqual(decodeAll(IMAGE_ARRAY_PIN), [{ kind: 'image-array', imageArray: { ...pinnedImageArray, headerDims: [1, 1, 1] } }]);
});

test('recon data from Gadgetron decodes with its default-constructed header slot unsampled, and encodes it as zeros', () => {
  assert.deepStrictEqual(decodeAll(RECON_DATA_PIN), [{ kind: 'recondata', reconData: pinnedReconData }]);
  assert.deepStrictEqual([...RECON_DATA_PIN.subarray(FIRST_HEADER, FIRST_HEADER + 40)].flatMap((b, i) => (b ? [i] : [])), [0, 36, 38]);
  const expected = RECON_DATA_PIN.slice();
  expected.fill(0, FIRST_HEADER, FIRST_HEADER + 340);
  assert.deepStrictEqual(concatChunks(encodeReconData(pinnedReconData)), expected);
  assert.deepStrictEqual(decodeAll(expected), [{ kind: 'recondata', reconData: pinnedReconData }]);
});

test('encodeBucket writes the bytes of a Gadgetron 4 bucket, which decode back to it', () => {
  assert.deepStrictEqual(concatChunks(encodeBucket(pinnedBucket)), BUCKET_PIN);
  assert.deepStrictEqual(decodeAll(BUCKET_PIN), [{ kind: 'bucket', bucket: pinnedBucket }]);
});

test('pinned recon data, image array and bucket decode the same byte by byte', () => {
  const stream = concatChunks([RECON_DATA_PIN, IMAGE_ARRAY_PIN, BUCKET_PIN]);
  const whole = decodeAll(stream);
  assert.equal(whole.length, 3);
  for (const step of [1, 3, 7, 64]) assert.deepStrictEqual(decodeAll(stream, step), whole);
});

test('recon buffer header slots: all-zero and ISMRMRD initial headers are unsampled, any other header is kept', () => {
  const initial = emptyAcquisitionHeader();
  const almost = { ...emptyAcquisitionHeader(), active_channels: 2 };
  const zero = { ...emptyAcquisitionHeader(), version: 0, available_channels: 0, active_channels: 0, scan_counter: 1 };
  const buffer: DataBuffered = { ...pinnedBuffer, headers: [initial, almost, zero, undefined], headerDims: [4] };
  const bytes = concatChunks(encodeFrame({ kind: 'recondata', reconData: { kind: 'recondata', rbit: [{ data: buffer, ref: pinnedBuffer }] } }));
  const [frame] = decodeAll(bytes);
  assert.ok(frame?.kind === 'recondata');
  assert.deepStrictEqual(frame.reconData.rbit[0]?.data.headers, [undefined, almost, zero, undefined]);
  assert.deepStrictEqual(frame.reconData.rbit[0]?.ref, pinnedBuffer);

  const allZero = new Uint8Array(340);
  const encoded = new Uint8Array(340);
  encodeAcquisitionHeader({ ...emptyAcquisitionHeader(), version: 0, available_channels: 0, active_channels: 0 }, encoded, 0);
  assert.deepStrictEqual(encoded, allZero);
});

test('encodeImageArray derives header dimensions from the data and does not send sampling', () => {
  const acq = { ...emptyAcquisitionHeader(), number_of_samples: 4 };
  const array: ImageArray = {
    kind: 'imagearray',
    data: { data: new Float32Array(2 * 2 * 3 * 2), dims: [2, 3, 1, 1, 2, 1, 1] },
    headers: [emptyImageHeader(), { ...emptyImageHeader(), image_index: 1 }],
    meta: [new Map(), new Map([['a', ['1']]])],
    acqHeaders: [acq, acq, acq, acq, acq, acq],
    sampling: pinnedBuffer.sampling,
  };
  const [frame] = decodeAll(concatChunks(encodeImageArray(array)));
  assert.ok(frame?.kind === 'image-array');
  const { sampling: _, ...sent } = array;
  assert.deepStrictEqual(frame.imageArray, { ...sent, headerDims: [2, 1, 1], acqHeaderDims: [3, 1, 2, 1, 1] });

  const odd: ImageArray = { ...array, data: { data: new Float32Array(0), dims: [0] }, acqHeaders: [acq] };
  const [oddFrame] = decodeAll(concatChunks(encodeImageArray(odd)));
  assert.ok(oddFrame?.kind === 'image-array');
  assert.deepStrictEqual([oddFrame.imageArray.headerDims, oddFrame.imageArray.acqHeaderDims], [[2], [1]]);
});

test('encodeImageArray sends an empty meta container as an <ismrmrdMeta /> document Gadgetron can parse', () => {
  const array: ImageArray = { kind: 'imagearray', data: { data: new Float32Array(0), dims: [] }, headers: [], meta: [new Map()] };
  const bytes = concatChunks(encodeImageArray(array));
  const xml = '<?xml version="1.0"?>\n<ismrmrdMeta />\n';
  assert.deepStrictEqual(bytes, concatChunks([Uint8Array.of(0x00, 0x04), words(0, 0, 1, xml.length), Buffer.from(xml), Uint8Array.of(0, 0)]));
});

test('FrameDecoder refuses claimed 2^60-element arrays and counts quickly, before allocating', () => {
  const huge = 1n << 30n;
  const cases: [Uint8Array, RegExp][] = [
    [frameBytes(1023, words(1, 2, huge, huge)), /^Cannot decode recon data: rbit\[0\]\.data\.data of 9223372036854775808 bytes exceeds the limit of 536870912 bytes$/],
    [frameBytes(1023, words(1n << 60n)), /^Cannot decode recon data: message of at least \d+ bytes exceeds the limit of 1073741824 bytes$/],
    [frameBytes(1023, words(1, 1, 0), Uint8Array.of(0, 0), words(2, huge, huge)), /^Cannot decode recon data: rbit\[0\]\.data\.headers of \d+ bytes exceeds/],
    [frameBytes(1024, words(3, huge, huge, 1)), /^Cannot decode image array: data of 9223372036854775808 bytes exceeds/],
    [frameBytes(1024, words(0, 1, 1n << 60n)), /^Cannot decode image array: headers of \d+ bytes exceeds/],
    [frameBytes(1024, words(0, 0, 1n << 60n)), /^Cannot decode image array: message of at least \d+ bytes exceeds/],
    [frameBytes(1024, words(0, 0, 1, 1n << 60n)), /^Cannot decode image array: meta\[0\] of 1152921504606846976 bytes exceeds the limit of 4194304 bytes$/],
    [frameBytes(1050, words(0, 0, 0, 1n << 60n, 0, 0, 0, 0, 0, 0, 0, 0, 0)), /^Cannot decode bucket: message of 1152921504606847082 bytes exceeds/],
    [frameBytes(1050, words(1n << 50n, 340n << 50n, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), /^Cannot decode bucket: message of \d+ bytes exceeds/],
  ];
  for (const [bytes, message] of cases) {
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    assert.throws(() => new FrameDecoder().push(bytes), protocolError('MESSAGE_TOO_LARGE', message));
    assert.ok(performance.now() - started < 100, `${message}: ${performance.now() - started} ms`);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  }
  assert.throws(
    () => new FrameDecoder({ maxArrayBytes: 15 }).push(concatChunks(encodeReconData(pinnedReconData))),
    protocolError('MESSAGE_TOO_LARGE', 'Cannot decode recon data: rbit[0].data.data of 16 bytes exceeds the limit of 15 bytes'),
  );
  assert.equal(new FrameDecoder({ maxArrayBytes: 680 }).push(concatChunks(encodeReconData(pinnedReconData))).length, 1);
  assert.throws(
    () => new FrameDecoder({ maxMessageBytes: 900 }).push(RECON_DATA_PIN),
    protocolError('MESSAGE_TOO_LARGE', /^Cannot decode recon data: message of at least \d+ bytes exceeds the limit of 900 bytes$/),
  );
  assert.throws(
    () => new FrameDecoder({ maxAcquisitionBytes: 23 }).push(BUCKET_PIN),
    protocolError('MESSAGE_TOO_LARGE', 'Cannot decode bucket: data[0] data and trajectory of 24 bytes exceed the limit of 23 bytes'),
  );
});

test('FrameDecoder reports malformed recon data, image arrays and buckets', () => {
  const cases: [Uint8Array, string | RegExp][] = [
    [frameBytes(1023, words(1, 0), Uint8Array.of(2)), 'Cannot decode recon data: rbit[0].data.trajectory presence flag is 2, not 0 or 1'],
    [frameBytes(1023, words(1, 33)), 'Cannot decode recon data: rbit[0].data.data has 33 dimensions, more than 32'],
    [frameBytes(1024, words(2, 0, 1n << 60n)), 'Cannot decode image array: data dimension 1 of 1152921504606846976 is too large'],
    [frameBytes(1024, words(0, 3, 1n << 63n, 0, 1n << 63n)), 'Cannot decode image array: headers dimension 0 of 9223372036854775808 is too large'],
    [frameBytes(1050, words(1, 339, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)), 'Cannot decode bucket: data header bytes 339 do not match 1 headers of 340 bytes'],
    [frameBytes(1050, words(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 41, 0)), 'Cannot decode bucket: waveform header bytes 41 do not match 1 headers of 40 bytes'],
  ];
  const wrongData = BUCKET_PIN.slice();
  new DataView(wrongData.buffer).setBigUint64(2 + 16, 24n, true);
  cases.push([wrongData, /^Cannot decode bucket: data headers call for 8 trajectory and 16 data bytes, but the bucket declares 8 and 24$/]);
  const statsAt = 2 + 104 + 340 + 8 + 16;
  const wrongStats = BUCKET_PIN.slice();
  new DataView(wrongStats.buffer).setBigUint64(statsAt, 2n, true);
  cases.push([wrongStats, /^Cannot decode bucket: data statistics claim 2 entries in \d+ bytes$/]);
  const shortStats = BUCKET_PIN.slice();
  new DataView(shortStats.buffer).setBigUint64(statsAt + 8, 50n, true);
  cases.push([shortStats, /^Cannot decode bucket: data statistics claim more values than the \d+ bytes hold$/]);
  const metaAt = IMAGE_ARRAY_PIN.indexOf(0x3c);
  const badMeta = IMAGE_ARRAY_PIN.slice();
  badMeta.set(Buffer.from('<nope'), metaAt);
  cases.push([badMeta, /^Cannot decode image array: invalid meta\[0\] XML: /]);
  for (const [bytes, message] of cases) assert.throws(() => new FrameDecoder().push(bytes), protocolError('MALFORMED_MESSAGE', message));

  for (const pin of [RECON_DATA_PIN, IMAGE_ARRAY_PIN, BUCKET_PIN]) {
    const decoder = new FrameDecoder();
    assert.deepStrictEqual(decoder.push(pin.subarray(0, pin.byteLength - 1)), []);
    assert.throws(() => decoder.end(), protocolError('TRUNCATED_MESSAGE', /^Connection closed in the middle of an? (recon data|image array|bucket) message/));
  }
});

test('encoders refuse arrays that do not match their dimensions and values that do not fit their fields', () => {
  const buffer = (change: Partial<DataBuffered>): ReconData => ({ kind: 'recondata', rbit: [{ data: { ...pinnedBuffer, ...change } }] });
  assert.throws(() => encodeReconData(buffer({ data: { data: new Float32Array(2), dims: [] } })), {
    name: 'RangeError',
    message: 'Cannot encode recon data rbit[0].data.data: length 2 does not match no dimensions (0 elements on the wire) × 2 (complex)',
  });
  assert.throws(() => encodeReconData(buffer({ headerDims: [3] })), /^RangeError: Cannot encode recon data rbit\[0\]\.data\.headers: length 2 does not match dimensions \[3\]$/);
  assert.throws(() => encodeReconData(buffer({ density: { data: new Float32Array(1), dims: [-1] } })), /dimension -1 is not a non-negative integer/);
  const sampling = { ...pinnedBuffer.sampling, recon_matrix: [65536, 1, 1] as [number, number, number] };
  assert.throws(() => encodeReconData(buffer({ sampling })), {
    message: 'Cannot encode recon data rbit[0].data.sampling.recon_matrix[0]: 65536 is not a 16-bit unsigned integer',
  });
  const limits = pinnedBuffer.sampling.sampling_limits.map((l, i) => (i === 1 ? { ...l, center: -1 } : l)) as DataBuffered['sampling']['sampling_limits'];
  assert.throws(() => encodeReconData(buffer({ sampling: { ...pinnedBuffer.sampling, sampling_limits: limits } })), /sampling\.sampling_limits\[1\]\.center: -1 is not/);
  assert.throws(() => encodeBucket({ ...pinnedBucket, refstats: [stats({ set: [70000] })] }), /bucket refstats\[0\]\.set: 70000 is not a 16-bit/);
  assert.throws(() => encodeBucket({ ...pinnedBucket, ref: [{ ...pinnedBucket.data[0]!, traj: new Float32Array(1) }] }), /bucket ref\[0\]: trajectory length 1 does not match 1 dimensions × 2 samples/);
  assert.throws(() => encodeImageArray({ ...pinnedImageArray, waveforms: [{ ...pinnedWaveform, data: new Uint32Array(2) }] }), /waveforms\[0\]: data length 2 does not match 3 samples × 1 channels/);
  assert.throws(() => encodeImageArray({ ...pinnedImageArray, headerDims: [2] }), /image array headers: length 1 does not match dimensions \[2\]/);
});

test('FrameDecoder round-trips a 256 × 256 × 16-channel recon buffer in 64 KiB chunks into aligned arrays', (t) => {
  const [RO, E1, CHA] = [256, 256, 16];
  const data = Float32Array.from({ length: 2 * RO * E1 * CHA }, (_, i) => i % 1000);
  const headers = Array.from({ length: E1 }, (_, e1): AcquisitionHeader | undefined =>
    e1 % 2 ? undefined : { ...sampledHeader, number_of_samples: RO, idx: { ...emptyEncodingCounters(), kspace_encode_step_1: e1 } },
  );
  const reconData: ReconData = {
    kind: 'recondata',
    rbit: [{ data: { ...pinnedBuffer, data: { data, dims: [RO, E1, 1, CHA, 1, 1, 1] }, density: undefined, headers, headerDims: [E1, 1, 1, 1, 1] } }],
  };
  delete reconData.rbit[0]!.data.density;
  const started = performance.now();
  const chunks = encodeReconData(reconData);
  assert.ok(chunks.some((chunk) => chunk.buffer === data.buffer), 'the data travels as a view, not a copy');
  const bytes = concatChunks(chunks);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  for (let offset = 0; offset < bytes.byteLength; offset += 65536) frames.push(...decoder.push(bytes.subarray(offset, offset + 65536)));
  decoder.end();
  const ms = performance.now() - started;
  t.diagnostic(`${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB encoded and decoded in ${ms.toFixed(1)} ms`);
  assert.deepStrictEqual(frames, [{ kind: 'recondata', reconData }]);
  const decoded = frames[0]?.kind === 'recondata' ? frames[0].reconData.rbit[0]?.data.data.data : undefined;
  assert.ok(decoded && decoded.byteOffset === 0 && decoded.buffer.byteLength === decoded.byteLength);
  assert.ok(ms < 2000);
});
