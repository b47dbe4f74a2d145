/**
 * Reading the files behind the TLS and authentication flags: PEM files and
 * pre-shared-key files in stunnel's format (`IDENTITY:KEY` per line; a key
 * of hexadecimal digits is taken as binary, anything else as its bytes; at
 * least 16 bytes). Errors name the flag and the file, never a key.
 */
import { readFileSync } from 'node:fs';

/** Minimum pre-shared key length, bytes (stunnel's rule). */
export const MIN_PSK_BYTES = 16;

/** Reads a file given with `flag`; a failure names both. */
export function readFlagFile(flag: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (err) {
    throw new Error(`Cannot read ${flag} ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
}

/** One identity and its key. */
export interface PskEntry {
  identity: string;
  key: Buffer;
}

/** Parses a stunnel-style PSK file: `IDENTITY:KEY` lines; blank lines and `#` comments are skipped. */
export function parsePskFile(text: string, source = 'the PSK file'): PskEntry[] {
  const entries: PskEntry[] = [];
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`Cannot use ${source}: line ${i + 1} is not IDENTITY:KEY`);
    const identity = line.slice(0, colon);
    const secret = line.slice(colon + 1);
    if (Buffer.byteLength(identity) > 128) throw new Error(`Cannot use ${source}: the identity on line ${i + 1} is longer than 128 bytes`);
    const key = /^(?:[0-9a-fA-F]{2})+$/.test(secret) ? Buffer.from(secret, 'hex') : Buffer.from(secret, 'utf8');
    if (key.length < MIN_PSK_BYTES) throw new Error(`Cannot use ${source}: the key on line ${i + 1} is shorter than ${MIN_PSK_BYTES} bytes (${2 * MIN_PSK_BYTES} hex digits)`);
    if (entries.some((e) => e.identity === identity)) throw new Error(`Cannot use ${source}: identity on line ${i + 1} appears twice`);
    entries.push({ identity, key });
  });
  if (entries.length === 0) throw new Error(`Cannot use ${source}: it holds no IDENTITY:KEY line`);
  return entries;
}

/** Reads and parses the PSK file of `flag`. */
export function readPskFile(flag: string, file: string): PskEntry[] {
  return parsePskFile(readFlagFile(flag, file).toString('utf8'), `${flag} ${file}`);
}

/**
 * Reads a file of secrets, one per line (blank lines and `#` comments
 * skipped), each at least `minLength` characters: bearer tokens, the worker
 * secret.
 */
export function readSecretLines(flag: string, file: string, minLength: number): string[] {
  const lines = readFlagFile(flag, file).toString('utf8').split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('#'));
  if (lines.length === 0) throw new Error(`Cannot use ${flag} ${file}: it holds no secret (one per line)`);
  lines.forEach((l, i) => {
    if (l.length < minLength) throw new Error(`Cannot use ${flag} ${file}: secret ${i + 1} is shorter than ${minLength} characters`);
  });
  return lines;
}

/** PSK ciphers offered beside the defaults (TLS 1.2; Node has no TLS 1.3 external PSK). */
export const PSK_CIPHERS = 'PSK-AES256-GCM-SHA384:PSK-AES128-GCM-SHA256:PSK-CHACHA20-POLY1305:ECDHE-PSK-CHACHA20-POLY1305';
