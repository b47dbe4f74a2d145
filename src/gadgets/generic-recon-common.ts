/**
 * Shared pieces of the generic Cartesian recon's image-array gadgets
 * (partial Fourier, k-space filter, FOV adjustment, scaling, std map):
 * Gadgetron's meta attribute names and data roles, the legacy gadgets'
 * common properties, and how an image array's sampling is found.
 *
 * Sampling of an image array is read, in order, from
 * 1. `ImageArray.sampling` (set by Gantry's recon gadgets);
 * 2. Gadgetron's meta attributes on meta[0]: `sampling_limits_RO/E1/E2`
 *    as [min, center, max], `encoding_FOV`, `recon_FOV`, `recon_matrix`;
 * 3. otherwise full sampling, and FOVs from the session header.
 */
import type { PropertySchema } from '../engine/properties.js';
import type { ImageArray, SamplingLimit } from '../ismrmrd/buffers.js';
import { metaGetNumber } from '../ismrmrd/meta.js';
import type { MetaContainer } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { fftc } from '../kernels/fft.js';
import type { SampledRange } from '../kernels/partial-fourier.js';

/** Meta attribute names (Gadgetron `mri_core_def.h`, protocol facts §3.5). */
export const MetaName = {
  dataRole: 'GADGETRON_DataRole',
  skipProcessingAfterRecon: 'Skip_processing_after_recon',
  useDedicatedScalingFactor: 'Use_dedicated_scaling_factor',
  scaleRatio: 'GADGETRON_ScaleRatio',
  imageComment: 'GADGETRON_ImageComment',
  sequenceDescription: 'GADGETRON_SeqDescription',
  encoding: 'encoding',
} as const;

/** Values of `GADGETRON_DataRole` these gadgets act on. */
export const DataRole = {
  image: 'Image',
  gfactor: 'Gfactor',
  snrMap: 'SNR_MAP',
  stdMap: 'STD_MAP',
} as const;

/** Properties of Gadgetron's `GenericReconBase` (legacy generic recon gadgets). */
export const genericReconBaseProperties = {
  verbose: { type: 'boolean', default: false, description: 'Log details of each array' },
  debug_folder: { type: 'string', default: '', description: 'Accepted for compatibility; Gantry writes no debug files' },
  perform_timing: { type: 'boolean', default: false, description: 'Log the processing time of each array' },
  time_tick: { type: 'number', default: 2.5, description: 'Accepted for compatibility' },
} satisfies PropertySchema;

/** The first meta container of an array (Gadgetron reads flags and roles from meta[0]). */
export function firstMeta(array: ImageArray): MetaContainer | undefined {
  return array.meta[0];
}

/** True when meta[0] carries `field` (any value). */
export function hasMetaField(array: ImageArray, field: string): boolean {
  return field !== '' && (firstMeta(array)?.has(field) ?? false);
}

/** True when any value of meta[0]'s `GADGETRON_DataRole` is `role`. */
export function hasDataRole(array: ImageArray, role: string): boolean {
  return firstMeta(array)?.get(MetaName.dataRole)?.includes(role) ?? false;
}

/** The encoding space of an array: meta[0] `encoding`, else 0. */
export function encodingIndex(array: ImageArray): number {
  const meta = firstMeta(array);
  const e = meta ? metaGetNumber(meta, MetaName.encoding) : undefined;
  return e !== undefined && Number.isInteger(e) && e >= 0 ? e : 0;
}

/** The array's [RO, E1, E2] sizes. */
export function volumeSizes(array: ImageArray): [number, number, number] {
  const d = array.data.dims;
  return [d[0] ?? 1, d[1] ?? 1, d[2] ?? 1];
}

function metaTriple(meta: MetaContainer | undefined, name: string): [number, number, number] | undefined {
  if (!meta || (meta.get(name)?.length ?? 0) < 3) return undefined;
  const v = [0, 1, 2].map((i) => metaGetNumber(meta, name, i));
  if (v.some((x) => x === undefined || !Number.isFinite(x))) return undefined;
  return v as [number, number, number];
}

/**
 * Sampling limits of RO/E1/E2: `array.sampling`, else meta[0]
 * `sampling_limits_RO/E1/E2` ([min, center, max]); undefined per axis when unknown.
 */
export function samplingLimitsOf(array: ImageArray): [SamplingLimit | undefined, SamplingLimit | undefined, SamplingLimit | undefined] {
  if (array.sampling) {
    const l = array.sampling.sampling_limits;
    return [l[0], l[1], l[2]];
  }
  const meta = firstMeta(array);
  return (['RO', 'E1', 'E2'] as const).map((axis) => {
    const t = metaTriple(meta, `sampling_limits_${axis}`);
    return t ? { min: t[0], center: t[1], max: t[2] } : undefined;
  }) as [SamplingLimit | undefined, SamplingLimit | undefined, SamplingLimit | undefined];
}

