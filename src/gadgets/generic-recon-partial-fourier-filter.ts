/**
 * GenericReconPartialFourierHandlingFilterGadget: partial-Fourier handling
 * of image arrays by k-space filtering. When the sampled window of RO, E1 or
 * E2 is asymmetric (see {@link partialFourierRanges}), the images go to
 * k-space (F_c over RO/E1/E2), each partially sampled axis is multiplied by a
 * tapered-Hanning window over its sampled range (taper ⌊len·width⌋ on the
 * open side, normalised to SNR units) and the result goes back to images.
 * Arrays whose meta[0] carries `skip_processing_meta_field` (the g-factor
 * map) and fully sampled arrays pass unchanged.
 */
import { defineMapGadget } from '../engine/gadget.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { isImageArray } from '../ismrmrd/messages.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { isFullRange, partialFourierFilterKSpace } from '../kernels/partial-fourier.js';
import {
  hasMetaField,
  imageToKSpace,
  kspaceToImage,
  MetaName,
  partialFourierRanges,
  volumeSizes,
  withImageData,
} from './generic-recon-common.js';

/** Options of {@link partialFourierFilterArray}. */
export interface PartialFourierFilterOptions {
  widths: [number, number, number];
  densityComp: boolean;
}

/** Applies the partial-Fourier filter to one array; returns it unchanged when fully sampled. */
export function partialFourierFilterArray(array: ImageArray, header: IsmrmrdHeader | undefined, options: PartialFourierFilterOptions): ImageArray {
  const sizes = volumeSizes(array);
  const ranges = partialFourierRanges(array, header);
  if (ranges.every((r, a) => isFullRange(r, sizes[a]))) return array;
  const k = imageToKSpace(array);
  partialFourierFilterKSpace(k, array.data.dims, ranges, options.widths, options.densityComp);
  return withImageData(array, kspaceToImage(k, array.data.dims), array.data.dims);
}

/** GenericReconPartialFourierHandlingFilterGadget (a PureGadget in Gadgetron: unknown properties are ignored). */
export const genericReconPartialFourierFilterGadget = defineMapGadget({
  name: 'GenericReconPartialFourierHandlingFilterGadget',
  classNames: ['GenericReconPartialFourierHandlingFilterGadget'],
  properties: {
    skip_processing_meta_field: {
      type: 'string',
      default: MetaName.skipProcessingAfterRecon,
      description: 'Arrays whose meta[0] has this attribute pass unchanged',
    },
    partial_fourier_filter_RO_width: { type: 'number', default: 0.15, min: 0, description: 'Taper width as a fraction of the RO length' },
    partial_fourier_filter_E1_width: { type: 'number', default: 0.15, min: 0, description: 'Taper width as a fraction of the E1 length' },
    partial_fourier_filter_E2_width: { type: 'number', default: 0.15, min: 0, description: 'Taper width as a fraction of the E2 length' },
    partial_fourier_filter_densityComp: {
      type: 'boolean',
      default: false,
      description: 'Weight the unpaired (one-sided) k-space region by 2',
    },
  },
  strict: false,
  description: 'Partial-Fourier handling of image arrays by a tapered k-space filter',
  accepts: isImageArray,
  process(array, props, context) {
    if (hasMetaField(array, props.skip_processing_meta_field)) return array;
    return partialFourierFilterArray(array, context.header, {
      widths: [props.partial_fourier_filter_RO_width, props.partial_fourier_filter_E1_width, props.partial_fourier_filter_E2_width],
      densityComp: props.partial_fourier_filter_densityComp,
    });
  },
});
