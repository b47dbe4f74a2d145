/**
 * What Gadgetron's generic Cartesian recon gadgets share (`GenericReconGadget`,
 * `ImageArraySendMixin`, `mri_core_utility`): calibration modes, the
 * properties of the recon gadgets, averaging of reference data over N/S, the
 * low-resolution k-space for coil maps and the maps themselves, image headers
 * and meta of the emitted image arrays, image numbering, and the SNR-unit
 * scaling of accelerated data (Kellman & McVeigh, MRM 2005;54:1439).
 *
 * Buffers are [RO, E1, E2, CHA, N, S, SLC], column-major, complex float32.
 */
import type { GadgetContext } from '../engine/gadget.js';
import type { PropertySchema } from '../engine/properties.js';
import { logicalDims, type DataBuffered, type ImageArray } from '../ismrmrd/buffers.js';
import { metaAppend, metaSet } from '../ismrmrd/meta.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import { DataType, emptyAcquisitionHeader, emptyImageHeader, ImageType, type AcquisitionHeader, type ImageHeader, type MetaContainer } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { coilMapsOfKspace } from '../kernels/coil-maps.js';
import { symmetricFilterRef } from '../kernels/filters.js';
import { DataRole, genericReconBaseProperties, MetaName } from './generic-recon-common.js';
import { addInto, copyInto, weightedCopy } from '../kernels/copy.js';
import { scaleFloats } from '../kernels/complex-ops.js';

/** Gadgetron's calibration modes (`ismrmrdCALIBMODE`). */
export type CalibrationModeName = 'noacceleration' | 'interleaved' | 'embedded' | 'separate' | 'external' | 'other';

/** The seven buffer dimensions. */
export type Dims7 = [number, number, number, number, number, number, number];

/** Properties of `GenericReconGadget` (the base of the Cartesian GRAPPA and FFT recons). */
export const genericReconGadgetProperties = {
  ...genericReconBaseProperties,
  image_series: { type: 'integer', default: 0, description: 'Image series number; encoding e is sent as image_series + e + 1' },
  coil_map_algorithm: { type: 'enum', values: ['Inati', 'Inati_Iter'], default: 'Inati', description: 'Coil map estimation method' },
  coil_map_kernel_size_readout: { type: 'integer', default: 7, min: 1, description: 'Coil map kernel size along RO (and E1)' },
  coil_map_kernel_size_phase: { type: 'integer', default: 5, min: 1, description: 'Coil map kernel size along E2 (3D)' },
  coil_map_num_iter: { type: 'integer', default: 10, min: 0, description: 'Inati_Iter iterations' },
  coil_map_thres_iter: { type: 'number', default: 1e-4, description: 'Inati_Iter stopping threshold' },
} satisfies PropertySchema;

/** Coil-map options taken from the properties. */
export interface CoilMapOptions {
  coil_map_algorithm: string;
  coil_map_kernel_size_readout: number;
  coil_map_kernel_size_phase: number;
  coil_map_num_iter: number;
  coil_map_thres_iter: number;
}

/** The buffer's seven dimensions, checked. */
export function dims7(array: ComplexArray, what: string): Dims7 {
  const d = array.dims;
  if (d.length !== 7 || d.some((v) => !Number.isInteger(v) || v < 0)) {
    throw new RangeError(`Cannot ${what}: buffer dims [${d.join(', ')}] are not [RO, E1, E2, CHA, N, S, SLC]`);
  }
  return d as Dims7;
}

/** The buffer's seven dimensions on its grid (E1 × the lattice factor for a compact buffer, DataBuffered.lattice), checked. */
export function logicalDims7(buffer: DataBuffered, what: string): Dims7 {
  return dims7({ data: buffer.data.data, dims: logicalDims(buffer) }, what);
}

/** The header that a gadget needs, or a clear error. */
export function requireHeader(context: GadgetContext, gadget: string): IsmrmrdHeader {
  if (!context.header) throw new Error(`Cannot run ${gadget} without an ISMRMRD header`);
  return context.header;
}

