import assert from 'node:assert/strict';
import test from 'node:test';
import { DataType } from '../ismrmrd/types.js';
import { imageIndexGadget } from './image-index.js';
import { makeImage, ofKind, runGadget } from './testing.js';

test('ImageIndexGadget numbers images 1, 2, … per series in arrival order', async () => {
  const series = [0, 1000, 0, 0, 1000, 5, 0];
  const input = series.map((s) => makeImage({ matrix_size: [1, 1, 1], data_type: DataType.FLOAT, image_series_index: s, image_index: 99 }));
  const out = ofKind(await runGadget(imageIndexGadget, input), 'image');
  assert.deepEqual(out.map((i) => [i.head.image_series_index, i.head.image_index]), [
    [0, 1], [1000, 1], [0, 2], [0, 3], [1000, 2], [5, 1], [0, 4],
  ]);
  assert.ok(input.every((i) => i.head.image_index === 99), 'the incoming images are not modified');
  assert.equal(out[0]?.data, input[0]?.data, 'pixels are shared, not copied');
});

test('ImageIndexGadget passes other messages through', async () => {
  const text = { kind: 'text', text: 'x' } as const;
  assert.deepEqual(await runGadget(imageIndexGadget, [text]), [text]);
});
