import assert from 'node:assert/strict';
import test from 'node:test';
import type { DataBuffered, ImageArray, ReconData } from '../ismrmrd/buffers.js';
import { DataType, emptyAcquisitionHeader, ImageType, type AcquisitionHeader } from '../ismrmrd/types.js';
import { fftc } from '../kernels/index.js';
import { simpleRecon, simpleReconGadget } from './simple-recon.js';
import { ofKind, randomComplex, runGadget } from './testing.js';

interface Phantom {
  buffer: DataBuffered;
  /** Expected RSS image per block (n + N·(s + S·loc)), E0·E1·E2 real values. */
  rss: Float64Array[];
}

/**
 * A buffer whose k-space is, per coil and block, the centred FFT of a known
 * random image; headers for every line with repetition = 10·e1 + n,
 * slice = loc and position = (e1, n, loc).
 */
function phantom(dims: [number, number, number, number, number, number, number], seed: number): Phantom {
  const [E0, E1, E2, CHA, N, S, LOC] = dims;
  const block = E0 * E1 * E2 * CHA;
  const voxels = E0 * E1 * E2;
  const data = new Float32Array(2 * block * N * S * LOC);
  const rss: Float64Array[] = [];
  for (let b = 0; b < N * S * LOC; b++) {
    const image = randomComplex(block, seed + b);
    const expected = new Float64Array(voxels);
    for (let c = 0; c < CHA; c++) {
      for (let v = 0; v < voxels; v++) {
        const re = image[2 * (c * voxels + v)] as number;
        const im = image[2 * (c * voxels + v) + 1] as number;
        expected[v] = (expected[v] as number) + re * re + im * im;
      }
    }
    rss.push(expected.map(Math.sqrt));
    data.set(fftc(image, [E0, E1, E2, CHA], [0, 1, 2], false), 2 * b * block);
  }
  const headers: (AcquisitionHeader | undefined)[] = [];
  for (let loc = 0; loc < LOC; loc++) for (let s = 0; s < S; s++) for (let n = 0; n < N; n++) {
    for (let e2 = 0; e2 < E2; e2++) for (let e1 = 0; e1 < E1; e1++) {
      const h = emptyAcquisitionHeader();
      h.idx.kspace_encode_step_1 = e1;
      h.idx.kspace_encode_step_2 = e2;
      h.idx.repetition = 10 * e1 + n;
      h.idx.slice = loc;
      h.idx.average = s;
      h.position = [e1, n, loc];
      h.read_dir = [1, 0, 0];
      h.acquisition_time_stamp = 1000 + e1;
      h.user_int = [e1, 0, 0, 0, 0, 0, 0, 0];
      headers.push(h);
    }
  }
  const buffer: DataBuffered = {
    data: { data, dims: [...dims] },
    headers,
    headerDims: [E1, E2, N, S, LOC],
    sampling: {
      encoded_FOV: [200, 180, 10], recon_FOV: [220, 190, 12],
      encoded_matrix: [E0, E1, E2], recon_matrix: [E0, E1, E2],
      sampling_limits: [
        { min: 0, max: E0 - 1, center: Math.floor(E0 / 2) },
        { min: 0, max: E1 - 1, center: Math.floor(E1 / 2) },
        { min: 0, max: E2 - 1, center: Math.floor(E2 / 2) },
      ],
    },
  };
  return { buffer, rss };
}

function recon(...buffers: DataBuffered[]): ReconData {
  return { kind: 'recondata', rbit: buffers.map((data) => ({ data })) };
}

function checkImages(array: ImageArray, p: Phantom): void {
  const [E0, E1, E2, , N, S, LOC] = p.buffer.data.dims as number[] as [number, number, number, number, number, number, number];
  assert.deepEqual(array.data.dims, [E0, E1, E2, 1, N, S, LOC]);
  const voxels = E0 * E1 * E2;
  p.rss.forEach((expected, b) => {
    let worst = 0;
    for (let v = 0; v < voxels; v++) {
      const re = array.data.data[2 * (b * voxels + v)] as number;
      const im = array.data.data[2 * (b * voxels + v) + 1] as number;
      assert.equal(im, 0, 'the combined image is real');
      worst = Math.max(worst, Math.abs(re - (expected[v] as number)) / Math.max(1, expected[v] as number));
    }
    assert.ok(worst < 1e-5, `block ${b}: relative error ${worst}`);
  });
}

