import test from 'node:test';
import assert from 'node:assert/strict';
import { AcqFlag, isFlagSet } from '../ismrmrd/types.js';
import { resolvePhantomOptions, scanGeometry } from './options.js';
import type { PhantomOptions } from './options.js';
import { plannedReadouts } from './sampling.js';
import type { PlannedReadout } from './sampling.js';

function plan(o: Omit<PhantomOptions, 'output'>): PlannedReadout[] {
  const r = resolvePhantomOptions({ output: 'unused.h5', ...o });
  return [...plannedReadouts(r, scanGeometry(r))];
}

const has = (r: PlannedReadout, f: number): boolean => isFlagSet(r.flags, f);
const CAL = AcqFlag.IS_PARALLEL_CALIBRATION;
const CAL_IMG = AcqFlag.IS_PARALLEL_CALIBRATION_AND_IMAGING;
const lines = (rs: PlannedReadout[]): number[] => rs.map((r) => r.e1);
const range = (a: number, b: number): number[] => Array.from({ length: b - a + 1 }, (_, i) => a + i);

test('sampling unaccelerated: every line once, no calibration flags, FIRST/LAST_IN_SLICE and LAST_IN_MEASUREMENT', () => {
  const rs = plan({ matrix: 64, pe: 48 });
  assert.deepEqual(lines(rs), range(0, 47));
  assert.ok(rs.every((r) => !has(r, CAL) && !has(r, CAL_IMG) && r.kind === 'imaging'));
  assert.ok(has(rs[0], AcqFlag.FIRST_IN_SLICE) && !has(rs[0], AcqFlag.LAST_IN_SLICE));
  assert.ok(has(rs[47], AcqFlag.LAST_IN_SLICE) && has(rs[47], AcqFlag.LAST_IN_MEASUREMENT));
  assert.equal(rs.filter((r) => has(r, AcqFlag.LAST_IN_MEASUREMENT)).length, 1);
});

test('sampling embedded R = 2, 24 ACS lines: even grid lines plus 12 calibration-only lines', () => {
  const rs = plan({ matrix: 128, accel: 2, acs: 24, acsMode: 'embedded' });
  const grid = range(0, 63).map((k) => 2 * k);
  const band = range(52, 75);
  assert.equal(rs.length, 64 + 12);
  assert.deepEqual(lines(rs), [...new Set([...grid, ...band])].sort((a, b) => a - b), 'ascending, grid ∪ band');
  assert.deepEqual(lines(rs.filter((r) => has(r, CAL_IMG))), band.filter((e) => e % 2 === 0));
  assert.deepEqual(lines(rs.filter((r) => has(r, CAL))), band.filter((e) => e % 2 === 1));
  assert.ok(rs.filter((r) => has(r, CAL)).every((r) => r.kind === 'calibration'));
  assert.ok(rs.every((r) => !(has(r, CAL) && has(r, CAL_IMG))));
});

test('sampling embedded R = 3 keeps the centre line on the grid', () => {
  const rs = plan({ matrix: 128, accel: 3, acs: 24, acsMode: 'embedded' });
  const grid = rs.filter((r) => !has(r, CAL)).map((r) => r.e1);
  assert.ok(grid.includes(64));
  assert.ok(grid.every((e) => (e - 64) % 3 === 0));
  assert.equal(grid.length, 43);
  assert.equal(rs.filter((r) => has(r, CAL_IMG)).length, 8);
  assert.equal(rs.filter((r) => has(r, CAL)).length, 16);
});

test('sampling separate: an ACS block flagged PARALLEL_CALIBRATION before each block of imaging lines', () => {
  const rs = plan({ matrix: 64, accel: 2, acs: 16, acsMode: 'separate', slices: 2, phases: 2 });
  assert.equal(rs.length, 4 * (16 + 32));
  for (let b = 0; b < 4; b++) {
    const block = rs.slice(48 * b, 48 * (b + 1));
    const acs = block.slice(0, 16);
    const img = block.slice(16);
    assert.deepEqual(lines(acs), range(24, 39));
    assert.ok(acs.every((r) => has(r, CAL) && r.kind === 'calibration' && !has(r, AcqFlag.FIRST_IN_SLICE)));
    assert.deepEqual(lines(img), range(0, 31).map((k) => 2 * k));
    assert.ok(img.every((r) => !has(r, CAL) && !has(r, CAL_IMG)));
    assert.ok(has(img[0], AcqFlag.FIRST_IN_SLICE) && has(img[31], AcqFlag.LAST_IN_SLICE));
    assert.ok(block.every((r) => r.slice === Math.floor(b / 2) && r.phase === b % 2));
  }
});

