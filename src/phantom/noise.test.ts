import test from 'node:test';
import assert from 'node:assert/strict';
import { choleskyLower, noiseCovariance, ReceiverNoise, relativeNoiseCovariance } from './noise.js';
import { SeededRandom } from './random.js';

const get = (a: Float64Array, n: number, i: number, j: number): [number, number] => [a[2 * (i + n * j)], a[2 * (i + n * j) + 1]];

type Vec = Float64Array;

function matVec(a: Float64Array, n: number, x: Vec): Vec {
  const y = new Float64Array(2 * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const [ar, ai] = get(a, n, i, j);
      y[2 * i] += ar * x[2 * j] - ai * x[2 * j + 1];
      y[2 * i + 1] += ar * x[2 * j + 1] + ai * x[2 * j];
    }
  }
  return y;
}

/** Solves L·Lᴴ·x = b with the lower Cholesky factor. */
function cholSolve(l: Float64Array, n: number, b: Vec): Vec {
  const y = Float64Array.from(b);
  for (let i = 0; i < n; i++) {
    for (let k = 0; k < i; k++) {
      const [lr, li] = get(l, n, i, k);
      y[2 * i] -= lr * y[2 * k] - li * y[2 * k + 1];
      y[2 * i + 1] -= lr * y[2 * k + 1] + li * y[2 * k];
    }
    y[2 * i] /= get(l, n, i, i)[0];
    y[2 * i + 1] /= get(l, n, i, i)[0];
  }
  for (let i = n - 1; i >= 0; i--) {
    for (let k = i + 1; k < n; k++) {
      const [lr, li] = get(l, n, k, i);
      y[2 * i] -= lr * y[2 * k] + li * y[2 * k + 1];
      y[2 * i + 1] -= lr * y[2 * k + 1] - li * y[2 * k];
    }
    y[2 * i] /= get(l, n, i, i)[0];
    y[2 * i + 1] /= get(l, n, i, i)[0];
  }
  return y;
}

function rayleigh(a: Float64Array, n: number, x: Vec): number {
  const y = matVec(a, n, x);
  let num = 0, den = 0;
  for (let i = 0; i < n; i++) {
    num += x[2 * i] * y[2 * i] + x[2 * i + 1] * y[2 * i + 1];
    den += x[2 * i] ** 2 + x[2 * i + 1] ** 2;
  }
  return num / den;
}

function normalise(x: Vec): Vec {
  const s = Math.hypot(...x);
  return x.map((v) => v / s);
}

/** λmax/λmin by power and inverse power iteration (the Cholesky factor exists only if Ψ is positive definite). */
function conditionNumber(psi: Float64Array, n: number): number {
  const l = choleskyLower(psi, n);
  let hi: Vec = normalise(new Float64Array(2 * n).map((_, k) => 1 + (k % 3)));
  let lo: Vec = Float64Array.from(hi);
  for (let it = 0; it < 2000; it++) {
    hi = normalise(matVec(psi, n, hi));
    lo = normalise(cholSolve(l, n, lo));
  }
  const min = rayleigh(psi, n, lo);
  assert.ok(min > 0, `positive definite (smallest eigenvalue ${min})`);
  return rayleigh(psi, n, hi) / min;
}

/** Sample covariance (1/N) Σ n nᴴ of readouts laid out [samples, channels]. */
function sampleCovariance(readouts: Float32Array[], samples: number, C: number): Float64Array {
  const acc = new Float64Array(2 * C * C);
  let n = 0;
  for (const d of readouts) {
    for (let t = 0; t < samples; t++) {
      for (let j = 0; j < C; j++) {
        const br = d[2 * (t + samples * j)], bi = d[2 * (t + samples * j) + 1];
        for (let i = 0; i < C; i++) {
          const ar = d[2 * (t + samples * i)], ai = d[2 * (t + samples * i) + 1];
          acc[2 * (i + C * j)] += ar * br + ai * bi;
          acc[2 * (i + C * j) + 1] += ai * br - ar * bi;
        }
      }
      n++;
    }
  }
  return acc.map((v) => v / n);
}

