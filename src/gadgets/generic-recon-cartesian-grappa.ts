/**
 * GenericReconCartesianGrappaGadget: GRAPPA reconstruction of Cartesian data
 * accelerated in E1 (2D) or E1×E2 (3D) with coil-map combination, in SNR
 * units (Kellman & McVeigh, MRM 2005;54:1439).
 *
 * For each encoding space with a reference buffer (prepared by
 * GenericReconCartesianReferencePrepGadget): the low-resolution coil-map
 * k-space is built from the reference; with `downstream_coil_compression`
 * only the first dstCHA channels (energy above thres·E_0, or
 * `…_num_modesKept`) are targets and maps; coil maps by Inati or Inati_Iter;
 * per (n, s, slc) of the reference a GRAPPA kernel is calibrated (fitting
 * the acquired lines too when compressing downstream), turned into
 * image-domain unmixing weights u = Σ_dst kIm·conj(m_dst) and a g-factor
 * g = ‖u‖/(R_E1·R_E2). Unaccelerated data use u = conj(m). Calibrations are
 * kept for later buffers without a reference.
 *
 * For the data: aliased images F_c⁻¹(data), scaled when accelerated by
 * √(RO/lenRO·R_eff)/(R_E1·R_E2), combined as I = Σ_src u_src·a_src with the
 * weights of (min(n, N_ref − 1), min(s, S_ref − 1), slc). Output per encoding
 * space e, in this order: the g-factor map (`send_out_gfactor`, accelerated
 * only, series image_series + 10·(e + 2), role Gfactor), the SNR map I/g
 * (`send_out_snr_map`, series image_series + 100·(e + 3), role SNR_MAP), and
 * the image array [RO, E1, E2, 1, N, S, SLC] (series image_series + e + 1,
 * role Image).
 */
import { defineGadget, type GadgetContext } from '../engine/gadget.js';
import { giveBackSliceBuffer } from '../engine/slice-buffers.js';
import { latticeOffset } from '../kernels/lattice.js';
import { whitenedBit } from './pending-mix.js';
import { forEachMessage, type Output } from '../engine/channel.js';
import { isShared, shareWith, sharedFloat32, type ComputePool } from '../engine/thread-pool.js';
import type { DataBuffered, ImageArray, ReconBit, ReconData } from '../ismrmrd/buffers.js';
import { isReconData, type Message } from '../ismrmrd/messages.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import {
  gfactorFromUnmixing, grappaConvolutionKernel, grappaSystem, normalEquations, solveGrappa,
  type GrappaCalibrationOptions, type GrappaSystem, type NormalEquations,
} from '../kernels/grappa.js';
import { copyInto } from '../kernels/copy.js';
import { DataRole } from './generic-recon-common.js';
import {
  accelerationOf, calibrationModeOf, dims7, firstChannels, genericReconGadgetProperties, makeImageArray,
  logicalDims7, makeRefCoilMapKspace, prepareImageArray, requireHeader, snrScaling, withPixels, type CoilMapOptions, type Dims7,
} from './generic-recon-base.js';
import {
  executionOf, INLINE, reconPool, runInline, runOnPool, splitRange, UNWRAP_GROUP,
  type CoilMapsArgs, type GrappaNormalPieceArgs, type GrappaUnmixingArgs, type GrappaUnwrapArgs, type UnmixingRotationArgs,
  type JobBatch, type ReconExecution, type ReconSteps, type ReconTaskName,
} from './generic-recon-tasks.js';

/** Options of {@link GrappaRecon} (the gadget's properties). */
export interface GrappaReconOptions extends CoilMapOptions {
  image_series: number;
  send_out_gfactor: boolean;
  send_out_snr_map: boolean;
  grappa_kSize_RO: number;
  grappa_kSize_E1: number;
  grappa_kSize_E2: number;
  grappa_reg_lamda: number;
  grappa_calib_over_determine_ratio: number;
  downstream_coil_compression: boolean;
  downstream_coil_compression_thres: number;
  downstream_coil_compression_num_modesKept: number;
  perform_timing: boolean;
  verbose: boolean;
}

