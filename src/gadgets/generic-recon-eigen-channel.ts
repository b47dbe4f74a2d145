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
import { forEachMessage } from '../engine/channel.js';
import { defineGadget } from '../engine/gadget.js';
import { isShared, sharedFloat32, type ComputePool } from '../engine/thread-pool.js';
import { expandLattice, type ReconBit, type ReconData } from '../ismrmrd/buffers.js';
import { isReconData } from '../ismrmrd/messages.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import type { CMatrix } from '../kernels/dense.js';
import { kltCoefficients, kltModesKept } from '../kernels/klt.js';
import { genericReconBaseProperties } from './generic-recon-common.js';
import { averageOverNS, calibrationModeOf, dims7, requireHeader } from './generic-recon-base.js';
import { multiplyMixes, rotatedBit } from './pending-mix.js';
import { executionOf, INLINE, reconPool, runInline, runOnPool, splitRange, type ChannelRotationArgs, type ReconExecution, type ReconSteps } from './generic-recon-tasks.js';
import { copyInto } from '../kernels/copy.js';

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
  return runInline(eigenChannelSteps(a, set, INLINE));
}

/**
 * Steps of {@link applyEigenChannels}: blocks spread over `exec.parts` tasks, output in shared memory when asked.
 * With `before` (a pending rotation of the data, per block), block b is rotated by before_b·V_b in one pass.
 */
export function* eigenChannelSteps(a: ComplexArray, set: EigenChannelSet, exec: ReconExecution, before?: readonly Float64Array[]): ReconSteps<ComplexArray> {
  const [RO, E1, E2, CHA, N, S, SLC] = dims7(a, 'apply eigen-channel coefficients');
  if (CHA !== set.channels) {
    throw new RangeError(`Cannot apply coil compression: the buffer has ${CHA} channels, the coefficients were computed for ${set.channels}`);
  }
  if (set.vectors.length !== SLC) {
    throw new RangeError(`Cannot apply coil compression: the buffer has ${SLC} slices, the coefficients ${set.vectors.length}`);
  }
  const points = RO * E1 * E2;
  const K = set.kept;
  const blocks: [number, Float64Array][] = [];
  for (let slc = 0; slc < SLC; slc++) {
    const perS = set.vectors[slc] as CMatrix[][];
    for (let s = 0; s < S; s++) {
      const perN = perS[Math.min(s, perS.length - 1)] as CMatrix[];
      for (let n = 0; n < N; n++) blocks.push([n + N * (s + S * slc), (perN[Math.min(n, perN.length - 1)] as CMatrix).data]);
    }
  }
  if (before) {
    const compose = composer(CHA);
    for (const entry of blocks) entry[1] = compose(before[Math.min(entry[0], before.length - 1)] as Float64Array, entry[1]);
  }
  let input = a.data;
  if (exec.shared && !isShared(a.data)) {
    input = sharedFloat32(a.data.length);
    copyInto(input, a.data);
  }
  const out = sharedFloat32(2 * points * K * N * S * SLC, exec.shared);
  yield splitRange(blocks.length, exec.parts).map(([from, to]) => ['channelRotation', {
    src: input, dst: out, points, channels: CHA, kept: K, blocks: blocks.slice(from, to),
  } satisfies ChannelRotationArgs] as const);
  return { data: out, dims: [RO, E1, E2, K, N, S, SLC] };
}

/**
 * P·V for C × C matrices, each distinct pair (by identity) multiplied once:
 * blocks that share their matrices share the product, so GRAPPA's folding
 * (which also goes by identity) does one product per distinct matrix.
 */
function composer(C: number): (P: Float64Array, V: Float64Array) => Float64Array {
  const products = new Map<Float64Array, Map<Float64Array, Float64Array>>();
  return (P, V) => {
    let byV = products.get(P);
    if (!byV) {
      byV = new Map();
      products.set(P, byV);
    }
    let PV = byV.get(V);
    if (!PV) {
      PV = multiplyMixes(P, V, C);
      byV.set(V, PV);
    }
    return PV;
  };
}

/** V of every (n, s, slc) block, in block order n + N·(s + S·slc). */
function blockVectors(set: EigenChannelSet, N: number, S: number, SLC: number): Float64Array[] {
  const out: Float64Array[] = [];
  for (let slc = 0; slc < SLC; slc++) {
    const perS = set.vectors[Math.min(slc, set.vectors.length - 1)] as CMatrix[][];
    for (let s = 0; s < S; s++) {
      const perN = perS[Math.min(s, perS.length - 1)] as CMatrix[];
      for (let n = 0; n < N; n++) out.push((perN[Math.min(n, perN.length - 1)] as CMatrix).data);
    }
  }
  return out;
}

