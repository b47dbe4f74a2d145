import { test } from 'node:test';
import assert from 'node:assert/strict';
import { complexMagnitude, complexMagnitudePortable, copyComplexCrop, nrmse, padCentre, rootSumOfSquares, rootSumOfSquaresInto, rootSumOfSquaresOfPlanes, rootSumOfSquaresPortable, scaleComplex, scaleFloats } from './complex-ops.js';
import { seededMagnitudes } from './testing.js';

function ramp(n: number): Float32Array {
  const x = new Float32Array(2 * n);
  for (let i = 0; i < n; i++) {
    x[2 * i] = i;
    x[2 * i + 1] = -0.5 * i;
  }
  return x;
}

test('rootSumOfSquares combines along the chosen axis', () => {
  const dims = [3, 4, 2];
  const src = ramp(24);
  for (let axis = 0; axis < 3; axis++) {
    const outDims = dims.filter((_, d) => d !== axis);
    const dst = new Float32Array(outDims[0] * outDims[1]);
    rootSumOfSquares(src, dims, axis, dst);
    const strides = [1, 3, 12];
    const otherAxes = [0, 1, 2].filter((d) => d !== axis);
    for (let a = 0; a < outDims[0]; a++) {
      for (let b = 0; b < outDims[1]; b++) {
        let sum = 0;
        for (let c = 0; c < dims[axis]; c++) {
          const e = a * strides[otherAxes[0]] + b * strides[otherAxes[1]] + c * strides[axis];
          sum += src[2 * e] ** 2 + src[2 * e + 1] ** 2;
        }
        const got = dst[a + outDims[0] * b];
        assert.ok(Math.abs(got - Math.sqrt(sum)) <= 1e-6 * Math.sqrt(sum) + 1e-7, `axis ${axis} [${a},${b}]`);
      }
    }
  }
  assert.throws(() => rootSumOfSquares(src, dims, 3, new Float32Array(24)), RangeError);
  assert.throws(() => rootSumOfSquares(src, dims, 2, new Float32Array(11)), RangeError);
});

test('rootSumOfSquares gives the bits of a plain float64 loop in channel order, for any channel count', () => {
  let seed = 7;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  for (const channels of [1, 7, 8, 9, 19, 32]) {
    for (const [dims, axis] of [[[37, 3, channels], 2], [[5, channels, 4], 1], [[1100, channels], 1]] as [number[], number][]) {
      const total = dims.reduce((a, b) => a * b, 1);
      const src = new Float32Array(2 * total).map(() => rand() * 1e3);
      const inner = dims.slice(0, axis).reduce((a, b) => a * b, 1);
      const outer = total / (inner * channels);
      const dst = rootSumOfSquares(src, dims, axis, new Float32Array(inner * outer));
      const want = new Float32Array(inner * outer);
      for (let o = 0; o < outer; o++) {
        for (let i = 0; i < inner; i++) {
          let acc = 0;
          for (let c = 0; c < channels; c++) {
            const e = 2 * (i + inner * (c + channels * o));
            acc += src[e] * src[e] + src[e + 1] * src[e + 1];
          }
          want[i + inner * o] = Math.sqrt(acc);
        }
      }
      assert.deepEqual(dst, want, `${channels} channels, dims [${dims.join(', ')}], axis ${axis}`);
    }
  }
});

