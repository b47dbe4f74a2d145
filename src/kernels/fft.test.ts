import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FftPlan, fft1c, fft2c, fftc, fftcFrom, getFftPlan, ifft2c, ifft3c, fft3c, ifft1c } from './fft.js';
import { nrmse } from './complex-ops.js';
import { randomComplex } from './testing.js';

const SIZES = [1, 2, 3, 4, 5, 6, 7, 8, 12, 15, 16, 17, 31, 64, 96, 128, 192, 255, 256, 384, 500, 512];


/** Naive float64 DFT, sign −1 forward, +1 inverse, unnormalised. */
function naiveDft(x: ArrayLike<number>, inverse: boolean): Float64Array {
  const n = x.length / 2;
  const out = new Float64Array(2 * n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let re = 0;
    let im = 0;
    for (let t = 0; t < n; t++) {
      const a = (sign * 2 * Math.PI * ((k * t) % n)) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      re += x[2 * t] * c - x[2 * t + 1] * s;
      im += x[2 * t] * s + x[2 * t + 1] * c;
    }
    out[2 * k] = re;
    out[2 * k + 1] = im;
  }
  return out;
}

/** Centred unitary DFT by the closed form on centred indices u, v ∈ [−⌊n/2⌋, ⌈n/2⌉ − 1]. */
function centredDft(x: ArrayLike<number>, inverse: boolean): Float64Array {
  const n = x.length / 2;
  const h = Math.floor(n / 2);
  const out = new Float64Array(2 * n);
  const sign = inverse ? 1 : -1;
  for (let u = -h; u < n - h; u++) {
    let re = 0;
    let im = 0;
    for (let v = -h; v < n - h; v++) {
      const a = (sign * 2 * Math.PI * u * v) / n;
      const c = Math.cos(a);
      const s = Math.sin(a);
      const i = v + h;
      re += x[2 * i] * c - x[2 * i + 1] * s;
      im += x[2 * i] * s + x[2 * i + 1] * c;
    }
    out[2 * (u + h)] = re / Math.sqrt(n);
    out[2 * (u + h) + 1] = im / Math.sqrt(n);
  }
  return out;
}

function norm(x: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * x[i];
  return Math.sqrt(s);
}

test('FftPlan matches a float64 DFT for smooth and Bluestein lengths', () => {
  let worst = 0;
  for (const n of SIZES) {
    for (const inverse of [false, true]) {
      const x = randomComplex(n, n * 7 + (inverse ? 1 : 0));
      const expected = naiveDft(x, inverse);
      const y = x.slice();
      getFftPlan(n).transform(y, 0, 1, inverse);
      const err = nrmse(y, expected);
      worst = Math.max(worst, err);
      assert.ok(err < 2e-6, `n=${n} inverse=${inverse}: relative error ${err}`);
    }
  }
  assert.ok(worst > 0 || SIZES.length === 0);
});

test('FftPlan transforms a strided vector and leaves the other elements alone', () => {
  for (const n of [12, 17, 32, 96]) {
    const stride = 3;
    const offset = 2;
    const data = randomComplex(offset + stride * n + 4, 99);
    const before = data.slice();
    const line = new Float32Array(2 * n);
    for (let t = 0; t < n; t++) {
      line[2 * t] = data[2 * (offset + t * stride)];
      line[2 * t + 1] = data[2 * (offset + t * stride) + 1];
    }
    const expected = naiveDft(line, false);
    getFftPlan(n).transform(data, offset, stride, false);
    const got = new Float32Array(2 * n);
    for (let t = 0; t < n; t++) {
      const i = offset + t * stride;
      got[2 * t] = data[2 * i];
      got[2 * t + 1] = data[2 * i + 1];
      data[2 * i] = before[2 * i];
      data[2 * i + 1] = before[2 * i + 1];
    }
    assert.ok(nrmse(got, expected) < 2e-6);
    assert.deepEqual(data, before);
  }
});

test('FftPlan batched lines (distance 1) match one-at-a-time transforms', () => {
  for (const n of [16, 17, 60, 96, 256]) {
    const count = 300;
    const data = randomComplex(n * count, n);
    const single = data.slice();
    const plan = new FftPlan(n);
    plan.transformLines(data, 0, count, count, 1, true, true, 0.5);
    for (let j = 0; j < count; j++) plan.transformLines(single, j, count, 1, 0, true, true, 0.5);
    assert.ok(nrmse(data, single) < 1e-7, `n=${n}`);
  }
});

