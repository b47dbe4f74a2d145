/**
 * A client of the mrd-storage-server REST API (`/v1/blobs`, `/healthcheck`),
 * so Gantry shares measurement dependencies with Gadgetron deployments and
 * with `gantry storage`.
 */
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { appendTagParams, clampLimit, validateTags } from './tags.js';
import {
  StorageError, type DependencyStore, type ItemPage, type ListOptions, type ReadOptions, type StorageTags,
  type StoreOptions, type StoredBlob, type StoredItem,
} from './types.js';

/** An HTTP answer, fully read. */
export interface HttpAnswer {
  status: number;
  headers: Headers;
  body: Uint8Array;
}

/** Sends one HTTP request and reads the whole answer (the transport of {@link RestStore}). */
export type HttpTransport = (url: string, init: { method: string; headers?: Record<string, string>; body?: Uint8Array; timeoutMs: number }) => Promise<HttpAnswer>;

/** Options of {@link RestStore}. */
export interface RestStoreOptions {
  /** Per-request time limit (ms, default 10 s). */
  timeoutMs?: number;
  /** The HTTP transport (tests); default node:http / node:https. */
  transport?: HttpTransport;
  /** Largest answer accepted (bytes, default 1 GiB). */
  maxAnswerBytes?: number;
}

