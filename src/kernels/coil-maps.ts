/**
 * Coil sensitivity estimation from low-resolution coil images, and the
 * adaptive coil combination I = Σ_c conj(m_c)·x_c.
 *
 * Inati (Inati, Hansen, Kellman, ISMRM 2013 p. 2672; after Walsh et al., MRM
 * 2000;43:682): at every pixel p, D_p ∈ ℂ^{K×C} holds the K samples of a
 * periodic ks×ks(×kz) window. With S = Σ_rows D_p, v ← S/‖S‖, then `power`
 * times v ← (D_pᴴD_p)·v / ‖·‖; with φ = arg Σ_c S_c·v_c the map is
 * m = conj(v)·e^{iφ}, so Σ_c |m_c|² = 1 and, for locally rank-1 data
 * x_c = ρ·c_c, m = c/‖c‖·e^{i·arg Σ_window ρ}.
 *
 * Inati_Iter (Inati, Hansen, Kellman, ISMRM 2014): alternate a combined image
 * R = Σ_c conj(m_c)·x_c and maps m = box ⊛ (x·conj(R)) / ‖·‖_c, with a global
 * phase fixed by the dominant direction v of Σ_pixels m·R, until
 * ‖R_prev − R‖/‖R‖ < thres.
 *
 * Arrays are [RO, E1, E2, CHA], column-major, interleaved complex float32;
 * E2 = 1 selects the 2D window.
 */
import { channelSum } from './channel-sum.js';
import { fftc } from './fft.js';
import { checkOperand, type LinearOperator } from './linear-operator.js';
import { nativeKernels } from './native.js';

const FLOAT_EPSILON = 1.1920928955078125e-7;

function checkImages(what: string, im: Float32Array, dims: readonly number[], dst: Float32Array): [number, number, number, number] {
  if (dims.length !== 4 || dims.some((d) => !Number.isInteger(d) || d < 1)) {
    throw new RangeError(`Cannot ${what}: dims [${dims.join(', ')}] are not [RO, E1, E2, CHA]`);
  }
  const [RO, E1, E2, CHA] = dims as [number, number, number, number];
  const n = RO * E1 * E2 * CHA;
  if (im.length !== 2 * n) throw new RangeError(`Cannot ${what}: image length ${im.length} does not match 2 × ${n} complex elements of [${dims.join(', ')}]`);
  if (dst.length !== 2 * n) throw new RangeError(`Cannot ${what}: destination length ${dst.length} does not match the images`);
  return [RO, E1, E2, CHA];
}

const mod = (i: number, n: number): number => ((i % n) + n) % n;

/**
 * Inati coil maps of coil images `im` [RO, E1, E2, CHA] into `dst` (same
 * shape). `ks` (RO/E1 window) and `kz` (E2 window, 3D only) are rounded up to
 * odd; `power` is the number of power iterations (Gadgetron uses 3). With one
 * channel the maps are a copy of the input, as in Gadgetron.
 */
export function coilMapInati(im: Float32Array, dims: readonly number[], ks: number, kz: number, power: number, dst: Float32Array): Float32Array {
  return inatiWith(nativeKernels() !== null, im, dims, ks, kz, power, dst);
}

/** {@link coilMapInati} in TypeScript, whatever the kernels (for tests of the native addon). */
export function coilMapInatiPortable(im: Float32Array, dims: readonly number[], ks: number, kz: number, power: number, dst: Float32Array): Float32Array {
  return inatiWith(false, im, dims, ks, kz, power, dst);
}

