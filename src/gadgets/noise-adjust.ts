/**
 * NoiseAdjustGadget: noise prewhitening (Roemer et al., MRM 1990;16:192;
 * Pruessmann et al., MRM 1999;42:952; Kellman & McVeigh, MRM 2005;54:1439).
 *
 * Noise readouts (flag IS_NOISE_MEASUREMENT) are consumed, never forwarded:
 * their covariance C = Σ DᴴD/(N−1) is gathered until the first imaging
 * readout. Then (or with a covariance loaded from the dependency store or a
 * `noisecovariancein` file) the whitening matrix M = s·L⁻¹, Ψ = conj(C) = L·Lᴴ,
 * s = √(2·Δt_a/Δt_n·β) (s = 1 when a dwell time is 0), is built once and every
 * later readout becomes y = M·x per sample, so that E[y yᴴ] = 2β(Δt_a/Δt_n)·I.
 * A gathered covariance is saved (store or `noisecovarianceout`) at the first
 * imaging readout, or at the end of a noise-only measurement.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { defineGadget, type GadgetContext } from '../engine/gadget.js';
import { isAcquisition } from '../ismrmrd/messages.js';
import { AcqFlag, isFlagSet, type Acquisition } from '../ismrmrd/types.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { NotPositiveDefiniteError } from '../kernels/dense.js';
import {
  accumulateNoiseCovariance, applyNoiseWhitening, maskOffDiagonal, noiseBandwidthScale, noiseWhiteningMatrix, reorderChannels,
} from '../kernels/noise-whitening.js';
import {
  DEFAULT_DEPENDENCY_TTL_SECONDS, NOISE_COVARIANCE_NAME, measurementReadTags, measurementWriteTags, noiseDependencyId,
  storageContextFromHeader,
} from '../storage/context.js';
import { SfndamFormatError, decodeNoiseCovariance, encodeNoiseCovariance, type NoiseCovariance } from '../storage/sfndam.js';
import { StorageError } from '../storage/types.js';
import { reconPool } from './generic-recon-tasks.js';
import { PooledNoiseWhitening } from './noise-whitening-pool.js';

/** Gadgetron's default relative receiver noise bandwidth β when the header gives none. */
export const DEFAULT_RECEIVER_NOISE_BANDWIDTH = 0.793;

/** A covariance ready to build a whitening matrix from. */
interface CovarianceSource {
  /** C (Gadgetron's convention), CHA × CHA: float64 when gathered here, float32 values when loaded. */
  matrix: Float64Array | Float32Array;
  channels: number;
  noiseDwellUs: number;
  /** For messages: where it came from. */
  origin: string;
}

interface Gatherer {
  acc: Float64Array | undefined;
  channels: number;
  samples: number;
  dwellUs: number;
}

/**
 * Indices of `scale_only_channels_by_name` entries that name a coil. As in
 * Gadgetron, the index is the entry's position in the comma list, not the
 * coil's index (a known Gadgetron quirk, kept so that images match).
 */
export function scaleOnlyChannelIndices(names: string, coilLabels: readonly string[]): number[] {
  if (names === '') return [];
  const out: number[] = [];
  names.split(',').forEach((raw, i) => {
    if (coilLabels.includes(raw.trim())) out.push(i);
  });
  return out;
}

/**
 * How the stored coil order maps onto the data's: undefined when the labels
 * are equal, an order (order[d] = stored index of data channel d) when they
 * are a permutation, 'different' otherwise.
 */
export function coilOrder(stored: readonly string[], current: readonly string[]): number[] | undefined | 'different' {
  if (stored.length === current.length && stored.every((l, i) => l === current[i])) return undefined;
  if (stored.length !== current.length) return 'different';
  const sortedA = [...stored].sort();
  const sortedB = [...current].sort();
  if (!sortedA.every((l, i) => l === sortedB[i])) return 'different';
  return current.map((label, d) => (stored[d] === label ? d : stored.indexOf(label)));
}

/**
 * The normalised gathered covariance C/(N−1) (N > 1), in float64: an
 * ill-conditioned coil mix needs it (rounding C to float32 perturbs the
 * whitened data by about ε·cond(C)); the stored SFNDAM copy is float32.
 */
