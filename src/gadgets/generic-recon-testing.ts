/**
 * Test-only builders for the generic recon's image-array gadget tests:
 * image arrays with headers, meta and sampling, and k-space ↔ image helpers.
 * Nothing in the server imports this module.
 */
import type { ImageArray, SamplingDescription, SamplingLimit } from '../ismrmrd/buffers.js';
import { DataType, emptyImageHeader, ImageType } from '../ismrmrd/types.js';
import { fftc } from '../kernels/fft.js';

/** Options of {@link makeImageArray}. */
export interface ImageArraySpec {
  /** [RO, E1, E2, CHA, N, S, SLC]; missing trailing sizes are 1. */
  dims: readonly number[];
  /** Interleaved complex pixels; zeros by default. */
  data?: Float32Array;
  /** Meta attributes set on every container (name → values). */
  meta?: Record<string, string[]>;
  sampling?: SamplingDescription;
  series?: number;
  fov?: [number, number, number];
}

/** An image array with one header and meta container per (n, s, slc). */
export function makeImageArray(spec: ImageArraySpec): ImageArray {
  const dims = [...spec.dims];
  while (dims.length < 7) dims.push(1);
  const total = dims.reduce((a, b) => a * b, 1);
  const data = spec.data ?? new Float32Array(2 * total);
  if (data.length !== 2 * total) throw new RangeError(`Cannot make image array: ${data.length} values for [${dims.join(', ')}]`);
  const [ro, e1, e2, cha, n, s, slc] = dims as [number, number, number, number, number, number, number];
  const headers = [];
  const meta = [];
  for (let l = 0; l < slc; l++) {
    for (let k = 0; k < s; k++) {
      for (let r = 0; r < n; r++) {
        headers.push({
          ...emptyImageHeader(),
          data_type: DataType.CXFLOAT,
          image_type: ImageType.MAGNITUDE,
          matrix_size: [ro, e1, e2],
          field_of_view: spec.fov ?? [ro, e1, e2],
          channels: cha,
          repetition: r,
          set: k,
          slice: l,
          image_series_index: spec.series ?? 1,
          image_index: 1 + r + n * (k + s * l),
        });
        meta.push(new Map(Object.entries(spec.meta ?? {}).map(([key, v]) => [key, v.slice()])));
      }
    }
  }
  const array: ImageArray = { kind: 'imagearray', data: { data, dims }, headers, meta };
  if (spec.sampling) array.sampling = spec.sampling;
  return array;
}

/** A sampling description with the given limits and equal encoded/recon geometry. */
export function makeSampling(
  matrix: [number, number, number],
  limits: [SamplingLimit, SamplingLimit, SamplingLimit],
  fov: [number, number, number] = [matrix[0], matrix[1], matrix[2]],
): SamplingDescription {
  return { encoded_FOV: [...fov], recon_FOV: [...fov], encoded_matrix: [...matrix], recon_matrix: [...matrix], sampling_limits: limits };
}

/** {min, max, center = ⌊len/2⌋}. */
export function limit(min: number, max: number, len: number): SamplingLimit {
  return { min, max, center: len >> 1 };
}

/** Images = F_c⁻¹(k) over RO/E1/E2 (a copy). */
export function toImage(kspace: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(Float32Array.from(kspace), dims, [0, 1, 2].filter((a) => a < dims.length), true);
}

/** k = F_c(I) over RO/E1/E2 (a copy). */
export function toKSpace(image: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(Float32Array.from(image), dims, [0, 1, 2].filter((a) => a < dims.length), false);
}
