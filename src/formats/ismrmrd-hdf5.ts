/**
 * ISMRMRD HDF5 files (`<group>/xml`, `<group>/data`, `<group>/waveforms`,
 * `<group>/<var>/{header,attributes,data}`) through the optional native addon
 * in `native/` (N-API over Debian's libismrmrd 1.8 and HDF5). Writes use
 * libismrmrd itself, so files match what the reference tools and
 * `gadgetron_ismrmrd_client` write; reads go straight to HDF5 in batches.
 *
 * Acquisitions are read in blocks: the addon reads a run of rows into one
 * buffer (headers packed, trajectories and samples in one Float32Array) and
 * each acquisition's `traj` and `data` are views of it, so a block costs a
 * few allocations rather than several per row. {@link IsmrmrdFile.acquisitionBlocks}
 * reads the next block on a worker thread while the caller works on the
 * current one.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  ACQUISITION_HEADER_SIZE,
  decodeAcquisitionHeader,
  decodeImageHeader,
  decodeWaveformHeader,
  encodeAcquisitionHeader,
  encodeImageHeader,
  encodeWaveformHeader,
} from '../ismrmrd/header-codec.js';
import { parseMeta, serializeMeta } from '../ismrmrd/meta.js';
import { bytesPerPixel, DataType, NO_TRAJECTORY } from '../ismrmrd/types.js';
import { noteSharedMemory } from '../util/gc.js';
import type { Acquisition, AcquisitionHeader, Image, ImageHeader, ImagePixels, Waveform } from '../ismrmrd/types.js';

/** Path of the addon relative to the repository root. */
export const ADDON_RELATIVE_PATH = 'native/build/Release/ismrmrd_hdf5.node';

declare const handleBrand: unique symbol;
/** Opaque dataset handle owned by the addon. */
type AddonHandle = { readonly [handleBrand]: true };

/** An acquisition row as stored: the packed 340-byte header undecoded. */
export interface RawAcquisition {
  head: Uint8Array;
  traj: Float32Array;
  data: Float32Array;
}
/**
 * A block of acquisition rows as the addon returns it: `heads` holds the
 * packed 340-byte headers; row i's trajectory is `layout[4i+1]` floats of
 * `floats` from `layout[4i]`, its samples `layout[4i+3]` floats from `layout[4i+2]`.
 */
interface RawAcquisitionBlock {
  heads: Uint8Array;
  floats: Float32Array;
  layout: Uint32Array;
}
interface RawWaveform {
  head: Uint8Array;
  data: Uint32Array;
}
interface RawImage {
  head: Uint8Array;
  attributes: string | null;
  data: ArrayBuffer;
}
/** A link inside an HDF5 group. */
export interface GroupEntry {
  name: string;
  kind: 'group' | 'dataset' | 'other';
}

/** The functions exported by `ismrmrd_hdf5.node`. */
interface Addon {
  libraryVersion(): string;
  open(path: string, group: string, mode: 0 | 1 | 2): AddonHandle;
  close(h: AddonHandle): void;
  isReadOnly(h: AddonHandle): boolean;
  readHeader(h: AddonHandle): string | null;
  writeHeader(h: AddonHandle, xml: string): void;
  acquisitionCount(h: AddonHandle): number;
  readAcquisitions(h: AddonHandle, start: number, count: number): RawAcquisition[];
  readAcquisitionBlockSync(h: AddonHandle, start: number, count: number, maxBytes: number): RawAcquisitionBlock;
  readAcquisitionBlock(h: AddonHandle, start: number, count: number, maxBytes: number): Promise<RawAcquisitionBlock>;
  appendAcquisition(h: AddonHandle, head: Uint8Array, traj: Float32Array, data: Float32Array): void;
  waveformCount(h: AddonHandle): number;
  readWaveforms(h: AddonHandle, start: number, count: number): RawWaveform[];
  appendWaveform(h: AddonHandle, head: Uint8Array, data: Uint32Array): void;
  imageCount(h: AddonHandle, varName: string): number;
  readImages(h: AddonHandle, varName: string, start: number, count: number): RawImage[];
  appendImage(h: AddonHandle, varName: string, head: Uint8Array, attributes: string | null, pixels: Uint8Array): void;
  /** Absent from addons built before it (then {@link IsmrmrdFile.appendImageAsync} writes on the calling thread). */
  appendImageAsync?(h: AddonHandle, varName: string, head: Uint8Array, attributes: string | null, pixels: Uint8Array): Promise<void>;
  listGroup(h: AddonHandle, path: string): GroupEntry[];
}