export function normalizedCovariance(acc: Float64Array, samples: number): Float64Array {
  const out = new Float64Array(acc.length);
  const f = samples > 1 ? 1 / (samples - 1) : 1;
  for (let i = 0; i < acc.length; i++) out[i] = (acc[i] as number) * f;
  return out;
}

function isNoise(acq: Acquisition): boolean {
  return isFlagSet(acq.head.flags, AcqFlag.IS_NOISE_MEASUREMENT);
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}

/**
 * Sends a warning to the client and logs its kind (the text names
 * measurement ids, which can hold patient identifiers, so it stays out of
 * the logs).
 */
function warn(context: GadgetContext, kind: string, text: string): void {
  context.log.warn('noise adjust warning sent to the client', { kind });
  context.notify?.(text);
}

async function writeFileAtomically(path: string, data: Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const tmp = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, data);
  await rename(tmp, path);
}

/** The covariance named by `noisecovariancein`, or loaded for the header's Noise dependency; undefined to gather. */
async function loadCovariance(context: GadgetContext, coilLabels: readonly string[]): Promise<CovarianceSource | undefined> {
  const header = context.header;
  const fileIn = context.parameters?.get('noisecovariancein');
  let nc: NoiseCovariance;
  let origin: string;
  if (fileIn !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = await readFile(fileIn);
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? errorText(err);
      throw new Error(`Cannot read the noise covariance file ${fileIn} (noisecovariancein): ${code}`);
    }
    try {
      nc = decodeNoiseCovariance(bytes);
    } catch (err) {
      throw new Error(`Cannot read the noise covariance file ${fileIn} (noisecovariancein): ${errorText(err)}`);
    }
    origin = `file ${fileIn}`;
    context.log.info('noise covariance loaded from a file', { channels: nc.channels, samples: nc.sampleCount });
  } else {
    if (!header?.measurementInformation) {
      if (header) context.log.warn('the header has no measurementInformation; no noise dependency is loaded');
      return undefined;
    }
    const dependency = noiseDependencyId(header);
    if (dependency === undefined) return undefined;
    const fallback = 'noise is gathered from this measurement\'s own noise scans instead, if it has any';
    const fallbackSentence = 'Noise is gathered from this measurement\'s own noise scans instead, if it has any.';
    const storage = context.storage;
    if (!storage) {
      warn(context, 'no-store', `Cannot load the noise dependency '${dependency}': this server runs without a dependency store; ${fallback}`);
      return undefined;
    }
    let blob;
    try {
      const tags = measurementReadTags(storageContextFromHeader(header), dependency, NOISE_COVARIANCE_NAME);
      blob = await storage.latest(tags);
    } catch (err) {
      warn(context, 'load-failed', `Cannot load the noise dependency '${dependency}' from ${storage.description}: ${errorText(err)}; ${fallback}`);
      return undefined;
    }
    if (!blob) {
      warn(context, 'not-found', `Noise dependency '${dependency}' was not found in ${storage.description} (name ${NOISE_COVARIANCE_NAME}, measurement ${dependency}); was the noise measurement processed? ${fallbackSentence}`);
      return undefined;
    }
    try {
      nc = decodeNoiseCovariance(blob.data);
    } catch (err) {
      const why = err instanceof SfndamFormatError ? err.message : errorText(err);
      warn(context, 'unreadable', `The stored noise covariance of measurement '${dependency}' is unreadable (${why}); ${fallback}`);
      return undefined;
    }
    origin = `measurement ${dependency}`;
  }
  const channels = nc.channels;
  let matrix = nc.matrix;
  if (nc.labels.length === channels) {
    const order = coilOrder(nc.labels, coilLabels);
    if (Array.isArray(order)) {
      context.log.info('reordering the stored noise covariance to the coil order of this measurement');
      matrix = reorderChannels(matrix, channels, order, new Float32Array(matrix.length));
    } else if (order === 'different' && coilLabels.length === channels) {
      warn(context, 'labels-differ', `The coil labels of the noise covariance from ${origin} differ from this measurement's and cannot be matched; it is used in its stored order`);
    }
  } else if (!(nc.labels.length === 0 && coilLabels.length === 0)) {
    warn(context, 'malformed', `The noise covariance from ${origin} is malformed: ${nc.labels.length} coil labels for ${channels} channels; it is ignored and noise is gathered from this measurement's own noise scans, if it has any`);
    return undefined;
  }
  return { matrix, channels, noiseDwellUs: nc.noiseDwellTimeUs, origin };
}

