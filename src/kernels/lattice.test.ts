import assert from 'node:assert/strict';
import test from 'node:test';
import { fftc } from './fft.js';
import { copyBlocks } from './copy.js';
import { gatherLattice, latticeOffset, latticePhase, latticeRuns } from './lattice.js';
import { tasks, type GrappaUnwrapArgs } from '../gadgets/generic-recon-tasks.js';

/** A deterministic pseudo-random stream in [−1, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 31 - 1;
  };
}

/** [RO, n, channels] k-space with only lines o, o + R, … filled. */
function latticeKspace(RO: number, n: number, factor: number, offset: number, channels: number, seed: number): Float32Array {
  const rnd = random(seed);
  const k = new Float32Array(2 * RO * n * channels);
  for (let ch = 0; ch < channels; ch++) {
    for (let e1 = offset; e1 < n; e1 += factor) {
      for (let i = 0; i < 2 * RO; i++) k[2 * RO * (e1 + n * ch) + i] = rnd();
    }
  }
  return k;
}

function maxError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let err = 0;
  let peak = 0;
  for (let i = 0; i < a.length; i++) {
    err = Math.max(err, Math.abs((a[i] as number) - (b[i] as number)));
    peak = Math.max(peak, Math.abs(b[i] as number));
  }
  return err / peak;
}

test('latticeOffset: the common residue of the sampled lines, −1 off a lattice or when R does not divide n', () => {
  assert.equal(latticeOffset([1, 4, 7, 10], 3, 12), 1);
  assert.equal(latticeOffset([0, 3, 6, 9], 3, 12), 0);
  assert.equal(latticeOffset([2], 3, 12), 2);
  assert.equal(latticeOffset([0, 3, 4], 3, 12), -1, 'a calibration line off the lattice');
  assert.equal(latticeOffset([0, 3], 3, 10), -1, 'R does not divide n');
  assert.equal(latticeOffset([], 3, 12), -1);
  assert.equal(latticeOffset([0, 2], 1, 12), -1, 'no acceleration');
  assert.equal(latticeOffset([0, 12], 3, 12), -1, 'outside the grid');
});

test('the M-point transform of the lattice lines, repeated and phase-ramped, is the centred inverse FFT along E1 (even and odd n and M, every offset)', () => {
  const RO = 6;
  const channels = 3;
  for (const [n, factor] of [[12, 3], [15, 3], [16, 4], [18, 2], [192, 3], [20, 5]] as const) {
    const M = n / factor;
    for (let offset = 0; offset < factor; offset++) {
      const k = latticeKspace(RO, n, factor, offset, channels, 7 * n + offset);
      const expected = fftc(k.slice(), [RO, n, 1, channels], [0, 1], true);
      const lines = new Float32Array(2 * RO * M * channels);
      gatherLattice(lines, k, 0, 2 * RO * n, RO, n, factor, offset, channels);
      fftc(lines, [RO, M, 1, channels], [0, 1], true);
      const got = new Float32Array(2 * RO * n * channels);
      let rows = 0;
      for (const [u, from, len] of latticeRuns(n, factor)) {
        assert.equal(u, rows, 'the runs cover the rows in order');
        copyBlocks(got, 2 * RO * u, 2 * RO * n, lines, 2 * RO * from, 2 * RO * M, 2 * RO * len, channels);
        rows += len;
      }
      assert.equal(rows, n);
      for (let ch = 0; ch < channels; ch++) {
        const acc = Float64Array.from(got.subarray(2 * RO * n * ch, 2 * RO * n * (ch + 1)));
        latticePhase(acc, RO, n, factor, offset);
        const want = expected.subarray(2 * RO * n * ch, 2 * RO * n * (ch + 1));
        assert.ok(maxError(acc, want) < 1e-5, `n ${n}, R ${factor}, offset ${offset}, channel ${ch}: error ${maxError(acc, want)}`);
      }
    }
  }
});

test('grappaUnwrap takes the lattice path for frames on a lattice and gives the full transform\'s image to float32 rounding', () => {
  const [RO, E1, CHA, factor] = [16, 24, 6, 3];
  const frames = 3;
  const vol = RO * E1;
  const offsets = [0, 2, -1]; // the third frame is not on a lattice: the full transform
  const data = new Float32Array(2 * vol * CHA * frames);
  offsets.forEach((o, f) => {
    const k = latticeKspace(RO, E1, factor, Math.max(o, 0), CHA, 100 + f);
    if (o < 0) k[2 * RO * 1] = 0.5; // a line off the lattice
    data.set(k, 2 * vol * CHA * f);
  });
  const rnd = random(5);
  const unmixing = Float32Array.from({ length: 2 * vol * CHA }, () => rnd());
  const args = (lattice?: GrappaUnwrapArgs['lattice']): GrappaUnwrapArgs => ({
    data, dims: [RO, E1, 1, CHA], frames: offsets.map((_o, f) => [f, 0]), unmixing, weightChannels: CHA, channels: CHA, scale: 0.5,
    out: new Float32Array(2 * vol * frames), ...(lattice ? { lattice } : {}),
  });
  const full = args();
  tasks.grappaUnwrap(full);
  const fast = args({ factor, offsets });
  tasks.grappaUnwrap(fast);
  for (let f = 0; f < frames; f++) {
    const e = maxError(fast.out.subarray(2 * vol * f, 2 * vol * (f + 1)), full.out.subarray(2 * vol * f, 2 * vol * (f + 1)));
    assert.ok(e < 1e-5, `frame ${f}: error ${e}`);
  }
  assert.deepEqual(fast.out.subarray(2 * vol * 2), full.out.subarray(2 * vol * 2), 'a frame off the lattice: the same bits');
  // Frames unwrapped in a group (one task) or one per task: the same bits.
  const single = args({ factor, offsets });
  offsets.forEach((o, f) => {
    tasks.grappaUnwrap({ ...single, frames: [[f, 0]], lattice: { factor, offsets: [o] } });
  });
  assert.deepEqual(single.out, fast.out);
});