/** Checks, the one-channel case and the half windows, then the native or the TypeScript Inati. */
function inatiWith(useNative: boolean, im: Float32Array, dims: readonly number[], ks: number, kz: number, power: number, dst: Float32Array): Float32Array {
  const [RO, E1, E2, CHA] = checkImages('estimate Inati coil maps', im, dims, dst);
  if (CHA <= 1) {
    dst.set(im);
    return dst;
  }
  const h = (ks % 2 === 0 ? ks + 1 : ks) >> 1;
  const hz = E2 > 1 ? (kz % 2 === 0 ? kz + 1 : kz) >> 1 : 0;
  const native = useNative ? nativeKernels() : null;
  if (native) {
    // The same algorithm with its sums in the same order, in C (native/src/gantry_kernels.c).
    native.coilMapInati(im, RO, E1, E2, CHA, h, hz, power, dst);
    return dst;
  }
  return inatiPortable(im, RO, E1, E2, CHA, h, hz, power, dst);
}

function inatiPortable(im: Float32Array, RO: number, E1: number, E2: number, CHA: number, h: number, hz: number, power: number, dst: Float32Array): Float32Array {
  const vol = RO * E1 * E2;
  const npairs = (CHA * (CHA + 1)) / 2;
  const pairI = new Int32Array(npairs);
  const pairJ = new Int32Array(npairs);
  const pairOf = new Int32Array(CHA * CHA);
  for (let j = 0, p = 0; j < CHA; j++) {
    for (let i = 0; i <= j; i++, p++) {
      pairI[p] = i;
      pairJ[p] = j;
      pairOf[i + CHA * j] = p;
    }
  }
  const colR = new Float64Array(2 * npairs * RO);
  const colS = new Float64Array(2 * CHA * RO);
  const R = new Float64Array(2 * npairs);
  const S = new Float64Array(2 * CHA);
  const xr = new Float64Array(CHA);
  const xi = new Float64Array(CHA);
  const v = new Float64Array(2 * CHA);
  const w = new Float64Array(2 * CHA);

  for (let e2 = 0; e2 < E2; e2++) {
    for (let e1 = 0; e1 < E1; e1++) {
      colR.fill(0);
      colS.fill(0);
      for (let dz = -hz; dz <= hz; dz++) {
        const z = mod(e2 + dz, E2);
        for (let dy = -h; dy <= h; dy++) {
          const y = mod(e1 + dy, E1);
          const rowBase = RO * (y + E1 * z);
          for (let ro = 0; ro < RO; ro++) {
            const pix = rowBase + ro;
            const sBase = 2 * CHA * ro;
            for (let c = 0; c < CHA; c++) {
              const re = im[2 * (pix + vol * c)] as number;
              const imv = im[2 * (pix + vol * c) + 1] as number;
              xr[c] = re;
              xi[c] = imv;
              colS[sBase + 2 * c] = (colS[sBase + 2 * c] as number) + re;
              colS[sBase + 2 * c + 1] = (colS[sBase + 2 * c + 1] as number) + imv;
            }
            const rBase = 2 * npairs * ro;
            for (let p = 0; p < npairs; p++) {
              const i = pairI[p] as number;
              const j = pairJ[p] as number;
              const ar = xr[i] as number;
              const ai = xi[i] as number;
              const br = xr[j] as number;
              const bi = xi[j] as number;
              colR[rBase + 2 * p] = (colR[rBase + 2 * p] as number) + ar * br + ai * bi;
              colR[rBase + 2 * p + 1] = (colR[rBase + 2 * p + 1] as number) + ar * bi - ai * br;
            }
          }
        }
      }
      R.fill(0);
      S.fill(0);
      for (let d = -h; d <= h; d++) {
        const ro = mod(d, RO);
        for (let k = 0; k < 2 * npairs; k++) R[k] = (R[k] as number) + (colR[2 * npairs * ro + k] as number);
        for (let k = 0; k < 2 * CHA; k++) S[k] = (S[k] as number) + (colS[2 * CHA * ro + k] as number);
      }
      for (let ro = 0; ro < RO; ro++) {
        if (ro > 0) {
          const add = mod(ro + h, RO);
          const sub = mod(ro - 1 - h, RO);
          for (let k = 0; k < 2 * npairs; k++) {
            R[k] = (R[k] as number) + (colR[2 * npairs * add + k] as number) - (colR[2 * npairs * sub + k] as number);
          }
          for (let k = 0; k < 2 * CHA; k++) {
            S[k] = (S[k] as number) + (colS[2 * CHA * add + k] as number) - (colS[2 * CHA * sub + k] as number);
          }
        }
        inatiPixel(R, S, CHA, pairOf, power, v, w);
        const pix = ro + RO * (e1 + E1 * e2);
        for (let c = 0; c < CHA; c++) {
          dst[2 * (pix + vol * c)] = v[2 * c] as number;
          dst[2 * (pix + vol * c) + 1] = v[2 * c + 1] as number;
        }
      }
    }
  }
  return dst;
}

