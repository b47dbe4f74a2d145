import test from 'node:test';
import assert from 'node:assert/strict';
import {
  applyUnmixing,
  calibrateGrappa,
  grappaConvolutionKernel,
  grappaImageDomainKernel,
  grappaKernelPattern,
  GrappaKspaceConvolution,
  grappaUnmixing,
  GrappaUnmixingOperator,
  grappaSystem,
  normalEquationPiece,
  normalEquations,
  normalSplit,
  solveGrappa,
} from './grappa.js';
import { cgemm, cherk } from './blas.js';
import { fftc } from './fft.js';
import { adjointMismatch } from './linear-operator.js';
import { nrmse } from './complex-ops.js';
import {
  bandLimitedCoilMaps, coilImages, extractLines, normaliseMaps, randomObject, seededRandom, toImages, toKspace, undersample,
} from './testing.js';

const RO = 64;
const E1 = 60;
const CHA = 8;
const vol = RO * E1;
const dims = [RO, E1, 1, CHA];
const maps = bandLimitedCoilMaps(RO, E1, 1, CHA, 7, 2);
const full = toKspace(coilImages(randomObject(vol, 3), maps, vol, CHA), dims);
const acsLines = 32;
const acsStart = E1 / 2 - acsLines / 2;
const acs = extractLines(full, dims, acsStart, acsLines);
const acsDims = [RO, acsLines, 1, CHA];

function calibrate(R: number, fitItself: boolean, lambda = 5e-4) {
  return calibrateGrappa(acs, acsDims, acs, CHA, { accelE1: R, kRO: 5, kE1: 4, lambda, fitItself });
}

test('grappaKernelPattern follows the E1 offsets and targets of the facts', () => {
  const p = grappaKernelPattern({ accelE1: 2, kRO: 5, kE1: 4, fitItself: true });
  assert.deepEqual(p.ro, [-2, -1, 0, 1, 2]);
  assert.deepEqual(p.e1, [-2, 0, 2, 4]);
  assert.deepEqual(p.e2, [0]);
  assert.deepEqual(p.targets, [[0, 0], [1, 0]]);
  const q = grappaKernelPattern({ accelE1: 4, kRO: 4, kE1: 5, fitItself: false });
  assert.deepEqual(q.ro, [-2, -1, 0, 1, 2], 'even kRO rounded up to odd');
  assert.deepEqual(q.e1, [-8, -4, 0, 4, 8]);
  assert.deepEqual(q.targets, [[1, 0], [2, 0], [3, 0]]);
  const r = grappaKernelPattern({ accelE1: 2, accelE2: 2, kRO: 5, kE1: 4, kE2: 4, threeD: true, fitItself: true });
  assert.deepEqual(r.e2, [-2, 0, 2, 4]);
  assert.equal(r.targets.length, 4);
});

test('GRAPPA recovers a fully sampled k-space from R = 2, 3, 4 (noise-free, smooth coils)', () => {
  for (const R of [2, 3, 4]) {
    for (const fitItself of [false, true]) {
      for (const [lambda, bound] of [[1e-6, 2e-3], [5e-4, 0.1]] as const) {
        const cal = calibrate(R, fitItself, lambda);
        const conv = grappaConvolutionKernel(cal);
        const zf = undersample(full, dims, R, 0);
        const op = new GrappaKspaceConvolution(conv, [RO, E1, 1]);
        const rec = op.forward(zf, new Float32Array(full.length));
        const err = nrmse(rec, full);
        assert.ok(err < bound, `R=${R} fitItself=${fitItself} λ=${lambda}: NRMSE ${err}`);
        if (!fitItself) {
          const acquired = undersample(rec, dims, R, 0);
          assert.ok(nrmse(acquired, zf) < 1e-6, 'acquired lines are preserved by the identity');
        }
      }
    }
  }
});