/** [R_E1, R_E2] of encoding space `e` (1 without parallel imaging). */
export function accelerationOf(header: IsmrmrdHeader, e: number): [number, number] {
  const a = header.encoding[e]?.parallelImaging?.accelerationFactor;
  return [Math.max(1, a?.kspace_encoding_step_1 ?? 1), Math.max(1, a?.kspace_encoding_step_2 ?? 1)];
}

/**
 * Calibration mode of encoding space `e`: noacceleration unless R_E1 > 1 or
 * R_E2 > 1, then the header's calibrationMode (noacceleration when absent, as in Gadgetron).
 */
export function calibrationModeOf(header: IsmrmrdHeader, e: number): CalibrationModeName {
  const [r1, r2] = accelerationOf(header, e);
  if (r1 <= 1 && r2 <= 1) return 'noacceleration';
  return header.encoding[e]?.parallelImaging?.calibrationMode ?? 'noacceleration';
}

/** Offset of block (n, s, slc) in complex elements. */
function blockOffset(d: Dims7, n: number, s: number, slc: number): number {
  return d[0] * d[1] * d[2] * d[3] * (n + d[4] * (s + d[5] * slc));
}

/** True when readout (e1, e2, n, s, slc) of channel 0 has a non-zero sum: Gadgetron's `detect_readout_sampling_status`. */
function readoutSampled(a: ComplexArray, d: Dims7, e1: number, e2: number, n: number, s: number, slc: number): boolean {
  const base = 2 * (blockOffset(d, n, s, slc) + d[0] * (e1 + d[1] * e2));
  let re = 0;
  let im = 0;
  for (let ro = 0; ro < d[0]; ro++) {
    re += a.data[base + 2 * ro] as number;
    im += a.data[base + 2 * ro + 1] as number;
  }
  return re !== 0 || im !== 0;
}

/**
 * Averages reference data over N and/or S (`compute_averaged_data_N_S`):
 * mean over N (or, with `countSamplingFreq`, the sum over N divided per
 * (e1, e2) by the number of n where that readout was sampled, the count
 * carrying over from one s to the next as in Gadgetron), then mean over S.
 */
export function averageOverNS(src: ComplexArray, averageN: boolean, averageS: boolean, countSamplingFreq: boolean): ComplexArray {
  const d = dims7(src, 'average reference data');
  const [RO, E1, E2, CHA, N, S, SLC] = d;
  let res = src;
  if (averageN && N > 1) {
    const rd: Dims7 = [RO, E1, E2, CHA, 1, S, SLC];
    const out = new Float32Array(2 * RO * E1 * E2 * CHA * S * SLC);
    const block = RO * E1 * E2 * CHA;
    for (let slc = 0; slc < SLC; slc++) {
      for (let s = 0; s < S; s++) {
        const dst = 2 * blockOffset(rd, 0, s, slc);
        for (let n = 0; n < N; n++) {
          const from = 2 * blockOffset(d, n, s, slc);
          addInto(out, dst, src.data, from, 2 * block);
        }
      }
    }
    if (countSamplingFreq) {
      for (let slc = 0; slc < SLC; slc++) {
        for (let e2 = 0; e2 < E2; e2++) {
          for (let e1 = 0; e1 < E1; e1++) {
            let freq = 0;
            for (let s = 0; s < S; s++) {
              for (let n = 0; n < N; n++) if (readoutSampled(src, d, e1, e2, n, s, slc)) freq += 1;
              if (freq > 1) {
                const r = Math.fround(1 / freq);
                for (let cha = 0; cha < CHA; cha++) {
                  const base = 2 * (blockOffset(rd, 0, s, slc) + RO * (e1 + E1 * (e2 + E2 * cha)));
                  const line = out.subarray(base, base + 2 * RO);
                  scaleFloats(line, r, line);
                }
              }
            }
          }
        }
      }
    } else {
      scaleFloats(out, Math.fround(1 / N), out);
    }
    res = { data: out, dims: rd };
  }
  if (averageS && S > 1) {
    const rd0 = dims7(res, 'average reference data');
    const rd: Dims7 = [RO, E1, E2, CHA, rd0[4], 1, SLC];
    const out = new Float32Array(2 * RO * E1 * E2 * CHA * rd0[4] * SLC);
    const blockN = RO * E1 * E2 * CHA * rd0[4];
    for (let slc = 0; slc < SLC; slc++) {
      for (let s = 0; s < S; s++) {
        const from = 2 * blockN * (s + S * slc);
        const to = 2 * blockN * slc;
        for (let i = 0; i < 2 * blockN; i++) out[to + i] = (out[to + i] as number) + (res.data[from + i] as number);
      }
    }
    const r = Math.fround(1 / S);
    for (let i = 0; i < out.length; i++) out[i] = (out[i] as number) * r;
    res = { data: out, dims: rd };
  }
  return res;
}