test('FftPlan rejects bad lengths and out-of-range lines', () => {
  assert.throws(() => new FftPlan(0), RangeError);
  assert.throws(() => new FftPlan(2.5), RangeError);
  assert.throws(() => getFftPlan(8).transform(new Float32Array(14), 0, 1, false), RangeError);
  assert.throws(() => getFftPlan(4).transformLines(new Float32Array(16), 0, 1, 2, 0, false, false, 1), RangeError);
});

test('fftc matches the centred closed form for even and odd n', () => {
  for (const n of [1, 2, 3, 4, 5, 6, 7, 9, 15, 16, 17, 31, 48, 64, 96, 255, 384]) {
    for (const inverse of [false, true]) {
      const x = randomComplex(n, 1000 + n);
      const expected = centredDft(x, inverse);
      const y = x.slice();
      fftc(y, [n], [0], inverse);
      const err = nrmse(y, expected);
      assert.ok(err < 2e-6, `n=${n} inverse=${inverse}: relative error ${err}`);
    }
  }
});

test('fftc equals fftshift(FFT(ifftshift(x)))/√n with numpy shift definitions', () => {
  for (const n of [5, 8, 9]) {
    const h = Math.floor(n / 2);
    const x = randomComplex(n, 2000 + n);
    const shifted = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const j = (i + h) % n;
      shifted[2 * i] = x[2 * j];
      shifted[2 * i + 1] = x[2 * j + 1];
    }
    const f = naiveDft(shifted, false);
    const expected = new Float64Array(2 * n);
    for (let i = 0; i < n; i++) {
      const j = (((i - h) % n) + n) % n;
      expected[2 * i] = f[2 * j] / Math.sqrt(n);
      expected[2 * i + 1] = f[2 * j + 1] / Math.sqrt(n);
    }
    const y = fft1c(x.slice(), [n]);
    assert.ok(nrmse(y, expected) < 2e-6, `n=${n}`);
  }
});

test('fftc round trip and Parseval', () => {
  for (const n of [7, 16, 96, 255, 256, 500]) {
    const x = randomComplex(n, 3000 + n);
    const y = fft1c(x.slice(), [n]);
    assert.ok(Math.abs(norm(y) / norm(x) - 1) < 2e-6, `Parseval n=${n}`);
    ifft1c(y, [n]);
    assert.ok(nrmse(y, x) < 2e-6, `round trip n=${n}`);
  }
  const dims = [6, 5, 3];
  const x = randomComplex(90, 5);
  const y = fft3c(x.slice(), dims);
  assert.ok(Math.abs(norm(y) / norm(x) - 1) < 2e-6);
  ifft3c(y, dims);
  assert.ok(nrmse(y, x) < 2e-6);
});

test('fftc of a delta at ⌊n/2⌋ is the constant 1/√n', () => {
  for (const n of [4, 5, 8, 9, 16, 17, 31]) {
    for (const inverse of [false, true]) {
      const x = new Float32Array(2 * n);
      x[2 * Math.floor(n / 2)] = 1;
      fftc(x, [n], [0], inverse);
      for (let i = 0; i < n; i++) {
        assert.ok(Math.abs(x[2 * i] - 1 / Math.sqrt(n)) < 1e-7, `n=${n} re[${i}]=${x[2 * i]}`);
        assert.ok(Math.abs(x[2 * i + 1]) < 1e-7, `n=${n} im[${i}]=${x[2 * i + 1]}`);
      }
    }
  }
});

/** Reference: centred closed form along one axis of a column-major array, float64. */
function centredAlongAxis(x: ArrayLike<number>, dims: number[], axis: number, inverse: boolean): Float64Array {
  const n = dims[axis];
  let inner = 1;
  for (let d = 0; d < axis; d++) inner *= dims[d];
  const outer = x.length / 2 / (inner * n);
  const out = new Float64Array(x.length);
  const line = new Float64Array(2 * n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      for (let t = 0; t < n; t++) {
        const e = i + inner * (t + n * o);
        line[2 * t] = x[2 * e];
        line[2 * t + 1] = x[2 * e + 1];
      }
      const f = centredDft(line, inverse);
      for (let t = 0; t < n; t++) {
        const e = i + inner * (t + n * o);
        out[2 * e] = f[2 * t];
        out[2 * e + 1] = f[2 * t + 1];
      }
    }
  }
  return out;
}

