/**
 * Internal building blocks of the FFT in `fft.ts`: Stockham radix passes on
 * float64 work buffers, the same passes fused with the gather from / scatter
 * to the float32 data, and the plain gather/scatter copies. Not part of the
 * kernels' public surface.
 *
 * Layout: a batch of B vectors of current length r·m is stored interleaved,
 * element t of vector q at complex index q + B·t, so a pass's inner loop runs
 * over whole rows of the batch.
 */

const SIN_PI_3 = Math.sqrt(3) / 2;
const SQRT1_2 = Math.SQRT1_2;
const C5_1 = Math.cos((2 * Math.PI) / 5);
const C5_2 = Math.cos((4 * Math.PI) / 5);
const S5_1 = Math.sin((2 * Math.PI) / 5);
const S5_2 = Math.sin((4 * Math.PI) / 5);

/**
 * Radix-r Stockham pass on `s` interleaved vectors of current length r·m:
 * y[q + s(r·p + k)] = w^{pk} Σ_j x[q + s(p + jm)] ω_r^{jk}, with w the
 * current length's root of unity (twiddles `tw[p(r−1) + k − 1]`).
 */
export function pass2(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
  const jx = 2 * s * m;
  const ky = 2 * s;
  for (let p = 0; p < m; p++) {
    const wr = tw[2 * p];
    const wi = tw[2 * p + 1];
    const xb = 2 * s * p;
    const yb = 4 * s * p;
    for (let q = 0; q < 2 * s; q += 2) {
      const i0 = xb + q;
      const i1 = i0 + jx;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const a1r = x[i1];
      const a1i = x[i1 + 1];
      const o0 = yb + q;
      const o1 = o0 + ky;
      y[o0] = a0r + a1r;
      y[o0 + 1] = a0i + a1i;
      const dr = a0r - a1r;
      const di = a0i - a1i;
      y[o1] = dr * wr - di * wi;
      y[o1 + 1] = dr * wi + di * wr;
    }
  }
}

export function pass4(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
  const jx = 2 * s * m;
  const ky = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 6 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const w3r = tw[t + 4];
    const w3i = tw[t + 5];
    const xb = 2 * s * p;
    const yb = 8 * s * p;
    for (let q = 0; q < 2 * s; q += 2) {
      const i0 = xb + q;
      const i1 = i0 + jx;
      const i2 = i1 + jx;
      const i3 = i2 + jx;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const a1r = x[i1];
      const a1i = x[i1 + 1];
      const a2r = x[i2];
      const a2i = x[i2 + 1];
      const a3r = x[i3];
      const a3i = x[i3 + 1];
      const t0r = a0r + a2r;
      const t0i = a0i + a2i;
      const t1r = a0r - a2r;
      const t1i = a0i - a2i;
      const t2r = a1r + a3r;
      const t2i = a1i + a3i;
      // t3 = −i·(a1 − a3)
      const t3r = a1i - a3i;
      const t3i = a3r - a1r;
      const o0 = yb + q;
      const o1 = o0 + ky;
      const o2 = o1 + ky;
      const o3 = o2 + ky;
      y[o0] = t0r + t2r;
      y[o0 + 1] = t0i + t2i;
      const b1r = t1r + t3r;
      const b1i = t1i + t3i;
      y[o1] = b1r * w1r - b1i * w1i;
      y[o1 + 1] = b1r * w1i + b1i * w1r;
      const b2r = t0r - t2r;
      const b2i = t0i - t2i;
      y[o2] = b2r * w2r - b2i * w2i;
      y[o2 + 1] = b2r * w2i + b2i * w2r;
      const b3r = t1r - t3r;
      const b3i = t1i - t3i;
      y[o3] = b3r * w3r - b3i * w3i;
      y[o3 + 1] = b3r * w3i + b3i * w3r;
    }
  }
}

