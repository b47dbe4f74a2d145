import { test } from 'node:test';
import assert from 'node:assert/strict';
import { genericReconNoiseStdMapGadget } from './generic-recon-noise-std-map.js';
import { makeImageArray } from './generic-recon-testing.js';
import { ofKind, planSingleGadget, runGadget } from './testing.js';

const RO = 3;
const E1 = 2;
const N = 8;
const S = 2;

/** SNR map [RO, E1, 1, 1, N, S, 1] whose pixel p, repetition n, set s has magnitude (1 + p)·(n + 1)·(s + 1) and a varying phase. */
function snrMap() {
  const data = new Float32Array(2 * RO * E1 * N * S);
  for (let s = 0; s < S; s++) {
    for (let n = 0; n < N; n++) {
      for (let p = 0; p < RO * E1; p++) {
        const m = (1 + p) * (n + 1) * (s + 1);
        const phi = 0.7 * n + p;
        const i = 2 * (p + RO * E1 * (n + N * s));
        data[i] = m * Math.cos(phi);
        data[i + 1] = m * Math.sin(phi);
      }
    }
  }
  return makeImageArray({ dims: [RO, E1, 1, 1, N, S, 1], data, series: 300, meta: { GADGETRON_DataRole: ['SNR_MAP'], GADGETRON_ImageComment: ['GT', 'SNR'] } });
}

test('NoiseStdMapComputing emits the SNR map, then the std over n ≥ 5 of |SNR| with series × 10', async () => {
  const input = snrMap();
  const out = ofKind(await runGadget(genericReconNoiseStdMapGadget, [input]), 'imagearray');
  assert.equal(out.length, 2);
  assert.equal(out[0], input);
  const std = out[1];
  assert.ok(std);
  assert.deepEqual(std.data.dims, [RO, E1, 1, 1, 1, S, 1]);
  // magnitudes over n = 5, 6, 7 are a·{6, 7, 8}: population std = a·√(2/3)
  for (let s = 0; s < S; s++) {
    for (let p = 0; p < RO * E1; p++) {
      const expected = (1 + p) * (s + 1) * Math.sqrt(2 / 3);
      const i = 2 * (p + RO * E1 * s);
      assert.ok(Math.abs(std.data.data[i] - expected) < 1e-4 * expected, `pixel ${p}, set ${s}: ${std.data.data[i]} vs ${expected}`);
      assert.equal(std.data.data[i + 1], 0);
    }
  }
  assert.equal(std.headers.length, S);
  assert.deepEqual(std.headers.map((h) => [h.image_series_index, h.repetition, h.set]), [[3000, 0, 0], [3000, 0, 1]]);
  assert.equal(std.meta.length, S);
  assert.deepEqual(std.meta[1]?.get('GADGETRON_DataRole'), ['STD_MAP']);
  assert.deepEqual(std.meta[1]?.get('GADGETRON_ImageComment'), ['GT', 'SNR', 'STD_MAP']);
  assert.deepEqual(std.meta[1]?.get('GADGETRON_SeqDescription'), ['_STD_MAP']);
  assert.deepEqual(std.meta[1]?.get('Use_dedicated_scaling_factor'), ['1']);
  assert.deepEqual(input.meta[0]?.get('GADGETRON_DataRole'), ['SNR_MAP'], 'input meta not mutated');
  assert.equal(input.headers[0]?.image_series_index, 300);
});

test('NoiseStdMapComputing passes other roles and too-short SNR series unchanged', async () => {
  const image = makeImageArray({ dims: [RO, E1, 1, 1, N], meta: { GADGETRON_DataRole: ['Image'] } });
  const short = makeImageArray({ dims: [RO, E1, 1, 1, 5], meta: { GADGETRON_DataRole: ['SNR_MAP'] } });
  const out = ofKind(await runGadget(genericReconNoiseStdMapGadget, [image, short]), 'imagearray');
  assert.deepEqual(out, [image, short]);
  const custom = ofKind(await runGadget(genericReconNoiseStdMapGadget, [short], { properties: { start_N_for_std_map: '2' } }), 'imagearray');
  assert.equal(custom.length, 2);
});

test('NoiseStdMapComputing is a strict (legacy) gadget, start_N_for_std_map defaults to 5', () => {
  assert.equal(genericReconNoiseStdMapGadget.strict, true);
  assert.throws(() => planSingleGadget(genericReconNoiseStdMapGadget, { start_n_for_std_map: '5' }));
  const step = planSingleGadget(genericReconNoiseStdMapGadget).chain.steps[0];
  assert.ok(step && 'properties' in step);
  assert.equal((step.properties as Record<string, unknown>).start_N_for_std_map, 5);
});
