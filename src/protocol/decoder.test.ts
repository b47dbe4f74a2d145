import assert from 'node:assert/strict';
import test from 'node:test';
import { encodeAcquisitionHeader, encodeImageHeader } from '../ismrmrd/header-codec.js';
import { serializeMeta } from '../ismrmrd/meta.js';
import { AcqFlag, DataType, emptyAcquisitionHeader, emptyImageHeader, emptyWaveformHeader, setFlag } from '../ismrmrd/types.js';
import type { Acquisition, AcquisitionHeader, Image } from '../ismrmrd/types.js';
import { FrameDecoder } from './decoder.js';
import { concatChunks, encodeAcquisition, encodeFrame, encodeText } from './encoder.js';
import { ProtocolError } from './errors.js';
import type { Frame } from './frames.js';
import { defaultProtocolLimits, mergeProtocolLimits } from './limits.js';

function acquisition(samples: number, channels: number, dims: number, seed = 1): Acquisition {
  const head = emptyAcquisitionHeader();
  head.number_of_samples = samples;
  head.active_channels = channels;
  head.available_channels = channels;
  head.trajectory_dimensions = dims;
  head.scan_counter = seed;
  head.flags = setFlag(0n, AcqFlag.LAST_IN_SLICE);
  head.position = [1.5, -2.25, 3];
  head.idx.kspace_encode_step_1 = seed;
  const traj = Float32Array.from({ length: dims * samples }, (_, i) => i / 8 - seed);
  const data = Float32Array.from({ length: 2 * samples * channels }, (_, i) => i * 0.5 + seed);
  return { kind: 'acquisition', head, traj, data };
}

/** Id and header of an acquisition whose payload is not sent. */
function acquisitionPrefix(fields: Partial<AcquisitionHeader>): Uint8Array {
  const bytes = new Uint8Array(2 + 340);
  bytes.set([0xf0, 0x03]);
  encodeAcquisitionHeader({ ...emptyAcquisitionHeader(), ...fields }, bytes, 2);
  return bytes;
}

function image(dataType: number, meta: Map<string, string[]>): Image {
  const head = { ...emptyImageHeader(), data_type: dataType, matrix_size: [4, 3, 2], channels: 2, image_index: 5 };
  const n = 4 * 3 * 2 * 2;
  const make = {
    [DataType.USHORT]: () => Uint16Array.from({ length: n }, (_, i) => i * 1000),
    [DataType.SHORT]: () => Int16Array.from({ length: n }, (_, i) => -i * 1000),
    [DataType.UINT]: () => Uint32Array.from({ length: n }, (_, i) => i * 1e8),
    [DataType.INT]: () => Int32Array.from({ length: n }, (_, i) => -i * 1e7),
    [DataType.FLOAT]: () => Float32Array.from({ length: n }, (_, i) => i / 3),
    [DataType.DOUBLE]: () => Float64Array.from({ length: n }, (_, i) => i / 3),
    [DataType.CXFLOAT]: () => Float32Array.from({ length: 2 * n }, (_, i) => i / 7),
    [DataType.CXDOUBLE]: () => Float64Array.from({ length: 2 * n }, (_, i) => i / 7),
  }[dataType]!;
  return { kind: 'image', head, meta, data: make() };
}

/** The image as it comes back: `attribute_string_len` is what was sent on the wire. */
function asReceived(frame: Frame): Frame {
  if (frame.kind !== 'image') return frame;
  const { image: img } = frame;
  const sent = img.meta.size === 0 ? 0 : Buffer.byteLength(serializeMeta(img.meta)) + 1;
  return { kind: 'image', image: { ...img, head: { ...img.head, attribute_string_len: sent } } };
}