test('rootSumOfSquaresInto writes every stride-th value, the same bits from the native kernels and the TypeScript loop', () => {
  let seed = 11;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  for (const [dims, axis] of [[[64, 48, 1, 8], 3], [[1100, 3, 5], 1], [[7, 9], 1], [[2050, 33], 1]] as [number[], number][]) {
    const total = dims.reduce((a, b) => a * b, 1);
    const src = new Float32Array(2 * total).map(() => rand() * 1e4);
    const count = total / (dims[axis] as number);
    const plain = rootSumOfSquaresPortable(src, dims, axis, new Float32Array(count));
    assert.deepEqual(rootSumOfSquares(src, dims, axis, new Float32Array(count)), plain, `[${dims.join(', ')}], stride 1`);
    for (const stride of [2, 3]) {
      const fill = -7.25;
      const dst = new Float32Array(stride * count).fill(fill);
      const portable = new Float32Array(stride * count).fill(fill);
      rootSumOfSquaresInto(src, dims, axis, dst, stride);
      rootSumOfSquaresPortable(src, dims, axis, portable, stride);
      assert.deepEqual(dst, portable, `[${dims.join(', ')}], stride ${stride}: native and TypeScript`);
      for (let i = 0; i < count; i++) {
        assert.equal(dst[stride * i], plain[i]);
        for (let k = 1; k < stride; k++) assert.equal(dst[stride * i + k], fill, 'the values between are left as they were');
      }
    }
  }
  const src = new Float32Array(2 * 12);
  assert.throws(() => rootSumOfSquaresInto(src, [3, 4], 1, new Float32Array(4), 2), /destination length 4 does not match 3 values at stride 2/);
  assert.throws(() => rootSumOfSquaresInto(src, [3, 4], 1, new Float32Array(6), 0), /stride 0/);
  assert.throws(() => rootSumOfSquaresInto(src, [3, 5], 1, new Float32Array(6), 2), /data length 24 does not match/);
});

test('complexMagnitude gives √(re² + im²) rounded once, the same bits from the native kernels and the TypeScript loop', () => {
  let seed = 5;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed / 2147483648 - 0.5;
  };
  const special = [0, -0, 1e-45, -3e-39, 3.4e38, -3.4e38, Infinity, -Infinity, NaN, 0.5, 1, 3, 4];
  const src = new Float32Array(2 * 70_000).map(() => rand() * 10 ** Math.floor(rand() * 20));
  let k = 0;
  for (const re of special) for (const im of special) src.set([re, im], 2 * k++); // every pair of special values first
  const out = complexMagnitude(src, new Float32Array(70_000));
  assert.deepEqual(out, complexMagnitudePortable(src, new Float32Array(70_000)));
  for (let i = 0; i < 70_000; i++) {
    const re = src[2 * i] as number;
    const im = src[2 * i + 1] as number;
    assert.ok(Object.is(out[i], Math.fround(Math.sqrt(re * re + im * im))), `pixel ${i}: ${re}, ${im}`);
  }
  assert.equal(complexMagnitude(new Float32Array([3, 4]), new Float32Array(1))[0], 5);
  assert.throws(() => complexMagnitude(new Float32Array(3), new Float32Array(2)), RangeError);
  assert.throws(() => complexMagnitude(new Float32Array(4), new Float32Array(1)), RangeError);
});

test('scaleComplex multiplies by a real or complex factor', () => {
  const x = new Float32Array([1, 2, -3, 0.5]);
  assert.deepEqual(scaleComplex(x, 2, new Float32Array(4)), new Float32Array([2, 4, -6, 1]));
  // (1 + 2i)·i = −2 + i; (−3 + 0.5i)·i = −0.5 − 3i
  assert.deepEqual(scaleComplex(x, 0, new Float32Array(4), 1), new Float32Array([-2, 1, -0.5, -3]));
  scaleComplex(x, 0.5, x);
  assert.deepEqual(x, new Float32Array([0.5, 1, -1.5, 0.25]));
});

test('copyComplexCrop takes ⌊(in − out)/2⌋ as offset', () => {
  const src = ramp(7);
  const dst = copyComplexCrop(src, [7], 0, 4, new Float32Array(8));
  assert.deepEqual(Array.from(dst).filter((_, i) => i % 2 === 0), [1, 2, 3, 4]);
  const dst2 = copyComplexCrop(ramp(8), [8], 0, 5, new Float32Array(10));
  assert.deepEqual(Array.from(dst2).filter((_, i) => i % 2 === 0), [1, 2, 3, 4, 5]);
  // Along axis 1 of [2, 5, 2]: keeps rows 1..3 of each slab.
  const cube = ramp(20);
  const c = copyComplexCrop(cube, [2, 5, 2], 1, 3, new Float32Array(24));
  assert.deepEqual(Array.from(c).filter((_, i) => i % 2 === 0), [2, 3, 4, 5, 6, 7, 12, 13, 14, 15, 16, 17]);
  assert.throws(() => copyComplexCrop(src, [7], 0, 8, new Float32Array(16)), RangeError);
});

