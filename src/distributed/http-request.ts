/**
 * A small bounded HTTP client over node:http/node:https for discovery and
 * relay registration: one request, a total deadline, a cap on the answer's
 * size, and cancellation through an AbortSignal.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';

/** A request made by {@link sendHttpRequest}. */
export interface HttpRequestOptions {
  url: string | URL;
  method?: string;
  /** JSON-serializable body; sent as application/json. */
  json?: unknown;
  /** Whole-request deadline in ms (default 5000). */
  timeoutMs?: number;
  /** Largest answer body accepted in bytes (default 1 MiB). */
  maxBytes?: number;
  signal?: AbortSignal;
}

/** The answer of {@link sendHttpRequest}. */
export interface HttpAnswer {
  status: number;
  contentType: string;
  body: string;
}

/** Sends one HTTP(S) request and reads the whole answer; rejects on network errors, the deadline, oversize answers or abort. */
export function sendHttpRequest(options: HttpRequestOptions): Promise<HttpAnswer> {
  const url = typeof options.url === 'string' ? new URL(options.url) : options.url;
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    return Promise.reject(new TypeError(`Cannot request ${url.href}: only http and https URLs are supported`));
  }
  const timeoutMs = options.timeoutMs ?? 5_000;
  const maxBytes = options.maxBytes ?? 1 << 20;
  const body = options.json === undefined ? undefined : Buffer.from(JSON.stringify(options.json), 'utf8');
  const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise<HttpAnswer>((resolve, reject) => {
    if (options.signal?.aborted) {
      reject(abortReason(options.signal));
      return;
    }
    let settled = false;
    const finish = (err: Error | undefined, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      options.signal?.removeEventListener('abort', onAbort);
      if (err) {
        req.destroy();
        reject(err);
      } else if (answer) {
        resolve(answer);
      }
    };
    const onAbort = (): void => finish(options.signal ? abortReason(options.signal) : new Error('aborted'));
    const timer = setTimeout(() => finish(new Error(`no answer from ${url.origin} within ${timeoutMs} ms`)), timeoutMs);
    const req = send(url, {
      method: options.method ?? 'GET',
      headers: {
        accept: 'application/json, text/plain;q=0.9',
        ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
      },
    }, (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxBytes) {
          finish(new Error(`answer from ${url.origin} exceeds ${maxBytes} bytes`));
          return;
        }
        chunks.push(chunk);
      });
      res.on('error', (err) => finish(err));
      res.on('end', () => finish(undefined, {
        status: res.statusCode ?? 0,
        contentType: String(res.headers['content-type'] ?? ''),
        body: Buffer.concat(chunks).toString('utf8'),
      }));
    });
    req.on('error', (err) => finish(err));
    options.signal?.addEventListener('abort', onAbort, { once: true });
    req.end(body);
  });
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('aborted');
}
