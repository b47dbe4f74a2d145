/**
 * AutoScaleGadget: scales float magnitude images so that the 99th percentile
 * of a histogram of pixel values (histogram_bins bins over [0, max]) maps to
 * max_value. Other images pass unchanged.
 */
import { ImageType, type Image } from '../ismrmrd/types.js';
import type { Message } from '../ismrmrd/messages.js';
import { defineMapGadget } from '../engine/gadget.js';
import { isFloatImage } from './image-pixels.js';

/** The scale factor AutoScaleGadget applies to `pixels`. */
export function autoScaleFactor(pixels: Float32Array, maxValue: number, bins: number): number {
  let max = 0;
  for (let i = 0; i < pixels.length; i++) if ((pixels[i] as number) > max) max = pixels[i] as number;
  if (!(max > 0)) return 1;
  const histogram = new Float64Array(bins);
  for (let i = 0; i < pixels.length; i++) {
    const v = pixels[i] as number;
    if (!(v > 0)) {
      histogram[0] = (histogram[0] as number) + 1;
      continue;
    }
    const b = Math.min(bins - 1, Math.floor((v / max) * bins));
    histogram[b] = (histogram[b] as number) + 1;
  }
  // As Gadgetron counts: add bins until 99 % of the pixels are reached; `counter` ends one past that
  // bin and the level is (counter + 1)·max/bins, i.e. the upper edge of the bin after it.
  let cumulative = 0;
  let counter = 0;
  while (cumulative < 0.99 * pixels.length && counter < bins) cumulative += histogram[counter++] as number;
  const level = (counter + 1) * (max / bins);
  return level > 0 ? maxValue / level : 1;
}

export const autoScaleGadget = defineMapGadget({
  name: 'AutoScaleGadget',
  classNames: ['AutoScaleGadget'],
  properties: {
    max_value: { type: 'number', default: 2048 },
    histogram_bins: { type: 'integer', default: 100, min: 1 },
  },
  strict: false,
  description: 'Scales magnitude images so the 99th percentile maps to max_value',
  accepts: (m: Message): m is Image => m.kind === 'image' && isFloatImage(m),
  process(image, props) {
    if (image.head.image_type !== ImageType.MAGNITUDE && image.head.image_type !== 0) return image;
    const src = image.data as Float32Array;
    const factor = autoScaleFactor(src, props.max_value, props.histogram_bins);
    const data = new Float32Array(src.length);
    for (let i = 0; i < src.length; i++) data[i] = (src[i] as number) * factor;
    return { kind: 'image', head: image.head, meta: image.meta, data };
  },
});
