/**
 * The generic reconstruction's intermediate messages: acquisition buckets,
 * recon buffers (`IsmrmrdReconData`) and image arrays (`IsmrmrdImageArray`),
 * with Gadgetron's dimension orders.
 */
import type { ComplexArray } from './ndarray.js';
import type { Acquisition, AcquisitionHeader, ImageHeader, MetaContainer, Waveform } from './types.js';

/** Index statistics of the readouts in a bucket (sets of seen counter values). */
export interface BucketStats {
  kspace_encode_step_1: Set<number>;
  kspace_encode_step_2: Set<number>;
  slice: Set<number>;
  phase: Set<number>;
  contrast: Set<number>;
  repetition: Set<number>;
  set: Set<number>;
  segment: Set<number>;
  average: Set<number>;
}

/** Readouts gathered until a trigger fires (`AcquisitionBucket`). */
export interface AcquisitionBucket {
  readonly kind: 'bucket';
  data: Acquisition[];
  ref: Acquisition[];
  /** Statistics per encoding space. */
  datastats: BucketStats[];
  refstats: BucketStats[];
  waveforms: Waveform[];
}

/** {min, max, center} of sampled indices along one encoding dimension. */
export interface SamplingLimit {
  min: number;
  max: number;
  center: number;
}

/** Geometry of a buffer (`SamplingDescription`). */
export interface SamplingDescription {
  encoded_FOV: [number, number, number];
  recon_FOV: [number, number, number];
  encoded_matrix: [number, number, number];
  recon_matrix: [number, number, number];
  sampling_limits: [SamplingLimit, SamplingLimit, SamplingLimit];
}

/**
 * Buffered k-space of one encoding space (`IsmrmrdDataBuffered`):
 * data [E0, E1, E2, CHA, N, S, LOC]; headers [E1, E2, N, S, LOC] (undefined where unsampled).
 */
export interface DataBuffered {
  data: ComplexArray;
  /** [D, E0, E1, E2, N, S, LOC] when the readouts carry a trajectory. */
  trajectory?: { data: Float32Array; dims: number[] };
  /**
   * Density-compensation weights [E0, E1, E2, N, S, LOC] (Gadgetron's
   * optional `density_`), for non-Cartesian buffers; absent in Cartesian ones.
   */
  density?: { data: Float32Array; dims: number[] };
  /**
   * The header of each line [E1, E2, N, S, LOC] that holds data, undefined
   * for a line that is all zeros: a gadget that writes lines into `data`
   * gives them headers (the GRAPPA unwrap reads the sampling lattice from
   * here, src/kernels/lattice.ts).
   */
  headers: (AcquisitionHeader | undefined)[];
  headerDims: number[];
  sampling: SamplingDescription;
  /**
   * Set when `data` holds only the lines each frame sampled on a lattice
   * (Gantry's own layout, made by BucketToBuffer for the GRAPPA chain only):
   * frame f = n + N·(s + S·loc) sampled lines offsets[f] + m·factor of the
   * logical E1 = factor · dims[1], and line m is stored as E1 index m, so
   * `data.dims` is [E0, E1 / factor, 1, CHA, N, S, LOC] (a third of the
   * memory at R = 3). `headers`, `headerDims` and `sampling` describe the
   * logical grid. See {@link logicalDims} and {@link expandLattice}.
   */
  lattice?: BufferLattice;
}

/** The lattice of a compact buffer ({@link DataBuffered.lattice}). */
export interface BufferLattice {
  readonly factor: number;
  readonly offsets: readonly number[];
}

/** `buffer.data.dims` with E1 as sampled on the grid (factor × the stored lines for a compact buffer). */
export function logicalDims(buffer: DataBuffered): number[] {
  const dims = buffer.data.dims.slice();
  if (buffer.lattice) dims[1] = (dims[1] ?? 0) * buffer.lattice.factor;
  return dims;
}

