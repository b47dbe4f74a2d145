/**
 * One 2D plane of an ISMRMRD image as float32 values: a chosen z position and
 * channel, and for complex data a chosen part (magnitude, phase, real or
 * imaginary). Pixels are x fastest, then y, z, channel (ISMRMRD order).
 */
import { DataType, type Image } from '../ismrmrd/types.js';

/** Which part of a complex image to show; real-valued images ignore it except for `phase` (0 or π by sign). */
export type ImagePart = 'magnitude' | 'phase' | 'real' | 'imag';

/** The parts a viewer may ask for. */
export const IMAGE_PARTS: readonly ImagePart[] = ['magnitude', 'phase', 'real', 'imag'];

/** True for complex data types (CXFLOAT, CXDOUBLE). */
export function isComplexImage(image: Image): boolean {
  return image.head.data_type === DataType.CXFLOAT || image.head.data_type === DataType.CXDOUBLE;
}

/** Plane selection. */
export interface PlaneOptions {
  part?: ImagePart;
  z?: number;
  channel?: number;
}

/** The size of a plane: [nx, ny]. */
export function planeSize(image: Image): [number, number] {
  return [image.head.matrix_size[0] ?? 0, image.head.matrix_size[1] ?? 1];
}

/**
 * Extracts one plane. Complex images give the requested part (magnitude by
 * default); real images give their values (for `imag`: zeros; for `phase`: 0 or π by sign).
 */
export function imagePlane(image: Image, options: PlaneOptions = {}): Float32Array {
  const [nx, ny] = planeSize(image);
  const nz = image.head.matrix_size[2] ?? 1;
  const z = options.z ?? 0;
  const channel = options.channel ?? 0;
  if (!Number.isInteger(z) || z < 0 || z >= nz) throw new RangeError(`Cannot select z ${z}: the image has ${nz}`);
  if (!Number.isInteger(channel) || channel < 0 || channel >= image.head.channels) {
    throw new RangeError(`Cannot select channel ${channel}: the image has ${image.head.channels}`);
  }
  const n = nx * ny;
  const offset = (channel * nz + z) * n;
  const out = new Float32Array(n);
  const data = image.data;
  const part = options.part ?? 'magnitude';
  if (isComplexImage(image)) {
    for (let i = 0; i < n; i++) {
      const re = data[2 * (offset + i)] as number;
      const im = data[2 * (offset + i) + 1] as number;
      out[i] = part === 'magnitude' ? Math.hypot(re, im) : part === 'phase' ? Math.atan2(im, re) : part === 'real' ? re : im;
    }
    return out;
  }
  for (let i = 0; i < n; i++) {
    const v = data[offset + i] as number;
    out[i] = part === 'imag' ? 0 : part === 'phase' ? (v < 0 ? Math.PI : 0) : v;
  }
  return out;
}
