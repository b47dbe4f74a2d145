/**
 * `gantry serve --tls-port`: the Gadgetron protocol inside TLS beside the
 * plain port, with a certificate made by openssl for 127.0.0.1 (skipped
 * without openssl): a query and a CLOSE round trip over TLS, the plain port
 * still answering, a client that does not trust the certificate refused, and
 * with --tls-client-ca a client without a certificate refused while one with
 * a certificate signed by that CA is served.
 */
import test from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect as netConnect, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';
import { encodeClose, encodeQuery, FrameDecoder, type Frame } from '../../src/protocol/index.js';
import { startGantryServer } from '../helpers/gantry-process.js';
import { hasTool } from '../helpers/tools.js';

const skip = hasTool('openssl') ? false : 'needs openssl (apt-get install openssl)';

function openssl(args: string[]): void {
  execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A CA, a server certificate for 127.0.0.1 and a client certificate, in `dir`. */
function makeCertificates(dir: string): void {
  const p = (f: string): string => join(dir, f);
  openssl(['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=gantry test CA', '-keyout', p('ca.key'), '-out', p('ca.crt')]);
  writeFileSync(p('server.ext'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=127.0.0.1', '-keyout', p('server.key'), '-out', p('server.csr')]);
  openssl(['x509', '-req', '-in', p('server.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('server.ext'), '-out', p('server.crt')]);
  writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
  openssl(['req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=scanner-1', '-keyout', p('client.key'), '-out', p('client.csr')]);
  openssl(['x509', '-req', '-in', p('client.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial', '-days', '2', '-extfile', p('client.ext'), '-out', p('client.crt')]);
}

/** Sends a query then CLOSE over `socket`; resolves with the frames received until the server's CLOSE. */
function queryRoundTrip(socket: Socket): Promise<Frame[]> {
  return new Promise((resolve, reject) => {
    const decoder = new FrameDecoder();
    const frames: Frame[] = [];
    socket.on('data', (chunk: Buffer) => {
      for (const f of decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) {
        frames.push(f);
        if (f.kind === 'close') {
          socket.end();
          resolve(frames);
        }
      }
    });
    socket.once('error', reject);
    socket.once('close', () => resolve(frames));
    for (const c of [...encodeQuery('gadgetron::version', 7n), ...encodeClose()]) socket.write(c);
  });
}

function openTls(port: number, options: ConnectionOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ...options }, () => resolve(socket));
    socket.once('error', reject);
  });
}

/** The TLS port from the server's log (logged just after the plain port, possibly in a later chunk). */
async function tlsPortOf(logs: () => string): Promise<number> {
  const deadline = Date.now() + 5_000;
  for (;;) {
    const m = /"msg":"gantry tls listening"[^\n]*"port":(\d+)/.exec(logs());
    if (m) return Number(m[1]);
    if (Date.now() > deadline) assert.fail(`the TLS port is not logged:\n${logs()}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function assertVersionAnswer(frames: Frame[]): void {
  const response = frames.find((f) => f.kind === 'response');
  assert.ok(response && response.kind === 'response', `a response, got ${frames.map((f) => f.kind).join(',')}`);
  assert.equal(response.correlationId, 7n);
  assert.equal(frames.at(-1)?.kind, 'close');
}

test('gantry serve --tls-port', { skip, timeout: 45_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'gantry-tls-'));
  try {
    makeCertificates(dir);
    const ca = readFileSync(join(dir, 'ca.crt'));

    await t.test('sessions inside TLS beside the plain port', async () => {
      const server = await startGantryServer(['--tls-port', '0', '--tls-cert', join(dir, 'server.crt'), '--tls-key', join(dir, 'server.key')]);
      try {
        const port = await tlsPortOf(server.logs);
        assertVersionAnswer(await queryRoundTrip(await openTls(port, { ca })));
        const plain = netConnect({ host: '127.0.0.1', port: server.port });
        await new Promise<void>((resolve) => plain.once('connect', () => resolve()));
        assertVersionAnswer(await queryRoundTrip(plain));
        await assert.rejects(openTls(port, {}), /self[- ]signed|unable to (get|verify)/i, 'a client that does not trust the CA refuses the server');
        // a plain-protocol client on the TLS port gets no Gadgetron answer
        const wrong = netConnect({ host: '127.0.0.1', port });
        const frames = await queryRoundTrip(wrong).catch(() => [] as Frame[]);
        assert.deepEqual(frames.filter((f) => f.kind === 'response'), []);
      } finally {
        await server.stop();
      }
    });

    await t.test('mutual TLS with --tls-client-ca', async () => {
      const server = await startGantryServer([
        '--tls-port', '0', '--tls-cert', join(dir, 'server.crt'), '--tls-key', join(dir, 'server.key'), '--tls-client-ca', join(dir, 'ca.crt'),
      ]);
      try {
        const port = await tlsPortOf(server.logs);
        const withCert = await openTls(port, { ca, cert: readFileSync(join(dir, 'client.crt')), key: readFileSync(join(dir, 'client.key')) });
        assertVersionAnswer(await queryRoundTrip(withCert));
        // without a client certificate the server ends the handshake (TLS 1.3 reports it after connect)
        const frames = await openTls(port, { ca }).then((s) => queryRoundTrip(s)).catch(() => [] as Frame[]);
        assert.deepEqual(frames.filter((f) => f.kind === 'response'), []);
        // the server logs the failed handshake, possibly after the client has seen the connection end
        const deadline = Date.now() + 5_000;
        while (!/"msg":"tls handshake failed"/.test(server.logs()) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
        assert.match(server.logs(), /"msg":"tls handshake failed"/);
      } finally {
        await server.stop();
      }
    });

    await t.test('--tls-port without a certificate is refused', async () => {
      await assert.rejects(startGantryServer(['--tls-port', '0']), /--tls-port needs --tls-cert and --tls-key/);
    });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