/** [min, max] of a limit inside an axis of length `len`; the full axis when unknown or out of range. */
export function rangeWithin(limit: SamplingLimit | undefined, len: number): SampledRange {
  if (!limit || !(limit.min >= 0) || !(limit.max < len) || limit.min > limit.max) return { start: 0, end: len - 1 };
  return { start: Math.trunc(limit.min), end: Math.trunc(limit.max) };
}

/** Acceleration factors [R_E1, R_E2] of encoding `e` in the header (1 without parallel imaging). */
export function accelerationFactors(header: IsmrmrdHeader | undefined, e: number): [number, number] {
  const enc = header?.encoding[e] ?? header?.encoding[0];
  const a = enc?.parallelImaging?.accelerationFactor;
  return [Math.max(1, a?.kspace_encoding_step_1 ?? 1), Math.max(1, a?.kspace_encoding_step_2 ?? 1)];
}

/**
 * The sampled windows the partial-Fourier gadgets use: RO [min, max] as
 * given; E1 (E2) only when the window is off-centre by more than the
 * acceleration factor, |(max − ⌊len/2⌋) − (⌊len/2⌋ − min)| > R, else the full axis.
 */
export function partialFourierRanges(array: ImageArray, header: IsmrmrdHeader | undefined): [SampledRange, SampledRange, SampledRange] {
  const sizes = volumeSizes(array);
  const limits = samplingLimitsOf(array);
  const [rE1, rE2] = accelerationFactors(header, encodingIndex(array));
  const ro = rangeWithin(limits[0], sizes[0]);
  const pick = (axis: 1 | 2, r: number): SampledRange => {
    const len = sizes[axis];
    const range = rangeWithin(limits[axis], len);
    const c = len >> 1;
    return Math.abs(range.end - c - (c - range.start)) > r ? range : { start: 0, end: len - 1 };
  };
  return [ro, pick(1, rE1), pick(2, rE2)];
}

/** FOVs and recon matrix of an array's encoding space. */
export interface ArrayGeometry {
  /** Encoded FOV, with x replaced by the recon FOV x for Cartesian data (oversampling removed). */
  encodedFov: [number, number, number];
  reconFov: [number, number, number];
  reconMatrix: [number, number, number];
}

/** Geometry from `array.sampling`, else meta[0], else the header's encoding space. */
export function geometryOf(array: ImageArray, header: IsmrmrdHeader | undefined): ArrayGeometry | undefined {
  if (array.sampling) {
    const s = array.sampling;
    return { encodedFov: [...s.encoded_FOV], reconFov: [...s.recon_FOV], reconMatrix: [...s.recon_matrix] };
  }
  const meta = firstMeta(array);
  const encodedFov = metaTriple(meta, 'encoding_FOV');
  const reconFov = metaTriple(meta, 'recon_FOV');
  const reconMatrix = metaTriple(meta, 'recon_matrix');
  if (encodedFov && reconFov && reconMatrix) return { encodedFov, reconFov, reconMatrix };
  const enc = header?.encoding[encodingIndex(array)] ?? header?.encoding[0];
  if (!enc) return undefined;
  const e = enc.encodedSpace.fieldOfView_mm;
  const r = enc.reconSpace.fieldOfView_mm;
  const m = enc.reconSpace.matrixSize;
  const cartesian = enc.trajectory === 'cartesian' || enc.trajectory === 'epi';
  return { encodedFov: [cartesian ? r.x : e.x, e.y, e.z], reconFov: [r.x, r.y, r.z], reconMatrix: [m.x, m.y, m.z] };
}

/** A copy of `array` with new pixel data (headers and meta copied, sampling kept). */
export function withImageData(array: ImageArray, data: Float32Array, dims: readonly number[]): ImageArray {
  const out: ImageArray = {
    kind: 'imagearray',
    data: { data, dims: dims.slice() },
    headers: array.headers.map((h) => ({ ...h })),
    meta: array.meta.map((m) => new Map([...m].map(([k, v]) => [k, v.slice()]))),
  };
  if (array.waveforms) out.waveforms = array.waveforms;
  if (array.acqHeaders) out.acqHeaders = array.acqHeaders;
  if (array.sampling) out.sampling = array.sampling;
  return out;
}

/** k = F_c(I) over RO/E1/E2 of a copy of the array's pixels. */
export function imageToKSpace(array: ImageArray): Float32Array {
  return fftc(Float32Array.from(array.data.data), array.data.dims, [0, 1, 2].filter((a) => a < array.data.dims.length), false);
}

/** I = F_c⁻¹(k) over RO/E1/E2, in place. */
export function kspaceToImage(kspace: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(kspace, dims, [0, 1, 2].filter((a) => a < dims.length), true);
}
