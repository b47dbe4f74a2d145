/**
 * Soak: GANTRY_SOAK_SESSIONS (default 1000) sequential small sessions on one
 * server. Resident memory after the last, measured after a full garbage
 * collection in the server, is within 10 % of what it was after the first 10:
 * sessions leave nothing behind (registry entries beyond the bounded history,
 * listeners, timers, buffers). The sessions' images stay correct throughout.
 *
 * A fresh process first gets WARMUP_SESSIONS unmeasured sessions: its
 * resident memory grows by about a quarter over its first ~200 sessions as
 * V8 compiles hot code (heap snapshots show only code objects growing), which
 * is warm-up, not a leak. The cold figure is reported too.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { loadDataset, nrmse, reconSession, residentBytes, type SessionResult } from '../helpers/recon-session.js';

const SESSIONS = Number(process.env['GANTRY_SOAK_SESSIONS'] ?? 1000);
const WARMUP = 10;
const WARMUP_SESSIONS = Number(process.env['GANTRY_SOAK_WARMUP'] ?? 250);
const MiB = 1024 * 1024;
const GC_PRELOAD = fileURLToPath(new URL('../helpers/gc-on-signal.js', import.meta.url));

/** Collects garbage in the server (see gc-on-signal.ts), lets it settle, and reads its resident memory. */
async function settledResident(server: ServerProcess): Promise<number> {
  const pid = server.child.pid as number;
  const before = server.stderr().length;
  for (let i = 0; i < 2; i++) {
    server.child.kill('SIGUSR2');
    const until = performance.now() + 5000;
    while (!server.stderr().slice(before).includes('"msg":"gc done"') && performance.now() < until) await new Promise((r) => setTimeout(r, 20));
    await new Promise((r) => setTimeout(r, 300));
  }
  assert.ok(server.stderr().slice(before).includes('"msg":"gc done"'), 'the server collected garbage');
  return residentBytes(pid);
}

/** The server's V8 heap in use after its last collection (bytes), from gc-on-signal's log line. */
function heapUsed(server: ServerProcess): number {
  const line = server.stderr().split('\n').filter((l) => l.includes('"msg":"gc done"')).pop() ?? '{}';
  return Number((JSON.parse(line) as { heapUsed?: number }).heapUsed ?? Number.NaN);
}

test(`soak: ${SESSIONS} sequential sessions leave resident memory within 10 % of after the first ${WARMUP}`, { timeout: 300_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-soak-'));
  let server: ServerProcess | undefined;
  try {
    const file = join(dir, 'phantom.h5');
    const made = await runGantry(['phantom', '-o', file, '--matrix', '32', '--coils', '2']);
    assert.equal(made.code, 0, made.stderr);
    const data = loadDataset(file);
    server = await startGantryServer(['--no-storage'], 15_000, { NODE_OPTIONS: `--expose-gc --import=${GC_PRELOAD}` });
    let reference: SessionResult | undefined;
    let rssCold = 0;
    let rssWarm = 0;
    let heapWarm = 0;
    const started = performance.now();
    for (let n = 0; n < WARMUP_SESSIONS + SESSIONS; n++) {
      const i = n - WARMUP_SESSIONS;
      const result = await reconSession(server.port, { name: 'default.xml' }, data, 30_000);
      reference ??= result;
      assert.deepEqual(result.texts, [], `session ${i}: no errors`);
      assert.equal(result.images.length, reference.images.length, `session ${i}: all images`);
      for (const [k, image] of result.images.entries()) assert.equal(nrmse(image.data, (reference.images[k] as typeof image).data), 0, `session ${i} image ${k}`);
      if (n === WARMUP - 1) rssCold = await settledResident(server);
      if (i === WARMUP - 1) {
        rssWarm = await settledResident(server);
        heapWarm = heapUsed(server);
      }
    }
    const seconds = (performance.now() - started) / 1000;
    const rssLast = await settledResident(server);
    const heapLast = heapUsed(server);
    const growth = rssLast / rssWarm - 1;
    t.diagnostic(`soak: ${WARMUP_SESSIONS} warm-up + ${SESSIONS} sessions in ${seconds.toFixed(1)} s; resident ${(rssCold / MiB).toFixed(1)} MiB after the process's first ${WARMUP} (cold), `
      + `${(rssWarm / MiB).toFixed(1)} MiB after the first ${WARMUP} measured, ${(rssLast / MiB).toFixed(1)} MiB after ${SESSIONS} (${(growth * 100).toFixed(1)} %); `
      + `V8 heap in use ${(heapWarm / MiB).toFixed(1)} → ${(heapLast / MiB).toFixed(1)} MiB`);
    assert.ok(Math.abs(growth) <= 0.10, `resident memory moved ${(growth * 100).toFixed(1)} % (${(rssWarm / MiB).toFixed(1)} → ${(rssLast / MiB).toFixed(1)} MiB)`);
  } finally {
    await server?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
