/**
 * PNG rendering of ISMRMRD images: one plane, windowed to 8-bit grey with the
 * same rule as the web page (src/formats/windowing.ts).
 */
import { encode } from 'fast-png';
import type { Image } from '../ismrmrd/types.js';
import { imagePlane, planeSize, type PlaneOptions } from './image-plane.js';
import { applyWindow, percentileWindow, windowFromMeta, type DisplayWindow } from './windowing.js';

/** Rendering options: the plane, and the window (default: the meta's window, else the 1–99 % percentiles). */
export interface PngOptions extends PlaneOptions {
  window?: DisplayWindow;
}

/** The window a viewer shows `values` of `image` with by default. */
export function defaultWindow(image: Image, values: ArrayLike<number>, part: PlaneOptions['part'] = 'magnitude'): DisplayWindow {
  const fromMeta = part === 'magnitude' || part === undefined ? windowFromMeta(Object.fromEntries(image.meta)) : undefined;
  return fromMeta ?? percentileWindow(values);
}

/** Encodes one plane of `image` as an 8-bit greyscale PNG (x → columns, y → rows). */
export function imageToPng(image: Image, options: PngOptions = {}): { png: Uint8Array; window: DisplayWindow } {
  const [width, height] = planeSize(image);
  const values = imagePlane(image, options);
  const window = options.window ?? defaultWindow(image, values, options.part);
  const grey = new Uint8Array(width * height);
  applyWindow(values, window, grey, 1);
  return { png: encode({ width, height, data: grey, channels: 1, depth: 8 }), window };
}
