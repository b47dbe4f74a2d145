/**
 * `serve` flags of the operating side: the HTTP port (health, metrics, API,
 * web page), what the session registry keeps, and where logs go.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import type { LogDestination } from '../util/logger.js';
import type { ServeHttpOptions } from './serve.js';

/** The HTTP port when `--http-port` is not given. */
export const DEFAULT_HTTP_PORT = 8080;

/** Parsed operating flags. */
export interface OperatingFlags {
  httpPort?: number;
  httpHost?: string;
  http: boolean;
  keepSessions: number;
  imageMemory: number;
  logDestination: LogDestination;
}

function nonNegativeInteger(name: string, max: number): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0 || n > max) throw new InvalidArgumentError(`${name} must be an integer from 0 to ${max}`);
    return n;
  };
}

/** Adds the operating flags to `serve`. */
export function addOperatingOptions(command: Command): Command {
  return command
    .option('--http-port <port>', 'HTTP port for /livez, /readyz, /metrics, the API and the web page (default 8080, or any free port when 8080 is taken; 0 = any free port)', nonNegativeInteger('http-port', 65535))
    .option('--http-host <host>', 'address the HTTP side binds (default 127.0.0.1; use 0.0.0.0 for scrapers and browsers on other hosts)')
    .option('--no-http', 'run without the HTTP side')
    .option('--keep-sessions <n>', 'finished sessions the API and page remember', nonNegativeInteger('keep-sessions', 100_000), 50)
    .option('--image-memory <MiB>', 'memory for recent images shown by the page and offered for download (oldest dropped first)', nonNegativeInteger('image-memory', 1_048_576), 256)
    .addOption(new Option('--log-destination <stream>', 'where the JSON log records go (one per line)')
      .choices(['stdout', 'stderr']).default('stdout'));
}

/** The HTTP settings of `startServer` from the flags (undefined with --no-http). */
export function httpFromFlags(opts: OperatingFlags): ServeHttpOptions | undefined {
  if (!opts.http) return undefined;
  return {
    host: opts.httpHost ?? '127.0.0.1',
    port: opts.httpPort ?? DEFAULT_HTTP_PORT,
    fallbackToFreePort: opts.httpPort === undefined,
    keepSessions: opts.keepSessions,
    maxImageBytes: opts.imageMemory * 1024 * 1024,
  };
}
