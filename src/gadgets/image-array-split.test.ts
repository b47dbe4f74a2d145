import assert from 'node:assert/strict';
import test from 'node:test';
import type { ImageArray } from '../ismrmrd/buffers.js';
import { DataType, emptyImageHeader, type ImageHeader } from '../ismrmrd/types.js';
import { imageArraySplitGadget } from './image-array-split.js';
import { makeImage, ofKind, runGadget } from './testing.js';

/** An array [X, Y, Z, CHA, N, S, LOC] whose pixel p of image i is (i, p), with header image_index = i and meta idx = i. */
function imageArray(dims: [number, number, number, number, number, number, number]): ImageArray {
  const [X, Y, Z, CHA, N, S, LOC] = dims;
  const size = X * Y * Z * CHA;
  const count = N * S * LOC;
  const data = new Float32Array(2 * size * count);
  for (let i = 0; i < count; i++) for (let p = 0; p < size; p++) {
    data[2 * (i * size + p)] = i;
    data[2 * (i * size + p) + 1] = p;
  }
  const headers: ImageHeader[] = [];
  const meta = [];
  for (let i = 0; i < count; i++) {
    const h = emptyImageHeader();
    h.image_index = i + 1;
    h.slice = Math.floor(i / (N * S));
    h.matrix_size = [999, 999, 999];
    h.channels = 77;
    h.data_type = DataType.FLOAT;
    headers.push(h);
    meta.push(new Map([['idx', [String(i)]]]));
  }
  return { kind: 'imagearray', data: { data, dims: [...dims] }, headers, meta };
}

test('ImageArraySplitGadget emits one image per (n, s, loc), loc outermost then s then n', async () => {
  const [X, Y, Z, CHA, N, S, LOC] = [3, 2, 1, 2, 2, 3, 2];
  const array = imageArray([X, Y, Z, CHA, N, S, LOC]);
  const images = ofKind(await runGadget(imageArraySplitGadget, [array]), 'image');
  assert.equal(images.length, N * S * LOC);
  let k = 0;
  for (let loc = 0; loc < LOC; loc++) for (let s = 0; s < S; s++) for (let n = 0; n < N; n++) {
    const image = images[k++];
    assert.ok(image);
    const i = loc * N * S + s * N + n;
    assert.equal(image.head.image_index, i + 1, `image (n ${n}, s ${s}, loc ${loc}) carries header ${i}`);
    assert.equal(image.head.slice, loc);
    assert.deepEqual(image.meta.get('idx'), [String(i)], 'and meta entry loc·N·S + s·N + n');
    assert.deepEqual(image.head.matrix_size, [X, Y, Z], 'matrix from the array dimensions');
    assert.equal(image.head.channels, CHA);
    assert.equal(image.head.data_type, DataType.CXFLOAT);
    const pixels = image.data as Float32Array;
    assert.equal(pixels.length, 2 * X * Y * Z * CHA);
    for (let p = 0; p < X * Y * Z * CHA; p++) assert.deepEqual([pixels[2 * p], pixels[2 * p + 1]], [i, p]);
  }
});

test('ImageArraySplitGadget copies headers and meta; pixels are disjoint views of the consumed array', async () => {
  const array = imageArray([2, 2, 1, 1, 2, 1, 1]);
  const pixels = array.data.data;
  const [a, b] = ofKind(await runGadget(imageArraySplitGadget, [array]), 'image');
  assert.ok(a && b);
  a.head.repetition = 5;
  a.meta.set('x', ['1']);
  assert.equal(array.headers[0]?.repetition, 0);
  assert.equal(array.meta[0]?.has('x'), false);
  assert.notEqual(a.head, b.head);
  // Not copied: each image is its own range of the array's pixels, so writing one leaves the other alone.
  const da = a.data as Float32Array;
  const db = b.data as Float32Array;
  assert.equal(da.buffer, pixels.buffer);
  assert.equal(da.length, 2 * 4);
  assert.equal(db.byteOffset, da.byteOffset + da.byteLength);
  const before = Float32Array.from(db);
  da.fill(42);
  assert.deepEqual(Float32Array.from(db), before);
});

test('ImageArraySplitGadget passes single images through and refuses an array without enough headers', async () => {
  const image = makeImage({ matrix_size: [2, 2, 1], data_type: DataType.CXFLOAT });
  const out = await runGadget(imageArraySplitGadget, [image]);
  assert.deepEqual(out, [image]);
  assert.equal(out[0], image);
  const broken = imageArray([2, 2, 1, 1, 2, 1, 1]);
  broken.headers.pop();
  await assert.rejects(runGadget(imageArraySplitGadget, [broken]), /no header for image 1/);
});
