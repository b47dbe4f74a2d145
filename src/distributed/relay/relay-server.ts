/**
 * `gantry relay`: a worker registry compatible with the Python cloudbus
 * relay (dchansen/gadgetron_cloudbus) that Gadgetron 4's documentation
 * pairs with `GADGETRON_REMOTE_WORKER_COMMAND="curl <relay>:5000/cloudbus/workers"`.
 *
 * Routes:
 *   POST   /cloudbus/add_worker     {"port": "9002"} (or a number) → "OK"; stores "[<client address>]:<port>"
 *   GET    /cloudbus/workers        → JSON array of keys heard from within the expiry, e.g. ["[10.0.0.5]:9002"]
 *   POST   /cloudbus/remove_worker  {"port": "9002"} → "OK", 404 when not registered (Gantry extra)
 *   DELETE /cloudbus/workers/<key>  → "OK", 404 when not registered (Gantry extra; key "[host]:port" or "host:port")
 *   GET    /healthz                 → {"status":"ok","workers":<count>} (Gantry extra)
 * Errors answer {"error": "<message>"} with 400 (bad body), 404, 405, 413
 * or 503 (registry full).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../util/logger.js';
import { parsePort, parseWorkerAddress } from '../discovery/worker-list.js';

/** The Python relay's expiry: a worker not heard from for 5 minutes is dropped. */
export const DEFAULT_RELAY_EXPIRY_MS = 5 * 60_000;

/** The client address as the relay records it: an IPv4-mapped IPv6 address (`::ffff:10.0.0.5`) becomes IPv4. */
export function relayClientAddress(remoteAddress: string | undefined): string {
  const address = (remoteAddress ?? '').trim();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address.toLowerCase();
}

/** The relay's key for a worker: `[<address>]:<port>` (brackets even for IPv4, as the Python relay writes it). */
export function relayWorkerKey(address: string, port: number): string {
  return `[${address}]:${port}`;
}

/** Options of {@link RelayRegistry}. */
export interface RelayRegistryOptions {
  /** Entries not heard from for this long are dropped (ms, default 5 min). */
  expiryMs?: number;
  /** Monotonic clock in ms (tests). */
  now?: () => number;
  /** Most entries held (default 4096). */
  maxWorkers?: number;
}

/** In-memory worker registry with expiry; insertion order is kept (re-registering keeps a worker's place). */
export class RelayRegistry {
  private readonly lastHeard = new Map<string, number>();
  private readonly expiryMs: number;
  private readonly now: () => number;
  private readonly maxWorkers: number;

  constructor(options: RelayRegistryOptions = {}) {
    this.expiryMs = options.expiryMs ?? DEFAULT_RELAY_EXPIRY_MS;
    this.now = options.now ?? (() => performance.now());
    this.maxWorkers = options.maxWorkers ?? 4096;
    if (!(this.expiryMs > 0)) throw new RangeError(`Cannot create relay registry: expiry ${this.expiryMs} ms must be positive`);
  }

  /** Records that `key` was heard from now; false (nothing stored) when the registry is full. */
  touch(key: string): { added: boolean; stored: boolean } {
    if (this.lastHeard.has(key)) {
      this.lastHeard.set(key, this.now());
      return { added: false, stored: true };
    }
    this.prune();
    if (this.lastHeard.size >= this.maxWorkers) return { added: false, stored: false };
    this.lastHeard.set(key, this.now());
    return { added: true, stored: true };
  }

  /** Removes `key`; false when it was not registered. */
  remove(key: string): boolean {
    return this.lastHeard.delete(key);
  }

  /** Drops expired entries and returns the rest. */
  list(): string[] {
    this.prune();
    return [...this.lastHeard.keys()];
  }

  /** Drops entries older than the expiry; returns the dropped keys. */
  prune(): string[] {
    const cutoff = this.now() - this.expiryMs;
    const dropped: string[] = [];
    for (const [key, at] of this.lastHeard) {
      if (at < cutoff) {
        this.lastHeard.delete(key);
        dropped.push(key);
      }
    }
    return dropped;
  }
}

/** Options of {@link startRelayServer}. */
export interface RelayServerOptions extends RelayRegistryOptions {
  /** Address to bind (default 127.0.0.1). */
  host?: string;
  /** Port (default 5000, the Python relay's; 0 = any free port). */
  port?: number;
  log: Logger;
}

/** A running relay. */
export interface RelayServer {
  /** Base URL, e.g. http://127.0.0.1:5000. */
  readonly url: string;
  readonly address: AddressInfo;
  readonly registry: RelayRegistry;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 16 * 1024;

class HttpError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string, contentType: string): void {
  res.writeHead(status, { 'content-type': contentType, 'content-length': Buffer.byteLength(body), 'cache-control': 'no-store' });
  res.end(body);
}

