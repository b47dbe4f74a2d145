/**
 * GenericReconPartialFourierHandlingPOCSGadget: partial-Fourier handling of
 * image arrays by POCS (Haacke et al., JMR 1991;92:126). When the sampled
 * window of RO, E1 or E2 is asymmetric (see {@link partialFourierRanges}),
 * the missing k-space is estimated by alternating a low-resolution phase
 * constraint with data consistency ({@link partialFourierPocs}), then
 * blended with the acquired samples over a transition band. Arrays whose
 * meta[0] carries `skip_processing_meta_field` and fully sampled arrays
 * pass unchanged.
 */
import { defineMapGadget } from '../engine/gadget.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { isImageArray } from '../ismrmrd/messages.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { isFullRange, partialFourierPocs, type PocsOptions, type PocsReport } from '../kernels/partial-fourier.js';
import {
  hasMetaField,
  imageToKSpace,
  kspaceToImage,
  MetaName,
  partialFourierRanges,
  volumeSizes,
  withImageData,
} from './generic-recon-common.js';

/** Applies POCS to one array; returns it unchanged when fully sampled. */
export function partialFourierPocsArray(
  array: ImageArray,
  header: IsmrmrdHeader | undefined,
  options: PocsOptions,
  report?: PocsReport,
): ImageArray {
  const sizes = volumeSizes(array);
  const ranges = partialFourierRanges(array, header);
  if (ranges.every((r, a) => isFullRange(r, sizes[a]))) return array;
  const k = imageToKSpace(array);
  partialFourierPocs(k, array.data.dims, ranges, options, k, report);
  return withImageData(array, kspaceToImage(k, array.data.dims), array.data.dims);
}

/** GenericReconPartialFourierHandlingPOCSGadget (a PureGadget in Gadgetron: unknown properties are ignored). */
export const genericReconPartialFourierPocsGadget = defineMapGadget({
  name: 'GenericReconPartialFourierHandlingPOCSGadget',
  classNames: ['GenericReconPartialFourierHandlingPOCSGadget'],
  properties: {
    skip_processing_meta_field: {
      type: 'string',
      default: MetaName.skipProcessingAfterRecon,
      description: 'Arrays whose meta[0] has this attribute pass unchanged',
    },
    partial_fourier_POCS_iters: { type: 'integer', default: 6, min: 0, description: 'Maximum POCS iterations' },
    partial_fourier_POCS_thres: { type: 'number', default: 0.01, min: 0, description: 'Stop when the relative image change falls below this' },
    partial_fourier_POCS_transitBand: { type: 'integer', default: 24, min: 0, description: 'Transition band (samples) in RO and E1' },
    partial_fourier_POCS_transitBand_E2: { type: 'integer', default: 16, min: 0, description: 'Transition band (samples) in E2' },
  },
  strict: false,
  description: 'Partial-Fourier handling of image arrays by POCS',
  accepts: isImageArray,
  process(array, props, context) {
    if (hasMetaField(array, props.skip_processing_meta_field)) return array;
    const report: PocsReport = { iterations: 0, change: 0 };
    const out = partialFourierPocsArray(
      array,
      context.header,
      {
        iterations: props.partial_fourier_POCS_iters,
        threshold: props.partial_fourier_POCS_thres,
        transitionBands: [props.partial_fourier_POCS_transitBand, props.partial_fourier_POCS_transitBand, props.partial_fourier_POCS_transitBand_E2],
      },
      report,
    );
    if (out !== array) context.log.debug('POCS partial Fourier', { iterations: report.iterations, change: report.change });
    return out;
  },
});