/** One pixel of Inati: power iterations on R from S, result m (into v). */
function inatiPixel(R: Float64Array, S: Float64Array, CHA: number, pairOf: Int32Array, power: number, v: Float64Array, w: Float64Array): void {
  let trace = 0;
  for (let c = 0; c < CHA; c++) trace += R[2 * (pairOf[c + CHA * c] as number)] as number;
  if (!(trace > 0)) {
    v.fill(0);
    return;
  }
  let norm = 0;
  for (let k = 0; k < 2 * CHA; k++) norm += (S[k] as number) * (S[k] as number);
  norm = Math.sqrt(norm);
  if (norm > 0) {
    for (let k = 0; k < 2 * CHA; k++) v[k] = (S[k] as number) / norm;
  } else {
    v.fill(0);
    for (let c = 0; c < CHA; c++) v[2 * c] = 1 / Math.sqrt(CHA);
  }
  for (let it = 0; it < power; it++) {
    let wn = 0;
    for (let i = 0; i < CHA; i++) {
      let re = 0;
      let im = 0;
      for (let j = 0; j < CHA; j++) {
        let rr: number;
        let ri: number;
        if (i <= j) {
          const p = pairOf[i + CHA * j] as number;
          rr = R[2 * p] as number;
          ri = R[2 * p + 1] as number;
        } else {
          const p = pairOf[j + CHA * i] as number;
          rr = R[2 * p] as number;
          ri = -(R[2 * p + 1] as number);
        }
        const vr = v[2 * j] as number;
        const vi = v[2 * j + 1] as number;
        re += rr * vr - ri * vi;
        im += rr * vi + ri * vr;
      }
      w[2 * i] = re;
      w[2 * i + 1] = im;
      wn += re * re + im * im;
    }
    wn = Math.sqrt(wn);
    if (!(wn > 0)) break;
    for (let k = 0; k < 2 * CHA; k++) v[k] = (w[k] as number) / wn;
  }
  let pr = 0;
  let pi = 0;
  for (let c = 0; c < CHA; c++) {
    const sr = S[2 * c] as number;
    const si = S[2 * c + 1] as number;
    const vr = v[2 * c] as number;
    const vi = v[2 * c + 1] as number;
    pr += sr * vr - si * vi;
    pi += sr * vi + si * vr;
  }
  const phi = Math.atan2(pi, pr);
  const cr = Math.cos(phi);
  const ci = Math.sin(phi);
  for (let c = 0; c < CHA; c++) {
    const vr = v[2 * c] as number;
    const vi = -(v[2 * c + 1] as number);
    v[2 * c] = vr * cr - vi * ci;
    v[2 * c + 1] = vr * ci + vi * cr;
  }
}

/**
 * Periodic box filter (sum over offsets −⌊k/2⌋ … k − 1 − ⌊k/2⌋) along `axis`
 * of a complex float64 array with dims `dims`, in place.
 */
