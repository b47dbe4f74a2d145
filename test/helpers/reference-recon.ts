/**
 * An independent float64 reference reconstruction for tests: centred unitary
 * inverse FFT (own radix-2 code, not Gantry's kernels), crop of the readout
 * oversampling, root sum of squares over coils.
 */

/** In-place radix-2 FFT of a float64 complex vector (re/im arrays); sign −1 forward, +1 inverse. */
function fftRadix2(re: Float64Array, im: Float64Array, sign: 1 | -1): void {
  const n = re.length;
  if ((n & (n - 1)) !== 0) throw new RangeError(`reference FFT needs a power of two, got ${n}`);
  for (let i = 1, j = 0; i < n; i++) {
    let bit = n >> 1;
    for (; j & bit; bit >>= 1) j ^= bit;
    j ^= bit;
    if (i < j) {
      [re[i], re[j]] = [re[j] as number, re[i] as number];
      [im[i], im[j]] = [im[j] as number, im[i] as number];
    }
  }
  for (let len = 2; len <= n; len <<= 1) {
    const ang = (sign * 2 * Math.PI) / len;
    for (let i = 0; i < n; i += len) {
      for (let k = 0; k < len / 2; k++) {
        const wr = Math.cos(ang * k);
        const wi = Math.sin(ang * k);
        const a = i + k;
        const b = a + len / 2;
        const xr = (re[b] as number) * wr - (im[b] as number) * wi;
        const xi = (re[b] as number) * wi + (im[b] as number) * wr;
        re[b] = (re[a] as number) - xr;
        im[b] = (im[a] as number) - xi;
        re[a] = (re[a] as number) + xr;
        im[a] = (im[a] as number) + xi;
      }
    }
  }
}

/** Centred unitary inverse FFT of one vector (ifftshift, IFFT, fftshift, 1/√n), even n. */
export function ifftcVector(re: Float64Array, im: Float64Array): void {
  const n = re.length;
  const h = n / 2;
  const sr = new Float64Array(n);
  const si = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    sr[i] = re[(i + h) % n] as number;
    si[i] = im[(i + h) % n] as number;
  }
  fftRadix2(sr, si, 1);
  const s = 1 / Math.sqrt(n);
  for (let i = 0; i < n; i++) {
    re[i] = (sr[(i + h) % n] as number) * s;
    im[i] = (si[(i + h) % n] as number) * s;
  }
}

/**
 * Reconstructs a fully sampled 2D Cartesian k-space [ro, e1, coils] (float32
 * interleaved complex) to an RSS image cropped to the central `outRo` samples.
 */
export function referenceRecon(kspace: Float32Array, ro: number, e1: number, coils: number, outRo: number): Float64Array {
  const out = new Float64Array(outRo * e1);
  const re = new Float64Array(ro * e1);
  const im = new Float64Array(ro * e1);
  const colRe = new Float64Array(e1);
  const colIm = new Float64Array(e1);
  const lineRe = new Float64Array(ro);
  const lineIm = new Float64Array(ro);
  const start = Math.floor((ro - outRo) / 2);
  for (let c = 0; c < coils; c++) {
    for (let i = 0; i < ro * e1; i++) {
      re[i] = kspace[2 * (c * ro * e1 + i)] as number;
      im[i] = kspace[2 * (c * ro * e1 + i) + 1] as number;
    }
    for (let y = 0; y < e1; y++) {
      for (let x = 0; x < ro; x++) {
        lineRe[x] = re[y * ro + x] as number;
        lineIm[x] = im[y * ro + x] as number;
      }
      ifftcVector(lineRe, lineIm);
      for (let x = 0; x < ro; x++) {
        re[y * ro + x] = lineRe[x] as number;
        im[y * ro + x] = lineIm[x] as number;
      }
    }
    for (let x = start; x < start + outRo; x++) {
      for (let y = 0; y < e1; y++) {
        colRe[y] = re[y * ro + x] as number;
        colIm[y] = im[y * ro + x] as number;
      }
      ifftcVector(colRe, colIm);
      for (let y = 0; y < e1; y++) {
        const o = y * outRo + (x - start);
        out[o] = (out[o] as number) + (colRe[y] as number) ** 2 + (colIm[y] as number) ** 2;
      }
    }
  }
  for (let i = 0; i < out.length; i++) out[i] = Math.sqrt(out[i] as number);
  return out;
}

/** Normalised root-mean-square error ‖a − b‖ / ‖b‖ (float64). */
export function nrmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new RangeError(`nrmse of arrays of ${a.length} and ${b.length} elements`);
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    num += d * d;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num / den);
}

/** Ratio of sums Σa / Σb: the absolute scale of a relative to b. */
export function scaleRatio(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let sa = 0;
  let sb = 0;
  for (let i = 0; i < a.length; i++) {
    sa += a[i] as number;
    sb += b[i] as number;
  }
  return sa / sb;
}
