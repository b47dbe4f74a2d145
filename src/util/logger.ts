/**
 * Structured logging: one JSON record per line, through pino. `gantry serve`
 * writes its records to stdout by default (`--log-destination stderr` moves
 * them), as container log collectors expect; Gadgetron's integration harness
 * sends the server's stdout and stderr to the same log file, so stdout is safe
 * there too. Records never include message payloads; callers must not pass
 * patient identifiers (a few well-known names are redacted as a safety net).
 */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

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
  return pino.destination({ dest: destination === 'stdout' ? 1 : 2, sync: true });
}

function wrap(p: PinoLogger): Logger {
  const emit = (lvl: LogLevel, message: string, fields?: Record<string, unknown>): void => {
    if (!p.isLevelEnabled(lvl)) return;
    // `msg` goes first so the record reads `…"msg":"…",<fields>` (tools match on that order).
    p[lvl]({ msg: message, ...fields });
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => wrap(p.child(fields)),
  };
}

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
  const p = pino(
    {
      level,
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label: string) => ({ level: label }) },
      redact: { paths: [...REDACTED_FIELDS], censor: '[redacted]' },
    },
    level === 'silent' ? { write: () => undefined } : streamFor(destination),
  );
  return wrap(Object.keys(base).length > 0 ? p.child(base) : p);
}

/** A logger that drops everything (tests). */
export const silentLogger: Logger = createLogger('silent');