const sampleFrames: Frame[] = [
  { kind: 'config-file', name: 'default.xml' },
  { kind: 'config-script', xml: '<configuration><version>2</version></configuration>' },
  { kind: 'header', xml: '<ismrmrdHeader>ü</ismrmrdHeader>' },
  { kind: 'text', text: 'hello' },
  { kind: 'text', text: '' },
  { kind: 'query', reserved: 0n, correlationId: 99n, key: 'gadgetron::info' },
  { kind: 'response', correlationId: 99n, text: 'Gadgetron Version Info\n' },
  { kind: 'error', text: 'it broke' },
  { kind: 'acquisition', acquisition: acquisition(16, 4, 0) },
  { kind: 'acquisition', acquisition: acquisition(7, 3, 2, 2) },
  { kind: 'acquisition', acquisition: acquisition(0, 0, 0, 3) },
  { kind: 'waveform', waveform: { kind: 'waveform', head: { ...emptyWaveformHeader(), channels: 2, number_of_samples: 5 }, data: Uint32Array.from({ length: 10 }, (_, i) => i * 0x1000_0001) } },
  ...[1, 2, 3, 4, 5, 6, 7, 8].map((t): Frame => ({ kind: 'image', image: image(t, t % 2 ? new Map([['a', ['1', '2']], ['GADGETRON_DataRole', ['Image']]]) : new Map()) })),
  { kind: 'dependency-query', xml: '<ismrmrdMeta><meta><name>status</name><value>success</value></meta></ismrmrdMeta>' },
  { kind: 'dicom', dicom: Uint8Array.of(0x44, 0x49, 0x43, 0x4d), filename: 'img_0001', meta: new Map([['k', ['v & <w>']]]) },
  { kind: 'dicom', dicom: new Uint8Array(0), filename: '', meta: new Map() },
  { kind: 'close' },
];

const stream = concatChunks(sampleFrames.flatMap(encodeFrame));

function decodeInChunks(bytes: Uint8Array, cuts: number[], decoder = new FrameDecoder()): Frame[] {
  const frames: Frame[] = [];
  let start = 0;
  for (const cut of [...cuts, bytes.byteLength]) {
    frames.push(...decoder.push(bytes.subarray(start, cut)));
    start = cut;
  }
  decoder.end();
  assert.equal(decoder.pending, 0);
  return frames;
}

function protocolError(code: string, message?: RegExp | string) {
  return (error: unknown): boolean => {
    assert.ok(error instanceof ProtocolError, `expected a ProtocolError, got ${String(error)}`);
    assert.equal(error.name, 'ProtocolError');
    assert.equal(error.code, code);
    if (typeof message === 'string') assert.equal(error.message, message);
    else if (message) assert.match(error.message, message);
    return true;
  };
}

test('FrameDecoder round-trips every frame kind in one chunk', () => {
  assert.deepStrictEqual(decodeInChunks(stream, []), sampleFrames.map(asReceived));
});

test('FrameDecoder gives the same frames byte by byte and split anywhere', () => {
  const expected = sampleFrames.map(asReceived);
  const decoder = new FrameDecoder();
  const frames: Frame[] = [];
  for (let i = 0; i < stream.byteLength; i++) {
    frames.push(...decoder.push(stream.subarray(i, i + 1)));
    assert.ok(decoder.pending <= 2 + 340 + 4 * 7 * 2 + 8 * 16 * 4 + 4096);
  }
  decoder.end();
  assert.deepStrictEqual(frames, expected);
  const step = Math.ceil(stream.byteLength / 40);
  for (let cut = 1; cut <= stream.byteLength; cut += step) assert.deepStrictEqual(decodeInChunks(stream, [cut - 1, cut]), expected);
});

test('FrameDecoder returns aligned arrays that do not retain the input chunk', () => {
  const bytes = concatChunks(encodeAcquisition(acquisition(5, 3, 1)));
  const shifted = new Uint8Array(bytes.byteLength + 1);
  shifted.set(bytes, 1);
  const [frame] = new FrameDecoder().push(shifted.subarray(1));
  assert.ok(frame?.kind === 'acquisition');
  const { data, traj } = frame.acquisition;
  assert.equal(data.byteOffset % 4, 0);
  assert.equal(data.buffer.byteLength, data.byteLength);
  assert.equal(traj.buffer.byteLength, traj.byteLength);
  assert.deepStrictEqual(frame.acquisition, acquisition(5, 3, 1));
});

test('FrameDecoder reports pending bytes of the frame in progress only', () => {
  const decoder = new FrameDecoder();
  const text = concatChunks(encodeText('abcdef'));
  assert.equal(decoder.push(Uint8Array.of(...text, ...text.subarray(0, 3))).length, 1);
  assert.equal(decoder.pending, 3);
  assert.equal(decoder.push(text.subarray(3)).length, 1);
  assert.equal(decoder.pending, 0);
});

