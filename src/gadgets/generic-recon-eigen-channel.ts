/**
 * GenericReconEigenChannelGadget: upstream coil compression. KLT
 * coefficients (eigen-channels of the channel covariance, means removed;
 * Huang et al., MRI 2008;26:133) are computed from the reference buffer (or
 * the data when there is none), averaged over N/S as asked, per slice and per
 * n/s that are not averaged; the number of modes is chosen on (slc, s, n) =
 * (0, 0, 0) — `upstream_coil_compression_num_modesKept` > 0 keeps that many,
 * else `upstream_coil_compression_thres` > 0 keeps modes down to
 * thres·E_0, else all — and reused for the others. Data and reference are
 * rotated into the kept eigen-channels (no mean removal). Coefficients are
 * computed on the first buffer and whenever the SLC/S/N sizes change, or for
 * every buffer with `update_eigen_channel_coefficients`. As in Gadgetron,
 * `upstream_coil_compression` itself is not consulted.
 */
import { defineGadget } from '../engine/gadget.js';
import type { DataBuffered, ReconBit, ReconData } from '../ismrmrd/buffers.js';
import { isReconData } from '../ismrmrd/messages.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { CMatrix } from '../kernels/dense.js';
import { applyChannelRotation, kltCoefficients, kltModesKept } from '../kernels/klt.js';
import { genericReconBaseProperties } from './generic-recon-common.js';
import { averageOverNS, calibrationModeOf, dims7, requireHeader, timed } from './generic-recon-base.js';

/** Options of {@link EigenChannelCompressor} (the gadget's properties). */
export interface EigenChannelOptions {
  average_all_ref_N: boolean;
  average_all_ref_S: boolean;
  update_eigen_channel_coefficients: boolean;
  upstream_coil_compression_thres: number;
  upstream_coil_compression_num_modesKept: number;
}

/** KLT coefficients of one encoding space: [slc][s][n] → eigenvectors, and the kept mode count. */
export interface EigenChannelSet {
  vectors: CMatrix[][][];
  kept: number;
  channels: number;
  /** Eigenvalues of (slc, s, n) = (0, 0, 0), descending. */
  eigenvalues: Float64Array;
}

/**
 * Computes the coefficients for data of N × S × SLC blocks from `source`
 * [RO, E1, E2, CHA, N', S', SLC] (`compute_eigen_channel_coefficients`).
 */
export function computeEigenChannels(source: ComplexArray, N: number, S: number, options: EigenChannelOptions, interleaved: boolean): EigenChannelSet {
  const averaged = averageOverNS(source, options.average_all_ref_N, options.average_all_ref_S, interleaved);
  const [RO, E1, E2, CHA, AN, AS, SLC] = dims7(averaged, 'compute eigen-channel coefficients');
  const points = RO * E1 * E2;
  const cache = new Map<string, { vectors: CMatrix; eigenvalues: Float64Array }>();
  const klt = (n: number, s: number, slc: number): { vectors: CMatrix; eigenvalues: Float64Array } => {
    const key = `${n},${s},${slc}`;
    let r = cache.get(key);
    if (!r) {
      const off = 2 * points * CHA * (n + AN * (s + AS * slc));
      r = kltCoefficients(averaged.data.subarray(off, off + 2 * points * CHA), points, CHA, true);
      cache.set(key, r);
    }
    return r;
  };
  const first = klt(0, 0, 0);
  const kept = kltModesKept(first.eigenvalues, options.upstream_coil_compression_thres, options.upstream_coil_compression_num_modesKept);
  const vectors: CMatrix[][][] = [];
  for (let slc = 0; slc < SLC; slc++) {
    const perS: CMatrix[][] = [];
    for (let s = 0; s < S; s++) {
      const perN: CMatrix[] = [];
      for (let n = 0; n < N; n++) perN.push(klt(Math.min(n, AN - 1), Math.min(s, AS - 1), slc).vectors);
      perS.push(perN);
    }
    vectors.push(perS);
  }
  return { vectors, kept, channels: CHA, eigenvalues: first.eigenvalues };
}

