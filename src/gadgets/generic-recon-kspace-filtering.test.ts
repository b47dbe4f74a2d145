import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { nrmse } from '../kernels/complex-ops.js';
import { symmetricFilter } from '../kernels/filters.js';
import { createComputePool, isShared } from '../engine/thread-pool.js';
import { genericReconKSpaceFilteringGadget, kspaceFilterArray, kspaceFilterSteps } from './generic-recon-kspace-filtering.js';
import { executionOf, RECON_TASKS_URL, runOnPool } from './generic-recon-tasks.js';
import { limit, makeImageArray, makeSampling, toImage, toKSpace } from './generic-recon-testing.js';
import { ofKind, planSingleGadget, randomComplex, runGadget } from './testing.js';

const RO = 40;
const E1 = 24;
const dims = [RO, E1, 1, 2];

/** Normalised Gaussian (σ) of an even length, from the closed form. */
function gaussian(len: number, sigma: number): number[] {
  const f = [0];
  for (let k = 1; k < len; k++) {
    const x = -1 + (2 * (k - 1)) / (len - 2);
    f.push(Math.exp((-sigma * sigma * x * x) / 2));
  }
  const s = 1 / Math.sqrt(f.reduce((a, v) => a + v * v, 0) / len);
  return f.map((v) => v * s);
}

test('KSpaceFiltering multiplies k-space by the default Gaussian σ=1 in RO and E1', async () => {
  const k = new Float32Array(2 * RO * E1 * 2);
  for (let i = 0; i < k.length; i += 2) {
    k[i] = 1;
    k[i + 1] = -2;
  }
  const array = makeImageArray({ dims, data: toImage(k, dims) });
  const [out] = ofKind(await runGadget(genericReconKSpaceFilteringGadget, [array]), 'imagearray');
  assert.ok(out);
  const kOut = toKSpace(out.data.data, dims);
  const fRO = gaussian(RO, 1);
  const fE1 = gaussian(E1, 1);
  for (let c = 0; c < 2; c++) {
    for (let y = 0; y < E1; y++) {
      for (let x = 0; x < RO; x++) {
        const g = (fRO[x] as number) * (fE1[y] as number);
        const i = 2 * (x + RO * (y + E1 * c));
        assert.ok(Math.abs(kOut[i] - g) < 1e-5 && Math.abs(kOut[i + 1] + 2 * g) < 1e-5, `(${x}, ${y}, ${c})`);
      }
    }
  }
});

test('KSpaceFiltering rescales the filter over the sampled E1 window', async () => {
  const k = new Float32Array(2 * RO * E1 * 2);
  for (let i = 0; i < k.length; i += 2) k[i] = 1;
  const array = makeImageArray({
    dims,
    data: toImage(k, dims),
    sampling: makeSampling([RO, E1, 1], [limit(0, RO - 1, RO), limit(0, 15, E1), limit(0, 0, 1)]),
  });
  const [out] = ofKind(await runGadget(genericReconKSpaceFilteringGadget, [array], { properties: { filterRO: 'None', filterE1: 'hanning' } }), 'imagearray');
  assert.ok(out);
  const kOut = toKSpace(out.data.data, dims);
  const h = symmetricFilter(E1, 'Hanning');
  let energy = 0;
  for (let y = 0; y <= 15; y++) energy += h[y] * h[y];
  const s = 1 / Math.sqrt(energy / 16);
  for (let y = 0; y < E1; y++) assert.ok(Math.abs(kOut[2 * (3 + RO * y)] - h[y] * s) < 1e-5, `line ${y}`);
});

test('KSpaceFiltering skips flagged arrays (g-factor) but filters SNR maps; None everywhere is a no-op', async () => {
  const data = randomComplex(RO * E1 * 2, 4);
  const gfactor = makeImageArray({ dims, data, meta: { GADGETRON_DataRole: ['Gfactor'], Skip_processing_after_recon: ['1'] } });
  const snr = makeImageArray({ dims, data, meta: { GADGETRON_DataRole: ['SNR_MAP'] } });
  const out = ofKind(await runGadget(genericReconKSpaceFilteringGadget, [gfactor, snr]), 'imagearray');
  assert.equal(out[0], gfactor);
  assert.notEqual(out[1], snr);
  assert.ok(nrmse(out[1]?.data.data ?? [], data) > 1e-3);
  const plain = makeImageArray({ dims, data });
  const [same] = ofKind(
    await runGadget(genericReconKSpaceFilteringGadget, [plain], { properties: { filterRO: 'None', filterE1: 'None', filterE2: 'None' } }),
    'imagearray',
  );
  assert.equal(same, plain);
});