/** The calibration of one encoding space. */
export interface GrappaCalibrationState {
  /** [RO, E1, E2] of the data the weights are for. */
  grid: [number, number, number];
  /** Channels of the data (and reference) the weights apply to. */
  srcCha: number;
  /** Target channels (maps): all, or the first dstCHA after downstream compression. */
  dstCha: number;
  /** Unmixing weights [RO, E1, E2, Cu, N_ref, S_ref, SLC_ref]. */
  unmixing: ComplexArray;
  /** Coil maps [RO, E1, E2, dstCha, N_ref, S_ref, SLC_ref]. */
  coilMaps: ComplexArray;
  /** g-factor [RO, E1, E2, N_ref, S_ref, SLC_ref] (accelerated only). */
  gfactor?: Float32Array;
}

/**
 * Number of target channels for downstream coil compression
 * (`prepare_down_stream_coil_compression_ref_data`): all when off (or thres
 * < 0 and modes = 0); `modes` when 0 < modes ≤ CHA; else the first c ≥ 1 whose
 * energy in block (0, 0, 0) is below thres·E_0 (CHA if none).
 */
export function downstreamChannels(ref: ComplexArray, on: boolean, thres: number, modes: number): number {
  const [RO, E1, E2, CHA] = dims7(ref, 'choose downstream channels');
  if (!on || (thres < 0 && modes === 0)) return CHA;
  if (modes > 0 && modes <= CHA) return modes;
  const vol = RO * E1 * E2;
  const energy = (c: number): number => {
    let e = 0;
    for (let i = 2 * vol * c; i < 2 * vol * (c + 1); i++) {
      const x = ref.data[i] as number;
      e += x * x;
    }
    return Math.fround(e);
  };
  const e0 = energy(0);
  for (let c = 1; c < CHA; c++) if (Math.abs(energy(c)) < thres * Math.abs(e0)) return c;
  return CHA;
}

/** Throws unless every readout (channel 0) of each reference block is sampled: accelerated data need fully sampled ACS. */
function checkCalibrationData(ref: ComplexArray, e: number, R: [number, number]): void {
  const [RO, E1, E2, , N, S, SLC] = dims7(ref, 'check the calibration data');
  const block = RO * E1 * E2 * (ref.dims[3] as number);
  for (let b = 0; b < N * S * SLC; b++) {
    let empty = 0;
    for (let e2 = 0; e2 < E2; e2++) {
      for (let e1 = 0; e1 < E1; e1++) {
        const base = 2 * (block * b + RO * (e1 + E1 * e2));
        let any = false;
        for (let i = 0; i < 2 * RO && !any; i++) any = (ref.data[base + i] as number) !== 0;
        if (!any) empty++;
      }
    }
    if (empty > 0) {
      throw new Error(
        `Cannot calibrate GRAPPA for encoding space ${e}: data accelerated by ${R[0]}×${R[1]} need fully sampled calibration (ACS) data, ` +
          `but ${empty} of ${E1 * E2} reference lines are empty (did the scan send no calibration lines?)`,
      );
    }
  }
}

/**
 * Pieces each (weights, V) product of {@link rotatedUnmixingSteps} is split
 * into, by pixels: fixed, not the thread count, so that the bits do not
 * depend on it; two threads take one each.
 */
const ROTATION_PIECES = 2;

/**
 * Folds pending eigen-channel rotations into unmixing weights. Rotated data
 * y_k = Σ_c x_c·V[c, k] unmixed by u_k equal the acquired channels x_c unmixed
 * by u'_c = Σ_k V[c, k]·u_k, i.e. U' = U·Vᵀ (one cgemm of vol × C × C per
 * distinct (weights, V) pair, usually one per slice, in
 * {@link ROTATION_PIECES} tasks of pixel ranges), which is far cheaper than
 * rotating every frame of k-space, into an array from `allocate`. Rewrites
 * `frames`' weight indices to the returned array's blocks.
 */