test('SimpleReconGadget gives back the root sum of squares of the coil images (2D, several N and LOC)', async () => {
  const p = phantom([8, 6, 1, 3, 2, 1, 2], 100);
  const [array] = ofKind(await runGadget(simpleReconGadget, [recon(p.buffer)]), 'imagearray');
  assert.ok(array);
  checkImages(array, p);
});

test('SimpleReconGadget transforms along E2 as well (3D, odd sizes)', async () => {
  const p = phantom([5, 6, 3, 2, 1, 2, 1], 7);
  const [array] = ofKind(await runGadget(simpleReconGadget, [recon(p.buffer)]), 'imagearray');
  assert.ok(array);
  checkImages(array, p);
});

test('SimpleReconGadget fills image headers from the centre line, numbers images 1, 2, 3… and uses series 0', async () => {
  const a = phantom([8, 6, 1, 2, 2, 1, 2], 1);
  const b = phantom([8, 6, 1, 2, 1, 1, 1], 2);
  const out = ofKind(await runGadget(simpleReconGadget, [recon(a.buffer, b.buffer), recon(b.buffer)]), 'imagearray');
  assert.equal(out.length, 3, 'one image array per recon bit');
  assert.deepEqual(out.map((x) => x.headers.map((h) => h.image_index)), [[1, 2, 3, 4], [5], [6]]);
  const first = out[0] as ImageArray;
  assert.equal(first.meta.length, 4);
  first.headers.forEach((h, i) => {
    const n = i % 2;
    const loc = Math.floor(i / 2);
    assert.equal(h.image_series_index, 0);
    assert.equal(h.repetition, 10 * 3 + n, 'the centre line (E1 = 3) gives the counters');
    assert.equal(h.slice, loc);
    assert.deepEqual(h.position, [3, n, loc]);
    assert.deepEqual(h.read_dir, [1, 0, 0]);
    assert.equal(h.acquisition_time_stamp, 1003);
    assert.equal(h.user_int[0], 3);
    assert.deepEqual(h.matrix_size, [8, 6, 1]);
    assert.deepEqual(h.field_of_view, [220, 190, 12], 'the recon FOV');
    assert.equal(h.channels, 1);
    assert.equal(h.image_type, ImageType.MAGNITUDE);
    assert.equal(h.data_type, DataType.CXFLOAT);
  });
});

test('SimpleReconGadget falls back to the first sampled line when the centre line is missing', async () => {
  const p = phantom([4, 6, 1, 1, 1, 1, 1], 3);
  p.buffer.headers = p.buffer.headers.map((h, e1) => (e1 === 3 || e1 === 0 ? undefined : h));
  const [array] = ofKind(await runGadget(simpleReconGadget, [recon(p.buffer)]), 'imagearray');
  assert.equal(array?.headers[0]?.repetition, 10);
});

test('SimpleReconGadget ignores the reference data and passes other messages through', async () => {
  const p = phantom([4, 4, 1, 2, 1, 1, 1], 9);
  const ref = phantom([4, 4, 1, 2, 1, 1, 1], 10).buffer;
  const text = { kind: 'text', text: 't' } as const;
  const out = await runGadget(simpleReconGadget, [text, { kind: 'recondata', rbit: [{ data: p.buffer, ref }] }]);
  assert.equal(out.length, 2);
  assert.ok(out.includes(text));
  const array = out.find((m) => m.kind === 'imagearray') as ImageArray;
  checkImages(array, p);
});

test('SimpleReconGadget transforms its buffer in place with the same bits as simpleRecon, which leaves its argument unchanged', async () => {
  const p = phantom([16, 12, 1, 9, 2, 1, 1], 21);
  const before = p.buffer.data.data.slice();
  let k = 0;
  const copied = simpleRecon(p.buffer, () => ++k, 0);
  assert.deepEqual(p.buffer.data.data, before, 'simpleRecon works on a copy');
  const [array] = ofKind(await runGadget(simpleReconGadget, [recon(p.buffer)]), 'imagearray');
  assert.ok(array);
  assert.deepEqual(array.data.data, copied.data.data, 'same bits in place');
  assert.notDeepEqual(p.buffer.data.data, before, 'the gadget consumed the buffer: its k-space is now the coil images');
  checkImages(array, p);
});