test('sampling interleaved: R shifted passes as in ismrmrd_generate_cartesian_shepp_logan (m = 256, R = 2, w = 24)', () => {
  const rs = plan({ matrix: 256, accel: 2, acs: 24, acsMode: 'interleaved', repetitions: 2 });
  assert.equal(rs.length, 4 * 140, '128 grid lines + 12 calibration-only lines per pass');
  for (let rep = 0; rep < 4; rep++) {
    const pass = rs.filter((r) => r.repetition === rep);
    assert.equal(pass.length, 140);
    const a = rep % 2;
    assert.equal(pass.filter((r) => has(r, CAL_IMG)).length, 12);
    assert.equal(pass.filter((r) => has(r, CAL)).length, 12);
    assert.ok(pass.filter((r) => !has(r, CAL)).every((r) => (r.e1 - a) % 2 === 0));
    assert.equal(pass[0].e1, a, 'FIRST_IN_SLICE on line a');
    assert.ok(has(pass[0], AcqFlag.FIRST_IN_SLICE));
    assert.equal(pass[139].e1, 256 - 2 + a);
    assert.ok(has(pass[139], AcqFlag.LAST_IN_SLICE));
  }
});

test('sampling 3D with R = 2 × 2: grid in E1 and E2, ACS band capped by e2, E2 outer loop', () => {
  const rs = plan({ matrix: 32, pe: 32, e2: 8, accel: 2, accelE2: 2, acs: 12, coils: 4 });
  const e2s = rs.map((r) => r.e2);
  assert.deepEqual(e2s, [...e2s].sort((a, b) => a - b), 'partitions ascend');
  const grid = rs.filter((r) => !has(r, CAL));
  assert.ok(grid.every((r) => (r.e1 - 16) % 2 === 0 && (r.e2 - 4) % 2 === 0));
  assert.equal(grid.length, 16 * 4);
  const acs = rs.filter((r) => has(r, CAL) || has(r, CAL_IMG));
  assert.equal(acs.length, 12 * 8, '12 E1 lines × min(12, 8) partitions');
  assert.equal(acs.filter((r) => has(r, CAL_IMG)).length, 6 * 4);
});

test('sampling partial Fourier: early lines missing, limits from first acquired line', () => {
  const o = resolvePhantomOptions({ output: 'x.h5', matrix: 128, partialFourier: 0.75, accel: 2, acs: 24 });
  const g = scanGeometry(o);
  assert.equal(g.firstE1, 32);
  const rs = [...plannedReadouts(o, g)];
  assert.equal(Math.min(...lines(rs)), 32);
  assert.equal(Math.max(...lines(rs)), 126, 'the grid (e1 − 64) mod 2 = 0 ends at 126');
  assert.equal(rs[0].e1, 32);
  assert.ok(has(rs[0], AcqFlag.FIRST_IN_SLICE));
});

test('sampling order: noise scans first, then repetition › pass › slice › phase blocks', () => {
  const rs = plan({ matrix: 16, pe: 8, slices: 2, phases: 3, repetitions: 2, noiseScans: 3 });
  assert.deepEqual(rs.slice(0, 3).map((r) => r.kind), ['noise', 'noise', 'noise']);
  assert.ok(rs.slice(0, 3).every((r) => has(r, AcqFlag.IS_NOISE_MEASUREMENT) && !has(r, AcqFlag.FIRST_IN_SLICE)));
  const blocks = rs.slice(3).filter((r) => has(r, AcqFlag.FIRST_IN_SLICE)).map((r) => [r.repetition, r.slice, r.phase]);
  const expected: number[][] = [];
  for (let r = 0; r < 2; r++) for (let s = 0; s < 2; s++) for (let p = 0; p < 3; p++) expected.push([r, s, p]);
  assert.deepEqual(blocks, expected);
  assert.equal(rs.filter((r) => has(r, AcqFlag.LAST_IN_SLICE)).length, 12);
  assert.ok(has(rs[rs.length - 1], AcqFlag.LAST_IN_MEASUREMENT));
});

test('sampling options are validated', () => {
  assert.throws(() => plan({ matrix: 64, accel: 2, acs: 0 }), /needs acs > 0/);
  assert.doesNotThrow(() => plan({ matrix: 64, accel: 2, acs: 0, acsMode: 'interleaved' }));
  assert.throws(() => plan({ matrix: 64, accel: 2, acs: 48, partialFourier: 0.6 }), /before the first acquired line/);
  assert.throws(() => plan({ matrix: 64, partialFourier: 0.5 }), RangeError);
  assert.throws(() => plan({ matrix: 64, asymmetricEcho: 1.2 }), RangeError);
  assert.throws(() => plan({ matrix: 64, accelE2: 2 }), /accel-e2/);
  assert.throws(() => plan({ matrix: 64, acsMode: 'external' as never }), /acs-mode/);
  assert.throws(() => plan({ matrix: 64, coilCorrelation: 1 }), /coil-correlation/);
  assert.throws(() => plan({ matrix: 64, noise: -1 }), /noise/);
  assert.throws(() => resolvePhantomOptions({ output: '' }), TypeError);
});
