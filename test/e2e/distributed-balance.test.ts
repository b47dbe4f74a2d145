/**
 * Load balancing end to end: of two Gantry workers, one is slowed by a
 * delaying TCP proxy in front of it; the gateway picks the least-loaded
 * worker for each job, so the fast worker does most of the jobs, and the
 * images are still those of a single-node run.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import {
  address, assertSameImages, errorTexts, jobRecords, jobsPerWorker, makeScan, reconstruct, startDelayProxy, type FakeWorker, type Scan,
} from './distributed-fixtures.js';

const CLOUD = 'Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml';

test('the fast worker does most of the jobs when the other is slow', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-balance-'));
  const servers: ServerProcess[] = [];
  let proxy: FakeWorker | undefined;
  t.after(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await proxy?.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const scan: Scan = await makeScan(dir, ['--matrix', '64', '--slices', '8', '--phases', '2', '--accel', '2', '--coils', '4']);
  const [single, fast, slow] = await Promise.all([startGantryServer(), startGantryServer(), startGantryServer()]) as [ServerProcess, ServerProcess, ServerProcess];
  servers.push(single, fast, slow);
  const reference = await reconstruct(single.port, CLOUD, scan);
  proxy = await startDelayProxy(slow.port, 400);
  const gateway = await startGantryServer(['--workers', `${address(proxy.port)},${address(fast.port)}`, '--worker-slots', '1']);
  servers.push(gateway);
  const result = await reconstruct(gateway.port, CLOUD, scan);
  assert.deepEqual(errorTexts(result), []);
  assertSameImages(result.images, reference.images, 'with a slow worker');
  const perWorker = jobsPerWorker(jobRecords(gateway));
  const fastJobs = perWorker.get(address(fast.port)) ?? 0;
  const slowJobs = perWorker.get(address(proxy.port)) ?? 0;
  t.diagnostic(`jobs: fast ${fastJobs}, slow ${slowJobs}`);
  assert.equal(fastJobs + slowJobs, 8);
  assert.ok(fastJobs > slowJobs, `fast ${fastJobs}, slow ${slowJobs}`);
  assert.ok(fastJobs >= 6, `fast ${fastJobs}, slow ${slowJobs}`);
});
