import test from 'node:test';
import assert from 'node:assert/strict';
import { createComputePool } from '../engine/thread-pool.js';
import type { Message } from '../ismrmrd/messages.js';
import { emptyAcquisitionHeader, type Acquisition } from '../ismrmrd/types.js';
import { applyNoiseWhitening } from '../kernels/noise-whitening.js';
import { RECON_TASKS_URL } from './generic-recon-tasks.js';
import { PooledNoiseWhitening } from './noise-whitening-pool.js';

test('pooled noise whitening gives the inline bits, in input order', { timeout: 60_000 }, async () => {
  const channels = 4;
  const matrix = new Float64Array(2 * channels * channels);
  for (let j = 0; j < channels; j++) {
    for (let i = j; i < channels; i++) {
      matrix[2 * (i + channels * j)] = 1 / (1 + i + j);
      matrix[2 * (i + channels * j) + 1] = i > j ? 0.1 * (i - j) : 0;
    }
  }
  const acqs: Acquisition[] = Array.from({ length: 37 }, (_v, k) => {
    const samples = 32 + (k % 3) * 8;
    const head = emptyAcquisitionHeader();
    head.scan_counter = k;
    head.number_of_samples = samples;
    head.active_channels = channels;
    return { kind: 'acquisition', head, traj: new Float32Array(0), data: Float32Array.from({ length: 2 * samples * channels }, (_x, i) => Math.sin(i * 0.37 + k)) };
  });
  const got: Message[] = [];
  const pool = createComputePool(RECON_TASKS_URL, 2);
  try {
    const pooled = new PooledNoiseWhitening(pool, { push: async (m) => void got.push(m) }, 5, 2);
    for (const a of acqs) await pooled.add(a, a.head.number_of_samples, channels, matrix);
    await pooled.flush();
  } finally {
    await pool.close();
  }
  assert.equal(got.length, acqs.length);
  got.forEach((m, k) => {
    const a = acqs[k] as Acquisition;
    assert.equal((m as Acquisition).head.scan_counter, k, 'input order');
    const expected = applyNoiseWhitening(a.data, a.head.number_of_samples, channels, matrix, new Float32Array(a.data.length));
    assert.deepEqual(Array.from((m as Acquisition).data), Array.from(expected), `readout ${k}`);
  });
});
