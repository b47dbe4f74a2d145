import test from 'node:test';
import assert from 'node:assert/strict';
import { decode } from 'fast-png';
import { DataType, emptyImageHeader, type Image } from '../ismrmrd/types.js';
import { imagePlane } from './image-plane.js';
import { imageToPng } from './png.js';
import { applyWindow, greyLevel, percentileWindow, windowFromMeta } from './windowing.js';

test('grey levels: linear over the window, clamped outside', () => {
  const w = { center: 50, width: 100 };
  assert.deepEqual([-10, 0, 50, 100, 200].map((v) => greyLevel(v, w)), [0, 0, 128, 255, 255]);
  assert.equal(greyLevel(Number.NaN, w), 0);
  const rgba = new Uint8ClampedArray(8);
  applyWindow([0, 100], w, rgba, 4);
  assert.deepEqual(Array.from(rgba), [0, 0, 0, 255, 255, 255, 255, 255]);
});

test('default windows: meta names first (GADGETRON_ then MRD), else 1–99 % percentiles', () => {
  assert.deepEqual(windowFromMeta({ GADGETRON_WindowCenter: ['12'], GADGETRON_WindowWidth: ['4'], WindowCenter: ['1'], WindowWidth: ['2'] }), { center: 12, width: 4 });
  assert.deepEqual(windowFromMeta({ WindowCenter: ['1'], WindowWidth: ['2'] }), { center: 1, width: 2 });
  assert.equal(windowFromMeta({ WindowCenter: ['1'], WindowWidth: ['0'] }), undefined);
  const values = Array.from({ length: 101 }, (_, i) => i);
  assert.deepEqual(percentileWindow(values), { center: 50, width: 98 });
  assert.deepEqual(percentileWindow([3, 3, 3]), { center: 3, width: 3 });
});

function complexImage(): Image {
  const head = { ...emptyImageHeader(), data_type: DataType.CXFLOAT, matrix_size: [2, 2, 2], channels: 1 };
  const data = new Float32Array(16);
  for (let i = 0; i < 8; i++) {
    data[2 * i] = i;
    data[2 * i + 1] = -i;
  }
  return { kind: 'image', head, meta: new Map(), data };
}

test('image planes: z selection and complex parts', () => {
  const img = complexImage();
  assert.deepEqual(Array.from(imagePlane(img, { z: 1, part: 'real' })), [4, 5, 6, 7]);
  assert.deepEqual(Array.from(imagePlane(img, { z: 1, part: 'imag' })), [-4, -5, -6, -7]);
  assert.ok(Math.abs((imagePlane(img, { z: 0 })[1] as number) - Math.SQRT2) < 1e-6);
  assert.ok(Math.abs((imagePlane(img, { part: 'phase' })[1] as number) + Math.PI / 4) < 1e-6);
  assert.throws(() => imagePlane(img, { z: 2 }), RangeError);
  assert.throws(() => imagePlane(img, { channel: 1 }), RangeError);
});

test('PNG: 8-bit grey, x across, y down, default window from the meta', () => {
  const head = { ...emptyImageHeader(), data_type: DataType.FLOAT, matrix_size: [3, 2, 1] };
  const image: Image = { kind: 'image', head, meta: new Map([['GADGETRON_WindowCenter', ['2.5']], ['GADGETRON_WindowWidth', ['5']]]), data: Float32Array.of(0, 1, 2, 3, 4, 5) };
  const { png, window } = imageToPng(image);
  assert.deepEqual(window, { center: 2.5, width: 5 });
  const d = decode(png);
  assert.deepEqual([d.width, d.height, d.channels, d.depth], [3, 2, 1, 8]);
  assert.deepEqual(Array.from(d.data), [0, 51, 102, 153, 204, 255]);
  const custom = decode(imageToPng(image, { window: { center: 0, width: 2 } }).png);
  assert.deepEqual(Array.from(custom.data), [128, 255, 255, 255, 255, 255]);
});
