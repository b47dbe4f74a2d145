import assert from 'node:assert/strict';
import { PassThrough } from 'node:stream';
import test from 'node:test';
import { SocketReader } from './socket-reader.js';

/** Everything buffered now, without waiting. */
function takeAll(reader: SocketReader): (string | null)[] {
  const out: (string | null)[] = [];
  for (let chunk = reader.take(); chunk !== undefined; chunk = reader.take()) {
    out.push(chunk === null ? null : chunk.toString());
    if (chunk === null) break;
  }
  return out;
}

test('SocketReader: chunks that arrive in one turn wake a waiting next() once, and take() hands over the rest', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket);
  assert.equal(reader.take(), undefined);
  let wakes = 0;
  const first = reader.next().then((chunk) => {
    wakes += 1;
    return chunk;
  });
  socket.write('a');
  socket.write('b');
  socket.write('c');
  assert.equal((await first)?.toString(), 'a');
  assert.equal(wakes, 1);
  assert.deepEqual(takeAll(reader), ['b', 'c']);
  socket.end();
  assert.equal(await reader.next(), null);
  assert.equal(reader.take(), null);
  reader.detach();
});

test('SocketReader: pauses the socket at the high-water mark and resumes it once taken below', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket, 4);
  socket.write('12');
  socket.write('34');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(socket.isPaused(), true);
  assert.equal(reader.take()?.toString(), '12');
  assert.equal(socket.isPaused(), false);
  assert.equal(reader.take()?.toString(), '34');
  reader.detach();
});

test('SocketReader: interrupt() ends a waiting next(), and a socket error rejects next() and throws from take()', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket);
  const waiting = reader.next();
  reader.interrupt();
  assert.equal(await waiting, null);
  reader.detach();

  const broken = new PassThrough();
  const failing = new SocketReader(broken);
  const pending = failing.next();
  broken.destroy(new Error('connection reset'));
  await assert.rejects(pending, /connection reset/);
  assert.throws(() => failing.take(), /connection reset/);
  failing.detach();
});

test('SocketReader: detach() before a scheduled wake-up leaves nothing behind', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket);
  let woke = false;
  void reader.next().then(() => {
    woke = true;
  });
  socket.write('x');
  reader.detach();
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woke, false);
  assert.equal(socket.listenerCount('data'), 0);
});
