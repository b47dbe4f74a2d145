/**
 * The order and flags of the phantom's readouts, without their samples.
 *
 * Order: the noise readouts, then for each repetition r, interleaved pass a
 * (one pass unless the calibration mode is interleaved), slice s and cine
 * phase φ one block: in separate mode the ACS block (every line of the ACS
 * band, flagged PARALLEL_CALIBRATION), then the imaging lines, E2 outer and
 * E1 inner, ascending. idx.repetition = r·passes + a, as in
 * `ismrmrd_generate_cartesian_shepp_logan`.
 *
 * Imaging lines, with c₁ = ⌊pe/2⌋, c₂ = ⌊e2/2⌋ and only e1 ≥ firstE1
 * (partial Fourier):
 * - not accelerated: every line, no calibration flags;
 * - embedded: the grid (e1 − c₁) mod R = 0 and (e2 − c₂) mod R₂ = 0 (so the
 *   centre line is always sampled) plus the ACS band; grid lines in the band
 *   are flagged PARALLEL_CALIBRATION_AND_IMAGING, the extra band lines
 *   PARALLEL_CALIBRATION;
 * - separate: the grid only, no calibration flags;
 * - interleaved: pass a = a₁ + R·a₂ samples (e1 − a₁) mod R = 0 and
 *   (e2 − a₂) mod R₂ = 0 (the ISMRMRD generator's shifted passes), plus the ACS
 *   band, flagged as in embedded mode.
 * The first and last imaging readouts of a block carry FIRST_IN_SLICE and
 * LAST_IN_SLICE; the last readout of the scan carries LAST_IN_MEASUREMENT.
 */
import { AcqFlag, setFlag } from '../ismrmrd/types.js';
import type { ResolvedPhantomOptions, ScanGeometry } from './options.js';

/** What a readout is: a noise scan, a calibration-only line, or imaging data (possibly also calibration). */
export type ReadoutKind = 'noise' | 'calibration' | 'imaging';

/** One planned readout: its loop counters and flags. */
export interface PlannedReadout {
  kind: ReadoutKind;
  e1: number;
  e2: number;
  slice: number;
  phase: number;
  /** idx.repetition (r·passes + pass). */
  repetition: number;
  /** Interleaved pass (0 unless interleaved). */
  pass: number;
  flags: bigint;
}

/** One line of a block: (e1, e2) and its calibration flags. */
export interface PlannedLine {
  e1: number;
  e2: number;
  flags: bigint;
}

const CAL = setFlag(0n, AcqFlag.IS_PARALLEL_CALIBRATION);
const CAL_AND_IMAGING = setFlag(0n, AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING);

function mod(x: number, n: number): number {
  return ((x % n) + n) % n;
}

function inside(i: number, r: { first: number; last: number }): boolean {
  return i >= r.first && i <= r.last;
}

/** The imaging lines of interleaved pass `pass` (0 otherwise), in acquisition order. */
export function imagingLines(o: ResolvedPhantomOptions, g: ScanGeometry, pass = 0): PlannedLine[] {
  const lines: PlannedLine[] = [];
  const R = o.accel;
  const R2 = o.accelE2;
  const interleaved = o.acsMode === 'interleaved';
  const a1 = interleaved ? pass % R : 0;
  const a2 = interleaved ? Math.floor(pass / R) : 0;
  for (let e2 = 0; e2 < o.e2; e2++) {
    for (let e1 = g.firstE1; e1 < o.pe; e1++) {
      if (!g.accelerated) {
        lines.push({ e1, e2, flags: 0n });
        continue;
      }
      const onGrid = interleaved
        ? mod(e1 - a1, R) === 0 && mod(e2 - a2, R2) === 0
        : mod(e1 - g.centreE1, R) === 0 && mod(e2 - g.centreE2, R2) === 0;
      const inBand = o.acsMode !== 'separate' && inside(e1, g.acsE1) && inside(e2, g.acsE2);
      if (inBand) lines.push({ e1, e2, flags: onGrid ? CAL_AND_IMAGING : CAL });
      else if (onGrid) lines.push({ e1, e2, flags: 0n });
    }
  }
  return lines;
}

/** The separate-mode ACS block (every line of the ACS band, PARALLEL_CALIBRATION); empty in other modes. */
export function separateCalibrationLines(o: ResolvedPhantomOptions, g: ScanGeometry): PlannedLine[] {
  if (!g.accelerated || o.acsMode !== 'separate') return [];
  const lines: PlannedLine[] = [];
  for (let e2 = g.acsE2.first; e2 <= g.acsE2.last; e2++) {
    for (let e1 = g.acsE1.first; e1 <= g.acsE1.last; e1++) lines.push({ e1, e2, flags: CAL });
  }
  return lines;
}

/** One block of readouts: repetition, pass, slice, phase. */
export interface PlannedBlock {
  repetition: number;
  pass: number;
  slice: number;
  phase: number;
}

/** The blocks in acquisition order. */
export function* plannedBlocks(o: ResolvedPhantomOptions, g: ScanGeometry): Generator<PlannedBlock> {
  for (let r = 0; r < o.repetitions; r++) {
    for (let a = 0; a < g.passes; a++) {
      for (let slice = 0; slice < o.slices; slice++) {
        for (let phase = 0; phase < o.phases; phase++) yield { repetition: r * g.passes + a, pass: a, slice, phase };
      }
    }
  }
}

/** The readouts of one block: the separate ACS lines, then the imaging lines with FIRST/LAST_IN_SLICE. */
export function blockReadouts(block: PlannedBlock, calibration: readonly PlannedLine[], imaging: readonly PlannedLine[]): PlannedReadout[] {
  const out: PlannedReadout[] = [];
  for (const l of calibration) out.push({ kind: 'calibration', ...l, slice: block.slice, phase: block.phase, repetition: block.repetition, pass: block.pass });
  imaging.forEach((l, i) => {
    let flags = l.flags;
    if (i === 0) flags = setFlag(flags, AcqFlag.FIRST_IN_SLICE);
    if (i === imaging.length - 1) flags = setFlag(flags, AcqFlag.LAST_IN_SLICE);
    const kind: ReadoutKind = l.flags === CAL ? 'calibration' : 'imaging';
    out.push({ kind, e1: l.e1, e2: l.e2, flags, slice: block.slice, phase: block.phase, repetition: block.repetition, pass: block.pass });
  });
  return out;
}

/** Every readout of the scan in order, the last one flagged LAST_IN_MEASUREMENT. */
export function* plannedReadouts(o: ResolvedPhantomOptions, g: ScanGeometry): Generator<PlannedReadout> {
  let pending: PlannedReadout | undefined;
  const emit = function* (r: PlannedReadout): Generator<PlannedReadout> {
    if (pending) yield pending;
    pending = r;
  };
  const noiseFlags = setFlag(0n, AcqFlag.IS_NOISE_MEASUREMENT);
  for (let i = 0; i < o.noiseScans; i++) {
    yield* emit({ kind: 'noise', e1: 0, e2: 0, slice: 0, phase: 0, repetition: 0, pass: 0, flags: noiseFlags });
  }
  const calibration = separateCalibrationLines(o, g);
  const imagingByPass = Array.from({ length: g.passes }, (_, a) => imagingLines(o, g, a));
  for (const block of plannedBlocks(o, g)) {
    for (const r of blockReadouts(block, calibration, imagingByPass[block.pass])) yield* emit(r);
  }
  if (pending) yield { ...pending, flags: setFlag(pending.flags, AcqFlag.LAST_IN_MEASUREMENT) };
}
