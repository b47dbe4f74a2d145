/**
 * GenericReconCartesianReferencePrepGadget: turns the reference (calibration)
 * buffer of each encoding space into the ACS array the GRAPPA and FFT recons
 * calibrate on.
 *
 * Per encoding space: without a reference buffer the data buffer is used
 * (`prepare_ref_always`, or until one was prepared); embedded reference lines
 * may be copied into the data (`ref_fill_into_data_embedded`); the reference
 * is averaged over N (interleaved mode: divided per line by how often it was
 * sampled) and/or S, or one n / s is picked (`N_for_ref`, `S_for_ref`); the
 * sampled E1 (E2) region is detected on channel 0 and the array cropped to it
 * and to the RO sampling limits; the sampling limits are updated (E1 centre
 * kept for interleaved / unaccelerated data, the block centre otherwise).
 */
import { forEachMessage } from '../engine/channel.js';
import { defineGadget } from '../engine/gadget.js';
import { giveBackSliceBuffer } from '../engine/slice-buffers.js';
import { expandLattice, type DataBuffered, type ReconBit, type ReconData, type SamplingLimit } from '../ismrmrd/buffers.js';
import type { AcquisitionHeader } from '../ismrmrd/types.js';
import { isReconData } from '../ismrmrd/messages.js';
import type { ComplexArray } from '../ismrmrd/ndarray.js';
import type { IsmrmrdHeader } from '../ismrmrd/xml-header.js';
import { genericReconBaseProperties } from './generic-recon-common.js';
import { transposedMix, whitenedBit, whitenedBuffer } from './pending-mix.js';
import {
  averageOverNS, calibrationModeOf, cropBuffer, detectSampledRange, dims7, requireHeader, selectNS, timed, type CalibrationModeName,
} from './generic-recon-base.js';
import { copyInto } from '../kernels/copy.js';

/** Options of {@link prepareReference} (the gadget's properties). */
export interface ReferencePrepOptions {
  average_all_ref_N: boolean;
  average_all_ref_S: boolean;
  N_for_ref: number;
  S_for_ref: number;
  ref_fill_into_data_embedded: boolean;
}

/**
 * Copies reference lines sampled (at RO/2, in channels 0 and CHA − 1) into a
 * copy of the data (embedded mode). Reference line (e1, e2) is data line
 * (e1 + e1Offset, e2 + e2Offset): BucketToBuffer keeps only the block of
 * embedded calibration lines. With `lines` (the buffers' header arrays,
 * [E1, E2, N, S, LOC]), each data line filled takes the header of its
 * reference line where it had none (a line that holds data has a header).
 */
export function fillReferenceIntoData(
  data: ComplexArray, ref: ComplexArray, e1Offset = 0, e2Offset = 0,
  lines?: { data: (AcquisitionHeader | undefined)[]; ref: readonly (AcquisitionHeader | undefined)[] },
): ComplexArray {
  const [RO, E1, E2, CHA, N, S, SLC] = dims7(ref, 'fill reference lines into the data');
  const dd = dims7(data, 'fill reference lines into the data');
  if (dd[0] !== RO || e1Offset < 0 || e2Offset < 0 || E1 + e1Offset > dd[1] || E2 + e2Offset > dd[2] || dd[3] !== CHA || dd[6] !== SLC) {
    throw new RangeError(`Cannot fill embedded reference lines into the data: reference [${ref.dims.join(', ')}] and data [${data.dims.join(', ')}] differ`);
  }
  const out = Float32Array.from(data.data);
  const vol = RO * E1 * E2;
  const dvol = RO * dd[1] * dd[2];
  const c = RO >> 1;
  for (let slc = 0; slc < SLC; slc++) {
    for (let s = 0; s < Math.min(S, dd[5]); s++) {
      for (let n = 0; n < Math.min(N, dd[4]); n++) {
        const rb = vol * CHA * (n + N * (s + S * slc));
        const db = dvol * CHA * (n + dd[4] * (s + dd[5] * slc));
        for (let e2 = 0; e2 < E2; e2++) {
          for (let e1 = 0; e1 < E1; e1++) {
            const line = RO * (e1 + E1 * e2);
            const dline = RO * (e1 + e1Offset + dd[1] * (e2 + e2Offset));
            const first = 2 * (rb + line + c);
            const last = 2 * (rb + line + vol * (CHA - 1) + c);
            const sampled = Math.hypot(ref.data[first] as number, ref.data[first + 1] as number) > 0
              && Math.hypot(ref.data[last] as number, ref.data[last + 1] as number) > 0;
            if (!sampled) continue;
            for (let cha = 0; cha < CHA; cha++) {
              const from = 2 * (rb + line + vol * cha);
              copyInto(out, ref.data.subarray(from, from + 2 * RO), 2 * (db + dline + dvol * cha));
            }
            if (lines) {
              const di = e1 + e1Offset + dd[1] * (e2 + e2Offset + dd[2] * (n + dd[4] * (s + dd[5] * slc)));
              lines.data[di] ??= lines.ref[e1 + E1 * (e2 + E2 * (n + N * (s + S * slc)))] ?? lines.data.find((h) => h !== undefined);
            }
          }
        }
      }
    }
  }
  return { data: out, dims: data.dims.slice() };
}

