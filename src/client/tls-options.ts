/**
 * TLS for `gantry client`: `--tls` with `--ca FILE` (trust anchors; default:
 * the system's), `--cert FILE --key FILE` (client certificate for mutual
 * TLS), `--servername NAME` (name checked in the server certificate), or
 * `--psk-file FILE [--psk-identity ID]` (stunnel-style pre-shared key, TLS
 * 1.2). TLS failures are explained in words a user can act on.
 */
import type { ConnectionOptions } from 'node:tls';
import { PSK_CIPHERS, readFlagFile, readPskFile } from '../server/tls-files.js';

/** The client's TLS flags. */
export interface ClientTlsFlags {
  tls?: boolean;
  ca?: string;
  cert?: string;
  key?: string;
  servername?: string;
  pskFile?: string;
  pskIdentity?: string;
}

/** Node TLS connection options from the flags, or undefined for plain TCP. */
export function clientTlsFromFlags(flags: ClientTlsFlags): ConnectionOptions | undefined {
  const wantsTls = Boolean(flags.tls || flags.ca || flags.cert || flags.key || flags.servername || flags.pskFile || flags.pskIdentity);
  if (!wantsTls) return undefined;
  if (!flags.tls) throw new Error('Cannot use --ca, --cert, --key, --servername or --psk-file without --tls');
  if (Boolean(flags.cert) !== Boolean(flags.key)) throw new Error('Cannot present a client certificate: give both --cert and --key');
  if (flags.pskIdentity && !flags.pskFile) throw new Error('Cannot use --psk-identity without --psk-file');
  const options: ConnectionOptions = {
    ...(flags.ca ? { ca: readFlagFile('--ca', flags.ca) } : {}),
    ...(flags.cert && flags.key ? { cert: readFlagFile('--cert', flags.cert), key: readFlagFile('--key', flags.key) } : {}),
    ...(flags.servername ? { servername: flags.servername } : {}),
  };
  if (flags.pskFile) {
    const entries = readPskFile('--psk-file', flags.pskFile);
    const entry = flags.pskIdentity === undefined ? entries[0] : entries.find((e) => e.identity === flags.pskIdentity);
    if (!entry) throw new Error(`Cannot use --psk-identity: ${flags.pskFile} has no line for that identity`);
    // PSK needs TLS 1.2 (Node has no TLS 1.3 external PSK); no certificate is checked
    Object.assign(options, {
      maxVersion: 'TLSv1.2', ciphers: PSK_CIPHERS,
      pskCallback: () => ({ identity: entry.identity, psk: entry.key }),
      checkServerIdentity: () => undefined,
    } satisfies ConnectionOptions);
  }
  return options;
}

/** OpenSSL/Node error codes of an untrusted server certificate. */
const UNTRUSTED = new Set([
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'SELF_SIGNED_CERT_IN_CHAIN', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'UNABLE_TO_GET_ISSUER_CERT', 'CERT_UNTRUSTED', 'CERT_SIGNATURE_FAILURE',
]);

/** A TLS error in words: what went wrong and what to try. */
export function explainTlsError(err: NodeJS.ErrnoException): string {
  const code = err.code ?? '';
  const text = `${code} ${err.message}`;
  if (UNTRUSTED.has(code)) return `the server's certificate is not trusted (${code}); give the CA that signed it with --ca`;
  if (code === 'CERT_HAS_EXPIRED') return 'the server\'s certificate has expired';
  if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return `the server's certificate does not name this address (${err.message}); use --servername NAME or the address the certificate names`;
  if (/wrong version number|packet length too long|record layer failure|unexpected eof|ECONNRESET/i.test(text) && !/alert/i.test(text)) {
    return `the server did not answer with TLS (${code || err.message}); is this port plain TCP? (connect without --tls)`;
  }
  if (/certificate required|alert handshake failure|peer did not return a certificate|alert bad certificate|unknown ca|certificate unknown/i.test(text)) {
    return `the server refused the TLS connection (${code || err.message}); it wants a client certificate it trusts (--cert/--key) or a matching pre-shared key`;
  }
  if (/psk|no shared cipher|alert decrypt error|bad record mac/i.test(text)) return `the TLS handshake failed (${code || err.message}); check the pre-shared key and identity`;
  return `TLS failed: ${code || err.message}`;
}

/**
 * An error met after the handshake (TLS 1.3 servers refuse a client
 * certificate only then) in words, or `err` unchanged when it is not a TLS
 * error.
 */
export function explainTlsReadError(err: unknown, host: string, port: number): unknown {
  if (!(err instanceof Error)) return err;
  const e = err as NodeJS.ErrnoException;
  if (!/^ERR_SSL_|^ERR_TLS_/.test(e.code ?? '')) return err;
  return new Error(`TLS connection to ${host}:${port} failed: ${explainTlsError(e)}`);
}
