/**
 * FloatToUShortGadget and its siblings (FloatToShort/Int/UInt): clamp and
 * round float images to integers. Magnitude: |v|; real/imaginary: v + offset;
 * phase: v·offset/π + offset; rounding half away from zero.
 */
import { DataType, ImageType, type Image, type ImagePixels } from '../ismrmrd/types.js';
import type { Message } from '../ismrmrd/messages.js';
import { defineMapGadget, type AnyGadgetDefinition } from '../engine/gadget.js';
import { isFloatImage } from './image-pixels.js';

/** Converts float pixels to fixed point as Gadgetron does for the given image type. */
export function floatToFixedPoint(
  src: Float32Array,
  imageType: number,
  min: number,
  max: number,
  offset: number,
  make: (n: number) => ImagePixels,
): ImagePixels {
  const out = make(src.length);
  // One loop per mapping, so the per-pixel work is the arithmetic, the clamp and the rounding.
  // roundHalfAway without a data-dependent branch: t = ⌊|c|⌋, |c| − t is exact, so t + (|c| − t ≥ ½) is C's lround.
  const clampRound = (v: number): number => {
    const low = v < min ? min : v;
    const c = low > max ? max : low; // max wins when min > max, as before
    const a = Math.abs(c);
    const t = Math.floor(a);
    const r = t + +(a - t >= 0.5);
    return c < 0 ? -r : r;
  };
  const n = src.length;
  if (imageType === ImageType.REAL || imageType === ImageType.IMAG) {
    for (let i = 0; i < n; i++) out[i] = clampRound((src[i] as number) + offset);
  } else if (imageType === ImageType.PHASE) {
    for (let i = 0; i < n; i++) out[i] = clampRound(((src[i] as number) * offset) / Math.PI + offset);
  } else {
    for (let i = 0; i < n; i++) out[i] = clampRound(Math.abs(src[i] as number));
  }
  return out;
}

function fixedPointGadget(className: string, dataType: number, make: (n: number) => ImagePixels, description: string): AnyGadgetDefinition {
  return defineMapGadget({
    name: className,
    classNames: [className],
    properties: {
      max_intensity: { type: 'number', default: 4095 },
      min_intensity: { type: 'number', default: 0 },
      intensity_offset: { type: 'number', default: 2048 },
    },
    strict: false,
    description,
    accepts: (m: Message): m is Image => m.kind === 'image' && isFloatImage(m),
    process(image, props) {
      const data = floatToFixedPoint(image.data as Float32Array, image.head.image_type, props.min_intensity, props.max_intensity, props.intensity_offset, make);
      return { kind: 'image', head: { ...image.head, data_type: dataType }, meta: image.meta, data };
    },
  });
}

export const floatToUShortGadget = fixedPointGadget('FloatToUShortGadget', DataType.USHORT, (n) => new Uint16Array(n), 'Converts float images to unsigned 16-bit');
export const floatToShortGadget = fixedPointGadget('FloatToShortGadget', DataType.SHORT, (n) => new Int16Array(n), 'Converts float images to signed 16-bit');
export const floatToUIntGadget = fixedPointGadget('FloatToUIntGadget', DataType.UINT, (n) => new Uint32Array(n), 'Converts float images to unsigned 32-bit');
export const floatToIntGadget = fixedPointGadget('FloatToIntGadget', DataType.INT, (n) => new Int32Array(n), 'Converts float images to signed 32-bit');