function* rotatedUnmixingSteps(
  weights: Float32Array, vol: number, C: number, frames: [number, number][], vectors: readonly Float64Array[],
  allocate: (floats: number) => Float32Array, shared: boolean,
): ReconSteps<Float32Array> {
  const index = new Map<Float64Array, Map<number, number>>();
  const pairs: [number, Float64Array][] = [];
  for (const frame of frames) {
    const V = vectors[frame[0]] as Float64Array;
    if (V.length !== 2 * C * C) throw new RangeError(`Cannot fold a channel rotation of ${Math.sqrt(V.length / 2)} channels into weights of ${C}`);
    let byWeights = index.get(V);
    if (!byWeights) index.set(V, (byWeights = new Map()));
    let i = byWeights.get(frame[1]);
    if (i === undefined) {
      i = pairs.length;
      byWeights.set(frame[1], i);
      pairs.push([frame[1], V]);
    }
    frame[1] = i;
  }
  const block = 2 * vol * C;
  const out = allocate(block * pairs.length);
  // Split at multiples of 64 pixels: whole BLAS row panels on either side.
  const cuts = splitRange(Math.ceil(vol / 64), ROTATION_PIECES).map(([a, b]) => [64 * a, Math.min(vol, 64 * b)] as const);
  yield pairs.flatMap(([ub, V], i) => {
    const v = sharedFloat32(2 * C * C, shared);
    for (let j = 0; j < v.length; j++) v[j] = V[j] as number;
    return cuts.map(([from, to]) => ['unmixingRotation', {
      weights: weights.subarray(block * ub, block * (ub + 1)), v, out: out.subarray(block * i, block * (i + 1)), vol, channels: C, from, to,
    } satisfies UnmixingRotationArgs] as const);
  });
  return out;
}

/** GRAPPA calibration and unwrapping with per-session state. */
export class GrappaRecon {
  readonly calibrations: (GrappaCalibrationState | undefined)[] = [];
  /**
   * Arrays that a buffer's calibration and unwrapping use only while they run
   * (the least-squares systems and their normal equations, the maps' input,
   * the rotated weights: ~45 MB a slice of the real-time cine), kept for the
   * next buffer of the same sizes: made once instead of per slice, so neither
   * zeroed, faulted in nor left to the collector each time. Their users write
   * every value they read.
   */
  private readonly scratch = new Map<string, Float32Array>();

  constructor(private readonly header: IsmrmrdHeader, private readonly options: GrappaReconOptions, private readonly context?: GadgetContext) {}

  /** The scratch array `key` of `floats` floats (contents left from its last use: write before reading). */
  private reuse(key: string, floats: number, shared: boolean): Float32Array {
    const have = this.scratch.get(key);
    if (have && have.length === floats && isShared(have) === shared) return have;
    const made = sharedFloat32(floats, shared);
    this.scratch.set(key, made);
    return made;
  }

  /** Calibrates encoding space `e` from a prepared reference for data of [RO, E1, E2] (on the calling thread). */
  calibrate(ref: DataBuffered, grid: [number, number, number], e: number): GrappaCalibrationState {
    return runInline(this.calibrateSteps(ref, grid, e, INLINE));
  }

  /**
   * Unwraps the data of encoding space `e` with its calibration: I [RO, E1, E2, 1, N, S, SLC] (on the calling thread).
   * With `rotation` (a pending eigen-channel rotation, see `ReconBit.pendingRotation`) the data are in the acquired
   * channels and the calibration in the rotated ones.
   */
  unwrap(data: DataBuffered, cal: GrappaCalibrationState, e: number, rotation?: ReconBit['pendingRotation']): ComplexArray {
    return runInline(this.unwrapSteps(data, cal, e, INLINE, rotation));
  }

  /** Processes one buffer on the calling thread: calibrates from its references and returns the arrays to send, in order. */
  process(recon: ReconData): ImageArray[] {
    return runInline(this.processSteps(recon, INLINE));
  }

  /** {@link process} with calibration blocks, coil maps, weight channels and frames spread over `pool`; the same bits for any thread count. */
  processOn(pool: ComputePool, recon: ReconData): Promise<ImageArray[]> {
    return runOnPool(pool, this.processSteps(recon, executionOf(pool)));
  }

  private *processSteps(recon: ReconData, exec: ReconExecution): ReconSteps<ImageArray[]> {
    const out: ImageArray[] = [];
    for (let e = 0; e < recon.rbit.length; e++) out.push(...(yield* this.processBitSteps(recon.rbit[e] as ReconBit, e, exec)));
    return out;
  }

