import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import test from 'node:test';
import { emptyAcquisitionHeader, type Acquisition } from '../ismrmrd/types.js';
import { FrameDecoder, encodeAcquisition, encodeClose } from '../protocol/index.js';
import { GadgetronConnection } from './connection.js';

/** A server that decodes what it receives, pausing its reads now and then so the sender meets backpressure. */
async function slowDecodingServer(): Promise<{ port: number; received: Promise<{ acquisitions: number; closed: boolean }>; close: () => void }> {
  let resolveReceived: (r: { acquisitions: number; closed: boolean }) => void = () => undefined;
  const received = new Promise<{ acquisitions: number; closed: boolean }>((resolve) => {
    resolveReceived = resolve;
  });
  const sockets: Socket[] = [];
  const server = createServer((socket) => {
    sockets.push(socket);
    const decoder = new FrameDecoder();
    let acquisitions = 0;
    let chunks = 0;
    socket.on('data', (chunk: Buffer) => {
      for (const frame of decoder.push(chunk)) {
        if (frame.kind === 'acquisition') acquisitions += 1;
        if (frame.kind === 'close') {
          resolveReceived({ acquisitions, closed: true });
          socket.end();
        }
      }
      chunks += 1;
      if (chunks % 16 === 0) {
        socket.pause();
        setTimeout(() => socket.resume(), 1);
      }
    });
    socket.on('error', () => undefined);
    socket.on('end', () => resolveReceived({ acquisitions, closed: false }));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    received,
    close: () => {
      for (const s of sockets) s.destroy();
      server.close();
    },
  };
}

function smallAcquisition(index: number): Acquisition {
  const head = emptyAcquisitionHeader();
  head.number_of_samples = 16;
  head.active_channels = 1;
  head.available_channels = 1;
  head.scan_counter = index;
  return { kind: 'acquisition', head, traj: new Float32Array(0), data: new Float32Array(32).fill(index % 7) };
}

test('sending a 100k-acquisition stream under backpressure adds no listeners and emits no MaxListenersExceededWarning', { timeout: 60_000 }, async () => {
  const warnings: Error[] = [];
  const onWarning = (warning: Error): void => void warnings.push(warning);
  process.on('warning', onWarning);
  const server = await slowDecodingServer();
  // writeBufferBytes 0: wait for a drain every time the socket refuses a write, the case that used to leak
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port: server.port, timeoutMs: 5000, writeBufferBytes: 0 });
  try {
    let drains = 0;
    connection.socket.on('drain', () => void (drains += 1));
    const listeners = (): number[] => ['close', 'error', 'drain'].map((e) => connection.socket.listenerCount(e));
    const before = listeners();
    const count = 100_000;
    for (let i = 0; i < count; i++) await connection.send(encodeAcquisition(smallAcquisition(i)));
    await connection.send(encodeClose());
    assert.deepEqual(listeners(), before, 'send leaves no listeners behind');
    const result = await server.received;
    assert.deepEqual(result, { acquisitions: count, closed: true });
    assert.ok(drains >= 10, `the sender met backpressure (${drains} drains)`);
    await new Promise((resolve) => setImmediate(resolve));
    const leaks = warnings.filter((w) => w.name === 'MaxListenersExceededWarning');
    assert.deepEqual(leaks.map((w) => w.message), []);
  } finally {
    process.off('warning', onWarning);
    connection.close();
    server.close();
  }
});

test('send fails clearly once the server has closed the connection', { timeout: 20_000 }, async () => {
  const server = createServer((socket) => socket.destroy());
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port: (server.address() as AddressInfo).port, timeoutMs: 5000 });
  connection.socket.on('error', () => undefined);
  try {
    await once(connection.socket, 'close');
    await assert.rejects(connection.send(encodeClose()), /closed by the server/);
  } finally {
    connection.close();
    server.close();
  }
});

test('send waits for a drain once more than writeBufferBytes are queued, and sends everything in order', { timeout: 20_000 }, async () => {
  const server = await slowDecodingServer();
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port: server.port, timeoutMs: 5000, writeBufferBytes: 1 << 20 });
  try {
    const batch: Uint8Array[] = [];
    for (let i = 0; i < 3000; i++) batch.push(...encodeAcquisition(smallAcquisition(i)));
    await connection.send(batch);
    assert.ok(connection.socket.writableLength <= 1 << 20, `queued ${connection.socket.writableLength} bytes`);
    await connection.send(encodeClose());
    assert.deepEqual(await server.received, { acquisitions: 3000, closed: true });
  } finally {
    connection.close();
    server.close();
  }
});
