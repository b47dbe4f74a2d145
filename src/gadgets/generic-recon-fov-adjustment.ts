/**
 * GenericReconFieldOfViewAdjustmentGadget: brings reconstructed image arrays
 * to the recon matrix and field of view of the header's reconSpace.
 *
 * With encoded FOV e (x already the recon FOV x for Cartesian data), recon
 * FOV r and recon matrix [RO_r, E1_r, E2_r]:
 * - if |e_x/2 − r_x| < 0.1 and e_y = r_y and e_z = r_z (non-Cartesian data
 *   still carrying readout oversampling): each axis is zero-pad resized in
 *   k-space up to the recon size, or cropped in k-space down to it;
 * - else if e_y ≥ r_y and e_z ≥ r_z: E1 is resized in k-space to
 *   E1_t = E1_r when e_y = r_y, else 2·round(e_y/(2·r_y/E1_r)) (the lines that
 *   cover the encoded FOV at the recon resolution), likewise E2 (3D only),
 *   and RO to RO_r; growing uses `zero_pad_resize` (×√(new/old), intensity
 *   kept), shrinking crops k-space without rescaling (Gadgetron's choice:
 *   pixel values grow by √(old/new) and the noise variance is kept, i.e.
 *   SNR units are preserved); finally the image is cropped
 *   centrally (offset ⌊(in − out)/2⌋) to the recon matrix;
 * - otherwise the array passes unchanged.
 * Header matrix_size and field_of_view are set to the result. Unlike other
 * post-processing gadgets this one ignores `Skip_processing_after_recon`.
 */
import { defineMapGadget } from '../engine/gadget.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { isImageArray } from '../ismrmrd/messages.js';
import { cropImageCentre, fourierResizeAxis } from '../kernels/resize.js';
import { genericReconBaseProperties, geometryOf, withImageData, type ArrayGeometry } from './generic-recon-common.js';

function resizeAxis(data: Float32Array, dims: number[], axis: number, target: number, padOnly = false): Float32Array {
  const n = dims[axis];
  if (target === n || !(target >= 1)) return data;
  if (target < n && padOnly) return data;
  const scale = target > n ? Math.sqrt(target / n) : 1;
  const out = fourierResizeAxis(data, dims, axis, target, scale);
  dims[axis] = target;
  return out;
}

/** Adjusts one array to `geometry` as described in the module comment. */
export function adjustFieldOfView(array: ImageArray, geometry: ArrayGeometry): ImageArray {
  const dims = array.data.dims.slice();
  while (dims.length < 3) dims.push(1);
  const e = geometry.encodedFov;
  const r = geometry.reconFov;
  const [roR, e1R, e2R] = geometry.reconMatrix;
  const threeD = dims[2] > 1 || e2R > 1;
  let data = array.data.data;

  if (Math.abs(e[0] / 2 - r[0]) < 0.1 && e[1] === r[1] && e[2] === r[2]) {
    data = resizeAxis(data, dims, 0, roR);
    data = resizeAxis(data, dims, 1, e1R);
    if (threeD) data = resizeAxis(data, dims, 2, e2R);
  } else if (e[1] >= r[1] && e[2] >= r[2]) {
    const target = (enc: number, rec: number, matrix: number): number =>
      enc === rec || !(rec > 0) || !(matrix > 0) ? matrix : 2 * Math.round(enc / ((2 * rec) / matrix));
    data = resizeAxis(data, dims, 1, target(e[1], r[1], e1R));
    if (threeD) data = resizeAxis(data, dims, 2, target(e[2], r[2], e2R));
    data = resizeAxis(data, dims, 0, roR);
    const cropped = cropImageCentre(data, dims, [roR, e1R, threeD ? e2R : dims[2]]);
    data = cropped.data;
    dims.splice(0, dims.length, ...cropped.dims);
  } else {
    return array;
  }

  const outDims = dims.slice(0, array.data.dims.length);
  const sameSize = outDims.every((d, i) => d === array.data.dims[i]);
  // Unchanged pixels are shared with the input array, which this gadget consumes (the real-time cine: 9 MB per slice not copied).
  const out = withImageData(array, data, outDims);
  for (const h of out.headers) {
    h.matrix_size = [dims[0], dims[1], dims[2]];
    h.field_of_view = [r[0], r[1], r[2]];
  }
  if (sameSize && out.headers.every((h, i) => sameHeaderGeometry(h, array.headers[i]))) return array;
  return out;
}

function sameHeaderGeometry(a: ImageArray['headers'][number], b: ImageArray['headers'][number] | undefined): boolean {
  return (
    b !== undefined &&
    a.matrix_size.every((v, i) => v === b.matrix_size[i]) &&
    a.field_of_view.every((v, i) => Math.fround(v) === Math.fround(b.field_of_view[i] ?? NaN))
  );
}

/** GenericReconFieldOfViewAdjustmentGadget (legacy in Gadgetron: unknown properties are errors). */
export const genericReconFieldOfViewAdjustmentGadget = defineMapGadget({
  name: 'GenericReconFieldOfViewAdjustmentGadget',
  classNames: ['GenericReconFieldOfViewAdjustmentGadget'],
  properties: { ...genericReconBaseProperties },
  strict: true,
  description: 'Zero-pads or crops image arrays to the recon matrix and field of view',
  accepts: isImageArray,
  process(array, _props, context) {
    const geometry = geometryOf(array, context.header);
    if (!geometry) return array;
    return adjustFieldOfView(array, geometry);
  },
});