type Loaded = { addon: Addon } | { reason: string };
let loaded: Loaded | undefined;

function candidatePaths(): string[] {
  const fromEnv = process.env['GANTRY_ISMRMRD_ADDON'];
  if (fromEnv) return [resolve(fromEnv)];
  const out: string[] = [];
  let dir = dirname(fileURLToPath(import.meta.url));
  for (let i = 0; i < 6; i++) {
    out.push(join(dir, ADDON_RELATIVE_PATH));
    const up = dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

function load(): Loaded {
  if (loaded) return loaded;
  const candidates = candidatePaths();
  const found = candidates.find((p) => existsSync(p));
  if (!found) {
    const fromEnv = process.env['GANTRY_ISMRMRD_ADDON'];
    loaded = {
      reason: fromEnv
        ? `GANTRY_ISMRMRD_ADDON names ${candidates[0]}, which does not exist`
        : `the ISMRMRD HDF5 addon is not built (looked for ${ADDON_RELATIVE_PATH}); ` +
          'install libismrmrd-dev and libhdf5-dev, then run `npm run build:native`',
    };
    return loaded;
  }
  try {
    const addon = createRequire(import.meta.url)(found) as Addon;
    loaded = { addon };
  } catch (err) {
    loaded = { reason: `the ISMRMRD HDF5 addon at ${found} does not load: ${(err as Error).message}` };
  }
  return loaded;
}

function addon(): Addon {
  const l = load();
  if ('reason' in l) throw new Error(`Cannot use ISMRMRD HDF5 files: ${l.reason}`);
  return l.addon;
}

/** True when the native addon is built and loads. */
export function hdf5Available(): boolean {
  return 'addon' in load();
}

/** Why HDF5 file I/O is unavailable, or undefined when it is available. */
export function hdf5UnavailableReason(): string | undefined {
  const l = load();
  return 'reason' in l ? l.reason : undefined;
}

/** Versions of libismrmrd and HDF5 the addon was built against (throws when unavailable). */
export function hdf5LibraryVersion(): string {
  return addon().libraryVersion();
}

/** Options for {@link IsmrmrdFile.open}. */
export interface OpenOptions {
  /** Create the file and/or group when missing (an existing file is appended to, never truncated). */
  create?: boolean;
  /** Open read-only (no write lock; writes fail). */
  readOnly?: boolean;
}

/** Normalizes a group name to an absolute HDF5 path: 'dataset' → '/dataset'. */
export function normalizeGroup(group: string): string {
  const g = '/' + group.replace(/^\/+/, '').replace(/\/+$/, '');
  if (g === '/') throw new RangeError(`Cannot use ISMRMRD group '${group}': name a group below the file root`);
  return g;
}

type PixelCtor =
  | Uint16ArrayConstructor
  | Int16ArrayConstructor
  | Uint32ArrayConstructor
  | Int32ArrayConstructor
  | Float32ArrayConstructor
  | Float64ArrayConstructor;

/** The pixel array type an image's data_type needs, with the elements per pixel. */
function pixelLayout(dataType: number): { ctor: PixelCtor; perPixel: number } {
  switch (dataType) {
    case DataType.USHORT: return { ctor: Uint16Array, perPixel: 1 };
    case DataType.SHORT: return { ctor: Int16Array, perPixel: 1 };
    case DataType.UINT: return { ctor: Uint32Array, perPixel: 1 };
    case DataType.INT: return { ctor: Int32Array, perPixel: 1 };
    case DataType.FLOAT: return { ctor: Float32Array, perPixel: 1 };
    case DataType.DOUBLE: return { ctor: Float64Array, perPixel: 1 };
    case DataType.CXFLOAT: return { ctor: Float32Array, perPixel: 2 };
    case DataType.CXDOUBLE: return { ctor: Float64Array, perPixel: 2 };
    default: throw new RangeError(`Cannot store pixels of unknown ISMRMRD data_type ${dataType}`);
  }
}

function pixelCount(h: ImageHeader): number {
  return (h.matrix_size[0] ?? 0) * (h.matrix_size[1] ?? 1) * (h.matrix_size[2] ?? 1) * h.channels;
}

/** The data_type implied by a pixel array and the header's size, for headers that leave it 0. */
function inferDataType(data: ImagePixels, pixels: number): number {
  const complex = data.length === 2 * pixels && pixels > 0;
  if (data instanceof Uint16Array) return DataType.USHORT;
  if (data instanceof Int16Array) return DataType.SHORT;
  if (data instanceof Uint32Array) return DataType.UINT;
  if (data instanceof Int32Array) return DataType.INT;
  if (data instanceof Float32Array) return complex ? DataType.CXFLOAT : DataType.FLOAT;
  return complex ? DataType.CXDOUBLE : DataType.DOUBLE;
}

function pixelsFromBuffer(dataType: number, buffer: ArrayBuffer): ImagePixels {
  return new (pixelLayout(dataType).ctor)(buffer);
}

const READ_BATCH = 128;

/** No byte limit on a block (the addon takes any number ≥ 1e19 as unlimited). */
const UNLIMITED_BYTES = 2e19;

/** Block size of {@link IsmrmrdFile.acquisitionBlocks}: large enough that per-call costs vanish, small enough to keep memory bounded. */
export const DEFAULT_BLOCK_BYTES = 8 * 1024 * 1024;
/** Most rows in one block of {@link IsmrmrdFile.acquisitionBlocks}. */
export const DEFAULT_BLOCK_ROWS = 1024;

/** Options of {@link IsmrmrdFile.acquisitionBlocks}. */
export interface AcquisitionBlockOptions {
  /** First row (default 0). */
  start?: number;
  /** Bytes of samples per block (at least one row per block; default {@link DEFAULT_BLOCK_BYTES}). */
  blockBytes?: number;
  /** Rows per block at most (default {@link DEFAULT_BLOCK_ROWS}). */
  blockRows?: number;
}

/**
 * One ISMRMRD dataset group in an HDF5 file. Not safe to share between
 * worker threads (serial HDF5); close it when done.
 */
export class IsmrmrdFile {
  /** File path as given to {@link IsmrmrdFile.open}. */
  readonly path: string;
  /** Absolute group path, e.g. '/dataset'. */
  readonly group: string;
  #handle: AddonHandle | undefined;
  readonly #addon: Addon;
  /** The last {@link appendImageAsync} write (the next one waits for it). */
  #writes: Promise<void> = Promise.resolve();

  private constructor(a: Addon, handle: AddonHandle, path: string, group: string) {
    this.#addon = a;
    this.#handle = handle;
    this.path = path;
    this.group = group;
  }

  /**
   * Opens `group` in the HDF5 file at `path`. Without `create` the file and
   * group must exist; with it they are created when missing.
   */
  static open(path: string, group = '/dataset', opts: OpenOptions = {}): IsmrmrdFile {
    const a = addon();
    if (opts.create && opts.readOnly) throw new TypeError('Cannot open an ISMRMRD dataset both read-only and with create');
    const g = normalizeGroup(group);
    const mode = opts.readOnly ? 2 : opts.create ? 1 : 0;
    return new IsmrmrdFile(a, a.open(path, g, mode), path, g);
  }

  get #h(): AddonHandle {
    if (!this.#handle) throw new Error(`Cannot use ISMRMRD dataset ${this.path} group ${this.group}: it is closed`);
    return this.#handle;
  }

  /** True after {@link close}. */
  get closed(): boolean {
    return this.#handle === undefined;
  }

  /** True when the file could only be opened read-only. */
  get readOnly(): boolean {
    return this.#addon.isReadOnly(this.#h);
  }

  /** The ISMRMRD XML header (`<group>/xml`), or undefined when there is none. */
  readHeader(): string | undefined {
    return this.#addon.readHeader(this.#h) ?? undefined;
  }

  /** Writes (replaces) the XML header. */
  writeHeader(xml: string): void {
    this.#addon.writeHeader(this.#h, xml);
  }

  /** Number of acquisitions in `<group>/data`. */
  acquisitionCount(): number {
    return this.#addon.acquisitionCount(this.#h);
  }

  /** Acquisition `index` (0-based). */
  readAcquisition(index: number): Acquisition {
    return this.readAcquisitions(index, 1)[0] as Acquisition;
  }

  /** `count` acquisitions from `start`, read as one block (their `traj` and `data` are views of one buffer). */
  readAcquisitions(start: number, count: number): Acquisition[] {
    checkRange(start, count);
    return fromBlock(this.#addon.readAcquisitionBlockSync(this.#h, start, count, UNLIMITED_BYTES), start, this);
  }

  /**
   * Up to `count` acquisitions from `start`, fewer when their samples
   * exceed `maxBytes` (never fewer than one), read on a worker thread.
   */
  async readAcquisitionBlock(start: number, count: number, maxBytes = DEFAULT_BLOCK_BYTES): Promise<Acquisition[]> {
    checkRange(start, count);
    const block = await this.#addon.readAcquisitionBlock(this.#h, start, count, Math.max(1, maxBytes));
    return fromBlock(block, start, this);
  }

  /**
   * All acquisitions from `options.start` in file order, block by block; the
   * next block is read on a worker thread while the caller handles the
   * current one, so at most two blocks are held.
   */
  async *acquisitionBlocks(options: AcquisitionBlockOptions = {}): AsyncGenerator<Acquisition[]> {
    const total = this.acquisitionCount();
    const bytes = options.blockBytes ?? DEFAULT_BLOCK_BYTES;
    const rows = Math.max(1, Math.floor(options.blockRows ?? DEFAULT_BLOCK_ROWS));
    let start = options.start ?? 0;
    const prefetch = (): Promise<Acquisition[]> | undefined => {
      if (start >= total) return undefined;
      const read = this.readAcquisitionBlock(start, Math.min(rows, total - start), bytes);
      // Marked as handled: a caller that stops early (or closes the file) must not leave an unhandled rejection behind.
      read.catch(() => undefined);
      return read;
    };
    let next = prefetch();
    try {
      while (next) {
        const block = await next;
        // Shared memory, unseen by V8's collections (src/util/gc.ts).
        noteSharedMemory(block.flatMap((a) => [a.data, a.traj]));
        start += block.length;
        next = block.length > 0 ? prefetch() : undefined;
        yield block;
      }
    } finally {
      await next?.catch(() => undefined);
    }
  }

  /** Rows `[start, start+count)` with their headers as the raw 340 stored bytes. */
  readRawAcquisitions(start: number, count: number): RawAcquisition[] {
    return this.#addon.readAcquisitions(this.#h, start, count);
  }

  /** All acquisitions in file order, read in batches. */
  *acquisitions(batch = READ_BATCH): Generator<Acquisition> {
    const n = this.acquisitionCount();
    for (let start = 0; start < n; start += batch) {
      yield* this.readAcquisitions(start, Math.min(batch, n - start));
    }
  }

  /** Appends one acquisition (libismrmrd `ismrmrd_append_acquisition`). */
  appendAcquisition(a: Acquisition): void {
    this.#addon.appendAcquisition(this.#h, encodeAcquisitionHeader(a.head), a.traj, a.data);
  }

  /** Number of waveforms in `<group>/waveforms`. */
  waveformCount(): number {
    return this.#addon.waveformCount(this.#h);
  }

  /** Waveform `index` (0-based). */
  readWaveform(index: number): Waveform {
    return this.readWaveforms(index, 1)[0] as Waveform;
  }

  /** `count` waveforms from `start`. */
  readWaveforms(start: number, count: number): Waveform[] {
    return this.#addon.readWaveforms(this.#h, start, count).map((raw, i) => {
      const head = decodeWaveformHeader(raw.head);
      const want = head.number_of_samples * head.channels;
      if (raw.data.length !== want) {
        throw new Error(
          `Cannot read waveform ${start + i} from ${this.path} group ${this.group}: data length ${raw.data.length} ` +
            `does not match ${head.number_of_samples} samples × ${head.channels} channels`,
        );
      }
      return { kind: 'waveform', head, data: raw.data };
    });
  }

  /** All waveforms in file order. */
  *waveforms(batch = READ_BATCH): Generator<Waveform> {
    const n = this.waveformCount();
    for (let start = 0; start < n; start += batch) yield* this.readWaveforms(start, Math.min(batch, n - start));
  }

  /** Appends one waveform (libismrmrd `ismrmrd_append_waveform`, dataset `<group>/waveforms`). */
  appendWaveform(w: Waveform): void {
    this.#addon.appendWaveform(this.#h, encodeWaveformHeader(w.head), w.data);
  }

  /**
   * Appends an image to `<group>/<varName>` (default `image_<image_series_index>`,
   * as `gadgetron_ismrmrd_client` stores them). The pixel element type follows
   * `head.data_type` (inferred from the array when 0); the attribute string is
   * `serializeMeta(meta)`, or empty (stored NULL) when meta is empty, and
   * `attribute_string_len` is set to its byte length.
   */
  appendImage(image: Image, varName = `image_${image.head.image_series_index}`): void {
    const { head, attributes, bytes } = imageRecord(image);
    this.#addon.appendImage(this.#h, varName, head, attributes, bytes);
  }

  /**
   * {@link appendImage} with the HDF5 write on a worker thread (the calling
   * thread goes on meanwhile). The image is checked and copied now, so it may
   * change afterwards; writes land in call order. A write that fails rejects
   * its promise and every later one with its error.
   */
  appendImageAsync(image: Image, varName = `image_${image.head.image_series_index}`): Promise<void> {
    const { head, attributes, bytes } = imageRecord(image);
    const copy = bytes.slice();
    const h = this.#h;
    const addon = this.#addon;
    const write = this.#writes.then(() =>
      addon.appendImageAsync ? addon.appendImageAsync(h, varName, head, attributes, copy) : addon.appendImage(h, varName, head, attributes, copy));
    this.#writes = write;
    return write;
  }

  /** Resolves when every {@link appendImageAsync} write has landed; rejects with the first failure. */
  async writesDone(): Promise<void> {
    await this.#writes;
  }


  /** Number of images in `<group>/<varName>`. */
  imageCount(varName: string): number {
    return this.#addon.imageCount(this.#h, varName);
  }

  /** Names of the image variables in the group (sub-groups holding `header`, `attributes` and `data`), naturally sorted. */
  imageSeriesNames(): string[] {
    const names: string[] = [];
    for (const entry of this.#addon.listGroup(this.#h, '')) {
      if (entry.kind !== 'group') continue;
      const inner = new Set(this.#addon.listGroup(this.#h, entry.name).map((e) => e.name));
      if (inner.has('header') && inner.has('attributes') && inner.has('data')) names.push(entry.name);
    }
    return names.sort((a, b) => a.localeCompare(b, 'en', { numeric: true }));
  }

  /** Images `[start, start+count)` of `<group>/<varName>` (all by default). */
  readImages(varName: string, start = 0, count?: number): Image[] {
    const n = count ?? this.imageCount(varName) - start;
    const out: Image[] = [];
    for (let s = start; s < start + n; s += READ_BATCH) {
      const raws = this.#addon.readImages(this.#h, varName, s, Math.min(READ_BATCH, start + n - s));
      for (const raw of raws) {
        const head = decodeImageHeader(raw.head);
        const meta = raw.attributes ? parseMeta(raw.attributes) : new Map<string, string[]>();
        out.push({ kind: 'image', head, meta, data: pixelsFromBuffer(head.data_type, raw.data) });
      }
    }
    return out;
  }

  /** Links in a group: relative to this dataset's group, or absolute when starting with '/'. */
  list(path = ''): GroupEntry[] {
    return this.#addon.listGroup(this.#h, path);
  }

  /** Closes the file; further calls throw. Closing twice is harmless. */
  close(): void {
    const h = this.#handle;
    this.#handle = undefined;
    if (h) this.#addon.close(h);
  }
}

/** An image as the addon stores it: the encoded header, the attribute string and a byte view of the pixels; checks the pixel array. */
function imageRecord(image: Image): { head: Uint8Array; attributes: string | null; bytes: Uint8Array } {
  const pixels = pixelCount(image.head);
  const dataType = image.head.data_type === 0 ? inferDataType(image.data, pixels) : image.head.data_type;
  const layout = pixelLayout(dataType);
  if (!(image.data instanceof layout.ctor)) {
    throw new TypeError(
      `Cannot append image: data_type ${dataType} needs a ${layout.ctor.name}, got ${image.data.constructor.name}`,
    );
  }
  if (image.data.length !== pixels * layout.perPixel) {
    throw new RangeError(
      `Cannot append image: ${image.data.length} elements do not match ${image.head.matrix_size.join('×')} × ` +
        `${image.head.channels} channel(s) × ${layout.perPixel} for data_type ${dataType}`,
    );
  }
  const attributes = image.meta.size > 0 ? serializeMeta(image.meta) : null;
  const head: ImageHeader = {
    ...image.head,
    data_type: dataType,
    attribute_string_len: attributes === null ? 0 : Buffer.byteLength(attributes, 'utf8'),
  };
  const bytes = new Uint8Array(image.data.buffer, image.data.byteOffset, pixels * bytesPerPixel(dataType));
  return { head: encodeImageHeader(head), attributes, bytes };
}

function checkRange(start: number, count: number): void {
  if (!Number.isInteger(start) || start < 0 || !Number.isInteger(count) || count < 0) {
    throw new RangeError(`Cannot read acquisitions: start ${start} and count ${count} must be non-negative integers`);
  }
}

/** The acquisitions of a block (rows `start`…), checked against their headers. */
function fromBlock(block: RawAcquisitionBlock, start: number, file: IsmrmrdFile): Acquisition[] {
  const { heads, floats, layout } = block;
  const count = heads.length / ACQUISITION_HEADER_SIZE;
  const out = new Array<Acquisition>(count);
  for (let i = 0; i < count; i++) {
    const head = decodeAcquisitionHeader(heads, i * ACQUISITION_HEADER_SIZE);
    const t = layout[4 * i] as number;
    const d = layout[4 * i + 2] as number;
    const trajFloats = layout[4 * i + 1] as number;
    const traj = trajFloats > 0 ? floats.subarray(t, t + trajFloats) : NO_TRAJECTORY;
    const data = floats.subarray(d, d + (layout[4 * i + 3] as number));
    checkLengths(head, traj, data, start + i, file);
    out[i] = { kind: 'acquisition', head, traj, data };
  }
  return out;
}

function checkLengths(head: AcquisitionHeader, traj: Float32Array, data: Float32Array, index: number, file: IsmrmrdFile): void {
  const ns = head.number_of_samples;
  const where = `${file.path} group ${file.group}`;
  if (data.length !== 2 * ns * head.active_channels) {
    throw new Error(
      `Cannot read acquisition ${index} from ${where}: data length ${data.length} does not match ` +
        `${ns} samples × ${head.active_channels} channels × 2`,
    );
  }
  if (traj.length !== ns * head.trajectory_dimensions) {
    throw new Error(
      `Cannot read acquisition ${index} from ${where}: trajectory length ${traj.length} does not match ` +
        `${ns} samples × ${head.trajectory_dimensions} dimensions`,
    );
  }
}