/** Picks one n and/or one s of a buffer (`select_data_N_S`). */
export function selectNS(src: ComplexArray, n: number | undefined, s: number | undefined): ComplexArray {
  const d = dims7(src, 'select reference data');
  const [RO, E1, E2, CHA, N, S, SLC] = d;
  if (n !== undefined && (n < 0 || n >= N)) throw new RangeError(`Cannot select n = ${n} of ${N}`);
  if (s !== undefined && (s < 0 || s >= S)) throw new RangeError(`Cannot select s = ${s} of ${S}`);
  const ns = n === undefined ? N : 1;
  const ss = s === undefined ? S : 1;
  const rd: Dims7 = [RO, E1, E2, CHA, ns, ss, SLC];
  const block = RO * E1 * E2 * CHA;
  const out = new Float32Array(2 * block * ns * ss * SLC);
  for (let slc = 0; slc < SLC; slc++) {
    for (let si = 0; si < ss; si++) {
      for (let ni = 0; ni < ns; ni++) {
        const from = 2 * blockOffset(d, n ?? ni, s ?? si, slc);
        copyInto(out, src.data.subarray(from, from + 2 * block), 2 * blockOffset(rd, ni, si, slc));
      }
    }
  }
  return { data: out, dims: rd };
}

/**
 * [first, last] E1 (axis 1) or E2 (axis 2) index where any readout of
 * channel 0 is non-zero (Σ_ro |·| > 0) over all n, s, slc; undefined if none.
 */
export function detectSampledRange(a: ComplexArray, axis: 1 | 2): [number, number] | undefined {
  const d = dims7(a, 'detect the sampled region');
  const [RO, E1, E2, , N, S, SLC] = d;
  let first = Infinity;
  let last = -Infinity;
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        for (let e2 = 0; e2 < E2; e2++) {
          for (let e1 = 0; e1 < E1; e1++) {
            const i = axis === 1 ? e1 : e2;
            if (i >= first && i <= last) continue; // inside the range found so far: this line cannot widen it
            const base = 2 * (blockOffset(d, n, s, slc) + RO * (e1 + E1 * e2));
            // Σ_ro |x| > 0 without the square roots: some sample non-zero and none NaN (a NaN makes the sum NaN).
            let nonZero = false;
            let nan = false;
            for (let i = base; i < base + 2 * RO; i++) {
              const v = a.data[i] as number;
              if (v !== 0) {
                if (v !== v) {
                  nan = true;
                  break;
                }
                nonZero = true;
              }
            }
            if (nonZero && !nan) {
              if (i < first) first = i;
              if (i > last) last = i;
            }
          }
        }
      }
    }
  }
  return Number.isFinite(first) ? [first, last] : undefined;
}

/** Copies the box [o0, o0 + n0) × [o1, o1 + n1) × [o2, o2 + n2) of every channel/N/S/SLC of `a` (Gadgetron `crop`). */
export function cropBuffer(a: ComplexArray, offset: [number, number, number], size: [number, number, number]): ComplexArray {
  const d = dims7(a, 'crop a buffer');
  const [RO, E1, E2, CHA, N, S, SLC] = d;
  const [o0, o1, o2] = offset;
  const [n0, n1, n2] = size;
  if (o0 < 0 || o1 < 0 || o2 < 0 || o0 + n0 > RO || o1 + n1 > E1 || o2 + n2 > E2 || n0 < 1 || n1 < 1 || n2 < 1) {
    throw new RangeError(`Cannot crop [${n0}, ${n1}, ${n2}] at [${o0}, ${o1}, ${o2}] from a buffer of [${RO}, ${E1}, ${E2}]`);
  }
  const rd: Dims7 = [n0, n1, n2, CHA, N, S, SLC];
  const out = new Float32Array(2 * n0 * n1 * n2 * CHA * N * S * SLC);
  const outer = CHA * N * S * SLC;
  for (let k = 0; k < outer; k++) {
    for (let z = 0; z < n2; z++) {
      for (let y = 0; y < n1; y++) {
        const from = 2 * (o0 + RO * (o1 + y + E1 * (o2 + z + E2 * k)));
        copyInto(out, a.data.subarray(from, from + 2 * n0), 2 * n0 * (y + n1 * (z + n2 * k)));
      }
    }
  }
  return { data: out, dims: rd };
}

