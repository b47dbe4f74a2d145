/**
 * FloatToUShortGadget and its siblings (FloatToShort/Int/UInt): clamp and
 * round float images to integers. Magnitude: |v|; real/imaginary: v + offset;
 * phase: v·offset/π + offset; rounding half away from zero.
 */
import { DataType, ImageType, type Image, type ImagePixels } from '../ismrmrd/types.js';
import type { Message } from '../ismrmrd/messages.js';
import { defineMapGadget, type AnyGadgetDefinition } from '../engine/gadget.js';
import { nativeKernels, type NativeKernels } from '../kernels/native.js';
import { isFloatImage } from './image-pixels.js';

type FixedPointKernel = (src: Float32Array, out: Uint16Array | Int16Array | Uint32Array | Int32Array, mode: FixedPointMode, min: number, max: number, offset: number) => void;

/** How a pixel maps before clamping: 0 magnitude |v|, 1 real or imaginary v + offset, 2 phase v·offset/π + offset. */
export type FixedPointMode = 0 | 1 | 2;

/** The mode of an ISMRMRD image type. */
export function fixedPointMode(imageType: number): FixedPointMode {
  if (imageType === ImageType.REAL || imageType === ImageType.IMAG) return 1;
  return imageType === ImageType.PHASE ? 2 : 0;
}

/**
 * Converts float pixels to fixed point as Gadgetron does for the given image
 * type, into `make(src.length)`: natively where the kernels addon is built
 * (native/src/gantry_kernels.c `toFixedPoint`, the same double arithmetic and
 * the same bits, ~1 ns a pixel against ~12), else {@link fixedPointInto}.
 */
export function floatToFixedPoint(
  src: Float32Array,
  imageType: number,
  min: number,
  max: number,
  offset: number,
  make: (n: number) => ImagePixels,
): ImagePixels {
  const out = make(src.length);
  const mode = fixedPointMode(imageType);
  const native = (nativeKernels() as (NativeKernels & { toFixedPoint?: FixedPointKernel }) | null)?.toFixedPoint;
  if (native && !(out instanceof Float32Array) && !(out instanceof Float64Array)) native(src, out, mode, min, max, offset);
  else fixedPointInto(src, out, mode, min, max, offset);
  return out;
}

/** The conversion of {@link floatToFixedPoint} in TypeScript: out[i] for each src[i]; returns `out`. */
export function fixedPointInto(src: Float32Array, out: ImagePixels, mode: FixedPointMode, min: number, max: number, offset: number): ImagePixels {
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
  if (mode === 1) {
    for (let i = 0; i < n; i++) out[i] = clampRound((src[i] as number) + offset);
  } else if (mode === 2) {
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