  private *calibrateSteps(ref: DataBuffered, grid: [number, number, number], e: number, exec: ReconExecution): ReconSteps<GrappaCalibrationState> {
    const o = this.options;
    const mode = calibrationModeOf(this.header, e);
    const R = accelerationOf(this.header, e);
    const [refRO, refE1, refE2, srcCha, rN, rS, rSLC] = dims7(ref.data, 'calibrate GRAPPA');
    if (ref.data.data.length === 0) throw new Error(`Cannot calibrate encoding space ${e}: the reference buffer is empty`);
    const accelerated = R[0] > 1 || R[1] > 1;
    if (accelerated) checkCalibrationData(ref.data, e, R);
    const refCm = makeRefCoilMapKspace(ref, grid, mode);
    const dstCha = downstreamChannels(ref.data, o.downstream_coil_compression, o.downstream_coil_compression_thres, o.downstream_coil_compression_num_modesKept);
    const [RO, E1, E2] = grid;
    const vol = RO * E1 * E2;
    const blocks = rN * rS * rSLC;
    const mapsK = firstChannels(refCm, dstCha);
    const mapBlock = vol * dstCha;
    const mapsIn = exec.shared ? this.reuse(`maps-in ${e}`, mapsK.data.length, true) : mapsK.data;
    if (mapsIn !== mapsK.data) copyInto(mapsIn, mapsK.data);
    const maps = sharedFloat32(mapsK.data.length, exec.shared);
    const coilOptions: CoilMapOptions = {
      coil_map_algorithm: o.coil_map_algorithm, coil_map_kernel_size_readout: o.coil_map_kernel_size_readout,
      coil_map_kernel_size_phase: o.coil_map_kernel_size_phase, coil_map_num_iter: o.coil_map_num_iter, coil_map_thres_iter: o.coil_map_thres_iter,
    };
    const mapJobs: JobBatch = Array.from({ length: blocks }, (_v, b) => ['coilMaps', {
      kspace: mapsIn.subarray(2 * mapBlock * b, 2 * mapBlock * (b + 1)), dims: [RO, E1, E2, dstCha], options: coilOptions,
      out: maps.subarray(2 * mapBlock * b, 2 * mapBlock * (b + 1)),
    } satisfies CoilMapsArgs] as const);
    const fitItself = o.downstream_coil_compression;
    const refBlock = refRO * refE1 * refE2;
    const calOptions: GrappaCalibrationOptions = {
      accelE1: R[0],
      accelE2: R[1],
      kRO: o.grappa_kSize_RO,
      kE1: o.grappa_kSize_E1,
      kE2: o.grappa_kSize_E2,
      threeD: E2 > 1,
      lambda: o.grappa_reg_lamda,
      overDetermineRatio: o.grappa_calib_over_determine_ratio,
      fitItself,
    };
    // Each block's least-squares system, and its normal equations in two pieces of equal work (kernels/grappa.ts).
    const systems = accelerated
      ? Array.from({ length: blocks }, (_v, b) => {
        const src = ref.data.data.subarray(2 * refBlock * srcCha * b, 2 * refBlock * srcCha * (b + 1));
        const dst = fitItself ? src.subarray(0, 2 * refBlock * dstCha) : src;
        let made = 0;
        return grappaSystem(src, [refRO, refE1, refE2, srcCha], dst, fitItself ? dstCha : srcCha, calOptions, (n) => this.reuse(`system ${e}.${b}.${made++}`, n, exec.shared));
      })
      : [];
    const normals = systems.map((system, b) => {
      let made = 0;
      return normalEquations(system, (n) => this.reuse(`normal ${e}.${b}.${made++}`, n, exec.shared));
    });
    const calJobs: JobBatch = systems.flatMap((system, b) => ([0, 1] as const).map((part) => ['grappaNormalPiece', {
      system, part, out: normals[b] as NormalEquations,
    } satisfies GrappaNormalPieceArgs] as const));
    // The calibration pieces first, the coil maps last: the calling thread's share is the last pieces of a batch.
    yield [...calJobs, ...mapJobs];
    const coilMaps: ComplexArray = { data: maps, dims: mapsK.dims.slice() };
    if (!accelerated) {
      const unmixing = new Float32Array(maps.length);
      for (let i = 0; i < unmixing.length; i += 2) {
        unmixing[i] = maps[i] as number;
        unmixing[i + 1] = -(maps[i + 1] as number);
      }
      return { grid, srcCha, dstCha, coilMaps, unmixing: { data: unmixing, dims: coilMaps.dims.slice() } };
    }
    const unmixing = sharedFloat32(2 * vol * srcCha * blocks, exec.shared);
    const mixJobs: (readonly [ReconTaskName, unknown])[] = [];
    for (let b = 0; b < blocks; b++) {
      const solved = solveGrappa(systems[b] as GrappaSystem, normals[b] as NormalEquations);
      const cal = { conv: grappaConvolutionKernel(solved), equations: solved.equations, unknowns: solved.unknowns };
      if (o.verbose) this.context?.log.info(`GRAPPA encoding ${e} block ${b}: ${cal.equations} equations, ${cal.unknowns} unknowns, ${srcCha} → ${cal.conv.dims[4]} channels`);
      for (const [from, to] of splitRange(srcCha, exec.parts)) {
        mixJobs.push(['grappaUnmixing', {
          conv: cal.conv, maps: maps.subarray(2 * mapBlock * b, 2 * mapBlock * (b + 1)), grid, from, to,
          unmixing: unmixing.subarray(2 * vol * srcCha * b, 2 * vol * srcCha * (b + 1)),
        } satisfies GrappaUnmixingArgs]);
      }
    }
    yield mixJobs;
    const gfactor = new Float32Array(vol * blocks);
    for (let b = 0; b < blocks; b++) {
      gfactorFromUnmixing(unmixing.subarray(2 * vol * srcCha * b, 2 * vol * srcCha * (b + 1)), vol, srcCha, R[0] * R[1], gfactor.subarray(vol * b, vol * (b + 1)));
    }
    return { grid, srcCha, dstCha, coilMaps, unmixing: { data: unmixing, dims: [RO, E1, E2, srcCha, rN, rS, rSLC] }, gfactor };
  }

