/**
 * Fixtures of the HTTP-side tests: a phantom scan in memory, a streaming
 * client that sends it in steps (so a session stays open while the test
 * looks at the server), HTTP helpers; re-exports the Prometheus text parser.
 */
import { join } from 'node:path';
import { GadgetronConnection } from '../../src/client/connection.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import type { Acquisition, Image } from '../../src/ismrmrd/types.js';
import { generatePhantom } from '../../src/phantom/index.js';
import type { PhantomOptions } from '../../src/phantom/options.js';
import { encodeAcquisition, encodeClose, encodeConfigFile, encodeHeader, type Frame } from '../../src/protocol/index.js';

/** A dataset in memory. */
export interface Scan {
  path: string;
  xml: string;
  acquisitions: Acquisition[];
}

/** Writes a phantom scan to `dir/name` and reads it back. */
export async function phantomScan(dir: string, name: string, options: Omit<PhantomOptions, 'output'>): Promise<Scan> {
  const path = join(dir, name);
  await generatePhantom({ noise: 0.01, seed: 7, ...options, output: path });
  const f = IsmrmrdFile.open(path);
  try {
    return { path, xml: f.readHeader() as string, acquisitions: f.readAcquisitions(0, f.acquisitionCount()) };
  } finally {
    f.close();
  }
}

/** A client session sent in steps. */
export class SteppedSession {
  readonly images: Image[] = [];
  readonly texts: string[] = [];
  closed = false;
  private readonly reading: Promise<void>;

  private constructor(private readonly connection: GadgetronConnection) {
    this.reading = (async () => {
      for await (const frame of connection.frames() as AsyncIterable<Frame>) {
        if (frame.kind === 'image') this.images.push(frame.image);
        else if (frame.kind === 'text') this.texts.push(frame.text);
        else if (frame.kind === 'close') {
          this.closed = true;
          return;
        }
      }
    })().catch(() => undefined);
  }

  /** Connects and sends the config name and the header. */
  static async start(port: number, config: string, xml: string): Promise<SteppedSession> {
    const connection = await GadgetronConnection.open({ host: '127.0.0.1', port });
    await connection.send([...encodeConfigFile(config), ...encodeHeader(xml)]);
    return new SteppedSession(connection);
  }

  /** Sends acquisitions. */
  async send(acquisitions: readonly Acquisition[]): Promise<void> {
    for (const a of acquisitions) await this.connection.send(encodeAcquisition(a));
  }

  /** Sends CLOSE and waits for the server's CLOSE. */
  async finish(): Promise<void> {
    await this.connection.send(encodeClose());
    await this.reading;
    this.connection.close();
  }

  /** Drops the connection without CLOSE. */
  abort(): void {
    this.connection.close();
  }
}

/** Polls `check` until it returns a value other than undefined (or throws after `timeoutMs`). */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, everyMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** GET as JSON. */
export async function getJson<T>(port: number, path: string): Promise<T> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}

/** GET as bytes, with the response. */
export async function getBytes(port: number, path: string): Promise<{ status: number; headers: Headers; bytes: Uint8Array }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, headers: res.headers, bytes: new Uint8Array(await res.arrayBuffer()) };
}

export { parsePrometheusText, sampleValue, type Exposition, type Sample } from '../helpers/prometheus-text.js';
