/**
 * ImageIndexGadget: numbers images 1, 2, … per image_series_index in arrival order.
 */
import { defineGadget } from '../engine/gadget.js';
import { isImage } from '../ismrmrd/messages.js';

export const imageIndexGadget = defineGadget({
  name: 'ImageIndexGadget',
  classNames: ['ImageIndexGadget'],
  properties: {},
  strict: false,
  description: 'Numbers images per series in arrival order',
  accepts: isImage,
  async run(input, output) {
    const counters = new Map<number, number>();
    for await (const image of input) {
      const series = image.head.image_series_index;
      const next = (counters.get(series) ?? 0) + 1;
      counters.set(series, next);
      await output.push({ ...image, head: { ...image.head, image_index: next } });
    }
  },
});
