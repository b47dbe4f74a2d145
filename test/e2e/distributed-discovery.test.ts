/**
 * End to end over real TCP: the discovery paths of `gantry serve` not
 * covered by the other distributed tests, each with a real worker process
 * and images checked bit for bit against a single node:
 *
 * - GADGETRON_REMOTE_WORKER_COMMAND (Gadgetron's discovery command);
 * - GADGETRON_RELAY_HOST in the environment (no --relay flag): the worker
 *   registers with the relay, the gateway lists it from there, and the
 *   worker deregisters when it shuts down;
 * - --dns-workers localhost:PORT (A/AAAA lookup; `localhost` comes from the
 *   system resolver, as /etc/hosts names and short names in a pod do);
 * - --dns-workers with an SRV name that has no records, and a discovery
 *   command that fails: the jobs run in the gateway and the client is told.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JobRecord } from '../../src/distributed/nodes/types.js';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import {
  address, assertSameImages, errorTexts, jobRecords, makeScan, poolLogged, reconstruct, startRelay, waitUntil,
  type ReconResult, type RelayProcess, type Scan,
} from './distributed-fixtures.js';

/** `<distributed>`, one job per repetition, none in the gateway while a worker is available. */
const V2 = 'distributed_default.xml';
const LOCAL_WARNING = /WARNING: .*no remote worker is available; running the distributed jobs in-process/;

async function relayWorkers(relay: RelayProcess): Promise<string[]> {
  const answer = await fetch(`${relay.url.replace(/\/$/, '')}/cloudbus/workers`, { signal: AbortSignal.timeout(5_000) });
  assert.equal(answer.status, 200);
  return (await answer.json()) as string[];
}

