/**
 * Receiver noise with a known channel covariance.
 *
 * Model. Each complex sample of a readout carries the channel noise vector
 * n = σ·L·z, z = z_re + i·z_im with all parts i.i.d. N(0, 1), and L the
 * lower Cholesky factor of Ψ₀, so that
 *
 *   Ψ = E[n nᴴ] = 2σ²·Ψ₀,   Ψ_ij = E[n_i·conj(n_j)].
 *
 * With no correlation Ψ₀ = I and every real and imaginary part is
 * N(0, σ²), as in `ismrmrd_generate_cartesian_shepp_logan` (complex variance
 * 2σ²). With correlation κ ∈ (0, 1):
 *
 *   Ψ₀_ij = g_i·g_j·κ^|i−j|·exp(i·(φ_i − φ_j)),
 *   g_i = 2^(3κ·(2i/(C−1) − 1)),  φ_i = π·κ·i/C,
 *
 * i.e. an AR(1) (Kac–Murdock–Szegő) correlation between neighbouring channels,
 * which is positive definite for |κ| < 1 with eigenvalues in
 * [(1−κ)/(1+κ), (1+κ)/(1−κ)], scaled by channel noise amplitudes from 2^−3κ
 * to 2^3κ and twisted by a unitary diagonal phase. Ψ₀ is Hermitian positive
 * definite and increasingly ill-conditioned as κ → 1: with 8 channels its
 * condition number is about 18 at κ = 0.3, 137 at κ = 0.5, 1.2·10³ at
 * κ = 0.7 and 1.8·10⁴ at κ = 0.9.
 */
import type { SeededRandom } from './random.js';

/** Ψ₀ for `coils` channels and correlation κ: complex float64, column-major, element (i, j) at 2·(i + C·j). */
export function relativeNoiseCovariance(coils: number, correlation: number): Float64Array {
  if (!Number.isInteger(coils) || coils < 1) throw new RangeError(`Cannot build a noise covariance for ${coils} channels`);
  if (!(correlation >= 0 && correlation < 1)) {
    throw new RangeError(`Cannot build a noise covariance with coil correlation ${correlation}: give a value in [0, 1)`);
  }
  const psi = new Float64Array(2 * coils * coils);
  const gain = (i: number): number => (coils === 1 ? 1 : 2 ** (3 * correlation * ((2 * i) / (coils - 1) - 1)));
  const phase = (i: number): number => (Math.PI * correlation * i) / coils;
  for (let j = 0; j < coils; j++) {
    for (let i = 0; i < coils; i++) {
      const mag = gain(i) * gain(j) * correlation ** Math.abs(i - j);
      const ph = phase(i) - phase(j);
      psi[2 * (i + coils * j)] = mag * Math.cos(ph);
      psi[2 * (i + coils * j) + 1] = i === j ? 0 : mag * Math.sin(ph);
    }
  }
  return psi;
}

/** Ψ = 2σ²·Ψ₀ (see the module comment), same layout as {@link relativeNoiseCovariance}. */
export function noiseCovariance(coils: number, correlation: number, sigma: number): Float64Array {
  const psi = relativeNoiseCovariance(coils, correlation);
  const s = 2 * sigma * sigma;
  for (let i = 0; i < psi.length; i++) psi[i] *= s;
  return psi;
}

/**
 * Lower Cholesky factor L (L·Lᴴ = A) of a Hermitian positive-definite complex
 * n × n matrix (float64, column-major, interleaved). Throws `RangeError` when
 * A is not positive definite.
 */
export function choleskyLower(a: Float64Array, n: number): Float64Array {
  if (a.length !== 2 * n * n) throw new RangeError(`Cannot factor a matrix of length ${a.length} as ${n}×${n} complex`);
  const l = new Float64Array(2 * n * n);
  const at = (i: number, j: number): number => 2 * (i + n * j);
  for (let j = 0; j < n; j++) {
    let d = a[at(j, j)];
    for (let k = 0; k < j; k++) d -= l[at(j, k)] ** 2 + l[at(j, k) + 1] ** 2;
    if (!(d > 0)) throw new RangeError(`Cannot factor the noise covariance: it is not positive definite (pivot ${j} is ${d})`);
    const ljj = Math.sqrt(d);
    l[at(j, j)] = ljj;
    for (let i = j + 1; i < n; i++) {
      let re = a[at(i, j)];
      let im = a[at(i, j) + 1];
      for (let k = 0; k < j; k++) {
        const ar = l[at(i, k)], ai = l[at(i, k) + 1];
        const br = l[at(j, k)], bi = -l[at(j, k) + 1];
        re -= ar * br - ai * bi;
        im -= ar * bi + ai * br;
      }
      l[at(i, j)] = re / ljj;
      l[at(i, j) + 1] = im / ljj;
    }
  }
  return l;
}

/** Draws channel noise n = σ·L·z for readouts (see the module comment). */
export class ReceiverNoise {
  /** Number of channels. */
  readonly coils: number;
  /** σ of each real and imaginary part of z. */
  readonly sigma: number;
  /** Ψ = E[n nᴴ], complex float64 C × C, element (i, j) at 2·(i + C·j). */
  readonly covariance: Float64Array;
  readonly #l: Float64Array;
  readonly #diagonal: boolean;
  #z: Float64Array;
  readonly #rng: SeededRandom;

  constructor(coils: number, correlation: number, sigma: number, rng: SeededRandom) {
    if (!(sigma >= 0 && Number.isFinite(sigma))) throw new RangeError(`Cannot draw noise with σ = ${sigma}: give a finite value ≥ 0`);
    this.coils = coils;
    this.sigma = sigma;
    this.covariance = noiseCovariance(coils, correlation, sigma);
    this.#l = choleskyLower(relativeNoiseCovariance(coils, correlation), coils);
    this.#diagonal = correlation === 0;
    this.#z = new Float64Array(0);
    this.#rng = rng;
  }

  /**
   * Adds noise to a readout `data` of `samples` complex samples × C channels
   * (interleaved re/im, sample fastest, then channel). Draws 2·C normals per
   * sample, sample by sample, channel by channel, re before im. Does nothing
   * (and draws nothing) when σ = 0.
   */
  addTo(data: Float32Array, samples: number): Float32Array {
    const C = this.coils;
    if (data.length !== 2 * samples * C) {
      throw new RangeError(`Cannot add noise: data length ${data.length} does not match ${samples} samples × ${C} channels × 2`);
    }
    if (this.sigma === 0) return data;
    if (this.#z.length < 2 * samples * C) this.#z = new Float64Array(2 * samples * C);
    const z = this.#rng.fillNormal(this.#z.subarray(0, 2 * samples * C));
    const s = this.sigma;
    if (this.#diagonal) {
      for (let t = 0; t < samples; t++) {
        for (let c = 0; c < C; c++) {
          const at = 2 * (t + samples * c);
          data[at] += s * z[2 * (c + C * t)];
          data[at + 1] += s * z[2 * (c + C * t) + 1];
        }
      }
      return data;
    }
    const l = this.#l;
    for (let t = 0; t < samples; t++) {
      const zt = 2 * C * t;
      for (let c = 0; c < C; c++) {
        let re = 0;
        let im = 0;
        for (let k = 0; k <= c; k++) {
          const lr = l[2 * (c + C * k)], li = l[2 * (c + C * k) + 1];
          const zr = z[zt + 2 * k], zi = z[zt + 2 * k + 1];
          re += lr * zr - li * zi;
          im += lr * zi + li * zr;
        }
        const at = 2 * (t + samples * c);
        data[at] += s * re;
        data[at + 1] += s * im;
      }
    }
    return data;
  }
}
