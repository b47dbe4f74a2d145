/** Worker pool: Gadgetron's load metric, exclusion, health and back-off, refresh, warnings. */
import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { silentLogger } from '../util/logger.js';
import { createDiscoverySources } from './discovery/sources.js';
import { createWorkerPool, tcpProbe, type DiscoveringWorkerPool, type DiscoverySource, type WorkerPoolOptions } from './worker-pool.js';

class ListSource implements DiscoverySource {
  calls = 0;
  failure: Error | undefined;
  constructor(readonly name: string, public workers: { host: string; port: number }[]) {}
  discover(): Promise<{ host: string; port: number }[]> {
    this.calls++;
    return this.failure ? Promise.reject(this.failure) : Promise.resolve(this.workers.map((w) => ({ ...w })));
  }
}

interface Harness {
  pool: DiscoveringWorkerPool;
  clock: { now: number };
  probes: string[];
  probeAnswer: { ok: boolean };
}

async function harness(t: { after: (fn: () => Promise<void>) => void }, sources: DiscoverySource[], options: Partial<WorkerPoolOptions> = {}): Promise<Harness> {
  const clock = { now: 1_000 };
  const probes: string[] = [];
  const probeAnswer = { ok: false };
  const pool = createWorkerPool({
    sources,
    refreshMs: 0,
    log: silentLogger,
    now: () => clock.now,
    probe: (w) => {
      probes.push(w.id);
      return Promise.resolve(probeAnswer.ok);
    },
    ...options,
  });
  t.after(() => pool.close());
  await pool.ready(2_000);
  return { pool, clock, probes, probeAnswer };
}

const ids = (pool: DiscoveringWorkerPool): string[] => pool.snapshot().map((w) => w.id);

test('pool picks the least loaded worker with Gadgetron\'s metric, ties by active jobs then id', async (t) => {
  const { pool, clock } = await harness(t, [new ListSource('static', [{ host: 'b', port: 1 }, { host: 'a', port: 1 }])]);
  assert.deepEqual(ids(pool), ['a:1', 'b:1']);
  assert.equal(pool.pick()?.id, 'a:1');
  pool.jobStarted('a:1');
  assert.equal(pool.pick()?.id, 'b:1');
  pool.jobStarted('b:1');
  assert.equal(pool.pick()?.id, 'a:1');
  clock.now += 6_000;
  pool.jobStarted('a:1');
  assert.equal(pool.pick()?.id, 'b:1', 'a: 2 jobs × 6000 ms > b: 1 job × 6000 ms');
  const a = pool.snapshot().find((w) => w.id === 'a:1')!;
  assert.equal(a.activeJobs, 2);
  assert.equal(a.source, 'static');
  assert.equal(a.healthy, true);
  assert.equal(a.lastJobMs, undefined);
});

test('pool never picks an excluded worker and answers undefined when all are excluded', async (t) => {
  const { pool } = await harness(t, [new ListSource('static', [{ host: 'a', port: 1 }, { host: '::1', port: 2 }])]);
  assert.deepEqual(ids(pool), ['[::1]:2', 'a:1']);
  assert.equal(pool.pick(new Set(['[::1]:2']))?.id, 'a:1');
  const picked = pool.pick(new Set(['a:1']));
  assert.deepEqual(picked, { id: '[::1]:2', host: '::1', port: 2 });
  assert.equal(pool.pick(new Set(['a:1', '[::1]:2'])), undefined);
});

