import assert from 'node:assert/strict';
import test from 'node:test';
import { decodeAcquisitionHeader, decodeImageHeader } from '../ismrmrd/header-codec.js';
import { parseMeta } from '../ismrmrd/meta.js';
import { AcqFlag, DataType, emptyAcquisitionHeader, emptyImageHeader, emptyWaveformHeader, setFlag } from '../ismrmrd/types.js';
import type { Acquisition, Image } from '../ismrmrd/types.js';
import {
  concatChunks,
  encodeAcquisition,
  encodeClose,
  encodeConfigFile,
  encodeConfigScript,
  encodeDependencyQuery,
  encodeDicom,
  encodeError,
  encodeHeader,
  encodeImage,
  encodeQuery,
  encodeResponse,
  encodeText,
  encodeWaveform,
} from './encoder.js';
import { MessageId, messageIdName } from './message-id.js';

const hex = (chunks: Uint8Array[]): string => Buffer.from(concatChunks(chunks)).toString('hex');
const u64 = (v: bigint): string => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(v);
  return b.toString('hex');
};
const u32 = (v: number): string => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b.toString('hex');
};
const ascii = (s: string): string => Buffer.from(s, 'utf8').toString('hex');

function acquisition(samples: number, channels: number, dims: number): Acquisition {
  const head = emptyAcquisitionHeader();
  head.number_of_samples = samples;
  head.active_channels = channels;
  head.available_channels = channels;
  head.trajectory_dimensions = dims;
  head.scan_counter = 7;
  const traj = Float32Array.from({ length: dims * samples }, (_, i) => i / 4);
  const data = Float32Array.from({ length: 2 * samples * channels }, (_, i) => i - 3.5);
  return { kind: 'acquisition', head, traj, data };
}

test('message ids have their Gadgetron values and names', () => {
  assert.equal(MessageId.ACQUISITION, 1008);
  assert.equal(MessageId.IMAGE, 1022);
  assert.equal(MessageId.WAVEFORM, 1026);
  assert.equal(messageIdName(1024), 'IMAGE_ARRAY');
  assert.equal(messageIdName(6), 'QUERY');
  assert.equal(messageIdName(4242), undefined);
});

test('encodeQuery writes 06 00, u64 reserved 0, u64 correlation id, u64 length, key', () => {
  assert.equal(hex(encodeQuery('gadgetron::info')), '0600' + u64(0n) + u64(0n) + u64(15n) + ascii('gadgetron::info'));
  assert.equal(hex(encodeQuery('k', 0x0102030405060708n)), '0600' + u64(0n) + '0807060504030201' + u64(1n) + '6b');
  assert.throws(() => encodeQuery('k', -1n), RangeError);
  assert.throws(() => encodeQuery('k', 1n << 64n), RangeError);
});

test('encodeResponse writes 07 00, u64 correlation id, u64 length, text', () => {
  assert.equal(hex(encodeResponse(42n, 'ok')), '0700' + u64(42n) + u64(2n) + ascii('ok'));
});

test('encodeConfigFile writes a 1024-byte NUL-padded name', () => {
  const bytes = concatChunks(encodeConfigFile('default.xml'));
  assert.equal(bytes.byteLength, 2 + 1024);
  assert.deepEqual([...bytes.subarray(0, 2)], [1, 0]);
  assert.equal(Buffer.from(bytes.subarray(2, 13)).toString(), 'default.xml');
  assert.ok(bytes.subarray(13).every((b) => b === 0));
  assert.equal(concatChunks(encodeConfigFile('a'.repeat(1023))).byteLength, 1026);
  assert.throws(() => encodeConfigFile('a'.repeat(1024)), RangeError);
  assert.throws(() => encodeConfigFile('é'.repeat(512)), RangeError);
  assert.throws(() => encodeConfigFile('a\0b'), RangeError);
});

test('u32-length frames: config script, header and text carry no NUL', () => {
  assert.equal(hex(encodeConfigScript('<c/>')), '0200' + u32(4) + ascii('<c/>'));
  assert.equal(hex(encodeHeader('<h/>')), '0300' + u32(4) + ascii('<h/>'));
  assert.equal(hex(encodeText('héllo')), '0500' + u32(6) + ascii('héllo'));
  assert.equal(hex(encodeText('')), '0500' + u32(0));
  assert.equal(hex(encodeClose()), '0400');
});

test('u64-length frames: error and dependency query', () => {
  assert.equal(hex(encodeError('bad')), '0800' + u64(3n) + ascii('bad'));
  assert.equal(hex(encodeDependencyQuery('<x/>')), 'fb03' + u64(4n) + ascii('<x/>'));
});