function sendJson(res: ServerResponse, status: number, value: unknown): void {
  send(res, status, `${JSON.stringify(value)}\n`, 'application/json');
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `Cannot read request: the body exceeds ${MAX_BODY_BYTES} bytes`);
    chunks.push(buf);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Reads `{"port": "<port>"}` (a number is accepted too); throws HttpError(400) with a clear message otherwise. */
async function readPort(req: IncomingMessage, action: string): Promise<number> {
  const text = await readBody(req);
  const expected = 'expected a JSON body {"port": "<port>"}';
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, `Cannot ${action}: the body is not JSON; ${expected}`);
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new HttpError(400, `Cannot ${action}: ${expected}`);
  if (!('port' in body) || body.port === null || body.port === undefined || body.port === '') {
    throw new HttpError(400, `Cannot ${action}: "port" is missing; ${expected}`);
  }
  const raw: unknown = body.port;
  const port = typeof raw === 'number' ? (Number.isInteger(raw) && raw >= 1 && raw <= 65535 ? raw : undefined)
    : typeof raw === 'string' ? parsePort(raw) : undefined;
  if (port === undefined) throw new HttpError(400, `Cannot ${action}: "port" must be an integer from 1 to 65535, got ${JSON.stringify(raw)}`);
  return port;
}

function keyFromPath(segment: string): string {
  let text: string;
  try {
    text = decodeURIComponent(segment);
  } catch {
    throw new HttpError(400, `Cannot remove worker: ${JSON.stringify(segment)} is not a valid URL path segment`);
  }
  try {
    const { host, port } = parseWorkerAddress(text);
    if (!/:\d+$/.test(text)) throw new RangeError('no port');
    return relayWorkerKey(host, port);
  } catch {
    throw new HttpError(400, `Cannot remove worker: ${JSON.stringify(text)} is not "[host]:port"`);
  }
}

/** The relay's request handler over `registry` (exported for embedding). */
export function relayRequestHandler(registry: RelayRegistry, log: Logger): (req: IncomingMessage, res: ServerResponse) => void {
  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://relay');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    const allow = (methods: string): void => {
      if (!methods.split(', ').includes(method)) {
        res.setHeader('allow', methods);
        throw new HttpError(405, `Cannot ${method} ${path}: allowed ${methods}`);
      }
    };
    if (path === '/cloudbus/add_worker') {
      allow('POST');
      const port = await readPort(req, 'register worker');
      const key = relayWorkerKey(relayClientAddress(req.socket.remoteAddress), port);
      const { added, stored } = registry.touch(key);
      if (!stored) throw new HttpError(503, 'Cannot register worker: the relay holds the most workers it allows');
      if (added) log.info('worker registered', { worker: key });
      else log.debug('worker heard from', { worker: key });
      send(res, 200, 'OK', 'text/plain; charset=utf-8');
    } else if (path === '/cloudbus/remove_worker') {
      allow('POST');
      const port = await readPort(req, 'remove worker');
      const key = relayWorkerKey(relayClientAddress(req.socket.remoteAddress), port);
      if (!registry.remove(key)) throw new HttpError(404, `Cannot remove worker ${key}: not registered`);
      log.info('worker deregistered', { worker: key });
      send(res, 200, 'OK', 'text/plain; charset=utf-8');
    } else if (path === '/cloudbus/workers') {
      allow('GET, HEAD');
      for (const key of registry.prune()) log.info('worker expired', { worker: key });
      sendJson(res, 200, registry.list());
    } else if (path.startsWith('/cloudbus/workers/')) {
      allow('DELETE');
      const key = keyFromPath(path.slice('/cloudbus/workers/'.length));
      if (!registry.remove(key)) throw new HttpError(404, `Cannot remove worker ${key}: not registered`);
      log.info('worker deregistered', { worker: key });
      send(res, 200, 'OK', 'text/plain; charset=utf-8');
    } else if (path === '/healthz') {
      allow('GET, HEAD');
      sendJson(res, 200, { status: 'ok', workers: registry.list().length });
    } else {
      throw new HttpError(404, `Cannot find ${path}`);
    }
  };
  return (req, res) => {
    route(req, res).catch((err: unknown) => {
      const status = err instanceof HttpError ? err.status : 500;
      const text = err instanceof Error ? err.message : String(err);
      if (status === 500) log.error('relay request failed', { error: text });
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (status === 413) {
        res.setHeader('connection', 'close');
        res.once('finish', () => req.destroy());
      }
      sendJson(res, status, { error: text });
    });
  };
}

/** Starts a relay HTTP server; resolves once it listens. */
export async function startRelayServer(options: RelayServerOptions): Promise<RelayServer> {
  const registry = new RelayRegistry(options);
  const server: Server = createServer(relayRequestHandler(registry, options.log));
  server.requestTimeout = 10_000;
  server.headersTimeout = 10_000;
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 5000, options.host ?? '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const host = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${host}:${address.port}`,
    address,
    registry,
    close: () => new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeIdleConnections();
    }),
  };
}
