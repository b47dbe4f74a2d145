/**
 * AcquisitionAccumulateTriggerGadget: gathers readouts into buckets keyed by
 * the sorting dimension and emits them when the trigger dimension changes,
 * after n readouts, or at the end of the stream. Noise readouts are dropped;
 * calibration lines go to the bucket's `ref`, imaging lines to `data`.
 */
import type { AcquisitionBucket, BucketStats } from '../ismrmrd/buffers.js';
import { AcqFlag, isFlagSet, type Acquisition, type AcquisitionHeader, type Waveform } from '../ismrmrd/types.js';
import { defineGadget } from '../engine/gadget.js';
import type { Message } from '../ismrmrd/messages.js';

const counterDimensions = [
  'kspace_encode_step_1', 'kspace_encode_step_2', 'average', 'slice', 'contrast', 'phase', 'repetition', 'set', 'segment',
  'user_0', 'user_1', 'user_2', 'user_3', 'user_4', 'user_5', 'user_6', 'user_7',
] as const;

/** Value of a named encoding counter (`user_N` for the user counters); 0 for none. */
export function counterValue(head: AcquisitionHeader, dimension: string): number {
  switch (dimension) {
    case 'kspace_encode_step_1':
    case 'kspace_encode_step_2':
    case 'average':
    case 'slice':
    case 'contrast':
    case 'phase':
    case 'repetition':
    case 'set':
    case 'segment':
      return head.idx[dimension];
    default:
      if (dimension.startsWith('user_')) return head.idx.user[Number(dimension.slice(5))] ?? 0;
      return 0;
  }
}

/** A fresh, empty statistics record. */
export function emptyBucketStats(): BucketStats {
  return {
    kspace_encode_step_1: new Set(), kspace_encode_step_2: new Set(), slice: new Set(), phase: new Set(),
    contrast: new Set(), repetition: new Set(), set: new Set(), segment: new Set(), average: new Set(),
  };
}

function addStats(stats: BucketStats[], head: AcquisitionHeader): void {
  const e = head.encoding_space_ref;
  while (stats.length <= e) stats.push(emptyBucketStats());
  const s = stats[e] as BucketStats;
  s.kspace_encode_step_1.add(head.idx.kspace_encode_step_1);
  s.kspace_encode_step_2.add(head.idx.kspace_encode_step_2);
  s.slice.add(head.idx.slice);
  s.phase.add(head.idx.phase);
  s.contrast.add(head.idx.contrast);
  s.repetition.add(head.idx.repetition);
  s.set.add(head.idx.set);
  s.segment.add(head.idx.segment);
  s.average.add(head.idx.average);
}

function newBucket(): AcquisitionBucket {
  return { kind: 'bucket', data: [], ref: [], datastats: [], refstats: [], waveforms: [] };
}

/** Adds one readout to a bucket, routing calibration and imaging lines. */
export function addToBucket(bucket: AcquisitionBucket, acq: Acquisition): void {
  const flags = acq.head.flags;
  const cal = isFlagSet(flags, AcqFlag.IS_PARALLEL_CALIBRATION);
  const calImg = isFlagSet(flags, AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING);
  const phasecorr = isFlagSet(flags, AcqFlag.IS_PHASECORR_DATA);
  if (cal || calImg) {
    bucket.ref.push(acq);
    addStats(bucket.refstats, acq.head);
  }
  if (!cal && !phasecorr) {
    bucket.data.push(acq);
    addStats(bucket.datastats, acq.head);
  }
}

const triggerValues = [...counterDimensions, 'n_acquisitions', 'none', ''] as const;
const sortingValues = [...counterDimensions, 'none', ''] as const;

export const acquisitionAccumulateTriggerGadget = defineGadget({
  name: 'AcquisitionAccumulateTriggerGadget',
  classNames: ['AcquisitionAccumulateTriggerGadget'],
  properties: {
    trigger_dimension: { type: 'enum', values: triggerValues, default: 'none', caseInsensitive: true },
    sorting_dimension: { type: 'enum', values: sortingValues, default: 'none', caseInsensitive: true },
    n_acquisitions_before_trigger: { type: 'integer', default: 40, min: 1 },
    n_acquisitions_before_ongoing_trigger: { type: 'integer', default: 40, min: 1 },
  },
  strict: false,
  description: 'Accumulates readouts into buckets and triggers on a dimension change, a count, or the end',
  accepts: (m: Message): m is Acquisition | Waveform => m.kind === 'acquisition' || m.kind === 'waveform',
  async run(input, output, props) {
    const trigger = props.trigger_dimension === '' ? 'none' : props.trigger_dimension;
    const sorting = props.sorting_dimension === '' ? 'none' : props.sorting_dimension;
    let buckets = new Map<number, AcquisitionBucket>();
    let pendingWaveforms: Waveform[] = [];
    let previous: number | undefined;
    let count = 0;
    let threshold = props.n_acquisitions_before_trigger;
    const emit = async (): Promise<void> => {
      const keys = [...buckets.keys()].sort((a, b) => a - b);
      const out = keys.map((k) => buckets.get(k) as AcquisitionBucket);
      buckets = new Map();
      for (const bucket of out) {
        if (pendingWaveforms.length > 0) {
          bucket.waveforms.push(...pendingWaveforms);
          pendingWaveforms = [];
        }
        await output.push(bucket);
      }
    };
    for await (const message of input) {
      if (message.kind === 'waveform') {
        pendingWaveforms.push(message);
        continue;
      }
      const acq = message;
      if (isFlagSet(acq.head.flags, AcqFlag.IS_NOISE_MEASUREMENT)) continue;
      if (trigger !== 'none' && trigger !== 'n_acquisitions') {
        const value = counterValue(acq.head, trigger);
        if (previous !== undefined && value !== previous) await emit();
        previous = value;
      }
      const key = sorting === 'none' ? 0 : counterValue(acq.head, sorting);
      let bucket = buckets.get(key);
      if (!bucket) {
        bucket = newBucket();
        buckets.set(key, bucket);
      }
      addToBucket(bucket, acq);
      if (trigger === 'n_acquisitions') {
        count += 1;
        if (count >= threshold) {
          await emit();
          count = 0;
          threshold = props.n_acquisitions_before_ongoing_trigger;
        }
      }
    }
    await emit();
    if (pendingWaveforms.length > 0) {
      const bucket = newBucket();
      bucket.waveforms = pendingWaveforms;
      await output.push(bucket);
    }
  },
});