/**
 * The low-resolution k-space for coil maps (`make_ref_coil_map`): the
 * reference lines centred on the sampling-limit centre, RO samples placed at
 * their sampled position, a separable Hanning (`generate_symmetric_filter_ref`)
 * applied, and zero-padded (centre to centre) to `recon` = [RO, E1, E2] of
 * the data. In interleaved / noacceleration mode only the region symmetric
 * about the centre, 2·min(c − start, end − c + 1) − 1 lines, is used.
 */
export function makeRefCoilMapKspace(ref: DataBuffered, recon: readonly [number, number, number], mode: CalibrationModeName): ComplexArray {
  const d = dims7(ref.data, 'prepare the coil-map reference');
  const [refRO, refE1, refE2, CHA, N, S, SLC] = d;
  const [l0, l1, l2] = ref.sampling.sampling_limits;
  const [reconRO, reconE1, reconE2] = recon;
  const sRO = l0.min;
  const eRO = l0.max;
  const cRO = l0.center;
  let RO = 2 * cRO;
  if (sRO > 0 || eRO < RO - 1) RO = Math.min(2 * Math.max(cRO - sRO, eRO - cRO + 1), reconRO);
  RO = Math.max(1, Math.min(RO, reconRO));
  let E1 = l1.max - l1.min + 1;
  let E2 = l2.max - l2.min + 1;
  if (mode === 'interleaved' || mode === 'noacceleration') {
    E1 = Math.min(2 * Math.min(l1.center - l1.min, l1.max - l1.center + 1) - 1, reconE1);
    if (E2 > 1) E2 = Math.min(2 * Math.min(l2.center - l2.min, l2.max - l2.center + 1) - 1, reconE2);
  }
  E1 = Math.max(1, Math.min(E1, reconE1));
  E2 = Math.max(1, Math.min(E2, reconE2));
  const sE1 = l1.center - Math.floor(E1 / 2);
  const sE2 = l2.center - Math.floor(E2 / 2);
  const len = Math.min(eRO - sRO + 1, refRO, RO - sRO);
  const small: Dims7 = [RO, E1, E2, CHA, N, S, SLC];
  const lowRes = new Float32Array(2 * RO * E1 * E2 * CHA * N * S * SLC);
  const fRO = symmetricFilterRef(RO, Math.max(0, sRO), Math.min(eRO, RO - 1));
  const fE1 = symmetricFilterRef(E1, 0, E1 - 1);
  const fE2 = E2 > 1 ? symmetricFilterRef(E2, 0, E2 - 1) : Float64Array.of(1);
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        for (let cha = 0; cha < CHA; cha++) {
          for (let z = 0; z < E2; z++) {
            const e2 = sE2 + z;
            if (e2 < 0 || e2 >= refE2) continue;
            for (let y = 0; y < E1; y++) {
              const e1 = sE1 + y;
              if (e1 < 0 || e1 >= refE1) continue;
              const w = (fE1[y] as number) * (fE2[z] as number);
              const from = 2 * (blockOffset(d, n, s, slc) + refRO * (e1 + refE1 * (e2 + refE2 * cha)));
              const to = 2 * (blockOffset(small, n, s, slc) + RO * (y + E1 * (z + E2 * cha)));
              weightedCopy(lowRes, to + 2 * sRO, ref.data.data, from, len, w, fRO, sRO);
            }
          }
        }
      }
    }
  }
  return padBuffer({ data: lowRes, dims: small }, recon);
}

