/**
 * Gateway→worker authentication, real processes on 127.0.0.1:
 *
 * - a worker started with `--worker-secret-file` refuses a stranger (a plain
 *   Gadgetron session without the proof) with a clear error text and CLOSE;
 * - a gateway with the same secret (`--gateway-secret-file`) runs its
 *   distributed jobs there, and the images equal a single-node run bit for
 *   bit;
 * - a gateway with another secret is refused by the worker (its jobs fall
 *   back in-process, so the client still gets correct images);
 * - mutual TLS for worker links: a worker whose data port is TLS-only with
 *   `--tls-client-ca` takes the jobs of a gateway with
 *   `--worker-tls-ca/--worker-tls-cert/--worker-tls-key`, and refuses a
 *   gateway whose certificate another CA signed;
 * - pods with the same `--worker-secret-file`: clients reconstruct through
 *   a pod's `--tls-port` (`gantry client --tls`), its jobs run on the other
 *   pod, and its own data port asks for the secret.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import { runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { address, assertSameImages, errorTexts, jobRecords, makeScan, reconstruct, waitUntil, type Scan } from './distributed-fixtures.js';
import { makeCertificates, needsOpenssl } from './tls-certificates.js';

const CONFIG = 'distributed_default.xml';
const SCAN_ARGS = ['--matrix', '32', '--slices', '4', '--coils', '2'];

test('worker links need the worker secret', { skip: missing([]) ?? false, timeout: 180_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-worker-auth-'));
  const servers: ServerProcess[] = [];
  const start = async (args: string[]): Promise<ServerProcess> => {
    const s = await startGantryServer(['--no-http', ...args]);
    servers.push(s);
    return s;
  };
  try {
    writeFileSync(join(dir, 'secret'), 'worker-secret-0123456789abcdef\n');
    writeFileSync(join(dir, 'other'), 'some-other-secret-0123456789\n');
    const scan: Scan = await makeScan(dir, SCAN_ARGS);
    const single = await start([]);
    const reference = await reconstruct(single.port, CONFIG, scan);
    assert.deepEqual(errorTexts(reference), []);

    const worker = await start(['--worker-secret-file', join(dir, 'secret')]);
    assert.match(worker.logs(), /"msg":"gantry listening"[^\n]*"workerSecret":true/);

    await t.test('a stranger without the secret cannot run a session on the worker', async () => {
      const result = await reconstruct(worker.port, 'default.xml', scan);
      assert.deepEqual(result.images, []);
      assert.match(result.texts.join('\n'), /ERROR: Not authorised: the connection did not start with a worker-link proof/);
      // the worker logs the refusal after telling the client
      await waitUntil(() => /"msg":"refusing a session without the worker secret"[^\n]*"reason":"no-proof"/.test(worker.logs()), 'the refusal in the worker log');
      assert.doesNotMatch(worker.logs(), /"msg":"session started"/);
    });

    await t.test('the gateway with the secret runs its jobs on the worker; the images are correct', async () => {
      const gateway = await start(['--workers', address(worker.port), '--gateway-secret-file', join(dir, 'secret'), '--worker-timeout', '20']);
      const result = await reconstruct(gateway.port, CONFIG, scan);
      assert.deepEqual(errorTexts(result), []);
      assertSameImages(result.images, reference.images, 'gateway with the secret');
      const remote = jobRecords(gateway).filter((r) => r.outcome === 'ok' && r.worker === address(worker.port));
      assert.ok(remote.length > 0, `no job ran on the worker:\n${gateway.logs()}`);
      assert.match(worker.logs(), /"msg":"session started"/);
    });

    await t.test('a gateway with another secret is refused by the worker', async () => {
      const gateway = await start(['--workers', address(worker.port), '--gateway-secret-file', join(dir, 'other'), '--worker-timeout', '20']);
      const result = await reconstruct(gateway.port, CONFIG, scan);
      assertSameImages(result.images, reference.images, 'jobs refused by the worker, run in-process');
      assert.equal(jobRecords(gateway).filter((r) => r.outcome === 'ok' && r.worker === address(worker.port)).length, 0);
      await waitUntil(() => /"reason":"wrong-secret"/.test(worker.logs()), 'the wrong-secret refusal in the worker log');
    });

    await t.test('mutual TLS on worker links', { skip: needsOpenssl }, async () => {
      const c = makeCertificates(dir);
      const tlsWorker = await start(['--tls-cert', c.serverCert, '--tls-key', c.serverKey, '--tls-client-ca', c.ca]);
      const stranger = await reconstruct(tlsWorker.port, 'default.xml', scan);
      assert.deepEqual(stranger.images, []);
      assert.match(stranger.texts.join('\n'), /only accepts TLS/);
      const gateway = await start(['--workers', address(tlsWorker.port), '--worker-tls-ca', c.ca,
        '--worker-tls-cert', c.clientCert, '--worker-tls-key', c.clientKey, '--worker-timeout', '20']);
      const result = await reconstruct(gateway.port, CONFIG, scan);
      assert.deepEqual(errorTexts(result), []);
      assertSameImages(result.images, reference.images, 'gateway over mutual TLS');
      assert.ok(jobRecords(gateway).some((r) => r.outcome === 'ok' && r.worker === address(tlsWorker.port)), `no job ran on the TLS worker:\n${gateway.logs()}`);
      // every pod with the same flags: the gateway requires the secret on its data port, so clients come in on --tls-port
      const sameFlags = ['--worker-secret-file', join(dir, 'secret')];
      const secretWorker = await start(sameFlags);
      const pod = await start([...sameFlags, '--workers', address(secretWorker.port), '--worker-timeout', '20',
        '--tls-port', '0', '--tls-cert', c.serverCert, '--tls-key', c.serverKey]);
      await waitUntil(() => /"msg":"gantry tls listening"/.test(pod.logs()), 'the TLS listener in the log');
      const tlsPort = Number(/"msg":"gantry tls listening"[^\n]*"port":(\d+)/.exec(pod.logs())?.[1]);
      assert.ok(tlsPort > 0, pod.logs());
      const input = join(dir, `phantom-${SCAN_ARGS.join('_').replace(/[^\w]/g, '')}.h5`);
      const run = await runGantry(['client', '-a', '127.0.0.1', '-p', String(tlsPort), '--tls', '--ca', c.ca, '-f', input,
        '-o', join(dir, 'pod.h5'), '-G', 'out', '-c', CONFIG], 60_000);
      assert.equal(run.code, 0, run.stderr + run.stdout);
      const f = IsmrmrdFile.open(join(dir, 'pod.h5'), 'out');
      const images = f.readImages('image_0');
      f.close();
      assert.equal(images.length, reference.images.length);
      images.forEach((image, i) => assert.deepEqual(image.data, reference.images[i]?.data, `image ${i}`));
      assert.ok(jobRecords(pod).some((r) => r.outcome === 'ok' && r.worker === address(secretWorker.port)), `no job ran on the worker:\n${pod.logs()}`);
      const plainClient = await reconstruct(pod.port, 'default.xml', scan);
      assert.match(plainClient.texts.join('\n'), /Not authorised/, 'the pod\'s data port asks for the secret');

      const rogue = await start(['--workers', address(tlsWorker.port), '--worker-tls-ca', c.ca,
        '--worker-tls-cert', c.rogueClientCert, '--worker-tls-key', c.rogueClientKey, '--worker-timeout', '20']);
      const refused = await reconstruct(rogue.port, CONFIG, scan);
      assertSameImages(refused.images, reference.images, 'jobs refused by the TLS worker, run in-process');
      assert.equal(jobRecords(rogue).filter((r) => r.outcome === 'ok' && r.worker === address(tlsWorker.port)).length, 0);
    });
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