test('FrameDecoder strips trailing NULs from the header and accepts MRD image attributes without NUL', () => {
  const header = Uint8Array.of(3, 0, 4, 0, 0, 0, 0x3c, 0x61, 0x3e, 0);
  assert.deepStrictEqual(new FrameDecoder().push(header), [{ kind: 'header', xml: '<a>' }]);

  const xml = Buffer.from(serializeMeta(new Map([['x', ['1']]])));
  const head = { ...emptyImageHeader(), data_type: DataType.FLOAT, matrix_size: [1, 1, 1], attribute_string_len: xml.byteLength };
  const bytes = new Uint8Array(2 + 198 + 8 + xml.byteLength + 4);
  bytes.set([0xfe, 0x03]);
  encodeImageHeader(head, bytes, 2);
  Buffer.from(bytes.buffer).writeBigUInt64LE(BigInt(xml.byteLength), 200);
  bytes.set(xml, 208);
  const [frame] = new FrameDecoder().push(bytes);
  assert.ok(frame?.kind === 'image');
  assert.deepStrictEqual(frame.image.meta, new Map([['x', ['1']]]));
  assert.deepStrictEqual(frame.image.data, new Float32Array(1));
});

test('FrameDecoder refuses a 4 GB text or config length without allocating', () => {
  for (const id of [2, 3, 5]) {
    const before = process.memoryUsage().arrayBuffers;
    const started = performance.now();
    const decoder = new FrameDecoder();
    assert.throws(() => decoder.push(Uint8Array.of(id, 0, 0xff, 0xff, 0xff, 0xff)), protocolError('MESSAGE_TOO_LARGE', / of 4294967295 bytes exceeds the limit of \d+ bytes$/));
    assert.ok(performance.now() - started < 200);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1024 * 1024);
  }
  assert.throws(
    () => new FrameDecoder().push(Uint8Array.of(5, 0, 0xff, 0xff, 0xff, 0xff)),
    protocolError('MESSAGE_TOO_LARGE', 'Cannot decode text: text of 4294967295 bytes exceeds the limit of 1048576 bytes'),
  );
});

test('FrameDecoder checks u64 lengths and acquisition sizes against their limits', () => {
  const query = new Uint8Array(2 + 24).fill(0xff);
  query.set([6, 0]);
  assert.throws(() => new FrameDecoder().push(query), protocolError('MESSAGE_TOO_LARGE', 'Cannot decode query: key of 18446744073709551615 bytes exceeds the limit of 65536 bytes'));

  const head = acquisitionPrefix({ number_of_samples: 65535, trajectory_dimensions: 65535 });
  assert.throws(() => new FrameDecoder().push(head), protocolError('MESSAGE_TOO_LARGE', `Cannot decode acquisition: trajectory of ${65535 * 65535 * 4} bytes exceeds the limit of ${64 * 1024 * 1024} bytes`));

  const big = acquisitionPrefix({ number_of_samples: 4096, active_channels: 4096 });
  assert.throws(() => new FrameDecoder().push(big), protocolError('MESSAGE_TOO_LARGE', /^Cannot decode acquisition: data of 134217728 bytes exceeds/));

  const decoder = new FrameDecoder({ maxAcquisitionBytes: 16 * 4 * 8 });
  assert.equal(decoder.push(concatChunks(encodeAcquisition(acquisition(16, 4, 0)))).length, 1);
  assert.throws(
    () => decoder.push(concatChunks(encodeAcquisition(acquisition(16, 4, 1)))),
    protocolError('MESSAGE_TOO_LARGE', 'Cannot decode acquisition: data and trajectory of 576 bytes exceed the limit of 512 bytes'),
  );

  assert.throws(() => new FrameDecoder({ maxMessageBytes: 100 }).push(encodeAcquisition(acquisition(1, 1, 0))[0]!), protocolError('MESSAGE_TOO_LARGE', 'Cannot decode acquisition: message of at least 342 bytes exceeds the limit of 100 bytes'));
});

test('FrameDecoder checks image sizes before allocating pixels', () => {
  const head = { ...emptyImageHeader(), data_type: DataType.CXDOUBLE, matrix_size: [65535, 65535, 65535], channels: 65535 };
  const bytes = new Uint8Array(2 + 198 + 8);
  bytes.set([0xfe, 0x03]);
  encodeImageHeader(head, bytes, 2);
  assert.throws(() => new FrameDecoder().push(bytes), protocolError('MESSAGE_TOO_LARGE', /^Cannot decode image: pixels of 295129891193156010000 bytes exceed the limit of 536870912 bytes$/));
  encodeImageHeader({ ...head, data_type: 42 }, bytes, 2);
  assert.throws(() => new FrameDecoder().push(bytes), protocolError('MALFORMED_MESSAGE', 'Cannot decode image: unknown data_type 42'));
});

