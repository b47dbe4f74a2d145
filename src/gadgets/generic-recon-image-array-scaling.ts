/**
 * GenericReconImageArrayScalingGadget: multiplies image arrays by a factor
 * chosen by data role (meta[0] `GADGETRON_DataRole`):
 * - Gfactor → `scalingFactor_gfactor_map`; SNR_MAP → `scalingFactor_snr_map`;
 *   STD_MAP → `scalingFactor_snr_std_map`;
 * - else, when meta[0] has the attribute named by
 *   `use_dedicated_scalingFactor_meta_field` → `scalingFactor_dedicated`;
 * - else `scalingFactor` when `use_constant_scalingFactor`, otherwise an
 *   automatic factor ({@link autoScalingFactor}), computed once per encoding
 *   space when `auto_scaling_only_once`.
 * The factor is recorded in every meta container as `GADGETRON_ScaleRatio`.
 */
import { defineGadget } from '../engine/gadget.js';
import type { PropertySchema } from '../engine/properties.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { metaSet } from '../ismrmrd/meta.js';
import { isImageArray } from '../ismrmrd/messages.js';
import { scaleFloats } from '../kernels/complex-ops.js';
import { DataRole, encodingIndex, genericReconBaseProperties, hasDataRole, hasMetaField, MetaName, withImageData } from './generic-recon-common.js';

/** Volumes of [RO, E1, E2] used for the automatic factor. */
const AUTO_SCALING_VOLUMES = 24;

/**
 * Gadgetron's automatic scaling factor for an array: with mx = max|I| over
 * the middle 24 [RO, E1, E2] volumes (all of them when there are at most 24),
 * f = 2048/mx when mx lies outside [minIntensity, maxIntensity]; otherwise
 * f = 4, halved while mx·f > maxIntensity and f ≥ 2, and f = maxIntensity/mx
 * if still too large. An all-zero array gives 1.
 */
export function autoScalingFactor(array: ImageArray, minIntensity: number, maxIntensity: number): number {
  const d = array.data.dims;
  const volume = (d[0] ?? 1) * (d[1] ?? 1) * (d[2] ?? 1);
  const data = array.data.data;
  const volumes = volume === 0 ? 0 : data.length / (2 * volume);
  const first = volumes > AUTO_SCALING_VOLUMES ? (volumes - AUTO_SCALING_VOLUMES) >> 1 : 0;
  const last = volumes > AUTO_SCALING_VOLUMES ? first + AUTO_SCALING_VOLUMES : volumes;
  let mx = 0;
  for (let i = 2 * first * volume; i < 2 * last * volume; i += 2) {
    const re = data[i] as number;
    const im = data[i + 1] as number;
    const m = re * re + im * im;
    if (m > mx) mx = m;
  }
  mx = Math.sqrt(mx);
  if (!(mx > 0)) return 1;
  if (mx < minIntensity || mx > maxIntensity) return 2048 / mx;
  let f = 4;
  while (mx * f > maxIntensity && f >= 2) f /= 2;
  if (mx * f > maxIntensity) f = maxIntensity / mx;
  return f;
}

/** `array` scaled by `factor`, with `GADGETRON_ScaleRatio` = factor in every meta container. */
export function scaleImageArray(array: ImageArray, factor: number): ImageArray {
  const src = array.data.data;
  const data = scaleFloats(src, factor, new Float32Array(src.length));
  const out = withImageData(array, data, array.data.dims);
  for (const meta of out.meta) metaSet(meta, MetaName.scaleRatio, factor);
  return out;
}

const properties = {
  ...genericReconBaseProperties,
  use_constant_scalingFactor: { type: 'boolean', default: true, description: 'Use scalingFactor instead of automatic scaling' },
  scalingFactor: { type: 'number', default: 4.0, description: 'Constant factor for regular images' },
  min_intensity_value: { type: 'number', default: 64, description: 'Automatic scaling: lower bound of acceptable maxima' },
  max_intensity_value: { type: 'number', default: 4095, description: 'Automatic scaling: upper bound of acceptable maxima' },
  auto_scaling_only_once: { type: 'boolean', default: true, description: 'Automatic scaling: compute the factor once per encoding space' },
  use_dedicated_scalingFactor_meta_field: {
    type: 'string',
    default: MetaName.useDedicatedScalingFactor,
    description: 'Arrays whose meta[0] has this attribute get scalingFactor_dedicated',
  },
  scalingFactor_dedicated: { type: 'number', default: 100.0, description: 'Factor for arrays flagged for dedicated scaling' },
  scalingFactor_gfactor_map: { type: 'number', default: 100.0, description: 'Factor for g-factor maps' },
  scalingFactor_snr_map: { type: 'number', default: 10.0, description: 'Factor for SNR maps' },
  scalingFactor_snr_std_map: { type: 'number', default: 1000.0, description: 'Factor for SNR standard-deviation maps' },
} satisfies PropertySchema;

/** GenericReconImageArrayScalingGadget (legacy in Gadgetron: unknown properties are errors). */
export const genericReconImageArrayScalingGadget = defineGadget({
  name: 'GenericReconImageArrayScalingGadget',
  classNames: ['GenericReconImageArrayScalingGadget'],
  properties,
  strict: true,
  description: 'Scales image arrays by a constant, automatic or data-role specific factor',
  accepts: isImageArray,
  async run(input, output, props) {
    const autoFactors = new Map<number, number>();
    for await (const array of input) {
      let factor: number;
      if (hasDataRole(array, DataRole.gfactor)) factor = props.scalingFactor_gfactor_map;
      else if (hasDataRole(array, DataRole.snrMap)) factor = props.scalingFactor_snr_map;
      else if (hasDataRole(array, DataRole.stdMap)) factor = props.scalingFactor_snr_std_map;
      else if (hasMetaField(array, props.use_dedicated_scalingFactor_meta_field)) factor = props.scalingFactor_dedicated;
      else if (props.use_constant_scalingFactor) factor = props.scalingFactor;
      else {
        const e = encodingIndex(array);
        const known = props.auto_scaling_only_once ? autoFactors.get(e) : undefined;
        factor = known ?? autoScalingFactor(array, props.min_intensity_value, props.max_intensity_value);
        if (known === undefined) autoFactors.set(e, factor);
      }
      await output.push(scaleImageArray(array, factor));
    }
  },
});