test('pool learns job times and steers work away from a slow worker', async (t) => {
  const { pool, clock } = await harness(t, [new ListSource('static', [{ host: 'fast', port: 1 }, { host: 'slow', port: 1 }])]);
  for (const id of ['fast:1', 'slow:1']) pool.jobStarted(id);
  clock.now += 100;
  pool.jobFinished('fast:1', true, 100);
  clock.now += 9_900;
  pool.jobFinished('slow:1', true, 10_000);
  const counts = new Map<string, number>();
  for (let i = 0; i < 20; i++) {
    const worker = pool.pick()!;
    counts.set(worker.id, (counts.get(worker.id) ?? 0) + 1);
    pool.jobStarted(worker.id);
    clock.now += 10;
  }
  assert.equal(counts.get('slow:1'), 1, 'the idle slow worker takes one job, then its 10 s estimate keeps it out');
  assert.equal(counts.get('fast:1'), 19);
  const fast = pool.snapshot().find((w) => w.id === 'fast:1')!;
  assert.equal(fast.completedJobs, 1);
  assert.equal(fast.lastJobMs, 100);
  pool.jobFinished('fast:1', false, 5);
  assert.equal(pool.snapshot().find((w) => w.id === 'fast:1')!.failedJobs, 1);
  assert.equal(pool.snapshot().find((w) => w.id === 'fast:1')!.lastJobMs, 100, 'failed jobs do not teach job times');
});

test('a connect failure makes a worker unhealthy; it is retried after an exponential back-off and recovers', async (t) => {
  const { pool, clock, probes, probeAnswer } = await harness(t, [new ListSource('static', [{ host: 'a', port: 1 }, { host: 'b', port: 1 }])]);
  pool.jobStarted('b:1');
  pool.connectFailed('a:1');
  assert.equal(pool.snapshot()[0]!.healthy, false);
  assert.equal(pool.pick()?.id, 'b:1', 'a busy healthy worker beats an unhealthy idle one');
  const onlyA = new Set(['b:1']);
  assert.equal(pool.pick(onlyA), undefined, 'not before the 1 s back-off');
  clock.now += 1_000;
  assert.equal(pool.pick(onlyA)?.id, 'a:1', 'one trial when no healthy worker is left');
  assert.equal(pool.pick(onlyA), undefined, 'one trial per back-off period');
  pool.connectFailed('a:1');
  clock.now += 1_999;
  assert.equal(pool.pick(onlyA), undefined, 'second back-off is 2 s');
  clock.now += 1;
  await pool.refresh();
  assert.deepEqual(probes, ['a:1'], 'a refresh probes workers whose back-off has elapsed');
  assert.equal(pool.snapshot()[0]!.healthy, false);
  clock.now += 3_999;
  await pool.refresh();
  assert.deepEqual(probes, ['a:1'], 'a failed probe doubles the back-off (4 s)');
  clock.now += 1;
  probeAnswer.ok = true;
  await pool.refresh();
  assert.deepEqual(probes, ['a:1', 'a:1']);
  assert.equal(pool.snapshot()[0]!.healthy, true);
  assert.equal(pool.pick()?.id, 'a:1');
});

test('back-off grows to 30 s at most and a finished job also restores health', async (t) => {
  const { pool, clock } = await harness(t, [new ListSource('static', [{ host: 'a', port: 1 }])]);
  for (let i = 0; i < 12; i++) pool.connectFailed('a:1');
  clock.now += 29_999;
  assert.equal(pool.pick(), undefined);
  clock.now += 1;
  assert.equal(pool.pick()?.id, 'a:1');
  pool.jobStarted('a:1');
  assert.equal(pool.snapshot()[0]!.healthy, false);
  pool.jobFinished('a:1', true, 50);
  assert.equal(pool.snapshot()[0]!.healthy, true);
  pool.connectFailed('a:1');
  clock.now += 1_000;
  assert.equal(pool.pick()?.id, 'a:1', 'failures reset after a success: back to 1 s');
});