/** Builds M = s·L⁻¹ from a covariance source. */
function whiteningFor(source: CovarianceSource, scaleOnly: readonly number[], acquisitionDwellUs: number, bandwidth: number): Float64Array {
  const covariance = maskOffDiagonal(Float64Array.from(source.matrix), source.channels, scaleOnly);
  const scale = noiseBandwidthScale(acquisitionDwellUs, source.noiseDwellUs, bandwidth);
  try {
    return noiseWhiteningMatrix(covariance, source.channels, scale);
  } catch (err) {
    if (err instanceof NotPositiveDefiniteError) {
      throw new Error(`Cannot compute the noise prewhitener from the noise covariance of ${source.origin}: it is not positive definite at channel ${err.index} (a dead channel or too few noise samples)`);
    }
    throw err;
  }
}

/** Saves a gathered covariance to `noisecovarianceout` or the dependency store. */
async function saveCovariance(context: GadgetContext, gatherer: Gatherer, matrix: Float64Array, coilLabels: readonly string[], bandwidth: number, noiseOnly: boolean): Promise<void> {
  const nc: NoiseCovariance = {
    channels: gatherer.channels,
    labels: [...coilLabels],
    sampleCount: gatherer.samples,
    noiseDwellTimeUs: gatherer.dwellUs,
    receiverNoiseBandwidth: bandwidth,
    matrix: Float32Array.from(matrix),
  };
  const bytes = encodeNoiseCovariance(nc);
  const fileOut = context.parameters?.get('noisecovarianceout');
  if (fileOut !== undefined) {
    try {
      await writeFileAtomically(fileOut, bytes);
      context.log.info('noise covariance written to a file', { channels: nc.channels, samples: nc.sampleCount, bytes: bytes.byteLength });
    } catch (err) {
      warn(context, 'write-failed', `Cannot write the noise covariance to ${fileOut} (noisecovarianceout): ${(err as NodeJS.ErrnoException).code ?? errorText(err)}`);
    }
    return;
  }
  const storage = context.storage;
  const ctx = storageContextFromHeader(context.header);
  if (!storage) {
    if (noiseOnly) warn(context, 'not-stored', 'The noise covariance of this measurement is not stored: this server runs without a dependency store');
    else context.log.debug('no dependency store; the gathered noise covariance is not stored');
    return;
  }
  let tags;
  try {
    tags = measurementWriteTags(ctx, NOISE_COVARIANCE_NAME);
  } catch (err) {
    if (noiseOnly) warn(context, 'not-stored', `The noise covariance of this measurement is not stored: ${errorText(err)}`);
    else context.log.debug('the gathered noise covariance is not stored: incomplete storage context', { reason: errorText(err) });
    return;
  }
  try {
    await storage.store(tags, bytes, { ttlSeconds: DEFAULT_DEPENDENCY_TTL_SECONDS, contentType: 'application/octet-stream' });
  } catch (err) {
    const why = err instanceof StorageError ? err.message : errorText(err);
    warn(context, 'save-failed', `Cannot store the noise covariance of measurement '${ctx.measurementId ?? ''}' in ${storage.description}: ${why}`);
  }
}

/** Gadgets that act on each channel of a readout alone (so commute with a channel mix) and pass every readout on. */
const PER_CHANNEL_READOUT_GADGETS = new Set(['AsymmetricEchoAdjustROGadget', 'RemoveROOversamplingGadget', 'AcquisitionAccumulateTriggerGadget']);

