/**
 * A client-side Gadgetron protocol connection: connect with a timeout, send
 * frames with backpressure, and receive decoded frames as an async stream.
 */
import { connect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { explainTlsError } from './tls-options.js';
import { FrameDecoder, type Frame, type ProtocolLimits } from '../protocol/index.js';
import { waitForDrain } from '../util/drain.js';

/** Bytes {@link GadgetronConnection.send} lets queue in the socket before it waits for a drain. */
export const DEFAULT_WRITE_BUFFER_BYTES = 8 * 1024 * 1024;

/** Options for {@link GadgetronConnection.open}. */
export interface ConnectOptions {
  host: string;
  port: number;
  /** Connect timeout in ms. */
  timeoutMs?: number;
  limits?: Partial<ProtocolLimits>;
  /** Bytes queued in the socket before `send` waits for it to drain (default {@link DEFAULT_WRITE_BUFFER_BYTES}). */
  writeBufferBytes?: number;
  /** Connect with TLS using these options (see tls-options.ts); absent = plain TCP. */
  tls?: ConnectionOptions;
}

/** An open connection to a Gadgetron-protocol server. */
export class GadgetronConnection {
  private readonly decoder: FrameDecoder;

  private readonly writeBufferBytes: number;

  private constructor(readonly socket: Socket, options: ConnectOptions) {
    // socket chunks are never reused: acquisitions may be views into them
    this.decoder = new FrameDecoder(options.limits, { views: true });
    this.writeBufferBytes = Math.max(0, options.writeBufferBytes ?? DEFAULT_WRITE_BUFFER_BYTES);
  }

  /** Connects, failing with a clear error after `timeoutMs`. */
  static async open(options: ConnectOptions): Promise<GadgetronConnection> {
    const timeoutMs = options.timeoutMs ?? 10_000;
    const tls = options.tls;
    const socket: Socket = tls ? tlsConnect({ host: options.host, port: options.port, ...tls }) : connect({ host: options.host, port: options.port, noDelay: true });
    if (tls) socket.setNoDelay(true);
    let timer: NodeJS.Timeout | undefined;
    try {
      await new Promise<void>((resolve, reject) => {
        timer = setTimeout(() => {
          socket.destroy();
          reject(new Error(`Cannot connect to ${options.host}:${options.port}: no answer within ${timeoutMs} ms`));
        }, timeoutMs);
        socket.once(tls ? 'secureConnect' : 'connect', () => resolve());
        socket.once('error', (err: NodeJS.ErrnoException) => {
          const tlsFailure = tls && !['ECONNREFUSED', 'ENOTFOUND', 'EHOSTUNREACH', 'ETIMEDOUT', 'EAI_AGAIN'].includes(err.code ?? '');
          reject(new Error(`Cannot connect to ${options.host}:${options.port}${tls ? ' with TLS' : ''}: ${tlsFailure ? explainTlsError(err) : (err.code ?? err.message)}`));
        });
      });
    } finally {
      if (timer) clearTimeout(timer);
    }
    if (tls) await tlsAccepted(socket as TLSSocket, options);
    return new GadgetronConnection(socket, options);
  }

  /**
   * Writes chunks (one frame or many) as one gathered write, then, when more
   * than `writeBufferBytes` wait in the socket, waits until it drains. The
   * chunks must not change until they are sent.
   */
  async send(chunks: readonly Uint8Array[]): Promise<void> {
    const socket = this.socket;
    if (socket.destroyed) throw new Error('Cannot send: the connection was closed by the server');
    const gather = chunks.length > 1;
    if (gather) socket.cork();
    for (const chunk of chunks) socket.write(chunk);
    if (gather) socket.uncork();
    // 'drain' comes only after a write was refused (writableNeedDrain), so wait only then
    if (socket.writableLength > this.writeBufferBytes && socket.writableNeedDrain) {
      await waitForDrain(socket);
      if (socket.destroyed) throw new Error('Cannot send: the connection was closed by the server');
    }
  }

  /** Decoded frames from the server until the connection ends. */
  async *frames(): AsyncGenerator<Frame> {
    for await (const chunk of this.socket as AsyncIterable<Buffer>) {
      for (const frame of this.decoder.push(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))) yield frame;
    }
    this.decoder.end();
  }

  /** Closes the connection. */
  close(): void {
    this.socket.end();
    this.socket.destroy();
  }
}

/**
 * With TLS 1.3 a server checks the client's certificate after the client has
 * finished its handshake, and says no with an alert that may come only after
 * data was sent (and then be lost to a reset). Its session ticket comes once
 * it has said yes, so wait for the ticket, the alert or the hang-up (at most
 * a second; a server may send no ticket).
 */
async function tlsAccepted(socket: TLSSocket, options: ConnectOptions): Promise<void> {
  if (socket.getProtocol() !== 'TLSv1.3') return;
  let timer: NodeJS.Timeout | undefined;
  let onError: ((err: NodeJS.ErrnoException) => void) | undefined;
  let onClose: (() => void) | undefined;
  let onSession: (() => void) | undefined;
  try {
    await new Promise<void>((resolve, reject) => {
      timer = setTimeout(resolve, 1_000);
      // resolve only after the 'session' callback has returned: writing from inside it (OpenSSL is mid-read) corrupts the stream
      onSession = () => setImmediate(resolve);
      onError = (err) => reject(new Error(`Cannot connect to ${options.host}:${options.port} with TLS: ${explainTlsError(err)}`));
      onClose = () => reject(new Error(`Cannot connect to ${options.host}:${options.port} with TLS: the server refused the TLS connection (it closed it after the handshake); it wants a client certificate it trusts (--cert/--key)`));
      socket.once('session', onSession);
      socket.once('error', onError);
      socket.once('close', onClose);
    });
  } finally {
    if (timer) clearTimeout(timer);
    if (onSession) socket.off('session', onSession);
    if (onError) socket.off('error', onError);
    if (onClose) socket.off('close', onClose);
  }
}
