/**
 * Test data straight from an ISMRMRD file: the k-space of one repetition,
 * assembled from the readouts without any Gantry gadget, for comparisons
 * with independent reconstructions.
 */
import assert from 'node:assert/strict';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { AcqFlag, isFlagSet } from '../../src/ismrmrd/types.js';

/** Complex k-space [RO, E1, CHA] of one repetition (noise readouts skipped). */
export interface RepetitionKspace {
  data: Float32Array;
  ro: number;
  e1: number;
  coils: number;
}

/** k-space [RO, E1, CHA] of `repetition` in `file` (group /dataset). */
export function kspaceOfRepetition(file: string, repetition: number): RepetitionKspace {
  const f = IsmrmrdFile.open(file);
  try {
    const acqs = f
      .readAcquisitions(0, f.acquisitionCount())
      .filter((a) => !isFlagSet(a.head.flags, AcqFlag.IS_NOISE_MEASUREMENT) && a.head.idx.repetition === repetition);
    const first = acqs[0];
    assert.ok(first, `no readouts for repetition ${repetition}`);
    const ro = first.head.number_of_samples;
    const coils = first.head.active_channels;
    const e1 = Math.max(...acqs.map((a) => a.head.idx.kspace_encode_step_1)) + 1;
    const data = new Float32Array(2 * ro * e1 * coils);
    for (const a of acqs) {
      const y = a.head.idx.kspace_encode_step_1;
      for (let c = 0; c < coils; c++) data.set(a.data.subarray(2 * c * ro, 2 * (c + 1) * ro), 2 * (c * ro * e1 + y * ro));
    }
    return { data, ro, e1, coils };
  } finally {
    f.close();
  }
}