  private *unwrapSteps(
    data: DataBuffered, cal: GrappaCalibrationState, e: number, exec: ReconExecution, rotation?: ReconBit['pendingRotation'],
  ): ReconSteps<ComplexArray> {
    const [RO, E1, E2, CHA, N, S, SLC] = logicalDims7(data, 'apply GRAPPA');
    const [gRO, gE1, gE2] = cal.grid;
    if (RO !== gRO || E1 !== gE1 || E2 !== gE2) {
      throw new RangeError(`Cannot apply GRAPPA to encoding space ${e}: the calibration is for [${cal.grid.join(', ')}], the data are [${RO}, ${E1}, ${E2}]`);
    }
    if (CHA !== cal.srcCha) {
      throw new RangeError(`Cannot apply GRAPPA to encoding space ${e}: the data have ${CHA} channels, the calibration (reference) data ${cal.srcCha}`);
    }
    const [, , , Cu, rN, rS, rSLC] = cal.unmixing.dims as Dims7;
    if (rSLC !== SLC) throw new RangeError(`Cannot apply GRAPPA to encoding space ${e}: the data have ${SLC} slices, the reference data ${rSLC}`);
    const R = accelerationOf(this.header, e);
    const { effectiveAcceleration, ratio } = snrScaling(data);
    const scale = effectiveAcceleration > 1 ? Math.fround((1 / (R[0] * R[1])) * ratio) : 1;
    const vol = RO * E1 * E2;
    const frames: [number, number][] = [];
    for (let slc = 0; slc < SLC; slc++) {
      for (let s = 0; s < S; s++) {
        for (let n = 0; n < N; n++) frames.push([n + N * (s + S * slc), Math.min(n, rN - 1) + rN * (Math.min(s, rS - 1) + rS * slc)]);
      }
    }
    const out = sharedFloat32(2 * vol * N * S * SLC, exec.shared);
    const input = shareWith(exec.shared, data.data.data);
    let weights = shareWith(exec.shared, cal.unmixing.data);
    if (rotation) {
      if (rotation.vectors.length !== N * S * SLC || Cu !== CHA) {
        throw new RangeError(`Cannot apply GRAPPA to encoding space ${e}: the pending channel rotation does not match the data`);
      }
      weights = yield* rotatedUnmixingSteps(weights, vol, Cu, frames, rotation.vectors, (n) => this.reuse(`rotated ${e}`, n, exec.shared), exec.shared);
    }
    if (data.lattice && (data.lattice.factor !== R[0] || data.lattice.offsets.length !== frames.length)) {
      throw new RangeError(`Cannot apply GRAPPA to encoding space ${e}: the data's lattice (factor ${data.lattice.factor}) does not match acceleration ${R[0]}`);
    }
    const offsets = data.lattice ? [...data.lattice.offsets] : frameLatticeOffsets(data, R[0], frames.length);
    // Tasks of UNWRAP_GROUP frames: frames with the same weights are unwrapped together (generic-recon-tasks.ts).
    const pieces = exec.shared ? splitRange(frames.length, Math.ceil(frames.length / UNWRAP_GROUP)) : [[0, frames.length] as [number, number]];
    yield pieces.map(([from, to]) => ['grappaUnwrap', {
      data: input, dims: [RO, E1, E2, CHA], frames: frames.slice(from, to), unmixing: weights, weightChannels: Cu,
      channels: Math.min(Cu, CHA), scale, out,
      ...(offsets ? { lattice: { factor: R[0], offsets: offsets.slice(from, to), ...(data.lattice ? { compact: true } : {}) } } : {}),
    } satisfies GrappaUnwrapArgs] as const);
    return { data: out, dims: [RO, E1, E2, 1, N, S, SLC] };
  }