test('image-domain GRAPPA kernel equals the k-space convolution', () => {
  const R = 3;
  const conv = grappaConvolutionKernel(calibrate(R, true));
  for (const size of [[RO, E1, 1], [33, 20, 1]] as const) {
    const [nx, ny] = size;
    const n = nx * ny;
    const zf = randomObject(n * CHA, 11);
    const k = new GrappaKspaceConvolution(conv, [nx, ny, 1]).forward(zf, new Float32Array(zf.length));
    const lhs = fftc(Float32Array.from(k), [nx, ny, 1, CHA], [0, 1], true);
    const aliased = fftc(Float32Array.from(zf), [nx, ny, 1, CHA], [0, 1], true);
    const rhs = new Float32Array(zf.length);
    const kIm = new Float32Array(2 * n);
    for (let d = 0; d < CHA; d++) {
      for (let s = 0; s < CHA; s++) {
        grappaImageDomainKernel(conv, [nx, ny, 1], s, d, kIm);
        for (let p = 0; p < n; p++) {
          const kr = kIm[2 * p] as number;
          const ki = kIm[2 * p + 1] as number;
          const ar = aliased[2 * (p + n * s)] as number;
          const ai = aliased[2 * (p + n * s) + 1] as number;
          rhs[2 * (p + n * d)] = (rhs[2 * (p + n * d)] as number) + kr * ar - ki * ai;
          rhs[2 * (p + n * d) + 1] = (rhs[2 * (p + n * d) + 1] as number) + kr * ai + ki * ar;
        }
      }
    }
    const err = nrmse(rhs, lhs);
    assert.ok(err < 2e-5, `[${nx}, ${ny}]: ${err}`);
  }
});

test('unmixing weights combine the GRAPPA coil images with the coil maps', () => {
  const R = 2;
  const conv = grappaConvolutionKernel(calibrate(R, true));
  const m = normaliseMaps(maps, vol, CHA);
  const u = new Float32Array(2 * vol * CHA);
  const g = new Float32Array(vol);
  grappaUnmixing(conv, m, [RO, E1, 1], R, u, g);
  const zf = undersample(full, dims, R, 0);
  const aliased = toImages(zf, dims);
  const combined = applyUnmixing(aliased, u, vol, CHA, new Float32Array(2 * vol));
  const kFull = new GrappaKspaceConvolution(conv, [RO, E1, 1]).forward(zf, new Float32Array(zf.length));
  const coil = toImages(kFull, dims);
  const expected = new Float32Array(2 * vol);
  for (let c = 0; c < CHA; c++) {
    for (let p = 0; p < vol; p++) {
      const mr = m[2 * (p + vol * c)] as number;
      const mi = -(m[2 * (p + vol * c) + 1] as number);
      const xr = coil[2 * (p + vol * c)] as number;
      const xi = coil[2 * (p + vol * c) + 1] as number;
      expected[2 * p] = (expected[2 * p] as number) + mr * xr - mi * xi;
      expected[2 * p + 1] = (expected[2 * p + 1] as number) + mr * xi + mi * xr;
    }
  }
  assert.ok(nrmse(combined, expected) < 2e-5);
  for (let p = 0; p < vol; p++) assert.ok((g[p] as number) > 0.3 && Number.isFinite(g[p] as number));
});

