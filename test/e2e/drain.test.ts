/**
 * Graceful drain of `gantry serve` over real processes on 127.0.0.1, as
 * Kubernetes stops a pod: a session is kept in flight by a client that sends
 * a phantom scan slowly, the server gets SIGTERM, and
 * - /readyz answers 503 within 1 s, /livez still 200;
 * - new TCP connections are refused at once;
 * - the in-flight session goes on: all its images arrive, equal to an
 *   undisturbed run of the same scan, and the process exits 0;
 * - with a drain timeout shorter than the session, the client gets an error
 *   text naming the shutdown and CLOSE (never a silent cut), and the process
 *   still exits 0.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { parsePrometheusText, phantomScan, sampleValue, SteppedSession, waitFor, type Scan } from './http-fixtures.js';

const skip = missing([]);
const REPETITIONS = 6;

const repetition = (scan: Scan, rep: number): Scan['acquisitions'] => scan.acquisitions.filter((a) => a.head.idx.repetition === rep);
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function activeSessions(httpPort: number): Promise<number | undefined> {
  const res = await fetch(`http://127.0.0.1:${httpPort}/metrics`);
  return sampleValue(parsePrometheusText(await res.text()), 'mrd_sessions_active');
}

/** Resolves with the connect error code (e.g. ECONNREFUSED), or 'connected'. */
function tryConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve('connected');
    });
    socket.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? err.message));
  });
}

/** Sends SIGTERM; resolves with how long /readyz took to answer 503 (ms) and the exit promise. */
async function terminate(server: ServerProcess): Promise<{ readyzMs: number; exited: Promise<number | null> }> {
  const child = server.child;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const http = server.httpPort as number;
  const sent = Date.now();
  child.kill('SIGTERM');
  await waitFor('readyz 503', async () => ((await fetch(`http://127.0.0.1:${http}/readyz`)).status === 503 ? true : undefined), 5_000, 10);
  return { readyzMs: Date.now() - sent, exited };
}

test('gantry serve drains on SIGTERM', { skip, timeout: 60_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-drain-'));
  try {
    const scan = await phantomScan(dir, 'reps.h5', { matrix: 32, coils: 2, repetitions: REPETITIONS });

    await t.test('in-flight session finishes: readiness false within 1 s, new connections refused, all images, exit 0', async () => {
      const server = await startGantryServer(['--drain-timeout', '30000']);
      try {
        const http = server.httpPort as number;
        // the undisturbed run: the images the drained session must reproduce
        const reference = await SteppedSession.start(server.port, 'default.xml', scan.xml);
        await reference.send(scan.acquisitions);
        await reference.finish();
        assert.equal(reference.images.length, REPETITIONS);

        const running = await SteppedSession.start(server.port, 'default.xml', scan.xml);
        await running.send(repetition(scan, 0));
        await waitFor('one active session', async () => ((await activeSessions(http)) === 1 ? true : undefined));
        const { readyzMs, exited } = await terminate(server);
        assert.ok(readyzMs < 1000, `/readyz turned 503 after ${readyzMs} ms`);
        t.diagnostic(`/readyz answered 503 ${readyzMs} ms after SIGTERM`);
        const ready = (await (await fetch(`http://127.0.0.1:${http}/readyz`)).json()) as { ready: boolean; draining: boolean; activeSessions: number };
        assert.deepEqual([ready.ready, ready.draining, ready.activeSessions], [false, true, 1]);
        assert.equal((await fetch(`http://127.0.0.1:${http}/livez`)).status, 200, 'alive while draining');
        assert.equal(await tryConnect(server.port), 'ECONNREFUSED', 'the listener is closed');
        // the slow client goes on sending, one repetition at a time
        for (let rep = 1; rep < REPETITIONS; rep++) {
          await sleep(150);
          await running.send(repetition(scan, rep));
        }
        await running.finish();
        assert.deepEqual(running.texts.filter((x) => x.includes('ERROR')), []);
        assert.equal(running.images.length, REPETITIONS, 'every image of the in-flight session arrives');
        for (let i = 0; i < REPETITIONS; i++) {
          assert.deepEqual(running.images[i]?.data, reference.images[i]?.data, `image ${i} equals the undisturbed run`);
        }
        assert.equal(await exited, 0, 'exit code 0 after the drain');
        assert.match(server.logs(), /"msg":"shutting down"[^\n]*"signal":"SIGTERM"/);
      } finally {
        await server.stop();
      }
    });

    await t.test('drain timeout shorter than the session: error text and CLOSE, exit 0', async () => {
      const server = await startGantryServer(['--drain-timeout', '800']);
      try {
        const http = server.httpPort as number;
        const running = await SteppedSession.start(server.port, 'default.xml', scan.xml);
        await running.send(repetition(scan, 0));
        await waitFor('one active session', async () => ((await activeSessions(http)) === 1 ? true : undefined));
        const { readyzMs, exited } = await terminate(server);
        assert.ok(readyzMs < 1000, `/readyz turned 503 after ${readyzMs} ms`);
        assert.equal(await tryConnect(server.port), 'ECONNREFUSED');
        // a client far slower than the drain timeout
        let sendError: unknown;
        for (let rep = 1; rep < REPETITIONS && !running.closed; rep++) {
          await sleep(400);
          if (running.closed) break;
          try {
            await running.send(repetition(scan, rep));
          } catch (err) {
            sendError = err;
            break;
          }
        }
        await waitFor('the server CLOSE', () => (running.closed ? true : undefined), 10_000);
        running.abort();
        const errors = running.texts.filter((x) => x.includes('ERROR'));
        assert.equal(errors.length, 1, `one error text, got ${JSON.stringify(running.texts)} (send error: ${String(sendError)})`);
        assert.match(errors[0] as string, /^\[Connection Main Thread\] ERROR: Server shutting down: the session did not finish within the drain timeout \(800 ms\)/);
        assert.ok(running.images.length < REPETITIONS, 'the session was cut');
        assert.equal(await exited, 0, 'exit code 0 after cutting the session');
        assert.match(server.logs(), /"msg":"drain timeout: stopping the sessions still running"/);
      } finally {
        await server.stop();
      }
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