/** Centred zero padding of [RO, E1, E2] (offset ⌊out/2⌋ − ⌊in/2⌋ per axis) of every block. */
export function padBuffer(a: ComplexArray, size: readonly [number, number, number]): ComplexArray {
  const d = dims7(a, 'pad a buffer');
  const [RO, E1, E2, CHA, N, S, SLC] = d;
  const [P0, P1, P2] = size;
  if (RO > P0 || E1 > P1 || E2 > P2) throw new RangeError(`Cannot pad [${RO}, ${E1}, ${E2}] to [${P0}, ${P1}, ${P2}]`);
  const o0 = (P0 >> 1) - (RO >> 1);
  const o1 = (P1 >> 1) - (E1 >> 1);
  const o2 = (P2 >> 1) - (E2 >> 1);
  const out = new Float32Array(2 * P0 * P1 * P2 * CHA * N * S * SLC);
  const outer = CHA * N * S * SLC;
  for (let k = 0; k < outer; k++) {
    for (let z = 0; z < E2; z++) {
      for (let y = 0; y < E1; y++) {
        const from = 2 * RO * (y + E1 * (z + E2 * k));
        copyInto(out, a.data.subarray(from, from + 2 * RO), 2 * (o0 + P0 * (o1 + y + P1 * (o2 + z + P2 * k))));
      }
    }
  }
  return { data: out, dims: [P0, P1, P2, CHA, N, S, SLC] };
}

/** Keeps the first `channels` channels of every block. */
export function firstChannels(a: ComplexArray, channels: number): ComplexArray {
  const d = dims7(a, 'select channels');
  const [RO, E1, E2, CHA, N, S, SLC] = d;
  if (channels >= CHA) return a;
  const vol = RO * E1 * E2;
  const out = new Float32Array(2 * vol * channels * N * S * SLC);
  for (let b = 0; b < N * S * SLC; b++) {
    copyInto(out, a.data.subarray(2 * vol * CHA * b, 2 * vol * (CHA * b + channels)), 2 * vol * channels * b);
  }
  return { data: out, dims: [RO, E1, E2, channels, N, S, SLC] };
}

/**
 * Coil maps of low-resolution k-space [RO, E1, E2, CHA, N, S, SLC]: a
 * centred inverse FFT (2D, or 3D when E2 > 1), then Inati (power 3) or
 * Inati_Iter per (n, s, slc). Same dims as the input.
 */
export function estimateCoilMaps(kspace: ComplexArray, options: CoilMapOptions): ComplexArray {
  const d = dims7(kspace, 'estimate coil maps');
  const [RO, E1, E2, CHA, N, S, SLC] = d;
  const block = RO * E1 * E2 * CHA;
  const out = new Float32Array(kspace.data.length);
  for (let b = 0; b < N * S * SLC; b++) {
    estimateCoilMapsBlock(kspace.data.subarray(2 * block * b, 2 * block * (b + 1)), [RO, E1, E2, CHA], options, out.subarray(2 * block * b, 2 * block * (b + 1)));
  }
  return { data: out, dims: d.slice() };
}

/** {@link estimateCoilMaps} of one block: low-resolution k-space [RO, E1, E2, CHA] → maps in `dst` (same size). */
export function estimateCoilMapsBlock(kspace: Float32Array, dims: readonly [number, number, number, number], options: CoilMapOptions, dst: Float32Array): Float32Array {
  return coilMapsOfKspace(kspace, dims, options, dst);
}

/**
 * Effective acceleration and SNR scaling ratio (`compute_snr_scaling_factor`):
 * R_eff = S·N·E1·E2 / #{(e1, e2, n, s) : data(⌊RO/2⌋, e1, e2, 0, n, 0, 0) ≠ 0}
 * (Gadgetron counts s = 0 for every s), ratio = √(RO/lenRO · R_eff) with lenRO
 * the RO sampling range when it lies inside and is shorter than RO.
 */