/**
 * True when the chain after NoiseAdjust is per-channel readout gadgets and
 * then BucketToBuffer, which applies a pending whitening itself
 * (`Acquisition.pendingChannelMix`).
 */
export function whiteningCanBeDeferred(downstream: readonly string[] | undefined): boolean {
  if (!downstream) return false;
  for (const name of downstream) {
    if (name === 'BucketToBufferGadget') return true;
    if (!PER_CHANNEL_READOUT_GADGETS.has(name)) return false;
  }
  return false;
}

/** Gadgets after BucketToBuffer that keep a deferred whitening pending until GRAPPA folds it into its unmixing weights. */
const RECON_CHAIN_TO_GRAPPA = ['GenericReconCartesianReferencePrepGadget', 'GenericReconEigenChannelGadget', 'GenericReconCartesianGrappaGadget'];

/**
 * True when the whitening can stay pending beyond BucketToBuffer: the chain
 * is per-channel readout gadgets, BucketToBuffer, ReferencePrep (which
 * whitens the prepared reference, a fraction of the readouts), an optional
 * EigenChannel (which composes its rotation with it) and GRAPPA (which folds
 * the product into its unmixing weights: the image of Σ_c u_c·(M·x)_c is the
 * image of Σ_d (Σ_c u_c·M_cd)·x_d). The readouts then go unmixed into the
 * buffers, and no readout is multiplied by the 32×32 matrix at all.
 */
export function whiteningCanBeDeferredToRecon(downstream: readonly string[] | undefined): boolean {
  if (!downstream || !whiteningCanBeDeferred(downstream)) return false;
  const rest = downstream.slice(downstream.indexOf('BucketToBufferGadget') + 1);
  if (rest[0] !== RECON_CHAIN_TO_GRAPPA[0]) return false;
  const next = rest[1] === RECON_CHAIN_TO_GRAPPA[1] ? rest[2] : rest[1];
  return next === RECON_CHAIN_TO_GRAPPA[2];
}

function coilLabelsOf(header: IsmrmrdHeader | undefined): string[] {
  return header?.acquisitionSystemInformation?.coilLabel.map((c) => c.coilName) ?? [];
}

