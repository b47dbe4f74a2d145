/**
 * Workers registered with a cloudbus relay (`gantry relay` or the Python
 * gadgetron_cloudbus relay): `GET <relay>/cloudbus/workers` answers a JSON
 * array such as `["[10.0.0.5]:9002"]`.
 */
import { sendHttpRequest } from '../http-request.js';
import type { DiscoverySource } from '../worker-pool.js';
import type { Logger } from '../../util/logger.js';
import { DiscoveryError } from './errors.js';
import { parseWorkerAddress, type WorkerAddress } from './worker-list.js';

/** The Python relay's port, used when a relay is given as a bare host name. */
export const DEFAULT_RELAY_PORT = 5000;

/**
 * The relay's base URL: `http://host:port` as given, or from a bare
 * `host[:port]` (port 5000 when omitted, as the Python relay listens on).
 * Throws TypeError when it is not a usable http(s) URL.
 */
export function normalizeRelayUrl(value: string): URL {
  const text = value.trim();
  const hasScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text);
  let url: URL;
  try {
    url = new URL(hasScheme ? text : `http://${text}`);
  } catch {
    throw new TypeError(`Cannot use relay address ${JSON.stringify(value)}: not a URL or host[:port]`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new TypeError(`Cannot use relay address ${JSON.stringify(value)}: only http and https are supported`);
  }
  if (!url.hostname) throw new TypeError(`Cannot use relay address ${JSON.stringify(value)}: no host`);
  const authority = text.split('/')[0] ?? '';
  if (!hasScheme && !/^(\[[^\]]*\]|[^:[\]]*):\d+$/.test(authority)) url.port = String(DEFAULT_RELAY_PORT);
  url.pathname = url.pathname.replace(/\/+$/, '');
  url.search = '';
  url.hash = '';
  return url;
}

/** `<relay>/cloudbus/<path>` for a base from {@link normalizeRelayUrl}. */
export function relayEndpoint(base: URL, path: string): URL {
  const url = new URL(base.href);
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/cloudbus/${path}`;
  return url;
}

/** Options of {@link relaySource}. */
export interface RelaySourceOptions {
  /** Deadline of one request in ms (default 5000). */
  timeoutMs?: number;
  /** Source name (default "relay"). */
  name?: string;
  /** Where ignored malformed entries are logged. */
  log?: Logger;
}

/**
 * Parses the relay's answer: a JSON array of `[host]:port` / `host:port`
 * strings. Malformed entries are skipped (the Python relay stores ports
 * unchecked); an answer that is not an array of strings, or holds only
 * malformed entries, throws DiscoveryError.
 */
export function workersFromRelayAnswer(body: string, log?: Logger): WorkerAddress[] {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    throw new DiscoveryError('RELAY_FAILED', `Cannot read the relay's worker list: not JSON: ${JSON.stringify(body.slice(0, 200))}`);
  }
  if (!Array.isArray(value) || !value.every((v): v is string => typeof v === 'string')) {
    throw new DiscoveryError('RELAY_FAILED', `Cannot read the relay's worker list: expected a JSON array of "host:port" strings, got ${JSON.stringify(body.slice(0, 200))}`);
  }
  const workers: WorkerAddress[] = [];
  const bad: string[] = [];
  for (const entry of value) {
    try {
      workers.push(parseWorkerAddress(entry));
    } catch {
      bad.push(entry);
    }
  }
  if (bad.length > 0) {
    if (workers.length === 0) throw new DiscoveryError('RELAY_FAILED', `Cannot read the relay's worker list: no valid entry in ${JSON.stringify(bad.slice(0, 5))}`);
    log?.warn('relay lists malformed workers; ignoring them', { entries: bad.slice(0, 5) });
  }
  return workers;
}

/** A discovery source asking a cloudbus relay for its registered workers. */
export function relaySource(relayUrl: string | URL, options: RelaySourceOptions = {}): DiscoverySource {
  const base = typeof relayUrl === 'string' ? normalizeRelayUrl(relayUrl) : relayUrl;
  const url = relayEndpoint(base, 'workers');
  return {
    name: options.name ?? 'relay',
    async discover(signal: AbortSignal): Promise<WorkerAddress[]> {
      let answer;
      try {
        answer = await sendHttpRequest({ url, timeoutMs: options.timeoutMs ?? 5_000, signal });
      } catch (err) {
        if (signal.aborted) throw err;
        throw new DiscoveryError('RELAY_FAILED', `Cannot reach relay ${base.origin}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
      }
      if (answer.status !== 200) {
        throw new DiscoveryError('RELAY_FAILED', `Relay ${url.href} answered HTTP ${answer.status}: ${answer.body.slice(0, 200)}`);
      }
      return workersFromRelayAnswer(answer.body, options.log);
    },
  };
}
