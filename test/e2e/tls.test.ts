/**
 * TLS on the data port (`gantry serve --tls-cert/--tls-key` without
 * `--tls-port`), real processes on 127.0.0.1, certificates made by openssl:
 *
 * - with `--tls-client-ca` (mutual TLS), `gantry client --tls --ca --cert
 *   --key` reconstructs a phantom, and its images equal those of a plain
 *   server;
 * - a client certificate from another CA, no client certificate, a client
 *   that does not trust the server, a plain-TCP client (it prints the
 *   server's error text) and a TLS client on a plain port are all refused
 *   with a clear message;
 * - `--tls-psk-file`: a stunnel-style pre-shared key reconstructs; a wrong
 *   key is refused.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import type { Image } from '../../src/ismrmrd/types.js';
import { runGantry, startGantryServer, type RunResult, type ServerProcess } from '../helpers/gantry-process.js';
import { missing } from '../helpers/tools.js';
import { makeCertificates, needsOpenssl } from './tls-certificates.js';

const skip = needsOpenssl || missing([]) || false;

function readImages(file: string): Image[] {
  const f = IsmrmrdFile.open(file, 'out');
  try {
    return f.readImages('image_0');
  } finally {
    f.close();
  }
}

function client(port: number, args: string[]): Promise<RunResult> {
  return runGantry(['client', '-a', '127.0.0.1', '-p', String(port), ...args], 60_000);
}

test('TLS on the data port: mutual TLS, refusals, PSK', { skip, timeout: 150_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-tls-data-'));
  const servers: ServerProcess[] = [];
  try {
    const c = makeCertificates(dir);
    const scan = join(dir, 'scan.h5');
    const made = await runGantry(['phantom', '-o', scan, '-f', '--matrix', '32', '--coils', '2', '--slices', '2']);
    assert.equal(made.code, 0, made.stderr);
    const reconArgs = (out: string): string[] => ['-f', scan, '-o', join(dir, out), '-G', 'out', '-c', 'default.xml'];

    const plain = await startGantryServer(['--no-http']);
    servers.push(plain);
    const reference = await client(plain.port, reconArgs('plain.h5'));
    assert.equal(reference.code, 0, reference.stderr);
    const expected = readImages(join(dir, 'plain.h5'));
    assert.ok(expected.length > 0);

    const mtls = await startGantryServer(['--no-http', '--tls-cert', c.serverCert, '--tls-key', c.serverKey, '--tls-client-ca', c.ca]);
    servers.push(mtls);
    assert.match(mtls.logs(), /"msg":"gantry listening"[^\n]*"tls":true/);

    await t.test('the client with the right certificate reconstructs', async () => {
      const run = await client(mtls.port, ['--tls', '--ca', c.ca, '--cert', c.clientCert, '--key', c.clientKey, ...reconArgs('tls.h5')]);
      assert.equal(run.code, 0, run.stderr);
      const images = readImages(join(dir, 'tls.h5'));
      assert.equal(images.length, expected.length);
      images.forEach((image, i) => assert.deepEqual(image.data, expected[i]?.data, `image ${i} equals the plain server's`));
    });

    await t.test('a client certificate from another CA is refused', async () => {
      const run = await client(mtls.port, ['--tls', '--ca', c.ca, '--cert', c.rogueClientCert, '--key', c.rogueClientKey, ...reconArgs('rogue.h5')]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /refused the TLS connection .*client certificate/);
    });

    await t.test('no client certificate is refused', async () => {
      const run = await client(mtls.port, ['--tls', '--ca', c.ca, ...reconArgs('nocert.h5')]);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /refused the TLS connection .*client certificate/);
    });

    await t.test('a client that does not trust the server certificate stops', async () => {
      const run = await client(mtls.port, ['--tls', '--ca', c.rogueCa, '--cert', c.clientCert, '--key', c.clientKey, '-Q', 'gadgetron::version']);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /certificate is not trusted .*--ca/);
    });

    await t.test('plain TCP to the TLS port is refused with a clear message', async () => {
      const run = await client(mtls.port, ['-Q', 'gadgetron::version']);
      assert.equal(run.code, 2, run.stderr);
      assert.match(run.stdout, /ERROR: This port only accepts TLS connections/);
      // the server logs the refusal after telling the client
      const deadline = Date.now() + 5_000;
      while (!/"msg":"refusing a plain connection on the TLS-only data port"/.test(mtls.logs()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      assert.match(mtls.logs(), /"msg":"refusing a plain connection on the TLS-only data port"/);
    });

    await t.test('TLS to a plain port is refused with a clear message', async () => {
      const run = await client(plain.port, ['--tls', '--ca', c.ca, '-Q', 'gadgetron::version']);
      assert.notEqual(run.code, 0);
      assert.match(run.stderr, /did not answer with TLS/);
    });

    await t.test('pre-shared keys (stunnel format)', async () => {
      writeFileSync(join(dir, 'psk.txt'), '# identity:key\nscanner-1:00112233445566778899aabbccddeeff\n');
      writeFileSync(join(dir, 'psk-wrong.txt'), 'scanner-1:ffeeddccbbaa99887766554433221100\n');
      const psk = await startGantryServer(['--no-http', '--tls-psk-file', join(dir, 'psk.txt')]);
      servers.push(psk);
      const run = await client(psk.port, ['--tls', '--psk-file', join(dir, 'psk.txt'), ...reconArgs('psk.h5')]);
      assert.equal(run.code, 0, run.stderr);
      assert.equal(readImages(join(dir, 'psk.h5')).length, expected.length);
      const wrong = await client(psk.port, ['--tls', '--psk-file', join(dir, 'psk-wrong.txt'), '-Q', 'gadgetron::version']);
      assert.notEqual(wrong.code, 0);
      assert.match(wrong.stderr, /pre-shared key/);
    });

    await t.test('a connection silent before its handshake does not hold up shutdown', async () => {
      const silent = connect({ host: '127.0.0.1', port: mtls.port });
      silent.on('error', () => undefined);
      await new Promise<void>((resolve) => silent.once('connect', () => resolve()));
      const started = Date.now();
      await mtls.stop();
      assert.ok(Date.now() - started < 8_000, `stopped in ${Date.now() - started} ms`);
      assert.equal(mtls.child.exitCode, 0);
      silent.destroy();
    });

    await t.test('bad TLS flags are clear errors', async () => {
      const half = await runGantry(['serve', '--port', '0', '--no-http', '--tls-cert', c.serverCert], 20_000);
      assert.notEqual(half.code, 0);
      assert.match(half.stderr, /needs both --tls-cert and --tls-key/);
      writeFileSync(join(dir, 'psk-short.txt'), 'a:0011\n');
      const short = await runGantry(['serve', '--port', '0', '--no-http', '--tls-psk-file', join(dir, 'psk-short.txt')], 20_000);
      assert.notEqual(short.code, 0);
      assert.match(short.stderr, /shorter than 16 bytes/);
      const noTls = await runGantry(['client', '--ca', c.ca, '-Q', 'x'], 20_000);
      assert.match(noTls.stderr, /without --tls/);
    });
  } finally {
    for (const s of servers) await s.stop().catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
