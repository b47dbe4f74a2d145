/**
 * Synthetic coil data with known answers for kernel and gadget tests:
 * band-limited coil sensitivities, objects, and multi-coil k-space.
 * Test-only; nothing in the server imports it.
 */
import { fftc } from './fft.js';

/** Deterministic pseudo-random numbers in [−1, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2147483648 - 1;
  };
}

/** Deterministic standard normal numbers (the generator above, uniform in (0, 1), Box–Muller). */
export function seededGaussian(seed: number): () => number {
  const r = seededRandom(seed);
  const uniform = (): number => ((r() + 1) * 2147483648 + 0.5) / 4294967296;
  return () => Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform());
}

/**
 * n values of both signs spread over magnitudes 2^minExp … 2^(maxExp+1)
 * (a uniform mantissa times a power of two drawn uniformly), from `seed`:
 * inputs for checking that two implementations round alike at every scale.
 */
export function seededMagnitudes(n: number, seed: number, minExp: number, maxExp: number): number[] {
  const r = seededRandom(seed);
  return Array.from({ length: n }, () => {
    const mantissa = r();
    const exponent = minExp + Math.min(maxExp - minExp, Math.floor(((r() + 1) / 2) * (maxExp - minExp + 1)));
    return mantissa * 2 ** exponent;
  });
}

/** n complex samples, interleaved, each part uniform in [−1, 1), from `seed`. */
export function randomComplex(n: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  const out = new Float32Array(2 * n);
  for (let i = 0; i < out.length; i++) out[i] = r();
  return out;
}

/**
 * Band-limited coil sensitivities [RO, E1, E2, CHA]: each coil is a sum of
 * Fourier modes with |k| ≤ `band` per axis around a dominant coil-dependent
 * position, so its k-space support is (2·band + 1)^d samples.
 */
export function bandLimitedCoilMaps(RO: number, E1: number, E2: number, CHA: number, seed: number, band = 1): Float32Array {
  const rnd = seededRandom(seed);
  const vol = RO * E1 * E2;
  const out = new Float32Array(2 * vol * CHA);
  const bz = E2 > 1 ? band : 0;
  for (let c = 0; c < CHA; c++) {
    const modes: { kx: number; ky: number; kz: number; re: number; im: number }[] = [];
    const ang = (2 * Math.PI * c) / CHA;
    for (let kz = -bz; kz <= bz; kz++) {
      for (let ky = -band; ky <= band; ky++) {
        for (let kx = -band; kx <= band; kx++) {
          const dominant = kx === 0 && ky === 0 && kz === 0 ? 2 : 0.6;
          const dir = 0.8 * (Math.cos(ang) * kx + Math.sin(ang) * ky);
          modes.push({ kx, ky, kz, re: dominant + dir + 0.3 * rnd(), im: 0.3 * rnd() + 0.4 * dir });
        }
      }
    }
    for (let z = 0; z < E2; z++) {
      for (let y = 0; y < E1; y++) {
        for (let x = 0; x < RO; x++) {
          let re = 0;
          let im = 0;
          for (const m of modes) {
            const ph = 2 * Math.PI * ((m.kx * x) / RO + (m.ky * y) / E1 + (E2 > 1 ? (m.kz * z) / E2 : 0));
            const cr = Math.cos(ph);
            const ci = Math.sin(ph);
            re += m.re * cr - m.im * ci;
            im += m.re * ci + m.im * cr;
          }
          const i = 2 * (x + RO * (y + E1 * z) + vol * c);
          out[i] = re / modes.length;
          out[i + 1] = im / modes.length;
        }
      }
    }
  }
  return out;
}

/**
 * Birdcage coil sensitivities [RO, E1, E2, CHA] as in ISMRMRD's phantom
 * generator (after Fessler's `mri_birdcage`): coil c at radius 1.5 and angle
 * 2πc/C, csm = exp(i·(atan2(X, −Y) − 2πc/C))/√(X² + Y² + Z²) in normalised
 * coordinates. The ring lies in the RO/E1 plane (Z = 0.5·z_n in 3D), or with
 * `ring` 'E1E2' in the E1/E2 plane (Z = 0.5·x_n), so that the coils vary
 * along both phase-encoding directions.
 */
export function birdcageCoilMaps(RO: number, E1: number, E2: number, CHA: number, ring: 'ROE1' | 'E1E2' = 'ROE1'): Float32Array {
  const vol = RO * E1 * E2;
  const out = new Float32Array(2 * vol * CHA);
  const norm = (i: number, n: number): number => (n > 1 ? (i - Math.floor(n / 2)) / Math.max(1, Math.floor(n / 2)) : 0);
  for (let c = 0; c < CHA; c++) {
    const a = (2 * Math.PI * c) / CHA;
    for (let z = 0; z < E2; z++) {
      for (let y = 0; y < E1; y++) {
        for (let x = 0; x < RO; x++) {
          const [u, v, w] = ring === 'ROE1' ? [norm(x, RO), norm(y, E1), norm(z, E2)] : [norm(y, E1), norm(z, E2), norm(x, RO)];
          const X = u - 1.5 * Math.cos(a);
          const Y = v - 1.5 * Math.sin(a);
          const Z = 0.5 * w;
          const mag = 1 / Math.sqrt(X * X + Y * Y + Z * Z);
          const ph = Math.atan2(X, -Y) - a;
          const i = 2 * (x + RO * (y + E1 * z) + vol * c);
          out[i] = mag * Math.cos(ph);
          out[i + 1] = mag * Math.sin(ph);
        }
      }
    }
  }
  return out;
}

