import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import { PassThrough } from 'node:stream';
import test from 'node:test';
import { SocketReader, type Consume } from './socket-reader.js';

/** Each piece of input as a string. */
const asText: Consume<string> = (bytes, out) => {
  out.push(Buffer.from(bytes).toString());
};

/** Everything queued now, without waiting. */
function takeAll<T>(reader: SocketReader<T>): (T | null)[] {
  const out: (T | null)[] = [];
  for (let item = reader.take(); item !== undefined; item = reader.take()) {
    out.push(item);
    if (item === null) break;
  }
  return out;
}

test('SocketReader: input that arrives in one turn wakes a waiting next() once, and take() hands over the rest', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket, asText);
  assert.equal(reader.reusesReadBuffer, false);
  assert.equal(reader.take(), undefined);
  let wakes = 0;
  const first = reader.next().then((item) => {
    wakes += 1;
    return item;
  });
  socket.write('a');
  socket.write('b');
  socket.write('c');
  assert.equal(await first, 'a');
  assert.equal(wakes, 1);
  assert.deepEqual(takeAll(reader), ['b', 'c']);
  socket.end();
  assert.equal(await reader.next(), null);
  assert.equal(reader.take(), null);
  reader.detach();
});

test('SocketReader: items are made as input arrives; input that makes none wakes nobody', async () => {
  const socket = new PassThrough();
  // one item per two bytes, as a decoder makes a frame once it is complete
  let carry = '';
  const reader = new SocketReader<string>(socket, (bytes, out) => {
    carry += Buffer.from(bytes).toString();
    while (carry.length >= 2) {
      out.push(carry.slice(0, 2));
      carry = carry.slice(2);
    }
  });
  let woke = false;
  const waiting = reader.next().then((item) => {
    woke = true;
    return item;
  });
  socket.write('x');
  await new Promise((resolve) => setImmediate(resolve));
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(woke, false);
  socket.write('yz');
  assert.equal(await waiting, 'xy');
  socket.end('w');
  assert.equal(await reader.next(), 'zw');
  assert.equal(await reader.next(), null);
  reader.detach();
});

test('SocketReader: pauses the socket at the high-water mark and resumes it once taken below', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket, asText, { highWaterBytes: 4 });
  socket.write('12');
  socket.write('34');
  await new Promise((resolve) => setImmediate(resolve));
  assert.equal(socket.isPaused(), true);
  assert.equal(reader.take(), '12');
  assert.equal(socket.isPaused(), false);
  assert.equal(reader.take(), '34');
  reader.detach();
});

test('SocketReader: what consume made before it threw comes first, then its error; reading stops', async () => {
  const socket = new PassThrough();
  let calls = 0;
  const reader = new SocketReader<string>(socket, (bytes, out) => {
    calls += 1;
    out.push(Buffer.from(bytes).toString());
    if (calls === 2) throw new Error('bad frame');
  });
  socket.write('ok');
  socket.write('bad');
  socket.write('after');
  assert.equal(await reader.next(), 'ok');
  assert.equal(await reader.next(), 'bad');
  await assert.rejects(reader.next(), /bad frame/);
  assert.throws(() => reader.take(), /bad frame/);
  assert.equal(calls, 2);
  assert.equal(socket.isPaused(), true);
  reader.detach();
});

test('SocketReader: interrupt() ends a waiting next(), and a socket error rejects next() and throws from take()', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket, asText);
  const waiting = reader.next();
  reader.interrupt();
  assert.equal(await waiting, null);
  reader.detach();

  const broken = new PassThrough();
  const failing = new SocketReader(broken, asText);
  const pending = failing.next();
  broken.destroy(new Error('connection reset'));
  await assert.rejects(pending, /connection reset/);
  assert.throws(() => failing.take(), /connection reset/);
  failing.detach();
});

