import test from 'node:test';
import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import { encodeWorkerProof, PROOF_WINDOW_MS, readWorkerProof, WORKER_PROOF_BYTES, WorkerProofVerifier } from './worker-auth.js';

const SECRET = 'a-shared-secret-of-some-length';

test('a proof made with the secret passes once; replays, other secrets and old proofs fail', () => {
  const verifier = new WorkerProofVerifier([SECRET]);
  const now = 1_800_000_000_000;
  const proof = encodeWorkerProof(SECRET, now);
  assert.equal(proof.length, WORKER_PROOF_BYTES);
  assert.equal(verifier.check(proof, now + 10), undefined);
  assert.equal(verifier.check(proof, now + 20), 'replayed');
  assert.equal(verifier.check(encodeWorkerProof('another-secret-0123456789', now), now), 'wrong-secret');
  assert.equal(verifier.check(encodeWorkerProof(SECRET, now - PROOF_WINDOW_MS - 1), now), 'stale');
  assert.equal(verifier.check(encodeWorkerProof(SECRET, now + PROOF_WINDOW_MS + 1), now), 'stale');
  const tampered = Buffer.from(encodeWorkerProof(SECRET, now));
  tampered.writeBigUInt64LE(BigInt(now + 1), 3);
  assert.equal(verifier.check(tampered, now), 'wrong-secret', 'the time is covered by the MAC');
  assert.equal(verifier.check(Buffer.from([1, 0, 3]), now), 'no-proof');
});

test('any of several secrets is accepted (rotation)', () => {
  const verifier = new WorkerProofVerifier(['old-secret-0123456789abc', SECRET]);
  assert.equal(verifier.check(encodeWorkerProof(SECRET)), undefined);
  assert.equal(verifier.check(encodeWorkerProof('old-secret-0123456789abc')), undefined);
});

test('readWorkerProof: accepts a proof split over chunks and puts the rest back', async () => {
  const socket = new PassThrough();
  const verifier = new WorkerProofVerifier([SECRET]);
  const proof = encodeWorkerProof(SECRET);
  const outcome = readWorkerProof(socket, verifier, 2_000);
  socket.write(proof.subarray(0, 10));
  socket.write(Buffer.concat([proof.subarray(10), Buffer.from([4, 0])]));
  assert.deepEqual(await outcome, { ok: true });
  const rest: Buffer[] = [];
  socket.on('data', (c: Buffer) => rest.push(c));
  socket.resume();
  await new Promise((r) => setImmediate(r));
  assert.deepEqual(Buffer.concat(rest), Buffer.from([4, 0]));
});

test('readWorkerProof: a Gadgetron client, a probe, silence', async () => {
  const verifier = new WorkerProofVerifier([SECRET]);
  const client = new PassThrough();
  const c = readWorkerProof(client, verifier, 2_000);
  client.write(Buffer.from([1, 0, 0x64, 0x65]));
  assert.deepEqual(await c, { ok: false, probe: false, failure: 'no-proof' });
  const probe = new PassThrough();
  const p = readWorkerProof(probe, verifier, 2_000);
  probe.end(Buffer.from([4, 0]));
  assert.deepEqual(await p, { ok: false, probe: true, failure: 'no-proof' });
  const silent = new PassThrough();
  const keepAlive = setTimeout(() => undefined, 5_000); // the proof timer is unref'd; a real socket keeps the process up
  assert.deepEqual(await readWorkerProof(silent, verifier, 50), { ok: false, probe: false, failure: 'timeout' });
  clearTimeout(keepAlive);
});