/** Rotates every (n, s, slc) block of `a` into the kept eigen-channels (`apply_eigen_channel_coefficients`). */
export function applyEigenChannels(a: ComplexArray, set: EigenChannelSet): ComplexArray {
  const [RO, E1, E2, CHA, N, S, SLC] = dims7(a, 'apply eigen-channel coefficients');
  if (CHA !== set.channels) {
    throw new RangeError(`Cannot apply coil compression: the buffer has ${CHA} channels, the coefficients were computed for ${set.channels}`);
  }
  if (set.vectors.length !== SLC) {
    throw new RangeError(`Cannot apply coil compression: the buffer has ${SLC} slices, the coefficients ${set.vectors.length}`);
  }
  const points = RO * E1 * E2;
  const K = set.kept;
  const out = new Float32Array(2 * points * K * N * S * SLC);
  for (let slc = 0; slc < SLC; slc++) {
    const perS = set.vectors[slc] as CMatrix[][];
    for (let s = 0; s < S; s++) {
      const perN = perS[Math.min(s, perS.length - 1)] as CMatrix[];
      for (let n = 0; n < N; n++) {
        const V = perN[Math.min(n, perN.length - 1)] as CMatrix;
        const b = n + N * (s + S * slc);
        applyChannelRotation(
          a.data.subarray(2 * points * CHA * b, 2 * points * CHA * (b + 1)), points, V, K,
          out.subarray(2 * points * K * b, 2 * points * K * (b + 1)),
        );
      }
    }
  }
  return { data: out, dims: [RO, E1, E2, K, N, S, SLC] };
}

/** Per-session coefficients and one recon buffer's processing. */
export class EigenChannelCompressor {
  /** Coefficients per encoding space. */
  readonly sets: (EigenChannelSet | undefined)[] = [];

  constructor(private readonly header: IsmrmrdHeader, private readonly options: EigenChannelOptions) {}

  /** A new ReconData with data and reference in eigen-channels. */
  process(recon: ReconData): ReconData {
    return { kind: 'recondata', rbit: recon.rbit.map((bit, e) => this.processBit(bit, e)) };
  }

  private processBit(bit: ReconBit, e: number): ReconBit {
    const [, , , , N, S, SLC] = dims7(bit.data.data, 'compress channels');
    if (bit.data.data.data.length === 0) throw new Error(`Cannot compress channels of encoding space ${e}: the data buffer is empty`);
    if (bit.ref && bit.ref.data.dims[3] !== bit.data.data.dims[3]) {
      throw new RangeError(`Cannot compress channels of encoding space ${e}: the reference has ${bit.ref.data.dims[3]} channels, the data ${bit.data.data.dims[3]}`);
    }
    let set = this.sets[e];
    const sizesChanged = !set || set.vectors.length !== SLC || set.vectors.some((perS) => perS.length !== S || perS.some((perN) => perN.length !== N));
    if (!set || sizesChanged || this.options.update_eigen_channel_coefficients) {
      const source = bit.ref ? bit.ref.data : bit.data.data;
      set = computeEigenChannels(source, N, S, this.options, calibrationModeOf(this.header, e) === 'interleaved');
      this.sets[e] = set;
    }
    const rotate = (b: DataBuffered, s: EigenChannelSet): DataBuffered => ({ ...b, data: applyEigenChannels(b.data, s) });
    const out: ReconBit = { data: rotate(bit.data, set) };
    if (bit.ref) out.ref = rotate(bit.ref, set);
    return out;
  }
}

export const genericReconEigenChannelGadget = defineGadget({
  name: 'GenericReconEigenChannelGadget',
  classNames: ['GenericReconEigenChannelGadget'],
  properties: {
    ...genericReconBaseProperties,
    average_all_ref_N: { type: 'boolean', default: true, description: 'Average the reference over N for the coefficients' },
    average_all_ref_S: { type: 'boolean', default: false, description: 'Average the reference over S for the coefficients' },
    update_eigen_channel_coefficients: { type: 'boolean', default: false, description: 'Recompute the coefficients for every buffer' },
    upstream_coil_compression: { type: 'boolean', default: true, description: 'Accepted; Gadgetron ignores it too' },
    upstream_coil_compression_thres: { type: 'number', default: -1, description: 'Keep modes with eigenvalue ≥ thres·E_0 (≤ 0: all)' },
    upstream_coil_compression_num_modesKept: { type: 'integer', default: 0, min: 0, description: 'Keep this many modes (0: use the threshold)' },
  },
  strict: true,
  description: 'KLT (eigen-channel) coil compression of data and reference',
  accepts: isReconData,
  async run(input, output, props, context) {
    let compressor: EigenChannelCompressor | undefined;
    for await (const recon of input) {
      compressor ??= new EigenChannelCompressor(requireHeader(context, 'GenericReconEigenChannelGadget'), props);
      const c = compressor;
      const out = timed(context, props.perform_timing, 'GenericReconEigenChannelGadget', () => c.process(recon));
      if (props.verbose) {
        out.rbit.forEach((bit, e) => context.log.info(`GenericReconEigenChannelGadget: encoding ${e} keeps ${bit.data.data.dims[3]} of ${recon.rbit[e]?.data.data.dims[3]} channels`));
      }
      await output.push(out);
    }
  },
});