export function snrScaling(buffer: DataBuffered): { effectiveAcceleration: number; ratio: number } {
  const d = dims7(buffer.data, 'compute the SNR scaling');
  const [RO, E1, E2, , N, S] = d;
  let lines = 0;
  const c = RO >> 1;
  for (let s = 0; s < S; s++) {
    for (let n = 0; n < N; n++) {
      for (let e2 = 0; e2 < E2; e2++) {
        for (let e1 = 0; e1 < E1; e1++) {
          const i = 2 * (blockOffset(d, n, 0, 0) + c + RO * (e1 + E1 * e2));
          if ((buffer.data.data[i] as number) !== 0 || (buffer.data.data[i + 1] as number) !== 0) lines++;
        }
      }
    }
  }
  if (lines === 0) return { effectiveAcceleration: 1, ratio: 1 };
  let lenRO = RO;
  const { min, max } = buffer.sampling.sampling_limits[0];
  if (min < RO && max < RO && max - min + 1 < RO) lenRO = max - min + 1;
  // A compact buffer (DataBuffered.lattice) stores E1 / factor lines of the grid's E1.
  const effectiveAcceleration = Math.fround((S * N * E1 * (buffer.lattice?.factor ?? 1) * E2) / lines);
  const ratio = Math.fround(Math.sqrt(Math.fround(RO / lenRO) * effectiveAcceleration));
  return { effectiveAcceleration, ratio };
}

/** Matrix offset of the E1 (E2) encoding centre: ⌊matrix/2⌋ − limit centre (0 without a limit, or E2 without partitions). */
function matrixOffsets(header: IsmrmrdHeader, e: number): [number, number] {
  const enc = header.encoding[e];
  if (!enc) return [0, 0];
  const cartesian = enc.trajectory === 'cartesian' || enc.trajectory === 'epi';
  if (!cartesian) return [0, 0];
  const l1 = enc.encodingLimits.kspace_encoding_step_1;
  const l2 = enc.encodingLimits.kspace_encoding_step_2;
  const o1 = l1 ? Math.floor(enc.encodedSpace.matrixSize.y / 2) - l1.center : 0;
  const o2 = l2 && enc.encodedSpace.matrixSize.z > 1 ? Math.floor(enc.encodedSpace.matrixSize.z / 2) - l2.center : 0;
  return [o1, o2];
}

/** The acquisition header closest to the k-space centre of block (n, s, slc), as `compute_image_header` picks it. */
function centreAcquisition(buffer: DataBuffered, header: IsmrmrdHeader, e: number, E1: number, E2: number, n: number, s: number, slc: number): AcquisitionHeader {
  const [HE1, HE2, HN, HS] = buffer.headerDims as [number, number, number, number, number];
  const [o1, o2] = matrixOffsets(header, e);
  let bestE1 = E1 + 1;
  let bestE2 = E2 + 1;
  let best: AcquisitionHeader | undefined;
  for (let e2 = 0; e2 < HE2; e2++) {
    for (let e1 = 0; e1 < HE1; e1++) {
      const h = buffer.headers[e1 + HE1 * (e2 + HE2 * (n + HN * (s + HS * slc)))];
      if (!h) continue;
      const d1 = Math.abs(h.idx.kspace_encode_step_1 + o1 - Math.floor(E1 / 2));
      if (E2 > 1) {
        const d2 = Math.abs(h.idx.kspace_encode_step_2 + o2 - Math.floor(E2 / 2));
        if (d1 < bestE1 && d2 < bestE2) {
          bestE1 = d1;
          bestE2 = d2;
          best = h;
        }
      } else if (d1 < bestE1) {
        bestE1 = d1;
        best = h;
      }
    }
  }
  return best ?? emptyAcquisitionHeader();
}

/**
 * Image headers and meta of a recon result [RO, E1, E2, CHA, N, S, SLC]
 * (`compute_image_header`): per (n, s, slc) the header of the readout
 * closest to the k-space centre, FOV = recon FOV, image_index
 * n + s·N + slc·N·S, and the geometry meta (encoding, encoding_FOV,
 * recon_FOV, encoded_matrix, recon_matrix, sampling_limits_RO/E1/E2 as
 * [min, center, max], PatientPosition, read/phase/slice_dir,
 * patient_table_position, acquisition and physiology time stamps).
 */