/** `buffer` with its data on the full grid (zeros between the lattice lines); `buffer` itself when it is not compact. */
export function expandLattice(buffer: DataBuffered): DataBuffered {
  const lattice = buffer.lattice;
  if (!lattice) return buffer;
  const [E0 = 0, M = 0, E2 = 1, ...outer] = buffer.data.dims;
  const blocks = outer.reduce((a, b) => a * b, 1);
  const channels = buffer.data.dims[3] ?? 1;
  const frames = blocks / channels;
  const E1 = M * lattice.factor;
  const out = new Float32Array(2 * E0 * E1 * E2 * blocks);
  for (let b = 0; b < blocks; b++) {
    const offset = lattice.offsets[Math.floor(b / channels) % Math.max(frames, 1)] ?? 0;
    for (let m = 0; m < M; m++) {
      const from = 2 * E0 * (m + M * b);
      out.set(buffer.data.data.subarray(from, from + 2 * E0), 2 * E0 * (offset + m * lattice.factor + E1 * b));
    }
  }
  const { lattice: _dropped, ...rest } = buffer;
  return { ...rest, data: { data: out, dims: [E0, E1, E2, ...outer] } };
}

/** One encoding space's data and optional reference (calibration) data. */
export interface ReconBit {
  data: DataBuffered;
  ref?: DataBuffered;
  /**
   * A channel rotation of `data` left to the next gadget in the same process
   * (GenericReconEigenChannelGadget hands it to GenericReconCartesianGrappaGadget,
   * which folds it into its unmixing weights instead of rotating 24 frames of
   * k-space): the data are still in the acquired channels, and block
   * b = n + N·(s + S·slc) stands for data_b·V_b, V_b = `vectors[b]` (C × C,
   * column-major, interleaved complex float64, all modes kept). Set only when
   * the consumer is known to apply it; never serialised.
   */
  pendingRotation?: { vectors: Float64Array[] };
  /**
   * A prewhitening y = M·x (C × C, column-major, interleaved complex
   * float64) that NoiseAdjust left pending and BucketToBuffer handed on:
   * `data` and `ref` are unwhitened. GenericReconCartesianReferencePrepGadget
   * whitens the prepared reference and turns it into `pendingRotation`
   * (src/gadgets/pending-mix.ts). Set only when NoiseAdjust checked that
   * chain; never serialised.
   */
  pendingWhitening?: Float64Array;
}

/** Recon buffers for all encoding spaces of one trigger (`IsmrmrdReconData`, message 1023). */
export interface ReconData {
  readonly kind: 'recondata';
  rbit: ReconBit[];
}

/**
 * Reconstructed images (`IsmrmrdImageArray`, message 1024):
 * data [X, Y, Z, CHA, N, S, LOC]; headers and meta [N, S, LOC].
 */
export interface ImageArray {
  readonly kind: 'imagearray';
  data: ComplexArray;
  headers: ImageHeader[];
  meta: MetaContainer[];
  waveforms?: Waveform[];
  acqHeaders?: AcquisitionHeader[];
  /**
   * Dimensions of `headers` (and of `meta` when it is not empty) on the wire,
   * normally [N, S, LOC]. When absent, encoders use `data.dims[4..6]` if their
   * product matches `headers.length`, else `[headers.length]`. Decoders set it.
   */
  headerDims?: number[];
  /**
   * Dimensions of `acqHeaders` on the wire, normally the buffer's header
   * dimensions [E1, E2, N, S, LOC]. When absent, encoders use
   * `[data.dims[1], data.dims[2], N, S, LOC]` if its product matches, else
   * `[acqHeaders.length]`. Decoders set it whenever `acqHeaders` is present.
   */
  acqHeaderDims?: number[];
  /**
   * Sampling of the k-space these images were reconstructed from: the
   * `SamplingDescription` of the encoding space's data buffer (sampling
   * limits in the array's [X, Y, Z] after readout-oversampling removal,
   * encoded FOV with x = recon FOV x for Cartesian data, recon FOV and matrix).
   * Recon gadgets (GenericReconCartesianGrappa/FFT …) must set it on the
   * arrays they emit; the partial-Fourier, k-space filter and FOV adjustment
   * gadgets read it. When absent they fall back to Gadgetron's meta[0]
   * attributes `sampling_limits_RO/E1/E2` ([min, center, max]),
   * `encoding_FOV`, `recon_FOV`, `recon_matrix` (recon gadgets should set
   * those too, with `encoding` = the encoding space index, as Gadgetron
   * does), then to full sampling. Not sent on the wire: message 1024 has no
   * field for it (Gadgetron's `IsmrmrdImageArray` carries no sampling), so a
   * decoded array never has it and workers must rely on the meta fallback.
   */
  sampling?: SamplingDescription;
}