export function pass8(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
  const jx = 2 * s * m;
  const ky = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 14 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const w3r = tw[t + 4];
    const w3i = tw[t + 5];
    const w4r = tw[t + 6];
    const w4i = tw[t + 7];
    const w5r = tw[t + 8];
    const w5i = tw[t + 9];
    const w6r = tw[t + 10];
    const w6i = tw[t + 11];
    const w7r = tw[t + 12];
    const w7i = tw[t + 13];
    const xb = 2 * s * p;
    const yb = 16 * s * p;
    for (let q = 0; q < 2 * s; q += 2) {
      const i0 = xb + q;
      const i1 = i0 + jx;
      const i2 = i1 + jx;
      const i3 = i2 + jx;
      const i4 = i3 + jx;
      const i5 = i4 + jx;
      const i6 = i5 + jx;
      const i7 = i6 + jx;
      // Radix-2 split: b_j = a_j + a_{j+4} feed the even outputs,
      // c_j = (a_j − a_{j+4})·ω8^j the odd ones; then two radix-4 DFTs.
      const b0r = x[i0] + x[i4];
      const b0i = x[i0 + 1] + x[i4 + 1];
      const b1r = x[i1] + x[i5];
      const b1i = x[i1 + 1] + x[i5 + 1];
      const b2r = x[i2] + x[i6];
      const b2i = x[i2 + 1] + x[i6 + 1];
      const b3r = x[i3] + x[i7];
      const b3i = x[i3 + 1] + x[i7 + 1];
      const c0r = x[i0] - x[i4];
      const c0i = x[i0 + 1] - x[i4 + 1];
      const d1r = x[i1] - x[i5];
      const d1i = x[i1 + 1] - x[i5 + 1];
      const c1r = SQRT1_2 * (d1r + d1i);
      const c1i = SQRT1_2 * (d1i - d1r);
      const c2r = x[i2 + 1] - x[i6 + 1];
      const c2i = x[i6] - x[i2];
      const d3r = x[i3] - x[i7];
      const d3i = x[i3 + 1] - x[i7 + 1];
      const c3r = SQRT1_2 * (d3i - d3r);
      const c3i = -SQRT1_2 * (d3r + d3i);
      const e0r = b0r + b2r;
      const e0i = b0i + b2i;
      const e1r = b0r - b2r;
      const e1i = b0i - b2i;
      const e2r = b1r + b3r;
      const e2i = b1i + b3i;
      const e3r = b1i - b3i;
      const e3i = b3r - b1r;
      const f0r = c0r + c2r;
      const f0i = c0i + c2i;
      const f1r = c0r - c2r;
      const f1i = c0i - c2i;
      const f2r = c1r + c3r;
      const f2i = c1i + c3i;
      const f3r = c1i - c3i;
      const f3i = c3r - c1r;
      const o0 = yb + q;
      const o1 = o0 + ky;
      const o2 = o1 + ky;
      const o3 = o2 + ky;
      const o4 = o3 + ky;
      const o5 = o4 + ky;
      const o6 = o5 + ky;
      const o7 = o6 + ky;
      y[o0] = e0r + e2r;
      y[o0 + 1] = e0i + e2i;
      const g1r = f0r + f2r;
      const g1i = f0i + f2i;
      y[o1] = g1r * w1r - g1i * w1i;
      y[o1 + 1] = g1r * w1i + g1i * w1r;
      const g2r = e1r + e3r;
      const g2i = e1i + e3i;
      y[o2] = g2r * w2r - g2i * w2i;
      y[o2 + 1] = g2r * w2i + g2i * w2r;
      const g3r = f1r + f3r;
      const g3i = f1i + f3i;
      y[o3] = g3r * w3r - g3i * w3i;
      y[o3 + 1] = g3r * w3i + g3i * w3r;
      const g4r = e0r - e2r;
      const g4i = e0i - e2i;
      y[o4] = g4r * w4r - g4i * w4i;
      y[o4 + 1] = g4r * w4i + g4i * w4r;
      const g5r = f0r - f2r;
      const g5i = f0i - f2i;
      y[o5] = g5r * w5r - g5i * w5i;
      y[o5 + 1] = g5r * w5i + g5i * w5r;
      const g6r = e1r - e3r;
      const g6i = e1i - e3i;
      y[o6] = g6r * w6r - g6i * w6i;
      y[o6 + 1] = g6r * w6i + g6i * w6r;
      const g7r = f1r - f3r;
      const g7i = f1i - f3i;
      y[o7] = g7r * w7r - g7i * w7i;
      y[o7 + 1] = g7r * w7i + g7i * w7r;
    }
  }
}