test('refresh adds new workers and drops vanished ones, keeping those with running jobs until they finish', async (t) => {
  const source = new ListSource('relay', [{ host: 'a', port: 1 }, { host: 'b', port: 1 }]);
  const other = new ListSource('static', [{ host: 'b', port: 1 }]);
  const { pool } = await harness(t, [source, other]);
  assert.deepEqual(pool.snapshot().map((w) => [w.id, w.source]), [['a:1', 'relay'], ['b:1', 'relay,static']]);
  pool.jobStarted('a:1');
  source.workers = [{ host: 'c', port: 1 }];
  await pool.refresh();
  assert.deepEqual(pool.snapshot().map((w) => [w.id, w.source]), [['a:1', 'removed'], ['b:1', 'static'], ['c:1', 'relay']]);
  assert.notEqual(pool.pick(new Set(['b:1', 'c:1']))?.id, 'a:1');
  pool.jobFinished('a:1', true, 10);
  assert.deepEqual(ids(pool), ['b:1', 'c:1']);
  other.workers = [];
  await pool.refresh();
  assert.deepEqual(ids(pool), ['c:1']);
  assert.deepEqual(pool.takeWarnings(), []);
});

test('an empty pool looks again when asked for a worker, at most every 5 s', async (t) => {
  const source = new ListSource('relay', []);
  const { pool, clock } = await harness(t, [source]);
  assert.equal(source.calls, 1);
  source.workers = [{ host: 'late', port: 1 }];
  clock.now += 4_999;
  assert.equal(pool.pick(), undefined);
  assert.equal(source.calls, 1);
  clock.now += 1;
  assert.equal(pool.pick(), undefined, 'the refresh runs in the background');
  await pool.refresh();
  assert.equal(source.calls, 2);
  assert.equal(pool.pick()?.id, 'late:1');
  pool.jobStarted('late:1');
  clock.now += 60_000;
  assert.equal(pool.pick(new Set(['late:1'])), undefined);
  await pool.refresh();
  assert.equal(source.calls, 3, 'a pool with workers is not refreshed by pick()');
});

test('a failing source keeps its last list for a while, with a warning', async (t) => {
  const source = new ListSource('command', [{ host: 'a', port: 1 }]);
  const { pool, clock } = await harness(t, [source], { staleMs: 60_000 });
  source.failure = new Error('Failed executing remote worker command: boom');
  clock.now += 10_000;
  await pool.refresh();
  assert.deepEqual(ids(pool), ['a:1']);
  assert.deepEqual(pool.takeWarnings(), ['worker discovery via command failed: Failed executing remote worker command: boom; using its list from 10 s ago']);
  assert.deepEqual(pool.takeWarnings(), [], 'drained while workers remain');
  clock.now += 60_000;
  await pool.refresh();
  assert.deepEqual(ids(pool), []);
  assert.deepEqual(pool.takeWarnings(), [
    'worker discovery via command failed: Failed executing remote worker command: boom',
    'no workers found; computing locally',
  ]);
  assert.deepEqual(pool.takeWarnings(), [
    'worker discovery via command failed: Failed executing remote worker command: boom',
    'no workers found; computing locally',
  ], 'while the pool is empty every caller learns why it computes locally');
});

test('empty or failed discovery leaves the pool empty and says so', async (t) => {
  const none = await harness(t, []);
  assert.equal(none.pool.pick(), undefined);
  assert.match(none.pool.takeWarnings().join('\n'), /no workers found \(no discovery configured.*\); computing locally/);

  const env = { GADGETRON_REMOTE_WORKER_COMMAND: 'echo []', PATH: process.env.PATH };
  const empty = await harness(t, createDiscoverySources({ env }));
  assert.equal(empty.pool.pick(), undefined);
  const warnings = empty.pool.takeWarnings();
  assert.equal(warnings.length, 2);
  assert.match(warnings[0]!, /^worker discovery via command failed: Failed to parse worker list from discovery command: "\[\]\\n"/);
  assert.equal(warnings[1], 'no workers found; computing locally');

  const missing = await harness(t, createDiscoverySources({ env: { ...env, GADGETRON_REMOTE_WORKER_COMMAND: 'gantry-no-such-command' } }));
  assert.match(missing.pool.takeWarnings()[0]!, /Failed executing remote worker command: executable "gantry-no-such-command" not found/);
});

