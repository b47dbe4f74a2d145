/**
 * ImageSortGadget: holds every image until the end of the stream, then emits
 * them sorted by one header dimension (stable, so equal keys keep arrival order).
 */
import type { Image } from '../ismrmrd/types.js';
import { defineGadget } from '../engine/gadget.js';
import { isImage } from '../ismrmrd/messages.js';

const dimensions = ['average', 'slice', 'contrast', 'phase', 'repetition', 'set'] as const;

export const imageSortGadget = defineGadget({
  name: 'ImageSortGadget',
  classNames: ['ImageSortGadget'],
  properties: {
    sorting_dimension: { type: 'enum', values: dimensions, default: 'slice', caseInsensitive: true },
  },
  strict: false,
  description: 'Sorts all images of a stream by one dimension at the end',
  accepts: isImage,
  async run(input, output, props) {
    const dim = props.sorting_dimension as (typeof dimensions)[number];
    const images: Image[] = [];
    for await (const image of input) images.push(image);
    images.sort((a, b) => a.head[dim] - b.head[dim]);
    for (const image of images) await output.push(image);
  },
});
