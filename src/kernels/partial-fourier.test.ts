import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fftc } from './fft.js';
import { taperValue } from './filters.js';
import {
  partialFourierFilter1D,
  partialFourierFilterKSpace,
  partialFourierPocs,
  pocsTransitionFilter1D,
  type PocsReport,
  type SampledRange,
} from './partial-fourier.js';

function meanSquare(f: ArrayLike<number>, from: number, to: number): number {
  let s = 0;
  for (let k = from; k <= to; k++) s += (f[k] as number) ** 2;
  return s / (to - from + 1);
}

function magnitudeNrmse(a: Float32Array, ref: Float64Array): number {
  let d = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    const m = Math.hypot(a[2 * i], a[2 * i + 1]);
    d += (m - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(d / r);
}

/** A real, positive two-ellipse object with a smooth background phase; returns |object| and complex image. */
function phantom(ro: number, e1: number, channels: number): { magnitude: Float64Array; image: Float32Array } {
  const magnitude = new Float64Array(ro * e1);
  const image = new Float32Array(2 * ro * e1 * channels);
  for (let y = 0; y < e1; y++) {
    for (let x = 0; x < ro; x++) {
      const u = (x - ro / 2) / ro;
      const v = (y - e1 / 2) / e1;
      let rho = 0;
      if ((u / 0.38) ** 2 + (v / 0.3) ** 2 <= 1) rho += 1;
      if (((u - 0.1) / 0.12) ** 2 + ((v + 0.05) / 0.08) ** 2 <= 1) rho += 0.5;
      magnitude[x + ro * y] = rho;
      for (let c = 0; c < channels; c++) {
        const phi = 0.6 * u + 1.5 * v * v + 0.4 * c + 0.3 * u * v;
        image[2 * (x + ro * (y + e1 * c))] = rho * Math.cos(phi);
        image[2 * (x + ro * (y + e1 * c)) + 1] = rho * Math.sin(phi);
      }
    }
  }
  return { magnitude, image };
}

test('partialFourierFilter1D: taper of ⌊len·width⌋ samples on the open end, SNR-unit normalised', () => {
  assert.equal(partialFourierFilter1D(64, { start: 0, end: 63 }, 0.15), undefined);
  const f = partialFourierFilter1D(64, { start: 0, end: 39 }, 0.15) as Float64Array;
  const s = f[0];
  for (let k = 0; k <= 30; k++) assert.ok(Math.abs(f[k] - s) < 1e-12);
  for (let i = 1; i <= 9; i++) assert.ok(Math.abs(f[39 - i + 1] / s - taperValue(i, 9)) < 1e-12, `taper ${i}`);
  for (let k = 40; k < 64; k++) assert.equal(f[k], 0);
  assert.ok(Math.abs(meanSquare(f, 0, 39) - 1) < 1e-12);

  const g = partialFourierFilter1D(64, { start: 24, end: 63 }, 0.15) as Float64Array;
  for (let i = 1; i <= 9; i++) assert.ok(Math.abs(g[24 + i - 1] / g[63] - taperValue(i, 9)) < 1e-12, `start taper ${i}`);
  assert.ok(Math.abs(meanSquare(g, 24, 63) - 1) < 1e-12);
});

test('partialFourierFilter1D: window inside both edges uses a centred filter of the longer half', () => {
  // L = max(2(50 − 32 + 1), 2(32 − 10 + 1)) = 46, offset 9, taper ⌊46·0.15⌋ = 6 on both sides
  const f = partialFourierFilter1D(64, { start: 10, end: 50 }, 0.15) as Float64Array;
  const flat = f[32];
  for (let k = 0; k < 10; k++) assert.equal(f[k], 0);
  for (let k = 51; k < 64; k++) assert.equal(f[k], 0);
  for (let i = 1; i <= 6; i++) {
    assert.ok(Math.abs(f[10 + i - 1] / flat - taperValue(i, 6)) < 1e-12, `start taper ${i}`);
    assert.ok(Math.abs(f[50 - i + 1] / flat - taperValue(i, 6)) < 1e-12, `end taper ${i}`);
  }
  assert.ok(Math.abs(meanSquare(f, 10, 50) - 1) < 1e-12);
});

test('partialFourierFilterKSpace leaves fully sampled axes alone and filters the partial one', () => {
  const dims = [8, 16, 1, 2];
  const k = new Float32Array(2 * 8 * 16 * 2).fill(1);
  partialFourierFilterKSpace(k, dims, [{ start: 0, end: 7 }, { start: 0, end: 9 }, { start: 0, end: 0 }], [0.15, 0.15, 0.15]);
  const f = partialFourierFilter1D(16, { start: 0, end: 9 }, 0.15) as Float64Array;
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < 16; y++) {
      for (let x = 0; x < 8; x++) assert.ok(Math.abs(k[2 * (x + 8 * (y + 16 * c))] - f[y]) < 1e-6);
    }
  }
});

