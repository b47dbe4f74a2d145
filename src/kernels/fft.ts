/**
 * Pure-TypeScript complex FFT on interleaved float32 data.
 *
 * Smooth lengths (2^a·3^b·5^c) use a mixed-radix 4/2/3/5 Stockham autosort
 * transform (decimation in frequency, no bit reversal); other lengths use
 * Bluestein's chirp-z algorithm on a smooth length ≥ 2n − 1
 * (L. Bluestein, IEEE Trans. Audio Electroacoust. 1970;18:451; C. Van Loan,
 * "Computational Frameworks for the FFT", SIAM 1992, §1.7 for Stockham).
 *
 * Each line is gathered from the float32 array into a float64 work buffer,
 * transformed there with float64 twiddles, and scattered back. The inverse is
 * computed as conj(FFT(conj(x))), with both conjugations, the centring shifts
 * and the scaling folded into the gather and the scatter. Lines spaced one
 * element apart (transforms along a non-contiguous axis) are processed many
 * at once: the Stockham passes then run as butterflies between whole rows of
 * the batch, with contiguous inner loops and no transposes.
 *
 * The centred transforms follow Gadgetron (`hoNDFFT`):
 * fftc(x) = fftshift(FFT(ifftshift(x)))/√n per axis, with
 * ifftshift(x)[i] = x[(i + ⌊n/2⌋) mod n] and fftshift(x)[i] = x[(i − ⌊n/2⌋) mod n],
 * which equals X[u] = n^{−1/2} Σ_v x[v] e^{∓2πi·uv/n} on centred indices
 * u, v ∈ [−⌊n/2⌋, ⌈n/2⌉ − 1] stored at index u + ⌊n/2⌋ (even and odd n).
 */

/** Complex elements of work buffer per plan; bounds the batch size. */
const BATCH_ELEMENTS = 16384;
/** Plans kept by `getFftPlan`. */
const PLAN_CACHE_LIMIT = 64;

const SIN_PI_3 = Math.sqrt(3) / 2;
const SQRT1_2 = Math.SQRT1_2;
const C5_1 = Math.cos((2 * Math.PI) / 5);
const C5_2 = Math.cos((4 * Math.PI) / 5);
const S5_1 = Math.sin((2 * Math.PI) / 5);
const S5_2 = Math.sin((4 * Math.PI) / 5);

/** Radices for n (8 first, then 4, 2, 3, 5), or null when n has another prime factor. */
function smoothRadices(n: number): number[] | null {
  const radices: number[] = [];
  let rest = n;
  let twos = 0;
  while (rest % 2 === 0) {
    twos++;
    rest /= 2;
  }
  let eights = Math.floor(twos / 3);
  const leftover = twos % 3;
  if (leftover === 1 && eights > 0) {
    eights--;
    radices.push(4, 4);
  } else if (leftover === 1) {
    radices.push(2);
  } else if (leftover === 2) {
    radices.push(4);
  }
  for (let i = 0; i < eights; i++) radices.unshift(8);
  while (rest % 3 === 0) {
    radices.push(3);
    rest /= 3;
  }
  while (rest % 5 === 0) {
    radices.push(5);
    rest /= 5;
  }
  return rest === 1 ? radices : null;
}

/** Smallest 2^a·3^b·5^c that is ≥ n. */
function nextSmooth(n: number): number {
  let m = Math.max(1, n);
  while (smoothRadices(m) === null) m++;
  return m;
}

/**
 * Radix-r Stockham pass on `s` interleaved vectors of current length r·m:
 * y[q + s(r·p + k)] = w^{pk} Σ_j x[q + s(p + jm)] ω_r^{jk}, with w the
 * current length's root of unity (twiddles `tw[p(r−1) + k − 1]`).
 */
