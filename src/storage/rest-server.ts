/**
 * `gantry storage`: the mrd-storage-server REST API over a DependencyStore
 * (normally the folder store), so a cluster can run one storage service
 * that Gantry and Gadgetron instances share.
 *
 * Routes (as mrd-storage-server documents them):
 *   POST /v1/blobs/data?<tags>[&_ttl=48h]     → 201 + item JSON
 *   GET  /v1/blobs?<tags>[&_limit&_ct&_at]    → {"items":[…],"nextLink"?}
 *   GET  /v1/blobs/data/latest?<tags>[&_at]   → 200 data + Mrd-Tag-* headers, 404 when none
 *   GET  /v1/blobs/<id>                       → item JSON
 *   GET  /v1/blobs/<id>/data                  → data (served up to 30 min after expiry)
 *   GET  /healthcheck                         → {"status":"OK"} or 503
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from '../util/logger.js';
import { itemJson, normalizedParams, parseGoDuration, tagsFromParams, NULL_SUBJECT } from './tags.js';
import { StorageError, type DependencyStore, type StorageTags, type StoredBlob, type StoredItem } from './types.js';

/** Options of {@link StorageHttpServer}. */
export interface StorageHttpServerOptions {
  store: DependencyStore;
  host: string;
  port: number;
  log: Logger;
  /** Largest blob accepted (bytes, default 1 GiB). */
  maxBlobBytes?: number;
}

const DATA_GRACE_SECONDS = 30 * 60;

class HttpError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

/** An HTTP server speaking the mrd-storage-server API. */
export class StorageHttpServer {
  private readonly server: Server;
  private readonly maxBlobBytes: number;

  constructor(private readonly options: StorageHttpServerOptions) {
    this.maxBlobBytes = options.maxBlobBytes ?? 1 << 30;
    this.server = createServer((req, res) => {
      const started = Date.now();
      this.route(req, res)
        .catch((err: unknown) => this.fail(res, err))
        .finally(() => {
          options.log.debug('storage request', { method: req.method, route: routeName(req.url), status: res.statusCode, ms: Date.now() - started });
        });
    });
    this.server.on('clientError', (_err, socket) => socket.destroy());
  }

