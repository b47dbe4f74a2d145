/**
 * End to end over real TCP, with faulty workers: a worker killed with
 * SIGKILL mid-job, a worker that accepts and never answers, an address that
 * refuses connections, and a worker that reports an error. Every image still
 * arrives exactly once and bit-identical to a single-node run, the client is
 * told what happened, and the run with a hung worker ends within the worker
 * timeout plus one job time.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import {
  address, assertSameImages, errorTexts, jobRecords, makeScan, reconstruct, refusedPort, startErrorWorker, startSilentWorker,
  type FakeWorker, type ReconResult, type Scan,
} from './distributed-fixtures.js';

const CLOUD = 'Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml';
const PURE = 'distributed_image_default.xml';
const DEFAULT = 'distributed_default.xml';

test('distributed runs survive faulty workers with every image once, as on a single node', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-faults-'));
  const servers: ServerProcess[] = [];
  const fakes: FakeWorker[] = [];
  t.after(async () => {
    await Promise.allSettled(servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null).map((s) => s.stop()));
    await Promise.allSettled(fakes.map((f) => f.close()));
    rmSync(dir, { recursive: true, force: true });
  });
  const scan: Scan = await makeScan(dir, ['--matrix', '64', '--slices', '4', '--phases', '4', '--repetitions', '2', '--accel', '2', '--coils', '4']);
  const [single, worker] = await Promise.all([startGantryServer(), startGantryServer()]) as [ServerProcess, ServerProcess];
  servers.push(single, worker);
  const reference = new Map<string, ReconResult>();
  for (const config of [CLOUD, PURE, DEFAULT]) reference.set(config, await reconstruct(single.port, config, scan));

  const gatewayWith = async (workers: string[], extra: string[] = []): Promise<ServerProcess> => {
    const gateway = await startGantryServer(['--workers', workers.join(','), ...extra]);
    servers.push(gateway);
    return gateway;
  };
  const check = (result: ReconResult, config: string, what: string): void => {
    assert.deepEqual(errorTexts(result), [], `${what}: errors reported`);
    assertSameImages(result.images, reference.get(config)?.images ?? [], what);
  };

  await t.test('a worker killed with SIGKILL mid-job', async () => {
    const victim = await startGantryServer();
    servers.push(victim);
    const gateway = await gatewayWith([address(victim.port), address(worker.port)], ['--worker-timeout', '10']);
    let killed = false;
    const watch = setInterval(() => {
      if (!killed && victim.logs().includes('"session started"')) {
        killed = true;
        victim.child.kill('SIGKILL');
      }
    }, 2);
    try {
      for (const config of [CLOUD, DEFAULT]) {
        const result = await reconstruct(gateway.port, config, scan);
        check(result, config, `${config} with a worker killed mid-job`);
        if (config === CLOUD) {
          assert.ok(killed, 'the victim never got a job');
          assert.ok(result.texts.some((x) => /WARNING: job \d+ \(slice=\d\) failed on worker .*; replaying it on worker/.test(x)),
            `the client was not told: ${result.texts.join(' | ')}`);
        }
      }
    } finally {
      clearInterval(watch);
    }
    const records = jobRecords(gateway);
    assert.ok(records.some((r) => r.worker === address(victim.port) && r.outcome === 'failed'), 'no failed attempt on the victim');
  });

  await t.test('a worker that accepts and never answers', async () => {
    const silent = await startSilentWorker();
    fakes.push(silent);
    const timeoutS = 2;
    const gateway = await gatewayWith([address(silent.port), address(worker.port)], ['--worker-timeout', String(timeoutS)]);
    const result = await reconstruct(gateway.port, CLOUD, scan);
    check(result, CLOUD, 'with a silent worker');
    assert.ok(silent.connections > 0, 'the silent worker got no job');
    assert.ok(result.texts.some((x) => /made no progress for 2\.0 s; replaying it/.test(x)), `the client was not told: ${result.texts.join(' | ')}`);
    const bound = timeoutS * 1000 + (reference.get(CLOUD)?.ms ?? 0) + 3_000;
    assert.ok(result.ms < bound, `the run took ${Math.round(result.ms)} ms; the bound is ${Math.round(bound)} ms`);
    assert.ok(jobRecords(gateway).some((r) => r.worker === address(silent.port) && r.outcome === 'timeout'));
    t.diagnostic(`silent worker: ${Math.round(result.ms)} ms (single node ${Math.round(reference.get(CLOUD)?.ms ?? 0)} ms, timeout ${timeoutS} s)`);
  });

  await t.test('a worker address that refuses connections', async () => {
    const refused = await refusedPort();
    const gateway = await gatewayWith([address(refused), address(worker.port)], ['--worker-connect-timeout', '2']);
    for (const config of [CLOUD, PURE]) {
      const result = await reconstruct(gateway.port, config, scan);
      check(result, config, `${config} with a refused address`);
    }
    assert.ok(jobRecords(gateway).every((r) => r.outcome === 'ok' || (r.outcome === 'connect-failed' && r.worker === address(refused))));
  });

  await t.test('a worker that reports an error', async () => {
    const failing = await startErrorWorker();
    fakes.push(failing);
    for (const config of [CLOUD, PURE]) {
      // A fresh gateway per config: a worker that failed stays out of its pool for a while.
      const gateway = await gatewayWith([address(failing.port), address(worker.port)]);
      const result = await reconstruct(gateway.port, config, scan);
      check(result, config, `${config} with a failing worker`);
      assert.ok(result.texts.some((x) => /WARNING: .*boom.*replaying/.test(x)), `${config}: the client was not told: ${result.texts.join(' | ')}`);
    }
    assert.ok(failing.connections > 0);
  });

  await t.test('only failing workers: the jobs run in the gateway', async () => {
    const failing = await startErrorWorker(0);
    fakes.push(failing);
    for (const config of [CLOUD, PURE]) {
      const gateway = await gatewayWith([address(failing.port)]);
      const result = await reconstruct(gateway.port, config, scan);
      check(result, config, `${config} with only a failing worker`);
      assert.ok(result.texts.some((x) => /replaying (it|them) (in-process|elsewhere)/.test(x)), `${config}: ${result.texts.join(' | ')}`);
      if (config === CLOUD) assert.ok(jobRecords(gateway).some((r) => r.worker === 'local' && r.outcome === 'ok'));
    }
  });
});
