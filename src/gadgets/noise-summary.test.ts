import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Channel } from '../engine/channel.js';
import type { AnyGadgetDefinition } from '../engine/gadget.js';
import { runChain } from '../engine/pipeline.js';
import type { Message } from '../ismrmrd/messages.js';
import { metaGet, metaGetNumber, parseMeta } from '../ismrmrd/meta.js';
import { FolderStore } from '../storage/folder-store.js';
import { encodeNoiseCovariance } from '../storage/sfndam.js';
import type { DependencyStore } from '../storage/types.js';
import { silentLogger } from '../util/logger.js';
import { dependencyQueryGadget } from './dependency-query.js';
import { measurementIdOfNoiseFile, noiseSummaryGadget } from './noise-summary.js';
import { CollectingOutput, planSingleGadget } from './testing.js';

/** Runs a gadget as a header-less dependency query does: empty input, no header. */
async function query(def: AnyGadgetDefinition, properties: Record<string, string>, storage?: DependencyStore): Promise<string> {
  const plan = planSingleGadget(def, properties);
  const input = new Channel<Message>(4);
  input.close();
  const output = new CollectingOutput();
  await runChain(plan.chain, input, output, {
    header: undefined,
    log: silentLogger,
    signal: new AbortController().signal,
    channelCapacity: 4,
    ...(storage ? { storage } : {}),
  });
  assert.equal(output.messages.length, 1);
  const m = output.messages[0] as Message;
  assert.equal(m.kind, 'dependencyquery');
  return (m as { xml: string }).xml;
}

async function storeNoise(store: FolderStore, measurement: string, sigmas: number[]): Promise<void> {
  const n = sigmas.length;
  const matrix = new Float32Array(2 * n * n);
  sigmas.forEach((s, i) => {
    matrix[2 * (i + n * i)] = s * s;
  });
  const [device, subject, session] = measurement.split('_');
  await store.store(
    { subject: subject as string, device: device as string, session: session as string, name: 'noise_covariance', custom: { measurement: [measurement] } },
    encodeNoiseCovariance({ channels: n, labels: [], sampleCount: 100, noiseDwellTimeUs: 5, receiverNoiseBandwidth: 0.793, matrix }),
  );
}

test('NoiseSummaryGadget answers success with channels, sigmas and dwell time for a stored noise measurement', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-summary-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FolderStore(dir, { sweepIntervalMs: 0 });
  await storeNoise(store, '45160_88093439_88093444_513', [1, 2, 4]);
  const meta = parseMeta(await query(noiseSummaryGadget, { noise_file: 'GadgetronNoiseCovarianceMatrix_45160_88093439_88093444_513' }, store));
  assert.equal(metaGet(meta, 'status'), 'success');
  assert.equal(metaGetNumber(meta, 'channels'), 3);
  assert.equal(metaGetNumber(meta, 'min_sigma'), 1);
  assert.equal(metaGetNumber(meta, 'max_sigma'), 4);
  assert.ok(Math.abs((metaGetNumber(meta, 'mean_sigma') as number) - 7 / 3) < 1e-5);
  assert.equal(metaGetNumber(meta, 'noise_dwell_time_us'), 5);
});

test('NoiseSummaryGadget answers failed when the noise is not stored or there is no store', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-noise-summary-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FolderStore(dir, { sweepIntervalMs: 0 });
  for (const storage of [store, undefined]) {
    const meta = parseMeta(await query(noiseSummaryGadget, { noise_file: 'GadgetronNoiseCovarianceMatrix_1_2_3_4' }, storage));
    assert.equal(metaGet(meta, 'status'), 'failed');
    assert.equal(meta.size, 1);
  }
  assert.equal(measurementIdOfNoiseFile('GadgetronNoiseCovarianceMatrix_a_b'), 'a_b');
  assert.equal(measurementIdOfNoiseFile('a_b'), 'a_b');
});

test('DependencyQueryGadget lists stored noise dependencies, or Dummy', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-dependency-query-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const store = new FolderStore(dir, { sweepIntervalMs: 0 });
  assert.deepEqual(parseMeta(await query(dependencyQueryGadget, {}, store)).get('NoiseDependencies'), ['Dummy']);
  await storeNoise(store, 'a_b_c_1', [1]);
  await storeNoise(store, 'x_y_z_2', [1]);
  const meta = parseMeta(await query(dependencyQueryGadget, { noise_dependency_attrib_name: 'Deps' }, store));
  assert.deepEqual(meta.get('Deps'), ['GadgetronNoiseCovarianceMatrix_a_b_c_1', 'GadgetronNoiseCovarianceMatrix_x_y_z_2']);
});
