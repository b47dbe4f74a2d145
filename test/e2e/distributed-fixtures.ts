/**
 * Helpers of the distributed end-to-end tests: phantom data, an in-test
 * client that keeps images and texts in memory, bit-for-bit image
 * comparison, job records from a gateway's log, and fake workers (one that
 * accepts and never answers, one that reports an error, a refused port, a
 * delaying proxy).
 */
import assert from 'node:assert/strict';
import { createServer, connect, type Server, type Socket } from 'node:net';
import { join } from 'node:path';
import { IsmrmrdFile } from '../../src/formats/index.js';
import type { Acquisition, Image } from '../../src/ismrmrd/types.js';
import { GadgetronConnection } from '../../src/client/connection.js';
import {
  concatChunks, encodeAcquisition, encodeClose, encodeConfigFile, encodeConfigScript, encodeHeader, encodeImage, encodeText, FrameDecoder,
} from '../../src/protocol/index.js';
import type { JobRecord } from '../../src/distributed/nodes/types.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { GANTRY_BIN, runGantry, startGantryServer, type ServerProcess } from '../helpers/gantry-process.js';

/** A scan in memory. */
export interface Scan {
  header: string;
  acquisitions: Acquisition[];
}

/** Makes a phantom with `gantry phantom` and loads it. */
export async function makeScan(dir: string, args: string[]): Promise<Scan> {
  const file = join(dir, `phantom-${args.join('_').replace(/[^\w]/g, '')}.h5`);
  const run = await runGantry(['phantom', '-o', file, '-f', ...args], 60_000);
  assert.equal(run.code, 0, run.stderr);
  const f = IsmrmrdFile.open(file);
  try {
    const header = f.readHeader();
    assert.ok(header, 'the phantom has no header');
    return { header, acquisitions: f.readAcquisitions(0, f.acquisitionCount()) };
  } finally {
    f.close();
  }
}

/** What a reconstruction returned. */
export interface ReconResult {
  images: Image[];
  /** TEXT messages (warnings and errors). */
  texts: string[];
  ms: number;
}

/** Options of {@link reconstruct}. */
export interface ReconOptions {
  /** Called before each acquisition is sent (to pace the scan). */
  beforeSend?: (index: number, acquisition: Acquisition) => Promise<void>;
  timeoutMs?: number;
}

/** Sends `scan` to a server with config `config` (a config name, or configuration XML sent as a script) and collects everything until CLOSE. */
export async function reconstruct(port: number, config: string, scan: Scan, options: ReconOptions = {}): Promise<ReconResult> {
  const started = performance.now();
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port, timeoutMs: 5_000 });
  const images: Image[] = [];
  const texts: string[] = [];
  const timeoutMs = options.timeoutMs ?? 60_000;
  let timer: NodeJS.Timeout | undefined;
  try {
    const receive = (async () => {
      for await (const frame of connection.frames()) {
        if (frame.kind === 'image') images.push(frame.image);
        else if (frame.kind === 'text') texts.push(frame.text);
        else if (frame.kind === 'close') return;
      }
      throw new Error('the server hung up without CLOSE');
    })();
    const send = (async () => {
      const configFrames = config.trimStart().startsWith('<') ? encodeConfigScript(config) : encodeConfigFile(config);
      await connection.send([...configFrames, ...encodeHeader(scan.header)]);
      for (let i = 0; i < scan.acquisitions.length; i++) {
        const acquisition = scan.acquisitions[i] as Acquisition;
        await options.beforeSend?.(i, acquisition);
        await connection.send(encodeAcquisition(acquisition));
      }
      await connection.send(encodeClose());
    })();
    send.catch(() => undefined);
    await Promise.race([
      Promise.all([send, receive]),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${config.slice(0, 60)}: no CLOSE within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
  } finally {
    if (timer) clearTimeout(timer);
    connection.close();
  }
  return { images, texts, ms: performance.now() - started };
}

/** The wire bytes of an image (header, meta and pixels), for bit-for-bit comparison. */
export function imageKey(image: Image): string {
  return Buffer.from(concatChunks(encodeImage(image))).toString('base64');
}

/** Asserts the same images in the same order, bit for bit, each exactly once. */
export function assertSameImages(actual: readonly Image[], expected: readonly Image[], what: string): void {
  assert.ok(expected.length > 0, `${what}: the reference has no images`);
  assert.equal(actual.length, expected.length, `${what}: ${actual.length} images instead of ${expected.length}`);
  const a = actual.map(imageKey);
  const e = expected.map(imageKey);
  assert.equal(new Set(a).size, a.length, `${what}: an image arrived twice`);
  for (let i = 0; i < e.length; i++) {
    assert.ok(a[i] === e[i], `${what}: image ${i} (series ${expected[i]?.head.image_series_index}, slice ${expected[i]?.head.slice}, phase ${expected[i]?.head.phase}) differs from the single-node run`);
  }
}

/** TEXT messages that report errors (`[…] ERROR: …`). */
export function errorTexts(result: ReconResult): string[] {
  return result.texts.filter((t) => /\] ERROR: /.test(t));
}

/** The gateway's job records (log lines "distributed job attempt"). */
export function jobRecords(server: ServerProcess): JobRecord[] {
  const out: JobRecord[] = [];
  for (const line of server.logs().split('\n')) {
    if (!line.includes('"distributed job attempt"')) continue;
    const record = JSON.parse(line) as JobRecord;
    out.push(record);
  }
  return out;
}

