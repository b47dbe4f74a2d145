/**
 * Crash isolation: a gadget that fails (throwing, or from a timer, immediate,
 * tick or promise it started) ends only its own session with an error text
 * and CLOSE; a good session running beside it completes with the same images
 * as alone, and the server keeps serving. A failure that belongs to no
 * session makes the process log it and exit 1 (its state is unknown).
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runGantry } from '../helpers/gantry-process.js';
import { loadDataset, nrmse, reconSession, type SessionConfig } from '../helpers/recon-session.js';
import { CRASH_MODES } from './crash-isolation-server.js';

const SERVER_SCRIPT = fileURLToPath(new URL('./crash-isolation-server.js', import.meta.url));

function crashConfig(mode: string): SessionConfig {
  return {
    script: `<?xml version="1.0"?>
<configuration><version>2</version>
  <readers><reader><dll>x</dll><classname>GadgetIsmrmrdAcquisitionMessageReader</classname></reader></readers>
  <writers><writer><dll>x</dll><classname>MRIImageWriter</classname></writer></writers>
  <stream>
    <gadget><name>Crash</name><dll>test</dll><classname>CrashTestGadget</classname><property name="mode" value="${mode}"/></gadget>
    <gadget><dll>x</dll><classname>RemoveROOversamplingGadget</classname></gadget>
  </stream>
</configuration>`,
  };
}

interface TestServer { port: number; child: ChildProcess; log: () => string; exited: Promise<number | null> }

async function startCrashServer(): Promise<TestServer> {
  const child = spawn(process.execPath, [SERVER_SCRIPT], { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, GANTRY_CRASH_TEST_SERVER: '1' } });
  let log = '';
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`crash test server did not start:\n${log}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => {
      log += d.toString();
      const m = /"msg":"gantry listening"[^\n]*"port":(\d+)/.exec(log);
      if (m) {
        clearTimeout(timer);
        resolve(Number(m[1]));
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`crash test server exited with ${code}:\n${log}`));
    });
  });
  return { port, child, log: () => log, exited };
}

async function stop(server: TestServer): Promise<void> {
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  server.child.kill('SIGTERM');
  const timer = setTimeout(() => server.child.kill('SIGKILL'), 10_000);
  await server.exited;
  clearTimeout(timer);
}

test('a failing gadget ends only its own session; the server keeps serving', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-crash-'));
  let server: TestServer | undefined;
  try {
    const file = join(dir, 'phantom.h5');
    const made = await runGantry(['phantom', '-o', file, '--matrix', '64', '--coils', '4', '--repetitions', '2']);
    assert.equal(made.code, 0, made.stderr);
    const data = loadDataset(file);
    server = await startCrashServer();
    const port = server.port;
    const reference = await reconSession(port, { name: 'default.xml' }, data);
    assert.deepEqual(reference.texts, []);
    assert.equal(reference.images.length, 2);

    // every failure mode at once, beside a good session
    const good = reconSession(port, { name: 'default.xml' }, data);
    const crashes = await Promise.all(CRASH_MODES.map((mode) => reconSession(port, crashConfig(mode), data, 30_000)));
    for (const [i, mode] of CRASH_MODES.entries()) {
      await t.test(`mode ${mode}`, () => {
        const r = crashes[i];
        assert.ok(r, 'a result');
        assert.ok(r.closed, `the session was closed with CLOSE (texts: ${JSON.stringify(r.texts)})`);
        const expected = new RegExp(`^\\[Connection Main Thread[^\\]]*\\] ERROR: .*CrashTestGadget failed on purpose \\(${mode}\\)`);
        assert.ok(r.texts.some((x) => expected.test(x)), `expected ${expected} in ${JSON.stringify(r.texts)}`);
        assert.ok(r.ms < 20_000, `stopped at once, not at a timeout (${r.ms.toFixed(0)} ms)`);
      });
    }
    const g = await good;
    assert.deepEqual(g.texts, [], 'the good session saw no error');
    assert.equal(g.images.length, reference.images.length);
    for (const [i, image] of g.images.entries()) {
      assert.equal(nrmse(image.data, (reference.images[i] as typeof image).data), 0, `image ${i} is identical to the reference`);
    }
    assert.equal(server.child.exitCode, null, 'the server is still running');
    const after = await reconSession(port, { name: 'default.xml' }, data);
    assert.equal(after.images.length, 2, 'a session after the failures still works');
    assert.match(server.log(), /uncaught exception in a session: stopping that session/);
    assert.match(server.log(), /unhandled rejection in a session: stopping that session/);

    // a failure outside every session: logged, and the process exits 1
    server.child.kill('SIGUSR2');
    const code = await Promise.race([server.exited, new Promise<string>((r) => setTimeout(() => r('still running'), 10_000))]);
    assert.equal(code, 1, 'the process exits 1');
    assert.match(server.log(), /uncaught exception outside any session: exiting[^\n]*failure outside any session/);
  } finally {
    if (server) await stop(server);
    rmSync(dir, { recursive: true, force: true });
  }
});