test('pocsTransitionFilter1D is 1 on the flat part and shrinks the band to keep the centre flat', () => {
  const f = pocsTransitionFilter1D(64, { start: 0, end: 39 }, 24);
  // band reduced from 24 to 7 so that end − T ≥ 32
  for (let k = 0; k <= 32; k++) assert.equal(f[k], 1);
  for (let i = 1; i <= 7; i++) assert.ok(Math.abs(f[39 - i + 1] - taperValue(i, 7)) < 1e-12, `taper ${i}`);
  for (let k = 40; k < 64; k++) assert.equal(f[k], 0);
  assert.deepEqual(Array.from(pocsTransitionFilter1D(8, { start: 0, end: 7 }, 3)), [1, 1, 1, 1, 1, 1, 1, 1]);
});

test('POCS recovers a real-valued object from 5/8 partial Fourier far better than zero filling', (t) => {
  const ro = 64;
  const e1 = 64;
  const channels = 2;
  const dims = [ro, e1, 1, channels];
  const { magnitude, image } = phantom(ro, e1, channels);
  const full = fftc(Float32Array.from(image), dims, [0, 1], false);
  const range: SampledRange = { start: 0, end: 39 };
  const k = Float32Array.from(full);
  for (let c = 0; c < channels; c++) for (let y = range.end + 1; y < e1; y++) k.fill(0, 2 * ro * (y + e1 * c), 2 * ro * (y + 1 + e1 * c));
  const ranges: [SampledRange, SampledRange, SampledRange] = [{ start: 0, end: ro - 1 }, range, { start: 0, end: 0 }];

  const zeroFilled = fftc(Float32Array.from(k), dims, [0, 1], true);
  const report: PocsReport = { iterations: 0, change: 0 };
  const out = partialFourierPocs(k, dims, ranges, { iterations: 6, threshold: 0.01, transitionBands: [24, 24, 16] }, new Float32Array(k.length), report);
  const pocs = fftc(Float32Array.from(out), dims, [0, 1], true);
  const many = partialFourierPocs(k, dims, ranges, { iterations: 50, threshold: 1e-5, transitionBands: [24, 24, 16] }, new Float32Array(k.length));
  const pocsMany = fftc(many, dims, [0, 1], true);

  for (let c = 0; c < channels; c++) {
    const pick = (a: Float32Array): Float32Array => a.subarray(2 * ro * e1 * c, 2 * ro * e1 * (c + 1));
    const zf = magnitudeNrmse(pick(zeroFilled), magnitude);
    const p6 = magnitudeNrmse(pick(pocs), magnitude);
    const p50 = magnitudeNrmse(pick(pocsMany), magnitude);
    t.diagnostic(`channel ${c}: |image| NRMSE zero-filled ${zf.toFixed(4)}, POCS 6 iterations ${p6.toFixed(4)}, POCS converged ${p50.toFixed(4)}`);
    assert.ok(p6 < 0.5 * zf, `channel ${c}: POCS (6 iterations) NRMSE ${p6} vs zero filling ${zf}`);
    assert.ok(p50 <= p6 + 1e-6, `channel ${c}: more iterations do not help: ${p50} vs ${p6}`);
    assert.ok(p50 < 0.3 * zf, `channel ${c}: POCS (converged) NRMSE ${p50} vs zero filling ${zf}`);
  }
  assert.ok(report.iterations >= 1 && report.iterations <= 6);

  // acquired lines before the transition band (lines 0…32) are returned exactly
  for (let c = 0; c < channels; c++) {
    for (let y = 0; y <= 32; y++) {
      for (let x = 0; x < ro; x++) {
        const i = 2 * (x + ro * (y + e1 * c));
        assert.equal(out[i], k[i]);
        assert.equal(out[i + 1], k[i + 1]);
      }
    }
  }
});

test('POCS with no transition band returns the acquired samples and the estimate elsewhere', () => {
  const ro = 32;
  const e1 = 32;
  const dims = [ro, e1];
  const { image } = phantom(ro, e1, 1);
  const k = fftc(Float32Array.from(image), dims, [0, 1], false);
  for (let y = 22; y < e1; y++) k.fill(0, 2 * ro * y, 2 * ro * (y + 1));
  const ranges: [SampledRange, SampledRange, SampledRange] = [{ start: 0, end: ro - 1 }, { start: 0, end: 21 }, { start: 0, end: 0 }];
  const out = partialFourierPocs(k, dims, ranges, { iterations: 3, threshold: 0, transitionBands: [0, 0, 0] }, new Float32Array(k.length));
  for (let i = 0; i < 2 * ro * 22; i++) assert.equal(out[i], k[i]);
  let energy = 0;
  for (let i = 2 * ro * 22; i < out.length; i++) energy += out[i] * out[i];
  assert.ok(energy > 0, 'missing lines were estimated');
});

test('POCS and the filter leave fully sampled k-space unchanged', () => {
  const dims = [8, 8];
  const k = Float32Array.from({ length: 128 }, (_, i) => Math.sin(i));
  const full: [SampledRange, SampledRange, SampledRange] = [{ start: 0, end: 7 }, { start: 0, end: 7 }, { start: 0, end: 0 }];
  const out = partialFourierPocs(k, dims, full, { iterations: 6, threshold: 0.01, transitionBands: [24, 24, 16] }, new Float32Array(128));
  assert.deepEqual(Array.from(out), Array.from(k));
  const filtered = partialFourierFilterKSpace(Float32Array.from(k), dims, full, [0.15, 0.15, 0.15]);
  assert.deepEqual(Array.from(filtered), Array.from(k));
});
