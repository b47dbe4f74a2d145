import assert from 'node:assert/strict';
import test from 'node:test';
import { DataType, ImageType } from '../ismrmrd/types.js';
import { complexToFloatGadget } from './complex-to-float.js';
import { makeImage, ofKind, runGadget } from './testing.js';

const PIXELS: [number, number][] = [[3, 4], [-1, 0], [0, -2], [-1, -1e-3]];

function image(imageType: number) {
  return makeImage({ matrix_size: [PIXELS.length, 1, 1], data_type: DataType.CXFLOAT, image_type: imageType, image_series_index: 4 },
    Float32Array.from(PIXELS.flat()));
}

const close = (a: ArrayLike<number>, b: readonly number[]): void => {
  assert.equal(a.length, b.length);
  for (let i = 0; i < b.length; i++) assert.ok(Math.abs((a[i] as number) - (b[i] as number)) < 1e-6, `element ${i}: ${a[i]} vs ${b[i]}`);
};

test('ComplexToFloatGadget converts by image_type: magnitude, phase (atan2), real and imaginary', async () => {
  const cases: [number, number[]][] = [
    [ImageType.MAGNITUDE, PIXELS.map(([re, im]) => Math.hypot(re, im))],
    [ImageType.PHASE, PIXELS.map(([re, im]) => Math.atan2(im, re))],
    [ImageType.REAL, PIXELS.map(([re]) => re)],
    [ImageType.IMAG, PIXELS.map(([, im]) => im)],
  ];
  const out = ofKind(await runGadget(complexToFloatGadget, cases.map(([t]) => image(t))), 'image');
  assert.equal(out.length, cases.length);
  out.forEach((img, i) => {
    const [type, expected] = cases[i] as [number, number[]];
    assert.equal(img.head.image_type, type, 'the image type is kept');
    assert.equal(img.head.data_type, DataType.FLOAT);
    assert.ok(img.data instanceof Float32Array);
    assert.equal(img.head.image_series_index, 4);
    close(img.data, expected);
  });
});

test('ComplexToFloatGadget treats an unset (or complex) image_type as magnitude', async () => {
  const out = ofKind(await runGadget(complexToFloatGadget, [image(0), image(ImageType.COMPLEX)]), 'image');
  for (const img of out) {
    close(img.data, PIXELS.map(([re, im]) => Math.hypot(re, im)));
    assert.equal(img.head.image_type, ImageType.MAGNITUDE);
    assert.equal(img.head.data_type, DataType.FLOAT);
  }
});

test('ComplexToFloatGadget passes float images through untouched', async () => {
  const real = makeImage({ matrix_size: [2, 1, 1], data_type: DataType.FLOAT }, Float32Array.of(-1, 2));
  const out = await runGadget(complexToFloatGadget, [real]);
  assert.equal(out[0], real);
});