/** Per session of a gateway, in order: how many job attempts it recorded and the completed jobs per worker (log lines "session ended"). */
export function sessionJobs(server: ServerProcess): { jobs: number; workers: Record<string, number> }[] {
  const out: { jobs: number; workers: Record<string, number> }[] = [];
  for (const line of server.logs().split('\n')) {
    if (!line.includes('"session ended"')) continue;
    const record = JSON.parse(line) as { jobs?: number; workers?: Record<string, number> };
    out.push({ jobs: record.jobs ?? 0, workers: record.workers ?? {} });
  }
  return out;
}

/** Polls `condition` every 20 ms until it holds; fails after `timeoutMs`. */
export async function waitUntil(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const end = performance.now() + timeoutMs;
  while (!condition()) {
    if (performance.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

/** Completed jobs per worker. */
export function jobsPerWorker(records: readonly JobRecord[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const r of records) if (r.outcome === 'ok') out.set(r.worker, (out.get(r.worker) ?? 0) + 1);
  return out;
}

/** Starts `n` plain Gantry servers to act as workers. */
export function startWorkers(n: number, args: string[] = []): Promise<ServerProcess[]> {
  return Promise.all(Array.from({ length: n }, () => startGantryServer(args)));
}

/** `host:port` of a server on 127.0.0.1. */
export function address(port: number): string {
  return `127.0.0.1:${port}`;
}

/** A TCP server in the test process. */
export interface FakeWorker {
  port: number;
  /** Connections accepted so far. */
  connections: number;
  close(): Promise<void>;
}

async function listen(server: Server, sockets: Set<Socket>): Promise<number> {
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('error', () => undefined);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  const a = server.address();
  assert.ok(a && typeof a === 'object');
  return a.port;
}

function closer(server: Server, sockets: Set<Socket>): () => Promise<void> {
  return async () => {
    for (const s of sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
}

/** A worker that accepts connections, reads everything, and never answers. */
export async function startSilentWorker(): Promise<FakeWorker> {
  const sockets = new Set<Socket>();
  const fake: FakeWorker = { port: 0, connections: 0, close: async () => undefined };
  const server = createServer((socket) => {
    fake.connections += 1;
    socket.resume();
  });
  fake.port = await listen(server, sockets);
  fake.close = closer(server, sockets);
  return fake;
}

/** A worker that reads the config and header, then reports `[…] ERROR: boom` and closes, as a failing Gadgetron does. */
export async function startErrorWorker(afterMessages = 3): Promise<FakeWorker> {
  const sockets = new Set<Socket>();
  const fake: FakeWorker = { port: 0, connections: 0, close: async () => undefined };
  const server = createServer((socket) => {
    fake.connections += 1;
    const decoder = new FrameDecoder();
    let seen = 0;
    let done = false;
    socket.on('data', (chunk: Buffer) => {
      if (done) return;
      for (const frame of decoder.push(chunk)) {
        seen += 1;
        if (seen >= 2 + afterMessages || frame.kind === 'close') {
          done = true;
          for (const c of [...encodeText('[Connection Main Thread/worker/Recon] ERROR: boom'), ...encodeClose()]) socket.write(c);
          socket.end();
          return;
        }
      }
    });
  });
  fake.port = await listen(server, sockets);
  fake.close = closer(server, sockets);
  return fake;
}

/** A port on 127.0.0.1 where nothing listens. */
export async function refusedPort(): Promise<number> {
  const server = createServer();
  const port = await listen(server, new Set());
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A TCP proxy to `targetPort` that holds each chunk from the worker for `delayMs` (a slow worker). */
export async function startDelayProxy(targetPort: number, delayMs: number): Promise<FakeWorker> {
  const sockets = new Set<Socket>();
  const fake: FakeWorker = { port: 0, connections: 0, close: async () => undefined };
  const server = createServer((client) => {
    fake.connections += 1;
    const upstream = connect({ host: '127.0.0.1', port: targetPort });
    sockets.add(upstream);
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
    client.pipe(upstream);
    let chain = Promise.resolve();
    upstream.on('data', (chunk: Buffer) => {
      chain = chain.then(() => new Promise<void>((resolve) => setTimeout(() => {
        if (!client.destroyed) client.write(chunk);
        resolve();
      }, delayMs)));
    });
    upstream.on('end', () => {
      chain = chain.then(() => {
        client.end();
      });
    });
    client.on('close', () => upstream.destroy());
  });
  fake.port = await listen(server, sockets);
  fake.close = closer(server, sockets);
  return fake;
}

/** A running `gantry relay`. */
export interface RelayProcess {
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

/** Starts `gantry relay` on an ephemeral port of 127.0.0.1. */
export async function startRelay(): Promise<RelayProcess> {
  const child = spawn(process.execPath, [GANTRY_BIN, 'relay', '--port', '0', '--host', '127.0.0.1'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`gantry relay did not start:\n${err}`)), 15_000);
    child.stderr?.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /"msg":"gantry relay listening"[^\n]*"url":"([^"]+)"/.exec(err);
      if (m) {
        clearTimeout(timer);
        resolve(m[1] as string);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gantry relay exited with ${code}:\n${err}`));
    });
  });
  return {
    url,
    child,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      await exited;
    },
  };
}

/** The gateway logged that the pool found (or lost) `worker`. */
export function poolLogged(gateway: ServerProcess, what: 'worker discovered' | 'worker left discovery', worker: string): boolean {
  return gateway.logs().split('\n').some((line) => line.includes(`"msg":"${what}"`) && line.includes(`"worker":"${worker}"`));
}

/** Index (0-based) of the (repetition, slice) block each acquisition belongs to, in scan order. */
export function blockIndex(scan: Scan): number[] {
  const out: number[] = [];
  let key = '';
  let block = -1;
  for (const a of scan.acquisitions) {
    const k = `${a.head.idx.repetition}/${a.head.idx.slice}`;
    if (k !== key) {
      key = k;
      block += 1;
    }
    out.push(block);
  }
  return out;
}
