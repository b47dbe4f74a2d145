/**
 * SFNDAM ("simple N-D array with metadata"), the format Gadgetron uses for
 * stored noise covariances, and the noise covariance codec on top of it.
 *
 * Layout (little endian): `SFNDAM` · u32 version (1) · u32 data type · u32 R ·
 * R × u64 dimensions · u64 metadata length M · the values · M bytes of
 * metadata (JSON). Type 7 is complex float (re, im float32 pairs).
 *
 * A noise covariance is a CHA × CHA complex-float array in hoNDArray
 * (column-major) order holding C = DᴴD/(N−1), i.e. C_ij = Σ conj(x_i)·x_j/(N−1)
 * (the transpose of Ψ = E[x xᴴ]), with metadata
 * `{"channels","labels","noiseDwellTimeUs","receiverNoiseBandwidth","sampleCount"}`.
 * Older Gadgetron builds wrote snake_case names (`sample_count`,
 * `noise_dwell_time_us`, `receiver_noise_bandwidth`); both are read.
 */

/** SFNDAM data type codes. */
export const SfndamType = { USHORT: 1, SHORT: 2, UINT: 3, INT: 4, FLOAT: 5, DOUBLE: 6, CXFLOAT: 7, CXDOUBLE: 8 } as const;

const ELEMENT_BYTES: Record<number, number> = { 1: 2, 2: 2, 3: 4, 4: 4, 5: 4, 6: 8, 7: 8, 8: 16 };
const MAGIC = 'SFNDAM';
const VERSION = 1;
const MAX_DIMS = 16;

/** A decoded SFNDAM document. */
export interface Sfndam {
  type: number;
  dims: number[];
  /** The raw values (little endian), `prod(dims) × element size` bytes. */
  values: Uint8Array;
  meta: string;
}

/** Why a blob could not be read as SFNDAM or as a noise covariance. */
export class SfndamFormatError extends Error {
  override readonly name = 'SfndamFormatError';
}

/** Encodes an SFNDAM document. */
export function encodeSfndam(doc: Sfndam): Uint8Array {
  const elementBytes = ELEMENT_BYTES[doc.type];
  if (elementBytes === undefined) throw new RangeError(`Cannot write SFNDAM: unknown data type ${doc.type}`);
  const count = doc.dims.reduce((a, b) => a * b, 1);
  if (doc.values.byteLength !== count * elementBytes) {
    throw new RangeError(`Cannot write SFNDAM: ${doc.values.byteLength} value bytes do not match dimensions [${doc.dims.join(', ')}]`);
  }
  const meta = Buffer.from(doc.meta, 'utf8');
  const headerBytes = MAGIC.length + 4 + 4 + 4 + 8 * doc.dims.length + 8;
  const out = Buffer.alloc(headerBytes + doc.values.byteLength + meta.length);
  let p = out.write(MAGIC, 0, 'latin1');
  p = out.writeUInt32LE(VERSION, p);
  p = out.writeUInt32LE(doc.type, p);
  p = out.writeUInt32LE(doc.dims.length, p);
  for (const d of doc.dims) p = out.writeBigUInt64LE(BigInt(d), p);
  p = out.writeBigUInt64LE(BigInt(meta.length), p);
  out.set(doc.values, p);
  meta.copy(out, p + doc.values.byteLength);
  return new Uint8Array(out.buffer, out.byteOffset, out.byteLength);
}

/** Decodes an SFNDAM document, checking every length against the blob before using it. */
export function decodeSfndam(bytes: Uint8Array): Sfndam {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const need = (n: number, what: string): void => {
    if (buf.length < n) throw new SfndamFormatError(`truncated: ${buf.length} bytes, ${what} needs ${n}`);
  };
  need(MAGIC.length + 12, 'the header');
  if (buf.toString('latin1', 0, MAGIC.length) !== MAGIC) throw new SfndamFormatError('not an SFNDAM blob (wrong magic bytes)');
  let p = MAGIC.length;
  const version = buf.readUInt32LE(p);
  if (version !== VERSION) throw new SfndamFormatError(`unsupported SFNDAM version ${version}`);
  const type = buf.readUInt32LE(p + 4);
  const elementBytes = ELEMENT_BYTES[type];
  if (elementBytes === undefined) throw new SfndamFormatError(`unknown data type ${type}`);
  const ndims = buf.readUInt32LE(p + 8);
  if (ndims > MAX_DIMS) throw new SfndamFormatError(`${ndims} dimensions is more than ${MAX_DIMS}`);
  p += 12;
  need(p + 8 * ndims + 8, 'the dimensions');
  const dims: number[] = [];
  let count = 1n;
  for (let i = 0; i < ndims; i++) {
    const d = buf.readBigUInt64LE(p + 8 * i);
    count *= d;
    dims.push(Number(d));
  }
  p += 8 * ndims;
  const metaLength = buf.readBigUInt64LE(p);
  p += 8;
  const valueBytes = count * BigInt(elementBytes);
  if (BigInt(p) + valueBytes + metaLength > BigInt(buf.length)) {
    throw new SfndamFormatError(`truncated: ${buf.length} bytes, the dimensions [${dims.join(', ')}] and ${metaLength} metadata bytes need ${BigInt(p) + valueBytes + metaLength}`);
  }
  const v = Number(valueBytes);
  const values = new Uint8Array(bytes.buffer, bytes.byteOffset + p, v);
  const meta = buf.toString('utf8', p + v, p + v + Number(metaLength));
  return { type, dims, values, meta };
}

