/**
 * GenericReconCartesianFFTGadget: reconstruction of fully sampled Cartesian
 * data by a centred inverse FFT (2D, or 3D when E2 > 1) and coil-map
 * combination I = Σ_c conj(m_c)·x_c, with no other scaling. The maps come
 * from the reference buffer (low-resolution, Hanning-filtered, as for
 * GRAPPA) or, without one, from the data k-space itself; Inati or
 * Inati_Iter. Output per encoding space e: an image array
 * [RO, E1, E2, 1, N, S, SLC], series image_series + e + 1, role Image.
 */
import { defineGadget } from '../engine/gadget.js';
import type { DataBuffered, ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { isReconData } from '../ismrmrd/messages.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { coilCombine } from '../kernels/coil-maps.js';
import { fftc } from '../kernels/fft.js';
import { DataRole } from './generic-recon-common.js';
import {
  calibrationModeOf, dims7, estimateCoilMaps, genericReconGadgetProperties, makeImageArray, makeRefCoilMapKspace, prepareImageArray,
  requireHeader, type CoilMapOptions, type Dims7,
} from './generic-recon-base.js';

/** Inverse FFT and coil combination of one buffer with maps [RO, E1, E2, CHA, N', S', SLC]. */
export function fftCombine(data: DataBuffered, maps: ComplexArray, e: number): ComplexArray {
  const [RO, E1, E2, CHA, N, S, SLC] = dims7(data.data, 'reconstruct by FFT');
  const [mRO, mE1, mE2, mCHA, mN, mS, mSLC] = maps.dims as Dims7;
  if (mRO !== RO || mE1 !== E1 || mE2 !== E2) {
    throw new RangeError(`Cannot combine coils of encoding space ${e}: the coil maps are [${mRO}, ${mE1}, ${mE2}], the data [${RO}, ${E1}, ${E2}]`);
  }
  if (mCHA !== CHA) throw new RangeError(`Cannot combine coils of encoding space ${e}: the data have ${CHA} channels, the coil maps ${mCHA}`);
  if (mSLC !== SLC) throw new RangeError(`Cannot combine coils of encoding space ${e}: the data have ${SLC} slices, the coil maps ${mSLC}`);
  const vol = RO * E1 * E2;
  const block = vol * CHA;
  const out = new Float32Array(2 * vol * N * S * SLC);
  const im = new Float32Array(2 * block);
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const b = n + N * (s + S * slc);
        im.set(data.data.data.subarray(2 * block * b, 2 * block * (b + 1)));
        fftc(im, [RO, E1, E2, CHA], E2 > 1 ? [0, 1, 2] : [0, 1], true);
        const mb = Math.min(n, mN - 1) + mN * (Math.min(s, mS - 1) + mS * slc);
        coilCombine(im, maps.data.subarray(2 * block * mb, 2 * block * (mb + 1)), vol, CHA, out.subarray(2 * vol * b, 2 * vol * (b + 1)));
      }
    }
  }
  return { data: out, dims: [RO, E1, E2, 1, N, S, SLC] };
}

/** Reconstructs every encoding space of one buffer; returns the arrays to send. */
export function fftRecon(recon: ReconData, header: IsmrmrdHeader, options: CoilMapOptions & { image_series: number }): ImageArray[] {
  const out: ImageArray[] = [];
  recon.rbit.forEach((bit, e) => {
    if (bit.data.data.data.length === 0) throw new Error(`Cannot reconstruct encoding space ${e}: the data buffer is empty`);
    const [RO, E1, E2] = dims7(bit.data.data, 'reconstruct by FFT');
    const lowRes = bit.ref ? makeRefCoilMapKspace(bit.ref, [RO, E1, E2], calibrationModeOf(header, e)) : bit.data.data;
    const maps = estimateCoilMaps(lowRes, options);
    const images = makeImageArray(fftCombine(bit.data, maps, e), bit.data, header, e);
    out.push(prepareImageArray(images, header, e, options.image_series + e + 1, DataRole.image));
  });
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
    for await (const recon of input) {
      const header = requireHeader(context, 'GenericReconCartesianFFTGadget');
      const start = performance.now();
      const arrays = fftRecon(recon, header, props);
      if (props.perform_timing) context.log.info(`GenericReconCartesianFFTGadget: ${(performance.now() - start).toFixed(1)} ms`);
      for (const a of arrays) await output.push(a);
    }
  },
});