export function makeImageArray(pixels: ComplexArray, buffer: DataBuffered, header: IsmrmrdHeader, e: number): ImageArray {
  const [RO, E1, E2, CHA, N, S, SLC] = dims7(pixels, 'make an image array');
  const [, , HN, HS, HSLC] = buffer.headerDims as [number, number, number, number, number];
  if (HN !== N || HS !== S || HSLC !== SLC) {
    throw new RangeError(`Cannot make image headers: the buffer has headers for [N ${HN}, S ${HS}, SLC ${HSLC}], the images are [N ${N}, S ${S}, SLC ${SLC}]`);
  }
  const headers: ImageHeader[] = [];
  const meta: MetaContainer[] = [];
  const sampling = buffer.sampling;
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const acq = centreAcquisition(buffer, header, e, E1, E2, n, s, slc);
        const h = emptyImageHeader();
        h.version = acq.version;
        h.data_type = DataType.CXFLOAT;
        h.flags = acq.flags;
        h.measurement_uid = acq.measurement_uid;
        h.matrix_size = [RO, E1, E2];
        h.field_of_view = [...sampling.recon_FOV];
        h.channels = CHA;
        h.position = [...acq.position];
        h.read_dir = [...acq.read_dir];
        h.phase_dir = [...acq.phase_dir];
        h.slice_dir = [...acq.slice_dir];
        h.patient_table_position = [...acq.patient_table_position];
        h.average = acq.idx.average;
        h.slice = acq.idx.slice;
        h.contrast = acq.idx.contrast;
        h.phase = acq.idx.phase;
        h.repetition = acq.idx.repetition;
        h.set = acq.idx.set;
        h.acquisition_time_stamp = acq.acquisition_time_stamp;
        h.physiology_time_stamp = [...acq.physiology_time_stamp];
        h.image_type = ImageType.MAGNITUDE;
        h.image_index = (n + s * N + slc * N * S) & 0xffff;
        h.image_series_index = 0;
        h.user_int = [...acq.user_int];
        h.user_float = [...acq.user_float];
        h.attribute_string_len = 0;
        headers.push(h);
        const m: MetaContainer = new Map();
        const l = sampling.sampling_limits;
        metaSet(m, MetaName.encoding, e);
        metaSet(m, 'encoding_FOV', [...sampling.encoded_FOV]);
        metaSet(m, 'recon_FOV', [...sampling.recon_FOV]);
        metaSet(m, 'encoded_matrix', sampling.encoded_matrix.map((v) => Math.trunc(v)));
        metaSet(m, 'recon_matrix', sampling.recon_matrix.map((v) => Math.trunc(v)));
        metaSet(m, 'sampling_limits_RO', [l[0].min, l[0].center, l[0].max]);
        metaSet(m, 'sampling_limits_E1', [l[1].min, l[1].center, l[1].max]);
        metaSet(m, 'sampling_limits_E2', [l[2].min, l[2].center, l[2].max]);
        metaSet(m, 'PatientPosition', [...h.position]);
        metaSet(m, 'read_dir', [...h.read_dir]);
        metaSet(m, 'phase_dir', [...h.phase_dir]);
        metaSet(m, 'slice_dir', [...h.slice_dir]);
        metaSet(m, 'patient_table_position', [...h.patient_table_position]);
        metaSet(m, 'acquisition_time_stamp', Math.trunc(h.acquisition_time_stamp));
        metaSet(m, 'physiology_time_stamp', h.physiology_time_stamp.map((v) => Math.trunc(v)));
        meta.push(m);
      }
    }
  }
  return { kind: 'imagearray', data: pixels, headers, meta, sampling };
}

/**
 * Image number (`compute_image_number`): average·REP·SET·PHS·CON·SLC·E2·CHA
 * + repetition·SET·PHS·CON·SLC·E2·CHA + set·PHS·CON·SLC·E2·CHA
 * + phase·CON·SLC·E2·CHA + contrast·SLC·E2·CHA + slice·E2·CHA + cha + 1,
 * with the counts from the encoding limits of encoding `e`.
 */
