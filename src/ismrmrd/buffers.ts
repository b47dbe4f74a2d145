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
