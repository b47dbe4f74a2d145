/**
 * ImageArraySplitGadget: splits an image array [X, Y, Z, CHA, N, S, LOC] into
 * one complex image per (n, s, loc), loops ordered loc ⊃ s ⊃ n, each with its
 * header and meta. Plain images pass through.
 */
import type { ImageArray } from '../ismrmrd/buffers.js';
import { DataType, type Image } from '../ismrmrd/types.js';
import { defineGadget } from '../engine/gadget.js';
import { isImageArray } from '../ismrmrd/messages.js';

/** The images of an array, in Gadgetron's order. */
export function splitImageArray(array: ImageArray): Image[] {
  const [X, Y, Z, CHA, N, S, LOC] = array.data.dims as [number, number, number, number, number, number, number];
  const size = X * Y * Z * CHA;
  const images: Image[] = [];
  for (let loc = 0; loc < LOC; loc++) {
    for (let s = 0; s < S; s++) {
      for (let n = 0; n < N; n++) {
        const i = n + N * (s + S * loc);
        const source = array.headers[i];
        if (!source) throw new RangeError(`Cannot split image array: no header for image ${i}`);
        const head = { ...source, matrix_size: [X, Y, Z], channels: CHA, data_type: DataType.CXFLOAT };
        // A view, not a copy: the array is this gadget's to split, and each image owns a disjoint range of it.
        const data = array.data.data.subarray(2 * i * size, 2 * (i + 1) * size);
        const meta = new Map(array.meta[i] ?? []);
        images.push({ kind: 'image', head, meta, data });
      }
    }
  }
  return images;
}

export const imageArraySplitGadget = defineGadget({
  name: 'ImageArraySplitGadget',
  classNames: ['ImageArraySplitGadget'],
  properties: {},
  strict: false,
  description: 'Splits image arrays into single images',
  accepts: isImageArray,
  async run(input, output) {
    for await (const array of input) for (const image of splitImageArray(array)) await output.push(image);
  },
});