  private *processBitSteps(input: ReconBit, e: number, exec: ReconExecution): ReconSteps<ImageArray[]> {
    // ReferencePrep turns a pending whitening into a pending rotation, which is folded below; applied here otherwise.
    const bit = whitenedBit(input);
    const o = this.options;
    const ctx = this.context;
    const report = (what: string, started: number): void => {
      if (ctx && o.perform_timing) ctx.log.info(`GenericReconCartesianGrappaGadget ${what}, encoding ${e}: ${(performance.now() - started).toFixed(1)} ms`);
    };
    const [RO, E1, E2] = logicalDims7(bit.data, 'reconstruct');
    let gfactor: Float32Array | undefined;
    if (bit.ref) {
      const started = performance.now();
      const cal = yield* this.calibrateSteps(bit.ref, [RO, E1, E2], e, exec);
      report('calibration', started);
      this.calibrations[e] = cal;
      gfactor = cal.gfactor;
    }
    if (bit.data.data.data.length === 0) throw new Error(`Cannot reconstruct encoding space ${e}: the data buffer is empty`);
    const cal = this.calibrations[e];
    if (!cal) throw new Error(`Cannot reconstruct encoding space ${e}: no reference (calibration) data have been received for it`);
    const started = performance.now();
    const pixels = yield* this.unwrapSteps(bit.data, cal, e, exec, bit.pendingRotation);
    report('unwrapping', started);
    return this.imageArrays(bit, e, cal, pixels, gfactor);
  }

  private imageArrays(bit: ReconBit, e: number, cal: GrappaCalibrationState, pixels: ComplexArray, gfactor: Float32Array | undefined): ImageArray[] {
    const o = this.options;
    const [RO, E1, E2] = logicalDims7(bit.data, 'reconstruct');
    const images = makeImageArray(pixels, bit.data, this.header, e);
    const sent: ImageArray[] = [];
    const R = accelerationOf(this.header, e);
    const [, , , , rN, rS, rSLC] = cal.unmixing.dims as Dims7;
    const vol = RO * E1 * E2;
    if (o.send_out_gfactor && gfactor && R[0] * R[1] > 1) {
      const g = new Float32Array(2 * gfactor.length);
      for (let i = 0; i < gfactor.length; i++) g[2 * i] = gfactor[i] as number;
      const arr = withPixels(images, { data: g, dims: [RO, E1, E2, 1, rN, rS, rSLC] });
      sent.push(prepareImageArray(arr, this.header, e, o.image_series + 10 * (e + 2), DataRole.gfactor));
    }
    if (o.send_out_snr_map) {
      let snr: Float32Array | undefined;
      if (calibrationModeOf(this.header, e) === 'noacceleration') {
        snr = Float32Array.from(pixels.data);
      } else if (gfactor) {
        const [, , , , N, S, SLC] = pixels.dims as Dims7;
        snr = new Float32Array(pixels.data.length);
        for (let slc = 0; slc < SLC; slc++) {
          for (let s = 0; s < S; s++) {
            for (let n = 0; n < N; n++) {
              const b = n + N * (s + S * slc);
              const gb = Math.min(n, rN - 1) + rN * (Math.min(s, rS - 1) + rS * slc);
              for (let p = 0; p < vol; p++) {
                // g = 0 where no channel carries weight (outside the coil maps' support; the image is 0 there too):
                // SNR 0 there, not 0/0 = NaN.
                const g = gfactor[vol * gb + p] as number;
                if (!(g > 0)) continue;
                snr[2 * (vol * b + p)] = (pixels.data[2 * (vol * b + p)] as number) / g;
                snr[2 * (vol * b + p) + 1] = (pixels.data[2 * (vol * b + p) + 1] as number) / g;
              }
            }
          }
        }
      }
      if (snr) {
        const arr = withPixels(images, { data: snr, dims: pixels.dims.slice() });
        sent.push(prepareImageArray(arr, this.header, e, o.image_series + 100 * (e + 3), DataRole.snrMap));
      }
    }
    sent.push(prepareImageArray(images, this.header, e, o.image_series + e + 1, DataRole.image));
    return sent;
  }
}