export function pass3(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
  const jx = 2 * s * m;
  const ky = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 4 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const xb = 2 * s * p;
    const yb = 6 * s * p;
    for (let q = 0; q < 2 * s; q += 2) {
      const i0 = xb + q;
      const i1 = i0 + jx;
      const i2 = i1 + jx;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const sr = x[i1] + x[i2];
      const si = x[i1 + 1] + x[i2 + 1];
      // d = (√3/2)·(a1 − a2); ω3 = −1/2 − i√3/2
      const dr = SIN_PI_3 * (x[i1] - x[i2]);
      const di = SIN_PI_3 * (x[i1 + 1] - x[i2 + 1]);
      const mr = a0r - 0.5 * sr;
      const mi = a0i - 0.5 * si;
      const o0 = yb + q;
      const o1 = o0 + ky;
      const o2 = o1 + ky;
      y[o0] = a0r + sr;
      y[o0 + 1] = a0i + si;
      const b1r = mr + di;
      const b1i = mi - dr;
      y[o1] = b1r * w1r - b1i * w1i;
      y[o1 + 1] = b1r * w1i + b1i * w1r;
      const b2r = mr - di;
      const b2i = mi + dr;
      y[o2] = b2r * w2r - b2i * w2i;
      y[o2 + 1] = b2r * w2i + b2i * w2r;
    }
  }
}

export function pass5(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
  const jx = 2 * s * m;
  const ky = 2 * s;
  for (let p = 0; p < m; p++) {
    const t = 8 * p;
    const w1r = tw[t];
    const w1i = tw[t + 1];
    const w2r = tw[t + 2];
    const w2i = tw[t + 3];
    const w3r = tw[t + 4];
    const w3i = tw[t + 5];
    const w4r = tw[t + 6];
    const w4i = tw[t + 7];
    const xb = 2 * s * p;
    const yb = 10 * s * p;
    for (let q = 0; q < 2 * s; q += 2) {
      const i0 = xb + q;
      const i1 = i0 + jx;
      const i2 = i1 + jx;
      const i3 = i2 + jx;
      const i4 = i3 + jx;
      const a0r = x[i0];
      const a0i = x[i0 + 1];
      const b1r = x[i1] + x[i4];
      const b1i = x[i1 + 1] + x[i4 + 1];
      const b2r = x[i2] + x[i3];
      const b2i = x[i2 + 1] + x[i3 + 1];
      const d1r = x[i1] - x[i4];
      const d1i = x[i1 + 1] - x[i4 + 1];
      const d2r = x[i2] - x[i3];
      const d2i = x[i2 + 1] - x[i3 + 1];
      // y1,4 = a0 + c1·b1 + c2·b2 ∓ i(s1·d1 + s2·d2); y2,3 = a0 + c2·b1 + c1·b2 ∓ i(s2·d1 − s1·d2)
      const m1r = a0r + C5_1 * b1r + C5_2 * b2r;
      const m1i = a0i + C5_1 * b1i + C5_2 * b2i;
      const m2r = a0r + C5_2 * b1r + C5_1 * b2r;
      const m2i = a0i + C5_2 * b1i + C5_1 * b2i;
      const e1r = S5_1 * d1r + S5_2 * d2r;
      const e1i = S5_1 * d1i + S5_2 * d2i;
      const e2r = S5_2 * d1r - S5_1 * d2r;
      const e2i = S5_2 * d1i - S5_1 * d2i;
      const o0 = yb + q;
      const o1 = o0 + ky;
      const o2 = o1 + ky;
      const o3 = o2 + ky;
      const o4 = o3 + ky;
      y[o0] = a0r + b1r + b2r;
      y[o0 + 1] = a0i + b1i + b2i;
      const c1r = m1r + e1i;
      const c1i = m1i - e1r;
      y[o1] = c1r * w1r - c1i * w1i;
      y[o1 + 1] = c1r * w1i + c1i * w1r;
      const c2r = m2r + e2i;
      const c2i = m2i - e2r;
      y[o2] = c2r * w2r - c2i * w2i;
      y[o2 + 1] = c2r * w2i + c2i * w2r;
      const c3r = m2r - e2i;
      const c3i = m2i + e2r;
      y[o3] = c3r * w3r - c3i * w3i;
      y[o3 + 1] = c3r * w3i + c3i * w3r;
      const c4r = m1r - e1i;
      const c4i = m1i + e1r;
      y[o4] = c4r * w4r - c4i * w4i;
      y[o4 + 1] = c4r * w4i + c4i * w4r;
    }
  }
}