/**
 * Averages or picks N/S of a reference array as the gadget does: with valid
 * `N_for_ref` pick that n (then average S if asked); with valid `S_for_ref`
 * pick that s (Gadgetron then does not average N); with both, pick both.
 */
export function selectOrAverageReference(ref: ComplexArray, options: ReferencePrepOptions, interleaved: boolean): ComplexArray {
  const [, , , , N, S] = dims7(ref, 'average reference data');
  const validN = options.N_for_ref >= 0 && options.N_for_ref < N;
  const validS = options.S_for_ref >= 0 && options.S_for_ref < S;
  if (!validN && !validS) return averageOverNS(ref, options.average_all_ref_N, options.average_all_ref_S, interleaved);
  if (validN && !validS) return averageOverNS(selectNS(ref, options.N_for_ref, undefined), false, options.average_all_ref_S, interleaved);
  if (!validN && validS) return averageOverNS(selectNS(ref, undefined, options.S_for_ref), false, options.average_all_ref_S, interleaved);
  return selectNS(ref, options.N_for_ref, options.S_for_ref);
}

/**
 * Prepares one reference buffer: average/select, detect the sampled E1 (E2)
 * region on the un-averaged reference, crop to it and to the RO sampling
 * limits, and update the sampling limits.
 */
export function prepareReference(ref: DataBuffered, mode: CalibrationModeName, options: ReferencePrepOptions, e: number): DataBuffered {
  const [RO, E1, E2] = dims7(ref.data, 'prepare reference data');
  if (ref.data.data.length === 0) throw new Error(`Cannot prepare reference data of encoding space ${e}: the buffer is empty`);
  const e1Range = detectSampledRange(ref.data, 1);
  if (!e1Range) throw new Error(`Cannot prepare reference data of encoding space ${e}: no readout of channel 0 is non-zero`);
  const e2Range: [number, number] = E2 > 1 ? (detectSampledRange(ref.data, 2) ?? [0, E2 - 1]) : [0, 0];
  const [l0, l1, l2] = ref.sampling.sampling_limits;
  const offset: [number, number, number] = [Math.max(0, Math.min(l0.min, RO - 1)), e1Range[0], e2Range[0]];
  const size: [number, number, number] = [
    Math.max(1, Math.min(l0.max - l0.min + 1, RO - offset[0])),
    Math.min(e1Range[1] - e1Range[0] + 1, E1 - offset[1]),
    Math.min(e2Range[1] - e2Range[0] + 1, E2 - offset[2]),
  ];
  // Averaging acts per sample, and the sampling count of interleaved data per whole readout, so cropping E1/E2 first
  // (then RO) gives the same bits as averaging the whole buffer first, for a fraction of the work.
  // BucketToBuffer already keeps only the block of embedded calibration lines: then there is nothing to crop here.
  const whole = offset[1] === 0 && offset[2] === 0 && size[1] === E1 && size[2] === E2;
  const lines = whole ? ref.data : cropBuffer(ref.data, [0, offset[1], offset[2]], [RO, size[1], size[2]]);
  const averaged = selectOrAverageReference(lines, options, mode === 'interleaved');
  const cropped = cropBuffer(averaged, [offset[0], 0, 0], size);
  const keepCentre = mode === 'interleaved' || mode === 'noacceleration';
  const ro: SamplingLimit = { min: l0.min, max: Math.min(l0.max, RO - 1), center: RO >> 1 };
  const lim1: SamplingLimit = {
    min: 0,
    max: e1Range[1] - e1Range[0],
    center: keepCentre ? l1.center - e1Range[0] : (e1Range[1] - e1Range[0] + 1) >> 1,
  };
  const lim2: SamplingLimit = {
    min: 0,
    max: e2Range[1] - e2Range[0],
    center: keepCentre ? l2.center - e2Range[0] : (e2Range[1] - e2Range[0] + 1) >> 1,
  };
  const out: DataBuffered = {
    data: cropped,
    headers: ref.headers,
    headerDims: ref.headerDims,
    sampling: { ...ref.sampling, sampling_limits: [ro, lim1, lim2] },
  };
  return out;
}

/** Per-session state and one recon buffer's processing. */
export class ReferencePreparer {
  private readonly prepared: boolean[] = [];

  constructor(private readonly header: IsmrmrdHeader, private readonly options: ReferencePrepOptions & { prepare_ref_always: boolean }) {}

