import assert from 'node:assert/strict';
import test from 'node:test';
import { DataType, ImageType, type Image } from '../ismrmrd/types.js';
import { autoScaleFactor, autoScaleGadget } from './auto-scale.js';
import { makeImage, ofKind, runGadget } from './testing.js';

function floatImage(values: Float32Array, imageType: number = ImageType.MAGNITUDE): Image {
  return makeImage({ matrix_size: [values.length, 1, 1], data_type: DataType.FLOAT, image_type: imageType }, values);
}

/** 990 pixels of 10 and 10 of 100: exactly 99 % of the pixels fall in bin ⌊10/100·bins⌋. */
function skewed(): Float32Array {
  const v = new Float32Array(1000).fill(10);
  v.fill(100, 990);
  return v;
}

test('autoScaleFactor counts bins as Gadgetron does: the level is (k + 2)·max/bins for the bin k reaching 99 %', () => {
  // 100 bins: bin 10 holds 990 of 1000 pixels (cumulative ≥ 0.99·N) → level (10 + 2)·100/100 = 12.
  assert.ok(Math.abs(autoScaleFactor(skewed(), 2048, 100) - 2048 / 12) < 1e-9);
  // 10 bins: the 990 pixels sit in bin 1 → level (1 + 2)·100/10 = 30.
  assert.ok(Math.abs(autoScaleFactor(skewed(), 2048, 10) - 2048 / 30) < 1e-9);
  // Values 1..100: 99 % is reached only in the last bin (99) → level 101.
  const ramp = Float32Array.from({ length: 100 }, (_, i) => i + 1);
  assert.ok(Math.abs(autoScaleFactor(ramp, 2048, 100) - 2048 / 101) < 1e-9);
  assert.equal(autoScaleFactor(new Float32Array(8), 2048, 100), 1, 'an all-zero image is left alone');
});

test('AutoScaleGadget scales magnitude images so the 99th-percentile level maps to max_value', async () => {
  const [out] = ofKind(await runGadget(autoScaleGadget, [floatImage(skewed())], { properties: { max_value: '4095' } }), 'image');
  assert.ok(out);
  const data = out.data as Float32Array;
  assert.ok(Math.abs((data[0] as number) - (10 * 4095) / 12) < 1e-2);
  assert.ok(Math.abs((data[999] as number) - (100 * 4095) / 12) < 1e-1);
  const [byDefault] = ofKind(await runGadget(autoScaleGadget, [floatImage(skewed())], { properties: { histogram_bins: '10' } }), 'image');
  assert.ok(Math.abs(((byDefault?.data as Float32Array)[0] as number) - (10 * 2048) / 30) < 1e-2, 'max_value defaults to 2048');
});

test('AutoScaleGadget leaves phase images and complex images unchanged', async () => {
  const phase = floatImage(Float32Array.of(1, 2, 3), ImageType.PHASE);
  const complex = makeImage({ matrix_size: [1, 1, 1], data_type: DataType.CXFLOAT }, Float32Array.of(1, 2));
  const out = await runGadget(autoScaleGadget, [phase, complex]);
  assert.equal(out.length, 2);
  assert.ok(out.includes(phase) && out.includes(complex));
  assert.deepEqual([...(phase.data as Float32Array)], [1, 2, 3]);
});
