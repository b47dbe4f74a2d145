import { test } from 'node:test';
import assert from 'node:assert/strict';
import { fftc } from './fft.js';
import { adjointMismatch } from './linear-operator.js';
import {
  applySeparableFilter,
  asymmetricFilter,
  kspaceFilter1D,
  kspaceFilterOperator,
  padFilterCentre,
  symmetricFilter,
  symmetricFilterRef,
  taperValue,
} from './filters.js';
import { seededRandom } from './testing.js';

/** Uniform in [0, 1): the shared generator, shifted (the same bits as dividing by 2³²). */
function rng(seed: number): () => number {
  const r = seededRandom(seed);
  return () => (r() + 1) / 2;
}

/** Complex white Gaussian noise, unit variance per real component. */
function gaussianNoise(n: number, seed: number): Float32Array {
  const u = rng(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < out.length; i += 2) {
    const r = Math.sqrt(-2 * Math.log(1 - u()));
    const a = 2 * Math.PI * u();
    out[i] = r * Math.cos(a);
    out[i + 1] = r * Math.sin(a);
  }
  return out;
}

function meanSquare(f: ArrayLike<number>, from = 0, to = f.length - 1): number {
  let s = 0;
  for (let k = from; k <= to; k++) s += (f[k] as number) ** 2;
  return s / (to - from + 1);
}

