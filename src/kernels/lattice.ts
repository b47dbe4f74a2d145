/**
 * The centred inverse FFT along E1 of k-space sampled on a lattice: lines
 * o, o + R, o + 2R, … of n = R·M (every other line zero), as GRAPPA's data
 * are. With the centred convention of fft.ts (indices u, v ∈ [−⌊n/2⌋,
 * ⌈n/2⌉ − 1]) the sampled lines are v = p + R·m, p = (o − ⌊n/2⌋) mod R, and
 *
 *   X[u] = n^{−1/2} Σ_m x[p + R·m] e^{2πi·u(p + R·m)/n}
 *        = R^{−1/2} · e^{2πi·u·p/n} · Z[ū],
 *
 * where Z is the centred M-point inverse transform of the M sampled lines
 * (line m stored at its centred residue mod M) and ū is u's centred residue
 * mod M. So the image is the M-point transform of the sampled lines repeated
 * R times, times a phase ramp along E1 common to all channels: a third of
 * the FFT work for R = 3, and for a channel sum the ramp is applied once to
 * the sum, not per channel ({@link latticePhase}).
 *
 * Layout: [RO, E1, channels] interleaved complex float32, E1 lines RO long.
 */
import { copyBlocks } from './copy.js';

/**
 * The lattice offset o ∈ [0, R) when every index in `sampled` (lines of
 * 0…n − 1) is o mod R and R divides n (R > 1); else −1. No lines: −1.
 */
export function latticeOffset(sampled: Iterable<number>, factor: number, n: number): number {
  if (!(Number.isInteger(factor) && factor > 1) || n % factor !== 0) return -1;
  let offset = -1;
  for (const line of sampled) {
    if (!Number.isInteger(line) || line < 0 || line >= n) return -1;
    const r = line % factor;
    if (offset < 0) offset = r;
    else if (r !== offset) return -1;
  }
  return offset;
}

function positiveMod(a: number, m: number): number {
  return ((a % m) + m) % m;
}

/**
 * Copies the lines o, o + R, … of `channels` channels of [RO, n] k-space
 * (`src` from float `srcStart`, channel stride `srcStride` floats) into
 * `dst` as [RO, M, channels], line m at its centred residue ((m + ⌊M/2⌋) mod
 * M), ready for a centred M-point transform. With `compact`, `src` holds
 * only those lines, [RO, M] per channel (line o + k·R stored as line k).
 */
export function gatherLattice(
  dst: Float32Array, src: Float32Array, srcStart: number, srcStride: number,
  RO: number, n: number, factor: number, offset: number, channels: number, compact = false,
): void {
  const M = n / factor;
  const c = Math.floor(n / 2);
  const p = positiveMod(offset - c, factor);
  const m0 = (offset - c - p) / factor; // m of the first sampled line (stored index `offset`)
  const first = positiveMod(m0 + Math.floor(M / 2), M); // its slot in dst
  const line = 2 * RO;
  // Lines k = 0…M − 1 go to slots first + k, wrapping once at M: two runs per channel.
  const run1 = M - first;
  const step = compact ? line : line * factor;
  for (let ch = 0; ch < channels; ch++) {
    const s = srcStart + ch * srcStride + (compact ? 0 : line * offset);
    const d = ch * line * M;
    copyBlocks(dst, d + line * first, line, src, s, step, line, run1);
    copyBlocks(dst, d, line, src, s + step * run1, step, line, M - run1);
  }
}

/**
 * Row u of [RO, n] takes row ū of the transformed [RO, M] lines: the runs of
 * rows where both advance together, as [first row u, its row ū, rows] (about
 * R + 1 runs). A channel sum reads the M rows in place through them
 * (channelSumStrided), so the repeated image is never written out.
 */
export function latticeRuns(n: number, factor: number): [number, number, number][] {
  const M = n / factor;
  const c = Math.floor(n / 2);
  const runs: [number, number, number][] = [];
  for (let u = 0; u < n;) {
    const from = positiveMod(u - c + Math.floor(M / 2), M);
    const len = Math.min(M - from, n - u);
    runs.push([u, from, len]);
    u += len;
  }
  return runs;
}

/**
 * Multiplies row u of `acc` ([RO, n] interleaved complex, float64) by
 * R^{−1/2}·e^{2πi·u·p/n}: what the repeated rows ({@link latticeRuns}) leave
 * out, once for a sum over channels.
 */
export function latticePhase(acc: Float64Array, RO: number, n: number, factor: number, offset: number): void {
  const c = Math.floor(n / 2);
  const p = positiveMod(offset - c, factor);
  const gain = 1 / Math.sqrt(factor);
  for (let us = 0; us < n; us++) {
    const angle = (2 * Math.PI * (us - c) * p) / n;
    const fr = gain * Math.cos(angle);
    const fi = gain * Math.sin(angle);
    const base = 2 * RO * us;
    for (let i = base; i < base + 2 * RO; i += 2) {
      const re = acc[i] as number;
      const im = acc[i + 1] as number;
      acc[i] = re * fr - im * fi;
      acc[i + 1] = re * fi + im * fr;
    }
  }
}