test('workers found through the discovery command, GADGETRON_RELAY_HOST and DNS; empty or failed discovery computes locally with a warning', { timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-discovery-'));
  const servers: ServerProcess[] = [];
  let relay: RelayProcess | undefined;
  t.after(async () => {
    await Promise.allSettled(servers.filter((s) => s.child.exitCode === null && s.child.signalCode === null).map((s) => s.stop()));
    await relay?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const scan: Scan = await makeScan(dir, ['--matrix', '64', '--slices', '2', '--phases', '2', '--repetitions', '2', '--accel', '2', '--coils', '4']);
  const [single, worker] = await Promise.all([startGantryServer(), startGantryServer()]) as [ServerProcess, ServerProcess];
  servers.push(single, worker);
  const reference: ReconResult = await reconstruct(single.port, V2, scan);
  assert.deepEqual(errorTexts(reference), []);

  /** Reconstructs through `gateway`; returns the result and the job attempts of this run that succeeded. */
  const run = async (gateway: ServerProcess): Promise<{ result: ReconResult; ok: JobRecord[] }> => {
    const before = jobRecords(gateway).length;
    const result = await reconstruct(gateway.port, V2, scan);
    return { result, ok: jobRecords(gateway).slice(before).filter((r) => r.outcome === 'ok') };
  };
  /** The gateway's run used the worker for every job, gave the single-node images and warned of nothing. */
  const assertOnWorker = ({ result, ok }: { result: ReconResult; ok: JobRecord[] }, workerPort: number, what: string): void => {
    assert.deepEqual(errorTexts(result), [], what);
    assert.deepEqual(result.texts.filter((x) => /WARNING/.test(x)), [], `${what}: unexpected warnings`);
    assertSameImages(result.images, reference.images, what);
    assert.equal(ok.length, 2, `${what}: ${JSON.stringify(ok)}`);
    assert.ok(ok.every((r) => r.worker === address(workerPort)), `${what}: jobs ran on ${ok.map((r) => r.worker).join(', ')}`);
  };
  /** The gateway computed everything itself, told the client so, and gave the single-node images. */
  const assertLocal = ({ result, ok }: { result: ReconResult; ok: JobRecord[] }, what: string, reason?: RegExp): void => {
    assert.deepEqual(errorTexts(result), [], what);
    const warning = result.texts.find((x) => LOCAL_WARNING.test(x));
    assert.ok(warning, `${what}: the client was not told that the jobs run locally: ${result.texts.join(' | ')}`);
    if (reason) assert.match(warning, reason, what);
    assertSameImages(result.images, reference.images, what);
    assert.ok(ok.length === 2 && ok.every((r) => r.worker === 'local'), `${what}: ${JSON.stringify(ok)}`);
  };

  await t.test('GADGETRON_REMOTE_WORKER_COMMAND lists the worker', async () => {
    const gateway = await startGantryServer([], 15_000, { GADGETRON_REMOTE_WORKER_COMMAND: `echo ["127.0.0.1:${worker.port}"]` });
    servers.push(gateway);
    assertOnWorker(await run(gateway), worker.port, 'worker command');
  });

  await t.test('GADGETRON_RELAY_HOST: the worker registers with the relay, the gateway finds it there, and it deregisters on shutdown', async () => {
    relay = await startRelay();
    // As Gadgetron's deployments set it: host:port, no scheme.
    const env = { GADGETRON_RELAY_HOST: relay.url.replace(/^http:\/\//, '').replace(/\/$/, '') };
    assert.match(env.GADGETRON_RELAY_HOST, /^127\.0\.0\.1:\d+$/);
    const registered = await startGantryServer(['--relay-interval', '0.2'], 15_000, env);
    servers.push(registered);
    const key = `[127.0.0.1]:${registered.port}`;
    const listed = async (): Promise<boolean> => (await relayWorkers(relay as RelayProcess)).includes(key);
    const start = performance.now();
    while (!(await listed())) {
      assert.ok(performance.now() - start < 10_000, `the worker never registered: ${JSON.stringify(await relayWorkers(relay))}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const gateway = await startGantryServer(['--relay-interval', '0.2', '--discovery-interval', '0.2'], 15_000, env);
    servers.push(gateway);
    await waitUntil(() => poolLogged(gateway, 'worker discovered', address(registered.port)), 'the gateway to find the worker through the relay');
    assert.ok(gateway.logs().includes('"sources":["relay"]'), 'the gateway did not take the relay from GADGETRON_RELAY_HOST');
    assertOnWorker(await run(gateway), registered.port, 'GADGETRON_RELAY_HOST');
    assert.ok(!poolLogged(gateway, 'worker discovered', address(gateway.port)), 'the gateway listed itself as a worker');

    await registered.stop();
    assert.ok(!(await listed()), 'the worker did not deregister when it shut down');
    await waitUntil(() => poolLogged(gateway, 'worker left discovery', address(registered.port)), 'the gateway to drop the worker');
    assertLocal(await run(gateway), 'GADGETRON_RELAY_HOST after the worker left');
  });

  await t.test('--dns-workers localhost:PORT finds the worker by address lookup', async () => {
    const gateway = await startGantryServer(['--dns-workers', `localhost:${worker.port}`]);
    servers.push(gateway);
    assert.ok(gateway.logs().includes('"sources":["dns"]'));
    const { result, ok } = await run(gateway);
    // localhost may resolve to ::1 as well as 127.0.0.1; the worker listens on 127.0.0.1 only, so a ::1 attempt fails over.
    assert.deepEqual(errorTexts(result), []);
    assertSameImages(result.images, reference.images, '--dns-workers localhost');
    assert.ok(ok.length === 2 && ok.every((r) => r.worker === address(worker.port)), `jobs ran on ${ok.map((r) => r.worker).join(', ')}`);
  });

  await t.test('--dns-workers with an SRV name without records: local compute with a warning', async () => {
    const gateway = await startGantryServer(['--dns-workers', '_gadgetron._tcp.gantry-no-such-service.invalid']);
    servers.push(gateway);
    assertLocal(await run(gateway), 'SRV name without records');
  });

  await t.test('a failing discovery command: local compute, and the client is told why', async () => {
    const gateway = await startGantryServer([], 15_000, { GADGETRON_REMOTE_WORKER_COMMAND: 'gantry-no-such-discovery-command --list' });
    servers.push(gateway);
    assertLocal(await run(gateway), 'failing discovery command', /worker discovery via command failed: .*gantry-no-such-discovery-command/);
  });
});
