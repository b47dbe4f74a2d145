/**
 * Encodes {@link Frame}s into Gadgetron wire bytes.
 *
 * Each frame becomes a list of chunks: a small buffer with the id, fixed
 * headers and lengths, then the large typed-array payloads as zero-copy views.
 * Write them in order (e.g. with `socket.cork()`/`uncork()` or `writev`).
 * Payload sizes are checked against their headers, so a frame that would put
 * the peer out of sync is refused with a `RangeError`/`TypeError` instead.
 */
import {
  ACQUISITION_HEADER_SIZE,
  IMAGE_HEADER_SIZE,
  WAVEFORM_HEADER_SIZE,
  encodeAcquisitionHeader,
  encodeImageHeader,
  encodeWaveformHeader,
} from '../ismrmrd/header-codec.js';
import { metaIsEmpty, serializeMeta } from '../ismrmrd/meta.js';
import { AcqFlag, DataType, bytesPerPixel, isFlagSet } from '../ismrmrd/types.js';
import type { Acquisition, Image, ImagePixels, MetaContainer, Waveform } from '../ismrmrd/types.js';
import { encodeBucket, encodeImageArray, encodeReconData } from './buffer-encoder.js';
import type { Frame } from './frames.js';
import { MessageId } from './message-id.js';

const utf8 = new TextEncoder();
const U32_MAX = 0xffff_ffff;
const U64_LIMIT = 1n << 64n;
const FILENAME_SIZE = 1024;

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function bytesOf(array: ImagePixels | Uint32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function withId(id: number, size: number): Uint8Array {
  const bytes = new Uint8Array(2 + size);
  bytes[0] = id & 0xff;
  bytes[1] = id >>> 8;
  return bytes;
}

function checkU64(what: string, value: bigint): bigint {
  if (value < 0n || value >= U64_LIMIT) throw new RangeError(`Cannot encode ${what}: ${value} does not fit in 64 bits`);
  return value;
}

/** id + u32 length + UTF-8 text, in one chunk. */
function u32Text(id: number, what: string, text: string): Uint8Array[] {
  const body = utf8.encode(text);
  if (body.byteLength > U32_MAX) throw new RangeError(`Cannot encode ${what}: ${body.byteLength} bytes exceed a 32-bit length`);
  const frame = withId(id, 4 + body.byteLength);
  view(frame).setUint32(2, body.byteLength, true);
  frame.set(body, 6);
  return [frame];
}

/** id + u64 prefix words + u64 length + UTF-8 text, in one chunk. */
function u64Text(id: number, prefix: readonly bigint[], text: string): Uint8Array[] {
  const body = utf8.encode(text);
  const head = 8 * prefix.length + 8;
  const frame = withId(id, head + body.byteLength);
  const v = view(frame);
  prefix.forEach((word, i) => v.setBigUint64(2 + 8 * i, word, true));
  v.setBigUint64(2 + head - 8, BigInt(body.byteLength), true);
  frame.set(body, 2 + head);
  return [frame];
}

/** A typed-array class that can hold pixels. */
interface PixelArrayClass {
  new (length: number): ImagePixels;
  readonly name: string;
}

const pixelArrays = new Map<number, PixelArrayClass>([
  [DataType.USHORT, Uint16Array],
  [DataType.SHORT, Int16Array],
  [DataType.UINT, Uint32Array],
  [DataType.INT, Int32Array],
  [DataType.FLOAT, Float32Array],
  [DataType.CXFLOAT, Float32Array],
  [DataType.DOUBLE, Float64Array],
  [DataType.CXDOUBLE, Float64Array],
]);

/** The Gadgetron 4 attribute bytes of an image: serialized meta plus a NUL, or nothing when the meta is empty. */
function imageAttributes(meta: MetaContainer): Uint8Array {
  if (metaIsEmpty(meta)) return new Uint8Array(0);
  const xml = utf8.encode(serializeMeta(meta));
  const bytes = new Uint8Array(xml.byteLength + 1);
  bytes.set(xml);
  return bytes;
}

/** Id 1: a config name in a 1024-byte NUL-padded buffer; the name must be at most 1023 UTF-8 bytes without NUL. */
export function encodeConfigFile(name: string): Uint8Array[] {
  const bytes = utf8.encode(name);
  if (bytes.byteLength > FILENAME_SIZE - 1) {
    throw new RangeError(`Cannot encode config file name: ${bytes.byteLength} bytes exceed the limit of ${FILENAME_SIZE - 1}`);
  }
  if (bytes.includes(0)) throw new RangeError('Cannot encode config file name: it contains a NUL character');
  const frame = withId(MessageId.FILENAME, FILENAME_SIZE);
  frame.set(bytes, 2);
  return [frame];
}

/** Id 2: configuration XML text. */
export function encodeConfigScript(xml: string): Uint8Array[] {
  return u32Text(MessageId.CONFIG, 'config script', xml);
}

/** Id 3: the ISMRMRD XML header (sent without a NUL). */
export function encodeHeader(xml: string): Uint8Array[] {
  return u32Text(MessageId.HEADER, 'header', xml);
}

/** Id 4: end of stream. */
export function encodeClose(): Uint8Array[] {
  return [withId(MessageId.CLOSE, 0)];
}

/** Id 5: log or error text. */
export function encodeText(text: string): Uint8Array[] {
  return u32Text(MessageId.TEXT, 'text', text);
}

/** Id 6: a query for `key`; Gadgetron's reserved word is always 0 unless `reserved` says otherwise. */
export function encodeQuery(key: string, correlationId = 0n, reserved = 0n): Uint8Array[] {
  return u64Text(
    MessageId.QUERY,
    [checkU64('query reserved word', reserved), checkU64('query correlation id', correlationId)],
    key,
  );
}

/** Id 7: the answer `text` to the query with `correlationId`. */
export function encodeResponse(correlationId: bigint, text: string): Uint8Array[] {
  return u64Text(MessageId.RESPONSE, [checkU64('response correlation id', correlationId)], text);
}

/** Id 8: an error text (u64 length). */
export function encodeError(text: string): Uint8Array[] {
  return u64Text(MessageId.ERROR, [], text);
}

/** Id 1008: header chunk, then trajectory and data as views of the acquisition's arrays. */
export function encodeAcquisition(acquisition: Acquisition): Uint8Array[] {
  const { head, traj, data } = acquisition;
  if (isFlagSet(head.flags, AcqFlag.COMPRESSION1) || isFlagSet(head.flags, AcqFlag.COMPRESSION2)) {
    throw new RangeError('Cannot encode acquisition: compression flags are set, but only uncompressed data is written');
  }
  const samples = head.number_of_samples;
  if (traj.length !== head.trajectory_dimensions * samples) {
    throw new RangeError(
      `Cannot encode acquisition: trajectory length ${traj.length} does not match ${head.trajectory_dimensions} dimensions × ${samples} samples`,
    );
  }
  if (data.length !== 2 * samples * head.active_channels) {
    throw new RangeError(
      `Cannot encode acquisition: data length ${data.length} does not match ${samples} samples × ${head.active_channels} channels × 2`,
    );
  }
  const first = withId(MessageId.ACQUISITION, ACQUISITION_HEADER_SIZE);
  encodeAcquisitionHeader(head, first, 2);
  const chunks = [first];
  if (traj.length > 0) chunks.push(new Uint8Array(traj.buffer, traj.byteOffset, traj.byteLength));
  if (data.length > 0) chunks.push(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  return chunks;
}

/** Id 1026: header chunk, then the samples as a view. */
export function encodeWaveform(waveform: Waveform): Uint8Array[] {
  const { head, data } = waveform;
  if (data.length !== head.channels * head.number_of_samples) {
    throw new RangeError(
      `Cannot encode waveform: data length ${data.length} does not match ${head.number_of_samples} samples × ${head.channels} channels`,
    );
  }
  const first = withId(MessageId.WAVEFORM, WAVEFORM_HEADER_SIZE);
  encodeWaveformHeader(head, first, 2);
  return data.length > 0 ? [first, bytesOf(data)] : [first];
}

/**
 * Id 1022 in Gadgetron 4's form: header, u64 attribute length, attributes
 * (serialized meta + NUL, or none when the meta is empty), pixels as a view.
 * The header's `attribute_string_len` is set to the attribute length; `image` is not modified.
 */
export function encodeImage(image: Image): Uint8Array[] {
  const { head, meta, data } = image;
  const pixelArray = pixelArrays.get(head.data_type);
  if (pixelArray === undefined) throw new RangeError(`Cannot encode image: unknown data_type ${head.data_type}`);
  if (!(data instanceof pixelArray)) {
    throw new TypeError(`Cannot encode image: data_type ${head.data_type} needs a ${pixelArray.name}, not a ${data.constructor.name}`);
  }
  const [x = 0, y = 0, z = 0] = head.matrix_size;
  const expected = x * y * z * head.channels * bytesPerPixel(head.data_type);
  if (data.byteLength !== expected) {
    throw new RangeError(
      `Cannot encode image: ${data.byteLength} bytes of pixels do not match ${x} × ${y} × ${z} × ${head.channels} channels of data_type ${head.data_type}`,
    );
  }
  const attributes = imageAttributes(meta);
  const first = withId(MessageId.IMAGE, IMAGE_HEADER_SIZE + 8 + attributes.byteLength);
  encodeImageHeader({ ...head, attribute_string_len: attributes.byteLength }, first, 2);
  view(first).setBigUint64(2 + IMAGE_HEADER_SIZE, BigInt(attributes.byteLength), true);
  first.set(attributes, 2 + IMAGE_HEADER_SIZE + 8);
  return data.byteLength > 0 ? [first, bytesOf(data)] : [first];
}

/** Id 1019: a dependency-query reply (u64 length + meta XML, no NUL). */
export function encodeDependencyQuery(xml: string): Uint8Array[] {
  return u64Text(MessageId.DEPENDENCY_QUERY, [], xml);
}

/** Id 1018: DICOM bytes (as a view), file name and meta XML (length 0 when the meta is empty). */
export function encodeDicom(dicom: Uint8Array, filename: string, meta: MetaContainer): Uint8Array[] {
  if (dicom.byteLength > U32_MAX) throw new RangeError(`Cannot encode DICOM: ${dicom.byteLength} bytes exceed a 32-bit length`);
  const first = withId(MessageId.DICOM_WITHNAME, 4);
  view(first).setUint32(2, dicom.byteLength, true);
  const name = utf8.encode(filename);
  const xml = metaIsEmpty(meta) ? new Uint8Array(0) : utf8.encode(serializeMeta(meta));
  const tail = new Uint8Array(16 + name.byteLength + xml.byteLength);
  const v = view(tail);
  v.setBigUint64(0, BigInt(name.byteLength), true);
  tail.set(name, 8);
  v.setBigUint64(8 + name.byteLength, BigInt(xml.byteLength), true);
  tail.set(xml, 16 + name.byteLength);
  return dicom.byteLength > 0 ? [first, dicom, tail] : [first, tail];
}

/** Encodes any frame; see the per-kind functions for the layouts. */
export function encodeFrame(frame: Frame): Uint8Array[] {
  switch (frame.kind) {
    case 'config-file':
      return encodeConfigFile(frame.name);
    case 'config-script':
      return encodeConfigScript(frame.xml);
    case 'header':
      return encodeHeader(frame.xml);
    case 'close':
      return encodeClose();
    case 'text':
      return encodeText(frame.text);
    case 'query':
      return encodeQuery(frame.key, frame.correlationId, frame.reserved);
    case 'response':
      return encodeResponse(frame.correlationId, frame.text);
    case 'error':
      return encodeError(frame.text);
    case 'acquisition':
      return encodeAcquisition(frame.acquisition);
    case 'waveform':
      return encodeWaveform(frame.waveform);
    case 'image':
      return encodeImage(frame.image);
    case 'dependency-query':
      return encodeDependencyQuery(frame.xml);
    case 'dicom':
      return encodeDicom(frame.dicom, frame.filename, frame.meta);
    case 'recondata':
      return encodeReconData(frame.reconData);
    case 'image-array':
      return encodeImageArray(frame.imageArray);
    case 'bucket':
      return encodeBucket(frame.bucket);
  }
}

export { encodeBucket, encodeImageArray, encodeReconData };

/** Joins encoded chunks into one buffer (for tests and small frames). */
export function concatChunks(chunks: readonly Uint8Array[]): Uint8Array {
  let size = 0;
  for (const chunk of chunks) size += chunk.byteLength;
  const out = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}