test('noise covariance is the identity without correlation and 2σ²·Ψ₀ in absolute units', () => {
  const psi0 = relativeNoiseCovariance(5, 0);
  for (let i = 0; i < 5; i++) for (let j = 0; j < 5; j++) assert.deepEqual(get(psi0, 5, i, j), [i === j ? 1 : 0, 0]);
  const psi = noiseCovariance(4, 0.4, 0.05);
  const rel = relativeNoiseCovariance(4, 0.4);
  psi.forEach((v, k) => assert.ok(Math.abs(v - 2 * 0.0025 * rel[k]) < 1e-15));
});

test('noise covariance with correlation is Hermitian, positive definite and ill-conditioned', () => {
  for (const C of [2, 8, 16]) {
    const psi = relativeNoiseCovariance(C, 0.5);
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        const [a, b] = get(psi, C, i, j);
        const [c, d] = get(psi, C, j, i);
        assert.ok(Math.abs(a - c) < 1e-15 && Math.abs(b + d) < 1e-15, 'Hermitian');
      }
    }
    conditionNumber(psi, C);
  }
  const k8 = [0.3, 0.5, 0.9].map((k) => conditionNumber(relativeNoiseCovariance(8, k), 8));
  assert.ok(k8[0] > 10 && k8[1] > 100 && k8[2] > 1e4, `condition numbers ${k8.join(', ')}`);
  assert.ok(k8[0] < k8[1] && k8[1] < k8[2]);
  assert.throws(() => relativeNoiseCovariance(4, 1), RangeError);
  assert.throws(() => relativeNoiseCovariance(4, -0.1), RangeError);
});

test('cholesky factor reproduces the covariance and rejects indefinite matrices', () => {
  const C = 6;
  const psi = relativeNoiseCovariance(C, 0.7);
  const l = choleskyLower(psi, C);
  for (let i = 0; i < C; i++) {
    for (let j = 0; j < C; j++) {
      let re = 0, im = 0;
      for (let k = 0; k < C; k++) {
        const [ar, ai] = get(l, C, i, k);
        const [br, bi] = get(l, C, j, k);
        re += ar * br + ai * bi;
        im += ai * br - ar * bi;
      }
      const [wr, wi] = get(psi, C, i, j);
      assert.ok(Math.abs(re - wr) < 1e-12 && Math.abs(im - wi) < 1e-12, `(${i},${j})`);
      if (j > i) assert.deepEqual(get(l, C, i, j), [0, 0], 'lower triangular');
    }
  }
  const bad = new Float64Array(8);
  bad[0] = 1; bad[6] = -1;
  assert.throws(() => choleskyLower(bad, 2), /not positive definite/);
});

test('receiver noise has the requested covariance within statistical tolerance', () => {
  for (const [C, kappa, sigma] of [[4, 0, 0.05], [6, 0.6, 0.1]] as const) {
    const noise = new ReceiverNoise(C, kappa, sigma, new SeededRandom(7));
    const samples = 512;
    const readouts = Array.from({ length: 60 }, () => noise.addTo(new Float32Array(2 * samples * C), samples));
    const est = sampleCovariance(readouts, samples, C);
    const N = samples * readouts.length;
    for (let i = 0; i < C; i++) {
      for (let j = 0; j < C; j++) {
        const [er, ei] = get(est, C, i, j);
        const [wr, wi] = get(noise.covariance, C, i, j);
        const se = Math.sqrt(noise.covariance[2 * (i + C * i)] * noise.covariance[2 * (j + C * j)] / N);
        assert.ok(Math.hypot(er - wr, ei - wi) < 6 * se, `C=${C} κ=${kappa} (${i},${j}): ${er},${ei} vs ${wr},${wi} (se ${se})`);
      }
    }
  }
});

test('receiver noise with σ = 0 leaves data untouched', () => {
  const rng = new SeededRandom(3);
  const noise = new ReceiverNoise(2, 0.3, 0, rng);
  const d = Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8]);
  noise.addTo(d, 2);
  assert.deepEqual([...d], [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.throws(() => noise.addTo(d, 3), RangeError);
});
