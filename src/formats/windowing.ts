/**
 * Window/level: how pixel values map to 8-bit grey. Shared by the PNG
 * endpoint and the web page, so the page's canvas and the PNG agree byte for
 * byte. Pure functions over numbers (no Node or DOM APIs).
 */

/** A display window: values in [center − width/2, center + width/2] span black to white. */
export interface DisplayWindow {
  center: number;
  width: number;
}

/** Meta names carrying a default window, in order of preference. */
export const WINDOW_META_NAMES = [
  ['GADGETRON_WindowCenter', 'GADGETRON_WindowWidth'],
  ['WindowCenter', 'WindowWidth'],
] as const;

/** The window the image meta asks for, if any (`meta`: name → values). */
export function windowFromMeta(meta: Readonly<Record<string, readonly string[]>>): DisplayWindow | undefined {
  for (const [c, w] of WINDOW_META_NAMES) {
    const center = Number(meta[c]?.[0]);
    const width = Number(meta[w]?.[0]);
    if (meta[c] !== undefined && meta[w] !== undefined && Number.isFinite(center) && Number.isFinite(width) && width > 0) {
      return { center, width };
    }
  }
  return undefined;
}

/** The 1st–99th percentile window of `values` (what viewers use without a stored window). */
export function percentileWindow(values: ArrayLike<number>): DisplayWindow {
  const finite: number[] = [];
  for (let i = 0; i < values.length; i++) {
    const v = values[i] as number;
    if (Number.isFinite(v)) finite.push(v);
  }
  if (finite.length === 0) return { center: 0.5, width: 1 };
  finite.sort((a, b) => a - b);
  const at = (q: number): number => finite[Math.min(finite.length - 1, Math.max(0, Math.round(q * (finite.length - 1))))] as number;
  const lo = at(0.01);
  const hi = at(0.99);
  if (!(hi > lo)) {
    const top = finite[finite.length - 1] as number;
    const bottom = finite[0] as number;
    if (top > bottom) return { center: (top + bottom) / 2, width: top - bottom };
    return { center: bottom, width: Math.max(Math.abs(bottom), 1) };
  }
  return { center: (lo + hi) / 2, width: hi - lo };
}

/** The grey level (0–255) of `value` under `window`. */
export function greyLevel(value: number, window: DisplayWindow): number {
  const width = window.width > 0 ? window.width : 1;
  const g = Math.round(((value - (window.center - width / 2)) / width) * 255);
  return g < 0 || Number.isNaN(g) ? 0 : g > 255 ? 255 : g;
}

/**
 * Writes the grey levels of `values` into `out`, `stride` bytes per pixel
 * (1 for grey PNG rows, 4 for canvas RGBA: R = G = B = grey, A = 255).
 */
export function applyWindow(values: ArrayLike<number>, window: DisplayWindow, out: Uint8Array | Uint8ClampedArray, stride = 1): void {
  for (let i = 0; i < values.length; i++) {
    const g = greyLevel(values[i] as number, window);
    const o = i * stride;
    out[o] = g;
    if (stride === 4) {
      out[o + 1] = g;
      out[o + 2] = g;
      out[o + 3] = 255;
    }
  }
}
