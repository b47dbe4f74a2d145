/**
 * NoiseSummaryGadget: answers the dependency query that
 * gadgetron_ismrmrd_client makes before sending a scan with a Noise
 * dependency. At the end of its (usually empty) input it looks up the stored
 * noise covariance of `noise_file` (`GadgetronNoiseCovarianceMatrix_<id>` or
 * a bare measurement id) and emits one dependency-query message (id 1019)
 * whose meta holds `status` (`success`/`failed`), `channels`, `min_sigma`,
 * `max_sigma`, `mean_sigma` (σ_c = √Re C_cc) and `noise_dwell_time_us`.
 */
import { defineGadget, type GadgetContext } from '../engine/gadget.js';
import { isAcquisition, type DependencyQueryMessage } from '../ismrmrd/messages.js';
import { metaSet, serializeMeta, type MetaContainer } from '../ismrmrd/meta.js';
import {
  LEGACY_NOISE_PREFIX, NOISE_COVARIANCE_NAME, measurementReadTags, storageContextFromHeader,
} from '../storage/context.js';
import { decodeNoiseCovariance, type NoiseCovariance } from '../storage/sfndam.js';

/** Per-channel noise standard deviations σ_c = √Re C_cc: minimum, maximum and mean. */
export function noiseSigmas(nc: NoiseCovariance): { min: number; max: number; mean: number } {
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (let c = 0; c < nc.channels; c++) {
    const sigma = Math.sqrt(Math.max(0, nc.matrix[2 * (c + nc.channels * c)] as number));
    min = Math.min(min, sigma);
    max = Math.max(max, sigma);
    sum += sigma;
  }
  return { min, max, mean: nc.channels > 0 ? sum / nc.channels : 0 };
}

/** The measurement id a `noise_file` value names (the legacy file prefix and `_` stripped). */
export function measurementIdOfNoiseFile(noiseFile: string): string {
  const prefix = `${LEGACY_NOISE_PREFIX}_`;
  return noiseFile.startsWith(prefix) ? noiseFile.slice(prefix.length) : noiseFile;
}

async function summarize(noiseFile: string, context: GadgetContext): Promise<MetaContainer> {
  const meta: MetaContainer = new Map();
  const failed = (why: string): MetaContainer => {
    context.log.info('noise summary: no stored noise', { reason: why });
    return metaSet(meta, 'status', 'failed');
  };
  const id = measurementIdOfNoiseFile(noiseFile);
  if (id === '') return failed('no noise_file given');
  const storage = context.storage;
  if (!storage) return failed('no dependency store');
  let nc: NoiseCovariance;
  try {
    const blob = await storage.latest(measurementReadTags(storageContextFromHeader(context.header), id, NOISE_COVARIANCE_NAME));
    if (!blob) return failed('not found');
    nc = decodeNoiseCovariance(blob.data);
  } catch (err) {
    return failed(err instanceof Error ? err.message : String(err));
  }
  const { min, max, mean } = noiseSigmas(nc);
  metaSet(meta, 'noise_dwell_time_us', nc.noiseDwellTimeUs);
  metaSet(meta, 'min_sigma', min);
  metaSet(meta, 'max_sigma', max);
  metaSet(meta, 'mean_sigma', mean);
  metaSet(meta, 'channels', nc.channels);
  metaSet(meta, 'status', 'success');
  return meta;
}

export const noiseSummaryGadget = defineGadget({
  name: 'NoiseSummaryGadget',
  classNames: ['NoiseSummaryGadget'],
  properties: {
    noise_file: { type: 'string', default: '', description: 'GadgetronNoiseCovarianceMatrix_<measurementID> (or the bare id) of the noise measurement' },
  },
  strict: true,
  description: 'Answers a dependency query with statistics of a stored noise covariance (message 1019)',
  accepts: isAcquisition,
  async run(input, output, props, context) {
    for await (const _acq of input) {
      // a dependency query has no input; readouts sent anyway are consumed
    }
    const meta = await summarize(props.noise_file, context);
    const message: DependencyQueryMessage = { kind: 'dependencyquery', xml: serializeMeta(meta) };
    await output.push(message);
  },
});