export function imageNumber(h: ImageHeader, header: IsmrmrdHeader, e: number, CHA = 1, cha = 0, E2 = 1): number {
  const enc = header.encoding[e] ?? header.encoding[0];
  const lim = enc?.encodingLimits;
  const pos = (name: 'set' | 'phase' | 'contrast' | 'slice'): number => {
    const l = lim?.[name];
    return l && l.maximum > 0 ? l.maximum : 0;
  };
  const SET = pos('set') + 1;
  const PHS = pos('phase') + 1;
  const CON = pos('contrast') + 1;
  const SLC = pos('slice') + 1;
  const REP = (lim?.repetition?.maximum ?? 0) + 1;
  const z = E2 === 0 ? 1 : E2;
  return (
    h.average * REP * SET * PHS * CON * SLC * z * CHA +
    h.repetition * SET * PHS * CON * SLC * z * CHA +
    h.set * PHS * CON * SLC * z * CHA +
    h.phase * CON * SLC * z * CHA +
    h.contrast * SLC * z * CHA +
    h.slice * z * CHA +
    cha +
    1
  );
}

/** Data roles the recon gadgets send. */
export type SendRole = typeof DataRole.image | typeof DataRole.gfactor | typeof DataRole.snrMap;

/**
 * Prepares an array for sending (`prepare_image_array` /
 * `prep_image_header_send_out`): image_index from {@link imageNumber},
 * image_series_index = `series`, meta GADGETRON_ImageNumber,
 * GADGETRON_ImageProcessingHistory = GT, and per role the comment, sequence
 * description and GADGETRON_DataRole (g-factor maps also get
 * Skip_processing_after_recon = 1). Modifies `array` and returns it.
 */
export function prepareImageArray(array: ImageArray, header: IsmrmrdHeader, e: number, series: number, role: SendRole): ImageArray {
  const [, , E2, CHA, N, S, SLC] = dims7(array.data, 'send an image array');
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const i = n + N * (s + S * slc);
        const h = array.headers[i];
        const m = array.meta[i];
        if (!h || !m) throw new RangeError(`Cannot send an image array: no header or meta for image ${i}`);
        h.image_index = imageNumber(h, header, e, CHA, 0, E2) & 0xffff;
        h.image_series_index = series & 0xffff;
        metaSet(m, 'GADGETRON_ImageNumber', h.image_index);
        metaSet(m, 'GADGETRON_ImageProcessingHistory', 'GT');
        h.image_type = ImageType.MAGNITUDE;
        if (role === DataRole.image) {
          metaAppend(m, MetaName.imageComment, 'GT');
          metaAppend(m, MetaName.sequenceDescription, '_GT');
        } else {
          metaAppend(m, MetaName.imageComment, role);
          metaAppend(m, MetaName.sequenceDescription, role);
        }
        metaSet(m, MetaName.dataRole, role);
        if (role === DataRole.gfactor) metaSet(m, MetaName.skipProcessingAfterRecon, 1);
      }
    }
  }
  return array;
}

/** A copy of an array's headers and meta with new pixels (`dims` [RO, E1, E2, CHA, N, S, SLC]). */
export function withPixels(array: ImageArray, pixels: ComplexArray): ImageArray {
  const [, , , , N, S, SLC] = dims7(pixels, 'copy an image array');
  const [, , , , AN, AS] = array.data.dims as Dims7;
  const headers: ImageHeader[] = [];
  const meta: MetaContainer[] = [];
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const i = Math.min(n, AN - 1) + AN * (Math.min(s, AS - 1) + AS * slc);
        const h = array.headers[i];
        const m = array.meta[i];
        if (!h || !m) throw new RangeError(`Cannot copy an image array: no header for image ${i}`);
        headers.push({ ...h, matrix_size: [...h.matrix_size], field_of_view: [...h.field_of_view] });
        meta.push(new Map([...m].map(([k, v]) => [k, v.slice()])));
      }
    }
  }
  const out: ImageArray = { kind: 'imagearray', data: pixels, headers, meta };
  if (array.sampling) out.sampling = array.sampling;
  return out;
}

/** Runs `fn`, logging its duration when `perform_timing` is set. */
export function timed<T>(context: GadgetContext, enabled: boolean, what: string, fn: () => T): T {
  if (!enabled) return fn();
  const start = performance.now();
  try {
    return fn();
  } finally {
    context.log.info(`${what}: ${(performance.now() - start).toFixed(1)} ms`);
  }
}
