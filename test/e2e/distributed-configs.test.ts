/**
 * End to end over real TCP: a multi-slice cine phantom reconstructed through
 * the legacy Cloud config (Distribute … Collect) and the three version 2
 * distributed configs by a Gantry gateway with 1, 2 and 3 Gantry workers
 * gives the same images, bit for bit and each exactly once, as a single-node
 * run (a gateway without workers); the work really is spread over the
 * workers; and with no workers the client is warned that jobs run locally.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import {
  address, assertSameImages, errorTexts, jobRecords, makeScan, sessionJobs, waitUntil, reconstruct, startWorkers, type ReconResult, type Scan,
} from './distributed-fixtures.js';

const CONFIGS = [
  'Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml',
  'distributed_default.xml',
  'distributed_generic_default.xml',
  'distributed_image_default.xml',
];

/** Jobs each config makes from the phantom (4 slices × 2 repetitions). */
const EXPECTED_JOBS: Record<string, number> = {
  'Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml': 8,
  'distributed_default.xml': 2,
  'distributed_generic_default.xml': 1,
  'distributed_image_default.xml': 32,
};

test('distributed configs give single-node images bit for bit with 1, 2 and 3 workers', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-distributed-'));
  const servers: ServerProcess[] = [];
  t.after(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    rmSync(dir, { recursive: true, force: true });
  });
  const scan: Scan = await makeScan(dir, ['--matrix', '64', '--slices', '4', '--phases', '4', '--repetitions', '2', '--accel', '2', '--coils', '4']);
  const workers = await startWorkers(3);
  servers.push(...workers);
  const single = await startGantryServer();
  servers.push(single);

  const reference = new Map<string, ReconResult>();
  for (const config of CONFIGS) {
    const result = await reconstruct(single.port, config, scan);
    assert.deepEqual(errorTexts(result), [], `${config} single node`);
    assert.ok(result.texts.some((x) => /WARNING: .*no remote worker is available; running the distributed jobs in-process/.test(x)),
      `${config}: the client was not warned that jobs run locally: ${result.texts.join(' | ')}`);
    assert.ok(result.images.length >= 32, `${config}: ${result.images.length} images`);
    reference.set(config, result);
  }
  assert.ok(jobRecords(single).every((r) => r.worker === 'local' && r.outcome === 'ok'));

  const timings: string[] = [`single node: ${CONFIGS.map((c) => `${c} ${Math.round(reference.get(c)?.ms ?? 0)} ms`).join(', ')}`];
  for (const n of [1, 2, 3]) {
    const list = workers.slice(0, n).map((w) => address(w.port));
    const gateway = await startGantryServer(['--workers', list.join(','), '--worker-timeout', '20']);
    servers.push(gateway);
    const line: string[] = [];
    for (const config of CONFIGS) {
      const result = await reconstruct(gateway.port, config, scan);
      assert.deepEqual(errorTexts(result), [], `${config} with ${n} workers`);
      assert.deepEqual(result.texts.filter((x) => /WARNING/.test(x)), [], `${config} with ${n} workers: unexpected warnings`);
      assertSameImages(result.images, reference.get(config)?.images ?? [], `${config} with ${n} workers`);
      line.push(`${config} ${Math.round(result.ms)} ms`);
    }
    const records = jobRecords(gateway);
    assert.ok(records.every((r) => r.outcome === 'ok'), `failed attempts with ${n} workers: ${JSON.stringify(records.filter((r) => r.outcome !== 'ok'))}`);
    await waitUntil(() => sessionJobs(gateway).length === CONFIGS.length, 'the gateway to log its sessions');
    const sessions = sessionJobs(gateway);
    const used = new Set<string>();
    CONFIGS.forEach((config, i) => {
      const perWorker = sessions[i]?.workers ?? {};
      const total = Object.values(perWorker).reduce((a, b) => a + b, 0);
      assert.equal(total, EXPECTED_JOBS[config], `${config}: ${total} jobs with ${n} workers`);
      for (const worker of Object.keys(perWorker)) {
        assert.ok(list.includes(worker), `${config}: a job ran on ${worker}, not on a worker`);
        used.add(worker);
      }
    });
    assert.equal(used.size, n, `with ${n} workers only ${[...used].join(', ')} got jobs`);
    timings.push(`${n} worker(s): ${line.join(', ')}`);
    await gateway.stop();
  }
  for (const line of timings) t.diagnostic(line);
});
