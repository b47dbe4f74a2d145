/**
 * TLS for the Gadgetron-protocol listeners: a certificate and key, optional
 * client-certificate verification (mutual TLS) and pre-shared keys for
 * stunnel-style clients (TLS 1.2 PSK ciphers). A TLS-only data port peeks at
 * each connection's first byte: a TLS handshake goes on to TLS, anything
 * else (a plain Gadgetron client) gets a clear error text and CLOSE, which
 * such a client prints, and is closed.
 */
import type { Socket } from 'node:net';
import { createServer as createTlsServer, DEFAULT_CIPHERS, type Server as TlsServer, type TlsOptions, type TLSSocket } from 'node:tls';
import { encodeClose, encodeText } from '../protocol/index.js';
import type { Logger } from '../util/logger.js';
import { PSK_CIPHERS, type PskEntry } from './tls-files.js';

/** What a TLS listener needs: a certificate chain and key and/or pre-shared keys; `clientCa` asks clients for a certificate it signed. */
export interface TlsServerSettings {
  cert?: Buffer;
  key?: Buffer;
  clientCa?: Buffer;
  /** Identities and keys clients may use instead of certificates (TLS 1.2 PSK). */
  psk?: readonly PskEntry[];
}

/** The first byte of a TLS record carrying a handshake (ClientHello). */
const TLS_HANDSHAKE_RECORD = 0x16;
/** How long a connection to a TLS-only port may stay silent before its first byte (ms). */
const FIRST_BYTE_TIMEOUT_MS = 60_000;

/** The error text a plain-TCP client of a TLS-only port receives. */
export const PLAIN_ON_TLS_PORT_TEXT = '[Connection Main Thread] ERROR: This port only accepts TLS connections; connect with TLS (e.g. `gantry client --tls --ca CA.pem`, or through stunnel). Connection closed.';

/** Node TLS server options for `settings`. */
export function tlsServerOptions(settings: TlsServerSettings): TlsOptions {
  const psk = settings.psk && settings.psk.length > 0 ? settings.psk : undefined;
  if (!psk && (!settings.cert || !settings.key)) throw new Error('Cannot listen with TLS: give a certificate and key (--tls-cert, --tls-key) or pre-shared keys (--tls-psk-file)');
  const keys = psk ? new Map(psk.map((e) => [e.identity, e.key])) : undefined;
  return {
    allowHalfOpen: true,
    noDelay: true,
    ...(settings.cert && settings.key ? { cert: settings.cert, key: settings.key } : {}),
    ...(settings.clientCa ? { ca: settings.clientCa, requestCert: true, rejectUnauthorized: true } : {}),
    ...(keys ? {
      // Node's default list ends with !PSK, which would also drop the PSK ciphers added after it
      ciphers: `${DEFAULT_CIPHERS.split(':').filter((c) => c !== '!PSK').join(':')}:${PSK_CIPHERS}`,
      pskCallback: (_socket: TLSSocket, identity: string): Buffer | null => keys.get(identity) ?? null,
    } : {}),
  };
}

/**
 * A TLS server (not listening by itself) that hands each established TLS
 * connection to `onSecure`; handshake failures are logged without any
 * payload.
 */
export function createTlsSessionServer(settings: TlsServerSettings, onSecure: (socket: TLSSocket) => void, log: Logger, label = 'tls'): TlsServer {
  const server = createTlsServer(tlsServerOptions(settings), onSecure);
  server.on('tlsClientError', (err: NodeJS.ErrnoException, socket: TLSSocket) => {
    log.warn('tls handshake failed', { listener: label, error: err.message, ...(socket.remoteAddress ? { remote: socket.remoteAddress } : {}) });
  });
  server.on('error', (err) => log.error('tls server error', { listener: label, error: err.message }));
  return server;
}

/**
 * The connection handler of a TLS-only port: waits for the first byte, then
 * passes the connection to `tlsServer` when it starts a TLS handshake, or
 * answers a plain client with {@link PLAIN_ON_TLS_PORT_TEXT} and CLOSE.
 */
export function tlsOnlyConnectionHandler(tlsServer: TlsServer, log: Logger): (socket: Socket) => void {
  return (socket) => {
    socket.on('error', () => undefined);
    const timer = setTimeout(() => socket.destroy(), FIRST_BYTE_TIMEOUT_MS);
    timer.unref();
    socket.once('close', () => clearTimeout(timer));
    socket.once('data', (chunk: Buffer) => {
      clearTimeout(timer);
      socket.pause();
      if (chunk[0] === TLS_HANDSHAKE_RECORD) {
        socket.unshift(chunk);
        tlsServer.emit('connection', socket);
        return;
      }
      // a lone CLOSE is a worker pool's reachability probe: answered quietly
      const probe = chunk.length === 2 && chunk.readUInt16LE(0) === 4;
      if (probe) log.debug('plain probe on the TLS-only data port');
      else log.warn('refusing a plain connection on the TLS-only data port', { ...(socket.remoteAddress ? { remote: socket.remoteAddress } : {}) });
      for (const c of probe ? encodeClose() : [...encodeText(PLAIN_ON_TLS_PORT_TEXT), ...encodeClose()]) socket.write(c);
      socket.end();
      setTimeout(() => socket.destroy(), 2_000).unref();
    });
  };
}