test('padCentre maps the centre ⌊in/2⌋ to ⌊out/2⌋ with zeros around', () => {
  const p = padCentre(ramp(3), [3], 0, 6, new Float32Array(12).fill(9));
  // offset ⌊6/2⌋ − ⌊3/2⌋ = 2
  assert.deepEqual(Array.from(p).filter((_, i) => i % 2 === 0), [0, 0, 0, 1, 2, 0]);
  const q = padCentre(ramp(4), [4], 0, 7, new Float32Array(14));
  // offset 3 − 2 = 1
  assert.deepEqual(Array.from(q).filter((_, i) => i % 2 === 0), [0, 0, 1, 2, 3, 0, 0]);
  const r = padCentre(ramp(4), [2, 2], 1, 4, new Float32Array(16));
  assert.deepEqual(Array.from(r).filter((_, i) => i % 2 === 0), [0, 0, 0, 1, 2, 3, 0, 0]);
  assert.deepEqual(Array.from(r).filter((_, i) => i % 2 === 1), [0, 0, -0, -0.5, -1, -1.5, 0, 0]);
  assert.throws(() => padCentre(ramp(4), [4], 0, 3, new Float32Array(6)), RangeError);
});

test('nrmse is ‖a − b‖/‖b‖ in float64 for real and complex arrays', () => {
  assert.equal(nrmse(new Float32Array([1, 2]), new Float32Array([1, 2])), 0);
  assert.ok(Math.abs(nrmse(new Float64Array([3, 4]), new Float64Array([0, 4])) - 3 / 4) < 1e-15);
  assert.ok(Math.abs(nrmse(new Float32Array([1, 1, 1, 1]), new Float32Array([1, 0, 1, 0])) - 1) < 1e-15);
  assert.equal(nrmse(new Float32Array(2), new Float32Array(2)), 0);
  assert.equal(nrmse(new Float32Array([1]), new Float32Array(1)), Infinity);
  assert.throws(() => nrmse(new Float32Array(2), new Float32Array(3)), RangeError);
});

test('scaleFloats rounds each float × double product once to float32, in place or not, natively or not', () => {
  const src = Float32Array.from([0, -0, 1, -1, 1e-45, 3.4e38, -3.4e38, NaN, Infinity, -Infinity, ...seededMagnitudes(1000, 5, -10, 21)]);
  for (const factor of [4, 0.1, 1 / 3, 1e-40, 1e39, -2.5, 0]) {
    const out = scaleFloats(src, factor, new Float32Array(src.length + 3));
    for (let i = 0; i < src.length; i++) assert.ok(Object.is(out[i], Math.fround((src[i] as number) * factor)), `${src[i]} × ${factor}: ${out[i]}`);
    assert.deepEqual([...out.subarray(src.length)], [0, 0, 0], 'nothing past src is written');
    const inPlace = src.slice();
    scaleFloats(inPlace, factor, inPlace);
    assert.deepEqual(inPlace, out.subarray(0, src.length));
  }
  assert.throws(() => scaleFloats(src, 2, new Float32Array(3)), /Cannot scale 1010 floats into 3/);
});

test('rootSumOfSquaresOfPlanes divides each root in float64 before rounding: the bits of a plain loop in channel order', () => {
  const vol = 1100; // past one 1024-pixel block
  for (const channels of [1, 7, 9, 32]) {
    const src = Float32Array.from(seededMagnitudes(2 * vol * channels + 6, channels, -12, 12));
    for (const divisor of [1, 3, 2.5]) {
      const dst = new Float32Array(vol + 2).fill(-1);
      rootSumOfSquaresOfPlanes(src, vol, channels, divisor, dst);
      for (let p = 0; p < vol; p++) {
        let sum = 0;
        for (let c = 0; c < channels; c++) {
          const re = src[2 * (p + vol * c)] as number;
          const im = src[2 * (p + vol * c) + 1] as number;
          sum = sum + (re * re + im * im);
        }
        assert.equal(dst[p], Math.fround(Math.sqrt(sum) / divisor), `channels ${channels}, divisor ${divisor}, pixel ${p}`);
      }
      assert.equal(dst[vol], -1);
    }
  }
  assert.throws(() => rootSumOfSquaresOfPlanes(new Float32Array(8), 2, 3, 1, new Float32Array(2)), RangeError);
  assert.throws(() => rootSumOfSquaresOfPlanes(new Float32Array(8), 2, 2, 0, new Float32Array(2)), RangeError);
});
