/**
 * Worker addresses: Gadgetron's discovery output grammar, `host:port`
 * strings as given on the command line, and endpoint ids.
 *
 * Gadgetron (apps/gadgetron/connection/nodes/common/Discovery.cpp) reads the
 * worker command's whole output as a list of quoted addresses:
 *
 *   list    := ws '[' ws address (ws ',' ws address)* ws ']' ws    (whole output; at least one address)
 *   address := '"' ws host ws ':' ws port '"'
 *   host    := '[' ws (any char but ']')+ ']'   (brackets stripped: IPv6, and the Python relay's "[10.0.0.5]" form)
 *            | (any char but ':' '[' ']')+
 *   port    := (any char but '"')+
 *
 * where ws is any ASCII white space. `[]` and anything else is a parse
 * failure. Gantry additionally requires a numeric port (1–65535) and a host
 * made of name or address characters, so a malformed list fails here with a
 * clear message instead of later at connect time.
 */

/** A discovered worker address before it joins a pool. */
export interface WorkerAddress {
  host: string;
  port: number;
}

/** Gadgetron's default server port, used when a worker is named without one. */
export const DEFAULT_WORKER_PORT = 9002;

const HOST_CHARS = /^[A-Za-z0-9._%:-]+$/;

/** The id of an endpoint: `host:port`, with IPv6 hosts bracketed (`[::1]:9002`). */
export function endpointId(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Lower-cases a host and strips one pair of enclosing brackets. */
export function normalizeHost(host: string): string {
  const trimmed = host.trim();
  const bare = trimmed.startsWith('[') && trimmed.endsWith(']') ? trimmed.slice(1, -1) : trimmed;
  return bare.toLowerCase();
}

/** Parses a port given as text; undefined unless it is an integer from 1 to 65535 written in digits. */
export function parsePort(text: string): number | undefined {
  const trimmed = text.trim();
  if (!/^\d{1,5}$/.test(trimmed)) return undefined;
  const port = Number(trimmed);
  return port >= 1 && port <= 65535 ? port : undefined;
}

function isSpace(c: string): boolean {
  return c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\v' || c === '\f';
}

/** Result of {@link parseWorkerList}. */
export type WorkerListParse =
  | { ok: true; workers: WorkerAddress[] }
  | { ok: false; reason: string };

/**
 * Parses a discovery command's output with Gadgetron's grammar (see the
 * module comment): `["10.0.0.1:9002", "[::1]:9002"]`.
 */
export function parseWorkerList(text: string): WorkerListParse {
  let i = 0;
  const n = text.length;
  const skip = (): void => {
    while (i < n && isSpace(text[i]!)) i++;
  };
  const fail = (reason: string): WorkerListParse => ({ ok: false, reason: `${reason} at offset ${i}` });
  const workers: WorkerAddress[] = [];
  skip();
  if (text[i] !== '[') return fail('expected "["');
  i++;
  for (;;) {
    skip();
    if (text[i] !== '"') return fail(workers.length === 0 ? 'expected a quoted "host:port" (an empty list is not accepted)' : 'expected a quoted "host:port"');
    i++;
    skip();
    let host: string;
    if (text[i] === '[') {
      i++;
      skip();
      const start = i;
      while (i < n && text[i] !== ']') i++;
      if (i === start || i >= n) return fail('expected a bracketed host');
      host = text.slice(start, i);
      i++;
      skip();
    } else {
      const start = i;
      while (i < n && text[i] !== ':' && text[i] !== '[' && text[i] !== ']') i++;
      if (i === start) return fail('expected a host');
      host = text.slice(start, i);
    }
    if (text[i] !== ':') return fail('expected ":" after the host');
    i++;
    skip();
    const portStart = i;
    while (i < n && text[i] !== '"') i++;
    if (i === portStart || i >= n) return fail('expected a port and a closing quote');
    const portText = text.slice(portStart, i);
    i++;
    const address = checkAddress(host, portText);
    if (typeof address === 'string') return { ok: false, reason: address };
    workers.push(address);
    skip();
    if (text[i] === ',') {
      i++;
      continue;
    }
    break;
  }
  if (text[i] !== ']') return fail('expected "," or "]"');
  i++;
  skip();
  if (i !== n) return fail('unexpected text after the list');
  return { ok: true, workers };
}

function checkAddress(hostText: string, portText: string): WorkerAddress | string {
  const host = hostText.trim().toLowerCase();
  if (!host || !HOST_CHARS.test(host)) return `invalid host ${JSON.stringify(hostText)}`;
  const port = parsePort(portText);
  if (port === undefined) return `invalid port ${JSON.stringify(portText)} for host ${JSON.stringify(hostText)} (expected 1–65535)`;
  return { host, port };
}

/**
 * Parses one address as written by hand or stored by the relay:
 * `host:port`, `host` (port 9002), `[v6]:port`, `[v6]`, `[10.0.0.5]:9002`,
 * or a bare IPv6 address (port 9002). Throws RangeError when malformed.
 */
export function parseWorkerAddress(text: string, defaultPort = DEFAULT_WORKER_PORT): WorkerAddress {
  const value = text.trim();
  const bad = (why: string): RangeError => new RangeError(`Cannot parse worker address ${JSON.stringify(text)}: ${why}`);
  let hostText: string;
  let portText: string | undefined;
  if (value.startsWith('[')) {
    const close = value.indexOf(']');
    if (close < 0) throw bad('missing "]"');
    hostText = value.slice(1, close);
    const rest = value.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) throw bad('expected ":port" after "]"');
      portText = rest.slice(1);
    }
  } else {
    const colons = value.split(':').length - 1;
    if (colons === 1) {
      const at = value.indexOf(':');
      hostText = value.slice(0, at);
      portText = value.slice(at + 1);
    } else {
      hostText = value;
    }
  }
  const host = hostText.trim().toLowerCase();
  if (!host) throw bad('empty host');
  if (!HOST_CHARS.test(host)) throw bad('invalid host');
  if (portText === undefined) return { host, port: defaultPort };
  const port = parsePort(portText);
  if (port === undefined) throw bad('port must be an integer from 1 to 65535');
  return { host, port };
}

/**
 * Parses `--workers` values: each may hold several comma-separated
 * addresses, or a Gadgetron-style quoted list (`["a:9002","b:9002"]`).
 * Throws RangeError on the first malformed entry.
 */
export function parseWorkerAddresses(values: readonly string[], defaultPort = DEFAULT_WORKER_PORT): WorkerAddress[] {
  const out: WorkerAddress[] = [];
  for (const value of values) {
    const trimmed = value.trim();
    if (/^\[\s*"/.test(trimmed)) {
      const parsed = parseWorkerList(trimmed);
      if (!parsed.ok) throw new RangeError(`Cannot parse worker list ${JSON.stringify(value)}: ${parsed.reason}`);
      out.push(...parsed.workers);
      continue;
    }
    for (const part of trimmed.split(',')) {
      if (part.trim() === '') continue;
      out.push(parseWorkerAddress(part, defaultPort));
    }
  }
  return out;
}
