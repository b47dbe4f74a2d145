/**
 * ISMRMRD HDF5 files (`<group>/xml`, `<group>/data`, `<group>/waveforms`,
 * `<group>/<var>/{header,attributes,data}`) through the optional native addon
 * in `native/` (N-API over Debian's libismrmrd 1.8 and HDF5). Writes use
 * libismrmrd itself, so files match what the reference tools and
 * `gadgetron_ismrmrd_client` write; reads go straight to HDF5 in batches.
 */
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  decodeAcquisitionHeader,
  decodeImageHeader,
  decodeWaveformHeader,
  encodeAcquisitionHeader,
  encodeImageHeader,
  encodeWaveformHeader,
} from '../ismrmrd/header-codec.js';
import { parseMeta, serializeMeta } from '../ismrmrd/meta.js';
import { bytesPerPixel, DataType } from '../ismrmrd/types.js';
import type { Acquisition, Image, ImageHeader, ImagePixels, Waveform } from '../ismrmrd/types.js';

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
  appendAcquisition(h: AddonHandle, head: Uint8Array, traj: Float32Array, data: Float32Array): void;
  waveformCount(h: AddonHandle): number;
  readWaveforms(h: AddonHandle, start: number, count: number): RawWaveform[];
  appendWaveform(h: AddonHandle, head: Uint8Array, data: Uint32Array): void;
  imageCount(h: AddonHandle, varName: string): number;
  readImages(h: AddonHandle, varName: string, start: number, count: number): RawImage[];
  appendImage(h: AddonHandle, varName: string, head: Uint8Array, attributes: string | null, pixels: Uint8Array): void;
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

  /** `count` acquisitions from `start`, read in one HDF5 call. */
  readAcquisitions(start: number, count: number): Acquisition[] {
    return this.#addon.readAcquisitions(this.#h, start, count).map((raw, i) => toAcquisition(raw, start + i, this));
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
    this.#addon.appendImage(this.#h, varName, encodeImageHeader(head), attributes, bytes);
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

function toAcquisition(raw: RawAcquisition, index: number, file: IsmrmrdFile): Acquisition {
  const head = decodeAcquisitionHeader(raw.head);
  const ns = head.number_of_samples;
  const where = `${file.path} group ${file.group}`;
  if (raw.data.length !== 2 * ns * head.active_channels) {
    throw new Error(
      `Cannot read acquisition ${index} from ${where}: data length ${raw.data.length} does not match ` +
        `${ns} samples × ${head.active_channels} channels × 2`,
    );
  }
  if (raw.traj.length !== ns * head.trajectory_dimensions) {
    throw new Error(
      `Cannot read acquisition ${index} from ${where}: trajectory length ${raw.traj.length} does not match ` +
        `${ns} samples × ${head.trajectory_dimensions} dimensions`,
    );
  }
  return { kind: 'acquisition', head, traj: raw.traj, data: raw.data };
}