test('KSpaceFiltering is a strict (legacy) gadget with Gadgetron defaults', () => {
  assert.equal(genericReconKSpaceFilteringGadget.strict, true);
  assert.throws(() => planSingleGadget(genericReconKSpaceFilteringGadget, { filterRO_typo: 'Gaussian' }));
  assert.throws(() => planSingleGadget(genericReconKSpaceFilteringGadget, { filterRO: 'Tukey' }));
  const step = planSingleGadget(genericReconKSpaceFilteringGadget, { filterE1: 'taperedhanning' }).chain.steps[0];
  assert.ok(step && 'properties' in step);
  const p = step.properties as Record<string, unknown>;
  assert.equal(p.filterRO, 'Gaussian');
  assert.equal(p.filterE1, 'TaperedHanning');
  assert.equal(p.filterRO_sigma, 1);
  assert.equal(p.filterE2_width, 0.15);
  assert.equal(p.skip_processing_meta_field, 'Skip_processing_after_recon');
  assert.equal(p.verbose, false);
});

function hasBart(): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v bart'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function writeCfl(base: string, data: Float32Array, shape: number[]): void {
  writeFileSync(`${base}.cfl`, Buffer.from(data.buffer, data.byteOffset, data.byteLength));
  const d = [...shape];
  while (d.length < 16) d.push(1);
  writeFileSync(`${base}.hdr`, `# Dimensions\n${d.join(' ')} \n`);
}

test('KSpaceFiltering matches BART: fft -u 3, fmac with the filter, fft -u -i 3', { skip: hasBart() ? false : 'bart is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-kfilter-'));
  try {
    const image = randomComplex(RO * E1 * 2, 8);
    writeCfl(join(dir, 'img'), image, [RO, E1, 1, 2]);
    const fRO = symmetricFilter(RO, 'Gaussian', 1.5);
    const fE1 = symmetricFilter(E1, 'TaperedHanning', 1, Math.ceil(0.2 * E1));
    const filter = new Float32Array(2 * RO * E1);
    for (let y = 0; y < E1; y++) for (let x = 0; x < RO; x++) filter[2 * (x + RO * y)] = fRO[x] * fE1[y];
    writeCfl(join(dir, 'filter'), filter, [RO, E1]);
    const bart = (...args: string[]): void => {
      execFileSync('bart', args, { cwd: dir, stdio: 'pipe' });
    };
    bart('fft', '-u', '3', 'img', 'k');
    bart('fmac', 'k', 'filter', 'kf');
    bart('fft', '-u', '-i', '3', 'kf', 'out');
    const raw = readFileSync(join(dir, 'out.cfl'));
    const expected = new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
    const array = makeImageArray({ dims, data: image });
    const [out] = ofKind(
      await runGadget(genericReconKSpaceFilteringGadget, [array], {
        properties: { filterRO_sigma: '1.5', filterE1: 'TaperedHanning', filterE1_width: '0.2' },
      }),
      'imagearray',
    );
    assert.ok(out);
    const err = nrmse(out.data.data, expected);
    assert.ok(err < 1e-5, `NRMSE against BART ${err}`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('KSpaceFiltering on compute threads gives the inline bits, volume for volume, in tasks of a fixed size', { timeout: 60_000 }, async () => {
  // 13 volumes: tasks of 6, 6 and 1 on a pool with one worker and the calling thread.
  const many = [RO, E1, 1, 13];
  const array = makeImageArray({ dims: many, data: randomComplex(RO * E1 * 13, 5) });
  const filters = [
    { type: 'Gaussian', sigma: 1, width: 0.15 },
    { type: 'TaperedHanning', sigma: 1, width: 0.2 },
    { type: 'None', sigma: 1, width: 0.15 },
  ] as const;
  const inline = kspaceFilterArray(array, [filters[0], filters[1], filters[2]]);
  const pool = createComputePool(RECON_TASKS_URL, 1);
  try {
    const pooled = await runOnPool(pool, kspaceFilterSteps(array, [filters[0], filters[1], filters[2]], executionOf(pool)));
    assert.ok(isShared(pooled.data.data), 'the pooled result lies in shared memory');
    assert.deepEqual(pooled.data.dims, array.data.dims);
    assert.deepEqual(Array.from(pooled.data.data), Array.from(inline.data.data));
  } finally {
    await pool.close();
  }
  // Volume by volume the same as filtering each volume alone.
  const one = makeImageArray({ dims: [RO, E1, 1, 1], data: array.data.data.slice(2 * RO * E1 * 7, 2 * RO * E1 * 8) });
  const alone = kspaceFilterArray(one, [filters[0], filters[1], filters[2]]);
  assert.deepEqual(Array.from(alone.data.data), Array.from(inline.data.data.subarray(2 * RO * E1 * 7, 2 * RO * E1 * 8)));
  assert.notDeepEqual(Array.from(inline.data.data), Array.from(array.data.data), 'the data were filtered');
});