/** Real, positive, smooth-edged object [RO, E1, E2]: nested ellipses with a soft edge, zero outside. */
export function ellipseObject(RO: number, E1: number, E2 = 1): Float32Array {
  const out = new Float32Array(2 * RO * E1 * E2);
  for (let z = 0; z < E2; z++) {
    for (let y = 0; y < E1; y++) {
      for (let x = 0; x < RO; x++) {
        const u = (x - RO / 2) / (0.38 * RO);
        const v = (y - E1 / 2) / (0.42 * E1);
        const w = E2 > 1 ? (z - E2 / 2) / (0.42 * E2) : 0;
        const r2 = u * u + v * v + w * w;
        let val = 0;
        if (r2 < 1) val = 1 - 0.5 * r2;
        const u2 = (x - RO * 0.58) / (0.1 * RO);
        const v2 = (y - E1 * 0.45) / (0.14 * E1);
        if (u2 * u2 + v2 * v2 < 1) val += 0.4;
        out[2 * (x + RO * (y + E1 * z))] = val;
      }
    }
  }
  return out;
}

/** Uniform random complex object [vol] (white spectrum). */
export function randomObject(vol: number, seed: number): Float32Array {
  const r = seededRandom(seed);
  const out = new Float32Array(2 * vol);
  for (let i = 0; i < out.length; i++) out[i] = r();
  return out;
}

/** Coil images ρ·c_c [vol, CHA]. */
export function coilImages(object: Float32Array, maps: Float32Array, vol: number, CHA: number): Float32Array {
  const out = new Float32Array(2 * vol * CHA);
  for (let c = 0; c < CHA; c++) {
    for (let p = 0; p < vol; p++) {
      const or = object[2 * p] as number;
      const oi = object[2 * p + 1] as number;
      const mr = maps[2 * (p + vol * c)] as number;
      const mi = maps[2 * (p + vol * c) + 1] as number;
      out[2 * (p + vol * c)] = or * mr - oi * mi;
      out[2 * (p + vol * c) + 1] = or * mi + oi * mr;
    }
  }
  return out;
}

/** Centred unitary k-space of images [RO, E1, E2, CHA] (a copy). */
export function toKspace(images: Float32Array, dims: readonly number[]): Float32Array {
  const k = Float32Array.from(images);
  return fftc(k, dims, dims[2] as number > 1 ? [0, 1, 2] : [0, 1], false);
}

/** Centred unitary images of k-space [RO, E1, E2, CHA] (a copy). */
export function toImages(kspace: Float32Array, dims: readonly number[]): Float32Array {
  const im = Float32Array.from(kspace);
  return fftc(im, dims, dims[2] as number > 1 ? [0, 1, 2] : [0, 1], true);
}

/** Maps normalised per pixel so that Σ_c |m_c|² = 1 [vol, CHA] (a copy). */
export function normaliseMaps(maps: Float32Array, vol: number, CHA: number): Float32Array {
  const out = new Float32Array(maps.length);
  for (let p = 0; p < vol; p++) {
    let s = 0;
    for (let c = 0; c < CHA; c++) s += (maps[2 * (p + vol * c)] as number) ** 2 + (maps[2 * (p + vol * c) + 1] as number) ** 2;
    const n = Math.sqrt(s) || 1;
    for (let c = 0; c < CHA; c++) {
      out[2 * (p + vol * c)] = (maps[2 * (p + vol * c)] as number) / n;
      out[2 * (p + vol * c) + 1] = (maps[2 * (p + vol * c) + 1] as number) / n;
    }
  }
  return out;
}

/**
 * Zero-fills all E1 lines except e1 ≡ phase (mod R) (and likewise E2 with
 * R2), in a copy of k-space [RO, E1, E2, CHA].
 */
export function undersample(kspace: Float32Array, dims: readonly number[], R: number, phase = 0, R2 = 1, phase2 = 0): Float32Array {
  const [RO, E1, E2, CHA] = dims as [number, number, number, number];
  const out = new Float32Array(kspace.length);
  for (let c = 0; c < CHA; c++) {
    for (let z = 0; z < E2; z++) {
      if (((z - phase2) % R2 + R2) % R2 !== 0) continue;
      for (let y = 0; y < E1; y++) {
        if (((y - phase) % R + R) % R !== 0) continue;
        const base = 2 * RO * (y + E1 * (z + E2 * c));
        out.set(kspace.subarray(base, base + 2 * RO), base);
      }
    }
  }
  return out;
}

/** Copies lines [from, from + count) in E1 (all E2) of k-space [RO, E1, E2, CHA] into a new [RO, count, E2, CHA] array. */
export function extractLines(kspace: Float32Array, dims: readonly number[], from: number, count: number): Float32Array {
  const [RO, E1, E2, CHA] = dims as [number, number, number, number];
  const out = new Float32Array(2 * RO * count * E2 * CHA);
  for (let c = 0; c < CHA; c++) {
    for (let z = 0; z < E2; z++) {
      for (let y = 0; y < count; y++) {
        const s = 2 * RO * (from + y + E1 * (z + E2 * c));
        out.set(kspace.subarray(s, s + 2 * RO), 2 * RO * (y + count * (z + E2 * c)));
      }
    }
  }
  return out;
}
