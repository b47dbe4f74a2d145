/**
 * `serve` flags for every limit: frame sizes (enforced by the decoder before
 * it allocates), per-session budgets and timeouts. Sizes take a plain byte
 * count or a KiB/MiB/GiB suffix; each flag's default is shown in --help.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import {
  defaultProtocolLimits, defaultSessionLimits, mergeProtocolLimits, mergeSessionLimits,
  type ProtocolLimits, type SessionLimits,
} from '../protocol/limits.js';

/** Parsed limit flags (commander's camel-cased names). */
export interface LimitFlags {
  maxMessageBytes: number;
  maxConfigBytes: number;
  maxHeaderBytes: number;
  maxTextBytes: number;
  maxQueryBytes: number;
  maxMetaBytes: number;
  maxAcquisitionBytes: number;
  maxImageBytes: number;
  maxWaveformBytes: number;
  maxArrayBytes: number;
  sessionMaxBytes: number;
  sessionMemoryBudget: number;
  connectTimeout: number;
  sessionTimeout: number;
}

const UNITS: Record<string, number> = {
  '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** Parses `1048576`, `64MiB`, `4 GiB`, `512k` (binary units) into bytes. */
export function parseByteSize(value: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(value);
  const unit = m ? UNITS[(m[2] ?? '').toLowerCase()] : undefined;
  if (!m || unit === undefined) throw new InvalidArgumentError(`'${value}' is not a size: give bytes, or a number with KiB, MiB or GiB`);
  const bytes = Math.round(Number(m[1]) * unit);
  if (!Number.isSafeInteger(bytes)) throw new InvalidArgumentError(`'${value}' is too large`);
  return bytes;
}

/** `67108864` → `64 MiB`, for --help and error texts. */
export function formatByteSize(bytes: number): string {
  for (const [unit, size] of [['GiB', 1024 ** 3], ['MiB', 1024 ** 2], ['KiB', 1024]] as const) {
    if (bytes >= size && bytes % size === 0) return `${bytes / size} ${unit}`;
  }
  return `${bytes} bytes`;
}

function milliseconds(name: string): (value: string) => number {
  return (value: string): number => {
    const n = Number(value);
    if (value.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number of milliseconds (0 = off)`);
    return n;
  };
}

/** Each frame-size flag: its name, the protocol limit it sets, and what it bounds. */
const SIZE_FLAGS: readonly { flag: string; key: keyof ProtocolLimits; what: string }[] = [
  { flag: 'max-message-bytes', key: 'maxMessageBytes', what: 'any one message, headers included' },
  { flag: 'max-config-bytes', key: 'maxConfigBytes', what: 'a config script (message id 2)' },
  { flag: 'max-header-bytes', key: 'maxHeaderBytes', what: 'the ISMRMRD XML header (id 3)' },
  { flag: 'max-text-bytes', key: 'maxTextBytes', what: 'a text or error body, a DICOM file name' },
  { flag: 'max-query-bytes', key: 'maxQueryBytes', what: 'a query key (id 6)' },
  { flag: 'max-meta-bytes', key: 'maxMetaBytes', what: 'image attributes and other meta XML' },
  { flag: 'max-acquisition-bytes', key: 'maxAcquisitionBytes', what: 'one acquisition: samples × channels × 8 plus trajectory' },
  { flag: 'max-image-bytes', key: 'maxImageBytes', what: 'one image\'s pixels, a DICOM file' },
  { flag: 'max-waveform-bytes', key: 'maxWaveformBytes', what: 'one waveform\'s samples' },
  { flag: 'max-array-bytes', key: 'maxArrayBytes', what: 'one array of a recon buffer, image array or bucket (ids 1023, 1024, 1050)' },
];

/** Adds the limit flags to `serve`. */
export function addLimitOptions(command: Command): Command {
  for (const { flag, key, what } of SIZE_FLAGS) {
    const value = defaultProtocolLimits[key];
    command.addOption(new Option(`--${flag} <size>`, `max size of ${what}; a larger one gets an ERROR text and CLOSE`)
      .argParser(parseByteSize).default(value, formatByteSize(value)));
  }
  const s = defaultSessionLimits;
  return command
    .addOption(new Option('--session-max-bytes <size>', 'bytes one session may send in all (0 = unlimited)')
      .argParser(parseByteSize).default(s.maxSessionBytes, formatByteSize(s.maxSessionBytes)))
    .addOption(new Option('--session-memory-budget <size>', 'memory one session may claim: a header whose k-space (matrix × channels × 8 bytes) exceeds it is refused (0 = unlimited)')
      .argParser(parseByteSize).default(s.sessionMemoryBudget, formatByteSize(s.sessionMemoryBudget)))
    .addOption(new Option('--connect-timeout <ms>', 'time from accept until the config and ISMRMRD header have arrived (0 = none)')
      .argParser(milliseconds('connect-timeout')).default(s.connectTimeoutMs))
    .addOption(new Option('--session-timeout <ms>', 'longest a whole session may run (0 = none)')
      .argParser(milliseconds('session-timeout')).default(s.sessionTimeoutMs));
}

/** The protocol and session limits of `startServer` from the flags. */
export function limitsFromFlags(opts: LimitFlags): { limits: ProtocolLimits; sessionLimits: SessionLimits } {
  const limits: Partial<Record<keyof ProtocolLimits, number>> = {};
  for (const { key } of SIZE_FLAGS) limits[key] = opts[key];
  return {
    limits: mergeProtocolLimits(limits),
    sessionLimits: mergeSessionLimits({
      maxSessionBytes: opts.sessionMaxBytes,
      sessionMemoryBudget: opts.sessionMemoryBudget,
      connectTimeoutMs: opts.connectTimeout,
      sessionTimeoutMs: opts.sessionTimeout,
    }),
  };
}
