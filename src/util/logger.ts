/**
 * Structured logging: one JSON record per line, through pino. `gantry serve`
 * writes its records to stdout by default (`--log-destination stderr` moves
 * them), as container log collectors expect; Gadgetron's integration harness
 * sends the server's stdout and stderr to the same log file, so stdout is safe
 * there too. Records never include message payloads; callers must not pass
 * patient identifiers (a few well-known names are redacted as a safety net).
 */
import { createRequire } from 'node:module';
import type { DestinationStream, Logger as PinoLogger, pino as PinoFactory } from 'pino';

/*
 * pino loads when the first record at an enabled level is written, not on
 * import: `gantry recon` logs nothing in a normal run, and pino and its
 * dependencies are a good part of its start-up time.
 */
let pinoFactory: typeof PinoFactory | undefined;
function pinoModule(): typeof PinoFactory {
  pinoFactory ??= (createRequire(import.meta.url)('pino') as { pino: typeof PinoFactory }).pino;
  return pinoFactory;
}

/** pino's numeric level of each of ours. */
const LEVEL_VALUES: Readonly<Record<LogLevel, number>> = { debug: 20, info: 30, warn: 40, error: 50 };

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** Where records are written. */
export type LogDestination = 'stdout' | 'stderr';

/** Logging interface handed to sessions and gadgets. */
export interface Logger {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** Field names that could carry patient identifiers; their values are replaced if a caller logs them by mistake. */
export const REDACTED_FIELDS = ['patientName', 'patientID', 'patientBirthdate', 'patient_name', 'patient_id', 'measurementID'] as const;

function streamFor(destination: LogDestination | ((line: string) => void)): DestinationStream {
  if (typeof destination === 'function') return { write: (line: string) => destination(line) };
  return pinoModule().destination({ dest: destination === 'stdout' ? 1 : 2, sync: true });
}

/** A logger over the pino logger `get` makes on first use (records below `level` never make it). */
function wrap(level: LogLevel, get: () => PinoLogger): Logger {
  let made: PinoLogger | undefined;
  const p = (): PinoLogger => (made ??= get());
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (LEVEL_VALUES[lvl] < LEVEL_VALUES[level]) return;
    // `msg` goes first so the record reads `…"msg":"…",<fields>` (tools match on that order).
    p()[lvl]({ msg: message, ...fields });
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => wrap(level, () => p().child(fields)),
  };
}

/** Drops everything. */
const SILENT: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
  child: () => SILENT,
};

/**
 * Creates a logger at `level` writing JSON lines to `destination` (stderr when
 * not given, for commands whose stdout carries their output; or a function
 * receiving each line), or nothing when level is 'silent'.
 */
export function createLogger(
  level: LogLevel | 'silent' = 'info',
  base: Record<string, unknown> = {},
  destination: LogDestination | ((line: string) => void) = 'stderr',
): Logger {
  if (level === 'silent') return SILENT;
  return wrap(level, () => {
    const pino = pinoModule();
    const p = pino(
      {
        level,
        base: undefined,
        timestamp: pino.stdTimeFunctions.isoTime,
        formatters: { level: (label: string) => ({ level: label }) },
        redact: { paths: [...REDACTED_FIELDS], censor: '[redacted]' },
      },
      streamFor(destination),
    );
    return Object.keys(base).length > 0 ? p.child(base) : p;
  });
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger('silent');
