/**
 * Test-only recon buffers for the generic Cartesian recon gadgets: a
 * noise-free, real positive object seen by birdcage coils, sampled on a
 * Cartesian grid with acceleration in E1 (and E2) and an ACS block, with the
 * ground truth |ρ|·‖c‖ and c/‖c‖. Nothing in the server imports it.
 */
import type { DataBuffered, ReconData, SamplingDescription, SamplingLimit } from '../ismrmrd/buffers.js';
import { emptyAcquisitionHeader, type AcquisitionHeader } from '../ismrmrd/types.js';
import type { CalibrationMode, IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { birdcageCoilMaps, coilImages, ellipseObject, normaliseMaps, toKspace } from '../kernels/testing.js';
import { makeHeader } from './testing.js';
import type { GrappaReconOptions } from './generic-recon-cartesian-grappa.js';

/** Description of a synthetic scan. */
export interface ScanSpec {
  RO: number;
  E1: number;
  E2?: number;
  CHA: number;
  R1?: number;
  R2?: number;
  /** ACS lines (E1) and partitions (E2), centred; 0 for none. */
  acsE1?: number;
  acsE2?: number;
  mode?: CalibrationMode;
  /** Number of N (repetitions of the same k-space, each its own n). */
  N?: number;
  /** Plane of the coil ring (default RO/E1; E1/E2 gives coil variation along E2 for 3D acceleration). */
  ring?: 'ROE1' | 'E1E2';
}

/** A synthetic scan: header, buffers and truth. */
export interface Scan {
  header: IsmrmrdHeader;
  /** Fully sampled k-space [RO, E1, E2, CHA]. */
  kspace: Float32Array;
  /** |ρ|·‖c‖ per pixel [RO, E1, E2] (real). */
  truth: Float64Array;
  /** c/‖c‖ [RO, E1, E2, CHA]. */
  maps: Float32Array;
  /** The object ρ (real part) [RO, E1, E2]. */
  object: Float32Array;
  /** Number of sampled (e1, e2) positions in the data. */
  sampledLines: number;
  /** Data buffer (lines on the acceleration grid). */
  data: DataBuffered;
  /** Reference buffer (the ACS block, full-size, centred), when acsE1 > 0. */
  ref?: DataBuffered;
}

function limit(min: number, max: number, center: number): SamplingLimit {
  return { min, max, center };
}

/** A full-size buffer [RO, E1, E2, CHA, N, 1, 1] holding the positions where `keep(e1, e2)`, with their headers. */
export function bufferOf(kspace: Float32Array, spec: ScanSpec, keep: (e1: number, e2: number) => boolean, sampling: SamplingDescription): DataBuffered {
  const { RO, E1, CHA } = spec;
  const E2 = spec.E2 ?? 1;
  const N = spec.N ?? 1;
  const vol = RO * E1 * E2;
  const data = new Float32Array(2 * vol * CHA * N);
  const headers: (AcquisitionHeader | undefined)[] = new Array(E1 * E2 * N).fill(undefined);
  for (let n = 0; n < N; n++) {
    for (let e2 = 0; e2 < E2; e2++) {
      for (let e1 = 0; e1 < E1; e1++) {
        if (!keep(e1, e2)) continue;
        for (let c = 0; c < CHA; c++) {
          const from = 2 * RO * (e1 + E1 * (e2 + E2 * c));
          data.set(kspace.subarray(from, from + 2 * RO), 2 * (vol * (c + CHA * n) + RO * (e1 + E1 * e2)));
        }
        const h = emptyAcquisitionHeader();
        h.number_of_samples = RO;
        h.active_channels = CHA;
        h.available_channels = CHA;
        h.center_sample = RO >> 1;
        h.idx.kspace_encode_step_1 = e1;
        h.idx.kspace_encode_step_2 = e2;
        h.idx.repetition = n;
        h.position = [1.5, -2.25, 3];
        h.read_dir = [1, 0, 0];
        h.phase_dir = [0, 1, 0];
        h.slice_dir = [0, 0, 1];
        h.acquisition_time_stamp = 1000 + e1;
        headers[e1 + E1 * (e2 + E2 * n)] = h;
      }
    }
  }
  return { data: { data, dims: [RO, E1, E2, CHA, N, 1, 1] }, headers, headerDims: [E1, E2, N, 1, 1], sampling };
}

/** Builds a synthetic scan (see {@link ScanSpec}). */
export function makeScan(spec: ScanSpec): Scan {
  const { RO, E1, CHA } = spec;
  const E2 = spec.E2 ?? 1;
  const R1 = spec.R1 ?? 1;
  const R2 = spec.R2 ?? 1;
  const acsE1 = spec.acsE1 ?? 0;
  const acsE2 = spec.acsE2 ?? (E2 > 1 ? E2 : 1);
  const vol = RO * E1 * E2;
  const coil = birdcageCoilMaps(RO, E1, E2, CHA, spec.ring ?? 'ROE1');
  const object = ellipseObject(RO, E1, E2);
  const kspace = toKspace(coilImages(object, coil, vol, CHA), [RO, E1, E2, CHA]);
  const truth = new Float64Array(vol);
  for (let p = 0; p < vol; p++) {
    let s = 0;
    for (let c = 0; c < CHA; c++) s += (coil[2 * (p + vol * c)] as number) ** 2 + (coil[2 * (p + vol * c) + 1] as number) ** 2;
    truth[p] = Math.abs(object[2 * p] as number) * Math.sqrt(s);
  }
  const accelerated = R1 > 1 || R2 > 1;
  const header = makeHeader({
    encodedMatrix: [RO, E1, E2],
    encodedFov: [RO * 2, E1 * 2, Math.max(E2 * 2, 5)],
    limits: {
      kspace_encoding_step_1: [0, E1 - 1, E1 >> 1],
      ...(E2 > 1 ? { kspace_encoding_step_2: [0, E2 - 1, E2 >> 1] as const } : {}),
      repetition: [0, (spec.N ?? 1) - 1, 0],
    },
    ...(accelerated ? { parallelImaging: { accelerationE1: R1, accelerationE2: R2, calibrationMode: spec.mode ?? 'embedded' } } : {}),
    receiverChannels: CHA,
  });
  const onGrid = (e1: number, e2: number): boolean => (e1 - (E1 >> 1)) % R1 === 0 && (e2 - (E2 >> 1)) % R2 === 0;
  const a1 = (E1 >> 1) - (acsE1 >> 1);
  const a2 = E2 > 1 ? (E2 >> 1) - (acsE2 >> 1) : 0;
  const inAcs = (e1: number, e2: number): boolean => e1 >= a1 && e1 < a1 + acsE1 && e2 >= a2 && e2 < a2 + acsE2;
  const sampling = (l1: SamplingLimit, l2: SamplingLimit): SamplingDescription => ({
    encoded_FOV: [RO * 2, E1 * 2, Math.max(E2 * 2, 5)],
    recon_FOV: [RO * 2, E1 * 2, Math.max(E2 * 2, 5)],
    encoded_matrix: [RO, E1, E2],
    recon_matrix: [RO, E1, E2],
    sampling_limits: [limit(0, RO - 1, RO >> 1), l1, l2],
  });
  const data = bufferOf(kspace, spec, onGrid, sampling(limit(0, E1 - 1, E1 >> 1), limit(0, E2 - 1, E2 >> 1)));
  let sampledLines = 0;
  for (let e2 = 0; e2 < E2; e2++) for (let e1 = 0; e1 < E1; e1++) if (onGrid(e1, e2)) sampledLines++;
  const scan: Scan = { header, kspace, truth, maps: normaliseMaps(coil, vol, CHA), object, sampledLines, data };
  if (acsE1 > 0) {
    scan.ref = bufferOf(kspace, spec, inAcs, sampling(limit(a1, a1 + acsE1 - 1, E1 >> 1), E2 > 1 ? limit(a2, a2 + acsE2 - 1, E2 >> 1) : limit(0, 0, 0)));
  }
  return scan;
}

/** The scan as one recon buffer. */
export function reconDataOf(scan: Scan): ReconData {
  return { kind: 'recondata', rbit: [scan.ref ? { data: scan.data, ref: scan.ref } : { data: scan.data }] };
}

/** NRMSE of |image|/scale against the truth over pixels where truth > 0 (or all with `all`). */
export function nrmseToTruth(image: Float32Array, truth: Float64Array, scale: number, all = false): number {
  let num = 0;
  let den = 0;
  for (let p = 0; p < truth.length; p++) {
    const t = truth[p] as number;
    if (!all && !(t > 0)) continue;
    const v = Math.hypot(image[2 * p] as number, image[2 * p + 1] as number) / scale;
    num += (v - t) ** 2;
    den += t * t;
  }
  return Math.sqrt(num / den);
}

/** GRAPPA recon options of the Generic_Cartesian_Grappa configs, with g-factor and SNR maps, for tests. */
export const GRAPPA_TEST_OPTIONS: GrappaReconOptions = {
  image_series: 0, send_out_gfactor: true, send_out_snr_map: true, grappa_kSize_RO: 5, grappa_kSize_E1: 4, grappa_kSize_E2: 4,
  grappa_reg_lamda: 5e-4, grappa_calib_over_determine_ratio: 45, downstream_coil_compression: true, downstream_coil_compression_thres: 0.002,
  downstream_coil_compression_num_modesKept: 0, coil_map_algorithm: 'Inati', coil_map_kernel_size_readout: 7, coil_map_kernel_size_phase: 5,
  coil_map_num_iter: 10, coil_map_thres_iter: 1e-4, perform_timing: false, verbose: false,
};