/** Pushes every array of `arrays` in order. */
async function pushAll(output: Output<Message>, arrays: readonly ImageArray[]): Promise<void> {
  for (const a of arrays) await output.push(a);
}

export const genericReconCartesianGrappaGadget = defineGadget({
  name: 'GenericReconCartesianGrappaGadget',
  classNames: ['GenericReconCartesianGrappaGadget'],
  properties: {
    ...genericReconGadgetProperties,
    send_out_gfactor: { type: 'boolean', default: false, description: 'Also send the g-factor map (series image_series + 10·(e + 2))' },
    send_out_snr_map: { type: 'boolean', default: false, description: 'Also send the SNR map I/g (series image_series + 100·(e + 3))' },
    grappa_kSize_RO: { type: 'integer', default: 5, min: 1, description: 'GRAPPA kernel size along RO' },
    grappa_kSize_E1: { type: 'integer', default: 4, min: 1, description: 'GRAPPA kernel size along E1' },
    grappa_kSize_E2: { type: 'integer', default: 4, min: 1, description: 'GRAPPA kernel size along E2 (3D)' },
    grappa_reg_lamda: { type: 'number', default: 0.0005, min: 0, description: 'Tikhonov λ relative to tr(AᴴA)/K' },
    grappa_calib_over_determine_ratio: { type: 'number', default: 45, description: '3D: at most ratio·K calibration equations' },
    downstream_coil_compression: { type: 'boolean', default: true, description: 'Use only the strongest channels as GRAPPA targets and maps' },
    downstream_coil_compression_thres: { type: 'number', default: 0.002, description: 'Channel energy threshold relative to channel 0' },
    downstream_coil_compression_num_modesKept: { type: 'integer', default: 0, min: 0, description: 'Number of target channels (0: use the threshold)' },
  },
  strict: true,
  description: 'GRAPPA reconstruction with coil-map combination, g-factor and SNR maps',
  accepts: isReconData,
  async run(input, output, props, context) {
    let recon: GrappaRecon | undefined;
    const pool = reconPool();
    await forEachMessage(input, async (data) => {
      recon ??= new GrappaRecon(requireHeader(context, 'GenericReconCartesianGrappaGadget'), props, context);
      const arrays = await recon.processOn(pool, data);
      // The k-space buffers end here (the images are new arrays): the next slice reuses them.
      for (const bit of data.rbit) giveBackSliceBuffer(bit.data.data.data);
      await pushAll(output, arrays);
    });
  },
});

/**
 * For each frame (block n + N·(s + S·slc) of a 2D buffer) the offset of the
 * E1 lattice its readouts lie on (src/kernels/lattice.ts: lines o, o + R, …;
 * −1 where they do not, or none were placed), from the buffer's headers; an
 * unplaced line is zero. Undefined when no frame is on a lattice.
 */
export function frameLatticeOffsets(data: DataBuffered, factor: number, frames: number): number[] | undefined {
  const [NE1 = 0, NE2 = 0] = data.headerDims;
  const E1 = data.data.dims[1] ?? 0;
  if (!(factor > 1) || NE2 !== 1 || NE1 !== E1 || E1 % factor !== 0) return undefined;
  const offsets: number[] = [];
  for (let f = 0; f < frames; f++) {
    const lines: number[] = [];
    for (let e1 = 0; e1 < NE1; e1++) if (data.headers[e1 + NE1 * f] !== undefined) lines.push(e1);
    offsets.push(latticeOffset(lines, factor, E1));
  }
  return offsets.some((o) => o >= 0) ? offsets : undefined;
}
