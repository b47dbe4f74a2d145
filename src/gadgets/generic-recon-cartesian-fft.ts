/**
 * GenericReconCartesianFFTGadget: reconstruction of fully sampled Cartesian
 * data by a centred inverse FFT (2D, or 3D when E2 > 1) and coil-map
 * combination I = Σ_c conj(m_c)·x_c, with no other scaling. The maps come
 * from the reference buffer (low-resolution, Hanning-filtered, as for
 * GRAPPA) or, without one, from the data k-space itself; Inati or
 * Inati_Iter. Output per encoding space e: an image array
 * [RO, E1, E2, 1, N, S, SLC], series image_series + e + 1, role Image.
 */
import { forEachMessage } from '../engine/channel.js';
import { defineGadget } from '../engine/gadget.js';
import type { DataBuffered, ImageArray, ReconBit, ReconData } from '../ismrmrd/buffers.js';
import { isReconData } from '../ismrmrd/messages.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { isShared, sharedFloat32 } from '../engine/thread-pool.js';
import { DataRole } from './generic-recon-common.js';
import {
  calibrationModeOf, dims7, genericReconGadgetProperties, makeImageArray, makeRefCoilMapKspace, prepareImageArray,
  requireHeader, type CoilMapOptions, type Dims7,
} from './generic-recon-base.js';
import {
  executionOf, INLINE, reconPool, runInline, runOnPool, splitRange, type CoilMapsArgs, type FftCombineArgs, type ReconExecution, type ReconSteps,
} from './generic-recon-tasks.js';

/** Inverse FFT and coil combination of one buffer with maps [RO, E1, E2, CHA, N', S', SLC]. */
export function fftCombine(data: DataBuffered, maps: ComplexArray, e: number): ComplexArray {
  return runInline(fftCombineSteps(data, maps, e, INLINE));
}

/** Steps of {@link fftCombine}: frames spread over `exec.parts` tasks. */
export function* fftCombineSteps(data: DataBuffered, maps: ComplexArray, e: number, exec: ReconExecution): ReconSteps<ComplexArray> {
  const [RO, E1, E2, CHA, N, S, SLC] = dims7(data.data, 'reconstruct by FFT');
  const [mRO, mE1, mE2, mCHA, mN, mS, mSLC] = maps.dims as Dims7;
  if (mRO !== RO || mE1 !== E1 || mE2 !== E2) {
    throw new RangeError(`Cannot combine coils of encoding space ${e}: the coil maps are [${mRO}, ${mE1}, ${mE2}], the data [${RO}, ${E1}, ${E2}]`);
  }
  if (mCHA !== CHA) throw new RangeError(`Cannot combine coils of encoding space ${e}: the data have ${CHA} channels, the coil maps ${mCHA}`);
  if (mSLC !== SLC) throw new RangeError(`Cannot combine coils of encoding space ${e}: the data have ${SLC} slices, the coil maps ${mSLC}`);
  const vol = RO * E1 * E2;
  const frames: [number, number][] = [];
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) frames.push([n + N * (s + S * slc), Math.min(n, mN - 1) + mN * (Math.min(s, mS - 1) + mS * slc)]);
    }
  }
  const out = sharedFloat32(2 * vol * N * S * SLC, exec.shared);
  const input = exec.shared ? toShared(data.data.data) : data.data.data;
  const mapData = exec.shared ? toShared(maps.data) : maps.data;
  yield splitRange(frames.length, exec.parts).map(([from, to]) => ['fftCombine', {
    data: input, dims: [RO, E1, E2, CHA], frames: frames.slice(from, to), maps: mapData, out,
  } satisfies FftCombineArgs] as const);
  return { data: out, dims: [RO, E1, E2, 1, N, S, SLC] };
}

/** Reconstructs every encoding space of one buffer; returns the arrays to send. */
export function fftRecon(recon: ReconData, header: IsmrmrdHeader, options: CoilMapOptions & { image_series: number }): ImageArray[] {
  return runInline(fftReconSteps(recon, header, options, INLINE));
}

/** Steps of {@link fftRecon}: coil maps per block and frames as tasks. */
export function* fftReconSteps(recon: ReconData, header: IsmrmrdHeader, options: CoilMapOptions & { image_series: number }, exec: ReconExecution): ReconSteps<ImageArray[]> {
  const out: ImageArray[] = [];
  for (let e = 0; e < recon.rbit.length; e++) {
    const bit = recon.rbit[e] as ReconBit;
    if (bit.data.data.data.length === 0) throw new Error(`Cannot reconstruct encoding space ${e}: the data buffer is empty`);
    const [RO, E1, E2] = dims7(bit.data.data, 'reconstruct by FFT');
    const lowRes = bit.ref ? makeRefCoilMapKspace(bit.ref, [RO, E1, E2], calibrationModeOf(header, e)) : bit.data.data;
    const [, , , CHA, N, S, SLC] = dims7(lowRes, 'estimate coil maps');
    const block = RO * E1 * E2 * CHA;
    const kspace = exec.shared ? toShared(lowRes.data) : lowRes.data;
    const maps = sharedFloat32(lowRes.data.length, exec.shared);
    const coilOptions: CoilMapOptions = {
      coil_map_algorithm: options.coil_map_algorithm, coil_map_kernel_size_readout: options.coil_map_kernel_size_readout,
      coil_map_kernel_size_phase: options.coil_map_kernel_size_phase, coil_map_num_iter: options.coil_map_num_iter, coil_map_thres_iter: options.coil_map_thres_iter,
    };
    yield Array.from({ length: N * S * SLC }, (_v, b) => ['coilMaps', {
      kspace: kspace.subarray(2 * block * b, 2 * block * (b + 1)), dims: [RO, E1, E2, CHA], options: coilOptions,
      out: maps.subarray(2 * block * b, 2 * block * (b + 1)),
    } satisfies CoilMapsArgs] as const);
    const pixels = yield* fftCombineSteps(bit.data, { data: maps, dims: lowRes.dims.slice() }, e, exec);
    const images = makeImageArray(pixels, bit.data, header, e);
    out.push(prepareImageArray(images, header, e, options.image_series + e + 1, DataRole.image));
  }
  return out;
}

/** `a` when it is in shared memory, else a shared copy. */
function toShared(a: Float32Array): Float32Array {
  if (isShared(a)) return a;
  const out = sharedFloat32(a.length);
  out.set(a);
  return out;
}

export const genericReconCartesianFFTGadget = defineGadget({
  name: 'GenericReconCartesianFFTGadget',
  classNames: ['GenericReconCartesianFFTGadget'],
  properties: genericReconGadgetProperties,
  strict: true,
  description: 'Inverse FFT and coil-map combination of fully sampled Cartesian data',
  accepts: isReconData,
  async run(input, output, props, context) {
    const pool = reconPool();
    await forEachMessage(input, async (recon) => {
      const header = requireHeader(context, 'GenericReconCartesianFFTGadget');
      const start = performance.now();
      const arrays = await runOnPool(pool, fftReconSteps(recon, header, props, executionOf(pool)));
      if (props.perform_timing) context.log.info(`GenericReconCartesianFFTGadget: ${(performance.now() - start).toFixed(1)} ms`);
      for (const a of arrays) await output.push(a);
    });
  },
});
