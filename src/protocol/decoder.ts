/**
 * Incremental decoder for the Gadgetron wire protocol.
 *
 * Each frame is read by a generator that asks for one buffer at a time to be
 * filled: small fixed parts go into a reused scratch buffer, payloads straight
 * into freshly allocated (hence aligned) typed arrays. Bytes are copied at most
 * once and only the current frame is ever held. Every length read from the wire
 * is checked against {@link ProtocolLimits} before anything is allocated.
 *
 * Acquisitions, the bulk of any stream, take a shorter path: a header that lies
 * whole in the pushed chunk is read there, and, when the caller allows it, an
 * acquisition that lies whole in the chunk at a 4-byte-aligned offset is
 * returned as views into the chunk, with no copy ({@link FrameDecoderOptions.views}).
 */
import {
  ACQUISITION_HEADER_SIZE,
  IMAGE_HEADER_SIZE,
  WAVEFORM_HEADER_SIZE,
  decodeAcquisitionHeader,
  decodeImageHeader,
  decodeWaveformHeader,
} from '../ismrmrd/header-codec.js';
import { parseMeta } from '../ismrmrd/meta.js';
import { AcqFlag, DataType, bytesPerPixel, isFlagSet } from '../ismrmrd/types.js';
import type { AcquisitionHeader, ImagePixels, MetaContainer } from '../ismrmrd/types.js';
import { readBucket, readImageArray, readReconData } from './buffer-decoder.js';
import type { PartContext } from './buffer-decoder.js';
import { ProtocolError } from './errors.js';
import type { Frame } from './frames.js';
import { mergeProtocolLimits } from './limits.js';
import type { ProtocolLimits } from './limits.js';
import { MessageId, messageIdName } from './message-id.js';

type FrameReader = Generator<Uint8Array, Frame, undefined>;
type PartReader<T> = Generator<Uint8Array, T, undefined>;

const ID_SIZE = 2;
const FILENAME_SIZE = 1024;
const SCRATCH_SIZE = 1024;
const EMPTY = new Uint8Array(0);
const ACQUISITION_ID_LOW = MessageId.ACQUISITION & 0xff;
const ACQUISITION_ID_HIGH = MessageId.ACQUISITION >>> 8;
const ACQUISITION_PREFIX = ID_SIZE + ACQUISITION_HEADER_SIZE;

/** How a {@link FrameDecoder} may hold on to the bytes it is given. */
export interface FrameDecoderOptions {
  /**
   * Let decoded acquisitions be views into the pushed chunk when they lie in
   * it whole and aligned (default false: every payload is copied). Only for
   * callers that never change or reuse a chunk after pushing it, such as
   * socket reads (each read is a fresh buffer of exactly the bytes read).
   * A view keeps its whole chunk alive, at most one read's worth of bytes.
   */
  views?: boolean;
}

/** A Float32Array of `length` elements over fresh memory that is not zeroed: the caller fills all of it. */
function uninitializedFloats(length: number): Float32Array {
  if (length === 0) return new Float32Array(0);
  return new Float32Array(Buffer.allocUnsafeSlow(4 * length).buffer, 0, length);
}

/** What each id is called in error messages. */
const nouns: ReadonlyMap<number, string> = new Map([
  [MessageId.FILENAME, 'config file'],
  [MessageId.CONFIG, 'config script'],
  [MessageId.HEADER, 'header'],
  [MessageId.CLOSE, 'close'],
  [MessageId.TEXT, 'text'],
  [MessageId.QUERY, 'query'],
  [MessageId.RESPONSE, 'response'],
  [MessageId.ERROR, 'error'],
  [MessageId.ACQUISITION, 'acquisition'],
  [MessageId.DICOM_WITHNAME, 'DICOM'],
  [MessageId.DEPENDENCY_QUERY, 'dependency query'],
  [MessageId.IMAGE, 'image'],
  [MessageId.WAVEFORM, 'waveform'],
  [MessageId.RECONDATA, 'recon data'],
  [MessageId.IMAGE_ARRAY, 'image array'],
  [MessageId.BUCKET, 'bucket'],
]);