function boxFilterPeriodic(data: Float64Array, dims: readonly number[], axis: number, k: number): void {
  const n = dims[axis] as number;
  if (k <= 1 || n === 1 && k === 1) return;
  let inner = 1;
  for (let d = 0; d < axis; d++) inner *= dims[d] as number;
  let outer = 1;
  for (let d = axis + 1; d < dims.length; d++) outer *= dims[d] as number;
  const lo = -(k >> 1);
  const hi = k - 1 + lo;
  const line = new Float64Array(2 * n);
  for (let o = 0; o < outer; o++) {
    for (let i = 0; i < inner; i++) {
      const base = i + inner * n * o;
      for (let t = 0; t < n; t++) {
        line[2 * t] = data[2 * (base + inner * t)] as number;
        line[2 * t + 1] = data[2 * (base + inner * t) + 1] as number;
      }
      let sr = 0;
      let si = 0;
      for (let d = lo; d <= hi; d++) {
        const t = mod(d, n);
        sr += line[2 * t] as number;
        si += line[2 * t + 1] as number;
      }
      for (let t = 0; t < n; t++) {
        if (t > 0) {
          const add = mod(t + hi, n);
          const sub = mod(t - 1 + lo, n);
          sr += (line[2 * add] as number) - (line[2 * sub] as number);
          si += (line[2 * add + 1] as number) - (line[2 * sub + 1] as number);
        }
        data[2 * (base + inner * t)] = sr;
        data[2 * (base + inner * t) + 1] = si;
      }
    }
  }
}

/**
 * Inati_Iter coil maps of `im` [RO, E1, E2, CHA] into `dst`: box kernel
 * ks×ks (×kz in 3D, E2 > 1) with weights 1/(ks²·kz), at most `iterNum`
 * iterations, stopping when ‖R_prev − R‖/‖R‖ < `thres`. With one channel the
 * maps are a copy of the input.
 */
