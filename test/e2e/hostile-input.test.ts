/**
 * Hostile input while good sessions run: a seeded fast-check fuzzer sends
 * thousands of malformed frame sequences and configs on parallel
 * connections; slow-loris and half-open connections; a 4 GiB length field;
 * a billion-sample claim; path traversal in config names; XML bombs in the
 * config and in the ISMRMRD header; a session over its byte budget. Every
 * good session's images equal the reference, /livez answers throughout, and
 * every bad connection gets a `[location] ERROR:` text and CLOSE (or is
 * closed) within its timeout.
 *
 * GANTRY_FUZZ_RUNS sets the number of fuzz cases (default 2000), and
 * GANTRY_FUZZ_SEED the seed (default 20261123); a failure names the case.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { concatChunks } from '../../src/protocol/index.js';
import { CONNECT_TIMEOUT_MS, IDLE_TIMEOUT_MS, SESSION_TIMEOUT_MS, SLACK_MS, fuzzCases, hostileCases } from './hostile-input-cases.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { exchange, loadDataset, nrmse, reconSession, type ExchangeResult, type SessionResult } from '../helpers/recon-session.js';

const FUZZ_RUNS = Number(process.env['GANTRY_FUZZ_RUNS'] ?? 2000);
const FUZZ_SEED = Number(process.env['GANTRY_FUZZ_SEED'] ?? 20261123);
const FUZZ_PARALLEL = 8;
/** Server flags: small timeouts and budgets so that hostile clients meet them within the test. */
const SERVER_FLAGS = [
  '--connect-timeout', String(CONNECT_TIMEOUT_MS), '--idle-timeout', String(IDLE_TIMEOUT_MS), '--session-timeout', String(SESSION_TIMEOUT_MS),
  '--session-max-bytes', '8MiB', '--session-memory-budget', '256MiB', '--max-sessions', '256', '--no-storage',
];

function livezPoller(httpPort: number): { stop(): Promise<{ polls: number; failures: string[]; maxMs: number }> } {
  let running = true;
  let polls = 0;
  let maxMs = 0;
  const failures: string[] = [];
  const loop = (async () => {
    while (running) {
      const started = performance.now();
      try {
        const res = await fetch(`http://127.0.0.1:${httpPort}/livez`, { signal: AbortSignal.timeout(5000) });
        await res.text();
        if (res.status !== 200) failures.push(`status ${res.status}`);
      } catch (err) {
        failures.push(err instanceof Error ? err.message : String(err));
      }
      polls += 1;
      maxMs = Math.max(maxMs, performance.now() - started);
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { polls, failures, maxMs };
    },
  };
}

function assertSameImages(result: SessionResult, reference: SessionResult, what: string): void {
  assert.ok(result.closed, `${what}: CLOSE received`);
  assert.deepEqual(result.texts, [], `${what}: no error texts`);
  assert.equal(result.images.length, reference.images.length, `${what}: all images`);
  for (const [i, image] of result.images.entries()) {
    const ref = reference.images[i];
    assert.ok(ref);
    assert.deepEqual(image.head, ref.head, `${what}: image ${i} header`);
    assert.ok(nrmse(image.data, ref.data) <= 1e-6, `${what}: image ${i} pixels (NRMSE ${nrmse(image.data, ref.data)})`);
  }
}

function assertAnswered(r: ExchangeResult, what: string, withinMs: number): void {
  assert.ok(r.closed || r.ended, `${what}: the server answered with CLOSE or closed the connection (texts ${JSON.stringify(r.texts)})`);
  assert.ok(r.texts.every((x) => /^\[[^\]]+\] (ERROR|WARNING): /.test(x)), `${what}: only located error texts, got ${JSON.stringify(r.texts)}`);
  assert.ok(r.ms <= withinMs, `${what}: answered in ${r.ms.toFixed(0)} ms, over ${withinMs} ms`);
}