const utf8 = new TextDecoder('utf-8', { ignoreBOM: true });

function withoutTrailingNuls(bytes: Uint8Array): Uint8Array {
  let end = bytes.byteLength;
  while (end > 0 && bytes[end - 1] === 0) end--;
  return end === bytes.byteLength ? bytes : bytes.subarray(0, end);
}

function bytesOf(array: ImagePixels | Uint32Array): Uint8Array {
  return new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
}

function allocatePixels(dataType: number, elements: number): ImagePixels {
  switch (dataType) {
    case DataType.USHORT:
      return new Uint16Array(elements);
    case DataType.SHORT:
      return new Int16Array(elements);
    case DataType.UINT:
      return new Uint32Array(elements);
    case DataType.INT:
      return new Int32Array(elements);
    case DataType.FLOAT:
      return new Float32Array(elements);
    case DataType.CXFLOAT:
      return new Float32Array(2 * elements);
    case DataType.DOUBLE:
      return new Float64Array(elements);
    default:
      return new Float64Array(2 * elements);
  }
}

function isKnownDataType(dataType: number): boolean {
  return Number.isInteger(dataType) && dataType >= DataType.USHORT && dataType <= DataType.CXDOUBLE;
}

/**
 * Turns a byte stream, split anywhere, into {@link Frame}s.
 *
 * `push` and `end` throw only {@link ProtocolError}. After an error the decoder is
 * poisoned: `push` and `end` throw the same error again.

 */
export class FrameDecoder {
  /** The limits this decoder enforces. */
  readonly limits: ProtocolLimits;

  readonly #scratch = new Uint8Array(SCRATCH_SIZE);
  readonly #view = new DataView(this.#scratch.buffer);
  #reader: FrameReader | null = null;
  #target: Uint8Array = EMPTY;
  #filled = 0;
  #pending = 0;
  #messageId: number | undefined;
  #frameBytes: number | undefined;
  /** The error that poisoned the decoder (a ProtocolError unless the decoder has a bug). */
  #failure: Error | null = null;
  /** What the readers of ids 1023, 1024 and 1050 use of this decoder. */
  readonly #parts: PartContext;
  readonly #views: boolean;