test('g-factor is 1 at R = 1 and matches Monte-Carlo pseudo-replicas at R = 2 and 3', () => {
  const m = normaliseMaps(maps, vol, CHA);
  {
    const conv = grappaConvolutionKernel(calibrate(1, false));
    const u = new Float32Array(2 * vol * CHA);
    const g = new Float32Array(vol);
    grappaUnmixing(conv, m, [RO, E1, 1], 1, u, g);
    let worst = 0;
    for (let p = 0; p < vol; p++) worst = Math.max(worst, Math.abs((g[p] as number) - 1));
    assert.ok(worst < 1e-5, `max |g − 1| = ${worst}`);
  }
  for (const R of [2, 3]) {
    const conv = grappaConvolutionKernel(calibrate(R, true));
    const u = new Float32Array(2 * vol * CHA);
    const g = new Float32Array(vol);
    grappaUnmixing(conv, m, [RO, E1, 1], R, u, g);
    let sampled = 0;
    for (let y = 0; y < E1; y++) if (y % R === 0) sampled++;
    const scale = Math.sqrt(E1 / sampled) / R;
    const rnd = seededRandom(100 + R);
    const gauss = (): number => {
      const a = (rnd() + 1) / 2 || 1e-12;
      const b = (rnd() + 1) / 2;
      return Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b);
    };
    const replicas = 200;
    const sumSq = new Float64Array(vol);
    const noise = new Float32Array(2 * vol * CHA);
    const out = new Float32Array(2 * vol);
    for (let k = 0; k < replicas; k++) {
      noise.fill(0);
      for (let c = 0; c < CHA; c++) {
        for (let y = 0; y < E1; y += R) {
          for (let x = 0; x < RO; x++) {
            const i = 2 * (x + RO * y + vol * c);
            noise[i] = gauss();
            noise[i + 1] = gauss();
          }
        }
      }
      fftc(noise, dims, [0, 1], true);
      for (let i = 0; i < noise.length; i++) noise[i] = (noise[i] as number) * scale;
      applyUnmixing(noise, u, vol, CHA, out);
      for (let p = 0; p < vol; p++) sumSq[p] = (sumSq[p] as number) + (out[2 * p] as number) ** 2;
    }
    let ratio = 0;
    for (let p = 0; p < vol; p++) ratio += Math.sqrt((sumSq[p] as number) / replicas) / (g[p] as number);
    ratio /= vol;
    assert.ok(Math.abs(ratio - 1) < 0.02, `R=${R}: mean σ̂/g = ${ratio}`);
  }
});

test('GRAPPA operators pass the adjoint test', () => {
  const conv = grappaConvolutionKernel(calibrate(3, false));
  const op = new GrappaKspaceConvolution(conv, [20, 18, 1]);
  const x = randomObject(20 * 18 * CHA, 1);
  const y = randomObject(20 * 18 * CHA, 2);
  assert.ok(adjointMismatch(op, x, y) < 1e-6);
  const u = randomObject(50 * CHA, 3);
  const un = new GrappaUnmixingOperator(u, 50, CHA);
  assert.ok(adjointMismatch(un, randomObject(50 * CHA, 4), randomObject(50, 5)) < 1e-6);
});

test('3D GRAPPA recovers k-space undersampled in E1 and E2', () => {
  const nx = 20;
  const ny = 20;
  const nz = 16;
  const c = 8;
  const n = nx * ny * nz;
  const d3 = [nx, ny, nz, c];
  const m3 = bandLimitedCoilMaps(nx, ny, nz, c, 5, 1);
  const k3 = toKspace(coilImages(randomObject(n, 9), m3, n, c), d3);
  const ay = 16;
  const az = 14;
  const acs3 = new Float32Array(2 * nx * ay * az * c);
  for (let ch = 0; ch < c; ch++) {
    for (let z = 0; z < az; z++) {
      for (let y = 0; y < ay; y++) {
        const s = 2 * nx * (y + (ny - ay) / 2 + ny * (z + (nz - az) / 2 + nz * ch));
        acs3.set(k3.subarray(s, s + 2 * nx), 2 * nx * (y + ay * (z + az * ch)));
      }
    }
  }
  for (const ratio of [0, 1.5]) {
    const cal = calibrateGrappa(acs3, [nx, ay, az, c], acs3, c, {
      accelE1: 2, accelE2: 2, kRO: 5, kE1: 4, kE2: 4, threeD: true, lambda: 1e-6, overDetermineRatio: ratio, fitItself: false,
    });
    const conv = grappaConvolutionKernel(cal);
    const zf = undersample(k3, d3, 2, 0, 2, 0);
    const rec = new GrappaKspaceConvolution(conv, [nx, ny, nz]).forward(zf, new Float32Array(zf.length));
    const err = nrmse(rec, k3);
    assert.ok(err < 2e-2, `3D R=2×2 ratio ${ratio}: NRMSE ${err} (${cal.equations} equations)`);
  }
});