test('hostile input: clear errors at their limits, while good sessions and /livez go on', { timeout: 600_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-hostile-'));
  let server: ServerProcess | undefined;
  try {
    const file = join(dir, 'phantom.h5');
    const made = await runGantry(['phantom', '-o', file, '--matrix', '64', '--coils', '4', '--repetitions', '2']);
    assert.equal(made.code, 0, made.stderr);
    const data = loadDataset(file);
    server = await startGantryServer(SERVER_FLAGS);
    const port = server.port;
    assert.ok(server.httpPort, 'the HTTP side runs');
    const reference = await reconSession(port, { name: 'default.xml' }, data);
    assert.deepEqual(reference.texts, []);
    assert.equal(reference.images.length, 2);

    const livez = livezPoller(server.httpPort);
    let hostileDone = false;
    const goodSessions = (async () => {
      const results: SessionResult[] = [];
      while (!hostileDone || results.length === 0) results.push(await reconSession(port, { name: 'default.xml' }, data, 120_000));
      return results;
    })();

    const named = hostileCases(data);
    const namedRuns = Promise.all(named.map((c) => exchange(port, c.chunks, { halfClose: false, ...c.options })));
    namedRuns.catch(() => undefined); // awaited below
    goodSessions.catch(() => undefined);

    const cases = fc.sample(fuzzCases(data), { seed: FUZZ_SEED, numRuns: FUZZ_RUNS });
    const fuzzFailures: string[] = [];
    let next = 0;
    const fuzzStarted = performance.now();
    let slowest = 0;
    await Promise.all(Array.from({ length: FUZZ_PARALLEL }, async () => {
      while (next < cases.length) {
        const index = next++;
        const chunks = cases[index] as Uint8Array[];
        const r = await exchange(port, chunks, { halfClose: true, waitMs: 30_000 });
        slowest = Math.max(slowest, r.ms);
        try {
          assertAnswered(r, `fuzz case ${index}`, IDLE_TIMEOUT_MS + SLACK_MS);
        } catch (err) {
          const head = Buffer.from(concatChunks(chunks).subarray(0, 64)).toString('hex');
          fuzzFailures.push(`case ${index} (seed ${FUZZ_SEED}, first bytes ${head}): ${err instanceof Error ? err.message : String(err)}`);
        }
      }
    }));
    const fuzzMs = performance.now() - fuzzStarted;
    const namedResults = await namedRuns;
    hostileDone = true;
    const good = await goodSessions;
    const live = await livez.stop();
    t.diagnostic(`hostile: ${cases.length} fuzz connections in ${(fuzzMs / 1000).toFixed(1)} s (slowest ${slowest.toFixed(0)} ms), `
      + `${named.length} named hostile connections, ${good.length} good sessions, /livez ${live.polls} polls (slowest ${live.maxMs.toFixed(0)} ms)`);

    await t.test('fuzzed connections each get a located error and CLOSE', () => {
      assert.deepEqual(fuzzFailures.slice(0, 5), [], `${fuzzFailures.length} of ${cases.length} cases failed`);
    });
    for (const [i, c] of named.entries()) {
      await t.test(c.name, () => {
        const r = namedResults[i] as ExchangeResult;
        assertAnswered(r, c.name, c.withinMs);
        assert.ok(r.texts.some((x) => c.expect.test(x)), `expected ${c.expect} in ${JSON.stringify(r.texts)}`);
        assert.ok(r.closed, 'CLOSE after the error');
      });
    }
    await t.test('good sessions all completed with the reference images', () => {
      for (const [i, g] of good.entries()) assertSameImages(g, reference, `good session ${i}`);
    });
    await t.test('/livez answered throughout', () => {
      assert.ok(live.polls >= 4, `polled ${live.polls} times`);
      assert.deepEqual(live.failures, []);
    });
    assert.equal(server.child.exitCode, null, 'the server is still running');
  } finally {
    if (server && server.child.exitCode !== null) process.stdout.write(`# the server exited ${server.child.exitCode}:\n${server.stderr().slice(-4000).replace(/^/gm, '# ')}\n`);
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test('past --max-sessions, the next client gets a clear error and CLOSE', { timeout: 60_000 }, async () => {
  let server: ServerProcess | undefined;
  const held: Socket[] = [];
  try {
    server = await startGantryServer(['--max-sessions', '2', '--connect-timeout', '20000', '--no-storage']);
    const port = server.port;
    for (let i = 0; i < 2; i++) {
      const socket = connect({ host: '127.0.0.1', port });
      socket.on('error', () => undefined);
      await once(socket, 'connect');
      held.push(socket);
    }
    await new Promise((r) => setTimeout(r, 200));
    const r = await exchange(port, [], { waitMs: 10_000 });
    assert.ok(r.closed, 'CLOSE');
    assert.deepEqual(r.texts, ['[Connection Main Thread] ERROR: Server busy: 2 sessions are running; try again later']);
    for (const s of held.splice(0)) s.destroy();
    await new Promise((r) => setTimeout(r, 500));
    const after = await exchange(port, [Uint8Array.of(4, 0)], { waitMs: 10_000 });
    assert.ok(after.closed && after.texts.length === 0, `a slot is free again: ${JSON.stringify(after.texts)}`);
  } finally {
    for (const s of held) s.destroy();
    await server?.stop();
  }
});