  /** Starts listening; resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(this.options.port, this.options.host, () => {
        this.server.off('error', onError);
        resolve();
      });
    });
    return this.server.address() as AddressInfo;
  }

  /** Stops accepting and closes idle connections. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => {
      this.server.close(() => resolve());
      this.server.closeIdleConnections();
    });
  }

  private async route(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const path = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const method = req.method ?? 'GET';
    const base = `http://${req.headers.host ?? `${this.options.host}:${this.options.port}`}/v1`;
    if (path === '/healthcheck') {
      if (method !== 'GET' && method !== 'HEAD') return methodNotAllowed(res, 'GET');
      return this.health(res);
    }
    if (path === '/v1/blobs/data') {
      if (method !== 'POST') return methodNotAllowed(res, 'POST');
      return this.create(req, res, url, base);
    }
    if (path === '/v1/blobs') {
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      return this.search(res, url, base);
    }
    if (path === '/v1/blobs/data/latest') {
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      return this.latest(res, url, base);
    }
    const m = /^\/v1\/blobs\/([^/]+)(\/data)?$/.exec(path);
    if (m) {
      if (method !== 'GET') return methodNotAllowed(res, 'GET');
      let id: string;
      try {
        id = decodeURIComponent(m[1] as string);
      } catch {
        return empty(res, 404);
      }
      if (m[2]) {
        const blob = await this.options.store.read(id, { graceSeconds: DATA_GRACE_SECONDS });
        if (!blob) return empty(res, 404);
        return sendBlob(res, blob);
      }
      const item = await this.options.store.item(id);
      if (!item) return empty(res, 404);
      return sendJson(res, 200, itemJson(item, base));
    }
    return empty(res, 404);
  }

  private async health(res: ServerResponse): Promise<void> {
    try {
      await this.options.store.health();
      sendJson(res, 200, { status: 'OK' });
    } catch (err) {
      this.options.log.warn('storage health check failed', { error: err instanceof Error ? err.message : String(err) });
      sendJson(res, 503, { status: 'Service Unavailable', errors: { blobStore: err instanceof Error ? err.message : String(err) } });
    }
  }

  private async create(req: IncomingMessage, res: ServerResponse, url: URL, base: string): Promise<void> {
    const params = normalizedParams(url.searchParams);
    const subject = params.get('subject');
    if (!subject) {
      throw new HttpError(400, 'InvalidTag', `The subject tag is missing and must be provided. If no subject is associated with the blob, specify \`${NULL_SUBJECT}\``);
    }
    if (subject.length !== 1) throw new HttpError(400, 'InvalidSubject', "only one value for tag 'subject' can be given");
    if (subject[0] === '') throw new HttpError(400, 'InvalidSubject', 'the subject tag cannot be empty');
    for (const name of params.keys()) {
      if (name.startsWith('_') && name !== '_ttl') throw new HttpError(400, 'InvalidTag', `tag name '${name}' is invalid: it must start with a letter a-z, followed by up to 63 letters, digits, hyphens or underscores`);
    }
    let ttlSeconds: number | undefined;
    let tags: StorageTags;
    try {
      for (const t of params.get('_ttl') ?? []) {
        const seconds = parseGoDuration(t);
        ttlSeconds ??= seconds;
      }
      tags = tagsFromParams(params, true).tags;
    } catch (err) {
      if (err instanceof StorageError) throw new HttpError(400, 'InvalidTag', err.message);
      throw err;
    }
    const length = Number(req.headers['content-length'] ?? NaN);
    if (Number.isFinite(length) && length > this.maxBlobBytes) {
      req.resume();
      throw new HttpError(413, 'TooLarge', `The blob is larger than ${this.maxBlobBytes} bytes`);
    }
    const data = await readBody(req, this.maxBlobBytes);
    const contentType = req.headers['content-type'];
    const item = await this.options.store.store(tags, data, {
      ...(ttlSeconds === undefined ? {} : { ttlSeconds }),
      ...(contentType ? { contentType } : {}),
    });
    sendJson(res, 201, itemJson(item, base));
  }

  private searchParameters(url: URL): { params: Map<string, string[]>; at?: Date; limit?: number; continuation?: string } {
    const params = normalizedParams(url.searchParams);
    if (!params.has('subject')) {
      throw new HttpError(400, 'InvalidQuery', `'subject' query parameter is mandatory. To search for blobs not associated with a subject, you can specify 'subject=${NULL_SUBJECT}'`);
    }
    let at: Date | undefined;
    const atValues = params.get('_at');
    if (atValues) {
      if (atValues.length > 1) throw new HttpError(400, 'InvalidParameter', "The '_at' parameter was specified multiple times in the URL.");
      const parsed = parseRfc3339(atValues[0] as string);
      if (!parsed) throw new HttpError(400, 'InvalidParameter', "The format of the '_at' parameter is invalid");
      at = parsed;
    }
    const limitValues = params.get('_limit');
    const limit = limitValues ? Number.parseInt(limitValues[0] as string, 10) : undefined;
    const ct = params.get('_ct');
    if (ct && ct.length > 1) throw new HttpError(400, 'InvalidContinuationToken', "The '_ct' parameter was specified multiple times in the URL.");
    return {
      params,
      ...(at === undefined ? {} : { at }),
      ...(limit === undefined || Number.isNaN(limit) ? {} : { limit }),
      ...(ct ? { continuation: ct[0] as string } : {}),
    };
  }

  private async search(res: ServerResponse, url: URL, base: string): Promise<void> {
    const { params, at, limit, continuation } = this.searchParameters(url);
    let query;
    try {
      query = tagsFromParams(params, false);
    } catch (err) {
      if (err instanceof StorageError) throw new HttpError(400, 'InvalidQuery', err.message);
      throw err;
    }
    let page: { items: StoredItem[]; continuation?: string } = { items: [] };
    if (!query.impossible) {
      try {
        page = await this.options.store.list(query.tags, {
          ...(at === undefined ? {} : { at }),
          ...(limit === undefined ? {} : { limit }),
          ...(continuation === undefined ? {} : { continuation }),
        });
      } catch (err) {
        if (err instanceof StorageError && err.code === 'INVALID_TAGS') throw new HttpError(400, 'InvalidContinuationToken', "The'_ct' parameter is invalid.");
        throw err;
      }
    }
    const body: { items: Record<string, unknown>[]; nextLink?: string } = { items: page.items.map((it) => itemJson(it, base)) };
    if (page.continuation !== undefined) {
      const next = new URLSearchParams(url.searchParams);
      next.set('_ct', page.continuation);
      body.nextLink = `${base.slice(0, -'/v1'.length)}${url.pathname}?${next}`;
    }
    sendJson(res, 200, body);
  }

  private async latest(res: ServerResponse, url: URL, base: string): Promise<void> {
    const { params, at } = this.searchParameters(url);
    let query;
    try {
      query = tagsFromParams(params, false);
    } catch (err) {
      if (err instanceof StorageError) throw new HttpError(400, 'InvalidQuery', err.message);
      throw err;
    }
    const blob = query.impossible ? undefined : await this.options.store.latest(query.tags, at === undefined ? {} : { at });
    if (!blob) return sendJson(res, 404, errorBody('EmptyResults', 'The search returned no results.'));
    res.setHeader('Location', `${base}/blobs/${encodeURIComponent(blob.item.id)}`);
    sendBlob(res, blob);
  }

  private fail(res: ServerResponse, err: unknown): void {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    if (err instanceof HttpError) {
      sendJson(res, err.status, errorBody(err.code, err.message));
      return;
    }
    this.options.log.error('storage request failed', { error: err instanceof Error ? err.message : String(err) });
    empty(res, 500);
  }
}

function errorBody(code: string, message: string): { error: { code: string; message: string } } {
  return { error: { code, message } };
}

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = `${JSON.stringify(body)}\n`;
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

function empty(res: ServerResponse, status: number): void {
  res.writeHead(status, { 'Content-Length': 0 });
  res.end();
}

function methodNotAllowed(res: ServerResponse, allow: string): void {
  res.writeHead(405, { Allow: allow, 'Content-Length': 0 });
  res.end();
}

/** `Mrd-Tag-` plus the tag name in canonical header form (`measurement` → `Mrd-Tag-Measurement`). */
function tagHeader(name: string): string {
  return `Mrd-Tag-${name.replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase())}`;
}

function sendBlob(res: ServerResponse, blob: StoredBlob): void {
  const { item, data } = blob;
  const headers: Record<string, string | string[]> = {
    'Content-Type': item.contentType ?? 'application/octet-stream',
    'Last-Modified': item.createdAt.toUTCString(),
  };
  if (item.expiresAt) headers.Expires = item.expiresAt.toUTCString();
  const tags: [string, string[]][] = [['subject', [item.tags.subject]]];
  if (item.tags.device !== undefined) tags.push(['device', [item.tags.device]]);
  if (item.tags.name !== undefined) tags.push(['name', [item.tags.name]]);
  if (item.tags.session !== undefined) tags.push(['session', [item.tags.session]]);
  for (const [name, values] of Object.entries(item.tags.custom ?? {})) tags.push([name, [...values]]);
  for (const [name, values] of tags) {
    if (values.every((v) => /^[\t\x20-\x7e\x80-\xff]*$/.test(v))) headers[tagHeader(name)] = values.length === 1 ? (values[0] as string) : values;
  }
  res.writeHead(200, { ...headers, 'Content-Length': data.byteLength });
  res.end(Buffer.from(data.buffer, data.byteOffset, data.byteLength));
}

function readBody(req: IncomingMessage, limit: number): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        req.destroy();
        reject(new HttpError(413, 'TooLarge', `The blob is larger than ${limit} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => {
      const all = Buffer.concat(chunks);
      resolve(new Uint8Array(all.buffer, all.byteOffset, all.byteLength));
    });
    req.once('error', reject);
  });
}

function parseRfc3339(text: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/i.test(text)) return undefined;
  const d = new Date(text);
  return Number.isNaN(d.getTime()) ? undefined : d;
}

/** The route of a request URL without its query (which holds tags such as the subject) for logs. */
function routeName(url: string | undefined): string {
  const path = (url ?? '/').replace(/\?.*$/, '');
  if (/^\/v1\/blobs\/[^/]+\/data$/.test(path) && path !== '/v1/blobs/data/latest') return '/v1/blobs/{id}/data';
  if (/^\/v1\/blobs\/[^/]+$/.test(path) && path !== '/v1/blobs/data') return '/v1/blobs/{id}';
  return path;
}