test('GRAPPA calibration reports too few ACS lines and empty ACS clearly', () => {
  const few = extractLines(full, dims, 24, 12);
  assert.throws(
    () => calibrateGrappa(few, [RO, 12, 1, CHA], few, CHA, { accelE1: 4, kRO: 5, kE1: 4, lambda: 5e-4, fitItself: true }),
    /Cannot calibrate GRAPPA: 12 ACS lines are fewer than the kernel needs \(13 lines/,
  );
  const zeros = new Float32Array(acs.length);
  assert.throws(() => calibrateGrappa(zeros, acsDims, zeros, CHA, { accelE1: 2, kRO: 5, kE1: 4, lambda: 5e-4, fitItself: true }), /all zero/);
  assert.throws(() => calibrateGrappa(acs, acsDims, acs.subarray(0, acs.length / 2), CHA / 2, { accelE1: 2, kRO: 5, kE1: 4, lambda: 5e-4, fitItself: false }), /differ/);
});

test('the normal equations formed in two pieces, in place, are the lower triangle of AᴴA and AᴴB, and solve to calibrateGrappa\'s weights', () => {
  const rand = seededRandom(41);
  for (const [cha, kRO] of [[CHA, 5], [3, 3]] as const) {
    const src = new Float32Array(2 * RO * 24 * cha).map(() => rand() - 0.5);
    const options = { accelE1: 3, kRO, kE1: 4, lambda: 0.005, fitItself: true };
    const system = grappaSystem(src, [RO, 24, 1, cha], src, cha, options);
    const { K, T, M, A, B } = system;
    const k1 = normalSplit(K);
    assert.ok(k1 > 0 && k1 < K, `K = ${K} split in two`);
    // Each piece writes only its own rows and columns: formed in either order, into arrays that start as NaN.
    for (const order of [[0, 1], [1, 0]] as const) {
      const normal = normalEquations(system, (n) => new Float32Array(n).fill(Number.NaN));
      for (const part of order) normalEquationPiece(system, part, normal);
      const G = cherk(K, M, A, new Float32Array(2 * K * K), { trans: 'C', full: true });
      const W = cgemm(K, T, M, A, B, new Float32Array(2 * K * T), { opA: 'C' });
      const scale = Math.max(...Array.from(G, Math.abs));
      const close = (got: number, want: number, what: string): void => assert.ok(Math.abs(got - want) <= 1e-5 * scale, `${what}: ${got} vs ${want}`);
      for (let j = 0; j < K; j++) {
        for (let i = j; i < K; i++) {
          close(normal.gram[2 * (i + K * j)] as number, G[2 * (i + K * j)] as number, `AᴴA ${i},${j} re`);
          close(normal.gram[2 * (i + K * j) + 1] as number, G[2 * (i + K * j) + 1] as number, `AᴴA ${i},${j} im`);
        }
        // The upper triangle of the A₁ᴴA₂ block is never written (the solve reads the lower one).
        if (j >= k1) assert.ok(Number.isNaN(normal.gram[2 * (0 + K * j)] as number), `A₁ᴴA₂ ${0},${j} left alone`);
      }
      for (let i = 0; i < 2 * K * T; i++) close(normal.rhs[i] as number, W[i] as number, `AᴴB float ${i}`);
      const solved = solveGrappa(system, normal);
      assert.equal(solved.weights.buffer, normal.rhs.buffer, 'the weights are solved in place');
      assert.deepEqual(solved.weights, calibrateGrappa(src, [RO, 24, 1, cha], src, cha, options).weights, 'the same bits as calibrateGrappa');
    }
  }
});
