import test from 'node:test';
import assert from 'node:assert/strict';
import { DataType, emptyImageHeader, type Image } from '../ismrmrd/types.js';
import { ProtocolError } from '../protocol/errors.js';
import { encodeClose, encodeImage } from '../protocol/index.js';
import { protocolErrorReason, SessionRegistry } from './session-registry.js';
import type { RegistryEvent } from './types.js';
import { receivedFrameSize, sentMessageSize } from './wire-bytes.js';

function image(index: number, n = 4): Image {
  const head = { ...emptyImageHeader(), data_type: DataType.FLOAT, matrix_size: [n, n, 1], image_index: index + 1, slice: index % 2 };
  return { kind: 'image', head, meta: new Map([['GADGETRON_WindowCenter', ['5']], ['GADGETRON_WindowWidth', ['10']]]), data: new Float32Array(n * n).fill(index) };
}

test('session registry records states, timings, counts and outcomes', () => {
  let now = 1000;
  const registry = new SessionRegistry({ now: () => now });
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  const r = registry.open({ connection: 7, remote: '127.0.0.1' });
  assert.equal(registry.active, 1);
  now = 1010;
  r.configured('default.xml');
  r.streaming();
  r.received({ kind: 'close' });
  r.output(image(0));
  r.sent(encodeImage(image(0)));
  r.sent(encodeClose());
  now = 1500;
  r.inputClosed();
  r.end({ outcome: 'ok' });
  const info = r.info();
  assert.equal(info.state, 'completed');
  assert.equal(info.outcome, 'success');
  assert.equal(info.connection, 7);
  assert.equal(info.timings.durationMs, 500);
  assert.equal(info.images, 1);
  assert.equal(info.bytesOut, sentMessageSize(encodeImage(image(0))).bytes + 2);
  assert.equal(registry.active, 0);
  assert.deepEqual(events.filter((e) => e.type === 'session').map((e) => (e.type === 'session' ? e.session.state : '')),
    ['connected', 'configured', 'streaming', 'finishing', 'completed']);
  assert.equal(registry.counters.started.get('default.xml'), 1);
  assert.equal(registry.counters.completed.get('default.xml\u0000success'), 1);
  assert.equal(registry.counters.sentBytes.get('image'), info.bytesOut - 2);
  const stored = r.storedImage(0);
  assert.deepEqual(stored?.info.window, { center: 5, width: 10 });
  assert.equal(stored?.info.matrix[0], 4);
});

test('session registry outcomes: timeout, client abort, drained, error; protocol error reasons', () => {
  const registry = new SessionRegistry();
  const timeout = registry.open();
  timeout.error('Connection Main Thread/Connection Input Thread', new Error('Connection idle for more than 5 ms; closing it'));
  timeout.end({ outcome: 'error' });
  const gone = registry.open();
  gone.error('Connection Main Thread/Connection Input Thread', new Error('Connection closed by the client without a CLOSE message'));
  gone.end({ outcome: 'error' });
  const drained = registry.open();
  drained.end({ outcome: 'error' }, true);
  const failed = registry.open();
  failed.error('Connection Main Thread/Connection Input Thread', new ProtocolError('UNKNOWN_MESSAGE_ID', 'Cannot decode: unknown id'));
  failed.end({ outcome: 'error' });
  assert.deepEqual([timeout, gone, drained, failed].map((r) => r.outcome), ['timeout', 'client_abort', 'drained', 'error']);
  assert.equal(registry.counters.protocolErrors.get('timeout'), 1);
  assert.equal(registry.counters.protocolErrors.get('unknown_id'), 1);
  assert.equal(registry.counters.completed.get('none\u0000drained'), 1);
  assert.equal(protocolErrorReason('x', new ProtocolError('MESSAGE_TOO_LARGE', 'big')), 'oversize');
  assert.equal(protocolErrorReason('x', new Error('Cannot parse ISMRMRD header: bad (line 1)')), 'bad_header');
  assert.equal(protocolErrorReason('Connection Main Thread/Connection Input Thread', new Error('Received second ISMRMRD header. Only one allowed.')), 'unexpected_message');
  assert.equal(protocolErrorReason('Connection Main Thread/main/Recon', new Error('Cannot reconstruct')), undefined);
});

test('session registry bounds memory: images past the byte cap and old sessions are dropped', () => {
  const registry = new SessionRegistry({ keepSessions: 2, maxImageBytes: 3 * 64 });
  const a = registry.open();
  for (let i = 0; i < 5; i++) a.output(image(i));
  assert.equal(a.info().images, 5);
  assert.equal(a.info().imagesKept, 3);
  assert.deepEqual(a.storedImages().map((s) => s.info.index), [2, 3, 4]);
  assert.equal(registry.heldImageBytes, 3 * 64);
  a.end({ outcome: 'ok' });
  const b = registry.open();
  b.end({ outcome: 'ok' });
  const c = registry.open();
  c.end({ outcome: 'ok' });
  assert.equal(registry.get(a.id), undefined, 'the oldest finished session is forgotten');
  assert.equal(registry.heldImageBytes, 0);
  assert.deepEqual(registry.list().map((s) => s.id), [c.id, b.id]);
  const running = registry.open();
  const d = registry.open();
  d.end({ outcome: 'ok' });
  assert.ok(registry.get(running.id), 'running sessions are always kept');
});

test('session registry: jobs, workers and draining', () => {
  const registry = new SessionRegistry();
  const r = registry.open();
  const job = r.job('10.0.0.5:9002', 'Distribute job 1 (slice 0)');
  job.end('success');
  r.job('local', 'Distribute job 2 (slice 1)').end('error', 'boom');
  assert.deepEqual(r.info().jobs.map((j) => [j.worker, j.outcome, j.error]), [['10.0.0.5:9002', 'success', undefined], ['local', 'error', 'boom']]);
  assert.deepEqual(registry.workers(), []);
  registry.setWorkerSource({ snapshot: () => [
    { id: 'a:1', healthy: true, activeJobs: 0, completedJobs: 3 },
    { id: 'b:1', healthy: true, activeJobs: 2 },
    { id: 'c:1', healthy: false, activeJobs: 0 },
  ] });
  assert.deepEqual(registry.workers().map((w) => w.state), ['ready', 'busy', 'unreachable']);
  const events: RegistryEvent[] = [];
  registry.subscribe((e) => events.push(e));
  registry.setDraining(true);
  assert.equal(registry.draining, true);
  assert.deepEqual(events, [{ type: 'readiness', ready: false }]);
});

test('wire byte accounting by message type', () => {
  assert.deepEqual(sentMessageSize(encodeClose()), { type: 'close', bytes: 2 });
  assert.deepEqual(receivedFrameSize({ kind: 'config-file', name: 'default.xml' }), { type: 'config', bytes: 1026 });
  const img = image(0);
  const sent = sentMessageSize(encodeImage(img));
  assert.deepEqual(receivedFrameSize({ kind: 'image', image: img }), sent);
});