export function coilMapInatiIter(
  im: Float32Array, dims: readonly number[], ks: number, kz: number, iterNum: number, thres: number, dst: Float32Array,
): Float32Array {
  const [RO, E1, E2, CHA] = checkImages('estimate Inati_Iter coil maps', im, dims, dst);
  if (CHA <= 1) {
    dst.set(im);
    return dst;
  }
  const vol = RO * E1 * E2;
  const kE2 = E2 > 1 ? kz : 1;
  const weight = 1 / (ks * ks * kE2);
  const v = new Float64Array(2 * CHA);
  const setV = (): void => {
    let n = 0;
    for (let k = 0; k < 2 * CHA; k++) n += (v[k] as number) ** 2;
    n = Math.sqrt(n);
    if (n > 0) for (let k = 0; k < 2 * CHA; k++) v[k] = (v[k] as number) / n;
  };
  for (let c = 0; c < CHA; c++) {
    let re = 0;
    let imv = 0;
    for (let p = 0; p < vol; p++) {
      re += im[2 * (p + vol * c)] as number;
      imv += im[2 * (p + vol * c) + 1] as number;
    }
    v[2 * c] = re;
    v[2 * c + 1] = imv;
  }
  setV();
  const R = new Float64Array(2 * vol);
  const Rprev = new Float64Array(2 * vol);
  const m = new Float64Array(2 * vol * CHA);
  const combine = (): void => {
    R.fill(0);
    for (let c = 0; c < CHA; c++) {
      for (let p = 0; p < vol; p++) {
        const mr = m[2 * (p + vol * c)] as number;
        const mi = -(m[2 * (p + vol * c) + 1] as number);
        const xr = im[2 * (p + vol * c)] as number;
        const xi = im[2 * (p + vol * c) + 1] as number;
        R[2 * p] = (R[2 * p] as number) + mr * xr - mi * xi;
        R[2 * p + 1] = (R[2 * p + 1] as number) + mr * xi + mi * xr;
      }
    }
  };
  for (let c = 0; c < CHA; c++) {
    const vr = v[2 * c] as number;
    const vi = v[2 * c + 1] as number;
    for (let p = 0; p < vol; p++) {
      m[2 * (p + vol * c)] = vr;
      m[2 * (p + vol * c) + 1] = vi;
    }
  }
  combine();
  const boxDims = [RO, E1, E2, CHA];
  for (let iter = 0; iter < iterNum; iter++) {
    Rprev.set(R);
    for (let c = 0; c < CHA; c++) {
      for (let p = 0; p < vol; p++) {
        const xr = im[2 * (p + vol * c)] as number;
        const xi = im[2 * (p + vol * c) + 1] as number;
        const rr = R[2 * p] as number;
        const ri = -(R[2 * p + 1] as number);
        m[2 * (p + vol * c)] = (xr * rr - xi * ri) * weight;
        m[2 * (p + vol * c) + 1] = (xr * ri + xi * rr) * weight;
      }
    }
    boxFilterPeriodic(m, boxDims, 0, ks);
    boxFilterPeriodic(m, boxDims, 1, ks);
    if (E2 > 1) boxFilterPeriodic(m, boxDims, 2, kz);
    for (let p = 0; p < vol; p++) {
      let n = 0;
      for (let c = 0; c < CHA; c++) n += (m[2 * (p + vol * c)] as number) ** 2 + (m[2 * (p + vol * c) + 1] as number) ** 2;
      n = Math.sqrt(n);
      if (n < FLOAT_EPSILON) n += FLOAT_EPSILON;
      for (let c = 0; c < CHA; c++) {
        m[2 * (p + vol * c)] = (m[2 * (p + vol * c)] as number) / n;
        m[2 * (p + vol * c) + 1] = (m[2 * (p + vol * c) + 1] as number) / n;
      }
    }
    combine();
    v.fill(0);
    for (let c = 0; c < CHA; c++) {
      let re = 0;
      let imv = 0;
      for (let p = 0; p < vol; p++) {
        const mr = m[2 * (p + vol * c)] as number;
        const mi = m[2 * (p + vol * c) + 1] as number;
        const rr = R[2 * p] as number;
        const ri = R[2 * p + 1] as number;
        re += mr * rr - mi * ri;
        imv += mr * ri + mi * rr;
      }
      v[2 * c] = re;
      v[2 * c + 1] = imv;
    }
    setV();
    let diff = 0;
    let ref = 0;
    for (let p = 0; p < vol; p++) {
      let tr = 0;
      let ti = 0;
      for (let c = 0; c < CHA; c++) {
        const vr = v[2 * c] as number;
        const vi = -(v[2 * c + 1] as number);
        const mr = m[2 * (p + vol * c)] as number;
        const mi = m[2 * (p + vol * c) + 1] as number;
        tr += vr * mr - vi * mi;
        ti += vr * mi + vi * mr;
      }
      const ta = Math.hypot(tr, ti);
      if (ta > 0) {
        tr /= ta;
        ti /= ta;
      } else {
        tr = 1;
        ti = 0;
      }
      const rr = R[2 * p] as number;
      const ri = R[2 * p + 1] as number;
      const nr = rr * tr - ri * ti;
      const ni = rr * ti + ri * tr;
      R[2 * p] = nr;
      R[2 * p + 1] = ni;
      for (let c = 0; c < CHA; c++) {
        const mr = m[2 * (p + vol * c)] as number;
        const mi = m[2 * (p + vol * c) + 1] as number;
        m[2 * (p + vol * c)] = mr * tr + mi * ti;
        m[2 * (p + vol * c) + 1] = mi * tr - mr * ti;
      }
      const dr = (Rprev[2 * p] as number) - nr;
      const di = (Rprev[2 * p + 1] as number) - ni;
      diff += dr * dr + di * di;
      ref += nr * nr + ni * ni;
    }
    if (ref > 0 && Math.sqrt(diff / ref) < thres) break;
  }
  for (let k = 0; k < m.length; k++) dst[k] = m[k] as number;
  return dst;
}

/**
 * Coil combination dst(x) = Σ_c conj(maps_c(x))·im_c(x) over the first
 * `channels` channels (default all) of `im` [RO, E1, E2, CHA_im] and
 * `maps` [RO, E1, E2, CHA_maps]; `dst` holds RO·E1·E2 complex values.
 */
