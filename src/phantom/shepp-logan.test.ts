import test from 'node:test';
import assert from 'node:assert/strict';
import {
  cineEllipsoid, normalisedCoordinate, phantomEllipsoids, SHEPP_LOGAN_ELLIPSOIDS, sheppLoganValue, sheppLoganVolume,
} from './shepp-logan.js';

/** The facts' definition, written out independently: (A, a, b, x0, y0, φ°). */
const FACTS: [number, number, number, number, number, number][] = [
  [1, 0.69, 0.92, 0, 0, 0],
  [-0.8, 0.6624, 0.874, 0, -0.0184, 0],
  [-0.2, 0.11, 0.31, 0.22, 0, -18],
  [-0.2, 0.16, 0.41, -0.22, 0, 18],
  [0.1, 0.21, 0.25, 0, 0.35, 0],
  [0.1, 0.046, 0.046, 0, 0.1, 0],
  [0.1, 0.046, 0.046, 0, -0.1, 0],
  [0.1, 0.046, 0.023, -0.08, -0.605, 0],
  [0.1, 0.023, 0.023, 0, -0.606, 0],
  [0.1, 0.023, 0.046, 0.06, -0.605, 0],
];

function factsRho(m: number, x: number, y: number): number {
  const xn = (x - Math.floor(m / 2)) / Math.floor(m / 2);
  const yn = (y - Math.floor(m / 2)) / Math.floor(m / 2);
  let rho = 0;
  for (const [A, a, b, x0, y0, deg] of FACTS) {
    const phi = (deg * Math.PI) / 180;
    const xp = xn - x0;
    const yp = yn - y0;
    const u = xp * Math.cos(phi) + yp * Math.sin(phi);
    const v = yp * Math.cos(phi) - xp * Math.sin(phi);
    if ((u * u) / (a * a) + (v * v) / (b * b) <= 1) rho += A;
  }
  return rho;
}

const plain = { nz: 1, zCentre: 0, phase: 0, phases: 1 };

test('shepp-logan ellipse table matches the facts', () => {
  assert.equal(SHEPP_LOGAN_ELLIPSOIDS.length, 10);
  SHEPP_LOGAN_ELLIPSOIDS.forEach((e, i) => {
    assert.deepEqual([e.A, e.a, e.b, e.x0, e.y0, e.phiDeg], FACTS[i]);
  });
});

test('shepp-logan 2D volume equals the facts definition at every pixel (m = 128, 256, odd 67)', () => {
  for (const m of [128, 256, 67]) {
    const v = sheppLoganVolume({ nx: m, ny: m, ...plain });
    for (let y = 0; y < m; y++) {
      for (let x = 0; x < m; x++) {
        assert.ok(Math.abs(v[x + m * y] - factsRho(m, x, y)) < 1e-6, `m=${m} (${x},${y})`);
      }
    }
  }
});

test('shepp-logan values at known points and value set', () => {
  const m = 256;
  const v = sheppLoganVolume({ nx: m, ny: m, ...plain });
  const at = (x: number, y: number): number => v[x + m * y];
  assert.ok(Math.abs(at(128, 128) - 0.2) < 1e-6, 'centre is brain (1 − 0.8)');
  assert.equal(at(0, 0), 0, 'corner is outside');
  assert.ok(Math.abs(at(128, 12) - 1) < 1e-6, 'skull rim at y_n ≈ −0.91');
  assert.ok(Math.abs(at(128 + Math.round(0.22 * 128), 128)) < 1e-3, 'right ventricle is ≈ 0');
  assert.ok(Math.abs(at(128, 128 + Math.round(0.35 * 128)) - 0.3) < 1e-6, 'ellipse 5 adds 0.1');
  const values = new Set<number>();
  for (const r of v) {
    const q = Math.round(r * 1000) / 1000;
    values.add(q === 0 ? 0 : q);
  }
  assert.deepEqual([...values].sort((a, b) => a - b), [0, 0.1, 0.2, 0.3, 0.4, 1]);
});

test('shepp-logan rectangular grid normalises each axis by its own half size', () => {
  const v = sheppLoganVolume({ nx: 64, ny: 48, ...plain });
  for (const [x, y] of [[32, 24], [10, 40], [50, 5], [40, 30]] as const) {
    const expected = sheppLoganValue(normalisedCoordinate(x, 64), normalisedCoordinate(y, 48));
    assert.equal(v[x + 64 * y], Math.fround(expected));
  }
});

test('shepp-logan 3D: the z = 0 plane is the 2D phantom, planes differ and vanish beyond the skull', () => {
  const n = 32;
  const v = sheppLoganVolume({ nx: n, ny: n, nz: 16, zCentre: 0, phase: 0, phases: 1 });
  const slice2d = sheppLoganVolume({ nx: n, ny: n, ...plain });
  const plane = (p: number): Float32Array => v.subarray(n * n * p, n * n * (p + 1));
  assert.deepEqual(plane(8), slice2d, 'partition ⌊e2/2⌋ sits at z = 0');
  assert.notDeepEqual(plane(4), plane(8));
  assert.notDeepEqual(plane(6), plane(10), 'z and −z are not mirror images (features drift with z)');
  assert.ok(plane(0).every((r) => r === 0), 'z_n = −1 is outside every ellipsoid (c ≤ 0.9)');
  const slab = sheppLoganVolume({ nx: n, ny: n, nz: 1, zCentre: 0.5, phase: 0, phases: 1 });
  assert.deepEqual(slab, plane(12), 'zCentre shifts the sampled plane');
});

test('shepp-logan cine: the beating ellipse appears only with phases > 1 and changes with phase', () => {
  assert.equal(phantomEllipsoids(0, 1).length, 10);
  assert.equal(phantomEllipsoids(3, 8).length, 11);
  const a0 = cineEllipsoid(0, 8);
  const a4 = cineEllipsoid(4, 8);
  assert.ok(a4.a > a0.a && a4.b > a0.b, 'largest at mid-cycle');
  const a8 = cineEllipsoid(8, 8);
  for (const k of ['a', 'b', 'c', 'x0', 'y0'] as const) assert.ok(Math.abs(a8[k] - a0[k]) < 1e-12, `periodic in ${k}`);
  assert.ok(cineEllipsoid(2, 8).y0 > cineEllipsoid(6, 8).y0, 'moves: the cycle is not symmetric');
  const n = 64;
  const frames = [0, 2, 4].map((phase) => sheppLoganVolume({ nx: n, ny: n, nz: 1, zCentre: 0, phase, phases: 8 }));
  assert.notDeepEqual(frames[0], frames[1]);
  assert.notDeepEqual(frames[1], frames[2]);
  const still = sheppLoganVolume({ nx: n, ny: n, ...plain });
  let differ = 0;
  for (let i = 0; i < still.length; i++) if (still[i] !== frames[2][i]) differ++;
  assert.ok(differ > 0 && differ < 0.05 * n * n, `only the small ellipse changes (${differ} pixels)`);
});