test('FrameDecoder refuses unknown and unsupported ids and compressed acquisitions', () => {
  assert.throws(() => new FrameDecoder().push(Uint8Array.of(4242 & 0xff, 4242 >> 8)), protocolError('UNKNOWN_MESSAGE_ID', 'Unknown message id 4242'));
  assert.throws(() => new FrameDecoder().push(Uint8Array.of(0x1b, 0x04)), protocolError('UNSUPPORTED', 'Message id 1051 (BUNDLE) is not supported yet'));
  const acq = acquisition(4, 1, 0);
  const bytes = concatChunks(encodeAcquisition(acq));
  const view = new DataView(bytes.buffer);
  view.setBigUint64(4, setFlag(0n, AcqFlag.COMPRESSION2), true);
  assert.throws(() => new FrameDecoder().push(bytes), protocolError('UNSUPPORTED', 'Cannot decode acquisition: compressed acquisitions are not supported'));
});

test('FrameDecoder reports malformed image attributes', () => {
  const bytes = concatChunks(encodeFrame({ kind: 'image', image: image(DataType.FLOAT, new Map([['a', ['b']]])) }));
  bytes.set(Buffer.from('<nope'), 208);
  assert.throws(() => new FrameDecoder().push(bytes), protocolError('MALFORMED_MESSAGE', /^Cannot decode image: invalid attributes XML: /));
});

test('FrameDecoder is poisoned after an error', () => {
  const decoder = new FrameDecoder();
  let first: unknown;
  try {
    decoder.push(Uint8Array.of(0x34, 0x12));
  } catch (error) {
    first = error;
  }
  assert.ok(first instanceof ProtocolError);
  assert.throws(() => decoder.push(concatChunks(encodeText('ok'))), (e) => e === first);
  assert.throws(() => decoder.end(), (e) => e === first);
});

test('FrameDecoder returns the frames before an error and throws it on the next call', () => {
  const decoder = new FrameDecoder();
  const bytes = concatChunks([...encodeText('a'), ...encodeText('b'), Uint8Array.of(0x92, 0x10, 0, 0)]);
  assert.deepStrictEqual(decoder.push(bytes), [{ kind: 'text', text: 'a' }, { kind: 'text', text: 'b' }]);
  const error = decoder.errored;
  assert.ok(error instanceof ProtocolError);
  assert.equal(error.message, 'Unknown message id 4242');
  assert.throws(() => decoder.push(new Uint8Array(0)), (e) => e === error);
  assert.throws(() => decoder.end(), (e) => e === error);
  assert.equal(new FrameDecoder().errored, null);
});

test('FrameDecoder.end reports a frame truncated by the end of the stream', () => {
  const text = concatChunks(encodeText('hello'));
  const decoder = new FrameDecoder();
  decoder.push(text.subarray(0, 7));
  assert.throws(() => decoder.end(), protocolError('TRUNCATED_MESSAGE', 'Connection closed in the middle of a text message (7 of 11 bytes)'));
  const early = new FrameDecoder();
  early.push(text.subarray(0, 3));
  assert.throws(() => early.end(), protocolError('TRUNCATED_MESSAGE', 'Connection closed in the middle of a text message (3 of at least 6 bytes)'));
  const id = new FrameDecoder();
  id.push(Uint8Array.of(0xf0));
  assert.throws(() => id.end(), protocolError('TRUNCATED_MESSAGE', 'Connection closed in the middle of a message (1 of at least 2 bytes)'));
  const acq = new FrameDecoder();
  acq.push(concatChunks(encodeAcquisition(acquisition(8, 2, 0))).subarray(0, 400));
  assert.throws(() => acq.end(), protocolError('TRUNCATED_MESSAGE', `Connection closed in the middle of an acquisition message (400 of ${342 + 128} bytes)`));
  const clean = new FrameDecoder();
  clean.push(text);
  clean.end();
});