test('SocketReader: detach() before a scheduled wake-up leaves nothing behind', async () => {
  const socket = new PassThrough();
  const reader = new SocketReader(socket, asText);
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

/** A loopback server whose accepted sockets go to `onSocket` (synchronously, as the Gantry server does). */
async function listen(onSocket: (socket: Socket) => void): Promise<{ server: Server; port: number }> {
  const server = createServer({ allowHalfOpen: true }, onSocket);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return { server, port: address.port };
}

/** Bytes 0..n-1 of a pseudo-random but fixed stream. */
function pattern(n: number): Buffer {
  const out = Buffer.allocUnsafe(n);
  let x = 12345;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

test('SocketReader: an accepted TCP socket reads into the reader\'s own reused buffer; copies of the reads give back the stream, with backpressure', async () => {
  const sent = pattern(3 * 1024 * 1024 + 17);
  const received: Buffer[] = [];
  let reuses: boolean | undefined;
  let reads = 0;
  let largest = 0;
  let firstBuffer: ArrayBufferLike | undefined;
  let sameBuffer = true;
  const done = new Promise<void>((resolve, reject) => {
    void listen((socket) => {
      const reader = new SocketReader<Buffer>(socket, (bytes, out) => {
        reads += 1;
        largest = Math.max(largest, bytes.byteLength);
        firstBuffer ??= bytes.buffer;
        if (bytes.buffer !== firstBuffer) sameBuffer = false;
        out.push(Buffer.from(bytes)); // a copy: the bytes are the reused buffer
      }, { highWaterBytes: 256 * 1024, readBufferBytes: 512 * 1024 });
      reuses = reader.reusesReadBuffer;
      void (async () => {
        // a slow reader: the socket is paused and resumed many times
        for (let item = await reader.next(); item !== null; item = await reader.next()) {
          received.push(item);
          if (received.length % 8 === 0) await new Promise((r) => setTimeout(r, 1));
        }
        reader.detach();
        socket.end();
      })().then(resolve, reject);
    }).then(({ server, port }) => {
      const client = createConnection(port, '127.0.0.1', () => {
        for (let at = 0; at < sent.length; at += 100_000) client.write(sent.subarray(at, at + 100_000));
        client.end();
      });
      client.resume();
      client.on('close', () => server.close());
    });
  });
  await done;
  assert.equal(reuses, true);
  assert.ok(sameBuffer, 'every read lands in the same buffer');
  assert.ok(largest <= 512 * 1024, `a read fits the buffer (largest ${largest})`);
  assert.ok(reads > 1);
  assert.ok(Buffer.concat(received).equals(sent), 'the bytes arrive whole and in order');
});

test('SocketReader: a TCP socket that someone else listens to keeps its \'data\' events for them too', async () => {
  const result = await new Promise<{ reuses: boolean; text: string; seen: string }>((resolve, reject) => {
    void listen((socket) => {
      let seen = '';
      socket.on('data', (chunk: Buffer) => {
        seen += chunk.toString();
      });
      const reader = new SocketReader(socket, asText);
      void (async () => {
        let text = '';
        for (let item = await reader.next(); item !== null; item = await reader.next()) text += item;
        reader.detach();
        socket.end();
        return { reuses: reader.reusesReadBuffer, text, seen };
      })().then(resolve, reject);
    }).then(({ server, port }) => {
      const client = createConnection(port, '127.0.0.1', () => client.end('abc'));
      client.resume();
      client.on('close', () => server.close());
    });
  });
  assert.equal(result.reuses, false);
  assert.equal(result.text, 'abc');
  assert.equal(result.seen, 'abc');
});

test('SocketReader: a TCP socket that already read uses its \'data\' chunks', async () => {
  const result = await new Promise<{ reuses: boolean; text: string }>((resolve, reject) => {
    void listen((socket) => {
      // someone read the first bytes before the reader came (as the worker proof does)
      socket.once('data', (first: Buffer) => {
        socket.pause();
        const reader = new SocketReader(socket, asText);
        void (async () => {
          let text = first.toString();
          for (let item = await reader.next(); item !== null; item = await reader.next()) text += item;
          reader.detach();
          socket.end();
          return { reuses: reader.reusesReadBuffer, text };
        })().then(resolve, reject);
      });
    }).then(({ server, port }) => {
      const client = createConnection(port, '127.0.0.1', () => {
        client.write('hello');
        setTimeout(() => client.end(' world'), 20);
      });
      client.resume();
      client.on('close', () => server.close());
    });
  });
  assert.equal(result.reuses, false);
  assert.equal(result.text, 'hello world');
});
