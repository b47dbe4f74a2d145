/**
 * In-process protocol sessions for the reliability tests (load, hostile
 * input, soak, crash isolation): a dataset read once and encoded once, sent
 * to a server as often as needed; raw byte exchanges; server memory.
 */
import { readFileSync } from 'node:fs';
import { GadgetronConnection } from '../../src/client/connection.js';
import { IsmrmrdFile } from '../../src/formats/index.js';
import type { Image } from '../../src/ismrmrd/types.js';
import {
  encodeAcquisition, encodeClose, encodeConfigFile, encodeConfigScript, encodeHeader, type Frame,
} from '../../src/protocol/index.js';

/** An ISMRMRD dataset ready to send: its header and its acquisitions as encoded frames. */
export interface EncodedDataset {
  headerXml: string;
  acquisitions: Uint8Array[];
  count: number;
}

/** Reads `file` (ISMRMRD HDF5) and encodes its acquisitions once. */
export function loadDataset(file: string, group = '/dataset'): EncodedDataset {
  const f = IsmrmrdFile.open(file, group);
  try {
    const headerXml = f.readHeader();
    if (headerXml === undefined) throw new Error(`${file} has no ISMRMRD header`);
    const count = f.acquisitionCount();
    const acquisitions: Uint8Array[] = [];
    for (const a of f.readAcquisitions(0, count)) acquisitions.push(...encodeAcquisition(a));
    return { headerXml, acquisitions, count };
  } finally {
    f.close();
  }
}

/** What one session brought back. */
export interface SessionResult {
  images: Image[];
  /** Texts from the server (errors and warnings). */
  texts: string[];
  /** The server sent CLOSE. */
  closed: boolean;
  /** Wall time from connect to CLOSE (ms). */
  ms: number;
}

/** How a session's config is named: a shipped or config-dir file name, or a script sent inline. */
export type SessionConfig = { name: string } | { script: string };

/** Runs one full session (config, header, data, close) and collects what comes back; gives up after `timeoutMs`. */
export async function reconSession(port: number, config: SessionConfig, data: EncodedDataset, timeoutMs = 60_000): Promise<SessionResult> {
  const started = performance.now();
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  const timer = setTimeout(() => connection.socket.destroy(new Error(`session did not finish within ${timeoutMs} ms`)), timeoutMs);
  const result: SessionResult = { images: [], texts: [], closed: false, ms: 0 };
  const reading = (async () => {
    for await (const frame of connection.frames() as AsyncIterable<Frame>) {
      if (frame.kind === 'image') result.images.push(frame.image);
      else if (frame.kind === 'text') result.texts.push(frame.text);
      else if (frame.kind === 'close') {
        result.closed = true;
        return;
      }
    }
  })();
  try {
    await connection.send('name' in config ? encodeConfigFile(config.name) : encodeConfigScript(config.script));
    await connection.send(encodeHeader(data.headerXml));
    await connection.send(data.acquisitions);
    await connection.send(encodeClose());
  } catch {
    // the server hung up early: what it said is in `result`
  }
  try {
    await reading;
  } finally {
    clearTimeout(timer);
    connection.close();
  }
  result.ms = performance.now() - started;
  return result;
}

/** What a raw exchange brought back. */
export interface ExchangeResult {
  texts: string[];
  /** The server sent CLOSE. */
  closed: boolean;
  /** The connection ended (CLOSE, FIN or reset) within the wait. */
  ended: boolean;
  /** Time until the connection ended, or until the wait ran out (ms). */
  ms: number;
}

/**
 * Writes `chunks` (each after `gapMs`, optionally half-closing after) and
 * collects texts until the server sends CLOSE or hangs up, or `waitMs` passes.
 */
export async function exchange(port: number, chunks: readonly Uint8Array[], options: { halfClose?: boolean; gapMs?: number; waitMs?: number } = {}): Promise<ExchangeResult> {
  const started = performance.now();
  const connection = await GadgetronConnection.open({ host: '127.0.0.1', port, timeoutMs: 10_000 });
  const texts: string[] = [];
  let closed = false;
  let ended = false;
  let stop = false;
  const timer = setTimeout(() => {
    stop = true;
    connection.socket.destroy();
  }, options.waitMs ?? 15_000);
  const writing = (async () => {
    for (const c of chunks) {
      if (stop || connection.socket.destroyed || connection.socket.writableEnded) return;
      if (options.gapMs) await new Promise((r) => setTimeout(r, options.gapMs));
      if (stop || connection.socket.destroyed) return;
      connection.socket.write(c, () => undefined);
    }
    if (options.halfClose && !connection.socket.destroyed) connection.socket.end();
  })();
  connection.socket.on('error', () => undefined);
  try {
    for await (const frame of connection.frames() as AsyncIterable<Frame>) {
      if (frame.kind === 'text') texts.push(frame.text);
      if (frame.kind === 'close') {
        closed = true;
        break;
      }
    }
    ended = !stop;
  } catch {
    ended = !stop;
  } finally {
    stop = true;
    clearTimeout(timer);
    connection.close();
  }
  await writing;
  return { texts, closed, ended, ms: performance.now() - started };
}

/** Resident memory of process `pid` in bytes (Linux /proc). */
export function residentBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(status);
  if (!m) throw new Error(`no VmRSS for process ${pid}`);
  return Number(m[1]) * 1024;
}

/** Normalised RMS difference of two pixel arrays (0 = identical). */
export function nrmse(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Number.POSITIVE_INFINITY;
  let num = 0;
  let den = 0;
  for (let i = 0; i < a.length; i++) {
    const d = (a[i] as number) - (b[i] as number);
    num += d * d;
    den += (b[i] as number) * (b[i] as number);
  }
  return den === 0 ? Math.sqrt(num) : Math.sqrt(num / den);
}

/** p-th percentile (0–100) of `values`, nearest rank. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((x, y) => x - y);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}
