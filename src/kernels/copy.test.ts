import assert from 'node:assert/strict';
import test from 'node:test';
import { addInto, copyBlocks, copyInto, fillZero, weightedCopy } from './copy.js';

test('copyBlocks copies strided blocks between shared and plain arrays, and checks extents', () => {
  const src = new Float32Array(new SharedArrayBuffer(4 * 64)).map((_v, i) => i + 0.5);
  const dst = new Float32Array(new SharedArrayBuffer(4 * 100));
  copyBlocks(dst, 3, 20, src, 5, 16, 6, 4);
  const expected = new Float32Array(100);
  for (let k = 0; k < 4; k++) for (let i = 0; i < 6; i++) expected[3 + 20 * k + i] = 5 + 16 * k + i + 0.5;
  assert.deepEqual(Array.from(dst), Array.from(expected));
  const plain = new Float32Array(100);
  copyBlocks(plain, 3, 20, src, 5, 16, 6, 4);
  assert.deepEqual(Array.from(plain), Array.from(expected));
  assert.throws(() => copyBlocks(dst, 90, 20, src, 0, 16, 6, 2), /do not fit/);
  assert.throws(() => copyBlocks(dst, 0, 20, src, 60, 16, 6, 1), /do not fit/);
  copyBlocks(dst, 0, 0, src, 0, 0, 0, 5); // nothing to copy
});

test('fillZero zeroes shared and plain arrays', () => {
  for (const a of [new Float32Array(new SharedArrayBuffer(4 * 1000)), new Float32Array(1000)]) {
    a.fill(7);
    fillZero(a);
    assert.ok(a.every((v) => v === 0));
  }
});

test('copyInto is TypedArray.set for shared and plain arrays, with the same range check', () => {
  const src = new Float32Array(new SharedArrayBuffer(4 * 10)).map((_v, i) => i - 3.25);
  for (const dst of [new Float32Array(new SharedArrayBuffer(4 * 16)), new Float32Array(16)]) {
    const expected = new Float32Array(16);
    expected.set(src, 4);
    copyInto(dst, src, 4);
    assert.deepEqual(Array.from(dst), Array.from(expected));
    copyInto(dst, src.subarray(2, 5));
    expected.set(src.subarray(2, 5));
    assert.deepEqual(Array.from(dst), Array.from(expected));
    assert.throws(() => copyInto(dst, src, 7), /Cannot copy 10 floats to offset 7 of an array of 16/);
    assert.throws(() => copyInto(dst, src, -1), /Cannot copy/);
  }
});

test('addInto adds float32 ranges with the bits of a TypeScript loop, and checks extents', () => {
  const src = new Float32Array(new SharedArrayBuffer(4 * 40)).map((_v, i) => Math.fround(Math.sin(i) * 1e3 + 1 / 3));
  const start = new Float32Array(30).map((_v, i) => Math.fround(Math.cos(i) * 7.25e-3));
  const dst = Float32Array.from(start);
  addInto(dst, 5, src, 9, 20);
  addInto(dst, 5, src, 9, 20);
  const expected = Float32Array.from(start);
  for (let r = 0; r < 2; r++) for (let i = 0; i < 20; i++) expected[5 + i] = (expected[5 + i] as number) + (src[9 + i] as number);
  assert.deepEqual(Array.from(dst), Array.from(expected));
  assert.throws(() => addInto(dst, 20, src, 0, 11), /do not fit/);
  assert.throws(() => addInto(dst, 0, src, 35, 6), /do not fit/);
  addInto(dst, 0, src, 0, 0);
});

test('weightedCopy scales complex values by w·weights[i] formed in float64, with the bits of a TypeScript loop, and checks extents', () => {
  const src = new Float32Array(new SharedArrayBuffer(4 * 64)).map((_v, i) => Math.fround(Math.sin(i) * 1e3 + 1 / 3));
  const weights = new Float64Array(40).map((_v, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / 39));
  const w = 0.37 * (1 / 3);
  const dst = new Float32Array(50).fill(-7);
  weightedCopy(dst, 4, src, 6, 20, w, weights, 11);
  const expected = new Float32Array(50).fill(-7);
  for (let i = 0; i < 20; i++) {
    const f = w * (weights[11 + i] as number);
    expected[4 + 2 * i] = (src[6 + 2 * i] as number) * f;
    expected[5 + 2 * i] = (src[7 + 2 * i] as number) * f;
  }
  assert.deepEqual(Array.from(dst), Array.from(expected));
  assert.throws(() => weightedCopy(dst, 20, src, 0, 16, w, weights, 0), /do not fit/);
  assert.throws(() => weightedCopy(dst, 0, src, 30, 18, w, weights, 0), /do not fit/);
  assert.throws(() => weightedCopy(dst, 0, src, 0, 10, w, weights, 31), /do not fit/);
  weightedCopy(dst, 0, src, 0, 0, w, weights, 0);
});