/** Per-session coefficients and one recon buffer's processing. */
export class EigenChannelCompressor {
  /** Coefficients per encoding space. */
  readonly sets: (EigenChannelSet | undefined)[] = [];

  /**
   * @param deferRotation leave the data's rotation to the consumer when all
   * modes are kept (`pendingRotation`): only for a consumer that applies it
   * (GenericReconCartesianGrappaGadget next in the same chain).
   */
  constructor(private readonly header: IsmrmrdHeader, private readonly options: EigenChannelOptions, private readonly deferRotation = false) {}

  /** A new ReconData with data and reference in eigen-channels (on the calling thread). */
  process(recon: ReconData): ReconData {
    return runInline(this.steps(recon, INLINE));
  }

  /** {@link process} with the rotation of the blocks spread over `pool`; the same bits for any thread count. */
  processOn(pool: ComputePool, recon: ReconData): Promise<ReconData> {
    return runOnPool(pool, this.steps(recon, executionOf(pool)));
  }

  private *steps(recon: ReconData, exec: ReconExecution): ReconSteps<ReconData> {
    const rbit: ReconBit[] = [];
    for (let e = 0; e < recon.rbit.length; e++) rbit.push(yield* this.bitSteps(recon.rbit[e] as ReconBit, e, exec));
    return { kind: 'recondata', rbit };
  }

  private *bitSteps(input: ReconBit, e: number, exec: ReconExecution): ReconSteps<ReconBit> {
    const [, , , CHA, N, S, SLC] = dims7(input.data.data, 'compress channels');
    if (input.data.data.data.length === 0) throw new Error(`Cannot compress channels of encoding space ${e}: the data buffer is empty`);
    if (input.ref && input.ref.data.dims[3] !== input.data.data.dims[3]) {
      throw new RangeError(`Cannot compress channels of encoding space ${e}: the reference has ${input.ref.data.dims[3]} channels, the data ${input.data.data.dims[3]}`);
    }
    let set = this.sets[e];
    const sizesChanged = !set || set.vectors.length !== SLC || set.vectors.some((perS) => perS.length !== S || perS.some((perN) => perN.length !== N));
    const computing = !set || sizesChanged || this.options.update_eigen_channel_coefficients;
    // A pending whitening is not expected here (ReferencePrep turns it into a rotation); a pending rotation is composed
    // with this one, unless the coefficients are computed from the data, whose values are then needed (pending-mix.ts).
    const bit = input.pendingWhitening || (input.pendingRotation && !input.ref && computing) ? rotatedBit(input) : input;
    const before = bit.pendingRotation?.vectors;
    if (!set || computing) {
      const source = bit.ref ? bit.ref.data : expandLattice(bit.data).data;
      set = computeEigenChannels(source, N, S, this.options, calibrationModeOf(this.header, e) === 'interleaved');
      this.sets[e] = set;
    }
    let out: ReconBit;
    if (this.deferRotation && set.kept === set.channels) {
      let vectors = blockVectors(set, N, S, SLC);
      if (before) {
        const compose = composer(CHA);
        vectors = vectors.map((V, b) => compose(before[Math.min(b, before.length - 1)] as Float64Array, V));
      }
      out = { data: bit.data, pendingRotation: { vectors } };
    } else {
      out = { data: { ...bit.data, data: yield* eigenChannelSteps(bit.data.data, set, exec, before) } };
    }
    if (bit.ref) out.ref = { ...bit.ref, data: yield* eigenChannelSteps(bit.ref.data, set, exec) };
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
    const pool = reconPool();
    await forEachMessage(input, async (recon) => {
      // GRAPPA next in this chain folds the rotation into its unmixing weights (cheaper than rotating every frame).
      compressor ??= new EigenChannelCompressor(requireHeader(context, 'GenericReconEigenChannelGadget'), props, context.downstream?.[0] === 'GenericReconCartesianGrappaGadget');
      const started = performance.now();
      const out = await compressor.processOn(pool, recon);
      if (props.perform_timing) context.log.info(`GenericReconEigenChannelGadget: ${(performance.now() - started).toFixed(1)} ms`);
      if (props.verbose) {
        out.rbit.forEach((bit, e) => context.log.info(`GenericReconEigenChannelGadget: encoding ${e} keeps ${bit.data.data.dims[3]} of ${recon.rbit[e]?.data.data.dims[3]} channels`));
      }
      await output.push(out);
    });
  },
});