test('protocol limits merge over the defaults and are validated', () => {
  assert.equal(defaultProtocolLimits.maxImageBytes, 512 * 1024 * 1024);
  const limits = mergeProtocolLimits({ maxTextBytes: 10 });
  assert.equal(limits.maxTextBytes, 10);
  assert.equal(limits.maxHeaderBytes, defaultProtocolLimits.maxHeaderBytes);
  assert.throws(() => mergeProtocolLimits({ maxTextBytes: -1 }), RangeError);
  assert.throws(() => mergeProtocolLimits({ maxTextBytes: 1.5 }), RangeError);
  assert.equal(new FrameDecoder({ maxTextBytes: 5 }).push(concatChunks(encodeText('12345'))).length, 1);
  assert.throws(() => new FrameDecoder({ maxTextBytes: 5 }).push(concatChunks(encodeText('123456'))), protocolError('MESSAGE_TOO_LARGE'));
});

test('FrameDecoder keeps up with 32-channel × 512-sample acquisitions in 64 KiB chunks', (t) => {
  const count = 400;
  const one = concatChunks(encodeAcquisition(acquisition(512, 32, 0)));
  const bytes = new Uint8Array(one.byteLength * count);
  for (let i = 0; i < count; i++) bytes.set(one, i * one.byteLength);
  const decoder = new FrameDecoder();
  const started = performance.now();
  let frames = 0;
  for (let offset = 0; offset < bytes.byteLength; offset += 65536) frames += decoder.push(bytes.subarray(offset, offset + 65536)).length;
  decoder.end();
  const ms = performance.now() - started;
  assert.equal(frames, count);
  t.diagnostic(`${count} acquisitions (${(bytes.byteLength / 2 ** 20).toFixed(1)} MiB) in ${ms.toFixed(1)} ms`);
  assert.ok(ms < 2000);
});

test('FrameDecoder with views returns an acquisition lying whole and aligned in a chunk as views into it, and copies otherwise', () => {
  const acq = acquisition(8, 2, 2, 3);
  const expected: Frame = { kind: 'acquisition', acquisition: acq };
  const frame = concatChunks(encodeAcquisition(acq));
  // 2 spare bytes in front put the payload (at 2 + 342) on a 4-byte boundary
  const aligned = new Uint8Array(2 + frame.byteLength).subarray(2);
  aligned.set(frame);
  const [viewed] = new FrameDecoder({}, { views: true }).push(aligned);
  assert.deepStrictEqual(viewed, expected);
  assert.ok(viewed?.kind === 'acquisition' && viewed.acquisition.data.buffer === aligned.buffer, 'data is a view into the chunk');
  assert.ok(viewed?.kind === 'acquisition' && viewed.acquisition.traj.buffer === aligned.buffer, 'trajectory is a view into the chunk');

  const [copied] = new FrameDecoder().push(aligned);
  assert.deepStrictEqual(copied, expected);
  assert.ok(copied?.kind === 'acquisition' && copied.acquisition.data.buffer !== aligned.buffer, 'without views: true, payloads are copied');

  // a 7-byte text frame in front leaves the payload unaligned: copied, and still correct
  const shifted = concatChunks([...encodeText('a'), frame]);
  const decoded = new FrameDecoder({}, { views: true }).push(shifted);
  assert.deepStrictEqual(decoded, [{ kind: 'text', text: 'a' }, expected]);
  const last = decoded[1];
  assert.ok(last?.kind === 'acquisition' && last.acquisition.data.buffer !== shifted.buffer && last.acquisition.data.byteOffset % 4 === 0);
});

test('FrameDecoder reads an acquisition whose header is whole in a chunk but whose payload is not, with pending counting the bytes', () => {
  const acqs = [acquisition(16, 4, 0, 1), acquisition(16, 4, 3, 2)];
  const bytes = concatChunks(acqs.flatMap((a) => encodeAcquisition(a)));
  const first = 2 + 340 + 4 * 2 * 16 * 4;
  for (const cut of [2 + 340, 2 + 340 + 1, 400, first - 1, first + 2 + 340 + 5]) {
    const decoder = new FrameDecoder();
    const frames = decoder.push(bytes.subarray(0, cut));
    assert.equal(decoder.pending, cut < first ? cut : cut - first, `pending after ${cut} bytes`);
    frames.push(...decoder.push(bytes.subarray(cut)));
    decoder.end();
    assert.deepStrictEqual(frames, acqs.map((a): Frame => ({ kind: 'acquisition', acquisition: a })));
  }
  const truncated = new FrameDecoder();
  truncated.push(bytes.subarray(0, 400));
  assert.throws(() => truncated.end(), /Connection closed in the middle of an acquisition message \(400 of 854 bytes\)/);
});