test('fftc over axes [0,1] of a [6,5,3] array equals axis 0 then axis 1, axis 2 untouched', () => {
  const dims = [6, 5, 3];
  const x = randomComplex(90, 42);
  const both = fftc(x.slice(), dims, [0, 1], false);
  const sequential = fftc(fftc(x.slice(), dims, [0], false), dims, [1], false);
  assert.ok(nrmse(both, sequential) < 5e-7);
  assert.ok(nrmse(fft2c(x.slice(), dims), both) === 0);
  const expected = centredAlongAxis(centredAlongAxis(x, dims, 0, false), dims, 1, false);
  assert.ok(nrmse(both, expected) < 2e-6);
  // Along axis 2 only: each [i, j] tube transforms independently.
  const third = fftc(x.slice(), dims, [2], true);
  assert.ok(nrmse(third, centredAlongAxis(x, dims, 2, true)) < 2e-6);
  // Axis 1 of [1, 7, 2] takes the contiguous path.
  const y = randomComplex(14, 43);
  assert.ok(nrmse(fftc(y.slice(), [1, 7, 2], [1], false), centredAlongAxis(y, [1, 7, 2], 1, false)) < 2e-6);
});

test('fftc along each axis of a [64, 40, 2] array matches the closed form per line', () => {
  const dims = [64, 40, 2];
  const x = randomComplex(64 * 40 * 2, 44);
  for (const axis of [0, 1, 2]) {
    for (const inverse of [false, true]) {
      const got = fftc(x.slice(), dims, [axis], inverse);
      const err = nrmse(got, centredAlongAxis(x, dims, axis, inverse));
      assert.ok(err < 2e-6, `axis ${axis} inverse=${inverse}: relative error ${err}`);
    }
  }
});

test('fftc rejects mismatched dims and axes', () => {
  assert.throws(() => fftc(new Float32Array(10), [6], [0], false), RangeError);
  assert.throws(() => fftc(new Float32Array(12), [6], [1], false), RangeError);
  assert.throws(() => fft2c(new Float32Array(12), [6]), RangeError);
});

function hasBart(): boolean {
  try {
    execFileSync('which', ['bart'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

test('fft2c / ifft2c match `bart fft -u [-i] 3` on 8×6 and 5×7 arrays', (t) => {
  if (!hasBart()) {
    t.skip('bart is not installed');
    return;
  }
  const dir = mkdtempSync(join(tmpdir(), 'gantry-fft-'));
  try {
    for (const [nx, ny] of [
      [8, 6],
      [5, 7],
    ]) {
      const x = randomComplex(nx * ny, nx * 100 + ny);
      writeFileSync(join(dir, 'in.cfl'), Buffer.from(x.buffer, x.byteOffset, x.byteLength));
      writeFileSync(join(dir, 'in.hdr'), `# Dimensions\n${nx} ${ny} 1 1 1 1 1 1 1 1 1 1 1 1 1 1 \n`);
      for (const inverse of [false, true]) {
        const args = inverse ? ['fft', '-u', '-i', '3', 'in', 'out'] : ['fft', '-u', '3', 'in', 'out'];
        execFileSync('bart', args, { cwd: dir, stdio: 'pipe' });
        const raw = readFileSync(join(dir, 'out.cfl'));
        const expected = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
        const got = inverse ? ifft2c(x.slice(), [nx, ny]) : fft2c(x.slice(), [nx, ny]);
        const err = nrmse(got, expected);
        assert.ok(err < 1e-6, `${nx}×${ny} inverse=${inverse}: relative error ${err}`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('fftcFrom gives the bits of copying the source and transforming in place, and leaves the source alone', () => {
  const cases: [number[], number[]][] = [[[256, 32], [0]], [[64, 48, 1, 4], [0, 1]], [[16, 12, 10, 3], [0, 1, 2]], [[32, 24, 5], [1]], [[8, 6], []]];
  for (const [dims, axes] of cases) {
    const n = dims.reduce((a, b) => a * b, 1);
    const src = new Float32Array(new SharedArrayBuffer(8 * n));
    src.set(randomComplex(n, 7));
    const before = Float32Array.from(src);
    for (const inverse of [false, true]) {
      const expected = fftc(Float32Array.from(src), dims, axes, inverse);
      const out = new Float32Array(2 * n).fill(9);
      assert.equal(fftcFrom(src, out, dims, axes, inverse), out);
      assert.ok(Buffer.from(out.buffer).equals(Buffer.from(expected.buffer)), `dims ${dims.join('×')}, axes ${axes.join(',')}, inverse ${inverse}`);
      assert.deepEqual(Array.from(src), Array.from(before), 'the source is unchanged');
    }
  }
  const a = new Float32Array(16);
  assert.throws(() => fftcFrom(a, new Float32Array(8), [8], [0], false), /the source has 16 floats, the destination 8/);
  const same = randomComplex(64, 3);
  const copy = Float32Array.from(same);
  assert.ok(Buffer.from(fftcFrom(same, same, [64], [0], true).buffer).equals(Buffer.from(fftc(copy, [64], [0], true).buffer)), 'src === dst is in place');
});