function pass2(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
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

function pass4(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
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

function pass8(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
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

function pass3(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
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

function pass5(x: Float64Array, y: Float64Array, s: number, m: number, tw: Float64Array): void {
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

/** Forward Stockham transform of one smooth length on batches of interleaved vectors. */
class StockhamCore {
  private readonly radices: number[];
  private readonly spans: number[];
  private readonly twiddles: Float64Array[];

  constructor(
    readonly n: number,
    radices: number[],
  ) {
    this.radices = radices;
    this.spans = [];
    this.twiddles = [];
    let l = 1;
    for (const r of radices) {
      const m = n / (l * r);
      const tw = new Float64Array(2 * m * (r - 1));
      for (let p = 0; p < m; p++) {
        for (let k = 1; k < r; k++) {
          const angle = (-2 * Math.PI * ((l * p * k) % n)) / n;
          const at = 2 * (p * (r - 1) + k - 1);
          tw[at] = Math.cos(angle);
          tw[at + 1] = Math.sin(angle);
        }
      }
      this.spans.push(m);
      this.twiddles.push(tw);
      l *= r;
    }
  }

  /**
   * Transforms `batch` vectors stored as a[q + batch·t] (complex elements),
   * using `b` as the other buffer; returns the buffer holding the result.
   */
  run(a: Float64Array, b: Float64Array, batch: number): Float64Array {
    let x = a;
    let y = b;
    let s = batch;
    const radices = this.radices;
    for (let i = 0; i < radices.length; i++) {
      const r = radices[i];
      const m = this.spans[i];
      const tw = this.twiddles[i];
      if (r === 4) pass4(x, y, s, m, tw);
      else if (r === 8) pass8(x, y, s, m, tw);
      else if (r === 2) pass2(x, y, s, m, tw);
      else if (r === 3) pass3(x, y, s, m, tw);
      else pass5(x, y, s, m, tw);
      const t = x;
      x = y;
      y = t;
      s *= r;
    }
    return x;
  }
}

/**
 * Copies `batch` lines of length n from `src` into work[q + batch·t]:
 * element t of line q is src[offset + q·distance + ((t + shift) mod n)·stride].
 */
function gatherLines(
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
function scatterLines(
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
function gatherLine(src: Float32Array, offset: number, stride: number, n: number, shift: number, conjugate: boolean, work: Float64Array): void {
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
function scatterLine(
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

/** Bluestein tables: chirp c[t] = e^{−iπt²/n} and the transformed filter ĥ/m. */
interface Chirp {
  readonly m: number;
  readonly chirp: Float64Array;
  readonly filter: Float64Array;
}

function makeChirp(n: number, core: StockhamCore): Chirp {
  const m = core.n;
  const chirp = new Float64Array(2 * n);
  for (let t = 0; t < n; t++) {
    const angle = (-Math.PI * ((t * t) % (2 * n))) / n;
    chirp[2 * t] = Math.cos(angle);
    chirp[2 * t + 1] = Math.sin(angle);
  }
  const h = new Float64Array(2 * m);
  for (let t = 0; t < n; t++) {
    h[2 * t] = chirp[2 * t];
    h[2 * t + 1] = -chirp[2 * t + 1];
    if (t > 0) {
      h[2 * (m - t)] = chirp[2 * t];
      h[2 * (m - t) + 1] = -chirp[2 * t + 1];
    }
  }
  const spectrum = core.run(h, new Float64Array(2 * m), 1);
  const filter = new Float64Array(2 * m);
  for (let i = 0; i < 2 * m; i++) filter[i] = spectrum[i] / m;
  return { m, chirp, filter };
}

/**
 * Bluestein transform of `batch` vectors stored as a[q + batch·t], t < n.
 * X = c · IDFT(DFT(c·x) · ĥ)/m, with the inverse DFT taken as conj(DFT(conj)).
 */
function runBluestein(
  n: number,
  tables: Chirp,
  core: StockhamCore,
  a: Float64Array,
  b: Float64Array,
  batch: number,
): Float64Array {
  const { m, chirp, filter } = tables;
  for (let t = 0; t < n; t++) {
    const cr = chirp[2 * t];
    const ci = chirp[2 * t + 1];
    const end = 2 * batch * (t + 1);
    for (let i = 2 * batch * t; i < end; i += 2) {
      const xr = a[i];
      const xi = a[i + 1];
      a[i] = xr * cr - xi * ci;
      a[i + 1] = xr * ci + xi * cr;
    }
  }
  a.fill(0, 2 * batch * n, 2 * batch * m);
  const spectrum = core.run(a, b, batch);
  for (let t = 0; t < m; t++) {
    const fr = filter[2 * t];
    const fi = filter[2 * t + 1];
    const end = 2 * batch * (t + 1);
    for (let i = 2 * batch * t; i < end; i += 2) {
      const xr = spectrum[i];
      const xi = spectrum[i + 1];
      spectrum[i] = xr * fr - xi * fi;
      spectrum[i + 1] = -(xr * fi + xi * fr);
    }
  }
  const other = spectrum === a ? b : a;
  const conv = core.run(spectrum, other, batch);
  for (let t = 0; t < n; t++) {
    const cr = chirp[2 * t];
    const ci = chirp[2 * t + 1];
    const end = 2 * batch * (t + 1);
    for (let i = 2 * batch * t; i < end; i += 2) {
      const xr = conv[i];
      const xi = -conv[i + 1];
      conv[i] = xr * cr - xi * ci;
      conv[i + 1] = xr * ci + xi * cr;
    }
  }
  return conv;
}

/**
 * A complex FFT of one length n ≥ 1, with its twiddle tables and scratch.
 * Transforms are unnormalised: forward e^{−2πi·kt/n}, inverse e^{+2πi·kt/n}.
 * A plan owns its scratch, so one plan must not be used re-entrantly.
 */
export class FftPlan {
  /** Transform length. */
  readonly n: number;
  /** Lines transformed together when they lie one element apart. */
  readonly maxBatch: number;
  private readonly core: StockhamCore;
  private readonly bluestein: Chirp | null;
  private workA: Float64Array | null = null;
  private workB: Float64Array | null = null;

  constructor(n: number) {
    if (!Number.isInteger(n) || n < 1) throw new RangeError(`Cannot plan an FFT of length ${n}: need an integer ≥ 1`);
    this.n = n;
    const radices = smoothRadices(n);
    if (radices !== null) {
      this.core = new StockhamCore(n, radices);
      this.bluestein = null;
    } else {
      const m = nextSmooth(2 * n - 1);
      this.core = new StockhamCore(m, smoothRadices(m) as number[]);
      this.bluestein = makeChirp(n, this.core);
    }
    this.maxBatch = Math.max(1, Math.floor(BATCH_ELEMENTS / this.core.n));
  }

  /**
   * Transforms one vector in place: elements data[offset + t·stride], t < n,
   * with offset and stride in complex elements. Unnormalised. Returns `data`.
   */
  transform(data: Float32Array, offset: number, stride: number, inverse: boolean): Float32Array {
    return this.transformLines(data, offset, stride, 1, 0, inverse, false, 1);
  }

  /**
   * Transforms `count` vectors in place; vector j has elements
   * data[offset + j·distance + t·stride], t < n (all in complex elements).
   * With `centred`, applies ifftshift before and fftshift after each vector;
   * the result is multiplied by `scale`. Vectors one element apart
   * (`distance` 1) are transformed in batches. Returns `data`.
   */
  transformLines(
    data: Float32Array,
    offset: number,
    stride: number,
    count: number,
    distance: number,
    inverse: boolean,
    centred: boolean,
    scale: number,
  ): Float32Array {
    const n = this.n;
    if (count <= 0) return data;
    const last = offset + (n - 1) * stride + (count - 1) * distance;
    if (offset < 0 || stride < 0 || distance < 0 || 2 * last + 1 >= data.length) {
      throw new RangeError(`Cannot transform ${count} line(s) of length ${n}: elements reach past the array of ${data.length / 2}`);
    }
    const shift = centred ? n >> 1 : 0;
    const batch = distance === 1 ? Math.min(count, this.maxBatch) : 1;
    const { a, b } = this.buffers(batch);
    const bluestein = this.bluestein;
    for (let first = 0; first < count; first += batch) {
      const lines = Math.min(batch, count - first);
      const start = offset + first * distance;
      if (lines === 1) gatherLine(data, start, stride, n, shift, inverse, a);
      else gatherLines(data, start, stride, distance, lines, n, shift, inverse, a);
      const result = bluestein === null ? this.core.run(a, b, lines) : runBluestein(n, bluestein, this.core, a, b, lines);
      if (lines === 1) scatterLine(result, data, start, stride, n, shift, inverse, scale);
      else scatterLines(result, data, start, stride, distance, lines, n, shift, inverse, scale);
    }
    return data;
  }

  private buffers(batch: number): { a: Float64Array; b: Float64Array } {
    const size = 2 * this.core.n * batch;
    if (this.workA === null || this.workB === null || this.workA.length < size) {
      const full = 2 * this.core.n * this.maxBatch;
      this.workA = new Float64Array(Math.max(size, batch === 1 ? 2 * this.core.n : full));
      this.workB = new Float64Array(this.workA.length);
    }
    return { a: this.workA, b: this.workB };
  }
}

const planCache = new Map<number, FftPlan>();

/** The cached plan for length n (created on first use). */
export function getFftPlan(n: number): FftPlan {
  let plan = planCache.get(n);
  if (plan === undefined) {
    plan = new FftPlan(n);
    if (planCache.size >= PLAN_CACHE_LIMIT) {
      const oldest = planCache.keys().next().value as number;
      planCache.delete(oldest);
    }
    planCache.set(n, plan);
  }
  return plan;
}

function checkLayout(data: Float32Array, dims: readonly number[], what: string): number {
  let total = 1;
  for (const d of dims) {
    if (!Number.isInteger(d) || d < 1) throw new RangeError(`Cannot ${what}: dimension ${d} in [${dims.join(', ')}] is not a positive integer`);
    total *= d;
  }
  if (data.length !== 2 * total) {
    throw new RangeError(`Cannot ${what}: data length ${data.length} does not match 2 × ${total} complex elements of [${dims.join(', ')}]`);
  }
  return total;
}

/**
 * Centred unitary FFT along each of `axes` of a column-major complex array,
 * in place: per axis ifftshift, FFT (inverse when `inverse`), fftshift and
 * 1/√n scaling — Gadgetron's fft*c / ifft*c and BART's `fft -u [-i]`.
 * Returns `data`.
 */
export function fftc(data: Float32Array, dims: readonly number[], axes: readonly number[], inverse: boolean): Float32Array {
  const total = checkLayout(data, dims, inverse ? 'apply ifftc' : 'apply fftc');
  for (const axis of axes) {
    if (!Number.isInteger(axis) || axis < 0 || axis >= dims.length) {
      throw new RangeError(`Cannot apply fftc along axis ${axis} of a ${dims.length}-dimensional array`);
    }
  }
  for (const axis of axes) {
    const n = dims[axis];
    if (n === 1) continue;
    let inner = 1;
    for (let d = 0; d < axis; d++) inner *= dims[d];
    const outer = total / (inner * n);
    const plan = getFftPlan(n);
    const scale = 1 / Math.sqrt(n);
    if (inner === 1) {
      plan.transformLines(data, 0, 1, outer, n, inverse, true, scale);
    } else {
      for (let o = 0; o < outer; o++) plan.transformLines(data, o * inner * n, inner, inner, 1, inverse, true, scale);
    }
  }
  return data;
}

/** Centred unitary forward FFT along one axis, in place. */
export function fft1c(data: Float32Array, dims: readonly number[], axis = 0): Float32Array {
  return fftc(data, dims, [axis], false);
}

/** Centred unitary inverse FFT along one axis, in place (k-space → image). */
export function ifft1c(data: Float32Array, dims: readonly number[], axis = 0): Float32Array {
  return fftc(data, dims, [axis], true);
}

/** Centred unitary forward FFT along axes 0 and 1, in place. */
export function fft2c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1], false);
}

/** Centred unitary inverse FFT along axes 0 and 1, in place (k-space → image). */
export function ifft2c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1], true);
}

/** Centred unitary forward FFT along axes 0, 1 and 2, in place. */
export function fft3c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1, 2], false);
}

/** Centred unitary inverse FFT along axes 0, 1 and 2, in place (k-space → image). */
export function ifft3c(data: Float32Array, dims: readonly number[]): Float32Array {
  return fftc(data, dims, [0, 1, 2], true);
}
