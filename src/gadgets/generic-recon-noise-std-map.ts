/**
 * GenericReconNoiseStdMapComputingGadget: the "multiple replica" noise map
 * of SNR-unit reconstructions. For an array whose meta[0] data role is
 * SNR_MAP and whose N dimension (repetitions) exceeds `start_N_for_std_map`,
 * it passes the array on and then emits a second array holding, per
 * (x, cha, s, slc), the population standard deviation over
 * n = start_N_for_std_map … N−1 of |SNR map| — σ̂ = √(mean_n (|I_n| − mean|I|)²)
 * — as complex values with zero imaginary part, dims [RO, E1, E2, CHA, 1, S, SLC].
 * In an SNR-unit recon σ̂ ≈ 1 where the noise is white (Kellman & McVeigh,
 * MRM 2005;54:1439). The std-map array has data role STD_MAP, image comment
 * [GT, SNR, STD_MAP], sequence description `_STD_MAP`,
 * `Use_dedicated_scaling_factor` = 1, and image series × 10 (300 → 3000);
 * its headers and meta are those of n = 0. Other arrays pass unchanged.
 */
import { defineMapGadget } from '../engine/gadget.js';
import type { PropertySchema } from '../engine/properties.js';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { isImageArray } from '../ismrmrd/messages.js';
import { metaSet } from '../ismrmrd/meta.js';
import { DataRole, genericReconBaseProperties, hasDataRole, MetaName } from './generic-recon-common.js';

/** The std-map array of an SNR-map array (see the module comment); undefined when N ≤ startN. */
export function noiseStdMapArray(array: ImageArray, startN: number): ImageArray | undefined {
  const d = array.data.dims;
  const [ro, e1, e2, cha, n, s, slc] = [0, 1, 2, 3, 4, 5, 6].map((i) => d[i] ?? 1) as [number, number, number, number, number, number, number];
  if (n <= startN) return undefined;
  const block = ro * e1 * e2 * cha;
  const count = n - startN;
  const src = array.data.data;
  const out = new Float32Array(2 * block * s * slc);
  const sum = new Float64Array(block);
  const sumSq = new Float64Array(block);
  for (let l = 0; l < slc; l++) {
    for (let k = 0; k < s; k++) {
      sum.fill(0);
      sumSq.fill(0);
      for (let r = startN; r < n; r++) {
        const base = 2 * block * (r + n * (k + s * l));
        for (let i = 0; i < block; i++) {
          const re = src[base + 2 * i] as number;
          const im = src[base + 2 * i + 1] as number;
          const m = Math.sqrt(re * re + im * im);
          sum[i] += m;
          sumSq[i] += m * m;
        }
      }
      const dst = 2 * block * (k + s * l);
      for (let i = 0; i < block; i++) {
        const mean = sum[i] / count;
        const variance = Math.max(0, sumSq[i] / count - mean * mean);
        out[dst + 2 * i] = Math.sqrt(variance);
      }
    }
  }
  const headers = [];
  const meta = [];
  for (let l = 0; l < slc; l++) {
    for (let k = 0; k < s; k++) {
      const i = n * (k + s * l);
      const h = array.headers[i];
      if (!h) throw new RangeError(`Cannot compute std map: no header for image ${i}`);
      headers.push({ ...h, image_series_index: h.image_series_index * 10 });
      const m = new Map([...(array.meta[i] ?? new Map<string, string[]>())].map(([key, v]) => [key, v.slice()]));
      metaSet(m, MetaName.dataRole, DataRole.stdMap);
      metaSet(m, MetaName.imageComment, ['GT', 'SNR', DataRole.stdMap]);
      metaSet(m, MetaName.sequenceDescription, '_STD_MAP');
      metaSet(m, MetaName.useDedicatedScalingFactor, 1);
      meta.push(m);
    }
  }
  const result: ImageArray = {
    kind: 'imagearray',
    data: { data: out, dims: [ro, e1, e2, cha, 1, s, slc] },
    headers,
    meta,
  };
  if (array.sampling) result.sampling = array.sampling;
  return result;
}

const properties = {
  ...genericReconBaseProperties,
  start_N_for_std_map: { type: 'integer', default: 5, min: 0, description: 'First repetition used for the std map' },
} satisfies PropertySchema;

/** GenericReconNoiseStdMapComputingGadget (legacy in Gadgetron: unknown properties are errors). */
export const genericReconNoiseStdMapGadget = defineMapGadget({
  name: 'GenericReconNoiseStdMapComputingGadget',
  classNames: ['GenericReconNoiseStdMapComputingGadget'],
  properties,
  strict: true,
  description: 'Adds a standard-deviation map over repetitions of SNR-map arrays',
  accepts: isImageArray,
  process(array, props, context) {
    if (!hasDataRole(array, DataRole.snrMap)) return array;
    const std = noiseStdMapArray(array, props.start_N_for_std_map);
    if (!std) {
      const n = array.data.dims[4] ?? 1;
      context.log.warn('No std map: too few repetitions', { N: n, start_N_for_std_map: props.start_N_for_std_map });
      return array;
    }
    return [array, std];
  },
});
