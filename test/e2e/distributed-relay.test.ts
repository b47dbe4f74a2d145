/**
 * End to end over real TCP with discovery through a relay: `gantry relay`,
 * workers started with `gantry serve --relay URL` and a gateway that finds
 * them there. During one scan a worker that joins gets work, and a worker
 * that shuts down (and so leaves the relay) gets no further jobs; the images
 * are those of a single-node run, each once.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import {
  address, assertSameImages, blockIndex, errorTexts, jobRecords, makeScan, poolLogged, reconstruct, startRelay, waitUntil,
  type RelayProcess, type Scan,
} from './distributed-fixtures.js';

const CLOUD = 'Generic_Cartesian_Grappa_RealTimeCine_Cloud.xml';

test('a gateway uses workers found by the relay; one joining mid-scan gets work, one leaving is dropped', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-relay-'));
  const servers: ServerProcess[] = [];
  let relay: RelayProcess | undefined;
  t.after(async () => {
    await Promise.allSettled(servers.map((s) => s.stop()));
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const scan: Scan = await makeScan(dir, ['--matrix', '64', '--slices', '4', '--phases', '4', '--repetitions', '2', '--accel', '2', '--coils', '4']);
  const single = await startGantryServer();
  servers.push(single);
  const reference = await reconstruct(single.port, CLOUD, scan);

  relay = await startRelay();
  const fast = ['--relay', relay.url, '--relay-interval', '0.2', '--discovery-interval', '0.2'];
  const first = await startGantryServer(fast);
  servers.push(first);
  const gateway = await startGantryServer([...fast, '--worker-slots', '1']);
  servers.push(gateway);
  await waitUntil(() => poolLogged(gateway, 'worker discovered', address(first.port)), 'the gateway to find the first worker');

  let joined: ServerProcess | undefined;
  const blocks = blockIndex(scan);
  const result = await reconstruct(gateway.port, CLOUD, scan, {
    beforeSend: async (i) => {
      const block = blocks[i] as number;
      if (block === 1 && !joined) {
        joined = await startGantryServer(fast);
        servers.push(joined);
        const id = address(joined.port);
        await waitUntil(() => poolLogged(gateway, 'worker discovered', id), 'the gateway to find the joining worker');
      }
      if (block === 4 && first.child.exitCode === null && first.child.signalCode === null && !first.child.killed) {
        first.child.kill('SIGTERM');
        await waitUntil(() => poolLogged(gateway, 'worker left discovery', address(first.port)), 'the gateway to drop the leaving worker');
      }
    },
  });
  assert.deepEqual(errorTexts(result), []);
  assertSameImages(result.images, reference.images, 'relay-discovered workers');
  assert.ok(joined);
  const records = jobRecords(gateway).filter((r) => r.outcome === 'ok');
  assert.equal(records.length, 8, JSON.stringify(records));
  assert.ok(records.every((r) => r.worker !== 'local'), 'a job ran in the gateway');
  assert.ok(records.some((r) => r.worker === address(first.port) && r.job === 1), 'the first job did not go to the first worker');
  assert.ok(records.some((r) => r.worker === address(joined?.port ?? 0) && r.job >= 2 && r.job <= 4), 'the joining worker got no work before the other left');
  assert.ok(records.filter((r) => r.job >= 5).every((r) => r.worker === address(joined?.port ?? 0)), `jobs went to the worker that left: ${JSON.stringify(records.map((r) => [r.job, r.worker]))}`);
});
