/**
 * A small seeded pseudo-random source for the phantom generator, so that the
 * same options always give the same samples on every platform.
 *
 * - Uniform: xoshiro128** (D. Blackman and S. Vigna, "Scrambled linear
 *   pseudorandom number generators", ACM TOMS 2021;47:36), 32-bit words,
 *   period 2¹²⁸ − 1. The state is seeded SplitMix-style: a Weyl sequence
 *   from the 32-bit seed passed through the MurmurHash3 32-bit finaliser
 *   (an all-zero state is replaced).
 * - Doubles in (0, 1): 53 random bits from two words.
 * - Normals: the polar form of Box–Muller (G. Box and M. Muller, Ann.
 *   Math. Statist. 1958;29:610), both values of each pair used.
 */

const TWO_TO_MINUS_31 = 1 / 2147483648;

/** A seeded generator of uniform and standard normal deviates. */
export class SeededRandom {
  #s0: number;
  #s1: number;
  #s2: number;
  #s3: number;
  #spare = 0;
  #hasSpare = false;

  /** `seed` is taken modulo 2³² (any finite integer is accepted). */
  constructor(seed: number) {
    if (!Number.isInteger(seed)) throw new RangeError(`Cannot seed the phantom random source with ${seed}: give an integer`);
    let x = Number(BigInt.asUintN(32, BigInt(seed)));
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b) >>> 0;
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35) >>> 0;
      return (z ^ (z >>> 16)) >>> 0;
    };
    this.#s0 = next();
    this.#s1 = next();
    this.#s2 = next();
    this.#s3 = next();
    if ((this.#s0 | this.#s1 | this.#s2 | this.#s3) === 0) this.#s0 = 1;
  }

  /** The next 32-bit unsigned word. */
  nextUint32(): number {
    const s1 = this.#s1;
    const t = Math.imul(s1, 5);
    const result = Math.imul((t << 7) | (t >>> 25), 9) >>> 0;
    const shifted = s1 << 9;
    this.#s2 ^= this.#s0;
    this.#s3 ^= this.#s1;
    this.#s1 ^= this.#s2;
    this.#s0 ^= this.#s3;
    this.#s2 ^= shifted;
    this.#s3 = (this.#s3 << 11) | (this.#s3 >>> 21);
    return result;
  }

  /** A uniform double in the open interval (0, 1). */
  uniform(): number {
    for (;;) {
      const hi = this.nextUint32() >>> 5;
      const lo = this.nextUint32() >>> 6;
      const u = (hi * 67108864 + lo) / 9007199254740992;
      if (u > 0) return u;
    }
  }

  /**
   * A standard normal deviate N(0, 1), by Marsaglia's polar form of the
   * Box–Muller transform (G. Marsaglia and T. Bray, SIAM Rev. 1964;6:260):
   * u, v uniform in (−1, 1) from one 32-bit word each, accepted when
   * 0 < s = u² + v² < 1, giving u·f and v·f with f = √(−2·ln s / s); both are
   * used, the second on the next call.
   */
  normal(): number {
    if (this.#hasSpare) {
      this.#hasSpare = false;
      return this.#spare;
    }
    for (;;) {
      const u = (this.nextUint32() + 0.5) * TWO_TO_MINUS_31 - 1;
      const v = (this.nextUint32() + 0.5) * TWO_TO_MINUS_31 - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const f = Math.sqrt((-2 * Math.log(s)) / s);
      this.#spare = v * f;
      this.#hasSpare = true;
      return u * f;
    }
  }

  /**
   * Fills `dst` with independent N(0, σ²) deviates and returns it: the same
   * sequence as repeated {@link normal} calls, with the generator state held
   * in locals for speed.
   */
  fillNormal<T extends Float32Array | Float64Array>(dst: T, sigma = 1): T {
    let i = 0;
    const n = dst.length;
    if (n > 0 && this.#hasSpare) {
      this.#hasSpare = false;
      dst[i++] = sigma * this.#spare;
    }
    let s0 = this.#s0, s1 = this.#s1, s2 = this.#s2, s3 = this.#s3;
    while (i < n) {
      let t = Math.imul(s1, 5);
      const w1 = Math.imul((t << 7) | (t >>> 25), 9) >>> 0;
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      t = Math.imul(s1, 5);
      const w2 = Math.imul((t << 7) | (t >>> 25), 9) >>> 0;
      t = s1 << 9;
      s2 ^= s0; s3 ^= s1; s1 ^= s2; s0 ^= s3; s2 ^= t; s3 = (s3 << 11) | (s3 >>> 21);
      const u = (w1 + 0.5) * TWO_TO_MINUS_31 - 1;
      const v = (w2 + 0.5) * TWO_TO_MINUS_31 - 1;
      const q = u * u + v * v;
      if (q >= 1 || q === 0) continue;
      const f = Math.sqrt((-2 * Math.log(q)) / q);
      dst[i++] = sigma * (u * f);
      if (i < n) {
        dst[i++] = sigma * (v * f);
      } else {
        this.#spare = v * f;
        this.#hasSpare = true;
      }
    }
    this.#s0 = s0; this.#s1 = s1; this.#s2 = s2; this.#s3 = s3;
    return dst;
  }
}
