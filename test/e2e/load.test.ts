/**
 * Load: 16 concurrent clients send real datasets (a 64² 4-coil phantom, two
 * repetitions) for GANTRY_LOAD_SECONDS (default 60), half through
 * default.xml and half through Generic_Cartesian_FFT.xml. Every session's
 * images equal that config's reference reconstruction (made alone before the
 * load), every client completes a fair share of sessions (none starved), the
 * server's resident memory stays bounded, and p50/p99 session times and
 * memory are reported as test diagnostics.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { loadDataset, nrmse, percentile, reconSession, residentBytes, type SessionResult } from '../helpers/recon-session.js';

const SECONDS = Number(process.env['GANTRY_LOAD_SECONDS'] ?? 60);
const CLIENTS = 16;
const CONFIGS = ['default.xml', 'Generic_Cartesian_FFT.xml'] as const;
const MiB = 1024 * 1024;
/** Resident memory the server may use at its peak under this load. */
const MAX_RSS_BYTES = 1536 * MiB;

/** How a session's output differs from the reference; undefined when it matches. */
function mismatch(result: SessionResult, reference: SessionResult): string | undefined {
  if (!result.closed) return 'no CLOSE';
  if (result.texts.length > 0) return `texts ${JSON.stringify(result.texts)}`;
  if (result.images.length !== reference.images.length) return `${result.images.length} images, expected ${reference.images.length}`;
  for (const [i, image] of result.images.entries()) {
    const ref = reference.images[i];
    if (!ref) return `image ${i} unexpected`;
    try {
      assert.deepEqual(image.head, ref.head);
    } catch {
      return `image ${i} header differs`;
    }
    const e = nrmse(image.data, ref.data);
    if (!(e <= 1e-6)) return `image ${i} NRMSE ${e}`;
  }
  return undefined;
}

test(`load: ${CLIENTS} concurrent clients for ${SECONDS} s, every output correct, none starved, memory bounded`, { timeout: (SECONDS + 240) * 1000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-load-'));
  let server: ServerProcess | undefined;
  try {
    const file = join(dir, 'phantom.h5');
    const made = await runGantry(['phantom', '-o', file, '--matrix', '64', '--coils', '4', '--repetitions', '2']);
    assert.equal(made.code, 0, made.stderr);
    const data = loadDataset(file);
    server = await startGantryServer(['--max-sessions', '64', '--no-storage']);
    const { port } = server;
    const pid = server.child.pid as number;
    const references = new Map<string, SessionResult>();
    for (const config of CONFIGS) {
      const reference = await reconSession(port, { name: config }, data);
      assert.deepEqual(reference.texts, [], `${config} reference`);
      assert.ok(reference.images.length >= 2, `${config} reference has images`);
      references.set(config, reference);
    }
    const rssWarm = residentBytes(pid);

    let rssPeak = rssWarm;
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, residentBytes(pid));
    }, 250);
    const deadline = performance.now() + SECONDS * 1000;
    const times: number[] = [];
    const failures: string[] = [];
    const perClient = await Promise.all(Array.from({ length: CLIENTS }, async (_, client) => {
      const config = CONFIGS[client % CONFIGS.length] as string;
      const reference = references.get(config) as SessionResult;
      let done = 0;
      while (performance.now() < deadline) {
        try {
          const result = await reconSession(port, { name: config }, data, 120_000);
          const wrong = mismatch(result, reference);
          if (wrong) failures.push(`client ${client} (${config}) session ${done}: ${wrong}`);
          times.push(result.ms);
        } catch (err) {
          failures.push(`client ${client} (${config}) session ${done}: ${err instanceof Error ? err.message : String(err)}`);
        }
        done += 1;
      }
      return done;
    }));
    clearInterval(sampler);
    const rssAfter = residentBytes(pid);
    const total = perClient.reduce((a, b) => a + b, 0);
    const stats = {
      seconds: SECONDS, clients: CLIENTS, sessions: total, sessionsPerSecond: +(total / SECONDS).toFixed(1),
      perClientMin: Math.min(...perClient), perClientMax: Math.max(...perClient),
      p50ms: Math.round(percentile(times, 50)), p99ms: Math.round(percentile(times, 99)), maxMs: Math.round(Math.max(...times)),
      rssWarmMiB: Math.round(rssWarm / MiB), rssPeakMiB: Math.round(rssPeak / MiB), rssAfterMiB: Math.round(rssAfter / MiB),
    };
    t.diagnostic(`load: ${JSON.stringify(stats)}`);

    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${total} sessions wrong`);
    // fair share: with 16 clients on one server, the slowest client gets at least a quarter of the mean
    const mean = total / CLIENTS;
    assert.ok(Math.min(...perClient) >= Math.max(1, Math.floor(mean / 4)), `no client starved: per client ${JSON.stringify(perClient)}`);
    assert.ok(rssPeak <= MAX_RSS_BYTES, `peak resident memory ${stats.rssPeakMiB} MiB is over ${MAX_RSS_BYTES / MiB} MiB`);
    assert.equal(server.child.exitCode, null, 'the server is still running');
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