test('encodeDicom writes u32 size + bytes, u64 name length + name, u64 meta length + meta', () => {
  const dicom = Uint8Array.of(1, 2, 3);
  assert.equal(hex(encodeDicom(dicom, 'a.dcm', new Map())), 'fa03' + u32(3) + '010203' + u64(5n) + ascii('a.dcm') + u64(0n));
  const meta = new Map([['k', ['v']]]);
  const bytes = concatChunks(encodeDicom(new Uint8Array(0), '', meta));
  const xml = Buffer.from(bytes.subarray(2 + 4 + 8 + 8)).toString();
  assert.equal(Buffer.from(bytes.subarray(14, 22)).readBigUInt64LE(), BigInt(Buffer.byteLength(xml)));
  assert.deepEqual(parseMeta(xml), meta);
});

test('encodeAcquisition writes f0 03, the 340-byte header, then zero-copy trajectory and data views', () => {
  const acq = acquisition(4, 2, 2);
  const chunks = encodeAcquisition(acq);
  assert.equal(chunks.length, 3);
  assert.equal(chunks[0]!.byteLength, 342);
  assert.deepEqual([...chunks[0]!.subarray(0, 2)], [0xf0, 0x03]);
  assert.deepEqual(decodeAcquisitionHeader(chunks[0]!, 2), acq.head);
  assert.equal(chunks[1]!.buffer, acq.traj.buffer);
  assert.equal(chunks[2]!.buffer, acq.data.buffer);
  assert.equal(concatChunks(chunks).byteLength, 2 + 340 + 2 * 4 * 4 + 4 * 2 * 8);
  assert.equal(encodeAcquisition(acquisition(4, 2, 0)).length, 2);
});

test('encodeAcquisition refuses payloads that do not match the header', () => {
  const acq = acquisition(4, 2, 2);
  assert.throws(() => encodeAcquisition({ ...acq, data: new Float32Array(15) }), /data length 15 does not match 4 samples × 2 channels/);
  assert.throws(() => encodeAcquisition({ ...acq, traj: new Float32Array(3) }), /trajectory length 3/);
  const compressed = { ...acq, head: { ...acq.head, flags: setFlag(0n, AcqFlag.COMPRESSION1) } };
  assert.throws(() => encodeAcquisition(compressed), RangeError);
});

test('encodeWaveform writes 02 04, the 40-byte header and the samples', () => {
  const head = { ...emptyWaveformHeader(), channels: 2, number_of_samples: 3 };
  const data = Uint32Array.of(1, 2, 3, 4, 5, 6);
  const chunks = encodeWaveform({ kind: 'waveform', head, data });
  assert.deepEqual([...chunks[0]!.subarray(0, 2)], [0x02, 0x04]);
  assert.equal(chunks[0]!.byteLength, 42);
  assert.equal(chunks[1]!.buffer, data.buffer);
  assert.throws(() => encodeWaveform({ kind: 'waveform', head, data: new Uint32Array(5) }), RangeError);
});

function image(meta: Map<string, string[]>): Image {
  const head = { ...emptyImageHeader(), data_type: DataType.USHORT, matrix_size: [3, 2, 1], channels: 1, attribute_string_len: 999 };
  return { kind: 'image', head, meta, data: Uint16Array.of(1, 2, 3, 4, 5, 6) };
}

test('encodeImage writes Gadgetron 4 attributes: u64 length = XML + NUL, mirrored in attribute_string_len', () => {
  const img = image(new Map([['GADGETRON_ImageNumber', ['3']]]));
  const chunks = encodeImage(img);
  const first = chunks[0]!;
  assert.deepEqual([...first.subarray(0, 2)], [0xfe, 0x03]);
  const head = decodeImageHeader(first, 2);
  const length = Buffer.from(first).readBigUInt64LE(200);
  const attributes = first.subarray(208);
  assert.equal(BigInt(attributes.byteLength), length);
  assert.equal(head.attribute_string_len, attributes.byteLength);
  assert.equal(attributes[attributes.byteLength - 1], 0);
  assert.match(Buffer.from(attributes.subarray(0, -1)).toString(), /^<\?xml version="1.0"\?>\n<ismrmrdMeta>\n[^\0]*<\/ismrmrdMeta>\n$/);
  assert.equal(chunks[1]!.buffer, img.data.buffer);
  assert.equal(img.head.attribute_string_len, 999, 'the input image is not modified');
});

test('encodeImage writes 0 and 0 for empty meta', () => {
  const first = encodeImage(image(new Map()))[0]!;
  assert.equal(first.byteLength, 2 + 198 + 8);
  assert.equal(decodeImageHeader(first, 2).attribute_string_len, 0);
  assert.equal(Buffer.from(first).readBigUInt64LE(200), 0n);
});

test('encodeImage refuses pixels that do not match the header', () => {
  const img = image(new Map());
  assert.throws(() => encodeImage({ ...img, data: new Uint16Array(5) }), RangeError);
  assert.throws(() => encodeImage({ ...img, data: new Float32Array(3) }), TypeError);
  assert.throws(() => encodeImage({ ...img, head: { ...img.head, data_type: 9 } }), /unknown data_type 9/);
  const complex = { ...img, head: { ...img.head, data_type: DataType.CXFLOAT }, data: new Float32Array(12) };
  assert.equal(concatChunks(encodeImage(complex)).byteLength, 2 + 198 + 8 + 48);
});
