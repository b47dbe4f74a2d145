import assert from 'node:assert/strict';
import test from 'node:test';
import type { Message } from '../ismrmrd/messages.js';
import { DataType, type Image } from '../ismrmrd/types.js';
import { imageSortGadget } from './image-sort.js';
import { makeImage, ofKind, planGadgetStep, runGadget, testContext } from './testing.js';

function image(id: number, fields: Partial<Image['head']>): Image {
  return makeImage({ matrix_size: [1, 1, 1], data_type: DataType.FLOAT, image_index: id, ...fields }, Float32Array.of(id));
}

test('ImageSortGadget emits images sorted by slice by default', async () => {
  const input = [image(1, { slice: 2 }), image(2, { slice: 0 }), image(3, { slice: 3 }), image(4, { slice: 1 })];
  const out = ofKind(await runGadget(imageSortGadget, input), 'image');
  assert.deepEqual(out.map((i) => i.head.slice), [0, 1, 2, 3]);
  assert.deepEqual(out.map((i) => i.head.image_index), [2, 4, 1, 3]);
});

test('ImageSortGadget sorts by the configured dimension', async () => {
  const input = [image(1, { repetition: 5, slice: 0 }), image(2, { repetition: 1, slice: 9 }), image(3, { repetition: 3, slice: 4 })];
  const out = ofKind(await runGadget(imageSortGadget, input, { properties: { sorting_dimension: 'Repetition' } }), 'image');
  assert.deepEqual(out.map((i) => i.head.repetition), [1, 3, 5]);
  const byContrast = [image(1, { contrast: 2 }), image(2, { contrast: 0 }), image(3, { contrast: 1 })];
  const sorted = ofKind(await runGadget(imageSortGadget, byContrast, { properties: { sorting_dimension: 'contrast' } }), 'image');
  assert.deepEqual(sorted.map((i) => i.head.contrast), [0, 1, 2]);
});

test('ImageSortGadget holds every image until the end of the stream', async () => {
  const input = [image(1, { slice: 1 }), image(2, { slice: 0 }), image(3, { slice: 2 })];
  let consumed = 0;
  let done = false;
  async function* source(): AsyncGenerator<Image> {
    for (const i of input) {
      consumed += 1;
      yield i;
    }
    done = true;
  }
  const emittedAt: boolean[] = [];
  const step = planGadgetStep(imageSortGadget);
  await imageSortGadget.run(source(), {
    async push(_m: Message) {
      emittedAt.push(done && consumed === input.length);
    },
  }, step.properties, testContext());
  assert.deepEqual(emittedAt, [true, true, true]);
});

test('ImageSortGadget passes other messages through at once', async () => {
  const text = { kind: 'text', text: 'x' } as const;
  assert.deepEqual(await runGadget(imageSortGadget, [text]), [text]);
});