/**
 * Copies `batch` lines of length n from `src` into work[q + batch·t]:
 * element t of line q is src[offset + q·distance + ((t + shift) mod n)·stride].
 */
export function gatherLines(
  src: Float32Array,
  offset: number,
  stride: number,
  distance: number,
  batch: number,
  n: number,
  shift: number,
  conjugate: boolean,
  work: Float64Array,
): void {
  const imSign = conjugate ? -1 : 1;
  const qStep = 2 * distance;
  for (let t = 0; t < n; t++) {
    let tt = t + shift;
    if (tt >= n) tt -= n;
    let si = 2 * (offset + tt * stride);
    let di = 2 * batch * t;
    for (let q = 0; q < batch; q++) {
      work[di] = src[si];
      work[di + 1] = imSign * src[si + 1];
      si += qStep;
      di += 2;
    }
  }
}

/**
 * Inverse of `gatherLines`: dst[offset + q·distance + ((k + shift) mod n)·stride]
 * = scale · work[q + batch·k], conjugated when asked.
 */
export function scatterLines(
  work: Float64Array,
  dst: Float32Array,
  offset: number,
  stride: number,
  distance: number,
  batch: number,
  n: number,
  shift: number,
  conjugate: boolean,
  scale: number,
): void {
  const imScale = conjugate ? -scale : scale;
  const qStep = 2 * distance;
  for (let k = 0; k < n; k++) {
    let kk = k + shift;
    if (kk >= n) kk -= n;
    let di = 2 * (offset + kk * stride);
    let si = 2 * batch * k;
    for (let q = 0; q < batch; q++) {
      dst[di] = scale * work[si];
      dst[di + 1] = imScale * work[si + 1];
      di += qStep;
      si += 2;
    }
  }
}

/** `gatherLines` for a single line: work[t] = src[offset + ((t + shift) mod n)·stride]. */
export function gatherLine(src: Float32Array, offset: number, stride: number, n: number, shift: number, conjugate: boolean, work: Float64Array): void {
  const imSign = conjugate ? -1 : 1;
  const step = 2 * stride;
  let di = 0;
  let si = 2 * (offset + shift * stride);
  for (let t = shift; t < n; t++) {
    work[di] = src[si];
    work[di + 1] = imSign * src[si + 1];
    di += 2;
    si += step;
  }
  si = 2 * offset;
  for (let t = 0; t < shift; t++) {
    work[di] = src[si];
    work[di + 1] = imSign * src[si + 1];
    di += 2;
    si += step;
  }
}

/** `scatterLines` for a single line. */
export function scatterLine(
  work: Float64Array,
  dst: Float32Array,
  offset: number,
  stride: number,
  n: number,
  shift: number,
  conjugate: boolean,
  scale: number,
): void {
  const imScale = conjugate ? -scale : scale;
  const step = 2 * stride;
  let si = 0;
  let di = 2 * (offset + shift * stride);
  for (let k = shift; k < n; k++) {
    dst[di] = scale * work[si];
    dst[di + 1] = imScale * work[si + 1];
    si += 2;
    di += step;
  }
  di = 2 * offset;
  for (let k = 0; k < shift; k++) {
    dst[di] = scale * work[si];
    dst[di + 1] = imScale * work[si + 1];
    si += 2;
    di += step;
  }
}
