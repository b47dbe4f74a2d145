/**
 * GenericReconKSpaceFilteringGadget: k-space apodisation of image arrays.
 * k = F_c(I) over RO/E1 (and E2 when E2 > 1), k ← k·f_RO·f_E1·f_E2 with
 * separable symmetric SNR-unit filters (Gaussian σ, Hanning, tapered Hanning
 * of width fraction w, or None; {@link kspaceFilter1D}) adapted to each
 * axis's sampling limits, then I = F_c⁻¹(k). Arrays whose meta[0] carries
 * `skip_processing_meta_field` (the g-factor map) pass unchanged; SNR maps
 * are filtered like images. With all three filters None the array passes
 * unchanged (no FFT round trip).
 */
import { defineMapGadget } from '../engine/gadget.js';
import type { PropertySchema } from '../engine/properties.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { isImageArray } from '../ismrmrd/messages.js';
import { applySeparableFilter, KSPACE_FILTER_TYPES, kspaceFilter1D, type KSpaceFilterType } from '../kernels/filters.js';
import {
  genericReconBaseProperties,
  hasMetaField,
  imageToKSpace,
  kspaceToImage,
  MetaName,
  rangeWithin,
  samplingLimitsOf,
  volumeSizes,
  withImageData,
} from './generic-recon-common.js';

/** Filter choice of one axis. */
export interface AxisFilter {
  type: KSpaceFilterType;
  sigma: number;
  width: number;
}

/** Filters one array (see the module comment); returns it unchanged when every filter is None. */
export function kspaceFilterArray(array: ImageArray, filters: readonly [AxisFilter, AxisFilter, AxisFilter]): ImageArray {
  const sizes = volumeSizes(array);
  const limits = samplingLimitsOf(array);
  const f = sizes.map((len, axis) => {
    const spec = filters[axis] as AxisFilter;
    if (len <= 1) return undefined;
    const range = rangeWithin(limits[axis], len);
    return kspaceFilter1D(len, spec.type, spec.sigma, spec.width, range.start, range.end);
  });
  if (f.every((x) => x === undefined)) return array;
  const k = imageToKSpace(array);
  applySeparableFilter(k, array.data.dims, f[0], f[1], f[2]);
  return withImageData(array, kspaceToImage(k, array.data.dims), array.data.dims);
}

const filterType = (axis: string) =>
  ({
    type: 'enum',
    values: KSPACE_FILTER_TYPES,
    default: 'Gaussian',
    caseInsensitive: true,
    description: `K-space filter along ${axis}: Gaussian, Hanning, TaperedHanning or None`,
  }) as const;

const properties = {
  ...genericReconBaseProperties,
  skip_processing_meta_field: {
    type: 'string',
    default: MetaName.skipProcessingAfterRecon,
    description: 'Arrays whose meta[0] has this attribute pass unchanged',
  },
  filterRO: filterType('RO'),
  filterRO_sigma: { type: 'number', default: 1.0, min: 0, description: 'Gaussian σ along RO (larger is smoother)' },
  filterRO_width: { type: 'number', default: 0.15, min: 0, description: 'Tapered-Hanning taper as a fraction of RO' },
  filterE1: filterType('E1'),
  filterE1_sigma: { type: 'number', default: 1.0, min: 0, description: 'Gaussian σ along E1' },
  filterE1_width: { type: 'number', default: 0.15, min: 0, description: 'Tapered-Hanning taper as a fraction of E1' },
  filterE2: filterType('E2'),
  filterE2_sigma: { type: 'number', default: 1.0, min: 0, description: 'Gaussian σ along E2' },
  filterE2_width: { type: 'number', default: 0.15, min: 0, description: 'Tapered-Hanning taper as a fraction of E2' },
} satisfies PropertySchema;

/** GenericReconKSpaceFilteringGadget (legacy in Gadgetron: unknown properties are errors). */
export const genericReconKSpaceFilteringGadget = defineMapGadget({
  name: 'GenericReconKSpaceFilteringGadget',
  classNames: ['GenericReconKSpaceFilteringGadget'],
  properties,
  strict: true,
  description: 'K-space apodisation (Gaussian, Hanning, tapered Hanning) of image arrays',
  accepts: isImageArray,
  process(array, props) {
    if (hasMetaField(array, props.skip_processing_meta_field)) return array;
    return kspaceFilterArray(array, [
      { type: props.filterRO as KSpaceFilterType, sigma: props.filterRO_sigma, width: props.filterRO_width },
      { type: props.filterE1 as KSpaceFilterType, sigma: props.filterE1_sigma, width: props.filterE1_width },
      { type: props.filterE2 as KSpaceFilterType, sigma: props.filterE2_sigma, width: props.filterE2_width },
    ]);
  },
});