test('the test harness command fills the pool', async (t) => {
  const env = { GADGETRON_REMOTE_WORKER_COMMAND: 'echo ["127.0.0.1:9050", "localhost:9051"]', PATH: process.env.PATH };
  const { pool } = await harness(t, createDiscoverySources({ env }));
  assert.deepEqual(pool.snapshot().map((w) => [w.id, w.host, w.port, w.source]), [
    ['127.0.0.1:9050', '127.0.0.1', 9050, 'command'],
    ['localhost:9051', 'localhost', 9051, 'command'],
  ]);
  assert.deepEqual(pool.takeWarnings(), []);
});

test('this server\'s own endpoint is never a worker; a list of only itself means local compute without a warning', async (t) => {
  const source = new ListSource('command', [{ host: '127.0.0.1', port: 9002 }, { host: 'localhost', port: 9002 }, { host: '10.9.9.9', port: 9002 }, { host: '127.0.0.1', port: 9003 }]);
  const { pool } = await harness(t, [source], { self: [{ host: '0.0.0.0', port: 9002 }] });
  assert.deepEqual(ids(pool), ['10.9.9.9:9002', '127.0.0.1:9003']);
  const alone = new ListSource('command', [{ host: 'LOCALHOST', port: 9002 }]);
  const single = await harness(t, [alone], { self: [{ host: '127.0.0.1', port: 9002 }] });
  assert.deepEqual(ids(single.pool), []);
  assert.deepEqual(single.pool.takeWarnings(), []);
});

test('ready() is bounded when discovery hangs, and close() ends the hanging round', async () => {
  const hanging: DiscoverySource = { name: 'relay', discover: () => new Promise(() => undefined) };
  const pool = createWorkerPool({ sources: [hanging], refreshMs: 0, log: silentLogger });
  const started = Date.now();
  await pool.ready(50);
  assert.ok(Date.now() - started < 1_000);
  assert.deepEqual(pool.takeWarnings(), ['worker discovery is still running after 50 ms; computing locally']);
  await pool.close();
  assert.ok(Date.now() - started < 2_000);
});

test('a hanging source is cut off by the round deadline', async (t) => {
  const hanging: DiscoverySource = { name: 'dns', discover: () => new Promise(() => undefined) };
  const { pool } = await harness(t, [hanging, new ListSource('static', [{ host: 'a', port: 1 }])], { discoveryTimeoutMs: 50 });
  assert.deepEqual(ids(pool), ['a:1']);
  assert.deepEqual(pool.takeWarnings(), ['worker discovery via dns failed: no answer within 50 ms']);
});

test('discovery is refreshed periodically', async (t) => {
  const source = new ListSource('static', [{ host: 'a', port: 1 }]);
  const pool = createWorkerPool({ sources: [source], refreshMs: 20, log: silentLogger });
  t.after(() => pool.close());
  await pool.ready();
  source.workers = [{ host: 'b', port: 1 }];
  const started = Date.now();
  while (ids(pool)[0] !== 'b:1' && Date.now() - started < 2_000) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(ids(pool), ['b:1']);
  assert.ok(source.calls >= 2);
});

test('the TCP probe connects, sends CLOSE, and fails on a closed port', async (t) => {
  const received: Buffer[] = [];
  const server = createServer((socket: Socket) => socket.on('data', (d: Buffer) => received.push(d)));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const { port } = server.address() as AddressInfo;
  const probe = tcpProbe(1_000);
  const signal = new AbortController().signal;
  assert.equal(await probe({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port }, signal), true);
  const started = Date.now();
  while (received.length === 0 && Date.now() - started < 2_000) await new Promise((resolve) => setTimeout(resolve, 10));
  assert.deepEqual(Buffer.concat(received), Buffer.from([4, 0]));
  const closed = createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const dead = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  assert.equal(await probe({ id: `127.0.0.1:${dead}`, host: '127.0.0.1', port: dead }, signal), false);
});