/** A noise covariance as Gadgetron stores it. */
export interface NoiseCovariance {
  channels: number;
  /** Coil names (from the header's coilLabel list) in matrix order; may be empty. */
  labels: string[];
  /** Noise samples the estimate is based on. */
  sampleCount: number;
  noiseDwellTimeUs: number;
  receiverNoiseBandwidth: number;
  /** C (CHA × CHA), column-major, interleaved complex float32: C_ij = Σ conj(x_i)·x_j/(N−1). */
  matrix: Float32Array;
}

/** Encodes a noise covariance as SFNDAM (Gadgetron's `NoiseCovariance` blob/file). */
export function encodeNoiseCovariance(nc: NoiseCovariance): Uint8Array {
  if (nc.matrix.length !== 2 * nc.channels * nc.channels) {
    throw new RangeError(`Cannot write noise covariance: ${nc.matrix.length / 2} values for ${nc.channels} channels`);
  }
  const meta = JSON.stringify({
    channels: nc.channels,
    labels: nc.labels,
    noiseDwellTimeUs: nc.noiseDwellTimeUs,
    receiverNoiseBandwidth: nc.receiverNoiseBandwidth,
    sampleCount: nc.sampleCount,
  });
  const values = new Uint8Array(nc.matrix.byteLength);
  const view = new DataView(values.buffer);
  for (let i = 0; i < nc.matrix.length; i++) view.setFloat32(4 * i, nc.matrix[i] as number, true);
  return encodeSfndam({ type: SfndamType.CXFLOAT, dims: [nc.channels, nc.channels], values, meta });
}

/** Decodes and validates a noise covariance; throws SfndamFormatError saying what is wrong. */
export function decodeNoiseCovariance(bytes: Uint8Array): NoiseCovariance {
  const doc = decodeSfndam(bytes);
  if (doc.type !== SfndamType.CXFLOAT) throw new SfndamFormatError(`data type ${doc.type} is not complex float (7)`);
  if (doc.dims.length !== 2 || doc.dims[0] !== doc.dims[1]) throw new SfndamFormatError(`dimensions [${doc.dims.join(', ')}] are not a square matrix`);
  const n = doc.dims[0] as number;
  if (n < 1 || n > 4096) throw new SfndamFormatError(`${n} channels is out of range`);
  let meta: Record<string, unknown>;
  try {
    const parsed = JSON.parse(doc.meta) as unknown;
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
    meta = parsed as Record<string, unknown>;
  } catch {
    throw new SfndamFormatError('its metadata is not a JSON object');
  }
  const pick = (...names: string[]): unknown => {
    for (const name of names) if (meta[name] !== undefined) return meta[name];
    return undefined;
  };
  const number = (value: unknown, what: string): number => {
    if (typeof value !== 'number' || !Number.isFinite(value)) throw new SfndamFormatError(`its metadata has no valid ${what}`);
    return value;
  };
  const channels = number(pick('channels'), 'channels');
  if (channels !== n) throw new SfndamFormatError(`its metadata says ${channels} channels but the matrix is ${n} × ${n}`);
  const labels = pick('labels');
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) throw new SfndamFormatError('its metadata has no list of coil labels');
  const sampleCount = number(pick('sampleCount', 'sample_count'), 'sample count');
  const noiseDwellTimeUs = number(pick('noiseDwellTimeUs', 'noise_dwell_time_us'), 'noise dwell time');
  const receiverNoiseBandwidth = number(pick('receiverNoiseBandwidth', 'receiver_noise_bandwidth'), 'receiver noise bandwidth');
  const matrix = new Float32Array(2 * n * n);
  const view = new DataView(doc.values.buffer, doc.values.byteOffset, doc.values.byteLength);
  for (let i = 0; i < matrix.length; i++) {
    const v = view.getFloat32(4 * i, true);
    if (!Number.isFinite(v)) throw new SfndamFormatError('the matrix holds non-finite values');
    matrix[i] = v;
  }
  return { channels: n, labels: labels as string[], sampleCount, noiseDwellTimeUs, receiverNoiseBandwidth, matrix };
}