  constructor(limits: Partial<ProtocolLimits> = {}, options: FrameDecoderOptions = {}) {
    this.limits = mergeProtocolLimits(limits);
    this.#views = options.views ?? false;
    this.#parts = {
      limits: this.limits,
      view: this.#view,
      fixed: (size) => this.#fixed(size),
      fail: (code, detail, cause) => this.#fail(code, detail, cause),
      limit: (part, size, limit, verb) => this.#limit(part, size, limit, verb),
      total: (bytes, final) => this.#total(bytes, final),
      meta: (bytes, part) => this.#meta(bytes, part),
    };
  }

  /** Bytes received for the frame in progress (0 between frames). */
  get pending(): number {
    return this.#pending;
  }

  /**
   * Feeds the next bytes of the stream; returns the frames they complete, in order.
   * When invalid bytes follow complete frames in `chunk`, those frames are returned
   * and the error is thrown by the next `push` or `end` (check `errored` to act at once),
   * so frames and errors come out the same however the stream is split.
   * Decoded acquisitions may be views into `chunk` (see {@link FrameDecoderOptions.views}).
   */
  push(chunk: Uint8Array): Frame[] {
    if (this.#failure !== null) throw this.#failure;
    const frames: Frame[] = [];
    const length = chunk.byteLength;
    let offset = 0;
    try {
      while (offset < length) {
        if (this.#reader === null) {
          if (
            length - offset >= ACQUISITION_PREFIX &&
            chunk[offset] === ACQUISITION_ID_LOW &&
            chunk[offset + 1] === ACQUISITION_ID_HIGH
          ) {
            offset = this.#acquisitionInChunk(chunk, offset, frames);
            continue;
          }
          this.#begin();
        }
        const target = this.#target;
        const n = Math.min(target.byteLength - this.#filled, length - offset);
        target.set(n === length ? chunk : chunk.subarray(offset, offset + n), this.#filled);
        this.#filled += n;
        this.#pending += n;
        offset += n;
        if (this.#filled === target.byteLength) this.#advance(frames);
      }
    } catch (error) {
      this.#failure = error instanceof Error ? error : new Error(String(error));
      this.#reader = null;
      if (frames.length === 0) throw this.#failure;
    }
    return frames;
  }

  /** The error that stopped decoding, or `null`; once set, `push` and `end` throw it. */
  get errored(): Error | null {
    return this.#failure;
  }

  /** Declares the end of the stream; throws `TRUNCATED_MESSAGE` if a frame is incomplete. */
  end(): void {
    if (this.#failure !== null) throw this.#failure;
    if (this.#reader === null) return;
    const total = this.#frameBytes ?? this.#pending + this.#target.byteLength - this.#filled;
    const of = this.#frameBytes === undefined ? `at least ${total}` : `${total}`;
    const what = this.#messageId === undefined ? 'message' : `${this.#noun()} message`;
    const article = /^[aeiou]/i.test(what) ? 'an' : 'a';
    this.#failure = new ProtocolError(
      'TRUNCATED_MESSAGE',
      `Connection closed in the middle of ${article} ${what} (${this.#pending} of ${of} bytes)`,
      { messageId: this.#messageId },
    );
    this.#reader = null;
    throw this.#failure;
  }

  #begin(): void {
    this.#messageId = undefined;
    this.#frameBytes = undefined;
    this.#pending = 0;
    this.#reader = this.#frame();
    const step = this.#reader.next();
    if (step.done) throw new Error('frame reader finished before reading an id');
    this.#target = step.value;
    this.#filled = 0;
  }

  #advance(frames: Frame[]): void {
    const reader = this.#reader;
    if (reader === null) return;
    for (;;) {
      const step = reader.next();
      if (step.done) {
        frames.push(step.value);
        this.#reader = null;
        this.#target = EMPTY;
        this.#filled = 0;
        this.#pending = 0;
        return;
      }
      this.#target = step.value;
      this.#filled = 0;
      if (step.value.byteLength > 0) return;
    }
  }

  #noun(): string {
    return this.#messageId === undefined ? 'message' : (nouns.get(this.#messageId) ?? `message ${this.#messageId}`);
  }

  #fail(code: 'MESSAGE_TOO_LARGE' | 'MALFORMED_MESSAGE' | 'UNSUPPORTED', detail: string, cause?: unknown): never {
    throw new ProtocolError(code, `Cannot decode ${this.#noun()}: ${detail}`, { messageId: this.#messageId, cause });
  }

  /** Checks one part's size against its limit; returns it as a number. */
  #limit(part: string, size: number | bigint, limit: number, verb = 'exceeds'): number {
    if (size > limit) this.#fail('MESSAGE_TOO_LARGE', `${part} of ${size} bytes ${verb} the limit of ${limit} bytes`);
    return Number(size);
  }

  /** Checks that a frame of at least `bytes` bytes fits `maxMessageBytes`; `final` records it as the frame's size. */
  #total(bytes: number | bigint, final: boolean): void {
    const max = this.limits.maxMessageBytes;
    if (bytes > max) {
      const size = final ? `${bytes}` : `at least ${bytes}`;
      this.#fail('MESSAGE_TOO_LARGE', `message of ${size} bytes exceeds the limit of ${max} bytes`);
    }
    if (final) this.#frameBytes = Number(bytes);
  }

  #fixed(size: number): Uint8Array {
    return this.#scratch.subarray(0, size);
  }

  *#frame(): FrameReader {
    const id = this.#fixed(ID_SIZE);
    yield id;
    const messageId = (id[0] ?? 0) | ((id[1] ?? 0) << 8);
    this.#messageId = messageId;
    switch (messageId) {
      case MessageId.FILENAME:
        return yield* this.#configFile();
      case MessageId.CONFIG:
        return { kind: 'config-script', xml: yield* this.#u32String(this.limits.maxConfigBytes, 'script', true) };
      case MessageId.HEADER:
        return { kind: 'header', xml: yield* this.#u32String(this.limits.maxHeaderBytes, 'header', true) };
      case MessageId.CLOSE:
        this.#total(ID_SIZE, true);
        return { kind: 'close' };
      case MessageId.TEXT:
        return { kind: 'text', text: yield* this.#u32String(this.limits.maxTextBytes, 'text', false) };
      case MessageId.QUERY:
        return yield* this.#query();
      case MessageId.RESPONSE:
        return yield* this.#response();
      case MessageId.ERROR:
        return yield* this.#error();
      case MessageId.ACQUISITION:
        return yield* this.#acquisition();
      case MessageId.WAVEFORM:
        return yield* this.#waveform();
      case MessageId.IMAGE:
        return yield* this.#image();
      case MessageId.DEPENDENCY_QUERY:
        return yield* this.#dependencyQuery();
      case MessageId.DICOM_WITHNAME:
        return yield* this.#dicom();
      case MessageId.RECONDATA:
        return yield* readReconData(this.#parts);
      case MessageId.IMAGE_ARRAY:
        return yield* readImageArray(this.#parts);
      case MessageId.BUCKET:
        return yield* readBucket(this.#parts);
      default: {
        const name = messageIdName(messageId);
        if (name !== undefined) {
          throw new ProtocolError('UNSUPPORTED', `Message id ${messageId} (${name}) is not supported yet`, { messageId });
        }
        throw new ProtocolError('UNKNOWN_MESSAGE_ID', `Unknown message id ${messageId}`, { messageId });
      }
    }
  }

  /** Reads `size` payload bytes into a fresh buffer. */
  *#bytes(size: number): PartReader<Uint8Array> {
    const bytes = new Uint8Array(size);
    yield bytes;
    return bytes;
  }

  *#configFile(): FrameReader {
    this.#total(ID_SIZE + FILENAME_SIZE, true);
    const buffer = this.#fixed(FILENAME_SIZE);
    yield buffer;
    const nul = buffer.indexOf(0);
    return { kind: 'config-file', name: utf8.decode(nul < 0 ? buffer : buffer.subarray(0, nul)) };
  }

  *#u32String(limit: number, part: string, stripNul: boolean): PartReader<string> {
    this.#total(ID_SIZE + 4, false);
    const prefix = this.#fixed(4);
    yield prefix;
    const length = this.#limit(part, this.#view.getUint32(0, true), limit);
    this.#total(ID_SIZE + 4 + length, true);
    const body = yield* this.#bytes(length);
    return utf8.decode(stripNul ? withoutTrailingNuls(body) : body);
  }

  *#query(): FrameReader {
    this.#total(ID_SIZE + 24, false);
    yield this.#fixed(24);
    const reserved = this.#view.getBigUint64(0, true);
    const correlationId = this.#view.getBigUint64(8, true);
    const length = this.#limit('key', this.#view.getBigUint64(16, true), this.limits.maxQueryBytes);
    this.#total(ID_SIZE + 24 + length, true);
    const key = utf8.decode(yield* this.#bytes(length));
    return { kind: 'query', reserved, correlationId, key };
  }

  *#response(): FrameReader {
    this.#total(ID_SIZE + 16, false);
    yield this.#fixed(16);
    const correlationId = this.#view.getBigUint64(0, true);
    const length = this.#limit('text', this.#view.getBigUint64(8, true), this.limits.maxTextBytes);
    this.#total(ID_SIZE + 16 + length, true);
    const text = utf8.decode(yield* this.#bytes(length));
    return { kind: 'response', correlationId, text };
  }

  *#error(): FrameReader {
    this.#total(ID_SIZE + 8, false);
    yield this.#fixed(8);
    const length = this.#limit('text', this.#view.getBigUint64(0, true), this.limits.maxTextBytes);
    this.#total(ID_SIZE + 8 + length, true);
    return { kind: 'error', text: utf8.decode(yield* this.#bytes(length)) };
  }

  *#dependencyQuery(): FrameReader {
    this.#total(ID_SIZE + 8, false);
    yield this.#fixed(8);
    const length = this.#limit('meta', this.#view.getBigUint64(0, true), this.limits.maxMetaBytes);
    this.#total(ID_SIZE + 8 + length, true);
    const xml = utf8.decode(withoutTrailingNuls(yield* this.#bytes(length)));
    return { kind: 'dependency-query', xml };
  }

  *#acquisition(): FrameReader {
    this.#total(ACQUISITION_PREFIX, false);
    const headerBytes = this.#fixed(ACQUISITION_HEADER_SIZE);
    yield headerBytes;
    const head = decodeAcquisitionHeader(headerBytes);
    const [trajectoryFloats, dataFloats] = this.#acquisitionSizes(head);
    return yield* this.#acquisitionBody(head, trajectoryFloats, dataFloats);
  }

  /** Checks an acquisition header against the limits; returns the trajectory and data lengths in floats. */
  #acquisitionSizes(head: AcquisitionHeader): [number, number] {
    if (isFlagSet(head.flags, AcqFlag.COMPRESSION1) || isFlagSet(head.flags, AcqFlag.COMPRESSION2)) {
      this.#fail('UNSUPPORTED', 'compressed acquisitions are not supported');
    }
    const samples = head.number_of_samples;
    const trajectoryFloats = head.trajectory_dimensions * samples;
    const dataFloats = 2 * samples * head.active_channels;
    const limit = this.limits.maxAcquisitionBytes;
    const trajectoryBytes = this.#limit('trajectory', 4 * trajectoryFloats, limit);
    const dataBytes = 4 * dataFloats;
    if (trajectoryBytes + dataBytes > limit) {
      if (trajectoryBytes === 0) this.#limit('data', dataBytes, limit);
      this.#limit('data and trajectory', trajectoryBytes + dataBytes, limit, 'exceed');
    }
    this.#total(ACQUISITION_PREFIX + trajectoryBytes + dataBytes, true);
    return [trajectoryFloats, dataFloats];
  }

  /** Reads an acquisition's trajectory and data into fresh arrays. */
  *#acquisitionBody(head: AcquisitionHeader, trajectoryFloats: number, dataFloats: number): FrameReader {
    const traj = uninitializedFloats(trajectoryFloats);
    yield new Uint8Array(traj.buffer, 0, traj.byteLength);
    const data = uninitializedFloats(dataFloats);
    yield new Uint8Array(data.buffer, 0, data.byteLength);
    return { kind: 'acquisition', acquisition: { kind: 'acquisition', head, traj, data } };
  }

  /**
   * An acquisition whose id and header lie whole in `chunk` at `offset`: when
   * the whole frame is there too it is decoded at once (views into the chunk
   * when aligned), otherwise its body reader is started past the header.
   * Returns the offset after what it consumed.
   */
  #acquisitionInChunk(chunk: Uint8Array, offset: number, frames: Frame[]): number {
    this.#messageId = MessageId.ACQUISITION;
    this.#frameBytes = undefined;
    this.#pending = 0;
    this.#total(ACQUISITION_PREFIX, false);
    const head = decodeAcquisitionHeader(chunk, offset + ID_SIZE);
    const [trajectoryFloats, dataFloats] = this.#acquisitionSizes(head);
    const start = offset + ACQUISITION_PREFIX;
    const end = start + 4 * (trajectoryFloats + dataFloats);
    if (end <= chunk.byteLength) {
      const traj = this.#floatsAt(chunk, start, trajectoryFloats);
      const data = this.#floatsAt(chunk, start + 4 * trajectoryFloats, dataFloats);
      frames.push({ kind: 'acquisition', acquisition: { kind: 'acquisition', head, traj, data } });
      return end;
    }
    const reader = this.#acquisitionBody(head, trajectoryFloats, dataFloats);
    this.#reader = reader;
    this.#pending = ACQUISITION_PREFIX;
    const step = reader.next();
    if (step.done) throw new Error('acquisition reader finished before reading its body');
    this.#target = step.value;
    this.#filled = 0;
    if (this.#target.byteLength === 0) this.#advance(frames);
    return start;
  }

  /** `length` floats at `offset` of `chunk`: a view when aligned and allowed, else a copy. */
  #floatsAt(chunk: Uint8Array, offset: number, length: number): Float32Array {
    if (length === 0) return new Float32Array(0);
    const at = chunk.byteOffset + offset;
    if (this.#views && at % 4 === 0) return new Float32Array(chunk.buffer, at, length);
    const floats = uninitializedFloats(length);
    new Uint8Array(floats.buffer, 0, floats.byteLength).set(chunk.subarray(offset, offset + 4 * length));
    return floats;
  }

  *#waveform(): FrameReader {
    const fixed = ID_SIZE + WAVEFORM_HEADER_SIZE;
    this.#total(fixed, false);
    const headerBytes = this.#fixed(WAVEFORM_HEADER_SIZE);
    yield headerBytes;
    const head = decodeWaveformHeader(headerBytes);
    const elements = head.channels * head.number_of_samples;
    const bytes = this.#limit('data', 4 * elements, this.limits.maxWaveformBytes);
    this.#total(fixed + bytes, true);
    const data = new Uint32Array(elements);
    yield bytesOf(data);
    return { kind: 'waveform', waveform: { kind: 'waveform', head, data } };
  }

  *#image(): FrameReader {
    const fixed = ID_SIZE + IMAGE_HEADER_SIZE + 8;
    this.#total(fixed, false);
    const prefix = this.#fixed(IMAGE_HEADER_SIZE + 8);
    yield prefix;
    const head = decodeImageHeader(prefix);
    if (!isKnownDataType(head.data_type)) this.#fail('MALFORMED_MESSAGE', `unknown data_type ${head.data_type}`);
    const [x = 0, y = 0, z = 0] = head.matrix_size;
    const elements = BigInt(x) * BigInt(y) * BigInt(z) * BigInt(head.channels);
    const metaBytes = this.#limit('attributes', this.#view.getBigUint64(IMAGE_HEADER_SIZE, true), this.limits.maxMetaBytes, 'exceed');
    const pixelBytes = this.#limit('pixels', elements * BigInt(bytesPerPixel(head.data_type)), this.limits.maxImageBytes, 'exceed');
    this.#total(fixed + metaBytes + pixelBytes, true);
    const meta = this.#meta(yield* this.#bytes(metaBytes), 'attributes');
    const data = allocatePixels(head.data_type, Number(elements));
    yield bytesOf(data);
    return { kind: 'image', image: { kind: 'image', head, meta, data } };
  }

  *#dicom(): FrameReader {
    let total = ID_SIZE + 4;
    this.#total(total, false);
    yield this.#fixed(4);
    const fileBytes = this.#limit('DICOM file', this.#view.getUint32(0, true), this.limits.maxImageBytes);
    total += fileBytes + 8;
    this.#total(total, false);
    const dicom = yield* this.#bytes(fileBytes);
    yield this.#fixed(8);
    const nameBytes = this.#limit('file name', this.#view.getBigUint64(0, true), this.limits.maxTextBytes);
    total += nameBytes + 8;
    this.#total(total, false);
    const filename = utf8.decode(yield* this.#bytes(nameBytes));
    yield this.#fixed(8);
    const metaBytes = this.#limit('meta', this.#view.getBigUint64(0, true), this.limits.maxMetaBytes);
    total += metaBytes;
    this.#total(total, true);
    const meta = this.#meta(yield* this.#bytes(metaBytes), 'meta');
    return { kind: 'dicom', dicom, filename, meta };
  }

  #meta(bytes: Uint8Array, part: string): MetaContainer {
    const xml = utf8.decode(withoutTrailingNuls(bytes));
    if (xml === '') return new Map();
    try {
      return parseMeta(xml);
    } catch (error) {
      const reason = error instanceof Error ? error.message : String(error);
      return this.#fail('MALFORMED_MESSAGE', `invalid ${part} XML: ${reason}`, error);
    }
  }
}