  /** A new ReconData with prepared references (the input is not modified). */
  process(recon: ReconData): ReconData {
    const rbit: ReconBit[] = recon.rbit.map((bit, e) => this.processBit(bit, e));
    return { kind: 'recondata', rbit };
  }

  private processBit(input: ReconBit, e: number): ReconBit {
    if (input.data.data.data.length === 0) throw new Error(`Cannot prepare reference data of encoding space ${e}: the data buffer is empty`);
    const mode = calibrationModeOf(this.header, e);
    const whitening = input.pendingWhitening;
    const fillIntoData = mode === 'embedded' && this.options.ref_fill_into_data_embedded;
    const preparing = this.options.prepare_ref_always || !this.prepared[e];
    // A whitening left pending (src/gadgets/pending-mix.ts) is applied to the prepared reference only, and stays pending
    // for the data as a rotation; where data values are read or mixed with the reference, it is applied first.
    const bit = whitening && preparing && (!input.ref || fillIntoData) ? whitenedBit(input) : input;
    const pendingOf = (out: ReconBit): ReconBit => {
      if (!bit.pendingWhitening) return out;
      const [, , , C, N, S, SLC] = dims7(bit.data.data, 'prepare reference data');
      const V = transposedMix(bit.pendingWhitening, C);
      return { ...out, pendingRotation: { vectors: new Array<Float64Array>(N * S * SLC).fill(V) } };
    };
    let ref = bit.ref;
    if (this.options.prepare_ref_always || !this.prepared[e]) {
      if (!ref) {
        // The reference is the data (interleaved calibration): on the full grid.
        ref = expandLattice(bit.data);
        this.prepared[e] = true;
      }
    } else {
      return pendingOf({ data: bit.data });
    }
    let data = bit.data;
    if (fillIntoData) {
      // Reference lines go between the lattice lines: the data on the full grid first.
      const full = expandLattice(bit.data);
      const [, d1, d2] = full.sampling.sampling_limits;
      const [, r1, r2] = ref.sampling.sampling_limits;
      const headers = full.headers.slice();
      const filled = fillReferenceIntoData(full.data, ref.data, d1.center - r1.center, d2.center - r2.center, { data: headers, ref: ref.headers });
      data = { ...full, data: filled, headers };
    }
    const prepared = prepareReference(ref, mode, this.options, e);
    this.prepared[e] = true;
    return pendingOf({ data, ref: bit.pendingWhitening ? whitenedBuffer(prepared, bit.pendingWhitening) : prepared });
  }
}

/**
 * Hands the reference buffers of `input` back for reuse (src/engine/slice-buffers.ts) where `output` holds none of
 * their memory: this gadget is their last holder then (the prepared reference is a new, averaged or cropped array),
 * and the next slice's reference of the same size is made in the same pages instead of fresh ones.
 */
export function giveBackReferences(input: ReconData, output: ReconData): void {
  const kept = new Set<ArrayBufferLike>();
  for (const bit of output.rbit) {
    kept.add(bit.data.data.data.buffer);
    if (bit.ref) kept.add(bit.ref.data.data.buffer);
  }
  for (const bit of input.rbit) {
    const ref = bit.ref?.data.data;
    if (ref && !kept.has(ref.buffer)) giveBackSliceBuffer(ref);
  }
}

export const genericReconCartesianReferencePrepGadget = defineGadget({
  name: 'GenericReconCartesianReferencePrepGadget',
  classNames: ['GenericReconCartesianReferencePrepGadget'],
  properties: {
    ...genericReconBaseProperties,
    average_all_ref_N: { type: 'boolean', default: true, description: 'Average the reference over N (interleaved: by sampling count)' },
    average_all_ref_S: { type: 'boolean', default: false, description: 'Average the reference over S' },
    prepare_ref_always: { type: 'boolean', default: true, description: 'Prepare the reference of every buffer (else only the first)' },
    N_for_ref: { type: 'integer', default: -1, description: 'Use only this n for the reference (if valid)' },
    S_for_ref: { type: 'integer', default: -1, description: 'Use only this s for the reference (if valid)' },
    ref_fill_into_data_embedded: { type: 'boolean', default: false, description: 'Embedded mode: copy reference lines into the data' },
  },
  strict: true,
  description: 'Prepares the calibration (ACS) array of each encoding space',
  accepts: isReconData,
  async run(input, output, props, context) {
    let preparer: ReferencePreparer | undefined;
    await forEachMessage(input, async (recon) => {
      preparer ??= new ReferencePreparer(requireHeader(context, 'GenericReconCartesianReferencePrepGadget'), props);
      const p = preparer;
      const prepared = timed(context, props.perform_timing, 'GenericReconCartesianReferencePrepGadget', () => p.process(recon));
      giveBackReferences(recon, prepared);
      await output.push(prepared);
    });
  },
});