export function coilCombine(im: Float32Array, maps: Float32Array, vol: number, channels: number, dst: Float32Array): Float32Array {
  if (im.length < 2 * vol * channels || maps.length < 2 * vol * channels) {
    throw new RangeError(`Cannot combine ${channels} channels: images or maps hold fewer than ${channels} × ${vol} values`);
  }
  if (dst.length !== 2 * vol) throw new RangeError(`Cannot combine coils: destination holds ${dst.length / 2} values, not ${vol}`);
  return channelSum(maps, im, vol, channels, true, 1, dst);
}

/**
 * Weighted channel sum as an operator [vol, C] → [vol]: forward
 * y = Σ_c conj(w_c)·x_c (coil combination with maps w); adjoint x_c = w_c·y.
 * With w = conj(u) it is GRAPPA unmixing Σ_c u_c·a_c.
 */
export class CoilCombineOperator implements LinearOperator {
  readonly name = 'coil combination';
  readonly inShape: readonly number[];
  readonly outShape: readonly number[];

  constructor(readonly maps: Float32Array, readonly vol: number, readonly channels: number) {
    if (maps.length !== 2 * vol * channels) throw new RangeError(`Cannot build a coil combination: maps hold ${maps.length / 2} values, not ${vol} × ${channels}`);
    this.inShape = [vol, channels];
    this.outShape = [vol];
  }

  forward(x: Float32Array, y: Float32Array): Float32Array {
    checkOperand(this, 'x', x, this.inShape);
    checkOperand(this, 'y', y, this.outShape);
    return coilCombine(x, this.maps, this.vol, this.channels, y);
  }

  adjoint(y: Float32Array, x: Float32Array): Float32Array {
    checkOperand(this, 'y', y, this.outShape);
    checkOperand(this, 'x', x, this.inShape);
    const { vol, maps } = this;
    for (let c = 0; c < this.channels; c++) {
      const base = 2 * vol * c;
      for (let p = 0; p < vol; p++) {
        const mr = maps[base + 2 * p] as number;
        const mi = maps[base + 2 * p + 1] as number;
        const yr = y[2 * p] as number;
        const yi = y[2 * p + 1] as number;
        x[base + 2 * p] = mr * yr - mi * yi;
        x[base + 2 * p + 1] = mr * yi + mi * yr;
      }
    }
    return x;
  }
}

/** Coil-map settings as the generic recon gadgets name them. */
export interface CoilMapSettings {
  /** 'Inati_Iter', else Inati (power 3). */
  coil_map_algorithm: string;
  coil_map_kernel_size_readout: number;
  coil_map_kernel_size_phase: number;
  coil_map_num_iter: number;
  coil_map_thres_iter: number;
}

/**
 * Coil maps of one block of low-resolution k-space [RO, E1, E2, CHA]: a
 * centred inverse FFT (2D, or 3D when E2 > 1), then Inati (power 3) or
 * Inati_Iter, into `dst` (same size). `kspace` is not modified.
 */
export function coilMapsOfKspace(kspace: Float32Array, dims: readonly [number, number, number, number], settings: CoilMapSettings, dst: Float32Array): Float32Array {
  const bdims = [...dims];
  const im = kspace.slice();
  fftc(im, bdims, dims[2] > 1 ? [0, 1, 2] : [0, 1], true);
  if (settings.coil_map_algorithm === 'Inati_Iter') {
    coilMapInatiIter(im, bdims, settings.coil_map_kernel_size_readout, settings.coil_map_kernel_size_phase, settings.coil_map_num_iter, settings.coil_map_thres_iter, dst);
  } else {
    coilMapInati(im, bdims, settings.coil_map_kernel_size_readout, settings.coil_map_kernel_size_phase, 3, dst);
  }
  return dst;
}
