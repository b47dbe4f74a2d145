import test from 'node:test';
import assert from 'node:assert/strict';
import { coilCombine, CoilCombineOperator, coilMapInati, coilMapInatiIter } from './coil-maps.js';
import { adjointMismatch } from './linear-operator.js';
import { birdcageCoilMaps, coilImages, ellipseObject, normaliseMaps, randomObject } from './testing.js';

/** Pixels inside the object eroded by ~4 pixels. */
function innerMask(RO: number, E1: number, E2 = 1): Uint8Array {
  const mask = new Uint8Array(RO * E1 * E2);
  for (let z = 0; z < E2; z++) {
    for (let y = 0; y < E1; y++) {
      for (let x = 0; x < RO; x++) {
        const u = (x - RO / 2) / (0.38 * RO);
        const v = (y - E1 / 2) / (0.42 * E1);
        const w = E2 > 1 ? (z - E2 / 2) / (0.42 * E2) : 0;
        if (u * u + v * v + w * w < 0.7) mask[x + RO * (y + E1 * z)] = 1;
      }
    }
  }
  return mask;
}

/** Largest per-pixel ‖m − e^{iα}·t‖ inside the mask, α the best global phase. */
function mapError(m: Float32Array, t: Float32Array, vol: number, CHA: number, mask: Uint8Array, alignPhase: boolean): number {
  let cr = 0;
  let ci = 0;
  for (let c = 0; c < CHA; c++) {
    for (let p = 0; p < vol; p++) {
      if (!mask[p]) continue;
      const tr = t[2 * (p + vol * c)] as number;
      const ti = t[2 * (p + vol * c) + 1] as number;
      const mr = m[2 * (p + vol * c)] as number;
      const mi = m[2 * (p + vol * c) + 1] as number;
      cr += tr * mr + ti * mi;
      ci += tr * mi - ti * mr;
    }
  }
  const a = alignPhase ? Math.atan2(ci, cr) : 0;
  const er = Math.cos(a);
  const ei = Math.sin(a);
  let worst = 0;
  for (let p = 0; p < vol; p++) {
    if (!mask[p]) continue;
    let s = 0;
    for (let c = 0; c < CHA; c++) {
      const tr = t[2 * (p + vol * c)] as number;
      const ti = t[2 * (p + vol * c) + 1] as number;
      const dr = (m[2 * (p + vol * c)] as number) - (tr * er - ti * ei);
      const di = (m[2 * (p + vol * c) + 1] as number) - (tr * ei + ti * er);
      s += dr * dr + di * di;
    }
    worst = Math.max(worst, Math.sqrt(s));
  }
  return worst;
}

function setup(RO: number, E1: number, E2: number, CHA: number) {
  const vol = RO * E1 * E2;
  const maps = birdcageCoilMaps(RO, E1, E2, CHA);
  const object = ellipseObject(RO, E1, E2);
  const images = coilImages(object, maps, vol, CHA);
  const truth = normaliseMaps(maps, vol, CHA);
  return { vol, maps, object, images, truth, mask: innerMask(RO, E1, E2) };
}

test('Inati maps of a rank-1 object match the normalised true maps (2D)', () => {
  const [RO, E1, CHA] = [64, 56, 8];
  const { vol, object, images, truth, mask, maps } = setup(RO, E1, 1, CHA);
  const m = coilMapInati(images, [RO, E1, 1, CHA], 7, 5, 3, new Float32Array(images.length));
  const err = mapError(m, truth, vol, CHA, mask, false);
  assert.ok(err < 0.03, `max ‖m − c/‖c‖‖ inside the object: ${err}`);
  for (let p = 0; p < vol; p++) {
    let s = 0;
    for (let c = 0; c < CHA; c++) s += (m[2 * (p + vol * c)] as number) ** 2 + (m[2 * (p + vol * c) + 1] as number) ** 2;
    if ((object[2 * p] as number) > 0) assert.ok(Math.abs(s - 1) < 1e-5, `Σ|m|² = ${s} at ${p}`);
  }
  const combined = coilCombine(images, m, vol, CHA, new Float32Array(2 * vol));
  let worst = 0;
  for (let p = 0; p < vol; p++) {
    if (!mask[p]) continue;
    let n = 0;
    for (let c = 0; c < CHA; c++) n += (maps[2 * (p + vol * c)] as number) ** 2 + (maps[2 * (p + vol * c) + 1] as number) ** 2;
    const expected = (object[2 * p] as number) * Math.sqrt(n);
    worst = Math.max(worst, Math.abs(Math.hypot(combined[2 * p] as number, combined[2 * p + 1] as number) - expected) / expected);
  }
  assert.ok(worst < 1e-3, `|Σ conj(m)·x| vs ρ‖c‖: ${worst}`);
});

test('Inati maps in 3D match the normalised true maps', () => {
  const [RO, E1, E2, CHA] = [40, 36, 20, 6];
  const { vol, images, truth, mask } = setup(RO, E1, E2, CHA);
  const m = coilMapInati(images, [RO, E1, E2, CHA], 7, 5, 3, new Float32Array(images.length));
  const err = mapError(m, truth, vol, CHA, mask, false);
  assert.ok(err < 0.05, `3D: ${err}`);
});

test('Inati_Iter maps match the normalised true maps up to a global phase', () => {
  const [RO, E1, CHA] = [64, 56, 8];
  const { vol, images, truth, mask } = setup(RO, E1, 1, CHA);
  const m = coilMapInatiIter(images, [RO, E1, 1, CHA], 7, 5, 10, 1e-4, new Float32Array(images.length));
  const err = mapError(m, truth, vol, CHA, mask, true);
  assert.ok(err < 0.03, `Inati_Iter: ${err}`);
  const [nx, ny, nz, c3] = [40, 36, 20, 6];
  const s3 = setup(nx, ny, nz, c3);
  const m3 = coilMapInatiIter(s3.images, [nx, ny, nz, c3], 7, 5, 10, 1e-4, new Float32Array(s3.images.length));
  const err3 = mapError(m3, s3.truth, s3.vol, c3, s3.mask, true);
  assert.ok(err3 < 0.06, `Inati_Iter 3D: ${err3}`);
});

test('coil maps of one channel are a copy of the input', () => {
  const im = randomObject(30, 4);
  assert.deepEqual(coilMapInati(im, [5, 6, 1, 1], 7, 5, 3, new Float32Array(60)), im);
  assert.deepEqual(coilMapInatiIter(im, [5, 6, 1, 1], 7, 5, 10, 1e-4, new Float32Array(60)), im);
  assert.throws(() => coilMapInati(im, [5, 5, 1, 1], 7, 5, 3, new Float32Array(60)), /Cannot estimate Inati coil maps/);
});

test('coil combination passes the adjoint test', () => {
  const maps = randomObject(40 * 3, 1);
  const op = new CoilCombineOperator(maps, 40, 3);
  assert.ok(adjointMismatch(op, randomObject(120, 2), randomObject(40, 3)) < 1e-6);
});
