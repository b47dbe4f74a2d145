import test from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { birdcageLayout, birdcageMaps, birdcageSensitivity, ringsFor } from './coil-maps.js';
import { missingPrerequisite, readComplexDataset, runTool, tempDir } from './testing.js';

/** The facts' formula: csm_c = (1/√(X² + Y²))·exp(i·(atan2(X, −Y) − 2πc/C)). */
function factsCsm(m: number, C: number, c: number, x: number, y: number): [number, number] {
  const h = Math.floor(m / 2);
  const xn = (x - h) / h;
  const yn = (y - h) / h;
  const X = xn - 1.5 * Math.cos((2 * Math.PI * c) / C);
  const Y = yn - 1.5 * Math.sin((2 * Math.PI * c) / C);
  const mag = 1 / Math.sqrt(X * X + Y * Y);
  const ph = Math.atan2(X, -Y) - (2 * Math.PI * c) / C;
  return [mag * Math.cos(ph), mag * Math.sin(ph)];
}

test('coil maps match the facts formula at every pixel for several coil counts', () => {
  for (const [m, C] of [[64, 8], [48, 3], [32, 12], [33, 1]] as const) {
    const maps = birdcageMaps({ nx: m, ny: m, nz: 1, zCentre: 0 }, birdcageLayout(C));
    for (let c = 0; c < C; c++) {
      for (let y = 0; y < m; y++) {
        for (let x = 0; x < m; x++) {
          const at = 2 * (x + m * (y + m * c));
          const [re, im] = factsCsm(m, C, c, x, y);
          assert.ok(Math.abs(maps[at] - re) < 1e-6 * Math.max(1, Math.abs(re)), `m=${m} C=${C} c=${c} (${x},${y}) re`);
          assert.ok(Math.abs(maps[at + 1] - im) < 1e-6 * Math.max(1, Math.abs(im)), `m=${m} C=${C} c=${c} (${x},${y}) im`);
        }
      }
    }
  }
});

test('coil maps reproduce values read from ismrmrd_generate_cartesian_shepp_logan (m = 128, 8 coils)', () => {
  const maps = birdcageMaps({ nx: 128, ny: 128, nz: 1, zCentre: 0 }, birdcageLayout(8));
  const at = (c: number, x: number, y: number): [number, number] => [maps[2 * (x + 128 * (y + 128 * c))], maps[2 * (x + 128 * (y + 128 * c)) + 1]];
  const close = (got: [number, number], want: [number, number]): void => {
    assert.ok(Math.abs(got[0] - want[0]) < 1e-5 && Math.abs(got[1] - want[1]) < 1e-5, `${got} vs ${want}`);
  };
  close(at(0, 64, 64), [0, -0.6666667]);
  close(at(0, 0, 0), [0.13793102, -0.3448276]);
  close(at(3, 100, 10), [-0.031761736, -0.39837068]);
  assert.ok(Math.abs(at(5, 0, 0)[1] + 11.656852) < 1e-4, 'corner next to coil 5');
});

test('coil maps: 3D volumes with ≥ 4 coils use two staggered rings that vary along z', () => {
  assert.equal(ringsFor(8, 1), 1);
  assert.equal(ringsFor(8, 16), 2);
  assert.equal(ringsFor(3, 16), 1);
  const layout = birdcageLayout(8, 2);
  assert.deepEqual(layout.map((p) => p.z), [-0.5, -0.5, -0.5, -0.5, 0.5, 0.5, 0.5, 0.5]);
  assert.ok(Math.abs(layout[4].angle - Math.PI / 4) < 1e-12, 'second ring turned by half a spacing');
  const odd = birdcageLayout(5, 2);
  assert.equal(odd.filter((p) => p.z < 0).length, 3);
  const v = birdcageMaps({ nx: 16, ny: 16, nz: 8, zCentre: 0 }, layout);
  const mag = (c: number, p: number): number => {
    const at = 2 * (8 + 16 * (8 + 16 * (p + 8 * c)));
    return Math.hypot(v[at], v[at + 1]);
  };
  assert.ok(mag(0, 2) > mag(0, 6), 'ring −0.5 is stronger at z < 0');
  assert.ok(mag(4, 6) > mag(4, 2), 'ring +0.5 is stronger at z > 0');
  const out = new Float64Array(2);
  birdcageSensitivity(layout[0], 0, 0, -0.5, out);
  assert.ok(Math.abs(Math.hypot(out[0], out[1]) - 1 / 1.5) < 1e-12, 'in the plane of its ring, 1/distance');
});

test('coil maps match the reference generator\'s /dataset/csm when it is installed', (t) => {
  const why = missingPrerequisite('ismrmrd_generate_cartesian_shepp_logan', 'h5dump');
  if (why) return t.skip(why);
  const tmp = tempDir();
  try {
    const file = join(tmp.dir, 'ref.h5');
    assert.equal(runTool('ismrmrd_generate_cartesian_shepp_logan', ['-o', file, '-m', '96', '-c', '6', '-n', '0']).status, 0);
    const ref = readComplexDataset(file, '/dataset/csm', tmp.dir);
    const ours = birdcageMaps({ nx: 96, ny: 96, nz: 1, zCentre: 0 }, birdcageLayout(6));
    assert.equal(ref.length, ours.length);
    let worst = 0;
    for (let i = 0; i < ref.length; i++) worst = Math.max(worst, Math.abs(ref[i] - ours[i]) / Math.max(1, Math.abs(ref[i])));
    assert.ok(worst < 2e-4, `relative difference ${worst} (the generator works in float32)`);
  } finally {
    tmp.remove();
  }
});
