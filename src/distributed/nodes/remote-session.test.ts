import test from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type AddressInfo } from 'node:net';
import { makeAcquisition } from '../../gadgets/testing.js';
import { encodeAcquisition, encodeClose, encodeText, FrameDecoder } from '../../protocol/index.js';
import { RemoteSession, tcpConnector, WorkerError } from './remote-session.js';

const link = { readerIds: new Set([1008]), writerKinds: new Set(['acquisition' as const]) };

test('tcp connector: a refused port is a connect WorkerError naming the worker', async () => {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((r) => server.close(() => r()));
  await assert.rejects(tcpConnector({ id: `127.0.0.1:${port}`, host: '127.0.0.1', port }, 1_000),
    (err: unknown) => err instanceof WorkerError && err.kind === 'connect' && /Cannot connect to worker 127\.0\.0\.1:\d+: ECONNREFUSED/.test(err.message));
});

test('remote session over TCP: CONFIG and HEADER first, messages back until CLOSE, worker notes kept', async () => {
  const seen: string[] = [];
  let received = 0;
  let sentBack = 0;
  const server = createServer((socket) => {
    const decoder = new FrameDecoder();
    const write = socket.write.bind(socket);
    socket.write = ((chunk: Uint8Array) => {
      sentBack += chunk.length;
      return write(chunk);
    }) as typeof socket.write;
    socket.on('data', (chunk: Buffer) => {
      received += chunk.length;
      for (const frame of decoder.push(chunk)) {
        seen.push(frame.kind);
        if (frame.kind === 'acquisition') for (const c of encodeAcquisition(frame.acquisition)) socket.write(c);
        if (frame.kind === 'close') {
          for (const c of [...encodeText('[worker] WARNING: slow disk'), ...encodeClose()]) socket.write(c);
          socket.end();
        }
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  try {
    const session = await RemoteSession.open({
      endpoint: { id: `127.0.0.1:${port}`, host: '127.0.0.1', port }, connector: tcpConnector, connectTimeoutMs: 1_000,
      configXml: '<configuration/>', headerXml: '<ismrmrdHeader/>', link,
    });
    const got: number[] = [];
    const reading = (async () => {
      for await (const m of session.messages()) got.push(m.kind === 'acquisition' ? m.head.scan_counter : -1);
    })();
    for (let i = 0; i < 3; i++) assert.equal(await session.send(makeAcquisition({ samples: 4, scanCounter: i })), true);
    assert.equal(await session.send({ kind: 'text', text: 'not written' }), false);
    await session.closeInput();
    await reading;
    assert.deepEqual(got, [0, 1, 2]);
    assert.deepEqual(seen, ['config-script', 'header', 'acquisition', 'acquisition', 'acquisition', 'close']);
    assert.deepEqual(session.notes, ['[worker] WARNING: slow disk']);
    assert.ok(received > 0 && sentBack > 0);
    assert.equal(session.bytesSent, received, 'bytes sent = bytes the worker read');
    assert.equal(session.bytesReceived, sentBack, 'bytes received = bytes the worker wrote');
  } finally {
    await new Promise<void>((r) => server.close(() => r()));
  }
});