/** node:http(s) transport: no port blocklist (unlike fetch), a hard time limit, a size limit. */
export function nodeHttpTransport(maxAnswerBytes = 1 << 30): HttpTransport {
  return (url, init) => new Promise<HttpAnswer>((resolve, reject) => {
    const target = new URL(url);
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    const headers: Record<string, string | number> = { ...(init.headers ?? {}) };
    if (init.body) headers['content-length'] = init.body.byteLength;
    const req = send(target, { method: init.method, headers, timeout: init.timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxAnswerBytes) {
          req.destroy(new Error(`the answer is larger than ${maxAnswerBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.once('end', () => {
        const h = new Headers();
        for (let i = 0; i + 1 < res.rawHeaders.length; i += 2) {
          try {
            h.append(res.rawHeaders[i] as string, res.rawHeaders[i + 1] as string);
          } catch {
            // a header value the Headers class refuses is left out
          }
        }
        const all = Buffer.concat(chunks);
        resolve({ status: res.statusCode ?? 0, headers: h, body: new Uint8Array(all.buffer, all.byteOffset, all.byteLength) });
      });
      res.once('error', reject);
    });
    req.once('timeout', () => req.destroy(Object.assign(new Error(`no answer within ${init.timeoutMs} ms`), { code: 'ETIMEDOUT' })));
    req.once('error', reject);
    req.end(init.body ? Buffer.from(init.body.buffer, init.body.byteOffset, init.body.byteLength) : undefined);
  });
}

const SYSTEM_KEYS = new Set(['subject', 'device', 'session', 'name', 'contenttype', 'lastmodified', 'expires', 'location', 'data']);

/** A dependency store behind an mrd-storage-server compatible URL. */
export class RestStore implements DependencyStore {
  readonly description: string;
  private readonly base: string;
  private readonly timeoutMs: number;
  private readonly transport: HttpTransport;

  constructor(baseUrl: string, options: RestStoreOptions = {}) {
    let url: URL;
    try {
      url = new URL(baseUrl);
    } catch {
      throw new TypeError(`Cannot use storage URL '${baseUrl}': it is not a URL`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new TypeError(`Cannot use storage URL '${baseUrl}': only http and https are supported`);
    url.username = '';
    url.password = '';
    url.search = '';
    url.hash = '';
    this.base = url.toString().replace(/\/+$/, '');
    this.description = this.base;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.transport = options.transport ?? nodeHttpTransport(options.maxAnswerBytes);
  }

  async store(tags: StorageTags, data: Uint8Array, options: StoreOptions = {}): Promise<StoredItem> {
    validateTags(tags);
    const params = appendTagParams(new URLSearchParams(), tags);
    if (options.ttlSeconds !== undefined) params.append('_ttl', `${Math.round(options.ttlSeconds)}s`);
    const response = await this.request(`${this.base}/v1/blobs/data?${params}`, {
      method: 'POST',
      headers: { 'content-type': options.contentType ?? 'application/octet-stream' },
      body: data,
    });
    if (response.status !== 201) throw this.failure(response, 'store a blob');
    return itemFromJson(this.json(response, 'store a blob'));
  }

  async latest(query: StorageTags, options: { at?: Date } = {}): Promise<StoredBlob | undefined> {
    const params = appendTagParams(new URLSearchParams(), query);
    if (options.at) params.append('_at', options.at.toISOString());
    const response = await this.request(`${this.base}/v1/blobs/data/latest?${params}`, { method: 'GET' });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(response, 'read the latest blob');
    return { item: itemFromHeaders(response.headers, response.body.byteLength), data: response.body };
  }

  async list(query: StorageTags, options: ListOptions = {}): Promise<ItemPage> {
    const params = appendTagParams(new URLSearchParams(), query);
    params.append('_limit', String(clampLimit(options.limit)));
    if (options.at) params.append('_at', options.at.toISOString());
    if (options.continuation) params.append('_ct', options.continuation);
    const response = await this.request(`${this.base}/v1/blobs?${params}`, { method: 'GET' });
    if (response.status !== 200) throw this.failure(response, 'list blobs');
    const body = this.json(response, 'list blobs');
    const raw = (body as { items?: unknown }).items;
    if (!Array.isArray(raw)) throw new StorageError('BAD_RESPONSE', `Cannot list blobs at ${this.base}: the answer has no items`);
    const items = raw.map((x) => itemFromJson(x));
    const next = (body as { nextLink?: unknown }).nextLink;
    let continuation: string | undefined;
    if (typeof next === 'string' && next !== '') {
      try {
        continuation = new URL(next, this.base).searchParams.get('_ct') ?? undefined;
      } catch {
        continuation = undefined;
      }
    }
    return continuation === undefined ? { items } : { items, continuation };
  }

  async item(id: string, _options: ReadOptions = {}): Promise<StoredItem | undefined> {
    const response = await this.request(`${this.base}/v1/blobs/${encodeURIComponent(id)}`, { method: 'GET' });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(response, 'read blob metadata');
    return itemFromJson(this.json(response, 'read blob metadata'));
  }

  async read(id: string, _options: ReadOptions = {}): Promise<StoredBlob | undefined> {
    const response = await this.request(`${this.base}/v1/blobs/${encodeURIComponent(id)}/data`, { method: 'GET' });
    if (response.status === 404) return undefined;
    if (response.status !== 200) throw this.failure(response, 'read a blob');
    return { item: itemFromHeaders(response.headers, response.body.byteLength, id), data: response.body };
  }

  async health(): Promise<void> {
    const response = await this.request(`${this.base}/healthcheck`, { method: 'GET' });
    if (response.status !== 200) throw this.failure(response, 'pass the health check');
  }

  async close(): Promise<void> {
    // each request uses its own connection; nothing to close
  }

  private async request(url: string, init: { method: string; headers?: Record<string, string>; body?: Uint8Array }): Promise<HttpAnswer> {
    try {
      return await this.transport(url, { ...init, timeoutMs: this.timeoutMs });
    } catch (err) {
      throw new StorageError('UNREACHABLE', `Cannot reach the storage server at ${this.base}: ${networkReason(err)}`, { cause: err });
    }
  }

  private json(answer: HttpAnswer, what: string): unknown {
    try {
      return JSON.parse(new TextDecoder().decode(answer.body)) as unknown;
    } catch {
      throw new StorageError('BAD_RESPONSE', `Cannot ${what} at ${this.base}: the answer is not JSON`);
    }
  }

  private failure(answer: HttpAnswer, what: string): StorageError {
    let detail = '';
    try {
      const parsed = JSON.parse(new TextDecoder().decode(answer.body)) as { error?: { message?: unknown } };
      if (parsed.error && typeof parsed.error.message === 'string') detail = `: ${parsed.error.message}`;
    } catch {
      detail = '';
    }
    const code = answer.status >= 400 && answer.status < 500 ? 'REJECTED' : 'BAD_RESPONSE';
    return new StorageError(code, `Cannot ${what} at ${this.base}: HTTP ${answer.status}${detail}`);
  }
}

function networkReason(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e && e.code === 'ETIMEDOUT') return e.message;
  if (e && typeof e.code === 'string') return e.code;
  return err instanceof Error ? err.message : String(err);
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

function idFromLocation(location: string | undefined): string {
  if (!location) return '';
  const path = location.replace(/[?#].*$/, '').replace(/\/data$/, '');
  const last = path.slice(path.lastIndexOf('/') + 1);
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}

/** A StoredItem from mrd-storage-server's item JSON. */
export function itemFromJson(raw: unknown): StoredItem {
  if (typeof raw !== 'object' || raw === null) throw new StorageError('BAD_RESPONSE', 'Cannot read blob metadata: not a JSON object');
  const o = raw as Record<string, unknown>;
  const subject = str(o.subject);
  if (subject === undefined) throw new StorageError('BAD_RESPONSE', 'Cannot read blob metadata: it has no subject');
  const custom: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(o)) {
    const key = k.toLowerCase();
    if (SYSTEM_KEYS.has(key)) continue;
    if (typeof v === 'string') custom[key] = [v];
    else if (Array.isArray(v) && v.every((x) => typeof x === 'string')) custom[key] = v as string[];
  }
  const device = str(o.device);
  const session = str(o.session);
  const name = str(o.name);
  const tags: StorageTags = {
    subject,
    ...(device === undefined ? {} : { device }),
    ...(session === undefined ? {} : { session }),
    ...(name === undefined ? {} : { name }),
    ...(Object.keys(custom).length > 0 ? { custom } : {}),
  };
  const created = str(o.lastModified);
  const expires = str(o.expires);
  const contentType = str(o.contentType);
  return {
    id: idFromLocation(str(o.location)),
    tags,
    ...(contentType === undefined ? {} : { contentType }),
    createdAt: created ? new Date(created) : new Date(0),
    ...(expires ? { expiresAt: new Date(expires) } : {}),
  };
}

/** A StoredItem from the `Mrd-Tag-*`, `Last-Modified`, `Expires` and `Location` headers of a data answer. */
export function itemFromHeaders(headers: Headers, size: number, id?: string): StoredItem {
  const custom: Record<string, string[]> = {};
  const system: Record<string, string> = {};
  headers.forEach((value, key) => {
    const k = key.toLowerCase();
    if (!k.startsWith('mrd-tag-')) return;
    const tag = k.slice('mrd-tag-'.length);
    if (tag === 'subject' || tag === 'device' || tag === 'session' || tag === 'name') system[tag] = value;
    else custom[tag] = value.split(',').map((v) => v.trim());
  });
  const subject = system.subject;
  if (subject === undefined) throw new StorageError('BAD_RESPONSE', 'Cannot read blob: the answer has no Mrd-Tag-Subject header');
  const tags: StorageTags = {
    subject,
    ...(system.device === undefined ? {} : { device: system.device }),
    ...(system.session === undefined ? {} : { session: system.session }),
    ...(system.name === undefined ? {} : { name: system.name }),
    ...(Object.keys(custom).length > 0 ? { custom } : {}),
  };
  const lastModified = headers.get('last-modified');
  const expires = headers.get('expires');
  const contentType = headers.get('content-type');
  const location = headers.get('location') ?? undefined;
  const resolvedId = id ?? idFromLocation(location);
  return {
    id: resolvedId,
    tags,
    ...(contentType === null ? {} : { contentType }),
    createdAt: lastModified ? new Date(lastModified) : new Date(0),
    ...(expires ? { expiresAt: new Date(expires) } : {}),
    size,
  };
}
