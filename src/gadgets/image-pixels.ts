/**
 * Pixel conversions shared by the image gadgets: complex → real parts and
 * float → fixed point with Gadgetron's clamping and rounding.
 */
import { DataType, ImageType, type Image } from '../ismrmrd/types.js';

/** Which real quantity to take from a complex pixel. */
export type ComplexPart = 'magnitude' | 'phase' | 'real' | 'imag';

/** True when the image holds complex float pixels. */
export function isComplexFloatImage(image: Image): boolean {
  return image.head.data_type === DataType.CXFLOAT && image.data instanceof Float32Array;
}

/** True when the image holds real float pixels. */
export function isFloatImage(image: Image): boolean {
  return image.head.data_type === DataType.FLOAT && image.data instanceof Float32Array;
}

/** Takes one real part of every complex pixel; `offset` is added to real/imag parts; phase is arg(z) + π when `shiftPhase`. */
export function complexToReal(src: Float32Array, part: ComplexPart, offset = 0, shiftPhase = false): Float32Array {
  const n = src.length >> 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const re = src[2 * i] as number;
    const im = src[2 * i + 1] as number;
    switch (part) {
      case 'magnitude':
        out[i] = Math.hypot(re, im);
        break;
      case 'phase':
        out[i] = Math.atan2(im, re) + (shiftPhase ? Math.PI : 0);
        break;
      case 'real':
        out[i] = re + offset;
        break;
      case 'imag':
        out[i] = im + offset;
        break;
    }
  }
  return out;
}

/** image_type code for a complex part. */
export function imageTypeOf(part: ComplexPart): number {
  return part === 'magnitude' ? ImageType.MAGNITUDE : part === 'phase' ? ImageType.PHASE : part === 'real' ? ImageType.REAL : ImageType.IMAG;
}

/** C's lround: round half away from zero. */
export function roundHalfAway(x: number): number {
  return x < 0 ? -Math.round(-x) : Math.round(x);
}
