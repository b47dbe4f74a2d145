import assert from 'node:assert/strict';
import test from 'node:test';
import { DataType, ImageType, type Image } from '../ismrmrd/types.js';
import { extractGadget } from './extract.js';
import { makeImage, ofKind, runGadget } from './testing.js';

const PIXELS: [number, number][] = [[3, 4], [-1, 0], [0, -2], [-1, -1e-3], [0, 0]];

function complexImage(series = 7): Image {
  return makeImage({ matrix_size: [PIXELS.length, 1, 1], data_type: DataType.CXFLOAT, image_series_index: series, image_index: 3, slice: 2 },
    Float32Array.from(PIXELS.flat()), new Map([['tag', ['a']]]));
}

const close = (a: ArrayLike<number>, b: readonly number[]): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-5, `element ${i}: ${a[i]} vs ${b[i]}`);
};

test('ExtractGadget by default extracts the magnitude into the same series', async () => {
  const [mag, ...rest] = ofKind(await runGadget(extractGadget, [complexImage()]), 'image');
  assert.equal(rest.length, 0);
  assert.ok(mag);
  assert.equal(mag.head.data_type, DataType.FLOAT);
  assert.equal(mag.head.image_type, ImageType.MAGNITUDE);
  assert.equal(mag.head.image_series_index, 7);
  assert.equal(mag.head.image_index, 3);
  assert.equal(mag.head.slice, 2);
  close(mag.data as Float32Array, PIXELS.map(([re, im]) => Math.hypot(re, im)));
  assert.deepEqual(mag.meta.get('tag'), ['a']);
});

test('ExtractGadget extracts magnitude, real, imaginary and phase with series offsets 0/1000/2000/3000', async () => {
  const out = ofKind(await runGadget(extractGadget, [complexImage()], {
    properties: { extract_real: 'true', extract_imag: 'true', extract_phase: 'true', real_imag_offset: '100' },
  }), 'image');
  assert.deepEqual(out.map((i) => [i.head.image_type, i.head.image_series_index]), [
    [ImageType.MAGNITUDE, 7], [ImageType.REAL, 1007], [ImageType.IMAG, 2007], [ImageType.PHASE, 3007],
  ]);
  const [mag, real, imag, phase] = out as [Image, Image, Image, Image];
  close(mag.data as Float32Array, PIXELS.map(([re, im]) => Math.hypot(re, im)));
  close(real.data as Float32Array, PIXELS.map(([re]) => re + 100));
  close(imag.data as Float32Array, PIXELS.map(([, im]) => im + 100));
  close(phase.data as Float32Array, PIXELS.map(([re, im]) => Math.atan2(im, re) + Math.PI));
  for (const image of out) assert.equal(image.head.data_type, DataType.FLOAT);
  const values = phase.data as Float32Array;
  assert.ok(values.every((v) => v >= 0 && v <= 2 * Math.PI + 1e-6), 'arg + π lies in [0, 2π]');
  assert.notEqual(mag.meta, real.meta, 'each output has its own meta');
});

test('ExtractGadget can extract only the phase', async () => {
  const out = ofKind(await runGadget(extractGadget, [complexImage(0)], {
    properties: { extract_magnitude: 'false', extract_phase: 'true' },
  }), 'image');
  assert.deepEqual(out.map((i) => i.head.image_series_index), [3000]);
});

test('ExtractGadget passes non-complex images and other messages through', async () => {
  const real = makeImage({ matrix_size: [2, 1, 1], data_type: DataType.FLOAT }, Float32Array.of(1, 2));
  const text = { kind: 'text', text: 'x' } as const;
  const out = await runGadget(extractGadget, [real, text]);
  assert.equal(out.length, 2);
  assert.ok(out.includes(real) && out.includes(text));
});

test('ExtractGadget honours the deprecated extract_mask bitset (1 magnitude, 2 real, 4 imag, 8 phase) over the flags', async () => {
  const out = ofKind(await runGadget(extractGadget, [complexImage(0)], {
    properties: { extract_mask: '1010', extract_magnitude: 'true' },
  }), 'image');
  assert.deepEqual(out.map((i) => i.head.image_series_index), [1000, 3000]);
});