function assertClose(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} vs ${expected}`);
}

test('symmetricFilter Gaussian σ=1 len 256 matches the known normalised values', () => {
  const f = symmetricFilter(256, 'Gaussian', 1);
  assert.equal(f[0], 0);
  assertClose(f[128], 1.1606, 5e-5, 'f(128)');
  assertClose(f[255], 0.7039, 5e-5, 'f(255)');
  assertClose(meanSquare(f), 1, 1e-12, 'Σf²/len');
});

test('symmetricFilter Gaussian odd length is exp(−σ²x²/2) on x ∈ [−1, 1], normalised', () => {
  const sigma = 1.5;
  const f = symmetricFilter(5, 'Gaussian', sigma);
  const raw = [-1, -0.5, 0, 0.5, 1].map((x) => Math.exp((-sigma * sigma * x * x) / 2));
  const s = 1 / Math.sqrt(raw.reduce((a, v) => a + v * v, 0) / 5);
  raw.forEach((v, k) => assertClose(f[k], v * s, 1e-12, `f(${k})`));
});

test('symmetricFilter Hanning even and odd lengths match sin² closed forms', () => {
  const even = symmetricFilter(8, 'Hanning');
  for (let k = 0; k < 8; k++) assertClose(even[k], Math.sqrt(8 / 3) * Math.sin((Math.PI * k) / 8) ** 2, 1e-12, `even f(${k})`);
  const odd = symmetricFilter(7, 'Hanning');
  for (let k = 0; k < 7; k++) assertClose(odd[k], Math.sin((Math.PI * (k + 1)) / 8) ** 2 / Math.sqrt(3 / 7), 1e-12, `odd f(${k})`);
});

test('symmetricFilter TaperedHanning tapers W samples at both ends', () => {
  const w = [1, 2, 3].map((i) => 0.5 * (1 - Math.cos((2 * Math.PI * i) / 7)));
  const f = symmetricFilter(16, 'TaperedHanning', 1, 3);
  const raw = new Array<number>(16).fill(1);
  raw[0] = 0;
  for (let i = 1; i <= 3; i++) {
    raw[i] = w[i - 1] as number;
    raw[16 - i] = w[i - 1] as number;
  }
  const s = 1 / Math.sqrt(meanSquare(raw));
  raw.forEach((v, k) => assertClose(f[k], v * s, 1e-12, `even f(${k})`));
  const g = symmetricFilter(9, 'TaperedHanning', 1, 3);
  const rawOdd = new Array<number>(9).fill(1);
  for (let i = 1; i <= 3; i++) {
    rawOdd[i - 1] = w[i - 1] as number;
    rawOdd[9 - i] = w[i - 1] as number;
  }
  const so = 1 / Math.sqrt(meanSquare(rawOdd));
  rawOdd.forEach((v, k) => assertClose(g[k], v * so, 1e-12, `odd f(${k})`));
  assert.deepEqual(Array.from(symmetricFilter(6, 'TaperedHanning', 1, 0)), Array.from(symmetricFilter(6, 'TaperedHanning', 1, 1)));
  assert.deepEqual(Array.from(symmetricFilter(6, 'TaperedHanning', 1, 6)), Array.from(symmetricFilter(6, 'TaperedHanning', 1, 1)));
});

test('symmetricFilter None is all ones and every type has Σf²/len = 1', () => {
  assert.deepEqual(Array.from(symmetricFilter(5, 'None')), [1, 1, 1, 1, 1]);
  for (const type of ['Gaussian', 'Hanning', 'TaperedHanning', 'None'] as const) {
    for (const len of [1, 2, 3, 16, 17, 128, 255]) {
      assertClose(meanSquare(symmetricFilter(len, type, 1, Math.ceil(0.15 * len))), 1, 1e-12, `${type} ${len}`);
    }
  }
});

test('asymmetricFilter tapers the open end inside the sampled window and is SNR-unit normalised', () => {
  const f = asymmetricFilter(32, 0, 20, 4);
  const raw = new Array<number>(32).fill(0);
  for (let k = 0; k <= 20; k++) raw[k] = 1;
  for (let i = 1; i <= 4; i++) raw[20 - i + 1] = taperValue(i, 4);
  const s = 1 / Math.sqrt(raw.reduce((a, v) => a + v * v, 0) / 21);
  raw.forEach((v, k) => assertClose(f[k], v * s, 1e-12, `f(${k})`));
  assertClose(meanSquare(f, 0, 20), 1, 1e-12, 'Σf²/(end − start + 1)');

  const g = asymmetricFilter(32, 10, 31, 3, { normalise: false });
  for (let k = 0; k < 10; k++) assert.equal(g[k], 0);
  for (let i = 1; i <= 3; i++) assertClose(g[10 + i - 1], taperValue(i, 3), 1e-15, `start taper ${i}`);
  for (let k = 13; k < 32; k++) assert.equal(g[k], 1);

  assert.deepEqual(Array.from(asymmetricFilter(8, 2, 5, 0, { normalise: false })), [0, 0, 1, 1, 1, 1, 0, 0]);
});

test('asymmetricFilter densityComp weights the unpaired region by 2 with a 1 + w transition', () => {
  const f = asymmetricFilter(32, 0, 20, 3, { densityComp: true, normalise: false });
  // centre 16, paired region [12, 20]; unpaired [0, 11]
  for (let k = 0; k <= 8; k++) assert.equal(f[k], 2);
  for (let i = 1; i <= 3; i++) assertClose(f[12 - i], 1 + taperValue(i, 3), 1e-15, `transition ${i}`);
  for (let k = 12; k <= 17; k++) assert.equal(f[k], 1);
  for (let i = 1; i <= 3; i++) assertClose(f[20 - i + 1], taperValue(i, 3), 1e-15, `end taper ${i}`);
});

test('symmetricFilterRef is a Hanning over the symmetric centre', () => {
  assert.deepEqual(Array.from(symmetricFilterRef(16, 0, 15)), Array.from(symmetricFilter(16, 'Hanning')));
  const f = symmetricFilterRef(32, 0, 20);
  const h = symmetricFilter(9, 'Hanning');
  for (let k = 0; k < 32; k++) assertClose(f[k], k >= 12 && k <= 20 ? (h[k - 12] as number) : 0, 1e-15, `f(${k})`);
  assert.equal(f[16], Math.max(...f));
});

test('kspaceFilter1D rescales partially sampled axes over the sampled window', () => {
  assert.equal(kspaceFilter1D(64, 'None', 1, 0.15), undefined);
  assert.deepEqual(Array.from(kspaceFilter1D(64, 'Gaussian', 1, 0.15) ?? []), Array.from(symmetricFilter(64, 'Gaussian', 1)));
  const edge = kspaceFilter1D(64, 'Hanning', 1, 0.15, 0, 40) as Float64Array;
  assertClose(meanSquare(edge, 0, 40), 1, 1e-12, 'edge window');
  const inner = kspaceFilter1D(64, 'TaperedHanning', 1, 0.15, 10, 40) as Float64Array;
  // r = min(64, 2·max(32 − 10, 40 − 32) + 1) = 45, centre-padded: support [10, 54]
  const ref = padFilterCentre(symmetricFilter(45, 'TaperedHanning', 1, Math.ceil(0.15 * 45)), 64);
  assert.equal(inner[9], 0);
  assert.ok(inner[10] > 0);
  const s = inner[32] / ref[32];
  for (let k = 0; k < 64; k++) assertClose(inner[k], ref[k] * s, 1e-12, `f(${k})`);
  assertClose(meanSquare(inner, 10, 40), 1, 1e-12, 'inner window');
  assert.deepEqual(Array.from(kspaceFilter1D(16, 'Gaussian', 1, 0.15, 3, 99) ?? []), Array.from(symmetricFilter(16, 'Gaussian', 1)));
});

test('applySeparableFilter multiplies by fRO·fE1·fE2 on every trailing index', () => {
  const dims = [5, 4, 3, 2];
  const n = 5 * 4 * 3 * 2;
  const r = rng(3);
  const x = Float32Array.from({ length: 2 * n }, () => r() - 0.5);
  const fRO = Float64Array.from({ length: 5 }, () => r());
  const fE1 = Float64Array.from({ length: 4 }, () => r());
  const fE2 = Float64Array.from({ length: 3 }, () => r());
  const y = applySeparableFilter(Float32Array.from(x), dims, fRO, fE1, fE2);
  for (let c = 0; c < 2; c++) {
    for (let k2 = 0; k2 < 3; k2++) {
      for (let k1 = 0; k1 < 4; k1++) {
        for (let k0 = 0; k0 < 5; k0++) {
          const i = k0 + 5 * (k1 + 4 * (k2 + 3 * c));
          const g = fRO[k0] * fE1[k1] * fE2[k2];
          assertClose(y[2 * i], Math.fround(x[2 * i] * g), 1e-6, 're');
          assertClose(y[2 * i + 1], Math.fround(x[2 * i + 1] * g), 1e-6, 'im');
        }
      }
    }
  }
  const only = applySeparableFilter(Float32Array.from(x), dims, undefined, fE1);
  assertClose(only[2 * (2 + 5 * 3)], Math.fround(x[2 * (2 + 5 * 3)] * fE1[3]), 1e-6, 'E1 only');
  assert.throws(() => applySeparableFilter(Float32Array.from(x), dims, fE1), RangeError);
});

test('normalised filters keep the variance of white noise (Parseval, SNR units)', () => {
  const dims = [64, 48, 1, 64];
  const n = 64 * 48 * 64;
  for (const type of ['Gaussian', 'Hanning', 'TaperedHanning'] as const) {
    const image = gaussianNoise(n, 11);
    const before = meanSquare(image);
    const k = fftc(Float32Array.from(image), dims, [0, 1], false);
    applySeparableFilter(k, dims, symmetricFilter(64, type, 1, 10), symmetricFilter(48, type, 1, 8));
    fftc(k, dims, [0, 1], true);
    const ratio = meanSquare(k) / before;
    assert.ok(Math.abs(ratio - 1) < 0.01, `${type}: noise power ratio ${ratio}`);
  }
});

test('k-space filtering operator F⁻¹·diag(f)·F passes the adjoint identity', () => {
  const dims = [12, 10, 3, 2];
  const n = 12 * 10 * 3 * 2;
  const op = kspaceFilterOperator(dims, symmetricFilter(12, 'Gaussian', 2), asymmetricFilter(10, 0, 7, 2), symmetricFilter(3, 'Hanning'));
  const mismatch = adjointMismatch(op, gaussianNoise(n, 5), gaussianNoise(n, 6));
  assert.ok(mismatch < 1e-6, `adjoint mismatch ${mismatch}`);
  assert.throws(() => op.forward(new Float32Array(4), new Float32Array(2 * n)), RangeError);
});
