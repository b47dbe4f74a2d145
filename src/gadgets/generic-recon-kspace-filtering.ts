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
import { forEachMessage } from '../engine/channel.js';
import { defineGadget } from '../engine/gadget.js';
import type { PropertySchema } from '../engine/properties.js';
import { shareWith, sharedFloat32 } from '../engine/thread-pool.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { isImageArray } from '../ismrmrd/messages.js';
import { KSPACE_FILTER_TYPES, kspaceFilter1D, type KSpaceFilterType } from '../kernels/filters.js';
import {
  genericReconBaseProperties,
  hasMetaField,
  MetaName,
  rangeWithin,
  samplingLimitsOf,
  volumeSizes,
  withImageData,
} from './generic-recon-common.js';
import {
  executionOf, INLINE, reconPool, runInline, runOnPool, splitRange, type KSpaceFilterArgs, type ReconExecution, type ReconSteps,
} from './generic-recon-tasks.js';

/** Filter choice of one axis. */
export interface AxisFilter {
  type: KSpaceFilterType;
  sigma: number;
  width: number;
}

/**
 * Volumes per `kspaceFilter` task: a fixed number, not the thread count, so
 * that the FFTs, and so the bits, are the same for any thread count.
 */
const FILTER_GROUP = 6;

/** {@link kspaceFilterArray} as steps: the volumes filtered in tasks of {@link FILTER_GROUP}, on a pool's threads. */
export function* kspaceFilterSteps(array: ImageArray, filters: readonly [AxisFilter, AxisFilter, AxisFilter], exec: ReconExecution): ReconSteps<ImageArray> {
  const sizes = volumeSizes(array);
  const limits = samplingLimitsOf(array);
  const f = sizes.map((len, axis) => {
    const spec = filters[axis] as AxisFilter;
    if (len <= 1) return undefined;
    const range = rangeWithin(limits[axis], len);
    return kspaceFilter1D(len, spec.type, spec.sigma, spec.width, range.start, range.end);
  }) as [Float64Array | undefined, Float64Array | undefined, Float64Array | undefined];
  if (f.every((x) => x === undefined)) return array;
  const src = array.data.data;
  const vol = sizes[0] * sizes[1] * sizes[2];
  const volumes = vol === 0 ? 0 : src.length / (2 * vol);
  if (!Number.isInteger(volumes)) throw new RangeError(`Cannot filter k-space: ${src.length / 2} values are not whole volumes of [${sizes.join(', ')}]`);
  const data = shareWith(exec.shared, src);
  const out = sharedFloat32(src.length, exec.shared);
  yield splitRange(volumes, Math.ceil(volumes / FILTER_GROUP)).map(([from, to]) => ['kspaceFilter', {
    data, size: sizes, from, to, filters: f, out,
  } satisfies KSpaceFilterArgs] as const);
  return withImageData(array, out, array.data.dims);
}

/** Filters one array (see the module comment) on the calling thread; returns it unchanged when every filter is None. */
export function kspaceFilterArray(array: ImageArray, filters: readonly [AxisFilter, AxisFilter, AxisFilter]): ImageArray {
  return runInline(kspaceFilterSteps(array, filters, INLINE));
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
export const genericReconKSpaceFilteringGadget = defineGadget({
  name: 'GenericReconKSpaceFilteringGadget',
  classNames: ['GenericReconKSpaceFilteringGadget'],
  properties,
  strict: true,
  description: 'K-space apodisation (Gaussian, Hanning, tapered Hanning) of image arrays',
  accepts: isImageArray,
  async run(input, output, props) {
    const filters: [AxisFilter, AxisFilter, AxisFilter] = [
      { type: props.filterRO as KSpaceFilterType, sigma: props.filterRO_sigma, width: props.filterRO_width },
      { type: props.filterE1 as KSpaceFilterType, sigma: props.filterE1_sigma, width: props.filterE1_width },
      { type: props.filterE2 as KSpaceFilterType, sigma: props.filterE2_sigma, width: props.filterE2_width },
    ];
    const pool = reconPool();
    const exec = executionOf(pool);
    // The FFTs of a slice's images on the compute threads: the event loop goes on reading the next slice meanwhile.
    await forEachMessage(input, async (array) => {
      await output.push(hasMetaField(array, props.skip_processing_meta_field) ? array : await runOnPool(pool, kspaceFilterSteps(array, filters, exec)));
    });
  },
});