export const noiseAdjustGadget = defineGadget({
  name: 'NoiseAdjustGadget',
  classNames: ['NoiseAdjustGadget'],
  properties: {
    noise_dependency_prefix: { type: 'string', default: 'GadgetronNoiseCovarianceMatrix', description: 'kept for old configs; unused (Gadgetron ≤ 4.1 file prefix)' },
    perform_noise_adjust: { type: 'boolean', default: true, description: 'false: noise readouts are dropped and nothing is whitened' },
    pass_nonconformant_data: { type: 'boolean', default: true, description: 'readouts whose channel count differs from the noise covariance pass unwhitened (true) or fail (false)' },
    noise_dwell_time_us_preset: { type: 'number', default: 0, description: 'kept for old configs; unused, as in Gadgetron' },
    scale_only_channels_by_name: { type: 'string', default: '', description: 'comma list of coil names whose off-diagonal covariance entries are zeroed' },
    noise_dependency_folder: { type: 'string', default: '/tmp/gadgetron', description: 'kept for old configs; unused (Gadgetron ≤ 4.1 file folder)' },
  },
  strict: false,
  description: 'Noise prewhitening from noise scans or a stored noise dependency; stores gathered noise covariances',
  accepts: isAcquisition,
  async run(input, output, props, context) {
    if (!props.perform_noise_adjust) {
      for await (const acq of input) if (!isNoise(acq)) await output.push(acq);
      return;
    }
    const header = context.header;
    const bandwidth = header?.acquisitionSystemInformation?.relativeReceiverNoiseBandwidth ?? DEFAULT_RECEIVER_NOISE_BANDWIDTH;
    const coilLabels = coilLabelsOf(header);
    const scaleOnly = scaleOnlyChannelIndices(props.scale_only_channels_by_name, coilLabels);
    let loaded = await loadCovariance(context, coilLabels);
    const gatherer: Gatherer | undefined = loaded ? undefined : { acc: undefined, channels: 0, samples: 0, dwellUs: 0 };
    let whitening: { matrix: Float64Array; channels: number; origin: string } | undefined;
    // Whitening is a channel mix, and the gadgets up to BucketToBuffer act per channel: when nothing else reads the
    // readouts on the way, BucketToBuffer applies it while placing them (after oversampling removal: half the work).
    const deferred = whiteningCanBeDeferred(context.downstream);
    // Further still: the recon chain folds it into GRAPPA's unmixing weights (whiteningCanBeDeferredToRecon).
    const toRecon = deferred && whiteningCanBeDeferredToRecon(context.downstream);
    const pool = reconPool();
    // With one worker, a readout batch would wait behind a slice's GRAPPA pieces and stall the whole stream: whiten inline then.
    const pooled = !deferred && pool.workers > 1 ? new PooledNoiseWhitening(pool, output, 16, 8) : undefined;
    let mismatchReported = false;
    let saved = false;
    for await (const acq of input) {
      if (isNoise(acq)) {
        if (gatherer && !whitening) {
          const channels = acq.head.active_channels;
          const samples = acq.head.number_of_samples;
          if (!gatherer.acc) {
            gatherer.acc = new Float64Array(2 * channels * channels);
            gatherer.channels = channels;
          }
          if (channels !== gatherer.channels) {
            context.log.warn('ignoring a noise readout with a different channel count', { channels, expected: gatherer.channels });
            continue;
          }
          if (gatherer.dwellUs === 0) gatherer.dwellUs = acq.head.sample_time_us;
          accumulateNoiseCovariance(acq.data, samples, channels, gatherer.acc);
          gatherer.samples += samples;
        }
        continue;
      }
      if (!whitening) {
        if (gatherer && gatherer.samples > 0 && gatherer.acc) {
          const matrix = normalizedCovariance(gatherer.acc, gatherer.samples);
          await saveCovariance(context, gatherer, matrix, coilLabels, bandwidth, false);
          saved = true;
          loaded = { matrix, channels: gatherer.channels, noiseDwellUs: gatherer.dwellUs, origin: 'this measurement\'s noise scans' };
        }
        if (loaded) {
          whitening = { matrix: whiteningFor(loaded, scaleOnly, acq.head.sample_time_us, bandwidth), channels: loaded.channels, origin: loaded.origin };
          context.log.info('noise prewhitening', { channels: loaded.channels, noiseDwellUs: loaded.noiseDwellUs, acquisitionDwellUs: acq.head.sample_time_us, bandwidth });
        }
      }
      if (!whitening) {
        await pooled?.flush();
        await output.push(acq);
        continue;
      }
      const channels = acq.head.active_channels;
      if (channels !== whitening.channels) {
        if (!props.pass_nonconformant_data) {
          throw new Error(`Cannot prewhiten a readout with ${channels} channels: the noise covariance of ${whitening.origin} has ${whitening.channels} channels (pass_nonconformant_data is false)`);
        }
        if (!mismatchReported) {
          mismatchReported = true;
          warn(context, 'channel-mismatch', `Readouts with ${channels} channels do not match the noise covariance of ${whitening.origin} (${whitening.channels} channels): they pass without prewhitening (pass_nonconformant_data)`);
        }
        await pooled?.flush();
        await output.push(acq);
        continue;
      }
      if (deferred) {
        await output.push(toRecon ? { ...acq, pendingChannelMix: whitening.matrix, channelMixToRecon: true } : { ...acq, pendingChannelMix: whitening.matrix });
        continue;
      }
      const samples = acq.head.number_of_samples;
      if (pooled) {
        await pooled.add(acq, samples, channels, whitening.matrix);
        continue;
      }
      const data = applyNoiseWhitening(acq.data, samples, channels, whitening.matrix, new Float32Array(2 * samples * channels));
      await output.push({ ...acq, data });
    }
    await pooled?.flush();
    if (gatherer && !saved && gatherer.acc && gatherer.samples > 0) {
      await saveCovariance(context, gatherer, normalizedCovariance(gatherer.acc, gatherer.samples), coilLabels, bandwidth, true);
    }
  },
});
